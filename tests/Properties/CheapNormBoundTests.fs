/// The cheap upper value of a spectral norm (`LayerJacobian.cheapNormBound`, docs/theorems/RunIntegrity.md, step 2):
/// min(‖M‖_F, (‖M‖₁‖M‖_∞)^{1/2}) from sums taken in any order, each raised by its own rounding allowance. It is at least
/// ‖M‖₂ on random matrices of five kinds, and its Frobenius value is at least the exact ‖M‖_F (compared in exact integer
/// arithmetic) on a matrix built so that every addition of a row-major sequential sum rounds down, where the former
/// allowance 1 + γ_{2d+4} on a sequential sum falls below it.
module ResOdeProofs.Properties.CheapNormBoundTests

open System
open System.Numerics
open Xunit
open MathNet.Numerics.LinearAlgebra
open ResOdeProofs.Numerics.Model
open ResOdeProofs.Theory
open ResOdeProofs.Properties.Profile

let private u = Math.Pow(2.0, -53.0)

/// x = mantissa·2^exponent exactly, for a finite double.
let private dyadic (x: float) : BigInteger * int =
    if x = 0.0 then BigInteger.Zero, 0
    else
        let b = BitConverter.DoubleToInt64Bits x
        let e = int ((b >>> 52) &&& 0x7FFL)
        let f = b &&& 0xFFFFFFFFFFFFFL
        let mant, exp = (if e = 0 then f, -1074 else (f ||| (1L <<< 52)), e - 1075)
        BigInteger(if x < 0.0 then -mant else mant), exp

/// Whether v² ≥ Σ m_i² exactly (v ≥ 0).
let private squareAtLeastSumOfSquares (v: float) (m: float[]) =
    let terms = m |> Array.filter (fun x -> x <> 0.0) |> Array.map dyadic
    let vm, ve = dyadic v
    let lowest = (terms |> Array.map (fun (_, e) -> 2 * e) |> Array.append [| 2 * ve |]) |> Array.min
    let scaled (mant: BigInteger) (e: int) = mant * mant * BigInteger.Pow(BigInteger(2), 2 * e - lowest)
    let sum = terms |> Array.sumBy (fun (mt, e) -> scaled mt e)
    scaled vm ve >= sum

/// d×d matrices of five kinds: uniform, rank one, near the identity, one dominant entry over many small ones, scaled.
let private matrix (rng: Random) (kind: int) (d: int) =
    let uniform () = rng.NextDouble() * 2.0 - 1.0
    match kind with
    | 0 -> Array.init (d * d) (fun _ -> uniform ())
    | 1 ->
        let a, b = Array.init d (fun _ -> uniform ()), Array.init d (fun _ -> uniform ())
        Array.init (d * d) (fun q -> a.[q / d] * b.[q % d])
    | 2 -> Array.init (d * d) (fun q -> (if q / d = q % d then 1.0 else 0.0) + 1e-3 * uniform ())
    | 3 -> Array.init (d * d) (fun q -> if q = 0 then 1e8 else uniform ())
    | _ -> Array.init (d * d) (fun q -> Math.Pow(10.0, 6.0 * rng.NextDouble() - 3.0) * uniform ())

[<ProfiledProperty(300, Replay = "(4095,65535)")>]
let ``LayerJacobian.cheapNormBound: random matrices (uniform, rank one, near the identity, one dominant entry, scaled) → at least ‖M‖₂ and its Frobenius value at least the exact ‖M‖_F`` (seed: int) =
    let rng = Random(seed)
    let d = rng.Next(1, 21)
    let m = matrix rng (abs seed % 5) d
    let cheap = LayerJacobian.cheapNormBound u d m
    let spectral = max (SpectralNorm.OfBlock(d, d, m, 0)) (Matrix<float>.Build.DenseOfRowMajor(d, d, m).L2Norm())
    // the reference norms are within about 10⁻¹⁴ of ‖M‖₂; the cheap value must clear the larger
    Assert.True(cheap >= spectral * (1.0 - 1e-13), sprintf "d = %d: cheap %.17g below ‖M‖₂ ≈ %.17g" d cheap spectral)
    // the rank-one kind has ‖M‖₂ = ‖M‖_F: there the Frobenius value itself is compared exactly
    let struct (squares, _, _) = SpectralNorm.CheapSums(d, ReadOnlySpan m)
    let g = float (d * d + 5) * u
    Assert.True(squareAtLeastSumOfSquares (sqrt squares * (1.0 + g / (1.0 - g))) m, sprintf "d = %d: the Frobenius value is below ‖M‖_F" d)

[<Fact>]
let ``LayerJacobian.cheapNormBound: every addition of a sequential sum rounding down (2^26 and 255 entries of √0.4999) → at least the exact ‖M‖_F; the former sequential sum with 1 + γ_{2d+4} → below it (control)`` () =
    let d = 16
    let small = sqrt 0.4999 // its square is below half an ulp of 2^52: added to 2^52 it is lost
    let m = Array.init (d * d) (fun q -> if q = 0 then Math.Pow(2.0, 26.0) else small)
    let cheap = LayerJacobian.cheapNormBound u d m
    Assert.True(squareAtLeastSumOfSquares cheap m, sprintf "cheap %.17g below the exact ‖M‖_F" cheap)
    // the former value: Σ M_ij² summed row by row in order, raised by 1 + γ_{2d+4}
    let mutable fro = 0.0
    for x in m do fro <- fro + x * x
    Assert.Equal(Math.Pow(2.0, 52.0), fro) // every one of the 255 additions rounded down
    let k = float (2 * d + 4) * u
    let former = sqrt fro * (1.0 + k / (1.0 - k))
    Assert.False(squareAtLeastSumOfSquares former m, "the former allowance should fall below ‖M‖_F on this matrix")
    // and ‖M‖₂ here is below the cheap value too (the bound's own claim)
    Assert.True(cheap >= SpectralNorm.OfBlock(d, d, m, 0))

[<Fact>]
let ``SpectralNorm.CheapSums: an entry NaN or ∞ → the sum of squares not finite, and cheapNormBound +∞`` () =
    for bad in [ nan; infinity; -infinity ] do
        let m = Array.init 9 (fun q -> if q = 4 then bad else 1.0)
        let struct (s, _, _) = SpectralNorm.CheapSums(3, ReadOnlySpan m)
        Assert.False(Double.IsFinite s)
        Assert.Equal(infinity, LayerJacobian.cheapNormBound u 3 m)
