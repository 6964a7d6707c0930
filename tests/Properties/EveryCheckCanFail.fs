/// Every check can fail, and these properties show it: for each result that depends on the run, a corrupted input
/// that the result rejects (VIOLATED) while every one of its hypotheses stays met; for the pure inequalities that
/// hold for any weights (L1–L4), a setting where each is attained to within a factor 3, so that an implementation
/// that lost a factor 3 in a constant would be rejected. (L5, I.*, C.mu0, the rates and A.aposteriori.segments have their
/// negative controls beside their positive properties.)
module ResOdeProofs.Properties.EveryCheckCanFail

open System.Collections.Generic
open FsCheck
open FsCheck.FSharp
open FsCheck.Xunit
open ResOdeProofs.Numerics
open ResOdeProofs.Numerics.IO
open ResOdeProofs.Numerics.Blocks
open ResOdeProofs.Numerics.Training
open ResOdeProofs.Theory
open ResOdeProofs.Properties.Generators
open ResOdeProofs.Properties.Profile

let private allMet (e: Evaluation) = e.Hypotheses |> List.forall (fun (_, ok, _) -> ok)

/// Rejected: violated with every hypothesis met.
let private rejected (e: Evaluation) = Verdict.isViolated e.Verdict && allMet e

/// A copy of a run with its losses and trace replaced.
let private rebuild (run: Run) (label: string) (losses: float[]) (trace: IReadOnlyDictionary<string, float[]>) =
    let d = run.Data
    Run(
        RunData(
            Directory = d.Directory + " (" + label + ")", Meta = d.Meta, Shape = d.Shape, Data = d.Data, A = d.A, B = d.B,
            Activation = d.Activation, Eta = d.Eta, Steps = d.Steps, W = d.W, V = d.V, Losses = losses, Trace = trace))

let private replaced (column: float[]) (j: int) (value: float) =
    let c = Array.copy column
    c.[j] <- value
    c

/// The run with trace column `name` at iterate j set to `value` (the recorded losses untouched).
/// The results read the verifier's own columns (docs/theorems/Evidence.md), never the file's: the replay of gradient
/// descent, or the verifier's integration of a gradient flow. The copy's evidence is built from the faithful data first
/// and its column is then corrupted in place (a corrupted trace file is E.claims' to catch).
let withTraceEntry (run: Run) (name: string) (j: int) (value: float) =
    let copy = rebuild run (sprintf "%s[%d] corrupted" name j) (Array.copy run.Data.Losses) run.Data.Trace
    copy.Trace(name).Value.[j] <- value
    copy

/// The run with recorded loss j (losses.npy) set to `value` (the trace untouched), as a corrupted losses.npy read from a
/// file: the verifier's evidence is built from the corrupted run (its replay from the snapshots still lands on them, so its
/// columns stand; E.replay, on a flow E.flowReplay, rejects the loss, and so do the results that compare losses.npy). Until
/// 2026-12-06 the evidence was built from the faithful losses first, because a disagreeing loss took the columns away.
let withLoss (run: Run) (j: int) (value: float) =
    rebuild run (sprintf "losses[%d] corrupted" j) (replaced run.Data.Losses j value) run.Data.Trace

/// A generic-architecture run with trace column `name` at iterate j set to `value`.
let withBlockTraceEntry (run: Run) (name: string) (j: int) (value: float) =
    let d = run.Data
    let t = Dictionary<string, float[]>(d.Trace)
    t.[name] <- replaced t.[name] j value
    Registry.openRun (
        RunData(Directory = d.Directory + " (corrupted)", Meta = d.Meta, Architecture = d.Architecture, Block = d.Block, Depth = d.Depth,
                     Dim = d.Dim, Data = d.Data, A = d.A, B = d.B, Activation = d.Activation, Eta = d.Eta,
                     Steps = d.Steps, Theta = d.Theta, Losses = d.Losses, Trace = t))

/// A measured value far above a bound b: 3b + 1e-6 (above every rounding allowance of these settings).
let private farAbove (b: float) = 3.0 * b + 1e-6

/// The property of one corruption: on the faithful run the result holds, and on the corrupted run it is rejected. A
/// faithful run outside the hypotheses fails the property (until 2026-12-06 it was classified and passed, so a generator
/// that drifted outside the hypotheses would have left the corruption untested without a failure: an audit).
let private caught (id: string) (faithful: Evaluation) (corrupted: unit -> Evaluation) (label: string) =
    if not (Verdict.isHolds faithful.Verdict) then
        false |@ sprintf "%s on the faithful run does not hold (%A): the corruption is not tested\n%s" id faithful.Verdict label
    else
        let e = corrupted ()
        rejected e |@ sprintf "%s on the corrupted run: %A\nhypotheses: %A\n%s" id e.Verdict e.Hypotheses label

