using ResOdeProofs.Numerics.Model;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace ResOdeProofs.Numerics.Verification;

/// <summary>
/// The per-iterate quantities of the split of consecutive layer gradients (docs/theorems/LemmaChain.md, "L5.split")
/// on the engine's vector kernels, batched over samples: one forward pass storing h_k, u_k = W_k h_{k−1} and σ'(u_k),
/// one backward pass storing the adjoints p_k, and the pair pass
///   E_k = G(Z_k; h_k, p_{k+1}) − G(Z_k; h_{k−1}, p_k),  G^V = Σ_i p^i σ(W h^i)ᵀ,  G^W = Σ_i (σ'(W h^i) ⊙ Vᵀp^i) h^{iᵀ},
/// with the ranges, maxima and norms the bracket coefficients and the forcing bounds need. The layer gradients
/// G(Z_k; h_{k−1}, p_k) are taken from the caller when given (the evidence replay has just computed them with the
/// engine) and summed here otherwise; <see cref="EvaluateKept"/> also takes the states, adjoints and per-layer ranges
/// from the engine's evaluation of the same weights (<see cref="ResNet{T}.Keep"/>), so that only the pair pass runs.
/// Float64 only; nothing here reads a producer's trace.
/// Every buffer is owned by the instance and reused: the arrays are valid until the next <see cref="Evaluate"/>.
/// </summary>
public sealed class SplitPass
{
    private readonly int _L, _m, _d, _n, _dOut;
    private readonly ActivationKind _act;
    private readonly double[] _y;
    private readonly double[]? _b;
    // the pass' own forward and backward arrays, formed on the first Evaluate: an observer that only ever takes the engine's
    // kept states (EvaluateKept) never allocates or touches them ((L + 1)·n·(3m + 2d) doubles, 105 MB at L = 1 024, n = 100).
    // u_k, σ(u_k), σ'(u_k) of every layer (L + 1 arrays each) when the pass keeps them for its backward pass, else one array
    // each that the backward pass fills again layer by layer (StoresLayers)
    private double[][]? _u, _sd, _s;
    // h_k and p_k, k = 0..L, n×d each at k·n·d (the layout of ResNet.KeptStates)
    private double[]? _hF, _pF;
    private readonly double[] _h0;
    // per layer k = 1..L: range of u_k, max|σ'(u_k)|, max|V_kᵀp_k|
    private readonly double[] _uLo, _uHi, _d1, _gInf;
    private readonly double[] _wt, _vt, _q, _res;
    private readonly double[] _hs, _ps;
    // ‖P_k‖_F, k = 1..L (each layer's once, read by the two pairs it belongs to)
    private readonly double[] _pf;
    // the pair pass' buffers, one set per worker of an ObserverTeam (a part of the pair loop uses its worker's set)
    private readonly Scratch[] _scr;

    private sealed class Scratch
    {
        public readonly double[] Wt, Uh, Sh, Dsh, Gh, Q0, Dh, Gram, Sq, GramT, Spare;
        public Scratch(int n, int m, int d)
        {
            int nm = n * m, r = Math.Max(Math.Min(n, d), Math.Min(n, m));
            static double[] A(int len) => AlignedArrays.Create<double>(len);
            Wt = A(m * d); Uh = A(nm); Sh = A(nm); Dsh = A(nm); Gh = A(nm);
            Q0 = A(nm); Dh = A(n * d); Gram = A(r * r); Sq = A(r * r); GramT = A(r * r);
            Spare = A(n * Math.Max(d, m));
        }
    }

    /// <summary>A pass for one data set: h_0 (n×d, the embedded inputs A x_i), targets y (n×d_out), read-out B (d_out×d, null = I).</summary>
    public SplitPass(NetworkShape shape, ActivationKind activation, int samples, double[] h0, double[] y, double[]? b)
    {
        shape.Validate();
        _L = shape.Depth; _m = shape.Width; _d = shape.Dim; _n = samples; _dOut = shape.OutputDim;
        if (h0.Length != _n * _d) throw new ArgumentException($"h_0 has {h0.Length} entries, expected n·d = {_n * _d}");
        if (y.Length != _n * _dOut) throw new ArgumentException($"y has {y.Length} entries, expected n·d_out = {_n * _dOut}");
        _act = activation; _y = y; _b = b;
        int L = _L, nd = _n * _d, nm = _n * _m, md = _m * _d;
        _h0 = (double[])h0.Clone();
        _uLo = new double[L + 1]; _uHi = new double[L + 1]; _d1 = new double[L + 1];
        _wt = AlignedArrays.Create<double>(md); _vt = AlignedArrays.Create<double>(md);
        _q = AlignedArrays.Create<double>(nm); _res = AlignedArrays.Create<double>(_n * _dOut);
        _scr = new Scratch[ObserverTeam.Workers];
        for (int t = 0; t < _scr.Length; t++) _scr[t] = new Scratch(_n, _m, _d);
        _gInf = new double[L + 1];
        _hs = new double[L + 1]; _ps = new double[L + 1]; _pf = new double[L + 1];
        int pairs = Math.Max(0, L - 1);
        EW = AlignedArrays.Create<double>(pairs * md); EV = AlignedArrays.Create<double>(pairs * md);
        GW = AlignedArrays.Create<double>(L * md); GV = AlignedArrays.Create<double>(L * md);
        Pairs = new PairQuantities(pairs);
        StoresLayers = 3L * (L + 1) * nm * sizeof(double) <= EngineOptions.StorageBudgetBytes;
    }

    private static double[][] Alloc(int count, int len)
    {
        var a = new double[count][];
        for (int i = 0; i < count; i++) a[i] = AlignedArrays.Create<double>(len);
        return a;
    }

