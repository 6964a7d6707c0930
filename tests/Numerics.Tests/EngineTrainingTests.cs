using System.Text.Json;
using ResOdeProofs.Numerics.IO;
using ResOdeProofs.Numerics.Model;
using ResOdeProofs.Numerics.Training;

namespace ResOdeProofs.Numerics.Tests;

public sealed class EngineTrainingTests : IDisposable
{
    private readonly NpyTestUtil _tmp = new();

    public void Dispose() => _tmp.Dispose();

    private static double RelErr(double a, double b) => EngineGradientTests.RelErr(a, b);

    private static RunSpec Small(ActivationKind act = ActivationKind.Gelu, InitKind init = InitKind.Iid, double vScale = 0.5,
        int iterations = 30, long seed = 11) => new()
    {
        Depth = 8, Width = 6, Dim = 3, Samples = 5, Activation = act, Init = init, VScale = vScale,
        Eta = 0.05, Iterations = iterations, Seed = seed,
    };

    private static (double[] Losses, double[] W, double[] V) ReferenceRun(RunSpec spec)
    {
        var init = spec.InitialWeights();
        return Reference.GradientDescent(spec.Shape, spec.Activation, spec.Data(), null, null, init.W, init.V, spec.Eta, spec.Iterations);
    }

    // ------------------------------------------------------------------ reference trajectories

    [Theory(DisplayName = "Trainer: gradient descent → follows the reference")]
    [InlineData(ActivationKind.Gelu, InitKind.Tied, 0.0)]
    [InlineData(ActivationKind.Tanh, InitKind.Tied, 0.0)]
    [InlineData(ActivationKind.Gelu, InitKind.Iid, 0.5)]
    [InlineData(ActivationKind.Tanh, InitKind.Iid, 0.5)]
    [InlineData(ActivationKind.Softplus, InitKind.Smooth, 0.5)]
    public void TrainerFollowsTheReferenceGradientDescent(ActivationKind act, InitKind init, double vScale)
    {
        var spec = Small(act, init, vScale) with { SnapshotSteps = new[] { 30 } };
        var res = spec.Train();
        var (losses, w, v) = ReferenceRun(spec);
        Assert.Equal(RunStatus.Completed, res.Status);
        Assert.Equal(31, res.Losses.Length);
        for (int j = 0; j <= 30; j++)
            Assert.True(RelErr(res.Losses[j], losses[j]) < 1e-10, $"iteration {j}: loss {res.Losses[j]:R} vs reference {losses[j]:R}");
        // The run must actually move: otherwise agreement says little.
        Assert.True(losses[30] < 0.95 * losses[0], $"loss went from {losses[0]} to {losses[30]}");
        // Final weights agree as well.
        Assert.Equal(30, res.SnapshotSteps[^1]);
        double scale = Math.Max(w.Max(Math.Abs), v.Max(Math.Abs));
        for (int i = 0; i < w.Length; i++)
        {
            Assert.True(Math.Abs(res.Snapshots[^1].W[i] - w[i]) <= 1e-10 * scale);
            Assert.True(Math.Abs(res.Snapshots[^1].V[i] - v[i]) <= 1e-10 * scale);
        }
    }

    [Fact(DisplayName = "Trainer: embedding A and read-out B → the reference gradient descent's losses")]
    public void TrainerWithEmbeddingAndReadOutFollowsTheReference()
    {
        var s = TestSetting.Random(77, 6, 5, 3, 5, general: true);
        var init = Initialization.FromArrays(s.Shape, s.W, s.V, "test");
        var opts = new TrainOptions(ActivationKind.Tanh, 0.02, 25);
        var res = Trainer.Train(s.Shape, s.Data, init, opts, 0, "test", s.A, s.B);
        var (losses, _, _) = Reference.GradientDescent(s.Shape, ActivationKind.Tanh, s.Data, s.A, s.B, s.W, s.V, 0.02, 25);
        for (int j = 0; j <= 25; j++)
            Assert.True(RelErr(res.Losses[j], losses[j]) < 1e-10, $"iteration {j}: {res.Losses[j]:R} vs {losses[j]:R}");
        Assert.True(losses[25] < losses[0]);
    }

