/// The split form of lemma L5 and of result A (docs/theorems/LemmaChain.md "L5.split", "L5.forcing";
/// docs/theorems/DepthSmoothness.md "A.split"): the part of G_{k+1} − G_k that does not depend on
/// Δ_k = Z_{k+1} − Z_k is computed exactly from the states of each iterate (E_k), only the rest is bounded.
module ResOdeProofs.Theory.SplitResults

open System
open System.Runtime.CompilerServices
open ResOdeProofs.Numerics
open ResOdeProofs.Numerics.Verification
open ResOdeProofs.Theory
open ResOdeProofs.Theory.IterateSplit
open ResOdeProofs.Theory.LemmaChain
open ResOdeProofs.Theory.Comparison
open ResOdeProofs.Theory.Hypotheses

let private lemmaDoc = "docs/theorems/LemmaChain.md"
let private aDoc = "docs/theorems/DepthSmoothness.md"

let private at (run: Run) (s: int) = sprintf "snapshot %d (iteration %d, t = %g)" s run.Steps.[s] (run.Time s)

/// The pairs of every snapshot evaluated so far, and the one workspace they are evaluated in (None once every snapshot's
/// pairs are kept). A workspace holds the states, adjoints and products of a whole pass (about 120 MB at L = 1024,
/// n = 100, d = 16, m = 32): a fresh one per snapshot was that much garbage each time.
type private SnapshotPairs(run: Run) =
    let pairs = Collections.Generic.Dictionary<int, Pair[]>()
    let mutable workspace : Workspace option = None
    /// The pairs of snapshot s (evaluated once; a failure is not kept, the next call evaluates again).
    member _.Get(s: int) : Pair[] =
        lock pairs (fun () ->
            match pairs.TryGetValue s with
            | true, p -> p
            | _ ->
                let ws = match workspace with Some ws -> ws | None -> let ws = Workspace(Context.ofRun run) in workspace <- Some ws; ws
                // the record of each pair is its own (copied from the pass' quantities); nothing read later is left in the
                // workspace, which a later snapshot overwrites (a fresh workspace or this one: the same numbers)
                let p = (evaluateIn ws true None (run.W s) (run.V s)).Pairs
                pairs.[s] <- p
                if pairs.Count = run.SnapshotCount then workspace <- None
                p)

let private snapshotCache = ConditionalWeakTable<Run, SnapshotPairs>()

/// The split quantities of every pair at snapshot s, from its recorded weights (computed once per run and snapshot).
let atSnapshot (run: Run) (s: int) : Pair[] =
    snapshotCache.GetValue(run, fun r -> SnapshotPairs r).Get s

/// The two-component bound of L5.split at one pair: W part a_WW x + a_WV y + ‖E^W‖, V part a_VW x + ‖E^V‖.
let splitBound (p: Pair) =
    sqrt (Portable.sq (p.AWW * p.X + p.AWV * p.Y + p.EW) + Portable.sq (p.AVW * p.X + p.EV))

/// (L5.split) ‖G_{k+1} − G_k‖ against the exact E_k plus the bracket bound, at every snapshot and pair.
let gradientDifferenceSplit : Result<Run> =
    { Id = "L5.split"
      Title = "Consecutive layer gradients: exact state part plus a·‖Δ_k‖"
      Source = "derived here (docs/theorems/LemmaChain.md, L5.split)"
      Provenance = ProvedHere
      Doc = lemmaDoc
      Statement =
        "G_{k+1} − G_k = [G(Z_{k+1}; h_k, p_{k+1}) − G(Z_k; h_k, p_{k+1})] + E_k with E_k = G(Z_k; h_k, p_{k+1}) − G(Z_k; h_{k−1}, p_k) computed from the states; "
        + "‖G^W_{k+1} − G^W_k − E^W_k‖ ≤ a_WW‖ΔW_k‖ + a_WV‖ΔV_k‖ and ‖G^V_{k+1} − G^V_k − E^V_k‖ ≤ a_VW‖ΔW_k‖ with a_WW = s2·max|V_{k+1}ᵀp_{k+1}|·‖H_k‖₂², "
        + "a_WV = max|σ'(W_k h_k)|·‖P_{k+1}‖₂‖H_k‖₂, a_VW = s1‖P_{k+1}‖₂‖H_k‖₂ (s1, s2 over the entries of W_k h_k and W_{k+1} h_k)."
      Hypotheses = [ notDiverged; hasSnapshots; smoothSigma; LemmaChain.finitePass LemmaChain.mlp.Snapshot true ]
      Conclusion =
        fun run ->
            let mutable amax = 0.0
            let md = run.Shape.LayerSize
            let checks =
                [ for s in 0 .. run.SnapshotCount - 1 do
                    let pairs = atSnapshot run s
                    // the measured difference comes from the run's layer-wise reference pass (Run.Layerwise), the
                    // bound from this file's own evaluation of the same weights: two independent computations
                    let lw = run.Layerwise s
                    // both sides are differences of layer gradients (G_{k+1} − G_k measured, E_k = Ĝ − G_k in the bound), each
                    // gradient within ρ_pass of the magnitude of its samples' terms (M_k, `RunIntegrity.gradientScales`), not of
                    // the difference: where the difference is small against them (tied layers, tiny states) the rounding of
                    // the subtractions is allowed absolutely, ρ_chain·(M_k + M_{k+1}) (docs/theorems/LemmaChain.md, "L5.split")
                    // and each gradient's share of the residuals' absolute error (F_k, `gradientScales`' second part: the
                    // adjoint starts from r = Bh_L − y, whose rounding is relative to the outputs, not to r): at a loss near its
                    // floor it dominates (a user's faithful float64 run at ℓ ≈ 10⁻²⁶ was VIOLATED, 7.8·10⁻¹⁵ against 1.6·10⁻¹⁵),
                    // counted for the two evaluations, the measured side's and the bound's E_k
                    let scales, fromResidual = RunIntegrity.gradientScales run s
                    let rho = Rounding.chainRel run
                    for k0 in 0 .. pairs.Length - 1 do
                        let p = pairs.[k0]
                        amax <- max amax (jointCoefficient p.AWW p.AWV p.AVW)
                        let gw = Linalg.frobeniusDiff lw.GW.[k0 + 1] 0 lw.GW.[k0] 0 md
                        let gv = Linalg.frobeniusDiff lw.GV.[k0 + 1] 0 lw.GV.[k0] 0 md
                        let residual = 2.0 * (fromResidual.[k0] + fromResidual.[k0 + 1])
                        yield { Measured = sqrt (gw * gw + gv * gv); Bound = splitBound p + rho * (scales.[k0] + scales.[k0 + 1]) + residual
                                Where = sprintf "layers k = %d, %d" (k0 + 1) (k0 + 2); When = at run s } ]
            evaluation (Rounding.chainRel run) checks [ "a (max over pairs and snapshots)", amax ] [ Evaluation.AnyWeights ] }

