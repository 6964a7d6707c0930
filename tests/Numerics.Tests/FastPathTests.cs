using Xunit.Abstractions;
using ResOdeProofs.Numerics.Model;
using ResOdeProofs.Numerics.Training;

namespace ResOdeProofs.Numerics.Tests;

/// <summary>
/// The vectorized, multi-threaded and checkpointed engine against the plain reference path
/// (<see cref="Layerwise"/>), at every kernel width the hardware offers, 1 and 2 threads, with and
/// without checkpointing, for every activation.
/// </summary>
public sealed class FastPathTests(ITestOutputHelper output)
{
    public static readonly TheoryData<SimdLevel> Levels = new(AvailableLevels());

    private static IEnumerable<SimdLevel> AvailableLevels() =>
        new[] { SimdLevel.Scalar, SimdLevel.Vector256, SimdLevel.Vector512 }.Where(l => l <= Simd.Hardware);

    public static IEnumerable<object[]> Cases()
    {
        foreach (var level in AvailableLevels())
            foreach (ActivationKind act in Enum.GetValues<ActivationKind>())
                foreach (int threads in new[] { 1, 2 })
                    foreach (int ck in new[] { 0, 3 })
                        yield return new object[] { level, act, threads, ck };
    }

    private static T WithLevel<T>(SimdLevel level, Func<T> f)
    {
        var old = Simd.Override;
        Simd.Override = level;
        try { return f(); }
        finally { Simd.Override = old; }
    }

    /// <summary>
    /// Tolerance 1e-12 relative to the largest gradient entry: both paths compute the same sums of at most
    /// max(n, m, d) = 32 terms per layer in different orders (and the fast one with FMAs) through L = 7 layers,
    /// and the vector GELU differs from the scalar one by a few ulps; the accumulated difference is a few
    /// hundred ulps (≈ 1e-14) at most for these well-conditioned settings (weights of order 1/√d), so 1e-12
    /// leaves a factor 100 and still catches any wrong term (which would be of relative size ≥ 1/(n·L)).
    /// </summary>
    private const double Tol = 1e-12;

    [Theory(DisplayName = "ResNet fast path: any setting → agrees with the layer-wise reference")]
    [MemberData(nameof(Cases))]
    public void FastPathAgreesWithTheLayerwiseReference(SimdLevel level, ActivationKind act, int threads, int checkpoint)
    {
        foreach (var (seed, width, dim, n, general) in new[] { (1, 16, 8, 13, false), (2, 19, 9, 11, true), (3, 32, 16, 9, false) })
        {
            var s = TestSetting.Random(seed * 31 + (int)act, 7, width, dim, n, general, 1.2 / Math.Sqrt(dim), 1.2 / Math.Sqrt(width));
            var net = new ResNet<double>(s.Shape, act, s.Data, new EngineOptions { Threads = threads, CheckpointSegment = checkpoint }, s.A, s.B);
            var gw = new double[s.W.Length]; var gv = new double[s.V.Length];
            var st = WithLevel(level, () => net.Evaluate(s.W, s.V, gw, gv));
            var r = Layerwise.Evaluate(s.Shape, act, s.Data, s.A, s.B, s.W, s.V);
            string where = $"{level}, {act}, threads {threads}, checkpoint {checkpoint}, m = {width}, d = {dim}, n = {n}";
            Assert.True(EngineGradientTests.RelErr(st.Loss, r.Loss) < Tol, $"{where}: loss {st.Loss:R} vs {r.Loss:R}");
            int md = width * dim;
            double scale = Math.Max(r.GW.Max(g => g.Max(Math.Abs)), r.GV.Max(g => g.Max(Math.Abs)));
            for (int k = 0; k < s.Shape.Depth; k++)
                for (int i = 0; i < md; i++)
                {
                    Assert.True(Math.Abs(gw[k * md + i] - r.GW[k][i]) <= Tol * scale, $"{where}: G^W_{k}[{i}] {gw[k * md + i]:R} vs {r.GW[k][i]:R}");
                    Assert.True(Math.Abs(gv[k * md + i] - r.GV[k][i]) <= Tol * scale, $"{where}: G^V_{k}[{i}] {gv[k * md + i]:R} vs {r.GV[k][i]:R}");
                }
            double hMax = r.H.Max(hk => hk.Max(Norm));
            double pMax = r.P.Max(pk => pk.Sum(Norm));
            var pre = r.PreActivations().Pre;
            double preMin = pre.Min(pk => pk.Min(u => u.Min())), preMax = pre.Max(pk => pk.Max(u => u.Max()));
            Assert.True(EngineGradientTests.RelErr(st.MaxHiddenNorm, hMax) < Tol, $"{where}: max ‖h‖");
            Assert.True(EngineGradientTests.RelErr(st.MaxAdjointSum, pMax) < Tol, $"{where}: max Σ‖p‖");
            Assert.True(Math.Abs(st.MinPreActivation - preMin) <= Tol * Math.Abs(preMin), $"{where}: min pre-activation");
            Assert.True(Math.Abs(st.MaxPreActivation - preMax) <= Tol * Math.Abs(preMax), $"{where}: max pre-activation");
        }
    }

