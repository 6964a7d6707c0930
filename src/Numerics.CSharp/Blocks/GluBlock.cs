using System.Buffers;
using ResOdeProofs.Numerics.Model;

namespace ResOdeProofs.Numerics.Blocks;

/// <summary>
/// The gated (GLU) residual block f(θ, h) = V (σ(W h) ⊙ (U h)) with θ = (W, U, V), W and U m×d, V d×m — the
/// feed-forward block of gated transformers. Its output is quadratic in h (σ(W h) grows like h, U h too).
/// With a = W h, g = σ(a), c = U h, z = g ⊙ c, q = Vᵀ p, the vector–Jacobian products are
/// <code>
/// ∂/∂V: p zᵀ,   ∂/∂W: (q ⊙ σ'(a) ⊙ c) hᵀ,   ∂/∂U: (q ⊙ g) hᵀ,   ∂/∂h: Wᵀ(q ⊙ σ'(a) ⊙ c) + Uᵀ(q ⊙ g).
/// </code>
/// The batch is handled with the engine's vectorized dense products (rows of n×m and n×d matrices).
/// Cache per layer: a, g, σ'(a), c, z (5·n·m doubles). Constants: docs/theorems/GluBlock.md.
/// </summary>
public sealed class GluBlock : IResidualBlock, IPreActivationRange
{
    private readonly int _d, _m;
    private readonly (string, int[])[] _layout;

    /// <summary>The block on R^d with hidden width m and activation σ on the gate.</summary>
    public GluBlock(int dim, int width, ActivationKind activation)
    {
        if (dim < 1 || width < 1) throw new ArgumentException($"d and m must be at least 1 (got d = {dim}, m = {width})");
        _d = dim; _m = width;
        _p = BlockSizes.Checked(3L * width * dim, $"a glu block with m = {width}, d = {dim} has 3md parameters per layer");
        Activation = activation;
        _layout = new[] { ("W", new[] { width, dim }), ("U", new[] { width, dim }), ("V", new[] { dim, width }) };
    }

    public string Name => "glu";
    public int StateDim => _d;
    /// <summary>Hidden width m.</summary>
    public int Width => _m;
    private readonly int _p;
    public int ParameterCount => _p;
    public IReadOnlyList<(string Name, int[] Shape)> ParameterLayout => _layout;
    public ActivationKind Activation { get; }
    public int CacheSize(int n) => 5 * n * _m;

    public void Forward(ReadOnlySpan<double> theta, ReadOnlySpan<double> h, Span<double> output, Span<double> cache, int n)
    {
        int d = _d, m = _m, md = m * d, nm = n * m;
        var w = theta[..md]; var u = theta.Slice(md, md); var v = theta.Slice(2 * md, md);
        var a = cache[..nm]; var g = cache.Slice(nm, nm); var gd = cache.Slice(2 * nm, nm); var c = cache.Slice(3 * nm, nm); var z = cache.Slice(4 * nm, nm);
        Kernels.GemmNT(h, w, a, n, m, d, 1.0, false);
        Kernels.GemmNT(h, u, c, n, m, d, 1.0, false);
        Activations.Evaluate(Activation, a, g, gd);
        for (int j = 0; j < nm; j++) z[j] = g[j] * c[j];
        Kernels.GemmNT(z, v, output[..(n * d)], n, d, m, 1.0, false);
    }

    public void Backward(ReadOnlySpan<double> theta, ReadOnlySpan<double> h, ReadOnlySpan<double> cache, ReadOnlySpan<double> p,
        Span<double> gradTheta, Span<double> gradH, int n)
    {
        int d = _d, m = _m, md = m * d, nm = n * m;
        var w = theta[..md]; var u = theta.Slice(md, md); var v = theta.Slice(2 * md, md);
        var gw = gradTheta[..md]; var gu = gradTheta.Slice(md, md); var gv = gradTheta.Slice(2 * md, md);
        var g = cache.Slice(nm, nm); var gd = cache.Slice(2 * nm, nm); var c = cache.Slice(3 * nm, nm); var z = cache.Slice(4 * nm, nm);
        var rent = ArrayPool<double>.Shared.Rent(2 * nm);
        try
        {
            var qw = rent.AsSpan(0, nm); var qu = rent.AsSpan(nm, nm);
            qw.Clear();
            Kernels.GemmTNAcc(p, z, gv, n, d, m, 1.0);          // ∂/∂V += pᵀ z over the batch
            Kernels.GemmNNAcc(p, v, qw, n, d, m, 1.0);          // q = p V (row i: Vᵀ p_i)
            for (int j = 0; j < nm; j++) { qu[j] = qw[j] * g[j]; qw[j] *= gd[j] * c[j]; }
            Kernels.GemmTNAcc(qw, h, gw, n, m, d, 1.0);
            Kernels.GemmTNAcc(qu, h, gu, n, m, d, 1.0);
            var gh = gradH[..(n * d)];
            gh.Clear();
            Kernels.GemmNNAcc(qw, w, gh, n, m, d, 1.0);
            Kernels.GemmNNAcc(qu, u, gh, n, m, d, 1.0);
        }
        finally { ArrayPool<double>.Shared.Return(rent); }
    }

    public (double Min, double Max) PreActivationRange(ReadOnlySpan<double> cache, int n) => MlpBlock.Range(cache[..(n * _m)]);
}
