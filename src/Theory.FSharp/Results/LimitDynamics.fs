/// Result D: the trained weights of a ladder of depths converge, at each training time t, to a limit
/// function of depth at rate O(1/L). Checked as an observed order (Provenance Empirical); docs/theorems/LimitDynamics.md.
module ResOdeProofs.Theory.LimitDynamics

open System

/// Z^L(s) for a run at snapshot index s: the piecewise-linear interpolant of the layers (Z_k at k/L,
/// constant on [0, 1/L]), evaluated at depth x ∈ [0, 1] into (w, v) buffers of size m·d each.
let interpolate (run: Run) (snap: int) (x: float) (w: float[]) (v: float[]) =
    let L = run.Setting.Depth
    let md = run.LayerSize
    let W, V = run.W snap, run.V snap
    let pos = x * float L
    if pos <= 1.0 || L = 1 then
        Array.blit W 0 w 0 md
        Array.blit V 0 v 0 md
    else
        let k = min (int (floor pos)) (L - 1)
        let th = pos - float k
        let o0, o1 = (k - 1) * md, k * md
        // at a node the layer itself, bit for bit: at x = 1 (k = L − 1, th = 1) the chord's formula W_{L−1} + 1·(W_L − W_{L−1})
        // can differ from W_L in the last bit, and coinciding runs then showed a distance of rounding that D.curve fitted
        // (a faithful smooth ladder of this engine was VIOLATED; th = 0 gives the node exactly already)
        if th = 1.0 then
            Array.blit W o1 w 0 md
            Array.blit V o1 v 0 md
        else
        for i in 0 .. md - 1 do
            w.[i] <- W.[o0 + i] + th * (W.[o1 + i] - W.[o0 + i])
            v.[i] <- V.[o0 + i] + th * (V.[o1 + i] - V.[o0 + i])

/// The Richardson estimate of the limit from two depths L_a < L_b, assuming Z^L(s) = Z(s) + c(s)/L + O(1/L²):
///   Z^R(s) = (L_b Z^{L_b}(s) − L_a Z^{L_a}(s)) / (L_b − L_a).
let richardson (a: Run) (sa: int) (b: Run) (sb: int) (x: float) (w: float[]) (v: float[]) =
    let md = a.LayerSize
    let wa, va, wb, vb = Array.zeroCreate md, Array.zeroCreate md, Array.zeroCreate md, Array.zeroCreate md
    interpolate a sa x wa va
    interpolate b sb x wb vb
    let la, lb = float a.Setting.Depth, float b.Setting.Depth
    for i in 0 .. md - 1 do
        w.[i] <- (lb * wb.[i] - la * wa.[i]) / (lb - la)
        v.[i] <- (lb * vb.[i] - la * va.[i]) / (lb - la)

/// The distance to the limit, the one the report and D.rate both use: figure 1 (right) of the paper,
///   dist(Z^L, Z^ref) = √( (1/L) Σ_k ‖Z^L_k − Z^ref(k/L)‖_F² ),
/// with the reference a function of depth evaluated at s = k/L (for a run, its piecewise-linear interpolant
/// `interpolate`, which is the run's own layer at a common node and adds O(‖Z''‖/L_ref²) between nodes, against the
/// O(‖Z'‖/L_ref) of the nearest layer). Returns (W and V jointly, W alone, V alone).
let distanceParts (run: Run) (snap: int) (reference: float -> float[] -> float[] -> unit) =
    let L, md = run.Setting.Depth, run.LayerSize
    let w, v = Array.zeroCreate md, Array.zeroCreate md
    let W, V = run.W snap, run.V snap
    let mutable acc, accW, accV = 0.0, 0.0, 0.0
    for k in 1 .. L do
        reference (float k / float L) w v
        for i in 0 .. md - 1 do
            let a = W.[(k - 1) * md + i] - w.[i]
            let b = V.[(k - 1) * md + i] - v.[i]
            acc <- acc + a * a + b * b
            accW <- accW + a * a
            accV <- accV + b * b
    sqrt (acc / float L), sqrt (accW / float L), sqrt (accV / float L)

