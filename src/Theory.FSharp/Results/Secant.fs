/// Secant (mean-value) Jacobians of a residual layer and certified norms of their products
/// (docs/theorems/EulerError.md, "B.bound.secant").
///
/// For two states x, y of one layer h ↦ h + (1/L)V σ(W h), the difference of the images is exactly
///   (x − y) + (1/L)V[σ(Wx) − σ(Wy)] = J̃ (x − y),   J̃ = I + (1/L) V diag(D̃) W,
/// with D̃_j = (σ(a_j) − σ(b_j))/(a_j − b_j) (a = Wx, b = Wy; σ'(a_j) when a_j = b_j): a secant slope of σ,
/// which lies in σ'([a_j, b_j]) by the mean-value theorem. The functions below compute D̃ with a bound on
/// its floating-point error, and upper values of ‖J̃_L ⋯ J̃_{k+1}‖₂ that account for every rounding.
module ResOdeProofs.Theory.Secant

open System
open MathNet.Numerics.LinearAlgebra
open ResOdeProofs.Numerics

/// Unit roundoff of float64 (`Rounding.Float64UnitRoundoff`).
[<Literal>]
let U = Rounding.Float64UnitRoundoff

/// The activation library's accuracy at float64 (`LayerJacobian.evalErr`).
let private evalErr (value: float) = LayerJacobian.evalErr U value

/// The secant slope of σ between a and b and a bound on |D̂ − D| for some mean-value slope D of σ on the
/// segment between the exact pre-activations, given a bound `preErr` on the rounding error of a and of b.
/// s2 = sup|σ''| (None for relu). Two formulas, the one with the smaller error bound is used:
/// the difference quotient (error (err σ(a) + err σ(b) + u|σ(a) − σ(b)|)/|a − b| + 3u|D̂|) and σ' at the midpoint
/// (error s2|a − b|/2 + err σ'). A rounding of a, b moves the exact slope by at most s2·preErr; for relu the
/// slope is exact (0 or 1) unless a or b is within preErr of the kink, where every slope in [0, 1] is possible.
let private smoothSecantSlope (act: ActivationKind) (s2: float) (preErr: float) (a: float) (b: float) (sa: float) (sb: float) =
    // `secantSlope` of a smooth σ for a ≠ b, given sa = σ(a), sb = σ(b) as `Activations.Value` returns them
    let moved = s2 * preErr
    let mid = Activations.Derivative(act, 0.5 * (a + b))
    let midErr = s2 * abs (a - b) / 2.0 + evalErr mid + s2 * U * (abs a + abs b)
    let q = (sa - sb) / (a - b)
    let qErr = (evalErr sa + evalErr sb + U * abs (sa - sb)) / abs (a - b) + 3.0 * U * abs q
    if qErr <= midErr then struct (q, qErr + moved) else struct (mid, midErr + moved)

let secantSlope (act: ActivationKind) (s2: float option) (preErr: float) (a: float) (b: float) : struct (float * float) =
    match act, s2 with
    | ActivationKind.Identity, _ -> struct (1.0, 0.0)
    | ActivationKind.Relu, _ ->
        if abs a <= preErr || abs b <= preErr then struct ((if a > 0.0 && b > 0.0 then 1.0 else 0.0), 1.0)
        elif a > 0.0 && b > 0.0 then struct (1.0, 0.0)
        elif a < 0.0 && b < 0.0 then struct (0.0, 0.0)
        else
            let q = (Activations.Value(act, a) - Activations.Value(act, b)) / (a - b)
            struct (q, 4.0 * U * (1.0 + abs q) + 2.0 * U * (abs a + abs b) / abs (a - b))
    | _, Some s2 ->
        if a = b then LayerJacobian.tangentSlope U act (Some s2) preErr a
        else smoothSecantSlope act s2 preErr a b (Activations.Value(act, a)) (Activations.Value(act, b))
    | _, None -> invalidArg "s2" "a smooth activation needs its s2"

/// The share of ‖M̂_k‖₂ up to which `propagationFactors` keeps the correction its worst-case n̄_k give: 10⁻⁶, so π_k
/// is then within a millionth of the value the computed norms give (docs/theorems/EulerError.md, "Certified products"),
/// far below the tightness a verdict reports (three digits); above it, the computed norms.
[<Literal>]
let CorrectionShare = 1e-6

/// The correction Π_{j>k}(n̄_j + η_j)·(1 + 2du)^{L−k} − Π_{j>k} n̄_j of π_k (docs/theorems/EulerError.md, "Certified products")
/// from above, as computed in float64 from `count` = L − k + 1 layers: `pert` = Π(n̄_j + η_j) by one sum and one product a
/// factor (within γ_{2·count}), `grow` = (1 + 2du)^count by `Portable.pown` (within γ_{count−1}), their product one rounding
/// more, and `norm` = Π n̄_j by one product a factor (within γ_{count}); so the first term is raised by γ_{3·count + 1} and
/// the second lowered by γ_{count + 1} (each with the rounding of its own raise), and the difference's rounding and this
/// last raise's by γ_2. The products' roundings are of the
/// order of the growth term itself (count·u against 2du·count), so without this the computed correction could fall below
/// the exact one.
let correctionUpper (pert: float) (norm: float) (count: int) (grow: float) =
    let c = pert * grow * (1.0 + Rounding.gamma64 (3 * count + 1)) - norm * (1.0 - Rounding.gamma64 (count + 1))
    c * (1.0 + Rounding.gamma64 2)

