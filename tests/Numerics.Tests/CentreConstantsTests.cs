using System.Numerics;
using System.Runtime.Intrinsics;
using ResOdeProofs.Numerics;
using ResOdeProofs.Numerics.Model;
using ResOdeProofs.Numerics.Verification;
using Xunit;
using Xunit.Abstractions;

namespace ResOdeProofs.Numerics.Tests;

/// <summary>
/// The GELU constants of A.split.centre.segments that docs/theorems/GeluConstants.py proves (docs/theorems/DepthSmoothness.md,
/// "The constants, proven"), checked here against dense grids so that a constant lowered below its true value fails: the
/// suprema sup|σ⁽ʲ⁾| (GeluSup1..8), the derivative-rounding constants B₃..B₆ with the per-term bound the script maximises,
/// and the proven bound of the exp the rule calls (H_exp).
/// </summary>
public sealed class CentreConstantsTests
{
    private readonly ITestOutputHelper _out;
    public CentreConstantsTests(ITestOutputHelper output) => _out = output;

    private const double U = CentrePass.U;
    private static readonly double InvSqrt2Pi = 1.0 / Math.Sqrt(2.0 * Math.PI);

    private static readonly double[] Sup =
    {
        0, CentrePass.GeluSup1, CentrePass.GeluSup2, CentrePass.GeluSup3, CentrePass.GeluSup4, CentrePass.GeluSup5,
        CentrePass.GeluSup6, CentrePass.GeluSup7, CentrePass.GeluSup8,
    };

    // P_j with σ⁽ʲ⁾ = φ·P_j (j ≥ 2), coefficients lowest degree first: P_2 = 2 − x², P_{j+1} = P_j' − x·P_j.
    private static double[][] Polys()
    {
        var p = new double[10][];
        p[2] = new[] { 2.0, 0.0, -1.0 };
        for (int j = 2; j < 9; j++)
        {
            var next = new double[p[j].Length + 1];
            for (int i = 1; i < p[j].Length; i++) next[i - 1] += i * p[j][i];
            for (int i = 0; i < p[j].Length; i++) next[i + 1] -= p[j][i];
            p[j + 1] = next;
        }
        return p;
    }

    private static double Horner(double[] c, double x)
    {
        double s = 0;
        for (int i = c.Length - 1; i >= 0; i--) s = s * x + c[i];
        return s;
    }

    // max over the grid x = −10 + 10⁻⁴·i of |σ⁽ʲ⁾(x)| (σ' = the engine's scalar gelu'; σ⁽ʲ⁾ = φ·P_j in float64, within
    // 10⁻¹³ relative). The maxima lie in |x| ≤ 5, where the spacing costs at most 10⁻⁸·sup|σ⁽ʲ⁺²⁾| of the true maximum.
    private static double[] GridSups()
    {
        var p = Polys();
        var sups = new double[9];
        for (int i = 0; i <= 200000; i++)
        {
            double x = -10.0 + 1e-4 * i, phi = InvSqrt2Pi * Math.Exp(-0.5 * x * x);
            sups[1] = Math.Max(sups[1], Math.Abs(Activations.Derivative(ActivationKind.Gelu, x)));
            for (int j = 2; j <= 8; j++) sups[j] = Math.Max(sups[j], Math.Abs(phi * Horner(p[j], x)));
        }
        return sups;
    }

    // the check a constant has to pass: an upper bound of the grid's maximum, and within 0.1 % of it
    private static bool SupCheck(double constant, double gridSup) => gridSup <= constant && gridSup >= constant * (1 - 1e-3);

    [Fact(DisplayName = "CentrePass constants: sup|σ⁽ʲ⁾| (j = 1..8) on a dense grid → below GeluSup_j and within 0.1 % of it")]
    public void Gelu_sups_bound_the_grid_maxima_tightly()
    {
        var g = GridSups();
        for (int j = 1; j <= 8; j++)
        {
            _out.WriteLine($"j = {j}: grid max {g[j]:R}, constant {Sup[j]}, slack {(Sup[j] - g[j]) / Sup[j]:P4}");
            Assert.True(SupCheck(Sup[j], g[j]), $"GeluSup{j} = {Sup[j]} against the grid maximum {g[j]:R}");
        }
    }

