/// Every result and lemma of the theory layer in one place, and their evaluation on runs as plain rows
/// (for the CLI, the report and verdicts.json).
module ResOdeProofs.Theory.Registry

open System
open System.IO
open System.Text.Json
open System.Text.Json.Nodes

/// Results evaluated on one run.
let singleRun : Result<Run> list =
    RunIntegrity.all @ ReplayEvidence.mlpAll @ [ Evidence.init ] @ LemmaChain.all @ DepthSmoothness.all @ SplitResults.all @ FlowSplit.all @ EulerError.all @ PolyakLojasiewicz.all @ LimitDynamics.all
    |> List.map (fun r -> if r.Id.StartsWith "A." then Hypotheses.onLayerPairs r else r)

/// Rate statements evaluated on a ladder of runs that differ only in depth.
let ladder : Result<Ladder> list =
    DepthSmoothness.ladder @ EulerError.ladder @ LimitDynamics.ladder @ RateCurve.ladder

/// Results over the seeds of figure 1 (each seed a tied ladder of its own data and initialization).
let acrossSeeds : Result<RateCurve.SeedLadder list> list = RateCurve.acrossSeeds

/// The selection of every result (`verify` without --only).
let every : string -> bool = fun _ -> true

/// The single-run results that read the split recursions an evidence replay feeds as it goes (SplitResults'
/// iterate observer): a verify that chooses none of them replays without the observer.
let observedIds : Set<string> = SplitResults.all @ FlowSplit.all |> List.map (fun r -> r.Id) |> Set.ofList

/// The split statements that read the linearised centre (`Run.WithoutCentre`), of gradient descent and of the flow: a
/// verify that chooses other split statements but neither of these replays with an observer that leaves the centre out.
let centreIds = set [ SplitResults.centreSegments.Id; SplitResults.centreRemainder.Id; FlowSplit.flowCentreSegments.Id; FlowSplit.flowCentreRemainder.Id ]

/// One evaluated result, flattened (NaN where a number does not apply).
type VerdictRow =
    { Id: string
      Title: string
      Source: string
      Provenance: string
      Doc: string
      /// what it was evaluated on: a run directory, or "ladder L = 4, 8, 16"
      Input: string
      /// holds | VIOLATED | hypothesis not met | not applicable | error
      Verdict: string
      Measured: float
      Bound: float
      /// bound / measured of the comparison that decided the verdict, the tightest (NaN unless the verdict holds)
      Tightness: float
      /// bound / measured over every comparison the result made: smallest (tightest) and largest (loosest, the worst
      /// case of the bound), and where each was attained (NaN and "" unless the verdict holds)
      TightnessMin: float
      TightnessMinAt: string
      TightnessMax: float
      TightnessMaxAt: string
      /// the loosest comparison's measured value and bound (NaN unless the verdict holds): the worst case of the bound,
      /// reported first in the detail
      LoosestMeasured: float
      LoosestBound: float
      /// one line: the witness, the unmet hypotheses, or the slack
      Detail: string
      Hypotheses: (string * bool * string) list
      Constants: (string * float) list
      Notes: string list
      /// wall-clock seconds of the evaluation (a check that first computes a quantity shared with others pays for it)
      Seconds: float
      /// CPU seconds of the whole process during the evaluation (all threads, JIT and GC included)
      CpuSeconds: float
      /// the comparisons the verdict was decided on, one point per time or depth (Comparison.series; empty for a
      /// result that makes no point-by-point comparison): what the report plots
      Series: SeriesPoint list }
    member r.IsViolated = r.Verdict = "VIOLATED"
    /// The check could not be evaluated (the fifth outcome, `error`): not a verdict about the theorem.
    member r.IsError = r.Verdict = "error"

let private provenance = function
    | ProvedHere -> "proved here"
    | ProvedHereEstimated what -> "proved here (estimated: " + what + ")"
    | Empirical -> "empirical"

/// A holding comparison's slack; a negative one (the measured value above the bound by less than the comparison's
/// rounding allowance, the relative one a result states with its derivation) says so.
let private slackText (slack: float) =
    // (an upper bound crossed from below or a lower bound from above: the words name neither side)
    if slack < 0.0 then sprintf "%.4g (the bound crossed by less than the comparison's rounding allowance)" slack
    else sprintf "%.4g" slack

