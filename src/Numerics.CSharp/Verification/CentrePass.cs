using ResOdeProofs.Numerics.Model;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace ResOdeProofs.Numerics.Verification;

/// <summary>
/// The linearised centre of the split recursion (docs/theorems/DepthSmoothness.md, "A.split.centre.segments"): per pair k
/// a centre c_k = (c^W_k, c^V_k) propagated by c ← c − η(E_k + M^Q_k c), where E_k is the exact state forcing of the pair
/// (<see cref="SplitPass.EW"/>, <see cref="SplitPass.EV"/>) and M^Q_k c a rule for
/// M̄_k c = ∫₀¹ ∇²f_k(Z_k + tΔ_k) c dt, f_k(Z) = Σ_i p_{k+1}^{iᵀ} V σ(W h_k^i): with u(t) = (1 − t)W_k h + tW_{k+1} h and
/// q(t) = (1 − t)V_kᵀp + tV_{k+1}ᵀp (both linear in t),
///   (M̄c)^V = Σ_i p^i (S₁ ⊙ c^W h^i)ᵀ,  (M̄c)^W = Σ_i (S₂ ⊙ c^W h^i + S₁ ⊙ c^{Vᵀ}p^i) h^{iᵀ},
///   S₁ = ∫₀¹σ'(u(t))dt, S₂ = ∫₀¹σ''(u(t))q(t)dt (entrywise).
/// The rule (<see cref="RuleEntry"/>): S₁ by the trapezoid of the endpoint values σ'(u(0)), σ'(u(1)) (which the split pass
/// and the engine compute anyway) with its Euler–Maclaurin corrections −σ'''(x_m)δ²/12 − σ⁽⁵⁾(x_m)δ⁴/480, S₂ by the Taylor
/// form at the midpoint x_m, q_m(σ'' + σ⁽⁴⁾δ²/24 + σ⁽⁶⁾δ⁴/1920) + dq(σ'''δ/12 + σ⁽⁵⁾δ³/480), every derivative at x_m from one
/// φ(x_m) (GELU's σ⁽ʲ⁾ = φ·poly_j for j ≥ 2): one exp per entry and no erf. Per pair it also returns the certified bound of
/// ‖(M̄ − M^Q)c‖ (the rule's error, from sup|σ⁽⁷⁾|, sup|σ⁽⁸⁾| and the pair's largest entries of δ = ΔW h, ΔVᵀp and q), and the coefficients of the
/// bracket bound ‖M̄e‖ for any e. GELU only (the constants are GELU's); float64. Reads the states and adjoints of the last
/// <see cref="SplitPass"/> evaluation, and the products u(0), q(0) and σ'(u(0)) it kept and u(1), q(1), σ'(u(1)) the engine
/// kept (<see cref="ResNet{T}.KeptStates.KeepProducts"/>) when present (else computes them: the same kernels, the same
/// bits). Per pair it also bounds the float64 rounding of the step (<see cref="RoundMW"/>, <see cref="RoundGW"/>), derived
/// from the unit roundoff and the operations done.
/// </summary>
public sealed class CentrePass
{
    /// <summary>sup over ℝ of |σ⁽⁷⁾| and |σ⁽⁸⁾| for GELU (σ⁽ᵏ⁾ = kφ⁽ᵏ⁻²⁾ + xφ⁽ᵏ⁻¹⁾, φ⁽ʲ⁾ = (−1)ʲHe_jφ; the maxima
    /// 16.4476 and 47.8731), rounded up; proven by docs/theorems/GeluConstants.py (the sup of φ·P_j is taken at a real root of
    /// P_{j+1}, isolated by Sturm sequences and evaluated in interval arithmetic), checked on grids by the tests.</summary>
    public const double GeluSup7 = 16.46, GeluSup8 = 47.89;
    /// <summary>
    /// Error constants of the rule on [0, 1] (docs/theorems/DepthSmoothness.md): |S₁ − S₁^Q| ≤ s₇δ⁶/40 320 (the trapezoid with its
    /// two Euler–Maclaurin corrections: the midpoint Taylor remainder s₇δ⁶/322 560 plus that of the endpoints' mean at the
    /// midpoint, s₇(δ/2)⁶/720), |S₂ − S₂^Q| ≤ s₈|q_m|δ⁶/322 560 + s₇|dq||δ|⁵/53 760 (the Taylor remainders of ∫σ''(x_m + sδ)ds
    /// and ∫sσ''(x_m + sδ)ds over s ∈ [−½, ½]).
    /// </summary>
    public const double RuleErrorS1 = 1.0 / 40320.0, RuleErrorS2Even = 1.0 / 322560.0, RuleErrorS2Odd = 1.0 / 53760.0;
    /// <summary>The rule's weights of the corrections (1/12, 1/24, 1/480, 1/1920, rounded to float64).</summary>
    internal const double K12 = 1.0 / 12.0, K24 = 1.0 / 24.0, K480 = 1.0 / 480.0, K1920 = 1.0 / 1920.0;
    /// <summary>sup over ℝ of |σ⁽⁴⁾|, |σ⁽⁵⁾|, |σ⁽⁶⁾| for GELU (σ⁽⁴⁾ = φ(−x⁴ + 7x² − 4), σ⁽⁵⁾ = φx(x⁴ − 11x² + 18),
    /// σ⁽⁶⁾ = φ(−x⁶ + 16x⁴ − 51x² + 18); the maxima 1.5958, 2.8425, 7.1810), rounded up; proven by
    /// docs/theorems/GeluConstants.py, checked on grids by the tests.</summary>
    public const double GeluSup4 = 1.596, GeluSup5 = 2.843, GeluSup6 = 7.182;
    /// <summary>
    /// B_j (j = 3..6): the rule's σ̂⁽ʲ⁾(x) = fl(φ̂(x)·poly_j(x)) (φ̂ = <see cref="RulePhi"/>, poly_j by Horner in x², <see cref="RuleEntry"/>)
    /// is within B_j·u of σ⁽ʲ⁾(x) at every float x with |x| ≤ 2¹⁶⁰, the exp being the engine's, within <see cref="ExpError"/>·u. Counted per
    /// term a_k·x^(e_k) of poly_j: x² rounded (k factors 1 + δ, and the move x²u/2 of exp's argument), the exp (ε_e), c (ε_c =
    /// 0.563u) and their product, the Horner steps the term passes (2k + 1, or 2r − 1 for the top one: the leading ±1 makes the
    /// first step one subtraction), the factor x (odd j) and the last product; so |σ̂⁽ʲ⁾ − σ⁽ʲ⁾| ≤ u·φ·Σ|a_k||x|^(e_k)(α_k + β_k x²)
    /// with α_k ≈ ε_c/u + ε_e/u + 1 + n_k + k + m_j, β_k ≈ ½. Its sup is proven by docs/theorems/GeluConstants.py: 15.04, 43.62,
    /// 133.72, 485.53 at ε_e = 6.14u, rounded up (they were 22, 56, 163, 542 under an exp within 8u that the runtime's exp was
    /// assumed to meet); checked against the high-precision reference.
    /// </summary>
    public const double DerivativeError3 = 16, DerivativeError4 = 44, DerivativeError5 = 134, DerivativeError6 = 486;
    /// <summary>
    /// ε_e/u: the proven relative error of the exp the rule calls (<see cref="RulePhi"/>: the engine's
    /// <c>ActivationKernels512.ExpGelu</c>, the exp of its GELU kernel, on every path): ê = fl(e^z/2·(1 + ε)) with
    /// |ε| ≤ 6.1364u wherever ê is normal (z ≥ −707; docs/theorems/GeluKernel.md, step 3: its polynomial 0.0893u, its
    /// evaluation 4.354u, the reduced argument 0.693u, the scaling u), rounded up; below, ê rounds once absolutely (≤ 2⁻¹⁰⁷⁵)
    /// and is 0 for z &lt; −746. So the fact H_exp under which the B_j are proven (exp within ε_e·e^z of e^z for −707 ≤ z ≤ 0,
    /// at most 2e^z + 2⁻¹⁰⁷⁴ below) holds. Checked on a dense grid against the high-precision reference by the tests.
    /// </summary>
    public const double ExpError = 6.14;
    /// <summary>sup over ℝ of |σ'|, |σ''|, |σ'''| for GELU (σ'' = φ(x)(2 − x²), σ''' = φ(x)(x³ − 4x); maxima 1.128904 at x = √2,
    /// 0.797885 at 0 and 0.778770 at x² = (7 − √33)/2), rounded up; proven by docs/theorems/GeluConstants.py, checked on grids
    /// by the tests.</summary>
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

