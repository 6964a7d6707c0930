using System.Numerics;
using ResOdeProofs.Numerics;
using Xunit.Abstractions;

namespace ResOdeProofs.Numerics.Tests;

/// <summary>
/// Independent high-precision references, in BigInteger fixed point (value = N / 2^P).
/// erf(x) = (2/√π)·x·S(x²) and Φ(u) = ½ + u/√(2π)·S(u²/2) with S(q) = Σ (−q)ⁿ/(n!(2n+1)),
/// exp(−q) = Σ (−q)ⁿ/n!, summed exactly up to one unit of 2^−P per operation. x and u are doubles, so
/// q is an exact dyadic rational. π comes from Machin's formula, square roots from integer Newton.
/// The alternating series cancel, but fixed point errors are absolute, so P = 160 + 1.5·q bits leaves
/// more than 100 correct bits even in erfc(x) ≈ e^{−x²} (log2 e ≈ 1.443 &lt; 1.5).
/// </summary>
internal static class HighPrecisionReference
{
    private const int W = 4200; // working precision of the constants (enough for q ≤ 2600)
    private static readonly BigInteger PiW = ComputePi();
    private static readonly BigInteger TwoOverSqrtPiW = (BigInteger.One << (2 * W + 1)) / ISqrt(PiW << W);
    private static readonly BigInteger InvSqrt2PiW = (BigInteger.One << (2 * W)) / ISqrt((PiW << 1) << W);

    private static BigInteger AtanInv(int k)
    {
        BigInteger term = (BigInteger.One << (W + 64)) / k, sum = BigInteger.Zero;
        BigInteger k2 = k * k;
        for (int n = 0; !term.IsZero; n++)
        {
            sum += (n % 2 == 0 ? term : -term) / (2 * n + 1);
            term /= k2;
        }
        return sum;
    }

    private static BigInteger ComputePi() => (16 * AtanInv(5) - 4 * AtanInv(239)) >> 64;

    private static BigInteger ISqrt(BigInteger n)
    {
        if (n.IsZero) return n;
        BigInteger x = BigInteger.One << (int)((n.GetBitLength() + 1) / 2);
        while (true)
        {
            BigInteger y = (x + n / x) >> 1;
            if (y >= x) return x;
            x = y;
        }
    }

    /// <summary>|x| = m·2^e with m an integer (e ≤ 0 for the arguments used here).</summary>
    private static (BigInteger M, int E) Decompose(double x) =>
        x == 0 ? (BigInteger.Zero, 0) : PortableReference.Decompose(x);

    private static BigInteger Series(BigInteger qm, int qe, int p, bool oddDenominators)
    {
        if (qe < 0) throw new ArgumentException("argument too large for the reference");
        BigInteger term = BigInteger.One << p, sum = term;
        for (int n = 1; !term.IsZero; n++)
        {
            term = ((term * qm) >> qe) / n;
            BigInteger t = oddDenominators ? term / (2 * n + 1) : term;
            sum += n % 2 == 0 ? t : -t;
        }
        return sum;
    }

    private static int Precision(double q) => 160 + (int)(1.5 * q);

    private static BigInteger At(BigInteger cW, int p) => cW >> (W - p);

    private static double ToDouble(BigInteger n, int p)
    {
        if (n.IsZero) return 0.0;
        int sign = n.Sign;
        n = BigInteger.Abs(n);
        int shift = (int)n.GetBitLength() - 62;
        long top = (long)(shift > 0 ? n >> shift : n << -shift);
        return sign * Math.ScaleB((double)top, shift - p);
    }

    private static (BigInteger Erf, int P) ErfFixed(double x)
    {
        var (m, e) = Decompose(x);
        double q = x * x;
        int p = Precision(q);
        BigInteger s = Series(m * m, -2 * e, p, true);
        BigInteger r = ((At(TwoOverSqrtPiW, p) * s) >> p) * m >> -e;
        return (x < 0 ? -r : r, p);
    }

    public static double Erf(double x) { var (r, p) = ErfFixed(x); return ToDouble(r, p); }

    public static double Erfc(double x) { var (r, p) = ErfFixed(x); return ToDouble((BigInteger.One << p) - r, p); }

    public static double NormalCdf(double u)
    {
        var (m, e) = Decompose(u);
        int p = Precision(u * u / 2);
        BigInteger s = Series(m * m, -2 * e + 1, p, true);
        BigInteger r = ((At(InvSqrt2PiW, p) * s) >> p) * m >> -e;
        return ToDouble((BigInteger.One << (p - 1)) + (u < 0 ? -r : r), p);
    }

