/// Result C stated once for every architecture (PolyakLojasiewicz.fs, docs/theorems/PolyakLojasiewicz.md, "stated over
/// every architecture"): the MLP's rows and any block's are the same statements under the same ids; on a block the
/// hypotheses and bounds read the verifier's replay and μ₀ comes from the block's own Jacobians at an identity
/// initialization; the conclusions are compared with the recorded losses and the snapshot parameters, so a corrupted
/// recording is caught while the hypotheses stay met.
module ResOdeProofs.Properties.PolyakLojasiewiczFamilyTests

open Xunit
open ResOdeProofs.Numerics
open ResOdeProofs.Numerics.IO
open ResOdeProofs.Numerics.Training
open ResOdeProofs.Numerics.Model
open ResOdeProofs.Theory

/// A one-layer block σ(W h + b) started at W = 0, b = 0 (an identity initialization for GELU, σ(0) = 0), n ≤ d + 1 so
/// that the kernel (H₀ᵀH₀ + 11ᵀ)σ'(0)² ⊗ I_d can be positive definite.
let private identitySpec =
    RunSpec(Architecture = "one-layer", Depth = 8, Samples = 4, Dim = 4, Scales = [| 0.0; 0.0 |], Eta = 0.01, Iterations = 60,
                 Snapshots = 3, Seed = 3L)

let private oneLayerAtIdentity = lazy (BlockProperties.trainBlock identitySpec)

let private eval (r: Result<Run>) (run: Run) = Result.evaluate r run

/// The block statements by id.
let private blockResult (id: string) = PolyakLojasiewicz.blockAll |> List.find (fun r -> r.Id = id)

/// The run with its recorded losses and snapshot parameters replaced (the replay, from snapshot 0, is unchanged).
let private rewritten (what: string) (losses: float[]) (thetas: float[][]) (run: Run) =
    let d = run.Data
    Registry.openRun (
        RunData(Directory = d.Directory + " (" + what + ")", Meta = d.Meta, Architecture = d.Architecture, Block = d.Block, Depth = d.Depth,
                Dim = d.Dim, Data = d.Data, A = d.A, B = d.B, Activation = d.Activation, Eta = d.Eta,
                Steps = d.Steps, Theta = thetas, Losses = losses, Trace = d.Trace))

let private unmet (e: Evaluation) =
    match e.Verdict with
    | HypothesisNotMet l -> l |> List.map fst
    | _ -> []

[<Fact>]
let ``C.*: one statement each → the MLP's rows and any block's carry the same ids, a block run lists them`` () =
    let ids (rs: Result<Run> list) = rs |> List.map (fun r -> r.Id)
    Assert.Equal<string list>([ "C.mu0"; "C.plAlongRun"; "C.gdDecay"; "C.pathLength"; "C.runRate"; "C.gfDecay"; "C.gfPathLength" ], ids PolyakLojasiewicz.all)
    Assert.Equal<string list>(ids PolyakLojasiewicz.all, ids PolyakLojasiewicz.blockAll)
    let listed = ids Registry.blockRunResults
    for id in ids PolyakLojasiewicz.all do Assert.Contains(id, listed)
    // the MLP keeps its own rows (its sharper μ₀ from Ḡ), listed once
    Assert.Equal(7, Registry.singleRun |> List.filter (fun r -> r.Id.StartsWith "C.") |> List.length)

[<Fact>]
let ``C.gdDecay: a one-layer block run at an identity initialization → holds, as do C.mu0, C.plAlongRun, C.pathLength, C.runRate`` () =
    let run = oneLayerAtIdentity.Value
    for id in [ "C.mu0"; "C.plAlongRun"; "C.gdDecay"; "C.pathLength"; "C.runRate" ] do
        let e = eval (blockResult id) run
        Assert.True(Verdict.isHolds e.Verdict, sprintf "%s: %A" id e.Verdict)
    // the flow statements are about another optimizer
    for id in [ "C.gfDecay"; "C.gfPathLength" ] do
        match (eval (blockResult id) run).Verdict with
        | NotApplicable _ -> ()
        | v -> failwithf "%s: expected not applicable, got %A" id v
    // μ₀ is positive and the hypothesis names are the block's
    let mu0 = eval (blockResult "C.mu0") run
    Assert.True(mu0.Bound.Value > 0.0)
    Assert.Contains(mu0.Hypotheses, fun (n, ok, _) -> n.StartsWith "identity at initialization" && ok)