    private readonly int _L, _m, _d, _n;
    private readonly ActivationKind _act;
    private readonly double[] _wf, _vf;

    public CentrePass(NetworkShape shape, ActivationKind activation, int samples)
    {
        shape.Validate();
        if (activation != ActivationKind.Gelu) throw new ArgumentException("the centre's remainder constants are derived for GELU only");
        _L = shape.Depth; _m = shape.Width; _d = shape.Dim; _n = samples; _act = activation;
        int nm = _n * _m, md = _m * _d, pairs = Math.Max(0, _L - 1);
        double[] A(int len) => AlignedArrays.Create<double>(len);
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
        public readonly double[] U0, U1, Q0, Q1, D0, D1, S0, S1, Cw, Cv, Xw, Xv, T, Hw, Hv;
        public Work(int nm, int md)
        {
            double[] A(int len) => AlignedArrays.Create<double>(len);
            U0 = A(nm); U1 = A(nm); Q0 = A(nm); Q1 = A(nm); D0 = A(nm); D1 = A(nm); S0 = A(nm); S1 = A(nm); Cw = A(nm); Cv = A(nm);
            Xw = A(nm); Xv = A(nm); T = A(md); Hw = A(md); Hv = A(md);
        }
    }
    private Work[]? _work;

    /// <summary>The maxima the per-entry work takes (of |Ĉ_W|, |Ĉ_V|, max(|q̂(0)|, |q̂(1)|), that times |Ĉ_W|, |δ̂| of the rule's
    /// entries, |dq̂|), and whether any entry took the divided differences with the smallest |δ̂| among those.</summary>
    internal struct RuleMaxima
    {
        public double MCW, MCV, MQ, MQC, MD, MDQ;
        public bool Divided;
        public double DividedMin;
        /// <summary>A divided entry's |δ̂| (or the smallest of several).</summary>
        public void MergeDivided(double ad)
        {
            if (!Divided || ad < DividedMin) DividedMin = ad;
            Divided = true;
        }
        /// <summary>Takes each value that exceeds its maximum (a NaN never does).</summary>
        public void Merge(double acw, double acv, double qh, double qc, double ad, double adq)
        {
            if (acw > MCW) MCW = acw;
            if (acv > MCV) MCV = acv;
            if (qh > MQ) MQ = qh;
            if (qc > MQC) MQC = qc;
            if (ad > MD) MD = ad;
            if (adq > MDQ) MDQ = adq;
        }
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

    /// <summary>u = h W_lᵀ, q = p V_l, σ(u) and σ'(u) of one layer l, computed here when no pass kept them (the same kernels, so
    /// the same numbers as the kept ones).</summary>
    private void OwnProducts(Work s, SimdLevel level, ReadOnlySpan<double> h, ReadOnlySpan<double> p, ReadOnlySpan<double> wl,
        ReadOnlySpan<double> vl, double[] u, double[] q, double[] sig, double[] dsig)
    {
        int m = _m, d = _d, n = _n;
        FastKernels.Transpose<double>(wl, s.T, m, d);
        FastKernels.Gemm<double>(level, h, d, 1, s.T, u, n, d, m, 1.0, accumulate: false);
        FastKernels.Gemm<double>(level, p, d, 1, vl, q, n, d, m, 1.0, accumulate: false);
        VectorActivations.Evaluate<double>(level, _act, u, sig, dsig);
    }

    // the fused step's state for the iterate the split pass is evaluating (BeginStep)
    private bool _fusedOwn1;
    private long _fusedTicks;

    /// <summary>Stopwatch ticks spent in the steps of pairs done inside the split pass' pair loop, summed over threads.</summary>
    public long FusedTicks => Interlocked.Read(ref _fusedTicks);

    /// <summary>
    /// The start of a step done inside the split pass' pair loop (<see cref="SplitPass.FusedCentre"/>): the pass calls this
    /// before its loops, <see cref="LayerNorms"/> for every layer and <see cref="StepPairFused"/> for every pair once that
    /// pair's split quantities are computed. The products u(1), q(1), σ'(u(1)) are read from the engine's kept states when it
    /// kept them (from the next iterate on it does), as in <see cref="Step"/>.
    /// </summary>
    internal void BeginStep(SplitPass pass)
    {
        var kept = pass.LastKept;
        _fusedOwn1 = kept is not { ProductsValid: true };
        if (kept is not null) kept.KeepProducts = true;
        int nm = _n * _m, md = _m * _d;
        if (_work is null || _work.Length < ObserverTeam.Workers)
        {
            var work = new Work[ObserverTeam.Workers];
            for (int t = 0; t < work.Length; t++) work[t] = _work is not null && t < _work.Length ? _work[t] : new Work(nm, md);
            _work = work;
        }
    }

    /// <summary>‖W_l‖_F, ‖V_l‖_F of layer index l (0-based), as <see cref="Step"/> computes them.</summary>
    internal void LayerNorms(int l, ReadOnlySpan<double> w, ReadOnlySpan<double> v)
    {
        int md = _m * _d;
        var level = Simd.Level;
        _wf[l] = Math.Sqrt(FastKernels.SumSquares<double>(level, w.Slice(l * md, md)));
        _vf[l] = Math.Sqrt(FastKernels.SumSquares<double>(level, v.Slice(l * md, md)));
    }

    /// <summary>Pair k's step inside the split pass' pair loop, on worker <paramref name="worker"/>'s scratch, with the pair's
    /// u(0), q(0), σ'(u(0)), σ(u(0)) as the pass has just computed them.</summary>
    internal void StepPairFused(int k, int worker, double eta, SplitPass pass, ReadOnlySpan<double> w, ReadOnlySpan<double> v, SimdLevel level,
        ReadOnlySpan<double> u0, ReadOnlySpan<double> q0, ReadOnlySpan<double> d0, ReadOnlySpan<double> s0)
    {
        long t0 = System.Diagnostics.Stopwatch.GetTimestamp();
        StepPair(k, _work![worker], eta, pass, w, v, level, false, _fusedOwn1, u0, q0, d0, s0);
        Interlocked.Add(ref _fusedTicks, System.Diagnostics.Stopwatch.GetTimestamp() - t0);
    }

