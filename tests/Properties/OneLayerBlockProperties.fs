/// The one-layer block σ(W h + b) through the generic results (docs/theorems/OneLayerBlock.md,
/// docs/theorems/GenericResults.md): A and B hold on sampled smooth settings, the depth rate of B is
/// consistent with order 1 on smooth ladders; i.i.d. layers and relu are hypotheses not met; a bumped snapshot
/// is a violation; the MLP block through the same extension point satisfies the same generic results.
module ResOdeProofs.Properties.OneLayerBlockProperties

open Xunit
open FsCheck
open FsCheck.FSharp
open FsCheck.Xunit
open ResOdeProofs.Numerics
open ResOdeProofs.Numerics.Blocks
open ResOdeProofs.Numerics.IO
open ResOdeProofs.Numerics.Training
open ResOdeProofs.Theory
open ResOdeProofs.Properties.Generators
open ResOdeProofs.Properties.Profile
open ResOdeProofs.Properties.BlockProperties


/// One-layer settings with the hypotheses of A and B: smooth σ, tied or smooth init, W scale ≈ 1/√d, small η.
let oneLayerSpec : Gen<RunSpec> =
    blockSpec "one-layer" 2 (gen {
        let! ws = Gen.elements [ 0.3; 0.6 ]
        let! bs = Gen.elements [ 0.0; 0.2 ]
        return [| ws; bs |] })

let oneLayerArb = Arb.fromGenShrink (oneLayerSpec, shrinkBlock)

[<ProfiledProperty(15, Replay = "(4242,2425)")>]
let ``A.aposteriori, A.aposteriori.segments, B.bound: smooth one-layer runs → hold`` () =
    Prop.forAll oneLayerArb (fun spec ->
        let run = trainBlock spec
        let ev r = (Result.evaluate r run).Verdict
        let a, seg, b = ev GenericResults.depthSmoothness, ev GenericResults.depthSmoothnessSegments, ev GenericResults.eulerBound
        ((Verdict.isHolds a && Verdict.isHolds seg && Verdict.isHolds b)
         |@ sprintf "%s\nA.aposteriori: %A\nA.aposteriori.segments: %A\nB.bound: %A\n%s" (describeBlock spec) a seg b (reproduceBlock spec))
        |> Prop.classify true (spec.Init.ToString())
        |> Prop.classify true (Activations.Name spec.Activation)
        |> Prop.collect (Verdict.tightness seg |> Option.map tightnessBucket |> Option.defaultValue "n/a"))

[<ProfiledProperty(3, Replay = "(17,71)")>]
let ``B.rate: smooth one-layer ladder → holds (order 1)`` () =
    Prop.forAll oneLayerArb (fun spec ->
        let spec = spec.With(init = InitKind.Smooth, iterations = 2)
        let e = Result.evaluate GenericResults.eulerRate (ladderOf spec)
        Verdict.isHolds e.Verdict |@ sprintf "%s\n%A\n%A\n%s" (describeBlock spec) e.Verdict e.Notes (reproduceBlock spec))

[<ProfiledProperty(4, Replay = "(5,55)")>]
let ``A.aposteriori, B.rate: one-layer runs with i.i.d. layers → hypothesis not met, B.rate's "error not zero" naming the initialization (it read "no registered architecture or …")`` () =
    Prop.forAll oneLayerArb (fun spec ->
        let spec = spec.With(init = InitKind.Iid, iterations = 2)
        let a = (Result.evaluate GenericResults.depthSmoothness (trainBlock spec)).Verdict
        let re = Result.evaluate GenericResults.eulerRate (ladderOf spec)
        let r = re.Verdict
        let named =
            re.Hypotheses |> List.exists (fun (n, ok, why) ->
                n = "error not zero" && not ok && why.Contains "discretizes no known function of depth" && not (why.Contains "registered"))
        (Verdict.isHypothesisNotMet a && Verdict.isHypothesisNotMet r && named) |@ sprintf "%s\nA.aposteriori: %A\nB.rate: %A\n%A" (describeBlock spec) a r re.Hypotheses)

[<ProfiledProperty(4, Replay = "(6,67)")>]
let ``A.aposteriori: one-layer run with relu → hypothesis not met (bounded σ'')`` () =
    Prop.forAll oneLayerArb (fun spec ->
        let spec = spec.With(activation = ActivationKind.Relu)
        let e = Result.evaluate GenericResults.depthSmoothness (trainBlock spec)
        match e.Verdict with
        | HypothesisNotMet hs -> List.exists (fun (n: string, why: string) -> n = "the architecture's requirements" && why.Contains "sigma''") hs |@ sprintf "%A" hs
        | v -> false |@ sprintf "%s: %A" (describeBlock spec) v)

[<ProfiledProperty(6, Replay = "(8,89)")>]
let ``A.aposteriori.segments: one-layer run, last snapshot bumped → violated`` () =
    Prop.forAll oneLayerArb (bumpedSnapshotViolates describeBlock)

