using System.Runtime.Intrinsics;
using ResOdeProofs.Numerics.Model;
using Xunit;
using Xunit.Abstractions;
using K = ResOdeProofs.Numerics.Model.ActivationKernels512;
using X = ResOdeProofs.Numerics.ExpPolynomial;

namespace ResOdeProofs.Numerics.Tests;

/// <summary>
/// The float64 GELU kernel (<c>ActivationKernels512.Gelu</c> and its generated 256-bit twin) against the high-precision
/// reference (<see cref="HighPrecisionReference"/>, Φ and φ each correctly rounded), requiring the bound proven in
/// docs/theorems/GeluKernel.md: gelu within <see cref="ProvenBound"/>·u relative, gelu' within ProvenBound·u relative
/// to |Φ| + |uφ| (u = 2^-53), for |u| ≤ 37.5 (results normal). The reference adds at most 2u in these units: Φ_ref and
/// φ_ref within u/2 of Φ and φ, and the differences σ̂ − u·Φ_ref, (σ̂' − Φ_ref) − u·φ_ref formed with one rounding each
/// (an FMA on the small difference). Beyond 37.5 the results are subnormal or zero: an absolute 64·2^-1074 more (eh,
/// φ̂ and the tail each round once absolutely, times |u| ≤ 40). Beyond |u| = 40 the exact gelu is u or 0 and gelu' 1 or 0
/// within far less than half the smallest subnormal: the kernel must give them exactly.
/// </summary>
public sealed class GeluKernelBoundTests(ITestOutputHelper output)
{
    /// <summary>The total of docs/theorems/GeluKernel.md (printed as BOUND by its script: 30.034), rounded up.</summary>
    private const double ProvenBound = 30.1;
    private const double ReferenceSlack = 2.0;
    private const double U = 1.1102230246251565e-16;
    private const double Tiny = 4.9406564584124654e-324;

    // Grid: u = −40…40 in steps of 1/100 and −8…8 in steps of 1/1000, each with an irrational offset (full mantissas),
    // and the points where the kernel switches: 0, the exp's reduction k → k ± 1 (t²/2 = (j + ½)·ln2), the scaling's
    // clamp k = −1021, the normal/subnormal edge 37.5, eh underflowing near 38.6, the clamp of t at 40, each with its
    // neighbours.
    private static readonly Lazy<(double[] X, double[] Cdf, double[] Pdf)> Data = new(() =>
    {
        var xs = new List<double>();
        double off = Math.Sqrt(2.0) - 1.0;
        for (int i = 0; i < 8000; i++) xs.Add(-40.0 + i * 0.01 + 0.01 * off);
        for (int i = 0; i < 16000; i++) xs.Add(-8.0 + i * 0.001 + 0.001 * off);
        var edges = new List<double> { 0.0, 1e-300, 1e-160, 1e-8, 0.5, 1.0, 37.5, 37.62, 38.6, 38.7, 39.9, 40.0 };
        foreach (int j in new[] { 0, 1, 2, 5, 20, 100, 500, 1000, 1020 }) edges.Add(Math.Sqrt(2 * (j + 0.5) * Math.Log(2)));
        foreach (double b in edges)
            foreach (double v in new[] { b, Math.BitIncrement(b), Math.BitDecrement(b) })
                if (v >= 0) { xs.Add(v); xs.Add(-v); }
        var x = xs.ToArray();
        var cdf = new double[x.Length]; var pdf = new double[x.Length];
        Parallel.For(0, x.Length, new ParallelOptions { MaxDegreeOfParallelism = 2 }, i =>
        {
            cdf[i] = HighPrecisionReference.NormalCdf(x[i]);
            pdf[i] = HighPrecisionReference.NormalPdf(x[i]);
        });
        return (x, cdf, pdf);
    });

