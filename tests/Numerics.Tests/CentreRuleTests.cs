using ResOdeProofs.Numerics;
using ResOdeProofs.Numerics.Verification;
using Xunit;
using Xunit.Abstractions;

namespace ResOdeProofs.Numerics.Tests;

/// <summary>
/// The rule of A.split.centre.segments (docs/theorems/DepthSmoothness.md): S₁ = ∫₀¹σ'(u(t))dt by the endpoints' mean with
/// its two Euler–Maclaurin corrections and S₂ = ∫₀¹σ''(u(t))q(t)dt by the midpoint Taylor form (<see cref="CentrePass.RuleEntry"/>),
/// against a high-accuracy integral, within the stated error terms; a rule with one wrong weight exceeds them; and the
/// rule's derivatives σ̂⁽ʲ⁾ = φ̂·poly_j within their kernel constants B_j·u.
/// </summary>
public sealed class CentreRuleTests
{
    private readonly ITestOutputHelper _out;
    public CentreRuleTests(ITestOutputHelper output) => _out = output;

    private const double U = CentrePass.U;

    // GELU's σ'(x) = Φ(x) + xφ(x) and σ''(x) = φ(x)(2 − x²), float64 (within a few u).
    private static double D1(double x) => Activations.Derivative(ActivationKind.Gelu, x);
    private static double D2(double x) => Activations.SecondDerivative(ActivationKind.Gelu, x);

    // ∫₀¹ f by the 5-point Gauss–Legendre rule on 64 panels: its error on these smooth integrands (|f⁽¹⁰⁾| below 10⁴·δ¹⁰
    // with |δ| ≤ 1.5) is below 10⁻²⁰, far under the terms compared
    private static double Integral(Func<double, double> f)
    {
        double[] xs = { -0.9061798459386640, -0.5384693101056831, 0, 0.5384693101056831, 0.9061798459386640 };
        double[] ws = { 0.2369268850561891, 0.4786286704993665, 0.5688888888888889, 0.4786286704993665, 0.2369268850561891 };
        const int panels = 64;
        double sum = 0;
        for (int p = 0; p < panels; p++)
        {
            double a = (double)p / panels, h = 1.0 / panels;
            for (int l = 0; l < 5; l++) sum += 0.5 * h * ws[l] * f(a + 0.5 * h * (xs[l] + 1));
        }
        return sum;
    }

    // The rule at one entry as the centre computes it: σ'(u(0)), σ'(u(1)) given, φ̂(x_m) by the engine's exp (RulePhi).
    private static (double S1, double S2) Rule(double a0, double a1, double b0, double b1)
    {
        double xm = CentrePass.Midpoint(a0, a1);
        return CentrePass.RuleEntry(a0, a1, b0, b1, D1(a0), D1(a1), CentrePass.RulePhi(xm * xm));
    }

    private sealed record Sample(double A0, double A1, double B0, double B1, double S1, double S2, double RuleS1, double RuleS2,
        double Bound1, double Bound2, double S5, double S6, double Delta);

