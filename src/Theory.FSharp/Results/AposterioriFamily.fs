/// The a posteriori form of result A stated once for every architecture (docs/theorems/DepthSmoothness.md,
/// "A.aposteriori"; docs/theorems/GenericResults.md, "A.aposteriori and A.aposteriori.segments"). Gradient descent Z ← Z − ηG (or its projection
/// onto a ball, 1-Lipschitz) gives Δ_k^{j+1} = Δ_k^j − η(G_{k+1} − G_k)(Z^j) for Δ_k = Z_{k+1} − Z_k, and lemma L5,
/// ‖G_{k+1} − G_k‖ ≤ a_j‖Δ_k^j‖ + b_j/L, gives the recursion
///   max_k ‖Δ_k(t_j)‖ ≤ z_j,   z_{j+1} = (1 + ηa_j)z_j + ηb_j/L,
/// started at snapshot 0 (A.aposteriori) or restarted at every snapshot (A.aposteriori.segments), the same ids on every
/// architecture. The statements, the recursion's step and the comparison of a bound with the measured
/// increments are written here once. An architecture supplies the ingredients: the bound per iterate (its coefficients
/// (a_j, b_j) and any sharper form of the recursion) and what it measures. Any block supplies them from its declared
/// lemma-L5 constants at the quantities of the verifier's replay (GenericResults.fs); the paper's MLP supplies
/// sharper ones of its own (DepthSmoothness.fs: lemma L5 layer by layer with the exact coefficients at the
/// snapshots and the trace's maxima between them, the W and V parts propagated apart for plain gradient descent, the
/// increments of the checked trace with their rounding).
module ResOdeProofs.Theory.AposterioriFamily

open ResOdeProofs.Theory
open ResOdeProofs.Theory.Comparison

/// One step of the recursion: z_{j+1} = (1 + ηa_j)z_j + ηb_j/L.
let step (eta: float) (L: float) (a: float) (b: float) (z: float) = (1.0 + eta * a) * z + eta * b / L

/// What names and describes an architecture's rows of the a posteriori form of result A; the statements are written
/// below once.
type Family =
    { Doc: string
      Source: string
      /// how the titles name the architecture ("" for the MLP: its rows are the paper's)
      Which: string
      /// the network, Δ_k and the hypotheses on it
      Network: string
      /// where (a_j, b_j) come from, and the sharper form of the recursion the architecture runs, if any
      Coefficients: string
      /// what the bound is compared with
      Compared: string
      /// how the restarted recursion starts at a snapshot
      Restart: string
      /// a closing remark ("" for none)
      Remark: string }

/// A bound per iterate and what it is compared with (indices are iterates).
type Track =
    { /// the bound on max_k ‖Δ_k(t_j)‖ at every iterate j
      Bound: float[]
      /// the measured max_k ‖Δ_k(t_j)‖ at every iterate j
      Measured: float[]
      /// `Allowance j m`: the rounding of a measured value m at iterate j, added to the bound (zero where the measured
      /// value is the verifier's own)
      Allowance: int -> float -> float
      /// how the comparisons name the measured value at an iterate and at a snapshot (from its recorded parameters)
      IterateLabel: string
      SnapshotLabel: string }

/// Result A's comparison, written once for every row of A that compares a bound per iterate with max_k ‖Δ_k‖
/// (A.aposteriori, A.aposteriori.segments on every architecture; A.apriori, A.flow on the MLP): the bound with
/// the measured value at every iterate j ≥ `from` and with the increments of every snapshot's recorded parameters
/// (run.DepthIncrement) at an iterate j ≥ `from` the bound reaches, each bound carrying the allowance of its measured
/// value. `from` = 1 leaves out t = 0, where an a posteriori bound is the measured increment itself (an identity, not a
/// check).
let checks (run: Run) (from: int) (t: Track) : Check seq =
    seq {
        for j in from .. t.Bound.Length - 1 ->
            { Measured = t.Measured.[j]; Bound = t.Bound.[j] + t.Allowance j t.Measured.[j]; Where = t.IterateLabel
              When = sprintf "iteration %d (t = %g)" j (float j * run.Setting.Eta) }
        for s in 0 .. run.SnapshotCount - 1 do
            let j = run.Steps.[s]
            if j >= from && j < t.Bound.Length then
                let m = run.DepthIncrement s
                yield { Measured = m; Bound = t.Bound.[j] + t.Allowance j m; Where = t.SnapshotLabel
                        When = sprintf "snapshot %d, iteration %d (t = %g)" s j (run.Time s) }
    }

/// bound / measured at iterate j (∞ where nothing was measured), as the rows report it at the last iterate.
let tightnessAt (t: Track) (j: int) = if t.Measured.[j] > 0.0 then t.Bound.[j] / t.Measured.[j] else infinity

