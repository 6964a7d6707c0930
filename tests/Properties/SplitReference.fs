/// The independent scalar reference of the split quantities (docs/theorems/LemmaChain.md, "L5.split"): plain loops
/// over samples, one inner product at a time, with its own forward and backward pass. Kept only here, to check the
/// verifier's pass on the engine's kernels (IterateSplit, SplitPass) against it.
module ResOdeProofs.Properties.SplitReference

open System
open System.Runtime.CompilerServices
open ResOdeProofs.Numerics
open ResOdeProofs.Theory
open ResOdeProofs.Theory.IterateSplit

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
    // y += alpha·x entry by entry (one product and one sum per entry, as in the scalar loop), in vector lanes
    let w = Numerics.Vector<float>.Count
    let va = Numerics.Vector<float>(alpha)
    let mutable i = 0
    while i + w <= len do
        (Numerics.Vector<float>(y, yo + i) + va * Numerics.Vector<float>(x, xo + i)).CopyTo(y, yo + i)
        i <- i + w
    while i < len do
        y.[yo + i] <- y.[yo + i] + alpha * x.[xo + i]
        i <- i + 1

let private transposeInto (t: float[]) (a: float[]) (ao: int) (rows: int) (cols: int) =
    for r in 0 .. rows - 1 do
        for c in 0 .. cols - 1 do t.[c * rows + r] <- a.[ao + r * cols + c]
    t

let private transpose (a: float[]) (ao: int) (rows: int) (cols: int) = transposeInto (Array.zeroCreate (rows * cols)) a ao rows cols

/// An upper value of the spectral norm of an n×d row-major matrix X: with the Gram matrix G of the smaller side
/// (XᵀX, or XXᵀ when n < d), λ_max(G) ≤ (tr G^{2^q})^{1/2^q} ≤ r^{1/2^q} λ_max(G) (r = min(n, d)); q = 6 gives at most
/// r^{1/128} above ‖X‖₂ (2.2% for r = 16). Computed on G/tr G with squarings scaled by powers of two; raised by the same derived
/// rounding factor as the engine's (SplitPass.SpectralUpperRounding: the stated quantity, docs/theorems/LemmaChain.md,
/// "Rounding of the spectral upper value"; this loop's Gram matrix and squares are symmetric by construction).
[<MethodImpl(MethodImplOptions.AggressiveOptimization)>]
let private specUpperWith (scratch: float[]) (x: float[]) (n: int) (d: int) =
    let r = min n d
    // rows of the smaller Gram matrix as contiguous vectors: the columns of X (d ≤ n) or its rows (n < d)
    let rows, len =
        if d <= n then transposeInto scratch x 0 n d, n
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
        // a_{q+1} = a_q²/s_q with s_q the power of two at or below tr a_q² (exact), five times; the sixth square's trace is
        // Σ a_ij² of the symmetric fifth: tr a_0^64 = Π s_q^{2^{5−q}} · Σ a_ij², λ_max(a_0) ≤ (that)^{1/64}
        // (a is symmetric, so (a²)_{ic} is the dot product of rows i and c)
        let mutable logC = 0.0
        let mutable p = 1.0
        for _ in 1 .. 5 do
            let b = Array.zeroCreate (r * r)
            for i in 0 .. r - 1 do
                for c in i .. r - 1 do
                    let v = dot a (i * r) a (c * r) r
                    b.[i * r + c] <- v
                    b.[c * r + i] <- v
            let mutable t = 0.0
            for i in 0 .. r - 1 do t <- t + b.[i * r + i]
            let e = System.Math.ILogB t
            p <- 2.0 * p
            logC <- 2.0 * logC + log (System.Math.ScaleB(1.0, e))
            let s = System.Math.ScaleB(1.0, -e)
            for j in 0 .. b.Length - 1 do b.[j] <- b.[j] * s
            a <- b
        p <- 2.0 * p
        logC <- 2.0 * logC + log (Array.sumBy (fun v -> v * v) a)
        sqrt (tr * exp (logC / p) * ResOdeProofs.Numerics.Verification.SplitPass.SpectralUpperRounding(n, d))

let specUpper (x: float[]) (n: int) (d: int) = specUpperWith (Array.zeroCreate (n * d)) x n d

let private fro (x: float[]) = sqrt (Array.sumBy (fun v -> v * v) x)