    // Random entries: x_m ∈ [−4, 4], δ ∈ [−1.5, 1.5] (large, so that the rule's error stands far above float64 rounding),
    // q(0) ∈ [−2, 2], dq ∈ [−1, 1].
    private static List<Sample> Samples(int count, int seed)
    {
        var rng = new System.Random(seed);
        var list = new List<Sample>();
        for (int i = 0; i < count; i++)
        {
            double xm = 8 * rng.NextDouble() - 4, delta = 3 * rng.NextDouble() - 1.5, b0 = 4 * rng.NextDouble() - 2, dq = 2 * rng.NextDouble() - 1;
            double a0 = xm - 0.5 * delta, a1 = xm + 0.5 * delta, b1 = b0 + dq;
            double du = a1 - a0, qd = b1 - b0;   // the δ and dq the rule sees
            double s1 = Integral(t => D1(a0 + t * du));
            double s2 = Integral(t => D2(a0 + t * du) * (b0 + t * qd));
            var (r1, r2) = Rule(a0, a1, b0, b1);
            double ad = Math.Abs(du), qm = Math.Abs(b0 + 0.5 * qd);
            // the stated error terms, plus the float64 rounding of the rule and of the reference integral (well below 10⁻¹³)
            double bound1 = CentrePass.RuleErrorS1 * CentrePass.GeluSup7 * Math.Pow(ad, 6) + 1e-13;
            double bound2 = CentrePass.RuleErrorS2Even * CentrePass.GeluSup8 * qm * Math.Pow(ad, 6)
                + CentrePass.RuleErrorS2Odd * CentrePass.GeluSup7 * Math.Abs(qd) * Math.Pow(ad, 5) + 1e-13;
            double xr = CentrePass.Midpoint(a0, a1);
            list.Add(new Sample(a0, a1, b0, b1, s1, s2, r1, r2, bound1, bound2,
                RuleDerivative(5, xr), RuleDerivative(6, xr), du));
        }
        return list;
    }

    [Fact(DisplayName = "CentrePass rule: random entries with large δ → within s₇δ⁶/40 320 (S₁) and s₈|q_m|δ⁶/322 560 + s₇|dq||δ|⁵/53 760 (S₂) of the integral, and not loosely")]
    public void Rule_within_its_error_terms()
    {
        var samples = Samples(4000, 5);
        double worst1 = 0, worst2 = 0;
        foreach (var s in samples)
        {
            Assert.True(Math.Abs(s.RuleS1 - s.S1) <= s.Bound1, $"S₁ at u(0) = {s.A0:R}, u(1) = {s.A1:R}: {Math.Abs(s.RuleS1 - s.S1):E3} > {s.Bound1:E3}");
            Assert.True(Math.Abs(s.RuleS2 - s.S2) <= s.Bound2, $"S₂ at u(0) = {s.A0:R}, u(1) = {s.A1:R}: {Math.Abs(s.RuleS2 - s.S2):E3} > {s.Bound2:E3}");
            if (Math.Abs(s.Delta) > 0.5)
            {
                worst1 = Math.Max(worst1, Math.Abs(s.RuleS1 - s.S1) / s.Bound1);
                worst2 = Math.Max(worst2, Math.Abs(s.RuleS2 - s.S2) / s.Bound2);
            }
        }
        _out.WriteLine($"largest error / bound: S₁ {worst1:F3}, S₂ {worst2:F3}");
        // the leading error of S₁ is σ⁽⁷⁾δ⁶/53 760 (3/4 of the bound where |σ⁽⁷⁾| peaks): a bound many times too large fails here
        Assert.True(worst1 > 0.3, $"S₁: the error term is loose ({worst1:F3} of it reached)");
        Assert.True(worst2 > 0.1, $"S₂: the error term is loose ({worst2:F3} of it reached)");
    }

    [Fact(DisplayName = "CentrePass rule: the δ⁴ weight 1/480 of S₁ or 1/1920 of S₂ replaced by a wrong one → outside the error terms")]
    public void Wrong_weight_is_rejected()
    {
        var samples = Samples(4000, 6);
        // the rule with 1/400 in place of 1/480 in S₁'s correction σ⁽⁵⁾δ⁴/480, and 1/1600 in place of 1/1920 in S₂'s σ⁽⁶⁾δ⁴/1920
        int caught1 = samples.Count(s =>
            Math.Abs(s.RuleS1 - Math.Pow(s.Delta, 4) * s.S5 * (1.0 / 400 - 1.0 / 480) - s.S1) > s.Bound1);
        int caught2 = samples.Count(s =>
            Math.Abs(s.RuleS2 + (s.B0 + 0.5 * (s.B1 - s.B0)) * Math.Pow(s.Delta, 4) * s.S6 * (1.0 / 1600 - 1.0 / 1920) - s.S2) > s.Bound2);
        _out.WriteLine($"wrong weights rejected on {caught1} (S₁) and {caught2} (S₂) of {samples.Count} entries");
        Assert.True(caught1 > 0, "S₁ with the weight 1/400 passed every entry");
        Assert.True(caught2 > 0, "S₂ with the weight 1/1600 passed every entry");
    }