    private static double Norm(double[] x) => Math.Sqrt(x.Sum(t => t * t));
    private static double Norm(ArraySegment<double> x) => Math.Sqrt(x.Sum(t => t * t));

    [Theory(DisplayName = "ResNet: checkpoint segments and kept layers on 1 and on 2 threads, each SIMD level → the unchecked run's loss and gradient bit for bit, repeatable")]
    [MemberData(nameof(Levels))]
    public void CheckpointingIsBitIdenticalAndThreadsAreDeterministic(SimdLevel level)
    {
        var s = TestSetting.Random(5, 10, 24, 8, 17, general: true, 0.5, 0.4);
        (EvaluationStats, double[], double[]) Run(int threads, int ck, int keep = 0)
        {
            var net = new ResNet<double>(s.Shape, ActivationKind.Gelu, s.Data,
                new EngineOptions { Threads = threads, CheckpointSegment = ck, CheckpointKeepLast = keep }, s.A, s.B);
            var gw = new double[s.W.Length]; var gv = new double[s.V.Length];
            var st = WithLevel(level, () => { net.Evaluate(s.W, s.V, gw, gv); return net.Evaluate(s.W, s.V, gw, gv); });
            return (st, gw, gv);
        }
        foreach (int threads in new[] { 1, 2 })
        {
            var (st0, gw0, gv0) = Run(threads, 0);
            foreach (var (ck, keep) in new[] { (1, 0), (3, 0), (4, 0), (9, 0), (10, 0), (3, 5), (2, 7), (4, 10), (3, 12) })
            {
                var (st, gw, gv) = Run(threads, ck, keep);
                Assert.Equal(st0, st);
                Assert.Equal(gw0, gw);
                Assert.Equal(gv0, gv);
            }
            var (st1, gw1, gv1) = Run(threads, 0);
            Assert.Equal(st0, st1);
            Assert.Equal(gw0, gw1);
            Assert.Equal(gv0, gv1);
        }
    }

