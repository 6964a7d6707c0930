using ResOdeProofs.Numerics.Blocks;
using ResOdeProofs.Numerics.Model;
using ResOdeProofs.Numerics.Training;

namespace ResOdeProofs.Numerics.Verification;

/// <summary>
/// The gradient-descent iterates of a generic-architecture run (theta.npy), recomputed from one recorded snapshot with
/// the block's own Forward/Backward: θ_k ← θ_k − η G_k, G_k = L·∂ℓ/∂θ_k, evaluated by <see cref="BlockResNet"/> exactly as
/// <see cref="BlockTrainer"/> evaluates and applies it (the same operations in the same order, so a faithful run is
/// reproduced bit for bit). After each evaluation the observer sees the iterate's parameters, the network (hidden
/// states h_0..h_L and adjoints p_0..p_L), the gradient and the evaluation's statistics, before the update is applied.
/// Plain gradient descent, or clipped with the trainer's per-layer factor C/‖G_k‖ when ‖G_k‖ &gt; C.
/// </summary>
public static class BlockReplay
{
    /// <summary>Called at every replayed iterate: its index, θ (L·P), the evaluated network (states and adjoints), G (L·P) and
    /// the evaluation's statistics (max hidden norm, max adjoint sum, pre-activation range).</summary>
    public delegate void Observer(int iterate, ReadOnlySpan<double> theta, BlockResNet net, ReadOnlySpan<double> gradient, EvaluationStats stats);

    /// <summary>
    /// Replays the iterates <paramref name="first"/> .. <paramref name="last"/> from θ at iterate <paramref name="first"/>
    /// (evaluating each, <paramref name="last"/> − <paramref name="first"/> updates in between) and returns θ at
    /// <paramref name="last"/>. Stops early (returning null) when a loss or gradient is not finite.
    /// </summary>
    public static double[]? Run(IResidualBlock block, int depth, Dataset data, double[]? a, double[]? b, double eta,
        ReadOnlySpan<double> thetaFirst, int first, int last, Observer observe) =>
        Run(block, depth, data, a, b, eta, null, thetaFirst, first, last, observe);

    /// <summary>As the plain replay, with the clipping radius <paramref name="clip"/> (null: unclipped) applied per layer as
    /// <see cref="BlockTrainer"/> applies it.</summary>
    public static double[]? Run(IResidualBlock block, int depth, Dataset data, double[]? a, double[]? b, double eta, double? clip,
        ReadOnlySpan<double> thetaFirst, int first, int last, Observer observe)
    {
        if (last < first) throw new ArgumentException($"a replay from iterate {first} cannot end at iterate {last}");
        int P = block.ParameterCount, L = depth;
        var net = new BlockResNet(block, depth, data, a, b) { KeepAdjoints = true };
        var theta = thetaFirst.ToArray();
        var g = new double[L * P];
        for (int j = first; ; j++)
        {
            var st = net.Evaluate(theta, g);
            if (!double.IsFinite(st.Loss) || !AllFinite(g)) return null;
            observe(j, theta, net, g, st);
            if (j == last) return theta;
            for (int k = 0; k < L; k++)
            {
                var gk = g.AsSpan(k * P, P);
                // BlockTrainer's factor (1 for an unclipped layer, kept so that the product is the same)
                double factor = 1.0;
                if (clip is double c) { double nrm = BlockResNet.Norm(gk); if (nrm > c) factor = c / nrm; }
                double f = eta * factor;
                var tk = theta.AsSpan(k * P, P);
                for (int i = 0; i < P; i++) tk[i] -= f * gk[i];
            }
        }
    }

    private static bool AllFinite(ReadOnlySpan<double> x)
    {
        foreach (var v in x) if (!double.IsFinite(v)) return false;
        return true;
    }
}
