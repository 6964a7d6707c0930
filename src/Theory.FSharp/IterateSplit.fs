/// The split of consecutive layer gradients (docs/theorems/LemmaChain.md, "L5.split"), computed from the
/// weights of ONE iterate and the data, with nothing read from a producer's trace:
///   G_{k+1} − G_k = [G(Z_{k+1}; h_k, p_{k+1}) − G(Z_k; h_k, p_{k+1})] + E_k,
///   E_k = G(Z_k; h_k, p_{k+1}) − G(Z_k; h_{k−1}, p_k),
/// where G(Z; h, p) is the layer gradient of a layer with weights Z = (W, V) at input states h^i and output
/// adjoints p^i: G^V = Σ_i p^i σ(W h^i)ᵀ, G^W = Σ_i (σ'(W h^i) ⊙ Vᵀp^i) h^{iᵀ}. E_k needs no Δ_k = Z_{k+1} − Z_k and
/// is computed exactly (one extra layer-gradient pass); the bracket is bounded by a_WW‖ΔW_k‖ + a_WV‖ΔV_k‖ (W part)
/// and a_VW‖ΔW_k‖ (V part) with coefficients measured at this iterate.
///
/// Everything is plain float64 on flat row-major arrays: states n×d (one row per sample), pre-activations n×m,
/// W_k m×d, V_k d×m.
module ResOdeProofs.Theory.IterateSplit

open System
open ResOdeProofs.Numerics

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

let inline private dot (a: float[]) (ao: int) (b: float[]) (bo: int) (len: int) =
    let mutable acc = 0.0
    let mutable i = 0
    let w = Numerics.Vector<float>.Count
    if len >= w then
        let mutable va = Numerics.Vector<float>.Zero
        while i + w <= len do
            va <- va + Numerics.Vector<float>(a, ao + i) * Numerics.Vector<float>(b, bo + i)
            i <- i + w
        acc <- Numerics.Vector.Dot(va, Numerics.Vector<float>.One)
    while i < len do
        acc <- acc + a.[ao + i] * b.[bo + i]
        i <- i + 1
    acc

let inline private axpy (alpha: float) (x: float[]) (xo: int) (y: float[]) (yo: int) (len: int) =
    for i in 0 .. len - 1 do y.[yo + i] <- y.[yo + i] + alpha * x.[xo + i]

let private transpose (a: float[]) (ao: int) (rows: int) (cols: int) =
    let t = Array.zeroCreate (rows * cols)
    for r in 0 .. rows - 1 do
        for c in 0 .. cols - 1 do t.[c * rows + r] <- a.[ao + r * cols + c]
    t

/// An upper value of the spectral norm of an n×d row-major matrix X: with the Gram matrix G of the smaller side
/// (XᵀX, or XXᵀ when n < d), λ_max(G) ≤ (tr G^{2^q})^{1/2^q} ≤ r^{1/2^q} λ_max(G) (r = min(n, d)); q = 6 gives at most
/// r^{1/128} above ‖X‖₂ (2.2% for r = 16). Computed on G/tr G with renormalized squarings; relative rounding ≤ 1e-12
/// allowed for.
let specUpper (x: float[]) (n: int) (d: int) =
    let r = min n d
    // rows of the smaller Gram matrix as contiguous vectors: the columns of X (d ≤ n) or its rows (n < d)
    let rows, len =
        if d <= n then transpose x 0 n d, n
        else x, d
    let g = Array.zeroCreate (r * r)
    for a in 0 .. r - 1 do
        for b in a .. r - 1 do
            let v = dot rows (a * len) rows (b * len) len
            g.[a * r + b] <- v
            g.[b * r + a] <- v
    let mutable tr = 0.0
    for a in 0 .. r - 1 do tr <- tr + g.[a * r + a]
    if tr <= 0.0 then 0.0
    else
        let mutable a = Array.map (fun v -> v / tr) g
        // a_q = a_0^{2^q}/C_q with tr a_q = 1, so tr a_0^{2^q} = C_q and λ_max(a_0) ≤ C_q^{1/2^q}
        // (a is symmetric, so (a²)_{ic} is the dot product of rows i and c)
        let mutable logC = 0.0
        let mutable p = 1.0
        for _ in 1 .. 6 do
            let b = Array.zeroCreate (r * r)
            for i in 0 .. r - 1 do
                for c in i .. r - 1 do
                    let v = dot a (i * r) a (c * r) r
                    b.[i * r + c] <- v
                    b.[c * r + i] <- v
            let mutable t = 0.0
            for i in 0 .. r - 1 do t <- t + b.[i * r + i]
            p <- 2.0 * p
            logC <- 2.0 * logC + log t
            for e in 0 .. b.Length - 1 do b.[e] <- b.[e] / t
            a <- b
        sqrt (tr * exp (logC / p) * (1.0 + 1e-12))

