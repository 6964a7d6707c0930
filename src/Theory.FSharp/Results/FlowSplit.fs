/// Result A in split form along the gradient flow (docs/theorems/DepthSmoothness.md, "A.flow.split.segments"): the
/// exact-forcing recursion of A.split run on the verifier's own Runge–Kutta integration of the flow (E.flowReplay). An
/// accepted step of the explicit pair is Z_{n+1} = Z_n − hΣ_i b_i G(Y_i) with the stage states Y_i = Z_n − hΣ_l a_il G(Y_l),
/// so every increment obeys Δ_k(n + 1) = Δ_k(n) − hΣ_i b_i (G_{k+1} − G_k)(Y_i) exactly up to the update's rounding, and at
/// each stage state G_{k+1} − G_k = bracket + E_k (IterateSplit) with E_k computed and ‖bracket‖ ≤ a_k(Y_i)‖Δ_k(Y_i)‖. The
/// observer sees each stage the replay evaluates (`IFlowObserver`), evaluates the split pass there with the replay's own
/// field, and carries per pair D (the accumulated forcing, as matrices), r ≥ ‖Δ − D‖ and the plain value x; nothing of
/// the producer's trace is read. The stage states' increments are bounded through the stage formula (the plain value);
/// the bound at an output is max_k (u_W² + u_V²)^{1/2}, u = min(x, ‖D‖ + r), and it restarts at every snapshot.
module ResOdeProofs.Theory.FlowSplit

open System
open System.Runtime.CompilerServices
open ResOdeProofs.Numerics.Ode
open ResOdeProofs.Numerics.Verification
open ResOdeProofs.Theory
open ResOdeProofs.Theory.IterateSplit
open ResOdeProofs.Theory.Comparison
open ResOdeProofs.Theory.Hypotheses

let private doc = "docs/theorems/DepthSmoothness.md"

/// γ_n = nu/(1 − nu) in float64.
let private gamma (n: float) = let nu = n * Rounding.Float64UnitRoundoff in nu / (1.0 - nu)

/// What the observers found along the flow replay, per segment s (the integration from snapshot s to the next snapshot's
/// output, or to the last output). Each segment's entries are written by the observer of that segment only.
type FlowSplitBounds =
    { /// the bound on max_k ‖Δ_k‖ at the segment's outputs From..To (index from From; NaN where not reached)
      Bound: float[][]
      /// max_k ‖Δ_k‖ of the replayed state at the same outputs
      Measured: float[][]
      /// for a segment that ends at snapshot s + 1: the bound of each pair there (index k − 1); [||] otherwise
      EndPairs: float[][]
      /// for a segment that ends at snapshot s + 1 (index s): the recorded increments there against the accumulated forcing D̂
      /// (A.flow.split.segments.remainder); None otherwise
      EndBalls: SplitCentre.Ball option[]
      /// accepted steps, and Σ h·max a over them (the recursion's growth)
      Steps: int[]; Growth: float[]
      /// the largest joint bracket coefficient and L·max_k (‖E^W_k‖² + ‖E^V_k‖²)^{1/2} over every stage
      AMax: float[]; LEMax: float[]
      /// why a segment's bound is not valid (None when it is)
      Failure: string option[]
      /// seconds the observer spent, per segment
      Seconds: float[]
      /// the linearised centre (σ = GELU; else empty): the bound per output, the lower of the centre's ‖c‖ + ē and the split
      /// recursion's per pair, and per pair at a segment's end
      CentreBound: float[][]
      CentreEndPairs: float[][]
      /// for a segment that ends at snapshot s + 1 (index s): the recorded increments there against the centres
      /// (A.flow.split.centre.remainder); None otherwise or without the centre
      CentreEndBalls: SplitCentre.Ball option[]
      /// over every output and pair: how many pair bounds the plain recursion gave (its bound the lower), and how many in all
      CentrePlain: int[]; CentrePairs: int[]
      /// whether the observers computed the centre (σ = GELU and the view wanted it, `Run.CentreWanted`)
      WithCentre: bool
      /// an exception an observer raised (by the first segment it observes; `GuardedFlowObserver`): the rows that read
      /// these bounds raise it again (an error row), the integration went on without that observer
      Error: exn option[] }

/// One stage's quantities: the state, E^W, E^V of every pair with their norms and bracket coefficients, and the layer
/// gradients' norms ‖Ĝ^W_k‖, ‖Ĝ^V_k‖ of the replay's field there.
type private Slot(pairs: int, md: int, layers: int, n: int) =
    member val Y : float[] = Array.zeroCreate n
    member val EW : float[] = Array.zeroCreate (pairs * md)
    member val EV : float[] = Array.zeroCreate (pairs * md)
    member val NEW : float[] = Array.zeroCreate pairs
    member val NEV : float[] = Array.zeroCreate pairs
    member val AWW : float[] = Array.zeroCreate pairs
    member val AWV : float[] = Array.zeroCreate pairs
    member val AVW : float[] = Array.zeroCreate pairs
    member val GW : float[] = Array.zeroCreate layers
    member val GV : float[] = Array.zeroCreate layers
    member val A = 0.0 with get, set
    // the centre at this stage (when there is one): f = fl(E + M̂c) per pair and entry, and per pair the rule's error, the
    // bracket coefficients of M̄, the roundings of M̂c and of the gradients, ‖f‖ and ‖c‖ (CentrePass)
    member val FW : float[] = Array.zeroCreate (pairs * md)
    member val FV : float[] = Array.zeroCreate (pairs * md)
    member val CRW : float[] = Array.zeroCreate pairs
    member val CRV : float[] = Array.zeroCreate pairs
    member val CAWW : float[] = Array.zeroCreate pairs
    member val CAWV : float[] = Array.zeroCreate pairs
    member val CMW : float[] = Array.zeroCreate pairs
    member val CMV : float[] = Array.zeroCreate pairs
    member val CGW : float[] = Array.zeroCreate pairs
    member val CGV : float[] = Array.zeroCreate pairs
    member val CFW : float[] = Array.zeroCreate pairs
    member val CFV : float[] = Array.zeroCreate pairs
    member val CNW : float[] = Array.zeroCreate pairs
    member val CNV : float[] = Array.zeroCreate pairs

