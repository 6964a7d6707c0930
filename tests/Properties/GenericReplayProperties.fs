/// The generic results read no producer's trace (GenericReplay): E.claims (stated once for every architecture,
/// ReplayEvidence.fs) compares the recorded trace and losses of a generic-architecture run with the replay's columns; a
/// rewritten entry is caught by it and changes no A verdict.
module ResOdeProofs.Properties.GenericReplayProperties

open System
open System.Collections.Generic
open Xunit
open ResOdeProofs.Numerics.Blocks
open ResOdeProofs.Numerics.Training
open ResOdeProofs.Numerics.IO
open ResOdeProofs.Theory
open ResOdeProofs.Properties.BlockProperties

let private verdict (r: Result<Run>) run = (Result.evaluate r run).Verdict

/// The run with the entry at iterate j of column `name` of the trace (losses.npy when name = "losses") replaced by `f` of it.
let private rewrittenWith (run: Run) (name: string) (j: int) (f: float -> float) =
    let d = run.Data
    let t = Dictionary<string, float[]>(d.Trace)
    let losses = Array.copy d.Losses
    if name = "losses" then losses.[j] <- f losses.[j]
    else
        let c = Array.copy t.[name]
        c.[j] <- f c.[j]
        t.[name] <- c
    Registry.openRun (
        RunData(Directory = d.Directory + " (rewritten)", Meta = d.Meta, Architecture = d.Architecture, Block = d.Block, Depth = d.Depth,
                Dim = d.Dim, Data = d.Data, A = d.A, B = d.B, Activation = d.Activation, Eta = d.Eta,
                Steps = d.Steps, Theta = d.Theta, Losses = losses, Trace = t))

/// The run with column `name` of the trace scaled by `factor` at iterate j (losses.npy when name = "losses").
let private rewritten (run: Run) (name: string) (j: int) (factor: float) = rewrittenWith run name j (fun x -> x * factor)

let private examples () =
    BlockCatalog.All |> Seq.filter (fun e -> not (isNull e.ReportExample)) |> Seq.map (fun e -> e.Name, trainBlock (reportExample e)) |> List.ofSeq

[<Fact(DisplayName = "E.claims: the report example of every catalog block, and a clipped one-layer run → holds")>]
let claimsHold () =
    let clipped = trainBlock (RunSpec(Architecture = "one-layer", Depth = 4, Samples = 3, Dim = 2, Iterations = 4, Snapshots = 3, Clip = System.Nullable 0.05))
    for name, run in examples () @ [ "one-layer clipped", clipped ] do
        let e = Result.evaluate ReplayEvidence.claims run
        Assert.True(Verdict.isHolds e.Verdict, sprintf "%s: %A %A" name e.Verdict e.Notes)
        // this engine's own runs: the only note says the columns were compared exactly
        Assert.True(e.Notes |> List.forall (fun n -> n.Contains "compared exactly"), sprintf "%s: %A" name e.Notes)

[<Fact(DisplayName = "E.claims: a catalog block's own run, one entry of hidden_max, grad_norm or the losses moved by one ulp → violated (compared exactly; another producer's → held within γ_N)")>]
let claimsOfAnOwnRunAreExact () =
    for example in [ "conv"; "one-layer" ] do
        let _, run = examples () |> List.find (fun (n, _) -> n = example)
        let j = run.Steps.[1] + 1
        let names = [ "hidden_max"; "grad_norm"; "losses" ]
        for name in names do
            let v = verdict ReplayEvidence.claims (rewrittenWith run name j Math.BitIncrement)
            Assert.True(Verdict.isViolated v, sprintf "%s, %s moved by one ulp at iteration %d: %A" example name j v)
        // the same forgeries in another producer's run (run.json naming no build of this engine): within γ_N
        run.Data.Meta.EngineBuild <- "content:0000000000000000"
        for name in names do
            let v = verdict ReplayEvidence.claims (rewrittenWith run name j Math.BitIncrement)
            Assert.True(Verdict.isHolds v, sprintf "%s, %s moved by one ulp, another producer's: %A" example name v)