[<Fact>]
let ``C.gdDecay, C.runRate: a one-layer block run whose last recorded loss is raised above ε(0) → violated, hypotheses met`` () =
    let run = oneLayerAtIdentity.Value
    let losses = Array.copy run.Losses
    losses.[losses.Length - 1] <- 1.5 * losses.[0]
    let bad = rewritten "last loss raised" losses run.Data.Theta run
    for id in [ "C.gdDecay"; "C.runRate" ] do
        let e = eval (blockResult id) bad
        match e.Verdict with
        | Violated w ->
            Assert.Equal("recorded loss (losses.npy)", w.Where)
            Assert.Contains(sprintf "iteration %d" (losses.Length - 1), w.When)
        | v -> failwithf "%s: expected violated, got %A" id v
        Assert.All(e.Hypotheses, fun (n, ok, why) -> Assert.True(ok, sprintf "%s: %s" n why))

/// A block run whose replay lands on every snapshot bit for bit (the record is the replay's computation) with its last
/// recorded loss raised to the initial one: the decay envelope and the path bound built from the record fail there while
/// every hypothesis (read from the replay) stays met. (A snapshot's parameters bumped instead leave the replay's landing:
/// another producer's run for a block, whose decay rows are then not compared; the next test.)
[<Fact>]
let ``C.pathLength, C.gdDecay: a one-layer block run with its last recorded loss raised to ε(0) → violated, hypotheses met; raised above it → the negative bound's witness says the loss rose`` () =
    let run = oneLayerAtIdentity.Value
    let losses = Array.copy run.Losses
    let n = losses.Length - 1
    losses.[n] <- losses.[0]
    let bad = rewritten "last loss raised" losses (Array.init run.SnapshotCount (fun s -> run.Theta s)) run
    let e = eval (blockResult "C.gdDecay") bad
    match e.Verdict with
    | Violated w -> Assert.Equal("recorded loss (losses.npy)", w.Where)
    | v -> failwithf "C.gdDecay: expected violated, got %A" v
    Assert.All(e.Hypotheses, fun (n, ok, why) -> Assert.True(ok, sprintf "%s: %s" n why))
    // the path bound k(√ε_0 − √ε_N) at the raised loss is about 0 while the replay's path up to N is not
    match (eval (blockResult "C.pathLength") bad).Verdict with
    | Violated w -> Assert.StartsWith("path length", w.Where)
    | v -> failwithf "C.pathLength: expected violated, got %A" v
    // raised above ε(0) the bound is negative, and the witness says why (it printed "bound −1.32" alone: a user)
    let higher = Array.copy run.Losses
    higher.[n] <- 1.1 * higher.[0]
    match (eval (blockResult "C.pathLength") (rewritten "last loss above ε(0)" higher (Array.init run.SnapshotCount (fun s -> run.Theta s)) run)).Verdict with
    | Violated w ->
        Assert.True(w.Bound < 0.0, sprintf "bound %g" w.Bound)
        Assert.Contains("is above ε_0", w.Where)
    | v -> failwithf "C.pathLength (above ε(0)): expected violated, got %A" v

[<Fact>]
let ``C.mu0: one-layer block at its default initialization (W ≠ 0) → hypothesis not met (identity at initialization); C.runRate → holds`` () =
    let spec = RunSpec(Architecture = "one-layer", Depth = 8, Samples = 4, Dim = 4, Eta = 0.01, Iterations = 60, Snapshots = 3, Seed = 3L)
    let run = BlockProperties.trainBlock spec
    let e = eval (blockResult "C.mu0") run
    Assert.True(Verdict.isHypothesisNotMet e.Verdict, sprintf "%A" e.Verdict)
    Assert.Contains(unmet e, fun n -> n.StartsWith "identity at initialization")
    Assert.True(Verdict.isHolds (eval (blockResult "C.runRate") run).Verdict)

