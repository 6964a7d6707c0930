using System.Globalization;
using System.Runtime.CompilerServices;

namespace ResOdeProofs.Numerics;

/// <summary>Pointwise activation σ used in the residual blocks h_k = h_{k-1} + (1/L)·V_k·σ(W_k·h_{k-1}).</summary>
public enum ActivationKind
{
    /// <summary>gelu(u) = u·Φ(u), Φ the standard normal distribution function (exact, erf-based).</summary>
    Gelu,
    /// <summary>tanh(u).</summary>
    Tanh,
    /// <summary>softplus(u) = ln(1 + eᵘ).</summary>
    Softplus,
    /// <summary>relu(u) = max(u, 0).</summary>
    Relu,
    /// <summary>identity(u) = u.</summary>
    Identity,
}

/// <summary>
/// Global constants of an activation σ on ℝ: s0 = |σ(0)|, s1 = sup|σ'|, s2 = sup|σ''| (null when σ'' does not
/// exist as a bounded function: relu), with the points where the sups are attained and how they were obtained.
/// </summary>
/// <param name="S0">s0 = |σ(0)|.</param>
/// <param name="S1">s1 = sup_u |σ'(u)|.</param>
/// <param name="S2">s2 = sup_u |σ''(u)|, or null when σ is not C² with bounded σ'' (relu).</param>
/// <param name="S1ArgMax">A point u with |σ'(u)| = s1; ±∞ when the sup is only approached in that limit.
/// When the sup is attained on a whole set, a representative is given (see <paramref name="Derivation"/>).</param>
/// <param name="S2ArgMax">A point u with |σ''(u)| = s2 (the non-negative one when ±u both attain it), or null with S2.</param>
/// <param name="Derivation">How the values were obtained (critical points used and limits at ±∞).</param>
public sealed record ActivationConstants(double S0, double S1, double? S2, double S1ArgMax, double? S2ArgMax, string Derivation);

/// <summary>Values, derivatives and Lipschitz-type constants of the supported activations.</summary>
public static class Activations
{
    private static readonly string[] Names = { "gelu", "tanh", "softplus", "relu", "identity" };

    /// <summary>Critical point of tanh'' : tanh''' = 2·sech²(u)·(3·tanh²(u) − 1) = 0 ⇔ u = ±atanh(1/√3) = ±½·ln(2 + √3).</summary>
    private static readonly double TanhS2Point = 0.5 * PortableMath.Log(2.0 + Math.Sqrt(3.0));

    /// <summary>Unique zero of gelu'(u) = Φ(u) + u·φ(u) (the minimum of gelu, u ≈ −0.7518), by Newton's method with gelu''.</summary>
    internal static readonly double GeluMinPoint = SolveGeluMin();

    private static readonly ActivationConstants[] ConstantsCache = BuildConstants();

    // ------------------------------------------------------------------------------------------
    // Names
    // ------------------------------------------------------------------------------------------

    /// <summary>Parses "gelu", "tanh", "softplus", "relu" or "identity" (case-insensitive).</summary>
    /// <exception cref="ArgumentException">The name is none of the valid names (they are listed in the message).</exception>
    public static ActivationKind Parse(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        for (int i = 0; i < Names.Length; i++)
        {
            if (string.Equals(name, Names[i], StringComparison.OrdinalIgnoreCase))
            {
                return (ActivationKind)i;
            }
        }
        // the names a PyTorch user writes for the tanh approximation of GELU: say that `gelu` is the exact one
        string hint = name.Contains("gelu", StringComparison.OrdinalIgnoreCase)
            ? " 'gelu' is the exact, erf-based GELU (PyTorch's approximate='none'); the tanh approximation is not supported."
            : "";
        throw new ArgumentException(
            $"Unknown activation '{name}'. Valid names: {string.Join(", ", Names)}.{hint}", nameof(name));
    }