/// The forcing bounds b_W,k, b_V,k of L5.forcing at snapshot s from the given pair quantities (exact layer
/// spectral norms from the snapshot).
let forcingBoundsOf (run: Run) (s: int) (pairs: Pair[]) =
    let sn = snapshotNorms run s
    let kap = kappas sn
    let fL = float run.Setting.Depth
    pairs |> Array.mapi (fun k0 p ->
        // layer k = k0 + 1 at index k0; layer k + 1 at index k0 + 1
        let wk, vk, kap1 = sn.WOp.[k0], sn.VOp.[k0], kap.[k0 + 1]
        let bV = kap1 * p.PF1 * p.SHatS + p.S1F * p.PS * wk * fL * p.DHF
        let bW = p.S2F * p.GHatInf * wk * fL * p.DHF * p.HS + p.D1Max * vk * kap1 * p.PF1 * p.HS + p.D1Max * vk * p.PF * fL * p.DHS
        bW, bV)

/// The forcing bounds of L5.forcing at snapshot s.
let forcingBounds (run: Run) (s: int) = forcingBoundsOf run s (atSnapshot run s)

/// (L5.forcing) L‖E^W_k‖ ≤ b_W,k and L‖E^V_k‖ ≤ b_V,k: the O(1/L) content of L5.
let forcing : Result<Run> =
    { Id = "L5.forcing"
      Title = "The state part E_k of consecutive layer gradients is O(1/L)"
      Source = "derived here (docs/theorems/LemmaChain.md, L5.forcing)"
      Provenance = ProvedHere
      Doc = lemmaDoc
      Statement =
        "L‖E^V_k‖_F ≤ b_V,k = κ_{k+1}‖P_{k+1}‖_F‖σ(W_kH_k)‖₂ + s1‖P_k‖₂‖W_k‖₂·L‖H_k − H_{k−1}‖_F and "
        + "L‖E^W_k‖_F ≤ b_W,k = s2·max|V_kᵀp_{k+1}|·‖W_k‖₂·L‖H_k − H_{k−1}‖_F‖H_k‖₂ + s1‖V_k‖₂κ_{k+1}‖P_{k+1}‖_F‖H_k‖₂ + s1‖V_k‖₂‖P_k‖_F·L‖H_k − H_{k−1}‖₂ "
        + "(L3 for p_{k+1} − p_k, L2 for h_k − h_{k−1}); hence L·max_k‖E_k‖ ≤ b = max_k (b_W,k² + b_V,k²)^{1/2}."
      Hypotheses = [ notDiverged; hasSnapshots; smoothSigma; LemmaChain.finitePass LemmaChain.mlp.Snapshot true ]
      Conclusion =
        fun run ->
            let fL = float run.Setting.Depth
            let mutable bmax, emax = 0.0, 0.0
            let checks =
                [ for s in 0 .. run.SnapshotCount - 1 do
                    let pairs = atSnapshot run s
                    let bs = forcingBounds run s
                    for k0 in 0 .. pairs.Length - 1 do
                        let p = pairs.[k0]
                        let bW, bV = bs.[k0]
                        bmax <- max bmax (sqrt (bW * bW + bV * bV))
                        emax <- max emax (fL * sqrt (p.EW * p.EW + p.EV * p.EV))
                        yield { Measured = fL * p.EW; Bound = bW; Where = sprintf "L‖E^W_k‖, k = %d" (k0 + 1); When = at run s }
                        yield { Measured = fL * p.EV; Bound = bV; Where = sprintf "L‖E^V_k‖, k = %d" (k0 + 1); When = at run s } ]
            evaluation (Rounding.chainRel run) checks [ "b (max over pairs and snapshots)", bmax; "L max_k |E_k| (max over snapshots)", emax ] [ Evaluation.AnyWeights ] }

// ---------------------------------------------------------------------------------------------------------
// Result A in split form, driven by the verifier's evidence replay (Replay.Segment, shared with E.replay).

/// Per-pair state of the recursion: the accumulated exact forcing D = Δ(t_s) − ηΣE (as matrices, computed: D̂), the bound r
/// on ‖Δ − D̂‖ (the bracket terms and the rounding of the sum D̂, `Rounding.axpyRounding`), and the plain Grönwall value
/// x; ‖Δ‖ ≤ u = min(x, ‖D̂‖ + r), W and V apart.
type private PairState =
    { DW: float[]; DV: float[]; mutable RW: float; mutable RV: float; mutable XW: float; mutable XV: float
      /// ‖DW‖, ‖DV‖ (Linalg.norm), kept up to date with DW and DV
      mutable NW: float; mutable NV: float }

let private increments (run: Run) (w: float[]) (v: float[]) =
    let md = run.Shape.LayerSize
    Array.init (run.Setting.Depth - 1) (fun k0 ->
        Array.init md (fun e -> w.[(k0 + 1) * md + e] - w.[k0 * md + e]),
        Array.init md (fun e -> v.[(k0 + 1) * md + e] - v.[k0 * md + e]))

let private startState (run: Run) (w: float[]) (v: float[]) =
    increments run w v |> Array.map (fun (dw, dv) ->
        let nw, nv = Linalg.norm dw, Linalg.norm dv
        { DW = dw; DV = dv; RW = 0.0; RV = 0.0; XW = nw; XV = nv; NW = nw; NV = nv })

let private uOf (st: PairState) = min st.XW (st.NW + st.RW), min st.XV (st.NV + st.RV)

/// The bound of each pair, (u_W² + u_V²)^{1/2}.
let private pairBounds (states: PairState[]) = states |> Array.map (fun st -> let uw, uv = uOf st in sqrt (uw * uw + uv * uv))