/// The observer of one integration: segments first..last (the certified path: one segment; the bit-exact path: all).
type private Observer(run: Run, b: FlowSplitBounds, first: int, last: int) =
    let L, md = run.Setting.Depth, run.Shape.LayerSize
    let total = L * md
    let pairs = L - 1
    let u = Rounding.Float64UnitRoundoff
    let ws = Workspace(Context.ofRun run)
    let slots = Collections.Generic.List<Slot>()
    let slot i =
        while slots.Count <= i do slots.Add(Slot(pairs, md, L, 2 * total))
        slots.[i]
    let w, v, gw, gv = Array.zeroCreate total, Array.zeroCreate total, Array.zeroCreate total, Array.zeroCreate total
    // the recursion per pair (index k − 1): D (W, V parts), r, x and ‖D‖
    let dW, dV = Array.zeroCreate (pairs * md), Array.zeroCreate (pairs * md)
    let rW, rV, xW, xV, nW, nV = Array.zeroCreate pairs, Array.zeroCreate pairs, Array.zeroCreate pairs, Array.zeroCreate pairs, Array.zeroCreate pairs, Array.zeroCreate pairs
    // ‖Δ‖ of each pair at the restart (D̂ starts at fl(Δ), within u‖Δ‖ of it)
    let startNorm = Array.zeroCreate pairs
    // the layers' norms at the step's start state
    let zW, zV = Array.zeroCreate L, Array.zeroCreate L
    let mutable current = -1
    let sw = Diagnostics.Stopwatch()
    // the linearised centre (GELU only): c_n per pair (W, V parts), its remainder bounds ē_n, the stage values
    let centre =
        if b.WithCentre then
            Some(CentrePass(run.Shape, ResOdeProofs.Numerics.ActivationKind.Gelu, run.Data.Data.Count))
        else None
    let tableau = ButcherTableau.DormandPrince54
    let cnW, cnV = Array.zeroCreate (pairs * md), Array.zeroCreate (pairs * md)
    let ncW, ncV, ebW, ebV = Array.zeroCreate pairs, Array.zeroCreate pairs, Array.zeroCreate pairs, Array.zeroCreate pairs
    let inflate = Rounding.normInflation run
    /// out = c_n − h·fl(Σ_{l<count, c_l ≠ 0} c_l f_l) for every pair and entry, the terms in order from 0 (the same
    /// operations for a stage and for the step, so that FSAL's last stage and the next step's centre are the same bits)
    let combine (coef: float[]) (count: int) (h: float) (outW: float[]) (outV: float[]) =
        // per entry, Σ_l coef_l·f_l from +0 in increasing l (terms with coef_l = 0 skipped), then c_n − h·Σ; whole vectors of
        // entries in lanes (each lane the entry's own products and sums, in the same order: the scalar loop's bits), the
        // entries after the last whole vector one by one
        let n = pairs * md
        let lanes = Numerics.Vector<float>.Count
        let hv = Numerics.Vector<float>(h)
        let mutable e = 0
        while e + lanes <= n do
            let mutable aw = Numerics.Vector<float>.Zero
            let mutable av = Numerics.Vector<float>.Zero
            for l in 0 .. count - 1 do
                let c = coef.[l]
                if c <> 0.0 then
                    let cv = Numerics.Vector<float>(c)
                    aw <- aw + cv * Numerics.Vector<float>(slots.[l].FW, e)
                    av <- av + cv * Numerics.Vector<float>(slots.[l].FV, e)
            (Numerics.Vector<float>(cnW, e) - hv * aw).CopyTo(outW, e)
            (Numerics.Vector<float>(cnV, e) - hv * av).CopyTo(outV, e)
            e <- e + lanes
        while e < n do
            let mutable accW, accV = 0.0, 0.0
            for l in 0 .. count - 1 do
                if coef.[l] <> 0.0 then
                    accW <- accW + coef.[l] * slots.[l].FW.[e]
                    accV <- accV + coef.[l] * slots.[l].FV.[e]
            outW.[e] <- cnW.[e] - h * accW
            outV.[e] <- cnV.[e] - h * accV
            e <- e + 1
    let layerNorm (a: float[]) k = Linalg.frobenius a (k * md) md
    let layerNorms (y: ReadOnlySpan<float>) =
        y.Slice(0, total).CopyTo(Span w)
        y.Slice(total, total).CopyTo(Span v)
        for k in 0 .. L - 1 do
            zW.[k] <- layerNorm w k
            zV.[k] <- layerNorm v k
    let uOf i = struct (min xW.[i] (nW.[i] + rW.[i]), min xV.[i] (nV.[i] + rV.[i]))
    let pairBound i = let struct (a, c) = uOf i in sqrt (a * a + c * c)
    /// the centre's bound of pair i, ((‖c_W‖ + ē_W)² + (‖c_V‖ + ē_V)²)^{1/2}
    let centreBound i = let a, c = ncW.[i] + ebW.[i], ncV.[i] + ebV.[i] in sqrt (a * a + c * c)
    let lowerOf (x: float) (y: float) = if Double.IsNaN x then y elif Double.IsNaN y then x else min x y
    /// the centre's bound of every pair taken with the plain recursion's (the lower of two bounds of one increment), the
    /// largest over pairs, and how many pairs the plain one gave
    let centreNow () =
        let mutable best, plain = 0.0, 0
        for i in 0 .. pairs - 1 do
            let c, q = centreBound i, pairBound i
            if Double.IsNaN c || q < c then plain <- plain + 1
            let x = lowerOf c q
            best <- if Double.IsNaN x || Double.IsNaN best then nan else max best x
        best, plain
    let boundNow () =
        let mutable best = 0.0
        for i in 0 .. pairs - 1 do
            let p = pairBound i
            best <- if Double.IsNaN p || Double.IsNaN best then nan else max best p
        best
    /// max_k ‖Z_{k+1} − Z_k‖_F (W and V jointly) of a state
    let measuredOf (y: ReadOnlySpan<float>) =
        y.Slice(0, total).CopyTo(Span w)
        y.Slice(total, total).CopyTo(Span v)
        let mutable best = 0.0
        for k0 in 0 .. pairs - 1 do
            let a = Linalg.frobeniusDiff w ((k0 + 1) * md) w (k0 * md) md
            let c = Linalg.frobeniusDiff v ((k0 + 1) * md) v (k0 * md) md
            best <- max best (sqrt (a * a + c * c))
        best
    let restart (y: ReadOnlySpan<float>) =
        y.Slice(0, total).CopyTo(Span w)
        y.Slice(total, total).CopyTo(Span v)
        for k0 in 0 .. pairs - 1 do
            for e in 0 .. md - 1 do
                dW.[k0 * md + e] <- w.[(k0 + 1) * md + e] - w.[k0 * md + e]
                dV.[k0 * md + e] <- v.[(k0 + 1) * md + e] - v.[k0 * md + e]
            nW.[k0] <- Linalg.frobenius dW (k0 * md) md
            nV.[k0] <- Linalg.frobenius dV (k0 * md) md
            xW.[k0] <- nW.[k0]
            xV.[k0] <- nV.[k0]
            rW.[k0] <- 0.0
            rV.[k0] <- 0.0
            startNorm.[k0] <- sqrt (nW.[k0] * nW.[k0] + nV.[k0] * nV.[k0])
            if centre.IsSome then
                // the centre starts at the increments, ē at the subtraction's rounding u‖c‖ (as SplitCentre.start)
                Array.blit dW (k0 * md) cnW (k0 * md) md
                Array.blit dV (k0 * md) cnV (k0 * md) md
                ncW.[k0] <- nW.[k0]
                ncV.[k0] <- nV.[k0]
                ebW.[k0] <- u * nW.[k0]
                ebV.[k0] <- u * nV.[k0]
                // the test hook's start off the increments (`Run.WithCentreStartOffset`), as the descent's centre takes it
                match SplitCentre.startOffsets run pairs md with
                | None -> ()
                | Some (ow, ov) ->
                    SplitCentre.offsetPart u inflate md ow cnW ncW ebW k0
                    SplitCentre.offsetPart u inflate md ov cnV ncV ebV k0
    /// the states the field's last evaluation kept (`IFlowObserver.Evaluated`), else null
    let mutable lastKept : obj | null = null
    /// true once a stage has been evaluated in this integration (the split pass then holds the states of the last one)
    let mutable evaluated = false
    /// f = fl(E + M̂c) and its error terms at the centre now in cp.CW, cp.CV, with the split pass' last evaluation (the state
    /// of slot `sl`, whose weights are in w, v): one step of the centre with η = 0 (the centre stays, its derivative is written)
    let centreAt (cp: CentrePass) (sl: Slot) =
        for p in 0 .. pairs - 1 do
            cp.NormCW.[p] <- Linalg.frobenius cp.CW (p * md) md
            cp.NormCV.[p] <- Linalg.frobenius cp.CV (p * md) md
        cp.DerivativeW <- sl.FW
        cp.DerivativeV <- sl.FV
        cp.Step(0.0, ws.Pass, ReadOnlySpan w, ReadOnlySpan v)
        for p in 0 .. pairs - 1 do
            sl.CRW.[p] <- cp.RW.[p]; sl.CRV.[p] <- cp.RV.[p]
            sl.CAWW.[p] <- cp.AWW.[p]; sl.CAWV.[p] <- cp.AWV.[p]
            sl.CMW.[p] <- cp.RoundMW.[p]; sl.CMV.[p] <- cp.RoundMV.[p]
            sl.CGW.[p] <- cp.RoundGW.[p]; sl.CGV.[p] <- cp.RoundGV.[p]
            sl.CFW.[p] <- cp.StepW.[p]; sl.CFV.[p] <- cp.StepV.[p]
            sl.CNW.[p] <- cp.NormCW.[p]; sl.CNV.[p] <- cp.NormCV.[p]
    let fail (why: string) = if current >= 0 && b.Failure.[current].IsNone then b.Failure.[current] <- Some why
    // the stage bounds of every pair, reused from step to step
    let stageW, stageV = Collections.Generic.List<float>(), Collections.Generic.List<float>()
    // per row of the tableau (index i = 1..s − 1: A's rows, s: b), the rounding of forming each layer's state (W, V parts)
    let rhoW, rhoV = Collections.Generic.List<float[]>(), Collections.Generic.List<float[]>()

    interface IFlowObserver with
        member _.Stage(i, _t, h, y, field) =
            sw.Start()
            let sl = slot i
            y.CopyTo(Span sl.Y)
            y.Slice(0, total).CopyTo(Span w)
            y.Slice(total, total).CopyTo(Span v)
            for j in 0 .. total - 1 do
                gw.[j] <- -field.[j]
                gv.[j] <- -field.[total + j]
            // the split pass at the stage state with the replay's own field there as the layer gradients, and the states
            // and adjoints the field's evaluation kept when it kept them (else the pass computes its own: the same numbers)
            let mutable stats = ResOdeProofs.Numerics.Model.EvaluationStats()
            stats.Kept <- lastKept
            let qs, ewm, evm = evaluateReplayed (ws, ReadOnlySpan w, ReadOnlySpan v, ReadOnlySpan gw, ReadOnlySpan gv, stats)
            Array.blit ewm 0 sl.EW 0 (pairs * md)
            Array.blit evm 0 sl.EV 0 (pairs * md)
            let mutable a = 0.0
            for p in 0 .. pairs - 1 do
                let q = qs.[p]
                sl.NEW.[p] <- q.EW
                sl.NEV.[p] <- q.EV
                sl.AWW.[p] <- q.AWW
                sl.AWV.[p] <- q.AWV
                sl.AVW.[p] <- q.AVW
                a <- max a (LemmaChain.jointCoefficient q.AWW q.AWV q.AVW)
                if current >= 0 then b.LEMax.[current] <- max b.LEMax.[current] (float L * sqrt (q.EW * q.EW + q.EV * q.EV))
            sl.A <- a
            for k in 0 .. L - 1 do
                sl.GW.[k] <- layerNorm gw k
                sl.GV.[k] <- layerNorm gv k
            if i = 0 then layerNorms y
            if current >= 0 then b.AMax.[current] <- max b.AMax.[current] a
            match centre with
            | Some cp ->
                // the stage's centre c_i = c_n − h·fl(Σ_{l<i} a_il f_l), then f_i = fl(E + M̂c_i) with its error terms: one
                // step of the centre with η = 0 at this stage's split pass (the centre stays, its derivative is written)
                if i = 0 then
                    Array.blit cnW 0 cp.CW 0 (pairs * md)
                    Array.blit cnV 0 cp.CV 0 (pairs * md)
                else combine tableau.A.[i] i h cp.CW cp.CV
                centreAt cp sl
            | None -> ()
            evaluated <- true
            sw.Stop()

        member _.Accepted(_t, h, tab, yNew) =
            sw.Start()
            let s = tab.Stages
            let gs = gamma (float s)
            // the rounding of one layer's state y + h·fl(Σ_l c_l k_l) with weights c (a row of A, or b), W and V parts: the
            // store and the product (`Rounding.updateStoreRoundingAt`) and the sum of the s terms (γ_s·hΣ|c_l|‖Ĝ_k(Y_l)‖)
            // formed once per step for every layer k: row i of A (i = 1..s − 1) and b (index s), W parts in rhoW, V in rhoV
            while rhoW.Count <= s do rhoW.Add(Array.zeroCreate L); rhoV.Add(Array.zeroCreate L)
            for i in 1 .. s do
                let c, upTo = (if i < s then tab.A.[i] else tab.B), (if i < s then i else s)
                let rw, rv = rhoW.[i], rhoV.[i]
                for k in 0 .. L - 1 do
                    let mutable stW, stV = 0.0, 0.0
                    for l in 0 .. upTo - 1 do
                        if c.[l] <> 0.0 then
                            stW <- stW + abs c.[l] * slots.[l].GW.[k]
                            stV <- stV + abs c.[l] * slots.[l].GV.[k]
                    let stW, stV = h * stW, h * stV
                    rw.[k] <- Rounding.updateStoreRoundingAt u md zW.[k] stW + gs * stW
                    rv.[k] <- Rounding.updateStoreRoundingAt u md zV.[k] stV + gs * stV
            // the rounding of forming pair p's increment at row i: that of its two layers
            let pairRoundW i p = rhoW.[i].[p] + rhoW.[i].[p + 1]
            let pairRoundV i p = rhoV.[i].[p] + rhoV.[i].[p + 1]
            let bb = tab.B
            let mutable growth = 0.0
            for l in 0 .. s - 1 do growth <- max growth slots.[l].A
            if current >= 0 then
                b.Growth.[current] <- b.Growth.[current] + h * growth
                b.Steps.[current] <- b.Steps.[current] + 1
            while stageW.Count < s do stageW.Add 0.0; stageV.Add 0.0
            for p in 0 .. pairs - 1 do
                let struct (uw0, uv0) = uOf p
                stageW.[0] <- uw0
                stageV.[0] <- uv0
                // the stage states' increments: Δ(Y_i) = Δ(n) − hΣ_l a_il(E_l + bracket_l), plus the stage state's rounding
                for i in 1 .. s - 1 do
                    let a = tab.A.[i]
                    let mutable accW, accV = 0.0, 0.0
                    for l in 0 .. i - 1 do
                        if a.[l] <> 0.0 then
                            let sl = slots.[l]
                            let bw = sl.AWW.[p] * stageW.[l] + sl.AWV.[p] * stageV.[l]
                            let bv = sl.AVW.[p] * stageW.[l]
                            accW <- accW + abs a.[l] * (bw + sl.NEW.[p])
                            accV <- accV + abs a.[l] * (bv + sl.NEV.[p])
                    stageW.[i] <- uw0 + h * accW + pairRoundW i p
                    stageV.[i] <- uv0 + h * accV + pairRoundV i p
                // the step: the bracket terms into r and x, the exact forcing into D
                let mutable brW, brV, eW, eV = 0.0, 0.0, 0.0, 0.0
                for i in 0 .. s - 1 do
                    if bb.[i] <> 0.0 then
                        let sl = slots.[i]
                        let c = abs bb.[i]
                        brW <- brW + c * (sl.AWW.[p] * stageW.[i] + sl.AWV.[p] * stageV.[i])
                        brV <- brV + c * (sl.AVW.[p] * stageW.[i])
                        eW <- eW + c * sl.NEW.[p]
                        eV <- eV + c * sl.NEV.[p]
                let o = p * md
                for e in 0 .. md - 1 do
                    let mutable accW, accV = 0.0, 0.0
                    for i in 0 .. s - 1 do
                        if bb.[i] <> 0.0 then
                            accW <- accW + bb.[i] * slots.[i].EW.[o + e]
                            accV <- accV + bb.[i] * slots.[i].EV.[o + e]
                    dW.[o + e] <- dW.[o + e] - h * accW
                    dV.[o + e] <- dV.[o + e] - h * accV
                nW.[p] <- Linalg.frobenius dW o md
                nV.[p] <- Linalg.frobenius dV o md
                // the rounding of D ← D − h·fl(Σ b_i E_i) (`Rounding.axpyRounding` with the sum's own γ_s) and of the replay's
                // stored update of the pair's two layers
                let sumW, sumV = h * eW, h * eV
                let dRoundW = Rounding.axpyRounding md nW.[p] sumW + gs * sumW
                let dRoundV = Rounding.axpyRounding md nV.[p] sumV + gs * sumV
                let sW, sV = pairRoundW s p, pairRoundV s p
                rW.[p] <- rW.[p] + h * brW + dRoundW + sW
                rV.[p] <- rV.[p] + h * brV + dRoundV + sV
                xW.[p] <- uw0 + h * (brW + eW) + sW
                xV.[p] <- uv0 + h * (brV + eV) + sV
            match centre with
            | Some _ ->
                if not (Object.ReferenceEquals(tab, tableau)) then fail "the integration's pair is not the centre's Dormand–Prince 5(4)"
                // the remainder e = Δ − c at the stages and after the step: e_i = e_n − hΣ a_il (M̄_l e_l + (M̄_l − M^Q_l)c_l
                // + (M^Q_l c_l − M̂_l c_l) + (E_l + M̂_l c_l − f_l) + ε_l), ε_l the gradients' rounding; plus the replay's
                // rounding of the state (both layers of the pair) and the centre's own of forming c (u‖c‖, the sum of s
                // terms and the product by h)
                let incW (sl: Slot) p (eW: float) (eV: float) = sl.CAWW.[p] * eW + sl.CAWV.[p] * eV + sl.CRW.[p] + sl.CMW.[p] + sl.CGW.[p] + u * sl.CFW.[p]
                let incV (sl: Slot) p (eW: float) = sl.CAWV.[p] * eW + sl.CRV.[p] + sl.CMV.[p] + sl.CGV.[p] + u * sl.CFV.[p]
                combine bb s h cnW cnV
                for p in 0 .. pairs - 1 do
                    ncW.[p] <- Linalg.frobenius cnW (p * md) md
                    ncV.[p] <- Linalg.frobenius cnV (p * md) md
                    let e0W, e0V = ebW.[p], ebV.[p]
                    stageW.[0] <- e0W
                    stageV.[0] <- e0V
                    // row i of A (i < s) or b (i = s): ē at that stage, or after the step, into stageW/V.[i] (ebW/V for the step)
                    for i in 1 .. s do
                        let c, upTo = (if i < s then tab.A.[i] else bb), (if i < s then i else s)
                        let normW, normV = (if i < s then slots.[i].CNW.[p] else ncW.[p]), (if i < s then slots.[i].CNV.[p] else ncV.[p])
                        let mutable accW, accV, fW, fV = 0.0, 0.0, 0.0, 0.0
                        for l in 0 .. upTo - 1 do
                            if c.[l] <> 0.0 then
                                let sl = slots.[l]
                                accW <- accW + abs c.[l] * incW sl p stageW.[l] stageV.[l]
                                accV <- accV + abs c.[l] * incV sl p stageW.[l]
                                fW <- fW + abs c.[l] * sl.CFW.[p]
                                fV <- fV + abs c.[l] * sl.CFV.[p]
                        let kW = u * normW + (gs + u) * (1.0 + u) * h * fW
                        let kV = u * normV + (gs + u) * (1.0 + u) * h * fV
                        let a = e0W * (1.0 + 4.0 * u) + (h * accW + pairRoundW i p + kW) * inflate
                        let v = e0V * (1.0 + 4.0 * u) + (h * accV + pairRoundV i p + kV) * inflate
                        if i < s then
                            stageW.[i] <- a
                            stageV.[i] <- v
                        else
                            ebW.[p] <- a
                            ebV.[p] <- v
            | None -> ()
            // FSAL: the last stage is the next step's first; its state must be the accepted one for the stage bound u(n + 1)
            if tab.Fsal then
                let last = slots.[s - 1]
                if not (MemoryExtensions.SequenceEqual(yNew, ReadOnlySpan<float>(last.Y))) then
                    fail "the pair's last stage state differs from the accepted state (FSAL): the next step's first stage is not bounded by the recursion"
                if centre.IsSome then
                    // the last stage's centre (its f is the next step's first) must be the step's centre c_{n+1}
                    match centre with
                    | Some cp when not (MemoryExtensions.SequenceEqual(ReadOnlySpan<float>(cp.CW), ReadOnlySpan<float>(cnW)) && MemoryExtensions.SequenceEqual(ReadOnlySpan<float>(cp.CV), ReadOnlySpan<float>(cnV))) ->
                        fail "the centre of the pair's last stage differs from the step's centre (FSAL)"
                    | _ -> ()
                slots.[s - 1] <- slots.[0]
                slots.[0] <- last
            layerNorms yNew
            sw.Stop()

        member _.Evaluated(kept) = lastKept <- kept

        member _.Output(j, y) =
            sw.Start()
            let snap = Array.IndexOf(run.Steps, j)
            let measured = measuredOf y
            if current >= 0 then
                let i = j - run.Steps.[current]
                if i >= 0 && i < b.Bound.[current].Length then
                    b.Bound.[current].[i] <- boundNow ()
                    b.Measured.[current].[i] <- measured
                    if centre.IsSome then
                        let c, plain = centreNow ()
                        b.CentreBound.[current].[i] <- c
                        b.CentrePlain.[current] <- b.CentrePlain.[current] + plain
                        b.CentrePairs.[current] <- b.CentrePairs.[current] + pairs
                if snap = current + 1 then
                    b.EndPairs.[current] <- Array.init pairs pairBound
                    b.EndBalls.[current] <-
                        Some(SplitCentre.ballOfParts pairs [ run.W snap, md, (fun k0 -> dW, k0 * md); run.V snap, md, (fun k0 -> dV, k0 * md) ]
                                 (fun k0 -> sqrt (rW.[k0] * rW.[k0] + rV.[k0] * rV.[k0]) + u * startNorm.[k0]))
                    if centre.IsSome then
                        b.CentreEndPairs.[current] <- Array.init pairs (fun i -> lowerOf (centreBound i) (pairBound i))
                        b.CentreEndBalls.[current] <- Some(SplitCentre.ballAt md (run.W snap) (run.V snap) cnW cnV ebW ebV)
            let ended = current
            if snap >= first && snap <= last then
                restart y
                current <- snap
                // mid-integration (the bit-exact path's later snapshots): the next step's first stage was evaluated with the
                // centre before the restart; its f is taken again at the restarted centre, on the split pass' last
                // evaluation, which is that stage's (the accepted state)
                match centre with
                | Some cp when evaluated ->
                    let sl = slots.[0]
                    if not (MemoryExtensions.SequenceEqual(y, ReadOnlySpan<float>(sl.Y))) then
                        fail "the first stage after a snapshot is not at the snapshot's state"
                    y.Slice(0, total).CopyTo(Span w)
                    y.Slice(total, total).CopyTo(Span v)
                    Array.blit cnW 0 cp.CW 0 (pairs * md)
                    Array.blit cnV 0 cp.CV 0 (pairs * md)
                    centreAt cp sl
                | _ -> ()
                b.Bound.[snap].[0] <- boundNow ()
                b.Measured.[snap].[0] <- measured
                if centre.IsSome then b.CentreBound.[snap].[0] <- fst (centreNow ())
            elif snap = current + 1 then current <- -1
            // the time since the last output is the segment's that ran it
            sw.Stop()
            if ended >= 0 then b.Seconds.[ended] <- b.Seconds.[ended] + sw.Elapsed.TotalSeconds
            sw.Reset()

