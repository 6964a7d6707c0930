/// Result A: depth-smoothness during training, for a finite horizon (docs/theorems/DepthSmoothness.md).
///
/// Gradient descent Z ← Z − η·G gives Δ_k^{j+1} = Δ_k^j − η(G_{k+1} − G_k)(Z^j), and lemma L5 gives
///   ‖Δ_k^{j+1}‖ ≤ (1 + η a_j)‖Δ_k^j‖ + η b_j/L,
///   max_k ‖Δ_k(t_j)‖ ≤ Π_{i<j}(1 + η a_i)·max_k ‖Δ_k(0)‖ + (1/L) Σ_{i<j} η b_i Π_{i<l<j}(1 + η a_l).
/// The a posteriori version runs the sharper two-component recursion (W and V parts apart) with the
/// coefficients computed from the run's trace at every iterate, lemma L5 per layer at the snapshots: the MLP's
/// ingredients of the statements written once for every architecture in AposterioriFamily.fs (rows A.aposteriori,
/// A.aposteriori.segments); the a priori version uses only the initialization, the data norms and the clip radius.
module ResOdeProofs.Theory.DepthSmoothness

open System
open ResOdeProofs.Numerics
open ResOdeProofs.Theory
open ResOdeProofs.Theory.LemmaChain
open ResOdeProofs.Theory.Comparison
open ResOdeProofs.Theory.Hypotheses

/// The coefficients of L5 bounded by iterate-level maxima (per iterate j).
type Coefficients =
    { AWW: float; AWV: float; AVW: float; BW: float; BV: float }
    /// joint a = ‖[[a_WW, a_WV], [a_VW, 0]]‖₂
    member c.A = jointCoefficient c.AWW c.AWV c.AVW
    /// joint b = (b_W² + b_V²)^{1/2}
    member c.B = sqrt (c.BW * c.BW + c.BV * c.BV)

/// Coefficients from maxima: H ≥ max_{k,i}‖h_k^i‖, P ≥ max_k Σ_i‖p_k^i‖, M_W, M_V ≥ max_k ‖·‖₂,
/// S ≥ max_{k,i}‖σ(u_k^i)‖, s1 ≥ |σ'|, s2 ≥ |σ''| on the pre-activation range:
///   F = M_V·S, κ = s1 M_V M_W,
///   a_WW = s2 M_V H² P, a_WV = a_VW = s1 H P,
///   b_V = P(κ S + s1 M_W F), b_W = P(H(s2 M_V M_W F + s1 M_V κ) + s1 M_V F).
let coefficients (h: float) (p: float) (mw: float) (mv: float) (sg: float) (s1: float) (s2: float) =
    let f = mv * sg
    let kap = s1 * mv * mw
    { AWW = s2 * mv * h * h * p
      AWV = s1 * h * p
      AVW = s1 * h * p
      BV = p * (kap * sg + s1 * mw * f)
      BW = p * (h * (s2 * mv * mw * f + s1 * mv * kap) + s1 * mv * f) }

let private doc = "docs/theorems/DepthSmoothness.md"

let private trace (run: Run) name =
    match run.Trace name with
    | Some c -> c
    | None -> raise (MissingInput(sprintf "the run has no trace column '%s'" name))

let private traceColumns =
    [ "loss"; "smooth_z"; "smooth_w"; "smooth_v"; "step_max"; "w_fro_max"; "v_fro_max"; "hidden_max"; "adjoint_sum_max"; "preact_min"; "preact_max" ]

let private hasTrace =
    "per-iterate quantities the coefficients need (computed by the verifier)", fun (run: Run) ->
        match traceColumns |> List.filter (fun c -> (run.Trace c).IsNone) with
        | [] -> Met "all columns available"
        | missing -> NotMet(run.TraceUnavailable missing)

/// The hypotheses of result A's statements (A.aposteriori, its segments, A.flow; A.apriori adds the clip).
let private statementHypotheses = [ smoothSigma; lipschitzInit; notDiverged; noFault; whenOthersHold hasTrace; initialSnapshot ]

/// Certified upper values of max_k ‖W_k‖₂ and max_k ‖V_k‖₂ at every iterate j: the exact spectral norms
/// of the latest snapshot s ≤ j plus the accumulated update Σ_{s≤i<j} step_max_i (Weyl: ‖A + E‖₂ ≤ ‖A‖₂ + ‖E‖_F),
/// and never more than the Frobenius maxima w_fro_max, v_fro_max.
let certifiedOperatorNorms (run: Run) : float[] * float[] =
    let n = run.Losses.Length
    let step = trace run "step_max"
    let wf, vf = trace run "w_fro_max", trace run "v_fro_max"
    let mw, mv = Array.zeroCreate n, Array.zeroCreate n
    let mutable s = -1
    let mutable baseW, baseV, acc = infinity, infinity, 0.0
    for j in 0 .. n - 1 do
        if s + 1 < run.SnapshotCount && run.Steps.[s + 1] = j then
            s <- s + 1
            let sn = snapshotNorms run s
            baseW <- Comparison.maxKeepNaN sn.WOp
            baseV <- Comparison.maxKeepNaN sn.VOp
            acc <- 0.0
        elif j > 0 then acc <- acc + step.[j - 1]
        mw.[j] <- min wf.[j] (baseW + acc)
        mv.[j] <- min vf.[j] (baseV + acc)
    mw, mv

