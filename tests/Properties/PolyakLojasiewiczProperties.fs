/// Properties of result C (docs/theorems/PolyakLojasiewicz.md): the PL constant μ₀ at a zero-V initialization,
/// the PL ratio along the run, the gradient-descent decay, the path length and the a-posteriori rate; with
/// negative controls (m < n, V(0) ≠ 0, η beyond the descent-lemma limit, a corrupted pl_ratio trace).
module ResOdeProofs.Properties.PolyakLojasiewiczProperties

open System.Collections.Generic
open FsCheck
open FsCheck.FSharp
open FsCheck.Xunit
open ResOdeProofs.Numerics
open ResOdeProofs.Numerics.IO
open ResOdeProofs.Numerics.Training
open ResOdeProofs.Theory
open ResOdeProofs.Properties.Generators
open ResOdeProofs.Properties.Profile

/// Settings with the hypotheses of result C: m ≥ n + 2, V(0) = 0, tied or smooth init, smooth σ, small η.
let plSpec : Gen<RunSpec> =
    gen {
        let! depth = Gen.elements (if isLong then [ 4; 8; 16; 32 ] else [ 4; 8 ])
        let! n = Gen.choose (2, if isLong then 12 else 6)
        let! extra = Gen.choose (2, if isLong then 20 else 8)
        let! d = Gen.choose (2, 4)
        let! act = Gen.elements smoothActivations
        let! init = Gen.elements [ InitKind.Tied; InitKind.Smooth ]
        let! eta = Gen.elements [ 0.001; 0.005; 0.01 ]
        let! iters = Gen.choose (2, if isLong then 80 else 20)
        let! seed = Gen.choose (0, 100000)
        return
            RunSpec(
                Depth = depth, Width = n + extra, Samples = n, Dim = d, Activation = act, Init = init,
                VScale = 0.0, Eta = eta, Iterations = iters, Snapshots = 2, Seed = int64 seed
            )
    }

/// Shrinks toward fewer layers and iterations while keeping m ≥ n + 2 and V(0) = 0.
let shrinkPl (s: RunSpec) : seq<RunSpec> =
    shrinkSpec s |> Seq.filter (fun t -> t.Width >= t.Samples + 2 && t.VScale = 0.0)

let plArb = Arb.fromGenShrink (plSpec, shrinkPl)

/// A labelled property: the label (setting, verdict, reproduction) is shown when it fails.

let private eval (r: Result<Run>) run = Result.evaluate r run

let private labelled (spec: RunSpec) (ok: bool) (e: Evaluation) =
    ok |@ sprintf "%s\n%A\n%s" (describe spec) e.Verdict (reproduce spec)

/// The names of the hypotheses that were not met.
let private unmet (e: Evaluation) =
    match e.Verdict with
    | HypothesisNotMet l -> l |> List.map fst
    | _ -> []

/// The run with the verifier's own pl_ratio column multiplied by `factor`, in place: the evidence itself corrupted,
/// to show that C.mu0 and C.plAlongRun can fail (a corrupted trace file is a claim, caught by E.claims, see below).
let private scalePl (factor: float) (run: Run) =
    let col = run.Trace("pl_ratio").Value
    for j in 0 .. col.Length - 1 do col.[j] <- col.[j] * factor
    run

/// The run with the producer's trace column pl_ratio multiplied by `factor` (a corrupted trace file).
let private scalePlClaim (factor: float) (run: Run) =
    let d = run.Data
    let trace = Dictionary<string, float[]>(d.Trace)
    trace.["pl_ratio"] <- trace.["pl_ratio"] |> Array.map (fun x -> x * factor)
    Run(
        RunData(
            Directory = d.Directory + " (pl_ratio corrupted)", Meta = d.Meta, Shape = d.Shape, Data = d.Data, A = d.A, B = d.B,
            Activation = d.Activation, Eta = d.Eta, Steps = d.Steps, W = d.W, V = d.V, Losses = d.Losses,
            Trace = (trace :> IReadOnlyDictionary<string, float[]>)
        )
    )

[<ProfiledProperty(12, Replay = "(20241,77)")>]
let ``C.mu0: zero-V initialization with m ≥ n → holds`` () =
    Prop.forAll plArb (fun spec ->
        let run = train spec
        let e = eval PolyakLojasiewicz.initialPl run
        labelled spec (Verdict.isHolds e.Verdict) e
        |> Prop.classify (spec.Init = InitKind.Tied) "tied"
        |> Prop.collect (Activations.Name spec.Activation)
        |> Prop.collect (Verdict.tightness e.Verdict |> Option.map tightnessBucket |> Option.defaultValue "-"))

