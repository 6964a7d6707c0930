/// Result A (docs/theorems/DepthSmoothness.md): the a posteriori and a priori bounds hold on sampled smooth
/// runs; relu, i.i.d. layers and plain GD (for the a priori version) are reported as hypotheses not met; a
/// bumped snapshot is a violation; the depth rate holds for a tied ladder and fails for an i.i.d. one.
module ResOdeProofs.Properties.DepthSmoothnessProperties

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

open ResOdeProofs.Properties.IntegrityProperties

[<ProfiledProperty(20, Replay = "(777,31337)")>]
let ``A.aposteriori, A.aposteriori.segments: smooth runs → hold`` () =
    Prop.forAll smoothArb (fun spec ->
        let run = train spec
        // a setting that diverges is outside the hypotheses: discarded (FsCheck draws another), not counted as a pass
        (not run.Setting.Diverged) ==> lazy (
        let e = Result.evaluate DepthSmoothness.aposteriori run
        let es = Result.evaluate DepthSmoothness.aposterioriSegments run
        let tight = Verdict.tightness e.Verdict |> Option.map tightnessBucket |> Option.defaultValue "n/a"
        ((Verdict.isHolds e.Verdict && Verdict.isHolds es.Verdict)
         |@ sprintf "%s\nA.aposteriori: %A\nA.aposteriori.segments: %A\n%s" (describe spec) e.Verdict es.Verdict (reproduce spec))
        |> Prop.classify true (spec.Init.ToString())
        |> Prop.classify true (Activations.Name spec.Activation)
        |> Prop.collect tight))

[<ProfiledProperty(10, Replay = "(99,1235)")>]
let ``A.apriori: clipped gradient descent → holds`` () =
    Prop.forAll smoothArb (fun spec ->
        let spec =
            RunSpec(Depth = spec.Depth, Width = spec.Width, Samples = spec.Samples, Dim = spec.Dim, Activation = spec.Activation,
                    Init = spec.Init, VScale = spec.VScale, Eta = spec.Eta, Iterations = spec.Iterations, Clip = System.Nullable 2.0,
                    Snapshots = 3, Seed = spec.Seed)
        let e = Result.evaluate DepthSmoothness.apriori (train spec)
        // the a priori bound grows like exp(t·e^(3κ)) and may overflow before the horizon: then it claims no finite bound
        let overflowed = match e.Verdict with HypothesisNotMet [ "finite bound", _ ] -> true | _ -> false
        (Verdict.isHolds e.Verdict || overflowed) |@ sprintf "%s clip 2\n%A" (describe spec) e.Verdict
        |> Prop.classify overflowed "bound overflowed (no finite bound claimed)")

let private small = RunSpec(Depth = 8, Width = 6, Samples = 5, Dim = 3, Eta = 0.01, Iterations = 10, Snapshots = 3, Seed = 21L)

[<Fact>]
let ``A.*: relu → hypothesis not met`` () =
    let run = train (small.With(activation = ActivationKind.Relu))
    for r in DepthSmoothness.all do
        let v = (Result.evaluate r run).Verdict
        // the flow's statement on a gradient-descent run does not apply, whatever the run's hypotheses (FlowRuns.flowOnly)
        if r.Id = "A.flow" then Assert.True((match v with NotApplicable _ -> true | _ -> false), sprintf "%s: %A" r.Id v)
        else Assert.True(Verdict.isHypothesisNotMet v, r.Id)

[<Fact>]
let ``A.aposteriori: i.i.d. initialization (large measured increments) → holds`` () =
    let run = train (small.With(init = InitKind.Iid))
    let e = Result.evaluate DepthSmoothness.aposteriori run
    Assert.True(Verdict.isHolds e.Verdict, sprintf "%A" e.Verdict)
    Assert.Equal(float run.Setting.Depth * run.DepthIncrement 0, run.Setting.InitLipschitz.Value, 12)

[<Fact>]
let ``A.apriori: unclipped gradient descent → hypothesis not met (clip radius)`` () =
    match (Result.evaluate DepthSmoothness.apriori (train small)).Verdict with
    | HypothesisNotMet why -> Assert.Contains(why, fun (_, r) -> r.StartsWith "this run's optimizer is gd, not clipped gradient descent" && r.Contains "needs a clip radius")
    | v -> failwithf "expected HypothesisNotMet, got %A" v

