/// Constants of the convolutional residual block f(θ, h) = K₂∗σ(K₁∗h + b₁) + b₂ (docs/theorems/ConvBlock.md):
/// plain functions of the layer norms and the activation constants, and the block-level results checked on
/// probes (a block, two parameter vectors, two batches of states, adjoints).
module ResOdeProofs.Theory.ConvBlock

open ResOdeProofs.Numerics
open ResOdeProofs.Numerics.Blocks

let private doc = "docs/theorems/ConvBlock.md"
let private src = "derived here (docs/theorems/ConvBlock.md)"

/// ‖conv_K‖₂ ≤ 3‖K‖_F for a 3×3 kernel (the square root of the number of taps), and ‖conv_K x‖_∞ ≤ ‖K‖_F‖x‖.
let kernelToOperator = 3.0

/// The constants of one block (or of a range of layers when the norms are maxima over it). d = C·H·W, P = H·W.
type Constants =
    { /// ‖K₁‖₂ (operator norm of the convolution on R^{C·H·W}; an upper bound, e.g. the Fourier bound).
      K1Norm: float
      /// ‖K₂‖₂.
      K2Norm: float
      /// ‖b₁‖ (Euclidean norm of the C per-channel biases; the broadcast bias has norm √P‖b₁‖).
      B1Norm: float
      /// ‖b₂‖.
      B2Norm: float
      S0: float
      S1: float
      /// sup|σ''|; +∞ for relu (then the second-order constants are +∞).
      S2: float
      Channels: int
      Height: int
      Width: int
      /// κ = s1‖K₂‖₂‖K₁‖₂: Lipschitz constant of f(θ, ·).
      LipschitzH: float
      /// F₀ = ‖K₂‖₂(s0√d + s1√P‖b₁‖) + √P‖b₂‖, so that ‖f(θ, h)‖ ≤ F₀ + κ‖h‖.
      OutputIntercept: float }
    member c.StateDim = c.Channels * c.Height * c.Width
    member c.Pixels = c.Height * c.Width

/// The constants from the norms: constants (‖K₁‖₂, ‖K₂‖₂, ‖b₁‖, ‖b₂‖, s0, s1, s2, C, H, W).
let constants (k1Norm: float, k2Norm: float, b1Norm: float, b2Norm: float, s0: float, s1: float, s2: float, c: int, h: int, w: int) =
    let d, p = float (c * h * w), float (h * w)
    { K1Norm = k1Norm; K2Norm = k2Norm; B1Norm = b1Norm; B2Norm = b2Norm; S0 = s0; S1 = s1; S2 = s2
      Channels = c; Height = h; Width = w
      LipschitzH = s1 * k2Norm * k1Norm
      OutputIntercept = k2Norm * (s0 * sqrt d + s1 * sqrt p * b1Norm) + sqrt p * b2Norm }

/// (C2) ‖f(θ, h)‖ ≤ F₀ + κ‖h‖.
let outputBound (c: Constants) (hNorm: float) = c.OutputIntercept + c.LipschitzH * hNorm

/// S(h) = s0√d + s1(‖K₁‖₂‖h‖ + √P‖b₁‖) ≥ ‖σ(K₁∗h + b₁)‖.
let activationBound (c: Constants) (hNorm: float) =
    c.S0 * sqrt (float c.StateDim) + c.S1 * (c.K1Norm * hNorm + sqrt (float c.Pixels) * c.B1Norm)

/// What the bounds need to know about a state h: ‖h‖, π(h) = the largest C×3×3 patch norm (π ≤ ‖h‖) and
/// ν(h) = the norm of δK ↦ δK∗h (ν ≤ 3‖h‖). `StateNorms.ofNorm` takes the worst cases π = ‖h‖, ν = 3‖h‖ (a bound
/// from ‖h‖ alone); `StateNorms.measure` computes them for a state.
type StateNorms =
    { Norm: float
      Patch: float
      Shift: float }

