/// The norms B.bound's analysis and the lemma chain form in plain loops (`Linalg.hypotNorm`,
/// `Linalg.columnNormsAndFrobenius`, `Linalg.frobeniusNorm`, `Secant.layer`'s `VF * WF`) against the code they
/// replace, kept here: MathNet's `L2Norm` and `FrobeniusNorm`, `Linalg.norm` per column with a separate Frobenius pass,
/// the former `Secant.frobeniusProduct`.
/// Equal bit for bit, so no verdict, bound or measured value moves; each comparison is shown to see a changed order or a
/// one-ulp change of an input.
module ResOdeProofs.Properties.VerifyNormsBitsTests

open System
open Xunit
open MathNet.Numerics.LinearAlgebra
open ResOdeProofs.Theory

let private bits (x: float) = BitConverter.DoubleToInt64Bits x

/// Entries of widely varying size and sign, with exact zeros of both signs among them.
let private draw (rnd: Random) (count: int) =
    Array.init count (fun _ ->
        match rnd.Next 12 with
        | 0 -> 0.0
        | 1 -> -0.0
        | _ -> (rnd.NextDouble() * 2.0 - 1.0) * Math.Pow(10.0, rnd.NextDouble() * 6.0 - 3.0))

/// The former code: ‖v‖ as MathNet's dense vector forms it.
let private formerL2 (v: float[]) = (Vector<float>.Build.DenseOfArray v).L2Norm()

/// The former code of `LemmaChain.norms`: each column's norm, then the Frobenius norm in a second pass.
let private formerColumnNorms (cols: float[][]) = cols |> Array.map Linalg.norm
let private formerFro (cols: float[][]) =
    let mutable acc = 0.0
    for c in cols do
        let mutable sc = 0.0
        for x in c do sc <- sc + x * x
        acc <- acc + sc
    sqrt acc

let private lengths = [ 1; 2; 3; 16; 32; 100; 257 ]

[<Fact>]
let ``Linalg.hypotNorm: 200 random vectors of each of seven lengths → MathNet's L2Norm bit for bit`` () =
    let rnd = Random 1614
    for n in lengths do
        for _ in 1 .. 200 do
            let v = draw rnd n
            let got, expected = Linalg.hypotNorm v, formerL2 v
            Assert.True(bits got = bits expected, sprintf "n = %d: %.17g vs L2Norm %.17g" n got expected)
    // the empty vector, infinities and a NaN as the fold meets them
    for v in [ [||]; [| infinity; 1.0 |]; [| 1.0; nan; 2.0 |]; [| -infinity |] ] do
        let got, expected = Linalg.hypotNorm v, formerL2 v
        Assert.True(bits got = bits expected || (Double.IsNaN got && Double.IsNaN expected), sprintf "%A: %.17g vs %.17g" v got expected)

[<Fact>]
let ``Linalg.hypotNorm: the fold taken from the last entry down, or one entry moved by one ulp → other bits somewhere`` () =
    let rnd = Random 1615
    let mutable reversedDiffers, ulpDiffers = 0, 0
    for _ in 1 .. 200 do
        let v = draw rnd 32
        let expected = formerL2 v
        if bits (Linalg.hypotNorm (Array.rev v)) <> bits expected then reversedDiffers <- reversedDiffers + 1
        let k = Array.findIndex (fun x -> abs x > 1.0) v
        let moved = Array.copy v
        moved.[k] <- Math.BitIncrement(abs moved.[k]) * float (sign moved.[k])
        if bits (Linalg.hypotNorm moved) <> bits expected then ulpDiffers <- ulpDiffers + 1
    Assert.True(reversedDiffers > 0, "a reversed fold gave L2Norm's bits every time: the comparison is blind to order")
    Assert.True(ulpDiffers > 0, "a one-ulp change of the largest entries never showed: the comparison is blind to inputs")

[<Fact>]
let ``Linalg.columnNormsAndFrobenius: random column sets → each norm Linalg.norm's bits and the Frobenius norm the former pass's`` () =
    let rnd = Random 1616
    for n in [ 1; 7; 100 ] do
        for d in [ 1; 16; 32 ] do
            for _ in 1 .. 40 do
                let cols = Array.init n (fun _ -> draw rnd d)
                let norms, fro = Linalg.columnNormsAndFrobenius cols
                let expected = formerColumnNorms cols
                for i in 0 .. n - 1 do
                    Assert.True(bits norms.[i] = bits expected.[i], sprintf "n = %d d = %d column %d" n d i)
                Assert.True(bits fro = bits (formerFro cols), sprintf "n = %d d = %d: Frobenius norm" n d)