    /// <summary>Lower-case name of the activation ("gelu", "tanh", "softplus", "relu", "identity").</summary>
    public static string Name(ActivationKind k) => Names[Index(k)];

    /// <summary>True when σ is C² with bounded σ'' (all kinds except relu).</summary>
    public static bool IsTwiceDifferentiable(ActivationKind k) => Index(k) != (int)ActivationKind.Relu;

    private static int Index(ActivationKind k)
    {
        int i = (int)k;
        if ((uint)i >= (uint)Names.Length)
        {
            throw new ArgumentOutOfRangeException(nameof(k), k, "Unknown activation kind.");
        }
        return i;
    }

    // ------------------------------------------------------------------------------------------
    // Scalar kernels (shared by the scalar API and Evaluate, so both agree bit for bit)
    // ------------------------------------------------------------------------------------------

    /// <summary>ln(1 + x) for x ≥ 0 (small x without cancellation: log(w)·x/(w − 1), w = 1 + x).</summary>
    private static double Log1p(double x)
    {
        double w = 1.0 + x;
        if (w == 1.0)
        {
            return x;
        }
        return PortableMath.Log(w) * (x / (w - 1.0));
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Gelu(double u, out double value, out double derivative, out double pdf)
    {
        SpecialFunctions.NormalCdfAndPdf(u, out double cdf, out pdf);
        // Where Φ or φ underflows the products below are exactly ±0, written out so that ±∞ gives the limits.
        value = cdf == 0.0 ? -0.0 : u * cdf;
        derivative = pdf == 0.0 ? cdf : cdf + u * pdf;
    }

    /// <summary>
    /// u·Φ(u) alone: Φ from <see cref="SpecialFunctions.NormalCdf"/>, bit-identical to the Φ of
    /// <see cref="SpecialFunctions.NormalCdfAndPdf"/> (the same operations), so the value equals <see cref="Gelu"/>'s
    /// bit for bit; it skips φ's exp(−u²/2) where Φ does not need it (|u| ≤ 0.46875·√2).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static double GeluValue(double u)
    {
        double cdf = SpecialFunctions.NormalCdf(u);
        return cdf == 0.0 ? -0.0 : u * cdf;
    }

    /// <summary>
    /// value[i] = σ(u[i]) elementwise (no derivative), bit-identical to <see cref="Value(ActivationKind, double)"/>:
    /// the same scalar code with the choice of σ made once per call instead of once per entry (GELU's in vector lanes,
    /// <see cref="GeluLanes"/>: the same operations per entry).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Values(ActivationKind k, ReadOnlySpan<double> u, Span<double> value)
    {
        if (value.Length != u.Length) throw new ArgumentException("u and value must have the same length");
        switch (k)
        {
            case ActivationKind.Gelu:
                GeluLanes.Values(u, value); // the bits of GeluValue, four entries at a time
                break;
            case ActivationKind.Relu:
                for (int i = 0; i < u.Length; i++) value[i] = ReluValue(u[i]);
                break;
            case ActivationKind.Identity:
                u.CopyTo(value);
                break;
            default:
                for (int i = 0; i < u.Length; i++) value[i] = Value(k, u[i]);
                break;
        }
    }

    /// <summary>t = tanh(u) and sech²(u) = 1 − t², the latter without cancellation for large |u|.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void TanhSech2(double u, out double t, out double sech2)
    {
        double a = Math.Abs(u);
        if (a < 0.5)
        {
            t = PortableMath.Tanh(u);
            sech2 = (1.0 - t) * (1.0 + t);
            return;
        }
        double e = PortableMath.Exp(-2.0 * a);   // ≤ e⁻¹; 0 for large a
        double onePlus = 1.0 + e;
        t = Math.CopySign((1.0 - e) / onePlus, u);
        sech2 = 4.0 * e / (onePlus * onePlus);
    }

    /// <summary>softplus and its derivative from the single exponential e = exp(−|u|).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void SoftplusKernel(double u, out double value, out double derivative, out double e)
    {
        e = PortableMath.Exp(-Math.Abs(u));
        double onePlus = 1.0 + e;
        value = (u > 0.0 ? u : 0.0) + Log1p(e);
        derivative = u >= 0.0 ? 1.0 / onePlus : e / onePlus;
        if (double.IsNaN(u))
        {
            value = u;
            derivative = u;
        }
    }

    private static double ReluValue(double u) => Math.Max(u, 0.0);

    private static double ReluDerivative(double u) => u > 0.0 ? 1.0 : (u <= 0.0 ? 0.0 : double.NaN);

    /// <summary>
    /// σ(u). gelu: u·Φ(u); tanh: tanh(u); softplus: ln(1 + eᵘ) = max(u, 0) + ln(1 + e^{−|u|}) (no overflow,
    /// accurate for u ≪ 0); relu: max(u, 0); identity: u.
    /// </summary>
    public static double Value(ActivationKind k, double u)
    {
        switch (k)
        {
            case ActivationKind.Gelu:
                return GeluValue(u);
            case ActivationKind.Tanh:
                TanhSech2(u, out double t, out _);
                return t;
            case ActivationKind.Softplus:
                SoftplusKernel(u, out double sv, out _, out _);
                return sv;
            case ActivationKind.Relu:
                return ReluValue(u);
            case ActivationKind.Identity:
                return u;
            default:
                throw new ArgumentOutOfRangeException(nameof(k), k, "Unknown activation kind.");
        }
    }

    /// <summary>
    /// σ'(u). gelu: Φ(u) + u·φ(u); tanh: sech²(u) = 1 − tanh²(u); softplus: logistic 1/(1 + e^{−u});
    /// relu: 1 for u &gt; 0 and 0 for u ≤ 0 (the value 0 is chosen at the kink u = 0); identity: 1.
    /// </summary>
    public static double Derivative(ActivationKind k, double u)
    {
        switch (k)
        {
            case ActivationKind.Gelu:
                Gelu(u, out _, out double gd, out _);
                return gd;
            case ActivationKind.Tanh:
                TanhSech2(u, out _, out double s);
                return s;
            case ActivationKind.Softplus:
                SoftplusKernel(u, out _, out double sd, out _);
                return sd;
            case ActivationKind.Relu:
                return ReluDerivative(u);
            case ActivationKind.Identity:
                return double.IsNaN(u) ? u : 1.0;
            default:
                throw new ArgumentOutOfRangeException(nameof(k), k, "Unknown activation kind.");
        }
    }

    /// <summary>
    /// derivative[i] = σ'(u[i]) elementwise, bit-identical to <see cref="Derivative(ActivationKind, double)"/> (GELU's in
    /// vector lanes, <see cref="GeluLanes.Derivatives"/>: the same operations per entry).
    /// </summary>
    public static void Derivatives(ActivationKind k, ReadOnlySpan<double> u, Span<double> derivative)
    {
        if (derivative.Length != u.Length) throw new ArgumentException("u and derivative must have the same length");
        if (k == ActivationKind.Gelu) { GeluLanes.Derivatives(u, derivative); return; }
        for (int i = 0; i < u.Length; i++) derivative[i] = Derivative(k, u[i]);
    }

    /// <summary>
    /// σ''(u). gelu: φ(u)·(2 − u²); tanh: −2·tanh(u)·sech²(u); softplus: s(1 − s) with s the logistic,
    /// = e^{−|u|}/(1 + e^{−|u|})²; identity: 0.
    /// </summary>
    /// <exception cref="InvalidOperationException">relu, whose second derivative is not a bounded function.</exception>
    public static double SecondDerivative(ActivationKind k, double u)
    {
        switch (k)
        {
            case ActivationKind.Gelu:
            {
                double pdf = SpecialFunctions.NormalPdf(u);
                return pdf == 0.0 ? (double.IsNaN(u) ? u : 0.0) : pdf * (2.0 - u * u);
            }
            case ActivationKind.Tanh:
                TanhSech2(u, out double t, out double s);
                return -2.0 * t * s;
            case ActivationKind.Softplus:
            {
                double e = PortableMath.Exp(-Math.Abs(u));
                double onePlus = 1.0 + e;
                return e / (onePlus * onePlus);
            }
            case ActivationKind.Relu:
                throw new InvalidOperationException(
                    "relu has no second derivative as a bounded function (σ'' is a Dirac mass at 0); " +
                    "use an activation with IsTwiceDifferentiable == true (gelu, tanh, softplus, identity).");
            case ActivationKind.Identity:
                return double.IsNaN(u) ? u : 0.0;
            default:
                throw new ArgumentOutOfRangeException(nameof(k), k, "Unknown activation kind.");
        }
    }

    // ------------------------------------------------------------------------------------------
    // Hot path
    // ------------------------------------------------------------------------------------------

    /// <summary>
    /// Hot path: value[i] = σ(u[i]) and derivative[i] = σ'(u[i]) elementwise; all spans have the same length;
    /// no allocation. Bit-identical to <see cref="Value"/> and <see cref="Derivative"/>; gelu evaluates
    /// Φ and φ from one shared exp(−u²/2), tanh and softplus use one exponential per element.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Evaluate(ActivationKind k, ReadOnlySpan<double> u, Span<double> value, Span<double> derivative)
    {
        CheckLengths(u.Length, value.Length, derivative.Length);
        int n = u.Length;
        switch (k)
        {
            case ActivationKind.Gelu:
                // four entries at a time in lanes, the same operations per entry (GeluLanes), the rest one by one
                for (int i = GeluLanes.ValuesAndDerivatives(u, value, derivative); i < n; i++)
                {
                    Gelu(u[i], out value[i], out derivative[i], out _);
                }
                break;
            case ActivationKind.Tanh:
                for (int i = 0; i < n; i++)
                {
                    TanhSech2(u[i], out value[i], out derivative[i]);
                }
                break;
            case ActivationKind.Softplus:
                for (int i = 0; i < n; i++)
                {
                    SoftplusKernel(u[i], out value[i], out derivative[i], out _);
                }
                break;
            case ActivationKind.Relu:
                for (int i = 0; i < n; i++)
                {
                    double x = u[i];
                    value[i] = ReluValue(x);
                    derivative[i] = ReluDerivative(x);
                }
                break;
            case ActivationKind.Identity:
                for (int i = 0; i < n; i++)
                {
                    double x = u[i];
                    value[i] = x;
                    derivative[i] = double.IsNaN(x) ? x : 1.0;
                }
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(k), k, "Unknown activation kind.");
        }
    }