    /// <summary>exp(t) for t ≤ 0: the series Σ (−q)ⁿ/n! at q = −t, in the same fixed point.</summary>
    public static double Exp(double t)
    {
        if (t > 0) throw new ArgumentException("the reference's exp is for t ≤ 0");
        var (m, e) = Decompose(t);
        int p = Precision(-t);
        return ToDouble(Series(m, -e, p, false), p);
    }

    public static double NormalPdf(double u)
    {
        var (m, e) = Decompose(u);
        int p = Precision(u * u / 2);
        BigInteger s = Series(m * m, -2 * e + 1, p, false);
        return ToDouble((At(InvSqrt2PiW, p) * s) >> p, p);
    }
}

public class SpecialFunctionsTests
{
    private readonly ITestOutputHelper _out;
    public SpecialFunctionsTests(ITestOutputHelper output) => _out = output;

    // Grid points with full 53-bit mantissas (an irrational offset avoids only hitting short dyadics).
    private static IEnumerable<double> Grid(double lo, double hi, int n)
    {
        for (int i = 0; i <= n; i++)
        {
            double x = lo + (hi - lo) * i / n;
            if (i > 0 && i < n) x += 1e-3 * (Math.Sqrt(2.0) - 1.0) * (hi - lo) / n;
            yield return x;
        }
    }

    private static double RelErr(double got, double want) => want == 0 ? Math.Abs(got) : Math.Abs(got - want) / Math.Abs(want);

    // Tolerance: Cody's approximants themselves are good to ~1e-18 relative, so what remains is a short chain
    // of roundings: rational evaluation (~1-2 ulp), the exp(-x0^2) table entry and exp(-d(x+x0)) (~0.5 ulp each),
    // the final product or 1 - erfc subtraction (~0.5 ulp) - at most ~5 ulp = 5 * 1.1e-16 relative in total.
    // We require < 2e-15 (about 9 ulp), i.e. "1e-15 times a small factor"; the measured maxima (printed;
    // about 4e-16 for erf, 8e-16 for erfc, 6e-16 for Phi) are well inside.
    private const double ErfTol = 2e-15;

    [Fact(DisplayName = "Erf, Erfc: dense grid → match a high-precision reference")]
    public void Erf_and_erfc_match_high_precision_reference_on_dense_grid()
    {
        double maxErf = 0, maxErfc = 0, worstX = 0;
        foreach (double x in Grid(-6, 6, 4000))
        {
            double ef = RelErr(ErrorFunction.Erf(x), HighPrecisionReference.Erf(x));
            if (ef > maxErf) { maxErf = ef; worstX = x; }
            maxErfc = Math.Max(maxErfc, RelErr(ErrorFunction.Erfc(x), HighPrecisionReference.Erfc(x)));
        }
        _out.WriteLine($"max rel err erf {maxErf:E3} (at {worstX}), erfc {maxErfc:E3}");
        Assert.True(maxErf < ErfTol, $"erf max rel error {maxErf:E3} at {worstX}");
        Assert.True(maxErfc < ErfTol, $"erfc max rel error {maxErfc:E3}");
    }

    [Fact(DisplayName = "Erf: tiny arguments → match the reference")]
    public void Erf_tiny_arguments_match_reference()
    {
        foreach (double x in new[] { 1e-300, 1e-100, 1e-20, 1e-10, 3.7e-5, 0.01, 0.2, 0.46875, 0.46875000000000006 })
        {
            Assert.True(RelErr(ErrorFunction.Erf(x), HighPrecisionReference.Erf(x)) < ErfTol, $"x = {x}");
        }
    }

    [Fact(DisplayName = "Erfc: tail up to underflow → matches the reference")]
    public void Erfc_tail_matches_reference_up_to_underflow()
    {
        double max = 0, worst = 0;
        // erfc(27.2) ≈ 1e-323 is subnormal; stop at 26.5 (erfc ≈ 1.5e-307) where results are still normal.
        foreach (double x in Grid(0.5, 26.5, 520))
        {
            double e = RelErr(ErrorFunction.Erfc(x), HighPrecisionReference.Erfc(x));
            if (e > max) { max = e; worst = x; }
        }
        _out.WriteLine($"erfc tail max rel err {max:E3} at {worst}");
        Assert.True(max < ErfTol, $"erfc tail max rel error {max:E3} at {worst}");
    }

