using ResOdeProofs.Numerics.Model;

namespace ResOdeProofs.Numerics.Training;

/// <summary>
/// The engine behind one training run: it holds the current parameters Z and the gradient G = L·∂ℓ/∂Z of the last
/// evaluation. The MLP's fast kernels (<see cref="Trainer"/>) and the generic block engine are two such backends.
/// </summary>
public interface ITrainingBackend
{
    /// <summary>Depth L (the number of layers updated).</summary>
    int Layers { get; }
    /// <summary>The trace columns this backend writes, in file order.</summary>
    string[] TraceColumns { get; }
    /// <summary>Evaluates ℓ and G at the current parameters, writes trace row <paramref name="j"/> (all columns but
    /// step_max and clip_fraction) and returns ℓ.</summary>
    double Evaluate(Dictionary<string, double[]> trace, int j);
    /// <summary>True when every entry of the last gradient is finite.</summary>
    bool GradientFinite();
    /// <summary>True when every parameter is finite.</summary>
    bool ParametersFinite();
    /// <summary>Applies Z_k ← Z_k − η·c_k·G_k to every layer k (c_k = min(1, C/‖G_k‖) with a clip radius C, else 1) and
    /// returns max_k ‖η c_k G_k‖ and the number of clipped layers.</summary>
    (double StepMax, int Clipped) Update(double eta, double? clip);
    /// <summary>Keeps the current parameters as the snapshot of iteration <paramref name="j"/>.</summary>
    void Snapshot(int j);
    /// <summary>Why the run cannot start when ℓ or G is not finite at iteration 0, or null for the common message.</summary>
    string? DivergedAtStart(double loss);
    /// <summary>The word for one parameter in messages ("weight", "parameter").</summary>
    string ParameterNoun { get; }
}

/// <summary>
/// A backend that holds θ layer after layer, as every block does (the generic pass over any block, and the fast MLP
/// kernels as the backend of the MLP block): what the trainer runs and what the verifier's replay
/// (<c>Verification/BlockReplay.cs</c>) drives from a recorded snapshot, so that a faithful run is reproduced bit for bit.
/// </summary>
public interface IThetaBackend : ITrainingBackend
{
    /// <summary>Evaluates ℓ and G at the current θ (no trace row): afterwards <see cref="Theta"/> and <see cref="Gradient"/>
    /// hold θ and G = L·∂ℓ/∂θ (L·P each) and <see cref="ITrainingBackend.GradientFinite"/> answers for this G.</summary>
    EvaluationStats EvaluateTheta();
    /// <summary>θ of the last evaluation (L·P, layer after layer).</summary>
    ReadOnlySpan<double> Theta { get; }
    /// <summary>G of the last evaluation (L·P).</summary>
    ReadOnlySpan<double> Gradient { get; }
    /// <summary>The generic network that evaluated θ (hidden states, adjoints when kept), or null for the fast kernels.</summary>
    GenericResNet? Network { get; }
}

/// <summary>
/// Full-batch (clipped) gradient descent Z ← Z − η·G with a trace, one loop for every architecture: the snapshot plan,
/// the trace, interruption by <see cref="TrainOptions.Cancel"/> (the iterate reached becomes the last snapshot) and
/// divergence (the first non-finite loss, gradient or parameter stops the run with a readable result).
/// </summary>
public static class TrainingLoop
{
    /// <summary>Runs <paramref name="backend"/> for the options of <paramref name="res"/> and fills its losses, trace, snapshot steps and status.</summary>
    public static void Run(TrainRecord res, ITrainingBackend backend)
    {
        var o = res.Options;
        int N = o.Iterations;
        var plan = Trainer.SnapshotPlan(o);
        int nextSnap = 0;
        var cols = backend.TraceColumns;
        var trace = cols.ToDictionary(c => c, _ => new double[N + 1]);
        var losses = new double[N + 1];
        int every = o.ProgressEvery > 0 ? o.ProgressEvery : Math.Max(1, N / 100);
        int evaluated = 0;
        res.Status = RunStatus.Completed;
        for (int j = 0; j <= N; j++)
        {
            double loss = backend.Evaluate(trace, j);
            losses[j] = loss;
            evaluated = j + 1;
            if (!double.IsFinite(loss) || !backend.GradientFinite())
            {
                res.Status = RunStatus.Diverged;
                res.DivergedAt = j;
                res.DivergenceReason = (j == 0 ? backend.DivergedAtStart(loss) : null) ?? (double.IsFinite(loss)
                    ? $"the gradient became non-finite at iteration {j} (loss {loss:G6})"
                    : $"the loss became non-finite at iteration {j}");
                break;
            }
            if (nextSnap < plan.Length && plan[nextSnap] == j)
            {
                res.SnapshotSteps.Add(j); backend.Snapshot(j);
                nextSnap++;
            }
            if (o.Progress is not null && (j % every == 0 || j == N)) o.Progress(j, N, loss);
            if (j == N) break;
            if (o.Cancel.IsCancellationRequested)
            {
                if (res.SnapshotSteps.Count == 0 || res.SnapshotSteps[^1] != j) { res.SnapshotSteps.Add(j); backend.Snapshot(j); }
                res.Status = RunStatus.Interrupted;
                break;
            }
            var (stepMax, clipped) = backend.Update(o.Eta, o.Clip);
            trace["step_max"][j] = stepMax;
            trace["clip_fraction"][j] = (double)clipped / backend.Layers;
            res.UpdatesApplied = j + 1;
            if (!backend.ParametersFinite())
            {
                res.Status = RunStatus.Diverged;
                res.DivergedAt = j + 1;
                res.DivergenceReason = $"a {backend.ParameterNoun} became non-finite after update {j + 1}";
                losses[j + 1] = double.NaN;
                evaluated = j + 2;
                foreach (var col in cols) if (col != "step_max" && col != "clip_fraction") trace[col][j + 1] = double.NaN;
                break;
            }
        }
        res.Losses = losses[..evaluated];
        foreach (var col in cols) res.Trace[col] = trace[col][..evaluated];
    }
}
