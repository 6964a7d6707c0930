/// E.profile (docs/theorems/DepthProfile.md): the producer's recorded smoothness in depth of the stored parameters against
/// a recomputation, on the MLP's runs (the trace at the last snapshot) and on bn-conv runs (run.json after the last
/// epoch), with the statistics the real-data pages read as its constants; corrupted claims or parameters are rejected.
module ResOdeProofs.Properties.DepthProfileTests

open System
open Xunit
open FsCheck
open FsCheck.FSharp
open FsCheck.Xunit
open System.Text.Json.Nodes
open ResOdeProofs.Numerics
open ResOdeProofs.Numerics.BnConv
open ResOdeProofs.Numerics.IO
open ResOdeProofs.Numerics.Training
open ResOdeProofs.Theory
open ResOdeProofs.Properties.Generators
open ResOdeProofs.Properties.Profile

let private constant (e: Evaluation) (name: string) =
    match e.Constants |> List.tryFind (fun (n, _) -> n = name) with
    | Some(_, v) -> v
    | None -> failwithf "no constant %s" name

/// ‖P_{k+1} − P_k‖_F and ‖P_k‖_F of layers given as arrays, by naive sums (the test's own computation).
let private naive (layers: float[][]) =
    let fro (a: float[]) = sqrt (Array.sumBy (fun x -> x * x) a)
    Array.init (layers.Length - 1) (fun k -> fro (Array.map2 (-) layers.[k + 1] layers.[k])), Array.map fro layers

// ---------------------------------------------------------------- MLP runs

/// A fixed setting whose trained layers differ (V starts at 0.1 scale, tied W): every part has a non-zero increment.
let private mlpSpec (init: InitKind) =
    RunSpec(Depth = 8, Width = 6, Samples = 5, Dim = 3, Activation = ActivationKind.Gelu, Init = init, VScale = 0.1,
            Eta = 0.01, Iterations = 12, Snapshots = 3, Seed = 11L)

[<ProfiledProperty(12, Replay = "(1729,4105)")>]
let ``E.profile: a trained MLP run, trace against its last snapshot → holds`` () =
    Prop.forAll smoothArb (fun spec ->
        let run = train spec
        let e = Result.evaluate DepthProfile.profile (DepthProfile.ofMlpRun run)
        Verdict.isHolds e.Verdict |@ sprintf "%s: %A %s" (describe spec) e.Verdict (reproduce spec))

[<Fact>]
let ``E.profile: an MLP run → its constants are the statistics of the last snapshot's layers`` () =
    let run = train (mlpSpec InitKind.Iid)
    let e = Result.evaluate DepthProfile.profile (DepthProfile.ofMlpRun run)
    Assert.True(Verdict.isHolds e.Verdict, sprintf "%A" e.Verdict)
    let s = run.SnapshotCount - 1
    let md, L = run.LayerSize, run.Setting.Depth
    let layers (a: float[]) = Array.init L (fun k -> a.[k * md .. (k + 1) * md - 1])
    for part, ls in [ "W", layers (run.W s); "V", layers (run.V s); "Z", Array.map2 Array.append (layers (run.W s)) (layers (run.V s)) ] do
        let inc, nrm = naive ls
        let sorted = Array.sort inc
        let median = if sorted.Length % 2 = 1 then sorted.[sorted.Length / 2] else 0.5 * (sorted.[sorted.Length / 2 - 1] + sorted.[sorted.Length / 2])
        let close (a: float) (b: float) = abs (a - b) <= 1e-12 * max 1.0 (abs b)
        Assert.True(close (constant e (DepthProfile.maxIncrementName part)) (Array.max inc), part)
        Assert.True(close (constant e (DepthProfile.meanIncrementName part)) (Array.average inc), part)
        Assert.True(close (constant e (DepthProfile.medianIncrementName part)) median, part)
        Assert.True(close (constant e (DepthProfile.maxNormName part)) (Array.max nrm), part)
        Assert.True(close (constant e (DepthProfile.rhoName part)) (float L * Array.max inc / Array.max nrm), part)

[<Fact>]
let ``E.profile: the last snapshot's steepest increment of W grown by 1 % (trace kept) → violated`` () =
    let r = (mlpSpec InitKind.Tied).Train()
    let data = RunDirectory.InMemory(r, "bumped")
    let fresh = Run(data)
    let s = fresh.SnapshotCount - 1
    let md = fresh.LayerSize
    let w = fresh.W s
    let inc = (DepthProfile.mlpProfiles fresh s |> List.find (fun p -> p.Part = "W")).Increments
    let k = Array.findIndex (fun x -> x = Array.max inc) inc
    Assert.True(inc.[k] > 0.0, "the trained layers of W differ")
    for i in 0 .. md - 1 do w.[(k + 1) * md + i] <- w.[(k + 1) * md + i] + 0.01 * (w.[(k + 1) * md + i] - w.[k * md + i])
    let input = DepthProfile.ofMlpRun (Run(data))
    let e = Result.evaluate DepthProfile.profile input
    Assert.True(Verdict.isViolated e.Verdict, sprintf "%A" e.Verdict)
    Assert.True(e.Hypotheses |> List.forall (fun (_, met, _) -> met), "hypotheses stay met")