let private detail (e: Evaluation) =
    match e.Verdict, e.Range with
    | Holds (slack, t), _ when Double.IsPositiveInfinity t -> sprintf "slack %s (no finite bound/measured ratio)" (slackText slack)
    // worst case first: the loosest comparison's tightness leads, then the tightest (the one nearest to failing)
    | Holds (slack, t), Some r when r.Count > 1 && r.Max > t ->
        sprintf "tightness %.3gx at its loosest (measured %.4g, bound %.4g), %.3gx at its tightest; slack %s" r.Max r.MaxMeasured r.MaxBound t (slackText slack)
    | Holds (slack, t), _ -> sprintf "slack %s, tightness %.3gx" (slackText slack) t
    | Violated w, _ ->
        // six digits unless they print the two numbers alike (a comparison failed by less than a millionth): then all of them
        let m, b = sprintf "%.6g" w.Measured, sprintf "%.6g" w.Bound
        let m, b = if m = b then sprintf "%.17g" w.Measured, sprintf "%.17g" w.Bound else m, b
        // a lower bound (C.mu0's μ₀, a rate's claimed order) fails from below: the sign says which side was crossed
        if w.Measured < w.Bound then sprintf "at %s, %s: measured %s < bound %s (a lower bound)" w.Where w.When m b
        else sprintf "at %s, %s: measured %s > bound %s" w.Where w.When m b
    | HypothesisNotMet hs, _ -> hs |> List.map (fun (n, why) -> sprintf "%s: %s" n why) |> String.concat "; "
    | NotApplicable why, _ -> why
    | CheckError why, _ -> why

/// The tightness range of a holding evaluation: the one over all its comparisons, or the verdict's own tightness
/// (a result that made one comparison).
let tightnessRange (e: Evaluation) : TightnessRange option =
    match e.Verdict, e.Range with
    | Holds _, Some r -> Some r
    | Holds (_, t), None ->
        // no comparison measured anything positive: one comparison, or several all measuring 0 (the series counts them)
        let n = e.Series |> List.sumBy (fun p -> p.Count)
        let at = if n > 1 then sprintf "%d comparisons, none measuring above 0" n else "the only comparison"
        Some { Min = t; MinAt = at; Max = t; MaxAt = at; MaxMeasured = defaultArg e.Measured nan; MaxBound = defaultArg e.Bound nan; Count = max 1 n }
    | _ -> None

/// CPU seconds this process has used so far (all threads).
let processCpuSeconds () =
    use p = Diagnostics.Process.GetCurrentProcess()
    p.TotalProcessorTime.TotalSeconds

/// The exceptions of the checks that raised (result id, input, exception) in the order they came: the row carries one
/// line; `resode verify` writes these, stack traces included, to a log file it names.
let checkFailures = System.Collections.Concurrent.ConcurrentQueue<struct (string * string * exn)>()

/// Evaluates one result on one input, timing it; an exception becomes an `error` row naming it (not a verdict),
/// so that one broken check cannot hide the others.
let evaluateRow (r: Result<'input>) (inputName: string) (input: 'input) : VerdictRow =
    let sw = Diagnostics.Stopwatch.StartNew()
    let cpu0 = processCpuSeconds ()
    let e =
        try Result.evaluate r input
        with ex ->
            checkFailures.Enqueue(struct (r.Id, inputName, ex))
            { Verdict = CheckError(sprintf "the check raised %s: %s" (ex.GetType().Name) ex.Message)
              Measured = None; Bound = None; Hypotheses = []; Constants = []; Notes = []; Range = None; Series = [] }
    let range = tightnessRange e
    { Id = r.Id; Title = r.Title; Source = r.Source; Provenance = provenance r.Provenance; Doc = r.Doc
      Input = inputName
      Verdict = Verdict.label e.Verdict
      Measured = defaultArg e.Measured nan
      Bound = defaultArg e.Bound nan
      Tightness = (match e.Verdict with Holds (_, t) -> t | _ -> nan)
      TightnessMin = (match range with Some t -> t.Min | None -> nan)
      TightnessMinAt = (match range with Some t -> t.MinAt | None -> "")
      TightnessMax = (match range with Some t -> t.Max | None -> nan)
      TightnessMaxAt = (match range with Some t -> t.MaxAt | None -> "")
      LoosestMeasured = (match range with Some t -> t.MaxMeasured | None -> nan)
      LoosestBound = (match range with Some t -> t.MaxBound | None -> nan)
      Detail = (if List.contains Evaluation.AnyWeights e.Notes && Verdict.isHolds e.Verdict then sprintf "%s (%s)" (detail e) Evaluation.AnyWeights else detail e)
      Hypotheses = e.Hypotheses; Constants = e.Constants; Notes = e.Notes
      Seconds = sw.Elapsed.TotalSeconds
      CpuSeconds = processCpuSeconds () - cpu0
      Series = e.Series }

/// One ladder result on a ladder, its input named "ladder L = 4, 8, 16".
let evaluateOnLadder (r: Result<Ladder>) (l: Ladder) : VerdictRow =
    evaluateRow r (sprintf "ladder L = %s" (l.Depths |> List.map string |> String.concat ", ")) l

