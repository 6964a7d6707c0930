/// The constants of the gated (GLU) residual block f(θ, h) = V(σ(W h) ⊙ (U h)), θ = (W, U, V), W and U m×d, V d×m
/// (derivation: docs/theorems/GluBlock.md). With M_W ≥ ‖W‖₂, M_U ≥ ‖U‖₂, M_V ≥ ‖V‖₂, H ≥ ‖h‖, the global constants
/// s0 = |σ(0)|, s1 = sup|σ'|, s2 = sup|σ''| of σ, and γ = s0 + s1·M_W·H ≥ ‖σ(W h)‖_∞:
///   κ = M_V M_U (γ + s1 M_W H),
///   J = ((s1 M_V M_U H²)² + (M_V γ H)² + (M_U γ H)²)^{1/2},
///   F = M_V M_U γ H,   F₀ = 0 = ‖f(θ, 0)‖ (the gate U h vanishes at h = 0),
///   C_θθ = ρ(Q), Q the symmetric 3×3 matrix over the parts (W, U, V) with Q_WW = s2 M_V M_U H³, Q_WU = s1 M_V H²,
///          Q_WV = s1 M_U H², Q_UV = γ H, Q_UU = Q_VV = 0 (ρ bounded above by Collatz–Wielandt),
///   C_hθ = ((M_V M_U H (s2 M_W H + 2 s1))² + (M_V (γ + s1 M_W H))² + (M_U (γ + s1 M_W H))²)^{1/2},
/// and lemma L5 in the generic form a = P·C_θθ, b = P(C_hθ F + J κ). The output is quadratic in h, so the state bound H of a run may be +∞; every
/// product of bounds is taken with 0·∞ = 0 (a part or state whose bound is 0 is zero, and so is every term it
/// multiplies), so a constant is never NaN: it is finite, or +∞ (no bound claimed).
module ResOdeProofs.Theory.GluBlock

open ResOdeProofs.Theory

/// a·b for nonnegative bounds with 0·∞ = 0: a factor bounded by 0 is 0, and makes the product 0 whatever the other.
let mul (a: float) (b: float) = if a = 0.0 || b = 0.0 then 0.0 else a * b

let private prod (xs: float list) = List.fold mul 1.0 xs

let private mW (b: IterateBounds) = Architecture.part b.PartOp "W"
let private mU (b: IterateBounds) = Architecture.part b.PartOp "U"
let private mV (b: IterateBounds) = Architecture.part b.PartOp "V"
/// γ = s0 + s1 M_W H ≥ |σ(a_r)| for every row r (|σ(a)| ≤ |σ(0)| + s1|a|, |a_r| ≤ ‖W‖₂‖h‖).
let private gamma (b: IterateBounds) = b.S0 + prod [ b.S1; mW b; b.Hidden ]

/// An upper bound on the spectral radius ρ(Q) of a symmetric nonnegative matrix (= its spectral norm): power iteration
/// kept positive, then the Collatz–Wielandt bound max_i (Qx)_i / x_i, valid for every positive x. +∞ if an entry is.
let spectralRadiusBound (q: float[,]) =
    let n = Array2D.length1 q
    if Seq.exists (fun v -> System.Double.IsPositiveInfinity v) (Seq.cast<float> q) then infinity
    else
        let apply (x: float[]) = Array.init n (fun i -> Seq.sum (seq { for j in 0 .. n - 1 -> q.[i, j] * x.[j] }))
        let mutable x = Array.create n 1.0
        for _ in 1 .. 60 do
            let y = apply x
            let top = Comparison.maxKeepNaN y
            x <- if top > 0.0 then y |> Array.map (fun v -> v / top + 1e-6) else x
        let y = apply x
        Array.map2 (/) y x |> Comparison.maxKeepNaN

/// The 3×3 matrix Q of C_θθ (parts W, U, V).
let thetaThetaMatrix (b: IterateBounds) =
    let h = b.Hidden
    let h2, h3 = mul h h, prod [ h; h; h ]
    let ww, wu, wv, uv = prod [ b.S2; mV b; mU b; h3 ], prod [ b.S1; mV b; h2 ], prod [ b.S1; mU b; h2 ], mul (gamma b) h
    array2D [ [ ww; wu; wv ]; [ wu; 0.0; uv ]; [ wv; uv; 0.0 ] ]

