using System.Numerics;
using ResOdeProofs.Numerics.Blocks;
using ResOdeProofs.Numerics.Model;
using Xunit.Abstractions;

namespace ResOdeProofs.Numerics.Tests;

/// <summary>
/// The certified upper values of the convolution's norms (docs/theorems/ConvBlock.md, "Certified upper values of the Gram
/// eigenvalues"): <see cref="SpectralNorm.GramLargestUpper"/> (a Cholesky factorization of a shift just above Jacobi's
/// estimate), the symbol's computation error <see cref="ConvSpectralNorm.DftError"/> and its hypothesis on the runtime's
/// cosine and sine, against a 256-bit fixed-point reference (value = N / 2^P).
/// </summary>
public sealed class ConvSpectralNormTests
{
    private const double U = 1.1102230246251565e-16;
    private const int P = 256;
    private static readonly BigInteger PiP = ComputePi();
    private readonly ITestOutputHelper _out;

    public ConvSpectralNormTests(ITestOutputHelper output) => _out = output;

    private static BigInteger AtanInv(int k, int bits)
    {
        BigInteger term = (BigInteger.One << bits) / k, sum = BigInteger.Zero, k2 = k * k;
        for (int n = 0; !term.IsZero; n++)
        {
            sum += (n % 2 == 0 ? term : -term) / (2 * n + 1);
            term /= k2;
        }
        return sum;
    }

    /// <summary>π·2^P by Machin's formula, 64 guard bits.</summary>
    private static BigInteger ComputePi() => (16 * AtanInv(5, P + 64) - 4 * AtanInv(239, P + 64)) >> 64;

    /// <summary>x·2^P for a double x (exact for |x| ≥ 2^−P·2⁻⁵², else truncated).</summary>
    private static BigInteger Fixed(double x)
    {
        if (x == 0) return BigInteger.Zero;
        long bits = BitConverter.DoubleToInt64Bits(Math.Abs(x));
        int exp = (int)((bits >> 52) & 0x7FF);
        long mant = bits & 0xFFFFFFFFFFFFFL;
        if (exp == 0) exp = 1; else mant |= 1L << 52;
        int shift = exp - 1075 + P;
        var m = new BigInteger(mant);
        var v = shift >= 0 ? m << shift : m >> -shift;
        return x < 0 ? -v : v;
    }

    /// <summary>(cos θ, sin θ)·2^P for θ = x/2^P, |θ| ≤ 16, by their Taylor series (absolute error a few units of 2^−P).</summary>
    private static (BigInteger Cos, BigInteger Sin) CosSin(BigInteger x)
    {
        BigInteger one = BigInteger.One << P, term = one, c = BigInteger.Zero, s = BigInteger.Zero;
        for (int k = 0; !term.IsZero || k < 2; k++)
        {
            if (k > 0) term = term * x / (one * k);
            switch (k % 4)
            {
                case 0: c += term; break;
                case 1: s += term; break;
                case 2: c -= term; break;
                default: s -= term; break;
            }
        }
        return (c, s);
    }

    /// <summary>|a − b/2^P| in units of u (a a double, b fixed point).</summary>
    private static double ErrorInU(double a, BigInteger b) => Math.Abs((double)(Fixed(a) - b)) / Math.Pow(2, P) / U;

    [Fact(DisplayName = "Math.Cos and Math.Sin (DftError's hypothesis): every one-axis phase of the grids 2…64 and 20 000 two-axis phases, as CircularNorm forms them → within 2u of the 256-bit reference")]
    public void RuntimeTrigWithinTwoU()
    {
        var rng = new System.Random(20261205);
        double worst = 0;
        int checkedPhases = 0;
        void Check(int p, int n1, int a, int q, int n2, int e)
        {
            double w1 = 2.0 * Math.PI * p / n1, w2 = 2.0 * Math.PI * q / n2;
            double phase = -(w1 * a + w2 * e);
            var (c, s) = CosSin(Fixed(phase));
            double ec = ErrorInU(Math.Cos(phase), c), es = ErrorInU(Math.Sin(phase), s);
            Assert.True(ec <= 2 && es <= 2, $"phase {phase:R} (p = {p}/{n1}, q = {q}/{n2}, a = {a}, e = {e}): cos off by {ec:F3}u, sin by {es:F3}u");
            worst = Math.Max(worst, Math.Max(ec, es));
            checkedPhases++;
        }
        for (int n = 2; n <= 64; n++)
            for (int p = 0; p < n; p++)
            {
                Check(p, n, 1, 0, n, 0);
                Check(p, n, -1, 0, n, 0);
            }
        for (int i = 0; i < 20_000; i++)
        {
            int n1 = rng.Next(2, 65), n2 = rng.Next(2, 65);
            Check(rng.Next(n1), n1, rng.Next(2) * 2 - 1, rng.Next(n2), n2, rng.Next(2) * 2 - 1);
        }
        _out.WriteLine($"{checkedPhases} phases: largest error {worst:F3}u");
    }