    /// <summary>
    /// Single-precision overload of <see cref="Evaluate(ActivationKind, ReadOnlySpan{double}, Span{double}, Span{double})"/>:
    /// computes σ and σ' in double precision and rounds each result to float.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Evaluate(ActivationKind k, ReadOnlySpan<float> u, Span<float> value, Span<float> derivative)
    {
        CheckLengths(u.Length, value.Length, derivative.Length);
        Index(k);
        int n = u.Length;
        for (int i = 0; i < n; i++)
        {
            double v, d;
            double x = u[i];
            switch (k)
            {
                case ActivationKind.Gelu: Gelu(x, out v, out d, out _); break;
                case ActivationKind.Tanh: TanhSech2(x, out v, out d); break;
                case ActivationKind.Softplus: SoftplusKernel(x, out v, out d, out _); break;
                case ActivationKind.Relu: v = ReluValue(x); d = ReluDerivative(x); break;
                default: v = x; d = double.IsNaN(x) ? x : 1.0; break;
            }
            value[i] = (float)v;
            derivative[i] = (float)d;
        }
    }

    private static void CheckLengths(int n, int nv, int nd)
    {
        if (nv != n || nd != n)
        {
            throw new ArgumentException(
                $"Spans must have the same length (input {n}, value {nv}, derivative {nd}).");
        }
    }