/// The a posteriori coefficients at every iterate, from the trace.
let aposterioriCoefficients (run: Run) : Coefficients[] =
    let act = run.Setting.Activation
    let sqm = sqrt (float run.Setting.Width)
    let mw, mv = certifiedOperatorNorms run
    let h, p = trace run "hidden_max", trace run "adjoint_sum_max"
    let lo, hi = trace run "preact_min", trace run "preact_max"
    Array.init run.Losses.Length (fun j ->
        let lo0, hi0 = min lo.[j] 0.0, max hi.[j] 0.0
        let s1 = Activations.SupAbsDerivative(act, lo0, hi0)
        let s2 = Activations.SupAbsSecondDerivative(act, lo.[j], hi.[j])
        // ‖σ(u)‖ ≤ min(√m·sup|σ| on the range, s0√m + s1‖u‖), ‖u‖ ≤ M_W H
        let sg = min (sqm * Activations.SupAbsValue(act, lo.[j], hi.[j])) (run.Setting.S0 * sqm + s1 * mw.[j] * h.[j])
        coefficients h.[j] p.[j] mw.[j] mv.[j] sg s1 s2)

/// Runs the recursion: for plain GD the two-component one
///   x_{j+1} = x_j + η(a_WW x_j + a_WV y_j + b_W/L) + r^W_j,  y_{j+1} = y_j + η(a_VW x_j + b_V/L) + r^V_j,  bound_j = (x_j² + y_j²)^{1/2};
/// for clipped GD (projection onto a ball is 1-Lipschitz, but not componentwise) the scalar one
///   z_{j+1} = (1 + η a_j) z_j + η b_j/L + ((r^W_j)² + (r^V_j)²)^{1/2},
/// with (r^W_j, r^V_j) = extra.[j] the rounding allowance of update j (`Rounding.updateAllowance`; empty: none).
let recursionWith (extra: (float * float)[]) (eta: float) (depth: int) (twoComponent: bool) (x0: float) (y0: float) (cs: Coefficients[]) : float[] =
    let L = float depth
    let out = Array.zeroCreate cs.Length
    let mutable x, y = x0, y0
    let mutable z = sqrt (x0 * x0 + y0 * y0)
    for j in 0 .. cs.Length - 1 do
        out.[j] <- (if twoComponent then sqrt (x * x + y * y) else z)
        let c = cs.[j]
        let rw, rv = if j < extra.Length then extra.[j] else (0.0, 0.0)
        let x' = x + eta * (c.AWW * x + c.AWV * y + c.BW / L) + rw
        let y' = y + eta * (c.AVW * x + c.BV / L) + rv
        x <- x'
        y <- y'
        z <- AposterioriFamily.step eta L c.A c.B z + sqrt (rw * rw + rv * rv)
    out

/// The recursion in exact arithmetic (no rounding allowance).
let recursion (eta: float) (depth: int) (twoComponent: bool) (x0: float) (y0: float) (cs: Coefficients[]) : float[] =
    recursionWith [||] eta depth twoComponent x0 y0 cs

/// The rounding allowance of every update j → j + 1 of a gradient-descent run in its recorded precision, from the
/// trace's Frobenius maxima after the update and the update's step_max (`Rounding.updateAllowance`).
let roundingAllowance (run: Run) : (float * float)[] =
    let wf, vf, step = trace run "w_fro_max", trace run "v_fro_max", trace run "step_max"
    Array.init (max 0 (run.Losses.Length - 1)) (fun j -> Rounding.updateAllowance run wf.[j + 1] vf.[j + 1] step.[j])

/// The MLP's track of result A's comparison (`AposterioriFamily.checks`): measured by the trace's smooth_z, each bound
/// with the rounding of the measured increment in the run's precision (`Rounding.incrementMeasurement`, with
/// max_k‖Z_k‖_F ≤ (w_fro_max² + v_fro_max²)^{1/2}).
let private track (run: Run) (bound: float[]) : AposterioriFamily.Track =
    let wf, vf = trace run "w_fro_max", trace run "v_fro_max"
    { Bound = bound; Measured = trace run "smooth_z"
      Allowance = fun j m -> Rounding.incrementMeasurement run m (sqrt (wf.[j] * wf.[j] + vf.[j] * vf.[j]))
      IterateLabel = "max_k ‖Z_{k+1} − Z_k‖_F (the verifier's smooth_z column: the replay)"; SnapshotLabel = "max_k ‖Z_{k+1} − Z_k‖_F (snapshot weights)" }

