/// The linearised centre of the split recursion with a certified remainder (docs/theorems/DepthSmoothness.md,
/// "A.split.centre.segments"): per pair k, Δ_k = c_k + e_k where the centre c_k follows the linearised step (the rule of CentrePass)
/// c ← c − η(E_k + M^Q_k c) exactly as computed (`CentrePass`), and the remainder obeys
///   e^{j+1} = (I − ηM̄^j)e^j − η(M̄^j − M^Q^j)c^j + (rounding of the replay's update) − (rounding of the centre's step),
/// so ‖e_W‖, ‖e_V‖ are bounded by ē_W, ē_V with
///   ē_W ← ē_W + η(a_WW ē_W + a_WV ē_V + r_W) + ρ_W + κ_W,   ē_V ← ē_V + η(a_WV ē_W + r_V) + ρ_V + κ_V,
/// r the rule's certified error, ρ the rounding of storing the replay's update (Rounding.storeAllowance) and κ the
/// centre's own rounding with the rounding ε of the gradients the recursion compares (derived from the unit roundoff and
/// the operations done, CentrePass.RoundMW/RoundGW); the bound of pair k is ((‖c_W‖ + ē_W)² + (‖c_V‖ + ē_V)²)^{1/2}. Run by the recursion of
/// A.split (SplitResults.observe) on the evidence replay's iterates, from the states of the same split pass.
module ResOdeProofs.Theory.SplitCentre

open System
open ResOdeProofs.Numerics
open ResOdeProofs.Numerics.Model
open ResOdeProofs.Numerics.Verification
open ResOdeProofs.Theory
open ResOdeProofs.Theory.Comparison

/// σ = GELU: the constants of the rule's error (sup|σ⁽⁷⁾|, sup|σ⁽⁸⁾|) are GELU's.
let hypGelu : string * (Run -> HypothesisCheck) =
    "σ = GELU (the centre's remainder constants)", fun run ->
        match run.Setting.Activation with
        | ActivationKind.Gelu -> Met(sprintf "gelu, sup|σ⁽⁷⁾| ≤ %g, sup|σ⁽⁸⁾| ≤ %g" CentrePass.GeluSup7 CentrePass.GeluSup8)
        | a -> NotMet(sprintf "%s: the remainder of the centre uses sup|σ⁽⁷⁾|, sup|σ⁽⁸⁾|, derived here for GELU only" (Activations.Name a))

/// The centres of every pair and the remainder bounds ē_W, ē_V (index k − 1).
type State =
    { Pass: CentrePass; EW: float[]; EV: float[]
      Eta: float; Depth: int; LayerSize: int; U: float; Inflate: float; Run: Run }

/// A centre for the run, None when σ is not GELU.
let create (run: Run) : State option =
    if run.Setting.Activation <> ActivationKind.Gelu then None
    else
        let sh = run.Shape
        let pairs = max 0 (sh.Depth - 1)
        Some { Pass = CentrePass(sh, ActivationKind.Gelu, run.Data.Data.Count)
               EW = Array.zeroCreate pairs; EV = Array.zeroCreate pairs
               Eta = run.Setting.Eta; Depth = sh.Depth; LayerSize = sh.LayerSize
               U = Rounding.unitRoundoff run; Inflate = Rounding.normInflation run; Run = run }

/// The view's start offsets of the centre (`Run.WithCentreStartOffset`, a test hook) for `pairs` pairs of `md` entries, their
/// lengths checked; None without the hook (the verifier's centre starts at the increments).
let startOffsets (run: Run) (pairs: int) (md: int) =
    match run.CentreStartOffset with
    | Some (ow, ov) when ow.Length <> pairs * md || ov.Length <> pairs * md ->
        invalidArg "offset" (sprintf "the centre's start offsets have %d and %d entries, expected (L − 1)·m·d = %d" ow.Length ov.Length (pairs * md))
    | offsets -> offsets

