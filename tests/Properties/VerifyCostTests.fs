/// The verifier's restructured computations give the numbers of the forms they replace, bit for bit: lemma L5's
/// coefficients formed for every pair of a snapshot at once and kept (against the per-pair formula), and the split
/// recursions' accumulated forcings stepped four at a time (against one at a time). Each comparison has a negative
/// control (the same sums in another order differ), so it is not blind.
module ResOdeProofs.Properties.VerifyCostTests

open System
open Xunit
open ResOdeProofs.Numerics
open ResOdeProofs.Numerics.Training
open ResOdeProofs.Theory
open ResOdeProofs.Properties.Generators

/// The per-pair formula of L5's coefficients as it read before they were kept per snapshot (each sum over a sequence,
/// L‖h_k − h_{k−1}‖ formed anew for every term that reads it); `reversed` sums every per-sample sum from the last sample.
let private perPair (run: Run) (s: int) (k: int) (reversed: bool) =
    let sn = LemmaChain.snapshotNorms run s
    let s1 = sn.S1
    let s2 = defaultArg sn.S2 nan
    let n = run.Setting.Samples
    let L = float run.Setting.Depth
    let kap = LemmaChain.kappas sn
    let wk, vk, vk1, kap1 = sn.WOp.[k - 1], sn.VOp.[k - 1], sn.VOp.[k], kap.[k]
    let sum f = Seq.sum (seq { for i in (if reversed then [ n - 1 .. -1 .. 0 ] else [ 0 .. n - 1 ]) -> f i })
    let h i = sn.HNorm.[k].[i]
    let p i = sn.PNorm.[k].[i]
    let p1 i = sn.PNorm.[k + 1].[i]
    let dh i = L * Linalg.norm (Array.map2 (-) ((run.Layerwise s).H.[k].[i].ToArray()) ((run.Layerwise s).H.[k - 1].[i].ToArray()))
    let hS, pS, p1S, p1F, pF = sn.HSpec.[k], sn.PSpec.[k], sn.PSpec.[k + 1], sn.PFro.[k + 1], sn.PFro.[k]
    let dhF, dhS = L * sn.DHFro.[k - 1], L * sn.DHSpec.[k - 1]
    let g1 = sn.GInf.[k]
    let t1 = min (kap1 * sum (fun i -> p1 i * sn.SigmaNorm.[k].[i])) (kap1 * p1F * sn.SSpec.[k])
    let aVW = min (s1 * sum (fun i -> p i * h i)) (s1 * pS * hS)
    let t3 = min (s1 * wk * sum (fun i -> p i * dh i)) (s1 * pS * wk * dhF)
    let aWW = min (s2 * vk1 * sum (fun i -> p1 i * h i * h i)) (s2 * g1 * hS * hS)
    let t4b = min (s2 * vk1 * wk * sum (fun i -> p1 i * dh i * h i)) (s2 * g1 * wk * dhF * hS)
    let aWV = min (s1 * sum (fun i -> p1 i * h i)) (s1 * p1S * hS)
    let t6 = min (s1 * vk * kap1 * sum (fun i -> p1 i * h i)) (s1 * vk * kap1 * p1F * hS)
    let t7 = min (s1 * vk * sum (fun i -> p i * dh i)) (s1 * vk * pF * dhS)
    [| aWW; aWV; aVW; t4b + t6 + t7; t1 + t3 |]

let private bits (x: float) = BitConverter.DoubleToInt64Bits x

[<Fact>]
let ``L5.gradient-difference: coefficients kept per snapshot, GELU, tanh and softplus runs → the per-pair formula's bits`` () =
    let mutable reorderedDiffers = false
    for act in [ ActivationKind.Gelu; ActivationKind.Tanh; ActivationKind.Softplus ] do
        let run =
            train (RunSpec(Depth = 12, Width = 10, Samples = 23, Dim = 4, Eta = 0.01, Iterations = 6, Snapshots = 3, Seed = 11L,
                           Activation = act, VScale = 0.5))
        for s in 0 .. run.SnapshotCount - 1 do
            for k in 1 .. run.Setting.Depth - 1 do
                let aWW, aWV, aVW, bW, bV = LemmaChain.gradientDifferenceCoefficients run s k
                let kept = [| aWW; aWV; aVW; bW; bV |]
                let expected = perPair run s k false
                for c in 0 .. 4 do
                    Assert.True(bits kept.[c] = bits expected.[c],
                                sprintf "%A, snapshot %d, pair k = %d, coefficient %d: kept %.17g, per-pair formula %.17g" act s k c kept.[c] expected.[c])
                if Array.exists2 (fun a b -> bits a <> bits b) kept (perPair run s k true) then reorderedDiffers <- true
    // the negative control: the same sums from the last sample differ somewhere, so equal bits are not an accident
    Assert.True(reorderedDiffers, "summing in reverse order changed no coefficient: the comparison cannot see an order change")