    [Fact(DisplayName = "Erfc: x = 10 → 2.088e-45")]
    public void Erfc_of_10_is_2_088e_minus45()
    {
        double want = HighPrecisionReference.Erfc(10.0);
        Assert.True(RelErr(want, 2.0884875837625447570e-45) < 1e-15, $"reference erfc(10) = {want:R}");
        Assert.True(RelErr(ErrorFunction.Erfc(10.0), want) < 1e-13);
    }

    [Fact(DisplayName = "Erf, Erfc: any x → erf odd, erfc = 1 − erf")]
    public void Erf_is_odd_and_erfc_is_one_minus_erf()
    {
        foreach (double x in Grid(0, 8, 2000))
        {
            Assert.Equal(-ErrorFunction.Erf(x), ErrorFunction.Erf(-x));
            // erf (|erf| <= 1) and erfc (<= 2) are each within ~2 ulp of the truth and 1 -/+ erf rounds once more:
            // absolute agreement to 8.9e-16 = 4 ulp(1).
            Assert.True(Math.Abs(ErrorFunction.Erfc(x) - (1 - ErrorFunction.Erf(x))) <= 8.9e-16);
            Assert.True(Math.Abs(ErrorFunction.Erfc(-x) - (1 + ErrorFunction.Erf(x))) <= 8.9e-16);
        }
    }

    [Fact(DisplayName = "Erf, Erfc, Φ, φ: ±∞ → exact limits; NaN → NaN")]
    public void Special_values()
    {
        Assert.Equal(1.0, ErrorFunction.Erf(double.PositiveInfinity));
        Assert.Equal(-1.0, ErrorFunction.Erf(double.NegativeInfinity));
        Assert.Equal(0.0, ErrorFunction.Erfc(double.PositiveInfinity));
        Assert.Equal(2.0, ErrorFunction.Erfc(double.NegativeInfinity));
        Assert.True(double.IsNaN(ErrorFunction.Erf(double.NaN)));
        Assert.True(double.IsNaN(ErrorFunction.Erfc(double.NaN)));
        Assert.True(double.IsNaN(SpecialFunctions.NormalCdf(double.NaN)));
        Assert.True(double.IsNaN(SpecialFunctions.NormalPdf(double.NaN)));
        Assert.True(double.IsNegative(ErrorFunction.Erf(-0.0)) && ErrorFunction.Erf(-0.0) == 0.0);
        Assert.False(double.IsNegative(ErrorFunction.Erf(0.0)));
        Assert.Equal(1.0, ErrorFunction.Erfc(-0.0));
        Assert.Equal(0.5, SpecialFunctions.NormalCdf(-0.0));
        Assert.Equal(0.0, SpecialFunctions.NormalCdf(double.NegativeInfinity));
        Assert.Equal(1.0, SpecialFunctions.NormalCdf(double.PositiveInfinity));
        Assert.Equal(0.0, SpecialFunctions.NormalPdf(double.PositiveInfinity));
        Assert.Equal(0.0, SpecialFunctions.NormalPdf(double.NegativeInfinity));
        Assert.Equal(0.0, ErrorFunction.Erfc(30));
        Assert.Equal(1.0, ErrorFunction.Erf(30));
    }

    [Fact(DisplayName = "Φ, φ: including the lower tail → match the reference")]
    public void Normal_cdf_and_pdf_match_reference_including_lower_tail()
    {
        double maxCdf = 0, maxPdf = 0, worst = 0;
        // Φ(−37.5) ≈ 5e-309 is the last normal double; beyond the tail is subnormal.
        foreach (double u in Grid(-37.5, 8.5, 2300))
        {
            double e = RelErr(SpecialFunctions.NormalCdf(u), HighPrecisionReference.NormalCdf(u));
            if (e > maxCdf) { maxCdf = e; worst = u; }
            maxPdf = Math.Max(maxPdf, RelErr(SpecialFunctions.NormalPdf(u), HighPrecisionReference.NormalPdf(u)));
        }
        _out.WriteLine($"Phi max rel err {maxCdf:E3} at {worst}; phi {maxPdf:E3}");
        Assert.True(maxCdf < ErfTol, $"Phi max rel err {maxCdf:E3} at {worst}");
        Assert.True(maxPdf < ErfTol, $"phi max rel err {maxPdf:E3}");
    }