    /// <summary>
    /// Blocks whose stored states exceed 8 MiB prefetch each next layer's data (L = 800, n = 40, m = 32: 9.2 MB per block
    /// on two threads, 18 MB on one); checkpointed with segments of 28 layers they store far less and do not. Checkpointing
    /// changes no bit, so both must give the same loss, statistics and gradients bit for bit.
    /// </summary>
    [Theory(DisplayName = "ResNet: states beyond the prefetch threshold against a checkpointed run → bit-identical")]
    [MemberData(nameof(Levels))]
    public void PrefetchingChangesNoBit(SimdLevel level)
    {
        var s = TestSetting.Random(11, 800, 32, 8, 40, general: false, 0.5, 0.4);
        foreach (int threads in new[] { 1, 2 })
        {
            (EvaluationStats, double[], double[], bool) Run(int ck)
            {
                var net = new ResNet<double>(s.Shape, ActivationKind.Gelu, s.Data, new EngineOptions { Threads = threads, CheckpointSegment = ck });
                var gw = new double[s.W.Length]; var gv = new double[s.V.Length];
                var st = WithLevel(level, () => net.Evaluate(s.W, s.V, gw, gv));
                return (st, gw, gv, net.Prefetches);
            }
            var (st0, gw0, gv0, pf0) = Run(0);
            var (st1, gw1, gv1, pf1) = Run(28);
            Assert.True(pf0, "the stored states exceed the threshold: the blocks prefetch");
            Assert.False(pf1, "checkpointed: the blocks do not prefetch");
            Assert.Equal(st1, st0);
            Assert.Equal(gw1, gw0);
            Assert.Equal(gv1, gv0);
        }
    }

    /// <summary>
    /// The vector GELU against the scalar one (itself tested against a high-precision reference in
    /// ActivationTests). Value: relative error ≤ 64u = 2^−47 ≈ 7.1e-15 (u = 2^−53), the sum of the two codes' bounds
    /// against the exact function: the vector kernel within 30.1u (proven, docs/theorems/GeluKernel.md; tested against
    /// the high-precision reference in GeluKernelBoundTests), the scalar code's Cody rationals evaluated by Horner with a
    /// separate product and sum (≤ 33u for the quotient), its exp(−u²/2) from a table and Math.Exp and the final product
    /// or 1 − tail ≤ 1u more: 64u. A wrong coefficient or branch moves the value by far more (≥ 1e-9 relative). The
    /// measured maximum, about 11u, is printed (docs/performance.md). Derivative Φ + u·φ: the same bound relative to
    /// |Φ| + |u·φ|, the condition number of the sum (it cancels near its zero u ≈ −0.75). Below the smallest normal
    /// number (|u| &gt; 37.5) both are subnormal and agree to that absolute level.
    /// </summary>
    [Theory(DisplayName = "VectorActivations gelu: special values and a dense grid, each SIMD level → agrees with the scalar gelu")]
    [MemberData(nameof(Levels))]
    public void VectorGeluAgreesWithTheScalarGelu(SimdLevel level)
    {
        var u = new List<double> { 0.0, -0.0, 1e-300, -1e-300, 5e-324, double.Epsilon, 0.46875 * Math.Sqrt(2), -0.46875 * Math.Sqrt(2),
            4 * Math.Sqrt(2), -4 * Math.Sqrt(2), 37.5, -37.5, 38.5, -38.5, 38.8, -38.8, 40, -40, 1e10, -1e10, 1e200, -1e200,
            double.MaxValue, double.MinValue, double.PositiveInfinity, double.NegativeInfinity, double.NaN };
        for (int i = -400000; i <= 400000; i++) u.Add(i * 1e-4);
        var rng = new System.Random(3);
        for (int i = 0; i < 100000; i++) u.Add((rng.NextDouble() - 0.5) * 80);
        var x = u.ToArray();
        var s = new double[x.Length]; var sd = new double[x.Length];
        var s0 = new double[x.Length]; var sd0 = new double[x.Length];
        VectorActivations.Evaluate<double>(level, ActivationKind.Gelu, x, s, sd);
        Activations.Evaluate(ActivationKind.Gelu, x, s0, sd0);
        const double tol = 7.1054273576010019e-15; // 2^-47 = 64u
        double worstValue = 0, worstDerivative = 0, worstAt = 0, worstDAt = 0;
        for (int i = 0; i < x.Length; i++)
        {
            if (double.IsNaN(x[i])) { Assert.True(double.IsNaN(s[i]) && double.IsNaN(sd[i])); continue; }
            double pdf = SpecialFunctions.NormalPdf(x[i]);
            double cond = Math.Abs(SpecialFunctions.NormalCdf(x[i])) + (pdf == 0 ? 0 : Math.Abs(x[i] * pdf));
            if (Math.Abs(s[i] - s0[i]) > 2.2250738585072014e-308 && Math.Abs(s[i] - s0[i]) / Math.Abs(s0[i]) > worstValue)
                (worstValue, worstAt) = (Math.Abs(s[i] - s0[i]) / Math.Abs(s0[i]), x[i]);
            if (Math.Abs(sd[i] - sd0[i]) > 2.2250738585072014e-308 && Math.Abs(sd[i] - sd0[i]) / cond > worstDerivative)
                (worstDerivative, worstDAt) = (Math.Abs(sd[i] - sd0[i]) / cond, x[i]);
            Assert.True(s[i] == s0[i] || Math.Abs(s[i] - s0[i]) <= tol * Math.Abs(s0[i]) || Math.Abs(s[i] - s0[i]) <= 2.2250738585072014e-308,
                $"{level} gelu({x[i]:R}) = {s[i]:R}, scalar {s0[i]:R}");
            Assert.True(sd[i] == sd0[i] || Math.Abs(sd[i] - sd0[i]) <= tol * cond || Math.Abs(sd[i] - sd0[i]) <= 2.2250738585072014e-308,
                $"{level} gelu'({x[i]:R}) = {sd[i]:R}, scalar {sd0[i]:R}");
        }
        output.WriteLine($"{level}: max |Δgelu|/|gelu| = {worstValue / 1.1102230246251565e-16:F2}·2^-53 at u = {worstAt:R}; " +
                         $"max |Δgelu'|/(|Φ| + |uφ|) = {worstDerivative / 1.1102230246251565e-16:F2}·2^-53 at u = {worstDAt:R}");
        // Special values exactly as the scalar code: ±0, ±∞.
        foreach (int i in new[] { 0, 1 }) { Assert.Equal(s0[i], s[i]); Assert.Equal(sd0[i], sd[i]); }
        int pinf = Array.IndexOf(x, double.PositiveInfinity), minf = Array.IndexOf(x, double.NegativeInfinity);
        Assert.Equal(s0[pinf], s[pinf]); Assert.Equal(sd0[pinf], sd[pinf]);
        Assert.Equal(s0[minf], s[minf]); Assert.Equal(sd0[minf], sd[minf]);
    }