let private boundOf (states: PairState[]) = pairBounds states |> Comparison.maxKeepNaNOr 0.0

/// D ← D − ηE on four accumulated forcings at once, returning ‖D‖ of each result: the W and V parts of two recursions (a, b)
/// stepped with the same E^W (ew) and E^V (ev) at `offset`: each entry's x = d − ηe (a product, then a difference) and each
/// norm's squares summed in order from 0 with Linalg.norm's operations (then the square root), so each of the four results
/// has the bits of that update and norm done for one forcing alone (`UpdateSums.AxpyNorms4`: the products, differences
/// and squares four lanes at a time, the four sums independent chains in index order).
let axpyNorms (eta: float) (aw: float[]) (bw: float[]) (ew: float[]) (av: float[]) (bv: float[]) (ev: float[]) (offset: int) =
    let n = aw.Length
    if bw.Length <> n || av.Length <> n || bv.Length <> n || offset < 0 || ew.Length < offset + n || ev.Length < offset + n then
        invalidArg "offset" "axpyNorms: the four forcings must have one length and E must cover offset .. offset + length"
    let struct (naw, nbw, nav, nbv) =
        UpdateSums.AxpyNorms4(eta, Span aw, Span bw, ReadOnlySpan(ew, offset, n), Span av, Span bv, ReadOnlySpan(ev, offset, n))
    struct (naw, nbw, nav, nbv)

/// One gradient-descent step of pair k0 of the recursion with the quantities of iterate j (its pairs and E^W, E^V), all
/// but the accumulated forcings D (stepped for both recursions at once by `axpyNorms`).
let private stepPairScalars (eta: float) (pairs: Pair[]) (states: PairState[]) (k0: int) =
    let st = states.[k0]
    let p = pairs.[k0]
    let uw, uv = uOf st
    let bw = p.AWW * uw + p.AWV * uv
    let bv = p.AVW * uw
    st.XW <- uw + eta * (bw + p.EW)
    st.XV <- uv + eta * (bv + p.EV)
    st.RW <- st.RW + eta * bw
    st.RV <- st.RV + eta * bv

/// The rounding of each layer's stored update Z ← fl(Z − fl(ηG)) at one iterate, W and V apart (float64: the replay's update,
/// whatever the producer's precision; a float32 producer's own rounding is the snapshots' `SplitFamily.landingAllowance`), from the layers' and the gradients' norms (`Rounding.updateStoreRoundingAt`; docs/theorems/DepthSmoothness.md,
/// "Rounding of the stored update"), and the largest layer norms max_k ‖W_k‖, max_k ‖V_k‖ and gradient norm
/// max_k (‖G^W_k‖² + ‖G^V_k‖²)^{1/2} the centre's remainder reads (`SplitCentre.finish`). Every norm from one pass over each
/// layer's four arrays (`UpdateSums.LayerSquares`: each sum the bits of `FastKernels.SumSquares` at the engine's SIMD level
/// over the layer, the joint gradient norm's square ‖G^W_k‖² + ‖G^V_k‖² of two of them); the arrays are the run's,
/// allocated once.
type UpdateRounding(layers: int) =
    let sw, sv, sgw, sgv, sg = Array.zeroCreate<float> layers, Array.zeroCreate<float> layers, Array.zeroCreate<float> layers, Array.zeroCreate<float> layers, Array.zeroCreate<float> layers
    let rw, rv = Array.zeroCreate<float> layers, Array.zeroCreate<float> layers
    let mutable wMax, vMax, gMax = 0.0, 0.0, 0.0
    /// the rounding of layer k's stored update of W (index k) at the last `Compute`
    member _.RW = rw
    /// the same of V
    member _.RV = rv
    /// max_k ‖W_k‖_F at the last `Compute`
    member _.WMax = wMax
    /// max_k ‖V_k‖_F at the last `Compute`
    member _.VMax = vMax
    /// max_k (‖G^W_k‖² + ‖G^V_k‖²)^{1/2} at the last `Compute`
    member _.GMax = gMax
    /// Every output at weights W, V with gradient G^W, G^V (layer size md, `layers` layers) and step η.
    member _.Compute(eta: float, md: int, w: ReadOnlySpan<float>, v: ReadOnlySpan<float>, gw: ReadOnlySpan<float>, gv: ReadOnlySpan<float>) =
        if w.Length <> layers * md then invalidArg "w" "UpdateRounding: the weights do not hold the run's layers"
        UpdateSums.LayerSquares(ResOdeProofs.Numerics.Model.Simd.Level, w, v, gw, gv, md, Span sw, Span sv, Span sgw, Span sgv, Span sg)
        let u = Rounding.Float64UnitRoundoff
        let mutable bw, bv, bg = 0.0, 0.0, 0.0
        for k in 0 .. layers - 1 do
            rw.[k] <- Rounding.updateStoreRoundingAt u md (sqrt sw.[k]) (eta * sqrt sgw.[k])
            rv.[k] <- Rounding.updateStoreRoundingAt u md (sqrt sv.[k]) (eta * sqrt sgv.[k])
            bw <- max bw (sqrt sw.[k])
            bv <- max bv (sqrt sv.[k])
            bg <- max bg (sqrt sg.[k])
        wMax <- bw
        vMax <- bv
        gMax <- bg