module StateNorms =
    /// Worst case from ‖h‖ alone: π = ‖h‖, ν = 3‖h‖.
    let ofNorm (n: float) = { Norm = n; Patch = n; Shift = kernelToOperator * n }

    /// Measured for one state h ∈ R^{C·H·W} (`Conv2dSame.MaxPatchNorm`, `Conv2dSame.ShiftOperatorNorm`).
    let measure (channels: int) (height: int) (width: int) (h: System.ReadOnlySpan<float>) =
        let mutable sq = 0.0
        for i in 0 .. h.Length - 1 do
            sq <- sq + h.[i] * h.[i]
        { Norm = sqrt sq
          Patch = Conv2dSame.MaxPatchNorm(h, channels, height, width)
          Shift = Conv2dSame.ShiftOperatorNorm(h, channels, height, width) }

/// ρ(h) = (ν(h)² + P)^{1/2} ≤ (9‖h‖² + P)^{1/2}: ‖δK₁∗h + δb̃₁‖ ≤ ρ(h)‖(δK₁, δb₁)‖.
let rho (c: Constants) (h: StateNorms) = sqrt (h.Shift * h.Shift + float c.Pixels)

/// (C4) Λ(h) = (9S(h)² + P + s1²‖K₂‖₂²ρ(h)²)^{1/2}: ‖f(θ, h) − f(θ', h)‖ ≤ Λ(h)‖θ − θ'‖, hence ‖∂f/∂θ(θ, h)‖₂ ≤ Λ(h).
let parameterLipschitz (c: Constants) (h: StateNorms) =
    let s = activationBound c h.Norm
    let r = rho c h
    sqrt (Portable.sq (kernelToOperator * s) + float c.Pixels + Portable.sq (c.S1 * c.K2Norm * r))

/// (C5) β_θθ(h) = 3s1ρ(h) + s2‖K₂‖₂ρ(h)(π(h)² + 1)^{1/2}: ‖∂f/∂θ(θ', h) − ∂f/∂θ(θ, h)‖₂ ≤ β_θθ(h)‖θ' − θ‖.
let thetaThetaLipschitz (c: Constants) (h: StateNorms) =
    let r = rho c h
    kernelToOperator * c.S1 * r + c.S2 * c.K2Norm * r * sqrt (h.Patch * h.Patch + 1.0)

/// (C6) β_θh(h) = 3s1(‖K₁‖₂² + ‖K₂‖₂²)^{1/2} + s2‖K₂‖₂‖K₁‖₂·min(ρ(h), (π(h)² + 1)^{1/2}):
/// ‖∂f/∂θ(θ, h') − ∂f/∂θ(θ, h)‖₂ ≤ β_θh(h)‖h' − h‖.
let thetaStateLipschitz (c: Constants) (h: StateNorms) =
    kernelToOperator * c.S1 * sqrt (Portable.sq c.K1Norm + Portable.sq c.K2Norm)
    + c.S2 * c.K2Norm * c.K1Norm * min (rho c h) (sqrt (h.Patch * h.Patch + 1.0))

/// The constants as named values for an Evaluation.
let named (c: Constants) =
    [ "norm K1 (spectral)", c.K1Norm; "norm K2 (spectral)", c.K2Norm; "norm b1", c.B1Norm; "norm b2", c.B2Norm
      "s0", c.S0; "s1", c.S1; "s2", c.S2; "kappa = s1 |K2| |K1|", c.LipschitzH; "F0", c.OutputIntercept ]

// ----------------------------------------------------------------------------------------------
// Block-level results, checked on probes
// ----------------------------------------------------------------------------------------------

/// A probe of the block: parameters θ and θ', n states h and h' (n×d each), n adjoints p (n×d).
type Probe =
    { Block: ConvBlock
      Theta: float[]
      ThetaB: float[]
      States: float[]
      StatesB: float[]
      Adjoints: float[]
      Samples: int }

