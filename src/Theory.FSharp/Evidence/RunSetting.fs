/// What every result is stated over: a run's setting (the quantities hypotheses and constants are made of) and
/// the theory-side extension point an architecture (a residual block f(θ, h)) fills with its constants, so that the
/// depth-smoothness and ResNet-vs-ODE results can be stated once (GenericResults.fs, docs/theorems/GenericResults.md).
namespace ResOdeProofs.Theory

open ResOdeProofs.Numerics

/// The quantities of a run that the results' hypotheses and constants are made of (any architecture).
type Setting =
    { /// run.json "architecture.name" ("mlp" for the paper's block)
      Architecture: string
      /// depth L
      Depth: int
      /// width m (an architecture other than the MLP: its hyper-parameter "width", or 0)
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
      /// Measured initial smoothness L·max_k ‖θ_{k+1}(0) − θ_k(0)‖ (the MLP: joint W, V in the Frobenius norm) from
      /// snapshot 0: the Lipschitz constant of the piecewise-linear function of depth through the initial layers; None
      /// without a snapshot 0
      InitLipschitz: float option
      /// The Lipschitz bound run.json declares, (Σ_part Lip_part²)^{1/2} (the MLP: (Lip_W² + Lip_V²)^{1/2}): a claim,
      /// checked against the weights by E.init for the MLP; None if none
      DeclaredInitLipschitz: float option
      /// block hyper-parameters (run.json architecture.hyper, e.g. width)
      Hyper: Map<string, float>
      /// max_i ‖h_0^i‖ = max_i ‖A x_i‖
      InputNormMax: float
      /// max_i ‖y_i‖
      TargetNormMax: float
      /// ‖B‖₂ (1 for B = I)
      ReadoutNorm: float
      /// the run's fault marker ("none" for a faithful run)
      Fault: string
      Diverged: bool }

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
      Requirements: (string * (Setting -> HypothesisCheck)) list
      /// κ ≥ ‖∂f/∂h(θ, h)‖₂: the Lipschitz constant of f in h
      LipschitzH: IterateBounds -> float
      /// J ≥ ‖∂f/∂θ(θ, h)‖₂: the Lipschitz constant of f in θ
      LipschitzTheta: IterateBounds -> float
      /// F ≥ ‖f(θ, h)‖
      OutputBound: IterateBounds -> float
      /// F₀ ≥ ‖f(θ, 0)‖ from the part norms alone (IterateBounds.Hidden is not read), so that with κ = LipschitzH
      /// ‖f(θ, h)‖ ≤ F₀ + κ‖h‖ (the mean value theorem on the segment [0, h]): lemma L1's intercept, which OutputBound
      /// (a function of the state bound L1 is there to give) cannot be
      OutputAtZero: IterateBounds -> float
      /// (C_θθ, C_hθ): ‖∂_θf(θ', h) − ∂_θf(θ, h)‖₂ ≤ C_θθ‖θ' − θ‖ and ‖∂_θf(θ, h') − ∂_θf(θ, h)‖₂ ≤ C_hθ‖h' − h‖
      SecondDerivatives: IterateBounds -> float * float
      /// (a, b) of lemma L5: ‖G_{k+1} − G_k‖ ≤ a‖θ_{k+1} − θ_k‖ + b/L (usually `Architecture.lemmaL5`)
      GradientDifference: IterateBounds -> float * float
      /// Optional, for a block that has sharper per-state quantities than ‖h‖ (conv: patch norms; glu: ‖U h‖_∞, ‖W h‖_∞):
      /// C_θθ at ONE state h between two given layers θ, θ', with ‖∂_θf(θ'', h) − ∂_θf(θ''', h)‖₂ ≤ C_θθ‖θ'' − θ'''‖
      /// for every θ'', θ''' on the segment [θ, θ'] (whose part norms are within the bounds); None: the first value of
      /// SecondDerivatives with Hidden = ‖h‖ (A.split uses it).
      ThetaThetaAtState: (IterateBounds -> PairAtState -> float) option
      /// Optional, sharper than ThetaThetaAtState for a block whose gradient parts depend on the other parts in a known way
      /// (conv: G_K₂ depends on K₁, b₁ only): at ONE sample (state h, adjoint p = Adjoint[AdjointOffset ..]) and the two
      /// layers θ = θ_k, θ' = θ_{k+1} of PairAtState, the part-by-part matrix A (parts × parts, layout order) with
      /// ‖∂_θf(θ', h)ᵀp|_q − ∂_θf(θ, h)ᵀp|_q‖ ≤ Σ_q' A[q, q']‖θ'_q' − θ_q'‖ for every part q (A.split's bracket per part).
      PartBracket: (IterateBounds -> PairAtState -> float[] -> int -> float[,]) option
      /// Optional: C_hh ≥ ‖∂_hf(θ, h') − ∂_hf(θ, h)‖₂/‖h' − h‖ for ‖h‖, ‖h'‖ ≤ H and parts within the bounds (derived on the
      /// block's page, "C_hh"), the state curvature B.bound.tangent's second-order local errors need; None: B.bound.tangent
      /// falls back to B.bound's layer-wise bound (docs/theorems/GenericResults.md, "B.bound.tangent").
      StateCurvature: (IterateBounds -> float) option }

/// A state h and the two layers θ, θ' of a segment, for `Architecture.ThetaThetaAtState` (flat arrays with offsets:
/// θ = Theta[First .. First + P − 1], θ' = Theta[Second ..], h = State[StateOffset .. StateOffset + Dim − 1]).
and PairAtState = { Theta: float[]; First: int; Second: int; State: float[]; StateOffset: int }
