/// The verifier's own evidence against the producer's claims (docs/theorems/Evidence.md): a gradient-descent
/// replay of every snapshot segment, the producer's trace columns and declared initialization constants
/// compared with what the verifier computes, and the check that a ladder of runs shares data, settings and
/// the function of depth its initialization discretizes.
module ResOdeProofs.Theory.Evidence

open System
open ResOdeProofs.Numerics.Verification
open ResOdeProofs.Theory
open ResOdeProofs.Theory.Comparison

let private doc = "docs/theorems/Evidence.md"
let private src = "derived here (docs/theorems/Evidence.md)"

/// Unit roundoff of the producer's precision.
let private unit (run: Run) = Replay.UnitRoundoff run.Data.Meta.Precision

/// γ_N = N·u/(1 − N·u) with N = (L + 1)(n·d + P), u the producer's unit roundoff: the relative rounding of a quantity of a
/// block run computed in another order (N at least the number of terms of the longest sum any column depends on through one
/// layer's state, adjoint or parameters; docs/theorems/Evidence.md).
let blockRounding (run: Run) =
    let st = run.Setting
    let nu = float (st.Depth + 1) * float (st.Samples * st.Dim + run.ParameterCount) * unit run
    nu / (1.0 - nu)

/// τ of the replay: relative rounding of one gradient evaluation in the producer's precision (the MLP's sharper
/// 4(m + d + n + L)u; any other architecture γ_N).
let private tau (run: Run) = if run.IsMlp then Replay.GradientRounding(run.Shape, run.Setting.Samples, unit run) else blockRounding run

/// ‖Z‖_F over all layers and max_k ‖Z_k‖_F of snapshot s (Z_k = θ_k, for the MLP the pair W_k, V_k).
let private zNorms (run: Run) (s: int) =
    let per =
        if run.IsMlp then
            let md = run.Shape.LayerSize
            [| for k in 0 .. run.Setting.Depth - 1 -> sqrt ((Linalg.frobenius (run.W s) (k * md) md) ** 2.0 + (Linalg.frobenius (run.V s) (k * md) md) ** 2.0) |]
        else
            let P = run.ParameterCount
            [| for k in 0 .. run.Setting.Depth - 1 -> Linalg.frobenius (run.Theta s) (k * P) P |]
    sqrt (per |> Array.sumBy (fun x -> x * x)), Array.max per

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
                    let inc = seq { for k in 0 .. L - 2 -> Linalg.frobeniusDiff theta ((k + 1) * P + o) theta (k * P + o) size } |> Seq.fold max 0.0
                    yield name, lip, inc
                | _ -> () ]

/// For a run that does not declare gradient descent: how far snapshot 1 is from a gradient-descent replay of
/// snapshot 0, absolutely and relative to the displacement ‖Z(1) − Z(0)‖_F.
let gdDeviation (run: Run) : (float * float) option =
    if run.SnapshotCount < 2 then None
    else
        let seg = Replay.Segment(run.Data, 0)
        let md = run.Shape.LayerSize * run.Setting.Depth
        let disp = sqrt (Linalg.frobeniusDiff (run.W 1) 0 (run.W 0) 0 md ** 2.0 + Linalg.frobeniusDiff (run.V 1) 0 (run.V 0) 0 md ** 2.0)
        Some(seg.EndDeviation, (if disp > 0.0 then seg.EndDeviation / disp else infinity))

/// The plain statement for a run whose optimizer is not gradient descent, with the measured deviation.
let notGradientDescent (run: Run) =
    let dev =
        match gdDeviation run with
        | Some (d, r) -> sprintf "; snapshot 1 differs from a gradient-descent replay of snapshot 0 by %.4g (%.3g× the displacement between the snapshots)" d r
        | None -> ""
    sprintf "not plain gradient descent (run.json optimizer '%s')%s" run.Setting.Optimizer dev

let private hypGradientDescent : string * (Run -> HypothesisCheck) =
    "plain or clipped gradient descent", fun run ->
        if Replay.IsGradientDescent run.Data then Met(sprintf "optimizer %s" run.Setting.Optimizer)
        else NotMet(notGradientDescent run)

let private hypStart : string * (Run -> HypothesisCheck) =
    "a snapshot at iteration 0", fun run ->
        if run.SnapshotCount > 0 && run.Steps.[0] = 0 then Met(sprintf "%d snapshots" run.SnapshotCount)
        else NotMet "no snapshot at iteration 0: the replay has no starting point"