    [Fact(DisplayName = "EngineFault.StaleGradient: a small run → leaves the reference trajectory, the faithful run does not")]
    public void StaleGradientFaultLeavesTheReferenceTrajectory()
    {
        var spec = Small(iterations: 20);
        var (losses, _, _) = ReferenceRun(spec);
        var faithful = spec.Train();
        var stale = (spec with { Fault = EngineFault.StaleGradient }).Train();
        double worstFaithful = 0, worstStale = 0;
        for (int j = 0; j <= 20; j++)
        {
            worstFaithful = Math.Max(worstFaithful, RelErr(faithful.Losses[j], losses[j]));
            worstStale = Math.Max(worstStale, RelErr(stale.Losses[j], losses[j]));
        }
        Assert.True(worstFaithful < 1e-10);
        // The first update uses the current gradient, so iterates 0 and 1 coincide; later ones do not.
        Assert.True(RelErr(stale.Losses[1], losses[1]) < 1e-10);
        Assert.True(worstStale > 1e-6, $"stale-gradient trajectory is indistinguishable from GD ({worstStale:E3})");
    }

    // ------------------------------------------------------------------ determinism and precision

    private static void AssertBitIdentical(double[] a, double[] b, string what)
    {
        Assert.Equal(a.Length, b.Length);
        for (int i = 0; i < a.Length; i++)
            Assert.True(BitConverter.DoubleToInt64Bits(a[i]) == BitConverter.DoubleToInt64Bits(b[i]), $"{what}[{i}]: {a[i]:R} vs {b[i]:R}");
    }

    [Theory(DisplayName = "Trainer: the same spec twice → bit-identical runs")]
    [InlineData(InitKind.Tied, 0.0)]
    [InlineData(InitKind.Smooth, 0.3)]
    [InlineData(InitKind.Iid, 0.5)]
    public void SameSpecGivesBitIdenticalRuns(InitKind init, double vScale)
    {
        var spec = Small(ActivationKind.Gelu, init, vScale, iterations: 15) with { Clip = 0.5 };
        var r1 = spec.Train();
        var r2 = spec.Train();
        AssertBitIdentical(r1.Losses, r2.Losses, "losses");
        Assert.Equal(r1.SnapshotSteps, r2.SnapshotSteps);
        for (int s = 0; s < r1.Snapshots.Count; s++)
        {
            AssertBitIdentical(r1.Snapshots[s].W, r2.Snapshots[s].W, $"W snapshot {s}");
            AssertBitIdentical(r1.Snapshots[s].V, r2.Snapshots[s].V, $"V snapshot {s}");
        }
        Assert.Equal(r1.Trace.Keys.OrderBy(k => k), r2.Trace.Keys.OrderBy(k => k));
        foreach (var (name, col) in r1.Trace) AssertBitIdentical(col, r2.Trace[name], name);

        var other = (spec with { Seed = spec.Seed + 1 });
        Assert.NotEqual(spec.Data().X, other.Data().X);
        Assert.NotEqual(spec.Data().Y, other.Data().Y);
        Assert.NotEqual(spec.InitialWeights().W, other.InitialWeights().W);
        Assert.NotEqual(r1.Losses[0], other.Train().Losses[0]);
    }

    [Theory(DisplayName = "Trainer float32: losses → track float64")]
    [InlineData(ActivationKind.Gelu)]
    [InlineData(ActivationKind.Tanh)]
    public void Float32LossesTrackFloat64(ActivationKind act)
    {
        // float32 has unit roundoff u = 6e-8. One forward pass sums O(L·m) = O(50) terms per state
        // coordinate, so hidden states carry relative errors of at most ~L·m·u ≈ 3e-6 (in practice
        // ~1e-7: rounding errors are not aligned); the loss accumulates in double; the residuals
        // h_L − y do not cancel strongly (the loss falls by at most ~10× over these 20 short steps,
        // a factor ~3 on the residuals) and GD at η = 0.05 barely amplifies perturbations over 20
        // steps. Observed deviations are ~1e-7, so 1e-4 has a wide margin, yet any float32 path
        // that computed something else (a wrong step, a wrong loss) would miss it by far.
        var spec = Small(act, iterations: 20);
        var r64 = spec.Train();
        var r32 = (spec with { Float32 = true }).Train();
        Assert.Equal(RunStatus.Completed, r32.Status);
        double worst = 0;
        for (int j = 0; j <= 20; j++) worst = Math.Max(worst, RelErr(r32.Losses[j], r64.Losses[j]));
        Assert.True(worst < 1e-4, $"float32 deviates from float64 by {worst:E3}");
        Assert.True(worst > 1e-12, "float32 losses are identical to float64: the float32 path was not taken");
        Assert.Equal("float32", RunDirectory.Metadata(r32).Precision);
    }

