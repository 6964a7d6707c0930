using System.Diagnostics;
using ResOdeProofs.Numerics.Model;
using ResOdeProofs.Numerics.Blocks;

namespace ResOdeProofs.Numerics.Training;

/// <summary>
/// The per-iterate diagnostics of a generic-architecture run (column j at iterate θ^j, time t_j = j·η).
/// The same meanings as <see cref="TraceColumns"/> where they make sense; per-part columns are named
/// after the block's <see cref="IResidualBlock.ParameterLayout"/> (smooth_W, fro_max_W, ...).
/// </summary>
public static class BlockTraceColumns
{
    /// <summary>Columns common to every block, with their meaning.</summary>
    public static readonly (string Name, string Meaning)[] Common =
    {
        ("loss", "ℓ(θ^j) = (1/n) Σ_i ‖F(x_i) − y_i‖²"),
        ("grad_norm", "‖G‖ = (Σ_k ‖G_k‖²)^{1/2}, G_k = L·∂ℓ/∂θ_k"),
        ("pl_ratio", "r = Σ_k ‖G_k‖² / (L·ℓ): the flow has dℓ/dt = −r·ℓ"),
        ("grad_max", "max_k ‖G_k‖"),
        ("step_max", "max_k ‖θ_k^{j+1} − θ_k^j‖ (the applied update, 0 at the last iterate)"),
        ("clip_fraction", "fraction of layers whose G_k was clipped at this update"),
        ("smooth_theta", "max_{k<L} ‖θ_{k+1} − θ_k‖"),
        ("theta_fro_max", "max_k ‖θ_k‖"),
        ("hidden_max", "max_{k,i} ‖h_k^i‖"),
        ("adjoint_sum_max", "max_k Σ_i ‖p_k^i‖, p_k^i = ∂ℓ/∂h_k^i"),
        ("preact_min", "min pre-activation entry over k, i (blocks implementing IPreActivationRange; NaN otherwise)"),
        ("preact_max", "max pre-activation entry over k, i"),
    };

    /// <summary>All column names for a block: the common ones, then smooth_&lt;part&gt; and fro_max_&lt;part&gt; per part.</summary>
    public static string[] For(IResidualBlock block) =>
        Common.Select(c => c.Name)
            .Concat(block.ParameterLayout.SelectMany(p => new[] { "smooth_" + p.Name, "fro_max_" + p.Name }))
            .ToArray();
}

/// <summary>
/// Full-batch (clipped) gradient descent θ_k ← θ_k − η·G_k (G_k = L·∂ℓ/∂θ_k, optionally projected onto
/// the ball of radius C per layer) on the parameters θ of any block, layer after layer: the run's backend chosen by
/// <see cref="Backend"/> (the MLP's fast kernels for the MLP block, the generic pass <see cref="GenericResNet"/> for every
/// other block) and driven by the one training loop (<see cref="TrainingLoop"/>).
/// </summary>
public static class ThetaTrainer
{
    /// <summary>Trains from <paramref name="init"/>. The MLP block runs on the fast kernels (<see cref="Trainer.FastBackend{T}"/>),
    /// where Options.Float32, Threads, Checkpoint and Fault apply; every other block on the generic pass, in float64 and without faults.</summary>
    public static TrainRecord Train(IResidualBlock block, int depth, Dataset data, InitialParameters init, TrainOptions options,
        long seed, string dataDescription, IReadOnlyDictionary<string, double>? hyper = null, double[]? a = null, double[]? b = null)
    {
        options.Validate();
        int P = block.ParameterCount, L = depth;
        if (init.Theta.Length != L * P) throw new ArgumentException($"initial θ has {init.Theta.Length} entries, expected L·P = {L}·{P}");
        var res = new TrainRecord
        {
            Block = block, Hyper = hyper ?? new Dictionary<string, double>(), Depth = depth, Data = data, A = a, B = b,
            Init = init.Info, Options = options, Seed = seed, DataDescription = dataDescription, Status = RunStatus.Completed,
        };
        var sw = Stopwatch.StartNew();
        TrainingLoop.Run(res, Backend(block, depth, data, a, b, options, init.Theta, theta => res.Snapshots.Add(Parameters.FromTheta(block, depth, theta)),
            loss => DivergedAtStart(block, init.Info.Scales, loss)));
        res.Seconds = sw.Elapsed.TotalSeconds;
        return res;
    }

