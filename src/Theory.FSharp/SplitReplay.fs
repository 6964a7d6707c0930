/// A minimal replay of plain gradient descent between snapshots, kept apart from the results that use it so
/// that it can be replaced by a fuller replay: segment s starts at the RECORDED weights of snapshot s and
/// applies Z ← Z − η·G(Z) (G = L·∂ℓ/∂Z, computed by `IterateSplit.evaluate` from the weights and the data)
/// up to the iteration of snapshot s + 1. Nothing is read from the producer's trace.
module ResOdeProofs.Theory.SplitReplay

open ResOdeProofs.Theory.IterateSplit

/// Work budget of one replay, in units of n·m·d·L (one forward pass) times the number of replayed iterates: each
/// iterate costs about ten such passes (forward, backward, the extra pass of IterateSplit) in plain float64 loops.
/// 3·10^9 covers the figure-1 setting at L = 1024 (2.6·10^9) and not 10 000 iterates of the figure-2 setting
/// (3.3·10^10, about 35 CPU-minutes); past it the results that need the replay report the hypothesis not met
/// (the budget only bounds the check's cost, it never decides a verdict).
[<Literal>]
let WorkBudget = 3e9

/// The replay work of a run in the units of `WorkBudget`.
let work (run: Run) =
    let st = run.Setting
    let iterates = if run.SnapshotCount = 0 then 0 else run.Steps.[run.SnapshotCount - 1] - run.Steps.[0]
    float iterates * float st.Samples * float st.Width * float st.Dim * float st.Depth

/// What the replay hands to its consumer at the end of a segment: the replayed weights at the iteration of
/// the next snapshot (to be compared with the recorded ones).
type SegmentEnd = { Snapshot: int; W: float[]; V: float[] }

/// Streams every iterate j = Steps[0] .. Steps[last] − 1 in order: `visit j s it` with `it` evaluated at the
/// weights of iterate j (the recorded snapshot s at j = Steps[s], replayed otherwise), and `segmentEnd` after
/// each segment with the replayed weights at Steps[s + 1]. Plain gradient descent only (the caller checks).
let stream (run: Run) (visit: int -> int -> Iterate -> unit) (segmentEnd: SegmentEnd -> unit) =
    let ctx = Context.ofRun run
    let eta = run.Setting.Eta
    for s in 0 .. run.SnapshotCount - 2 do
        let w = Array.copy (run.W s)
        let v = Array.copy (run.V s)
        for j in run.Steps.[s] .. run.Steps.[s + 1] - 1 do
            let it = evaluate ctx false w v
            visit j s it
            for e in 0 .. w.Length - 1 do
                w.[e] <- w.[e] - eta * it.GW.[e]
                v.[e] <- v.[e] - eta * it.GV.[e]
        segmentEnd { Snapshot = s + 1; W = w; V = v }
