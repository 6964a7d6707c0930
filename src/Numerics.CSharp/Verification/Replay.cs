using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using ResOdeProofs.Numerics.IO;
using ResOdeProofs.Numerics.Model;
using ResOdeProofs.Numerics.Training;

namespace ResOdeProofs.Numerics.Verification;

/// <summary>
/// Called at every replayed iterate with the iteration index j, the replayed weights Z^j (W, V), the
/// depth-scaled gradient G(Z^j) = L·∂ℓ/∂Z and the evaluation's statistics. The spans are valid only
/// during the call (copy what you keep). The calls come one at a time and in iterate order, but possibly on another
/// thread than the replay's caller, while the replay goes on (see <see cref="Replay.Segment"/>); the segment's
/// replay returns after the last call has returned.
/// </summary>
public delegate void IterateCallback(int iteration, ReadOnlySpan<double> w, ReadOnlySpan<double> v,
    ReadOnlySpan<double> gw, ReadOnlySpan<double> gv, EvaluationStats stats);

/// <summary>
/// The replay of one snapshot segment: gradient descent (plain or clipped, as the run declares) from the
/// recorded snapshot s at iteration <see cref="From"/> up to the next snapshot's iteration <see cref="To"/>
/// (or the last recorded loss), in float64 with the recorded data, η and activation, together with the
/// tolerance within which the producer's own trajectory must lie (see docs/theorems/Evidence.md).
/// Arrays indexed by iterate are relative to <see cref="From"/>: entry i is iteration From + i.
/// </summary>
public sealed class SegmentReplay
{
    /// <summary>The snapshot the segment starts from.</summary>
    public required int Snapshot { get; init; }
    public required int From { get; init; }
    public required int To { get; init; }
    /// <summary>The verifier's trace columns (names of <see cref="TraceColumns"/>) at iterates From..To.</summary>
    public required Dictionary<string, double[]> Trace { get; init; }
    /// <summary>ℓ of the replayed iterates.</summary>
    public required double[] Losses { get; init; }
    /// <summary>E_i: estimated bound on ‖Z_producer − Z_replay‖_F (all layers) at iterate From + i.</summary>
    public required double[] WeightTolerance { get; init; }
    /// <summary>Allowed |ℓ_recorded − ℓ_replay| at iterate From + i (0 on the bit-exact path: the same evaluation).</summary>
    public required double[] LossTolerance { get; init; }
    /// <summary>
    /// The rounding of two loss evaluations at the replayed weights (<see cref="Replay.LossRounding"/>), at iterate From + i, on
    /// either path: a bound on the replayed loss' distance to the exact loss, which a column computed from the loss (pl_ratio)
    /// carries. On the certified path it is part of <see cref="LossTolerance"/>.
    /// </summary>
    public required double[] LossRounding { get; init; }
    /// <summary>Measured growth Π_{l&lt;i} max(1, γ_l) of the most expanded direction up to iterate From + i (≥ 1).</summary>
    public required double[] Growth { get; init; }
    /// <summary>The factor the rounding allowances of iterate From + i took for the adjoints' measured growth down the layers
    /// (<see cref="Replay.Amplification"/>, max(1, A/2)); NaN on a replay compared bit for bit, which has no allowance; empty
    /// for a replay that measures none.</summary>
    public double[] Amplification { get; init; } = Array.Empty<double>();
    /// <summary>‖Z_replay(From + i) − Z_s‖_F, the displacement of the replay from the snapshot.</summary>
    public required double[] Displacement { get; init; }
    /// <summary>‖Z_recorded(s + 1) − Z_replay(To)‖_F (NaN for the last snapshot).</summary>
    public double EndDeviation { get; init; } = double.NaN;
    /// <summary>The layer (1-based) with the largest deviation at the next snapshot and that deviation.</summary>
    public int EndWorstLayer { get; init; }
    public double EndWorstLayerDeviation { get; init; } = double.NaN;
    /// <summary>False when the replay's weights or losses became non-finite.</summary>
    public bool Finite { get; init; } = true;
    /// <summary>‖Z_s‖_F, the norm of the snapshot the segment starts from (all layers).</summary>
    public required double StartNorm { get; init; }
    /// <summary>Relative certification threshold: the segment is certified when E_To ≤ this × ‖Z_s‖_F.</summary>
    public const double CertifyFraction = 0.01;
    /// <summary>
    /// E at the end is at most <see cref="CertifyFraction"/> of the weights' norm: the producer's rounding, grown by the
    /// measured sensitivity, stays a small perturbation of the weights, where the first-order estimate applies. A bit-exact
    /// segment (<see cref="BitExact"/>) has E = 0: it stands or falls by its exact landing.
    /// </summary>
    public bool Certified => Finite && (BitExact || WeightTolerance[^1] <= CertifyFraction * StartNorm
                                        // a segment of no step compares only its loss, whose allowance must be one float64 holds
                                        || (To == From && !double.IsPositiveInfinity(WeightTolerance[^1])));
    /// <summary>The largest number of iterations J ≤ To − From over which every prefix is certifiable (0: not even one step).</summary>
    public required int CertifiableSpacing { get; init; }
    /// <summary>
    /// Replayed as the producer's own program (run.json's bit-exact claim, <see cref="Replay.BitExactClaim"/>): no
    /// companion ran, E is 0 at every iterate (the landing is compared exactly), <see cref="Growth"/> is NaN (not
    /// measured), the loss tolerance is the rounding of the two loss evaluations alone and every prefix counts as
    /// certifiable (<see cref="CertifiableSpacing"/> = To − From): the comparison is exact whatever the spacing.
    /// </summary>
    public bool BitExact { get; init; }
}

/// <summary>All segments of a run replayed, with the verifier's per-iterate columns stitched over 0..N.</summary>
public sealed class RunReplay
{
    public required SegmentReplay[] Segments { get; init; }
    public required int Iterates { get; init; }
    /// <summary>
    /// A trace column over every iterate 0..N (NaN before the first snapshot): each iterate's value comes from
    /// the segment that starts at or before it, the snapshot iterates from the recorded snapshot itself.
    /// </summary>
    public double[] Column(string name)
    {
        var col = Stitched(seg => seg.Trace[name]);
        if (name == "step_max" || name == "clip_fraction") col[Iterates - 1] = 0.0;
        return col;
    }

    /// <summary>The replayed loss at every iterate (NaN before the first snapshot), stitched like <see cref="Column"/>.</summary>
    public double[] Losses() => Stitched(seg => seg.Losses);

