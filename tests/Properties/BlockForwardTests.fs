/// Each catalog block's Forward against a naive formula written here from the block's definition (loops over
/// indices, σ from System.Math), so that a forward pass that is wrong but consistent with its own Backward (which the
/// gradient test cannot see) is caught; a self-consistent mutant (two parameters exchanged in Forward and Backward
/// alike) shows that the comparison rejects one.
module ResOdeProofs.Properties.BlockForwardTests

open System
open Xunit
open ResOdeProofs.Numerics
open ResOdeProofs.Numerics.Blocks

/// erf(x) = (2/√π) e^{−x²} Σ_{n≥0} 2ⁿ x^{2n+1} / (1·3·5···(2n+1)): a series of terms of one sign (no cancellation),
/// summed until the terms no longer change the sum.
let erf (x: float) =
    let mutable term, sum, n = x, x, 0
    while abs term > 1e-17 * abs sum do
        n <- n + 1
        term <- term * 2.0 * x * x / float (2 * n + 1)
        sum <- sum + term
    2.0 / sqrt Math.PI * exp (-(x * x)) * sum

/// σ written from its definition: tanh, softplus log(1 + eᵘ) in its overflow-free form, gelu u·Φ(u) = u(1 + erf(u/√2))/2.
let sigma (act: ActivationKind) (u: float) =
    match act with
    | ActivationKind.Tanh -> Math.Tanh u
    | ActivationKind.Softplus -> max u 0.0 + log (1.0 + exp (-(abs u)))
    | ActivationKind.Gelu -> 0.5 * u * (1.0 + erf (u / sqrt 2.0))
    | a -> failwithf "no naive formula for %A" a

/// The naive f(θ, h) of each catalog block (θ in the block's storage order, row-major parts).
let naive (name: string) (act: ActivationKind) (hyper: Collections.Generic.IReadOnlyDictionary<string, float>) (d: int) (theta: float[]) (h: float[]) : float[] =
    let s = sigma act
    match name with
    | "mlp" ->
        let m = int hyper.["width"]
        let z = Array.init m (fun r -> s (Seq.sum (seq { for c in 0 .. d - 1 -> theta.[r * d + c] * h.[c] })))
        Array.init d (fun r -> Seq.sum (seq { for c in 0 .. m - 1 -> theta.[m * d + r * m + c] * z.[c] }))
    | "one-layer" -> Array.init d (fun r -> s (Seq.sum (seq { for c in 0 .. d - 1 -> theta.[r * d + c] * h.[c] }) + theta.[d * d + r]))
    | "scaled-linear" -> Array.init d (fun r -> s (theta.[0] * h.[r]))
    | "conv" ->
        let C, H, W = int hyper.["channels"], int hyper.["height"], int hyper.["width_px"]
        let ks = C * C * 9
        // same-padding 3×3 cross-correlation: y[o,i,j] = b[o] + Σ_c Σ_{a,e} K[o,c,a+1,e+1] x[c,i+a,j+e], x = 0 outside
        let conv (k0: int) (b0: int) (x: float[]) =
            Array.init (C * H * W) (fun idx ->
                let o, i, j = idx / (H * W), (idx / W) % H, idx % W
                let mutable acc = theta.[b0 + o]
                for c in 0 .. C - 1 do
                    for a in -1 .. 1 do
                        for e in -1 .. 1 do
                            if i + a >= 0 && i + a < H && j + e >= 0 && j + e < W then
                                acc <- acc + theta.[k0 + ((o * C + c) * 3 + a + 1) * 3 + e + 1] * x.[(c * H + i + a) * W + j + e]
                acc)
        conv (ks + C) (2 * ks + C) (conv 0 ks h |> Array.map s)
    | "glu" ->
        let m = int hyper.["width"]
        let row (off: int) (r: int) = Seq.sum (seq { for c in 0 .. d - 1 -> theta.[off + r * d + c] * h.[c] })
        let z = Array.init m (fun r -> s (row 0 r) * row (m * d) r)
        Array.init d (fun r -> Seq.sum (seq { for c in 0 .. m - 1 -> theta.[2 * m * d + r * m + c] * z.[c] }))
    | other -> failwithf "the catalog block '%s' has no naive formula in BlockForwardTests.fs: add one" other

