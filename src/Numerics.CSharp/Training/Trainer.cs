using System.Diagnostics;
using System.Numerics;
using ResOdeProofs.Numerics.Blocks;
using ResOdeProofs.Numerics.Model;

namespace ResOdeProofs.Numerics.Training;

/// <summary>Optimizer of a discrete-step run (<see cref="TrainOptions.Optimizer"/>), written in run.json as gd or clipped-gd.
/// The integrated flow (<see cref="GradientFlow"/>) writes gf or clipped-gf from its own options.</summary>
public enum OptimizerKind
{
    /// <summary>Full-batch gradient descent Z ← Z − η·G with G = L·∂ℓ/∂Z.</summary>
    GradientDescent,
    /// <summary>The same with each layer's G_k projected onto the Frobenius ball of radius C.</summary>
    ClippedGradientDescent,
}

/// <summary>How a run ended.</summary>
public enum RunStatus
{
    /// <summary>All requested iterations ran with finite loss and weights.</summary>
    Completed,
    /// <summary>The loss or a weight became non-finite; the run stopped there.</summary>
    Diverged,
    /// <summary>Stopped on request (a signal) before the last iteration; the result holds the iterates up to that point.</summary>
    Interrupted,
}

/// <summary>What to train and how. η is the time step of the depth-scaled flow (learning rate L·η on ∂ℓ/∂Z).</summary>
public sealed record TrainOptions(ActivationKind Activation, double Eta, int Iterations)
{
    /// <summary>Clip radius C (per-layer Frobenius ball for G_k = L·∂ℓ/∂Z_k); null = plain gradient descent.</summary>
    public double? Clip { get; init; }
    /// <summary>Number of evenly spaced snapshot iterations (including 0 and the last); at least 2.</summary>
    public int Snapshots { get; init; } = 5;
    /// <summary>Explicit snapshot iterations (overrides <see cref="Snapshots"/>); 0 and the last are always added.</summary>
    public int[]? SnapshotSteps { get; init; }
    /// <summary>Run the engine in float32 (the trace and the files stay float64).</summary>
    public bool Float32 { get; init; }
    /// <summary>Test-only engine fault (see <see cref="EngineFault"/>).</summary>
    public EngineFault Fault { get; init; }
    /// <summary>Called every <see cref="ProgressEvery"/> iterations with (iteration, total, loss).</summary>
    public Action<int, int, double>? Progress { get; init; }
    /// <summary>Progress period in iterations (0 = about 100 calls per run).</summary>
    public int ProgressEvery { get; init; }
    /// <summary>
    /// Stops the run early when cancelled: the iterate reached is evaluated and kept as the last snapshot, and the
    /// result has status <see cref="RunStatus.Interrupted"/> (a readable run with everything up to that point).
    /// </summary>
    public CancellationToken Cancel { get; init; }

    /// <summary>
    /// Engine threads (the batch of samples is split; gradients are reduced in a fixed order, so a run is
    /// bit-reproducible for a given value). null = by problem size, see <see cref="EngineFor"/>.
    /// </summary>
    public int? Threads { get; init; }
    /// <summary>
    /// Exact gradient checkpointing: segment length K (store every K-th hidden state, recompute the rest in the
    /// backward pass; peak memory O(L/K + K) states). 0 = off; null = automatic: when storing every state would
    /// take more than <see cref="AutoCheckpointBytes"/>, K = ⌈√L⌉ and the final layers that fit in that budget
    /// are kept (only the others are recomputed), otherwise off. Results are bit-identical with and without
    /// checkpointing.
    /// </summary>
    public int? Checkpoint { get; init; }

    /// <summary>Stored-activation size above which the automatic setting turns checkpointing on (512 MiB).</summary>
    public const long AutoCheckpointBytes = EngineOptions.StorageBudgetBytes;
    /// <summary>Work per iteration, n·d·m·L, from which the automatic setting uses 2 threads.</summary>
    public const long AutoThreadsWork = 1L << 20;

