/// The lemma chain behind result A (docs/theorems/LemmaChain.md), each lemma a checkable value,
/// evaluated at every snapshot of a run (worst case over snapshots, layers and samples) with the
/// exact spectral norms of that snapshot's layers and the layer-wise quantities of `Run.Layerwise`.
///
/// Notation (layers k = 1..L, samples i): u_k^i = W_k h_{k−1}^i, h_k = h_{k−1} + (1/L) V_k σ(u_k),
/// p_{k−1} = p_k + (1/L) W_kᵀ q_k with q_k = σ'(u_k) ⊙ V_kᵀ p_k, κ_k = s1·‖W_k‖₂·‖V_k‖₂.
module ResOdeProofs.Theory.LemmaChain

open System
open System.Runtime.CompilerServices
open ResOdeProofs.Numerics
open ResOdeProofs.Theory
open ResOdeProofs.Theory.Comparison
open ResOdeProofs.Theory.Hypotheses

/// Norms of one snapshot, computed once per run and snapshot.
type SnapshotNorms =
    { /// ‖W_k‖₂, ‖V_k‖₂ at index k − 1 (exact, SVD)
      WOp: float[]
      VOp: float[]
      /// ‖h_k^i‖ and ‖p_k^i‖ at [k][i], k = 0..L
      HNorm: float[][]
      PNorm: float[][]
      /// ‖σ(u_k^i)‖ at [k − 1][i]
      SigmaNorm: float[][]
      /// ‖P_k‖₂, ‖P_k‖_F, ‖H_k‖₂ of the d×n matrices P_k = [p_k^1 … p_k^n], H_k = [h_k^1 … h_k^n], k = 0..L
      PSpec: float[]
      PFro: float[]
      HSpec: float[]
      /// ‖Σ_k‖₂ and ‖Σ_k‖_F of the m×n matrix Σ_k = [σ(u_k^1) … σ(u_k^n)], at k − 1
      SSpec: float[]
      SFro: float[]
      /// ‖H_k − H_{k−1}‖₂ and ‖H_k − H_{k−1}‖_F, at k − 1
      DHSpec: float[]
      DHFro: float[]
      /// max_i ‖V_kᵀp_k^i‖_∞, at k − 1
      GInf: float[]
      /// smallest and largest pre-activation entry over layers and samples
      PreMin: float
      PreMax: float
      /// sup |σ'| over [min(PreMin, 0), max(PreMax, 0)] (covers the segments [0, u] and [u_k, u_{k+1}])
      S1: float
      /// sup |σ''| over the same interval (None for relu)
      S2: float option }

// one Lazy per snapshot: a check and the references started beside the replay (`Registry.verifyRun`) share one computation
let private cache = ConditionalWeakTable<Run, Collections.Concurrent.ConcurrentDictionary<int, Lazy<SnapshotNorms>>>()

let private norm (v: float[]) = Linalg.norm v

let private diffNorm (a: float[]) (b: float[]) =
    let mutable s = 0.0
    for i in 0 .. a.Length - 1 do
        let x = a.[i] - b.[i]
        s <- s + x * x
    sqrt s

