/// Hypotheses that several results share, as named reusable values: each is (name, check), the name being what a
/// verdict row lists. A result states its hypotheses by listing these (and its own); a ladder result lifts a run
/// hypothesis with `onEveryRun`.
module ResOdeProofs.Theory.Hypotheses

open ResOdeProofs.Numerics
open ResOdeProofs.Theory

/// A hypothesis on inputs of type 'input.
type Hypothesis<'input> = string * ('input -> HypothesisCheck)

/// The hypothesis with its check deferred (`DeferredCheck`): `Result.evaluate` makes it only when every other hypothesis of
/// the result before it holds, and lists it as not evaluated otherwise. For a check whose cost is the result's (a
/// replay, reference solves); list it after the cheap ones it depends on.
let whenOthersHold ((name, check): Hypothesis<'input>) : Hypothesis<'input> =
    name, (DeferredCheck<'input>(check) :> obj :?> ('input -> HypothesisCheck))

/// The hypothesis with its check replaced by `wrap check`, deferred when the original is: how a result made from another's
/// hypotheses (`FlowRuns.gdOnly`, a check skipped on some runs) keeps their deferral.
let mapCheck (wrap: ('input -> HypothesisCheck) -> 'input -> HypothesisCheck) ((name, check): Hypothesis<'input>) : Hypothesis<'input> =
    let wrapped = wrap check
    if DeferredCheck.isDeferred check then whenOthersHold (name, wrapped) else name, wrapped

/// A statement about the increments Z_{k+1} − Z_k of consecutive layers (result A: every A.* row) made not applicable to a
/// run of one layer: there is no pair, its maxima over no pairs are 0, and every comparison would hold whatever the run
/// (a one-layer conv run read A.aposteriori, A.aposteriori.segments and A.split.segments "holds" on measured 0, and
/// A.split.segments.remainder "hypothesis not met … it overflowed"). Its hypotheses report met (nothing to check) and
/// its conclusion returns NotApplicable, as L5's rows say "nothing to compare".
let onLayerPairs (r: Result<Run>) : Result<Run> =
    { r with
        Hypotheses = r.Hypotheses |> List.map (mapCheck (fun h run -> if run.Setting.Depth < 2 then Met "one layer (not checked)" else h run))
        Conclusion =
            fun run ->
                if run.Setting.Depth < 2 then
                    Evaluation.notApplicable "L = 1: no pair of consecutive layers, so no increment Z_{k+1} − Z_k to bound (every comparison would hold whatever the run)"
                else r.Conclusion run }

/// The name of "σ twice differentiable with bounded σ''" (the hypothesis of every result whose constants use s2).
[<Literal>]
let SmoothSigmaName = "sigma twice differentiable with bounded sigma''"

/// "σ twice differentiable with bounded σ''" for an activation and its s2 (None: no bounded second derivative).
let smoothSigmaOf (activation: ActivationKind) (s2: float option) =
    match s2 with
    | Some s2 -> Met(sprintf "%s, s2 = %.6g" (Activations.Name activation) s2)
    | None -> NotMet(sprintf "%s has no bounded second derivative" (Activations.Name activation))

/// σ twice differentiable with bounded σ'', on a run.
let smoothSigma : Hypothesis<Run> = SmoothSigmaName, fun run -> smoothSigmaOf run.Setting.Activation run.Setting.S2

/// The run completed: its last iterates are finite.
let notDiverged : Hypothesis<Run> =
    "run not diverged", fun run ->
        // run.json's status says so; the recorded losses may all be finite (a producer that stopped at a threshold): the
        // message says where the claim comes from instead of asserting non-finite iterates it may not have recorded
        if run.Setting.Diverged then
            let finite = run.Losses |> Array.forall System.Double.IsFinite
            NotMet(if finite then "run.json says \"status\": \"diverged\" (every recorded loss is finite: the producer stopped it as diverging)"
                   else "the run diverged: its last recorded iterates are not finite")
        else Met "completed with finite weights"

/// At least one snapshot of the weights.
let hasSnapshots : Hypothesis<Run> =
    "at least one snapshot", fun run ->
        if run.SnapshotCount >= 1 then Met(sprintf "%d snapshots" run.SnapshotCount) else NotMet "the run has no snapshot"

/// A snapshot of the initialization (iteration 0).
let initialSnapshot : Hypothesis<Run> =
    "a snapshot at iteration 0", fun run ->
        if run.SnapshotCount > 0 && run.Steps.[0] = 0 then Met "snapshot 0 is the initialization"
        else NotMet "the run has no snapshot of the initialization (iteration 0)"

/// The run was produced by a faithful engine (no injected fault recorded).
let noFault : Hypothesis<Run> =
    "no engine fault", fun run ->
        if run.Setting.Fault = "none" then Met "faithful engine" else NotMet(sprintf "the run is marked with fault %s" run.Setting.Fault)

/// The initialization discretizes a Lipschitz function of depth, Z_k(0) = Z0(k/L), its constant measured from snapshot 0.
let lipschitzInit : Hypothesis<Run> =
    "Lipschitz initialization Z_k(0) = Z0(k/L)", fun run ->
        match run.Setting.InitLipschitz with
        | Some lip -> Met(sprintf "measured from snapshot 0: L·max_k‖Z_{k+1}(0) − Z_k(0)‖ = %.6g" lip)
        | None -> NotMet "no snapshot at iteration 0: the initial smoothness cannot be measured"

/// A run hypothesis required of every run of a ladder: met when each run meets it, otherwise not met with the first run
/// (by depth) that does not and why; deferred when the run hypothesis is.
let onEveryRun ((name, check): Hypothesis<Run>) : Hypothesis<Ladder> =
    let lifted : Hypothesis<Ladder> =
      name, fun l ->
          let rs = l.Runs
          let checks = rs |> List.map (fun r -> r, check r)
          match checks |> List.tryPick (fun (r, c) -> match c with NotMet why -> Some(r, why) | Met _ -> None) with
          | None ->
              let first = match checks with (_, Met v) :: _ -> ": " + v | _ -> ""
              Met(sprintf "every run (L = %s)%s" (rs |> List.map (fun r -> string r.Setting.Depth) |> String.concat ", ") first)
          | Some(r, why) -> NotMet(sprintf "run L = %d: %s" r.Setting.Depth why)
    if DeferredCheck.isDeferred check then whenOthersHold lifted else lifted

/// A ladder with at least `n` runs, for the observed-order statements: `fitted` says how many of c depths the fit uses
/// (the others are its reference), `need` why fewer cannot give an order with an interval. Met with both counts.
let atLeastDepths (n: int) (fitted: int -> int) (need: string) : Hypothesis<Ladder> =
    sprintf "at least %d depths" n, fun l ->
        let c = l.Runs.Length
        if c >= n then Met(sprintf "%d depths (%d fitted)" c (fitted c)) else NotMet(sprintf "%d depths: %s" c need)

/// No run of a ladder diverged (the ladder form the rate results B.rate and D.rate state; met with "none").
let noRunDiverged : Hypothesis<Ladder> =
    "no run diverged", fun l ->
        match l.Runs |> List.tryFind (fun r -> r.Setting.Diverged) with
        | None -> Met "none"
        | Some r -> NotMet(sprintf "run L = %d diverged" r.Setting.Depth)

/// The name of the descent hypothesis (`descends`).
[<Literal>]
let DescendsName = "gradient descent lowers the loss at every step (it follows its gradient flow)"

/// The steps j → j + 1 of one stretch of replayed iterates whose loss rose beyond the rounding of its two evaluations:
/// (iteration j, ℓ_j, ℓ_{j+1}, allowance) with ℓ_{j+1} − ℓ_j > r_j + r_{j+1}, r the bound on each replayed loss' distance to
/// the exact loss of the replayed weights (`Replay.LossRounding`), so the exact losses of those weights rose. `into j` says
/// whether iterate j is a snapshot's other than the first: the step onto a recorded snapshot is left out (on the stitched
/// columns its value is the snapshot's own weights, whose distance to the replay's landing is E.replay's comparison).
let private rises (from: int) (losses: float[]) (rounding: float[]) (into: int -> bool) =
    [ for i in 0 .. losses.Length - 2 do
        let j = from + i
        if not (into (j + 1)) then
            let allowance = rounding.[i] + rounding.[i + 1]
            // a NaN loss or allowance compares false: not counted as a rise (non-finite runs fail `notDiverged`)
            if losses.[i + 1] - losses.[i] > allowance then yield j, losses.[i], losses.[i + 1], allowance ]

/// Gradient descent in the regime where it is the Euler scheme of its gradient flow: the loss of the replayed iterates never
/// rises by more than the rounding of its two evaluations. The gradient flow (clipped or not) lowers the loss at every time
/// (dℓ/dt = −Σ_k⟨∇_kℓ, G_k⟩ ≤ 0); a step of gradient descent that raises it has gone past the stable step 2/λ of some
/// curvature λ of the loss, where the scheme amplifies the difference from its flow, and the runs of a ladder, which differ
/// by O(1/L), move apart instead of together (the rate statements across depths assume the flow's dynamics). Read from the
/// verifier's replay (its columns when a verify certified them, else its segments), never from losses.npy; a gradient-flow
/// run meets it by its own dynamics (E.flowReplay certifies the integration).
let descends : Hypothesis<Run> =
  whenOthersHold (
    DescendsName, fun run ->
        if ResOdeProofs.Numerics.Verification.FlowReplay.IsFlow run.Data then Met "a gradient flow: its loss does not rise"
        else
            let snapshotAt = set (run.Steps |> Array.filter (fun j -> j > 0))
            let into j = snapshotAt.Contains j
            let steps =
                // the MLP's columns are the verifier's (another architecture's `Trace` is the producer's record)
                match (if run.IsMlp then run.Trace "loss", run.Trace Run.LossRoundingColumn else None, None) with
                | Some l, Some r -> Some(l.Length - 1, rises 0 l r into)
                | _ ->
                    match run.Evidence with
                    | Some e ->
                        let segs = e.Replay.Segments
                        Some(segs |> Array.sumBy (fun s -> s.Losses.Length - 1),
                             [ for s in segs do yield! rises s.From s.Losses s.LossRounding into ])
                    | None -> None
            match steps with
            | None -> NotMet(sprintf "the verifier has no replayed losses: %s" (run.TraceUnavailable [ "loss" ]))
            | Some(_, []) -> Met "no step raises the replayed loss beyond its rounding"
            | Some(count, ((j, a, b, r) :: _ as risen)) ->
                let worst = risen |> List.maxBy (fun (_, a, b, _) -> (b - a) / abs a)
                let wj, wa, wb, _ = worst
                NotMet(
                    sprintf "the replayed loss rises at %d of %d steps, first at iteration %d → %d (%.6g → %.6g, allowance %.3g), most at %d → %d (%.6g → %.6g, +%.3g%%): "
                        risen.Length count j (j + 1) a b r wj (wj + 1) wa wb (100.0 * (wb - wa) / abs wa)
                    + "these steps go past gradient descent's stable step, where it does not follow the gradient flow the statement is about "
                    + "and the runs of different depths move apart (chaotic training: the statement is about a smaller η)"))