/// Empty bounds for the run's segments, with or without the centre.
let private create (run: Run) (withCentre: bool) : FlowSplitBounds =
    let n = run.SnapshotCount
    let outputs = run.Losses.Length
    let len s = (if s + 1 < n then run.Steps.[s + 1] else outputs - 1) - run.Steps.[s] + 1
    { Bound = Array.init n (fun s -> Array.create (max 1 (len s)) nan)
      Measured = Array.init n (fun s -> Array.create (max 1 (len s)) nan)
      EndPairs = Array.create n [||]
      EndBalls = Array.create n None
      Steps = Array.zeroCreate n; Growth = Array.zeroCreate n
      AMax = Array.zeroCreate n; LEMax = Array.zeroCreate n
      Failure = Array.create n None; Seconds = Array.zeroCreate n
      CentreBound = Array.init n (fun s -> Array.create (max 1 (len s)) nan)
      CentreEndPairs = Array.create n [||]
      CentreEndBalls = Array.create n None
      CentrePlain = Array.zeroCreate n; CentrePairs = Array.zeroCreate n
      WithCentre = withCentre && run.Setting.Activation = ResOdeProofs.Numerics.ActivationKind.Gelu
      Error = Array.create n None }

/// The bounds and the factory of the observers that fill them (s = −1: one observer of every segment).
let private observers (run: Run) (withCentre: bool) : FlowSplitBounds * (int -> IFlowObserver option) =
    let b = create run withCentre
    let last = run.SnapshotCount - 1
    let guarded first (o: IFlowObserver) = GuardedFlowObserver(o, fun e -> b.Error.[first] <- Some e) :> IFlowObserver
    b, fun s -> Some(if s < 0 then guarded 0 (Observer(run, b, 0, last)) else guarded s (Observer(run, b, s, s)))

