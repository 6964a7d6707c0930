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

/// An upper value of ‖M‖₂ of a row-major block (certified in floating point: `SpectralNorm.UpperOfBlock`), for the bounds
/// that multiply by a norm; `spectralNorm` is an estimate that may lie an order k·u below it.
let spectralUpper (rows: int) (cols: int) (data: float[]) (offset: int) : float =
    ResOdeProofs.Numerics.Model.SpectralNorm.UpperOfBlock(rows, cols, data, offset)

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

/// The sum of squares of a segment from zero in index order (one product and one sum a term).
let private sumSquares (v: ArraySegment<float>) =
    let a, o = nonNull v.Array, v.Offset
    let mutable s = 0.0
    for i in 0 .. v.Count - 1 do s <- s + a.[o + i] * a.[o + i]
    s

/// Euclidean norm of a row of a reference pass' states or adjoints (`Layerwise.H`, `Layerwise.P`: a segment of one array),
/// or of any segment: sqrt of its squares summed from zero in index order.
let normOf (v: ArraySegment<float>) = sqrt (sumSquares v)

/// Euclidean norm of a vector (`normOf` of the whole array: the same sum, so the same bits as the sum by `Array.sumBy`
/// it was formed with before).
let norm (v: float[]) = normOf (ArraySegment v)

/// A row of a reference pass' states or adjoints (`Layerwise.H`, `.P`) as a span, for a kernel that reads spans.
let spanOf (v: ArraySegment<float>) = ReadOnlySpan<float>(nonNull v.Array, v.Offset, v.Count)

/// Euclidean norm as MathNet's dense `L2Norm` forms it: the fold acc ← Hypotenuse(acc, v_i) from 0, i in order,
/// with MathNet's own `SpecialFunctions.Hypotenuse` (the same calls in the same order, hence the same bits), in a
/// plain loop over the array rather than a LINQ fold over a Vector.
let hypotNorm (v: float[]) : float =
    let mutable acc = 0.0
    for x in v do acc <- MathNet.Numerics.SpecialFunctions.Hypotenuse(acc, x)
    acc

/// For n vectors (the columns of a matrix, column i from `col i`) their Euclidean norms, each sqrt of its sum of squares
/// from zero in index order (the bits of `normOf`), and the Frobenius norm sqrt(Σ_i s_i) of the columns' sums of squares s_i
/// added in column order: the two results one pass over the entries reads (each s_i formed once).
let private normsAndFrobenius (count: int) (col: int -> ArraySegment<float>) : float[] * float =
    let norms = Array.zeroCreate count
    let mutable acc = 0.0
    for i in 0 .. count - 1 do
        let sc = sumSquares (col i)
        norms.[i] <- sqrt sc
        acc <- acc + sc
    norms, sqrt acc

/// `normsAndFrobenius` of the columns given as arrays.
let columnNormsAndFrobenius (cols: float[][]) : float[] * float = normsAndFrobenius cols.Length (fun i -> ArraySegment(cols.[i]))

/// `normsAndFrobenius` of the n rows of one layer of a reference pass' states or adjoints (`Layerwise.H`, `.P`), each row
/// a column.
let columnNormsAndFrobeniusOf (rows: ResOdeProofs.Numerics.Model.LayerRows) : float[] * float = normsAndFrobenius rows.Length (fun i -> rows.[i])

/// Smallest eigenvalue of a symmetric matrix.
let lambdaMin (m: Matrix<float>) : float =
    ResOdeProofs.Numerics.Model.SpectralNorm.SmallestEigenvalue(m.ToRowMajorArray(), m.RowCount) // tridiagonal bisection, not a full EVD

/// Whether the Cholesky factorization of the symmetric n×n matrix B − sI (B as stored, row-major, its diagonal shifted in
/// float64) runs to completion in float64 by the standard algorithm, and then ‖R̂‖_F² of the computed factor (an upper
/// bound: its float64 sum raised by 1 + γ of its terms' count).
let private choleskyShifted (b: float[]) (n: int) (s: float) : float option =
    let u = Math.ScaleB(1.0, -53)
    let r = Array.zeroCreate<float> (n * n)
    let mutable ok = true
    let mutable j = 0
    while ok && j < n do
        let mutable piv = b.[j * n + j] - s
        for k in 0 .. j - 1 do piv <- piv - r.[k * n + j] * r.[k * n + j]
        if not (piv > 0.0) then ok <- false
        else
            let rjj = sqrt piv
            r.[j * n + j] <- rjj
            for i in j + 1 .. n - 1 do
                let mutable t = b.[j * n + i]
                for k in 0 .. j - 1 do t <- t - r.[k * n + j] * r.[k * n + i]
                r.[j * n + i] <- t / rjj
            j <- j + 1
    if not ok then None
    else
        let mutable f = 0.0
        for x in r do f <- f + x * x
        let terms = float (n * n + 2)
        Some(f * (1.0 + terms * u / (1.0 - terms * u)))

