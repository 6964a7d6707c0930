using System.Numerics;
using System.Runtime.InteropServices;

namespace ResOdeProofs.Numerics.Model;

/// <summary>
/// Deliberate engine faults, for the property suite's mutation tests only. They are reachable from
/// code that sets <see cref="ResNet{T}.Fault"/> (the CLI exposes them only behind an explicit
/// --inject-fault option that marks the run directory as faulty).
/// </summary>
public enum EngineFault
{
    /// <summary>The engine as specified.</summary>
    None,
    /// <summary>The gradient of the middle layer (k = ⌊L/2⌋, 0-based) is multiplied by 1.01.</summary>
    ScaledLayerGradient,
    /// <summary>The forward pass uses 1/(L+1) instead of 1/L; the backward pass still uses 1/L.</summary>
    ForwardDepthScale,
    /// <summary>The backward pass uses σ'(u + 0.05) instead of σ'(u).</summary>
    WrongActivationDerivative,
    /// <summary>Each update (after the first) applies the previous iterate's gradient.</summary>
    StaleGradient,
}

/// <summary>Cheap by-products of one loss-and-gradient evaluation, used by the trace.</summary>
public struct EvaluationStats
{
    /// <summary>ℓ(Z) = (1/n) Σ_i ‖F(x_i) − y_i‖².</summary>
    public double Loss;
    /// <summary>max over k = 0..L and samples i of ‖h_k^i‖.</summary>
    public double MaxHiddenNorm;
    /// <summary>max over k = 0..L of Σ_i ‖p_k^i‖ with p_k^i = ∂ℓ/∂h_k^i.</summary>
    public double MaxAdjointSum;
    /// <summary>Smallest and largest pre-activation W_k h_{k−1}^i entry over all k and i.</summary>
    public double MinPreActivation, MaxPreActivation;
}

