/// The gated block V(σ(W h) ⊙ (U h)) through the generic results (docs/theorems/GluBlock.md,
/// docs/theorems/GenericResults.md): A and B.bound hold on sampled smooth settings (B.bound may claim no finite
/// bound: the output is quadratic in h, so the state bound of the reference solve can overflow), B.rate holds on
/// smooth ladders L = 8..128; iid layers and relu are hypotheses not met; a bumped snapshot is a violation; and the constants are
/// never NaN, in particular at an unbounded state with a zero part (∞·0), where plain multiplication gives NaN.
module ResOdeProofs.Properties.GluBlockProperties

open Xunit
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

/// GLU settings: smooth σ, tied or smooth init, W and U entries of scale 0.3 or 0.6, V 0 (the catalog's default:
/// f = 0 at initialization) or 0.1, width from the catalog's test shape, small η.
let gluSpec : Gen<RunSpec> =
    blockSpec "glu" 2 (gen {
        let! wu = Gen.elements [ 0.3; 0.6 ]
        let! v = Gen.elements [ 0.0; 0.1 ]
        return [| wu; wu; v |] })

let gluArb = Arb.fromGenShrink (gluSpec, shrinkBlock)

[<ProfiledProperty(10, Replay = "(1729,4105)")>]
let ``A.aposteriori, A.aposteriori.segments, B.bound: smooth glu runs → hold`` () =
    Prop.forAll gluArb genericResultsHold

[<ProfiledProperty(2, Replay = "(1731,4107)")>]
let ``B.rate: smooth glu ladder → holds (order 1)`` () =
    Prop.forAll gluArb (fun spec ->
        let spec = spec.With(init = InitKind.Smooth, iterations = 2, scales = [| 0.6; 0.6; 0.3 |])
        // depths from 8: at L = 4 the 1/L² term of a block quadratic in h is still as large as the 1/L term (measured
        // errors 3.9e-2, 6.6e-3, 3.3e-3, ... at L = 4, 8, 16: a ratio 5.9, then 2.0), which widens the fit's interval
        let e = Result.evaluate GenericResults.eulerRate (ladderAt [ 8; 16; 32; 64; 128 ] spec)
        Verdict.isHolds e.Verdict |@ sprintf "%s\n%A\n%A\n%s" (describeBlock spec) e.Verdict e.Notes (reproduceBlock spec))

/// At the catalog's default scales V starts at 0, so every depth's ResNet is the ODE at initialization and B.rate has no
/// error to fit: the hypothesis says so and what to pass (a user read "f = 0 at initialization?" without knowing).
[<Fact>]
let ``B.rate: glu ladder at the catalog's default scales (V = 0) → "error not zero" not met, naming --scales`` () =
    let spec = RunSpec(Architecture = "glu", Depth = 4, Samples = 5, Dim = 3, Init = InitKind.Smooth, Iterations = 2, Snapshots = 2, Seed = 3L)
    let e = Result.evaluate GenericResults.eulerRate (ladderAt [ 4; 8; 16; 32 ] spec)
    Assert.True(Verdict.isHypothesisNotMet e.Verdict, sprintf "%A" e.Verdict)
    Assert.Contains(e.Hypotheses, fun (n, ok, why) -> n = "error not zero" && not ok && why.Contains "nonzero --scales")

[<ProfiledProperty(3, Replay = "(1733,4111)")>]
let ``A.aposteriori: glu run with i.i.d. layers, or with relu → hypothesis not met`` () =
    Prop.forAll gluArb iidAndReluNotMet

[<ProfiledProperty(4, Replay = "(1735,4113)")>]
let ``A.aposteriori.segments: glu run, last snapshot bumped → violated`` () =
    Prop.forAll gluArb (bumpedSnapshotViolates describeBlock)

/// Iterate bounds with the given state bound and part bounds (W, U, V), GELU's constants, d = 3, width 4.
let private boundsWith (h: float) (w: float) (u: float) (v: float) (adj: float) =
    let c = Activations.Constants ActivationKind.Gelu
    let parts = Map.ofList [ "W", w; "U", u; "V", v ]
    { Hidden = h; AdjointSum = adj; PartFro = parts; PartOp = parts; S0 = c.S0; S1 = c.S1; S2 = c.S2.Value; Dim = 3; Hyper = Map.ofList [ "width", 4.0 ] }

let private allConstants (a: Architecture) (b: IterateBounds) =
    let cTT, cHT = a.SecondDerivatives b
    let ga, gb = a.GradientDifference b
    [ "kappa", a.LipschitzH b; "J", a.LipschitzTheta b; "F", a.OutputBound b; "C_thth", cTT; "C_hth", cHT; "L5 a", ga; "L5 b", gb ]

[<Fact>]
let ``glu constants: unbounded state or a zero part → never NaN`` () =
    let values = [ 0.0; 0.5; 3.0; infinity ]
    for h in values do
        for w in values do
            for u in values do
                for v in values do
                    for adj in [ 0.0; 1.0; infinity ] do
                        for name, c in allConstants GluBlock.architecture (boundsWith h w u v adj) do
                            Assert.False(System.Double.IsNaN c, sprintf "%s is NaN at H=%g, M_W=%g, M_U=%g, M_V=%g, P=%g" name h w u v adj)
    // V = 0 makes f ≡ 0: every constant that multiplies M_V is 0 even when H = ∞ (the case of B.bound at a V⁰ = 0 start)
    let b = boundsWith infinity 1.0 1.0 0.0 1.0
    Assert.Equal(0.0, GluBlock.architecture.OutputBound b)
    Assert.Equal(0.0, GluBlock.architecture.LipschitzH b)
    // the control: the generic lemma L5 with plain products turns the same ∞·0 into NaN
    let plainA, plainB = Architecture.lemmaL5 GluBlock.architecture b
    Assert.True(System.Double.IsNaN plainA || System.Double.IsNaN plainB, sprintf "plain L5 gave (%g, %g)" plainA plainB)