[<Fact>]
let ``A.*: faulty engine → hypothesis not met`` () =
    let run = train (small.With(fault = ResOdeProofs.Numerics.Model.EngineFault.StaleGradient))
    Assert.True(Verdict.isHypothesisNotMet (Result.evaluate DepthSmoothness.aposteriori run).Verdict)

/// Adds δ to every entry of W_k (k = L/2) of the last snapshot, with δ√(md) = 4·max_k‖Δ_k‖: the layer's
/// increments grow to about four times the observed value. The bound propagated from the previous
/// (consecutive) snapshot must then be violated.
[<Fact>]
let ``A.aposteriori: a snapshot with one layer bumped → violated`` () =
    let spec = withSteps (small.With(vScale = 0.1, iterations = 20)) [| 0; 10; 19; 20 |]
    let data = RunDirectory.InMemory(spec.Train())
    let before = Run(data)
    Assert.True(Verdict.isHolds (Result.evaluate DepthSmoothness.aposterioriSegments before).Verdict)
    let last = data.Steps.Length - 1
    let observed = before.DepthIncrement last
    let md = spec.Width * spec.Dim
    let k = spec.Depth / 2
    let delta = 4.0 * observed / sqrt (float md)
    let original = data.W.[last]
    let w = Array.copy original
    for e in 0 .. md - 1 do w.[k * md + e] <- w.[k * md + e] + delta
    data.W.[last] <- w
    // read from a file, the bump is caught by the replay, and the result loses its per-iterate evidence
    let fromFile = Run(data)
    Assert.True(Verdict.isViolated (Result.evaluate ReplayEvidence.replay fromFile).Verdict)
    Assert.True(Verdict.isHypothesisNotMet (Result.evaluate DepthSmoothness.aposterioriSegments fromFile).Verdict)
    // the comparison itself: evidence built from the faithful weights, then the snapshot bumped in place
    data.W.[last] <- Array.copy original
    let bumped = Run(data)
    bumped.Trace "smooth_z" |> ignore
    Array.blit w 0 data.W.[last] 0 w.Length
    match (Result.evaluate DepthSmoothness.aposterioriSegments bumped).Verdict with
    | Violated wit -> Assert.Contains("snapshot 3", wit.When)
    | v -> failwithf "expected Violated, got %A (observed %g, bumped %g)" v observed (bumped.DepthIncrement last)

let private ladderOf (init: InitKind) =
    [ 4; 8; 16; 32 ]
    |> List.map (fun l -> train (RunSpec(Depth = l, Width = 6, Samples = 5, Dim = 3, Init = init, Eta = 0.01, Iterations = 10, Snapshots = 2, Seed = 4L)))
    |> Ladder.create
    |> function
        | Ok l -> l
        | Error e -> failwith e

/// The one ladder type checks what each of the two it replaced checked: the MLP's width and the block ladder's init kind
/// and architecture.
[<Fact>]
let ``Ladder: a tied and an i.i.d. run of one setting → refused, the init named`` () =
    let run l init = train (RunSpec(Depth = l, Width = 6, Samples = 5, Dim = 3, Init = init, Eta = 0.01, Iterations = 2, Snapshots = 2, Seed = 4L))
    match Ladder.create [ run 4 InitKind.Tied; run 8 InitKind.Iid ] with
    | Error e -> Assert.Contains("init iid vs tied", e)
    | Ok _ -> failwith "a tied and an i.i.d. run were accepted as one ladder"
    match Ladder.create [ run 4 InitKind.Tied; run 8 InitKind.Tied ] with
    | Ok l -> Assert.Equal<int list>([ 4; 8 ], l.Depths)
    | Error e -> failwith e

[<Fact>]
let ``A.rate: tied ladder → holds`` () =
    let e = Result.evaluate DepthSmoothness.rate (ladderOf InitKind.Tied)
    Assert.True(Verdict.isHolds e.Verdict, sprintf "%A %A" e.Verdict e.Notes)

[<Fact>]
let ``A.rate: i.i.d. ladder → violated`` () =
    let e = Result.evaluate DepthSmoothness.rate (ladderOf InitKind.Iid)
    Assert.True(Verdict.isViolated e.Verdict, sprintf "%A %A" e.Verdict e.Notes)

