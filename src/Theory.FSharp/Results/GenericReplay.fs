/// The verifier's own replay of a generic-architecture run (docs/theorems/GenericResults.md, "The replay"): plain or
/// clipped gradient descent recomputed through the block's Forward/Backward (BlockReplay) from recorded snapshots, with
/// every per-iterate quantity the generic results use recomputed from the replayed iterates (the columns of
/// BlockTraceColumns, by the producer's own recording routine), and for plain gradient descent the pair quantities of
/// A.split (the exact forcing E_k and the bracket coefficient a_k) with that result's recursion. The producer's trace is
/// never read here: it is a claim, compared with these columns by E.claims (Evidence/ReplayEvidence.fs).
module ResOdeProofs.Theory.GenericReplay

open System
open System.Collections.Generic
open System.Runtime.CompilerServices
open ResOdeProofs.Numerics
open ResOdeProofs.Numerics.Blocks
open ResOdeProofs.Numerics.Training
open ResOdeProofs.Numerics.Verification
open ResOdeProofs.Theory


/// a·c for a nonnegative weight a and a bound c that may be +∞: a weight 0 makes the product 0 (no NaN).
let weigh (a: float) (c: float) = if a = 0.0 then 0.0 else a * c

/// The quantities of pair (k, k+1) (0-based k = 0..L−2) at one iterate: the exact forcing E_k (P entries) and a_k.
/// With the architecture's PartBracket, also the part-by-part bracket matrix summed over the samples (else None).
type PairQuantities = { E: float[]; A: float; Parts: float[,] option }

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
        let e = Array.zeroCreate P
        BlockCalls.Forward(block, theta, k * P, hs, (k + 1) * nd, out, cache, n)
        BlockCalls.Backward(block, theta, k * P, hs, (k + 1) * nd, cache, ps, (k + 2) * nd, e, gh, n)
        for i in 0 .. P - 1 do e.[i] <- e.[i] - g.[k * P + i]
        let fro = run.Parts |> Array.mapi (fun q (name, _) -> name, max (fst partNorms.[k].[q]) (fst partNorms.[k + 1].[q])) |> Map.ofArray
        let op = run.Parts |> Array.mapi (fun q (name, _) -> name, max (snd partNorms.[k].[q]) (snd partNorms.[k + 1].[q])) |> Map.ofArray
        let mutable a = 0.0
        let parts = arch.PartBracket |> Option.map (fun _ -> Array2D.zeroCreate run.Parts.Length run.Parts.Length)
        for i in 0 .. n - 1 do
            let pn = Linalg.frobenius ps ((k + 2) * nd + i * d) d
            let b = { Hidden = Linalg.frobenius hs ((k + 1) * nd + i * d) d; AdjointSum = pn; PartFro = fro; PartOp = op
                      S0 = st.S0; S1 = st.S1; S2 = defaultArg st.S2 nan; Dim = d; Hyper = st.Hyper }
            let cTT =
                match arch.ThetaThetaAtState with
                | Some at -> at b { Theta = theta; First = k * P; Second = (k + 1) * P; State = hs; StateOffset = (k + 1) * nd + i * d }
                | None -> fst (arch.SecondDerivatives b)
            a <- a + weigh pn cTT
            match arch.PartBracket, parts with
            | Some pb, Some m ->
                let ai = pb b { Theta = theta; First = k * P; Second = (k + 1) * P; State = hs; StateOffset = (k + 1) * nd + i * d } ps ((k + 2) * nd + i * d)
                m |> Array2D.iteri (fun q q' v -> m.[q, q'] <- v + ai.[q, q'])
            | _ -> ()
        { E = e; A = a; Parts = parts })

/// The recursion's state for one pair: the exact accumulated forcing D, and for the whole layer difference and for each
/// part (with a part-by-part bracket) the accumulated bracket bound r and the plain Grönwall value x.
type private PairState = { D: float[]; mutable R: float; mutable X: float; RQ: float[]; XQ: float[] }

