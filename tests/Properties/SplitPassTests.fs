/// The split quantities on the engine's kernels (IterateSplit over SplitPass) against the independent scalar reference
/// (SplitReference), and the per-segment A.split on the figure-2 setting.
module ResOdeProofs.Properties.SplitPassTests

open Xunit
open FsCheck
open FsCheck.FSharp
open FsCheck.Xunit
open ResOdeProofs.Numerics
open ResOdeProofs.Numerics.IO
open ResOdeProofs.Numerics.Training
open ResOdeProofs.Numerics.Verification
open ResOdeProofs.Theory
open ResOdeProofs.Theory.IterateSplit
open ResOdeProofs.Properties.Generators
open ResOdeProofs.Properties.Profile

/// Largest |σ'''| of the smooth activations (tanh: 2 at 0; GELU: φ(x)|x³ − 4x| ≤ 0.8; softplus ≤ 0.1), which also
/// bounds their |σ''|: how far a supremum of |σ'| or |σ''| over a hull can move when an end of the hull moves.
let private k3 = 2.0

/// The rounding allowance of the comparison (docs/theorems/LemmaChain.md, "L5.split", the fast pass): each
/// implementation computes every quantity within τ' of the exact value relative to its scale, with τ = 4(m + d + n + L)u
/// the relative rounding of one gradient evaluation (Replay.GradientRounding) and 2·m·d·u for the sums of squares of a
/// layer's m·d entries; the two then differ by at most 2τ' times the scale (τ'(|a| + |b|) to first order). A product of
/// c computed factors carries c times that; a supremum of |σ'| or |σ''| over a hull whose ends are within 2τ'R of each
/// other (R the largest end) moves by at most k3·2τ'R.
type private Allowance = { Tau: float }

let private tauOf (c: Context) =
    let u = Replay.UnitRoundoff "float64"
    Replay.GradientRounding(ResOdeProofs.Numerics.Model.NetworkShape(c.Depth, c.Width, c.Dim, c.Dim, c.OutDim), c.Samples, u)
    + 2.0 * float (c.Width * c.Dim) * u

/// The comparisons that fail (name, fast, reference, allowance); empty when the fast pass agrees with the reference.
let compare (c: Context) (q: PairQuantities) (fast: Iterate) (reference: Iterate) =
    let t = tauOf c
    let md = c.Width * c.Dim
    let failures = ResizeArray<string * float * float * float>()
    let check name (a: float) (b: float) (factors: float) (extra: float) =
        let allowed = factors * t * (abs a + abs b) + extra
        if not (abs (a - b) <= allowed) && not (System.Double.IsNaN a && System.Double.IsNaN b) then failures.Add((name, a, b, allowed))
    check "loss" fast.Loss reference.Loss 1.0 0.0
    for k in 0 .. c.Depth - 1 do
        let gw = Linalg.frobenius reference.GW (k * md) md
        let gv = Linalg.frobenius reference.GV (k * md) md
        check (sprintf "G^W_%d" (k + 1)) (Linalg.frobeniusDiff fast.GW (k * md) reference.GW (k * md) md) 0.0 1.0 (2.0 * t * gw)
        check (sprintf "G^V_%d" (k + 1)) (Linalg.frobeniusDiff fast.GV (k * md) reference.GV (k * md) md) 0.0 1.0 (2.0 * t * gv)
    for i in 0 .. fast.Pairs.Length - 1 do
        let f, r = fast.Pairs.[i], reference.Pairs.[i]
        let pair name = sprintf "%s, pair %d" name (i + 1)
        // E = Ĝ − G: rounding relative to ‖Ĝ‖ + ‖G‖ ≤ ‖E‖ + 2‖G‖
        let gw = Linalg.frobenius reference.GW (i * md) md
        let gv = Linalg.frobenius reference.GV (i * md) md
        check (pair "‖E^W − E^W_ref‖") (Linalg.frobeniusDiff fast.EWm (i * md) reference.EWm (i * md) md) 0.0 1.0 (2.0 * t * (r.EW + 2.0 * gw))
        check (pair "‖E^V − E^V_ref‖") (Linalg.frobeniusDiff fast.EVm (i * md) reference.EVm (i * md) md) 0.0 1.0 (2.0 * t * (r.EV + 2.0 * gv))
        check (pair "‖E^W‖") f.EW r.EW 1.0 (2.0 * t * 2.0 * gw)
        check (pair "‖E^V‖") f.EV r.EV 1.0 (2.0 * t * 2.0 * gv)
        for name, a, b in [ "‖ΔW‖", f.X, r.X; "‖ΔV‖", f.Y, r.Y; "‖G^W_{k+1} − G^W_k‖", f.DGW, r.DGW; "‖G^V_{k+1} − G^V_k‖", f.DGV, r.DGV
                            "‖P_{k+1}‖_F", f.PF1, r.PF1; "‖P_k‖_F", f.PF, r.PF; "‖P_k‖₂", f.PS, r.PS; "‖H_k‖₂", f.HS, r.HS
                            "‖H_k − H_{k−1}‖_F", f.DHF, r.DHF; "‖H_k − H_{k−1}‖₂", f.DHS, r.DHS; "‖σ(W_k H_k)‖₂", f.SHatS, r.SHatS
                            "max|V_kᵀp_{k+1}|", f.GHatInf, r.GHatInf; "max|σ'(u_k)|", f.D1Max, r.D1Max ] do
            check (pair name) a b 1.0 0.0
        // the differences of gradients and of states carry the rounding of the terms, not of the difference
        let hull = max (abs q.Lo.[i]) (abs q.Hi.[i])
        let hullF = max (abs q.LoF.[i]) (abs q.HiF.[i])
        check (pair "a_WW") f.AWW r.AWW 4.0 (k3 * 2.0 * t * hull * q.G1Inf.[i] * q.HS.[i] * q.HS.[i])
        check (pair "a_WV") f.AWV r.AWV 3.0 (k3 * 2.0 * t * hull * q.PS1.[i] * q.HS.[i])
        check (pair "a_VW") f.AVW r.AVW 3.0 (k3 * 2.0 * t * hull * q.PS1.[i] * q.HS.[i])
        check (pair "s1 (forcing hull)") f.S1F r.S1F 1.0 (k3 * 2.0 * t * hullF)
        check (pair "s2 (forcing hull)") f.S2F r.S2F 1.0 (k3 * 2.0 * t * hullF)
    List.ofSeq failures