/// <summary>
/// The depth-L residual network of the paper with exact reverse-mode gradients:
/// <code>
/// h_0 = A x,   h_k = h_{k−1} + (1/L) V_k σ(W_k h_{k−1}),   F(x) = B h_L,
/// ℓ(Z) = (1/n) Σ_i ‖F(x_i) − y_i‖².
/// </code>
/// Backward (adjoint) recursion, with p_k^i = ∂ℓ/∂h_k^i:
/// <code>
/// p_L^i = (2/n) Bᵀ(B h_L^i − y_i),
/// q_k^i = σ'(W_k h_{k−1}^i) ⊙ (V_kᵀ p_k^i),
/// p_{k−1}^i = p_k^i + (1/L) W_kᵀ q_k^i.
/// </code>
/// It returns the depth-scaled gradient G_k = L·∂ℓ/∂Z_k, which is O(1) in L:
/// <code>
/// G^V_k = Σ_i p_k^i σ(W_k h_{k−1}^i)ᵀ,   G^W_k = Σ_i q_k^i (h_{k−1}^i)ᵀ.
/// </code>
/// All buffers are allocated once at construction; <see cref="Evaluate"/> allocates nothing.
/// Precision: T = double (default) or float; the loss and the statistics accumulate in double.
/// </summary>
public sealed class ResNet<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly NetworkShape _shape;
    private readonly ActivationKind _activation;
    private readonly int _n;
    private readonly T[] _y;          // n×d_out
    private readonly T[]? _b;         // d_out×d, null = identity
    private readonly T[] _h;          // (L+1)×n×d hidden states
    private readonly T[] _s;          // L×n×m activations σ(W_k h_{k−1})
    private readonly T[] _sd;         // L×n×m derivatives σ'(W_k h_{k−1})
    private readonly T[] _pre;        // n×m pre-activations of the current layer
    private readonly T[] _p;          // n×d adjoint
    private readonly T[] _q;          // n×m
    private readonly T[] _out;        // n×d_out outputs (general B only)

    /// <summary>The fault this instance simulates (tests only).</summary>
    public EngineFault Fault { get; set; }

    /// <summary>Shape of the network.</summary>
    public NetworkShape Shape => _shape;
    /// <summary>Activation σ.</summary>
    public ActivationKind Activation => _activation;
    /// <summary>Number of samples n.</summary>
    public int SampleCount => _n;

    /// <summary>Builds the network for a fixed data set; A (d×d_in) and B (d_out×d) are fixed, null meaning identity.</summary>
    public ResNet(NetworkShape shape, ActivationKind activation, Dataset data, double[]? a = null, double[]? b = null)
    {
        shape.Validate();
        data.Validate();
        if (data.InputDim != shape.InputDim || data.OutputDim != shape.OutputDim)
            throw new ArgumentException($"data dimensions (d_in = {data.InputDim}, d_out = {data.OutputDim}) do not match the network (d_in = {shape.InputDim}, d_out = {shape.OutputDim})");
        if (a is null && shape.InputDim != shape.Dim) throw new ArgumentException($"A = I needs d_in = d, got d_in = {shape.InputDim}, d = {shape.Dim}: give an embedding matrix A");
        if (b is null && shape.OutputDim != shape.Dim) throw new ArgumentException($"B = I needs d_out = d, got d_out = {shape.OutputDim}, d = {shape.Dim}: give a read-out matrix B");
        if (a is not null && a.Length != shape.Dim * shape.InputDim) throw new ArgumentException($"A has {a.Length} entries, expected d·d_in = {shape.Dim}·{shape.InputDim}");
        if (b is not null && b.Length != shape.OutputDim * shape.Dim) throw new ArgumentException($"B has {b.Length} entries, expected d_out·d = {shape.OutputDim}·{shape.Dim}");
        _shape = shape;
        _activation = activation;
        _n = data.Count;
        int n = _n, d = shape.Dim, m = shape.Width, L = shape.Depth;
        long hs = (long)(L + 1) * n * d, ss = (long)L * n * m;
        if (hs > Array.MaxLength || ss > Array.MaxLength)
            throw new ArgumentException($"stored activations need {ss} entries per array (L·n·m), more than one array holds; reduce L or n");
        _h = new T[hs];
        _s = new T[ss];
        _sd = new T[ss];
        _pre = new T[n * m];
        _p = new T[n * d];
        _q = new T[n * m];
        _out = new T[n * shape.OutputDim];
        _y = Convert(data.Y);
        _b = b is null ? null : Convert(b);
        // h_0 = A x once and for all: A is fixed.
        var h0 = _h.AsSpan(0, n * d);
        if (a is null) Convert(data.X).CopyTo(h0);
        else
        {
            var x = data.X; int din = shape.InputDim;
            for (int i = 0; i < n; i++)
                for (int r = 0; r < d; r++)
                {
                    double acc = 0;
                    for (int c = 0; c < din; c++) acc += a[r * din + c] * x[i * din + c];
                    h0[i * d + r] = T.CreateTruncating(acc);
                }
        }
    }

    private static T[] Convert(double[] src)
    {
        var dst = new T[src.Length];
        for (int i = 0; i < src.Length; i++) dst[i] = T.CreateTruncating(src[i]);
        return dst;
    }

    /// <summary>Hidden states of the last evaluation: (L+1)×n×d, h_k^i at [(k·n + i)·d].</summary>
    public ReadOnlySpan<T> HiddenStates => _h;

    /// <summary>
    /// Evaluates ℓ(Z) and, when <paramref name="gradW"/> and <paramref name="gradV"/> are non-empty,
    /// the depth-scaled gradient G = L·∂ℓ/∂Z into them (same layout as W and V).
    /// </summary>
    public EvaluationStats Evaluate(ReadOnlySpan<T> w, ReadOnlySpan<T> v, Span<T> gradW, Span<T> gradV)
    {
        int n = _n, d = _shape.Dim, m = _shape.Width, L = _shape.Depth, md = m * d;
        if (w.Length != L * md || v.Length != L * md)
            throw new ArgumentException($"weights have {w.Length} and {v.Length} entries, expected L·m·d = {L * md} each");
        bool grad = !gradW.IsEmpty;
        var stats = new EvaluationStats { MinPreActivation = double.PositiveInfinity, MaxPreActivation = double.NegativeInfinity };
        T invL = T.One / T.CreateTruncating(L);
        T fwdScale = Fault == EngineFault.ForwardDepthScale ? T.One / T.CreateTruncating(L + 1) : invL;
        var hAll = _h.AsSpan();
        var pre = _pre.AsSpan();

        // Forward pass.
        for (int k = 0; k < L; k++)
        {
            var hk = hAll.Slice(k * n * d, n * d);
            var hn = hAll.Slice((k + 1) * n * d, n * d);
            var wk = w.Slice(k * md, md);
            var vk = v.Slice(k * md, md);
            Kernels.GemmNT(hk, wk, pre, n, m, d, T.One, accumulate: false);
            for (int i = 0; i < pre.Length; i++)
            {
                double u = double.CreateTruncating(pre[i]);
                if (u < stats.MinPreActivation) stats.MinPreActivation = u;
                if (u > stats.MaxPreActivation) stats.MaxPreActivation = u;
            }
            var sk = _s.AsSpan(k * n * m, n * m);
            var sdk = _sd.AsSpan(k * n * m, n * m);
            EvaluateActivation(pre, sk, sdk);
            hk.CopyTo(hn);
            Kernels.GemmNT<T>(sk, vk, hn, n, d, m, fwdScale, accumulate: true);
        }
        for (int k = 0; k <= L; k++)
            for (int i = 0; i < n; i++)
            {
                double nrm = Math.Sqrt(Kernels.SumSquares<T>(hAll.Slice((k * n + i) * d, d)));
                if (!(nrm <= stats.MaxHiddenNorm)) stats.MaxHiddenNorm = nrm; // NaN propagates
            }

        // Loss and p_L.
        var hL = hAll.Slice(L * n * d, n * d);
        var p = _p.AsSpan();
        int dOut = _shape.OutputDim;
        double loss = 0;
        T twoOverN = T.CreateTruncating(2.0 / n);
        if (_b is null)
        {
            for (int i = 0; i < n * d; i++)
            {
                T r = hL[i] - _y[i];
                double rd = double.CreateTruncating(r);
                loss += rd * rd;
                p[i] = twoOverN * r;
            }
        }
        else
        {
            var outp = _out.AsSpan();
            Kernels.GemmNT<T>(hL, _b, outp, n, dOut, d, T.One, accumulate: false);
            for (int i = 0; i < n * dOut; i++) { outp[i] -= _y[i]; double rd = double.CreateTruncating(outp[i]); loss += rd * rd; }
            p.Clear();
            Kernels.GemmNNAcc<T>(outp, _b, p, n, dOut, d, twoOverN);
        }
        stats.Loss = loss / n;
        stats.MaxAdjointSum = AdjointSum(p, n, d);
        if (!grad) return stats;

        // Backward pass.
        var q = _q.AsSpan();
        for (int k = L - 1; k >= 0; k--)
        {
            var hk = hAll.Slice(k * n * d, n * d);
            var wk = w.Slice(k * md, md);
            var vk = v.Slice(k * md, md);
            var sk = _s.AsSpan(k * n * m, n * m);
            var sdk = _sd.AsSpan(k * n * m, n * m);
            var gw = gradW.Slice(k * md, md);
            var gv = gradV.Slice(k * md, md);
            // G^V_k = Σ_i p_k^i σ_iᵀ  (d×m)
            gv.Clear();
            Kernels.GemmTNAcc<T>(p, sk, gv, n, d, m, T.One);
            // q_k^i = σ'_i ⊙ V_kᵀ p_k^i  (n×m)
            q.Clear();
            Kernels.GemmNNAcc(p, vk, q, n, d, m, T.One);
            if (Fault == EngineFault.WrongActivationDerivative)
            {
                // Recompute the pre-activation and use σ'(u + 0.05): a plausible-looking wrong derivative.
                Kernels.GemmNT(hk, wk, pre, n, m, d, T.One, accumulate: false);
                for (int i = 0; i < q.Length; i++)
                    q[i] *= T.CreateTruncating(Activations.Derivative(_activation, double.CreateTruncating(pre[i]) + 0.05));
            }
            else
            {
                for (int i = 0; i < q.Length; i++) q[i] *= sdk[i];
            }
            // G^W_k = Σ_i q_k^i h_{k−1}^iᵀ  (m×d)
            gw.Clear();
            Kernels.GemmTNAcc<T>(q, hk, gw, n, m, d, T.One);
            // p_{k−1} = p_k + (1/L) W_kᵀ q_k
            Kernels.GemmNNAcc(q, wk, p, n, m, d, invL);
            double ps = AdjointSum(p, n, d);
            if (!(ps <= stats.MaxAdjointSum)) stats.MaxAdjointSum = ps;
        }
        if (Fault == EngineFault.ScaledLayerGradient)
        {
            int k = L / 2;
            T f = T.CreateTruncating(1.01);
            var gwk = gradW.Slice(k * md, md);
            var gvk = gradV.Slice(k * md, md);
            for (int i = 0; i < md; i++) { gwk[i] *= f; gvk[i] *= f; }
        }
        return stats;
    }

    private static double AdjointSum(ReadOnlySpan<T> p, int n, int d)
    {
        double s = 0;
        for (int i = 0; i < n; i++) s += Math.Sqrt(Kernels.SumSquares(p.Slice(i * d, d)));
        return s;
    }

    private void EvaluateActivation(Span<T> u, Span<T> s, Span<T> sd)
    {
        if (typeof(T) == typeof(double))
            Activations.Evaluate(_activation, MemoryMarshal.Cast<T, double>(u), MemoryMarshal.Cast<T, double>(s), MemoryMarshal.Cast<T, double>(sd));
        else if (typeof(T) == typeof(float))
            Activations.Evaluate(_activation, MemoryMarshal.Cast<T, float>(u), MemoryMarshal.Cast<T, float>(s), MemoryMarshal.Cast<T, float>(sd));
        else
            throw new NotSupportedException($"precision {typeof(T).Name} is not supported; use double or float");
    }
}
