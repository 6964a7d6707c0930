using ResOdeProofs.Numerics.Model;
using ResOdeProofs.Numerics.Verification;

namespace ResOdeProofs.Numerics.Tests;

/// <summary>
/// The rounding allowance of SplitPass.SpectralUpper (docs/theorems/LemmaChain.md, "Rounding of the spectral
/// upper value"): derived from the sizes, it keeps the value above ‖X‖₂ where the trace bound is tight (rank one) and the
/// unraised value is not; it replaces a fixed relative 1e-12.
/// </summary>
public sealed class SpectralUpperRoundingTests
{
    private const double U = 1.1102230246251565e-16;

    private static double Gamma(double j) => j * U / (1 - j * U);

    /// <summary>A pass whose scratch holds n×16 and n×32 matrices (d = 16, m = 32).</summary>
    private static SplitPass Pass(int n) =>
        new(new NetworkShape(1, 32, 16, 16, 16), ActivationKind.Gelu, n, new double[n * 16], new double[n * 16], null);

    /// <summary>The sign of v² − N for a double v and an integer N ≤ 2⁵³, exactly (v² = p + e with p = fl(v²) and
    /// e = fma(v, v, −p); p − N is exact near N; rounding keeps the sign of the exact sum).</summary>
    private static int SignOfSquareMinus(double v, double big)
    {
        double p = v * v, e = Math.FusedMultiplyAdd(v, v, -p);
        return Math.Sign((p - big) + e);
    }

    [Fact(DisplayName = "SplitPass.SpectralUpper: rank-one integer X (trace bound exact), 300 draws → never below ‖X‖₂; without its allowance below ‖X‖₂ in some draws")]
    public void RankOneIntegerMatrices()
    {
        var rng = new System.Random(20261202);
        int below = 0;
        foreach (int c in new[] { 16, 32 })
        {
            int n = 100;
            var pass = Pass(n);
            for (int draw = 0; draw < 150; draw++)
            {
                // X = a bᵀ with small integer entries: ‖X‖₂² = ‖a‖²‖b‖² an integer, every Gram entry exact
                var a = Enumerable.Range(0, n).Select(_ => (double)rng.Next(-7, 8)).ToArray();
                var b = Enumerable.Range(0, c).Select(_ => (double)rng.Next(-7, 8)).ToArray();
                a[0] = 1; b[0] = 1;
                var x = new double[n * c];
                for (int i = 0; i < n; i++)
                    for (int j = 0; j < c; j++) x[i * c + j] = a[i] * b[j];
                double norm2 = a.Sum(t => t * t) * b.Sum(t => t * t);
                double value = pass.SpectralUpper(x, n, c);
                Assert.True(SignOfSquareMinus(value, norm2) >= 0, $"c = {c}, draw {draw}: {value:R}² below ‖X‖₂² = {norm2}");
                if (SignOfSquareMinus(pass.SpectralUpperWith(x, n, c, 1.0), norm2) < 0) below++;
            }
        }
        Assert.True(below > 0, "the unraised value was never below ‖X‖₂: the test does not show the allowance is needed");
    }

    [Fact(DisplayName = "SplitPass.SpectralUpperRounding: figure sizes (n = 100, c = 16, 32) → the derived F, below the former 1 + 1e-12; n = 10⁴, c = 32 → above it")]
    public void DerivedFactorAgainstFormerLiteral()
    {
        foreach (var (n, c) in new[] { (100, 16), (100, 32), (16, 100) })
        {
            double r = Math.Min(n, c), k = Math.Max(n, c);
            double expected = Math.Pow(1 - Gamma(r * r), -1.0 / 64)
                / ((1 - r * Gamma(r + 2)) * (1 - r * (Gamma(k) + 3 * U)) * (1 - 8 * U * Math.Log(4 * r) - 6 * U));
            double f = SplitPass.SpectralUpperRounding(n, c);
            Assert.True(Math.Abs(f - expected) <= 4 * U, $"n = {n}, c = {c}: F = {f:R}, expected {expected:R}");
            Assert.InRange(f - 1, 1e-14, 1e-12);
        }
        // r = 32, k = 10⁴: rγ_k alone is 3.6e-11: the former fixed 1e-12 did not cover the Gram product's rounding
        Assert.True(SplitPass.SpectralUpperRounding(10_000, 32) - 1 > 3e-11);
    }

