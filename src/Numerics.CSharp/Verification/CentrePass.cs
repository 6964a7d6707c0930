using ResOdeProofs.Numerics.Model;
using System.Numerics;
using System.Runtime.CompilerServices;

namespace ResOdeProofs.Numerics.Verification;

/// <summary>
/// The linearised centre of the split recursion (docs/theorems/DepthSmoothness.md, "A.split.centre.segments"): per pair k
/// a centre c_k = (c^W_k, c^V_k) propagated by c ← c − η(E_k + M^Q_k c), where E_k is the exact state forcing of the pair
/// (<see cref="SplitPass.EW"/>, <see cref="SplitPass.EV"/>) and M^Q_k c the three-point Gauss–Legendre rule for
/// M̄_k c = ∫₀¹ ∇²f_k(Z_k + tΔ_k) c dt, f_k(Z) = Σ_i p_{k+1}^{iᵀ} V σ(W h_k^i): with u(t) = (1 − t)W_k h + tW_{k+1} h and
/// q(t) = (1 − t)V_kᵀp + tV_{k+1}ᵀp (both linear in t),
///   (M̄c)^V = Σ_i p^i (∫σ'(u(t))dt ⊙ c^W h^i)ᵀ,  (M̄c)^W = Σ_i (∫σ''(u(t))q(t)dt ⊙ c^W h^i + ∫σ'(u(t))dt ⊙ c^{Vᵀ}p^i) h^{iᵀ}.
/// The nodes only change the pointwise weights; the four products c^W h, c^{Vᵀ}p and the two outer-product sums are
/// shared. Per pair it also returns the certified bound of ‖(M̄ − M^Q)c‖ (the rule's error, from sup|σ⁽⁷⁾|, sup|σ⁽⁸⁾| and
/// the entries δ = ΔW h, ΔVᵀp), and the coefficients of the bracket bound ‖M̄e‖ for any e. GELU only (the constants of
/// the rule's error are GELU's); float64. Reads the states and adjoints of the last <see cref="SplitPass"/> evaluation, and
/// the products u(0), q(0) it kept and u(1), q(1) the engine kept (<see cref="ResNet{T}.KeptStates.KeepProducts"/>) when
/// present (else computes them: the same kernels, the same bits). Per pair it also bounds the float64 rounding of the
/// step (<see cref="RoundMW"/>, <see cref="RoundGW"/>), derived from the unit roundoff and the operations done.
/// </summary>
public sealed class CentrePass
{
    /// <summary>sup over ℝ of |σ⁽⁷⁾| and |σ⁽⁸⁾| for GELU (σ⁽ᵏ⁾ = kφ⁽ᵏ⁻²⁾ + xφ⁽ᵏ⁻¹⁾, φ⁽ʲ⁾ = (−1)ʲHe_jφ), rounded up; the
    /// property suite recomputes both on a fine grid with a Lipschitz margin.</summary>
    public const double GeluSup7 = 16.46, GeluSup8 = 47.89;
    /// <summary>Error constant of the n = 3 Gauss–Legendre rule on [0, 1]: (n!)⁴/((2n + 1)((2n)!)³) = 1/2 016 000.</summary>
    public const double GaussLegendre3Error = 1.0 / 2016000.0;
    /// <summary>sup over ℝ of |σ'|, |σ''|, |σ'''| for GELU (σ'' = φ(x)(2 − x²), σ''' = φ(x)(x³ − 4x); maxima at x = √2, 0 and
    /// x² = (7 − √33)/2), rounded up; checked on a grid by the property suite.</summary>
    public const double GeluSup1 = 1.129, GeluSup2 = 0.798, GeluSup3 = 0.779;
    /// <summary>
    /// β: the engine's float64 GELU kernels are within β·u of the exact functions, |σ̂'(x) − σ'(x)| ≤ βu and
    /// |σ̂''(x) − σ''(x)| ≤ βu absolutely, |σ̂(x) − σ(x)| ≤ βu|x| (the vector and scalar σ, σ' of
    /// <see cref="VectorActivations"/> and the σ'' of <see cref="GeluSecond"/>): a chain of about ten roundings and the
    /// erf rational's own error (below 10 ulp, the tolerance of the erf tests) with a margin of two; checked against the
    /// high-precision reference on a dense grid on every SIMD path (tests/Numerics.Tests).
    /// </summary>
    public const double KernelError = 32.0;
    /// <summary>The absolute part of σ̂'s error where σ(x) is subnormal (|x| below 2⁻¹⁰⁰⁰): |σ̂(x) − σ(x)| ≤ βu|x| + 2⁻¹⁰²⁰.</summary>
    public static readonly double Underflow = Math.ScaleB(1.0, -1020);
    /// <summary>Unit roundoff of float64, 2⁻⁵³ (the centre runs in float64 only).</summary>
    public const double U = 1.1102230246251565e-16;
    /// <summary>γ_N = Nu/(1 − Nu): an inner product or sum of N terms computed in float64 in any order, with or without
    /// FMA, is within γ_N·Σ|terms| of the exact one.</summary>
    public static double Gamma(int n) => n * U / (1 - n * U);
    internal static readonly double Node0 = 0.5 - 0.5 * Math.Sqrt(0.6), Node1 = 0.5, Node2 = 0.5 + 0.5 * Math.Sqrt(0.6);
    internal const double Weight0 = 5.0 / 18.0, Weight1 = 8.0 / 18.0, Weight2 = 5.0 / 18.0;
    private static readonly double[] Nodes = { Node0, Node1, Node2 };
    private static readonly double[] Weights = { Weight0, Weight1, Weight2 };

