using System.Diagnostics;
using ResOdeProofs.Numerics;
using ResOdeProofs.Numerics.IO;
using ResOdeProofs.Numerics.Ode;
using ResOdeProofs.Numerics.Tests.Limit;
using ResOdeProofs.Numerics.Training;
using Xunit.Abstractions;

namespace ResOdeProofs.Numerics.Tests;

/// <summary>
/// The integrated gradient flow (<see cref="GradientFlow"/>) and the neural-ODE limit object
/// (<see cref="ResNetWithLimit"/>). The ResNet-forward-to-ODE-forward order at fixed weights (order 1 for
/// smooth weights, no convergence for iid weights) is tested in <see cref="OdeTests"/> and by result B
/// (B.rate with its iid negative control) in the property suite; here it is only checked through the limit object.
/// </summary>
public class GradientFlowTests(ITestOutputHelper output)
{
    /// <summary>A small setting: L = 8, m = 8, d = 3, n = 6, tied W, V = 0, GELU.</summary>
    private static readonly RunSpec Small = new() { Depth = 8, Width = 8, Dim = 3, Samples = 6, Init = InitKind.Tied, Scale = 0.5, Seed = 11, Snapshots = 3 };

    private static double Slope(double[] x, double[] y)
    {
        var lx = x.Select(v => Math.Log(v)).ToArray(); var ly = y.Select(v => Math.Log(v)).ToArray();
        double mx = lx.Average(), my = ly.Average();
        return lx.Zip(ly, (a, b) => (a - mx) * (b - my)).Sum() / lx.Sum(a => (a - mx) * (a - mx));
    }

    /// <summary>
    /// Gradient descent is the explicit Euler scheme of the flow: with η = T/N, max_j |ℓ_GD(t_j) − ℓ_GF(t_j)|
    /// over the coarse grid t_j = j·T/10 is O(η). The flow is integrated at rtol 1e-11 (its error is below
    /// 1e-8 of the smallest GD error on the ladder); the fitted order over N = 20..320 is within ±0.3 of 1.
    /// </summary>
    [Fact(DisplayName = "GradientFlow: gradient descent as η → 0 → converges to the flow at order 1")]
    public void Gradient_descent_converges_to_the_flow_at_order_one_in_eta()
    {
        const double T = 1.0;
        var flow = Small.With(eta: T / 10, iterations: 10).TrainFlow(1e-11, 1e-13);
        var ns = new[] { 20, 40, 80, 160, 320 };
        var etas = new double[ns.Length]; var errs = new double[ns.Length];
        for (int a = 0; a < ns.Length; a++)
        {
            int n = ns[a], every = n / 10;
            var gd = Small.With(eta: T / n, iterations: n).Train();
            etas[a] = T / n;
            errs[a] = Enumerable.Range(0, 11).Max(j => Math.Abs(gd.Losses[j * every] - flow.Losses[j]));
        }
        double p = Slope(etas, errs);
        output.WriteLine($"GD -> GF: errors {string.Join(", ", errs.Select(e => e.ToString("E3")))} at eta = {string.Join(", ", etas)}; observed order {p:F3}");
        output.WriteLine($"flow: {flow.Flow!.Steps} steps, {flow.Flow.Rejected} rejected, {flow.Flow.Evaluations} evaluations; loss {flow.Losses[0]:G6} -> {flow.Losses[^1]:G6}");
        Assert.InRange(p, 0.7, 1.3);
    }

