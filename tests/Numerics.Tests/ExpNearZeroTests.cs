using System.Runtime.Intrinsics;
using Xunit;
using Xunit.Abstractions;
using X = ResOdeProofs.Numerics.ExpPolynomial;

namespace ResOdeProofs.Numerics.Tests;

/// <summary>
/// The accurate scalar code's exp (<see cref="SpecialFunctions.ExpNearZero"/>, the second factor of exp(−u²/2)'s split,
/// which replaced the C library's exp): its proven bound against the high-precision exp, and the vector lanes of the
/// reference GELU at each width the hardware accelerates against the scalar code, bit for bit.
/// </summary>
public sealed class ExpNearZeroTests
{
    private readonly ITestOutputHelper _out;
    public ExpNearZeroTests(ITestOutputHelper output) => _out = output;

    private static bool Same(double a, double b) => BitConverter.DoubleToInt64Bits(a) == BitConverter.DoubleToInt64Bits(b);

    /// <summary>The bound of the doc comment: (1 + 0.0893u)(1 + 4.354u)(1 + 0.347u) − 1 ≤ 4.8u.</summary>
    private static readonly double U = Math.ScaleB(1.0, -53);
    private static readonly double Bound = 4.8 * U;
    /// <summary>
    /// What the comparison with the reference allows: the bound, plus the reference's own share (its series is exact to
    /// hundreds of bits, then cut to 62 bits, 2⁻⁶¹ relative, and rounded to a double once, u), plus the second-order term of
    /// measuring against the rounded reference (4.8u·u): within 4.8u + u·(1 + 2⁻⁸).
    /// </summary>
    private static readonly double Allowed = Bound + U * (1.0 + Math.ScaleB(1.0, -8));

    /// <summary>
    /// [−3.5, 0] on a grid of full mantissas, and every point where k = round(t·log₂e) changes (t = (j + ½)·ln2, j = −5..−1)
    /// with its two neighbours and ±1e−300.
    /// </summary>
    private static IEnumerable<double> Points()
    {
        const int n = 20_000;
        for (int i = 0; i <= n; i++) yield return -3.5 * i / n * (1.0 - Math.PI * 1e-9);
        for (int j = -5; j <= -1; j++)
        {
            double t = (j + 0.5) * Math.Log(2.0);
            yield return t; yield return Math.BitIncrement(t); yield return Math.BitDecrement(t);
        }
        yield return -3.5; yield return -0.0; yield return -1e-300;
    }

    /// <summary>The operations of ExpNearZero written out again, with a polynomial coefficient moved or ln2's low part left
    /// out on request (the controls).</summary>
    private static double Model(double t, double e2Factor = 1.0, bool withLn2Lo = true)
    {
        double kd = Math.FusedMultiplyAdd(t, X.Log2E, X.Magic), k = kd - X.Magic;
        double r = Math.FusedMultiplyAdd(k, -X.Ln2Hi, t);
        if (withLn2Lo) r = Math.FusedMultiplyAdd(k, -X.Ln2Lo, r);
        double r2 = r * r, r4 = r2 * r2, r8 = r4 * r4;
        double q0 = Math.FusedMultiplyAdd(r, X.E1, X.E0), q1 = Math.FusedMultiplyAdd(r, X.E3, X.E2 * e2Factor);
        double q2 = Math.FusedMultiplyAdd(r, X.E5, X.E4), q3 = Math.FusedMultiplyAdd(r, X.E7, X.E6), q4 = Math.FusedMultiplyAdd(r, X.E9, X.E8);
        double s0 = Math.FusedMultiplyAdd(q1, r2, q0), s1 = Math.FusedMultiplyAdd(q3, r2, q2), s2 = Math.FusedMultiplyAdd(X.E10, r2, q4);
        double p = Math.FusedMultiplyAdd(s2, r8, Math.FusedMultiplyAdd(s1, r4, s0));
        return Math.FusedMultiplyAdd(p, r, 1.0) * Math.ScaleB(1.0, (int)k);
    }

    [Fact(DisplayName = "ExpNearZero: 20 000 grid points of [−3.5, 0] and the points where k changes → within its proven 4.8u (+ the reference's rounding) of the high-precision exp; E2 moved by 2⁻⁴⁰ or ln2's low part left out → outside it (controls)")]
    public void WithinItsProvenBound()
    {
        double worst = 0, worstAt = 0, worstE2 = 0, worstLo = 0;
        foreach (double t in Points())
        {
            double want = HighPrecisionReference.Exp(t);
            double got = SpecialFunctions.ExpNearZero(t);
            Assert.True(Same(got, Model(t)), $"the test's copy of the operations gives other bits at t = {t:R}");
            double e = Math.Abs(got - want) / want;
            if (e > worst) { worst = e; worstAt = t; }
            worstE2 = Math.Max(worstE2, Math.Abs(Model(t, e2Factor: 1.0 + Math.ScaleB(1.0, -40)) - want) / want);
            worstLo = Math.Max(worstLo, Math.Abs(Model(t, withLn2Lo: false) - want) / want);
        }
        _out.WriteLine($"ExpNearZero: largest error {worst / U:F3}u at t = {worstAt:R}; controls: E2 moved {worstE2 / U:F1}u, ln2_lo left out {worstLo / U:F1}u");
        Assert.True(worst <= Allowed, $"{worst / U:F3}u at t = {worstAt:R} exceeds the proven 4.8u and the reference's share");
        Assert.True(worstE2 > Allowed, $"E2 moved by 2⁻⁴⁰: {worstE2 / U:F3}u, inside the bound: the check could not see it");
        Assert.True(worstLo > Allowed, $"ln2_lo left out: {worstLo / U:F3}u, inside the bound: the check could not see it");
    }