    [Fact(DisplayName = "Φ, φ: shared helper → bit-identical to the separate ones")]
    public void Shared_cdf_pdf_helper_is_bit_identical()
    {
        foreach (double u in Grid(-40, 40, 3000).Concat(new[] { double.NaN, double.PositiveInfinity, double.NegativeInfinity, -0.0 }))
        {
            SpecialFunctions.NormalCdfAndPdf(u, out double c, out double p);
            Assert.Equal(SpecialFunctions.NormalCdf(u), c);
            Assert.Equal(SpecialFunctions.NormalPdf(u), p);
        }
    }
}

public class ActivationTests
{
    private readonly ITestOutputHelper _out;
    public ActivationTests(ITestOutputHelper output) => _out = output;

    private static readonly ActivationKind[] All = Enum.GetValues<ActivationKind>();
    private static readonly ActivationKind[] Smooth = All.Where(Activations.IsTwiceDifferentiable).ToArray();

    private static IEnumerable<double> Grid(double lo, double hi, int n)
    {
        for (int i = 0; i <= n; i++) yield return lo + (hi - lo) * i / n;
    }

    // Central differences with h = 1e-5·max(1, |u|): truncation error h²/6·sup|f'''| ≲ 2e-11·(1+u²)·O(1)
    // (all third derivatives here are ≤ 2 in size), rounding error ≈ eps·|f(u)|/h ≲ 2.2e-16·|f|/1e-5 = 2e-11·|f|,
    // with |f| ≤ 8 on [−8, 8]. Both are ≤ ~2e-9, far below the 1e-7 bound. The bound is relative to
    // max(|f'|, 1e-3): where f' is tiny (tanh' at |u| = 8 is 4.5e-7 while tanh ≈ 1) the rounding part
    // eps·|f|/h is absolute, so a floor of 1e-3 (giving 1e-10 absolute) is needed and still far above it.
    private static void AssertFd(Func<double, double> f, Func<double, double> df, double u, string what)
    {
        double h = 1e-5 * Math.Max(1.0, Math.Abs(u));
        double fd = (f(u + h) - f(u - h)) / (2 * h);
        double d = df(u);
        double err = Math.Abs(fd - d) / Math.Max(Math.Abs(d), 1e-3);
        Assert.True(err < 1e-7, $"{what} at u = {u}: analytic {d:R}, fd {fd:R}, rel err {err:E2}");
    }

    [Fact(DisplayName = "σ': every activation → matches central differences")]
    public void Derivatives_match_central_differences()
    {
        foreach (var k in All)
        {
            foreach (double u in Grid(-8, 8, 1601))
            {
                if (k == ActivationKind.Relu && Math.Abs(u) < 1e-3) continue; // kink
                AssertFd(x => Activations.Value(k, x), x => Activations.Derivative(k, x), u, $"{Activations.Name(k)}'");
            }
        }
    }

    [Fact(DisplayName = "σ'': every twice-differentiable activation → matches central differences of σ'")]
    public void Second_derivatives_match_central_differences_of_first()
    {
        foreach (var k in Smooth)
        {
            foreach (double u in Grid(-8, 8, 1601))
            {
                AssertFd(x => Activations.Derivative(k, x), x => Activations.SecondDerivative(k, x), u, $"{Activations.Name(k)}''");
            }
        }
    }

    [Fact(DisplayName = "relu: σ'(0) → 0; σ'' requested → refused (no second derivative)")]
    public void Relu_conventions_and_no_second_derivative()
    {
        Assert.Equal(0.0, Activations.Derivative(ActivationKind.Relu, 0.0));
        Assert.Equal(0.0, Activations.Derivative(ActivationKind.Relu, -0.0));
        Assert.Equal(1.0, Activations.Derivative(ActivationKind.Relu, 1e-300));
        Assert.Equal(0.0, Activations.Value(ActivationKind.Relu, -3.0));
        Assert.False(Activations.IsTwiceDifferentiable(ActivationKind.Relu));
        var ex = Assert.Throws<InvalidOperationException>(() => Activations.SecondDerivative(ActivationKind.Relu, 1.0));
        Assert.Contains("relu", ex.Message);
        Assert.Throws<InvalidOperationException>(() => Activations.SupAbsSecondDerivative(ActivationKind.Relu, -1, 1));
        Assert.True(Smooth.Length == 4);
    }

