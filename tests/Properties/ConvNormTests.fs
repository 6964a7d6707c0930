/// The spectral norm of a same-padding convolution against the SVD of its dense matrix (MathNet), and the
/// block-level constants of docs/theorems/ConvBlock.md on random probes, with negative controls.
module ResOdeProofs.Properties.ConvNormTests

open System
open Xunit
open FsCheck
open FsCheck.FSharp
open FsCheck.Xunit
open MathNet.Numerics.LinearAlgebra
open ResOdeProofs.Numerics
open ResOdeProofs.Numerics.Blocks
open ResOdeProofs.Numerics.Random
open ResOdeProofs.Theory
open ResOdeProofs.Properties.Generators
open ResOdeProofs.Properties.Profile
open ResOdeProofs.TestSupport


let private gaussian (seed: int64) (purpose: string) (count: int) (scale: float) =
    let a = Array.zeroCreate count
    Rng.ForStream(seed, purpose).FillGaussian(Span a, scale)
    a

let private denseNorm (k: float[]) cIn cOut h w =
    let m = ConvDense.Matrix(ReadOnlySpan k, cIn, cOut, h, w)
    let dIn, dOut = cIn * h * w, cOut * h * w
    Matrix<float>.Build.Dense(dOut, dIn, fun i j -> m.[i * dIn + j]).L2Norm()

[<Theory>]
[<InlineData(4, 4, 8, 8, 1)>]
[<InlineData(2, 3, 10, 7, 2)>]
[<InlineData(4, 4, 10, 10, 3)>]
[<InlineData(1, 1, 14, 14, 4)>]
[<InlineData(4, 4, 14, 14, 5)>]
let ``ConvSpectralNorm: random kernels → certified bracket contains the dense SVD norm, Lanczos estimate matches it`` (cIn: int, cOut: int, h: int, w: int, seed: int) =
    let k = gaussian (int64 seed) "kernel" (cIn * cOut * 9) (1.0 / 3.0)
    let b = ConvSpectralNorm.Compute(ReadOnlySpan k, cIn, cOut, h, w, 1e-12, 1e-10)
    let dense = denseNorm k cIn cOut h w
    // MathNet's SVD is backward stable: relative error a small multiple of ε·dimension, below 1e-12 here.
    Assert.True(b.Lower <= dense * (1.0 + 1e-12), sprintf "lower %.17g above dense %.17g" b.Lower dense)
    Assert.True(dense <= b.Upper * (1.0 + 1e-12), sprintf "upper %.17g below dense %.17g" b.Upper dense)
    // The stopping rule extrapolates the remaining change of a geometric sequence; allowance 100× its 1e-10 tolerance.
    Assert.True(abs (b.Estimate - dense) <= 1e-8 * dense, sprintf "estimate %.17g vs dense %.17g (%d iterations)" b.Estimate dense b.Iterations)
    printfn "C_in=%d C_out=%d %dx%d: dense SVD %.15g, bracket [%.15g, %.15g] grid %A, estimate %.15g, %d iterations" cIn cOut h w dense b.Lower b.Upper b.FourierGrid b.Estimate b.Iterations

/// Random probes: C ∈ 1..3, H, W ∈ 3..6, n = 2, a smooth activation, kernel scale and bias scale varied.
let private probeGen (activations: ActivationKind list) =
    gen {
        let! c = Gen.choose (1, 3)
        let! h = Gen.choose (3, 6)
        let! w = Gen.choose (3, 6)
        let! act = Gen.elements activations
        let! kScale = Gen.elements [ 0.1; 0.3; 1.0 ]
        let! bScale = Gen.elements [ 0.0; 0.5 ]
        let! dScale = Gen.elements [ 1e-3; 0.1; 1.0 ]
        let! seed = Gen.choose (0, 100000)
        let block = ConvBlock(c, h, w, act)
        let n, d, pc = 2, block.StateDim, block.ParameterCount
        let theta = gaussian (int64 seed) "theta" pc kScale
        let s = block.Offsets
        let struct (_, b1, _, b2) = s
        for i in 0 .. c - 1 do
            theta.[b1 + i] <- theta.[b1 + i] * bScale / kScale
            theta.[b2 + i] <- theta.[b2 + i] * bScale / kScale
        let thetaB = Array.map2 (+) theta (gaussian (int64 seed) "dtheta" pc (kScale * dScale))
        let states = gaussian (int64 seed) "h" (n * d) 1.0
        let statesB = Array.map2 (+) states (gaussian (int64 seed) "dh" (n * d) dScale)
        let adj = gaussian (int64 seed) "p" (n * d) 1.0
        let probe : ConvBlock.Probe =
            { Block = block; Theta = theta; ThetaB = thetaB; States = states; StatesB = statesB; Adjoints = adj; Samples = n }
        return probe, sprintf "C=%d H=%d W=%d %s kScale=%g bScale=%g dScale=%g seed=%d" c h w (Activations.Name act) kScale bScale dScale seed
    }

