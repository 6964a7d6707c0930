/// The evidence replay with and without the iterate observers (`Run.WithoutIterateObservers`): figure 1 across seeds reads
/// only the replay's columns, so its views replay without the split recursions that a full verify feeds from the same pass.
module ResOdeProofs.Properties.ReplayObserverTests

open Xunit
open ResOdeProofs.Numerics.IO
open ResOdeProofs.Numerics.Training
open ResOdeProofs.Theory

/// A short smooth GELU run of the engine, float64, snapshots from iteration 0: A.split's recursion joins its replay.
let private spec = RunSpec(Depth = 8, Width = 8, Samples = 10, Dim = 4, Eta = 0.01, Iterations = 40, Snapshots = 3, Seed = 3L)
let private data = lazy (RunDirectory.InMemory(spec.Train(), "observers"))

/// The split results register their observer when their file is first used.
let private splitRegistered () = Assert.NotEmpty(SplitResults.all); Assert.NotEmpty(Run.IterateObservers)

/// Each of `rows` has the verdict, measured value, bound and loosest tightness of the row of the same id in `whole`.
let private sameRows (whole: Registry.VerdictRow list) (rows: Registry.VerdictRow list) =
    for r in rows do
        let w = whole |> List.find (fun x -> x.Id = r.Id)
        Assert.Equal(w.Verdict, r.Verdict)
        Assert.Equal(w.Measured, r.Measured)
        Assert.Equal(w.Bound, r.Bound)
        Assert.Equal(w.TightnessMax, r.TightnessMax)

[<Fact>]
let ``Run.WithoutIterateObservers: a GELU run replayed → no observer fed, every replayed column and the E.replay verdict as the full view's`` () =
    splitRegistered ()
    let full = Run(data.Value)
    let plain = Run(data.Value).WithoutIterateObservers()
    let zf, zp = full.Trace "smooth_z", plain.Trace "smooth_z"
    Assert.True(full.ObserversFed >= 1, "the full view's replay feeds A.split's recursion")
    Assert.Equal(0, plain.ObserversFed)
    Assert.True(zf.IsSome && zp.IsSome)
    for KeyValue(name, col) in full.VerifiedColumns.Value do
        Assert.Equal<float[]>(col, plain.VerifiedColumns.Value.[name])
    Assert.Equal((Result.evaluate ReplayEvidence.replay full).Verdict, (Result.evaluate ReplayEvidence.replay plain).Verdict)

[<Fact>]
let ``Run.WithoutIterateObservers: the view's replay has run → refused`` () =
    let run = Run(data.Value)
    run.Trace "smooth_z" |> ignore
    Assert.Throws<System.InvalidOperationException>(fun () -> run.WithoutIterateObservers() |> ignore) |> ignore

[<Fact>]
let ``A.split.segments: a view replayed without its observers → the same row as the full view (the recursion from a pass of its own)`` () =
    splitRegistered ()
    let full = Run(data.Value)
    let plain = Run(data.Value).WithoutIterateObservers()
    plain.Trace "smooth_z" |> ignore
    let a = Registry.evaluateRow SplitResults.splitSegments "full" full
    let b = Registry.evaluateRow SplitResults.splitSegments "plain" plain
    Assert.Equal(a.Verdict, b.Verdict)
    Assert.Equal(a.Measured, b.Measured)
    Assert.Equal(a.Bound, b.Bound)

[<Fact>]
let ``Registry.verifyRunSelected: no split result chosen → the replay feeds no observer; A.split chosen → it does; each row the whole verify's`` () =
    splitRegistered ()
    let sameAsWhole = sameRows (Registry.verifyRun (Run(data.Value)))
    let plain = Run(data.Value)
    let rows = Registry.verifyRunSelected (Registry.selection [ "B.bound"; "E.replay" ]) plain
    Assert.Equal(0, plain.ObserversFed)
    Assert.Equal<string list>(Registry.singleRun |> List.map (fun r -> r.Id) |> List.filter (fun id -> id = "B.bound" || id = "E.replay"), rows |> List.map (fun r -> r.Id))
    sameAsWhole rows
    let split = Run(data.Value)
    let srows = Registry.verifyRunSelected (Registry.selection [ "A.split" ]) split
    Assert.True(split.ObserversFed >= 1, "A.split chosen: the replay feeds its recursion")
    Assert.Equal<string list>([ "A.split" ], srows |> List.map (fun r -> r.Id))
    sameAsWhole srows

[<Fact>]
let ``Run.WithoutCentre: a GELU run replayed → the observer fed without the centre; every other field of A.split's bounds as the full view's, bit for bit`` () =
    splitRegistered ()
    let full = Run(data.Value)
    let part = Run(data.Value).WithoutCentre()
    Assert.False(part.CentreWanted)
    part.Trace "smooth_z" |> ignore
    Assert.True(part.ObserversFed >= 1, "the split observer still joins the replay")
    let a, b = SplitResults.bounds full, SplitResults.bounds part
    Assert.NotEmpty(a.Centre)
    Assert.Empty(b.Centre)
    Assert.Equal<float[]>(a.FromZero, b.FromZero)
    Assert.Equal<float[]>(a.Segments, b.Segments)
    Assert.Equal<float[][]>(a.FromZeroPairs, b.FromZeroPairs)
    Assert.Equal<float[][]>(a.SegmentPairs, b.SegmentPairs)
    Assert.Equal(a.AMax, b.AMax)
    Assert.Equal(a.LEMax, b.LEMax)
    Assert.Equal(a.ReplayDrift, b.ReplayDrift)

