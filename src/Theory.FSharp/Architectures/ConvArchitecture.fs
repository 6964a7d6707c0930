/// The convolutional residual block f(θ, h) = K₂∗σ(K₁∗h + b₁) + b₂ through the generic extension point: its
/// constants (ConvBlock.fs, derivation in docs/theorems/ConvBlock.md) as an `Architecture`, so that A.aposteriori,
/// A.aposteriori.segments, B.bound and B.rate (GenericResults.fs) evaluate on conv runs.
///
/// The bounds given: M₁ ≥ ‖conv_{K₁}‖₂, M₂ ≥ ‖conv_{K₂}‖₂ (PartOp "K1", "K2": the certified Fourier-symbol upper bound
/// of ConvSpectralNorm, propagated between snapshots with ‖conv_E‖₂ ≤ 3‖E‖_F), ‖b₁‖, ‖b₂‖ (PartFro), H ≥ ‖h‖, the
/// image shape C×H×W from the run's hyper-parameters (P = H·W pixels, d = C·P), and with the state-dependent quantities
/// of ConvBlock.fs at their worst case from ‖h‖ ≤ H alone (π = H, ν = 3H, ρ = (9H² + P)^{1/2}):
///   κ = s1 M₂ M₁,
///   J = Λ = (9S² + P + s1²M₂²ρ²)^{1/2},   S = s0√d + s1(M₁H + √P‖b₁‖),
///   F = M₂ S + √P‖b₂‖,   F₀ = M₂(s0√d + s1√P‖b₁‖) + √P‖b₂‖ ≥ ‖f(θ, 0)‖ = ‖K₂∗σ(b̃₁) + b̃₂‖,
///   C_θθ = 3 s1 ρ + s2 M₂ ρ (H² + 1)^{1/2},
///   C_hθ = 3 s1 (M₁² + M₂²)^{1/2} + s2 M₂ M₁ min(ρ, (H² + 1)^{1/2}),
/// and lemma L5 in the generic form a = P_adj·C_θθ, b = P_adj(C_hθ F + J κ). Every constant is nondecreasing in every bound.
module ResOdeProofs.Theory.ConvArchitecture

open ResOdeProofs.Theory

let private shape (b: IterateBounds) =
    let get key =
        match b.Hyper.TryFind key with
        | Some v -> int v
        | None -> failwithf "a conv run records its image shape in the hyper-parameters (missing '%s')" key
    get "channels", get "height", get "width_px"

/// ConvBlock.fs's constants at the iterate-level bounds.
let constantsAt (b: IterateBounds) : ConvBlock.Constants =
    let c, h, w = shape b
    ConvBlock.constants (Architecture.part b.PartOp "K1", Architecture.part b.PartOp "K2",
                         Architecture.part b.PartFro "b1", Architecture.part b.PartFro "b2", b.S0, b.S1, b.S2, c, h, w)

let private state (b: IterateBounds) = ConvBlock.StateNorms.ofNorm b.Hidden

