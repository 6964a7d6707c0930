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
/// The iterates are those of the generic replay (BlockReplay) from a recorded snapshot; nothing is read from the trace
/// but the values compared with.
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

let private doc = "docs/theorems/GenericResults.md"

/// Unit roundoff of float64.
let private unit = Math.ScaleB(1.0, -53)

/// a·c for a nonnegative weight a and a bound c that may be +∞: a weight 0 makes the product 0 (no NaN).
let private weigh (a: float) (c: float) = if a = 0.0 then 0.0 else a * c

/// The quantities of pair (k, k+1) (0-based k = 0..L−2) at one iterate: the exact forcing E_k (P entries) and a_k.
type PairQuantities = { E: float[]; A: float }

/// Evaluates E_k and a_k for every pair at one iterate from its parameters, states, adjoints and gradient.
let pairQuantities (run: Run) (arch: Architecture) (block: IResidualBlock) (theta: float[]) (hs: float[]) (ps: float[]) (g: float[]) =
    let st = run.Setting
    let L, n, d, P = st.Depth, st.Samples, st.Dim, run.ParameterCount
    let nd = n * d
    let cache = Array.zeroCreate (block.CacheSize n)
    let out = Array.zeroCreate nd
    let gh = Array.zeroCreate nd
    let partNorms =
        Array.init L (fun k ->
            run.Parts |> Array.mapi (fun q _ ->
                Linalg.frobenius theta (k * P + run.PartOffset q) (run.PartSize q), run.LayerPartOperatorNorm(theta, k, q)))
    Array.init (L - 1) (fun k ->
        let th = ReadOnlySpan(theta, k * P, P)
        let h = ReadOnlySpan(hs, (k + 1) * nd, nd)
        let e = Array.zeroCreate P
        block.Forward(th, h, Span(out), Span(cache), n)
        block.Backward(th, h, ReadOnlySpan(cache), ReadOnlySpan(ps, (k + 2) * nd, nd), Span(e), Span(gh), n)
        for i in 0 .. P - 1 do e.[i] <- e.[i] - g.[k * P + i]
        let fro = run.Parts |> Array.mapi (fun q (name, _) -> name, max (fst partNorms.[k].[q]) (fst partNorms.[k + 1].[q])) |> Map.ofArray
        let op = run.Parts |> Array.mapi (fun q (name, _) -> name, max (snd partNorms.[k].[q]) (snd partNorms.[k + 1].[q])) |> Map.ofArray
        let mutable a = 0.0
        for i in 0 .. n - 1 do
            let pn = Linalg.frobenius ps ((k + 2) * nd + i * d) d
            let b = { Hidden = Linalg.frobenius hs ((k + 1) * nd + i * d) d; AdjointSum = pn; PartFro = fro; PartOp = op
                      S0 = st.S0; S1 = st.S1; S2 = defaultArg st.S2 nan; Dim = d; Hyper = st.Hyper }
            let cTT =
                match arch.ThetaThetaAtState with
                | Some at -> at b { Theta = theta; First = k * P; Second = (k + 1) * P; State = hs; StateOffset = (k + 1) * nd + i * d }
                | None -> fst (arch.SecondDerivatives b)
            a <- a + weigh pn cTT
        { E = e; A = a })

/// The recursion's state for one pair.
type private PairState = { D: float[]; mutable R: float; mutable X: float }

let private uOf (p: PairState) = min p.X (Linalg.norm p.D + p.R)

/// The bound of one replayed stretch: per iterate (absolute index) the bound on max_k‖Δ_k‖ (NaN outside the stretch),
/// and the largest a_k, L‖E_k‖ seen.
type Stretch = { From: int; To: int; Bound: float[]; AMax: float; LEMax: float; GronwallOnly: float[] }

