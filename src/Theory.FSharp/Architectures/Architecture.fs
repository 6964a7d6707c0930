/// The theory-side extension point: what an architecture (a residual block f(θ, h)) supplies so that the
/// depth-smoothness and ResNet-vs-ODE results can be stated once (GenericResults.fs), and the view of a
/// generic-architecture run directory (theta.npy) those results are evaluated on. docs/theorems/GenericResults.md.
namespace ResOdeProofs.Theory

open System
open ResOdeProofs.Numerics
open ResOdeProofs.Numerics.Blocks
open ResOdeProofs.Numerics.IO

/// Upper bounds, valid at one iterate for every layer k and sample i, from which an architecture's constants are made.
type IterateBounds =
    { /// H ≥ ‖h‖ for every state the constants are applied to (hidden states, and segments between them)
      Hidden: float
      /// P ≥ max_k Σ_i ‖p_k^i‖ (adjoints, p_k^i = ∂ℓ/∂h_k^i)
      AdjointSum: float
      /// per part name: an upper bound on max_k ‖θ_k,part‖_F (Frobenius / Euclidean norm)
      PartFro: Map<string, float>
      /// per part name: an upper bound on max_k ‖θ_k,part‖₂ (spectral norm for matrix parts; = PartFro for the others)
      PartOp: Map<string, float>
      /// s0 = |σ(0)|, s1 ≥ sup|σ'|, s2 ≥ sup|σ''| (global constants of σ)
      S0: float
      S1: float
      S2: float
      /// state dimension d
      Dim: int
      /// block hyper-parameters (run.json architecture.hyper, e.g. width)
      Hyper: Map<string, float> }

/// The constants an architecture supplies, as functions of the iterate-level bounds. Each is a bound valid
/// uniformly over every (θ, h) whose part norms and state norm are within the given bounds (so also on the
/// segments between consecutive layers' parameters and states that the lemma chain uses), and nondecreasing in
/// every bound (a larger H or part norm never gives a smaller constant).
type Architecture =
    { /// name as in run.json "architecture.name" and `resode train --arch`
      Name: string
      Title: string
      /// docs/theorems/<Name>.md: the derivation of the constants
      Doc: string
      /// hypotheses the constants need (e.g. a bounded σ''), checked on the run's setting
      Requirements: (string * (BlockSetting -> HypothesisCheck)) list
      /// κ ≥ ‖∂f/∂h(θ, h)‖₂: the Lipschitz constant of f in h
      LipschitzH: IterateBounds -> float
      /// J ≥ ‖∂f/∂θ(θ, h)‖₂: the Lipschitz constant of f in θ
      LipschitzTheta: IterateBounds -> float
      /// F ≥ ‖f(θ, h)‖
      OutputBound: IterateBounds -> float
      /// (C_θθ, C_hθ): ‖∂_θf(θ', h) − ∂_θf(θ, h)‖₂ ≤ C_θθ‖θ' − θ‖ and ‖∂_θf(θ, h') − ∂_θf(θ, h)‖₂ ≤ C_hθ‖h' − h‖
      SecondDerivatives: IterateBounds -> float * float
      /// (a, b) of lemma L5: ‖G_{k+1} − G_k‖ ≤ a‖θ_{k+1} − θ_k‖ + b/L (usually `Architecture.lemmaL5`)
      GradientDifference: IterateBounds -> float * float
      /// Optional, for a block that has sharper per-state quantities than ‖h‖ (conv: patch norms; glu: ‖U h‖_∞, ‖W h‖_∞):
      /// C_θθ at ONE state h between two given layers θ, θ', with ‖∂_θf(θ'', h) − ∂_θf(θ''', h)‖₂ ≤ C_θθ‖θ'' − θ'''‖
      /// for every θ'', θ''' on the segment [θ, θ'] (whose part norms are within the bounds); None: the first value of
      /// SecondDerivatives with Hidden = ‖h‖ (G.A.split uses it).
      ThetaThetaAtState: (IterateBounds -> PairAtState -> float) option
      /// Optional, sharper than ThetaThetaAtState for a block whose gradient parts depend on the other parts in a known way
      /// (conv: G_K₂ depends on K₁, b₁ only): at ONE sample (state h, adjoint p = Adjoint[AdjointOffset ..]) and the two
      /// layers θ = θ_k, θ' = θ_{k+1} of PairAtState, the part-by-part matrix A (parts × parts, layout order) with
      /// ‖∂_θf(θ', h)ᵀp|_q − ∂_θf(θ, h)ᵀp|_q‖ ≤ Σ_q' A[q, q']‖θ'_q' − θ_q'‖ for every part q (G.A.split's bracket per part).
      PartBracket: (IterateBounds -> PairAtState -> float[] -> int -> float[,]) option }