let private compareWithRun (run: Run) (from: int) (bound: float[]) = AposterioriFamily.checks run from (track run bound)

/// The a posteriori bound at every iterate (two-component recursion for GD, scalar for clipped GD).
let aposterioriBound (run: Run) : float[] =
    let cs = aposterioriCoefficients run
    // initial increments max_k‖ΔW_k(0)‖, max_k‖ΔV_k(0)‖ (iteration 0 is always a snapshot: the trace and the weights agree, RunIntegrity checks it)
    let sw, sv = trace run "smooth_w", trace run "smooth_v"
    recursionWith (roundingAllowance run) run.Setting.Eta run.Setting.Depth (run.Setting.Optimizer <> "clipped-gd") sw.[0] sv.[0] cs

/// The scalar form of the theorem, z_{j+1} = (1 + η a_j)z_j + η b_j/L, with the same coefficients.
let aposterioriScalarBound (run: Run) : float[] =
    let cs = aposterioriCoefficients run
    recursionWith (roundingAllowance run) run.Setting.Eta run.Setting.Depth false (trace run "smooth_w").[0] (trace run "smooth_v").[0] cs

/// Per-layer increments (‖ΔW_k‖_F, ‖ΔV_k‖_F), k = 1..L−1, of snapshot s.
let private layerIncrements (run: Run) (s: int) =
    let md = run.Shape.LayerSize
    let w, v = run.W s, run.V s
    Array.init (run.Setting.Depth - 1) (fun i ->
        let k = i + 1
        Linalg.frobeniusDiff w (k * md) w ((k - 1) * md) md, Linalg.frobeniusDiff v (k * md) v ((k - 1) * md) md)

/// The recursion run layer by layer (one state (x_k, y_k) per k, since L5 bounds ‖G_{k+1} − G_k‖ by the
/// increments of the same k): at an iterate that is a snapshot the exact per-layer coefficients of lemma L5
/// (`LemmaChain.gradientDifferenceCoefficients`) are used, elsewhere the trace maxima (which bound every
/// layer's). With restart = true the state is reset to the snapshot's own increments after the snapshot has
/// been compared (the theorem applied on each interval between snapshots); the value at a snapshot iterate
/// is always the one propagated from earlier iterates, never read from the weights it is compared with.
let layerwiseBound (run: Run) (restart: bool) : float[] =
    let cs = aposterioriCoefficients run
    let n = cs.Length
    let L, eta = run.Setting.Depth, run.Setting.Eta
    let twoComponent = run.Setting.Optimizer <> "clipped-gd"
    let init = layerIncrements run 0
    let xs = init |> Array.map (fun (x, y) -> if twoComponent then x else sqrt (x * x + y * y))
    let ys = init |> Array.map (fun (_, y) -> if twoComponent then y else 0.0)
    let out = Array.zeroCreate n
    let snapAt = dict [ for s in 0 .. run.SnapshotCount - 1 -> run.Steps.[s], s ]
    let extra = roundingAllowance run
    let current () = Array.map2 (fun x y -> sqrt (x * x + y * y)) xs ys |> Comparison.maxKeepNaNOr 0.0
    for j in 0 .. n - 1 do
        out.[j] <- current ()
        if j < n - 1 then
            let snap = match snapAt.TryGetValue j with | true, s -> Some s | _ -> None
            match snap with
            | Some s when restart && j > 0 ->
                layerIncrements run s |> Array.iteri (fun i (x, y) ->
                    if twoComponent then (xs.[i] <- x; ys.[i] <- y) else (xs.[i] <- sqrt (x * x + y * y); ys.[i] <- 0.0))
            | _ -> ()
            for i in 0 .. xs.Length - 1 do
                let aWW, aWV, aVW, bW, bV =
                    match snap with
                    | Some s -> gradientDifferenceCoefficients run s (i + 1)
                    | None -> let c = cs.[j] in c.AWW, c.AWV, c.AVW, c.BW, c.BV
                let x, y = xs.[i], ys.[i]
                let rw, rv = extra.[j]
                if twoComponent then
                    xs.[i] <- x + eta * (aWW * x + aWV * y + bW / float L) + rw
                    ys.[i] <- y + eta * (aVW * x + bV / float L) + rv
                else
                    xs.[i] <- AposterioriFamily.step eta (float L) (jointCoefficient aWW aWV aVW) (sqrt (bW * bW + bV * bV)) x + sqrt (rw * rw + rv * rv)
    out

/// The theorem restarted at every snapshot (see `layerwiseBound`).
let segmentBound (run: Run) : float[] = layerwiseBound run true

