/// Rounding is part of the statement: the unit roundoff of a run's recorded precision and the allowances derived
/// from it that a bound compared with that run carries (docs/theorems/RunIntegrity.md, "Rounding allowances").
module ResOdeProofs.Theory.Rounding

open System
open ResOdeProofs.Theory

/// Unit roundoff of float64, u = 2^-53: the one definition every float64 error bound of the theory layer uses.
[<Literal>]
let Float64UnitRoundoff = 1.1102230246251565e-16

/// Unit roundoff of float32, u = 2^-24.
[<Literal>]
let Float32UnitRoundoff = 5.960464477539063e-8

/// True when the engine computed and stored the run in float32 (run.json "precision").
let isFloat32 (run: Run) = run.Data.Meta.Precision = "float32"

/// η: the spacing of the run's precision's subnormal numbers (2⁻¹⁴⁹ float32, 2⁻¹⁰⁷⁴ float64, `Replay.UnderflowUnit`), a bound
/// on the absolute error of a product or quotient that underflows (gradual underflow, Higham §2.1: fl(x op y) =
/// (x op y)(1 + δ) + η', |η'| ≤ λu, half of it; sums and differences exact there). The relative counts of this module do not
/// cover it: on float32 data near 10⁻⁴⁰ it is the whole allowance.
let underflowUnit (run: Run) = ResOdeProofs.Numerics.Verification.Replay.UnderflowUnit run.Data.Meta.Precision

/// Unit roundoff of the engine's precision: 2^-53 (float64) or 2^-24 (float32).
let unitRoundoff (run: Run) = if isFloat32 run then Float32UnitRoundoff else Float64UnitRoundoff

/// γ_k = k·u/(1 − k·u) for a count k given as a float (the counts of a run's sums, products of its sizes, can pass
/// the range of an int); +∞ when k·u ≥ 1. The one definition of γ (`gammaAt`, `gamma`, `gamma64` call it).
let private gammaOf (u: float) (k: float) =
    let ku = k * u
    if ku < 1.0 then ku / (1.0 - ku) else infinity

/// Computed once per run: every call of `tolerance` reads it (per iterate through `updateAllowance`).
let private amplifications = Runtime.CompilerServices.ConditionalWeakTable<Run, float[]>()

/// Π_k(1 + κ_k/L) at snapshot s, κ_k = s1‖W_k‖₂‖V_k‖₂; 1 where it is not a finite number.
let private worstCaseAt (run: Run) (s: int) =
    let L = float run.Setting.Depth
    let s1 = run.Setting.S1
    let struct (w, v) = run.LayerOperatorNorms s
    let mutable logA = 0.0
    for k in 0 .. w.Length - 1 do logA <- logA + Portable.log (1.0 + s1 * w.[k] * v.[k] / L)
    let a = Portable.exp logA
    if Double.IsFinite a then a else 1.0

let private amplificationOf (run: Run) =
    seq { 0 .. run.SnapshotCount - 1 } |> Seq.map (worstCaseAt run) |> Seq.fold max 1.0

/// The worst-case amplification Π_k(1 + κ_k/L) of a rounding error along the forward pass, κ_k = s1·‖W_k‖₂‖V_k‖₂ with the
/// exact spectral norms of the layers, the largest over the run's snapshots (an MLP run; 1 for any other): a Lipschitz
/// bound of every segment of the pass at any states. A snapshot whose norms are not finite numbers (a diverged run)
/// counts as 1: its comparisons are not meaningful, and a NaN here would turn every comparison that uses τ into a
/// failure. `amplificationAt` uses it where the products of the actual Jacobians are not available.
let forwardAmplification (run: Run) =
    if not run.IsMlp || run.SnapshotCount = 0 then 1.0
    else amplifications.GetValue(run, fun run -> [| amplificationOf run |]).[0]

/// The amplification of a rounding error made at one layer of snapshot s's pass, as `amplificationAt` returns it.
type Amplification =
    { /// Ā ≥ the norm of every product J_b ⋯ J_{a+1} (0 ≤ a < b ≤ L, every sample) of the layers' Jacobians between
      /// the exact and the computed states (secant Jacobians), and of their transposes
      Value: float
      /// ς: the sensitivity of the backward pass and of the layer gradients to the states' errors, relative to the
      /// states' own first-order error (0 where it is not bounded: relu, or the fallback of another block)
      Sensitivity: float
      /// "jacobian products" (the actual products at the verifier's states), "worst case" (Π(1 + κ_k/L), the fallback)
      /// or "none" (a block other than the MLP: 1)
      Method: string
      /// c_s: one pass' rounding to first order, relative to the states it is made in (`stateCountAt`; in place of the
      /// former L·(m + d)·u)
      PerState: float }

/// One pass' rounding at snapshot s, counted per layer and sample at the verifier's float64 states (docs/theorems/
/// RunIntegrity.md, "Per-state count"): the computed x_k = fl(x_{k−1} + (1/L)·V_k σ(W_k x_{k−1})) in the run's precision u
/// differs from the exact layer map at the computed x_{k−1} by at most, entrywise,
///   β_k = γ_{m+3}·(|x_{k−1}| + |V_k||ẑ|/L) + |V_k|·(s1·γ_d·|W_k||x_{k−1}| + ε(ẑ))/L,
/// ẑ = σ(W_k x_{k−1}), ε(z) = `LayerJacobian.evalErr` (16u(1 + |z|), the activation library's assumed accuracy): the m + 1
/// terms of a state entry with 1/L and its product (γ_{m+3}, any order, fused or not), the pre-activation's d terms
/// (γ_d·|W||x|) moved through σ (s1 = sup|σ'|), σ's own error. The pass starts from h_0 = A x formed in the run's precision:
/// β_0 = γ_{d_in+1}·|A||x| + u·|h_0| (the embedding's d_in terms, x rounded to the run's precision, h_0 stored in it; A = I:
/// |x|). S_b^i = Σ_{0≤k≤b} ‖β_k^i‖₂ per sample; `Prefix`.[b] = max_i S_b^i (b = 0..L) and `Count` = max_b Prefix_b /
/// max_i ‖h_b^i‖ (b = 1..L); `Last` the same at b = L alone (what the loss reads). Evaluated at the verifier's states instead of the
/// engine's, which differ by O(u): first order in u, like every count of this module, but relative to the terms' own
/// magnitudes, where the former count (m + d)u·‖h_k‖ per layer was relative to the state alone.
type StateCount = { Count: float; Last: float; Prefix: float[] }

/// (|A||x_i|)_r = Σ_c |A_rc·x_ic|, the magnitude the embedding h_0 = A x sums in entry r of sample i (|x_ir| without A): what
/// its d_in products' rounding is relative to (the per-state count's β_0, C.mu0's Φ rounding).
let embeddingMagnitude (run: Run) (i: int) (r: int) =
    let data = run.Data.Data
    let dIn = data.InputDim
    match run.Data.A with
    | null -> abs data.X.[i * dIn + r]
    | a ->
        let mutable t = 0.0
        for c in 0 .. dIn - 1 do t <- t + abs (a.[r * dIn + c] * data.X.[i * dIn + c])
        t

let private stateCounts = Runtime.CompilerServices.ConditionalWeakTable<Run, Lazy<StateCount>[]>()

