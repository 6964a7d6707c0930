/// A minimal replay of plain gradient descent between snapshots, kept apart from the results that use it so
/// that it can be replaced by a fuller replay: segment s starts at the RECORDED weights of snapshot s and
/// applies Z ← Z − η·G(Z) (G = L·∂ℓ/∂Z, computed by `IterateSplit.evaluate` from the weights and the data)
/// up to the iteration of snapshot s + 1. Nothing is read from the producer's trace.
module ResOdeProofs.Theory.SplitReplay

open ResOdeProofs.Theory.IterateSplit

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
