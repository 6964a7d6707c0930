using System.Diagnostics;
using ResOdeProofs.Numerics.Model;
using ResOdeProofs.Numerics.Ode;

namespace ResOdeProofs.Numerics.Training;

/// <summary>
/// What to integrate: the gradient flow of the depth-L ResNet over [0, T], recorded at output times.
/// The default grid is uniform, t_j = j·T/N (j = 0..N), so that a flow run directory has the format of a
/// gradient-descent run with η = T/N: losses[j] = ℓ(Z(t_j)), steps.npy indexes output times.
/// </summary>
public sealed record FlowOptions(ActivationKind Activation, double Horizon, int Intervals)
{
    /// <summary>Relative and absolute tolerances of the adaptive integrator (weighted RMS norm, see <see cref="OdeSolver"/>).</summary>
    public double Rtol { get; init; } = 1e-6;
    public double Atol { get; init; } = 1e-9;
    /// <summary>Clip radius C: each layer's G_k is replaced by its projection onto the Frobenius ball of radius C.</summary>
    public double? Clip { get; init; }
    /// <summary>Explicit output times (sorted, first 0, last T; then <see cref="Intervals"/> is ignored); null = uniform grid.</summary>
    public double[]? OutputTimes { get; init; }
    /// <summary>Number of evenly spaced snapshot output indices (including 0 and the last).</summary>
    public int Snapshots { get; init; } = 5;
    /// <summary>Explicit snapshot output indices (0 and the last are always added).</summary>
    public int[]? SnapshotSteps { get; init; }
    /// <summary>The embedded Runge–Kutta pair (default Dormand–Prince 5(4)).</summary>
    public ButcherTableau? Tableau { get; init; }
    /// <summary>Test-only engine fault, applied to the vector field as to gradient descent's update.</summary>
    public EngineFault Fault { get; init; }
    /// <summary>Called at each output time with (output index, number of intervals, loss).</summary>
    public Action<int, int, double>? Progress { get; init; }
    /// <summary>Stops the integration at the next output time when cancelled (status interrupted, that output kept as the last snapshot).</summary>
    public CancellationToken Cancel { get; init; }

    /// <summary>The output times t_0 = 0 &lt; … &lt; t_N = T.</summary>
    public double[] Times()
    {
        if (OutputTimes is not null) return (double[])OutputTimes.Clone();
        var t = new double[Intervals + 1];
        for (int j = 0; j <= Intervals; j++) t[j] = j == Intervals ? Horizon : Horizon * j / Intervals;
        return t;
    }

    /// <summary>Number of output intervals N (N + 1 output times).</summary>
    public int Count => OutputTimes is null ? Intervals : OutputTimes.Length - 1;

    /// <summary>
    /// The equivalent gradient-descent options for the run directory: η = T/N (the grid spacing of a uniform
    /// grid, so t_j = j·η), N output intervals in place of N iterations.
    /// </summary>
    public TrainOptions AsTrainOptions() => new(Activation, Horizon / Count, Count)
    {
        Clip = Clip, Snapshots = Snapshots, SnapshotSteps = SnapshotSteps, Fault = Fault,
    };

    /// <summary>Throws an ArgumentException naming the first invalid option.</summary>
    public void Validate()
    {
        if (!(Horizon > 0) || !double.IsFinite(Horizon)) throw new ArgumentException($"the horizon T must be a positive finite number (got {Horizon})");
        if (OutputTimes is null && Intervals < 1) throw new ArgumentException($"the flow needs at least one output interval (got {Intervals})");
        // a finite rtol in (0, 1) and a positive atol: with atol = 0 the error norm divides by rtol·|y|, which is 0 for the
        // components that start at 0 (V⁰ = 0), so no step could be accepted
        if (!(Rtol > 0 && Rtol < 1)) throw new ArgumentException($"--rtol must lie in (0, 1) (got {Rtol})");
        if (!(Atol > 0 && double.IsFinite(Atol)))
            throw new ArgumentException($"--atol must be a positive finite number (got {Atol}): a purely relative tolerance cannot control weights that are 0, such as V⁰ = 0");
        if (Clip is double c && !(c > 0 && double.IsFinite(c))) throw new ArgumentException($"the clip radius must be a positive finite number (got {c}; leave --clip out for no clipping)");
        if (OutputTimes is double[] ts)
        {
            if (ts.Length < 2 || ts[0] != 0 || ts[^1] != Horizon) throw new ArgumentException("explicit output times must start at 0 and end at the horizon T");
            for (int i = 1; i < ts.Length; i++)
                if (!(ts[i] > ts[i - 1])) throw new ArgumentException($"output times must increase strictly (entry {i} is {ts[i]} after {ts[i - 1]})");
        }
        AsTrainOptions().Validate();
    }
}

/// <summary>The integration behind a gradient-flow run: parameters and cost, written to run.json.</summary>
public sealed record FlowInfo(double Horizon, double Rtol, double Atol, string Method, double[]? OutputTimes, int Steps, int Rejected, int Evaluations);

