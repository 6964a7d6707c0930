using ResOdeProofs.Numerics.IO;
using ResOdeProofs.Numerics.Model;
using ResOdeProofs.Numerics.Ode;
using ResOdeProofs.Numerics.Training;

namespace ResOdeProofs.Numerics.Verification;

/// <summary>
/// The verifier's integration of one snapshot segment of a gradient-flow run: dZ/dt = −c·G from the recorded snapshot s at
/// output <see cref="From"/> to the next snapshot's output <see cref="To"/> (the last snapshot: to the last recorded output),
/// with its own solve at a tighter tolerance than the producer's (<see cref="FlowReplay"/>), recording at every output time
/// the trace columns, the loss and the allowances within which the producer's recording must lie
/// (docs/theorems/Evidence.md, "E.flowReplay"). Arrays indexed by output are relative to <see cref="From"/>.
/// </summary>
public sealed class FlowSegmentReplay
{
    /// <summary>The snapshot the segment starts from.</summary>
    public required int Snapshot { get; init; }
    public required int From { get; init; }
    public required int To { get; init; }
    /// <summary>The verifier's trace columns (names of <see cref="TraceColumns"/>) at outputs From..To.</summary>
    public required Dictionary<string, double[]> Trace { get; init; }
    /// <summary>ℓ at the replayed outputs.</summary>
    public required double[] Losses { get; init; }
    /// <summary>
    /// B: the allowed ‖(Z_producer − Z_replay)/w‖_RMS at outputs From + 1..To, in the producer's own error norm (weights
    /// w_j = atol + rtol·max_t|Z_j(t)|); 0 at From, where both are the snapshot.
    /// </summary>
    public required double RmsAllowance { get; init; }
    /// <summary>The allowed max_k ‖Z_producer,k − Z_replay,k‖_F at output From + i: √N·B·max_j w_j (0 at i = 0).</summary>
    public required double[] WeightTolerance { get; init; }
    /// <summary>The allowed |ℓ_recorded − ℓ_replay| at output From + i.</summary>
    public required double[] LossTolerance { get; init; }
    /// <summary>The rounding of the two loss evaluations, 2(τℓ + 2√ℓ·δ + δ²) (<see cref="Replay.LossRounding"/>): part of
    /// <see cref="LossTolerance"/> on the certified path; on the bit-exact path, whose loss tolerance is 0, still the bound on the
    /// replayed loss' distance to the exact loss that pl_ratio's comparison carries.</summary>
    public required double[] LossRounding { get; init; }
    /// <summary>‖(Z_recorded(s + 1) − Z_replay(To))/w‖_RMS (NaN for the last snapshot or a replay that stopped).</summary>
    public double EndDeviation { get; init; } = double.NaN;
    /// <summary>‖Z_recorded(s + 1) − Z_replay(To)‖_F (all layers; NaN as <see cref="EndDeviation"/>).</summary>
    public double EndFrobenius { get; init; } = double.NaN;
    /// <summary>The layer (1-based) with the largest deviation at the next snapshot, and that deviation (Frobenius).</summary>
    public int EndWorstLayer { get; init; }
    public double EndWorstLayerDeviation { get; init; } = double.NaN;
    /// <summary>False when the verifier's integration stopped (a non-finite field, the step size underflowed, or the step budget ran out).</summary>
    public bool Finite { get; init; } = true;
    /// <summary>Why the integration stopped (null when it did not).</summary>
    public string? Failure { get; init; }
    /// <summary>The verifier's accepted and rejected steps, and evaluations of the field, on this segment.</summary>
    public int Steps { get; init; }
    public int Rejected { get; init; }
    public int Evaluations { get; init; }
    /// <summary>max ‖Z‖_F (all layers) over every state the verifier's solve evaluated the field at.</summary>
    public double MaxStateNorm { get; init; }
    /// <summary>
    /// λ̂: the largest secant curvature of ℓ measured along the verifier's own trajectory between consecutive outputs,
    /// 2|ℓ(Z_{j+1}) − ℓ(Z_j) − ∇ℓ(Z_j)·(Z_{j+1} − Z_j)| / ‖Z_{j+1} − Z_j‖² (0 on a segment of one output): the curvature
    /// the loss allowance's second-order term uses (an estimate, not a bound on the Hessian in every direction).
    /// </summary>
    public double Curvature { get; init; }
}

/// <summary>
/// Sees the flow replay's integration (<see cref="FlowReplay.Run(RunData, Func{int, IFlowObserver?}?)"/>): its stages and
/// accepted steps (<see cref="IStageObserver"/>) and every output it records, by the output's index in the run.
/// </summary>
public interface IFlowObserver : IStageObserver
{
    /// <summary>Output <paramref name="j"/> (0..N, the run's numbering) was reached at state <paramref name="y"/> (W then V,
    /// flattened; valid during the call). A segment's integration reports its first output before any stage.</summary>
    void Output(int j, ReadOnlySpan<double> y);
    /// <summary>The field was just evaluated; <paramref name="kept"/> is the <see cref="ResNet{T}.KeptStates"/> that evaluation
    /// filled (its states, adjoints and ranges: the same numbers an observer's own pass would compute), or null when the
    /// network cannot keep them (<see cref="ResNet{T}.CanKeep"/>). Called before the evaluation is reported as a stage.</summary>
    void Evaluated(object? kept);
}

