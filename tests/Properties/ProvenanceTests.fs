/// A result whose comparison's allowance holds an estimate (not a bound) says so in its provenance: its rows read
/// "proved here (estimated: …)", naming the estimated quantity, where a derived allowance reads "proved here"
/// (docs/run-format.md, `verdicts.json`).
module ResOdeProofs.Properties.ProvenanceTests

open Xunit
open ResOdeProofs.Numerics.Training
open ResOdeProofs.Theory
open ResOdeProofs.Properties.Generators

/// The results whose pages name an estimate in their allowance, with the quantity estimated.
let private estimated =
    [ for id in [ "B.bound"; "B.bound.secant"; "B.bound.tangent"; "B.bound.defect"; "B.local" ] -> id, "the reference solve's error"
      for id in [ "A.flow"; "C.gfDecay"; "C.gfPathLength" ] -> id, "the producer's integration error"
      // (yield: a bare value among the for-parts of a list expression is discarded, and these two were not checked)
      yield "E.replay", "another producer's rounding; none on a bit-exact replay"
      yield "E.flowReplay", "another producer's integration errors, the loss' curvature; none on a bit-exact replay"
      for id in [ "C.gdDecay"; "C.pathLength"; "C.runRate" ] -> id, "another producer's rounding (E.replay's loss allowance); none on a bit-exact replay"
      for id in [ "A.split"; "A.split.segments"; "A.split.segments.remainder"; "A.split.centre.segments"; "A.split.centre.remainder" ] ->
          id, "another producer's landing (E.replay's allowance); none on a bit-exact replay"
      for id in [ "A.flow.split.segments"; "A.flow.split.segments.remainder"; "A.flow.split.centre.segments"; "A.flow.split.centre.remainder" ] ->
          id, "another producer's integration error (E.flowReplay's tolerance); none on a bit-exact replay" ]

[<Fact>]
let ``Provenance: the results whose allowance holds an estimate → 'proved here (estimated: …)' in their rows; I.*, L*, A.aposteriori → 'proved here'`` () =
    let all = Registry.singleRun @ Registry.blockSingleRun
    for (id, what) in estimated do
        let r = all |> List.tryFind (fun r -> r.Id = id)
        Assert.True(r.IsSome, sprintf "%s is not registered" id)
        match r.Value.Provenance with
        | ProvedHereEstimated w -> Assert.Equal(what, w)
        | p -> failwithf "%s: %A" id p
    for r in all do
        if r.Id.StartsWith "I." || r.Id.StartsWith "L" || r.Id.StartsWith "A.aposteriori" then
            Assert.True((r.Provenance = ProvedHere), sprintf "%s: %A" r.Id r.Provenance)
    // the rows as verify writes them
    let run = train (RunSpec(Depth = 4, Width = 4, Samples = 4, Dim = 2, Iterations = 2, Snapshots = 2, Seed = 1L))
    let row id = Registry.evaluateRow (all |> List.find (fun r -> r.Id = id)) "run" run
    Assert.Equal("proved here (estimated: the reference solve's error)", (row "B.bound").Provenance)
    Assert.Equal("proved here", (row "I.loss").Provenance)
