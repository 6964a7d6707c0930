/// The paper's two-layer block f(θ, h) = V σ(W h), θ = (W, V), W m×d, V d×m, seen through the generic
/// extension point (docs/theorems/GenericResults.md, "The MLP through the extension point"). A thin adapter:
/// lemma L5's (a, b) are those of the lemma chain (`DepthSmoothness.coefficients`, docs/theorems/LemmaChain.md)
/// with the iterate bounds; the other constants, with S = √m·s0 + s1·M_W·H ≥ ‖σ(W h)‖, are
///   κ = s1 M_V M_W,   J = (S² + (s1 M_V H)²)^{1/2},   F = M_V S,   F₀ = M_V·√m·s0 ≥ ‖f(θ, 0)‖ = s0‖V·1_m‖,
///   C_θθ = s1 H + s2 M_V H²,   C_hθ = ((s1 M_W)² + (M_V(s2 M_W H + s1))²)^{1/2}.
module ResOdeProofs.Theory.MlpArchitecture

open ResOdeProofs.Theory

let private width (b: IterateBounds) =
    match b.Hyper.TryFind "width" with
    | Some m -> m
    | None -> failwith "an mlp run needs the hyper-parameter width in run.json architecture.hyper"

let private mW (b: IterateBounds) = Architecture.part b.PartOp "W"
let private mV (b: IterateBounds) = Architecture.part b.PartOp "V"
let private sigmaBound (b: IterateBounds) = sqrt (width b) * b.S0 + b.S1 * mW b * b.Hidden

/// The MLP block's constants (L5 from the lemma chain).
let architecture : Architecture =
    { Name = "mlp"
      Title = "two-layer perceptron block V sigma(W h) (the paper's)"
      Doc = "docs/theorems/LemmaChain.md"
      Requirements = [ Architecture.smoothActivation ]
      LipschitzH = fun b -> b.S1 * mV b * mW b
      LipschitzTheta = fun b -> let s = sigmaBound b in sqrt (s * s + Portable.sq (b.S1 * mV b * b.Hidden))
      OutputBound = fun b -> mV b * sigmaBound b
      // f(θ, 0) = σ(0)·V·1_m: ‖·‖ ≤ s0·‖V‖₂·√m
      OutputAtZero = fun b -> mV b * (sqrt (width b) * b.S0)
      SecondDerivatives =
        fun b ->
            b.S1 * b.Hidden + b.S2 * mV b * b.Hidden * b.Hidden,
            sqrt (Portable.sq (b.S1 * mW b) + Portable.sq (mV b * (b.S2 * mW b * b.Hidden + b.S1)))
      GradientDifference =
        fun b ->
            let c = DepthSmoothness.coefficients b.Hidden b.AdjointSum (mW b) (mV b) (sigmaBound b) b.S1 b.S2
            c.A, c.B
      ThetaThetaAtState = None
      PartBracket = None
      // C_hh = s2 M_V M_W² (docs/theorems/GenericResults.md, "C_hh")
      StateCurvature = Some(fun b -> b.S2 * Architecture.part b.PartOp "V" * Architecture.part b.PartOp "W" * Architecture.part b.PartOp "W") }
