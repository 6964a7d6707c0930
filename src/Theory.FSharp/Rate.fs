/// Observed orders of convergence over a ladder of depths: the least-squares slope of log(error)
/// against log(L) with its 95% confidence interval, and the project's rule for "consistent with order 1".
module ResOdeProofs.Theory.Rate

open MathNet.Numerics.Distributions

/// A fitted order: err ≈ C·L^(−p). Order = −slope; (Lower, Upper) is the 95% interval of p.
type ObservedOrder =
    { Depths: int list
      Errors: float list
      /// p̂ = −β̂, β̂ the least-squares slope of log err on log L
      Order: float
      /// 95% interval p̂ ∓ t_{0.975, N−2}·se(β̂) (infinite when N = 2: no residual degrees of freedom)
      Lower: float
      Upper: float }

/// Fits log err = a − p log L + c/L by least squares: the order p with the first correction term of the
/// asymptotic expansion err = (C/L^p)(1 + c₁/L + …) (log(1 + c₁/L) = c₁/L + O(1/L²)). A plain log-log slope
/// over a ladder that starts at small L is biased by the c₁/L term, and since that bias is deterministic the
/// plain fit's interval can be narrow and exclude the true order; the correction term removes the bias at the
/// price of one degree of freedom. 95% interval: p̂ ∓ t_{0.975, N−3}·se(p̂), se from (XᵀX)⁻¹·RSS/(N−3);
/// infinite when N = 3.
/// perturbation: absolute uncertainty ε_i of each error e_i (e.g. the reference's own error). It moves log e_i by at
/// most ε_i/e_i (to first order), hence p̂ by at most Σ_i |w_i| ε_i/e_i with w the row of (XᵀX)⁻¹Xᵀ that gives p̂;
/// the interval is widened by that amount on both sides.
let fitWithCorrectionAndUncertainty (depths: int list) (errors: float list) (perturbation: float list) : ObservedOrder =
    let n = depths.Length
    let x = MathNet.Numerics.LinearAlgebra.Matrix<float>.Build.Dense(n, 3, fun i j ->
        let l = float depths.[i]
        match j with
        | 0 -> 1.0
        | 1 -> -(log l)
        | _ -> 1.0 / l)
    let y = MathNet.Numerics.LinearAlgebra.Vector<float>.Build.DenseOfEnumerable(errors |> List.map log)
    let xtxInv = (x.TransposeThisAndMultiply x).Inverse()
    let beta = xtxInv * (x.TransposeThisAndMultiply y)
    let p = beta.[1]
    let half =
        if n <= 3 then infinity
        else
            let r = y - x * beta
            let s2 = (r * r) / float (n - 3)
            StudentT.InvCDF(0.0, 1.0, float (n - 3), 0.975) * sqrt (s2 * xtxInv.[1, 1])
    let w = (xtxInv * x.Transpose()).Row 1
    let shift = List.mapi (fun i (e, eps) -> abs w.[i] * eps / e) (List.zip errors perturbation) |> List.sum
    { Depths = depths; Errors = errors; Order = p; Lower = p - half - shift; Upper = p + half + shift }

/// fitWithCorrectionAndUncertainty without perturbation.
let fitWithCorrection (depths: int list) (errors: float list) : ObservedOrder =
    fitWithCorrectionAndUncertainty depths errors (errors |> List.map (fun _ -> 0.0))

/// The claimed order: errors O(1/L).
[<Literal>]
let ClaimedOrder = 1.0

/// Fits log err = a + β log L by least squares: p̂ = −β̂, se(β̂) = √(RSS/(N−2) / Σ(x − x̄)²), 95% interval
/// with Student's t on N − 2 degrees of freedom. Errors must be positive.
let fit (depths: int list) (errors: float list) : ObservedOrder =
    let x = depths |> List.map (float >> log) |> Array.ofList
    let y = errors |> List.map log |> Array.ofList
    let n = x.Length
    let mx, my = Array.average x, Array.average y
    let sxx = Array.sumBy (fun a -> (a - mx) * (a - mx)) x
    let beta = (Array.map2 (fun a b -> (a - mx) * (b - my)) x y |> Array.sum) / sxx
    let alpha = my - beta * mx
    let half =
        if n <= 2 then infinity
        else
            let rss = Array.map2 (fun a b -> let r = b - alpha - beta * a in r * r) x y |> Array.sum
            let se = sqrt (rss / float (n - 2) / sxx)
            StudentT.InvCDF(0.0, 1.0, float (n - 2), 0.975) * se
    { Depths = depths; Errors = errors; Order = -beta; Lower = -beta - half; Upper = -beta + half }

/// The rule for "the error decreases at least like 1/L": the claim p ≥ 1 is not rejected at the 95% level,
/// i.e. the upper end of the interval of p is at least 1 (the interval contains 1, or lies above it). Applied to
/// fitWithCorrection, whose c₁/L term absorbs the pre-asymptotic bias: no further allowance is added.
/// The comparison allows float64 rounding of the fitted order (1e-9: the order is a ratio of sums of a few
/// logarithms computed in double).
let consistentWithFirstOrder (o: ObservedOrder) = o.Upper >= ClaimedOrder - 1e-9

/// One line for notes: "order 1.02 [0.97, 1.07] over L = 4, 8, 16, 32 (errors ...)".
let describe (o: ObservedOrder) =
    sprintf "order %.3f, 95%% interval [%.3f, %.3f], over L = %s (errors %s)" o.Order o.Lower o.Upper
        (o.Depths |> List.map string |> String.concat ", ")
        (o.Errors |> List.map (sprintf "%.3e") |> String.concat ", ")