    /// <summary>
    /// Vector tanh and softplus (float64) against the scalar code, relative to each value and derivative, on a
    /// dense grid over [−40, 40], random points, the tails up to ±750 and the special values. The bound adds
    /// the two codes' roundings (u = 2^-53). Vector: exp within 2u; m = expm1(−2|u|) either r·p (k = 0, 3u) or
    /// e − 1 with e ≤ 2^-1/2, which magnifies e's error at most 2.42× (≤ 6u); tanh = −m/(2 + m) adds the
    /// error of 2 + m (≤ 7u) and the division: ≤ 14u; sech² = 4e/(1 + e)²: 2u + 2·2u + 2u ≤ 8u. log1p(e):
    /// s = (f − 1)/(f + 1) 2u (f − 1 exact), the series ≤ 1u, the ln2 step and c/w 2u, the final max(u, 0) + 1u
    /// and e's 2u through it: ≤ 8u; softplus' = e/w or 1/w ≤ 4u. Scalar: Math.Tanh and Math.Exp within 2u (a
    /// correctly rounded libm within 1u), (1 − e)/(1 + e) and 4e/(1 + e)² within 8u, (1 − t)(1 + t) within
    /// 6u, Log1p (w − 1 exact, one log, one division, one product) within 5u plus the sum: ≤ 16u per code,
    /// 32u = 2^-48 together. Results below the smallest normal number agree to that absolute level.
    /// </summary>
    [Theory(DisplayName = "VectorActivations tanh, softplus: special values and a dense grid, each SIMD level → agree with the scalar code")]
    [MemberData(nameof(Levels))]
    public void VectorTanhAndSoftplusAgreeWithTheScalarCode(SimdLevel level)
    {
        var u = new List<double> { 0.0, -0.0, 1e-300, -1e-300, 5e-324, -5e-324, 0.5, -0.5, 0.1733, -0.1733, 0.3466, -0.3466,
            372, -372, 373, -373, 745, -745, 746, -746, 750, -750, 1e10, -1e10, 1e300, -1e300, double.MaxValue, double.MinValue,
            double.PositiveInfinity, double.NegativeInfinity, double.NaN };
        for (int i = -400000; i <= 400000; i++) u.Add(i * 1e-4);
        for (int i = 0; i <= 71000; i++) { u.Add(40 + i * 1e-2); u.Add(-40 - i * 1e-2); }
        for (int i = -300; i <= 0; i++) { u.Add(Math.Pow(2, i / 4.0)); u.Add(-Math.Pow(2, i / 4.0)); }
        var rng = new System.Random(5);
        for (int i = 0; i < 100000; i++) u.Add((rng.NextDouble() - 0.5) * 80);
        var x = u.ToArray();
        const double tol = 3.5527136788005009e-15, tiny = 2.2250738585072014e-308; // 2^-48 = 32u; smallest normal
        foreach (var act in new[] { ActivationKind.Tanh, ActivationKind.Softplus })
        {
            var s = new double[x.Length]; var sd = new double[x.Length];
            var s0 = new double[x.Length]; var sd0 = new double[x.Length];
            VectorActivations.Evaluate<double>(level, act, x, s, sd);
            Activations.Evaluate(act, x, s0, sd0);
            double worstValue = 0, worstDerivative = 0, worstAt = 0, worstDAt = 0;
            for (int i = 0; i < x.Length; i++)
            {
                if (double.IsNaN(x[i])) { Assert.True(double.IsNaN(s[i]) && double.IsNaN(sd[i])); continue; }
                double dv = Math.Abs(s[i] - s0[i]), dd = Math.Abs(sd[i] - sd0[i]);
                if (dv > tiny && dv / Math.Abs(s0[i]) > worstValue) (worstValue, worstAt) = (dv / Math.Abs(s0[i]), x[i]);
                if (dd > tiny && dd / Math.Abs(sd0[i]) > worstDerivative) (worstDerivative, worstDAt) = (dd / Math.Abs(sd0[i]), x[i]);
                Assert.True(s[i] == s0[i] || dv <= tol * Math.Abs(s0[i]) || dv <= tiny, $"{level} {act}({x[i]:R}) = {s[i]:R}, scalar {s0[i]:R}");
                Assert.True(sd[i] == sd0[i] || dd <= tol * Math.Abs(sd0[i]) || dd <= tiny, $"{level} {act}'({x[i]:R}) = {sd[i]:R}, scalar {sd0[i]:R}");
            }
            output.WriteLine($"{level} {act}: max relative Δσ = {worstValue / 1.1102230246251565e-16:F2}·2^-53 at u = {worstAt:R}; " +
                             $"max relative Δσ' = {worstDerivative / 1.1102230246251565e-16:F2}·2^-53 at u = {worstDAt:R}");
            // ±0 and ±∞ exactly as the scalar code.
            foreach (double v in new[] { 0.0, -0.0, double.PositiveInfinity, double.NegativeInfinity })
            {
                int i = Array.IndexOf(x, v);
                Assert.Equal(s0[i], s[i]); Assert.Equal(sd0[i], sd[i]);
            }
        }
    }

