/// Small dense linear algebra the constants need (outside hot loops: MathNet is fine here).
module ResOdeProofs.Theory.Linalg

open MathNet.Numerics.LinearAlgebra

/// A rows×cols row-major block of a flat array as a MathNet matrix.
let matrix (rows: int) (cols: int) (data: float[]) (offset: int) : Matrix<float> =
    Matrix<float>.Build.Dense(rows, cols, fun r c -> data.[offset + r * cols + c])

/// Spectral norm ‖M‖₂ (largest singular value) of a row-major block.
let spectralNorm (rows: int) (cols: int) (data: float[]) (offset: int) : float =
    ResOdeProofs.Numerics.Model.SpectralNorm.OfBlock(rows, cols, data, offset) // Gram matrix + tridiagonal bisection, not a full SVD

/// Frobenius norm of a block.
let frobenius (data: float[]) (offset: int) (count: int) : float =
    let mutable s = 0.0
    for i in offset .. offset + count - 1 do s <- s + data.[i] * data.[i]
    sqrt s

/// Frobenius norm of the difference of two equal-length blocks.
let frobeniusDiff (a: float[]) (oa: int) (b: float[]) (ob: int) (count: int) : float =
    let mutable s = 0.0
    for i in 0 .. count - 1 do
        let x = a.[oa + i] - b.[ob + i]
        s <- s + x * x
    sqrt s

/// Euclidean norm of a vector.
let norm (v: float[]) = sqrt (Array.sumBy (fun x -> x * x) v)

/// Smallest eigenvalue of a symmetric matrix.
let lambdaMin (m: Matrix<float>) : float =
    ResOdeProofs.Numerics.Model.SpectralNorm.SmallestEigenvalue(m.ToRowMajorArray(), m.RowCount) // tridiagonal bisection, not a full EVD