/// The MLP's rows of the a posteriori form of result A (the statements: AposterioriFamily.fs).
let family : AposterioriFamily.Family =
    { Doc = doc; Which = ""
      Source = "paper §3 (finite training time), constants derived here (docs/theorems/DepthSmoothness.md)"
      Network = "on the paper's residual MLP with a smooth σ and a Lipschitz initialization (Δ_k = Z_{k+1} − Z_k, Z_k = (W_k, V_k))"
      Coefficients =
        "a_i, b_i are lemma L5's coefficients bounded by the run's measured maxima at iterate i (hidden_max, adjoint_sum_max, certified operator norms, "
        + "σ' and σ'' on [preact_min, preact_max]), the bound compared is the sharper form of this recursion run layer by layer with L5's exact "
        + "coefficients of each layer at a snapshot iterate, the W and V parts propagated separately for plain GD, each update with its rounding allowance"
      Compared = "max_k ‖Z_{k+1} − Z_k‖_F of the checked trace (smooth_z) and of the snapshots' weights, each with the rounding of the measured increment"
      Restart = "from the per-layer increments of the snapshot's weights, the coefficients as in A.aposteriori"
      Remark = "" }

/// Why the MLP's a posteriori rows hold for any weights (`Evaluation.AnyWeights`): the bound and the increments it is
/// compared with come from the verifier's replay, served only where the replay lands on every recorded snapshot.
let private replayOnly =
    "on a run directory this row cannot fail: its bound and the increments it is compared with come from the verifier's replay, which must land on every recorded snapshot (else hypothesis not met); a corrupted run is rejected by A.split.*, E.replay and I.*"

/// (A, a posteriori) max_k ‖Δ_k(t_j)‖ ≤ bound_j at every iterate, coefficients from the run's own trace.
let aposteriori : Result<Run> =
    AposterioriFamily.aposterioriResult family statementHypotheses (fun run ->
        let cs = aposterioriCoefficients run
        let t = track run (layerwiseBound run false)
        let traceOnly = aposterioriBound run
        let scalar = aposterioriScalarBound run
        let last = t.Bound.Length - 1
        AposterioriFamily.evaluate run t (cs |> Array.map (fun c -> c.A) |> Comparison.maxKeepNaN) (cs |> Array.map (fun c -> c.B) |> Comparison.maxKeepNaN)
            [ "trace-maxima two-component bound at the last iterate", traceOnly.[last]
              "scalar-form (trace maxima) bound at the last iterate", scalar.[last]
              "scalar-form (trace maxima) tightness at the last iterate", AposterioriFamily.tightnessAt { t with Bound = scalar } last ]
            [ Evaluation.AnyWeights; replayOnly; "operator norms: exact snapshot spectral norms + accumulated step_max, capped by the Frobenius maxima" ])

/// e^{M} for a 3×3 matrix with non-negative entries: Taylor series of degree 24 after scaling by 2^{-s} so that
/// ‖M‖_∞/2^s ≤ 1/2 (remainder ≤ 2·(1/2)^25/25! relative, far below float64 rounding), then s squarings.
/// All terms are non-negative, so there is no cancellation.
let private expmNonnegative (m: float[,]) : float[,] =
    let n = Array2D.length1 m
    let norm = Comparison.maxKeepNaN (seq { for i in 0 .. n - 1 -> Seq.sum (seq { for j in 0 .. n - 1 -> abs m.[i, j] }) })
    // the least s with norm·2^{-s} ≤ 1/2, by exact scalings (a logarithm's rounding could miss it by one)
    let mutable s = 0
    while s < 2100 && Math.ScaleB(norm, -s) > 0.5 do s <- s + 1
    let scaled = Array2D.map (fun x -> Math.ScaleB(x, -s)) m
    let mul (a: float[,]) (b: float[,]) = Array2D.init n n (fun i j -> Seq.sum (seq { for k in 0 .. n - 1 -> a.[i, k] * b.[k, j] }))
    let mutable term = Array2D.init n n (fun i j -> if i = j then 1.0 else 0.0)
    let mutable sum = Array2D.copy term
    for k in 1 .. 24 do
        term <- mul term scaled |> Array2D.map (fun x -> x / float k)
        sum <- Array2D.init n n (fun i j -> sum.[i, j] + term.[i, j])
    for _ in 1 .. s do sum <- mul sum sum
    sum