/// The snapshot's norms, computed (`snapshotNorms` keeps them).
let private norms (run: Run) (s: int) : SnapshotNorms =
        let sh = run.Shape
        let L, m, d = sh.Depth, sh.Width, sh.Dim
        let lw = run.Layerwise s
        let act = run.Setting.Activation
        let struct (wop, vop) = run.LayerOperatorNorms s
        // the range of the pre-activations, in one pass over the reference's arrays (no concatenated copy)
        let mutable lo, hi = infinity, -infinity
        for pk in lw.Pre do
            for ui in pk do
                for x in ui do
                    lo <- min lo x
                    hi <- max hi x
        let lo0, hi0 = min lo 0.0, max hi 0.0
        let n = lw.H.[0].Length
        // columns c_i of a (rows × n) matrix given as n vectors
        let spec (cols: float[][]) = Model.SpectralNorm.OfColumns cols
        let fro (cols: float[][]) =
            let mutable acc = 0.0
            for c in cols do
                let mutable sc = 0.0
                for x in c do sc <- sc + x * x
                acc <- acc + sc
            sqrt acc
        let sgm = lw.Sigma // σ(pre-activations), from the reference's forward pass
        // H_k − H_{k−1}, one layer at a time in one set of columns (its norms are all that is kept)
        let dh = Array.init n (fun _ -> Array.zeroCreate d)
        let dhSpec, dhFro = Array.zeroCreate L, Array.zeroCreate L
        for k in 0 .. L - 1 do
            for i in 0 .. n - 1 do
                let a, b, o = lw.H.[k + 1].[i], lw.H.[k].[i], dh.[i]
                for r in 0 .. d - 1 do o.[r] <- a.[r] - b.[r]
            dhSpec.[k] <- spec dh
            dhFro.[k] <- fro dh
        let ginf = lw.VtPMax // max_{i,j} |Σ_r V_k[r,j]·p_k^i[r]|, formed by the reference's backward pass
        { WOp = wop
          VOp = vop
          HNorm = lw.H |> Array.map (Array.map norm)
          PNorm = lw.P |> Array.map (Array.map norm)
          SigmaNorm = sgm |> Array.map (Array.map norm)
          PSpec = lw.P |> Array.map spec
          PFro = lw.P |> Array.map fro
          HSpec = lw.H |> Array.map spec
          SSpec = sgm |> Array.map spec
          SFro = sgm |> Array.map fro
          DHSpec = dhSpec
          DHFro = dhFro
          GInf = ginf
          PreMin = lo
          PreMax = hi
          S1 = Activations.SupAbsDerivative(act, lo0, hi0)
          S2 = (if Activations.IsTwiceDifferentiable act then Some(Activations.SupAbsSecondDerivative(act, lo0, hi0)) else None) }

/// The snapshot's norms (cached per run).
let snapshotNorms (run: Run) (s: int) : SnapshotNorms =
    let perRun = cache.GetValue(run, fun _ -> Collections.Concurrent.ConcurrentDictionary<int, Lazy<SnapshotNorms>>())
    perRun.GetOrAdd(s, fun s -> lazy (norms run s)).Value

/// κ_k = s1·‖W_k‖₂·‖V_k‖₂ at index k − 1.
let kappas (sn: SnapshotNorms) = Array.init sn.WOp.Length (fun k -> sn.S1 * sn.WOp.[k] * sn.VOp.[k])

/// L1 per-sample bound: Hb_0 = ‖h_0^i‖, Hb_k = (1 + κ_k/L)·Hb_{k−1} + s0·√m·‖V_k‖₂/L, at [k][i].
/// Unrolled: Hb_k ≤ e^{Σ_{j≤k} κ_j/L}(‖h_0^i‖ + s0·√m·Σ_{j≤k}‖V_j‖₂/L) ≤ e^{κ k/L}(‖h_0^i‖ + s0·√m·M_V·k/L).
let hiddenBound (run: Run) (sn: SnapshotNorms) : float[][] =
    let L, m = run.Setting.Depth, float run.Setting.Width
    let s0 = run.Setting.S0
    let kap = kappas sn
    let hb = Array.zeroCreate (L + 1)
    hb.[0] <- Array.copy sn.HNorm.[0]
    for k in 1 .. L do
        hb.[k] <- hb.[k - 1] |> Array.map (fun x -> (1.0 + kap.[k - 1] / float L) * x + s0 * sqrt m * sn.VOp.[k - 1] / float L)
    hb

/// L3 per-sample bound: Pb_L = ‖p_L^i‖, Pb_{k−1} = (1 + κ_k/L)·Pb_k, i.e. Pb_k = Π_{j>k}(1 + κ_j/L)‖p_L^i‖ ≤ e^{κ(L−k)/L}‖p_L^i‖.
let adjointBound (run: Run) (sn: SnapshotNorms) : float[][] =
    let L = run.Setting.Depth
    let kap = kappas sn
    let pb = Array.zeroCreate (L + 1)
    pb.[L] <- Array.copy sn.PNorm.[L]
    for k in L .. -1 .. 1 do
        pb.[k - 1] <- pb.[k] |> Array.map (fun x -> (1.0 + kap.[k - 1] / float L) * x)
    pb