/// Upper values π_k ≥ ‖J_L ⋯ J_{k+1}‖₂, k = 0..L (π_L = 1), of the exact secant Jacobians of one sample,
/// given the states x_{k−1} (ResNet) and y_{k−1} (the other trajectory) entering layer k = 1..L.
///
/// With Ĵ_k the computed secant Jacobian, E_k = J_k − Ĵ_k satisfies ‖E_k‖₂ ≤ η_k :=
/// (‖V_k‖₂‖W_k‖₂·max_j ε_j + (m + 2)u·s1‖V_k‖_F‖W_k‖_F)/L (ε_j the slope errors, the second term the rounding of
/// forming Ĵ_k). With any n̄_j ≥ ‖Ĵ_j‖₂ and M̂_k the computed product (rounding of one d×d product ≤ 2du
/// relative to the product of the norms),
///   ‖J_L⋯J_{k+1}‖₂ ≤ ‖M̂_k‖₂(1 + 4du) + Π_{j>k}(n̄_j + η_j)(1 + 2du)^{L−k} − Π_{j>k} n̄_j =: π_k
/// (the correction grows with every n̄_j, so an upper value serves). n̄_j is first the layer's worst case
/// ν_j + η_j ≥ ‖J_j‖₂ + ‖E_j‖₂, ν_j = 1 + s1‖V_j‖₂‖W_j‖₂(1 + 10du)/L (|D_j| ≤ s1 for a secant slope), which needs no
/// norm of Ĵ_j; where the correction this gives exceeds `CorrectionShare` of ‖M̂_k‖₂ at some k, the sample's factors are
/// formed again with n̄_j = ‖Ĵ_j‖₂(1 + 4du), the computed norm (a choice of cost: both are upper values).
/// `w` (L·m·d) and `v` (L·d·m) are the snapshot's layers, row-major, layer k (1-based) at (k − 1)·m·d; `norms k` returns
/// (‖W_k‖₂, ‖V_k‖₂) and `frobenius k` ‖V_k‖_F·‖W_k‖_F (the layer's `VF * WF`, formed once per layer by the caller rather than
/// once per sample). Ĵ_k and the products are formed in plain loops over flat d×d arrays, every sum from zero in index
/// order (the rounding bounds above hold for any order of the sums); nothing is allocated per layer.
let propagationFactors (act: ActivationKind) (s1: float) (s2: float option) (depth: int) (width: int) (dim: int)
                       (w: float[]) (v: float[]) (norms: int -> struct (float * float)) (frobenius: int -> float)
                       (x: int -> ArraySegment<float>) (y: int -> ArraySegment<float>) : float[] =
    let L, m, d = depth, width, dim
    let md = m * d
    let fL = float L
    let pi = Array.zeroCreate (L + 1)
    let mutable mhat = Array.zeroCreate (d * d)
    let mutable next = Array.zeroCreate (d * d)
    let j = Array.zeroCreate (d * d)
    let vd = Array.zeroCreate (d * m)
    let slopes = Array.zeroCreate m
    // a smooth σ's values at both ends of every unit's segment in one call each (`Activations.Values`: the bits of
    // `Activations.Value` at each entry, GELU's in vector lanes), then each slope as `secantSlope` forms it
    let smooth = (match act, s2 with | (ActivationKind.Identity | ActivationKind.Relu), _ -> false | _, s2 -> s2.IsSome)
    let aa, bb, pe = Array.zeroCreate m, Array.zeroCreate m, Array.zeroCreate m
    let sa, sb = Array.zeroCreate m, Array.zeroCreate m
    // Ĵ_k of one layer into `j` (its slopes from σ at both ends of every unit's segment), returning η_k ≥ ‖J_k − Ĵ_k‖₂
    let formLayer (k: int) =
        let o = (k - 1) * md
        let struct (wOp, vOp) = norms k
        let xk, yk = x (k - 1), y (k - 1)
        let mutable epsMax = 0.0
        for jj in 0 .. m - 1 do
            let mutable a, b, abs1, abs2 = 0.0, 0.0, 0.0, 0.0
            for c in 0 .. d - 1 do
                let wj = w.[o + jj * d + c]
                a <- a + wj * xk.[c]
                b <- b + wj * yk.[c]
                abs1 <- abs1 + abs (wj * xk.[c])
                abs2 <- abs2 + abs (wj * yk.[c])
            aa.[jj] <- a
            bb.[jj] <- b
            pe.[jj] <- float (d + 1) * U * max abs1 abs2
        if smooth then
            Activations.Values(act, ReadOnlySpan(aa), Span(sa))
            Activations.Values(act, ReadOnlySpan(bb), Span(sb))
        for jj in 0 .. m - 1 do
            let struct (q, e) =
                if smooth && aa.[jj] <> bb.[jj] then smoothSecantSlope act s2.Value pe.[jj] aa.[jj] bb.[jj] sa.[jj] sb.[jj]
                else secantSlope act s2 pe.[jj] aa.[jj] bb.[jj]
            slopes.[jj] <- q
            epsMax <- max epsMax e
        // Ĵ_k = I + (V diag(D̂)/L) W (`LayerJacobian.form`) and η_k ≥ ‖J_k − Ĵ_k‖₂ (`LayerJacobian.formError`)
        LayerJacobian.form L m d w v o slopes vd j
        LayerJacobian.formError U L m s1 vOp wOp epsMax (frobenius k)
    // one pass for the products M̂_k and their norms (the same with either n̄) and the correction with the worst case
    // n̄_k = ν_k + η_k; the upper values of ‖M̂_k‖₂ kept (`Linalg.spectralUpper`, certified: until 2026-12-06 the estimate
    // times 1 + 4du, an allowance a referee found derived nowhere), so that the computed n̄_k, where the share is exceeded,
    // need only Ĵ_k formed again and its norm, not the products
    let mNorm = Array.zeroCreate L
    let etas = Array.zeroCreate (L + 1)
    pi.[L] <- 1.0
    for r in 0 .. d - 1 do mhat.[r * d + r] <- 1.0
    let growth (k: int) = Portable.pown (1.0 + 2.0 * float d * U) (L - k + 1)
    let mutable prodPert, prodNorm = 1.0, 1.0
    let mutable worstKept = true
    for k in L .. -1 .. 1 do
        let eta = formLayer k
        etas.[k] <- eta
        let struct (wOp, vOp) = norms k
        let nbar = 1.0 + s1 * vOp * wOp * (1.0 + 10.0 * float d * U) / fL + eta
        // M̂ ← M̂ Ĵ_k
        // (row r of the product as a sum of scaled rows of Ĵ_k, t in order: the same bits as entry by entry)
        Model.Layerwise.MultiplyOrdered(ReadOnlySpan(mhat), d, d, ReadOnlySpan(j), d, Span(next))
        let swap = mhat
        mhat <- next
        next <- swap
        prodPert <- prodPert * (nbar + eta)
        prodNorm <- prodNorm * nbar
        let norm = Linalg.spectralUpper d d mhat 0
        mNorm.[k - 1] <- norm
        let correction = correctionUpper prodPert prodNorm (L - k + 1) (growth k)
        pi.[k - 1] <- (norm + correction) * (1.0 + Rounding.gamma64 2)
        // (a correction that is not a number also sends the sample to the computed norms)
        if not (correction <= CorrectionShare * norm) then worstKept <- false
    if not worstKept then
        // the corrections again with n̄_k the upper value of ‖Ĵ_k‖₂
        let mutable prodPert, prodNorm = 1.0, 1.0
        for k in L .. -1 .. 1 do
            formLayer k |> ignore
            let nbar = Linalg.spectralUpper d d j 0
            prodPert <- prodPert * (nbar + etas.[k])
            prodNorm <- prodNorm * nbar
            pi.[k - 1] <- (mNorm.[k - 1] + correctionUpper prodPert prodNorm (L - k + 1) (growth k)) * (1.0 + Rounding.gamma64 2)
    pi