/// Norms of the parts of θ: ‖K₁‖₂ and ‖K₂‖₂ as the certified Fourier upper bounds, ‖b₁‖, ‖b₂‖.
let parameterNorms (block: ConvBlock) (theta: float[]) =
    let struct (k1o, b1o, k2o, b2o) = block.Offsets
    let kl, c = block.KernelLength, block.Channels
    let opNorm off =
        let struct (bound, _) = ConvSpectralNorm.FourierUpperBound(System.ReadOnlySpan(theta, off, kl), c, c, block.Height, block.Width)
        bound
    opNorm k1o, opNorm k2o, Linalg.frobenius theta b1o c, Linalg.frobenius theta b2o c

/// The constants of the block at θ (and, with `thetaB`, the larger of the norms at θ and θ').
let probeConstants (block: ConvBlock) (theta: float[]) (thetaB: float[] option) =
    let k1, k2, b1, b2 = parameterNorms block theta
    let k1, k2, b1, b2 =
        match thetaB with
        | None -> k1, k2, b1, b2
        | Some tb ->
            let k1', k2', b1', b2' = parameterNorms block tb
            max k1 k1', max k2 k2', max b1 b1', max b2 b2'
    let ac = Activations.Constants block.Activation
    let s2 = if ac.S2.HasValue then ac.S2.Value else infinity
    constants (k1, k2, b1, b2, ac.S0, ac.S1, s2, block.Channels, block.Height, block.Width)

let private forward (block: ConvBlock) (theta: float[]) (h: float[]) n =
    let out = Array.zeroCreate (n * block.StateDim)
    BlockCalls.Forward(block, theta, 0, h, 0, out, Array.zeroCreate (block.CacheSize n), n)
    out

/// (∂f/∂θ)(θ, h_i)ᵀp_i for one sample i.
let private vjpTheta (block: ConvBlock) (theta: float[]) (h: float[]) (p: float[]) i =
    let d = block.StateDim
    let hi, pi = Array.sub h (i * d) d, Array.sub p (i * d) d
    let cache = Array.zeroCreate (block.CacheSize 1)
    BlockCalls.Forward(block, theta, 0, hi, 0, Array.zeroCreate d, cache, 1)
    let g = Array.zeroCreate block.ParameterCount
    BlockCalls.Backward(block, theta, 0, hi, 0, cache, pi, 0, g, Array.zeroCreate d, 1)
    g

let private sampleNorm (x: float[]) d i = Linalg.frobenius x (i * d) d
let private sampleState (block: ConvBlock) (x: float[]) i =
    let d = block.StateDim
    StateNorms.measure block.Channels block.Height block.Width (System.ReadOnlySpan(x, i * d, d))
let private sampleDiff (x: float[]) (y: float[]) d i = Linalg.frobeniusDiff x (i * d) y (i * d) d

/// The rounding allowance of a probe's comparisons: both sides recomputed in float64 from the same parameters through
/// one layer, `Rounding.chainRelOf` with L = 1, inner products of at most P + d terms, the probe's n samples and the
/// block's d (hidden and output sizes d too) and P (docs/theorems/ConvBlock.md, "Rounding").
let probeRel (p: Probe) =
    let d, P = p.Block.StateDim, p.Block.ParameterCount
    Rounding.chainRelOf 1 (P + d) p.Samples d d d P

/// The worst of a probe's per-sample comparisons (measured, bound, sample), by the comparison kernel with `probeRel`.
let private worst (p: Probe) (checks: (float * float * string) list) (constants: (string * float) list) =
    Comparison.evaluation (probeRel p)
        [ for m, b, w in checks -> { Comparison.Check.Measured = m; Bound = b; Where = w; When = "probe" } ] constants []