    /// <summary>The rounding of the replayed loss at every iterate (<see cref="SegmentReplay.LossRounding"/>; NaN before the
    /// first snapshot), stitched like <see cref="Losses"/>: a bound on the distance of <see cref="Losses"/>' entry to the exact
    /// loss of the replayed weights there.</summary>
    public double[] LossRoundings() => Stitched(seg => seg.LossRounding);

    // a per-iterate array of every segment over 0..N; each segment's last iterate is overwritten by the next segment's first
    // (the recorded snapshot)
    private double[] Stitched(Func<SegmentReplay, double[]> of)
    {
        var col = new double[Iterates];
        Array.Fill(col, double.NaN);
        foreach (var seg in Segments) { var a = of(seg); for (int i = 0; i < a.Length; i++) col[seg.From + i] = a[i]; }
        foreach (var seg in Segments) col[seg.From] = of(seg)[0];
        return col;
    }
}

/// <summary>
/// Replays a run's gradient descent from its recorded snapshots: the verifier's evidence-building core.
/// Nothing of the producer's trace is used; only the data, the weights, η, the activation and the clip radius.
/// </summary>
public static class Replay
{
    /// <summary>Safety factor on the first-order estimate of the producer's accumulated rounding.</summary>
    public const double Safety = 4.0;

    /// <summary>Unit roundoff of a precision name: 2⁻²⁴ for float32, else 2⁻⁵³.</summary>
    public static double UnitRoundoff(string precision) => precision == "float32" ? 5.960464477539063e-8 : 1.1102230246251565e-16;

    /// <summary>
    /// τ = 4(m + d + n + L)·u: relative rounding of one gradient evaluation to first order. A hidden state
    /// passes L additions (L·u) of 1/L-scaled increments made of inner products of lengths d and m
    /// ((m + d)·u relative to the increment); the gradient sums n per-sample terms (n·u); the factor 4 covers the
    /// backward pass, which repeats the forward pass' pattern, and the amplification e^κ with κ ≤ 1.4.
    /// </summary>
    public static double GradientRounding(NetworkShape shape, int samples, double u) =>
        4.0 * (shape.Width + shape.Dim + samples + shape.Depth) * u;

    /// <summary>
    /// The part of a producer's gradient error that τ·M leaves out: σ' computed within an absolute error, not a relative one
    /// (PyTorch's tanh backward forms 1 − y² from the rounded y = tanh(u), which is 0 wherever y rounds to ±1, where this
    /// engine's sech² is a tiny positive number; GELU's Φ(u) + uφ(u) and the logistic likewise round absolutely near their
    /// limits). With |σ̂' − σ'| ≤ δ = 4u per entry, ‖ΔG^W_k‖ ≤ δ·Σ_i ‖V_kᵀp_k^i‖‖h_{k−1}^i‖ ≤ δ‖V_k‖_F·max_k Σ_i‖p_k^i‖·max‖h‖,
    /// and over the layers ≤ δ‖Z‖_F·max_k Σ_i‖p_k^i‖·max‖h‖. M holds σ' itself, so where the units saturate this term is the
    /// producer's error: a faithful PyTorch tanh run at learning rate 320 landed 5.7·10⁻⁹ from the replay (its own float64
    /// rounding, checked in long double) against an allowance of 3.2·10⁻⁹, and later 3.9·10²⁹ against 4·10¹⁶ (a user test).
    /// </summary>
    internal static double DerivativeAbsoluteError(double u, double zNorm, in EvaluationStats st) =>
        4 * u * zNorm * st.MaxAdjointSum * st.MaxHiddenNorm;

    /// <summary>A companion's quantity that is NaN (the companion left the finite numbers) read as an unbounded one.</summary>
    private static double Unbounded(double x) => double.IsNaN(x) ? double.PositiveInfinity : x;

    /// <summary>
    /// The factor by which an evaluation's measured amplification exceeds what τ allows for: τ's factor 4 is 2 for the backward
    /// pass times an amplification of 2 through the layers; where the adjoints grew more down the layers
    /// (<see cref="EvaluationStats.AdjointGrowth"/> A > 2), the gradient's rounding is taken A/2 times larger (its sample terms'
    /// rounding and σ'’s absolute one alike, both carried down by the same transposed Jacobians). A faithful PyTorch tanh run
    /// at learning rate 128 (L = 8, snapshots every step) whose adjoints grew 12 934-fold in one evaluation landed 0.0046 from
    /// the replay against an allowance of 0.0004 without it (its own float64 rounding: this engine's float64 step lands 0.0012
    /// from a long-double one). NaN (an overflowed evaluation) counts as 1: the replay's finiteness decides that case.
    /// </summary>
    internal static double Amplification(in EvaluationStats st) => st.AdjointGrowth > 2 ? st.AdjointGrowth / 2 : 1.0;

    /// <summary>
    /// The rounding of two loss evaluations at one point, 2(τℓ + 2√ℓ·δ + δ²) with δ = τ‖B‖₂·max_i‖h_L^i‖ (the read-out's
    /// rounding of the outputs): what |ℓ_a − ℓ_b| may be for two evaluations of the same weights, and a bound on either's
    /// distance to the exact loss. One definition for the gradient-descent and the flow replays.
    /// The outputs' rounding is carried to h_L by the forward Jacobian products, the transposes of those that carry the
    /// adjoints down, so δ takes the evaluation's measured amplification (<see cref="Amplification"/>, A/2 where the adjoints
    /// grew A > 2 down the layers) as the gradient's rounding does: a faithful PyTorch tanh run (L = 32, learning rate 768)
    /// whose adjoints grew 18 875-fold evaluated its loss at a snapshot 3.9·10⁻¹⁰ from the exact one (long double), this
    /// engine 2.9·10⁻¹⁰, against an allowance of 2.6·10⁻¹⁰ for the two: E.replay was VIOLATED before any update.
    /// </summary>
    internal static double LossRounding(double tau, double bNorm, in EvaluationStats st, UnderflowFloor floor)
    {
        double delta = Amplification(st) * tau * bNorm * st.MaxHiddenNorm + floor.Residual;
        return 2 * (tau * Math.Abs(st.Loss) + 2 * Math.Sqrt(Math.Abs(st.Loss)) * delta + delta * delta + floor.Loss);
    }

    /// <summary>
    /// The spacing of a precision's subnormal numbers, 2⁻¹⁴⁹ (float32) or 2⁻¹⁰⁷⁴ (float64): with gradual underflow a product
    /// or quotient whose result is below the smallest normal number carries an absolute error of at most half of it (and a
    /// sum or difference none), which no relative allowance covers (Higham, Accuracy and Stability of Numerical Algorithms,
    /// 2nd ed., §2.1: fl(x op y) = (x op y)(1 + δ) + η, |η| ≤ λu with λ the smallest normal number). The whole spacing is used.
    /// </summary>
    public static double UnderflowUnit(string precision) => precision == "float32" ? 1.401298464324817e-45 : double.Epsilon;