/// One layer k of a snapshot with what the local-error bounds need of it, computed once per snapshot: W_k, V_k,
/// |W_k| (entrywise), Frobenius norms, and for k ≥ 2 ΔW = W_k − W_{k−1}, |ΔW| and LΔV (None for k = 1) with ‖LΔV‖_F;
/// and the same matrices transposed in flat row-major arrays (`Columns`), which the products with a vector read.
type Layer =
    { W: Matrix<float>
      V: Matrix<float>
      AbsW: Matrix<float>
      WF: float
      VF: float
      Delta: (Matrix<float> * Matrix<float> * Matrix<float>) option
      /// ‖LΔV‖_F (0 for k = 1), formed once per layer rather than once per sample
      DeltaVF: float
      /// Wᵀ, Vᵀ, |W|ᵀ and, for k ≥ 2, ΔWᵀ, |ΔW|ᵀ, (LΔV)ᵀ: column c of each matrix contiguous (see `times`)
      Columns: LayerColumns }

/// The transposes of a layer's matrices, each a flat array holding column c of the matrix at c·rows.
and LayerColumns =
    { WT: float[]
      VT: float[]
      AbsWT: float[]
      DeltaT: (float[] * float[] * float[]) option }

/// The transpose of a matrix as a flat array: column c at c·rows (no arithmetic). A dense matrix keeps its entries in
/// exactly that order, so its own storage is returned (read only, as every reader here does: the layers' matrices are
/// formed for the analysis and never changed), instead of a copy per matrix (six per layer, 25 MB a snapshot at
/// L = 1 024, m = 32, d = 16); any other storage is copied.
let columnsOf (a: Matrix<float>) : float[] =
    match a.AsColumnMajorArray() with
    | null -> a.ToColumnMajorArray()
    | arr -> arr

/// y = A x for A (rows × cols) given by its columns (`columnsOf`): y starts at 0 and takes y + x_c·A[:, c] for
/// c = 0 .. cols − 1 in order, one product and one sum per entry, in vector lanes over the rows
/// (`Layerwise.MultiplyOrdered`, no fused multiply-add). Every entry is therefore the sum from zero, in index order, of its row's
/// products: the same operations as MathNet's dense matrix–vector product, which gives the same bits (a test compares
/// them bit for bit), without a Matrix or Vector object per product.
let times (columns: float[]) (rows: int) (x: float[]) : float[] =
    let y = Array.zeroCreate rows
    // x as a 1 × cols matrix times the columns as a cols × rows one: the same sums, y's in registers across c
    Model.Layerwise.MultiplyOrdered(ReadOnlySpan(x), 1, x.Length, ReadOnlySpan(columns), rows, Span(y))
    y

