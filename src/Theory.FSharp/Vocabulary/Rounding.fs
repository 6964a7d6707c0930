/// Rounding is part of the statement: the unit roundoff of a run's recorded precision and the allowances derived
/// from it that a bound compared with that run carries (docs/theorems/RunIntegrity.md, "Rounding allowances").
module ResOdeProofs.Theory.Rounding

open ResOdeProofs.Theory

/// Unit roundoff of float64, u = 2^-53: the one definition every float64 error bound of the theory layer uses.
[<Literal>]
let Float64UnitRoundoff = 1.1102230246251565e-16

/// Unit roundoff of float32, u = 2^-24.
[<Literal>]
let Float32UnitRoundoff = 5.960464477539063e-8

/// True when the engine computed and stored the run in float32 (run.json "precision").
let isFloat32 (run: Run) = run.Data.Meta.Precision = "float32"

/// Unit roundoff of the engine's precision: 2^-53 (float64) or 2^-24 (float32).
let unitRoundoff (run: Run) = if isFloat32 run then Float32UnitRoundoff else Float64UnitRoundoff

/// Relative tolerance for a quantity that the engine and the reference (`Layerwise`, double) compute in
/// different orders: τ = max(floor, 4·L·(m + d)·u), floor 1e-9 in float64 (the comparison kernel's
/// `Comparison.roundingRel`) and 1e-4 in float32. Each hidden state
/// passes through L blocks of inner products of length m and d, each contributing a relative error ≤ (m + d)·u
/// (first order); the factor 4 covers the amplification by Π(1 + κ_k/L) ≤ e^κ for κ ≤ 1.4 and the loss' squares.
let tolerance (run: Run) =
    let st = run.Setting
    let floor = if isFloat32 run then 1e-4 else Comparison.roundingRel
    max floor (4.0 * float st.Depth * float (st.Width + st.Dim) * unitRoundoff run)

/// The rounding of one gradient-descent update Z^{j+1} = fl(Z^j − η·Ĝ^j) seen by the depth increments
/// Δ_k = Z_{k+1} − Z_k, for the W part and the V part: storing each layer in the recorded precision moves it by at
/// most u·‖Z_k^{j+1}‖_F (so a difference of two layers by 2u·max_k‖Z_k^{j+1}‖_F), and the computed gradient differs
/// from the exact one by at most τ·‖G_k‖_F per layer (so η(Ĝ_{k+1} − Ĝ_k) from η(G_{k+1} − G_k) by 2τ·max_k η‖G_k‖,
/// at most 2τ·step_max). The allowance added to the recursion at update j is therefore
///   (2u·fro_W(j + 1) + 2τ·step(j),  2u·fro_V(j + 1) + 2τ·step(j)),
/// fro_W, fro_V upper bounds of max_k ‖W_k‖_F, max_k ‖V_k‖_F after the update and step an upper bound of the update's
/// largest layer norm.
let updateAllowance (run: Run) (froW: float) (froV: float) (step: float) =
    let u, tau = unitRoundoff run, tolerance run
    2.0 * u * froW + 2.0 * tau * step, 2.0 * u * froV + 2.0 * tau * step

/// The rounding of a measured depth increment max_k ‖Z_{k+1} − Z_k‖_F that the engine computed from weights stored in
/// the recorded precision: τ relative, plus 4u·max_k‖Z_k‖_F absolute (the same allowance as I.trace).
let incrementMeasurement (run: Run) (measured: float) (froZ: float) =
    tolerance run * measured + 4.0 * unitRoundoff run * froZ

/// The rounding of storing one gradient-descent update Z^{j+1} = fl(Z^j − η·Ĝ^j) alone, with Ĝ the gradient as the
/// engine computed it (a result that accounts for Ĝ's own rounding elsewhere, A.split.centre.segments): each entry moves by
/// at most u|Z^{j+1}| when stored and u·η|Ĝ| (times 1 + u) when the product is rounded before the sum, so a difference of
/// two layers by 2u·max_k‖Z_k^{j+1}‖_F + 2(1 + u)u·step per part:
///   (2u·fro_W(j + 1) + 2(1 + u)u·step(j),  2u·fro_V(j + 1) + 2(1 + u)u·step(j)),
/// fro and step as in `updateAllowance`.
let storeAllowance (run: Run) (froW: float) (froV: float) (step: float) =
    let u = unitRoundoff run
    2.0 * u * froW + 2.0 * (1.0 + u) * u * step, 2.0 * u * froV + 2.0 * (1.0 + u) * u * step

/// A factor 1 + γ_N, N = n·m + m·d + 16 (γ_N = Nu/(1 − Nu)), that raises a bound built from norms and sums computed in
/// the run's precision over at most N terms (Frobenius norms of layers and of n×m arrays, the few sums of a recursion
/// step) so that it bounds the exact expression: each such norm or sum is within γ_N of its exact value, relatively.
let normInflation (run: Run) =
    let st = run.Setting
    let u = unitRoundoff run
    let n = float (st.Samples * st.Width + st.Width * st.Dim + 16)
    1.0 + n * u / (1.0 - n * u)

/// γ_k = k·u/(1 − k·u) for a unit roundoff u: a quantity reached through k roundings, each a factor (1 + δ)
/// or (1 + δ)^{-1} with |δ| ≤ u, is within γ_k of its exact value relatively (products of such factors compound as
/// (1 + θ_j)(1 + θ_k) = 1 + θ_{j+k}, |θ_k| ≤ γ_k). +∞ when k·u ≥ 1 (no relative accuracy left).
let gammaAt (u: float) (k: int) =
    let ku = float k * u
    if ku < 1.0 then ku / (1.0 - ku) else infinity

/// γ_k for the run's precision (`gammaAt` with the run's unit roundoff).
let gamma (run: Run) (k: int) = gammaAt (unitRoundoff run) k

/// γ_k in float64, for computations the verifier does itself in float64 whatever the run's precision.
let gamma64 (k: int) = gammaAt Float64UnitRoundoff k

/// The relative accuracy of a loss ℓ = (1/n) Σ_{i,c} r_{ic}² evaluated in the run's precision from its n·d_out
/// residual entries: n·d_out squares (one rounding each), their sum (n·d_out − 1 additions of non-negative terms,
/// each partial sum one rounding) and the division by n (one rounding): n·d_out + 1 roundings on every path, γ_{n·d_out+1}
/// (docs/theorems/PolyakLojasiewicz.md, "Rounding of the losses and trace quantities").
let lossRel (run: Run) =
    gamma run (run.Setting.Samples * run.Data.Data.OutputDim + 1)

/// The relative accuracy of the trace ratio r = Σ_k‖G_k‖_F²/(L·ℓ) (the pl_ratio column) evaluated in the run's
/// precision from the L·P gradient entries and the n·d_out residual entries: the numerator is L·P squares summed (L·P
/// roundings), ℓ is γ_{n·d_out+1} (`lossRel`), the product L·ℓ and the quotient two more: γ_{L·P + n·d_out + 3}. It is
/// at least `lossRel`, so it also covers a loss: the one relative allowance of the C.* comparisons that read losses and
/// trace quantities (it replaces the former fixed 1e-9, which was not derived).
let traceRel (run: Run) =
    gamma run (run.Setting.Depth * run.ParameterCount + run.Setting.Samples * run.Data.Data.OutputDim + 3)
