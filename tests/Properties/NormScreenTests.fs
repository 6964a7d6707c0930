/// The screen of a spectral norm against a level (src/Numerics.CSharp/Model/SpectralNormBelow.cs
/// `SpectralNorm.BelowOrUpper`: a Gram matrix and one shifted Cholesky factorization; docs/theorems/RunIntegrity.md,
/// "Tolerance from rounding", step 2): whenever it says "below τ" the matrix's norm is below τ, a norm above τ by a
/// relative 10⁻⁹ is never screened out, a test without its rounding allowance is caught by a known counterexample, and
/// `LayerJacobian.segmentBound` gives the same bits with the screen as without it.
module ResOdeProofs.Properties.NormScreenTests

open System
open System.Numerics
open Xunit
open FsCheck.FSharp
open MathNet.Numerics.LinearAlgebra
open ResOdeProofs.Numerics.Model
open ResOdeProofs.Theory
open ResOdeProofs.Properties.Profile

let private u64 = Math.Pow(2.0, -53.0)

let private bits (x: float) = BitConverter.DoubleToInt64Bits x

/// A d×d row-major matrix of one of five kinds: near the identity (I + sE, s from 10⁻⁶ to 10⁻¹), uniform entries, a
/// product of ten near-identity factors, rank one, or a diagonal of scales 10⁻³..10³ plus a small perturbation.
let private matrix (rng: Random) (kind: int) (d: int) =
    let uniform () = rng.NextDouble() * 2.0 - 1.0
    let nearIdentity (s: float) = Array.init (d * d) (fun q -> (if q / d = q % d then 1.0 else 0.0) + s * uniform ())
    match kind with
    | 0 -> nearIdentity (Math.Pow(10.0, -float (rng.Next(1, 7))))
    | 1 -> Array.init (d * d) (fun _ -> uniform ())
    | 2 ->
        let mutable p = nearIdentity 0.05
        for _ in 1 .. 9 do
            let f = nearIdentity 0.05
            p <- Array.init (d * d) (fun q -> Seq.sum (seq { for t in 0 .. d - 1 -> f.[(q / d) * d + t] * p.[t * d + q % d] }))
        p
    | 3 ->
        let a, b = Array.init d (fun _ -> uniform ()), Array.init d (fun _ -> uniform ())
        Array.init (d * d) (fun q -> a.[q / d] * b.[q % d])
    | _ ->
        let scales = Array.init d (fun _ -> Math.Pow(10.0, 6.0 * rng.NextDouble() - 3.0))
        Array.init (d * d) (fun q -> (if q / d = q % d then scales.[q / d] else 0.0) + 1e-4 * uniform ())

/// A reference value of ‖M‖₂: the larger of the tool's norm and MathNet's SVD (each within about 10⁻¹⁴ of it).
let private reference (d: int) (m: float[]) =
    max (SpectralNorm.OfBlock(d, d, m, 0)) (Matrix<float>.Build.DenseOfRowMajor(d, d, m).L2Norm())

/// Levels around the reference norm r: r(1 + δ), δ from −10⁻³ to 1.
let private relativeLevels = [ -1e-3; -1e-9; 0.0; 1e-12; 1e-10; 1e-9; 1e-8; 1e-6; 1e-3; 1.0 ]

[<ProfiledProperty(300, Replay = "(8191,131071)")>]
let ``SpectralNorm.BelowOrUpper: random matrices (near the identity, products, rank one, scaled) → "below τ" only when the norm is below τ, otherwise UpperOfBlock's bits`` (seed: int) =
    let rng = Random(seed)
    let d = rng.Next(1, 21)
    let kind = abs seed % 5
    let m = matrix rng kind d
    let r = reference d m
    for delta in relativeLevels do
        let tau = r * (1.0 + delta)
        let below, norm = SpectralNorm.BelowOrUpper(d, m, 0, tau)
        // the in-place test (upper triangle, factored where it is formed) decides as the test on the full Gram matrix
        let g = Array.zeroCreate (d * d)
        SpectralNorm.Gram(m, 0, d, d, g)
        Assert.True((below = SpectralNorm.GramProvesBelow(g, d, tau)), sprintf "kind %d, d = %d, δ = %g: the in-place test differs" kind d delta)
        if below then
            Assert.True(r < tau, sprintf "kind %d, d = %d, δ = %g: screened below τ = %.17g but ‖M‖₂ ≈ %.17g" kind d delta tau r)
        else
            Assert.Equal(bits (SpectralNorm.UpperOfBlock(d, d, m, 0)), bits norm)
        // the screen proves what it should: a level 10⁻⁶ above the norm is always proven (the shift is 2⁻³⁰ of τ², the
        // allowance of order d²u)
        if delta >= 1e-6 then Assert.True(below, sprintf "kind %d, d = %d, δ = %g: not screened" kind d delta)