let private at (run: Run) (s: int) = sprintf "snapshot %d (iteration %d, t = %g)" s run.Steps.[s] (run.Time s)

let private snapshots (run: Run) = seq { 0 .. run.SnapshotCount - 1 }

let private maxOver f (run: Run) = snapshots run |> Seq.map f |> Seq.fold max 0.0

let private doc = "docs/theorems/LemmaChain.md"
let private src = "derived here (docs/theorems/LemmaChain.md)"

/// Common constants of a run: max over snapshots of s1 (range), M_W, M_V, κ.
let private runConstants (run: Run) =
    let mw = maxOver (fun s -> Array.max (snapshotNorms run s).WOp) run
    let mv = maxOver (fun s -> Array.max (snapshotNorms run s).VOp) run
    let s1 = maxOver (fun s -> (snapshotNorms run s).S1) run
    [ "s0", run.Setting.S0; "s1 (global)", run.Setting.S1; "s1 (pre-activation range)", s1
      "M_W", mw; "M_V", mv; "kappa", s1 * mw * mv ]

/// (L1) ‖h_k^i‖ ≤ Hb_k^i, the per-sample recursion (tighter than H = e^κ(max_i ‖h_0^i‖ + s0·√m·M_V)).
let hiddenStates : Result<Run> =
    { Id = "L1.hidden"
      Title = "Hidden states stay bounded"
      Source = src
      Provenance = ProvedHere
      Doc = doc
      Statement =
        "For every sample i and layer k, ‖h_k^i‖ ≤ Π_{j≤k}(1 + κ_j/L)‖h_0^i‖ + Σ_{j≤k} Π_{j<l≤k}(1 + κ_l/L)·s0·√m·‖V_j‖₂/L "
        + "≤ e^{κk/L}(‖h_0^i‖ + s0·√m·M_V·k/L), with κ_j = s1‖W_j‖₂‖V_j‖₂ (|σ(u)| ≤ s0 + s1|u|)."
      Hypotheses = [ notDiverged; hasSnapshots ]
      Conclusion =
        fun run ->
            // the snapshots' norms (kept for the later lemmas) are independent of one another: as many at a time as there
            // are cores, each the same numbers as alone (a failure is left to the loop below)
            Array.Parallel.iter (fun s -> try snapshotNorms run s |> ignore with _ -> ()) [| 0 .. run.SnapshotCount - 1 |]
            let whenOf = Array.init run.SnapshotCount (at run)
            let checks =
                seq {
                    for s in snapshots run do
                        let sn = snapshotNorms run s
                        let hb = hiddenBound run sn
                        // k = 0 is not compared: Hb_0 = ‖h_0^i‖ is the measured norm itself
                        for k in 1 .. run.Setting.Depth do
                            for i in 0 .. run.Setting.Samples - 1 ->
                                { Measured = sn.HNorm.[k].[i]; Bound = hb.[k].[i]
                                  Where = "layer k = " + string k + ", sample i = " + string i; When = whenOf.[s] }
                }
            let closed =
                maxOver (fun s ->
                    let sn = snapshotNorms run s
                    let kap = Array.max (kappas sn)
                    exp kap * (run.Setting.InputNormMax + run.Setting.S0 * sqrt (float run.Setting.Width) * Array.max sn.VOp)) run
            evaluation roundingRel checks (runConstants run @ [ "H (closed form e^kappa (max|h0| + s0 sqrt(m) M_V))", closed ]) [ Evaluation.AnyWeights ] }