[<Fact(DisplayName = "E.claims: another producer's one-layer run without a trace whose last snapshot (at the last iterate, starting no interval) holds the initial parameters → violated (its loss recomputed against losses.npy; every row held); the faithful run → holds, the note counting losses.npy's compared entries (also beside a trace loss column)")>]
let claimsCheckTheLastSnapshot () =
    let _, run = examples () |> List.find (fun (n, _) -> n = "one-layer")
    let d = run.Data
    Assert.Equal(d.Losses.Length - 1, d.Steps.[d.Steps.Length - 1])
    let foreignWith (trace: Dictionary<string, float[]>) (theta: float[][]) =
        let meta = Text.Json.JsonSerializer.Deserialize<RunMetadata>(Text.Json.JsonSerializer.Serialize d.Meta)
        meta.EngineBuild <- "content:0000000000000000"
        Registry.openRun (
            RunData(Directory = d.Directory + " (another producer's)", Meta = meta, Architecture = d.Architecture, Block = d.Block, Depth = d.Depth,
                    Dim = d.Dim, Data = d.Data, A = d.A, B = d.B, Activation = d.Activation, Eta = d.Eta,
                    Steps = d.Steps, Theta = theta, Losses = d.Losses, Trace = trace))
    let foreign = foreignWith (Dictionary<string, float[]>())
    let faithful = Result.evaluate ReplayEvidence.claims (foreign d.Theta)
    Assert.True(Verdict.isHolds faithful.Verdict, sprintf "%A %A" faithful.Verdict faithful.Notes)
    // with its snapshots an ulp off the replay (another producer's rounding: no interval lands bit for bit) the losses
    // between snapshots are compared by no row: the note counts them
    let ulpOff = d.Theta |> Array.mapi (fun s t -> if s = 0 then t else t |> Array.mapi (fun i x -> if i = 0 then Math.BitIncrement x else x))
    let other = Result.evaluate ReplayEvidence.claims (foreign ulpOff)
    Assert.Contains(other.Notes, fun n -> n.Contains(sprintf "%d of the %d recorded losses compared" d.Steps.Length d.Losses.Length))
    // the trace's loss column beside losses.npy: the count is of losses.npy's entries still (it counted both, "9 of the 5")
    let withLossColumn = Result.evaluate ReplayEvidence.claims (foreignWith (Dictionary<string, float[]>(dict [ "loss", Array.copy d.Losses ])) ulpOff)
    Assert.Contains(withLossColumn.Notes, fun n -> n.Contains(sprintf "%d of the %d recorded losses compared" d.Steps.Length d.Losses.Length))
    let stale = d.Theta |> Array.mapi (fun s t -> if s = d.Theta.Length - 1 then Array.copy d.Theta.[0] else t)
    let e = Result.evaluate ReplayEvidence.claims (foreign stale)
    Assert.True(Verdict.isViolated e.Verdict, sprintf "%A %A" e.Verdict e.Notes)