[<Fact>]
let ``L5.gradient-difference: a pair outside 1 .. L − 1 → refused`` () =
    let run = train (RunSpec(Depth = 4, Width = 3, Samples = 5, Dim = 2, Iterations = 1, Seed = 1L))
    Assert.Throws<ArgumentException>(fun () -> LemmaChain.gradientDifferenceCoefficients run 0 0 |> ignore) |> ignore
    Assert.Throws<ArgumentException>(fun () -> LemmaChain.gradientDifferenceCoefficients run 0 4 |> ignore) |> ignore

/// D ← D − ηE over one pair's entries, returning ‖D‖ of the result with Linalg.norm's operations (squares summed in
/// order from 0, then the square root), in the same pass. The reference form of
/// `SplitResults.axpyNorms`, one forcing at a time.
let private axpyNorm (eta: float) (d: float[]) (e: float[]) (offset: int) =
    let mutable s = 0.0
    for i in 0 .. d.Length - 1 do
        let x = d.[i] - eta * e.[offset + i]
        d.[i] <- x
        s <- s + x * x
    sqrt s

[<Fact>]
let ``A.split: four forcings stepped at once (axpyNorms) → each axpyNorm's entries and norm, bit for bit`` () =
    let rng = Random(7)
    let draw len = Array.init len (fun _ -> (rng.NextDouble() - 0.5) * Math.Pow(10.0, float (rng.Next(-6, 7))))
    let mutable reorderedDiffers = false
    for len in [ 1; 3; 16; 17; 1024 ] do
        for offset in [ 0; 5 ] do
            let eta = 0.005 + rng.NextDouble() * 0.01
            let ew, ev = draw (offset + len + 2), draw (offset + len + 2)
            let aw, bw, av, bv = draw len, draw len, draw len, draw len
            let copies = [| Array.copy aw; Array.copy bw; Array.copy av; Array.copy bv |]
            let struct (naw, nbw, nav, nbv) = SplitResults.axpyNorms eta aw bw ew av bv ev offset
            let alone =
                [| axpyNorm eta copies.[0] ew offset; axpyNorm eta copies.[1] ew offset
                   axpyNorm eta copies.[2] ev offset; axpyNorm eta copies.[3] ev offset |]
            let together = [| naw; nbw; nav; nbv |]
            for c in 0 .. 3 do
                Assert.True(bits together.[c] = bits alone.[c], sprintf "length %d, offset %d, forcing %d: %.17g against %.17g" len offset c together.[c] alone.[c])
            Array.iter2 (fun (x: float[]) (y: float[]) -> Assert.True(Array.forall2 (fun a b -> bits a = bits b) x y, sprintf "length %d: entries differ" len))
                [| aw; bw; av; bv |] copies
            // the negative control: the squares summed from the last entry
            let backwards = sqrt (Array.foldBack (fun x acc -> acc + x * x) aw 0.0)
            if bits backwards <> bits naw then reorderedDiffers <- true
    Assert.True(reorderedDiffers, "a reversed sum equals the in-order one everywhere: the comparison cannot see an order change")

[<Fact>]
let ``A.split: forcings of different lengths, or E too short for the offset → refused`` () =
    let a, e = Array.zeroCreate 4, Array.zeroCreate 8
    Assert.Throws<ArgumentException>(fun () -> SplitResults.axpyNorms 0.1 a (Array.zeroCreate 3) e a a e 0 |> ignore) |> ignore
    Assert.Throws<ArgumentException>(fun () -> SplitResults.axpyNorms 0.1 a a e a a e 5 |> ignore) |> ignore