    // One pair with n = 1 sample: ((M̄ − M^Q)c)^V = p(err₁ ⊙ C_W)ᵀ and ((M̄ − M^Q)c)^W = (err₂ ⊙ C_W + err₁ ⊙ C_V)hᵀ are outer
    // products, so their Frobenius norms are ‖p‖‖err₁ ⊙ C_W‖ and ‖h‖‖err₂ ⊙ C_W + err₁ ⊙ C_V‖ exactly (‖P‖₂ = ‖p‖, ‖H‖₂ = ‖h‖);
    // err = S − S^Q with S the integral. Returns those norms and r_V, r_W from the maxima over the entries `counted`.
    private static (double V, double W, double RV, double RW) PairError(double[] a0, double[] a1, double[] b0, double[] b1,
        double[] cw, double[] cv, double pn, double hn, Func<int, bool> counted)
    {
        int m = a0.Length;
        double sv = 0, sw = 0, scw = 0, scv = 0;
        var mx = new CentrePass.RuleMaxima();
        for (int e = 0; e < m; e++)
        {
            double du = a1[e] - a0[e], qd = b1[e] - b0[e];
            double s1 = Integral(t => D1(a0[e] + t * du)), s2 = Integral(t => D2(a0[e] + t * du) * (b0[e] + t * qd));
            var (r1, r2) = Rule(a0[e], a1[e], b0[e], b1[e]);
            double x = (s1 - r1) * cw[e], y = (s2 - r2) * cw[e] + (s1 - r1) * cv[e];
            sv += x * x; sw += y * y; scw += cw[e] * cw[e]; scv += cv[e] * cv[e];
            if (counted(e))
            {
                double qh = Math.Max(Math.Abs(b0[e]), Math.Abs(b1[e]));
                mx.Merge(Math.Abs(cw[e]), Math.Abs(cv[e]), qh, qh * Math.Abs(cw[e]), Math.Abs(du), Math.Abs(qd));
            }
        }
        // exact products here (no rounding of Ĉ), so η_u = η_q = 0 and ‖C_W‖_F, ‖C_V‖_F are the norms themselves
        var b = CentrePass.RuleBounds(U, 0, 0, mx);
        var (rv, rw) = CentrePass.RuleErrorTerms(b, Math.Sqrt(scw), Math.Sqrt(scv), hn, pn);
        return (pn * Math.Sqrt(sv), hn * Math.Sqrt(sw), rv, rw);
    }