/// The MLP's reference computations that read only the snapshots (no replayed iterate): `Layerwise` of every snapshot
/// (I.loss and the lemma chain), the lemma chain's norms (L1.hidden on) and B.bound's analysis (B.bound, B.bound.secant,
/// B.bound.defect, B.local), started on a thread of their own while the rows are evaluated in order. The evidence
/// replay's two lanes (the replay and A.split's recursion, which the replay waits for) leave a core mostly idle during
/// E.replay; these use it. Each is kept once per run (a Lazy: a row that asks while it is being computed waits for it),
/// and each is the same function of the same snapshot on whatever thread it runs, so every row is the same; a failure is
/// left to the row that reads it (the computation is asked again there, or its kept failure rethrown). Exactly what the
/// rows compute on such a run: B.bound's analysis only when the weights are finite (its rows' hypothesis before it
/// asks), the lemma chain's norms only when the run did not diverge.
/// Each part's wall and its thread's processor seconds are recorded on the view (`Run.BesideTheRows`, for `verify --timings`).
/// With `analysisOnly` (a selection of results: `verifyRunSelected`), only B.bound's analysis, which every chosen B row reads
/// (`analysisReaders`), and which is by far the costliest part (figure 2: about 6–7 s of wall beside a 10 s replay).
let private referencesBeside (analysisOnly: bool) (run: Run) : Threading.Tasks.Task =
    run.RestartBesideTheRows()
    Threading.Tasks.Task.Run(fun () ->
        let quietly (f: unit -> unit) = try f () with _ -> ()
        let timed part readBy (f: unit -> string) =
            let sw = Diagnostics.Stopwatch.StartNew()
            let c0 = ResOdeProofs.Numerics.ThreadClock.Seconds()
            let detail = f ()
            run.RecordBesideTheRows
                { Part = part; ReadBy = readBy; Seconds = sw.Elapsed.TotalSeconds
                  CpuSeconds = ResOdeProofs.Numerics.ThreadClock.Seconds() - c0; Detail = detail }
        if not analysisOnly then
            timed (sprintf "the layerwise reference pass of each snapshot (%d)" run.SnapshotCount) "I.loss, I.update, the lemma chain, B.*" (fun () ->
                for s in 0 .. run.SnapshotCount - 1 do quietly (fun () -> run.Layerwise s |> ignore)
                "")
        if EulerError.weightsFinite run then
            timed "B.bound's analysis of every snapshot" "B.bound, B.bound.secant, B.bound.defect, B.local" (fun () ->
                try
                    let checks = EulerError.analyse run
                    // the two reference solves of each snapshot, each timed on the thread that ran it (the second is not on this one)
                    let solves = checks |> Array.sumBy (fun c -> c.OdeCpuSeconds)
                    if Double.IsFinite solves then sprintf "its reference ODE solves %.3g s CPU (both tolerances, %d snapshots)" solves checks.Length
                    else "" // no thread clock on this system
                with _ -> "it failed (its rows say why)")
        if not analysisOnly && not run.Setting.Diverged then
            timed "the lemma chain's norms at every snapshot" "L1.hidden on" (fun () ->
                for s in 0 .. run.SnapshotCount - 1 do quietly (fun () -> LemmaChain.snapshotNorms run s |> ignore)
                ""))

/// The three parts of `referencesBeside` for a verify of every result.
let referencesBesideTheReplay (run: Run) : Threading.Tasks.Task = referencesBeside false run

/// The single-run results whose rows read B.bound's analysis of every snapshot (`EulerError.analyse`): EulerError's.
let analysisReaders : Set<string> = EulerError.all |> List.map (fun r -> r.Id) |> Set.ofList

/// E.profile on an MLP run's input (`DepthProfile.ofMlpRun`: the trace's smoothness in depth at the last snapshot against a
/// recomputation from its weights), the row whose constants the real-data pages read: listed for the Fashion-MNIST runs
/// of `resode fashion` and the paper preset, after their `verifyRun` rows.
let profileRow (input: DepthProfile.ProfileInput) : VerdictRow = evaluateRow DepthProfile.profile input.Name input

/// E.accuracy.train and E.accuracy.test on a Fashion-MNIST MLP cell (`FashionAccuracy.ofMlpRun`: each set's claimed
/// accuracy against a recount from the last snapshot's weights and the images), the rows whose constants the real-data
/// pages read; the same ids as a bn-conv run's rows (`verifyBnConv`), the statement evaluated with each network's own
/// evaluation.
let accuracyRows (input: FashionAccuracy.AccuracyInput) : VerdictRow list =
    FashionAccuracy.all |> List.map (fun r -> evaluateRow r input.Name input)

/// Every single-run result of the MLP on an MLP run chosen by `select` (an id → evaluated or not). A replayed run (plain or
/// clipped gradient descent) with every result chosen has its snapshot-only reference computations started beside the rows
/// (`referencesBesideTheReplay`), one with a selection that reads B.bound's analysis that analysis alone
/// (`analysisReaders`); the rows are the same either way, and the call returns only when that thread has
/// finished. When no chosen result reads the split recursions (`observedIds`), the view replays without its iterate
/// observers (`Run.WithoutIterateObservers`); when they are chosen but not the centre's (`centreIds`), without the centre
/// (`Run.WithoutCentre`): a chosen result that needs what was left out after all replays once more (the same rows).
let verifyRunSelected (select: string -> bool) (run: Run) : VerdictRow list =
    let chosen = singleRun |> List.filter (fun r -> select r.Id)
    let whole = chosen.Length = singleRun.Length
    let run =
        if not whole && not (chosen |> List.exists (fun r -> observedIds.Contains r.Id)) && not run.Replayed then
            run.WithoutIterateObservers()
        elif not whole && not (chosen |> List.exists (fun r -> centreIds.Contains r.Id)) && not run.Replayed then
            // the split statements without the centre's: the observer leaves the centre out (the same rows, less work)
            run.WithoutCentre()
        else run
    // a selection with a B row gets B.bound's analysis beside its rows (the replay, when a chosen row asks for it, runs
    // meanwhile); one without computes nothing it does not read
    let beside =
        if run.IsMlp && ResOdeProofs.Numerics.Verification.Replay.IsGradientDescent run.Data then
            if whole then Some(referencesBesideTheReplay run)
            elif chosen |> List.exists (fun r -> analysisReaders.Contains r.Id) then Some(referencesBeside true run)
            else None
        else None
    try chosen |> List.map (fun r -> evaluateRow r run.Directory run)
    finally
        match beside with
        | Some t -> (try t.Wait() with _ -> ())
        | None -> ()

