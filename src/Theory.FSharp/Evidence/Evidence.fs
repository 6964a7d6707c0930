/// The verifier's own evidence against the producer's claims (docs/theorems/Evidence.md): the rounding allowances of
/// the replay, the declared initialization constants compared with snapshot 0 (E.init), and the check that a ladder of
/// runs shares data, settings and the function of depth its initialization discretizes. The replay's statements
/// E.replay and E.claims, which need every architecture's replay, are in ReplayEvidence.fs.
module ResOdeProofs.Theory.Evidence

open System
open ResOdeProofs.Numerics.Verification
open ResOdeProofs.Theory
open ResOdeProofs.Theory.Comparison

let private doc = "docs/theorems/Evidence.md"
let private src = "derived here (docs/theorems/Evidence.md)"

/// Unit roundoff of the producer's precision.
let unit (run: Run) = Replay.UnitRoundoff run.Data.Meta.Precision

/// γ_N = N·u/(1 − N·u) with N = (L + 1)(n·d + P), u the producer's unit roundoff: the relative rounding of a quantity of a
/// block run computed in another order (N at least the number of terms of the longest sum any column depends on through one
/// layer's state, adjoint or parameters; docs/theorems/Evidence.md).
let blockRounding (run: Run) =
    let st = run.Setting
    let nu = float (st.Depth + 1) * float (st.Samples * st.Dim + run.ParameterCount) * unit run
    nu / (1.0 - nu)

/// τ of the replay: relative rounding of one gradient evaluation in the producer's precision (the MLP's sharper
/// 4(m + d + n + L)u; any other architecture γ_N).
let tau (run: Run) = if run.IsMlp then Replay.GradientRounding(run.Shape, run.Setting.Samples, unit run) else blockRounding run

/// ‖Z‖_F over all layers and max_k ‖Z_k‖_F of snapshot s (Z_k = θ_k, for the MLP the pair W_k, V_k).
let zNorms (run: Run) (s: int) =
    let per =
        if run.IsMlp then
            let md = run.Shape.LayerSize
            [| for k in 0 .. run.Setting.Depth - 1 -> sqrt (Portable.sq (Linalg.frobenius (run.W s) (k * md) md) + Portable.sq (Linalg.frobenius (run.V s) (k * md) md)) |]
        else
            let P = run.ParameterCount
            [| for k in 0 .. run.Setting.Depth - 1 -> Linalg.frobenius (run.Theta s) (k * P) P |]
    sqrt (per |> Array.sumBy (fun x -> x * x)), Comparison.maxKeepNaN per

/// The initialization constants run.json declares per part, with the measured max_k‖θ_{k+1,q}(s) − θ_{k,q}(s)‖ of that part:
/// (part name, declared Lipschitz bound, measured increment). The MLP declares lipschitz_w and lipschitz_v (parts W and V),
/// any other architecture lipschitz_parts.
let private declaredPartLipschitz (run: Run) (s: int) =
    let init = run.Data.Meta.Init
    if run.IsMlp then
        let incW, incV = DepthSmoothness.snapshotIncrements run s
        [ if init.LipschitzW.HasValue then "W", init.LipschitzW.Value, incW
          if init.LipschitzV.HasValue then "V", init.LipschitzV.Value, incV ]
    else
        match init.LipschitzParts with
        | null -> []
        | declared ->
            let P, L, theta = run.ParameterCount, run.Setting.Depth, run.Theta s
            [ for q in 0 .. run.Parts.Length - 1 do
                let name = fst run.Parts.[q]
                match declared.TryGetValue name with
                | true, lip ->
                    let o, size = run.PartOffset q, run.PartSize q
                    let inc = seq { for k in 0 .. L - 2 -> Linalg.frobeniusDiff theta ((k + 1) * P + o) theta (k * P + o) size } |> Comparison.maxKeepNaNOr 0.0
                    yield name, lip, inc
                | _ -> () ]

/// For a run that does not declare gradient descent: how far snapshot 1 is from a gradient-descent replay of
/// snapshot 0, absolutely and relative to the displacement ‖Z(1) − Z(0)‖_F.
/// The MLP's replay only: a block run has no W and V (its deviation is left out; the replay of a block run that said "adam"
/// raised in the MLP's network constructor, and E.replay read "error").
let gdDeviation (run: Run) : (float * float) option =
    if run.SnapshotCount < 2 || not run.IsMlp then None
    else
        let seg = Replay.Segment(run.Data, 0)
        let md = run.Shape.LayerSize * run.Setting.Depth
        let disp = sqrt (Portable.sq (Linalg.frobeniusDiff (run.W 1) 0 (run.W 0) 0 md) + Portable.sq (Linalg.frobeniusDiff (run.V 1) 0 (run.V 0) 0 md))
        Some(seg.EndDeviation, (if disp > 0.0 then seg.EndDeviation / disp else infinity))

