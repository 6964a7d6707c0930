/// `Rounding.amplificationAt` forms H̄ and the row norms r_k once per snapshot for the products and ς, and keeps each worker
/// thread's Jacobian arrays from one sample to the next: the former code, which formed both twice and allocated L fresh
/// d×d arrays per sample, is written out here and must give the same bits (Ā and ς), on the products' path and on the
/// worst case's; a negative control shows the comparison sees one weight moved by 10⁻⁹ of itself.
module ResOdeProofs.Properties.AmplificationReuseTests

open System
open Xunit
open ResOdeProofs.Numerics
open ResOdeProofs.Numerics.IO
open ResOdeProofs.Numerics.Training
open ResOdeProofs.Theory
open ResOdeProofs.Properties.Generators

let private u = Rounding.Float64UnitRoundoff
let private gam (k: float) = let ku = k * u in if ku < 1.0 then ku / (1.0 - ku) else infinity

// ------------------------------------------------------------------ the former code, as it stood

let private formerRowNorms (run: Run) (s: int) =
    let st = run.Setting
    let m, d = st.Width, st.Dim
    let w = run.W s
    Array.init st.Depth (fun k ->
        let mutable best = 0.0
        for j in 0 .. m - 1 do best <- max best (Linalg.frobenius w (k * m * d + j * d) d)
        best * (1.0 + gam (float (d + 2))))

let private formerWorstCase (run: Run) (s: int) =
    let L = float run.Setting.Depth
    let struct (w, v) = run.LayerOperatorNorms s
    let mutable logA = 0.0
    for k in 0 .. w.Length - 1 do logA <- logA + log (1.0 + run.Setting.S1 * w.[k] * v.[k] / L)
    let a = exp logA
    if Double.IsFinite a then a else 1.0

let private formerActual (run: Run) (s: int) : float option =
    let st = run.Setting
    match st.S2 with
    | None -> None
    | Some s2 ->
        let L, m, d = st.Depth, st.Width, st.Dim
        let ur = Rounding.unitRoundoff run
        let md = m * d
        let lw = run.Layerwise s
        let struct (wOp, vOp) = run.LayerOperatorNorms s
        let w, v = run.W s, run.V s
        let hMax = lw.H |> Seq.collect id |> Seq.map Linalg.normOf |> Comparison.maxKeepNaN
        let finite = Double.IsFinite hMax && Array.forall Double.IsFinite wOp && Array.forall Double.IsFinite vOp
        if not finite || L = 0 then None
        else
        let nu = Array.init L (fun k -> 1.0 + st.S1 * vOp.[k] * wOp.[k] * (1.0 + 10.0 * float d * u) / float L)
        let fro = Array.init L (fun k -> Linalg.frobenius v (k * md) md * Linalg.frobenius w (k * md) md)
        let prodNu = nu |> Array.fold (fun p x -> p * x) 1.0
        let pres = lw.PreActivations().Pre
        let perSample (i: int) =
            let js = Array.init L (fun _ -> Array.zeroCreate (d * d))
            let slopes = Array.zeroCreate m
            let vd = Array.zeroCreate (d * m)
            let mutable prodA = 1.0
            for k in 0 .. L - 1 do
                let o = k * md
                let h, pre = lw.H.[k].[i], pres.[k].[i]
                let mutable epsMax = 0.0
                for jj in 0 .. m - 1 do
                    let mutable absSum = 0.0
                    for c in 0 .. d - 1 do absSum <- absSum + abs (w.[o + jj * d + c] * h.[c])
                    let struct (q, e) = LayerJacobian.tangentSlope u st.Activation st.S2 (float (d + 1) * u * absSum) pre.[jj]
                    slopes.[jj] <- q
                    epsMax <- max epsMax e
                LayerJacobian.form L m d w v o slopes vd js.[k]
                let eta = LayerJacobian.formError u L m st.S1 vOp.[k] wOp.[k] epsMax fro.[k]
                prodA <- prodA * (nu.[k] + eta) * (1.0 + float d * gam (float d))
            let eps = prodA * (1.0 + 2.0 * float L * u) - prodNu * (1.0 - 2.0 * float L * u)
            LayerJacobian.segmentBound u d eps js
        let T = Array.Parallel.init lw.H.[0].Length perSample |> Comparison.maxKeepNaN
        // the per-state count (`Rounding.stateCountAt`, 2026-12-06) in place of (k − 1)(m + d)u·2H̄: a change of the count,
        // not of the reuse this test is about, so taken from the code here
        let count = Rounding.stateCountAt run s
        let rows = formerRowNorms run s
        let mutable K = 0.0
        for k in 1 .. L do
            let sPrev = 2.0 * count.Prefix.[k - 1]
            K <- K + 2.0 * s2 / float L * vOp.[k - 1] * wOp.[k - 1] * rows.[k - 1] * sPrev
        K <- K * (1.0 + gam (float (4 * L + 8)))
        let disc = 1.0 - 4.0 * T * T * K
        if not (Double.IsFinite T) || not (disc > 0.0) then None
        else
            let a = 2.0 * T / (1.0 + sqrt disc) * (1.0 + 8.0 * u)
            let rho = a * count.Count
            if not (rho <= 0.25) then None else Some a