    /// <summary>
    /// The engine options these options give for a problem: threads = <see cref="Threads"/>, or 2 when
    /// n ≥ 32 and n·d·m·L ≥ 2^20 (about 12 MFLOP per iteration, where the split pays for its fixed
    /// per-layer costs), else 1; checkpointing as described at <see cref="Checkpoint"/>. The choice
    /// depends on the problem only, never on the machine, so runs stay reproducible across machines.
    /// </summary>
    public EngineOptions EngineFor(NetworkShape shape, int samples)
    {
        long work = (long)samples * shape.Dim * shape.Width * shape.Depth;
        int threads = Threads ?? (samples >= 32 && work >= AutoThreadsWork ? 2 : 1);
        // the engine splits the samples into at most n blocks, one per thread: more threads than samples are the same run,
        // and run.json records the count in use (a run asked for 100 000 threads on 16 samples recorded 100 000, which no
        // replay takes as a usable thread count, so it lost its bit-exact claim); an invalid count is left for Validate
        if (threads > samples && samples >= 1) threads = samples;
        int elem = Float32 ? 4 : 8;
        long perLayer = EngineOptions.BytesPerLayer(shape, samples, elem);
        long stored = perLayer * shape.Depth;
        int segment = Checkpoint ?? (stored > AutoCheckpointBytes ? EngineOptions.SqrtSegment(shape.Depth) : 0);
        // Automatic checkpointing keeps as many final layers as fit in the budget and recomputes only the rest.
        int keep = Checkpoint is null && segment > 0 ? (int)Math.Min(shape.Depth, AutoCheckpointBytes / perLayer) : 0;
        return new EngineOptions { Threads = threads, CheckpointSegment = segment, CheckpointKeepLast = keep };
    }

    /// <summary>The optimizer these options describe.</summary>
    public OptimizerKind Optimizer => Clip is null ? OptimizerKind.GradientDescent : OptimizerKind.ClippedGradientDescent;

    /// <summary>Throws an ArgumentException naming the first invalid option.</summary>
    public void Validate()
    {
        if (!(Eta > 0) || !double.IsFinite(Eta)) throw new ArgumentException($"the step η must be a positive finite number (got {Eta})");
        if (Iterations < 0) throw new ArgumentException($"the number of iterations must be ≥ 0 (got {Iterations})");
        if (Clip is double c && !(c > 0 && double.IsFinite(c))) throw new ArgumentException($"the clip radius must be a positive finite number (got {c}; leave --clip out for no clipping)");
        if (Threads is int t && t < 1) throw new ArgumentException($"the number of threads must be at least 1 (got {t})");
        if (Checkpoint is int cp && cp < 0) throw new ArgumentException($"the checkpoint segment length must be ≥ 0 (got {cp}; 0 = off)");
        if (SnapshotSteps is null && Snapshots < 2) throw new ArgumentException($"at least 2 snapshots are needed (iteration 0 and the last), got {Snapshots}");
    }
}

/// <summary>
/// The per-iterate diagnostics of a run. Column j is evaluated at the iterate Z^j (j = 0..N),
/// i.e. at time t_j = j·η; the names are those of the run directory's trace/ files.
/// </summary>
public static class TraceColumns
{
    /// <summary>Column names with their meaning, in file order.</summary>
    public static readonly (string Name, string Meaning)[] All =
    {
        ("loss", "ℓ(Z^j) = (1/n) Σ_i ‖F(x_i) − y_i‖²"),
        ("grad_norm", "‖G‖ = (Σ_k ‖G_k‖_F²)^{1/2}, G_k = L·∂ℓ/∂Z_k"),
        ("pl_ratio", "r = Σ_k ‖G_k‖_F² / (L·ℓ): the flow has dℓ/dt = −r·ℓ"),
        ("grad_w_max", "max_k ‖G^W_k‖_F"),
        ("grad_v_max", "max_k ‖G^V_k‖_F"),
        ("step_max", "max_k ‖Z_k^{j+1} − Z_k^j‖_F (the applied update, 0 at the last iterate)"),
        ("clip_fraction", "fraction of layers whose G_k was clipped at this update"),
        ("smooth_w", "max_{k<L} ‖W_{k+1} − W_k‖_F"),
        ("smooth_v", "max_{k<L} ‖V_{k+1} − V_k‖_F"),
        ("smooth_z", "max_{k<L} (‖W_{k+1} − W_k‖_F² + ‖V_{k+1} − V_k‖_F²)^{1/2}"),
        ("w_fro_max", "max_k ‖W_k‖_F"),
        ("v_fro_max", "max_k ‖V_k‖_F"),
        ("hidden_max", "max_{k,i} ‖h_k^i‖"),
        ("adjoint_sum_max", "max_k Σ_i ‖p_k^i‖, p_k^i = ∂ℓ/∂h_k^i"),
        ("preact_min", "min over k, i, j of (W_k h_{k−1}^i)_j"),
        ("preact_max", "max over k, i, j of (W_k h_{k−1}^i)_j"),
    };
}