/// One step of both recursions, pair by pair in parts (ObserverTeam.For: each pair's state is its own, so the numbers do not
/// depend on which thread stepped it). `store` is the rounding of each layer's stored update (`UpdateRounding`): an
/// increment of the updated weights differs from the exact recursion's by at most that of its two layers.
let private stepBoth (eta: float) (md: int) (it: Pair[] * float[] * float[]) (store: float[] * float[]) (a: PairState[]) (b: PairState[]) =
    let pairs, ewm, evm = it
    ObserverTeam.For(a.Length, ObserverTeam.PartBody(fun from until _ ->
        for k0 in from .. until - 1 do
            stepPairScalars eta pairs a k0
            stepPairScalars eta pairs b k0
            let sa, sb = a.[k0], b.[k0]
            let struct (naw, nbw, nav, nbv) = axpyNorms eta sa.DW sb.DW ewm sa.DV sb.DV evm (k0 * md)
            sa.NW <- naw
            sb.NW <- nbw
            sa.NV <- nav
            sb.NV <- nbv
            // the rounding of the signed sum D ← D − ηE (absolute: the terms have both signs), into the bound r on ‖Δ − D̂‖
            // (Rounding.axpyRounding; docs/theorems/DepthSmoothness.md, "Rounding of the accumulated forcing")
            let p = pairs.[k0]
            let stepW, stepV = eta * p.EW, eta * p.EV
            sa.RW <- sa.RW + Rounding.axpyRounding md naw stepW
            sb.RW <- sb.RW + Rounding.axpyRounding md nbw stepW
            sa.RV <- sa.RV + Rounding.axpyRounding md nav stepV
            sb.RV <- sb.RV + Rounding.axpyRounding md nbv stepV
            // the stored update's rounding of both layers: into r (the bound on ‖Δ − D̂‖) and into the plain value x
            let storeW, storeV = store
            let rw, rv = storeW.[k0] + storeW.[k0 + 1], storeV.[k0] + storeV.[k0 + 1]
            sa.RW <- sa.RW + rw
            sb.RW <- sb.RW + rw
            sa.XW <- sa.XW + rw
            sb.XW <- sb.XW + rw
            sa.RV <- sa.RV + rv
            sb.RV <- sb.RV + rv
            sa.XV <- sa.XV + rv
            sb.XV <- sb.XV + rv))

/// The bounds of A.split from t = 0 and restarted at every snapshot, at every iterate 0..Steps[last], from one replay.
type SplitBounds =
    { FromZero: float[]; Segments: float[]
      /// the bound of every pair (index k − 1 for the pair k, k + 1) at every snapshot s ≥ 1, from t = 0 and propagated from
      /// snapshot s − 1 (index s; entry 0 unused)
      FromZeroPairs: float[][]; SegmentPairs: float[][]
      /// max over segment ends of max|Z_replayed − Z_recorded| / max|Z_recorded|
      ReplayDrift: float
      AMax: float; LEMax: float; Seconds: float
      /// A.split.centre.segments: the bound ‖c_k‖ + ē_k at every iterate (max over pairs) and per pair at every snapshot
      /// s ≥ 1 (propagated from snapshot s − 1); empty when the activation is not GELU or the view left the centre out
      /// (`Run.WithoutCentre`)
      Centre: float[]; CentrePairs: float[][]; CentreSeconds: float
      /// A.split.centre.remainder: at every snapshot s ≥ 1 (index s; entry 0 None) the recorded increments against the centres
      /// propagated from snapshot s − 1; None where the centre was left out
      CentreBalls: SplitCentre.Ball option[]
      /// A.split.segments.remainder: at every snapshot s ≥ 1 (index s; entry 0 None) the recorded increments against the
      /// accumulated forcing D̂ of A.split.segments' recursion propagated from snapshot s − 1, radius (r_W² + r_V²)^{1/2} plus the
      /// rounding of D̂'s start, u‖Δ(t_s)‖
      SegmentBalls: SplitCentre.Ball option[]
      /// over every replayed iterate and pair: how many pair bounds A.split.segments gave (its bound the lower), and how many
      /// pair bounds in all
      CentrePairsSegments: float; CentrePairCount: float }

let private boundsCache = ConditionalWeakTable<Run, SplitBounds>()
/// The bounds of a replay whose observer left out the centre (`Run.WithoutCentre`): every field but the centre's.
let private boundsWithoutCentre = ConditionalWeakTable<Run, SplitBounds>()

/// The lower of two bounds of one quantity, where a NaN (a bound that could not be computed) gives way to the other (F#'s
/// `min` keeps a NaN on one side): the centre's and A.split.segments' bound of a pair, of an iterate, of a snapshot.
let private lowerOf (x: float) (y: float) = if Double.IsNaN x then y elif Double.IsNaN y then x else min x y