let private hasSamples = "at least one sample", fun (p: Probe) ->
    if p.Samples >= 1 && p.States.Length = p.Samples * p.Block.StateDim && p.StatesB.Length = p.States.Length
       && p.Adjoints.Length = p.States.Length && p.Theta.Length = p.Block.ParameterCount && p.ThetaB.Length = p.Theta.Length
    then Met(sprintf "n = %d, d = %d" p.Samples p.Block.StateDim)
    else NotMet "shapes of θ, θ', h, h', p do not match the block"

let private twiceDifferentiable = Hypotheses.SmoothSigmaName, fun (p: Probe) ->
    let s2 = (Activations.Constants p.Block.Activation).S2
    Hypotheses.smoothSigmaOf p.Block.Activation (if s2.HasValue then Some s2.Value else None)

/// (C1) ‖f(θ, h) − f(θ, h')‖ ≤ κ‖h − h'‖, κ = s1‖K₂‖₂‖K₁‖₂.
let lipschitzState : Result<Probe> =
    { Id = "Conv.C1.lipschitz-state"; Title = "The conv block is s1‖K₂‖₂‖K₁‖₂-Lipschitz in the state"
      Source = src; Provenance = ProvedHere; Doc = doc
      Statement = "‖f(θ, h) − f(θ, h')‖ ≤ s1‖K₂‖₂‖K₁‖₂‖h − h'‖, with ‖K‖₂ the operator norm of the same-padding convolution (Fourier upper bound)."
      Hypotheses = [ hasSamples ]
      Conclusion = fun p ->
        let c = probeConstants p.Block p.Theta None
        let d = p.Block.StateDim
        let f, g = forward p.Block p.Theta p.States p.Samples, forward p.Block p.Theta p.StatesB p.Samples
        worst p [ for i in 0 .. p.Samples - 1 -> sampleDiff f g d i, c.LipschitzH * sampleDiff p.States p.StatesB d i, sprintf "sample %d" i ] (named c) }

/// (C2) ‖f(θ, h)‖ ≤ F₀ + κ‖h‖.
let outputNorm : Result<Probe> =
    { Id = "Conv.C2.output-bound"; Title = "‖f(θ, h)‖ ≤ ‖K₂‖₂(s0√d + s1(‖K₁‖₂‖h‖ + √P‖b₁‖)) + √P‖b₂‖"
      Source = src; Provenance = ProvedHere; Doc = doc
      Statement = "With d = C·H·W and P = H·W (biases are broadcast over the P pixels of their channel): ‖f(θ, h)‖ ≤ ‖K₂‖₂(s0√d + s1(‖K₁‖₂‖h‖ + √P‖b₁‖)) + √P‖b₂‖."
      Hypotheses = [ hasSamples ]
      Conclusion = fun p ->
        let c = probeConstants p.Block p.Theta None
        let d = p.Block.StateDim
        let f = forward p.Block p.Theta p.States p.Samples
        worst p [ for i in 0 .. p.Samples - 1 -> sampleNorm f d i, outputBound c (sampleNorm p.States d i), sprintf "sample %d" i ] (named c) }

/// (C4) ‖f(θ, h) − f(θ', h)‖ ≤ Λ(h)‖θ − θ'‖.
let lipschitzParameters : Result<Probe> =
    { Id = "Conv.C4.lipschitz-parameters"; Title = "The conv block is Λ(h)-Lipschitz in θ"
      Source = src; Provenance = ProvedHere; Doc = doc
      Statement = "‖f(θ, h) − f(θ', h)‖ ≤ Λ(h)‖θ − θ'‖ with Λ(h)² = 9S(h)² + P + s1²‖K₂‖₂²(9‖h‖² + P), S(h) = s0√d + s1(‖K₁‖₂‖h‖ + √P‖b₁‖), norms the larger at θ and θ'."
      Hypotheses = [ hasSamples ]
      Conclusion = fun p ->
        let c = probeConstants p.Block p.Theta (Some p.ThetaB)
        let d = p.Block.StateDim
        let f, g = forward p.Block p.Theta p.States p.Samples, forward p.Block p.ThetaB p.States p.Samples
        let dTheta = Linalg.frobeniusDiff p.Theta 0 p.ThetaB 0 p.Theta.Length
        worst p [ for i in 0 .. p.Samples - 1 -> sampleDiff f g d i, parameterLipschitz c (sampleState p.Block p.States i) * dTheta, sprintf "sample %d" i ] (named c) }

