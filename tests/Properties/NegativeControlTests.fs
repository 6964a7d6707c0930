/// Negative controls the audit found missing: each result below is shown holding on a faithful run, then VIOLATED (with every
/// hypothesis met) on the same run with one computed input corrupted, through the registered row itself (`Result.evaluate`).
///
/// Where the rows recompute everything from the recorded parameters and data (the lemma chain L2–L5 on the MLP, L5.forcing,
/// any block's B.bound, C.mu0 on a block run), no edit of a run file can make them fail: each is a theorem for any weights
/// and data, and its measured side and its bound are both functions of them. The corrupted input is then the verifier's own
/// pass that the row reads (the MLP's layer-wise reference pass `Run.Layerwise`, the split pass `SplitResults.atSnapshot`,
/// the block's ResNet states `GenericResults.referenceSolves`, the block's replayed pl_ratio column), edited in place before
/// the row first reads it, as BoundLanesTests does for the MLP's B.bound and PolyakLojasiewiczProperties for its C.mu0: a
/// wrong forward/backward pass or replay is what these rows must reject.
///
/// C.plAlongRun is an observation, never VIOLATED: its failing outcome is "not observed" (a hypothesis not met), after which
/// the hypothesis "PL along the run" of C.gdDecay is not met.
module ResOdeProofs.Properties.NegativeControlTests

open Xunit
open ResOdeProofs.Numerics
open ResOdeProofs.Numerics.IO
open ResOdeProofs.Numerics.Training
open ResOdeProofs.Theory

let private allMet (e: Evaluation) = e.Hypotheses |> List.forall (fun (_, ok, _) -> ok)

let private unmet (e: Evaluation) =
    match e.Verdict with
    | HypothesisNotMet l -> l |> List.map fst
    | _ -> []

/// The row holds on the faithful run, with every hypothesis met.
let private holds (r: Result<Run>) (run: Run) =
    let e = Result.evaluate r run
    Assert.True(Verdict.isHolds e.Verdict && allMet e, sprintf "%s on the faithful run: %A\n%A" r.Id e.Verdict e.Hypotheses)

/// The row is violated at snapshot s with every hypothesis met.
let private rejectedAt (s: int) (r: Result<Run>) (run: Run) =
    let e = Result.evaluate r run
    Assert.NotEmpty e.Hypotheses
    Assert.All(e.Hypotheses, fun (n, ok, why) -> Assert.True(ok, sprintf "%s: hypothesis %s not met: %s" r.Id n why))
    match e.Verdict with
    | Violated w -> Assert.Contains(sprintf "snapshot %d" s, w.When)
    | v -> failwithf "%s: expected violated at snapshot %d, got %A" r.Id s v

let private scale (xs: float[]) (f: float) = for j in 0 .. xs.Length - 1 do xs.[j] <- f * xs.[j]

// ---------------------------------------------------------------- the lemma chain on the MLP, L5.forcing

/// A smooth MLP run (GELU, tied, V ≠ 0): every lemma of the chain holds on it (LemmaChainProperties).
let private mlpSpec = RunSpec(Depth = 8, Width = 8, Samples = 5, Dim = 3, VScale = 0.5, Eta = 0.01, Iterations = 3, Snapshots = 2, Seed = 11L)

let private mlpTrained = lazy (mlpSpec.Train())

/// A fresh view of the one training record (its own caches).
let private mlpRun () = Run(RunDirectory.InMemory(mlpTrained.Value))

/// The chain's quantities of the faithful run's last snapshot: the run, s, the chain snapshot, Hb (L1's bound, the state
/// norms the constants are evaluated at) and Pb (L3's bound).
let private faithfulLast () =
    let run = mlpRun ()
    let s = run.SnapshotCount - 1
    let c = LemmaChain.mlp.Snapshot run s
    let L = run.Setting.Depth
    let hb = c.StateBound (LemmaChain.chainHidden L c)
    run, s, c, hb, LemmaChain.chainAdjoint L c hb