    // ------------------------------------------------------------------ clipping

    private static double LayerStepNorm(double[] w0, double[] v0, double[] w1, double[] v1, int k, int md)
    {
        double s = 0;
        for (int i = k * md; i < (k + 1) * md; i++) { double a = w1[i] - w0[i], b = v1[i] - v0[i]; s += a * a + b * b; }
        return Math.Sqrt(s);
    }

    [Fact(DisplayName = "Trainer --clip: tiny radius → every layer update bounded by it")]
    public void TinyClipRadiusBoundsEveryLayerUpdate()
    {
        const double c = 1e-3;
        var spec = Small(iterations: 10) with { Clip = c, SnapshotSteps = Enumerable.Range(0, 11).ToArray() };
        var res = spec.Train();
        Assert.Equal(RunStatus.Completed, res.Status);
        Assert.Equal(Enumerable.Range(0, 11), res.SnapshotSteps);
        double bound = spec.Eta * c;
        int md = spec.Shape.LayerSize;
        for (int j = 0; j < 10; j++)
        {
            Assert.True(res.Trace["step_max"][j] <= bound * (1 + 1e-12), $"step_max[{j}] = {res.Trace["step_max"][j]:R} > η·C = {bound:R}");
            Assert.True(res.Trace["clip_fraction"][j] > 0, $"clip_fraction[{j}] = 0 with a tiny radius");
            // The update actually applied to each layer, measured from consecutive snapshots. The
            // subtraction w^{j+1} − w^j is exact (Sterbenz), but w^{j+1} itself was rounded: relative
            // error ~ε·|w|/|Δw| ≈ 1e-16/1e-6, hence the looser 1e-8.
            for (int k = 0; k < spec.Depth; k++)
            {
                double step = LayerStepNorm(res.Snapshots[j].W, res.Snapshots[j].V, res.Snapshots[j + 1].W, res.Snapshots[j + 1].V, k, md);
                Assert.True(step <= bound * (1 + 1e-8), $"layer {k} moved by {step:R} > η·C at update {j}");
                // With every gradient far outside the ball, each update has norm exactly η·C.
                Assert.True(step >= bound * (1 - 1e-8), $"layer {k} moved by {step:R} < η·C at update {j}");
            }
        }
        Assert.Equal(1.0, res.Trace["clip_fraction"][0]);
        Assert.Equal("clipped-gd", RunDirectory.Metadata(res).Optimizer);
    }

    [Fact(DisplayName = "Trainer --clip: huge radius → plain gradient descent")]
    public void HugeClipRadiusIsPlainGradientDescent()
    {
        var spec = Small(iterations: 15);
        var plain = spec.Train();
        var clipped = (spec with { Clip = 1e300 }).Train();
        AssertBitIdentical(plain.Losses, clipped.Losses, "losses");
        for (int s = 0; s < plain.Snapshots.Count; s++)
        {
            AssertBitIdentical(plain.Snapshots[s].W, clipped.Snapshots[s].W, "W");
            AssertBitIdentical(plain.Snapshots[s].V, clipped.Snapshots[s].V, "V");
        }
        Assert.All(clipped.Trace["clip_fraction"], f => Assert.Equal(0.0, f));
        AssertBitIdentical(plain.Trace["step_max"], clipped.Trace["step_max"], "step_max");
    }

    // ------------------------------------------------------------------ initializations

    [Theory(DisplayName = "Initialization.Tied: v-scale 0 and 0.7 → every layer equal to the first, V zero when its scale is")]
    [InlineData(0.0)]
    [InlineData(0.7)]
    public void TiedInitializationHasEqualLayers(double vScale)
    {
        var shape = NetworkShape.Square(7, 5, 3);
        var init = Initialization.Tied(shape, 3, 1.0, vScale);
        int md = shape.LayerSize;
        for (int k = 1; k < shape.Depth; k++)
            for (int i = 0; i < md; i++)
            {
                Assert.Equal(init.W[i], init.W[k * md + i]);
                Assert.Equal(init.V[i], init.V[k * md + i]);
            }
        if (vScale == 0) Assert.All(init.V, x => Assert.Equal(0.0, x));
        else Assert.Contains(init.V, x => x != 0);
        Assert.Contains(init.W, x => x != 0);
        Assert.Equal(0.0, init.Info.LipschitzTheta);
        Assert.Equal(0.0, init.Info.MaxIncrementTimesDepth);
        Assert.Equal(0.0, Initialization.MaxIncrement(shape, init.W, init.V));
        // The default RunSpec initialization is the paper's: tied with V = 0.
        var spec = new RunSpec { Depth = 5, Width = 4, Dim = 3, Seed = 9 };
        Assert.All(spec.InitialWeights().V, x => Assert.Equal(0.0, x));
    }

