/// Exact checks of a run against its own recorded numbers (docs/theorems/RunIntegrity.md): the snapshot
/// weights reproduce the recorded losses, consecutive snapshots are one (clipped) gradient step apart,
/// and the trace agrees with the losses and the weights. They catch a faulty engine or a corrupted file.
module ResOdeProofs.Theory.RunIntegrity

open System
open ResOdeProofs.Theory
open ResOdeProofs.Theory.Comparison
// the unit roundoff u and, per snapshot s, τ_s = 4·Ā_s·c_s + γ_{n(d_out+1)+1} of the run's precision (c_s the per-state count, Ā_s the
// amplification by the products of the actual Jacobians, `Rounding.forwardToleranceAt`) and the gradients' τ^∇_s
// (`Rounding.toleranceAt`); the same derivation in float64 and float32, no floor.
open ResOdeProofs.Theory.Rounding

/// The bound δ_s on every residual's error ‖r̂_i − r_i‖ (r_i = B h_L^i − y_i) of the two computed passes together at
/// snapshot s (docs/theorems/RunIntegrity.md, "I.loss' allowance"): each pass' state error at layer L, at most Ā_s·max_i S_L^i
/// (`Rounding.stateCountAt`, the embedding's rounding included), through B; each pass' readout, γ_d·|B||h_L| (d terms a
/// coordinate); and a float32 run's targets rounded to float32, u·|y|:
///   δ_s = 2·Ā_s·max_i S_L^i·‖B‖₂ + 2γ_d·max_i‖|B||h_L^i|‖ + [float32] u·max_i‖y_i‖.
/// A block other than the MLP (or a snapshot whose count is not a finite number) takes τ_s·‖B‖₂·max_i‖h_L^i‖, the former form.
let residualError (run: Run) (s: int) =
    let lw = run.Layerwise s
    let hL = lw.H.[lw.H.Length - 1]
    let hmax = Array.init hL.Length (fun i -> Linalg.normOf hL.[i]) |> Comparison.maxKeepNaN
    let count = if run.IsMlp && run.SnapshotCount > 0 then Some (stateCountAt run s) else None
    match count with
    | Some c when Double.IsFinite c.Prefix.[c.Prefix.Length - 1] ->
        let st = run.Setting
        let ur = unitRoundoff run
        let d = st.Dim
        let dOut = run.Data.Data.OutputDim
        let absReadout (h: ArraySegment<float>) =
            match run.Data.B with
            | null -> Linalg.normOf h
            | b ->
                let mutable sq = 0.0
                for o in 0 .. dOut - 1 do
                    let mutable t = 0.0
                    for r in 0 .. d - 1 do t <- t + abs (b.[o * d + r] * h.[r])
                    sq <- sq + t * t
                sqrt sq
        let readout = Array.init hL.Length (fun i -> absReadout hL.[i]) |> Comparison.maxKeepNaN
        let y = run.Data.Data.Y
        let yMax =
            if isFloat32 run then
                Array.init lw.H.[0].Length (fun i -> Linalg.frobenius y (i * dOut) dOut) |> Comparison.maxKeepNaN
            else 0.0
        let a = (amplificationAt run s).Value
        // underflow (`underflowUnit`): each pass' readout, d products an output, and a float32 run's targets, √d_out·η
        let eta = underflowUnit run
        let underflow = sqrt (float dOut) * (2.0 * float (if isNull run.Data.B then 0 else d) + (if isFloat32 run then 1.0 else 0.0)) * eta
        (2.0 * a * c.Prefix.[c.Prefix.Length - 1] * st.ReadoutNorm + 2.0 * gamma run d * readout + ur * yMax + underflow)
        * (1.0 + gamma64 (d + dOut + 16))
    | _ -> forwardToleranceAt run s * run.Setting.ReadoutNorm * hmax