[<Fact(DisplayName = "E.claims: this engine's clipped runs (one-layer and MLP) with clip_fraction 1 at every update rewritten to 0 at one iterate → violated (compared exactly on the bit-exact path; it was not compared); as recorded → holds; another producer's clipped block run → a note says the column is not compared")>]
let claimsCompareClipFractionBitExact () =
    let block () = trainBlock (RunSpec(Architecture = "one-layer", Depth = 4, Samples = 3, Dim = 2, Iterations = 4, Snapshots = 3, Clip = Nullable 1e-4))
    let mlp () = Generators.train (RunSpec(Depth = 4, Width = 4, Samples = 5, Dim = 3, Eta = 0.01, Iterations = 4, Snapshots = 3, Clip = Nullable 1e-4, Seed = 3L))
    for name, train in [ "one-layer", block; "mlp", mlp ] do
        let recorded = train ()
        let col = recorded.Data.Trace.["clip_fraction"]
        Assert.True(col.[.. col.Length - 2] |> Array.forall (fun x -> x = 1.0), sprintf "%s: every layer clipped at every update: %A" name col)
        Assert.True(Verdict.isHolds (verdict ReplayEvidence.claims recorded), name)
        // the same run trained again (the rows keep what they read), its column rewritten before it is read
        let run = train ()
        run.Data.Trace.["clip_fraction"].[1] <- 0.0
        let v = Result.evaluate ReplayEvidence.claims run
        Assert.True(Verdict.isViolated v.Verdict, sprintf "%s: %A %A" name v.Verdict v.Notes)
    // another producer's clipped block run: the column is not compared, and the row's note says so (it was dropped silently)
    let foreign = block ()
    foreign.Data.Meta.EngineBuild <- "content:0000000000000000"
    foreign.Data.Trace.["clip_fraction"].[1] <- 0.0
    let e = Result.evaluate ReplayEvidence.claims foreign
    Assert.Contains(e.Notes, fun n -> n.Contains "another producer's clip_fraction not compared")

[<Fact(DisplayName = "A.split: this engine's clipped one-layer run relabelled plain gd → the bit-exact claim's hypothesis says it is refuted (E.replay violated), where it read plainly met; the faithful run's says nothing of it")>]
let splitSaysTheClaimIsRefuted () =
    let run = trainBlock (RunSpec(Architecture = "one-layer", Depth = 4, Samples = 3, Dim = 2, Iterations = 4, Snapshots = 3, Clip = Nullable 1e-3))
    let d = run.Data
    let detail (r: Run) =
        let e = Result.evaluate GenericSplit.split r
        e.Hypotheses |> List.find (fun (name, _, _) -> name.StartsWith "replay stands for the producer") |> fun (_, met, why) -> met, why
    let plainMet, plainWhy = detail (trainBlock (RunSpec(Architecture = "one-layer", Depth = 4, Samples = 3, Dim = 2, Iterations = 4, Snapshots = 3)))
    Assert.True(plainMet && not (plainWhy.Contains "refuted"), plainWhy)
    let meta = Text.Json.JsonSerializer.Deserialize<RunMetadata>(Text.Json.JsonSerializer.Serialize d.Meta)
    meta.Optimizer <- "gd"
    meta.ClipRadius <- Nullable()
    let relabelled =
        Registry.openRun (
            RunData(Directory = d.Directory + " (relabelled gd)", Meta = meta, Architecture = d.Architecture, Block = d.Block, Depth = d.Depth,
                    Dim = d.Dim, Data = d.Data, A = d.A, B = d.B, Activation = d.Activation, Eta = d.Eta,
                    Steps = d.Steps, Theta = d.Theta, Losses = d.Losses, Trace = Dictionary<string, float[]>()))
    Assert.True(Verdict.isViolated (verdict ReplayEvidence.replay relabelled))
    let met, why = detail relabelled
    Assert.True(met && why.Contains "refuted: the replay from snapshot 0 does not land", why)

[<Fact(DisplayName = "E.replay: a one-layer run whose run.json says optimizer 'adam' (another producer's) → hypothesis not met naming the optimizer, never an error (the MLP's replay raised on the block's missing W and V)")>]
let replayOfANonGdBlockRun () =
    let run = trainBlock (RunSpec(Architecture = "one-layer", Depth = 4, Samples = 3, Dim = 2, Iterations = 4, Snapshots = 3))
    let d = run.Data
    let meta = Text.Json.JsonSerializer.Deserialize<RunMetadata>(Text.Json.JsonSerializer.Serialize d.Meta)
    meta.Optimizer <- "adam"
    meta.EngineBuild <- "content:0000000000000000"
    let adam =
        Registry.openRun (
            RunData(Directory = d.Directory + " (adam)", Meta = meta, Architecture = d.Architecture, Block = d.Block, Depth = d.Depth,
                    Dim = d.Dim, Data = d.Data, A = d.A, B = d.B, Activation = d.Activation, Eta = d.Eta,
                    Steps = d.Steps, Theta = d.Theta, Losses = d.Losses, Trace = Dictionary<string, float[]>()))
    let row = Registry.verifyView (fun id -> id = "E.replay") adam |> List.exactlyOne
    Assert.Equal("hypothesis not met", row.Verdict)
    Assert.Contains("optimizer 'adam'", row.Detail)