    private void StepPair(int k, Work s, double eta, SplitPass pass, ReadOnlySpan<double> w, ReadOnlySpan<double> v, SimdLevel level, bool own0, bool own1) =>
        StepPair(k, s, eta, pass, w, v, level, own0, own1, default, default, default, default);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void StepPair(int k, Work s, double eta, SplitPass pass, ReadOnlySpan<double> w, ReadOnlySpan<double> v, SimdLevel level, bool own0, bool own1,
        ReadOnlySpan<double> given0, ReadOnlySpan<double> givenQ0, ReadOnlySpan<double> givenD0, ReadOnlySpan<double> givenS0)
    {
        int m = _m, d = _d, n = _n, md = m * d, nm = n * m, nd = n * d;
        var hF = pass.LastStates!;
        var pF = pass.LastAdjoints!;
        var q = pass.Pairs;
        var kept = pass.LastKept;
        double u = U, beta = KernelError, gd = Gamma(d), gn = Gamma(n), cu = gd + 6 * u;
        int i = k - 1, o = (k - 1) * md, o1 = k * md;
        var h = hF.AsSpan(k * nd, nd); var p = pF.AsSpan((k + 1) * nd, nd);
        // u(0) = h W_kᵀ, u(1) = h W_{k+1}ᵀ, q(0) = p V_k, q(1) = p V_{k+1}, σ'(u(0)), σ'(u(1)), σ(u(0)), σ(u(1)) (n×m each): the
        // numbers the split pass and the engine computed with the same kernels (taken when kept), then c^W h, c^{Vᵀ}p
        ReadOnlySpan<double> u0, u1, q0, q1, d0, d1, sg0, sg1;
        if (own0)
        {
            OwnProducts(s, level, h, p, w.Slice(o, md), v.Slice(o, md), s.U0, s.Q0, s.S0, s.D0);
            u0 = s.U0; q0 = s.Q0; d0 = s.D0; sg0 = s.S0;
        }
        else if (!given0.IsEmpty) { u0 = given0; q0 = givenQ0; d0 = givenD0; sg0 = givenS0; }
        else
        {
            u0 = pass.PairU0.AsSpan(i * nm, nm); q0 = pass.PairQ0.AsSpan(i * nm, nm); d0 = pass.PairD0.AsSpan(i * nm, nm);
            sg0 = pass.PairS0.AsSpan(i * nm, nm);
        }
        if (own1)
        {
            OwnProducts(s, level, h, p, w.Slice(o1, md), v.Slice(o1, md), s.U1, s.Q1, s.S1, s.D1);
            u1 = s.U1; q1 = s.Q1; d1 = s.D1; sg1 = s.S1;
        }
        else
        {
            u1 = kept!.Pre.AsSpan((k + 1) * nm, nm); q1 = kept.AdjointProduct.AsSpan((k + 1) * nm, nm);
            d1 = kept.Derivative.AsSpan((k + 1) * nm, nm); sg1 = kept.Activation.AsSpan((k + 1) * nm, nm);
        }
        FastKernels.Transpose<double>(CW.AsSpan(o, md), s.T, m, d);
        FastKernels.Gemm<double>(level, h, d, 1, s.T, s.Cw, n, d, m, 1.0, accumulate: false);
        FastKernels.Gemm<double>(level, p, d, 1, CV.AsSpan(o, md), s.Cv, n, d, m, 1.0, accumulate: false);
        // S₁, S₂ per entry (the rule where |δ̂| < δ*, the divided differences elsewhere: docs/theorems/DepthSmoothness.md,
        // "Divided differences") and the weights of the two outer-product sums X_V = S₁ ⊙ Ĉ_W, X_W = S₂ ⊙ Ĉ_W + S₁ ⊙ Ĉ_V: one
        // fused pass over the entries at a vector level, the same bits as the reference loops; the maxima keep the largest
        // |δ̂| of the rule's entries (its error is taken there) and the smallest of the divided ones
        // the rounding of the computed products against the exact ones: ‖h‖_F, ‖p‖_F and the layers' norms give
        // ηu ≥ ‖û(t) − u(t)‖_F, ηq ≥ ‖q̂(t) − q(t)‖_F for t = 0, ½, 1 (docs/theorems/DepthSmoothness.md)
        double hf = Math.Sqrt(FastKernels.SumSquares<double>(level, h)), pf = q.PF1[i];
        double cwn = NormCW[i], cvn = NormCV[i];
        double etaU = cu * hf * (_wf[k - 1] + _wf[k]), etaQ = cu * pf * (_vf[k - 1] + _vf[k]);
        double dcw = gd * hf * cwn, dcv = gd * pf * cvn;   // ≥ ‖Ĉ_W − c^Wh‖_F, ‖Ĉ_V − c^{Vᵀ}p‖_F (so ≥ every entry)
        var mx = new RuleMaxima();
        int done = 0;
        if (!ReferenceRule && level == SimdLevel.Vector512)
            done = CentreKernels512.Rule(u0, u1, q0, q1, d0, d1, sg0, sg1, s.Cw, s.Cv, s.Xv, s.Xw, ref mx);
        else if (!ReferenceRule && level == SimdLevel.Vector256)
            done = CentreKernels256.Rule(u0, u1, q0, q1, d0, d1, sg0, sg1, s.Cw, s.Cv, s.Xv, s.Xw, ref mx);
        if (done < nm) RuleReference(s, done, u0, u1, q0, q1, d0, d1, sg0, sg1, ref mx);
        bool divided = mx.Divided;
        double dividedMin = mx.DividedMin;
        // the four sums of squares in one pass over the four arrays (each the bits of its own FastKernels.SumSquares)
        var (sCW, sCV, sXV, sXW) = SumSquares4(level, s.Cw, s.Cv, s.Xv, s.Xw);
        var b = RuleBounds(u, etaU, etaQ, mx);
        // the rule's error: entrywise |S₁ − S₁^Q| ≤ ē₁, |S₂ − S₂^Q| ≤ ē₂ (at the pair's largest δ, dq, |q|, raised by their
        // rounding), against the exact c^Wh, c^{Vᵀ}p (‖C‖_F ≤ ‖Ĉ‖_F + the products' rounding): r_V, r_W
        double nCW = Math.Sqrt(sCW), nCV = Math.Sqrt(sCV);
        double hs = q.HS[i], ps1 = q.PS1[i];
        (RV[i], RW[i]) = RuleErrorTerms(b, nCW + dcw, nCV + dcv, hs, ps1);
        // bounds of ‖X̂ − X‖_F (X with the exact rule at exact u(t), q(t), σ's derivatives), then of the two outer-product sums
        double mQ1 = mx.MQ * (1 + 6 * u), mQC1 = mx.MQC * (1 + 6 * u), mCW = mx.MCW, mCV = mx.MCV;
        double a1 = beta * u + 6 * u * b.S1Bar + b.EpsC1, a2 = beta * u + 6 * u * b.S2Bar + b.EpsC2a;
        double dXV = (beta * u + 5 * u * b.S1Bar + b.EpsC1) * nCW + GeluSup2 * mCW * etaU + (GeluSup1 + b.C1Bar) * gd * hf * cwn;
        double dXW = a2 * mQ1 * nCW + GeluSup3 * mQC1 * etaU + b.S2Bar * mCW * etaQ
            + (mx.MDQ * (b.EpsC2b + 6 * u * b.C2bBar) + b.C2bBar * b.EpsDq) * nCW
            + a1 * nCV + GeluSup2 * mCV * etaU
            + (b.S2Bar * b.Qs + b.C2bBar * (mx.MDQ * (1 + u) + b.EpsDq)) * gd * hf * cwn + (GeluSup1 + b.C1Bar) * gd * pf * cvn;
        if (divided)
        {
            // the divided-difference entries: ‖X̂ − X‖ over them is within the terms above (the inputs' rounding and Ĉ's, with
            // |S₁| ≤ s1, |S₂| ≤ s2·Qs) plus their own arithmetic and products' rounding (E₁, E₂ of DividedErrors)
            var (e1d, e2d) = DividedErrors(u, Math.Max(Math.Abs(q.Lo[i]), Math.Abs(q.Hi[i])), mx.MQ, mx.MDQ, dividedMin);
            dXV += (e1d * (1 + u) + u * GeluSup1) * nCW;
            dXW += (e2d * (1 + 3 * u) + 2.01 * u * GeluSup2 * mx.MQ) * nCW + (e1d * (1 + 3 * u) + 2.01 * u * GeluSup1) * nCV;
        }
        RoundMV[i] = pf * (gn * Math.Sqrt(sXV) + dXV);
        RoundMW[i] = hf * (gn * Math.Sqrt(sXW) + dXW);
        // (M^Q c)^V = Pᵀ X_V (d×m), (M^Q c)^W = X_Wᵀ H (m×d)
        FastKernels.Gemm<double>(level, p, 1, d, s.Xv, s.Hv, d, n, m, 1.0, accumulate: false);
        FastKernels.Gemm<double>(level, s.Xw, 1, m, h, s.Hw, m, n, d, 1.0, accumulate: false);
        // ‖M̄e‖: σ', σ'' of u(t) lie over the hull [Lo, Hi] of u(0), u(1); |q(t)| ≤ max(|q(0)|, |q(1)|)
        // (over the whole line when the pair's states held no number: a replay that left the finite numbers)
        double s1 = Activations.SupAbsDerivativeMeasured(_act, q.Lo[i], q.Hi[i]);
        double s2 = Activations.SupAbsSecondDerivativeMeasured(_act, q.Lo[i], q.Hi[i]);
        AWW[i] = s2 * Math.Max(q.GHatInf[i], q.G1Inf[i]) * hs * hs;
        AWV[i] = s1 * ps1 * hs;
        // ‖E^W‖_F, ‖E^V‖_F as the split pass computed them from the same arrays (the same call, so the same bits)
        ForcingW[i] = q.EW[i];
        ForcingV[i] = q.EV[i];
        // ε: the engine's Ĝ_{k+1} (weights k + 1, ĝ = p_{k+1}V_{k+1}), the split pass' G(Z_k; h_k, p_{k+1}) (ĝ = p_{k+1}V_k),
        // the subtraction forming Ê
        var e1r = EvaluationRounding(n, d, m, hf, pf, _wf[k], _vf[k], q.G1Inf[i]);
        var e0r = EvaluationRounding(n, d, m, hf, pf, _wf[k - 1], _vf[k - 1], q.GHatInf[i]);
        RoundGW[i] = e1r.W + e0r.W + u * ForcingW[i];
        RoundGV[i] = e1r.V + e0r.V + u * ForcingV[i];
        var (sMW, sMV) = SumSquares2(level, s.Hw, s.Hv);
        MW[i] = Math.Sqrt(sMW);
        MV[i] = Math.Sqrt(sMV);
        (StepW[i], NormCW[i], StepV[i], NormCV[i]) = Advance(level, eta, CW.AsSpan(o, md), pass.EW.AsSpan(o, md), s.Hw,
            CV.AsSpan(o, md), pass.EV.AsSpan(o, md), s.Hv);
        if (DerivativeW is { } fw && DerivativeV is { } fv)
        {
            // f = fl(E + M̂c), the sum Advance formed (one correctly rounded addition per entry: the same bits)
            var ew = pass.EW.AsSpan(o, md); var ev = pass.EV.AsSpan(o, md);
            for (int e = 0; e < md; e++) { fw[o + e] = ew[e] + s.Hw[e]; fv[o + e] = ev[e] + s.Hv[e]; }
        }
    }

