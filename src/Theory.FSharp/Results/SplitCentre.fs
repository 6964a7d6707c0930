/// The linearised centre of the split recursion with a certified remainder (docs/theorems/DepthSmoothness.md,
/// "A.split.centre.segments"): per pair k, Δ_k = c_k + e_k where the centre c_k follows the Gauss–Legendre linearised step
/// c ← c − η(E_k + M^Q_k c) exactly as computed (`CentrePass`), and the remainder obeys
///   e^{j+1} = (I − ηM̄^j)e^j − η(M̄^j − M^Q^j)c^j + (rounding of the replay's update) − (rounding of the centre's step),
/// so ‖e_W‖, ‖e_V‖ are bounded by ē_W, ē_V with
///   ē_W ← ē_W + η(a_WW ē_W + a_WV ē_V + r_W) + ρ_W + κ_W,   ē_V ← ē_V + η(a_WV ē_W + r_V) + ρ_V + κ_V,
/// r the rule's certified error, ρ the update allowance of the run's precision (Rounding.updateAllowance) and κ the
/// centre's own rounding; the bound of pair k is ((‖c_W‖ + ē_W)² + (‖c_V‖ + ē_V)²)^{1/2}. Run by the recursion of
/// A.split (SplitResults.observe) on the evidence replay's iterates, from the states of the same split pass.
module ResOdeProofs.Theory.SplitCentre

open System
open ResOdeProofs.Numerics
open ResOdeProofs.Numerics.Model
open ResOdeProofs.Numerics.Verification
open ResOdeProofs.Theory

/// σ = GELU: the constants of the rule's error (sup|σ⁽⁷⁾|, sup|σ⁽⁸⁾|) are GELU's.
let hypGelu : string * (Run -> HypothesisCheck) =
    "σ = GELU (the centre's remainder constants)", fun run ->
        match run.Setting.Activation with
        | ActivationKind.Gelu -> Met(sprintf "gelu, sup|σ⁽⁷⁾| ≤ %g, sup|σ⁽⁸⁾| ≤ %g" CentrePass.GeluSup7 CentrePass.GeluSup8)
        | a -> NotMet(sprintf "%s: the remainder of the centre uses sup|σ⁽⁷⁾|, sup|σ⁽⁸⁾|, derived here for GELU only" (Activations.Name a))

/// The centres of every pair and the remainder bounds ē_W, ē_V (index k − 1).
type State =
    { Pass: CentrePass; EW: float[]; EV: float[]; OldW: float[]; OldV: float[]
      Eta: float; Depth: int; LayerSize: int; U: float; Tau: float; Run: Run }

/// A centre for the run, None when σ is not GELU.
let create (run: Run) : State option =
    if run.Setting.Activation <> ActivationKind.Gelu then None
    else
        let sh = run.Shape
        let pairs = max 0 (sh.Depth - 1)
        Some { Pass = CentrePass(sh, ActivationKind.Gelu, run.Data.Data.Count)
               EW = Array.zeroCreate pairs; EV = Array.zeroCreate pairs; OldW = Array.zeroCreate pairs; OldV = Array.zeroCreate pairs
               Eta = run.Setting.Eta; Depth = sh.Depth; LayerSize = sh.LayerSize
               U = Rounding.unitRoundoff run; Tau = Rounding.tolerance run; Run = run }

/// Restarts every centre at the increments of weights W, V; ē starts at the rounding of the subtraction, u‖c‖.
let start (c: State) (w: float[]) (v: float[]) =
    c.Pass.Start(ReadOnlySpan w, ReadOnlySpan v)
    for i in 0 .. c.EW.Length - 1 do
        c.EW.[i] <- c.U * c.Pass.NormCW.[i]
        c.EV.[i] <- c.U * c.Pass.NormCV.[i]

/// max_k ‖X_k‖_F over the L layers of a flat array (layer size md); the callback's spans are not arrays, so
/// `Linalg.frobenius` does not apply.
let private maxLayerNorm (x: ReadOnlySpan<float>) (layers: int) (md: int) =
    let mutable best = 0.0
    for k in 0 .. layers - 1 do
        let mutable s = 0.0
        for e in k * md .. (k + 1) * md - 1 do s <- s + x.[e] * x.[e]
        best <- max best (sqrt s)
    best