    [Theory(DisplayName = "VectorActivations float32: every activation but gelu, each SIMD level → within 16 float ulp of the scalar code")]
    [MemberData(nameof(Levels))]
    public void VectorActivationsAgreeInFloat32(SimdLevel level)
    {
        // relu and identity are exact (the 6e-8 bound below is half a float ulp). tanh and softplus run in float
        // arithmetic with the algorithms of the float64 test above, at most 14 and 8 float ulps (2^-24 each)
        // from the exact values, so within 16 ulp = 2^-20. Near the float underflow threshold an absolute
        // 16·2^-126 allows for subnormal rounding. GELU has its own test below.
        var rng = new System.Random(4);
        var x = Enumerable.Range(0, 40099).Select(_ => (float)((rng.NextDouble() - 0.5) * 40)).ToArray();
        foreach (var act in Enum.GetValues<ActivationKind>())
        {
            if (act == ActivationKind.Gelu) continue;
            var s = new float[x.Length]; var sd = new float[x.Length];
            VectorActivations.Evaluate<float>(level, act, x, s, sd);
            for (int i = 0; i < x.Length; i++)
            {
                double v = Activations.Value(act, x[i]), dv = Activations.Derivative(act, x[i]);
                bool exact = act is ActivationKind.Relu or ActivationKind.Identity;
                double tol = exact ? 6.0e-8 : 9.5367431640625e-7, abs = exact ? 1e-45 : 16 * 1.1754943508222875e-38;
                Assert.True(Math.Abs(s[i] - v) <= tol * Math.Abs(v) + abs, $"{level} {act}({x[i]:R}) = {s[i]:R} vs {v:R}");
                Assert.True(Math.Abs(sd[i] - dv) <= tol * Math.Abs(dv) + abs, $"{level} {act}'({x[i]:R}) = {sd[i]:R} vs {dv:R}");
            }
        }
    }

