/// The scaled-linear block σ(a·h) through the generic results (docs/theorems/ScaledLinearBlock.md): A and
/// B.bound hold on sampled smooth settings, B.rate holds on smooth ladders; iid layers and relu are
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
let scaledLinearSpec : Gen<RunSpec> =
    blockSpec "scaled-linear" 1 (Gen.elements [ 0.3; 1.0 ] |> Gen.map (fun a -> [| a |]))

let scaledLinearArb = Arb.fromGenShrink (scaledLinearSpec, shrinkBlock)

[<ProfiledProperty(10, Replay = "(31,313)")>]
let ``A.aposteriori, A.aposteriori.segments, B.bound: smooth scaled-linear runs → hold`` () =
    Prop.forAll scaledLinearArb genericResultsHold

[<ProfiledProperty(2, Replay = "(41,413)")>]
let ``B.rate: smooth scaled-linear ladder → holds (order 1)`` () =
    Prop.forAll scaledLinearArb (fun spec ->
        let spec = spec.With(init = InitKind.Smooth, iterations = 2)
        let e = Result.evaluate GenericResults.eulerRate (ladderOf spec)
        Verdict.isHolds e.Verdict |@ sprintf "%s\n%A\n%A\n%s" (describeBlock spec) e.Verdict e.Notes (reproduceBlock spec))

[<ProfiledProperty(3, Replay = "(51,515)")>]
let ``A.aposteriori: scaled-linear run with i.i.d. layers, or with relu → hypothesis not met`` () =
    Prop.forAll scaledLinearArb iidAndReluNotMet

[<ProfiledProperty(4, Replay = "(61,617)")>]
let ``A.aposteriori.segments: scaled-linear run, last snapshot bumped → violated`` () =
    Prop.forAll scaledLinearArb (bumpedSnapshotViolates describeBlock)

/// A residual branch of size 10⁻⁹ (this engine's own float64 run, a tester's example): the ResNet and the neural ODE
/// then agree to rounding, and the measured distance is the rounding of the verifier's forward pass and of the
/// 256-step reference solve, 1.3·10⁻¹⁴ against a bound of 3.6·10⁻¹⁵ before that rounding was counted.
[<Xunit.Fact>]
let ``B.bound (any block): a scaled-linear run with scale 1e-9 (distance = rounding) → holds, the distance within the forward pass' and the reference solve's rounding`` () =
    let run = trainBlock (RunSpec(Architecture = "scaled-linear", Depth = 8, Samples = 4, Dim = 4, Scales = [| 1e-9 |], Eta = 0.01, Iterations = 2, Snapshots = 2, Seed = 1L))
    let e = Result.evaluate GenericResults.eulerBound run
    Xunit.Assert.True(Verdict.isHolds e.Verdict, sprintf "%A" e.Verdict)
    // the case is the rounding's: some sample's distance above its Euler bound, within the rounding counted
    let samples = GenericResults.interpolantChecks run |> Array.collect id
    Xunit.Assert.Contains(samples, fun c -> c.Measured > c.Bound && c.Measured <= c.Bound + c.IntegrationError + c.Rounding)