[<Fact>]
let ``Linalg.columnNormsAndFrobenius: the columns' sums added from the last column down → the Frobenius norm's bits differ somewhere`` () =
    let rnd = Random 1617
    let mutable differs = 0
    for _ in 1 .. 200 do
        let cols = Array.init 100 (fun _ -> draw rnd 16)
        let _, fro = Linalg.columnNormsAndFrobenius cols
        let _, froRev = Linalg.columnNormsAndFrobenius (Array.rev cols)
        if bits fro <> bits froRev then differs <- differs + 1
        Assert.True(bits fro = bits (formerFro cols))
    Assert.True(differs > 0, "a reversed column order gave the same bits every time: the comparison is blind to order")

[<Fact>]
let ``Secant.layer: ‖V_k‖_F·‖W_k‖_F from its recorded norms, random layers → the former product of MathNet's norms bit for bit; a weight moved by one ulp → other bits`` () =
    let rnd = Random 1618
    let mutable ulpDiffers = 0
    for m, d in [ 32, 16; 16, 32; 8, 3 ] do
        for _ in 1 .. 50 do
            let wk = Matrix<float>.Build.DenseOfRowMajor(m, d, draw rnd (m * d))
            let vk = Matrix<float>.Build.DenseOfRowMajor(d, m, draw rnd (d * m))
            // the former `Secant.frobeniusProduct`
            let expected = vk.FrobeniusNorm() * wk.FrobeniusNorm()
            let ly = Secant.layer 64 wk vk None
            Assert.True(bits (ly.VF * ly.WF) = bits expected, sprintf "m = %d d = %d: the layer's norms" m d)
            let (r, c) = Seq.head (seq { for r in 0 .. m - 1 do for c in 0 .. d - 1 do if abs wk.[r, c] > 1.0 then yield r, c })
            let moved = wk.Clone()
            moved.[r, c] <- Math.BitIncrement(abs wk.[r, c]) * float (sign wk.[r, c])
            let lm = Secant.layer 64 moved vk None
            if bits (lm.VF * lm.WF) <> bits expected then ulpDiffers <- ulpDiffers + 1
    Assert.True(ulpDiffers > 0, "a one-ulp change of a weight never showed in the product of the Frobenius norms")

[<Fact>]
let ``Linalg.frobeniusNorm: 100 random matrices of each of eight shapes → MathNet's FrobeniusNorm bit for bit`` () =
    let rnd = Random 1619
    for rows, cols in [ 32, 16; 16, 32; 64, 16; 16, 64; 1, 7; 7, 1; 3, 5; 100, 16 ] do
        for _ in 1 .. 100 do
            let a = Matrix<float>.Build.DenseOfRowMajor(rows, cols, draw rnd (rows * cols))
            let got, expected = Linalg.frobeniusNorm a, a.FrobeniusNorm()
            Assert.True(bits got = bits expected, sprintf "%d×%d: %.17g vs FrobeniusNorm %.17g" rows cols got expected)
    // a difference and a scaled difference, as `Secant.layer` forms ΔW and LΔV
    let w1 = Matrix<float>.Build.DenseOfRowMajor(32, 16, draw rnd 512)
    let w0 = Matrix<float>.Build.DenseOfRowMajor(32, 16, draw rnd 512)
    let dv = (w1 - w0) * 256.0
    Assert.True(bits (Linalg.frobeniusNorm dv) = bits (dv.FrobeniusNorm()))

[<Fact>]
let ``Linalg.frobeniusNorm: the sums taken column by column, or one entry moved by one ulp → other bits somewhere`` () =
    let rnd = Random 1620
    let mutable orderDiffers, ulpDiffers = 0, 0
    for _ in 1 .. 200 do
        let a = Matrix<float>.Build.DenseOfRowMajor(32, 16, draw rnd 512)
        let expected = a.FrobeniusNorm()
        // the transpose's rows are the columns: the same squares summed column by column
        if bits (Linalg.frobeniusNorm (a.Transpose())) <> bits expected then orderDiffers <- orderDiffers + 1
        // the largest entry in absolute value, whose square the norm is most sensitive to
        let r, c = Seq.maxBy (fun (r, c) -> abs a.[r, c]) (seq { for r in 0 .. 31 do for c in 0 .. 15 do yield r, c })
        let moved = a.Clone()
        moved.[r, c] <- Math.BitIncrement(abs a.[r, c]) * float (sign a.[r, c])
        if bits (Linalg.frobeniusNorm moved) <> bits expected then ulpDiffers <- ulpDiffers + 1
    Assert.True(orderDiffers > 0, "summing column by column gave the same bits every time: the comparison is blind to order")
    Assert.True(ulpDiffers > 0, "a one-ulp change of an entry never showed")