[<Fact(DisplayName = "A.aposteriori: a one-layer run labelled tied whose snapshot 0 has one layer moved by 0.05 → 'Lipschitz initialization' not met, naming the measured increment (it was met from the label); as trained → met")>]
let lipschitzHypothesisReadsSnapshotZero () =
    let run = trainBlock (RunSpec(Architecture = "one-layer", Depth = 8, Samples = 3, Dim = 2, Iterations = 4, Snapshots = 3))
    let d = run.Data
    Assert.Equal("tied", d.Meta.Init.Kind)
    let lipschitz (r: Run) =
        (Result.evaluate GenericResults.depthSmoothness r).Hypotheses |> List.find (fun (name, _, _) -> name.StartsWith "Lipschitz initialization")
    let _, met, _ = lipschitz run
    Assert.True(met)
    let theta = d.Theta |> Array.mapi (fun s t -> if s = 0 then t |> Array.mapi (fun i x -> if i / run.ParameterCount = 4 then x + 0.05 else x) else t)
    let moved =
        Registry.openRun (
            RunData(Directory = d.Directory + " (layer moved)", Meta = d.Meta, Architecture = d.Architecture, Block = d.Block, Depth = d.Depth,
                    Dim = d.Dim, Data = d.Data, A = d.A, B = d.B, Activation = d.Activation, Eta = d.Eta,
                    Steps = d.Steps, Theta = theta, Losses = d.Losses, Trace = d.Trace))
    let _, met, why = lipschitz moved
    Assert.False(met, why)
    Assert.Contains("snapshot 0 measures", why)

[<Fact(DisplayName = "E.replay: a block run → a note that the row compares the snapshots and E.claims the recorded losses (a referee read the title's 'and losses' as covering them); an MLP run → no such note")>]
let replaySaysWhoComparesTheLosses () =
    let _, run = examples () |> List.find (fun (n, _) -> n = "one-layer")
    let note = "its recorded losses are compared with the replay's by E.claims"
    Assert.Contains((Result.evaluate ReplayEvidence.replay run).Notes, fun n -> n.Contains note)
    let mlp = Generators.train (RunSpec(Depth = 4, Width = 4, Samples = 5, Dim = 3, Eta = 0.01, Iterations = 4, Snapshots = 3, Seed = 3L))
    Assert.DoesNotContain((Result.evaluate ReplayEvidence.replay mlp).Notes, fun n -> n.Contains note)

/// A hypothesis on a smooth one-layer run: met as trained; not met, its reason containing `expected`, once `edit` has
/// changed what run.json declares (the edited run returned, opened again where the setting reads the declaration).
let private metOnlyAsTrained ((_, check): string * (Run -> HypothesisCheck)) (edit: Run -> Run) (expected: string) =
    let spec = RunSpec(Architecture = "one-layer", Depth = 4, Samples = 3, Dim = 2, Iterations = 2, Snapshots = 3, Init = InitKind.Smooth, Seed = 7L)
    match check (trainBlock spec) with
    | Met _ -> ()
    | NotMet why -> failwithf "as trained: %s" why
    match check (edit (trainBlock spec)) with
    | NotMet why -> Assert.Contains(expected, why)
    | Met v -> failwithf "edited, met: %s" v

