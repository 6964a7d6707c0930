/// B.bound.secant's propagation factors π_k (`Secant.propagationFactors`) need an upper value n̄_k ≥ ‖Ĵ_k‖₂ of every
/// computed secant Jacobian only in their correction Π(n̄_j + η_j)(1 + 2du)^{L−k} − Π n̄_j, which grows with each n̄_j.
/// They take the layer's worst case ν_k + η_k (no spectral norm of Ĵ_k), and the computed norms where the correction
/// this gives exceeds `Secant.CorrectionShare` of ‖M̂_k‖₂ (docs/theorems/EulerError.md, "Certified products").
/// Checked here against an oracle written with MathNet's products and SVD, in both choices of n̄:
/// on tame layers the factors are the worst-case oracle's and lie within the share above the computed-norm oracle's;
/// on layers whose worst case is far above their products (κ_k/L ≈ 4 per layer) they are the computed-norm oracle's,
/// where the worst case alone would have loosened them far beyond the share (the negative control of the choice).
module ResOdeProofs.Properties.PropagationNormTests

open System
open Xunit
open MathNet.Numerics.LinearAlgebra
open ResOdeProofs.Numerics
open ResOdeProofs.Theory

let private u = Secant.U

/// Random layers (entries uniform in ±scale·2/√fan-in) and two trajectories 10⁻² apart.
let private setting (seed: int) (L: int) (m: int) (d: int) (scale: float) =
    let rnd = Random seed
    let g (a: float) = (rnd.NextDouble() * 2.0 - 1.0) * a
    let w = Array.init (L * m * d) (fun _ -> g (scale * 2.0 / sqrt (float d)))
    let v = Array.init (L * m * d) (fun _ -> g (scale * 2.0 / sqrt (float m)))
    let xs = Array.init (L + 1) (fun _ -> Array.init d (fun _ -> g 2.0))
    let ys = xs |> Array.map (Array.map (fun t -> t + g 1e-2))
    let wOp = Array.init L (fun k -> Linalg.spectralNorm m d w (k * m * d))
    let vOp = Array.init L (fun k -> Linalg.spectralNorm d m v (k * m * d))
    let fro k = Linalg.frobenius v ((k - 1) * m * d) (m * d) * Linalg.frobenius w ((k - 1) * m * d) (m * d)
    w, v, xs, ys, (fun k -> struct (wOp.[k - 1], vOp.[k - 1])), fro

/// π_k by the formula with MathNet's products and SVD; n̄_k the computed norm ‖Ĵ_k‖₂(1 + 4du) or the worst case
/// 1 + s1‖V_k‖₂‖W_k‖₂(1 + 10du)/L + η_k. Returns π and, per k, the allowance for the order of the sums and the SVD
/// (as in SharperBoundsProperties: 4(L − k + 1)(m + 4d + 2)u times the magnitudes of π_k's two parts).
let private oracle (act: ActivationKind) (s1: float) (s2: float option) L m d (w: float[]) (v: float[])
                   (norms: int -> struct (float * float)) (fro: int -> float) (xs: float[][]) (ys: float[][]) (computedNorms: bool) =
    let md = m * d
    let pi = Array.create (L + 1) 1.0
    let allowed = Array.zeroCreate (L + 1)
    let mutable mhat = Matrix<float>.Build.DenseIdentity d
    let mutable prodPert, prodNorm = 1.0, 1.0
    for k in L .. -1 .. 1 do
        let wk = Linalg.matrix m d w ((k - 1) * md)
        let vk = Linalg.matrix d m v ((k - 1) * md)
        let struct (wOp, vOp) = norms k
        let xk, yk = xs.[k - 1], ys.[k - 1]
        let slopes, eps =
            Array.init m (fun j ->
                let a = Seq.sum (seq { for c in 0 .. d - 1 -> wk.[j, c] * xk.[c] })
                let b = Seq.sum (seq { for c in 0 .. d - 1 -> wk.[j, c] * yk.[c] })
                let abs1 = Seq.sum (seq { for c in 0 .. d - 1 -> abs (wk.[j, c] * xk.[c]) })
                let abs2 = Seq.sum (seq { for c in 0 .. d - 1 -> abs (wk.[j, c] * yk.[c]) })
                let struct (q, e) = Secant.secantSlope act s2 (float (d + 1) * u * max abs1 abs2) a b
                q, e)
            |> Array.unzip
        let vd = Matrix<float>.Build.Dense(d, m, fun r j -> vk.[r, j] * slopes.[j] / float L)
        let j = Matrix<float>.Build.DenseIdentity d + vd * wk
        let eta = (vOp * wOp * Array.max eps + float (m + 2) * u * (s1 + Array.max eps) * fro k) / float L
        let nbar =
            if computedNorms then j.L2Norm() * (1.0 + 4.0 * float d * u)
            else 1.0 + s1 * vOp * wOp * (1.0 + 10.0 * float d * u) / float L + eta
        mhat <- mhat * j
        prodPert <- prodPert * (nbar + eta)
        prodNorm <- prodNorm * nbar
        let steps = float (L - k + 1)
        let growth = Math.Pow(1.0 + 2.0 * float d * u, steps)
        let mnorm = mhat.L2Norm()
        pi.[k - 1] <- mnorm * (1.0 + 4.0 * float d * u) + prodPert * growth - prodNorm
        allowed.[k - 1] <- 4.0 * steps * float (m + 4 * d + 2) * u * (mnorm + 2.0 * prodPert * growth)
    pi, allowed

