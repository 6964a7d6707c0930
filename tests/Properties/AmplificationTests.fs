/// τ's amplification from the products of the actual Jacobians along the verifier's own pass (src/Theory.FSharp/
/// Vocabulary/Rounding.fs `amplificationAt`, LayerJacobian.fs; docs/theorems/RunIntegrity.md, "Tolerance from rounding"):
/// it bounds the products it stands for, it is far below the worst case Π(1 + κ_k/L) on weights with A ≫ 1, and I.loss
/// then catches a changed loss that the worst-case allowance let through; the same derivation in float32 (no floor).
module ResOdeProofs.Properties.AmplificationTests

open System
open Xunit
open MathNet.Numerics.LinearAlgebra
open ResOdeProofs.Numerics
open ResOdeProofs.Numerics.IO
open ResOdeProofs.Numerics.Training
open ResOdeProofs.Theory
open ResOdeProofs.Properties.Generators

/// i.i.d. layers with ‖W_k‖₂‖V_k‖₂ ≈ 17 at L = 16, three updates: Π_k(1 + κ_k/L) ≈ 1.1·10⁵ at every snapshot.
let private spec (float32: bool) =
    RunSpec(Depth = 16, Width = 8, Samples = 5, Dim = 4, Init = InitKind.Iid, Scale = 1.0, VScale = 1.0, Eta = 0.001,
            Iterations = 3, SnapshotSteps = [| 0; 1; 3 |], Float32 = float32, Seed = 5L)

let private u64 = Math.Pow(2.0, -53.0)
let private g (u: float) (k: float) = let ku = k * u in ku / (1.0 - ku)

/// The former τ, written out here: 4·max(1, A·e^{−1.4})·L(m + d)u + γ_{n(d_out + 1) + 1}, A the worst case.
let private formerTau (run: Run) =
    let st = run.Setting
    let u = Rounding.unitRoundoff run
    4.0 * max 1.0 (Rounding.forwardAmplification run * exp -1.4) * float st.Depth * float (st.Width + st.Dim) * u
    + g u (float (st.Samples * (run.Data.Data.OutputDim + 1) + 1))

/// I.loss's allowance for a relative tolerance τ at snapshot s: τℓ + 2√ℓδ + δ², δ = τ‖B‖₂ max_i ‖h_L^i‖.
let private lossAllowanceWith (run: Run) (s: int) (tau: float) =
    let lw = run.Layerwise s
    let hmax = lw.H.[lw.H.Length - 1] |> Seq.map Linalg.normOf |> Seq.max
    let delta = tau * run.Setting.ReadoutNorm * hmax
    tau * abs lw.Loss + 2.0 * sqrt (abs lw.Loss) * delta + delta * delta

/// The setting's run trained again (the same bits) with the recorded loss at snapshot s's iteration replaced.
let private withLoss (sp: RunSpec) (s: int) (loss: float) =
    let data = RunDirectory.InMemory(sp.Train(), "corrupted")
    data.Losses.[data.Steps.[s]] <- loss
    Run(data)

let private iLoss (run: Run) = (Result.evaluate RunIntegrity.snapshotLoss run).Verdict

[<Fact>]
let ``Rounding.amplificationAt: i.i.d. layers with Π(1 + κ_k/L) ≈ 10⁵ → Jacobian products, Ā below 10 and above every product`` () =
    let run = train (spec false)
    let st = run.Setting
    let L, m, d = st.Depth, st.Width, st.Dim
    Assert.InRange(Rounding.forwardAmplification run, 1e5, 1e6)
    for s in 0 .. run.SnapshotCount - 1 do
        let a = Rounding.amplificationAt run s
        Assert.Equal("jacobian products", a.Method)
        Assert.InRange(a.Value, 1.0, 10.0)
        // every segment product of the exact-slope Jacobians at the verifier's states, by MathNet and its SVD: below Ā
        let pres = (run.Layerwise s).PreActivations().Pre
        let w, v = run.W s, run.V s
        let jac k i =
            let wk = Matrix<float>.Build.Dense(m, d, fun r c -> w.[k * m * d + r * d + c])
            let vk = Matrix<float>.Build.Dense(d, m, fun r c -> v.[k * m * d + r * m + c])
            let dk = Matrix<float>.Build.DiagonalOfDiagonalArray(Array.map (fun x -> Activations.Derivative(st.Activation, x)) pres.[k].[i])
            Matrix<float>.Build.DenseIdentity d + vk * dk * wk / float L
        let mutable largest = 0.0
        for i in 0 .. st.Samples - 1 do
            let js = Array.init L (fun k -> jac k i)
            for a0 in 0 .. L - 1 do
                let mutable p = Matrix<float>.Build.DenseIdentity d
                for b in a0 .. L - 1 do
                    p <- js.[b] * p
                    largest <- max largest (p.L2Norm())
        Assert.True(largest <= a.Value, sprintf "snapshot %d: a product of norm %g above Ā = %g" s largest a.Value)
        // and not far above it: the blocks' bound loses at most the two partial blocks' norms
        Assert.True(a.Value <= 4.0 * largest, sprintf "snapshot %d: Ā = %g against the largest product %g" s a.Value largest)