/// A state h and the two layers θ, θ' of a segment, for `Architecture.ThetaThetaAtState` (flat arrays with offsets:
/// θ = Theta[First .. First + P − 1], θ' = Theta[Second ..], h = State[StateOffset .. StateOffset + Dim − 1]).
and PairAtState = { Theta: float[]; First: int; Second: int; State: float[]; StateOffset: int }

/// A generic-architecture run's setting (the quantities hypotheses and constants are made of).
and BlockSetting =
    { Architecture: string
      Depth: int
      Samples: int
      Dim: int
      Activation: ActivationKind
      S0: float
      S1: float
      S2: float option
      Eta: float
      Iterations: int
      Clip: float option
      Optimizer: string
      InitKind: string
      /// (Σ_part Lip_part²)^{1/2}: bound on sup_s ‖dθ⁰/ds‖ of the function of depth the initial layers sample; None if none is known
      InitLipschitz: float option
      Hyper: Map<string, float>
      Diverged: bool }

module Architecture =
    /// Lemma L5 for any block, from its constants (docs/theorems/GenericResults.md):
    /// G_k = Σ_i ∂_θf(θ_k, h_{k−1}^i)ᵀ p_k^i, and splitting G_{k+1} − G_k into the θ-, h- and p-differences,
    ///   ‖G_{k+1} − G_k‖ ≤ P·C_θθ·‖Δθ_k‖ + (P/L)(C_hθ·F + J·κ),
    /// i.e. a = P·C_θθ, b = P·(C_hθ·F + J·κ).
    let lemmaL5 (arch: Architecture) (b: IterateBounds) : float * float =
        let cTT, cHT = arch.SecondDerivatives b
        b.AdjointSum * cTT, b.AdjointSum * (cHT * arch.OutputBound b + arch.LipschitzTheta b * arch.LipschitzH b)

    /// The requirement "σ twice differentiable with bounded σ''" (for architectures whose constants use s2).
    let smoothActivation : string * (BlockSetting -> HypothesisCheck) =
        Hypotheses.SmoothSigmaName, fun s -> Hypotheses.smoothSigmaOf s.Activation s.S2

    /// A part bound by name (fails with the list of known parts).
    let part (m: Map<string, float>) (name: string) =
        match m.TryFind name with
        | Some v -> v
        | None -> failwithf "the run has no parameter part '%s' (parts: %s)" name (m |> Map.keys |> String.concat ", ")

