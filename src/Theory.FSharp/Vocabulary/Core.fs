/// The vocabulary of the theory layer: what a result is, what evaluating it on runs returns.
namespace ResOdeProofs.Theory

open System

/// Where a statement comes from. Every proved result is `ProvedHere`, those taken from the paper included: the paper
/// states them with implicit constants, which this project makes explicit (its section is in the result's Source).
type Provenance =
    /// Derived in this project (docs/theorems has the derivation).
    | ProvedHere
    /// Derived in this project, but a term of the comparison's allowance is an estimate, not a bound (the named quantity;
    /// the result's page says what is assumed): the verdict holds under that estimate. E.g. a reference ODE solve's error
    /// estimated by a second solve, a producer's integration error read as the sum of its local errors.
    | ProvedHereEstimated of estimated: string
    /// An empirical regularity the paper reports or predicts (e.g. an observed rate), checked statistically.
    | Empirical

/// One point of a result's series of comparisons (Comparison.series): at one time or depth (`When`), or over a run of
/// consecutive ones, the comparison that came nearest to failing (largest measured / bound) among the `Count` made
/// there, with where it was made. Declared before `Witness` so that a record written with Where/When/Measured/Bound
/// alone is still read as a witness or a comparison.
type SeriesPoint =
    { When: string
      Where: string
      Measured: float
      Bound: float
      /// comparisons this point stands for (the others at its time, or in its run of times, came less near to failing)
      Count: int }

/// Where and when a bound failed: the witness of a violation.
type Witness =
    { /// e.g. "layer k = 12", "sample i = 3", "depth ladder L = 16 → 32"
      Where: string
      /// e.g. "iteration 40 (t = 0.4)"
      When: string
      Measured: float
      Bound: float }

/// The outcome of evaluating one result on a run (or a ladder of runs).
type Verdict =
    /// The conclusion holds: slack = bound − measured ≥ 0, tightness = bound / measured ≥ 1
    /// (+∞ when the measured quantity is 0; 1 means the bound is attained).
    | Holds of slack: float * tightness: float
    /// The conclusion fails although the hypotheses hold (or a corrupted run was detected).
    | Violated of Witness
    /// At least one hypothesis is not met: (hypothesis name, why) for each.
    | HypothesisNotMet of (string * string) list
    /// The result does not speak about this input (e.g. a rate over depths given one run).
    | NotApplicable of string
    /// The fifth outcome, `error`: the check itself could not be evaluated (it raised an exception). Not a verdict
    /// about the theorem: counted apart from violations, and `resode verify` exits with code 3 for it.
    | CheckError of reason: string

/// Raised by the theory layer when an optional input of a run is absent (e.g. a trace column): `Result.evaluate`
/// turns it into "hypothesis not met" (input present: why), never into an error or a violation.
exception MissingInput of string

/// Where the tightness bound/measured of a result's comparisons was smallest (the tightest comparison, 1 means
/// attained) and largest (the loosest, the worst case of the bound), over every comparison with measured > 0.
type TightnessRange =
    { Min: float
      MinAt: string
      Max: float
      MaxAt: string
      /// the loosest comparison's measured value and bound (the pair whose ratio is Max)
      MaxMeasured: float
      MaxBound: float
      /// comparisons the range is taken over
      Count: int }

/// A hypothesis checked on the input: met (with the values that show it) or not (with why).
type HypothesisCheck =
    | Met of string
    | NotMet of string

