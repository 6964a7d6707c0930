/// The split recursion's per-iterate norms from one pass (`UpdateSums.LayerSquares`, `SplitResults.UpdateRounding`) against
/// the loops they replace, kept here as they read: the stored update's rounding per layer (four sums per layer) and the
/// centre's largest layer and gradient norms (three more passes over the same arrays), and the accumulated forcings'
/// step with their norms (`UpdateSums.AxpyNorms4`, in lanes). Bit for bit, with a control that the comparison sees a sum
/// taken in another order.
module ResOdeProofs.Properties.UpdateSumsTests

open System
open Xunit
open ResOdeProofs.Numerics.Verification
open ResOdeProofs.Theory

let private bits (x: float) = BitConverter.DoubleToInt64Bits x

/// The former rounding of each layer's stored update (four sums of a layer side by side, each in index order).
let private formerStoreRoundings (eta: float) (md: int) (w: float[]) (v: float[]) (gw: float[]) (gv: float[]) =
    let L = w.Length / md
    let u = Rounding.Float64UnitRoundoff
    let rw, rv = Array.zeroCreate L, Array.zeroCreate L
    for k in 0 .. L - 1 do
        let mutable sw, sv, sgw, sgv = 0.0, 0.0, 0.0, 0.0
        for i in k * md .. k * md + md - 1 do
            sw <- sw + w.[i] * w.[i]
            sv <- sv + v.[i] * v.[i]
            sgw <- sgw + gw.[i] * gw.[i]
            sgv <- sgv + gv.[i] * gv.[i]
        rw.[k] <- Rounding.updateStoreRoundingAt u md (sqrt sw) (eta * sqrt sgw)
        rv.[k] <- Rounding.updateStoreRoundingAt u md (sqrt sv) (eta * sqrt sgv)
    rw, rv

/// The former max_k ‖X_k‖_F of the centre's remainder.
let private formerMaxLayerNorm (x: float[]) (layers: int) (md: int) =
    let mutable best = 0.0
    for k in 0 .. layers - 1 do
        let mutable s = 0.0
        for e in k * md .. (k + 1) * md - 1 do s <- s + x.[e] * x.[e]
        best <- max best (sqrt s)
    best

/// The former max_k (‖G^W_k‖² + ‖G^V_k‖²)^{1/2} of the centre's remainder.
let private formerMaxGradient (gw: float[]) (gv: float[]) (layers: int) (md: int) =
    let mutable best = 0.0
    for k in 0 .. layers - 1 do
        let mutable s = 0.0
        for e in k * md .. (k + 1) * md - 1 do s <- s + gw.[e] * gw.[e] + gv.[e] * gv.[e]
        best <- max best (sqrt s)
    best

/// Entries of magnitudes 10⁻⁶ .. 10⁶ (so that the order of a sum shows in its last bits), with NaN and ∞ where asked.
let private draw (rng: Random) (len: int) (special: float option) =
    let x = Array.init len (fun _ -> (rng.NextDouble() - 0.5) * Math.Pow(10.0, float (rng.Next(-6, 7))))
    match special with
    | Some s when len > 0 -> x.[rng.Next len] <- s
    | _ -> ()
    x

[<Fact>]
let ``UpdateSums.LayerSquares: layers 1..5, sizes 1..37, NaN and ∞ entries → each sum the bits of its own loop over the layer`` () =
    let rng = Random(11)
    for layers in 1 .. 5 do
        for md in [ 1; 2; 3; 7; 16; 37 ] do
            for special in [ None; Some nan; Some infinity; Some -infinity ] do
                let n = layers * md
                let w, v, gw, gv = draw rng n special, draw rng n None, draw rng n special, draw rng n None
                let sw, sv, sgw, sgv, sg = Array.create layers -1.0, Array.create layers -1.0, Array.create layers -1.0, Array.create layers -1.0, Array.create layers -1.0
                UpdateSums.LayerSquares(ReadOnlySpan w, ReadOnlySpan v, ReadOnlySpan gw, ReadOnlySpan gv, md, Span sw, Span sv, Span sgw, Span sgv, Span sg)
                for k in 0 .. layers - 1 do
                    let alone (x: float[]) =
                        let mutable s = 0.0
                        for i in k * md .. (k + 1) * md - 1 do s <- s + x.[i] * x.[i]
                        s
                    let mutable joint = 0.0
                    for i in k * md .. (k + 1) * md - 1 do joint <- joint + gw.[i] * gw.[i] + gv.[i] * gv.[i]
                    let expect = [| alone w; alone v; alone gw; alone gv; joint |]
                    let got = [| sw.[k]; sv.[k]; sgw.[k]; sgv.[k]; sg.[k] |]
                    for c in 0 .. 4 do
                        Assert.True(bits got.[c] = bits expect.[c],
                                    sprintf "layers %d, size %d, %A, layer %d, sum %d: %.17g against %.17g" layers md special k c got.[c] expect.[c])