    [Fact(DisplayName = "gelu: any u → the exact erf-based formula")]
    public void Gelu_is_exact_erf_based()
    {
        foreach (double u in new[] { -5.0, -1.0, -0.3, 0.7, 1.0, 3.0 })
        {
            double want = u * HighPrecisionReference.NormalCdf(u);
            // Φ is within ErfTol-level error (~6e-16 measured) and u·Φ rounds once more.
            Assert.True(Math.Abs(Activations.Value(ActivationKind.Gelu, u) - want) <= 2e-15 * Math.Abs(want), $"u = {u}");
        }
        // The tanh approximation differs already in the 4th digit at u = 1.
        double tanhApprox = 0.5 * (1 + Math.Tanh(Math.Sqrt(2 / Math.PI) * (1 + 0.044715)));
        Assert.True(Math.Abs(Activations.Value(ActivationKind.Gelu, 1.0) - tanhApprox) > 1e-4);
    }

    /// <summary>Golden-section search for a maximum of f on [a, b] (f unimodal there).</summary>
    private static (double X, double F) GoldenMax(Func<double, double> f, double a, double b)
    {
        double g = (Math.Sqrt(5) - 1) / 2;
        double c = b - g * (b - a), d = a + g * (b - a);
        double fc = f(c), fd = f(d);
        for (int i = 0; i < 200 && b - a > 1e-15 * Math.Max(1, Math.Abs(a)); i++)
        {
            if (fc >= fd) { b = d; d = c; fd = fc; c = b - g * (b - a); fc = f(c); }
            else { a = c; c = d; fc = fd; d = a + g * (b - a); fd = f(d); }
        }
        double x = fc >= fd ? c : d;
        return (x, Math.Max(Math.Max(fc, fd), Math.Max(f(a), f(b))));
    }

    /// <summary>Dense-grid maximum of f on [lo, hi], refined by golden section around the best grid point.</summary>
    private static (double X, double F) GridMax(Func<double, double> f, double lo, double hi, int n)
    {
        double bestX = lo, bestF = f(lo);
        for (int i = 1; i <= n; i++)
        {
            double x = lo + (hi - lo) * i / n;
            double v = f(x);
            if (v > bestF) { bestF = v; bestX = x; }
        }
        double step = (hi - lo) / n;
        var (gx, gf) = GoldenMax(f, Math.Max(lo, bestX - step), Math.Min(hi, bestX + step));
        return gf > bestF ? (gx, gf) : (bestX, bestF);
    }

    [Fact(DisplayName = "Activations: constants s0, s1, s2 of every kind → their closed forms")]
    public void Constants_have_the_expected_closed_forms()
    {
        // Comparisons to closed forms allow 1-2 ulp (2e-16 to 4e-16 near 1): the constants are one or two
        // roundings away from the exact value (e.g. gelu'(√2) = Φ(√2) + √2·φ(√2) evaluated in double).
        double phi0 = 1 / Math.Sqrt(2 * Math.PI);
        var g = Activations.Constants(ActivationKind.Gelu);
        Assert.Equal(0.0, g.S0);
        Assert.Equal(Math.Sqrt(2), g.S1ArgMax);
        Assert.True(Math.Abs(g.S1 - (HighPrecisionReference.NormalCdf(Math.Sqrt(2)) + Math.Sqrt(2) * HighPrecisionReference.NormalPdf(Math.Sqrt(2)))) < 4e-16);
        Assert.True(Math.Abs(g.S1 - 1.1289) < 1e-4);
        Assert.True(Math.Abs(g.S2!.Value - 2 * phi0) < 2e-16);
        Assert.Equal(0.0, g.S2ArgMax);

        var t = Activations.Constants(ActivationKind.Tanh);
        Assert.Equal(0.0, t.S0);
        Assert.Equal(1.0, t.S1);
        Assert.Equal(0.0, t.S1ArgMax);
        Assert.True(Math.Abs(t.S2!.Value - 4 / (3 * Math.Sqrt(3))) < 4e-16);
        Assert.True(Math.Abs(Math.Tanh(t.S2ArgMax!.Value) - 1 / Math.Sqrt(3)) < 4e-16);

        var s = Activations.Constants(ActivationKind.Softplus);
        Assert.True(Math.Abs(s.S0 - Math.Log(2)) < 2e-16);
        Assert.Equal(1.0, s.S1);
        Assert.Equal(double.PositiveInfinity, s.S1ArgMax);
        Assert.Equal(0.25, s.S2);
        Assert.Equal(0.0, s.S2ArgMax);

        var r = Activations.Constants(ActivationKind.Relu);
        Assert.Equal((0.0, 1.0), (r.S0, r.S1));
        Assert.Null(r.S2);
        Assert.Null(r.S2ArgMax);
        Assert.True(r.S1ArgMax > 0);

        var id = Activations.Constants(ActivationKind.Identity);
        Assert.Equal((0.0, 1.0, 0.0), (id.S0, id.S1, id.S2!.Value));
        foreach (var k in All)
        {
            Assert.Same(Activations.Constants(k), Activations.Constants(k)); // cached
            Assert.False(string.IsNullOrWhiteSpace(Activations.Constants(k).Derivation));
            _out.WriteLine($"{Activations.Name(k)}: s0={Activations.Constants(k).S0:R} s1={Activations.Constants(k).S1:R} @ {Activations.Constants(k).S1ArgMax:R}, " +
                           $"s2={Activations.Constants(k).S2:R} @ {Activations.Constants(k).S2ArgMax:R}");
        }
    }

