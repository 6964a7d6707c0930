/// The evidence results stated once for every architecture (docs/theorems/Evidence.md), on runs of blocks other than
/// the MLP: a faithful run holds, a corrupted input is rejected while the hypotheses stay met.
module ResOdeProofs.Properties.EvidenceEveryArchitectureTests

open System
open Xunit
open ResOdeProofs.Numerics.Blocks
open ResOdeProofs.Numerics.IO
open ResOdeProofs.Numerics.Training
open ResOdeProofs.Theory
open ResOdeProofs.Properties.BlockProperties

let private hypothesesMet (e: Evaluation) = e.Hypotheses |> List.forall (fun (_, ok, _) -> ok)

/// The run with its snapshots' θ and its trace replaced (the rest shared), opened for the results.
let private rebuilt (run: Run) (label: string) (theta: float[][]) (trace: System.Collections.Generic.IReadOnlyDictionary<string, float[]>) =
    let d = run.Data
    Registry.openRun (
        RunData(Directory = d.Directory + label, Meta = d.Meta, Architecture = d.Architecture, Block = d.Block, Depth = d.Depth,
                Dim = d.Dim, Data = d.Data, A = d.A, B = d.B, Activation = d.Activation, Eta = d.Eta,
                Steps = d.Steps, Theta = theta, Losses = d.Losses, Trace = trace))

/// The run with entry i of layer k of snapshot s moved by a relative `delta` (θ of the other snapshots shared).
let private moved (run: Run) (s: int) (k: int) (i: int) (delta: float) =
    let d = run.Data
    let theta = Array.copy d.Theta
    let t = Array.copy theta.[s]
    let at = k * run.ParameterCount + i
    t.[at] <- t.[at] * (1.0 + delta) + (if t.[at] = 0.0 then delta else 0.0)
    theta.[s] <- t
    rebuilt run " (moved)" theta d.Trace

[<Fact(DisplayName = "E.init: the report example of every catalog block → holds, through the MLP's code path")>]
let initHoldsOnBlocks () =
    for e in BlockCatalog.All |> Seq.filter (fun e -> not (isNull e.ReportExample)) do
        let run = trainBlock (reportExample e)
        let ev = Result.evaluate Evidence.init run
        Assert.True(Verdict.isHolds ev.Verdict, sprintf "%s: %A" e.Name ev.Verdict)

[<Fact(DisplayName = "E.init: a tied one-layer run with one entry of one layer of snapshot 0 moved by 10⁻⁶ → violated")>]
let initCatchesUntiedLayer () =
    let run = trainBlock (RunSpec(Architecture = "one-layer", Depth = 4, Samples = 3, Dim = 2, Iterations = 2, Snapshots = 2, Init = InitKind.Tied))
    Assert.True(Verdict.isHolds (Result.evaluate Evidence.init run).Verdict)
    let e = Result.evaluate Evidence.init (moved run 0 2 0 1e-6)
    Assert.True(Verdict.isViolated e.Verdict && hypothesesMet e, sprintf "%A" e.Verdict)

[<Fact(DisplayName = "E.init: a smooth glu run whose declared lipschitz_parts of one part is half the measured → violated")>]
let initCatchesUnderstatedLipschitz () =
    let run = trainBlock ((reportExample (BlockCatalog.All |> Seq.find (fun e -> e.Name = "glu"))).With(init = InitKind.Smooth))
    Assert.True(Verdict.isHolds (Result.evaluate Evidence.init run).Verdict)
    let declared = nonNull run.Data.Meta.Init.LipschitzParts
    let part = fst run.Parts.[0]
    // the measured L·max_k‖θ_{k+1,q}(0) − θ_{k,q}(0)‖ of the part, halved and declared
    let P, L, o, size = run.ParameterCount, run.Setting.Depth, run.PartOffset 0, run.PartSize 0
    let t = run.Theta 0
    let measured = seq { for k in 0 .. L - 2 -> Linalg.frobeniusDiff t ((k + 1) * P + o) t (k * P + o) size } |> Seq.fold max 0.0
    Assert.True(measured > 0.0)
    declared.[part] <- 0.5 * float L * measured
    let e = Result.evaluate Evidence.init run
    Assert.True(Verdict.isViolated e.Verdict && hypothesesMet e, sprintf "%A" e.Verdict)