/// The gradient-flow version of the bound: along dZ/dt = −c·G, dΔ_k/dt = −(c_{k+1}G_{k+1} − c_kG_k), and lemma L5
/// gives, for x = max_k ‖ΔW_k‖, y = max_k ‖ΔV_k‖ (upper Dini derivatives),
///   x' ≤ a_WW x + a_WV y + b_W/L,   y' ≤ a_VW x + b_V/L,
/// a cooperative linear system (non-negative off-diagonal coefficients), so by the comparison principle (x, y) stays
/// below the solution of the equalities. Over each output interval [t_j, t_{j+1}] (Δt_j = t_{j+1} − t_j) with
/// coefficients ā ≥ a, b̄ ≥ b on the interval this is exactly
///   (x, y, 1)(t_{j+1}) ≤ exp(Δt_j·[[ā_WW, ā_WV, b̄_W/L], [ā_VW, 0, b̄_V/L], [0, 0, 0]]) (x, y, 1)(t_j).
/// For the clipped flow (projection onto a ball is 1-Lipschitz, but not componentwise) the scalar form
///   z(t_{j+1}) ≤ e^{ā_j Δt_j} z(t_j) + (e^{ā_j Δt_j} − 1)/ā_j · b̄_j/L with the joint a, b.
/// Between output times each coefficient is bounded by the larger of its values at the two ends,
/// ā_j = max(a(t_j), a(t_{j+1})): a sampled bound whose gap is O(Δt·|da/dt|), not a certificate.
let flowBound (run: Run) : float[] =
    let cs = aposterioriCoefficients run
    let L = float run.Setting.Depth
    let n = cs.Length
    let twoComponent = run.Setting.Optimizer = "gf"
    let out = Array.zeroCreate n
    let sw, sv = trace run "smooth_w", trace run "smooth_v"
    let mutable x, y = sw.[0], sv.[0]
    let mutable z = sqrt (sw.[0] * sw.[0] + sv.[0] * sv.[0])
    for j in 0 .. n - 1 do
        out.[j] <- (if twoComponent then sqrt (x * x + y * y) else z)
        if j < n - 1 then
            let dt = FlowRuns.time run (j + 1) - FlowRuns.time run j
            let c0, c1 = cs.[j], cs.[j + 1]
            if twoComponent then
                let mx f = max (f c0) (f c1)
                let m =
                    array2D [ [ mx (fun c -> c.AWW); mx (fun c -> c.AWV); mx (fun c -> c.BW) / L ]
                              [ mx (fun c -> c.AVW); 0.0; mx (fun c -> c.BV) / L ]
                              [ 0.0; 0.0; 0.0 ] ]
                let e = expmNonnegative (Array2D.map (fun v -> v * dt) m)
                let x', y' = e.[0, 0] * x + e.[0, 1] * y + e.[0, 2], e.[1, 0] * x + e.[1, 1] * y + e.[1, 2]
                x <- x'
                y <- y'
            else
                let a = max c0.A c1.A
                let b = max c0.B c1.B
                let g = Portable.exp (a * dt)
                z <- g * z + (if a > 0.0 then (g - 1.0) / a else dt) * b / L
    out

/// (A, gradient flow) max_k ‖Δ_k(t_j)‖ ≤ the Grönwall bound at every output time of a flow run.
let flow : Result<Run> =
  FlowRuns.flowOnly "A.aposteriori"
    { Id = "A.flow"
      Title = "Depth-smoothness along the gradient flow (Grönwall, a posteriori constants)"
      Source = "paper §3 (finite training time, gradient flow), constants derived here (docs/theorems/DepthSmoothness.md)"
      Provenance = ProvedHereEstimated "the producer's integration error"
      Doc = doc
      Statement =
        "For the integrated gradient flow (clipped or not) with a smooth σ and a Lipschitz initialization, max_k ‖Δ_k(t_j)‖ ≤ z_j with z_0 = max_k‖Δ_k(0)‖ and "
        + "(x, y, 1)_{j+1} = exp(Δt_j [[ā_WW, ā_WV, b̄_W/L], [ā_VW, 0, b̄_V/L], [0, 0, 0]]) (x, y, 1)_j (W and V parts; the scalar Grönwall form for the clipped flow), "
        + "the coefficients of lemma L5 from the trace at the output times, ā, b̄ the larger of their values at t_j and t_{j+1}; compared up to the integration allowance 2(steps + 1)·rtol."
      Hypotheses = statementHypotheses @ [ FlowRuns.hypIntegration ]
      Conclusion =
        fun run ->
            let cs = aposterioriCoefficients run
            let bound = flowBound run
            let sz = trace run "smooth_z"
            let last = bound.Length - 1
            // the recursion over the output times with growth t_N·max a (Σ Δt_j a_j ≤ t_N·max a), plus the integrator's allowance
            let aMax = cs |> Array.map (fun c -> c.A) |> Comparison.maxKeepNaN
            let rel = Rounding.recursionRel run last ((FlowRuns.time run last - FlowRuns.time run 0) * aMax) + FlowRuns.integrationRel run
            let e = evaluation rel (compareWithRun run 1 bound) [] []
            { e with
                Constants =
                    [ "a (max over output times)", cs |> Array.map (fun c -> c.A) |> Comparison.maxKeepNaN
                      "b (max over output times)", cs |> Array.map (fun c -> c.B) |> Comparison.maxKeepNaN
                      "max_k |Delta_k(0)|", sz.[0]
                      "bound at the last output", bound.[last]
                      "measured at the last output", sz.[last]
                      "tightness at the last output", (if sz.[last] > 0.0 then bound.[last] / sz.[last] else infinity)
                      "integration allowance (relative)", FlowRuns.integrationRel run ]
                Notes = [ "between output times the coefficients are the larger of their two end values (sampled, not certified)"
                          "both sides read the verifier's integration of the flow from every snapshot (E.flowReplay; the producer's trace is E.claims'); the snapshots carry the producer's integration error, allowed for by 2(steps + 1)·rtol" ] } }