/// The per-state count of snapshot s of an MLP run (`StateCount`; computed once per snapshot and run).
let stateCountAt (run: Run) (s: int) : StateCount =
    let table =
        stateCounts.GetValue(run, fun run ->
            Array.init run.SnapshotCount (fun s ->
                lazy
                    (let st = run.Setting
                     let L, m, d = st.Depth, st.Width, st.Dim
                     let md = m * d
                     let ur = unitRoundoff run
                     let gm, gd = gammaOf ur (float (m + 3)), gammaOf ur (float d)
                     let s1 = st.S1
                     let lw = run.Layerwise s
                     let n = lw.H.[0].Length
                     let w, v = run.W s, run.V s
                     let sums = Array.zeroCreate<float> n
                     let prefix = Array.zeroCreate<float> (L + 1)
                     // β_0: the embedding h_0 = A x in the run's precision
                     let data = run.Data.Data
                     let dIn = data.InputDim
                     let gIn = gammaOf ur (float (dIn + 1))
                     // underflow (`underflowUnit`): the embedding's d_in products and the input rounded to the run's precision,
                     // (d_in + 1)η an entry (1η without A); a layer's entry (m + 2)η (V·σ's m products, the 1/L, σ's absolute
                     // error already in ε) plus its pre-activations' d products moved through σ and V/L, s1·d·η·Σ_j|V_rj|/L
                     let eta = underflowUnit run
                     let etaIn = (if isNull run.Data.A then 1.0 else float (dIn + 1)) * eta
                     let etaState = float (m + 2) * eta
                     for i in 0 .. n - 1 do
                         let h0 = lw.H.[0].[i]
                         let mutable sq = 0.0
                         for r in 0 .. d - 1 do
                             let e = gIn * embeddingMagnitude run i r + ur * abs h0.[r] + etaIn
                             sq <- sq + e * e
                         sums.[i] <- sqrt sq
                     prefix.[0] <- Comparison.maxKeepNaN sums
                     let fL = float L
                     // per sample i of layer k: q_j = gm·|z_j| + s1·(gd·Σ_c|W_jc·x_c| + d·η) + ε(z_j) (ε = `LayerJacobian.evalErr`,
                     // 16u(1 + |z|)), e_r = gm·|x_r| + (Σ_j|V_rj|·q_j)/L + etaState, and Σ_r e_r², each sum in index order
                     // (`RoundingSums.StateSquares`: the independent entries side by side in vector lanes, the scalar loops' bits)
                     let squares = Array.zeroCreate<float> n
                     let scratch = Array.zeroCreate<float> (ResOdeProofs.Numerics.Model.RoundingSums.StateScratch(m, d))
                     let dEta, u16 = float d * eta, LayerJacobian.EvalErrUnits * ur
                     lw.VisitLayers(fun layer _ sigma ->
                         let o = layer * md
                         ResOdeProofs.Numerics.Model.RoundingSums.StateSquares(
                             ReadOnlySpan(w, o, md), ReadOnlySpan(v, o, md), lw.H.Layer layer, sigma, m, d, gm, gd, s1, dEta, u16, fL, etaState,
                             Span(squares), scratch)
                         for i in 0 .. n - 1 do sums.[i] <- sums.[i] + sqrt squares.[i]
                         prefix.[layer + 1] <- Comparison.maxKeepNaN sums)
                     // the float64 evaluation of these sums of non-negative terms (about m + 1.5d + d_in + L + 12 roundings
                     // on a path: β's terms, the squares, their sum and root, the layers' sum; γ of a larger count, Higham
                     // Lemma 3.1), and the quotient
                     let raise = 1.0 + gammaOf Float64UnitRoundoff (float (md + m + d + dIn + L + 16))
                     let prefix = prefix |> Array.map (fun p -> p * raise)
                     let ratio b =
                         let rows = lw.H.[b]
                         let hb = Array.init rows.Length (fun i -> Linalg.normOf rows.[i]) |> Comparison.maxKeepNaN
                         if prefix.[b] = 0.0 then 0.0 elif hb > 0.0 then prefix.[b] / hb else Double.PositiveInfinity
                     let mutable count = 0.0
                     for b in 1 .. L do
                         let c = ratio b
                         count <- if Double.IsNaN c || Double.IsNaN count then nan else max count c
                     { Count = count; Last = ratio L; Prefix = prefix })))
    table.[s].Force()

/// max_j ‖(W_k)_{j,:}‖₂ of every layer of snapshot s (raised by 1 + γ(d + 2) for its rounding): |(W_k e)_j| ≤ it·‖e‖,
/// the move of a pre-activation under a state error e.
let private rowNorms (run: Run) (s: int) =
    let st = run.Setting
    let m, d = st.Width, st.Dim
    let w = run.W s
    Array.init st.Depth (fun k ->
        let mutable best = 0.0
        for j in 0 .. m - 1 do best <- max best (Linalg.frobenius w (k * m * d + j * d) d)
        best * (1.0 + gammaOf Float64UnitRoundoff (float (d + 2))))

/// The largest ‖h_k^i‖ of the verifier's float64 pass at snapshot s (`Run.Layerwise`), over k = 0..L and every sample, a NaN
/// counting as the largest (`Comparison.maxKeepNaN`, in the same order, k then i).
let private stateNormMax (run: Run) (s: int) =
    (run.Layerwise s).H |> Seq.collect id |> Seq.map Linalg.normOf |> Comparison.maxKeepNaN