let private smoothActs = [ ActivationKind.Gelu; ActivationKind.Tanh; ActivationKind.Softplus; ActivationKind.Identity ]

[<ProfiledProperty(40, Replay = "(4242,1717)")>]
let ``Conv.C*: random probes → hold`` () =
    Prop.forAll (Arb.fromGen (probeGen smoothActs)) (fun (probe, label) ->
        let results = ConvBlock.all |> List.map (fun r -> r.Id, Result.evaluate r probe)
        let bad = results |> List.filter (fun (_, e) -> not (Verdict.isHolds e.Verdict))
        let tight = results |> List.map (fun (id, e) -> id, Verdict.tightness e.Verdict)
        (bad.IsEmpty |@ sprintf "%s\nnot holding: %A" label bad)
        |> Prop.classify true (Activations.Name probe.Block.Activation)
        |> Prop.collect (tight |> List.map (fun (id, t) -> sprintf "%s %s" id (match t with Some t when t < 10.0 -> "<10x" | Some t when t < 100.0 -> "<100x" | _ -> ">=100x"))))

[<ProfiledProperty(10, Replay = "(777,31)")>]
let ``Conv.C*: relu probes → second-order results hypothesis not met`` () =
    Prop.forAll (Arb.fromGen (probeGen [ ActivationKind.Relu ])) (fun (probe, label) ->
        let v id = (ConvBlock.all |> List.find (fun r -> r.Id = id) |> fun r -> Result.evaluate r probe).Verdict
        (Verdict.isHypothesisNotMet (v "Conv.C5.jacobian-theta-theta") && Verdict.isHypothesisNotMet (v "Conv.C6.jacobian-theta-state")
         && Verdict.isHolds (v "Conv.C1.lipschitz-state") && Verdict.isHolds (v "Conv.C4.lipschitz-parameters"))
        |@ label)

/// The box filter (all nine taps 1) on one channel: ‖K‖₂ = (1 + 2cos(π/(H+1)))(1 + 2cos(π/(W+1))), close to 9 = 3‖K‖_F.
let private boxProbe (act: ActivationKind) (h: int) =
    let block = ConvBlock(1, h, h, act)
    let theta = Array.zeroCreate block.ParameterCount
    let struct (k1, _, k2, _) = block.Offsets
    for t in 0 .. 8 do
        theta.[k1 + t] <- 1.0 / 3.0
        theta.[k2 + t] <- 0.0
    theta.[k2 + 4] <- 1.0 // K₂ = identity
    let d = block.StateDim
    let states = Array.zeroCreate d
    // h − h' = the top singular vector of the box filter: the tensor product of sin(π i/(H+1)).
    let statesB = Array.init d (fun q -> sin (Math.PI * float (q / h + 1) / float (h + 1)) * sin (Math.PI * float (q % h + 1) / float (h + 1)))
    let probe : ConvBlock.Probe =
        { Block = block; Theta = theta; ThetaB = Array.copy theta; States = states; StatesB = statesB; Adjoints = Array.zeroCreate d; Samples = 1 }
    probe

[<Fact>]
let ``Conv.C1: box filter → nearly attained; Frobenius norm in place of the operator norm → violated`` () =
    let probe = boxProbe ActivationKind.Identity 12
    let e = Result.evaluate ConvBlock.lipschitzState probe
    let exact = (1.0 + 2.0 * cos (Math.PI / 13.0)) ** 2.0 / 3.0
    // Holds, with tightness = Fourier bound / exact norm (the circular symbol exceeds the zero-padded norm by O(1/H)).
    match e.Verdict with
    | Holds (_, t) -> Assert.InRange(t, 1.0, 3.0 / exact * (1.0 + 1e-9))
    | v -> failwithf "expected Holds, got %A" v
    // Negative control: κ with ‖K‖_F (= 1 for K₁, 1 for K₂) instead of ‖K‖₂ underestimates by ≈ 2.8.
    let frob = Verdict.compare e.Measured.Value (1.0 * 1.0 * 1.0 * Linalg.norm probe.StatesB) (ConvBlock.probeRel probe) "sample 0" "probe"
    Assert.True(Verdict.isViolated frob, sprintf "%A" frob)

