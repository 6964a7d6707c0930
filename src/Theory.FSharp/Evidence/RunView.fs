/// The theory layer's view of a run directory: its setting (the quantities the constants are made of)
/// and lazily computed layer-wise quantities at each snapshot.
namespace ResOdeProofs.Theory

open System
open ResOdeProofs.Numerics
open ResOdeProofs.Numerics.IO
open ResOdeProofs.Numerics.Training
open ResOdeProofs.Numerics.Model
open ResOdeProofs.Numerics.Verification

/// What the replay of one snapshot segment shows (docs/theorems/Evidence.md).
type SegmentEvidence =
    { Replay: SegmentReplay
      /// (measured, bound, where) of every comparison: the next snapshot's weights, then the loss at every iterate
      Checks: (float * float * string * int) list
      /// the replay's tolerance is at most 1% of the segment's displacement
      Certified: bool
      /// every comparison within its tolerance
      Reproduced: bool
      /// the replay from this snapshot lands on the next one within `LandingAllowance` (true for the last segment, which lands
      /// on none): the replayed iterates are the producer's within the segment's tolerance whatever losses.npy claims
      Lands: bool
      /// ε = E + u‖Z_{s+1}‖_F: how far the recorded next snapshot may lie from the replay's landing (the weight tolerance at
      /// the segment's end plus the storage of the recorded weights in the producer's precision; 0 when replayed bit for
      /// bit; NaN for the last segment, which lands on no snapshot). E.replay's landing comparison and the split rows'
      /// snapshot allowance (`SplitFamily.landingAllowance`) both read it.
      LandingAllowance: float }

/// A loss stored coarser than it was computed (losses.npy of float32 for a float64 run, r = 2⁻²⁴ the storage's unit roundoff,
/// `RunData.LossesStorageRoundoff`) moved by the storage: |rec − ℓ| ≤ r·|ℓ| ≤ r/(1 − r)·|rec| (docs/theorems/RunIntegrity.md,
/// "Losses stored coarser than computed"); 0 when the losses are stored as computed. Every comparison of a recorded loss adds it.
module LossStorage =
    /// A value stored as float32 may also round to a subnormal number: an absolute error of at most half its spacing 2⁻¹⁴⁹
    /// (the whole spacing is taken, `Replay.UnderflowUnit`).
    let allowance (r: float) (recorded: float) =
        if r > 0.0 then r / (1.0 - r) * abs recorded + ResOdeProofs.Numerics.Verification.Replay.UnderflowUnit "float32" else 0.0

/// The verifier's own per-iterate evidence of a gradient-descent run: every segment replayed from its snapshot.
type RunEvidence =
    { Replay: RunReplay
      Segments: SegmentEvidence[] }
    /// Every segment certified and reproduced, and a snapshot at iteration 0: the replay's columns stand for the run's.
    member e.Complete = e.Segments |> Array.forall (fun s -> s.Certified && s.Reproduced)
    /// Every segment certified and landing on the next snapshot: the replay's iterates are the producer's (bit for bit, or
    /// within the certified tolerance) from the recorded weights alone, so its columns are the verifier's evidence even where
    /// a recorded loss disagrees with them; the recorded losses are then claims the results compare with it (E.replay and the
    /// decay rows of C reject the disagreement; until 2026-12-06 a corrupted losses.npy took the columns away and the decay
    /// rows said "hypothesis not met", so no run directory could make them fail).
    member e.WeightsReproduced = e.Segments |> Array.forall (fun s -> s.Certified && s.Lands)

