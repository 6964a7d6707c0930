using System.Runtime.CompilerServices;
using ResOdeProofs.Numerics.Model;

namespace ResOdeProofs.Numerics.Tests;

/// <summary>
/// <see cref="SpectralNorm"/>'s Gram matrix and Householder reduction in vector lanes against the same algorithm one
/// entry at a time (<see cref="EntryByEntry"/>, the formulas in scalar loops): the same bits, on the shapes the checks use
/// (a layer's 32×16 and 16×64, the 16×16 secant Jacobians, a layer's 16×100 and 32×100 states) and on small odd ones.
/// </summary>
public sealed class SpectralNormLanesTests
{
    /// <summary>Entries of widely varying size and sign, with exact zeros among them (the Gram pass skips those).</summary>
    private static double[] Draw(System.Random rng, int count)
    {
        var x = new double[count];
        for (int i = 0; i < count; i++)
            x[i] = rng.Next(10) == 0 ? 0.0 : (rng.NextDouble() * 2 - 1) * Math.Pow(10, rng.NextDouble() * 4 - 2);
        return x;
    }

    [Theory(DisplayName = "SpectralNorm: ‖M‖₂ and λ_min in vector lanes → the bits of the entry-by-entry algorithm")]
    [InlineData(32, 16)] [InlineData(16, 32)] [InlineData(16, 64)] [InlineData(64, 16)] [InlineData(16, 16)]
    [InlineData(16, 100)] [InlineData(32, 100)] [InlineData(3, 5)] [InlineData(7, 7)] [InlineData(1, 9)] [InlineData(2, 2)]
    public void LanesGiveTheEntryByEntryBits(int rows, int cols)
    {
        var rng = new System.Random(rows * 1000 + cols);
        for (int trial = 0; trial < 100; trial++)
        {
            var m = Draw(rng, rows * cols);
            double got = SpectralNorm.OfBlock(rows, cols, m, 0), expected = EntryByEntry.OfBlock(rows, cols, m, 0);
            Assert.True(BitConverter.DoubleToInt64Bits(got) == BitConverter.DoubleToInt64Bits(expected),
                $"{rows}×{cols} trial {trial}: {got:R} vs entry by entry {expected:R}");
            int k = Math.Min(rows, cols);
            var sym = new double[k * k];
            for (int a = 0; a < k; a++) for (int b = 0; b <= a; b++) sym[a * k + b] = sym[b * k + a] = m[a * cols + b];
            double lo = SpectralNorm.SmallestEigenvalue((double[])sym.Clone(), k), loRef = EntryByEntry.Extreme((double[])sym.Clone(), k, largest: false);
            Assert.True(BitConverter.DoubleToInt64Bits(lo) == BitConverter.DoubleToInt64Bits(loRef), $"{k}×{k} λ_min trial {trial}: {lo:R} vs {loRef:R}");
        }
    }

    [Fact(DisplayName = "SpectralNorm lanes test: a Gram matrix summed in another order → other bits (the comparison can fail)")]
    public void ComparisonSeesAnotherOrder()
    {
        // negative control: the same matrix with its long index reversed has the same exact norm, but its Gram entries are
        // summed in the opposite order; some of the norms then differ in their last bits, so the test above is not blind
        var rng = new System.Random(7);
        int differs = 0;
        for (int trial = 0; trial < 100; trial++)
        {
            var m = Draw(rng, 16 * 100);
            var reversed = new double[m.Length];
            for (int r = 0; r < 16; r++) for (int c = 0; c < 100; c++) reversed[r * 100 + c] = m[r * 100 + 99 - c];
            if (BitConverter.DoubleToInt64Bits(SpectralNorm.OfBlock(16, 100, reversed, 0)) != BitConverter.DoubleToInt64Bits(EntryByEntry.OfBlock(16, 100, m, 0))) differs++;
        }
        Assert.True(differs > 0, "reversing the summation order changed no bit of 100 norms");
    }

    /// <summary>The algorithm of <see cref="SpectralNorm"/> with every loop one entry at a time.</summary>
    private static class EntryByEntry
    {
        private const double U = 1.1102230246251565e-16;

