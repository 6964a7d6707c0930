/// Secant.fs's products with a vector (`Secant.times`) and the layer image and Taylor-model local error built on them
/// (docs/theorems/EulerError.md, B.bound.secant) against the same formulas written with MathNet's matrix and vector
/// operators, which the results used before: equal bit for bit, so every B.* row keeps its numbers.
module ResOdeProofs.Properties.SecantProductTests

open System
open Xunit
open MathNet.Numerics.LinearAlgebra
open ResOdeProofs.Numerics
open ResOdeProofs.Theory

let private bits (x: float) = BitConverter.DoubleToInt64Bits x

/// Entries of widely varying size and sign, with exact zeros of both signs among them.
let private draw (rnd: Random) (count: int) =
    Array.init count (fun i ->
        match rnd.Next 12 with
        | 0 -> 0.0
        | 1 -> -0.0
        | _ -> (rnd.NextDouble() * 2.0 - 1.0) * Math.Pow(10.0, rnd.NextDouble() * 4.0 - 2.0))

/// The layer image as MathNet expressions (the earlier code of `Secant.layerImage`).
let private oracleImage (act: ActivationKind) (s1: float) (ly: Secant.Layer) (y: Vector<float>) =
    let m, d = ly.W.RowCount, ly.W.ColumnCount
    let u = ly.W * y
    let sg = u.Map(fun x -> Activations.Value(act, x))
    let uErr = (ly.AbsW * y.PointwiseAbs()).AbsoluteMaximum() * float (d + 1) * Secant.U
    let sigErr = 16.0 * Secant.U * (1.0 + sg.AbsoluteMaximum()) + s1 * uErr
    u, sg, ly.V * sg, uErr, sigErr, float (m + 2) * Secant.U * ly.VF * sg.L2Norm() + ly.VF * sqrt (float m) * sigErr

