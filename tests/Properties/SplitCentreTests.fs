/// A.split.centre.segments (docs/theorems/DepthSmoothness.md): the linearised centre with a certified remainder holds on
/// sampled GELU runs, rejects a bumped snapshot with its hypotheses met, reports other activations as not covered, its
/// GELU constants are upper bounds, and on figure 2's first segment it rejects a corruption A.split.segments lets through.
module ResOdeProofs.Properties.SplitCentreTests

open Xunit
open FsCheck
open FsCheck.FSharp
open FsCheck.Xunit
open ResOdeProofs.Numerics
open ResOdeProofs.Numerics.IO
open ResOdeProofs.Numerics.Training
open ResOdeProofs.Numerics.Verification
open ResOdeProofs.Theory
open ResOdeProofs.Properties.Generators
open ResOdeProofs.Properties.Profile

/// Sampled smooth runs with σ = GELU (CentreRemainderTests samples them too).
let gelu = Arb.fromGenShrink (smoothSpec |> Gen.map (fun s -> s.With(activation = ActivationKind.Gelu)), shrinkSpec)

[<ProfiledProperty(10, Replay = "(2121,2127)")>]
let ``A.split.centre.segments: smooth GELU runs → holds`` () =
    Prop.forAll gelu (fun spec ->
        let v = (Result.evaluate SplitResults.centreSegments (train spec)).Verdict
        Verdict.isHolds v |@ sprintf "%s\n%A\n%s" (describe spec) v (reproduce spec))

/// The faithful run holds; one layer (the middle one) of snapshot 2 bumped by 0.001 in every entry, losses and trace rewritten
/// (the loss and trace checks hold) → violated at that snapshot.
let private bumpCaught (spec: RunSpec) =
    let faithful = Run(RunDirectory.InMemory(spec.Train()))
    Assert.True(Verdict.isHolds (Result.evaluate SplitResults.centreSegments faithful).Verdict, "the faithful run")
    let data = RunDirectory.InMemory(spec.Train())
    SharperBoundsProperties.bumpLayer data 2 (spec.Depth / 2) 0.001
    let run = Run(data)
    for r in [ RunIntegrity.snapshotLoss; RunIntegrity.traceConsistency ] do
        Assert.True(Verdict.isHolds (Result.evaluate r run).Verdict, sprintf "%s lets the bump through" r.Id)
    match (Result.evaluate SplitResults.centreSegments run).Verdict with
    | Violated w -> Assert.Contains(sprintf "iteration %d" data.Steps.[2], w.When)
    | v -> failwithf "expected Violated, got %A" v

/// The figure-1 shape at L = 16 (m = 32, n = 100, d = 16, η = 0.01/16, 50 iterations, 5 snapshots): one layer of snapshot
/// 2 bumped by 0.001 in every entry, losses and trace rewritten (the loss and trace checks hold) → violated at that snapshot.
[<Fact(DisplayName = "A.split.centre.segments: one layer of one snapshot bumped by 0.001, losses and trace rewritten → violated")>]
let bumpViolated () =
    let spec = RunSpec(Depth = 16, Width = 32, Samples = 100, Dim = 16, Eta = 0.000625, Iterations = 50, Snapshots = 5, Seed = 3L)
    bumpCaught spec

/// Issue 21's control at L = 64: the figure-1 setting (m = 32, n = 100, d = 16, η = 0.01/16, 50 iterations, 5 snapshots), one
/// layer of snapshot 2 bumped by 0.001 in every entry, losses and trace rewritten → violated at that snapshot, with the
/// rule's error taken from the pairs' maxima.
[<Fact(DisplayName = "A.split.centre.segments: figure 1 (L = 64), one layer of one snapshot bumped by 0.001, losses and trace rewritten → violated")>]
let bumpViolatedFigure1 () =
    let spec = RunSpec(Depth = 64, Width = 32, Samples = 100, Dim = 16, Eta = 0.000625, Iterations = 50, Snapshots = 5, Seed = 0L)
    bumpCaught spec