    [Fact(DisplayName = "SplitPass.Symmetrize: the Gram matrix and squares as SpectralUpper forms them, X with fewer or more rows than columns, sides with a scalar edge at 4 and at 8 lanes → symmetric bit for bit (the derivation's hypothesis); a symmetric matrix → its bits unchanged")]
    public void GramAndSquaresSymmetric()
    {
        var rng = new System.Random(7);
        int asymmetric = 0;
        // sides 5, 7 and 3 leave a scalar edge beside 4-lane vectors, sides 12 and 11 beside 8-lane ones: an edge entry and its
        // mirror in a vector column are summed differently on either width, so some product is asymmetric on every path
        foreach (var (n, c) in new[] { (100, 16), (100, 32), (7, 32), (33, 5), (5, 16), (3, 32), (100, 12), (12, 100), (11, 40) })
        {
            var x = TestRandom.Gaussian(rng, n * c);
            int r = Math.Min(n, c);
            var g = new double[r * r];
            if (c <= n) FastKernels.Gemm<double>(Simd.Level, x, 1, c, x, g, c, n, c, 1.0, accumulate: false);
            else
            {
                var t = new double[n * c];
                FastKernels.Transpose<double>(x, t, n, c);
                FastKernels.Gemm<double>(Simd.Level, x, c, 1, t, g, n, c, n, 1.0, accumulate: false);
            }
            if (!IsSymmetric(g, r)) asymmetric++;
            SymmetrizeChecked(g, r, $"Gram of {n}×{c}");
            double tr0 = 0;
            for (int i = 0; i < r; i++) tr0 += g[i * r + i];
            for (int i = 0; i < g.Length; i++) g[i] /= tr0;
            var sq = new double[r * r];
            for (int q = 0; q < 5; q++)
            {
                FastKernels.Gemm<double>(Simd.Level, g, r, 1, g, sq, r, r, r, 1.0, accumulate: false);
                if (!IsSymmetric(sq, r)) asymmetric++;
                SymmetrizeChecked(sq, r, $"square {q + 1} of the Gram of {n}×{c}");
                double tr = 0;
                for (int i = 0; i < r; i++) tr += sq[i * r + i];
                double s = Math.ScaleB(1.0, -Math.ILogB(tr));
                for (int i = 0; i < sq.Length; i++) g[i] = sq[i] * s;
                // the scaling by a power of two keeps the symmetry the last square's trace (a sum of squares) relies on
                AssertSymmetric(g, r, $"scaled square {q + 1} of the Gram of {n}×{c}");
            }
        }
        // the kernel's X Xᵀ through a transposed copy is not symmetric where vector columns and a scalar edge meet:
        // without the symmetrization the hypothesis fails (with no vector hardware every entry is the scalar loop's,
        // and the products come out symmetric)
        if (System.Numerics.Vector.IsHardwareAccelerated) Assert.True(asymmetric > 0, "every product came out symmetric: the test does not show the symmetrization is needed");
    }

    [Fact(DisplayName = "SplitPass.SymmetrizeScale: Gram-like matrices with asymmetric last bits, mirrored signed zeros, NaN, entries near the largest double, scales 2⁻¹ to 2⁷; sides 1 to 20 at every width → Symmetrize then the exact product bit for bit; a scale that is not a power of two → refused")]
    public void SymmetrizeScaleKeepsBits()
    {
        var rng = new System.Random(20261205);
        foreach (int r in Enumerable.Range(1, 20))
            foreach (var level in new[] { SimdLevel.Scalar, SimdLevel.Vector256, SimdLevel.Vector512 }.Where(l => l <= Simd.Hardware))
            {
                var g = GramLike(rng, r);
                double s = Math.ScaleB(1.0, rng.Next(-1, 8));
                var want = (double[])g.Clone();
                SplitPass.Symmetrize(want, r);
                for (int e = 0; e < want.Length; e++) want[e] *= s;
                var got = (double[])g.Clone();
                SplitPass.SymmetrizeScale(level, got, new double[r * r], r, s);
                for (int e = 0; e < r * r; e++)
                    Assert.True(BitConverter.DoubleToInt64Bits(want[e]) == BitConverter.DoubleToInt64Bits(got[e])
                        || (double.IsNaN(want[e]) && double.IsNaN(got[e])),
                        $"side {r}, {level}, scale {s:R}: entry {e} {got[e]:R}, Symmetrize then the product {want[e]:R}");
            }
        // the scaling is exact only for a power of two: any other factor would add a rounding the derivation does not count
        Assert.Throws<ArgumentException>(() => SplitPass.SymmetrizeScale(Simd.Level, new double[4], new double[4], 2, 3.0));
        Assert.Throws<ArgumentException>(() => SplitPass.SymmetrizeScale(Simd.Level, new double[4], new double[4], 2, Math.BitIncrement(2.0)));
    }