/// The Taylor-model local error as MathNet expressions (the earlier code of `Secant.taylorLocalError`).
let private oracleTaylor (act: ActivationKind) (s1: float) (s2: float option) (depth: int) (ly: Secant.Layer) (img: Secant.LayerImage)
                     (fBar: float) (mW: float) (mV: float) (nW: float) (nV: float) (aW: float) (aV: float)
                     (y: float[]) : float option =
    match s2 with
    | None -> None
    | Some s2 ->
        let wk, vk = ly.W, ly.V
        let m, d = wk.RowCount, wk.ColumnCount
        let fL = float depth
        let h = 1.0 / fL
        let yv = Vector<float>.Build.DenseOfArray y
        let u, sg, f = img.U, img.Sigma, img.F
        let dsig = u.Map(fun x -> Activations.Derivative(act, x))
        // leading term of the state part: (h²/2) V_k diag(σ'(u)) W_k f
        let lead = vk * (dsig.PointwiseMultiply(wk * f)) * (0.5 * h * h)
        let g, dv =
            match ly.Delta with
            | None -> Vector<float>.Build.Dense m, None
            | Some (dw, _, dvL) -> dw * yv * fL, Some dvL
        // weight-variation part: ∫_0^h V_k[σ(u − r g) − σ(u)] − r LΔV σ(u − r g) dr by the midpoint rule on N nodes
        let nq = OdeLimit.QuadratureNodes
        let q1 = Vector<float>.Build.Dense m
        let q2 = Vector<float>.Build.Dense m
        let mutable quadErr1, quadErr2 = 0.0, 0.0
        let mutable sigMax = sg.AbsoluteMaximum()
        for j in 0 .. m - 1 do
            let mutable a1, a2 = 0.0, 0.0
            for i in 0 .. nq - 1 do
                let r = (float i + 0.5) * h / float nq
                let sv = Activations.Value(act, u.[j] - r * g.[j])
                sigMax <- max sigMax (abs sv)
                a1 <- a1 + (sv - sg.[j])
                a2 <- a2 + r * sv
            q1.[j] <- a1 * h / float nq
            q2.[j] <- a2 * h / float nq
            // midpoint rule: |∫_0^h φ − h/N Σ φ(r_i)| ≤ h³ sup|φ''|/(24N²);
            // φ = σ(u − r g) − σ(u): φ'' = g²σ''; φ = rσ(u − r g): φ'' = −2gσ' + r g²σ''
            let gj = abs g.[j]
            quadErr1 <- quadErr1 + (gj * gj * s2) ** 2.0
            quadErr2 <- quadErr2 + (2.0 * gj * s1 + h * gj * gj * s2) ** 2.0
        let cw = vk * q1
        let c =
            match dv with
            | None -> lead + cw
            | Some dv -> lead + cw - dv * q2
        let quadScale = h * h * h / (24.0 * float (nq * nq))
        let dvF = ly.DeltaVF
        let quad = quadScale * (nV * sqrt quadErr1 + (match dv with None -> 0.0 | Some _ -> fL * aV) * sqrt quadErr2)
        // rounding of forming ĉ_k: every entry is a sum of at most m + d + N + 8 rounded products (a majorant with
        // absolute values), plus the errors of f̂, of σ'(û) (s2 times the rounding of u) and of the σ values at the
        // nodes, whose argument u − r ĝ is also off by the rounding of ĝ (one subtraction, d products, the factor L)
        let gAbs =
            match ly.Delta with
            | None -> 0.0
            | Some (_, absDw, _) -> (absDw * yv.PointwiseAbs()).AbsoluteMaximum() * fL
        let evalSig = 16.0 * Secant.U * (1.0 + sigMax) + s1 * (img.UErr + float (d + 4) * Secant.U * (u.AbsoluteMaximum() + h * gAbs))
        let vF, wF = ly.VF, ly.WF
        let fN = f.L2Norm() + img.FErr
        let majorant =
            0.5 * h * h * vF * s1 * wF * fN
            + h * vF * 2.0 * sqrt (float m) * (1.0 + sigMax)
            + h * h * dvF * sqrt (float m) * (1.0 + sigMax)
        let evalPart =
            0.5 * h * h * vF * (16.0 * Secant.U * (1.0 + s1) + s2 * img.UErr) * wF * fN
            + 0.5 * h * h * vF * s1 * wF * img.FErr
            + (h * vF * 2.0 + h * h * dvF) * sqrt (float m) * evalSig
        let rounding = float (m + d + nq + 8) * Secant.U * majorant + evalPart
        // remainder R_k = ∫_0^h A(t) − t J_k f dt, A(t) = f(t, H(t)) − f(t, y) (state part), t from s_{k−1}, r = h − t:
        //   ‖B(τ)‖ = ‖f(τ, y) − f_k(y)‖ ≤ (h − τ)β, β = ‖V_k‖ s1‖g‖ + L a^V(‖σ(u)‖ + s1 h‖g‖);
        //   Grönwall: ‖f(t, H(t))‖ ≤ (‖f‖ + hβ) e^{κ̄t} =: F̄ and ‖H(t) − y‖ ≤ t F̄ on I_k;
        //   [V(t)D(t)W(t) − J_k](H(t) − y), ‖V(t) − V_k‖ ≤ rL a^V, ‖W(t) − W_k‖ ≤ rL a^W,
        //   |D(t) − σ'(u)| ≤ s2 (r ‖g‖_∞ + M^W t F̄)   →   F̄[(h³/6)L s1 (a^V M^W + ‖V_k‖ a^W) + ‖V_k‖ M^W s2 ((h³/6)‖g‖_∞ + M^W F̄ h³/3)]
        //   J_k[(H(t) − y) − t f]: ‖J_k‖ ≤ s1‖V_k‖‖W_k‖, ‖A(τ)‖ ≤ κ̄ τ F̄   →   s1‖V_k‖‖W_k‖ (κ̄ F̄ h³/6 + β h³/3)
        let h3 = h * h * h
        let gInf = g.AbsoluteMaximum()
        let kappaBar = s1 * mV * mW
        let beta = nV * s1 * g.L2Norm() + fL * aV * (sg.L2Norm() + s1 * h * g.L2Norm())
        let fBar = min fBar ((fN + h * beta) * exp (kappaBar * h))
        let rem1 = fBar * (h3 / 6.0 * fL * s1 * (aV * mW + nV * aW) + nV * mW * s2 * (h3 / 6.0 * gInf + mW * fBar * h3 / 3.0))
        let rem2 = s1 * nV * nW * (kappaBar * fBar * h3 / 6.0 + beta * h3 / 3.0)
        let total = c.L2Norm() * (1.0 + float (d + 2) * Secant.U) + quad + rounding + rem1 + rem2
        // weights so large that a term overflows (0·∞ = NaN) leave the model undefined: the other bounds are used
        if Double.IsNaN total then None else Some total

let private shapes = [ 32, 16; 16, 32; 64, 16; 16, 64; 3, 5; 1, 7 ]

