/// `Comparison.evaluation` in one pass over the checks against the code it replaces, kept here: `worst`,
/// `tightnessRange` and `series` each over the whole set (three passes, the filtered copies and a tuple per check).
/// Every field of the evaluation must be the same (the verdict with its witness, measured, bound, the tightness range
/// with its places, every series point) on sets that hold, fail, carry NaN or ±∞, zero and negative bounds and
/// measurements, ties, and times that repeat as the same string object or as equal strings; the comparison is shown to
/// see a reference that breaks ties the other way.
module ResOdeProofs.Properties.EvaluationOnePassTests

open System
open Xunit
open ResOdeProofs.Theory
open ResOdeProofs.Theory.Comparison

/// The former `evaluation`: the worst comparison, the tightness range and the series, each in its own pass.
let private formerEvaluation (rel: float) (checks: Check seq) constants notes : Evaluation =
    let arr = Seq.toArray checks
    let v, w = worst rel arr
    { Verdict = v
      Measured = w |> Option.map (fun c -> c.Measured)
      Bound = w |> Option.map (fun c -> c.Bound)
      Hypotheses = []
      Constants = constants
      Notes = notes
      Range = tightnessRange arr
      Series = series arr }

/// A reference that differs only in how it breaks ties of the worst comparison (the last instead of the first): the
/// control the comparison below must tell apart from the evaluation when a set has tied worst comparisons.
let private lastOfTies (rel: float) (checks: Check seq) : Evaluation =
    let e = formerEvaluation rel checks [] []
    let arr = Seq.toArray checks
    let finite = arr |> Array.filter (fun c -> Double.IsFinite c.Bound && not (Double.IsNaN c.Measured))
    if finite.Length = 0 then e
    else
        let ratio c = if c.Measured <= 0.0 then 0.0 elif c.Bound <= 0.0 then infinity else c.Measured / c.Bound
        let w = finite |> Array.rev |> Array.maxBy ratio
        { e with Verdict = Verdict.compare w.Measured w.Bound rel w.Where w.When; Measured = Some w.Measured; Bound = Some w.Bound }

let private bits (x: float) = BitConverter.DoubleToInt64Bits x

/// Every field equal: floats bit for bit, texts exactly.
let private same (a: Evaluation) (b: Evaluation) =
    let optBits (x: float option) = x |> Option.map bits
    sprintf "%A" a.Verdict = sprintf "%A" b.Verdict
    && optBits a.Measured = optBits b.Measured
    && optBits a.Bound = optBits b.Bound
    && (match a.Range, b.Range with
        | None, None -> true
        | Some r, Some s -> bits r.Min = bits s.Min && bits r.Max = bits s.Max && r.MinAt = s.MinAt && r.MaxAt = s.MaxAt && r.Count = s.Count
        | _ -> false)
    && a.Series.Length = b.Series.Length
    && List.forall2 (fun (p: SeriesPoint) (q: SeriesPoint) ->
        p.When = q.When && p.Where = q.Where && bits p.Measured = bits q.Measured && bits p.Bound = bits q.Bound && p.Count = q.Count) a.Series b.Series

/// A set of comparisons: `count` checks over `times` times (each time one string object, repeated in runs, or a fresh
/// equal string); bounds from a small grid and measured values a grid fraction of them, so that ties occur, a measured
/// value above its bound at rate `failRate`, and NaN, ±∞, zeros and negatives mixed into either at rate `oddRate`.
let private draw (rnd: Random) (count: int) (times: int) (failRate: float) (oddRate: float) =
    let names = Array.init times (fun t -> sprintf "iteration %d" t)
    let odd () =
        match rnd.Next 6 with
        | 0 -> nan
        | 1 -> infinity
        | 2 -> -infinity
        | 3 -> 0.0
        | 4 -> -0.0
        | _ -> -1.0
    let mutable t = 0
    Array.init count (fun i ->
        if rnd.Next 3 = 0 then t <- rnd.Next times
        let w = if rnd.Next 4 = 0 then String(names.[t].ToCharArray()) else names.[t]
        let bound = if rnd.NextDouble() < oddRate then odd () else float (1 + rnd.Next 8) * 0.25
        let fraction = if rnd.NextDouble() < failRate then 1.5 else float (rnd.Next 5) * 0.25
        let measured = if rnd.NextDouble() < oddRate then odd () else bound * fraction
        { Measured = measured; Bound = bound; Where = sprintf "layer %d" (rnd.Next 5); When = w })