// ---------------------------------------------------------------- E.replay on block runs (ReplayEvidence.fs)

/// A one-layer run with snapshots every iteration or two (the segments the replay compares).
let private oneLayer () =
    trainBlock (RunSpec(Architecture = "one-layer", Depth = 4, Samples = 3, Dim = 2, Iterations = 6, Snapshots = 4))

[<Fact(DisplayName = "E.replay: the report example of every catalog block, run.json naming this engine build → holds, every segment compared bit for bit")>]
let replayHoldsOnBlocks () =
    for e in BlockCatalog.All |> Seq.filter (fun e -> not (isNull e.ReportExample)) do
        let run = trainBlock (reportExample e)
        let ev = Result.evaluate ReplayEvidence.replay run
        Assert.True(Verdict.isHolds ev.Verdict, sprintf "%s: %A" e.Name ev.Verdict)
        Assert.Equal(Some 0.0, ev.Measured)

[<Fact(DisplayName = "E.replay: one entry of snapshot 2 of a one-layer run moved by 10⁻¹² (relative) → violated, hypotheses met")>]
let replayCatchesMovedEntry () =
    let run = oneLayer ()
    Assert.True(Verdict.isHolds (Result.evaluate ReplayEvidence.replay run).Verdict)
    let e = Result.evaluate ReplayEvidence.replay (moved run 2 1 0 1e-12)
    match e.Verdict with
    | Violated w ->
        Assert.True(hypothesesMet e)
        Assert.Contains("snapshot 2 weights vs the bit-exact replay from snapshot 1", w.Where)
    | v -> failwithf "E.replay: expected violated, got %A" v

[<Fact(DisplayName = "E.replay: a one-layer run naming another engine build → holds, every segment certified by the companions (no block segment was before)")>]
let replayCertifiedOnForeignBlocks () =
    let run = oneLayer ()
    run.Data.Meta.EngineBuild <- "commit:another-build"
    let e = Result.evaluate ReplayEvidence.replay run
    Assert.True(Verdict.isHolds e.Verdict, sprintf "%A" e.Verdict)
    Assert.True(hypothesesMet e, sprintf "%A" e.Hypotheses)
    Assert.Contains(e.Hypotheses, fun (_, ok, why) -> ok && why.Contains "largest error growth")

[<Fact(DisplayName = "E.claims: one-layer run, step_max claimed halved at every iterate → violated")>]
let claimsIdentityOnBlocks () =
    let run = oneLayer ()
    Assert.True(Verdict.isHolds (Result.evaluate ReplayEvidence.claims run).Verdict)
    let d = run.Data
    let t = System.Collections.Generic.Dictionary<string, float[]>(d.Trace)
    t.["step_max"] <- t.["step_max"] |> Array.map (fun x -> 0.5 * x)
    let halved = rebuilt run " (step_max halved)" d.Theta (t :> System.Collections.Generic.IReadOnlyDictionary<_, _>)
    match (Result.evaluate ReplayEvidence.claims halved).Verdict with
    | Violated w -> Assert.Contains("step_max", w.Where)
    | v -> failwithf "E.claims: expected violated, got %A" v