    /// <summary>True when the block has a fast backend (the MLP block: float32, threads, checkpointing and faults apply).</summary>
    public static bool HasFastBackend(IResidualBlock block) => block is MlpBlock;

    /// <summary>
    /// The backend of a block's run from θ (copied): the fast MLP kernels for the MLP block, the generic pass
    /// (<see cref="GenericResNet"/>) otherwise. The trainer and the verifier's replay both run it, so a replay from a
    /// snapshot repeats the producer's own operations. <paramref name="keepAdjoints"/> keeps the generic pass's adjoints.
    /// </summary>
    public static IThetaBackend Backend(IResidualBlock block, int depth, Dataset data, double[]? a, double[]? b, TrainOptions options,
        ReadOnlySpan<double> theta, Action<double[]>? snapshot = null, Func<double, string?>? divergedAtStart = null, bool keepAdjoints = false)
    {
        if (options.Activation != block.Activation) throw new ArgumentException($"the options' activation {options.Activation} differs from the block's {block.Activation}");
        if (block is MlpBlock mlp) return Trainer.MlpBlockBackend(mlp, depth, data, a, b, options, theta, snapshot, divergedAtStart);
        if (options.Float32) throw new ArgumentException("the generic block engine computes in float64 only (drop --float32)");
        if (options.Fault != EngineFault.None) throw new ArgumentException("engine faults are injected into the fast MLP engine only");
        return new GenericBackend(block, depth, data, a, b, theta, snapshot, divergedAtStart) { KeepAdjoints = keepAdjoints };
    }

    /// <summary>Why a block's run cannot start: the loss or gradient is not finite at iteration 0.</summary>
    private static string DivergedAtStart(IResidualBlock block, double[] scales, double loss) =>
        $"the {(double.IsFinite(loss) ? "gradient" : "loss")} is not finite at iteration 0, before any update: the initialization " +
        $"(scales {string.Join(", ", block.ParameterLayout.Select((q, i) => i < scales.Length ? $"{q.Name} {scales[i]:G4}" : q.Name))}) makes the network overflow";

    /// <summary>The generic block engine (<see cref="GenericResNet"/>) as the training loop's backend.</summary>
    private sealed class GenericBackend : IThetaBackend
    {
        private readonly IResidualBlock _block;
        private readonly GenericResNet _net;
        private readonly double[] _theta, _g;
        private readonly int _P;
        private readonly int[] _offsets, _sizes;
        private readonly Action<double[]>? _snapshot;
        private readonly Func<double, string?>? _divergedAtStart;

        public GenericBackend(IResidualBlock block, int depth, Dataset data, double[]? a, double[]? b, ReadOnlySpan<double> theta,
            Action<double[]>? snapshot, Func<double, string?>? divergedAtStart)
        {
            _block = block; _snapshot = snapshot; _divergedAtStart = divergedAtStart;
            _net = new GenericResNet(block, depth, data, a, b);
            _theta = theta.ToArray();
            _P = block.ParameterCount;
            _g = new double[depth * _P];
            (_offsets, _sizes) = BlockInitialization.Parts(block);
            TraceColumns = BlockTraceColumns.For(block);
            Layers = depth;
        }

        public bool KeepAdjoints { get => _net.KeepAdjoints; init => _net.KeepAdjoints = value; }
        public int Layers { get; }
        public string[] TraceColumns { get; }
        public string ParameterNoun => "parameter";
        public ReadOnlySpan<double> Theta => _theta;
        public ReadOnlySpan<double> Gradient => _g;
        public GenericResNet? Network => _net;

        public string? DivergedAtStart(double loss) => _divergedAtStart?.Invoke(loss);