/// The recursion fed by the evidence replay (`Replay.Segment` through `Run.IterateObservers`): the callback of
/// segment s sees the weights of every iterate Steps[s] .. Steps[s + 1] (the recorded snapshot first, the replayed
/// weights at Steps[s + 1] last); the bounds are stored when the last segment ends. Nothing is read from the trace.
let private observeWith (withCentre: bool) (run: Run) : int -> IterateCallback option =
    let last = run.SnapshotCount - 1
    let n = run.Steps.[last]
    let eta, md, fL = run.Setting.Eta, run.Shape.LayerSize, float run.Setting.Depth
    let ctx = Context.ofRun run
    let fromZero, segs = Array.zeroCreate (n + 1), Array.zeroCreate (n + 1)
    let zeroPairs, segPairs = Array.create run.SnapshotCount [||], Array.create run.SnapshotCount [||]
    let zero = startState run (run.W 0) (run.V 0)
    let seg = ref (startState run (run.W 0) (run.V 0))
    let j0 = run.Steps.[0]
    fromZero.[j0] <- boundOf zero
    segs.[j0] <- boundOf seg.Value
    let drift, amax, lemax, seconds = ref 0.0, ref 0.0, ref 0.0, ref 0.0
    let w, v = Array.zeroCreate (run.W 0).Length, Array.zeroCreate (run.V 0).Length
    let buffers = Workspace ctx
    let centre = if withCentre then SplitCentre.create run else None
    let centreBound, centrePairs = Array.zeroCreate (n + 1), Array.create run.SnapshotCount [||]
    let centreSeconds = ref 0.0
    let centreBalls = Array.create run.SnapshotCount None
    // A.split.segments.remainder: the balls at the snapshots, and the norm of each pair's increment at the segment's start
    // (D̂ starts at fl(Δ), within u‖Δ‖ of it)
    let segBalls = Array.create run.SnapshotCount None
    let startNorms (states: PairState[]) = states |> Array.map (fun st -> sqrt (st.NW * st.NW + st.NV * st.NV))
    let segStart = ref (startNorms seg.Value)
    let pairsSegments, pairCount = ref 0.0, ref 0.0
    let store = UpdateRounding(run.Setting.Depth)
    // at the first snapshot every pair's A.split.segments bound is its recorded increment, the centre's that plus u‖c‖: the row
    // takes the lower, as at every later iterate
    centre |> Option.iter (fun c -> SplitCentre.start c (run.W 0) (run.V 0); centreBound.[j0] <- lowerOf (SplitCentre.bound c) segs.[j0]; SplitCentre.fuse c buffers.Pass)
    fun s ->
        if s >= last then None
        else
            let from, until = run.Steps.[s], run.Steps.[s + 1]
            Some <| IterateCallback(fun j ws vs gws gvs st ->
                let sw = Diagnostics.Stopwatch.StartNew()
                if j < until then
                    if s > 0 && j = from then
                        seg.Value <- startState run (run.W s) (run.V s)
                        segStart.Value <- startNorms seg.Value
                    // the centre restarts before the evaluation: its step is taken inside the split pass' pair loop
                    match centre with
                    | Some c when s > 0 && j = from -> SplitCentre.start c (run.W s) (run.V s)
                    | _ -> ()
                    let fusedTicks = match centre with Some c -> c.Pass.FusedTicks | None -> 0L
                    // the replay's gradient of this iterate is reused, and its states and adjoints when the engine kept them
                    let it = evaluateReplayed (buffers, ws, vs, gws, gvs, st)
                    let pairs, _, _ = it
                    for p in pairs do
                        amax.Value <- max amax.Value (jointCoefficient p.AWW p.AWV p.AVW)
                        lemax.Value <- max lemax.Value (fL * sqrt (p.EW * p.EW + p.EV * p.EV))
                    store.Compute(eta, md, ws, vs, gws, gvs)
                    stepBoth eta md it (store.RW, store.RV) zero seg.Value
                    fromZero.[j + 1] <- boundOf zero
                    // A.split.segments' bound of every pair, formed once: its maximum is the iterate's bound, the centre's row
                    // compares pair by pair with it, and the last iterate of a segment keeps it for the snapshot comparison
                    let segPairBounds = pairBounds seg.Value
                    segs.[j + 1] <- Comparison.maxKeepNaNOr 0.0 segPairBounds
                    match centre with
                    | Some c ->
                        let cw = Diagnostics.Stopwatch.StartNew()
                        SplitCentre.finish (c, store.WMax, store.VMax, store.GMax)
                        centreSeconds.Value <- centreSeconds.Value + float (c.Pass.FusedTicks - fusedTicks) / float Diagnostics.Stopwatch.Frequency
                        // the row's bound of each pair is the lower of the two, and its iterate bound the largest of those:
                        // max_k min(c_k, s_k) ≤ min(max_k c_k, max_k s_k)
                        let other = segPairBounds
                        let mutable best = 0.0
                        for i in 0 .. other.Length - 1 do
                            let ci, si = SplitCentre.pairBound c i, other.[i]
                            if Double.IsNaN ci || si < ci then pairsSegments.Value <- pairsSegments.Value + 1.0
                            let pair = lowerOf ci si
                            // a pair bound that could not be computed makes the iterate's bound NaN (as maxKeepNaN does)
                            best <- if Double.IsNaN pair || Double.IsNaN best then nan else max best pair
                        centreBound.[j + 1] <- best
                        pairCount.Value <- pairCount.Value + float other.Length
                        if j + 1 = until then
                            centrePairs.[s + 1] <- SplitCentre.pairBounds c
                            // the recorded snapshot s + 1 against the centres (the replayed weights arrive with the next call)
                            centreBalls.[s + 1] <- Some(SplitCentre.ball c (run.W (s + 1)) (run.V (s + 1)))
                        centreSeconds.Value <- centreSeconds.Value + cw.Elapsed.TotalSeconds
                    | None -> ()
                    if j + 1 = until then
                        zeroPairs.[s + 1] <- pairBounds zero
                        segPairs.[s + 1] <- segPairBounds
                        let st, u0, start = seg.Value, Rounding.Float64UnitRoundoff, segStart.Value
                        segBalls.[s + 1] <-
                            Some(SplitCentre.ballOfParts st.Length [ run.W (s + 1), md, (fun k0 -> st.[k0].DW, 0); run.V (s + 1), md, (fun k0 -> st.[k0].DV, 0) ]
                                     (fun k0 -> sqrt (st.[k0].RW * st.[k0].RW + st.[k0].RV * st.[k0].RV) + u0 * start.[k0]))
                else
                    // the end of the segment: the from-zero trajectory continues from the recorded snapshot s + 1;
                    // add the jump of each increment (after the bound at this iterate has been stored)
                    ws.CopyTo(Span w)
                    vs.CopyTo(Span v)
                    let recW, recV = run.W (s + 1), run.V (s + 1)
                    let scale = max 1e-300 (Array.fold (fun a x -> max a (abs x)) 0.0 recW)
                    for i in 0 .. recW.Length - 1 do
                        drift.Value <- max drift.Value (max (abs (recW.[i] - w.[i])) (abs (recV.[i] - v.[i])) / scale)
                    let rec' = increments run recW recV
                    let rep = increments run w v
                    zero |> Array.iteri (fun k0 st ->
                        let (rw, rv), (pw, pv) = rec'.[k0], rep.[k0]
                        let jw = Linalg.frobeniusDiff rw 0 pw 0 md
                        let jv = Linalg.frobeniusDiff rv 0 pv 0 md
                        st.RW <- st.RW + jw; st.XW <- st.XW + jw
                        st.RV <- st.RV + jv; st.XV <- st.XV + jv)
                seconds.Value <- seconds.Value + sw.Elapsed.TotalSeconds
                if j = until && s + 1 = last then
                    let cache = if withCentre then boundsCache else boundsWithoutCentre
                    cache.AddOrUpdate(run, { FromZero = fromZero; Segments = segs; FromZeroPairs = zeroPairs; SegmentPairs = segPairs
                                             ReplayDrift = drift.Value
                                             AMax = amax.Value; LEMax = lemax.Value; Seconds = seconds.Value
                                             Centre = (if centre.IsSome then centreBound else [||]); CentrePairs = centrePairs
                                             CentreSeconds = centreSeconds.Value; CentreBalls = centreBalls; SegmentBalls = segBalls
                                             CentrePairsSegments = pairsSegments.Value; CentrePairCount = pairCount.Value }))

/// The split observer of a view's replay: with the centre unless the view left it out (`Run.WithoutCentre`).
let private observe (run: Run) = observeWith run.CentreWanted run