let private cache = ConditionalWeakTable<Run, FlowSplitBounds>()

/// The bounds along the run's flow replay: filled by the observer during the replay E.flowReplay reads, or, when the
/// replay ran without it (or without the centre and `needCentre`), by one more integration (the same numbers).
let private boundsFor (needCentre: bool) (run: Run) : FlowSplitBounds =
    // never an integration of a flow the replay does not integrate (E.flowReplay's hypotheses, a clip, a σ that is not smooth)
    match run.FlowReplayUnmet with
    | Some why -> raise (MissingInput(sprintf "no flow replay: %s" why))
    | None -> ()
    if run.Setting.Optimizer <> "gf" || not run.Setting.S2.IsSome then
        raise (MissingInput "the split recursion follows the plain flow of a smooth σ")
    run.FlowEvidence |> ignore
    let gelu = run.Setting.Activation = ResOdeProofs.Numerics.ActivationKind.Gelu
    let b =
        match cache.TryGetValue run with
        | true, b when run.FlowObserversFed > 0 && (b.WithCentre || not needCentre || not gelu) -> b
        | _ ->
            let b, f = observers run true
            FlowReplay.Run(run.Data, Func<int, IFlowObserver | null>(fun s -> match f s with Some o -> o | None -> null)) |> ignore
            cache.AddOrUpdate(run, b)
            b
    // an observer that failed: its rows are errors (the exception as raised), never a verdict on partial bounds
    match b.Error |> Array.tryPick id with
    | Some e -> Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e).Throw(); b
    | None -> b

