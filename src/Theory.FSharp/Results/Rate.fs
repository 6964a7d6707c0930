/// Observed orders of convergence over a ladder of depths: least-squares fits of log(error) against log(L)
/// with 95% confidence intervals, and the project's rule for "the error decreases at least like 1/L".
module ResOdeProofs.Theory.Rate

open System
open ResOdeProofs.Theory

/// A fitted order: err ≈ C·L^(−p). (Lower, Upper) is the 95% interval of p.
type ObservedOrder =
    { Depths: int list
      Errors: float list
      /// p̂
      Order: float
      /// 95% interval p̂ ∓ t_{0.975, N−k}·se(p̂) (k fitted parameters; infinite when N = k), widened by the
      /// propagated uncertainty of the errors
      Lower: float
      Upper: float
      /// the coefficient c of the 1/L term (0 for the plain fit)
      Correction: float
      /// the row of (XᵀX)⁻¹Xᵀ that gives p̂: p̂ moves by Σ_i w_i δ_i when log e_i moves by δ_i
      Weights: float list
      /// a bound on the evaluation error of Upper (and of Lower) against the same formulas evaluated exactly on the given
      /// depths and errors (`Rounding.fitUpperRounding`, `Rounding.meanUpperRounding`)
      Rounding: float
      /// per point, a bound on the evaluation error of its weight (empty when there are no weights)
      WeightRounding: float list
      /// per point, the absolute uncertainty ε_i of the error the interval was widened by (zeros when none)
      Uncertainties: float list }

/// The claimed order: errors O(1/L).
[<Literal>]
let ClaimedOrder = 1.0

/// Fits log err = a − p log L (+ c/L when withCorrection) by least squares (`LeastSquares.regress`): p̂ from
/// β = (XᵀX)⁻¹Xᵀy, se(p̂) from (XᵀX)⁻¹·RSS/(N − k), 95% interval with Student's t on N − k degrees of freedom (infinite when none is left),
/// widened on both sides by Σ_i |w_i| ε_i/e_i, where ε_i is an absolute uncertainty of e_i (e.g. a reference's
/// own error) and w the row of (XᵀX)⁻¹Xᵀ that gives p̂ (ε_i moves log e_i by at most ε_i/e_i to first order).
let private regress (withCorrection: bool) (depths: int list) (errors: float list) (perturbation: float list) : ObservedOrder =
    let n = depths.Length
    let row (l: int) = let l = float l in if withCorrection then [| 1.0; -(Portable.log l); 1.0 / l |] else [| 1.0; -(Portable.log l) |]
    let f = LeastSquares.regress (depths |> List.map row |> Array.ofList) (errors |> List.map Portable.log |> Array.ofList)
    let p, half, w = f.Coefficients.[1], f.HalfWidths.[1], f.Weights.[1]
    let shift = List.mapi (fun i (e, eps) -> abs w.[i] * eps / e) (List.zip errors perturbation) |> List.sum
    let rounding, dW =
        Rounding.fitUpperRounding (depths |> List.map row |> Array.ofList) (errors |> List.map Portable.log |> Array.ofList) f 1
            (List.map2 (fun e eps -> eps / e) errors perturbation |> Array.ofList)
    { Depths = depths; Errors = errors; Order = p; Lower = p - half - shift; Upper = p + half + shift
      Correction = (if withCorrection then f.Coefficients.[2] else 0.0); Weights = List.init n (fun i -> w.[i])
      Rounding = rounding; WeightRounding = List.ofArray dW; Uncertainties = perturbation }

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
/// interval is at least 1 (the interval contains 1, or lies above it), up to the evaluation error of the upper end
/// (`ObservedOrder.Rounding`: the fit's arithmetic, derived in `Rounding.fitUpperRounding`; it decides only where the
/// interval has collapsed onto 1, errors exactly C/L). No other allowance: the statistics are in the interval.
let consistentWithFirstOrder (o: ObservedOrder) = o.Upper >= ClaimedOrder - o.Rounding