    [MethodImpl(MethodImplOptions.NoInlining)]
    public static double OfBlock(int rows, int cols, double[] data, int offset)
    {
        if (rows == 0 || cols == 0) return 0.0;
        bool byRows = rows <= cols;
        int k = byRows ? rows : cols;
        var x = new double[rows * cols];
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++)
            {
                double e = data[offset + r * cols + c];
                if (!double.IsFinite(e)) return double.IsNaN(e) ? e : double.PositiveInfinity;
                if (byRows) x[c * k + r] = e; else x[r * k + c] = e;
            }
        return FromLongByK(x, rows * cols / k, k);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static double FromLongByK(double[] x, int len, int k)
    {
        var g = new double[k * k];
        for (int t = 0; t < len; t++)
        {
            int o = t * k;
            for (int a = 0; a < k; a++)
            {
                double xa = x[o + a];
                if (xa == 0.0) continue;
                int ga = a * k;
                for (int b = a; b < k; b++) g[ga + b] += xa * x[o + b];
            }
        }
        for (int a = 0; a < k; a++)
            for (int b = 0; b < a; b++) g[a * k + b] = g[b * k + a];
        return Math.Sqrt(Math.Max(0.0, Extreme(g, k, largest: true)));
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    public static double Extreme(double[] a, int k, bool largest)
    {
        if (k == 0) return double.NaN;
        foreach (var t in a.AsSpan(0, k * k)) if (!double.IsFinite(t)) return double.NaN;
        var diag = new double[k]; var off = new double[Math.Max(k - 1, 0)];
        var v = new double[k]; var p = new double[k];
        for (int j = 0; j < k - 2; j++)
        {
            // Reflect x = a[j+1.., j] onto α·e₁.
            double norm2 = 0;
            for (int i = j + 1; i < k; i++) norm2 += a[i * k + j] * a[i * k + j];
            double x0 = a[(j + 1) * k + j];
            double alpha = x0 >= 0 ? -Math.Sqrt(norm2) : Math.Sqrt(norm2);
            off[j] = alpha;
            for (int i = j + 1; i < k; i++) v[i] = a[i * k + j];
            v[j + 1] -= alpha;
            double vv = 0;
            for (int i = j + 1; i < k; i++) vv += v[i] * v[i];
            if (vv == 0.0) { off[j] = x0; continue; }
            double beta = 2.0 / vv;
            // p = β·A·v, K = (β/2)·vᵀp, w = p − K·v, A ← A − v wᵀ − w vᵀ on the trailing block.
            double vp = 0;
            for (int i = j + 1; i < k; i++)
            {
                double s = 0;
                for (int c = j + 1; c < k; c++) s += a[i * k + c] * v[c];
                p[i] = beta * s;
                vp += v[i] * p[i];
            }
            double kk = 0.5 * beta * vp;
            for (int i = j + 1; i < k; i++) p[i] -= kk * v[i];
            for (int i = j + 1; i < k; i++)
                for (int c = j + 1; c < k; c++) a[i * k + c] -= v[i] * p[c] + p[i] * v[c];
        }
        for (int i = 0; i < k; i++) diag[i] = a[i * k + i];
        if (k >= 2) off[k - 2] = a[(k - 1) * k + k - 2];
        // Gershgorin interval, then bisection on the number of eigenvalues below λ.
        double lo = double.PositiveInfinity, hi = double.NegativeInfinity;
        for (int i = 0; i < k; i++)
        {
            double rad = (i > 0 ? Math.Abs(off[i - 1]) : 0) + (i < k - 1 ? Math.Abs(off[i]) : 0);
            lo = Math.Min(lo, diag[i] - rad); hi = Math.Max(hi, diag[i] + rad);
        }
        double scale = Math.Max(Math.Abs(lo), Math.Abs(hi));
        if (scale == 0.0) return 0.0;
        lo -= scale * 1e-15; hi += scale * 1e-15;
        int target = largest ? k : 1; // λ_max: all k below; λ_min: at least one below
        var off2 = new double[off.Length]; // the squares the Sturm count divides, formed once instead of at every step
        for (int i = 0; i < off.Length; i++) off2[i] = off[i] * off[i];
        for (int it = 0; it < 200; it++)
        {
            double mid = 0.5 * (lo + hi);
            double width = hi - lo;
            if (mid <= lo || mid >= hi || width <= 2.0 * U * Math.Max(Math.Abs(lo), Math.Abs(hi)) || width <= U * scale) break;
            if (CountBelow(diag, off2, mid) >= target) hi = mid; else lo = mid;
        }
        return 0.5 * (lo + hi);
    }

    /// <summary>Number of eigenvalues below λ of the tridiagonal matrix with diagonal diag and squared off-diagonal off2 (Sturm sequence).</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static int CountBelow(double[] diag, double[] off2, double lambda)
    {
        double q = diag[0] - lambda - 0.0;
        if (q == 0.0) q = -1e-300;
        int count = q < 0 ? 1 : 0;
        for (int i = 1; i < diag.Length; i++)
        {
            q = diag[i] - lambda - off2[i - 1] / q;
            if (q == 0.0) q = -1e-300;
            if (q < 0) count++;
        }
        return count;
    }
    }
}