[<Fact(DisplayName = "A.split.centre.segments: tanh run → hypothesis not met (A.split.segments holds)")>]
let tanhNotCovered () =
    let spec = RunSpec(Depth = 8, Width = 8, Samples = 12, Dim = 4, Eta = 0.01, Iterations = 10, Snapshots = 3, Seed = 1L, Activation = ActivationKind.Tanh)
    let run = Run(RunDirectory.InMemory(spec.Train()))
    Assert.True(Verdict.isHolds (Result.evaluate SplitResults.splitSegments run).Verdict)
    match (Result.evaluate SplitResults.centreSegments run).Verdict with
    | HypothesisNotMet why -> Assert.Contains("GELU", sprintf "%A" why)
    | v -> failwithf "expected hypothesis not met, got %A" v

let private iidSpec = RunSpec(Depth = 8, Width = 16, Samples = 20, Dim = 4, Eta = 0.01, Iterations = 30, Snapshots = 4, Seed = 5L, Init = InitKind.Iid)

/// Independent layers make δ = ΔW_k h_k of order one, where the rule's Taylor form would carry an error of order δ⁶; those
/// entries take the exact integrals by divided differences, so the centre stays the tighter bound: the row holds, its bound is
/// nowhere above A.split.segments', it is the lower at most pairs, and each pair at each snapshot is within 1 % of its increment.
[<Fact(DisplayName = "A.split.centre.segments: i.i.d. GELU layers → holds, nowhere above A.split.segments, within 1% at every snapshot's worst pair")>]
let iidTight () =
    let run = Run(RunDirectory.InMemory(iidSpec.Train()))
    let centre = Result.evaluate SplitResults.centreSegments run
    let segments = Result.evaluate SplitResults.splitSegments run
    Assert.True(Verdict.isHolds centre.Verdict, sprintf "%A" centre.Verdict)
    Assert.True(Verdict.isHolds segments.Verdict, sprintf "%A" segments.Verdict)
    let constant (prefix: string) = centre.Constants |> List.find (fun (n, _) -> n.StartsWith prefix) |> snd
    Assert.True(constant "pair bounds from A.split.segments" < 0.5 * constant "pair bounds in all", "the centre is the lower at most pairs")
    for s in 1 .. iidSpec.Snapshots - 1 do
        let worst = constant (sprintf "tightness at snapshot %d, worst pair" s)
        Assert.True(worst <= 1.01, sprintf "snapshot %d: worst pair at %gx" s worst)
    // the row's bound at every iterate, max_k min(c_k, s_k), is nowhere above A.split.segments' max_k s_k
    let b = SplitResults.bounds run
    Array.iteri2 (fun j (c: float) (s: float) -> Assert.True(c <= s, sprintf "iterate %d: %g above A.split.segments %g" j c s)) b.Centre b.Segments

/// Layers smooth in depth: the centre is the lower bound at nearly every pair (the figure-1 shape at L = 16).
[<Fact(DisplayName = "A.split.centre.segments: figure-1 shape (tied, L = 16) → the centre's bound taken at nearly every pair")>]
let smoothTakesTheCentre () =
    let spec = RunSpec(Depth = 16, Width = 32, Samples = 100, Dim = 16, Eta = 0.000625, Iterations = 50, Snapshots = 5, Seed = 3L)
    let centre = Result.evaluate SplitResults.centreSegments (Run(RunDirectory.InMemory(spec.Train())))
    Assert.True(Verdict.isHolds centre.Verdict, sprintf "%A" centre.Verdict)
    let constant (prefix: string) = centre.Constants |> List.find (fun (n, _) -> n.StartsWith prefix) |> snd
    Assert.True(constant "pair bounds from A.split.segments" < 0.05 * constant "pair bounds in all", "the centre is the tighter at most pairs")