    /// <summary>What underflow adds to one evaluation of the loss (1/n)Σ_i‖r_i‖² from its residuals: its n·d_out squares and at
    /// most n·d_out + 1 quotients (a producer may divide every term), (2n·d_out + 1)·η. One definition for the replay's loss
    /// rounding and I.loss' allowance.</summary>
    public static double LossEvaluationUnderflow(int n, int dOut, string precision) => (2.0 * n * dOut + 1) * UnderflowUnit(precision);

    /// <summary>The absolute parts of a loss evaluation's rounding where its products underflow (<see cref="Underflow"/>).</summary>
    internal readonly record struct UnderflowFloor(double Residual, double Loss);

    /// <summary>
    /// What underflow adds to two loss evaluations' rounding, in the style of <see cref="GradientRounding"/> (a count of the
    /// operations on a path, times <see cref="Safety"/> for the amplification): each state entry of a layer is formed from
    /// m + d + 3 products (the pre-activation's d, σ's, the m of V·σ, the 1/L), the embedding from d_in + 2 (the input
    /// rounded to the run's precision), each an absolute error ≤ η, so a residual moves by at most
    /// Safety·√d·(d_in + 2 + L(m + d + 3))·η·‖B‖₂ plus the readout's d products and the target's rounding, √d_out·(d + 2)·η;
    /// and the loss (1/n)Σ‖r_i‖² by its n·d_out squares and at most n·d_out + 1 quotients, (2n·d_out + 1)·η. Nothing for a
    /// float64 run in practice (η = 2⁻¹⁰⁷⁴); on float32 data near 10⁻⁴⁰ (a producer's MSE underflowing to 0) it is the allowance.
    /// </summary>
    internal static UnderflowFloor Underflow(RunData run, string precision, double bNorm)
    {
        double eta = UnderflowUnit(precision);
        var sh = run.Shape;
        double d = sh.Dim, dOut = run.Data.OutputDim;
        double states = Safety * Math.Sqrt(d) * (run.Data.InputDim + 2 + (double)sh.Depth * (sh.Width + d + 3)) * eta * bNorm;
        return new UnderflowFloor(states + Math.Sqrt(dOut) * (d + 2) * eta, LossEvaluationUnderflow(run.Data.Count, run.Data.OutputDim, precision));
    }

    /// <summary>True when the run declares plain or clipped gradient descent (the optimizers the replay reproduces).</summary>
    public static bool IsGradientDescent(RunData run) => run.Meta.Optimizer is "gd" or "clipped-gd";

    /// <summary>
    /// Replays every segment (see <see cref="Segment"/>); <paramref name="onSegment"/>, when given, supplies the
    /// per-iterate callback of segment s (or null), so that other checks share this one replay.
    /// </summary>
    public static RunReplay Run(RunData run, Func<int, IterateCallback?>? onSegment = null, bool concurrent = true)
    {
        var segs = new SegmentReplay[run.Steps.Length];
        var nets = new Networks(run);
        bool exact = BitExactClaim(run) is not null;
        for (int s = 0; s < segs.Length; s++) segs[s] = SegmentOn(run, s, onSegment?.Invoke(s), concurrent, nets, exact);
        return new RunReplay { Segments = segs, Iterates = run.Losses.Length };
    }

    /// <summary>
    /// Replays gradient descent from snapshot <paramref name="s"/> to the next snapshot (or the last recorded
    /// iterate), calling <paramref name="onIterate"/> at every iterate of the replay (From..To, both included).
    /// The clip radius is applied when the run declares clipped-gd. A companion replay, a perturbation of relative
    /// size 1e-7 aligned with the first step's most expanded direction and brought back to that size after every
    /// step, measures each step's expansion γ_l, so that S_{l+1} = max(1, γ_l)·S_l + e_l, e_l = τ·‖ηc G_l‖ + u·(‖Z_l‖ + ‖ηc G_l‖)
    /// the producer's rounding of step l, bounds its accumulated error to first order; a second companion with an error of
    /// that size injected into every entry at every step gives a sampled deviation N_i. The tolerance is
    /// E_i = 4·max(S_i, N_i) (docs/theorems/Evidence.md).
    /// When run.json's bit-exact claim names this engine (<see cref="BitExactClaim"/>), the replay is the producer's own
    /// program and the companions, which estimate how far another producer's rounding drifts, are not run: one evaluation
    /// per iterate, E = 0 (<see cref="SegmentReplay.BitExact"/>); the landing is then compared exactly.
    /// <paramref name="concurrent"/>: use a second thread, when the machine has two processors, for the companions or,
    /// with an observer, for the observer (see the loop). Either way every number is the same: each trajectory keeps its
    /// evaluations, its order of operations and its blocks of samples.
    /// </summary>
    public static SegmentReplay Segment(RunData run, int s, IterateCallback? onIterate = null, bool concurrent = true) =>
        SegmentOn(run, s, onIterate, concurrent, new Networks(run), BitExactClaim(run) is not null);

    /// <summary>The working arrays of a segment (<see cref="Networks.Zeroed"/>).</summary>
    private enum Slot { W, V, GW, GV, GWP, GVP, DW, DV, WP, VP, PW, PV, WN, VN, GWN, GVN, OW, OV, GW1, GV1, W1, W2, V1, V2, Count }