[<Fact>]
let ``E.profile: the trace's smooth_v at the last snapshot raised by 1e-6 relative → violated`` () =
    let r = (mlpSpec InitKind.Tied).Train()
    let data = RunDirectory.InMemory(r, "claimed")
    let j = data.Steps.[data.Steps.Length - 1]
    let c = data.Trace.["smooth_v"]
    c.[j] <- c.[j] * (1.0 + 1e-6)
    let e = Result.evaluate DepthProfile.profile (DepthProfile.ofMlpRun (Run(data)))
    Assert.True(Verdict.isViolated e.Verdict, sprintf "%A" e.Verdict)

[<Fact>]
let ``E.profile: a trace without smooth_w → hypothesis not met`` () =
    let dir = IO.Path.Combine(IO.Path.GetTempPath(), sprintf "resode-profile-%s" (Guid.NewGuid().ToString "N"))
    try
        RunDirectory.Write((mlpSpec InitKind.Tied).Train(), dir)
        IO.File.Delete(IO.Path.Combine(dir, "trace", "smooth_w.npy"))
        let e = Result.evaluate DepthProfile.profile (DepthProfile.ofMlpRun (Run(RunDirectory.Read dir)))
        Assert.True(Verdict.isHypothesisNotMet e.Verdict, sprintf "%A" e.Verdict)
    finally
        if IO.Directory.Exists dir then IO.Directory.Delete(dir, true)

// ---------------------------------------------------------------- bn-conv runs

let private bnConfig = BnConvConfig(Depth = 5, Channels = 2, Activation = ActivationKind.Gelu)

/// A bn-conv run in memory: parameters drawn (tied: layer 0's block copied to every layer), run.json's claims written by
/// the trainer's own `BnConvTrainer.Smoothness` of them.
let private bnRun (tied: bool) (seed: int) =
    let cfg = bnConfig
    let rng = Random(seed)
    let theta = Array.init cfg.ParameterCount (fun _ -> float32 (rng.NextDouble() * 2.0 - 1.0))
    if tied then
        for k in 1 .. cfg.Depth - 1 do
            Array.blit theta (cfg.BlockOffset 0) theta (cfg.BlockOffset k) cfg.BlockParameters
    let struct (s1, s2) = BnConvTrainer.Smoothness(cfg, ReadOnlySpan<float32>(theta))
    let claim () = JsonObject([ Collections.Generic.KeyValuePair("smooth_conv1", JsonValue.Create s1 :> JsonNode); Collections.Generic.KeyValuePair("smooth_conv2", JsonValue.Create s2 :> JsonNode) ])
    let json = JsonObject()
    json.["epochs"] <- JsonArray([| claim () :> JsonNode; claim () :> JsonNode |])
    json.["final"] <- claim ()
    BnConvRun(Directory = "bn-conv-in-memory", Json = json, Config = cfg, Theta = theta, Statistics = Array.zeroCreate cfg.StatisticsCount,
              TrainSize = 0, TestSize = 0, Batch = 1)

[<ProfiledProperty(20, Replay = "(6174,497)")>]
let ``E.profile: a bn-conv run whose run.json the trainer's smoothness wrote → holds`` (seed: int) (tied: bool) =
    let e = Result.evaluate DepthProfile.profile (BnConvResults.profileInput (bnRun tied seed))
    Verdict.isHolds e.Verdict |@ sprintf "seed %d tied %b: %A" seed tied e.Verdict

[<Fact>]
let ``E.profile: a bn-conv run → ρ and batch norm's statistics are its constants`` () =
    let run = bnRun false 3
    let e = Result.evaluate DepthProfile.profile (BnConvResults.profileInput run)
    let cfg = run.Config
    let struct (k1, g1, _, k2, _, _) = cfg.BlockParts
    let kl = cfg.Block.KernelLength
    for part, o in [ "conv1", k1; "conv2", k2 ] do
        let inc, nrm = naive (Array.init cfg.Depth (fun k -> Array.init kl (fun i -> float run.Theta.[cfg.BlockOffset k + o + i])))
        let rho = float cfg.Depth * Array.max inc / Array.max nrm
        Assert.True(abs (constant e (DepthProfile.rhoName part) - rho) <= 1e-12 * rho, part)
    let gamma1 = Array.init cfg.Depth (fun k -> Array.average (Array.init cfg.Channels (fun i -> float run.Theta.[cfg.BlockOffset k + g1 + i])))
    Assert.True(abs (constant e (BnConvResults.normMeanName "bn1_gamma") - Array.average gamma1) <= 1e-12)
    Assert.Equal(Array.min gamma1, constant e (BnConvResults.normMinName "bn1_gamma"))
    Assert.Equal(Array.max gamma1, constant e (BnConvResults.normMaxName "bn1_gamma"))