    [Fact(DisplayName = "CentrePass.RuleErrorTerms: r_V, r_W from a pair's largest δ, dq, |q| → above the rule's error on random entries, within 2x of it on uniform ones; maxima that miss one entry → below it")]
    public void Rule_error_from_the_pairs_maxima()
    {
        const int m = 64;
        var rng = new System.Random(7);
        double[] Draw(double lo, double hi) => Enumerable.Range(0, m).Select(_ => lo + (hi - lo) * rng.NextDouble()).ToArray();
        // random entries as in the per-entry test (x_m ∈ [−4, 4], δ ∈ [−1.5, 1.5], q(0) ∈ [−2, 2], dq ∈ [−1, 1])
        double[] xm = Draw(-4, 4), delta = Draw(-1.5, 1.5), b0 = Draw(-2, 2), dq = Draw(-1, 1), cw = Draw(-1, 1), cv = Draw(-1, 1);
        double[] a0 = xm.Select((x, e) => x - 0.5 * delta[e]).ToArray(), a1 = xm.Select((x, e) => x + 0.5 * delta[e]).ToArray();
        double[] b1 = b0.Select((x, e) => x + dq[e]).ToArray();
        var all = PairError(a0, a1, b0, b1, cw, cv, 1.7, 0.6, _ => true);
        // the float64 rounding of the rule and of the reference integral, as in the per-entry test (10⁻¹³ per entry)
        double slackV = 1e-13 * 1.7 * Math.Sqrt(m), slackW = 1e-13 * 0.6 * Math.Sqrt(m) * 2;
        _out.WriteLine($"random entries: V {all.V:E3} ≤ r_V {all.RV:E3}, W {all.W:E3} ≤ r_W {all.RW:E3}");
        Assert.True(all.V <= all.RV + slackV, $"V part: {all.V:E3} > r_V {all.RV:E3}");
        Assert.True(all.W <= all.RW + slackW, $"W part: {all.W:E3} > r_W {all.RW:E3}");
        // uniform entries at the peak of |σ⁽⁷⁾| (x ≈ −0.5477) with δ = 1.5, q = 0: the bound is the per-entry one, and the
        // rule's error reaches about 3/4 of it; one entry's δ raised to 1.5 among entries of δ = 0.75, the maxima taken
        // without that entry → r_V far below the error it has to bound
        double[] Fill(double x) => Enumerable.Repeat(x, m).ToArray();
        double[] p0 = Fill(-0.5477 - 0.75), p1 = Fill(-0.5477 + 0.75), zero = Fill(0), ones = Fill(1);
        var uniform = PairError(p0, p1, zero, zero, ones, zero, 1.0, 1.0, _ => true);
        _out.WriteLine($"uniform entries: V {uniform.V:E3}, r_V {uniform.RV:E3} ({uniform.V / uniform.RV:F3} of it)");
        Assert.True(uniform.V <= uniform.RV, $"uniform: {uniform.V:E3} > r_V {uniform.RV:E3}");
        Assert.True(uniform.V > 0.5 * uniform.RV, $"uniform: the bound is loose ({uniform.V / uniform.RV:F3} of it reached)");
        double[] q0 = Fill(-0.5477 - 0.375), q1 = Fill(-0.5477 + 0.375);
        q0[5] = -0.5477 - 0.75; q1[5] = -0.5477 + 0.75;
        var missed = PairError(q0, q1, zero, zero, ones, zero, 1.0, 1.0, e => e != 5);
        var kept = PairError(q0, q1, zero, zero, ones, zero, 1.0, 1.0, _ => true);
        _out.WriteLine($"one entry of δ = 1.5: V {kept.V:E3}, r_V {kept.RV:E3} with it, {missed.RV:E3} without it");
        Assert.True(kept.V <= kept.RV, $"one large entry: {kept.V:E3} > r_V {kept.RV:E3}");
        Assert.True(missed.V > missed.RV, $"maxima without the large entry: {missed.V:E3} ≤ r_V {missed.RV:E3}");
    }

    // The grid of CentreRoundingTests: [−12, 12] with full mantissas and the kernels' branch points.
    private static IEnumerable<double> Grid()
    {
        const int n = 12000;
        for (int i = 0; i <= n; i++) yield return -12.0 + 24.0 * i / n + 1e-3 * (Math.Sqrt(2.0) - 1.0) * 24.0 / n;
        foreach (double b in new[] { 0.0, 1e-300, 1e-8, Math.Sqrt(2.0), 2.0, 0.5, Math.Sqrt(3.0), Math.Sqrt(7.0) })
        {
            yield return b; yield return -b; yield return Math.BitIncrement(b); yield return Math.BitDecrement(b);
        }
    }

    // poly_j(x) of σ⁽ʲ⁾ = φ·poly_j, in double (within a few u of the absolute-value polynomial, far below B_j).
    private static double Poly(int j, double x) => j switch
    {
        2 => 2 - x * x,
        3 => x * x * x - 4 * x,
        4 => -Math.Pow(x, 4) + 7 * x * x - 4,
        5 => Math.Pow(x, 5) - 11 * Math.Pow(x, 3) + 18 * x,
        _ => -Math.Pow(x, 6) + 16 * Math.Pow(x, 4) - 51 * x * x + 18,
    };

