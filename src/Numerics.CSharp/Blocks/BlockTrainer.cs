using System.Diagnostics;
using ResOdeProofs.Numerics.Model;
using ResOdeProofs.Numerics.Training;

namespace ResOdeProofs.Numerics.Blocks;

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

/// <summary>Everything a generic-architecture training run produced.</summary>
public sealed class BlockTrainResult
{
    public required IResidualBlock Block { get; init; }
    /// <summary>Block hyper-parameters written to run.json (e.g. width for the MLP block).</summary>
    public required IReadOnlyDictionary<string, double> Hyper { get; init; }
    public required int Depth { get; init; }
    public required Dataset Data { get; init; }
    public double[]? A { get; init; }
    public double[]? B { get; init; }
    public required BlockInitInfo Init { get; init; }
    public required TrainOptions Options { get; init; }
    public required long Seed { get; init; }
    public required string DataDescription { get; init; }
    public RunStatus Status { get; set; }
    public int? DivergedAt { get; set; }
    public string? DivergenceReason { get; set; }
    public double[] Losses { get; set; } = Array.Empty<double>();
    public List<int> SnapshotSteps { get; } = new();
    /// <summary>θ (L·P) at each snapshot.</summary>
    public List<double[]> SnapshotTheta { get; } = new();
    public Dictionary<string, double[]> Trace { get; } = new();
    public double Seconds { get; set; }
    public int UpdatesApplied { get; set; }
}

/// <summary>
/// Full-batch (clipped) gradient descent θ_k ← θ_k − η·G_k (G_k = L·∂ℓ/∂θ_k, optionally projected onto
/// the ball of radius C per layer) on a <see cref="BlockResNet"/>, with the same snapshot plan, divergence
/// handling and trace semantics as <see cref="Trainer"/>.
/// </summary>
public static class BlockTrainer
{
    /// <summary>Trains from <paramref name="init"/>. Options.Float32 and Options.Fault are not supported by the generic engine.</summary>
    public static BlockTrainResult Train(IResidualBlock block, int depth, Dataset data, BlockInitialParameters init, TrainOptions options,
        long seed, string dataDescription, IReadOnlyDictionary<string, double>? hyper = null, double[]? a = null, double[]? b = null)
    {
        options.Validate();
        if (options.Float32) throw new ArgumentException("the generic block engine computes in float64 only (drop --float32)");
        if (options.Fault != EngineFault.None) throw new ArgumentException("engine faults are injected into the fast MLP engine only");
        if (options.Activation != block.Activation) throw new ArgumentException($"the options' activation {options.Activation} differs from the block's {block.Activation}");
        int P = block.ParameterCount, L = depth, N = options.Iterations;
        if (init.Theta.Length != L * P) throw new ArgumentException($"initial θ has {init.Theta.Length} entries, expected L·P = {L}·{P}");
        var res = new BlockTrainResult
        {
            Block = block, Hyper = hyper ?? new Dictionary<string, double>(), Depth = depth, Data = data, A = a, B = b,
            Init = init.Info, Options = options, Seed = seed, DataDescription = dataDescription, Status = RunStatus.Completed,
        };
        var sw = Stopwatch.StartNew();
        var net = new BlockResNet(block, depth, data, a, b);
        var theta = (double[])init.Theta.Clone();
        var g = new double[L * P];
        var plan = Trainer.SnapshotPlan(options);
        int nextSnap = 0, evaluated = 0, every = options.ProgressEvery > 0 ? options.ProgressEvery : Math.Max(1, N / 100);
        var cols = BlockTraceColumns.For(block);
        var trace = cols.ToDictionary(c => c, _ => new double[N + 1]);
        var losses = new double[N + 1];
        var (offsets, sizes) = BlockInitialization.Parts(block);
        for (int j = 0; j <= N; j++)
        {
            var st = net.Evaluate(theta, g);
            losses[j] = st.Loss;
            evaluated = j + 1;
            Record(trace, j, st, theta, g, L, P, block, offsets, sizes);
            if (!double.IsFinite(st.Loss) || !AllFinite(g))
            {
                res.Status = RunStatus.Diverged; res.DivergedAt = j;
                res.DivergenceReason = j == 0
                    ? $"the {(double.IsFinite(st.Loss) ? "gradient" : "loss")} is not finite at iteration 0, before any update: the initialization " +
                      $"(scales {string.Join(", ", block.ParameterLayout.Select((q, i) => i < init.Info.Scales.Length ? $"{q.Name} {init.Info.Scales[i]:G4}" : q.Name))}) makes the network overflow"
                    : double.IsFinite(st.Loss)
                    ? $"the gradient became non-finite at iteration {j} (loss {st.Loss:G6})"
                    : $"the loss became non-finite at iteration {j}";
                break;
            }
            if (nextSnap < plan.Length && plan[nextSnap] == j) { res.SnapshotSteps.Add(j); res.SnapshotTheta.Add((double[])theta.Clone()); nextSnap++; }
            if (options.Progress is not null && (j % every == 0 || j == N)) options.Progress(j, N, st.Loss);
            if (j == N) break;
            if (options.Cancel.IsCancellationRequested)
            {
                if (res.SnapshotSteps.Count == 0 || res.SnapshotSteps[^1] != j) { res.SnapshotSteps.Add(j); res.SnapshotTheta.Add((double[])theta.Clone()); }
                res.Status = RunStatus.Interrupted;
                break;
            }
            double stepMax = 0; int clipped = 0;
            for (int k = 0; k < L; k++)
            {
                var gk = g.AsSpan(k * P, P);
                double nrm = BlockResNet.Norm(gk), factor = 1.0;
                if (options.Clip is double c && nrm > c) { factor = c / nrm; clipped++; }
                double f = options.Eta * factor;
                var tk = theta.AsSpan(k * P, P);
                for (int i = 0; i < P; i++) tk[i] -= f * gk[i];
                stepMax = Math.Max(stepMax, f * nrm);
            }
            trace["step_max"][j] = stepMax;
            trace["clip_fraction"][j] = (double)clipped / L;
            res.UpdatesApplied = j + 1;
            if (!AllFinite(theta))
            {
                res.Status = RunStatus.Diverged; res.DivergedAt = j + 1;
                res.DivergenceReason = $"a parameter became non-finite after update {j + 1}";
                losses[j + 1] = double.NaN; evaluated = j + 2;
                foreach (var col in cols) if (col != "step_max" && col != "clip_fraction") trace[col][j + 1] = double.NaN;
                break;
            }
        }
        res.Losses = losses[..evaluated];
        foreach (var col in cols) res.Trace[col] = trace[col][..evaluated];
        res.Seconds = sw.Elapsed.TotalSeconds;
        return res;
    }

    private static void Record(Dictionary<string, double[]> trace, int j, EvaluationStats st, double[] theta, double[] g,
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
                fPart[q] = Math.Max(fPart[q], BlockResNet.Norm(theta.AsSpan(k * P + offsets[q], sizes[q])));
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