    [Fact(DisplayName = "CentrePass constants: GeluSup6 − 0.01, or any GeluSup_j lowered by 0.1 % → the grid check fails")]
    public void Lowered_gelu_sups_fail_the_check()
    {
        var g = GridSups();
        Assert.False(SupCheck(CentrePass.GeluSup6 - 0.01, g[6]), "GeluSup6 − 0.01 passed");
        for (int j = 1; j <= 8; j++)
            Assert.False(SupCheck(Sup[j] * (1 - 1e-3), g[j]), $"GeluSup{j} lowered by 0.1 % passed");
    }

    // The rule's poly_j in y = x² (lowest first) and whether a factor x follows, as CentrePass.RuleEntry writes them.
    private static readonly (double[] A, bool Odd)[] Rule =
    {
        (new[] { -4.0, 1.0 }, true), (new[] { -4.0, 7.0, -1.0 }, false), (new[] { 18.0, -11.0, 1.0 }, true),
        (new[] { 18.0, -51.0, 16.0, -1.0 }, false),
    };

    // (c − 1/√(2π))·√(2π) in units of u, c = fl(1/√(2π)) = m·2^e against 1/√(2π) to 40 digits, in integers; the modulus is
    // raised by the 40 digits' truncation, so ConstantError() bounds ε_c/u.
    private static double SignedConstantError(bool raise = false)
    {
        var r = BigInteger.Parse("3989422804014326779399460599343818684759"); // 1/√(2π)·10⁴⁰, truncated
        long bits = BitConverter.DoubleToInt64Bits(InvSqrt2Pi);
        int e = (int)((bits >> 52) & 0x7FF) - 1075;
        var m = new BigInteger((bits & 0xFFFFFFFFFFFFFL) | (1L << 52));
        var diff = m * BigInteger.Pow(10, 40) - (r << -e);
        var num = BigInteger.Abs(diff) + (raise ? BigInteger.One << -e : BigInteger.Zero); // r's truncation (< 1)
        return diff.Sign * (double)(num * BigInteger.Pow(10, 20) / (r << -e)) * 1e-20 / U;
    }

    private static double ConstantError() => Math.Abs(SignedConstantError(raise: true));

    // The bound the script maximises (docs/theorems/GeluConstants.py, part 2), in units of u: φ(x)·Σ_k |a_k||x|^(e_k)(α_k + β_k x²)
    // with α_k = ε_c/u + ε_e/u + N_k, N_k = 1 + n_k + k + m_j roundings (n_k = 2k + 1, or 2r − 1 for the top term; m_j = 2 for
    // odd j, else 1), β_k = ½ (second-order terms, below 10⁻¹³ relative here, left out), for |x| ≤ 37.5.
    private static double DerivativeBound(int j, double x, double epsC, double epsE)
    {
        var (a, odd) = Rule[j - 3];
        int r = a.Length - 1, m = odd ? 2 : 1;
        double ax = Math.Abs(x), y = x * x, s = 0;
        for (int k = 0; k <= r; k++)
        {
            int n = (k == r ? 2 * r - 1 : 2 * k + 1) + k + m + 1;
            s += Math.Abs(a[k]) * Math.Pow(ax, 2 * k + (odd ? 1 : 0)) * (epsC + epsE + n + 0.5 * y);
        }
        return InvSqrt2Pi * Math.Exp(-0.5 * y) * s;
    }

    private static double[] DerivativeGridSups(double epsE)
    {
        double epsC = ConstantError();
        var sups = new double[7];
        for (int i = 0; i <= 375000; i++)
        {
            double x = 1e-4 * i;
            for (int j = 3; j <= 6; j++) sups[j] = Math.Max(sups[j], DerivativeBound(j, x, epsC, epsE));
        }
        return sups;
    }

