/// The split form of result A for any architecture (docs/theorems/GenericResults.md, "G.A.split"): the part of the
/// layer-gradient difference that does not depend on Δ_k = θ_{k+1} − θ_k is computed exactly through the block's own
/// Forward/Backward at the replayed states, only the rest is bounded with the block's declared C_θθ.
///
/// With G(θ; h, p) = Σ_i ∂_θf(θ, h^i)ᵀ p^i (the block's Backward), G_k = G(θ_k; h_{k−1}, p_k) and
///   G_{k+1} − G_k = [G(θ_{k+1}; h_k, p_{k+1}) − G(θ_k; h_k, p_{k+1})] + E_k,   E_k = G(θ_k; h_k, p_{k+1}) − G_k,
/// the bracket is at most a_k‖Δ_k‖, a_k = Σ_i ‖p_{k+1}^i‖ C_θθ(‖h_k^i‖, parts of layers k and k+1), and E_k is one extra
/// Backward at mixed arguments. Gradient descent gives Δ_k(j+1) = Δ_k(j) − η(G_{k+1} − G_k), so with the exact
/// accumulated forcing D_k(j) = Δ_k(t_s) − ηΣ_{s≤i<j}E_k(i) (a vector), ‖Δ_k(j) − D_k(j)‖ ≤ r_k(j) = Σ η a_k(i) u_k(i) and
///   ‖Δ_k(j)‖ ≤ u_k(j) = min(x_k(j), ‖D_k(j)‖ + r_k(j)),   x_k(j+1) = (1 + η a_k(j)) u_k(j) + η‖E_k(j)‖.
/// The iterates are those of the generic replay (GenericReplay, BlockReplay) from a recorded snapshot; nothing is read
/// from the producer's trace.
module ResOdeProofs.Theory.GenericSplit

open System
open System.Runtime.CompilerServices
open ResOdeProofs.Numerics
open ResOdeProofs.Numerics.Blocks
open ResOdeProofs.Numerics.Verification
open ResOdeProofs.Theory
open ResOdeProofs.Theory.LemmaChain
open ResOdeProofs.Theory.Comparison
open ResOdeProofs.Theory.GenericResults
open ResOdeProofs.Theory.GenericReplay

let private doc = "docs/theorems/GenericResults.md"

/// The replays of a run (GenericReplay.tracks), computed once.
let tracks (run: Run) : SplitTracks = GenericReplay.tracks run

// ---------------------------------------------------------------- hypotheses

let hypPlainGd : string * (Run -> HypothesisCheck) =
    "plain gradient descent", fun run ->
        match run.Setting.Optimizer with
        | "gd" -> Met "gd"
        | o -> NotMet(sprintf "optimizer %s: the split recursion replays the plain step θ ← θ − ηG" o)

// ---------------------------------------------------------------- comparisons

let private checksOf (run: Run) (st: Stretch) : Check seq =
    let sz = st.Column "smooth_theta"
    seq {
        for j in st.From + 1 .. st.To do
            yield { Measured = sz.[j]; Bound = st.Bound.[j]; Where = "max_k ‖θ_{k+1} − θ_k‖ (replayed iterate)"
                    When = sprintf "iteration %d (t = %g)" j (float j * run.Setting.Eta) }
        for s in 0 .. run.SnapshotCount - 1 do
            let j = run.Steps.[s]
            if j > st.From && j <= st.To then
                yield { Measured = run.DepthIncrement s; Bound = st.Bound.[j]; Where = "max_k ‖θ_{k+1} − θ_k‖ (snapshot parameters)"
                        When = sprintf "snapshot %d, iteration %d (t = %g)" s j (run.Time s) }
    }

let private hypotheses =
    [ hypArchitecture; hypRequirements; hypEngineBlock; hypLipschitzInit; hypNotDiverged; hypPlainGd; hypSnapshots; hypFiniteReplay ]

let private constantsOf (sts: Stretch list) (run: Run) =
    let last = lastIterate run
    let finalBound = sts |> List.tryPick (fun s -> if s.To = last then Some s.Bound.[last] else None) |> Option.defaultValue nan
    let finalPlain = sts |> List.tryPick (fun s -> if s.To = last then Some s.GronwallOnly.[last] else None) |> Option.defaultValue nan
    [ "a (max over pairs and iterates)", sts |> List.map (fun s -> s.AMax) |> List.fold max 0.0
      "L·max_k ‖E_k‖ (max over iterates)", sts |> List.map (fun s -> s.LEMax) |> List.fold max 0.0
      "bound at the last iterate", finalBound
      "Grönwall with exact E_k only (no accumulated forcing), at the last iterate", finalPlain ]

/// (G.A.split) from t = 0.
let split : Result<Run> =
    { Id = "G.A.split"
      Title = "Depth-smoothness during training, any architecture: exact forcing from the block's backward pass"
      Source = "paper §3 (finite training time), stated generically here (docs/theorems/GenericResults.md, G.A.split)"
      Provenance = ProvedHere
      Doc = doc
      Statement =
        "For plain gradient descent on h_k = h_{k−1} + (1/L) f(θ_k, h_{k−1}) replayed from snapshot 0 with the block's Forward/Backward, max_k‖θ_{k+1}(t_j) − θ_k(t_j)‖ ≤ max_k u_k(j), "
        + "u_k = min(x_k, ‖D_k‖ + r_k), D_k = Δ_k(0) − ηΣE_k the exact accumulated forcing (E_k = G(θ_k; h_k, p_{k+1}) − G_k, one extra backward pass), "
        + "r_k = Σηa_k u_k the bracket bounded with the block's C_θθ per pair and sample; compared with max_k‖θ_{k+1} − θ_k‖ of every replayed iterate and with the snapshots' parameters (the producer's trace is not read)."
      Hypotheses = hypotheses
      Conclusion =
        fun run ->
            let st = (tracks run).FromZero.Value
            let e = evaluation roundingRel (checksOf run st) [] []
            { e with Constants = constantsOf [ st ] run; Notes = [ sprintf "architecture %s; C_θθ from %s" run.Architecture.Value.Name run.Architecture.Value.Doc ] } }

/// (G.A.split.segments) restarted at every snapshot from its recorded parameters.
let splitSegments : Result<Run> =
    { split with
        Id = "G.A.split.segments"
        Title = "Depth-smoothness during training, any architecture: exact forcing, restarted at each snapshot"
        Statement =
          "As G.A.split on each interval between snapshots, replayed from the snapshot's recorded parameters and started from its own Δ_k; "
          + "each snapshot is compared with the bound propagated from the previous one, so a corrupted snapshot is measured against the replay of its predecessor."
        Conclusion =
          fun run ->
            let sts = (tracks run).Segments |> List.map Option.get
            let e = evaluation roundingRel (sts |> Seq.collect (checksOf run)) [] []
            { e with Constants = constantsOf sts run } }

/// The results of this file, for a registry.
let all : Result<Run> list = [ split; splitSegments ]