/// B's reference rebuilds θ⁰(s) by this engine's generator from run.json's seed, scales and modes: a smooth run whose draw
/// is not that function (another program's, here the engine's own with run.json's seed changed) is told so, where the bare
/// relative distance read like corrupted weights on a faithful NumPy ladder; the faithful run meets the hypothesis.
[<Fact(DisplayName = "B's initial function: a smooth one-layer run whose run.json names another seed → not met, naming this engine's generator and another program's draw; as trained → met")>]
let initialFunctionNamesTheGenerator () =
    metOnlyAsTrained GenericResults.hypInitialFunction (fun run -> run.Data.Meta.Seed <- Nullable 8L; run)
        "as this engine's generator draws it from run.json's seed, scales and modes"

/// run-format.md: lipschitz_parts bounds each part's sup‖dθ⁰_part/ds‖, "absent when unknown"; a part left out is unknown, so
/// θ's constant is too (it counted as 0: a conv run declaring K2 alone met the hypothesis with K2's constant).
[<Fact(DisplayName = "A's Lipschitz initialization: a smooth one-layer run whose lipschitz_parts leaves b out → not met, naming b (it was met with W's constant alone); both parts → met")>]
let partialLipschitzPartsAreUnknown () =
    metOnlyAsTrained GenericResults.hypLipschitzInit (fun run -> Assert.True(run.Data.Meta.Init.LipschitzParts.Remove "b"); Registry.openRun run.Data)
        "leaves b undeclared"

/// Result A bounds the increments Z_{k+1} − Z_k of consecutive layers: a run of one layer has none, its maxima over no
/// pairs are 0 and every comparison would hold whatever the run. A one-layer block run (and an MLP run) of L = 1: every A.*
/// row not applicable (three held on measured 0 and A.split.segments.remainder read "it overflowed"); at L = 2 none is.
[<Fact(DisplayName = "verify: one-layer block and MLP runs of depth L = 1 → every A.* row not applicable (no pair of layers); at L = 2 → A rows evaluated")>]
let resultAOnOneLayer () =
    for L in [ 1; 2 ] do
        let block = trainBlock (RunSpec(Architecture = "one-layer", Depth = L, Samples = 3, Dim = 2, Iterations = 4, Snapshots = 3))
        let mlp = Generators.train (RunSpec(Depth = L, Width = 4, Samples = 5, Dim = 3, VScale = 0.3, Eta = 0.01, Iterations = 4, Snapshots = 3, Seed = 3L))
        for name, rows in [ "one-layer", Registry.verifyView Registry.every block; "mlp", Registry.verifyView Registry.every mlp ] do
            let a = rows |> List.filter (fun r -> r.Id.StartsWith "A.")
            Assert.True(a.Length >= 4, sprintf "%s: %d A rows" name a.Length)
            let na = a |> List.filter (fun r -> r.Verdict = "not applicable" && r.Detail.Contains "no pair of consecutive layers")
            if L = 1 then Assert.True(na.Length = a.Length, sprintf "%s, L = 1: %A" name [ for r in a -> r.Id, r.Verdict, r.Detail ])
            else Assert.Empty(na)