/// Ā from the products of the Jacobians at the verifier's own float64 states (`Run.Layerwise`), None where they
/// cannot be certified (σ'' unbounded, a state or norm not finite, or the second-order term too large: 4T²K ≥ 1 or
/// ρ > 1/4). Derivation: docs/theorems/RunIntegrity.md, "Tolerance from rounding", steps 1–5.
let private actualAmplification (run: Run) (s: int) (hMaxOf: Lazy<float>) (rowsOf: Lazy<float[]>) : float option =
    let st = run.Setting
    match st.S2 with
    | None -> None
    | Some s2 ->
        let L, m, d = st.Depth, st.Width, st.Dim
        let u = Float64UnitRoundoff
        let ur = unitRoundoff run
        let md = m * d
        let lw = run.Layerwise s
        let struct (wOp, vOp) = run.LayerOperatorNorms s
        let w, v = run.W s, run.V s
        let hMax = hMaxOf.Force()
        let finite = Double.IsFinite hMax && Array.forall Double.IsFinite wOp && Array.forall Double.IsFinite vOp
        if not finite || L = 0 then None
        else
        let gam k = gammaOf u (float k)
        // step 3: ν_k ≥ ‖J_k‖₂ (|σ'| ≤ s1, the computed spectral norms within 1 + 4du each)
        let nu = Array.init L (fun k -> 1.0 + st.S1 * vOp.[k] * wOp.[k] * (1.0 + 10.0 * float d * u) / float L)
        let fro = Array.init L (fun k -> Linalg.frobenius v (k * md) md * Linalg.frobenius w (k * md) md)
        let prodNu = nu |> Array.fold (fun p x -> p * x) 1.0
        // step 2: T ≥ max over samples and segments of ‖J_b ⋯ J_{a+1}‖₂ at the verifier's states
        // (the L Jacobians, the slopes and V diag(D)/L of one sample in arrays each worker thread keeps for its next
        // sample: `form` writes every entry of them before any is read, so the same numbers as fresh arrays)
        use work = new Threading.ThreadLocal<float[][] * float[] * float[] * float[] * float[]>(fun () ->
            Array.init L (fun _ -> Array.zeroCreate (d * d)), Array.zeroCreate m, Array.zeroCreate (d * m), Array.zeroCreate m, Array.zeroCreate m)
        // W_kᵀ (d×m) of every layer, shared by the samples: the pre-activation Σ_c W_k[j,c]·h[c] of the reference's forward
        // pass (its bits: `ProductSums`, formed again from its state, one sample and layer at a time) and Σ_c |W_k[j,c]·h[c]|,
        // in lanes over j
        let wT =
            Array.init L (fun k ->
                let t = Array.zeroCreate md
                for jj in 0 .. m - 1 do
                    for c in 0 .. d - 1 do t.[c * m + jj] <- w.[k * md + jj * d + c]
                t)
        let errScale = float (d + 1) * u
        let perSample (i: int) =
            let js, slopes, vd, absSums, pre = work.Value
            let mutable prodA = 1.0
            for k in 0 .. L - 1 do
                let o = k * md
                let h = lw.H.[k].[i]
                ResOdeProofs.Numerics.Model.Layerwise.ProductSums(ReadOnlySpan(wT.[k]), d, m, Linalg.spanOf h, Span(pre), Span(absSums))
                let epsMax = LayerJacobian.tangentSlopes u st.Activation st.S2 errScale absSums pre 0 slopes
                LayerJacobian.form L m d w v o slopes vd js.[k]
                let eta = LayerJacobian.formError u L m st.S1 vOp.[k] wOp.[k] epsMax fro.[k]
                prodA <- prodA * (nu.[k] + eta) * (1.0 + float d * gam d)
            // ‖M − M̂‖₂ ≤ Π_k (ν_k + η_k)(1 + dγ_d) − Π_k ν_k for every product formed from the chain (step 3)
            let eps = prodA * (1.0 + 2.0 * float L * u) - prodNu * (1.0 - 2.0 * float L * u)
            // blocks whose worst case Π ν_k is near 1 take it (`LayerJacobian.BlockWorstCase`): the ν_k above bound the exact
            // Jacobians' norms at any states
            LayerJacobian.segmentBoundBlocks true u d eps (Some nu) js
        let T = Budgeted.init lw.H.[0].Length perSample |> Comparison.maxKeepNaN
        // step 4: the secant Jacobians differ from the tangent ones by ‖Δ_k‖ ≤ (2s2/L)‖V_k‖₂‖W_k‖₂r_k·ĀS_{k−1}
        // (r_k = max_j ‖(W_k)_{j,:}‖₂, `rowNorms`),
        // S_{k−1} = 2·max_i S_{k−1}^i (the per-state count of the first k − 1 layers, `stateCountAt`; 2 for the three passes'
        // states, as 2H̄ was for the former count)
        let count = stateCountAt run s
        let rows = rowsOf.Force()
        let mutable K = 0.0
        for k in 1 .. L do
            let sPrev = 2.0 * count.Prefix.[k - 1]
            K <- K + 2.0 * s2 / float L * vOp.[k - 1] * wOp.[k - 1] * rows.[k - 1] * sPrev
        K <- K * (1.0 + gam (4 * L + 8))
        // step 5: Ā = 2T/(1 + √(1 − 4T²K)), the least solution of Ā ≥ T(1 + Ā²K)
        let disc = 1.0 - 4.0 * T * T * K
        if not (Double.IsFinite T) || not (disc > 0.0) then None
        else
            let a = 2.0 * T / (1.0 + sqrt disc) * (1.0 + 8.0 * u)
            let rho = a * count.Count
            if not (rho <= 0.25) then None
            else Some a

/// ς at snapshot s for an amplification Ā (step 6): s2·2H̄·(Ā·mean_k ‖V_k‖₂‖W_k‖₂r_k + max_k r_k/s1), H̄ the largest
/// state of the verifier's pass, r_k = max_j ‖(W_k)_{j,:}‖₂ (`rowNorms`); 0 where σ'' is unbounded (relu) or a term is not a finite number.
let private sensitivity (run: Run) (s: int) (hMaxOf: Lazy<float>) (rowsOf: Lazy<float[]>) (a: float) =
    let st = run.Setting
    match st.S2 with
    | None -> 0.0
    | Some s2 ->
        let struct (wOp, vOp) = run.LayerOperatorNorms s
        let L = st.Depth
        let hMax = hMaxOf.Force()
        let rows = rowsOf.Force()
        let meanVW2 = (Array.init L (fun k -> vOp.[k] * wOp.[k] * rows.[k]) |> Array.sum) / float L
        let sens = s2 * 2.0 * hMax * (a * meanVW2 + Array.max rows / st.S1) * (1.0 + gammaOf Float64UnitRoundoff (float (L + 8)))
        if Double.IsFinite sens then sens else 0.0

/// L·(m + d)·u, the former per-state count (a first-order estimate relative to the states alone): kept for a run without
/// snapshots, a block other than the MLP (whose pass is compared by other means) and a snapshot whose `stateCountAt` is not
/// a finite number (its states not finite, or all 0 at a layer).
let private formerPerState (run: Run) =
    let st = run.Setting
    float st.Depth * float (st.Width + st.Dim) * unitRoundoff run

/// The products of the actual Jacobians are formed only at a snapshot whose worst case Π_k(1 + κ_k/L) exceeds 10. Both
/// are upper bounds of the same amplification, so this is a choice of cost, not of validity: the products cost 0.2–2 CPU s
/// per snapshot (figure 2, the deep run: docs/performance.md), and below 10 the worst case leaves an allowance at most ten
/// times the one of an amplification of 1 (figure 1 and the deep run: worst case ≈ 7, τ ≈ 10⁻¹¹); on trained weights
/// whose worst case is 10⁴–10⁸ (figure 2) the products are what keep τ at the order of the rounding.
[<Literal>]
let ProductsAbove = 10.0

let private amplificationsAt = Runtime.CompilerServices.ConditionalWeakTable<Run, Lazy<Amplification>[]>()

/// The amplification at snapshot s (computed once per snapshot and run): an MLP run with σ'' bounded takes the
/// products of the actual Jacobians along the verifier's float64 pass at that snapshot (`actualAmplification`), or the
/// worst case Π_k(1 + κ_k/L) of that snapshot when it is smaller, at most `ProductsAbove`, or the products cannot be
/// certified; relu takes the
/// worst case (its slopes jump: no second-order bound); a block other than the MLP 1 (its pass is compared by other
/// means).
let amplificationAt (run: Run) (s: int) : Amplification =
    if not run.IsMlp then { Value = 1.0; Sensitivity = 0.0; Method = "none"; PerState = formerPerState run }
    else
        let table =
            amplificationsAt.GetValue(run, fun run ->
                Array.init run.SnapshotCount (fun s ->
                    lazy
                        // a failure of the products' computation is not caught here: it is a failure of the tool
                        // (the reference pass cannot fail on an MLP run; a state that is not finite gives None below)
                        (let worst = worstCaseAt run s
                         let perState = stateCountAt run s |> fun c -> if Double.IsFinite c.Count then c.Count else formerPerState run
                         // H̄ and the row norms r_k of the snapshot, formed once for the products and ς (when either asks)
                         let hMax = lazy (stateNormMax run s)
                         let rows = lazy (rowNorms run s)
                         match (if worst <= ProductsAbove then None else actualAmplification run s hMax rows) with
                         | Some a when a <= worst -> { Value = a; Sensitivity = sensitivity run s hMax rows a; Method = "jacobian products"; PerState = perState }
                         | _ -> { Value = worst; Sensitivity = sensitivity run s hMax rows worst; Method = "worst case"; PerState = perState })))
        table.[s].Force()