    [Fact(DisplayName = "CentrePass rule: σ̂⁽ʲ⁾ = φ̂·poly_j (j = 2..6, φ̂ by the engine's proven exp), dense grid → within B_j·u of the high-precision reference")]
    public void Rule_derivatives_within_their_constants()
    {
        double[] limits = { CentrePass.KernelError - 4, CentrePass.DerivativeError3, CentrePass.DerivativeError4, CentrePass.DerivativeError5, CentrePass.DerivativeError6 };
        for (int j = 2; j <= 6; j++)
        {
            double worst = 0;
            foreach (double x in Grid())
            {
                double reference = HighPrecisionReference.NormalPdf(x) * Poly(j, x);
                worst = Math.Max(worst, Math.Abs(RuleDerivative(j, x) - reference) / U);
            }
            _out.WriteLine($"σ⁽{j}⁾: {worst:F2}u; limit {limits[j - 2]}u");
            Assert.True(worst <= limits[j - 2] / 2, $"σ⁽{j}⁾: {worst:F2}u");
            Assert.True(worst > 0, "the comparison sees the rounding");
        }
    }

    /// <summary>GELU's σ⁽ʲ⁾(x), j = 2..6, as the rule computes them from φ̂(x) (<see cref="CentrePass.RulePhi"/>), with the
    /// polynomials of the rule's own σ⁽³⁾..σ⁽⁶⁾ (<c>CentrePass</c>'s scalar rule): the values whose errors B_j bound.</summary>
    private static double RuleDerivative(int j, double x)
    {
        double y = x * x;
        double phi = CentrePass.RulePhi(y);
        return j switch
        {
            2 => phi * (2.0 - y),
            3 => phi * (x * (y - 4.0)),
            4 => phi * ((7.0 - y) * y - 4.0),
            5 => phi * (x * ((y - 11.0) * y + 18.0)),
            6 => phi * (((16.0 - y) * y - 51.0) * y + 18.0),
            _ => throw new ArgumentOutOfRangeException(nameof(j)),
        };
    }

    // Entries for the divided differences: u(0) ∈ [−8, 8], |δ| ∈ [1/16, 20] (either sign), q(0) ∈ [−2, 2], dq ∈ [−1, 1]; σ̂ and σ̂'
    // by the engine's kernels (VectorActivations, the centre's), the integrals at these computed inputs by the reference rule.
    private static List<(double A0, double A1, double B0, double B1, double S1, double S2, double D1S1, double D1S2, double E1, double E2, double Sig0, double Sig1, double Dq)> DividedSamples(int count, int seed)
    {
        var rng = new System.Random(seed);
        var a0s = new double[count]; var a1s = new double[count];
        var b0s = new double[count]; var b1s = new double[count];
        for (int i = 0; i < count; i++)
        {
            double delta = (1.0 / 16 + (20 - 1.0 / 16) * Math.Pow(rng.NextDouble(), 2)) * (rng.Next(2) == 0 ? -1 : 1);
            a0s[i] = 16 * rng.NextDouble() - 8; a1s[i] = a0s[i] + delta;
            b0s[i] = 4 * rng.NextDouble() - 2; b1s[i] = b0s[i] + (2 * rng.NextDouble() - 1);
        }
        var sig0 = new double[count]; var sig1 = new double[count]; var d0 = new double[count]; var d1 = new double[count];
        var level = ResOdeProofs.Numerics.Model.Simd.Level;
        ResOdeProofs.Numerics.Model.VectorActivations.Evaluate<double>(level, ActivationKind.Gelu, a0s, sig0, d0);
        ResOdeProofs.Numerics.Model.VectorActivations.Evaluate<double>(level, ActivationKind.Gelu, a1s, sig1, d1);
        var list = new List<(double, double, double, double, double, double, double, double, double, double, double, double, double)>();
        for (int i = 0; i < count; i++)
        {
            double a0 = a0s[i], a1 = a1s[i], b0 = b0s[i], b1 = b1s[i];
            double du = a1 - a0, qd = b1 - b0;
            if (!(Math.Abs(du) >= CentrePass.DividedAbove)) continue;
            double s1 = Integral(t => D1(a0 + t * (a1 - a0)));
            double s2 = Integral(t => D2(a0 + t * (a1 - a0)) * (b0 + t * (b1 - b0)));
            var (r1, r2) = CentrePass.DividedEntry(a0, a1, b0, b1, d0[i], d1[i], sig0[i], sig1[i]);
            var (e1, e2) = CentrePass.DividedErrors(U, Math.Max(Math.Abs(a0), Math.Abs(a1)), Math.Max(Math.Abs(b0), Math.Abs(b1)), Math.Abs(qd), Math.Abs(du));
            list.Add((a0, a1, b0, b1, s1, s2, r1, r2, e1, e2, sig0[i], sig1[i], qd));
        }
        return list;
    }