    // ------------------------------------------------------------------------------------------
    // Constants
    // ------------------------------------------------------------------------------------------

    /// <summary>
    /// s0 = |σ(0)|, s1 = sup_ℝ |σ'|, s2 = sup_ℝ |σ''| (null for relu), computed (once, cached) by evaluating
    /// |σ'| and |σ''| at their analytically derived critical points and at ±∞.
    /// </summary>
    public static ActivationConstants Constants(ActivationKind k) => ConstantsCache[Index(k)];

    /// <summary>Interior critical points of σ' (zeros of σ''), in increasing order.</summary>
    private static double[] CriticalPointsOfDerivative(ActivationKind k) => k switch
    {
        // gelu'' = φ(u)(2 − u²) = 0 ⇔ u = ±√2
        ActivationKind.Gelu => new[] { -Math.Sqrt(2.0), Math.Sqrt(2.0) },
        // tanh'' = −2·tanh·sech² = 0 ⇔ u = 0
        ActivationKind.Tanh => new[] { 0.0 },
        // softplus'' = s(1 − s) > 0, relu' nondecreasing, identity' constant: no interior extremum needed
        _ => Array.Empty<double>(),
    };

    /// <summary>Interior critical points of σ'' (zeros of σ'''), in increasing order.</summary>
    private static double[] CriticalPointsOfSecondDerivative(ActivationKind k) => k switch
    {
        // gelu''' = φ(u)(u³ − 4u) = 0 ⇔ u ∈ {−2, 0, 2}
        ActivationKind.Gelu => new[] { -2.0, 0.0, 2.0 },
        // tanh''' = 2 sech²(3 tanh² − 1) = 0 ⇔ u = ±atanh(1/√3)
        ActivationKind.Tanh => new[] { -TanhS2Point, TanhS2Point },
        // softplus''' = s(1 − s)(1 − 2s) = 0 ⇔ u = 0
        ActivationKind.Softplus => new[] { 0.0 },
        _ => Array.Empty<double>(),
    };

