/// Observed orders of convergence over a ladder of depths: least-squares fits of log(error) against log(L)
/// with 95% confidence intervals, and the project's rule for "the error decreases at least like 1/L".
module ResOdeProofs.Theory.Rate

open MathNet.Numerics.Distributions
open MathNet.Numerics.LinearAlgebra

/// A fitted order: err ≈ C·L^(−p). (Lower, Upper) is the 95% interval of p.
type ObservedOrder =
    { Depths: int list
      Errors: float list
      /// p̂
      Order: float
      /// 95% interval p̂ ∓ t_{0.975, N−k}·se(p̂) (k fitted parameters; infinite when N = k), widened by the
      /// propagated uncertainty of the errors
      Lower: float
      Upper: float }

/// The claimed order: errors O(1/L).
[<Literal>]
let ClaimedOrder = 1.0

/// Fits log err = a − p log L (+ c/L when withCorrection) by least squares: p̂ from β = (XᵀX)⁻¹Xᵀy, se(p̂) from
/// (XᵀX)⁻¹·RSS/(N − k), 95% interval with Student's t on N − k degrees of freedom (infinite when none is left),
/// widened on both sides by Σ_i |w_i| ε_i/e_i, where ε_i is an absolute uncertainty of e_i (e.g. a reference's
/// own error) and w the row of (XᵀX)⁻¹Xᵀ that gives p̂ (ε_i moves log e_i by at most ε_i/e_i to first order).
let private regress (withCorrection: bool) (depths: int list) (errors: float list) (perturbation: float list) : ObservedOrder =
    let n = depths.Length
    let k = if withCorrection then 3 else 2
    let x =
        Matrix<float>.Build.Dense(n, k, fun i j ->
            let l = float depths.[i]
            match j with
            | 0 -> 1.0
            | 1 -> -(log l)
            | _ -> 1.0 / l)
    let y = Vector<float>.Build.DenseOfEnumerable(errors |> List.map log)
    let xtxInv = (x.TransposeThisAndMultiply x).Inverse()
    let beta = xtxInv * (x.TransposeThisAndMultiply y)
    let p = beta.[1]
    let half =
        if n <= k then infinity
        else
            let r = y - x * beta
            let s2 = (r * r) / float (n - k)
            StudentT.InvCDF(0.0, 1.0, float (n - k), 0.975) * sqrt (s2 * xtxInv.[1, 1])
    let w = (xtxInv * x.Transpose()).Row 1
    let shift = List.mapi (fun i (e, eps) -> abs w.[i] * eps / e) (List.zip errors perturbation) |> List.sum
    { Depths = depths; Errors = errors; Order = p; Lower = p - half - shift; Upper = p + half + shift }

let private zeros (errors: float list) = errors |> List.map (fun _ -> 0.0)

/// The plain log-log slope, log err = a − p log L, with uncertainties ε_i of the errors.
let fitWithUncertainty depths errors perturbation = regress false depths errors perturbation

/// The plain log-log slope.
let fit (depths: int list) (errors: float list) = regress false depths errors (zeros errors)

/// log err = a − p log L + c/L: the order with the first correction term of the expansion
/// err = (C/L^p)(1 + c₁/L + …) (log(1 + c₁/L) = c₁/L + O(1/L²)). A plain slope over a ladder that starts at small L
/// is biased by the c₁/L term, and since that bias is deterministic the plain fit's interval can be narrow and
/// exclude the true order; the correction term removes the bias at the price of one degree of freedom.
let fitWithCorrectionAndUncertainty depths errors perturbation = regress true depths errors perturbation

/// fitWithCorrectionAndUncertainty without uncertainties.
let fitWithCorrection (depths: int list) (errors: float list) = regress true depths errors (zeros errors)

/// "The error decreases at least like 1/L" is not rejected at the 95% level by a fit: the upper end of its
/// interval is at least 1 (the interval contains 1, or lies above it), up to float64 rounding of the fitted
/// order (1e-9: a ratio of sums of a few logarithms computed in double). No other allowance.
let consistentWithFirstOrder (o: ObservedOrder) = o.Upper >= ClaimedOrder - 1e-9

/// The verdict rule of the rate results: the claim p ≥ 1 stands unless BOTH fits reject it — the plain slope
/// (biased low when the error approaches C/L from below, e.g. C/L − c/L²) and the fit with the c/L correction
/// (whose log(1 + c₁/L) ≈ c₁/L is poor when c₁/L is not small at the smallest depth, e.g. an error approaching
/// C/L from above like C/L + c/L² with a large c). Returns the verdict and the fit that decides (larger upper end).
let decide (plain: ObservedOrder) (corrected: ObservedOrder) =
    let best = if plain.Upper >= corrected.Upper then plain else corrected
    consistentWithFirstOrder best, best

/// One line for notes: "order 1.02, 95% interval [0.97, 1.07], over L = 4, 8, 16, 32 (errors ...)".
let describe (o: ObservedOrder) =
    sprintf "order %.3f, 95%% interval [%.3f, %.3f], over L = %s (errors %s)" o.Order o.Lower o.Upper
        (o.Depths |> List.map string |> String.concat ", ")
        (o.Errors |> List.map (sprintf "%.3e") |> String.concat ", ")