/// The last layer of snapshot `snap` is moved along its own increment, Z_L ← Z_{L−1} + c(Z_L − Z_{L−1}), so that only the pair
/// (L − 1, L) changes, with c putting that pair's increment at the geometric mean of its centre bound and its A.split.segments
/// bound (both from the faithful run, propagated from snapshot snap − 1, which the corruption does not touch); losses and trace
/// rewritten. The loss and trace checks and A.split.segments hold; A.split.centre.segments is violated at that pair and snapshot.
let private betweenTheBounds (spec: RunSpec) (snap: int) =
    let faithful = Run(RunDirectory.InMemory(spec.Train()))
    let b = SplitResults.bounds faithful
    let centre, split = b.CentrePairs.[snap], b.SegmentPairs.[snap]
    let k0 = centre.Length - 1
    Assert.True(centre.[k0] * 1.1 < split.[k0], sprintf "centre bound %g, A.split.segments bound %g: no room between them" centre.[k0] split.[k0])
    let data = RunDirectory.InMemory(spec.Train())
    let md = spec.Width * spec.Dim
    let w, v = data.W.[snap], data.V.[snap]
    let x =
        let a = Linalg.frobeniusDiff w ((k0 + 1) * md) w (k0 * md) md
        let b = Linalg.frobeniusDiff v ((k0 + 1) * md) v (k0 * md) md
        sqrt (a * a + b * b)
    let c = sqrt (centre.[k0] * split.[k0]) / x
    let move (z: float[]) =
        let z = Array.copy z
        for e in 0 .. md - 1 do z.[(k0 + 1) * md + e] <- z.[k0 * md + e] + c * (z.[(k0 + 1) * md + e] - z.[k0 * md + e])
        z
    SharperBoundsProperties.rewriteSnapshot data snap (move w) (move v)
    let run = Run(data)
    for r in [ RunIntegrity.snapshotLoss; RunIntegrity.traceConsistency ] do
        Assert.True(Verdict.isHolds (Result.evaluate r run).Verdict, sprintf "%s lets the corruption through" r.Id)
    Assert.True(Verdict.isHolds (Result.evaluate SplitResults.splitSegments run).Verdict, "A.split.segments lets it through")
    match (Result.evaluate SplitResults.centreSegments run).Verdict with
    | Violated w ->
        Assert.Contains(sprintf "pair k = %d" (k0 + 1), w.Where)
        Assert.Contains(sprintf "iteration %d" data.Steps.[snap], w.When)
    | v -> failwithf "A.split.centre.segments: expected Violated, got %A" v

/// `betweenTheBounds` on the i.i.d. run's last snapshot: there the divided differences make the centre far the tighter.
[<Fact(DisplayName = "A.split.centre.segments: i.i.d. run, last pair's increment between the centre bound and the A.split.segments bound → violated (A.split.segments holds)")>]
let iidBetweenTheBounds () = betweenTheBounds iidSpec (iidSpec.Snapshots - 1)

/// σ⁽ᵏ⁾ of GELU from the Hermite form kφ⁽ᵏ⁻²⁾ + xφ⁽ᵏ⁻¹⁾, φ⁽ʲ⁾ = (−1)ʲHe_jφ (He_{j+1} = xHe_j − jHe_{j−1}).
let private geluDerivative (k: int) (x: float) =
    let he = Array.zeroCreate (k + 1)
    he.[0] <- 1.0
    he.[1] <- x
    for j in 1 .. k - 1 do he.[j + 1] <- x * he.[j] - float j * he.[j - 1]
    let phi = exp (-0.5 * x * x) / sqrt (2.0 * System.Math.PI)
    let sign j = if j % 2 = 0 then 1.0 else -1.0
    float k * sign (k - 2) * he.[k - 2] * phi + x * sign (k - 1) * he.[k - 1] * phi