/// The bounds A.flow.split.segments reads (with or without the centre).
let bounds (run: Run) = boundsFor false run

let private plainGf : string * (Run -> HypothesisCheck) =
    "plain gradient flow", fun run ->
        match run.Setting.Optimizer with
        | "gf" -> Met "gf"
        | o -> NotMet(sprintf "optimizer %s: the recursion follows the field −G (a clip changes it)" o)

let private flowReplayed : string * (Run -> HypothesisCheck) =
    "the verifier integrates the flow (E.flowReplay)", fun run ->
        match run.FlowReplayUnmet with
        | None -> Met "every segment integrated"
        | Some why -> NotMet why

let private stagesSeenWith (needCentre: bool) : string * (Run -> HypothesisCheck) =
    "every stage of the accepted steps seen by the recursion", fun run ->
      if run.FlowReplayUnmet.IsSome || run.Setting.Optimizer <> "gf" || run.Setting.S2.IsNone then
        NotMet "not evaluated: the recursion runs only on a flow the verifier integrates (the hypotheses above)"
      else
        let b = boundsFor needCentre run
        match b.Failure |> Array.tryFindIndex Option.isSome with
        | Some s -> NotMet(sprintf "segment from snapshot %d: %s" s b.Failure.[s].Value)
        | None -> Met(sprintf "%d accepted steps" (Array.sum b.Steps))

