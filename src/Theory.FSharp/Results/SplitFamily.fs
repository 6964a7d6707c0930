/// The split form of result A stated once for every architecture (docs/theorems/DepthSmoothness.md, "A.split";
/// docs/theorems/GenericResults.md, "A.split and A.split.segments"): the recursion on the layer increments Δ_k = Z_{k+1} − Z_k with the
/// exact state forcing E_k, started at snapshot 0 (A.split) or restarted at every snapshot (A.split.segments), the same ids on every
/// architecture, and the comparison of the bound with the replayed iterates and the recorded snapshots. Each
/// statement and the comparison are written here once. An architecture supplies the ingredients: the bound per iterate
/// from its replay (`Track`), the bracket coefficients behind it, and whether it bounds each pair or only the maximum.
/// The paper's MLP supplies sharper ones of its own (SplitResults.fs: W/V parts with the coefficients of L5.split, one
/// bound per pair, the recursion fed by the engine's evidence replay); any block supplies them from its
/// declared C_θθ and its Forward/Backward (GenericSplit.fs, GenericReplay.fs).
module ResOdeProofs.Theory.SplitFamily

open ResOdeProofs.Theory
open ResOdeProofs.Theory.Comparison

/// The hypothesis both forms share: the recursion replays the plain step θ ← θ − ηG (no clipping, no other optimizer).
let hypPlainGd : string * (Run -> HypothesisCheck) =
    "plain gradient descent", fun run ->
        match run.Setting.Optimizer with
        | "gd" -> Met "gd"
        | o -> NotMet(sprintf "optimizer %s: the split recursion replays the plain step θ ← θ − ηG" o)

/// What names and describes an architecture's rows of the split form of result A; the statements are written below once.
type Family =
    { Doc: string
      Source: string
      /// how the titles name the architecture ("" for the MLP: its rows are the paper's)
      Which: string
      /// the bracket bound a_k and the parts the recursion runs on
      Bracket: string
      /// how the replayed iterates are computed
      Replay: string
      /// what is compared at the snapshots
      Compared: string }

/// One bound sequence of the recursion, with what it is compared with (indices are iterates).
type Track =
    { /// the bound on max_k ‖Δ_k‖ at every iterate the recursion reached
      Bound: float[]
      /// (iterate j, measured max_k ‖Δ_k(j)‖) at the replayed iterates, the verifier's own values
      Iterates: (int * float) list
      /// how the comparisons of `Iterates` name the measured value
      IterateLabel: string
      /// per snapshot s ≥ 1, the bound of each pair k, k + 1 (index k − 1) when the architecture bounds the pairs one by
      /// one; None: the snapshot's max_k ‖Δ_k‖ is compared with `Bound`
      PairBounds: float[][] option }

/// ‖Z_{k+1} − Z_k‖_F of every pair (index k − 1) at snapshot s, from the recorded parameters (Z_k = θ_k, for the MLP the
/// pair W_k, V_k).
let recordedIncrements (run: Run) (s: int) =
    if run.IsMlp then
        let md = run.Shape.LayerSize
        let w, v = run.W s, run.V s
        Array.init (run.Setting.Depth - 1) (fun k0 ->
            let a = Linalg.frobeniusDiff w ((k0 + 1) * md) w (k0 * md) md
            let b = Linalg.frobeniusDiff v ((k0 + 1) * md) v (k0 * md) md
            sqrt (a * a + b * b))
    else
        let P, t = run.ParameterCount, run.Theta s
        Array.init (run.Setting.Depth - 1) (fun k0 -> Linalg.frobeniusDiff t ((k0 + 1) * P) t (k0 * P) P)

/// The allowance of snapshot s's recorded increments for a producer whose segment into s the verifier does not replay
/// bit for bit (docs/theorems/DepthSmoothness.md, "A producer that is not this build"): the bounds are the replay's, and
/// E.replay compares the recorded snapshot s with the replay's landing within ε_s = E_s + u‖Z_s‖_F
/// (`SegmentEvidence.LandingAllowance`, the one value both read: its weight tolerance at the landing, from the rounding
/// companions, plus the storage of the recorded weights in the producer's precision u); each pair's increment
/// Z_{k+1} − Z_k moves by at most the sum of its two layers' moves, so the recorded increments lie within 2ε_s of the
/// replayed ones. ε_s does not read the recorded snapshot beyond its norm (a bump of it is compared, not allowed for).
/// 0 where the segment is replayed bit for bit (the producer's own program, landing gap allowed 0) and on runs without
/// the MLP's evidence replay; NaN where it is not a finite number (no comparison passes then). On a gradient-flow run the
/// same reading of the flow replay (E.flowReplay): twice its weight tolerance at the end of the segment into s, the allowed
/// ‖Z_producer − Z_replay‖_F (0 on its bit-exact path; NaN for a segment it did not integrate).
let landingAllowance (run: Run) (s: int) =
    let finite a = if System.Double.IsFinite a then a else nan
    match run.Evidence with
    | Some e when s >= 1 ->
        match e.Segments |> Array.tryFind (fun g -> g.Replay.Snapshot = s - 1) with
        | Some g -> finite (2.0 * g.LandingAllowance)
        | None -> 0.0
    | Some _ -> 0.0
    | None ->
        match run.FlowEvidence with
        | Some e when s >= 1 ->
            match e.Replay.Segments |> Array.tryFind (fun g -> g.Snapshot = s - 1) with
            | Some g when g.WeightTolerance.Length > 0 -> finite (2.0 * g.WeightTolerance.[g.WeightTolerance.Length - 1])
            | _ -> nan
        | _ -> 0.0

