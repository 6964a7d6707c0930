using ResOdeProofs.Numerics.Model;

namespace ResOdeProofs.Numerics.Tests;

/// <summary>
/// <see cref="SpectralNorm"/>'s Gram matrix and Householder reduction in vector lanes, and
/// <see cref="Layerwise.MultiplyOrdered"/>, against the scalar loops they replace (kept here, entry by entry, every sum
/// from zero in index order): the same bits on every shape, zeros of both signs included. A negative control shows that
/// the comparison sees a change of summation order.
/// </summary>
public sealed class SpectralNormLanesTests
{
    // ------------------------------------------------------------------ the scalar loops the lanes replace

    internal static double ScalarNorm(int rows, int cols, double[] data, int offset)
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
        int len = rows * cols / k;
        var g = ScalarGram(x, len, k);
        return Math.Sqrt(Math.Max(0.0, ScalarExtreme(g, k, true)));
    }

    private static double[] ScalarGram(double[] x, int len, int k)
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
        return g;
    }

    internal static double ScalarExtreme(double[] a, int k, bool largest)
    {
        const double U = 1.1102230246251565e-16;
        if (k == 0) return double.NaN;
        foreach (var t in a.AsSpan(0, k * k)) if (!double.IsFinite(t)) return double.NaN;
        var diag = new double[k]; var off = new double[Math.Max(k - 1, 0)];
        var v = new double[k]; var p = new double[k];
        for (int j = 0; j < k - 2; j++)
        {
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
        double lo = double.PositiveInfinity, hi = double.NegativeInfinity;
        for (int i = 0; i < k; i++)
        {
            double rad = (i > 0 ? Math.Abs(off[i - 1]) : 0) + (i < k - 1 ? Math.Abs(off[i]) : 0);
            lo = Math.Min(lo, diag[i] - rad); hi = Math.Max(hi, diag[i] + rad);
        }
        double scale = Math.Max(Math.Abs(lo), Math.Abs(hi));
        if (scale == 0.0) return 0.0;
        lo -= scale * 1e-15; hi += scale * 1e-15;
        int target = largest ? k : 1;
        var off2 = new double[off.Length];
        for (int i = 0; i < off.Length; i++) off2[i] = off[i] * off[i];
        for (int it = 0; it < 200; it++)
        {
            double mid = 0.5 * (lo + hi);
            double width = hi - lo;
            if (mid <= lo || mid >= hi || width <= 2.0 * U * Math.Max(Math.Abs(lo), Math.Abs(hi)) || width <= U * scale) break;
            double q = diag[0] - mid - 0.0;
            if (q == 0.0) q = -1e-300;
            int count = q < 0 ? 1 : 0;
            for (int i = 1; i < k; i++)
            {
                q = diag[i] - mid - off2[i - 1] / q;
                if (q == 0.0) q = -1e-300;
                if (q < 0) count++;
            }
            if (count >= target) hi = mid; else lo = mid;
        }
        return 0.5 * (lo + hi);
    }

    private static void ScalarMultiply(double[] a, int rows, int inner, double[] b, int cols, double[] c)
    {
        Array.Clear(c);
        for (int r = 0; r < rows; r++)
            for (int q = 0; q < inner; q++)
                for (int col = 0; col < cols; col++) c[r * cols + col] = c[r * cols + col] + a[r * inner + q] * b[q * cols + col];
    }

    // ------------------------------------------------------------------ inputs

    /// <summary>Gaussian entries of mixed magnitudes, about a quarter of them zeros of either sign.</summary>
    private static double[] Entries(System.Random rng, int count)
    {
        var x = TestRandom.Gaussian(rng, count);
        for (int i = 0; i < count; i++)
        {
            double u = rng.NextDouble();
            if (u < 0.12) x[i] = 0.0;
            else if (u < 0.25) x[i] = -0.0;
            else x[i] *= Math.Pow(10.0, rng.Next(-3, 4));
        }
        return x;
    }

    /// <summary>y ← y + α·x in vector lanes (one product and one sum per entry, no fused multiply-add): the row update that
    /// <see cref="Layerwise.MultiplyOrdered"/> replaced in the secant factors and in <see cref="Layerwise"/>'s sums.</summary>
    private static void AddScaled(double alpha, ReadOnlySpan<double> x, Span<double> y)
    {
        int len = x.Length, i = 0;
        if (System.Numerics.Vector.IsHardwareAccelerated && len >= System.Numerics.Vector<double>.Count)
        {
            var av = new System.Numerics.Vector<double>(alpha);
            var xv = System.Runtime.InteropServices.MemoryMarshal.Cast<double, System.Numerics.Vector<double>>(x);
            var yv = System.Runtime.InteropServices.MemoryMarshal.Cast<double, System.Numerics.Vector<double>>(y);
            for (int j = 0; j < xv.Length; j++) yv[j] = yv[j] + av * xv[j];
            i = xv.Length * System.Numerics.Vector<double>.Count;
        }
        for (; i < len; i++) y[i] = y[i] + alpha * x[i];
    }

    private static bool SameBits(double a, double b) => BitConverter.DoubleToInt64Bits(a) == BitConverter.DoubleToInt64Bits(b);

    public static TheoryData<int, int> Shapes => new()
    {
        { 1, 1 }, { 1, 7 }, { 2, 3 }, { 3, 3 }, { 4, 4 }, { 5, 9 }, { 7, 7 }, { 8, 8 }, { 9, 4 }, { 15, 15 }, { 16, 16 },
        { 17, 17 }, { 16, 32 }, { 32, 16 }, { 16, 100 }, { 100, 16 }, { 32, 100 }, { 33, 40 },
    };

    [Theory(DisplayName = "SpectralNorm: Gram and Householder in lanes, any shape → the scalar loops' bits")]
    [MemberData(nameof(Shapes))]
    public void LanesGiveTheScalarBits(int rows, int cols)
    {
        var rng = new System.Random(rows * 1000 + cols);
        for (int trial = 0; trial < 20; trial++)
        {
            var m = Entries(rng, rows * cols + 3);
            double expected = ScalarNorm(rows, cols, m, 3);
            double got = SpectralNorm.OfBlock(rows, cols, m, 3);
            Assert.True(SameBits(expected, got), $"{rows}x{cols} trial {trial}: {got:R} vs the scalar loops' {expected:R}");
        }
        // rank one, and a zero matrix
        var one = new double[rows * cols];
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++) one[r * cols + c] = (r + 1) * (c % 3 - 1.5);
        Assert.True(SameBits(ScalarNorm(rows, cols, one, 0), SpectralNorm.OfBlock(rows, cols, one, 0)));
        Assert.Equal(0.0, SpectralNorm.OfBlock(rows, cols, new double[rows * cols], 0));
    }

    [Theory(DisplayName = "SpectralNorm extreme eigenvalues: symmetric, not exactly symmetric or small-integer matrix → the scalar loops' bits")]
    [InlineData(5)]
    [InlineData(16)]
    [InlineData(23)]
    public void EigenvaluesGiveTheScalarBits(int k)
    {
        var rng = new System.Random(k);
        for (int trial = 0; trial < 10; trial++)
        {
            var x = Entries(rng, k * k);
            var sym = new double[k * k];
            for (int i = 0; i < k; i++)
                for (int c = 0; c <= i; c++) sym[i * k + c] = sym[c * k + i] = x[i * k + c];
            // a matrix that is symmetric only up to its last bit (as a caller's Gram matrix summed in another order may be):
            // the lanes that read columns as rows must not be taken for it
            var near = (double[])sym.Clone();
            near[(k - 1) * k] = Math.BitIncrement(near[(k - 1) * k]);
            // small integers: exact zeros in the Sturm sequence (its guard) and midpoints that land on eigenvalues
            var small = new double[k * k];
            for (int i = 0; i < k; i++)
                for (int c = 0; c <= i; c++) small[i * k + c] = small[c * k + i] = (trial % 2 == 0 && c != i) ? 0.0 : rng.Next(-2, 3);
            foreach (var a in new[] { sym, near, small })
                foreach (bool largest in new[] { true, false })
                {
                    double expected = ScalarExtreme((double[])a.Clone(), k, largest);
                    double got = largest ? SpectralNorm.LargestEigenvalue((double[])a.Clone(), k) : SpectralNorm.SmallestEigenvalue((double[])a.Clone(), k);
                    Assert.True(SameBits(expected, got), $"k = {k} trial {trial} largest {largest}: {got:R} vs {expected:R}");
                }
        }
    }

    [Fact(DisplayName = "SpectralNorm: the Gram matrix summed in reverse order → other bits (the comparison is not blind)")]
    public void ReverseGramIsSeen()
    {
        var rng = new System.Random(11);
        int differ = 0;
        for (int trial = 0; trial < 20; trial++)
        {
            int rows = 16, cols = 32, k = 16, len = 32;
            var m = Entries(rng, rows * cols);
            var x = new double[rows * cols];
            for (int r = 0; r < rows; r++)
                for (int c = 0; c < cols; c++) x[c * k + r] = m[r * cols + c];
            var g = new double[k * k];
            for (int t = len - 1; t >= 0; t--)
                for (int a = 0; a < k; a++)
                    for (int b = a; b < k; b++) g[a * k + b] += x[t * k + a] * x[t * k + b];
            for (int a = 0; a < k; a++)
                for (int b = 0; b < a; b++) g[a * k + b] = g[b * k + a];
            double reversed = Math.Sqrt(Math.Max(0.0, ScalarExtreme(g, k, true)));
            if (!SameBits(reversed, SpectralNorm.OfBlock(rows, cols, m, 0))) differ++;
        }
        Assert.True(differ > 0, "no norm changed when the Gram matrix was summed in reverse order");
    }

    [Theory(DisplayName = "Layerwise.MultiplyOrdered: any shape → the bits of clearing and adding scaled rows in order")]
    [InlineData(1, 1, 1)]
    [InlineData(1, 16, 32)]
    [InlineData(16, 32, 16)]
    [InlineData(16, 16, 16)]
    [InlineData(3, 5, 7)]
    [InlineData(4, 9, 21)]
    [InlineData(2, 100, 33)]
    [InlineData(5, 16, 16)]
    [InlineData(7, 3, 13)]
    [InlineData(32, 16, 100)]
    [InlineData(17, 32, 19)]
    [InlineData(16, 16, 64)]
    [InlineData(16, 64, 16)]
    [InlineData(3, 7, 56)]
    [InlineData(5, 4, 27)]
    [InlineData(9, 16, 30)]
    [InlineData(6, 3, 15)]
    [InlineData(1, 5, 12)]
    [InlineData(3, 16, 50)]
    [InlineData(2, 7, 4)]
    public void MultiplyOrderedGivesTheScalarBits(int rows, int inner, int cols)
    {
        var rng = new System.Random(rows * 10000 + inner * 100 + cols);
        var a = Entries(rng, rows * inner); var b = Entries(rng, inner * cols);
        var expected = new double[rows * cols]; var got = new double[rows * cols];
        ScalarMultiply(a, rows, inner, b, cols, expected);
        Array.Fill(got, double.NaN); // every entry written
        Layerwise.MultiplyOrdered(a, rows, inner, b, cols, got);
        for (int i = 0; i < expected.Length; i++) Assert.True(SameBits(expected[i], got[i]), $"entry {i}: {got[i]:R} vs {expected[i]:R}");
        // each width's code by itself (the one the machine takes is called above): the narrow one always, the 512-bit one where
        // the machine accelerates it
        Array.Fill(got, double.NaN);
        Layerwise.MultiplyOrderedNarrow(a, rows, inner, b, cols, got);
        for (int i = 0; i < expected.Length; i++) Assert.True(SameBits(expected[i], got[i]), $"narrow, entry {i}: {got[i]:R} vs {expected[i]:R}");
        if (System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated)
        {
            Array.Fill(got, double.NaN);
            Layerwise.MultiplyOrdered512(a, rows, inner, b, cols, got);
            for (int i = 0; i < expected.Length; i++) Assert.True(SameBits(expected[i], got[i]), $"512-bit, entry {i}: {got[i]:R} vs {expected[i]:R}");
        }
        // the same bits as AddScaled row by row (the loop it replaces in the secant factors)
        var rowsOfAdds = new double[rows * cols];
        for (int r = 0; r < rows; r++)
            for (int q = 0; q < inner; q++) AddScaled(a[r * inner + q], b.AsSpan(q * cols, cols), rowsOfAdds.AsSpan(r * cols, cols));
        for (int i = 0; i < expected.Length; i++) Assert.True(SameBits(rowsOfAdds[i], got[i]), $"entry {i} against AddScaled");
    }

    [Fact(DisplayName = "Layerwise.MultiplyOrdered: the sums taken in reverse order → other bits (the comparison is not blind)")]
    public void ReverseOrderIsSeen()
    {
        var rng = new System.Random(7);
        int rows = 16, inner = 32, cols = 16;
        var a = Entries(rng, rows * inner); var b = Entries(rng, inner * cols);
        var got = new double[rows * cols];
        Layerwise.MultiplyOrdered(a, rows, inner, b, cols, got);
        int differ = 0;
        for (int r = 0; r < rows; r++)
            for (int col = 0; col < cols; col++)
            {
                double s = 0;
                for (int q = inner - 1; q >= 0; q--) s += a[r * inner + q] * b[q * cols + col];
                if (!SameBits(s, got[r * cols + col])) differ++;
            }
        Assert.True(differ > 0, "no entry changed when its sum was taken in reverse order");
    }

    [Fact(DisplayName = "Layerwise.MultiplyOrdered: a span shorter than its shape → rejected")]
    public void ShortSpanRejected()
    {
        Assert.Throws<ArgumentException>(() => Layerwise.MultiplyOrdered(new double[5], 2, 3, new double[6], 2, new double[4]));
    }
}
