/// The helpers every generic-architecture property module uses: train a setting in memory and open it with the
/// registered architectures, describe it, print the command lines that reproduce it, shrink it, build a depth ladder,
/// and corrupt a snapshot (the negative control of A.aposteriori.segments).
module ResOdeProofs.Properties.BlockProperties

open FsCheck
open FsCheck.FSharp
open ResOdeProofs.Numerics
open ResOdeProofs.Numerics.Blocks
open ResOdeProofs.Numerics.IO
open ResOdeProofs.Numerics.Training
open ResOdeProofs.Theory
open ResOdeProofs.Properties.Generators

/// Shrinks toward fewer layers, iterations, samples and dimensions.
let shrinkBlock (s: RunSpec) : seq<RunSpec> =
    seq {
        if s.Depth > 2 then yield s.With(depth = s.Depth / 2)
        if s.Iterations > 1 then yield s.With(iterations = s.Iterations / 2)
        if s.Samples > 2 then yield s.With(samples = s.Samples - 1)
        if s.Dim > 1 then yield s.With(dim = s.Dim - 1)
    }

/// Trains a generic-architecture setting and opens it in memory with the registered architectures.
let trainBlock (spec: RunSpec) : Run =
    Registry.openRun (RunDirectory.InMemory(spec.Train(), sprintf "%s-L%d-seed-%d" spec.Architecture spec.Depth spec.Seed))

/// One line naming the setting (with the hyper-parameters its catalog entry declares).
let describeBlock (s: RunSpec) =
    let hyper = s.Hyper |> Seq.map (fun kv -> sprintf " %s=%g" kv.Key kv.Value) |> String.concat ""
    sprintf "%s%s L=%d n=%d d=%d %s %s scales=%A eta=%g N=%d seed=%d" s.Architecture hyper s.Depth s.Samples s.StateDim
        (Activations.Name s.Activation) (s.Init.ToString().ToLowerInvariant()) (s.EffectiveScales()) s.Eta s.Iterations s.Seed

let reproduceBlock (s: RunSpec) =
    sprintf "reproduce with:\n  %s\n  resode verify runs/failing" (s.CommandLine "runs/failing")

/// A ladder of the setting at the given depths (one function of depth sampled at k/L).
let ladderAt (depths: int list) (spec: RunSpec) =
    depths |> List.map (fun l -> trainBlock (spec.With(depth = l)))
    |> Ladder.create
    |> function Ok l -> l | Error e -> failwith e

/// A ladder of the setting at depths 4, 8, 16, 32, 64.
let ladderOf (spec: RunSpec) = ladderAt [ 4; 8; 16; 32; 64 ] spec

/// Adds δ to every entry of layer ⌊L/2⌋ of the last snapshot with δ√P = target: the increments of the two pairs that
/// layer belongs to move to within the observed max_k ‖Δ_k‖ of target (triangle inequality), the others stay.
let bumpLastSnapshotBy (target: float) (run: Run) : Run =
    let d = run.Data
    let s = run.SnapshotCount - 1
    let P = run.ParameterCount
    let k = run.Setting.Depth / 2
    let delta = target / sqrt (float P)
    let theta = Array.copy (run.Theta s)
    for i in k * P .. k * P + P - 1 do theta.[i] <- theta.[i] + delta
    let thetas = Array.copy d.Theta
    thetas.[s] <- theta
    Registry.openRun (
        RunData(Directory = d.Directory + " (bumped)", Meta = d.Meta, Architecture = d.Architecture, Block = d.Block, Depth = d.Depth,
                     Dim = d.Dim, Data = d.Data, A = d.A, B = d.B, Activation = d.Activation, Eta = d.Eta,
                     Steps = d.Steps, Theta = thetas, Losses = d.Losses, Trace = d.Trace))

/// Adds δ to every entry of layer ⌊L/2⌋ of the last snapshot with δ√P = 2.5·z_N, z_N the A.aposteriori.segments bound there:
/// then ‖Δ_k‖ ≥ δ√P − (observed ‖Δ_k‖) ≥ 1.5·z_N > z_N (triangle inequality, observed ≤ z_N), so a check that reads
/// the snapshot's parameters must report a violation.
let bumpLastSnapshot (run: Run) : Run =
    let bound, _, _ = GenericResults.depthSmoothnessBoundWith true run.Architecture.Value run
    bumpLastSnapshotBy (2.5 * bound.[run.Steps.[run.SnapshotCount - 1]]) run

/// The setting of a catalog entry's report example (as the report's architectures section trains it).
let reportExample (e: BlockCatalog.Entry) =
    let x = nonNull e.ReportExample
    RunSpec(Theta = true, Architecture = e.Name, Depth = x.Depth, Samples = x.Samples, Dim = x.Dim, Init = InitKind.Tied, Eta = x.Eta,
                 Iterations = x.Iterations, Snapshots = 5, Seed = 0L)


/// The negative control of A.aposteriori.segments on one setting: trained with snapshots at its last two iterations, A.aposteriori.segments
/// holds, and with the last snapshot bumped (`bumpLastSnapshot`) it is violated; `describe` names the setting.
let bumpedSnapshotViolates (describe: RunSpec -> string) (spec: RunSpec) =
    let n = max 2 spec.Iterations
    let spec = spec.With(depth = max 4 spec.Depth, iterations = n, snapshotSteps = [| n - 1; n |])
    let run = trainBlock spec
    let before = (Result.evaluate GenericResults.depthSmoothnessSegments run).Verdict
    let after = (Result.evaluate GenericResults.depthSmoothnessSegments (bumpLastSnapshot run)).Verdict
    (Verdict.isHolds before && Verdict.isViolated after) |@ sprintf "%s\nbefore: %A\nafter: %A" (describe spec) before after

/// The negative controls of A's hypotheses on one setting: i.i.d. layers and relu are both "hypothesis not met".
let iidAndReluNotMet (spec: RunSpec) =
    let iid = (Result.evaluate GenericResults.depthSmoothness (trainBlock (spec.With(init = InitKind.Iid)))).Verdict
    let relu = (Result.evaluate GenericResults.depthSmoothness (trainBlock (spec.With(activation = ActivationKind.Relu)))).Verdict
    (Verdict.isHypothesisNotMet iid && Verdict.isHypothesisNotMet relu) |@ sprintf "%s\niid: %A\nrelu: %A" (describeBlock spec) iid relu

/// A.aposteriori and A.aposteriori.segments hold, and B.bound holds or claims no finite bound (for a block that grows faster
/// than linearly the state bound of its reference ODE may overflow, which is not a violation), on a setting that did
/// not diverge; classified by initialization and activation, collected by A.aposteriori.segments' tightness.
let genericResultsHold (spec: RunSpec) =
    let run = trainBlock spec
    let ev r = (Result.evaluate r run).Verdict
    let a, seg, b = ev GenericResults.depthSmoothness, ev GenericResults.depthSmoothnessSegments, ev GenericResults.eulerBound
    let noFiniteBound = match b with HypothesisNotMet [ "finite bound", _ ] -> true | _ -> false
    (not run.Setting.Diverged) ==> lazy
    ((Verdict.isHolds a && Verdict.isHolds seg && (Verdict.isHolds b || noFiniteBound))
     |@ sprintf "%s\nA.aposteriori: %A\nA.aposteriori.segments: %A\nB.bound: %A\n%s" (describeBlock spec) a seg b (reproduceBlock spec))
    |> Prop.classify true (spec.Init.ToString())
    |> Prop.classify true (Activations.Name spec.Activation)
    |> Prop.collect (Verdict.tightness seg |> Option.map tightnessBucket |> Option.defaultValue "n/a")