    /// <summary>A random r×r matrix whose mirrored entries are equal, one ulp apart, ±0, both near the largest double or NaN.</summary>
    private static double[] GramLike(System.Random rng, int r)
    {
        var g = TestRandom.Gaussian(rng, r * r);
        for (int i = 0; i < r; i++)
            for (int j = 0; j < i; j++)
                switch (rng.Next(8))
                {
                    case 0: g[j * r + i] = g[i * r + j]; break;
                    case 1: g[j * r + i] = Math.BitIncrement(g[i * r + j]); break;
                    case 2: g[i * r + j] = 0.0; g[j * r + i] = -0.0; break;
                    case 3: g[i * r + j] = double.MaxValue; g[j * r + i] = double.MaxValue; break;
                    case 4: g[i * r + j] = double.NaN; break;
                    default: break;
                }
        if (r > 2) g[r + 1] = double.MaxValue;
        return g;
    }

    [Fact(DisplayName = "SplitPass.SymmetrizeDivide: Gram-like matrices with asymmetric last bits, mirrored signed zeros, NaN, entries near the largest double; sides 1 to 20 at every width → Symmetrize then DivideInPlace bit for bit; a mean taken without the equality test → other bits")]
    public void SymmetrizeDivideKeepsBits()
    {
        var rng = new System.Random(20261204);
        int naiveDiffers = 0;
        foreach (int r in Enumerable.Range(1, 20))
            foreach (var level in new[] { SimdLevel.Scalar, SimdLevel.Vector256, SimdLevel.Vector512 }.Where(l => l <= Simd.Hardware))
            {
                // mirrors equal, or one ulp apart (the products' asymmetry), or special pairs; a diagonal entry near the largest double
                var g = GramLike(rng, r);
                double t = 3.0 * Math.PI;
                var want = (double[])g.Clone();
                SplitPass.Symmetrize(want, r);
                SplitPass.DivideInPlace(want, t);
                var got = (double[])g.Clone();
                SplitPass.SymmetrizeDivide(level, got, new double[r * r], r, t);
                for (int e = 0; e < r * r; e++)
                    Assert.True(BitConverter.DoubleToInt64Bits(want[e]) == BitConverter.DoubleToInt64Bits(got[e])
                        || (double.IsNaN(want[e]) && double.IsNaN(got[e])),
                        $"side {r}, {level}: entry {e} {got[e]:R}, Symmetrize then DivideInPlace {want[e]:R}");
                // control: the mean of every pair, (a + b)/2 without the equality test, loses a pair near the largest double
                // to infinity and a mirrored −0 to +0
                for (int i = 0; i < r; i++)
                    for (int j = 0; j < r; j++)
                    {
                        double naive = (g[i * r + j] + g[j * r + i]) * 0.5 / t;
                        if (BitConverter.DoubleToInt64Bits(naive) != BitConverter.DoubleToInt64Bits(want[i * r + j]) && !double.IsNaN(naive)) naiveDiffers++;
                    }
            }
        Assert.True(naiveDiffers > 0, "the mean without the equality test agreed everywhere: the check would not see it");
    }

    /// <summary>Symmetrizes g; a g that was symmetric keeps every bit, and the result is symmetric.</summary>
    private static void SymmetrizeChecked(double[] g, int r, string what)
    {
        bool was = IsSymmetric(g, r);
        var before = (double[])g.Clone();
        SplitPass.Symmetrize(g, r);
        if (was) Assert.Equal(before, g);
        AssertSymmetric(g, r, what);
    }

    private static bool IsSymmetric(double[] g, int r)
    {
        for (int i = 0; i < r; i++)
            for (int j = 0; j < i; j++)
                if (!g[i * r + j].Equals(g[j * r + i])) return false;
        return true;
    }

    private static void AssertSymmetric(double[] g, int r, string what)
    {
        for (int i = 0; i < r; i++)
            for (int j = 0; j < i; j++)
                Assert.True(g[i * r + j].Equals(g[j * r + i]), $"{what}: entry ({i}, {j}) {g[i * r + j]:R} ≠ ({j}, {i}) {g[j * r + i]:R}");
    }
}