    /// <summary>
    /// The networks of the three trajectories (the replay, the tracked and the noisy companion), built once per run: each
    /// with the recorded blocks of samples; an evaluation depends only on its inputs, never on an earlier one. The
    /// companions' networks are made when first used (a bit-exact replay runs none).
    /// </summary>
    private sealed class Networks
    {
        public readonly ResNet<double> Main;
        private readonly Func<ResNet<double>> _make;
        private ResNet<double>? _tracked, _noisy;
        public ResNet<double> Tracked => _tracked ??= _make();
        public ResNet<double> Noisy => _noisy ??= _make();
        private ResNet<double>.KeptStates[]? _kept;
        /// <summary>
        /// The sets of states the main network keeps for an observer (<paramref name="count"/>: two alternating by iterate for
        /// an observer on another thread, one for an observer on the replay's thread), made at the first observed segment and
        /// used by every later one: about 6 MB each at figure 2, allocated and first touched once per run instead of once per
        /// segment. An evaluation fills every number of a set it keeps into, so what a set held before changes none.
        /// </summary>
        public ResNet<double>.KeptStates[] KeptSets(NetworkShape shape, int samples, int count)
        {
            if (_kept is null || _kept.Length < count)
                _kept = [.. Enumerable.Range(0, count).Select(k => k < (_kept?.Length ?? 0) ? _kept![k] : new ResNet<double>.KeptStates(shape, samples))];
            return _kept;
        }
        private readonly double[]?[] _buffers = new double[]?[(int)Slot.Count];
        /// <summary>
        /// The segment's working array in <paramref name="slot"/> (weights, gradients, companions, the observer's copies), of
        /// <paramref name="length"/> entries and all zero, as a fresh array is: the same array for every segment of the run. A
        /// segment's arrays are L·m·d entries each (4 MB at L = 1024, m = 32, d = 16) and a replay with companions and an
        /// observer uses twenty of them; fresh ones for each of a run's segments were most of what the replay allocated, all
        /// of it garbage when the segment ended. No segment's result refers to them.
        /// </summary>
        public double[] Zeroed(Slot slot, int length)
        {
            ref var b = ref _buffers[(int)slot];
            if (b is null || b.Length != length) b = AlignedArrays.Create<double>(length);
            else Array.Clear(b);
            return b;
        }
        /// <summary>A copy of <paramref name="source"/> in the segment's working array <paramref name="slot"/> (see <see cref="Zeroed"/>).</summary>
        public double[] CopyOf(Slot slot, double[] source)
        {
            ref var b = ref _buffers[(int)slot];
            if (b is null || b.Length != source.Length) b = AlignedArrays.Create<double>(source.Length);
            source.CopyTo(b, 0);
            return b;
        }
        public Networks(RunData run)
        {
            var engine = new TrainOptions(run.Activation, run.Eta, 0) { Threads = RecordedThreads(run) }.EngineFor(run.Shape, run.Data.Count);
            _make = () => new(run.Shape, run.Activation, run.Data, engine, run.A, run.B);
            Main = _make();
        }
    }