    [Theory(DisplayName = "ConvSpectralNorm.DftError: random kernels, every frequency of a grid → the computed symbol within the bound of the exact symbol at the grid frequency (256-bit reference)")]
    [InlineData(1, 1, 6, 7, 1)]
    [InlineData(2, 3, 7, 6, 2)]
    [InlineData(4, 4, 15, 16, 3)]
    public void SymbolWithinDftError(int cIn, int cOut, int n1, int n2, int seed)
    {
        var kernel = TestRandom.Gaussian(new System.Random(seed), cOut * cIn * 9, 1.0 / 3.0);
        double bound = ConvSpectralNorm.DftError(kernel, cIn, cOut);
        var re = new double[cOut * cIn];
        var im = new double[cOut * cIn];
        var kf = kernel.Select(Fixed).ToArray();
        double worst = 0;
        for (int p = 0; p < n1; p++)
            for (int q = 0; q < n2; q++)
            {
                ConvSpectralNorm.Symbol(kernel, cIn, cOut, p, n1, q, n2, re, im);
                var err2 = BigInteger.Zero;
                var taps = new (BigInteger Cos, BigInteger Sin)[9];
                for (int t = 0; t < 9; t++)
                {
                    int a = t / 3 - 1, e = t % 3 - 1;
                    // the exact phase −2π(pa/N1 + qe/N2), in fixed point
                    var theta = -2 * PiP * (p * a * n2 + q * e * n1) / (n1 * n2);
                    taps[t] = CosSin(theta);
                }
                for (int oc = 0; oc < cOut * cIn; oc++)
                {
                    BigInteger sr = BigInteger.Zero, si = BigInteger.Zero;
                    for (int t = 0; t < 9; t++)
                    {
                        sr += kf[oc * 9 + t] * taps[t].Cos >> P;
                        si += kf[oc * 9 + t] * taps[t].Sin >> P;
                    }
                    var dr = Fixed(re[oc]) - sr;
                    var di = Fixed(im[oc]) - si;
                    err2 += dr * dr + di * di;
                }
                double err = Math.Sqrt((double)err2) / Math.Pow(2, P);
                worst = Math.Max(worst, err);
                Assert.True(err <= bound, $"ω = (2π·{p}/{n1}, 2π·{q}/{n2}): ‖K̂_c − K̂‖_F = {err:E3} above the bound {bound:E3}");
            }
        _out.WriteLine($"C_in = {cIn}, C_out = {cOut}, grid {n1}×{n2}: largest ‖K̂_c − K̂‖_F {worst:E3}, bound {bound:E3}");
    }

    [Fact(DisplayName = "SpectralNorm.GramLargestUpper: rank-one integer Gram matrices (λ_max exact), sides 2 to 36, 400 draws → never below λ_max, within 10⁻¹¹ of it; Jacobi's estimate alone below λ_max in some draws")]
    public void RankOneIntegerGram()
    {
        var rng = new System.Random(9);
        int jacobiBelow = 0;
        foreach (int d in new[] { 2, 3, 8, 18, 36 })
            for (int draw = 0; draw < 80; draw++)
            {
                var v = Enumerable.Range(0, d).Select(_ => (double)rng.Next(-9, 10)).ToArray();
                v[0] = rng.Next(1, 10);
                var g = new double[d * d];
                for (int i = 0; i < d; i++)
                    for (int j = 0; j < d; j++) g[i * d + j] = v[i] * v[j];
                double exact = v.Sum(x => x * x);   // an integer: every entry and the eigenvalue exact
                double estimate = ConvSpectralNorm.SymmetricEigenvalues((double[])g.Clone(), d).Max();
                if (estimate < exact) jacobiBelow++;
                double upper = SpectralNorm.GramLargestUpper(g, d, 1, estimate);
                Assert.True(upper >= exact, $"d = {d}, draw {draw}: {upper:R} below λ_max = {exact}");
                Assert.True(upper <= exact * (1 + 1e-11), $"d = {d}, draw {draw}: {upper:R} more than 1e-11 above λ_max = {exact}");
            }
        _out.WriteLine($"Jacobi's estimate below λ_max in {jacobiBelow} of 400 draws");
        Assert.True(jacobiBelow > 0, "Jacobi's estimate was never below λ_max: the test does not show the certificate is needed");
    }

