/// The split recursion's per-iterate norms from one pass (`UpdateSums.LayerSquares`, `SplitResults.UpdateRounding`) against
/// their definitions written out (each sum of squares `FastKernels.SumSquares` at the level over its layer), and the
/// accumulated forcings' step with their norms (`UpdateSums.AxpyNorms4`, in lanes) against the loop it replaced, kept here
/// as it read. Bit for bit, with a control that the comparison sees a sum taken in another order.
module ResOdeProofs.Properties.UpdateSumsTests

open System
open Xunit
open ResOdeProofs.Numerics.Model
open ResOdeProofs.Numerics.Verification
open ResOdeProofs.Theory

let private bits (x: float) = BitConverter.DoubleToInt64Bits x

/// Σx² of x[a .. a + len − 1] as the observer's sums take it: `FastKernels.SumSquares` at `level`.
let private sumSq (level: SimdLevel) (x: float[]) (a: int) (len: int) = FastKernels.SumSquares<float>(level, ReadOnlySpan(x, a, len))

/// The SIMD levels this machine runs, the scalar one first.
let private levels = [ SimdLevel.Scalar; SimdLevel.Vector256; SimdLevel.Vector512 ] |> List.filter (fun l -> l <= Simd.Hardware)

/// The rounding of each layer's stored update by its definition: four sums of a layer, each SumSquares at `level`.
let private storeRoundings (level: SimdLevel) (eta: float) (md: int) (w: float[]) (v: float[]) (gw: float[]) (gv: float[]) =
    let L = w.Length / md
    let u = Rounding.Float64UnitRoundoff
    let rw, rv = Array.zeroCreate L, Array.zeroCreate L
    for k in 0 .. L - 1 do
        let sw, sv, sgw, sgv = sumSq level w (k * md) md, sumSq level v (k * md) md, sumSq level gw (k * md) md, sumSq level gv (k * md) md
        rw.[k] <- Rounding.updateStoreRoundingAt u md (sqrt sw) (eta * sqrt sgw)
        rv.[k] <- Rounding.updateStoreRoundingAt u md (sqrt sv) (eta * sqrt sgv)
    rw, rv

/// max_k ‖X_k‖_F of the centre's remainder, each layer's sum SumSquares at `level`.
let private maxLayerNorm (level: SimdLevel) (x: float[]) (layers: int) (md: int) =
    let mutable best = 0.0
    for k in 0 .. layers - 1 do best <- max best (sqrt (sumSq level x (k * md) md))
    best

/// max_k (‖G^W_k‖² + ‖G^V_k‖²)^{1/2} of the centre's remainder, each of the two sums SumSquares at `level`.
let private maxGradient (level: SimdLevel) (gw: float[]) (gv: float[]) (layers: int) (md: int) =
    let mutable best = 0.0
    for k in 0 .. layers - 1 do best <- max best (sqrt (sumSq level gw (k * md) md + sumSq level gv (k * md) md))
    best

/// Entries of magnitudes 10⁻⁶ .. 10⁶ (so that the order of a sum shows in its last bits), with NaN and ∞ where asked.
let private draw (rng: Random) (len: int) (special: float option) =
    let x = Array.init len (fun _ -> (rng.NextDouble() - 0.5) * Math.Pow(10.0, float (rng.Next(-6, 7))))
    match special with
    | Some s when len > 0 -> x.[rng.Next len] <- s
    | _ -> ()
    x

[<Fact>]
let ``UpdateSums.LayerSquares: layers 1..5, sizes 1..37 and 1 024, NaN and ∞ entries, every level → each sum the bits of SumSquares over its layer`` () =
    let rng = Random(11)
    for level in levels do
        for layers in 1 .. 5 do
            for md in [ 1; 2; 3; 7; 16; 37; 1024 ] do
                for special in [ None; Some nan; Some infinity; Some -infinity ] do
                    let n = layers * md
                    let w, v, gw, gv = draw rng n special, draw rng n None, draw rng n special, draw rng n None
                    let sw, sv, sgw, sgv, sg = Array.create layers -1.0, Array.create layers -1.0, Array.create layers -1.0, Array.create layers -1.0, Array.create layers -1.0
                    UpdateSums.LayerSquares(level, ReadOnlySpan w, ReadOnlySpan v, ReadOnlySpan gw, ReadOnlySpan gv, md, Span sw, Span sv, Span sgw, Span sgv, Span sg)
                    for k in 0 .. layers - 1 do
                        let a = k * md
                        let expect = [| sumSq level w a md; sumSq level v a md; sumSq level gw a md; sumSq level gv a md
                                        sumSq level gw a md + sumSq level gv a md |]
                        let got = [| sw.[k]; sv.[k]; sgw.[k]; sgv.[k]; sg.[k] |]
                        for c in 0 .. 4 do
                            Assert.True(bits got.[c] = bits expect.[c],
                                        sprintf "%A, layers %d, size %d, %A, layer %d, sum %d: %.17g against %.17g" level layers md special k c got.[c] expect.[c])

