/// Result C: the Polyak–Łojasiewicz (PL) condition at a zero-V initialization and what it gives for long
/// gradient-descent training. Derivations: docs/theorems/PolyakLojasiewicz.md.
///
/// Notation. R = [B h_L^1 − y_1 … B h_L^n − y_n] (residuals), ℓ = (1/n)‖R‖_F², G_k = L·∂ℓ/∂Z_k,
/// r := Σ_k ‖G_k‖_F² / (L ℓ) (the trace column pl_ratio). ℓ_⊥ = (1/n) Σ_i ‖(I − Π_B) y_i‖² is the part of
/// the loss outside the range of B (no weights can reduce it; 0 when B = I or B has full row rank),
/// ε := ℓ − ℓ_⊥ the reducible loss, r̃ := r·ℓ/ε = Σ_k‖G_k‖²/(L ε).
module ResOdeProofs.Theory.PolyakLojasiewicz

open System
open MathNet.Numerics.LinearAlgebra
open ResOdeProofs.Numerics
// roundingRel, the relative accuracy assumed for losses and trace quantities computed in float64 along the run, is
// the comparison kernel's (well above the n·d·2^-52 accumulation error of the settings checked here)
open ResOdeProofs.Theory.Comparison

/// Machine epsilon of float64, 2^-52 = 2u (`Rounding.Float64UnitRoundoff`): the usual relative tolerance of a
/// computed eigenvalue or singular value.
let private machineEpsilon = 2.0 * Rounding.Float64UnitRoundoff

/// The fraction f of μ₀ that the PL ratio must keep along the run: r̃(t_j) ≥ f·μ₀.
let plFraction = 0.25

/// The descent-lemma factor c: under η·β̂_j ≤ 1 each step gives ε_{j+1} ≤ ε_j (1 − c·η·r̃_j) with c = 1/2.
let descentFactor = 0.5

/// The quantities of the initialization that μ₀ is made of.
type InitConstants =
    { /// max_k ‖V_k(0)‖_F
      V0Norm: float
      /// λ_min(Ḡ), Ḡ = (1/L) Σ_k Φ_kᵀΦ_k ∈ R^{n×n}, Φ_k = [σ(W_k(0) h_0^1) … σ(W_k(0) h_0^n)] ∈ R^{m×n}
      LambdaMinGram: float
      /// (1/L) Σ_k λ_min(Φ_kᵀΦ_k) ≤ λ_min(Ḡ)
      LambdaMinLayersMean: float
      /// tr Ḡ = (1/L) Σ_k ‖Φ_k‖_F² (≥ ‖Ḡ‖₂)
      GramTrace: float
      /// τ = (m + n)·2^-52·tr Ḡ: the float64 error bound of a computed eigenvalue of Ḡ; λ_min ≤ τ counts as 0
      Threshold: float
      /// smallest nonzero singular value σ_+(B) of the read-out (1 for B = I)
      SigmaB: float
      /// ℓ_⊥ = (1/n) Σ_i ‖(I − Π_B) y_i‖²
      LossPerp: float
      /// μ₀ = 4 σ_+(B)² λ_min(Ḡ) / n
      Mu0: float
      /// 4 σ_+(B)² (1/L) Σ_k λ_min(Φ_kᵀΦ_k) / n (the layer-averaged, weaker constant; equal to μ₀ for tied init)
      Mu0Layers: float
      /// rounding allowance on μ₀: 4 σ_+(B)² τ / n
      Mu0Error: float }

let private cache = Runtime.CompilerServices.ConditionalWeakTable<Run, InitConstants>()