/// The rounding allowance of a loss recomputed from snapshot s's weights against the engine's:
/// 2γ_{n(d_out+1)+1}·ℓ + 2√ℓ·δ + δ², δ = `residualError` (ℓ the recomputed loss; derivation in I.loss' statement): the loss
/// (1/n)Σ_i‖r_i‖² moves by at most (1/n)Σ(2‖r_i‖δ + δ²) ≤ 2√ℓ·δ + δ² (Cauchy–Schwarz) under residual errors ≤ δ, and each
/// pass' sums over the samples round within γ_{n(d_out+1)+1} of ℓ. A block other than the MLP keeps τ_s·ℓ for the first term.
let lossAllowance (run: Run) (s: int) =
    let lw = run.Layerwise s
    let delta = residualError run s
    let first =
        if run.IsMlp && run.SnapshotCount > 0 then 2.0 * gamma run (run.Setting.Samples * (run.Data.Data.OutputDim + 1) + 1)
        else forwardToleranceAt run s
    // underflow of each pass' loss evaluation: its n·d_out squares and at most n·d_out + 1 quotients (a producer may divide
    // every term), (2n·d_out + 1)·η a pass (`underflowUnit`: a float32 MSE of residuals near 10⁻²⁵ is 0)
    let underflow = 2.0 * ResOdeProofs.Numerics.Verification.Replay.LossEvaluationUnderflow(run.Setting.Samples, run.Data.Data.OutputDim, run.Data.Meta.Precision)
    first * abs lw.Loss + 2.0 * sqrt (abs lw.Loss) * delta + delta * delta + underflow

/// The constants of a row compared within a per-snapshot τ: the largest τ_s, the largest amplification Ā_s (and how
/// many snapshots took the actual Jacobian products), the worst case Π(1 + κ_k/L) it replaces and u.
/// Why a comparison's allowance reaches the compared value (`what`: "the loss", "the step"), in the run's terms: a float32
/// run's rounding at its weights (the layers' Jacobian products not certifiable there, Ā the worst case), or a float64 run's
/// quantity within its own rounding (a loss near its floor); a user read "a float64 run" as advice on a float64 run.
let private whyLoose (run: Run) (what: string) =
    if unitRoundoff run > Float64UnitRoundoff then
        sprintf "at this float32 run's weights the rounding allowance (see tau, amplification: Ā is the worst case where the products of the layers' Jacobians cannot be certified in float32) reaches %s; a float64 run of the same setting is checkable there" what
    else sprintf "%s is within its own float64 rounding there (see tau: a run near its loss' floor); those comparisons cannot tell it from 0 at this precision" what

let private toleranceConstants (tauAt: Run -> int -> float) (run: Run) =
    let snaps = [ 0 .. run.SnapshotCount - 1 ]
    let amps = snaps |> List.map (amplificationAt run)
    [ "tau", (if snaps.IsEmpty then tolerance run else snaps |> List.map (tauAt run) |> List.max)
      "amplification", (if amps.IsEmpty then 1.0 else amps |> List.map (fun a -> a.Value) |> List.max)
      "sensitivity", (if amps.IsEmpty then 0.0 else amps |> List.map (fun a -> a.Sensitivity) |> List.max)
      "per-state count", (if amps.IsEmpty then float run.Setting.Depth * float (run.Setting.Width + run.Setting.Dim) * unitRoundoff run
                          else amps |> List.map (fun a -> a.PerState) |> List.max)
      "former per-state count L(m + d)u", float run.Setting.Depth * float (run.Setting.Width + run.Setting.Dim) * unitRoundoff run
      // the former count (not a bound) where c_s is not a finite number (a state not finite, or every state 0 at a layer)
      "snapshots with the former per-state count (c_s not finite)",
      (if run.IsMlp then snaps |> List.filter (fun s -> not (Double.IsFinite (stateCountAt run s).Count)) |> List.length |> float else 0.0)
      "snapshots by Jacobian products", float (amps |> List.filter (fun a -> a.Method = "jacobian products") |> List.length)
      "worst-case amplification", forwardAmplification run
      "unit roundoff", unitRoundoff run ]

let private doc = "docs/theorems/RunIntegrity.md"
let private src = "derived here (docs/theorems/RunIntegrity.md)"