    /// <summary>E^W_k (m×d) and E^V_k (d×m) of pair k (1-based) at offset (k − 1)·m·d.</summary>
    public double[] EW { get; }
    public double[] EV { get; }
    /// <summary>The layer gradients summed here (when the caller gave none).</summary>
    public double[] GW { get; }
    public double[] GV { get; }
    /// <summary>ℓ of the last evaluation (mean over samples of the squared error).</summary>
    public double Loss { get; private set; }
    /// <summary>The per-pair quantities of the last evaluation, index k − 1 for the pair (k, k + 1).</summary>
    public PairQuantities Pairs { get; }
    /// <summary>The states h_k and adjoints p_k (flat, k·n·d) of the last evaluation (the pass' own or the engine's kept ones).</summary>
    public double[]? LastStates { get; private set; }
    public double[]? LastAdjoints { get; private set; }
    /// <summary>The engine's kept states of the last evaluation (<see cref="EvaluateKept"/>), else null.</summary>
    public ResNet<double>.KeptStates? LastKept { get; private set; }
    /// <summary>When set, the pair pass also keeps, per pair k (index k − 1, n×m at (k − 1)·n·m), the products it computes
    /// anyway: u = h_k W_kᵀ in <see cref="PairU0"/>, p_{k+1}V_k (before σ' multiplies it) in <see cref="PairQ0"/> and σ'(u) in
    /// <see cref="PairD0"/>; <see cref="PairProductsValid"/> says whether the last evaluation filled them.</summary>
    public bool KeepPairProducts { get; set; }
    public double[]? PairU0 { get; private set; }
    public double[]? PairQ0 { get; private set; }
    public double[]? PairD0 { get; private set; }
    /// <summary>σ(u) of each pair, kept beside <see cref="PairD0"/> (the same pass computes both).</summary>
    public double[]? PairS0 { get; private set; }
    public bool PairProductsValid { get; private set; }
    // state or adjoint k (n×d) of a flat (L + 1)·n·d array
    private Span<double> Slice(double[] flat, int k) => flat.AsSpan(k * _n * _d, _n * _d);

    /// <summary>
    /// Whether <see cref="Evaluate"/> keeps u_k, σ(u_k) and σ'(u_k) of every layer from its forward pass for its backward
    /// pass ((L + 1)·n·m doubles each): when the three take at most <see cref="EngineOptions.StorageBudgetBytes"/>, the
    /// budget above which the engine stops storing every layer's activations. Above it (L = 16 384, n = 100, m = 32: 1.26 GB
    /// a pass, which a verify held twice), the backward pass forms them again from h_{k−1} and W_k with the forward pass'
    /// kernels on the same numbers, so the same bits, at one more product and activation a layer. Set false to form them
    /// again at any size.
    /// </summary>
    public bool StoresLayers { get; set; }