    /// <summary>
    /// A flow stopped at an output (interrupted) records the integrator's counts that reached that output: the same as the
    /// whole integration's counts at that output (it
    /// recorded 0 steps, and another producer's allowance 2(s_p + 1)·rtol_p was built from that 0).
    /// </summary>
    [Fact(DisplayName = "GradientFlow: interrupted at output 5 of 10 → the steps and evaluations that reached output 5 recorded (some, fewer than the whole run's), not 0")]
    public void An_interrupted_flow_records_the_steps_it_took()
    {
        var spec = Small.With(eta: 0.1, iterations: 10);
        var cancel = new CancellationTokenSource();
        var opts = new FlowOptions(spec.Activation, 1.0, 10) { Rtol = 1e-8, Atol = 1e-10, Snapshots = 3, Cancel = cancel.Token, Progress = (j, _, _) => { if (j == 5) cancel.Cancel(); } };
        var stopped = GradientFlow.Train(spec.Shape, spec.Data(), spec.InitialWeights(), opts, spec.Seed, "synthetic");
        Assert.Equal(RunStatus.Interrupted, stopped.Status);
        Assert.Equal(6, stopped.Losses.Length);
        var whole = GradientFlow.Train(spec.Shape, spec.Data(), spec.InitialWeights(), opts with { Cancel = default, Progress = null }, spec.Seed, "synthetic");
        Assert.True(stopped.Flow!.Steps > 0, "no step recorded");
        Assert.InRange(stopped.Flow.Steps, 1, whole.Flow!.Steps);
        Assert.True(stopped.Flow.Evaluations > stopped.Flow.Steps);
        output.WriteLine($"interrupted at output 5: {stopped.Flow.Steps} steps, {stopped.Flow.Rejected} rejected, {stopped.Flow.Evaluations} evaluations; whole run {whole.Flow.Steps} steps");
    }

    /// <summary>
    /// dℓ/dt = −r·ℓ ≤ 0: the loss at the output times does not increase beyond the integration error, bounded
    /// by 2·(steps + 1)·rtol·ℓ (each accepted step adds at most rtol relative error in the weighted norm, and
    /// the quadratic loss doubles a relative error of the outputs).
    /// </summary>
    [Fact(DisplayName = "GradientFlow: loss → non-increasing")]
    public void The_flow_loss_is_non_increasing()
    {
        const double rtol = 1e-8;
        var run = Small.With(eta: 0.05, iterations: 60).TrainFlow(rtol, 1e-10);
        Assert.Equal(RunStatus.Completed, run.Status);
        double allowance = 2.0 * (run.Flow!.Steps + 1) * rtol;
        for (int j = 0; j + 1 < run.Losses.Length; j++)
            Assert.True(run.Losses[j + 1] <= run.Losses[j] * (1 + allowance), $"loss rises at output {j}: {run.Losses[j]:R} -> {run.Losses[j + 1]:R}");
        output.WriteLine($"T = 3, 60 outputs: {run.Flow.Steps} steps, {run.Flow.Rejected} rejected; loss {run.Losses[0]:G6} -> {run.Losses[^1]:G6}");
    }

    /// <summary>
    /// The trace obeys the flow identity dℓ/dt = −pl_ratio·ℓ. The derivative is the central difference
    /// D(δ) = (ℓ(t+δ) − ℓ(t−δ))/(2δ) of the solution at extra output times t ± δ, t ± 2δ. Its truncation error is
    /// ℓ'''δ²/6 + O(δ⁴), estimated by |D(2δ) − D(δ)|/3 (D(2δ) − D(δ) = ℓ'''δ²/2); the integration error of the
    /// losses (≤ 2(steps + 1)·rtol·ℓ, as above) enters divided by δ. Tolerance: twice the truncation estimate plus
    /// that term plus float64 rounding 1e-15·ℓ/δ.
    /// </summary>
    [Fact(DisplayName = "GradientFlow: the trace's PL ratio against finite differences of the loss → obeys dℓ/dt = −‖G‖²/L")]
    public void The_trace_obeys_the_flow_identity()
    {
        const double T = 2.0, rtol = 1e-12, delta = 1e-3;
        var centers = new[] { 0.5, 1.0, 1.5 };
        var times = new SortedSet<double> { 0, T };
        foreach (var c in centers) foreach (var k in new[] { -2, -1, 0, 1, 2 }) times.Add(c + k * delta);
        var ts = times.ToArray();
        var run = Small.With(eta: 0.1, iterations: 20).TrainFlow(rtol, 1e-14, horizon: T, outputTimes: ts);
        var pl = run.Trace["pl_ratio"];
        double intErr = 2.0 * (run.Flow!.Steps + 1) * rtol;
        foreach (var c in centers)
        {
            int i = Array.IndexOf(ts, c);
            double l = run.Losses[i];
            double d1 = (run.Losses[i + 1] - run.Losses[i - 1]) / (2 * delta);
            double d2 = (run.Losses[i + 2] - run.Losses[i - 2]) / (4 * delta);
            double expected = -pl[i] * l;
            double tol = 2 * Math.Abs(d2 - d1) / 3 + intErr * l / delta + 1e-15 * l / delta;
            output.WriteLine($"t = {c}: FD dℓ/dt = {d1:R}, −r·ℓ = {expected:R}, |diff| = {Math.Abs(d1 - expected):E2}, tolerance {tol:E2}");
            Assert.True(expected <= 0);
            Assert.True(Math.Abs(d1 - expected) <= tol, $"dℓ/dt = {d1} vs −r·ℓ = {expected} at t = {c} (tolerance {tol:E2})");
        }
    }