/// <summary>All segments of a flow run replayed, with the verifier's columns stitched over the outputs 0..N.</summary>
public sealed class FlowRunReplay
{
    public required FlowSegmentReplay[] Segments { get; init; }
    public required int Outputs { get; init; }
    /// <summary>The verifier's relative and absolute tolerances.</summary>
    public required double Rtol { get; init; }
    public required double Atol { get; init; }
    /// <summary>The producer's relative tolerance rtol_p (B·rtol_p is the allowance relative to the weights).</summary>
    public required double ProducerRtol { get; init; }

    /// <summary>
    /// Why this replay is the producer's own program (<see cref="FlowReplay.BitExactClaim"/>), null on the certified path: one
    /// integration from output 0 at the producer's tolerances, every allowance 0, every comparison exact.
    /// </summary>
    public string? BitExact { get; init; }
    /// <summary>On the bit-exact path, the accepted steps of the replayed integration when it reached the last declared output
    /// (comparable with run.json's ode_steps), else null.</summary>
    public int? ReplayedSteps { get; init; }
    /// <summary>The same integration's rejected steps and field evaluations (run.json's ode_rejected, ode_evaluations), else null.</summary>
    public int? ReplayedRejected { get; init; }
    public int? ReplayedEvaluations { get; init; }

    /// <summary>max_s B_s·rtol_p: the largest allowance of a segment read relative to the weights (NaN without segments).</summary>
    public double RelativeAllowance => Segments.Length == 0 ? double.NaN : Segments.Max(s => s.RmsAllowance) * ProducerRtol;

    /// <summary>
    /// A trace column over every output 0..N (NaN before the first snapshot): each output's value from the segment that
    /// starts at or before it, a snapshot's output from the recorded snapshot itself (the segment it starts).
    /// </summary>
    public double[] Column(string name)
    {
        var col = new double[Outputs];
        Array.Fill(col, double.NaN);
        foreach (var seg in Segments)
        {
            var src = name == "loss" ? seg.Losses : seg.Trace[name];
            for (int i = 0; i < src.Length; i++) col[seg.From + i] = src[i];
        }
        foreach (var seg in Segments) col[seg.From] = name == "loss" ? seg.Losses[0] : seg.Trace[name][0];
        if (name == "step_max" && Outputs > 0) col[Outputs - 1] = 0.0;
        return col;
    }
}

/// <summary>
/// Replays a gradient-flow run (optimizer gf or clipped-gf) from its recorded snapshots with the verifier's own solve:
/// Dormand–Prince 5(4) (<see cref="OdeSolver"/>) at <see cref="VerifierRtol"/>, the field from <see cref="ResNet{T}.Evaluate"/>
/// in float64 with the recorded data, activation and clip radius, never a fault. Nothing of the producer's trace is read.
///
/// The allowances (derived in docs/theorems/Evidence.md, "E.flowReplay"). An accepted step of an embedded pair keeps
/// its error estimate e within ‖e/sc‖_RMS ≤ 1, sc_j = atol + rtol·max(|y_j|, |y'_j|) ≤ w_j = atol + rtol·Y_j (Y_j the
/// largest |Z_j| on the segment). Summing the local errors of s steps without amplification (the reading on which the
/// producer's integration allowance 2(s + 1)·rtol rests: an estimate, not a certificate) gives
/// ‖(Z_producer − Z)/w‖_RMS ≤ s_p + 1, and the verifier's own solve, whose weights are w·rtol_v/rtol_p, adds
/// (s_v + 1)·rtol_v/rtol_p; rounding adds c_R·u/rtol_p per step of each side, the field's rounding and the snapshot's storage.
/// </summary>
public static class FlowReplay
{
    /// <summary>How much tighter the verifier's relative tolerance is than the producer's.</summary>
    public const double Tightening = 100.0;
    /// <summary>The smallest relative tolerance the verifier integrates at (its rounding per step, c_R·u ≈ 8·10⁻¹⁵, stays below 1% of it).</summary>
    public const double RtolFloor = 1e-12;
    /// <summary>
    /// c_R: a step's rounding relative to max|Z_j|, per entry: (S + 1)·u forming y + h·Σ b_i k_i (S ≤ 7 stages), and as much
    /// again through each stage state (rounded alike, entering through h·|b_i|·‖∂f‖ ≤ 4|b_i|, Σ|b_i| ≤ 2): (S + 1)(1 + 4·2).
    /// An estimate, not a derived bound: h·‖∂f‖ ≤ 4 is the bound of the pair's stability region along the negative real
    /// axis (≈ 3.3 for Dormand–Prince 5(4)), which holds only where the step is set by stability on a gradient field's real spectrum.
    /// </summary>
    public const double RoundingPerStep = 72.0;
    /// <summary>
    /// The largest relative allowance a flow statement accepts, on the producer's 2(s_p + 1)·rtol_p and on the flow replay's
    /// B·rtol_p: 10⁻³, so that a bound is never confused with an integration error.
    /// </summary>
    public const double MaxIntegrationRel = 1e-3;
    /// <summary>Σ_i |b_i| bound of the pairs the engine integrates with (Dormand–Prince 5(4): 1.645).</summary>
    public const double WeightSum = 2.0;

