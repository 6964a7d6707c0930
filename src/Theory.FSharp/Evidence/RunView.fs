/// The theory layer's view of a run directory: its setting (the quantities the constants are made of)
/// and lazily computed layer-wise quantities at each snapshot.
namespace ResOdeProofs.Theory

open System
open ResOdeProofs.Numerics
open ResOdeProofs.Numerics.IO
open ResOdeProofs.Numerics.Training
open ResOdeProofs.Numerics.Model
open ResOdeProofs.Numerics.Verification

/// The quantities of a run that the results' hypotheses and constants are made of.
type Setting =
    { /// depth L
      Depth: int
      /// width m
      Width: int
      /// samples n
      Samples: int
      /// state dimension d
      Dim: int
      Activation: ActivationKind
      /// s0 = |σ(0)|, s1 = sup|σ'|, s2 = sup|σ''| (None: σ'' unbounded or undefined, e.g. relu)
      S0: float
      S1: float
      S2: float option
      /// time step η (Z ← Z − η·G, t = j·η)
      Eta: float
      /// number of updates N
      Iterations: int
      /// clip radius C of clipped gradient descent
      Clip: float option
      /// "gd" | "clipped-gd"
      Optimizer: string
      /// init kind as written in run.json (tied, smooth, iid, file, other): a label, checked by E.init
      InitKind: string
      /// Measured initial smoothness L·max_k ‖Z_{k+1}(0) − Z_k(0)‖_F (joint W, V) from snapshot 0: the Lipschitz
      /// constant of the piecewise-linear function of depth through the initial layers; None without a snapshot 0
      InitLipschitz: float option
      /// The Lipschitz bound run.json declares (a claim, checked against the weights by E.init); None if none
      DeclaredInitLipschitz: float option
      /// max_i ‖h_0^i‖ = max_i ‖A x_i‖
      InputNormMax: float
      /// max_i ‖y_i‖
      TargetNormMax: float
      /// ‖B‖₂ (1 for B = I)
      ReadoutNorm: float
      /// the run's fault marker ("none" for a faithful run)
      Fault: string
      Diverged: bool }

/// What the replay of one snapshot segment shows (docs/theorems/Evidence.md).
type SegmentEvidence =
    { Replay: SegmentReplay
      /// (measured, bound, where) of every comparison: the next snapshot's weights, then the loss at every iterate
      Checks: (float * float * string * int) list
      /// the replay's tolerance is at most 1% of the segment's displacement
      Certified: bool
      /// every comparison within its tolerance
      Reproduced: bool }

/// The verifier's own per-iterate evidence of a gradient-descent run: every segment replayed from its snapshot.
type RunEvidence =
    { Replay: RunReplay
      Segments: SegmentEvidence[] }
    /// Every segment certified and reproduced, and a snapshot at iteration 0: the replay's columns stand for the run's.
    member e.Complete = e.Segments |> Array.forall (fun s -> s.Certified && s.Reproduced)