/// The order of no decay at all (an error that does not shrink with L, e.g. i.i.d. layers): the alternative a rate
/// statement must be able to tell from the claimed order.
[<Literal>]
let NullOrder = 0.0

/// An interval at least this wide is inconclusive: |ClaimedOrder − NullOrder| = 1. An interval of width ≥ 1 can
/// contain both the claimed order 1 and the order 0 of no decay, so it cannot tell a 1/L rate from none.
let inconclusiveWidth = ClaimedOrder - NullOrder

/// The outcome of a rate statement on a ladder.
type RateOutcome =
    /// the interval (widened by the model allowance) is narrower than `inconclusiveWidth` and reaches the claimed order
    | Consistent
    /// every fit's interval lies below the claimed order
    | Rejected
    /// no fit rejects the claim, but every fit that does not is too wide to mean anything
    | Inconclusive
    /// the fits over the whole ladder reject the claim (the first fit, as reported), but the plain fit over its deepest three
    /// depths alone (the second) supports it by an interval that reaches order 1 and excludes order 0: the rejection rests on
    /// the shallower depths (`confirmByDeepest`)
    | PreAsymptotic of ladder: ObservedOrder * deepest: ObservedOrder

/// The model allowance of a fit: the first term its model neglects, moved onto p̂ through its weights. The fit with
/// the correction neglects the remainder of log(1 + c/L) ≈ c/L, at most x²/(2(1 − |x|)) for x = ĉ/L (|x| < 1; ∞
/// otherwise); the plain fit neglects c/L itself, with ĉ the corrected fit's estimate. So an order of 0.997 with an
/// interval [0.995, 0.9998] is not a rejection when the c/L terms the fits neglect can move it by more than 0.0002.
let modelAllowance (o: ObservedOrder) (c: float) (withCorrection: bool) =
    List.zip o.Weights o.Depths
    |> List.sumBy (fun (w, l) ->
        let x = abs c / float l
        if withCorrection then (if x < 1.0 then abs w * x * x / (2.0 * (1.0 - x)) else infinity)
        else abs w * x)

/// A fit's interval widened on both sides by an allowance.
let widen (o: ObservedOrder) (delta: float) = { o with Lower = o.Lower - delta; Upper = o.Upper + delta }

/// The evaluation error of `modelAllowance`: its sum with the weights' errors in place of |w_i| (the weights are the only
/// input with an error of its own), plus γ₆₄(2N + 8) of the sum for its own operations (per term a quotient, a product, a
/// square and 1 − x; N additions). The fitted ĉ enters as the estimate it is: the allowance is a model estimate, and ĉ's
/// statistical uncertainty, far above its rounding, is not carried either.
let private modelAllowanceRounding (o: ObservedOrder) (c: float) (withCorrection: bool) (delta: float) =
    let viaErrors =
        if o.WeightRounding.IsEmpty then 0.0
        else modelAllowance { o with Weights = o.WeightRounding } c withCorrection
    viaErrors + Rounding.gamma64 (2 * o.Depths.Length + 8) * delta

/// `widen` by the model allowance, the evaluation error of the widened ends carried: the fit's own, the allowance's
/// (`modelAllowanceRounding`) and the rounding of the sums U + δ, L − δ (u|U + δ|).
let private widenByModel (o: ObservedOrder) (c: float) (withCorrection: bool) =
    let delta = modelAllowance o c withCorrection
    let w = widen o delta
    { w with Rounding = o.Rounding + modelAllowanceRounding o c withCorrection delta + Rounding.Float64UnitRoundoff * max (abs w.Upper) (abs w.Lower) }

/// The outcome of one or more fits, each as (fit, fit widened by its model allowance): the claim is rejected when
/// every widened fit rejects it (its upper end, allowance included, is below the claimed order); it is consistent
/// when some fit, as fitted or as widened, has an interval narrower than `inconclusiveWidth` that reaches the claimed
/// order; otherwise (no rejection, but only wide intervals reach the claim) it is inconclusive.
let outcomeOf (fits: (ObservedOrder * ObservedOrder) list) =
    let narrow (o: ObservedOrder) = o.Upper - o.Lower < inconclusiveWidth
    let supports (o: ObservedOrder) = narrow o && consistentWithFirstOrder o
    if fits |> List.forall (snd >> consistentWithFirstOrder >> not) then Rejected
    elif fits |> List.exists (fun (raw, wide) -> supports raw || supports wide) then Consistent
    else Inconclusive