    private readonly int _L, _m, _d, _n;
    private readonly ActivationKind _act;
    private readonly double[] _wf, _vf;

    public CentrePass(NetworkShape shape, ActivationKind activation, int samples)
    {
        shape.Validate();
        if (activation != ActivationKind.Gelu) throw new ArgumentException("the centre's remainder constants are derived for GELU only");
        _L = shape.Depth; _m = shape.Width; _d = shape.Dim; _n = samples; _act = activation;
        int nm = _n * _m, md = _m * _d, pairs = Math.Max(0, _L - 1);
        double[] A(int len) => new double[len];
        _wf = A(_L); _vf = A(_L);
        CW = A(pairs * md); CV = A(pairs * md);
        NormCW = A(pairs); NormCV = A(pairs); RW = A(pairs); RV = A(pairs); AWW = A(pairs); AWV = A(pairs);
        StepW = A(pairs); StepV = A(pairs); ForcingW = A(pairs); ForcingV = A(pairs); MW = A(pairs); MV = A(pairs);
        RoundMW = A(pairs); RoundMV = A(pairs); RoundGW = A(pairs); RoundGV = A(pairs);
    }

    /// <summary>The centres: c^W_k (m×d) and c^V_k (d×m) of pair k (1-based) at offset (k − 1)·m·d.</summary>
    public double[] CW { get; }
    public double[] CV { get; }
    /// <summary>Per pair (index k − 1): ‖c^W‖_F, ‖c^V‖_F (after <see cref="Start"/> or the last <see cref="Step"/>).</summary>
    public double[] NormCW { get; }
    public double[] NormCV { get; }
    /// <summary>Per pair, of the last step: bounds of ‖((M̄ − M^Q)c)^W‖_F, ‖((M̄ − M^Q)c)^V‖_F (the rule's error).</summary>
    public double[] RW { get; }
    public double[] RV { get; }
    /// <summary>Per pair, of the last step: ‖(M̄e)^W‖ ≤ AWW‖e^W‖ + AWV‖e^V‖, ‖(M̄e)^V‖ ≤ AWV‖e^W‖ for every e.</summary>
    public double[] AWW { get; }
    public double[] AWV { get; }
    /// <summary>Per pair, of the last step: ‖E + M^Q c‖_F of the W and V parts (the centre's step divided by η).</summary>
    public double[] StepW { get; }
    public double[] StepV { get; }
    /// <summary>Per pair, of the last step: ‖E^W‖_F, ‖E^V‖_F and ‖(M^Q c)^W‖_F, ‖(M^Q c)^V‖_F.</summary>
    public double[] ForcingW { get; }
    public double[] ForcingV { get; }
    public double[] MW { get; }
    public double[] MV { get; }
    /// <summary>Per pair, of the last step: bounds of ‖(M̂c − M^Q c)^W‖_F, ‖(M̂c − M^Q c)^V‖_F, the computed rule product
    /// against the exact one (exact σ', σ'', exact u(t), q(t), nodes and weights) at the same c.</summary>
    public double[] RoundMW { get; }
    public double[] RoundMV { get; }
    /// <summary>
    /// Per pair, of the last step: bounds of ‖ε^W‖_F, ‖ε^V‖_F, ε = Ĝ_{k+1} − Ĝ_k − (G(Z_{k+1}; h_k, p_{k+1}) − G(Z_k; h_k, p_{k+1}))
    /// − Ê_k with G the exact formula at the states the engine used: the rounding of the engine's evaluation of layer k + 1's
    /// gradient, of the split pass's evaluation of G(Z_k; h_k, p_{k+1}) and of the subtraction forming Ê_k.
    /// </summary>
    public double[] RoundGW { get; }
    public double[] RoundGV { get; }

