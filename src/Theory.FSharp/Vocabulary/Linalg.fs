/// Small dense linear algebra the constants need (outside hot loops: MathNet is fine here).
module ResOdeProofs.Theory.Linalg

open System
open MathNet.Numerics.LinearAlgebra

/// A rows×cols row-major block of a flat array as a MathNet matrix.
let matrix (rows: int) (cols: int) (data: float[]) (offset: int) : Matrix<float> =
    Matrix<float>.Build.Dense(rows, cols, fun r c -> data.[offset + r * cols + c])

/// Spectral norm ‖M‖₂ (largest singular value) of a row-major block.
let spectralNorm (rows: int) (cols: int) (data: float[]) (offset: int) : float =
    ResOdeProofs.Numerics.Model.SpectralNorm.OfBlock(rows, cols, data, offset) // Gram matrix + tridiagonal bisection, not a full SVD

/// Frobenius norm of a block.
let rec frobenius (data: float[]) (offset: int) (count: int) : float =
    let mutable s = 0.0
    for i in offset .. offset + count - 1 do s <- s + data.[i] * data.[i]
    if Double.IsPositiveInfinity s then scaledNorm (fun i -> data.[offset + i]) count else sqrt s

/// √(Σ x_i²) of finite entries whose plain sum of squares overflowed: each entry scaled by the power of two 2^−e that
/// brings the largest to [1, 2) (exact, but for entries 2^1022 times smaller, whose squares do not reach the sum), the
/// squares summed in index order and the root scaled back; a non-finite entry gives +∞ or NaN as the plain sum would.
/// Only taken when the plain sum is +∞, so every finite norm keeps its bits; a norm above the largest double is +∞.
and private scaledNorm (x: int -> float) (count: int) : float =
    let mutable big = 0.0
    for i in 0 .. count - 1 do big <- max big (abs (x i))
    if not (Double.IsFinite big) then
        let mutable s = 0.0
        for i in 0 .. count - 1 do s <- s + x i * x i
        sqrt s
    else
        let e = Math.ILogB big
        let mutable s = 0.0
        for i in 0 .. count - 1 do
            let y = Math.ScaleB(x i, -e)
            s <- s + y * y
        Math.ScaleB(sqrt s, e)

/// Frobenius norm of the difference of two equal-length blocks (the scaled sum when the plain one overflows).
let frobeniusDiff (a: float[]) (oa: int) (b: float[]) (ob: int) (count: int) : float =
    let mutable s = 0.0
    for i in 0 .. count - 1 do
        let x = a.[oa + i] - b.[ob + i]
        s <- s + x * x
    if Double.IsPositiveInfinity s then scaledNorm (fun i -> a.[oa + i] - b.[ob + i]) count else sqrt s

/// ‖A‖_F as MathNet's managed provider forms `FrobeniusNorm` of a dense matrix: it multiplies A·Aᵀ and adds the
/// absolute values of the diagonal in row order from 0, and each diagonal entry is 0 + 1·Σ_l a_il·a_il, the products
/// of row i with itself summed from 0 in column order. This forms exactly those sums (the same operations in the same
/// order, hence the same bits) in rows·cols steps over the matrix's column-major storage, without the rows²·cols of the
/// product and its arrays.
let frobeniusNorm (a: Matrix<float>) : float =
    let rows, cols = a.RowCount, a.ColumnCount
    let data = match a.AsColumnMajorArray() with null -> a.ToColumnMajorArray() | arr -> arr
    let mutable normF = 0.0
    for i in 0 .. rows - 1 do
        let mutable s = 0.0
        for l in 0 .. cols - 1 do
            let x = data.[l * rows + i]
            s <- s + x * x
        normF <- normF + abs (0.0 + 1.0 * s)
    sqrt normF

/// Euclidean norm of a vector.
let norm (v: float[]) = sqrt (Array.sumBy (fun x -> x * x) v)

/// Euclidean norm as MathNet's dense `L2Norm` forms it: the fold acc ← Hypotenuse(acc, v_i) from 0, i in order,
/// with MathNet's own `SpecialFunctions.Hypotenuse` (the same calls in the same order, hence the same bits), in a
/// plain loop over the array rather than a LINQ fold over a Vector.
let hypotNorm (v: float[]) : float =
    let mutable acc = 0.0
    for x in v do acc <- MathNet.Numerics.SpecialFunctions.Hypotenuse(acc, x)
    acc

/// For n vectors (the columns of a matrix) their Euclidean norms, each sqrt of its sum of squares from zero in index
/// order (the bits of `norm`), and the Frobenius norm sqrt(Σ_i s_i) of the columns' sums of squares s_i added in column
/// order: the two results one pass over the entries reads (each s_i formed once).
let columnNormsAndFrobenius (cols: float[][]) : float[] * float =
    let norms = Array.zeroCreate cols.Length
    let mutable acc = 0.0
    for i in 0 .. cols.Length - 1 do
        let mutable sc = 0.0
        for x in cols.[i] do sc <- sc + x * x
        norms.[i] <- sqrt sc
        acc <- acc + sc
    norms, sqrt acc

/// Smallest eigenvalue of a symmetric matrix.
let lambdaMin (m: Matrix<float>) : float =
    ResOdeProofs.Numerics.Model.SpectralNorm.SmallestEigenvalue(m.ToRowMajorArray(), m.RowCount) // tridiagonal bisection, not a full EVD