    /// <summary>
    /// When set (both, each of the size of <see cref="CW"/>), every step also writes the centres' derivative
    /// f = fl(E + M̂c) of each pair here (the terms the step subtracts η times): with η = 0 the centres stay and the step yields
    /// f with the rule's error, the bracket coefficients and the roundings at c (the flow's stages, FlowSplit.fs).
    /// </summary>
    public double[]? DerivativeW { get; set; }
    public double[]? DerivativeV { get; set; }

    /// <summary>
    /// δ*: an entry with |δ̂| ≥ δ* takes the exact integrals S₁ = (σ(u(1)) − σ(u(0)))/δ and S₂ = (q(1)σ'(u(1)) − q(0)σ'(u(0)))/δ −
    /// dq·S₁/δ (u(t), q(t) linear in t) by divided differences; below it the rule's Taylor form, whose error grows like δ⁶
    /// (at δ* it is s₇δ*⁶/40 320 ≈ 6·10⁻¹², under the divided differences' rounding, which grows like 1/δ*). A choice of where to
    /// switch, not of validity: both forms are bounded at every δ (docs/theorems/DepthSmoothness.md, "Divided differences").
    /// </summary>
    public const double DividedAbove = 1.0 / 16.0;

    /// <summary>
    /// One entry's divided differences, in the fused kernels' order of operations: δ̂ = a1 − a0, Ŝ₁ = (σ̂₁ − σ̂₀)/δ̂,
    /// dq̂ = b1 − b0, Ŝ₂ = (b1·σ̂'₁ − b0·σ̂'₀)/δ̂ − dq̂·Ŝ₁/δ̂ (<paramref name="d0"/>, <paramref name="d1"/> the σ̂' values,
    /// <paramref name="sig0"/>, <paramref name="sig1"/> the σ̂ values at a0, a1, all as the split pass and the engine kept
    /// them: σ̂ within βu|û| + <see cref="Underflow"/> of σ). X_V = Ŝ₁Ĉ_W, X_W = Ŝ₂Ĉ_W + Ŝ₁Ĉ_V there as at the rule's entries.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static (double S1, double S2) DividedEntry(double a0, double a1, double b0, double b1, double d0, double d1, double sig0, double sig1)
    {
        double du = a1 - a0;
        double s1 = (sig1 - sig0) / du;
        double dq = b1 - b0;
        double s2 = (b1 * d1 - b0 * d0) / du - dq * s1 / du;
        return (s1, s2);
    }