/// (I.loss) ℓ recomputed from each snapshot's weights equals the recorded loss at its iteration.
let snapshotLoss : Result<Run> =
    { Id = "I.loss"
      Title = "Snapshot weights reproduce the recorded losses"
      Source = src
      Provenance = ProvedHere
      Doc = doc
      Statement =
        "For every snapshot s at iteration j, |ℓ(Z^j recomputed) − losses[j]| ≤ 2γ_{n(d_out+1)+1}·ℓ + 2√ℓ·δ + δ² in the run's precision u, "
        + "δ = 2·Ā_s·max_i S_L^i·‖B‖₂ + 2γ_d·max_i‖|B||h_L^i|‖ (+ u·max_i‖y_i‖ for a float32 run) bounding every residual's error of the two passes: "
        + "S_L^i ≥ one pass' rounding up to layer L, counted per layer from the magnitudes of its terms (γ_{m+3}(|h| + |V||σ|/L) + |V|(s1γ_d|W||h| + ε_σ)/L; "
        + "the embedding γ_{d_in+1}|A||x| + u|h_0|), Ā_s ≥ the norm of every product of the layers' Jacobians along snapshot s's pass (their actual "
        + "products at the verifier's states, or Π(1 + κ_k/L) where these are not available), then the readout's d terms and the targets' rounding: "
        + "the outputs carry a rounding error relative to their own size, not to the residual's, so near an interpolating minimum (ℓ → 0) the residual "
        + "r_i = Bh_L^i − y_i loses digits by cancellation and (1/n)Σ(2‖r_i‖‖δr_i‖ + ‖δr_i‖²) ≤ 2√ℓ·δ + δ² (Cauchy–Schwarz); "
        + "a losses.npy of float32 adds r/(1 − r)·|losses[j]| + η₃₂, r = 2⁻²⁴ (the loss rounded to float32 when it was stored). "
        + "Underflow: every product or quotient that underflows carries an absolute error ≤ η (the subnormal spacing of the run's precision, Higham §2.1), "
        + "counted in S (the embedding's and each layer's products), in δ (the readout's d products, the targets) and in the loss' own (2n·d_out + 1)η a pass."
      Hypotheses =
        [ "snapshots inside the recorded losses", fun (run: Run) ->
            if run.Steps |> Array.forall (fun j -> j < run.Losses.Length) then Met(sprintf "%d snapshots" run.SnapshotCount)
            else NotMet "a snapshot iteration has no recorded loss" ]
      Conclusion =
        fun run ->
            // the snapshots' reference evaluations (kept by the run for the later checks) are independent of one another:
            // as many at a time as the processor budget allows, each the same numbers as alone (a failure is left to the loop below)
            Budgeted.iter (fun s -> try run.Layerwise s |> ignore with _ -> ()) [| 0 .. run.SnapshotCount - 1 |]
            let checks =
                seq {
                    for s in 0 .. run.SnapshotCount - 1 ->
                        let j = run.Steps.[s]
                        let rec' = run.Losses.[j]
                        let ref' = (run.Layerwise s).Loss
                        // a loss stored coarser than it was computed (losses.npy of float32) moved by up to r of itself:
                        // |rec − ℓ_engine| ≤ r·|ℓ_engine| ≤ r/(1 − r)·|rec|
                        let r = run.LossesStorageRoundoff
                        let stored = LossStorage.allowance r rec'
                        ref',
                        { Measured = abs (ref' - rec'); Bound = lossAllowance run s + stored
                          Where = sprintf "loss recomputed %.17g vs recorded %.17g%s" ref' rec' (if r > 0.0 then " (stored as float32)" else "")
                          When = sprintf "snapshot %d (iteration %d)" s j }
                } |> Seq.toArray
            // an allowance at least the loss itself accepts a recorded loss of 0 (or of twice the loss): a float32 run's at
            // trained weights (Ā the worst case: 0.035 against a loss of 0.006 on figure 2 after 3 000 iterations), or a
            // float64 loss at its rounding floor; counted, and a row of only such comparisons is not "holds"
            // (a recomputed loss of exactly 0 has no "0" to be told from: any recorded loss above the allowance fails)
            let uninformative = checks |> Array.filter (fun (l, c) -> Comparison.cannotTell l c.Bound) |> Array.length
            evaluation 0.0 (checks |> Array.map snd) (toleranceConstants forwardToleranceAt run) []
            |> Evaluation.requireInformative "an allowance below the loss (a recorded loss of 0 would be rejected)"
                ("the allowance is at least the recomputed loss itself, so a recorded loss of 0 or of twice the loss would hold too: " + whyLoose run "the loss")
                uninformative checks.Length }

/// Consecutive snapshot pairs (s, s + 1) with Steps[s + 1] = Steps[s] + 1.
let consecutivePairs (run: Run) =
    [ for s in 0 .. run.SnapshotCount - 2 do
        if run.Steps.[s + 1] = run.Steps.[s] + 1 then yield s ]