/// The plain statement for a run whose optimizer is not gradient descent, with the measured deviation.
let notGradientDescent (run: Run) =
    let dev =
        match gdDeviation run with
        | Some (d, r) -> sprintf "; snapshot 1 differs from a gradient-descent replay of snapshot 0 by %.4g (%.3g× the displacement between the snapshots)" d r
        | None -> ""
    sprintf "not plain gradient descent (run.json optimizer '%s')%s" run.Setting.Optimizer dev

/// The declared scale σ of a part drawn as Gaussian entries (kinds tied, iid, smooth; the MLP's scale and v_scale, any other
/// block's init.scales), with the entries of snapshot 0 that are independent N(0, c·σ²) draws under that declaration: tied,
/// one layer (every layer is the same draw); iid, every layer; smooth, one layer (s = 1/L: each entry
/// σ·[C₀ + (1/√F)Σ_f (C_f cos 2πfs + D_f sin 2πfs)/f], variance c = 1 + (1/F)Σ_f 1/f², `Initialization.Smooth`).
/// (part, σ, c, entries); none for a file or an unknown kind.
/// What a declared Lipschitz constant lip of the initialization allows max_k‖Z_{k+1}(0) − Z_k(0)‖ to be at snapshot 0:
/// lip/L·(1 + τ) + 4u·max_k‖Z_k(0)‖ (the sampling's and the norms' rounding). One definition for E.init's comparison and the
/// generic rows' hypothesis "Lipschitz initialization", which reads the label only where the weights obey it.
let declaredIncrementBound (run: Run) (lip: float) =
    let _, zmax = zNorms run 0
    lip / float run.Setting.Depth * (1.0 + tau run) + 4.0 * unit run * zmax

let private declaredScales (run: Run) =
    let init = run.Data.Meta.Init
    let L = run.Setting.Depth
    let kind = init.Kind
    let c =
        match kind, init.Modes with
        | "smooth", m when m.HasValue && m.Value >= 1 -> 1.0 + (Seq.sum (seq { for f in 1 .. m.Value -> 1.0 / float (f * f) })) / float m.Value
        | "smooth", _ -> nan
        | _ -> 1.0
    let layers = if kind = "iid" then L else 1
    if not (kind = "tied" || kind = "iid" || (kind = "smooth" && not (Double.IsNaN c))) || run.SnapshotCount = 0 || run.Steps.[0] <> 0 then []
    elif run.IsMlp then
        let md = run.Shape.LayerSize
        [ if init.Scale.HasValue then "W", init.Scale.Value, c, (run.W 0).[.. layers * md - 1]
          if init.VScale.HasValue then "V", init.VScale.Value, c, (run.V 0).[.. layers * md - 1] ]
    else
        match init.Scales with
        | null -> []
        | scales ->
            let P = run.ParameterCount
            let theta = run.Theta 0
            [ for q in 0 .. run.Parts.Length - 1 do
                let name, _ = run.Parts.[q]
                match scales.TryGetValue name with
                | true, sigma ->
                    let o, n = run.PartOffset q, run.PartSize q
                    yield name, sigma, c, Array.concat [ for k in 0 .. layers - 1 -> theta.[k * P + o .. k * P + o + n - 1] ]
                | _ -> () ]

/// Why scales that run.json declares are not compared by E.init (None: every declared one is, or none is declared): a
/// 'smooth' draw without init.modes (its variance factor c is unknown), a kind that names no Gaussian draw, or no
/// snapshot at iteration 0. Until 2026-12-08 such a run's E.init said "run.json declares no initialization constants".
let private uncheckedScales (run: Run) (compared: (string * float * float * float[]) list) =
    let init = run.Data.Meta.Init
    let declared =
        if run.IsMlp then init.Scale.HasValue || init.VScale.HasValue
        else match init.Scales with null -> false | scales -> scales.Count > 0
    if not declared || not compared.IsEmpty then None
    elif run.SnapshotCount = 0 || run.Steps.[0] <> 0 then Some "the declared scales are not compared: no snapshot at iteration 0"
    elif init.Kind = "smooth" then
        Some "the declared scales of a 'smooth' initialization are not compared: without init.modes (F) the draw's variance factor c = 1 + (1/F)Σ_f 1/f² is unknown"
    else Some(sprintf "the declared scales are not compared: init kind '%s' names no Gaussian draw of the engine's (tied, iid or smooth)" init.Kind)

