/// Gradient-flow runs (optimizer gf): every applicable single-run result holds on them, the gradient-descent
/// statements are not applicable to them (and the flow statements not to gradient descent), and corrupted or
/// out-of-hypothesis flow runs are reported (docs/theorems/PolyakLojasiewicz.md, DepthSmoothness.md, RunIntegrity.md).
module ResOdeProofs.Properties.GradientFlowProperties

open System
open Xunit
open FsCheck
open FsCheck.FSharp
open FsCheck.Xunit
open ResOdeProofs.Numerics
open ResOdeProofs.Numerics.IO
open ResOdeProofs.Numerics.Training
open ResOdeProofs.Theory
open ResOdeProofs.Properties.Generators
open ResOdeProofs.Properties.Profile


/// Integrator tolerances of the flow runs checked here.
let rtol, atol = 1e-8, 1e-10

/// The gradient flow of a setting over [0, η·N] on the grid t_j = j·η, opened as a run in memory.
let trainFlow (spec: RunSpec) : Run =
    let r = spec.TrainFlow(rtol, atol)
    Run(RunDirectory.InMemory(r, sprintf "gf-seed-%d" spec.Seed))

/// The command lines that reproduce a failing flow case with the CLI.
let reproduceFlow (spec: RunSpec) =
    sprintf "reproduce with:\n  %s\n  resode verify runs/failing"
        ((spec.CommandLine "runs/failing").Replace(" --out ", sprintf " --optimizer gf --rtol %g --atol %g --out " rtol atol))

let private verdicts (run: Run) =
    Registry.singleRun |> List.map (fun r -> r.Id, (Result.evaluate r run).Verdict)

let private gdOnlyIds = [ "E.replay"; "I.update"; "C.gdDecay"; "C.pathLength"; "C.runRate"; "A.aposteriori"; "A.aposteriori.segments"; "A.apriori"; "A.split"; "A.split.segments" ]
let private flowOnlyIds = [ "E.flowReplay"; "A.flow"; "A.flow.split.segments"; "A.flow.split.segments.remainder"; "A.flow.split.centre.segments"; "A.flow.split.centre.remainder"; "C.gfDecay"; "C.gfPathLength" ]

[<ProfiledProperty(6, Replay = "(2718,2819)")>]
let ``Registry: gradient-flow run → nothing violated, gradient-descent statements not applicable`` () =
    Prop.forAll smoothArb (fun spec ->
        let run = trainFlow spec
        let vs = verdicts run
        let violated = vs |> List.filter (fun (_, v) -> Verdict.isViolated v)
        let gdNa = vs |> List.filter (fun (id, _) -> List.contains id gdOnlyIds) |> List.forall (fun (_, v) -> match v with NotApplicable _ -> true | _ -> false)
        let aflow = vs |> List.find (fun (id, _) -> id = "A.flow") |> snd
        ((violated.IsEmpty && gdNa && Verdict.isHolds aflow)
         |@ sprintf "%s\nviolated: %A\nA.flow: %A\n%s" (describe spec) violated aflow (reproduceFlow spec))
        |> Prop.classify true (Activations.Name spec.Activation)
        |> Prop.collect (sprintf "L=%d" spec.Depth)
        |> Prop.collect (match Verdict.tightness aflow with Some t -> tightnessBucket t | None -> "A.flow not holding"))

/// A setting with the PL hypotheses (V(0) = 0, m ≥ n): L = 16, m = 24, n = 12, d = 4, GELU, tied.
let plSpec = RunSpec(Depth = 16, Width = 24, Samples = 12, Dim = 4, Init = InitKind.Tied, Eta = 0.05, Iterations = 20, Snapshots = 3, Seed = 7L)

[<Fact>]
let ``flow results, I.loss, I.trace, C.mu0, C.plAlongRun: gradient flow on a PL setting → hold`` () =
    let run = trainFlow plSpec
    for id in flowOnlyIds @ [ "I.loss"; "I.trace"; "C.mu0"; "C.plAlongRun" ] do
        let r = Registry.singleRun |> List.find (fun r -> r.Id = id)
        let e = Result.evaluate r run
        Assert.True(Verdict.isHolds e.Verdict, sprintf "%s: %A %A\n%s" id e.Verdict e.Notes (reproduceFlow plSpec))

