namespace ResOdeProofs.Numerics.Blocks;

/// <summary>
/// The extension point for new architectures on the engine side: one residual block f(θ, h) of
/// <code>
/// h_k = h_{k−1} + (1/L) f(θ_k, h_{k−1}),   k = 1..L,
/// </code>
/// evaluated on a batch of n states h ∈ R^d (row-major n×d). θ_k is a flat vector of
/// <see cref="ParameterCount"/> doubles whose named parts are listed in <see cref="ParameterLayout"/>
/// (row-major each). An implementation supplies the forward map and its exact vector–Jacobian
/// products; the engine supplies depth, 1/L scaling, the loss, gradient descent and the trace.
/// The paper's two-layer perceptron block is f(θ, h) = V σ(W h) with θ = (W, V).
/// One instance serves several networks at once (the verifier evaluates a run's snapshots in parallel on one block):
/// an implementation keeps no mutable state in the instance; scratch memory is per call or per thread.
/// </summary>
public interface IResidualBlock
{
    /// <summary>Short name written in run.json ("mlp", "one-layer", "conv").</summary>
    string Name { get; }

    /// <summary>Dimension d of the state h.</summary>
    int StateDim { get; }

    /// <summary>Number of parameters of one layer (length of θ_k).</summary>
    int ParameterCount { get; }

    /// <summary>The named parts of θ_k in storage order, with their shapes (their sizes add up to <see cref="ParameterCount"/>).</summary>
    IReadOnlyList<(string Name, int[] Shape)> ParameterLayout { get; }

    /// <summary>The activation σ the block applies (its constants come from <see cref="Activations"/>).</summary>
    ActivationKind Activation { get; }

    /// <summary>Doubles of per-layer cache that <see cref="Forward"/> fills for a batch of n (e.g. pre-activations).</summary>
    int CacheSize(int n);

    /// <summary>output (n×d) ← f(θ, h) for each of the n states; fills <paramref name="cache"/> for <see cref="Backward"/>.</summary>
    void Forward(ReadOnlySpan<double> theta, ReadOnlySpan<double> h, Span<double> output, Span<double> cache, int n);

    /// <summary>
    /// Vector–Jacobian products at (θ, h) for output adjoints p (n×d):
    /// gradTheta ← gradTheta + Σ_i (∂f/∂θ)(θ, h_i)ᵀ p_i  and  gradH (n×d) ← (∂f/∂h)(θ, h_i)ᵀ p_i (overwritten).
    /// </summary>
    void Backward(ReadOnlySpan<double> theta, ReadOnlySpan<double> h, ReadOnlySpan<double> cache, ReadOnlySpan<double> p,
        Span<double> gradTheta, Span<double> gradH, int n);
}

/// <summary>
/// A block's sizes, checked when it is made: a parameter count or a state dimension is an <see cref="int"/> (the length of
/// one array), formed here in 64 bits so that it cannot wrap (a one-layer block with d = 65 536 had d² + d = 65 536
/// parameters by 32-bit arithmetic, trained, and failed inside its first Forward with exit 3).
/// </summary>
internal static class BlockSizes
{
    /// <summary><paramref name="count"/> as an int, or an ArgumentException naming <paramref name="what"/> when one array cannot hold it.</summary>
    public static int Checked(long count, string what) =>
        count <= Array.MaxLength ? (int)count
        : throw new ArgumentException($"{what} = {count:N0}, more than one array holds ({Array.MaxLength:N0}); reduce the block's sizes");
}