/// Computes the initialization constants from snapshot 0 (iteration 0).
let initConstants (run: Run) : InitConstants =
    cache.GetValue(run, fun run ->
        let s = run.Setting
        let L, m, n, d = s.Depth, s.Width, s.Samples, s.Dim
        let v0 = run.V 0
        let v0norm = Seq.max (seq { for k in 0 .. L - 1 -> Linalg.frobenius v0 (run.LayerOffset k) run.LayerSize })
        let lw = run.Layerwise 0
        // Φ_k[j, i] = σ((W_k h_{k−1}^i)_j); with V(0) = 0, h_{k−1} = h_0. The reference's forward pass holds these values
        // (`Sigma`: the same numbers as `Activations.Value` of its pre-activations), so they are read, not evaluated again.
        let phi k = Matrix<float>.Build.Dense(m, n, fun j i -> lw.Sigma.[k].[i].[j])
        let grams = [| for k in 0 .. L - 1 -> let p = phi k in p.TransposeThisAndMultiply p |]
        let gbar = (grams |> Array.reduce (+)) / float L
        let lamGram = max 0.0 (Linalg.lambdaMin gbar)
        // λ_min(Φ_kᵀΦ_k) = 0 exactly when m < n (its rank is at most m): the n×n eigenproblems are solved only when m ≥ n
        let lamLayers = if m < n then 0.0 else grams |> Array.averageBy (fun g -> max 0.0 (Linalg.lambdaMin g))
        let tr = gbar.Trace()
        let tau = float (m + n) * machineEpsilon * tr
        let dOut = run.Shape.OutputDim
        let y = run.Data.Data.Y
        let sigmaB, lossPerp =
            match run.Data.B with
            | null -> 1.0, 0.0
            | b ->
                let bm = Linalg.matrix dOut d b 0
                let svd = bm.Svd(true)
                let sv = svd.S.ToArray()
                let smax = if sv.Length = 0 then 0.0 else Array.max sv
                let tol = float (max dOut d) * machineEpsilon * smax
                let rank = sv |> Array.filter (fun x -> x > tol) |> Array.length
                let u = svd.U.SubMatrix(0, dOut, 0, rank)
                let perp =
                    [ for i in 0 .. n - 1 ->
                        let yi = Vector<float>.Build.Dense(Array.sub y (i * dOut) dOut)
                        let r = yi - u * (u.TransposeThisAndMultiply yi)
                        r.DotProduct r ]
                    |> List.sum
                (if rank = 0 then 0.0 else sv.[rank - 1]), perp / float n
        let c = 4.0 * sigmaB * sigmaB / float n
        { V0Norm = v0norm; LambdaMinGram = lamGram; LambdaMinLayersMean = lamLayers; GramTrace = tr; Threshold = tau
          SigmaB = sigmaB; LossPerp = lossPerp; Mu0 = c * lamGram; Mu0Layers = c * lamLayers; Mu0Error = c * tau })

/// The loss that gradient descent on the network linearized at a zero-V initialization (the kernel frozen at
/// K̃(0) = Ḡ ⊗ I_d, B = I) would reach after j steps: with Ḡ = Σ_a λ_a u_a u_aᵀ and R_0 ∈ R^{n×d} the initial residuals,
/// ℓ_lin(j) = (1/n) Σ_a (1 − 2ηλ_a/n)^{2j} ‖u_aᵀ R_0‖². A prediction (the linearization), not a bound: reported beside
/// the bounds. None unless V(0) = 0 and B = I.
let frozenKernelLoss (run: Run) : (int -> float) option =
    let ic = initConstants run
    let s = run.Setting
    if ic.V0Norm <> 0.0 || not (isNull run.Data.B) || run.Shape.OutputDim <> s.Dim then None
    else
        let L, m, n, d = s.Depth, s.Width, s.Samples, s.Dim
        let lw = run.Layerwise 0
        let gbar =
            (Array.init L (fun k ->
                let p = Matrix<float>.Build.Dense(m, n, fun j i -> lw.Sigma.[k].[i].[j]) // σ of the pre-activations, as in `initConstants`
                p.TransposeThisAndMultiply p)
             |> Array.reduce (+)) / float L
        let evd = gbar.Evd(Symmetricity.Symmetric)
        let r0 = Matrix<float>.Build.Dense(n, d, fun i c -> lw.H.[L].[i].[c] - run.Data.Data.Y.[i * d + c])
        let coeff = evd.EigenVectors.TransposeThisAndMultiply r0
        let lam = evd.EigenValues |> Seq.map (fun z -> z.Real) |> Array.ofSeq
        let weight = Array.init n (fun a -> let row = coeff.Row a in row.DotProduct row)
        Some(fun j ->
            (Array.map2 (fun l w -> w * Math.Pow(1.0 - 2.0 * s.Eta * l / float n, 2.0 * float j)) lam weight |> Array.sum) / float n)

/// The per-iterate quantities the results use (j = 0..N). Everything the hypotheses and the bounds are made of
/// comes from the trace (its own loss column, pl_ratio, grad_norm); what the conclusions are compared with comes
/// from elsewhere: the recorded losses (losses.npy) and the losses recomputed from the snapshot weights.
type Path =
    { /// number of updates N
      N: int
      /// ε_j = ℓ_j − ℓ_⊥ with ℓ_j from the trace's loss column (the hypotheses' and the bounds' side)
      Eps: float[]
      /// ε_j from the recorded losses (losses.npy): the measured side of the decay statements
      Recorded: float[]
      /// r̃_j = Σ_k‖G_k^j‖²/(L ε_j) (∞ where ε_j = 0)
      R: float[]
      /// ‖G^j‖ (joint Frobenius norm over layers)
      Grad: float[]
      /// β̂_j (j < N): the secant curvature of ℓ along the j-th step in the G-scaled geometry,
      /// β̂_j = 2L(ℓ_{j+1} − ℓ_j + η‖G^j‖²/L)/(η²‖G^j‖²), so that exactly ε_{j+1} = ε_j(1 − η r̃_j (1 − η β̂_j/2))
      Beta: float[]
      /// rounding allowance on β̂_j: 4 L · roundingRel · ℓ_j / (η² ‖G^j‖²)
      BetaError: float[] }

let private column (run: Run) name =
    match run.Trace name with
    | Some c -> c
    | None -> raise (MissingInput(sprintf "the run has no trace column '%s'" name))