/// p_L = (2/n)Bᵀ(Bh_L − y) cancels when the targets are near the outputs: each evaluation's adjoints then carry the outputs'
/// absolute error (δ of the losses' allowance) through the backward pass, which a relative allowance γ_N(|c| + |r|) does not
/// hold (a NumPy conv run with y = F(x) at θ⁰ read VIOLATED, recorded 0 against a recomputed 10⁻¹⁵).
[<Fact(DisplayName = "E.claims: another producer's one-layer run whose targets are its outputs at θ⁰ (the adjoints cancel), adjoint_sum_max of outputs one ulp off → holds; claimed 10⁻⁸ there → violated")>]
let claimsAllowForCancellingAdjoints () =
    let spec = RunSpec(Architecture = "one-layer", Depth = 8, Samples = 6, Dim = 4, Iterations = 3, Snapshots = 4, Seed = 5L)
    let block = spec.Block()
    let init = spec.InitialParameters block
    let data = spec.Data()
    let net = ResOdeProofs.Numerics.Training.GenericResNet(block, spec.Depth, data, null, null)
    net.Evaluate(ReadOnlySpan(init.Theta), Span(Array.zeroCreate init.Theta.Length)) |> ignore
    let n, d = data.Count, spec.StateDim
    let outputs = net.HiddenStates.Slice(spec.Depth * n * d, n * d).ToArray()
    let atOutputs = ResOdeProofs.Numerics.Model.Dataset(n, d, d, data.X, outputs)
    let foreign (edit: IReadOnlyDictionary<string, float[]> -> unit) =
        let record = ThetaTrainer.Train(block, spec.Depth, atOutputs, init, spec.Options(), spec.Seed, "y = F(x) at θ⁰")
        let dir = RunDirectory.InMemory(record, "one-layer at its outputs")
        dir.Meta.EngineBuild <- "content:0000000000000000"
        edit dir.Trace
        Result.evaluate ReplayEvidence.claims (Registry.openRun dir)
    // this engine's adjoints at iterate 0 are exactly 0 (its outputs are the targets bit for bit); a producer whose outputs
    // are one unit in the last place off records (2/n)Σ_i‖ulp(h_L^i)‖ there, which is the claim here
    let ulpSum = (2.0 / float n) * Seq.sum (seq { for i in 0 .. n - 1 -> sqrt (Seq.sum (seq { for r in 0 .. d - 1 -> let x = outputs.[i * d + r] in (Math.BitIncrement x - x) ** 2.0 })) })
    let faithful = foreign (fun t -> Assert.Equal(0.0, t.["adjoint_sum_max"].[0]); t.["adjoint_sum_max"].[0] <- ulpSum)
    Assert.True(Verdict.isHolds faithful.Verdict, sprintf "%A %A" faithful.Verdict faithful.Notes)
    let forged = foreign (fun t -> t.["adjoint_sum_max"].[0] <- 1e-8)
    Assert.True(Verdict.isViolated forged.Verdict, sprintf "%A" forged.Verdict)

[<Fact(DisplayName = "E.claims: conv report example, one entry of hidden_max, adjoint_sum_max, smooth_theta, step_max or the losses rewritten by one part in 10⁶ → violated")>]
let claimsCatchRewrite () =
    let _, run = examples () |> List.find (fun (n, _) -> n = "conv")
    let j = run.Steps.[1] + 1
    for name in [ "hidden_max"; "adjoint_sum_max"; "smooth_theta"; "step_max"; "fro_max_K2"; "losses" ] do
        let v = verdict ReplayEvidence.claims (rewritten run name j (1.0 + 1e-6))
        Assert.True(Verdict.isViolated v, sprintf "%s rewritten at iteration %d: %A" name j v)

[<Fact(DisplayName = "A.aposteriori: trace columns rewritten tenfold → the same bound and verdict (the trace is not read)")>]
let aposterioriIgnoresTrace () =
    let _, run = examples () |> List.find (fun (n, _) -> n = "one-layer")
    let j = run.Losses.Length - 1
    let bad = [ "hidden_max"; "adjoint_sum_max"; "smooth_theta" ] |> List.fold (fun r c -> rewritten r c j 10.0) run
    for r in [ GenericResults.depthSmoothness; GenericResults.depthSmoothnessSegments; GenericSplit.split ] do
        let a, b = Result.evaluate r run, Result.evaluate r bad
        Assert.True(Verdict.isHolds a.Verdict && a.Verdict = b.Verdict, sprintf "%s: %A vs %A" r.Id a.Verdict b.Verdict)
    Assert.True(Verdict.isViolated (verdict ReplayEvidence.claims bad))