/// A fresh view whose layer-wise pass (h_k^i, p_k^i, G_k: the measured side of every lemma) at snapshot s is edited in
/// place before any row reads it. The hypotheses of the chain (not diverged, snapshots, smooth σ) read the setting, which
/// the edit leaves alone.
let private withLayerwise (s: int) (edit: Model.Layerwise -> unit) =
    let run = mlpRun ()
    edit (run.Layerwise s)
    run

/// Each edit below leaves what the row's bound reads at that place unchanged: ‖h_0‖, the layers' spectral norms (from W, V),
/// the pre-activations u_k = W_k h_{k−1} (k ≤ L, so σ's range and s1, s2), p_L, the loss and the states and adjoints the
/// L5 coefficients are made of; the measured quantity alone moves to twice its bound.
[<Fact>]
let ``L2.increments: an MLP run whose last state h_L of one sample is stretched from h_{L−1} past its bound → violated, hypotheses met`` () =
    let faithful, s, c, hb, _ = faithfulLast ()
    holds LemmaChain.increments faithful
    let L, i = faithful.Setting.Depth, 1
    // h_L enters no pre-activation and no bound: F_L(Hb_{L−1}) stays, L‖h_L − h_{L−1}‖ becomes twice it
    let f = 2.0 * c.Output L hb.[L - 1].[i] / c.Increment L i
    let run =
        withLayerwise s (fun lw ->
            let a, b = lw.H.[L].[i], lw.H.[L - 1].[i]
            for r in 0 .. a.Length - 1 do a.[r] <- b.[r] + f * (a.[r] - b.[r]))
    rejectedAt s LemmaChain.increments run

[<Fact>]
let ``L3.adjoint: an MLP run with one adjoint p_k of the last snapshot scaled past e^κ‖p_L‖ → violated, hypotheses met`` () =
    let faithful, s, c, _, pb = faithfulLast ()
    holds LemmaChain.adjoints faithful
    let k, i = faithful.Setting.Depth / 2, 3
    // Pb_k is made of ‖p_L‖ and the κ_j (weights, pre-activation range): both untouched by p_k
    let run = withLayerwise s (fun lw -> scale lw.P.[k].[i] (2.0 * pb.[k].[i] / c.PNorm.[k].[i]))
    rejectedAt s LemmaChain.adjoints run

[<Fact>]
let ``L3.adjoint-increment: an MLP run with one adjoint p_k of the last snapshot moved away from p_{k+1} past κ‖p_{k+1}‖/L → violated, hypotheses met`` () =
    let faithful, s, c, hb, _ = faithfulLast ()
    holds LemmaChain.adjointIncrements faithful
    let L, k, i = faithful.Setting.Depth, faithful.Setting.Depth / 2, 0
    // the bound κ_{k+1}‖p_{k+1}‖/L reads p_{k+1}, which stays
    let bound = c.Kappa (k + 1) hb.[k].[i] * c.PNorm.[k + 1].[i] / float L
    let f = 2.0 * bound / c.AdjointIncrement k i
    let run =
        withLayerwise s (fun lw ->
            let a, b = lw.P.[k].[i], lw.P.[k + 1].[i]
            for r in 0 .. a.Length - 1 do a.[r] <- b.[r] + f * (a.[r] - b.[r]))
    rejectedAt s LemmaChain.adjointIncrements run

[<Fact>]
let ``L3.terminal-sum: an MLP run whose terminal adjoints p_L of the last snapshot are scaled past 2‖B‖√ℓ → violated, hypotheses met`` () =
    let faithful, s, c, _, _ = faithfulLast ()
    holds LemmaChain.terminalAdjointSum faithful
    let L = faithful.Setting.Depth
    // ‖B‖₂ reads B, ℓ the pass' loss: neither moves with p_L
    let f = 2.0 * (2.0 * faithful.Setting.ReadoutNorm * sqrt c.Loss) / Array.sum c.PNorm.[L]
    let run = withLayerwise s (fun lw -> for p in lw.P.[L] do scale p f)
    rejectedAt s LemmaChain.terminalAdjointSum run