[<ProfiledProperty(300, Replay = "(524287,8191)")>]
let ``SpectralNorm.BelowOrUpper: a norm above τ by a relative 10⁻⁹ → never screened out (negative control)`` (seed: int) =
    let rng = Random(seed)
    let d = rng.Next(1, 21)
    let kind = abs seed % 5
    let m = matrix rng kind d
    // the smaller of the two references, so that the norm exceeds τ by at least about 10⁻⁹ of itself
    let r = min (SpectralNorm.OfBlock(d, d, m, 0)) (Matrix<float>.Build.DenseOfRowMajor(d, d, m).L2Norm())
    let tau = r / (1.0 + 1e-9)
    let below, _ = SpectralNorm.BelowOrUpper(d, m, 0, tau)
    Assert.False(below, sprintf "kind %d, d = %d: screened below τ = %.17g though ‖M‖₂ ≈ %.17g" kind d tau r)

[<ProfiledProperty(200, Replay = "(131071,65539)")>]
let ``SpectralNorm.ShiftedGramUpper: random finite matrices → σ − the Gram matrix's bits on the diagonal, its negation right of it, its trace`` (seed: int) =
    let rng = Random(seed)
    let d = rng.Next(1, 25)
    let m = matrix rng (abs seed % 5) d
    let sigma = 1.0 + rng.NextDouble()
    let g = Array.zeroCreate (d * d)
    SpectralNorm.Gram(m, 0, d, d, g)
    // an offset into a longer array, and a work array holding an earlier call's numbers
    let padded = Array.append (Array.create 3 nan) m
    let a = Array.create (d * d) 7.0
    let trace = SpectralNorm.ShiftedGramUpper(padded, 3, d, sigma, a)
    let mutable expected = 0.0
    for i in 0 .. d - 1 do
        expected <- expected + g.[i * d + i]
        Assert.Equal(bits (sigma - g.[i * d + i]), bits a.[i * d + i])
        for c in i + 1 .. d - 1 do Assert.Equal(bits (-g.[i * d + c]), bits a.[i * d + c])
    Assert.Equal(bits expected, bits trace)

/// The exact value of Σ x_t² for doubles x_t in [2⁻⁶⁰, 2) (or 0), times 2²²⁴, as an integer.
let private exactSumOfSquaresScaled (xs: float seq) =
    xs
    |> Seq.map (fun x ->
        if x = 0.0 then BigInteger.Zero
        else
            let raw = BitConverter.DoubleToInt64Bits(abs x)
            let e = int ((raw >>> 52) &&& 0x7FFL) - 1075
            let mant = BigInteger((raw &&& 0xFFFFFFFFFFFFFL) ||| 0x10000000000000L)
            // x = mant·2^e, x² = mant²·2^(2e), 2e + 224 ≥ 0 for x ≥ 2⁻⁶⁰
            BigInteger.Pow(mant, 2) * BigInteger.Pow(BigInteger(2), 2 * e + 224))
    |> Seq.fold (+) BigInteger.Zero

[<Fact>]
let ``SpectralNorm screen: a Cholesky of τ²I − Ĝ without the allowance (a mutated screen) → caught by a column whose squares round below 1`` () =
    // column 0 = (1 − 2⁻⁵³, b, …, b), b² ≈ 0.9·2⁻⁵⁴, the other columns 0: fl(1 − 2⁻⁵³)² = 1 − 2⁻⁵² and every b² is lost
    // in the sum (below half the spacing 2⁻⁵³ there), so Ĝ₀₀ = 1 − 2⁻⁵² while ‖M‖₂² = 1 − 2⁻⁵² + 2⁻¹⁰⁶ + 15b² > 1
    let d = 16
    let b = Math.Sqrt 0.9 * Math.Pow(2.0, -27.0)
    let column = Array.init d (fun t -> if t = 0 then 1.0 - u64 else b)
    let m = Array.init (d * d) (fun q -> if q % d = 0 then column.[q / d] else 0.0)
    Assert.True(exactSumOfSquaresScaled column > BigInteger.Pow(BigInteger(2), 224), "the column's norm is not above 1")
    let g = Array.zeroCreate (d * d)
    SpectralNorm.Gram(m, 0, d, d, g)
    Assert.Equal(1.0 - 2.0 * u64, g.[0])
    // the mutated screen: the factorization of fl(τ²)I − Ĝ alone completes, and would call ‖M‖₂ below τ = 1
    Assert.True(SpectralNorm.ShiftedCholeskyCompletes(g, d, 1.0)) // fl(τ²) = 1
    // the screen with its shift and allowance does not
    Assert.False(SpectralNorm.GramProvesBelow(g, d, 1.0))
    let below, norm = SpectralNorm.BelowOrUpper(d, m, 0, 1.0)
    Assert.False(below)
    Assert.Equal(bits (SpectralNorm.UpperOfBlock(d, d, m, 0)), bits norm)

