using System.Numerics;
using System.Text.RegularExpressions;
using ResOdeProofs.Numerics.Model;
using ResOdeProofs.Numerics.Random;
using ResOdeProofs.Numerics.Training;
using Xunit;
using Xunit.Abstractions;

namespace ResOdeProofs.Numerics.Tests;

/// <summary>
/// References for <see cref="PortableMath"/> in BigInteger fixed point (value = N/2^P, P = 320 fractional bits):
/// ln 2 = 2·atanh(1/3) and π = 16·atan(1/5) − 4·atan(1/239) by their series, ln y = 2·atanh((y − 1)/(y + 1)) for
/// y ∈ [1, 2), e^r and sin r, cos r by Taylor series after reduction by exact multiples of the fixed-point constants.
/// Every operation truncates by at most one unit of 2^−P, a few hundred operations per value: the references are
/// exact to well over 300 bits absolute, far beyond the 2⁻¹⁰⁰ the comparison needs.
/// </summary>
internal static class PortableReference
{
    public const int P = 320;
    private static readonly BigInteger One = BigInteger.One << P;
    public static readonly BigInteger Ln2 = 2 * AtanhInv(3);
    public static readonly BigInteger Pi = 16 * AtanInv(5) - 4 * AtanInv(239);

    private static BigInteger AtanhInv(int k)
    {
        BigInteger term = One / k, sum = 0, k2 = k * k;
        for (int n = 0; !term.IsZero; n++) { sum += term / (2 * n + 1); term /= k2; }
        return sum;
    }

    private static BigInteger AtanInv(int k)
    {
        BigInteger term = One / k, sum = 0, k2 = k * k;
        for (int n = 0; !term.IsZero; n++) { sum += n % 2 == 0 ? term / (2 * n + 1) : -term / (2 * n + 1); term /= k2; }
        return sum;
    }

    private static BigInteger Mul(BigInteger a, BigInteger b) => a * b >> P;

    /// <summary>x exactly as N/2^P (x a double with |x| ≥ 2^−P's grid: the tests' arguments of exp, tanh, sin, cos are).</summary>
    private static BigInteger Fixed(double x)
    {
        var (m, e) = Decompose(x);
        var n = P + e >= 0 ? m << (P + e) : m >> -(P + e);
        return x < 0 ? -n : n;
    }

    /// <summary>|x| = m·2^e with m an integer: m of 53 bits for a normal x, e = −1074 for a subnormal x or 0.</summary>
    public static (BigInteger M, int E) Decompose(double x)
    {
        long bits = BitConverter.DoubleToInt64Bits(Math.Abs(x));
        int exp = (int)((bits >> 52) & 0x7FF);
        long mant = bits & 0xFFFFFFFFFFFFFL;
        if (exp == 0) exp = 1; else mant |= 1L << 52;
        return (new BigInteger(mant), exp - 1075);
    }

    private static BigInteger Round(BigInteger a, BigInteger b) => BigInteger.Divide(2 * a + (a.Sign >= 0 ? b : -b), 2 * b);

    /// <summary>ln x for x &gt; 0 finite.</summary>
    public static BigInteger Log(double x)
    {
        var (m, e) = Decompose(x);
        int top = (int)m.GetBitLength() - 1;
        BigInteger y = m << (P - top);                     // x = 2^(e + top)·y, y ∈ [1, 2) exactly
        BigInteger f = ((y - One) << P) / (y + One), f2 = Mul(f, f), term = f, sum = 0;
        for (int n = 0; !term.IsZero; n++) { sum += term / (2 * n + 1); term = Mul(term, f2); }
        return (e + top) * Ln2 + 2 * sum;
    }

    /// <summary>ln y for a fixed-point y = N/2^P in [1, 2].</summary>
    public static BigInteger LogFixed(BigInteger y)
    {
        BigInteger f = ((y - One) << P) / (y + One), f2 = Mul(f, f), term = f, sum = 0;
        for (int n = 0; !term.IsZero; n++) { sum += term / (2 * n + 1); term = Mul(term, f2); }
        return 2 * sum;
    }

    /// <summary>e^x as N/2^P (absolute error of a few units of 2^−P).</summary>
    public static BigInteger ExpFixed(double x) { var (n, k) = Exp(x); return k >= 0 ? n << k : n >> -k; }

    public static BigInteger OneFixed => One;