[<Fact(DisplayName = "flow results: gradient-descent run, with and without the PL hypotheses (m < n) → not applicable, never hypothesis not met")>]
let ``flow results: gradient-descent run → not applicable`` () =
    // a run outside the flow statements' hypotheses (rank m < n: no μ₀) is no more a flow run than one inside them
    for spec in [ plSpec; RunSpec(Depth = 16, Width = 4, Samples = 12, Dim = 4, Init = InitKind.Tied, Eta = 0.05, Iterations = 20, Snapshots = 3, Seed = 7L) ] do
        let run = train spec
        for id in flowOnlyIds do
            let e = Result.evaluate (Registry.singleRun |> List.find (fun r -> r.Id = id)) run
            Assert.True((match e.Verdict with NotApplicable _ -> true | _ -> false), sprintf "%s on gd (m = %d): %A" id spec.Width e.Verdict)

/// Negative control: one loss entry raised above the decay bound (losses and trace alike, so that only the
/// recomputation from the snapshot weights and the decay statement can see it). The flow replay's evidence is built from
/// the faithful losses first, as for gradient descent (a corrupted losses.npy read from a file is E.flowReplay's to catch,
/// FlowReplayTests.fs): the decay statement then reads the verifier's columns and meets the corrupted recording.
[<Fact>]
let ``I.loss, C.gfDecay: flow run with its last loss raised 1% → violated`` () =
    let good = plSpec.TrainFlow(rtol, atol)
    let data = RunDirectory.InMemory(good, "corrupted")
    let losses = Array.copy data.Losses
    let n = losses.Length - 1
    let trace = Collections.Generic.Dictionary<string, float[]>(data.Trace)
    trace.["loss"] <- Array.copy losses
    let bad =
        RunData(Directory = data.Directory, Meta = data.Meta, Shape = data.Shape, Data = data.Data, A = data.A, B = data.B,
                Activation = data.Activation, Eta = data.Eta, Steps = data.Steps, W = data.W, V = data.V, Losses = losses, Trace = trace)
    let run = Run(bad)
    run.Trace "loss" |> ignore
    losses.[n] <- losses.[0] * 1.01
    trace.["loss"].[n] <- losses.[n]
    let verdictOf id = (Result.evaluate (Registry.singleRun |> List.find (fun r -> r.Id = id)) run).Verdict
    Assert.True(Verdict.isViolated (verdictOf "I.loss"), sprintf "I.loss: %A" (verdictOf "I.loss"))
    Assert.True(Verdict.isViolated (verdictOf "C.gfDecay"), sprintf "C.gfDecay: %A" (verdictOf "C.gfDecay"))

/// Negative controls by hypothesis: the clipped flow is not the field −G (C.gfDecay), an iid initialization
/// discretizes no Lipschitz function of depth (A.flow).
[<Fact>]
let ``C.gfDecay: clipped flow → hypothesis not met; A.flow: i.i.d. initialization → holds`` () =
    let clipped = trainFlow (plSpec.With(iterations = 5) |> fun s -> RunSpec(Depth = s.Depth, Width = s.Width, Samples = s.Samples, Dim = s.Dim, Init = s.Init, Eta = s.Eta, Iterations = s.Iterations, Snapshots = 3, Seed = s.Seed, Clip = Nullable 0.01))
    Assert.Equal("clipped-gf", clipped.Setting.Optimizer)
    let e = Result.evaluate PolyakLojasiewicz.gfDecay clipped
    Assert.True(Verdict.isHypothesisNotMet e.Verdict, sprintf "%A" e.Verdict)
    // an i.i.d. initialization is measured, not labelled: A.flow starts from its large initial increments
    let iid = trainFlow (plSpec.With(iterations = 5, init = InitKind.Iid))
    let a = Result.evaluate DepthSmoothness.flow iid
    Assert.True(Verdict.isHolds a.Verdict, sprintf "%A" a.Verdict)

/// Negative control: rtol so loose that the integration allowance exceeds 10⁻³ — the flow statements report it as an
/// unmet hypothesis instead of comparing a bound with an integration error.
[<Fact>]
let ``C.gfDecay, C.gfPathLength, A.flow: flow integrated with rtol 1e-2 → hypothesis not met`` () =
    let r = plSpec.TrainFlow(1e-2, 1e-4)
    let run = Run(RunDirectory.InMemory(r, "loose"))
    for res in [ PolyakLojasiewicz.gfDecay; PolyakLojasiewicz.gfPathLength; DepthSmoothness.flow ] do
        let e = Result.evaluate res run
        Assert.True(Verdict.isHypothesisNotMet e.Verdict, sprintf "%s: %A" res.Id e.Verdict)
