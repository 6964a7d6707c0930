using ResOdeProofs.Numerics.Blocks;
using ResOdeProofs.Numerics.Model;

namespace ResOdeProofs.Numerics.Training;

/// <summary>
/// The depth-L residual network of any <see cref="IResidualBlock"/>, with exact reverse-mode gradients:
/// <code>
/// h_0 = A x,   h_k = h_{k−1} + (1/L) f(θ_k, h_{k−1}),   F(x) = B h_L,   ℓ(θ) = (1/n) Σ_i ‖F(x_i) − y_i‖².
/// </code>
/// With p_k^i = ∂ℓ/∂h_k^i, the adjoint recursion is
/// <code>
/// p_L^i = (2/n) Bᵀ(B h_L^i − y_i),   p_{k−1}^i = p_k^i + (1/L) (∂f/∂h)(θ_k, h_{k−1}^i)ᵀ p_k^i,
/// </code>
/// and the depth-scaled gradient is G_k = L·∂ℓ/∂θ_k = Σ_i (∂f/∂θ)(θ_k, h_{k−1}^i)ᵀ p_k^i, which is
/// exactly what <see cref="IResidualBlock.Backward"/> accumulates for layer k. θ is stored layer after
/// layer (L·P doubles, P = <see cref="IResidualBlock.ParameterCount"/>). Float64 only; buffers are
/// allocated once.
/// </summary>
public sealed class GenericResNet : IBlockStates
{
    private readonly IResidualBlock _block;
    private readonly int _L, _n, _d, _dOut, _P, _cache;
    private readonly double[] _y;
    private readonly double[]? _b;
    private readonly double[] _h, _caches, _f, _p, _gh, _out;
    private double[]? _adj;

    /// <summary>Builds the network for a fixed data set; A (d×d_in) and B (d_out×d) are fixed, null meaning identity.</summary>
    public GenericResNet(IResidualBlock block, int depth, Dataset data, double[]? a = null, double[]? b = null)
    {
        data.Validate();
        if (depth < 1) throw new ArgumentException($"depth L must be at least 1 (got {depth})");
        int d = block.StateDim, n = data.Count;
        if (a is null && data.InputDim != d) throw new ArgumentException($"A = I needs d_in = d, got d_in = {data.InputDim}, d = {d}: give an embedding matrix A");
        if (b is null && data.OutputDim != d) throw new ArgumentException($"B = I needs d_out = d, got d_out = {data.OutputDim}, d = {d}: give a read-out matrix B");
        if (a is not null && a.Length != d * data.InputDim) throw new ArgumentException($"A has {a.Length} entries, expected d·d_in = {d}·{data.InputDim}");
        if (b is not null && b.Length != data.OutputDim * d) throw new ArgumentException($"B has {b.Length} entries, expected d_out·d = {data.OutputDim}·{d}");
        _block = block; _L = depth; _n = n; _d = d; _dOut = data.OutputDim; _P = block.ParameterCount; _cache = block.CacheSize(n);
        long hs = (long)(depth + 1) * n * d, cs = (long)depth * _cache;
        if (hs > Array.MaxLength || cs > Array.MaxLength) throw new ArgumentException("stored states exceed one array; reduce L or n");
        _h = new double[hs]; _caches = new double[cs];
        _f = new double[n * d]; _p = new double[n * d]; _gh = new double[n * d]; _out = new double[n * _dOut];
        _y = (double[])data.Y.Clone();
        _b = b is null ? null : (double[])b.Clone();
        var h0 = _h.AsSpan(0, n * d);
        if (a is null) data.X.CopyTo(h0);
        else
        {
            int din = data.InputDim;
            for (int i = 0; i < n; i++)
                for (int r = 0; r < d; r++)
                {
                    double acc = 0;
                    for (int c = 0; c < din; c++) acc += a[r * din + c] * data.X[i * din + c];
                    h0[i * d + r] = acc;
                }
        }
    }

    public IResidualBlock Block => _block;
    public int Depth => _L;

    /// <summary>Hidden states of the last evaluation: (L+1)×n×d, h_k^i at [(k·n + i)·d].</summary>
    public ReadOnlySpan<double> HiddenStates => _h;

    /// <summary>When set, an evaluation with a gradient also keeps every adjoint p_k (see <see cref="Adjoints"/>); off by default.</summary>
    public bool KeepAdjoints { get; set; }

    /// <summary>Adjoints p_k^i = ∂ℓ/∂h_k^i of the last evaluation with a gradient and <see cref="KeepAdjoints"/> set:
    /// (L+1)×n×d, p_k^i at [(k·n + i)·d]; empty otherwise.</summary>
    public ReadOnlySpan<double> Adjoints => _adj;