/// `outcomeOf` for fits without a model allowance.
let outcome (fits: ObservedOrder list) = outcomeOf (fits |> List.map (fun o -> o, o))

/// How many of a ladder's deepest depths must reject the claim too (`confirmByDeepest`): three, the fewest a fit with an
/// interval needs (one residual degree of freedom).
[<Literal>]
let DeepestCount = 3

/// The fewest fitted depths on which `decideOutcome` can reject the claim: the fit with the 1/L correction has three
/// parameters, so on three depths it has no residual degree of freedom (an infinite interval, or no usable fit when
/// |ĉ|/L ≥ 1, which makes the plain fit's rejection inconclusive), and the claim stands unless both fits reject it.
[<Literal>]
let FittedDepthsToReject = 4

/// The plain fit over the deepest `DeepestCount` depths of a fit's ladder, with the same uncertainties of the errors.
let deepestFit (o: ObservedOrder) =
    let skip = o.Depths.Length - DeepestCount
    // a fit made by hand may carry no uncertainties: none, then
    let eps = if o.Uncertainties.Length = o.Depths.Length then List.skip skip o.Uncertainties else List.replicate DeepestCount 0.0
    regress false (List.skip skip o.Depths) (List.skip skip o.Errors) eps

/// The claim is asymptotic (p ≥ 1 as L → ∞), and a ladder's shallow depths carry the terms of higher order in 1/L at their
/// largest: a ladder whose fits reject the claim is not rejected when its deepest `DeepestCount` depths, fitted alone (the
/// plain fit, its own interval), support the claim: an interval that reaches the claimed order and excludes the order of no
/// decay (`excludesNoDecay`), i.e. tells the 1/L rate from none in the claim's favour (every interval narrower than
/// `inconclusiveWidth` that reaches 1 does). The outcome is then `PreAsymptotic` (hypothesis not met, "add deeper depths").
/// A ladder of `DeepestCount` depths or fewer is its own tail. A faithful tied GELU ladder (L·max‖Δ‖ = 9.24, 10.09, 12.16,
/// 14.05, 15.22, 15.84 over L = 4 … 128, levelling off) was rejected by both whole-ladder fits (upper ends 0.879 and 0.998)
/// while its deepest three depths give [0.70, 1.12]. The tail has one degree of freedom (t_{0.975,1} = 12.7): a tail interval
/// that holds order 0 as well as 1 is no evidence and leaves the rejection standing.
/// The interval excludes the order of no decay: its lower end above `NullOrder` by more than its evaluation error.
let excludesNoDecay (o: ObservedOrder) = o.Lower - o.Rounding > NullOrder

let private confirmByDeepest (outcome: RateOutcome, reported: ObservedOrder) (plain: ObservedOrder) =
    match outcome with
    | Rejected when plain.Depths.Length > DeepestCount ->
        let deep = deepestFit plain
        // the fit reported stays the whole ladder's (the rows' constants and notes describe it); the verdict names both
        // the deepest three overturn the rejection only by positive evidence: an interval that reaches the claimed order and
        // excludes the order of no decay, so that it tells the rate from none (one over [−1.4, 1.2], which holds order 0 too,
        // overturned the rejection of an i.i.d. ladder whose L·max‖Δ‖ grows from 6.4 to 578)
        if consistentWithFirstOrder deep && excludesNoDecay deep then PreAsymptotic(reported, deep), reported
        else outcome, reported
    | _ -> outcome, reported

/// One outcome for several snapshots or parts of one ladder: rejected if any is, else the first pre-asymptotic one, else
/// inconclusive if any is, else consistent.
let combine (outcomes: RateOutcome list) =
    if List.contains Rejected outcomes then Rejected
    else
        match outcomes |> List.tryFind (function PreAsymptotic _ -> true | _ -> false) with
        | Some p -> p
        | None -> if List.contains Inconclusive outcomes then Inconclusive else Consistent

