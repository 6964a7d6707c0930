/// Results A (depth-smoothness during training) and B (ResNet vs neural ODE) stated ONCE for any
/// architecture that supplies its constants through `Architecture` (docs/theorems/GenericResults.md).
///
/// A.aposteriori: for gradient descent θ ← θ − η G (clipped or not), with Δ_k = θ_{k+1} − θ_k,
///   max_k ‖Δ_k(t_j)‖ ≤ Π_{i<j}(1 + η a_i)·max_k ‖Δ_k(0)‖ + (1/L) Σ_{i<j} η b_i Π_{i<l<j}(1 + η a_l),
/// (a_i, b_i) = the architecture's lemma-L5 constants at iterate i, from the quantities of the verifier's replay
/// (GenericReplay: hidden states, adjoints and part norms recomputed at every iterate; the producer's trace is not read).
/// The statements of A.aposteriori and A.aposteriori.segments are AposterioriFamily's, written once for every
/// architecture; this file supplies any block's ingredients (the bound per iterate from the replay).
/// B.bound: at fixed parameters θ_k = θ⁰(k/L) sampled from a function of depth with sup_s‖dθ⁰/ds‖ ≤ Lip,
///   max_i ‖h_L^i − H^i(1)‖ ≤ e^κ (J·Lip + κ F)/(2L),   dH/ds = f(θ⁰(s), H), H(0) = h_0.
/// B.rate: over a depth ladder the error of B.bound decreases at least like 1/L (Rate.decide).
module ResOdeProofs.Theory.GenericResults

open System
open ResOdeProofs.Numerics
open ResOdeProofs.Numerics.Blocks
open ResOdeProofs.Numerics.Training
open ResOdeProofs.Theory
open ResOdeProofs.Theory.LemmaChain
open ResOdeProofs.Theory.Comparison

let private doc = "docs/theorems/GenericResults.md"

/// The largest entry, a NaN counting as the largest (Comparison.worstIndexMax: F#'s Array.max drops a NaN that is not
/// first, which would hide a non-finite bound ingredient or constant).
let private largestEntry (xs: float[]) = xs.[Comparison.worstIndexMax xs.Length (fun i -> xs.[i])]

// ---------------------------------------------------------------- hypotheses

let hypArchitecture : string * (Run -> HypothesisCheck) =
    "architecture has stated constants", fun run ->
        match run.Architecture with
        | Some a -> Met(sprintf "%s (%s)" a.Name a.Doc)
        | None -> NotMet(sprintf "no theory-side constants are registered for architecture '%s' (add them as in docs/extending.md)" run.Setting.Architecture)

/// The architecture's own requirements, as one hypothesis each.
let private requirements (run: Run) =
    match run.Architecture with
    | None -> []
    | Some a -> a.Requirements |> List.map (fun (name, check) -> name, check run.Setting)

let hypLipschitzInit : string * (Run -> HypothesisCheck) =
    "Lipschitz initialization theta_k(0) = theta0(k/L)", fun run ->
        match run.Setting.DeclaredInitLipschitz with
        | Some lip when run.SnapshotCount > 0 && run.Steps.[0] = 0 ->
            // the label is a claim about snapshot 0 (E.init compares it): met only when the initial parameters obey it, within
            // E.init's allowance (a referee's "tied" run with an unequal layer read "Lip(theta0) <= 0: met" beside a row
            // printing max_k‖Δ_k(0)‖ = 0.2)
            let L = float run.Setting.Depth
            let measured = L * run.DepthIncrement 0
            if run.DepthIncrement 0 <= Evidence.declaredIncrementBound run lip then Met(sprintf "%s init, Lip(theta0) <= %.6g (snapshot 0: L·max_k‖θ_{k+1}(0) − θ_k(0)‖ = %.6g)" run.Setting.InitKind lip measured)
            else NotMet(sprintf "%s init declares Lip(theta0) <= %.6g, but snapshot 0 measures L·max_k‖θ_{k+1}(0) − θ_k(0)‖ = %.6g (E.init compares the claim)" run.Setting.InitKind lip measured)
        | Some lip -> Met(sprintf "%s init, Lip(theta0) <= %.6g (no snapshot at iteration 0 to check it against)" run.Setting.InitKind lip)
        | None ->
            let undeclared =
                match run.Data.Meta.Init.LipschitzParts with
                | null -> []
                | d -> [ for n, _ in run.Parts do if not (d.ContainsKey n) then yield n ]
            if undeclared.IsEmpty then NotMet(sprintf "%s init discretizes no function of depth with a known Lipschitz constant" run.Setting.InitKind)
            else NotMet(sprintf "%s init: run.json's lipschitz_parts leaves %s undeclared, so the constant of θ is unknown (a part left out is not 0)" run.Setting.InitKind (String.concat ", " undeclared))

let hypNotDiverged = Hypotheses.notDiverged

let hypGradientDescent : string * (Run -> HypothesisCheck) =
    "gradient descent (plain or clipped)", fun run ->
        match run.Setting.Optimizer with
        | "gd" | "clipped-gd" -> Met run.Setting.Optimizer
        | o -> NotMet(sprintf "optimizer %s: the recursion is the gradient-descent step" o)

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
        // every hypothesis is evaluated, so this one must not replay what the engine cannot (hypEngineBlock says why)
        if isNull run.Data.Block then NotMet "not replayed: the architecture is not registered in the engine"
        else
            let t = GenericReplay.tracks run
            if t.FromZero.IsSome && t.Segments |> List.forall Option.isSome then Met "every replayed iterate"
            else NotMet "the replay of the recorded gradient descent left the finite numbers"

let hypInitialSnapshot = Hypotheses.initialSnapshot

/// Evaluates hypotheses the registry lists with the architecture's requirements spliced in (Result.evaluate
/// takes a fixed list, so requirements are checked by one hypothesis that reports every unmet one).
let hypRequirements : string * (Run -> HypothesisCheck) =
    "the architecture's requirements", fun run ->
        match requirements run with
        | [] -> Met "none"
        | rs ->
            match rs |> List.choose (fun (n, c) -> match c with NotMet why -> Some(sprintf "%s: %s" n why) | Met _ -> None) with
            | [] -> Met(rs |> List.map (fun (n, c) -> match c with Met v -> sprintf "%s (%s)" n v | _ -> n) |> String.concat "; ")
            | bad -> NotMet(String.concat "; " bad)

// ---------------------------------------------------------------- iterate bounds from the replay