let private norm3 (a: float) (b: float) (c: float) = sqrt (a * a + b * b + c * c)

/// max over the rows r of the m×d matrix stored at `o` in both layers (offsets o1, o2) of |(X h)_r|, an upper value:
/// each computed sum plus 2(d + 1)u times the sum of the absolute products (the rounding of a d-term sum).
let private rowMax (at: PairAtState) (o: int) (m: int) (d: int) =
    let u = System.Math.ScaleB(1.0, -53)
    let mutable best = 0.0
    for first in [ at.First; at.Second ] do
        for r in 0 .. m - 1 do
            let mutable acc, mag = 0.0, 0.0
            for c in 0 .. d - 1 do
                let t = at.Theta.[first + o + r * d + c] * at.State.[at.StateOffset + c]
                acc <- acc + t
                mag <- mag + abs t
            best <- max best (abs acc + 2.0 * float (d + 1) * u * mag)
    best

/// C_θθ at one state h on the segment between two layers (docs/theorems/GluBlock.md, "C_θθ at a state"): Q with
/// c∞ = max_t ‖U(t)h‖_∞ and γ_h = s0 + s1 max_t ‖W(t)h‖_∞ in place of M_U H and γ (entrywise affine in t: the maxima
/// are at the two layers), H = ‖h‖.
let thetaThetaAtState (b: IterateBounds) (at: PairAtState) =
    let d = b.Dim
    let m = int (Architecture.part b.Hyper "width")
    let h = Linalg.frobenius at.State at.StateOffset d
    let aInf, cInf = rowMax at 0 m d, rowMax at (m * d) m d
    let gammaH = b.S0 + mul b.S1 aInf
    let h2 = mul h h
    let ww, wu, wv, uv = prod [ b.S2; mV b; cInf; h2 ], prod [ b.S1; mV b; h2 ], prod [ b.S1; cInf; h ], mul gammaH h
    spectralRadiusBound (array2D [ [ ww; wu; wv ]; [ wu; 0.0; uv ]; [ wv; uv; 0.0 ] ])

/// The gated block's constants.
let architecture : Architecture =
    let rec arch =
        { Name = "glu"
          Title = "gated residual block V(sigma(W h) * (U h))"
          Doc = "docs/theorems/GluBlock.md"
          Requirements = [ Architecture.smoothActivation ]
          LipschitzH = fun b -> prod [ mV b; mU b; gamma b + prod [ b.S1; mW b; b.Hidden ] ]
          LipschitzTheta =
            fun b ->
                let h = b.Hidden
                norm3 (prod [ b.S1; mV b; mU b; h; h ]) (prod [ mV b; gamma b; h ]) (prod [ mU b; gamma b; h ])
          OutputBound = fun b -> prod [ mV b; mU b; gamma b; b.Hidden ]
          // f(θ, 0) = V(σ(0) ⊙ U·0) = 0 for every θ
          OutputAtZero = fun _ -> 0.0
          SecondDerivatives =
            fun b ->
                let h = b.Hidden
                let g2 = gamma b + prod [ b.S1; mW b; h ]
                spectralRadiusBound (thetaThetaMatrix b),
                norm3 (prod [ mV b; mU b; h; prod [ b.S2; mW b; h ] + 2.0 * b.S1 ]) (mul (mV b) g2) (mul (mU b) g2)
          // lemma L5's generic form a = P·C_θθ, b = P(C_hθ F + J κ), with 0·∞ = 0 (Architecture.lemmaL5 multiplies plainly)
          GradientDifference =
            fun b ->
                let cTT, cHT = arch.SecondDerivatives b
                mul b.AdjointSum cTT, mul b.AdjointSum (mul cHT (arch.OutputBound b) + mul (arch.LipschitzTheta b) (arch.LipschitzH b))
          ThetaThetaAtState = Some thetaThetaAtState
          PartBracket = None
          // C_hh = M_V M_W(s2 M_W M_U H + 2 s1 M_U), with 0·∞ = 0 (docs/theorems/GluBlock.md, "C_hh")
          StateCurvature =
            Some(fun b ->
                let mw, mu = Architecture.part b.PartOp "W", Architecture.part b.PartOp "U"
                mul (mul (Architecture.part b.PartOp "V") mw) (mul (mul b.S2 mw) (mul mu b.Hidden) + 2.0 * mul b.S1 mu)) }
    arch