    // Grid step 1e-3 on [−20, 20] then golden section: at an interior smooth maximum the refined value agrees
    // with the true sup to O(eps) (the argmax only to ~√eps, so the argmax is compared with 1e-6).
    // Softplus' sup 1 is a limit at +∞: on [−20, 20] it is 1/(1 + e^{−20}) = 1 − 2.06e-9, hence 3e-9 there.
    [Fact(DisplayName = "activation constants: grid and golden-section search on [−20, 20] → agree")]
    public void Constants_agree_with_dense_grid_and_golden_section_on_minus20_20()
    {
        foreach (var k in All)
        {
            var c = Activations.Constants(k);
            Func<double, double> a1 = u => Math.Abs(Activations.Derivative(k, u));
            var (x1, f1) = GridMax(a1, -20, 20, 40000);
            double tol1 = k == ActivationKind.Softplus ? 3e-9 : 1e-15;
            Assert.True(Math.Abs(f1 - c.S1) <= tol1 && f1 <= c.S1 * (1 + 1e-15), $"{k} s1: grid {f1:R} vs {c.S1:R}");
            if (k == ActivationKind.Gelu) Assert.True(Math.Abs(x1 - c.S1ArgMax) < 1e-6, $"gelu argmax {x1}");
            Assert.Equal(Math.Abs(Activations.Value(k, 0.0)), c.S0);
            if (c.S2 is double s2)
            {
                Func<double, double> a2 = u => Math.Abs(Activations.SecondDerivative(k, u));
                var (x2, f2) = GridMax(a2, -20, 20, 40000);
                Assert.True(Math.Abs(f2 - s2) <= 1e-15 && f2 <= s2 * (1 + 1e-15), $"{k} s2: grid {f2:R} vs {s2:R}");
                if (k != ActivationKind.Identity) Assert.True(Math.Abs(Math.Abs(x2) - c.S2ArgMax!.Value) < 1e-6, $"{k} s2 argmax {x2}");
            }
        }
    }

    [Fact(DisplayName = "gelu: critical points of σ' and σ'' → where derived")]
    public void Gelu_critical_points_are_where_derived()
    {
        // gelu'' = φ(2 − u²) vanishes at ±√2 and gelu''' = φ(u³ − 4u) at 0, ±2 (checked by differences).
        foreach (double u in new[] { Math.Sqrt(2), -Math.Sqrt(2) })
            Assert.True(Math.Abs(Activations.SecondDerivative(ActivationKind.Gelu, u)) < 1e-16);
        foreach (double u in new[] { 0.0, 2.0, -2.0 })
        {
            double h = 1e-5;
            double d3 = (Activations.SecondDerivative(ActivationKind.Gelu, u + h) - Activations.SecondDerivative(ActivationKind.Gelu, u - h)) / (2 * h);
            Assert.True(Math.Abs(d3) < 1e-9, $"gelu''' at {u} = {d3}");
        }
        Assert.True(Math.Abs(Activations.Derivative(ActivationKind.Gelu, Activations.GeluMinPoint)) < 1e-16);
        Assert.InRange(Activations.GeluMinPoint, -0.76, -0.75);
    }

