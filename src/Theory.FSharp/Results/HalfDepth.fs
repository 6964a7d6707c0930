/// B.half and B.half.ode (docs/theorems/HalfDepth.md): a residual network h_{k+1} = h_k + (1/L) f_k(h_k) against the
/// network of its even layers at step 2/L, g_{j+1} = g_j + (2/L) f_{2j}(g_j). Evaluated on the trained convolutional
/// network of the real-data experiment with batch norm folded into its convolutions (f_k the conv block), but stated
/// for any residual map with per-layer Lipschitz constants κ_k in the state.
///
/// B.half (any weights): with e_j = h_{2j} − g_j,
///   e_{j+1} = e_j + (2/L)[f_{2j}(h_{2j}) − f_{2j}(g_j)] + (1/L)[f_{2j+1}(h_{2j+1}) − f_{2j}(h_{2j})],
/// so ‖h_L − g_{L/2}‖ ≤ E_{L/2}, E_{j+1} = (1 + 2κ_{2j}/L) E_j + τ_j/L, τ_j = ‖f_{2j+1}(h_{2j+1}) − f_{2j}(h_{2j})‖.
/// B.half.ode: τ_j ≤ κ_{2j+1}‖f_{2j}(h_{2j})‖/L + D_j, D_j = ‖f_{2j+1}(h_{2j}) − f_{2j}(h_{2j})‖, hence
///   ‖h_L − g_{L/2}‖ ≤ C/L,  C = e^κ̄ (κ̄ F̄ + L·max_j D_j)/2,
/// which is O(1/L) exactly when L·max_j D_j stays bounded, i.e. when the layers are smooth in depth (hypothesis).
module ResOdeProofs.Theory.HalfDepth

open System
open ResOdeProofs.Numerics.Blocks
open ResOdeProofs.Numerics.BnConv
open ResOdeProofs.Theory.Comparison

let private doc = "docs/theorems/HalfDepth.md"

/// A folded network and the inputs it is evaluated on.
type HalfDepthInput =
    { /// what it was evaluated on (the run directory, with a note)
      Name: string
      Block: ConvBlock
      /// θ of every layer, L·P, the conv block's order (K₁, b₁, K₂, b₂)
      Theta: float[]
      Depth: int
      /// h₀ of n samples, n × d
      H0: float[]
      Samples: int
      /// test only: the half network's step is stride·scale/L (1 is the statement's); any other value is a fault
      HalfStepScale: float }

/// Everything the two results compare, per sample.
type HalfDepthCheck =
    { /// ‖h_L^i − g_{L/2}^i‖
      Measured: float[]
      /// E_{L/2}^i
      Recursion: float[]
      /// C/L (the same for every sample)
      OdeBound: float
      /// rounding allowance per sample (see the page)
      Rounding: float[]
      KappaMax: float
      FMax: float
      /// L·max_j D_j
      DepthTerm: float
      /// ρ = L·max_k‖θ_{k+1} − θ_k‖ / max_k‖θ_k‖
      Rho: float
      HMax: float }

let private norm (a: float[]) (o: int) (d: int) =
    let mutable s = 0.0
    for i in o .. o + d - 1 do s <- s + a.[i] * a.[i]
    sqrt s

let private diff (a: float[]) (oa: int) (b: float[]) (ob: int) (d: int) =
    let mutable s = 0.0
    for i in 0 .. d - 1 do
        let x = a.[oa + i] - b.[ob + i]
        s <- s + x * x
    sqrt s