/// The block's Forward at one state.
let forward (block: IResidualBlock) (theta: float[]) (h: float[]) =
    let out = Array.zeroCreate block.StateDim
    BlockCalls.Forward(block, theta, 0, h, 0, out, Array.zeroCreate (block.CacheSize 1), 1)
    out

/// Largest |Forward − naive| over 20 random (θ, h) (entries of order one), relative to 1 + |naive|.
let worstGap (name: string) (act: ActivationKind) (make: unit -> IResidualBlock) =
    let struct (d, hyper) = (BlockCatalog.Find name).TestShape
    let block = make ()
    let rng = Random(5)
    let g n = Array.init n (fun _ -> 2.0 * rng.NextDouble() - 1.0)
    Seq.init 20 (fun _ ->
        let theta, h = g block.ParameterCount, g block.StateDim
        Array.map2 (fun a b -> abs (a - b) / (1.0 + abs b)) (forward block theta h) (naive name act hyper d theta h) |> Array.max)
    |> Seq.max

/// Sums of at most 2·9·C + 1 ≤ 40 products of entries ≤ 1 accumulate ≤ 40·u ≈ 1e-14 of rounding in either order,
/// and σ from the engine and from System.Math differ by a few units of the last place: 1e-12 is far above both and
/// far below any change of the formula.
let tolerance = 1e-12

let catalog () =
    seq { for e in BlockCatalog.All do for act in [ ActivationKind.Tanh; ActivationKind.Softplus; ActivationKind.Gelu ] -> [| box e.Name; box act |] }

[<Theory; MemberData(nameof catalog)>]
let ``block Forward: every catalog block → equals its naive formula`` (name: string, act: ActivationKind) =
    let struct (d, hyper) = (BlockCatalog.Find name).TestShape
    let gap = worstGap name act (fun () -> BlockCatalog.Create(name, d, act, hyper))
    Assert.True(gap <= tolerance, sprintf "%s/%A: Forward differs from the formula by %.3g" name act gap)

/// A block whose θ has its first two entries exchanged (a one-parameter block: its parameter negated) on the way in
/// (Forward) and on the way out (Backward's gradient): its gradient is exact for the function it computes, so only a
/// forward comparison can catch it.
type SwappedBlock(inner: IResidualBlock) =
    let flip (a: float[]) =
        if a.Length >= 2 then (let x = a.[0] in a.[0] <- a.[1]; a.[1] <- x) else a.[0] <- -a.[0]
    let swap (t: ReadOnlySpan<float>) = let a = t.ToArray() in flip a; a
    interface IResidualBlock with
        member _.Name = inner.Name
        member _.StateDim = inner.StateDim
        member _.ParameterCount = inner.ParameterCount
        member _.ParameterLayout = inner.ParameterLayout
        member _.Activation = inner.Activation
        member _.CacheSize n = inner.CacheSize n
        member _.Forward(theta, h, output, cache, n) = inner.Forward(ReadOnlySpan<float>(swap theta), h, output, cache, n)
        member _.Backward(theta, h, cache, p, gradTheta, gradH, n) =
            let g = Array.zeroCreate gradTheta.Length
            inner.Backward(ReadOnlySpan<float>(swap theta), h, cache, p, Span<float>(g), gradH, n)
            flip g
            for i in 0 .. g.Length - 1 do gradTheta.[i] <- gradTheta.[i] + g.[i]

[<Theory; MemberData(nameof catalog)>]
let ``block Forward: self-consistent but wrong Forward → caught`` (name: string, act: ActivationKind) =
    let struct (d, hyper) = (BlockCatalog.Find name).TestShape
    let gap = worstGap name act (fun () -> SwappedBlock(BlockCatalog.Create(name, d, act, hyper)) :> IResidualBlock)
    Assert.True(gap > 1e-3, sprintf "%s/%A: the swapped block passed the forward comparison (gap %.3g)" name act gap)
