/// The a posteriori form of result A stated once for every architecture (AposterioriFamily.fs; docs/theorems/DepthSmoothness.md,
/// "One statement for every architecture"): the MLP's rows and any block's are the same two statements, and the one
/// comparison they share rejects a bound below a measured increment unless the measurement's allowance covers it.
module ResOdeProofs.Properties.AposterioriFamilyTests

open Xunit
open ResOdeProofs.Numerics
open ResOdeProofs.Numerics.Training
open ResOdeProofs.Theory

let private oneLayer () =
    BlockProperties.trainBlock (RunSpec(Architecture = "one-layer", Depth = 4, Samples = 5, Dim = 3, Iterations = 6, Snapshots = 3, Seed = 7L))

[<Fact>]
let ``A.aposteriori*: one statement each → the same ids for the MLP's ingredients and any block's, the restarted title says so`` () =
    let ids = [ DepthSmoothness.aposteriori; DepthSmoothness.aposterioriSegments; GenericResults.depthSmoothness; GenericResults.depthSmoothnessSegments ] |> List.map (fun r -> r.Id)
    Assert.Equal<string list>([ "A.aposteriori"; "A.aposteriori.segments"; "A.aposteriori"; "A.aposteriori.segments" ], ids)
    for r in [ DepthSmoothness.aposterioriSegments; GenericResults.depthSmoothnessSegments ] do
        Assert.Contains("restarted at each snapshot", r.Title)
    // the registry lists the current ids for a block run and none of the former ones
    let listed = Registry.blockRunResults |> List.map (fun r -> r.Id)
    Assert.Contains("A.aposteriori.segments", listed)
    for former in [ "G.A.segments"; "G.A.aposteriori"; "G.A.aposteriori.segments" ] do
        Assert.DoesNotContain(former, listed)

[<Fact>]
let ``A.aposteriori (the one comparison): a bound below the last snapshot's increment → violated there; an allowance covering it → holds`` () =
    let run = oneLayer ()
    let bound, _, measured = GenericResults.depthSmoothnessBound run.Architecture.Value run
    let s = run.SnapshotCount - 1
    let j = run.Steps.[s]
    let track : AposterioriFamily.Track =
        { Bound = bound; Measured = measured; Allowance = (fun _ _ -> 0.0); IterateLabel = "iterate"; SnapshotLabel = "snapshot" }
    Assert.True(Verdict.isHolds (AposterioriFamily.evaluate run track 0.0 0.0 [] []).Verdict)
    // the bound at the last snapshot's iterate halved below both measured values there: the worst comparison fails
    let low = Array.copy bound
    low.[j] <- 0.5 * min measured.[j] (run.DepthIncrement s)
    match (AposterioriFamily.evaluate run { track with Bound = low } 0.0 0.0 [] []).Verdict with
    | Violated w -> Assert.Contains(sprintf "iteration %d" j, w.When)
    | v -> failwithf "expected violated, got %A" v
    // an allowance of the measured value itself at that iterate covers it (the MLP's rounding allowance enters the same way)
    let covered = { track with Bound = low; Allowance = fun i m -> if i = j then m else 0.0 }
    Assert.True(Verdict.isHolds (AposterioriFamily.evaluate run covered 0.0 0.0 [] []).Verdict)
    // the segments' evaluation reports the tightness at every later snapshot, no ratio (NaN) where nothing was measured
    let seg = AposterioriFamily.evaluateSegments run { track with Measured = Array.zeroCreate measured.Length } 0.0
    Assert.Equal(run.SnapshotCount - 1, seg.Constants.Length)
    Assert.All(seg.Constants, fun (_, t) -> Assert.True(System.Double.IsNaN t))
    let seg = AposterioriFamily.evaluateSegments run track 0.0
    Assert.All(seg.Constants, fun (_, t) -> Assert.True(t >= 1.0 - 1e-9 && System.Double.IsFinite t))

[<Fact>]
let ``A.aposteriori.segments (the one step): worked values, zero coefficients, zero start → z_{j+1} = (1 + ηa)z_j + ηb/L`` () =
    // η = 0.1, L = 8, a = 10, b = 4, z = 2: (1 + 1)·2 + 0.4/8 = 4.05
    Assert.Equal(4.05, AposterioriFamily.step 0.1 8.0 10.0 4.0 2.0, 12)
    // no growth without coefficients, and the forcing alone after a zero start
    Assert.Equal(3.0, AposterioriFamily.step 0.1 8.0 0.0 0.0 3.0)
    Assert.Equal(0.05, AposterioriFamily.step 0.1 8.0 10.0 4.0 0.0, 12)
