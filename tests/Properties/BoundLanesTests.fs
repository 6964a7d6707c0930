/// Result B's reference solve with its work in vector lanes (GELU's value, the right-hand side's products, the Runge–Kutta
/// combinations; docs/theorems/EulerError.md, "Cost"): a corrupted input is still rejected by every row that reads the
/// analysis, while the hypotheses stay met.
module ResOdeProofs.Properties.BoundLanesTests

open Xunit
open ResOdeProofs.Numerics.IO
open ResOdeProofs.Numerics.Training
open ResOdeProofs.Theory
open ResOdeProofs.Properties.SharperBoundsProperties

/// A forward pass with one layer of one snapshot bumped (δ = 0.5 on every entry of W_k, k = L/2): the ResNet's states of
/// that snapshot are those of the bumped weights, the neural ODE is solved on the recorded ones. The bound is a theorem
/// for the recorded weights, so the moved final states must exceed it; σ Lipschitz, finite weights and the accuracy of
/// the reference solve (all read from the recorded weights) stay met.
[<Fact>]
let ``B.bound, B.bound.secant, B.bound.defect: the ResNet's states of one snapshot from a bumped layer → violated, hypotheses met`` () =
    let spec = RunSpec(Depth = 16, Width = 8, Samples = 6, Dim = 4, VScale = 0.5, Eta = 0.01, Iterations = 5, Snapshots = 2, Seed = 3L)
    let trained = spec.Train()
    let data = RunDirectory.InMemory(trained)
    let bumped = RunDirectory.InMemory(trained)
    let s = 1
    bumpLayer bumped s (spec.Depth / 2) 0.5
    let run = Run(data)
    let faulty = (Run(bumped)).Layerwise s
    let lw = run.Layerwise s
    for k in 0 .. lw.H.Length - 1 do
        for i in 0 .. lw.H.[k].Length - 1 do
            Array.blit faulty.H.[k].[i] 0 lw.H.[k].[i] 0 lw.H.[k].[i].Length
    for r in [ EulerError.bound; EulerError.boundSecant; EulerError.boundDefect ] do
        let e = Result.evaluate r run
        for name, met, detail in e.Hypotheses do Assert.True(met, sprintf "%s: hypothesis %s not met: %s" r.Id name detail)
        Assert.Equal(3, e.Hypotheses.Length)
        match e.Verdict with
        | Violated w -> Assert.Contains(sprintf "snapshot %d" s, w.When)
        | v -> failwithf "%s: expected Violated, got %A" r.Id v
