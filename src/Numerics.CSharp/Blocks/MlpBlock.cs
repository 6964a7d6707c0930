namespace ResOdeProofs.Numerics.Blocks;

/// <summary>
/// The paper's two-layer perceptron block f(θ, h) = V σ(W h) with θ = (W, V), W m×d, V d×m, as an
/// <see cref="IResidualBlock"/>. It is the reference implementation of the extension point: the generic forward and
/// backward pass over any block (<c>GenericResNet</c>, a step of training) with this block computes the same losses and gradients as the fast engine
/// (Model/ResNet.cs), which tests/Numerics.Tests/BlockEngineTests.cs checks to 1e-12.
/// Vector–Jacobian products with u = W h, q = σ'(u) ⊙ (Vᵀ p):
/// <code>
/// ∂/∂V: p σ(u)ᵀ,   ∂/∂W: q hᵀ,   ∂/∂h: Wᵀ q.
/// </code>
/// Cache per layer: u, σ(u), σ'(u) (3·n·m doubles).
/// </summary>
public sealed class MlpBlock : IResidualBlock, IPreActivationRange
{
    private readonly int _d, _m;
    private readonly (string, int[])[] _layout;

    /// <summary>The block on R^d with hidden width m and activation σ.</summary>
    public MlpBlock(int dim, int width, ActivationKind activation)
    {
        if (dim < 1 || width < 1) throw new ArgumentException($"d and m must be at least 1 (got d = {dim}, m = {width})");
        _d = dim; _m = width;
        _p = BlockSizes.Checked(2L * width * dim, $"an mlp block with m = {width}, d = {dim} has 2md parameters per layer");
        Activation = activation;
        _layout = new[] { ("W", new[] { width, dim }), ("V", new[] { dim, width }) };
    }

    public string Name => "mlp";
    public int StateDim => _d;
    /// <summary>Hidden width m.</summary>
    public int Width => _m;
    private readonly int _p;
    public int ParameterCount => _p;
    public IReadOnlyList<(string Name, int[] Shape)> ParameterLayout => _layout;
    public ActivationKind Activation { get; }
    public int CacheSize(int n) => 3 * n * _m;

    public void Forward(ReadOnlySpan<double> theta, ReadOnlySpan<double> h, Span<double> output, Span<double> cache, int n)
    {
        int d = _d, m = _m, md = m * d;
        var w = theta[..md]; var v = theta.Slice(md, md);
        var u = cache[..(n * m)]; var s = cache.Slice(n * m, n * m); var sd = cache.Slice(2 * n * m, n * m);
        for (int i = 0; i < n; i++)
        {
            var hi = h.Slice(i * d, d);
            for (int r = 0; r < m; r++)
            {
                double acc = 0;
                var wr = w.Slice(r * d, d);
                for (int c = 0; c < d; c++) acc += wr[c] * hi[c];
                u[i * m + r] = acc;
            }
        }
        Activations.Evaluate(Activation, u, s, sd);
        for (int i = 0; i < n; i++)
            for (int r = 0; r < d; r++)
            {
                double acc = 0;
                var vr = v.Slice(r * m, m); var si = s.Slice(i * m, m);
                for (int c = 0; c < m; c++) acc += vr[c] * si[c];
                output[i * d + r] = acc;
            }
    }

    public void Backward(ReadOnlySpan<double> theta, ReadOnlySpan<double> h, ReadOnlySpan<double> cache, ReadOnlySpan<double> p,
        Span<double> gradTheta, Span<double> gradH, int n)
    {
        int d = _d, m = _m, md = m * d;
        var w = theta[..md]; var v = theta.Slice(md, md);
        var gw = gradTheta[..md]; var gv = gradTheta.Slice(md, md);
        var s = cache.Slice(n * m, n * m); var sd = cache.Slice(2 * n * m, n * m);
        Span<double> q = m <= 1024 ? stackalloc double[m] : new double[m];
        for (int i = 0; i < n; i++)
        {
            var hi = h.Slice(i * d, d); var pi = p.Slice(i * d, d); var si = s.Slice(i * m, m); var gh = gradH.Slice(i * d, d);
            q.Clear();
            for (int r = 0; r < d; r++)
            {
                double pr = pi[r];
                var vr = v.Slice(r * m, m); var gvr = gv.Slice(r * m, m);
                for (int c = 0; c < m; c++) { gvr[c] += pr * si[c]; q[c] += vr[c] * pr; }
            }
            for (int c = 0; c < m; c++) q[c] *= sd[i * m + c];
            gh.Clear();
            for (int r = 0; r < m; r++)
            {
                double qr = q[r];
                var wr = w.Slice(r * d, d); var gwr = gw.Slice(r * d, d);
                for (int c = 0; c < d; c++) { gwr[c] += qr * hi[c]; gh[c] += wr[c] * qr; }
            }
        }
    }

    public (double Min, double Max) PreActivationRange(ReadOnlySpan<double> cache, int n) => Range(cache[..(n * _m)]);

    internal static (double Min, double Max) Range(ReadOnlySpan<double> u)
    {
        double lo = double.PositiveInfinity, hi = double.NegativeInfinity;
        foreach (var x in u) { if (x < lo) lo = x; if (x > hi) hi = x; }
        return (lo, hi);
    }
}
