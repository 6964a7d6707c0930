/// Result B, the ResNet at fixed weights against the neural ODE of its layers, stated once for every architecture
/// (docs/theorems/EulerError.md, "One statement for every architecture"). Each statement of the family is written here
/// once: the a priori bound (the layer-wise recursion and its paper form), the bound propagated by the products of the
/// layers' Jacobians, and the observed order over a depth ladder, with one comparison of every sample against its bound.
/// An architecture supplies the ingredients: the reference solve, its constants κ_k, F_k and the variation of f across a
/// layer interval, and the Jacobians of the propagation. Any block supplies them from its declared constants and its
/// Forward/Backward (GenericResults.fs, GenericEuler.fs); the paper's MLP supplies sharper ones of its own
/// (EulerError.fs, Secant.fs: spectral norms per part, secant slopes between the two trajectories, a Taylor-model local
/// error, a Dormand–Prince reference). The rows carry the same ids on every architecture (B.bound, B.rate); the
/// propagated bound is one form with two linearizations, each its own id: B.bound.secant (the secant slopes between the
/// two trajectories, exact, which the MLP's elementwise σ gives) and B.bound.tangent (the tangent Jacobian at the
/// reference with a second-order remainder, which any block gives from its Backward and C_hh).
module ResOdeProofs.Theory.OdeLimit

open System
open ResOdeProofs.Theory
open ResOdeProofs.Theory.Comparison

// ---------------------------------------------------------------- the a priori bound, once

/// The local error bound of one layer interval I_k = [s_{k−1}, s_k]: τ_k = v_k/(2L) + κ_kF_k/(2L²), where
/// v_k ≥ L·sup_{s ∈ I_k}‖f(θ(s), ·) − f(θ_k, ·)‖/(L(s_k − s)) bounds the variation of the field across the interval (any
/// block: J_k‖θ_k − θ_{k−1}‖; the MLP: a^V_k S_k + s1‖V_k‖₂a^W_kH̄_k), κ_k ≥ ‖∂_hf(θ_k, ·)‖₂ and F_k ≥ ‖H'‖ on I_k.
let localError (L: float) (variation: float) (kappa: float) (speed: float) =
    variation / (2.0 * L) + kappa * speed / (2.0 * L * L)

/// One step of the a priori recursion of the error e_k = h_k − H(s_k): ‖e_k‖ ≤ (1 + κ_k/L)‖e_{k−1}‖ + τ_k.
let propagate (L: float) (kappa: float) (e: float) (tau: float) = (1.0 + kappa / L) * e + tau

/// The paper form of the a priori bound, with maxima over layers: E_L ≤ e^κ(Lip·K + κF)/(2L), where Lip·K bounds the
/// variation L·max_k v_k and Π(1 + κ_k/L) ≤ e^κ.
let paperForm (L: float) (kappa: float) (variation: float) (speed: float) =
    Portable.exp kappa * (variation + kappa * speed) / (2.0 * L)

/// Midpoint nodes of the quadrature of the weight-variation part of the local error in both Taylor models (the MLP's,
/// Secant.taylorLocalError, and any block's, GenericEuler): the rule's error is at most h³ sup|φ''|/(24N²).
[<Literal>]
let QuadratureNodes = 8

// ---------------------------------------------------------------- one comparison of every sample

/// The samples of one snapshot, labelled as the comparisons report it ("snapshot s, iteration j (t = …)").
type Snapshot<'s> = { When: string; Samples: 's[] }

/// The label of snapshot s of a run.
let snapshotLabel (run: Run) (s: int) = sprintf "snapshot %d, iteration %d (t = %g)" s run.Steps.[s] (run.Time s)

/// How the rows of one architecture compare a sample with a bound: the measured distance ‖h_L^i − H̃^i_L‖, the bound
/// as compared (the bound plus the integration error estimate of H̃_L, and for the MLP the rounding 10⁻¹²(1 + measured)
/// of h_L recomputed in double), the comparison kernel's relative rounding allowance, and whether the row reports the
/// bound before its allowances (the MLP's rows) or as compared (the blocks' rows).
type Comparing<'s> =
    { Sample: 's -> int
      Measured: 's -> float
      Compared: 's -> float -> float
      Rel: float
      ReportBare: bool }