    /// <summary>
    /// E₁ ≥ |Ŝ₁ − S₁(û)| and E₂ ≥ |Ŝ₂ − S₂(û, q̂)| at every divided-difference entry of a pair (the integrals at the computed
    /// inputs; their distance to the exact inputs' integrals is bounded as the rule's is, by sup|σ''|, sup|σ'''| times η_u, η_q):
    /// with |û| ≤ <paramref name="uMax"/>, |q̂| ≤ <paramref name="q"/>, |dq̂| ≤ <paramref name="dq"/> and |δ̂| ≥ <paramref name="dMin"/>
    /// (≥ δ*; so |û(1) − û(0)| ≥ dMin/(1 + u)),
    ///   E₁ = 3.01u·s1 + 2(βu·uMax + Underflow)(1 + 5u)/dMin,
    ///   E₂ = (1 + 6u)/dMin·(q(2βu + 15u(s1 + βu)) + dq(1 + 2u)(E₁ + 6u(s1 + E₁)))
    /// (docs/theorems/DepthSmoothness.md, "Divided differences").
    /// </summary>
    internal static (double E1, double E2) DividedErrors(double u, double uMax, double q, double dq, double dMin)
    {
        if (!(dMin >= DividedAbove)) throw new ArgumentOutOfRangeException(nameof(dMin), "the divided entries have |δ̂| ≥ δ*");
        double beta = KernelError, s1 = GeluSup1, inv = 1.0 / dMin;
        double e1 = 3.01 * u * s1 + 2 * (beta * u * uMax + Underflow) * (1 + 5 * u) * inv;
        double e2 = (1 + 6 * u) * inv * (q * (2 * beta * u + 15 * u * (s1 + beta * u)) + dq * (1 + 2 * u) * (e1 + 6 * u * (s1 + e1)));
        return (e1, e2);
    }

    /// <summary>The per-pair bounds of the rule's arithmetic (docs/theorems/DepthSmoothness.md, item 4).</summary>
    internal readonly record struct Bounds(double D, double DQ, double Qs, double EpsDq, double C1Bar, double C2aBar, double C2bBar,
        double EpsC1, double EpsC2a, double EpsC2b, double S1Bar, double S2Bar);

    /// <summary>
    /// From the maxima of one pair's entries and η_u, η_q: D ≥ |δ|, |δ̂| and DQ ≥ |dq| (δ = u(1) − u(0), dq = q(1) − q(0)),
    /// Qs ≥ |q(t)|, ε_dq ≥ |dq̂ − dq|; C̄ ≥ the corrections C₁ = σ'''δ²/12 + σ⁽⁵⁾δ⁴/480, C₂a = σ⁽⁴⁾δ²/24 + σ⁽⁶⁾δ⁴/1920,
    /// C₂b = σ'''δ/12 + σ⁽⁵⁾δ³/480 (exact at x_m, δ and as computed); ε_C ≥ |Ĉ − C(x_m, δ)|: per term σ⁽ʲ⁾δᵖ/c, a chain of at
    /// most p + 5 roundings on σ̂⁽ʲ⁾ (within B_j u), plus the moves of x_m (≤ η_u) and δ (≤ u|δ̂| + η_u);
    /// S̄₁ ≥ |Ŝ₁|-type values ((s₁ + βu)(1 + u) + C̄₁), S̄₂ likewise with s₂ and C̄₂a.
    /// </summary>
    internal static Bounds RuleBounds(double u, double etaU, double etaQ, in RuleMaxima mx)
    {
        double D = mx.MD * (1 + u) + etaU, DQ = mx.MDQ * (1 + u) + 2 * etaQ, qs = mx.MQ + etaQ;
        double epsD = u * mx.MD + etaU, epsDq = u * mx.MDQ + 2 * etaQ;
        double cBar1 = 0, cBar2a = 0, cBar2b = 0, eps1 = 0, eps2a = 0, eps2b = 0;
        void Term(ref double cBar, ref double eps, double sj, double sj1, double bj, int pw, double c)
        {
            double dp = PortableMath.PowInt(D, pw), dp1 = PortableMath.PowInt(D, pw - 1);
            cBar += sj * dp / c;
            eps += (((pw + 6) * (sj + bj * u) + bj) * u * dp + sj1 * etaU * dp + sj * pw * dp1 * epsD) / c;
        }
        Term(ref cBar1, ref eps1, GeluSup3, GeluSup4, DerivativeError3, 2, 12);
        Term(ref cBar1, ref eps1, GeluSup5, GeluSup6, DerivativeError5, 4, 480);
        Term(ref cBar2a, ref eps2a, GeluSup4, GeluSup5, DerivativeError4, 2, 24);
        Term(ref cBar2a, ref eps2a, GeluSup6, GeluSup7, DerivativeError6, 4, 1920);
        Term(ref cBar2b, ref eps2b, GeluSup3, GeluSup4, DerivativeError3, 1, 12);
        Term(ref cBar2b, ref eps2b, GeluSup5, GeluSup6, DerivativeError5, 3, 480);
        double c1 = cBar1 + eps1, c2a = cBar2a + eps2a, c2b = cBar2b + eps2b;
        double beta = KernelError;
        return new Bounds(D, DQ, qs, epsDq, c1, c2a, c2b, eps1, eps2a, eps2b,
            (GeluSup1 + beta * u) * (1 + u) + c1, (GeluSup2 + beta * u) * (1 + u) + c2a);
    }

    /// <summary>
    /// ē₁ ≥ |S₁ − S₁^Q| and ē₂ ≥ |S₂ − S₂^Q| at every entry of the pair (docs/theorems/DepthSmoothness.md, "Remainder"):
    /// e₁ = s₇δ⁶/40 320 and e₂ = s₈|q_m|δ⁶/322 560 + s₇|dq||δ|⁵/53 760 grow with |δ|, |dq|, |q_m|, so at the bounds D ≥ |δ|,
    /// DQ ≥ |dq|, Qs ≥ |q(t)| of <see cref="RuleBounds"/> (the pair's maxima raised by their rounding) they bound every entry's.
    /// </summary>
    internal static (double E1, double E2) RuleErrorMaxima(in Bounds b)
    {
        double d5 = b.D * b.D * b.D * b.D * b.D, d6 = d5 * b.D;
        return (RuleErrorS1 * GeluSup7 * d6, RuleErrorS2Even * GeluSup8 * d6 * b.Qs + RuleErrorS2Odd * GeluSup7 * d5 * b.DQ);
    }