let private checks (run: Run) (b: FlowSplitBounds) (bound: float[][]) (endPairs: float[][]) : Check seq =
    seq {
        for s in 0 .. run.SnapshotCount - 1 do
            let from = run.Steps.[s]
            for i in 1 .. bound.[s].Length - 1 ->
                { Measured = b.Measured.[s].[i]; Bound = bound.[s].[i]
                  Where = sprintf "max_k ‖Z_{k+1} − Z_k‖_F (the verifier's flow from snapshot %d)" s
                  When = sprintf "output %d (t = %g)" (from + i) (FlowRuns.time run (from + i)) }
        // the recorded snapshots, pair by pair, within twice the flow replay's weight tolerance (SplitFamily.landingAllowance)
        for s in 1 .. run.SnapshotCount - 1 do yield! SplitFamily.snapshotPairChecks run s endPairs.[s - 1]
    }

/// (A.flow.split.segments) the split recursion along the verifier's integration of the flow, restarted at every snapshot.
let flowSplitSegments : Result<Run> =
  let hyps = [ smoothSigma; plainGf; notDiverged; noFault; initialSnapshot; flowReplayed; stagesSeenWith false ]
  FlowRuns.flowOnly "A.split.segments"
    { Id = "A.flow.split.segments"
      Title = "Depth-smoothness along the gradient flow, exact state forcing at every stage (restarted at each snapshot)"
      Source = "paper §3 (finite training time, gradient flow), constants derived here (docs/theorems/DepthSmoothness.md)"
      Provenance = ProvedHereEstimated "another producer's integration error (E.flowReplay's tolerance); none on a bit-exact replay"
      Doc = doc
      Statement =
        "For the gradient flow dZ/dt = −G integrated by the verifier's explicit Runge–Kutta pair (E.flowReplay), an accepted step Z_{n+1} = Z_n − hΣ_i b_i G(Y_i) "
        + "with stage states Y_i = Z_n − hΣ_l a_il G(Y_l) gives Δ_k(n + 1) = Δ_k(n) − hΣ_i b_i (E_k + bracket)(Y_i), E_k the exact state forcing and ‖bracket‖ ≤ a_k(Y_i)‖Δ_k(Y_i)‖ "
        + "(the coefficients of L5.split at each stage state); so ‖Δ_k‖ ≤ u = min(x, ‖D‖ + r) at every accepted step with D ← D − hΣ b_i E_k(Y_i) (exact matrices), "
        + "r ← r + hΣ|b_i| a_i u_i, x ← u + hΣ|b_i|(a_i u_i + ‖E_k(Y_i)‖) and the stage bounds u_i = u + hΣ_l |a_il|(a_l u_l + ‖E_k(Y_l)‖), W and V parts apart, "
        + "plus the rounding of the update, the stage states and the sum D; restarted at every snapshot at its increments; compared with max_k ‖Δ_k‖ of the replayed state at every output "
        + "and each pair's recorded increment at every later snapshot against that pair's bound propagated from the snapshot before, raised by twice the flow replay's weight tolerance there."
      Hypotheses = hyps
      Conclusion =
        fun run ->
            let b = bounds run
            (
                let steps = Array.sum b.Steps
                let growth = Array.max b.Growth
                let stages = ButcherTableau.DormandPrince54.Stages
                let rel = Rounding.recursionRelOwn run (stages * steps) growth
                let e = evaluation rel (checks run b b.Bound b.EndPairs) [] []
                let allowMax = SplitFamily.landingAllowanceMax run
                { e with
                    Constants =
                        [ "accepted steps observed", float steps
                          "a (max over stage states)", Comparison.maxKeepNaN b.AMax
                          "L max_k |E_k| (max over stage states)", Comparison.maxKeepNaN b.LEMax
                          "growth max_s sum h a (per segment)", growth
                          "landing allowance max_s 2 |Z_producer - Z_replay|_F", allowMax
                          "observer seconds", Array.sum b.Seconds ]
                    Notes = [ "the bound and the measured side both read the verifier's integration (E.flowReplay), never the producer's trace; the recorded snapshots are compared pair by pair" ] }) }