/// The last entry of step_max (no update follows the last iterate: 0 by the run format) was compared with nothing: a
/// user's 100 there held on plain and clipped runs. An MLP run and a one-layer run, that entry set to 100 → violated at
/// the last iterate; the engine's own 0 holds.
[<Fact(DisplayName = "E.claims: step_max at the last iterate claimed 100 (no update follows it) on an MLP and a one-layer run → violated there; the engine's 0 holds")>]
let claimsLastStepIsZero () =
    let withLastStep (run: Run) (x: float) =
        let d = run.Data
        let t = System.Collections.Generic.Dictionary<string, float[]>(d.Trace)
        let s = Array.copy t.["step_max"]
        Assert.Equal(0.0, s.[s.Length - 1])
        s.[s.Length - 1] <- x
        t.["step_max"] <- s
        let label = d.Directory + " (last step_max)"
        if d.IsMlp then
            Registry.openRun (
                RunData(Directory = label, Meta = d.Meta, Architecture = d.Architecture, Shape = d.Shape, Data = d.Data, A = d.A, B = d.B,
                        Activation = d.Activation, Eta = d.Eta, Steps = d.Steps, W = d.W, V = d.V, Losses = d.Losses, Trace = t))
        else rebuilt run " (last step_max)" d.Theta (t :> System.Collections.Generic.IReadOnlyDictionary<_, _>)
    let mlp = Generators.train (RunSpec(Depth = 4, Width = 4, Samples = 4, Dim = 3, Iterations = 6, Snapshots = 3, Seed = 3L))
    for run in [ mlp; oneLayer () ] do
        Assert.True(Verdict.isHolds (Result.evaluate ReplayEvidence.claims run).Verdict, run.Setting.Architecture)
        match (Result.evaluate ReplayEvidence.claims (withLastStep run 100.0)).Verdict with
        | Violated w -> Assert.Contains("at the last iterate", w.Where)
        | v -> failwithf "%s: E.claims: expected violated, got %A" run.Setting.Architecture v

/// Uncertified segments that share a reason are named together and the reason said once (a block run's every segment once
/// gave the same long sentence, repeated per segment); different reasons stay apart, in the order first met.
[<Fact(DisplayName = "E.replay's reasons: three segments with one reason and one with another → the first said once with its three segments, the other after it")>]
let replayReasonOnce () =
    let why = ReplayEvidence.groupedReasons [| "iterations 0 → 25: A"; "iterations 25 → 50: A"; "iterations 50 → 75: B"; "iterations 75 → 100: A" |]
    Assert.Equal("iterations 0 → 25, 25 → 50, 75 → 100: A; iterations 50 → 75: B", why)

/// Result C on this engine's own block run whose replay misses a changed snapshot: the rows said "another producer's block
/// run"; they now say it is this build's run and that the recording differs from what the program wrote.
[<Fact(DisplayName = "C.gdDecay: this engine's one-layer run at an identity initialization with snapshot 1 moved → hypothesis not met naming this build's run, not another producer's")>]
let decayOnOwnModifiedRun () =
    let run = trainBlock (RunSpec(Architecture = "one-layer", Depth = 8, Samples = 4, Dim = 4, Scales = [| 0.0; 0.0 |], Eta = 0.01, Iterations = 60, Snapshots = 3, Seed = 3L))
    let m = moved run 1 3 0 1e-3
    let row = PolyakLojasiewicz.blockAll |> List.find (fun r -> r.Id = "C.gdDecay")
    match (Result.evaluate row m).Verdict with
    | HypothesisNotMet l ->
        let why = l |> List.map snd |> String.concat "; "
        Assert.Contains("this engine's own run", why)
        Assert.DoesNotContain("another producer", why)
    | v -> failwithf "C.gdDecay: expected hypothesis not met, got %A" v

// ---------------------------------------------------------------- another producer's block run (BlockCompanions)

/// A block run written by NumPy (tests/Properties/fixtures/numpy, make_runs.py there): no engine_build, so no bit-exact claim.
let private numpyRun (name: string) =
    Run(RunDirectory.Read(IO.Path.Combine(AppContext.BaseDirectory, "fixtures", "numpy", name)), Registry.architectures)