    private static SegmentReplay SegmentOn(RunData run, int s, IterateCallback? onIterate, bool concurrent, Networks nets, bool exact)
    {
        // the companions estimate how far another producer's rounding drifts; the producer's own program (exact) needs none
        bool companions = !exact;
        var shape = run.Shape;
        int L = shape.Depth, md = shape.LayerSize, total = L * md, n = run.Data.Count;
        int from = run.Steps[s];
        int to = s + 1 < run.Steps.Length ? run.Steps[s + 1] : run.Losses.Length - 1;
        int len = to - from;
        var progress = ReplayProgress.Sink;
        int lastIterate = run.Losses.Length - 1;
        double u = UnitRoundoff(run.Meta.Precision);
        double tau = GradientRounding(shape, n, u);
        double eta = run.Eta;
        double? clip = run.Meta.Optimizer == "clipped-gd" ? run.Clip : null;
        // the producer's recorded thread count fixes the order of the gradient's reduction over sample blocks: with the
        // same engine build the replay then reproduces the producer bit for bit
        var net = nets.Main;
        net.Inline = false;
        net.Keep = null;
        // the companions' per-step rounding is relative to the gradient's sample terms, which the replay's evaluation forms
        net.SampleTerms = companions;
        var level = Simd.Level;

        var w = nets.CopyOf(Slot.W, run.W[s]); var v = nets.CopyOf(Slot.V, run.V[s]);
        var w0 = run.W[s]; var v0 = run.V[s];
        var gw = nets.Zeroed(Slot.GW, total); var gv = nets.Zeroed(Slot.GV, total);
        var gwp = nets.Zeroed(Slot.GWP, total); var gvp = nets.Zeroed(Slot.GVP, total);
        double startNorm = Math.Sqrt(FastKernels.SumSquares<double>(level, w0) + FastKernels.SumSquares<double>(level, v0));
        // The companion Z' = Z + δ, ‖δ‖ = ε, tracks the direction in which the trajectory expands perturbations the most.
        double eps = PerturbationSize * (startNorm > 0 && double.IsFinite(startNorm) ? startNorm : 1.0);
        int ct = companions ? total : 0;
        var dw = nets.Zeroed(Slot.DW, ct); var dv = nets.Zeroed(Slot.DV, ct);
        for (int i = 0; i < ct; i++) { dw[i] = Sign(i); dv[i] = Sign(i + total); }
        if (companions) Rescale(level, dw, dv, eps);
        var wp = nets.Zeroed(Slot.WP, ct); var vp = nets.Zeroed(Slot.VP, ct);
        // align δ with the most expanded direction of the first step: power iteration on δ ↦ Φ(Z + δ) − Φ(Z), Φ the update
        if (len > 0 && companions)
        {
            net.Evaluate(w, v, gw, gv);
            var pw = nets.CopyOf(Slot.PW, w); var pv = nets.CopyOf(Slot.PV, v);
            Trainer.ApplyUpdate<double>(level, pw, pv, gw, gv, L, md, eta, clip);
            for (int it = 0; it < AlignSteps; it++)
            {
                for (int i = 0; i < total; i++) { wp[i] = w[i] + dw[i]; vp[i] = v[i] + dv[i]; }
                net.Evaluate(wp, vp, gwp, gvp);
                Trainer.ApplyUpdate<double>(level, wp, vp, gwp, gvp, L, md, eta, clip);
                for (int i = 0; i < total; i++) { dw[i] = wp[i] - pw[i]; dv[i] = vp[i] - pv[i]; }
                if (!Rescale(level, dw, dv, eps)) break;
            }
        }
        for (int i = 0; i < ct; i++) { wp[i] = w[i] + dw[i]; vp[i] = v[i] + dv[i]; }
        // The noisy companion: the same updates with an error of the producer's worst-case size injected into every entry at
        // every step (signs from a fixed pseudo-random sequence); its distance from the replay samples what rounding does to
        // the trajectory, including sudden instabilities the tracked direction has not turned to yet.
        var wn = companions ? nets.CopyOf(Slot.WN, w) : []; var vn = companions ? nets.CopyOf(Slot.VN, v) : [];
        var gwn = nets.Zeroed(Slot.GWN, ct); var gvn = nets.Zeroed(Slot.GVN, ct);
        var noise = new NoiseSigns(0x9E3779B97F4A7C15UL ^ (ulong)(s + 1));
        var noiseBits = new ulong[(2L * total + 63) / 64];

        // Two lanes of work (SideWorker: a second thread when the machine has two processors). With an observer (the split
        // recursion of A.split) the observer runs beside the replay on a copy of the iterate, one iterate behind, while the
        // replay evaluates its tracked companion (the observer's job evaluates the noisy one first: noisyBeside below);
        // without one the companions evaluate and step beside the replay. Each
        // trajectory has a network of its own with the replay's blocks of samples, so every evaluation gives the bits it
        // gives alone, and the observer sees the iterates one at a time in order.
        var netP = companions ? nets.Tracked : null; var netN = companions ? nets.Noisy : null;
        using var side = new SideWorker(concurrent);
        // With an observer on a thread of its own, the replay's thread evaluates its recorded blocks of samples one after
        // the other (Inline: the same blocks and reduction, so the same bits) and then shares the observer's per-pair work
        // (ObserverTeam): two busy threads, none spinning beside them. Without one, the replay's evaluation uses the
        // engine's helper thread, or the companions run on the side thread; with one processor available (ProcessorBudget:
        // a report's side job beside the cells) everything runs on the calling thread, the blocks one after another.
        var team = onIterate is not null && side.Concurrent ? new ObserverTeam() : null;
        bool oneProcessor = !side.Concurrent && ProcessorBudget.Available < 2;
        net.Inline = team is not null || oneProcessor;
        if (companions) netP!.Inline = netN!.Inline = onIterate is null || team is not null || oneProcessor;
        EvaluationStats sp = default, sn = default;
        double etaTau = eta * tau;
        // the replay's measured amplification at the current iterate (Amplification): the noisy companion's injection takes
        // it from the replay, not from its own evaluation, whose growth the injection itself would feed (a faithful float32
        // clipped run's noisy companion ran away to ∞ that way)
        double amplified = 1.0;
        Action evaluateCompanions = () =>
        {
            sp = netP!.Evaluate(wp, vp, gwp, gvp);
            sn = netN!.Evaluate(wn, vn, gwn, gvn);
        };
        Action stepCompanions = () =>
        {
            Trainer.ApplyUpdate<double>(level, wp, vp, gwp, gvp, L, md, eta, clip);
            Trainer.ApplyUpdate<double>(level, wn, vn, gwn, gvn, L, md, eta, clip);
            noise.Inject(level, wn, vn, gwn, gvn, u, etaTau * amplified, noiseBits);
        };
        // the observer's copy of the weights it is given (valid until its next call); the gradient and the states the engine
        // kept (ResNet.Keep: h_k, p_k and per-layer ranges, which the split pass would otherwise compute again) alternate
        // between two sets, so that iterate i's stay untouched while the replay evaluates iterate i + 1
        // without companions the trace row and the update are the trainer's fused passes on this thread (the record's ‖G_k‖
        // reused by the update: Trainer.Record and Trainer.ApplyUpdate bit for bit, in two passes over the layers instead of
        // three); the companions' tolerance needs the update's ‖ηG‖ over all layers, which only ApplyUpdate returns
        var passes = companions ? null : new IterationPasses<double>(level, L, md);
        double[]? ow = null, ov = null, ogw = null, ogv = null;
        // with the fused passes the update writes Z^{j+1} into another of three weight sets (the same numbers as in place), so
        // the observer is handed Z^j itself, untouched until it has finished, instead of a copy; with three sets the update of
        // iterate j can run before the observer of iterate j − 1 has finished (it reads the third set), and the replay's
        // thread does it while that observer is in a part of its own that it cannot share, instead of waiting
        double[][]? wSets = null, vSets = null;
        int oj = 0; EvaluationStats ost = default;
        long tRest = 0;
        Action observe = () => onIterate!(oj, ow, ov, ogw, ogv, ost);
        bool timed = ReplayLaneTimes.Enabled && onIterate is not null;
        long oCpu0 = -1;
        if (timed)
        {
            var inner = observe;
            observe = () =>
            {
                long t = ReplayLaneTimes.Now(), c = ReplayLaneTimes.ThreadCpuNs();
                if (oCpu0 < 0) oCpu0 = c;
                inner();
                ReplayLaneTimes.Add(ref ReplayLaneTimes.OObserve, t);
                ReplayLaneTimes.OJobs++;
                ReplayLaneTimes.OCpuSpan = ReplayLaneTimes.ThreadCpuNs() - oCpu0;
            };
        }
        if (team is not null) observe = team.Wrap(observe);
        // With companions and the observer on the other thread, that thread's job of iterate i first evaluates the noisy
        // companion's iterate i (ready: the companions were stepped at the end of iterate i − 1) while this thread evaluates
        // the tracked one, then observes: this thread no longer evaluates three trajectories while the other, once its
        // observer is done, waits. The same call on the companion's own network (Inline), so the same bits on either
        // thread; this thread waits for it (nDone) before it reads the companion.
        bool noisyBeside = companions && team is not null;
        var nDone = noisyBeside ? new ManualResetEventSlim(false) : null;
        Exception? nError = null;
        if (noisyBeside)
        {
            var observeOnly = observe;
            observe = () =>
            {
                try { sn = netN!.Evaluate(wn, vn, gwn, gvn); }
                catch (Exception ex) { nError = ex; }
                finally { nDone!.Set(); }
                observeOnly();
            };
        }
        double[][]? gwSets = null, gvSets = null;
        ResNet<double>.KeptStates[]? keptSets = null;
        // The gradient and the kept states of iterate i stay untouched while the observer reads them: with the observer on the
        // other thread they alternate between two sets (iterate i + 1 is evaluated into the other while it runs); with the
        // observer on this thread it has finished with iterate i before i + 1 is evaluated, so one set serves every iterate
        // and stays in this core's cache (the second set cost ≈ 16 % of an evaluation at figure 2: docs/performance.md)
        int setMask = side.Concurrent ? 1 : 0;
        if (onIterate is not null && passes is not null) { wSets = [w, nets.Zeroed(Slot.W1, total), nets.Zeroed(Slot.W2, total)]; vSets = [v, nets.Zeroed(Slot.V1, total), nets.Zeroed(Slot.V2, total)]; }
        if (onIterate is not null)
        {
            ow = wSets is null ? nets.Zeroed(Slot.OW, total) : null; ov = vSets is null ? nets.Zeroed(Slot.OV, total) : null;
            gwSets = setMask == 0 ? [gw] : [gw, nets.Zeroed(Slot.GW1, total)]; gvSets = setMask == 0 ? [gv] : [gv, nets.Zeroed(Slot.GV1, total)];
            if (net.CanKeep) keptSets = nets.KeptSets(shape, n, setMask + 1);
        }
        // the update first, then the hand-off (three weight sets); otherwise the hand-off right after the trace row
        bool updateFirst = wSets is not null;
        // the noisy companion's evaluation is started by the hand-off that comes right after the trace row; were the update to
        // come first (the fused passes, never with companions), the wait for it below would come before that hand-off
        if (noisyBeside && updateFirst) throw new InvalidOperationException("the noisy companion beside the observer needs the hand-off before the companions' evaluation");
        // hands iterate i (weights wi, vi, the gradient in gw, gv) to the observer once the one of iterate i − 1 has finished
        void HandOff(int i, EvaluationStats st, double[] wi, double[] vi)
        {
            long t2 = timed ? ReplayLaneTimes.Now() : 0;
            if (timed) ReplayLaneTimes.RRest += t2 - tRest;
            team?.Help();   // the observer of iterate i − 1: its remaining parts, until it has finished
            long t3 = timed ? ReplayLaneTimes.Now() : 0;
            side.Join();
            long t4 = timed ? ReplayLaneTimes.Now() : 0;
            if (wSets is null) { wi.CopyTo(ow!, 0); vi.CopyTo(ov!, 0); }
            else { ow = wi; ov = vi; }
            ogw = gw; ogv = gv;
            oj = from + i; ost = st;
            team?.Reset();
            side.Start(observe);
            if (timed)
            {
                long t5 = ReplayLaneTimes.Now();
                ReplayLaneTimes.RJoin += t4 - t3; ReplayLaneTimes.RStart += t5 - t4; ReplayLaneTimes.Iterates++;
                tRest = t5;
            }
        }

        var cols = TraceColumns.All.Select(c => c.Name).ToArray();
        var trace = cols.ToDictionary(c => c, _ => new double[len + 1]);
        var losses = new double[len + 1];
        var tol = new double[len + 1]; var ltol = new double[len + 1]; var lround = new double[len + 1];
        var growth = new double[len + 1]; var disp = new double[len + 1]; var amp = new double[len + 1];
        double bNorm = run.B is null ? 1.0 : Math.Sqrt(FastKernels.SumSquares<double>(level, run.B));
        var floor = Underflow(run, run.Meta.Precision, bNorm);
        double acc = 0, grown = 1;
        bool finite = true;
        int spacing = -1;
        long tLoop = timed ? ReplayLaneTimes.Now() : 0, cLoop = timed ? ReplayLaneTimes.ThreadCpuNs() : 0;
        for (int i = 0; i <= len; i++)
        {
            if (progress is not null && !ReplayProgress.TryReport(progress, run.Directory, from + i, lastIterate)) progress = null;
            EvaluationStats st;
            // the distances of iterate i and ‖Z‖ read only weights, which no evaluation writes: without an observer they are
            // taken while the other thread still evaluates the companions (the same calls, so the same numbers)
            double d = 0, dn = 0, dispI = 0, zNorm = 0;
            bool measured = false;
            if (onIterate is null)
            {
                if (companions) side.Start(evaluateCompanions);
                try
                {
                    st = net.Evaluate(w, v, gw, gv);
                    Record(passes, level, trace, i, st, shape, w, v, gw, gv);
                    if (companions && side.Concurrent)
                    {
                        d = Distance(level, wp, w, vp, v);
                        dn = Distance(level, wn, w, vn, v);
                        dispI = Distance(level, w, w0, v, v0);
                        zNorm = Math.Sqrt(FastKernels.SumSquares<double>(level, w) + FastKernels.SumSquares<double>(level, v));
                        measured = true;
                    }
                }
                finally { side.Join(); }
            }
            else
            {
                gw = gwSets![i & setMask]; gv = gvSets![i & setMask];
                net.Keep = keptSets?[i & setMask];
                long t0 = timed ? ReplayLaneTimes.Now() : 0;
                if (timed && i > 0) ReplayLaneTimes.RRest += t0 - tRest;
                st = net.Evaluate(w, v, gw, gv);
                long t1 = timed ? ReplayLaneTimes.Now() : 0;
                Record(passes, level, trace, i, st, shape, w, v, gw, gv);
                if (timed) { tRest = ReplayLaneTimes.Now(); ReplayLaneTimes.REvaluate += t1 - t0; ReplayLaneTimes.RRecord += tRest - t1; }
                if (!updateFirst) HandOff(i, st, w, v);
                if (noisyBeside)
                {
                    sp = netP!.Evaluate(wp, vp, gwp, gvp);
                    nDone!.Wait();
                    nDone.Reset();
                    if (nError is Exception ex) { nError = null; System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(ex).Throw(); }
                }
                else if (companions) evaluateCompanions();
            }
            losses[i] = st.Loss;
            amplified = Amplification(st);
            if (!measured)
            {
                d = companions ? Distance(level, wp, w, vp, v) : 0.0;
                dn = companions ? Distance(level, wn, w, vn, v) : 0.0;
                dispI = Distance(level, w, w0, v, v0);
            }
            growth[i] = companions ? grown : double.NaN;
            amp[i] = companions ? amplified : double.NaN;
            // a companion that left the finite numbers (NaN: its own divergence, not the replay's) makes the tolerance unbounded
            tol[i] = companions ? Safety * Unbounded(Math.Max(acc, dn)) : 0.0;
            disp[i] = dispI;
            // |ℓ_producer − ℓ_replay| ≤ 2λE + 2(τℓ + 2√ℓ δ + δ²): λ the larger of ‖∇ℓ‖ = ‖G‖/L and the measured secant
            // |ℓ(Z') − ℓ(Z)|/‖Z' − Z‖ along the most expanded direction; the second term is the rounding of both loss evaluations.
            double gnorm = trace["grad_norm"][i];
            double lam = Math.Max(gnorm / L, d > 0 ? Math.Abs(sp.Loss - st.Loss) / d : 0.0);
            double rounding = LossRounding(tau, bNorm, st, floor);
            // the producer's own program (exact): its weights are the replay's and its loss the same evaluation in the same
            // order, so the recorded loss must be the replay's bit for bit (no allowance at all)
            ltol[i] = companions ? Math.Max(tol[i] > 0 ? 2 * lam * tol[i] : 0.0, Safety * Unbounded(Math.Abs(sn.Loss - st.Loss))) + rounding : 0.0;
            lround[i] = rounding;
            // a loss allowance beyond float64 (a gradient norm whose square overflowed, a noisy companion gone to ∞) while the
            // replay itself is finite: nothing can be certified from here, which the weights' tolerance says (the loss
            // comparison must not be counted against an infinite allowance), and says for the rest of the segment: a tolerance
            // that was unbounded at one iterate bounds nothing after it
            if (double.IsPositiveInfinity(ltol[i]) && double.IsFinite(st.Loss)) tol[i] = double.PositiveInfinity;
            if (i > 0 && double.IsPositiveInfinity(tol[i - 1])) tol[i] = ltol[i] = double.PositiveInfinity;
            bool handOffLast = updateFirst && onIterate is not null;
            if (!double.IsFinite(st.Loss) || !double.IsFinite(disp[i]) || double.IsNaN(ltol[i]))
            {
                finite = false; TruncateNaN(trace, losses, tol, ltol, lround, growth, disp, amp, i);
                if (handOffLast) HandOff(i, st, w, v);
                break;
            }
            if (spacing < 0 && i > 0 && !(tol[i] <= SegmentReplay.CertifyFraction * startNorm)) spacing = i - 1;
            if (i == len)
            {
                if (handOffLast) HandOff(i, st, w, v);
                break;
            }
            if (!measured) zNorm = companions ? Math.Sqrt(FastKernels.SumSquares<double>(level, w) + FastKernels.SumSquares<double>(level, v)) : 0.0;
            (double, int, double) update;
            double[] wi = w, vi = v;
            if (passes is not null && wSets is not null)
            {
                // Z^{i+1} into the third set; the observers of iterates i − 1 and i read Z^{i−1} and Z^i
                var wTo = wSets[(i + 1) % 3]; var vTo = vSets![(i + 1) % 3];
                var (stepMaxP, clippedP, _) = passes.UpdateInto(w, v, gw, gv, eta, clip, wTo, vTo);
                w = wTo; v = vTo;
                update = (stepMaxP, clippedP, double.NaN);
            }
            else if (passes is not null)
            {
                var (stepMaxP, clippedP, _) = passes.Update(w, v, gw, gv, eta, clip);
                update = (stepMaxP, clippedP, double.NaN);
            }
            else if (onIterate is null)
            {
                if (companions) side.Start(stepCompanions);
                try { update = Trainer.ApplyUpdate<double>(level, w, v, gw, gv, L, md, eta, clip); }
                finally { side.Join(); }
            }
            else
            {
                update = Trainer.ApplyUpdate<double>(level, w, v, gw, gv, L, md, eta, clip);
                if (companions) stepCompanions();
            }
            var (stepMax, clipped, stepNorm) = update;
            trace["step_max"][i] = stepMax;
            trace["clip_fraction"][i] = (double)clipped / L;
            if (updateFirst && onIterate is not null) HandOff(i, st, wi, vi);
            if (!companions) continue;
            // this step's expansion γ of the tracked direction (never counted below 1), then the companion is brought back to ε
            double dNext = Distance(level, wp, w, vp, v);
            double gamma = d > 0 ? Math.Max(1.0, dNext / d) : 1.0;
            // the producer's gradient rounds relative to the samples' terms, not to ‖G‖ (which cancellation between the samples
            // makes small: a float32 producer whose targets carry noise far above the fitted signal was E.replay-violated):
            // ‖Ĝ − G‖ ≤ τ·M, M = (Σ_k (M^V_k)² + (M^W_k)²)^{1/2} the norms of the samples' terms this evaluation formed
            // (EvaluationStats.SampleTermsNorm); at least the step itself (the clip only shrinks a layer's step)
            double terms = st.SampleTermsNorm;
            double gradientError = amplified * (tau * (double.IsFinite(terms) ? Math.Max(stepNorm, eta * terms) : stepNorm)
                + eta * DerivativeAbsoluteError(u, zNorm, st));
            acc = gamma * acc + gradientError + u * (zNorm + stepNorm);
            grown *= gamma;
            if (dNext > 0 && double.IsFinite(dNext))
            {
                double f = eps / dNext;
                ScaleAbout(level, wp, w, f);
                ScaleAbout(level, vp, v, f);
            }
        }
        team?.Help();
        long tEnd1 = timed ? ReplayLaneTimes.Now() : 0;
        side.Join();   // the observer's last iterate
        if (timed)
        {
            long tEnd2 = ReplayLaneTimes.Now();
            ReplayLaneTimes.RJoin += tEnd2 - tEnd1;
            ReplayLaneTimes.RWall += tEnd2 - tLoop;
            ReplayLaneTimes.RCpuNs += ReplayLaneTimes.ThreadCpuNs() - cLoop;
            ReplayLaneTimes.OCpuNs += ReplayLaneTimes.OCpuSpan;
            ReplayLaneTimes.OCpuSpan = 0;
        }
        net.Keep = null;
        net.Inline = false;
        net.SampleTerms = false;
        if (spacing < 0) spacing = finite ? len : 0;

        double endDev = double.NaN, worstDev = double.NaN; int worst = 0;
        if (s + 1 < run.Steps.Length && finite)
        {
            double sq = 0; worstDev = 0;
            for (int k = 0; k < L; k++)
            {
                double a = FastKernels.SumSquaresDiff<double>(level, run.W[s + 1].AsSpan(k * md, md), w.AsSpan(k * md, md))
                         + FastKernels.SumSquaresDiff<double>(level, run.V[s + 1].AsSpan(k * md, md), v.AsSpan(k * md, md));
                sq += a;
                if (Math.Sqrt(a) > worstDev || double.IsNaN(a)) { worstDev = Math.Sqrt(a); worst = k + 1; }
            }
            endDev = Math.Sqrt(sq);
        }
        return new SegmentReplay
        {
            Snapshot = s, From = from, To = to, Trace = trace, Losses = losses, WeightTolerance = tol, LossTolerance = ltol, LossRounding = lround,
            Growth = growth, Displacement = disp, Amplification = amp, EndDeviation = endDev, EndWorstLayer = worst, EndWorstLayerDeviation = worstDev,
            Finite = finite, CertifiableSpacing = spacing, StartNorm = startNorm, BitExact = exact,
        };
    }