/// <summary>Full-batch (clipped) gradient descent on the depth-scaled loss, with a trace.</summary>
public static class Trainer
{
    /// <summary>Trains the MLP of <paramref name="shape"/> from <paramref name="init"/> (its parts W and V) and returns losses,
    /// snapshots and the trace: a run spelled with the parts W and V.</summary>
    public static TrainRecord Train(NetworkShape shape, Dataset data, InitialParameters init, TrainOptions options,
        long seed, string dataDescription, double[]? a = null, double[]? b = null)
    {
        options.Validate();
        CheckShape(shape, data);
        var result = new TrainRecord
        {
            Block = MlpOf(shape, options.Activation), Hyper = MlpHyper(shape), Depth = shape.Depth, SpelledWV = true,
            Data = data, A = a, B = b, Init = init.Info, Options = options, Seed = seed, DataDescription = dataDescription,
        };
        var sw = Stopwatch.StartNew();
        if (options.Float32) Run<float>(result, init);
        else Run<double>(result, init);
        result.Seconds = sw.Elapsed.TotalSeconds;
        return result;
    }

    /// <summary>Snapshot iterations: K evenly spaced in [0, N] (rounded), or the explicit list, always with 0 and N.</summary>
    public static int[] SnapshotPlan(TrainOptions o)
    {
        int n = o.Iterations;
        var set = new SortedSet<int> { 0, n };
        if (o.SnapshotSteps is not null)
        {
            foreach (int s in o.SnapshotSteps)
            {
                if (s < 0 || s > n) throw new ArgumentException($"snapshot iteration {s} is outside 0..{n}");
                set.Add(s);
            }
        }
        else
        {
            for (int i = 0; i < o.Snapshots; i++) set.Add((int)Math.Round((double)i * n / (o.Snapshots - 1)));
        }
        return set.ToArray();
    }

    private static void Run<T>(TrainRecord res, InitialParameters init) where T : unmanaged, IFloatingPointIeee754<T> =>
        TrainingLoop.Run(res, new FastBackend<T>(res.Shape, res.Data, res.A, res.B, res.Options, init.W, init.V,
            (w, v) => res.Snapshots.Add(Parameters.FromParts(res.Block, res.Depth, ToDouble(w), ToDouble(v)))));

    /// <summary>The MLP block of <paramref name="shape"/>: the paper's MLP as a block with parts W and V.</summary>
    internal static MlpBlock MlpOf(NetworkShape shape, ActivationKind activation) => new(shape.Dim, shape.Width, activation);

    /// <summary>The MLP's hyper-parameters (its hidden width m).</summary>
    internal static IReadOnlyDictionary<string, double> MlpHyper(NetworkShape shape) => new Dictionary<string, double> { ["width"] = shape.Width };

    /// <summary>The data's dimensions against the shape's d_in and d_out (a run's shape is derived from its block and data).</summary>
    internal static void CheckShape(NetworkShape shape, Dataset data)
    {
        if (shape.InputDim != data.InputDim || shape.OutputDim != data.OutputDim)
            throw new ArgumentException($"the shape's d_in, d_out = {shape.InputDim}, {shape.OutputDim} differ from the data's {data.InputDim}, {data.OutputDim}");
    }