/// <summary>
/// The gradient flow of the depth-scaled loss,
/// <code>
/// dZ_k/dt = −c_k(Z)·G_k(Z),  G_k = L·∂ℓ/∂Z_k,  c_k = 1 (gf) or min(1, C/‖G_k‖_F) (clipped-gf),
/// </code>
/// integrated over [0, T] with an adaptive embedded Runge–Kutta pair (<see cref="OdeSolver"/>, state
/// y = (W, V) flattened), the vector field from <see cref="ResNet{T}.Evaluate"/> in float64. Along the flow
/// dℓ/dt = ⟨∂ℓ/∂Z, dZ/dt⟩ = −Σ_k c_k‖G_k‖²/L, which is −pl_ratio·ℓ for gf. At each output time t_j the
/// loss and the trace columns of <see cref="TraceColumns"/> are recorded exactly as gradient descent
/// records them at its iterates, except: step_max[j] = max_k ‖Z_k(t_{j+1}) − Z_k(t_j)‖_F (the displacement
/// over the output interval) and clip_fraction[j] = fraction of layers with ‖G_k(t_j)‖_F &gt; C.
/// </summary>
public static class GradientFlow
{
    /// <summary>Integrates the flow from <paramref name="init"/>; the result writes as a run directory with optimizer gf / clipped-gf.</summary>
    public static TrainRecord Train(NetworkShape shape, Dataset data, InitialParameters init, FlowOptions options,
        long seed, string dataDescription, double[]? a = null, double[]? b = null)
    {
        options.Validate();
        var o = options.AsTrainOptions();
        var tab = options.Tableau ?? ButcherTableau.DormandPrince54;
        Trainer.CheckShape(shape, data);
        var res = new TrainRecord
        {
            Block = Trainer.MlpOf(shape, options.Activation), Hyper = Trainer.MlpHyper(shape), Depth = shape.Depth, SpelledWV = true, Data = data, A = a, B = b, Init = init.Info, Options = o, Seed = seed,
            DataDescription = dataDescription, Status = RunStatus.Completed,
        };
        var sw = Stopwatch.StartNew();
        int L = shape.Depth, md = shape.LayerSize, total = L * md, N = options.Count;
        var net = new ResNet<double>(shape, options.Activation, data, a, b) { Fault = options.Fault };
        var times = options.Times();
        var y0 = new double[2 * total];
        init.W.CopyTo(y0, 0); init.V.CopyTo(y0, total);

        // The vector field −c_k G_k.
        var gw = new double[total]; var gv = new double[total];
        void Field(double t, ReadOnlySpan<double> y, Span<double> dy) => FieldInto(net, options.Clip, L, md, y, dy, gw, gv);

        // Recording at output times (its own buffers: the field's are in use by the solver).
        var cols = TraceColumns.All.Select(c => c.Name).ToArray();
        var trace = cols.ToDictionary(c => c, _ => new double[N + 1]);
        var losses = new double[N + 1];
        var plan = Trainer.SnapshotPlan(o);
        int nextSnap = 0, recorded = 0;
        var rw = new double[total]; var rv = new double[total]; var rgw = new double[total]; var rgv = new double[total];
        double[]? prev = null;
        void Output(int j, double t, double[] y)
        {
            var st = RecordOutput(net, shape, options.Clip, trace, losses, j, y, prev, rw, rv, rgw, rgv);
            prev = (double[])y.Clone();
            if (nextSnap < plan.Length && plan[nextSnap] == j)
            {
                res.SnapshotSteps.Add(j); res.Snapshots.Add(Parameters.FromParts(res.Block, L, (double[])rw.Clone(), (double[])rv.Clone()));
                nextSnap++;
            }
            recorded = j + 1;
            options.Progress?.Invoke(j, N, st.Loss);
            if (j < N && options.Cancel.IsCancellationRequested)
            {
                if (res.SnapshotSteps.Count == 0 || res.SnapshotSteps[^1] != j) { res.SnapshotSteps.Add(j); res.Snapshots.Add(Parameters.FromParts(res.Block, L, (double[])rw.Clone(), (double[])rv.Clone())); }
                throw new OperationCanceledException(options.Cancel);
            }
        }

        OdeSolution? sol = null;
        var atOutput = new OdeCounts();
        try
        {
            sol = OdeSolver.Integrate(Field, 0.0, options.Horizon, y0, options.Rtol, options.Atol, tab, times, onOutput: Output, countsAtOutput: atOutput);
        }
        catch (InvalidOperationException e)
        {
            res.Status = RunStatus.Diverged;
            res.DivergedAt = recorded;
            res.DivergenceReason = $"the integration stopped after output {recorded - 1} (t = {(recorded > 0 ? times[recorded - 1] : 0):G6}): {e.Message}";
        }
        catch (OperationCanceledException) when (options.Cancel.IsCancellationRequested)
        {
            res.Status = RunStatus.Interrupted;
        }
        res.Losses = losses[..recorded];
        foreach (var col in cols) res.Trace[col] = trace[col][..recorded];
        res.UpdatesApplied = Math.Max(0, recorded - 1);
        res.Flow = new FlowInfo(options.Horizon, options.Rtol, options.Atol, tab.Name, options.OutputTimes is null ? null : times,
            // a run stopped early (interrupted, diverged) records the steps that reached its last recorded output (it recorded 0)
            sol?.Steps ?? atOutput.Steps, sol?.Rejected ?? atOutput.Rejected, sol?.Evaluations ?? atOutput.Evaluations);
        res.Seconds = sw.Elapsed.TotalSeconds;
        return res;
    }