[<Fact>]
let ``C.mu0: scaled-linear block at a = 0 (one parameter per layer, n·d = 16) → hypothesis not met (λ_min(K̄) > τ)`` () =
    // G_k = σ'(0) Σ_i ⟨p^i, h_0^i⟩ is one number per layer and tied: K̄ has rank 1 < n·d
    let run = BlockProperties.trainBlock (identitySpec.With(architecture = "scaled-linear", scales = [| 0.0 |]))
    let e = eval (blockResult "C.mu0") run
    Assert.Equal<string list>([ "λ_min(K̄) > τ" ], unmet e)

[<Fact>]
let ``C.mu0: an MLP run at V(0) = 0 → any block's kernel K̄ = Ḡ ⊗ I_d gives the MLP's μ₀ within both roundings`` () =
    let spec = RunSpec(Depth = 4, Width = 8, Samples = 5, Dim = 3, VScale = 0.0, Eta = 0.01, Iterations = 3, Snapshots = 2, Seed = 5L)
    let run = Registry.openRun (RunDirectory.InMemory(spec.Train(), "mlp at V(0) = 0"))
    let mlp = PolyakLojasiewicz.initConstants run
    let b = PolyakLojasiewicz.blockInit run
    Assert.Equal(0.0, b.OutputMax)
    Assert.Equal(0.0, b.StateJacobianMax)
    match b.Constants with
    | Ok k ->
        Assert.True(mlp.Mu0 > mlp.Mu0Error, sprintf "μ₀ = %g not above its rounding %g" mlp.Mu0 mlp.Mu0Error)
        // each λ_min is within its τ of the exact one: the two μ₀ within the sum of both allowances
        Assert.True(abs (k.Mu0 - mlp.Mu0) <= k.Mu0Error + mlp.Mu0Error, sprintf "block μ₀ = %.17g, MLP μ₀ = %.17g" k.Mu0 mlp.Mu0)
        // tr K̄ = d·tr Ḡ
        Assert.True(abs (k.GramTrace - 3.0 * mlp.GramTrace) <= 1e-12 * k.GramTrace, sprintf "tr K̄ = %g, d·tr Ḡ = %g" k.GramTrace (3.0 * mlp.GramTrace))
    | Error why -> failwith why
    // V(0) ≠ 0: the residual branch does not vanish, no kernel is stated
    let moved = Registry.openRun (RunDirectory.InMemory(spec.With(vScale = 0.1).Train(), "mlp at V(0) ≠ 0"))
    match (PolyakLojasiewicz.blockInit moved).Constants with
    | Error why -> Assert.Contains("not an identity initialization", why)
    | Ok _ -> failwith "expected no kernel away from an identity initialization"

[<Fact>]
let ``C.mu0, C.gdDecay: a one-layer block run with n·d = 1040 above the kernel budget → not applicable (a limit of the verifier), C.runRate still evaluated`` () =
    let run = BlockProperties.trainBlock (identitySpec.With(samples = 65, dim = 16, iterations = 4, snapshots = 2))
    Assert.True(run.Setting.Samples * run.Setting.Dim > PolyakLojasiewicz.maxKernelSize)
    for id in [ "C.mu0"; "C.plAlongRun"; "C.gdDecay"; "C.pathLength" ] do
        match (eval (blockResult id) run).Verdict with
        | NotApplicable why -> Assert.Contains("limit of the tool", why)
        | v -> failwithf "%s: expected not applicable, got %A" id v
    // C.runRate does not need μ₀: it is evaluated (its verdict is not the budget's)
    match (eval (blockResult "C.runRate") run).Verdict with
    | NotApplicable why -> failwithf "C.runRate: not applicable (%s)" why
    | _ -> ()