/// The certification statement of one segment.
let private certification (seg: SegmentEvidence) =
    let r = seg.Replay
    let len = r.To - r.From
    if not r.Finite then sprintf "iterations %d → %d: the replay from snapshot %d became non-finite" r.From r.To r.Snapshot
    else
        let spacing =
            if r.CertifiableSpacing = 0 then "not even one step is certifiable at this precision"
            else sprintf "its first %d iterations are certifiable: take snapshots at most %d iterations apart" r.CertifiableSpacing r.CertifiableSpacing
        sprintf "iterations %d → %d: the tolerance E = %.3g exceeds %g of the weights' norm %.3g (perturbations grow up to %.3g×); %s"
            r.From r.To r.WeightTolerance.[len] SegmentReplay.CertifyFraction r.StartNorm (Array.max r.Growth) spacing

let private hypCertified : string * (Run -> HypothesisCheck) =
    "every segment certifiable (tolerance ≤ 1% of the weights' norm) or claimed bit-exact", fun run ->
        match run.Evidence with
        | None -> NotMet "no replay (not gradient descent)"
        | Some e ->
            match e.Segments |> Array.filter (fun s -> not s.Certified), Replay.BitExactClaim run.Data with
            | [||], _ -> Met(sprintf "%d segment(s), largest error growth %.3g×" e.Segments.Length (e.Segments |> Array.map (fun s -> Array.max s.Replay.Growth) |> Array.max))
            | bad, null -> NotMet(bad |> Array.map certification |> String.concat "; ")
            | bad, claim -> Met(sprintf "%d of %d segment(s) certified; the other %d compared bit for bit, since %s" (e.Segments.Length - bad.Length) e.Segments.Length bad.Length claim)

/// The comparison of an uncertified segment covered by the bit-exact claim: the replay must land on the next recorded
/// snapshot exactly (allowance 0), as the same program with the same thread count and vector width does.
let private bitExactLanding (run: Run) (seg: SegmentEvidence) =
    let r = seg.Replay
    [ if r.Snapshot + 1 < run.SnapshotCount then
        { Measured = (if r.Finite then r.EndDeviation else infinity); Bound = 0.0
          Where = sprintf "snapshot %d weights vs the bit-exact replay from snapshot %d (‖ΔZ‖_F; worst layer k = %d)" (r.Snapshot + 1) r.Snapshot r.EndWorstLayer
          When = sprintf "iteration %d (segment from snapshot %d, not certifiable: compared bit for bit)" r.To r.Snapshot } ]

