/// B.bound.secant's propagation factors π_k (`Secant.propagationFactors`) formed again with MathNet's matrix products and
/// its SVD, for the tests that compare the flat loops with them (SharperBoundsProperties, PropagationNormTests).
module ResOdeProofs.Properties.PropagationOracle

open System
open MathNet.Numerics.LinearAlgebra
open ResOdeProofs.Numerics
open ResOdeProofs.Theory

let private u = Secant.U

/// π_k by the formula with MathNet's products and SVD; n̄_k the computed norm ‖Ĵ_k‖₂(1 + 4du) or the worst case
/// 1 + s1‖V_k‖₂‖W_k‖₂(1 + 10du)/L + η_k. Returns π and, per k, the allowance for the order of the sums and the SVD
/// (as in SharperBoundsProperties: 4(L − k + 1)(m + 4d + 2)u times the magnitudes of π_k's two parts).
let factors (act: ActivationKind) (s1: float) (s2: float option) L m d (w: float[]) (v: float[])
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

/// The factors with n̄ chosen by `Secant.propagationFactors`' rule, decided on the oracle's own numbers: the worst case
/// unless its correction exceeds `Secant.CorrectionShare` of ‖M̂_k‖₂(1 + 4du) at some k, then the computed norms.
/// Returns π, the allowances, and whether the computed norms were chosen.
let chosen act s1 s2 L m d w v norms fro xs ys =
    let worst, aw = factors act s1 s2 L m d w v norms fro xs ys false
    let computed, ac = factors act s1 s2 L m d w v norms fro xs ys true
    // the worst-case correction at k is π_k minus ‖M̂_k‖₂(1 + 4du), and the computed-norm correction is ≥ 0 and far
    // smaller: the share is exceeded where the two factors differ by more than it (up to the allowances)
    let exceeded = Array.init L (fun k -> worst.[k] - computed.[k] > Secant.CorrectionShare * computed.[k] + aw.[k] + ac.[k]) |> Array.exists id
    if exceeded then computed, ac, true else worst, aw, false

/// A random layer stack (entries uniform in ±scale·2/√fan-in) and two trajectories 10⁻² apart, equal at every
/// `zeroEvery`-th layer when it is positive (segments of zero length: the tangent slope); with the layers' spectral norms
/// and ‖V_k‖_F‖W_k‖_F as `Secant.propagationFactors` takes them.
let randomLayers (seed: int) (L: int) (m: int) (d: int) (scale: float) (zeroEvery: int) =
    let rnd = Random seed
    let g (a: float) = (rnd.NextDouble() * 2.0 - 1.0) * a
    let w = Array.init (L * m * d) (fun _ -> g (scale * 2.0 / sqrt (float d)))
    let v = Array.init (L * m * d) (fun _ -> g (scale * 2.0 / sqrt (float m)))
    let xs = Array.init (L + 1) (fun _ -> Array.init d (fun _ -> g 2.0))
    let ys = Array.init (L + 1) (fun k -> if zeroEvery > 0 && k % zeroEvery = 0 then Array.copy xs.[k] else xs.[k] |> Array.map (fun t -> t + g 1e-2))
    let wOp = Array.init L (fun k -> Linalg.spectralNorm m d w (k * m * d))
    let vOp = Array.init L (fun k -> Linalg.spectralNorm d m v (k * m * d))
    let fro k = Linalg.frobenius v ((k - 1) * m * d) (m * d) * Linalg.frobenius w ((k - 1) * m * d) (m * d)
    w, v, xs, ys, (fun k -> struct (wOp.[k - 1], vOp.[k - 1])), fro

/// s1 = sup|σ'| and s2 = sup|σ''| (None for an activation that is not twice differentiable) over [−10³, 10³].
let activationConstants (act: ActivationKind) =
    let s1 = Activations.SupAbsDerivative(act, -1e3, 1e3)
    let s2 = if Activations.IsTwiceDifferentiable act then Some(Activations.SupAbsSecondDerivative(act, -1e3, 1e3)) else None
    s1, s2