    /// <summary>Trace row i: through the fused passes when given (the bits of <see cref="Trainer.Record{T}"/>), else Trainer.Record.</summary>
    private static void Record(IterationPasses<double>? passes, SimdLevel level, Dictionary<string, double[]> trace, int i, EvaluationStats st,
        NetworkShape shape, double[] w, double[] v, double[] gw, double[] gv)
    {
        if (passes is not null) passes.Record(trace, i, st, w, v, gw, gv);
        else Trainer.Record(level, trace, i, st, shape, w, v, gw, gv);
    }

    /// <summary>
    /// The thread count run.json records when it is a usable one, else null (chosen by problem size): 1..64, or up to the
    /// run's number of samples, the most blocks the engine splits them into and so the most `resode train` records (a run
    /// trained on 70 samples with --threads 70 recorded 70, which a bound of 64 alone took for no thread count).
    /// </summary>
    public static int? RecordedThreads(RunData run) =>
        run.Meta.Threads is int t && t >= 1 && (t <= 64 || t <= run.Data.Count) ? t : null;

    /// <summary>
    /// Why the replay is expected to reproduce the producer bit for bit (null when it is not): run.json names this
    /// engine's build (engine_build) on this platform (platform), the vector width the replay runs at (simd_bits) and a
    /// usable thread count, which the replay uses, and the run is float64. This is a claim: E.replay compares every segment
    /// it covers bit for bit.
    /// </summary>
    public static string? BitExactClaim(RunData run)
    {
        if (run.Meta.Precision != "float64") return null;
        if (EngineInfo.Build.EndsWith(":unknown", StringComparison.Ordinal) || run.Meta.EngineBuild != EngineInfo.Build) return null;
        if (run.Meta.Platform != EngineInfo.Platform) return null;
        if (run.Meta.EtaFromLearningRate) return null;
        int bits = Simd.Bits(Simd.Level);
        if (run.Meta.SimdBits != bits) return null;
        return RecordedThreads(run) is int t ? $"run.json names this engine build ({EngineInfo.Build}), its {bits}-bit kernels and {t} thread(s)" : null;
    }