/// Evaluates one snapshot of a run both ways (with the forcing norms).
let private both (run: Run) (s: int) =
    let ctx = Context.ofRun run
    let ws = Workspace ctx
    let fast = evaluateIn ws true None (run.W s) (run.V s)
    let reference = SplitReference.evaluate ctx true (run.W s) (run.V s)
    ctx, ws.Pass.Pairs, fast, reference

[<ProfiledProperty(12, Replay = "(4242,7717)")>]
let ``SplitPass: a smooth setting at every snapshot → equals the scalar reference within the rounding allowance`` () =
    Prop.forAll smoothArb (fun spec ->
        let run = train (spec.With(vScale = 0.3))
        let bad =
            [ for s in 0 .. run.SnapshotCount - 1 do
                let ctx, q, fast, reference = both run s
                yield! compare ctx q fast reference ]
        bad.IsEmpty |@ sprintf "%s\n%A" (describe spec) (List.truncate 5 bad))

/// The figure-2 shape (L = 64, m = 64, n = 50, d = 16), where the sums are longest.
[<Fact(DisplayName = "SplitPass: figure-2 shape, after 20 iterations → equals the scalar reference within the rounding allowance")>]
let figure2Shape () =
    let spec = RunSpec(Depth = 64, Width = 64, Samples = 50, Dim = 16, Eta = 0.005, Iterations = 20, Snapshots = 2, VScale = 0.3, Seed = 3L)
    let run = train spec
    let ctx, q, fast, reference = both run (run.SnapshotCount - 1)
    Assert.Empty(compare ctx q fast reference)