    // the reference integrals' own error, allowed on top of the stated terms: 320 weighted terms (weights summing to 1) summed in
    // float64, each a product of a few roundings with σ' or σ''·q evaluated within 32u (the centre's β), so at most
    // (2·320 + 32)·u times the integrand's supremum: sup|σ'| for S₁, sup|σ''|·max|q| (|q| ≤ 3 here) for S₂; the Gauss–Legendre
    // truncation on panels of width ≤ 20/64 is far below
    private const double ReferenceError1 = (2 * 320 + 32) * U * CentrePass.GeluSup1;
    private const double ReferenceError2 = (2 * 320 + 32) * U * CentrePass.GeluSup2 * 3;

    [Fact(DisplayName = "CentrePass divided differences: random entries with 1/16 ≤ |δ| ≤ 20 → within E₁ (S₁) and E₂ (S₂) of the integral")]
    public void Divided_within_their_error_terms()
    {
        var samples = DividedSamples(4000, 7);
        Assert.True(samples.Count == 4000, "every entry at |δ| ≥ δ*");
        double worst1 = 0, worst2 = 0;
        foreach (var s in samples)
        {
            double err1 = Math.Abs(s.D1S1 - s.S1), err2 = Math.Abs(s.D1S2 - s.S2);
            Assert.True(err1 <= s.E1 + ReferenceError1, $"S₁ at u(0) = {s.A0:R}, u(1) = {s.A1:R}: {err1:E3} > {s.E1:E3}");
            Assert.True(err2 <= s.E2 + ReferenceError2, $"S₂ at u(0) = {s.A0:R}, u(1) = {s.A1:R}: {err2:E3} > {s.E2:E3}");
            worst1 = Math.Max(worst1, err1); worst2 = Math.Max(worst2, err2);
        }
        _out.WriteLine($"largest errors: S₁ {worst1:E3}, S₂ {worst2:E3}; E₁, E₂ at most {samples.Max(s => s.E1):E3}, {samples.Max(s => s.E2):E3}");
    }

    [Fact(DisplayName = "CentrePass divided differences: S₂ without its −dq·S₁/δ term, or S₁ over a δ off by 10⁻¹⁰ relative → outside E₂, E₁")]
    public void Divided_wrong_formula_is_rejected()
    {
        var samples = DividedSamples(4000, 8);
        int caught2 = samples.Count(s => Math.Abs(s.D1S2 + s.Dq * s.D1S1 / (s.A1 - s.A0) - s.S2) > s.E2 + ReferenceError2);
        int caught1 = samples.Count(s => Math.Abs((s.Sig1 - s.Sig0) / ((s.A1 - s.A0) * (1 + 1e-10)) - s.S1) > s.E1 + ReferenceError1);
        _out.WriteLine($"wrong formulas rejected on {caught1} (S₁) and {caught2} (S₂) of {samples.Count} entries");
        Assert.True(caught2 > samples.Count / 2, $"S₂ without −dq·S₁/δ passed {samples.Count - caught2} entries");
        Assert.True(caught1 > 0, "S₁ over a perturbed δ passed every entry");
    }
}