[<ProfiledProperty(6, Replay = "(4242,1919)")>]
let ``A.aposteriori, A.aposteriori.segments: depth increment far above the bound → violated`` () =
    Prop.forAll smoothArb (fun spec ->
        let run = train spec
        let n = run.Losses.Length - 1
        let label = sprintf "%s\n%s" (describe spec) (reproduce spec)
        let a =
            caught "A.aposteriori" (Result.evaluate DepthSmoothness.aposteriori run)
                (fun () -> Result.evaluate DepthSmoothness.aposteriori (withTraceEntry run "smooth_z" n (farAbove (DepthSmoothness.layerwiseBound run false).[n]))) label
        let s =
            caught "A.aposteriori.segments" (Result.evaluate DepthSmoothness.aposterioriSegments run)
                (fun () -> Result.evaluate DepthSmoothness.aposterioriSegments (withTraceEntry run "smooth_z" n (farAbove (DepthSmoothness.segmentBound run).[n]))) label
        a .&. s)

[<ProfiledProperty(4, Replay = "(4243,1921)")>]
let ``A.apriori: depth increment far above the bound → violated`` () =
    Prop.forAll smoothArb (fun spec ->
        let spec = spec.With(iterations = min spec.Iterations 5)
        let spec =
            RunSpec(Depth = spec.Depth, Width = spec.Width, Samples = spec.Samples, Dim = spec.Dim, Activation = spec.Activation,
                    Init = spec.Init, VScale = spec.VScale, Eta = spec.Eta, Iterations = spec.Iterations, Clip = System.Nullable 2.0,
                    Snapshots = 3, Seed = spec.Seed)
        let run = train spec
        let n = run.Losses.Length - 1
        let z0 = run.Setting.InitLipschitz.Value / float run.Setting.Depth
        let b = DepthSmoothness.recursion run.Setting.Eta run.Setting.Depth false z0 0.0 (DepthSmoothness.aprioriCoefficients run 2.0)
        caught "A.apriori" (Result.evaluate DepthSmoothness.apriori run)
            (fun () -> Result.evaluate DepthSmoothness.apriori (withTraceEntry run "smooth_z" n (farAbove b.[n]))) (sprintf "%s clip 2" (describe spec)))

[<ProfiledProperty(3, Replay = "(4244,1923)")>]
let ``A.flow: depth increment far above the bound → violated`` () =
    Prop.forAll smoothArb (fun spec ->
        let spec = spec.With(iterations = min spec.Iterations 8)
        let run = GradientFlowProperties.trainFlow spec
        let n = run.Losses.Length - 1
        caught "A.flow" (Result.evaluate DepthSmoothness.flow run)
            (fun () -> Result.evaluate DepthSmoothness.flow (withTraceEntry run "smooth_z" n (farAbove (DepthSmoothness.flowBound run).[n])))
            (GradientFlowProperties.reproduceFlow spec))

/// The decay statements of result C: their hypotheses and ε(0) come from the trace, the conclusion is compared with
/// the recorded losses, so a recorded loss far above ε(0) is rejected while every hypothesis stays met.
[<ProfiledProperty(8, Replay = "(4245,1925)")>]
let ``C.gdDecay, C.pathLength, C.runRate: recorded loss above the decay envelope → violated`` () =
    Prop.forAll PolyakLojasiewiczProperties.plArb (fun spec ->
        let run = train spec
        let n = run.Losses.Length - 1
        let bad = withLoss run n (10.0 * run.Losses.[0] + 1.0)
        let label = sprintf "%s\n%s" (describe spec) (reproduce spec)
        [ PolyakLojasiewicz.gdDecay; PolyakLojasiewicz.pathLength; PolyakLojasiewicz.runRate ]
        |> List.map (fun r -> caught r.Id (Result.evaluate r run) (fun () -> Result.evaluate r bad) label)
        |> List.reduce (.&.))