let private constants (act: ActivationKind) =
    let s1 = Activations.SupAbsDerivative(act, -1e3, 1e3)
    let s2 = if Activations.IsTwiceDifferentiable act then Some(Activations.SupAbsSecondDerivative(act, -1e3, 1e3)) else None
    s1, s2

let private factors act scale (seed, L, m, d) =
    let s1, s2 = constants act
    let w, v, xs, ys, norms, fro = setting seed L m d scale
    let got = Secant.propagationFactors act s1 s2 L m d w v norms fro (fun k -> xs.[k]) (fun k -> ys.[k])
    let worst, allowedWorst = oracle act s1 s2 L m d w v norms fro xs ys false
    let computed, allowedComputed = oracle act s1 s2 L m d w v norms fro xs ys true
    got, (worst, allowedWorst), (computed, allowedComputed)

[<Theory>]
[<InlineData(ActivationKind.Gelu)>]
[<InlineData(ActivationKind.Tanh)>]
[<InlineData(ActivationKind.Softplus)>]
// (relu's slopes are exact away from the kink: η_k is rounding only and both choices give corrections of that order, too
// close to tell apart here; it is among the wide layers below)
let ``Secant.propagationFactors: tame layers → the worst-case n̄ (the oracle's factors with it), within the share above the computed norms'`` (act: ActivationKind) =
    for case in [ 1, 12, 32, 16; 2, 20, 19, 5; 3, 8, 64, 16 ] do
        let got, (worst, aw), (computed, ac) = factors act 1.0 case
        let _, L, _, _ = case
        let mutable apart = false
        for k in 0 .. L - 1 do
            Assert.True(abs (got.[k] - worst.[k]) <= aw.[k],
                        sprintf "%A %A, k = %d: %.17g against the worst-case oracle %.17g (allowed %.3g)" act case k got.[k] worst.[k] aw.[k])
            Assert.True(got.[k] >= computed.[k] - ac.[k],
                        sprintf "%A %A, k = %d: %.17g below the computed-norm oracle %.17g" act case k got.[k] computed.[k])
            Assert.True(got.[k] - computed.[k] <= Secant.CorrectionShare * computed.[k] + ac.[k] + aw.[k],
                        sprintf "%A %A, k = %d: %.17g more than the share above the computed-norm oracle %.17g" act case k got.[k] computed.[k])
            if worst.[k] - computed.[k] > aw.[k] + ac.[k] then apart <- true
        // the two choices are told apart at some k: the comparison with the worst-case oracle is not blind
        Assert.True(apart, sprintf "%A %A: the two oracles agree within their allowances at every k" act case)

[<Theory>]
[<InlineData(ActivationKind.Gelu)>]
[<InlineData(ActivationKind.Tanh)>]
[<InlineData(ActivationKind.Relu)>]
let ``Secant.propagationFactors: layers whose worst case is far above their products → the computed norms (the worst case alone would exceed the share)`` (act: ActivationKind) =
    for case in [ 4, 24, 32, 16; 5, 16, 19, 5 ] do
        let got, (worst, _), (computed, ac) = factors act 6.0 case
        let _, L, _, _ = case
        let mutable needed = false
        for k in 0 .. L - 1 do
            Assert.True(abs (got.[k] - computed.[k]) <= ac.[k],
                        sprintf "%A %A, k = %d: %.17g against the computed-norm oracle %.17g (allowed %.3g)" act case k got.[k] computed.[k] ac.[k])
            if worst.[k] - computed.[k] > Secant.CorrectionShare * computed.[k] then needed <- true
        Assert.True(needed, sprintf "%A %A: the worst case stayed within the share (the setting does not test the choice)" act case)