    /// <summary>
    /// Evaluates one iterate at weights W (L·m·d, W_k m×d) and V (L·d·m, V_k d×m). <paramref name="gw"/>,
    /// <paramref name="gv"/>: the depth-scaled gradient G = L·∂ℓ/∂Z of these weights when already computed (else empty:
    /// summed here into <see cref="GW"/>, <see cref="GV"/>). <paramref name="withForcing"/> adds the spectral norms only
    /// L5.forcing needs (‖H_k − H_{k−1}‖₂, ‖σ(W_k H_k)‖₂).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Evaluate(ReadOnlySpan<double> w, ReadOnlySpan<double> v, ReadOnlySpan<double> gw, ReadOnlySpan<double> gv, bool withForcing)
    {
        int L = _L, m = _m, d = _d, n = _n, md = m * d, nd = n * d, nm = n * m;
        CheckWeights(w, v);
        bool given = !gw.IsEmpty;
        if (given && (gw.Length != L * md || gv.Length != L * md)) throw new ArgumentException("the given gradient does not match the weights");
        var level = Simd.Level;
        double invL = 1.0 / L;
        bool stores = StoresLayers;
        if (_hF is null)
        {
            _hF = AlignedArrays.Create<double>((L + 1) * nd); _pF = AlignedArrays.Create<double>((L + 1) * nd);
            _h0.CopyTo(_hF, 0);
        }
        int layerArrays = stores ? L + 1 : 1;
        if (_u is null || _u.Length != layerArrays) { _u = Alloc(layerArrays, nm); _sd = Alloc(layerArrays, nm); _s = Alloc(layerArrays, nm); }
        double[] hF = _hF, pF = _pF!;
        double[][] us = _u, ss = _s!, sds = _sd!;
        // layer k's u_k, σ(u_k), σ'(u_k): its own arrays when kept, else the one set the backward pass fills again
        int at(int k) => stores ? k : 0;
        // forward: u_k = h_{k−1} W_kᵀ, h_k = h_{k−1} + (1/L) σ(u_k) V_kᵀ; per layer the range of u_k and max|σ'(u_k)|
        for (int k = 1; k <= L; k++)
        {
            int o = (k - 1) * md, a = at(k);
            FastKernels.Transpose<double>(w.Slice(o, md), _wt, m, d);
            FastKernels.Transpose<double>(v.Slice(o, md), _vt, d, m);
            var hPrev = Slice(hF, k - 1); var hk = Slice(hF, k);
            FastKernels.Gemm<double>(level, hPrev, d, 1, _wt, us[a], n, d, m, 1.0, accumulate: false);
            // σ, σ' and the range of u_k in one pass over u_k (the bits of Evaluate and MinMax called one after the other)
            _uLo[k] = double.PositiveInfinity; _uHi[k] = double.NegativeInfinity;
            VectorActivations.EvaluateWithRange<double>(level, _act, us[a], ss[a], sds[a], ref _uLo[k], ref _uHi[k]);
            _d1[k] = MaxAbs(sds[a]);
            FastKernels.Gemm<double>(level, ss[a], m, 1, _vt, hk, n, m, d, invL, accumulate: true, source: hPrev);   // hPrev + (1/L)σVᵀ, no copy
        }
        // loss and p_L = (2/n)·Bᵀ(B h_L − y)
        var hL = Slice(hF, L); var pL = Slice(pF, L);
        double loss = 0;
        if (_b is null)
        {
            for (int e = 0; e < nd; e++) { double r = hL[e] - _y[e]; loss += r * r; pL[e] = 2.0 / n * r; }
        }
        else
        {
            Kernels.GemmNT<double>(hL, _b, _res, n, _dOut, d, 1.0, accumulate: false);
            for (int e = 0; e < _res.Length; e++) { _res[e] -= _y[e]; loss += _res[e] * _res[e]; }
            pL.Clear();
            Kernels.GemmNNAcc<double>(_res, _b, pL, n, _dOut, d, 2.0 / n);
        }
        Loss = loss / n;
        // backward: g_k = p_k V_k (n×m), q_k = σ'(u_k) ⊙ g_k, p_{k−1} = p_k + (1/L) q_k W_k
        for (int k = L; k >= 1; k--)
        {
            int o = (k - 1) * md, a = at(k);
            var pk = Slice(pF, k); var pPrev = Slice(pF, k - 1);
            if (!stores)
            {
                // u_k, σ(u_k), σ'(u_k) formed again: the forward pass' calls on the same h_{k−1} and W_k, so the same bits
                // (the range accumulators are the forward pass' business: discarded here)
                FastKernels.Transpose<double>(w.Slice(o, md), _wt, m, d);
                FastKernels.Gemm<double>(level, Slice(hF, k - 1), d, 1, _wt, us[a], n, d, m, 1.0, accumulate: false);
                double lo = double.PositiveInfinity, hi = double.NegativeInfinity;
                VectorActivations.EvaluateWithRange<double>(level, _act, us[a], ss[a], sds[a], ref lo, ref hi);
            }
            FastKernels.Gemm<double>(level, pk, d, 1, v.Slice(o, md), _q, n, d, m, 1.0, accumulate: false);
            _gInf[k] = MaxAbs(_q);
            FastKernels.MultiplyInPlace<double>(level, _q, sds[a]);
            if (!given)
            {
                FastKernels.Gemm<double>(level, pk, 1, d, ss[a], GV.AsSpan(o, md), d, n, m, 1.0, accumulate: false);
                FastKernels.Gemm<double>(level, _q, 1, m, Slice(hF, k - 1), GW.AsSpan(o, md), m, n, d, 1.0, accumulate: false);
            }
            pk.CopyTo(pPrev);
            FastKernels.Gemm<double>(level, _q, m, 1, w.Slice(o, md), pPrev, n, m, d, invL, accumulate: true);
        }
        LastKept = null;
        PairPass(level, w, v, given ? gw : GW, given ? gv : GV, hF, pF, withForcing);
    }