    /// <summary>
    /// The float32 GELU (<c>ActivationKernels512.GeluF</c>) against the accurate float64 GELU at the same float inputs,
    /// u = 2^-24 (a float's unit roundoff). Budget, worst case, every rounding ≤ u relative: e = exp(−t²/2) — the two
    /// roundings of the reduced argument (≤ 0.35u each, |r| ≤ 0.35) ≤ 1u, the polynomial 0.17u from e^r, its five Horner
    /// steps ≤ 5u scaled by |r·p|/(1 + r·p) ≤ 0.6: 3u, the last FMA 1u, the scaling exact while e is normal: ≤ 5.2u; Mills'
    /// rational M: 0.33u from the function (coefficients as rounded), Horner on positive terms ≤ 4u (P) and 5u (Q), the
    /// division 1u: ≤ 10.4u; the tail e·M one more: ≤ 16.6u. Φ = tail for x &lt; 0, 1 − tail ≤ ½·16.6u/½ + 1u otherwise:
    /// ≤ 17.6u; gelu = x·Φ ≤ 18.6u. gelu' = Φ + x·φ with φ = fl(1/√(2π))·e (≤ 7.2u) and one FMA: ≤ 18.6u relative to
    /// |Φ| + |xφ| (the sum cancels near x ≈ −0.75). The float64 reference is within 1e-15 relative. Bound: 19u. Where e
    /// or a result is subnormal (|x| ≳ 13.2), each of e's scaling, the tail, the products and the FMA rounds with
    /// absolute error ≤ 2^-150, carried through |x| ≤ 15 and M ≤ ½: ≤ 15·(½ + 1) + 1 ≤ 24 units of 2^-150 for gelu and
    /// 15·(0.4 + 1) + 1.5 + 1 ≤ 24 for gelu'. Beyond |x| = 15 both sides are 0 or x to within 2^-160.
    /// </summary>
    [Theory(DisplayName = "VectorActivations gelu float32: special values and a dense grid, each SIMD level → within its float error budget of the accurate gelu")]
    [MemberData(nameof(Levels))]
    public void VectorGeluAgreesInFloat32(SimdLevel level)
    {
        const double u = 5.9604644775390625e-8, tol = 19 * u, abs = 24 * 7.006492321624085e-46; // 2^-24; 24·2^-150
        var pts = new List<float> { 0f, -0f, 15f, -15f, 13.2f, -13.2f, 14.5f, -14.5f, 1e-30f, -1e-30f, float.Epsilon, -float.Epsilon,
            1e10f, -1e10f, float.MaxValue, float.MinValue, float.PositiveInfinity, float.NegativeInfinity, float.NaN };
        for (int i = -170000; i <= 170000; i++) pts.Add(i * 1e-4f);
        var rng = new System.Random(4);
        for (int i = 0; i < 40000; i++) pts.Add((float)((rng.NextDouble() - 0.5) * 40));
        var x = pts.ToArray();
        var s = new float[x.Length]; var sd = new float[x.Length];
        VectorActivations.Evaluate<float>(level, ActivationKind.Gelu, x, s, sd);
        double worstValue = 0, worstDerivative = 0, worstAt = 0, worstDAt = 0;
        for (int i = 0; i < x.Length; i++)
        {
            if (float.IsNaN(x[i])) { Assert.True(float.IsNaN(s[i]) && float.IsNaN(sd[i])); continue; }
            double v = Activations.Value(ActivationKind.Gelu, x[i]), dv = Activations.Derivative(ActivationKind.Gelu, x[i]);
            double pdf = SpecialFunctions.NormalPdf(x[i]);
            double cond = Math.Abs(SpecialFunctions.NormalCdf(x[i])) + (pdf == 0 ? 0 : Math.Abs(x[i] * pdf));
            double ev = Math.Abs(s[i] - v), ed = Math.Abs(sd[i] - dv);
            if (double.IsInfinity(v)) ev = s[i] == v ? 0 : double.PositiveInfinity;
            if (ev > abs && ev / Math.Abs(v) > worstValue) (worstValue, worstAt) = (ev / Math.Abs(v), x[i]);
            if (ed > abs && ed / cond > worstDerivative) (worstDerivative, worstDAt) = (ed / cond, x[i]);
            Assert.True(ev <= tol * Math.Abs(v) + abs, $"{level} gelu({x[i]:R}) = {s[i]:R} vs {v:R}");
            Assert.True(ed <= tol * cond + abs, $"{level} gelu'({x[i]:R}) = {sd[i]:R} vs {dv:R}");
        }
        output.WriteLine($"{level}: max |Δgelu|/|gelu| = {worstValue / u:F2}·2^-24 at u = {worstAt:R}; " +
                         $"max |Δgelu'|/(|Φ| + |uφ|) = {worstDerivative / u:F2}·2^-24 at u = {worstDAt:R}");
    }