[<ProfiledProperty(12, Replay = "(20242,79)")>]
let ``C.* (gradient descent): sampled settings → never violated`` () =
    Prop.forAll plArb (fun spec ->
        let run = train spec
        let proved = [ PolyakLojasiewicz.gdDecay; PolyakLojasiewicz.pathLength; PolyakLojasiewicz.runRate ]
        let es = proved |> List.map (fun r -> r.Id, eval r run)
        let ok = es |> List.forall (fun (_, e) -> not (Verdict.isViolated e.Verdict))
        let along = eval PolyakLojasiewicz.plAlongRun run
        (ok |@ sprintf "%s\n%A\n%s" (describe spec) (es |> List.map (fun (id, e) -> id, e.Verdict)) (reproduce spec))
        |> Prop.classify (Verdict.isHolds along.Verdict) "r stayed ≥ μ₀/4"
        |> Prop.collect (spec.Init.ToString().ToLowerInvariant())
        |> Prop.collect (
            match (snd es.[0]).Verdict with
            | Holds(_, t) -> tightnessBucket t
            | v -> Verdict.label v))

[<ProfiledProperty(12, Replay = "(20243,81)")>]
let ``C.runRate: sampled PL settings → holds, or hypothesis not met (descent condition η·β̂ < 2)`` () =
    Prop.forAll plArb (fun spec ->
        let run = train spec
        let e = eval PolyakLojasiewicz.runRate run
        let ok = Verdict.isHolds e.Verdict || unmet e = [ "descent condition η·β̂_j < 2" ]
        labelled spec ok e
        |> Prop.collect (Verdict.tightness e.Verdict |> Option.map tightnessBucket |> Option.defaultValue "-"))

[<ProfiledProperty(6, Replay = "(20244,81)")>]
let ``C.*: m < n → hypothesis not met (rank) for every result needing μ₀`` () =
    Prop.forAll plArb (fun spec ->
        let spec = spec.With(width = max 1 (spec.Samples - 1), init = InitKind.Tied)
        let run = train spec
        let ids = [ PolyakLojasiewicz.initialPl; PolyakLojasiewicz.plAlongRun; PolyakLojasiewicz.gdDecay; PolyakLojasiewicz.pathLength ]
        let ok =
            ids |> List.forall (fun r ->
                let e = eval r run
                Verdict.isHypothesisNotMet e.Verdict && List.contains "rank: m ≥ n" (unmet e))
        ok |@ sprintf "%s\n%s" (describe spec) (reproduce spec))

[<ProfiledProperty(6, Replay = "(20245,85)")>]
let ``C.mu0: V(0) ≠ 0 → hypothesis not met (V(0) = 0)`` () =
    Prop.forAll plArb (fun spec ->
        let spec = spec.With(vScale = 0.1)
        let run = train spec
        let e = eval PolyakLojasiewicz.initialPl run
        (Verdict.isHypothesisNotMet e.Verdict && List.contains "V(0) = 0" (unmet e))
        |@ sprintf "%s\n%A\n%s" (describe spec) e.Verdict (reproduce spec))

[<ProfiledProperty(6, Replay = "(20246,83)")>]
let ``C.gdDecay: η = 2, far beyond the descent-lemma limit → violated, or hypothesis not met (descent condition; diverged)`` () =
    Prop.forAll plArb (fun spec ->
        // η = 2 with 2 updates: the first step overshoots (η·β̂ > 1) while the run usually stays finite.
        let spec = spec.With(eta = 2.0, iterations = 2)
        let run = train spec
        let e = eval PolyakLojasiewicz.gdDecay run
        let names = unmet e
        let caught =
            if run.Setting.Diverged then List.contains "run not diverged, every loss finite" names
            else Verdict.isViolated e.Verdict || (names |> List.exists (fun h -> h.StartsWith "descent condition"))
        (caught |@ sprintf "%s\n%A\n%s" (describe spec) e.Verdict (reproduce spec))
        |> Prop.classify run.Setting.Diverged "diverged"
        |> Prop.classify (List.exists (fun (h: string) -> h.StartsWith "descent condition") names) "descent condition not met")

