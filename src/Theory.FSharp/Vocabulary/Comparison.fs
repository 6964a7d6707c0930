/// The comparison kernel every result uses: a measured quantity against its bound at a place and a time, the worst
/// of many such comparisons as a verdict and the tightness range over them. The relative allowance a comparison carries
/// is the caller's, derived for its kind of comparison in `Rounding` (docs/theorems/RunIntegrity.md, "Rounding
/// allowances"); no fixed allowance is defined here.
module ResOdeProofs.Theory.Comparison

open System
open ResOdeProofs.Theory

/// One comparison of a measured quantity with its bound, at a place and a time.
type Check = { Measured: float; Bound: float; Where: string; When: string }

/// The index in [0, count) of the largest key, the first key that is not a number counting as the largest: a worst-case
/// search must not pass over a non-finite entry, as `Array.maxBy` does with a NaN that is not first. Ties: the first,
/// as `Array.maxBy`. count ≥ 1.
let worstIndexMax (count: int) (key: int -> float) =
    if count < 1 then invalidArg "count" "no entry to search"
    let mutable best = 0
    let mutable bk = key 0
    let mutable i = 1
    while i < count && not (Double.IsNaN bk) do
        let k = key i
        if Double.IsNaN k || k > bk then
            best <- i
            bk <- k
        i <- i + 1
    best

/// `worstIndexMax` for the smallest key (a NaN key still counts as the worst); ties: the first, as `Array.minBy`.
let worstIndexMin (count: int) (key: int -> float) = worstIndexMax count (fun i -> -(key i))

/// The largest entry of a non-empty sequence, NaN when any entry is NaN, wherever it stands. `Array.max`, `Seq.max`,
/// `List.max` pass over a NaN that is not first, so a worst case taken with them can lose a comparison that was not a
/// number; every worst case and every bound constant of the theory layer is taken with this (or `worstBy`) instead
/// (docs/architecture.md, "Worst cases and NaN"). A sequence that holds placeholders (iterates before the first
/// snapshot, segments that measure no growth) is cut to the measured entries by their index before, never by NaN.
/// The extreme of `xs` in one pass (each entry evaluated once), `better x m` when x replaces m; a NaN entry ends the
/// pass as the result; `empty` for no entry (None: refused).
let private extremeKeepNaN (better: float -> float -> bool) (empty: float option) (xs: float seq) : float =
    use e = xs.GetEnumerator()
    if not (e.MoveNext()) then
        match empty with
        | Some v -> v
        | None -> invalidArg "xs" "no entry to take the extreme of"
    else
        let mutable m = e.Current
        while not (Double.IsNaN m) && e.MoveNext() do
            let x = e.Current
            if Double.IsNaN x || better x m then m <- x
        m

let maxKeepNaN (xs: float seq) : float = extremeKeepNaN (fun x m -> x > m) None xs

/// `maxKeepNaN` for the smallest entry: NaN when any entry is NaN.
let minKeepNaN (xs: float seq) : float = extremeKeepNaN (fun x m -> x < m) None xs

/// `maxKeepNaN`, with `empty` for a sequence with no entry (e.g. 0 for the largest increment of a one-layer network).
let maxKeepNaNOr (empty: float) (xs: float seq) = extremeKeepNaN (fun x m -> x > m) (Some empty) xs

/// `minKeepNaN`, with `empty` for a sequence with no entry.
let minKeepNaNOr (empty: float) (xs: float seq) = extremeKeepNaN (fun x m -> x < m) (Some empty) xs

/// The entry with the largest key, an entry whose key is NaN counting as the largest (`worstIndexMax`); ties: the first.
let worstBy (key: 'T -> float) (xs: 'T seq) : 'T =
    let a = Seq.toArray xs
    a.[worstIndexMax a.Length (fun i -> key a.[i])]

/// The entry with the smallest key, an entry whose key is NaN counting as the worst (`worstIndexMin`); ties: the first.
let worstByMin (key: 'T -> float) (xs: 'T seq) : 'T =
    let a = Seq.toArray xs
    a.[worstIndexMin a.Length (fun i -> key a.[i])]

/// Whether a comparison's allowance is at least the (non-zero) value it compares: it then cannot tell the value from 0 or
/// from twice it (a float32 run's rounding at trained weights, a loss at its floor). One predicate for I.loss', I.update's
/// (`Evaluation.requireInformative`) and E.claims' note; a value of 0 or NaN has nothing to be told from.
let cannotTell (value: float) (allowance: float) =
    not (Double.IsNaN value) && value <> 0.0 && not (allowance < abs value)