/// The block supply with one entry of a verifier's column replaced by NaN (the replay's columns are copies).
let private withNaN (column: string) (at: int) =
    PolyakLojasiewicz.statedOver
        { PolyakLojasiewicz.anyBlock with
            Column = fun run name -> let c = PolyakLojasiewicz.anyBlock.Column run name in (if name = column then c.[at] <- nan); c }

[<Fact>]
let ``C.gdDecay, C.plAlongRun: a one-layer block run whose replayed gradient norm or PL ratio is NaN at one iterate → not holds (the NaN is the worst step, not passed over)`` () =
    let run = oneLayerAtIdentity.Value
    // the faithful columns: both hold (the first test of this file), so what follows is the NaN's doing
    let gd = (withNaN "grad_norm" 2).GdDecay
    match (eval gd run).Verdict with
    | HypothesisNotMet l -> Assert.Contains("descent condition η·β̂_j ≤ 1", l |> List.map fst)
    | v -> failwithf "C.gdDecay with a NaN gradient norm: expected hypothesis not met, got %A" v
    let pl = (withNaN "pl_ratio" 3).PlAlongRun
    let v = (eval pl run).Verdict
    Assert.False(Verdict.isHolds v, sprintf "C.plAlongRun with a NaN PL ratio: %A" v)

/// A float32 run of this engine marked as another producer's (run.json naming another build: the certified replay, the
/// verifier's columns within E.replay's tolerances of the record), on targets within 2⁻¹⁰ of inputs of size 16 with
/// tiny steps (a referee's example): the recorded float32 loss stays at its rounding floor while the weights move. No
/// trace (run-format.md: optional), so E.claims does not read it.
let private floorRun (eta: float) (iterations: int) =
    let spec = RunSpec(Depth = 2, Width = 4, Samples = 2, Dim = 2, VScale = 0.0, Eta = eta, Iterations = iterations, Snapshots = 2, Seed = 3L, Float32 = true)
    let big, off = 16.0, 1.0 / 1024.0
    let x = [| big; -big * 0.5; big * 0.25; big * 0.75 |]
    let y = [| x.[0] + off; x.[1] - off; x.[2] - off; x.[3] + 2.0 * off |]
    let r = Trainer.Train(spec.Shape, Dataset(2, 2, 2, x, y), spec.InitialWeights(), spec.Options(), spec.Seed, "near the identity", null, null)
    let d = RunDirectory.InMemory(r, "float32 floor")
    d.Meta.EngineBuild <- "content:0000000000000000"
    d

let private withLosses (what: string) (losses: float[]) (d: RunData) =
    Run(RunData(Directory = d.Directory + " (" + what + ")", Meta = d.Meta, Shape = d.Shape, Data = d.Data, A = d.A, B = d.B,
                Activation = d.Activation, Eta = d.Eta, Steps = d.Steps, W = d.W, V = d.V, Losses = losses,
                Trace = System.Collections.Generic.Dictionary<string, float[]>(), LossesStorageRoundoff = d.LossesStorageRoundoff))

[<Fact>]
let ``C.gdDecay, C.runRate, C.pathLength: a foreign float32 run at its loss' rounding floor (targets 2⁻¹⁰ from inputs of 16, η = 1e-8) → E.replay holds; the descent conditions (η·β̂ ≤ 1, and C.runRate's < 2) cannot be established: hypothesis not met, not holds`` () =
    let d = floorRun 1e-8 40
    let run = withLosses "as recorded" d.Losses d
    Assert.True(Verdict.isHolds (eval (Registry.singleRun |> List.find (fun r -> r.Id = "E.replay")) run).Verdict, "E.replay")
    // at the floor the losses' differences are rounding: η·β̂_j's allowance reaches past both limits, so neither condition
    // can be established nor refuted (until 2026-12-06 "not refuted" was met, and C.runRate compared β̂ without allowance)
    for id, hyp in [ "C.gdDecay", "descent condition η·β̂_j ≤ 1"; "C.pathLength", "descent condition η·β̂_j ≤ 1"; "C.runRate", "descent condition η·β̂_j < 2" ] do
        let r = PolyakLojasiewicz.all |> List.find (fun r -> r.Id = id)
        match (eval r run).Verdict with
        | HypothesisNotMet l -> Assert.Contains(l, fun (n, why) -> n = hyp && why.StartsWith "cannot be established")
        | v -> failwithf "%s: expected the descent condition not established, got %A" id v