/// The bounds at every iterate j of a replayed stretch (absolute index, NaN-filled outside it): H = hidden_max,
/// P = adjoint_sum_max, per part ‖·‖_F ≤ fro_max_<part>, all recomputed from the replayed iterate, and per part the
/// certified operator-norm bound min(c·fro_max, max_k‖op(θ_k,part(t_s))‖₂ + c·Σ_{s≤i<j} step_max_i) from the latest
/// replayed iterate t_s ≤ j at which the operator norms were taken (the stretch's start and every snapshot iterate:
/// ‖op(X + E)‖₂ ≤ ‖op(X)‖₂ + c‖E‖_F, and each part of an update is at most step_max), with c = Run.PartFrobeniusFactor
/// (1 for a matrix, Weyl; 3 for a 3×3 convolution kernel) and the norms from Run.LayerPartOperatorNorm; s0, s1, s2
/// the global constants of σ.
let iterateBounds (run: Run) (st: GenericReplay.Stretch) : IterateBounds[] =
    let set = run.Setting
    let hid, adj, step = st.Column "hidden_max", st.Column "adjoint_sum_max", st.Column "step_max"
    let fro = run.Parts |> Array.map (fun (p, _) -> st.Column("fro_max_" + p))
    let mutable baseOp = Array.create run.Parts.Length infinity
    let mutable acc = 0.0
    Array.init (st.To + 1) (fun j ->
        if j < st.From then Unchecked.defaultof<IterateBounds>
        else
            match st.OpNorms.TryFind j with
            | Some ops -> baseOp <- ops; acc <- 0.0
            | None -> acc <- acc + step.[j - 1]
            let partFro = run.Parts |> Array.mapi (fun q (p, _) -> p, fro.[q].[j]) |> Map.ofArray
            let partOp = run.Parts |> Array.mapi (fun q (p, _) -> let c = run.PartFrobeniusFactor q in p, min (c * fro.[q].[j]) (baseOp.[q] + c * acc)) |> Map.ofArray
            { Hidden = hid.[j]; AdjointSum = adj.[j]; PartFro = partFro; PartOp = partOp
              S0 = set.S0; S1 = set.S1; S2 = defaultArg set.S2 nan; Dim = set.Dim; Hyper = set.Hyper })

/// The bound of A on each replayed stretch: z at the stretch's start is its own max_k‖Δ_k‖ (snapshot 0's, or with
/// restart the snapshot's recorded parameters), z_{j+1} = (1 + η a_j) z_j + η b_j/L with (a_j, b_j) the architecture's
/// lemma-L5 constants at the replayed iterate j. Returns, per iterate (absolute index), the bound, the replayed
/// max_k‖θ_{k+1} − θ_k‖ it is compared with, and the (a, b) used. Without restart one stretch from t = 0; with restart one
/// per interval between snapshots, each replayed from the snapshot's recorded parameters; the value at a snapshot is
/// always propagated from the previous one, never read from the parameters it is compared with.
let depthSmoothnessBoundWith (restart: bool) (arch: Architecture) (run: Run) : float[] * (float * float)[] * float[] =
    let t = GenericReplay.tracks run
    let stretches = if restart then t.Segments |> List.map Option.get else [ t.FromZero.Value ]
    let total = GenericReplay.lastIterate run + 1
    let z = Array.create total nan
    let measured = Array.create total nan
    let ab = Array.create total (nan, nan)
    let L = float run.Setting.Depth
    let eta = run.Setting.Eta
    for st in stretches do
        let bs = iterateBounds run st
        let sz = st.Column "smooth_theta"
        // the start is the stretch's own increment; a snapshot iterate keeps the value propagated to it by the previous stretch
        if Double.IsNaN z.[st.From] then z.[st.From] <- sz.[st.From]
        if Double.IsNaN measured.[st.From] then measured.[st.From] <- sz.[st.From]
        let mutable prev = sz.[st.From]
        for j in st.From + 1 .. st.To do
            let a, b = arch.GradientDifference bs.[j - 1]
            ab.[j - 1] <- (a, b)
            prev <- AposterioriFamily.step eta L a b prev
            z.[j] <- prev
            measured.[j] <- sz.[j]
    z, ab, measured

/// The bound of A.aposteriori (from t = 0, no restart).
let depthSmoothnessBound (arch: Architecture) (run: Run) = depthSmoothnessBoundWith false arch run

/// Any block's track of result A's comparison (`AposterioriFamily.checks`): the replay's own increments (no allowance:
/// the measured value is the verifier's).
let private track (bound: float[]) (measured: float[]) : AposterioriFamily.Track =
    { Bound = bound; Measured = measured; Allowance = (fun _ _ -> 0.0)
      IterateLabel = "max_k ‖θ_{k+1} − θ_k‖ (replayed iterate)"; SnapshotLabel = "max_k ‖θ_{k+1} − θ_k‖ (snapshot parameters)" }

let private aposterioriHypotheses =
    [ hypArchitecture; hypRequirements; hypEngineBlock; hypLipschitzInit; hypNotDiverged; hypGradientDescent; hypSnapshots; hypFiniteReplay ]

/// Any block's rows of the a posteriori form of result A (the statements: AposterioriFamily.fs).
let aposterioriFamily : AposterioriFamily.Family =
    { Doc = doc; Which = "any architecture"
      Source = "paper §3 (finite training time), stated generically here (docs/theorems/GenericResults.md)"
      Network = "on h_k = h_{k−1} + (1/L) f(θ_k, h_{k−1}) with a Lipschitz initialization (Δ_k = θ_{k+1} − θ_k)"
      Coefficients =
        "(a_i, b_i) are the architecture's lemma-L5 constants evaluated with the hidden-state, adjoint and part norms of the verifier's replay "
        + "(from snapshot 0) at iterate i"
      Compared = "max_k‖θ_{k+1} − θ_k‖ of every replayed iterate and of the snapshots' parameters"
      Restart = "replayed from the snapshot's recorded parameters and started from its own max_k‖Δ_k(t_s)‖"
      Remark =
        " An a-posteriori statement with the block's global constants: it may be loose by orders of magnitude; the result held to a tightness "
        + "target is A.split." }

/// (A.aposteriori) depth-smoothness during training for any registered architecture.
let depthSmoothness : Result<Run> =
    AposterioriFamily.aposterioriResult aposterioriFamily aposterioriHypotheses (fun run ->
        let arch = run.Architecture.Value
        let bound, ab, sz = depthSmoothnessBound arch run
        let last = bound.Length - 1
        let ab = ab.[0 .. last - 1]
        let L = float run.Setting.Depth
        AposterioriFamily.evaluate run (track bound sz) (ab |> Array.map fst |> largestEntry) (ab |> Array.map snd |> largestEntry)
            [ "Lip(theta0)/L", run.Setting.DeclaredInitLipschitz.Value / L
              "C(T) = L * bound at the last iterate", L * bound.[last] ]
            [ sprintf "architecture %s, constants from %s" arch.Name arch.Doc ])

/// (A.aposteriori.segments) the same inequality restarted at every snapshot from the snapshot's own increments.
let depthSmoothnessSegments : Result<Run> =
    AposterioriFamily.aposterioriSegmentsResult aposterioriFamily aposterioriHypotheses (fun run ->
        let bound, ab, sz = depthSmoothnessBoundWith true run.Architecture.Value run
        AposterioriFamily.evaluateSegments run (track bound sz) (ab |> Array.truncate (max 0 (bound.Length - 1)) |> Array.map fst |> Comparison.maxKeepNaNOr 0.0))

// ---------------------------------------------------------------- result B: the neural ODE of θ⁰

