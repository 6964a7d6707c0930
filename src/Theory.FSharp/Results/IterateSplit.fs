/// The split of consecutive layer gradients (docs/theorems/LemmaChain.md, "L5.split"), computed from the
/// weights of ONE iterate and the data, with nothing read from a producer's trace:
///   G_{k+1} − G_k = [G(Z_{k+1}; h_k, p_{k+1}) − G(Z_k; h_k, p_{k+1})] + E_k,
///   E_k = G(Z_k; h_k, p_{k+1}) − G(Z_k; h_{k−1}, p_k),
/// where G(Z; h, p) is the layer gradient of a layer with weights Z = (W, V) at input states h^i and output
/// adjoints p^i: G^V = Σ_i p^i σ(W h^i)ᵀ, G^W = Σ_i (σ'(W h^i) ⊙ Vᵀp^i) h^{iᵀ}. E_k needs no Δ_k = Z_{k+1} − Z_k and
/// is computed exactly (one extra layer-gradient pass); the bracket is bounded by a_WW‖ΔW_k‖ + a_WV‖ΔV_k‖ (W part)
/// and a_VW‖ΔW_k‖ (V part) with coefficients measured at this iterate.
///
/// The arithmetic runs on the engine's vector kernels, batched over samples (SplitPass in the engine's Verification
/// folder); the property suite keeps an independent scalar implementation and checks this one against it within a
/// rounding allowance. Float64 on flat row-major arrays: states n×d (one row per sample), W_k m×d, V_k d×m.
module ResOdeProofs.Theory.IterateSplit

open System
open ResOdeProofs.Numerics
open ResOdeProofs.Numerics.Model
open ResOdeProofs.Numerics.Verification

/// The fixed inputs of every iterate: shape, activation, embedded inputs h_0 (n×d), targets, read-out B.
type Context =
    { Depth: int; Width: int; Dim: int; Samples: int; OutDim: int
      Activation: ActivationKind
      /// h_0^i = A x_i, n×d
      H0: float[]
      /// y_i, n×d_out
      Y: float[]
      /// B (d_out×d), None for the identity
      B: float[] option }

module Context =
    let ofRun (run: Run) : Context =
        let data = run.Data
        let sh = run.Shape
        let n, dIn, d = data.Data.Count, sh.InputDim, sh.Dim
        let h0 =
            Array.init (n * d) (fun e ->
                let i, r = e / d, e % d
                match data.A with
                | null -> data.Data.X.[i * dIn + r]
                | a ->
                    let mutable acc = 0.0
                    for c in 0 .. dIn - 1 do acc <- acc + a.[r * dIn + c] * data.Data.X.[i * dIn + c]
                    acc)
        { Depth = sh.Depth; Width = sh.Width; Dim = d; Samples = n; OutDim = sh.OutputDim
          Activation = data.Activation; H0 = h0; Y = data.Data.Y
          B = (match data.B with null -> None | b -> Some b) }

/// The quantities of one layer pair (k, k+1), k = 1..L−1, at index k − 1.
type Pair =
    { /// ‖E^W_k‖_F, ‖E^V_k‖_F
      EW: float; EV: float
      /// bracket coefficients (measured at this iterate)
      AWW: float; AWV: float; AVW: float
      /// ‖ΔW_k‖_F, ‖ΔV_k‖_F
      X: float; Y: float
      /// measured ‖G^W_{k+1} − G^W_k‖_F, ‖G^V_{k+1} − G^V_k‖_F
      DGW: float; DGV: float
      /// ingredients of the forcing bound (L5.forcing): ‖P_{k+1}‖_F, ‖P_k‖_F, ‖P_k‖₂ (upper), ‖H_k‖₂ (upper),
      /// ‖H_k − H_{k−1}‖_F, ‖H_k − H_{k−1}‖₂ (upper), ‖σ(W_k H_k)‖₂ (upper), max|V_kᵀp_{k+1}^i|,
      /// sup|σ'|, sup|σ''| on the hull of the entries of W_k h_k and W_k h_{k−1}, max|σ'(W_k h_{k−1})|
      PF1: float; PF: float; PS: float; HS: float; DHF: float; DHS: float; SHatS: float; GHatInf: float
      S1F: float; S2F: float; D1Max: float }

/// Everything one iterate gives: the layer gradients (for the update), the loss, and the pairs.
type Iterate =
    { GW: float[]; GV: float[]; Loss: float; Pairs: Pair[]
      /// E^W_k (m×d) and E^V_k (d×m) of pair k at offset (k − 1)·m·d
      EWm: float[]; EVm: float[] }

/// The buffers of one evaluation, reusable from one iterate to the next (the recursion of A.split evaluates every
/// replayed iterate). An `Iterate` computed in a workspace holds its arrays (GW, GV, EWm, EVm): it is valid until the
/// next evaluation in the same workspace.
type Workspace(c: Context) =
    let pass =
        SplitPass(NetworkShape(c.Depth, c.Width, c.Dim, c.Dim, c.OutDim), c.Activation, c.Samples, c.H0, c.Y,
                  Option.toObj c.B)
    member _.Context = c
    member _.Pass = pass