    /// <summary>
    /// The clipped flow moves each layer at speed ‖dZ_k/dt‖_F = min(‖G_k‖, C) ≤ C, so over an output interval
    /// Δt, ‖Z_k(t + Δt) − Z_k(t)‖_F ≤ C·Δt (up to the integration error (steps + 1)·(rtol·max|Z| + atol)·√(size),
    /// a crude bound on the weighted-RMS local errors accumulated); the clip is active (C below the initial max ‖G_k‖).
    /// The loss still does not increase (dℓ/dt = −Σ_k c_k‖G_k‖²/L ≤ 0).
    /// </summary>
    [Fact(DisplayName = "GradientFlow --clip: a radius below the initial gradient → every step within C·Δt, the loss non-increasing")]
    public void The_clipped_flow_respects_the_radius()
    {
        const double rtol = 1e-9, atol = 1e-11;
        var probe = Small.With(eta: 0.05, iterations: 1).Train();
        double gmax = Math.Max(probe.Trace["grad_w_max"][0], probe.Trace["grad_v_max"][0]);
        double c = 0.3 * gmax;
        var spec = Small.With(eta: 0.05, iterations: 40) with { Clip = c };
        var run = spec.TrainFlow(rtol, atol);
        Assert.True(run.Trace["clip_fraction"][0] > 0, "the clip is active at t = 0");
        double zmax = Math.Max(run.Trace["w_fro_max"].Max(), run.Trace["v_fro_max"].Max());
        int size = 2 * spec.Shape.LayerSize;
        double intErr = (run.Flow!.Steps + 1) * (rtol * zmax + atol) * Math.Sqrt(size);
        for (int j = 0; j + 1 < run.Losses.Length; j++)
        {
            Assert.True(run.Trace["step_max"][j] <= c * 0.05 + intErr, $"output {j}: step {run.Trace["step_max"][j]} > C·Δt = {c * 0.05}");
            Assert.True(run.Losses[j + 1] <= run.Losses[j] * (1 + 2.0 * (run.Flow.Steps + 1) * rtol));
        }
        var meta = RunDirectory.Metadata(run);
        Assert.Equal("clipped-gf", meta.Optimizer);
        output.WriteLine($"clipped flow, C = {c:G4}: max step/(CΔt) = {run.Trace["step_max"][..^1].Max() / (c * 0.05):F4}; clip fraction at 0: {run.Trace["clip_fraction"][0]}; {run.Flow.Steps} steps, {run.Flow.Rejected} rejected");
    }

    /// <summary>A flow run directory round-trips with the gf fields, one loss per output time and eta = T/N.</summary>
    [Fact(DisplayName = "GradientFlow run directory: write then read → the same run")]
    public void A_flow_run_directory_round_trips()
    {
        var run = Small.With(eta: 0.05, iterations: 8).TrainFlow(1e-8, 1e-10);
        var dir = Path.Combine(Path.GetTempPath(), "resode-gf-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            RunDirectory.Write(run, dir);
            var back = RunDirectory.Read(dir);
            Assert.Equal("gf", back.Meta.Optimizer);
            Assert.Equal(0.4, back.Meta.Horizon!.Value, 15);
            Assert.Equal(0.05, back.Eta, 15);
            Assert.Equal(0.05, back.Meta.Dt!.Value, 15);
            Assert.Equal(9, back.Losses.Length);
            Assert.Equal(run.Flow!.Steps, back.Meta.OdeSteps);
            Assert.Equal(run.Flow.Rejected, back.Meta.OdeRejected);
            Assert.Equal(run.Losses, back.Losses);
        }
        finally { if (Directory.Exists(dir)) Directory.Delete(dir, true); }
    }