/// θ⁰(s) of the run's initialization and the Lipschitz constant of each part in s, when the engine can rebuild it:
/// tied → the common layer (Lipschitz 0); smooth → the closed form of `BlockInitialization.SmoothFunction` from the
/// seed, scales and modes in run.json, with the Lipschitz constants that function computes from its own coefficients
/// (never run.json's declared ones: the weights are checked against θ⁰(k/L) by `hypInitialFunction`).
let initialFunctionWithLipschitz (run: Run) : ((float -> float[]) * float[]) option =
    let meta = run.Data.Meta
    let P = run.ParameterCount
    match run.Data.Block, meta.Init.Kind, meta.Init.Scales with
    | null, _, _ -> None
    | _, "tied", _ when run.SnapshotCount > 0 && run.Steps.[0] = 0 ->
        let layer = (run.Theta 0).[0 .. P - 1]
        Some((fun _ -> layer), Array.zeroCreate run.Parts.Length)
    | block, "smooth", scalesDict when meta.Init.Modes.HasValue && meta.Seed.HasValue ->
        match scalesDict with
        | null -> None
        | sd ->
            let scales = run.Parts |> Array.map (fun (p, _) -> match sd.TryGetValue p with | true, v -> v | _ -> 0.0)
            let f, lips = BlockInitialization.SmoothFunction(block, meta.Seed.Value, scales, meta.Init.Modes.Value)
            Some((fun s -> let t = Array.zeroCreate P in f.Invoke(s, Span(t)); t), lips)
    | _ -> None

/// θ⁰(s) of the run's initialization, when the engine can rebuild it (see `initialFunctionWithLipschitz`).
let initialFunction (run: Run) : (float -> float[]) option = initialFunctionWithLipschitz run |> Option.map fst

/// The vector field H ↦ f(θ, H) of the block for the n states at once (one forward cache shared by the calls).
let private blockField (block: IResidualBlock) (n: int) =
    let cache = Array.zeroCreate (block.CacheSize n)
    fun (theta: float[]) ->
        fun (h: float[]) ->
            let o = Array.zeroCreate (n * block.StateDim)
            BlockCalls.Forward(block, theta, 0, h, 0, o, cache, n)
            o

/// Classic RK4 (`Integration.rk4Solve`) for dH/ds = f(θ⁰(s), H) on [0, 1] with M steps for the n states at once.
/// Returns H(1) (n×d) and max over the grid of max_i ‖H^i(s)‖.
let private rk4 (block: IResidualBlock) (theta: float -> float[]) (h0: float[]) (n: int) (steps: int) =
    let d = block.StateDim
    let f = blockField block n
    let maxNorm (h: float[]) = seq { for i in 0 .. n - 1 -> Linalg.norm h.[i * d .. i * d + d - 1] } |> Seq.max
    let dt = 1.0 / float steps
    let hmax = ref (maxNorm h0)
    let h = Integration.rk4Solve (fun q frac -> f (theta (float q * dt + frac * dt))) dt steps (fun _ h -> hmax.Value <- max hmax.Value (maxNorm h)) h0
    h, hmax.Value

/// RK4 steps of the reference solve (and twice as many for its error estimate). RK4's error is O(M⁻⁴):
/// with M = 1024 it is far below the O(1/L) error measured for L ≤ 1024, and the estimate says how far.
[<Literal>]
let OdeSteps = 1024

/// The check of B at snapshot 0: measured max_i‖h_L^i − H^i(1)‖, the bound, its constants and the integration error estimate.
type EulerCheck = { Measured: float; Bound: float; IntegrationError: float; Constants: (string * float) list }

let private eulerCache = Runtime.CompilerServices.ConditionalWeakTable<Run, EulerCheck>()

/// A radius the path between two grid points a step dt apart stays within, from the larger grid value g: for the first
/// c = 1, 2, 4, …, 2⁶⁰ with δ = F(g + c)·dt ≤ c (F the block's output bound at state bound g + c), g + δ: inside the ball of
/// radius g + c the speed is at most F(g + c), so in time dt the path moves at most δ ≤ c and never reaches that ball's
/// edge. ∞ when no c does (no bound). With c = 1 only, a coarse reference grid (F·dt > 1 at a short ladder rung's states)
/// left the bound ∞ and then ∞·0 = NaN, reported as an overflow.
let pathRadius (outputBound: float -> float) (g: float) (dt: float) =
    let rec go c =
        if c > 1.152921504606847e18 then infinity
        else
            let delta = outputBound (g + c) * dt
            if delta <= c then g + delta else go (2.0 * c)
    if Double.IsFinite g && Double.IsFinite dt then go 1.0 else infinity

/// The Euler-type error at iteration 0 with its generic bound e^κ(J·Lip + κF)/(2L) (docs/theorems/GenericResults.md).
let eulerCheck (run: Run) : EulerCheck =
    eulerCache.GetValue(run, fun run ->
        let arch = run.Architecture.Value
        let block = match run.Data.Block with | null -> failwith "the architecture is not registered in the engine" | b -> b
        let theta0, lipParts = (initialFunctionWithLipschitz run).Value
        let st = run.Setting
        let L, n, d = st.Depth, st.Samples, st.Dim
        let net = GenericResNet(block, L, run.Data.Data, run.Data.A, run.Data.B)
        net.Evaluate(ReadOnlySpan(run.Theta 0), Span.Empty) |> ignore
        let hs = net.HiddenStates.ToArray()
        let h0, hL = hs.[0 .. n * d - 1], hs.[L * n * d .. (L + 1) * n * d - 1]
        let ode, odeMax = rk4 block theta0 h0 n OdeSteps
        let ode2, _ = rk4 block theta0 h0 n (2 * OdeSteps)
        let perSample (a: float[]) (b: float[]) = seq { for i in 0 .. n - 1 -> Linalg.frobeniusDiff a (i * d) b (i * d) d } |> Seq.max
        let measured = perSample hL ode
        let integ = perSample ode ode2
        let resnetMax = seq { for i in 0 .. (L + 1) * n - 1 -> Linalg.frobenius hs (i * d) d } |> Seq.max
        // part norms of θ⁰ over s ∈ [0, 1]: a grid of G points plus Lip_part/(2G) (norms are 1-Lipschitz in the Frobenius norm)
        let G = 256
        let grid = [| for g in 0 .. G -> theta0 (float g / float G) |]
        let partMax (opNorm: bool) =
            run.Parts |> Array.mapi (fun q (p, shape) ->
                let o, sz = run.PartOffset q, run.PartSize q
                let m =
                    grid |> Array.map (fun t -> if opNorm && shape.Length = 2 then Linalg.spectralNorm shape.[0] shape.[1] t o else Linalg.frobenius t o sz) |> largestEntry
                p, m + lipParts.[q] / (2.0 * float G))
            |> Map.ofArray
        let partFro, partOp = partMax false, partMax true
        let bounds hid =
            { Hidden = hid; AdjointSum = 0.0; PartFro = partFro; PartOp = partOp
              S0 = st.S0; S1 = st.S1; S2 = defaultArg st.S2 nan; Dim = d; Hyper = st.Hyper }
        // H between RK4 grid points a step 1/M apart: within `pathRadius` of the larger grid value (as in interpolantCheck)
        let hmax = max odeMax resnetMax
        let hid = pathRadius (fun r -> arch.OutputBound (bounds r)) hmax (1.0 / float OdeSteps)
        let b = bounds hid
        let kappa, j, fB = arch.LipschitzH b, arch.LipschitzTheta b, arch.OutputBound b
        // Lip(θ⁰) of the rebuilt function (joint over parts), not the declared one
        let lip = sqrt (lipParts |> Array.sumBy (fun x -> x * x))
        let bound = Portable.exp kappa * (j * lip + kappa * fB) / (2.0 * float L)
        { Measured = measured; Bound = bound; IntegrationError = integ
          Constants = [ "kappa", kappa; "J", j; "F", fB; "Lip(theta0)", lip; "H", hid; "RK4 steps", float OdeSteps; "integration error estimate", integ ] })