/// `times` into `y` (length rows): every entry written, the same sums from zero (`MultiplyOrdered` does not read y).
let private timesInto (columns: float[]) (rows: int) (x: float[]) (y: float[]) =
    Model.Layerwise.MultiplyOrdered(ReadOnlySpan(x), 1, x.Length, ReadOnlySpan(columns), rows, Span(y, 0, rows))

let layer (depth: int) (wk: Matrix<float>) (vk: Matrix<float>) (prev: (Matrix<float> * Matrix<float>) option) : Layer =
    let delta = prev |> Option.map (fun (wp, vp) -> let dw = wk - wp in dw, dw.PointwiseAbs(), (vk - vp) * float depth)
    let absW = wk.PointwiseAbs()
    { W = wk; V = vk; AbsW = absW; WF = Linalg.frobeniusNorm wk; VF = Linalg.frobeniusNorm vk
      Delta = delta
      DeltaVF = (match delta with None -> 0.0 | Some (_, _, dvL) -> Linalg.frobeniusNorm dvL)
      Columns =
        { WT = columnsOf wk; VT = columnsOf vk; AbsWT = columnsOf absW
          DeltaT = delta |> Option.map (fun (dw, absDw, dvL) -> columnsOf dw, columnsOf absDw, columnsOf dvL) } }

/// The image f = V σ(W y) of one layer at a state y, with a bound on its rounding: f̂ is off by at most
/// errF = (m + 2)u‖V‖_F‖σ(u)‖ + ‖V‖_F √m ε_σ, where ε_σ = 16u(1 + max|σ|) + s1 (d + 1)u max_j (|W||y|)_j bounds the
/// error of each σ value (its evaluation and the rounding of u = W y).
type LayerImage =
    { U: Vector<float>
      Sigma: Vector<float>
      F: Vector<float>
      /// bound on the rounding of each entry of u
      UErr: float
      /// bound on the error of each σ value
      SigmaErr: float
      /// bound on ‖f̂ − f‖
      FErr: float
      /// ‖σ(u)‖ and ‖f̂‖ as MathNet's `L2Norm` forms them (`Linalg.hypotNorm`), formed once per image
      SigmaNorm: float
      FNorm: float }

let layerImage (act: ActivationKind) (s1: float) (ly: Layer) (y: Vector<float>) : LayerImage =
    let m, d = ly.W.RowCount, ly.W.ColumnCount
    let ya = y.ToArray()
    let u = times ly.Columns.WT m ya
    let sg = Array.zeroCreate m
    Activations.Values(act, ReadOnlySpan(u), Span(sg))
    let sg = Vector<float>.Build.Dense sg
    let uErr = (Vector<float>.Build.Dense(times ly.Columns.AbsWT m (Array.map abs ya))).AbsoluteMaximum() * float (d + 1) * U
    let sigErr = 16.0 * U * (1.0 + sg.AbsoluteMaximum()) + s1 * uErr
    let f = times ly.Columns.VT d (sg.AsArray())
    let sigNorm = Linalg.hypotNorm (sg.AsArray())
    { U = Vector<float>.Build.Dense u; Sigma = sg; F = Vector<float>.Build.Dense f; UErr = uErr; SigmaErr = sigErr
      FErr = float (m + 2) * U * ly.VF * sigNorm + ly.VF * sqrt (float m) * sigErr
      SigmaNorm = sigNorm
      FNorm = Linalg.hypotNorm f }

/// The computed defect of the reference nodes over layer k, τ̃_k = H̃_k − H̃_{k−1} − (1/L) V_k σ(W_k H̃_{k−1}), as
/// ‖τ̂_k‖ plus a bound on its rounding: each entry of a − b − f̂/L is off by at most 3u(|a| + |b| + |f̂|/L), f̂ by
/// errF, and the norm by (d + 2)u relative (docs/theorems/EulerError.md, B.bound.defect). Returns (‖τ̂_k‖, the
/// bound on |‖τ̂_k‖ − ‖τ̃_k‖|).
let nodeDefect (depth: int) (img: LayerImage) (yPrev: float[]) (yNext: float[]) : struct (float * float) =
    let fL = float depth
    let tau = Array.init yPrev.Length (fun r -> yNext.[r] - yPrev.[r] - img.F.[r] / fL)
    let n = Linalg.norm tau
    struct (n, n * float (yPrev.Length + 2) * U + 3.0 * U * (Linalg.norm yNext + Linalg.norm yPrev + img.FNorm / fL) + img.FErr / fL)

/// The parts of the Taylor model of one interval (`taylorModel`): the computed vector ĉ, its norm ‖ĉ‖ (`Linalg.hypotNorm`),
/// the bounds of the quadrature, of the rounding of ĉ and of the remainders R₁, R₂, and F̄ (the bound of
/// sup ‖V(s)σ(W(s)H(s))‖ on the interval that the remainders used).
type TaylorModel =
    { C: float[]; CNorm: float; Quadrature: float; Rounding: float; Rem1: float; Rem2: float; FBar: float }
    /// A bound of ‖λ − ĉ‖ (λ the exact local error): the quadrature, the rounding of ĉ and the remainders.
    member t.Remainder = t.Quadrature + t.Rounding + t.Rem1 + t.Rem2