    /// <summary>
    /// The limit object: for a smooth initialization the finite network's distance to its limit decays at order 1
    /// in L (fitted over L = 8..64, within ±0.3) with the limit's integration error below 1e-3 of every distance;
    /// an iid initialization has no limit. Also reports the cost of the limit's solve against a 2^14-layer ResNet.
    /// </summary>
    [Fact(DisplayName = "ResNetWithLimit: depths 8 to 64 → distance to the limit at order 1, cheaper than a deep reference")]
    public void The_limit_object_converges_at_order_one_and_costs_less_than_a_deep_reference()
    {
        var depths = new[] { 8, 16, 32, 64 };
        var baseSpec = new RunSpec { Width = 32, Dim = 16, Samples = 20, Init = InitKind.Smooth, Scale = 0.25, VScale = 0.18, Seed = 1 };
        var dists = new double[depths.Length];
        LimitDistance? last = null;
        ResNetWithLimit? lim64 = null;
        for (int a = 0; a < depths.Length; a++)
        {
            var lim = ResNetWithLimit.Create(baseSpec.With(depth: depths[a]));
            var dist = lim.Distance();
            dists[a] = dist.MaxDistance;
            Assert.True(dist.IntegrationError <= 1e-3 * dist.MaxDistance, $"integration error {dist.IntegrationError:E2} vs distance {dist.MaxDistance:E2}");
            last = dist; lim64 = lim;
        }
        double p = -Slope(depths.Select(x => (double)x).ToArray(), dists);
        double tRef = lim64!.ReferenceSeconds(1 << 14, out var deep);
        var sol = lim64.LimitOutputs();
        double deepErr = deep.Zip(sol.Outputs, (x, y) => Math.Abs(x - y)).Max();
        output.WriteLine($"distance to the limit at L = {string.Join(", ", depths)}: {string.Join(", ", dists.Select(x => x.ToString("E3")))}; observed order {p:F3}");
        output.WriteLine($"limit solve: {last!.OdeSeconds:F3} s, {last.OdeSteps} steps, {last.OdeRejected} rejected, {last.OdeEvaluations} evaluations, integration error {last.IntegrationError:E2}; " +
                         $"2^14-layer reference: {tRef:F3} s, its distance to the limit {deepErr:E2}");
        Assert.InRange(p, 0.7, 1.3);
        Assert.Null(ResNetWithLimit.Create(baseSpec.With(depth: 8, init: InitKind.Iid)).Limit);
    }

    /// <summary>
    /// The limit training dynamics by Richardson extrapolation over gradient-flow runs at L, 2L, 4L: reports the
    /// extrapolated loss with its error estimate |R_4L − R_2L| and checks that the extrapolation is consistent:
    /// the error estimate is below the first-order correction |ℓ_4L − R_4L| it removes, at the last output time.
    /// </summary>
    [Fact(DisplayName = "ResNetWithLimit.TrainingLimit: Richardson over depths → removes more than its own error estimate")]
    public void The_training_limit_by_richardson_has_an_error_estimate()
    {
        var spec = new RunSpec { Depth = 8, Width = 8, Dim = 3, Samples = 6, Init = InitKind.Smooth, Scale = 0.5, VScale = 0.3, Seed = 5, Eta = 0.1, Iterations = 10 };
        var lim = ResNetWithLimit.TrainingLimit(spec);
        int j = lim.Times.Length - 1;
        output.WriteLine($"t = {lim.Times[j]}: losses at L = {string.Join(", ", lim.Depths)}: {string.Join(", ", lim.Losses.Select(l => l[j].ToString("R")))}; " +
                         $"limit {lim.Limit[j]:R} ± {lim.ErrorEstimate[j]:E2}; ratio {lim.Ratio[j]:F3} (2 for order 1); {lim.Seconds:F2} s");
        Assert.True(lim.ErrorEstimate[j] < Math.Abs(lim.Losses[2][j] - lim.Limit[j]), "the extrapolation removes more than its own error estimate");
    }
}
