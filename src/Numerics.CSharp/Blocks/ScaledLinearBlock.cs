namespace ResOdeProofs.Numerics.Blocks;

/// <summary>
/// The scaled-linear block f(θ, h) = σ(a·h) with one scalar parameter θ = a per layer:
/// <code>
/// h_k = h_{k−1} + (1/L) σ(a_k h_{k−1}).
/// </code>
/// Vector–Jacobian products with u = a h, q = σ'(u) ⊙ p: ∂/∂a: ⟨q, h⟩, ∂/∂h: a q.
/// Cache: u and σ'(u) (2·n·d doubles). Constants: docs/theorems/ScaledLinearBlock.md.
/// </summary>
public sealed class ScaledLinearBlock : IResidualBlock, IPreActivationRange
{
    private readonly int _d;
    private static readonly (string, int[])[] Layout = { ("a", new[] { 1 }) };

    /// <summary>The block on R^d with activation σ.</summary>
    public ScaledLinearBlock(int dim, ActivationKind activation)
    {
        if (dim < 1) throw new ArgumentException($"state dimension d must be at least 1 (got {dim})");
        _d = dim;
        Activation = activation;
    }

    public string Name => "scaled-linear";
    public int StateDim => _d;
    public int ParameterCount => 1;
    public IReadOnlyList<(string Name, int[] Shape)> ParameterLayout => Layout;
    public ActivationKind Activation { get; }
    public int CacheSize(int n) => 2 * n * _d;

    public void Forward(ReadOnlySpan<double> theta, ReadOnlySpan<double> h, Span<double> output, Span<double> cache, int n)
    {
        int nd = n * _d;
        var u = cache[..nd];
        for (int i = 0; i < nd; i++) u[i] = theta[0] * h[i];
        Activations.Evaluate(Activation, u, output[..nd], cache.Slice(nd, nd));
    }

    public void Backward(ReadOnlySpan<double> theta, ReadOnlySpan<double> h, ReadOnlySpan<double> cache, ReadOnlySpan<double> p,
        Span<double> gradTheta, Span<double> gradH, int n)
    {
        int nd = n * _d;
        var sd = cache.Slice(nd, nd);
        double ga = 0;
        for (int i = 0; i < nd; i++)
        {
            double q = sd[i] * p[i];
            ga += q * h[i];
            gradH[i] = theta[0] * q;
        }
        gradTheta[0] += ga;
    }

    public (double Min, double Max) PreActivationRange(ReadOnlySpan<double> cache, int n) => MlpBlock.Range(cache[..(n * _d)]);
}