/// The bounds of a run whose evidence replay is certified (the hypotheses say so): computed during that replay, or,
/// when the run was replayed before this result was registered, by one more pass of the same replay. With
/// `needCentre`, bounds whose observer left out the centre do not do: the replay then runs once more with it (the same
/// numbers in every other field).
let private boundsFor (needCentre: bool) (run: Run) : SplitBounds =
    run.Evidence |> ignore
    let cached =
        match boundsCache.TryGetValue run with
        | true, b -> Some b
        | _ when needCentre -> None
        | _ ->
            match boundsWithoutCentre.TryGetValue run with
            | true, b -> Some b
            | _ -> None
    match cached with
    | Some b -> b
    | None ->
        // the centre only when it is needed or the view wants it (a view without observers asked for A.split replays
        // without the centre unless the view keeps it)
        let withCentre = needCentre || run.CentreWanted
        let o = observeWith withCentre run
        Replay.Run(run.Data, Func<int, IterateCallback | null>(fun s -> match o s with Some c -> c | None -> null)) |> ignore
        match (if withCentre then boundsCache else boundsWithoutCentre).TryGetValue run with
        | true, b -> b
        | _ -> failwith "the replay stopped before the last snapshot although it was certified"

/// The bounds every split statement but the centre's reads (`boundsFor`).
let bounds (run: Run) : SplitBounds = boundsFor false run

/// The bounds A.split.centre.segments reads: with the centre (`boundsFor`).
let private boundsWithCentre (run: Run) : SplitBounds = boundsFor true run

let private plainGd = SplitFamily.hypPlainGd

let private twoSnapshotsFromZero =
    "snapshots at iteration 0 and later", fun (run: Run) ->
        if run.SnapshotCount >= 2 && run.Steps.[0] = 0 then Met(sprintf "%d snapshots from iteration 0" run.SnapshotCount)
        else NotMet "the replay needs a snapshot at iteration 0 and at least one later snapshot"

/// Work budget of the recursion's per-iterate evaluation, in units of n·m·d·L (one forward pass) times the number of
/// replayed iterates. On the engine's kernels (SplitPass) one iterate costs eight such GEMM passes against the
/// evidence replay's eighteen (three evaluations), four when the replay hands over its states and adjoints
/// (docs/performance.md), so the recursion adds at most half of the replay, which runs on every gradient-descent run
/// anyway; measured on the figure-2 setting (3.3·10^10 units) it took 27 CPU-seconds against the replay's 80 (2-core
/// AMD EPYC, loaded) before that hand-over. 10^11 covers figure 2 and figure 1 at L = 1024 (2.6·10^9); past it
/// the results report the hypothesis not met (the budget only bounds the check's cost, it never decides a verdict).
[<Literal>]
let WorkBudget = 1e11

/// The recursion's work on a run in the units of `WorkBudget`.
let work (run: Run) =
    let st = run.Setting
    let iterates = if run.SnapshotCount = 0 then 0 else run.Steps.[run.SnapshotCount - 1] - run.Steps.[0]
    float iterates * float st.Samples * float st.Width * float st.Dim * float st.Depth

let private withinBudget =
    "recursion within its work budget", fun (run: Run) ->
        let w = work run
        if w <= WorkBudget then Met(sprintf "recursion work %.3g ≤ %.3g (n·m·d·L × iterates)" w WorkBudget)
        else NotMet(sprintf "recursion work %.3g (n·m·d·L × iterates) exceeds the budget %.3g of the recursion: not evaluated" w WorkBudget)

/// The recursion runs on the evidence replay's weights from each recorded snapshot. Those weights stand for the
/// producer's iterates (a) where E.replay certifies the segment (the producer lies within E ≤ 1% of the weights), or
/// (b) where the producer is this engine's build with the recorded vector width and thread count (checked bit for bit by E.replay): the replay is then the producer's
/// own computation, bit for bit, and the next recorded snapshot is compared with the bound as it is (landing gap
/// allowed: 0). Otherwise (a foreign producer on a segment too long to certify) nothing links the replay to the
/// recorded numbers: widening the bound by the measured gap would make the comparison a triangle inequality on the
/// recorded snapshot, which no corruption of it can fail, so the results say hypothesis not met. A segment that is
/// covered but not reproduced is no hypothesis failure: the comparison with the next recorded snapshot is then the
/// check that must fail.
let private replayStandsForRun =
    "replay stands for the producer (E.replay certified, or bit-exact producer)", fun (run: Run) ->
        match run.Evidence, run.Uncertified with
        | None, _ -> NotMet "not replayed (the recursion needs plain gradient descent)"
        | Some e, _ when e.Segments |> Array.exists (fun s -> not s.Replay.Finite) ->
            // the recursion's per-iterate quantities end where the replay left the finite numbers: no bound from there on
            let s = e.Segments |> Array.find (fun s -> not s.Replay.Finite)
            NotMet(sprintf "the replay from snapshot %d left the finite numbers (iterations %d → %d; see E.replay)" s.Replay.Snapshot s.Replay.From s.Replay.To)
        | Some e, None ->
            // certified but not reproduced: met (the comparison with the recorded snapshots is the check that must fail), said
            // so, since the row's violation then has E.replay's cause
            let departs =
                match e.Segments |> Array.filter (fun s -> not s.Reproduced) with
                | [||] -> ""
                | bad ->
                    sprintf "; %d of them not reproduced (E.replay violated from snapshot %d: the recorded run is not the declared gradient descent, and this row, which compares the recorded snapshots with the bound that descent obeys, fails for the same cause)"
                        bad.Length bad.[0].Replay.Snapshot
            match Replay.BitExactClaim run.Data with
            | null ->
                Met(sprintf "%d segment(s) certified%s; each later snapshot compared within E.replay's landing allowance 2(E + u‖Z‖), at most %.3g (SplitFamily.landingAllowance)"
                        e.Segments.Length departs (SplitFamily.landingAllowanceMax run))
            | claim -> Met(sprintf "%s: the replay is the producer's computation, its %d segment(s) replayed without the rounding companions%s (landing gap allowed 0; see E.replay)" claim e.Segments.Length departs)
        | Some _, Some why ->
            match Replay.BitExactClaim run.Data with
            // the reason in the run's terms (`Replay.BitExactMismatch`): a float32 run names this build and still is not
            // replayed bit for bit, which "run.json does not name this engine build" misstated to a user
            | null -> NotMet(sprintf "%s; and the replay is not the producer's own computation: %s" why (Replay.BitExactMismatch run.Data))
            | claim -> Met(sprintf "%s: the replay is the producer's computation (landing gap allowed 0); E.replay: %s" claim why)