/// The scale the gradients' rounding is relative to at snapshot s, per layer k (index k − 1), and the error the residuals'
/// absolute error δ_s adds (docs/theorems/RunIntegrity.md, "I.update's allowance"). A layer gradient is a sum over the
/// samples, G^V_k = Σ_i p_k^i σ_k^iᵀ and G^W_k = Σ_i (σ'_k^i ⊙ V_kᵀp_k^i) h_{k−1}^iᵀ: its rounding and the relative errors of
/// the states and adjoints act on each sample's term, so they are relative to M_k = (M^V_k² + M^W_k²)^{1/2},
/// M^V_k = Σ_i ‖p_k^i‖‖σ_k^i‖, M^W_k = Σ_i ‖σ'_k^i ⊙ V_kᵀp_k^i‖‖h_{k−1}^i‖ (≥ ‖G_k‖_F, equal without cancellation between the
/// samples), not to ‖G_k‖_F, which cancellation makes small (near a minimum with ℓ > 0). And the adjoint starts from
/// p_L^i = (2/n)Bᵀr_i, whose residual carries an absolute error δ_s (`residualError`): ‖Δp_k^i‖ ≤ Ā_s·(2/n)‖B‖₂δ_s through
/// the transposed Jacobians, which moves G^V_k by Σ_i ‖Δp‖‖σ_k^i‖ and G^W_k by Σ_i s1‖V_k‖₂‖Δp‖‖h_{k−1}^i‖.
let private gradientScalesOf (run: Run) (s: int) : float[] * float[] =
    let st = run.Setting
    let L, m, d = st.Depth, st.Width, st.Dim
    let md = m * d
    let lw = run.Layerwise s
    let v = run.V s
    let n = lw.H.[0].Length
    let struct (wOp, vOp) = run.LayerOperatorNorms s
    let a = (amplificationAt run s).Value
    // underflow (`Rounding.underflowUnit`): the adjoint's start (2/n)Bᵀr, d_out + 2 operations an entry, and each layer's
    // step p + (1/L)W_kᵀ(σ' ⊙ V_kᵀp), (m + 3)η an entry plus V_kᵀp's d products moved through σ' and W_k/L, through the
    // transposed Jacobians (Ā); then each gradient entry's n products (and a sample's σ' ⊙ V_kᵀp, d + 1 an entry, times h)
    let eta = Rounding.underflowUnit run
    let sqd = sqrt (float d)
    let wSum = wOp |> Array.sum
    let dpUnderflow = a * eta * (sqd * (float (run.Data.Data.OutputDim + 2) + float L * float (m + 3)) + st.S1 * sqrt (float m) * float d * wSum / float L)
    let dp = a * 2.0 / float n * st.ReadoutNorm * residualError run s + dpUnderflow
    let scale = Array.zeroCreate L
    let fromResidual = Array.zeroCreate L
    let work = Array.zeroCreate<float> m
    // σ' of each sample's pre-activations from the visit itself (the numbers `Activations.Derivatives` gives, computed beside σ)
    lw.VisitLayersWithSlopes(fun layer _ sigma slopesOf ->
        let o = layer * md
        let mutable mV = 0.0
        let mutable mW = 0.0
        let mutable sSig = 0.0
        let mutable sH = 0.0
        for i in 0 .. n - 1 do
            let p = lw.P.[layer + 1].[i]
            let h = lw.H.[layer].[i]
            let sg = sigma.[i]
            let slopes = slopesOf.[i]
            let pn, sn, hn = Linalg.normOf p, Linalg.norm sg, Linalg.normOf h
            // ‖σ' ⊙ Vᵀp‖² = Σ_j (σ'_j·Σ_r V_rj·p_r)², each sum in index order (`RoundingSums.SlopedAdjointSquare`: the j's side
            // by side in vector lanes, the scalar loops' bits)
            let g2 = ResOdeProofs.Numerics.Model.RoundingSums.SlopedAdjointSquare(ReadOnlySpan(v, o, md), Linalg.spanOf p, ReadOnlySpan(slopes), m, d, Span(work))
            mV <- mV + pn * sn
            mW <- mW + sqrt g2 * hn
            sSig <- sSig + sn
            sH <- sH + hn
        scale.[layer] <- sqrt (mV * mV + mW * mW)
        let gradientUnderflow = eta * (sqrt (2.0 * float md) * float (n + 1) + sqrt (float m) * float (d + 1) * sH)
        fromResidual.[layer] <- dp * sqrt (sSig * sSig + Portable.sq (st.S1 * vOp.[layer] * sH)) + gradientUnderflow)
    // the float64 evaluation of these sums of non-negative terms (about m + d + n + 8 roundings on a path)
    let raise = 1.0 + gamma64 (m + d + n + 16)
    scale |> Array.map (fun x -> x * raise), fromResidual |> Array.map (fun x -> x * raise)