/// The work arrays of one `taylorModel` call for a shape (m, d, N, |y|), one set per thread and reused by its next call: a
/// B.bound of the 1 024-layer runs makes 10⁵–10⁶ calls, and fresh arrays for each (≈ 7 KB) were a third of the bytes
/// the B.* rows allocated there (3.85 → 2.51 GB, docs/performance.md), each byte cleared by the collector. Every entry a
/// call reads is written by it first, so what a set held before changes no number; only the returned ĉ is a fresh array.
[<AllowNullLiteral>]
type private TaylorScratch(m: int, d: int, nq: int, yLen: int) =
    member val M = m
    member val D = d
    member val NQ = nq
    member val YLen = yLen
    member val Dsig: float[] = Array.zeroCreate m
    member val Wf: float[] = Array.zeroCreate m
    member val LeadIn: float[] = Array.zeroCreate m
    member val Lead: float[] = Array.zeroCreate d
    member val G: float[] = Array.zeroCreate m
    member val Q1: float[] = Array.zeroCreate m
    member val Q2: float[] = Array.zeroCreate m
    member val Rs: float[] = Array.zeroCreate nq
    member val Args: float[] = Array.zeroCreate (m * nq)
    member val Svs: float[] = Array.zeroCreate (m * nq)
    member val Cw: float[] = Array.zeroCreate d
    member val Dq: float[] = Array.zeroCreate d
    member val AbsY: float[] = Array.zeroCreate yLen
    member val GAbs: float[] = Array.zeroCreate m

let private taylorScratch = new Threading.ThreadLocal<TaylorScratch ref>(fun () -> ref null)

let private scratchFor (m: int) (d: int) (nq: int) (yLen: int) =
    let cell = taylorScratch.Value
    match cell.Value with
    | null -> ()
    | sc when sc.M = m && sc.D = d && sc.NQ = nq && sc.YLen = yLen -> ()
    | _ -> cell.Value <- null
    if isNull cell.Value then cell.Value <- TaylorScratch(m, d, nq, yLen)
    cell.Value