    [Theory(DisplayName = "init smooth: layer increments → shrink like 1/L")]
    [InlineData(0.0)]
    [InlineData(0.5)]
    public void SmoothInitializationIncrementsShrinkLikeOneOverDepth(double vScale)
    {
        var depths = new[] { 4, 16, 64, 256 };
        var inc = new double[depths.Length];
        double? lip = null;
        for (int t = 0; t < depths.Length; t++)
        {
            int L = depths[t];
            var shape = NetworkShape.Square(L, 6, 3);
            var init = Initialization.Smooth(shape, 21, 1.0, vScale, modes: 3);
            inc[t] = Initialization.MaxIncrement(shape, init.W, init.V);
            double lz = init.Info.LipschitzTheta ?? throw new Xunit.Sdk.XunitException("smooth must report a Lipschitz constant");
            Assert.True(lz > 0);
            lip ??= lz;
            Assert.Equal(lip.Value, lz); // the same function of depth for every L
            Assert.True(inc[t] <= lz / L, $"L = {L}: max increment {inc[t]:R} exceeds Lip/L = {lz / L:R}");
            Assert.True(RelErr(init.Info.MaxIncrementTimesDepth, inc[t] * L) < 1e-14);
            if (vScale == 0) Assert.All(init.V, x => Assert.Equal(0.0, x));
        }
        // L·increment converges to sup ‖dZ⁰/ds‖: nearly equal at L = 64 and 256, and from L = 16 on
        // (where the highest mode, period 1/3, is sampled finely enough) each ×4 in depth divides
        // the increment by about 4.
        Assert.True(RelErr(inc[2] * 64, inc[3] * 256) < 0.05, $"L·inc: {inc[2] * 64} vs {inc[3] * 256}");
        for (int t = 2; t < depths.Length; t++)
        {
            double ratio = inc[t - 1] / inc[t];
            Assert.True(ratio > 3.5 && ratio < 4.5, $"increment ratio L={depths[t - 1]} → {depths[t]}: {ratio}");
        }
    }

    [Fact(DisplayName = "init iid: layer increments → do not shrink")]
    public void IidInitializationIncrementsDoNotShrink()
    {
        double first = 0;
        foreach (int L in new[] { 4, 16, 64, 256 })
        {
            var shape = NetworkShape.Square(L, 6, 3);
            var init = Initialization.Iid(shape, 5, 1.0, 0.5);
            double inc = Initialization.MaxIncrement(shape, init.W, init.V);
            if (L == 4) first = inc;
            // ‖Z_{k+1} − Z_k‖_F² is a sum of 18 entries of variance 2 and 18 of variance 0.5: about √45 ≈ 6.7.
            Assert.True(inc > 0.5 * first && inc > 3, $"L = {L}: max increment {inc}");
            Assert.Null(init.Info.LipschitzTheta);
            Assert.True(RelErr(init.Info.MaxIncrementTimesDepth, inc * L) < 1e-14);
        }
    }

    // ------------------------------------------------------------------ trace