/// Reads the path quantities: hypotheses from the trace, the measured losses from losses.npy.
let path (run: Run) : Path =
    let ic = initConstants run
    let L = float run.Setting.Depth
    let eta = run.Setting.Eta
    let loss = column run "loss"
    let pl = column run "pl_ratio"
    let g = column run "grad_norm"
    let n = loss.Length - 1
    let eps = loss |> Array.map (fun l -> l - ic.LossPerp)
    let r = Array.init (n + 1) (fun j -> if eps.[j] > 0.0 then pl.[j] * loss.[j] / eps.[j] else infinity)
    let beta =
        Array.init n (fun j ->
            let g2 = g.[j] * g.[j]
            if g2 = 0.0 then 0.0 else 2.0 * L * (loss.[j + 1] - loss.[j] + eta * g2 / L) / (eta * eta * g2))
    let betaErr =
        Array.init n (fun j ->
            let g2 = g.[j] * g.[j]
            if g2 = 0.0 then 0.0 else 4.0 * L * roundingRel * loss.[j] / (eta * eta * g2))
    { N = n; Eps = eps; Recorded = run.Losses |> Array.map (fun l -> l - ic.LossPerp)
      R = r; Grad = g; Beta = beta; BetaError = betaErr }

/// The decay comparisons of a bound ε_0·q_j (q_j from the hypotheses' side, ε_0 from the trace): the recorded ε_j at
/// every iterate (allowance roundingRel·(bound + ε_0): both are float64 losses of the same run), and ε recomputed
/// from the weights of every snapshot (allowance RunIntegrity.lossAllowance: the recomputation's rounding).
let private decayChecks (run: Run) (p: Path) (bound: int -> float) (time: int -> float) : Comparison.Check list =
    let slack j = roundingRel * (bound j + p.Eps.[0])
    // iteration 0 is not compared: there the bound is ε_0 itself (the agreement of the recorded and recomputed
    // initial loss with the trace is I.trace's and I.loss's)
    [ for j in 1 .. min p.N (p.Recorded.Length - 1) ->
        { Comparison.Check.Measured = p.Recorded.[j]; Bound = bound j + slack j; Where = "recorded loss (losses.npy)"
          When = sprintf "iteration %d (t = %.4g)" j (time j) }
      for s in 0 .. run.SnapshotCount - 1 do
        let j = run.Steps.[s]
        if j > 0 && j <= p.N then
            let lw = run.Layerwise s
            yield { Comparison.Check.Measured = lw.Loss - (initConstants run).LossPerp
                    Bound = bound j + slack j + RunIntegrity.lossAllowance run s
                    Where = "loss recomputed from the snapshot weights"; When = sprintf "snapshot %d, iteration %d (t = %.4g)" s j (time j) } ]

// ---- Hypotheses -------------------------------------------------------------------------------------

let private hypZeroV : string * (Run -> HypothesisCheck) =
    "V(0) = 0",
    fun run ->
        if run.Steps.Length = 0 || run.Steps.[0] <> 0 then NotMet "snapshot 0 is not iteration 0"
        else
            let v = (initConstants run).V0Norm
            if v = 0.0 then Met "max_k ‖V_k(0)‖_F = 0"
            else NotMet(sprintf "max_k ‖V_k(0)‖_F = %.4g ≠ 0: the network is not the identity at initialization" v)

let private hypRank : string * (Run -> HypothesisCheck) =
    "rank: m ≥ n",
    fun run ->
        let s = run.Setting
        if s.Width >= s.Samples then Met(sprintf "m = %d ≥ n = %d" s.Width s.Samples)
        else NotMet(sprintf "m < n: Φ has rank ≤ m < n (m = %d, n = %d), so λ_min(ΦᵀΦ) = 0" s.Width s.Samples)

let private hypPositive : string * (Run -> HypothesisCheck) =
    "λ_min(Ḡ) > τ",
    fun run ->
        let ic = initConstants run
        if ic.LambdaMinGram > ic.Threshold then
            Met(sprintf "λ_min(Ḡ) = %.4g > τ = (m+n)·2^-52·tr Ḡ = %.3g" ic.LambdaMinGram ic.Threshold)
        else NotMet(sprintf "λ_min(Ḡ) = %.4g ≤ τ = %.3g: numerically singular, μ₀ = 0" ic.LambdaMinGram ic.Threshold)

let private hypFinite : string * (Run -> HypothesisCheck) =
    "run not diverged, every loss finite",
    fun run ->
        if run.Setting.Diverged then NotMet "the run diverged"
        elif run.Losses |> Array.exists (fun l -> not (Double.IsFinite l)) then NotMet "a loss is not finite"
        else Met(sprintf "%d finite iterates" run.Losses.Length)

let private hypPlainGd : string * (Run -> HypothesisCheck) =
    "update is exactly −η·G",
    fun run ->
        let clipped =
            match run.Trace "clip_fraction" with
            | Some c -> c |> Array.exists (fun x -> x > 0.0)
            | None -> run.Setting.Optimizer <> "gd"
        if run.Setting.Fault <> "none" then NotMet(sprintf "the engine ran with fault %s" run.Setting.Fault)
        elif clipped then NotMet "the clip was active at some update: the step is not −η·G"
        else Met(sprintf "%s, no layer clipped" run.Setting.Optimizer)