/// max_k ‖W_{k+1} − W_k‖_F and max_k ‖V_{k+1} − V_k‖_F of snapshot s, from its weights.
let snapshotIncrements (run: Run) (s: int) =
    let md = run.Shape.LayerSize
    let w, v = run.W s, run.V s
    let xs = [| for k in 0 .. run.Setting.Depth - 2 -> Linalg.frobeniusDiff w ((k + 1) * md) w (k * md) md |]
    let ys = [| for k in 0 .. run.Setting.Depth - 2 -> Linalg.frobeniusDiff v ((k + 1) * md) v (k * md) md |]
    Comparison.maxKeepNaNOr 0.0 xs, Comparison.maxKeepNaNOr 0.0 ys

/// (A, a posteriori, per snapshot interval) the same inequality restarted at every snapshot.
let aposterioriSegments : Result<Run> =
    AposterioriFamily.aposterioriSegmentsResult family statementHypotheses (fun run ->
        let e = AposterioriFamily.evaluateSegments run (track run (segmentBound run)) (aposterioriCoefficients run |> Array.map (fun c -> c.A) |> Comparison.maxKeepNaN)
        { e with Notes = [ Evaluation.AnyWeights; replayOnly ] @ e.Notes })

/// The a priori coefficients at iterate j from the clip radius C: ‖Z_k(t) − Z_k(0)‖_F ≤ C·t.
/// M_W(t) = max_k‖W_k(0)‖₂ + C t, M_V likewise, κ = s1 M_V M_W, H = e^κ(max_i‖h_0^i‖ + s0√m M_V),
/// r = ‖B‖₂H + max_i‖y_i‖ ≥ max_i ‖Bh_L^i − y_i‖, P = e^κ·2‖B‖₂·r ≥ max_k Σ_i‖p_k^i‖, S = s0√m + s1 M_W H.
let aprioriCoefficients (run: Run) (clip: float) : Coefficients[] =
    let st = run.Setting
    let sn0 = snapshotNorms run 0
    let w0, v0 = Comparison.maxKeepNaN sn0.WOp, Comparison.maxKeepNaN sn0.VOp
    let sqm = sqrt (float st.Width)
    let s2 = defaultArg st.S2 nan
    Array.init run.Losses.Length (fun j ->
        let t = float j * st.Eta
        let mw, mv = w0 + clip * t, v0 + clip * t
        let kap = st.S1 * mv * mw
        let h = Portable.exp kap * (st.InputNormMax + st.S0 * sqm * mv)
        let r = st.ReadoutNorm * h + st.TargetNormMax
        let p = Portable.exp kap * 2.0 * st.ReadoutNorm * r
        let sg = st.S0 * sqm + st.S1 * mw * h
        coefficients h p mw mv sg st.S1 s2)

let private clipped =
    "clipped gradient descent (a clip radius C)", fun (run: Run) ->
        match run.Setting.Optimizer, run.Setting.Clip with
        | "clipped-gd", Some c -> Met(sprintf "C = %g" c)
        | "clipped-gd", None -> NotMet "a clipped-gd run without its clip radius"
        | opt, _ -> NotMet(sprintf "this run's optimizer is %s, not clipped gradient descent: the a priori bound needs a clip radius C (A.aposteriori is the statement for plain gradient descent)" opt)