/// Every single-run result of the MLP on an MLP run (`verifyRunSelected` choosing all).
let verifyRun (run: Run) : VerdictRow list = verifyRunSelected every run


// ---------------------------------------------------------------- generic architectures (docs/extending.md)

/// The architectures with theory-side constants, looked up by run.json "architecture.name".
let architectures : Architecture list =
    [ MlpArchitecture.architecture
      OneLayerBlock.architecture
      ScaledLinearBlock.architecture
      ConvArchitecture.architecture
      GluBlock.architecture ]

/// Results A and B evaluated on one run of any architecture but the MLP, with the ingredients any block supplies from its
/// declared constants (`Architecture`). Each statement carries the same id as on an MLP run, where the MLP supplies
/// sharper ingredients of its own (A.aposteriori, A.aposteriori.segments, A.split, A.split.segments, B.bound, B.rate; the
/// families AposterioriFamily, SplitFamily and OdeLimit write each statement once); B.bound.tangent (local errors
/// propagated by tangent Jacobians with a second-order remainder) is its own statement, beside the MLP's B.bound.secant
/// (secant slopes, exact). The MLP's results whose hypotheses need its form Vσ(Wh) are not listed for the other
/// architectures (the evidence results are, through `evidenceEveryArchitecture`, result C through
/// `polyakLojasiewiczEveryArchitecture` and the lemma chain L1–L5 through `lemmaChainEveryArchitecture`).
let blockSingleRun : Result<Run> list =
    GenericResults.all @ GenericSplit.all @ GenericEuler.all |> List.map (fun r -> if r.Id.StartsWith "A." then Hypotheses.onLayerPairs r else r)

/// The evidence results stated once for every architecture and listed for the MLP in `singleRun`: on a run of any other
/// architecture they are evaluated through the same code (E.replay, E.claims, E.init; docs/theorems/Evidence.md).
let evidenceEveryArchitecture : Result<Run> list = ReplayEvidence.all @ [ Evidence.init ]

/// Result C stated once for every architecture (PolyakLojasiewicz.fs): on a run of an architecture other than the MLP,
/// its statements with what any block supplies (μ₀ from the block's Jacobians at an identity initialization, the replay's
/// columns), under the same ids as the MLP's rows in `singleRun`.
let polyakLojasiewiczEveryArchitecture : Result<Run> list = PolyakLojasiewicz.blockAll

/// The lemma chain L1–L5 stated once for every architecture (LemmaChain.statedOver): on a run of an architecture other
/// than the MLP, its statements with the block's own constants, layer by layer, and the states, adjoints and layer
/// gradients of the block's own pass at every snapshot (GenericResults.lemmaChain), under the same ids as the MLP's rows
/// in `singleRun`.
let lemmaChainEveryArchitecture : Result<Run> list = GenericResults.lemmaChain @ [ GenericResults.gradientDifferenceSplit ]

/// Every single-run result listed for a run of an architecture other than the MLP.
let blockRunResults : Result<Run> list =
    evidenceEveryArchitecture @ blockSingleRun @ polyakLojasiewiczEveryArchitecture @ lemmaChainEveryArchitecture

/// Ids of earlier versions for statements that now carry one id on every architecture, and the id each carries now
/// (docs/theorems/GenericResults.md, "One id per statement"; G.A.segments was the first name of G.A.aposteriori.segments).
/// A study file's `results` list may name a former id (`currentId`). No verdicts.json of an earlier build is read: a
/// study's cell directory is named by a hash of the build's identity, so `sweep merge` leaves the cells of another build
/// aside (docs/studies.md, "Which engine").
let formerIds : (string * string) list =
    [ "G.A.aposteriori", "A.aposteriori"
      "G.A.aposteriori.segments", "A.aposteriori.segments"
      "G.A.segments", "A.aposteriori.segments"
      "G.A.split", "A.split"
      "G.A.split.segments", "A.split.segments"
      "G.B.bound", "B.bound"
      "G.B.bound.jacobian", "B.bound.tangent"
      "G.B.rate", "B.rate" ]

/// The id a statement carries now: a former id mapped by `formerIds`, any other id unchanged.
let currentId (id: string) =
    match formerIds |> List.tryFind (fun (old, _) -> old = id) with
    | Some(_, now) -> now
    | None -> id