    /// <summary>The verifier's relative tolerance: rtol_p/100, not below <see cref="RtolFloor"/>.</summary>
    public static double VerifierRtol(double producerRtol) => Math.Max(producerRtol / Tightening, RtolFloor);

    /// <summary>The producer's integration allowance 2(steps + 1)·rtol (relative; 2·rtol without a step count, 0 without rtol).</summary>
    public static double IntegrationRel(RunMetadata meta) =>
        meta.Rtol is double r ? (meta.OdeSteps is int s ? 2.0 * (s + 1.0) * r : 2.0 * r) : 0.0;

    /// <summary>True for a run of the integrated gradient flow.</summary>
    public static bool IsFlow(RunData run) => run.Meta.Optimizer is "gf" or "clipped-gf";

    /// <summary>
    /// Why the run cannot be replayed as a flow (null when it can): the flow replay needs the producer's rtol in (0, 1),
    /// atol &gt; 0 and its accepted step count, which fix the producer's allowance.
    /// </summary>
    public static string? Undeclared(RunData run)
    {
        var m = run.Meta;
        if (!(m.Rtol is double r && r > 0 && r < 1)) return "run.json gives no rtol in (0, 1): the producer's integration allowance is unknown";
        if (!(m.Atol is double a && a > 0 && double.IsFinite(a))) return "run.json gives no positive atol: the producer's error norm is undefined for weights that are 0";
        if (m.OdeSteps is not int s || s < 0) return "run.json gives no ode_steps: the producer's integration allowance is unknown";
        return null;
    }

    /// <summary>
    /// The names under which run.json may declare the engine's pair: its own name, and those of the same Dormand–Prince 5(4)
    /// pair with the same acceptance test (the fifth-order solution kept, a step accepted when the RMS over entries of its error
    /// estimate over atol + rtol·max(|y|, |y'|) is at most 1) in the integrators a foreign producer uses: torchdiffeq's
    /// "dopri5" (whose norm over a tuple of tensors, the largest of their RMS norms, is at least the RMS over all entries, so its
    /// accepted steps meet the same test) and scipy's solve_ivp "RK45". Compared without case.
    /// </summary>
    public static readonly IReadOnlyList<string> DormandPrince54Names = [ButcherTableau.DormandPrince54.Name, "dopri5", "RK45"];

    /// <summary>True when <paramref name="method"/> names the engine's Dormand–Prince 5(4) pair (<see cref="DormandPrince54Names"/>).</summary>
    public static bool IsDormandPrince54(string? method) =>
        method is not null && DormandPrince54Names.Any(n => string.Equals(Dashes(n), Dashes(method.Trim()), StringComparison.OrdinalIgnoreCase));

    /// <summary>A name with every dash (en dash, em dash, minus sign, hyphen) written as the ASCII hyphen: "Dormand-Prince 5(4)"
    /// typed on a keyboard names the same pair as the engine's "Dormand–Prince 5(4)" (it was not recognised, and a faithful
    /// flow's every comparison was switched off as "not the engine's pair").</summary>
    private static string Dashes(string s) => s.Replace('\u2013', '-').Replace('\u2014', '-').Replace('\u2212', '-').Replace('\u2010', '-');

