/// E.replay on a run that claims this engine's build, vector width and thread count (docs/theorems/Evidence.md, "Bit-exact
/// claims"): replayed as the producer's own program without the rounding companions and compared exactly; the same run
/// without the claim, or naming another build, takes the companion path.
module ResOdeProofs.Properties.BitExactReplayTests

open Xunit
open ResOdeProofs.Numerics.IO
open ResOdeProofs.Numerics.Training
open ResOdeProofs.Numerics.Verification
open ResOdeProofs.Theory

/// A short smooth run of the engine (three segments), opened afresh on every call.
let private spec = RunSpec(Depth = 8, Width = 8, Samples = 10, Dim = 4, Eta = 0.01, Iterations = 60, Snapshots = 4, Seed = 1L)
let private fresh () = RunDirectory.InMemory(spec.Train(), "bit-exact")

let private replayVerdict (data: RunData) = (Result.evaluate ReplayEvidence.replay (Run(data))).Verdict

/// The segments of a view, asserting which path built them.
let private segments (run: Run) (bitExact: bool) =
    let segs = run.Evidence.Value.Segments
    for s in segs do
        Assert.Equal(bitExact, s.Replay.BitExact)
        if not bitExact && s.Replay.To > s.Replay.From then
            Assert.True(s.Replay.WeightTolerance.[s.Replay.To - s.Replay.From] > 0.0, "the companion path gives E > 0")
    segs

[<Fact>]
let ``E.replay: faithful engine run claiming this build → replayed without companions, holds, every landing exact, columns available`` () =
    let run = Run(fresh ())
    Assert.NotNull(Replay.BitExactClaim run.Data)
    let segs = segments run true
    for s in segs do
        if s.Replay.Snapshot + 1 < run.SnapshotCount then Assert.Equal(0.0, s.Replay.EndDeviation)
    let e = Result.evaluate ReplayEvidence.replay run
    Assert.True(Verdict.isHolds e.Verdict, sprintf "%A" e.Verdict)
    let c = Result.evaluate ReplayEvidence.claims run
    Assert.True(Verdict.isHolds c.Verdict, sprintf "E.claims: %A" c.Verdict)
    Assert.True(run.VerifiedColumns.IsSome, "a run whose every segment lands exactly has the verifier's columns")

[<Fact>]
let ``E.replay: bit-exact claim, one entry of the middle snapshot moved by 1e-12 (relative) → violated`` () =
    let data = fresh ()
    let w = Array.copy data.W.[2]
    w.[3] <- w.[3] + 1e-12 * max 1.0 (abs w.[3])
    data.W.[2] <- w
    match replayVerdict data with
    | Violated w -> Assert.Contains("bit-exact replay", w.Where)
    | v -> failwithf "E.replay: expected Violated, got %A" v

[<Fact>]
let ``E.replay: the claim keys removed → the companion path runs (E > 0), holds`` () =
    let data = fresh ()
    data.Meta.EngineBuild <- null
    data.Meta.SimdBits <- System.Nullable()
    data.Meta.Threads <- System.Nullable()
    Assert.Null(Replay.BitExactClaim data)
    let run = Run(data)
    segments run false |> ignore
    Assert.True(Verdict.isHolds (Result.evaluate ReplayEvidence.replay run).Verdict)

[<Fact>]
let ``E.replay: another engine build named → the companion path runs (E > 0), holds`` () =
    let data = fresh ()
    data.Meta.EngineBuild <- "commit:another-build"
    let run = Run(data)
    segments run false |> ignore
    Assert.True(Verdict.isHolds (Result.evaluate ReplayEvidence.replay run).Verdict)

/// A violated E.replay names what can make a recording differ from the declared descent; a user who had moved one input
/// entry read a list of snapshots, losses and optimizers only.
[<Fact>]
let ``E.replay: one input entry moved by 1e-6 (relative) → violated, its note naming the data files among the causes`` () =
    let data = fresh ()
    data.Data.X.[0] <- data.Data.X.[0] * (1.0 + 1e-6)
    let e = Result.evaluate ReplayEvidence.replay (Run(data))
    Assert.True(Verdict.isViolated e.Verdict, sprintf "%A" e.Verdict)
    Assert.Contains(e.Notes, fun n -> n.Contains "not the declared gradient descent" && n.Contains "x.npy")