/// Rate statements over a ladder of runs of one architecture other than the MLP.
let blockLadder : Result<Ladder> list = GenericResults.ladder

/// A run opened for the results of its architecture: any run of the one run format (one view, `Run`), or a run of
/// `train --arch bn-conv` (mini-batch SGD, batch norm: the results of BnConvResults).
type OpenRun =
    | RunOf of Run
    | BnConvRunOf of ResOdeProofs.Numerics.BnConv.BnConvRun
    member r.Directory = match r with RunOf m -> m.Directory | BnConvRunOf c -> c.Directory
    member r.Depth = match r with RunOf m -> m.Setting.Depth | BnConvRunOf c -> c.Config.Depth
    member r.Architecture = match r with RunOf m -> m.Setting.Architecture | BnConvRunOf _ -> "bn-conv"

/// Opens run data for the results of its architecture: one view, which knows the registered architectures.
let openRun (data: ResOdeProofs.Numerics.IO.RunData) = Run(data, architectures)

/// Reads a run directory of any architecture and opens it for the results of its architecture.
let loadRun (dir: string) =
    if ResOdeProofs.Numerics.BnConv.BnConvRun.IsRun dir then BnConvRunOf(ResOdeProofs.Numerics.BnConv.BnConvRun.Load dir)
    else RunOf(openRun (ResOdeProofs.Numerics.IO.RunDirectory.Read dir))

/// The results listed for a run of an architecture other than the MLP (`blockRunResults`) chosen by `select`.
let verifyBlockRunSelected (select: string -> bool) (run: Run) : VerdictRow list =
    blockRunResults |> List.filter (fun r -> select r.Id) |> List.map (fun r -> evaluateRow r run.Directory run)

/// Every result listed for a run of an architecture other than the MLP (`blockRunResults`).
let verifyBlockRun (run: Run) : VerdictRow list = verifyBlockRunSelected every run

/// The results of the run's architecture on one run chosen by `select`: the MLP's sharper results on an MLP run, the
/// generic ones otherwise.
let verifyView (select: string -> bool) (run: Run) : VerdictRow list =
    if run.IsMlp then verifyRunSelected select run else verifyBlockRunSelected select run

/// The results chosen by `select` on a bn-conv run (BnConvResults; the images are read once, when a chosen result needs
/// them): each result about gradient descent or flow
/// as "hypothesis not met" (each id once), E.accuracy.train/test, E.profile (the kernels' smoothness in depth), and on the
/// trained network with batch norm folded B.bound (with any block's ingredients: the folded network is a run of conv
/// blocks), B.half and B.half.ode.
let verifyBnConv (select: string -> bool) (run: ResOdeProofs.Numerics.BnConv.BnConvRun) : VerdictRow list =
    let dir = run.Directory
    // each id once; not among them B.bound, evaluated on the folded network below, and B.bound.tangent, not listed on these runs
    let setAside = set [ GenericResults.eulerBound.Id; GenericEuler.eulerBoundTangent.Id ]
    let gd =
        (singleRun @ blockSingleRun)
        |> List.filter (fun r -> not (setAside.Contains r.Id) && select r.Id)
        |> List.distinctBy (fun r -> r.Id)
        |> List.map BnConvResults.notGradientDescent
    // the images are read, and the network folded, only when a chosen result needs them
    let accuracy = lazy (ResOdeProofs.Numerics.BnConv.BnConvAccuracy.Verify(run).ToTuple())
    let folded = lazy (BnConvResults.folded architectures (run.Folded()))
    let row (id: string) (make: unit -> VerdictRow) = if select id then [ make () ] else []
    (gd |> List.map (fun r -> evaluateRow r dir ()))
    @ row BnConvResults.trainAccuracy.Id (fun () -> evaluateRow BnConvResults.trainAccuracy dir (BnConvResults.claim (fst accuracy.Value)))
    @ row BnConvResults.testAccuracy.Id (fun () -> evaluateRow BnConvResults.testAccuracy dir (BnConvResults.claim (snd accuracy.Value)))
    @ row DepthProfile.profile.Id (fun () -> evaluateRow DepthProfile.profile dir (BnConvResults.profileInput run))
    @ row GenericResults.eulerBound.Id (fun () -> let blockRun, half = folded.Value in evaluateRow GenericResults.eulerBound half.Name blockRun)
    @ (HalfDepth.all
       |> List.filter (fun r -> select r.Id)
       |> List.map (fun r -> let _, half = folded.Value in evaluateRow r half.Name half))

/// The results of the run's architecture on one loaded run chosen by `select`.
let verifyOpen (select: string -> bool) (run: OpenRun) : VerdictRow list =
    match run with
    | RunOf r -> verifyView select r
    | BnConvRunOf c -> verifyBnConv select c