/// A measured value against a lower bound: holds when measured ≥ bound − allowance (the allowance absolute, derived by
/// the caller), with slack measured − bound and tightness measured / bound (+∞ for a bound ≤ 0); violated with the
/// witness otherwise. A bound that is not a number, or a measurement that is not, is not a failed comparison: no finite
/// bound claimed, or not measured (hypotheses not met), as in `Verdict.compare`.
let atLeast (measured: float) (bound: float) (allowance: float) (where': string) (when': string) =
    if Double.IsNaN bound || Double.IsNegativeInfinity bound then Verdict.noFiniteBound bound where' when'
    elif Double.IsNaN measured then Verdict.notMeasured where' when'
    elif measured < bound - allowance then Violated { Where = where'; When = when'; Measured = measured; Bound = bound }
    else Holds(measured - bound, (if bound <= 0.0 then infinity else measured / bound))

/// A comparison whose bound is a finite number and whose measurement is not NaN: the only kind that can hold or fail.
let private comparable (c: Check) = Double.IsFinite c.Bound && not (Double.IsNaN c.Measured)

/// The verdict of a set of comparisons from the worst finite one's verdict (`decided`, None when no comparison is finite)
/// and the first comparison that is not finite (`other`): a violated finite comparison decides; otherwise a bound that is
/// not finite is "no finite bound claimed" and a NaN measurement "not measured" (hypotheses not met), with how many of the
/// `total` comparisons had a finite bound (`finite`).
let private settle (decided: (Verdict * Check option) option) (other: Check option) (finite: int) (total: int) =
    match decided, other with
    | Some(Violated _, _ as d), _ -> d
    | _, Some c ->
        let v = if Double.IsNaN c.Measured && Double.IsFinite c.Bound then Verdict.notMeasured c.Where c.When else Verdict.noFiniteBound c.Bound c.Where c.When
        let v =
            match v with
            | HypothesisNotMet [ name, why ] ->
                HypothesisNotMet [ name, sprintf "%s; %d of %d comparisons had a finite bound and none of them failed" why finite total ]
            | other -> other
        v, Some c
    | Some d, None -> d
    | None, None -> NotApplicable "nothing to compare", None

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
                let w = finite |> worstBy ratio
                Some(Verdict.compare w.Measured w.Bound rel w.Where w.When, Some w)
        settle decided (arr |> Array.tryFind (comparable >> not)) finite.Length arr.Length

/// Tightness bound/measured over every finite comparison with measured > 0: smallest (tightest) and largest
/// (loosest) with where each was attained; None when no comparison measured anything positive.
let tightnessRange (checks: Check seq) : TightnessRange option =
    let pos = checks |> Seq.filter (fun c -> comparable c && c.Measured > 0.0) |> Seq.toArray
    if pos.Length = 0 then None
    else
        let t c = c.Bound / c.Measured
        let lo, hi = worstByMin t pos, worstBy t pos
        let at c = sprintf "%s, %s" c.Where c.When
        Some { Min = t lo; MinAt = at lo; Max = t hi; MaxAt = at hi; MaxMeasured = hi.Measured; MaxBound = hi.Bound; Count = pos.Length }

/// Points a series keeps at most: a result that compares at every iterate of a long run (thousands of times) is shown
/// by this many points, each the worst comparison of a run of consecutive times.
let SeriesPoints = 64

/// How near a comparison came to failing: measured / bound (0 when nothing was measured); a comparison that cannot
/// hold or fail (a bound that is not finite, a NaN measurement) ranks above every finite one, as in `worst`.
let private nearness (c: Check) =
    if not (comparable c) then infinity
    elif c.Measured <= 0.0 then 0.0
    elif c.Bound <= 0.0 then infinity
    else c.Measured / c.Bound

/// The series of a set of comparisons, kept compact: one point per time or depth (`When`, in the order first
/// compared), the comparison nearest to failing there; over more than `SeriesPoints` times, consecutive times are
/// merged into `SeriesPoints` runs of equal length, each kept as its worst comparison. Every point is a comparison the
/// result made (its own measured value, bound, place and time), and the verdict's deciding comparison, the worst of
/// all, is always one of them.
let series (checks: Check seq) : SeriesPoint list =
    let order = Collections.Generic.List<string>()
    let best = Collections.Generic.Dictionary<string, Check * int>()
    for c in checks do
        match best.TryGetValue c.When with
        | true, (w, n) -> best.[c.When] <- ((if nearness c > nearness w then c else w), n + 1)
        | _ ->
            order.Add c.When
            best.[c.When] <- (c, 1)
    let perTime = [| for w in order -> best.[w] |]
    let runs =
        if perTime.Length <= SeriesPoints then perTime |> Array.map Array.singleton
        else
            let per = (perTime.Length + SeriesPoints - 1) / SeriesPoints
            perTime |> Array.chunkBySize per
    [ for run in runs ->
        let c, n = run |> Array.reduce (fun (a, na) (b, nb) -> (if nearness b > nearness a then b else a), na + nb)
        { SeriesPoint.When = c.When; Where = c.Where; Measured = c.Measured; Bound = c.Bound; Count = n } ]