    [Fact(DisplayName = "CentrePass constants: the derivative-rounding bound under H_exp on a dense grid → below B_j; B_j lowered under the proven sup → the check fails")]
    public void Derivative_constants_bound_the_rounding_bound()
    {
        double[] b = { 0, 0, 0, CentrePass.DerivativeError3, CentrePass.DerivativeError4, CentrePass.DerivativeError5, CentrePass.DerivativeError6 };
        // each one unit under the sup GeluConstants.py proves at ε_e = 6.14u (15.04, 43.62, 133.72, 485.53)
        double[] lowered = { 0, 0, 0, 14.04, 42.62, 132.72, 484.53 };
        double epsC = ConstantError();
        Assert.InRange(epsC, 0.0, 1.0); // a correctly rounded sqrt and quotient on a rounded π: within 1u
        var g = DerivativeGridSups(CentrePass.ExpError);
        for (int j = 3; j <= 6; j++)
        {
            _out.WriteLine($"B_{j}: grid max of the bound {g[j]:F3}u (ε_c = {epsC:F3}u, ε_e = {CentrePass.ExpError}u), constant {b[j]}");
            Assert.True(g[j] <= b[j], $"B_{j} = {b[j]} below the bound's grid maximum {g[j]:F3}");
            Assert.False(g[j] <= lowered[j], $"B_{j} lowered to {lowered[j]} passed");
        }
        // an exp perturbed beyond its proven bound (6.1364u): at ε_e = 6.5u the bound of σ⁽⁶⁾ exceeds B₆ (the script: the
        // constants hold up to 6.156u), and the runtime's exp as it was assumed before (8u) exceeds B₄, B₅ and B₆
        Assert.True(DerivativeGridSups(6.5)[6] > CentrePass.DerivativeError6, "a 6.5u exp stays within B₆");
        var at8 = DerivativeGridSups(8);
        for (int j = 4; j <= 6; j++) Assert.True(at8[j] > b[j], $"an 8u exp stays within B_{j}");
    }

    // The exp's relative error at z = −x²/2, x = k/1024 (x² exact), in units of u: φ̂ = C·ê(z) (C = 2c, ê = e^z/2 as computed)
    // formed exactly (the product and its FMA residual) against the high-precision φ(x) (correctly rounded, within u
    // relative), c's own error removed; what is left is the exp's error within ±1u (the reference's share).
    private static double ExpErrorAt(double x, double reference, Func<double, double> expHalf, double epsC)
    {
        double z = -0.5 * (x * x), e = expHalf(z), c2 = 2 * InvSqrt2Pi;
        double p = c2 * e, lo = Math.FusedMultiplyAdd(c2, e, -p);
        return Math.Abs(((p - reference) + lo) / reference / U - epsC);
    }

    [Fact(DisplayName = "CentrePass constants: the rule's exp (the engine's, scalar entry and 256- and 512-bit lanes) on z = −x²/2, |x| ≤ 37.5 → the same bits, within ExpError (plus the reference's 1u) of e^z; an exp off by 16u → outside")]
    public void Rule_exp_within_its_proven_bound()
    {
        double epsC = SignedConstantError(), limit = CentrePass.ExpError + 1;
        double worst = 0, worstBad = 0;
        static double Lanes256(double z) => ActivationKernels256.ExpGelu(Vector256.Create(z), Vector256<double>.Zero).ToScalar();
        static double Lanes512(double z) => ActivationKernels512.ExpGelu(Vector512.Create(z), Vector512<double>.Zero).ToScalar();
        // every k/1024 up to 8 (z ≥ −32), then every 16th up to 37.5 (the high-precision φ costs more as x grows)
        for (int k = 0; k <= 38400; k += k < 8192 ? 1 : 16)
        {
            double x = k / 1024.0, reference = HighPrecisionReference.NormalPdf(x), z = -0.5 * (x * x);
            // the scalar entry (RulePhi) and both lane widths: one function, the same bits
            Assert.Equal(BitConverter.DoubleToInt64Bits(CentrePass.RulePhi(x * x)), BitConverter.DoubleToInt64Bits(2 * InvSqrt2Pi * Lanes256(z)));
            Assert.Equal(BitConverter.DoubleToInt64Bits(Lanes256(z)), BitConverter.DoubleToInt64Bits(Lanes512(z)));
            worst = Math.Max(worst, ExpErrorAt(x, reference, Lanes256, epsC));
            // negative control: an exp off by 16u (a factor 1 + 2⁻⁴⁹), beyond the proven bound
            worstBad = Math.Max(worstBad, ExpErrorAt(x, reference, t => Lanes256(t) * (1 + Math.ScaleB(1.0, -49)), epsC));
        }
        _out.WriteLine($"the rule's exp against e^z (± the reference's 1u): {worst:F3}u; limit {limit:F3}u (proven 6.1364u); an exp off by 16u: {worstBad:F3}u");
        Assert.True(worst <= limit, "the rule's exp outside its proven bound");
        Assert.True(worst > 0, "the comparison sees the rounding");
        Assert.True(worstBad > limit, "an exp off by 16u passed");
    }
}