/// The ids of the results a loaded run gets (`verifyOpen`), in its order, without evaluating any.
let idsOf (run: OpenRun) : string list =
    match run with
    | RunOf r when r.IsMlp ->
        (singleRun |> List.map (fun x -> x.Id))
        // a Fashion-MNIST cell (run.json "fashion"): its E.profile and E.accuracy rows, which `verify` adds (`resode verify`)
        @ (if isNull r.Data.Meta.Fashion then [] else DepthProfile.profile.Id :: (FashionAccuracy.all |> List.map (fun x -> x.Id)))
    | RunOf _ -> blockRunResults |> List.map (fun x -> x.Id)
    | BnConvRunOf _ ->
        let setAside = set [ GenericResults.eulerBound.Id; GenericEuler.eulerBoundTangent.Id ]
        ((singleRun @ blockSingleRun) |> List.map (fun x -> x.Id) |> List.filter (fun id -> not (setAside.Contains id)) |> List.distinct)
        @ [ BnConvResults.trainAccuracy.Id; BnConvResults.testAccuracy.Id; DepthProfile.profile.Id; GenericResults.eulerBound.Id ]
        @ (HalfDepth.all |> List.map (fun x -> x.Id))

/// Every result id the registry evaluates on runs and ladders (what `verify --only` may name).
let knownIds : string list =
    (singleRun |> List.map (fun r -> r.Id)) @ (blockRunResults |> List.map (fun r -> r.Id))
    @ (ladder |> List.map (fun r -> r.Id)) @ (blockLadder |> List.map (fun r -> r.Id))
    @ [ BnConvResults.trainAccuracy.Id; BnConvResults.testAccuracy.Id; DepthProfile.profile.Id ]
    @ (HalfDepth.all |> List.map (fun r -> r.Id))
    |> List.distinct

/// Whether `pattern` chooses `id`: the id itself (a former id stands for its current one, `currentId`), or a prefix
/// ending in '.' (or '*') under which the id falls. The rule of `verify --only` and of a study's `results` list.
let chooses (pattern: string) (id: string) =
    id = currentId pattern
    || ((pattern.EndsWith '.' || pattern.EndsWith '*') && id.StartsWith(pattern.TrimEnd '*', StringComparison.Ordinal))

/// A selection of results: every id when `patterns` is empty, else the ids some pattern chooses (`chooses`).
let selection (patterns: string list) : string -> bool =
    if patterns.IsEmpty then (fun _ -> true) else (fun id -> patterns |> List.exists (fun p -> chooses p id))

/// The patterns of a selection that choose no known result (`knownIds`): each is a mistake of the caller's.
let unknownPatterns (patterns: string list) : string list =
    patterns |> List.filter (fun p -> not (knownIds |> List.exists (chooses p)))

/// Every ladder result of the runs' architecture on a ladder: the MLP's (`ladder`) on MLP runs, the generic ones
/// (`blockLadder`) otherwise.
let verifyLadderSelected (select: string -> bool) (l: Ladder) : VerdictRow list =
    (if l.Runs.Head.IsMlp then ladder else blockLadder) |> List.filter (fun r -> select r.Id) |> List.map (fun r -> evaluateOnLadder r l)

/// Every ladder result of the runs' architecture on a ladder (`verifyLadderSelected` choosing all).
let verifyLadder (l: Ladder) : VerdictRow list = verifyLadderSelected every l

/// The ids of the ladder results runs of this kind get (MLP or not), without evaluating any.
let ladderIdsOf (mlp: bool) : string list = (if mlp then ladder else blockLadder) |> List.map (fun r -> r.Id)

/// The ladder results on runs that differ only in depth: Ok rows, or Error with why the runs are no ladder. MLP runs of
/// distinct depths are a ladder only when the evidence shows one setting (data, settings): otherwise Error with `refused`
/// set, which the command line treats as bad input. One function of depth at initialization is the hypothesis of the
/// results that need it (an i.i.d. ladder is evaluated: A.rate's and D.curve's negative control).
let verifyLadderOfSelected (select: string -> bool) (runs: OpenRun list) : Result<VerdictRow list, string * bool> =
    let views = runs |> List.choose (function RunOf r -> Some r | BnConvRunOf _ -> None)
    let mlp = views |> List.filter (fun r -> r.IsMlp)
    let blocks = views |> List.filter (fun r -> not r.IsMlp)
    let archs = runs |> List.map (fun r -> r.Architecture) |> List.distinct
    if runs.Length < 2 then Error("one run", false)
    elif archs.Length > 1 then
        Error(sprintf "the runs have different architectures (%s): each is verified on its own, no rate results" (String.concat ", " archs), false)
    elif runs |> List.exists (function BnConvRunOf _ -> true | _ -> false) then
        Error("bn-conv runs have no rate results (they are not trained by gradient descent): each is verified on its own", false)
    elif (runs |> List.map (fun r -> r.Depth) |> List.distinct).Length < runs.Length then
        Error("the runs repeat a depth, so they are not a ladder: each is verified on its own, no rate results", false)
    elif not mlp.IsEmpty then
        match Evidence.checkLadder mlp with
        | Error e -> Error(e, true)
        | Ok _ ->
            match Ladder.create mlp with
            | Error e -> Error(e, true)
            | Ok l -> Ok(verifyLadderSelected select l)
    else
        // the same evidence as the MLP's ladder: data and settings, from the files, not the labels
        match Evidence.checkLadder blocks with
        | Error e -> Error(e, true)
        | Ok _ ->
        match Ladder.create blocks with
        | Error e -> Error(sprintf "no ladder results: %s" e, false)
        | Ok l -> Ok(verifyLadderSelected select l)