/// 4·L·(m + d)·u, τ's per-state term without snapshots (the former count, two passes, squares).
let private perStateCount (run: Run) = 4.0 * formerPerState run

/// γ of the sums over the samples: n·(d_out + 1) + 1 roundings.
let private sampleSums (run: Run) =
    gammaOf (unitRoundoff run) (float run.Setting.Samples * float (run.Data.Data.OutputDim + 1) + 1.0)

/// (forward) The relative tolerance of a quantity the engine and the reference (`Layerwise`, double) compute by the
/// forward pass from snapshot s's weights (the loss, I.loss; the trace at the snapshot, I.trace):
///   τ_s = 4·Ā_s·c_s + γ_{n·(d_out + 1) + 1}
/// in the run's precision u, Ā_s and c_s = `amplificationAt`'s Value and PerState. c_s bounds the rounding one pass makes
/// up to a layer relative to that layer's states (`stateCountAt`: each layer's inner products of lengths d and m, 1/L and
/// σ, counted relative to the magnitudes of their terms); an error made at layer j reaches a later state through the
/// product of the layers' Jacobians, at most Ā_s; the engine and the
/// reference each make such errors (2) and the loss squares the outputs (2). The second term is what the per-state
/// count leaves out: the sums over the samples, n·d_out squares summed and divided by n for the loss and n terms for
/// every entry of a layer gradient. The same in float32 at u = 2⁻²⁴ (no floor). docs/theorems/RunIntegrity.md,
/// "Tolerance from rounding".
let forwardToleranceAt (run: Run) (s: int) =
    if run.SnapshotCount = 0 then perStateCount run + sampleSums run
    else
        let a = amplificationAt run s
        4.0 * a.Value * a.PerState + sampleSums run

/// (gradient) The relative tolerance of a quantity the engine and the reference compute by the forward and the backward
/// pass from snapshot s's weights (the layer gradients, I.update): the forward one with the backward pass' and the
/// layer gradients' sensitivity to the states' errors,
///   τ^∇_s = 4·Ā_s·c_s·(1 + ς_s/2) + γ_{n·(d_out + 1) + 1},
/// ς_s = `amplificationAt`'s Sensitivity (the adjoints' error propagated by the transposed Jacobians, whose products
/// are the same, and σ' evaluated at states off by the forward error).
let toleranceAt (run: Run) (s: int) =
    if run.SnapshotCount = 0 then perStateCount run + sampleSums run
    else
        let a = amplificationAt run s
        4.0 * a.Value * a.PerState * (1.0 + a.Sensitivity / 2.0)
        + sampleSums run

/// The relative tolerance of quantities the engine computed at iterates that are not all snapshots (the per-iterate
/// allowances `updateAllowance`, `incrementMeasurement`, `recursionRel`): the largest `toleranceAt` over the snapshots
/// (the weights between two snapshots are not stored; the amplification there is taken as the snapshots' largest, as
/// the worst case Π(1 + κ_k/L) was).
let private tolerances = Runtime.CompilerServices.ConditionalWeakTable<Run, float[]>()

let tolerance (run: Run) =
    if run.SnapshotCount = 0 then perStateCount run + sampleSums run
    else
        // called per iterate (and per layer) by the recursions' allowances: formed once per run
        tolerances.GetValue(run, fun run ->
            [| seq { 0 .. run.SnapshotCount - 1 } |> Seq.map (toleranceAt run) |> Seq.fold max 0.0 |]).[0]

/// The rounding of one gradient-descent update Z^{j+1} = fl(Z^j − η·Ĝ^j) seen by the depth increments
/// Δ_k = Z_{k+1} − Z_k, for the W part and the V part: storing each layer in the recorded precision moves it by at
/// most u·‖Z_k^{j+1}‖_F (so a difference of two layers by 2u·max_k‖Z_k^{j+1}‖_F), and the computed gradient differs
/// from the exact one by at most τ·‖G_k‖_F per layer (so η(Ĝ_{k+1} − Ĝ_k) from η(G_{k+1} − G_k) by 2τ·max_k η‖G_k‖,
/// at most 2τ·step_max). The allowance added to the recursion at update j is therefore
///   (2u·fro_W(j + 1) + 2τ·step(j),  2u·fro_V(j + 1) + 2τ·step(j)),
/// fro_W, fro_V upper bounds of max_k ‖W_k‖_F, max_k ‖V_k‖_F after the update and step an upper bound of the update's
/// largest layer norm.
let updateAllowance (run: Run) (froW: float) (froV: float) (step: float) =
    let u, tau = unitRoundoff run, tolerance run
    2.0 * u * froW + 2.0 * tau * step, 2.0 * u * froV + 2.0 * tau * step

/// The relative rounding of a depth increment max_k ‖Z_{k+1} − Z_k‖_F computed in the recorded precision u from the
/// weights, in any summation order: per layer 2md entries, each a subtraction and a square rounded once, summed in
/// 2md − 1 additions (γ_{2md+1} on the sum of squares), then a square root (half that, plus u): within γ_{2md+3}·x of the
/// exact x; the maximum over k is exact. Relative to the computed value x̂: γ/(1 − γ)·x̂. No forward pass is involved, so
/// the amplification of `forwardToleranceAt` has no place here. docs/theorems/RunIntegrity.md, "Measurement rounding".
let incrementRelative (run: Run) =
    let g = gammaOf (unitRoundoff run) (2.0 * float run.Shape.LayerSize + 3.0)
    if g < 1.0 then g / (1.0 - g) else infinity

/// The rounding of a measured depth increment max_k ‖Z_{k+1} − Z_k‖_F computed from weights stored in the recorded
/// precision: `incrementRelative` times the measured value, plus 4u·max_k‖Z_k‖_F absolute (the stored weights'
/// own rounding; the same allowance as I.trace).
let incrementMeasurement (run: Run) (measured: float) (froZ: float) =
    incrementRelative run * measured + 4.0 * unitRoundoff run * froZ

/// The rounding of storing one gradient-descent update Z^{j+1} = fl(Z^j − η·Ĝ^j) alone, with Ĝ the gradient as the
/// engine computed it (a result that accounts for Ĝ's own rounding elsewhere, A.split.centre.segments): each entry moves by
/// at most u|Z^{j+1}| when stored and u·η|Ĝ| (times 1 + u) when the product is rounded before the sum, so a difference of
/// two layers by 2u·max_k‖Z_k^{j+1}‖_F + 2(1 + u)u·step per part:
///   (2u·fro_W(j + 1) + 2(1 + u)u·step(j),  2u·fro_V(j + 1) + 2(1 + u)u·step(j)),
/// fro and step as in `updateAllowance`.
let storeAllowance (run: Run) (froW: float) (froV: float) (step: float) =
    let u = unitRoundoff run
    2.0 * u * froW + 2.0 * (1.0 + u) * u * step, 2.0 * u * froV + 2.0 * (1.0 + u) * u * step