/// ‖Δ_k‖ ≤ u and ‖Δ_k,q‖ ≤ uq_q: u = min(x, ‖D‖ + r, (Σ_q ũ_q²)^{1/2}) with ũ_q = min(xq_q, ‖D_q‖ + rq_q), uq_q = min(ũ_q, u)
/// (each term bounds the same norm by induction, so their minimum does too; without parts, ũ = ∞).
let private bounds (off: int[]) (size: int[]) (p: PairState) =
    let scalar = min p.X (Linalg.norm p.D + p.R)
    let partU =
        Array.init off.Length (fun q ->
            if Double.IsPositiveInfinity p.XQ.[q] then infinity   // no part-by-part recursion: no bound from it
            else min p.XQ.[q] (Linalg.frobenius p.D off.[q] size.[q] + p.RQ.[q]))
    let u = min scalar (sqrt (partU |> Array.sumBy (fun x -> x * x)))
    u, partU |> Array.map (min u)

/// One replayed stretch from..to: the recomputed columns (BlockTraceColumns; absolute iterate index, NaN
/// outside the stretch; step_max at j is the update applied after iterate j), per part the largest operator norm over the
/// layers of the replayed θ at the stretch's start and at every snapshot iterate inside it, the replayed θ at the end,
/// and for plain gradient descent the bound of A.split per iterate (NaN otherwise) with the largest a_k, L‖E_k‖ seen.
type Stretch =
    { From: int; To: int; Bound: float[]; AMax: float; LEMax: float; GronwallOnly: float[]
      /// the bound with the scalar bracket a_k‖Δ_k‖ only (equal to Bound for a block without PartBracket)
      ScalarBound: float[]
      Columns: IReadOnlyDictionary<string, float[]>
      OpNorms: Map<int, float[]>
      EndTheta: float[]
      /// for plain gradient descent (else empty): per pair at the stretch's end, the accumulated forcing D̂ and the bound r on
      /// ‖Δ_k − D̂_k‖ (the roundings of D̂ and of the update in it), and ‖Δ_k‖ at its start (D̂ starts within u‖Δ_k‖ of Δ_k)
      EndD: float[][]; EndR: float[]; StartNorm: float[] }
    member s.Column(name: string) =
        match s.Columns.TryGetValue name with
        | true, c -> c
        | _ -> failwithf "the replay records no column '%s'" name

/// Per part: the largest operator-norm bound over the layers of θ (Run.LayerPartOperatorNorm).
let operatorNorms (run: Run) (theta: float[]) =
    run.Parts |> Array.mapi (fun q _ -> seq { for k in 0 .. run.Setting.Depth - 1 -> run.LayerPartOperatorNorm(theta, k, q) } |> Comparison.maxKeepNaNOr 0.0)

/// The clipping radius of a clipped run (None for plain gradient descent).
let clipOf (run: Run) = if run.Setting.Optimizer = "clipped-gd" then run.Setting.Clip else None