/// Computes every quantity of the two results (float64, the folded network).
let compute (x: HalfDepthInput) : HalfDepthCheck =
    let block, L, n = x.Block, x.Depth, x.Samples
    let d, P = block.StateDim, block.ParameterCount
    let th = x.Theta
    let full = BnConvFolded.Forward(block, ReadOnlySpan th, L, ReadOnlySpan x.H0, n, 1, 1.0)
    let half = BnConvFolded.Forward(block, ReadOnlySpan th, L, ReadOnlySpan x.H0, n, 2, x.HalfStepScale)
    let consts = ResOdeProofs.Numerics.Activations.Constants block.Activation
    let kl = block.KernelLength
    let c = block.Channels
    let kappa =
        Array.init L (fun k ->
            let o = k * P
            consts.S1 * block.OperatorNormBound(2, ReadOnlySpan(th, o + kl + c, kl)) * block.OperatorNormBound(0, ReadOnlySpan(th, o, kl)))
    let cache = Array.zeroCreate (block.CacheSize n)
    let eval k (h: float[]) =
        let f = Array.zeroCreate (n * d)
        BlockCalls.Forward(block, th, k * P, h, 0, f, cache, n)
        f
    let fL = float L
    let e = Array.zeroCreate n
    let mutable fMax = 0.0
    let mutable dMax = 0.0
    for j in 0 .. L / 2 - 1 do
        let h0, h1 = full.[2 * j], full.[2 * j + 1]
        let f0 = eval (2 * j) h0
        let f1 = eval (2 * j + 1) h1
        let f1at0 = eval (2 * j + 1) h0
        for i in 0 .. n - 1 do
            let tau = diff f1 (i * d) f0 (i * d) d
            e.[i] <- (1.0 + 2.0 * kappa.[2 * j] / fL) * e.[i] + tau / fL
            fMax <- max fMax (max (norm f0 (i * d) d) (norm f1 (i * d) d))
            dMax <- max dMax (diff f1at0 (i * d) f0 (i * d) d)
    let kMax = Comparison.maxKeepNaN kappa
    let hMax = full |> Array.map (fun h -> Seq.init n (fun i -> norm h (i * d) d) |> Comparison.maxKeepNaN) |> Comparison.maxKeepNaN
    let thetaMax = Seq.init L (fun k -> norm th (k * P) P) |> Comparison.maxKeepNaN
    let incMax = Seq.init (L - 1) (fun k -> diff th ((k + 1) * P) th (k * P) P) |> Comparison.maxKeepNaNOr 0.0
    // Rounding: each of the L + L/2 updates h + s·f rounds every entry (relative u), and f itself is a sum of at most
    // 9C + 1 products per convolution output: a forward error of at most γ_m (‖h‖ + F̂) per update with m = 2(9C + 1) + 1,
    // propagated through the remaining layers by at most e^κ̄ (as the recursion itself), for both networks.
    // F̂ bounds the norm of |K₂'|·|σ(K₁'h + b₁')| + |b₂'| entrywise (|conv_K| ≤ 3‖K‖_F, |σ(u)| ≤ s0 + s1|u|), the scale of
    // the rounding errors of f.
    let plane = float (block.Height * block.Width)
    let fHat =
        Seq.init L (fun k ->
            let o = k * P
            let fro off = norm th (o + off) kl
            3.0 * fro (kl + c) * (consts.S0 * sqrt (float d) + consts.S1 * (3.0 * fro 0 * hMax + sqrt plane * norm th (o + kl) c))
            + sqrt plane * norm th (o + 2 * kl + c) c)
        |> Comparison.maxKeepNaN
    let gamma = Rounding.gamma64 (2 * (9 * c + 1) + 1)
    let rounding = 2.0 * Portable.exp kMax * 1.5 * fL * gamma * (hMax + fHat)
    { Measured = Array.init n (fun i -> diff full.[L] (i * d) half.[L / 2] (i * d) d)
      Recursion = e
      OdeBound = Portable.exp kMax * (kMax * fMax + fL * dMax) / (2.0 * fL)
      Rounding = Array.create n rounding
      KappaMax = kMax
      FMax = fMax
      DepthTerm = fL * dMax
      Rho = (if thetaMax > 0.0 then fL * incMax / thetaMax else 0.0)
      HMax = hMax }

let private cacheTable = Runtime.CompilerServices.ConditionalWeakTable<HalfDepthInput, HalfDepthCheck>()
let private checkOf (x: HalfDepthInput) = cacheTable.GetValue(x, fun x -> compute x)

let hypEvenDepth : string * (HalfDepthInput -> HypothesisCheck) =
    "even depth L >= 2", fun x -> if x.Depth >= 2 && x.Depth % 2 = 0 then Met(sprintf "L = %d" x.Depth) else NotMet(sprintf "L = %d: every second layer needs an even depth" x.Depth)

let hypFinite : string * (HalfDepthInput -> HypothesisCheck) =
    "finite parameters and states", fun x ->
        if Array.forall Double.IsFinite x.Theta && Array.forall Double.IsFinite x.H0 then Met "every entry" else NotMet "non-finite parameters or inputs"