    /// <summary>
    /// Why <see cref="BitExactClaim"/> is null for this run, in a user's words (null when the claim holds): the producer
    /// computed in float32, run.json names no build or another build than this one (a rebuilt engine is another build,
    /// whatever its version), other kernels, or no thread count.
    /// </summary>
    public static string? BitExactMismatch(RunData run)
    {
        if (BitExactClaim(run) is not null) return null;
        if (run.Meta.Precision != "float64") return $"the run is {run.Meta.Precision}, and only a float64 run is replayed bit for bit";
        if (EngineInfo.Build.EndsWith(":unknown", StringComparison.Ordinal)) return "this engine's build is not identified (built outside a git work tree)";
        if (run.Meta.EngineBuild is null) return "run.json names no engine build (engine_build): another producer's run";
        if (run.Meta.EngineBuild != EngineInfo.Build) return $"run.json names engine build {run.Meta.EngineBuild}, and this is {EngineInfo.Build} (a rebuilt engine is another build, whatever its version: train the run again with this build)";
        if (PlatformMismatch(run) is string other) return other;
        if (run.Meta.EtaFromLearningRate) return "run.json gives the step as \"learning_rate\" without \"eta\": the η derived from it may differ in its last bit from the one the run stepped with (give the engine's \"eta\" beside it for a bit-exact replay)";
        int bits = Simd.Bits(Simd.Level);
        if (run.Meta.SimdBits != bits) return $"run.json names {run.Meta.SimdBits?.ToString() ?? "no"}-bit kernels, and this machine runs {bits}-bit ones";
        return run.Meta.Threads is int t
            ? $"run.json names {t} thread(s), which no run of {run.Data.Count} samples used (the engine takes 1 to 64 threads, or up to one a sample)"
            : "run.json names no thread count";
    }