module RunEvidence =
    /// Replays every segment and compares it with the recorded snapshots and losses: the next snapshot's weights
    /// within E_To + u·‖Z_{s+1}‖_F (storage), the recorded loss at every iterate within the loss tolerance.
    let build (data: RunData) (onSegment: Func<int, IterateCallback | null> | null) : RunEvidence =
        let replay = Replay.Run(data, onSegment)
        let u = Replay.UnitRoundoff data.Meta.Precision
        let segs =
            replay.Segments
            |> Array.map (fun seg ->
                let len = seg.To - seg.From
                let checks =
                    [ if seg.Snapshot + 1 < data.Steps.Length then
                        let s1 = seg.Snapshot + 1
                        let zn = sqrt (Linalg.frobenius data.W.[s1] 0 data.W.[s1].Length ** 2.0 + Linalg.frobenius data.V.[s1] 0 data.V.[s1].Length ** 2.0)
                        let m = if seg.Finite then seg.EndDeviation else infinity
                        yield m, seg.WeightTolerance.[len] + u * zn,
                              sprintf "snapshot %d weights vs replay from snapshot %d (worst layer k = %d: %.6g)" s1 seg.Snapshot seg.EndWorstLayer seg.EndWorstLayerDeviation, seg.To
                      for i in 0 .. len do
                        let rec' = data.Losses.[seg.From + i]
                        let d = abs (rec' - seg.Losses.[i])
                        yield (if Double.IsNaN d then infinity else d), seg.LossTolerance.[i],
                              sprintf "recorded loss %.17g vs replayed %.17g" rec' seg.Losses.[i], seg.From + i ]
                { Replay = seg; Checks = checks; Certified = seg.Certified
                  Reproduced = checks |> List.forall (fun (m, b, _, _) -> m <= b) })
        { Replay = replay; Segments = segs }

/// A run directory opened for verification.
type Run(data: RunData) as this =
    let shape = data.Shape
    let md = shape.Width * shape.Dim
    let layerwise = Collections.Concurrent.ConcurrentDictionary<int, Layerwise>()
    let consts = Activations.Constants data.Activation
    let h0max =
        let n, dIn, d = data.Data.Count, shape.InputDim, shape.Dim
        [| for i in 0 .. n - 1 ->
             let h =
                 Array.init d (fun r ->
                     match data.A with
                     | null -> data.Data.X.[i * dIn + r]
                     | a -> Seq.sum (seq { for c in 0 .. dIn - 1 -> a.[r * dIn + c] * data.Data.X.[i * dIn + c] }))
             Linalg.norm h |]
        |> Array.max
    let ymax =
        let n, dOut = data.Data.Count, shape.OutputDim
        [| for i in 0 .. n - 1 -> Linalg.norm data.Data.Y.[i * dOut .. i * dOut + dOut - 1] |] |> Array.max
    let bnorm = match data.B with null -> 1.0 | b -> Linalg.spectralNorm shape.OutputDim shape.Dim b 0
    let setting =
        { Depth = shape.Depth; Width = shape.Width; Samples = data.Data.Count; Dim = shape.Dim
          Activation = data.Activation; S0 = consts.S0; S1 = consts.S1
          S2 = (if consts.S2.HasValue then Some consts.S2.Value else None)
          Eta = data.Eta; Iterations = data.Iterations; Clip = (if data.Clip.HasValue then Some data.Clip.Value else None)
          Optimizer = data.Meta.Optimizer
          InitKind = data.Meta.Init.Kind
          InitLipschitz =
            if data.Steps.Length > 0 && data.Steps.[0] = 0 then
                Some(float shape.Depth * Initialization.MaxIncrement(shape, ReadOnlySpan(data.W.[0]), ReadOnlySpan(data.V.[0])))
            else None
          DeclaredInitLipschitz =
            (match data.Meta.Init.LipschitzW, data.Meta.Init.LipschitzV with
             | w, v when w.HasValue && v.HasValue -> Some(sqrt (w.Value * w.Value + v.Value * v.Value))
             | _ -> None)
          InputNormMax = h0max; TargetNormMax = ymax; ReadoutNorm = bnorm
          Fault = data.Meta.Fault; Diverged = data.Diverged }

    /// The verifier's evidence for plain and clipped gradient descent (None for other optimizers).
    /// The replay runs once per run: the observers registered in `Run.IterateObservers` that take part in this run
    /// receive every replayed iterate through the same pass.
    let evidence =
        lazy
            (if Replay.IsGradientDescent data then
                 let observers = Run.IterateObservers |> Seq.choose (fun f -> f this) |> Seq.toArray
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
    let isFlow = data.Meta.Optimizer = "gf" || data.Meta.Optimizer = "clipped-gf"
    let columns =
        lazy
            (match evidence.Force() with
             | Some e when e.Complete && data.Steps.Length > 0 && data.Steps.[0] = 0 ->
                 TraceColumns.All |> Array.map (fun struct (name, _) -> name, e.Replay.Column name) |> dict |> Some
             | _ -> None)

    /// Checks that need every replayed iterate register here (once, at start-up): given a run, each returns the
    /// per-segment callback (None for a segment it skips), or None when it has nothing to do on that run.
    static member val IterateObservers = Collections.Generic.List<Run -> (int -> IterateCallback option) option>() with get
    /// Opens a run directory (raises RunFormatException with a clear message if it is malformed).
    static member Load(dir: string) = Run(RunDirectory.Read dir)
    member _.Data = data
    member _.Directory = data.Directory
    member _.Setting = setting
    member _.Shape = shape
    /// Snapshot iterations.
    member _.Steps = data.Steps
    member _.SnapshotCount = data.Steps.Length
    /// Time t = j·η of snapshot s.
    member _.Time(s: int) = float data.Steps.[s] * data.Eta
    /// W of snapshot s (L·m·d) and V (L·d·m).
    member _.W(s: int) = data.W.[s]
    member _.V(s: int) = data.V.[s]
    /// Offset of layer k (0-based) in W or V.
    member _.LayerOffset(k: int) = k * md
    member _.LayerSize = md
    /// All layer-wise quantities (h, p, pre-activations, G) at snapshot s, computed once.
    member _.Layerwise(s: int) : Layerwise =
        layerwise.GetOrAdd(s, fun s ->
            Layerwise.Evaluate(shape, data.Activation, data.Data, data.A, data.B, ReadOnlySpan(data.W.[s]), ReadOnlySpan(data.V.[s])))
    /// A per-iterate column computed by the verifier (docs/theorems/Evidence.md): for gradient descent, the replay
    /// of every snapshot segment, available when every segment is certified and reproduced; for a gradient-flow
    /// run the producer's column (the flow is not replayed); None otherwise (see `TraceUnavailable`).
    member _.Trace(name: string) : float[] option =
        if isFlow then
            match data.Trace.TryGetValue name with
            | true, v -> Some v
            | _ -> None
        else
            match columns.Force() with
            | Some cols when cols.ContainsKey name -> Some cols.[name]
            | _ -> None
    /// A trace column as the producer recorded it (a claim, checked by E.claims and I.trace).
    member _.ClaimedTrace(name: string) : float[] option =
        match data.Trace.TryGetValue name with
        | true, v -> Some v
        | _ -> None
    /// The replay evidence (None unless the run declares plain or clipped gradient descent).
    member _.Evidence : RunEvidence option = evidence.Force()
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
        if isFlow then sprintf "missing trace columns: %s (a gradient-flow run's per-iterate columns are the producer's)" cols
        elif not (Replay.IsGradientDescent data) then
            sprintf "not plain gradient descent (optimizer '%s'): the verifier rebuilds per-iterate quantities only by replaying gradient descent" data.Meta.Optimizer
        elif data.Steps.Length = 0 || data.Steps.[0] <> 0 then "no snapshot at iteration 0: the replay has no starting point"
        else
            match this.Evidence with
            | Some e ->
                match e.Segments |> Array.tryFind (fun s -> not s.Reproduced && s.Certified) with
                | Some s -> sprintf "the replay does not reproduce the run from snapshot %d (see E.replay)" s.Replay.Snapshot
                | None -> defaultArg this.Uncertified (sprintf "missing columns: %s" cols)
            | None -> sprintf "missing columns: %s" cols
    member _.Losses = data.Losses
    /// Exact spectral norms max_k ‖W_k‖₂ and max_k ‖V_k‖₂ at snapshot s.
    member this.MaxOperatorNorms(s: int) =
        let w, v = data.W.[s], data.V.[s]
        let mw = Seq.max (seq { for k in 0 .. shape.Depth - 1 -> Linalg.spectralNorm shape.Width shape.Dim w (k * md) })
        let mv = Seq.max (seq { for k in 0 .. shape.Depth - 1 -> Linalg.spectralNorm shape.Dim shape.Width v (k * md) })
        mw, mv
    /// max_k ‖Z_{k+1} − Z_k‖_F (joint W, V) at snapshot s.
    member _.DepthIncrement(s: int) =
        let w, v = data.W.[s], data.V.[s]
        seq {
            for k in 0 .. shape.Depth - 2 ->
                let a = Linalg.frobeniusDiff w ((k + 1) * md) w (k * md) md
                let b = Linalg.frobeniusDiff v ((k + 1) * md) v (k * md) md
                sqrt (a * a + b * b)
        }
        |> Seq.fold max 0.0

/// A ladder of runs that differ only in depth (sorted by L), for rate statements.
type Ladder =
    { Runs: Run list }
    member this.Depths = this.Runs |> List.map (fun r -> r.Setting.Depth)

module Ladder =
    /// Sorts by depth and checks that everything but the depth agrees (n, d, m, activation, η, N, init kind, seed data).
    let create (runs: Run list) : Result<Ladder, string> =
        match runs |> List.sortBy (fun r -> r.Setting.Depth) with
        | [] -> Error "an empty ladder: give at least two run directories that differ only in depth"
        | first :: _ as sorted ->
            let f = first.Setting
            let differs (r: Run) =
                let s = r.Setting
                [ if s.Width <> f.Width then yield sprintf "width %d vs %d" s.Width f.Width
                  if s.Samples <> f.Samples then yield sprintf "n %d vs %d" s.Samples f.Samples
                  if s.Dim <> f.Dim then yield sprintf "d %d vs %d" s.Dim f.Dim
                  if s.Activation <> f.Activation then yield "activation"
                  if s.Eta <> f.Eta then yield sprintf "eta %g vs %g" s.Eta f.Eta
                  ]
            let bad = sorted |> List.collect (fun r -> differs r |> List.map (fun d -> sprintf "%s: %s" r.Directory d))
            let depths = sorted |> List.map (fun r -> r.Setting.Depth)
            if not bad.IsEmpty then Error(sprintf "runs of a ladder must differ only in depth: %s" (String.concat "; " bad))
            elif List.distinct depths <> depths then Error "two runs of the ladder have the same depth"
            else Ok { Runs = sorted }