/// One part of pair i started off its increment by the hook's offset o (entries i·md …): the centre c (in cs, its computed
/// norm in norms.[i]) becomes ĉ = fl(c + o), norms.[i] its norm, and the remainder's bound e.[i] the distance that leaves
/// from the increment Δ, ‖Δ − ĉ‖ ≤ ‖o‖ + u‖c‖ + u‖ĉ‖ (each entry of c within u|c| of Δ's, each of ĉ within u|ĉ| of c + o),
/// raised by the norms' rounding (`inflate`, `Rounding.normInflation`). The descent's start (`start`) and the flow's
/// (`FlowSplit`) both take it.
let offsetPart (u: float) (inflate: float) (md: int) (o: float[]) (cs: float[]) (norms: float[]) (e: float[]) (i: int) =
    for j in i * md .. i * md + md - 1 do cs.[j] <- cs.[j] + o.[j]
    let before = norms.[i]
    norms.[i] <- Linalg.frobenius cs (i * md) md
    e.[i] <- (Linalg.frobenius o (i * md) md + u * before + u * norms.[i]) * inflate

/// Restarts every centre at the increments of weights W, V; ē starts at the rounding of the subtraction, u‖c‖ (with the
/// view's start offsets, `offsetPart`).
let start (c: State) (w: float[]) (v: float[]) =
    c.Pass.Start(ReadOnlySpan w, ReadOnlySpan v)
    for i in 0 .. c.EW.Length - 1 do
        c.EW.[i] <- c.U * c.Pass.NormCW.[i]
        c.EV.[i] <- c.U * c.Pass.NormCV.[i]
    match startOffsets c.Run c.EW.Length c.LayerSize with
    | None -> ()
    | Some (ow, ov) ->
        for i in 0 .. c.EW.Length - 1 do
            offsetPart c.U c.Inflate c.LayerSize ow c.Pass.CW c.Pass.NormCW c.EW i
            offsetPart c.U c.Inflate c.LayerSize ov c.Pass.CV c.Pass.NormCV c.EV i

/// The remainder bounds' part of a gradient-descent step at weights W, V with gradient G, once the centres' step has been
/// taken inside the split pass' evaluation of that iterate (`fuse`; the same numbers as `CentrePass.Step` after it), from
/// max_k ‖W_k‖_F (wMax), max_k ‖V_k‖_F (vMax) and max_k (‖G^W_k‖² + ‖G^V_k‖²)^{1/2} (gMax) at that iterate, as the split
/// recursion's one pass over the weights and the gradient computes them (`SplitResults.UpdateRounding`).
let finish (c: State, wMax: float, vMax: float, gMax: float) =
    let cp = c.Pass
    let eta, u, inflate = c.Eta, c.U, c.Inflate
    let stepMax = eta * gMax
    // the replay's update: Z^{j+1} = fl(Z^j − ηĜ^j) with the gradient Ĝ the engine computed, ‖Z^{j+1}_k‖ ≤ ‖Z^j_k‖ + η‖Ĝ_k‖;
    // the gradient's own rounding is in ε (CentrePass.RoundGW, RoundGV), not here
    let rhoW, rhoV =
        Rounding.storeAllowance c.Run (wMax + stepMax) (vMax + stepMax) stepMax
    for i in 0 .. c.EW.Length - 1 do
        let aww, awv = cp.AWW.[i], cp.AWV.[i]
        // the centre's rounding: storing c (u‖c^{j+1}‖), the sum E + M̂c and the product by η (2u·η‖E + M̂c‖ with a
        // factor 1 + u), the computed M̂c against the exact rule's M^Q c (η·RoundM); the gradients' rounding ε (η·RoundG)
        let kW = u * cp.NormCW.[i] + 2.0 * (1.0 + u) * u * eta * cp.StepW.[i] + eta * cp.RoundMW.[i] + eta * cp.RoundGW.[i]
        let kV = u * cp.NormCV.[i] + 2.0 * (1.0 + u) * u * eta * cp.StepV.[i] + eta * cp.RoundMV.[i] + eta * cp.RoundGV.[i]
        let ew, ev = c.EW.[i], c.EV.[i]
        // each step's increase raised by the rounding of the computed norms and of these sums (Rounding.normInflation),
        // the carried ē by (1 + 4u)
        c.EW.[i] <- ew * (1.0 + 4.0 * u) + (eta * (aww * ew + awv * ev + cp.RW.[i]) + rhoW + kW) * inflate
        c.EV.[i] <- ev * (1.0 + 4.0 * u) + (eta * (awv * ew + cp.RV.[i]) + rhoV + kV) * inflate

