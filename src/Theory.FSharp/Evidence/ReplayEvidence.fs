/// E.replay and E.claims stated once for every architecture (docs/theorems/Evidence.md): the verifier's gradient-descent
/// replay of every snapshot segment against the recorded snapshots, and the producer's trace columns against that replay.
/// The statements are written here once, over what an architecture's replay supplies (`Replayed`): its segments (each
/// certified with a tolerance for a foreign producer's rounding, or not), the rounding constants, and the comparisons of
/// the recorded columns with the replayed ones. The paper's MLP supplies the sharper pieces of its own replay
/// (Verification/Replay.cs: a measured error growth, hence a certified tolerance per segment, and columns compared
/// within it); any other block supplies the replay through its Forward/Backward (Verification/BlockReplay.cs,
/// GenericReplay.fs: a run of this build compared bit for bit, another producer's certified by the same two companions
/// through the block's generic pass, Verification/BlockCompanions.cs; its columns compared within γ_N).
module ResOdeProofs.Theory.ReplayEvidence

open System
open ResOdeProofs.Numerics.Blocks
open ResOdeProofs.Numerics.Training
open ResOdeProofs.Numerics.Verification
open ResOdeProofs.Theory
open ResOdeProofs.Theory.Comparison

let private doc = "docs/theorems/Evidence.md"
let private src = "derived here (docs/theorems/Evidence.md)"

// ---------------------------------------------------------------- what an architecture's replay supplies

/// One snapshot segment as the statements read it, for any architecture.
type ReplayedSegment =
    { Snapshot: int
      From: int
      To: int
      /// the replay stayed finite
      Finite: bool
      /// the architecture's tolerance for a foreign producer's rounding is certified on this segment
      Certified: bool
      /// why the segment is not certifiable, as the hypothesis states it ("" when it is)
      Uncertifiable: string
      /// the largest growth of a perturbation measured over the segment (None: not measured, the segment compared bit for
      /// bit or an architecture that measures none; NaN: measured and not a number)
      Growth: float option
      /// the largest factor the segment's rounding allowances took for the adjoints' measured growth (`Replay.Amplification`;
      /// None where none was measured or the segment was compared bit for bit)
      Amplification: float option
      /// the comparisons with the replay (the next snapshot, then every recorded loss), within its tolerance: all of them
      /// certified on a certified segment, those through `CertifiedThrough` on another
      Checks: Check list
      /// the iteration (the output, for a flow) of each of `Checks`, in its order
      CheckIterations: int list
      /// ‖Z_recorded(s + 1) − Z_replay(To)‖_F and the worst layer (1-based); None when no snapshot ends the segment
      Landing: (float * int) option
      /// on a segment that is not certified as a whole, the last iteration whose recorded loss is still compared within a
      /// certified tolerance (its first `CertifiableSpacing` iterations, the MLP's; From − 1: none); To on a certified one
      CertifiedThrough: int }

/// What an architecture's replay supplies to E.replay and E.claims.
type Replayed =
    { Segments: ReplayedSegment[]
      /// the rounding constants the comparisons use (τ, u, …)
      Constants: (string * float) list
      /// the recorded trace columns and losses compared with the replayed ones
      ClaimChecks: Check list
      /// what the column comparison left out, and why
      ClaimNotes: string list }

/// The trace columns an architecture's producer records (the claims E.claims reads).
let private traceColumns (run: Run) =
    if run.IsMlp then TraceColumns.All |> Array.map (fun struct (n, _) -> n)
    else
        match run.Data.Block with
        | null -> run.Data.Trace.Keys |> Seq.toArray
        | block -> BlockTraceColumns.For block

/// The column of max_k‖Z_{k+1} − Z_k‖ and the columns whose maximum bounds ‖Z_k‖ (MLP: smooth_z, w_fro_max and v_fro_max;
/// any other block: smooth_theta, theta_fro_max).
let private smoothColumns (run: Run) =
    if run.IsMlp then "smooth_z", [ "w_fro_max"; "v_fro_max" ] else "smooth_theta", [ "theta_fro_max" ]

/// Names of the depth smoothness E.claims records from the verifier's column (the report reads them back by these names).
let maxIncrementName = "max_{k,t} |Z_{k+1} - Z_k| (verifier's column)"
let incrementAtName (iteration: int) = sprintf "max_k |Z_{k+1} - Z_k| (verifier's column) at iteration %d" iteration

/// The depth smoothness max_k‖Z_{k+1} − Z_k‖ as the verifier's own column states it (`Run.Trace`: the replay on gradient
/// descent, the producer's column on a flow run or a block other than the MLP): its largest finite value over the
/// iterates and its value at every snapshot iteration. Empty when the verifier has no such column (an uncertified
/// segment, no snapshot at iteration 0).
let smoothnessConstants (run: Run) : (string * float) list =
    let smooth, _ = smoothColumns run
    match run.Trace smooth with
    | Some c when c.Length > 0 ->
        // the iterates before the first snapshot are placeholders of the replay (not measured), cut by their index
        let measured = DepthSmoothness.measuredIterates run c
        [ yield maxIncrementName, Comparison.maxKeepNaNOr nan measured
          for j in Array.distinct run.Steps do
              if j >= 0 && j < c.Length then yield incrementAtName j, c.[j] ]
    | _ -> []