    /// <summary>
    /// r_V ≥ ‖((M̄ − M^Q)c)^V‖_F and r_W ≥ ‖((M̄ − M^Q)c)^W‖_F from the entry bounds ē₁, ē₂ (<see cref="RuleErrorMaxima"/>):
    /// ((M̄ − M^Q)c)^V = Pᵀ((S₁ − S₁^Q) ⊙ C_W) and ((M̄ − M^Q)c)^W = ((S₂ − S₂^Q) ⊙ C_W + (S₁ − S₁^Q) ⊙ C_V)ᵀH with C_W = hc^{Wᵀ},
    /// C_V = pc^V exact, so r_V = ‖P‖₂ē₁‖C_W‖_F and r_W = ‖H‖₂(ē₂‖C_W‖_F + ē₁‖C_V‖_F); <paramref name="cw"/>, <paramref name="cv"/>
    /// bound ‖C_W‖_F, ‖C_V‖_F (the computed products' norms plus their rounding), <paramref name="hs"/>, <paramref name="ps1"/>
    /// the upper values of ‖H_k‖₂, ‖P_{k+1}‖₂.
    /// </summary>
    internal static (double RV, double RW) RuleErrorTerms(in Bounds b, double cw, double cv, double hs, double ps1)
    {
        var (e1, e2) = RuleErrorMaxima(b);
        return (ps1 * (e1 * cw), hs * (e2 * cw + e1 * cv));
    }

    /// <summary>
    /// The reference loop of the per-entry work over entries [from, nm), entry by entry: <see cref="DividedEntry"/> where
    /// |δ̂| ≥ δ* (never a NaN), else φ̂(x_m) (<see cref="RulePhi"/>, the lanes' exp one entry at a time) and
    /// <see cref="RuleEntry"/>; then X_V, X_W and the maxima. The fused kernels (CentreKernels512, CentreKernels256) do the
    /// same operations in the same order.
    /// </summary>
    private void RuleReference(Work s, int from, ReadOnlySpan<double> u0, ReadOnlySpan<double> u1, ReadOnlySpan<double> q0,
        ReadOnlySpan<double> q1, ReadOnlySpan<double> d0, ReadOnlySpan<double> d1, ReadOnlySpan<double> sg0, ReadOnlySpan<double> sg1,
        ref RuleMaxima r)
    {
        int nm = _n * _m;
        for (int e = from; e < nm; e++)
        {
            double ad = Math.Abs(u1[e] - u0[e]);
            bool div = ad >= DividedAbove;
            double s1, s2;
            if (div) (s1, s2) = DividedEntry(u0[e], u1[e], q0[e], q1[e], d0[e], d1[e], sg0[e], sg1[e]);
            else
            {
                double xm = Midpoint(u0[e], u1[e]);
                (s1, s2) = RuleEntry(u0[e], u1[e], q0[e], q1[e], d0[e], d1[e], RulePhi(xm * xm));
            }
            double cw = s.Cw[e], cv = s.Cv[e];
            s.Xv[e] = s1 * cw; s.Xw[e] = s2 * cw + s1 * cv;
            double acw = Math.Abs(cw), acv = Math.Abs(cv), qh = Math.Max(Math.Abs(q0[e]), Math.Abs(q1[e]));
            double adq = Math.Abs(q1[e] - q0[e]);
            r.Merge(acw, acv, qh, qh * acw, div ? 0 : ad, adq);
            if (div) r.MergeDivided(ad);
        }
    }

    /// <summary>x_m = û(0) + ½(û(1) − û(0)) as the rule computes it.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static double Midpoint(double a0, double a1) => a0 + 0.5 * (a1 - a0);

    /// <summary>
    /// The rule at one entry, in the fused kernels' order of operations: δ = a1 − a0, dq = b1 − b0, x_m, q_m the midpoints,
    /// y = x_m², the derivatives σ⁽ʲ⁾(x_m) = φ·poly_j (φ = <paramref name="phi"/>, φ̂(x_m) as computed), and
    ///   S₁ = ½(σ'(u(0)) + σ'(u(1))) − δ(δ(σ'''/12 + σ⁽⁵⁾δ²/480)),
    ///   S₂ = q_m(σ'' + δ²(σ⁽⁴⁾/24 + σ⁽⁶⁾δ²/1920)) + dq·δ(σ'''/12 + σ⁽⁵⁾δ²/480),
    /// with <paramref name="d0"/>, <paramref name="d1"/> the endpoint values σ'(u(0)), σ'(u(1)).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static (double S1, double S2) RuleEntry(double a0, double a1, double b0, double b1, double d0, double d1, double phi)
    {
        double du = a1 - a0, dq = b1 - b0;
        double xm = a0 + 0.5 * du, qm = b0 + 0.5 * dq;
        double y = xm * xm;
        double s2 = phi * (2.0 - y);
        double s3 = phi * (xm * (y - 4.0));
        double s4 = phi * ((7.0 - y) * y - 4.0);
        double s5 = phi * (xm * ((y - 11.0) * y + 18.0));
        double s6 = phi * (((16.0 - y) * y - 51.0) * y + 18.0);
        double z = du * du;
        double c2b = du * (s3 * K12 + s5 * z * K480);
        double c1 = du * c2b;
        double c2a = z * (s4 * K24 + s6 * z * K1920);
        double sum1 = 0.5 * (d0 + d1) - c1;
        double sum2 = qm * (s2 + c2a) + dq * c2b;
        return (sum1, sum2);
    }

    private static readonly double InvSqrt2Pi = 1.0 / Math.Sqrt(2.0 * Math.PI);
    /// <summary>C = 2c = fl(2·fl(1/√(2π))), exact: C·(e^z/2) is c·e^z with c's rounding only.</summary>
    private static readonly double TwoInvSqrt2Pi = 2.0 * InvSqrt2Pi;
    internal static double TwoInvSqrt2PiValue => TwoInvSqrt2Pi;

    /// <summary>
    /// φ̂ = fl(C·ê(−y/2)) for y = fl(x²): ê(z) = fl(e^z/2) by the engine's exp (<c>ActivationKernels512.ExpGelu</c> with no low
    /// part, within <see cref="ExpError"/>·u), C = 2c. The product is the same real number as c·2ê, so φ̂ is c times an exp
    /// within ε_e, rounded once, as the B_j count it. One entry through the 256-bit lanes of the same source: the bits of the
    /// fused kernels' lanes at every width and on every machine (the vector operations are fused multiply-adds and exact bit
    /// moves, done the same in hardware or in software).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static double RulePhi(double y) =>
        TwoInvSqrt2Pi * ActivationKernels256.ExpGelu(Vector256.Create(-0.5 * y), Vector256<double>.Zero).ToScalar();

    /// <summary>GELU's σ''(x) = φ(x)(2 − x²) lane by lane as the rule computes it (within <see cref="KernelError"/>·u).</summary>
    internal static Vector<double> GeluSecond(Vector<double> x)
    {
        var x2 = x * x;
        Vector<double> eh;
        if (Vector<double>.Count == Vector512<double>.Count)
            eh = ActivationKernels512.ExpGelu(new Vector<double>(-0.5).AsVector512() * x2.AsVector512(), Vector512<double>.Zero).AsVector();
        else if (Vector<double>.Count == Vector256<double>.Count)
            eh = ActivationKernels256.ExpGelu(new Vector<double>(-0.5).AsVector256() * x2.AsVector256(), Vector256<double>.Zero).AsVector();
        else
        {
            Span<double> e = stackalloc double[Vector<double>.Count];
            for (int i = 0; i < e.Length; i++)
                e[i] = ActivationKernels256.ExpGelu(Vector256.Create(-0.5 * x2[i]), Vector256<double>.Zero).ToScalar();
            eh = new Vector<double>(e);
        }
        return new Vector<double>(TwoInvSqrt2Pi) * eh * (new Vector<double>(2.0) - x2);
    }