    /// <summary>
    /// The MLP's fast kernels (<see cref="ResNet{T}"/>) as the training loop's backend, for a run spelled with the MLP's
    /// parts W and V (the trace columns of <see cref="TraceColumns"/>) or, given the block, as the backend
    /// of the MLP block (θ layer after layer, the block's trace columns: <see cref="ThetaTrainer"/>, <see cref="IThetaBackend"/>).
    /// Both spellings run the same kernels and the same update on the same W and V, so they hold the same parameters bit
    /// for bit. The engine fault, if any, acts here.
    /// </summary>
    internal sealed class FastBackend<T> : IThetaBackend where T : unmanaged, IFloatingPointIeee754<T>
    {
        private readonly NetworkShape _shape;
        private readonly ResNet<T> _net;
        private readonly T[] _w, _v, _gw, _gv;
        private readonly StaleGradient<T>? _stale;
        private readonly SimdLevel _level = Simd.Level;
        private readonly int _md;
        private readonly IterationPasses<T> _passes;
        private readonly Action<T[], T[]> _snapshot;
        private bool _gradientFinite, _parametersFinite;
        // the MLP block's spelling: θ and G layer after layer (W_k then V_k), and the MLP trace row the fused passes write
        private readonly MlpBlock? _block;
        private readonly double[] _theta = Array.Empty<double>(), _g = Array.Empty<double>();
        private readonly Dictionary<string, double[]> _mlpRow = new();
        private readonly Func<double, string?> _divergedAtStart = _ => null;
        private readonly int[] _offsets = Array.Empty<int>(), _sizes = Array.Empty<int>();

        public FastBackend(NetworkShape shape, Dataset data, double[]? a, double[]? b, TrainOptions o, ReadOnlySpan<double> w0, ReadOnlySpan<double> v0,
            Action<T[], T[]> snapshot, MlpBlock? block = null, Func<double, string?>? divergedAtStart = null)
        {
            _shape = shape; _snapshot = snapshot; _block = block;
            int total = shape.Depth * shape.LayerSize;
            _md = shape.LayerSize;
            _net = new ResNet<T>(shape, o.Activation, data, o.EngineFor(shape, data.Count), a, b) { Fault = o.Fault };
            _w = AlignedArrays.Create<T>(total); _v = AlignedArrays.Create<T>(total);
            for (int i = 0; i < total; i++) { _w[i] = T.CreateTruncating(w0[i]); _v[i] = T.CreateTruncating(v0[i]); }
            _gw = AlignedArrays.Create<T>(total); _gv = AlignedArrays.Create<T>(total);
            _stale = StaleGradient<T>.For(o.Fault, total);
            _passes = new IterationPasses<T>(_level, shape.Depth, _md, _net.Threads, helper: _net.Helper);
            if (block is not null)
            {
                _theta = new double[2 * total]; _g = new double[2 * total];
                foreach (var (name, _) in Training.TraceColumns.All) _mlpRow[name] = new double[1];
                TraceColumns = BlockTraceColumns.For(block);
                (_offsets, _sizes) = BlockInitialization.Parts(block);
                if (divergedAtStart is not null) _divergedAtStart = divergedAtStart;
            }
            else TraceColumns = Training.TraceColumns.All.Select(c => c.Name).ToArray();
        }

        public int Layers => _shape.Depth;
        public string[] TraceColumns { get; }
        public string ParameterNoun => _block is null ? "weight" : "parameter";
        public string? DivergedAtStart(double loss) => _divergedAtStart(loss);
        public ReadOnlySpan<double> Theta => _theta;
        public ReadOnlySpan<double> Gradient => _g;
        public GenericResNet? Network => null;

        public double Evaluate(Dictionary<string, double[]> trace, int j)
        {
            if (_block is null)
            {
                var st = _net.Evaluate(_w, _v, _gw, _gv);
                // the record and the gradient's finiteness check in one pass over the layers (the same numbers as Record)
                _gradientFinite = _passes.Record(trace, j, st, _w, _v, _gw, _gv);
                return st.Loss;
            }
            var s = EvaluateTheta();
            ThetaTrainer.Record(trace, j, s, _theta, _g, Layers, _block.ParameterCount, _block, _offsets, _sizes);
            return s.Loss;
        }

        /// <summary>The MLP block's evaluation: ℓ and G by the fast kernels, then θ and G in the block's layout.</summary>
        public EvaluationStats EvaluateTheta()
        {
            var st = _net.Evaluate(_w, _v, _gw, _gv);
            // the fused passes check the gradient and keep ‖G_k‖ for the update (their MLP row is not recorded)
            _gradientFinite = _passes.Record(_mlpRow, 0, st, _w, _v, _gw, _gv);
            Interleave(_w, _v, _theta); Interleave(_gw, _gv, _g);
            return st;
        }

