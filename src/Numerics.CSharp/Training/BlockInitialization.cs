using ResOdeProofs.Numerics.Random;
using ResOdeProofs.Numerics.Blocks;

namespace ResOdeProofs.Numerics.Training;

/// <summary>
/// Tied, smooth and iid initializations over any <see cref="IResidualBlock.ParameterLayout"/>, with one
/// Gaussian scale per part (a part with scale 0 starts at 0, e.g. the paper's V⁰ = 0). Draws depend on
/// the layout, the seed and the modes but not on L, so runs that differ only in depth discretize the same
/// function of depth (what a ladder needs).
/// </summary>
public static class BlockInitialization
{
    /// <summary>One N(0, scale_part²) draw per part, the same for every layer: θ⁰(s) is constant (Lipschitz constant 0).</summary>
    public static InitialParameters Tied(IResidualBlock block, int depth, long seed, double[] scales)
    {
        var (offsets, sizes) = Parts(block, scales);
        int P = block.ParameterCount;
        var theta = new double[depth * P];
        InitialDraws.Tied(depth, seed, scales, (k, q) => theta.AsSpan(k * P + offsets[q], sizes[q]));
        return new(Parameters.FromTheta(block, depth, theta), new InitInfo(InitKind.Tied, scales, 0, new double[sizes.Length], 0.0,
            $"tied: one Gaussian draw per part for every layer, scales {Describe(block, scales)}"));
    }

    /// <summary>Independent layers θ_k ~ N(0, scale_part²) per part; no function of depth is discretized (Lipschitz constant unknown).</summary>
    public static InitialParameters Iid(IResidualBlock block, int depth, long seed, double[] scales)
    {
        var (offsets, sizes) = Parts(block, scales);
        int P = block.ParameterCount;
        var theta = new double[depth * P];
        InitialDraws.Iid(depth, seed, scales, (k, q) => theta.AsSpan(k * P + offsets[q], sizes[q]));
        return new(Parameters.FromTheta(block, depth, theta), new InitInfo(InitKind.Iid, scales, 0, null, MaxIncrement(theta, depth, P) * depth,
            $"iid: independent Gaussian layers, scales {Describe(block, scales)}"));
    }

    /// <summary>
    /// Per part, a random smooth function of depth sampled at s_k = k/L (k = 1..L):
    /// <code>
    /// θ⁰_part(s) = scale·[C₀ + (1/√F) Σ_{f=1..F} (C_f cos 2πfs + D_f sin 2πfs)/f],
    /// </code>
    /// C, D independent N(0, 1). Since ‖−C sin x + D cos x‖_F ≤ (‖C‖_F² + ‖D‖_F²)^{1/2} (Cauchy–Schwarz),
    /// sup_s ‖dθ⁰_part/ds‖_F ≤ Lip_part = scale·(2π/√F) Σ_f (‖C_f‖_F² + ‖D_f‖_F²)^{1/2}, hence
    /// max_k ‖θ_{k+1}(0) − θ_k(0)‖ ≤ (Σ_part Lip_part²)^{1/2} / L.
    /// </summary>
    public static InitialParameters Smooth(IResidualBlock block, int depth, long seed, double[] scales, int modes = 2)
    {
        var (offsets, sizes) = Parts(block, scales);
        int P = block.ParameterCount;
        var theta = new double[depth * P];
        var lips = InitialDraws.Smooth(depth, seed, sizes, scales, modes, (k, q) => theta.AsSpan(k * P + offsets[q], sizes[q]));
        return new(Parameters.FromTheta(block, depth, theta), new InitInfo(InitKind.Smooth, scales, modes, lips, MaxIncrement(theta, depth, P) * depth,
            $"smooth: {modes} random Fourier mode(s) in depth, scales {Describe(block, scales)}"));
    }

    /// <summary>A function of depth s ↦ θ⁰(s), written into a span of P doubles.</summary>
    public delegate void ParameterFunction(double s, Span<double> theta);

    /// <summary>The closed-form function of depth that <see cref="Smooth"/> samples (same seed, same draws).</summary>
    public static ParameterFunction SmoothFunction(IResidualBlock block, long seed, double[] scales, int modes, out double[] lipschitz)
    {
        var (offsets, sizes) = Parts(block, scales);
        var f = InitialDraws.SmoothDraw.Draw(seed, sizes, scales, modes);
        lipschitz = f.Lipschitz;
        return (s, theta) => { for (int q = 0; q < sizes.Length; q++) f.Sample(s, q, theta.Slice(offsets[q], sizes[q])); };
    }

    /// <summary>max_k ‖θ_{k+1} − θ_k‖ over the whole parameter vector.</summary>
    public static double MaxIncrement(ReadOnlySpan<double> theta, int depth, int P)
    {
        double best = 0;
        for (int k = 0; k + 1 < depth; k++)
        {
            double s = 0;
            for (int i = 0; i < P; i++) { double x = theta[(k + 1) * P + i] - theta[k * P + i]; s += x * x; }
            best = Math.Max(best, Math.Sqrt(s));
        }
        return best;
    }

    /// <summary>Offsets and sizes of the layout's parts, after checking one scale per part.</summary>
    public static (int[] Offsets, int[] Sizes) Parts(IResidualBlock block, double[]? scales = null)
    {
        var layout = block.ParameterLayout;
        if (scales is not null && scales.Length != layout.Count)
            throw new ArgumentException($"{scales.Length} scale(s) given for the {layout.Count} parameter part(s) ({string.Join(", ", layout.Select(p => p.Name))}) of block '{block.Name}'");
        var offsets = new int[layout.Count]; var sizes = new int[layout.Count];
        int off = 0;
        for (int q = 0; q < layout.Count; q++) { offsets[q] = off; sizes[q] = layout[q].Shape.Aggregate(1, (a, b) => a * b); off += sizes[q]; }
        if (off != block.ParameterCount) throw new ArgumentException($"block '{block.Name}': the layout's parts have {off} entries but ParameterCount is {block.ParameterCount}");
        return (offsets, sizes);
    }

    private static string Describe(IResidualBlock block, double[] scales) =>
        string.Join(", ", block.ParameterLayout.Select((p, q) => $"{p.Name} {scales[q]:G4}"));
}