    /// <summary>
    /// (Σx₀², Σx₁², Σx₂², Σx₃²) of four float64 arrays of one length, each sum formed exactly as
    /// <see cref="FastKernels.SumSquares{T}"/> forms it at <paramref name="level"/> (two accumulators taking alternate
    /// vectors, their sum reduced by the same call, then the entries past the last pair of vectors added one by one in
    /// index order; at the scalar level or below two vectors, all of them one by one), so each is that call's bits. The
    /// four sums' eight chains of fused multiply-adds advance side by side in one pass instead of two chains in each of
    /// four passes (a single call's chains wait on the fused multiply-add's latency).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static (double, double, double, double) SumSquares4(SimdLevel level, ReadOnlySpan<double> x0, ReadOnlySpan<double> x1,
        ReadOnlySpan<double> x2, ReadOnlySpan<double> x3)
    {
        int n = x0.Length, i = 0;
        if (x1.Length != n || x2.Length != n || x3.Length != n) throw new ArgumentException("operands of different lengths");
        ref double r0 = ref MemoryMarshal.GetReference(x0), r1 = ref MemoryMarshal.GetReference(x1);
        ref double r2 = ref MemoryMarshal.GetReference(x2), r3 = ref MemoryMarshal.GetReference(x3);
        double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        if (level == SimdLevel.Vector512 && n >= 16)
        {
            Vector512<double> a0 = default, b0 = default, a1 = default, b1 = default, a2 = default, b2 = default, a3 = default, b3 = default;
            for (; i + 16 <= n; i += 16)
            {
                nuint at = (nuint)i, at8 = (nuint)(i + 8);
                var v = Vector512.LoadUnsafe(ref r0, at); var w = Vector512.LoadUnsafe(ref r0, at8);
                a0 = Vector512.FusedMultiplyAdd(v, v, a0); b0 = Vector512.FusedMultiplyAdd(w, w, b0);
                v = Vector512.LoadUnsafe(ref r1, at); w = Vector512.LoadUnsafe(ref r1, at8);
                a1 = Vector512.FusedMultiplyAdd(v, v, a1); b1 = Vector512.FusedMultiplyAdd(w, w, b1);
                v = Vector512.LoadUnsafe(ref r2, at); w = Vector512.LoadUnsafe(ref r2, at8);
                a2 = Vector512.FusedMultiplyAdd(v, v, a2); b2 = Vector512.FusedMultiplyAdd(w, w, b2);
                v = Vector512.LoadUnsafe(ref r3, at); w = Vector512.LoadUnsafe(ref r3, at8);
                a3 = Vector512.FusedMultiplyAdd(v, v, a3); b3 = Vector512.FusedMultiplyAdd(w, w, b3);
            }
            s0 = Vector512.Sum(a0 + b0); s1 = Vector512.Sum(a1 + b1); s2 = Vector512.Sum(a2 + b2); s3 = Vector512.Sum(a3 + b3);
        }
        else if (level == SimdLevel.Vector256 && n >= 8)
        {
            Vector256<double> a0 = default, b0 = default, a1 = default, b1 = default, a2 = default, b2 = default, a3 = default, b3 = default;
            for (; i + 8 <= n; i += 8)
            {
                nuint at = (nuint)i, at4 = (nuint)(i + 4);
                var v = Vector256.LoadUnsafe(ref r0, at); var w = Vector256.LoadUnsafe(ref r0, at4);
                a0 = Vector256.FusedMultiplyAdd(v, v, a0); b0 = Vector256.FusedMultiplyAdd(w, w, b0);
                v = Vector256.LoadUnsafe(ref r1, at); w = Vector256.LoadUnsafe(ref r1, at4);
                a1 = Vector256.FusedMultiplyAdd(v, v, a1); b1 = Vector256.FusedMultiplyAdd(w, w, b1);
                v = Vector256.LoadUnsafe(ref r2, at); w = Vector256.LoadUnsafe(ref r2, at4);
                a2 = Vector256.FusedMultiplyAdd(v, v, a2); b2 = Vector256.FusedMultiplyAdd(w, w, b2);
                v = Vector256.LoadUnsafe(ref r3, at); w = Vector256.LoadUnsafe(ref r3, at4);
                a3 = Vector256.FusedMultiplyAdd(v, v, a3); b3 = Vector256.FusedMultiplyAdd(w, w, b3);
            }
            s0 = Vector256.Sum(a0 + b0); s1 = Vector256.Sum(a1 + b1); s2 = Vector256.Sum(a2 + b2); s3 = Vector256.Sum(a3 + b3);
        }
        for (; i < n; i++)
        {
            double v0 = Unsafe.Add(ref r0, i), v1 = Unsafe.Add(ref r1, i), v2 = Unsafe.Add(ref r2, i), v3 = Unsafe.Add(ref r3, i);
            s0 += v0 * v0; s1 += v1 * v1; s2 += v2 * v2; s3 += v3 * v3;
        }
        return (s0, s1, s2, s3);
    }

    /// <summary>(Σx₀², Σx₁²) of two float64 arrays of one length, each the bits of its own <see cref="FastKernels.SumSquares{T}"/>
    /// (as <see cref="SumSquares4"/>, with two arrays).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static (double, double) SumSquares2(SimdLevel level, ReadOnlySpan<double> x0, ReadOnlySpan<double> x1)
    {
        int n = x0.Length, i = 0;
        if (x1.Length != n) throw new ArgumentException("operands of different lengths");
        ref double r0 = ref MemoryMarshal.GetReference(x0), r1 = ref MemoryMarshal.GetReference(x1);
        double s0 = 0, s1 = 0;
        if (level == SimdLevel.Vector512 && n >= 16)
        {
            Vector512<double> a0 = default, b0 = default, a1 = default, b1 = default;
            for (; i + 16 <= n; i += 16)
            {
                nuint at = (nuint)i, at8 = (nuint)(i + 8);
                var v = Vector512.LoadUnsafe(ref r0, at); var w = Vector512.LoadUnsafe(ref r0, at8);
                a0 = Vector512.FusedMultiplyAdd(v, v, a0); b0 = Vector512.FusedMultiplyAdd(w, w, b0);
                v = Vector512.LoadUnsafe(ref r1, at); w = Vector512.LoadUnsafe(ref r1, at8);
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
                var v = Vector256.LoadUnsafe(ref r0, at); var w = Vector256.LoadUnsafe(ref r0, at4);
                a0 = Vector256.FusedMultiplyAdd(v, v, a0); b0 = Vector256.FusedMultiplyAdd(w, w, b0);
                v = Vector256.LoadUnsafe(ref r1, at); w = Vector256.LoadUnsafe(ref r1, at4);
                a1 = Vector256.FusedMultiplyAdd(v, v, a1); b1 = Vector256.FusedMultiplyAdd(w, w, b1);
            }
            s0 = Vector256.Sum(a0 + b0); s1 = Vector256.Sum(a1 + b1);
        }
        for (; i < n; i++)
        {
            double v0 = Unsafe.Add(ref r0, i), v1 = Unsafe.Add(ref r1, i);
            s0 += v0 * v0; s1 += v1 * v1;
        }
        return (s0, s1);
    }

