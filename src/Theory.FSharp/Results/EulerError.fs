/// Result B: the ResNet at fixed weights is a first-order scheme for the neural ODE of the function of
/// depth its layers discretize. Derivation: docs/theorems/EulerError.md.
module ResOdeProofs.Theory.EulerError

open System
open System.Runtime.CompilerServices
open ResOdeProofs.Numerics.Ode

/// Tolerances of the reference neural-ODE solve (Dormand–Prince 5(4)) at its tight level, taken where the loose level
/// below does not meet `acceptsLoose` (docs/theorems/EulerError.md, "Integration error: two levels").
[<Literal>]
let Rtol = 1e-10
[<Literal>]
let Atol = 1e-12
/// Tolerances of the second, tighter solve whose difference with the first estimates the integration error.
[<Literal>]
let CheckRtol = 1e-12
[<Literal>]
let CheckAtol = 1e-14
/// The loose level, tried first: three orders above the tight one, with the same ratio 100 between the two solves (so the
/// check solve's error stays about a hundredth of the first's, `EstimateMargin`), about a quarter of the steps where the
/// tolerance binds (DP5(4): steps ∝ rtol^(−1/5)), the same steps where the layer nodes and midpoints bind.
[<Literal>]
let LooseRtol = 1e-7
[<Literal>]
let LooseAtol = 1e-9
[<Literal>]
let LooseCheckRtol = 1e-9
[<Literal>]
let LooseCheckAtol = 1e-11
/// The integration error estimate must be at most this fraction of the bound, so that a bound is never
/// confused with an integration error.
[<Literal>]
let IntegrationFraction = 1e-3
/// The factor by which an integration error estimate (the difference of the two solves) enters wherever a bound needs
/// the error itself: the node norms ‖H(s_{k−1})‖, the one-interval errors δ_k and the final ‖H̃_L − H(1)‖ of the comparison.
/// A margin chosen by us, not derived from the solver (docs/theorems/EulerError.md, "Integration error"): the estimate
/// e_a ± e_b bounds the first solve's error e_a when e_b ≤ 0.9·e_a, and tolerance proportionality gives e_b ≈ 10⁻²·e_a
/// at the tolerance ratio Rtol/CheckRtol = 100; where neither tolerance binds, the check solve's steps are at most half as
/// long (`checkSolveStops`) and a local error of order h⁶ gives e_b ≈ 2⁻⁵·e_a.
[<Literal>]
let EstimateMargin = 10.0

/// One sample i at one snapshot: measured ‖h_L^i − H^i(1)‖, the layer-wise bound, the paper-form bound
/// e^κ (Lip_Z f·K + κF)/(2L), and the integration error estimate of H^i(1).
type SampleCheck =
    { Sample: int
      Measured: float
      Bound: float
      PaperBound: float
      IntegrationError: float
      /// the rounding of Measured: the verifier's float64 forward pass and the norm of the difference
      /// (`Rounding.forwardOutputRounding`)
      Rounding: float
      /// Σ_k π_k (τ̄_k + δ̂_k): the local-error bounds propagated by certified norms of products of secant
      /// Jacobians (B.bound.secant) instead of the products of the factors 1 + κ_k/L; τ̄_k the smallest of the
      /// norm bounds and the Taylor-model bound, on sub-intervals where κ̄/L > 1/8 (docs/theorems/EulerError.md,
      /// "Taylor-model local error", "Sub-intervals")
      SecantBound: float
      /// the same sum with the norm bounds of the local error only (B.bound.secant before the Taylor model)
      SecantBoundNormLocal: float
      /// the same sum with the Taylor model on one interval per layer (B.bound.secant before the sub-intervals)
      SecantBoundOneInterval: float
      /// Σ_k π_k (‖τ̂_k‖ + ρ_k): the computed defects of the reference nodes propagated by the same π_k (B.bound.defect)
      DefectBound: float
      /// per layer k = 1..L (index k − 1): the computed defect ‖τ̂_k‖ of the reference nodes, its rounding bound ρ_k,
      /// and the local-error bound min(τ̄_k, τ̄'_k, τ̄''_k) + δ_k it must satisfy (B.local)
      Defects: float[]
      DefectRounding: float[]
      LocalBounds: float[]
      /// the local-error bounds without the Taylor model, min(τ̄_k, τ̄'_k) + δ_k
      LocalBoundsNorm: float[]
      /// the local-error bounds with the Taylor model on one interval per layer (before the sub-intervals)
      LocalBoundsOneInterval: float[]
      /// the largest share of a bound that the integration error takes: over the layers, the one-interval error δ_k
      /// (10× the node estimates) over the local bound it is part of, and 10× the estimate of H̃_L over the smallest of
      /// the bound, the secant bound and the defect bound (0 where every estimate is 0); the loose level is kept only
      /// where this is at most `IntegrationFraction` for every sample (`acceptsLoose`)
      IntegrationShare: float }

/// All samples at one snapshot, with the constants (maxima over layers) and the cost of the ODE solve.
type SnapshotCheck =
    { Snapshot: int
      Time: float
      Samples: SampleCheck[]
      Constants: (string * float) list
      OdeSteps: int
      OdeRejected: int
      /// accepted steps of the check solve (a hundredth of the solve's rtol, stopped at the layer nodes and at their
      /// intervals' midpoints)
      CheckSteps: int
      /// the tolerances this analysis was made at: the loose level or the tight one (`analyseSnapshotMutated`)
      SolveRtol: float
      SolveAtol: float
      CheckSolveRtol: float
      CheckSolveAtol: float
      /// whether the loose level was solved for this snapshot (kept or not); `analyse` stops trying it after a snapshot
      /// where it was not kept
      LooseTried: bool
      OdeSeconds: float
      /// processor seconds of both solves (Rtol and CheckRtol), each on the thread that ran it (NaN without a thread clock)
      OdeCpuSeconds: float
      /// the relative rounding allowance of the bounds, `Rounding.chainRel` of the run
      BoundRel: float }

/// True when every entry is finite: one loop, no closure per entry (the scan runs over every snapshot's weights
/// several times per verify, by each row that states the hypothesis).
let private finite (a: float[]) =
    let mutable ok = true
    let mutable i = 0
    while ok && i < a.Length do
        ok <- Double.IsFinite a.[i]
        i <- i + 1
    ok