/// x of the Laurent–Massart bounds for the declared scales: for S ~ χ²_k, P(S ≥ k + 2√(kx) + 2x) ≤ e^{−x} and
/// P(S ≤ k − 2√(kx)) ≤ e^{−x} (Laurent & Massart, Ann. Statist. 28(5), 2000, Lemma 1); x = 40 makes a false alarm on a
/// faithful draw at most 2e^{−40} ≈ 8.5·10⁻¹⁸ per part.
[<Literal>]
let ScaleTailX = 40.0

/// (E.init) what run.json declares about the initialization agrees with snapshot 0.
let init : Result<Run> =
    { Id = "E.init"
      Title = "The declared initialization agrees with the initial weights"
      Source = src
      Provenance = ProvedHere
      Doc = doc
      Statement =
        "Declared constants are claims about snapshot 0: init kind 'tied' means equal layers (max_k‖Z_{k+1}(0) − Z_k(0)‖ ≤ 4u·max_k‖Z_k(0)‖); a declared lipschitz_w (lipschitz_v) bounds "
        + "max_k‖W_{k+1}(0) − W_k(0)‖ by lipschitz_w/L (likewise V; any other architecture: each part named in lipschitz_parts); a declared max_increment_times_depth "
        + "equals L·max_k‖Z_{k+1}(0) − Z_k(0)‖ within τ (Z_k = θ_k; τ the MLP's 4(m + d + n + L)u, for other architectures γ_N = Nu/(1 − Nu), N = (L + 1)(nd + P)). "
        + "The a posteriori results use the measured value, never the declared one."
      Hypotheses = [ Hypotheses.initialSnapshot ]
      Conclusion =
        fun run ->
            let meta = run.Data.Meta.Init
            let L = float run.Setting.Depth
            let u, tau = unit run, tau run
            let inc = run.DepthIncrement 0
            let _, zmax = zNorms run 0
            // the declared scales with their entries (for iid every layer's: formed once, read by the checks and the note)
            let scales = declaredScales run
            let checks =
                [ if meta.Kind = "tied" then
                    yield { Measured = inc; Bound = 4.0 * u * zmax; Where = sprintf "declared 'tied' (equal layers) vs measured max_k‖Z_{k+1}(0) − Z_k(0)‖ = %.6g" inc; When = "snapshot 0" }
                  for (part, lip, incPart) in declaredPartLipschitz run 0 do
                    yield { Measured = incPart; Bound = declaredIncrementBound run lip
                            Where = sprintf "declared lipschitz_%s = %.6g (max increment ≤ %.6g) vs measured max_k‖%s_{k+1}(0) − %s_k(0)‖ = %.6g" (part.ToLowerInvariant()) lip (lip / L) part part incPart
                            When = "snapshot 0" }
                  // the declared scales (a referee's scale 5 on entries of standard deviation 1, and v_scale 0.3 on V(0) = 0,
                  // held): σ = 0 means every entry is exactly 0; σ > 0 means S = Σx²/(cσ²) is a χ²_k draw, k the independent
                  // entries, within the Laurent–Massart bounds at x = 40 (and not every entry 0: a Gaussian draw is 0 with
                  // probability 0)
                  for (part, sigma, c, xs) in scales do
                    let k = float xs.Length
                    let largest = xs |> Array.fold (fun m x -> max m (abs x)) 0.0
                    if sigma = 0.0 then
                        yield { Measured = largest; Bound = 0.0; Where = sprintf "declared %s scale 0 (every entry 0) vs measured max |entry| = %.6g" part largest; When = "snapshot 0" }
                    elif k > 0.0 then
                        let ratio = (xs |> Array.sumBy (fun x -> x * x)) / (c * sigma * sigma * k)
                        let upper = 1.0 + 2.0 * sqrt (ScaleTailX / k) + 2.0 * ScaleTailX / k
                        let lower = 1.0 - 2.0 * sqrt (ScaleTailX / k)
                        yield { Measured = ratio; Bound = upper
                                Where = sprintf "declared %s scale %.6g: mean square of the %d entries over c·σ² = %.6g (≤ %.6g but for probability e^{-%g})" part sigma xs.Length ratio upper ScaleTailX; When = "snapshot 0" }
                        yield { Measured = (if largest = 0.0 then infinity else max lower 0.0); Bound = ratio
                                Where = sprintf "declared %s scale %.6g: mean square of the %d entries over c·σ² = %.6g (≥ %.6g but for probability e^{-%g}%s)" part sigma xs.Length ratio lower ScaleTailX (if largest = 0.0 then "; every entry is 0" else ""); When = "snapshot 0" }
                  if meta.MaxIncrementTimesDepth.HasValue then
                    let d = meta.MaxIncrementTimesDepth.Value
                    yield { Measured = abs (d - L * inc); Bound = tau * L * inc + 4.0 * u * L * zmax
                            Where = sprintf "declared max_increment_times_depth = %.10g vs measured %.10g" d (L * inc); When = "snapshot 0" } ]
            let unchecked = uncheckedScales run scales
            if checks.IsEmpty then
                let why =
                    match unchecked with
                    | Some w -> w
                    | None -> "run.json declares no initialization constants"
                { Evaluation.notApplicable (sprintf "%s (init '%s'); measured L·max_k‖Z_{k+1}(0) − Z_k(0)‖ = %.6g is what the results use" why meta.Kind (L * inc)) with
                    Constants = [ "measured L*max increment", L * inc ] }
            else
                evaluation 0.0 checks [ "measured L*max increment", L * inc; "tau", tau; "unit roundoff", u ] (Option.toList unchecked) }