/// Replays the iterates from..upTo starting at the parameters `theta0` (those of iterate `from`); `total` is the length of
/// the per-iterate arrays. The recursion of A.split runs from Δ_k(from) read from `theta0` when the run is plain
/// gradient descent. None when the replay leaves the finite numbers.
let replayStretch (run: Run) (theta0: float[]) (from: int) (upTo: int) (total: int) : Stretch option =
    let arch = run.Architecture
    let block = nonNull run.Data.Block
    let st = run.Setting
    let L, P = st.Depth, run.ParameterCount
    let eta = st.Eta
    let clip = clipOf run
    let withPairs = st.Optimizer = "gd" && arch.IsSome
    // the unit roundoff of the replay's stored updates: the run's precision (the MLP block's fast kernels store float32
    // on a float32 run)
    let storeUnit = Rounding.unitRoundoff run
    let offsets = Array.init run.Parts.Length run.PartOffset
    let sizes = Array.init run.Parts.Length run.PartSize
    let columns = Dictionary<string, float[]>()
    for c in BlockTraceColumns.For block do columns.[c] <- Array.create total nan
    let snapIters = set run.Steps
    let mutable opNorms = Map.empty
    let withParts = withPairs && arch.Value.PartBracket.IsSome
    let nParts = run.Parts.Length
    let newState k =
        let dv = Array.init P (fun i -> theta0.[(k + 1) * P + i] - theta0.[k * P + i])
        let x = Linalg.norm dv
        { D = dv; R = 0.0; X = x
          RQ = Array.zeroCreate nParts
          XQ = Array.init nParts (fun q -> if withParts then Linalg.frobenius dv offsets.[q] sizes.[q] else infinity) }
    let states = Array.init (L - 1) newState
    let startNorm = states |> Array.map (fun p -> p.X)
    let scalarStates = Array.init (L - 1) newState
    for p in scalarStates do Array.fill p.XQ 0 nParts infinity
    let plain = Array.init (L - 1) (fun k -> states.[k].X)
    let bound = Array.create total nan
    let scalarBound = Array.create total nan
    let gronwall = Array.create total nan
    let mutable aMax, leMax = 0.0, 0.0
    let record j =
        bound.[j] <- states |> Array.fold (fun m p -> max m (fst (bounds offsets sizes p))) 0.0
        scalarBound.[j] <- scalarStates |> Array.fold (fun m p -> max m (fst (bounds offsets sizes p))) 0.0
        gronwall.[j] <- Comparison.maxKeepNaN (Array.append plain [| 0.0 |])
    if withPairs then record from
    let observe =
        BlockReplay.Observer(fun j theta net grad stats ->
            ThetaTrainer.Record(columns, j, stats, theta, grad, L, P, block, offsets, sizes)
            if j = from || snapIters.Contains j then opNorms <- opNorms.Add(j, operatorNorms run (theta.ToArray()))
            if j < upTo then
                // the update's step, as the trainer computes it
                let mutable stepMax = 0.0
                for k in 0 .. L - 1 do
                    let nrm = GenericResNet.Norm(grad.Slice(k * P, P))
                    let factor = match clip with Some c when nrm > c -> c / nrm | _ -> 1.0
                    stepMax <- max stepMax (eta * factor * nrm)
                columns.["step_max"].[j] <- stepMax
            if j < upTo && withPairs then
                let th, g = theta.ToArray(), grad.ToArray()
                let q = pairQuantities run arch.Value block th (net.HiddenStates.ToArray()) (net.Adjoints.ToArray()) g
                for k in 0 .. L - 2 do
                    let e = q.[k].E
                    let en = Linalg.norm e
                    let a = q.[k].A
                    aMax <- max aMax a
                    leMax <- max leMax (float L * en)
                    // rounding of the update θ ← θ − ηG of both layers, stored in the run's precision (entry-wise
                    // u|ηg| + u|θ_new|/(1 − u), with the norms as computed: Rounding.axpyRoundingAt)
                    let layerNew k' =
                        let mutable s = 0.0
                        for i in k' * P .. k' * P + P - 1 do
                            let v = th.[i] - eta * g.[i]
                            s <- s + v * v
                        Rounding.axpyRoundingAt storeUnit P (sqrt s) (eta * Linalg.frobenius g (k' * P) P)
                    let rounding = layerNew k + layerNew (k + 1)
                    for p in [ states.[k]; scalarStates.[k] ] do
                        let u, uq = bounds offsets sizes p
                        match q.[k].Parts with
                        | Some m when not (Double.IsInfinity p.XQ.[0]) ->
                            for r in 0 .. nParts - 1 do
                                let mutable beta = 0.0
                                for c in 0 .. nParts - 1 do beta <- beta + weigh uq.[c] m.[r, c]
                                let eq = Linalg.frobenius e offsets.[r] sizes.[r]
                                p.RQ.[r] <- p.RQ.[r] + eta * beta + rounding
                                p.XQ.[r] <- uq.[r] + eta * beta + eta * eq + rounding
                        | _ -> ()
                        // the signed sum D ← D − ηE in float64, its rounding absolute (Rounding.axpyRounding), into r
                        let mutable dd = 0.0
                        for i in 0 .. P - 1 do
                            let x = p.D.[i] - eta * e.[i]
                            p.D.[i] <- x
                            dd <- dd + x * x
                        let sumRounding = Rounding.axpyRounding P (sqrt dd) (eta * en)
                        for r in 0 .. nParts - 1 do
                            if not (Double.IsInfinity p.XQ.[r]) then p.RQ.[r] <- p.RQ.[r] + sumRounding
                        p.R <- p.R + eta * weigh u a + rounding + sumRounding
                        p.X <- u + eta * weigh u a + eta * en + rounding
                    plain.[k] <- plain.[k] + eta * weigh plain.[k] a + eta * en + rounding
                record (j + 1))
    // the run's engine settings: the MLP block is replayed by the fast kernels, whose last bits depend on them
    let float32, threads = run.Data.Meta.Precision = "float32", run.Data.Meta.Threads
    let runLast = max (run.Losses.Length - 1) run.Steps.[run.SnapshotCount - 1]
    // the backend's own count of clipped layers at each update (clip_fraction, compared on the bit-exact path)
    let fraction : Action<int, int> | null =
        match columns.TryGetValue "clip_fraction" with
        | true, c -> Action<int, int>(fun j clipped -> c.[j] <- float clipped / float L)
        | _ -> null
    match BlockReplay.Run(block, L, run.Data.Data, run.Data.A, run.Data.B, eta, Option.toNullable clip, ReadOnlySpan(theta0), from, upTo, observe, float32, threads,
                          run.Data.Directory, Nullable runLast, fraction) with
    | null -> None
    | endTheta ->
        Some { From = from; To = upTo; Bound = bound; ScalarBound = scalarBound; AMax = aMax; LEMax = leMax; GronwallOnly = gronwall
               Columns = columns; OpNorms = opNorms; EndTheta = endTheta
               EndD = (if withPairs then states |> Array.map (fun p -> p.D) else [||])
               EndR = (if withPairs then states |> Array.map (fun p -> p.R) else [||])
               StartNorm = (if withPairs then startNorm else [||]) }

/// Whether a block segment's replay is the recorded computation: it lands on the next snapshot bit for bit (the last
/// interval, which may end without a snapshot, counts as landing). E.replay and the split rows' hypothesis read it.
let landsExactly (run: Run) (s: int) (st: Stretch) =
    if s + 1 < run.SnapshotCount then
        let t = run.Theta(s + 1)
        t.Length = st.EndTheta.Length && Array.forall2 (fun (a: float) b -> a = b) t st.EndTheta
    else true

/// The last iterate a generic run evaluated (its losses), at least its last snapshot.
let lastIterate (run: Run) =
    if run.SnapshotCount = 0 then raise (MissingInput "the run holds no snapshot (it diverged before its first recorded weights)")
    max (run.Losses.Length - 1) run.Steps.[run.SnapshotCount - 1]

/// The intervals a run is replayed over, one per snapshot s that iterates follow: (s, its iterate, the next snapshot's
/// iterate or the run's last). One definition for `tracks`, E.replay's segments and the split rows' landing (three copies
/// of this loop before).
let intervals (run: Run) : (int * int * int) list =
    let last = lastIterate run
    [ for s in 0 .. run.SnapshotCount - 1 do
        let a = run.Steps.[s]
        let b = if s + 1 < run.SnapshotCount then run.Steps.[s + 1] else last
        if b > a then yield s, a, b ]

/// Both replays of a run: from t = 0 (one replay from snapshot 0) and restarted at every snapshot (one replay per
/// interval between snapshots, from the recorded parameters).
type SplitTracks = { FromZero: Stretch option; Segments: Stretch option list }

let private cache = ConditionalWeakTable<Run, SplitTracks>()

/// The replays of a run, computed once (needs the block registered in the engine and a snapshot at iteration 0).
let tracks (run: Run) : SplitTracks =
    cache.GetValue(run, fun run ->
        let last = lastIterate run
        let total = last + 1
        let fromZero = replayStretch run (run.Theta 0) 0 last total
        let segments = intervals run |> List.map (fun (s, a, b) -> replayStretch run (run.Theta s) a b total)
        { FromZero = fromZero; Segments = segments })

/// Per layer k (0-based), M_k = Σ_i J_k(‖h_k^i‖)‖p_{k+1}^i‖ ≥ Σ_i ‖∂_θf(θ_k, h_k^i)ᵀp_{k+1}^i‖ (states and adjoints indexed as the
/// pass stores them, layer k reading h at index k and p at index k + 1): the magnitude of layer k's gradient terms, J_k the
/// architecture's LipschitzTheta at layer k's own part norms and the measured state, against which an evaluation's rounding
/// of G_k is relative (L5.split's allowance; the companions' gradient rounding).
let termMagnitudes (run: Run) (arch: Architecture) (theta: float[]) (states: float[]) (adjoints: float[]) : float[] =
    let set = run.Setting
    let L, n, d, P = set.Depth, set.Samples, set.Dim, run.ParameterCount
    Array.init L (fun k ->
        let norms = run.Parts |> Array.mapi (fun q (name, _) -> name, Linalg.frobenius theta (k * P + run.PartOffset q) (run.PartSize q), run.LayerPartOperatorNorm(theta, k, q))
        let fro = norms |> Array.map (fun (nm, f, _) -> nm, f) |> Map.ofArray
        let op = norms |> Array.map (fun (nm, _, o) -> nm, o) |> Map.ofArray
        let mutable m = 0.0
        for i in 0 .. n - 1 do
            let h = Linalg.frobenius states ((k * n + i) * d) d
            let p = Linalg.frobenius adjoints (((k + 1) * n + i) * d) d
            let b = { Hidden = h; AdjointSum = 0.0; PartFro = fro; PartOp = op
                      S0 = set.S0; S1 = set.S1; S2 = defaultArg set.S2 nan; Dim = d; Hyper = set.Hyper }
            m <- m + arch.LipschitzTheta b * p
        m)

/// How much the forward pass amplifies a rounding error made at one layer by the time it reaches the outputs, at parameters
/// θ: the layer map h ↦ h + f(θ_k, h)/L has Jacobian I + ∂_hf(θ_k, h)/L, formed at each sample's state h_{k−1}^i of the pass
/// through θ by the block's own Backward on the d unit adjoints, so an error entering after layer k reaches h_L at most
/// Π_{l>k} max_i ‖I + ∂_hf(θ_l, h_{l−1}^i)/L‖₂ times larger (submultiplicativity), and Ā = Π_k max(1, max_i ‖·‖₂) bounds every
/// such product at the pass' states (an estimate: the Jacobians at the states themselves, not along the segment to the exact
/// ones). The block loss allowances' output error δ = γ_N‖B‖₂·max‖h‖ counts the roundings of every layer, not their growth,
/// and takes δ·Ā: a user's adversarial one-layer tanh run (W = Q diag(13, −13)Qᵀ, inputs on the contracting direction,
/// rounding along the expanding one) had even the verifier's own float64 loss outside the allowance without it; the
/// architecture's LipschitzH in its place (a worst case over all states) made the allowance of a glu run 10¹² times the
/// loss (a second user test: a final loss doubled passed). Computed once per run and parameter set.
let private ampCache = ConditionalWeakTable<Run, Dictionary<int, float>>()
let amplificationAt (run: Run) (theta: float[]) : float =
    let block = nonNull run.Data.Block
    let set = run.Setting
    let L, n, d, P = set.Depth, set.Samples, set.Dim, run.ParameterCount
    let net = GenericResNet(block, L, run.Data.Data, run.Data.A, run.Data.B)
    net.Evaluate(ReadOnlySpan(theta), Span.Empty) |> ignore
    let hs = net.HiddenStates.ToArray()
    let out = Array.zeroCreate d
    let cache = Array.zeroCreate (block.CacheSize 1)
    let unit = Array.zeroCreate d
    let gTheta = Array.zeroCreate P
    let gh = Array.zeroCreate d
    let jac = Array.zeroCreate (d * d)
    let mutable a = 1.0
    for k in 0 .. L - 1 do
        let mutable worst = 1.0
        for i in 0 .. n - 1 do
            BlockCalls.Forward(block, theta, k * P, hs, (k * n + i) * d, out, cache, 1)
            for c in 0 .. d - 1 do
                Array.fill unit 0 d 0.0
                unit.[c] <- 1.0
                Array.fill gTheta 0 P 0.0
                Array.fill gh 0 d 0.0
                BlockCalls.Backward(block, theta, k * P, hs, (k * n + i) * d, cache, unit, 0, gTheta, gh, 1)
                // row c of ∂_hf: (∂_hf)ᵀe_c; the layer's Jacobian I + ∂_hf/L
                for r in 0 .. d - 1 do jac.[c * d + r] <- (if r = c then 1.0 else 0.0) + gh.[r] / float L
            // a Jacobian that is not finite (states that overflowed) bounds no growth: +∞, never dropped (F#'s max keeps its
            // first argument against a NaN, which would have claimed no growth at all)
            let nrm = if Array.forall Double.IsFinite jac then Linalg.spectralNorm d d jac 0 else infinity
            worst <- if Double.IsNaN nrm then infinity else max worst nrm
        a <- a * worst
    a

/// `amplificationAt` at snapshot s's parameters, computed once per run and snapshot.
let amplificationAtSnapshot (run: Run) (s: int) : float =
    let perRun = ampCache.GetValue(run, fun _ -> Dictionary<int, float>())
    lock perRun (fun () ->
        match perRun.TryGetValue s with
        | true, a -> a
        | _ ->
            let a = amplificationAt run (run.Theta s)
            perRun.[s] <- a
            a)

/// The amplification for an iterate j between snapshots, where the parameters are not at hand: the larger of the two
/// snapshots around it (an estimate, as `amplificationAt` is).
let amplificationAround (run: Run) (j: int) : float =
    let before = run.Steps |> Array.tryFindIndexBack (fun t -> t <= j)
    let after = run.Steps |> Array.tryFindIndex (fun t -> t >= j)
    let at = function Some s -> amplificationAtSnapshot run s | None -> 1.0
    max (at before) (at after)

let private companionCache = ConditionalWeakTable<Run, BlockTolerance option list>()

/// Another producer's block run (no bit-exact claim, `Replay.BitExactClaim`): per interval of `intervals`, what the rounding
/// companions estimate (`BlockCompanions.Run`: the tolerance E_i on the parameters and the loss allowance at every iterate,
/// the MLP's method through the block's generic pass), None for a run of this engine's build (compared bit for bit instead)
/// or an interval whose replay left the finite numbers; computed once per run. τ is the block's relative rounding of one
/// evaluation (`Evidence.tau`, γ_N), u the run's unit roundoff; the gradient's rounding is taken relative to its sample terms,
/// M = (Σ_k M_k²)^{1/2}, M_k = Σ_i J_k(‖h_{k−1}^i‖)‖p_k^i‖ ≥ Σ_i ‖∂_θf(θ_k, h_{k−1}^i)ᵀp_k^i‖ (L4's constant at layer k's part
/// norms), where the architecture declares its constants, else relative to the step.
let companions (run: Run) : BlockTolerance option list =
    companionCache.GetValue(run, fun run ->
        let block = nonNull run.Data.Block
        let set = run.Setting
        let L, n, d = set.Depth, set.Samples, set.Dim
        if not (isNull (Replay.BitExactClaim run.Data)) then intervals run |> List.map (fun _ -> None)
        else
            let termsNorm : Func<float[], GenericResNet, float> | null =
                match run.Architecture with
                | None -> null
                | Some arch ->
                    Func<float[], GenericResNet, float>(fun theta net ->
                        let m = termMagnitudes run arch theta (net.HiddenStates.ToArray()) (net.Adjoints.ToArray())
                        sqrt (m |> Array.sumBy (fun x -> x * x)))
            let t = tracks run
            List.map2 (fun (s, a, b) (st: Stretch option) ->
                if st.IsNone then None
                else
                    Some(BlockCompanions.Run(block, L, run.Data.Data, run.Data.A, run.Data.B, set.Eta, Option.toNullable (clipOf run),
                                             ReadOnlySpan(run.Theta s), b - a, Evidence.tau run, Evidence.unit run, set.ReadoutNorm, termsNorm,
                                             (let amp = max (amplificationAtSnapshot run s) (if s + 1 < run.SnapshotCount then amplificationAtSnapshot run (s + 1) else 1.0)
                                              Func<float[], float, float>(fun _ _ -> amp)))))
                (intervals run) t.Segments)

/// The first segment of another producer's block run whose replay misses its next snapshot beyond the companions' landing
/// allowance E_To + u‖θ‖ (E.replay violated there): (s, the distance, the allowance). Its replays restarted at every snapshot
/// join into one descent only through their landings, so the rows that read them as one (A.split.segments' hypothesis, result
/// C's stitched columns) say so; None when every certified segment lands within its allowance (or has no next snapshot).
let missedLanding (run: Run) : (int * float * float) option =
    let u = Evidence.unit run
    List.zip3 (intervals run) (tracks run).Segments (companions run)
    |> List.tryPick (fun ((s, _, _), st, c) ->
        match st, c with
        | Some st, Some c when s + 1 < run.SnapshotCount ->
            let t = run.Theta(s + 1)
            let gap = Linalg.frobeniusDiff t 0 st.EndTheta 0 t.Length
            let allowance = c.WeightTolerance.[c.WeightTolerance.Length - 1] + u * Linalg.norm t
            if gap > allowance then Some(s, gap, allowance) else None
        | _ -> None)