/// True when every snapshot's W and V are finite.
let weightsFinite (run: Run) =
    Seq.forall (fun s -> finite (run.W s) && finite (run.V s)) (seq { 0 .. run.SnapshotCount - 1 })

let private vnorm (a: float[]) (o: int) (len: int) =
    let mutable acc = 0.0
    for j in o .. o + len - 1 do acc <- acc + a.[j] * a.[j]
    sqrt acc

let private vdiff (a: float[]) (b: float[]) (o: int) (len: int) =
    let mutable acc = 0.0
    for j in o .. o + len - 1 do
        let x = a.[j] - b.[j]
        acc <- acc + x * x
    sqrt acc

/// Solves the neural ODE of the piecewise-linear interpolant Z(s) of snapshot s (nodes Z_k at k/L,
/// constant on [0, 1/L]) and evaluates, for each sample, the layer-wise bound (docs/theorems/EulerError.md):
///   E_0 = 0,  E_k = (1 + κ_k/L) E_{k−1} + τ_k,  ‖h_L − H(1)‖ ≤ E_L, with
///   τ_k = [a^V_k (s0√m + s1 M^W_k H̄_k) + s1 ‖V_k‖₂ a^W_k H̄_k]/(2L) + κ_k F_k/(2L²),
///   a^W_k = ‖W_k − W_{k−1}‖₂, a^V_k = ‖V_k − V_{k−1}‖₂ (0 for k = 1), κ_k = s1 ‖V_k‖₂ ‖W_k‖₂,
///   M^W_k = max(‖W_{k−1}‖₂, ‖W_k‖₂) (likewise M^V_k), H̄_k = (‖H(s_{k−1})‖ + M^V_k s0 √m/L)·e^{s1 M^V_k M^W_k/L},
///   F_k = M^V_k (s0√m + s1 M^W_k H̄_k),
/// with ‖H(s_{k−1})‖ from the solve enlarged by 10× its integration error estimate at that node.
/// Step budget of each reference solve (accepted + rejected steps). A smooth σ and weights smooth in depth
/// need about one step per layer interval (the layer nodes are solver stops); a kinked σ (relu) forces step
/// rejections at every kink crossing, tens of thousands of steps even on small settings, so it gets a larger
/// budget. The budget only bounds the check's cost: past it the hypothesis "reference solve accurate" is
/// reported not met (never a verdict on the bound), which is what happens on weights that are rough in depth
/// (i.i.d. layers) at large L.
let maxOdeSteps (activation: ResOdeProofs.Numerics.ActivationKind) (depth: int) =
    let perLayer = 20 * (depth + 1)
    if ResOdeProofs.Numerics.Activations.IsTwiceDifferentiable activation then max 20_000 perLayer
    else max 100_000 perLayer

/// The points besides the layer nodes k/L where the check solve (CheckRtol) also stops: the midpoints (k + ½)/L of the
/// layer intervals, so that its steps are at most half of the longest step the first solve can take there. Where the
/// tolerance does not bind (weights smooth in depth at large L: one step per layer interval meets 10⁻¹² already), both
/// solves otherwise take the same steps, one per interval, and return the same bits: their difference, the integration
/// error estimate, was exactly 0 on the 1 024-layer figure-1 runs, an estimate that could not see any error
/// (docs/theorems/EulerError.md, "Integration error").
let checkSolveStops (depth: int) = [| for k in 0 .. depth - 1 -> (float k + 0.5) / float depth |]

/// The bound is per sample, so it is checked on the first MaxCheckedSamples samples (all of them when
/// n is smaller); the reference solve's cost grows with the number of samples through the kink crossings.
[<Literal>]
let MaxCheckedSamples = 16