/// The same through a run directory on disk, the setting PolyakLojasiewicz.md names: losses.npy rewritten with one loss
/// above ε(0) is VIOLATED by the three decay rows with every hypothesis met (they said "hypothesis not met": the disagreeing
/// loss took the verifier's columns away).
[<Xunit.Fact>]
let ``C.gdDecay, C.pathLength, C.runRate: losses.npy rewritten with losses[499] = 11 (run directory) → violated, hypotheses met; trace grad_norm ×10 → C.pathLength's path unchanged, labelled the verifier's column`` () =
    let spec = RunSpec(Depth = 16, Width = 24, Samples = 12, Dim = 4, Eta = 0.002, Iterations = 500, Snapshots = 5, Seed = 7L)
    let dir = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "decay-loss-" + System.Guid.NewGuid().ToString("N").[..7])
    try
        RunDirectory.Write(spec.Train(), dir)
        let rows () = [ PolyakLojasiewicz.gdDecay; PolyakLojasiewicz.pathLength; PolyakLojasiewicz.runRate ] |> List.map (fun r -> r.Id, Result.evaluate r (Run(RunDirectory.Read dir)))
        for id, e in rows () do Xunit.Assert.True(Verdict.isHolds e.Verdict, sprintf "%s on the faithful run: %A" id e.Verdict)
        // the measured path is the verifier's grad_norm column, and says so: the trace's column ×10 changes nothing (it was
        // labelled "(trace grad_norm)")
        let path () = Result.evaluate PolyakLojasiewicz.pathLength (Run(RunDirectory.Read dir))
        let before = path ()
        Xunit.Assert.Contains(before.Series, fun p -> p.Where.Contains "the verifier's grad_norm column")
        let gpath = System.IO.Path.Combine(dir, "trace", "grad_norm.npy")
        let g = Npy.Read gpath
        Npy.Write(gpath, System.ReadOnlySpan<float>(g.Data |> Array.map (fun x -> 10.0 * x)), g.Shape)
        Xunit.Assert.Equal(before.Measured, (path ()).Measured)
        Npy.Write(gpath, System.ReadOnlySpan<float>(g.Data), g.Shape)
        let losses = RunDirectory.Read(dir).Losses
        losses.[499] <- 11.0
        Npy.Write(System.IO.Path.Combine(dir, "losses.npy"), System.ReadOnlySpan<float>(losses), losses.Length)
        for id, e in rows () do Xunit.Assert.True(rejected e, sprintf "%s on the corrupted run: %A\n%A" id e.Verdict e.Hypotheses)
    finally
        if System.IO.Directory.Exists dir then System.IO.Directory.Delete(dir, true)

[<ProfiledProperty(3, Replay = "(4246,1927)")>]
let ``C.gfDecay, C.gfPathLength: recorded loss above the decay envelope → violated`` () =
    Prop.forAll PolyakLojasiewiczProperties.plArb (fun spec ->
        let run = GradientFlowProperties.trainFlow (spec.With(iterations = min spec.Iterations 10))
        let n = run.Losses.Length - 1
        let bad = withLoss run n (10.0 * run.Losses.[0] + 1.0)
        [ PolyakLojasiewicz.gfDecay; PolyakLojasiewicz.gfPathLength ]
        |> List.map (fun r -> caught r.Id (Result.evaluate r run) (fun () -> Result.evaluate r bad) (GradientFlowProperties.reproduceFlow spec))
        |> List.reduce (.&.))

[<ProfiledProperty(4, Replay = "(4247,1929)")>]
let ``A.aposteriori: last snapshot's depth increment far above the bound → violated`` () =
    Prop.forAll OneLayerBlockProperties.oneLayerArb (fun spec ->
        let run = BlockProperties.trainBlock spec
        let j = run.Steps.[run.SnapshotCount - 1]
        let bound, _, _ = GenericResults.depthSmoothnessBound run.Architecture.Value run
        caught "A.aposteriori" (Result.evaluate GenericResults.depthSmoothness run)
            (fun () -> Result.evaluate GenericResults.depthSmoothness (BlockProperties.bumpLastSnapshotBy (farAbove bound.[j]) run))
            (BlockProperties.describeBlock spec))