/// The run with one entry of layer k of snapshot s moved by a relative `delta` (kept in the run's precision) or the
/// recorded loss at iterate j moved by a relative `lossDelta`.
let private corrupted (run: Run) (s: int) (k: int) (delta: float) (j: int) (lossDelta: float) =
    let d = run.Data
    let f32 = d.Meta.Precision = "float32"
    let keep (x: float) = if f32 then float (float32 x) else x
    let theta = Array.copy d.Theta
    let t = Array.copy theta.[s]
    let at = k * run.ParameterCount
    t.[at] <- keep (t.[at] * (1.0 + delta))
    theta.[s] <- t
    let losses = Array.copy d.Losses
    losses.[j] <- keep (losses.[j] * (1.0 + lossDelta))
    Registry.openRun (
        RunData(Directory = d.Directory + " (corrupted)", Meta = d.Meta, Architecture = d.Architecture, Block = d.Block, Depth = d.Depth,
                Dim = d.Dim, Data = d.Data, A = d.A, B = d.B, Activation = d.Activation, Eta = d.Eta, Steps = d.Steps, Theta = theta,
                Losses = losses, LossesStorageRoundoff = d.LossesStorageRoundoff, Trace = d.Trace))

/// A faithful NumPy one-layer run in float64 and in float32: every segment certified by the companions (until this change no
/// block segment of another producer was, and E.replay was "hypothesis not met" whatever the recording held), every
/// comparison within its allowance; one entry of snapshot 3 moved (10⁻⁶ of itself in float64, 10⁻² in float32) or one
/// recorded loss moved (10⁻⁶, 10⁻²) → violated with the hypotheses met.
[<Fact(DisplayName = "E.replay: NumPy's one-layer runs (float64, float32), no bit-exact claim → holds, every segment certified by the companions; one entry of snapshot 3 or one recorded loss moved → violated")>]
let replayCertifiesForeignBlocks () =
    for name, delta in [ "one-layer-f64", 1e-6; "one-layer-f32", 1e-2 ] do
        let run = numpyRun name
        Assert.True(isNull (ResOdeProofs.Numerics.Verification.Replay.BitExactClaim run.Data))
        let e = Result.evaluate ReplayEvidence.replay run
        Assert.True(Verdict.isHolds e.Verdict, sprintf "%s: %A" name e.Verdict)
        Assert.True(hypothesesMet e, sprintf "%s: %A" name e.Hypotheses)
        Assert.Contains(e.Constants, fun (n, _) -> n = "largest error growth")
        match (Result.evaluate ReplayEvidence.replay (corrupted run 2 3 delta 0 0.0)).Verdict with
        | Violated w -> Assert.Contains("snapshot 3 weights vs replay from snapshot 2", w.Where)
        | v -> failwithf "%s, snapshot moved: %A" name v
        match (Result.evaluate ReplayEvidence.replay (corrupted run 2 3 0.0 77 delta)).Verdict with
        | Violated w -> Assert.Contains("recorded loss", w.Where)
        | v -> failwithf "%s, loss moved: %A" name v