/// (L2) L·‖h_k^i − h_{k−1}^i‖ ≤ F_k^i := ‖V_k‖₂(s0·√m + s1‖W_k‖₂·Hb_{k−1}^i) ≤ F := M_V(s0√m + s1 M_W H).
let increments : Result<Run> =
    { Id = "L2.increments"
      Title = "Hidden-state increments are O(1/L)"
      Source = src
      Provenance = ProvedHere
      Doc = doc
      Statement =
        "For every sample and layer, ‖h_k^i − h_{k−1}^i‖ = ‖V_kσ(W_k h_{k−1}^i)‖/L ≤ ‖V_k‖₂(s0√m + s1‖W_k‖₂ Hb_{k−1}^i)/L ≤ F/L, "
        + "F = M_V(s0√m + s1 M_W H), with Hb the bound of L1."
      Hypotheses = [ notDiverged; hasSnapshots ]
      Conclusion =
        fun run ->
            let whenOf = Array.init run.SnapshotCount (at run)
            let L = run.Setting.Depth
            let sqm = sqrt (float run.Setting.Width)
            let mutable fmax = 0.0
            let checks =
                [ for s in snapshots run do
                    let sn = snapshotNorms run s
                    let hb = hiddenBound run sn
                    let lw = run.Layerwise s
                    for k in 1 .. L do
                        for i in 0 .. run.Setting.Samples - 1 do
                            let f = sn.VOp.[k - 1] * (run.Setting.S0 * sqm + sn.S1 * sn.WOp.[k - 1] * hb.[k - 1].[i])
                            fmax <- max fmax f
                            yield { Measured = float L * diffNorm lw.H.[k].[i] lw.H.[k - 1].[i]; Bound = f
                                    Where = "layer k = " + string k + ", sample i = " + string i; When = whenOf.[s] } ]
            evaluation roundingRel checks (runConstants run @ [ "F (max over layers, samples, snapshots)", fmax ]) [ Evaluation.AnyWeights ] }

/// (L3a) ‖p_k^i‖ ≤ Π_{j>k}(1 + κ_j/L)‖p_L^i‖ ≤ e^{κ(L−k)/L}‖p_L^i‖.
let adjoints : Result<Run> =
    { Id = "L3.adjoint"
      Title = "Adjoints stay within e^κ of the terminal adjoint"
      Source = src
      Provenance = ProvedHere
      Doc = doc
      Statement =
        "With p_{k−1} = p_k + (1/L)W_kᵀ(σ'(u_k) ⊙ V_kᵀp_k): ‖p_{k−1}^i‖ ≤ (1 + κ_k/L)‖p_k^i‖, hence ‖p_k^i‖ ≤ Π_{j>k}(1 + κ_j/L)‖p_L^i‖ ≤ e^{κ(L−k)/L}‖p_L^i‖."
      Hypotheses = [ notDiverged; hasSnapshots ]
      Conclusion =
        fun run ->
            let whenOf = Array.init run.SnapshotCount (at run)
            let checks =
                seq {
                    for s in snapshots run do
                        let sn = snapshotNorms run s
                        let pb = adjointBound run sn
                        // k = L is not compared: Pb_L = ‖p_L^i‖ is the measured norm itself
                        for k in 0 .. run.Setting.Depth - 1 do
                            for i in 0 .. run.Setting.Samples - 1 ->
                                { Measured = sn.PNorm.[k].[i]; Bound = pb.[k].[i]
                                  Where = "layer k = " + string k + ", sample i = " + string i; When = whenOf.[s] }
                }
            evaluation roundingRel checks (runConstants run) [ Evaluation.AnyWeights ] }

/// (L3b) ‖p_{k+1}^i − p_k^i‖ ≤ κ_{k+1}‖p_{k+1}^i‖/L.
let adjointIncrements : Result<Run> =
    { Id = "L3.adjoint-increment"
      Title = "Adjoint increments are O(1/L)"
      Source = src
      Provenance = ProvedHere
      Doc = doc
      Statement = "For k = 0..L−1 and every sample, ‖p_{k+1}^i − p_k^i‖ = ‖W_{k+1}ᵀq_{k+1}^i‖/L ≤ κ_{k+1}‖p_{k+1}^i‖/L ≤ κ‖p_{k+1}^i‖/L."
      Hypotheses = [ notDiverged; hasSnapshots ]
      Conclusion =
        fun run ->
            let whenOf = Array.init run.SnapshotCount (at run)
            let L = run.Setting.Depth
            let checks =
                seq {
                    for s in snapshots run do
                        let sn = snapshotNorms run s
                        let kap = kappas sn
                        let lw = run.Layerwise s
                        for k in 0 .. L - 1 do
                            for i in 0 .. run.Setting.Samples - 1 ->
                                { Measured = diffNorm lw.P.[k + 1].[i] lw.P.[k].[i]
                                  Bound = kap.[k] * sn.PNorm.[k + 1].[i] / float L
                                  Where = "layers k = " + string (k + 1) + " → " + string k + ", sample i = " + string i; When = whenOf.[s] }
                }
            evaluation roundingRel checks (runConstants run) [ Evaluation.AnyWeights ] }

