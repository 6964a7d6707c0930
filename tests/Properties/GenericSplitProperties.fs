/// The split form of result A for any architecture (docs/theorems/GenericResults.md, "A.split"): it holds on sampled
/// runs of every catalog block, a corrupted last snapshot is violated with every hypothesis met, and a corruption that
/// A.aposteriori lets through is violated by A.split.
module ResOdeProofs.Properties.GenericSplitProperties

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

/// Smooth settings of every block of the catalog with theory-side constants (one-layer, scaled-linear, conv, glu).
let catalogSpec : Gen<RunSpec> =
    Gen.oneof [ OneLayerBlockProperties.oneLayerSpec; ScaledLinearBlockProperties.scaledLinearSpec; ConvBlockProperties.convSpec; GluBlockProperties.gluSpec ]

let private describe (s: RunSpec) = if s.Architecture = "conv" then ConvBlockProperties.describeConv s else describeBlock s

let catalogArb = Arb.fromGenShrink (catalogSpec, fun s -> if s.Architecture = "conv" then ConvBlockProperties.shrinkConv s else shrinkBlock s)

let private verdict (r: Result<Run>) run = (Result.evaluate r run).Verdict

[<ProfiledProperty(12, Replay = "(3141,5927)")>]
let ``A.split: sampled smooth runs of every catalog block → holds, restarted or not, and the remainder's ball holds`` () =
    Prop.forAll catalogArb (fun spec ->
        let run = trainBlock spec
        let a, seg = verdict GenericSplit.split run, verdict GenericSplit.splitSegments run
        let ball = verdict GenericSplit.splitSegmentsRemainder run
        (not run.Setting.Diverged) ==> lazy (
            (Verdict.isHolds a && Verdict.isHolds seg && Verdict.isHolds ball)
            |@ sprintf "%s\nA.split: %A\nA.split.segments: %A\nA.split.segments.remainder: %A\n%s" (describe spec) a seg ball (reproduceBlock spec))
        |> Prop.classify true spec.Architecture
        |> Prop.collect (Verdict.tightness seg |> Option.map tightnessBucket |> Option.defaultValue "n/a"))

/// The A.split bound (from t = 0, or restarted) at the last snapshot.
let private splitBoundAtLast (restart: bool) (run: Run) =
    let t = GenericSplit.tracks run
    let st = if restart then List.last t.Segments else t.FromZero
    let j = run.Steps.[run.SnapshotCount - 1]
    st.Value.Bound.[j]

[<ProfiledProperty(8, Replay = "(2718,2819)")>]
let ``A.split: last snapshot bumped to 2.5 times its bound, hypotheses met → violated, restarted or not`` () =
    Prop.forAll catalogArb (fun spec ->
        let spec = spec.With(depth = max 4 spec.Depth, iterations = max 2 spec.Iterations)
        let run = trainBlock spec
        (not run.Setting.Diverged) ==> lazy (
        let before = verdict GenericSplit.split run, verdict GenericSplit.splitSegments run
        let afterZero = verdict GenericSplit.split (bumpLastSnapshotBy (2.5 * splitBoundAtLast false run) run)
        let afterSeg = verdict GenericSplit.splitSegments (bumpLastSnapshotBy (2.5 * splitBoundAtLast true run) run)
        (Verdict.isHolds (fst before) && Verdict.isHolds (snd before) && Verdict.isViolated afterZero && Verdict.isViolated afterSeg)
        |@ sprintf "%s\nbefore: %A\nafter (from t = 0): %A\nafter (segments): %A" (describe spec) before afterZero afterSeg))

/// The mutation: on the report's example of every catalog block, the last snapshot bumped so that its largest increment
/// lies strictly between the A.split bound and the A.aposteriori bound (target √(split·old), and the observed
/// increment m on both sides: split < target − m, target + m < old) → A.aposteriori holds, A.split is violated.
[<Fact>]
let ``A.split: report examples with the last snapshot bumped between both bounds → A.aposteriori holds, A.split violated`` () =
    for e in BlockCatalog.All |> Seq.filter (fun e -> not (isNull e.ReportExample)) do
        let run = trainBlock (reportExample e)
        let j = run.Steps.[run.SnapshotCount - 1]
        let old, _, _ = GenericResults.depthSmoothnessBound run.Architecture.Value run
        let old = old.[j]
        let sharp = splitBoundAtLast false run
        let m = run.DepthIncrement(run.SnapshotCount - 1)
        let target = sqrt (sharp * old)
        Assert.True(sharp < target - m && target + m < old,
                    sprintf "%s: no room between the bounds (split %g, A.aposteriori %g, observed %g)" e.Name sharp old m)
        let bumped = bumpLastSnapshotBy target run
        let loose, sharper = verdict GenericResults.depthSmoothness bumped, verdict GenericSplit.split bumped
        Assert.True(Verdict.isHolds loose && Verdict.isViolated sharper, sprintf "%s: A.aposteriori %A, A.split %A" e.Name loose sharper)