    /// <summary>Trial t's span over GELU's regimes (the centre, the near and far tails, the underflow) and its special values.</summary>
    private static double[] Span(System.Random rng, int length)
    {
        double[] special = { 0.0, -0.0, double.NaN, double.PositiveInfinity, double.NegativeInfinity, 0.46875 * Math.Sqrt(2),
            -Math.BitIncrement(0.46875 * Math.Sqrt(2)), 4.0 * Math.Sqrt(2), -Math.BitIncrement(4.0 * Math.Sqrt(2)), 38.75,
            -Math.BitDecrement(38.75), 1e300, -double.MaxValue };
        var u = new double[length];
        for (int i = 0; i < length; i++)
            u[i] = rng.Next(6) switch
            {
                0 => special[rng.Next(special.Length)],
                1 => (rng.NextDouble() - 0.5) * 1.4,
                2 => (rng.NextDouble() - 0.5) * 11.4,
                3 => (rng.NextDouble() - 0.5) * 80,
                _ => TestRandom.Gaussian(rng, 1, 3.0)[0],
            };
        return u;
    }

    [Fact(DisplayName = "GeluLanes at each width the hardware accelerates (256, 512), called directly: random spans over the regimes and special points → the scalar code's σ, σ' bits on every whole vector, the rest left to the caller")]
    public void EachWidthIsTheScalarCode()
    {
        var widths = new List<(string Name, Func<double[], double[], int> Values, Func<double[], double[], int> Derivatives, Func<double[], double[], double[], int> Both)>();
        if (Vector256.IsHardwareAccelerated)
            widths.Add(("256", (u, v) => GeluLanes256.Values(u, v), (u, d) => GeluLanes256.Derivatives(u, d), (u, v, d) => GeluLanes256.ValuesAndDerivatives(u, v, d)));
        if (Vector512.IsHardwareAccelerated)
            widths.Add(("512", (u, v) => GeluLanes512.Values(u, v), (u, d) => GeluLanes512.Derivatives(u, d), (u, v, d) => GeluLanes512.ValuesAndDerivatives(u, v, d)));
        _out.WriteLine($"widths tested: {string.Join(", ", widths.Select(w => w.Name))}");
        Assert.NotEmpty(widths);
        var rng = new System.Random(77);
        foreach (var (name, values, derivatives, both) in widths)
        {
            int lanes = name == "256" ? 4 : 8;
            for (int trial = 0; trial < 300; trial++)
            {
                var u = Span(rng, trial % 37);
                var v = new double[u.Length]; var d = new double[u.Length]; var v2 = new double[u.Length]; var d2 = new double[u.Length];
                int nv = values(u, v), nd = derivatives(u, d), nb = both(u, v2, d2);
                int whole = u.Length / lanes * lanes;
                Assert.True(nv == whole && nd == whole && nb == whole, $"{name}-bit: {nv}, {nd}, {nb} entries done of {u.Length}, expected {whole}");
                for (int i = 0; i < whole; i++)
                {
                    double wantV = Activations.Value(ActivationKind.Gelu, u[i]), wantD = Activations.Derivative(ActivationKind.Gelu, u[i]);
                    bool okV = Same(v[i], wantV) || double.IsNaN(wantV) && double.IsNaN(v[i]);
                    bool okD = Same(d[i], wantD) || double.IsNaN(wantD) && double.IsNaN(d[i]);
                    bool okB = (Same(v2[i], wantV) || double.IsNaN(wantV) && double.IsNaN(v2[i])) && (Same(d2[i], wantD) || double.IsNaN(wantD) && double.IsNaN(d2[i]));
                    Assert.True(okV && okD && okB, $"{name}-bit at u = {u[i]:R}: σ {v[i]:R} / {v2[i]:R} vs {wantV:R}, σ' {d[i]:R} / {d2[i]:R} vs {wantD:R}");
                }
            }
        }
    }

    [Fact(DisplayName = "ExpNearZero in lanes (256, 512 where accelerated): the grid of [−3.5, 0] → the scalar bits; the C library's exp → other bits somewhere (control)")]
    public void LanesAreTheScalarExp()
    {
        var t = Points().ToArray();
        int libmDiffers = 0;
        foreach (double x in t) if (!Same(Math.Exp(x), SpecialFunctions.ExpNearZero(x))) libmDiffers++;
        _out.WriteLine($"the C library's exp differs from ExpNearZero at {libmDiffers} of {t.Length} points");
        Assert.True(libmDiffers > 0, "the C library's exp gave the same bits everywhere: the comparison could not see another exp");
        for (int i = 0; i + 8 <= t.Length; i += 8)
        {
            if (Vector256.IsHardwareAccelerated)
                for (int h = 0; h < 8; h += 4)
                {
                    var got = GeluLanes256.ExpNearZero(Vector256.Create(t, i + h));
                    for (int j = 0; j < 4; j++) Assert.True(Same(got[j], SpecialFunctions.ExpNearZero(t[i + h + j])), $"256-bit at t = {t[i + h + j]:R}");
                }
            if (Vector512.IsHardwareAccelerated)
            {
                var got = GeluLanes512.ExpNearZero(Vector512.Create(t, i));
                for (int j = 0; j < 8; j++) Assert.True(Same(got[j], SpecialFunctions.ExpNearZero(t[i + j])), $"512-bit at t = {t[i + j]:R}");
            }
        }
    }
}