[<Fact>]
let ``I.loss: A ≈ 10⁵, a loss changed between the new and the former allowance → violated (the former τ let it through)`` () =
    let run = train (spec false)
    let s = run.SnapshotCount - 1
    let l = (run.Layerwise s).Loss
    let fresh = RunIntegrity.lossAllowance run s
    let former = lossAllowanceWith run s (formerTau run)
    // the former allowance is more than a thousand times the new one
    Assert.True(former > 1000.0 * fresh, sprintf "former %g, new %g" former fresh)
    Assert.True(Verdict.isHolds (iLoss run), sprintf "%A" (iLoss run))
    // a change of √(new·former): 30 times the new allowance, a thirtieth of the former
    let change = sqrt (fresh * former)
    let corrupted = withLoss (spec false) s (l + change)
    Assert.True(change < former, "the former allowance lets the change through")
    match iLoss corrupted with
    | Violated w -> Assert.Contains(sprintf "snapshot %d" s, w.When)
    | v -> failwithf "expected violated, got %A" v

[<Fact>]
let ``I.loss: A ≈ 10⁵, faithful run → holds within half the allowance; a loss off by twice it → violated`` () =
    let run = train (spec false)
    for s in 0 .. run.SnapshotCount - 1 do
        let j = run.Steps.[s]
        let l = (run.Layerwise s).Loss
        let allowance = RunIntegrity.lossAllowance run s
        Assert.True(abs (l - run.Losses.[j]) <= allowance / 2.0, sprintf "snapshot %d: |Δℓ| = %g, allowance %g" s (abs (l - run.Losses.[j])) allowance)
        match iLoss (withLoss (spec false) s (l + 2.0 * allowance)) with
        | Violated _ -> ()
        | v -> failwithf "snapshot %d: expected violated, got %A" s v

[<Fact>]
let ``I.*: float32 run with A ≈ 10⁵, the derived float32 τ (no 1e-4 floor) → none violated (I.update, I.loss: hypothesis not met, their allowances at least the step and the loss); a loss off by twice I.loss' allowance → violated`` () =
    let run = train (spec true)
    let st = run.Setting
    let u32 = Math.Pow(2.0, -24.0)
    for s in 0 .. run.SnapshotCount - 1 do
        let a = Rounding.amplificationAt run s
        // the per-state count of the float32 pass (u = 2⁻²⁴), near the former L(m + d)u on this run's weights
        Assert.InRange(a.PerState / (float st.Depth * float (st.Width + st.Dim) * u32), 0.25, 4.0)
        let expected = 4.0 * a.Value * a.PerState + g u32 (float (st.Samples * (run.Data.Data.OutputDim + 1) + 1))
        Assert.True(abs (Rounding.forwardToleranceAt run s - expected) <= 1e-12 * expected, sprintf "τ_s = %g, expected %g" (Rounding.forwardToleranceAt run s) expected)
    for r in RunIntegrity.all do
        let v = (Result.evaluate r run).Verdict
        // the gradients' τ^∇ (the forward count raised by the backward pass' sensitivity) is above 1 at Ā ≈ 10⁵ in float32:
        // I.update's allowance is above every step, so the weights left unchanged would hold as well, and the row says
        // "hypothesis not met" rather than "holds"
        if r.Id = "I.update" then Assert.True(Verdict.isHypothesisNotMet v && (sprintf "%A" v).Contains "the allowance is at least the step", sprintf "%s: %A" r.Id v)
        // and I.loss' allowance at the trained snapshot is above its loss (snapshot 0's is not): partial, not "holds"
        elif r.Id = "I.loss" then Assert.True(Verdict.isHypothesisNotMet v && (sprintf "%A" v).Contains "at least the recomputed loss", sprintf "%s: %A" r.Id v)
        else Assert.True(Verdict.isHolds v, sprintf "%s: %A" r.Id v)
    let s = run.SnapshotCount - 1
    let l = (run.Layerwise s).Loss
    match iLoss (withLoss (spec true) s (l + 2.0 * RunIntegrity.lossAllowance run s)) with
    | Violated _ -> ()
    | v -> failwithf "expected violated, got %A" v