    [Theory(DisplayName = "ResNet float32: gelu, tanh, relu with threads and checkpoints → matches float64 within float32 rounding")]
    [InlineData(ActivationKind.Gelu, 1, 0)]
    [InlineData(ActivationKind.Gelu, 2, 3)]
    [InlineData(ActivationKind.Tanh, 2, 0)]
    [InlineData(ActivationKind.Relu, 1, 2)]
    public void Float32FastPathMatchesFloat64(ActivationKind act, int threads, int checkpoint)
    {
        // Same bound as EngineGradientTests.Float32EvaluationMatchesFloat64: L = 5 layers of sums of at most
        // 32 terms in float32 (u = 6e-8) give at most ~L·m·u ≈ 1e-5 relative to the largest entries,
        // in practice ~1e-7; 2e-5 separates that from any real difference.
        var s = TestSetting.Random(9, 5, 32, 16, 21, true, 0.25, 0.2);
        var opts = new EngineOptions { Threads = threads, CheckpointSegment = checkpoint };
        var gw = new double[s.W.Length]; var gv = new double[s.V.Length];
        var st = new ResNet<double>(s.Shape, act, s.Data, opts, s.A, s.B).Evaluate(s.W, s.V, gw, gv);
        var net32 = new ResNet<float>(s.Shape, act, s.Data, opts, s.A, s.B);
        var w32 = s.W.Select(x => (float)x).ToArray(); var v32 = s.V.Select(x => (float)x).ToArray();
        var gw32 = new float[w32.Length]; var gv32 = new float[v32.Length];
        var st32 = net32.Evaluate(w32, v32, gw32, gv32);
        Assert.True(EngineGradientTests.RelErr(st.Loss, st32.Loss) < 2e-5, $"loss {st.Loss:R} vs float32 {st32.Loss:R}");
        double scale = Math.Max(gw.Max(Math.Abs), gv.Max(Math.Abs));
        for (int i = 0; i < gw.Length; i++)
        {
            Assert.True(Math.Abs(gw[i] - gw32[i]) <= 2e-5 * scale, $"G^W[{i}]: {gw[i]:R} vs float32 {gw32[i]:R}");
            Assert.True(Math.Abs(gv[i] - gv32[i]) <= 2e-5 * scale, $"G^V[{i}]: {gv[i]:R} vs float32 {gv32[i]:R}");
        }
    }