// The observer joins the flow replay on the runs where its cheap hypotheses hold.
do Run.FlowObservers.Add(fun run ->
    let cheap = [ smoothSigma; plainGf; notDiverged; noFault; initialSnapshot ]
    if FlowRuns.isFlow run && run.IsMlp && cheap |> List.forall (fun (_, h) -> match h run with Met _ -> true | _ -> false) then
        let b, f = observers run run.CentreWanted
        cache.AddOrUpdate(run, b)
        Some f
    else None)

/// The accepted steps the observers saw and the relative allowance of a recursion over their stages (the rows after
/// A.flow.split.segments).
let private stagesRel (run: Run) (b: FlowSplitBounds) =
    let steps = Array.sum b.Steps
    steps, Rounding.recursionRelOwn run (ButcherTableau.DormandPrince54.Stages * steps) (Array.max b.Growth)

/// A ball row along the flow (A.flow.split.segments.remainder, A.flow.split.centre.remainder): the balls a segment ends with
/// (`ballsOf`, index s − 1 for snapshot s) compared at every snapshot, with the stages' allowance; the bounds with the centre
/// when `needCentre`.
let private ballRow (id: string) (gdVersion: string) (title: string) (statement: string) hyps (needCentre: bool) (around: SplitCentre.BallAround)
                    (ballsOf: FlowSplitBounds -> SplitCentre.Ball option[]) (note: string) : Result<Run> =
  FlowRuns.flowOnly gdVersion
    { Id = id; Title = title
      Source = "paper §3 (finite training time, gradient flow), constants derived here (docs/theorems/DepthSmoothness.md)"
      Provenance = ProvedHereEstimated "another producer's integration error (E.flowReplay's tolerance); none on a bit-exact replay"; Doc = doc; Statement = statement; Hypotheses = hyps
      Conclusion =
        fun run ->
            let b = boundsFor needCentre run
            let steps, rel = stagesRel run b
            let balls = ballsOf b
            SplitCentre.remainderEvaluation run rel around (fun s -> balls.[s - 1])
                [ "accepted steps observed", float steps
                  "landing allowance max_s 2 |Z_producer - Z_replay|_F", SplitFamily.landingAllowanceMax run ]
                note }

