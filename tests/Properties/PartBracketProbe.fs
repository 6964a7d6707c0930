/// The part-by-part bracket of `Architecture.PartBracket` (conv) against the block's own Backward: at random (θ, θ', h, p),
/// for every part q, ‖G_q(θ'; h, p) − G_q(θ; h, p)‖ ≤ Σ_q' A[q, q']‖θ'_q' − θ_q'‖ with G(θ; h, p) = ∂_θf(θ, h)ᵀp
/// (docs/theorems/ConvBlock.md, "The bracket part by part"; docs/theorems/GenericResults.md, "A.split").
module ResOdeProofs.Properties.PartBracketProbe

open System
open Xunit
open ResOdeProofs.Numerics
open ResOdeProofs.Numerics.Blocks
open ResOdeProofs.Theory
open ResOdeProofs.Properties.ConstantProbe

/// ∂_θf(θ, h)ᵀp for one sample, from the block's Backward.
let private vjp (block: IResidualBlock) (theta: float[]) (h: float[]) (p: float[]) =
    let cache = Array.zeroCreate (block.CacheSize 1)
    BlockCalls.Forward(block, theta, 0, h, 0, Array.zeroCreate block.StateDim, cache, 1)
    let g = Array.zeroCreate block.ParameterCount
    BlockCalls.Backward(block, theta, 0, h, 0, cache, p, 0, g, Array.zeroCreate block.StateDim, 1)
    g

/// The worst ratio measured / bound over parts and `count` random points; `edit` may change the declared matrix.
let worstRatio (name: string) (seed: int) (count: int) (edit: float[,] -> unit) =
    let arch = Registry.architectures |> List.find (fun a -> a.Name = name)
    let pb = arch.PartBracket.Value
    let entry, d0, hyperDict, hyper = probeShape name
    let rng = Random(seed)
    let gauss = gaussian rng
    let mutable worst = 0.0
    for act in [ ActivationKind.Gelu; ActivationKind.Tanh; ActivationKind.Softplus ] do
        let block = entry.Create.Invoke(d0, act, hyperDict)
        let consts = Activations.Constants act
        let d, P = block.StateDim, block.ParameterCount
        let sizes = block.ParameterLayout |> Seq.map (fun struct (_, s) -> Array.fold (*) 1 s) |> Seq.toArray
        let offsets = Array.scan (+) 0 sizes
        for _ in 1 .. count do
            let theta = randomTheta rng sizes
            // a perturbation of every part, or of one part only (each column of A is then probed alone)
            let only = rng.Next(sizes.Length + 1) - 1
            let len = [| 1e-3; 0.1; 1.0 |].[rng.Next 3]
            let dir = Array.init P (fun i -> if only < 0 || (i >= offsets.[only] && i < offsets.[only + 1]) then gauss () else 0.0)
            let dn = Linalg.norm dir
            let theta' = Array.map2 (fun t v -> t + v * len / dn) theta dir
            let unitVec r = let x = Array.init d (fun _ -> gauss ()) in let xn = Linalg.norm x in Array.map (fun v -> v * r / xn) x
            let h = unitVec [| 0.3; 1.0; 3.0 |].[rng.Next 3]
            let p = unitVec [| 0.1; 1.0; 5.0 |].[rng.Next 3]
            let g, g' = vjp block theta h p, vjp block theta' h p
            let b = boundsOf block consts hyper [ theta; theta' ] [ h ]
            let a = pb b { Theta = Array.append theta theta'; First = 0; Second = P; State = h; StateOffset = 0 } p 0
            edit a
            for q in 0 .. sizes.Length - 1 do
                let measured = Linalg.frobeniusDiff g' offsets.[q] g offsets.[q] sizes.[q]
                let bound = Seq.sum (seq { for c in 0 .. sizes.Length - 1 -> a.[q, c] * Linalg.frobeniusDiff theta' offsets.[c] theta offsets.[c] sizes.[c] })
                if measured > 0.0 then worst <- max worst (measured / bound)
    worst

[<Fact(DisplayName = "PartBracket (conv): random θ, θ', h, p against the block's Backward → within the part-by-part bound")>]
let convWithin () =
    let w = worstRatio "conv" 20261130 200 ignore
    Assert.True(w <= 1.0 + 1e-9, sprintf "conv: measured / part-by-part bracket bound reaches %g" w)

[<Fact(DisplayName = "PartBracket (conv): the K₂ row's δK₁ entry dropped → exceeded at a probed point")>]
let convDroppedEntry () =
    let w = worstRatio "conv" 20261130 200 (fun a -> a.[2, 0] <- 0.0)
    Assert.True(w > 1.0, sprintf "the conv bracket without its K2←K1 entry was never exceeded (worst %g)" w)

/// The mutation: on the conv report example, the last snapshot bumped so that its largest increment lies strictly between
/// the part-by-part A.split bound and the bound with the scalar bracket a_k‖Δ_k‖ only (target their geometric mean,
/// the observed increment m on both sides) → A.split violated, while the scalar-bracket bound is above the bumped increment.
[<Fact(DisplayName = "A.split: conv report example, last snapshot bumped between the part-by-part and the scalar-bracket bounds → violated")>]
let convBumpBetweenBounds () =
    let run = BlockProperties.trainBlock (BlockProperties.reportExample (BlockCatalog.Find "conv"))
    let s = run.SnapshotCount - 1
    let j = run.Steps.[s]
    let st = (GenericReplay.tracks run).FromZero.Value
    let sharp, loose = st.Bound.[j], st.ScalarBound.[j]
    let m = run.DepthIncrement s
    let target = sqrt (sharp * loose)
    Assert.True(sharp < target - m && target + m < loose, sprintf "no room between the bounds (part-by-part %g, scalar %g, observed %g)" sharp loose m)
    let bumped = BlockProperties.bumpLastSnapshotBy target run
    Assert.True(bumped.DepthIncrement s < loose, sprintf "the bumped increment %g is not below the scalar-bracket bound %g" (bumped.DepthIncrement s) loose)
    let v = (Result.evaluate GenericSplit.split bumped).Verdict
    Assert.True(Verdict.isViolated v, sprintf "A.split on the bumped run: %A" v)