/// The largest `landingAllowance` over the snapshots after the first (0 on a run replayed bit for bit), as the rows report it.
let landingAllowanceMax (run: Run) =
    if run.SnapshotCount < 2 then 0.0
    else [| for s in 1 .. run.SnapshotCount - 1 -> landingAllowance run s |] |> Comparison.maxKeepNaN

/// Snapshot s's recorded increments, pair by pair, against each pair's bound propagated from the snapshot before (index
/// k − 1; NaN where missing), raised by the snapshot's `landingAllowance`: on descent and on flow runs alike.
let snapshotPairChecksWithin (allow: float) (run: Run) (s: int) (pairs: float[]) : Check seq =
    let measured = recordedIncrements run s
    let j = run.Steps.[s]
    let step = if FlowRuns.isFlow run then "output" else "iteration"
    seq {
        for k0 in 0 .. measured.Length - 1 ->
            { Measured = measured.[k0]; Bound = (if k0 < pairs.Length then pairs.[k0] else nan) + allow
              Where = sprintf "‖Z_{k+1} − Z_k‖_F, pair k = %d (snapshot weights)" (k0 + 1)
              When = sprintf "snapshot %d, %s %d (t = %g)" s step j (FlowRuns.time run j) }
    }

/// `snapshotPairChecksWithin` the snapshot's `landingAllowance`.
let snapshotPairChecks (run: Run) (s: int) (pairs: float[]) : Check seq = snapshotPairChecksWithin (landingAllowance run s) run s pairs

/// Every comparison of a track: the replayed iterates against the bound (a snapshot's iterate, the recorded snapshot's value,
/// with that snapshot's `landingAllowance`), then every later snapshot's recorded
/// increments, pair by pair against each pair's bound or as max_k against the bound, each bound raised by the snapshot's
/// `landingAllowance` (0 for a producer replayed bit for bit).
let checksWithin (allowance: int -> float) (run: Run) (t: Track) : Check seq =
    // a snapshot's iterate of the verifier's column holds the recorded snapshot's value (the stitched column starts each
    // segment from it, and the last iterate is the last snapshot): compared with the bound propagated along the replay, it
    // takes the snapshot's landing allowance as the pair-by-pair comparisons do
    let allowAt =
        dict [ for s in 1 .. run.SnapshotCount - 1 -> run.Steps.[s], allowance s ]
    seq {
        for (j, m) in t.Iterates ->
            let allow = match allowAt.TryGetValue j with | true, a -> a | _ -> 0.0
            { Measured = m; Bound = t.Bound.[j] + allow; Where = t.IterateLabel; When = sprintf "iteration %d (t = %g)" j (float j * run.Setting.Eta) }
        for s in 1 .. run.SnapshotCount - 1 do
            let j = run.Steps.[s]
            match t.PairBounds with
            | Some pairs ->
                if pairs.[s].Length > 0 then yield! snapshotPairChecksWithin (allowance s) run s pairs.[s]
            | None ->
                if j > 0 && j < t.Bound.Length then
                    yield { Measured = run.DepthIncrement s; Bound = t.Bound.[j] + allowance s; Where = "max_k ‖θ_{k+1} − θ_k‖ (snapshot parameters)"
                            When = sprintf "snapshot %d, iteration %d (t = %g)" s j (run.Time s) }
    }

/// The evaluation of a track (the worst comparison decides), with the architecture's constants and notes. The bound is a
/// recursion over the replayed iterates whose bracket coefficient is at most aMax: its rounding allowance is
/// `Rounding.recursionRelOwn` over the iterates with growth η·N·aMax — every coefficient and measured value of the split
/// family is the verifier's own float64 number, none the producer's trace (docs/theorems/DepthSmoothness.md, "Rounding
/// allowances of the comparisons").
let evaluateWithin (allowance: int -> float) (run: Run) (aMax: float) (t: Track) (constants: (string * float) list) (notes: string list) : Evaluation =
    let steps = t.Bound.Length - 1
    let rel = Rounding.recursionRelOwn run steps (run.Setting.Eta * float steps * aMax)
    let e = evaluation rel (checksWithin allowance run t) [] []
    { e with Constants = constants; Notes = notes }

/// `evaluateWithin` each snapshot's `landingAllowance` (the MLP's evidence replay's, or none).
let evaluate (run: Run) (aMax: float) (t: Track) (constants: (string * float) list) (notes: string list) : Evaluation =
    evaluateWithin (landingAllowance run) run aMax t constants notes

