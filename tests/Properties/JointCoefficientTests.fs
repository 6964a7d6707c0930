/// The joint coefficient a = ‖[[a_WW, a_WV], [a_VW, 0]]‖₂ of L5.split and the split recursions (LemmaChain.jointCoefficient):
/// it enters every bound of the split family as a growth rate, so it has to be the spectral norm to a few units of
/// rounding, including where a_WV ≈ a_VW and a_WW is small (the usual case on the engine's runs).
module ResOdeProofs.Properties.JointCoefficientTests

open System
open Xunit
open MathNet.Numerics.LinearAlgebra
open ResOdeProofs.Theory

let private u = 1.1102230246251565e-16

/// a_WW = 0: the singular values of [[0, b], [c, 0]] are |b| and |c|, so the exact a is max(b, c).
[<Fact(DisplayName = "jointCoefficient: a_WW = 0, a_WV = 1, a_VW = 1 + 2⁻ᵏ for k = 1 … 52 → max(a_WV, a_VW) within 4u (the eigenvalue form of MᵀM cancels there and gave up to 7·10⁻⁹ low)")>]
let nearEqualOffDiagonal () =
    for k in 1 .. 52 do
        let c = 1.0 + Math.ScaleB(1.0, -k)
        for scale in [ 1.0; 3.0e-7; 2.5e9 ] do
            let a = LemmaChain.jointCoefficient 0.0 scale (c * scale)
            let exact = c * scale
            Assert.True(abs (a - exact) <= 4.0 * u * exact, sprintf "k = %d, scale %g: %.17g against %.17g (%.3e relative)" k scale a exact ((a - exact) / exact))

/// Random nonnegative coefficients over twelve orders of magnitude, a third of them with a_WV and a_VW a few ulp to 10⁻⁴
/// apart: within 16u of the largest singular value of MathNet's SVD (backward stable: its value within a few u of ‖M‖₂).
[<Fact(DisplayName = "jointCoefficient: 20 000 random nonnegative coefficients, many with a_WV ≈ a_VW → the largest singular value of the SVD within 16u")>]
let againstSvd () =
    let rng = Random 20261205
    let draw () = Math.Pow(10.0, rng.NextDouble() * 12.0 - 6.0)
    for i in 1 .. 20000 do
        let aWV = draw ()
        let aVW =
            match i % 3 with
            | 0 -> aWV * (1.0 + (rng.NextDouble() - 0.5) * Math.Pow(10.0, -4.0 - 12.0 * rng.NextDouble()))
            | _ -> draw ()
        let aWW = if i % 5 = 0 then 0.0 else draw () * Math.Pow(10.0, -6.0 * rng.NextDouble())
        let a = LemmaChain.jointCoefficient aWW aWV aVW
        let svd = Matrix<float>.Build.DenseOfArray(array2D [ [ aWW; aWV ]; [ aVW; 0.0 ] ]).Svd(false).S.[0]
        Assert.True(abs (a - svd) <= 16.0 * u * svd, sprintf "(%.17g, %.17g, %.17g): %.17g against the SVD's %.17g" aWW aWV aVW a svd)

[<Fact(DisplayName = "jointCoefficient: a coefficient that is not finite → +∞; all zero → 0")>]
let specialValues () =
    Assert.Equal(infinity, LemmaChain.jointCoefficient nan 1.0 1.0)
    Assert.Equal(infinity, LemmaChain.jointCoefficient 1.0 infinity 1.0)
    Assert.Equal(0.0, LemmaChain.jointCoefficient 0.0 0.0 0.0)