    /// <summary>
    /// Why the flow replay's hypotheses that can be read off run.json are not met (null when they are): the tolerances
    /// declared (<see cref="Undeclared"/>), the engine's Dormand–Prince 5(4) pair (the allowance rests on its error estimate
    /// with the RMS-norm controller), no clip (its kink), output_times one per recorded output, and the producer's allowance
    /// 2(s_p + 1)·rtol_p at most <see cref="MaxIntegrationRel"/> (which also refuses absurd step counts before any integration).
    /// On the bit-exact path (<see cref="BitExactClaim"/>) the clip and the allowance do not enter: the comparison is exact.
    /// The smoothness of σ, the MLP and the snapshot at output 0 are checked by the caller.
    /// </summary>
    public static string? Unmet(RunData run)
    {
        if (Undeclared(run) is string why) return why;
        var m = run.Meta;
        string engine = ButcherTableau.DormandPrince54.Name;
        if (!IsDormandPrince54(m.OdeMethod))
            return m.OdeMethod is null
                ? $"run.json names no ode_method: the allowance rests on the error estimate of the engine's {engine} pair"
                : $"ode_method '{m.OdeMethod}': the allowance rests on the error estimate of the engine's {engine} pair, not this method's";
        if (m.OutputTimes is { } ts && ts.Length != run.Losses.Length)
            return $"run.json lists {ts.Length} output_times for {run.Losses.Length} recorded outputs";
        // the producer's own program replayed bit for bit needs no allowance: neither the clip's kink nor a loose tolerance
        // weakens an exact comparison
        if (BitExactClaim(run) is not null) return null;
        if (m.Optimizer == "clipped-gf")
            return "a clipped-gf run: the clip's kink (min(1, C/‖G_k‖) at the radius) is outside the flow replay's allowance; the producer's trace is not checked between snapshots";
        double rel = IntegrationRel(m);
        if (!(rel <= MaxIntegrationRel))
            return $"the producer's integration allowance 2(s_p + 1)·rtol_p = {rel:G3} (ode_steps {m.OdeSteps}, rtol {m.Rtol}) exceeds {MaxIntegrationRel:G3}";
        return null;
    }

    /// <summary>The time of output j: output_times[j], else the uniform grid T·j/N the engine integrates to, else j·η.</summary>
    public static double OutputTime(RunData run, int j)
    {
        var m = run.Meta;
        if (m.OutputTimes is { } ts) return ts[j];
        // N from "iterations", else from a completed run's outputs (the key is optional: a run without it was read on the
        // grid j·η, one ulp off the engine's T·j/N, and its bit-exact replay was VIOLATED)
        int? count = m.Intervals(run.Losses.Length);
        if (m.Horizon is double h && count is int n && n > 0) return j == n ? h : h * j / n;
        return j * run.Eta;
    }

    /// <summary>
    /// Why the flow replay is expected to reproduce the producer bit for bit (null when it is not): a float64 flow run whose
    /// run.json names this engine's build (engine_build) on this platform (platform) and the vector width the replay runs at (simd_bits), with its horizon
    /// and a snapshot at output 0. The engine integrates the flow with one thread per field evaluation, so the thread count
    /// does not enter. This is a claim: E.flowReplay then compares every output and snapshot exactly.
    /// </summary>
    public static string? BitExactClaim(RunData run)
    {
        if (!IsFlow(run) || run.Meta.Precision != "float64") return null;
        if (EngineInfo.Build.EndsWith(":unknown", StringComparison.Ordinal) || run.Meta.EngineBuild != EngineInfo.Build) return null;
        if (run.Meta.Platform != EngineInfo.Platform) return null;
        int bits = Simd.Bits(Simd.Level);
        if (run.Meta.SimdBits != bits || run.Meta.Horizon is not double h || !(h > 0) || run.Steps.Length == 0 || run.Steps[0] != 0) return null;
        return $"run.json names this engine build ({EngineInfo.Build}) and its {bits}-bit kernels: the producer's integration is replayed from output 0 as it ran";
    }

    /// <summary>
    /// Replays every snapshot segment of a flow run (the producer's tolerances must be declared, <see cref="Undeclared"/>):
    /// on the bit-exact path (<see cref="BitExactClaim"/>) the producer's own integration once from output 0, else each
    /// segment from its snapshot at the verifier's tighter tolerance.
    /// </summary>
    public static FlowRunReplay Run(RunData run) => Run(run, null);

    /// <summary>
    /// <see cref="Run(RunData)"/> with an observer of the integrations (the same numbers: an observer only reads them):
    /// <paramref name="observe"/>(s) for the certified path's segment from snapshot s, observe(−1) for the one integration
    /// of the bit-exact path (all segments); null for none.
    /// </summary>
    public static FlowRunReplay Run(RunData run, Func<int, IFlowObserver?>? observe)
    {
        if (Unmet(run) is string why) throw new ArgumentException(why);
        if (BitExactClaim(run) is string claim) return Exact(run, claim, observe?.Invoke(-1));
        double rtolP = run.Meta.Rtol!.Value, atolP = run.Meta.Atol!.Value;
        double rtolV = VerifierRtol(rtolP), atolV = atolP * rtolV / rtolP;
        // the segments are independent (each starts from its recorded snapshot): side by side on the machine's cores, each
        // with a network of its own (one thread per evaluation), the same numbers in any order
        var segs = new FlowSegmentReplay[run.Steps.Length];
        Parallel.For(0, segs.Length, new ParallelOptions { MaxDegreeOfParallelism = ProcessorBudget.Available },
            s => segs[s] = Segment(run, s, new ResNet<double>(run.Shape, run.Activation, run.Data, run.A, run.B), rtolV, atolV, observe?.Invoke(s)));
        return new FlowRunReplay { Segments = segs, Outputs = run.Losses.Length, Rtol = rtolV, Atol = atolV, ProducerRtol = rtolP };
    }