/// η·β̂_j ≤ 1 for every step (up to rounding): the measured descent-lemma condition along the run.
let private hypDescent : string * (Run -> HypothesisCheck) =
    "descent condition η·β̂_j ≤ 1",
    fun run ->
        let p = path run
        let eta = run.Setting.Eta
        if p.N = 0 then Met "no update"
        else
            let j = [| 0 .. p.N - 1 |] |> Array.maxBy (fun j -> eta * (p.Beta.[j] - p.BetaError.[j]))
            let worst = eta * p.Beta.[j]
            if eta * (p.Beta.[j] - p.BetaError.[j]) <= 1.0 then
                Met(sprintf "max_j η·β̂_j = %.4g ≤ 1 (step %d)" worst j)
            else NotMet(sprintf "η·β̂_j = %.4g > 1 at step %d (t = %.4g): the step is beyond the descent-lemma limit" worst j (float j * eta))

let private initHypotheses = [ hypZeroV; hypRank; hypPositive ]

// ---- Results -----------------------------------------------------------------------------------------

let private doc = "docs/theorems/PolyakLojasiewicz.md"
let private source = "derived here (docs/theorems/PolyakLojasiewicz.md); paper Section 4 (PL for two-layer-perceptron residuals)"

let private initConstantList (ic: InitConstants) =
    [ "lambda_min_gram", ic.LambdaMinGram; "lambda_min_layers_mean", ic.LambdaMinLayersMean
      "gram_trace", ic.GramTrace; "tau", ic.Threshold; "sigma_B", ic.SigmaB; "loss_perp", ic.LossPerp
      "mu0", ic.Mu0; "mu0_layers", ic.Mu0Layers; "mu0_rounding", ic.Mu0Error ]

/// Lemma C.mu0: at V(0) = 0, r̃(0) = Σ_k‖G_k(0)‖²/(L ε(0)) ≥ μ₀ = 4 σ_+(B)² λ_min(Ḡ)/n.
/// Proof: h_k = h_0, p_k^i = p^i = (2/n)Bᵀ(B h_0^i − y_i), G^W_k = 0, G^V_k = P Φ_kᵀ, so
/// Σ_k ‖PΦ_kᵀ‖² = L tr(P Ḡ Pᵀ) ≥ L λ_min(Ḡ) ‖P‖² ≥ L λ_min(Ḡ) (4/n²) σ_+(B)² Σ_i‖Π_B r_i‖² = L λ_min(Ḡ)(4/n)σ_+(B)² ε(0).
let initialPl : Result<Run> =
    { Id = "C.mu0"
      Title = "PL constant at a zero-V initialization"
      Source = source
      Provenance = ProvedHere
      Doc = doc
      Statement =
        "With V(0) = 0, the PL ratio at initialization r̃(0) = Σ_k‖G_k‖²/(L ε(0)) is at least "
        + "μ₀ = 4 σ_+(B)² λ_min(Ḡ)/n, Ḡ = (1/L) Σ_k Φ_kᵀΦ_k; for B = I, μ₀ = 4 λ_min(Ḡ)/n ≥ 4 (1/L)Σ_k λ_min(Φ_kᵀΦ_k)/n."
      Hypotheses = initHypotheses
      Conclusion =
        fun run ->
            let ic = initConstants run
            let p = path run
            let allowance = ic.Mu0Error + roundingRel * abs p.R.[0]
            let v = atLeast p.R.[0] ic.Mu0 allowance "initialization" "iteration 0 (t = 0)"
            { Range = None; Series = []; Verdict = v; Measured = Some p.R.[0]; Bound = Some ic.Mu0; Hypotheses = []
              Constants = initConstantList ic @ [ "r0", p.R.[0] ]
              Notes = [ sprintf "r̃(0) = %.4g vs μ₀ = %.4g (ratio %.3g); layer-averaged μ₀ = %.4g" p.R.[0] ic.Mu0 (p.R.[0] / ic.Mu0) ic.Mu0Layers ] } }

