/// E.accuracy.train and E.accuracy.test (docs/theorems/FashionAccuracy.md): a Fashion-MNIST MLP cell's claimed train and test accuracies against a
/// recount from the stored weights and the images, on a small real cell (the settings of the engine's Fashion-MNIST test,
/// tests/Numerics.Tests/IdxTests.cs); corrupted claims or weights are rejected, missing or NaN claims are not violations.
/// Needs the Debian package dataset-fashion-mnist (installed by CI); without it the loader's error names the package.
module ResOdeProofs.Properties.FashionAccuracyTests

open System
open Xunit
open ResOdeProofs.Numerics
open ResOdeProofs.Numerics.IO
open ResOdeProofs.Numerics.Model
open ResOdeProofs.Numerics.Training
open ResOdeProofs.Theory

/// The small real cell, trained once: L = 8, m = 64, d = 32, 50 training and 30 test images per class, GELU, tied W,
/// V = 0 at initialization, 200 gradient-descent steps; with the trainer's own accuracies as the claims.
type private Cell =
    { Shape: NetworkShape
      Data: FashionData
      Run: Run
      TrainClaim: float
      TestClaim: float }

let private cell =
    lazy
        (let fd = FashionData.Prepare(FashionMnist.Load(), 50, 30, 32, 1L)
         let shape = NetworkShape(8, 64, 32, 784, 10)
         let init = Initialization.Tied(shape, 1L, 1.0, 0.0)
         let r = Trainer.Train(shape, fd.Train, init, TrainOptions(ActivationKind.Gelu, 0.002, 200, Snapshots = 2), 1L, fd.Description, fd.A, fd.B)
         Assert.Equal(RunStatus.Completed, r.Status)
         let acc (d: Dataset) labels = FashionData.Accuracy(shape, ActivationKind.Gelu, d, labels, fd.A, fd.B, r.Snapshots.[r.Snapshots.Count - 1].W, r.Snapshots.[r.Snapshots.Count - 1].V)
         { Shape = shape; Data = fd; Run = Run(RunDirectory.InMemory(r, "fashion-small"))
           TrainClaim = acc fd.Train fd.TrainLabels; TestClaim = acc fd.Test fd.TestLabels })

let private input (train: float option) (test: float option) =
    let c = cell.Force()
    FashionAccuracy.ofMlpRun c.Run
        [ { Set = "train"; Inputs = c.Data.Train.X; Labels = c.Data.TrainLabels; Claimed = train; Unavailable = None }
          { Set = "test"; Inputs = c.Data.Test.X; Labels = c.Data.TestLabels; Claimed = test; Unavailable = None } ]

let private constant (e: Evaluation) (name: string) =
    match e.Constants |> List.tryFind (fun (n, _) -> n = name) with
    | Some(_, v) -> v
    | None -> failwithf "no constant %s" name

let private allMet (e: Evaluation) = e.Hypotheses |> List.forall (fun (_, ok, _) -> ok)

/// The two rows on one input: E.accuracy.train, E.accuracy.test.
let private both (p: FashionAccuracy.AccuracyInput) =
    Result.evaluate FashionAccuracy.trainAccuracy p, Result.evaluate FashionAccuracy.testAccuracy p

[<Fact>]
let ``E.accuracy.train, E.accuracy.test: a trained Fashion-MNIST cell with the trainer's claims → both hold, each claim within its recount`` () =
    let c = cell.Force()
    let p = input (Some c.TrainClaim) (Some c.TestClaim)
    Assert.Equal<string list>([ "E.accuracy.train"; "E.accuracy.test" ], FashionAccuracy.all |> List.map (fun r -> r.Id))
    for set, claim in [ "train", c.TrainClaim; "test", c.TestClaim ] do
        let e = Result.evaluate (FashionAccuracy.accuracyOf set) p
        Assert.True(Verdict.isHolds e.Verdict, sprintf "%s: %A %A" set e.Verdict e.Notes)
        // each row holds its own set's constants only
        let other = if set = "train" then "test" else "train"
        Assert.DoesNotContain(e.Constants, fun (n, _) -> n = FashionAccuracy.imagesName other)
        let n = constant e (FashionAccuracy.imagesName set)
        let lo = constant e (FashionAccuracy.decidedCorrectName set)
        let hi = lo + constant e (FashionAccuracy.undecidedName set)
        Assert.True(lo <= Math.Round(claim * n) && Math.Round(claim * n) <= hi, sprintf "%s: claim %g x %g outside [%g, %g]" set claim n lo hi)
        Assert.Equal(claim, constant e (FashionAccuracy.claimedName set))
        // the trained cell learns (well above chance, 10%), so the recount is not a trivial one
        Assert.True(constant e (FashionAccuracy.accuracyLowName set) > 0.4, set)