/// The grid maximum plus the largest move between grid points (spacing × sup|σ⁽ᵏ⁺¹⁾|, with 200 above sup|σ⁽⁸⁾| ≈ 47.9 and
/// sup|σ⁽⁹⁾| ≈ 129) stays below the constants; beyond |x| = 14 every derivative is below 1e-30. The Hermite form is checked
/// first against σ''(x) = φ(x)(2 − x²).
[<Fact(DisplayName = "CentrePass: GELU's sup|σ'|, sup|σ''|, …, sup|σ⁽⁸⁾| constants on a grid with a Lipschitz margin → upper bounds")>]
let geluConstants () =
    for x in [ -1.3; 0.0; 0.7; 2.5 ] do
        let expected = exp (-0.5 * x * x) / sqrt (2.0 * System.Math.PI) * (2.0 - x * x)
        Assert.True(abs (geluDerivative 2 x - expected) < 1e-15, sprintf "σ''(%g)" x)
    let h = 1e-5
    let grid = [| for i in -1400000 .. 1400000 -> float i * h |]
    let sup k = grid |> Array.fold (fun a x -> max a (abs (geluDerivative k x))) 0.0
    Assert.True(sup 7 + h * 200.0 <= CentrePass.GeluSup7, sprintf "sup|σ⁽⁷⁾| ≈ %g" (sup 7))
    Assert.True(sup 8 + h * 200.0 <= CentrePass.GeluSup8, sprintf "sup|σ⁽⁸⁾| ≈ %g" (sup 8))
    Assert.True(sup 7 > 0.99 * CentrePass.GeluSup7, "the constant is not needlessly loose")
    // the rule's correction terms: sup|σ⁽⁴⁾|, sup|σ⁽⁵⁾|, sup|σ⁽⁶⁾| (margins h·sup of the next derivative: 2.9, 7.2, 16.5)
    Assert.True(sup 4 + h * 3.0 <= CentrePass.GeluSup4, sprintf "sup|σ⁽⁴⁾| ≈ %g" (sup 4))
    Assert.True(sup 5 + h * 8.0 <= CentrePass.GeluSup5, sprintf "sup|σ⁽⁵⁾| ≈ %g" (sup 5))
    Assert.True(sup 6 + h * 17.0 <= CentrePass.GeluSup6, sprintf "sup|σ⁽⁶⁾| ≈ %g" (sup 6))
    Assert.True(sup 4 > 0.999 * CentrePass.GeluSup4 && sup 5 > 0.999 * CentrePass.GeluSup5 && sup 6 > 0.999 * CentrePass.GeluSup6, "not needlessly loose")
    // the rounding allowance's sup|σ'|, sup|σ''|, sup|σ'''| (σ' = Φ + xφ; margins h·sup of the next derivative, each below 2)
    let sup1 = grid |> Array.fold (fun a x -> max a (abs (SpecialFunctions.NormalCdf x + x * SpecialFunctions.NormalPdf x))) 0.0
    Assert.True(sup1 + h * 2.0 + 1e-12 <= CentrePass.GeluSup1, sprintf "sup|σ'| ≈ %g" sup1)
    Assert.True(sup 2 + h * 2.0 <= CentrePass.GeluSup2, sprintf "sup|σ''| ≈ %g" (sup 2))
    Assert.True(sup 3 + h * 2.0 <= CentrePass.GeluSup3, sprintf "sup|σ'''| ≈ %g" (sup 3))
    Assert.True(sup1 > 0.999 * CentrePass.GeluSup1 && sup 2 > 0.999 * CentrePass.GeluSup2 && sup 3 > 0.999 * CentrePass.GeluSup3, "not needlessly loose")

/// Figure 2's first segment (L = 64, m = 64, n = 50, d = 16, η = 0.005, snapshots at 0 and 1000, covered as a bit-exact
/// producer). The last layer of snapshot 1 is moved along its own increment, Z_L ← Z_{L−1} + c(Z_L − Z_{L−1}), so only the
/// pair (L − 1, L) changes, with c putting that pair's increment at the geometric mean of its centre bound and its
/// A.split.segments bound (both from the faithful run and propagated from snapshot 0, which the corruption does not touch).
/// Losses and trace rewritten: A.split.segments holds, A.split.centre.segments is violated at that pair.
[<Fact(DisplayName = "A.split.centre.segments: figure 2's first segment, last pair's increment between the centre bound and the A.split.segments bound → violated (A.split.segments holds)")>]
let figure2FirstSegment () =
    betweenTheBounds (RunSpec(Depth = 64, Width = 64, Samples = 50, Dim = 16, Eta = 0.005, Iterations = 1000, Snapshots = 2, Seed = 0L)) 1
