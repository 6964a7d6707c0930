/// The constants of the one-layer residual block f(θ, h) = σ(W h + b), θ = (W, b), W d×d, b ∈ R^d
/// (derivation: docs/theorems/OneLayerBlock.md). With M_W ≥ ‖W‖₂, M_b ≥ ‖b‖, H ≥ ‖h‖, u = W h + b and the
/// global constants s0 = |σ(0)|, s1 = sup|σ'|, s2 = sup|σ''| of σ:
///   κ = s1·M_W,   J = s1·(H² + 1)^{1/2},   F = √d·s0 + s1(M_W H + M_b),   F₀ = √d·s0 + s1·M_b ≥ ‖σ(b)‖ = ‖f(θ, 0)‖,
///   C_θθ = s2(H² + 1),   C_hθ = s2·M_W·(H² + 1)^{1/2} + s1,
/// and lemma L5 in the generic form a = P·C_θθ, b = P(C_hθ F + J κ).
module ResOdeProofs.Theory.OneLayerBlock

open ResOdeProofs.Theory

let private mW (b: IterateBounds) = Architecture.part b.PartOp "W"
let private mB (b: IterateBounds) = Architecture.part b.PartFro "b"
let private hh (b: IterateBounds) = sqrt (b.Hidden * b.Hidden + 1.0)

/// The one-layer block's constants.
let architecture : Architecture =
    let rec arch =
        { Name = "one-layer"
          Title = "one-layer residual block sigma(W h + b)"
          Doc = "docs/theorems/OneLayerBlock.md"
          Requirements = [ Architecture.smoothActivation ]
          LipschitzH = fun b -> b.S1 * mW b
          LipschitzTheta = fun b -> b.S1 * hh b
          OutputBound = fun b -> sqrt (float b.Dim) * b.S0 + b.S1 * (mW b * b.Hidden + mB b)
          // f(θ, 0) = σ(b): |σ(b_j)| ≤ s0 + s1|b_j|, so ‖σ(b)‖ ≤ √d·s0 + s1‖b‖
          OutputAtZero = fun b -> sqrt (float b.Dim) * b.S0 + b.S1 * mB b
          SecondDerivatives = fun b -> b.S2 * (b.Hidden * b.Hidden + 1.0), b.S2 * mW b * hh b + b.S1
          GradientDifference = fun b -> Architecture.lemmaL5 arch b
          ThetaThetaAtState = None
          PartBracket = None
          // C_hh = s2 M_W² (docs/theorems/OneLayerBlock.md, "C_hh")
          StateCurvature = Some(fun b -> b.S2 * Architecture.part b.PartOp "W" * Architecture.part b.PartOp "W") }
    arch