/// A factor 1 + γ_N, N = n·m + m·d + 16 (γ_N = Nu/(1 − Nu)), that raises a bound built from norms and sums computed in
/// the run's precision over at most N terms (Frobenius norms of layers and of n×m arrays, the few sums of a recursion
/// step) so that it bounds the exact expression: each such norm or sum is within γ_N of its exact value, relatively.
let normInflation (run: Run) =
    let st = run.Setting
    let u = unitRoundoff run
    1.0 + gammaOf u (float (st.Samples * st.Width + st.Width * st.Dim + 16))

/// γ_k = k·u/(1 − k·u) for a unit roundoff u: a quantity reached through k roundings, each a factor (1 + δ)
/// or (1 + δ)^{-1} with |δ| ≤ u, is within γ_k of its exact value relatively (products of such factors compound as
/// (1 + θ_j)(1 + θ_k) = 1 + θ_{j+k}, |θ_k| ≤ γ_k). +∞ when k·u ≥ 1 (no relative accuracy left).
let gammaAt (u: float) (k: int) = gammaOf u (float k)

/// γ_k for the run's precision (`gammaAt` with the run's unit roundoff).
let gamma (run: Run) (k: int) = gammaAt (unitRoundoff run) k

/// γ_k in float64, for computations the verifier does itself in float64 whatever the run's precision.
let gamma64 (k: int) = gammaAt Float64UnitRoundoff k

/// The relative accuracy of the trace ratio r = Σ_k‖G_k‖_F²/(L·ℓ) (the pl_ratio column) evaluated in the run's
/// precision from the L·P gradient entries and the n·d_out residual entries: the numerator is L·P squares summed (L·P
/// roundings), ℓ is γ_{n·d_out+1} (a loss ℓ = (1/n) Σ_{i,c} r_{ic}² from its n·d_out residual entries: n·d_out squares,
/// their sum of non-negative terms and the division by n, n·d_out + 1 roundings on every path), the product L·ℓ and the
/// quotient two more: γ_{L·P + n·d_out + 3}. It is at least a loss's γ_{n·d_out+1}, so it also covers a loss: the one
/// relative allowance of the C.* comparisons that read losses and trace quantities (it replaces the former fixed 1e-9,
/// which was not derived; docs/theorems/PolyakLojasiewicz.md, "Rounding of the losses and trace quantities").
let traceRel (run: Run) =
    gamma run (run.Setting.Depth * run.ParameterCount + run.Setting.Samples * run.Data.Data.OutputDim + 3)

/// The terms of the longest sum the verifier forms from one snapshot of a run: S = n·(m + d + d_out) + P, which covers
/// the norms of a layer (P entries), of the n×d, n×m and n×d_out matrices of states, activations, adjoints and residuals,
/// and the entries of their Gram matrices (sums over at most n terms, at most k ≤ max(m, d) of them on the path of λ_max).
let private snapshotSumTerms (samples: int) (hidden: int) (dim: int) (outDim: int) (perLayer: int) =
    float samples * float (max 0 hidden + dim + outDim) + float perLayer

/// (pass) The relative accuracy of a quantity the verifier computes in float64 from one snapshot's parameters by a pass
/// over the layers (a state h_k, an adjoint p_k, a layer gradient, their norms and the spectral norms of the layers and
/// of the state matrices), measured against the scale of the bound it is compared with:
///   ρ_pass = 4·L·q·u₆₄ + γ₆₄(2S),
/// q the terms of the inner products on the path of one entry through one layer (m + d for the MLP, σ(W_k h) then
/// V_k σ; P + d for any block, whose output entries are sums over at most its P parameters and d inputs). The first
/// term is `tolerance`'s per-state count at float64: the forward error of a state is at most this times the sum of the
/// absolute values of the terms it is made of, and every bound of the chain is built from norms of those absolute
/// values (a state bound from ‖h_0‖ and the layers' norms), so the error is relative to the bound. The second covers the
/// norms: a Frobenius norm or a Gram entry over at most S terms (`snapshotSumTerms`) is within γ_S, a spectral norm
/// √λ_max within k·γ_len + O(k·u) ≤ γ_{2S} (`Model.SpectralNorm`).
let passRelOf (depth: int) (inner: int) (samples: int) (hidden: int) (dim: int) (outDim: int) (perLayer: int) =
    4.0 * float depth * float inner * Float64UnitRoundoff
    + gammaOf Float64UnitRoundoff (2.0 * snapshotSumTerms samples hidden dim outDim perLayer)

/// (chain) The relative allowance of a comparison whose two sides the verifier computes in float64 from the same
/// snapshot (lemmas L1–L5, L5.split, L5.forcing, a block's probe): the measured side is within ρ_pass of its exact value;
/// the bound is a product of at most 7 factors each within ρ_pass (norms of the pass, of the layers, sup|σ'| and sup|σ''|
/// over the range of the pass' pre-activations) combined by a recursion over the L layers of at most 8 roundings per
/// layer on non-negative numbers (γ₆₄(8(L + 1)), Higham Lemma 3.1). So the exact inequality measured ≤ bound gives
/// computed measured ≤ computed bound·(1 + ρ_chain) with
///   ρ_chain = 8ρ_pass + γ₆₄(8(L + 1))
/// (first order in u: the products of the (1 + δ) factors add terms of order u², far below the γ's). Figure 1's run
/// (L = 64, m = 32, d = d_out = 16, n = 100, P = 1 024, S = 7 424): ρ_pass = 1.36·10⁻¹² + γ₆₄(14 848) = 3.01·10⁻¹²,
/// ρ_chain = 2.42·10⁻¹¹ (the former fixed allowance: 10⁻⁹).
let chainRelOf (depth: int) (inner: int) (samples: int) (hidden: int) (dim: int) (outDim: int) (perLayer: int) =
    8.0 * passRelOf depth inner samples hidden dim outDim perLayer + gammaOf Float64UnitRoundoff (8.0 * float (depth + 1))

/// `chainRelOf` with the run's sizes (L, q = m + d for the MLP and P + d otherwise, n, hidden width m, state dimension d,
/// d_out, parameters per layer P).
let chainRel (run: Run) =
    let st = run.Setting
    let inner = if run.IsMlp then st.Width + st.Dim else run.ParameterCount + st.Dim
    chainRelOf st.Depth inner st.Samples st.Width st.Dim run.Data.Data.OutputDim run.ParameterCount

/// (increment) The absolute rounding of a measured increment of a recursion x_k = x_{k−1} + y_k/L over the layers (the
/// states h_k of the verifier's pass; its adjoints, p_{k−1} = p_k + y/L): each entry of x̂_k is fl(x̂_{k−1} + fl(y/L)), one
/// rounding of the sum, so x̂_k − x̂_{k−1} = fl(y/L) + δ with |δ| ≤ u|x̂_k| entrywise (ε·x̂_k/(1 + ε)); the difference of two
/// states is known only to u‖x̂_k‖ absolute. `chainRel` is relative to the bound's scale, which is the increment's: where
/// the increment is small against the state (a layer near zero) and the bound exact (a scalar Jacobian: d = 1, the
/// scaled-linear block), the rounding of the sum alone exceeded it (L3.adjoint-increment violated by 1.35·10⁻¹⁷ on a
/// faithful run whose adjoint had norm 0.19). The computed norms of x̂_k and of the difference add γ(d + 2) each:
///   incrementRoundingFactor d · ‖x̂_k‖ = u₆₄·(1 + γ₆₄(2d + 4))·‖x̂_k‖,
/// on top of the bound (times L for L2's L·‖h_k − h_{k−1}‖). (docs/theorems/LemmaChain.md, "Rounding of the increments".)
let incrementRoundingFactor (dim: int) = Float64UnitRoundoff * (1.0 + gamma64 (2 * dim + 4))

