/// (G.E.claims) The producer's trace of a generic-architecture run is a claim: every recorded column is compared with the
/// same column recomputed from the verifier's replay (GenericReplay), and the recorded losses likewise
/// (docs/theorems/GenericResults.md, "G.E.claims"). No generic result reads the trace; this check says whether it can be
/// believed.
module ResOdeProofs.Theory.GenericClaims

open System
open ResOdeProofs.Numerics.Blocks
open ResOdeProofs.Numerics.Training
open ResOdeProofs.Theory
open ResOdeProofs.Theory.Comparison
open ResOdeProofs.Theory.GenericResults

let private doc = "docs/theorems/GenericResults.md"

/// γ_N = N·u/(1 − N·u), N = (L + 1)(n·d + P) (`Evidence.blockRounding`, the same allowance E.init and E.replay use).
let allowance (run: Run) = Evidence.blockRounding run

/// Whether a segment's replay is the recorded computation: it lands on the next snapshot bit for bit (the last interval,
/// which may end without a snapshot, counts as reproduced when the one before it is or when it is the only one).
let private landing (run: Run) (s: int) (st: GenericReplay.Stretch) =
    if s + 1 < run.SnapshotCount then
        let t = run.Theta(s + 1)
        t.Length = st.EndTheta.Length && Array.forall2 (fun (a: float) b -> a = b) t st.EndTheta
    else true

/// Columns not recomputed (the clipping fraction counts layers; it enters no bound).
let private skipped = set [ "clip_fraction" ]

let claims : Result<Run> =
    { Id = "G.E.claims"
      Title = "The producer's trace of a generic-architecture run agrees with the verifier's replay"
      Source = "derived here (docs/theorems/GenericResults.md, G.E.claims)"
      Provenance = ProvedHere
      Doc = doc
      Statement =
        "Every recorded trace column of a generic-architecture run (loss, gradient norms, PL ratio, step_max, smooth_theta, hidden_max, adjoint_sum_max, "
        + "pre-activation range, per-part smooth_* and fro_max_*) and every recorded loss agrees with the column recomputed from the verifier's replay from the "
        + "snapshot that opens its interval, within γ_N(|recorded| + |recomputed|), γ_N = Nu/(1 − Nu), N = (L + 1)(nd + P): at every iterate of an interval "
        + "whose replay lands on the next snapshot bit for bit (the producer's own computation: this engine's runs are), else at the interval's first iterate "
        + "(its parameters are the snapshot's); the last interval, which may end without a snapshot, is compared at every iterate when the one before it lands."
      Hypotheses = [ hypEngineBlock; hypInitialSnapshot; hypGradientDescent; hypFiniteReplay ]
      Conclusion =
        fun run ->
            let gamma = allowance run
            let block = nonNull run.Data.Block
            let segs = (GenericReplay.tracks run).Segments |> List.map Option.get
            let recorded =
                [ for c in BlockTraceColumns.For block do
                    if not (skipped.Contains c) then
                        match run.ClaimedTrace c with
                        | Some v -> yield c, v
                        | None -> ()
                  yield "loss (losses.npy)", run.Losses ]
            let partial = ResizeArray()
            let checks =
                [ for (s, st) in List.indexed segs do
                    let full = landing run s st && (s = 0 || landing run (s - 1) segs.[s - 1])
                    if not full then partial.Add(sprintf "iterations %d → %d" st.From st.To)
                    // the iterate of the next snapshot belongs to the next interval (it is replayed from that snapshot)
                    let last = if full then (if s + 1 < segs.Length then st.To - 1 else st.To) else st.From
                    for (name, rec') in recorded do
                        let v = st.Column(if name.StartsWith "loss" then "loss" else name)
                        for j in st.From .. min last (rec'.Length - 1) do
                            let c, r = rec'.[j], v.[j]
                            if not (Double.IsNaN c && Double.IsNaN r) then
                                let diff = if Double.IsNaN c || Double.IsNaN r then infinity else abs (c - r)
                                let step0 = name = "step_max" && j = (rec'.Length - 1)
                                if not step0 then
                                    yield { Measured = diff; Bound = gamma * (abs c + abs r)
                                            Where = sprintf "recorded %s %.17g vs recomputed %.17g" name c r
                                            When = sprintf "iteration %d (replayed from snapshot %d)" j s } ]
            let notes =
                [ if partial.Count > 0 then
                    sprintf "the replay does not land bit for bit on the recording in %s: there the columns are compared at the interval's first iterate only" (String.concat ", " partial) ]
            evaluation 0.0 checks [ "gamma_N", gamma ] notes }

/// The results of this file, for a registry.
let all : Result<Run> list = [ claims ]