[<Fact>]
let ``SpectralNorm.BelowOrUpper: an entry NaN or infinite, τ zero, NaN or huge → nothing proven, UpperOfBlock's answer`` () =
    let d = 4
    let identity = Array.init (d * d) (fun q -> if q / d = q % d then 1.0 else 0.0)
    for bad in [ nan; infinity; -infinity ] do
        let m = Array.copy identity
        m.[5] <- bad
        let below, norm = SpectralNorm.BelowOrUpper(d, m, 0, 10.0)
        Assert.False(below)
        Assert.Equal(bits (SpectralNorm.UpperOfBlock(d, d, m, 0)), bits norm)
    for tau in [ 0.0; -1.0; nan; 1e300 ] do
        let below, _ = SpectralNorm.BelowOrUpper(d, identity, 0, tau)
        Assert.False(below, sprintf "τ = %g" tau)

/// A chain of L near-identity d×d Jacobians I + sE (a NaN entry in one of them when `withNaN`).
let private chain (rng: Random) (L: int) (d: int) (s: float) (withNaN: bool) =
    let js = Array.init L (fun _ -> Array.init (d * d) (fun q -> (if q / d = q % d then 1.0 else 0.0) + s * (rng.NextDouble() * 2.0 - 1.0)))
    if withNaN then js.[rng.Next L].[rng.Next(d * d)] <- nan
    js

[<ProfiledProperty(150, Replay = "(65537,257)")>]
let ``LayerJacobian.segmentBound: random chains, with the screen and without → the same bits`` (seed: int) =
    let rng = Random(seed)
    let L = rng.Next(1, 90)
    let d = rng.Next(1, 12)
    let s = [| 0.003; 0.03; 0.3; 1.0 |].[rng.Next 4]
    let eps = [| 0.0; 1e-14; 1e-9; 1e-3; 0.6; 3.0 |].[rng.Next 6]
    let js = chain rng L d s (rng.Next 20 = 0)
    let screened = LayerJacobian.segmentBoundWith true u64 d eps js
    let taken = LayerJacobian.segmentBoundWith false u64 d eps js
    Assert.True(bits screened = bits taken, sprintf "L = %d, d = %d, s = %g, eps = %g: %.17g with the screen, %.17g without" L d s eps screened taken)

[<Fact>]
let ``LayerJacobian.segmentBound: a figure-1-like chain (L = 1024, d = 16) → the same bits with the screen and without`` () =
    let rng = Random(1024)
    let js = chain rng 1024 16 0.004 false
    let eps = 3e-12
    Assert.Equal(bits (LayerJacobian.segmentBoundWith false u64 16 eps js), bits (LayerJacobian.segmentBoundWith true u64 16 eps js))

/// The largest ‖J_b ⋯ J_{a+1}‖₂ over every segment of a chain, each product formed in order by MathNet and its norm by
/// `reference` (the larger of the tool's norm and MathNet's SVD): the quantity `LayerJacobian.segmentBoundBlocks` bounds,
/// by brute force.
let private bruteForceMax (d: int) (js: float[][]) =
    let mutable best = 1.0
    for a in 0 .. js.Length - 1 do
        let mutable p = Matrix<float>.Build.DenseIdentity d
        for b in a .. js.Length - 1 do
            p <- Matrix<float>.Build.DenseOfRowMajor(d, d, js.[b]) * p
            best <- max best (reference d (p.ToRowMajorArray()))
    best

/// ν_k: `reference` of each Jacobian raised by 1 + 4du, the accuracy the verifier takes for a computed spectral norm
/// (RunIntegrity.md, step 3; B.bound.secant): an upper value of ‖J_k‖₂ for the chain's own matrices.
let private upperNorms (d: int) (js: float[][]) =
    js |> Array.map (fun j -> reference d j * (1.0 + 4.0 * float d * u64))

/// What the products formed in a chain's bounds and in `bruteForceMax` may differ from the exact ones by (eps = 0 leaves
/// them out of the bound): each of at most L products of d×d matrices within γ_d of its exact value relative to the
/// product of the norms (Higham §3.5), at most L·(d + 1)·u·Π ν_k in all, the same again for the brute force's products.
let private productRounding (d: int) (nu: float[]) =
    2.0 * float nu.Length * float (d + 1) * u64 * (nu |> Array.fold (fun p x -> p * max 1.0 x) 1.0)