/// `distanceParts` to another run's weights at snapshot refSnap, read as the piecewise-linear function of depth.
let distanceToRun (run: Run) (snap: int) (reference: Run) (refSnap: int) = distanceParts run snap (interpolate reference refSnap)

/// `distanceParts`, W and V jointly.
let distance (run: Run) (snap: int) (reference: float -> float[] -> float[] -> unit) =
    let z, _, _ = distanceParts run snap reference
    z

/// √((1/G) Σ_{k=1..G} ‖Z¹(k/G) − Z²(k/G)‖_F²) for two weight functions given as evaluators: (W and V jointly,
/// W alone, V alone).
let gridDistanceParts (g: int) (md: int) (z1: float -> float[] -> float[] -> unit) (z2: float -> float[] -> float[] -> unit) =
    let w1, v1, w2, v2 = Array.zeroCreate md, Array.zeroCreate md, Array.zeroCreate md, Array.zeroCreate md
    let mutable acc, accW, accV = 0.0, 0.0, 0.0
    for k in 1 .. g do
        let x = float k / float g
        z1 x w1 v1
        z2 x w2 v2
        for i in 0 .. md - 1 do
            let a = w1.[i] - w2.[i]
            let b = v1.[i] - v2.[i]
            acc <- acc + a * a + b * b
            accW <- accW + a * a
            accV <- accV + b * b
    sqrt (acc / float g), sqrt (accW / float g), sqrt (accV / float g)

/// `gridDistanceParts`, W and V jointly.
let gridDistance (g: int) (md: int) (z1: float -> float[] -> float[] -> unit) (z2: float -> float[] -> float[] -> unit) =
    let z, _, _ = gridDistanceParts g md z1 z2
    z

/// Snapshot index of iteration j in a run.
let private at (r: Run) (j: int) = Array.IndexOf(r.Steps, j)

/// At common iteration j: the distances of every run but the deepest to the Richardson limit of the two
/// deepest runs; the Richardson correction size and an error estimate of the limit (the Richardson limits
/// from the pairs (L_{−3}, L_{−2}) and (L_{−2}, L_{−1}) compared on the deepest grid).
type SnapshotDistances =
    { Iteration: int
      Time: float
      /// depths fitted (all but the deepest) and their distances to the Richardson limit
      Depths: int list
      Distances: float list
      /// distances to the deepest run itself (the paper's reference), same depths
      DistancesToDeepest: float list
      /// dist(Z^{L_max}, Z^R) on the grid k/L_{−2}: size of the Richardson correction at the deepest depth
      Correction: float
      /// dist on the grid k/L_{−3} between the Richardson limits of the pairs (L_{−3}, L_{−2}) and (L_{−2}, L_{−1}) (NaN with 3 runs)
      LimitErrorEstimate: float
      /// dist(Z^{L_{−2}}, Z^{L_{−1}}) on the grid k/L_{−2}: how far apart the deepest pair is
      DeepestPair: float
      /// dist(Z^{L_{−3}}, Z^{L_{−2}}) on the grid k/L_{−3}: the pair before it (NaN with 3 runs)
      PreviousPair: float }

let snapshotDistances (ladder: Ladder) (j: int) : SnapshotDistances =
    let runs = ladder.Runs |> Array.ofList
    let n = runs.Length
    let a, b = runs.[n - 2], runs.[n - 1]
    let rich = richardson a (at a j) b (at b j)
    let deepest (x: float) w v = interpolate b (at b j) x w v
    let fitted = runs.[.. n - 2] |> List.ofArray
    // Both estimates are compared on the grid k/L_{−3}, whose nodes are nodes of every run involved (dyadic ladder):
    // off those nodes a piecewise-linear interpolant adds its own O(1/L²)·Z'' error, which is not a limit error.
    let limitError, previousPair =
        if n < 4 then nan, nan
        else
            let c = runs.[n - 3]
            let rich2 = richardson c (at c j) a (at a j)
            gridDistance c.Setting.Depth c.LayerSize rich rich2,
            gridDistance c.Setting.Depth c.LayerSize (fun x w v -> interpolate c (at c j) x w v) (fun x w v -> interpolate a (at a j) x w v)
    let correction = gridDistance a.Setting.Depth a.LayerSize (fun x w v -> interpolate b (at b j) x w v) rich
    let deepestPair = gridDistance a.Setting.Depth a.LayerSize (fun x w v -> interpolate a (at a j) x w v) (fun x w v -> interpolate b (at b j) x w v)
    { Iteration = j
      Time = float j * b.Setting.Eta
      Depths = fitted |> List.map (fun r -> r.Setting.Depth)
      Distances = fitted |> List.map (fun r -> distance r (at r j) rich)
      DistancesToDeepest = fitted |> List.map (fun r -> distance r (at r j) deepest)
      Correction = correction
      LimitErrorEstimate = limitError
      DeepestPair = deepestPair
      PreviousPair = previousPair }

