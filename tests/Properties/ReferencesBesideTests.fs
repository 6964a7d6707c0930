/// The snapshot-only references (Layerwise, B.bound's analysis, the lemma chain's norms) computed on a thread of their own
/// beside the rows (`Registry.verifyRun`, docs/performance.md) give the rows of the checks evaluated alone, one after another.
module ResOdeProofs.Properties.ReferencesBesideTests

open System
open System.IO
open Xunit
open ResOdeProofs.Theory
open ResOdeProofs.Properties.EvidenceTests

/// What a row says, its timings left out.
let private said (r: Registry.VerdictRow) =
    let constants = r.Constants |> List.filter (fun (n, _) -> not (n.Contains "seconds")) |> List.map (fun (n, x) -> sprintf "%s=%.17g" n x)
    sprintf "%s|%s|%.17g|%.17g|%.17g|%.17g|%s|%s" r.Id r.Verdict r.Measured r.Bound r.TightnessMin r.TightnessMax r.Detail (String.concat ";" constants)

let private beside (dir: string) = Registry.verifyRun (Run.Load dir) |> List.map said
let private alone (dir: string) =
    let run = Run.Load dir
    Registry.singleRun |> List.map (fun r -> Registry.evaluateRow r run.Directory run |> said)

[<Fact>]
let ``Registry.verifyRun: references beside the replay, faithful run → the rows of the checks alone`` () =
    let dir = write (produce f64 GD 1 L false eta N snaps) false (gdJson eta) ignore
    try
        let b = beside dir
        Assert.Equal<string list>(alone dir, b)
        Assert.Contains(b, fun s -> s.StartsWith "B.bound|holds|")
    finally Directory.Delete(dir, true)

[<Fact>]
let ``Registry.verifyRun: references beside the replay, one layer of the last snapshot bumped → the rows of the checks alone, E.replay violated`` () =
    let dir = write (produce f64 GD 3 L false eta N snaps |> bump 0.005 5) false (gdJson eta) ignore
    try
        let b = beside dir
        Assert.Equal<string list>(alone dir, b)
        Assert.Contains(b, fun s -> s.StartsWith "E.replay|VIOLATED|")
    finally Directory.Delete(dir, true)

[<Fact>]
let ``Run.BesideTheRows: one view verified twice → the three parts of the last verify only, B.bound's analysis with its solves`` () =
    let dir = write (produce f64 GD 1 L false eta N snaps) false (gdJson eta) ignore
    try
        let run = Run.Load dir
        let parts () = run.BesideTheRows |> Seq.map (fun p -> p.Part) |> List.ofSeq
        Registry.verifyRun run |> ignore
        let first = parts ()
        Assert.Equal(3, first.Length)
        Assert.Contains(run.BesideTheRows, fun p -> p.Part.StartsWith "B.bound's analysis" && p.Detail.StartsWith "its reference ODE solves")
        // the second verify finds every reference kept by the view, and its record replaces the first
        Registry.verifyRun run |> ignore
        Assert.Equal<string list>(first, parts ())
    finally Directory.Delete(dir, true)

/// A selection's rows, and the parts computed beside them.
let private selected (ids: string list) (dir: string) =
    let run = Run.Load dir
    let rows = Registry.verifyRunSelected (fun id -> List.contains id ids) run |> List.map said
    rows, run.BesideTheRows |> Seq.map (fun p -> p.Part) |> List.ofSeq

[<Fact>]
let ``Registry.verifyRunSelected: a selection with B rows → B.bound's analysis alone beside them, the rows of the checks alone`` () =
    let dir = write (produce f64 GD 1 L false eta N snaps) false (gdJson eta) ignore
    try
        let ids = [ "I.loss"; "E.replay"; "B.bound"; "B.local" ]
        let rows, parts = selected ids dir
        let run = Run.Load dir
        let aloneRows = Registry.singleRun |> List.filter (fun r -> List.contains r.Id ids) |> List.map (fun r -> Registry.evaluateRow r run.Directory run |> said)
        Assert.Equal<string list>(aloneRows, rows)
        Assert.Contains(rows, fun s -> s.StartsWith "B.bound|holds|")
        Assert.Equal(1, parts.Length)
        Assert.StartsWith("B.bound's analysis", parts.Head)
        // every B row of the registry reads the analysis, and each reader is a registered single-run result
        Assert.True(Registry.analysisReaders.Contains "B.bound" && Registry.analysisReaders.Contains "B.bound.secant")
        for id in Registry.analysisReaders do Assert.Contains(Registry.singleRun, fun r -> r.Id = id)
    finally Directory.Delete(dir, true)

[<Fact>]
let ``Registry.verifyRunSelected: a selection without B rows → nothing computed beside its rows`` () =
    let dir = write (produce f64 GD 1 L false eta N snaps) false (gdJson eta) ignore
    try
        let rows, parts = selected [ "I.loss"; "E.replay" ] dir
        Assert.Equal(2, rows.Length)
        Assert.Empty(parts)
        // the control: the same run with B.bound chosen as well computes its analysis beside
        let _, withB = selected [ "I.loss"; "E.replay"; "B.bound" ] dir
        Assert.NotEmpty(withB)
    finally Directory.Delete(dir, true)