    /// <summary>
    /// Evaluates ℓ(θ) and, when <paramref name="grad"/> is non-empty, G = L·∂ℓ/∂θ into it (same layout as θ).
    /// Statistics: max_{k,i}‖h_k^i‖, max_k Σ_i‖p_k^i‖ and, for blocks implementing
    /// <see cref="IPreActivationRange"/>, the pre-activation range (NaN otherwise).
    /// </summary>
    public EvaluationStats Evaluate(ReadOnlySpan<double> theta, Span<double> grad)
    {
        int n = _n, d = _d, L = _L, P = _P, nd = n * d;
        if (theta.Length != L * P) throw new ArgumentException($"θ has {theta.Length} entries, expected L·P = {L}·{P}");
        var stats = new EvaluationStats { MinPreActivation = double.PositiveInfinity, MaxPreActivation = double.NegativeInfinity };
        var range = _block as IPreActivationRange;
        double invL = 1.0 / L;
        for (int k = 0; k < L; k++)
        {
            var hk = _h.AsSpan(k * nd, nd); var hn = _h.AsSpan((k + 1) * nd, nd);
            var ck = _caches.AsSpan(k * _cache, _cache);
            _block.Forward(theta.Slice(k * P, P), hk, _f, ck, n);
            for (int i = 0; i < nd; i++) hn[i] = hk[i] + invL * _f[i];
            if (range is not null)
            {
                var (lo, hi) = range.PreActivationRange(ck, n);
                stats.MinPreActivation = Math.Min(stats.MinPreActivation, lo);
                stats.MaxPreActivation = Math.Max(stats.MaxPreActivation, hi);
            }
        }
        if (range is null) { stats.MinPreActivation = double.NaN; stats.MaxPreActivation = double.NaN; }
        for (int k = 0; k <= L; k++)
            for (int i = 0; i < n; i++)
            {
                double nrm = Norm(_h.AsSpan((k * n + i) * d, d));
                if (!(nrm <= stats.MaxHiddenNorm)) stats.MaxHiddenNorm = nrm;
            }

        var hL = _h.AsSpan(L * nd, nd);
        var p = _p.AsSpan();
        double loss = 0, twoOverN = 2.0 / n;
        if (_b is null)
        {
            for (int i = 0; i < nd; i++) { double r = hL[i] - _y[i]; loss += r * r; p[i] = twoOverN * r; }
        }
        else
        {
            int dOut = _dOut;
            for (int i = 0; i < n; i++)
                for (int r = 0; r < dOut; r++)
                {
                    double acc = 0;
                    for (int c = 0; c < d; c++) acc += _b[r * d + c] * hL[i * d + c];
                    acc -= _y[i * dOut + r];
                    _out[i * dOut + r] = acc; loss += acc * acc;
                }
            p.Clear();
            for (int i = 0; i < n; i++)
                for (int r = 0; r < dOut; r++)
                {
                    double s = twoOverN * _out[i * dOut + r];
                    for (int c = 0; c < d; c++) p[i * d + c] += s * _b[r * d + c];
                }
        }
        stats.Loss = loss / n;
        stats.MaxAdjointSum = AdjointSum(p, n, d);
        stats.AdjointGrowth = grad.IsEmpty ? double.NaN : 1.0;
        if (grad.IsEmpty) return stats;
        double least = stats.MaxAdjointSum;
        if (grad.Length != L * P) throw new ArgumentException($"the gradient buffer has {grad.Length} entries, expected L·P = {L * P}");

        if (KeepAdjoints) _adj ??= new double[_h.Length];
        var adj = KeepAdjoints ? _adj : null;
        for (int k = L - 1; k >= 0; k--)
        {
            if (adj is not null) p.CopyTo(adj.AsSpan((k + 1) * nd, nd));
            var gk = grad.Slice(k * P, P);
            gk.Clear();
            _block.Backward(theta.Slice(k * P, P), _h.AsSpan(k * nd, nd), _caches.AsSpan(k * _cache, _cache), p, gk, _gh, n);
            for (int i = 0; i < nd; i++) p[i] += invL * _gh[i];
            double ps = AdjointSum(p, n, d);
            if (!(ps <= stats.MaxAdjointSum)) stats.MaxAdjointSum = ps;
            stats.AdjointGrowth = ResNet<double>.Growth(stats.AdjointGrowth, ps, ref least);
        }
        if (adj is not null) p.CopyTo(adj.AsSpan(0, nd));
        return stats;
    }

    /// <summary>The outputs B h_L^i (n×d_out) of the last evaluation.</summary>
    public double[] Outputs()
    {
        int n = _n, d = _d, dOut = _dOut;
        var hL = _h.AsSpan(_L * n * d, n * d);
        var r = new double[n * dOut];
        for (int i = 0; i < n; i++)
            for (int q = 0; q < dOut; q++)
                r[i * dOut + q] = _b is null ? hL[i * d + q] : Dot(_b.AsSpan(q * d, d), hL.Slice(i * d, d));
        return r;
    }

    public static double Norm(ReadOnlySpan<double> x) { double s = 0; foreach (var v in x) s += v * v; return Math.Sqrt(s); }
    private static double Dot(ReadOnlySpan<double> a, ReadOnlySpan<double> b) { double s = 0; for (int i = 0; i < a.Length; i++) s += a[i] * b[i]; return s; }
    private static double AdjointSum(ReadOnlySpan<double> p, int n, int d)
    {
        double s = 0;
        for (int i = 0; i < n; i++) s += Norm(p.Slice(i * d, d));
        return s;
    }
}