/// The ladder results on runs that differ only in depth (`verifyLadderOfSelected` choosing all).
let verifyLadderOf (runs: OpenRun list) : Result<VerdictRow list, string * bool> = verifyLadderOfSelected every runs

/// Sets o[key] to a number: JSON has no infinity, so NaN (not measured) is null and ±∞ is null with a sibling
/// o[key_inf] = +1 or −1, the convention of the report's results.json (docs/run-format.md, docs/report-format.md).
let private putNum (o: JsonObject) (key: string) (x: float) =
    o[key] <- (if Double.IsFinite x then (JsonValue.Create x :> JsonNode | null) else null)
    if Double.IsInfinity x then o[key + "_inf"] <- JsonValue.Create(if x > 0.0 then 1 else -1)

/// A series as JSON (resode-verdicts/3): one object per point, its numbers by the putNum convention.
let seriesJson (points: SeriesPoint list) : JsonNode =
    JsonArray(
        [| for p in points ->
            let o = JsonObject()
            o["when"] <- JsonValue.Create p.When
            o["where"] <- JsonValue.Create p.Where
            putNum o "measured" p.Measured
            putNum o "bound" p.Bound
            o["count"] <- JsonValue.Create p.Count
            (o :> JsonNode | null) |])

/// A row as JSON.
let rowJson (r: VerdictRow) : JsonObject =
    let o = JsonObject()
    o["id"] <- JsonValue.Create r.Id
    o["title"] <- JsonValue.Create r.Title
    o["source"] <- JsonValue.Create r.Source
    o["provenance"] <- JsonValue.Create r.Provenance
    o["doc"] <- JsonValue.Create r.Doc
    o["input"] <- JsonValue.Create r.Input
    o["verdict"] <- JsonValue.Create r.Verdict
    putNum o "measured" r.Measured
    putNum o "bound" r.Bound
    putNum o "tightness" r.Tightness
    putNum o "tightness_min" r.TightnessMin
    o["tightness_min_at"] <- JsonValue.Create r.TightnessMinAt
    putNum o "tightness_max" r.TightnessMax
    o["tightness_max_at"] <- JsonValue.Create r.TightnessMaxAt
    putNum o "loosest_measured" r.LoosestMeasured
    putNum o "loosest_bound" r.LoosestBound
    o["detail"] <- JsonValue.Create r.Detail
    let hs = JsonArray()
    for (n, ok, v) in r.Hypotheses do
        let h = JsonObject()
        h["name"] <- JsonValue.Create n
        h["met"] <- JsonValue.Create ok
        h["detail"] <- JsonValue.Create v
        hs.Add h
    o["hypotheses"] <- (hs :> JsonNode)
    let cs = JsonObject()
    for (n, v) in r.Constants do putNum cs n v
    o["constants"] <- (cs :> JsonNode)
    o["notes"] <- JsonArray(r.Notes |> List.map (fun s -> (JsonValue.Create s :> JsonNode | null)) |> Array.ofList)
    putNum o "seconds" r.Seconds
    putNum o "cpu_seconds" r.CpuSeconds
    o["series"] <- seriesJson r.Series
    o

/// Why verdicts.json in `dir` may not be replaced, or None: a file there is replaced only when it is one `resode verify`
/// wrote (a JSON object whose "format" is resode-verdicts/N); anything else is the user's and stays untouched.
let foreignVerdicts (dir: string) : string option =
    let path = Path.Combine(dir, "verdicts.json")
    if Directory.Exists path then Some(sprintf "%s is a directory, not a verdicts file written by resode verify; move it away to verify this run" path)
    elif not (File.Exists path) then None
    else
        let info = FileInfo path
        let ours = ResOdeProofs.Numerics.IO.OutputClaim.IsVerdictsFile path
        if ours then None
        elif not (isNull info.LinkTarget) then
            Some(sprintf "%s is a symbolic link (to %s), which resode verify did not make; it is left untouched: move it away to verify this run" path info.LinkTarget)
        elif info.Length = 0L then
            Some(sprintf "%s is empty or not a regular file (a named pipe or a device); it is left untouched: move it away to verify this run" path)
        else Some(sprintf "%s exists and is not a file resode verify wrote as it wrote it (no \"format\": \"resode-verdicts/N\", or its text no longer matches its content_sha256: edited, or written by a resode before 2026-12-06); it is left untouched: move it away to verify this run" path)

