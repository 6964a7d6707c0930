/// The comparison kernel every result uses: a measured quantity against its bound at a place and a time, the worst
/// of many such comparisons as a verdict, the tightness range over them, and the float64 rounding allowance that a
/// comparison of two recomputed quantities carries (docs/theorems/RunIntegrity.md, "Rounding allowances";
/// allowances that depend on a run's precision and shape are in `Rounding`).
module ResOdeProofs.Theory.Comparison

open System
open ResOdeProofs.Theory

/// One comparison of a measured quantity with its bound, at a place and a time.
type Check = { Measured: float; Bound: float; Where: string; When: string }

/// Relative allowance for float64 rounding: every quantity compared with it is recomputed in double with
/// O(L·(m + d)) operations per entry, a relative error below L·(m + d)·1.1e-16 ≤ 1e-11 for the sizes of
/// this project; 1e-9 leaves a factor 100 of margin. It only matters when a bound is attained (e.g. V = 0).
let roundingRel = 1e-9

/// A comparison whose bound is a finite number and whose measurement is not NaN: the only kind that can hold or fail.
let private comparable (c: Check) = Double.IsFinite c.Bound && not (Double.IsNaN c.Measured)

/// The worst comparison (largest measured / bound) and its verdict; the tightness of a holding verdict
/// is then min over all checks of bound / measured. A violated finite comparison decides; otherwise a bound that
/// is not finite (overflow to ∞, or ∞·0 = NaN) is "no finite bound claimed" and a NaN measurement "not measured"
/// (hypotheses not met, never violations), reported at the first place they occur.
let worst (rel: float) (checks: Check seq) : Verdict * Check option =
    let arr = Seq.toArray checks
    if arr.Length = 0 then NotApplicable "nothing to compare", None
    else
        let ratio c =
            if c.Measured <= 0.0 then 0.0
            elif c.Bound <= 0.0 then infinity
            else c.Measured / c.Bound
        let finite = arr |> Array.filter comparable
        let decided =
            if finite.Length = 0 then None
            else
                let w = finite |> Array.maxBy ratio
                Some(Verdict.compare w.Measured w.Bound rel w.Where w.When, Some w)
        match decided, arr |> Array.tryFind (comparable >> not) with
        | Some(Violated _, _ as d), _ -> d
        | _, Some c ->
            let v = if Double.IsNaN c.Measured && Double.IsFinite c.Bound then Verdict.notMeasured c.Where c.When else Verdict.noFiniteBound c.Bound c.Where c.When
            let v =
                match v with
                | HypothesisNotMet [ name, why ] ->
                    HypothesisNotMet [ name, sprintf "%s; %d of %d comparisons had a finite bound and none of them failed" why finite.Length arr.Length ]
                | other -> other
            v, Some c
        | Some d, None -> d
        | None, None -> NotApplicable "nothing to compare", None

/// Tightness bound/measured over every finite comparison with measured > 0: smallest (tightest) and largest
/// (loosest) with where each was attained; None when no comparison measured anything positive.
let tightnessRange (checks: Check seq) : TightnessRange option =
    let pos = checks |> Seq.filter (fun c -> comparable c && c.Measured > 0.0) |> Seq.toArray
    if pos.Length = 0 then None
    else
        let t c = c.Bound / c.Measured
        let lo, hi = Array.minBy t pos, Array.maxBy t pos
        let at c = sprintf "%s, %s" c.Where c.When
        Some { Min = t lo; MinAt = at lo; Max = t hi; MaxAt = at hi; Count = pos.Length }

/// An evaluation from a set of checks, with constants and notes.
let evaluation (rel: float) (checks: Check seq) constants notes : Evaluation =
    let arr = Seq.toArray checks
    let v, w = worst rel arr
    { Verdict = v
      Measured = w |> Option.map (fun c -> c.Measured)
      Bound = w |> Option.map (fun c -> c.Bound)
      Hypotheses = []
      Constants = constants
      Notes = notes
      Range = tightnessRange arr }