/// √((1/L)Σ_k‖Z_k‖_F²) of a run at snapshot s (W and V jointly): the weights' RMS size, the norm the distances are taken in.
let rmsSize (r: Run) (s: int) =
    let w, v = r.W s, r.V s
    sqrt ((Array.sumBy (fun x -> x * x) w + Array.sumBy (fun x -> x * x) v) / float r.Setting.Depth)

/// The largest RMS size of the ladder's runs at iteration j and the coarsest unit roundoff among them: the scale and the
/// precision of the rounding allowances below.
let private sizeAndRoundoff (ladder: Ladder) (j: int) =
    (ladder.Runs |> List.map (fun r -> rmsSize r (at r j)) |> Comparison.maxKeepNaN),
    (ladder.Runs |> List.map Rounding.unitRoundoff |> List.max)

/// The largest distance to the Richardson limit that is float64 rounding alone at iteration j: the runs coincide there
/// (a tied initialization at t = 0, identical at all depths; every exact distance 0) and no rate is measurable.
/// `Rounding.coincideRel` of the two deepest depths times the largest RMS size (docs/theorems/LimitDynamics.md,
/// "Runs that coincide").
/// Beside the verifier's own float64 rounding, the producers' rounding (an estimate, docs/theorems/LimitDynamics.md, "Runs
/// that coincide"): each stored entry within 2j·u_p of the weights' size of the exact-arithmetic trajectory from the stored
/// initialization (per update Z ← fl(Z − fl(ηG)), the subtraction's and the product's rounding, the step below the weights'
/// size where the runs nearly coincide; stored in the precision it was computed in), u_p the coarsest precision of the ladder; a distance to the Richardson limit
/// (L_b Z^b − L_a Z^a)/(L_b − L_a) carries its run's error and ρ = (L_b + L_a)/(L_b − L_a) times theirs. On a float32 ladder
/// trained 2 iterations at η = 10⁻⁶ (distances about 10⁻⁷, float32 rounding) the float64 count alone read the rounding as
/// distances and D.rate as "no limit".
let coincideAllowance (ladder: Ladder) (j: int) =
    let runs = ladder.Runs |> Array.ofList
    let n = runs.Length
    let a, b = runs.[n - 2], runs.[n - 1]
    let scale, up = sizeAndRoundoff ladder j
    let la, lb = float a.Setting.Depth, float b.Setting.Depth
    let rho = (lb + la) / (lb - la)
    let producers = (1.0 + rho) * 2.0 * float j * up * (1.0 + Rounding.gamma64 8)
    (Rounding.coincideRel a.Setting.Depth b.Setting.Depth b.Setting.Depth b.LayerSize + producers) * scale

/// (D.rate rule (i)) The rounding of a distance between two runs' weights at iteration j, as (relative, absolute): the
/// verifier's difference of the two interpolants at the shallower run's nodes (nodes of both: each value a stored entry),
/// the sum of at most 2·m·d·L squares, the quotient by L and the square root, within γ_{2mdL+3} of the distance itself;
/// the producers' rounding of each run's entries, 2j·u_p of the weights' size per run (`coincideAllowance`), twice.
let pairRounding (ladder: Ladder) (j: int) =
    let runs = ladder.Runs |> Array.ofList
    let b = runs.[runs.Length - 1]
    let scale, up = sizeAndRoundoff ladder j
    let rel = Rounding.gamma64 (2 * b.LayerSize * b.Setting.Depth + 3)
    rel, 2.0 * 2.0 * float j * up * (1.0 + Rounding.gamma64 8) * scale * (1.0 + rel)