[<Fact>]
let ``E.accuracy.train: the train claim one image higher → violated, E.accuracy.test holds`` () =
    let c = cell.Force()
    let n = float c.Data.TrainLabels.Length
    let e, t = both (input (Some(c.TrainClaim + 1.0 / n)) (Some c.TestClaim))
    Assert.True(allMet e, sprintf "%A" e.Hypotheses)
    match e.Verdict with
    | Violated w -> Assert.StartsWith("train", w.Where)
    | v -> failwithf "expected violated, got %A" v
    Assert.True(Verdict.isHolds t.Verdict, sprintf "%A" t.Verdict)

[<Fact>]
let ``E.accuracy.test: the test claim one image lower → violated, E.accuracy.train holds`` () =
    let c = cell.Force()
    let n = float c.Data.TestLabels.Length
    let tr, e = both (input (Some c.TrainClaim) (Some(c.TestClaim - 1.0 / n)))
    Assert.True(Verdict.isHolds tr.Verdict, sprintf "%A" tr.Verdict)
    Assert.True(allMet e, sprintf "%A" e.Hypotheses)
    match e.Verdict with
    | Violated w -> Assert.StartsWith("test", w.Where)
    | v -> failwithf "expected violated, got %A" v

[<Fact>]
let ``E.accuracy.train: one entry of the last layer's V moved, the claims kept → violated`` () =
    let c = cell.Force()
    let good = input (Some c.TrainClaim) (Some c.TestClaim)
    // V_L's row 0 feeds output 0 (B = [I 0]): one entry raised by 50 moves logit 0 by 50/L·σ(W_L h)_0 for every image
    let L, md = good.Depth, good.Width * good.Dim
    let v = Array.copy good.V
    v.[(L - 1) * md] <- v.[(L - 1) * md] + 50.0
    let moved = { good with V = v }
    let before = FashionAccuracy.count good good.Sets.[0]
    let after = FashionAccuracy.count moved moved.Sets.[0]
    Assert.NotEqual(before.DecidedCorrect, after.DecidedCorrect)
    let e = Result.evaluate FashionAccuracy.trainAccuracy moved
    Assert.True(allMet e, sprintf "%A" e.Hypotheses)
    Assert.True(Verdict.isViolated e.Verdict, sprintf "%A" e.Verdict)

[<Fact>]
let ``E.accuracy.test: no test claim → hypothesis not met, E.accuracy.train holds`` () =
    let c = cell.Force()
    let tr, e = both (input (Some c.TrainClaim) None)
    match e.Verdict with
    | HypothesisNotMet failed -> Assert.Contains(failed, fun (name, why) -> name = "accuracy claimed" && why.Contains "no claimed test accuracy")
    | v -> failwithf "expected hypothesis not met, got %A" v
    Assert.True(Verdict.isHolds tr.Verdict, sprintf "%A" tr.Verdict)

[<Fact>]
let ``E.accuracy.train: a NaN train claim → hypothesis not met, not a number`` () =
    let c = cell.Force()
    let e = Result.evaluate FashionAccuracy.trainAccuracy (input (Some nan) (Some c.TestClaim))
    Assert.False(Verdict.isHolds e.Verdict)
    match e.Verdict with
    | HypothesisNotMet failed -> Assert.Contains(failed, fun (_, why) -> why.Contains "not a number")
    | v -> failwithf "expected hypothesis not met, got %A" v

[<Fact>]
let ``E.accuracy.train, E.accuracy.test: weights missing → hypothesis not met, both`` () =
    let c = cell.Force()
    let e, t = both { input (Some c.TrainClaim) (Some c.TestClaim) with W = [||] }
    Assert.True(Verdict.isHypothesisNotMet e.Verdict, sprintf "%A" e.Verdict)
    Assert.True(Verdict.isHypothesisNotMet t.Verdict, sprintf "%A" t.Verdict)

