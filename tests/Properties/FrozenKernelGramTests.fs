/// C.runRate's frozen-kernel prediction (`PolyakLojasiewicz.frozenKernelLoss`) reads the mean Gram matrix Ḡ that
/// `initConstants` formed, instead of forming the L Gram products a second time. The former code is kept here: the
/// prediction must be the same bits at every iteration asked, and the comparison is shown to see a Ḡ with one entry
/// moved by one ulp.
module ResOdeProofs.Properties.FrozenKernelGramTests

open System
open Xunit
open MathNet.Numerics.LinearAlgebra
open ResOdeProofs.Numerics
open ResOdeProofs.Numerics.IO
open ResOdeProofs.Numerics.Training
open ResOdeProofs.Theory

/// A run with V(0) = 0 and B = I (the prediction's setting): GELU or tanh, m ≥ n or m < n.
let private run (act: ActivationKind) (m: int) (n: int) (seed: int64) =
    let shape = Model.NetworkShape.Square(6, m, 3)
    let data = Model.Dataset.SyntheticGaussian(n, 3, 3, seed)
    let opts = TrainOptions(act, 0.01, 6, Snapshots = 2)
    let r = Trainer.Train(shape, data, Initialization.Tied(shape, seed), opts, seed, "synthetic", null, null)
    Run(RunDirectory.InMemory(r, sprintf "%A m = %d n = %d" act m n))

/// The former prediction: Ḡ formed again from the reference's σ values, changed by `alter` (the control), then the same steps.
let private formerPrediction (alter: Matrix<float> -> unit) (run: Run) : int -> float =
    let s = run.Setting
    let L, m, n, d = s.Depth, s.Width, s.Samples, s.Dim
    let lw = run.Layerwise 0
    let sigma = lw.PreActivations().Sigma
    let gbar =
        ([| 0 .. L - 1 |]
         |> Array.map (fun k ->
             let p = Matrix<float>.Build.Dense(m, n, fun j i -> sigma.[k].[i].[j])
             p.TransposeThisAndMultiply p)
         |> Array.reduce (+)) / float L
    alter gbar
    let evd = gbar.Evd(Symmetricity.Symmetric)
    let r0 = Matrix<float>.Build.Dense(n, d, fun i c -> lw.H.[L].[i].[c] - run.Data.Data.Y.[i * d + c])
    let coeff = evd.EigenVectors.TransposeThisAndMultiply r0
    let lam = evd.EigenValues |> Seq.map (fun z -> z.Real) |> Array.ofSeq
    let weight = Array.init n (fun a -> let row = coeff.Row a in row.DotProduct row)
    fun j -> (Array.map2 (fun l w -> w * Portable.pown (1.0 - 2.0 * s.Eta * l / float n) (2 * j)) lam weight |> Array.sum) / float n

let private bits (x: float) = BitConverter.DoubleToInt64Bits x

let private iterations = [ 0; 1; 2; 5; 50; 1000 ]

[<Fact>]
let ``C.runRate: frozen-kernel prediction from the kept Ḡ, four runs → the former prediction's bits at every iteration asked`` () =
    for act, m, n, seed in [ ActivationKind.Gelu, 8, 5, 3L; ActivationKind.Tanh, 4, 7, 5L; ActivationKind.Gelu, 3, 9, 8L; ActivationKind.Tanh, 10, 4, 13L ] do
        let r = run act m n seed
        let now = (PolyakLojasiewicz.frozenKernelLoss r).Value
        let former = formerPrediction ignore r
        for j in iterations do
            Assert.True(bits (now j) = bits (former j), sprintf "%A m = %d n = %d, j = %d: %.17g vs %.17g" act m n j (now j) (former j))
        // asked again (the kept Ḡ is not changed by the decomposition): the same bits
        let again = (PolyakLojasiewicz.frozenKernelLoss r).Value
        for j in iterations do Assert.Equal(bits (now j), bits (again j))

[<Fact>]
let ``C.runRate: frozen-kernel prediction against a Ḡ with its largest diagonal entry one ulp up → other bits at some iteration`` () =
    let r = run ActivationKind.Gelu 8 5 3L
    let now = (PolyakLojasiewicz.frozenKernelLoss r).Value
    let bumped =
        formerPrediction (fun g ->
            let k = [| 0 .. g.RowCount - 1 |] |> Array.maxBy (fun i -> g.[i, i])
            g.[k, k] <- Math.BitIncrement g.[k, k]) r
    Assert.True(iterations |> List.exists (fun j -> bits (now j) <> bits (bumped j)), "a one-ulp change of Ḡ gave the same bits at every iteration")