/// The comparison is sharp at the rounding scale: one entry of E^W_k, or ‖E^V_k‖, moved by twice its allowance (a
/// few hundred units in the last place of the quantity's scale), is rejected.
[<Fact(DisplayName = "SplitPass: one entry of E^W or one norm off by twice the rounding allowance → rejected")>]
let corruption () =
    let run = train (RunSpec(Depth = 16, Width = 12, Samples = 10, Dim = 4, Eta = 0.005, Iterations = 5, Snapshots = 2, VScale = 0.3, Seed = 9L))
    let ctx, q, fast, reference = both run (run.SnapshotCount - 1)
    Assert.Empty(compare ctx q fast reference)
    let md = ctx.Width * ctx.Dim
    let k0 = 7
    let t = tauOf ctx
    let gw = Linalg.frobenius reference.GW (k0 * md) md
    let allowed = 2.0 * t * (reference.Pairs.[k0].EW + 2.0 * gw)
    let ew = Array.copy fast.EWm
    ew.[k0 * md + 3] <- ew.[k0 * md + 3] + 2.0 * allowed
    let bad = compare ctx q { fast with EWm = ew } reference
    Assert.Contains(bad, fun (name, _, _, _) -> name = "‖E^W − E^W_ref‖, pair 8")
    let p = fast.Pairs.[k0]
    let allowedEV = t * 2.0 * p.EV + 2.0 * t * 2.0 * Linalg.frobenius reference.GV (k0 * md) md
    let pairs = Array.copy fast.Pairs
    pairs.[k0] <- { p with EV = p.EV + 2.0 * allowedEV }
    let bad = compare ctx q { fast with Pairs = pairs } reference
    Assert.Contains(bad, fun (name, _, _, _) -> name = "‖E^V‖, pair 8")
    Assert.Equal(1, bad.Length)

/// A copy of a run's data with its own loss and trace arrays (the bump below rewrites them).
let private ownCopy (data: RunData) =
    RunData(Directory = data.Directory, Meta = data.Meta, Shape = data.Shape, Data = data.Data, A = data.A, B = data.B,
            Activation = data.Activation, Eta = data.Eta, Steps = data.Steps, W = Array.copy data.W, V = data.V,
            Losses = Array.copy data.Losses,
            Trace = System.Collections.Generic.Dictionary<string, float[]>(data.Trace |> Seq.map (fun kv -> System.Collections.Generic.KeyValuePair(kv.Key, Array.copy kv.Value))))

/// Bumps one layer of snapshot s by δ (losses and trace rewritten), checks that the integrity checks let it through,
/// and that A.split.segments reports it violated at that snapshot.
let private bumpIsViolated (data: RunData) (s: int) (layer: int) (delta: float) =
    let data = ownCopy data
    SharperBoundsProperties.bumpLayer data s layer delta
    let run = Run(data)
    for r in [ RunIntegrity.snapshotLoss; RunIntegrity.traceConsistency ] do
        let v = (Result.evaluate r run).Verdict
        Assert.True(Verdict.isHolds v, sprintf "%s lets the bump through: %A" r.Id v)
    match (Result.evaluate SplitResults.splitSegments run).Verdict with
    | Violated w -> Assert.Contains(sprintf "iteration %d" data.Steps.[s], w.When)
    | v -> failwithf "A.split.segments: expected Violated, got %A" v