[<Fact>]
let ``E.accuracy.test: an input with the train set only → hypothesis not met, no test set`` () =
    let c = cell.Force()
    let p = input (Some c.TrainClaim) (Some c.TestClaim)
    match (Result.evaluate FashionAccuracy.testAccuracy { p with Sets = [ p.Sets.[0] ] }).Verdict with
    | HypothesisNotMet failed -> Assert.Contains(failed, fun (_, why) -> why.Contains "no test set")
    | v -> failwithf "expected hypothesis not met, got %A" v

/// The engine's fast float64 pass (the producer's: fused kernels, its own summation order) over the training images:
/// B·h_L of every image, n × 10.
let private engineLogits (c: Cell) =
    let s = c.Run.SnapshotCount - 1
    let net = ResNet<float>(c.Shape, ActivationKind.Gelu, c.Data.Train, c.Data.A, c.Data.B)
    net.Evaluate(ReadOnlySpan(c.Run.W s), ReadOnlySpan(c.Run.V s), Span<float>.Empty, Span<float>.Empty) |> ignore
    let h = net.HiddenStates.ToArray()
    let n, d, L = c.Data.Train.Count, c.Shape.Dim, c.Shape.Depth
    Array.init n (fun i ->
        Array.init 10 (fun k ->
            let mutable e = 0.0
            for r in 0 .. d - 1 do e <- e + c.Data.B.[k * d + r] * h.[(L * n + i) * d + r]
            e))

[<Fact>]
let ``E.accuracy.train logit bound: the trained cell → the engine's fast-kernel logits within 2ε of this pass' on every image`` () =
    let c = cell.Force()
    let p = input (Some c.TrainClaim) (Some c.TestClaim)
    let engine = engineLogits c
    let mutable worst = 0.0
    for i in 0 .. c.Data.Train.Count - 1 do
        let z, eps = FashionAccuracy.logits p c.Data.Train.X.[i * 784 .. i * 784 + 783]
        Assert.True(eps > 0.0 && eps < 1e-6, sprintf "image %d: ε = %g" i eps)
        for k in 0 .. 9 do
            let e = engine.[i].[k]
            Assert.True(abs (e - z.[k]) <= 2.0 * eps, sprintf "image %d, logit %d: |%.17g − %.17g| > 2ε = %g" i k e z.[k] (2.0 * eps))
            worst <- max worst (abs (e - z.[k]) / (2.0 * eps))
    // the two passes differ somewhere (different summation orders), so the comparison is not of identical numbers
    Assert.True(worst > 0.0, "the two passes agree bit for bit: the bound was not exercised")

[<Fact>]
let ``E.accuracy.train undecided: two outputs tied by construction → every tied image undecided, claims between the counts hold and one beyond is violated`` () =
    let c = cell.Force()
    let good = input (Some c.TrainClaim) (Some c.TestClaim)
    // B's rows 0 and 1 both read h_L's coordinate 0: outputs 0 and 1 equal in every evaluation, so an image whose largest
    // output is one of them is undecided
    let b = Array.copy good.B
    for r in 0 .. good.Dim - 1 do b.[1 * good.Dim + r] <- b.[0 * good.Dim + r]
    let tied = { good with B = b }
    let k = FashionAccuracy.count tied tied.Sets.[0]
    Assert.True(k.Undecided > 0, "no image has output 0 or 1 largest")
    let n = float k.Images
    let withTrain claim = { tied with Sets = [ { tied.Sets.[0] with Claimed = Some claim } ] }
    for claimed, holds in [ float k.DecidedCorrect, true; float (k.DecidedCorrect + k.Undecided), true; float (k.DecidedCorrect + k.Undecided + 1), false ] do
        let e = Result.evaluate FashionAccuracy.trainAccuracy (withTrain (claimed / n))
        Assert.True(allMet e, sprintf "%A" e.Hypotheses)
        Assert.True(Verdict.isHolds e.Verdict = holds, sprintf "claim %g of %g: %A" claimed n e.Verdict)