/// C.mu0 at equality with a tall read-out (a referee's example): L = 1, m = n = 2, d = 1, B = [1; 0], V(0) = 0, W = (1, −1),
/// x = (1, −1); the reducible residual along the bottom eigenvector of Ḡ (so r̃(0) = μ₀ exactly) and the unreachable target
/// component F (ℓ_⊥ = F²) against ε(0) = 0.005: ε = ℓ − ℓ_⊥ carries the absolute rounding of ℓ.
[<Fact>]
let ``C.mu0: a tall read-out whose unreachable part ℓ_⊥ = 9 and 10⁶ dwarfs ε(0) = 0.005, r̃(0) = μ₀ exactly → holds (ε's cancellation counted); r̃(0) lowered by 10⁻⁶ relative → violated`` () =
    let gelu (z: float) = 0.5 * z * (1.0 + MathNet.Numerics.SpecialFunctions.Erf(z / sqrt 2.0))
    let w, x = [| 1.0; -1.0 |], [| 1.0; -1.0 |]
    let phi = Array.init 2 (fun j -> Array.init 2 (fun i -> gelu (w.[j] * x.[i])))
    let g a b = phi.[0].[a] * phi.[0].[b] + phi.[1].[a] * phi.[1].[b]
    let a, b, c = g 0 0, g 0 1, g 1 1
    let lmin = (a + c) / 2.0 - sqrt (((a - c) / 2.0) ** 2.0 + b * b)
    let u0, u1 = b, lmin - a
    let nu = sqrt (u0 * u0 + u1 * u1)
    for f in [ 3.0; 1000.0 ] do
        let y = [| x.[0] - 0.1 * u0 / nu; f; x.[1] - 0.1 * u1 / nu; f |]
        let shape = NetworkShape(1, 2, 1, 1, 2)
        let init = Initialization.FromArrays(shape, w, [| 0.0; 0.0 |], "a referee's weights")
        let r = Trainer.Train(shape, Dataset(2, 1, 2, x, y), init, TrainOptions(ActivationKind.Gelu, 0.01, 5, Snapshots = 2), 1L, "tall read-out", null, [| 1.0; 0.0 |])
        let run = Run(RunDirectory.InMemory(r, sprintf "tall read-out F = %g" f))
        let mu0 = PolyakLojasiewicz.all |> List.find (fun r -> r.Id = "C.mu0")
        let e = eval mu0 run
        Assert.True(Verdict.isHolds e.Verdict, sprintf "F = %g: %A" f e.Verdict)
        // r̃(0) at μ₀ within its rounding; the verifier's pl_ratio at iteration 0 lowered so that r̃(0) = μ₀(1 − 10⁻⁶)
        // (the column corrupted in place after the evidence was built) → violated: the allowance is far below 10⁻⁶
        let ic = PolyakLojasiewicz.initConstants run
        let r0 = (PolyakLojasiewicz.path run).R.[0]
        Assert.True(abs (r0 - ic.Mu0) <= 1e-8 * ic.Mu0, sprintf "F = %g: r̃(0) = %.17g, μ₀ = %.17g" f r0 ic.Mu0)
        let pl = run.Trace("pl_ratio").Value
        pl.[0] <- pl.[0] * (1.0 - 1e-6) * ic.Mu0 / r0
        match (eval mu0 run).Verdict with
        | Violated _ -> ()
        | v -> failwithf "F = %g: %A" f v

/// A block run whose replay is not the producer's computation (one entry of snapshot 1's θ one ulp off, as another producer's
/// rounding leaves it): as this build's own run that is a modified recording (not met); as another producer's, the decay rows
/// read the replays restarted at each snapshot within E.replay's companions' allowance and hold (before the companions they
/// could not compare: a float32 PyTorch block run near its rounding floor had been VIOLATED against no allowance); on the
/// run as trained (its replay lands bit for bit) they hold as before.
[<Fact>]
let ``C.gdDecay, C.runRate, C.pathLength on a block run: the replay landing bit for bit → holds; one entry of snapshot 1 one ulp off → hypothesis not met as a modified recording of this engine's run, holds as another producer's (within the companions' allowance)`` () =
    let run = oneLayerAtIdentity.Value
    for id in [ "C.gdDecay"; "C.runRate"; "C.pathLength" ] do
        Assert.True(Verdict.isHolds (eval (blockResult id) run).Verdict, id)
    let thetas = Array.init run.SnapshotCount (fun s -> Array.copy (run.Theta s))
    thetas.[1].[0] <- System.Math.BitIncrement thetas.[1].[0]
    // as this engine's own run (run.json names this build) the one ulp is a modified recording; as another producer's
    // (another build named) it is that producer's rounding, for which the rows have no tolerance
    let own = rewritten "snapshot 1 one ulp off" run.Losses thetas run
    let foreignMeta = ResOdeProofs.Numerics.IO.RunMetadata.Parse(run.Data.Meta.ToJson(), "run.json")
    foreignMeta.EngineBuild <- "content:0000000000000000"
    let d = own.Data
    let foreign =
        Registry.openRun (
            ResOdeProofs.Numerics.IO.RunData(Directory = d.Directory + " (another producer)", Meta = foreignMeta, Architecture = d.Architecture, Block = d.Block,
                    Depth = d.Depth, Dim = d.Dim, Data = d.Data, A = d.A, B = d.B, Activation = d.Activation, Eta = d.Eta,
                    Steps = d.Steps, Theta = d.Theta, Losses = d.Losses, Trace = d.Trace))
    for id in [ "C.gdDecay"; "C.runRate"; "C.pathLength" ] do
        match (eval (blockResult id) own).Verdict with
        | HypothesisNotMet l -> Assert.Contains(l, fun (_, why) -> why.Contains "this engine's own run")
        | v -> failwithf "%s (own): expected hypothesis not met, got %A" id v
        // another producer's: E.replay's companions certify every segment, so the rows compare the record within their
        // allowance (before the companions: hypothesis not met, no tolerance); one ulp is well inside it
        Assert.True(Verdict.isHolds (eval (blockResult id) foreign).Verdict, sprintf "%s (foreign): %A" id (eval (blockResult id) foreign).Verdict)

/// A block run whose run.json says init "tied" without lipschitz_parts (another producer's exporter): tied layers discretize
/// the constant function of depth, so the Lipschitz initialization is met with Lip ≤ L·4u·max_k‖θ_k(0)‖ (E.init's allowance
/// for the equality); it was refused ("tied init discretizes no function of depth with a known Lipschitz constant").
[<Fact>]
let ``GenericResults Lipschitz initialization: a tied block run without lipschitz_parts → met (the constant function); an iid one without → not met`` () =
    let run = BlockProperties.trainBlock (RunSpec(Architecture = "one-layer", Depth = 8, Samples = 4, Dim = 4, Eta = 0.01, Iterations = 4, Snapshots = 2, Seed = 3L))
    let withInit (kind: string) =
        let d = run.Data
        d.Meta.Init.Kind <- kind
        d.Meta.Init.LipschitzParts <- null
        d.Meta.Init.LipschitzW <- System.Nullable()
        d.Meta.Init.LipschitzV <- System.Nullable()
        rewritten ("init " + kind) run.Losses (Array.init run.SnapshotCount (fun s -> run.Theta s)) run
    let _, check = GenericResults.hypLipschitzInit
    match check (withInit "tied") with
    | Met why -> Assert.Contains("tied init", why)
    | NotMet why -> failwithf "tied: %s" why
    match check (withInit "iid") with
    | NotMet _ -> ()
    | Met why -> failwithf "iid: %s" why

/// E.claims on another producer's block run (run.json naming another build): the gradient columns are not compared (their
/// allowance for another producer's rounding is not derived for a block: a tester's faithful runs were VIOLATED on pl_ratio
/// with cancelling targets and on step_max as run-format.md defines it), and a recorded loss is compared within two
/// evaluations' rounding with the outputs' absolute error (a float32 loss near its floor was VIOLATED against γ(|c| + |r|)).
[<Fact>]
let ``E.claims on another producer's block run: gradient columns not compared, with a note; a recorded loss off by twice its allowance γ(|c| + |r|) + 2(2√ℓδ + δ²) → violated`` () =
    let run = oneLayerAtIdentity.Value
    let claims = Registry.blockRunResults |> List.find (fun r -> r.Id = "E.claims")
    let foreign (losses: float[]) =
        let d = run.Data
        let meta = RunMetadata.Parse(d.Meta.ToJson(), "run.json")
        meta.EngineBuild <- "content:0000000000000000"
        Registry.openRun (
            RunData(Directory = d.Directory + " (another producer)", Meta = meta, Architecture = d.Architecture, Block = d.Block, Depth = d.Depth,
                    Dim = d.Dim, Data = d.Data, A = d.A, B = d.B, Activation = d.Activation, Eta = d.Eta,
                    Steps = d.Steps, Theta = d.Theta, Losses = losses, Trace = d.Trace))
    let e = eval claims (foreign run.Losses)
    Assert.True(Verdict.isHolds e.Verdict, sprintf "%A" e.Verdict)
    Assert.Contains(e.Notes, fun n -> n.Contains "grad_norm" && n.Contains "not compared")
    let j = run.Steps.[1]
    let far = Array.copy run.Losses
    far.[j] <- far.[j] * 2.0 + 1.0
    match (eval claims (foreign far)).Verdict with
    | Violated w ->
        Assert.StartsWith("recorded loss (losses.npy)", w.Where)
        let r = run.Losses.[j]
        let moved (by: float) = let l = Array.copy run.Losses in l.[j] <- r + by; l
        // the allowance grows with the claim (γ|c|), so the far claim's is above the one at r + 2·that: still violated there
        Assert.True(Verdict.isViolated (eval claims (foreign (moved (2.0 * w.Bound)))).Verdict, "twice the allowance")
    | v -> failwithf "a loss doubled: expected violated, got %A" v

/// C.mu0's threshold τ with Φ's own rounding (a referee): L = 1, m = n = 2, d = 1, W = (1, −1), two samples x and x(1 + δ)
/// whose feature columns are nearly parallel, so λ_min(Ḡ) is of the order of Φ's rounding; δ is chosen so that λ_min lies
/// between the former τ = (m + n + L)·2⁻⁵²·tr Ḡ and the one with Φ's entries' rounding added.
[<Fact>]
let ``C.mu0: λ_min(Ḡ) between the former threshold and the one with Φ's own rounding (nearly parallel samples) → hypothesis λ_min(Ḡ) > τ not met; well apart → met`` () =
    let runAt (delta: float) =
        let x = [| 0.7; 0.7 * (1.0 + delta) |]
        let shape = NetworkShape(1, 2, 1, 1, 1)
        let init = Initialization.FromArrays(shape, [| 1.0; -1.0 |], [| 0.0; 0.0 |], "nearly parallel samples")
        let r = Trainer.Train(shape, Dataset(2, 1, 1, x, [| 1.0; -1.0 |]), init, TrainOptions(ActivationKind.Gelu, 0.01, 1, Snapshots = 2), 1L, "nearly parallel", null, null)
        Run(RunDirectory.InMemory(r, sprintf "delta %g" delta))
    let former (run: Run) =
        let ic = PolyakLojasiewicz.initConstants run
        float (2 + 2 + 1) * 2.0 * Rounding.Float64UnitRoundoff * ic.GramTrace
    // λ_min grows as δ²: scan for a δ whose λ_min lies strictly between the two thresholds
    let found =
        [ for k in 0 .. 400 -> 1e-9 * System.Math.Pow(10.0, float k / 100.0) ]
        |> List.map runAt
        |> List.tryFind (fun run ->
            let ic = PolyakLojasiewicz.initConstants run
            ic.LambdaMinGram > 2.0 * former run && ic.LambdaMinGram < 0.5 * ic.Threshold)
    match found with
    | None -> failwith "no δ puts λ_min(Ḡ) between the two thresholds"
    | Some run ->
        let mu0 = PolyakLojasiewicz.all |> List.find (fun r -> r.Id = "C.mu0")
        match (eval mu0 run).Verdict with
        | HypothesisNotMet l -> Assert.Contains(l, fun (n, _) -> n = "λ_min(Ḡ) > τ")
        | v -> failwithf "expected λ_min(Ḡ) > τ not met, got %A" v
    // samples well apart: λ_min far above either threshold
    let apart = runAt 0.5
    let ic = PolyakLojasiewicz.initConstants apart
    Assert.True(ic.LambdaMinGram > 1e6 * ic.Threshold, sprintf "λ_min %g, τ %g" ic.LambdaMinGram ic.Threshold)

/// A one-layer block trained to its loss' floor (n = d = 1: ℓ = 1.2·10⁻³², one ulp of the target squared, from step 75 on,
/// where consecutive losses are equal and β̂_j = 2/η exactly): the loss' forward error (δ² ≈ 3·10⁻³⁰) dwarfs ℓ, so the
/// descent condition cannot be established there; with the block's loss error taken as 0 it read refuted ("η·β̂_j = 2 > 1:
/// the step is beyond the descent-lemma limit").
[<Fact>]
let ``C.gdDecay, C.pathLength, C.runRate on a block: a one-layer run trained to its loss' floor → the descent conditions and the observed PL ratio cannot be established (the replay's loss error counted; refuted and held by rounding)`` () =
    let spec = RunSpec(Architecture = "one-layer", Depth = 4, Samples = 1, Dim = 1, Scales = [| 0.0; 0.0 |], Eta = 0.1, Iterations = 5000,
                       Snapshots = 5, Seed = 0L)
    let run = BlockProperties.trainBlock spec
    Assert.True(run.Losses.[run.Losses.Length - 1] < 1e-30, sprintf "the run reaches its floor: %g" run.Losses.[run.Losses.Length - 1])
    for id in [ "C.gdDecay"; "C.pathLength"; "C.runRate" ] do
        match (eval (blockResult id) run).Verdict with
        | HypothesisNotMet l -> Assert.Contains(l, fun (n, why) -> n.StartsWith "descent condition η·β̂_j" && why.StartsWith "cannot be established")
        | v -> failwithf "%s: %A" id v
    // r̃ at the floor is a ratio of roundings too: C.plAlongRun held there (its allowance r̃λ_j/ε_j was 0)
    match (eval (blockResult "C.plAlongRun") run).Verdict with
    | HypothesisNotMet l -> Assert.Contains(l, fun (_, why) -> why.StartsWith "cannot be established")
    | v -> failwithf "C.plAlongRun: %A" v

/// A referee's float64 run trained to its loss' floor (ℓ ≈ 2.6·10⁻²¹ at the end, g ≈ 2·10⁻¹⁰): the losses' forward error
/// (about 3·10⁻²² there, I.loss' order) against the summation's ρℓ ≈ 2·10⁻³².
[<Fact>]
let ``C.gdDecay, C.pathLength, C.runRate: a float64 run trained to its loss' floor → the descent conditions cannot be established (the losses' forward error counted in β̂'s allowance; it was met from ρ alone)`` () =
    let spec = RunSpec(Depth = 16, Width = 16, Samples = 8, Dim = 8, Init = InitKind.Tied, Eta = 0.005, Iterations = 10000,
                       SnapshotSteps = [| 0 .. 1000 .. 10000 |], Seed = 0L)
    let run = Generators.train spec
    for id in [ "C.gdDecay"; "C.pathLength"; "C.runRate" ] do
        match (eval (PolyakLojasiewicz.all |> List.find (fun r -> r.Id = id)) run).Verdict with
        | HypothesisNotMet l -> Assert.Contains(l, fun (n, why) -> n.StartsWith "descent condition η·β̂_j" && why.StartsWith "cannot be established")
        | v -> failwithf "%s: %A" id v