let hypInitialFunction : string * (Run -> HypothesisCheck) =
    "layers sample a known function of depth theta0(k/L)", fun run ->
        match initialFunction run with
        | None -> NotMet(sprintf "%s init: the engine cannot rebuild a function of depth (tied or smooth needed, with seed, scales and modes in run.json)" run.Setting.InitKind)
        | Some f ->
            // the snapshot-0 layers must be θ⁰(k/L) up to the rounding of storing them in the run's precision
            // (`Rounding.storedRel`: the engine evaluates the same function in float64)
            let P, L = run.ParameterCount, run.Setting.Depth
            let t = run.Theta 0
            let worst =
                seq { for k in 1 .. L -> let v = f (float k / float L) in Linalg.frobeniusDiff t ((k - 1) * P) v 0 P / max 1.0 (Linalg.norm v) } |> Seq.max
            if worst <= Rounding.storedRel run then Met(sprintf "%s init, layers = theta0(k/L) to %.1e" run.Setting.InitKind worst)
            // θ⁰ is rebuilt by this engine's generator: a smooth draw of another program is a function of depth of its own,
            // and the bare distance read like corrupted weights on a faithful NumPy ladder
            elif run.Setting.InitKind = "smooth" then
                NotMet(sprintf "snapshot 0 differs by %.3e relative from theta0(k/L) as this engine's generator draws it from run.json's seed, scales and modes: a smooth initialization drawn by another program is a function of depth of its own, which the engine cannot rebuild (a tied one it can: the common layer)" worst)
            else NotMet(sprintf "snapshot 0 differs from theta0(k/L) by %.3e relative" worst)

/// Minimum RK4 steps over [0, 1] for the interpolant's ODE (rounded up to a multiple of L, at least 2 per layer).
/// RK4's error is O(M⁻⁴) on each interval where θ(s) is linear; the solve with twice as many steps estimates it.
[<Literal>]
let InterpolantSteps = 256

/// One sample at one snapshot: measured ‖h_L^i − H^i(1)‖, the layer-wise bound E_L^i, the paper-form bound and the
/// integration error estimate of H^i(1).
type InterpolantSample =
    { Sample: int; Measured: float; Bound: float; PaperBound: float; IntegrationError: float
      /// the rounding of the measured distance, a first-order count in float64: the verifier's forward pass (L + 1 layers,
      /// each output a sum of at most P + d terms and two additions, relative to the largest state) and the reference solve
      /// (four roundings of the state a step over its steps, plus the same pass count for its stage evaluations), relative
      /// to the largest state of the sample: γ₆₄(4·steps + 2(L + 1)(P + d + 2))·max_k‖h_k^i‖. Where the residual branch is
      /// tiny the distance is only this rounding (a block run with scales 10⁻⁹ was B.bound-violated at 1.3·10⁻¹⁴ against 3.6·10⁻¹⁵)
      Rounding: float }

/// RK4 for dH/ds = f(θ(s), H) with θ(s) the piecewise-linear interpolant of the layers (θ_k at s = k/L, θ_0 := θ_1),
/// M = q·L steps (q ≥ 1, grid aligned with the nodes): the states at the nodes s_k and, per sample and interval,
/// the largest ‖H^i‖ at the grid points of [s_{k−1}, s_k].
let rk4Interpolant (block: IResidualBlock) (theta: float[]) (L: int) (P: int) (h0: float[]) (n: int) (q: int) =
    let d = block.StateDim
    let f = blockField block n
    let layer k = theta.[(max 1 k - 1) * P .. (max 1 k - 1) * P + P - 1]
    let at (k: int) (frac: float) =
        let a, b = layer (k - 1), layer k
        Array.init P (fun j -> a.[j] + frac * (b.[j] - a.[j]))
    let norms (h: float[]) = Array.init n (fun i -> Linalg.frobenius h (i * d) d)
    let nodes = Array.zeroCreate (L + 1)
    let intervalMax = Array.init (L + 1) (fun _ -> Array.zeroCreate n)
    nodes.[0] <- Array.copy h0
    let nm = ref (norms h0)
    // step i is step r = i mod q of layer interval k = i / q + 1, at fractions r/q + frac/q of it
    let fieldAt i frac = f (at (i / q + 1) (float (i % q) / float q + frac / float q))
    let observe i (h: float[]) =
        nm.Value <- Array.map2 max nm.Value (norms h)
        if i % q = q - 1 then
            let k = i / q + 1
            nodes.[k] <- Array.copy h
            intervalMax.[k] <- nm.Value
            nm.Value <- norms h
    let dt = 1.0 / float (q * L)
    Integration.rk4Solve fieldAt dt (q * L) observe h0 |> ignore
    nodes, intervalMax, dt

/// Per layer k = 0 … L (1-based; entry 0 repeats layer 1) and part: the name, ‖θ_k,part‖_F and its operator-norm bound.
let layerPartNorms (run: Run) (theta: float[]) : (string * float * float)[][] =
    let P = run.ParameterCount
    Array.init (run.Setting.Depth + 1) (fun k ->
        let k = max 1 k - 1
        run.Parts |> Array.mapi (fun qi (name, _) ->
            name, Linalg.frobenius theta (k * P + run.PartOffset qi) (run.PartSize qi), run.LayerPartOperatorNorm(theta, k, qi)))

/// The iterate bounds of the pair of layers k−1, k (1-based; layer 0 stands for layer 1), from `layerPartNorms`, with
/// state bound `hid`: per part the larger of the two layers' norms (no adjoint bound: the forward results need none).
let layerPairBounds (run: Run) (norms: (string * float * float)[][]) : int -> float -> IterateBounds =
    let st = run.Setting
    fun k hid ->
        let a, b = norms.[max 1 (k - 1)], norms.[k]
        { Hidden = hid; AdjointSum = 0.0
          PartFro = Array.map2 (fun (nm, f1, _) (_, f2, _) -> nm, max f1 f2) a b |> Map.ofArray
          PartOp = Array.map2 (fun (nm, _, o1) (_, _, o2) -> nm, max o1 o2) a b |> Map.ofArray
          S0 = st.S0; S1 = st.S1; S2 = defaultArg st.S2 nan; Dim = st.Dim; Hyper = st.Hyper }