/// max over segments of ‖Z(recorded s + 1) − Z(replayed from s)‖_F and of max_k ‖Z_k(recorded) − Z_k(replayed)‖_F.
let landingGap (run: Run) =
    match run.Evidence with
    | None -> nan, nan
    | Some e ->
        let ends = e.Segments |> Array.filter (fun s -> s.Replay.Snapshot + 1 < run.SnapshotCount)
        if ends.Length = 0 then 0.0, 0.0
        else
            (ends |> Array.map (fun s -> s.Replay.EndDeviation) |> Comparison.maxKeepNaN),
            (ends |> Array.map (fun s -> s.Replay.EndWorstLayerDeviation) |> Comparison.maxKeepNaN)

/// A bound sequence of the recursion as the family's comparison reads it (SplitFamily.checksWithin): the verifier's
/// smooth_z column (when present) at every iterate, and each later snapshot pair by pair (A.split.pairs in
/// docs/theorems/DepthSmoothness.md). The iterate-0 bound of A.split is the snapshot's own increments and is not compared.
let private track (run: Run) (bound: float[]) (pairs: float[][]) : SplitFamily.Track =
    { Bound = bound
      Iterates = (match run.Trace "smooth_z" with Some sz -> [ for j in 1 .. min (bound.Length - 1) (sz.Length - 1) -> j, sz.[j] ] | None -> [])
      IterateLabel = "max_k ‖Z_{k+1} − Z_k‖_F (the verifier's smooth_z column: the replay)"
      PairBounds = Some pairs }

let private snapshotTightness (run: Run) (bound: float[]) (pairs: float[][]) =
    [ for s in 1 .. run.SnapshotCount - 1 do
        let j = run.Steps.[s]
        let m = run.DepthIncrement s
        // the bounds as compared: with the snapshot's landing allowance (0 when replayed bit for bit)
        let allow = SplitFamily.landingAllowance run s
        yield sprintf "tightness at snapshot %d (iteration %d), max over pairs" s j, (if m > 0.0 then (bound.[j] + allow) / m else infinity)
        if pairs.[s].Length > 0 then
            let worst = Array.map2 (fun b x -> if x > 0.0 then (b + allow) / x else infinity) pairs.[s] (SplitFamily.recordedIncrements run s) |> Comparison.maxKeepNaN
            yield sprintf "tightness at snapshot %d, worst pair" s, worst ]

/// The name under which the rows report `SplitFamily.landingAllowanceMax`.
let private landingAllowanceName = "landing allowance max_s 2(E_s + u|Z_s|) added to the snapshot bounds (0: replayed bit for bit)"

let private splitConstants (run: Run) (b: SplitBounds) =
    let gap, gapLayer = landingGap run
    [ "a (max over iterates and pairs)", b.AMax; "L max_k |E_k| (max over iterates)", b.LEMax
      "replay drift at snapshots (max relative)", b.ReplayDrift
      "landing gap max_s |Z(s+1) recorded - replayed| (all layers)", gap; "landing gap, worst layer", gapLayer
      landingAllowanceName, SplitFamily.landingAllowanceMax run
      "split recursion seconds", b.Seconds ]

/// The MLP's rows of the split form of result A (the statements: SplitFamily.fs).
let family : SplitFamily.Family =
    { Doc = aDoc; Which = ""
      Source = "paper §3 (finite training time), split form derived here (docs/theorems/DepthSmoothness.md, A.split)"
      Bracket = "per pair k and W/V part, with the coefficients a_WW, a_WV, a_VW of L5.split computed from the weights of iterate j"
      Replay = "the engine's evidence replay from the snapshots (E.replay)"
      Compared = "each pair's recorded increment at every later snapshot against that pair's bound" }

let private hypotheses = [ smoothSigma; plainGd; notDiverged; noFault; twoSnapshotsFromZero; withinBudget; whenOthersHold replayStandsForRun ]

/// (A.split) from t = 0.
let split : Result<Run> =
    SplitFamily.splitResult family hypotheses (fun run ->
        let b = bounds run
        SplitFamily.evaluate run b.AMax (track run b.FromZero b.FromZeroPairs) (splitConstants run b @ snapshotTightness run b.FromZero b.FromZeroPairs) [])

/// (A.split.segments) restarted at every snapshot.
let splitSegments : Result<Run> =
    SplitFamily.splitSegmentsResult family hypotheses (fun run ->
        let b = bounds run
        SplitFamily.evaluate run b.AMax (track run b.Segments b.SegmentPairs) (splitConstants run b @ snapshotTightness run b.Segments b.SegmentPairs) [])

/// (A.split.segments.remainder) the recursion's own ball: every recorded increment within r of the accumulated forcing D̂.
let splitSegmentsRemainder : Result<Run> =
    SplitFamily.splitSegmentsRemainderResult family hypotheses (fun run ->
        let b = bounds run
        let steps = b.Segments.Length - 1
        let rel = Rounding.recursionRelOwn run steps (run.Setting.Eta * float steps * b.AMax)
        SplitCentre.remainderEvaluation run rel SplitCentre.AccumulatedForcing (fun s -> b.SegmentBalls.[s]) [ landingAllowanceName, SplitFamily.landingAllowanceMax run ]
            "the accumulated forcing and its bracket bound are the verifier's own (the evidence replay's iterates); the measured side is the recorded snapshots' increments")