[<Fact>]
let ``Run.WithoutCentre: the view's replay has run → refused`` () =
    let run = Run(data.Value)
    run.Trace "smooth_z" |> ignore
    Assert.Throws<System.InvalidOperationException>(fun () -> run.WithoutCentre() |> ignore) |> ignore

[<Fact>]
let ``A.split.centre.segments: a view whose replay left the centre out → the same row as the full view (replayed once more with the centre)`` () =
    splitRegistered ()
    let full = Run(data.Value)
    let part = Run(data.Value).WithoutCentre()
    part.Trace "smooth_z" |> ignore
    Assert.Empty((SplitResults.bounds part).Centre)
    let a = Registry.evaluateRow SplitResults.centreSegments "full" full
    let b = Registry.evaluateRow SplitResults.centreSegments "part" part
    Assert.Equal("holds", a.Verdict)
    Assert.Equal(a.Verdict, b.Verdict)
    Assert.Equal(a.Measured, b.Measured)
    Assert.Equal(a.Bound, b.Bound)
    Assert.Equal(a.TightnessMax, b.TightnessMax)

[<Fact>]
let ``Registry.verifyRunSelected: split results chosen without the centre's → the observer leaves the centre out; the centre's chosen → it does not; each row the whole verify's`` () =
    splitRegistered ()
    let sameAsWhole = sameRows (Registry.verifyRun (Run(data.Value)))
    let part = Run(data.Value)
    let rows = Registry.verifyRunSelected (Registry.selection [ "A.split"; "A.split.segments"; "L5.split"; "L5.forcing" ]) part
    Assert.False(part.CentreWanted)
    Assert.Empty((SplitResults.bounds part).Centre)
    Assert.Equal<string list>([ "L5.split"; "L5.forcing"; "A.split"; "A.split.segments" ] |> List.sort, rows |> List.map (fun r -> r.Id) |> List.sort)
    sameAsWhole rows
    let withCentre = Run(data.Value)
    let crows = Registry.verifyRunSelected (Registry.selection [ "A.split.segments"; "A.split.centre.segments" ]) withCentre
    Assert.True(withCentre.CentreWanted)
    Assert.NotEmpty((SplitResults.bounds withCentre).Centre)
    sameAsWhole crows

[<Fact>]
let ``Registry.selection: ids, former ids and prefixes → chosen as a study's results list chooses them; unknownPatterns → the patterns that name no result`` () =
    let s = Registry.selection [ "G.B.bound"; "L5." ]
    Assert.True(s "B.bound")
    Assert.False(s "B.bound.secant")
    Assert.True(s "L5.split")
    Assert.False(s "A.split")
    Assert.True((Registry.selection []) "anything")
    Assert.Equal<string list>([ "Z.none"; "B.boun" ], Registry.unknownPatterns [ "Z.none"; "B.bound"; "B.boun"; "I."; "A.rate" ])

[<Fact(DisplayName = "E.replay and the split statements: the engine's run with its inputs scaled by 10⁶ after training (the replay and its observer leave the finite numbers) → E.replay violated (the bit-exact claim refuted), the split statements hypothesis not met, no row an error; E.replay's verdict the same alone")>]
let ``a replay that leaves the finite numbers: no error rows`` () =
    splitRegistered ()
    let dir = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "resode-xscaled-" + System.Guid.NewGuid().ToString("N"))
    try
        RunDirectory.Write(spec.Train(), dir)
        let xPath = System.IO.Path.Combine(dir, "x.npy")
        let x = Npy.Read xPath
        Npy.Write(xPath, System.ReadOnlySpan(x.Data |> Array.map (fun v -> v * 1e6)), x.Shape)
        let whole = Registry.verifyRun (Run(RunDirectory.Read dir))
        // before, the observer's ranges of a non-finite pass reached Activations.SupAbsDerivative as (+∞, −∞) and every row
        // that reads the replay was an error
        for r in whole do Assert.False(r.IsError, sprintf "%s: %s %s" r.Id r.Verdict r.Detail)
        let row id = whole |> List.find (fun r -> r.Id = id)
        // the engine's own run claims a bit-exact replay: a replay that leaves the finite numbers refutes it
        Assert.True((row "E.replay").IsViolated, sprintf "E.replay: %s %s" (row "E.replay").Verdict (row "E.replay").Detail)
        for id in [ "A.split"; "A.split.segments"; "A.split.centre.segments" ] do
            Assert.True((row id).Verdict.StartsWith("hypothesis not met"), sprintf "%s: %s %s" id (row id).Verdict (row id).Detail)
        let alone = Registry.verifyRunSelected (Registry.selection [ "E.replay" ]) (Run(RunDirectory.Read dir))
        Assert.Equal((row "E.replay").Verdict, alone.Head.Verdict)
    finally
        if System.IO.Directory.Exists dir then System.IO.Directory.Delete(dir, true)
