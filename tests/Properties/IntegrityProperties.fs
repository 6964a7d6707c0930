/// Run integrity (docs/theorems/RunIntegrity.md): faithful runs pass, corrupted files and every injected
/// engine fault are caught.
module ResOdeProofs.Properties.IntegrityProperties

open Xunit
open FsCheck
open FsCheck.FSharp
open FsCheck.Xunit
open ResOdeProofs.Numerics
open ResOdeProofs.Numerics.IO
open ResOdeProofs.Numerics.Model
open ResOdeProofs.Numerics.Training
open ResOdeProofs.Theory
open ResOdeProofs.Properties.Generators
open ResOdeProofs.Properties.Profile


/// A copy of a spec with explicit snapshot iterations (RunSpec.With has no such argument).
let withSteps (s: RunSpec) (steps: int[]) =
    RunSpec(
        Depth = s.Depth, Width = s.Width, Samples = s.Samples, Dim = s.Dim, Activation = s.Activation, Init = s.Init,
        Scale = s.Scale, VScale = s.VScale, Modes = s.Modes, Eta = s.Eta, Iterations = s.Iterations, Clip = s.Clip,
        Snapshots = s.Snapshots, SnapshotSteps = steps, Float32 = s.Float32, Seed = s.Seed, Fault = s.Fault)

/// Snapshots at 0, 1, 2 and the last two iterations: consecutive pairs for I.update.
let consecutiveSteps (n: int) = [| 0; min 1 n; min 2 n; max 0 (n - 1); n |] |> Array.distinct

[<ProfiledProperty(20, Replay = "(4242,1717)")>]
let ``I.*: faithful run → hold`` () =
    Prop.forAll smoothArb (fun spec ->
        let spec = withSteps spec (consecutiveSteps spec.Iterations)
        let run = train spec
        let vs = RunIntegrity.all |> List.map (fun r -> r.Id, (Result.evaluate r run).Verdict)
        ((vs |> List.forall (fun (_, v) -> Verdict.isHolds v))
         |@ sprintf "%s\n%A\n%s" (describe spec) vs (reproduce spec))
        |> Prop.classify true (Activations.Name spec.Activation)
        |> Prop.collect (sprintf "L=%d" spec.Depth))

/// Ids of the integrity checks (and of the lemma chain's, which are exact inequalities) that a run violates.
let caughtBy (run: Run) : string list =
    (RunIntegrity.all @ LemmaChain.all)
    |> List.filter (fun r -> Verdict.isViolated (Result.evaluate r run).Verdict)
    |> List.map (fun r -> r.Id)

[<Fact>]
let ``I.*: float32 run, its own derived tolerance (no 1e-4 floor) → hold`` () =
    let spec = RunSpec(Depth = 8, Width = 6, Samples = 5, Dim = 3, Iterations = 4, SnapshotSteps = [| 0; 1; 2; 4 |], Float32 = true, Seed = 9L)
    let run = train spec
    // 4·Ā·L(m + d)u₃₂ + γ ≈ 2·10⁻⁵ here: the former floor 1e-4 is gone
    Assert.InRange(Rounding.forwardToleranceAt run 0, 1e-5, 1e-4)
    for r in RunIntegrity.all do
        let v = (Result.evaluate r run).Verdict
        Assert.True(Verdict.isHolds v, sprintf "%s: %A" r.Id v)

[<Fact>]
let ``I.*: corrupted loss entry → violated`` () =
    let spec = RunSpec(Depth = 6, Width = 5, Samples = 4, Dim = 3, Iterations = 6, SnapshotSteps = [| 0; 3; 6 |], Seed = 2L)
    let data = RunDirectory.InMemory(spec.Train())
    data.Losses.[3] <- data.Losses.[3] * (1.0 + 1e-6)
    let run = Run(data)
    let caught = caughtBy run
    Assert.Contains("I.loss", caught)
    Assert.Contains("I.trace", caught)