/// Replays the iterates from..to starting at the parameters `theta0` (those of iterate `from`), running the recursion
/// from Δ_k(from) read from `theta0`; `total` is the length of the per-iterate arrays. None when the replay leaves the
/// finite numbers.
let replayStretch (run: Run) (theta0: float[]) (from: int) (upTo: int) (total: int) : Stretch option =
    let arch = run.Architecture.Value
    let block = nonNull run.Data.Block
    let st = run.Setting
    let L, P = st.Depth, run.ParameterCount
    let eta = st.Eta
    let states =
        Array.init (L - 1) (fun k ->
            let dv = Array.init P (fun i -> theta0.[(k + 1) * P + i] - theta0.[k * P + i])
            let x = Linalg.norm dv
            { D = dv; R = 0.0; X = x })
    let plain = Array.init (L - 1) (fun k -> states.[k].X)
    let bound = Array.create total nan
    let gronwall = Array.create total nan
    let mutable aMax, leMax = 0.0, 0.0
    let record j =
        bound.[j] <- states |> Array.fold (fun m p -> max m (uOf p)) 0.0
        gronwall.[j] <- Array.max (Array.append plain [| 0.0 |])
    record from
    let observe =
        BlockReplay.Observer(fun j theta net grad ->
            if j < upTo then
                let th, g = theta.ToArray(), grad.ToArray()
                let q = pairQuantities run arch block th (net.HiddenStates.ToArray()) (net.Adjoints.ToArray()) g
                for k in 0 .. L - 2 do
                    let p = states.[k]
                    let e = q.[k].E
                    let en = Linalg.norm e
                    let a = q.[k].A
                    aMax <- max aMax a
                    leMax <- max leMax (float L * en)
                    let u = uOf p
                    // rounding of the update θ ← θ − ηG of both layers (entry-wise u|θ_new| + u|ηg|, the last term generous)
                    let layerNew k' =
                        let mutable s = 0.0
                        for i in k' * P .. k' * P + P - 1 do
                            let v = th.[i] - eta * g.[i]
                            s <- s + v * v
                        sqrt s + 1.01 * eta * Linalg.frobenius g (k' * P) P
                    let rounding = 1.01 * unit * (layerNew k + layerNew (k + 1))
                    for i in 0 .. P - 1 do p.D.[i] <- p.D.[i] - eta * e.[i]
                    p.R <- p.R + eta * weigh u a + rounding
                    p.X <- u + eta * weigh u a + eta * en + rounding
                    plain.[k] <- plain.[k] + eta * weigh plain.[k] a + eta * en + rounding
                record (j + 1))
    match BlockReplay.Run(block, L, run.Data.Data, run.Data.A, run.Data.B, eta, ReadOnlySpan(theta0), from, upTo, observe) with
    | null -> None
    | _ -> Some { From = from; To = upTo; Bound = bound; AMax = aMax; LEMax = leMax; GronwallOnly = gronwall }

/// The last iterate a generic run evaluated (its losses), at least its last snapshot.
let lastIterate (run: Run) = max (run.Losses.Length - 1) run.Steps.[run.SnapshotCount - 1]

/// Both recursions of a run: from t = 0 (one replay from snapshot 0) and restarted at every snapshot (one replay per
/// interval between snapshots, from the recorded parameters).
type SplitTracks = { FromZero: Stretch option; Segments: Stretch option list }

let private cache = ConditionalWeakTable<Run, SplitTracks>()

/// The two recursions of a run, computed once.
let tracks (run: Run) : SplitTracks =
    cache.GetValue(run, fun run ->
        let last = lastIterate run
        let total = last + 1
        let fromZero = replayStretch run (run.Theta 0) 0 last total
        let segments =
            [ for s in 0 .. run.SnapshotCount - 1 do
                let a = run.Steps.[s]
                let b = if s + 1 < run.SnapshotCount then run.Steps.[s + 1] else last
                if b > a then yield replayStretch run (run.Theta s) a b total ]
        { FromZero = fromZero; Segments = segments })

// ---------------------------------------------------------------- hypotheses

let hypPlainGd : string * (Run -> HypothesisCheck) =
    "plain gradient descent", fun run ->
        match run.Setting.Optimizer with
        | "gd" -> Met "gd"
        | o -> NotMet(sprintf "optimizer %s: the split recursion replays the plain step θ ← θ − ηG" o)

let hypEngineBlock : string * (Run -> HypothesisCheck) =
    "block registered in the engine", fun run ->
        match run.Data.Block with
        | null -> NotMet(sprintf "architecture '%s' is not registered in the engine's BlockCatalog (the replay needs its Backward)" run.Setting.Architecture)
        | b -> Met b.Name

let hypSnapshots : string * (Run -> HypothesisCheck) =
    "snapshot at iteration 0 and a later one", fun run ->
        if run.SnapshotCount >= 2 && run.Steps.[0] = 0 then Met(sprintf "%d snapshots" run.SnapshotCount)
        else NotMet "needs a snapshot at iteration 0 and at least one more"

let hypFiniteReplay : string * (Run -> HypothesisCheck) =
    "replayed iterates finite", fun run ->
        let t = tracks run
        if t.FromZero.IsSome && t.Segments |> List.forall Option.isSome then Met "every replayed iterate"
        else NotMet "the replay of the recorded gradient descent left the finite numbers"

// ---------------------------------------------------------------- comparisons

let private checksOf (run: Run) (st: Stretch) : Check seq =
    let sz = run.ClaimedTrace "smooth_theta"
    seq {
        match sz with
        | Some sz ->
            for j in st.From + 1 .. min st.To (sz.Length - 1) do
                yield { Measured = sz.[j]; Bound = st.Bound.[j]; Where = "max_k ‖θ_{k+1} − θ_k‖ (trace smooth_theta)"
                        When = sprintf "iteration %d (t = %g)" j (float j * run.Setting.Eta) }
        | None -> ()
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
        + "r_k = Σηa_k u_k the bracket bounded with the block's C_θθ per pair and sample; compared with smooth_theta at every iterate and with the snapshots' parameters."
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