/// (A.flow.split.segments.remainder) the plain recursion's ball along the flow: every recorded increment within r of D̂.
let flowSplitSegmentsRemainder : Result<Run> =
    ballRow "A.flow.split.segments.remainder" "A.split.segments.remainder"
        "Depth-smoothness along the gradient flow, the recorded increments within the bracket's bound of the accumulated forcing (restarted at each snapshot)"
        ("The recursion of A.flow.split.segments has Δ_k = D_k − Σ_steps hΣ_i b_i(bracket)(Y_i) exactly up to the roundings it carries in r, D the accumulated exact forcing, "
         + "so every increment lies in the ball ‖Δ_k − D̂_k‖ ≤ (r_W² + r_V²)^{1/2} + u‖Δ_k(t_s)‖ (D̂'s start); compared at every snapshot s ≥ 1 with each pair's recorded increment "
         + "against D̂ propagated from snapshot s − 1, the radius raised by twice the flow replay's weight tolerance there and by the rounding of forming fl(fl(Z_{k+1} − Z_k) − D̂) and its norm.")
        [ smoothSigma; plainGf; notDiverged; noFault; initialSnapshot; flowReplayed; stagesSeenWith false ] false SplitCentre.AccumulatedForcing (fun b -> b.EndBalls)
        "the accumulated forcing and its bracket bound are the verifier's own (its integration of the flow, E.flowReplay); the measured side is the recorded snapshots' increments"

/// (A.flow.split.centre.segments) the linearised centre of the split recursion along the verifier's integration, with its
/// certified remainder, restarted at every snapshot; where the plain recursion's bound of a pair is lower, it is taken.
let flowCentreSegments : Result<Run> =
  let hyps = [ SplitCentre.hypGelu; plainGf; notDiverged; noFault; initialSnapshot; flowReplayed; stagesSeenWith true ]
  FlowRuns.flowOnly "A.split.centre.segments"
    { Id = "A.flow.split.centre.segments"
      Title = "Depth-smoothness along the gradient flow, linearised centre with a certified remainder at every stage (restarted at each snapshot)"
      Source = "paper §3 (finite training time, gradient flow), constants derived here (docs/theorems/DepthSmoothness.md)"
      Provenance = ProvedHereEstimated "another producer's integration error (E.flowReplay's tolerance); none on a bit-exact replay"
      Doc = doc
      Statement =
        "For the gradient flow integrated by the verifier's explicit Runge–Kutta pair (E.flowReplay), the increments obey Δ_k(Y_i) = Δ_k(n) − hΣ_l a_il(E_l + M̄_lΔ_k(Y_l)) and "
        + "Δ_k(n + 1) = Δ_k(n) − hΣ_i b_i(E_i + M̄_iΔ_k(Y_i)) exactly up to rounding, M̄ the Hessian of f(Z) = Σ_i p_{k+1}^{iᵀ}Vσ(Wh_k^i) averaged over Z_k → Z_{k+1} at each stage state; "
        + "the centre follows the same stages with the rule M^Q of A.split.centre.segments, c_i = c_n − hΣ_l a_il(E_l + M^Q_l c_l), c_{n+1} = c_n − hΣ_i b_i(E_i + M^Q_i c_i), "
        + "so e = Δ − c obeys e_i = e_n − hΣ a_il(M̄_l e_l + (M̄_l − M^Q_l)c_l) and ‖e_W‖ ≤ ē_W, ‖e_V‖ ≤ ē_V with ē_i = ē_n + hΣ|a_il|(a_WW ē_W,l + a_WV ē_V,l + r_W,l) (W part; V: a_WV ē_W,l + r_V,l), "
        + "r the rule's error, plus the rounding of M̂c, of the gradients, of the replay's states and of the centre; hence ‖Δ_k‖ ≤ ((‖c_W‖ + ē_W)² + (‖c_V‖ + ē_V)²)^{1/2}, "
        + "the lower of that and A.flow.split.segments' bound of the pair taken; restarted at every snapshot (c = Δ, ē = u‖Δ‖); compared as A.flow.split.segments."
      Hypotheses = hyps
      Conclusion =
        fun run ->
            let b = boundsFor true run
            let steps, rel = stagesRel run b
            let e = evaluation rel (checks run b b.CentreBound b.CentreEndPairs) [] []
            let allowMax = SplitFamily.landingAllowanceMax run
            { e with
                Constants =
                    [ "accepted steps observed", float steps
                      "landing allowance max_s 2 |Z_producer - Z_replay|_F", allowMax
                      "pair bounds from A.flow.split.segments (its bound the lower)", float (Array.sum b.CentrePlain)
                      "pair bounds in all (pairs × outputs)", float (Array.sum b.CentrePairs)
                      "observer (with the plain recursion) seconds", Array.sum b.Seconds ]
                Notes = [ "the bound and the measured side both read the verifier's integration (E.flowReplay), never the producer's trace; the recorded snapshots are compared pair by pair" ] } }

/// (A.flow.split.centre.remainder) the remainder's own conclusion along the flow: every recorded increment lies in the ball
/// of radius ē around the centre propagated to its snapshot.
let flowCentreRemainder : Result<Run> =
    ballRow "A.flow.split.centre.remainder" "A.split.centre.remainder"
        "Depth-smoothness along the gradient flow, the recorded increments within the certified remainder of the linearised centre (restarted at each snapshot)"
        ("With the centre c and the remainder bounds ē_W, ē_V of A.flow.split.centre.segments (the same stages of the verifier's integration, restarted at every snapshot), "
         + "every increment lies in the ball ‖Δ_k − c_k‖_F ≤ (ē_W² + ē_V²)^{1/2}; compared at every snapshot s ≥ 1 with each pair's recorded increment against the centre "
         + "propagated from snapshot s − 1, the radius raised by twice the flow replay's weight tolerance there and by the rounding of forming fl(fl(Z_{k+1} − Z_k) − c) and its norm.")
        [ SplitCentre.hypGelu; plainGf; notDiverged; noFault; initialSnapshot; flowReplayed; stagesSeenWith true ] true SplitCentre.Centre (fun b -> b.CentreEndBalls)
        "the centre and its remainder bound are the verifier's own (its integration of the flow, E.flowReplay); the measured side is the recorded snapshots' increments"

/// The results of this file, for a registry.
let all : Result<Run> list = [ flowSplitSegments; flowSplitSegmentsRemainder; flowCentreSegments; flowCentreRemainder ]