/// A certified lower bound of λ_min(B) for the symmetric n×n matrix B exactly as stored (row-major); None when no shift
/// tried certifies one. With the scale c = max(Σ_i|b_ii|, ‖B‖_F) (‖B‖_F ≥ every |λ|), from the estimate λ̂ (at most c) down:
/// s = λ̂ − δ with δ = 4γ_{n+1}·c doubling while s ≥ −2c (at most 64 shifts); the first s whose Cholesky factorization of
/// B − sI runs to completion in float64 certifies, by Higham (Accuracy and Stability of Numerical Algorithms, 2nd ed., Thm 10.3: the
/// computed factor satisfies R̂ᵀR̂ = (B − sI + E) + ΔB with |ΔB| ≤ γ_{n+1}|R̂ᵀ||R̂|, E the diagonal's shift rounding,
/// |E_ii| ≤ u|b_ii − s|; R̂ᵀR̂ ⪰ 0 and ‖|R̂ᵀ||R̂|‖₂ ≤ ‖R̂‖_F²),
///   λ_min(B) ≥ s − γ_{n+1}‖R̂‖_F² − u·max_i|b_ii − s|,
/// whatever the eigensolver that gave λ̂ did (its backward-error constant is then no assumption).
let lambdaMinLower (b: float[]) (n: int) (estimate: float) : float option =
    let u = Math.ScaleB(1.0, -53)
    let gamma k = float k * u / (1.0 - float k * u)
    let mutable trAbs = 0.0
    for i in 0 .. n - 1 do trAbs <- trAbs + abs b.[i * n + i]
    let scale = max trAbs (frobenius b 0 (n * n))
    if n = 0 || not (Double.IsFinite estimate) || not (Double.IsFinite scale) || scale = 0.0 then None
    else
        let estimate = min estimate scale
        // (at least a few subnormal spacings, so that the shifts move where 4γ·c underflows)
        let mutable delta = max (4.0 * gamma (n + 1) * scale) (float (8 * n * (n + 2)) * Double.Epsilon)
        let mutable result = None
        let mutable tries = 0
        while result.IsNone && tries < 64 && estimate - delta >= -2.0 * scale do
            let s = estimate - delta
            match choleskyShifted b n s with
            | Some f ->
                let mutable shiftErr = 0.0
                for i in 0 .. n - 1 do shiftErr <- max shiftErr (abs (b.[i * n + i] - s))
                // the subtractions' own rounding taken downwards, and underflow: Higham's bound assumes none, while a product or
                // quotient below the smallest normal number carries up to the subnormal spacing η absolute (§2.1), n + 2 such
                // operations for an entry of R̂ᵀR̂ and the shift's one, so ‖ΔB‖₂ gains at most 2n(n + 2)η (a referee certified a
                // singular matrix of entries near 10⁻³¹⁹ without it)
                let underflow = float (2 * n * (n + 2)) * Double.Epsilon
                let lo = s - gamma (n + 1) * f * (1.0 + 4.0 * u) - u * shiftErr * (1.0 + 2.0 * u) - underflow
                result <- Some(lo - 4.0 * u * abs lo)
            | None -> ()
            delta <- 2.0 * delta
            tries <- tries + 1
        result

/// A certified lower value of the smallest singular value σ_r of a rows×cols row-major block B of full rank
/// r = min(rows, cols) (then σ₊(B) = σ_r), 0.0 when none is certified (B numerically rank-deficient, or an entry not
/// finite). Ĝ, the r×r Gram matrix of the shorter side (each entry the k = max(rows, cols) products summed from zero in
/// order, exactly symmetric), satisfies |Ĝ − G| ≤ γ_k|B||B|ᵀ entrywise (Higham 2002, §3.1), so
/// ‖Ĝ − G‖₂ ≤ γ_k‖B‖_F² ≤ γ_k·tr Ĝ/(1 − γ_k) =: e (the diagonal sums squares); `lambdaMinLower` bounds λ_min(Ĝ) from
/// below by a Cholesky factorization, lo; so σ_r² = λ_min(G) ≥ lo − e (Weyl). The computed e is raised by 1 + 16u (its
/// few roundings of positive numbers), and fl(√fl(lo − e))·(1 − 4u) is below √(lo − e) (the subtraction and the root
/// raise by at most 1 + u each, the product by the lowered 1 − 4u rounds up by at most 1 + u).
/// (docs/theorems/PolyakLojasiewicz.md, "σ₊(B) certified".)
let smallestSingularLower (rows: int) (cols: int) (b: float[]) : float =
    let u = Math.ScaleB(1.0, -53)
    if rows = 0 || cols = 0 || not (Array.forall Double.IsFinite b) then 0.0
    else
        let r, k = min rows cols, max rows cols
        let at i j = if rows <= cols then b.[i * cols + j] else b.[j * cols + i] // B (or Bᵀ) as r×k
        let g = Array.zeroCreate (r * r)
        for a in 0 .. r - 1 do
            for c in 0 .. r - 1 do
                let mutable s = 0.0
                for t in 0 .. k - 1 do s <- s + at a t * at c t
                g.[a * r + c] <- s
        let mutable tr = 0.0
        for a in 0 .. r - 1 do tr <- tr + g.[a * r + a]
        let gk = float k * u / (1.0 - float k * u)
        let e = gk * tr / (1.0 - gk) * (1.0 + 16.0 * u)
        let estimate = lambdaMin (Matrix<float>.Build.Dense(r, r, fun i j -> g.[i * r + j]))
        match lambdaMinLower g r estimate with
        | Some lo when lo - e > 0.0 && Double.IsFinite tr -> sqrt (lo - e) * (1.0 - 4.0 * u)
        | _ -> 0.0