/// The buffers of one evaluation, reusable from one iterate to the next: the recursion of A.split evaluates every
/// replayed iterate, and allocating ≈ (L + 1)·n·(5m + 3d) fresh entries each time (zeroing and page faults) cost
/// about as much as the arithmetic. An `Iterate` computed in a workspace holds its arrays (GW, GV, EWm, EVm): it is
/// valid until the next evaluation in the same workspace.
type Workspace(c: Context) =
    let L, m, d, n = c.Depth, c.Width, c.Dim, c.Samples
    let md = m * d
    let vecs count len : float[][] = Array.init count (fun _ -> Array.zeroCreate len)
    let h = vecs (L + 1) (n * d)
    do Array.blit c.H0 0 h.[0] 0 (n * d)
    member _.Context = c
    /// h_k, p_k (n×d), k = 0..L
    member val H = h
    member val P = vecs (L + 1) (n * d)
    /// u_k, σ(u_k), σ'(u_k), g_k = V_kᵀp_k (n×m), k = 1..L (index 0 unused)
    member val U = vecs (L + 1) (n * m)
    member val Sg = vecs (L + 1) (n * m)
    member val Sd = vecs (L + 1) (n * m)
    member val Gk = vecs (L + 1) (n * m)
    /// V_kᵀ (m×d) and W_kᵀ (d×m)
    member val Vt = vecs L md
    member val Wt = vecs L md
    /// temporaries of one layer: q (n×m); û, σ(û), σ'(û) (n×m); h_k − h_{k−1} (n×d); the transposes of specUpper
    member val Q : float[] = Array.zeroCreate (n * m)
    member val Uh : float[] = Array.zeroCreate (n * m)
    member val Sh : float[] = Array.zeroCreate (n * m)
    member val Dhs : float[] = Array.zeroCreate (n * m)
    member val Dh : float[] = Array.zeroCreate (n * d)
    member val Scratch : float[] = Array.zeroCreate (n * max d m)
    /// the layer gradients when summed here, and E^W, E^V of the pairs
    member val GW : float[] = Array.zeroCreate (L * md)
    member val GV : float[] = Array.zeroCreate (L * md)
    member val EW : float[] = Array.zeroCreate (max 0 (L - 1) * md)
    member val EV : float[] = Array.zeroCreate (max 0 (L - 1) * md)