    /// <summary>Interior critical points of σ (zeros of σ'), in increasing order.</summary>
    private static double[] CriticalPointsOfValue(ActivationKind k) => k switch
    {
        ActivationKind.Gelu => new[] { GeluMinPoint },
        _ => Array.Empty<double>(), // tanh, softplus, relu, identity are monotone
    };

    /// <summary>
    /// sup_{u∈[lo,hi]} |σ'(u)|, exact: the maximum of |σ'| over lo, hi and the critical points of σ' inside (lo, hi)
    /// (gelu: ±√2; tanh: 0; softplus, relu, identity: σ' monotone). Infinite endpoints are allowed (limits are used).
    /// </summary>
    public static double SupAbsDerivative(ActivationKind k, double lo, double hi) =>
        SupAbs(k, lo, hi, CriticalPointsOfDerivative(k), Derivative);

    /// <summary>
    /// sup_{u∈[lo,hi]} |σ''(u)|, exact: the maximum of |σ''| over lo, hi and the critical points of σ'' inside (lo, hi)
    /// (gelu: 0, ±2; tanh: ±atanh(1/√3); softplus: 0; identity: σ'' = 0).
    /// </summary>
    /// <exception cref="InvalidOperationException">relu (σ'' is not a bounded function).</exception>
    public static double SupAbsSecondDerivative(ActivationKind k, double lo, double hi)
    {
        if (!IsTwiceDifferentiable(k))
        {
            SecondDerivative(k, 0.0); // throws the explanatory InvalidOperationException
        }
        return SupAbs(k, lo, hi, CriticalPointsOfSecondDerivative(k), SecondDerivative);
    }

