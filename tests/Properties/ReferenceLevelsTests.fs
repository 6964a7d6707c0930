/// B.*'s reference neural-ODE solves at two levels (docs/theorems/EulerError.md, "Integration error: two levels"): the
/// analysis solves at the loose level first and keeps it only where every integration term is at most
/// `EulerError.IntegrationFraction` of the bound it enters (`EulerError.acceptsLoose`); elsewhere it solves again at the
/// tight level, the former fixed tolerances.
module ResOdeProofs.Properties.ReferenceLevelsTests

open Xunit
open ResOdeProofs.Numerics
open ResOdeProofs.Numerics.Training
open ResOdeProofs.Theory
open ResOdeProofs.Properties.Generators

let private within (what: string) (a: float) (b: float) (scale: float) =
    Assert.True(abs (a - b) <= EulerError.IntegrationFraction * scale, sprintf "%s: %.12e at the loose level, %.12e at the tight one (scale %.3e)" what a b scale)

/// i.i.d. layers moved by 20 steps: rough in depth, so the reference solves take many steps per layer interval and the
/// tolerance, not the stops, sets their number.
[<Fact(DisplayName = "B.*'s reference solves: i.i.d. layers (the tolerance binds) → the loose level kept at every later snapshot, fewer steps, every bound, local bound and measured distance within 10⁻³ of the tight level's, the same verdicts")>]
let looseKeptWhereNegligible () =
    let run = train (RunSpec(Depth = 16, Width = 16, Dim = 4, Samples = 8, Init = InitKind.Iid, Eta = 0.01, Iterations = 20, Snapshots = 3, Seed = 5L))
    let checks = EulerError.analyse run
    for s in 1 .. run.SnapshotCount - 1 do
        let c = checks.[s]
        Assert.Equal(EulerError.LooseRtol, c.SolveRtol)
        Assert.True(EulerError.acceptsLoose c)
        let t = EulerError.analyseSnapshotTight 1.0 1.0 run s
        Assert.Equal(EulerError.Rtol, t.SolveRtol)
        Assert.True(c.OdeSteps < t.OdeSteps && c.CheckSteps < t.CheckSteps,
                    sprintf "snapshot %d: %d and %d steps at the loose level, %d and %d at the tight one" s c.OdeSteps c.CheckSteps t.OdeSteps t.CheckSteps)
        for x, y in Array.zip c.Samples t.Samples do
            within "B.bound's bound" x.Bound y.Bound y.Bound
            within "the secant bound" x.SecantBound y.SecantBound y.SecantBound
            within "the defect bound" x.DefectBound y.DefectBound y.DefectBound
            within "the measured distance" x.Measured y.Measured (min y.Bound (min y.SecantBound y.DefectBound))
            for k in 0 .. x.LocalBounds.Length - 1 do within (sprintf "local bound %d" (k + 1)) x.LocalBounds.[k] y.LocalBounds.[k] y.LocalBounds.[k]
    for r in [ EulerError.bound; EulerError.boundSecant; EulerError.boundDefect; EulerError.localError ] do
        Assert.True(Verdict.isHolds (Result.evaluate r run).Verdict, sprintf "%s: %A" r.Id (Result.evaluate r run).Verdict)

/// The run of IntegrationEstimateTests whose bound is of order 10⁻¹⁹: no solve is accurate enough for it, the loose level's
/// integration terms are far above 10⁻³ of the bounds, and the analysis falls back to the tight level (where the
/// hypothesis is then reported not met, as before the two levels).
[<Fact(DisplayName = "B.*'s reference solves: a bound of order 10⁻¹⁹ → the loose level's integration terms above 10⁻³ of it, not accepted; the tight level kept")>]
let tightWhereLooseIsNot () =
    let run = train (RunSpec(Depth = 64, Width = 8, Dim = 4, Samples = 8, Eta = 1e-10, Iterations = 1, Snapshots = 2, Seed = 3L))
    let loose = EulerError.analyseSnapshotAt (EulerError.LooseRtol, EulerError.LooseAtol, EulerError.LooseCheckRtol, EulerError.LooseCheckAtol) 1.0 1.0 run 1
    Assert.False(EulerError.acceptsLoose loose, sprintf "largest share %.3e" (loose.Samples |> Array.map (fun x -> x.IntegrationShare) |> Array.max))
    let c = (EulerError.analyse run).[1]
    Assert.Equal(EulerError.Rtol, c.SolveRtol)
    Assert.Equal(EulerError.CheckRtol, c.CheckSolveRtol)

