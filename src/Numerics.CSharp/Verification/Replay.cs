using ResOdeProofs.Numerics.IO;
using ResOdeProofs.Numerics.Model;
using ResOdeProofs.Numerics.Training;

namespace ResOdeProofs.Numerics.Verification;

/// <summary>
/// Called at every replayed iterate with the iteration index j, the replayed weights Z^j (W, V), the
/// depth-scaled gradient G(Z^j) = L·∂ℓ/∂Z and the evaluation's statistics. The spans are valid only
/// during the call (copy what you keep).
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
    /// <summary>Allowed |ℓ_recorded − ℓ_replay| at iterate From + i.</summary>
    public required double[] LossTolerance { get; init; }
    /// <summary>Measured growth g_i = D_i / min_{l≤i} D_l of a perturbation of relative size ≈ u (≥ 1).</summary>
    public required double[] Growth { get; init; }
    /// <summary>‖Z_replay(From + i) − Z_s‖_F, the displacement of the replay from the snapshot.</summary>
    public required double[] Displacement { get; init; }
    /// <summary>‖Z_recorded(s + 1) − Z_replay(To)‖_F (NaN for the last snapshot).</summary>
    public double EndDeviation { get; init; } = double.NaN;
    /// <summary>The layer (1-based) with the largest deviation at the next snapshot and that deviation.</summary>
    public int EndWorstLayer { get; init; }
    public double EndWorstLayerDeviation { get; init; } = double.NaN;
    /// <summary>False when the replay's weights or losses became non-finite.</summary>
    public bool Finite { get; init; } = true;
    /// <summary>Relative certification threshold: the segment is certified when E_To ≤ this × displacement.</summary>
    public const double CertifyFraction = 0.01;
    /// <summary>E at the end is at most <see cref="CertifyFraction"/> of the displacement: the replay can tell the run from a change of that size.</summary>
    public bool Certified => Finite && (To == From || WeightTolerance[^1] <= CertifyFraction * Displacement[^1]);
    /// <summary>The largest number of iterations J ≤ To − From over which every prefix is certifiable (0: not even one step).</summary>
    public required int CertifiableSpacing { get; init; }
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
        var col = new double[Iterates];
        Array.Fill(col, double.NaN);
        foreach (var seg in Segments)
        {
            var src = seg.Trace[name];
            for (int i = 0; i < src.Length; i++) col[seg.From + i] = src[i];
        }
        // each segment's last iterate is overwritten by the next segment's first (the recorded snapshot)
        foreach (var seg in Segments) col[seg.From] = seg.Trace[name][0];
        if (name == "step_max" || name == "clip_fraction") col[Iterates - 1] = 0.0;
        return col;
    }

    /// <summary>The replayed loss at every iterate (NaN before the first snapshot), stitched like <see cref="Column"/>.</summary>
    public double[] Losses()
    {
        var col = new double[Iterates];
        Array.Fill(col, double.NaN);
        foreach (var seg in Segments) for (int i = 0; i < seg.Losses.Length; i++) col[seg.From + i] = seg.Losses[i];
        foreach (var seg in Segments) col[seg.From] = seg.Losses[0];
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

    /// <summary>True when the run declares plain or clipped gradient descent (the optimizers the replay reproduces).</summary>
    public static bool IsGradientDescent(RunData run) => run.Meta.Optimizer is "gd" or "clipped-gd";

    /// <summary>Replays every segment (see <see cref="Segment"/>).</summary>
    public static RunReplay Run(RunData run)
    {
        var segs = new SegmentReplay[run.Steps.Length];
        for (int s = 0; s < segs.Length; s++) segs[s] = Segment(run, s);
        return new RunReplay { Segments = segs, Iterates = run.Losses.Length };
    }

    /// <summary>
    /// Replays gradient descent from snapshot <paramref name="s"/> to the next snapshot (or the last recorded
    /// iterate), calling <paramref name="onIterate"/> at every iterate of the replay (From..To, both included).
    /// The clip radius is applied when the run declares clipped-gd. A second replay from the snapshot perturbed
    /// by about one unit roundoff of the producer's precision measures the trajectory's growth of errors; the
    /// tolerance is E_i = 4·g_i·Σ_{l&lt;i} e_l with e_l = τ·‖ηc G_l‖ + u·(‖Z_l‖ + ‖ηc G_l‖) the rounding of
    /// step l and g_i = D_i / min_{l≤i} D_l the measured growth (docs/theorems/Evidence.md).
    /// </summary>
    public static SegmentReplay Segment(RunData run, int s, IterateCallback? onIterate = null)
    {
        var shape = run.Shape;
        int L = shape.Depth, md = shape.LayerSize, total = L * md, n = run.Data.Count;
        int from = run.Steps[s];
        int to = s + 1 < run.Steps.Length ? run.Steps[s + 1] : run.Losses.Length - 1;
        int len = to - from;
        double u = UnitRoundoff(run.Meta.Precision);
        double tau = GradientRounding(shape, n, u);
        double eta = run.Eta;
        double? clip = run.Meta.Optimizer == "clipped-gd" ? run.Clip : null;
        var engine = new TrainOptions(run.Activation, eta, 0).EngineFor(shape, n);
        var net = new ResNet<double>(shape, run.Activation, run.Data, engine, run.A, run.B);
        var level = Simd.Level;

        var w = (double[])run.W[s].Clone(); var v = (double[])run.V[s].Clone();
        var w0 = run.W[s]; var v0 = run.V[s];
        // The perturbed companion: each entry moved by ±4u(|z| + ρ), ρ the rms entry (a few ulps of the producer's precision).
        var wp = (double[])w.Clone(); var vp = (double[])v.Clone();
        double rms = Math.Sqrt((FastKernels.SumSquares<double>(level, w) + FastKernels.SumSquares<double>(level, v)) / (2.0 * total));
        if (!(rms > 0) || !double.IsFinite(rms)) rms = 1.0;
        for (int i = 0; i < total; i++)
        {
            wp[i] += 4 * u * (Math.Abs(wp[i]) + rms) * Sign(i);
            vp[i] += 4 * u * (Math.Abs(vp[i]) + rms) * Sign(i + total);
        }
        var gw = new double[total]; var gv = new double[total];
        var gwp = new double[total]; var gvp = new double[total];

        var cols = TraceColumns.All.Select(c => c.Name).ToArray();
        var trace = cols.ToDictionary(c => c, _ => new double[len + 1]);
        var losses = new double[len + 1];
        var tol = new double[len + 1]; var ltol = new double[len + 1];
        var growth = new double[len + 1]; var disp = new double[len + 1];
        var power = new Trainer.PowerIteration(shape);
        double bNorm = run.B is null ? 1.0 : Math.Sqrt(FastKernels.SumSquares<double>(level, run.B));
        double sumE = 0, minD = double.PositiveInfinity;
        bool finite = true;
        int spacing = -1;
        for (int i = 0; i <= len; i++)
        {
            var st = net.Evaluate(w, v, gw, gv);
            Trainer.Record(level, trace, i, st, shape, w, v, gw, gv, power);
            losses[i] = st.Loss;
            onIterate?.Invoke(from + i, w, v, gw, gv, st);
            var sp = net.Evaluate(wp, vp, gwp, gvp);
            double d = Math.Sqrt(FastKernels.SumSquaresDiff<double>(level, wp, w) + FastKernels.SumSquaresDiff<double>(level, vp, v));
            minD = Math.Min(minD, d);
            double g = minD > 0 ? Math.Max(1.0, d / minD) : 1.0;
            growth[i] = g;
            tol[i] = Safety * g * sumE;
            disp[i] = Math.Sqrt(FastKernels.SumSquaresDiff<double>(level, w, w0) + FastKernels.SumSquaresDiff<double>(level, v, v0));
            // |ℓ_producer − ℓ_replay| ≤ 2λE + 2(τℓ + 2√ℓ δ + δ²): λ the larger of ‖∇ℓ‖ = ‖G‖/L and the measured secant
            // |ℓ(Z') − ℓ(Z)|/D along the perturbation; the second term is the rounding of both loss evaluations.
            double gnorm = trace["grad_norm"][i];
            double lam = Math.Max(gnorm / L, d > 0 ? Math.Abs(sp.Loss - st.Loss) / d : 0.0);
            double delta = tau * bNorm * st.MaxHiddenNorm;
            ltol[i] = 2 * lam * tol[i] + 2 * (tau * Math.Abs(st.Loss) + 2 * Math.Sqrt(Math.Abs(st.Loss)) * delta + delta * delta);
            if (!double.IsFinite(st.Loss) || !double.IsFinite(disp[i])) { finite = false; TruncateNaN(trace, losses, tol, ltol, growth, disp, i); break; }
            if (spacing < 0 && i > 0 && !(tol[i] <= SegmentReplay.CertifyFraction * disp[i])) spacing = i - 1;
            if (i == len) break;
            double zNorm = Math.Sqrt(FastKernels.SumSquares<double>(level, w) + FastKernels.SumSquares<double>(level, v));
            var (stepMax, clipped, stepNorm) = Trainer.ApplyUpdate<double>(level, w, v, gw, gv, L, md, eta, clip);
            Trainer.ApplyUpdate<double>(level, wp, vp, gwp, gvp, L, md, eta, clip);
            trace["step_max"][i] = stepMax;
            trace["clip_fraction"][i] = (double)clipped / L;
            sumE += tau * stepNorm + u * (zNorm + stepNorm);
        }
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
            Snapshot = s, From = from, To = to, Trace = trace, Losses = losses, WeightTolerance = tol, LossTolerance = ltol,
            Growth = growth, Displacement = disp, EndDeviation = endDev, EndWorstLayer = worst, EndWorstLayerDeviation = worstDev,
            Finite = finite, CertifiableSpacing = spacing,
        };
    }

    // A fixed ±1 pattern (a multiplicative hash of the index): deterministic, no random stream involved.
    private static double Sign(int i) => ((uint)i * 2654435761u >> 31) == 0 ? 1.0 : -1.0;

    private static void TruncateNaN(Dictionary<string, double[]> trace, double[] losses, double[] tol, double[] ltol, double[] growth, double[] disp, int from)
    {
        foreach (var c in trace.Values) Array.Fill(c, double.NaN, from, c.Length - from);
        foreach (var a in new[] { losses, tol, ltol, growth, disp }) Array.Fill(a, double.NaN, from, a.Length - from);
    }
}