/// The stated smoothness criterion of Table 1 (sweep table1), on the folded layers.
let hypSmooth : string * (HalfDepthInput -> HypothesisCheck) =
    "layers smooth in depth: rho = L max_k |theta_k+1 - theta_k| / max_k |theta_k| <= sqrt L", fun x ->
        // the check's pass (which measures rho) needs the two hypotheses before this one: not evaluated without them
        let isMet h = match snd h x with | Met _ -> true | NotMet _ -> false
        if not (isMet hypEvenDepth && isMet hypFinite) then
            NotMet "not evaluated: it needs an even depth L >= 2 and finite parameters (the hypotheses above)"
        else
            let r = (checkOf x).Rho
            if r <= sqrt (float x.Depth) then Met(sprintf "rho = %.4g <= sqrt L = %.4g" r (sqrt (float x.Depth)))
            else NotMet(sprintf "rho = %.4g > sqrt L = %.4g: the layers are not a discretization of a smooth function of depth, so no O(1/L) is claimed" r (sqrt (float x.Depth)))

let private checks (x: HalfDepthInput) (bound: int -> float) =
    let c = checkOf x
    seq { for i in 0 .. x.Samples - 1 -> { Measured = c.Measured.[i]; Bound = bound i + c.Rounding.[i]; Where = sprintf "sample i = %d" i; When = "trained network, batch norm folded" } }

let private constants (c: HalfDepthCheck) (L: int) =
    [ "kappa max (s1 |K2'|op |K1'|op)", c.KappaMax
      "F max (|f_k(h_k)|)", c.FMax
      "L max_j D_j (depth term)", c.DepthTerm
      "rho (folded layers)", c.Rho
      "C = e^kappa (kappa F + L max D)/2", c.OdeBound * float L
      "L * max_i measured", float L * Comparison.maxKeepNaN c.Measured
      "rounding allowance", c.Rounding.[0] ]

/// (B.half) the layer-wise bound, any weights.
let halfRecursion : Result<HalfDepthInput> =
    { Id = "B.half"
      Title = "Every second layer at step 2/L: layer-wise bound on the change of the output state"
      Source = "derived here (docs/theorems/HalfDepth.md)"
      Provenance = ProvedHere
      Doc = doc
      Statement =
        "With h_{k+1} = h_k + f_k(h_k)/L and g_{j+1} = g_j + 2 f_{2j}(g_j)/L, g_0 = h_0: |h_L - g_{L/2}| <= E_{L/2}, "
        + "E_{j+1} = (1 + 2 kappa_{2j}/L) E_j + |f_{2j+1}(h_{2j+1}) - f_{2j}(h_{2j})|/L, kappa_k >= Lip_h f_k."
      Hypotheses = [ hypEvenDepth; hypFinite ]
      Conclusion =
        fun x ->
            let c = checkOf x
            evaluation 0.0 (checks x (fun i -> c.Recursion.[i])) (constants c x.Depth) [ Evaluation.AnyWeights ] }

/// (B.half.ode) the O(1/L) reading, for layers smooth in depth.
let halfOde : Result<HalfDepthInput> =
    { Id = "B.half.ode"
      Title = "Every second layer at step 2/L changes the output by C/L when the layers are smooth in depth"
      Source = "derived here (docs/theorems/HalfDepth.md); the functional form of the paper's neural-ODE limit (§3, Table 1)"
      Provenance = ProvedHere
      Doc = doc
      Statement =
        "For layers smooth in depth (the Table 1 criterion rho <= sqrt L): |h_L - g_{L/2}| <= C/L with C = e^kappa (kappa F + L max_j D_j)/2, "
        + "D_j = |f_{2j+1}(h_{2j}) - f_{2j}(h_{2j})|; C stays bounded in L exactly when L max_j D_j does."
      Hypotheses = [ hypEvenDepth; hypFinite; hypSmooth ]
      Conclusion =
        fun x ->
            let c = checkOf x
            evaluation 0.0 (checks x (fun _ -> c.OdeBound)) (constants c x.Depth) [] }

let all : Result<HalfDepthInput> list = [ halfRecursion; halfOde ]