/// A ladder that starts at L = 1 (whose run has no pair of layers, max‖Δ‖ = 0 by definition) is told so, where the row read
/// "e.g. no training"; the same ladder from L = 2 is decided.
[<Fact>]
let ``A.rate: a smooth ladder L = 1, 2, 4, 8 → not applicable naming L = 1's missing pair of layers; from L = 2 → decided`` () =
    let runs = [ 1; 2; 4; 8 ] |> List.map (fun l -> train (RunSpec(Depth = l, Width = 6, Samples = 5, Dim = 3, Init = InitKind.Smooth, VScale = 0.3, Eta = 0.01, Iterations = 10, Snapshots = 2, Seed = 4L)))
    let ladder (rs: Run list) = match Ladder.create rs with | Ok l -> l | Error e -> failwith e
    match (Result.evaluate DepthSmoothness.rate (ladder runs)).Verdict with
    | NotApplicable why -> Assert.Contains("L = 1 has no pair of consecutive layers", why)
    | v -> failwithf "%A" v
    let fromTwo = Result.evaluate DepthSmoothness.rate (ladder (List.tail runs))
    Assert.False((match fromTwo.Verdict with NotApplicable _ -> true | _ -> false), sprintf "%A" fromTwo.Verdict)

[<Fact>]
let ``A.rate: two depths → hypothesis not met (three depths)`` () =
    let l = ladderOf InitKind.Tied
    let e = Result.evaluate DepthSmoothness.rate { Runs = List.take 2 l.Runs }
    Assert.True(Verdict.isHypothesisNotMet e.Verdict)

/// A.rate's rule on ladders whose max‖Δ‖ is given: e(L) = (C/L)(1 + c/L) with c = −1 and −2 over L = 4, …, 64 (L·e bounded
/// by C and still growing, e.g. 0.5, 0.75, 0.875, 0.94, 0.97 of it: a pre-asymptotic ladder) and a NumPy user's ladder;
/// ladders without decay: e(L) = C·L^0.1 and constant over three depths, the i.i.d. ladder's measured values over four,
/// and L^0.032 with 1 % noise over six.
[<Fact>]
let ``A.rate's rule (Rate.decideShortLadder): a pre-asymptotic 1/L ladder of five depths → not rejected (the plain slope alone rejected it); ladders without decay over three, four and six depths → rejected`` () =
    let depths = [ 4; 8; 16; 32; 64 ]
    for c in [ -1.0; -2.0 ] do
        let pre = depths |> List.map (fun l -> let l = float l in (1.0 / l) * (1.0 + c / l))
        let plain, corrected = Rate.fit depths pre, Rate.fitWithCorrection depths pre
        // the plain slope's interval alone lies below 1: the former rule read that as a violation
        Assert.Equal(Rate.Rejected, Rate.outcome [ plain ])
        let outcome, best = Rate.decideShortLadder plain corrected
        Assert.True((outcome <> Rate.Rejected) && best.Upper >= 1.0, sprintf "c = %g: %A %s (upper %g)" c outcome (Rate.describe best) best.Upper)
    // a NumPy user's smooth ladder (DepthSmoothness.md): L·D = 52.0, 55.4, 56.2, 60.7, 61.2 over L = 8 … 128, slope
    // −0.940 ± 0.027, violated by the plain slope alone
    let user = [ 8; 16; 32; 64; 128 ]
    let ld = List.map2 (fun l x -> x / float l) user [ 52.0; 55.4; 56.2; 60.7; 61.2 ]
    Assert.Equal(Rate.Rejected, Rate.outcome [ Rate.fit user ld ])
    let outcome, best = Rate.decideShortLadder (Rate.fit user ld) (Rate.fitWithCorrection user ld)
    Assert.True((outcome <> Rate.Rejected), sprintf "the user's ladder: %A %s (upper %g)" outcome (Rate.describe best) best.Upper)
    for depths, errs in [ [ 4; 8; 16 ], [ 4; 8; 16 ] |> List.map (fun l -> 3.0 * float l ** 0.1)
                          [ 4; 8; 16 ], [ 1.0; 1.0; 1.0 ]
                          [ 4; 8; 16; 32 ], [ 5.385; 5.822; 7.604; 8.023 ]
                          // six depths, the order of the i.i.d. ladder of DepthSmoothness.md (slope 0.032 ± 0.018) with 1% noise:
                          // both fits reject
                          [ 2; 4; 8; 16; 32; 64 ], [ 2; 4; 8; 16; 32; 64 ] |> List.mapi (fun k l -> float l ** 0.032 * (1.0 + 0.01 * float (1 - 2 * (k % 2)))) ] do
        let outcome, best = Rate.decideShortLadder (Rate.fit depths errs) (Rate.fitWithCorrection depths errs)
        Assert.True((outcome = Rate.Rejected), sprintf "%A: %A %s" errs outcome (Rate.describe best))