    /// <summary>e^x as (N, k): e^x = N/2^P·2^k.</summary>
    public static (BigInteger N, int K) Exp(double x)
    {
        var xf = Fixed(x);
        var k = Round(xf, Ln2);
        BigInteger r = xf - k * Ln2, term = One, sum = One;
        for (int n = 1; !term.IsZero; n++) { term = Mul(term, r) / n; sum += term; }
        return (sum, (int)k);
    }

    public static BigInteger Tanh(double x)
    {
        var (n, k) = Exp(-2.0 * Math.Abs(x));          // −2|x| exact
        BigInteger e = k >= 0 ? n << k : n >> -k;
        var t = ((One - e) << P) / (One + e);
        return x < 0 ? -t : t;
    }

    private static (BigInteger Sin, BigInteger Cos) SinCos(double x)
    {
        var xf = Fixed(x);
        var q = Round(xf, Pi / 2);
        BigInteger r = xf - q * (Pi / 2), r2 = Mul(r, r);
        BigInteger s = 0, c = 0, ts = r, tc = One;
        for (int n = 0; !(ts.IsZero && tc.IsZero); n++)
        {
            s += n % 2 == 0 ? ts : -ts; c += n % 2 == 0 ? tc : -tc;
            ts = Mul(ts, r2) / ((2 * n + 2) * (2 * n + 3));
            tc = Mul(tc, r2) / ((2 * n + 1) * (2 * n + 2));
        }
        int quadrant = (int)(((q % 4) + 4) % 4);
        return quadrant switch { 0 => (s, c), 1 => (c, -s), 2 => (-s, -c), _ => (-c, s) };
    }

    public static BigInteger Sin(double x) => SinCos(x).Sin;
    public static BigInteger Cos(double x) => SinCos(x).Cos;

    /// <summary>The exponent of ulp(d), the spacing of the doubles in d's binade (−1074 for subnormal d).</summary>
    public static int UlpExponent(double d) => Decompose(d).E;

    /// <summary>|d − v|/2^unit for v = N/2^P·2^k, formed exactly in integers, then converted.</summary>
    public static double Distance(double d, BigInteger n, int k, int unit)
    {
        var (m, e) = Decompose(d);
        if (d < 0) m = -m;
        int c = Math.Min(e, k - P);
        BigInteger diff = (m << (e - c)) - (n << (k - P - c));
        return Math.Abs((double)diff) * Math.ScaleB(1.0, c - unit);
    }
}

/// <summary>
/// <see cref="PortableMath"/>: each function against the 320-bit references on a few thousand arguments (every result
/// within half an ulp plus the evaluation's 2⁻²⁰ ulp: the correctly rounded value but for arguments within 2⁻⁷⁵ relative
/// of a midpoint), the same comparison rejecting the neighbouring double (the control), the known bits of fixed
/// arguments and of the seeded Gaussian stream (which must never change), and the engine's run-producing folders free
/// of the platform's exp, log and trigonometric functions.
/// </summary>
public sealed class PortableMathTests
{
    private readonly ITestOutputHelper _out;
    public PortableMathTests(ITestOutputHelper output) => _out = output;

    /// <summary>The evaluation error before the final rounding, at most 2⁻⁷⁵ relative (2⁻²² ulp), rounded up to 2⁻²⁰ ulp.</summary>
    private static readonly double Slack = Math.ScaleB(1.0, -20);

    private static double RandomDouble(System.Random r, int minExp, int maxExp, bool signed)
    {
        double m = 1.0 + r.NextDouble();
        double x = Math.ScaleB(m, r.Next(minExp, maxExp + 1));
        return signed && r.Next(2) == 0 ? -x : x;
    }

    private static IEnumerable<double> LogArguments()
    {
        var r = new System.Random(11);
        for (int i = 0; i < 1200; i++) yield return RandomDouble(r, -1074 + 53, 1022, false);
        for (int i = 0; i < 400; i++) yield return r.NextDouble() * r.NextDouble();                // the Gaussian's s ∈ (0, 1)
        for (int i = 1; i <= 64; i++) { yield return 1.0 + i * Math.ScaleB(1.0, -52); yield return 1.0 - i * Math.ScaleB(1.0, -53); }
        for (int i = 0; i < 200; i++) yield return 1.0 + (r.NextDouble() - 0.5) * Math.ScaleB(1.0, -r.Next(1, 40));
        yield return double.Epsilon; yield return 3 * double.Epsilon; yield return 1e-310; yield return double.MaxValue;
        yield return Math.Sqrt(2.0); yield return Math.BitIncrement(Math.Sqrt(2.0)); yield return 0.5; yield return 2.0;
    }

