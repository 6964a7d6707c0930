/// The allowances derived last (docs/theorems/LimitDynamics.md "Runs that coincide", docs/theorems/DepthSmoothness.md
/// "Rounding of the stored update"): each bounds the rounding it is for on the engine's own numbers, and a change just
/// past it is told apart from rounding.
module ResOdeProofs.Properties.DerivedAllowanceTests

open System
open Xunit
open ResOdeProofs.Numerics
open ResOdeProofs.Numerics.Model
open ResOdeProofs.Numerics.Training
open ResOdeProofs.Theory
open ResOdeProofs.Properties.Generators

/// A tied ladder whose depths are not powers of two (the Richardson limit's products L·z round) at t = 0.
let private tiedLadder () =
    let spec = RunSpec(Width = 4, Samples = 4, Dim = 3, Init = InitKind.Tied, Scale = 0.7, Eta = 0.01, Iterations = 2, Snapshots = 2, Seed = 5L)
    match Ladder.create ([ 3; 6; 12; 24; 48 ] |> List.map (fun L -> train (spec.With(depth = L)))) with
    | Ok l -> l
    | Error e -> failwith e

[<Fact>]
let ``LimitDynamics.coincideAllowance: tied ladder L = 3..48 at t = 0 → every distance to the Richardson limit within it (not measurable); the fitted runs moved by 4x it → measurable, which the former 1e-12(1 + RMS) left out`` () =
    let l = tiedLadder ()
    let d0 = LimitDynamics.snapshotDistances l 0
    let tol = LimitDynamics.coincideAllowance l 0
    let scale = l.Runs |> List.map (fun r -> LimitDynamics.rmsSize r 0) |> List.max
    // ρ = (48 + 24)/(48 − 24) = 3: γ_5 and the sums' γ_{2·12·48+3}, about 5.6·10⁻¹⁶ of the RMS size
    Assert.InRange(tol / scale, 5.5e-16, 5.7e-16)
    Assert.True(d0.Distances |> List.exists (fun x -> x > 0.0), sprintf "no rounding at all in the Richardson limit: %A" d0.Distances)
    Assert.True(d0.Distances |> List.forall (fun x -> x <= tol), sprintf "distances %A above the allowance %g" d0.Distances tol)
    Assert.False(LimitDynamics.measurable l |> List.exists (fun d -> d.Iteration = 0), "t = 0 taken as measurable")
    // every fitted run's weights at t = 0 (all but the deepest) scaled by 1 + 4·coincideRel: a real (if tiny) difference
    // from the deepest run; the Richardson limit moves to z(1 − 4·coincideRel), each distance to about 8x the allowance
    let rel = tol / scale
    for r in List.take 4 l.Runs do
        let w = r.W 0
        for i in 0 .. w.Length - 1 do w.[i] <- w.[i] * (1.0 + 4.0 * rel)
    let movedAll = (LimitDynamics.snapshotDistances l 0).Distances
    let tolMoved = LimitDynamics.coincideAllowance l 0
    Assert.True(movedAll |> List.forall (fun x -> x > tolMoved), sprintf "moved distances %A not all above the allowance %g" movedAll tolMoved)
    let moved = List.max movedAll
    Assert.True(LimitDynamics.measurable l |> List.exists (fun d -> d.Iteration = 0), "the moved run is still taken as coinciding")
    Assert.True(moved < 1e-12 * (1.0 + scale), "the former tolerance would have caught it")

/// The exact error x̂ − (z − ηg) of one stored entry (error-free transformations: ηg = p + pe, x̂ − z = s + se).
let private updateError (z: float) (eta: float) (g: float) (x: float) =
    let twoSum (a: float) (b: float) =
        let s = a + b
        let bb = s - a
        s, (a - (s - bb)) + (b - bb)
    let p = eta * g
    let pe = Math.FusedMultiplyAdd(eta, g, -p)
    let s, se = twoSum x (-z)
    let t, te = twoSum s p
    t + (te + se + pe)

[<Fact>]
let ``Rounding.updateStoreRoundingAt: the engine's update of random layers (float64) → each layer's exact rounding within it and above a tenth of it`` () =
    let rng = Random(20261202)
    let L, md = 6, 40
    let w = Array.init (L * md) (fun _ -> rng.NextDouble() * 2.0 - 1.0)
    let v = Array.init (L * md) (fun _ -> 3.0 * (rng.NextDouble() * 2.0 - 1.0))
    let gw = Array.init (L * md) (fun _ -> 50.0 * (rng.NextDouble() * 2.0 - 1.0))
    let gv = Array.init (L * md) (fun _ -> rng.NextDouble() * 2.0 - 1.0)
    let eta = 0.013
    let w0, v0 = Array.copy w, Array.copy v
    Trainer.ApplyUpdate<float>(Simd.Level, w, v, ReadOnlySpan gw, ReadOnlySpan gv, L, md, eta, Nullable()) |> ignore
    let u = Rounding.Float64UnitRoundoff
    let mutable worst = 0.0
    for (z0, z1, g) in [ w0, w, gw; v0, v, gv ] do
        for k in 0 .. L - 1 do
            let o = k * md
            let err = sqrt (Seq.sum (seq { for i in o .. o + md - 1 -> let e = updateError z0.[i] eta g.[i] z1.[i] in e * e }))
            let bound = Rounding.updateStoreRoundingAt u md (Linalg.frobenius z0 o md) (eta * Linalg.frobenius g o md)
            Assert.True(err <= bound, sprintf "layer %d: rounding %g above the allowance %g" k err bound)
            worst <- max worst (err / bound)
    Assert.True(worst > 0.1, sprintf "the largest rounding is only %g of the allowance" worst)