    /// <summary>
    /// The largest error of (s, sd) over the grid in the proven units (multiples of u); null when all is within
    /// ProvenBound + ReferenceSlack, else the first failing point.
    /// </summary>
    private static (double Value, double Derivative, double At, double DAt, string? Failure) Check(double[] s, double[] sd)
    {
        var (x, cdf, pdf) = Data.Value;
        double bound = (ProvenBound + ReferenceSlack) * U, worstV = 0, worstD = 0, at = 0, dat = 0;
        string? failure = null;
        for (int i = 0; i < x.Length; i++)
        {
            double xi = x[i];
            if (xi == 0)
            {
                if (s[i] != 0 || sd[i] != 0.5) failure ??= $"gelu(±0) = {s[i]:R}, gelu'(±0) = {sd[i]:R}";
                continue;
            }
            double dv = Math.Abs(Math.FusedMultiplyAdd(-xi, cdf[i], s[i]));
            double dd = Math.Abs(Math.FusedMultiplyAdd(-xi, pdf[i], sd[i] - cdf[i]));
            double scaleV = Math.Abs(xi) * cdf[i], scaleD = cdf[i] + Math.Abs(xi) * pdf[i];
            double abs = Math.Abs(xi) > 37.5 ? 64 * Tiny : 0;
            if (Math.Abs(xi) <= 37.5)
            {
                if (dv / scaleV > worstV) (worstV, at) = (dv / scaleV, xi);
                if (dd / scaleD > worstD) (worstD, dat) = (dd / scaleD, xi);
            }
            if (dv > bound * scaleV + abs) failure ??= $"gelu({xi:R}) = {s[i]:R}: {dv / scaleV / U:F2}u";
            if (dd > bound * scaleD + abs) failure ??= $"gelu'({xi:R}) = {sd[i]:R}: {dd / scaleD / U:F2}u";
        }
        return (worstV / U, worstD / U, at, dat, failure);
    }

    // Beyond |u| = 40, ±∞ and NaN: exact values.
    private static readonly double[] Far = { 40.5, -40.5, 1e10, -1e10, 1e200, -1e200, double.MaxValue, double.MinValue,
        double.PositiveInfinity, double.NegativeInfinity, double.NaN, 1.0, 2.0, 3.0 };

    private static void RequireFar(double[] s, double[] sd, string what)
    {
        for (int i = 0; i < Far.Length - 4; i++)
        {
            double x = Far[i];
            if (double.IsNaN(x)) { Assert.True(double.IsNaN(s[i]) && double.IsNaN(sd[i]), what); continue; }
            Assert.True(x > 0 ? s[i] == x && sd[i] == 1.0 : s[i] == 0 && sd[i] == 0, $"{what}: gelu({x:R}) = {s[i]:R}, gelu'({x:R}) = {sd[i]:R}");
        }
    }

    private delegate int Kernel(ReadOnlySpan<double> u, Span<double> s, Span<double> sd);

    /// <summary>Every vector width this machine runs: 256 bits where the hardware has it, and the 512-bit code called
    /// directly (the runtime's software form without AVX-512).</summary>
    public static IEnumerable<object[]> Widths()
    {
        if (Vector256.IsHardwareAccelerated) yield return new object[] { 256 };
        yield return new object[] { 512 };
    }

    private static (double[] S, double[] Sd) Run(int width, double[] x)
    {
        Kernel k = width == 512 ? ActivationKernels512.GeluDouble : ActivationKernels256.GeluDouble;
        // pad to whole vectors with a harmless value
        int lanes = width / 64, n = (x.Length + lanes - 1) / lanes * lanes;
        var xp = new double[n]; Array.Fill(xp, 1.0); x.CopyTo(xp, 0);
        var s = new double[n]; var sd = new double[n];
        Assert.Equal(n, k(xp, s, sd));
        return (s[..x.Length], sd[..x.Length]);
    }

    [Theory(DisplayName = "GELU float64 kernel: dense grid over [−40, 40], branch points, every vector width → within the proven bound of the high-precision reference")]
    [MemberData(nameof(Widths))]
    public void Kernel_within_proven_bound(int width)
    {
        var (x, _, _) = Data.Value;
        var (s, sd) = Run(width, x);
        var r = Check(s, sd);
        output.WriteLine($"{width}-bit: gelu within {r.Value:F2}u (at u = {r.At:R}), gelu' within {r.Derivative:F2}u of |Φ| + |uφ| (at u = {r.DAt:R}); proven {ProvenBound}u");
        Assert.True(r.Failure is null, r.Failure);
        var (fs, fsd) = Run(width, Far);
        RequireFar(fs, fsd, $"{width}-bit");
    }