/// (recursion) The relative allowance of a bound built by a recursion over `steps` iterates,
/// z_{j+1} = (1 + ηa_j)z_j + ηb_j/L plus an absolute rounding term (the W/V form, the per-layer form, the split form's
/// Grönwall value), compared with a measured increment whose own rounding is added to the bound by the caller:
///   ρ_rec = γ₆₄(8(N + 1)) + (τ + ρ_chain)·(1 + min(N, g)),   g ≥ η·Σ_j a_j (the caller's η·N·max_j a_j).
/// Every step is at most 8 roundings on the path of a non-negative term (two products, a quotient by L, three sums,
/// the final √(x² + y²)), so the recursion evaluated exactly on the computed coefficients is within γ₆₄(8(N + 1)). The
/// coefficients a_j, b_j are products of norms of the iterate: of trace columns the engine computed in the run's
/// precision (certified to τ = `tolerance` by E.claims) and of quantities the verifier computes (ρ_chain), so each is
/// within δ = τ + ρ_chain of a value that bounds the exact one. A relative error δ of b_j moves the bound by at most δ
/// relative (the bound is a sum of non-negative terms, each linear in one b_j), one of a_j moves the factor 1 + ηa_j
/// by δ·ηa_j/(1 + ηa_j) ≤ δ·min(1, ηa_j), so the product of the N factors by at most δ·min(N, ηΣ_j a_j). A growth g
/// that is not a finite non-negative number is replaced by N. Figure 1's run (N = 50, τ = 1.55·10⁻¹²): at most
/// γ₆₄(408) + 2.57·10⁻¹¹·51 = 1.3·10⁻⁹ when every factor counts fully, 2.6·10⁻¹¹ when ηΣa ≪ 1.
let recursionRel (run: Run) (steps: int) (growth: float) =
    let n = float (max 0 steps)
    let g = if Double.IsFinite growth && growth >= 0.0 then min n growth else n
    gammaOf Float64UnitRoundoff (8.0 * (n + 1.0)) + (tolerance run + chainRel run) * (1.0 + g)

/// (recursion, the verifier's own coefficients) `recursionRel` for a recursion whose coefficients and measured values
/// the verifier computes itself in float64 from its evidence replay (the split family: the pair pass' a and E_k, the
/// replayed smooth_z column), with no coefficient read from the producer's trace: δ = ρ_chain instead of τ + ρ_chain,
///   ρ_own = γ₆₄(8(N + 1)) + ρ_chain·(1 + min(N, g)).
/// τ (`tolerance`) bounds the engine's rounding relative to the verifier's reference, and its amplification factor
/// Π(1 + κ_k/L) is the worst case over all directions (≈ 10⁴–10⁵ on figure 2's trained weights): carried through
/// N·ηa ≈ 10³ steps it would allow ≈ 10 % on figure 2's split rows, for an error that none of their numbers carries.
let recursionRelOwn (run: Run) (steps: int) (growth: float) =
    let n = float (max 0 steps)
    let g = if Double.IsFinite growth && growth >= 0.0 then min n growth else n
    gammaOf Float64UnitRoundoff (8.0 * (n + 1.0)) + chainRel run * (1.0 + g)

/// (stored) The relative allowance of a comparison of a run's stored parameters with the same float64 values the
/// verifier rebuilds by the engine's own function (the initialization θ⁰(k/L), `GenericResults.hypInitialFunction`):
/// storing rounds every entry once to the run's precision, |fl(v_i) − v_i| ≤ u|v_i|, so ‖fl(v) − v‖ ≤ u‖v‖; the verifier
/// forms the difference's norm (P differences, P squares summed, a square root: 2P + 1 roundings), ‖v‖ (P + 1) and the
/// quotient (1): within γ₆₄(3P + 3) of their exact values, so the computed ratio ‖fl(v) − v‖/max(1, ‖v‖) is at most
///   ρ_stored = u·(1 + γ₆₄(3P + 3))
/// (0 in exact arithmetic when the run is float64: the same function gives the same bits, and a difference of equal
/// numbers is 0). float64 runs: 1.11·10⁻¹⁶; float32: 5.96·10⁻⁸ (the former fixed allowance, 10⁻⁹, refused every
/// float32 run).
let storedRel (run: Run) =
    unitRoundoff run * (1.0 + gammaOf Float64UnitRoundoff (3.0 * float run.ParameterCount + 3.0))

/// The allowance of a claimed fraction f = fl(K/N) (a count K of N recorded as a float64 fraction, written round-trip
/// exact) read back as fl(f·N) against K: two roundings of relative size u = 2⁻⁵³ of a value ≤ N, so
/// |fl(f·N) − K| ≤ 2u·K(1 + u) ≤ 3u·N (the accuracy claims of E.accuracy.train/.test on every cell kind).
let claimedFractionAllowance (images: int) = 3.0 * Float64UnitRoundoff * float images

// ---------------------------------------------------------------- fits, the ODE comparison, signed sums, horizons

/// 2^(k−1) for k ≥ 1: the largest growth of the entries of U in Gaussian elimination with partial pivoting on a k×k
/// matrix (Higham, "Accuracy and Stability of Numerical Algorithms", §9.4), which multiplies the residual bound of an
/// inverse computed from the LU factors.
let private pivotGrowth (k: int) = Portable.pown 2.0 (max 0 (k - 1))

