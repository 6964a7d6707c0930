/// The scaled-linear block σ(a·h) through the generic results (docs/theorems/ScaledLinearBlock.md): G.A and
/// G.B.bound hold on sampled smooth settings, G.B.rate holds on smooth ladders; iid layers and relu are
/// hypotheses not met; a bumped snapshot is a violation.
module ResOdeProofs.Properties.ScaledLinearBlockProperties

open FsCheck
open FsCheck.FSharp
open FsCheck.Xunit
open ResOdeProofs.Numerics
open ResOdeProofs.Numerics.Blocks
open ResOdeProofs.Numerics.Training
open ResOdeProofs.Theory
open ResOdeProofs.Properties.Generators
open ResOdeProofs.Properties.Profile
open ResOdeProofs.Properties.BlockProperties


/// Scaled-linear settings: smooth σ, tied or smooth init, a scale 0.3–1, small η.
let scaledLinearSpec : Gen<BlockRunSpec> =
    blockSpec "scaled-linear" 1 (Gen.elements [ 0.3; 1.0 ] |> Gen.map (fun a -> [| a |]))

let scaledLinearArb = Arb.fromGenShrink (scaledLinearSpec, shrinkBlock)

[<ProfiledProperty(10, Replay = "(31,313)")>]
let ``G.A and G.B.bound hold on smooth scaled-linear runs`` () =
    Prop.forAll scaledLinearArb (fun spec ->
        let run = trainBlock spec
        let ev r = (Result.evaluate r run).Verdict
        let a, seg, b = ev GenericResults.depthSmoothness, ev GenericResults.depthSmoothnessSegments, ev GenericResults.eulerBound
        // G.B.bound's state bound may overflow for a block that grows faster than linearly: then no finite bound is claimed
        let noFiniteBound = match b with HypothesisNotMet [ "finite bound", _ ] -> true | _ -> false
        (not run.Setting.Diverged) ==> lazy
        ((Verdict.isHolds a && Verdict.isHolds seg && (Verdict.isHolds b || noFiniteBound))
         |@ sprintf "%s\nG.A.aposteriori: %A\nG.A.segments: %A\nG.B.bound: %A\n%s" (describeBlock spec) a seg b (reproduceBlock spec))
        |> Prop.classify true (spec.Init.ToString())
        |> Prop.collect (Verdict.tightness seg |> Option.map tightnessBucket |> Option.defaultValue "n/a"))

[<ProfiledProperty(2, Replay = "(41,413)")>]
let ``G.B.rate is consistent with order 1 on smooth scaled-linear ladders`` () =
    Prop.forAll scaledLinearArb (fun spec ->
        let spec = spec.With(init = InitKind.Smooth, iterations = 2)
        let e = Result.evaluate GenericResults.eulerRate (ladderOf spec)
        Verdict.isHolds e.Verdict |@ sprintf "%s\n%A\n%A\n%s" (describeBlock spec) e.Verdict e.Notes (reproduceBlock spec))

[<ProfiledProperty(3, Replay = "(51,515)")>]
let ``iid layers and relu: hypotheses not met`` () =
    Prop.forAll scaledLinearArb (fun spec ->
        let iid = (Result.evaluate GenericResults.depthSmoothness (trainBlock (spec.With(init = InitKind.Iid)))).Verdict
        let relu = (Result.evaluate GenericResults.depthSmoothness (trainBlock (spec.With(activation = ActivationKind.Relu)))).Verdict
        (Verdict.isHypothesisNotMet iid && Verdict.isHypothesisNotMet relu) |@ sprintf "%s\niid: %A\nrelu: %A" (describeBlock spec) iid relu)

[<ProfiledProperty(4, Replay = "(61,617)")>]
let ``a bumped snapshot violates G.A.segments`` () =
    Prop.forAll scaledLinearArb (fun spec ->
        let n = max 2 spec.Iterations
        let spec = spec.With(depth = max 4 spec.Depth, iterations = n, snapshotSteps = [| n - 1; n |])
        let run = trainBlock spec
        let before = (Result.evaluate GenericResults.depthSmoothnessSegments run).Verdict
        let after = (Result.evaluate GenericResults.depthSmoothnessSegments (bumpLastSnapshot run)).Verdict
        (Verdict.isHolds before && Verdict.isViolated after) |@ sprintf "%s\nbefore: %A\nafter: %A" (describeBlock spec) before after)