/// (C5) ‖(∂f/∂θ)(θ', h)ᵀp − (∂f/∂θ)(θ, h)ᵀp‖ ≤ β_θθ(h)‖θ' − θ‖‖p‖.
let jacobianParameterLipschitz : Result<Probe> =
    { Id = "Conv.C5.jacobian-theta-theta"; Title = "∂f/∂θ is β_θθ(h)-Lipschitz in θ"
      Source = src; Provenance = ProvedHere; Doc = doc
      Statement = "‖(∂f/∂θ)(θ', h) − (∂f/∂θ)(θ, h)‖₂ ≤ β_θθ(h)‖θ' − θ‖ with β_θθ(h) = 3s1ρ(h) + s2‖K₂‖₂ρ(h)(π(h)² + 1)^{1/2}, ρ(h) = (9‖h‖² + P)^{1/2}, π(h) the largest C×3×3 patch norm of h; checked on vector–Jacobian products with the probe's adjoints."
      Hypotheses = [ hasSamples; twiceDifferentiable ]
      Conclusion = fun p ->
        let c = probeConstants p.Block p.Theta (Some p.ThetaB)
        let d = p.Block.StateDim
        let dTheta = Linalg.frobeniusDiff p.Theta 0 p.ThetaB 0 p.Theta.Length
        worst p [ for i in 0 .. p.Samples - 1 ->
                    let g, g' = vjpTheta p.Block p.Theta p.States p.Adjoints i, vjpTheta p.Block p.ThetaB p.States p.Adjoints i
                    Linalg.frobeniusDiff g 0 g' 0 g.Length,
                    thetaThetaLipschitz c (sampleState p.Block p.States i) * dTheta * sampleNorm p.Adjoints d i,
                    sprintf "sample %d" i ] (named c) }

/// (C6) ‖(∂f/∂θ)(θ, h')ᵀp − (∂f/∂θ)(θ, h)ᵀp‖ ≤ β_θh(h)‖h' − h‖‖p‖.
let jacobianStateLipschitz : Result<Probe> =
    { Id = "Conv.C6.jacobian-theta-state"; Title = "∂f/∂θ is β_θh(h)-Lipschitz in h"
      Source = src; Provenance = ProvedHere; Doc = doc
      Statement = "‖(∂f/∂θ)(θ, h') − (∂f/∂θ)(θ, h)‖₂ ≤ β_θh(h)‖h' − h‖ with β_θh(h) = 3s1(‖K₁‖₂² + ‖K₂‖₂²)^{1/2} + s2‖K₂‖₂‖K₁‖₂·min(ρ(h), (π(h)² + 1)^{1/2}); checked on vector–Jacobian products with the probe's adjoints."
      Hypotheses = [ hasSamples; twiceDifferentiable ]
      Conclusion = fun p ->
        let c = probeConstants p.Block p.Theta None
        let d = p.Block.StateDim
        worst p [ for i in 0 .. p.Samples - 1 ->
                    let g, g' = vjpTheta p.Block p.Theta p.States p.Adjoints i, vjpTheta p.Block p.Theta p.StatesB p.Adjoints i
                    Linalg.frobeniusDiff g 0 g' 0 g.Length,
                    thetaStateLipschitz c (sampleState p.Block p.States i) * sampleDiff p.States p.StatesB d i * sampleNorm p.Adjoints d i,
                    sprintf "sample %d" i ] (named c) }

/// Every block-level result, for a registry.
let all : Result<Probe> list =
    [ lipschitzState; outputNorm; lipschitzParameters; jacobianParameterLipschitz; jacobianStateLipschitz ]
