/// The constants of the scaled-linear block f(θ, h) = σ(a·h), θ = a ∈ R (derivation:
/// docs/theorems/ScaledLinearBlock.md). With M_a ≥ |a|, H ≥ ‖h‖:
///   κ = s1·M_a,   J = s1·H,   F = √d·s0 + s1·M_a·H,   F₀ = √d·s0 = ‖f(θ, 0)‖,   C_θθ = s2·H²,   C_hθ = s2·M_a·H + s1,
/// and lemma L5 in the generic form a = P·C_θθ, b = P(C_hθ F + J κ).
module ResOdeProofs.Theory.ScaledLinearBlock

open ResOdeProofs.Theory

let private mA (b: IterateBounds) = Architecture.part b.PartFro "a"

/// The scaled-linear block's constants.
let architecture : Architecture =
    let rec arch =
        { Name = "scaled-linear"
          Title = "scaled-linear block sigma(a h)"
          Doc = "docs/theorems/ScaledLinearBlock.md"
          Requirements = [ Architecture.smoothActivation ]
          LipschitzH = fun b -> b.S1 * mA b
          LipschitzTheta = fun b -> b.S1 * b.Hidden
          OutputBound = fun b -> sqrt (float b.Dim) * b.S0 + b.S1 * mA b * b.Hidden
          // f(θ, 0) = σ(0)·1_d, of norm exactly √d·|σ(0)|
          OutputAtZero = fun b -> sqrt (float b.Dim) * b.S0
          SecondDerivatives = fun b -> b.S2 * b.Hidden * b.Hidden, b.S2 * mA b * b.Hidden + b.S1
          GradientDifference = fun b -> Architecture.lemmaL5 arch b
          ThetaThetaAtState = None
          PartBracket = None
          // C_hh = s2 M_a² (docs/theorems/ScaledLinearBlock.md, "C_hh")
          StateCurvature = Some(fun b -> let a = Architecture.part b.PartFro "a" in b.S2 * a * a) }
    arch