let private fro (x: float[]) = sqrt (Array.sumBy (fun v -> v * v) x)

/// Evaluates one iterate at weights W (L·m·d) and V (L·d·m); `withForcing` adds the spectral norms that only the
/// forcing check L5.forcing needs (‖H_k − H_{k−1}‖₂, ‖σ(W_k H_k)‖₂).
let evaluate (c: Context) (withForcing: bool) (w: float[]) (v: float[]) : Iterate =
    let L, m, d, n = c.Depth, c.Width, c.Dim, c.Samples
    let md = m * d
    let fL = float L
    let act = c.Activation
    let smooth = Activations.IsTwiceDifferentiable act
    let h = Array.zeroCreate (L + 1)
    let u = Array.zeroCreate (L + 1)
    let sg = Array.zeroCreate (L + 1)
    let sd = Array.zeroCreate (L + 1) // σ'(u_k)
    h.[0] <- c.H0
    let vt = Array.init L (fun k -> transpose v (k * md) d m) // V_kᵀ, m×d
    let wt = Array.init L (fun k -> transpose w (k * md) m d) // W_kᵀ, d×m
    for k in 1 .. L do
        let wo = (k - 1) * md
        let hp = h.[k - 1]
        let uk = Array.zeroCreate (n * m)
        let sk = Array.zeroCreate (n * m)
        let dk = Array.zeroCreate (n * m)
        for i in 0 .. n - 1 do
            for j in 0 .. m - 1 do uk.[i * m + j] <- dot w (wo + j * d) hp (i * d) d
        Activations.Evaluate(act, ReadOnlySpan uk, Span sk, Span dk)
        sd.[k] <- dk
        let hn = Array.copy hp
        for i in 0 .. n - 1 do
            for r in 0 .. d - 1 do
                hn.[i * d + r] <- hn.[i * d + r] + dot sk (i * m) v (wo + r * m) m / fL
        u.[k] <- uk
        sg.[k] <- sk
        h.[k] <- hn
    // loss and terminal adjoint
    let dOut = c.OutDim
    let p = Array.zeroCreate (L + 1)
    let pl = Array.zeroCreate (n * d)
    let mutable loss = 0.0
    for i in 0 .. n - 1 do
        let res = Array.init dOut (fun o ->
            (match c.B with None -> h.[L].[i * d + o] | Some b -> dot b (o * d) h.[L] (i * d) d) - c.Y.[i * dOut + o])
        loss <- loss + Array.sumBy (fun x -> x * x) res
        for col in 0 .. d - 1 do
            pl.[i * d + col] <-
                2.0 / float n * (match c.B with None -> res.[col] | Some b -> Seq.sum (seq { for o in 0 .. dOut - 1 -> b.[o * d + col] * res.[o] }))
    p.[L] <- pl
    let gw = Array.zeroCreate (L * md)
    let gv = Array.zeroCreate (L * md)
    let gk = Array.zeroCreate (L + 1) // g_k = V_kᵀ p_k per sample, n×m
    for k in L .. -1 .. 1 do
        let wo = (k - 1) * md
        let pk = p.[k]
        let g = Array.zeroCreate (n * m)
        let q = Array.zeroCreate (n * m)
        for i in 0 .. n - 1 do
            for j in 0 .. m - 1 do
                let x = dot pk (i * d) vt.[k - 1] (j * d) d
                g.[i * m + j] <- x
                q.[i * m + j] <- sd.[k].[i * m + j] * x
        for i in 0 .. n - 1 do
            for r in 0 .. d - 1 do axpy pk.[i * d + r] sg.[k] (i * m) gv (wo + r * m) m
            for j in 0 .. m - 1 do axpy q.[i * m + j] h.[k - 1] (i * d) gw (wo + j * d) d
        let pn = Array.copy pk
        for i in 0 .. n - 1 do
            for col in 0 .. d - 1 do
                pn.[i * d + col] <- pn.[i * d + col] + dot q (i * m) wt.[k - 1] (col * m) m / fL
        p.[k - 1] <- pn
        gk.[k] <- g
    // the extra pass: G(Z_k; h_k, p_{k+1}) for k = 1..L−1
    let ewm = Array.zeroCreate (max 0 (L - 1) * md)
    let evm = Array.zeroCreate (max 0 (L - 1) * md)
    let hs = Array.init (L + 1) (fun k -> specUpper h.[k] n d)
    let ps = Array.init (L + 1) (fun k -> specUpper p.[k] n d)
    let pairs =
        Array.init (max 0 (L - 1)) (fun k0 ->
            let k = k0 + 1
            let wo, wo1 = (k - 1) * md, k * md
            let hk, p1 = h.[k], p.[k + 1]
            let uh = Array.zeroCreate (n * m)
            let sh = Array.zeroCreate (n * m)
            let dhs = Array.zeroCreate (n * m)
            let mutable lo, hi = infinity, -infinity
            let mutable loF, hiF = infinity, -infinity
            let mutable d1max, d1maxK, ghat = 0.0, 0.0, 0.0
            let eo = (k - 1) * md
            for i in 0 .. n - 1 do
                for j in 0 .. m - 1 do uh.[i * m + j] <- dot w (wo + j * d) hk (i * d) d
            Activations.Evaluate(act, ReadOnlySpan uh, Span sh, Span dhs)
            for i in 0 .. n - 1 do
                for j in 0 .. m - 1 do
                    let x = uh.[i * m + j]
                    let u1 = u.[k + 1].[i * m + j]
                    let u0 = u.[k].[i * m + j]
                    lo <- min lo (min x u1); hi <- max hi (max x u1)
                    loF <- min loF (min x u0); hiF <- max hiF (max x u0)
                    let dh = dhs.[i * m + j]
                    d1max <- max d1max (abs dh)
                    d1maxK <- max d1maxK (abs sd.[k].[i * m + j])
                    let gh = dot p1 (i * d) vt.[k - 1] (j * d) d
                    ghat <- max ghat (abs gh)
                    // Ĝ^W row j += (σ'(û) ĝ) h_kᵀ
                    axpy (dh * gh) hk (i * d) ewm (eo + j * d) d
                for r in 0 .. d - 1 do axpy p1.[i * d + r] sh (i * m) evm (eo + r * m) m
            for e in 0 .. md - 1 do
                ewm.[eo + e] <- ewm.[eo + e] - gw.[wo + e]
                evm.[eo + e] <- evm.[eo + e] - gv.[wo + e]
            let s1 = Activations.SupAbsDerivative(act, lo, hi)
            let s2 = if smooth then Activations.SupAbsSecondDerivative(act, lo, hi) else nan
            let g1inf = gk.[k + 1] |> Array.fold (fun a x -> max a (abs x)) 0.0
            let dh = Array.map2 (-) h.[k] h.[k - 1]
            { EW = Linalg.frobenius ewm eo md; EV = Linalg.frobenius evm eo md
              AWW = s2 * g1inf * hs.[k] * hs.[k]
              AWV = d1max * ps.[k + 1] * hs.[k]
              AVW = s1 * ps.[k + 1] * hs.[k]
              X = Linalg.frobeniusDiff w wo1 w wo md; Y = Linalg.frobeniusDiff v wo1 v wo md
              DGW = Linalg.frobeniusDiff gw wo1 gw wo md; DGV = Linalg.frobeniusDiff gv wo1 gv wo md
              PF1 = fro p1; PF = fro p.[k]; PS = ps.[k]; HS = hs.[k]
              DHF = fro dh; DHS = (if withForcing then specUpper dh n d else nan)
              SHatS = (if withForcing then specUpper sh n m else nan); GHatInf = ghat
              S1F = Activations.SupAbsDerivative(act, loF, hiF)
              S2F = (if smooth then Activations.SupAbsSecondDerivative(act, loF, hiF) else nan)
              D1Max = d1maxK })
    { GW = gw; GV = gv; Loss = loss / float n; Pairs = pairs; EWm = ewm; EVm = evm }