/// max_k (‖G^W_k‖² + ‖G^V_k‖²)^{1/2}.
let private maxGradient (gw: ReadOnlySpan<float>) (gv: ReadOnlySpan<float>) (layers: int) (md: int) =
    let mutable best = 0.0
    for k in 0 .. layers - 1 do
        let mutable s = 0.0
        for e in k * md .. (k + 1) * md - 1 do s <- s + gw.[e] * gw.[e] + gv.[e] * gv.[e]
        best <- max best (sqrt s)
    best

/// One gradient-descent step with the iterate the split pass `pass` has just evaluated at weights W, V with gradient G.
let step (c: State, pass: SplitPass, w: ReadOnlySpan<float>, v: ReadOnlySpan<float>, gw: ReadOnlySpan<float>, gv: ReadOnlySpan<float>) =
    let cp = c.Pass
    Array.blit cp.NormCW 0 c.OldW 0 c.OldW.Length
    Array.blit cp.NormCV 0 c.OldV 0 c.OldV.Length
    cp.Step(c.Eta, pass, w, v)
    let eta, u, tau = c.Eta, c.U, c.Tau
    let gmax = maxGradient gw gv c.Depth c.LayerSize
    let stepMax = eta * gmax
    // the replay's update: Z^{j+1} = fl(Z^j − ηĜ^j), ‖Z^{j+1}_k‖ ≤ ‖Z^j_k‖ + η‖Ĝ_k‖
    let rhoW, rhoV =
        Rounding.updateAllowance c.Run (maxLayerNorm w c.Depth c.LayerSize + stepMax) (maxLayerNorm v c.Depth c.LayerSize + stepMax) stepMax
    for i in 0 .. c.EW.Length - 1 do
        let aww, awv = cp.AWW.[i], cp.AWV.[i]
        // the centre's rounding: storing c (u‖c‖), the product η·step (u·η‖E + M^Q c‖), the computed E against the exact
        // one (τ(‖Ĝ‖ + ‖G_k‖) ≤ τ(‖E‖ + 2 max_k‖G_k‖)) and the computed M^Q c (τ times the bracket bound of c)
        let kW = u * cp.NormCW.[i] + u * eta * cp.StepW.[i] + tau * eta * (cp.ForcingW.[i] + 2.0 * gmax) + tau * eta * (aww * c.OldW.[i] + awv * c.OldV.[i])
        let kV = u * cp.NormCV.[i] + u * eta * cp.StepV.[i] + tau * eta * (cp.ForcingV.[i] + 2.0 * gmax) + tau * eta * (awv * c.OldW.[i])
        let ew, ev = c.EW.[i], c.EV.[i]
        c.EW.[i] <- ew + eta * (aww * ew + awv * ev + cp.RW.[i]) + rhoW + kW
        c.EV.[i] <- ev + eta * (awv * ew + cp.RV.[i]) + rhoV + kV

/// The bound of pair k (index i = k − 1), ((‖c_W‖ + ē_W)² + (‖c_V‖ + ē_V)²)^{1/2}.
let private pairBound (c: State) i =
    let bw = c.Pass.NormCW.[i] + c.EW.[i]
    let bv = c.Pass.NormCV.[i] + c.EV.[i]
    sqrt (bw * bw + bv * bv)

/// The bound of every pair.
let pairBounds (c: State) = Array.init c.EW.Length (pairBound c)

/// max over pairs of the pair bounds (per iterate: no array).
let bound (c: State) =
    let mutable best = 0.0
    for i in 0 .. c.EW.Length - 1 do best <- max best (pairBound c i)
    best

/// max over pairs of ē/‖c‖ (how much of the bound is the certified remainder).
let remainderShare (c: State) =
    Array.init c.EW.Length (fun i ->
        let nc = sqrt (c.Pass.NormCW.[i] ** 2.0 + c.Pass.NormCV.[i] ** 2.0)
        if nc > 0.0 then sqrt (c.EW.[i] ** 2.0 + c.EV.[i] ** 2.0) / nc else 0.0)
    |> Array.fold max 0.0