/// A hypothesis' check that `Result.evaluate` makes only when every ordinary hypothesis of its result is met (and every
/// deferred one listed before it): for a check that costs what the others do not (the reference ODE solve of every rung
/// of a ladder, the replay of a run), so that a result whose cheap hypotheses already fail does not pay for it. Otherwise
/// it is listed, not met, as `Result.NotEvaluated`, and not among the reasons of the verdict. Made by
/// `Hypotheses.whenOthersHold`; called directly it is the check it wraps.
[<Sealed>]
type DeferredCheck<'input>(check: 'input -> HypothesisCheck) =
    inherit FSharpFunc<'input, HypothesisCheck>()
    override _.Invoke(input: 'input) = check input

/// Whether a hypothesis' check is deferred (the one test of the mark, for `Result.evaluate` and the hypotheses that keep it).
module DeferredCheck =
    let isDeferred (check: 'input -> HypothesisCheck) = box check :? DeferredCheck<'input>

/// What evaluating a result returns: the verdict with the numbers behind it.
type Evaluation =
    { Verdict: Verdict
      /// The measured quantity (worst case over the run) the conclusion bounds, when there is one.
      Measured: float option
      /// The bound it is compared with.
      Bound: float option
      /// Each hypothesis: (name, met?, values or reason).
      Hypotheses: (string * bool * string) list
      /// Explicit constants used, by name (e.g. "s1", "M_W", "kappa").
      Constants: (string * float) list
      /// Free-form notes for the report (e.g. the observed rate with its interval).
      Notes: string list
      /// Tightness over every comparison the result made (None: one comparison, the verdict's own tightness).
      Range: TightnessRange option
      /// The comparisons the verdict was decided on, one point per time or depth (empty: a result that does not compare
      /// a measured quantity with a bound point by point, e.g. a rate).
      Series: SeriesPoint list }

/// A named, sourced, checkable statement, generic in what it is evaluated on ('input: one run, or a depth ladder).
type Result<'input> =
    { /// Short stable id, e.g. "A.aposteriori", "L3.adjoint"
      Id: string
      Title: string
      /// Paper section/theorem, or "derived here (docs/theorems/<File>.md)".
      Source: string
      Provenance: Provenance
      /// The doc page (docs/theorems/<Name>.md), same name as the F# file.
      Doc: string
      /// One paragraph: the statement in the project's words.
      Statement: string
      Hypotheses: (string * ('input -> HypothesisCheck)) list
      /// The conclusion, evaluated once the hypotheses are met.
      Conclusion: 'input -> Evaluation }

module Verdict =
    let isHolds = function Holds _ -> true | _ -> false
    let isViolated = function Violated _ -> true | _ -> false
    let isHypothesisNotMet = function HypothesisNotMet _ -> true | _ -> false
    let isError = function CheckError _ -> true | _ -> false

    /// Short label for tables.
    let label = function
        | Holds _ -> "holds"
        | Violated _ -> "VIOLATED"
        | HypothesisNotMet _ -> "hypothesis not met"
        | NotApplicable _ -> "not applicable"
        | CheckError _ -> "error"

    /// tightness = bound / measured for a holding verdict.
    let tightness = function Holds (_, t) -> Some t | _ -> None

    /// The verdict for a bound that is not a finite number (it overflowed to ∞, or ∞·0 gave NaN): the statement
    /// claims nothing there, so this is a hypothesis not met ("finite bound"), with the value and where it occurred.
    let noFiniteBound (bound: float) (where': string) (when': string) =
        HypothesisNotMet [ "finite bound", sprintf "no finite bound claimed: the bound is %g at %s, %s (it overflowed)" bound where' when' ]

    /// The verdict for a measured quantity that is not a number (NaN): nothing was measured, so nothing can fail.
    let notMeasured (where': string) (when': string) =
        HypothesisNotMet [ "finite measured quantity", sprintf "the measured quantity is not a number at %s, %s" where' when' ]

    /// Compares a measured value with an upper bound: holds with slack and tightness, or violated with the witness.
    /// A relative allowance (rel, for floating-point rounding, derived by the caller) is stated by the caller.
    /// A bound that is NaN or +∞ is "no finite bound claimed" and a NaN measurement is "not measured" (both
    /// hypotheses not met): NaN never becomes a violation, ∞ is never compared with a number.
    let compare (measured: float) (bound: float) (rel: float) (where': string) (when': string) =
        if Double.IsNaN bound || Double.IsPositiveInfinity bound then noFiniteBound bound where' when'
        elif Double.IsNaN measured then notMeasured where' when'
        elif measured <= bound * (1.0 + rel) then
            // no positive measured value: no finite ratio (a negative one would read as a tightness below 1)
            let t = if measured <= 0.0 then infinity else bound / measured
            Holds(bound - measured, t)
        else Violated { Where = where'; When = when'; Measured = measured; Bound = bound }

module Evaluation =
    /// The note of a result that is a pure inequality valid for any weights (L1–L5, B.bound, B.bound): it cannot be
    /// violated by a run, only by a wrong implementation of the bound or of the measured quantity.
    [<Literal>]
    let AnyWeights = "holds for any weights: checks the implementation, not the run"

    let notApplicable why =
        { Verdict = NotApplicable why; Measured = None; Bound = None; Hypotheses = []; Constants = []; Notes = []; Range = None; Series = [] }

    /// An evaluation that only says which hypotheses are not met.
    let hypothesisNotMet (failed: (string * string) list) checks =
        { Verdict = HypothesisNotMet failed; Measured = None; Bound = None; Hypotheses = checks; Constants = []; Notes = []; Range = None; Series = [] }

    /// An evaluation whose comparisons were made but whose row is "hypothesis not met" under `hypothesis` (`why`): its
    /// constants, notes and series kept, its measured value, bound and tightness range dropped (they would read as a verdict).
    let notMetKeeping (hypothesis: string) (why: string) (e: Evaluation) =
        { e with Verdict = HypothesisNotMet [ hypothesis, why ]; Measured = None; Bound = None; Range = None
                 Hypotheses = e.Hypotheses @ [ hypothesis, false, why ] }

    /// A result whose comparisons may carry an allowance at least the size of what they compare (a float32 run's rounding
    /// allowance at trained weights): such a comparison still rejects a gross error, but it cannot tell the compared value
    /// from the corruption the check exists for (a missing update, a loss of 0). `uninformative` of `total` comparisons
    /// were so. None: the evaluation unchanged. Any, in an evaluation that holds: the verdict is "hypothesis not met" under
    /// `hypothesis` (its constants, notes and series of comparisons kept, which show the allowances against the values),
    /// saying how many comparisons could tell and that those hold, since "holds" would cover comparisons that cannot fail
    /// (a user set a float32 run's last recorded loss to 0 and I.loss held on the strength of snapshot 0 alone); a
    /// violation stays a violation.
    let requireInformative (hypothesis: string) (describe: string) (uninformative: int) (total: int) (e: Evaluation) =
        if uninformative = 0 || total = 0 then e
        else
            match e.Verdict with
            | Holds _ ->
                let why =
                    if uninformative >= total then sprintf "at every one of the %d comparisons %s" total describe
                    else sprintf "at %d of the %d comparisons %s; the other %d could tell, were compared and hold" uninformative total describe (total - uninformative)
                notMetKeeping hypothesis why e
            | _ -> e

module Result =
    /// How a deferred hypothesis (`DeferredCheck`) that was not evaluated is listed.
    [<Literal>]
    let NotEvaluated = "not evaluated (made only when every other hypothesis holds)"

    /// Evaluates a result: the hypotheses first (all of them, so the report can list each; a deferred one only when every
    /// ordinary one and every deferred one before it is met, else listed as `NotEvaluated`), then, if every one is met,
    /// the conclusion. The verdict "hypothesis not met" names the hypotheses that failed, in their order, not the ones
    /// left unevaluated. An absent optional input (MissingInput, raised by a hypothesis or the conclusion) makes the
    /// verdict "hypothesis not met" (input present: what is missing).
    let evaluate (r: Result<'input>) (input: 'input) : Evaluation =
        let missing why = "input present", why
        let check' (name, check: 'input -> HypothesisCheck) =
            match (try check input with MissingInput why -> NotMet why) with
            | Met v -> name, true, v
            | NotMet why -> name, false, why
        let ordinary = r.Hypotheses |> List.map (fun (name, check) -> if DeferredCheck.isDeferred check then None else Some(check' (name, check)))
        let mutable othersHold = ordinary |> List.forall (function Some(_, ok, _) -> ok | None -> true)
        // (check, evaluated)
        let checks =
            List.map2 (fun (name, check) made ->
                match made with
                | Some c -> c, true
                | None when othersHold ->
                    let (_, ok, _) as c = check' (name, check)
                    othersHold <- ok
                    c, true
                | None -> (name, false, NotEvaluated), false) r.Hypotheses ordinary
        let failed = checks |> List.filter (fun ((_, ok, _), made) -> made && not ok) |> List.map (fun ((n, _, why), _) -> n, why)
        let checks = checks |> List.map fst
        if not failed.IsEmpty then Evaluation.hypothesisNotMet failed checks
        else
            try
                let e = r.Conclusion input
                { e with Hypotheses = checks @ e.Hypotheses }
            with MissingInput why -> Evaluation.hypothesisNotMet [ missing why ] (checks @ [ let n, w = missing why in n, false, w ])