[<Fact>]
let ``Conv.C2: softplus, zero first kernel, bound without the s0 term → violated`` () =
    let block = ConvBlock(2, 5, 5, ActivationKind.Softplus)
    let theta = Array.zeroCreate block.ParameterCount
    let struct (_, _, k2, _) = block.Offsets
    for c in 0 .. 1 do theta.[k2 + (c * 2 + c) * 9 + 4] <- 1.0 // K₂ = identity, K₁ = 0, biases 0: f(h) = ln 2 · 1
    let d = block.StateDim
    let probe : ConvBlock.Probe =
        { Block = block; Theta = theta; ThetaB = theta; States = Array.create d 1.0; StatesB = Array.create d 1.0; Adjoints = Array.zeroCreate d; Samples = 1 }
    let e = Result.evaluate ConvBlock.outputNorm probe
    match e.Verdict with
    | Holds (_, t) -> Assert.InRange(t, 1.0 - 1e-9, 1.0 + 1e-9) // attained: ‖f‖ = ln 2·√d = ‖K₂‖₂ s0 √d
    | v -> failwithf "expected Holds, got %A" v
    let c = ConvBlock.probeConstants block theta None
    let withoutS0 = ConvBlock.constants (c.K1Norm, c.K2Norm, c.B1Norm, c.B2Norm, 0.0, c.S1, c.S2, 2, 5, 5)
    let v = Verdict.compare e.Measured.Value (ConvBlock.outputBound withoutS0 (sqrt (float d))) (ConvBlock.probeRel probe) "sample 0" "probe"
    Assert.True(Verdict.isViolated v, sprintf "%A" v)

/// (C3, docs/theorems/ConvBlock.md) ‖h_k‖ ≤ e^κ‖h₀‖ + F₀(e^κ − 1)/κ for every k ≤ L when the norms are maxima over the
/// layers (F₀ for κ = 0): the closed form of lemma L1's recursion with the block's constants.
let private hiddenStateBound (c: ConvBlock.Constants) (h0Norm: float) =
    let kap = c.LipschitzH
    exp kap * h0Norm + (if kap = 0.0 then c.OutputIntercept else c.OutputIntercept * (exp kap - 1.0) / kap)

[<Fact>]
let ``Conv.C3: deep conv forward pass → the closed-form hidden-state bound holds`` () =
    // h_k = h_{k−1} + (1/L) f(θ_k, h_{k−1}) over L = 16 layers with random θ_k: ‖h_k‖ ≤ e^κ‖h₀‖ + F₀(e^κ − 1)/κ, norms maxima.
    let block = ConvBlock(2, 6, 6, ActivationKind.Gelu)
    let L, d = 16, block.StateDim
    let thetas = [| for k in 0 .. L - 1 -> gaussian (int64 k) "layer" block.ParameterCount 0.4 |]
    let h0 = gaussian 5L "h0" d 1.0
    let cs = thetas |> Array.map (fun t -> ConvBlock.probeConstants block t None)
    let ac = Activations.Constants ActivationKind.Gelu
    let cmax =
        ConvBlock.constants (cs |> Array.map (fun c -> c.K1Norm) |> Array.max, cs |> Array.map (fun c -> c.K2Norm) |> Array.max,
                             cs |> Array.map (fun c -> c.B1Norm) |> Array.max, cs |> Array.map (fun c -> c.B2Norm) |> Array.max,
                             ac.S0, ac.S1, ac.S2.Value, 2, 6, 6)
    let mutable h = h0
    let mutable worst = 0.0
    for k in 0 .. L - 1 do
        let out = Array.zeroCreate d
        BlockCalls.Forward(block, thetas.[k], 0, h, 0, out, Array.zeroCreate (block.CacheSize 1), 1)
        h <- Array.map2 (fun a b -> a + b / float L) h out
        worst <- max worst (Linalg.norm h)
    let bound = hiddenStateBound cmax (Linalg.norm h0)
    Assert.True(Verdict.isHolds (Verdict.compare worst bound (Rounding.chainRelOf L (block.ParameterCount + d) 1 d d d block.ParameterCount) "layers" "forward"), sprintf "%g > %g" worst bound)