[<Fact>]
let ``UpdateSums.LayerSquares: a layer's sum taken from the last entry down → other bits somewhere (the comparison sees an order change)`` () =
    let rng = Random(12)
    let mutable differs = false
    for trial in 0 .. 20 do
        let md, layers = 37, 3
        let w = draw rng (layers * md) None
        let z = Array.zeroCreate (layers * md)
        let sw, other = Array.zeroCreate layers, Array.zeroCreate layers
        UpdateSums.LayerSquares(ReadOnlySpan w, ReadOnlySpan z, ReadOnlySpan z, ReadOnlySpan z, md, Span sw, Span other, Span other, Span other, Span other)
        for k in 0 .. layers - 1 do
            let mutable back = 0.0
            for i in (k + 1) * md - 1 .. -1 .. k * md do back <- back + w.[i] * w.[i]
            if bits back <> bits sw.[k] then differs <- true
    Assert.True(differs, "every reversed sum equals the kernel's: the comparison cannot see an order change")

[<Fact>]
let ``UpdateSums.LayerSquares: spans of different lengths, not whole layers or outputs too short → refused`` () =
    let a, b, o = Array.zeroCreate<float> 12, Array.zeroCreate<float> 11, Array.zeroCreate<float> 4
    let call (w: float[]) (v: float[]) md (out: float[]) =
        UpdateSums.LayerSquares(ReadOnlySpan w, ReadOnlySpan v, ReadOnlySpan w, ReadOnlySpan w, md, Span out, Span out, Span out, Span out, Span out)
    call a a 3 o   // four whole layers: accepted
    Assert.Throws<ArgumentException>(fun () -> call a b 3 o) |> ignore
    Assert.Throws<ArgumentException>(fun () -> call a a 5 o) |> ignore
    Assert.Throws<ArgumentException>(fun () -> call a a 2 o) |> ignore
    Assert.Throws<ArgumentException>(fun () -> call a a 0 o) |> ignore

[<Fact>]
let ``A.split.centre.segments: the update's rounding and the largest norms from one pass (UpdateRounding) → the former four loops' bits`` () =
    let rng = Random(13)
    let mutable reorderedDiffers = false
    for layers in [ 1; 2; 3; 8 ] do
        for md in [ 1; 5; 64 ] do
            for special in [ None; Some nan; Some infinity ] do
                let n = layers * md
                let eta = 0.005 + rng.NextDouble() * 0.01
                let w, v, gw, gv = draw rng n None, draw rng n special, draw rng n None, draw rng n special
                let ur = SplitResults.UpdateRounding layers
                ur.Compute(eta, md, ReadOnlySpan w, ReadOnlySpan v, ReadOnlySpan gw, ReadOnlySpan gv)
                let rw, rv = formerStoreRoundings eta md w v gw gv
                let where = sprintf "layers %d, size %d, %A" layers md special
                for k in 0 .. layers - 1 do
                    Assert.True(bits ur.RW.[k] = bits rw.[k], sprintf "%s: r_W of layer %d %.17g against %.17g" where k ur.RW.[k] rw.[k])
                    Assert.True(bits ur.RV.[k] = bits rv.[k], sprintf "%s: r_V of layer %d %.17g against %.17g" where k ur.RV.[k] rv.[k])
                let wm, vm, gm = formerMaxLayerNorm w layers md, formerMaxLayerNorm v layers md, formerMaxGradient gw gv layers md
                Assert.True(bits ur.WMax = bits wm, sprintf "%s: max ‖W_k‖ %.17g against %.17g" where ur.WMax wm)
                Assert.True(bits ur.VMax = bits vm, sprintf "%s: max ‖V_k‖ %.17g against %.17g" where ur.VMax vm)
                Assert.True(bits ur.GMax = bits gm, sprintf "%s: max ‖G_k‖ %.17g against %.17g" where ur.GMax gm)
                // the control: the joint gradient norm taken as ‖G^W_k‖² + ‖G^V_k‖² (another order of the same terms)
                if special.IsNone then
                    let mutable best = 0.0
                    for k in 0 .. layers - 1 do
                        let mutable a, b = 0.0, 0.0
                        for e in k * md .. (k + 1) * md - 1 do
                            a <- a + gw.[e] * gw.[e]
                            b <- b + gv.[e] * gv.[e]
                        best <- max best (sqrt (a + b))
                    if bits best <> bits ur.GMax then reorderedDiffers <- true
    Assert.True(reorderedDiffers, "the gradient norm in another order equals the one-pass value everywhere: the comparison cannot see it")

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