[<Fact>]
let ``A.split: clipped gradient descent → hypothesis not met`` () =
    let spec = RunSpec(Architecture = "one-layer", Depth = 4, Samples = 3, Dim = 2, Iterations = 2, Snapshots = 2, Clip = System.Nullable 0.5)
    Assert.True(Verdict.isHypothesisNotMet (verdict GenericSplit.split (trainBlock spec)))

/// A.split.segments.remainder on the report's example of every catalog block: the faithful run holds; the last snapshot's
/// middle layer moved by a matrix of norm 2.5ρ (`bumpLastSnapshotBy`), ρ the largest radius the row compared with: each of
/// that layer's two pairs then lies at least 2.5ρ − ρ from its D̂ → violated at the last snapshot, every hypothesis met.
[<Fact>]
let ``A.split.segments.remainder: report examples, the last snapshot's middle layer moved by 2.5 times the largest radius → violated there`` () =
    for e in BlockCatalog.All |> Seq.filter (fun e -> not (isNull e.ReportExample)) do
        let run = trainBlock (reportExample e)
        let faithful = Result.evaluate GenericSplit.splitSegmentsRemainder run
        Assert.True(Verdict.isHolds faithful.Verdict, sprintf "%s: %A" e.Name faithful.Verdict)
        let rho = faithful.Constants |> List.find (fun (n, _) -> n.StartsWith "remainder radius") |> snd
        let moved = Result.evaluate GenericSplit.splitSegmentsRemainder (bumpLastSnapshotBy (2.5 * rho) run)
        Assert.True(moved.Hypotheses |> List.forall (fun (_, ok, _) -> ok), sprintf "%s: %A" e.Name moved.Hypotheses)
        match moved.Verdict with
        | Violated w -> Assert.Contains(sprintf "snapshot %d," (run.SnapshotCount - 1), w.When)
        | v -> failwithf "%s: expected Violated, got %A" e.Name v

/// The split rows' hypothesis "replay stands for the producer" on a one-layer report example opened as another build's run
/// (run.json names another build: no bit-exact claim): the faithful run still lands on every snapshot bit for bit, so the
/// rows hold; with its last snapshot moved, A.split.segments.remainder compares it within twice the landing allowance of
/// E.replay's rounding companions (since they certify another producer's block segments; before, not met) and is violated,
/// as the same move on the run of this build is.
[<Fact>]
let ``A.split.segments.remainder: a moved snapshot of another build's block run → violated within the companions' landing allowance, of this build's → violated`` () =
    let e = BlockCatalog.All |> Seq.find (fun e -> e.Name = "one-layer")
    let ours = trainBlock (reportExample e)
    let rho = (Result.evaluate GenericSplit.splitSegmentsRemainder ours).Constants |> List.find (fun (n, _) -> n.StartsWith "remainder radius") |> snd
    let foreign (run: Run) =
        run.Data.Meta.EngineBuild <- "commit:another-build"
        run
    let faithfulForeign = foreign (trainBlock (reportExample e))
    for r in [ GenericSplit.splitSegments; GenericSplit.splitSegmentsRemainder ] do
        Assert.True(Verdict.isHolds (verdict r faithfulForeign), sprintf "%s on the faithful foreign run: %A" r.Id (verdict r faithfulForeign))
    let movedForeign = bumpLastSnapshotBy (2.5 * rho) (foreign (trainBlock (reportExample e)))
    let v = verdict GenericSplit.splitSegmentsRemainder movedForeign
    Assert.True(Verdict.isViolated v, sprintf "moved foreign run: %A" v)
    Assert.True(Verdict.isViolated (verdict GenericSplit.splitSegmentsRemainder (bumpLastSnapshotBy (2.5 * rho) ours)))