/// Makes every later evaluation of `pass` also take the centre's step inside its pair loop (SplitPass.FusedCentre): pair
/// k's step right after pair k's split quantities, on the products still in the pair's buffers; the same numbers as
/// `CentrePass.Step` after the evaluation. `finish` then completes the step.
let fuse (c: State) (pass: SplitPass) =
    pass.FusedCentre <- c.Pass
    pass.FusedEta <- c.Eta

/// The bound of pair k (index i = k − 1), ((‖c_W‖ + ē_W)² + (‖c_V‖ + ē_V)²)^{1/2}.
let pairBound (c: State) i =
    let bw = c.Pass.NormCW.[i] + c.EW.[i]
    let bv = c.Pass.NormCV.[i] + c.EV.[i]
    sqrt (bw * bw + bv * bv)

/// The bound of every pair.
let pairBounds (c: State) = Array.init c.EW.Length (pairBound c)

/// max over pairs of the pair bounds (per iterate: no array).
let bound (c: State) =
    let mutable best = 0.0
    for i in 0 .. c.EW.Length - 1 do best <- max best (pairBound c i)
    best

/// The remainder's ball at one snapshot (A.split.centre.remainder, A.flow.split.centre.remainder): per pair (index k − 1)
/// the recorded increment's distance from the centre propagated to that snapshot, ‖(Z_{k+1} − Z_k) − c_k‖_F as computed,
/// the remainder bound (ē_W² + ē_V²)^{1/2} there, and the recorded increment's norm ‖Z_{k+1} − Z_k‖_F as computed (the
/// comparison's rounding reads it).
type Ball = { Distance: float[]; Radius: float[]; Increment: float[] }

/// What a ball is around: the linearised centre c_k of the centre rows, or the accumulated forcing D̂_k of the plain split
/// recursion (A.split.segments.remainder and its flow form).
type BallAround =
    | Centre
    | AccumulatedForcing
    member a.Name = match a with Centre -> "centre" | AccumulatedForcing -> "accumulated forcing"
    member a.Symbol = match a with Centre -> "c_k" | AccumulatedForcing -> "D̂_k"

/// The ball of every pair from the layers of one or more parameter arrays and a centre per pair: each part (z, size, centreOf)
/// holds L layers of `size` entries, and `centreOf k0` gives the array and offset of pair k0's centre for that part. Every
/// difference formed in float64 as fl(fl(z_{k+1} − z_k) − c), the squares summed in order (part by part); the radius of
/// pair k0 is `radius k0`.
let ballOfParts (pairs: int) (parts: (float[] * int * (int -> float[] * int)) list) (radius: int -> float) : Ball =
    let dist, rad, inc = Array.zeroCreate pairs, Array.zeroCreate pairs, Array.zeroCreate pairs
    for k0 in 0 .. pairs - 1 do
        let mutable sd = 0.0
        let mutable si = 0.0
        for (z, size, centreOf) in parts do
            let c, co = centreOf k0
            let o, o1 = k0 * size, (k0 + 1) * size
            for e in 0 .. size - 1 do
                let a = z.[o1 + e] - z.[o + e]
                let b = a - c.[co + e]
                sd <- sd + b * b
                si <- si + a * a
        dist.[k0] <- sqrt sd
        inc.[k0] <- sqrt si
        rad.[k0] <- radius k0
    { Distance = dist; Radius = rad; Increment = inc }

/// The ball of every pair from snapshot weights W, V (L·m·d each, the recorded ones) and the centres cW, cV with their
/// remainder bounds eW, eV (radius (ē_W² + ē_V²)^{1/2}).
let ballAt (md: int) (w: float[]) (v: float[]) (cW: float[]) (cV: float[]) (eW: float[]) (eV: float[]) : Ball =
    ballOfParts eW.Length [ w, md, (fun k0 -> cW, k0 * md); v, md, (fun k0 -> cV, k0 * md) ]
        (fun k0 -> sqrt (eW.[k0] * eW.[k0] + eV.[k0] * eV.[k0]))