    public static IEnumerable<object[]> Intervals() => new[]
    {
        new object[] { -20.0, 20.0 }, new object[] { -3.0, -1.0 }, new object[] { -1.0, 0.5 }, new object[] { 0.1, 1.2 },
        new object[] { 1.0, 3.0 }, new object[] { 2.5, 7.0 }, new object[] { -0.9, -0.6 }, new object[] { -6.0, -1.8 },
        new object[] { 0.3, 0.3 }, new object[] { -0.2, 0.9 }, new object[] { 1.5, 1.6 },
    };

    // Grid of 20000 cells + golden-section refinement of the best cell: equality to 1e-14 relative.
    [Theory(DisplayName = "SupAbsDerivative on intervals: any interval → matches a grid search")]
    [MemberData(nameof(Intervals))]
    public void SupAbs_on_intervals_match_grid_search(double lo, double hi)
    {
        foreach (var k in All)
        {
            Check(u => Math.Abs(Activations.Derivative(k, u)), Activations.SupAbsDerivative(k, lo, hi), $"{k} |σ'|");
            Check(u => Math.Abs(Activations.Value(k, u)), Activations.SupAbsValue(k, lo, hi), $"{k} |σ|");
            if (Activations.IsTwiceDifferentiable(k))
                Check(u => Math.Abs(Activations.SecondDerivative(k, u)), Activations.SupAbsSecondDerivative(k, lo, hi), $"{k} |σ''|");
        }

        void Check(Func<double, double> f, double sup, string what)
        {
            var (_, g) = GridMax(f, lo, hi, 20000);
            Assert.True(g <= sup * (1 + 1e-14) + 1e-300 && g >= sup * (1 - 1e-14), $"{what} on [{lo}, {hi}]: exact {sup:R} grid {g:R}");
        }
    }

    [Fact(DisplayName = "SupAbsDerivative: infinite endpoints → accepted; bad intervals → rejected")]
    public void SupAbs_accepts_infinite_endpoints_and_rejects_bad_intervals()
    {
        foreach (var k in All)
            Assert.Equal(Activations.Constants(k).S1, Activations.SupAbsDerivative(k, double.NegativeInfinity, double.PositiveInfinity));
        foreach (var k in Smooth)
            Assert.Equal(Activations.Constants(k).S2, Activations.SupAbsSecondDerivative(k, double.NegativeInfinity, double.PositiveInfinity));
        Assert.Equal(1.0, Activations.SupAbsValue(ActivationKind.Tanh, double.NegativeInfinity, 0));
        Assert.Throws<ArgumentException>(() => Activations.SupAbsDerivative(ActivationKind.Gelu, 1, 0));
        // a range that is not a number (overflowed pre-activations) bounds nothing: NaN, which the comparisons read as no finite bound
        Assert.True(double.IsNaN(Activations.SupAbsValue(ActivationKind.Gelu, double.NaN, 0)));
        Assert.True(double.IsNaN(Activations.SupAbsSecondDerivative(ActivationKind.Gelu, 0, double.NaN)));
    }

    private static readonly double[] Specials =
        Enumerable.Range(-4000, 8001).Select(i => i * 0.01 + 1e-9 * i)
            .Concat(new[] { 0.0, -0.0, 800.0, -800.0, 1e300, -1e300, 1e-300, double.PositiveInfinity, double.NegativeInfinity, double.NaN })
            .ToArray();

    [Fact(DisplayName = "Activations.Evaluate: any u → equals Value and Derivative exactly")]
    public void Evaluate_matches_Value_and_Derivative_exactly()
    {
        var v = new double[Specials.Length];
        var d = new double[Specials.Length];
        var uf = Specials.Select(x => (float)x).ToArray();
        var vf = new float[uf.Length];
        var df = new float[uf.Length];
        foreach (var k in All)
        {
            Activations.Evaluate(k, Specials, v, d);
            Activations.Evaluate(k, uf, vf, df);
            for (int i = 0; i < Specials.Length; i++)
            {
                Assert.Equal(BitConverter.DoubleToInt64Bits(Activations.Value(k, Specials[i])), BitConverter.DoubleToInt64Bits(v[i]));
                Assert.Equal(BitConverter.DoubleToInt64Bits(Activations.Derivative(k, Specials[i])), BitConverter.DoubleToInt64Bits(d[i]));
                Assert.Equal((float)Activations.Value(k, uf[i]), vf[i]);
                Assert.Equal((float)Activations.Derivative(k, uf[i]), df[i]);
                if (!double.IsNaN(Specials[i]))
                {
                    Assert.False(double.IsNaN(v[i]), $"{k} value NaN at {Specials[i]}");
                    Assert.False(double.IsNaN(d[i]), $"{k} derivative NaN at {Specials[i]}");
                }
            }
        }
        Assert.Throws<ArgumentException>(() => Activations.Evaluate(ActivationKind.Gelu, new double[3], new double[2], new double[3]));
        Assert.Throws<ArgumentException>(() => Activations.Evaluate(ActivationKind.Gelu, new float[3], new float[3], new float[4]));
    }