    /// <summary>How far a replayed state lies from the recorded snapshot it should land on.</summary>
    private readonly record struct LandingOn(double Rms, double Frobenius, int WorstLayer, double WorstLayerDeviation)
    {
        /// <summary>No landing compared (the last snapshot, or a replay that did not reach it).</summary>
        public static readonly LandingOn None = new(double.NaN, double.NaN, 0, double.NaN);
    }

    /// <summary>
    /// The recorded snapshot <paramref name="s"/> against the replayed state <paramref name="last"/> (W then V, flattened):
    /// ‖ΔZ/w‖_RMS with the weight w_j = <paramref name="weight"/>(j), ‖ΔZ‖_F, and the layer (1-based) farthest off in Frobenius norm.
    /// </summary>
    private static LandingOn Landing(RunData run, int s, double[] last, Func<int, double> weight)
    {
        int L = run.Shape.Depth, md = run.Shape.LayerSize, total = L * md;
        var w1 = run.W[s]; var v1 = run.V[s];
        double r2 = 0, f2 = 0, worstDev = -1;
        int worst = 0;
        for (int k = 0; k < L; k++)
        {
            double layer = 0;
            for (int i = 0; i < md; i++)
            {
                int jw = k * md + i, jv = total + k * md + i;
                double dw = w1[jw] - last[jw], dv = v1[jw] - last[jv];
                layer += dw * dw + dv * dv;
                double ww = weight(jw), wv = weight(jv);
                r2 += (dw / ww) * (dw / ww) + (dv / wv) * (dv / wv);
            }
            f2 += layer;
            if (!(Math.Sqrt(layer) <= worstDev)) { worstDev = Math.Sqrt(layer); worst = k + 1; }
        }
        return new LandingOn(Math.Sqrt(r2 / (2 * total)), Math.Sqrt(f2), worst, worstDev);
    }

    /// <summary>Thrown by the exact replay's output callback after the last recorded output of a run that stopped early.</summary>
    private sealed class LastRecordedOutput : Exception;

    /// <summary>
    /// The producer's program again (<see cref="GradientFlow.Train"/>): the same field (<see cref="GradientFlow.FieldInto"/>),
    /// the same solve from t = 0 to the horizon through every declared output time at the producer's rtol and atol, the same
    /// record at every output (<see cref="GradientFlow.RecordOutput"/>), on a network with the engine's default options (one
    /// thread, as the producer's). Its numbers are the producer's bit for bit, so every allowance is 0; the columns are cut
    /// into the snapshot segments the certified path would give.
    /// </summary>
    private static FlowRunReplay Exact(RunData run, string claim, IFlowObserver? observer)
    {
        var shape = run.Shape;
        int L = shape.Depth, md = shape.LayerSize, total = L * md, N = 2 * total;
        int outputs = run.Losses.Length;
        double rtolP = run.Meta.Rtol!.Value, atolP = run.Meta.Atol!.Value, horizon = run.Meta.Horizon!.Value;
        int declared = run.Meta.OutputTimes is { } ts ? ts.Length - 1 : run.Meta.Iterations ?? outputs - 1;
        declared = Math.Max(declared, outputs - 1);
        var times = Enumerable.Range(0, declared + 1).Select(j => OutputTime(run, j)).ToArray();
        var net = new ResNet<double>(shape, run.Activation, run.Data, run.A, run.B);
        double? clip = run.Meta.Optimizer == "clipped-gf" ? run.Clip : null;
        var gw = new double[total]; var gv = new double[total];
        double maxNorm = 0;
        // an observer reads the states of every evaluation (kept: no number of the evaluation changes)
        if (observer is not null && net.CanKeep) net.Keep = new ResNet<double>.KeptStates(shape, run.Data.Count);
        void Field(double t, ReadOnlySpan<double> y, Span<double> dy)
        {
            GradientFlow.FieldInto(net, clip, L, md, y, dy, gw, gv);
            observer?.Evaluated(net.Keep);
            double yy = 0;
            for (int j = 0; j < N; j++) yy += y[j] * y[j];
            maxNorm = Math.Max(maxNorm, Math.Sqrt(yy));
        }
        var cols = TraceColumns.All.Select(c => c.Name).ToArray();
        var trace = cols.ToDictionary(c => c, _ => new double[outputs]);
        var losses = new double[outputs];
        foreach (var a in trace.Values) Array.Fill(a, double.NaN);
        Array.Fill(losses, double.NaN);
        var rw = new double[total]; var rv = new double[total]; var rgw = new double[total]; var rgv = new double[total];
        var states = new double[run.Steps.Length][];   // the replayed state at each snapshot's output
        // no allowance enters the exact comparisons; the loss' rounding is kept for the columns computed from it (pl_ratio),
        // whose distance to their exact value it bounds
        var lossRounding = new double[outputs];
        double tau = Replay.GradientRounding(shape, run.Data.Count, Replay.UnitRoundoff("float64")) + 4 * Replay.UnitRoundoff("float64");
        double bNorm = run.B is null ? 1.0 : Math.Sqrt(Kernels.SumSquares<double>(run.B));
        var floor = Replay.Underflow(run, "float64", bNorm);
        double[]? prev = null;
        int recorded = 0;
        void Output(int j, double t, double[] y)
        {
            if (j >= outputs) throw new LastRecordedOutput();
            var st = GradientFlow.RecordOutput(net, shape, clip, trace, losses, j, y, prev, rw, rv, rgw, rgv);
            lossRounding[j] = Replay.LossRounding(tau, bNorm, st, floor);
            observer?.Output(j, y);
            prev = (double[])y.Clone();
            int s = Array.IndexOf(run.Steps, j);
            if (s >= 0) states[s] = prev;
            recorded = j + 1;
            // a run that stopped early (diverged, interrupted) is compared up to its last recorded output: the producer's
            // steps after it (up to its failure, possibly millions) are compared with nothing, so they are not taken again
            if (recorded == outputs && outputs - 1 < declared) throw new LastRecordedOutput();
        }
        var y0 = new double[N];
        run.W[0].CopyTo(y0, 0); run.V[0].CopyTo(y0, total);
        maxNorm = Math.Sqrt(y0.Sum(x => x * x));
        string? failure = null;
        int steps = 0, rejected = 0, evals = 0;
        int? replayedSteps = null;
        try
        {
            var sol = OdeSolver.Integrate(Field, 0.0, horizon, y0, rtolP, atolP, ButcherTableau.DormandPrince54, times, onOutput: Output, observer: observer);
            steps = sol.Steps; rejected = sol.Rejected; evals = sol.Evaluations;
            replayedSteps = sol.Steps;
        }
        catch (LastRecordedOutput) { }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException or IndexOutOfRangeException)
        {
            string kind = e is InvalidOperationException ? "stopped" : "could not start on this input";
            failure = $"the producer's integration replayed from output 0 {kind} after output {recorded - 1}: {e.Message}";
        }