/// An evaluation from a set of checks, with constants and notes: the verdict of `worst`, the range of
/// `tightnessRange` and the points of `series`, found in one pass over the checks (a result's rows compare up to
/// ≈ 150 000 times). Each choice is made by the same rule as in those three functions, so the same comparison is
/// chosen and every field is the same: the worst ratio among the finite comparisons by `worstIndexMax`'s rule, the first
/// comparison that is not finite, the tightest and loosest positive comparison by `worstIndexMin`'s and `worstIndexMax`'s
/// rules, and per time the comparison nearest to failing with its count (a time that repeats the previous one as the
/// same string object is found without a lookup). Nothing is computed from the measured values or bounds but these
/// selections: no sum is formed, so no rounding changes.
let evaluation (rel: float) (checks: Check seq) constants notes : Evaluation =
    let arr = match checks with :? (Check[]) as a -> a | _ -> Seq.toArray checks
    // the worst finite comparison (ratio as in `worst`), the first not finite, their counts
    let mutable worstAt, worstKey, finiteCount, firstOther = -1, 0.0, 0, -1
    // the tightest (smallest bound / measured) and loosest positive comparison (as `tightnessRange`)
    let mutable loAt, loKey, hiAt, hiKey, posCount = -1, 0.0, -1, 0.0, 0
    // per time, in the order first compared: the comparison nearest to failing and how many (as `series`)
    let slotOf = Collections.Generic.Dictionary<string, int>()
    let slotBest = Collections.Generic.List<Check>()
    let slotCount = Collections.Generic.List<int>()
    let mutable lastWhen, lastSlot = null, -1
    for i in 0 .. arr.Length - 1 do
        let c = arr.[i]
        if comparable c then
            let r = if c.Measured <= 0.0 then 0.0 elif c.Bound <= 0.0 then infinity else c.Measured / c.Bound
            if worstAt < 0 then
                worstAt <- i
                worstKey <- r
            elif not (Double.IsNaN worstKey) && (Double.IsNaN r || r > worstKey) then
                worstAt <- i
                worstKey <- r
            finiteCount <- finiteCount + 1
            if c.Measured > 0.0 then
                let t = c.Bound / c.Measured
                let tl = -t
                if posCount = 0 then
                    loAt <- i
                    loKey <- tl
                    hiAt <- i
                    hiKey <- t
                else
                    if not (Double.IsNaN loKey) && (Double.IsNaN tl || tl > loKey) then
                        loAt <- i
                        loKey <- tl
                    if not (Double.IsNaN hiKey) && (Double.IsNaN t || t > hiKey) then
                        hiAt <- i
                        hiKey <- t
                posCount <- posCount + 1
        elif firstOther < 0 then firstOther <- i
        let slot =
            if lastSlot >= 0 && obj.ReferenceEquals(c.When, lastWhen) then lastSlot
            else
                match slotOf.TryGetValue c.When with
                | true, k -> k
                | _ ->
                    let k = slotBest.Count
                    slotOf.[c.When] <- k
                    slotBest.Add c
                    slotCount.Add 0
                    k
        if slotCount.[slot] > 0 && nearness c > nearness slotBest.[slot] then slotBest.[slot] <- c
        slotCount.[slot] <- slotCount.[slot] + 1
        lastWhen <- c.When
        lastSlot <- slot
    let v, w =
        if arr.Length = 0 then NotApplicable "nothing to compare", None
        else
            let decided =
                if finiteCount = 0 then None
                else
                    let w = arr.[worstAt]
                    Some(Verdict.compare w.Measured w.Bound rel w.Where w.When, Some w)
            settle decided (if firstOther < 0 then None else Some arr.[firstOther]) finiteCount arr.Length
    let range =
        if posCount = 0 then None
        else
            let lo, hi = arr.[loAt], arr.[hiAt]
            let at c = sprintf "%s, %s" c.Where c.When
            Some { Min = lo.Bound / lo.Measured; MinAt = at lo; Max = hi.Bound / hi.Measured; MaxAt = at hi
                   MaxMeasured = hi.Measured; MaxBound = hi.Bound; Count = posCount }
    let perTime = Array.init slotBest.Count (fun k -> slotBest.[k], slotCount.[k])
    let runs =
        if perTime.Length <= SeriesPoints then perTime |> Array.map Array.singleton
        else
            let per = (perTime.Length + SeriesPoints - 1) / SeriesPoints
            perTime |> Array.chunkBySize per
    let series =
        [ for run in runs ->
            let c, n = run |> Array.reduce (fun (a, na) (b, nb) -> (if nearness b > nearness a then b else a), na + nb)
            { SeriesPoint.When = c.When; Where = c.Where; Measured = c.Measured; Bound = c.Bound; Count = n } ]
    { Verdict = v
      Measured = w |> Option.map (fun c -> c.Measured)
      Bound = w |> Option.map (fun c -> c.Bound)
      Hypotheses = []
      Constants = constants
      Notes = notes
      Range = range
      Series = series }