/// (A.split.centre.segments) the linearised centre with a certified remainder, restarted at every snapshot.
let centreSegments : Result<Run> =
  FlowRuns.gdOnly "A.flow.split.centre.segments"
    { Id = "A.split.centre.segments"
      Title = "Depth-smoothness during training, linearised centre with a certified remainder, restarted at each snapshot"
      Source = "paper §3 (finite training time), centre form derived here (docs/theorems/DepthSmoothness.md, A.split.centre.segments)"
      Provenance = ProvedHereEstimated "another producer's landing (E.replay's allowance); none on a bit-exact replay"
      Doc = aDoc
      Statement =
        "For plain gradient descent, Δ_k = Z_{k+1} − Z_k obeys Δ^{j+1} = (I − ηM̄^j)Δ^j − ηE^j exactly, M̄^j the Hessian of f(Z) = Σ_i p_{k+1}^{iᵀ}Vσ(Wh_k^i) "
        + "averaged over the segment Z_k → Z_{k+1} and E^j the exact state forcing; the centre c^{j+1} = c^j − η(E^j + M^Q^j c^j), M^Q the rule for M̄ "
        + "(computed: ∫σ'(u(t))dt by the endpoints' mean with two Euler–Maclaurin corrections, ∫σ''(u(t))q(t)dt by the midpoint Taylor form to δ⁵), "
        + "leaves e = Δ − c with e^{j+1} = (I − ηM̄^j)e^j − η(M̄^j − M^Q^j)c^j, so ‖e_W‖ ≤ ē_W, ‖e_V‖ ≤ ē_V with "
        + "ē_W ← ē_W + η(a_WW ē_W + a_WV ē_V + r_W), ē_V ← ē_V + η(a_WV ē_W + r_V) plus the rounding of the update and of the centre, "
        + "r the rule's error (sup|σ⁽⁷⁾|δ⁶/40 320, sup|σ⁽⁸⁾||q|δ⁶/322 560 + sup|σ⁽⁷⁾||dq||δ|⁵/53 760) with δ = ΔW_k h_k, dq = ΔV_kᵀp, for entries with |δ| < 1/16; the others take the exact integrals by divided differences, S₁ = (σ(u(1)) − σ(u(0)))/δ and S₂ = (q(1)σ'(u(1)) − q(0)σ'(u(0)))/δ − dq·S₁/δ, whose error is their rounding; hence ‖Δ_k‖ ≤ ((‖c_W‖ + ē_W)² + (‖c_V‖ + ē_V)²)^{1/2}; "
        + "the iterates are the engine's evidence replay from the snapshots (E.replay), restarted at the recorded increments of every snapshot "
        + "(c = Δ, ē = u‖Δ‖); compared with max_k ‖Δ_k‖ at every replayed iterate and each pair's recorded increment at every later snapshot "
        + "against that pair's bound propagated from the snapshot before; where A.split.segments' bound (an independent recursion) is lower, it is taken."
      Hypotheses = SplitCentre.hypGelu :: hypotheses
      Conclusion =
        fun run ->
            let b = boundsWithCentre run
            // A.split.segments' bounds come from a recursion that shares no estimate with the centre's, and both bound the
            // same increments: their minimum is a bound too (it can only make a comparison fail sooner). The centre is the
            // tighter one where the layers are smooth in depth; on independent layers (δ of order one) the rule's error,
            // of order δ⁶, makes A.split.segments the tighter one.
            let tighter (a: float[]) (c: float[]) = if a.Length = c.Length then Array.map2 lowerOf a c else a
            // the iterate bounds are already the largest pairwise minimum (`observe`); the snapshot pair bounds are the centre's
            // own and take the minimum here
            let iterates = b.Centre
            let pairs = Array.map2 tighter b.CentrePairs b.SegmentPairs
            SplitFamily.evaluate run b.AMax (track run iterates pairs)
                ([ landingAllowanceName, SplitFamily.landingAllowanceMax run
                   "centre recursion seconds", b.CentreSeconds
                   "pair bounds from A.split.segments (its bound the lower)", b.CentrePairsSegments
                   "pair bounds in all (pairs × replayed iterates)", b.CentrePairCount ]
                 @ snapshotTightness run iterates pairs) [] }

/// (A.split.centre.remainder) the remainder's own conclusion: every recorded increment lies in the ball of radius ē around
/// the centre propagated to its snapshot, not only within ‖c‖ + ē of 0.
let centreRemainder : Result<Run> =
  FlowRuns.gdOnly "A.flow.split.centre.remainder"
    { Id = "A.split.centre.remainder"
      Title = "Depth-smoothness during training, the recorded increments within the certified remainder of the linearised centre (restarted at each snapshot)"
      Source = "paper §3 (finite training time), centre form derived here (docs/theorems/DepthSmoothness.md, A.split.centre.remainder)"
      Provenance = ProvedHereEstimated "another producer's landing (E.replay's allowance); none on a bit-exact replay"
      Doc = aDoc
      Statement =
        "With the centre c and the remainder bounds ē_W, ē_V of A.split.centre.segments (the same recursion on the evidence replay, restarted at every snapshot), "
        + "e = Δ − c satisfies ‖e_W‖ ≤ ē_W and ‖e_V‖ ≤ ē_V at every iterate: every increment lies in the ball ‖Δ_k − c_k‖_F ≤ (ē_W² + ē_V²)^{1/2}, a conclusion "
        + "that sees a move of the increments in any direction, where ‖Δ_k‖ ≤ ‖c_k‖ + ē_k sees only a growth of their norms; compared at every snapshot s ≥ 1 "
        + "with each pair's recorded increment against the centre propagated from snapshot s − 1, the radius raised by twice the landing allowance of the "
        + "replay (0 when replayed bit for bit) and by the rounding of forming fl(fl(Z_{k+1} − Z_k) − c) and its norm."
      Hypotheses = SplitCentre.hypGelu :: hypotheses
      Conclusion =
        fun run ->
            let b = boundsWithCentre run
            let steps = b.Centre.Length - 1
            let rel = Rounding.recursionRelOwn run steps (run.Setting.Eta * float steps * b.AMax)
            SplitCentre.remainderEvaluation run rel SplitCentre.Centre (fun s -> b.CentreBalls.[s]) [ landingAllowanceName, SplitFamily.landingAllowanceMax run ]
                "the centre and its remainder bound are the verifier's own (the evidence replay's iterates); the measured side is the recorded snapshots' increments" }

// The recursion joins the evidence replay on the runs where its cheap hypotheses hold (the replay's own verdict is
// known only after the pass; the results check it).
do Run.IterateObservers.Add(fun run ->
    let cheap = [ smoothSigma; plainGd; notDiverged; noFault; twoSnapshotsFromZero; withinBudget ]
    if cheap |> List.forall (fun (_, h) -> match h run with Met _ -> true | _ -> false) then Some(observe run) else None)

/// The results of this file, for a registry.
let all : Result<Run> list = [ gradientDifferenceSplit; forcing; split; splitSegments; splitSegmentsRemainder; centreSegments; centreRemainder ]