/// (L3c) Σ_i ‖p_L^i‖ ≤ 2‖B‖₂√ℓ.
let terminalAdjointSum : Result<Run> =
    { Id = "L3.terminal-sum"
      Title = "The terminal adjoints sum to at most 2‖B‖₂√ℓ"
      Source = src
      Provenance = ProvedHere
      Doc = doc
      Statement =
        "p_L^i = (2/n)Bᵀr_i with r_i = Bh_L^i − y_i, so Σ_i‖p_L^i‖ ≤ (2/n)‖B‖₂Σ_i‖r_i‖ ≤ (2/n)‖B‖₂√n(Σ_i‖r_i‖²)^{1/2} = (2/n)‖B‖₂√n√(nℓ) = 2‖B‖₂√ℓ."
      Hypotheses = [ notDiverged; hasSnapshots ]
      Conclusion =
        fun run ->
            let whenOf = Array.init run.SnapshotCount (at run)
            let L = run.Setting.Depth
            let checks =
                seq {
                    for s in snapshots run ->
                        let sn = snapshotNorms run s
                        { Measured = Array.sum sn.PNorm.[L]
                          Bound = 2.0 * run.Setting.ReadoutNorm * sqrt (run.Layerwise s).Loss
                          Where = "k = L"; When = whenOf.[s] }
                }
            evaluation roundingRel checks [ "norm B (spectral)", run.Setting.ReadoutNorm ] [ Evaluation.AnyWeights ] }

/// (L4) ‖G^V_k‖_F ≤ Σ_i Pb_k^i(s0√m + s1‖W_k‖₂Hb_{k−1}^i) and ‖G^W_k‖_F ≤ s1‖V_k‖₂Σ_i Pb_k^i Hb_{k−1}^i.
let layerGradients : Result<Run> =
    { Id = "L4.layer-gradient"
      Title = "Depth-scaled layer gradients are O(1) in L"
      Source = src
      Provenance = ProvedHere
      Doc = doc
      Statement =
        "G^V_k = Σ_i p_k^i σ(u_k^i)ᵀ and G^W_k = Σ_i q_k^i h_{k−1}^{iᵀ} give ‖G^V_k‖_F ≤ Σ_i Pb_k^i(s0√m + s1‖W_k‖₂Hb_{k−1}^i) and "
        + "‖G^W_k‖_F ≤ s1‖V_k‖₂Σ_i Pb_k^i Hb_{k−1}^i, with Hb, Pb the bounds of L1 and L3 (≤ P·(s0√m + s1M_W H) and s1M_V·H·P, P = e^κΣ_i‖p_L^i‖)."
      Hypotheses = [ notDiverged; hasSnapshots ]
      Conclusion =
        fun run ->
            let whenOf = Array.init run.SnapshotCount (at run)
            let L, n = run.Setting.Depth, run.Setting.Samples
            let sqm = sqrt (float run.Setting.Width)
            let md = run.Shape.LayerSize
            let checks =
                [ for s in snapshots run do
                    let sn = snapshotNorms run s
                    let hb = hiddenBound run sn
                    let pb = adjointBound run sn
                    let lw = run.Layerwise s
                    for k in 1 .. L do
                        let bv = Seq.sum (seq { for i in 0 .. n - 1 -> pb.[k].[i] * (run.Setting.S0 * sqm + sn.S1 * sn.WOp.[k - 1] * hb.[k - 1].[i]) })
                        let bw = sn.S1 * sn.VOp.[k - 1] * Seq.sum (seq { for i in 0 .. n - 1 -> pb.[k].[i] * hb.[k - 1].[i] })
                        yield { Measured = Linalg.frobenius lw.GV.[k - 1] 0 md; Bound = bv
                                Where = sprintf "G^V, layer k = %d" k; When = whenOf.[s] }
                        yield { Measured = Linalg.frobenius lw.GW.[k - 1] 0 md; Bound = bw
                                Where = sprintf "G^W, layer k = %d" k; When = whenOf.[s] } ]
            evaluation roundingRel checks (runConstants run) [ Evaluation.AnyWeights ] }