/// Why the coarser run `c` and the finer run `f` do not discretize one function of depth at initialization (None: they do):
/// layer k of `c` (s = k/L_c) must equal layer k·L_f/L_c of `f` when that is an integer (within 8u(‖Z_c‖ + ‖Z_f‖ + L_f·max
/// increment of f), the rounding of sampling at s), and otherwise lie within two of f's increments of its chord; every
/// layer of `f` that samples no layer of `c` must lie within two of c's increments of c's chord.
let private initDiff (c: Run) (f: Run) =
    if c.SnapshotCount = 0 || c.Steps.[0] <> 0 || f.SnapshotCount = 0 || f.Steps.[0] <> 0 then Some "no snapshot at iteration 0 to compare the initializations"
    elif c.IsMlp <> f.IsMlp || c.Setting.Architecture <> f.Setting.Architecture then Some "different architectures"
    // a layer's parameters: the MLP's W_k and V_k, any other block's θ_k (its P parameters)
    elif (if c.IsMlp then c.Shape.LayerSize <> f.Shape.LayerSize else c.ParameterCount <> f.ParameterCount) then Some "different layer sizes"
    else
        let lc, lf = c.Setting.Depth, f.Setting.Depth
        let u = max (unit c) (unit f)
        let incF = f.DepthIncrement 0
        let layer (r: Run) k =
            if r.IsMlp then
                let md = r.Shape.LayerSize
                Array.append (r.W 0).[k * md .. k * md + md - 1] (r.V 0).[k * md .. k * md + md - 1]
            else
                let p = r.ParameterCount
                (r.Theta 0).[k * p .. k * p + p - 1]
        let lipF = float lf * incF
        let incC = c.DepthIncrement 0
        let lipC = float lc * incC
        // layer k (1-based) of run `a` (depth la) at s = k/la, off the chord of run `b`'s (depth lb) layers around s by
        // more than two of b's increments (plus the rounding of sampling): the message, else None
        let offChord (a: Run) la k (b: Run) lb incB lipA =
            let za = layer a (k - 1)
            let pos = float (k * lb) / float la
            let q0 = max 1 (int (floor pos))
            let q1 = min lb (q0 + 1)
            let t = pos - float q0
            let chord = Array.map2 (fun x y -> (1.0 - t) * x + t * y) (layer b (q0 - 1)) (layer b (q1 - 1))
            let d = Linalg.norm (Array.map2 (-) za chord)
            // a run of one layer has no increment: the slope is then a's own, L_a·max_k‖Z_{k+1} − Z_k‖, over b's spacing
            // 1/L_b = 1 (a ladder with an L = 1 rung was refused as "not one function of depth": allowed 0)
            let incB = if lb = 1 then float la * a.DepthIncrement 0 else incB
            let allowed = 2.0 * incB + 8.0 * u * (Linalg.norm za + lipA)
            if d <= allowed then None
            else Some(sprintf "layer %d of L = %d (s = %g) is %.4g from the L = %d layers around it (allowed %.3g): the initializations are not one function of depth" k la (float k / float la) d lb allowed)
        seq {
            for k in 1 .. lc do
                let num = k * lf
                if num % lc = 0 then
                    let zc = layer c (k - 1)
                    let p = num / lc
                    let zf = layer f (p - 1)
                    let d = Linalg.norm (Array.map2 (-) zc zf)
                    let allowed = 8.0 * u * (Linalg.norm zc + Linalg.norm zf + lipF)
                    if not (d <= allowed) then
                        yield sprintf "layer %d of L = %d and layer %d of L = %d (s = %g) differ by %.4g (allowed %.3g): the initializations are not one function of depth" k lc p lf (float k / float lc) d allowed
                else
                    match offChord c lc k f lf incF lipF with Some m -> yield m | None -> ()
            // and the finer run's layers that sample no coarser layer (the odd ones of a dyadic ladder): the same rule the
            // other way round, so that no layer goes unchecked
            for p in 1 .. lf do
                if (p * lc) % lf <> 0 then
                    match offChord f lf p c lc incC lipC with Some m -> yield m | None -> ()
        }
        |> Seq.tryHead