        var segs = new FlowSegmentReplay[run.Steps.Length];
        for (int s = 0; s < segs.Length; s++)
        {
            int from = run.Steps[s], to = s + 1 < run.Steps.Length ? run.Steps[s + 1] : outputs - 1, len = to - from;
            bool reached = to < recorded;
            var segTrace = cols.ToDictionary(c => c, c => trace[c][from..(to + 1)]);
            var landing = s + 1 < run.Steps.Length && reached && states[s + 1] is double[] last
                ? Landing(run, s + 1, last, j => atolP + rtolP * Math.Max(Math.Abs(j < total ? run.W[s + 1][j] : run.V[s + 1][j - total]), Math.Abs(last[j])))
                : LandingOn.None;
            bool finite = reached && losses[from..(to + 1)].All(double.IsFinite);
            string? segFailure = reached ? (finite ? null : $"outputs {from} → {to}: the producer's flow replayed from output 0 left the finite numbers")
                                         : failure ?? $"outputs {from} → {to}: the replayed integration ended after output {recorded - 1}";
            segs[s] = new FlowSegmentReplay
            {
                Snapshot = s, From = from, To = to, Trace = segTrace, Losses = losses[from..(to + 1)], RmsAllowance = 0,
                WeightTolerance = new double[len + 1], LossTolerance = new double[len + 1], LossRounding = lossRounding[from..(to + 1)],
                EndDeviation = landing.Rms, EndFrobenius = landing.Frobenius, EndWorstLayer = landing.WorstLayer, EndWorstLayerDeviation = landing.WorstLayerDeviation,
                Finite = finite, Failure = segFailure,
                // the solve is one integration: its counts are given once, on the first segment
                Steps = s == 0 ? steps : 0, Rejected = s == 0 ? rejected : 0, Evaluations = s == 0 ? evals : 0,
                MaxStateNorm = maxNorm, Curvature = 0,
            };
        }
        return new FlowRunReplay
        {
            Segments = segs, Outputs = outputs, Rtol = rtolP, Atol = atolP, ProducerRtol = rtolP, BitExact = claim,
            ReplayedSteps = replayedSteps, ReplayedRejected = replayedSteps is null ? null : rejected, ReplayedEvaluations = replayedSteps is null ? null : evals,
        };
    }

    private static FlowSegmentReplay Segment(RunData run, int s, ResNet<double> net, double rtolV, double atolV, IFlowObserver? observer)
    {
        var shape = run.Shape;
        int L = shape.Depth, md = shape.LayerSize, total = L * md, N = 2 * total;
        int from = run.Steps[s];
        int to = s + 1 < run.Steps.Length ? run.Steps[s + 1] : run.Losses.Length - 1;
        int len = to - from;
        double rtolP = run.Meta.Rtol!.Value, atolP = run.Meta.Atol!.Value;
        double stepsP = run.Meta.OdeSteps!.Value;   // double: (s_p + 1) never overflows
        double uP = Replay.UnitRoundoff(run.Meta.Precision), uV = Replay.UnitRoundoff("float64");
        int n = run.Data.Count;
        // the field's relative rounding on each side: one gradient evaluation, and the clip factor's few operations
        double tauP = Replay.GradientRounding(shape, n, uP) + 4 * uP, tauV = Replay.GradientRounding(shape, n, uV) + 4 * uV;
        double? clip = run.Meta.Optimizer == "clipped-gf" ? run.Clip : null;
        double bNorm = run.B is null ? 1.0 : Math.Sqrt(Kernels.SumSquares<double>(run.B));
        var floorP = Replay.Underflow(run, run.Meta.Precision, bNorm);

        var cols = TraceColumns.All.Select(c => c.Name).ToArray();
        var trace = cols.ToDictionary(c => c, _ => new double[len + 1]);
        var losses = new double[len + 1];
        var lossRounding = new double[len + 1];
        var gradWeighted = new double[len + 1];   // ‖(G/L) ⊙ w‖₂ at each output, w from the states up to it
        var maxWeight = new double[len + 1];      // max_j w_j at each output
        foreach (var a in trace.Values) Array.Fill(a, double.NaN);
        Array.Fill(losses, double.NaN);

        // the largest |Z_j| over every state the field is evaluated at (stage states included: a larger w, a larger allowance)
        var ymax = new double[N];
        double maxNorm = 0, maxField = 0;
        var gw = new double[total]; var gv = new double[total];
        if (observer is not null && net.CanKeep) net.Keep = new ResNet<double>.KeptStates(shape, n);
        void Field(double t, ReadOnlySpan<double> y, Span<double> dy)
        {
            GradientFlow.FieldInto(net, clip, L, md, y, dy, gw, gv);
            observer?.Evaluated(net.Keep);
            double yy = 0, ff = 0;
            for (int j = 0; j < N; j++)
            {
                double a = Math.Abs(y[j]);
                if (a > ymax[j]) ymax[j] = a;
                yy += y[j] * y[j]; ff += dy[j] * dy[j];
            }
            maxNorm = Math.Max(maxNorm, Math.Sqrt(yy));
            maxField = Math.Max(maxField, Math.Sqrt(ff));
        }

        var times = Enumerable.Range(from, len + 1).Select(j => OutputTime(run, j)).ToArray();
        var y0 = new double[N];
        run.W[s].CopyTo(y0, 0); run.V[s].CopyTo(y0, total);
        for (int j = 0; j < N; j++) ymax[j] = Math.Abs(y0[j]);
        maxNorm = Math.Sqrt(y0.Sum(x => x * x));
        var rw = new double[total]; var rv = new double[total]; var rgw = new double[total]; var rgv = new double[total];
        var prevGrad = new double[N];   // ∇ℓ = G/L at the previous output
        double prevLoss = double.NaN, curvature = 0;
        double[]? prev = null;
        double[] last = y0;
        int recorded = 0;
        void Output(int i, double t, double[] y)
        {
            var st = GradientFlow.RecordOutput(net, shape, clip, trace, losses, i, y, prev, rw, rv, rgw, rgv);
            if (prev is not null)
            {
                // the secant curvature along the replayed trajectory: 2|ℓ(Z_i) − ℓ(Z_{i−1}) − ∇ℓ(Z_{i−1})·ΔZ| / ‖ΔZ‖²
                double lin = 0, d2 = 0;
                for (int j = 0; j < N; j++) { double d = y[j] - prev[j]; lin += prevGrad[j] * d; d2 += d * d; }
                double lam = d2 > 0 ? 2 * Math.Abs(st.Loss - prevLoss - lin) / d2 : 0.0;
                if (!double.IsNaN(curvature) && !(lam <= curvature)) curvature = lam;   // a NaN stays
            }
            for (int j = 0; j < N; j++) prevGrad[j] = (j < total ? rgw[j] : rgv[j - total]) / L;
            prevLoss = st.Loss;
            prev = (double[])y.Clone();
            last = prev;
            // ∇ℓ = G/L whatever the clip; the producer's error norm up to this output
            double gwt = 0, wmax = 0;
            for (int j = 0; j < N; j++)
            {
                double wj = atolP + rtolP * ymax[j];
                double g = (j < total ? rgw[j] : rgv[j - total]) / L * wj;
                gwt += g * g;
                wmax = Math.Max(wmax, wj);
            }
            gradWeighted[i] = Math.Sqrt(gwt);
            maxWeight[i] = wmax;
            // the two loss evaluations' rounding, as the gradient-descent replay's: 2(τℓ + 2√ℓ·δ + δ²), δ = τ‖B‖·max‖h_L‖
            lossRounding[i] = Replay.LossRounding(tauP, bNorm, st, floorP);
            observer?.Output(from + i, y);
            recorded = i + 1;
        }

        int stepsV = 0, rejectedV = 0, evalsV = 0;
        string? failure = null;
        if (len == 0) Output(0, times[0], y0);
        else
        {
            try
            {
                // a budget far above what the tighter tolerance needs (≈ 2.5× the producer's steps where the error sets the step,
                // as many where stability or the output grid does): a segment that would exceed it stops, reported
                int budget = (int)Math.Min(int.MaxValue, Math.Max(10_000L, 10L * (stepsP + 1)));
                var sol = OdeSolver.Integrate(Field, times[0], times[^1], y0, rtolV, atolV, ButcherTableau.DormandPrince54, times, maxSteps: budget, onOutput: Output, observer: observer);
                stepsV = sol.Steps; rejectedV = sol.Rejected; evalsV = sol.Evaluations;
            }
            catch (Exception e) when (e is InvalidOperationException or ArgumentException or IndexOutOfRangeException)
            {
                // InvalidOperationException: the solve stopped (non-finite, step underflow, budget); ArgumentException: the
                // output times are not an increasing grid (t1 ≤ t0, e.g. η = 0 without output_times); IndexOutOfRange: an
                // input whose arrays do not match its shape
                string kind = e is InvalidOperationException ? "stopped" : "could not start on this input";
                failure = $"outputs {from} → {to}: the verifier's integration from snapshot {s} {kind} after output {from + recorded - 1}: {e.Message}";
            }
        }
        bool finite = failure is null && losses.All(double.IsFinite);
        if (failure is null && !finite) failure = $"outputs {from} → {to}: the verifier's flow from snapshot {s} left the finite numbers";

        // B: the producer's s_p + 1 steps, the verifier's (s_v + 1)·rtol_v/rtol_p, each with c_R·u/rtol_p of rounding per step,
        // the storage of both snapshots (the one started from and the one landed on) 2u_p/rtol_p, and the field's rounding β(τ_p + τ_v)·∫‖f‖ ≤ β(τ_p + τ_v)·Δt·max‖f‖ (Frobenius),
        // in RMS units at most ‖·‖₂/(√N·min w) with min w ≥ atol_p
        double span = times[^1] - times[0];
        double rms = (stepsP + 1) * (1 + RoundingPerStep * uP / rtolP)
                     + (stepsV + 1) * (rtolV / rtolP + RoundingPerStep * uV / rtolP)
                     + 2 * uP / rtolP
                     + WeightSum * (tauP + tauV) * span * maxField / (Math.Sqrt(N) * atolP);
        var wtol = new double[len + 1]; var ltol = new double[len + 1];
        for (int i = 0; i <= len; i++)
        {
            // Taylor about the replay: ℓ(Z_p) − ℓ(Z_v) = ∇ℓ(Z_v)·Δ + ½ΔᵀH(ξ)Δ. First order: |∇ℓ·Δ| ≤ ‖(G/L) ⊙ w‖₂·‖Δ/w‖₂
            // (Cauchy–Schwarz), ‖·/w‖₂ = √N·‖·/w‖_RMS ≤ √N·B, with the gradient's own rounding (1 + τ_v); second order: ½λ̂‖Δ‖₂²,
            // ‖Δ‖₂ ≤ max w·√N·B (the weight allowance), λ̂ the secant curvature measured along the replayed trajectory
            // (an estimate of ‖H‖ in the deviation's direction, not a bound)
            wtol[i] = i == 0 ? 0.0 : Math.Sqrt(N) * rms * maxWeight[i];
            ltol[i] = (i == 0 ? 0.0 : (1 + tauV) * Math.Sqrt(N) * rms * gradWeighted[i] + 0.5 * curvature * wtol[i] * wtol[i]) + lossRounding[i];
        }

        var landing = s + 1 < run.Steps.Length && finite ? Landing(run, s + 1, last, j => atolP + rtolP * ymax[j]) : LandingOn.None;
        return new FlowSegmentReplay
        {
            Snapshot = s, From = from, To = to, Trace = trace, Losses = losses, RmsAllowance = rms, WeightTolerance = wtol, LossTolerance = ltol, LossRounding = lossRounding,
            EndDeviation = landing.Rms, EndFrobenius = landing.Frobenius, EndWorstLayer = landing.WorstLayer, EndWorstLayerDeviation = landing.WorstLayerDeviation,
            Finite = finite, Failure = failure,
            Steps = stepsV, Rejected = rejectedV, Evaluations = evalsV, MaxStateNorm = maxNorm, Curvature = curvature,
        };
    }
}