/// The Taylor model of `taylorLocalError` with its parts apart (None where that function returns None).
let taylorModel (act: ActivationKind) (s1: float) (s2: float option) (depth: int) (ly: Layer) (img: LayerImage)
                (fBar: float) (mW: float) (mV: float) (nW: float) (nV: float) (aW: float) (aV: float)
                (y: float[]) : TaylorModel option =
    match s2 with
    | None -> None
    | Some s2 ->
        let cols = ly.Columns
        let m, d = ly.W.RowCount, ly.W.ColumnCount
        let fL = float depth
        let h = 1.0 / fL
        let u, sg, f = img.U, img.Sigma, img.F
        let ua, sga = u.AsArray(), sg.AsArray()
        let nq = OdeLimit.QuadratureNodes
        let sc = scratchFor m d nq y.Length
        // every product below is `times` (the operations of MathNet's matrix–vector product, entry for entry), every
        // scaling, sum and difference one operation per entry as MathNet's vector operators perform it: the same bits
        // (into this thread's work arrays, each entry written before it is read)
        let dsig = sc.Dsig
        for j in 0 .. m - 1 do dsig.[j] <- Activations.Derivative(act, ua.[j])
        // leading term of the state part: (h²/2) V_k diag(σ'(u)) W_k f
        let wf = sc.Wf
        timesInto cols.WT m (f.AsArray()) wf
        let leadScale = 0.5 * h * h
        let leadIn = sc.LeadIn
        for j in 0 .. m - 1 do leadIn.[j] <- dsig.[j] * wf.[j]
        let lead = sc.Lead
        timesInto cols.VT d leadIn lead
        for r in 0 .. d - 1 do lead.[r] <- lead.[r] * leadScale
        let g = sc.G
        match cols.DeltaT with
        | None -> Array.Clear g
        | Some (dwT, _, _) ->
            timesInto dwT m y g
            for j in 0 .. m - 1 do g.[j] <- g.[j] * fL
        // weight-variation part: ∫_0^h V_k[σ(u − r g) − σ(u)] − r LΔV σ(u − r g) dr by the midpoint rule on N nodes,
        // σ at the m·N nodes in one call (`Activations.Values`: the bits of `Activations.Value` at each)
        let q1 = sc.Q1
        let q2 = sc.Q2
        let rs = sc.Rs
        for i in 0 .. nq - 1 do rs.[i] <- (float i + 0.5) * h / float nq
        let args = sc.Args
        for j in 0 .. m - 1 do
            for i in 0 .. nq - 1 do args.[j * nq + i] <- ua.[j] - rs.[i] * g.[j]
        let svs = sc.Svs
        Activations.Values(act, ReadOnlySpan(args), Span(svs))
        let mutable quadErr1, quadErr2 = 0.0, 0.0
        let mutable sigMax = sg.AbsoluteMaximum()
        for j in 0 .. m - 1 do
            let mutable a1, a2 = 0.0, 0.0
            for i in 0 .. nq - 1 do
                let r = rs.[i]
                let sv = svs.[j * nq + i]
                sigMax <- max sigMax (abs sv)
                a1 <- a1 + (sv - sga.[j])
                a2 <- a2 + r * sv
            q1.[j] <- a1 * h / float nq
            q2.[j] <- a2 * h / float nq
            // midpoint rule: |∫_0^h φ − h/N Σ φ(r_i)| ≤ h³ sup|φ''|/(24N²);
            // φ = σ(u − r g) − σ(u): φ'' = g²σ''; φ = rσ(u − r g): φ'' = −2gσ' + r g²σ''
            let gj = abs g.[j]
            quadErr1 <- quadErr1 + Portable.sq (gj * gj * s2)
            quadErr2 <- quadErr2 + Portable.sq (2.0 * gj * s1 + h * gj * gj * s2)
        let cw = sc.Cw
        timesInto cols.VT d q1 cw
        let c =
            match cols.DeltaT with
            | None -> Array.init d (fun r -> lead.[r] + cw.[r])
            | Some (_, _, dvLT) ->
                let dq = sc.Dq
                timesInto dvLT d q2 dq
                Array.init d (fun r -> lead.[r] + cw.[r] - dq.[r])
        let dv = cols.DeltaT
        let g = Vector<float>.Build.Dense g
        let quadScale = h * h * h / (24.0 * float (nq * nq))
        let dvF = ly.DeltaVF
        let quad = quadScale * (nV * sqrt quadErr1 + (match dv with None -> 0.0 | Some _ -> fL * aV) * sqrt quadErr2)
        // rounding of forming ĉ_k: every entry is a sum of at most m + d + N + 8 rounded products (a majorant with
        // absolute values), plus the errors of f̂, of σ'(û) (s2 times the rounding of u) and of the σ values at the
        // nodes, whose argument u − r ĝ is also off by the rounding of ĝ (one subtraction, d products, the factor L)
        let gAbs =
            match cols.DeltaT with
            | None -> 0.0
            | Some (_, absDwT, _) ->
                let absY = sc.AbsY
                for r in 0 .. y.Length - 1 do absY.[r] <- abs y.[r]
                timesInto absDwT m absY sc.GAbs
                (Vector<float>.Build.Dense sc.GAbs).AbsoluteMaximum() * fL
        let evalSig = 16.0 * U * (1.0 + sigMax) + s1 * (img.UErr + float (d + 4) * U * (u.AbsoluteMaximum() + h * gAbs))
        let vF, wF = ly.VF, ly.WF
        let fN = img.FNorm + img.FErr
        let majorant =
            0.5 * h * h * vF * s1 * wF * fN
            + h * vF * 2.0 * sqrt (float m) * (1.0 + sigMax)
            + h * h * dvF * sqrt (float m) * (1.0 + sigMax)
        let evalPart =
            0.5 * h * h * vF * (16.0 * U * (1.0 + s1) + s2 * img.UErr) * wF * fN
            + 0.5 * h * h * vF * s1 * wF * img.FErr
            + (h * vF * 2.0 + h * h * dvF) * sqrt (float m) * evalSig
        let rounding = float (m + d + nq + 8) * U * majorant + evalPart
        // remainder R_k = ∫_0^h A(t) − t J_k f dt, A(t) = f(t, H(t)) − f(t, y) (state part), t from s_{k−1}, r = h − t:
        //   ‖B(τ)‖ = ‖f(τ, y) − f_k(y)‖ ≤ (h − τ)β, β = ‖V_k‖ s1‖g‖ + L a^V(‖σ(u)‖ + s1 h‖g‖);
        //   Grönwall: ‖f(t, H(t))‖ ≤ (‖f‖ + hβ) e^{κ̄t} =: F̄ and ‖H(t) − y‖ ≤ t F̄ on I_k;
        //   [V(t)D(t)W(t) − J_k](H(t) − y), ‖V(t) − V_k‖ ≤ rL a^V, ‖W(t) − W_k‖ ≤ rL a^W,
        //   |D(t) − σ'(u)| ≤ s2 (r ‖g‖_∞ + M^W t F̄)   →   F̄[(h³/6)L s1 (a^V M^W + ‖V_k‖ a^W) + ‖V_k‖ M^W s2 ((h³/6)‖g‖_∞ + M^W F̄ h³/3)]
        //   J_k[(H(t) − y) − t f]: ‖J_k‖ ≤ s1‖V_k‖‖W_k‖, ‖A(τ)‖ ≤ κ̄ τ F̄   →   s1‖V_k‖‖W_k‖ (κ̄ F̄ h³/6 + β h³/3)
        let h3 = h * h * h
        let gInf = g.AbsoluteMaximum()
        let kappaBar = s1 * mV * mW
        let gNorm = Linalg.hypotNorm (g.AsArray())
        let beta = nV * s1 * gNorm + fL * aV * (img.SigmaNorm + s1 * h * gNorm)
        let fBar = min fBar ((fN + h * beta) * Portable.exp (kappaBar * h))
        let rem1 = fBar * (h3 / 6.0 * fL * s1 * (aV * mW + nV * aW) + nV * mW * s2 * (h3 / 6.0 * gInf + mW * fBar * h3 / 3.0))
        let rem2 = s1 * nV * nW * (kappaBar * fBar * h3 / 6.0 + beta * h3 / 3.0)
        Some { C = c; CNorm = Linalg.hypotNorm c; Quadrature = quad; Rounding = rounding; Rem1 = rem1; Rem2 = rem2; FBar = fBar }