/// Every sample of every snapshot against `boundOf` as compared (Comparison.evaluation: the worst comparison
/// decides, tightness over all of them, the series), with the snapshot index and the sample of the worst comparison.
let compareAll (c: Comparing<'s>) (boundOf: 's -> float) (snaps: Snapshot<'s>[]) : Evaluation * int * 's =
    let pairs = [| for si in 0 .. snaps.Length - 1 do for x in snaps.[si].Samples -> si, x |]
    let checks =
        pairs |> Array.map (fun (si, x) ->
            { Measured = c.Measured x; Bound = c.Compared x (boundOf x); Where = sprintf "sample i = %d" (c.Sample x); When = snaps.[si].When })
    let e = evaluation c.Rel checks [] []
    let _, w = worst c.Rel checks
    let si, x = match w with Some w -> pairs.[checks |> Array.findIndex (fun k -> obj.ReferenceEquals(k, w))] | None -> pairs.[0]
    // the row's bound is the one compared (so its measured/bound pair is its deciding comparison, in its series); with
    // ReportBare the bare bound of that sample is given beside it as a constant
    (if c.ReportBare then { e with Constants = e.Constants @ [ "bare bound at the deciding sample", boundOf x ] } else e), si, x

/// bound / measured of every sample of every snapshot that measured something.
let tightness (c: Comparing<'s>) (boundOf: 's -> float) (snaps: Snapshot<'s>[]) =
    [| for s in snaps do for x in s.Samples do if c.Measured x > 0.0 then yield boundOf x / c.Measured x |]

// ---------------------------------------------------------------- the statements, once

/// What names and describes an architecture's rows of result B; the statements themselves are written below once.
type Family =
    { Doc: string
      /// the architecture, as the titles name it ("" for the MLP: its rows are the paper's)
      Which: string
      /// the field f and where κ_k, F_k and the variation v_k come from
      Constants: string
      /// the reference solve and how its error enters
      Reference: string }

let private title (f: Family) (what: string) = if f.Which = "" then sprintf "ResNet vs neural ODE at fixed weights: %s" what else sprintf "ResNet vs neural ODE, %s: %s" f.Which what

/// The a priori bound (B.bound): the layer-wise recursion and its paper form.
let boundResult (f: Family) (hypotheses: (string * (Run -> HypothesisCheck)) list) (conclusion: Run -> Evaluation) : Result<Run> =
    { Id = "B.bound"
      Title = title f "first-order error bound"
      Source = sprintf "the paper's discretization argument (Marion et al., ICLR 2024, §3), derived here (%s)" f.Doc
      Provenance = ProvedHereEstimated "the reference solve's error"
      Doc = f.Doc
      Statement =
        "At every snapshot, with θ(s) the piecewise-linear interpolant of the layers (θ_k at s = k/L, constant on [0, 1/L]) and H the solution of "
        + "dH/ds = f(θ(s), H), H(0) = h_0, the ResNet h_k = h_{k−1} + (1/L) f(θ_k, h_{k−1}) (the scheme that takes the layer at the right end of "
        + "the interval and the state at the left) has the error ‖h_L^i − H^i(1)‖ ≤ E_L^i, E_k = (1 + κ_k/L)E_{k−1} + v_k/(2L) + κ_kF_k/(2L²), "
        + "which is at most e^κ(Lip·K + κF)/(2L) (paper form, maxima over layers); "
        + f.Constants + "; " + f.Reference + "."
      Hypotheses = hypotheses
      Conclusion = conclusion }

/// The bound propagated by the products of the layers' Jacobians (B.bound.secant, B.bound.tangent): the error
/// ẽ_k = h_k − H̃_k obeys ẽ_k = J_kẽ_{k−1} + r_k − τ̃_k, so ‖h_L − H̃_L‖ ≤ Σ_k π_k(τ̄_k + ‖r_k‖ bound), π_k ≥ ‖J_L⋯J_{k+1}‖₂.
/// `suffix` ends the row id and names the linearization ("secant", "tangent"), `named` names the Jacobians in the title, `jacobians` states them and
/// their remainder r_k.
let propagatedResult (f: Family) (suffix: string) (named: string) (jacobians: string) (hypotheses: (string * (Run -> HypothesisCheck)) list)
                     (conclusion: Run -> Evaluation) : Result<Run> =
    { Id = "B.bound." + suffix
      Title = title f ("local errors propagated by " + named)
      Source = sprintf "derived here (%s, B.bound.%s)" f.Doc suffix
      Provenance = ProvedHereEstimated "the reference solve's error"
      Doc = f.Doc
      Statement =
        "At every snapshot, with H̃_k the reference solution of the neural ODE of the layers' piecewise-linear interpolant at s = k/L, the error "
        + "ẽ_k = h_k − H̃_k obeys ẽ_k = J_kẽ_{k−1} + r_k − τ̃_k with " + jacobians + ", so ‖h_L^i − H̃^i_L‖ ≤ Σ_k π_k(τ̄_k + δ_k + ρ̄_k) with "
        + "π_k ≥ ‖J_L⋯J_{k+1}‖₂ from the computed products, ρ̄_k the bound on r_k, τ̄_k the smaller of the a priori local error and a Taylor model "
        + "(a computed second-order term plus bounded remainders) of the flow over [s_{k−1}, s_k] started at H̃_{k−1}, and δ_k the one-interval "
        + "integration error; " + f.Constants + "; " + f.Reference + "."
      Hypotheses = hypotheses
      Conclusion = conclusion }

/// The hypothesis "at least 4 depths" of every rate statement.
let atLeastFourDepths (depths: int list) =
    if depths.Length >= 4 then Met(sprintf "%d depths" depths.Length)
    else NotMet(sprintf "%d depths: an interval for the order with its 1/L correction term needs at least 4" depths.Length)

/// The observed order over a depth ladder (B.rate): `errors` gives, per depth, max_i ‖h_L^i − H^i(1)‖ at
/// iteration 0 (where the layers of every depth sample one function of depth) and its uncertainty (the integration
/// error estimate); the claim p ≥ 1 is decided by Rate.decideOutcome on the plain and the 1/L-corrected fits.
/// `extra` adds constants and notes of the architecture.
let rateResult (f: Family) (depths: 'l -> int list) (hypotheses: (string * ('l -> HypothesisCheck)) list)
               (errors: 'l -> float list * float list) (extra: 'l -> (string * float) list * string list) : Result<'l> =
    { Id = "B.rate"
      Title = title f "observed order in the depth L"
      Source = sprintf "derived here (%s); predicted by B.bound" f.Doc
      Provenance = Empirical
      Doc = f.Doc
      Statement =
        "Over a ladder of runs that differ only in depth, at iteration 0, where the layers of every depth sample the same function of depth "
        + "θ⁰(s), the error max_i ‖h_L^i − H^i(1)‖ decreases at least like 1/L: the upper end of the 95% interval of the order p is ≥ 1 for the "
        + "plain fit log error = a − p log L or for the fit with a correction term a − p log L + c/L, each widened by the first term its model "
        + "neglects (Rate.decideOutcome), the integration error estimates as uncertainties; an interval of width ≥ 1 (claimed order − order of "
        + "no decay) is inconclusive, not a hold."
      Hypotheses = ("at least 4 depths", fun l -> atLeastFourDepths (depths l)) :: hypotheses
      Conclusion =
        fun l ->
            let ds = depths l
            let errs, eps = errors l
            let plain = Rate.fitWithUncertainty ds errs eps
            let corrected = Rate.fitWithCorrectionAndUncertainty ds errs eps
            let outcome, o = Rate.decideOutcome plain corrected
            let verdict = Rate.verdict outcome o (sprintf "depth ladder L = %s" (ds |> List.map string |> String.concat ", ")) "iteration 0 (t = 0)"
            let constants, notes = extra l
            { Range = None; Series = []; Verdict = verdict
              Measured = Some o.Order
              Bound = Some Rate.ClaimedOrder
              Hypotheses = []
              Constants = [ "observed order", o.Order; "95% lower", o.Lower; "95% upper", o.Upper; "claimed order", Rate.ClaimedOrder ] @ constants
              Notes =
                sprintf "t = 0, plain log-log slope: %s" (Rate.describe plain)
                :: sprintf "t = 0, fit with 1/L correction: %s" (Rate.describe corrected)
                :: sprintf "decided by the %s fit, widened by its model allowance to [%.3f, %.3f]; an interval of width ≥ %g is inconclusive"
                       (if o.Correction = 0.0 then "plain" else "corrected") o.Lower o.Upper Rate.inconclusiveWidth
                :: notes } }