[<ProfiledProperty(6, Replay = "(20247,87)")>]
let ``C.mu0: pl_ratio trace scaled below μ₀ → violated; C.plAlongRun → hypothesis not met`` () =
    Prop.forAll plArb (fun spec ->
        let run = train spec
        let ic = PolyakLojasiewicz.initConstants run
        let r0 = run.Trace("pl_ratio").Value.[0]
        let claim = eval ReplayEvidence.claims (scalePlClaim (0.1 * ic.Mu0 / r0) run)
        let bad = scalePl (0.1 * ic.Mu0 / r0) run
        let e0 = eval PolyakLojasiewicz.initialPl bad
        let e1 = eval PolyakLojasiewicz.plAlongRun bad
        // C.plAlongRun is an observation: never violated on its own, its "not observed" is a hypothesis not met
        (Verdict.isViolated e0.Verdict && Verdict.isHypothesisNotMet e1.Verdict && Verdict.isViolated claim.Verdict)
        |@ sprintf "%s\n%A\n%A\n%A\n%s" (describe spec) e0.Verdict e1.Verdict claim.Verdict (reproduce spec))

/// A run with a general read-out B (d_out × d) and A = I.
let private trainWithReadout (dOut: int) (b: float[]) =
    let shape = Model.NetworkShape(6, 8, 2, 2, dOut)
    let data = Model.Dataset.SyntheticGaussian(4, 2, dOut, 11L)
    let init = Initialization.Tied(shape, 11L)
    let opts = TrainOptions(ActivationKind.Tanh, 0.01, 30, Snapshots = 2)
    let r = Trainer.Train(shape, data, init, opts, 11L, "synthetic, general read-out", null, b)
    Run(RunDirectory.InMemory(r, "read-out B"))

[<Xunit.Fact>]
let ``C.*: tall read-out (d_out > d), ℓ_⊥ > 0 → holds for ε = ℓ − ℓ_⊥`` () =
    // B ∈ R^{3×2}: range(B) is a plane in R^3, σ₊(B) = 1 for orthonormal columns.
    let s = 1.0 / sqrt 2.0
    let run = trainWithReadout 3 [| s; 0.0; s; 0.0; 0.0; 1.0 |]
    let ic = PolyakLojasiewicz.initConstants run
    Xunit.Assert.True(ic.LossPerp > 0.0, sprintf "ℓ_⊥ = %g" ic.LossPerp)
    Xunit.Assert.Equal(1.0, ic.SigmaB, 12)
    let p = PolyakLojasiewicz.path run
    Xunit.Assert.True(p.Eps |> Array.forall (fun e -> e >= -1e-9 * ic.LossPerp), "ε = ℓ − ℓ_⊥ went negative")
    for r in PolyakLojasiewicz.all do
        let e = Result.evaluate r run
        Xunit.Assert.False(Verdict.isViolated e.Verdict, sprintf "%s: %A" r.Id e.Verdict)
    Xunit.Assert.True(Verdict.isHolds (Result.evaluate PolyakLojasiewicz.initialPl run).Verdict)

[<Xunit.Fact>]
let ``C.mu0: wide full-rank read-out (d_out < d) → ℓ_⊥ = 0 and μ₀ scaled by σ₊(B)²`` () =
    // B = [1.2 1.6] ∈ R^{1×2}: σ₊(B) = 2, range(B) = R, so μ₀ = 4·σ₊²·λ_min(Ḡ)/n = 4·4·λ_min/4.
    let run = trainWithReadout 1 [| 1.2; 1.6 |]
    let ic = PolyakLojasiewicz.initConstants run
    Xunit.Assert.Equal(0.0, ic.LossPerp, 12)
    Xunit.Assert.Equal(2.0, ic.SigmaB, 12)
    Xunit.Assert.Equal(4.0 * ic.LambdaMinGram, ic.Mu0, 12)
    Xunit.Assert.True(Verdict.isHolds (Result.evaluate PolyakLojasiewicz.initialPl run).Verdict)

/// B = diag(1, 10⁻⁹): full rank, but its Gram matrix's rounding covers σ₊² = 10⁻¹⁸, so the certified lower value of σ₊(B)
/// is 0 and μ₀ would be 0: C.mu0 held with μ₀ = 0 (an empty statement) and C.pathLength's bound "overflowed" (a user test).
[<Xunit.Fact>]
let ``C.*: a read-out of condition 1e9 (σ₊(B) not certified positive) → hypothesis not met naming σ₊(B), not holds with μ₀ = 0`` () =
    let run = trainWithReadout 2 [| 1.0; 0.0; 0.0; 1e-9 |]
    let ic = PolyakLojasiewicz.initConstants run
    Xunit.Assert.Equal(0.0, ic.SigmaB)
    for r in [ PolyakLojasiewicz.initialPl; PolyakLojasiewicz.plAlongRun ] do
        let e = Result.evaluate r run
        Xunit.Assert.False(Verdict.isHolds e.Verdict, sprintf "%s: %A" r.Id e.Verdict)
        Xunit.Assert.Contains("σ₊(B) of the read-out is not certified positive", sprintf "%A" e.Verdict)