/// The Taylor-model bound of the local error λ_k = Φ_k(y) − y − (1/L) V_k σ(W_k y) of one layer interval
/// I_k = [s_{k−1}, s_k] for the flow of dH/ds = V(s)σ(W(s)H) started at y (docs/theorems/EulerError.md,
/// "Taylor-model local error"): ‖ĉ_k‖(1 + (d + 2)u) plus the bounds of `taylorModel` (λ_k = c_k + R_k with the computed
/// vector c_k = (1/(2L²)) V_k diag(σ'(u)) W_k f + V_k q₁ − LΔV q₂, u = W_k y, f = V_k σ(u), g = LΔW y,
/// q₁ ≈ ∫_0^{1/L} [σ(u − r g) − σ(u)] dr, q₂ ≈ ∫_0^{1/L} r σ(u − r g) dr by the midpoint rule, and ‖R_k‖ bounded by
/// second-order terms). `ly` is the layer (with its increments for k ≥ 2; none for k = 1, where Z is constant on I_1),
/// `img` its image at y. fBar ≥ sup_{I_k} ‖V(s)σ(W(s)H(s))‖ (an a priori value; the Grönwall value is used when
/// smaller); mW, mV ≥ sup_{I_k} ‖W(s)‖₂, ‖V(s)‖₂; nW, nV = ‖W_k‖₂, ‖V_k‖₂; aW, aV = ‖ΔW‖₂, ‖ΔV‖₂.
/// None when σ'' is not bounded (relu) or a term is undefined (an overflow).
let taylorLocalError (act: ActivationKind) (s1: float) (s2: float option) (depth: int) (ly: Layer) (img: LayerImage)
                     (fBar: float) (mW: float) (mV: float) (nW: float) (nV: float) (aW: float) (aV: float)
                     (y: float[]) : float option =
    match taylorModel act s1 s2 depth ly img fBar mW mV nW nV aW aV y with
    | None -> None
    | Some t ->
        let total = t.CNorm * (1.0 + float (ly.W.ColumnCount + 2) * U) + t.Quadrature + t.Rounding + t.Rem1 + t.Rem2
        // weights so large that a term overflows (0·∞ = NaN) leave the model undefined: the other bounds are used
        if Double.IsNaN total then None else Some total

/// The largest κ̄h' of one sub-interval of `substepCount`: the Taylor model's remainders carry one factor κ̄h' more than
/// its computed term (docs/theorems/EulerError.md, "Sub-intervals"), so sub-intervals with κ̄h' ≤ 1/8 keep them near an
/// eighth of it. A choice of cost (p model evaluations per layer instead of one), not of validity: every p gives a bound.
[<Literal>]
let SubstepKappaH = 0.125

/// At most this many sub-intervals per layer: κ̄/L up to 4 gets sub-intervals with κ̄h' ≤ 1/8, a larger one longer ones
/// (still a bound, less sharp; the cost per layer stays at most 32 model evaluations).
[<Literal>]
let MaxSubsteps = 32

/// The number p of sub-intervals of a layer interval of length 1/L whose flow has the Lipschitz constant κ̄ (in the state):
/// the least p ≥ 1 with κ̄/(pL) ≤ `SubstepKappaH`, at most `MaxSubsteps` (1 when κ̄ is not a finite number).
let substepCount (depth: int) (kappaBar: float) =
    let x = kappaBar / float depth / SubstepKappaH
    if not (Double.IsFinite x) || x <= 1.0 then 1 else min MaxSubsteps (int (ceil x))

/// The p sub-intervals of one layer interval I_k, shared by every sample: sub-interval i = 1..p runs from
/// s_{k−1} + (i − 1)h' to s_{k−1} + ih' (h' = 1/(pL)), over which the weights go linearly from Z(c_{i−1}) to Z(c_i),
/// Z(c) = Z_{k−1} + c(Z_k − Z_{k−1}), c_i = i/p. Each is a `Layer` of depth pL whose end weights are the computed Ẑ(c_i)
/// (Z_{k−1} and Z_k themselves at c = 0 and 1; for k = 1 the weights are constant, Z_1), off the exact ones by at
/// most ω = 5u(‖Z_{k−1}‖_F + ‖Z_k − Z_{k−1}‖_F) in the Frobenius norm (`OmegaW`, `OmegaV`; 0 for k = 1).
type Substeps =
    { P: int
      Layers: Layer[]
      /// upper values of sup ‖W(s)‖₂, sup ‖V(s)‖₂ on I_k of the exact weights (the larger end) and of the computed ones (+ ω)
      MW: float; MV: float; MWv: float; MVv: float
      /// upper values of ‖Ŵ(c_i) − Ŵ(c_{i−1})‖₂, ‖V̂(c_i) − V̂(c_{i−1})‖₂: ‖Z_k − Z_{k−1}‖₂/p + 2ω
      AWv: float; AVv: float
      OmegaW: float; OmegaV: float }