/// C.plAlongRun (i): an observation, not a theorem: whether the PL ratio keeps a fraction f = 1/4 of μ₀ along the
/// run, min_j r̃(t_j) ≥ μ₀/4. Nothing in the hypotheses implies the factor 1/4 (a long run can leave the region
/// where it holds while the loss keeps decreasing), so a run below it is reported as "not observed" (a hypothesis
/// of the decay results not met), never as a violation.
let plAlongRun : Result<Run> =
    { Id = "C.plAlongRun"
      Title = "Observed: the PL ratio stays above μ₀/4 along the run"
      Source = "paper Section 4 (local PL in a ball around the initialization); an observation here, not a theorem"
      Provenance = Empirical
      Doc = doc
      Statement =
        "Observation (never violated on its own): along the gradient-descent run started at V(0) = 0, is r̃(t_j) ≥ μ₀/4 at every iterate? "
        + "When it is, the decay results C.gdDecay, C.pathLength, C.gfDecay and C.gfPathLength apply; when it is not, their hypothesis is not met. "
        + "No constant is derived for the factor 1/4."
      Hypotheses = initHypotheses @ [ hypFinite ]
      Conclusion =
        fun run ->
            let ic = initConstants run
            let p = path run
            let j = [| 0 .. p.N |] |> Array.minBy (fun j -> p.R.[j])
            let bound = plFraction * ic.Mu0
            let allowance = plFraction * ic.Mu0Error + roundingRel * abs p.R.[j]
            let when' = sprintf "iteration %d (t = %.4g)" j (float j * run.Setting.Eta)
            let v =
                match atLeast p.R.[j] bound allowance "all layers" when' with
                | Violated w ->
                    HypothesisNotMet
                        [ "observed PL along the run",
                          sprintf "not observed: min_j r̃ = %.4g < μ₀/4 = %.4g at %s (r̃/μ₀ = %.3g); an observation, not a violation"
                              w.Measured w.Bound w.When (w.Measured / ic.Mu0) ]
                | other -> other
            { Range = None; Series = []; Verdict = v; Measured = Some p.R.[j]; Bound = Some bound; Hypotheses = []
              Constants = initConstantList ic @ [ "f", plFraction; "min_r", p.R.[j]; "min_r_over_mu0", p.R.[j] / ic.Mu0 ]
              Notes = [ sprintf "min_j r̃(t_j)/μ₀ = %.4g at iteration %d (r̃(0)/μ₀ = %.4g)" (p.R.[j] / ic.Mu0) j (p.R.[0] / ic.Mu0) ] } }

/// The PL-along-the-run hypothesis of the decay statements (C.plAlongRun holds).
let private hypPlAlongRun : string * (Run -> HypothesisCheck) =
    "PL along the run (C.plAlongRun)",
    fun run ->
        let ev = Result.evaluate plAlongRun run
        match ev.Verdict with
        | Holds _ -> Met(sprintf "min_j r̃/μ₀ = %.4g ≥ 1/4" (ev.Measured.Value / (initConstants run).Mu0))
        | Violated w -> NotMet(sprintf "r̃ = %.4g < μ₀/4 = %.4g at %s" w.Measured w.Bound w.When)
        | HypothesisNotMet _ -> NotMet "not evaluated: the hypotheses of C.plAlongRun are not met"
        | NotApplicable why -> NotMet why
        | CheckError why -> NotMet why

/// Name of the fitted exponential rate the decay rows record (the report's figure 2 reads it back by this name).
let fittedRateName = "fitted rate -d ln(loss)/dt, second half (verifier's loss column)"

/// The exponential rate of the loss fitted on the second half of the run: −b for the least-squares line
/// ln ℓ_j ≈ a + b·t_j over j = ⌊(N+1)/2⌋ … N with ℓ_j > 0 (t_j = jη), ℓ the verifier's loss column (`Run.Trace`, the
/// replay on gradient descent); NaN with fewer than four iterates or two usable points. An observation the decay rows
/// carry beside their bound (the rate the loss actually decays at, next to the rate they predict), not compared.
let fittedRate (run: Run) =
    match run.Trace "loss" with
    | Some loss when loss.Length >= 4 ->
        let eta = run.Setting.Eta
        let js = [| loss.Length / 2 .. loss.Length - 1 |] |> Array.filter (fun j -> loss.[j] > 0.0 && Double.IsFinite loss.[j])
        if js.Length < 2 then nan
        else -(LeastSquares.line (js |> Array.map (fun j -> float j * eta)) (js |> Array.map (fun j -> log loss.[j]))).Slope
    | _ -> nan

/// A decay statement ε_j ≤ ε_0 (1 − η·rate)^j (≤ ε_0 e^{−rate·t_j}): ε_0 and the rate from the trace (the hypotheses'
/// side), compared with the recorded losses at every iterate and the snapshot weights' losses (`decayChecks`).
let private decay (run: Run) (rate: float) =
    let p = path run
    let eta = run.Setting.Eta
    let perStep = max 0.0 (1.0 - eta * rate)
    let bound j = p.Eps.[0] * Math.Pow(perStep, float j)
    let tN = float p.N * eta
    let observed = if p.Recorded.[p.N] > 0.0 && tN > 0.0 then -log (p.Recorded.[p.N] / p.Eps.[0]) / tN else infinity
    let e = Comparison.evaluation 0.0 (decayChecks run p bound (fun j -> float j * eta)) [] []
    e, observed