/// (A, a priori) the same recursion with coefficients from the clip radius, the initialization and the data norms only.
let apriori : Result<Run> =
  FlowRuns.gdOnly "A.flow"
    { Id = "A.apriori"
      Title = "Depth-smoothness during training (a priori constants from the clip radius)"
      Source = "paper §3 (clipped gradient flow), constants derived here (docs/theorems/DepthSmoothness.md)"
      Provenance = ProvedHere
      Doc = doc
      Statement =
        "For clipped gradient descent with radius C, smooth σ and an initialization with Lip(Z⁰) known: max_k‖Δ_k(t_j)‖ ≤ z_j with z_0 = Lip(Z⁰)/L and "
        + "z_{j+1} = (1 + ηa(t_j))z_j + ηb(t_j)/L, where a, b are the L5 coefficients evaluated with M_W, M_V ≤ ‖Z(0)‖₂ + C t, H, P from L1 and L3 and the data norms: no measured quantity of the run enters."
      Hypotheses = [ smoothSigma; lipschitzInit; notDiverged; noFault; clipped; whenOthersHold hasTrace; initialSnapshot ]
      Conclusion =
        fun run ->
            let clip = run.Setting.Clip.Value
            let cs = aprioriCoefficients run clip
            let z0 = run.Setting.InitLipschitz.Value / float run.Setting.Depth
            // rounding of each update with a priori norms: max_k‖Z_k‖_F ≤ max_k‖Z_k(0)‖_F + C·t, each step ≤ η·C
            let w0 = Comparison.maxKeepNaN (seq { for k in 0 .. run.Setting.Depth - 1 -> Linalg.frobenius (run.W 0) (k * run.Shape.LayerSize) run.Shape.LayerSize })
            let v0 = Comparison.maxKeepNaN (seq { for k in 0 .. run.Setting.Depth - 1 -> Linalg.frobenius (run.V 0) (k * run.Shape.LayerSize) run.Shape.LayerSize })
            let extra =
                Array.init (max 0 (cs.Length - 1)) (fun j ->
                    let t = float (j + 1) * run.Setting.Eta
                    Rounding.updateAllowance run (w0 + clip * t) (v0 + clip * t) (run.Setting.Eta * clip))
            let bound = recursionWith extra run.Setting.Eta run.Setting.Depth false z0 0.0 cs
            let last = bound.Length - 1
            // where the a-priori bound is still a finite number in double precision (its e^κ growth overflows on long runs)
            let lastFinite = Array.FindLastIndex(bound, fun b -> Double.IsFinite b)
            // the recursion's own rounding over the iterates (`Rounding.recursionRel`, growth η·N·max a)
            let aMax = cs |> Array.map (fun c -> c.A) |> Comparison.maxKeepNaN
            let e = evaluation (Rounding.recursionRel run last (run.Setting.Eta * float last * aMax)) (compareWithRun run 0 bound) [] []
            { e with
                Constants =
                    [ "C", clip; "z0 = Lip/L", z0
                      "a (max over iterates)", cs |> Array.map (fun c -> c.A) |> Comparison.maxKeepNaN
                      "b (max over iterates)", cs |> Array.map (fun c -> c.B) |> Comparison.maxKeepNaN
                      "bound at the last iterate", bound.[last]
                      "last iterate with a finite bound", float lastFinite
                      "bound at the last finite iterate", (if lastFinite >= 0 then bound.[lastFinite] else nan)
                      // what the bound is compared with there (the verifier's column), so that the tightness at the last
                      // finite iterate is read from this row
                      "measured at the last finite iterate",
                      (match run.Trace "smooth_z" with
                       | Some sz when lastFinite >= 0 && lastFinite < sz.Length -> sz.[lastFinite]
                       | _ -> nan) ] } }

/// The entries of a per-iterate column from the first snapshot's iterate on: the replay stitches its columns from the
/// snapshots, so an iterate before the first snapshot holds a placeholder (NaN, not measured) and is left out by its
/// index; every entry kept is a measurement, a NaN among them included (`Comparison.maxKeepNaN` keeps it).
let measuredIterates (run: Run) (column: float[]) =
    let first = if run.SnapshotCount = 0 then 0 else max 0 run.Steps.[0]
    if first >= column.Length then [||] else column.[first ..]

/// max over iterates of max_k‖Δ_k(t)‖ (trace smooth_z from the first snapshot on, or the snapshots when there is no
/// trace); NaN when an iterate's increment is not a number.
let maxIncrement (run: Run) =
    match run.Trace "smooth_z" with
    | Some c -> measuredIterates run c |> Comparison.maxKeepNaNOr nan
    | None -> Comparison.maxKeepNaN (seq { for s in 0 .. run.SnapshotCount - 1 -> run.DepthIncrement s })

/// Name of A.rate's constant L·max_{k,t}‖Δ_k‖ at one depth (the report's figure 1 reads it back by this name).
let rateIncrementName (depth: int) = sprintf "L * max|Delta| at L = %d" depth