    private static IEnumerable<double> ExpArguments()
    {
        var r = new System.Random(12);
        for (int i = 0; i < 1200; i++) yield return -745.0 + r.NextDouble() * (709.7 + 745.0);
        for (int i = 0; i < 300; i++) yield return RandomDouble(r, -60, 3, true);
        for (int i = 0; i < 200; i++) yield return -745.0 + r.NextDouble() * 37.0;               // results in the subnormal range
        yield return 0.0; yield return 709.78; yield return -745.1; yield return Math.Log(2.0) / 128; yield return -Math.Log(2.0) / 128;
    }

    private static IEnumerable<double> TanhArguments()
    {
        var r = new System.Random(13);
        for (int i = 0; i < 1500; i++) yield return RandomDouble(r, -30, 5, true);
        yield return 0.0027; yield return 0.0026999999; yield return 0.5; yield return -0.49999999; yield return 21.9;
    }

    private static IEnumerable<double> TrigArguments()
    {
        var r = new System.Random(14);
        for (int i = 0; i < 1200; i++) yield return RandomDouble(r, -30, 19, true);
        for (int f = 1; f <= 16; f++) for (int k = 0; k <= 64; k += 3) yield return 2 * Math.PI * f * (k / 64.0); // smooth init's θ
        for (int q = 1; q <= 200; q++) yield return q * (Math.PI / 2);                                         // near zeros
        yield return Math.PI; yield return 355.0; yield return 103993.0; yield return 1048575.5;
    }

    private void Check(string name, IEnumerable<double> args, Func<double, double> f, Func<double, (BigInteger N, int K)> reference)
    {
        double worst = 0, worstAt = 0; int count = 0, neighbourKept = 0, nearMidpoint = 0;
        foreach (var x in args)
        {
            double d = f(x);
            var (n, k) = reference(x);
            // In units of ulp(d): d's distance to the reference and its two neighbours'. Correctly rounded: d is the
            // nearest double, within the allowance for a reference near a midpoint.
            int unit = PortableReference.UlpExponent(d);
            double err = PortableReference.Distance(d, n, k, unit);
            double nearest = Math.Min(PortableReference.Distance(Math.BitIncrement(d), n, k, unit), PortableReference.Distance(Math.BitDecrement(d), n, k, unit));
            Assert.True(err <= nearest + Slack, $"{name}({x:R}) = {d:R}: {err} ulp from the reference, a neighbour {nearest}");
            Assert.True(err <= 0.5 + Slack, $"{name}({x:R}) = {d:R}: {err} ulp from the reference");
            if (err > worst) { worst = err; worstAt = x; }
            // Control: the nearer neighbour (faithful, not correctly rounded) fails the same comparison wherever the
            // reference is not within 2⁻¹⁹ ulp of a midpoint (there both are within the allowance).
            if (nearest - err <= 2 * Slack) nearMidpoint++;
            else if (!(nearest > err + Slack)) neighbourKept++;
            count++;
        }
        _out.WriteLine($"{name}: {count} arguments, worst {worst:F6} ulp at {worstAt:R}, {nearMidpoint} within 2⁻¹⁹ ulp of a midpoint");
        Assert.Equal(0, neighbourKept);
        Assert.True(count > 200);
    }

    [Fact(DisplayName = "PortableMath.Log: 1 936 arguments over every binade, near 1 and in (0, 1) → within ½ ulp (+2⁻²⁰) of the 320-bit reference; the neighbouring double rejected")]
    public void Log_is_correctly_rounded() =>
        Check("log", LogArguments(), PortableMath.Log, x => (PortableReference.Log(x), 0));

    [Fact(DisplayName = "PortableMath.Exp: 1 705 arguments over [−745, 709.7], near 0 and with subnormal results → within ½ ulp (+2⁻²⁰) of the 320-bit reference; the neighbouring double rejected")]
    public void Exp_is_correctly_rounded() =>
        Check("exp", ExpArguments(), PortableMath.Exp, PortableReference.Exp);