[<Fact>]
let ``Comparison.evaluation: 3 000 random sets (ties, NaN, ±∞, zeros, repeated times) → the former three-pass evaluation's every field`` () =
    let rnd = Random 20261202
    let mutable violated, holds, other = 0, 0, 0
    for trial in 0 .. 2999 do
        let count = if trial % 50 = 0 then 0 else 1 + rnd.Next 400
        let times = 1 + rnd.Next(if trial % 3 = 0 then 200 else 10)
        let odd = [| 0.0; 0.001; 0.05; 0.5 |].[trial % 4]
        let fail = [| 0.0; 0.0; 0.002; 0.2; 0.0 |].[trial % 5]
        let cs = draw rnd count times fail odd
        let rel = [| 0.0; 1e-12; 0.5 |].[trial % 3]
        let e = evaluation rel cs [ "c", 1.0 ] [ "n" ]
        let f = formerEvaluation rel cs [ "c", 1.0 ] [ "n" ]
        Assert.True(same e f, sprintf "trial %d: %A\nagainst %A" trial e f)
        // the same set given as a sequence rather than an array
        Assert.True(same (evaluation rel (Seq.ofArray cs) [] []) (formerEvaluation rel cs [] []), sprintf "trial %d (seq)" trial)
        match e.Verdict with
        | Violated _ -> violated <- violated + 1
        | Holds _ -> holds <- holds + 1
        | _ -> other <- other + 1
    // the sets reached every kind of verdict
    Assert.True(violated > 100 && holds > 100 && other > 100, sprintf "violated %d, holds %d, other %d" violated holds other)

[<Fact>]
let ``Comparison.evaluation: tied worst comparisons at different places → the first, as before; a reference taking the last of the ties differs`` () =
    let w1, w2 = "snapshot 1", "snapshot 2"
    let cs =
        [| { Measured = 1.0; Bound = 4.0; Where = "layer 0"; When = w1 }
           { Measured = 3.0; Bound = 4.0; Where = "layer 1"; When = w1 }
           { Measured = 1.5; Bound = 2.0; Where = "layer 2"; When = w2 }
           { Measured = 0.5; Bound = 2.0; Where = "layer 3"; When = w2 } |]
    let e = evaluation 0.0 cs [] []
    Assert.True(same e (formerEvaluation 0.0 cs [] []))
    match e.Verdict with
    | Holds _ -> ()
    | v -> failwithf "expected holds, got %A" v
    Assert.Equal(Some 3.0, e.Measured)
    // the control: the other choice among the tied worst comparisons is seen
    Assert.False(same e (lastOfTies 0.0 cs))

[<Fact>]
let ``Comparison.evaluation: one comparison of a set raised above its bound → violated at that place, as the former code`` () =
    let rnd = Random 7
    let cs = Array.init 500 (fun i -> { Measured = 0.5 + 0.4 * rnd.NextDouble(); Bound = 1.0; Where = sprintf "sample %d" i; When = sprintf "layer %d" (i / 10) })
    let clean = evaluation 0.0 cs [] []
    Assert.True(Verdict.isHolds clean.Verdict)
    let bad = Array.copy cs
    bad.[317] <- { bad.[317] with Measured = 1.0 + 1e-9 }
    let e = evaluation 0.0 bad [] []
    Assert.True(same e (formerEvaluation 0.0 bad [] []))
    match e.Verdict with
    | Violated w -> Assert.Equal("sample 317", w.Where)
    | v -> failwithf "expected violated, got %A" v