/// The split rows restarted at each snapshot compare another producer's snapshots within twice the companions' landing
/// allowance (they were "hypothesis not met" on every such run); A.split from t = 0, whose one replay passes every snapshot,
/// stays not met. One layer of snapshot 3 of the NumPy float64 run scaled 10x → A.split.segments.remainder violated.
[<Fact(DisplayName = "A.split.segments, A.split.segments.remainder: NumPy's one-layer float64 run → hold within the companions' landing allowance; A.split from t = 0 not met; one layer of snapshot 3 scaled 10x → the remainder violated, the hypothesis saying the replay is refuted")>]
let splitOnForeignBlocks () =
    let run = numpyRun "one-layer-f64"
    let row id = GenericSplit.all |> List.find (fun r -> r.Id = id)
    for id in [ "A.split.segments"; "A.split.segments.remainder" ] do
        let e = Result.evaluate (row id) run
        Assert.True(Verdict.isHolds e.Verdict, sprintf "%s: %A" id e.Verdict)
        Assert.Contains(e.Hypotheses, fun (_, ok, why) -> ok && why.Contains "certified by E.replay's rounding companions")
    match (Result.evaluate (row "A.split") run).Verdict with
    | HypothesisNotMet l -> Assert.Contains(l, fun (_, why) -> why.Contains "one replay from t = 0")
    | v -> failwithf "A.split: expected hypothesis not met, got %A" v
    let d = run.Data
    let theta = Array.copy d.Theta
    let t = Array.copy theta.[3]
    let P = run.ParameterCount
    for q in 3 * P .. 4 * P - 1 do t.[q] <- 10.0 * t.[q]
    theta.[3] <- t
    let scaled =
        Registry.openRun (
            RunData(Directory = d.Directory + " (layer scaled)", Meta = d.Meta, Architecture = d.Architecture, Block = d.Block, Depth = d.Depth,
                    Dim = d.Dim, Data = d.Data, A = d.A, B = d.B, Activation = d.Activation, Eta = d.Eta, Steps = d.Steps, Theta = theta,
                    Losses = d.Losses, Trace = d.Trace))
    Assert.True(Verdict.isViolated (Result.evaluate (row "A.split.segments.remainder") scaled).Verdict)
    // the replay misses the scaled snapshot far beyond its allowance: the hypothesis says it is refuted, as for this build's runs
    Assert.Contains((Result.evaluate (row "A.split.segments") scaled).Hypotheses, fun (_, _, why) -> why.Contains "refuted: the replay from snapshot 2 misses snapshot 3")

/// The NumPy run built against the loss allowance (fixtures/numpy, `adversarial` in make_runs.py: tied W = Q diag(13, −13) Qᵀ,
/// inputs on the contracting direction): its float64 loss at iteration 0 and the verifier's own differ by 2.3·10⁻¹⁶, above the
/// allowance 1.1·10⁻¹⁶ built from the layers' rounding count alone, and E.replay and E.claims were VIOLATED on a faithful run.
/// With the forward pass' amplification Ā = Π_k max(1, 1 + κ_k/L) in the outputs' error both hold; the loss at iteration 0
/// moved by 10⁻⁶ of itself is still violated.
[<Fact(DisplayName = "E.replay, E.claims: NumPy's adversarial one-layer run (κ = 13, rounding along the expanding direction) → hold with the forward amplification in the loss allowance; its first loss moved by 1e-6 → violated")>]
let lossAllowanceAmplified () =
    let run = numpyRun "one-layer-adversarial-f64"
    for row in [ ReplayEvidence.replay; ReplayEvidence.claims ] do
        let e = Result.evaluate row run
        Assert.True(Verdict.isHolds e.Verdict, sprintf "%s: %A" row.Id e.Verdict)
    let moved = corrupted run 0 0 0.0 0 1e-6
    for row in [ ReplayEvidence.replay; ReplayEvidence.claims ] do
        Assert.True(Verdict.isViolated (Result.evaluate row moved).Verdict, row.Id)