/// The ball of every pair of a descent centre (`State`) against weights W, V.
let ball (c: State) (w: float[]) (v: float[]) : Ball =
    ballAt c.LayerSize w v c.Pass.CW c.Pass.CV c.EW c.EV

/// The comparisons of snapshot s's recorded increments with the centres propagated to it from snapshot s − 1 (None: no
/// centre reached that snapshot; one comparison without a finite bound, so the verdict cannot hold). Exactly, the recorded
/// increment Δ lies within 2ε_s of the replayed one (`SplitFamily.landingAllowance`, 0 when replayed bit for bit) and the
/// replayed one within ē of c, so ‖Δ − c‖ ≤ ρ + 2ε_s with ρ = (ē_W² + ē_V²)^{1/2}. The computed difference b =
/// fl(fl(Δ) − c) is off the exact Δ − c by at most u‖Δ‖ + u‖b‖/(1 − u) (one rounding of each subtraction, per entry), and
/// its computed norm r̂ is within γ = γ(2P + 4) of ‖b‖ (P a layer's parameter count, 2md for the MLP: at least the
/// roundings of the sum of its squares); so r̂ > (ρ + 2ε_s + u‖Δ̂‖(1 + γ))(1 + γ)/(1 − 2u) implies
/// ‖Δ − c‖ ≥ (1 − 2u)‖b‖ − u‖Δ‖ > ρ + 2ε_s: the bound compared is that raised radius (docs/theorems/DepthSmoothness.md,
/// "A.split.centre.remainder").
let ballChecksWithin (allow: float) (run: Run) (s: int) (around: BallAround) (ball: Ball option) : Check seq =
    let j = run.Steps.[s]
    let step, t = if FlowRuns.isFlow run then "output", FlowRuns.time run j else "iteration", float j * run.Setting.Eta
    let at = sprintf "snapshot %d, %s %d (t = %g)" s step j t
    let symbol, against = around.Symbol, around.Name
    match ball with
    | None -> Seq.singleton { Measured = nan; Bound = nan; Where = sprintf "‖(Z_{k+1} − Z_k) − %s‖_F: no %s reached this snapshot" symbol against; When = at }
    | Some b ->
        let u = Rounding.Float64UnitRoundoff
        let g = Rounding.gammaAt u (2 * run.ParameterCount + 4)
        seq {
            for k0 in 0 .. b.Distance.Length - 1 ->
                { Measured = b.Distance.[k0]
                  Bound = (b.Radius.[k0] + allow + u * b.Increment.[k0] * (1.0 + g)) * (1.0 + g) / (1.0 - 2.0 * u)
                  Where = sprintf "‖(Z_{k+1} − Z_k) − %s‖_F, pair k = %d (snapshot weights against the %s)" symbol (k0 + 1) against
                  When = at }
        }

/// The evaluation of a remainder row (A.split.centre.remainder, A.flow.split.centre.remainder): the balls of every snapshot
/// s ≥ 1 (`ballOf s`) compared by `ballChecksWithin` with the relative allowance rel of the recursion behind ρ, the row's own
/// constants first, then the largest radius and the number of comparisons.
let remainderEvaluationWithin (allowance: int -> float) (run: Run) (rel: float) (around: BallAround) (ballOf: int -> Ball option) (constants: (string * float) list) (note: string) : Evaluation =
    let balls = [| for s in 1 .. run.SnapshotCount - 1 -> s, ballOf s |]
    let e = evaluation rel (seq { for s, b in balls do yield! ballChecksWithin (allowance s) run s around b }) [] []
    let radius = balls |> Array.choose snd |> Array.collect (fun x -> x.Radius)
    { e with
        Constants =
            constants
            @ [ "remainder radius (max over snapshots and pairs)", (if radius.Length = 0 then nan else Comparison.maxKeepNaN radius)
                "comparisons (pairs × snapshots after the first)", float radius.Length ]
        Notes = [ note ] }

/// `remainderEvaluationWithin` each snapshot's `SplitFamily.landingAllowance`.
let remainderEvaluation (run: Run) (rel: float) (around: BallAround) (ballOf: int -> Ball option) (constants: (string * float) list) (note: string) : Evaluation =
    remainderEvaluationWithin (SplitFamily.landingAllowance run) run rel around ballOf constants note