let private gradientScalesTable = Runtime.CompilerServices.ConditionalWeakTable<Run, Lazy<float[] * float[]>[]>()

/// `gradientScalesOf` once per run and snapshot (I.update and L5.split both read it; it is a pass over every layer and sample).
let gradientScales (run: Run) (s: int) : float[] * float[] =
    gradientScalesTable.GetValue(run, fun run -> Array.init run.SnapshotCount (fun s -> lazy (gradientScalesOf run s))).[s].Force()

/// (I.update) Z^{j+1} = Z^j − η·c_k·G_k(Z^j) per layer, c_k = min(1, C/‖G_k‖_F) for clipped GD (1 otherwise).
let update : Result<Run> =
  FlowRuns.gdOnly "I.loss and I.trace, which check flow runs too"
    { Id = "I.update"
      Title = "Consecutive snapshots are one gradient step apart"
      Source = src
      Provenance = ProvedHere
      Doc = doc
      Statement =
        "When snapshots s, s + 1 are taken at iterations j and j + 1, every layer satisfies ‖Z_k^{j+1} − Z_k^j + η c_k G_k(Z^j)‖_F ≤ η c_k(τ^∇_s·M_k + E_k) + 4u(‖Z_k^j‖_F + η c_k‖G_k‖_F) "
        + "(τ^∇_s the gradients' tolerance at snapshot s: the per-state count with the backward pass' sensitivity to the states' errors; M_k ≥ ‖G_k‖_F the sum over the samples of their terms' "
        + "norms, Σ_i‖p_k^i‖‖σ_k^i‖ and Σ_i‖σ'⊙V_kᵀp_k^i‖‖h_{k−1}^i‖, which a gradient small by cancellation between the samples does not shrink; E_k the adjoints' error from the residuals' "
        + "absolute error δ_s, Ā_s(2/n)‖B‖₂δ_s through the layer), "
        + "G from the reference evaluation at the snapshot weights, c_k the clip factor (1 for plain GD)."
      Hypotheses =
        // the step compared is gradient descent's: a run of another optimizer (adam, momentum, …) with consecutive
        // snapshots was VIOLATED by its own faithful step
        [ "gradient descent (gd or clipped-gd)", (fun (run: Run) ->
            match run.Setting.Optimizer with
            | "gd" | "clipped-gd" as o -> Met o
            | o -> NotMet(sprintf "not plain gradient descent (run.json optimizer '%s'): the step checked is Z ← Z − η·c_k·G_k" o))
          "two consecutive snapshots", fun (run: Run) ->
            match consecutivePairs run with
            | [] -> NotMet "no two snapshots at consecutive iterations: take snapshots at j and j + 1"
            | ps -> Met(sprintf "%d consecutive pair(s)" ps.Length) ]
      Conclusion =
        fun run ->
            let u = unitRoundoff run
            let md, L = run.Shape.LayerSize, run.Setting.Depth
            let eta = run.Setting.Eta
            let checks =
                [ for s in consecutivePairs run do
                    let tau = toleranceAt run s
                    let lw = run.Layerwise s
                    let scales, fromResidual = gradientScales run s
                    let w0, v0, w1, v1 = run.W s, run.V s, run.W(s + 1), run.V(s + 1)
                    for k in 0 .. L - 1 do
                        let off = k * md
                        let gnorm = sqrt (Portable.sq (Linalg.frobenius lw.GW.[k] 0 md) + Portable.sq (Linalg.frobenius lw.GV.[k] 0 md))
                        let c =
                            match run.Setting.Clip with
                            | Some clip when run.Setting.Optimizer = "clipped-gd" && gnorm > clip -> clip / gnorm
                            | _ -> 1.0
                        let mutable r = 0.0
                        let mutable z = 0.0
                        for e in 0 .. md - 1 do
                            let a = w1.[off + e] - w0.[off + e] + eta * c * lw.GW.[k].[e]
                            let b = v1.[off + e] - v0.[off + e] + eta * c * lw.GV.[k].[e]
                            r <- r + a * a + b * b
                            z <- z + Portable.sq w0.[off + e] + Portable.sq v0.[off + e]
                        let step = eta * c * gnorm
                        yield step,
                              { Measured = sqrt r; Bound = eta * c * (tau * scales.[k] + fromResidual.[k]) + 4.0 * u * (sqrt z + step)
                                Where = sprintf "layer k = %d (step ‖ηc_kG_k‖ = %.6g)" (k + 1) step
                                When = sprintf "iterations %d → %d" run.Steps.[s] run.Steps.[s + 1] } ]
            // a comparison whose allowance is at least the step itself accepts the weights left unchanged (measured = the
            // step) or the step taken twice: on a float32 run at trained weights τ^∇ ≫ 1 (the Jacobian products not
            // certifiable, Ā the worst case) and I.update held at 10²⁰× with no update between the snapshots
            // (a layer whose step is 0 has nothing to miss: any move of it is compared against the rounding alone)
            let uninformative = checks |> List.filter (fun (step, c) -> Comparison.cannotTell step c.Bound) |> List.length
            evaluation 0.0 (checks |> List.map snd) (toleranceConstants toleranceAt run) []
            |> Evaluation.requireInformative "an allowance below the step (a missing update would be rejected)"
                ("the allowance is at least the step ‖ηc_kG_k‖ itself, so weights left unchanged or the step taken twice would hold too: " + whyLoose run "the step")
                uninformative checks.Length }