/// (E.replay) replaying gradient descent from every snapshot reproduces the next snapshot and every recorded loss.
let replay : Result<Run> =
  FlowRuns.gdOnly "E.claims (the flow is not replayed)"
    { Id = "E.replay"
      Title = "A gradient-descent replay reproduces the recorded snapshots and losses"
      Source = src
      Provenance = ProvedHere
      Doc = doc
      Statement =
        "From every snapshot s the verifier replays the declared (plain or clipped) gradient descent in float64 with the recorded data, η and activation; "
        + "the next snapshot's weights lie within E + u‖Z‖ of the replay and every recorded loss within 2λE + 2(τℓ + 2√ℓδ + δ²), where E = 4·g·Σ(τ‖ηG‖ + u(‖Z‖ + ‖ηG‖)) "
        + "is the producer's accumulated rounding grown by the measured growth g of a one-ulp perturbation, and λ bounds the loss' sensitivity. "
        + "A segment whose E exceeds 1% of the weights' norm is not certifiable and is reported, never violated, unless run.json claims this engine's build, "
        + "vector width and thread count: the replay is then the producer's own computation and must land on the next snapshot exactly."
      Hypotheses = [ hypGradientDescent; hypStart; hypCertified ]
      Conclusion =
        fun run ->
            let e = run.Evidence.Value
            let checks =
                [ for seg in e.Segments do
                    if seg.Certified then
                        for (m, b, where', j) in seg.Checks ->
                            { Measured = m; Bound = b; Where = where'; When = sprintf "iteration %d (segment from snapshot %d)" j seg.Replay.Snapshot }
                    else yield! bitExactLanding run seg ]
            let ev = evaluation 0.0 checks [ "tau", tau run; "unit roundoff", unit run; "safety factor", Replay.Safety ] []
            let growth = e.Segments |> Array.map (fun s -> Array.max s.Replay.Growth) |> Array.max
            { ev with
                Constants = ev.Constants @ [ "largest error growth", growth ]
                Notes =
                    [ if Verdict.isViolated ev.Verdict then
                        "the recorded run is not the declared gradient descent: a modified snapshot or loss, or another optimizer (declare Adam, momentum or mini-batches in run.json \"optimizer\"; the gradient-descent results then say hypothesis not met)" ] } }

/// Lipschitz factor in Z (Frobenius, all layers) of the columns the replay's tolerance E carries to every iterate.
let private lipschitzColumns = [ "smooth_w", 2.0; "smooth_v", 2.0; "smooth_z", 2.0; "w_fro_max", 1.0; "v_fro_max", 1.0 ]

/// Columns that are fixed functions of the weights, compared at snapshot iterates (relative τ).
let private snapshotColumns = [ "grad_norm"; "pl_ratio"; "grad_w_max"; "grad_v_max"; "hidden_max"; "adjoint_sum_max"; "preact_min"; "preact_max"; "step_max" ]

/// (E.claims) the producer's trace agrees with the verifier's columns and with the snapshots.
let claims : Result<Run> =
    { Id = "E.claims"
      Title = "The producer's trace columns agree with the verifier's evidence"
      Source = src
      Provenance = ProvedHere
      Doc = doc
      Statement =
        "Each recorded trace column is a claim. Identities on any run: per layer ‖Z_k(s+1) − Z_k(s)‖ ≤ Σ step_max over the segment, and |smooth_z[j+1] − smooth_z[j]| ≤ 2·step_max[j]. "
        + "On replayed gradient descent: the loss and the Lipschitz columns (smooth_*, *_fro_max) agree with the replay within f·E (f = 2 or 1) plus rounding at every iterate, "
        + "the gradient, PL-ratio, hidden-state, adjoint and pre-activation columns and step_max agree at every snapshot iterate within τ relative."
      Hypotheses = []
      Conclusion =
        fun run ->
            let claimed name = run.ClaimedTrace name
            let present = ResOdeProofs.Numerics.Training.TraceColumns.All |> Array.exists (fun struct (n, _) -> (claimed n).IsSome)
            if not present then Evaluation.notApplicable "the run records no trace columns: nothing is claimed beyond the snapshots and losses"
            else
            let tau, u = tau run, unit run
            let md, L = run.Shape.LayerSize, run.Setting.Depth
            let checks =
                [ // identities on the claims alone
                  match claimed "step_max" with
                  | Some step ->
                      for s in 0 .. run.SnapshotCount - 2 do
                          let a, b = run.Steps.[s], run.Steps.[s + 1]
                          let budget = Seq.sum (seq { for j in a .. b - 1 -> step.[j] })
                          let disp =
                              Seq.max (seq { for k in 0 .. L - 1 ->
                                               sqrt (Linalg.frobeniusDiff (run.W(s + 1)) (k * md) (run.W s) (k * md) md ** 2.0
                                                     + Linalg.frobeniusDiff (run.V(s + 1)) (k * md) (run.V s) (k * md) md ** 2.0) })
                          let _, zmax = zNorms run (s + 1)
                          yield { Measured = disp; Bound = budget * (1.0 + tau) + 4.0 * u * zmax
                                  Where = sprintf "max_k ‖Z_k(snapshot %d) − Z_k(snapshot %d)‖ = %.6g vs claimed Σ step_max = %.6g" (s + 1) s disp budget
                                  When = sprintf "iterations %d → %d" a b }
                      match claimed "smooth_z", claimed "w_fro_max", claimed "v_fro_max" with
                      | Some sz, Some wf, Some vf ->
                          for j in 0 .. sz.Length - 2 do
                              let scale = max (max wf.[j] vf.[j]) (max wf.[j + 1] vf.[j + 1])
                              yield { Measured = abs (sz.[j + 1] - sz.[j]); Bound = 2.0 * step.[j] * (1.0 + tau) + 8.0 * u * scale
                                      Where = sprintf "claimed |smooth_z[j+1] − smooth_z[j]| = %.6g vs 2·claimed step_max = %.6g" (abs (sz.[j + 1] - sz.[j])) (2.0 * step.[j])
                                      When = sprintf "iteration %d → %d" j (j + 1) }
                      | _ -> ()
                  | None -> ()
                  // the claims against the replay
                  match run.Evidence with
                  | Some e ->
                      for seg in e.Segments do
                          let r = seg.Replay
                          if seg.Certified && seg.Reproduced then
                              let last = if r.Snapshot + 1 < run.SnapshotCount then r.To - r.From - 1 else r.To - r.From
                              let verified name = r.Trace.[name]
                              let scaleAt i = max (verified "w_fro_max").[i] (verified "v_fro_max").[i]
                              for i in 0 .. last do
                                  let j = r.From + i
                                  match claimed "loss" with
                                  | Some c ->
                                      yield { Measured = abs (c.[j] - r.Losses.[i]); Bound = r.LossTolerance.[i]
                                              Where = sprintf "claimed loss %.17g vs verified %.17g" c.[j] r.Losses.[i]; When = sprintf "iteration %d" j }
                                  | None -> ()
                                  for (name, f) in lipschitzColumns do
                                      match claimed name with
                                      | Some c ->
                                          let v = (verified name).[i]
                                          yield { Measured = abs (c.[j] - v); Bound = f * r.WeightTolerance.[i] + tau * abs v + 8.0 * u * scaleAt i
                                                  Where = sprintf "claimed %s %.17g vs verified %.17g" name c.[j] v; When = sprintf "iteration %d" j }
                                      | None -> ()
                              for name in snapshotColumns do
                                  match claimed name with
                                  | Some c when not (name = "step_max" && last < 0) ->
                                      let v = (verified name).[0]
                                      // pl_ratio = Σ‖G_k‖²/(Lℓ): relative 2τ from the squares, and the loss' own relative tolerance
                                      let bound =
                                          if name = "pl_ratio" then (abs v + abs c.[r.From]) * (2.0 * tau + r.LossTolerance.[0] / abs r.Losses.[0])
                                          else tau * (abs v + abs c.[r.From]) + 8.0 * u * scaleAt 0
                                      yield { Measured = abs (c.[r.From] - v); Bound = bound
                                              Where = sprintf "claimed %s %.17g vs verified %.17g" name c.[r.From] v; When = sprintf "snapshot %d (iteration %d)" r.Snapshot r.From }
                                  | _ -> ()
                  | None -> () ]
            let notes =
                [ match run.Evidence with
                  | Some e when not e.Complete -> "segments that are not certified or not reproduced are compared through the identities only (see E.replay)"
                  | None -> "no replay (not gradient descent, or a flow run): the claims are checked through the identities only"
                  | _ -> () ]
            evaluation 0.0 checks [ "tau", tau; "unit roundoff", u ] notes }

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
      Hypotheses = [ hypStart ]
      Conclusion =
        fun run ->
            let meta = run.Data.Meta.Init
            let L = float run.Setting.Depth
            let u, tau = unit run, tau run
            let inc = run.DepthIncrement 0
            let _, zmax = zNorms run 0
            let checks =
                [ if meta.Kind = "tied" then
                    yield { Measured = inc; Bound = 4.0 * u * zmax; Where = sprintf "declared 'tied' (equal layers) vs measured max_k‖Z_{k+1}(0) − Z_k(0)‖ = %.6g" inc; When = "snapshot 0" }
                  for (part, lip, incPart) in declaredPartLipschitz run 0 do
                    yield { Measured = incPart; Bound = lip / L * (1.0 + tau) + 4.0 * u * zmax
                            Where = sprintf "declared lipschitz_%s = %.6g (max increment ≤ %.6g) vs measured max_k‖%s_{k+1}(0) − %s_k(0)‖ = %.6g" (part.ToLowerInvariant()) lip (lip / L) part part incPart
                            When = "snapshot 0" }
                  if meta.MaxIncrementTimesDepth.HasValue then
                    let d = meta.MaxIncrementTimesDepth.Value
                    yield { Measured = abs (d - L * inc); Bound = tau * L * inc + 4.0 * u * L * zmax
                            Where = sprintf "declared max_increment_times_depth = %.10g vs measured %.10g" d (L * inc); When = "snapshot 0" } ]
            if checks.IsEmpty then
                { Evaluation.notApplicable (sprintf "run.json declares no initialization constants (init '%s'); measured L·max_k‖Z_{k+1}(0) − Z_k(0)‖ = %.6g is what the results use" meta.Kind (L * inc)) with
                    Constants = [ "measured L*max increment", L * inc ] }
            else
                let e = evaluation 0.0 checks [ "measured L*max increment", L * inc; "tau", tau; "unit roundoff", u ] []
                e }

/// Every evidence check, for a registry.
let all : Result<Run> list = [ replay; claims; init ]

/// Why the coarser run `c` and the finer run `f` do not discretize one function of depth at initialization (None: they do):
/// layer k of `c` (s = k/L_c) must equal layer k·L_f/L_c of `f` when that is an integer (within 8u(‖Z_c‖ + ‖Z_f‖ + L_f·max
/// increment of f), the rounding of sampling at s), and otherwise lie within two of f's increments of its chord.
let private initDiff (c: Run) (f: Run) =
    if c.SnapshotCount = 0 || c.Steps.[0] <> 0 || f.SnapshotCount = 0 || f.Steps.[0] <> 0 then Some "no snapshot at iteration 0 to compare the initializations"
    elif c.Shape.LayerSize <> f.Shape.LayerSize then Some "different layer sizes"
    else
        let md = c.Shape.LayerSize
        let lc, lf = c.Setting.Depth, f.Setting.Depth
        let u = max (unit c) (unit f)
        let incF = f.DepthIncrement 0
        let layer (r: Run) k = Array.append (r.W 0).[k * md .. k * md + md - 1] (r.V 0).[k * md .. k * md + md - 1]
        let lipF = float lf * incF
        seq {
            for k in 1 .. lc do
                let zc = layer c (k - 1)
                let num = k * lf
                if num % lc = 0 then
                    let p = num / lc
                    let zf = layer f (p - 1)
                    let d = Linalg.norm (Array.map2 (-) zc zf)
                    let allowed = 8.0 * u * (Linalg.norm zc + Linalg.norm zf + lipF)
                    if not (d <= allowed) then
                        yield sprintf "layer %d of L = %d and layer %d of L = %d (s = %g) differ by %.4g (allowed %.3g): the initializations are not one function of depth" k lc p lf (float k / float lc) d allowed
                else
                    let pos = float num / float lc
                    let p0 = max 1 (int (floor pos))
                    let p1 = min lf (p0 + 1)
                    let t = pos - float p0
                    let chord = Array.map2 (fun a b -> (1.0 - t) * a + t * b) (layer f (p0 - 1)) (layer f (p1 - 1))
                    let d = Linalg.norm (Array.map2 (-) zc chord)
                    let allowed = 2.0 * incF + 8.0 * u * (Linalg.norm zc + lipF)
                    if not (d <= allowed) then
                        yield sprintf "layer %d of L = %d (s = %g) is %.4g from the L = %d layers around it (allowed %.3g): the initializations are not one function of depth" k lc (float k / float lc) d lf allowed
        }
        |> Seq.tryHead

/// Hypothesis of the ladder results: the runs' initial layers sample one function of depth (checked from the weights,
/// consecutive depths pairwise); met with the largest measured L·max_k‖Z_{k+1}(0) − Z_k(0)‖.
let sameInitialFunction (runs: Run list) : HypothesisCheck =
    let sorted = runs |> List.sortBy (fun r -> r.Setting.Depth)
    match List.pairwise sorted |> List.tryPick (fun (c, f) -> initDiff c f) with
    | Some why -> NotMet why
    | None ->
        let lip = sorted |> List.choose (fun r -> r.Setting.InitLipschitz) |> function [] -> nan | l -> List.max l
        Met(sprintf "one function of depth at initialization (checked from the weights), measured Lip(Z⁰) ≥ %.4g" lip)

/// Checks that runs form a ladder from their evidence, not their labels: the same data (x, y, A, B), activation, η,
/// iteration count, optimizer and clip radius, distinct depths, and the same function of depth at initialization
/// (`sameInitialFunction`). Error: one line naming the first disagreement.
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
        [ if not (same f.Data.Data.X r.Data.Data.X) || not (same f.Data.Data.Y r.Data.Data.Y) then "different data x, y"
          if not (same f.Data.A r.Data.A) || not (same f.Data.B r.Data.B) then "different embedding A or read-out B"
          if a.Activation <> b.Activation then "different activation"
          if a.Eta <> b.Eta then sprintf "η %g vs %g" a.Eta b.Eta
          if a.Iterations <> b.Iterations then sprintf "%d vs %d iterations" a.Iterations b.Iterations
          if a.Optimizer <> b.Optimizer || a.Clip <> b.Clip then "different optimizer or clip radius"
          if a.Width <> b.Width || a.Dim <> b.Dim then "different width or state dimension"
          if a.Depth = b.Depth then "the same depth twice" ]
    match sorted with
    | [] | [ _ ] -> Ok()
    | first :: _ ->
        let bad =
            [ for r in sorted.Tail do
                for d in settingDiff first r -> sprintf "%s vs %s: %s" (name first) (name r) d ]
        if not bad.IsEmpty then Error(sprintf "not a ladder of depths: %s" bad.Head)
        else
            match List.pairwise sorted |> List.tryPick (fun (c, f) -> initDiff c f |> Option.map (fun d -> sprintf "%s vs %s: %s" (name c) (name f) d)) with
            | Some d -> Error(sprintf "not a ladder of depths: %s" d)
            | None -> Ok()