    /// <summary>
    /// The range a sup over a measured range is taken on: [lo, hi] with its ends clamped to ±10¹⁵⁰ (a range reaching ±∞ is the
    /// line; σ's derivatives there are limits, which ±10¹⁵⁰ gives without ∞·0), or the whole line when the measurement found
    /// no number (lo > hi, or NaN: the states were not finite, as on a replay that left the finite numbers). An upper value
    /// either way; <see cref="SupAbsDerivative"/> and <see cref="SupAbsSecondDerivative"/> themselves refuse such a range.
    /// </summary>
    public static (double Lo, double Hi) MeasuredRange(double lo, double hi) =>
        lo <= hi ? (Math.Clamp(lo, -1e150, 1e150), Math.Clamp(hi, -1e150, 1e150)) : (-1e150, 1e150);

    /// <summary><see cref="SupAbsDerivative"/> over <see cref="MeasuredRange"/>(lo, hi).</summary>
    public static double SupAbsDerivativeMeasured(ActivationKind k, double lo, double hi)
    {
        var (a, b) = MeasuredRange(lo, hi);
        return SupAbsDerivative(k, a, b);
    }

    /// <summary><see cref="SupAbsSecondDerivative"/> over <see cref="MeasuredRange"/>(lo, hi).</summary>
    public static double SupAbsSecondDerivativeMeasured(ActivationKind k, double lo, double hi)
    {
        var (a, b) = MeasuredRange(lo, hi);
        return SupAbsSecondDerivative(k, a, b);
    }

    /// <summary>
    /// sup_{u∈[lo,hi]} |σ(u)| (for bounding ‖σ(Wh)‖): the maximum of |σ| over lo, hi and the critical points of σ
    /// inside (lo, hi) (gelu: its minimum at u ≈ −0.7518 where Φ(u) + u·φ(u) = 0; the others are monotone).
    /// </summary>
    public static double SupAbsValue(ActivationKind k, double lo, double hi) =>
        SupAbs(k, lo, hi, CriticalPointsOfValue(k), Value);

    private static double SupAbs(ActivationKind k, double lo, double hi, double[] critical, Func<ActivationKind, double, double> f)
    {
        Index(k);
        // a range that is not a number (the pre-activations of weights whose products overflowed) bounds nothing: NaN, which
        // every comparison reads as no finite bound (its result says so), not an exception that ends the check as an error
        if (double.IsNaN(lo) || double.IsNaN(hi)) return double.NaN;
        if (lo > hi)
        {
            throw new ArgumentException($"Need lo <= hi (got lo = {lo.ToString("R", CultureInfo.InvariantCulture)}, " +
                                        $"hi = {hi.ToString("R", CultureInfo.InvariantCulture)}).");
        }
        double best = Math.Max(Math.Abs(f(k, lo)), Math.Abs(f(k, hi)));
        foreach (double c in critical)
        {
            if (c > lo && c < hi)
            {
                best = Math.Max(best, Math.Abs(f(k, c)));
            }
        }
        return best;
    }

    private static double SolveGeluMin()
    {
        // gelu'(u) = Φ(u) + u φ(u) changes sign once (gelu' < 0 far left, gelu'(0) = ½); Newton from −0.75.
        double u = -0.75;
        for (int it = 0; it < 60; it++)
        {
            double step = Derivative(ActivationKind.Gelu, u) / SecondDerivative(ActivationKind.Gelu, u);
            u -= step;
            if (Math.Abs(step) <= 1e-17)
            {
                break;
            }
        }
        return u;
    }

    /// <summary>Max of |f| over candidate points in order (the first maximal one wins, so finite points listed first win ties).</summary>
    private static (double Sup, double ArgMax) MaxAbs(Func<double, double> f, IEnumerable<double> candidates)
    {
        double sup = double.NegativeInfinity, arg = double.NaN;
        foreach (double c in candidates)
        {
            double v = Math.Abs(f(c));
            if (v > sup)
            {
                sup = v;
                arg = c;
            }
        }
        return (sup, arg);
    }