    /// <summary>
    /// Why run.json's platform does not let this engine claim a bit-for-bit replay (null when it names this one). The engine
    /// calls no platform math library (<see cref="PortableMath"/>), but the same bits on two platforms have not been shown,
    /// so a claim holds on the platform that trained the run only (<see cref="EngineInfo.Platform"/>).
    /// </summary>
    internal static string? PlatformMismatch(RunData run) =>
        run.Meta.Platform == EngineInfo.Platform ? null
        : run.Meta.Platform is null ? "run.json names no platform (platform), and a bit-for-bit replay is claimed on the training platform only"
        : $"run.json names platform {run.Meta.Platform}, and this is {EngineInfo.Platform} (a bit-for-bit replay is claimed on the training platform only: the same bits on two platforms have not been shown)";

    /// <summary>Size of the tracking perturbation relative to ‖Z_s‖_F: far above float64 rounding, far inside the linear regime.</summary>
    public const double PerturbationSize = 1e-7;

    /// <summary>Power-iteration steps that align the tracking perturbation with the first step's most expanded direction.</summary>
    public const int AlignSteps = 8;

    // ‖(a, c) − (b, d)‖: the two sums of SumSquaresDiff (their bits) formed side by side in one loop
    private static double Distance(SimdLevel level, double[] a, double[] b, double[] c, double[] d)
    {
        if (a.Length != c.Length) return Math.Sqrt(FastKernels.SumSquaresDiff<double>(level, a, b) + FastKernels.SumSquaresDiff<double>(level, c, d));
        var (s1, s2) = FastKernels.SumSquaresDiffPair(level, a, b, c, d);
        return Math.Sqrt(s1 + s2);
    }

    // x ← c + (x − c)·f entry by entry (a difference, a product, a sum: no fused multiply-add, in vector lanes where there are).
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ScaleAbout(SimdLevel level, double[] x, double[] c, double f)
    {
        int n = x.Length, i = 0;
        ref double rx = ref MemoryMarshal.GetArrayDataReference(x);
        ref double rc = ref MemoryMarshal.GetArrayDataReference(c);
        if (c.Length < n) throw new ArgumentException("operand too short");
        if (level == SimdLevel.Vector512)
        {
            var fv = Vector512.Create(f);
            for (; i + 8 <= n; i += 8)
            {
                var cv = Vector512.LoadUnsafe(ref rc, (nuint)i);
                (cv + (Vector512.LoadUnsafe(ref rx, (nuint)i) - cv) * fv).StoreUnsafe(ref rx, (nuint)i);
            }
        }
        else if (level == SimdLevel.Vector256)
        {
            var fv = Vector256.Create(f);
            for (; i + 4 <= n; i += 4)
            {
                var cv = Vector256.LoadUnsafe(ref rc, (nuint)i);
                (cv + (Vector256.LoadUnsafe(ref rx, (nuint)i) - cv) * fv).StoreUnsafe(ref rx, (nuint)i);
            }
        }
        for (; i < n; i++) x[i] = c[i] + (x[i] - c[i]) * f;
    }

    // Scales (dw, dv) to joint norm eps; false when it is zero or not finite.
    private static bool Rescale(SimdLevel level, double[] dw, double[] dv, double eps)
    {
        double nrm = Math.Sqrt(FastKernels.SumSquares<double>(level, dw) + FastKernels.SumSquares<double>(level, dv));
        if (!(nrm > 0) || !double.IsFinite(nrm)) return false;
        double f = eps / nrm;
        for (int i = 0; i < dw.Length; i++) { dw[i] *= f; dv[i] *= f; }
        return true;
    }

    // A fixed ±1 pattern (a multiplicative hash of the index): deterministic, no random stream involved.
    private static double Sign(int i) => ((uint)i * 2654435761u >> 31) == 0 ? 1.0 : -1.0;

    private static void TruncateNaN(Dictionary<string, double[]> trace, double[] losses, double[] tol, double[] ltol, double[] lround, double[] growth, double[] disp, double[] amp, int from)
    {
        foreach (var c in trace.Values) Array.Fill(c, double.NaN, from, c.Length - from);
        foreach (var a in new[] { losses, tol, ltol, lround, growth, disp, amp }) Array.Fill(a, double.NaN, from, a.Length - from);
    }
}