/// Rule (i) of D.rate at one snapshot: the Richardson limits of successive pairs agree (`Agree`: the fits decide there),
/// or they disagree by more than the smallest fitted distance and the deepest pair converges at the claimed order
/// (`Unresolved`), or they disagree and it does not (`NoLimit`: violated). Each comparison that can lead to "no limit"
/// must fail by more than its rounding: the limits disagree only when the limit error estimate exceeds the smallest
/// distance by more than three distance allowances `limitAllowance` (each limit, and the distance, within one:
/// `coincideAllowance`); the deepest pair fails to converge only when dist(L₋₂, L₋₁) exceeds ρ·dist(L₋₃, L₋₂) by more
/// than both pairs' rounding `pair` (relative, absolute: `pairRounding`).
type RuleOne =
    | Agree
    | Unresolved
    | NoLimit

let ruleOne (pairRatio: float) (limitAllowance: float) (pair: float * float) (d: SnapshotDistances) =
    let rel, abs' = pair
    let disagree = d.LimitErrorEstimate - 2.0 * limitAllowance > Comparison.minKeepNaN d.Distances + limitAllowance
    let diverging = d.DeepestPair * (1.0 - rel) - abs' > pairRatio * (d.PreviousPair * (1.0 + rel) + abs')
    if not disagree then Agree elif diverging then NoLimit else Unresolved

/// The common iterations where the distances are measurable (not all at rounding level).
let measurable (ladder: Ladder) =
    EulerError.commonSteps ladder
    |> List.map (snapshotDistances ladder)
    |> List.filter (fun d ->
        let tol = coincideAllowance ladder d.Iteration
        // a distance that is not a number is not at rounding level: it is kept and reaches the verdict (not measured)
        d.Distances |> List.forall (fun x -> Double.IsNaN x || x > tol))

/// Hypothesis of the ladder results that compare runs at the nodes common to them (D.rate, D.curve): each depth divides
/// the next; `why` says what is evaluated at those nodes.
let dyadicLadder (why: string) : Hypotheses.Hypothesis<Ladder> =
    "dyadic ladder (each depth divides the next)",
    fun l ->
        if List.pairwise l.Depths |> List.forall (fun (a, b) -> b % a = 0) then Met(sprintf "L = %A" l.Depths)
        else NotMet(sprintf "L = %A: %s, which needs each depth to divide the next" l.Depths why)

/// Hypothesis of the ladder results that take distances between runs' weights (D.rate, D.curve): every run's weights finite.
let weightsFinite : Hypotheses.Hypothesis<Ladder> =
    "weights finite", (fun l -> if l.Runs |> List.forall EulerError.weightsFinite then Met "all runs finite" else NotMet "a run has non-finite weights (diverged)")

let private sameTraining (l: Ladder) =
    let f = l.Runs.Head
    let bad =
        l.Runs |> List.filter (fun r ->
            r.Setting.Eta <> f.Setting.Eta || r.Setting.Iterations <> f.Setting.Iterations || r.Steps <> f.Steps
            || r.Setting.InitKind <> f.Setting.InitKind || r.Setting.Optimizer <> f.Setting.Optimizer || r.Data.Meta.Seed <> f.Data.Meta.Seed)
    if bad.IsEmpty then Met(sprintf "η = %g, N = %d, snapshots %A, init %s, optimizer %s, seed %A in every run" f.Setting.Eta f.Setting.Iterations f.Steps f.Setting.InitKind f.Setting.Optimizer f.Data.Meta.Seed)
    else NotMet(sprintf "run L = %d differs in η, iterations, snapshot steps, init, optimizer or seed: snapshots must be at the same times t = j·η" bad.Head.Setting.Depth)