/// The sub-intervals of layer interval I_k (`Substeps`) for p = `p`: `prev` the layer k − 1's weights (None for k = 1),
/// `wk`, `vk` layer k's; nW, nV the spectral norms of layers k − 1 and k; aW, aV = ‖W_k − W_{k−1}‖₂, ‖V_k − V_{k−1}‖₂.
let substeps (depth: int) (p: int) (prev: (Matrix<float> * Matrix<float>) option) (wk: Matrix<float>) (vk: Matrix<float>)
             (nWPrev: float) (nWk: float) (nVPrev: float) (nVk: float) (aW: float) (aV: float) : Substeps =
    if p < 1 then invalidArg "p" "at least one sub-interval"
    let pL = p * depth
    match prev with
    | None ->
        let ly = layer pL wk vk None
        { P = p; Layers = Array.create p ly; MW = nWk; MV = nVk; MWv = nWk; MVv = nVk; AWv = 0.0; AVv = 0.0; OmegaW = 0.0; OmegaV = 0.0 }
    | Some (wp, vp) ->
        let dW, dV = wk - wp, vk - vp
        let at (z0: Matrix<float>) (z1: Matrix<float>) (dz: Matrix<float>) (i: int) =
            if i = 0 then z0 elif i = p then z1 else z0 + dz * (float i / float p)
        let ws = Array.init (p + 1) (at wp wk dW)
        let vs = Array.init (p + 1) (at vp vk dV)
        let omegaW = 5.0 * U * (Linalg.frobeniusNorm wp + Linalg.frobeniusNorm dW)
        let omegaV = 5.0 * U * (Linalg.frobeniusNorm vp + Linalg.frobeniusNorm dV)
        let mW, mV = max nWPrev nWk, max nVPrev nVk
        { P = p
          Layers = Array.init p (fun i -> layer pL ws.[i + 1] vs.[i + 1] (Some (ws.[i], vs.[i])))
          MW = mW; MV = mV; MWv = mW + omegaW; MVv = mV + omegaV
          AWv = aW / float p * (1.0 + 4.0 * U) + 2.0 * omegaW
          AVv = aV / float p * (1.0 + 4.0 * U) + 2.0 * omegaV
          OmegaW = omegaW; OmegaV = omegaV }

/// The local error λ_k = Φ_k(y) − y − (1/L)V_kσ(W_k y) of layer interval I_k bounded over the p sub-intervals of `sub`
/// (docs/theorems/EulerError.md, "Sub-intervals"): from x_0 = y, each sub-interval's Taylor model (`taylorModel` on its
/// `Layer` of depth pL, started at the computed x_{i−1}) gives x_i = x_{i−1} + h'f̂_i(x_{i−1}) + ĉ_i, and the exact flow's
/// state X_i stays within
///   e_i = e^{κ̄h'}e_{i−1} + (the model's remainder) + ρ_i + h'·errF_i + h'e^{κ̄h'}(ω_V σ̄_i + M̃_V s1 ω_W H̄_i)
/// of it (κ̄ = s1 M_V M_W of the exact weights; ρ_i the rounding of the update, errF_i that of f̂_i; the last term the flow's
/// change from the computed sub-interval weights to the exact ones, H̄_i = ‖x_{i−1}‖ + h'F̄_i ≥ the virtual state,
/// σ̄_i = s0√m + s1M̃_W H̄_i). Then ‖λ_k‖ ≤ ‖λ̂‖(1 + (d + 2)u) + 2u(‖x_p‖ + ‖y‖ + h‖f̂‖) + u‖λ̂‖ + h·errF + e_p with
/// λ̂ = fl(fl(x_p − y) − fl(f̂/L)), f̂ = `img`.F the layer's image at y. None as `taylorModel`, or when a term is not a number.
let substepLocalError (act: ActivationKind) (s0: float) (s1: float) (s2: float option) (depth: int) (sub: Substeps)
                      (img: LayerImage) (y: float[]) : float option =
    match s2 with
    | None -> None
    | Some _ ->
        let p = sub.P
        let d = y.Length
        let m = sub.Layers.[0].W.RowCount
        let fL = float depth
        let pL = p * depth
        let hp = 1.0 / float pL
        let kappaBar = s1 * sub.MV * sub.MW
        let grow = Portable.exp (kappaBar * hp)
        let sqm = sqrt (float m)
        let mutable x = Array.copy y
        let mutable e = 0.0
        let mutable ok = true
        let mutable i = 0
        while ok && i < p do
            let ly = sub.Layers.[i]
            let imgI = layerImage act s1 ly (Vector<float>.Build.DenseOfArray x)
            match taylorModel act s1 s2 pL ly imgI infinity sub.MWv sub.MVv sub.MWv sub.MVv sub.AWv sub.AVv x with
            | None -> ok <- false
            | Some t ->
                let f = imgI.F.AsArray()
                let next = Array.init d (fun r -> x.[r] + f.[r] / float pL + t.C.[r])
                let rho = 3.0 * U * (Linalg.hypotNorm x + imgI.FNorm / float pL + t.CNorm)
                let hBar = Linalg.hypotNorm x + hp * t.FBar
                let sigBar = s0 * sqm + s1 * sub.MWv * hBar
                let flow = hp * grow * (sub.OmegaV * sigBar + sub.MVv * s1 * sub.OmegaW * hBar)
                e <- grow * e + t.Remainder + rho + hp * imgI.FErr + flow
                x <- next
                i <- i + 1
        if not ok then None
        else
            let f = img.F.AsArray()
            let lam = Array.init d (fun r -> (x.[r] - y.[r]) - f.[r] / fL)
            let lamN = Linalg.hypotNorm lam
            let total =
                lamN * (1.0 + float (d + 2) * U) + 2.0 * U * (Linalg.hypotNorm x + Linalg.hypotNorm y + img.FNorm / fL) + U * lamN
                + img.FErr / fL + e
            if Double.IsFinite total then Some total else None
