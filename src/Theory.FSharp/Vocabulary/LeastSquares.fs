/// Ordinary least squares with Student-t confidence intervals: the one fit behind every observed slope and order
/// (the rate results' log-log orders in `Rate`, A.rate's slope, the report's slopes).
module ResOdeProofs.Theory.LeastSquares

open MathNet.Numerics.Distributions
open MathNet.Numerics.LinearAlgebra

/// A fit y ≈ Xβ of N observations with k coefficients.
type Fit =
    { /// β = (XᵀX)⁻¹Xᵀy
      Coefficients: float[]
      /// 95% half-width of each coefficient, t_{0.975, N−k}·(s²·[(XᵀX)⁻¹]_jj)^{1/2} with s² = RSS/(N − k);
      /// +∞ when N ≤ k (no degree of freedom left for the residual)
      HalfWidths: float[]
      /// the rows of (XᵀX)⁻¹Xᵀ: coefficient j moves by Σ_i Weights[j][i]·δ_i when y_i moves by δ_i
      Weights: float[][]
      Points: int }

/// The least-squares fit of y on the columns of X (rows: observations; every row as long as there are coefficients).
let regress (rows: float[][]) (y: float[]) : Fit =
    let n, k = rows.Length, rows.[0].Length
    let x = Matrix<float>.Build.Dense(n, k, fun i j -> rows.[i].[j])
    let yv = Vector<float>.Build.DenseOfArray y
    let xtxInv = (x.TransposeThisAndMultiply x).Inverse()
    let beta = xtxInv * (x.TransposeThisAndMultiply yv)
    let half =
        if n <= k then Array.create k infinity
        else
            let r = yv - x * beta
            let s2 = (r * r) / float (n - k)
            let t = StudentT.InvCDF(0.0, 1.0, float (n - k), 0.975)
            Array.init k (fun j -> t * sqrt (s2 * xtxInv.[j, j]))
    let w = xtxInv * x.Transpose()
    { Coefficients = beta.ToArray(); HalfWidths = half; Weights = Array.init k (fun j -> w.Row(j).ToArray()); Points = n }

/// A straight line y ≈ a + b·x with the 95% half-width of the slope b.
type Line =
    { Slope: float
      Intercept: float
      /// t_{0.975, N−2}·se(b); +∞ with two points
      HalfWidth: float
      Points: int }

/// The least-squares line through (x_i, y_i), i.e. `regress` with the columns (1, x).
let line (xs: float[]) (ys: float[]) : Line =
    let f = regress (xs |> Array.map (fun x -> [| 1.0; x |])) ys
    { Slope = f.Coefficients.[1]; Intercept = f.Coefficients.[0]; HalfWidth = f.HalfWidths.[1]; Points = f.Points }