/// The bracket of A.split part by part at one sample (docs/theorems/ConvBlock.md, "The bracket part by part"), parts in
/// layout order K₁, b₁, K₂, b₂. With z = K₁∗h + b₁, g = conv_{K₂}ᵀp at θ = θ_k, primes at θ' = θ_{k+1}, ν(x) the shift
/// norm (‖corr(x, e)‖ ≤ ν(x)‖e‖ and ‖conv_Kᵀx‖ ≤ ν(x)‖K‖_F), π(h) the largest patch norm, P pixels:
///   G_K₂' − G_K₂ = corr(p, σ(z') − σ(z)):      ‖·‖ ≤ s1ν(p)(ν(h)‖δK₁‖ + √P‖δb₁‖);  G_b₂ does not depend on θ;
///   δq = σ'(z')⊙(g' − g) + (σ'(z') − σ'(z))⊙g:  ‖δq‖ ≤ s1ν(p)‖δK₂‖ + s2 min(ν(h)‖g‖_∞, π(h)‖g‖)‖δK₁‖ + s2 min(√P‖g‖_∞, ‖g‖)‖δb₁‖,
///   G_K₁' − G_K₁ = corr(δq, h): ‖·‖ ≤ ν(h)‖δq‖;   G_b₁' − G_b₁ = Σ_pixels δq: ‖·‖ ≤ √P‖δq‖.
let partBracket (b: IterateBounds) (at: PairAtState) (adjoint: float[]) (offset: int) : float[,] =
    let c, ht, w = shape b
    let d = b.Dim
    let pix = float (ht * w)
    let h = System.ReadOnlySpan(at.State, at.StateOffset, d)
    let p = System.ReadOnlySpan(adjoint, offset, d)
    let nuH = ResOdeProofs.Numerics.Blocks.Conv2dSame.ShiftOperatorNorm(h, c, ht, w)
    let piH = ResOdeProofs.Numerics.Blocks.Conv2dSame.MaxPatchNorm(h, c, ht, w)
    let nuP = ResOdeProofs.Numerics.Blocks.Conv2dSame.ShiftOperatorNorm(p, c, ht, w)
    let kl = ResOdeProofs.Numerics.Blocks.Conv2dSame.KernelSize(c, c)
    // g = conv_{K₂}ᵀ p with K₂ of θ (parts K₁, b₁, K₂, b₂ in this order)
    let g = Array.zeroCreate d
    ResOdeProofs.Numerics.Blocks.Conv2dSame.Adjoint(System.ReadOnlySpan(at.Theta, at.First + kl + c, kl), p, System.Span g, 1, c, c, ht, w)
    let gInf = g |> Array.fold (fun m x -> max m (abs x)) 0.0
    let gNorm = sqrt (g |> Array.sumBy (fun x -> x * x))
    let qK1 = b.S2 * min (nuH * gInf) (piH * gNorm)
    let qB1 = b.S2 * min (sqrt pix * gInf) gNorm
    let qK2 = b.S1 * nuP
    let a = Array2D.zeroCreate 4 4
    for row, f in [ 0, nuH; 1, sqrt pix ] do
        a.[row, 0] <- f * qK1
        a.[row, 1] <- f * qB1
        a.[row, 2] <- f * qK2
    a.[2, 0] <- b.S1 * nuP * nuH
    a.[2, 1] <- b.S1 * nuP * sqrt pix
    a

/// The conv block's constants.
let architecture : Architecture =
    let rec arch =
        { Name = "conv"
          Title = "convolutional residual block K2*sigma(K1*h + b1) + b2 (3x3 same padding, C channels)"
          Doc = "docs/theorems/ConvBlock.md"
          Requirements = [ Architecture.smoothActivation ]
          LipschitzH = fun b -> (constantsAt b).LipschitzH
          LipschitzTheta = fun b -> ConvBlock.parameterLipschitz (constantsAt b) (state b)
          OutputBound = fun b -> ConvBlock.outputBound (constantsAt b) b.Hidden
          // f(θ, 0) = K₂∗σ(b̃₁) + b̃₂ (b̃ the bias broadcast over the P pixels, ‖b̃‖ = √P‖b‖): ConvBlock's intercept
          OutputAtZero = fun b -> (constantsAt b).OutputIntercept
          SecondDerivatives = fun b ->
              let c, s = constantsAt b, state b
              ConvBlock.thetaThetaLipschitz c s, ConvBlock.thetaStateLipschitz c s
          GradientDifference = fun b -> Architecture.lemmaL5 arch b
          // at one state: β_θθ(h) of ConvBlock.fs with the measured patch norm π(h) and shift norm ν(h) (≤ ‖h‖ and 3‖h‖)
          ThetaThetaAtState =
            Some(fun b at ->
                let c, h, w = shape b
                ConvBlock.thetaThetaLipschitz (constantsAt b) (ConvBlock.StateNorms.measure c h w (System.ReadOnlySpan(at.State, at.StateOffset, b.Dim))))
          PartBracket = Some partBracket
          // C_hh = s2 M₂M₁² (docs/theorems/ConvBlock.md, "C_hh")
          StateCurvature = Some(fun b -> b.S2 * Architecture.part b.PartOp "K2" * Architecture.part b.PartOp "K1" * Architecture.part b.PartOp "K1") }
    arch