    [Fact(DisplayName = "PortableMath.Tanh: 1 505 arguments with |x| in [2⁻³⁰, 64] → within ½ ulp (+2⁻²⁰) of the 320-bit reference; the neighbouring double rejected")]
    public void Tanh_is_correctly_rounded() =>
        Check("tanh", TanhArguments(), PortableMath.Tanh, x => (PortableReference.Tanh(x), 0));

    [Fact(DisplayName = "PortableMath.Sin and Cos: 1 756 arguments with |x| in [2⁻³⁰, 2²⁰], the smooth init's angles and multiples of π/2 → within ½ ulp (+2⁻²⁰) of the 320-bit reference; the neighbouring double rejected")]
    public void Sin_and_cos_are_correctly_rounded()
    {
        Check("sin", TrigArguments(), PortableMath.Sin, x => (PortableReference.Sin(x), 0));
        Check("cos", TrigArguments(), PortableMath.Cos, x => (PortableReference.Cos(x), 0));
    }

    [Fact(DisplayName = "PortableMath: special arguments (±0, ±∞, NaN, negative log, overflow, underflow, |x| > 2²⁰ for sin) → the IEEE values or a refusal")]
    public void Special_arguments()
    {
        Assert.Equal(double.NegativeInfinity, PortableMath.Log(0.0));
        Assert.True(double.IsNaN(PortableMath.Log(-1.0)));
        Assert.Equal(double.PositiveInfinity, PortableMath.Log(double.PositiveInfinity));
        Assert.Equal(0.0, PortableMath.Log(1.0));
        Assert.Equal(1.0, PortableMath.Exp(0.0));
        Assert.Equal(double.PositiveInfinity, PortableMath.Exp(710.0));
        Assert.Equal(0.0, PortableMath.Exp(-746.0));
        Assert.Equal(double.Epsilon, PortableMath.Exp(-745.0));
        Assert.Equal(1.0, PortableMath.Tanh(30.0));
        Assert.Equal(-1.0, PortableMath.Tanh(double.NegativeInfinity));
        Assert.True(double.IsNegative(PortableMath.Sin(-0.0)));
        Assert.Equal(1.0, PortableMath.Cos(0.0));
        foreach (var f in new Func<double, double>[] { PortableMath.Log, PortableMath.Exp, PortableMath.Tanh, PortableMath.Sin, PortableMath.Cos })
            Assert.True(double.IsNaN(f(double.NaN)));
        Assert.Throws<ArgumentOutOfRangeException>(() => PortableMath.Sin(PortableMath.TrigArgumentLimit * 2));
        Assert.Throws<ArgumentOutOfRangeException>(() => PortableMath.Cos(double.PositiveInfinity));
    }

    private static string Bits(double x) => BitConverter.DoubleToInt64Bits(x).ToString("X16");