/// ‖Z_k(s') − Z_k(s)‖_F of layer k (0-based) between two snapshots (Z_k = θ_k, for the MLP the pair W_k, V_k).
let private layerDistance (run: Run) (s': int) (s: int) (k: int) =
    if run.IsMlp then
        let md = run.Shape.LayerSize
        sqrt (Portable.sq (Linalg.frobeniusDiff (run.W s') (k * md) (run.W s) (k * md) md) + Portable.sq (Linalg.frobeniusDiff (run.V s') (k * md) (run.V s) (k * md) md))
    else
        let P = run.ParameterCount
        Linalg.frobeniusDiff (run.Theta s') (k * P) (run.Theta s) (k * P) P

// ---------------------------------------------------------------- the MLP's replay (Verification/Replay.cs)

/// Lipschitz factor in Z (Frobenius, all layers) of the columns the replay's tolerance E carries to every iterate.
let private lipschitzColumns = [ "smooth_w", 2.0; "smooth_v", 2.0; "smooth_z", 2.0; "w_fro_max", 1.0; "v_fro_max", 1.0 ]

/// Columns that are fixed functions of the weights, compared at snapshot iterates (relative τ).
let private snapshotColumns = [ "grad_norm"; "pl_ratio"; "grad_w_max"; "grad_v_max"; "hidden_max"; "adjoint_sum_max"; "preact_min"; "preact_max"; "step_max" ]

/// The certification statement of one segment of the MLP's replay.
let private certification (run: Run) (seg: SegmentEvidence) =
    let eta = run.Setting.Eta
    let r = seg.Replay
    let len = r.To - r.From
    // the recorded snapshots and losses are finite (the reader requires it), so a replay that leaves the finite numbers
    // with the declared η contradicts the record unless the producer's rounding kept a chaotic trajectory bounded: not
    // certified either way, and the message says which claim to doubt (a run labelled η = 1 but trained at 0.01 read as
    // only "became non-finite")
    // a recorded loss in the segment that is not finite (a run that says it diverged): the replay went where the record went
    let recordedLeft = [ r.From .. min r.To (run.Losses.Length - 1) ] |> List.tryFind (fun j -> not (Double.IsFinite run.Losses.[j]))
    if not r.Finite then
        match recordedLeft with
        | Some j ->
            sprintf "iterations %d → %d: the replay from snapshot %d left the finite numbers, as the recorded run did (its loss at iteration %d is %g): nothing to certify past it" r.From r.To r.Snapshot j run.Losses.[j]
        | None ->
        sprintf "iterations %d → %d: the replay from snapshot %d with the declared η = %g left the finite numbers while the recorded run stayed finite: check run.json's eta (or learning_rate, loss convention) and optimizer against the producer's" r.From r.To r.Snapshot eta
    else
        let spacing =
            if r.CertifiableSpacing = 0 then "not even one step is certifiable at this precision"
            else sprintf "its first %d iterations are certifiable: take snapshots at most %d iterations apart" r.CertifiableSpacing r.CertifiableSpacing
        let e = r.WeightTolerance.[len]
        // an infinite tolerance of a finite replay: an allowance float64 cannot hold, not a replay gone out of range
        let why = if Double.IsPositiveInfinity e then " (beyond float64: a gradient norm of the replay or one of its companions overflowed)" else ""
        sprintf "iterations %d → %d: the tolerance E = %.3g%s exceeds %g of the weights' norm %.3g (perturbations grow up to %.3g×); %s"
            r.From r.To e why SegmentReplay.CertifyFraction r.StartNorm (Comparison.maxKeepNaN r.Growth) spacing

/// |claimed − verified| as a comparison reads it: a claim that is not a number (NaN) or infinite against a finite verified
/// value is as far off as can be (+∞, violated), not a measurement that failed (user test: a NaN written into grad_norm
/// gave "hypothesis not met … the measured quantity is not a number", exit 0); NaN where the verifier's own value is not a
/// number (no comparison); 0 where both are the same infinity.
let private claimGap (c: float) (v: float) =
    if Double.IsNaN v then nan
    elif c = v then 0.0
    elif not (Double.IsFinite c) || not (Double.IsFinite v) then infinity
    else abs (c - v)

/// A bound on |claimed − verified| widened by the claimed column's storage: a column stored as float32 (trace/NAME.npy of
/// dtype <f4, `Run.TraceStorageRoundoff`) holds its value rounded once more, |c − c_computed| ≤ r|c_computed| ≤ r(|v| + bound),
/// r = 2⁻²⁴, read from the verified value v and the bound (never from the claim). 0 added for a float64 column.
let private storedBound (run: Run) (name: string) (v: float) (bound: float) =
    let r = run.TraceStorageRoundoff name
    // a float32 column may also hold a subnormal number: half its spacing absolute (the spacing taken, `Replay.UnderflowUnit`)
    if r = 0.0 then bound else bound + r * (abs v + bound) + Replay.UnderflowUnit "float32"

/// The MLP's recorded columns against its replay: the loss and the Lipschitz columns at every iterate within f·E plus
/// rounding, the columns that are functions of the weights at every snapshot iterate within τ relative (at every iterate of
/// a segment replayed bit for bit).
let private mlpClaimChecks (run: Run) (e: RunEvidence) (skipped: Collections.Generic.List<string>) (loose: Collections.Generic.List<float * string>) =
    let tau, u = Evidence.tau run, Evidence.unit run
    let claimed name = run.ClaimedTrace name
    // per snapshot s and layer k, what two evaluations' layer gradients at snapshot s's weights may differ by
    // (docs/theorems/RunIntegrity.md, "I.update's allowance"): τ^∇_s relative to the samples' terms M_k, plus the adjoints'
    // error E_k from the residuals' absolute error
    let gradientAllowance =
        let table = Collections.Generic.Dictionary<int, float[]>()
        fun (s: int) ->
            match table.TryGetValue s with
            | true, e -> e
            | _ ->
                let scales, fromResidual = RunIntegrity.gradientScales run s
                let t = Rounding.toleranceAt run s
                let e = Array.map2 (fun m x -> t * m + x) scales fromResidual
                table.[s] <- e
                e
    [ for seg in e.Segments do
        let r = seg.Replay
        if seg.Certified && seg.Reproduced then
            let last = if r.Snapshot + 1 < run.SnapshotCount then r.To - r.From - 1 else r.To - r.From
            let verified name = r.Trace.[name]
            let scaleAt i = max (verified "w_fro_max").[i] (verified "v_fro_max").[i]
            for i in 0 .. last do
                let j = r.From + i
                // an allowance at least the verified value cannot tell the claim from 0 or twice it: counted for the row's note
                // like the snapshot columns' (a user's claimed loss of 0 against a verified 6.4·10⁻⁴ held within 1.65·10⁻³ unsaid)
                let noteLoose (name: string) (v: float) (bound: float) =
                    if Comparison.cannotTell v bound then loose.Add(bound / abs v, sprintf "%s at iteration %d" name j)
                match claimed "loss" with
                | Some c ->
                    let bound = storedBound run "loss" r.Losses.[i] r.LossTolerance.[i]
                    noteLoose "loss" r.Losses.[i] bound
                    yield { Measured = claimGap c.[j] r.Losses.[i]; Bound = bound
                            Where = sprintf "claimed loss %.17g vs verified %.17g" c.[j] r.Losses.[i]; When = sprintf "iteration %d" j }
                | None -> ()
                for (name, f) in lipschitzColumns do
                    match claimed name with
                    | Some c ->
                        let v = (verified name).[i]
                        let bound = storedBound run name v (f * r.WeightTolerance.[i] + tau * abs v + 8.0 * u * scaleAt i)
                        noteLoose name v bound
                        yield { Measured = claimGap c.[j] v; Bound = bound
                                Where = sprintf "claimed %s %.17g vs verified %.17g" name c.[j] v; When = sprintf "iteration %d" j }
                    | None -> ()
            // at the snapshot iterate both are functions of the same recorded weights; on the bit-exact path every iterate's
            // weights are the producer's own (its program replayed), so every iterate is compared so (step_max: every
            // iterate followed by an update)
            let len = r.To - r.From
            for name in snapshotColumns do
                let iterates =
                    if not r.BitExact then [ 0 ]
                    elif name = "step_max" then [ 0 .. min last (len - 1) ]
                    else [ 0 .. last ]
                for i in iterates do
                    match claimed name with
                    // pl_ratio = Σ‖G_k‖²/(Lℓ) at a loss of exactly 0 is 0/0: nothing to compare (a zero-loss run's row said
                    // "the bound is Infinity … (it overflowed)" and was hypothesis not met)
                    | Some _ when name = "pl_ratio" && r.Losses.[i] = 0.0 ->
                        skipped.Add(sprintf "pl_ratio at iteration %d (the loss is exactly 0: the ratio is 0/0)" (r.From + i))
                    | Some c when not (name = "step_max" && last < 0) ->
                        let v = (verified name).[i]
                        // both values within ρ|x| of the exact x (ρ = τ; pl_ratio = Σ‖G_k‖²/(Lℓ): relative 2τ from the squares and
                        // the loss' own relative tolerance), so |c − v| ≤ 2ρ|x| ≤ 2ρ|v|/(1 − ρ) (the former ρ(|v| + |c|) fell short
                        // of 2ρ|x| by the factor 1 − ρ and took the claim's size); ρ ≥ 1 bounds nothing (+∞: no comparison)
                        let within rho = if rho < 1.0 then 2.0 * rho * abs v / (1.0 - rho) else infinity
                        // the loss' own distance to the exact loss: its tolerance on a certified segment (rounding
                        // included), its rounding on a bit-exact one (whose tolerance is 0: the same evaluation)
                        let lossRel = max r.LossTolerance.[i] r.LossRounding.[i] / abs r.Losses.[i]
                        // the floor 8u·max_k‖Z_k‖ is of the weights' size: the gradient columns take their own absolute allowance
                        // at the snapshot iterate instead (below; a forged grad_norm of 10⁻²⁰ against a verified 10⁻⁶⁰ held within
                        // the weights' 2·10⁻⁶ on a float32 run)
                        let gradientColumn = name = "grad_norm" || name = "grad_w_max" || name = "grad_v_max"
                        let relative =
                            if name = "pl_ratio" then within (2.0 * tau + lossRel)
                            elif gradientColumn && i = 0 then within tau
                            else within tau + 8.0 * u * scaleAt i
                        // at the snapshot iterate (both evaluations at the recorded weights) the gradient columns also take
                        // the gradients' absolute rounding: two evaluations' layer gradients differ by at most
                        // e_k = τ^∇_s·M_k + E_k (`gradientAllowance`), which cancellation between the samples does not
                        // shrink as it shrinks ‖G_k‖ (a relative allowance alone rejected a faithful float32 producer there)
                        let absolute =
                            if i <> 0 then 0.0
                            else
                                let e = gradientAllowance r.Snapshot
                                let total = sqrt (e |> Array.sumBy (fun x -> x * x))
                                match name with
                                | "grad_norm" -> total
                                | "grad_w_max" | "grad_v_max" -> Comparison.maxKeepNaN e
                                // max_k ‖ηc_kG_k‖ with c_k ≤ 1: the step's gradient error at most η·max_k e_k
                                | "step_max" -> run.Setting.Eta * Comparison.maxKeepNaN e
                                | "pl_ratio" ->
                                    // |Σ‖Ĝ_k‖² − Σ‖G̃_k‖²| ≤ Σ e_k(2‖G̃_k‖ + e_k) ≤ 2E·‖G̃‖ + E² (Cauchy–Schwarz), over L·ℓ of the
                                    // claim, which is within 2·lossRel of the verified ℓ
                                    let gn = (verified "grad_norm").[i]
                                    if 2.0 * lossRel < 1.0 then (2.0 * total * gn + total * total) / (float run.Setting.Depth * abs r.Losses.[i] * (1.0 - 2.0 * lossRel))
                                    else infinity
                                | _ -> 0.0
                        let bound = relative + absolute
                        let at = if i = 0 then sprintf "snapshot %d (iteration %d)" r.Snapshot r.From else sprintf "iteration %d (replayed bit for bit from snapshot %d)" (r.From + i) r.Snapshot
                        // a rate ρ ≥ 1 bounds nothing: no comparison there (counted for the row's note), where an infinite
                        // bound made the whole row "no finite bound claimed" and hid its other comparisons' outcome
                        if Double.IsPositiveInfinity bound && not (Double.IsNaN v) then skipped.Add(sprintf "%s at %s" name at)
                        else
                            // an allowance at least the verified value itself: compared, but a claim within a factor 2 of the
                            // truth is not told from it there (a float32 run's gradients at trained weights; a user read the
                            // row's "holds" as the columns verified)
                            if Comparison.cannotTell v bound then loose.Add(bound / abs v, sprintf "%s at %s" name at)
                            yield { Measured = claimGap c.[r.From + i] v; Bound = storedBound run name v bound
                                    Where = sprintf "claimed %s %.17g vs verified %.17g" name c.[r.From + i] v; When = at }
                    | _ -> ()
            // clip_fraction on the bit-exact path: the producer's own update repeated clips the same layers, so the fraction is
            // compared exactly at every iterate followed by an update (a referee set a clipped run's column to 0 unseen);
            // elsewhere its count jumps at the radius under another producer's rounding and only its range is checked
            if r.BitExact then
                match claimed "clip_fraction" with
                | Some c ->
                    let v = verified "clip_fraction"
                    for i in 0 .. min last (len - 1) do
                        yield { Measured = claimGap c.[r.From + i] v.[i]; Bound = storedBound run "clip_fraction" v.[i] 0.0
                                Where = sprintf "claimed clip_fraction %.17g vs verified %.17g" c.[r.From + i] v.[i]
                                When = sprintf "iteration %d (replayed bit for bit from snapshot %d)" (r.From + i) r.Snapshot }
                | None -> ()
            // another producer's clipped run at a snapshot iterate followed by an update: the clip decision ‖G_k‖ > C of each
            // layer at the recorded weights, decided when ‖G_k‖ is farther from C than two evaluations' gradients may differ
            // (e_k, with the norm's rounding); when every layer is decided, the fraction is known and the claim is compared
            // exactly (a PyTorch user's column rewritten to 0 on a run clipping 9–100 % of its layers was accepted)
            elif run.Setting.Optimizer = "clipped-gd" && len > 0 then
                match claimed "clip_fraction", run.Setting.Clip with
                | Some c, Some radius ->
                    let lw = run.Layerwise r.Snapshot
                    let md = run.Shape.LayerSize
                    let L = run.Setting.Depth
                    let e = gradientAllowance r.Snapshot
                    let norms = Array.init L (fun k -> sqrt (Portable.sq (Linalg.frobenius lw.GW.[k] 0 md) + Portable.sq (Linalg.frobenius lw.GV.[k] 0 md)))
                    let decided = Array.forall2 (fun (g: float) (ek: float) -> abs (g - radius) > (ek + Rounding.gamma64 (2 * md + 2) * g) * (1.0 + Rounding.gamma64 4)) norms e
                    if decided then
                        let v = float (norms |> Array.filter (fun g -> g > radius) |> Array.length) / float L
                        yield { Measured = claimGap c.[r.From] v; Bound = storedBound run "clip_fraction" v (Rounding.gamma64 2 * v)
                                Where = sprintf "claimed clip_fraction %.17g vs verified %.17g (every layer's ‖G_k‖ decided against C = %g)" c.[r.From] v radius
                                When = sprintf "snapshot %d (iteration %d)" r.Snapshot r.From }
                | _ -> () ]

/// What the MLP's replay supplies: every segment with its certified tolerance (E from the measured growth), the
/// comparisons of the next snapshot and every loss within it.
let private mlpReplayed (run: Run) : Result<Replayed, string> =
    match run.Evidence with
    | None -> Error "no replay (not gradient descent)"
    | Some e ->
        let segments =
            e.Segments |> Array.map (fun seg ->
                let r = seg.Replay
                { Snapshot = r.Snapshot; From = r.From; To = r.To; Finite = r.Finite; Certified = seg.Certified
                  Uncertifiable = (if seg.Certified then "" else certification run seg)
                  Growth = (if r.BitExact then None else Some(Comparison.maxKeepNaN r.Growth))
                  Amplification = (if r.BitExact || r.Amplification.Length = 0 then None else Some(Comparison.maxKeepNaN r.Amplification))
                  Checks =
                    [ for (m, b, where', j) in seg.Checks ->
                        { Measured = m; Bound = b; Where = where'; When = sprintf "iteration %d (segment from snapshot %d)" j r.Snapshot } ]
                  CheckIterations = [ for (_, _, _, j) in seg.Checks -> j ]
                  Landing = (if r.Snapshot + 1 < run.SnapshotCount then Some(r.EndDeviation, r.EndWorstLayer) else None)
                  CertifiedThrough = (if seg.Certified then r.To elif r.Finite then r.From + min r.CertifiableSpacing (r.To - r.From) else r.From - 1) })
        let unbounded = Collections.Generic.List<string>()
        let loose = Collections.Generic.List<float * string>()
        let claimChecks = mlpClaimChecks run e unbounded loose
        Ok { Segments = segments
             Constants = [ "tau", Evidence.tau run; "unit roundoff", Evidence.unit run; "safety factor", Replay.Safety ]
             ClaimChecks = claimChecks
             ClaimNotes =
                (if unbounded.Count = 0 then []
                 else [ sprintf "%d claim(s) not compared: no finite allowance (pl_ratio where the loss' relative rounding is ≥ 1/2, a loss at the precision's floor, or where the loss is exactly 0 and the ratio 0/0), first %s" unbounded.Count unbounded.[0] ])
                @
                (match run.ClaimedTrace "loss" with
                 | Some c -> RunIntegrity.lossConventionNotes run c (e.Replay.Losses())
                 | None -> [])
                @
                (if loose.Count = 0 then []
                 else
                    let worst, at = loose |> Seq.maxBy fst
                    // per column, in the order first met ("loss 12, grad_norm 1")
                    let perColumn =
                        loose |> Seq.map (fun (_, w) -> w.Substring(0, w.IndexOf ' ')) |> Seq.countBy id
                        |> Seq.map (fun (c, k) -> sprintf "%s %d" c k) |> String.concat ", "
                    [ sprintf "%d claim(s) (%s) compared within an allowance at least the verified value itself (largest allowance/value %.3g, %s): there a claim within a factor 2 of the truth, or of 0, is not told from it (the rounding allowance of the run's precision at its weights: the gradients', or the replay's tolerance on a loss or column near its floor)" loose.Count perColumn worst at ])
                @
                (if e.Complete then [] else [ "segments that are not certified or not reproduced are compared through the identities only (see E.replay)" ])
                // a run replayed within tolerances (another producer's) is reproduced at its snapshots, not bit for bit between
                // them: its trace columns are compared at the snapshot iterates only, which the row says (a NumPy user read
                // run-format.md as if every iterate's value were compared)
                @ (if e.Segments |> Array.exists (fun seg -> not seg.Replay.BitExact) then
                       [ sprintf "trace columns compared at the %d snapshot iterates only: the iterates between snapshots of a run replayed within tolerances (not bit for bit) are not reproduced exactly, so their claims are not compared; record more snapshots to check more of them" run.SnapshotCount ]
                   else []) }

// ---------------------------------------------------------------- any other block's replay (Verification/BlockReplay.cs)

let private landsExactly = GenericReplay.landsExactly

/// Block columns compared only on the bit-exact path: the clipping fraction counts layers whose ‖G_k‖ exceeds the radius, a
/// count that jumps there, so another producer's rounding may change it; the producer's own program repeated does not.
let private exactOnly = set [ "clip_fraction" ]

/// A block's recorded columns and losses against the replay of the interval containing the iterate, within
/// γ_N(|recorded| + |recomputed|): at every iterate of an interval whose replay lands bit for bit (and the one before it
/// too), else at its first iterate, whose parameters are the snapshot's. When run.json names this engine build
/// (`Replay.BitExactClaim`) such an interval is the producer's own computation repeated: the same parameters and gradient at
/// every iterate (it lands bit for bit) and the columns by the producer's own recording routine (`ThetaTrainer.Record`), so
/// they are compared exactly; step_max keeps its γ_N (the replay forms it apart from the backend's update).
let private blockClaimChecks (run: Run) (block: IResidualBlock) (segs: (int * GenericReplay.Stretch) list) =
    let gamma = Evidence.blockRounding run
    let ownRun = not (isNull (Replay.BitExactClaim run.Data))
    let recorded =
        [ for c in BlockTraceColumns.For block do
            if not (exactOnly.Contains c) || ownRun then
                match run.ClaimedTrace c with
                | Some v -> yield c, v
                | None -> ()
          yield "loss (losses.npy)", run.Losses ]
    let byIndex = Map.ofList segs
    let partial = ResizeArray()
    // another producer's gradient columns: their rounding is relative to the gradient's sample terms (cancellation between
    // the samples makes ‖G‖ small) and step_max may be ‖θ^{j+1} − θ^j‖ with the update's own rounding; the MLP's absolute
    // allowances for these are not derived for a block, so on another producer's run they are not compared (a tester's
    // faithful runs were VIOLATED on pl_ratio with cancelling targets and on step_max as run-format.md defines it)
    let gradientColumns = set [ "grad_norm"; "pl_ratio"; "grad_max"; "step_max" ]
    let notCompared = Collections.Generic.SortedSet<string>()
    let bNorm = run.Setting.ReadoutNorm
    // another producer's loss c against the recomputed r at states of largest norm hMax: γ_N(|c| + |r|) and two evaluations'
    // rounding with the outputs' absolute error δ = γ·‖B‖₂·hMax (I.loss' form): 2(2√r·δ + δ²) (a float32 loss near its
    // rounding floor was VIOLATED against γ(|c| + |r|) alone); one definition for the interval's iterates and the last snapshot
    // δ grows by the forward pass' amplification Ā of an error through the later layers (`GenericReplay.amplificationAt` at the
    // snapshot's parameters, the larger of the two snapshots around an iterate between them: a user's adversarial run had even
    // the verifier's own float64 loss outside the allowance without it)
    let foreignLossAllowance (c: float) (r: float) (hMax: float) (amp: float) =
        let delta = gamma * amp * bNorm * hMax
        gamma * (abs c + abs r) + 2.0 * (2.0 * sqrt (abs r) * delta + delta * delta)
    // another producer's adjoint_sum_max: p_L^i = (2/n)Bᵀ(Bh_L^i − y_i) carries each evaluation's output error δ absolutely,
    // (2/n)‖B‖₂δ a sample, which cancellation between outputs and targets does not shrink; the backward pass carries it
    // through the transposed Jacobians of the later layers (norms at most Ā), so over the n samples of the two evaluations
    // 4Ā‖B‖₂δ besides γ_N(|c| + |r|) (a NumPy conv run with y = F(x) at θ⁰: recorded 0 against a recomputed 10⁻¹⁵, VIOLATED)
    let foreignAdjointAllowance (c: float) (r: float) (hMax: float) (amp: float) =
        gamma * (abs c + abs r) + 4.0 * amp * bNorm * (gamma * amp * bNorm * hMax)
    let checks =
        [ for (s, st) in segs do
            let full = landsExactly run s st && (s = 0 || (match byIndex.TryFind(s - 1) with Some p -> landsExactly run (s - 1) p | None -> false))
            if not full then partial.Add(sprintf "iterations %d → %d" st.From st.To)
            // the iterate of the next snapshot belongs to the next interval (it is replayed from that snapshot)
            let last = if full then (if s + 1 < run.SnapshotCount && byIndex.ContainsKey(s + 1) then st.To - 1 else st.To) else st.From
            for (name, rec') in recorded do
              if not ownRun && gradientColumns.Contains name then notCompared.Add name |> ignore
              else
                let v = st.Column(if name.StartsWith "loss" then "loss" else name)
                let hidden = st.Column "hidden_max"
                let lastOf = if exactOnly.Contains name then (if full then min last (st.To - 1) else -1) else last
                for j in st.From .. min lastOf (rec'.Length - 1) do
                    let c, r = rec'.[j], v.[j]
                    if not (Double.IsNaN c && Double.IsNaN r) && not (name = "step_max" && j = rec'.Length - 1) then
                        let diff = if Double.IsNaN c || Double.IsNaN r then infinity else abs (c - r)
                        let exactly = ownRun && full && name <> "step_max"
                        // a column or losses.npy stored as float32 moved by up to r of itself (read from the recomputed r)
                        let stored = if name.StartsWith "loss (" then run.LossesStorageRoundoff else run.TraceStorageRoundoff name
                        // a loss of another producer: `foreignLossAllowance`, its adjoint_sum_max `foreignAdjointAllowance`; any
                        // other column γ_N(|c| + |r|)
                        let allowed =
                            if exactly then 0.0
                            elif ownRun || not (name.StartsWith "loss" || name = "adjoint_sum_max") then gamma * (abs c + abs r)
                            else
                                let amp = if j = st.From then GenericReplay.amplificationAtSnapshot run s else GenericReplay.amplificationAround run j
                                if name = "adjoint_sum_max" then foreignAdjointAllowance c r hidden.[j] amp
                                else foreignLossAllowance c r hidden.[j] amp
                        yield { Measured = diff; Bound = (if stored = 0.0 then allowed else allowed + stored * (abs r + allowed))
                                Where = sprintf "recorded %s %.17g vs recomputed %.17g" name c r
                                When = sprintf "iteration %d (replayed from snapshot %d)" j s } ]
    // a snapshot that starts no interval (the last one, at the last recorded iterate) was compared with nothing: its loss
    // recomputed by the block's own pass (`GenericResults.blockPass`) against losses.npy, within the allowance of another
    // producer's loss (a referee replaced a foreign run's final parameters by the initial ones: every row held)
    let starts = segs |> List.map (fun (_, st) -> st.From) |> set
    let lastSnapshots =
        [ for s in 0 .. run.SnapshotCount - 1 do
            let j = run.Steps.[s]
            if not (starts.Contains j) && j < run.Losses.Length then
                let pass = GenericResults.blockPass run s
                let d = run.Setting.Dim
                let mutable hMax = 0.0
                for o in 0 .. d .. pass.States.Length - d do hMax <- max hMax (Linalg.frobenius pass.States o d)
                let c, r = run.Losses.[j], pass.Loss
                let allowed = foreignLossAllowance c r hMax (GenericReplay.amplificationAtSnapshot run s)
                let stored = run.LossesStorageRoundoff
                yield { Measured = (if Double.IsNaN c || Double.IsNaN r then infinity else abs (c - r))
                        Bound = (if stored = 0.0 then allowed else allowed + stored * (abs r + allowed))
                        Where = sprintf "recorded loss (losses.npy) %.17g vs recomputed %.17g at the snapshot's parameters" c r
                        When = sprintf "iteration %d (snapshot %d, which starts no interval)" j s } ]
    checks @ lastSnapshots,
    [ if ownRun && segs |> List.exists (fun (s, st) -> landsExactly run s st) then
        "this engine's own run (run.json names its build): on the intervals that land bit for bit every column but step_max is compared exactly"
      if partial.Count > 0 then
        // how many recorded losses that leaves uncompared (a referee read the note as covering them)
        // (losses.npy's entries: a trace loss column's comparisons start "recorded loss " too and were counted beside them,
        // "9 of the 5 recorded losses")
        let compared = checks @ lastSnapshots |> List.filter (fun c -> c.Where.StartsWith "recorded loss (losses.npy)") |> List.length
        sprintf "the replay does not land bit for bit on the recording in %s: there the columns are compared at the interval's first iterate only (%d of the %d recorded losses compared here; E.replay compares the others within its companions' estimated tolerance where it certifies the segment)"
            (String.concat ", " partial) compared run.Losses.Length
      if notCompared.Count > 0 then
        sprintf "another producer's %s not compared: for a block the allowance of another producer's gradient rounding (relative to the gradient's sample terms) is not derived" (String.concat ", " notCompared)
      // clip_fraction is compared on the bit-exact path only (`exactOnly`); another producer's was dropped without a word
      // (a NumPy conv run with every layer clipped and the column rewritten from 1 to 0 held, its note naming other columns)
      if not ownRun && (run.ClaimedTrace "clip_fraction").IsSome then
        "another producer's clip_fraction not compared: the count of layers whose ‖G_k‖ exceeds the radius jumps there, so its rounding may change it (compared on this engine's own runs only; for a block the layers' decision against the radius is not made, as it is for the MLP)" ]

/// What a block's replay supplies: every segment replayed from its snapshot through the block's Forward/Backward; a run of
/// this build compared bit for bit (its bit-exact claim), another producer's within the tolerance of the rounding companions
/// (`GenericReplay.companions`, certified as the MLP's segments are). The columns are compared within γ_N (`blockClaimChecks`).
let private blockReplayed (run: Run) : Result<Replayed, string> =
    match run.Data.Block with
    | null -> Error(sprintf "architecture '%s' is not registered in the engine's BlockCatalog (the replay needs its Backward)" run.Setting.Architecture)
    | _ when not (Replay.IsGradientDescent run.Data) -> Error "no replay (not gradient descent)"
    | _ when run.SnapshotCount = 0 || run.Steps.[0] <> 0 -> Error "no snapshot at iteration 0: the replay has no starting point"
    | block ->
        let tracks = GenericReplay.tracks run
        let P, L = run.ParameterCount, run.Setting.Depth
        let stretches = GenericReplay.intervals run
        let u = Evidence.unit run
        let segments =
            List.map3 (fun (s, a, b) (st: GenericReplay.Stretch option) (tolerance: BlockTolerance option) ->
                let landing =
                    if s + 1 >= run.SnapshotCount then None
                    else
                        match st with
                        | None -> Some(infinity, 0)
                        | Some st ->
                            let t = run.Theta(s + 1)
                            let per = Array.init L (fun k -> Linalg.frobeniusDiff t (k * P) st.EndTheta (k * P) P)
                            let worst = Comparison.worstIndexMax per.Length (fun k -> per.[k])
                            Some(sqrt (per |> Array.sumBy (fun x -> x * x)), worst + 1)
                // another producer's run: the companions estimate its rounding's drift (BlockCompanions, the MLP's method through
                // the block's generic pass); until 2026-12-06's second session no block segment was certifiable, so a foreign
                // block run's snapshots and losses between segment starts were compared by no row (a user test)
                match tolerance with
                | Some t ->
                    let len = b - a
                    let checks =
                        [ match landing with
                          | Some (m, worst) ->
                              let zn = Linalg.norm (run.Theta(s + 1))
                              yield { Measured = (if t.Finite then m else infinity); Bound = t.WeightTolerance.[len] + u * zn
                                      Where = sprintf "snapshot %d weights vs replay from snapshot %d (worst layer k = %d)" (s + 1) s worst
                                      When = sprintf "iteration %d (segment from snapshot %d)" b s }, b
                          | None -> ()
                          if t.Finite then
                              for i in 0 .. len do
                                  let rec' = run.Losses.[a + i]
                                  let stored = LossStorage.allowance run.LossesStorageRoundoff rec'
                                  yield { Measured = (let dd = abs (rec' - t.Losses.[i]) in if Double.IsNaN dd then infinity else dd)
                                          Bound = t.LossTolerance.[i] + stored
                                          Where = sprintf "recorded loss %.17g vs replayed %.17g" rec' t.Losses.[i]
                                          When = sprintf "iteration %d (segment from snapshot %d)" (a + i) s }, a + i ]
                    let growth = Comparison.maxKeepNaN t.Growth
                    { Snapshot = s; From = a; To = b; Finite = t.Finite; Certified = t.Certified
                      Uncertifiable =
                        (if t.Certified then ""
                         elif not t.Finite then
                             sprintf "iterations %d → %d: the replay from snapshot %d with the declared η = %g left the finite numbers while the recorded run stayed finite: check run.json's eta (or learning_rate, loss convention) and optimizer against the producer's" a b s run.Setting.Eta
                         else
                             let spacing =
                                 if t.CertifiableSpacing = 0 then "not even one step is certifiable at this precision"
                                 else sprintf "its first %d iterations are certifiable: take snapshots at most %d iterations apart" t.CertifiableSpacing t.CertifiableSpacing
                             sprintf "iterations %d → %d: the tolerance E = %.3g exceeds %g of the weights' norm %.3g (perturbations grow up to %.3g×); %s"
                                 a b t.WeightTolerance.[len] SegmentReplay.CertifyFraction t.StartNorm growth spacing)
                      Growth = Some growth
                      Amplification = None
                      Checks = checks |> List.map fst; CheckIterations = checks |> List.map snd; Landing = landing
                      CertifiedThrough = (if t.Certified then b elif t.Finite then a + min t.CertifiableSpacing len else a - 1) }
                | None ->
                { Snapshot = s; From = a; To = b; Finite = st.IsSome; Certified = false
                  Uncertifiable =
                    (if st.IsNone then sprintf "iterations %d → %d: the replay from snapshot %d became non-finite" a b s
                     else
                         sprintf "iterations %d → %d: the block replay measures no growth of a rounding perturbation, so it certifies no tolerance for another producer; it compares bit for bit only a run of this very build, and %s"
                             a b (match Replay.BitExactMismatch run.Data with null -> "the claim holds" | why -> why))
                  Growth = None; Amplification = None; Checks = []; CheckIterations = []; Landing = landing; CertifiedThrough = a - 1 }) stretches tracks.Segments (GenericReplay.companions run)
            |> Array.ofList
        let finite = List.zip stretches tracks.Segments |> List.choose (fun ((s, _, _), st) -> st |> Option.map (fun st -> s, st))
        let checks, notes = blockClaimChecks run block finite
        Ok { Segments = segments
             Constants = [ "tau", Evidence.tau run; "unit roundoff", Evidence.unit run ]
             ClaimChecks = checks
             ClaimNotes =
                notes @ [ if finite.Length < segments.Length then "intervals whose replay left the finite numbers are compared through the identities only (see E.replay)" ] }

// ---------------------------------------------------------------- the MLP's gradient flow (Verification/FlowReplay.cs)

/// Columns that are no Lipschitz function of the weights with a constant at hand, compared at a snapshot's output only (both
/// from the same weights, within τ relative), as on gradient descent.
let private flowSnapshotColumns = [ "grad_norm"; "pl_ratio"; "grad_w_max"; "grad_v_max"; "hidden_max"; "adjoint_sum_max"; "preact_min"; "preact_max" ]

/// The MLP flow's recorded columns against the verifier's integration, on every reproduced segment (docs/theorems/Evidence.md,
/// "E.claims on a flow run"): the loss column within E.flowReplay's loss allowance at every output; smooth_w, smooth_v,
/// smooth_z (2-Lipschitz) and w_fro_max, v_fro_max (1-Lipschitz in max_k‖Z_k‖_F) within f·δ_i + τ|value| + 8u·max_k‖Z_k‖
/// (δ_i the per-layer weight allowance); step_max, a distance between the states at both ends of its interval, within
/// δ_i + δ_{i+1} plus the same rounding; the other columns at the snapshot's output within τ relative.
let private flowClaimChecks (run: Run) (e: FlowEvidence) =
    let tau, u = Evidence.tau run, Evidence.unit run
    let claimed name = run.ClaimedTrace name
    [ for seg in e.Segments do
        let r = seg.Replay
        if seg.Finite && seg.Reproduced then
            let len = r.To - r.From
            let last = if r.Snapshot + 1 < run.SnapshotCount then len - 1 else len
            let verified name = r.Trace.[name]
            let scaleAt i = max (verified "w_fro_max").[i] (verified "v_fro_max").[i]
            let at i = sprintf "output %d (t = %.4g; flow replayed from snapshot %d)" (r.From + i) (FlowRuns.time run (r.From + i)) r.Snapshot
            for i in 0 .. last do
                let j = r.From + i
                match claimed "loss" with
                | Some c when j < c.Length ->
                    yield { Measured = claimGap c.[j] r.Losses.[i]; Bound = storedBound run "loss" r.Losses.[i] r.LossTolerance.[i]
                            Where = sprintf "claimed loss %.17g vs verified %.17g" c.[j] r.Losses.[i]; When = at i }
                | _ -> ()
                for (name, f) in lipschitzColumns do
                    match claimed name with
                    | Some c when j < c.Length ->
                        let v = (verified name).[i]
                        yield { Measured = claimGap c.[j] v; Bound = storedBound run name v (f * r.WeightTolerance.[i] + tau * abs v + 8.0 * u * scaleAt i)
                                Where = sprintf "claimed %s %.17g vs verified %.17g" name c.[j] v; When = at i }
                    | _ -> ()
                match claimed "step_max" with
                | Some c when j < c.Length && i < len ->
                    let v = (verified "step_max").[i]
                    yield { Measured = claimGap c.[j] v; Bound = storedBound run "step_max" v (r.WeightTolerance.[i] + r.WeightTolerance.[i + 1] + tau * abs v + 8.0 * u * scaleAt i)
                            Where = sprintf "claimed step_max %.17g vs verified %.17g" c.[j] v; When = at i }
                | _ -> ()
            // at the snapshot's output both values are functions of the same weights: within τ relative as on gradient descent;
            // on the bit-exact path every output's state is the producer's own, so every output is compared so
            let outputs = if isNull e.Replay.BitExact then [ 0 ] else [ 0 .. last ]
            for name in flowSnapshotColumns do
                for i in outputs do
                    match claimed name with
                    | Some c when r.From + i < c.Length && not (name = "pl_ratio" && r.Losses.[i] = 0.0) ->
                        let v = (verified name).[i]
                        let rho = if name = "pl_ratio" then 2.0 * tau + r.LossRounding.[i] / abs r.Losses.[i] else tau
                        let bound = (if rho < 1.0 then 2.0 * rho * abs v / (1.0 - rho) else infinity) + 8.0 * u * scaleAt i
                        yield { Measured = claimGap c.[r.From + i] v; Bound = storedBound run name v bound
                                Where = sprintf "claimed %s %.17g vs verified %.17g" name c.[r.From + i] v; When = at i }
                    | _ -> () ]

/// What the MLP flow's replay supplies: every segment integrated by the verifier from its snapshot, compared with the next
/// snapshot and every recorded loss (`FlowEvidence.build`), and the recorded columns compared with its columns.
let private flowReplayed (run: Run) : Result<Replayed, string> =
    match run.FlowReplayUnmet, run.FlowEvidence with
    | None, Some e ->
        let segments =
            e.Segments |> Array.map (fun seg ->
                let r = seg.Replay
                { Snapshot = r.Snapshot; From = r.From; To = r.To; Finite = seg.Finite; Certified = seg.Finite
                  Uncertifiable = (match r.Failure with null -> "" | why -> why)
                  Growth = None
                  Amplification = None
                  Checks =
                    [ for (m, b, where', j) in seg.Checks ->
                        { Measured = m; Bound = b; Where = where'; When = sprintf "output %d (t = %.4g; segment from snapshot %d)" j (FlowRuns.time run j) r.Snapshot } ]
                  CheckIterations = [ for (_, _, _, j) in seg.Checks -> j ]
                  Landing = (if r.Snapshot + 1 < run.SnapshotCount && seg.Finite then Some(r.EndFrobenius, r.EndWorstLayer) else None)
                  CertifiedThrough = (if seg.Finite then r.To else r.From - 1) })
        let steps = e.Segments |> Array.sumBy (fun s -> s.Replay.Steps)
        let exact = not (isNull e.Replay.BitExact)
        Ok { Segments = segments
             Constants =
                [ "tau", Evidence.tau run; "unit roundoff", Evidence.unit run
                  "producer integration allowance 2(s_p+1)rtol_p", FlowRuns.integrationRel run
                  "verifier rtol", e.Replay.Rtol; "verifier atol", e.Replay.Atol
                  "verifier steps", float steps
                  "verifier rejected steps", float (e.Segments |> Array.sumBy (fun s -> s.Replay.Rejected))
                  "verifier field evaluations", float (e.Segments |> Array.sumBy (fun s -> s.Replay.Evaluations))
                  "largest |Z|_F on the replay", e.Segments |> Array.map (fun s -> s.Replay.MaxStateNorm) |> Comparison.maxKeepNaNOr nan
                  if not exact then
                    "largest allowance B (producer's error norm)", e.Segments |> Array.map (fun s -> s.Replay.RmsAllowance) |> Comparison.maxKeepNaNOr nan
                    "largest secant curvature along the replay (estimate)", e.Segments |> Array.map (fun s -> s.Replay.Curvature) |> Comparison.maxKeepNaNOr nan
                    "largest B·rtol_p", e.Replay.RelativeAllowance ]
             ClaimChecks = flowClaimChecks run e
             ClaimNotes =
                [ if exact then
                    sprintf "a gradient-flow run replayed bit for bit (%s): the columns are compared with the replay's (docs/theorems/Evidence.md, E.flowReplay)" e.Replay.BitExact
                  else "a gradient-flow run: the columns are compared with the verifier's own integration of the flow (docs/theorems/Evidence.md, E.flowReplay)"
                  if not e.Complete then "segments whose flow replay did not reach its end or did not reproduce the recording are compared through the identities only (see E.flowReplay)" ] }
    | Some why, _ -> Error(sprintf "no flow replay (E.flowReplay's hypotheses are not met): %s" why)
    | None, None -> Error "no flow replay: not a gradient-flow run of the MLP"

let private replayCache = System.Runtime.CompilerServices.ConditionalWeakTable<Run, Lazy<Result<Replayed, string>>>()

/// The replay of a run, supplied by its architecture (Error: why there is none); built once per run (E.replay's
/// hypothesis and conclusion and E.claims read it).
let replayed (run: Run) : Result<Replayed, string> =
    replayCache.GetValue(run, fun run ->
        lazy (if run.IsMlp && FlowRuns.isFlow run then flowReplayed run elif run.IsMlp then mlpReplayed run else blockReplayed run)).Value

// ---------------------------------------------------------------- the statements, once

let private hypGradientDescent : string * (Run -> HypothesisCheck) =
    "plain or clipped gradient descent", fun run ->
        if Replay.IsGradientDescent run.Data then Met(sprintf "optimizer %s" run.Setting.Optimizer)
        else NotMet(Evidence.notGradientDescent run)

/// True when the run says float64 and every entry of every snapshot of W and V is a float32 number (the MLP): a hint that
/// the producer computed in float32 and stored float64 without saying so.
let private float32Weights (run: Run) =
    run.IsMlp && run.Data.Meta.Precision = "float64" && run.SnapshotCount > 0
    && ResOdeProofs.Numerics.IO.RunDirectory.AllFloat32(seq { for s in 0 .. run.SnapshotCount - 1 do yield run.W s; yield run.V s })

/// Hypothesis of E.replay: a snapshot to start from. The MLP's replay starts at every snapshot, the first included, so a run
/// whose first snapshot comes after iteration 0 is replayed from there (the iterations before it are said to be unchecked);
/// any other block's replay starts at iteration 0.
let private hypStartingSnapshot : string * (Run -> HypothesisCheck) =
    "a snapshot to replay from (iteration 0 for a block other than the MLP)", fun run ->
        if run.SnapshotCount = 0 then NotMet "the run has no snapshot"
        elif run.Steps.[0] = 0 then Met "snapshot 0 is the initialization"
        elif run.IsMlp && not (FlowRuns.isFlow run) then Met(sprintf "the first snapshot is at iteration %d: replayed from there" run.Steps.[0])
        else NotMet "the run has no snapshot of the initialization (iteration 0)"

/// The uncertified segments' reasons, "iterations a → b: why", with the segments of one reason named together and the
/// reason said once, in the order first met (a block run's every segment once gave the same long sentence, repeated per
/// segment, before its segments were certified by the companions).
let groupedReasons (reasons: string[]) =
    let split (t: string) =
        let m = Text.RegularExpressions.Regex.Match(t, "^iterations (\\d+ → \\d+): (.*)$", Text.RegularExpressions.RegexOptions.Singleline)
        if m.Success then m.Groups.[2].Value, Some m.Groups.[1].Value else t, None
    reasons
    |> Array.map split
    |> Array.groupBy fst
    |> Array.map (fun (why, xs) ->
        match xs |> Array.choose snd with
        | [||] -> why
        | [| one |] -> sprintf "iterations %s: %s" one why
        | ranges -> sprintf "iterations %s: %s" (String.concat ", " ranges) why)
    |> String.concat "; "

let private hypCertified : string * (Run -> HypothesisCheck) =
    "every segment certifiable (tolerance ≤ 1% of the weights' norm) or claimed bit-exact", fun run ->
        match replayed run with
        | Error why -> NotMet why
        | Ok e ->
            match e.Segments |> Array.filter (fun s -> not s.Certified), Replay.BitExactClaim run.Data with
            | [||], null -> Met(sprintf "%d segment(s), largest error growth %.3g×" e.Segments.Length (e.Segments |> Array.choose (fun s -> s.Growth) |> Comparison.maxKeepNaNOr 1.0 |> max 1.0))
            | [||], claim when run.IsMlp ->
                Met(sprintf "%d segment(s) replayed as the producer's own program, without the rounding companions, each compared bit for bit, since %s" e.Segments.Length claim)
            | [||], _ -> Met(sprintf "%d segment(s), largest error growth %.3g×" e.Segments.Length (e.Segments |> Array.choose (fun s -> s.Growth) |> Comparison.maxKeepNaNOr 1.0 |> max 1.0))
            | bad, null -> NotMet(groupedReasons (bad |> Array.map (fun s -> s.Uncertifiable)))
            | bad, claim -> Met(sprintf "%d of %d segment(s) certified; the other %d compared bit for bit, since %s" (e.Segments.Length - bad.Length) e.Segments.Length bad.Length claim)

/// The comparisons of a segment not certified as a whole that its first iterations still certify: the recorded losses
/// through `CertifiedThrough` (not the landing, at its end), each with its iteration. A user doubled the losses of
/// iterations 1–10 of a float32 run whose first segment certified its first 74 iterations: nothing compared them, exit 0.
let private certifiedPrefix (seg: ReplayedSegment) =
    if seg.Certified || seg.Checks.Length <> seg.CheckIterations.Length then []
    else
        List.zip seg.Checks seg.CheckIterations
        |> List.filter (fun (c, j) -> j <= seg.CertifiedThrough && not (c.Where.StartsWith "snapshot "))

/// The comparison of an uncertified segment covered by the bit-exact claim: the replay must land on the next recorded
/// snapshot exactly (allowance 0), as the same program with the same thread count and vector width does.
let private bitExactLanding (seg: ReplayedSegment) =
    [ match seg.Landing with
      | Some (d, worst) ->
          { Measured = (if seg.Finite then d else infinity); Bound = 0.0
            Where = sprintf "snapshot %d weights vs the bit-exact replay from snapshot %d (‖ΔZ‖_F; worst layer k = %d)" (seg.Snapshot + 1) seg.Snapshot worst
            When = sprintf "iteration %d (segment from snapshot %d, not certifiable: compared bit for bit)" seg.To seg.Snapshot }
      | None -> () ]

/// Where E.replay first fails, said in the terms of what a producer may have done differently: a loss that differs at a
/// snapshot's own weights (no update replayed yet) points at the forward pass or the loss (activation, 1/L, the data, the
/// loss convention); a first failure after the snapshot's loss agreed points at the update (η, the gradient, the optimizer)
/// or at a changed record. Empty unless violated.
let private diagnosis (run: Run) (e: Replayed) (ev: Evaluation) : string list =
    if not (Verdict.isViolated ev.Verdict) then []
    else
        // the earliest failed comparison in iterations (the first segment that has one), not the first in the list (a segment
        // lists its landing, at its last iteration, before its losses); each comparison's iteration as the segment records it
        let exact = not (isNull (Replay.BitExactClaim run.Data))
        let first =
            e.Segments |> Array.tryPick (fun seg ->
                // the comparisons the row made (`replay`): an uncertified segment's landing under the bit-exact claim only
                let cs =
                    if seg.Certified then List.zip seg.Checks seg.CheckIterations
                    elif exact then bitExactLanding seg |> List.map (fun c -> c, seg.To)
                    else certifiedPrefix seg
                cs |> List.filter (fun (c, _) -> not (c.Measured <= c.Bound)) |> List.sortBy snd |> List.tryHead |> Option.map (fun (c, _) -> seg, c))
        // "as far as a loss can tell": with V = 0 at the snapshot every activation gives the same loss there
        let vZeroAt (s: int) = run.IsMlp && s < run.SnapshotCount && run.V s |> Array.forall (fun x -> x = 0.0)
        // the comparison of the loss at a segment's own snapshot, when the segment made one (an uncertified segment of a
        // bit-exact claim compares its landing only)
        let atSnapshot (seg: ReplayedSegment) (c: Check) = c.Where.Contains "loss" && c.When.StartsWith(sprintf "iteration %d " seg.From)
        match first with
        | Some (seg, c) when atSnapshot seg c ->
            [ sprintf "the first failed comparison is the loss at snapshot %d's own weights (iteration %d, before any replayed update): the forward pass or the loss differs from the declared one (activation, the 1/L scaling, the data x, y, a.npy, b.npy, the loss convention \"loss\"), not the update" seg.Snapshot seg.From ]
        | Some (seg, c) when not ((if seg.Certified then seg.Checks else []) |> List.exists (atSnapshot seg)) ->
            [ sprintf "the first failed comparison is at %s (the loss at snapshot %d's own weights was not compared on this segment): the run departs from the declared gradient descent somewhere in between (the forward pass, the loss convention, η, the gradient or the optimizer), or a snapshot was changed" c.When seg.Snapshot ]
        | Some (seg, c) ->
            // the first failure the landing on the next snapshot, whose own loss fails too: that snapshot disagrees with both
            // the replay that reaches it and its own recorded loss, the mark of a changed snapshot (or loss) rather than of
            // other updates, which would leave a snapshot's loss at its own weights in agreement (user test: a bumped snapshot
            // 2 was reported as "snapshot 3 weights vs replay from snapshot 2", the worst comparison, and the note blamed the updates)
            let next = e.Segments |> Array.tryFind (fun n -> n.Snapshot = seg.Snapshot + 1)
            let nextOwnLossFails =
                c.When.StartsWith(sprintf "iteration %d " seg.To)
                && (match next with
                    | Some n when n.Certified -> n.Checks |> List.exists (fun k -> atSnapshot n k && not (k.Measured <= k.Bound))
                    | _ -> false)
            [ sprintf "the loss at snapshot %d's own weights (iteration %d) agrees%s and the first failed comparison is at %s: the updates differ from the declared ones (η or learning_rate; the gradient: σ and σ', the 1/L scaling, the loss convention; the optimizer: momentum, Adam or mini-batches are not plain gradient descent), or a recorded loss or snapshot was changed"
                  seg.Snapshot seg.From (if vZeroAt seg.Snapshot then " (as far as a loss can tell: with V = 0 every activation gives the same one)" else "") c.When
              if nextOwnLossFails then
                  sprintf "snapshot %d disagrees with both the replay that lands on it (from snapshot %d) and its own recorded loss (iteration %d): its weights or that loss were changed, the likelier cause; the later comparisons start from it" (seg.Snapshot + 1) seg.Snapshot seg.To ]
        | None -> []

/// (E.replay) replaying gradient descent from every snapshot reproduces the next snapshot and every recorded loss.
let replay : Result<Run> =
  FlowRuns.gdOnly "E.flowReplay"
    { Id = "E.replay"
      Title = "A gradient-descent replay reproduces the recorded snapshots and losses"
      Source = src
      Provenance = ProvedHereEstimated "another producer's rounding; none on a bit-exact replay"
      Doc = doc
      Statement =
        "From every snapshot s the verifier replays the declared (plain or clipped) gradient descent in float64 with the recorded data, η and activation "
        + "(any architecture: the MLP through its kernels, any other block through its Forward/Backward); on a certified segment "
        + "the next snapshot's weights lie within E + u‖Z‖ of the replay and every recorded loss within 2λE + 2(τℓ + 2√ℓδ + δ²), where E = 4·g·Σ(τ‖ηG‖ + u(‖Z‖ + ‖ηG‖)) "
        + "is the producer's accumulated rounding grown by the measured growth g of a one-ulp perturbation, and λ bounds the loss' sensitivity. "
        + "(Any block: the same companions through its generic pass, τ its relative rounding of one evaluation.) A segment whose E exceeds 1% of the weights' norm is not certifiable and is reported, "
        + "never violated, unless run.json claims this engine's build, vector width and thread count: the replay is then the producer's own computation and must land "
        + "on the next snapshot exactly. Such a run (the MLP) is replayed without the companions that measure the growth: every segment must land exactly, "
        + "and every recorded loss lie within 2(τℓ + 2√ℓδ + δ²) (E = 0). A losses.npy stored as float32 adds r/(1 − r)·|losses[j]|, r = 2⁻²⁴, to every loss comparison."
      // the certification is decided in the conclusion (`hypCertified`): an uncertifiable segment must not hide a certified
      // one's failed comparisons (a user zeroed a float32 run's losses over its one certified segment while another segment
      // was uncertifiable: "hypothesis not met", exit 0, and E.claims dropped the unreproduced segment)
      Hypotheses = [ hypGradientDescent; hypStartingSnapshot ]
      Conclusion =
        fun run ->
            match replayed run with
            | Error why -> Evaluation.notApplicable why
            | Ok e ->
                let before =
                    [ if run.SnapshotCount > 0 && run.Steps.[0] > 0 then
                        sprintf "iterations 0 to %d come before the first snapshot (iteration %d): no weights to replay them from, so their recorded losses are not checked" (run.Steps.[0] - 1) run.Steps.[0] ]
                // an uncertified segment is compared bit for bit under the bit-exact claim only; without it, not at all
                let exact = not (isNull (Replay.BitExactClaim run.Data))
                let checks =
                    [ for seg in e.Segments do
                        if seg.Certified then yield! seg.Checks
                        elif exact then yield! bitExactLanding seg
                        else yield! certifiedPrefix seg |> List.map fst ]
                let ev = evaluation 0.0 checks e.Constants []
                // certified segments' comparisons decide a violation whatever the other segments are; with a segment neither
                // certifiable nor covered by a bit-exact claim, a row that does not fail is "hypothesis not met", naming it
                let hypName, hypCheck = hypCertified
                let ev =
                    match hypCheck run with
                    | Met v -> { ev with Hypotheses = [ hypName, true, v ] }
                    | NotMet why when Verdict.isViolated ev.Verdict ->
                        { ev with Hypotheses = [ hypName, false, why + " (the certified comparisons were made: one fails)" ] }
                    | NotMet why ->
                        // a segment of no step (the last snapshot on the last iterate) is its loss alone: named as such, not
                        // counted among the segments between snapshots (a user read "all 20 not certifiable, the other 1 holds")
                        let certified = e.Segments |> Array.filter (fun s -> s.Certified && s.To > s.From) |> Array.length
                        let endLoss = e.Segments |> Array.exists (fun s -> s.Certified && s.To = s.From)
                        let prefix = e.Segments |> Array.sumBy (fun s -> (certifiedPrefix s).Length)
                        let why = if certified > 0 then sprintf "%s; the other %d certified segment(s) were compared and hold" why certified else why
                        let why = if endLoss then sprintf "%s; the last snapshot's loss was compared and holds" why else why
                        let why = if prefix > 0 then sprintf "%s; the %d recorded loss(es) in the certifiable first iterations of the others were compared and hold" why prefix else why
                        Evaluation.notMetKeeping hypName why ev
                let growth = e.Segments |> Array.choose (fun s -> s.Growth)
                let amplification = e.Segments |> Array.choose (fun s -> s.Amplification)
                { ev with
                    Constants =
                        ev.Constants
                        @ [ if growth.Length > 0 then "largest error growth", Comparison.maxKeepNaN growth
                            // the factor the allowances took for the adjoints' growth down the layers (a user could not tell from
                            // the output which amplification had widened a loss allowance 10⁷-fold)
                            if amplification.Length > 0 then "largest rounding amplification (adjoint growth A/2, at least 1)", Comparison.maxKeepNaN amplification ]
                    Notes =
                        [ yield! before
                          // on a block run this row compares the snapshots only (a referee read the title's "and losses" as
                          // covering them: a changed losses.npy left it holding)
                          if not run.IsMlp && not (isNull (Replay.BitExactClaim run.Data)) then
                            "a block run of this build: this row compares the replay's landing on the recorded snapshots; its recorded losses are compared with the replay's by E.claims"
                          yield! diagnosis run e ev
                          if Verdict.isViolated ev.Verdict then
                            "the recorded run is not the declared gradient descent: a modified snapshot or loss, data other than the producer's (x.npy, y.npy, a.npy, b.npy), or another optimizer (declare Adam, momentum or mini-batches in run.json \"optimizer\"; the gradient-descent results then say hypothesis not met)"
                            if float32Weights run then
                                "every snapshot's weights are float32 numbers while the run says float64 (or says nothing and stores float64): if the producer computed in float32, declare \"precision\": \"float32\" in run.json, whose unit roundoff the tolerances then take" ] } }

/// Hypothesis of E.flowReplay: run.json declares what the producer's allowance is made of (rtol, atol, ode_steps), and the
/// architecture is the MLP (the engine integrates its flow); met on a run that is not a flow run (nothing to replay).
let private hypFlowDeclared : string * (Run -> HypothesisCheck) =
    "the integration declared (rtol in (0, 1), atol > 0, ode_steps, the engine's Dormand–Prince 5(4))", fun run ->
        if not (FlowRuns.isFlow run) then Met "not a gradient-flow run (nothing to replay)"
        elif not run.IsMlp then NotMet(sprintf "architecture '%s': only the MLP's flow is integrated by the engine" run.Setting.Architecture)
        else
            let m = run.Data.Meta
            let engine = ResOdeProofs.Numerics.Ode.ButcherTableau.DormandPrince54.Name
            match FlowReplay.Undeclared run.Data with
            | null when FlowReplay.IsDormandPrince54 m.OdeMethod -> Met(sprintf "rtol %g, atol %g, %d accepted steps (%s)" m.Rtol.Value m.Atol.Value m.OdeSteps.Value m.OdeMethod)
            | null ->
                NotMet(
                    match m.OdeMethod with
                    | null -> sprintf "run.json names no ode_method: the allowance rests on the error estimate of the engine's %s pair with its RMS-norm controller" engine
                    | other -> sprintf "ode_method '%s': the allowance rests on the error estimate of the engine's %s pair with its RMS-norm controller (also named %s), not this method's" other engine (String.concat ", " (Seq.tail FlowReplay.DormandPrince54Names)))
            | why -> NotMet why

/// A hypothesis of E.flowReplay checked on flow runs only (met on any other run: nothing to replay, the result is not applicable).
let private onFlow ((name, check): string * (Run -> HypothesisCheck)) : string * (Run -> HypothesisCheck) =
    name, fun run -> if FlowRuns.isFlow run then check run else Met "not a gradient-flow run (nothing to replay)"

/// Hypothesis of E.flowReplay: the field −c·G is smooth. The embedded pair's error estimate, on which the producer's allowance
/// rests, assumes it: a non-smooth σ (ReLU) breaks it, and so does the clip, whose projection onto the ball is not
/// differentiable at the radius (a layer whose ‖G_k‖ crosses C makes a kink the estimate does not see).
let private hypSmoothField : string * (Run -> HypothesisCheck) =
    onFlow (
        "smooth field: σ with a bounded σ'' and no clip (or the producer's program replayed bit for bit)",
        fun run ->
            match FlowReplay.BitExactClaim run.Data with
            | null ->
                match snd Hypotheses.smoothSigma run with
                | NotMet why -> NotMet why
                | Met v when run.Setting.Optimizer = "clipped-gf" ->
                    NotMet(sprintf "%s, but a clipped-gf run: the clip factor min(1, C/‖G_k‖) has a kink at the radius, where the integrator's error estimate does not hold" v)
                | ok -> ok
            | claim -> Met(sprintf "not needed on the bit-exact path (%s): the comparison is exact, no error estimate enters" claim))

/// The integration allowance's hypothesis, which E.flowReplay's certified path rests on; on the bit-exact path no allowance enters.
let private hypFlowIntegration : string * (Run -> HypothesisCheck) =
    let name, check = FlowRuns.hypIntegration
    name, fun run ->
        match FlowReplay.BitExactClaim run.Data with
        | null -> check run
        | claim -> Met(sprintf "not needed on the bit-exact path (%s): integration allowance %.3g, no allowance enters the comparison" claim (FlowRuns.integrationRel run))

/// Hypothesis of E.flowReplay: the verifier's integration reaches the end of every segment in finite numbers.
let private hypFlowFinite : string * (Run -> HypothesisCheck) =
    "the verifier's flow replay reaches every segment's end", fun run ->
        if not (FlowRuns.isFlow run) then Met "not a gradient-flow run (nothing to replay)"
        else
            match run.FlowEvidence with
            | None -> NotMet(sprintf "not integrated: %s" (defaultArg run.FlowReplayUnmet "not a gradient-flow run of the MLP"))
            | Some e ->
                match e.Segments |> Array.filter (fun s -> not s.Finite) with
                | [||] -> Met(sprintf "%d segment(s)" e.Segments.Length)
                | bad -> NotMet(bad |> Array.map (fun s -> match s.Replay.Failure with null -> sprintf "segment from snapshot %d left the finite numbers" s.Replay.Snapshot | why -> why) |> String.concat "; ")

/// Hypothesis of E.flowReplay: the whole allowance B, read relative to the weights, B·rtol_p, is at most 10⁻³. The producer's
/// share 2(s_p + 1)·rtol_p is capped by `FlowRuns.hypIntegration`; B also holds (s_p + 1)·c_R·u_p/rtol_p, the verifier's
/// share and the field's rounding β(τ_p + τ_v)Δt·max‖f‖/(√N·atol_p), which a tiny atol or float32 can make dominant.
let private hypFlowAllowance : string * (Run -> HypothesisCheck) =
    "the flow replay's allowance accurate: B·rtol_p ≤ 1e-3", fun run ->
        if not (FlowRuns.isFlow run) then Met "not a gradient-flow run (nothing to replay)"
        else
            match run.FlowEvidence with
            | None -> NotMet(sprintf "not integrated: %s" (defaultArg run.FlowReplayUnmet "not a gradient-flow run of the MLP"))
            | Some e ->
                let rel = e.Replay.RelativeAllowance
                if not (isNull e.Replay.BitExact) then Met(sprintf "B = 0: the producer's own integration replayed bit for bit (%s)" e.Replay.BitExact)
                elif rel <= FlowReplay.MaxIntegrationRel then Met(sprintf "B·rtol_p = %.3g" rel)
                else NotMet(sprintf "B·rtol_p = %.3g > %g: the rounding per step (c_R·u_p/rtol_p), the field's rounding (over atol_p) or the verifier's steps make the allowance too loose to tell a recording from an integration error" rel FlowReplay.MaxIntegrationRel)

/// (E.flowReplay) integrating the gradient flow from every snapshot reproduces the next snapshot and every recorded loss.
let flowReplay : Result<Run> =
  FlowRuns.flowOnly "E.replay"
    { Id = "E.flowReplay"
      Title = "A replay of the gradient flow reproduces the recorded snapshots and losses"
      Source = src
      Provenance = ProvedHereEstimated "another producer's integration errors, the loss' curvature; none on a bit-exact replay"
      Doc = doc
      Statement =
        "From every snapshot s of a gradient-flow run with a smooth field (a smooth σ, no clip) the verifier integrates the declared flow dZ/dt = −G with its own solve "
        + "(Dormand–Prince 5(4) at rtol_v = max(rtol_p/100, 1e-12), atol_v = atol_p·rtol_v/rtol_p, float64, the recorded data and activation) "
        + "to every output time up to the next snapshot. In the producer's own error norm ‖x/w‖_RMS, w_j = atol_p + rtol_p·max_t|Z_j(t)|, the next snapshot lies within "
        + "B = (s_p + 1)(1 + c_R u_p/rtol_p) + (s_v + 1)(rtol_v + c_R u_v)/rtol_p + 2u_p/rtol_p + β(τ_p + τ_v)Δt·max‖f‖/(√N atol_p) of the replay "
        + "(s_p, s_v the accepted steps, c_R = 72 an estimate, β = 2, N the number of weights): the producer's allowance 2(s_p + 1)·rtol_p read in its own norm (an estimate: "
        + "local errors summed without amplification), the verifier's likewise, and rounding; every recorded loss within (1 + τ_v)√N·B·‖(G/L) ⊙ w‖₂ + ½λ̂(√N·B·max w)² "
        + "(Taylor about the replay: the first order by Cauchy–Schwarz in that norm, the second with λ̂ the largest secant curvature 2|ℓ(Z_{j+1}) − ℓ(Z_j) − ∇ℓ(Z_j)·ΔZ|/‖ΔZ‖² "
        + "measured along the replay between consecutive outputs, an estimate of the Hessian in the deviation's direction, not a bound) "
        + "plus the rounding 2(τℓ + 2√ℓδ + δ²) of the two loss evaluations. Hypotheses include run.json's ode_method being the engine's Dormand–Prince 5(4) (also named dopri5, RK45) and B·rtol_p ≤ 1e-3. "
        + "Bit-exact path: when run.json names this engine's build and vector width (float64), the verifier runs the producer's own integration once from output 0 "
        + "(the same field, solve, tolerances and output grid) and every allowance is 0: each recorded loss, each snapshot and run.json's ode_steps, ode_rejected and ode_evaluations must be reproduced exactly."
      Hypotheses = [ hypFlowDeclared; hypSmoothField; onFlow Hypotheses.initialSnapshot; hypFlowIntegration; hypFlowFinite; hypFlowAllowance ]
      Conclusion =
        fun run ->
            match replayed run with
            | Error why -> Evaluation.notApplicable why
            | Ok e ->
                let checks = [ for seg in e.Segments do yield! seg.Checks ]
                let ev = evaluation 0.0 checks e.Constants []
                let exact = run.FlowEvidence |> Option.exists (fun f -> not (isNull f.Replay.BitExact))
                { ev with
                    Notes =
                        [ if exact then
                            "bit-exact path: run.json names this engine's build and vector width, so the verifier runs the producer's own integration "
                            + "(the same field, solve, tolerances and output grid) once from output 0 and compares every output's loss, every snapshot and the step and evaluation counts run.json records exactly"
                          else
                            "the allowance rests on the producer's integration allowance 2(s_p + 1)·rtol_p, an estimate (each step's error estimate within the tolerance, "
                            + "no amplification between steps), not a certificate; the verifier's own solve is 100× tighter"
                            "the loss allowance's second-order term uses the curvature λ̂ measured along the verifier's trajectory: an estimate, not a certificate"
                          if Verdict.isViolated ev.Verdict then
                            "the recording is not the declared gradient flow within the producer's stated accuracy: a modified snapshot or loss, a wrong field (an engine fault), or an integration less accurate than its tolerances claim" ] } }

/// (E.claims) the producer's trace agrees with the verifier's columns and with the snapshots.
let claims : Result<Run> =
    { Id = "E.claims"
      Title = "The producer's trace columns agree with the verifier's evidence"
      Source = src
      Provenance = ProvedHere
      Doc = doc
      Statement =
        "Each recorded trace column is a claim. Identities on any run (Z_k = θ_k, for the MLP the pair W_k, V_k): per layer ‖Z_k(s+1) − Z_k(s)‖ ≤ Σ step_max over the segment, "
        + "and |smooth[j+1] − smooth[j]| ≤ 2·step_max[j] for smooth = max_k‖Z_{k+1} − Z_k‖ (smooth_z; other blocks smooth_theta); step_max = 0 at the last iterate, which no update follows. "
        + "On replayed gradient descent, the MLP: the loss and the Lipschitz columns (smooth_*, *_fro_max) agree with the replay within f·E (f = 2 or 1) plus rounding at every iterate, "
        + "the gradient, PL-ratio, hidden-state, adjoint and pre-activation columns and step_max agree at every snapshot iterate within τ relative; "
        + "any other block: every recorded column and loss agrees with the column recomputed from the replay within γ_N(|recorded| + |recomputed|), γ_N = Nu/(1 − Nu), "
        + "N = (L + 1)(nd + P), at every iterate of an interval whose replay lands on the next snapshot bit for bit, else at the interval's first iterate."
      Hypotheses =
        [ // on an MLP flow, the claims are compared with the flow replay, whose allowance holds only under E.flowReplay's
          // hypotheses: outside them (a clip's kink, a ReLU field, a loose tolerance) no comparison is made, not a violated one
          "a gradient-flow run of the MLP meets E.flowReplay's hypotheses", fun run ->
            match run.FlowReplayUnmet with
            | Some why -> NotMet(sprintf "E.flowReplay's hypotheses are not met: %s" why)
            | None -> Met(if FlowRuns.isFlow run && run.IsMlp then "the flow replay applies" else "not a gradient-flow run of the MLP") ]
      Conclusion =
        fun run ->
            let claimed name = run.ClaimedTrace name
            let evidence = replayed run
            let replayChecks = match evidence with Ok e -> e.ClaimChecks | Error _ -> []
            let present = traceColumns run |> Array.exists (fun n -> (claimed n).IsSome)
            // columns the run holds under a name no comparison reads (another architecture's, a misspelt one): named, since
            // such a claim passed without a word (an MLP run with a block's grad_max and theta_fro_max ten times their value)
            let unread =
                let known = set (traceColumns run)
                run.Data.Trace.Keys |> Seq.filter (fun c -> not (known.Contains c)) |> Seq.sort |> Seq.toList
            let unreadNote =
                if unread.IsEmpty then []
                else [ sprintf "trace column(s) under a name no comparison reads, not compared: %s (this architecture's columns: %s; docs/run-format.md)" (String.concat ", " unread) (String.concat ", " (traceColumns run)) ]
            if not present && replayChecks.IsEmpty then
                if unread.IsEmpty then Evaluation.notApplicable "the run records no trace columns: nothing is claimed beyond the snapshots and losses"
                else
                    { Evaluation.notApplicable (sprintf "the run records no trace column under a name of this architecture's, only %s, which no comparison reads: nothing is compared beyond the snapshots and losses" (String.concat ", " unread)) with
                        Notes = unreadNote }
            else
            let tau, u = Evidence.tau run, Evidence.unit run
            let L = run.Setting.Depth
            let smooth, scales = smoothColumns run
            // every column but the pre-activations' extremes (signed, and NaN for a block without a pre-activation range) is a
            // norm, a ratio of norms or a fraction: on a run with finite losses a finite number ≥ 0 (pl_ratio where the loss is
            // not 0) (user test: NaN, ∞ and −1 written between snapshots, where no column is compared with the replay, were let through)
            let lastFinite = if run.Setting.Diverged then run.Losses.Length - 2 else run.Losses.Length - 1
            // a claim of +∞ or NaN where the loss is still finite can be an honest overflow (a diverging run's gradient norm
            // passes 1.3·10¹⁵⁴, so its square overflows, while its loss is 10²²⁵: this engine's own diverged runs were
            // VIOLATED): it is false only where the verifier's own column holds a finite value there; elsewhere it is left
            // out, with a note
            let overflowNotCompared = Collections.Generic.List<string>()
            let verifiedFinite name j =
                match run.Trace name with
                | Some v when j < v.Length -> Double.IsFinite v.[j]
                | _ -> false
            let sane =
                [ for name in traceColumns run |> Array.filter (fun n -> not (n.StartsWith "preact")) do
                    match claimed name with
                    | Some c ->
                        let defined j = name <> "pl_ratio" || (j < run.Losses.Length && run.Losses.[j] > 0.0)
                        let overflow j = (Double.IsPositiveInfinity c.[j] || Double.IsNaN c.[j]) && not (verifiedFinite name j)
                        let range = seq { 0 .. min lastFinite (c.Length - 1) }
                        match Seq.tryFind (fun j -> defined j && overflow j) range with
                        | Some j -> overflowNotCompared.Add(sprintf "%s (%g at iteration %d)" name c.[j] j)
                        | None -> ()
                        match Seq.tryFind (fun j -> defined j && not (Double.IsFinite c.[j] && c.[j] >= 0.0) && not (overflow j)) range with
                        | Some j ->
                            yield { Measured = infinity; Bound = 0.0
                                    Where = sprintf "claimed %s = %.17g, %s" name c.[j] (if Double.IsFinite c.[j] then "below 0 for a norm" else "not a finite number on a run with finite losses")
                                    When = sprintf "iteration %d" j }
                        | None -> ()
                    | None -> () ]
            // clip_fraction is a fraction of the L layers: within [0, 1] and a multiple of 1/L (within its storage's and the
            // division's rounding), and 0 on plain gradient descent, which clips no update (a referee's 7, and 0.5 on a gd
            // run, were let through: the column is compared with no replay, its value jumps at the clip radius)
            let fraction =
                match claimed "clip_fraction" with
                | Some c ->
                    let r = run.TraceStorageRoundoff "clip_fraction" + u
                    let plain = run.Setting.Optimizer = "gd"
                    let bad j =
                        let x = c.[j]
                        let count = x * float L
                        Double.IsFinite x && x >= 0.0
                        && (x > 1.0 + r || abs (count - Math.Round count) > 2.0 * r * float L || (plain && x <> 0.0))
                    [ match Seq.tryFind bad (seq { 0 .. min lastFinite (c.Length - 1) }) with
                      | Some j ->
                          yield { Measured = infinity; Bound = 0.0
                                  Where =
                                    sprintf "claimed clip_fraction = %.17g, %s" c.[j]
                                        (if plain && c.[j] <> 0.0 && c.[j] <= 1.0 + r then "on plain gradient descent, which clips no update (0)"
                                         else sprintf "not a fraction of the %d layers (0, 1/%d, …, 1)" L L)
                                  When = sprintf "iteration %d" j }
                      | None -> () ]
                | None -> []
            // step_max at the last recorded iterate: no update (no output interval) follows it, so the column is 0 there
            // (docs/run-format.md); no replay compares that entry (a user's 100 there held, on plain and clipped runs)
            let lastStep =
                match claimed "step_max" with
                | Some step when not run.Setting.Diverged && step.Length = run.Losses.Length && Double.IsFinite step.[step.Length - 1] ->
                    let j = step.Length - 1
                    [ { Comparison.Check.Measured = abs step.[j]; Bound = 0.0
                        Where = sprintf "claimed step_max %.17g at the last iterate, where no update follows (0)" step.[j]
                        When = sprintf "iteration %d" j } ]
                | _ -> []
            let checks =
                [ yield! sane
                  yield! fraction
                  yield! lastStep
                  // identities on the claims alone
                  match claimed "step_max" with
                  | Some step ->
                      // NaN where this engine writes it (a clipped run whose layer gradient's norm overflowed: c = C/∞ = 0 and
                      // η·0·∞ is NaN, the claimed grad_norm +∞ there; RunDirectory accepts exactly these) is an overflow the claim
                      // inherits, as a claimed +∞ is: it bounds nothing and is not compared (it was read as a false claim, VIOLATED)
                      let gradNorm : float[] | null = match claimed "grad_norm" with Some g -> g | None -> null
                      let clipped = run.Setting.Optimizer = "clipped-gd" || run.Setting.Optimizer = "clipped-gf"
                      let overflowed j = ResOdeProofs.Numerics.IO.RunDirectory.StepOverflowed(clipped, step.[j], gradNorm, j)
                      let stepAt j = if overflowed j then infinity else step.[j]
                      match Seq.tryFind overflowed (seq { 0 .. step.Length - 1 }) with
                      | Some j -> overflowNotCompared.Add(sprintf "step_max (NaN at iteration %d, where the clipped gradient's norm overflowed)" j)
                      | None -> ()
                      for s in 0 .. run.SnapshotCount - 2 do
                          let a, b = run.Steps.[s], run.Steps.[s + 1]
                          let budget = if Seq.exists overflowed (seq { a .. b - 1 }) then infinity else Seq.sum (seq { for j in a .. b - 1 -> step.[j] })
                          let disp = Comparison.maxKeepNaN (seq { for k in 0 .. L - 1 -> layerDistance run (s + 1) s k })
                          let _, zmax = Evidence.zNorms run (s + 1)
                          // a float32 column holds each step rounded once more: the computed steps sum to at most budget/(1 − r)
                          let rStep = run.TraceStorageRoundoff "step_max"
                          // a step_max claim that is not a number bounds nothing: a false claim (+∞ against 0), not a missing bound;
                          // a claimed +∞ (an overflow, left out above where the verifier cannot refute it) bounds everything
                          if not (Double.IsPositiveInfinity budget) then
                           yield { Measured = (if Double.IsNaN budget then infinity else disp); Bound = (if Double.IsNaN budget then 0.0 else budget / (1.0 - rStep) * (1.0 + tau) + 4.0 * u * zmax)
                                   Where = sprintf "max_k ‖Z_k(snapshot %d) − Z_k(snapshot %d)‖ = %.6g vs claimed Σ step_max = %.6g" (s + 1) s disp budget
                                   When = sprintf "iterations %d → %d" a b }
                      match claimed smooth, scales |> List.map claimed with
                      | Some sz, fros when fros |> List.forall Option.isSome ->
                          let fros = fros |> List.map Option.get
                          // float32 columns: each stored value within r of its computed one (r = 0 for float64 columns)
                          let rStep, rSmooth = run.TraceStorageRoundoff "step_max", run.TraceStorageRoundoff smooth
                          let rScale = scales |> List.map run.TraceStorageRoundoff |> List.max
                          // pairs of iterates whose losses are checked finite: a diverged run's last iterate may hold NaN in
                          // every column (docs/run-format.md, "Errors"; a NumPy producer's whole overflowing row read VIOLATED)
                          for j in 0 .. min (sz.Length - 2) (lastFinite - 1) do
                              let scale = fros |> List.map (fun f -> max f.[j] f.[j + 1]) |> Comparison.maxKeepNaN
                              let storage = rSmooth / (1.0 - rSmooth) * (abs sz.[j] + abs sz.[j + 1])
                              let claims = [ sz.[j]; sz.[j + 1]; stepAt j ]
                              let bad = claims |> List.exists Double.IsNaN
                              if bad || not (claims @ [ scale ] |> List.exists Double.IsPositiveInfinity) then
                               yield { Measured = (if bad then infinity else abs (sz.[j + 1] - sz.[j])); Bound = (if bad then 0.0 else 2.0 * step.[j] / (1.0 - rStep) * (1.0 + tau) + 8.0 * u * scale / (1.0 - rScale) + storage)
                                       Where = sprintf "claimed |%s[j+1] − %s[j]| = %.6g vs 2·claimed step_max = %.6g" smooth smooth (abs (sz.[j + 1] - sz.[j])) (2.0 * step.[j])
                                       When = sprintf "iteration %d → %d" j (j + 1) }
                      | _ -> ()
                  | None -> ()
                  // the claims against the replay
                  yield! replayChecks ]
            let notes =
                (match evidence with
                 | Ok e -> e.ClaimNotes
                 | Error why -> [ sprintf "%s: the claims are checked through the identities only" why ])
                @ (if overflowNotCompared.Count = 0 then []
                   else [ sprintf "not compared, as overflows the verifier has no finite value to refute: %s" (String.concat ", " overflowNotCompared) ])
                @ unreadNote
            evaluation 0.0 checks ([ "tau", tau; "unit roundoff", u ] @ smoothnessConstants run) notes }

/// E.replay and E.claims, for a registry (with E.init: `Registry.evidenceEveryArchitecture`).
let all : Result<Run> list = [ replay; claims ]

/// The MLP's evidence results: E.replay, E.flowReplay (only the MLP's flow is integrated by the engine) and E.claims.
let mlpAll : Result<Run> list = [ replay; flowReplay; claims ]