[<Fact>]
let ``UpdateSums.LayerSquares: the former sums (one chain in index order) → other bits somewhere at a vector level (the comparison sees the order)`` () =
    let rng = Random(12)
    let mutable differs = false
    for level in levels |> List.filter (fun l -> l <> SimdLevel.Scalar) do
        for trial in 0 .. 20 do
            let md, layers = 1024, 2
            let w = draw rng (layers * md) None
            let z = Array.zeroCreate (layers * md)
            let sw, other = Array.zeroCreate layers, Array.zeroCreate layers
            UpdateSums.LayerSquares(level, ReadOnlySpan w, ReadOnlySpan z, ReadOnlySpan z, ReadOnlySpan z, md, Span sw, Span other, Span other, Span other, Span other)
            for k in 0 .. layers - 1 do
                let mutable chain = 0.0
                for i in k * md .. (k + 1) * md - 1 do chain <- chain + w.[i] * w.[i]
                if bits chain <> bits sw.[k] then differs <- true
    Assert.True(differs || Simd.Hardware = SimdLevel.Scalar, "every index-order sum equals the kernel's: the comparison cannot see an order change")

[<Fact>]
let ``UpdateSums.LayerSquares: spans of different lengths, not whole layers or outputs too short → refused`` () =
    let a, b, o = Array.zeroCreate<float> 12, Array.zeroCreate<float> 11, Array.zeroCreate<float> 4
    let call (w: float[]) (v: float[]) md (out: float[]) =
        UpdateSums.LayerSquares(Simd.Level, ReadOnlySpan w, ReadOnlySpan v, ReadOnlySpan w, ReadOnlySpan w, md, Span out, Span out, Span out, Span out, Span out)
    call a a 3 o   // four whole layers: accepted
    Assert.Throws<ArgumentException>(fun () -> call a b 3 o) |> ignore
    Assert.Throws<ArgumentException>(fun () -> call a a 5 o) |> ignore
    Assert.Throws<ArgumentException>(fun () -> call a a 2 o) |> ignore
    Assert.Throws<ArgumentException>(fun () -> call a a 0 o) |> ignore