    /// <summary>
    /// The vector field −c_k·G_k at the state <paramref name="y"/> (W then V, flattened, each L layers of md entries) into
    /// <paramref name="dy"/>, the layer gradients left in <paramref name="gw"/>, <paramref name="gv"/>; c_k the clip factor
    /// of layer k (1 without a clip radius). One definition for the producer and the verifier's flow replay, so that the
    /// replay of this engine's own run evaluates the same numbers.
    /// </summary>
    internal static void FieldInto(ResNet<double> net, double? clip, int L, int md, ReadOnlySpan<double> y, Span<double> dy, double[] gw, double[] gv)
    {
        int total = L * md;
        net.Evaluate(y[..total], y[total..], gw, gv);
        for (int k = 0; k < L; k++)
        {
            double factor = ClipFactor(gw.AsSpan(k * md, md), gv.AsSpan(k * md, md), clip);
            for (int i = 0; i < md; i++)
            {
                dy[k * md + i] = -factor * gw[k * md + i];
                dy[total + k * md + i] = -factor * gv[k * md + i];
            }
        }
    }

    /// <summary>
    /// What a flow run records at output <paramref name="j"/> of state <paramref name="y"/> (W then V, flattened): the loss,
    /// the trace columns of gradient descent (<see cref="Trainer.Record"/>), the clipped layers' fraction and, with the
    /// previous output's state <paramref name="prev"/>, step_max of the interval before it. The weights and their gradient
    /// are left in <paramref name="rw"/>, <paramref name="rv"/>, <paramref name="rgw"/>, <paramref name="rgv"/>. One
    /// definition for the producer and the verifier's flow replay, so that the columns the two record are the same numbers.
    /// </summary>
    internal static EvaluationStats RecordOutput(ResNet<double> net, NetworkShape shape, double? clip, Dictionary<string, double[]> trace,
        double[] losses, int j, double[] y, double[]? prev, double[] rw, double[] rv, double[] rgw, double[] rgv)
    {
        int L = shape.Depth, md = shape.LayerSize, total = rw.Length;
        Array.Copy(y, 0, rw, 0, total); Array.Copy(y, total, rv, 0, total);
        var st = net.Evaluate(rw, rv, rgw, rgv);
        losses[j] = st.Loss;
        Trainer.Record(Simd.Level, trace, j, st, shape, rw, rv, rgw, rgv);
        int clipped = 0;
        for (int k = 0; k < L; k++)
            if (ClipFactor(rgw.AsSpan(k * md, md), rgv.AsSpan(k * md, md), clip) < 1) clipped++;
        trace["clip_fraction"][j] = (double)clipped / L;
        trace["step_max"][j] = 0;
        if (prev is not null) trace["step_max"][j - 1] = MaxLayerDistance(y, prev, L, md, total);
        return st;
    }

    /// <summary>step_max of a flow run's trace: max_k ‖Z_k(a) − Z_k(b)‖_F of two flattened states (W then V, each L
    /// layers of md entries, V at <paramref name="total"/>), each layer's sum over its W then V entries in order. One
    /// definition for the producer and the verifier's flow replay, so that the two columns are the same numbers.</summary>
    internal static double MaxLayerDistance(double[] a, double[] b, int L, int md, int total)
    {
        double best = 0;
        for (int k = 0; k < L; k++)
        {
            double s2 = 0;
            for (int i = 0; i < md; i++)
            {
                double dw = a[k * md + i] - b[k * md + i], dv = a[total + k * md + i] - b[total + k * md + i];
                s2 += dw * dw + dv * dv;
            }
            best = Math.Max(best, Math.Sqrt(s2));
        }
        return best;
    }

    /// <summary>c = min(1, C/‖(G^W_k, G^V_k)‖_F), 1 without a clip radius (internal: the verifier's flow replay applies the same factor).</summary>
    internal static double ClipFactor(ReadOnlySpan<double> gw, ReadOnlySpan<double> gv, double? clip)
    {
        if (clip is not double c) return 1.0;
        double nrm = Math.Sqrt(Kernels.SumSquares(gw) + Kernels.SumSquares(gv));
        return nrm > c ? c / nrm : 1.0;
    }
}