/// A GELU run of the given width on n = 6 samples (d = 2, V(0) = 0), the reference pass at snapshot 0.
let private geluRunOfWidth (m: int) =
    let shape = Model.NetworkShape.Square(5, m, 2)
    let data = Model.Dataset.SyntheticGaussian(6, 2, 2, 7L)
    let opts = TrainOptions(ActivationKind.Gelu, 0.01, 4, Snapshots = 2)
    let r = Trainer.Train(shape, data, Initialization.Tied(shape, 7L), opts, 7L, "synthetic", null, null)
    Run(RunDirectory.InMemory(r, "width " + string m))

[<Xunit.Fact>]
let ``C.mu0: Φ_k read from the reference's σ values → the same bits as σ of its pre-activations`` () =
    // initConstants reads Φ_k from Layerwise.Sigma instead of evaluating σ again: the two must be one and the same number
    for m in [ 3; 8 ] do
        let run = geluRunOfWidth m
        let acts = (run.Layerwise 0).PreActivations()
        for k in 0 .. acts.Pre.Length - 1 do
            for i in 0 .. acts.Pre.[k].Length - 1 do
                for j in 0 .. m - 1 do
                    let v = Activations.Value(ActivationKind.Gelu, acts.Pre.[k].[i].[j])
                    Xunit.Assert.True(System.BitConverter.DoubleToInt64Bits v = System.BitConverter.DoubleToInt64Bits acts.Sigma.[k].[i].[j],
                                      sprintf "m = %d, layer %d, sample %d, unit %d: %.17g vs %.17g" m (k + 1) i j v acts.Sigma.[k].[i].[j])

[<Xunit.Fact>]
let ``C.mu0: m < n → per-layer λ_min mean 0, each Gram's computed spectrum at 0 within its rounding`` () =
    // m = 3 < n = 6: Φ_kᵀΦ_k (6×6) has rank ≤ 3, so λ_min = 0 exactly; initConstants states it without solving the
    // eigenproblems, and MathNet's spectrum of every Gram agrees within n·u·tr (a backward-stable EVD's error)
    let run = geluRunOfWidth 3
    let ic = PolyakLojasiewicz.initConstants run
    Xunit.Assert.Equal(0.0, ic.LambdaMinLayersMean)
    let acts = (run.Layerwise 0).PreActivations()
    for k in 0 .. acts.Pre.Length - 1 do
        let phi = MathNet.Numerics.LinearAlgebra.Matrix<float>.Build.Dense(3, 6, fun j i -> acts.Sigma.[k].[i].[j])
        let g = phi.TransposeThisAndMultiply phi
        let lmin = g.Evd(MathNet.Numerics.LinearAlgebra.Symmetricity.Symmetric).EigenValues |> Seq.map (fun z -> z.Real) |> Seq.min
        Xunit.Assert.True(abs lmin <= 6.0 * 6.0 * 1.1102230246251565e-16 * g.Trace(), sprintf "layer %d: λ_min = %g, tr = %g" (k + 1) lmin (g.Trace()))

[<Xunit.Fact>]
let ``C.gdDecay: descent condition within its rounding allowance of 1 → hypothesis not met, cannot be established; well below → met; beyond it by more → refuted`` () =
    let eta = 0.01
    let noSnapshot (_: int) : int option = None
    let check (beta: float[]) (err: float[]) = PolyakLojasiewicz.descentCondition eta beta.Length beta err noSnapshot
    // η·β̂ = 0.999 with η·e = 0.002: the exact η·β may be 1.001 (not established) or 0.997 (not refuted); "not refuted" was met
    match check [| 50.0; 99.9 |] [| 0.01; 0.2 |] with
    | NotMet why -> Xunit.Assert.StartsWith("cannot be established", why)
    | Met v -> failwithf "met within the allowance: %s" v
    // the same steps with an allowance that keeps them below the limit → met
    match check [| 50.0; 99.9 |] [| 0.01; 0.05 |] with
    | Met _ -> ()
    | NotMet why -> failwithf "not met: %s" why
    // η(β̂ − e) > 1: refuted, said as beyond the limit
    match check [| 50.0; 101.0 |] [| 0.01; 0.05 |] with
    | NotMet why -> Xunit.Assert.Contains("beyond the descent-lemma limit", why)
    | Met v -> failwithf "met beyond the limit: %s" v