module RunEvidence =
    /// E.replay's allowance between the recorded loss at iterate From + i and the replay's: the segment's loss tolerance and
    /// the storage of losses.npy. The decay rows of C compare the record within the same allowance.
    let recordedLossAllowance (data: RunData) (seg: SegmentReplay) (i: int) =
        seg.LossTolerance.[i] + LossStorage.allowance data.LossesStorageRoundoff data.Losses.[seg.From + i]

    /// Replays every segment and compares it with the recorded snapshots and losses: the next snapshot's weights
    /// within E_To + u·‖Z_{s+1}‖_F (storage), the recorded loss at every iterate within the loss tolerance. A segment
    /// replayed as the producer's own program (`SegmentReplay.BitExact`) must land exactly (allowance 0), its losses
    /// within the rounding of the two loss evaluations (its E is 0).
    let build (data: RunData) (onSegment: Func<int, IterateCallback | null> | null) : RunEvidence =
        let replay = Replay.Run(data, onSegment)
        let u = Replay.UnitRoundoff data.Meta.Precision
        let segs =
            replay.Segments
            |> Array.map (fun seg ->
                let len = seg.To - seg.From
                let lands = seg.Snapshot + 1 < data.Steps.Length
                let allowance =
                    if not lands then nan
                    elif seg.BitExact then 0.0
                    else
                        let s1 = seg.Snapshot + 1
                        let zn = sqrt (Portable.sq (Linalg.frobenius data.W.[s1] 0 data.W.[s1].Length) + Portable.sq (Linalg.frobenius data.V.[s1] 0 data.V.[s1].Length))
                        seg.WeightTolerance.[len] + u * zn
                let checks =
                    [ if lands then
                        let s1 = seg.Snapshot + 1
                        let m = if seg.Finite then seg.EndDeviation else infinity
                        if seg.BitExact then
                            yield m, allowance,
                                  sprintf "snapshot %d weights vs the bit-exact replay from snapshot %d (‖ΔZ‖_F; worst layer k = %d: %.6g)" s1 seg.Snapshot seg.EndWorstLayer seg.EndWorstLayerDeviation, seg.To
                        else
                            yield m, allowance,
                                  sprintf "snapshot %d weights vs replay from snapshot %d (worst layer k = %d: %.6g)" s1 seg.Snapshot seg.EndWorstLayer seg.EndWorstLayerDeviation, seg.To
                      for i in 0 .. len do
                        let rec' = data.Losses.[seg.From + i]
                        let d = abs (rec' - seg.Losses.[i])
                        // the replay's own tolerance (0 rounding left between bit-exact evaluations) and the storage of losses.npy
                        let stored = LossStorage.allowance data.LossesStorageRoundoff rec'
                        yield (if Double.IsNaN d then infinity else d), recordedLossAllowance data seg i,
                              sprintf "recorded loss %.17g vs replayed %.17g%s" rec' seg.Losses.[i] (if stored > 0.0 then " (stored as float32)" else ""), seg.From + i ]
                let landing = checks |> List.filter (fun (_, _, what: string, _) -> what.StartsWith "snapshot ")
                { Replay = seg; Checks = checks; Certified = seg.Certified
                  Reproduced = checks |> List.forall (fun (m, b, _, _) -> m <= b)
                  Lands = landing |> List.forall (fun (m, b, _, _) -> m <= b); LandingAllowance = allowance })
        { Replay = replay; Segments = segs }

/// What the verifier's replay of one snapshot segment of a gradient-flow run shows (docs/theorems/Evidence.md, "E.flowReplay").
type FlowSegmentEvidence =
    { Replay: FlowSegmentReplay
      /// (measured, bound, where, output) of every comparison: the next snapshot's weights in the producer's error norm,
      /// then the recorded loss at every output of the segment
      Checks: (float * float * string * int) list
      /// the verifier's integration reached the segment's end in finite numbers
      Finite: bool
      /// every comparison within its allowance
      Reproduced: bool
      /// the integration from this snapshot reaches the next one within its allowance (true for the last segment)
      Lands: bool }

/// The verifier's own per-output evidence of a gradient-flow run: every segment integrated from its snapshot.
type FlowEvidence =
    { Replay: FlowRunReplay
      Segments: FlowSegmentEvidence[] }
    /// Every segment finite and reproduced: the replay's columns stand for the run's.
    member e.Complete = e.Segments |> Array.forall (fun s -> s.Finite && s.Reproduced)
    /// Every segment finite and landing on the next snapshot: the replay's columns are the verifier's evidence whatever the
    /// recorded losses claim (as `RunEvidence.WeightsReproduced`).
    member e.WeightsReproduced = e.Segments |> Array.forall (fun s -> s.Finite && s.Lands)
    /// Why E.flowReplay's hypotheses that the integration itself decides are not met (None when they are): every segment's
    /// integration reached its end, and the allowance B·rtol_p is at most 10⁻³ (B also holds the verifier's steps, the
    /// rounding per step, c_R·u_p/rtol_p, and the field's rounding, which a tiny atol or float32 can make dominant).
    member e.Unmet : string option =
        match e.Segments |> Array.filter (fun s -> not s.Finite) with
        | [||] ->
            let rel = e.Replay.RelativeAllowance
            if rel <= FlowReplay.MaxIntegrationRel then None
            else Some(sprintf "the flow replay's allowance B·rtol_p = %.3g exceeds %g (the verifier's steps, the rounding per step or the field's rounding dominate the producer's tolerance): too loose to tell a recording from an integration error" rel FlowReplay.MaxIntegrationRel)
        | bad -> Some(bad |> Array.map (fun s -> match s.Replay.Failure with null -> sprintf "segment from snapshot %d left the finite numbers" s.Replay.Snapshot | why -> why) |> String.concat "; ")

module FlowEvidence =
    /// Integrates every segment of a flow run from its snapshot (`FlowReplay.Run`) and compares it with the recording: the
    /// next snapshot within the allowance B in the producer's error norm ‖(Z_recorded − Z_replay)/w‖_RMS, the recorded loss
    /// at every output within the loss allowance (both derived in docs/theorems/Evidence.md, "E.flowReplay").
    let build (data: RunData) (observe: Func<int, IFlowObserver | null> | null) : FlowEvidence =
        let replay = FlowReplay.Run(data, observe)
        let segs =
            replay.Segments
            |> Array.map (fun seg ->
                let len = seg.To - seg.From
                let checks =
                    if not seg.Finite then []
                    else
                        [ if seg.Snapshot + 1 < data.Steps.Length then
                            let m = if Double.IsNaN seg.EndDeviation then infinity else seg.EndDeviation
                            yield m, seg.RmsAllowance,
                                  sprintf "snapshot %d weights vs the flow replayed from snapshot %d (‖ΔZ/w‖_RMS, w_j = atol + rtol·max_t|Z_j|; ‖ΔZ‖_F = %.6g, worst layer k = %d: %.6g)"
                                      (seg.Snapshot + 1) seg.Snapshot seg.EndFrobenius seg.EndWorstLayer seg.EndWorstLayerDeviation, seg.To
                          for i in 0 .. len do
                            let rec' = data.Losses.[seg.From + i]
                            let d = abs (rec' - seg.Losses.[i])
                            let stored = LossStorage.allowance data.LossesStorageRoundoff rec'
                            yield (if Double.IsNaN d then infinity else d), seg.LossTolerance.[i] + stored,
                                  sprintf "recorded loss %.17g vs replayed %.17g%s" rec' seg.Losses.[i] (if stored > 0.0 then " (stored as float32)" else ""), seg.From + i
                          // the producer's own program replayed to the end: its accepted steps are run.json's ode_steps exactly
                          // (and its rejected steps and field evaluations, when run.json records them)
                          if seg.Snapshot = data.Steps.Length - 1 then
                            for replayed, declared, what, key in
                                [ replay.ReplayedSteps, data.Meta.OdeSteps, "accepted steps", "ode_steps"
                                  replay.ReplayedRejected, data.Meta.OdeRejected, "rejected steps", "ode_rejected"
                                  replay.ReplayedEvaluations, data.Meta.OdeEvaluations, "field evaluations", "ode_evaluations" ] do
                              if replayed.HasValue && declared.HasValue then
                                yield abs (float replayed.Value - float declared.Value), 0.0,
                                      sprintf "%s of the replayed integration %d vs run.json %s %d" what replayed.Value key declared.Value, seg.To ]
                let landing = checks |> List.filter (fun (_, _, what: string, _) -> what.StartsWith "snapshot ")
                { Replay = seg; Checks = checks; Finite = seg.Finite
                  Reproduced = checks |> List.forall (fun (m, b, _, _) -> m <= b)
                  Lands = seg.Finite && landing |> List.forall (fun (m, b, _, _) -> m <= b) })
        { Replay = replay; Segments = segs }

/// One part of the snapshot references computed beside a verify's rows (`Run.BesideTheRows`): what it is, the results that
/// read it, its wall seconds, its thread's processor seconds (NaN where the thread clock is not available; work the part
/// hands to other threads is not in them) and what else is known of its cost (`Detail`, possibly empty).
type BesidePart = { Part: string; ReadBy: string; Seconds: float; CpuSeconds: float; Detail: string }

/// Several observers of one integration of the flow replay, each told every event in the order registered.
type FlowObserverSet(observers: IFlowObserver[]) =
    interface IFlowObserver with
        member _.Stage(i, t, h, y, field) = for o in observers do o.Stage(i, t, h, y, field)
        member _.Accepted(t, h, tableau, yNew) = for o in observers do o.Accepted(t, h, tableau, yNew)
        member _.Output(j, y) = for o in observers do o.Output(j, y)
        member _.Evaluated(kept) = for o in observers do o.Evaluated(kept)
    /// The flow replay's observer of the integration from snapshot s (s = −1: every segment) from the observers taking part:
    /// null when none does (the replay then runs without one), the one that takes part at s alone, or a set of those that
    /// take part at s, told every event in the order given.
    static member Compose(observers: (int -> IFlowObserver option)[]) : Func<int, IFlowObserver | null> | null =
        match observers with
        | [||] -> null
        | [| one |] -> Func<int, IFlowObserver | null>(fun s -> match one s with Some o -> o | None -> null)
        | many ->
            Func<int, IFlowObserver | null>(fun s ->
                let picked : IFlowObserver[] = many |> Array.choose (fun o -> o s)
                match picked with
                | [||] -> null
                | [| o |] -> (o: IFlowObserver | null)
                | os -> FlowObserverSet os)

/// A run directory opened for verification: one view of a run of any architecture. Every result takes it: the
/// results with any block's ingredients read θ by parts (`Parts`, `Theta`, `LayerPartOperatorNorm`, `Architecture`), the MLP's (its sharper
/// constants) read the W/V views (`Shape`, `W`, `V`, `Layerwise`, `LayerOperatorNorms`, `Evidence`), which exist when
/// the architecture is the MLP (`IsMlp`). `architectures` are the theory-side descriptions known to the registry
/// (the run's is looked up by name; `Run(data)` knows none).
type Run(data: RunData, architectures: Architecture list) as this =
    let isMlp = data.IsMlp
    let L = data.Depth
    let shape = lazy data.Shape
    let md = lazy (shape.Value.Width * shape.Value.Dim)
    // one Lazy per snapshot: two threads that ask at once (a check and the references started beside the replay,
    // `Registry.verifyRun`) share one evaluation instead of computing it twice
    let layerwise = Collections.Concurrent.ConcurrentDictionary<int, Lazy<Layerwise>>()
    let consts = Activations.Constants data.Activation
    let h0max =
        let n, dIn, d = data.Data.Count, data.Data.InputDim, data.Dim
        [| for i in 0 .. n - 1 ->
             let h =
                 Array.init d (fun r ->
                     match data.A with
                     | null -> data.Data.X.[i * dIn + r]
                     | a -> Seq.sum (seq { for c in 0 .. dIn - 1 -> a.[r * dIn + c] * data.Data.X.[i * dIn + c] }))
             Linalg.norm h |]
        |> Comparison.maxKeepNaN
    let ymax =
        let n, dOut = data.Data.Count, data.Data.OutputDim
        [| for i in 0 .. n - 1 -> Linalg.norm data.Data.Y.[i * dOut .. i * dOut + dOut - 1] |] |> Comparison.maxKeepNaN
    // ‖B‖₂ multiplies every bound it enters: a certified upper value (`Linalg.spectralUpper`; until 2026-12-06 the bisection
    // estimate, which lies below ‖B‖₂ in about half of random integer 2×3 matrices)
    let bnorm = match data.B with null -> 1.0 | b -> Linalg.spectralUpper data.Data.OutputDim data.Dim b 0
    let parts = data.Architecture.Parts() |> Array.map (fun struct (n, s) -> n, s)
    let sizes = parts |> Array.map (fun (_, s) -> Array.fold (*) 1 s)
    let offsets = Array.scan (+) 0 sizes
    let P = data.ParameterCount
    let hyper = data.Architecture.Hyper |> Seq.map (fun kv -> kv.Key, kv.Value) |> Map.ofSeq
    let meta = data.Meta
    let setting =
        { Architecture = data.Architecture.Name
          Depth = L; Width = (if isMlp then shape.Value.Width else (match hyper.TryFind "width" with Some m -> int m | None -> 0))
          Samples = data.Data.Count; Dim = data.Dim
          Activation = data.Activation; S0 = consts.S0; S1 = consts.S1
          S2 = (if consts.S2.HasValue then Some consts.S2.Value else None)
          Eta = data.Eta; Iterations = data.Iterations; Clip = (if data.Clip.HasValue then Some data.Clip.Value else None)
          Optimizer = meta.Optimizer
          InitKind = meta.Init.Kind
          InitLipschitz =
            if data.Steps.Length > 0 && data.Steps.[0] = 0 then
                if isMlp then Some(float L * Initialization.MaxIncrement(shape.Value, ReadOnlySpan(data.W.[0]), ReadOnlySpan(data.V.[0])))
                else Some(float L * BlockInitialization.MaxIncrement(ReadOnlySpan(data.Theta.[0]), L, P))
            else None
          DeclaredInitLipschitz =
            // every part of the layout declared: the joint constant; a part left out is unknown, not 0 (a NumPy conv run
            // declaring K2 alone read "Lip(theta0) <= 14.17: met", an i.i.d. one-layer run declaring W alone "<= 100: met")
            let joint =
                match meta.Init.LipschitzParts with
                | null -> None
                | d when parts |> Array.forall (fun (n, _) -> d.ContainsKey n) -> Some(sqrt (d.Values |> Seq.sumBy (fun x -> x * x)))
                | _ -> None
            (match joint, meta.Init.LipschitzW, meta.Init.LipschitzV with
             | Some lip, _, _ -> Some lip
             | None, w, v when isNull meta.Init.LipschitzParts && w.HasValue && v.HasValue -> Some(sqrt (w.Value * w.Value + v.Value * v.Value))
             // 'tied' without constants declares equal layers: the constant function of depth, up to what E.init allows
             // for the equality (4u·max_k‖Z_k(0)‖ an increment), so Lip ≤ L·4u·max_k‖Z_k(0)‖ (GenericResults.md lists
             // tied as meeting the hypothesis; a tied block run without lipschitz_parts was refused it)
             | None, _, _ when meta.Init.Kind = "tied" && data.Steps.Length > 0 && data.Steps.[0] = 0 ->
                let u = Replay.UnitRoundoff meta.Precision
                let layerNorm k =
                    if isMlp then
                        let md = shape.Value.LayerSize
                        sqrt (Portable.sq (Linalg.frobenius data.W.[0] (k * md) md) + Portable.sq (Linalg.frobenius data.V.[0] (k * md) md))
                    else Linalg.frobenius data.Theta.[0] (k * P) P
                let zmax = Seq.init L layerNorm |> Seq.fold max 0.0
                Some(float L * 4.0 * u * zmax)
             | None, _, _ -> None)
          InputNormMax = h0max; TargetNormMax = ymax; ReadoutNorm = bnorm
          Hyper = hyper
          Fault = meta.Fault; Diverged = data.Diverged }
    let arch = architectures |> List.tryFind (fun a -> a.Name = data.Architecture.Name)
    let layerOpNorms = Collections.Concurrent.ConcurrentDictionary<int, Lazy<struct (float[] * float[])>>()
    /// What the snapshot references computed on a thread of their own beside the rows cost (`Registry.verifyRunSelected`).
    let besideTheRows = Collections.Concurrent.ConcurrentQueue<BesidePart>()

    /// False once `WithoutIterateObservers` is called: the replay then feeds no observer.
    let mutable observed = true
    /// False once `WithoutCentre` is called: the split observer then leaves out the linearised centre.
    let mutable centreWanted = true
    /// The offset `WithCentreStartOffset` set (None: the centre starts at the increments).
    let mutable centreStartOffset : (float[] * float[]) option = None
    /// How many observers the replay fed (set when it runs).
    let mutable observersFed = 0
    /// How many observers of `FlowObservers` the flow replay fed (set when it runs).
    let mutable flowObserversFed = 0
    /// The verifier's evidence for plain and clipped gradient descent (None for other optimizers).
    /// The replay runs once per run: the observers registered in `Run.IterateObservers` that take part in this run
    /// receive every replayed iterate through the same pass.
    let evidence =
        lazy
            (if isMlp && Replay.IsGradientDescent data then
                 let observers = if observed then Run.IterateObservers |> Seq.choose (fun f -> f this) |> Seq.toArray else [||]
                 observersFed <- observers.Length
                 let onSegment : Func<int, IterateCallback | null> | null =
                     if observers.Length = 0 then null
                     else
                         Func<int, IterateCallback | null>(fun s ->
                             match observers |> Array.choose (fun o -> o s) with
                             | [||] -> null
                             | [| one |] -> one
                             | many -> IterateCallback(fun j w v gw gv st -> for c in many do c.Invoke(j, w, v, gw, gv, st)))
                 Some(RunEvidence.build data onSegment)
             else None)
    let isFlow = FlowReplay.IsFlow data
    /// Why E.flowReplay's hypotheses read off the run are not met on a gradient-flow run of the MLP (None when they are, and
    /// on any other run): σ smooth (an adaptive pair crawls through the kinks of a ReLU field, the producer's steps by the
    /// hundred thousand, and its error estimate, which the comparison rests on, does not hold there), a snapshot at output 0,
    /// and run.json's integration (`FlowReplay.Unmet`: tolerances, the engine's pair, no clip, 2(s_p + 1)·rtol_p ≤ 10⁻³).
    let flowUnmetBefore =
        lazy
            (if not (isMlp && isFlow) then None
             elif not consts.S2.HasValue && isNull (FlowReplay.BitExactClaim data) then
                 Some(sprintf "σ = %s is not smooth: the verifier does not integrate its flow (the integrator's error estimate, on which the comparison with the producer rests, assumes a smooth field)" (Activations.Name data.Activation))
             elif data.Steps.Length = 0 || data.Steps.[0] <> 0 then Some "no snapshot at output 0: the flow replay has no starting point"
             else
                 match FlowReplay.Unmet data with
                 | null -> None
                 | why -> Some why)
    /// The verifier's replay of a gradient-flow run of the MLP, integrated only when E.flowReplay's hypotheses read off the
    /// run are met (`flowUnmetBefore`).
    let flowEvidence =
        lazy
            (if isMlp && isFlow && flowUnmetBefore.Force().IsNone then
                 // the observers registered in `Run.FlowObservers` that take part in this run see the same integration
                 let observers = if observed then Run.FlowObservers |> Seq.choose (fun f -> f this) |> Seq.toArray else [||]
                 flowObserversFed <- observers.Length
                 let observe = FlowObserverSet.Compose observers
                 Some(FlowEvidence.build data observe)
             else None)
    let flowUnmet =
        lazy
            (match flowUnmetBefore.Force() with
             | Some why -> Some why
             | None -> flowEvidence.Force() |> Option.bind (fun e -> e.Unmet))
    let flowColumns =
        lazy
            (match flowEvidence.Force() with
             | Some e when e.WeightsReproduced && flowUnmet.Force().IsNone ->
                 TraceColumns.All |> Array.map (fun struct (name, _) -> name, e.Replay.Column name) |> dict |> Some
             | _ -> None)
    /// Columns an earlier verify of this same run computed from its own replay (see `UseVerifiedColumns`).
    let mutable verifiedColumns : Collections.Generic.IDictionary<string, float[]> option = None
    let columns =
        lazy
            (match evidence.Force() with
             | Some e when e.WeightsReproduced && data.Steps.Length > 0 && data.Steps.[0] = 0 ->
                 // the trace's columns, and the rounding of the replayed loss (`Run.LossRoundingColumn`)
                 Array.append (TraceColumns.All |> Array.map (fun struct (name, _) -> name, e.Replay.Column name))
                     [| Run.LossRoundingColumn, e.Replay.LossRoundings() |]
                 |> dict |> Some
             | _ -> None)

    /// The name of the verifier's column beside the trace's: at every iterate, the rounding of the replayed loss
    /// (`RunReplay.LossRoundings`, a bound on its distance to the exact loss of the replayed weights), which the ladder
    /// results' descent hypothesis reads (`Hypotheses.descends`).
    static member LossRoundingColumn = "loss_rounding"
    /// Checks that need every replayed iterate register here (once, at start-up): given a run, each returns the
    /// per-segment callback (None for a segment it skips), or None when it has nothing to do on that run.
    static member val IterateObservers = Collections.Generic.List<Run -> (int -> IterateCallback option) option>() with get
    /// Checks that need every stage of the flow replay register here (once, at start-up): given a flow run, each returns the
    /// observer of the integration from snapshot s (s = −1: the bit-exact path's one integration of every segment), or None
    /// when it has nothing to do on that run.
    static member val FlowObservers = Collections.Generic.List<Run -> (int -> IFlowObserver option) option>() with get
    /// A view that knows no architecture's theory-side constants (`Architecture` is None): enough for the MLP's results.
    new(data: RunData) = Run(data, [])
    /// This view, its replay feeding no observer of `IterateObservers`: for a caller that reads only the replayed columns
    /// (`Trace`), as figure 1 across seeds does. The replay, its comparisons and its columns are the same; a result whose
    /// quantities an observer computes during the replay replays once more when it is asked (`SplitResults.bounds`).
    /// Raises once the replay has run.
    member this.WithoutIterateObservers() : Run =
        if evidence.IsValueCreated then invalidOp "the replay of this view has run: its observers can no longer be left out"
        observed <- false
        this
    /// This view, its replay's split observer leaving out the linearised centre (the observer's costliest part: its
    /// products of W_{k+1}h_k and the quadrature rule at every pair and iterate), for a verify that chooses the split
    /// statements but not A.split.centre.segments. Every other quantity of the observer is the same, bit for bit; the
    /// centre's result asked on such a view replays once more with the centre (`SplitResults.bounds`). Raises once the
    /// replay has run.
    member this.WithoutCentre() : Run =
        if evidence.IsValueCreated then invalidOp "the replay of this view has run: its centre can no longer be left out"
        centreWanted <- false
        this
    /// The parts of the snapshot references that the last whole verify of this view computed on a thread of their own while
    /// its rows were evaluated (`Registry.referencesBesideTheReplay`), in the order they ran, each with its wall and its
    /// thread's processor seconds: `verify --timings` names them, since their CPU is counted in the rows they ran beside (the
    /// replay's, above all), not in the rows that read them. Empty when none ran.
    member _.BesideTheRows : BesidePart seq = besideTheRows
    /// Starts a new record of the parts computed beside the rows (a later verify of this view does not add to an earlier one's).
    member _.RestartBesideTheRows() = besideTheRows.Clear()
    /// Records one part computed beside the rows (see `BesideTheRows`).
    member _.RecordBesideTheRows(part: BesidePart) = besideTheRows.Enqueue part
    /// False after `WithoutCentre`: whether the split observer of this view's replay computes the linearised centre.
    member _.CentreWanted = centreWanted
    /// Starts the linearised centre of this view's split observer at every snapshot at the increments plus the offsets
    /// (ow, ov: (L − 1)·m·d entries each, pair k − 1's at (k − 1)·m·d), with the remainder's bound raised by each pair's
    /// offset norm (`SplitCentre.start`): the centre then starts off the increments by a known amount, which the remainder's
    /// recursion must carry (docs/theorems/DepthSmoothness.md, "A.split.centre.remainder"). A test hook: the verifier's
    /// centre starts at the increments (`SplitCentre.start` with no offset). Raises once the replay has run.
    member this.WithCentreStartOffset(ow: float[], ov: float[]) : Run =
        if evidence.IsValueCreated then invalidOp "the replay of this view has run: its centre's start can no longer change"
        centreStartOffset <- Some(ow, ov)
        this
    /// The offsets of `WithCentreStartOffset` (None: the centre starts at the increments).
    member _.CentreStartOffset = centreStartOffset
    /// How many observers of `IterateObservers` the replay of this view fed (0 before it runs, without a replay, or
    /// after `WithoutIterateObservers`).
    member _.ObserversFed = observersFed
    /// How many observers of `FlowObservers` the flow replay of this view fed (0 before it runs or without one).
    member _.FlowObserversFed = flowObserversFed
    /// True once the replay of this view has been asked for (from then on its observers are fixed).
    member _.Replayed = evidence.IsValueCreated
    /// Opens a run directory (raises RunFormatException with a clear message if it is malformed).
    static member Load(dir: string) = Run(RunDirectory.Read dir)
    member _.Data = data
    member _.Directory = data.Directory
    member _.Setting = setting
    /// True for the paper's MLP (parts W and V): its W/V views and its sharper results apply.
    member _.IsMlp = isMlp
    /// The MLP's shape (L, m, d, d_in, d_out); raises for an architecture without a width.
    member _.Shape = shape.Value
    /// Snapshot iterations.
    member _.Steps = data.Steps
    member _.SnapshotCount = data.Steps.Length
    /// Time t = j·η of snapshot s.
    member _.Time(s: int) = float data.Steps.[s] * data.Eta
    /// W of snapshot s (L·m·d) and V (L·d·m).
    member _.W(s: int) = data.W.[Run.SnapshotIndex(data, s)]
    member _.V(s: int) = data.V.[Run.SnapshotIndex(data, s)]
    /// s itself when the run holds snapshot s; else MissingInput (a run that diverged at iteration 0 holds none: the checks
    /// that read a snapshot said "error", exit 3, from an index out of range, where their input is absent)
    static member SnapshotIndex(data: RunData, s: int) =
        if s >= 0 && s < data.Steps.Length then s
        elif data.Steps.Length = 0 then raise (MissingInput "the run holds no snapshot (it diverged before its first recorded weights)")
        else raise (MissingInput(sprintf "the run holds no snapshot %d (it holds %d)" s data.Steps.Length))
    /// Offset of layer k (0-based) in W or V.
    member _.LayerOffset(k: int) = k * md.Value
    member _.LayerSize = md.Value
    /// All layer-wise quantities (h, p, G; the pre-activations formed again on request) at snapshot s, computed once.
    member _.Layerwise(s: int) : Layerwise =
        let s = Run.SnapshotIndex(data, s)
        layerwise.GetOrAdd(s, fun s ->
            lazy (Layerwise.Evaluate(shape.Value, data.Activation, data.Data, data.A, data.B, ReadOnlySpan(data.W.[s]), ReadOnlySpan(data.V.[s])))).Value
    /// A per-iterate column computed by the verifier (docs/theorems/Evidence.md): for gradient descent, the replay
    /// of every snapshot segment, available when every segment is certified and reproduced; for a gradient-flow
    /// run of the MLP the verifier's integration of the flow from every snapshot (`FlowEvidence`), available when every
    /// segment reproduces the recorded snapshots and losses (E.flowReplay); None otherwise (see `TraceUnavailable`). An
    /// architecture other than the MLP is not replayed here: its columns are the producer's, which the generic results
    /// compare with the snapshots' parameters.
    member _.Trace(name: string) : float[] option =
        if isFlow && isMlp then
            match flowColumns.Force() with
            | Some cols when cols.ContainsKey name -> Some cols.[name]
            | _ -> None
        elif isFlow || not isMlp then
            match data.Trace.TryGetValue name with
            | true, v -> Some v
            | _ -> None
        else
            // a file of verified columns written before a column existed lacks it: that column comes from the replay
            match verifiedColumns |> Option.bind (fun cols -> match cols.TryGetValue name with | true, v -> Some v | _ -> None) with
            | Some v -> Some v
            | None ->
                match columns.Force() with
                | Some cols when cols.ContainsKey name -> Some cols.[name]
                | _ -> None
    /// Takes the per-iterate columns that `verify` of this same run directory computed from its replay, with every segment
    /// certified (`resode verify --evidence-columns`, written by a study's cell beside its verdicts.json), instead of
    /// replaying the run again: the report's ladder results read them. The columns are trusted as the cell's verdicts
    /// are; `Evidence` still replays when a check asks for it. Columns whose length is not this run's iterate count (a file
    /// of another run) are not taken: the view replays. Returns whether they were taken.
    member _.UseVerifiedColumns(cols: Collections.Generic.IDictionary<string, float[]>) =
        let fits = cols.Count > 0 && cols.Values |> Seq.forall (fun c -> c.Length = data.Losses.Length)
        if fits then verifiedColumns <- Some cols
        fits
    /// The verifier's per-iterate columns when every segment is certified and reproduced (None otherwise): what
    /// `resode verify --evidence-columns` writes.
    member _.VerifiedColumns : Collections.Generic.IDictionary<string, float[]> option =
        if isFlow || not isMlp then None else columns.Force()
    /// A trace column as the producer recorded it (a claim, checked by E.claims and I.trace).
    member _.ClaimedTrace(name: string) : float[] option =
        match data.Trace.TryGetValue name with
        | true, v -> Some v
        | _ -> None
    /// The replay evidence (None unless the run declares plain or clipped gradient descent).
    member _.Evidence : RunEvidence option = evidence.Force()
    /// The flow replay's evidence (None unless the run is a gradient-flow run of the MLP that declares its integration).
    member _.FlowEvidence : FlowEvidence option = flowEvidence.Force()
    /// Why E.flowReplay's hypotheses are not met on this gradient-flow run of the MLP (None when they are, and on any other
    /// run): then there are no flow columns and no flow comparisons, since the allowance they rest on does not apply.
    member _.FlowReplayUnmet : string option = flowUnmet.Force()
    /// Why the replay's iterates cannot stand for the run's (the first segment E.replay does not certify), None when every
    /// segment is certified; also None for a run that is not replayed.
    member this.Uncertified : string option =
        match this.Evidence with
        | Some e ->
            e.Segments |> Array.tryFind (fun s -> not s.Certified)
            |> Option.map (fun s ->
                sprintf "the replay is not certifiable from snapshot %d (iterations %d → %d; see E.replay)" s.Replay.Snapshot s.Replay.From s.Replay.To)
        | None -> None
    /// Why the per-iterate columns `missing` are not available.
    member this.TraceUnavailable(missing: string list) : string =
        let cols = String.concat ", " missing
        if isFlow && isMlp then
            match this.FlowReplayUnmet with
            | Some why -> sprintf "E.flowReplay's hypotheses are not met: %s (the verifier has no columns of this flow)" why
            | None ->
                match this.FlowEvidence with
                | Some e ->
                    match e.Segments |> Array.tryFind (fun s -> not s.Lands) with
                    | Some s -> sprintf "the flow replayed from snapshot %d does not land on snapshot %d (see E.flowReplay)" s.Replay.Snapshot (s.Replay.Snapshot + 1)
                    | None -> sprintf "missing columns: %s" cols
                | None -> sprintf "missing columns: %s" cols
        elif isFlow then sprintf "missing trace columns: %s (a gradient-flow run's per-iterate columns are the producer's)" cols
        elif not (Replay.IsGradientDescent data) then
            sprintf "not plain gradient descent (optimizer '%s'): the verifier rebuilds per-iterate quantities only by replaying gradient descent" data.Meta.Optimizer
        elif data.Steps.Length = 0 || data.Steps.[0] <> 0 then "no snapshot at iteration 0: the replay has no starting point"
        else
            match this.Evidence with
            | Some e ->
                match e.Segments |> Array.tryFind (fun s -> not s.Lands && s.Certified) with
                | Some s -> sprintf "the replay from snapshot %d does not land on snapshot %d (see E.replay)" s.Replay.Snapshot (s.Replay.Snapshot + 1)
                | None -> defaultArg this.Uncertified (sprintf "missing columns: %s" cols)
            | None -> sprintf "missing columns: %s" cols
    member _.Losses = data.Losses
    /// The relative rounding of the recorded losses by their storage (2⁻²⁴ for a losses.npy of float32, else 0).
    member _.LossesStorageRoundoff = data.LossesStorageRoundoff
    /// The relative rounding of trace column `name` by its storage (2⁻²⁴ for a float32 file, 0 otherwise: `RunData.TraceStorageRoundoff`).
    member _.TraceStorageRoundoff(name: string) =
        match data.TraceStorageRoundoff.TryGetValue name with
        | true, r -> r
        | _ -> 0.0
    /// Certified upper values of the spectral norms ‖W_k‖₂ and ‖V_k‖₂ of every layer at snapshot s (the MLP; index k − 1;
    /// `Linalg.spectralUpper`: every reader multiplies by them — the lemma chain's bounds, the worst-case amplification
    /// Π(1 + κ_k/L), B.bound's κ, I.grad's allowance), computed once per snapshot for every check that reads them. Until
    /// 2026-12-06 the bisection estimate (`Linalg.spectralNorm`), within an order k·u of the norm on either side.
    member _.LayerOperatorNorms(s: int) : struct (float[] * float[]) =
        layerOpNorms.GetOrAdd(s, fun s ->
            lazy
                (let shape, md = shape.Value, md.Value
                 let w, v = data.W.[s], data.V.[s]
                 struct (Array.init shape.Depth (fun k -> Linalg.spectralUpper shape.Width shape.Dim w (k * md)),
                         Array.init shape.Depth (fun k -> Linalg.spectralUpper shape.Dim shape.Width v (k * md))))).Value
    /// max_k ‖θ_{k+1} − θ_k‖ at snapshot s, from its parameters (the MLP: joint W, V in the Frobenius norm).
    member _.DepthIncrement(s: int) =
        if isMlp then
            let md = md.Value
            let w, v = data.W.[s], data.V.[s]
            seq {
                for k in 0 .. L - 2 ->
                    let a = Linalg.frobeniusDiff w ((k + 1) * md) w (k * md) md
                    let b = Linalg.frobeniusDiff v ((k + 1) * md) v (k * md) md
                    sqrt (a * a + b * b)
            }
            |> Comparison.maxKeepNaNOr 0.0
        else
            let t = data.Theta.[s]
            seq { for k in 0 .. L - 2 -> Linalg.frobeniusDiff t ((k + 1) * P) t (k * P) P } |> Comparison.maxKeepNaNOr 0.0

    // ------------------------------------------------ θ by parts: what the results stated over any architecture read

    /// The theory-side description of this run's architecture, if registered.
    member _.Architecture : Architecture option = arch
    /// (name, shape) of the parts of θ_k in storage order.
    member _.Parts = parts
    member _.PartOffset(q: int) = offsets.[q]
    member _.PartSize(q: int) = sizes.[q]
    member _.ParameterCount = P
    /// θ of snapshot s (L·P, layer after layer).
    member _.Theta(s: int) = data.Theta.[Run.SnapshotIndex(data, s)]
    /// An upper bound on the operator norm of part q of layer k (0-based) of θ (L·P): the block's own bound when it
    /// implements IPartOperatorNorm (e.g. a convolution kernel), else a certified upper value of a 2-D part's spectral norm
    /// (`Linalg.spectralUpper`; until 2026-12-06 the bisection estimate, which can lie below it) and the Euclidean norm of
    /// any other part.
    member _.LayerPartOperatorNorm(theta: float[], k: int, q: int) : float =
        let o = k * P + offsets.[q]
        match data.Block with
        | :? Blocks.IPartOperatorNorm as b -> b.OperatorNormBound(q, ReadOnlySpan(theta, o, sizes.[q]))
        | _ ->
            let shape = snd parts.[q]
            if shape.Length = 2 then Linalg.spectralUpper shape.[0] shape.[1] theta o else Linalg.frobenius theta o sizes.[q]
    /// c_q with ‖op(E)‖₂ ≤ c_q‖E‖_F for part q (IPartOperatorNorm.FrobeniusFactor; 1 for matrix and vector parts).
    member _.PartFrobeniusFactor(q: int) : float =
        match data.Block with
        | :? Blocks.IPartOperatorNorm as b -> b.FrobeniusFactor q
        | _ -> 1.0
    /// The outputs B h_L^i (n×d_out) at parameters θ (recomputed by the engine; needs the block to be registered in the engine).
    member _.Outputs(theta: float[]) : float[] =
        match data.Block with
        | null -> failwithf "architecture '%s' is not registered in the engine's BlockCatalog" data.Architecture.Name
        | block ->
            let net = GenericResNet(block, L, data.Data, data.A, data.B)
            net.Evaluate(ReadOnlySpan(theta), Span.Empty) |> ignore
            net.Outputs()

/// A ladder of runs of one architecture that differ only in depth (sorted by L), for rate statements: the one ladder
/// type of every architecture (the registry evaluates on it the rate results of the runs' architecture).
type Ladder =
    { Runs: Run list }
    member this.Depths = this.Runs |> List.map (fun r -> r.Setting.Depth)

module Ladder =
    /// Sorts by depth and checks that everything but the depth agrees (architecture, m, n, d, activation, η, init kind,
    /// block hyper-parameters); `Evidence.checkLadder` checks the data and the initial function of depth from the weights.
    let create (runs: Run list) : Result<Ladder, string> =
        match runs |> List.sortBy (fun r -> r.Setting.Depth) with
        | [] -> Error "an empty ladder: give at least two run directories that differ only in depth"
        | first :: _ as sorted ->
            let f = first.Setting
            let differs (r: Run) =
                let s = r.Setting
                [ if s.Architecture <> f.Architecture then yield sprintf "architecture %s vs %s" s.Architecture f.Architecture
                  if s.Width <> f.Width then yield sprintf "width %d vs %d" s.Width f.Width
                  if s.Samples <> f.Samples then yield sprintf "n %d vs %d" s.Samples f.Samples
                  if s.Dim <> f.Dim then yield sprintf "d %d vs %d" s.Dim f.Dim
                  if s.Activation <> f.Activation then yield "activation"
                  if s.Eta <> f.Eta then yield sprintf "eta %g vs %g" s.Eta f.Eta
                  if s.InitKind <> f.InitKind then yield sprintf "init %s vs %s" s.InitKind f.InitKind
                  if s.Hyper <> f.Hyper then yield "hyper-parameters" ]
            let bad = sorted |> List.collect (fun r -> differs r |> List.map (fun d -> sprintf "%s: %s" r.Directory d))
            let depths = sorted |> List.map (fun r -> r.Setting.Depth)
            if not bad.IsEmpty then Error(sprintf "runs of a ladder must differ only in depth: %s" (String.concat "; " bad))
            elif List.distinct depths <> depths then Error "two runs of the ladder have the same depth"
            else Ok { Runs = sorted }
