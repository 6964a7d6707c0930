/// The convolutional block K₂∗σ(K₁∗h + b₁) + b₂ through the generic results (docs/theorems/ConvBlock.md,
/// docs/theorems/GenericResults.md), on small images (C = 1–2 channels, 4×4 to 6×6 pixels, L ≤ 8): A and
/// B.bound hold on tied/smooth settings, the depth rate of B is consistent with order 1 on a smooth ladder;
/// i.i.d. layers and relu are hypotheses not met; a bumped snapshot is a violation.
module ResOdeProofs.Properties.ConvBlockProperties

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


/// Conv settings with the hypotheses of A and B: smooth σ, tied or smooth init, kernel entries N(0, 1/(9C))
/// (the catalog's default) or half of it, biases 0 or small, small η.
let convSpec : Gen<RunSpec> =
    gen {
        let! depth = Gen.elements (if isLong then [ 4; 8; 16 ] else [ 4; 8 ])
        let! n = Gen.choose (2, if isLong then 10 else 4)
        let! c = Gen.choose (1, 2)
        let! h = Gen.choose (4, 6)
        let! w = Gen.choose (4, 6)
        let! act = Gen.elements smoothActivations
        let! init = Gen.elements [ InitKind.Tied; InitKind.Smooth ]
        let! ks = Gen.elements [ 0.5; 1.0 ]
        let! bs = Gen.elements [ 0.0; 0.1 ]
        let! eta = Gen.elements [ 0.0005; 0.001 ]
        let! iters = Gen.choose (1, if isLong then 30 else 8)
        let! seed = Gen.choose (0, 100000)
        let k = ks / sqrt (9.0 * float c)
        return
            RunSpec(
                Architecture = "conv", Depth = depth, Samples = n, Channels = c, Height = h, ImageWidth = w, Activation = act, Init = init,
                Scales = [| k; bs; k; bs |], Eta = eta, Iterations = iters, Snapshots = 3, Seed = int64 seed)
    }

/// Shrinks toward fewer layers, iterations and samples (the image shape is kept: `With` has no image arguments).
let shrinkConv (s: RunSpec) : seq<RunSpec> =
    seq {
        if s.Depth > 2 then yield s.With(depth = s.Depth / 2)
        if s.Iterations > 1 then yield s.With(iterations = s.Iterations / 2)
        if s.Samples > 2 then yield s.With(samples = s.Samples - 1)
    }

let convArb = Arb.fromGenShrink (convSpec, shrinkConv)

let describeConv (s: RunSpec) =
    sprintf "conv C=%d H=%d W=%d (d=%d) L=%d n=%d %s %s scales=%A eta=%g N=%d seed=%d" s.Channels s.Height s.ImageWidth s.StateDim s.Depth s.Samples
        (Activations.Name s.Activation) (s.Init.ToString().ToLowerInvariant()) (s.EffectiveScales()) s.Eta s.Iterations s.Seed

/// A ladder of the setting at depths 4, 8, 16, 32, 64 (one function of depth sampled at k/L): five depths, so that
/// the plain fit's interval (three degrees of freedom) is narrow enough to decide (Rate.inconclusiveWidth).
let convLadder (spec: RunSpec) =
    [ 4; 8; 16; 32; 64 ] |> List.map (fun l -> trainBlock (spec.With(depth = l)))
    |> Ladder.create
    |> function Ok l -> l | Error e -> failwith e

[<ProfiledProperty(15, Replay = "(3141,5927)")>]
let ``A.aposteriori, A.aposteriori.segments, B.bound: smooth conv runs → hold`` () =
    Prop.forAll convArb (fun spec ->
        let run = trainBlock spec
        let ev r = (Result.evaluate r run).Verdict
        let a, seg, b = ev GenericResults.depthSmoothness, ev GenericResults.depthSmoothnessSegments, ev GenericResults.eulerBound
        ((Verdict.isHolds a && Verdict.isHolds seg && Verdict.isHolds b)
         |@ sprintf "%s\nA.aposteriori: %A\nA.aposteriori.segments: %A\nB.bound: %A\n%s" (describeConv spec) a seg b (reproduceBlock spec))
        |> Prop.classify true (spec.Init.ToString())
        |> Prop.classify true (Activations.Name spec.Activation)
        |> Prop.classify true (sprintf "C=%d" spec.Channels)
        |> Prop.collect (Verdict.tightness b |> Option.map tightnessBucket |> Option.defaultValue "n/a"))

[<ProfiledProperty(2, Replay = "(2718,2819)")>]
let ``B.rate: smooth conv ladder → holds (order 1)`` () =
    Prop.forAll convArb (fun spec ->
        let spec = spec.With(init = InitKind.Smooth, iterations = 1, samples = 2)
        let e = Result.evaluate GenericResults.eulerRate (convLadder spec)
        // never violated; inconclusive (an interval wider than Rate.inconclusiveWidth) is counted apart
        (not (Verdict.isViolated e.Verdict)) |@ sprintf "%s\n%A\n%A\n%s" (describeConv spec) e.Verdict e.Notes (reproduceBlock spec)
        |> Prop.classify (Verdict.isHolds e.Verdict) "consistent with order 1"
        |> Prop.classify (Verdict.isHypothesisNotMet e.Verdict) "inconclusive")

[<ProfiledProperty(4, Replay = "(1618,339)")>]
let ``A.aposteriori: conv run with i.i.d. layers → hypothesis not met`` () =
    Prop.forAll convArb (fun spec ->
        let spec = spec.With(init = InitKind.Iid, iterations = 2)
        let a = (Result.evaluate GenericResults.depthSmoothness (trainBlock spec)).Verdict
        Verdict.isHypothesisNotMet a |@ sprintf "%s\nA.aposteriori: %A" (describeConv spec) a)

[<ProfiledProperty(4, Replay = "(1414,2137)")>]
let ``A.aposteriori: conv run with relu → hypothesis not met (bounded σ'')`` () =
    Prop.forAll convArb (fun spec ->
        let spec = spec.With(activation = ActivationKind.Relu)
        let e = Result.evaluate GenericResults.depthSmoothness (trainBlock spec)
        match e.Verdict with
        | HypothesisNotMet hs -> List.exists (fun (n: string, why: string) -> n = "the architecture's requirements" && why.Contains "sigma''") hs |@ sprintf "%A" hs
        | v -> false |@ sprintf "%s: %A" (describeConv spec) v)

[<ProfiledProperty(6, Replay = "(2236,1733)")>]
let ``A.aposteriori.segments: conv run, last snapshot bumped → violated`` () =
    Prop.forAll convArb (bumpedSnapshotViolates describeConv)