/// The analysis of snapshot s (`analyseSnapshotMutated`) with the reference solves at the given tolerances (the solve's,
/// then the check solve's); tests call it at one level.
let analyseSnapshotAt (rtol: float, atol: float, checkRtol: float, checkAtol: float) (c: float) (cDefect: float) (run: Run) (s: int) : SnapshotCheck =
    let st = run.Setting
    let L, m, d = st.Depth, st.Width, st.Dim
    let n = min st.Samples MaxCheckedSamples
    let md = m * d
    let w, v = run.W s, run.V s
    let lw = run.Layerwise s
    let h0 = (lw.H.Layer 0).Slice(0, n * d).ToArray()
    let ode = NeuralOde.PiecewiseLinear(L, m, d, st.Activation, w, v)
    let nodes = [| for k in 0 .. L -> float k / float L |]
    let midpoints = checkSolveStops L
    let sw = Diagnostics.Stopwatch.StartNew()
    let budget = maxOdeSteps st.Activation L
    // The two solves are independent (each has its own buffers; the weight function only reads): the check solve runs
    // on a second thread meanwhile. Each result is the one a solve alone gives; a failure is reported as before, the
    // solve at Rtol's first.
    // (each solve's processor seconds are taken on the thread that ran it: `OdeCpuSeconds`)
    // When the solve at Rtol fails, its failure is the analysis' result and the check solve's is never read: it is stopped
    // then instead of running on to its own step budget (on i.i.d. layers at L = 1 024 both spend 20 500 steps and fail).
    use stopCheck = new System.Threading.CancellationTokenSource()
    let chkTask =
        System.Threading.Tasks.Task.Run(fun () ->
            let c0 = ResOdeProofs.Numerics.ThreadClock.Seconds()
            let chk = ode.Solve(h0, checkRtol, checkAtol, nodes, maxSteps = budget, extraStops = midpoints, cancel = stopCheck.Token)
            struct (chk, ResOdeProofs.Numerics.ThreadClock.Seconds() - c0))
    let sol, seconds, solCpu =
        try
            let c0 = ResOdeProofs.Numerics.ThreadClock.Seconds()
            let sol = ode.Solve(h0, rtol, atol, nodes, maxSteps = budget)
            sol, sw.Elapsed.TotalSeconds, ResOdeProofs.Numerics.ThreadClock.Seconds() - c0
        with _ ->
            stopCheck.Cancel()
            (try chkTask.Wait() with _ -> ())
            reraise ()
    let struct (chk, chkCpu) = chkTask.GetAwaiter().GetResult()
    let s0, s1, sqm = st.S0, st.S1, sqrt (float m)
    let fL = float L
    let struct (wOp, vOp) = run.LayerOperatorNorms s
    let nW = Array.init (L + 1) (fun k -> if k = 0 then 0.0 else wOp.[k - 1])
    let nV = Array.init (L + 1) (fun k -> if k = 0 then 0.0 else vOp.[k - 1])
    // each increment formed in one work array (the norm reads it before the next is formed): the same entries as a fresh
    // array per layer, without 2L arrays of m·d a snapshot
    let diff = Array.zeroCreate md
    let incr (a: float[]) rows cols k =
        if k <= 1 then 0.0
        else
            for j in 0 .. md - 1 do diff.[j] <- a.[(k - 1) * md + j] - a.[(k - 2) * md + j]
            Linalg.spectralUpper rows cols diff 0
    let aW = Array.init (L + 1) (incr w m d)
    let aV = Array.init (L + 1) (incr v d m)
    let mW = Comparison.maxKeepNaN nW
    let mV = Comparison.maxKeepNaN nV
    let kappa = s1 * mV * mW
    let kW = fL * Comparison.maxKeepNaN aW
    let kV = fL * Comparison.maxKeepNaN aV
    let layerMats =
        Array.init L (fun k0 ->
            Linalg.matrix m d w (k0 * md), Linalg.matrix d m v (k0 * md), nW.[k0 + 1], nV.[k0 + 1])
    let froW = Array.init L (fun k0 -> Linalg.frobenius w (k0 * md) md)
    let froV = Array.init L (fun k0 -> Linalg.frobenius v (k0 * md) md)
    let layers =
        Array.init L (fun k0 ->
            let wk, vk, _, _ = layerMats.[k0]
            Secant.layer L wk vk (if k0 = 0 then None else (let wp, vp, _, _ = layerMats.[k0 - 1] in Some (wp, vp))))
    // ‖V_k‖_F·‖W_k‖_F from the two Frobenius norms the layer formed (formed once)
    let frobenius = layers |> Array.map (fun ly -> ly.VF * ly.WF)
    // the sub-intervals of each layer whose κ̄/L exceeds `Secant.SubstepKappaH` (docs/theorems/EulerError.md, "Sub-intervals"),
    // shared by the samples; None where one interval is kept (or σ'' is not bounded)
    let subs =
        Array.init L (fun k0 ->
            let k = k0 + 1
            let mw = max nW.[max 1 (k - 1)] nW.[k]
            let mv = max nV.[max 1 (k - 1)] nV.[k]
            let p = Secant.substepCount L (s1 * mv * mw)
            if p = 1 || st.S2.IsNone then None
            else
                let wk, vk, _, _ = layerMats.[k0]
                let prev = if k0 = 0 then None else (let wp, vp, _, _ = layerMats.[k0 - 1] in Some (wp, vp))
                Some (Secant.substeps L p prev wk vk nW.[max 1 (k - 1)] nW.[k] nV.[max 1 (k - 1)] nV.[k] aW.[k] aV.[k]))
    // the samples are independent of one another (each reads the shared arrays only): as many at a time as the processor budget allows, same numbers
    let samples =
        Budgeted.init n (fun i ->
            let est k = vdiff sol.States.[k] chk.States.[k] (i * d) d
            let pi =
                Secant.propagationFactors st.Activation s1 st.S2 L m d w v (fun k -> struct (nW.[k], nV.[k])) (fun k -> frobenius.[k - 1])
                    (fun k -> lw.H.[k].[i]) (fun k -> ArraySegment(sol.States.[k], i * d, d))
            let mutable e = 0.0
            let mutable secant = 0.0
            let mutable secantNorm = 0.0
            let mutable secantOne = 0.0
            let mutable defectBound = 0.0
            let defects, defectRounding, localBounds = Array.zeroCreate L, Array.zeroCreate L, Array.zeroCreate L
            let localBoundsNorm = Array.zeroCreate L
            let localBoundsOne = Array.zeroCreate L
            let mutable hmax = 0.0
            // the largest δ_k over its local bound (0/0 = 0: no integration term where the estimates vanish; a NaN is kept,
            // so that it cannot be passed over and the loose level is not kept on it)
            let mutable nodeShare = 0.0
            for k in 1 .. L do
                let hn = vnorm sol.States.[k - 1] (i * d) d + EstimateMargin * est (k - 1)
                let mw = max nW.[max 1 (k - 1)] nW.[k]
                let mv = max nV.[max 1 (k - 1)] nV.[k]
                let hbar = (hn + mv * s0 * sqm / fL) * Portable.exp (s1 * mv * mw / fL)
                hmax <- max hmax hbar
                let fk = mv * (s0 * sqm + s1 * mw * hbar)
                let kap = s1 * nV.[k] * nW.[k]
                let tau = OdeLimit.localError fL (aV.[k] * (s0 * sqm + s1 * mw * hbar) + s1 * nV.[k] * aW.[k] * hbar) kap fk
                e <- OdeLimit.propagate fL kap e tau
                // one-interval integration error of the reference nodes: ‖H̃_k − Φ_k(H̃_{k−1})‖ ≤ ε_k + e^{s1 M^V M^W/L} ε_{k−1},
                // the node errors ε taken as 10× their estimates (as for ‖H(s_{k−1})‖ above)
                let delta = EstimateMargin * (est k + Portable.exp (s1 * mv * mw / fL) * est (k - 1))
                // the local error of the flow started at H̃_{k−1} (B.bound.secant), with the sharper bound S_k of
                // ‖σ(W(s)H(s))‖ on I_k measured from σ(W_k H̃_{k−1}) (doc): F_k ≤ M^V S_k
                let yk = sol.States.[k - 1].[i * d .. i * d + d - 1]
                let ly = layers.[k - 1]
                let img = Secant.layerImage st.Activation s1 ly (MathNet.Numerics.LinearAlgebra.Vector<float>.Build.DenseOfArray yk)
                let sigNorm = img.SigmaNorm
                let sk = min (s0 * sqm + s1 * mw * hbar) (sigNorm + s1 * (aW.[k] * hbar + nW.[k] * fk / fL))
                let tauS = (aV.[k] * sk + s1 * nV.[k] * aW.[k] * hbar) / (2.0 * fL) + kap * mv * sk / (2.0 * fL * fL)
                let tauT1 =
                    Secant.taylorLocalError st.Activation s1 st.S2 L ly img (mv * sk) mw mv nW.[k] nV.[k] aW.[k] aV.[k] yk
                    |> Option.defaultValue infinity
                // the same model over the layer's sub-intervals where κ̄/L is large (both are bounds: the smaller is used)
                let tauT =
                    match subs.[k - 1] with
                    | Some sub -> min tauT1 (Secant.substepLocalError st.Activation s0 s1 st.S2 L sub img yk |> Option.defaultValue infinity)
                    | None -> tauT1
                secant <- secant + pi.[k] * (min (min tau tauS) tauT + delta)
                secantNorm <- secantNorm + pi.[k] * (min tau tauS + delta)
                secantOne <- secantOne + pi.[k] * (min (min tau tauS) tauT1 + delta)
                let next = sol.States.[k].[i * d .. i * d + d - 1]
                let next =
                    if cDefect = 1.0 then next
                    else
                        Array.init d (fun r -> yk.[r] + img.F.[r] / fL + cDefect * (next.[r] - yk.[r] - img.F.[r] / fL))
                let struct (dn, dr) = Secant.nodeDefect L img yk next
                defects.[k - 1] <- dn
                defectRounding.[k - 1] <- dr
                localBounds.[k - 1] <- min (min tau tauS) tauT + delta
                localBoundsNorm.[k - 1] <- min tau tauS + delta
                localBoundsOne.[k - 1] <- min (min tau tauS) tauT1 + delta
                if delta <> 0.0 then
                    let share = delta / localBounds.[k - 1]
                    if Double.IsNaN share || Double.IsNaN nodeShare then nodeShare <- nan
                    elif share > nodeShare then nodeShare <- share
                defectBound <- defectBound + pi.[k] * (dn + dr)
            let lipK = kV * (s0 * sqm + s1 * mW * hmax) + s1 * mV * kW * hmax
            let f = mV * (s0 * sqm + s1 * mW * hmax)
            let paper = OdeLimit.paperForm fL kappa lipK f
            let hl = Array.init d (fun r -> sol.Final.[i * d + r] + c * (lw.H.[L].[i].[r] - sol.Final.[i * d + r]))
            let measured = sqrt (Array.sumBy (fun r -> let x = hl.[r] - sol.Final.[i * d + r] in x * x) [| 0 .. d - 1 |])
            let rounding =
                Rounding.forwardOutputRounding m d s0 s1
                    (Array.init L (fun k0 -> froW.[k0], froV.[k0], nW.[k0 + 1], nV.[k0 + 1], Linalg.normOf lw.H.[k0].[i], Linalg.normOf lw.H.[k0 + 1].[i]))
                    measured
            let finalTerm = EstimateMargin * est L
            let finalShare = if finalTerm = 0.0 then 0.0 else finalTerm / Comparison.minKeepNaN [ e; secant; defectBound ]
            { Sample = i; Measured = measured; Bound = e; PaperBound = paper; IntegrationError = est L; Rounding = rounding
              SecantBound = secant; SecantBoundNormLocal = secantNorm; SecantBoundOneInterval = secantOne
              DefectBound = defectBound; Defects = defects; DefectRounding = defectRounding; LocalBounds = localBounds
              LocalBoundsNorm = localBoundsNorm; LocalBoundsOneInterval = localBoundsOne
              IntegrationShare = Comparison.maxKeepNaN [ nodeShare; finalShare ] })
    { Snapshot = s
      Time = run.Time s
      Samples = samples
      Constants =
        [ "s0", s0; "s1", s1; "M_W = max_k ‖W_k‖₂", mW; "M_V = max_k ‖V_k‖₂", mV; "kappa = s1 M_V M_W", kappa
          "K_W = L max_k ‖W_{k+1} − W_k‖₂", kW; "K_V = L max_k ‖V_{k+1} − V_k‖₂", kV
          "max_i paper-form bound e^κ(Lip_Z f·K + κF)/(2L)", (samples |> Array.map (fun c -> c.PaperBound) |> Comparison.maxKeepNaN)
          "max_i layer-wise bound E_L", (samples |> Array.map (fun c -> c.Bound) |> Comparison.maxKeepNaN)
          "max_i secant-Jacobian bound", (samples |> Array.map (fun c -> c.SecantBound) |> Comparison.maxKeepNaN)
          "max_i integration error estimate", (samples |> Array.map (fun c -> c.IntegrationError) |> Comparison.maxKeepNaN)
          "samples checked", float n
          "reference solve rtol (the loose level where its integration terms are ≤ 1e-3 of every bound they enter, else the tight one)", rtol
          "ODE steps (accepted)", float sol.Steps; "ODE steps rejected", float sol.Rejected; "ODE solve seconds", seconds
          "check solve steps (accepted; rtol a hundredth of the solve's, also stopped at the midpoints of the layer intervals)", float chk.Steps ]
      OdeSteps = sol.Steps
      OdeRejected = sol.Rejected
      CheckSteps = chk.Steps
      SolveRtol = rtol
      SolveAtol = atol
      CheckSolveRtol = checkRtol
      CheckSolveAtol = checkAtol
      LooseTried = (rtol = LooseRtol)
      OdeSeconds = seconds
      OdeCpuSeconds = solCpu + chkCpu
      BoundRel = Rounding.chainRel run }