/// What B.bound and B.bound.tangent both read at a snapshot: the ResNet's hidden states (engine Forward) and the
/// RK4 solves of the reference ODE with q and 2q steps per layer from h_0 (nodes at s_k = k/L; the interval maxima of
/// the q-step solve). Computed once per run and snapshot.
type ReferenceSolves = { States: float[]; Nodes: float[][]; IntervalMax: float[][]; Step: float; NodesFine: float[][] }

let private solvesCache = Runtime.CompilerServices.ConditionalWeakTable<Run, Collections.Concurrent.ConcurrentDictionary<int, Lazy<ReferenceSolves>>>()

let referenceSolves (run: Run) (s: int) : ReferenceSolves =
    let perRun = solvesCache.GetValue(run, fun _ -> Collections.Concurrent.ConcurrentDictionary<int, Lazy<ReferenceSolves>>())
    perRun.GetOrAdd(s, fun s ->
        lazy
            (let block = match run.Data.Block with | null -> failwith "the architecture is not registered in the engine" | b -> b
             let L, n, d, P = run.Setting.Depth, run.Setting.Samples, run.Setting.Dim, run.ParameterCount
             let theta = run.Theta s
             let net = GenericResNet(block, L, run.Data.Data, run.Data.A, run.Data.B)
             net.Evaluate(ReadOnlySpan(theta), Span.Empty) |> ignore
             let hs = net.HiddenStates.ToArray()
             let q = max 2 ((InterpolantSteps + L - 1) / L)
             let nodes, imax, dt = rk4Interpolant block theta L P hs.[0 .. n * d - 1] n q
             let nodes2, _, _ = rk4Interpolant block theta L P hs.[0 .. n * d - 1] n (2 * q)
             { States = hs; Nodes = nodes; IntervalMax = imax; Step = dt; NodesFine = nodes2 })).Value

/// The layer-wise bound at snapshot s (docs/theorems/GenericResults.md, "B.bound"): with θ(s) the piecewise-linear
/// interpolant of the layers, e_k = h_k − H(s_k) satisfies
///   ‖e_k‖ ≤ (1 + κ_k/L)‖e_{k−1}‖ + τ_k,   τ_k = J_k‖θ_k − θ_{k−1}‖/(2L) + κ_k F_k/(2L²),
/// per sample, the architecture's κ_k, J_k, F_k evaluated with the part norms of layers k−1 and k and the state bound
/// H̄_k^i = max(‖h_{k−1}^i‖, max over [s_{k−1}, s_k] of ‖H^i‖) (grid maximum enlarged to cover the path between grid points).
let interpolantCheck (run: Run) (s: int) : InterpolantSample[] =
    let arch = run.Architecture.Value
    let st = run.Setting
    let L, n, d, P = st.Depth, st.Samples, st.Dim, run.ParameterCount
    let theta = run.Theta s
    let { States = hs; Nodes = nodes; IntervalMax = imax; Step = dt; NodesFine = nodes2 } = referenceSolves run s
    let hAt k i = hs.[(k * n + i) * d .. (k * n + i) * d + d - 1]
    let norms = layerPartNorms run theta
    let bounds = layerPairBounds run norms
    let incr k = if k <= 1 then 0.0 else Linalg.frobeniusDiff theta ((k - 1) * P) theta ((k - 2) * P) P
    let fL = float L
    Array.init n (fun i ->
        let mutable e = 0.0
        let mutable hAll = 0.0
        for k in 1 .. L do
            let gridMax = max (imax.[k].[i]) (Linalg.norm (hAt (k - 1) i))
            // between grid points the path moves at speed ≤ F: with δ = F(gridMax + 1)·dt ≤ 1 it stays within
            // r = gridMax + δ (leaving it takes a distance δ at speed ≤ F(r) ≤ F(gridMax + 1), i.e. longer than dt)
            let hbar = pathRadius (fun r -> arch.OutputBound (bounds k r)) gridMax dt
            hAll <- max hAll hbar
            let b = bounds k hbar
            let kap, j, f = arch.LipschitzH b, arch.LipschitzTheta b, arch.OutputBound b
            // no increment, no term: J·0 is 0 even where J has no finite bound
            let v = if incr k = 0.0 then 0.0 else j * incr k
            e <- OdeLimit.propagate fL kap e (OdeLimit.localError fL v kap f)
        // the paper form e^κ(J·K + κF)/(2L) with maxima over layers, K = L·max_k‖θ_k − θ_{k−1}‖
        let bAll = { bounds 1 hAll with PartFro = Map.empty; PartOp = Map.empty }
        let maxPart sel = run.Parts |> Array.mapi (fun qi (nm, _) -> nm, norms |> Array.skip 1 |> Array.map (fun a -> sel a.[qi]) |> largestEntry) |> Map.ofArray
        let bAll = { bAll with PartFro = maxPart (fun (_, f, _) -> f); PartOp = maxPart (fun (_, _, o) -> o) }
        let kappa = arch.LipschitzH bAll
        let K = fL * (seq { for k in 2 .. L -> incr k } |> Seq.fold max 0.0)
        let paper = OdeLimit.paperForm fL kappa (arch.LipschitzTheta bAll * K) (arch.OutputBound bAll)
        { Sample = i
          Measured = Linalg.frobeniusDiff hs ((L * n + i) * d) nodes.[L] (i * d) d
          Bound = e
          PaperBound = paper
          IntegrationError = Linalg.frobeniusDiff nodes.[L] (i * d) nodes2.[L] (i * d) d
          Rounding =
            let steps = if dt > 0.0 then ceil (1.0 / dt) else 0.0
            let stateMax = Seq.init (L + 1) (fun k -> Linalg.norm (hAt k i)) |> Seq.fold max (Linalg.norm nodes.[L].[i * d .. i * d + d - 1])
            Rounding.gamma64 (int (4.0 * steps) + 2 * (L + 1) * (P + d + 2)) * stateMax })

let private interpolantCache = Runtime.CompilerServices.ConditionalWeakTable<Run, InterpolantSample[][]>()

/// Every snapshot of a run, computed once.
let interpolantChecks (run: Run) =
    interpolantCache.GetValue(run, fun r -> Array.init r.SnapshotCount (interpolantCheck r))

let hypFiniteParameters : string * (Run -> HypothesisCheck) =
    "parameters finite", fun run ->
        if Seq.forall (fun s -> run.Theta s |> Array.forall Double.IsFinite) (seq { 0 .. run.SnapshotCount - 1 }) then Met "every snapshot"
        else NotMet "a snapshot has non-finite parameters (a diverged run)"

/// Any block's ingredients of result B: the statements of OdeLimit with the ingredients built from the
/// architecture's declared constants and the block's Forward/Backward.
let family : OdeLimit.Family =
    { Doc = doc
      Which = "any architecture"
      Constants =
        "κ_k, F_k the architecture's constants (LipschitzH, OutputBound) with the part norms of layers k−1, k and the state bound "
        + "H̄_k^i = max(‖h_{k−1}^i‖, max over [s_{k−1}, s_k] of ‖H^i‖), and v_k = J_k‖θ_k − θ_{k−1}‖ with J_k its LipschitzTheta"
      Reference =
        "H(1) by classic RK4 on a grid aligned with the nodes (≥ 256 steps, ≥ 2 per layer), its error estimated by the solve with twice "
        + "as many steps and allowed on top of the bound" }

