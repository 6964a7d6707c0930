/// What `resode verify` says about a run of the real-data experiment (`train --arch bn-conv`: a convolutional ResNet
/// with batch norm trained by mini-batch SGD with momentum): one row per result (docs/real-data.md, "verify").
///  - every other single-run result (the results about gradient descent or flow, each id once): hypothesis not met, the optimizer is not GD;
///  - E.accuracy.train, E.accuracy.test: run.json's accuracies against a recomputation (evidence, as the E.* results);
///  - on the trained network with batch norm folded into its convolutions (a network of conv blocks, any weights):
///    B.bound (ResNet vs the neural ODE of its own layers), B.half and B.half.ode (every second layer, docs/theorems/HalfDepth.md).
module ResOdeProofs.Theory.BnConvResults

open ResOdeProofs.Theory.Comparison

/// The sentence of every gradient-descent result on such a run.
[<Literal>]
let NotGradientDescent = "mini-batch SGD with momentum and batch norm is not gradient descent"

/// A result about gradient descent or flow, restated on a bn-conv run: its one hypothesis is not met.
let notGradientDescent (r: Result<'input>) : Result<unit> =
    { Id = r.Id; Title = r.Title; Source = r.Source; Provenance = r.Provenance; Doc = r.Doc; Statement = ""
      Hypotheses = [ "gradient descent or gradient flow on the full batch, without batch norm", fun () -> NotMet NotGradientDescent ]
      Conclusion = fun () -> Evaluation.notApplicable "not evaluated" }

/// A claimed accuracy and its recomputation (counts over N images; the allowance in images).
type AccuracyClaim =
    { Set: string
      Images: int
      Claimed: float
      Recomputed: int
      Allowance: int
      Detail: string }

/// (E.accuracy.train, E.accuracy.test) run.json's accuracy against the recomputed one, within the counted allowance: the
/// statement of the MLP cells' rows of these ids (FashionAccuracy.accuracyOf), the claimed fraction times N against the
/// recount of correct predictions, with this network's evaluation (batch norm folded, running statistics) and its
/// allowance (the images the folded and the unfolded evaluation classify differently).
let accuracy (id: string) (what: string) : Result<AccuracyClaim> =
    { Id = id
      Title = sprintf "Evidence: run.json's %s against a recomputation from params.npy and the images" what
      Source = "evidence (docs/real-data.md, \"verify\")"
      Provenance = ProvedHere
      Doc = "docs/theorems/Evidence.md"
      Statement =
        "The claimed fraction times N differs from the recomputed count of correct predictions (evaluation mode, running statistics, batch norm folded as the trainer evaluates) "
        + "by at most A images, A = the images classified differently by the folded and the unfolded evaluation (equal in real arithmetic), plus 3u·N for the fraction: the trainer records fl(k/N) (a count over N in float64, written round-trip exact), and fl(fl(k/N)·N) is within 2u·k(1 + u) ≤ 3u·N of k."
      Hypotheses =
        [ "claim recorded", fun c -> if System.Double.IsFinite c.Claimed then Met(sprintf "%.6g" c.Claimed) else NotMet "run.json records no finite accuracy" ]
      Conclusion =
        fun c ->
            let diff = abs (c.Claimed * float c.Images - float c.Recomputed)
            let e = evaluation 0.0 [ { Measured = diff; Bound = float c.Allowance + Rounding.claimedFractionAllowance c.Images; Where = c.Set; When = "after the last epoch" } ] [ "images", float c.Images; "recomputed correct", float c.Recomputed; "claimed x N", c.Claimed * float c.Images ] [ c.Detail ]
            e }

let trainAccuracy = accuracy "E.accuracy.train" "train accuracy (evaluation mode)"
let testAccuracy = accuracy "E.accuracy.test" "test accuracy"

/// A claim of run.json checked by the engine, as the input of E.accuracy.*.
let claim (c: ResOdeProofs.Numerics.BnConv.BnConvAccuracy.Check) : AccuracyClaim =
    { Set = c.Set; Images = c.N; Claimed = c.Claimed; Recomputed = c.Folded; Allowance = c.Allowance; Detail = c.Describe() }

/// The folded network of a run as the input of B.bound (a conv-block run, opened with `architectures`) and of the
/// half-depth results.
let folded (architectures: Architecture list) (f: ResOdeProofs.Numerics.BnConv.FoldedNetwork) : Run * HalfDepth.HalfDepthInput =
    Run(f.Run, architectures),
    { Name = f.Name; Block = f.Block; Theta = f.Theta; Depth = f.Depth; H0 = f.H0; Samples = f.Samples; HalfStepScale = 1.0 }

/// The kernels conv1 and conv2 of every block of a bn-conv run as depth profiles (docs/theorems/DepthProfile.md): the
/// stored float32 parameters read as float64, each layer's Frobenius norms summed in float64.
let kernelProfiles (run: ResOdeProofs.Numerics.BnConv.BnConvRun) : DepthProfile.PartProfile list =
    let cfg = run.Config
    let struct (k1, _, _, k2, _, _) = cfg.BlockParts
    let kl = cfg.Block.KernelLength
    [ for part, o in [ "conv1", k1; "conv2", k2 ] ->
        DepthProfile.ofLayers part cfg.Depth kl (fun k i -> float run.Theta.[cfg.BlockOffset k + o + i]) ]

/// Batch norm's scale and shift of the blocks: γ₁, β₁, γ₂, β₂, by their params_layout names.
let normParts = [ "bn1_gamma"; "bn1_beta"; "bn2_gamma"; "bn2_beta" ]

/// The mean over the channels of one of `normParts` in every layer k = 0 .. L − 1 (summed in the order of the channels).
let channelMeans (run: ResOdeProofs.Numerics.BnConv.BnConvRun) (part: string) : float[] =
    let cfg = run.Config
    let struct (_, g1, b1, _, g2, b2) = cfg.BlockParts
    let o = match part with "bn1_gamma" -> g1 | "bn1_beta" -> b1 | "bn2_gamma" -> g2 | "bn2_beta" -> b2 | _ -> invalidArg "part" part
    let c = cfg.Channels
    Array.init cfg.Depth (fun k ->
        let mutable s = 0.0
        for i in 0 .. c - 1 do s <- s + float run.Theta.[cfg.BlockOffset k + o + i]
        s / float c)

/// The constants' names of batch norm's statistics across layers: the mean, smallest and largest over k of the channel mean.
let normMeanName (part: string) = sprintf "%s: mean over k of the channel mean" part
let normMinName (part: string) = sprintf "%s: min over k of the channel mean" part
let normMaxName (part: string) = sprintf "%s: max over k of the channel mean" part

/// E.profile's input on a bn-conv run: conv1 and conv2 of the stored parameters against run.json's L·max_k‖ΔK_k‖_F after
/// the last epoch (its "epochs" record and its "final" copy). The producer summed the same squares in float64 from the
/// same float32 values (`BnConvTrainer.Smoothness`), N = (kernel entries) + 4 roundings from the exact value in either
/// computation (difference, square, the sum, the square root, the factor L), so each is within γ_N of it, relatively, and
/// the two differ by at most 2γ_N/(1 − γ_N) times the recomputed value; run.json's decimal form round-trips a double.
let profileInput (run: ResOdeProofs.Numerics.BnConv.BnConvRun) : DepthProfile.ProfileInput =
    let cfg = run.Config
    let parts = kernelProfiles run
    let n = float (cfg.Block.KernelLength + 4)
    let gamma = n * Rounding.Float64UnitRoundoff / (1.0 - n * Rounding.Float64UnitRoundoff)
    let epochs = match run.Json.["epochs"] with :? System.Text.Json.Nodes.JsonArray as a -> a | _ -> System.Text.Json.Nodes.JsonArray()
    let number (node: System.Text.Json.Nodes.JsonNode | null) (key: string) =
        match node with
        | null -> nan
        | n ->
            // a value that is not a number (a string, an object) is no claim: NaN, which "smoothness recorded" rejects
            match n.[key] with
            | :? System.Text.Json.Nodes.JsonValue as v ->
                let mutable x = 0.0
                if v.TryGetValue<float>(&x) then x else nan
            | _ -> nan
    let records : (string * (System.Text.Json.Nodes.JsonNode | null)) list =
        [ if epochs.Count > 0 then yield sprintf "run.json epochs[%d]" (epochs.Count - 1), epochs.[epochs.Count - 1]
          match run.Json.["final"] with
          | null -> ()
          | f -> yield "run.json final", f ]
    // the extremes keep a NaN wherever it stands: a non-finite statistic reaches E.profile's hypothesis "parameters finite"
    let stats =
        [ for part in normParts do
            let v = channelMeans run part
            yield normMeanName part, (if v.Length = 0 then nan else Array.average v)
            yield normMinName part, Comparison.minKeepNaNOr nan v
            yield normMaxName part, Comparison.maxKeepNaNOr nan v ]
    { Name = run.Directory
      Depth = cfg.Depth
      When = sprintf "after epoch %d" epochs.Count
      Parts = parts
      Claims =
        [ for what, node in records do
            for q in parts ->
                let recomputed = float cfg.Depth * q.MaxIncrement
                { Part = q.Part; What = sprintf "%s.smooth_%s" what q.Part; Claimed = number node ("smooth_" + q.Part); Scale = float cfg.Depth
                  Allowance = 2.0 * gamma / (1.0 - gamma) * recomputed } ]
      NoClaim = (if records.IsEmpty then Some "run.json records no epoch" else None)
      Extra = stats }