/// A scalar network (d = m = n = 1, tanh, small weights, L ≥ 16): the tightest comparison of each of L1–L4 is within
/// a factor 3 of attained (κ/L small, |σ(u)| ≈ |u|, σ'(u) ≈ 1, Cauchy–Schwarz an equality for one sample; the growth
/// factors e^κ of Hb and Pb stay below 3/2 each), so a bound that lost a factor 3 would be violated: the checks, which hold for any weights, can still fail on a wrong implementation.
[<ProfiledProperty(6, Replay = "(4248,1931)")>]
let ``L1–L4: scalar network → attained within a factor 3, so a bound 3x too small is violated`` () =
    let gen =
        gen {
            let! depth = Gen.elements [ 16; 32 ]
            let! seed = Gen.choose (0, 100000)
            return RunSpec(Depth = depth, Width = 1, Samples = 1, Dim = 1, Activation = ActivationKind.Tanh, Init = InitKind.Tied,
                           Scale = 0.3, VScale = 0.3, Eta = 0.01, Iterations = 2, Snapshots = 2, Seed = int64 seed)
        }
    Prop.forAll (Arb.fromGen gen) (fun spec ->
        let run = train spec
        [ LemmaChain.hiddenStates; LemmaChain.increments; LemmaChain.adjoints; LemmaChain.adjointIncrements
          LemmaChain.terminalAdjointSum; LemmaChain.layerGradients ]
        |> List.map (fun r ->
            let e = Result.evaluate r run
            match e.Verdict, e.Range with
            | Holds _, Some range ->
                // the tightest comparison with its bound divided by 3: measured 1 against bound Min/3
                let lost = Verdict.compare 1.0 (range.Min / 3.0) (Rounding.chainRel run) range.MinAt "bound divided by 3"
                (range.Min < 3.0 && Verdict.isViolated lost) |@ sprintf "%s: tightest %.4g at %s\n%s" r.Id range.Min range.MinAt (describe spec)
            | v, _ -> false |@ sprintf "%s: %A\n%s" r.Id v (describe spec))
        |> List.reduce (.&.))

/// The sweep: random settings over activation (relu included), initialization (tied, smooth, iid), depth 2–512,
/// m < n and m ≥ n, η from small to beyond divergence, clipping, the gradient flow and float32. Whatever the
/// setting, a faithful run is never VIOLATED and no check raises (`error`): a run outside a result's hypotheses is a
/// hypothesis not met. The long profile draws the full range (depths up to 512); the default one stays small.
[<ProfiledProperty(1, Replay = "(4249,1933)")>]
let ``Registry: random faithful settings (to divergence, relu, clip, flow, float32) → never violated, no check errs`` () =
    let gen =
        gen {
            let! depth = Gen.elements (if isLong then [ 2; 3; 8; 16; 64; 256; 512 ] else [ 2; 3; 8 ])
            let! width = Gen.choose (1, if isLong then 12 else 6)
            let! n = Gen.choose (1, if isLong then 12 else 6)
            let! d = Gen.choose (1, 3)
            let! act = Gen.elements [ ActivationKind.Gelu; ActivationKind.Tanh; ActivationKind.Softplus; ActivationKind.Relu ]
            let! init = Gen.elements [ InitKind.Tied; InitKind.Smooth; InitKind.Iid ]
            let! vscale = Gen.elements [ 0.0; 0.1; 1.0 ]
            let! eta = Gen.elements [ 1e-4; 0.01; 0.1; 0.5; 2.0 ]
            let! iters = Gen.choose (1, if isLong then 20 else 6)
            let! clip = Gen.elements [ None; Some 0.5; Some 10.0 ]
            let! f32 = Gen.elements [ false; true ]
            let! flow = Gen.frequency [ 4, Gen.constant false; 1, Gen.constant true ]
            let! seed = Gen.choose (0, 100000)
            let spec =
                RunSpec(Depth = depth, Width = width, Samples = n, Dim = d, Activation = act, Init = init, VScale = vscale, Eta = eta,
                        Iterations = iters, Clip = Option.toNullable clip, Float32 = (f32 && not flow), Snapshots = 3, Seed = int64 seed)
            return spec, flow
        }
    Prop.forAll (Arb.fromGen gen) (fun (spec, flow) ->
        let run = if flow then GradientFlowProperties.trainFlow spec else train spec
        let rows = Registry.verifyRun run
        let bad = rows |> List.filter (fun r -> r.IsViolated || r.IsError)
        bad.IsEmpty
        |@ sprintf "%s%s%s\n%s\n%s" (describe spec) (if flow then " (gradient flow)" else "") (if spec.Float32 then " float32" else "")
               (bad |> List.map (fun r -> sprintf "%s: %s: %s" r.Id r.Verdict r.Detail) |> String.concat "\n") (reproduce spec)
        |> Prop.classify run.Setting.Diverged "diverged"
        |> Prop.classify flow "gradient flow"
        |> Prop.classify spec.Float32 "float32")