/// D.rate: at every common snapshot time t = j·η, dist(Z^L(t), Z^R(t)) = O(1/L).
let rate : Result<Ladder> =
    { Id = "D.rate"
      Title = "Trained weights converge to the limit function of depth at rate 1/L (observed order)"
      Source = "Marion et al., ICLR 2024, finite-training-time theorem (§4) and figure 1 right; checked here as an observed order (docs/theorems/LimitDynamics.md)"
      Provenance = Empirical
      Doc = "docs/theorems/LimitDynamics.md"
      Statement =
        "For runs that differ only in depth (same data, same smooth or tied initialization function, same η and iterations), "
        + "at every common snapshot t = j·η where the runs do not coincide, the distance √((1/L)Σ_k‖Z^L_k(t) − Z^R(k/L, t)‖²) "
        + "to the Richardson limit Z^R of the two deepest runs decreases at least like 1/L over all depths but the deepest: the upper end "
        + "of the 95% interval of the order p is ≥ 1 for the plain fit log dist = a − p log L or for the fit with a correction "
        + "term a − p log L + c/L, each widened by the first term its model neglects (Rate.decideOutcome; a rejection stands unless the deepest three depths alone support the claim by an interval that reaches 1 and excludes 0); an interval of width ≥ 1 at some snapshot is inconclusive. "
        + "Where the Richardson limits of successive pairs differ by more than the smallest fitted distance there is no limit (violated), unless the deepest pair converges at the claimed order "
        + "(dist(L₋₂, L₋₁) ≤ ρ·dist(L₋₃, L₋₂), ρ = (1/L₋₂ − 1/L₋₁)/(1/L₋₃ − 1/L₋₂)): then that snapshot is unresolved (L₋₃ not yet asymptotic). "
        + "Both comparisons that lead to \"no limit\" must fail by more than their rounding."
      Hypotheses =
        [ Hypotheses.atLeastDepths 5 (fun c -> c - 1) "the two deepest make the reference, all but the deepest are fitted, and an interval for the order with its 1/L term needs 4 fitted depths"
          Hypotheses.noRunDiverged
          Hypotheses.onEveryRun Hypotheses.smoothSigma
          "initialization discretizes a Lipschitz function of depth",
          (fun l -> Evidence.sameInitialFunction l.Runs)
          dyadicLadder "the distances and the Richardson limit are evaluated at nodes common to the runs involved"
          "same training in every run", sameTraining
          weightsFinite
          "distances measurable", (fun l -> if measurable l |> List.isEmpty then NotMet "the runs coincide at every snapshot (distances at rounding level)" else Met(sprintf "%d snapshot(s)" (measurable l).Length))
          Hypotheses.onEveryRun Hypotheses.descends ]
      Conclusion =
        fun l ->
            // each distance is uncertain by the Richardson limit's own error (triangle inequality), estimated by
            // LimitErrorEstimate; it widens the interval (Rate.fitWithCorrectionAndUncertainty)
            let snaps =
                measurable l
                |> List.map (fun d ->
                    let eps = if Double.IsNaN d.LimitErrorEstimate then 0.0 else d.LimitErrorEstimate
                    let epsList = d.Distances |> List.map (fun _ -> eps)
                    let plain = Rate.fitWithUncertainty d.Depths d.Distances epsList
                    let corrected = Rate.fitWithCorrectionAndUncertainty d.Depths d.Distances epsList
                    d, (plain, corrected, Rate.decideOutcome plain corrected))
            let target = Rate.ClaimedOrder
            let where' = sprintf "depth ladder L = %s" (l.Depths |> List.map string |> String.concat ", ")
            // With Z^L = Z + c/L + O(1/L²) the Richardson limits of successive pairs agree to O(1/L²), far below the
            // smallest fitted distance c/L: a limit error estimate above that distance contradicts the claim (rule (i)) —
            // unless the deepest pair itself is converging at the claimed order: dist(Z^{L_{−2}}, Z^{L_{−1}}) at most
            // (1/L_{−2} − 1/L_{−1})/(1/L_{−3} − 1/L_{−2}) times dist(Z^{L_{−3}}, Z^{L_{−2}}) (what c/L gives). Then the
            // disagreement comes from L_{−3}, not yet in the asymptotic range at that time (a perturbation c·e^{λt}/L that has
            // grown to O(1) at the shallower depths only), and the snapshot is unresolved (hypothesis not met), not "no limit".
            let ds = l.Depths |> Array.ofList
            let n = ds.Length
            let lc, la, lb = float ds.[n - 3], float ds.[n - 2], float ds.[n - 1]
            let pairRatio = (1.0 / la - 1.0 / lb) / (1.0 / lc - 1.0 / la)
            // once per snapshot: the allowances read every run's weights
            let rules = snaps |> List.map (fun (d, _) -> d.Iteration, ruleOne pairRatio (coincideAllowance l d.Iteration) (pairRounding l d.Iteration) d) |> Map.ofList
            let rule (d: SnapshotDistances) = rules.[d.Iteration]
            let noLimit = snaps |> List.tryFind (fun (d, _) -> rule d = NoLimit)
            let unresolved = snaps |> List.filter (fun (d, _) -> rule d = Unresolved)
            // the fits decide at the snapshots rule (i) passes (an unresolved snapshot's distances are to a limit not resolved)
            let decided = snaps |> List.filter (fun (d, _) -> rule d = Agree)
            let combined = decided |> List.map (fun (_, (_, _, (oc, _))) -> oc) |> Rate.combine
            // a pre-asymptotic verdict is that snapshot's: its time is named
            let d, (_, _, (_, worst)) =
                (if decided.IsEmpty then snaps else decided) |> Rate.reportedAt combined (fun (_, (_, _, (o, _))) -> o) (fun (_, (_, _, (_, o))) -> o.Upper)
            let verdict =
                match noLimit, unresolved with
                | Some(d, _), _ ->
                    Violated { Where = where' + " (Richardson limits of successive pairs disagree: no limit)"; When = sprintf "iteration %d (t = %g)" d.Iteration d.Time
                               Measured = d.LimitErrorEstimate; Bound = Comparison.minKeepNaN d.Distances }
                | None, (u, _) :: _ when combined <> Rate.Rejected ->
                    HypothesisNotMet
                        [ "Richardson limit resolved at every snapshot (the deepest three depths in the asymptotic range)",
                          sprintf "inconclusive at iteration %d (t = %g): the Richardson limits of L = %g, %g and of L = %g, %g differ by %.3g, more than the smallest fitted distance %.3g, but the deepest pair is converging at the claimed order (dist(L = %g, %g) = %.3g, at most %.3g times dist(L = %g, %g) = %.3g): L = %g is not yet in the asymptotic range at this time; add deeper depths"
                              u.Iteration u.Time lc la la lb u.LimitErrorEstimate (Comparison.minKeepNaN u.Distances) la lb u.DeepestPair pairRatio lc la u.PreviousPair lc ]
                | None, _ -> Rate.verdict combined worst where' (sprintf "iteration %d (t = %g)" d.Iteration d.Time)
            { Range = None; Series = []; Verdict = verdict
              Measured = Some worst.Order
              Bound = Some target
              Hypotheses = []
              Constants =
                [ "observed order (worst snapshot)", worst.Order; "95% lower", worst.Lower; "95% upper", worst.Upper
                  "claimed order", Rate.ClaimedOrder
                  "Richardson correction at the deepest depth (worst snapshot)", d.Correction
                  "limit error estimate (worst snapshot)", d.LimitErrorEstimate ]
              Notes =
                snaps |> List.map (fun (d, (plain, o, _)) ->
                    sprintf "t = %g: fit with 1/L correction: %s; plain log-log slope: %s; reference = Richardson limit of L = %d, %d (correction %.3e, limit error estimate %.3e; the deepest pair %.3e apart, the pair before it %.3e); distances to the deepest run instead: %s"
                        d.Time (Rate.describe o) (Rate.describe plain) (l.Depths.[l.Depths.Length - 2]) (List.last l.Depths) d.Correction d.LimitErrorEstimate
                        d.DeepestPair d.PreviousPair (d.DistancesToDeepest |> List.map (sprintf "%.3e") |> String.concat ", ")) } }

/// Single-run results of this file (none: D is a statement over depths).
let all : Result<Run> list = []

/// Ladder results of this file.
let ladder : Result<Ladder> list = [ rate ]