/// (fit) A bound on the evaluation error of the upper end U = β_j + h_j + s of a least-squares interval
/// (`LeastSquares.regress`: β = (XᵀX)⁻¹Xᵀy, h_j = t·(RSS/(N − k)·[(XᵀX)⁻¹]_jj)^{1/2}, and s = Σ_i |w_i|ρ_i the widening by
/// relative uncertainties ρ_i of the data), against the same formulas evaluated exactly on the given rows X (N × k) and
/// observations y, and a bound on the error of each weight w_i = [(XᵀX)⁻¹Xᵀ]_ji. With u = 2⁻⁵³, C = (XᵀX)⁻¹ (= WWᵀ for
/// the rows W of weights), A = XᵀX, b = Xᵀy, first order in u:
///   - the entries of X and y (logarithms, quotients) are within 2u relatively (one ulp), the sums of A and b over N
///     products within γ_{N+4}: |Â − A| ≤ γ_{N+4}|X|ᵀ|X|, |b̂ − b| ≤ γ_{N+4}|X|ᵀ|y|;
///   - the inverse from the LU factors with partial pivoting has |ĈÂ − I| ≤ 2^{k−1}γ_{3k}|Ĉ||Â| (pivot growth 2^{k−1}),
///     so |Ĉ − Â⁻¹| ≤ 2^{k−1}γ_{3k}|C||A||C|; the product Ĉb̂ adds γ_k|C||b|;
///   so with g = 2^{k−1}γ_{N+3k+6}, which exceeds each of the γ's above,
///   |β̂ − β| ≤ δβ = g·|C|(|A||C||b| + |X|ᵀ|X||β| + |X|ᵀ|y| + |b|),   |Ĉ_jj − C_jj| ≤ δC = g·(|C|(|A| + |X|ᵀ|X|)|C|)_jj,
///   |ŵ_i − w_i| ≤ δw_i = g·(|C|(|A||C| + I)|X|ᵀ)_ji;
///   - the residual r = y − Xβ̂ moves by |X|δβ + g(|y| + |X||β|) entry by entry, so √(RSS/(N − k)) =: σ by
///     δσ = ‖that‖/√(N − k) + gσ, and h_j = t·√C_jj·σ by δh = t√C_jj·δσ + h_j(δC/(2C_jj) + g);
///   - s by Σ_i δw_i ρ_i + g·s, and the two sums forming U by 2u|U|.
/// U's error is at most δβ_j + δh + δs + 2u(|β_j| + h_j + s). The quantile t is not an arithmetic result: MathNet finds it
/// by a root search, and its error is an error of the level, not of U (docs/theorems/EulerError.md, "The rounding of a
/// fitted order"). An interval that is not finite (N ≤ k) has no rounding to allow: the bound is 0.
let fitUpperRounding (rows: float[][]) (y: float[]) (fit: LeastSquares.Fit) (j: int) (relPerturbation: float[]) =
    let n, k = rows.Length, rows.[0].Length
    let zero = 0.0, Array.zeroCreate n
    if n <= k || not (Double.IsFinite fit.HalfWidths.[j]) then zero
    else
        let g = pivotGrowth k * gammaOf Float64UnitRoundoff (float (n + 3 * k + 6))
        let u = Float64UnitRoundoff
        let w = fit.Weights
        let beta = fit.Coefficients
        let c = Array2D.init k k (fun a b -> Array.fold2 (fun s x z -> s + x * z) 0.0 w.[a] w.[b])
        let absC = Array2D.map abs c
        let sum f = Seq.sum (seq { for i in 0 .. n - 1 -> f i })
        let absA = Array2D.init k k (fun a b -> abs (sum (fun i -> rows.[i].[a] * rows.[i].[b])))
        let xtx = Array2D.init k k (fun a b -> sum (fun i -> abs rows.[i].[a] * abs rows.[i].[b]))
        let bv = Array.init k (fun a -> sum (fun i -> rows.[i].[a] * y.[i]))
        let xty = Array.init k (fun a -> sum (fun i -> abs rows.[i].[a] * abs y.[i]))
        let mulMV (m: float[,]) (v: float[]) = Array.init k (fun a -> Seq.sum (seq { for b in 0 .. k - 1 -> m.[a, b] * v.[b] }))
        let mulMM (p: float[,]) (q: float[,]) = Array2D.init k k (fun a b -> Seq.sum (seq { for e in 0 .. k - 1 -> p.[a, e] * q.[e, b] }))
        let absB = Array.map abs bv
        let inner =
            Array.init k (fun a ->
                (mulMV absA (mulMV absC absB)).[a] + (mulMV xtx (Array.map abs beta)).[a] + xty.[a] + absB.[a])
        let dBeta = mulMV absC inner |> Array.map (fun x -> g * x)
        let cAc = mulMM absC (mulMM (Array2D.init k k (fun a b -> absA.[a, b] + xtx.[a, b])) absC)
        let dC = g * cAc.[j, j]
        let cAC = mulMM absC (mulMM absA absC)
        let dW =
            Array.init n (fun i ->
                g * Seq.sum (seq { for b in 0 .. k - 1 -> (cAC.[j, b] + absC.[j, b]) * abs rows.[i].[b] }))
        let fitted i = Seq.sum (seq { for b in 0 .. k - 1 -> rows.[i].[b] * beta.[b] })
        let sigma = sqrt (sum (fun i -> let r = y.[i] - fitted i in r * r) / float (n - k))
        let dr i =
            Seq.sum (seq { for b in 0 .. k - 1 -> abs rows.[i].[b] * (dBeta.[b] + g * abs beta.[b]) }) + g * abs y.[i]
        let dSigma = sqrt (sum (fun i -> dr i * dr i)) / sqrt (float (n - k)) + g * sigma
        let t = MathNet.Numerics.Distributions.StudentT.InvCDF(0.0, 1.0, float (n - k), 0.975)
        let cjj = c.[j, j]
        let h = fit.HalfWidths.[j]
        let dH = t * sqrt cjj * dSigma + h * (dC / (2.0 * cjj) + g)
        let s = sum (fun i -> abs w.[j].[i] * relPerturbation.[i])
        let dS = sum (fun i -> dW.[i] * relPerturbation.[i]) + g * s
        dBeta.[j] + dH + dS + 2.0 * u * (abs beta.[j] + h + s), dW

/// (fit, mean) A bound on the evaluation error of the upper end m + h of the interval of a mean, m = (Σ x_i)/n,
/// h = t·sd/√n, sd = (Σ(x_i − m)²/(n − 1))^{1/2}, against the same formulas evaluated exactly on the given x_i, first
/// order in u = 2⁻⁵³: m is within δm = γ_{n+1}·(Σ|x_i|)/n; each x_i − m within δm + u|x_i − m|, so sd within
/// δsd = √n·δm/√(n − 1) + γ_{n+3}·sd and h within t·δsd/√n + γ₃·h; the sum m + h adds u|m + h|. The quantile t enters as
/// in `fitUpperRounding` (an error of the level). Fewer than two finite values: no interval, 0.
let meanUpperRounding (xs: float list) =
    let f = xs |> List.filter Double.IsFinite
    let n = f.Length
    if n < 2 then 0.0
    else
        let u = Float64UnitRoundoff
        let m = List.average f
        let dm = gammaOf u (float (n + 1)) * (f |> List.sumBy abs) / float n
        let sd = sqrt ((f |> List.sumBy (fun x -> (x - m) * (x - m))) / float (n - 1))
        let dsd = sqrt (float n) * dm / sqrt (float (n - 1)) + gammaOf u (float (n + 3)) * sd
        let t = MathNet.Numerics.Distributions.StudentT.InvCDF(0.0, 1.0, float (n - 1), 0.975)
        let h = t * sd / sqrt (float n)
        dm + t * dsd / sqrt (float n) + gammaOf u 3.0 * h + u * abs (m + h)