    [Fact(DisplayName = "SpectralNorm.GramLargestUpper: a Gram matrix of 16 384 equal rows summed in order, its trace about 3 500u below the exact one → the upper value at or above the exact λ_max; with the allowance of one term per entry (inner = 1) below it")]
    public void GramRoundingAllowanceIsNeeded()
    {
        // M has N rows (x, y): G = MᵀM = N·(x, y)ᵀ(x, y), rank one, λ_max = N(x² + y²) exactly. Summed in order of the rows
        // (one product, one addition a term) each computed entry drifts below its exact sum far beyond the shift's 2⁻⁴⁴ and
        // the factorization's (d + 2)u, so only the Gram term γ_N·tr Ĝ/(1 − γ_N) of the derivation keeps the value above λ_max.
        const int n = 16384, d = 2, shift = 60;
        double x = 1.1, y = 0.7;
        var g = new double[d * d];
        for (int t = 0; t < n; t++) { g[0] += x * x; g[1] += x * y; g[3] += y * y; }
        g[2] = g[1];
        BigInteger X = Scaled(x, shift), Y = Scaled(y, shift);
        BigInteger exact = n * (X * X + Y * Y);   // λ_max·2^(2·shift)
        double estimate = ConvSpectralNorm.SymmetricEigenvalues((double[])g.Clone(), d).Max();
        double upper = SpectralNorm.GramLargestUpper(g, d, n, estimate);
        double oneTerm = SpectralNorm.GramLargestUpper(g, d, 1, estimate);
        double lambda = (double)exact / Math.Pow(2, 2 * shift);
        _out.WriteLine($"λ_max {lambda:R}; Ĝ's trace {g[0] + g[3]:R} ({(lambda - g[0] - g[3]) / lambda / Math.ScaleB(1.0, -53):F0}u below); upper {upper:R}; with inner = 1 {oneTerm:R}");
        Assert.True(Scaled(upper, 2 * shift) >= exact, $"{upper:R} below λ_max");
        Assert.True(upper <= lambda * (1 + 4.0 * n * Math.ScaleB(1.0, -53)), $"{upper:R} further above λ_max than the Gram allowance");
        Assert.True(Scaled(oneTerm, 2 * shift) < exact, $"with the allowance of one term the value {oneTerm:R} is still above λ_max: the data do not need the Gram term");
    }

    /// <summary>v·2^s as an exact integer (v finite, v·2^s an integer).</summary>
    private static BigInteger Scaled(double v, int s)
    {
        long bits = BitConverter.DoubleToInt64Bits(Math.Abs(v));
        int e = (int)((bits >> 52) & 0x7FF);
        long mant = bits & ((1L << 52) - 1);
        if (e == 0) e = 1; else mant |= 1L << 52;
        int p = e - 1075 + s;   // |v| = mant·2^(e − 1075)
        if (p < 0) throw new ArgumentException($"{v:R}·2^{s} is not an integer");
        var r = new BigInteger(mant) << p;
        return v < 0 ? -r : r;
    }

    [Fact(DisplayName = "SpectralNorm.GramLargestUpper: an estimate a tenth of λ_max, or none → no shift factors, the trace bound (above λ_max); NaN → NaN, an infinite trace → +∞, zero → at most 10⁻²⁹⁹")]
    public void FallbacksAndSpecialValues()
    {
        double[] v = { 3, -1, 4, 1, -5 };
        int d = v.Length;
        var g = new double[d * d];
        for (int i = 0; i < d; i++)
            for (int j = 0; j < d; j++) g[i * d + j] = v[i] * v[j];
        double exact = v.Sum(x => x * x), trace = exact;
        foreach (double estimate in new[] { exact / 10, double.NaN, -1.0 })
        {
            double upper = SpectralNorm.GramLargestUpper(g, d, 1, estimate);
            Assert.True(upper >= trace, $"estimate {estimate}: {upper:R} below the trace {trace}");
            Assert.True(upper <= trace * (1 + 1e-12));
        }
        var nan = (double[])g.Clone(); nan[0] = double.NaN;
        Assert.True(double.IsNaN(SpectralNorm.GramLargestUpper(nan, d, 1, exact)));
        var inf = (double[])g.Clone(); inf[d + 1] = double.PositiveInfinity;
        Assert.Equal(double.PositiveInfinity, SpectralNorm.GramLargestUpper(inf, d, 1, exact));
        Assert.InRange(SpectralNorm.GramLargestUpper(new double[d * d], d, 1, 0.0), 0.0, 1e-299);
    }
}