    [Fact(DisplayName = "Rng, PortableMath and InitialDraws.Smooth: a seed's Gaussians, fixed arguments and a smooth initialization → the recorded bits (the same on every platform and runtime, forever)")]
    public void Known_bits()
    {
        var rng = new Rng(20261207);
        var gaussians = Enumerable.Range(0, 6).Select(_ => Bits(rng.NextGaussian())).ToArray();
        _out.WriteLine(string.Join(" ", gaussians));
        var values = new[] { PortableMath.Log(0.3), PortableMath.Exp(-1.7), PortableMath.Tanh(0.3), PortableMath.Sin(2.5), PortableMath.Cos(40.0) }.Select(Bits).ToArray();
        _out.WriteLine(string.Join(" ", values));
        Assert.Equal(new[] { "BFE60F82CFC037F0", "BFF02CEC6A8D5B86", "BFEF809B2AC6178E", "3FD0D72B74F6EB46", "BFD36036EDEA888D", "BFEF8FF00E2C8243" }, gaussians);
        Assert.Equal(new[] { "BFF34378FCBDA721", "3FC7622C78A98A07", "3FD2A4DDA7D914FA", "3FE326AF0DCFCAB1", "BFE5578E7D68218F" }, values);
        // A smooth initialization (Gaussian coefficients, a sine and a cosine per mode and layer, the Fourier sums) of
        // 8 layers × 2 parts × 6 entries, 4 modes: the SHA-256 of its bits.
        var layers = new double[8 * 2 * 6];
        InitialDraws.Smooth(8, 20261207, new[] { 6, 6 }, new[] { 1.0, 0.5 }, 4, (k, q) => layers.AsSpan((k * 2 + q) * 6, 6));
        var bytes = new byte[layers.Length * 8];
        Buffer.BlockCopy(layers, 0, bytes, 0, bytes.Length);
        string digest = Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(bytes));
        _out.WriteLine(digest);
        Assert.Equal("BBE853DF83EFD20F9A61384B6759AE1A955E13E00E6FB9B1DC8F88F98E5B847D", digest);
    }

    /// <summary>tanh, sech², softplus and the logistic at u as 320-bit references.</summary>
    private static (BigInteger S, BigInteger D) ActivationReference(ActivationKind kind, double u)
    {
        var one = PortableReference.OneFixed;
        if (kind == ActivationKind.Tanh)
        {
            var t = PortableReference.Tanh(u);
            return (t, one - ((t * t) >> PortableReference.P));
        }
        var e = PortableReference.ExpFixed(-Math.Abs(u));             // e^−|u|
        var sp = PortableReference.LogFixed(one + e);                  // ln(1 + e^−|u|)
        if (u > 0) sp += PortableReference.Decompose(u).M << (PortableReference.P + PortableReference.Decompose(u).E);
        var logistic = ((u >= 0 ? one : e) << PortableReference.P) / (one + e);
        return (sp, logistic);
    }

    private static IEnumerable<double> ActivationArguments()
    {
        for (int k = -40 * 64; k <= 40 * 64; k++) yield return k / 64.0 + (k % 7) * 1e-4;
        for (int j = 1; j <= 60; j++) { yield return Math.ScaleB(1.3, -j); yield return -Math.ScaleB(1.7, -j); }
        yield return 0.5; yield return Math.BitDecrement(0.5); yield return -0.5; yield return Math.BitIncrement(-0.5);
    }

    /// <summary>
    /// The accuracy the theory layer takes for σ and σ' of tanh and softplus (LayerJacobian.evalErr: absolute error at
    /// most 16u·(1 + |value|); FashionAccuracy.sigmaBeta: σ within 32u·(|t| + s0)) is now a property of this code, not of
    /// a platform library: checked at every SIMD level the machine has against the 320-bit references. The control: the
    /// same comparison rejects float32 evaluations of the same functions.
    /// </summary>
    [Theory(DisplayName = "Activations tanh and softplus: σ and σ' at every SIMD level, 5 245 arguments in [−40, 40] → within the 16u·(1 + |value|) and 32u(|t| + s0) the theory layer takes, of the 320-bit reference; float32 evaluations (0.1 ≤ |u| ≤ 4) → each rejected by it")]
    [MemberData(nameof(CentreRoundingTests.Levels), MemberType = typeof(CentreRoundingTests))]
    public void Tanh_and_softplus_within_the_assumed_accuracy(SimdLevel level)
    {
        const double u = 1.1102230246251565e-16; // 2^-53
        var args = ActivationArguments().ToArray();
        foreach (var kind in new[] { ActivationKind.Tanh, ActivationKind.Softplus })
        {
            var s = new double[args.Length]; var sd = new double[args.Length];
            VectorActivations.Evaluate<double>(level, kind, args, s, sd);
            var af = args.Select(x => (float)x).ToArray();
            var sf = new float[af.Length]; var sdf = new float[af.Length];
            VectorActivations.Evaluate<float>(level, kind, af, sf, sdf);
            double worst = 0, worstBeta = 0; int floatRejected = 0, floatChecked = 0;
            for (int i = 0; i < args.Length; i++)
            {
                var (rs, rd) = ActivationReference(kind, args[i]);
                foreach (var (got, r) in new[] { (s[i], rs), (sd[i], rd) })
                {
                    double err = PortableReference.Distance(got, r, 0, 0);
                    double allowed = 16 * u * (1 + Math.Abs(got));
                    Assert.True(err <= allowed, $"{kind} at u = {args[i]:R}: {got:R} is {err:G3} from the reference, allowed {allowed:G3}");
                    worst = Math.Max(worst, err / (u * (1 + Math.Abs(got))));
                }
                // FashionAccuracy.sigmaBeta: |σ̂(t) − σ(t)| ≤ 32u(|t| + s0), s0 = |σ(0)| (0 for tanh, ln 2 for softplus).
                double s0 = kind == ActivationKind.Tanh ? 0.0 : 0.6931471805599453;
                double betaErr = PortableReference.Distance(s[i], rs, 0, 0);
                Assert.True(betaErr <= 32 * u * (Math.Abs(args[i]) + s0), $"{kind} at u = {args[i]:R}: {betaErr:G3} above 32u(|t| + s0)");
                if (betaErr > 0) worstBeta = Math.Max(worstBeta, betaErr / (u * (Math.Abs(args[i]) + s0)));
                // The control where σ and σ' are of order 1 (0.1 ≤ |u| ≤ 4): float32's rounding (2⁻²⁴) is far above 16u.
                if (Math.Abs(af[i]) < 0.1 || Math.Abs(af[i]) > 4) continue;
                floatChecked++;
                var (rs32, rd32) = ActivationReference(kind, af[i]);
                if (PortableReference.Distance(sf[i], rs32, 0, 0) > 16 * u * (1 + Math.Abs(sf[i]))
                    && PortableReference.Distance(sdf[i], rd32, 0, 0) > 16 * u * (1 + Math.Abs(sdf[i]))) floatRejected++;
            }
            _out.WriteLine($"{kind} at {level}: worst {worst:F3}·u(1 + |value|), σ {worstBeta:F3}·u(|t| + s0); float32 σ and σ' both rejected at {floatRejected} of {floatChecked} arguments with 0.1 ≤ |u| ≤ 4");
            Assert.True(floatChecked > 400);
            Assert.Equal(floatChecked, floatRejected);
        }
    }

    /// <summary>The folders whose code produces a run's numbers: data, initial weights, the training passes, the activations,
    /// the flow's integrator (its step sizes) and the generic blocks (their training and their bounds).</summary>
    private static readonly string[] RunProducing = { "Random", "Training", "Model", "Activations", "BnConv", "IO", "Ode", "Blocks" };

    /// <summary>The verifier's own passes (the replay, the split and centre passes and their bounds): their numbers are
    /// verdicts' bounds, which the same run must give on every platform.</summary>
    private static readonly string[] VerifierOwn = { "Verification" };

    [Fact(DisplayName = "Engine source: the run-producing folders (Random, Training, Model, Activations, BnConv, IO, Ode, Blocks) and the verifier's (Verification) → call none of the platform's Math.Exp, Log, Tanh, Sin, Cos, Pow and siblings, nor the runtime's vector ones")]
    public void Run_producing_and_verifier_code_uses_no_platform_transcendentals()
    {
        // The platform's scalar functions, and the runtime's vector ones (Vector256.Exp and the like: their bits are the
        // runtime's and the hardware's choice). ILogB and ScaleB are exact (they read or set the exponent) and may be used.
        var call = new Regex(@"\b(MathF?|Vector(64|128|256|512)?)\.(Exp|Exp2|Exp10|ExpM1|Log|Log2|Log10|LogP1|Log1P|Tanh|Sinh|Cosh|Sin|Cos|Tan|SinCos|Asin|Acos|Atan|Atan2|Asinh|Acosh|Atanh|Pow|Cbrt|Hypot)\s*\(");
        var found = new List<string>();
        int files = 0;
        foreach (var folder in RunProducing.Concat(VerifierOwn))
            foreach (var file in Directory.GetFiles(Path.Combine(FolderLayeringTests.EngineRoot(), folder), "*.cs", SearchOption.AllDirectories))
            {
                files++;
                var lines = File.ReadAllLines(file);
                for (int i = 0; i < lines.Length; i++)
                {
                    string code = lines[i];
                    int comment = code.IndexOf("//", StringComparison.Ordinal);
                    if (comment >= 0) code = code[..comment];
                    if (call.IsMatch(code)) found.Add($"{Path.GetFileName(file)}:{i + 1}: {lines[i].Trim()}");
                }
            }
        Assert.True(files > 30, $"only {files} files found");
        Assert.Empty(found);
    }

    [Fact(DisplayName = "PortableMath.PowInt: x^n for n up to 5 000 against the exact BigInteger power → relative error within γ_{n−1}; powers of two exact, n = 2 is fl(x·x), x^0 = 1, n < 0 refused")]
    public void PowInt_within_its_product_count()
    {
        var rng = new System.Random(20261207);
        double u = Math.Pow(2, -53);
        double worst = 0;
        int checkedCount = 0;
        for (int t = 0; t < 400; t++)
        {
            // bases near 1 (the growth factors and decay steps the theory layer raises) and anywhere in [1/4, 4)
            double x = t % 2 == 0 ? 1 + (rng.NextDouble() - 0.5) * 1e-3 : 0.25 + 3.75 * rng.NextDouble();
            int n = t < 20 ? t : rng.Next(2, 5001);
            double got = PortableMath.PowInt(x, n);
            if (n == 0) { Assert.Equal(1.0, got); continue; }
            // the bound holds while nothing overflows or underflows; every intermediate power lies between x and the result
            if (!double.IsFinite(got) || Math.Abs(got) < Math.ScaleB(1.0, -1022)) continue;
            // x = M·2^E exactly, so x^n = M^n·2^(nE): the error of got = G·2^F relative to it, in exact integers
            var (m, e) = PortableReference.Decompose(x);
            var (g, f) = PortableReference.Decompose(got);
            BigInteger exact = BigInteger.Pow(m, n);
            int shift = f - n * e;                      // got / 2^(nE) = G·2^shift
            BigInteger gScaled = shift >= 0 ? g << shift : g, xScaled = shift >= 0 ? exact : exact << -shift;
            // both to about 120 bits before the quotient (the exact power has thousands)
            int drop = (int)Math.Max(0, xScaled.GetBitLength() - 120);
            double rel = (double)(BigInteger.Abs(gScaled - xScaled) >> drop) / (double)(xScaled >> drop);
            int k = n - 1;
            double gamma = k * u / (1 - k * u);
            Assert.True(rel <= gamma, $"x = {x:R}, n = {n}: relative error {rel:E3} > γ_{k} = {gamma:E3}");
            if (k > 0) worst = Math.Max(worst, rel / gamma);
            checkedCount++;
        }
        _out.WriteLine($"worst relative error {worst:F3}·γ_(n−1) over {checkedCount} powers");
        Assert.True(checkedCount > 250, $"only {checkedCount} powers were normal numbers");
        Assert.Equal(Math.ScaleB(1.0, 40), PortableMath.PowInt(2.0, 40));
        Assert.Equal(Math.ScaleB(1.0, -53), PortableMath.PowInt(0.5, 53));
        foreach (double x in new[] { 1.1, -3.7, 1e150, 0.1 }) Assert.Equal(x * x, PortableMath.PowInt(x, 2));
        Assert.Equal(1.0, PortableMath.PowInt(double.NaN, 0));
        Assert.Equal(-8.0, PortableMath.PowInt(-2.0, 3));
        Assert.Throws<ArgumentOutOfRangeException>(() => PortableMath.PowInt(2.0, -1));
    }

    [Fact(DisplayName = "Theory layer source: src/Theory.FSharp → calls none of FSharp.Core's exp, log, log10, **, nor Math.Exp, Log, Pow and siblings outside the Portable module")]
    public void Theory_layer_uses_no_platform_transcendentals()
    {
        var bare = new Regex(@"(?<![\w.])(exp|log|log10|log2|tanh|sinh|cosh|sin|cos|tan|atan|atan2|asin|acos|cbrt)(?!\w)|\bMathF?\.(Exp|Log|Log10|Log2|Pow|Tanh|Sin|Cos|Tan|Atan|Atan2|Cbrt|Hypot|Sinh|Cosh|Asin|Acos)\b|\*\*");
        string root = Path.Combine(Path.GetDirectoryName(FolderLayeringTests.EngineRoot())!, "Theory.FSharp");
        var found = new List<string>();
        int files = 0;
        foreach (var file in Directory.GetFiles(root, "*.fs", SearchOption.AllDirectories))
        {
            if (file.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}") || Path.GetFileName(file) == "Portable.fs") continue;
            files++;
            var lines = File.ReadAllLines(file);
            for (int i = 0; i < lines.Length; i++)
            {
                // the code of the line: string literals and the comment after // left out
                var code = new System.Text.StringBuilder();
                bool inString = false;
                for (int c = 0; c < lines[i].Length; c++)
                {
                    char ch = lines[i][c];
                    if (inString) { if (ch == '\\') c++; else if (ch == '"') inString = false; continue; }
                    if (ch == '"') { inString = true; continue; }
                    if (ch == '/' && c + 1 < lines[i].Length && lines[i][c + 1] == '/') break;
                    code.Append(ch);
                }
                if (bare.IsMatch(code.ToString())) found.Add($"{Path.GetFileName(file)}:{i + 1}: {lines[i].Trim()}");
            }
        }
        Assert.True(files > 40, $"only {files} files found");
        Assert.Empty(found);
    }
}