    [Fact(DisplayName = "softplus: extreme arguments → finite and accurate")]
    public void Softplus_is_stable_at_extremes()
    {
        Assert.Equal(800.0, Activations.Value(ActivationKind.Softplus, 800));
        Assert.Equal(0.0, Activations.Value(ActivationKind.Softplus, -800)); // e^-800 underflows
        Assert.Equal(1.0, Activations.Derivative(ActivationKind.Softplus, 800));
        Assert.Equal(0.0, Activations.Derivative(ActivationKind.Softplus, -800));
        Assert.Equal(0.0, Activations.SecondDerivative(ActivationKind.Softplus, 800));
        Assert.Equal(0.0, Activations.SecondDerivative(ActivationKind.Softplus, -800));
        // u ≪ 0: ln(1 + eᵘ) = eᵘ(1 − eᵘ/2 + …), so relative accuracy must survive (no 1 + eᵘ rounding to 1).
        // Here 1 + eᵘ == 1 and the log1p branch returns eᵘ itself: only Math.Exp's rounding (< 1 ulp) remains.
        foreach (double u in new[] { -40.0, -100.0, -700.0 })
            Assert.True(Math.Abs(Activations.Value(ActivationKind.Softplus, u) / Math.Exp(u) - 1) < 4e-16, $"u = {u}");
        Assert.True(Math.Abs(Activations.Value(ActivationKind.Softplus, 30) - (30 + Math.Exp(-30))) < 1e-14);
        Assert.True(Math.Abs(Activations.Derivative(ActivationKind.Softplus, -50) / Math.Exp(-50) - 1) < 4e-16);
    }

    [Fact(DisplayName = "tanh': tails → relative accuracy kept")]
    public void Tanh_derivative_keeps_relative_accuracy_in_tails()
    {
        // sech²(u) = 4e^{−2u}/(1 + e^{−2u})² = 4e^{−2u}(1 − 2e^{−2u} + …), and e^{−20} ≈ 2e-9 < 1e-8;
        // 1 − tanh² would give exactly 0 for u > 19.
        foreach (double u in new[] { 10.0, 20.0, 100.0 })
            Assert.True(Math.Abs(Activations.Derivative(ActivationKind.Tanh, u) / (4 * Math.Exp(-2 * u)) - 1) < 1e-8);
    }

    [Fact(DisplayName = "Activations.Parse, Name: every name → round trip; unknown name → error")]
    public void Parse_and_Name_round_trip_and_errors()
    {
        foreach (var k in All)
        {
            Assert.Equal(k, Activations.Parse(Activations.Name(k)));
            Assert.Equal(k, Activations.Parse(Activations.Name(k).ToUpperInvariant()));
        }
        Assert.Equal(ActivationKind.Gelu, Activations.Parse("GeLU"));
        Assert.Equal(new[] { "gelu", "tanh", "softplus", "relu", "identity" }, All.Select(Activations.Name));
        var ex = Assert.Throws<ArgumentException>(() => Activations.Parse("swish"));
        foreach (var n in new[] { "gelu", "tanh", "softplus", "relu", "identity" }) Assert.Contains(n, ex.Message);
        Assert.Throws<ArgumentException>(() => Activations.Parse(""));
        Assert.Throws<ArgumentNullException>(() => Activations.Parse(null!));
        Assert.DoesNotContain("approximation", ex.Message);
    }

    [Fact(DisplayName = "Activations.Parse: 'gelu_tanh', 'gelu-tanh' (PyTorch's approximate='tanh') → error saying gelu is the exact, erf-based GELU and the tanh approximation is not supported")]
    public void Parse_names_the_exact_gelu_for_its_tanh_approximation()
    {
        foreach (var name in new[] { "gelu_tanh", "gelu-tanh", "GELU(approximate='tanh')" })
        {
            var ex = Assert.Throws<ArgumentException>(() => Activations.Parse(name));
            Assert.Contains("erf-based", ex.Message);
            Assert.Contains("tanh approximation is not supported", ex.Message);
        }
    }
}