/// Writes verdicts.json into a run directory atomically (temporary file, then rename); refuses (IOException) to replace
/// a verdicts.json it did not write (`foreignVerdicts`). `patterns` non-empty: the rows are those of a selection
/// (`verify --only`), recorded as "selection" so that no reader takes the file for a whole verification.
let writeVerdictsOf (dir: string) (patterns: string list) (rows: VerdictRow list) =
    match foreignVerdicts dir with
    | Some why -> raise (IOException why)
    | None -> ()
    let root = JsonObject()
    root["format"] <- JsonValue.Create "resode-verdicts/3"
    root["engine_version"] <- JsonValue.Create ResOdeProofs.Numerics.EngineInfo.Version
    // a verify of some results only (`verify --only`) says so: its file is not a whole verification of the run
    if not patterns.IsEmpty then
        root["selection"] <- JsonArray(patterns |> List.map (fun p -> (JsonValue.Create p :> JsonNode | null)) |> Array.ofList)
    root["results"] <- JsonArray(rows |> List.map (fun r -> (rowJson r :> JsonNode | null)) |> Array.ofList)
    // the bytes these verdicts were reached on (run.json and the .npy files), so that a reader can tell they still describe
    // the run beside them (`sweep merge` checks it)
    root["run_sha256"] <- JsonValue.Create(ResOdeProofs.Numerics.IO.RunDirectory.ContentDigest dir)
    // sealed: the SHA-256 of the text, so that a file edited afterwards is known as the user's (never replaced)
    root[ResOdeProofs.Numerics.IO.OutputClaim.VerdictsSealField] <- JsonValue.Create(String('0', 64))
    let path = Path.Combine(dir, "verdicts.json")
    // through a fresh temporary renamed over the file, listed while it exists (a signal's fallback deletes it)
    ResOdeProofs.Numerics.IO.InFlightFiles.WriteTextThrough(
        path, ResOdeProofs.Numerics.IO.OutputClaim.SealVerdicts(root.ToJsonString(JsonSerializerOptions(WriteIndented = true))))

/// Writes verdicts.json of a whole verification (`writeVerdictsOf` with no selection).
let writeVerdicts (dir: string) (rows: VerdictRow list) = writeVerdictsOf dir [] rows

// ---------------------------------------------------------------- docs/theorems/index.md, generated from runs

/// The first line of a generated index: `resode verify --write-index` only replaces a file that starts with it.
[<Literal>]
let IndexMarker = "<!-- generated by resode verify --write-index: do not edit by hand -->"

let private cell (s: string) = s.Replace("|", "\\|").Replace("\n", " ")

let private numCell (x: float) =
    if Double.IsNaN x then "–"
    elif Double.IsPositiveInfinity x then "∞"
    else x.ToString("G3", Globalization.CultureInfo.InvariantCulture)

/// The results index as Markdown: one row per result and input, in registry order, with the verdict, the loosest
/// comparison (worst case of the bound) and the tightest, each with where it was attained; `command` is the line
/// that produced it (written into the page, so that the page says how to regenerate it).
let indexMarkdown (command: string) (rows: VerdictRow list) : string =
    let sb = Text.StringBuilder()
    let line (s: string) = sb.Append(s).Append('\n') |> ignore
    line IndexMarker
    line "# Results index"
    line ""
    line "Every result of the theory layer is one F# value of type `Result<_>` (one file per theorem under"
    line "`src/Theory.FSharp`, one page in this directory with the same name), listed in `src/Theory.FSharp/Registry.fs`."
    line "This page is generated from runs, never typed; it was produced by"
    line ""
    line (sprintf "    %s" command)
    line ""
    line "Verdicts: **holds** (every comparison passed), **VIOLATED** (a comparison failed: the witness is in the detail),"
    line "**hypothesis not met** (including \"no finite bound claimed\" when a bound overflowed, and \"inconclusive\" for a rate"
    line "whose interval is too wide), **not applicable**, and **error** (the check could not be evaluated; `resode verify`"
    line "exits with 3). Tightness is bound / measured (for a lower bound: measured / bound) over every comparison a result"
    line "made: *worst* is the loosest comparison (the bound's worst case, read it first), *best* the tightest, each with"
    line "where it was attained. Results marked *any weights* are inequalities valid for any weights: they check the"
    line "implementation, not the run."
    line ""
    let counts =
        rows |> List.countBy (fun r -> r.Verdict) |> List.map (fun (v, c) -> sprintf "%d %s" c v) |> String.concat ", "
    line (sprintf "%d rows: %s." rows.Length counts)
    line ""
    line "| id | result | status | input | verdict | worst (loosest) | where | best (tightest) | where | doc |"
    line "|---|---|---|---|---|---|---|---|---|---|"
    for r in rows do
        let title = if List.contains Evaluation.AnyWeights r.Notes then r.Title + " (*any weights*)" else r.Title
        let verdict = if r.Verdict = "holds" then r.Verdict else sprintf "%s: %s" r.Verdict r.Detail
        let doc = IO.Path.GetFileName r.Doc
        line (sprintf "| `%s` | %s | %s | %s | %s | %s | %s | %s | %s | [%s](%s) |"
                  r.Id (cell title) r.Provenance (cell r.Input) (cell verdict) (numCell r.TightnessMax) (cell r.TightnessMaxAt)
                  (numCell r.TightnessMin) (cell r.TightnessMinAt) doc doc)
    sb.ToString()