/// Tightness of each constant on a paper-like probe: C = 4 channels on 14×14 Fashion-MNIST states from the fixed stem
/// (the first 20 test images; Gaussian images of the same size when the data set is not installed), GELU, kernels with
/// He-like entries N(0, 1/(9C)), zero biases, θ' − θ and h' − h at 1% of θ and h, Gaussian adjoints.
[<Fact>]
let ``Conv.C*: paper-like probe (Fashion-MNIST stem, GELU) → hold, tightness printed`` () =
    let c, n = 4, 20
    let stem = ConvStem(c, 1L)
    let states =
        try
            let data = ResOdeProofs.Numerics.IO.FashionMnist.Load()
            stem.Apply(ReadOnlySpan(data.TestImages.Data, 0, n * 28 * 28))
        with _ -> stem.Apply(ReadOnlySpan(Array.init (n * 28 * 28) (fun i -> float ((i * 7919) % 256) / 255.0)))
    let block = ConvBlock(c, 14, 14, ActivationKind.Gelu)
    let d, pc = block.StateDim, block.ParameterCount
    let theta = gaussian 11L "theta" pc (1.0 / sqrt (9.0 * float c))
    let struct (_, b1, _, b2) = block.Offsets
    for i in 0 .. c - 1 do
        theta.[b1 + i] <- 0.0
        theta.[b2 + i] <- 0.0
    let thetaB = Array.map2 (fun a e -> a + 0.01 * e) theta (gaussian 11L "dtheta" pc (1.0 / sqrt (9.0 * float c)))
    let hScale = Linalg.norm states / sqrt (float (n * d))
    let statesB = Array.map2 (fun a e -> a + 0.01 * hScale * e) states (gaussian 11L "dh" (n * d) 1.0)
    let probe : ConvBlock.Probe =
        { Block = block; Theta = theta; ThetaB = thetaB; States = states; StatesB = statesB; Adjoints = gaussian 11L "p" (n * d) 1.0; Samples = n }
    for r in ConvBlock.all do
        let e = Result.evaluate r probe
        printfn "%-32s %-8s measured %.4g bound %.4g tightness %s" r.Id (Verdict.label e.Verdict)
            (defaultArg e.Measured nan) (defaultArg e.Bound nan) (match Verdict.tightness e.Verdict with Some t -> sprintf "%.3gx" t | None -> "-")
        Assert.True(Verdict.isHolds e.Verdict, sprintf "%s: %A" r.Id e.Verdict)
    let k = ConvBlock.probeConstants block theta None
    printfn "constants: %A" (ConvBlock.named k)

[<Fact>]
let ``Conv.C4: bias change → attained; bias not broadcast over the pixels → violated`` () =
    // GELU (s0 = 0), K₁ = K₂ = 0, b₁ = 0: f(θ, h) = b̃₂, so f(θ, h) − f(θ', h) = Δb̃₂ with norm √P‖Δb₂‖, and Λ(h) = √P.
    let block = ConvBlock(3, 5, 4, ActivationKind.Gelu)
    let d = block.StateDim
    let theta = Array.zeroCreate block.ParameterCount
    let thetaB = Array.zeroCreate block.ParameterCount
    let struct (_, _, _, b2) = block.Offsets
    thetaB.[b2] <- 0.3
    thetaB.[b2 + 2] <- -0.4
    let probe : ConvBlock.Probe =
        { Block = block; Theta = theta; ThetaB = thetaB; States = gaussian 3L "h" d 1.0; StatesB = Array.zeroCreate d
          Adjoints = Array.zeroCreate d; Samples = 1 }
    let e = Result.evaluate ConvBlock.lipschitzParameters probe
    match e.Verdict with
    | Holds (_, t) -> Assert.InRange(t, 1.0 - 1e-9, 1.0 + 1e-9)
    | v -> failwithf "expected Holds, got %A" v
    // The same constant with the bias entering as ‖Δb‖ rather than √P‖Δb‖ (P = 20): Λ = 1, a √20 underestimate.
    let v = Verdict.compare e.Measured.Value (1.0 * 0.5) (ConvBlock.probeRel probe) "sample 0" "probe"
    Assert.True(Verdict.isViolated v, sprintf "%A" v)
