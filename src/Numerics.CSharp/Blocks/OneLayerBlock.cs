namespace ResOdeProofs.Numerics.Blocks;

/// <summary>
/// The one-layer residual block f(θ, h) = σ(W h + b) with θ = (W, b), W square d×d, b ∈ R^d:
/// <code>
/// h_k = h_{k−1} + (1/L) σ(W_k h_{k−1} + b_k).
/// </code>
/// Vector–Jacobian products with u = W h + b, q = σ'(u) ⊙ p:
/// <code>
/// ∂/∂W: q hᵀ,   ∂/∂b: q,   ∂/∂h: Wᵀ q.
/// </code>
/// Cache per layer: u and σ'(u) (2·n·d doubles). Constants: docs/theorems/OneLayerBlock.md.
/// </summary>
public sealed class OneLayerBlock : IResidualBlock, IPreActivationRange
{
    private readonly int _d;
    private readonly (string, int[])[] _layout;

    /// <summary>The block on R^d with activation σ.</summary>
    public OneLayerBlock(int dim, ActivationKind activation)
    {
        if (dim < 1) throw new ArgumentException($"state dimension d must be at least 1 (got {dim})");
        _d = dim;
        _p = BlockSizes.Checked((long)dim * dim + dim, $"a one-layer block with d = {dim} has d² + d parameters per layer");
        Activation = activation;
        _layout = new[] { ("W", new[] { dim, dim }), ("b", new[] { dim }) };
    }

    public string Name => "one-layer";
    public int StateDim => _d;
    private readonly int _p;
    public int ParameterCount => _p;
    public IReadOnlyList<(string Name, int[] Shape)> ParameterLayout => _layout;
    public ActivationKind Activation { get; }
    public int CacheSize(int n) => 2 * n * _d;

    public void Forward(ReadOnlySpan<double> theta, ReadOnlySpan<double> h, Span<double> output, Span<double> cache, int n)
    {
        int d = _d;
        var w = theta[..(d * d)]; var b = theta.Slice(d * d, d);
        var u = cache[..(n * d)]; var sd = cache.Slice(n * d, n * d);
        for (int i = 0; i < n; i++)
        {
            var hi = h.Slice(i * d, d);
            for (int r = 0; r < d; r++)
            {
                double acc = b[r];
                var wr = w.Slice(r * d, d);
                for (int c = 0; c < d; c++) acc += wr[c] * hi[c];
                u[i * d + r] = acc;
            }
        }
        Activations.Evaluate(Activation, u, output[..(n * d)], sd);
    }

    public void Backward(ReadOnlySpan<double> theta, ReadOnlySpan<double> h, ReadOnlySpan<double> cache, ReadOnlySpan<double> p,
        Span<double> gradTheta, Span<double> gradH, int n)
    {
        int d = _d;
        var w = theta[..(d * d)];
        var gw = gradTheta[..(d * d)]; var gb = gradTheta.Slice(d * d, d);
        var sd = cache.Slice(n * d, n * d);
        Span<double> q = d <= 256 ? stackalloc double[d] : new double[d];
        for (int i = 0; i < n; i++)
        {
            var hi = h.Slice(i * d, d); var gh = gradH.Slice(i * d, d);
            for (int r = 0; r < d; r++) q[r] = sd[i * d + r] * p[i * d + r];
            gh.Clear();
            for (int r = 0; r < d; r++)
            {
                double qr = q[r];
                gb[r] += qr;
                var wr = w.Slice(r * d, d); var gwr = gw.Slice(r * d, d);
                for (int c = 0; c < d; c++) { gwr[c] += qr * hi[c]; gh[c] += wr[c] * qr; }
            }
        }
    }

    public (double Min, double Max) PreActivationRange(ReadOnlySpan<double> cache, int n) => MlpBlock.Range(cache[..(n * _d)]);
}