/// C.gdDecay (ii): ε(t_j) ≤ ε(0) Π_{i<j}(1 − η c f μ₀) ≤ ε(0) e^{−c f μ₀ t_j} with c = 1/2, f = 1/4, i.e. rate μ₀/8.
let gdDecay : Result<Run> =
  FlowRuns.gdOnly "C.gfDecay"
    { Id = "C.gdDecay"
      Title = "Exponential loss decay of gradient descent at rate μ₀/8"
      Source = source
      Provenance = ProvedHere
      Doc = doc
      Statement =
        "If r̃(t_j) ≥ μ₀/4 along the run and every step satisfies the descent condition η·β̂_j ≤ 1, then "
        + "ε(t_j) ≤ ε(0)(1 − ημ₀/8)^j ≤ ε(0) e^{−μ₀ t_j/8} at every iterate. The hypotheses and ε(0) are measured on the trace (its loss column, "
        + "pl_ratio, grad_norm); the conclusion is compared with the recorded losses and with the losses of the snapshot weights."
      Hypotheses =
        initHypotheses @ [ hypFinite; hypPlainGd; hypDescent; hypPlAlongRun ]
      Conclusion =
        fun run ->
            let ic = initConstants run
            let rate = descentFactor * plFraction * ic.Mu0
            let e, observed = decay run rate
            { e with
                Constants = initConstantList ic @ [ "c", descentFactor; "f", plFraction; "predicted_rate", rate; "observed_rate", observed; fittedRateName, fittedRate run ]
                Notes = [ sprintf "predicted rate c·f·μ₀ = %.4g, observed rate −ln(ε_N/ε_0)/t_N = %.4g (%.3gx faster)" rate observed (observed / rate) ] } }

/// C.pathLength (iii): Σ_{i<j} ‖Z^{i+1} − Z^i‖ = Σ_{i<j} η‖G^i‖ ≤ (2/c)√(L/(f μ₀)) (√ε_0 − √ε_j) ≤ 8 √(L ε(0)/μ₀).
let pathLength : Result<Run> =
  FlowRuns.gdOnly "C.gfPathLength"
    { Id = "C.pathLength"
      Title = "Path length of the weights bounded by 8√(L ε(0)/μ₀)"
      Source = source
      Provenance = ProvedHere
      Doc = doc
      Statement =
        "Under the hypotheses of C.gdDecay, the length of the weight path up to iterate j, Σ_{i<j} η‖G^i‖, is at most "
        + "(2/c)√(L/(fμ₀))(√ε_0 − √ε_j) ≤ 8√(Lε(0)/μ₀) (c = 1/2, f = 1/4), at every j: the weights stay in a ball around the initialization. "
        + "Checked with the bound from the recorded losses against the path of the trace's gradient norms at every iterate and the displacement of the snapshot weights."
      Hypotheses = gdDecay.Hypotheses
      Conclusion =
        fun run ->
            let ic = initConstants run
            let p = path run
            let eta = run.Setting.Eta
            let L = float run.Setting.Depth
            let k = (2.0 / descentFactor) * sqrt (L / (plFraction * ic.Mu0))
            // the bound from the recorded losses (ε_0 from the trace, ε_j from losses.npy); the measured path from the
            // trace's gradient norms at every iterate, and the displacement ‖Z(t_s) − Z(0)‖_F (≤ the path) from the snapshot weights
            let sqrtEps0 = sqrt (max 0.0 p.Eps.[0])
            let bound j = k * (sqrtEps0 - sqrt (max 0.0 p.Recorded.[j])) + roundingRel * k * sqrtEps0
            let partial = Array.scan (+) 0.0 (Array.init p.N (fun i -> eta * p.Grad.[i]))
            let w0, v0 = run.W 0, run.V 0
            let disp s =
                let a = Linalg.frobeniusDiff (run.W s) 0 w0 0 w0.Length
                let b = Linalg.frobeniusDiff (run.V s) 0 v0 0 v0.Length
                sqrt (a * a + b * b)
            let checks : Comparison.Check list =
                [ for j in 1 .. min p.N (p.Recorded.Length - 1) ->
                    { Comparison.Check.Measured = partial.[j]; Bound = bound j; Where = "path length Σ η‖G^i‖ (trace grad_norm)"; When = sprintf "iteration %d" j }
                  for s in 1 .. run.SnapshotCount - 1 do
                    let j = run.Steps.[s]
                    if j <= p.N then
                        yield { Comparison.Check.Measured = disp s; Bound = bound j; Where = "displacement ‖Z − Z(0)‖_F (snapshot weights)"
                                When = sprintf "snapshot %d, iteration %d" s j } ]
            let total = partial.[p.N]
            let ballBound = 8.0 * sqrt (L * p.Eps.[0] / ic.Mu0)
            let e = Comparison.evaluation 0.0 checks [] []
            { e with
                Constants = initConstantList ic @ [ "c", descentFactor; "f", plFraction; "path_length", total; "ball_radius", ballBound ]
                Notes = [ sprintf "path length %.4g ≤ partial-sum bound %.4g ≤ 8√(Lε₀/μ₀) = %.4g" total (bound p.N) ballBound ] } }