    // A lane-by-lane model of the kernel with the same operations in the same order (each FMA fused, each product and
    // sum rounded once), its coefficients passed in: it equals the vector kernel bit for bit, so perturbing one of its
    // coefficients shows what the check does with a wrong kernel.
    private static (double V, double D) Model(double x, double[] gp, double[] gq)
    {
        static double Fma(double a, double b, double c) => Math.FusedMultiplyAdd(a, b, c);
        double t = Math.Min(Math.Abs(x), 40.0);
        double hi = t * t, lo = Fma(t, t, -hi);
        double a1 = Math.Max(-0.5 * hi, -746.0), tlo = -0.5 * lo;
        double kd = Fma(a1, X.Log2E, X.Magic), k = kd - X.Magic;
        double r = Fma(k, -X.Ln2Hi, a1);
        r = Fma(k, -X.Ln2Lo, r);
        r += tlo;
        double r2 = r * r, r4 = r2 * r2, r8 = r4 * r4;
        double q0 = Fma(r, X.E1, X.E0), q1 = Fma(r, X.E3, X.E2), q2 = Fma(r, X.E5, X.E4), q3 = Fma(r, X.E7, X.E6), q4 = Fma(r, X.E9, X.E8);
        double s0 = Fma(q1, r2, q0), s1 = Fma(q3, r2, q2), s2 = Fma(X.E10, r2, q4);
        double p = Fma(s2, r8, Fma(s1, r4, s0));
        double e1 = Fma(p, r, 1.0);
        double kd1 = Math.Max(kd, X.Magic - 1021.0);
        double f1 = BitConverter.Int64BitsToDouble((BitConverter.DoubleToInt64Bits(kd1) - (BitConverter.DoubleToInt64Bits(X.Magic) - 1023L)) << 52);
        double f2 = BitConverter.Int64BitsToDouble((BitConverter.DoubleToInt64Bits(kd) - BitConverter.DoubleToInt64Bits(kd1) + 1022L) << 52);
        double eh = e1 * f1 * f2;
        double num = Fma(gp[10], t, gp[9]), den = Fma(gq[11], t, gq[10]);
        for (int j = 8; j >= 0; j--) num = Fma(num, t, gp[j]);
        for (int j = 9; j >= 0; j--) den = Fma(den, t, gq[j]);
        double tail = eh * (num / den);
        double cdf = x < 0 ? tail : 1.0 - tail;
        double pdf = 2.0 * SpecialFunctions.InvSqrt2Pi * eh;
        return (x * cdf, Fma(x, pdf, cdf));
    }

    private static readonly double[] Gp = { K.GP0, K.GP1, K.GP2, K.GP3, K.GP4, K.GP5, K.GP6, K.GP7, K.GP8, K.GP9, K.GP10 };
    private static readonly double[] Gq = { K.GQ0, K.GQ1, K.GQ2, K.GQ3, K.GQ4, K.GQ5, K.GQ6, K.GQ7, K.GQ8, K.GQ9, K.GQ10, K.GQ11 };

    private static (double[] S, double[] Sd) RunModel(double[] x, double[] gp, double[] gq)
    {
        var s = new double[x.Length]; var sd = new double[x.Length];
        for (int i = 0; i < x.Length; i++) (s[i], sd[i]) = Model(x[i], gp, gq);
        return (s, sd);
    }

    [Fact(DisplayName = "GELU float64 kernel: the lane model with the kernel's coefficients → the kernel's bits at both widths, and within the proven bound")]
    public void Model_is_the_kernel()
    {
        var (x, _, _) = Data.Value;
        var (ms, msd) = RunModel(x, Gp, Gq);
        foreach (object[] w in Widths())
        {
            var (s, sd) = Run((int)w[0], x);
            for (int i = 0; i < x.Length; i++)
            {
                Assert.True(BitConverter.DoubleToInt64Bits(s[i]) == BitConverter.DoubleToInt64Bits(ms[i]), $"{w[0]}-bit gelu({x[i]:R}): {s[i]:R} vs model {ms[i]:R}");
                Assert.True(BitConverter.DoubleToInt64Bits(sd[i]) == BitConverter.DoubleToInt64Bits(msd[i]), $"{w[0]}-bit gelu'({x[i]:R}): {sd[i]:R} vs model {msd[i]:R}");
            }
        }
        Assert.Null(Check(ms, msd).Failure);
    }

    [Theory(DisplayName = "GELU float64 kernel: one coefficient of the rational perturbed by 2^-40 relative → outside the proven bound")]
    [InlineData(false, 3)]
    [InlineData(false, 7)]
    [InlineData(true, 1)]
    [InlineData(true, 10)]
    public void Perturbed_coefficient_fails(bool denominator, int index)
    {
        var (x, _, _) = Data.Value;
        var gp = (double[])Gp.Clone(); var gq = (double[])Gq.Clone();
        var c = denominator ? gq : gp;
        c[index] *= 1 + Math.ScaleB(1.0, -40);
        var (s, sd) = RunModel(x, gp, gq);
        var r = Check(s, sd);
        output.WriteLine($"{(denominator ? "Q" : "P")}{index} perturbed: gelu {r.Value:F1}u, gelu' {r.Derivative:F1}u; {r.Failure}");
        Assert.NotNull(r.Failure);
    }
}