/// Hypothesis of the ladder results: the runs' initial layers sample one function of depth (checked from the weights,
/// consecutive depths pairwise); met with the largest measured L·max_k‖Z_{k+1}(0) − Z_k(0)‖.
let sameInitialFunction (runs: Run list) : HypothesisCheck =
    let sorted = runs |> List.sortBy (fun r -> r.Setting.Depth)
    match List.pairwise sorted |> List.tryPick (fun (c, f) -> initDiff c f) with
    | Some why -> NotMet why
    | None ->
        let lip = sorted |> List.choose (fun r -> r.Setting.InitLipschitz) |> Comparison.maxKeepNaNOr nan
        Met(sprintf "one function of depth at initialization (checked from the weights), measured Lip(Z⁰) ≥ %.4g" lip)

/// Checks that runs form a ladder from their evidence, not their labels: the same data (x, y, A, B), activation, η,
/// iteration count, optimizer and clip radius, distinct depths. Error: one line naming the first disagreement. Whether the
/// initializations sample one function of depth (`sameInitialFunction`) is a hypothesis of the results that need it (B.rate,
/// D.rate), not a refusal: a ladder of i.i.d. layers is the negative control of A.rate and D.curve, evaluated and violated
/// (it was refused, exit 2, so the pages' negative control could only be seen in the report).
let checkLadder (runs: Run list) : Result<unit, string> =
    let sorted = runs |> List.sortBy (fun r -> r.Setting.Depth)
    let name (r: Run) = sprintf "%s (L = %d)" r.Directory r.Setting.Depth
    let same (a: float[] | null) (b: float[] | null) =
        match a, b with
        | null, null -> true
        | null, _ | _, null -> false
        | a, b -> a.Length = b.Length && Array.forall2 (fun (x: float) y -> x = y) a b
    let settingDiff (f: Run) (r: Run) =
        let a, b = f.Setting, r.Setting
        [ if f.Setting.Architecture <> r.Setting.Architecture then "different architectures"
          if not (same f.Data.Data.X r.Data.Data.X) || not (same f.Data.Data.Y r.Data.Data.Y) then "different data x, y"
          if not (same f.Data.A r.Data.A) || not (same f.Data.B r.Data.B) then "different embedding A or read-out B"
          if a.Activation <> b.Activation then "different activation"
          // η read from learning_rate/(L·c) carries that division's rounding, which differs with L (0.003 against
          // 0.0030000000000000005 for L = 5 and 6 refused a user's ladder): equal within γ₄ = 4u/(1 − 4u), the
          // agreement run-format.md asks of eta and learning_rate
          let g4 = 4.0 * Rounding.Float64UnitRoundoff / (1.0 - 4.0 * Rounding.Float64UnitRoundoff)
          if not (abs (a.Eta - b.Eta) <= g4 * max (abs a.Eta) (abs b.Eta)) then sprintf "η %.17g vs %.17g" a.Eta b.Eta
          if a.Iterations <> b.Iterations then
            // a run that diverged stops early: say so, not only the counts (a user read "60 vs 3 iterations" as a setting)
            let diverged = [ for r in [ f; r ] do if r.Setting.Diverged then yield sprintf "%s diverged at iteration %d" (name r) r.Setting.Iterations ]
            sprintf "%d vs %d iterations%s" a.Iterations b.Iterations
                (if diverged.IsEmpty then "" else sprintf " (%s: a ladder needs every run to complete its iterations)" (String.concat ", " diverged))
          if a.Optimizer <> b.Optimizer || a.Clip <> b.Clip then "different optimizer or clip radius"
          if a.Width <> b.Width || a.Dim <> b.Dim then "different width or state dimension"
          if a.Depth = b.Depth then "the same depth twice" ]
    match sorted with
    | [] | [ _ ] -> Ok()
    | first :: _ ->
        let bad =
            [ for r in sorted.Tail do
                for d in settingDiff first r -> sprintf "%s vs %s: %s" (name first) (name r) d ]
        if not bad.IsEmpty then Error(sprintf "not a ladder of depths: %s" bad.Head) else Ok()