let private title (f: Family) (what: string) =
    if f.Which = "" then sprintf "Depth-smoothness during training, exact state forcing%s" what
    else sprintf "Depth-smoothness during training, %s: exact state forcing%s" f.Which what

let private statement (f: Family) (start: string) =
    "For plain gradient descent, Δ_k = Z_{k+1} − Z_k obeys Δ_k(t_{j+1}) = Δ_k(t_j) − η(G_{k+1} − G_k)(Z^j) with G_{k+1} − G_k = [G(Z_{k+1}; h_k, p_{k+1}) − G(Z_k; h_k, p_{k+1})] + E_k, "
    + "E_k = G(Z_k; h_k, p_{k+1}) − G_k computed exactly at the states of iterate j and the bracket at most a_k‖Δ_k‖; so ‖Δ_k(t_j)‖ ≤ u_k^j = min(x_k^j, ‖D_k^j‖ + r_k^j) "
    + "with D_k^{j+1} = D_k^j − ηE_k^j (exact), r^{j+1} = r^j + η·a^j·u^j and x^{j+1} = u^j + η(a^j u^j + ‖E_k^j‖); "
    + f.Bracket + "; the iterates are " + f.Replay + ", never read from the trace; " + start + "; compared with max_k ‖Δ_k‖ at every replayed iterate and " + f.Compared + "."

let private result (f: Family) (suffix: string) (titled: string) (start: string) hypotheses (conclusion: Run -> Evaluation) : Result<Run> =
  FlowRuns.gdOnly "A.flow"
    { Id = "A" + suffix; Title = title f titled; Source = f.Source; Provenance = ProvedHereEstimated "another producer's landing (E.replay's allowance); none on a bit-exact replay"; Doc = f.Doc
      Statement = statement f start; Hypotheses = hypotheses; Conclusion = conclusion }

/// (A.split) the recursion from t = 0.
let splitResult (f: Family) (hypotheses: (string * (Run -> HypothesisCheck)) list) (conclusion: Run -> Evaluation) : Result<Run> =
    result f ".split" " (from t = 0)" "started at the increments of snapshot 0" hypotheses conclusion

/// (A.split.segments) the recursion restarted at every snapshot.
let splitSegmentsResult (f: Family) (hypotheses: (string * (Run -> HypothesisCheck)) list) (conclusion: Run -> Evaluation) : Result<Run> =
    result f ".split.segments" ", restarted at each snapshot"
        ("restarted at the recorded increments of every snapshot (each snapshot compared with the value propagated from the previous one, "
         + "so a corrupted snapshot is measured against the replay of its predecessor)") hypotheses conclusion

/// (A.split.segments.remainder) the ball the recursion of A.split.segments proves: Δ_k = D_k − ηΣ(bracket) exactly, so every
/// increment lies within r_k of the accumulated forcing D_k (the roundings of D̂ and of the update are in r, D̂'s start within
/// u‖Δ‖ of the recorded increments); compared at every snapshot with each pair's recorded increment.
let splitSegmentsRemainderResult (f: Family) (hypotheses: (string * (Run -> HypothesisCheck)) list) (conclusion: Run -> Evaluation) : Result<Run> =
  FlowRuns.gdOnly "A.flow.split.segments.remainder"
    { Id = "A.split.segments.remainder"
      Title =
        (if f.Which = "" then "Depth-smoothness during training, exact state forcing: the recorded increments within the bracket's bound of the accumulated forcing (restarted at each snapshot)"
         else sprintf "Depth-smoothness during training, %s: the recorded increments within the bracket's bound of the accumulated forcing (restarted at each snapshot)" f.Which)
      Source = f.Source; Provenance = ProvedHereEstimated "another producer's landing (E.replay's allowance); none on a bit-exact replay"; Doc = f.Doc
      Statement =
        "The recursion of A.split.segments, restarted at every snapshot, has Δ_k(t_j) = D_k^j − ηΣ_{i<j}(bracket)_k^i exactly, D_k the accumulated exact forcing "
        + "(D_k = Δ_k(t_s) − ηΣE_k) and r_k ≥ ηΣ‖bracket_k‖ plus the roundings of D̂ and of the stored update; so every increment lies in the ball ‖Δ_k − D̂_k‖ ≤ r_k "
        + "(parts apart where the recursion keeps them, r = (r_W² + r_V²)^{1/2}), D̂'s start fl(Δ_k(t_s)) adding u‖Δ_k(t_s)‖: a conclusion that sees a move of the "
        + "increments in any direction, where ‖Δ_k‖ ≤ ‖D̂_k‖ + r_k sees only a growth of their norms; " + f.Bracket + "; the iterates are " + f.Replay
        + "; compared at every snapshot s ≥ 1 with each pair's recorded increment against D̂ propagated from snapshot s − 1, the radius raised by twice the landing "
        + "allowance (0 when replayed bit for bit) and by the rounding of forming fl(fl(Z_{k+1} − Z_k) − D̂) and its norm."
      Hypotheses = hypotheses; Conclusion = conclusion }