[<Fact>]
let ``A.split.centre.segments: the update's rounding and the largest norms from one pass (UpdateRounding) → their definitions' bits (SumSquares at the engine's level)`` () =
    let rng = Random(13)
    let level = Simd.Level
    let mutable formerDiffers = false
    for layers in [ 1; 2; 3; 8 ] do
        for md in [ 1; 5; 64; 1024 ] do
            for special in [ None; Some nan; Some infinity ] do
                let n = layers * md
                let eta = 0.005 + rng.NextDouble() * 0.01
                let w, v, gw, gv = draw rng n None, draw rng n special, draw rng n None, draw rng n special
                let ur = SplitResults.UpdateRounding layers
                ur.Compute(eta, md, ReadOnlySpan w, ReadOnlySpan v, ReadOnlySpan gw, ReadOnlySpan gv)
                let rw, rv = storeRoundings level eta md w v gw gv
                let where = sprintf "layers %d, size %d, %A" layers md special
                for k in 0 .. layers - 1 do
                    Assert.True(bits ur.RW.[k] = bits rw.[k], sprintf "%s: r_W of layer %d %.17g against %.17g" where k ur.RW.[k] rw.[k])
                    Assert.True(bits ur.RV.[k] = bits rv.[k], sprintf "%s: r_V of layer %d %.17g against %.17g" where k ur.RV.[k] rv.[k])
                let wm, vm, gm = maxLayerNorm level w layers md, maxLayerNorm level v layers md, maxGradient level gw gv layers md
                Assert.True(bits ur.WMax = bits wm, sprintf "%s: max ‖W_k‖ %.17g against %.17g" where ur.WMax wm)
                Assert.True(bits ur.VMax = bits vm, sprintf "%s: max ‖V_k‖ %.17g against %.17g" where ur.VMax vm)
                Assert.True(bits ur.GMax = bits gm, sprintf "%s: max ‖G_k‖ %.17g against %.17g" where ur.GMax gm)
                // the control: the joint gradient norm as the former loop took it (one chain s + a² + b² in index order)
                if special.IsNone then
                    let mutable best = 0.0
                    for k in 0 .. layers - 1 do
                        let mutable s = 0.0
                        for e in k * md .. (k + 1) * md - 1 do s <- s + gw.[e] * gw.[e] + gv.[e] * gv.[e]
                        best <- max best (sqrt s)
                    if bits best <> bits ur.GMax then formerDiffers <- true
    Assert.True(formerDiffers, "the former one-chain gradient norm equals the one-pass value everywhere: the comparison cannot see it")

[<Fact>]
let ``A.split.centre.segments: weights that do not hold the run's layers → refused`` () =
    let ur = SplitResults.UpdateRounding 3
    let a = Array.zeroCreate<float> 10
    Assert.Throws<ArgumentException>(fun () -> ur.Compute(0.01, 4, ReadOnlySpan a, ReadOnlySpan a, ReadOnlySpan a, ReadOnlySpan a)) |> ignore

/// The former `SplitResults.axpyNorms` loop (four forcings, one entry at a time).
let private formerAxpyNorms (eta: float) (aw: float[]) (bw: float[]) (ew: float[]) (av: float[]) (bv: float[]) (ev: float[]) (offset: int) =
    let n = aw.Length
    let mutable saw, sbw, sav, sbv = 0.0, 0.0, 0.0, 0.0
    for i in 0 .. n - 1 do
        let ew' = eta * ew.[offset + i]
        let ev' = eta * ev.[offset + i]
        let xaw = aw.[i] - ew'
        let xbw = bw.[i] - ew'
        let xav = av.[i] - ev'
        let xbv = bv.[i] - ev'
        aw.[i] <- xaw
        bw.[i] <- xbw
        av.[i] <- xav
        bv.[i] <- xbv
        saw <- saw + xaw * xaw
        sbw <- sbw + xbw * xbw
        sav <- sav + xav * xav
        sbv <- sbv + xbv * xbv
    [| sqrt saw; sqrt sbw; sqrt sav; sqrt sbv |]

[<Fact>]
let ``A.split: four forcings stepped in lanes (UpdateSums.AxpyNorms4), lengths 0..70, offsets, NaN and ∞ → the former loop's entries and norms bit for bit`` () =
    let rng = Random(14)
    let mutable reorderedDiffers = false
    for len in 0 .. 70 do
        for offset in [ 0; 3 ] do
            for special in [ None; Some nan; Some infinity ] do
                let eta = 0.005 + rng.NextDouble() * 0.01
                let ew, ev = draw rng (offset + len + 1) special, draw rng (offset + len + 1) None
                let aw, bw, av, bv = draw rng len None, draw rng len special, draw rng len None, draw rng len None
                let copies = [| Array.copy aw; Array.copy bw; Array.copy av; Array.copy bv |]
                let struct (naw, nbw, nav, nbv) = SplitResults.axpyNorms eta aw bw ew av bv ev offset
                let former = formerAxpyNorms eta copies.[0] copies.[1] ew copies.[2] copies.[3] ev offset
                let now = [| naw; nbw; nav; nbv |]
                for c in 0 .. 3 do
                    Assert.True(bits now.[c] = bits former.[c], sprintf "length %d, offset %d, %A, forcing %d: %.17g against %.17g" len offset special c now.[c] former.[c])
                Array.iter2 (fun (x: float[]) (y: float[]) ->
                    Assert.True(Array.forall2 (fun a b -> bits a = bits b) x y, sprintf "length %d, offset %d, %A: entries differ" len offset special))
                    [| aw; bw; av; bv |] copies
                // the control: the same squares summed from the last entry
                if special.IsNone && len > 1 then
                    let back = sqrt (Array.foldBack (fun x acc -> acc + x * x) aw 0.0)
                    if bits back <> bits naw then reorderedDiffers <- true
    Assert.True(reorderedDiffers, "a reversed sum equals the in-order one everywhere: the comparison cannot see an order change")

[<Fact>]
let ``A.split: UpdateSums.AxpyNorms4 with forcings of different lengths or E shorter than them → refused`` () =
    let a, e = Array.zeroCreate<float> 4, Array.zeroCreate<float> 3
    Assert.Throws<ArgumentException>(fun () ->
        UpdateSums.AxpyNorms4(0.1, Span a, Span (Array.zeroCreate<float> 3), ReadOnlySpan a, Span a, Span a, ReadOnlySpan a) |> ignore) |> ignore
    Assert.Throws<ArgumentException>(fun () ->
        UpdateSums.AxpyNorms4(0.1, Span a, Span a, ReadOnlySpan e, Span a, Span a, ReadOnlySpan a) |> ignore) |> ignore