/// A.rate on four depths: a producer's ladder W(s) = W₀ + s²W₁ (max‖Δ‖ = (2/L − 1/L²)‖W₁‖, so D ≤ C/L exactly) has a plain
/// order 0.99 whose narrow interval lies below 1; the fit with a c/L term supports the rate (1.000 [1.000, 1.001]) and
/// overturns the rejection. A ladder L^−0.9 (its corrected fit exact at order 0.9) and the i.i.d. ladder's four measured
/// values stay rejected.
[<Fact>]
let ``A.rate's rule (Rate.decideShortLadder): four depths of C/L − c/L² → not rejected (the plain fit alone rejected them); L^−0.9 and no decay over four depths → rejected`` () =
    for depths in [ [ 16; 32; 64; 128 ]; [ 8; 16; 32; 64 ] ] do
        let errs = depths |> List.map (fun l -> let l = float l in 3.7 * (2.0 / l - 1.0 / (l * l)))
        let plain, corrected = Rate.fit depths errs, Rate.fitWithCorrection depths errs
        Assert.Equal(Rate.Rejected, Rate.outcome [ plain ])
        let outcome, best = Rate.decideShortLadder plain corrected
        Assert.True((outcome = Rate.Consistent) && best.Upper >= 1.0 && best.Upper - best.Lower < 1.0, sprintf "%A: %A %s" depths outcome (Rate.describe best))
    for depths, errs in [ [ 8; 16; 32; 64 ], [ 8; 16; 32; 64 ] |> List.map (fun l -> 2.0 * float l ** -0.9)
                          [ 4; 8; 16; 32 ], [ 5.385; 5.822; 7.604; 8.023 ] ] do
        let outcome, best = Rate.decideShortLadder (Rate.fit depths errs) (Rate.fitWithCorrection depths errs)
        Assert.True((outcome = Rate.Rejected), sprintf "%A: %A %s" errs outcome (Rate.describe best))