/// The factor by which `segmentBoundBlocks` may exceed `segmentBoundWith` on the same chain: (BlockWorstCase)² from its two
/// end blocks, times 1 + 16u for the roundings of the two computations of a term (scale, factor and products, ≤ 8 each).
let private blocksAbove = LayerJacobian.BlockWorstCase * LayerJacobian.BlockWorstCase * (1.0 + 16.0 * u64)

[<ProfiledProperty(100, Replay = "(4099,8191)")>]
let ``LayerJacobian.segmentBoundBlocks: chains near the identity with ν_k ≥ ‖J_k‖₂ → above every segment's norm, within (BlockWorstCase)² of the bound that forms every segment`` (seed: int) =
    let rng = Random(seed)
    let L = rng.Next(2, 60)
    let d = rng.Next(1, 7)
    // s small enough that some blocks' worst case is within 2⁻⁴ of 1 and some (s = 0.03, long blocks) not
    let s = [| 0.0005; 0.002; 0.006; 0.03 |].[rng.Next 4]
    let js = chain rng L d s false
    let nu = upperNorms d js
    let blocks = LayerJacobian.segmentBoundBlocks true u64 d 0.0 (Some nu) js
    let every = LayerJacobian.segmentBoundWith true u64 d 0.0 js
    let brute = bruteForceMax d js
    let where = sprintf "L = %d, d = %d, s = %g: blocks %.17g, every segment %.17g, brute force %.17g" L d s blocks every brute
    Assert.True(blocks >= brute - productRounding d nu, where)
    Assert.True(blocks <= every * blocksAbove, where)

[<Fact>]
let ``LayerJacobian.segmentBoundBlocks: ν_k understated (1 for every layer of a chain whose Jacobians expand) → below the largest segment's norm, which the brute force shows`` () =
    // the block path trusts ν: with ν_k = 1 it takes every block's largest segment as 1, and a chain of Jacobians
    // I + 0.01·(a matrix with a positive eigenvalue) has segments of norm above 1 inside each block
    let d, L = 4, 48
    let rng = Random(7)
    let js = Array.init L (fun _ -> Array.init (d * d) (fun q -> (if q / d = q % d then 1.01 else 0.0) + 0.001 * (rng.NextDouble() * 2.0 - 1.0)))
    let brute = bruteForceMax d js
    let nu = upperNorms d js
    let honest = LayerJacobian.segmentBoundBlocks true u64 d 0.0 (Some nu) js
    let understated = LayerJacobian.segmentBoundBlocks true u64 d 0.0 (Some (Array.create L 1.0)) js
    Assert.True(honest >= brute - productRounding d nu, sprintf "honest ν: %.17g against %.17g" honest brute)
    Assert.True(understated < brute * 0.99, sprintf "understated ν: %.17g against the largest segment %.17g" understated brute)

[<Fact>]
let ``LayerJacobian.segmentBoundBlocks: a ν_k that is NaN → that block's segments formed, the bound of every segment's path`` () =
    // a NaN among the ν must not let its block pass as near the identity (F#'s max keeps NaN; a comparison such as
    // `if x > 1.0 then x else 1.0` would not): layers of norm ≈ 1.001 and a first layer of norm ≈ 1.05, blocks of 4
    // (worst ≈ 1.053, within 2⁻⁴ of 1); read as 1, ν₁ would leave that block's c_t ≈ 1.003 and the bound below the whole
    // chain's norm ≈ 1.08
    let d, L = 3, 27
    let rng = Random(11)
    let js =
        Array.init L (fun k ->
            let s = if k = 0 then 1.05 else 1.001
            Array.init (d * d) (fun q -> (if q / d = q % d then s else 0.0) + 1e-5 * (rng.NextDouble() * 2.0 - 1.0)))
    let nu = upperNorms d js
    let brute = bruteForceMax d js
    Assert.True(LayerJacobian.segmentBoundBlocks true u64 d 0.0 (Some nu) js >= brute - productRounding d nu)
    let withNaN = Array.copy nu
    withNaN.[0] <- nan
    let every = LayerJacobian.segmentBoundWith true u64 d 0.0 js
    let blocks = LayerJacobian.segmentBoundBlocks true u64 d 0.0 (Some withNaN) js
    Assert.True(Double.IsFinite blocks && blocks >= brute - productRounding d nu, sprintf "%.17g against %.17g" blocks brute)
    Assert.True(blocks <= every * blocksAbove)