/// Notes for a row that compares the trace's loss column with a reference loss: a column read in run.json's
/// "mean-over-entries" convention is shown per-sample (the file's values × d_out), and a claimed column that is d_out (or
/// 1/d_out) times the reference at every compared iterate is named as another convention than run.json's (a PyTorch user's
/// per-sample trace beside an MSELoss losses.npy read "claimed loss 18.60 vs verified 6.20", the file holding 6.20).
let lossConventionNotes (run: Run) (claimed: float[]) (reference: float[]) : string list =
    let dOut = float run.Data.Data.OutputDim
    let mean = run.Data.Meta.Loss = "mean-over-entries" || run.Data.Meta.Loss = "mean"
    let ratios =
        Seq.zip claimed reference
        |> Seq.filter (fun (c, r) -> Double.IsFinite c && Double.IsFinite r && c <> 0.0 && r <> 0.0)
        |> Seq.map (fun (c, r) -> c / r) |> Seq.truncate 16 |> List.ofSeq
    // as a ratio of two losses of the run's precision each stored once: within 8u of d_out
    let near x = not ratios.IsEmpty && ratios |> List.forall (fun q -> abs (q - x) <= 8.0 * Rounding.unitRoundoff run * x)
    [ if mean then
        sprintf "the trace's loss column is read in run.json's convention \"%s\" and shown per-sample (the file's values × d_out = %g)" run.Data.Meta.Loss dOut
      if dOut > 1.0 && near dOut then
        sprintf "the claimed loss is d_out = %g times the reference at every compared iterate: the trace's loss column seems to hold %s losses while run.json's \"loss\" says %s" dOut (if mean then "per-sample" else "d_out times per-sample") (if mean then "mean-over-entries" else "per-sample")
      elif dOut > 1.0 && near (1.0 / dOut) then
        sprintf "the claimed loss is 1/d_out = 1/%g of the reference at every compared iterate: the trace's loss column seems to hold mean-over-entries losses while run.json's \"loss\" says %s" dOut (if mean then "mean-over-entries (read twice?)" else "per-sample") ]