    /// <summary>
    /// c ← c − η(E + M) for the W part (cw, ew, mw) and the V part (cv, ev, mv) of one pair, returning ‖E + M‖ and ‖c‖ after
    /// the step of each part. Both parts in one pass of the same length (m·d), in vector lanes at <paramref name="level"/>:
    /// each entry of c gets the scalar operations (a sum, a product by η and a difference, none fused), and each of the four
    /// sums of squares has the bits of <see cref="FastKernels.SumSquares{T}"/> at that level over the array it sums (the
    /// new c, or the entries of E + M), as <see cref="SumSquares4"/> forms its sums. Formerly the four sums were chains of
    /// scalar additions in index order: another order of the same terms, within the same proven rounding (γ over the terms,
    /// whatever their order: <c>Rounding.normInflation</c>), which cost about eight times the instructions.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static (double StepW, double NormW, double StepV, double NormV) Advance(SimdLevel level, double eta, Span<double> cw,
        ReadOnlySpan<double> ew, ReadOnlySpan<double> mw, Span<double> cv, ReadOnlySpan<double> ev, ReadOnlySpan<double> mv)
    {
        int len = cw.Length, j = 0;
        if (cv.Length != len || ew.Length < len || mw.Length < len || ev.Length < len || mv.Length < len)
            throw new ArgumentException("the two parts of a pair have different sizes");
        double sfw = 0, scw = 0, sfv = 0, scv = 0;
        // every operand checked to hold len entries above: the loops read them without a bounds check per entry
        ref double rcw = ref MemoryMarshal.GetReference(cw), rcv = ref MemoryMarshal.GetReference(cv);
        ref double rew = ref MemoryMarshal.GetReference(ew), rmw = ref MemoryMarshal.GetReference(mw);
        ref double rev = ref MemoryMarshal.GetReference(ev), rmv = ref MemoryMarshal.GetReference(mv);
        if (level == SimdLevel.Vector512 && len >= 16)
        {
            var ve = Vector512.Create(eta);
            Vector512<double> fw0 = default, fw1 = default, xw0 = default, xw1 = default, fv0 = default, fv1 = default, xv0 = default, xv1 = default;
            for (; j + 16 <= len; j += 16)
            {
                nuint a = (nuint)j, b = (nuint)(j + 8);
                var f = Vector512.LoadUnsafe(ref rew, a) + Vector512.LoadUnsafe(ref rmw, a);
                var x = Vector512.LoadUnsafe(ref rcw, a) - ve * f;
                x.StoreUnsafe(ref rcw, a); fw0 = Vector512.FusedMultiplyAdd(f, f, fw0); xw0 = Vector512.FusedMultiplyAdd(x, x, xw0);
                f = Vector512.LoadUnsafe(ref rew, b) + Vector512.LoadUnsafe(ref rmw, b);
                x = Vector512.LoadUnsafe(ref rcw, b) - ve * f;
                x.StoreUnsafe(ref rcw, b); fw1 = Vector512.FusedMultiplyAdd(f, f, fw1); xw1 = Vector512.FusedMultiplyAdd(x, x, xw1);
                f = Vector512.LoadUnsafe(ref rev, a) + Vector512.LoadUnsafe(ref rmv, a);
                x = Vector512.LoadUnsafe(ref rcv, a) - ve * f;
                x.StoreUnsafe(ref rcv, a); fv0 = Vector512.FusedMultiplyAdd(f, f, fv0); xv0 = Vector512.FusedMultiplyAdd(x, x, xv0);
                f = Vector512.LoadUnsafe(ref rev, b) + Vector512.LoadUnsafe(ref rmv, b);
                x = Vector512.LoadUnsafe(ref rcv, b) - ve * f;
                x.StoreUnsafe(ref rcv, b); fv1 = Vector512.FusedMultiplyAdd(f, f, fv1); xv1 = Vector512.FusedMultiplyAdd(x, x, xv1);
            }
            sfw = Vector512.Sum(fw0 + fw1); scw = Vector512.Sum(xw0 + xw1); sfv = Vector512.Sum(fv0 + fv1); scv = Vector512.Sum(xv0 + xv1);
        }
        else if (level == SimdLevel.Vector256 && len >= 8)
        {
            var ve = Vector256.Create(eta);
            Vector256<double> fw0 = default, fw1 = default, xw0 = default, xw1 = default, fv0 = default, fv1 = default, xv0 = default, xv1 = default;
            for (; j + 8 <= len; j += 8)
            {
                nuint a = (nuint)j, b = (nuint)(j + 4);
                var f = Vector256.LoadUnsafe(ref rew, a) + Vector256.LoadUnsafe(ref rmw, a);
                var x = Vector256.LoadUnsafe(ref rcw, a) - ve * f;
                x.StoreUnsafe(ref rcw, a); fw0 = Vector256.FusedMultiplyAdd(f, f, fw0); xw0 = Vector256.FusedMultiplyAdd(x, x, xw0);
                f = Vector256.LoadUnsafe(ref rew, b) + Vector256.LoadUnsafe(ref rmw, b);
                x = Vector256.LoadUnsafe(ref rcw, b) - ve * f;
                x.StoreUnsafe(ref rcw, b); fw1 = Vector256.FusedMultiplyAdd(f, f, fw1); xw1 = Vector256.FusedMultiplyAdd(x, x, xw1);
                f = Vector256.LoadUnsafe(ref rev, a) + Vector256.LoadUnsafe(ref rmv, a);
                x = Vector256.LoadUnsafe(ref rcv, a) - ve * f;
                x.StoreUnsafe(ref rcv, a); fv0 = Vector256.FusedMultiplyAdd(f, f, fv0); xv0 = Vector256.FusedMultiplyAdd(x, x, xv0);
                f = Vector256.LoadUnsafe(ref rev, b) + Vector256.LoadUnsafe(ref rmv, b);
                x = Vector256.LoadUnsafe(ref rcv, b) - ve * f;
                x.StoreUnsafe(ref rcv, b); fv1 = Vector256.FusedMultiplyAdd(f, f, fv1); xv1 = Vector256.FusedMultiplyAdd(x, x, xv1);
            }
            sfw = Vector256.Sum(fw0 + fw1); scw = Vector256.Sum(xw0 + xw1); sfv = Vector256.Sum(fv0 + fv1); scv = Vector256.Sum(xv0 + xv1);
        }
        for (; j < len; j++)
        {
            double fw = Unsafe.Add(ref rew, j) + Unsafe.Add(ref rmw, j), fv = Unsafe.Add(ref rev, j) + Unsafe.Add(ref rmv, j);
            double xw = Unsafe.Add(ref rcw, j) - eta * fw, xv = Unsafe.Add(ref rcv, j) - eta * fv;
            Unsafe.Add(ref rcw, j) = xw; Unsafe.Add(ref rcv, j) = xv;
            sfw += fw * fw; scw += xw * xw; sfv += fv * fv; scv += xv * xv;
        }
        return (Math.Sqrt(sfw), Math.Sqrt(scw), Math.Sqrt(sfv), Math.Sqrt(scv));
    }
}