/// The coefficients of L5 at layers (k, k+1) of a snapshot: (a_WW, a_WV, a_VW, b_W, b_V). The difference
/// splits exactly into seven terms (doc); each term is bounded twice, by per-sample sums (‖abᵀ‖_F = ‖a‖‖b‖ and
/// the triangle inequality over samples) and in matrix form (‖XYᵀ‖_F ≤ ‖X‖_F‖Y‖₂ with the d×n, m×n sample
/// matrices P_k, H_k, Σ_k), and the smaller of the two is used term by term.
let gradientDifferenceCoefficients (run: Run) (s: int) (k: int) =
    let sn = snapshotNorms run s
    let s1 = sn.S1
    let s2 = defaultArg sn.S2 nan
    let n = run.Setting.Samples
    let L = float run.Setting.Depth
    let kap = kappas sn
    // 1-based layer k at index k − 1, layer k + 1 at index k.
    let wk, vk, vk1, kap1 = sn.WOp.[k - 1], sn.VOp.[k - 1], sn.VOp.[k], kap.[k]
    let sum f = Seq.sum (seq { for i in 0 .. n - 1 -> f i })
    let h i = sn.HNorm.[k].[i]
    let p i = sn.PNorm.[k].[i]
    let p1 i = sn.PNorm.[k + 1].[i]
    let dh i = L * Linalg.norm (Array.map2 (-) (run.Layerwise s).H.[k].[i] (run.Layerwise s).H.[k - 1].[i]) // L‖h_k − h_{k−1}‖
    let hS, pS, p1S, p1F, pF = sn.HSpec.[k], sn.PSpec.[k], sn.PSpec.[k + 1], sn.PFro.[k + 1], sn.PFro.[k]
    let dhF, dhS = L * sn.DHFro.[k - 1], L * sn.DHSpec.[k - 1]
    let g1 = sn.GInf.[k] // max_i ‖V_{k+1}ᵀp_{k+1}^i‖_∞
    // ΔG^V = (P_{k+1} − P_k)Σ_{k+1}ᵀ + P_k(D̃∘(ΔW_k H_k))ᵀ + P_k(D̃∘(W_k ΔH))ᵀ
    let t1 = min (kap1 * sum (fun i -> p1 i * sn.SigmaNorm.[k].[i])) (kap1 * p1F * sn.SSpec.[k])
    let aVW = min (s1 * sum (fun i -> p i * h i)) (s1 * pS * hS)
    let t3 = min (s1 * wk * sum (fun i -> p i * dh i)) (s1 * pS * wk * dhF)
    // ΔG^W = [D2∘(ΔW h)∘V_{k+1}ᵀp_{k+1}]H_kᵀ + [D2∘(W_kΔh)∘V_{k+1}ᵀp_{k+1}]H_kᵀ + [σ'∘ΔVᵀp_{k+1}]H_kᵀ
    //        + [σ'∘V_kᵀ(p_{k+1} − p_k)]H_kᵀ + Q_k ΔHᵀ
    let aWW = min (s2 * vk1 * sum (fun i -> p1 i * h i * h i)) (s2 * g1 * hS * hS)
    let t4b = min (s2 * vk1 * wk * sum (fun i -> p1 i * dh i * h i)) (s2 * g1 * wk * dhF * hS)
    let aWV = min (s1 * sum (fun i -> p1 i * h i)) (s1 * p1S * hS)
    let t6 = min (s1 * vk * kap1 * sum (fun i -> p1 i * h i)) (s1 * vk * kap1 * p1F * hS)
    let t7 = min (s1 * vk * sum (fun i -> p i * dh i)) (s1 * vk * pF * dhS)
    aWW, aWV, aVW, t4b + t6 + t7, t1 + t3