/// The item of several (snapshots, parts) a combined outcome is reported at: for a pre-asymptotic outcome the item it came
/// from (the same object `combine` returned: structural equality fails on a fit holding NaN); for a rejection or an
/// inconclusive outcome, of the items whose own outcome it is, the one whose fit has the smallest upper end, so that the
/// row's verdict, witness and message describe an item that gave it; otherwise the item whose fit has the smallest upper
/// end. Until 2026-12-07 the smallest upper end was taken over every item in each case, so an inconclusive ladder (one
/// part's interval wider than 1) was reported at a part whose fit supports the rate, and its message said that fit's order
/// "lies below 1" (a faithful softplus ladder, D.curve: "order 1.144 [0.841, 1.447] lies below 1"). D.rate and D.curve
/// report their rows through it.
let reportedAt (combined: RateOutcome) (outcomeOf: 'a -> RateOutcome) (upperOf: 'a -> float) (items: 'a list) =
    let gave (kind: RateOutcome -> bool) =
        match items |> List.filter (outcomeOf >> kind) with
        | [] -> items
        | some -> some
    match combined, items |> List.tryFind (fun x -> LanguagePrimitives.PhysicalEquality (outcomeOf x) combined) with
    | PreAsymptotic _, Some x -> x
    | Rejected, _ -> gave (function Rejected -> true | _ -> false) |> Comparison.worstByMin upperOf
    | Inconclusive, _ -> gave (function Inconclusive -> true | _ -> false) |> Comparison.worstByMin upperOf
    | _ -> items |> Comparison.worstByMin upperOf

/// The verdict rule of the rate results: the claim p ≥ 1 stands unless BOTH fits reject it — the plain slope
/// (biased low when the error approaches C/L from below, e.g. C/L − c/L²) and the fit with the c/L correction
/// (whose log(1 + c₁/L) ≈ c₁/L is poor when c₁/L is not small at the smallest depth, e.g. an error approaching
/// C/L from above like C/L + c/L² with a large c), each widened by its model allowance (`modelAllowance`) before it
/// may reject; and it holds only when an interval narrower than `inconclusiveWidth` supports it (`outcomeOf`).
/// A fit with the correction whose |ĉ|/L ≥ 1 at some depth is not used. Returns the outcome and the fit to report
/// (the widened fit with the larger upper end).
let decideOutcome (plain: ObservedOrder) (corrected: ObservedOrder) =
    let c = corrected.Correction
    // the corrected model log(1 + c/L) ≈ c/L is usable only where |c|/L < 1 at every depth of the ladder; otherwise
    // that fit is not used (neither to support nor to reject), and the plain fit is taken as fitted
    let valid = plain.Depths |> List.forall (fun l -> abs c / float l < 1.0)
    let fits =
        if valid then
            [ plain, widenByModel plain c false; corrected, widenByModel corrected c true ]
        else [ plain, plain ]
    // the claim stands unless both fits reject it: a rejection by the plain fit alone, with the corrected fit unusable
    // (|c|/L ≥ 1: the 1/L correction as large as the main term at the smallest depth, so the ladder is pre-asymptotic),
    // is inconclusive, not violated (a NumPy user's smooth ladder: plain order 0.516 rejected, corrected 0.938 [0.567, 1.309]
    // with c = −8.2 at L = 8, reported violated)
    let outcome = match outcomeOf fits with | Rejected when not valid -> Inconclusive | o -> o
    // the fit reported: when the claim holds, one that supports it (narrow and reaching the order: the evidence), never an
    // uninformative one whose interval is infinite (it once made a holding D.curve read "slack Infinity" over [-∞, ∞])
    let supporting =
        fits |> List.collect (fun (raw, wide) -> [ raw; wide ]) |> List.filter (fun o -> o.Upper - o.Lower < inconclusiveWidth && consistentWithFirstOrder o)
    // inconclusive: of the widened fits that reach the order, the narrowest (the most the ladder says); the one with the
    // larger upper end was often the corrected fit over [−∞, ∞] (no degree of freedom left), which said nothing (a faithful
    // GELU ladder, D.curve over L = 4, 8, 16: "order 0.878 with interval [-Infinity, Infinity]" where the plain fit, widened,
    // gives 1.272 [0.308, 2.236])
    let best =
        match outcome, supporting with
        | Consistent, (_ :: _) -> supporting |> Comparison.worstBy (fun o -> o.Upper)
        // (a fit that is not a number is reported as before, first: the row is then "not measured", never passed over)
        | Inconclusive, _ when fits |> List.forall (fun (_, w) -> not (Double.IsNaN w.Upper || Double.IsNaN w.Lower)) ->
            let finite (o: ObservedOrder) = Double.IsFinite(o.Upper - o.Lower)
            match fits |> List.map snd |> List.filter consistentWithFirstOrder with
            | [] -> fits |> List.map snd |> Comparison.worstBy (fun o -> o.Upper)
            // only an infinite interval reaches the order (the corrected fit with no degree of freedom left): the finite
            // fit says more, narrow and below the order (a NumPy MLP ladder over L = 4, 8, 16 against 32, V at iteration
            // 39: D.curve read "order 0.937 with interval [-Infinity, Infinity]", its plain fit 0.946 [0.923, 0.969])
            | reaching when not (List.exists finite reaching) && fits |> List.exists (snd >> finite) ->
                fits |> List.map snd |> List.filter finite |> Comparison.worstByMin (fun o -> o.Upper - o.Lower)
            | reaching -> reaching |> Comparison.worstByMin (fun o -> o.Upper - o.Lower)
        | _ -> fits |> List.map snd |> Comparison.worstBy (fun o -> o.Upper)
    confirmByDeepest (outcome, best) plain

/// The rule of a rate statement whose ladder may hold as few depths as the fit with a c/L term has parameters (A.rate:
/// three depths and up). With five depths or more that fit keeps two degrees of freedom or more and `decideOutcome`
/// decides (the claim stands unless both fits reject it, so a pre-asymptotic ladder, whose c/L term biases the plain
/// slope low, is not rejected by the plain slope alone). With three or four its interval is infinite or, on one degree
/// of freedom (t_{0.975,1} = 12.7 against 4.3 on two), about ten times the plain fit's, so requiring it to reject would
/// leave a ladder without decay unrejectable, and its ĉ, fitted with no or one residual degree of freedom, carries the
/// errors' noise (a plain fit widened by it made the i.i.d. ladder over L = 2, 4, 16 inconclusive): there the plain fit
/// decides alone (`outcome`), whose own interval on one or two degrees of freedom is already wide (a ladder
/// (1/L)(1 − 2/L) over L = 4, 8, 16 is not rejected: order 0.60, upper end 1.9). On four depths the plain fit's rejection
/// is overturned only by positive evidence for the rate: the fit with the c/L term (usable, |ĉ|/L < 1 at every depth)
/// supports the claim by an interval narrower than `inconclusiveWidth` on its one degree of freedom, as fitted or widened by
/// its model allowance. A ladder C/L − c/L² (W(s) = W₀ + s²W₁: max‖Δ‖ = (2/L − 1/L²)‖W₁‖, D ≤ C/L exactly) has a plain order
/// 0.99 with a narrow interval below 1 and a corrected one 1.000 [1.000, 1.001]; a ladder L^−0.9 has a corrected order 0.9
/// with ĉ = 0, and a ladder without decay a corrected interval far below 1 or wider than 1 (t_{0.975,1} = 12.7): both stay
/// rejected. Returns the outcome and the fit to report.
let decideShortLadder (plain: ObservedOrder) (corrected: ObservedOrder) =
    if plain.Depths.Length >= 5 then decideOutcome plain corrected
    else
        let o = outcome [ plain ]
        let c = corrected.Correction
        let usable = plain.Depths.Length = 4 && plain.Depths |> List.forall (fun l -> abs c / float l < 1.0)
        let supports (f: ObservedOrder) = f.Upper - f.Lower < inconclusiveWidth && consistentWithFirstOrder f
        if o = Rejected && usable then
            match [ corrected; widenByModel corrected c true ] |> List.filter supports with
            | [] -> confirmByDeepest (o, plain) plain
            | s -> Consistent, s |> Comparison.worstBy (fun f -> f.Upper)
        else confirmByDeepest (o, plain) plain

/// `decideOutcome` as a yes/no (consistent or inconclusive: not rejected).
let decide (plain: ObservedOrder) (corrected: ObservedOrder) =
    let o, best = decideOutcome plain corrected
    o <> Rejected, best

/// The verdict of a rate statement from its outcome: holds (slack Upper − 1, tightness Upper/1), violated with the
/// witness, or inconclusive (a hypothesis not met: the ladder does not determine the order to within 1). An order or
/// interval that is not a number (an error of the ladder that was not one) is not measured, whatever the outcome: a NaN
/// fails every comparison of `outcomeOf`, which must not read as a rejection.
let verdict (o: RateOutcome) (best: ObservedOrder) (where': string) (when': string) =
    if Double.IsNaN best.Order || Double.IsNaN best.Lower || Double.IsNaN best.Upper then Verdict.notMeasured where' when' else
    match o with
    | Consistent -> Holds(best.Upper - ClaimedOrder, best.Upper / ClaimedOrder)
    | Rejected -> Violated { Where = where'; When = when'; Measured = best.Order; Bound = ClaimedOrder }
    | PreAsymptotic(whole, deep) ->
        let depths (o: ObservedOrder) = o.Depths |> List.map string |> String.concat ", "
        HypothesisNotMet
            [ "rejection borne out by the deepest depths (an asymptotic ladder)",
              sprintf "inconclusive (%s, %s): over L = %s the order %.3f [%.3f, %.3f] lies below 1, but over the deepest %d depths L = %s alone it is %.3f [%.3f, %.3f], which reaches 1 and excludes no decay (order 0): the rejection rests on the shallower depths, where the terms of higher order in 1/L are largest (a ladder not yet asymptotic); add deeper depths"
                  where' when' (depths whole) whole.Order whole.Lower whole.Upper DeepestCount (depths deep) deep.Order deep.Lower deep.Upper ]
    | Inconclusive when best.Upper - best.Lower < inconclusiveWidth ->
        // narrow yet inconclusive: the plain fit rejects, the fit with a 1/L correction cannot decide (`decideOutcome`): on
        // three fitted depths it has no degree of freedom left (its interval is infinite), else its correction is as large as
        // the main term at the smallest depth
        let why =
            if best.Depths.Length <= 3 then sprintf "cannot decide on %d fitted depths (its three parameters leave no degree of freedom: its interval is infinite)" best.Depths.Length
            else "cannot be used at these depths (its correction is as large as the main term at the smallest depth)"
        HypothesisNotMet
            [ "asymptotic ladder (the 1/L-corrected fit usable: |c|/L < 1 at every depth, and a degree of freedom left)",
              sprintf "inconclusive: the plain fit's order %.3f [%.3f, %.3f] lies below 1, but the fit with a 1/L correction %s: a ladder not yet asymptotic and one whose order is below 1 look alike here; deeper depths would tell them apart"
                  best.Order best.Lower best.Upper why ]
    | Inconclusive ->
        HypothesisNotMet
            [ "informative interval (width < 1)",
              sprintf "inconclusive: order %.3f with interval [%.3f, %.3f] (width %.3f ≥ %g = claimed order − order of no decay): the ladder cannot tell a 1/L rate from none; add depths or samples"
                  best.Order best.Lower best.Upper (best.Upper - best.Lower) inconclusiveWidth ]

/// One line for notes: "order 1.02, 95% interval [0.97, 1.07], over L = 4, 8, 16, 32 (errors ...)".
let describe (o: ObservedOrder) =
    sprintf "order %.3f, 95%% interval [%.3f, %.3f], over L = %s (errors %s)" o.Order o.Lower o.Upper
        (o.Depths |> List.map string |> String.concat ", ")
        (o.Errors |> List.map (sprintf "%.3e") |> String.concat ", ")
