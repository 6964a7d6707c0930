/// The series of a result's comparisons (Comparison.series): what a verdict row carries and the report plots. Every
/// point is a comparison the result made, the verdict's deciding comparison is one of them, and a corrupted comparison
/// shows in its point.
module ResOdeProofs.Properties.SeriesTests

open Xunit
open ResOdeProofs.Theory
open ResOdeProofs.Theory.Comparison

/// Two comparisons per iterate j = 1..n (a trace value and a snapshot value), bound b_j = 2^{-j/50}·(1 + j/n) and
/// measured b_j / (2 + sin j): every ratio measured/bound is in [1/3, 1], none attained.
let private checks n =
    [ for j in 1 .. n do
        let b = 2.0 ** (-float j / 50.0) * (1.0 + float j / float n)
        let w = sprintf "iteration %d (t = %g)" j (0.01 * float j)
        yield { Measured = b / (2.0 + sin (float j)); Bound = b; Where = "trace"; When = w }
        yield { Measured = b / (2.5 + sin (float j)); Bound = b; Where = "snapshot weights"; When = w } ]

let private isCheck (cs: Check list) (p: SeriesPoint) =
    cs |> List.exists (fun c -> c.When = p.When && c.Where = p.Where && c.Measured = p.Measured && c.Bound = p.Bound)

[<Fact>]
let ``Comparison.series: 40 iterates, two comparisons each → one point per iterate, the worst of the two, verdict holds`` () =
    let cs = checks 40
    let e = evaluation 0.0 cs [] []
    Assert.True(Verdict.isHolds e.Verdict)
    Assert.Equal(40, e.Series.Length)
    Assert.All(e.Series, fun p -> Assert.True(isCheck cs p && p.Count = 2 && p.Where = "trace", sprintf "%A" p))
    // the verdict's measured/bound pair is the series' worst point
    let worst = e.Series |> List.maxBy (fun p -> p.Measured / p.Bound)
    Assert.Equal(e.Measured, Some worst.Measured)
    Assert.Equal(e.Bound, Some worst.Bound)

[<Fact>]
let ``Comparison.series: 1000 iterates → at most SeriesPoints points standing for every comparison, the verdict's worst among them`` () =
    let cs = checks 1000
    let e = evaluation 0.0 cs [] []
    Assert.True(e.Series.Length <= SeriesPoints && e.Series.Length >= SeriesPoints / 2, sprintf "%d points" e.Series.Length)
    Assert.Equal(2000, e.Series |> List.sumBy (fun p -> p.Count))
    Assert.All(e.Series, fun p -> Assert.True(isCheck cs p, sprintf "%A" p))
    Assert.Contains(e.Series, fun p -> Some p.Measured = e.Measured && Some p.Bound = e.Bound)
    // the points keep the iterates' order
    let times = e.Series |> List.map (fun p -> float (p.When.Split(' ').[1]))
    Assert.Equal<float list>(List.sort times, times)

[<Fact>]
let ``Comparison.series: one snapshot comparison raised 10% above its bound → violated, its point shows the raised value`` () =
    let cs = checks 1000
    let j = 617
    let hit = cs |> List.findIndex (fun c -> c.Where = "snapshot weights" && c.When.StartsWith(sprintf "iteration %d " j))
    let bad = cs |> List.mapi (fun i c -> if i = hit then { c with Measured = 1.1 * c.Bound } else c)
    let e = evaluation 0.0 bad [] []
    match e.Verdict with
    | Violated w -> Assert.Equal(bad.[hit].When, w.When)
    | v -> failwithf "expected violated, got %A" v
    let p = e.Series |> List.find (fun p -> p.When = bad.[hit].When)
    Assert.Equal(1.1 * bad.[hit].Bound, p.Measured)
    Assert.Equal("snapshot weights", p.Where)

[<Fact>]
let ``Comparison.series: a bound that overflowed at one iterate → that point keeps ∞, verdict hypothesis not met`` () =
    let cs = checks 40 |> List.mapi (fun i c -> if i = 30 then { c with Bound = infinity } else c)
    let e = evaluation 0.0 cs [] []
    Assert.True(Verdict.isHypothesisNotMet e.Verdict, sprintf "%A" e.Verdict)
    let p = e.Series |> List.find (fun p -> p.When = cs.[30].When)
    Assert.True(System.Double.IsPositiveInfinity p.Bound)