    /// <summary>
    /// Bound of the float64 rounding of one evaluation of the layer-gradient formula at weights (W, V) with given states h
    /// and adjoints p (n×d): û = fl(hWᵀ), ĝ = fl(pV), q̂ = fl(σ̂'(û) ⊙ ĝ), Ĝ^W = fl(q̂ᵀh), Ĝ^V = fl(pᵀσ̂(û)), against the exact
    /// formula with exact σ, σ'. hf = ‖h‖_F, pf = ‖p‖_F, wf = ‖W‖_F, vf = ‖V‖_F, gMax = max|ĝ| (the computed one).
    /// </summary>
    public static (double W, double V) EvaluationRounding(int n, int d, int m, double hf, double pf, double wf, double vf, double gMax)
    {
        double u = U, b = KernelError, gd = Gamma(d), gn = Gamma(n);
        double gt = (1 + gd) * pf * vf;                      // ≥ ‖ĝ‖_F
        double qt = (1 + u) * (GeluSup1 + b * u) * gt;       // ≥ ‖q̂‖_F
        double dq = u * qt + b * u * gt + GeluSup2 * gd * gMax * hf * wf + GeluSup1 * gd * pf * vf;   // ≥ ‖q̂ − q‖_F
        double errW = hf * (gn * qt + dq);
        double ut = (1 + gd) * hf * wf;                      // ≥ ‖û‖_F ≥ ‖σ̂(û)‖_F/(1 + βu)
        double errV = pf * (gn * (1 + b * u) * ut + b * u * ut + GeluSup1 * gd * hf * wf + Math.Sqrt((double)n * m) * Underflow);
        return (errW, errV);
    }

    /// <summary>Starts every centre at the increments of weights W (L·m·d) and V (L·d·m).</summary>
    public void Start(ReadOnlySpan<double> w, ReadOnlySpan<double> v)
    {
        int md = _m * _d;
        for (int k0 = 0; k0 < _L - 1; k0++)
        {
            double sw = 0, sv = 0;
            for (int e = 0; e < md; e++)
            {
                double a = w[(k0 + 1) * md + e] - w[k0 * md + e], b = v[(k0 + 1) * md + e] - v[k0 * md + e];
                CW[k0 * md + e] = a; CV[k0 * md + e] = b; sw += a * a; sv += b * b;
            }
            NormCW[k0] = Math.Sqrt(sw); NormCV[k0] = Math.Sqrt(sv);
        }
    }

    /// <summary>Threads the pairs of <see cref="Step"/> are shared among (contiguous blocks of pairs; every pair's arithmetic
    /// is the same whichever thread does it, so the results do not depend on this number).</summary>
    public int Threads { get; init; } = 1;

    /// <summary>Uses the unfused reference loops of the rule (<see cref="RuleReference"/>) at every level (tests).</summary>
    internal bool ReferenceRule { get; init; }

    // scratch of one thread
    private sealed class Work
    {
        public readonly double[] U0, U1, Q0, Q1, Cw, Cv, Ut, S, Sd, S1, S2, Xw, Xv, T, Hw, Hv;
        public Work(int nm, int md)
        {
            double[] A(int len) => new double[len];
            U0 = A(nm); U1 = A(nm); Q0 = A(nm); Q1 = A(nm); Cw = A(nm); Cv = A(nm); Ut = A(nm); S = A(nm); Sd = A(nm);
            S1 = A(nm); S2 = A(nm); Xw = A(nm); Xv = A(nm); T = A(md); Hw = A(md); Hv = A(md);
        }
    }
    private Work[]? _work;