/// The pair record of pair index i from the pass' quantities; s1, s2 over the ranges the pass measured (over the whole line
/// when a range found no number: states that were not finite, on a replay that left the finite numbers).
let private pairOf (act: ActivationKind) (q: PairQuantities) (i: int) : Pair =
    let smooth = Activations.IsTwiceDifferentiable act
    let s1 = Activations.SupAbsDerivativeMeasured(act, q.Lo.[i], q.Hi.[i])
    let s2 = if smooth then Activations.SupAbsSecondDerivativeMeasured(act, q.Lo.[i], q.Hi.[i]) else nan
    { EW = q.EW.[i]; EV = q.EV.[i]
      AWW = s2 * q.G1Inf.[i] * q.HS.[i] * q.HS.[i]
      AWV = q.D1Hat.[i] * q.PS1.[i] * q.HS.[i]
      AVW = s1 * q.PS1.[i] * q.HS.[i]
      X = q.X.[i]; Y = q.Y.[i]; DGW = q.DGW.[i]; DGV = q.DGV.[i]
      PF1 = q.PF1.[i]; PF = q.PF.[i]; PS = q.PS.[i]; HS = q.HS.[i]
      DHF = q.DHF.[i]; DHS = q.DHS.[i]; SHatS = q.SHatS.[i]; GHatInf = q.GHatInf.[i]
      S1F = Activations.SupAbsDerivativeMeasured(act, q.LoF.[i], q.HiF.[i])
      S2F = (if smooth then Activations.SupAbsSecondDerivativeMeasured(act, q.LoF.[i], q.HiF.[i]) else nan)
      D1Max = q.D1K.[i] }

/// Evaluates one iterate at weights W (L·m·d) and V (L·d·m) in the buffers of `ws`; `withForcing` adds the spectral
/// norms that only the forcing check L5.forcing needs (‖H_k − H_{k−1}‖₂, ‖σ(W_k H_k)‖₂). `given`, when present, is the
/// depth-scaled gradient (G^W, G^V) of these weights already computed by the caller (the evidence replay's pass):
/// the layer gradients are then taken from it instead of being summed again; the states and adjoints are the pass' own.
let evaluateIn (ws: Workspace) (withForcing: bool) (given: (float[] * float[]) option) (w: float[]) (v: float[]) : Iterate =
    let pass = ws.Pass
    let gw, gv =
        match given with
        | Some (gw, gv) ->
            pass.Evaluate(ReadOnlySpan w, ReadOnlySpan v, ReadOnlySpan gw, ReadOnlySpan gv, withForcing)
            gw, gv
        | None ->
            pass.Evaluate(ReadOnlySpan w, ReadOnlySpan v, ReadOnlySpan.Empty, ReadOnlySpan.Empty, withForcing)
            pass.GW, pass.GV
    let q = pass.Pairs
    { GW = gw; GV = gv; Loss = pass.Loss; Pairs = Array.init q.Count (pairOf ws.Context.Activation q); EWm = pass.EW; EVm = pass.EV }

/// `evaluateIn` fresh buffers, summing the layer gradients itself.
let evaluate (c: Context) (withForcing: bool) (w: float[]) (v: float[]) : Iterate = evaluateIn (Workspace c) withForcing None w v

/// The split quantities of an iterate the evidence replay has just evaluated, in the buffers of `ws`, with nothing copied:
/// its weights, its depth-scaled gradient, and the states the engine kept in that evaluation (`stats.Kept`, see
/// `ResNet.Keep`: h_k, p_k and the per-layer ranges, the same numbers the pass would compute) when it kept them; else the
/// pass computes its own states and adjoints. Returns the pairs and E^W, E^V (valid until the next evaluation in `ws`).
let evaluateReplayed (ws: Workspace, w: ReadOnlySpan<float>, v: ReadOnlySpan<float>, gw: ReadOnlySpan<float>, gv: ReadOnlySpan<float>,
                      stats: EvaluationStats) : Pair[] * float[] * float[] =
    let pass = ws.Pass
    match stats.Kept with
    | :? ResNet<float>.KeptStates as kept -> pass.EvaluateKept(w, v, gw, gv, kept, false)
    | _ -> pass.Evaluate(w, v, gw, gv, false)
    let q = pass.Pairs
    // pair by pair in parts (ObserverTeam.For; each record is its pair's own)
    let pairs = Array.zeroCreate q.Count
    ObserverTeam.For(q.Count, ObserverTeam.PartBody(fun from until _ -> for i in from .. until - 1 do pairs.[i] <- pairOf ws.Context.Activation q i))
    pairs, pass.EW, pass.EV
