/// The theory layer's view of a run directory: its setting (the quantities the constants are made of)
/// and lazily computed layer-wise quantities at each snapshot.
namespace ResOdeProofs.Theory

open System
open ResOdeProofs.Numerics
open ResOdeProofs.Numerics.IO
open ResOdeProofs.Numerics.Model

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
      /// init kind as written in run.json (tied, smooth, iid, file, other)
      InitKind: string
      /// Lipschitz bound of the function of depth the initialization discretizes (Frobenius, joint W,V); None if none is known
      InitLipschitz: float option
      /// max_i ‖h_0^i‖ = max_i ‖A x_i‖
      InputNormMax: float
      /// max_i ‖y_i‖
      TargetNormMax: float
      /// ‖B‖₂ (1 for B = I)
      ReadoutNorm: float
      /// the run's fault marker ("none" for a faithful run)
      Fault: string
      Diverged: bool }

/// A run directory opened for verification.
type Run(data: RunData) =
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
            (match data.Meta.Init.LipschitzW, data.Meta.Init.LipschitzV with
             | w, v when w.HasValue && v.HasValue -> Some(sqrt (w.Value * w.Value + v.Value * v.Value))
             | _ -> None)
          InputNormMax = h0max; TargetNormMax = ymax; ReadoutNorm = bnorm
          Fault = data.Meta.Fault; Diverged = data.Diverged }

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
    /// A trace column (per iterate), if present.
    member _.Trace(name: string) : float[] option =
        match data.Trace.TryGetValue name with
        | true, v -> Some v
        | _ -> None
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