    [Fact(DisplayName = "Trainer: 2 threads with and without checkpointing → follows the single-thread run")]
    public void TrainerWithThreadsAndCheckpointingFollowsTheSingleThreadRun()
    {
        var spec = new RunSpec
        {
            Depth = 12, Width = 16, Dim = 8, Samples = 40, Activation = ActivationKind.Gelu, Init = InitKind.Iid, VScale = 0.5,
            Eta = 0.01, Iterations = 20, Seed = 3, SnapshotSteps = new[] { 20 },
        };
        var init = spec.InitialWeights();
        TrainRecord Train(int threads, int ck) => Trainer.Train(spec.Shape, spec.Data(), init,
            new TrainOptions(spec.Activation, spec.Eta, spec.Iterations) { Threads = threads, Checkpoint = ck, SnapshotSteps = new[] { 20 } }, spec.Seed, "test");
        var one = Train(1, 0);
        var two = Train(2, 4);
        var twoAgain = Train(2, 0);
        Assert.Equal(RunStatus.Completed, one.Status);
        Assert.True(one.Losses[^1] < 0.95 * one.Losses[0], "the run must move");
        Assert.Equal(two.Losses, twoAgain.Losses);            // checkpointing changes no bit
        Assert.Equal(two.Snapshots[^1].W, twoAgain.Snapshots[^1].W);
        for (int j = 0; j < one.Losses.Length; j++)
            Assert.True(EngineGradientTests.RelErr(two.Losses[j], one.Losses[j]) < 1e-12, $"iteration {j}: {two.Losses[j]:R} vs {one.Losses[j]:R}");
        foreach (var col in TraceColumns.All.Select(c => c.Name))
            for (int j = 0; j < one.Losses.Length; j++)
                Assert.True(Math.Abs(two.Trace[col][j] - one.Trace[col][j]) <= 1e-10 * Math.Max(1, Math.Abs(one.Trace[col][j])), $"{col}[{j}]");
    }

    [Fact(DisplayName = "TrainOptions.EngineFor: automatic threads and checkpoints → depend on the problem's shape and samples only")]
    public void AutomaticEngineOptionsDependOnTheProblemOnly()
    {
        var o = new TrainOptions(ActivationKind.Gelu, 0.01, 1);
        Assert.Equal(2, o.EngineFor(NetworkShape.Square(64, 64, 16), 50).Threads);
        Assert.Equal(1, o.EngineFor(NetworkShape.Square(64, 64, 16), 20).Threads);
        Assert.Equal(1, o.EngineFor(NetworkShape.Square(8, 6, 3), 40).Threads);
        Assert.Equal(2, o.EngineFor(NetworkShape.Square(1024, 32, 16), 100).Threads);
        Assert.Equal(0, o.EngineFor(NetworkShape.Square(1024, 32, 16), 100).CheckpointSegment);
        var deep = o.EngineFor(NetworkShape.Square(16384, 32, 16), 100);
        Assert.Equal(128, deep.CheckpointSegment);
        Assert.Equal((int)(TrainOptions.AutoCheckpointBytes / ((16 + 2 * 32) * 100 * 8)), deep.CheckpointKeepLast);
        Assert.Equal(3, (o with { Threads = 3, Checkpoint = 5 }).EngineFor(NetworkShape.Square(8, 4, 2), 10).Threads);
    }
}