        /// <summary>W_k, V_k (each m·d entries) of every layer into θ_k = (W_k, V_k).</summary>
        private void Interleave(T[] w, T[] v, double[] theta)
        {
            int md = _md;
            for (int k = 0; k < Layers; k++)
                for (int i = 0; i < md; i++)
                {
                    theta[2 * k * md + i] = double.CreateTruncating(w[k * md + i]);
                    theta[(2 * k + 1) * md + i] = double.CreateTruncating(v[k * md + i]);
                }
        }

        public bool GradientFinite() => _gradientFinite;
        public bool ParametersFinite() => _parametersFinite;

        public (double StepMax, int Clipped) Update(double eta, double? clip)
        {
            if (_stale is null)
            {
                // the update and the parameters' finiteness check in one pass, with the record's ‖G_k‖ (as ApplyUpdate)
                var (max, count, finite) = _passes.Update(_w, _v, _gw, _gv, eta, clip);
                _parametersFinite = finite;
                return (max, count);
            }
            // stale (a test-only fault): the update uses G of the previous iterate
            var (uw, uv) = _stale.Applied(_gw, _gv);
            var (stepMax, clipped, _) = ApplyUpdate(_level, _w, _v, uw, uv, Layers, _md, eta, clip);
            _stale.Remember(_gw, _gv);
            _parametersFinite = FastKernels.AllFinite<T>(_level, _w) && FastKernels.AllFinite<T>(_level, _v);
            return (stepMax, clipped);
        }

        public void Snapshot(int j) => _snapshot(_w, _v);

        /// <summary>The MLP block's θ (L·P, θ_k = (W_k, V_k)) as the fast engine's W and V arrays.</summary>
        public static (double[] W, double[] V) Split(ReadOnlySpan<double> theta, int depth, int md)
        {
            var w = new double[depth * md]; var v = new double[depth * md];
            for (int k = 0; k < depth; k++)
            {
                theta.Slice(2 * k * md, md).CopyTo(w.AsSpan(k * md, md));
                theta.Slice((2 * k + 1) * md, md).CopyTo(v.AsSpan(k * md, md));
            }
            return (w, v);
        }
    }

    /// <summary>
    /// The fast kernels as the backend of the MLP block (<see cref="MlpBlock"/>), from θ layer after layer; float32 when
    /// the options say so. Each snapshot is θ in the block's layout.
    /// </summary>
    internal static IThetaBackend MlpBlockBackend(MlpBlock block, int depth, Dataset data, double[]? a, double[]? b, TrainOptions o,
        ReadOnlySpan<double> theta, Action<double[]>? snapshot = null, Func<double, string?>? divergedAtStart = null)
    {
        var shape = new NetworkShape(depth, block.Width, block.StateDim, data.InputDim, data.OutputDim);
        var (w, v) = FastBackend<double>.Split(theta, depth, shape.LayerSize);
        IThetaBackend? self = null;
        void Keep() { if (snapshot is not null) snapshot(self!.Theta.ToArray()); }
        self = o.Float32
            ? new FastBackend<float>(shape, data, a, b, o, w, v, (_, _) => Keep(), block, divergedAtStart)
            : new FastBackend<double>(shape, data, a, b, o, w, v, (_, _) => Keep(), block, divergedAtStart);
        return self;
    }