/// (ODE comparison, measured side) The rounding of a measured distance ‖ĥ_L − H̃_L‖ between the output of the verifier's
/// float64 forward pass h_k = h_{k−1} + (1/L)V_kσ(W_k h_{k−1}) (`Layerwise`) and a reference state, for one sample:
/// layer k's computed image has the error of B.bound.defect's f̂ (docs/theorems/EulerError.md, "B.bound.defect"):
///   (m + 2)u‖V_k‖_F‖σ‖ + ‖V_k‖_F√m·ε_σ,   ε_σ = 16u(1 + max|σ|) + s1(d + 1)u·max_j(|W_k||h_{k−1}|)_j,
/// with ‖σ(W_k h)‖ ≤ s0√m + s1‖W_k‖₂‖h‖, max|σ| ≤ s0 + s1‖W_k‖₂‖h‖ and max_j(|W_k||h|)_j ≤ ‖W_k‖_F‖h‖; the quotient by L and
/// the sum with h_{k−1} add u(‖ĥ_k‖ + ‖f̂‖/L) (one rounding each), so the local error of layer k is
///   δ_k = [(m + 3)u‖V_k‖_F‖σ‖ + ‖V_k‖_F√m·ε_σ]/L + u‖ĥ_k‖,
/// and the error of ĥ_L is at most the propagation e_k = (1 + κ_k/L)e_{k−1} + δ_k (κ_k = s1‖V_k‖₂‖W_k‖₂, the layers'
/// Lipschitz constants), e_L. The norm of the difference, formed as fl(fl(h̃ + fl(ĥ − h̃)) − h̃) (the comparison's
/// mutation form at scale 1) and summed over d squares with a square root, adds 2u‖ĥ − h̃‖ + u‖ĥ_L‖ and γ_{d+1}
/// relatively: the measured value is within
///   e_L + γ_{d+3}·measured + u‖ĥ_L‖
/// of ‖h_L − H̃_L‖ for the exact output h_L of the stored weights. `layers` gives, for k = 1..L,
/// (‖W_k‖_F, ‖V_k‖_F, ‖W_k‖₂, ‖V_k‖₂, ‖ĥ_{k−1}‖, ‖ĥ_k‖).
let forwardOutputRounding (m: int) (d: int) (s0: float) (s1: float) (layers: (float * float * float * float * float * float)[]) (measured: float) =
    let u = Float64UnitRoundoff
    let L = float layers.Length
    let sqm = sqrt (float m)
    let mutable e = 0.0
    for (fw, fv, ow, ov, hPrev, hNext) in layers do
        let sigma = s0 * sqm + s1 * ow * hPrev
        let epsSigma = 16.0 * u * (1.0 + s0 + s1 * ow * hPrev) + s1 * float (d + 1) * u * fw * hPrev
        let local = (float (m + 3) * u * fv * sigma + fv * sqm * epsSigma) / L + u * hNext
        e <- (1.0 + s1 * ov * ow / L) * e + local
    let hL = match Array.tryLast layers with Some(_, _, _, _, _, h) -> h | None -> 0.0
    e + gammaOf u (float (d + 3)) * measured + u * hL

/// (signed sum) The rounding of one step x = fl(a − fl(η·e)) of an accumulated vector D ← D − ηE, over `count` entries
/// stored in a precision of unit roundoff u: each entry is off by at most u|ηe| + u|x̂|/(1 − u) (the product's rounding,
/// then the difference's, written with the computed x̂), so the vector by u‖ηE‖ + u‖D̂‖/(1 − u); with the norms as
/// computed (a sum of `count` squares and a square root, within γ_{count+1}):
///   u/(1 − u)·(1 + γ_{count+1})·‖D̂‖ + u(1 + u)(1 + γ_{count+1})·η‖Ê‖.
/// Summed over the steps it bounds ‖D̂ − D‖ for the exact sum D of the same terms, an absolute term that a relative
/// allowance on ‖D‖ does not cover (the terms have both signs: ‖D‖ may be far below Σ_j η‖E_j‖).
let axpyRoundingAt (u: float) (count: int) (newNorm: float) (stepNorm: float) =
    let g = 1.0 + gammaOf u (float count + 1.0)
    u / (1.0 - u) * g * newNorm + u * (1.0 + u) * g * stepNorm

/// `axpyRoundingAt` in float64, for the sums the verifier forms itself.
let axpyRounding (count: int) (newNorm: float) (stepNorm: float) = axpyRoundingAt Float64UnitRoundoff count newNorm stepNorm

/// (horizon) Two horizons t = N·η that are equal for the settings as typed differ as computed by at most 4u·max t: each η
/// is the nearest double to its decimal (u relative), each product N·η one more rounding (u relative).
let horizonAllowance (largest: float) = 4.0 * Float64UnitRoundoff * largest

/// (D.rate, runs that coincide) The relative size, against the largest weights' RMS size √((1/L)Σ_k‖Z_k‖_F²) of the
/// ladder's runs, below which a distance to the Richardson limit Z^R = (L_b Z^{L_b} − L_a Z^{L_a})/(L_b − L_a) is its
/// float64 rounding alone (docs/theorems/LimitDynamics.md, "Runs that coincide"). When every run's layers are one matrix z
/// (a tied initialization: the runs coincide, every exact distance is 0), each interpolant is z exactly (its difference of
/// adjacent layers is 0) and each entry of the computed limit is fl(fl(fl(L_b z) − fl(L_a z))/(L_b − L_a)) = z(1 + θ),
/// |θ| ≤ γ_{ρ+2}, ρ = (L_b + L_a)/(L_b − L_a) (the two products' errors L_b|z|u and L_a|z|u over L_b − L_a, then the
/// difference and the quotient, one rounding each); the difference with the run's own entry adds one rounding, the sum of
/// the 2·m·d·L squares, the quotient by L and the square root γ_{2mdL+3}, and the RMS size is computed with as many
/// operations (so it is at most 1/(1 − γ_{2mdL+3}) below the exact one). Hence a computed distance of coinciding runs is at most
///   γ_{ρ+2}(1 + u)(1 + γ_{2mdL+3})/(1 − γ_{2mdL+3}) · (the largest computed RMS size);
/// `layerSize` is m·d (one part), `deepest` the largest depth (it bounds every run's count).
let coincideRel (lowerDepth: int) (upperDepth: int) (deepest: int) (layerSize: int) =
    let u = Float64UnitRoundoff
    let la, lb = float lowerDepth, float upperDepth
    let rho = (lb + la) / (lb - la)
    let n = 2.0 * float layerSize * float deepest + 3.0
    gammaOf u (rho + 2.0) * (1.0 + u) * (1.0 + gammaOf u n) / (1.0 - gammaOf u n)

/// (gradient-descent update, stored) The rounding of one layer's update Z ← fl(Z − fl(ηG)) of `count` entries in a
/// precision of unit roundoff u, with ‖Z‖ and η‖G‖ as computed (each a sum of `count` squares and a square root, within
/// γ_{count+1} of the exact norm): the stored layer's norm is at most (‖Z‖ + η‖G‖)(1 + γ_{count+2}) + its rounding, and
/// each entry is off by u|ηg| + u|z_new|/(1 − u) (`axpyRoundingAt`), so the layer by
///   axpyRoundingAt u count ((‖Z‖ + η‖G‖)(1 + γ_{count+4})) (η‖G‖)
/// (two more roundings for the sum ‖Z‖ + η‖G‖ and the product η‖G‖; the stored entries' own rounding enters
/// axpyRoundingAt's 1/(1 − u)). An increment Z_{k+1} − Z_k of the updated weights differs from the exact recursion's by at most the sum of
/// this term over its two layers (docs/theorems/DepthSmoothness.md, "Rounding of the stored update").
let updateStoreRoundingAt (u: float) (count: int) (layerNorm: float) (stepNorm: float) =
    axpyRoundingAt u count ((layerNorm + stepNorm) * (1.0 + gammaOf u (float count + 4.0))) stepNorm