[<Fact(DisplayName = "I.loss, E.replay: a float64 run with losses.npy stored as float32 (a producer's astype) → hold; the same with one recorded loss moved by four float32 ulps → violated (I.loss at a snapshot, E.replay between snapshots)")>]
let ``I.loss float32-stored losses`` () =
    let spec = RunSpec(Depth = 6, Width = 5, Samples = 4, Dim = 3, Iterations = 6, SnapshotSteps = [| 0; 3; 6 |], Seed = 2L)
    let dir = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "resode-lossf4-" + System.Guid.NewGuid().ToString("N"))
    try
        RunDirectory.Write(spec.Train(), dir)
        let path = System.IO.Path.Combine(dir, "losses.npy")
        let losses = (Npy.Read path).Data
        let store (ls: float[]) = Npy.Write(path, System.ReadOnlySpan(ls |> Array.map float32), ls.Length)
        store losses
        let faithful = Run(RunDirectory.Read dir)
        Assert.Equal(System.Math.ScaleB(1.0, -24), faithful.LossesStorageRoundoff)
        // the rounding is visible: some stored loss differs from the float64 one by more than the float64 allowance alone
        Assert.True(losses |> Array.exists (fun l -> float (float32 l) <> l))
        let v = (Result.evaluate RunIntegrity.snapshotLoss faithful).Verdict
        Assert.True(Verdict.isHolds v, sprintf "%A" v)
        // the replay compares every recorded loss: the storage's rounding is allowed for there too (it was not: a faithful
        // float64 run whose losses were stored as float32 was E.replay-violated)
        let r = (Result.evaluate ReplayEvidence.replay faithful).Verdict
        Assert.True(Verdict.isHolds r, sprintf "%A" r)
        let moveAt (j: int) =
            let moved = losses |> Array.map float32
            moved.[j] <- System.BitConverter.Int32BitsToSingle(System.BitConverter.SingleToInt32Bits moved.[j] + 4)
            Npy.Write(path, System.ReadOnlySpan(moved), moved.Length)
            Run(RunDirectory.Read dir)
        let corrupted = moveAt 3
        Assert.True(Verdict.isViolated (Result.evaluate RunIntegrity.snapshotLoss corrupted).Verdict)
        let between = moveAt 4
        Assert.True(Verdict.isHolds (Result.evaluate RunIntegrity.snapshotLoss between).Verdict)
        Assert.True(Verdict.isViolated (Result.evaluate ReplayEvidence.replay between).Verdict)
    finally
        if System.IO.Directory.Exists dir then System.IO.Directory.Delete(dir, true)

[<Fact>]
let ``I.trace: a float32 run's smooth_z claimed 10⁻³ above its snapshot's value → violated, which the forward tolerance let through`` () =
    let spec = RunSpec(Depth = 256, Width = 16, Samples = 6, Dim = 4, Init = InitKind.Iid, Scale = 1.0, VScale = 1.0, Eta = 0.001,
                       Iterations = 4, SnapshotSteps = [| 0; 2; 4 |], Float32 = true, Seed = 21L)
    let faithful = Run(RunDirectory.InMemory(spec.Train()))
    Assert.True(Verdict.isHolds (Result.evaluate RunIntegrity.traceConsistency faithful).Verdict)
    let data = RunDirectory.InMemory(spec.Train())
    let sz = data.Trace.["smooth_z"]
    sz.[2] <- sz.[2] * (1.0 + 1e-3)
    let run = Run(data)
    // the former allowance τ_s·smooth_z with the forward pass' τ_s (4·Ā·L(m + d)u₃₂ ≥ 1.2·10⁻³ at Ā ≥ 1) held this claim
    Assert.True(Rounding.forwardToleranceAt run 1 > 1.2e-3, sprintf "τ_1 = %g" (Rounding.forwardToleranceAt run 1))
    let ev = Result.evaluate RunIntegrity.traceConsistency run
    Assert.True(Verdict.isViolated ev.Verdict, sprintf "%A" ev.Verdict)
    // the hypotheses stay met, and the loss half of the check is untouched: only snapshot 1's comparison fails
    Assert.True(Rounding.incrementRelative run < 1e-4)

/// The setting every fault is injected into: snapshots at consecutive iterations 0, 1, 2 and 5, 6.
let faultSpec (fault: EngineFault) =
    RunSpec(Depth = 8, Width = 6, Samples = 5, Dim = 3, VScale = 0.0, Eta = 0.01, Iterations = 6,
            SnapshotSteps = [| 0; 1; 2; 5; 6 |], Seed = 13L, Fault = fault)

let faults = [ EngineFault.ScaledLayerGradient; EngineFault.ForwardDepthScale; EngineFault.WrongActivationDerivative; EngineFault.StaleGradient ]

let caughtFor (fault: EngineFault) = caughtBy (train (faultSpec fault))

[<Fact>]
let ``EngineFault none: faithful engine → no check violated`` () =
    let run = train (faultSpec EngineFault.None)
    Assert.Empty(caughtBy run)
    for r in RunIntegrity.all do
        Assert.True(Verdict.isHolds (Result.evaluate r run).Verdict, r.Id)

[<Fact>]
let ``EngineFault ScaledLayerGradient: one layer's gradient × 1.01 → violated`` () = Assert.Contains("I.update", caughtFor EngineFault.ScaledLayerGradient)

[<Fact>]
let ``EngineFault ForwardDepthScale: 1/(L+1) in the forward pass → violated`` () = Assert.Contains("I.loss", caughtFor EngineFault.ForwardDepthScale)

[<Fact>]
let ``EngineFault WrongActivationDerivative: shifted σ' → violated`` () = Assert.Contains("I.update", caughtFor EngineFault.WrongActivationDerivative)

[<Fact>]
let ``EngineFault StaleGradient: stale gradient → violated`` () = Assert.Contains("I.update", caughtFor EngineFault.StaleGradient)

[<Fact>]
let ``EngineFault: each of the four faults → violated by at least one check`` () =
    let caught = faults |> List.map (fun f -> f, caughtFor f)
    let score = caught |> List.filter (fun (_, ids) -> not ids.IsEmpty) |> List.length
    let table = caught |> List.map (fun (f, ids) -> sprintf "%A: %s" f (String.concat ", " ids)) |> String.concat "; "
    Assert.True((score = faults.Length), sprintf "mutation score %d/%d (%s)" score faults.Length table)
