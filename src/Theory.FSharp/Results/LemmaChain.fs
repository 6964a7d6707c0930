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

let private diffNorm (a: ArraySegment<float>) (b: ArraySegment<float>) =
    let mutable s = 0.0
    for i in 0 .. a.Count - 1 do
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
        let n = lw.H.[0].Length
        // columns c_i of a (rows × n) matrix given as n vectors
        // (certified upper values, `SpectralNorm.UpperOfColumns`: every reader multiplies by them; until 2026-12-06 the
        // bisection estimate, whose error of order k·u ρ_chain's γ_{2S} was asserted, not derived, to cover)
        let spec (cols: float[][]) = Model.SpectralNorm.UpperOfColumns cols
        let fro (cols: float[][]) =
            let mutable acc = 0.0
            for c in cols do
                let mutable sc = 0.0
                for x in c do sc <- sc + x * x
                acc <- acc + sc
            sqrt acc
        // the pre-activations and σ of them, formed again from the reference's states (the numbers of its forward pass), one
        // layer at a time in reused arrays: their range over every layer (in one pass over each layer's entries), and per
        // layer the norms of σ's columns, its Frobenius and spectral norms (each column's sum of squares once:
        // `Linalg.columnNormsAndFrobenius`, the bits of `norm` per column and of `fro`)
        let range = [| infinity; -infinity |]
        let sNF = Array.zeroCreate L
        let sSpec = Array.zeroCreate L
        lw.VisitLayers(fun k pre sgm ->
            let mutable lo, hi = range.[0], range.[1]
            for ui in pre do
                for x in ui do
                    lo <- min lo x
                    hi <- max hi x
            range.[0] <- lo
            range.[1] <- hi
            sNF.[k] <- Linalg.columnNormsAndFrobenius sgm
            sSpec.[k] <- spec sgm)
        let lo, hi = range.[0], range.[1]
        let lo0, hi0 = min lo 0.0, max hi 0.0
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
        // each column's sum of squares once, for its norm and the layer's Frobenius norm (`Linalg.columnNormsAndFrobeniusOf`:
        // the bits of `Linalg.norm` per column and of `fro`)
        let pNF = Array.init lw.P.Length (fun k -> Linalg.columnNormsAndFrobeniusOf lw.P.[k])
        let layerSpec (rows: Model.StateRows) k = Model.SpectralNorm.UpperOfColumns(rows.Layer k, rows.Samples, rows.Dim)
        { WOp = wop
          VOp = vop
          HNorm = Array.init lw.H.Length (fun k -> let rows = lw.H.[k] in Array.init rows.Length (fun i -> Linalg.normOf rows.[i]))
          PNorm = pNF |> Array.map fst
          SigmaNorm = sNF |> Array.map fst
          PSpec = Array.init lw.P.Length (layerSpec lw.P)
          PFro = pNF |> Array.map snd
          HSpec = Array.init lw.H.Length (layerSpec lw.H)
          SSpec = sSpec
          SFro = sNF |> Array.map snd
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

let private at (run: Run) (s: int) = sprintf "snapshot %d (iteration %d, t = %g)" s run.Steps.[s] (run.Time s)

let private snapshots (run: Run) = seq { 0 .. run.SnapshotCount - 1 }

let private maxOver f (run: Run) = snapshots run |> Seq.map f |> Seq.fold max 0.0

/// The largest entry, a NaN counting as the largest (Comparison.worstIndexMax; F#'s Array.max drops a NaN that is not first).
let private largest (xs: float[]) = xs.[Comparison.worstIndexMax xs.Length (fun i -> xs.[i])]

let private doc = "docs/theorems/LemmaChain.md"
let private src = "derived here (docs/theorems/LemmaChain.md)"

// ---------------------------------------------------------------- the chain stated once over what an architecture supplies

/// One snapshot as the lemma chain reads it, for any architecture: the measured side (the states, adjoints and layer
/// gradients of a pass of the network at the snapshot's parameters) and the per-layer constants the bounds are made
/// of. Layers k = 1..L (1-based), samples i; a "state bound" x is an upper bound on ‖h‖ of the states it is applied to.
type ChainSnapshot =
    { /// ‖h_k^i‖ at [k][i], k = 0..L
      HNorm: float[][]
      /// ‖p_k^i‖ at [k][i], k = 0..L
      PNorm: float[][]
      /// L·‖h_k^i − h_{k−1}^i‖ for layer k and sample i
      Increment: int -> int -> float
      /// ‖p_{k+1}^i − p_k^i‖ for k = 0..L−1 and sample i
      AdjointIncrement: int -> int -> float
      /// the loss ℓ = (1/n)Σ_i‖Bh_L^i − y_i‖² of the pass
      Loss: float
      /// the state norms at which the constants of L2–L5 are evaluated, given L1's bound Hb (at [k][i]): Hb itself, or the
      /// measured ‖h_k^i‖ (valid too: each constant bounds its quantity uniformly over the states of norm ≤ x, and ‖h_k^i‖
      /// is exact), which stays finite where L1's a-priori recursion has no finite value (an output quadratic in h)
      StateBound: float[][] -> float[][]
      /// κ_k(x) ≥ ‖∂_hf(θ_k, h)‖₂ for ‖h‖ ≤ x (nondecreasing in x)
      Kappa: int -> float -> float
      /// F₀_k ≥ ‖f(θ_k, 0)‖ (lemma L1's intercept: ‖f(θ_k, h)‖ ≤ F₀_k + κ_k(‖h‖)‖h‖)
      Intercept: int -> float
      /// F_k(x) ≥ ‖f(θ_k, h)‖ for ‖h‖ ≤ x (lemma L2's bound)
      Output: int -> float -> float
      /// lemma L4 at layer k given the bounds Hb, Pb of L1 and L3: (where, measured, bound) per comparison
      LayerGradient: int -> float[][] -> float[][] -> (string * float * float) list
      /// lemma L5 at the pair of layers (k, k+1), k = 1..L−1, given Hb and Pb: (measured ‖G_{k+1} − G_k‖, bound, a, b)
      GradientDifference: int -> float[][] -> float[][] -> float * float * float * float }

/// What an architecture supplies to the statements of the chain (written once in `statedOver`).
type ChainSupply =
    { /// the hypotheses of L1–L4 and those of L5 (names as the rows report them)
      Hypotheses: Hypothesis<Run> list
      L5Hypotheses: Hypothesis<Run> list
      /// the statements' texts, with the supply's constants spelled out: L1, L2, L3.adjoint, L3.adjoint-increment, L4, L5
      Statements: string * string * string * string * string * string
      /// the snapshot as the chain reads it (computed once per run and snapshot by the supply)
      Snapshot: Run -> int -> ChainSnapshot
      /// starts the snapshots' computations (L1 asks first); every failure is left to the rows
      Prepare: Run -> unit
      /// the run's constants reported with every row but L3.terminal-sum
      Constants: Run -> (string * float) list
      /// L1's closed form of the state bound (name, value)
      ClosedForm: Run -> string * float }

/// L1's bound from a chain snapshot: Hb_0^i = ‖h_0^i‖, Hb_k^i = (1 + κ_k(Hb_{k−1}^i)/L)·Hb_{k−1}^i + F₀_k/L, at [k][i].
/// With ‖f(θ_k, h)‖ ≤ F₀_k + κ_k(‖h‖)‖h‖ and κ_k nondecreasing, ‖h_k^i‖ ≤ ‖h_{k−1}^i‖ + ‖f(θ_k, h_{k−1}^i)‖/L ≤ Hb_k^i by induction.
let chainHidden (L: int) (c: ChainSnapshot) : float[][] =
    let hb = Array.zeroCreate (L + 1)
    hb.[0] <- Array.copy c.HNorm.[0]
    for k in 1 .. L do
        let f0 = c.Intercept k
        hb.[k] <- hb.[k - 1] |> Array.map (fun x -> (1.0 + c.Kappa k x / float L) * x + f0 / float L)
    hb

/// L3's bound: Pb_L^i = ‖p_L^i‖, Pb_{k−1}^i = (1 + κ_k(x_{k−1}^i)/L)·Pb_k^i, at [k][i] (p_{k−1} = p_k + (1/L)∂_hf(θ_k, h_{k−1})ᵀp_k),
/// with x the state bound of `ChainSnapshot.StateBound`.
let chainAdjoint (L: int) (c: ChainSnapshot) (hb: float[][]) : float[][] =
    let pb = Array.zeroCreate (L + 1)
    pb.[L] <- Array.copy c.PNorm.[L]
    for k in L .. -1 .. 1 do
        pb.[k - 1] <- pb.[k] |> Array.mapi (fun i x -> (1.0 + c.Kappa k hb.[k - 1].[i] / float L) * x)
    pb

/// Hypothesis of the chain: the pass it reads at every snapshot is finite in float64 (the states' norms, and with
/// `adjoints` the adjoints' too). Weights beyond double precision's range for the pass (this engine's clipped run at η = 100,
/// C = 10³⁰⁰: its loss 10²²² still finite, every layer gradient's norm +∞) overflow the verifier's own norms, which were then
/// compared as measured +∞ against finite bounds and read VIOLATED: an overflow of the check's arithmetic, not a failed
/// comparison, said here instead.
let finitePass (snapshot: Run -> int -> ChainSnapshot) (adjoints: bool) : Hypothesis<Run> =
    (if adjoints then "the verifier's float64 pass finite at every snapshot (states and adjoints)"
     else "the verifier's float64 pass finite at every snapshot (states)"), fun run ->
        let notFinite (xs: float[][]) = xs |> Array.tryFindIndex (Array.exists (fun x -> not (Double.IsFinite x)))
        let overflow =
            seq { 0 .. run.SnapshotCount - 1 } |> Seq.tryPick (fun s ->
                let c = snapshot run s
                match notFinite c.HNorm with
                | Some k -> Some(s, "a state's norm ‖h_k^i‖", k)
                | None when adjoints -> notFinite c.PNorm |> Option.map (fun k -> s, "an adjoint's norm ‖p_k^i‖", k)
                | None -> None)
        match overflow with
        | None -> Met "every norm the lemma reads is a finite float64 number"
        | Some (s, what, k) ->
            NotMet(sprintf "%s overflows float64 at layer k = %d of snapshot %d (iteration %d): the weights there are beyond double precision's range for this pass, so its comparisons cannot be made (an overflow, not a failed comparison)"
                       what k s run.Steps.[s])

/// The results of the chain as stated over one supply.
type Statements =
    { HiddenStates: Result<Run>
      Increments: Result<Run>
      Adjoints: Result<Run>
      AdjointIncrements: Result<Run>
      TerminalAdjointSum: Result<Run>
      LayerGradients: Result<Run>
      GradientDifference: Result<Run> }
    /// Every lemma, in the chain's order.
    member s.All =
        [ s.HiddenStates; s.Increments; s.Adjoints; s.AdjointIncrements; s.TerminalAdjointSum; s.LayerGradients; s.GradientDifference ]

/// Every lemma of the chain, written once over what an architecture supplies: the recursions of L1 and L3 and the
/// comparisons of L2–L5 are the same for every architecture, the constants (κ_k, F₀_k, F_k, L4's and L5's
/// coefficients) the supply's.
let statedOver (supply: ChainSupply) : Statements =
    let st1, st2, st3a, st3b, st4, st5 = supply.Statements
    let whenOf (run: Run) = Array.init run.SnapshotCount (at run)
    /// "layer k = K, sample i = I" for k in 0 .. L and every sample i, formed once per run for the rows that name their
    /// comparisons so (L1, L2, L3.adjoint) instead of once per comparison: the same text, one string per place.
    let placeLabels = System.Runtime.CompilerServices.ConditionalWeakTable<Run, string[][]>()
    let placeOf (run: Run) =
        placeLabels.GetValue(run, fun run ->
            Array.init (run.Setting.Depth + 1) (fun k ->
                Array.init run.Setting.Samples (fun i -> "layer k = " + string k + ", sample i = " + string i)))
    /// One lemma of the chain: its record, with the chain's source, page and provenance.
    let lemma id title statement hypotheses conclusion : Result<Run> =
        // L1 and L2 read the states alone; the others the adjoints too
        let adjoints = id <> "L1.hidden" && id <> "L2.increments"
        { Id = id; Title = title; Source = src; Provenance = ProvedHere; Doc = doc; Statement = statement
          Hypotheses = hypotheses @ [ finitePass supply.Snapshot adjoints ]; Conclusion = conclusion }
    /// The chain's comparisons, within ρ_chain (`Rounding.chainRel`); they hold for any weights.
    let compared (run: Run) checks constants = evaluation (Rounding.chainRel run) checks constants [ Evaluation.AnyWeights ]

    /// (L1) ‖h_k^i‖ ≤ Hb_k^i.
    let hiddenStates : Result<Run> =
        lemma "L1.hidden" "Hidden states stay bounded" st1 supply.Hypotheses (fun run ->
                supply.Prepare run
                let whenOf = whenOf run
                let place = placeOf run
                // the constants first, as when the comparisons were a lazy sequence read by `compared`; the comparisons
                // then as one array (the same records in the same order, without a sequence's enumerator per record)
                let constants = supply.Constants run @ [ supply.ClosedForm run ]
                let checks =
                    [| for s in snapshots run do
                        let c = supply.Snapshot run s
                        let hb = chainHidden run.Setting.Depth c
                        // k = 0 is not compared: Hb_0 = ‖h_0^i‖ is the measured norm itself; nor is a layer where the bound
                        // has not grown from it (every block before it bounded by 0, as at V = 0: h_k = h_0 and the bound is
                        // ‖h_0‖, a comparison of the input's norm with itself that cannot fail, read as tightness 1)
                        for k in 1 .. run.Setting.Depth do
                            for i in 0 .. run.Setting.Samples - 1 do
                                if hb.[k].[i] <> hb.[0].[i] then
                                    yield { Measured = c.HNorm.[k].[i]; Bound = hb.[k].[i]; Where = place.[k].[i]; When = whenOf.[s] } |]
                // (until 2026-12-08 such a row said only "nothing to compare": a faithful ReLU run whose units were all
                // inactive, m = 1)
                if checks.Length = 0 then
                    { Evaluation.notApplicable "the bound never grows from ‖h_0^i‖ (κ_k·Hb + F₀_k = 0 at every layer, sample and snapshot: no layer moves a state here, as at V = 0 or with every unit of a ReLU inactive), so no comparison could fail; none made" with
                        Constants = constants }
                else compared run checks constants)

    /// (L2) L·‖h_k^i − h_{k−1}^i‖ ≤ F_k(Hb_{k−1}^i).
    let increments : Result<Run> =
        lemma "L2.increments" "Hidden-state increments are O(1/L)" st2 supply.Hypotheses (fun run ->
                let whenOf = whenOf run
                let place = placeOf run
                let L = run.Setting.Depth
                let mutable fmax = 0.0
                // the rounding factor once per run, not per layer and sample
                let roundingPerNorm = float L * Rounding.incrementRoundingFactor run.Setting.Dim
                let checks =
                    [| for s in snapshots run do
                        let c = supply.Snapshot run s
                        let hb = c.StateBound (chainHidden L c)
                        for k in 1 .. L do
                            for i in 0 .. run.Setting.Samples - 1 do
                                let f = c.Output k hb.[k - 1].[i]
                                fmax <- max fmax f
                                // the sum h_k = h_{k−1} + y/L rounds once: the measured increment carries L·u‖ĥ_k‖ absolute
                                let rounding = roundingPerNorm * c.HNorm.[k].[i]
                                yield { Measured = c.Increment k i; Bound = f + rounding; Where = place.[k].[i]; When = whenOf.[s] } |]
                compared run checks (supply.Constants run @ [ "F (max over layers, samples, snapshots)", fmax ]))

    /// (L3a) ‖p_k^i‖ ≤ Pb_k^i.
    let adjoints : Result<Run> =
        lemma "L3.adjoint" "Adjoints stay within e^κ of the terminal adjoint" st3a supply.Hypotheses (fun run ->
                let whenOf = whenOf run
                let place = placeOf run
                let L = run.Setting.Depth
                let constants = supply.Constants run
                let checks =
                    [| for s in snapshots run do
                        let c = supply.Snapshot run s
                        let pb = chainAdjoint L c (c.StateBound (chainHidden L c))
                        // k = L is not compared: Pb_L = ‖p_L^i‖ is the measured norm itself; nor is a layer where the bound
                        // has not grown from it (every Jacobian after it bounded by the identity's 1, as at V = 0)
                        for k in 0 .. L - 1 do
                            for i in 0 .. run.Setting.Samples - 1 do
                                if pb.[k].[i] <> pb.[L].[i] then
                                    yield { Measured = c.PNorm.[k].[i]; Bound = pb.[k].[i]; Where = place.[k].[i]; When = whenOf.[s] } |]
                if checks.Length = 0 then
                    { Evaluation.notApplicable "the bound never grows from ‖p_L^i‖ (κ_k = 0 at every layer and snapshot: every layer's Jacobian is the identity here, as at V = 0 or with every unit of a ReLU inactive), so no comparison could fail; none made" with
                        Constants = constants }
                else compared run checks constants)

    /// (L3b) ‖p_{k+1}^i − p_k^i‖ ≤ κ_{k+1}(Hb_k^i)‖p_{k+1}^i‖/L.
    let adjointIncrements : Result<Run> =
        lemma "L3.adjoint-increment" "Adjoint increments are O(1/L)" st3b supply.Hypotheses (fun run ->
                let whenOf = whenOf run
                let L = run.Setting.Depth
                // the places' labels once per row, not once per snapshot and comparison (the same text)
                let place =
                    Array.init L (fun k ->
                        Array.init run.Setting.Samples (fun i -> "layers k = " + string (k + 1) + " → " + string k + ", sample i = " + string i))
                let constants = supply.Constants run
                let roundingPerNorm = Rounding.incrementRoundingFactor run.Setting.Dim
                let checks =
                    [| for s in snapshots run do
                        let c = supply.Snapshot run s
                        let hb = c.StateBound (chainHidden L c)
                        for k in 0 .. L - 1 do
                            for i in 0 .. run.Setting.Samples - 1 ->
                                // p_k = p_{k+1} + y/L rounds once: the measured increment carries u‖p̂_k‖ absolute
                                { Measured = c.AdjointIncrement k i
                                  Bound = c.Kappa (k + 1) hb.[k].[i] * c.PNorm.[k + 1].[i] / float L
                                          + roundingPerNorm * c.PNorm.[k].[i]
                                  Where = place.[k].[i]; When = whenOf.[s] } |]
                compared run checks constants)

    /// (L3c) Σ_i ‖p_L^i‖ ≤ 2‖B‖₂√ℓ.
    let terminalAdjointSum : Result<Run> =
        let st3c =
            "p_L^i = (2/n)Bᵀr_i with r_i = Bh_L^i − y_i, so Σ_i‖p_L^i‖ ≤ (2/n)‖B‖₂Σ_i‖r_i‖ ≤ (2/n)‖B‖₂√n(Σ_i‖r_i‖²)^{1/2} = (2/n)‖B‖₂√n√(nℓ) = 2‖B‖₂√ℓ."
        lemma "L3.terminal-sum" "The terminal adjoints sum to at most 2‖B‖₂√ℓ" st3c supply.Hypotheses (fun run ->
                let whenOf = whenOf run
                let L = run.Setting.Depth
                let checks =
                    seq {
                        for s in snapshots run ->
                            let c = supply.Snapshot run s
                            { Measured = Array.sum c.PNorm.[L]
                              Bound = 2.0 * run.Setting.ReadoutNorm * sqrt c.Loss
                              Where = "k = L"; When = whenOf.[s] }
                    }
                compared run checks [ "norm B (spectral)", run.Setting.ReadoutNorm ])

    /// (L4) the layer gradients bounded through Hb and Pb.
    let layerGradients : Result<Run> =
        lemma "L4.layer-gradient" "Depth-scaled layer gradients are O(1) in L" st4 supply.Hypotheses (fun run ->
                let whenOf = whenOf run
                let L = run.Setting.Depth
                let checks =
                    [ for s in snapshots run do
                        let c = supply.Snapshot run s
                        let hb = c.StateBound (chainHidden L c)
                        let pb = chainAdjoint L c hb
                        for k in 1 .. L do
                            for where', m, b in c.LayerGradient k hb pb ->
                                { Measured = m; Bound = b; Where = where'; When = whenOf.[s] } ]
                compared run checks (supply.Constants run))

    /// (L5) ‖G_{k+1} − G_k‖ ≤ a‖Δ_k‖ + b/L.
    let gradientDifference : Result<Run> =
        lemma "L5.gradient-difference" "Consecutive layer gradients differ by a·‖Δ_k‖ + b/L" st5 supply.L5Hypotheses (fun run ->
                let whenOf = whenOf run
                let L = run.Setting.Depth
                let mutable amax, bmax = 0.0, 0.0
                let checks =
                    [ for s in snapshots run do
                        let c = supply.Snapshot run s
                        let hb = c.StateBound (chainHidden L c)
                        let pb = chainAdjoint L c hb
                        for k in 1 .. L - 1 do
                            let measured, bound, a, b = c.GradientDifference k hb pb
                            amax <- max amax a
                            bmax <- max bmax b
                            yield { Measured = measured; Bound = bound
                                    Where = sprintf "layers k = %d, %d" k (k + 1); When = whenOf.[s] } ]
                compared run checks (supply.Constants run @ [ "a (max)", amax; "b (max)", bmax ]))

    { HiddenStates = hiddenStates; Increments = increments; Adjoints = adjoints; AdjointIncrements = adjointIncrements
      TerminalAdjointSum = terminalAdjointSum; LayerGradients = layerGradients; GradientDifference = gradientDifference }

// ---------------------------------------------------------------- the MLP's supply: per-layer spectral norms, L5 per pair

/// Common constants of a run: max over snapshots of s1 (range), M_W, M_V, κ.
let private runConstants (run: Run) =
    let mw = maxOver (fun s -> largest (snapshotNorms run s).WOp) run
    let mv = maxOver (fun s -> largest (snapshotNorms run s).VOp) run
    let s1 = maxOver (fun s -> (snapshotNorms run s).S1) run
    [ "s0", run.Setting.S0; "s1 (global)", run.Setting.S1; "s1 (pre-activation range)", s1
      "M_W", mw; "M_V", mv; "kappa", s1 * mw * mv ]

// the L5 coefficients of every pair of a snapshot, one Lazy per snapshot (L5, A.aposteriori and A.aposteriori.segments ask
// for the same pairs at the same snapshots)
let private coefficientCache =
    ConditionalWeakTable<Run, Collections.Concurrent.ConcurrentDictionary<int, Lazy<struct (float * float * float * float * float)[]>>>()

/// The coefficients of lemma L5 at every pair (k, k+1), k = 1 .. L − 1 (index k − 1), of snapshot s; see
/// `gradientDifferenceCoefficients`. Each sum over samples runs from zero in sample order and each term is the same
/// product as written there, so each coefficient has the bits of the per-pair formula; a sum that two terms share is
/// formed once, and L‖h_k^i − h_{k−1}^i‖ once per sample and layer.
let private snapshotCoefficients (run: Run) (s: int) =
    let sn = snapshotNorms run s
    let lw = run.Layerwise s
    let s1 = sn.S1
    let s2 = defaultArg sn.S2 nan
    let n = run.Setting.Samples
    let L = float run.Setting.Depth
    let kap = kappas sn
    let dh = Array.zeroCreate n
    Array.init (run.Setting.Depth - 1) (fun k0 ->
        let k = k0 + 1
        // 1-based layer k at index k − 1, layer k + 1 at index k.
        let wk, vk, vk1, kap1 = sn.WOp.[k - 1], sn.VOp.[k - 1], sn.VOp.[k], kap.[k]
        let h, p, p1, sg = sn.HNorm.[k], sn.PNorm.[k], sn.PNorm.[k + 1], sn.SigmaNorm.[k]
        let hk, hk1 = lw.H.[k], lw.H.[k - 1]
        for i in 0 .. n - 1 do
            dh.[i] <- L * diffNorm hk.[i] hk1.[i] // L‖h_k − h_{k−1}‖
        let hS, pS, p1S, p1F, pF = sn.HSpec.[k], sn.PSpec.[k], sn.PSpec.[k + 1], sn.PFro.[k + 1], sn.PFro.[k]
        let dhF, dhS = L * sn.DHFro.[k - 1], L * sn.DHSpec.[k - 1]
        let g1 = sn.GInf.[k] // max_i ‖V_{k+1}ᵀp_{k+1}^i‖_∞
        let mutable sP1Sg = 0.0
        let mutable sPH = 0.0
        let mutable sPDh = 0.0
        let mutable sP1HH = 0.0
        let mutable sP1DhH = 0.0
        let mutable sP1H = 0.0
        for i in 0 .. n - 1 do
            sP1Sg <- sP1Sg + p1.[i] * sg.[i]
            sPH <- sPH + p.[i] * h.[i]
            sPDh <- sPDh + p.[i] * dh.[i]
            sP1HH <- sP1HH + p1.[i] * h.[i] * h.[i]
            sP1DhH <- sP1DhH + p1.[i] * dh.[i] * h.[i]
            sP1H <- sP1H + p1.[i] * h.[i]
        // ΔG^V = (P_{k+1} − P_k)Σ_{k+1}ᵀ + P_k(D̃∘(ΔW_k H_k))ᵀ + P_k(D̃∘(W_k ΔH))ᵀ
        let t1 = min (kap1 * sP1Sg) (kap1 * p1F * sn.SSpec.[k])
        let aVW = min (s1 * sPH) (s1 * pS * hS)
        let t3 = min (s1 * wk * sPDh) (s1 * pS * wk * dhF)
        // ΔG^W = [D2∘(ΔW h)∘V_{k+1}ᵀp_{k+1}]H_kᵀ + [D2∘(W_kΔh)∘V_{k+1}ᵀp_{k+1}]H_kᵀ + [σ'∘ΔVᵀp_{k+1}]H_kᵀ
        //        + [σ'∘V_kᵀ(p_{k+1} − p_k)]H_kᵀ + Q_k ΔHᵀ
        let aWW = min (s2 * vk1 * sP1HH) (s2 * g1 * hS * hS)
        let t4b = min (s2 * vk1 * wk * sP1DhH) (s2 * g1 * wk * dhF * hS)
        let aWV = min (s1 * sP1H) (s1 * p1S * hS)
        let t6 = min (s1 * vk * kap1 * sP1H) (s1 * vk * kap1 * p1F * hS)
        let t7 = min (s1 * vk * sPDh) (s1 * vk * pF * dhS)
        struct (aWW, aWV, aVW, t4b + t6 + t7, t1 + t3))

/// The coefficients of L5 at layers (k, k+1) of a snapshot: (a_WW, a_WV, a_VW, b_W, b_V). The difference
/// splits exactly into seven terms (doc); each term is bounded twice, by per-sample sums (‖abᵀ‖_F = ‖a‖‖b‖ and
/// the triangle inequality over samples) and in matrix form (‖XYᵀ‖_F ≤ ‖X‖_F‖Y‖₂ with the d×n, m×n sample
/// matrices P_k, H_k, Σ_k), and the smaller of the two is used term by term. Computed for every pair of the snapshot at
/// once and kept (`snapshotCoefficients`).
let gradientDifferenceCoefficients (run: Run) (s: int) (k: int) =
    if k < 1 || k > run.Setting.Depth - 1 then
        invalidArg "k" (sprintf "gradientDifferenceCoefficients: the pair (k, k + 1) needs 1 ≤ k ≤ L − 1 = %d, got k = %d" (run.Setting.Depth - 1) k)
    let perRun = coefficientCache.GetValue(run, fun _ -> Collections.Concurrent.ConcurrentDictionary<int, Lazy<struct (float * float * float * float * float)[]>>())
    let struct (aWW, aWV, aVW, bW, bV) = perRun.GetOrAdd(s, fun s -> lazy (snapshotCoefficients run s)).Value.[k - 1]
    aWW, aWV, aVW, bW, bV

/// Spectral norm of the 2×2 nonnegative matrix M = [[a_WW, a_WV], [a_VW, 0]]: the joint coefficient a. From
/// σ_max ± σ_min = ((a_WW ± 0)² + (a_WV ∓ a_VW)²)^{1/2} (true of every real 2×2 matrix [[p, q], [r, t]] with p ± t and
/// q ∓ r), σ_max = (√(a² + (b − c)²) + √(a² + (b + c)²))/2: sums of nonnegative terms, a few u relative, after scaling by
/// the largest entry so that huge finite coefficients do not overflow; a coefficient that is not finite gives +∞ (no
/// finite bound). Until 2026-12-05 it was the larger eigenvalue of MᵀM written as (‖M‖_F² + (‖M‖_F⁴ − 4det²)^{1/2})/2,
/// whose discriminant cancels where a_WV ≈ a_VW and a_WW is small (the split pass' usual case, max|σ'| close to s1): there
/// σ_max came out low by up to about √u·|a_WV − a_VW| (tests/Properties/JointCoefficientTests.fs).
let jointCoefficient (aWW: float) (aWV: float) (aVW: float) =
    if not (Double.IsFinite aWW && Double.IsFinite aWV && Double.IsFinite aVW) then infinity
    else
        let s = max (abs aWW) (max (abs aWV) (abs aVW))
        if s = 0.0 then 0.0
        else
            let a, b, c = aWW / s, aWV / s, aVW / s
            s * ((sqrt (a * a + (b - c) * (b - c)) + sqrt (a * a + (b + c) * (b + c))) / 2.0)

/// The MLP's chain snapshot: ‖W_k‖₂, ‖V_k‖₂ exact (SVD), s1 and s2 over the snapshot's pre-activation range, the
/// layer-wise quantities of `Run.Layerwise` (the W, V gradients kept apart in L4 and L5).
let private mlpSnapshot (run: Run) (s: int) : ChainSnapshot =
    let sn = snapshotNorms run s
    let lw = run.Layerwise s
    let L = run.Setting.Depth
    let n = run.Setting.Samples
    let s0 = run.Setting.S0
    let sqm = sqrt (float run.Setting.Width)
    let md = run.Shape.LayerSize
    let kap = kappas sn
    let wv = lazy (run.W s, run.V s)
    { HNorm = sn.HNorm
      PNorm = sn.PNorm
      Increment = fun k i -> float L * diffNorm lw.H.[k].[i] lw.H.[k - 1].[i]
      AdjointIncrement = fun k i -> diffNorm lw.P.[k + 1].[i] lw.P.[k].[i]
      Loss = lw.Loss
      StateBound = id
      Kappa = fun k _ -> kap.[k - 1]
      Intercept = fun k -> s0 * sqm * sn.VOp.[k - 1]
      Output = fun k x -> sn.VOp.[k - 1] * (s0 * sqm + sn.S1 * sn.WOp.[k - 1] * x)
      LayerGradient =
        fun k hb pb ->
            let bv = Seq.sum (seq { for i in 0 .. n - 1 -> pb.[k].[i] * (s0 * sqm + sn.S1 * sn.WOp.[k - 1] * hb.[k - 1].[i]) })
            let bw = sn.S1 * sn.VOp.[k - 1] * Seq.sum (seq { for i in 0 .. n - 1 -> pb.[k].[i] * hb.[k - 1].[i] })
            [ sprintf "G^V, layer k = %d" k, Linalg.frobenius lw.GV.[k - 1] 0 md, bv
              sprintf "G^W, layer k = %d" k, Linalg.frobenius lw.GW.[k - 1] 0 md, bw ]
      GradientDifference =
        fun k _ _ ->
            let w, v = wv.Value
            let aWW, aWV, aVW, bW, bV = gradientDifferenceCoefficients run s k
            let x = Linalg.frobeniusDiff w (k * md) w ((k - 1) * md) md
            let y = Linalg.frobeniusDiff v (k * md) v ((k - 1) * md) md
            let gw = Linalg.frobeniusDiff lw.GW.[k] 0 lw.GW.[k - 1] 0 md
            let gv = Linalg.frobeniusDiff lw.GV.[k] 0 lw.GV.[k - 1] 0 md
            let bound = sqrt (Portable.sq (aWW * x + aWV * y + bW / float L) + Portable.sq (aVW * x + bV / float L))
            sqrt (gw * gw + gv * gv), bound, jointCoefficient aWW aWV aVW, sqrt (bW * bW + bV * bV) }

/// The paper's MLP: κ_k = s1‖W_k‖₂‖V_k‖₂, F₀_k = s0√m‖V_k‖₂, F_k(x) = ‖V_k‖₂(s0√m + s1‖W_k‖₂x), L4 for the W and V
/// parts apart, L5 with the per-pair coefficients of `gradientDifferenceCoefficients`.
let mlp : ChainSupply =
    { Hypotheses = [ notDiverged; hasSnapshots ]
      L5Hypotheses = [ notDiverged; hasSnapshots; smoothSigma ]
      Statements =
        "For every sample i and layer k, ‖h_k^i‖ ≤ Π_{j≤k}(1 + κ_j/L)‖h_0^i‖ + Σ_{j≤k} Π_{j<l≤k}(1 + κ_l/L)·s0·√m·‖V_j‖₂/L "
        + "≤ e^{κk/L}(‖h_0^i‖ + s0·√m·M_V·k/L), with κ_j = s1‖W_j‖₂‖V_j‖₂ (|σ(u)| ≤ s0 + s1|u|).",
        "For every sample and layer, ‖h_k^i − h_{k−1}^i‖ = ‖V_kσ(W_k h_{k−1}^i)‖/L ≤ ‖V_k‖₂(s0√m + s1‖W_k‖₂ Hb_{k−1}^i)/L ≤ F/L, "
        + "F = M_V(s0√m + s1 M_W H), with Hb the bound of L1.",
        "With p_{k−1} = p_k + (1/L)W_kᵀ(σ'(u_k) ⊙ V_kᵀp_k): ‖p_{k−1}^i‖ ≤ (1 + κ_k/L)‖p_k^i‖, hence ‖p_k^i‖ ≤ Π_{j>k}(1 + κ_j/L)‖p_L^i‖ ≤ e^{κ(L−k)/L}‖p_L^i‖.",
        "For k = 0..L−1 and every sample, ‖p_{k+1}^i − p_k^i‖ = ‖W_{k+1}ᵀq_{k+1}^i‖/L ≤ κ_{k+1}‖p_{k+1}^i‖/L ≤ κ‖p_{k+1}^i‖/L.",
        "G^V_k = Σ_i p_k^i σ(u_k^i)ᵀ and G^W_k = Σ_i q_k^i h_{k−1}^{iᵀ} give ‖G^V_k‖_F ≤ Σ_i Pb_k^i(s0√m + s1‖W_k‖₂Hb_{k−1}^i) and "
        + "‖G^W_k‖_F ≤ s1‖V_k‖₂Σ_i Pb_k^i Hb_{k−1}^i, with Hb, Pb the bounds of L1 and L3 (≤ P·(s0√m + s1M_W H) and s1M_V·H·P, P = e^κΣ_i‖p_L^i‖).",
        "With Δ_k = Z_{k+1} − Z_k = (ΔW_k, ΔV_k): ‖G^W_{k+1} − G^W_k‖_F ≤ a_WW‖ΔW_k‖ + a_WV‖ΔV_k‖ + b_W/L and ‖G^V_{k+1} − G^V_k‖_F ≤ a_VW‖ΔW_k‖ + b_V/L, "
        + "hence ‖G_{k+1} − G_k‖_F ≤ a‖Δ_k‖_F + b/L with a = ‖[[a_WW, a_WV], [a_VW, 0]]‖₂, b = (b_W² + b_V²)^{1/2}; the coefficients are sums over samples of "
        + "products of ‖h‖, ‖p‖, ‖σ(u)‖, layer spectral norms, s1 and s2 (doc)."
      Snapshot = mlpSnapshot
      Prepare =
        fun run ->
            // the snapshots' norms (kept for the later lemmas) are independent of one another: as many at a time as the
            // processor budget allows, each the same numbers as alone (a failure is left to the rows)
            Budgeted.iter (fun s -> try snapshotNorms run s |> ignore with _ -> ()) [| 0 .. run.SnapshotCount - 1 |]
      Constants = runConstants
      ClosedForm =
        fun run ->
            "H (closed form e^kappa (max|h0| + s0 sqrt(m) M_V))",
            maxOver (fun s ->
                let sn = snapshotNorms run s
                let kap = largest (kappas sn)
                Portable.exp kap * (run.Setting.InputNormMax + run.Setting.S0 * sqrt (float run.Setting.Width) * largest sn.VOp)) run }

let private mlpStatements = statedOver mlp

/// (L1) ‖h_k^i‖ ≤ Hb_k^i, the per-sample recursion (tighter than H = e^κ(max_i ‖h_0^i‖ + s0·√m·M_V)), on the MLP.
let hiddenStates = mlpStatements.HiddenStates
/// (L2) L·‖h_k^i − h_{k−1}^i‖ ≤ F_k^i := ‖V_k‖₂(s0·√m + s1‖W_k‖₂·Hb_{k−1}^i), on the MLP.
let increments = mlpStatements.Increments
/// (L3a) ‖p_k^i‖ ≤ Π_{j>k}(1 + κ_j/L)‖p_L^i‖, on the MLP.
let adjoints = mlpStatements.Adjoints
/// (L3b) ‖p_{k+1}^i − p_k^i‖ ≤ κ_{k+1}‖p_{k+1}^i‖/L, on the MLP.
let adjointIncrements = mlpStatements.AdjointIncrements
/// (L3c) Σ_i ‖p_L^i‖ ≤ 2‖B‖₂√ℓ, on the MLP.
let terminalAdjointSum = mlpStatements.TerminalAdjointSum
/// (L4) ‖G^V_k‖_F ≤ Σ_i Pb_k^i(s0√m + s1‖W_k‖₂Hb_{k−1}^i) and ‖G^W_k‖_F ≤ s1‖V_k‖₂Σ_i Pb_k^i Hb_{k−1}^i, on the MLP.
let layerGradients = mlpStatements.LayerGradients
/// (L5) ‖G_{k+1} − G_k‖_F ≤ a‖Δ_k‖_F + b/L, with the W and V parts kept apart, on the MLP.
let gradientDifference = mlpStatements.GradientDifference

/// Every lemma of the chain on the MLP, for a registry.
let all : Result<Run> list = mlpStatements.All