/// C.runRate (iv): the same decay with the PL constant and the curvature re-evaluated on the run:
/// ε(t_j) ≤ ε(0) Π_{i<j}(1 − η c_run μ_run) ≤ ε(0) e^{−c_run μ_run t_j}, μ_run = min_{i<N} r̃_i, c_run = 1 − η max_i β̂_i⁺/2.
let runRate : Result<Run> =
  FlowRuns.gdOnly "C.gfDecay"
    { Id = "C.runRate"
      Title = "Loss decay at the PL constant re-evaluated along the run (a posteriori)"
      Source = source
      Provenance = ProvedHere
      Doc = doc
      Statement =
        "For any gradient-descent run with η·β̂_j < 2: ε_{j+1} = ε_j(1 − η r̃_j(1 − ηβ̂_j/2)) exactly, hence "
        + "ε(t_j) ≤ ε(0) e^{−c_run μ_run t_j} with μ_run = min_{i<N} r̃_i and c_run = 1 − η max_i max(β̂_i, 0)/2. "
        + "The constants are measured on the trace (its loss column, pl_ratio, grad_norm); the conclusion is compared with the recorded losses "
        + "and with the losses of the snapshot weights. Reported side by side with the a-priori rate μ₀/8 and the observed rate."
      Hypotheses =
        [ hypFinite; hypPlainGd
          "descent condition η·β̂_j < 2",
          fun run ->
              let p = path run
              let eta = run.Setting.Eta
              let worst = if p.N = 0 then 0.0 else p.Beta |> Array.map (fun b -> eta * b) |> Array.max
              if worst < 2.0 then Met(sprintf "max_j η·β̂_j = %.4g < 2" worst)
              else NotMet(sprintf "max_j η·β̂_j = %.4g ≥ 2: a step may increase the loss" worst) ]
      Conclusion =
        fun run ->
            let p = path run
            let eta = run.Setting.Eta
            if p.N = 0 then Evaluation.notApplicable "no update"
            else
                let muRun = p.R.[.. p.N - 1] |> Array.min
                let betaMax = max 0.0 (Array.max p.Beta)
                let cRun = 1.0 - eta * betaMax / 2.0
                let rate = cRun * muRun
                let e, observed = decay run rate
                let meanR = Array.average p.R.[.. p.N - 1]
                let mu0Notes, mu0Consts =
                    if (initConstants run).V0Norm = 0.0 && run.Setting.Width >= run.Setting.Samples then
                        let mu0 = (initConstants run).Mu0
                        [ sprintf "rates: a priori μ₀/8 = %.4g, μ₀ = %.4g, r̃(0) = %.4g, a posteriori c_run·μ_run = %.4g, mean r̃ = %.4g, observed = %.4g"
                              (mu0 / 8.0) mu0 p.R.[0] rate meanR observed ], [ "mu0", mu0 ]
                    else [ sprintf "rates: r̃(0) = %.4g, a posteriori c_run·μ_run = %.4g, mean r̃ = %.4g, observed = %.4g" p.R.[0] rate meanR observed ], []
                let lazyNotes, lazyConsts =
                    match frozenKernelLoss run with
                    | Some lin ->
                        let l = lin p.N
                        [ sprintf "frozen-kernel (linearized at init) prediction ℓ_lin(t_N) = %.4g vs observed ℓ(t_N) = %.4g (observed/predicted %.3g)"
                              l run.Losses.[p.N] (run.Losses.[p.N] / l) ], [ "frozen_kernel_loss", l ]
                    | None -> [], []
                { e with
                    Constants =
                      [ "mu_run", muRun; "beta_max", betaMax; "c_run", cRun; "predicted_rate", rate; "observed_rate", observed
                        "mean_r", meanR; "rate_tightness", observed / rate; fittedRateName, fittedRate run ] @ mu0Consts @ lazyConsts
                    Notes = mu0Notes @ lazyNotes } }

let private hypPlainFlow : string * (Run -> HypothesisCheck) =
    "vector field is exactly −G",
    fun run ->
        if run.Setting.Fault <> "none" then NotMet(sprintf "the engine ran with fault %s" run.Setting.Fault)
        elif run.Setting.Optimizer = "clipped-gf" then NotMet "a clipped-gf run: the clipped field is not −G"
        else Met run.Setting.Optimizer