    /// <summary>
    /// The update Z_k ← Z_k − η·c_k·G_k of every layer k, c_k = min(1, C/‖G_k‖_F) with a clip radius C (1 without).
    /// Returns max_k ‖η c_k G_k‖_F, the number of clipped layers and ‖(η c_k G_k)_k‖_F over all layers.
    /// </summary>
    internal static (double StepMax, int Clipped, double StepNorm) ApplyUpdate<T>(SimdLevel level, T[] w, T[] v, ReadOnlySpan<T> uw, ReadOnlySpan<T> uv,
        int L, int md, double eta, double? clip) where T : unmanaged, IFloatingPointIeee754<T>
    {
        double stepMax = 0, stepSq = 0; int clipped = 0;
        T etaT = T.CreateTruncating(eta);
        for (int k = 0; k < L; k++)
        {
            var gwk = uw.Slice(k * md, md); var gvk = uv.Slice(k * md, md);
            double nrm = Math.Sqrt(FastKernels.SumSquares(level, gwk) + FastKernels.SumSquares(level, gvk));
            double factor = 1.0;
            if (clip is double c && nrm > c) { factor = c / nrm; clipped++; }
            T f = etaT * T.CreateTruncating(factor);
            var wk = w.AsSpan(k * md, md); var vk = v.AsSpan(k * md, md);
            Kernels.Axpy(-f, gwk, wk);
            Kernels.Axpy(-f, gvk, vk);
            double step = eta * factor * nrm;
            stepMax = Math.Max(stepMax, step);
            stepSq += step * step;
        }
        return (stepMax, clipped, Math.Sqrt(stepSq));
    }

    /// <summary>Writes the trace columns of iterate (or output time) j from an evaluation with gradients (all but step_max and clip_fraction).</summary>
    internal static void Record<T>(SimdLevel level, Dictionary<string, double[]> trace, int j, EvaluationStats st, NetworkShape shape,
        T[] w, T[] v, T[] gw, T[] gv) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int L = shape.Depth, md = shape.LayerSize;
        double gsum = 0, gwMax = 0, gvMax = 0, sW = 0, sV = 0, sZ = 0, wF = 0, vF = 0;
        for (int k = 0; k < L; k++)
        {
            double a = FastKernels.SumSquares<T>(level, gw.AsSpan(k * md, md)), b = FastKernels.SumSquares<T>(level, gv.AsSpan(k * md, md));
            gsum += a + b;
            gwMax = Math.Max(gwMax, Math.Sqrt(a)); gvMax = Math.Max(gvMax, Math.Sqrt(b));
            wF = Math.Max(wF, Math.Sqrt(FastKernels.SumSquares<T>(level, w.AsSpan(k * md, md))));
            vF = Math.Max(vF, Math.Sqrt(FastKernels.SumSquares<T>(level, v.AsSpan(k * md, md))));
            if (k + 1 < L)
            {
                double dw = FastKernels.SumSquaresDiff<T>(level, w.AsSpan((k + 1) * md, md), w.AsSpan(k * md, md));
                double dv = FastKernels.SumSquaresDiff<T>(level, v.AsSpan((k + 1) * md, md), v.AsSpan(k * md, md));
                sW = Math.Max(sW, Math.Sqrt(dw)); sV = Math.Max(sV, Math.Sqrt(dv)); sZ = Math.Max(sZ, Math.Sqrt(dw + dv));
            }
        }
        WriteTraceRow(trace, j, st, L, gsum, gwMax, gvMax, sW, sV, sZ, wF, vF);
    }

    /// <summary>Trace row j from the sums and maxima over the layers (shared by <see cref="Record{T}"/> and the fused passes).</summary>
    internal static void WriteTraceRow(Dictionary<string, double[]> trace, int j, EvaluationStats st, int L,
        double gsum, double gwMax, double gvMax, double sW, double sV, double sZ, double wF, double vF)
    {
        trace["loss"][j] = st.Loss;
        trace["grad_norm"][j] = Math.Sqrt(gsum);
        trace["pl_ratio"][j] = gsum / (L * st.Loss);
        trace["grad_w_max"][j] = gwMax;
        trace["grad_v_max"][j] = gvMax;
        trace["smooth_w"][j] = sW; trace["smooth_v"][j] = sV; trace["smooth_z"][j] = sZ;
        trace["w_fro_max"][j] = wF; trace["v_fro_max"][j] = vF;
        trace["hidden_max"][j] = st.MaxHiddenNorm;
        trace["adjoint_sum_max"][j] = st.MaxAdjointSum;
        trace["preact_min"][j] = st.MinPreActivation;
        trace["preact_max"][j] = st.MaxPreActivation;
    }

    private static double[] ToDouble<T>(T[] a) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var r = new double[a.Length];
        for (int i = 0; i < a.Length; i++) r[i] = double.CreateTruncating(a[i]);
        return r;
    }
}