/// (A.rate) over a ladder of depths at equal horizon, L·max_{k,t}‖Δ_k(t)‖ stays bounded: the log-log slope
/// of max_{k,t}‖Δ_k‖ against L is at most −1 within its 95% confidence half-width.
let rate : Result<Ladder> =
    { Id = "A.rate"
      Title = "Depth-smoothness decays like 1/L across depths"
      Source = "paper §3 and figure 1 (left); test derived here (docs/theorems/DepthSmoothness.md)"
      Provenance = Empirical
      Doc = doc
      Statement =
        "For runs that differ only in depth L (equal horizon t = Nη), the least-squares slope β of log max_{k,t}‖Δ_k(t)‖ against log L satisfies "
        + "β − w ≤ −1, w the 95% half-width (t-quantile, n−2 dof): the data do not exclude the O(1/L) rate; it holds only when 2w < 1 (an interval of width ≥ 1 "
        + "cannot tell the 1/L rate from no decay: inconclusive). A slope significantly above −1 (e.g. ≈ 0 for i.i.d. layers) is a violation, "
        + "on more than three depths unless the deepest three depths alone support order 1 by an interval that reaches 1 and excludes 0 (then pre-asymptotic: inconclusive)."
      Hypotheses =
        [ "at least three depths", fun (l: Ladder) ->
            if l.Runs.Length >= 3 then Met(sprintf "depths %A" l.Depths) else NotMet "a slope with a confidence interval needs at least three depths"
          "equal horizon", fun (l: Ladder) ->
            let hs = l.Runs |> List.map (fun r -> float r.Setting.Iterations * r.Setting.Eta)
            if Comparison.maxKeepNaN hs - Comparison.minKeepNaN hs <= Rounding.horizonAllowance (Comparison.maxKeepNaN hs) then Met(sprintf "t = %g" hs.Head)
            else NotMet(sprintf "horizons differ: %A" hs)
          onEveryRun smoothSigma
          "runs faithful and not diverged", fun (l: Ladder) ->
            match l.Runs |> List.filter (fun r -> r.Setting.Diverged || r.Setting.Fault <> "none") with
            | [] -> Met "all runs completed without fault"
            | bad -> NotMet(sprintf "%d run(s) diverged or faulty" bad.Length)
          onEveryRun descends ]
      Conclusion =
        fun l ->
            let xs = l.Runs |> List.map (fun r -> Portable.log (float r.Setting.Depth)) |> Array.ofList
            let ds = l.Runs |> List.map maxIncrement |> Array.ofList
            if ds |> Array.exists (fun d -> d <= 0.0) then
                let zero = [ for r, d in List.zip l.Runs (List.ofArray ds) do if d <= 0.0 then yield r.Setting.Depth ]
                // a run of one layer has no pair of layers, not an untrained one (a ladder 1, 2, …, 16 read "e.g. no training")
                if List.contains 1 zero then
                    Evaluation.notApplicable "L = 1 has no pair of consecutive layers, so no increment Δ_k (its max_k‖Δ_k‖ is 0 by definition): a ladder for the rate starts at L = 2"
                else
                    Evaluation.notApplicable (sprintf "max_k‖Δ_k‖ = 0 at every iterate at L = %s (e.g. no training): no slope to fit" (zero |> List.map string |> String.concat ", "))
            else
                let fit = LeastSquares.line xs (Array.map Portable.log ds)
                let beta, w = fit.Slope, fit.HalfWidth
                // the order of decay is −slope: the claim is order ≥ 1 (slope ≤ −1), decided by `Rate.decideShortLadder`
                // (five depths or more: rejected only when the plain fit and the fit with a c/L term both reject, each widened
                // by the term its model neglects; three or four: the plain fit, on four overturned by a narrow supporting fit with the c/L term; an interval of width ≥ 1 is inconclusive). A
                // pre-asymptotic ladder (L·max‖Δ‖ bounded but still growing over these depths) biases the plain slope low,
                // which alone read as a violation on five depths
                let plain = Rate.fit l.Depths (List.ofArray ds)
                let corrected = Rate.fitWithCorrection l.Depths (List.ofArray ds)
                let outcome, reported = Rate.decideShortLadder plain corrected
                let v = Rate.verdict outcome reported (sprintf "depths %A" l.Depths) "max over the horizon"
                let v = match v with Violated wit -> Violated { wit with Measured = beta; Bound = -1.0 } | other -> other
                { Range = None; Series = []; Verdict = v; Measured = Some beta; Bound = Some -1.0; Hypotheses = []
                  Constants =
                    [ "slope", beta; "half-width (95%)", w; "intercept", fit.Intercept
                      "order decided (the fit reported)", reported.Order; "its 95% upper end (model allowance included)", reported.Upper
                      "c of the fit with a c/L term", corrected.Correction ]
                    @ List.map2 (fun (r: Run) d -> rateIncrementName r.Setting.Depth, float r.Setting.Depth * d) l.Runs (List.ofArray ds)
                  Notes = [ sprintf "slope %.3f ± %.3f (95%%); decided on the order −slope (%s): plain %s; with a c/L term (ĉ = %.3g) %s; the fit reported [%.3f, %.3f] (model allowance included)" beta w (if l.Depths.Length >= 5 then "both fits must reject" elif l.Depths.Length = 4 then "four depths: the plain fit, unless the fit with a c/L term supports the rate by an interval narrower than 1" else "three depths: the plain fit alone") (Rate.describe plain) corrected.Correction (Rate.describe corrected) reported.Lower reported.Upper ] } }

/// The single-run results of A, for a registry.
let all : Result<Run> list = [ aposteriori; aposterioriSegments; apriori; flow ]

/// The ladder results of A.
let ladder : Result<Ladder> list = [ rate ]