/// The rate statements' confirmation by the deepest depths (`Rate.DeepestCount`): a faithful tied GELU ladder whose L·max‖Δ‖
/// levels off (9.24 … 15.84 over L = 4 … 128, DepthSmoothness.md) is rejected by both whole-ladder fits, but its deepest three
/// depths support order 1 (an interval reaching it and excluding order 0): pre-asymptotic, not rejected; so is a smooth tanh
/// ladder whose tail interval is wider than 1 but excludes 0. Ladders that decay too slowly at every depth, down to the
/// deepest (L^−0.8, L^−0.5, and L^0.032, the i.i.d. ladder's order), the i.i.d. ladder's four values, and an i.i.d. ladder
/// whose deepest three give an interval reaching 1 but holding 0 too stay rejected; four depths of the levelling ladder (L = 4 … 32) stay rejected, their deepest three (8, 16, 32) rejecting as
/// well. (A ladder whose decay stops abruptly at some depth makes the corrected fit's |ĉ|/L ≥ 1 and was inconclusive before.)
[<Fact>]
let ``Rate.decideOutcome, Rate.decideShortLadder: a ladder levelling off towards C/L (six depths) → pre-asymptotic, not rejected; decay too slow down to the deepest depths → rejected`` () =
    let depths = [ 4; 8; 16; 32; 64; 128 ]
    let levelling =
        List.map2 (fun l x -> x / float l) depths [ 9.23943193024744; 10.094227678392249; 12.158884125008859; 14.046500272570722; 15.216721569924154; 15.842370509424411 ]
    let plain, corrected = Rate.fit depths levelling, Rate.fitWithCorrection depths levelling
    match Rate.decideShortLadder plain corrected with
    | Rate.PreAsymptotic(whole, deep), reported ->
        // the whole-ladder fits reject (the former verdict), the deepest three do not
        Assert.True(whole.Upper < 1.0 && deep.Upper >= 1.0 && reported = whole, sprintf "%s / %s" (Rate.describe whole) (Rate.describe deep))
        Assert.Equal<int list>([ 32; 64; 128 ], deep.Depths)
    | o, best -> failwithf "the levelling ladder: %A %s" o (Rate.describe best)
    Assert.True(Verdict.isHypothesisNotMet (Rate.verdict (fst (Rate.decideOutcome plain corrected)) plain "ladder" "max over the horizon"))
    // a faithful smooth tanh ladder (train --v-scale 0.3 --n 10 --d 4 --width 8 --iters 60 --eta 0.03 --snapshots 4
    // --activation tanh --init smooth --seed 9): L·max‖Δ‖ = 36.1 … 80.3, still levelling off at L = 128 (80.2 at 256); its
    // deepest three give an interval wider than 1 that excludes order 0: evidence of decay consistent with 1/L, pre-asymptotic
    let tanhLadder =
        List.map2 (fun l x -> x / float l) depths [ 36.06806770010352; 47.84552329284152; 54.218663299019916; 66.03704065511627; 77.4483342721861; 80.29531869714293 ]
    match Rate.decideShortLadder (Rate.fit depths tanhLadder) (Rate.fitWithCorrection depths tanhLadder) with
    | Rate.PreAsymptotic(_, deep), _ -> Assert.True(deep.Upper - deep.Lower >= Rate.inconclusiveWidth && deep.Lower > 0.0, Rate.describe deep)
    | o, best -> failwithf "the tanh ladder: %A %s" o (Rate.describe best)
    let four = List.take 4 depths
    let outcome, best = Rate.decideShortLadder (Rate.fit four (List.take 4 levelling)) (Rate.fitWithCorrection four (List.take 4 levelling))
    Assert.True((outcome = Rate.Rejected), sprintf "four depths: %A %s" outcome (Rate.describe best))
    for p in [ 0.8; 0.5; -0.032 ] do
        let errs = depths |> List.map (fun l -> 2.0 * float l ** -p)
        let outcome, best = Rate.decideOutcome (Rate.fit depths errs) (Rate.fitWithCorrection depths errs)
        Assert.True((outcome = Rate.Rejected), sprintf "L^-%g: %A %s" p outcome (Rate.describe best))
    let iid = [ 5.385; 5.822; 7.604; 8.023 ]
    let outcome, best = Rate.decideShortLadder (Rate.fit four iid) (Rate.fitWithCorrection four iid)
    Assert.True((outcome = Rate.Rejected), sprintf "i.i.d.: %A %s" outcome (Rate.describe best))
    // an i.i.d. ladder of small weights (train --init iid --scale 0.02 --activation gelu --seed 8 --iters 100 --eta 0.03,
    // n = 10, d = 4, m = 8): L·max‖Δ‖ grows from 6.4 to 578, and its deepest three depths fit −0.125 [−1.437, 1.186], an
    // interval that reaches 1 but holds order 0 as well: no evidence, the rejection stands (it did not before the width
    // was required)
    let small = [ 2; 4; 8; 16; 32; 64 ]
    let grows = List.map2 (fun l x -> x / float l) small [ 6.390275388897115; 13.79860869965922; 26.376994485699004; 121.52145265905374; 300.0988652035353; 578.3959453541671 ]
    let deep = Rate.deepestFit (Rate.fit small grows)
    Assert.True(deep.Upper >= 1.0 && deep.Lower < 0.0, Rate.describe deep)
    let outcome, best = Rate.decideShortLadder (Rate.fit small grows) (Rate.fitWithCorrection small grows)
    Assert.True((outcome = Rate.Rejected), sprintf "i.i.d., small weights: %A %s" outcome (Rate.describe best))

/// The per-iterate points of A.aposteriori and A.split read the verifier's smooth_z column (the replay), not the producer's
/// trace: their label says so (a tester read "(trace smooth_z)" as the producer's claim being compared).
[<Fact>]
let ``A.aposteriori, A.split: per-iterate points → labelled as the verifier's smooth_z column (the replay), not the trace`` () =
    let run = train (RunSpec(Depth = 8, Width = 6, Samples = 5, Dim = 3, Eta = 0.01, Iterations = 10, Snapshots = 2, Seed = 4L))
    for r in [ DepthSmoothness.aposteriori; SplitResults.split ] do
        let e = Result.evaluate r run
        Assert.Contains(e.Series, fun p -> p.Where.Contains "the verifier's smooth_z column: the replay")
        Assert.DoesNotContain(e.Series, fun p -> p.Where.Contains "(trace smooth_z)")
