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