    private static string F(double x) => x.ToString("R", CultureInfo.InvariantCulture);

    private static ActivationConstants[] BuildConstants()
    {
        var result = new ActivationConstants[Names.Length];
        double[] limits = { double.NegativeInfinity, double.PositiveInfinity };
        foreach (ActivationKind k in Enum.GetValues<ActivationKind>())
        {
            double s0 = Math.Abs(Value(k, 0.0));
            // Extra finite representatives where |σ'| is constant on a set (relu: u > 0; identity: everywhere).
            double[] extra1 = k == ActivationKind.Relu ? new[] { 1.0 } : k == ActivationKind.Identity ? new[] { 0.0 } : Array.Empty<double>();
            double[] extra2 = k == ActivationKind.Identity ? new[] { 0.0 } : Array.Empty<double>();
            var (s1, a1) = MaxAbs(u => Derivative(k, u), extra1.Concat(CriticalPointsOfDerivative(k)).Concat(limits));
            double? s2 = null, a2 = null;
            if (IsTwiceDifferentiable(k))
            {
                var (v2, p2) = MaxAbs(u => SecondDerivative(k, u), extra2.Concat(CriticalPointsOfSecondDerivative(k).OrderBy(Math.Abs)).Concat(limits));
                s2 = v2;
                a2 = Math.Abs(p2); // |σ''| is even for gelu, tanh, softplus: report the non-negative point
            }
            string how = k switch
            {
                ActivationKind.Gelu =>
                    $"s0 = |gelu(0)| = 0. gelu'' = φ(u)(2 − u²) vanishes at ±√2, so s1 = max(|gelu'(±√2)|, limits gelu'(−∞) = 0, gelu'(+∞) = 1) " +
                    $"= Φ(√2) + √2·φ(√2) = {F(s1)} at u = √2. gelu''' = φ(u)(u³ − 4u) vanishes at 0, ±2, so s2 = max(|gelu''(0)| = 2φ(0), " +
                    $"|gelu''(±2)| = 2φ(2), limits 0) = {F(s2!.Value)} at u = 0.",
                ActivationKind.Tanh =>
                    $"s0 = 0. tanh'' = −2 tanh·sech² vanishes only at 0, so s1 = sech²(0) = {F(s1)} at u = 0. " +
                    $"tanh''' = 2 sech²(3 tanh² − 1) vanishes at ±atanh(1/√3) = ±½ln(2 + √3) = ±{F(TanhS2Point)}, where " +
                    $"|tanh''| = 2·(1/√3)·(2/3) = 4/(3√3); limits 0; s2 = {F(s2!.Value)} (attained at ±u, + reported).",
                ActivationKind.Softplus =>
                    $"s0 = softplus(0) = ln 2 = {F(s0)}. softplus' = logistic is increasing (softplus'' = s(1 − s) > 0), so " +
                    $"s1 = limit at +∞ = {F(s1)}, not attained (argmax reported as +∞). softplus''' = s(1 − s)(1 − 2s) vanishes at 0, " +
                    $"so s2 = softplus''(0) = 1/4 = {F(s2!.Value)} at u = 0 (limits 0).",
                ActivationKind.Relu =>
                    $"s0 = 0. relu' = 1 on u > 0 and 0 on u ≤ 0 (convention at 0), so s1 = {F(s1)}, attained at every u > 0 (u = 1 reported). " +
                    "relu'' is a Dirac mass at 0, not a bounded function: s2 = null.",
                _ =>
                    $"s0 = 0, σ' ≡ 1 so s1 = {F(s1)} (attained everywhere, u = 0 reported), σ'' ≡ 0 so s2 = {F(s2!.Value)} (u = 0 reported).",
            };
            result[(int)k] = new ActivationConstants(s0, s1, s2, a1, a2, how);
        }
        return result;
    }
}