[<Fact>]
let ``E.profile: a tied bn-conv run → ρ = 0, claims of 0 hold exactly`` () =
    let e = Result.evaluate DepthProfile.profile (BnConvResults.profileInput (bnRun true 5))
    Assert.True(Verdict.isHolds e.Verdict, sprintf "%A" e.Verdict)
    Assert.Equal(0.0, constant e (DepthProfile.rhoName "conv1"))

[<Fact>]
let ``E.profile: run.json's last-epoch smooth_conv2 raised by 1e-12 relative → violated`` () =
    let run = bnRun false 7
    let last = nonNull (nonNull (run.Json.["epochs"] :?> JsonArray | null)).[1]
    last.["smooth_conv2"] <- JsonValue.Create((nonNull last.["smooth_conv2"]).GetValue<float>() * (1.0 + 1e-12))
    let e = Result.evaluate DepthProfile.profile (BnConvResults.profileInput run)
    Assert.True(Verdict.isViolated e.Verdict, sprintf "%A" e.Verdict)
    Assert.True(e.Hypotheses |> List.forall (fun (_, met, _) -> met), "hypotheses stay met")

[<Fact>]
let ``E.profile: one conv1 entry of the stored parameters moved along the steepest increment (run.json kept) → violated`` () =
    let run = bnRun false 9
    let inc = (BnConvResults.kernelProfiles run |> List.find (fun p -> p.Part = "conv1")).Increments
    let k = Array.findIndex (fun x -> x = Array.max inc) inc
    let a, b = run.Config.BlockOffset k, run.Config.BlockOffset(k + 1)
    // conv1 is the block's first part: entry 0 of layer k + 1 moved away from layer k's, so ‖K₁^(k+1) − K₁^(k)‖ grows
    run.Theta.[b] <- run.Theta.[b] + (if run.Theta.[b] >= run.Theta.[a] then 0.5f else -0.5f)
    let e = Result.evaluate DepthProfile.profile (BnConvResults.profileInput run)
    Assert.True(Verdict.isViolated e.Verdict, sprintf "%A" e.Verdict)

[<Fact>]
let ``E.profile: a bn-conv run.json without epochs → hypothesis not met`` () =
    let run = bnRun false 1
    run.Json.AsObject().Remove "epochs" |> ignore
    run.Json.AsObject().Remove "final" |> ignore
    let e = Result.evaluate DepthProfile.profile (BnConvResults.profileInput run)
    Assert.True(Verdict.isHypothesisNotMet e.Verdict, sprintf "%A" e.Verdict)

[<Fact>]
let ``E.profile: a NaN in a later layer's bn1_gamma → hypothesis not met, its max and min over k NaN`` () =
    let run = bnRun false 4
    let struct (_, g1, _, _, _, _) = run.Config.BlockParts
    // layer 2 of 5, not the first: a max or min that drops a NaN not in its first entry would report a finite extreme
    run.Theta.[run.Config.BlockOffset 2 + g1] <- Single.NaN
    let input = BnConvResults.profileInput run
    let extra name = input.Extra |> List.find (fun (n, _) -> n = name) |> snd
    Assert.True(Double.IsNaN(extra (BnConvResults.normMaxName "bn1_gamma")), "max over k keeps the NaN")
    Assert.True(Double.IsNaN(extra (BnConvResults.normMinName "bn1_gamma")), "min over k keeps the NaN")
    let e = Result.evaluate DepthProfile.profile input
    Assert.True(Verdict.isHypothesisNotMet e.Verdict, sprintf "%A" e.Verdict)
    match e.Verdict with
    | HypothesisNotMet failed -> Assert.Equal<string list>([ "parameters finite" ], failed |> List.map fst)
    | _ -> ()

[<Fact>]
let ``E.profile: run.json's final smooth_conv1 a string → hypothesis not met, no exception`` () =
    let run = bnRun false 6
    let final = nonNull run.Json.["final"]
    final.["smooth_conv1"] <- JsonValue.Create "0.5"
    let e = Result.evaluate DepthProfile.profile (BnConvResults.profileInput run)
    Assert.True(Verdict.isHypothesisNotMet e.Verdict, sprintf "%A" e.Verdict)
    match e.Verdict with
    | HypothesisNotMet failed -> Assert.Equal<string list>([ "smoothness recorded" ], failed |> List.map fst)
    | _ -> ()
