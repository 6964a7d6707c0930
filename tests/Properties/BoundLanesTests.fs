/// Result B's reference solve with its work in vector lanes (GELU's value, the right-hand side's products, the Runge–Kutta
/// combinations; docs/theorems/EulerError.md, "Cost bounds of the check"): a corrupted input is still rejected by every row
/// that reads the analysis, while the hypotheses stay met.
module ResOdeProofs.Properties.BoundLanesTests

open Xunit
open ResOdeProofs.Numerics.IO
open ResOdeProofs.Numerics.Training
open ResOdeProofs.Theory
open ResOdeProofs.Properties.SharperBoundsProperties

/// The ResNet's states of snapshot s computed with the last layer's V_L bumped by δ on every entry: h_L moves by exactly
/// (δ/L)·(Σ_j σ(u_j))·(1, …, 1) for each sample (up to rounding), nothing before it moves.
let private statesWithBumpedLastLayer (trained: TrainRecord) (s: int) (delta: float) =
    let bumped = RunDirectory.InMemory(trained)
    let sh = bumped.Shape
    let md = sh.Width * sh.Dim
    let v = Array.copy bumped.V.[s]
    for e in (sh.Depth - 1) * md .. sh.Depth * md - 1 do v.[e] <- v.[e] + delta
    rewriteSnapshot bumped s bumped.W.[s] v
    (Run(bumped)).Layerwise s

let private distance (a: float[]) (b: float[]) = sqrt (Array.fold2 (fun acc x y -> acc + (x - y) * (x - y)) 0.0 a b)

/// A forward pass whose last layer of one snapshot is bumped (V_L + δ): the ResNet's states of that snapshot are those of
/// the bumped weights, the neural ODE is solved on the recorded ones. δ is chosen from the analysis of the faithful run so
/// that every checked sample's final state moves by 4× its largest bound plus its measured error; the bounds are theorems
/// for the recorded weights, so each row must reject it, while σ Lipschitz, finite weights and the accuracy of the
/// reference solve (all read from the recorded weights) stay met.
[<Fact>]
let ``B.bound, B.bound.secant, B.bound.defect: the ResNet's states of one snapshot from a bumped last layer → violated, hypotheses met`` () =
    let spec = RunSpec(Depth = 16, Width = 8, Samples = 6, Dim = 4, VScale = 0.5, Eta = 0.01, Iterations = 5, Snapshots = 2, Seed = 3L)
    let trained = spec.Train()
    let s = 1
    let faithful = Run(RunDirectory.InMemory(trained))
    let samples = (EulerError.analyse faithful).[s].Samples
    let need = samples |> Array.map (fun x -> 4.0 * (max x.Bound (max x.SecantBound x.DefectBound) + x.Measured + x.IntegrationError))
    // the shift of each sample per unit δ, measured on a bump of 1
    let unit = statesWithBumpedLastLayer trained s 1.0
    let lw0 = faithful.Layerwise s
    let L = spec.Depth
    let perUnit = samples |> Array.map (fun x -> distance (unit.H.[L].[x.Sample].ToArray()) (lw0.H.[L].[x.Sample].ToArray()))
    Assert.True(Array.forall (fun p -> p > 0.0) perUnit, "a sample's final state does not move with V_L")
    let delta = Array.map2 (/) need perUnit |> Array.max
    let faulty = statesWithBumpedLastLayer trained s delta
    let run = Run(RunDirectory.InMemory(trained))
    let lw = run.Layerwise s
    for k in 0 .. lw.H.Length - 1 do
        for i in 0 .. lw.H.[k].Length - 1 do
            faulty.H.[k].[i].CopyTo(lw.H.[k].[i])
    for r in [ EulerError.bound; EulerError.boundSecant; EulerError.boundDefect ] do
        let e = Result.evaluate r run
        Assert.Equal(4, e.Hypotheses.Length)
        for name, met, detail in e.Hypotheses do Assert.True(met, sprintf "%s: hypothesis %s not met: %s" r.Id name detail)
        match e.Verdict with
        | Violated w -> Assert.Contains(sprintf "snapshot %d" s, w.When)
        | v -> failwithf "%s: expected Violated, got %A" r.Id v
    // the faithful run holds
    for r in [ EulerError.bound; EulerError.boundSecant; EulerError.boundDefect ] do
        Assert.True(Verdict.isHolds (Result.evaluate r faithful).Verdict, r.Id)