    /// <summary>The per-step constants of the rule's per-entry work: u, η_u, η_q and the entry bounds of |Ĉ_W − C_W|, |Ĉ_V − C_V|.</summary>
    internal readonly struct RuleConstants
    {
        public RuleConstants(double u, double etaU, double etaQ, double dcw, double dcv) { U = u; EtaU = etaU; EtaQ = etaQ; Dcw = dcw; Dcv = dcv; }
        public readonly double U, EtaU, EtaQ, Dcw, Dcv;
    }

    /// <summary>The sums (in the entries' order) and maxima the per-entry work accumulates.</summary>
    internal struct RuleSums
    {
        public double SumV, SumW, SCW, SCV, SXV, SXW, MCW, MCV, MQ, MQC;
    }

    /// <summary>
    /// One gradient-descent step of every centre with the quantities of the iterate <paramref name="pass"/> evaluated last
    /// at weights W, V (its states, adjoints, E and pair quantities): c ← c − η(E + M^Q c).
    /// </summary>
    public void Step(double eta, SplitPass pass, ReadOnlySpan<double> w, ReadOnlySpan<double> v)
    {
        int L = _L, md = _m * _d, nm = _n * _m;
        var hF = pass.LastStates ?? throw new InvalidOperationException("the split pass has not evaluated an iterate");
        var level = Simd.Level;
        // the products the split pass (u(0), q(0)) and the engine's evaluation (u(1), q(1): its W_{k+1}h_k before σ and
        // V_{k+1}ᵀp_{k+1} before σ') computed at this iterate, when they kept them; from the next iterate on they keep them
        var kept = pass.LastKept;
        bool own0 = !pass.PairProductsValid, own1 = kept is not { ProductsValid: true };
        pass.KeepPairProducts = true;
        if (kept is not null) kept.KeepProducts = true;
        for (int k = 0; k < L; k++)
        {
            _wf[k] = Math.Sqrt(FastKernels.SumSquares<double>(level, w.Slice(k * md, md)));
            _vf[k] = Math.Sqrt(FastKernels.SumSquares<double>(level, v.Slice(k * md, md)));
        }
        int pairs = L - 1, threads = Math.Max(1, Math.Min(Threads, pairs));
        if (_work is null || _work.Length < threads)
        {
            var work = new Work[threads];
            for (int t = 0; t < threads; t++) work[t] = _work is not null && t < _work.Length ? _work[t] : new Work(nm, md);
            _work = work;
        }
        if (threads == 1)
        {
            for (int k = 1; k <= pairs; k++) StepPair(k, _work[0], eta, pass, w, v, level, own0, own1);
            return;
        }
        // contiguous blocks of pairs, one per thread (the caller's among them); the weights stay pinned meanwhile
        var works = _work;
        unsafe
        {
            fixed (double* pw = w, pv = v)
            {
                nint aw = (nint)pw, av = (nint)pv;
                int lw = w.Length, lv = v.Length;
                Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, t =>
                {
                    var ws = new ReadOnlySpan<double>((double*)aw, lw); var vs = new ReadOnlySpan<double>((double*)av, lv);
                    int first = 1 + (int)((long)pairs * t / threads), last = (int)((long)pairs * (t + 1) / threads);
                    for (int k = first; k <= last; k++) StepPair(k, works[t], eta, pass, ws, vs, level, own0, own1);
                });
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void StepPair(int k, Work s, double eta, SplitPass pass, ReadOnlySpan<double> w, ReadOnlySpan<double> v, SimdLevel level, bool own0, bool own1)
    {
        int m = _m, d = _d, n = _n, md = m * d, nm = n * m, nd = n * d;
        var hF = pass.LastStates!;
        var pF = pass.LastAdjoints!;
        var q = pass.Pairs;
        var kept = pass.LastKept;
        double u = U, beta = KernelError, gd = Gamma(d), gn = Gamma(n), cu = gd + 6 * u;
        {
            int i = k - 1, o = (k - 1) * md, o1 = k * md;
            var h = hF.AsSpan(k * nd, nd); var p = pF.AsSpan((k + 1) * nd, nd);
            // u(0) = h W_kᵀ, u(1) = h W_{k+1}ᵀ, q(0) = p V_k, q(1) = p V_{k+1}, c^W h, c^{Vᵀ}p (n×m each); the first four
            // are the numbers the split pass and the engine computed with the same kernels (taken when kept)
            ReadOnlySpan<double> u0, u1, q0, q1;
            if (own0)
            {
                FastKernels.Transpose<double>(w.Slice(o, md), s.T, m, d);
                FastKernels.Gemm<double>(level, h, d, 1, s.T, s.U0, n, d, m, 1.0, accumulate: false);
                FastKernels.Gemm<double>(level, p, d, 1, v.Slice(o, md), s.Q0, n, d, m, 1.0, accumulate: false);
                u0 = s.U0; q0 = s.Q0;
            }
            else { u0 = pass.PairU0.AsSpan(i * nm, nm); q0 = pass.PairQ0.AsSpan(i * nm, nm); }
            if (own1)
            {
                FastKernels.Transpose<double>(w.Slice(o1, md), s.T, m, d);
                FastKernels.Gemm<double>(level, h, d, 1, s.T, s.U1, n, d, m, 1.0, accumulate: false);
                FastKernels.Gemm<double>(level, p, d, 1, v.Slice(o1, md), s.Q1, n, d, m, 1.0, accumulate: false);
                u1 = s.U1; q1 = s.Q1;
            }
            else { u1 = kept!.Pre.AsSpan((k + 1) * nm, nm); q1 = kept.AdjointProduct.AsSpan((k + 1) * nm, nm); }
            FastKernels.Transpose<double>(CW.AsSpan(o, md), s.T, m, d);
            FastKernels.Gemm<double>(level, h, d, 1, s.T, s.Cw, n, d, m, 1.0, accumulate: false);
            FastKernels.Gemm<double>(level, p, d, 1, CV.AsSpan(o, md), s.Cv, n, d, m, 1.0, accumulate: false);
            // the rounding of the computed products against the exact ones: ‖h‖_F, ‖p‖_F and the layers' norms give
            // ηu ≥ ‖û(t) − u(t)‖_F, ηq ≥ ‖q̂(t) − q(t)‖_F at every node (docs/theorems/DepthSmoothness.md)
            double hf = Math.Sqrt(FastKernels.SumSquares<double>(level, h)), pf = q.PF1[i];
            double cwn = NormCW[i], cvn = NormCV[i];
            double etaU = cu * hf * (_wf[k - 1] + _wf[k]), etaQ = cu * pf * (_vf[k - 1] + _vf[k]);
            double dcw = gd * hf * cwn, dcv = gd * pf * cvn;   // ≥ every entry of |ĉ_W − c^Wh|, |ĉ_V − c^{Vᵀ}p|
            // the rule (S1 = Σ_l w_l σ'(u(t_l)), S2 = Σ_l w_l σ''(u(t_l)) q(t_l)), the rule's error per entry (δ, dq, |q|,
            // |c^Wh|, |c^{Vᵀ}p| raised by their rounding) and the weights of the two outer-product sums: one fused pass
            // over the entries at a vector level, the same bits as the reference loops
            var kc = new RuleConstants(u, etaU, etaQ, dcw, dcv);
            var sums = new RuleSums();
            int done = 0;
            if (!ReferenceRule && level == SimdLevel.Vector512)
                done = CentreKernels512.Rule(u0, u1, q0, q1, s.Cw, s.Cv, s.Xv, s.Xw, kc, ref sums);
            else if (!ReferenceRule && level == SimdLevel.Vector256)
                done = CentreKernels256.Rule(u0, u1, q0, q1, s.Cw, s.Cv, s.Xv, s.Xw, kc, ref sums);
            if (done == 0) RuleReference(s, level, Vector.IsHardwareAccelerated, 0, u0, u1, q0, q1, kc, ref sums);
            else if (done < nm) RuleReference(s, SimdLevel.Scalar, false, done, u0, u1, q0, q1, kc, ref sums);
            // bounds of ‖X̂ − X‖_F for X_V = S₁ ⊙ C_W, X_W = S₂ ⊙ C_W + S₁ ⊙ C_V, then of the two outer-product sums
            double nCW = Math.Sqrt(sums.SCW), nCV = Math.Sqrt(sums.SCV), mQ = sums.MQ, mCW = sums.MCW, mCV = sums.MCV;
            double mQ1 = mQ * (1 + 6 * u), mQC1 = sums.MQC * (1 + 6 * u);
            double dXV = (beta + 8) * u * nCW + GeluSup2 * mCW * etaU + GeluSup1 * gd * hf * cwn;
            double dXW = (beta + 8) * u * mQ1 * nCW + GeluSup3 * mQC1 * etaU + GeluSup2 * mCW * etaQ
                + GeluSup2 * (mQ + etaQ) * gd * hf * cwn + (beta + 8) * u * nCV + GeluSup2 * mCV * etaU + GeluSup1 * gd * pf * cvn;
            RoundMV[i] = pf * (gn * Math.Sqrt(sums.SXV) + dXV);
            RoundMW[i] = hf * (gn * Math.Sqrt(sums.SXW) + dXW);
            // (M^Q c)^V = Pᵀ X_V (d×m), (M^Q c)^W = X_Wᵀ H (m×d)
            FastKernels.Gemm<double>(level, p, 1, d, s.Xv, s.Hv, d, n, m, 1.0, accumulate: false);
            FastKernels.Gemm<double>(level, s.Xw, 1, m, h, s.Hw, m, n, d, 1.0, accumulate: false);
            double hs = q.HS[i], ps1 = q.PS1[i];
            RV[i] = ps1 * Math.Sqrt(sums.SumV);
            RW[i] = hs * Math.Sqrt(sums.SumW);
            // ‖M̄e‖: σ', σ'' of u(t) lie over the hull [Lo, Hi] of u(0), u(1); |q(t)| ≤ max(|q(0)|, |q(1)|)
            double s1 = Activations.SupAbsDerivative(_act, q.Lo[i], q.Hi[i]);
            double s2 = Activations.SupAbsSecondDerivative(_act, q.Lo[i], q.Hi[i]);
            AWW[i] = s2 * Math.Max(q.GHatInf[i], q.G1Inf[i]) * hs * hs;
            AWV[i] = s1 * ps1 * hs;
            ForcingW[i] = Math.Sqrt(FastKernels.SumSquares<double>(level, pass.EW.AsSpan(o, md)));
            ForcingV[i] = Math.Sqrt(FastKernels.SumSquares<double>(level, pass.EV.AsSpan(o, md)));
            // ε: the engine's Ĝ_{k+1} (weights k + 1, ĝ = p_{k+1}V_{k+1}), the split pass' G(Z_k; h_k, p_{k+1}) (ĝ = p_{k+1}V_k),
            // the subtraction forming Ê
            var e1r = EvaluationRounding(n, d, m, hf, pf, _wf[k], _vf[k], q.G1Inf[i]);
            var e0r = EvaluationRounding(n, d, m, hf, pf, _wf[k - 1], _vf[k - 1], q.GHatInf[i]);
            RoundGW[i] = e1r.W + e0r.W + u * ForcingW[i];
            RoundGV[i] = e1r.V + e0r.V + u * ForcingV[i];
            MW[i] = Math.Sqrt(FastKernels.SumSquares<double>(level, s.Hw));
            MV[i] = Math.Sqrt(FastKernels.SumSquares<double>(level, s.Hv));
            StepW[i] = Advance(eta, CW.AsSpan(o, md), pass.EW.AsSpan(o, md), s.Hw, out NormCW[i]);
            StepV[i] = Advance(eta, CV.AsSpan(o, md), pass.EV.AsSpan(o, md), s.Hv, out NormCV[i]);
        }
    }

    /// <summary>
    /// The reference loops of the rule's per-entry work over entries [from, nm): u(t) for each node, σ, σ' of it by
    /// <see cref="VectorActivations.Evaluate{T}"/> at <paramref name="level"/>, σ'' on Vector&lt;double&gt; where
    /// <paramref name="vectorSecond"/> (else the scalar σ''), the weighted sums S₁, S₂, then the rule's error per entry,
    /// X_V, X_W, and the sums and maxima, entry by entry. The fused kernels (CentreKernels512, CentreKernels256) do the
    /// same operations in the same order.
    /// </summary>
    private void RuleReference(Work s, SimdLevel level, bool vectorSecond, int from, ReadOnlySpan<double> u0, ReadOnlySpan<double> u1,
        ReadOnlySpan<double> q0, ReadOnlySpan<double> q1, in RuleConstants kc, ref RuleSums r)
    {
        int nm = _n * _m;
        Array.Clear(s.S1); Array.Clear(s.S2);
        for (int l = 0; l < Nodes.Length; l++)
        {
            double t = Nodes[l], wl = Weights[l];
            for (int e = from; e < nm; e++) s.Ut[e] = u0[e] + t * (u1[e] - u0[e]);
            VectorActivations.Evaluate<double>(level, _act, s.Ut.AsSpan(from), s.S.AsSpan(from), s.Sd.AsSpan(from));
            NodeSums(s, vectorSecond, from, t, wl, nm, q0, q1);
        }
        double u = kc.U, etaU = kc.EtaU, etaQ = kc.EtaQ, dcw = kc.Dcw, dcv = kc.Dcv;
        for (int e = from; e < nm; e++)
        {
            double dl = Math.Abs(u1[e] - u0[e]) * (1 + u) + etaU, dq = Math.Abs(q1[e] - q0[e]) * (1 + u) + 2 * etaQ;
            double qh = Math.Max(Math.Abs(q0[e]), Math.Abs(q1[e]));
            double qs = qh + etaQ;
            double d5 = dl * dl * dl * dl * dl, d6 = d5 * dl;
            double e1 = GaussLegendre3Error * GeluSup7 * d6;
            double e2 = GaussLegendre3Error * (GeluSup8 * d6 * qs + 6.0 * GeluSup7 * d5 * dq);
            double cw = s.Cw[e], cv = s.Cv[e], acw = Math.Abs(cw), acv = Math.Abs(cv);
            double rv = e1 * (acw + dcw), rw = e2 * (acw + dcw) + e1 * (acv + dcv);
            r.SumV += rv * rv; r.SumW += rw * rw;
            double xv = s.S1[e] * cw, xw = s.S2[e] * cw + s.S1[e] * cv;
            s.Xv[e] = xv; s.Xw[e] = xw;
            r.SCW += cw * cw; r.SCV += cv * cv; r.SXV += xv * xv; r.SXW += xw * xw;
            if (acw > r.MCW) r.MCW = acw;
            if (acv > r.MCV) r.MCV = acv;
            if (qh > r.MQ) r.MQ = qh;
            if (qh * acw > r.MQC) r.MQC = qh * acw;
        }
    }

    private static readonly double InvSqrt2Pi = 1.0 / Math.Sqrt(2.0 * Math.PI);
    internal static double InvSqrt2PiValue => InvSqrt2Pi;

    /// <summary>GELU's σ''(x) = φ(x)(2 − x²) lane by lane as the rule computes it (within <see cref="KernelError"/>·u).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector<double> GeluSecond(Vector<double> x)
    {
        var x2 = x * x;
        return new Vector<double>(InvSqrt2Pi) * Vector.Exp(new Vector<double>(-0.5) * x2) * (new Vector<double>(2.0) - x2);
    }

    // S1 += w σ'(u_t), S2 += w σ''(u_t) q(t) with GELU's σ''(x) = φ(x)(2 − x²) over entries [from, nm), on Vector<double>
    // (where vectorSecond) then the tail
    private void NodeSums(Work s, bool vectorSecond, int from, double t, double wl, int nm, ReadOnlySpan<double> qa, ReadOnlySpan<double> qb)
    {
        int e = from;
        var s1a = s.S1; var s2a = s.S2; var sd = s.Sd; var ut = s.Ut;
        if (vectorSecond && Vector.IsHardwareAccelerated)
        {
            int lanes = Vector<double>.Count;
            var vw = new Vector<double>(wl); var vt = new Vector<double>(t);
            for (; e + lanes <= nm; e += lanes)
            {
                var x = new Vector<double>(ut, e);
                var q0 = new Vector<double>(qa.Slice(e)); var q1 = new Vector<double>(qb.Slice(e));
                (new Vector<double>(s1a, e) + vw * new Vector<double>(sd, e)).CopyTo(s1a, e);
                (new Vector<double>(s2a, e) + vw * GeluSecond(x) * (q0 + vt * (q1 - q0))).CopyTo(s2a, e);
            }
        }
        for (; e < nm; e++)
        {
            s1a[e] += wl * sd[e];
            s2a[e] += wl * Activations.SecondDerivative(_act, ut[e]) * (qa[e] + t * (qb[e] - qa[e]));
        }
    }

    // c ← c − η(E + M), returning ‖E + M‖ and ‖c‖ after the step
    private static double Advance(double eta, Span<double> c, ReadOnlySpan<double> e, ReadOnlySpan<double> mc, out double norm)
    {
        double sf = 0, sc = 0;
        for (int j = 0; j < c.Length; j++)
        {
            double f = e[j] + mc[j];
            double x = c[j] - eta * f;
            c[j] = x; sf += f * f; sc += x * x;
        }
        norm = Math.Sqrt(sc);
        return Math.Sqrt(sf);
    }
}
