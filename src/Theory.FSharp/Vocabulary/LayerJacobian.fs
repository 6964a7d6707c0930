/// The Jacobian of one layer h ↦ h + (1/L)V σ(W h) of the MLP, formed in float64 with a bound on its rounding, and
/// certified upper values of the norms of products of such Jacobians along a pass (docs/theorems/RunIntegrity.md,
/// "Tolerance from rounding"; docs/theorems/EulerError.md, "B.bound.secant"). The one home of the Jacobian's formation:
/// B.bound.secant's propagation factors (`Secant.propagationFactors`, secant slopes) and the rounding allowance τ
/// (`Rounding`, tangent slopes at the verifier's states) both form it here. Every function takes the verifier's unit
/// roundoff u (float64, `Rounding.Float64UnitRoundoff`) from its caller.
module ResOdeProofs.Theory.LayerJacobian

open System
open ResOdeProofs.Numerics

/// The 16 of `evalErr`'s bound, named once: the per-state count's lanes (`RoundingSums.StateSquares`) take EvalErrUnits·u as
/// their coefficient of (1 + |value|).
[<Literal>]
let EvalErrUnits = 16.0

/// The accuracy taken for σ(a) and σ'(a) as computed: an absolute error of at most 16u·(1 + |value|). GELU: its kernels'
/// bounds (docs/theorems/GeluKernel.md); tanh and softplus: built on the engine's own correctly rounded exp, log and tanh
/// (PortableMath), checked at every SIMD level against 320-bit references (worst 1.22u·(1 + |value|) on 5 245 arguments
/// in [−40, 40], PortableMathTests), no longer an assumption about a platform's library.
let evalErr (u: float) (value: float) = EvalErrUnits * u * (1.0 + abs value)

/// The bound on |σ'(a) − σ'(a*)| of `tangentSlope` for a σ'' bounded by s2, given the computed σ'(a) `mid`.
let slopeError (u: float) (s2: float) (preErr: float) (a: float) (mid: float) = evalErr u mid + s2 * u * (abs a + abs a) + s2 * preErr

/// σ'(a) at a computed pre-activation a and a bound on |σ'(a) − σ'(a*)| for the exact pre-activation a*, given a bound
/// `preErr` on |a − a*|: the evaluation error of σ', a rounding of the argument (s2·2u|a|) and the move s2·preErr
/// (s2 = sup|σ''|). Identity: slope 1, exact. Relu (no s2): 0 or 1, with error 1 when a is within preErr of the kink.
let tangentSlope (u: float) (act: ActivationKind) (s2: float option) (preErr: float) (a: float) : struct (float * float) =
    match act, s2 with
    | ActivationKind.Identity, _ -> struct (1.0, 0.0)
    | _, Some s2 ->
        let mid = Activations.Derivative(act, a)
        struct (mid, slopeError u s2 preErr a mid)
    | _, None -> struct ((if a > 0.0 then 1.0 else 0.0), (if abs a <= preErr then 1.0 else 0.0))

/// `tangentSlope` at every entry of a[aAt .. aAt + m − 1] (the pre-activations of one layer and sample), with preErr_j = `errScale`·`absSums`.[j]:
/// the slopes into `slopes`, the largest error returned. With σ'' bounded the derivatives are taken in lanes
/// (`Activations.Derivatives`, the bits of `Activations.Derivative`) and each error by `slopeError`, as `tangentSlope` forms
/// it, so every number is `tangentSlope`'s.
let tangentSlopes (u: float) (act: ActivationKind) (s2: float option) (errScale: float) (absSums: float[]) (a: float[]) (aAt: int) (slopes: float[]) =
    let n = slopes.Length
    let mutable epsMax = 0.0
    match act, s2 with
    | ActivationKind.Identity, _
    | _, None ->
        for j in 0 .. n - 1 do
            let struct (q, e) = tangentSlope u act s2 (errScale * absSums.[j]) a.[aAt + j]
            slopes.[j] <- q
            epsMax <- max epsMax e
    | _, Some s2 ->
        Activations.Derivatives(act, ReadOnlySpan(a, aAt, n), Span(slopes, 0, n))
        for j in 0 .. n - 1 do
            epsMax <- max epsMax (slopeError u s2 (errScale * absSums.[j]) a.[aAt + j] slopes.[j])
    epsMax

