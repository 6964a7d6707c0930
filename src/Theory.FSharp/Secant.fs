/// Secant (mean-value) Jacobians of a residual layer and certified norms of their products
/// (docs/theorems/EulerError.md, "B.bound.secant").
///
/// For two states x, y of one layer h ↦ h + (1/L)V σ(W h), the difference of the images is exactly
///   (x − y) + (1/L)V[σ(Wx) − σ(Wy)] = J̃ (x − y),   J̃ = I + (1/L) V diag(D̃) W,
/// with D̃_j = (σ(a_j) − σ(b_j))/(a_j − b_j) (a = Wx, b = Wy; σ'(a_j) when a_j = b_j): a secant slope of σ,
/// which lies in σ'([a_j, b_j]) by the mean-value theorem. The functions below compute D̃ with a bound on
/// its floating-point error, and upper values of ‖J̃_L ⋯ J̃_{k+1}‖₂ that account for every rounding.
module ResOdeProofs.Theory.Secant

open System
open MathNet.Numerics.LinearAlgebra
open ResOdeProofs.Numerics

/// Unit roundoff of float64.
[<Literal>]
let U = 1.1102230246251565e-16

/// Assumed accuracy of the activation library: σ(u) and σ'(u) are evaluated with an absolute error of at most
/// 16u·(1 + |value|) (erf-, tanh- and log1p-based kernels are accurate to a few ulps).
let private evalErr (value: float) = 16.0 * U * (1.0 + abs value)

/// The secant slope of σ between a and b and a bound on |D̂ − D| for some mean-value slope D of σ on the
/// segment between the exact pre-activations, given a bound `preErr` on the rounding error of a and of b.
/// s2 = sup|σ''| (None for relu). Two formulas, the one with the smaller error bound is used:
/// the difference quotient (error (err σ(a) + err σ(b) + u|σ(a) − σ(b)|)/|a − b| + 3u|D̂|) and σ' at the midpoint
/// (error s2|a − b|/2 + err σ'). A rounding of a, b moves the exact slope by at most s2·preErr; for relu the
/// slope is exact (0 or 1) unless a or b is within preErr of the kink, where every slope in [0, 1] is possible.
let secantSlope (act: ActivationKind) (s2: float option) (preErr: float) (a: float) (b: float) : struct (float * float) =
    match act, s2 with
    | ActivationKind.Identity, _ -> struct (1.0, 0.0)
    | ActivationKind.Relu, _ ->
        if abs a <= preErr || abs b <= preErr then struct ((if a > 0.0 && b > 0.0 then 1.0 else 0.0), 1.0)
        elif a > 0.0 && b > 0.0 then struct (1.0, 0.0)
        elif a < 0.0 && b < 0.0 then struct (0.0, 0.0)
        else
            let q = (Activations.Value(act, a) - Activations.Value(act, b)) / (a - b)
            struct (q, 4.0 * U * (1.0 + abs q) + 2.0 * U * (abs a + abs b) / abs (a - b))
    | _, Some s2 ->
        let moved = s2 * preErr
        let mid = Activations.Derivative(act, 0.5 * (a + b))
        let midErr = s2 * abs (a - b) / 2.0 + evalErr mid + s2 * U * (abs a + abs b)
        if a = b then struct (mid, midErr + moved)
        else
            let sa, sb = Activations.Value(act, a), Activations.Value(act, b)
            let q = (sa - sb) / (a - b)
            let qErr = (evalErr sa + evalErr sb + U * abs (sa - sb)) / abs (a - b) + 3.0 * U * abs q
            if qErr <= midErr then struct (q, qErr + moved) else struct (mid, midErr + moved)
    | _, None -> invalidArg "s2" "a smooth activation needs its s2"

/// ‖A‖₂ of a small dense matrix by the Gram-matrix eigenvalue (`Linalg.spectralNorm`, relative error of order k·u
/// like a full SVD's, at a fraction of its cost: B.bound evaluates two per sample, layer and snapshot).
let private l2Norm (a: Matrix<float>) = Linalg.spectralNorm a.RowCount a.ColumnCount (a.ToRowMajorArray()) 0

/// Upper values π_k ≥ ‖J_L ⋯ J_{k+1}‖₂, k = 0..L (π_L = 1), of the exact secant Jacobians of one sample,
/// given the states x_{k−1} (ResNet) and y_{k−1} (the other trajectory) entering layer k = 1..L.
///
/// With Ĵ_k the computed secant Jacobian, E_k = J_k − Ĵ_k satisfies ‖E_k‖₂ ≤ η_k :=
/// (‖V_k‖₂‖W_k‖₂·max_j ε_j + (m + 2)u·s1‖V_k‖_F‖W_k‖_F)/L (ε_j the slope errors, the second term the rounding of
/// forming Ĵ_k). With n̄_j = ‖Ĵ_j‖₂(1 + 4du) and M̂_k the computed product (rounding of one d×d product ≤ 2du
/// relative to the product of the norms),
///   ‖J_L⋯J_{k+1}‖₂ ≤ ‖M̂_k‖₂(1 + 4du) + Π_{j>k}(n̄_j + η_j)(1 + 2du)^{L−k} − Π_{j>k} n̄_j =: π_k.
/// `weights k` returns (W_k m×d, V_k d×m, ‖W_k‖₂, ‖V_k‖₂) for 1-based k.
let propagationFactors (act: ActivationKind) (s1: float) (s2: float option) (depth: int) (width: int) (dim: int)
                       (weights: int -> Matrix<float> * Matrix<float> * float * float)
                       (x: int -> float[]) (y: int -> float[]) : float[] =
    let L, m, d = depth, width, dim
    let fL = float L
    let pi = Array.zeroCreate (L + 1)
    pi.[L] <- 1.0
    let mutable mhat = Matrix<float>.Build.DenseIdentity d
    let mutable prodPert, prodNorm = 1.0, 1.0
    for k in L .. -1 .. 1 do
        let w, v, wOp, vOp = weights k
        let xk, yk = x (k - 1), y (k - 1)
        let slopes = Array.zeroCreate m
        let mutable epsMax = 0.0
        for j in 0 .. m - 1 do
            let mutable a, b, abs1, abs2 = 0.0, 0.0, 0.0, 0.0
            for c in 0 .. d - 1 do
                let wj = w.[j, c]
                a <- a + wj * xk.[c]
                b <- b + wj * yk.[c]
                abs1 <- abs1 + abs (wj * xk.[c])
                abs2 <- abs2 + abs (wj * yk.[c])
            let preErr = float (d + 1) * U * max abs1 abs2
            let struct (q, e) = secantSlope act s2 preErr a b
            slopes.[j] <- q
            epsMax <- max epsMax e
        // Ĵ_k = I + (1/L) V diag(D̂) W
        let vd = Matrix<float>.Build.Dense(d, m, fun r j -> v.[r, j] * slopes.[j] / fL)
        let j = Matrix<float>.Build.DenseIdentity d + vd * w
        let eta = (vOp * wOp * epsMax + float (m + 2) * U * (s1 + epsMax) * v.FrobeniusNorm() * w.FrobeniusNorm()) / fL
        let nbar = l2Norm j * (1.0 + 4.0 * float d * U)
        mhat <- mhat * j
        prodPert <- prodPert * (nbar + eta)
        prodNorm <- prodNorm * nbar
        let steps = float (L - k + 1)
        pi.[k - 1] <- l2Norm mhat * (1.0 + 4.0 * float d * U) + prodPert * Math.Pow(1.0 + 2.0 * float d * U, steps) - prodNorm
    pi