/// A generic-architecture run directory opened for verification; `architectures` are the theory-side
/// descriptions known to the registry (the run's is looked up by name).
type BlockRun(data: RunData, architectures: Architecture list) =
    let parts = data.Architecture.Parts() |> Array.map (fun struct (n, s) -> n, s)
    let sizes = parts |> Array.map (fun (_, s) -> Array.fold (*) 1 s)
    let offsets = Array.scan (+) 0 sizes
    let P = data.ParameterCount
    let L = data.Depth
    let consts = Activations.Constants data.Activation
    let meta = data.Meta
    let setting =
        { Architecture = data.Architecture.Name; Depth = L; Samples = data.Data.Count; Dim = data.Dim
          Activation = data.Activation; S0 = consts.S0; S1 = consts.S1
          S2 = (if consts.S2.HasValue then Some consts.S2.Value else None)
          Eta = data.Eta; Iterations = data.Iterations
          Clip = (if data.Clip.HasValue then Some data.Clip.Value else None)
          Optimizer = meta.Optimizer; InitKind = meta.Init.Kind
          InitLipschitz =
            (match meta.Init.LipschitzParts with
             | null -> None
             | d -> Some(sqrt (d.Values |> Seq.sumBy (fun x -> x * x))))
          Hyper = data.Architecture.Hyper |> Seq.map (fun kv -> kv.Key, kv.Value) |> Map.ofSeq
          Diverged = data.Diverged }
    let arch = architectures |> List.tryFind (fun a -> a.Name = data.Architecture.Name)
    let opNorms = Collections.Concurrent.ConcurrentDictionary<int, float[]>()

    member _.Data = data
    member _.Directory = data.Directory
    member _.Setting = setting
    /// The theory-side description of this run's architecture, if registered.
    member _.Architecture = arch
    /// (name, shape) of the parts of θ_k in storage order.
    member _.Parts = parts
    member _.PartOffset(q: int) = offsets.[q]
    member _.PartSize(q: int) = sizes.[q]
    member _.ParameterCount = P
    member _.Steps = data.Steps
    member _.SnapshotCount = data.Steps.Length
    member _.Time(s: int) = float data.Steps.[s] * data.Eta
    /// θ of snapshot s (L·P, layer after layer).
    member _.Theta(s: int) = data.Theta.[s]
    member _.Losses = data.Losses
    member _.Trace(name: string) : float[] option =
        match data.Trace.TryGetValue name with
        | true, v -> Some v
        | _ -> None
    /// max_k ‖θ_{k+1} − θ_k‖ of snapshot s, from its parameters.
    member _.DepthIncrement(s: int) =
        let t = data.Theta.[s]
        seq { for k in 0 .. L - 2 -> Linalg.frobeniusDiff t ((k + 1) * P) t (k * P) P } |> Seq.fold max 0.0
    /// Per part: max_k ‖θ_k,part‖₂ at snapshot s (exact spectral norm for matrix parts, Euclidean norm otherwise).
    member this.PartOperatorNorms(s: int) : float[] =
        opNorms.GetOrAdd(s, fun s ->
            let t = data.Theta.[s]
            parts |> Array.mapi (fun q _ -> seq { for k in 0 .. L - 1 -> this.LayerPartOperatorNorm(t, k, q) } |> Seq.fold max 0.0))
    /// An upper bound on the operator norm of part q of layer k (0-based) of θ (L·P): the block's own bound when it
    /// implements IPartOperatorNorm (e.g. a convolution kernel), else the exact spectral norm of a 2-D part and the
    /// Euclidean norm of any other part.
    member _.LayerPartOperatorNorm(theta: float[], k: int, q: int) : float =
        let o = k * P + offsets.[q]
        match data.Block with
        | :? IPartOperatorNorm as b -> b.OperatorNormBound(q, ReadOnlySpan(theta, o, sizes.[q]))
        | _ ->
            let shape = snd parts.[q]
            if shape.Length = 2 then Linalg.spectralNorm shape.[0] shape.[1] theta o else Linalg.frobenius theta o sizes.[q]
    /// c_q with ‖op(E)‖₂ ≤ c_q‖E‖_F for part q (IPartOperatorNorm.FrobeniusFactor; 1 for matrix and vector parts).
    member _.PartFrobeniusFactor(q: int) : float =
        match data.Block with
        | :? IPartOperatorNorm as b -> b.FrobeniusFactor q
        | _ -> 1.0
    /// The outputs B h_L^i (n×d_out) at parameters θ (recomputed by the engine; needs the block to be registered in the engine).
    member _.Outputs(theta: float[]) : float[] =
        match data.Block with
        | null -> failwithf "architecture '%s' is not registered in the engine's BlockCatalog" data.Architecture.Name
        | block ->
            let net = BlockResNet(block, L, data.Data, data.A, data.B)
            net.Evaluate(ReadOnlySpan(theta), Span.Empty) |> ignore
            net.Outputs()
