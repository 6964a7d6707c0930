/// The evidence results stated once for every architecture (docs/theorems/Evidence.md), on runs of blocks other than
/// the MLP: a faithful run holds, a corrupted input is rejected while the hypotheses stay met.
module ResOdeProofs.Properties.EvidenceEveryArchitectureTests

open Xunit
open ResOdeProofs.Numerics.Blocks
open ResOdeProofs.Numerics.IO
open ResOdeProofs.Numerics.Training
open ResOdeProofs.Theory
open ResOdeProofs.Properties.BlockProperties

let private hypothesesMet (e: Evaluation) = e.Hypotheses |> List.forall (fun (_, ok, _) -> ok)

/// The run with entry i of layer k of snapshot s moved by a relative `delta` (θ of the other snapshots shared).
let private moved (run: Run) (s: int) (k: int) (i: int) (delta: float) =
    let d = run.Data
    let theta = Array.copy d.Theta
    let t = Array.copy theta.[s]
    let at = k * run.ParameterCount + i
    t.[at] <- t.[at] * (1.0 + delta) + (if t.[at] = 0.0 then delta else 0.0)
    theta.[s] <- t
    Registry.openRun (
        RunData(Directory = d.Directory + " (moved)", Meta = d.Meta, Architecture = d.Architecture, Block = d.Block, Depth = d.Depth,
                Dim = d.Dim, Data = d.Data, A = d.A, B = d.B, Activation = d.Activation, Eta = d.Eta,
                Steps = d.Steps, Theta = theta, Losses = d.Losses, Trace = d.Trace))

[<Fact(DisplayName = "E.init: the report example of every catalog block → holds, through the MLP's code path")>]
let initHoldsOnBlocks () =
    for e in BlockCatalog.All |> Seq.filter (fun e -> not (isNull e.ReportExample)) do
        let run = trainBlock (reportExample e)
        let ev = Result.evaluate Evidence.init run
        Assert.True(Verdict.isHolds ev.Verdict, sprintf "%s: %A" e.Name ev.Verdict)

[<Fact(DisplayName = "E.init: a tied one-layer run with one entry of one layer of snapshot 0 moved by 10⁻⁶ → violated")>]
let initCatchesUntiedLayer () =
    let run = trainBlock (BlockRunSpec(Architecture = "one-layer", Depth = 4, Samples = 3, Dim = 2, Iterations = 2, Snapshots = 2, Init = InitKind.Tied))
    Assert.True(Verdict.isHolds (Result.evaluate Evidence.init run).Verdict)
    let e = Result.evaluate Evidence.init (moved run 0 2 0 1e-6)
    Assert.True(Verdict.isViolated e.Verdict && hypothesesMet e, sprintf "%A" e.Verdict)

[<Fact(DisplayName = "E.init: a smooth glu run whose declared lipschitz_parts of one part is half the measured → violated")>]
let initCatchesUnderstatedLipschitz () =
    let run = trainBlock ((reportExample (BlockCatalog.All |> Seq.find (fun e -> e.Name = "glu"))).With(init = InitKind.Smooth))
    Assert.True(Verdict.isHolds (Result.evaluate Evidence.init run).Verdict)
    let declared = run.Data.Meta.Init.LipschitzParts
    Assert.NotNull declared
    let part = fst run.Parts.[0]
    // the measured L·max_k‖θ_{k+1,q}(0) − θ_{k,q}(0)‖ of the part, halved and declared
    let P, L, o, size = run.ParameterCount, run.Setting.Depth, run.PartOffset 0, run.PartSize 0
    let t = run.Theta 0
    let measured = seq { for k in 0 .. L - 2 -> Linalg.frobeniusDiff t ((k + 1) * P + o) t (k * P + o) size } |> Seq.fold max 0.0
    Assert.True(measured > 0.0)
    declared.[part] <- 0.5 * float L * measured
    let e = Result.evaluate Evidence.init run
    Assert.True(Verdict.isViolated e.Verdict && hypothesesMet e, sprintf "%A" e.Verdict)