/// The figure-2 setting (L = 64, m = 64, n = 50, d = 16, η = 0.005) over 1000 iterations with snapshots at 0, 500 and
/// 1000: the companion replay certifies only about the first 370 iterations of a segment there (perturbations grow by
/// orders of magnitude), so the segments are covered through the bit-exact claim alone (run.json names this engine
/// build, its vector width and thread count), replayed without the companions. The faithful run holds, and E.replay
/// compares it bit for bit; a layer of the middle snapshot bumped by 1e-12 breaks the claim: E.replay violated; the same
/// run claiming another engine build takes the companion path, which certifies no segment: hypothesis not met.
[<Fact(DisplayName = "A.split.segments: figure-2 setting, segments too long to certify, this engine's build → holds; another build named → hypothesis not met; E.replay: claimed bit-exact, a segment's end bumped by 1e-12 → violated")>]
let figure2Segments () =
    let spec = RunSpec(Depth = 64, Width = 64, Samples = 50, Dim = 16, Eta = 0.005, Iterations = 1000, Snapshots = 3, Seed = 0L)
    let faithful = train spec
    Assert.Equal<int[]>([| 0; 500; 1000 |], faithful.Steps)
    Assert.True(faithful.Evidence.Value.Segments |> Array.forall (fun s -> s.Replay.BitExact), "the claimed run was expected to be replayed without the companions")
    let replay = Result.evaluate ReplayEvidence.replay faithful
    Assert.True(Verdict.isHolds replay.Verdict, sprintf "E.replay on the bit-exact claim: %A" replay.Verdict)
    let e = Result.evaluate SplitResults.splitSegments faithful
    Assert.True(Verdict.isHolds e.Verdict, sprintf "%A" e.Verdict)
    // the snapshot at the end of the first segment: only the bit-exact comparison covers it
    let bumped = ownCopy faithful.Data
    let w1 = Array.copy bumped.W.[1]
    w1.[17] <- w1.[17] + 1e-12
    bumped.W.[1] <- w1
    match (Result.evaluate ReplayEvidence.replay (Run(bumped))).Verdict with
    | Violated w -> Assert.Contains("bit-exact replay", w.Where)
    | v -> failwithf "E.replay: expected Violated, got %A" v
    // another build named: a new view of the same arrays takes the companion path, which cannot certify these segments
    faithful.Data.Meta.EngineBuild <- "commit:another-build"
    let foreign = Run(faithful.Data)
    Assert.True(foreign.Evidence.Value.Segments |> Array.exists (fun s -> not s.Certified && not s.Replay.BitExact), "the companion path was expected to leave a segment uncertified")
    match (Result.evaluate SplitResults.splitSegments foreign).Verdict with
    | HypothesisNotMet why -> Assert.Contains("run.json names engine build commit:another-build", sprintf "%A" why)
    | v -> failwithf "expected hypothesis not met, got %A" v
    Assert.True(Verdict.isHypothesisNotMet (Result.evaluate ReplayEvidence.replay foreign).Verdict, "E.replay: another build named, segments uncertifiable")

/// The paper preset's second figure-2 run (fig2-tied-pl: L = 64, m = 64, n = 50, d = 16, η = 0.005/16), 50 iterations,
/// 5 snapshots: one layer of the middle snapshot bumped by 0.001 is violated by A.split.segments.
[<Fact(DisplayName = "A.split.segments: figure-2 shape (η = 0.005/d), one layer of one snapshot bumped by 0.001, losses and trace rewritten → violated")>]
let figure2ShapeBump () =
    let spec = RunSpec(Depth = 64, Width = 64, Samples = 50, Dim = 16, Eta = 0.0003125, Iterations = 50, Snapshots = 5, Seed = 0L)
    bumpIsViolated (RunDirectory.InMemory(spec.Train())) 2 (spec.Depth / 2) 0.001


/// ‖Z_{k+1} − Z_k‖_F of every pair (index k − 1) of one snapshot's weights, computed here from the arrays.
let private pairIncrements (data: RunData) (s: int) =
    let md = data.Shape.Width * data.Shape.Dim
    let w, v = data.W.[s], data.V.[s]
    Array.init (data.Shape.Depth - 1) (fun k0 ->
        let a = Linalg.frobeniusDiff w ((k0 + 1) * md) w (k0 * md) md
        let b = Linalg.frobeniusDiff v ((k0 + 1) * md) v (k0 * md) md
        sqrt (a * a + b * b))

/// The former comparison, max over pairs of the increments against max over pairs of the bounds (for a mutation test
/// showing what the per-pair comparison adds).
let private compareMaxOnly (run: Run) (bound: float[]) (skipStart: bool) =
    let check measured bound where at : Comparison.Check = { Measured = measured; Bound = bound; Where = where; When = at }
    let sz = run.Trace "smooth_z"
    seq {
        match sz with
        | Some sz ->
            for j in (if skipStart then 1 else 0) .. min (bound.Length - 1) (sz.Length - 1) ->
                check sz.[j] bound.[j] "max_k ‖Z_{k+1} − Z_k‖_F (the verifier's smooth_z column: the replay)" (sprintf "iteration %d (t = %g)" j (float j * run.Setting.Eta))
        | None -> ()
        for s in (if skipStart then 1 else 0) .. run.SnapshotCount - 1 do
            let j = run.Steps.[s]
            if j < bound.Length then
                yield check (run.DepthIncrement s) bound.[j] "max_k ‖Z_{k+1} − Z_k‖_F (snapshot weights)"
                            (sprintf "snapshot %d, iteration %d (t = %g)" s j (run.Time s))
    }