/// The rounding allowance of a track's comparisons: the bound is a recursion over its iterates with coefficient a at most
/// aMax, so `Rounding.recursionRel` with growth η·N·aMax (the measured value's own rounding is the track's `Allowance`).
let recursionRel (run: Run) (t: Track) (aMax: float) =
    let steps = t.Bound.Length - 1
    Rounding.recursionRel run steps (run.Setting.Eta * float steps * aMax)

/// The evaluation of the recursion from t = 0 (the worst comparison decides, with `recursionRel`): the
/// constants every architecture reports (the largest coefficients a and b over the iterates, the start, the bound, the
/// measurement and their ratio at the last iterate), then the architecture's own.
let evaluate (run: Run) (t: Track) (aMax: float) (bMax: float) (constants: (string * float) list) (notes: string list) : Evaluation =
    let e = evaluation (recursionRel run t aMax) (checks run 1 t) [] []
    let last = t.Bound.Length - 1
    { e with
        Constants =
            [ "a (max over iterates)", aMax
              "b (max over iterates)", bMax
              "max_k |Delta_k(0)|", t.Measured.[0]
              "bound at the last iterate", t.Bound.[last]
              "measured at the last iterate", t.Measured.[last]
              "tightness at the last iterate", tightnessAt t last ]
            @ constants
        Notes = notes }

/// The evaluation of the recursion restarted at every snapshot: the tightness at every snapshot after the first, where
/// the bound propagated from the previous snapshot meets the recorded one (NaN, no ratio, where nothing was measured:
/// e.g. snapshot 1 of a tied MLP run with V = 0, whose first update moves every layer alike). aMax: the largest
/// coefficient a of the recursion, for its rounding allowance (`recursionRel`).
let evaluateSegments (run: Run) (t: Track) (aMax: float) : Evaluation =
    let e = evaluation (recursionRel run t aMax) (checks run 1 t) [] []
    let tightAt j = if t.Measured.[j] > 0.0 then t.Bound.[j] / t.Measured.[j] else nan
    { e with Constants = [ for s in 1 .. run.SnapshotCount - 1 -> sprintf "tightness at snapshot %d (iteration %d)" s run.Steps.[s], tightAt run.Steps.[s] ] }

let private title (f: Family) (what: string) =
    if f.Which = "" then sprintf "Depth-smoothness during training%s (a posteriori constants)" what
    else sprintf "Depth-smoothness during training, %s%s (a posteriori constants)" f.Which what

let private result (f: Family) (suffix: string) (titled: string) (statement: string) hypotheses (conclusion: Run -> Evaluation) : Result<Run> =
  FlowRuns.gdOnly "A.flow"
    { Id = "A" + suffix; Title = title f titled; Source = f.Source; Provenance = ProvedHere; Doc = f.Doc
      Statement = statement; Hypotheses = hypotheses; Conclusion = conclusion }

/// (A.aposteriori) the recursion from t = 0.
let aposterioriResult (f: Family) (hypotheses: (string * (Run -> HypothesisCheck)) list) (conclusion: Run -> Evaluation) : Result<Run> =
    result f ".aposteriori" ""
        ("For gradient descent (plain or clipped) " + f.Network + ", max_k ‖Δ_k(t_j)‖ ≤ Π_{i<j}(1 + ηa_i)max_k‖Δ_k(0)‖ + (1/L)Σ_{i<j}ηb_iΠ_{i<l<j}(1 + ηa_l), "
         + "the recursion z_{j+1} = (1 + ηa_j)z_j + ηb_j/L from z_0 = max_k‖Δ_k(0)‖, where " + f.Coefficients + "; compared with " + f.Compared
         + " at every iterate j ≥ 1 (at t = 0 the bound is the measurement)." + f.Remark)
        hypotheses conclusion

/// (A.aposteriori.segments) the recursion restarted at every snapshot.
let aposterioriSegmentsResult (f: Family) (hypotheses: (string * (Run -> HypothesisCheck)) list) (conclusion: Run -> Evaluation) : Result<Run> =
    result f ".aposteriori.segments" ", restarted at each snapshot"
        ("On each interval [t_s, t_{s+1}] between snapshots, max_k‖Δ_k(t_j)‖ ≤ Π_{s≤i<j}(1 + ηa_i)max_k‖Δ_k(t_s)‖ + (1/L)Σ_{s≤i<j}ηb_iΠ_{i<l<j}(1 + ηa_l): "
         + "the recursion of A.aposteriori restarted at every snapshot, " + f.Restart + "; each snapshot is compared with the bound "
         + "propagated from the previous one (with consecutive snapshots this is the one-step form, the sharpest, which detects a corrupted snapshot).")
        hypotheses conclusion