    /// <summary>
    /// Evaluates one iterate from the forward and backward pass the engine has just made at these weights (the evidence
    /// replay's, <see cref="ResNet{T}.Keep"/>): its states, adjoints and per-layer ranges are taken as they are, with its
    /// gradient <paramref name="gw"/>, <paramref name="gv"/>; only the pair pass runs here. The engine's pass performs
    /// the same operations on each sample as <see cref="Evaluate"/>'s own (the same kernels, each sample's row on its own),
    /// so every state, adjoint and pair quantity is the same number; <see cref="Loss"/> is the engine's.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void EvaluateKept(ReadOnlySpan<double> w, ReadOnlySpan<double> v, ReadOnlySpan<double> gw, ReadOnlySpan<double> gv,
        ResNet<double>.KeptStates kept, bool withForcing)
    {
        int L = _L, md = _m * _d;
        CheckWeights(w, v);
        if (gw.Length != L * md || gv.Length != L * md) throw new ArgumentException("the given gradient does not match the weights");
        if (kept.H.Length != (_L + 1) * _n * _d) throw new ArgumentException("kept states of another shape");
        kept.PreMin.CopyTo(_uLo, 0); kept.PreMax.CopyTo(_uHi, 0);
        kept.DerivativeMax.CopyTo(_d1, 0); kept.AdjointProductMax.CopyTo(_gInf, 0);
        Loss = kept.Loss;
        LastKept = kept;
        PairPass(Simd.Level, w, v, gw, gv, kept.H, kept.P, withForcing);
    }

    private void CheckWeights(ReadOnlySpan<double> w, ReadOnlySpan<double> v)
    {
        int size = _L * _m * _d;
        if (w.Length != size || v.Length != size) throw new ArgumentException($"weights have {w.Length} and {v.Length} entries, expected L·m·d = {size}");
    }

    /// <summary>
    /// When set, every evaluation also takes one step of this centre (<see cref="CentrePass.Step"/> with η =
    /// <see cref="FusedEta"/>) inside the pair loop: pair k's centre step runs right after pair k's split quantities, on the
    /// products u(0) = h_k W_kᵀ, q(0) = p_{k+1}V_k and σ'(u(0)) still in the worker's buffers (q(0) copied aside before
    /// σ'(u(0)) multiplies it in place; no array of every pair's products is filled and read again). The same operations on
    /// the same numbers as the separate step, so the same bits.
    /// </summary>
    public CentrePass? FusedCentre { get; set; }
    public double FusedEta { get; set; }

    /// <summary>
    /// The pair pass: Ĝ = G(Z_k; h_k, p_{k+1}), E_k = Ĝ − G_k, and the pair quantities, from the states h_k in
    /// <paramref name="hF"/> and adjoints p_k in <paramref name="pF"/> (flat, k·n·d) and the per-layer ranges. Its two loops
    /// (the layers' spectral values, then the pairs) run in parts (<see cref="ObserverTeam.For"/>): every layer or pair
    /// writes only its own results, so the numbers do not depend on which thread ran it.
    /// </summary>
    private unsafe void PairPass(SimdLevel level, ReadOnlySpan<double> w, ReadOnlySpan<double> v, ReadOnlySpan<double> gW, ReadOnlySpan<double> gV,
        double[] hF, double[] pF, bool withForcing)
    {
        int L = _L, m = _m, d = _d, n = _n, md = m * d;
        LastStates = hF; LastAdjoints = pF;
        int nm = n * m;
        PairProductsValid = KeepPairProducts;
        if (KeepPairProducts && PairU0 is null)
        {
            PairU0 = AlignedArrays.Create<double>(Math.Max(0, L - 1) * nm); PairQ0 = AlignedArrays.Create<double>(Math.Max(0, L - 1) * nm); PairD0 = AlignedArrays.Create<double>(Math.Max(0, L - 1) * nm);
            PairS0 = AlignedArrays.Create<double>(Math.Max(0, L - 1) * nm);
        }
        var centre = FusedCentre;
        centre?.BeginStep(this);
        fixed (double* pw = w, pv = v, pgw = gW, pgv = gV)
        {
            nint aw = (nint)pw, av = (nint)pv, agw = (nint)pgw, agv = (nint)pgv;
            int lw = w.Length, lv = v.Length, lgw = gW.Length, lgv = gV.Length;
            // the spectral upper values the pairs read: ‖H_k‖₂ for k = 1..L−1, ‖P_k‖₂ for k = 1..L (and the centre's layer norms)
            ObserverTeam.For(L, (from, until, t) =>
            {
                var sc = _scr[t];
                for (int k = from + 1; k <= until; k++)
                {
                    if (k < L) _hs[k] = SpectralUpper(level, sc, Slice(hF, k), n, d);
                    _ps[k] = SpectralUpper(level, sc, Slice(pF, k), n, d);
                    _pf[k] = Math.Sqrt(FastKernels.SumSquares<double>(level, Slice(pF, k)));
                    centre?.LayerNorms(k - 1, new ReadOnlySpan<double>((double*)aw, lw), new ReadOnlySpan<double>((double*)av, lv));
                }
            });
            ObserverTeam.For(L - 1, (from, until, t) =>
            {
                var ws = new ReadOnlySpan<double>((double*)aw, lw); var vs = new ReadOnlySpan<double>((double*)av, lv);
                var gws = new ReadOnlySpan<double>((double*)agw, lgw); var gvs = new ReadOnlySpan<double>((double*)agv, lgv);
                for (int k = from + 1; k <= until; k++) PairAt(level, _scr[t], t, k, ws, vs, gws, gvs, hF, pF, withForcing, centre);
            });
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void PairAt(SimdLevel level, Scratch sc, int worker, int k, ReadOnlySpan<double> w, ReadOnlySpan<double> v, ReadOnlySpan<double> gW,
        ReadOnlySpan<double> gV, double[] hF, double[] pF, bool withForcing, CentrePass? centre)
    {
        int m = _m, d = _d, n = _n, md = m * d, nd = n * d, nm = n * m;
        var pq = Pairs;
        int o = (k - 1) * md, o1 = k * md, i = k - 1;
        var hk = Slice(hF, k); var hPrev = Slice(hF, k - 1); var p1 = Slice(pF, k + 1);
        FastKernels.Transpose<double>(w.Slice(o, md), sc.Wt, m, d);
        var uh = PairProductsValid ? PairU0.AsSpan(i * nm, nm) : sc.Uh.AsSpan();
        FastKernels.Gemm<double>(level, hk, d, 1, sc.Wt, uh, n, d, m, 1.0, accumulate: false);
        double lo = double.PositiveInfinity, hi = double.NegativeInfinity;
        var dsh = PairProductsValid ? PairD0.AsSpan(i * nm, nm) : sc.Dsh.AsSpan();
        // σ, σ', the range of û and the range of σ'(û) in one pass over û (the bits of EvaluateWithRange and MinMax of the
        // stored σ', as MaxAbs takes it)
        double dLo = double.PositiveInfinity, dHi = double.NegativeInfinity;
        var sh = PairProductsValid ? PairS0.AsSpan(i * nm, nm) : sc.Sh.AsSpan();
        VectorActivations.EvaluateWithRanges<double>(level, _act, uh, sh, dsh, ref lo, ref hi, ref dLo, ref dHi);
        double loF = lo, hiF = hi;
        // the hulls with the ranges of u_{k+1} and u_k measured once per layer (as MinMax merges a range: ignoring NaN)
        if (_uLo[k + 1] < lo) lo = _uLo[k + 1];
        if (_uHi[k + 1] > hi) hi = _uHi[k + 1];
        if (_uLo[k] < loF) loF = _uLo[k];
        if (_uHi[k] > hiF) hiF = _uHi[k];
        // ĝ = p_{k+1} V_k (n×m), straight into the array the centre reads it from when it is kept or the centre steps here,
        // then σ'(û) ⊙ ĝ: in place, or formed out of place from the kept ĝ (the same products, without a copy of ĝ)
        var gh = sc.Gh.AsSpan();
        var g0 = PairProductsValid ? PairQ0.AsSpan(i * nm, nm) : centre is not null ? sc.Q0.AsSpan() : gh;
        FastKernels.Gemm<double>(level, p1, d, 1, v.Slice(o, md), g0, n, d, m, 1.0, accumulate: false);
        // σ'(û) ⊙ ĝ (in place or out of place) and the range of ĝ in one pass: the products' and MinMax's bits
        double gLo = double.PositiveInfinity, gHi = double.NegativeInfinity;
        FastKernels.MultiplyIntoWithRange<double>(level, g0, dsh, gh, ref gLo, ref gHi);
        pq.GHatInf[i] = Math.Max(Math.Abs(gLo), Math.Abs(gHi));
        pq.D1Hat[i] = Math.Max(Math.Abs(dLo), Math.Abs(dHi));
        pq.D1K[i] = _d1[k];
        var ew = EW.AsSpan(o, md); var ev = EV.AsSpan(o, md);
        FastKernels.Gemm<double>(level, gh, 1, m, hk, ew, m, n, d, 1.0, accumulate: false);
        FastKernels.Gemm<double>(level, p1, 1, d, sh, ev, d, n, m, 1.0, accumulate: false);
        var (sEW, sEV) = SubtractSumSquares2(level, ew, gW.Slice(o, md), ev, gV.Slice(o, md));
        pq.EW[i] = Math.Sqrt(sEW);
        pq.EV[i] = Math.Sqrt(sEV);
        pq.Lo[i] = lo; pq.Hi[i] = hi; pq.LoF[i] = loF; pq.HiF[i] = hiF;
        pq.G1Inf[i] = _gInf[k + 1];
        pq.HS[i] = _hs[k]; pq.PS1[i] = _ps[k + 1]; pq.PS[i] = _ps[k];
        // the differences' sums two at a time (each the bits of its own SumSquaresDiff); ‖P_k‖_F once per layer (above)
        var (sX, sY) = FastKernels.SumSquaresDiffPair(level, w.Slice(o1, md), w.Slice(o, md), v.Slice(o1, md), v.Slice(o, md));
        var (sGW, sGV) = FastKernels.SumSquaresDiffPair(level, gW.Slice(o1, md), gW.Slice(o, md), gV.Slice(o1, md), gV.Slice(o, md));
        pq.X[i] = Math.Sqrt(sX);
        pq.Y[i] = Math.Sqrt(sY);
        pq.DGW[i] = Math.Sqrt(sGW);
        pq.DGV[i] = Math.Sqrt(sGV);
        pq.PF1[i] = _pf[k + 1];
        pq.PF[i] = _pf[k];
        pq.DHF[i] = Math.Sqrt(FastKernels.SumSquaresDiff<double>(level, hk, hPrev));
        if (withForcing)
        {
            for (int e = 0; e < nd; e++) sc.Dh[e] = hk[e] - hPrev[e];
            pq.DHS[i] = SpectralUpper(level, sc, sc.Dh, n, d);
            pq.SHatS[i] = SpectralUpper(level, sc, sh, n, m);
        }
        else { pq.DHS[i] = double.NaN; pq.SHatS[i] = double.NaN; }
        if (centre is not null)
        {
            ReadOnlySpan<double> q0 = PairProductsValid ? PairQ0.AsSpan(i * nm, nm) : sc.Q0;
            centre.StepPairFused(k, worker, FusedEta, this, w, v, level, uh, q0, dsh, sh);
        }
    }

    private static double MaxAbs(ReadOnlySpan<double> x)
    {
        double lo = double.PositiveInfinity, hi = double.NegativeInfinity;
        FastKernels.MinMax<double>(Simd.Level, x, ref lo, ref hi);
        return Math.Max(Math.Abs(lo), Math.Abs(hi));
    }

    /// <summary>
    /// x₀ ← x₀ − y₀, x₁ ← x₁ − y₁ entry by entry (one rounded subtraction each, in vector lanes where they fill) and (Σx₀², Σx₁²) of
    /// the differences in the same pass, with the accumulators, lane order and tail of <see cref="CentrePass.SumSquares2"/>:
    /// the bits of the two subtractions followed by SumSquares2, one pass over the arrays instead of three.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static (double, double) SubtractSumSquares2(SimdLevel level, Span<double> x0, ReadOnlySpan<double> y0, Span<double> x1, ReadOnlySpan<double> y1)
    {
        int n = x0.Length, i = 0;
        if (x1.Length != n || y0.Length < n || y1.Length < n) throw new ArgumentException("operands of different lengths");
        ref double r0 = ref MemoryMarshal.GetReference(x0), r1 = ref MemoryMarshal.GetReference(x1);
        ref double q0 = ref MemoryMarshal.GetReference(y0), q1 = ref MemoryMarshal.GetReference(y1);
        double s0 = 0, s1 = 0;
        if (level == SimdLevel.Vector512 && n >= 16)
        {
            Vector512<double> a0 = default, b0 = default, a1 = default, b1 = default;
            for (; i + 16 <= n; i += 16)
            {
                nuint at = (nuint)i, at8 = (nuint)(i + 8);
                var v = Vector512.LoadUnsafe(ref r0, at) - Vector512.LoadUnsafe(ref q0, at);
                var w = Vector512.LoadUnsafe(ref r0, at8) - Vector512.LoadUnsafe(ref q0, at8);
                v.StoreUnsafe(ref r0, at); w.StoreUnsafe(ref r0, at8);
                a0 = Vector512.FusedMultiplyAdd(v, v, a0); b0 = Vector512.FusedMultiplyAdd(w, w, b0);
                v = Vector512.LoadUnsafe(ref r1, at) - Vector512.LoadUnsafe(ref q1, at);
                w = Vector512.LoadUnsafe(ref r1, at8) - Vector512.LoadUnsafe(ref q1, at8);
                v.StoreUnsafe(ref r1, at); w.StoreUnsafe(ref r1, at8);
                a1 = Vector512.FusedMultiplyAdd(v, v, a1); b1 = Vector512.FusedMultiplyAdd(w, w, b1);
            }
            s0 = Vector512.Sum(a0 + b0); s1 = Vector512.Sum(a1 + b1);
        }
        else if (level == SimdLevel.Vector256 && n >= 8)
        {
            Vector256<double> a0 = default, b0 = default, a1 = default, b1 = default;
            for (; i + 8 <= n; i += 8)
            {
                nuint at = (nuint)i, at4 = (nuint)(i + 4);
                var v = Vector256.LoadUnsafe(ref r0, at) - Vector256.LoadUnsafe(ref q0, at);
                var w = Vector256.LoadUnsafe(ref r0, at4) - Vector256.LoadUnsafe(ref q0, at4);
                v.StoreUnsafe(ref r0, at); w.StoreUnsafe(ref r0, at4);
                a0 = Vector256.FusedMultiplyAdd(v, v, a0); b0 = Vector256.FusedMultiplyAdd(w, w, b0);
                v = Vector256.LoadUnsafe(ref r1, at) - Vector256.LoadUnsafe(ref q1, at);
                w = Vector256.LoadUnsafe(ref r1, at4) - Vector256.LoadUnsafe(ref q1, at4);
                v.StoreUnsafe(ref r1, at); w.StoreUnsafe(ref r1, at4);
                a1 = Vector256.FusedMultiplyAdd(v, v, a1); b1 = Vector256.FusedMultiplyAdd(w, w, b1);
            }
            s0 = Vector256.Sum(a0 + b0); s1 = Vector256.Sum(a1 + b1);
        }
        for (; i < n; i++)
        {
            double v0 = Unsafe.Add(ref r0, i) - Unsafe.Add(ref q0, i), v1 = Unsafe.Add(ref r1, i) - Unsafe.Add(ref q1, i);
            Unsafe.Add(ref r0, i) = v0; Unsafe.Add(ref r1, i) = v1;
            s0 += v0 * v0; s1 += v1 * v1;
        }
        return (s0, s1);
    }

    /// <summary>x ← x / t entry by entry (a correctly rounded division each, in vector lanes where they fill: the bits of
    /// the scalar loop, four to eight divisions an instruction instead of one).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void DivideInPlace(Span<double> x, double t)
    {
        int n = x.Length, e = 0;
        if (System.Numerics.Vector.IsHardwareAccelerated)
        {
            int lanes = System.Numerics.Vector<double>.Count;
            var vt = new System.Numerics.Vector<double>(t);
            for (; e + lanes <= n; e += lanes)
                (new System.Numerics.Vector<double>(x.Slice(e, lanes)) / vt).CopyTo(x.Slice(e, lanes));
        }
        for (; e < n; e++) x[e] /= t;
    }

    /// <summary>
    /// An upper value of ‖X‖₂ for an n×c row-major X: with G the Gram matrix of the smaller side (XᵀX or XXᵀ) and
    /// r = min(n, c), λ_max(G) ≤ (tr G^{64})^{1/64} ≤ r^{1/64} λ_max(G); computed on G/tr G with five squarings, each
    /// scaled by the power of two at or below its trace (exact), and the last square's trace as the sum of squares of the
    /// symmetric fifth (docs/theorems/LemmaChain.md, "L5.split"), raised by its rounding (<see cref="SpectralUpperRounding"/>).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public double SpectralUpper(ReadOnlySpan<double> x, int n, int c) => SpectralUpper(Simd.Level, _scr[0], x, n, c);

    /// <summary>tr Ĝ·Ĉ^{1/p} of <see cref="SpectralUpper(ReadOnlySpan{double}, int, int)"/> times <paramref name="factor"/> instead of its rounding, square
    /// root taken (factor 1: the value the rounding allowance raises).</summary>
    internal double SpectralUpperWith(ReadOnlySpan<double> x, int n, int c, double factor) => SpectralUpper(Simd.Level, _scr[0], x, n, c, factor);

    private static double SpectralUpper(SimdLevel level, Scratch sc, ReadOnlySpan<double> x, int n, int c) =>
        SpectralUpper(level, sc, x, n, c, SpectralUpperRounding(n, c));

    private static double SpectralUpper(SimdLevel level, Scratch sc, ReadOnlySpan<double> x, int n, int c, double factor)
    {
        int r = Math.Min(n, c);
        var g = sc.Gram.AsSpan(0, r * r);
        if (c <= n) FastKernels.Gemm<double>(level, x, 1, c, x, g, c, n, c, 1.0, accumulate: false);
        else
        {
            FastKernels.Transpose<double>(x.Slice(0, n * c), sc.Spare, n, c);
            FastKernels.Gemm<double>(level, x, c, 1, sc.Spare, g, n, c, n, 1.0, accumulate: false);
        }
        // the trace before the symmetrization: it keeps the diagonal, so the trace is the same number
        var gt = sc.GramT.AsSpan(0, r * r);
        double tr = Trace(g, r);
        if (!(tr > 0)) return tr == 0 ? 0.0 : double.NaN;
        if (double.IsPositiveInfinity(tr)) return double.PositiveInfinity;
        SymmetrizeDivide(level, g, gt, r, tr);
        // a_{q+1} = a_q²/s_q with s_q = 2^⌊log₂ tr(a_q²)⌋ (an exact scaling: tr a_{q+1} ∈ [1, 2)), so
        // tr a_0^{2^Q} = Π_q s_q^{2^{Q−1−q}} · tr a_{Q−1}² and λ_max(a_0) ≤ (that)^{1/2^Q}; the last square is not formed:
        // tr a² = Σ a_ij² for the symmetric a (symmetric bit for bit after SymmetrizeScale)
        double logC = 0, p = 1;
        var a = g; var b = sc.Sq.AsSpan(0, r * r);
        for (int q = 0; q < Squarings - 1; q++)
        {
            FastKernels.Gemm<double>(level, a, r, 1, a, b, r, r, r, 1.0, accumulate: false);
            double t = Trace(b, r);
            if (!(t > 0) || double.IsPositiveInfinity(t)) return double.NaN;
            int e = Math.ILogB(t);
            p *= 2; logC = 2 * logC + PortableMath.Log(Math.ScaleB(1.0, e));
            SymmetrizeScale(level, b, gt, r, Math.ScaleB(1.0, -e));
            var tmp = a; a = b; b = tmp;
        }
        double last = FastKernels.SumSquares<double>(level, a);
        p *= 2; logC = 2 * logC + PortableMath.Log(last);
        return Math.Sqrt(tr * PortableMath.Exp(logC / p) * factor);
    }

    /// <summary>Squarings of <see cref="SpectralUpper(ReadOnlySpan{double}, int, int)"/>: Q = 6, p = 2^Q = 64.</summary>
    private const int Squarings = 6;

    /// <summary>
    /// The factor F ≥ 1 by which <see cref="SpectralUpper(ReadOnlySpan{double}, int, int)"/> raises the computed tr Ĝ·Ĉ^{1/p} so that its square root is
    /// an upper value of ‖X‖₂ for an n×c X despite the rounding of every step (docs/theorems/LemmaChain.md, "Rounding of
    /// the spectral upper value"): with r = min(n, c), k = max(n, c) (the Gram matrix's side and inner dimension), u = 2⁻⁵³,
    /// γ_j = ju/(1 − ju),
    ///   F = (1 − γ_{r²})^{−1/p} / [(1 − rγ_{r+2})(1 − r(γ_k + 3u))(1 − (Q + 2)u·ln(4r) − 6u)]:
    /// the Gram product within γ_k·tr G ≤ rγ_k·λ_max(G) in norm, its symmetrization (<see cref="Symmetrize"/>) and its
    /// division by the trace 3u·r relative; each of the Q − 1 formed squarings and its symmetrization within rγ_{r+2} of
    /// λ_max (its scaling by a power of two is exact; the p-th root takes the 2^Q − 2 weighted steps to at most one); the
    /// last square's λ_max at most the Frobenius norm² of the symmetric matrix it squares, whose computed sum of r² squares is
    /// within γ_{r²}; the logarithms (of numbers in [1/(4r), 4]), their weighted sum, the exponential and the last three
    /// products and root (Q + 2)u·ln(4r) + 6u (the logarithm and the exponential are <see cref="PortableMath"/>'s, within u
    /// relative and the same bits on every platform; the platform's need not be within u). +∞ when a denominator is not positive.
    /// </summary>
    internal static double SpectralUpperRounding(int n, int c)
    {
        const double u = 1.1102230246251565e-16;
        static double Gamma(double j) => j * u < 1 ? j * u / (1 - j * u) : double.PositiveInfinity;
        double r = Math.Min(n, c), k = Math.Max(n, c);
        double p = 1 << Squarings;
        double last = 1 - Gamma(r * r);
        double top = last > 0 ? PortableMath.Exp(-PortableMath.Log(last) / p) : double.PositiveInfinity;
        double d = (1 - r * Gamma(r + 2)) * (1 - r * (Gamma(k) + 3 * u)) * (1 - (Squarings + 2) * u * PortableMath.Log(4 * Math.Max(r, 1)) - 6 * u);
        return d > 0 ? top / d : double.PositiveInfinity;
    }

    /// <summary>
    /// g ← (g + gᵀ)/2 for an r×r row-major g: the rounding analysis of <see cref="SpectralUpperRounding"/> needs symmetric
    /// matrices (Weyl's inequality, λ_max ≤ trace up to the negative eigenvalues), and the kernel's product X Xᵀ through
    /// a transposed copy is not symmetric bit for bit. A symmetric g keeps its bits ((a + a)/2 = a); otherwise each
    /// entry takes one more rounding (u, in the derivation).
    /// </summary>
    internal static void Symmetrize(Span<double> g, int r)
    {
        for (int i = 1; i < r; i++)
            for (int j = 0; j < i; j++)
            {
                double a = g[i * r + j], b = g[j * r + i];
                if (a != b) { double m = (a + b) * 0.5; g[i * r + j] = m; g[j * r + i] = m; }
            }
    }

    /// <summary>
    /// <see cref="Symmetrize"/> followed by <see cref="DivideInPlace"/> by t, bit for bit, in one branch-free pass: each entry
    /// becomes (a == b ? a : (a + b)/2)/t with a its own value and b its mirror's (a transposed copy in
    /// <paramref name="gt"/>, r×r), so an entry whose mirror has the same value keeps it (signed zeros included), the others
    /// take the mean both would take, and the division is the same correctly rounded one: one pass over the matrix in vector
    /// lanes instead of Symmetrize's scalar loop over the mirrored pairs followed by a second pass. (Measured on figure 2's
    /// verify: the two were 4.9 % of the CPU samples, this pass is 1.4 %; docs/performance.md.) Entry by entry, so every
    /// <paramref name="level"/> gives the same bits.
    /// </summary>
    internal static void SymmetrizeDivide(SimdLevel level, Span<double> g, Span<double> gt, int r, double t) =>
        SymmetrizeThen<ByDivision>(level, g, gt, r, t);

    /// <summary>
    /// <see cref="Symmetrize"/> followed by the product of every entry with <paramref name="s"/>, a power of two (2⁻¹⁰²² to
    /// 2¹⁰²³), in the one pass of <see cref="SymmetrizeDivide"/>: the product is exact wherever it stays normal, so the
    /// scaling of the squarings adds no rounding (a vector product instead of a division, ≈ 16 cycles a 512-bit vector).
    /// </summary>
    internal static void SymmetrizeScale(SimdLevel level, Span<double> g, Span<double> gt, int r, double s)
    {
        if (!(s >= 2.2250738585072014E-308 && s <= 8.98846567431158E+307) || (BitConverter.DoubleToInt64Bits(s) & ((1L << 52) - 1)) != 0)
            throw new ArgumentException($"the scale {s:R} is not a normal power of two");
        SymmetrizeThen<ByProduct>(level, g, gt, r, s);
    }

    /// <summary>The entry operation after the symmetrization: x/t or x·t, at each width.</summary>
    private interface IEntryOp
    {
        static abstract Vector512<double> Apply(Vector512<double> x, Vector512<double> t);
        static abstract Vector256<double> Apply(Vector256<double> x, Vector256<double> t);
        static abstract double Apply(double x, double t);
    }

    private struct ByDivision : IEntryOp
    {
        public static Vector512<double> Apply(Vector512<double> x, Vector512<double> t) => x / t;
        public static Vector256<double> Apply(Vector256<double> x, Vector256<double> t) => x / t;
        public static double Apply(double x, double t) => x / t;
    }

    private struct ByProduct : IEntryOp
    {
        public static Vector512<double> Apply(Vector512<double> x, Vector512<double> t) => x * t;
        public static Vector256<double> Apply(Vector256<double> x, Vector256<double> t) => x * t;
        public static double Apply(double x, double t) => x * t;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void SymmetrizeThen<TOp>(SimdLevel level, Span<double> g, Span<double> gt, int r, double t) where TOp : struct, IEntryOp
    {
        int len = r * r, e = 0;
        if (g.Length < len || gt.Length < len) throw new ArgumentException("operand shorter than r×r");
        FastKernels.Transpose<double>(g.Slice(0, len), gt, r, r);
        ref double rg = ref MemoryMarshal.GetReference(g);
        ref double rt = ref MemoryMarshal.GetReference(gt);
        if (level == SimdLevel.Vector512 && len >= 8)
        {
            var vt = Vector512.Create(t); var half = Vector512.Create(0.5);
            for (; e + 8 <= len; e += 8)
            {
                var a = Vector512.LoadUnsafe(ref rg, (nuint)e); var b = Vector512.LoadUnsafe(ref rt, (nuint)e);
                TOp.Apply(Vector512.ConditionalSelect(Vector512.Equals(a, b), a, (a + b) * half), vt).StoreUnsafe(ref rg, (nuint)e);
            }
        }
        else if (level >= SimdLevel.Vector256 && len >= 4)
        {
            var vt = Vector256.Create(t); var half = Vector256.Create(0.5);
            for (; e + 4 <= len; e += 4)
            {
                var a = Vector256.LoadUnsafe(ref rg, (nuint)e); var b = Vector256.LoadUnsafe(ref rt, (nuint)e);
                TOp.Apply(Vector256.ConditionalSelect(Vector256.Equals(a, b), a, (a + b) * half), vt).StoreUnsafe(ref rg, (nuint)e);
            }
        }
        for (; e < len; e++)
        {
            double a = Unsafe.Add(ref rg, e), b = Unsafe.Add(ref rt, e);
            Unsafe.Add(ref rg, e) = TOp.Apply(a == b ? a : (a + b) * 0.5, t);
        }
    }

    private static double Trace(ReadOnlySpan<double> g, int r)
    {
        double t = 0;
        for (int i = 0; i < r; i++) t += g[i * r + i];
        return t;
    }
}

/// <summary>
/// The per-pair quantities of one <see cref="SplitPass"/> evaluation, index k − 1 for the pair of layers (k, k + 1):
/// ‖E^W_k‖_F, ‖E^V_k‖_F; the hull [Lo, Hi] of the entries of W_k h_k and W_{k+1} h_k (the bracket's σ', σ'' range) and
/// [LoF, HiF] of W_k h_k and W_k h_{k−1} (the forcing's); max|σ'(W_k h_k)|, max|σ'(W_k h_{k−1})|, max|V_kᵀp_{k+1}|,
/// max|V_{k+1}ᵀp_{k+1}|; upper values of ‖H_k‖₂, ‖P_{k+1}‖₂, ‖P_k‖₂; ‖ΔW_k‖_F, ‖ΔV_k‖_F; ‖G^W_{k+1} − G^W_k‖_F,
/// ‖G^V_{k+1} − G^V_k‖_F; ‖P_{k+1}‖_F, ‖P_k‖_F, ‖H_k − H_{k−1}‖_F; with forcing ‖H_k − H_{k−1}‖₂ and ‖σ(W_k H_k)‖₂ (upper).
/// </summary>
public sealed class PairQuantities
{
    public PairQuantities(int count)
    {
        double[] A() => new double[count];
        EW = A(); EV = A(); Lo = A(); Hi = A(); LoF = A(); HiF = A(); D1Hat = A(); D1K = A(); GHatInf = A(); G1Inf = A();
        HS = A(); PS1 = A(); PS = A(); X = A(); Y = A(); DGW = A(); DGV = A(); PF1 = A(); PF = A(); DHF = A(); DHS = A(); SHatS = A();
    }
    public int Count => EW.Length;
    public double[] EW, EV, Lo, Hi, LoF, HiF, D1Hat, D1K, GHatInf, G1Inf, HS, PS1, PS, X, Y, DGW, DGV, PF1, PF, DHF, DHS, SHatS;
}