[<Fact>]
let ``LayerJacobian.segmentBound: rotated scalings whose products are formed exactly → at least the largest, at most Π‖J_k‖`` () =
    // J_k = R(0.3k)·diag(s_k, 1), s_k = 1.5 on the first half and 2/3 on the second: no product exceeds Π‖J_k‖ = 1.5^(L/2)
    let L, d = 16, 2
    let rot (t: float) = [| cos t; -(sin t); sin t; cos t |]
    let mul (a: float[]) (b: float[]) = [| for r in 0 .. 1 do for c in 0 .. 1 -> a.[r * 2] * b.[c] + a.[r * 2 + 1] * b.[2 + c] |]
    let js = Array.init L (fun k -> mul (rot (0.3 * float k)) [| (if k < L / 2 then 1.5 else 2.0 / 3.0); 0.0; 0.0; 1.0 |])
    let exact =
        seq { for a in 0 .. L - 1 do
                let mutable p = [| 1.0; 0.0; 0.0; 1.0 |]
                for b in a .. L - 1 do
                    p <- mul js.[b] p
                    yield Matrix<float>.Build.DenseOfRowMajor(2, 2, p).L2Norm() }
        |> Seq.max
    let bound = LayerJacobian.segmentBound u64 d 0.0 js
    Assert.True(bound >= exact * (1.0 - 1e-12), sprintf "bound %g below the largest product %g" bound exact)
    Assert.True(bound <= Math.Pow(1.5, float (L / 2)) * (1.0 + 1e-12), sprintf "bound %g above Π‖J_k‖" bound)

[<Fact>]
let ``LayerJacobian.segmentBound: one Jacobian with a NaN or ∞ entry, or products that overflow, at any place in the chain → not a finite number (never a finite bound that left it out)`` () =
    let d = 3
    let near (k: int) = Array.init (d * d) (fun q -> (if q / d = q % d then 1.0 else 0.0) + 0.01 * float ((q + k) % 5))
    for L in [ 8; 40 ] do
        for at in [ 0; L / 2; L - 1 ] do
            for bad in [ nan; infinity; -infinity ] do
                let js = Array.init L near
                js.[at] <- Array.copy js.[at]
                js.[at].[d + 1] <- bad
                let b = LayerJacobian.segmentBound u64 d 1e-12 js
                Assert.False(Double.IsFinite b, sprintf "L = %d, entry %g in J_%d: bound %g" L bad (at + 1) b)
        // finite Jacobians whose products overflow: 1e200 on one diagonal entry of every layer
        let huge = Array.init L (fun k -> let m = near k in m.[0] <- 1e200; m)
        Assert.False(Double.IsFinite(LayerJacobian.segmentBound u64 d 1e-12 huge), sprintf "L = %d: overflowing products gave a finite bound" L)
    // the control: the same chains without the bad entry → a finite bound
    Assert.True(Double.IsFinite(LayerJacobian.segmentBound u64 d 1e-12 (Array.init 40 near)))

[<Fact>]
let ``Rounding.amplificationAt: tied layers with Π(1 + κ_k/L) ≤ ProductsAbove → the worst case itself, the products not formed`` () =
    // W and V scaled down so that the worst case is above 1 but below the threshold (L = 16)
    let run = train (RunSpec(Depth = 16, Width = 8, Samples = 5, Dim = 4, Init = InitKind.Tied, Scale = 0.5, VScale = 0.1, Eta = 0.001,
                             Iterations = 3, SnapshotSteps = [| 0; 1; 3 |], Seed = 5L))
    let worst = Rounding.forwardAmplification run
    Assert.InRange(worst, 1.0 + 1e-3, Rounding.ProductsAbove)
    for s in 0 .. run.SnapshotCount - 1 do
        let a = Rounding.amplificationAt run s
        Assert.Equal("worst case", a.Method)
        Assert.InRange(a.Value, 1.0, worst)
    // the value taken is the worst case itself (not a product value below it): at the largest snapshot they are equal
    let sMax = [ 0 .. run.SnapshotCount - 1 ] |> List.maxBy (fun s -> (Rounding.amplificationAt run s).Value)
    Assert.Equal(worst, (Rounding.amplificationAt run sMax).Value)