[<Fact>]
let ``L4.layer-gradient: an MLP run with one layer's gradient G^V_k of the last snapshot scaled past its bound → violated, hypotheses met`` () =
    let faithful, s, c, hb, pb = faithfulLast ()
    holds LemmaChain.layerGradients faithful
    let k = faithful.Setting.Depth / 2
    // the bound Σ_i Pb_k^i(s0√m + s1‖W_k‖₂Hb_{k−1}^i) reads no gradient
    let where', m, b = c.LayerGradient k hb pb |> List.head
    Assert.StartsWith("G^V", where')
    let run = withLayerwise s (fun lw -> scale lw.GV.[k - 1] (2.0 * b / m))
    rejectedAt s LemmaChain.layerGradients run

[<Fact>]
let ``L5.gradient-difference: an MLP run with G^V_{k+1} of the last snapshot set to G^V_k plus twice the bound → violated, hypotheses met`` () =
    let faithful, s, c, hb, pb = faithfulLast ()
    holds LemmaChain.gradientDifference faithful
    let k = faithful.Setting.Depth / 2
    // the coefficients a, b read the states, adjoints, σ(u) and the layers (not the gradients), Δ_k the weights
    let _, bound, _, _ = c.GradientDifference k hb pb
    let run =
        withLayerwise s (fun lw ->
            // GV.[k] is layer k + 1, GV.[k − 1] layer k
            Array.blit lw.GV.[k - 1] 0 lw.GV.[k] 0 lw.GV.[k].Length
            lw.GV.[k].[0] <- lw.GV.[k].[0] + 2.0 * bound)
    rejectedAt s LemmaChain.gradientDifference run

[<Fact>]
let ``L5.forcing: an MLP run whose split pass gives one pair of the last snapshot twice its bound b_W as L‖E^W_k‖ → violated, hypotheses met`` () =
    let faithful = mlpRun ()
    holds SplitResults.forcing faithful
    let run = mlpRun ()
    let s, k0, fL = run.SnapshotCount - 1, run.Setting.Depth / 2, float run.Setting.Depth
    // the split pass of snapshot s (kept per run): E^W_k is the measured side, the bound b_W,k reads the pair's norms of
    // P, H, σ(WH) and the layers' spectral norms, not E
    let pairs = SplitResults.atSnapshot run s
    let bW, _ = (SplitResults.forcingBounds run s).[k0]
    Assert.True(bW > 0.0, sprintf "b_W = %g" bW)
    pairs.[k0] <- { pairs.[k0] with EW = 2.0 * bW / fL }
    rejectedAt s SplitResults.forcing run

// ---------------------------------------------------------------- B.bound on a block run

/// A smooth one-layer block run (GELU, W scale 0.3, b scale 0.2): B.bound holds on it.
let private oneLayerSpec =
    RunSpec(Architecture = "one-layer", Depth = 8, Samples = 4, Dim = 3, Init = InitKind.Smooth, Scales = [| 0.3; 0.2 |], Eta = 0.01,
            Iterations = 4, Snapshots = 2, Seed = 1L)

[<Fact>]
let ``B.bound: a one-layer block run whose ResNet final states h_L of the last snapshot are moved past the bound → violated, hypotheses met`` () =
    let trained = oneLayerSpec.Train()
    let faithful = Registry.openRun (RunDirectory.InMemory(trained, "one-layer"))
    holds GenericResults.eulerBound faithful
    let s = faithful.SnapshotCount - 1
    let samples = (GenericResults.interpolantChecks faithful).[s]
    let run = Registry.openRun (RunDirectory.InMemory(trained, "one-layer, h_L moved"))
    let n, d, L = run.Setting.Samples, run.Setting.Dim, run.Setting.Depth
    // the ResNet's states of snapshot s (the forward pass the row reads, kept per run): h_L^i moved by δ_i along e_1, so
    // ‖h_L^i − H^i(1)‖ ≥ δ_i − measured_i = 2(bound_i + integration_i) + measured_i. The bound reads θ, h_0, the states
    // h_0 … h_{L−1} and the RK4 solve (from h_0); the hypotheses (stated constants, finite θ) read the architecture and θ
    let hs = (GenericResults.referenceSolves run s).States
    for x in samples do
        hs.[(L * n + x.Sample) * d] <- hs.[(L * n + x.Sample) * d] + 2.0 * (x.Bound + x.IntegrationError + x.Measured) + 1e-6
    rejectedAt s GenericResults.eulerBound run

// ---------------------------------------------------------------- C.mu0, C.plAlongRun on a block run and on the MLP

/// A one-layer block σ(W h + b) at W = 0, b = 0 (an identity initialization for GELU), n ≤ d + 1: C.mu0, C.plAlongRun and
/// C.gdDecay hold on it (PolyakLojasiewiczFamilyTests).
let private identitySpec =
    RunSpec(Architecture = "one-layer", Depth = 8, Samples = 4, Dim = 4, Scales = [| 0.0; 0.0 |], Eta = 0.01, Iterations = 60,
            Snapshots = 3, Seed = 3L)

let private identityTrained = lazy (identitySpec.Train())

let private blockRow (id: string) = PolyakLojasiewicz.blockAll |> List.find (fun r -> r.Id = id)

/// A fresh view of the identity-initialized run whose replayed pl_ratio column (the verifier's own, from snapshot 0) has
/// entry j set so that r̃_j = ratio·μ₀, before any row reads it; μ₀ and r̃ from the faithful run.
let private blockWithPlAt (j: int) (ratio: float) =
    let faithful = Registry.openRun (RunDirectory.InMemory(identityTrained.Value, "one-layer at identity"))
    let mu0 = (Result.evaluate (blockRow "C.mu0") faithful).Bound.Value
    let r = (PolyakLojasiewicz.pathOf PolyakLojasiewicz.anyBlock faithful).R
    let run = Registry.openRun (RunDirectory.InMemory(identityTrained.Value, "one-layer at identity, pl_ratio corrupted"))
    let col = (GenericReplay.tracks run).FromZero.Value.Column "pl_ratio"
    col.[j] <- col.[j] * ratio * mu0 / r.[j]
    faithful, run

[<Fact>]
let ``C.mu0: a one-layer block run at identity whose replayed PL ratio at iteration 0 is a tenth of μ₀ → violated, hypotheses met`` () =
    let faithful, run = blockWithPlAt 0 0.1
    holds (blockRow "C.mu0") faithful
    // μ₀ and both hypotheses (identity at initialization, λ_min(K̄) > τ) read θ(0) and the data, not the replay's column
    let e = Result.evaluate (blockRow "C.mu0") run
    Assert.All(e.Hypotheses, fun (n, ok, why) -> Assert.True(ok, sprintf "hypothesis %s not met: %s" n why))
    match e.Verdict with
    | Violated w -> Assert.Contains("iteration 0", w.When)
    | v -> failwithf "C.mu0: expected violated, got %A" v

/// The outcome of C.plAlongRun on a run whose PL ratio drops below μ₀/4 at iteration j, and C.gdDecay's after it.
let private notObservedAt (j: int) (plAlongRun: Evaluation) (gdDecay: Evaluation) =
    // its own hypotheses (the initialization's, finite losses) met: the "not observed" is its conclusion's outcome
    Assert.All(plAlongRun.Hypotheses, fun (n, ok, why) -> Assert.True(ok, sprintf "C.plAlongRun: hypothesis %s not met: %s" n why))
    match plAlongRun.Verdict with
    | HypothesisNotMet [ (name, why) ] ->
        Assert.Equal("observed PL along the run", name)
        Assert.StartsWith("not observed: ", why)
        Assert.Contains(sprintf "at iteration %d " j, why)
    | v -> failwithf "C.plAlongRun: expected not observed, got %A" v
    Assert.Equal<string list>([ "PL along the run (C.plAlongRun)" ], unmet gdDecay)

[<Fact>]
let ``C.plAlongRun: a one-layer block run at identity whose replayed PL ratio drops to a tenth of μ₀ at one iterate → not observed, C.gdDecay's PL hypothesis not met`` () =
    let j = 30
    let faithful, run = blockWithPlAt j 0.1
    for id in [ "C.plAlongRun"; "C.gdDecay" ] do holds (blockRow id) faithful
    notObservedAt j (Result.evaluate (blockRow "C.plAlongRun") run) (Result.evaluate (blockRow "C.gdDecay") run)
    // r̃(0) is untouched: C.mu0 still holds
    Assert.True(Verdict.isHolds (Result.evaluate (blockRow "C.mu0") run).Verdict)

/// An MLP run with the hypotheses of result C: V(0) = 0, m ≥ n + 2, tied, GELU, small η.
let private plSpec = RunSpec(Depth = 4, Width = 8, Samples = 4, Dim = 3, VScale = 0.0, Eta = 0.01, Iterations = 20, Snapshots = 2, Seed = 7L)

[<Fact>]
let ``C.plAlongRun: an MLP run whose verified PL ratio drops to a tenth of μ₀ at one iterate → not observed, C.gdDecay's PL hypothesis not met`` () =
    let trained = plSpec.Train()
    let faithful = Run(RunDirectory.InMemory(trained))
    for r in [ PolyakLojasiewicz.initialPl; PolyakLojasiewicz.plAlongRun; PolyakLojasiewicz.gdDecay ] do holds r faithful
    let mu0 = (PolyakLojasiewicz.initConstants faithful).Mu0
    let j = 10
    let rj = (PolyakLojasiewicz.path faithful).R.[j]
    // the verifier's own pl_ratio column (from its replay) corrupted in place at iterate j, as PolyakLojasiewiczProperties
    // does at every iterate; the losses, gradient norms (descent condition) and V(0) = 0, m ≥ n + 2 are untouched
    let run = Run(RunDirectory.InMemory(trained))
    let col = run.Trace("pl_ratio").Value
    col.[j] <- col.[j] * 0.1 * mu0 / rj
    notObservedAt j (Result.evaluate PolyakLojasiewicz.plAlongRun run) (Result.evaluate PolyakLojasiewicz.gdDecay run)
    Assert.True(Verdict.isHolds (Result.evaluate PolyakLojasiewicz.initialPl run).Verdict)

// ---------------------------------------------------------------- B.rate on block runs: one function of depth

/// A smooth one-layer ladder (depths 4 … 64): B.rate holds on it; the same ladder with the initial scales growing like L
/// samples a different function at every depth, which is not the premise of a rate in depth.
let private ladderOfScales (scaleAt: int -> float) =
    [ 4; 8; 16; 32; 64 ]
    |> List.map (fun l ->
        let spec = oneLayerSpec.With(depth = l, iterations = 2, scales = [| scaleAt l; 0.2 |])
        Registry.openRun (RunDirectory.InMemory(spec.Train(), sprintf "one-layer L = %d" l)))

[<Fact>]
let ``B.rate: a one-layer ladder whose initial scales grow with L → "one function of depth" not met and refused as a ladder, where it was violated`` () =
    let faithful = match Ladder.create (ladderOfScales (fun _ -> 0.3)) with Ok l -> l | Error e -> failwith e
    let f = Result.evaluate GenericResults.eulerRate faithful
    Assert.True(Verdict.isHolds f.Verdict, sprintf "%A" f.Verdict)
    let runs = ladderOfScales (fun l -> 0.3 * float l / 4.0)
    // Ladder.create takes the labels (architecture, depths): it accepts these runs; the evidence does not
    let scaled = match Ladder.create runs with Ok l -> l | Error e -> failwith e
    let e = Result.evaluate GenericResults.eulerRate scaled
    Assert.Contains("layers sample one function of depth", unmet e)
    match Evidence.checkLadder runs with
    | Error why -> Assert.Contains("not one function of depth", why)
    | Ok () -> failwith "a ladder of different initial functions was accepted"