/// The mutation that separates the two comparisons of A.split (docs/theorems/DepthSmoothness.md, "A.split.pairs"). On
/// the figure-1 setting (L = 64, m = 32, n = 100, d = 16, η = 0.01/16, 50 iterations, 5 snapshots) the last layer of
/// the last snapshot is moved along its own increment, Z_L ← Z_{L−1} + c(Z_L − Z_{L−1}): only the pair (L − 1, L)
/// changes, and c puts its increment at the geometric mean of that pair's own bound u_{L−1} and the largest pair bound
/// max_k u_k (taken from the faithful run; the corruption does not move the bounds at the snapshot it corrupts, which are
/// propagated from the snapshot before). Losses and trace are rewritten, so the loss and trace checks let it through;
/// the max-only comparison (max_k‖Δ_k‖ against max_k u_k, the former statement) holds; the per-pair one rejects the pair.
[<Fact(DisplayName = "A.split: last pair's increment raised between its own bound and the largest pair bound, losses and trace rewritten → violated at that pair (max-only comparison holds)")>]
let perPairMutation () =
    let spec = RunSpec(Depth = 64, Width = 32, Samples = 100, Dim = 16, Eta = 0.000625, Iterations = 50, Snapshots = 5, Seed = 0L)
    let faithful = Run(RunDirectory.InMemory(spec.Train()))
    let s = faithful.SnapshotCount - 1
    let u = (SplitResults.bounds faithful).FromZeroPairs.[s]
    let k0 = u.Length - 1
    let uMax = Array.max u
    // the gap the mutation needs: the last pair's bound clearly below the largest (a 1% margin on each side of c)
    Assert.True(u.[k0] * 1.01 < uMax / 1.01, sprintf "last pair's bound %g, largest pair bound %g: no room between them" u.[k0] uMax)
    let data = RunDirectory.InMemory(spec.Train())
    let x = (pairIncrements data s).[k0]
    let c = sqrt (u.[k0] * uMax) / x
    let md = spec.Width * spec.Dim
    let raise (z: float[]) =
        let z = Array.copy z
        for e in 0 .. md - 1 do z.[(k0 + 1) * md + e] <- z.[k0 * md + e] + c * (z.[(k0 + 1) * md + e] - z.[k0 * md + e])
        z
    SharperBoundsProperties.rewriteSnapshot data s (raise data.W.[s]) (raise data.V.[s])
    let after = pairIncrements data s
    Assert.True(after.[k0] > u.[k0] && Array.max after < uMax, sprintf "increment %g, own bound %g, largest increment %g, largest bound %g" after.[k0] u.[k0] (Array.max after) uMax)
    let run = Run(data)
    for r in [ RunIntegrity.snapshotLoss; RunIntegrity.traceConsistency ] do
        let v = (Result.evaluate r run).Verdict
        Assert.True(Verdict.isHolds v, sprintf "%s lets the corruption through: %A" r.Id v)
    let e = Result.evaluate SplitResults.split run
    match e.Verdict with
    | Violated w ->
        Assert.Contains(sprintf "pair k = %d" (k0 + 1), w.Where)
        Assert.Contains(sprintf "iteration %d" data.Steps.[s], w.When)
    | v -> failwithf "A.split: expected Violated at pair %d, got %A" (k0 + 1) v
    // the former comparison on the same bounds: hypotheses met (the verdict above was a comparison), and it holds
    let old = Comparison.evaluation (Rounding.recursionRelOwn run ((SplitResults.bounds run).FromZero.Length - 1) nan) (compareMaxOnly run (SplitResults.bounds run).FromZero true) [] []
    Assert.True(Verdict.isHolds old.Verdict, sprintf "max-only comparison: %A" old.Verdict)

[<Fact(DisplayName = "A.split.segments: this engine's float32 run with an uncertifiable segment → hypothesis not met, saying a float32 run is not replayed bit for bit (it said run.json does not name this engine build)")>]
let float32NotBitExact () =
    let run = train (RunSpec(Depth = 16, Width = 32, Samples = 16, Dim = 8, Eta = 0.02, Iterations = 1000, SnapshotSteps = [| 0; 500; 999; 1000 |], Float32 = true, Seed = 0L))
    match (Result.evaluate SplitResults.splitSegments run).Verdict with
    | HypothesisNotMet why ->
        let text = sprintf "%A" why
        Assert.Contains("the run is float32", text)
        Assert.DoesNotContain("does not name this engine build", text)
    | v -> failwithf "expected hypothesis not met, got %A" v