/// (I.trace) the trace's loss column equals the losses exactly, and smooth_z at each snapshot equals
/// max_k‖Z_{k+1} − Z_k‖_F recomputed from the snapshot's weights (within the rounding of that norm on both sides).
let traceConsistency : Result<Run> =
    { Id = "I.trace"
      Title = "The trace agrees with the losses and the snapshot weights"
      Source = src
      Provenance = ProvedHere
      Doc = doc
      Statement =
        "trace loss[j] = losses[j] for every iterate (on a run this engine build wrote, the same number is written twice: exact equality; another producer's within 2γ_{n·d_out+1}·max of the two, a second evaluation from the same outputs; a file stored as float32 within r/(1 − r) of itself, r = 2⁻²⁴), and |smooth_z[j_s] − d_s| ≤ 2ρ·d_s + 4u·max_k ‖Z_k‖_F at every snapshot, d_s = max_k‖Z_{k+1} − Z_k‖_F recomputed from snapshot s's weights and ρ = γ_{2md+3}/(1 − γ_{2md+3}) the rounding of such a norm in the run's precision (the producer's and the verifier's), raised by r(d_s + that bound) for a smooth_z stored as float32."
      Hypotheses =
        [ "trace with loss and smooth_z", fun (run: Run) ->
            match run.ClaimedTrace "loss", run.ClaimedTrace "smooth_z" with
            | Some _, Some _ -> Met "present"
            | _ -> NotMet "the run has no loss or smooth_z trace column" ]
      Conclusion =
        fun run ->
            let u = unitRoundoff run
            let tl, sz = (run.ClaimedTrace "loss").Value, (run.ClaimedTrace "smooth_z").Value
            let ownWrite =
                not (isNull (ResOdeProofs.Numerics.Verification.Replay.BitExactClaim run.Data))
                || not (isNull (ResOdeProofs.Numerics.Verification.FlowReplay.BitExactClaim run.Data))
            let sums = gamma run (run.Setting.Samples * run.Data.Data.OutputDim + 1)
            let zmax s =
                let md = run.Shape.LayerSize
                Comparison.maxKeepNaN (seq { for k in 0 .. run.Setting.Depth - 1 -> sqrt (Portable.sq (Linalg.frobenius (run.W s) (k * md) md) + Portable.sq (Linalg.frobenius (run.V s) (k * md) md)) })
            let checks =
                seq {
                    if tl.Length <> run.Losses.Length then
                        yield { Measured = infinity; Bound = 0.0; Where = sprintf "trace has %d loss entries, losses %d" tl.Length run.Losses.Length; When = "whole run" }
                    for j in 0 .. min tl.Length run.Losses.Length - 1 do
                        // the same number written twice: equal as IEEE values (∞ = ∞ on a diverged run) or both NaN;
                        // |∞ − ∞| = NaN is not a difference
                        let a, b = tl.[j], run.Losses.[j]
                        let same = a = b || (Double.IsNaN a && Double.IsNaN b)
                        // either file stored as float32 holds the number rounded once more: each within r/(1 − r) of
                        // itself of the loss computed (`LossStorage.allowance`; 0 for float64 files: exact equality)
                        let stored = LossStorage.allowance (run.TraceStorageRoundoff "loss") a + LossStorage.allowance run.LossesStorageRoundoff b
                        // a run this engine build wrote (its bit-exact claim) writes the same double twice; another producer's
                        // trace may hold a second evaluation of ℓ(Z^j) from the same outputs (a logger summing the squares in
                        // another order): each within γ_{n·d_out+1}·ℓ of the exact sum, so 2γ·max(|a|, |b|) apart (a
                        // PyTorch user's logger differed by one ulp at 128 of 301 iterates, and I.trace was violated)
                        let allowed = if ownWrite then stored else stored + 2.0 * sums * max (abs a) (abs b)
                        if not same && not (allowed > 0.0 && abs (a - b) <= allowed) then
                            yield { Measured = (if Double.IsFinite a && Double.IsFinite b then abs (a - b) else infinity); Bound = allowed; Where = sprintf "trace loss %.17g vs losses %.17g" tl.[j] run.Losses.[j]
                                    When = sprintf "iteration %d" j }
                    for s in 0 .. run.SnapshotCount - 1 do
                        let j = run.Steps.[s]
                        if j < sz.Length then
                            let di = run.DepthIncrement s
                            // both sides within ρ of the exact norm: the allowance grows with the recomputed value,
                            // never with the claimed one (a claim must not widen its own allowance)
                            // a smooth_z stored as float32: the computed value (within the bound below of di) rounded once more
                            let within0 = 2.0 * Rounding.incrementRelative run * di + 4.0 * u * zmax s
                            yield { Measured = abs (sz.[j] - di); Bound = within0 + run.TraceStorageRoundoff "smooth_z" * (di + within0)
                                    Where = sprintf "smooth_z %.17g vs recomputed %.17g" sz.[j] di; When = sprintf "snapshot %d (iteration %d)" s j }
                }
            evaluation 0.0 checks [ "rho", Rounding.incrementRelative run; "unit roundoff", u ] (lossConventionNotes run tl run.Losses) }

/// Every integrity check, for a registry.
let all : Result<Run> list = [ snapshotLoss; update; traceConsistency ]