/// Forms Ĵ = I + (V diag(D)/L) W in `j` (d×d, row-major) for layer weights W (m×d at offset o of `w`) and V (d×m at
/// offset o of `v`) and slopes D (length m): V diag(D)/L rounded entry by entry into `vd` (d×m), then every entry of the
/// product summed over j in order (`Layerwise.MultiplyOrdered`), then 1 added on the diagonal.
let form (depth: int) (m: int) (d: int) (w: float[]) (v: float[]) (o: int) (slopes: float[]) (vd: float[]) (j: float[]) =
    let fL = float depth
    for r in 0 .. d - 1 do
        for jj in 0 .. m - 1 do vd.[r * m + jj] <- v.[o + r * m + jj] * slopes.[jj] / fL
    // (each row as a sum of scaled rows of W_k, j in order, lanes over the columns, the row's sums in registers: the
    // same products and sums as entry by entry, so the same bits; 0 + acc = acc off the diagonal, acc never being −0)
    Model.Layerwise.MultiplyOrdered(ReadOnlySpan(vd), d, m, ReadOnlySpan(w, o, m * d), d, Span(j))
    for r in 0 .. d - 1 do
        j.[r * d + r] <- 1.0 + j.[r * d + r]

/// A bound η ≥ ‖J − Ĵ‖₂ of `form`'s rounding and of the slopes' errors: (‖V‖₂‖W‖₂·max_j ε_j + (m + 2)u·(s1 + max_j ε_j)·
/// ‖V‖_F‖W‖_F)/L, ε_j the slope errors, `frobenius` = ‖V‖_F‖W‖_F (the second term: every entry of the product is a sum
/// of m products of entries each rounded once, |error| ≤ (m + 2)u·(|V||D||W|) entrywise, whose spectral norm is at most
/// its Frobenius norm ≤ (s1 + ε)‖V‖_F‖W‖_F).
let formError (u: float) (depth: int) (m: int) (s1: float) (vOp: float) (wOp: float) (epsMax: float) (frobenius: float) =
    (vOp * wOp * epsMax + float (m + 2) * u * (s1 + epsMax) * frobenius) / float depth

/// An upper value of ‖M‖₂ for a computed d×d matrix M (row-major at offset 0): min(‖M‖_F·(1 + γ_{d²+5}),
/// (‖M‖₁‖M‖_∞)^{1/2}·(1 + γ_{2d+4})), each ≥ ‖M‖₂ (O(d²), no eigenvalues; +∞ when an entry is not finite). The sums
/// (`SpectralNorm.CheapSums`) are taken in any order, so each is within γ_k of its exact value for its count k of terms:
/// Σ M_ij² (d² squares, each rounded once) within γ_{d²}, its square root one rounding more, so ‖M‖_F ≤
/// fl(√Σ)/(1 − γ_{d²+1}); each row and column sum of |M_ij| (exact) within γ_{d−1}, their product and its root two
/// roundings more, so (‖M‖₁‖M‖_∞)^{1/2} ≤ fl(√(r·c))/(1 − γ_{2d}); and 1 + γ_{k+4}, formed and applied in floating
/// point, is at least 1/(1 − γ_k) (docs/theorems/RunIntegrity.md, step 2).
let cheapNormBound (u: float) (d: int) (mat: float[]) =
    let struct (squares, rowMax, colMax) = Model.SpectralNorm.CheapSums(d, ReadOnlySpan(mat))
    if not (Double.IsFinite squares) then Double.PositiveInfinity
    else
        let raise (k: int) =
            let g = float k * u
            1.0 + g / (1.0 - g)
        min (sqrt squares * raise (d * d + 5)) (sqrt (rowMax * colMax) * raise (2 * d + 4))

/// The share of a level that `screenLevel` keeps: 1 − 10⁻¹⁰, far below the relative error of a computed spectral norm
/// (of order du, `SpectralNorm`) and of the few roundings between a norm and the maximum it is compared with.
[<Literal>]
let ScreenMargin = 0.9999999999

/// The level τ a segment's norm must be proven below (`SpectralNorm.BelowOrUpper`) so that its value
/// min(cheap, N̄(M̂)) + eps (N̄ the certified upper value, within `raise`/`ScreenMargin` of ‖M̂‖₂) could not raise `level`: (level − eps)/raise lowered by `ScreenMargin`, and 0 (nothing
/// proven) unless eps ≤ level/2 (then the margin covers the roundings of the sum and product that compare the value with the level).
/// A proof against τ alone keeps the bound certified: ‖M‖₂ ≤ ‖M̂‖₂ + eps < τ + eps ≤ level.
let screenLevel (level: float) (eps: float) (raise: float) =
    if eps <= 0.5 * level then (level - eps) / raise * ScreenMargin else 0.0