/// Evaluates one iterate at weights W (L·m·d) and V (L·d·m) in the buffers of `ws`; `withForcing` adds the spectral
/// norms that only the forcing check L5.forcing needs (‖H_k − H_{k−1}‖₂, ‖σ(W_k H_k)‖₂). `given`, when present, is the
/// depth-scaled gradient (G^W, G^V) of these weights already computed by the caller (the evidence replay's pass):
/// the layer gradients are then taken from it instead of being summed again here; the states and adjoints are
/// still this function's own.
[<MethodImpl(MethodImplOptions.AggressiveOptimization)>]
let evaluateIn (ws: Workspace) (withForcing: bool) (given: (float[] * float[]) option) (w: float[]) (v: float[]) : Iterate =
    let c = ws.Context
    let L, m, d, n = c.Depth, c.Width, c.Dim, c.Samples
    let md = m * d
    let fL = float L
    let act = c.Activation
    let smooth = Activations.IsTwiceDifferentiable act
    let h, u, sg, sd = ws.H, ws.U, ws.Sg, ws.Sd // σ'(u_k) in sd
    let vt = ws.Vt // V_kᵀ, m×d
    let wt = ws.Wt // W_kᵀ, d×m
    for k in 0 .. L - 1 do
        transposeInto vt.[k] v (k * md) d m |> ignore
        transposeInto wt.[k] w (k * md) m d |> ignore
    for k in 1 .. L do
        let wo = (k - 1) * md
        let hp = h.[k - 1]
        let uk, sk, dk = u.[k], sg.[k], sd.[k]
        for i in 0 .. n - 1 do
            for j in 0 .. m - 1 do uk.[i * m + j] <- dot w (wo + j * d) hp (i * d) d
        Activations.Evaluate(act, ReadOnlySpan uk, Span sk, Span dk)
        let hn = h.[k]
        Array.blit hp 0 hn 0 hp.Length
        for i in 0 .. n - 1 do
            for r in 0 .. d - 1 do
                hn.[i * d + r] <- hn.[i * d + r] + dot sk (i * m) v (wo + r * m) m / fL
    // loss and terminal adjoint
    let dOut = c.OutDim
    let p = ws.P
    let pl = p.[L]
    let mutable loss = 0.0
    for i in 0 .. n - 1 do
        let res = Array.init dOut (fun o ->
            (match c.B with None -> h.[L].[i * d + o] | Some b -> dot b (o * d) h.[L] (i * d) d) - c.Y.[i * dOut + o])
        loss <- loss + Array.sumBy (fun x -> x * x) res
        for col in 0 .. d - 1 do
            pl.[i * d + col] <-
                2.0 / float n * (match c.B with None -> res.[col] | Some b -> Seq.sum (seq { for o in 0 .. dOut - 1 -> b.[o * d + col] * res.[o] }))
    let sumGradient = given.IsNone
    let gw, gv =
        match given with
        | Some (gw, gv) -> gw, gv
        | None ->
            Array.Clear ws.GW
            Array.Clear ws.GV
            ws.GW, ws.GV
    let gk = ws.Gk // g_k = V_kᵀ p_k per sample, n×m
    let q = ws.Q
    for k in L .. -1 .. 1 do
        let wo = (k - 1) * md
        let pk = p.[k]
        let g = gk.[k]
        for i in 0 .. n - 1 do
            for j in 0 .. m - 1 do
                let x = dot pk (i * d) vt.[k - 1] (j * d) d
                g.[i * m + j] <- x
                q.[i * m + j] <- sd.[k].[i * m + j] * x
        if sumGradient then
            for i in 0 .. n - 1 do
                for r in 0 .. d - 1 do axpy pk.[i * d + r] sg.[k] (i * m) gv (wo + r * m) m
                for j in 0 .. m - 1 do axpy q.[i * m + j] h.[k - 1] (i * d) gw (wo + j * d) d
        let pn = p.[k - 1]
        Array.blit pk 0 pn 0 pk.Length
        for i in 0 .. n - 1 do
            for col in 0 .. d - 1 do
                pn.[i * d + col] <- pn.[i * d + col] + dot q (i * m) wt.[k - 1] (col * m) m / fL
    // the extra pass: G(Z_k; h_k, p_{k+1}) for k = 1..L−1
    let ewm, evm = ws.EW, ws.EV
    Array.Clear ewm
    Array.Clear evm
    let scratch = ws.Scratch
    let hs = Array.init (L + 1) (fun k -> specUpperWith scratch h.[k] n d)
    let ps = Array.init (L + 1) (fun k -> specUpperWith scratch p.[k] n d)
    // a loop, not a closure: the body is compiled with this method's full optimization
    let pairs : Pair[] = Array.zeroCreate (max 0 (L - 1))
    for k0 in 0 .. pairs.Length - 1 do
        pairs.[k0] <-
            let k = k0 + 1
            let wo, wo1 = (k - 1) * md, k * md
            let hk, p1 = h.[k], p.[k + 1]
            let uh, sh, dhs = ws.Uh, ws.Sh, ws.Dhs
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
            let dh = ws.Dh
            for e in 0 .. dh.Length - 1 do dh.[e] <- h.[k].[e] - h.[k - 1].[e]
            { EW = Linalg.frobenius ewm eo md; EV = Linalg.frobenius evm eo md
              AWW = s2 * g1inf * hs.[k] * hs.[k]
              AWV = d1max * ps.[k + 1] * hs.[k]
              AVW = s1 * ps.[k + 1] * hs.[k]
              X = Linalg.frobeniusDiff w wo1 w wo md; Y = Linalg.frobeniusDiff v wo1 v wo md
              DGW = Linalg.frobeniusDiff gw wo1 gw wo md; DGV = Linalg.frobeniusDiff gv wo1 gv wo md
              PF1 = fro p1; PF = fro p.[k]; PS = ps.[k]; HS = hs.[k]
              DHF = fro dh; DHS = (if withForcing then specUpperWith scratch dh n d else nan)
              SHatS = (if withForcing then specUpperWith scratch sh n m else nan); GHatInf = ghat
              S1F = Activations.SupAbsDerivative(act, loF, hiF)
              S2F = (if smooth then Activations.SupAbsSecondDerivative(act, loF, hiF) else nan)
              D1Max = d1maxK }
    { GW = gw; GV = gv; Loss = loss / float n; Pairs = pairs; EWm = ewm; EVm = evm }

/// `evaluateIn` fresh buffers, summing the layer gradients itself.
let evaluate (c: Context) (withForcing: bool) (w: float[]) (v: float[]) : Iterate = evaluateIn (Workspace c) withForcing None w v