/// How the blocks' rows compare a sample: the bound plus the integration error estimate of H̃_L, with the relative
/// rounding allowance of a bound the verifier builds in float64 by a recursion over the L layers from the norms of one
/// pass (`Rounding.chainRel`, docs/theorems/GenericResults.md "Rounding allowances"); the row reports the bound as compared.
let comparingWith (run: Run) (sample: 's -> int) (measured: 's -> float) (integration: 's -> float) : OdeLimit.Comparing<'s> =
    { Sample = sample; Measured = measured; Compared = (fun x b -> b + integration x); Rel = Rounding.chainRel run; ReportBare = false }

/// The snapshots of a run as the statements read them.
let snapshotsOf (run: Run) (all: 's[][]) : OdeLimit.Snapshot<'s>[] =
    all |> Array.mapi (fun s xs -> { When = OdeLimit.snapshotLabel run s; Samples = xs })

/// (B.bound) ResNet vs the neural ODE of its own layers at every snapshot, any registered architecture.
let eulerBound : Result<Run> =
    OdeLimit.boundResult family [ hypArchitecture; hypFiniteParameters; Hypotheses.hasSnapshots ] (fun run ->
        let all = interpolantChecks run
        let cmp = comparingWith run (fun (c: InterpolantSample) -> c.Sample) (fun c -> c.Measured) (fun c -> c.IntegrationError + c.Rounding)
        let e, _, _ = OdeLimit.compareAll cmp (fun c -> c.Bound) (snapshotsOf run all)
        let worstBy f = all |> Array.collect id |> Array.map f |> largestEntry
        { e with
            Notes = [ Evaluation.AnyWeights ]
            Constants =
                [ "max_i layer-wise bound E_L (all snapshots)", worstBy (fun c -> c.Bound)
                  "max_i paper-form bound (all snapshots)", worstBy (fun c -> c.PaperBound)
                  "max_i measured (all snapshots)", worstBy (fun c -> c.Measured)
                  "max_i integration error estimate", worstBy (fun c -> c.IntegrationError)
                  "worst paper-form tightness (paper bound / measured)", all |> Array.collect id |> Array.filter (fun c -> c.Measured > 0.0) |> Array.map (fun c -> c.PaperBound / c.Measured) |> Array.fold min infinity ] })

// ---------------------------------------------------------------- ladders

/// (B.rate) the error of B.bound decreases at least like 1/L over a ladder.
let eulerRate : Result<Ladder> =
    let forAll = Hypotheses.onEveryRun
    OdeLimit.rateResult family (fun l -> l.Depths)
        [ forAll hypArchitecture
          forAll hypRequirements
          forAll hypNotDiverged
          forAll hypInitialSnapshot
          forAll hypInitialFunction
          // each run's own function of depth is not enough: a rate over depths compares one function sampled at several L
          "layers sample one function of depth", (fun l -> Evidence.sameInitialFunction l.Runs)
          "error not zero", (fun l ->
              match l.Runs |> List.tryFind (fun r -> r.Architecture.IsNone || (initialFunction r).IsNone) with
              | Some r ->
                  // say which of the two is missing (an i.i.d. one-layer run read "no registered architecture or …")
                  if r.Architecture.IsNone then NotMet(sprintf "run L = %d: architecture %s is not registered: no ODE to compare with" r.Setting.Depth r.Setting.Architecture)
                  else NotMet(sprintf "run L = %d: its initialization (%s) discretizes no known function of depth: no ODE to compare with" r.Setting.Depth r.Setting.InitKind)
              | None ->
              match l.Runs |> List.tryFind (fun r -> (eulerCheck r).Measured = 0.0) with
              | None -> Met "every depth"
              | Some r ->
                  // the usual cause is a part started at scale 0 (glu's default V = 0): say what to do, not only the symptom
                  NotMet(sprintf "run L = %d: the ResNet equals the ODE at initialization (its block is 0 there, as when a part starts at scale 0, e.g. glu's default V = 0): train the ladder with nonzero --scales to give B.rate an error to fit" r.Setting.Depth)) ]
        (fun l -> let checks = l.Runs |> List.map eulerCheck in checks |> List.map (fun c -> c.Measured), checks |> List.map (fun c -> c.IntegrationError))
        (fun l -> [ for r in l.Runs -> let c = eulerCheck r in sprintf "bound/measured at L = %d" r.Setting.Depth, c.Bound / c.Measured ], [])

/// Single-run generic results.
let all : Result<Run> list = [ depthSmoothness; depthSmoothnessSegments; eulerBound ]

/// Ladder generic results.
let ladder : Result<Ladder> list = [ eulerRate ]

// ---------------------------------------------------------------- the lemma chain L1–L5 for any block (LemmaChain.statedOver)

/// A block network's pass at one snapshot's parameters, through the block's own Forward and Backward (`GenericResNet` with
/// `KeepAdjoints`): the states h_k^i and adjoints p_k^i ((L+1)×n×d, h_k^i at [(k·n + i)·d]), the depth-scaled layer
/// gradients G_k = L·∂ℓ/∂θ_k = Σ_i ∂_θf(θ_k, h_{k−1}^i)ᵀp_k^i (layout of θ) and the loss.
type BlockPass = { States: float[]; Adjoints: float[]; Gradient: float[]; Loss: float }

let private passCache = Runtime.CompilerServices.ConditionalWeakTable<Run, Collections.Concurrent.ConcurrentDictionary<int, Lazy<BlockPass>>>()

/// The block's pass at snapshot s (kept once per run and snapshot).
let blockPass (run: Run) (s: int) : BlockPass =
    let perRun = passCache.GetValue(run, fun _ -> Collections.Concurrent.ConcurrentDictionary<int, Lazy<BlockPass>>())
    perRun.GetOrAdd(s, fun s ->
        lazy
            (let block =
                match run.Data.Block with
                | null -> raise (MissingInput(sprintf "architecture '%s' is not registered in the engine's BlockCatalog (the chain needs its Forward/Backward)" run.Setting.Architecture))
                | b -> b
             let theta = run.Theta s
             let net = GenericResNet(block, run.Setting.Depth, run.Data.Data, run.Data.A, run.Data.B, KeepAdjoints = true)
             let grad = Array.zeroCreate theta.Length
             let st = net.Evaluate(ReadOnlySpan(theta), Span(grad))
             { States = net.HiddenStates.ToArray(); Adjoints = net.Adjoints.ToArray(); Gradient = grad; Loss = st.Loss })).Value

/// The largest entry, a NaN counting as the largest (Comparison.worstIndexMax).
let private largestOf = largestEntry

/// The chain's snapshot of any block from its pass: the measured side from the pass; the constants the architecture's,
/// each at one layer's part norms (‖θ_k,part‖_F and the operator-norm bound of Run.LayerPartOperatorNorm), so the bounds
/// are layer-wise: κ_k(x) = LipschitzH, F₀_k = OutputAtZero, F_k(x) = OutputBound with Hidden = x; L4 with
/// J_k(x) = LipschitzTheta, ‖G_k‖ ≤ Σ_i J_k(‖h_{k−1}^i‖)·Pb_k^i; L5 = the architecture's GradientDifference at the pair
/// (k, k+1) with the larger part norms of the two layers, H = max_i max(‖h_{k−1}^i‖, ‖h_k^i‖), P = max(Σ_iPb_k^i, Σ_iPb_{k+1}^i).
/// L1's recursion bounds the states from h_0 alone; L2–L5 evaluate their constants at the measured state norms (L1 bounds
/// them; substituting them keeps the bounds finite where L1's recursion is not, as for the gated block's quadratic output).
let chainSnapshotOf (arch: Architecture) (run: Run) (s: int) (pass: BlockPass) : LemmaChain.ChainSnapshot =
    let set = run.Setting
    let L, n, d, P = set.Depth, set.Samples, set.Dim, run.ParameterCount
    let theta = run.Theta s
    let norms = layerPartNorms run theta
    let fro = norms |> Array.map (fun ps -> ps |> Array.map (fun (nm, f, _) -> nm, f) |> Map.ofArray)
    let op = norms |> Array.map (fun ps -> ps |> Array.map (fun (nm, _, o) -> nm, o) |> Map.ofArray)
    let bounds (partFro: Map<string, float>) (partOp: Map<string, float>) x p =
        { Hidden = x; AdjointSum = p; PartFro = partFro; PartOp = partOp
          S0 = set.S0; S1 = set.S1; S2 = defaultArg set.S2 nan; Dim = d; Hyper = set.Hyper }
    let at k x = bounds fro.[k] op.[k] x 0.0
    let larger (a: Map<string, float>) (b: Map<string, float>) = a |> Map.map (fun nm v -> largestOf [| v; b.[nm] |])
    let vecNorm (xs: float[]) k i = Linalg.frobenius xs ((k * n + i) * d) d
    let hNorm = Array.init (L + 1) (fun k -> Array.init n (vecNorm pass.States k))
    { HNorm = hNorm
      PNorm = Array.init (L + 1) (fun k -> Array.init n (vecNorm pass.Adjoints k))
      Increment = fun k i -> float L * Linalg.frobeniusDiff pass.States ((k * n + i) * d) pass.States (((k - 1) * n + i) * d) d
      AdjointIncrement = fun k i -> Linalg.frobeniusDiff pass.Adjoints (((k + 1) * n + i) * d) pass.Adjoints ((k * n + i) * d) d
      Loss = pass.Loss
      // the measured state norms: finite where L1's recursion is not (the gated block's output is quadratic in h)
      StateBound = fun _ -> hNorm
      Kappa = fun k x -> arch.LipschitzH (at k x)
      Intercept = fun k -> arch.OutputAtZero (at k 0.0)
      Output = fun k x -> arch.OutputBound (at k x)
      LayerGradient =
        fun k hb pb ->
            let bound = Seq.sum (seq { for i in 0 .. n - 1 -> arch.LipschitzTheta (at k hb.[k - 1].[i]) * pb.[k].[i] })
            [ sprintf "layer k = %d" k, Linalg.frobenius pass.Gradient ((k - 1) * P) P, bound ]
      GradientDifference =
        fun k hb pb ->
            let h = largestOf (Array.append hb.[k - 1] hb.[k])
            let p = largestOf [| Array.sum pb.[k]; Array.sum pb.[k + 1] |]
            let a, b = arch.GradientDifference (bounds (larger fro.[k] fro.[k + 1]) (larger op.[k] op.[k + 1]) h p)
            let dTheta = Linalg.frobeniusDiff theta (k * P) theta ((k - 1) * P) P
            Linalg.frobeniusDiff pass.Gradient (k * P) pass.Gradient ((k - 1) * P) P, a * dTheta + b / float L, a, b }

/// The chain's hypotheses on any block (L1–L4: a Lipschitz σ with |σ'| ≤ s1 suffices; L5 adds the architecture's requirements).
let private chainHypotheses = [ hypArchitecture; hypEngineBlock; hypNotDiverged; Hypotheses.hasSnapshots ]

/// What any block supplies to the lemma chain, with `archOf` giving its constants (the run's registered architecture for
/// the rows; a test may give another).
let chainSupplyOver (archOf: Run -> Architecture) : LemmaChain.ChainSupply =
    let cache = Runtime.CompilerServices.ConditionalWeakTable<Run, Collections.Concurrent.ConcurrentDictionary<int, Lazy<LemmaChain.ChainSnapshot>>>()
    let snapshot (run: Run) (s: int) =
        let perRun = cache.GetValue(run, fun _ -> Collections.Concurrent.ConcurrentDictionary<int, Lazy<LemmaChain.ChainSnapshot>>())
        perRun.GetOrAdd(s, fun s -> lazy (chainSnapshotOf (archOf run) run s (blockPass run s))).Value
    let snapshots (run: Run) = Array.init run.SnapshotCount (snapshot run)
    { Hypotheses = chainHypotheses
      L5Hypotheses = chainHypotheses @ [ hypRequirements ]
      Statements =
        "For every sample i and layer k, ‖h_k^i‖ ≤ Hb_k^i, Hb_0^i = ‖h_0^i‖, Hb_k^i = (1 + κ_k(Hb_{k−1}^i)/L)·Hb_{k−1}^i + F₀_k/L, with F₀_k ≥ ‖f(θ_k, 0)‖ "
        + "and κ_k(x) ≥ ‖∂_hf(θ_k, h)‖₂ (‖h‖ ≤ x) the architecture's constants at layer k's part norms (‖f(θ, h)‖ ≤ F₀ + κ‖h‖); "
        + "≤ e^{κk/L}(‖h_0^i‖ + F₀k/L) when κ and F₀ bound every layer and state.",
        "For every sample and layer, ‖h_k^i − h_{k−1}^i‖ = ‖f(θ_k, h_{k−1}^i)‖/L ≤ F_k(‖h_{k−1}^i‖)/L, with F_k(x) ≥ ‖f(θ_k, h)‖ (‖h‖ ≤ x) the "
        + "architecture's output bound at layer k's part norms (the state norm measured, bounded by L1).",
        "With p_{k−1} = p_k + (1/L)∂_hf(θ_k, h_{k−1})ᵀp_k: ‖p_{k−1}^i‖ ≤ (1 + κ_k(‖h_{k−1}^i‖)/L)‖p_k^i‖, hence ‖p_k^i‖ ≤ Pb_k^i := Π_{j>k}(1 + κ_j(‖h_{j−1}^i‖)/L)‖p_L^i‖.",
        "For k = 0..L−1 and every sample, ‖p_{k+1}^i − p_k^i‖ = ‖∂_hf(θ_{k+1}, h_k^i)ᵀp_{k+1}^i‖/L ≤ κ_{k+1}(‖h_k^i‖)‖p_{k+1}^i‖/L.",
        "G_k = Σ_i ∂_θf(θ_k, h_{k−1}^i)ᵀp_k^i gives ‖G_k‖ ≤ Σ_i J_k(‖h_{k−1}^i‖)·Pb_k^i, with J_k(x) ≥ ‖∂_θf(θ_k, h)‖₂ (‖h‖ ≤ x) the architecture's "
        + "constant at layer k's part norms and Pb the bound of L3.",
        "With Δ_k = θ_{k+1} − θ_k: ‖G_{k+1} − G_k‖ ≤ a_k‖Δ_k‖ + b_k/L, (a_k, b_k) the architecture's lemma-L5 constants (a = P·C_θθ, "
        + "b = P(C_hθF + Jκ) in the generic form) at the larger part norms of layers k, k+1, H = max_i max(‖h_{k−1}^i‖, ‖h_k^i‖) and "
        + "P = max(Σ_iPb_k^i, Σ_iPb_{k+1}^i)."
      Snapshot = snapshot
      Prepare =
        fun run ->
            // the snapshots' passes are independent of one another: as many at a time as the processor budget allows, each the same
            // numbers as alone (a failure is left to the rows)
            Budgeted.iter (fun s -> try snapshot run s |> ignore with _ -> ()) [| 0 .. run.SnapshotCount - 1 |]
      Constants =
        fun run ->
            let cs = snapshots run
            let L = run.Setting.Depth
            let over f = largestOf [| for c in cs do for k in 1 .. L -> f c k |]
            [ "s0", run.Setting.S0; "s1 (global)", run.Setting.S1
              "F0 (max over layers and snapshots)", over (fun c k -> c.Intercept k)
              "kappa at the largest h_0 (max over layers and snapshots)",
              over (fun c k -> c.Kappa k (largestOf c.HNorm.[0])) ]
      ClosedForm =
        fun run ->
            let L = run.Setting.Depth
            "H (max over snapshots, layers and samples of Hb)",
            largestOf [| for c in snapshots run do for row in LemmaChain.chainHidden L c -> largestOf row |] }

let private chainStatements = LemmaChain.statedOver (chainSupplyOver (fun run -> run.Architecture.Value))

/// Lemmas L1–L5 on a run of any architecture but the MLP, with the block's own constants: the same ids as the MLP's
/// rows (LemmaChain.all).
let lemmaChain : Result<Run> list = chainStatements.All

// ---------------------------------------------------------------- L5 in split form for any block

/// (L5.split on any block; docs/theorems/GenericResults.md, "L5.split on any block") at every snapshot and pair (k, k + 1):
/// G_{k+1} − G_k = [G(θ_{k+1}; h_k, p_{k+1}) − G(θ_k; h_k, p_{k+1})] + E_k, with E_k = G(θ_k; h_k, p_{k+1}) − G_k evaluated by the
/// block's own Backward at the pass' states (`GenericReplay.pairQuantities`, the quantities A.split's recursion reads at
/// every iterate), and ‖bracket‖ ≤ a_k‖Δ_k‖, a_k = Σ_i ‖p_{k+1}^i‖·C_θθ(at h_k^i) the architecture's second-derivative constant
/// at the larger part norms of the two layers. Measured: ‖G_{k+1} − G_k‖ of the snapshot's pass (`blockPass`); the bound
/// adds the rounding of the two evaluations of the bracket's gradients, ρ_chain·(M_k + M_{k+1}) with
/// M_k = Σ_i J_k(‖h_{k−1}^i‖)‖p_k^i‖ ≥ Σ_i ‖∂_θf(θ_k, h_{k−1}^i)ᵀp_k^i‖ (`GenericReplay.termMagnitudes`: L4's constant at layer k's
/// own part norms and the measured states): the gradients' terms, against which each evaluation's rounding is relative.
let gradientDifferenceSplitOver (archOf: Run -> Architecture) (passOf: Run -> int -> BlockPass) : Result<Run> =
    { Id = "L5.split"
      Title = "Consecutive layer gradients: exact state part plus a·‖Δ_k‖"
      Source = "derived here (docs/theorems/GenericResults.md, L5.split on any block)"
      Provenance = ProvedHere
      Doc = doc
      Statement =
        "With Δ_k = θ_{k+1} − θ_k: G_{k+1} − G_k = [G(θ_{k+1}; h_k, p_{k+1}) − G(θ_k; h_k, p_{k+1})] + E_k, E_k = G(θ_k; h_k, p_{k+1}) − G(θ_k; h_{k−1}, p_k) "
        + "computed from the states by the block's own Backward (G(θ; h, p) = Σ_i ∂_θf(θ, h^i)ᵀp^i), and ‖G(θ_{k+1}; h_k, p_{k+1}) − G(θ_k; h_k, p_{k+1})‖ ≤ a_k‖Δ_k‖ "
        + "with a_k = Σ_i ‖p_{k+1}^i‖·C_θθ, C_θθ ≥ sup ‖∂²_θθ f‖ the architecture's constant at the larger part norms of layers k, k + 1 and the state h_k^i "
        + "(at every state on the segment between the two layers' parameters): so ‖G_{k+1} − G_k‖ ≤ ‖E_k‖ + a_k‖Δ_k‖."
      Hypotheses = chainHypotheses @ [ hypRequirements ]
      Conclusion =
        fun run ->
            let arch = archOf run
            let block = nonNull run.Data.Block
            let L, P = run.Setting.Depth, run.ParameterCount
            let rho = Rounding.chainRel run
            let mutable amax = 0.0
            let checks =
                [ for s in 0 .. run.SnapshotCount - 1 do
                    let pass = passOf run s
                    let theta = run.Theta s
                    let pairs = GenericReplay.pairQuantities run arch block theta pass.States pass.Adjoints pass.Gradient
                    let mag = GenericReplay.termMagnitudes run arch theta pass.States pass.Adjoints
                    for k0 in 0 .. L - 2 do
                        let q = pairs.[k0]
                        amax <- max amax q.A
                        let dTheta = Linalg.frobeniusDiff theta ((k0 + 1) * P) theta (k0 * P) P
                        let measured = Linalg.frobeniusDiff pass.Gradient ((k0 + 1) * P) pass.Gradient (k0 * P) P
                        yield { Measured = measured; Bound = Linalg.norm q.E + q.A * dTheta + rho * (mag.[k0] + mag.[k0 + 1])
                                Where = sprintf "layers k = %d, %d" (k0 + 1) (k0 + 2)
                                When = sprintf "snapshot %d (iteration %d, t = %g)" s run.Steps.[s] (run.Time s) } ]
            evaluation rho checks [ "a (max over pairs and snapshots)", amax ] [ Evaluation.AnyWeights ] }

/// L5.split on a run of any architecture but the MLP, with its registered constants and the snapshot's own pass.
let gradientDifferenceSplit : Result<Run> = gradientDifferenceSplitOver (fun run -> run.Architecture.Value) blockPass
