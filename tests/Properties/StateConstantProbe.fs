/// The per-state C_θθ of `Architecture.ThetaThetaAtState` (conv, glu) against the exact θ-Jacobians of the block's own
/// Backward: at random (θ, θ', h), ‖∂_θf(θ', h) − ∂_θf(θ, h)‖₂ ≤ C_θθ(h; θ, θ')·‖θ' − θ‖ (docs/theorems/GenericResults.md,
/// "A.split"; GluBlock.md and ConvBlock.md for the constants).
module ResOdeProofs.Properties.StateConstantProbe

open System
open Xunit
open ResOdeProofs.Numerics
open ResOdeProofs.Numerics.Blocks
open ResOdeProofs.Theory
open ResOdeProofs.Properties.ConstantProbe

/// The worst ratio measured / declared over `count` random points (with a violation reported by the caller when > 1).
let worstRatio (name: string) (seed: int) (count: int) (scaleConstant: float) =
    let arch = Registry.architectures |> List.find (fun a -> a.Name = name)
    let at = arch.ThetaThetaAtState.Value
    let entry, d0, hyperDict, hyper = probeShape name
    let rng = Random(seed)
    let gauss = gaussian rng
    let mutable worst = 0.0
    for act in [ ActivationKind.Gelu; ActivationKind.Tanh; ActivationKind.Softplus ] do
        let block = entry.Create.Invoke(d0, act, hyperDict)
        let consts = Activations.Constants act
        let d, P = block.StateDim, block.ParameterCount
        let sizes = block.ParameterLayout |> Seq.map (fun struct (_, s) -> Array.fold (*) 1 s) |> Seq.toArray
        for _ in 1 .. count do
            let theta = randomTheta rng sizes
            let len = [| 1e-3; 0.1; 1.0 |].[rng.Next 3]
            let dir = Array.init P (fun _ -> gauss ())
            let dn = Linalg.norm dir
            let theta' = Array.map2 (fun t v -> t + v * len / dn) theta dir
            let r = [| 0.3; 1.0; 3.0 |].[rng.Next 3]
            let h = Array.init d (fun _ -> gauss ())
            let h = let hn = Linalg.norm h in Array.map (fun v -> v * r / hn) h
            let _, _, jt = jacobians block theta h
            let _, _, jt' = jacobians block theta' h
            let measured = Linalg.spectralNorm d P (Array.map2 (-) jt' jt) 0 / Linalg.frobeniusDiff theta' 0 theta 0 P
            let b = boundsOf block consts hyper [ theta; theta' ] [ h ]
            let declared = scaleConstant * at b { Theta = Array.append theta theta'; First = 0; Second = P; State = h; StateOffset = 0 }
            worst <- max worst (measured / declared)
    worst

[<Theory>]
[<InlineData("glu")>]
[<InlineData("conv")>]
let ``ThetaThetaAtState: random θ, θ', h with the block's exact Jacobians → within the per-state constant`` (name: string) =
    let w = worstRatio name 20261130 150 1.0
    Assert.True(w <= 1.0 + 1e-9, sprintf "%s: measured / per-state C_θθ reaches %g" name w)

[<Fact>]
let ``ThetaThetaAtState: glu's per-state constant halved → exceeded at a probed point`` () =
    let w = worstRatio "glu" 20261130 150 0.5
    Assert.True(w > 1.0, sprintf "the halved per-state C_θθ of glu was never exceeded (worst %g)" w)