    [Theory(DisplayName = "Trainer trace: every column → consistent with the weights")]
    [InlineData(InitKind.Smooth, 0.3)]
    [InlineData(InitKind.Iid, 0.5)]
    [InlineData(InitKind.Tied, 0.0)]
    public void TraceColumnsAreConsistent(InitKind kind, double vScale)
    {
        var spec = Small(ActivationKind.Gelu, kind, vScale, iterations: 60);
        var init = spec.InitialWeights();
        var res = spec.Train();
        Assert.Equal(RunStatus.Completed, res.Status);
        int N = 60, L = spec.Depth, m = spec.Width, d = spec.Dim, md = m * d;
        foreach (var (name, _) in TraceColumns.All) Assert.Equal(N + 1, res.Trace[name].Length);

        double inc0 = Initialization.MaxIncrement(spec.Shape, init.W, init.V);
        Assert.True(Math.Abs(res.Trace["smooth_z"][0] - inc0) <= 1e-12 * inc0, $"smooth_z[0] {res.Trace["smooth_z"][0]:R} vs {inc0:R}");
        AssertBitIdentical(res.Losses, res.Trace["loss"], "trace loss");
        for (int j = 0; j <= N; j++)
        {
            double g2 = res.Trace["grad_norm"][j] * res.Trace["grad_norm"][j];
            double lhs = res.Trace["pl_ratio"][j] * L * res.Losses[j];
            Assert.True(RelErr(lhs, g2) < 1e-12, $"iteration {j}: pl_ratio·L·loss = {lhs:R}, grad_norm² = {g2:R}");
            Assert.True(res.Trace["preact_min"][j] <= res.Trace["preact_max"][j]);
        }
        // The Frobenius maximum at the last iterate against the last snapshot.
        Assert.Equal(N, res.SnapshotSteps[^1]);
        double wFro = 0;
        for (int k = 0; k < L; k++)
        {
            double f = 0;
            for (int i = k * md; i < (k + 1) * md; i++) f += res.Snapshots[^1].W[i] * res.Snapshots[^1].W[i];
            wFro = Math.Max(wFro, Math.Sqrt(f));
        }
        Assert.True(RelErr(res.Trace["w_fro_max"][N], wFro) < 1e-13);
    }

    // ------------------------------------------------------------------ divergence

    [Theory(DisplayName = "Trainer: huge step → status diverged, run written")]
    [InlineData(1e6)]   // the weights stay finite, the loss overflows a few iterations later
    [InlineData(1e308)] // the first update itself overflows the weights
    public void HugeStepDivergesCleanlyAndIsWritten(double eta)
    {
        var spec = Small(iterations: 10) with { Eta = eta };
        var res = spec.Train();
        Assert.Equal(RunStatus.Diverged, res.Status);
        Assert.NotNull(res.DivergedAt);
        Assert.False(string.IsNullOrEmpty(res.DivergenceReason));
        int at = res.DivergedAt!.Value;
        Assert.InRange(at, 1, 10);
        Assert.Equal(at + 1, res.Losses.Length);
        Assert.True(double.IsFinite(res.Losses[0]));
        Assert.All(res.Trace.Values, col => Assert.Equal(res.Losses.Length, col.Length));
        Assert.All(res.SnapshotSteps, s => Assert.True(s < at));
        Assert.Equal(0, res.SnapshotSteps[0]);
        if (eta == 1e308)
        {
            Assert.Equal(1, at);
            Assert.Contains("weight", res.DivergenceReason);
            Assert.True(double.IsNaN(res.Losses[1]));
        }

        var dir = _tmp.File("diverged");
        RunDirectory.Write(res, dir);
        var back = RunDirectory.Read(dir);
        Assert.True(back.Diverged);
        Assert.Equal(at, back.Meta.DivergedAt);
        Assert.Equal(res.Losses.Length, back.Losses.Length);
        Assert.Equal(res.SnapshotSteps, back.Steps);
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "run.json")));
        Assert.Equal("diverged", json.RootElement.GetProperty("status").GetString());
        Assert.Equal(at, json.RootElement.GetProperty("diverged_at").GetInt32());
    }

    [Fact(DisplayName = "Trainer: non-finite from the start → written without snapshots")]
    public void RunThatIsNonFiniteFromTheStartIsWrittenWithoutSnapshots()
    {
        // Entries of 1e200 overflow h_1 = h_0 + (1/L)·V·σ(W h_0) at once: the loss at iteration 0 is not finite.
        var shape = NetworkShape.Square(3, 4, 2);
        var w = Enumerable.Repeat(1e200, shape.Depth * shape.LayerSize).ToArray();
        var init = Initialization.FromArrays(shape, w, (double[])w.Clone(), "overflowing weights");
        var data = Dataset.SyntheticGaussian(4, 2, 2, 1);
        var res = Trainer.Train(shape, data, init, new TrainOptions(ActivationKind.Identity, 0.1, 5), 1, "test");
        Assert.Equal(RunStatus.Diverged, res.Status);
        Assert.Equal(0, res.DivergedAt);
        Assert.Single(res.Losses);
        Assert.False(double.IsFinite(res.Losses[0]));
        Assert.Empty(res.SnapshotSteps);
        var dir = _tmp.File("diverged-at-0");
        RunDirectory.Write(res, dir);
        var back = RunDirectory.Read(dir);
        Assert.True(back.Diverged);
        Assert.Empty(back.Steps);
        Assert.Empty(back.W);
        Assert.Equal(shape.Depth, back.Shape.Depth);
    }
}