/// C.gfDecay (ii, flow): along dZ/dt = −G, dε/dt = −Σ_k‖G_k‖²/L = −r̃ ε exactly, so r̃ ≥ f μ₀ gives
/// ε(t) ≤ ε(0) e^{−f μ₀ t} (f = 1/4): rate μ₀/4, no descent-lemma factor.
let gfDecay : Result<Run> =
  FlowRuns.flowOnly "C.gdDecay"
    { Id = "C.gfDecay"
      Title = "Exponential loss decay of the gradient flow at rate μ₀/4"
      Source = source
      Provenance = ProvedHere
      Doc = doc
      Statement =
        "Along the gradient flow, dε/dt = −r̃ ε exactly; if r̃(t) ≥ μ₀/4 on [0, T] then ε(t) ≤ ε(0) e^{−μ₀ t/4}. "
        + "Checked at every output time t_j, the hypothesis r̃ ≥ μ₀/4 at the output times (C.plAlongRun), with the integration allowance 2(steps + 1)·rtol·ε(0)."
      Hypotheses = initHypotheses @ [ hypFinite; hypPlainFlow; FlowRuns.hypIntegration; hypPlAlongRun ]
      Conclusion =
        fun run ->
            let ic = initConstants run
            let p = path run
            let rate = plFraction * ic.Mu0
            let rel = roundingRel + FlowRuns.integrationRel run
            let t j = FlowRuns.time run j
            // ε_0 and the hypotheses from the trace; compared with the recorded losses and the snapshot weights' losses,
            // each with the integration allowance rel·ε(0) on top of decayChecks' rounding
            let bound j = p.Eps.[0] * exp (-rate * t j) + rel * p.Eps.[0]
            let tN = t p.N
            let observed = if p.Recorded.[p.N] > 0.0 && tN > 0.0 then -log (p.Recorded.[p.N] / p.Eps.[0]) / tN else infinity
            let e = Comparison.evaluation 0.0 (decayChecks run p bound t) [] []
            { e with
                Constants = initConstantList ic @ [ "f", plFraction; "predicted_rate", rate; "observed_rate", observed; "integration_rel", FlowRuns.integrationRel run ]
                Notes = [ sprintf "predicted rate f·μ₀ = %.4g, observed rate −ln(ε(T)/ε(0))/T = %.4g (%.3gx faster); the hypothesis r̃ ≥ fμ₀ is checked at the output times only" rate observed (observed / rate) ] } }

/// C.gfPathLength (iii, flow): ‖dZ/dt‖ = ‖G‖ = L(−dε/dt)/‖G‖ ≤ √(L/(fμ₀))(−dε/dt)/√ε = 2√(L/(fμ₀))(−d√ε/dt), so
/// ∫_0^t ‖G‖ ≤ 2√(L/(fμ₀))(√ε(0) − √ε(t)) ≤ 4√(L ε(0)/μ₀). Checked on the displacement ‖Z(t_s) − Z(0)‖ ≤ path length
/// at every snapshot (a rigorous consequence), the trapezoid estimate of ∫‖G‖ reported beside.
let gfPathLength : Result<Run> =
  FlowRuns.flowOnly "C.pathLength"
    { Id = "C.gfPathLength"
      Title = "Displacement of the weights along the flow bounded by 4√(L ε(0)/μ₀)"
      Source = source
      Provenance = ProvedHere
      Doc = doc
      Statement =
        "Under the hypotheses of C.gfDecay, the length of the flow's path up to t is at most 2√(L/(fμ₀))(√ε(0) − √ε(t)) ≤ 4√(Lε(0)/μ₀) (f = 1/4); "
        + "hence ‖Z(t_s) − Z(0)‖_F is at most that at every snapshot."
      Hypotheses = gfDecay.Hypotheses
      Conclusion =
        fun run ->
            let ic = initConstants run
            let p = path run
            let L = float run.Setting.Depth
            let k = 2.0 * sqrt (L / (plFraction * ic.Mu0))
            let rel = roundingRel + FlowRuns.integrationRel run
            // ε(0) from the trace, ε(t_s) from the recorded losses: the bound and the displacement (snapshot weights) independent
            let sqrtEps j = sqrt (max 0.0 (if j = 0 then p.Eps.[0] else p.Recorded.[j]))
            let w0, v0 = run.W 0, run.V 0
            let disp s =
                let a = Linalg.frobeniusDiff (run.W s) 0 w0 0 w0.Length
                let b = Linalg.frobeniusDiff (run.V s) 0 v0 0 v0.Length
                sqrt (a * a + b * b)
            let checks : Comparison.Check list =
                [ for s in 1 .. run.SnapshotCount - 1 ->
                    let j = run.Steps.[s]
                    { Comparison.Check.Measured = disp s; Bound = k * (sqrtEps 0 - sqrtEps j) + rel * k * sqrtEps 0
                      Where = "weights (joint Frobenius displacement from Z(0))"; When = sprintf "snapshot %d (output %d, t = %.4g)" s j (FlowRuns.time run j) } ]
            let trapezoid =
                Array.init p.N (fun j -> 0.5 * (p.Grad.[j] + p.Grad.[j + 1]) * (FlowRuns.time run (j + 1) - FlowRuns.time run j)) |> Array.sum
            let ballBound = 4.0 * sqrt (L * p.Eps.[0] / ic.Mu0)
            let e = Comparison.evaluation 0.0 checks [] []
            { e with
                Constants = initConstantList ic @ [ "f", plFraction; "path_length_trapezoid", trapezoid; "ball_radius", ballBound; "integration_rel", rel ]
                Notes = [ sprintf "displacement ≤ path length ≈ %.4g (trapezoid over output times) ≤ 4√(Lε₀/μ₀) = %.4g" trapezoid ballBound ] } }

/// Every result of this file, in dependency order.
let all : Result<Run> list = [ initialPl; plAlongRun; gdDecay; pathLength; runRate; gfDecay; gfPathLength ]