/// True when an analysis at the loose level can stand for the tight one: every sample's integration terms (the error
/// estimates, finite, times `EstimateMargin`, where they enter the local bounds δ_k and the final comparison) are at most
/// `IntegrationFraction` of the bound they enter, so that no bound or measured distance of B.* moves by more than that
/// fraction through the looser solve (the hypothesis "reference solve accurate" is checked on the level kept, as before).
let acceptsLoose (check: SnapshotCheck) =
    check.Samples |> Array.forall (fun x -> Double.IsFinite x.IntegrationError && x.IntegrationShare <= IntegrationFraction)

/// The analysis at the tight level only (the former fixed tolerances); tests compare the two levels with it.
let analyseSnapshotTight (c: float) (cDefect: float) (run: Run) (s: int) : SnapshotCheck =
    analyseSnapshotAt (Rtol, Atol, CheckRtol, CheckAtol) c cDefect run s

/// The analysis of snapshot s with the ResNet's error scaled by c: the final states are replaced by
/// H̃_L + c·(h_L − H̃_L) (c = 1: the run itself), and with every defect of the reference nodes scaled by
/// cDefect: the node checked against layer k is H̃_{k−1} + (1/L)V_kσ(W_k H̃_{k−1}) + cDefect·τ̃_k. Scales ≠ 1 are
/// mutations for tests: a scheme whose error is c times the actual one, or a reference solution whose one-layer
/// defects are cDefect times the actual ones, which a bound loose by less than the scale must reject.
/// The reference solves are made at the loose level first (`LooseRtol`) and kept where `acceptsLoose` holds; otherwise
/// (a loose solve the solver gave up on included) the analysis is made again at the tight level (`Rtol`), whose result
/// stands as before.
/// The loose attempt of the two levels: Some of its result, or None when the solver gave up (its own failures: a step
/// budget exhausted, a step size below its floor, a state not finite, all `InvalidOperationException`), which sends the
/// snapshot to the tight level. Any other exception is an error of the analysis and propagates as it is.
let tryLooseLevel (attempt: unit -> 'T) : 'T option =
    try Some(attempt ()) with :? InvalidOperationException -> None

let private analyseSnapshotTrying (tryLoose: bool) (c: float) (cDefect: float) (run: Run) (s: int) : SnapshotCheck * bool =
    let loose =
        if not tryLoose then None
        else tryLooseLevel (fun () -> analyseSnapshotAt (LooseRtol, LooseAtol, LooseCheckRtol, LooseCheckAtol) c cDefect run s)
    match loose with
    | Some a when acceptsLoose a -> a, false
    | Some a ->
        let t = analyseSnapshotTight c cDefect run s
        // the loose attempt's solve time is part of what this snapshot cost
        { t with OdeSeconds = t.OdeSeconds + a.OdeSeconds; OdeCpuSeconds = t.OdeCpuSeconds + a.OdeCpuSeconds; LooseTried = true }, true
    | None -> { analyseSnapshotTight c cDefect run s with LooseTried = tryLoose }, tryLoose

let analyseSnapshotMutated (c: float) (cDefect: float) (run: Run) (s: int) : SnapshotCheck =
    fst (analyseSnapshotTrying true c cDefect run s)

/// The analysis of snapshot s with the ResNet's error scaled by c (analyseSnapshotMutated c 1).
let analyseSnapshotScaled (c: float) (run: Run) (s: int) : SnapshotCheck = analyseSnapshotMutated c 1.0 run s

/// <summary>
/// <paramref name="compute"/> evaluated at most once per run, its failure included: a later call rethrows the exception
/// the first call raised instead of computing again. The four rows that read the analysis (B.bound, B.bound.secant,
/// B.bound.defect, B.local) each asked again when the reference solve failed (a step budget exhausted after minutes of
/// solving), and got the same failure; the computation is deterministic, so its failure is as much its result as a value
/// is. A cancellation is not kept.
/// </summary>
let oncePerRun (compute: Run -> 'T) : Run -> 'T =
    // a Lazy per run: two threads that ask at once (a row and the references started beside the replay,
    // `Registry.verifyRun`) share one computation, the second waiting for the first's
    let table = ConditionalWeakTable<Run, Lazy<Choice<'T, Runtime.ExceptionServices.ExceptionDispatchInfo>>>()
    fun run ->
        let once =
            table.GetValue(run, ConditionalWeakTable<Run, Lazy<Choice<'T, Runtime.ExceptionServices.ExceptionDispatchInfo>>>.CreateValueCallback(fun r ->
                lazy
                    (try Choice1Of2(compute r)
                     with
                     | :? OperationCanceledException -> reraise ()
                     | e -> Choice2Of2(Runtime.ExceptionServices.ExceptionDispatchInfo.Capture e))))
        let kept =
            try once.Value
            with :? OperationCanceledException ->
                table.Remove run |> ignore
                reraise ()
        match kept with
        | Choice1Of2 v -> v
        | Choice2Of2 failure ->
            failure.Throw()
            Unchecked.defaultof<'T>

/// Every snapshot of a run, computed once per run (a failure too, see <see cref="oncePerRun"/>), in order. Once the loose
/// level has been tried and not kept at a snapshot, the later snapshots are solved at the tight level at once: the layers
/// move little from one snapshot to the next, so the loose level would most likely be paid for and dropped again (a later
/// snapshot that would have kept it loses only time; every analysis is one of the two levels' as before).
let analyse : Run -> SnapshotCheck[] =
    oncePerRun (fun r ->
        let mutable tryLoose = true
        Array.init r.SnapshotCount (fun s ->
            let check, dropped = analyseSnapshotTrying tryLoose 1.0 1.0 r s
            if dropped then tryLoose <- false
            check))

let private lipschitzSigma (run: Run) =
    let s1 = run.Setting.S1
    if Double.IsFinite s1 then Met(sprintf "σ = %A is Lipschitz with s1 = sup|σ'| = %.4g" run.Setting.Activation s1)
    else NotMet "σ is not Lipschitz (s1 = ∞)"

let private finiteWeights (run: Run) =
    if weightsFinite run then Met "every snapshot's W and V are finite"
    else NotMet "a snapshot has non-finite weights (a diverged run): the ODE and the bound are undefined"

/// The integration error of H(1) (difference of the rtol 1e-10 and 1e-12 solves) is at most 1e-3 of the bound
/// that `boundOf` selects (the layer-wise E_L for B.bound, the secant-Jacobian bound for B.bound.secant).
let private accurateSolveFor (boundOf: SampleCheck -> float) (run: Run) =
    if not (weightsFinite run) then NotMet "not evaluated: weights are not finite"
    else
        try
            let all = analyse run |> Array.collect (fun c -> c.Samples |> Array.map (fun x -> c, x))
            // a solve that left the finite numbers (a finite-time blow-up of the ODE, the solver diverging) has no error
            // estimate: NaN ratios must not be passed over by the maximum below
            match all |> Array.tryFind (fun (_, x) -> not (Double.IsFinite x.IntegrationError)) with
            | Some(c, x) ->
                NotMet(sprintf "the reference solve left the finite numbers (sample %d, t = %g: the error estimate of H(1) is not finite)" x.Sample c.Time)
            | None ->
            // nor has a bound that is not a number (its factors overflowed float64 on weights this large): nothing can be
            // compared with it, which is said as such (a user's diverged softplus run read "≤ 0.001 × bound NaN")
            match all |> Array.tryFind (fun (_, x) -> Double.IsNaN(boundOf x)) with
            | Some(c, x) ->
                NotMet(sprintf "the bound is not a number (sample %d, t = %g: its factors overflowed float64), so neither the reference solve's error nor the comparison can be set against it" x.Sample c.Time)
            | None ->
            let c, x = all |> Comparison.worstBy (fun (_, x) -> if x.IntegrationError = 0.0 then 0.0 else x.IntegrationError / boundOf x)
            let b = boundOf x
            if x.IntegrationError <= IntegrationFraction * b then
                Met(sprintf "integration error estimate ≤ %.2e (worst ratio to the bound %.2e, snapshot t = %g) ≤ %g·bound"
                        x.IntegrationError (if b = 0.0 then 0.0 else x.IntegrationError / b) c.Time IntegrationFraction)
            else
                NotMet(sprintf "integration error estimate %.3e is not ≤ %g × bound %.3e (sample %d, t = %g): the reference solve is not accurate enough"
                           x.IntegrationError IntegrationFraction b x.Sample c.Time)
        with ex -> NotMet(sprintf "the neural-ODE solve failed: %s" ex.Message)

/// The hypotheses of the MLP's rows: σ Lipschitz, finite weights, and a reference solve whose integration error is at
/// most 1e-3 of the bound `boundOf` selects.
let private hypotheses (boundOf: SampleCheck -> float) =
    [ "σ Lipschitz", lipschitzSigma; Hypotheses.hasSnapshots; "weights finite", finiteWeights; "reference solve accurate", accurateSolveFor boundOf ]

/// The MLP's ingredients of result B: the statements of OdeLimit with the MLP's own, sharper ingredients.
let family : OdeLimit.Family =
    { Doc = "docs/theorems/EulerError.md"
      Which = ""
      Constants =
        "f(θ, h) = Vσ(Wh) with σ Lipschitz only (s1 = sup|σ'|), κ_k = s1‖V_k‖₂‖W_k‖₂ and the variation v_k = a^V_k(s0√m + s1M^W_kH̄_k) "
        + "+ s1‖V_k‖₂a^W_kH̄_k from the spectral norms of the layers and of their increments (the MLP's own constants)"
      Reference =
        sprintf "H(1) by Dormand–Prince 5(4) at rtol %g where every integration term stays ≤ %g of the bound it enters, else at rtol %g, with every node a stop, its error estimated by a second solve at a hundredth of that rtol " LooseRtol IntegrationFraction Rtol
        + "that also stops at the midpoints of the layer intervals (so that the two do not take the same steps where one step per interval meets both tolerances) "
        + sprintf "and allowed on top of the bound (hypothesis: at most %g of it)" IntegrationFraction }

/// How the MLP's rows compare a sample, given the run: the bound plus the integration error of H̃_L (its estimate times
/// `EstimateMargin`, as everywhere a bound needs that error) plus the rounding of the measured distance
/// (`Rounding.forwardOutputRounding`: the verifier's float64 forward pass and the difference's norm), within the relative
/// rounding of a bound built in float64 by a recursion over the L layers from norms of one pass (`Rounding.chainRel`);
/// the row reports the compared bound, the bare one beside it as a constant (docs/theorems/EulerError.md, "Rounding of the comparison").
let comparingAt (boundRel: float) : OdeLimit.Comparing<SampleCheck> =
    { Sample = fun x -> x.Sample
      Measured = fun x -> x.Measured
      Compared = fun x b -> b + EstimateMargin * x.IntegrationError + x.Rounding
      Rel = boundRel
      ReportBare = true }

/// `comparingAt` with the allowance the analysed snapshots carry (the run's `Rounding.chainRel`).
let comparingOf (checks: SnapshotCheck[]) = comparingAt (checks |> Array.tryHead |> Option.map (fun c -> c.BoundRel) |> Option.defaultValue 0.0)

/// The analysed snapshots as the statements read them.
let snapshots (checks: SnapshotCheck[]) : OdeLimit.Snapshot<SampleCheck>[] =
    checks |> Array.map (fun c -> { When = sprintf "snapshot %d (t = %g)" c.Snapshot c.Time; Samples = c.Samples })

/// B.bound: ‖h_L^i − H^i(1)‖ ≤ E_L^i (layer-wise) ≤ e^κ (Lip_Z f·K + κF)/(2L) at every snapshot and sample.
let bound : Result<Run> =
    OdeLimit.boundResult family
        (hypotheses (fun x -> x.Bound))
        (fun run ->
            let checks = analyse run
            let snaps = snapshots checks
            let comparing = comparingOf checks
            let e, si, x = OdeLimit.compareAll comparing (fun x -> x.Bound) snaps
            let c = checks.[si]
            let tight = OdeLimit.tightness comparing (fun x -> x.Bound) snaps
            let paperTight = OdeLimit.tightness comparing (fun x -> x.PaperBound) snaps
            { e with
                Constants = c.Constants
                Notes =
                  [ Evaluation.AnyWeights
                    sprintf "worst case: sample %d at snapshot t = %g, measured %.3e, layer-wise bound %.3e, paper-form bound %.3e, integration error %.1e"
                        x.Sample c.Time x.Measured x.Bound x.PaperBound x.IntegrationError
                    if tight.Length > 0 then
                        sprintf "tightness (bound/measured) over samples and snapshots: layer-wise min %.3g, max %.3g; paper-form min %.3g"
                            (Comparison.minKeepNaN tight) (Comparison.maxKeepNaN tight) (Comparison.minKeepNaNOr nan paperTight)
                    else "the ResNet equals the ODE solution at every snapshot (V = 0: both are the identity)"
                    sprintf "ODE solves (DP5(4); rtol %g, or %g where the integration terms stay ≤ %g of every bound): %s" Rtol LooseRtol IntegrationFraction
                        (checks |> Array.map (fun c -> sprintf "t=%g: rtol %g, %d steps, %d rejected, %.2fs (check solve at rtol %g: %d steps)" c.Time c.SolveRtol c.OdeSteps c.OdeRejected c.OdeSeconds c.CheckSolveRtol c.CheckSteps) |> String.concat "; ") ] })

/// The verdict of a propagated bound (B.bound.secant, B.bound.defect) on analysed snapshots: `boundOf` selects the
/// bound of a sample, `name` names it in the notes; the tightness of the other bounds on the same samples is listed.
let propagatedConclusion (name: string) (boundOf: SampleCheck -> float) (checks: SnapshotCheck[]) : Evaluation =
    let snaps = snapshots checks
    let comparing = comparingOf checks
    let e, si, x = OdeLimit.compareAll comparing boundOf snaps
    let c = checks.[si]
    let tight f = OdeLimit.tightness comparing f snaps
    let worst (a: float[]) = Comparison.minKeepNaNOr infinity a
    let thisTight = tight boundOf
    let others =
        [ "secant propagation, Taylor-model local errors (B.bound.secant)", tight (fun x -> x.SecantBound)
          "secant propagation, Taylor model on one interval per layer", tight (fun x -> x.SecantBoundOneInterval)
          "secant propagation, norm bounds of the local error only", tight (fun x -> x.SecantBoundNormLocal)
          "secant propagation of the computed node defects (B.bound.defect)", tight (fun x -> x.DefectBound)
          "layer-wise bound of B.bound", tight (fun x -> x.Bound) ]
    { e with
        Constants =
            c.Constants
            @ [ sprintf "worst tightness, %s" name, worst thisTight ]
            @ [ for n, t in others -> sprintf "worst tightness, %s (same samples)" n, worst t ]
        Notes =
            [ Evaluation.AnyWeights
              sprintf "worst case: sample %d at snapshot t = %g, measured %.3e, %s %.3e (B.bound's layer-wise bound %.3e), integration error %.1e"
                  x.Sample c.Time x.Measured name (boundOf x) x.Bound x.IntegrationError
              if thisTight.Length > 0 then
                  sprintf "tightness over samples and snapshots: %s; %s" (sprintf "%s min %.3g, max %.3g" name (Comparison.minKeepNaN thisTight) (Comparison.maxKeepNaN thisTight))
                      (others |> List.filter (fun (_, t) -> t.Length > 0) |> List.map (fun (n, t) -> sprintf "%s min %.3g, max %.3g" n (Comparison.minKeepNaN t) (Comparison.maxKeepNaN t)) |> String.concat "; ")
              else "the ResNet equals the ODE solution at every snapshot (V = 0: both are the identity)" ] }

/// The verdict of B.bound.secant on analysed snapshots.
let secantConclusion (checks: SnapshotCheck[]) : Evaluation =
    propagatedConclusion "secant-Jacobian bound" (fun x -> x.SecantBound) checks

/// The verdict of B.bound.defect on analysed snapshots.
let defectConclusion (checks: SnapshotCheck[]) : Evaluation =
    propagatedConclusion "propagated node-defect bound" (fun x -> x.DefectBound) checks

/// The verdict of B.local on analysed snapshots: every computed node defect against its local-error bound.
let localConclusion (checks: SnapshotCheck[]) : Evaluation =
    let all =
        [ for c in checks do
            // the snapshot's label once per snapshot, the place by concatenation: the same text as a format per comparison
            let when' = sprintf "snapshot %d (t = %g)" c.Snapshot c.Time
            for x in c.Samples do
                let sample = "sample i = " + string x.Sample + ", layer k = "
                for k0 in 0 .. x.Defects.Length - 1 ->
                    ({ Measured = x.Defects.[k0]; Bound = x.LocalBounds.[k0] + x.DefectRounding.[k0]
                       Where = sample + string (k0 + 1); When = when' }
                     : Comparison.Check) ]
    let notes =
        Evaluation.AnyWeights
        :: (match snd (Comparison.worst 0.0 all) with
            | Some w -> [ sprintf "worst case: %s at %s, computed defect %.3e, local-error bound %.3e" w.Where w.When w.Measured w.Bound ]
            | None -> [])
    // the loosest comparison the local bounds on one Taylor interval per layer would give (before the sub-intervals)
    let loosestOne =
        [ for c in checks do
            for x in c.Samples do
                for k0 in 0 .. x.Defects.Length - 1 do
                    if x.Defects.[k0] > 0.0 then (x.LocalBoundsOneInterval.[k0] + x.DefectRounding.[k0]) / x.Defects.[k0] ]
        |> Comparison.maxKeepNaNOr nan
    Comparison.evaluation 0.0 all
        [ "comparisons (samples × layers × snapshots)", float all.Length
          "loosest tightness, local bounds on one Taylor interval per layer", loosestOne ] notes

/// B.bound.secant: the same local errors, propagated by the products of the exact secant Jacobians of the error
/// recursion instead of the products of their norm bounds (docs/theorems/EulerError.md).
let boundSecant : Result<Run> =
    OdeLimit.propagatedResult family "secant" "secant Jacobians"
        ("the secant Jacobians J̃_k = I + (1/L)V_k diag(D̃_k)W_k (D̃_k the slopes of σ between W_k h_{k−1} and W_k H̃_{k−1}, each with a "
         + "bound on its rounding) and r_k = 0: the recursion is exact, and the Taylor model's τ̄_k is the MLP's own (docs/theorems/EulerError.md)")
        (hypotheses (fun x -> x.SecantBound))
        (fun run -> secantConclusion (analyse run))

/// B.bound.defect: the computed defects of the reference nodes propagated by the same certified products.
let boundDefect : Result<Run> =
    { Id = "B.bound.defect"
      Title = "ResNet vs neural ODE at fixed weights: the error is the propagated defect of the ODE's nodes"
      Source = "derived here (docs/theorems/EulerError.md, B.bound.defect)"
      Provenance = ProvedHereEstimated "the reference solve's error"
      Doc = "docs/theorems/EulerError.md"
      Statement =
        "At every snapshot, with H̃_k the reference solution at s = k/L and J̃_k the secant Jacobians of B.bound.secant, the error "
        + "ẽ_k = h_k − H̃_k obeys ẽ_k = J̃_k ẽ_{k−1} − τ̃_k with the node defect τ̃_k = H̃_k − H̃_{k−1} − (1/L)V_kσ(W_k H̃_{k−1}), computed "
        + "with a bound on its rounding, so ‖h_L^i − H^i(1)‖ ≤ Σ_k π_k (‖τ̂_k‖ + ρ_k) + ‖H̃_L − H(1)‖. B.local bounds each defect by "
        + "the local-error bounds (the O(1/L²) content); together they give B.bound.secant."
      Hypotheses = hypotheses (fun x -> x.DefectBound)
      Conclusion = fun run -> defectConclusion (analyse run) }

/// B.local: every defect of the reference nodes is within the local-error bound of the layer interval.
let localError : Result<Run> =
    { Id = "B.local"
      Title = "ResNet vs neural ODE at fixed weights: one-layer defect within the local-error bound"
      Source = "derived here (docs/theorems/EulerError.md, B.local)"
      Provenance = ProvedHereEstimated "the reference solve's error"
      Doc = "docs/theorems/EulerError.md"
      Statement =
        "At every snapshot, sample and layer k, the defect of the reference nodes ‖H̃_k − H̃_{k−1} − (1/L)V_kσ(W_k H̃_{k−1})‖ is at most "
        + "min(τ̄_k, τ̄'_k, τ̄''_k) + δ_k: the local error of the flow over [s_{k−1}, s_k] started at H̃_{k−1} (norm bounds τ̄_k, τ̄'_k of "
        + "B.bound.secant; Taylor model τ̄''_k, a computed second-order term plus a bounded remainder) plus the one-interval integration error."
      Hypotheses = hypotheses (fun x -> x.SecantBound)
      Conclusion = fun run -> localConclusion (analyse run) }

/// The common snapshot iterations of a ladder.
let commonSteps (ladder: Ladder) =
    ladder.Runs |> List.map (fun r -> Set.ofArray r.Steps) |> Set.intersectMany |> Set.toList

/// True when the network of snapshot index s of run r is not the identity (some V entry ≠ 0).
let private notIdentity (r: Run) (s: int) = r.V s |> Array.exists (fun x -> x <> 0.0)

/// max_i ‖h_L^i − H^i(1)‖ of every run of the ladder at common iteration j, and the uncertainty of each: its integration
/// error estimate (max over samples) times `EstimateMargin`, as every place that needs the error itself takes it (it was
/// taken once, a referee noted; negligible there, estimates of 10⁻¹³ against errors of 10⁻³)
let private errorsAt (ladder: Ladder) (j: int) =
    let at (r: Run) = (analyse r).[Array.IndexOf(r.Steps, j)].Samples
    let worst f = ladder.Runs |> List.map (fun r -> at r |> Array.map f |> Comparison.maxKeepNaN)
    worst (fun x -> x.Measured), worst (fun x -> EstimateMargin * x.IntegrationError)

/// The observed order of max_i ‖h_L^i − H^i(1)‖ in L at every common snapshot where no run is the identity.
/// Only iteration 0 enters B.rate's verdict: there the layers of all depths sample exactly the same Z⁰(s);
/// trained snapshots sample Z(s, t) only up to O(1/L) (result D) and are reported for information.
let observedOrders (ladder: Ladder) =
    commonSteps ladder
    |> List.filter (fun j -> ladder.Runs |> List.forall (fun r -> notIdentity r (Array.IndexOf(r.Steps, j))))
    |> List.map (fun j ->
        let errs, eps = errorsAt ladder j
        j, snd (Rate.decide (Rate.fitWithUncertainty ladder.Depths errs eps) (Rate.fitWithCorrectionAndUncertainty ladder.Depths errs eps)))

/// The hypotheses of B.rate that need no reference solve, in the order the row lists them (the solves' comes after them).
let private rateWithoutSolves : (string * (Ladder -> HypothesisCheck)) list =
    [ Hypotheses.noRunDiverged
      "layers sample one function of depth", (fun l -> Evidence.sameInitialFunction l.Runs)
      "iteration 0 snapshot in every run", (fun l -> if List.contains 0 (commonSteps l) then Met "yes" else NotMet "some run has no snapshot at iteration 0")
      "weights finite", (fun l -> if l.Runs |> List.forall weightsFinite then Met "all runs finite" else NotMet "a run has non-finite weights")
      "network not the identity at t = 0",
      (fun l ->
          if l.Runs |> List.forall (fun r -> notIdentity r 0) then Met "V⁰ ≠ 0 in every run"
          else NotMet "V⁰ = 0: the ResNet and the ODE are both the identity, the error is 0 at every depth") ]

/// B.rate's last hypothesis: the reference solves of every rung at every snapshot, as B.bound's hypothesis takes them
/// (`analyse`). A solve that fails (its step budget spent on a stiff or blowing-up ODE) is a hypothesis not met, not a
/// tool error (B.rate raised, exit 3, where B.bound on the same rung said "hypothesis not met"). The solves are the row's
/// whole cost (on the quick report's i.i.d. ladder 9.7 s of a ladder verify whose verdict was "hypothesis not met" by the
/// others): deferred (`Hypotheses.whenOthersHold`), they are made only when every other hypothesis holds, and then for as
/// many rungs at a time as there are cores, the largest first (each rung's analysis is the same numbers on any thread; the
/// failure named is the first in the ladder's order, as before).
let private rateSolves : Hypotheses.Hypothesis<Ladder> =
    Hypotheses.whenOthersHold (
        "reference solve of every run",
        fun (l: Ladder) ->
            let rungs = l.Runs |> List.sortByDescending (fun r -> r.Setting.Depth * r.SnapshotCount) |> Array.ofList
            Threading.Tasks.Parallel.ForEach(rungs, Threading.Tasks.ParallelOptions(MaxDegreeOfParallelism = ResOdeProofs.Numerics.ProcessorBudget.Available),
                                             fun r -> try analyse r |> ignore with _ -> ()) |> ignore
            match l.Runs |> List.tryPick (fun r -> try analyse r |> ignore; None with ex -> Some(r, ex.Message)) with
            | None -> Met "every run's neural-ODE solve completed"
            | Some(r, why) -> NotMet(sprintf "the neural-ODE solve failed on L = %d: %s" r.Setting.Depth why))

/// B.rate: over a ladder of depths discretizing the same function of depth Z⁰, the error is O(1/L).
let rate : Result<Ladder> =
    OdeLimit.rateResult family (fun l -> l.Depths)
        (rateWithoutSolves @ [ rateSolves ])
        (fun l -> errorsAt l 0)
        (fun l ->
            [],
            observedOrders l |> List.filter (fun (j, _) -> j <> 0)
            |> List.map (fun (j, o) -> sprintf "iteration %d (information only): %s" j (Rate.describe o)))

/// Single-run results of this file.
let all : Result<Run> list = [ bound; boundSecant; boundDefect; localError ]

/// Ladder results of this file.
let ladder : Result<Ladder> list = [ rate ]