/// The block length of `segmentBound`: ⌈(2L)^{1/3}⌉, which minimises its count of products L·B/2 + (L/B)²/2
/// (B³ = 2L): 6 at L = 64, 8 at L = 256.
let blockLength (depth: int) =
    // the least B ≥ 1 with B³ ≥ 2L, in integers (no rounding of a cube root to guard against)
    let mutable b = 1
    while int64 b * int64 b * int64 b < 2L * int64 depth do b <- b + 1
    b

/// A block's worst case Π ν_k at or below which `segmentBoundBlocks` takes it as the block's largest segment norm:
/// 1 + 2⁻⁴. A choice of cost, not of validity (both are upper bounds of the same maximum): forming a block's
/// B(B + 1)/2 segments and their norms is most of the products' cost (L = 1 024: 91 of the 130 products per block and
/// sample), and where the worst case is within 2⁻⁴ of 1 the exact maximum (≥ 1) could lower the bound T by at most
/// (1 + 2⁻⁴)² ≈ 1.13 (docs/theorems/RunIntegrity.md, step 2, "Blocks near the identity").
[<Literal>]
let BlockWorstCase = 1.0625

/// An upper value of max over all segments 0 ≤ a < b ≤ L of ‖J_b ⋯ J_{a+1}‖₂ for the computed Jacobians `js` (js.[k − 1]
/// = Ĵ_k, d×d), each product computed in float64: `eps` ≥ ‖M − M̂‖₂ for every product M̂ formed here against the exact
/// product M of the exact Jacobians J_k (the caller's bound, `Rounding`), added to every norm taken. The chain is cut
/// into blocks of B = `blockLength` L layers; every segment inside one block is formed (B(B + 1)/2 products per block), and a segment
/// from block t₁ to block t₂ > t₁ is at most c_{t₂}·‖F_{t₂−1} ⋯ F_{t₁+1}‖₂·c_{t₁} (submultiplicativity), c_t the largest
/// norm of a segment inside block t (at least 1, the empty segment) and F_t block t's full product; the products of
/// consecutive full blocks are formed ((L/B)²/2 products): about L·B/2 + (L/B)²/2 products of d×d matrices in all
/// (L = 64, B = 6: about 250 per sample; L = 256, B = 8: 1 552), against L²/2 for every segment.
/// With `screen`, a norm the cheap value cannot settle is first screened (`screenLevel`, `SpectralNorm.BelowOrUpper`: a
/// Gram matrix and one Cholesky factorization) and taken only when the screen cannot prove it below the maximum it
/// is compared with; a screened norm could not have raised that maximum, so the value is the same bits as without it.
/// With `nu` (Some ν: ν_k ≥ ‖J_k‖₂ of the exact Jacobians, one per layer), a block whose worst case Π_{k in block} max(1, ν_k)
/// (rounded up) is at most `BlockWorstCase` takes it as c_t instead of forming its segments: every segment inside the
/// block is at most that product (submultiplicativity), and the exact maximum, at least 1, could lower c_t by at most
/// that factor, so T by at most its square; only the block's full product is formed.
let segmentBoundBlocks (screen: bool) (u: float) (d: int) (eps: float) (nu: float[] option) (js: float[][]) =
    let L = js.Length
    let B = blockLength L
    let nb = (L + B - 1) / B
    let dd = d * d
    let mutable cur = Array.zeroCreate dd
    let mutable next = Array.zeroCreate dd
    let full = Array.init nb (fun _ -> Array.zeroCreate dd)
    let c = Array.create nb 1.0
    // a computed norm is taken as its certified upper value (`SpectralNorm.UpperOfBlock`; until 2026-12-06 the bisection
    // estimate times this factor, an allowance derived nowhere); the factor stays in the screen's level, where it and
    // `ScreenMargin` cover the upper value's excess over ‖M̂‖₂ (the shift 2⁻⁴⁴ and a few d²u)
    let raise = 1.0 + 4.0 * float d * u
    // every segment of one block, one after the other (at most B(B + 1)/2 of them), and their cheap norm values
    let segs = Array.zeroCreate (B * (B + 1) / 2 * dd)
    let cheap = Array.zeroCreate (B * (B + 1) / 2)
    for t in 0 .. nb - 1 do
        let first, last = t * B, min L ((t + 1) * B) - 1 // 0-based indices of the block's layers
        // the block's worst case Π max(1, ν_k), raised by (1 + 2(B + 1)u) for its B rounded products
        let worst =
            match nu with
            | None -> infinity
            | Some nu ->
                let mutable p = 1.0
                // max(1, ν_k): a segment inside the block is at most the product over its own layers, which a factor
                // below 1 elsewhere in the block would not bound
                for k in first .. last do p <- p * max 1.0 nu.[k]
                p * (1.0 + 2.0 * float (last - first + 2) * u)
        if worst <= BlockWorstCase then
            // every segment of exact Jacobians inside the block is at most Π ν_k: c_t without forming them; the full product
            // F̂_t (Ĵ_last ⋯ Ĵ_first) for the products across blocks, formed as the segments from `first` are above
            c.[t] <- max 1.0 worst
            Array.blit js.[first] 0 cur 0 dd
            for b in first + 1 .. last do
                Model.Layerwise.MultiplyOrdered(ReadOnlySpan(js.[b]), d, d, ReadOnlySpan(cur), d, Span(next))
                let s = cur
                cur <- next
                next <- s
            Array.blit cur 0 full.[t] 0 dd
        else
        // (otherwise) every segment of the block formed, and its largest norm
        let mutable count = 0
        for a in first .. last do
            Array.blit js.[a] 0 segs (count * dd) dd
            count <- count + 1
            for b in a + 1 .. last do
                // segment (a, b] ← Ĵ_b · segment (a, b − 1]
                Model.Layerwise.MultiplyOrdered(ReadOnlySpan(js.[b]), d, d, ReadOnlySpan(segs, (count - 1) * dd, dd), d, Span(segs, count * dd, dd))
                count <- count + 1
            if a = first then Array.blit segs ((count - 1) * dd) full.[t] 0 dd
        for q in 0 .. count - 1 do
            Array.blit segs (q * dd) cur 0 dd
            cheap.[q] <- cheapNormBound u d cur
        // the largest norm: the spectral norm only of the segments whose cheap value could still raise it, largest first
        let order = Array.init count id |> Array.sortBy (fun q -> -cheap.[q])
        let mutable q = 0
        while q < count && cheap.[order.[q]] + eps > c.[t] do
            let tau = if screen then screenLevel c.[t] eps raise else 0.0
            let below, upper = Model.SpectralNorm.BelowOrUpper(d, segs, order.[q] * dd, tau)
            if not below then c.[t] <- max c.[t] (min cheap.[order.[q]] upper + eps)
            q <- q + 1
    let mutable best = Array.max c
    for t1 in 0 .. nb - 2 do
        // t2 = t1 + 1: the empty product of full blocks between them
        best <- max best (c.[t1] * c.[t1 + 1] * (1.0 + 4.0 * u))
        if t1 + 2 <= nb - 1 then
            Array.blit full.[t1 + 1] 0 cur 0 dd
            for t2 in t1 + 2 .. nb - 1 do
                let scale = c.[t1] * c.[t2] * (1.0 + 4.0 * u)
                let needed = best / scale
                let cheapF = cheapNormBound u d cur
                if cheapF <= needed then best <- max best (scale * (cheapF + eps) * (1.0 + 4.0 * u))
                else
                    // the value scale·(min(cheap, ‖F̂‖₂·raise) + eps)·(1 + 4u) can raise best only above needed/(1 + 4u)
                    let tau = if screen then screenLevel (needed / (1.0 + 4.0 * u)) eps raise else 0.0
                    let below, upper = Model.SpectralNorm.BelowOrUpper(d, cur, 0, tau)
                    if not below then best <- max best (scale * (min cheapF upper + eps) * (1.0 + 4.0 * u))
                if t2 < nb - 1 then
                    Model.Layerwise.MultiplyOrdered(ReadOnlySpan(full.[t2]), d, d, ReadOnlySpan(cur), d, Span(next))
                    let s = cur
                    cur <- next
                    next <- s
    best

/// `segmentBoundBlocks` without per-layer values (every block's segments formed).
let segmentBoundWith (screen: bool) (u: float) (d: int) (eps: float) (js: float[][]) =
    segmentBoundBlocks screen u d eps None js

/// `segmentBoundWith` with the screen: the bound of docs/theorems/RunIntegrity.md, step 2.
let segmentBound (u: float) (d: int) (eps: float) (js: float[][]) = segmentBoundWith true u d eps js