/// i.i.d. layers barely moved (η = 0.001, 10 steps, L = 16): the loose level's estimate of H̃_L is below 10⁻³ of every
/// bound, but its one-interval terms δ_k (10× the node estimates) are not below 10⁻³ of some layer's local bound, which is
/// of order 1/L² of the others: the tight level is kept. Kept at the loose level, that local bound would have moved by
/// more than 10⁻³ (shown on the loose analysis itself).
[<Fact(DisplayName = "B.*'s reference solves: a local bound 10⁻³ below the loose level's one-interval term while the final term is negligible → the tight level kept")>]
let nodeTermsDecide () =
    let run = train (RunSpec(Depth = 16, Width = 8, Dim = 4, Samples = 8, Init = InitKind.Iid, Eta = 0.001, Iterations = 10, Snapshots = 2, Seed = 3L))
    let loose = EulerError.analyseSnapshotAt (EulerError.LooseRtol, EulerError.LooseAtol, EulerError.LooseCheckRtol, EulerError.LooseCheckAtol) 1.0 1.0 run 1
    let tight = EulerError.analyseSnapshotTight 1.0 1.0 run 1
    // the final term alone would pass
    for x in loose.Samples do
        Assert.True(EulerError.EstimateMargin * x.IntegrationError <= EulerError.IntegrationFraction * min x.Bound (min x.SecantBound x.DefectBound),
                    sprintf "sample %d: the final term is not negligible here" x.Sample)
    Assert.False(EulerError.acceptsLoose loose)
    let moved =
        Array.zip loose.Samples tight.Samples
        |> Array.map (fun (x, y) -> Array.map2 (fun (a: float) b -> abs (a - b) / b) x.LocalBounds y.LocalBounds |> Array.max)
        |> Array.max
    Assert.True(moved > EulerError.IntegrationFraction, sprintf "the local bounds moved by at most %.3e at the loose level" moved)
    Assert.Equal(EulerError.Rtol, (EulerError.analyse run).[1].SolveRtol)

/// `analyse` goes through the snapshots in order and stops trying the loose level after the first snapshot where it was
/// not kept: an i.i.d. run at L = 64 with η = 0.001 (the loose level's one-interval terms too large from snapshot 1 on)
/// pays for one loose attempt, not one per snapshot; each kept analysis is the tight level's.
[<Fact(DisplayName = "B.*'s reference solves: the loose level dropped at snapshot 1 → the later snapshots solved at the tight level without trying it again")>]
let droppedOnce () =
    let run = train (RunSpec(Depth = 64, Width = 8, Dim = 4, Samples = 8, Init = InitKind.Iid, Eta = 0.001, Iterations = 12, Snapshots = 4, Seed = 3L))
    let checks = EulerError.analyse run
    Assert.True(checks.[1].LooseTried && checks.[1].SolveRtol = EulerError.Rtol, sprintf "snapshot 1: tried %b, rtol %g" checks.[1].LooseTried checks.[1].SolveRtol)
    for s in 2 .. checks.Length - 1 do
        Assert.False(checks.[s].LooseTried, sprintf "snapshot %d: the loose level tried again" s)
        Assert.Equal(EulerError.Rtol, checks.[s].SolveRtol)
        // the analysis is the tight level's own
        let t = EulerError.analyseSnapshotTight 1.0 1.0 run s
        Assert.Equal(t.Samples.[0].Bound, checks.[s].Samples.[0].Bound)

/// A share that is not a number (a bound or an estimate gone NaN) must not be passed over: the loose level is not kept on it.
[<Fact(DisplayName = "B.*'s reference solves: an analysis the loose level would keep, one sample's integration share set to NaN → not kept")>]
let nanShareNotKept () =
    let run = train (RunSpec(Depth = 16, Width = 16, Dim = 4, Samples = 8, Init = InitKind.Iid, Eta = 0.01, Iterations = 20, Snapshots = 3, Seed = 5L))
    let loose = EulerError.analyseSnapshotAt (EulerError.LooseRtol, EulerError.LooseAtol, EulerError.LooseCheckRtol, EulerError.LooseCheckAtol) 1.0 1.0 run 1
    Assert.True(EulerError.acceptsLoose loose)
    let samples = loose.Samples |> Array.mapi (fun i x -> if i = 3 then { x with IntegrationShare = nan } else x)
    Assert.False(EulerError.acceptsLoose { loose with Samples = samples })

[<Fact(DisplayName = "B.*'s reference solves, the loose attempt: the solver gives up (InvalidOperationException) → None, the tight level next; any other exception (ArgumentException, NullReferenceException) → propagates as it is, not retried")>]
let looseAttemptFallsBackOnlyOnSolverFailures () =
    Assert.Equal(Some 3, EulerError.tryLooseLevel (fun () -> 3))
    Assert.Equal(None, EulerError.tryLooseLevel (fun () -> raise (System.InvalidOperationException "step budget exhausted") : int))
    let mutable calls = 0
    let thrown = Assert.Throws<System.ArgumentException>(fun () ->
        EulerError.tryLooseLevel (fun () -> calls <- calls + 1; raise (System.ArgumentException "a defect of the analysis") : int) |> ignore)
    Assert.Equal("a defect of the analysis", thrown.Message)
    Assert.Equal(1, calls)
    Assert.Throws<System.NullReferenceException>(fun () ->
        EulerError.tryLooseLevel (fun () -> raise (System.NullReferenceException()) : int) |> ignore) |> ignore