[<Fact>]
let ``Secant.times: 200 random matrices of each of six shapes → every entry MathNet's matrix–vector product bit for bit`` () =
    let rnd = Random 14
    for m, d in shapes do
        for _ in 1 .. 200 do
            let a = Matrix<float>.Build.DenseOfRowMajor(m, d, draw rnd (m * d))
            let x = draw rnd d
            let expected = a * Vector<float>.Build.DenseOfArray x
            let got = Secant.times (Secant.columnsOf a) m x
            for r in 0 .. m - 1 do
                Assert.True(bits got.[r] = bits expected.[r], sprintf "%d×%d row %d: %.17g vs MathNet %.17g" m d r got.[r] expected.[r])

[<Fact>]
let ``Secant.times: the same products summed from the last column down → some entry's bits differ from MathNet's`` () =
    // negative control: the same products summed from the last column down differ from MathNet's in some bits, so the
    // comparison above would catch a product that sums in another order
    let rnd = Random 15
    let mutable differs = 0
    for _ in 1 .. 200 do
        let a = Matrix<float>.Build.DenseOfRowMajor(32, 16, draw rnd (32 * 16))
        let x = draw rnd 16
        let expected = a * Vector<float>.Build.DenseOfArray x
        let cols = Secant.columnsOf a
        let reversed = Secant.times (Array.init cols.Length (fun i -> cols.[(15 - i / 32) * 32 + i % 32])) 32 (Array.rev x)
        for r in 0 .. 31 do if bits reversed.[r] <> bits expected.[r] then differs <- differs + 1
    Assert.True(differs > 0, "a reversed summation order gave MathNet's bits everywhere: the comparison is blind to order")

/// A random layer k (with the previous layer's increments when k ≥ 2) of width m and dimension d.
let private randomLayer (rnd: Random) (depth: int) (m: int) (d: int) (first: bool) =
    let mat r c scale = Matrix<float>.Build.DenseOfRowMajor(r, c, Array.init (r * c) (fun _ -> (rnd.NextDouble() * 2.0 - 1.0) * scale))
    let wk, vk = mat m d (1.5 / sqrt (float d)), mat d m 0.8
    let prev = if first then None else Some(wk + mat m d 0.01, vk + mat d m 0.01)
    Secant.layer depth wk vk prev

[<Fact>]
let ``Secant.layerImage and taylorLocalError: random layers, every activation with a bounded σ'' → the MathNet formulas bit for bit`` () =
    let rnd = Random 16
    for act in [ ActivationKind.Gelu; ActivationKind.Tanh; ActivationKind.Softplus ] do
        let c = Activations.Constants act
        for m, d in [ 32, 16; 64, 16; 8, 3 ] do
            for depth in [ 1; 64; 256 ] do
                for first in [ true; false ] do
                    let ly = randomLayer rnd depth m d first
                    let y = Array.init d (fun _ -> rnd.NextDouble() * 4.0 - 2.0)
                    let yv = Vector<float>.Build.DenseOfArray y
                    let img = Secant.layerImage act c.S1 ly yv
                    let u, sg, f, uErr, sigErr, fErr = oracleImage act c.S1 ly yv
                    let where = sprintf "%A m = %d d = %d L = %d first = %b" act m d depth first
                    for j in 0 .. m - 1 do
                        Assert.True(bits img.U.[j] = bits u.[j] && bits img.Sigma.[j] = bits sg.[j], sprintf "%s: u or σ(u) entry %d" where j)
                    for r in 0 .. d - 1 do Assert.True(bits img.F.[r] = bits f.[r], sprintf "%s: f entry %d" where r)
                    Assert.True(bits img.UErr = bits uErr && bits img.SigmaErr = bits sigErr && bits img.FErr = bits fErr, where + ": error bounds")
                    let s2 = Some c.S2.Value
                    let args = 3.0, 2.0, 1.5, 1.2, 1.1, 0.05, 0.04
                    let fBar, mW, mV, nW, nV, aW, aV = args
                    let got = Secant.taylorLocalError act c.S1 s2 depth ly img fBar mW mV nW nV aW aV y
                    let expected = oracleTaylor act c.S1 s2 depth ly img fBar mW mV nW nV aW aV y
                    match got, expected with
                    | Some g, Some e -> Assert.True(bits g = bits e, sprintf "%s: Taylor bound %.17g vs MathNet formula %.17g" where g e)
                    | _ -> Assert.Fail(sprintf "%s: %A vs %A" where got expected)