/// The inequalities at fixed weights that hold for any weights meeting their hypotheses (their bound and their measured
/// side formed from the same snapshot's weights) say so in their row, as L1–L4 and B.bound do: a referee found no
/// corruption of a run directory that fails C.mu0, L5.split, L5.forcing, B.bound.secant, B.bound.defect or B.local, and
/// their rows did not say why. Their negative controls mutate the implementation or the evidence in memory.
[<Xunit.Fact>]
let ``C.mu0, L5.split, L5.forcing, B.bound.secant, B.bound.defect, B.local, A.aposteriori, A.aposteriori.segments (MLP): a faithful run → hold, each row noting it holds for any weights`` () =
    let run = train (RunSpec(Depth = 8, Width = 8, Samples = 4, Dim = 3, Init = InitKind.Tied, VScale = 0.0, Eta = 0.01, Iterations = 6, Snapshots = 3, Seed = 5L))
    for r in [ PolyakLojasiewicz.initialPl; SplitResults.gradientDifferenceSplit; SplitResults.forcing; EulerError.boundSecant; EulerError.boundDefect; EulerError.localError
               DepthSmoothness.aposteriori; DepthSmoothness.aposterioriSegments ] do
        let e = Result.evaluate r run
        Xunit.Assert.True(Verdict.isHolds e.Verdict, sprintf "%s: %A" r.Id e.Verdict)
        Xunit.Assert.Contains(Evaluation.AnyWeights, e.Notes)

/// C.mu0's threshold τ below which λ_min(Ḡ) is indistinguishable from 0 counts the L − 1 additions of the average of the
/// layers' Gram matrices beside the products' m terms and the eigensolver's n: (m + n + L)·2⁻⁵²·tr Ḡ (a referee found the L
/// term missing; on a deep, narrow run it is the largest).
[<Xunit.Fact>]
let ``C.mu0: the threshold of λ_min(Ḡ) on a run of L = 64, m = 8, n = 4 → (m + L)·2⁻⁵²·tr Ḡ (the average's additions counted) + Φ's rounding + the eigensolver's certified error`` () =
    let run = train (RunSpec(Depth = 64, Width = 8, Samples = 4, Dim = 3, Init = InitKind.Tied, VScale = 0.0, Eta = 0.01, Iterations = 2, Snapshots = 2, Seed = 5L))
    let c = PolyakLojasiewicz.initConstants run
    let part name = c.ThresholdParts |> List.find (fun (n, _) -> n = name) |> snd
    Xunit.Assert.Equal(float (8 + 64) * System.Math.ScaleB(1.0, -52) * c.GramTrace, part "tau_products_and_average")
    Xunit.Assert.True(part "tau_phi" > 0.0 && part "tau_eigensolver" >= 0.0 && System.Double.IsFinite(part "tau_eigensolver"), sprintf "%A" c.ThresholdParts)
    Xunit.Assert.Equal(c.ThresholdParts |> List.sumBy snd, c.Threshold)

/// Runs that diverged at iteration 0 (the initialization overflows; the run directory holds no snapshot) of the MLP and of
/// a block: every row is "hypothesis not met" or "not applicable" (the PL rows, the block's A, B and split rows raised an
/// index out of range: "error", exit 3, where their input is absent).
[<Xunit.Fact>]
let ``Every result: runs diverged at iteration 0 (MLP V scale 10²⁰⁰, scaled-linear a = 10²⁰⁰) → no error and no violation`` () =
    let mlp = train (RunSpec(Depth = 4, Width = 4, Samples = 8, Dim = 4, VScale = 1e200, Eta = 0.01, Iterations = 10, Seed = 0L))
    let block = BlockProperties.trainBlock (RunSpec(Architecture = "scaled-linear", Depth = 2, Samples = 4, Dim = 4, Scales = [| 1e200 |], Eta = 0.01, Iterations = 3, Seed = 0L))
    for run in [ mlp; block ] do
        Xunit.Assert.Equal(0, run.SnapshotCount)
        let rows = if run.IsMlp then Registry.verifyRun run else Registry.verifyBlockRun run
        let bad = rows |> List.filter (fun r -> r.IsViolated || r.IsError)
        Xunit.Assert.True(bad.IsEmpty, bad |> List.map (fun r -> sprintf "%s: %s: %s" r.Id r.Verdict r.Detail) |> String.concat "\n")