[<ProfiledProperty(5, Replay = "(9,99)")>]
let ``A.aposteriori, A.aposteriori.segments: the MLP block through the extension point → hold`` () =
    Prop.forAll smoothArb (fun mlp ->
        let spec =
            RunSpec(Theta = true, Architecture = "mlp", Depth = mlp.Depth, Width = mlp.Width, Samples = mlp.Samples, Dim = mlp.Dim, Activation = mlp.Activation,
                         Init = mlp.Init, Scales = [| 1.0; mlp.VScale |], Eta = mlp.Eta, Iterations = mlp.Iterations, Snapshots = 3, Seed = mlp.Seed)
        let run = trainBlock spec
        (not run.Setting.Diverged) ==> lazy (
        let a = (Result.evaluate GenericResults.depthSmoothness run).Verdict
        let seg = (Result.evaluate GenericResults.depthSmoothnessSegments run).Verdict
        (Verdict.isHolds a && Verdict.isHolds seg) |@ sprintf "%s\nA.aposteriori: %A\nA.aposteriori.segments: %A" (describeBlock spec) a seg))

[<Fact>]
let ``Registry: a one-layer run → the results listed for any block, with the same ids as the MLP's, none of the MLP-only ones`` () =
    let spec = RunSpec(Architecture = "one-layer", Depth = 4, Samples = 3, Dim = 2, Iterations = 2, Snapshots = 2)
    let rows = Registry.verifyView Registry.every (Registry.openRun (RunDirectory.InMemory(spec.Train(), "one-layer")))
    Assert.Equal<string list>(Registry.blockRunResults |> List.map (fun r -> r.Id), rows |> List.map (fun r -> r.Id))
    Assert.True(rows |> List.exists (fun r -> r.Id = "A.aposteriori" && r.Verdict = "holds"))
    for id, _ in OneIdPerStatementTests.mlpOnly do Assert.DoesNotContain(id, rows |> List.map (fun r -> r.Id))

[<Fact>]
let ``Registry: an MLP run → the MLP's results with its own ingredients, no row of another run format`` () =
    let rows = Registry.verifyView Registry.every (Registry.openRun (RunDirectory.InMemory((RunSpec(Depth = 4, Width = 3, Samples = 3, Dim = 2, Iterations = 2, Snapshots = 2)).Train())))
    Assert.Equal<string list>(Registry.singleRun |> List.map (fun r -> r.Id), rows |> List.map (fun r -> r.Id))
    Assert.DoesNotContain(rows, fun r -> r.Verdict = "not applicable" && r.Detail.Contains "run format")

[<Fact>]
let ``Registry: the MLP block trained through the generic trainer (theta.npy) → read as an MLP run, no result violated`` () =
    let spec = RunSpec(Theta = true, Architecture = "mlp", Depth = 4, Width = 3, Samples = 3, Dim = 2, Iterations = 3, Snapshots = 2)
    let data = RunDirectory.InMemory(spec.Train(), "mlp-block")
    Assert.True(data.IsMlp)
    let run = Registry.openRun data
    Assert.True(run.IsMlp, "an mlp run opened as another architecture")
    Assert.Equal(3, run.Setting.Width)
    let bad = Registry.verifyView Registry.every run |> List.filter (fun r -> r.IsViolated || r.IsError)
    Assert.True(bad.IsEmpty, bad |> List.map (fun r -> sprintf "%s: %s: %s" r.Id r.Verdict r.Detail) |> String.concat "\n")

[<Fact>]
let ``A.aposteriori: an architecture the registry does not know → hypothesis not met`` () =
    let run = trainBlock (RunSpec(Architecture = "one-layer", Depth = 4, Samples = 3, Dim = 2, Iterations = 2, Snapshots = 2))
    let unknown = Run(run.Data, [])
    Assert.True(Verdict.isHypothesisNotMet (Result.evaluate GenericResults.depthSmoothness unknown).Verdict)

[<Fact>]
let ``B.bound: smooth init whose run.json understates Lip(theta0) 100x → the same bound (the rebuilt function's constant, not the label)`` () =
    let spec = RunSpec(Architecture = "one-layer", Depth = 16, Samples = 3, Dim = 2, Init = InitKind.Smooth, Iterations = 1, Snapshots = 2)
    let data = RunDirectory.InMemory(spec.Train(), "smooth-one-layer")
    let honest = GenericResults.eulerCheck (Registry.openRun data)
    let lip = honest.Constants |> List.find (fun (k, _) -> k = "Lip(theta0)") |> snd
    Assert.True(lip > 0.0, "a smooth initialization has a positive Lipschitz constant in depth")
    let declared = nonNull data.Meta.Init.LipschitzParts
    for k in List.ofSeq declared.Keys do declared.[k] <- declared.[k] / 100.0
    let lied = GenericResults.eulerCheck (Registry.openRun data)
    Assert.Equal(honest.Bound, lied.Bound)
    Assert.Equal(lip, lied.Constants |> List.find (fun (k, _) -> k = "Lip(theta0)") |> snd)
