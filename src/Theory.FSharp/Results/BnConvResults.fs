/// What `resode verify` says about a run of the real-data experiment (`train --arch bn-conv`: a convolutional ResNet
/// with batch norm trained by mini-batch SGD with momentum): one row per result (docs/real-data.md, "verify").
///  - the results about gradient descent or flow (every MLP-format result, G.A.*): hypothesis not met, the optimizer is not GD;
///  - E.accuracy.train, E.accuracy.test: run.json's accuracies against a recomputation (evidence, as the E.* results);
///  - on the trained network with batch norm folded into its convolutions (a network of conv blocks, any weights):
///    G.B.bound (ResNet vs the neural ODE of its own layers), B.half and B.half.ode (every second layer, docs/theorems/HalfDepth.md).
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

/// (E.accuracy.*) run.json's accuracy against the recomputed one, within the counted rounding allowance.
let accuracy (id: string) (what: string) : Result<AccuracyClaim> =
    { Id = id
      Title = sprintf "Evidence: run.json's %s against a recomputation from params.npy and the images" what
      Source = "evidence (docs/real-data.md, \"verify\")"
      Provenance = ProvedHere
      Doc = "docs/theorems/Evidence.md"
      Statement =
        "The claimed fraction times N differs from the recomputed count of correct predictions (evaluation mode, running statistics, batch norm folded as the trainer evaluates) "
        + "by at most A images, A = the images classified differently by the folded and the unfolded evaluation (equal in real arithmetic), plus 1e-9 for the decimal form of the fraction."
      Hypotheses =
        [ "claim recorded", fun c -> if System.Double.IsFinite c.Claimed then Met(sprintf "%.6g" c.Claimed) else NotMet "run.json records no finite accuracy" ]
      Conclusion =
        fun c ->
            let diff = abs (c.Claimed * float c.Images - float c.Recomputed)
            let e = evaluation 0.0 [ { Measured = diff; Bound = float c.Allowance + 1e-9; Where = c.Set; When = "after the last epoch" } ] [ "images", float c.Images; "recomputed correct", float c.Recomputed; "claimed x N", c.Claimed * float c.Images ] [ c.Detail ]
            e }

let trainAccuracy = accuracy "E.accuracy.train" "train accuracy (evaluation mode)"
let testAccuracy = accuracy "E.accuracy.test" "test accuracy"

/// A claim of run.json checked by the engine, as the input of E.accuracy.*.
let claim (c: ResOdeProofs.Numerics.BnConv.BnConvAccuracy.Check) : AccuracyClaim =
    { Set = c.Set; Images = c.N; Claimed = c.Claimed; Recomputed = c.Folded; Allowance = c.Allowance; Detail = c.Describe() }

/// The folded network of a run as the input of G.B.bound (a conv-block run, opened with `architectures`) and of the
/// half-depth results.
let folded (architectures: Architecture list) (f: ResOdeProofs.Numerics.BnConv.FoldedNetwork) : Run * HalfDepth.HalfDepthInput =
    Run(f.Run, architectures),
    { Name = f.Name; Block = f.Block; Theta = f.Theta; Depth = f.Depth; H0 = f.H0; Samples = f.Samples; HalfStepScale = 1.0 }