/// Spectral norm of the 2×2 nonnegative matrix [[a_WW, a_WV], [a_VW, 0]]: the joint coefficient a. Closed form
/// σ_max² = (‖M‖_F² + (‖M‖_F⁴ − 4 det(M)²)^{1/2})/2 (the larger eigenvalue of MᵀM), after scaling by the largest
/// entry so that huge finite coefficients do not overflow; a coefficient that is not finite gives +∞ (no finite
/// bound), never an SVD of a non-finite matrix.
let jointCoefficient (aWW: float) (aWV: float) (aVW: float) =
    if not (Double.IsFinite aWW && Double.IsFinite aWV && Double.IsFinite aVW) then infinity
    else
        let s = max (abs aWW) (max (abs aWV) (abs aVW))
        if s = 0.0 then 0.0
        else
            let a, b, c = aWW / s, aWV / s, aVW / s
            let fro2 = a * a + b * b + c * c
            let det = b * c
            s * sqrt ((fro2 + sqrt (max 0.0 (fro2 * fro2 - 4.0 * det * det))) / 2.0)

/// (L5) ‖G_{k+1} − G_k‖_F ≤ a‖Δ_k‖_F + b/L, with the W and V parts kept apart.
let gradientDifference : Result<Run> =
    { Id = "L5.gradient-difference"
      Title = "Consecutive layer gradients differ by a·‖Δ_k‖ + b/L"
      Source = src
      Provenance = ProvedHere
      Doc = doc
      Statement =
        "With Δ_k = Z_{k+1} − Z_k = (ΔW_k, ΔV_k): ‖G^W_{k+1} − G^W_k‖_F ≤ a_WW‖ΔW_k‖ + a_WV‖ΔV_k‖ + b_W/L and ‖G^V_{k+1} − G^V_k‖_F ≤ a_VW‖ΔW_k‖ + b_V/L, "
        + "hence ‖G_{k+1} − G_k‖_F ≤ a‖Δ_k‖_F + b/L with a = ‖[[a_WW, a_WV], [a_VW, 0]]‖₂, b = (b_W² + b_V²)^{1/2}; the coefficients are sums over samples of "
        + "products of ‖h‖, ‖p‖, ‖σ(u)‖, layer spectral norms, s1 and s2 (doc)."
      Hypotheses = [ notDiverged; hasSnapshots; smoothSigma ]
      Conclusion =
        fun run ->
            let whenOf = Array.init run.SnapshotCount (at run)
            let L, md = run.Setting.Depth, run.Shape.LayerSize
            let mutable amax, bmax = 0.0, 0.0
            let checks =
                [ for s in snapshots run do
                    let lw = run.Layerwise s
                    let w, v = run.W s, run.V s
                    for k in 1 .. L - 1 do
                        let aWW, aWV, aVW, bW, bV = gradientDifferenceCoefficients run s k
                        amax <- max amax (jointCoefficient aWW aWV aVW)
                        bmax <- max bmax (sqrt (bW * bW + bV * bV))
                        let x = Linalg.frobeniusDiff w (k * md) w ((k - 1) * md) md
                        let y = Linalg.frobeniusDiff v (k * md) v ((k - 1) * md) md
                        let gw = Linalg.frobeniusDiff lw.GW.[k] 0 lw.GW.[k - 1] 0 md
                        let gv = Linalg.frobeniusDiff lw.GV.[k] 0 lw.GV.[k - 1] 0 md
                        let bound = sqrt ((aWW * x + aWV * y + bW / float L) ** 2.0 + (aVW * x + bV / float L) ** 2.0)
                        yield { Measured = sqrt (gw * gw + gv * gv); Bound = bound
                                Where = sprintf "layers k = %d, %d" k (k + 1); When = whenOf.[s] } ]
            evaluation roundingRel checks (runConstants run @ [ "a (max)", amax; "b (max)", bmax ]) [ Evaluation.AnyWeights ] }

/// Every lemma of the chain, for a registry.
let all : Result<Run> list =
    [ hiddenStates; increments; adjoints; adjointIncrements; terminalAdjointSum; layerGradients; gradientDifference ]
