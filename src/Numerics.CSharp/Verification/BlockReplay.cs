using ResOdeProofs.Numerics.Blocks;
using ResOdeProofs.Numerics.Model;
using ResOdeProofs.Numerics.Training;

namespace ResOdeProofs.Numerics.Verification;

/// <summary>
/// The gradient-descent iterates of a block's run (theta.npy), recomputed from one recorded snapshot by the producer's own
/// backend (<see cref="ThetaTrainer.Backend"/>): the fast MLP kernels for the MLP block (in the run's precision and thread
/// count), the block's Forward/Backward through <see cref="GenericResNet"/> for any other. θ_k ← θ_k − η G_k,
/// G_k = L·∂ℓ/∂θ_k, evaluated and applied by the same code as in training, so a faithful run is reproduced bit for bit.
/// After each evaluation the observer sees the iterate's parameters, the network's hidden states h_0..h_L and adjoints
/// p_0..p_L (for the fast kernels, from the generic pass at the same θ, computed when first read), the gradient and the
/// evaluation's statistics, before the update is applied. Plain gradient descent, or clipped with the trainer's per-layer
/// factor C/‖G_k‖ when ‖G_k‖ &gt; C.
/// </summary>
public static class BlockReplay
{
    /// <summary>Called at every replayed iterate: its index, θ (L·P), the network's states and adjoints, G (L·P) and the
    /// evaluation's statistics (max hidden norm, max adjoint sum, pre-activation range).</summary>
    public delegate void Observer(int iterate, ReadOnlySpan<double> theta, IBlockStates net, ReadOnlySpan<double> gradient, EvaluationStats stats);

    /// <summary>
    /// Replays the iterates <paramref name="first"/> .. <paramref name="last"/> from θ at iterate <paramref name="first"/>
    /// (evaluating each, <paramref name="last"/> − <paramref name="first"/> updates in between) and returns θ at
    /// <paramref name="last"/>. Stops early (returning null) when a loss or gradient is not finite.
    /// </summary>
    public static double[]? Run(IResidualBlock block, int depth, Dataset data, double[]? a, double[]? b, double eta,
        ReadOnlySpan<double> thetaFirst, int first, int last, Observer observe) =>
        Run(block, depth, data, a, b, eta, null, thetaFirst, first, last, observe);

    /// <summary>As the plain replay, with the clipping radius <paramref name="clip"/> (null: unclipped) applied per layer as
    /// the trainer applies it. <paramref name="float32"/> and <paramref name="threads"/> are the run's engine settings
    /// (run.json "precision" and "threads"; they change the fast kernels' last bits, not the generic pass's).
    /// <paramref name="run"/> and <paramref name="runLast"/> name the run and its last iterate for <see cref="ReplayProgress"/>
    /// (a stretch of a run is reported as part of the whole run). <paramref name="updated"/>, when given, receives after each
    /// update the iterate it followed and the number of layers the backend clipped (the trace's clip_fraction times L).</summary>
    public static double[]? Run(IResidualBlock block, int depth, Dataset data, double[]? a, double[]? b, double eta, double? clip,
        ReadOnlySpan<double> thetaFirst, int first, int last, Observer observe, bool float32 = false, int? threads = null,
        string? run = null, int? runLast = null, Action<int, int>? updated = null)
    {
        if (last < first) throw new ArgumentException($"a replay from iterate {first} cannot end at iterate {last}");
        bool fast = ThetaTrainer.HasFastBackend(block);
        var options = new TrainOptions(block.Activation, eta, last - first)
        {
            Clip = clip, Float32 = fast && float32, Threads = fast ? threads : null,
        };
        var backend = ThetaTrainer.Backend(block, depth, data, a, b, options, thetaFirst, keepAdjoints: true);
        var states = new States(backend, block, depth, data, a, b);
        var progress = ReplayProgress.Sink;
        for (int j = first; ; j++)
        {
            if (progress is not null && !ReplayProgress.TryReport(progress, run, j, runLast ?? last)) progress = null;
            var st = backend.EvaluateTheta();
            if (!double.IsFinite(st.Loss) || !backend.GradientFinite()) return null;
            states.Evaluated();
            observe(j, backend.Theta, states, backend.Gradient, st);
            if (j == last) return backend.Theta.ToArray();
            var (_, clipped) = backend.Update(eta, clip);
            updated?.Invoke(j, clipped);
        }
    }

    /// <summary>The observer's hidden states and adjoints: the backend's own network, or a generic pass at the backend's θ
    /// evaluated when first read after each evaluation (the fast kernels keep neither).</summary>
    private sealed class States(IThetaBackend backend, IResidualBlock block, int depth, Dataset data, double[]? a, double[]? b) : IBlockStates
    {
        private GenericResNet? _generic;
        private double[]? _g;
        private bool _current;

        public void Evaluated() => _current = false;

        private GenericResNet Net()
        {
            if (backend.Network is { } own) return own;
            if (!_current)
            {
                _generic ??= new GenericResNet(block, depth, data, a, b) { KeepAdjoints = true };
                _g ??= new double[depth * block.ParameterCount];
                _generic.Evaluate(backend.Theta, _g);
                _current = true;
            }
            return _generic!;
        }

        public ReadOnlySpan<double> HiddenStates => Net().HiddenStates;
        public ReadOnlySpan<double> Adjoints => Net().Adjoints;
    }
}