let private formerSensitivity (run: Run) (s: int) (a: float) =
    let st = run.Setting
    match st.S2 with
    | None -> 0.0
    | Some s2 ->
        let struct (wOp, vOp) = run.LayerOperatorNorms s
        let L = st.Depth
        let hMax = (run.Layerwise s).H |> Seq.collect id |> Seq.map Linalg.normOf |> Comparison.maxKeepNaN
        let rows = formerRowNorms run s
        let meanVW2 = (Array.init L (fun k -> vOp.[k] * wOp.[k] * rows.[k]) |> Array.sum) / float L
        let sens = s2 * 2.0 * hMax * (a * meanVW2 + Array.max rows / st.S1) * (1.0 + gam (float (L + 8)))
        if Double.IsFinite sens then sens else 0.0

let private former (run: Run) (s: int) =
    let worst = formerWorstCase run s
    match (if worst <= Rounding.ProductsAbove then None else formerActual run s) with
    | Some a when a <= worst -> a, formerSensitivity run s a, "jacobian products"
    | _ -> worst, formerSensitivity run s worst, "worst case"

// ------------------------------------------------------------------ the comparisons

let private sameBits (a: float) (b: float) = BitConverter.DoubleToInt64Bits a = BitConverter.DoubleToInt64Bits b

/// i.i.d. layers, Π(1 + κ_k/L) ≈ 10⁵ (the products' path), and tied small layers (the worst case's path).
let private products = RunSpec(Depth = 16, Width = 8, Samples = 5, Dim = 4, Init = InitKind.Iid, Scale = 1.0, VScale = 1.0, Eta = 0.001,
                               Iterations = 3, SnapshotSteps = [| 0; 1; 3 |], Seed = 5L)
let private worstCase = RunSpec(Depth = 16, Width = 8, Samples = 5, Dim = 4, Init = InitKind.Tied, Scale = 0.5, VScale = 0.1, Eta = 0.001,
                                Iterations = 3, SnapshotSteps = [| 0; 1; 3 |], Seed = 5L)

[<Fact>]
let ``Rounding.amplificationAt: H̄ and r_k once, Jacobian arrays kept per thread, both paths → the former code's bits (Ā and ς)`` () =
    for sp, path in [ products, "jacobian products"; worstCase, "worst case" ] do
        let run = train sp
        for s in 0 .. run.SnapshotCount - 1 do
            let a = Rounding.amplificationAt run s
            let value, sens, meth = former run s
            Assert.Equal(path, a.Method)
            Assert.Equal(meth, a.Method)
            Assert.True(sameBits value a.Value, sprintf "%s, snapshot %d: Ā %.17g vs the former %.17g" path s a.Value value)
            Assert.True(sameBits sens a.Sensitivity, sprintf "%s, snapshot %d: ς %.17g vs the former %.17g" path s a.Sensitivity sens)

[<Fact>]
let ``Rounding.amplificationAt: one weight moved by 10⁻⁹ relatively → other bits than the former code at the unchanged run (the comparison is not blind)`` () =
    let baseRun = train products
    let data = RunDirectory.InMemory(products.Train(), "one weight moved")
    // the last snapshot's first layer, first entry: W_1[0, 0] moved by 10⁻⁹ of itself
    let s = data.W.Length - 1
    data.W.[s].[0] <- data.W.[s].[0] * (1.0 + 1e-9)
    let moved = Run(data)
    let a = Rounding.amplificationAt moved s
    let value, sens, _ = former baseRun s
    Assert.Equal("jacobian products", a.Method)
    Assert.False(sameBits value a.Value && sameBits sens a.Sensitivity, "Ā and ς unchanged by a moved weight")