        public EvaluationStats EvaluateTheta() => _net.Evaluate(_theta, _g);

        public double Evaluate(Dictionary<string, double[]> trace, int j)
        {
            var st = EvaluateTheta();
            Record(trace, j, st, _theta, _g, Layers, _P, _block, _offsets, _sizes);
            return st.Loss;
        }

        public bool GradientFinite() => AllFinite(_g);
        public bool ParametersFinite() => AllFinite(_theta);

        public (double StepMax, int Clipped) Update(double eta, double? clip)
        {
            double stepMax = 0; int clipped = 0;
            for (int k = 0; k < Layers; k++)
            {
                var gk = _g.AsSpan(k * _P, _P);
                double nrm = GenericResNet.Norm(gk), factor = 1.0;
                if (clip is double c && nrm > c) { factor = c / nrm; clipped++; }
                double f = eta * factor;
                var tk = _theta.AsSpan(k * _P, _P);
                for (int i = 0; i < _P; i++) tk[i] -= f * gk[i];
                stepMax = Math.Max(stepMax, f * nrm);
            }
            return (stepMax, clipped);
        }

        public void Snapshot(int j) => _snapshot?.Invoke((double[])_theta.Clone());
    }

    /// <summary>Writes the evaluation columns of <see cref="BlockTraceColumns"/> (all but step_max and clip_fraction) at index
    /// <paramref name="j"/> from θ, G and the evaluation's statistics: the producer's record, and the verifier's recomputation
    /// from a replay (the same operations, so the engine's own run is reproduced bit for bit).</summary>
    public static void Record(Dictionary<string, double[]> trace, int j, EvaluationStats st, ReadOnlySpan<double> theta, ReadOnlySpan<double> g,
        int L, int P, IResidualBlock block, int[] offsets, int[] sizes)
    {
        int parts = sizes.Length;
        double gsum = 0, gmax = 0, sTheta = 0, tMax = 0;
        var sPart = new double[parts]; var fPart = new double[parts];
        for (int k = 0; k < L; k++)
        {
            double gk = 0, tk = 0;
            for (int i = 0; i < P; i++) { gk += g[k * P + i] * g[k * P + i]; tk += theta[k * P + i] * theta[k * P + i]; }
            gsum += gk; gmax = Math.Max(gmax, Math.Sqrt(gk)); tMax = Math.Max(tMax, Math.Sqrt(tk));
            for (int q = 0; q < parts; q++)
                fPart[q] = Math.Max(fPart[q], GenericResNet.Norm(theta.Slice(k * P + offsets[q], sizes[q])));
            if (k + 1 < L)
            {
                double all = 0;
                for (int q = 0; q < parts; q++)
                {
                    double s = 0;
                    for (int i = offsets[q]; i < offsets[q] + sizes[q]; i++) { double x = theta[(k + 1) * P + i] - theta[k * P + i]; s += x * x; }
                    all += s; sPart[q] = Math.Max(sPart[q], Math.Sqrt(s));
                }
                sTheta = Math.Max(sTheta, Math.Sqrt(all));
            }
        }
        trace["loss"][j] = st.Loss;
        trace["grad_norm"][j] = Math.Sqrt(gsum);
        trace["pl_ratio"][j] = gsum / (L * st.Loss);
        trace["grad_max"][j] = gmax;
        trace["smooth_theta"][j] = sTheta;
        trace["theta_fro_max"][j] = tMax;
        trace["hidden_max"][j] = st.MaxHiddenNorm;
        trace["adjoint_sum_max"][j] = st.MaxAdjointSum;
        trace["preact_min"][j] = st.MinPreActivation;
        trace["preact_max"][j] = st.MaxPreActivation;
        for (int q = 0; q < parts; q++)
        {
            var name = block.ParameterLayout[q].Name;
            trace["smooth_" + name][j] = sPart[q];
            trace["fro_max_" + name][j] = fPart[q];
        }
    }

    private static bool AllFinite(double[] a) { foreach (var x in a) if (!double.IsFinite(x)) return false; return true; }
}