/// Result C on another producer's block run (NumPy, one-layer tanh from W = 0, b = 0, n = 4 ≤ d + 1): the rows read the
/// replays restarted at every snapshot, stitched, with E.replay's companions' loss allowance (they said "another producer's
/// block run … not compared" on every such run); C.mu0 and C.runRate hold, and the last recorded loss raised to the first →
/// C.runRate violated. The segments start at θ = 0, so they are certified against the largest ‖θ_i‖ of the segment.
[<Fact(DisplayName = "C.runRate: NumPy's one-layer run from the identity, no bit-exact claim → holds on the stitched restarted replays with the companions' allowance; its last loss raised to the first → violated")>]
let decayOnForeignBlocks () =
    let run = numpyRun "one-layer-identity-f64"
    let row id = PolyakLojasiewicz.blockAll |> List.find (fun r -> r.Id = id)
    Assert.True(Verdict.isHolds (Result.evaluate ReplayEvidence.replay run).Verdict)
    for id in [ "C.mu0"; "C.runRate" ] do
        let e = Result.evaluate (row id) run
        Assert.True(Verdict.isHolds e.Verdict, sprintf "%s: %A" id e.Verdict)
    let n = run.Losses.Length - 1
    let raised = corrupted run 0 0 0.0 n (run.Losses.[0] / run.Losses.[n] - 1.0)
    Assert.True(Verdict.isViolated (Result.evaluate (row "C.runRate") raised).Verdict)

/// The amplification in a block's loss allowance is the product of the layers' actual Jacobian norms at the snapshot's states:
/// the architecture's LipschitzH in its place (a worst case over all states; glu's output is quadratic in h) put Ā near 10¹²
/// on a NumPy glu run (fixtures/numpy/glu-f32), and a user's final loss doubled passed. On that run E.replay holds, its last
/// recorded loss doubled → violated.
[<Fact(DisplayName = "E.replay: NumPy's glu run (float32), its last loss doubled → violated (the amplification from the actual Jacobians, not a worst-case constant)")>]
let amplificationFromJacobians () =
    let run = numpyRun "glu-f32"
    Assert.True(Verdict.isHolds (Result.evaluate ReplayEvidence.replay run).Verdict)
    let n = run.Losses.Length - 1
    Assert.True(Verdict.isViolated (Result.evaluate ReplayEvidence.replay (corrupted run 0 0 0.0 n 1.0)).Verdict)

/// Ā at parameters whose states overflow (the glu fixture's θ times 10¹⁵⁰: its output is quadratic in h) is +∞, not 1: a
/// non-finite Jacobian bounds no growth, and the max over samples no longer drops it.
[<Fact(DisplayName = "GenericReplay.amplificationAt: NumPy's glu run at θ·10¹⁵⁰ (states overflow) → +∞; at its own θ → finite, above 1")>]
let amplificationNotFinite () =
    let run = numpyRun "glu-f32"
    let a = GenericReplay.amplificationAt run (run.Theta 4)
    Assert.True(Double.IsFinite a && a > 1.0, sprintf "%g" a)
    Assert.True(Double.IsPositiveInfinity(GenericReplay.amplificationAt run (run.Theta 4 |> Array.map (fun x -> x * 1e150))))

/// Result C on another producer's block run reads the replays restarted at each snapshot as one descent: their landings join
/// them within the companions' allowance. A snapshot moved beyond it (E.replay violated) leaves no such descent: the rows say
/// hypothesis not met, as on a run of this build whose replay misses a snapshot (they held on the stitched replays, and a
/// user saw the same corruption read "not met" or "holds" by the build run.json named).
[<Fact(DisplayName = "C.runRate: NumPy's one-layer run from the identity, one entry of snapshot 2 moved by 1e-3 → E.replay violated, C.runRate hypothesis not met naming the missed landing (it held on the stitched replays)")>]
let decayOnForeignBlocksNeedsLandings () =
    let run = numpyRun "one-layer-identity-f64"
    let moved = corrupted run 2 0 1e-3 0 0.0
    Assert.True(Verdict.isViolated (Result.evaluate ReplayEvidence.replay moved).Verdict)
    let row id = PolyakLojasiewicz.blockAll |> List.find (fun r -> r.Id = id)
    for id in [ "C.runRate" ] do
        match (Result.evaluate (row id) moved).Verdict with
        | HypothesisNotMet l -> Assert.True(l |> List.exists (fun (_, why) -> why.Contains "misses snapshot 2"), sprintf "%s: %A" id l)
        | v -> failwithf "%s: expected hypothesis not met, got %A" id v
