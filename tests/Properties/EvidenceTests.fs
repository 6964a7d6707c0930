/// The verifier builds its own evidence (docs/theorems/Evidence.md): runs written by an independent
/// implementation (naive loops below, not the engine) in the documented format, faithful and corrupted,
/// each with the verdicts it must get.
module ResOdeProofs.Properties.EvidenceTests

open System
open System.IO
open Xunit
open ResOdeProofs.Numerics.IO
open ResOdeProofs.Numerics.Training
open System.Text.Json
open ResOdeProofs.Theory

// ---------------------------------------------------------------- an independent producer

/// h_0 = x, h_k = h_{k−1} + (1/L) V_k tanh(W_k h_{k−1}), F = h_L, ℓ = (1/n)Σ‖h_L − y‖²; returns ℓ and G = L·∂ℓ/∂Z.
/// `r` rounds every operation's result (identity for float64, to float32 for a float32 producer).
let lossAndGrad (r: float -> float) (L: int) (m: int) (d: int) (x: float[][]) (y: float[][]) (w: float[]) (v: float[]) =
    let n = x.Length
    let md = m * d
    let gw, gv = Array.zeroCreate (L * md), Array.zeroCreate (L * md)
    let mutable loss = 0.0
    for i in 0 .. n - 1 do
        let hs = Array.zeroCreate (L + 1)
        let us = Array.zeroCreate L
        hs.[0] <- Array.copy x.[i]
        for k in 0 .. L - 1 do
            let h = hs.[k]
            let u = Array.init m (fun a -> Seq.fold (fun acc c -> r (acc + r (w.[k * md + a * d + c] * h.[c]))) 0.0 [ 0 .. d - 1 ])
            us.[k] <- u
            let s = u |> Array.map (fun z -> r (tanh z))
            hs.[k + 1] <- Array.init d (fun c -> r (h.[c] + r ((Seq.fold (fun acc a -> r (acc + r (v.[k * md + c * m + a] * s.[a]))) 0.0 [ 0 .. m - 1 ]) / float L)))
        let res = Array.map2 (fun a b -> r (a - b)) hs.[L] y.[i]
        loss <- r (loss + Array.fold (fun acc z -> r (acc + r (z * z))) 0.0 res)
        let mutable p = res |> Array.map (fun z -> r (2.0 * z / float n))
        for k in L - 1 .. -1 .. 0 do
            let h, u = hs.[k], us.[k]
            let s = u |> Array.map (fun z -> r (tanh z))
            // G^V_k = L·(1/L) p sᵀ, q = (1/L)(V_kᵀ p) ⊙ σ'(u), G^W_k = L q hᵀ
            for c in 0 .. d - 1 do
                for a in 0 .. m - 1 do
                    gv.[k * md + c * m + a] <- r (gv.[k * md + c * m + a] + r (p.[c] * s.[a]))
            let q = Array.init m (fun a -> r (r ((Seq.fold (fun acc c -> r (acc + r (v.[k * md + c * m + a] * p.[c]))) 0.0 [ 0 .. d - 1 ]) / float L) * r (1.0 - r (s.[a] * s.[a]))))
            for a in 0 .. m - 1 do
                for c in 0 .. d - 1 do
                    gw.[k * md + a * d + c] <- r (gw.[k * md + a * d + c] + r (float L * r (q.[a] * h.[c])))
            p <- Array.init d (fun c -> r (p.[c] + Seq.fold (fun acc a -> r (acc + r (w.[k * md + a * d + c] * q.[a]))) 0.0 [ 0 .. m - 1 ]))
    r (loss / float n), gw, gv

/// How the producer updates the weights from G.
type Optimizer =
    | GD
    | Momentum of beta: float
    | Adam
    /// gradient descent on the first half of the samples at even steps, the second half at odd ones
    | MiniBatch

/// A run as a foreign tool would write it.
type Produced =
    { L: int; M: int; D: int; X: float[][]; Y: float[][]; Eta: float
      Steps: int[]; W: float[][]; V: float[][]; Losses: float[] }

let private rng (seed: int) = Random(seed)
let private gauss (g: Random) = sqrt (-2.0 * log (1.0 - g.NextDouble())) * cos (2.0 * Math.PI * g.NextDouble())

/// Data and initial weights: tied (one W for every layer, V = 0) or iid (independent layers, small V).
let setting (seed: int) (L: int) (iid: bool) =
    let m, d, n = 8, 4, 6
    let g = rng seed
    let x = Array.init n (fun _ -> Array.init d (fun _ -> gauss g))
    let y = Array.init n (fun _ -> Array.init d (fun _ -> gauss g))
    let gi = rng (seed + 1000)
    let w1 = Array.init (m * d) (fun _ -> gauss gi / sqrt (float d))
    let w = if iid then Array.init (L * m * d) (fun _ -> gauss gi / sqrt (float d)) else Array.init (L * m * d) (fun i -> w1.[i % (m * d)])
    let v = if iid then Array.init (L * m * d) (fun _ -> 0.3 * gauss gi / sqrt (float m)) else Array.zeroCreate (L * m * d)
    m, d, x, y, w, v

/// Trains N steps and keeps snapshots at `snaps` (weights rounded to the producer's precision by `r`).
let produce (r: float -> float) (opt: Optimizer) (seed: int) (L: int) (iid: bool) (eta: float) (N: int) (snaps: int[]) =
    let m, d, x0, y0, w0, v0 = setting seed L iid
    let x, y = Array.map (Array.map r) x0, Array.map (Array.map r) y0
    let w, v = Array.map r w0, Array.map r v0
    let n = x.Length
    let size = w.Length
    let mw, mv = Array.zeroCreate size, Array.zeroCreate size
    let sw, sv = Array.zeroCreate size, Array.zeroCreate size
    let losses = Array.zeroCreate (N + 1)
    let ws, vs = Collections.Generic.List<float[]>(), Collections.Generic.List<float[]>()
    for j in 0 .. N do
        let loss, gw, gv = lossAndGrad r L m d x y w v
        losses.[j] <- loss
        if Array.contains j snaps then (ws.Add(Array.copy w); vs.Add(Array.copy v))
        if j < N then
            match opt with
            | GD ->
                for i in 0 .. size - 1 do
                    w.[i] <- r (w.[i] - r (eta * gw.[i]))
                    v.[i] <- r (v.[i] - r (eta * gv.[i]))
            | Momentum beta ->
                for i in 0 .. size - 1 do
                    mw.[i] <- beta * mw.[i] + gw.[i]
                    mv.[i] <- beta * mv.[i] + gv.[i]
                    w.[i] <- r (w.[i] - eta * mw.[i])
                    v.[i] <- r (v.[i] - eta * mv.[i])
            | Adam ->
                let b1, b2, t = 0.9, 0.999, float (j + 1)
                let step (z: float[]) (g: float[]) (m1: float[]) (m2: float[]) i =
                    m1.[i] <- b1 * m1.[i] + (1.0 - b1) * g.[i]
                    m2.[i] <- b2 * m2.[i] + (1.0 - b2) * g.[i] * g.[i]
                    z.[i] <- r (z.[i] - 0.01 * (m1.[i] / (1.0 - b1 ** t)) / (sqrt (m2.[i] / (1.0 - b2 ** t)) + 1e-8))
                for i in 0 .. size - 1 do
                    step w gw mw sw i
                    step v gv mv sv i
            | MiniBatch ->
                let half = if j % 2 = 0 then x.[.. n / 2 - 1], y.[.. n / 2 - 1] else x.[n / 2 ..], y.[n / 2 ..]
                let _, bw, bv = lossAndGrad r L m d (fst half) (snd half) w v
                for i in 0 .. size - 1 do
                    w.[i] <- r (w.[i] - eta * bw.[i])
                    v.[i] <- r (v.[i] - eta * bv.[i])
    { L = L; M = m; D = d; X = x; Y = y; Eta = eta; Steps = snaps; W = ws.ToArray(); V = vs.ToArray(); Losses = losses }

let f64 (z: float) = z
let f32 (z: float) = float (float32 z)

// ---------------------------------------------------------------- writing it in the documented format

let private tempDir () =
    let dir = Path.Combine(Path.GetTempPath(), "resode-evidence-" + Guid.NewGuid().ToString("N").Substring(0, 10))
    Directory.CreateDirectory dir |> ignore
    dir

/// Writes the run directory; `float32` stores the arrays as <f4; `json` is run.json verbatim.
let write (p: Produced) (single: bool) (json: string) (extra: string -> unit) =
    let dir = tempDir ()
    let P f = Path.Combine(dir, f)
    let save (f: string) (data: float[]) (shape: int[]) =
        if single then Npy.Write(P f, ReadOnlySpan<float32>(data |> Array.map float32), shape)
        else Npy.Write(P f, ReadOnlySpan<float>(data), shape)
    let n, S = p.X.Length, p.Steps.Length
    save "x.npy" (Array.concat p.X) [| n; p.D |]
    save "y.npy" (Array.concat p.Y) [| n; p.D |]
    save "w.npy" (Array.concat p.W) [| S; p.L; p.M; p.D |]
    save "v.npy" (Array.concat p.V) [| S; p.L; p.D; p.M |]
    Npy.WriteInt64(P "steps.npy", ReadOnlySpan(p.Steps |> Array.map int64), [| S |])
    save "losses.npy" p.Losses [| p.Losses.Length |]
    File.WriteAllText(P "run.json", json)
    extra dir
    dir

let gdJson (eta: float) = sprintf """{"activation": "tanh", "eta": %.17g, "optimizer": "gd", "init": {"kind": "tied"}}""" eta

/// Verdicts by result id.
let verdicts (dir: string) =
    try
        let run = Run.Load dir
        Registry.verifyRun run |> List.map (fun r -> r.Id, r) |> dict
    finally
        Directory.Delete(dir, true)

let verdict (rows: Collections.Generic.IDictionary<string, Registry.VerdictRow>) id = rows.[id].Verdict
let noneViolated (rows: Collections.Generic.IDictionary<string, Registry.VerdictRow>) : string list =
    rows.Values |> Seq.filter (fun r -> r.IsViolated) |> Seq.map (fun r -> sprintf "%s: %s" r.Id r.Detail) |> List.ofSeq

/// The paper's main result must be evaluated (not "hypothesis not met") and hold.
let assertMainResultHolds rows =
    Assert.True((verdict rows "A.aposteriori" = "holds"), sprintf "A.aposteriori: %s" rows.["A.aposteriori"].Detail)
    Assert.True((verdict rows "A.aposteriori.segments" = "holds"), sprintf "A.aposteriori.segments: %s" rows.["A.aposteriori.segments"].Detail)

let L, eta, N, snaps = 8, 0.05, 40, [| 0; 20; 40 |]

/// A step at which the naive producer's float32 run amplifies rounding beyond certification over its whole length.
let chaoticEta = 0.2

// ---------------------------------------------------------------- faithful runs

[<Fact>]
let ``E.*: faithful float64 run of another implementation, no trace → main result evaluated, nothing violated`` () =
    let p = produce f64 GD 1 L false eta N snaps
    let rows = verdicts (write p false (gdJson eta) ignore)
    Assert.Empty(noneViolated rows)
    Assert.Equal("holds", verdict rows "E.replay")
    assertMainResultHolds rows

[<Fact>]
let ``E.*: faithful float32 run without a precision key → precision from the dtype, nothing violated`` () =
    let p = produce f32 GD 2 L false eta N snaps
    let dir = write p true (gdJson eta) ignore
    Assert.Equal("float32", (RunDirectory.Read dir).Meta.Precision)
    let rows = verdicts dir
    Assert.Empty(noneViolated rows)
    Assert.Equal("holds", verdict rows "E.replay")
    Assert.Equal("holds", verdict rows "I.loss")
    assertMainResultHolds rows

// ---------------------------------------------------------------- corrupted runs

/// The last snapshot modified by `f` and the last loss rewritten to match the modified weights.
let corruptLast (f: float[] -> float[] -> unit) (p: Produced) =
    let s = p.Steps.Length - 1
    let w, v = Array.copy p.W.[s], Array.copy p.V.[s]
    f w v
    let loss, _, _ = lossAndGrad f64 p.L p.M p.D p.X p.Y w v
    let losses = Array.copy p.Losses
    losses.[losses.Length - 1] <- loss
    { p with W = Array.append p.W.[.. s - 1] [| w |]; V = Array.append p.V.[.. s - 1] [| v |]; Losses = losses }

let bump (delta: float) (layer: int) (p: Produced) =
    corruptLast (fun w _ -> let md = p.M * p.D in for i in layer * md .. layer * md + md - 1 do w.[i] <- w.[i] + delta) p

let swap (a: int) (b: int) (p: Produced) =
    corruptLast (fun w v ->
        let md = p.M * p.D
        for i in 0 .. md - 1 do
            let t = w.[a * md + i] in w.[a * md + i] <- w.[b * md + i]; w.[b * md + i] <- t
            let t = v.[a * md + i] in v.[a * md + i] <- v.[b * md + i]; v.[b * md + i] <- t) p

let assertCaughtByReplay rows =
    Assert.Equal("VIOLATED", verdict rows "E.replay")
    // no theorem is called violated because of a corrupted file: the per-iterate results lose their hypothesis
    for id in [ "A.aposteriori"; "A.aposteriori.segments" ] do
        Assert.Equal("hypothesis not met", verdict rows id)

[<Fact>]
let ``E.replay: one layer of the last snapshot bumped by 0.005, loss rewritten → violated`` () =
    let p = produce f64 GD 3 L false eta N snaps |> bump 0.005 5
    assertCaughtByReplay (verdicts (write p false (gdJson eta) ignore))

[<Fact>]
let ``E.replay: two layers of the last snapshot swapped, loss rewritten → violated`` () =
    let p = produce f64 GD 4 L false eta N snaps |> swap 2 6
    assertCaughtByReplay (verdicts (write p false (gdJson eta) ignore))

/// The seed of the runs whose trace the tests write.
let seedOfTrace = 5

/// The trace columns E.claims compares, computed by the naive producer at the recorded snapshots and filled between them.
let writeTrace (p: Produced) (edit: string -> float[] -> unit) (dir: string) =
    let t = Directory.CreateDirectory(Path.Combine(dir, "trace")).FullName
    let md = p.M * p.D
    // the naive producer trains again keeping every iterate (same seed as the run: the same trajectory)
    let full = produce f64 GD seedOfTrace p.L false p.Eta (p.Losses.Length - 1) [| 0 .. p.Losses.Length - 1 |]
    let smoothZ (w: float[]) (v: float[]) =
        Seq.max (seq { for k in 0 .. p.L - 2 -> sqrt (Seq.sum (seq { for i in 0 .. md - 1 -> (w.[(k + 1) * md + i] - w.[k * md + i]) ** 2.0 + (v.[(k + 1) * md + i] - v.[k * md + i]) ** 2.0 })) })
    let stepMax j =
        if j + 1 >= full.W.Length then 0.0
        else Seq.max (seq { for k in 0 .. p.L - 1 -> sqrt (Seq.sum (seq { for i in 0 .. md - 1 -> (full.W.[j + 1].[k * md + i] - full.W.[j].[k * md + i]) ** 2.0 + (full.V.[j + 1].[k * md + i] - full.V.[j].[k * md + i]) ** 2.0 })) })
    let n = full.Losses.Length
    let cols =
        [ "loss", Array.copy full.Losses
          "smooth_z", Array.init n (fun j -> smoothZ full.W.[j] full.V.[j])
          "step_max", Array.init n stepMax ]
    for (name, values) in cols do
        edit name values
        Npy.Write(Path.Combine(t, name + ".npy"), ReadOnlySpan<float>(values), [| values.Length |])

[<Fact>]
let ``E.replay: trace forged consistently with a bumped last snapshot → violated`` () =
    let p = produce f64 GD seedOfTrace L false eta N snaps
    let bumped = p |> bump 0.005 3
    let forge name (values: float[]) =
        let last = values.Length - 1
        let s = bumped.Steps.Length - 1
        match name with
        | "loss" -> values.[last] <- bumped.Losses.[last]
        | "smooth_z" ->
            let md = p.M * p.D
            let w, v = bumped.W.[s], bumped.V.[s]
            values.[last] <- Seq.max (seq { for k in 0 .. p.L - 2 -> sqrt (Seq.sum (seq { for i in 0 .. md - 1 -> (w.[(k + 1) * md + i] - w.[k * md + i]) ** 2.0 + (v.[(k + 1) * md + i] - v.[k * md + i]) ** 2.0 })) })
        | _ -> ()
    let rows = verdicts (write bumped false (gdJson eta) (writeTrace p forge))
    assertCaughtByReplay rows

[<Fact>]
let ``E.claims: trace column disagreeing with the weights → violated, both values reported`` () =
    let p = produce f64 GD seedOfTrace L false eta N snaps
    let forge name (values: float[]) = if name = "smooth_z" then values.[N / 2 + 3] <- values.[N / 2 + 3] * 0.5
    let rows = verdicts (write p false (gdJson eta) (writeTrace p forge))
    Assert.Equal("holds", verdict rows "E.replay")
    Assert.Equal("VIOLATED", verdict rows "E.claims")
    Assert.Contains("claimed", rows.["E.claims"].Detail)
    Assert.Contains("verified", rows.["E.claims"].Detail)

[<Fact>]
let ``E.claims: faithful trace of another implementation → holds`` () =
    let p = produce f64 GD seedOfTrace L false eta N snaps
    let rows = verdicts (write p false (gdJson eta) (writeTrace p (fun _ _ -> ())))
    Assert.Equal("holds", verdict rows "E.claims")
    Assert.Empty(noneViolated rows)

[<Fact>]
let ``E.init: i.i.d. layers labelled tied with Lipschitz constant 0 → violated`` () =
    let p = produce f64 GD 6 L true eta N snaps
    let json = sprintf """{"activation": "tanh", "eta": %.17g, "init": {"kind": "tied", "lipschitz_w": 0, "lipschitz_v": 0}}""" eta
    let rows = verdicts (write p false json ignore)
    Assert.Equal("VIOLATED", verdict rows "E.init")
    Assert.Contains("measured", rows.["E.init"].Detail)
    // the a posteriori results use the measured initial smoothness and still hold
    assertMainResultHolds rows

[<Fact>]
let ``E.claims: clip_fraction 7, 0.5 on plain gradient descent, 0.6 of 4 layers on clipped GD, 0.25 for the recorded fraction on the bit-exact path, 0 at a decided snapshot of another producer's run → violated; the engine's own columns, and 0.25 between another producer's snapshots, hold`` () =
    let claimsOf (foreign: bool) (clip: float option) (edit: (float[] -> unit) option) =
        let spec = ResOdeProofs.Numerics.Training.RunSpec(Depth = 4, Width = 4, Samples = 5, Dim = 3, Eta = 0.01, Iterations = 6, Snapshots = 3, Seed = 3L,
                           Clip = Option.toNullable clip)
        let data = RunDirectory.InMemory(spec.Train())
        if foreign then data.Meta.EngineBuild <- "content:0000000000000000"
        edit |> Option.iter (fun f -> f data.Trace.["clip_fraction"])
        (Result.evaluate ReplayEvidence.claims (Run(data))).Verdict
    let claimsWith = claimsOf false
    Assert.True(Verdict.isHolds (claimsWith None None))
    Assert.True(Verdict.isHolds (claimsWith (Some 0.5) None))
    for clip, value in [ None, 7.0; None, 0.5; Some 0.5, 0.6; Some 0.5, 1.25 ] do
        let v = claimsWith clip (Some(fun c -> c.[1] <- value))
        Assert.True(Verdict.isViolated v, sprintf "clip %A, clip_fraction %g: %A" clip value v)
    // a fraction of the layers on clipped GD other than the one recorded: compared exactly on the bit-exact path (the
    // producer's own update repeated), not on another producer's run (the count jumps at the radius under its rounding)
    Assert.True(Verdict.isViolated (claimsWith (Some 0.5) (Some(fun c -> c.[1] <- 0.25))))
    Assert.True(Verdict.isHolds (claimsOf true (Some 0.5) (Some(fun c -> c.[1] <- 0.25))))
    // …except at a snapshot iterate where every layer's ‖G_k‖ is decided against the radius (C = 10⁻⁴: every layer clipped)
    Assert.True(Verdict.isHolds (claimsOf true (Some 1e-4) None))
    Assert.True(Verdict.isViolated (claimsOf true (Some 1e-4) (Some(fun c -> c.[0] <- 0.0))))

/// Another producer's float32 run at trained weights: the gradients' rounding allowance of float32 exceeds the verified
/// gradient columns themselves (pl_ratio by 10¹³), so a claim within a factor 2 of the truth is not told from it there. The
/// row held without a word (a PyTorch user read it as the columns verified); its note now counts those comparisons. The
/// same run in float64 has none.
[<Fact>]
let ``E.claims: another producer's float32 run at trained weights → a note counts the comparisons whose allowance is at least the verified value; float64 → no such note`` () =
    let notes f32 =
        let spec = ResOdeProofs.Numerics.Training.RunSpec(Depth = 16, Width = 16, Samples = 24, Dim = 8, Eta = 0.01, Iterations = 200, Snapshots = 9, Seed = 0L, Float32 = f32)
        let data = RunDirectory.InMemory(spec.Train())
        data.Meta.EngineBuild <- "content:0000000000000000"
        let e = Result.evaluate ReplayEvidence.claims (Run(data))
        Assert.True(Verdict.isHolds e.Verdict, sprintf "%A" e.Verdict)
        e.Notes
    Assert.Contains(notes true, fun n -> n.Contains "within an allowance at least the verified value itself")
    Assert.DoesNotContain(notes false, fun n -> n.Contains "within an allowance at least the verified value itself")

[<Fact>]
let ``E.claims: this engine's diverged run whose gradient norm overflows while its loss is finite → not violated, the overflow noted; +∞ claimed where the verifier's value is finite → violated`` () =
    let spec = ResOdeProofs.Numerics.Training.RunSpec(Depth = 4, Width = 4, Samples = 8, Dim = 4, Eta = 100.0, Iterations = 10, Seed = 0L)
    let data = RunDirectory.InMemory(spec.Train())
    Assert.Contains(infinity, data.Trace.["grad_norm"])
    let e = Result.evaluate ReplayEvidence.claims (Run(data))
    Assert.False(Verdict.isViolated e.Verdict, sprintf "%A" e.Verdict)
    Assert.Contains(e.Notes, fun n -> n.Contains "not compared, as overflows" && n.Contains "grad_norm")
    // the same claim on a faithful run, where the verifier's own grad_norm is finite: a false claim
    let faithful = RunDirectory.InMemory(ResOdeProofs.Numerics.Training.RunSpec(Depth = 4, Width = 4, Samples = 8, Dim = 4, Eta = 0.01, Iterations = 10, Snapshots = 3, Seed = 0L).Train())
    faithful.Trace.["grad_norm"].[3] <- infinity
    Assert.True(Verdict.isViolated (Result.evaluate ReplayEvidence.claims (Run(faithful))).Verdict)

/// A diverged run's last iterate (its loss not finite) may hold NaN in every trace column (docs/run-format.md, "Errors"):
/// a NumPy producer that writes the whole row of the overflowing iterate as NaN was VIOLATED by the identity between
/// consecutive smoothness claims and step_max, whose last pair reached that iterate. A NaN at an iterate whose loss is
/// finite is still a false claim.
[<Fact>]
let ``E.claims: a diverged run with NaN in every trace column at its last iterate → not violated; NaN in the smoothness column at an earlier iterate → violated`` () =
    let diverged () =
        let d = RunDirectory.InMemory(ResOdeProofs.Numerics.Training.RunSpec(Depth = 4, Width = 4, Samples = 8, Dim = 4, Eta = 100.0, Iterations = 10, Seed = 0L).Train())
        Assert.True(d.Diverged, "the run diverged")
        d
    let d = diverged ()
    let last = d.Losses.Length - 1
    Assert.False(Double.IsFinite d.Losses.[last])
    for c in d.Trace.Values do if c.Length > last then c.[last] <- nan
    let e = Result.evaluate ReplayEvidence.claims (Run(d))
    Assert.False(Verdict.isViolated e.Verdict, sprintf "%A" e.Verdict)
    let early = diverged ()
    early.Trace.["smooth_z"].[1] <- nan
    Assert.True(Verdict.isViolated (Result.evaluate ReplayEvidence.claims (Run(early))).Verdict)

/// The MLP's form of the block test in GenericReplayProperties.fs: targets at the outputs of θ⁰ (V⁰ ≠ 0) make the adjoints
/// cancel; a producer whose outputs are one ulp off records adjoints of that size where this engine's are its own rounding.
[<Fact>]
let ``E.claims: another producer's MLP run whose targets are its outputs at θ⁰, adjoint_sum_max of outputs one ulp off → holds; claimed 10⁻⁸ there → violated`` () =
    let spec = ResOdeProofs.Numerics.Training.RunSpec(Depth = 4, Width = 4, Samples = 5, Dim = 3, VScale = 0.3, Eta = 0.01, Iterations = 3, Snapshots = 4, Seed = 2L)
    let data = spec.Data()
    let init = spec.InitialWeights()
    // the outputs by the generic pass of the MLP block (another summation order than the engine's kernels)
    let net = ResOdeProofs.Numerics.Training.GenericResNet(spec.Block(), spec.Depth, data, null, null)
    net.Evaluate(ReadOnlySpan(init.Theta), Span(Array.zeroCreate init.Theta.Length)) |> ignore
    let n, d = data.Count, spec.Dim
    let outputs = net.HiddenStates.Slice(spec.Depth * n * d, n * d).ToArray()
    let atOutputs = ResOdeProofs.Numerics.Model.Dataset(n, d, d, data.X, outputs)
    let ulpSum = (2.0 / float n) * Seq.sum (seq { for i in 0 .. n - 1 -> sqrt (Seq.sum (seq { for r in 0 .. d - 1 -> let x = outputs.[i * d + r] in (Math.BitIncrement x - x) ** 2.0 })) })
    let foreign (claim: float) =
        let dir = RunDirectory.InMemory(ResOdeProofs.Numerics.Training.Trainer.Train(spec.Shape, atOutputs, init, spec.Options(), spec.Seed, "y = F(x) at θ⁰"))
        dir.Meta.EngineBuild <- "content:0000000000000000"
        dir.Trace.["adjoint_sum_max"].[0] <- claim
        Result.evaluate ReplayEvidence.claims (Run(dir))
    let faithful = foreign ulpSum
    Assert.True(Verdict.isHolds faithful.Verdict, sprintf "%A %A" faithful.Verdict faithful.Notes)
    Assert.True(Verdict.isViolated (foreign 1e-8).Verdict)

/// A run at an interpolating minimum from the start (V⁰ = 0, targets = inputs: ℓ ≡ 0, G ≡ 0): its pl_ratio is 0/0 at every
/// iterate, so a claimed pl_ratio is not compared there (the row said "the bound is Infinity … (it overflowed)" and was
/// hypothesis not met); the row is decided by the other columns, and a false claim in one of them is still VIOLATED.
[<Fact>]
let ``E.claims: a run at loss 0 throughout (V⁰ = 0, y = x) with pl_ratio claimed 10⁶ → holds, the 0/0 ratio noted as not compared; w_fro_max doubled → violated`` () =
    let spec = ResOdeProofs.Numerics.Training.RunSpec(Depth = 4, Width = 4, Samples = 5, Dim = 3, VScale = 0.0, Eta = 0.01, Iterations = 4, Snapshots = 3, Seed = 1L)
    let x = spec.Data().X
    let data = ResOdeProofs.Numerics.Model.Dataset(5, 3, 3, x, Array.copy x)
    let record () = ResOdeProofs.Numerics.Training.Trainer.Train(spec.Shape, data, spec.InitialWeights(), spec.Options(), spec.Seed, "y = x")
    let d = RunDirectory.InMemory(record ())
    Assert.True(d.Losses |> Array.forall (fun l -> l = 0.0))
    for j in 0 .. d.Trace.["pl_ratio"].Length - 1 do d.Trace.["pl_ratio"].[j] <- 1e6
    let e = Result.evaluate ReplayEvidence.claims (Run(d))
    Assert.True(Verdict.isHolds e.Verdict, sprintf "%A" e.Verdict)
    Assert.Contains(e.Notes, fun n -> n.Contains "0/0")
    let bad = RunDirectory.InMemory(record ())
    for j in 0 .. bad.Trace.["w_fro_max"].Length - 1 do bad.Trace.["w_fro_max"].[j] <- 2.0 * bad.Trace.["w_fro_max"].[j]
    Assert.True(Verdict.isViolated (Result.evaluate ReplayEvidence.claims (Run(bad))).Verdict)

[<Fact>]
let ``E.replay: another producer's run labelled η = 10¹²·η (its replay leaves the finite numbers) → hypothesis not met naming the declared η as the claim to doubt`` () =
    let p = produce f64 GD 7 L false eta N snaps
    let rows = verdicts (write p false (gdJson (eta * 1e12)) ignore)
    Assert.Equal("hypothesis not met", verdict rows "E.replay")
    Assert.True(rows.["E.replay"].Detail.Contains(sprintf "with the declared η = %g left the finite numbers while the recorded run stayed finite" (eta * 1e12)), rows.["E.replay"].Detail)

/// The declared scales are claims about snapshot 0's entries (their standard deviation, as the engine draws them): a tied
/// run labelled scale 5 (drawn at 1), or v_scale 0.3 on V(0) = 0, or scale 0 on nonzero W, is VIOLATED (they held); the
/// faithful labels of every kind hold (their χ² statistic within the Laurent–Massart bounds at x = 40; with the 512 entries
/// of one 32×16 layer a scale off by 5 is far outside them).
[<Fact>]
let ``E.init: declared scale 5 on entries drawn at 1, v_scale 0.3 on V(0) = 0, scale 0 on a drawn W → violated; faithful tied, iid, smooth labels → hold`` () =
    let spec kind = ResOdeProofs.Numerics.Training.RunSpec(Depth = 6, Width = 32, Samples = 5, Dim = 16, Init = kind, Scale = 1.0, VScale = 0.0, Eta = 0.01, Iterations = 2, Seed = 4L)
    for kind in [ ResOdeProofs.Numerics.Training.InitKind.Tied; ResOdeProofs.Numerics.Training.InitKind.Iid; ResOdeProofs.Numerics.Training.InitKind.Smooth ] do
        let d = RunDirectory.InMemory((spec kind).Train())
        Assert.True(Verdict.isHolds (Result.evaluate Evidence.init (Run(d))).Verdict, sprintf "%A faithful" kind)
    for edit in [ (fun (i: ResOdeProofs.Numerics.IO.InitMetadata) -> i.Scale <- Nullable 5.0)
                  (fun i -> i.VScale <- Nullable 0.3)
                  (fun i -> i.Scale <- Nullable 0.0) ] do
        let d = RunDirectory.InMemory((spec ResOdeProofs.Numerics.Training.InitKind.Tied).Train())
        edit d.Meta.Init
        let e = Result.evaluate Evidence.init (Run(d))
        Assert.True(Verdict.isViolated e.Verdict, sprintf "%A" e.Verdict)

/// An MLP run written as another producer following docs/run-format.md would: the engine's smooth run (L = 6, m = 8, n = 5,
/// d = 4) as theta.npy with the MLP's layout (`thetaFile`) or as w.npy and v.npy without "architecture", its run.json's
/// "init" given verbatim; the engine's own declared constants are returned beside it (lipschitz_w, lipschitz_v, scale).
let private mlpWrittenWith (thetaFile: bool) (init: float -> float -> float -> string) (trace: RunData -> (string * float[]) list) =
    let spec = RunSpec(Depth = 6, Width = 8, Samples = 5, Dim = 4, Init = InitKind.Smooth, Eta = 0.01, Iterations = 2, Seed = 3L)
    let d = RunDirectory.InMemory(spec.Train())
    let L, m, dd, S = 6, 8, 4, d.Steps.Length
    let dir = tempDir ()
    let P f = Path.Combine(dir, f)
    Npy.Write(P "x.npy", ReadOnlySpan<float>(d.Data.X), d.Data.Count, dd)
    Npy.Write(P "y.npy", ReadOnlySpan<float>(d.Data.Y), d.Data.Count, dd)
    if thetaFile then
        // θ_k = (W_k, V_k) row-major, one layer after the other
        let theta = [| for s in 0 .. S - 1 do for k in 0 .. L - 1 do yield! d.W.[s].[k * m * dd .. (k + 1) * m * dd - 1]; yield! d.V.[s].[k * m * dd .. (k + 1) * m * dd - 1] |]
        Npy.Write(P "theta.npy", ReadOnlySpan<float>(theta), S, L, 2 * m * dd)
    else
        Npy.Write(P "w.npy", ReadOnlySpan<float>(Array.concat d.W), S, L, m, dd)
        Npy.Write(P "v.npy", ReadOnlySpan<float>(Array.concat d.V), S, L, dd, m)
    Npy.WriteInt64(P "steps.npy", ReadOnlySpan<int64>(d.Steps |> Array.map int64), S)
    Npy.Write(P "losses.npy", ReadOnlySpan<float>(d.Losses), d.Losses.Length)
    let lw, lv, scale = d.Meta.Init.LipschitzW.Value, d.Meta.Init.LipschitzV.Value, d.Meta.Init.Scale.Value
    let arch = if thetaFile then sprintf """, "architecture": {"name": "mlp", "layout": [["W", [%d, %d]], ["V", [%d, %d]]], "hyper": {"width": %d}}""" m dd dd m m else ""
    // init.modes: the variance factor of the smooth draw, which a scale claim of kind 'smooth' needs
    let init = (init lw lv scale).Replace("\"kind\": \"smooth\"", sprintf "\"kind\": \"smooth\", \"modes\": %d" d.Meta.Init.Modes.Value)
    File.WriteAllText(P "run.json", sprintf """{"activation": "gelu", "eta": 0.01, "precision": "float64", "init": %s%s}""" init arch)
    match trace d with
    | [] -> ()
    | columns ->
        Directory.CreateDirectory(P "trace") |> ignore
        for (name, values) in columns do Npy.Write(Path.Combine(dir, "trace", name + ".npy"), ReadOnlySpan<float>(values), values.Length)
    dir

let private mlpWritten thetaFile init = mlpWrittenWith thetaFile init (fun _ -> [])

/// An MLP run may give its initialization constants by part name (init.lipschitz_parts, init.scales), the spelling of any
/// block and of an MLP written as theta.npy: E.init checks them as lipschitz_w, lipschitz_v and scale. Until 2026-12-08 they
/// were dropped (E.init "not applicable: run.json declares no initialization constants", whatever they said).
[<Fact>]
let ``E.init: an MLP run written as theta.npy declaring lipschitz_parts or scales by part name → checked: the engine's own constants hold, W's bound at a thousandth of its own or scales W = 0.05 (the draw's is 1) → violated`` () =
    let initEval thetaFile init = Result.evaluate Evidence.init (Run(RunDirectory.Read(mlpWritten thetaFile init)))
    for thetaFile in [ true; false ] do
        let faithful = initEval thetaFile (fun lw lv scale -> sprintf """{"kind": "smooth", "lipschitz_parts": {"W": %.17g, "V": %.17g}, "scales": {"W": %.17g, "V": 0}}""" lw lv scale)
        Assert.True(Verdict.isHolds faithful.Verdict, sprintf "%b faithful: %A" thetaFile faithful.Verdict)
        // the engine's declared bound for W divided by 1 000: below snapshot 0's largest increment of W
        let understated = initEval thetaFile (fun lw lv _ -> sprintf """{"kind": "smooth", "lipschitz_parts": {"W": %.17g, "V": %.17g}}""" (lw / 1000.0) lv)
        Assert.True(Verdict.isViolated understated.Verdict, sprintf "%b understated: %A" thetaFile understated.Verdict)
        Assert.Contains("lipschitz_w", sprintf "%A" understated.Verdict)
        // (a scale claimed too small: 32 entries of one layer cannot reject one claimed too large at e^{-40})
        let scaled = initEval thetaFile (fun _ _ _ -> """{"kind": "smooth", "scales": {"W": 0.05, "V": 0}}""")
        Assert.True(Verdict.isViolated scaled.Verdict, sprintf "%b scale 0.05: %A" thetaFile scaled.Verdict)

/// A scale claim E.init cannot compare (a 'smooth' draw without init.modes: its variance factor is unknown) is named, not
/// counted as "no initialization constants" (which the row said until 2026-12-08); beside other claims it is a note.
[<Fact>]
let ``E.init: scales declared for a smooth draw without init.modes → not applicable naming the missing modes; beside a Lipschitz claim → that claim compared, the scales named in a note`` () =
    let initEval init = Result.evaluate Evidence.init (Run(RunDirectory.Read(mlpWritten true init)))
    // mlpWritten adds init.modes where run.json spells "kind": "smooth" with a space; without the space it is left out
    let written (lip: string) = sprintf """{"kind":"smooth", "scales": {"W": 0.05}%s}""" lip
    let scalesOnly = initEval (fun _ _ _ -> written "")
    match scalesOnly.Verdict with
    | NotApplicable why -> Assert.Contains("without init.modes", why)
    | v -> failwithf "scales only: %A" v
    let withLipschitz = initEval (fun lw lv _ -> written (sprintf """, "lipschitz_parts": {"W": %.17g, "V": %.17g}""" lw lv))
    Assert.True(Verdict.isHolds withLipschitz.Verdict, sprintf "%A" withLipschitz.Verdict)
    Assert.Contains(withLipschitz.Notes, fun n -> n.Contains "without init.modes")

/// An MLP run written as theta.npy may name its trace columns as any block's run does (docs/run-format.md): smooth_theta,
/// smooth_W, smooth_V, fro_max_W and fro_max_V are the MLP's smooth_z, smooth_w, smooth_v, w_fro_max and v_fro_max and are
/// compared as those; a column no comparison reads (a block's grad_max, theta_fro_max) is named in a note. Until
/// 2026-12-08 nothing read them: smooth_theta ten times its value held without a word.
[<Fact>]
let ``E.claims: an MLP run written as theta.npy with a block's column names → compared under the MLP's (faithful holds, smooth_theta × 10 → violated); grad_max, which nothing reads → named in a note`` () =
    let spelled (scale: float) (d: RunData) =
        let t name = d.Trace.[name]
        [ "loss", t "loss"; "smooth_theta", t "smooth_z" |> Array.map (fun x -> x * scale); "smooth_W", t "smooth_w"; "smooth_V", t "smooth_v"
          "fro_max_W", t "w_fro_max"; "fro_max_V", t "v_fro_max"; "step_max", t "step_max"; "grad_max", t "grad_w_max" ]
    let claimsOf scale =
        let run = Run(RunDirectory.Read(mlpWrittenWith true (fun lw lv _ -> sprintf """{"kind": "smooth", "lipschitz_parts": {"W": %.17g, "V": %.17g}}""" lw lv) (spelled scale)))
        Result.evaluate ReplayEvidence.claims run, Result.evaluate RunIntegrity.traceConsistency run
    let faithful, traceRow = claimsOf 1.0
    Assert.True(Verdict.isHolds faithful.Verdict, sprintf "%A" faithful.Verdict)
    Assert.True(Verdict.isHolds traceRow.Verdict, sprintf "I.trace: %A" traceRow.Verdict)
    Assert.Contains(faithful.Notes, fun n -> n.Contains "no comparison reads, not compared: grad_max (")
    let forged, _ = claimsOf 10.0
    Assert.True(Verdict.isViolated forged.Verdict, sprintf "%A" forged.Verdict)
    Assert.Contains("smooth_z", sprintf "%A" forged.Verdict)

[<Fact>]
let ``E.claims: an MLP run whose only trace columns have names no comparison reads (grad_max, theta_fro_max) → not applicable naming them, not "the run records no trace columns"`` () =
    let run =
        Run(RunDirectory.Read(mlpWrittenWith true (fun lw lv _ -> sprintf """{"kind": "smooth", "lipschitz_parts": {"W": %.17g, "V": %.17g}}""" lw lv)
                (fun d -> [ "grad_max", d.Trace.["grad_w_max"]; "theta_fro_max", d.Trace.["w_fro_max"] ])))
    match (Result.evaluate ReplayEvidence.claims run).Verdict with
    | NotApplicable why ->
        Assert.Contains("only grad_max, theta_fro_max, which no comparison reads", why)
        Assert.DoesNotContain("records no trace columns", why)
    | v -> failwithf "%A" v

[<Fact>]
let ``RunDirectory.Read: an MLP run giving one constant under both spellings with two values, or lipschitz_parts naming a part the MLP has not → refused naming both keys or the parts`` () =
    let refused thetaFile init = Assert.Throws<RunFormatException>(fun () -> RunDirectory.Read(mlpWritten thetaFile init) |> ignore).Message
    let twice = refused true (fun lw lv _ -> sprintf """{"kind": "smooth", "lipschitz_w": %.17g, "lipschitz_parts": {"W": %.17g, "V": %.17g}}""" lw (2.0 * lw) lv)
    Assert.Contains("\"init.lipschitz_w\"", twice)
    Assert.Contains("\"init.lipschitz_parts\" gives W", twice)
    let scaleTwice = refused false (fun _ _ _ -> """{"kind": "smooth", "scale": 1, "scales": {"W": 2}}""")
    Assert.Contains("\"init.scale\"", scaleTwice)
    let misnamed = refused false (fun lw _ _ -> sprintf """{"kind": "smooth", "lipschitz_parts": {"w": %.17g}}""" lw)
    Assert.Contains("names w, which is not a part of the MLP (its parts: W, V)", misnamed)
    // the same constant under both spellings with one value is read once
    let same = RunDirectory.Read(mlpWritten true (fun lw lv _ -> sprintf """{"kind": "smooth", "lipschitz_w": %.17g, "lipschitz_parts": {"W": %.17g, "V": %.17g}}""" lw lw lv))
    Assert.True(same.Meta.Init.LipschitzW.HasValue && isNull same.Meta.Init.LipschitzParts)

[<Fact>]
let ``Hypothesis 'run not diverged': status diverged with every recorded loss finite → names run.json's status; this engine's diverged run → names the non-finite iterates`` () =
    let spec eta = ResOdeProofs.Numerics.Training.RunSpec(Depth = 4, Width = 4, Samples = 8, Dim = 4, Eta = eta, Iterations = 10, Seed = 0L)
    let labelled = RunDirectory.InMemory((spec 0.01).Train())
    labelled.Meta.Status <- "diverged"
    labelled.Meta.DivergedAt <- Nullable(labelled.Losses.Length - 1)
    let why (d: RunData) = match (snd Hypotheses.notDiverged) (Run(d)) with NotMet w -> w | Met m -> failwithf "met: %s" m
    Assert.Contains("run.json says \"status\": \"diverged\"", why labelled)
    Assert.Contains("not finite", why (RunDirectory.InMemory((spec 100.0).Train())))

// ---------------------------------------------------------------- other optimizers

let otherOptimizer (opt: Optimizer) (name: string) =
    let p = produce f64 opt 7 L false eta N snaps
    let json = sprintf """{"activation": "tanh", "eta": %.17g, "optimizer": "%s"}""" eta name
    let rows = verdicts (write p false json ignore)
    Assert.Empty(noneViolated rows)
    Assert.Equal("hypothesis not met", verdict rows "E.replay")
    Assert.Contains("not plain gradient descent", rows.["E.replay"].Detail)
    Assert.Contains("differs from a gradient-descent replay", rows.["E.replay"].Detail)
    for id in [ "A.aposteriori"; "A.aposteriori.segments" ] do
        Assert.Equal("hypothesis not met", verdict rows id)
    // results at fixed weights still apply
    for id in [ "L1.hidden"; "L3.adjoint"; "L5.gradient-difference"; "I.loss" ] do
        Assert.Equal("holds", verdict rows id)
    // the PL results name the optimizer (they said "the clip was active at some update" of a run with no clip)
    Assert.Equal("hypothesis not met", verdict rows "C.gdDecay")
    Assert.Contains(sprintf "optimizer %s: not plain gradient descent" name, rows.["C.gdDecay"].Detail)
    Assert.DoesNotContain("clip", rows.["C.gdDecay"].Detail)

[<Fact>]
let ``E.*: Adam run → hypothesis not met (not plain gradient descent), no theorem violated`` () = otherOptimizer Adam "adam"

[<Fact>]
let ``E.*: momentum run → hypothesis not met (not plain gradient descent)`` () = otherOptimizer (Momentum 0.9) "momentum"

[<Fact>]
let ``E.*: mini-batch run → hypothesis not met (not plain gradient descent)`` () = otherOptimizer MiniBatch "sgd"

[<Fact>]
let ``A.flow: an adam, sgd or momentum run → not applicable, "this is an adam run", "an sgd run", "a momentum run" (it said "a adam run")`` () =
    for opt, name, says in [ Adam, "adam", "an adam run"; MiniBatch, "sgd", "an sgd run"; Momentum 0.9, "momentum", "a momentum run" ] do
        let p = produce f64 opt 7 L false eta N snaps
        let json = sprintf """{"activation": "tanh", "eta": %.17g, "optimizer": "%s"}""" eta name
        let rows = verdicts (write p false json ignore)
        Assert.Contains(sprintf "this is %s (see" says, rows.["A.flow"].Detail)

[<Fact>]
let ``I.update: Adam run with consecutive snapshots → hypothesis not met naming the optimizer (its own faithful step was VIOLATED)`` () =
    let p = produce f64 Adam 7 L false eta N [| 0; 20; 21; 40 |]
    let json = sprintf """{"activation": "tanh", "eta": %.17g, "optimizer": "adam"}""" eta
    let rows = verdicts (write p false json ignore)
    Assert.Empty(noneViolated rows)
    Assert.Equal("hypothesis not met", verdict rows "I.update")
    Assert.Contains("not plain gradient descent (run.json optimizer 'adam')", rows.["I.update"].Detail)
    // the same steps labelled gd: I.update compares them (an Adam step is not one gradient step)
    let labelled = verdicts (write p false (gdJson eta) ignore)
    Assert.Equal("VIOLATED", verdict labelled "I.update")

[<Fact>]
let ``E.*: Adam run labelled gd → integrity check violated, no theorem violated`` () =
    let p = produce f64 Adam 8 L false eta N snaps
    let rows = verdicts (write p false (gdJson eta) ignore)
    assertCaughtByReplay rows
    let theorems = noneViolated rows |> List.filter (fun s -> not (s.StartsWith "E." || s.StartsWith "I."))
    Assert.Empty(theorems)

// ---------------------------------------------------------------- ladders

let ladderRun (seed: int) (depth: int) =
    let p = produce f64 GD seed depth false eta 10 [| 0; 10 |]
    let dir = write p false (gdJson eta) ignore
    let run = Run.Load dir
    Directory.Delete(dir, true)
    run

[<Fact>]
let ``Ladder: one initialization and data → accepted; mixed → refused`` () =
    let ok = Evidence.checkLadder [ ladderRun 9 4; ladderRun 9 8 ]
    Assert.True(ok.IsOk, sprintf "%A" ok)
    let mixed = Evidence.checkLadder [ ladderRun 9 4; ladderRun 19 8 ]
    match mixed with
    | Error e -> Assert.Contains("not a ladder", e)
    | Ok () -> failwith "a ladder of runs with different seeds (data and initialization) was accepted"

/// η derived by each producer from its learning rate carries that division's rounding, which differs with L: rungs whose η
/// differ in the last bit are one ladder (a user's learning_rate/(L·c) gave 0.003 and 0.0030000000000000005 and the ladder was
/// refused); a real difference of η is still refused.
[<Fact>]
let ``Ladder: η of two rungs one ulp apart → accepted; 10⁻⁹ apart → refused, both values printed in full`` () =
    let rung (e: float) depth =
        let p = produce f64 GD 9 depth false eta 10 [| 0; 10 |]
        let dir = write p false (gdJson e) ignore
        let run = Run.Load dir
        Directory.Delete(dir, true)
        run
    let ulp = Math.BitIncrement eta
    let near = Evidence.checkLadder [ rung eta 4; rung ulp 8 ]
    Assert.True(near.IsOk, sprintf "%A" near)
    match Evidence.checkLadder [ rung eta 4; rung (eta * (1.0 + 1e-9)) 8 ] with
    | Error e -> Assert.Contains(sprintf "η %.17g vs %.17g" eta (eta * (1.0 + 1e-9)), e)
    | Ok () -> failwith "rungs of different η were accepted"

// ---------------------------------------------------------------- foreign formats

[<Fact>]
let ``run format: the documented exporter's files (init string, mean-over-entries loss, learning rate, float32) → read`` () =
    let p = produce f32 GD 10 L false eta N snaps
    // the exporter writes the loss as a mean over the n·d entries and the tool's own learning rate lr = η·L·d_out
    let pm = { p with Losses = p.Losses |> Array.map (fun l -> float (float32 (l / float p.D))) }
    let lr = eta * float L * float p.D
    let json = sprintf """{"activation": "tanh", "learning_rate": %.17g, "loss": "mean-over-entries", "init": "tied"}""" lr
    let dir = write pm true json ignore
    let data = RunDirectory.Read dir
    Assert.Equal("tied", data.Meta.Init.Kind)
    Assert.Equal("float32", data.Meta.Precision)
    Assert.Equal(eta, data.Eta, 12)
    let rows = verdicts dir
    Assert.Empty(noneViolated rows)
    Assert.Equal("holds", verdict rows "E.replay")
    assertMainResultHolds rows

/// A run of this engine (a one-layer block, d_out = 3: not a power of two) relabelled "mean-over-entries" with its losses and
/// trace loss column divided by 3 (a user's test): the reader multiplies them back, one more rounding, and E.claims compared
/// them with the bit-exact replay's allowance 0 and was VIOLATED (4.4·10⁻¹⁶ against 0). The conversion's two roundings are now
/// the losses' storage allowance; a loss moved by 10⁻¹² of itself is still caught.
[<Fact>]
let ``run format: a run of this engine relabelled mean-over-entries (d_out = 3) → no violation (the conversion's two roundings allowed); a loss moved by 10⁻¹² of itself → violated`` () =
    let spec = RunSpec(Architecture = "one-layer", Depth = 10, Samples = 6, Dim = 3, Eta = 0.007, Iterations = 100, Snapshots = 5, Seed = 2L)
    let record = spec.Train()
    let relabelled (moved: bool) =
        let dir = Path.Combine(Path.GetTempPath(), "resode-mean-" + Guid.NewGuid().ToString("N"))
        RunDirectory.Write(record, dir)
        let json = Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "run.json")))
        json.["loss"] <- Nodes.JsonValue.Create "mean-over-entries"
        File.WriteAllText(Path.Combine(dir, "run.json"), json.ToJsonString())
        for f in [ "losses.npy"; Path.Combine("trace", "loss.npy") ] do
            let path = Path.Combine(dir, f)
            let a = (Npy.Read(path, "losses", -1)).Data |> Array.map (fun l -> l / 3.0)
            if moved && f = "losses.npy" then a.[50] <- a.[50] * (1.0 + 1e-12)
            Npy.Write(path, ReadOnlySpan<float>(a), a.Length)
        dir
    let rowsOf dir =
        try
            let run = Run.Load dir
            Registry.verifyBlockRunSelected (fun _ -> true) run |> List.map (fun r -> r.Id, r) |> dict
        finally
            Directory.Delete(dir, true)
    let faithful = rowsOf (relabelled false)
    Assert.Empty(noneViolated faithful)
    Assert.Equal("holds", verdict faithful "E.claims")
    let moved = rowsOf (relabelled true)
    Assert.Equal("VIOLATED", verdict moved "E.claims")

/// The same exporter with a trace loss column written per-sample beside its mean-over-entries losses.npy (a PyTorch user's
/// logger): I.trace is violated, and its note says the claimed loss is d_out times the reference and what convention the
/// column seems to follow (the message read "trace loss 18.6 vs losses 6.2" while the file held 6.2); the faithful column
/// gets only the note on how it is read.
[<Fact>]
let ``I.trace: a per-sample trace loss column beside mean-over-entries losses → violated, a note naming the convention the column seems to follow; the mean-over-entries column → holds`` () =
    let p = produce f64 GD 10 L false eta N snaps
    let pm = { p with Losses = p.Losses |> Array.map (fun l -> l / float p.D) }
    let lr = eta * float L * float p.D
    let json = sprintf """{"activation": "tanh", "learning_rate": %.17g, "loss": "mean-over-entries", "init": "tied", "trace": ["loss", "smooth_z"]}""" lr
    // smooth_z at each snapshot's iterate from its weights (I.trace reads it there), the latest snapshot's value in between
    let md = p.M * p.D
    let increment s =
        Seq.max (seq { for k in 0 .. L - 2 ->
                         sqrt (Seq.sum (seq { for e in 0 .. md - 1 -> (p.W.[s].[(k + 1) * md + e] - p.W.[s].[k * md + e]) ** 2.0 + (p.V.[s].[(k + 1) * md + e] - p.V.[s].[k * md + e]) ** 2.0 })) })
    let smooth = Array.init (N + 1) (fun j -> increment (snaps |> Array.findIndexBack (fun t -> t <= j)))
    let withTrace (column: float[]) (dir: string) =
        Directory.CreateDirectory(Path.Combine(dir, "trace")) |> ignore
        ResOdeProofs.Numerics.IO.Npy.Write(Path.Combine(dir, "trace", "loss.npy"), ReadOnlySpan<float>(column), column.Length)
        ResOdeProofs.Numerics.IO.Npy.Write(Path.Combine(dir, "trace", "smooth_z.npy"), ReadOnlySpan<float>(smooth), smooth.Length)
    let note = "the trace's loss column seems to hold per-sample losses"
    let faithful = verdicts (write pm false json (withTrace pm.Losses))
    Assert.Equal("holds", verdict faithful "I.trace")
    let perSample = verdicts (write pm false json (withTrace p.Losses))
    Assert.Equal("VIOLATED", verdict perSample "I.trace")
    Assert.Contains(perSample.["I.trace"].Notes, fun n -> n.Contains note)
    Assert.DoesNotContain(faithful.["I.trace"].Notes, fun n -> n.Contains note)

// ---------------------------------------------------------------- a chaotic run

/// The spacing verify asks for, read from E.replay's hypothesis ("snapshots every J iterations or fewer").
let private askedSpacing (detail: string) =
    let m = Text.RegularExpressions.Regex.Match(detail, "at most (\\d+) iterations apart")
    if m.Success then Some(int m.Groups.[1].Value) else None

[<Fact>]
let ``E.replay: faithful chaotic float32 run at the spacing the replay asks for → not violated`` () =
    let etaC, nC = chaoticEta, 600
    let p = produce f32 GD 11 L false etaC nC [| 0; nC |]
    let rows = verdicts (write p true (gdJson etaC) ignore)
    Assert.Empty(noneViolated rows)
    Assert.Equal("hypothesis not met", verdict rows "E.replay")
    let detail = rows.["E.replay"].Detail
    Assert.Contains("not certifiable", rows.["A.aposteriori"].Detail)
    match askedSpacing detail with
    | Some j when j > 0 ->
        let fine = produce f32 GD 11 L false etaC nC [| 0 .. j .. nC |]
        let rows = verdicts (write fine true (gdJson etaC) ignore)
        Assert.Empty(noneViolated rows)
        Assert.True((verdict rows "E.replay" = "holds"), rows.["E.replay"].Detail)
    | _ -> failwithf "no snapshot spacing suggested: %s" detail

/// A float32 producer on data of size 10⁻²⁵ (a PyTorch user's MSE): every square of a residual and every product of the
/// gradient underflows, so its recorded losses are 0 and its weights never move, while the verifier's float64 loss is about
/// 10⁻⁵⁰. The relative allowances alone rejected it (I.loss and E.replay: 7.7·10⁻⁵⁰ against 1.3·10⁻⁵⁴); with the underflow
/// terms (half the subnormal spacing per product or quotient, Higham §2.1) it holds, and a recorded loss of 10⁻⁴⁰ (far above
/// what underflow allows, (2n·d_out + 1)·2⁻¹⁴⁹ ≈ 7·10⁻⁴⁴ a pass) is still rejected.
[<Fact>]
let ``I.loss, E.replay: float32 run on data of size 1e-25 whose losses underflow to 0 → E.replay holds, I.loss not violated (hypothesis not met: its allowance at least the loss); a recorded loss of 1e-40 → violated`` () =
    let m, d, x0, y0, w0, v0 = setting 5 L false
    let x, y = x0 |> Array.map (Array.map (fun z -> f32 (z * 1e-25))), y0 |> Array.map (Array.map (fun z -> f32 (z * 1e-25)))
    let w, v = Array.map f32 w0, Array.map f32 v0
    let n, steps = 6, 4
    let losses = Array.zeroCreate (steps + 1)
    for j in 0 .. steps do
        let loss, gw, gv = lossAndGrad f32 L m d x y w v
        losses.[j] <- loss
        if j < steps then
            for i in 0 .. w.Length - 1 do
                w.[i] <- f32 (w.[i] - f32 (eta * gw.[i]))
                v.[i] <- f32 (v.[i] - f32 (eta * gv.[i]))
    Assert.True(losses |> Array.forall (fun l -> l = 0.0), sprintf "the producer's float32 losses underflow: %A" losses)
    Assert.Equal(n, x.Length)
    let p = { L = L; M = m; D = d; X = x; Y = y; Eta = eta; Steps = [| 0; steps |]; W = [| Array.map f32 w0; w |]; V = [| Array.map f32 v0; v |]; Losses = losses }
    let rows = verdicts (write p true (gdJson eta) ignore)
    Assert.Empty(noneViolated rows)
    Assert.True((verdict rows "E.replay" = "holds"), rows.["E.replay"].Detail)
    // the losses are below the precision's resolution: I.loss' allowance is at least the loss, a recorded 0 is the faithful one
    Assert.True((verdict rows "I.loss" = "hypothesis not met"), rows.["I.loss"].Detail)
    let forged = verdicts (write { p with Losses = losses |> Array.mapi (fun j l -> if j = 0 then 1e-40 else l) } true (gdJson eta) ignore)
    for id in [ "I.loss"; "E.replay" ] do Assert.True((verdict forged id = "VIOLATED"), sprintf "%s: %s" id forged.[id].Detail)

/// A gradient-descent run of this engine (the PL setting of the flow tests, η·β̂ below the descent limit), in memory, with
/// `forge` applied to its losses and trace at iterate j (three iterates past the first snapshot); with `foreign` its run.json
/// names another build (the certified path). Returns the run and j.
let private ownGdForged (foreign: bool) (label: string) (forge: int -> float[] -> Collections.Generic.Dictionary<string, float[]> -> unit) =
    let spec = ResOdeProofs.Numerics.Training.RunSpec(Depth = 16, Width = 24, Samples = 12, Dim = 4, Init = ResOdeProofs.Numerics.Training.InitKind.Tied,
                                                      Eta = 0.05, Iterations = 20, Snapshots = 3, Seed = 7L)
    let d = (Generators.train spec).Data
    if foreign then d.Meta.EngineBuild <- "content:0000000000000000"
    let j = d.Steps.[0] + 3
    let losses = Array.copy d.Losses
    let trace = Collections.Generic.Dictionary<string, float[]>(d.Trace)
    forge j losses trace
    Run(RunData(Directory = d.Directory + " (" + label + ")", Meta = d.Meta, Shape = d.Shape, Data = d.Data, A = d.A, B = d.B,
                Activation = d.Activation, Eta = d.Eta, Steps = d.Steps, W = d.W, V = d.V, Losses = losses, Trace = trace)), j

/// grad_norm raised by 1% at one iterate between two snapshots of a gradient-descent run of this engine: the certified
/// replay (run.json naming another build) compares that column at snapshot iterates only and lets it through; the bit-exact
/// replay reproduces every iterate's weights, so E.claims compares it at every iterate and rejects it, naming the iterate.
[<Fact>]
let ``E.claims: grad_norm, pl_ratio or hidden_max raised 1% at one iterate between two snapshots → violated on the bit-exact path, held on the certified path with a note that only snapshot iterates were compared`` () =
  for name in [ "grad_norm"; "pl_ratio"; "hidden_max" ] do
    let forged foreign =
        ownGdForged foreign (name + " raised") (fun j _ trace ->
            trace.[name] <- (let c = Array.copy trace.[name] in c.[j] <- 1.01 * c.[j]; c))
    let claims = Registry.singleRun |> List.find (fun r -> r.Id = "E.claims")
    let run, j = forged false
    let e = Result.evaluate claims run
    Assert.True(Verdict.isViolated e.Verdict && (e.Hypotheses |> List.forall (fun (_, ok, _) -> ok)), sprintf "%s: %A\n%A" name e.Verdict e.Hypotheses)
    match e.Verdict with
    | Violated w ->
        Assert.Contains(name, w.Where)
        Assert.Contains(sprintf "iteration %d " j, w.When)
    | _ -> ()
    let certified, _ = forged true
    let c = Result.evaluate claims certified
    Assert.True(Verdict.isHolds c.Verdict, sprintf "%s: %A" name c.Verdict)
    // the certified path says which iterates it compared; the bit-exact path compares every iterate and says nothing of it
    Assert.Contains(c.Notes, fun n -> n.StartsWith "trace columns compared at the")
    Assert.DoesNotContain(e.Notes, fun n -> n.StartsWith "trace columns compared at the")

/// One recorded loss between two snapshots of a gradient-descent run of this engine moved by one unit in the last place
/// (losses.npy and the trace alike): the certified replay's loss tolerance (the rounding of two evaluations at least) lets it
/// through; the bit-exact replay evaluates the loss as the producer did, so its allowance is 0 and E.replay rejects it.
[<Fact>]
let ``E.replay: one loss between two snapshots moved by one ulp → violated on the bit-exact path, held on the certified path`` () =
    let forged foreign =
        ownGdForged foreign "a loss moved" (fun j losses trace ->
            losses.[j] <- Math.BitIncrement losses.[j]
            trace.["loss"] <- Array.copy losses)
    let replay = Registry.singleRun |> List.find (fun r -> r.Id = "E.replay")
    let run, j = forged false
    let e = Result.evaluate replay run
    Assert.True(Verdict.isViolated e.Verdict && (e.Hypotheses |> List.forall (fun (_, ok, _) -> ok)), sprintf "%A\n%A" e.Verdict e.Hypotheses)
    match e.Verdict with
    | Violated w -> Assert.Contains(sprintf "%d" j, w.When)
    | _ -> ()
    let certified, _ = forged true
    let c = Result.evaluate replay certified
    Assert.True(Verdict.isHolds c.Verdict, sprintf "%A" c.Verdict)

/// The engine's run with snapshot 0 dropped (its first snapshot at iteration `first`), written to a fresh directory, and its
/// recorded losses changed by `edit`.
let private withoutInitialSnapshot (edit: float[] -> unit) =
    let spec = ResOdeProofs.Numerics.Training.RunSpec(Depth = 8, Width = 8, Samples = 10, Dim = 4, Eta = 0.01, Iterations = 40, SnapshotSteps = [| 0; 10; 20; 30; 40 |], Seed = 3L)
    let dir = Path.Combine(Path.GetTempPath(), "resode-nozero-" + Guid.NewGuid().ToString("N"))
    RunDirectory.Write(spec.Train(), dir)
    let P f = Path.Combine(dir, f)
    let drop name =
        let a = Npy.Read(P name)
        let per = a.Data.Length / a.Shape.[0]
        Npy.Write(P name, ReadOnlySpan(a.Data, per, a.Data.Length - per), Array.append [| a.Shape.[0] - 1 |] a.Shape.[1..])
    drop "w.npy"; drop "v.npy"
    Npy.WriteInt64(P "steps.npy", [| 10L; 20L; 30L; 40L |], 4)
    let losses = (Npy.Read(P "losses.npy")).Data
    edit losses
    Npy.Write(P "losses.npy", ReadOnlySpan(losses), losses.Length)
    // the trace would be checked against the replay too; the point here is the losses
    if Directory.Exists(P "trace") then Directory.Delete(P "trace", true)
    dir

[<Fact(DisplayName = "E.replay: a run whose first snapshot is at iteration 10 → replayed from it, holds, says iterations 0 to 9 are not checked; a loss after it halved → violated; a loss before it changed → not seen, and said so")>]
let ``E.replay from the first snapshot`` () =
    let verdictOf dir =
        try
            let run = Run(RunDirectory.Read dir)
            Result.evaluate ReplayEvidence.replay run
        finally Directory.Delete(dir, true)
    let faithful = verdictOf (withoutInitialSnapshot ignore)
    Assert.True(Verdict.isHolds faithful.Verdict, sprintf "%A" faithful.Verdict)
    Assert.Contains(faithful.Notes, fun n -> n.Contains("iterations 0 to 9 come before the first snapshot (iteration 10)"))
    let after = verdictOf (withoutInitialSnapshot (fun l -> l.[25] <- l.[25] / 2.0))
    Assert.True(Verdict.isViolated after.Verdict, sprintf "%A" after.Verdict)
    let before = verdictOf (withoutInitialSnapshot (fun l -> l.[5] <- l.[5] / 2.0))
    Assert.True(Verdict.isHolds before.Verdict, sprintf "%A" before.Verdict)

[<Fact(DisplayName = "RunDirectory: a float32 run stored as float64 with run.json's precision removed → refused as bad input naming what to declare (it was E.replay-violated with a hint: the mirror of a float32 claim on float64 numbers, which is refused); the float64 run → read, E.replay holds")>]
let ``E.replay hint for an undeclared float32 run`` () =
    let train f32 =
        let spec = ResOdeProofs.Numerics.Training.RunSpec(Depth = 8, Width = 8, Samples = 10, Dim = 4, Eta = 0.01, Iterations = 40, Snapshots = 3, Float32 = f32, Seed = 3L)
        let dir = Path.Combine(Path.GetTempPath(), "resode-f32noprec-" + Guid.NewGuid().ToString("N"))
        RunDirectory.Write(spec.Train(), dir)
        let P f = Path.Combine(dir, f)
        for name in [ "w.npy"; "v.npy" ] do
            let a = Npy.Read(P name)
            Npy.Write(P name, ReadOnlySpan(a.Data), a.Shape)
        let json = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(P "run.json")).AsObject()
        json.Remove("precision") |> ignore
        File.WriteAllText(P "run.json", json.ToJsonString())
        if Directory.Exists(P "trace") then Directory.Delete(P "trace", true)
        dir
    let evaluate dir =
        try Result.evaluate ReplayEvidence.replay (Run(RunDirectory.Read dir)) finally Directory.Delete(dir, true)
    let hint = "every snapshot's weights are float32 numbers"
    let f32dir = train true
    try
        let e = Assert.Throws<RunFormatException>(fun () -> RunDirectory.Read f32dir |> ignore)
        Assert.Contains("trained ones included, are float32 numbers", e.Message)
        Assert.Contains("\"precision\": \"float32\"", e.Message)
    finally Directory.Delete(f32dir, true)
    let f64 = evaluate (train false)
    Assert.True(Verdict.isHolds f64.Verdict, sprintf "%A" f64.Verdict)
    Assert.DoesNotContain(f64.Notes, fun n -> n.Contains hint)

[<Fact(DisplayName = "E.replay's diagnosis: the engine's run with its first loss changed → violated, the note points at the forward pass or the loss; with η claimed 1 % larger → the loss at snapshot 0 agrees, the note points at the updates; the middle snapshot moved → the note names it; a faithful run → no such note")>]
let ``E.replay says where the run departs`` () =
    let spec = ResOdeProofs.Numerics.Training.RunSpec(Depth = 8, Width = 8, Samples = 10, Dim = 4, Eta = 0.01, Iterations = 40, Snapshots = 3, Seed = 3L)
    let evaluate (edit: string -> unit) =
        let dir = Path.Combine(Path.GetTempPath(), "resode-diagnosis-" + Guid.NewGuid().ToString("N"))
        try
            RunDirectory.Write(spec.Train(), dir)
            if Directory.Exists(Path.Combine(dir, "trace")) then Directory.Delete(Path.Combine(dir, "trace"), true)
            edit dir
            Result.evaluate ReplayEvidence.replay (Run(RunDirectory.Read dir))
        finally Directory.Delete(dir, true)
    let forward = evaluate (fun dir ->
        let p = Path.Combine(dir, "losses.npy")
        let l = (Npy.Read p).Data
        l.[0] <- l.[0] * 1.001
        Npy.Write(p, ReadOnlySpan(l), l.Length))
    Assert.True(Verdict.isViolated forward.Verdict, sprintf "%A" forward.Verdict)
    Assert.Contains(forward.Notes, fun n -> n.Contains "the loss at snapshot 0's own weights (iteration 0, before any replayed update)" && n.Contains "forward pass")
    // another loss convention declared: every loss and the landing fail; the earliest in iterations (the loss at iteration 0)
    // is the one named, not the landing listed before it
    let convention = evaluate (fun dir ->
        let p = Path.Combine(dir, "run.json")
        let json = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText p).AsObject()
        json.["loss"] <- System.Text.Json.Nodes.JsonValue.Create("mean-over-entries")
        File.WriteAllText(p, json.ToJsonString()))
    Assert.True(Verdict.isViolated convention.Verdict, sprintf "%A" convention.Verdict)
    Assert.Contains(convention.Notes, fun n -> n.Contains "the loss at snapshot 0's own weights (iteration 0, before any replayed update)")
    Assert.DoesNotContain(convention.Notes, fun n -> n.Contains "agrees")
    let update = evaluate (fun dir ->
        let p = Path.Combine(dir, "run.json")
        let json = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText p).AsObject()
        json.["eta"] <- System.Text.Json.Nodes.JsonValue.Create(0.0101)
        File.WriteAllText(p, json.ToJsonString()))
    Assert.True(Verdict.isViolated update.Verdict, sprintf "%A" update.Verdict)
    Assert.Contains(update.Notes, fun n -> n.Contains "the loss at snapshot 0's own weights (iteration 0) agrees" && n.Contains "updates differ")
    Assert.DoesNotContain(update.Notes, fun n -> n.Contains "disagrees with both")
    // the middle snapshot's W moved (losses as recorded): its landing and its own loss both fail, and the note names it
    let bumped = evaluate (fun dir ->
        let p = Path.Combine(dir, "w.npy")
        let a = Npy.Read p
        let per = a.Data.Length / a.Shape.[0]
        for i in per .. 2 * per - 1 do a.Data.[i] <- a.Data.[i] + 1e-4
        Npy.Write(p, ReadOnlySpan(a.Data), a.Shape))
    Assert.True(Verdict.isViolated bumped.Verdict, sprintf "%A" bumped.Verdict)
    Assert.Contains(bumped.Notes, fun n -> n.StartsWith "snapshot 1 disagrees with both the replay that lands on it (from snapshot 0) and its own recorded loss")
    let faithful = evaluate ignore
    Assert.True(Verdict.isHolds faithful.Verdict)
    Assert.DoesNotContain(faithful.Notes, fun n -> n.Contains "first failed comparison")

[<Fact(DisplayName = "E.replay's diagnosis on a block run (segments compared at their landing only): one snapshot entry moved → violated, the note says the loss at the snapshot was not compared instead of saying it agrees")>]
let ``E.replay diagnosis where the loss is not compared`` () =
    let spec = ResOdeProofs.Numerics.Training.RunSpec(Architecture = "one-layer", Depth = 6, Dim = 3, Samples = 5, Eta = 0.01, Iterations = 20, Snapshots = 3, Seed = 4L)
    let dir = Path.Combine(Path.GetTempPath(), "resode-blockdiag-" + Guid.NewGuid().ToString("N"))
    try
        RunDirectory.Write(spec.Train(), dir)
        let p = Path.Combine(dir, "theta.npy")
        let t = Npy.Read p
        t.Data.[t.Data.Length - 1] <- t.Data.[t.Data.Length - 1] + 1e-3
        Npy.Write(p, ReadOnlySpan(t.Data), t.Shape)
        let e = Result.evaluate ReplayEvidence.replay (Run(RunDirectory.Read dir, Registry.architectures))
        Assert.True(Verdict.isViolated e.Verdict, sprintf "%A" e.Verdict)
        Assert.Contains(e.Notes, fun n -> n.Contains "was not compared on this segment")
        Assert.DoesNotContain(e.Notes, fun n -> n.Contains "agrees")
    finally Directory.Delete(dir, true)

[<Fact(DisplayName = "E.replay: a block run of another build (run.json's engine_build changed, as a rebuilt engine has) → compared within the rounding companions' tolerance, holds; its hypothesis names no bit-exact claim")>]
let ``E.replay names the build a block run's claim does not match`` () =
    let spec = ResOdeProofs.Numerics.Training.RunSpec(Architecture = "one-layer", Depth = 6, Dim = 3, Samples = 5, Eta = 0.01, Iterations = 20, Snapshots = 3, Seed = 4L)
    let dir = Path.Combine(Path.GetTempPath(), "resode-blockbuild-" + Guid.NewGuid().ToString("N"))
    try
        RunDirectory.Write(spec.Train(), dir)
        let faithful = Result.evaluate ReplayEvidence.replay (Run(RunDirectory.Read dir, Registry.architectures))
        Assert.True(Verdict.isHolds faithful.Verdict, sprintf "%A" faithful.Verdict)
        // user test: after a rebuild (same version, another build) the message said only that no growth is measured
        let p = Path.Combine(dir, "run.json")
        let json = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText p).AsObject()
        json.["engine_build"] <- System.Text.Json.Nodes.JsonValue.Create("0.1.0+0000000:0000000000000000")
        File.WriteAllText(p, json.ToJsonString())
        // until the block companions (2026-12-06) the segments had no tolerance and the row was "hypothesis not met" naming
        // both builds; now another build's run is replayed as another producer's, within the estimated tolerance
        let other = Result.evaluate ReplayEvidence.replay (Run(RunDirectory.Read dir, Registry.architectures))
        Assert.True(Verdict.isHolds other.Verdict, sprintf "%A" other.Verdict)
        Assert.Contains(other.Hypotheses, fun (_, ok, r) -> ok && r.Contains "largest error growth")
    finally Directory.Delete(dir, true)

/// A float64 run whose losses.npy and some trace columns a producer stored as float32 (a NumPy user's `astype(np.float32)`
/// on save): each stored number is the computed one rounded once more, within 2⁻²⁴ of itself, which I.trace (trace loss
/// against losses.npy) and E.claims (every column against the replay, and the identities among the columns) allow for;
/// before, both reported such a faithful run violated. A stored value moved by 10⁻⁵ of itself is still rejected.
[<Fact(DisplayName = "I.trace and E.claims: a float64 run with losses.npy and trace columns stored as float32 → held; a trace value moved by 1e-5 relative → violated")>]
let ``float32 storage of losses and trace columns`` () =
    let spec = ResOdeProofs.Numerics.Training.RunSpec(Depth = 8, Width = 6, Samples = 5, Dim = 3, Eta = 0.01, Iterations = 20, Snapshots = 3, Seed = 21L)
    let run (edit: string -> unit) =
        let dir = Path.Combine(Path.GetTempPath(), "resode-f32store-" + Guid.NewGuid().ToString("N"))
        RunDirectory.Write(spec.Train(), dir)
        let asSingle (p: string) (move: float32[] -> unit) =
            let a = Npy.Read p
            let s = a.Data |> Array.map float32
            move s
            Npy.Write(p, ReadOnlySpan<float32>(s), a.Shape)
        asSingle (Path.Combine(dir, "losses.npy")) ignore
        // the trace's loss column stays float64: I.trace compares it with the float32 losses.npy
        for c in [ "v_fro_max"; "w_fro_max"; "smooth_z"; "step_max"; "grad_norm" ] do
            asSingle (Path.Combine(dir, "trace", c + ".npy")) ignore
        edit dir
        verdicts dir
    let faithful = run ignore
    Assert.Empty(noneViolated faithful)
    for id in [ "I.trace"; "E.claims"; "I.loss"; "E.replay" ] do
        Assert.True(faithful.[id].Verdict = "holds", sprintf "%s: %s %s" id faithful.[id].Verdict faithful.[id].Detail)
    let moved (column: string) (at: int) = fun (dir: string) ->
        let p = Path.Combine(dir, "trace", column + ".npy")
        let a = Npy.Read p
        if a.DType.EndsWith "f4" then
            let s = a.Data |> Array.map float32
            s.[at] <- s.[at] * (1.0f + 1e-5f)
            Npy.Write(p, ReadOnlySpan<float32>(s), a.Shape)
        else
            a.Data.[at] <- a.Data.[at] * (1.0 + 1e-5)
            Npy.Write(p, ReadOnlySpan<float>(a.Data), a.Shape)
    let lossMoved = run (moved "loss" 5)
    Assert.True(lossMoved.["I.trace"].Verdict = "VIOLATED", lossMoved.["I.trace"].Detail)
    let froMoved = run (moved "v_fro_max" 5)
    Assert.True(froMoved.["E.claims"].Verdict = "VIOLATED", froMoved.["E.claims"].Detail)

/// A claimed column value that cannot be right whatever the weights: NaN, ∞ or a negative norm, between two snapshots
/// (where a foreign run's grad_norm is not compared with the replay) or at a snapshot iterate (where a NaN claim gave
/// "hypothesis not met: the measured quantity is not a number", exit 0): each is a failed comparison, violated.
[<Fact(DisplayName = "E.claims: grad_norm NaN, ∞ or −1 at one iterate between two snapshots of a foreign run, or NaN at a snapshot iterate → violated; the faithful run holds")>]
let ``E.claims rejects values no norm can take`` () =
    let faithful, _ = ownGdForged true "faithful" (fun _ _ _ -> ())
    Assert.True(Verdict.isHolds (Result.evaluate ReplayEvidence.claims faithful).Verdict)
    for bad in [ nan; infinity; -1.0 ] do
        let run, j = ownGdForged true (sprintf "grad_norm %g" bad) (fun j _ trace -> let g = Array.copy trace.["grad_norm"] in g.[j] <- bad; trace.["grad_norm"] <- g)
        let e = Result.evaluate ReplayEvidence.claims run
        Assert.True(Verdict.isViolated e.Verdict, sprintf "%g at iteration %d: %A" bad j e.Verdict)
    let atSnapshot, _ =
        ownGdForged true "grad_norm NaN at a snapshot" (fun _ _ trace ->
            let g = Array.copy trace.["grad_norm"]
            g.[0] <- nan
            trace.["grad_norm"] <- g)
    let e = Result.evaluate ReplayEvidence.claims atSnapshot
    Assert.True(Verdict.isViolated e.Verdict, sprintf "%A" e.Verdict)

/// Finite but huge weights (one snapshot scaled by 10¹⁵⁰): the lemma chain's pre-activation ranges overflow to NaN; every
/// result says so (no finite bound: hypothesis not met) instead of ending as a tool error (they raised "Need lo <= hi").
[<Fact(DisplayName = "Every result: one snapshot's weights scaled by 1e150 (finite) → no row ends in error; the overflow is said, not raised")>]
let ``huge finite weights give no error rows`` () =
    let spec = ResOdeProofs.Numerics.Training.RunSpec(Depth = 6, Width = 5, Samples = 6, Dim = 3, Eta = 0.01, Iterations = 10, Snapshots = 3, Seed = 3L)
    let d = (Generators.train spec).Data
    let s = d.Steps.Length - 1
    for i in 0 .. d.W.[s].Length - 1 do d.W.[s].[i] <- d.W.[s].[i] * 1e150
    let rows = Registry.verifyRun (Run d)
    let errors = rows |> List.filter (fun r -> r.Verdict = "error") |> List.map (fun r -> sprintf "%s: %s" r.Id r.Detail)
    Assert.Empty(errors)

/// A float32 run whose first segment is not certifiable and whose second is (a user's finding): the recorded losses inside
/// the certified segment zeroed in losses.npy and the trace alike.
[<Fact>]
let ``E.replay: float32 run with one uncertifiable segment and one certified; the certified segment's losses zeroed → violated (was hypothesis not met, exit 0); as trained → hypothesis not met, the certified segment said to hold`` () =
    let spec = ResOdeProofs.Numerics.Training.RunSpec(Depth = 16, Width = 32, Samples = 16, Dim = 8, Eta = 0.02, Iterations = 1000,
                                                      SnapshotSteps = [| 0; 500; 999; 1000 |], Float32 = true, Seed = 0L)
    let d = (Generators.train spec).Data
    let row (data: RunData) = Result.evaluate ReplayEvidence.replay (Run(data))
    let faithful = row d
    match faithful.Verdict with
    | HypothesisNotMet [ (_, why) ] -> Assert.Contains("certified segment(s) were compared and hold", why)
    | v -> failwithf "as trained: %A" v
    let zeroed (a: float[]) = a |> Array.mapi (fun j x -> if j > 500 && j < 999 then 0.0 else x)
    let trace = Collections.Generic.Dictionary<string, float[]>(d.Trace)
    trace.["loss"] <- zeroed trace.["loss"]
    let bad = RunData(Directory = d.Directory + " (losses zeroed)", Meta = d.Meta, Shape = d.Shape, Data = d.Data, A = d.A, B = d.B,
                      Activation = d.Activation, Eta = d.Eta, Steps = d.Steps, W = d.W, V = d.V, Losses = zeroed d.Losses, Trace = trace,
                      LossesStorageRoundoff = d.LossesStorageRoundoff)
    match (row bad).Verdict with
    | Violated w -> Assert.Contains("segment from snapshot 1", w.When)
    | v -> failwithf "losses zeroed: %A" v

[<Fact>]
let ``E.claims: float32 run whose certified segment's loss allowances exceed some losses (a claimed 0 would pass) → holds with the loose comparisons counted in its note, the loss among them`` () =
    let spec = ResOdeProofs.Numerics.Training.RunSpec(Depth = 16, Width = 32, Samples = 16, Dim = 8, Eta = 0.02, Iterations = 1000,
                                                      SnapshotSteps = [| 0; 500; 999; 1000 |], Float32 = true, Seed = 0L)
    let run = Run((Generators.train spec).Data)
    let claims = Registry.singleRun |> List.find (fun r -> r.Id = "E.claims")
    let e = Result.evaluate claims run
    Assert.True(Verdict.isHolds e.Verdict, sprintf "%A" e.Verdict)
    let note = e.Notes |> List.tryFind (fun n -> n.Contains "within an allowance at least the verified value")
    Assert.True(note.IsSome, sprintf "%A" e.Notes)
    // loss comparisons among them, counted per column (before, only the snapshot columns were counted)
    Assert.Matches(System.Text.RegularExpressions.Regex(@"claim\(s\) \((.*, )?loss [0-9]+"), note.Value)

[<Fact>]
let ``E.replay: float32 run whose first segment is uncertifiable as a whole but certifies its first iterations; the recorded losses of iterations 1–10 doubled → violated (nothing compared them, exit 0)`` () =
    let spec = ResOdeProofs.Numerics.Training.RunSpec(Depth = 16, Width = 32, Samples = 16, Dim = 8, Eta = 0.02, Iterations = 1000,
                                                      SnapshotSteps = [| 0; 500; 999; 1000 |], Float32 = true, Seed = 0L)
    let d = (Generators.train spec).Data
    let doubled (a: float[]) = a |> Array.mapi (fun j x -> if j >= 1 && j <= 10 then 2.0 * x else x)
    let trace = Collections.Generic.Dictionary<string, float[]>(d.Trace)
    trace.["loss"] <- doubled trace.["loss"]
    let bad = RunData(Directory = d.Directory + " (losses doubled)", Meta = d.Meta, Shape = d.Shape, Data = d.Data, A = d.A, B = d.B,
                      Activation = d.Activation, Eta = d.Eta, Steps = d.Steps, W = d.W, V = d.V, Losses = doubled d.Losses, Trace = trace,
                      LossesStorageRoundoff = d.LossesStorageRoundoff)
    match (Result.evaluate ReplayEvidence.replay (Run(bad))).Verdict with
    | Violated w -> Assert.Contains("segment from snapshot 0", w.When)
    | v -> failwithf "losses doubled: %A" v

/// This engine's own clipped run whose gradient overflows while its loss stays finite (figure 1's shape, η = 100, C = 10³⁰⁰:
/// at iteration 1 the loss is 10²²² and every layer's ‖G_k‖ is +∞, so c_k = C/∞ = 0 and step_max = η·0·∞ is NaN; the
/// weights stop). Four rows said VIOLATED with measured +∞: E.claims (the displacement against Σ step_max = NaN) and the
/// norms of adjoints and forcings that overflowed in the verifier's own float64 passes. An overflow is not a failed
/// comparison: those rows say what overflowed, and no row is violated.
[<Fact>]
let ``verify: this engine's clipped run whose gradient norm overflows at a finite loss → no row violated, the lemma chain and E.claims naming the overflow`` () =
    let spec = RunSpec(Depth = 64, Width = 32, Samples = 20, Dim = 16, Eta = 100.0, Clip = System.Nullable 1e300, Iterations = 2, Snapshots = 3)
    let run = Run(RunDirectory.InMemory(spec.Train(), "overflowing gradient"))
    Assert.True(Double.IsFinite run.Losses.[1] && Double.IsPositiveInfinity run.Data.Trace.["grad_norm"].[1], "the setting no longer overflows the gradient norm at a finite loss")
    let rows = Registry.verifyRun run
    let violated = rows |> List.filter (fun r -> r.IsViolated) |> List.map (fun r -> r.Id + ": " + r.Detail)
    Assert.True(violated.IsEmpty, String.concat "\n" violated)
    let row id = rows |> List.find (fun r -> r.Id = id)
    for id in [ "L3.adjoint"; "L3.adjoint-increment"; "L5.forcing" ] do
        Assert.Contains("overflows float64", (row id).Detail)
    Assert.Contains((row "E.claims").Notes, fun n -> n.Contains "step_max (NaN at iteration 1, where the clipped gradient's norm overflowed)")

/// A run that says it diverged, from another build (the certified path): its last segment's replay leaves the finite
/// numbers where the recorded loss does. E.replay said the replay did so "while the recorded run stayed finite: check
/// run.json's eta", a false lead (a NumPy user's diverged runs); it now says the record went there too.
[<Fact>]
let ``E.replay: a diverged run of another build, its last recorded loss not finite → the last segment said to leave the finite numbers as the record did, no advice to check η`` () =
    let spec = ResOdeProofs.Numerics.Training.RunSpec(Depth = 2, Width = 8, Samples = 8, Dim = 3, Init = ResOdeProofs.Numerics.Training.InitKind.Iid,
                                                      Activation = ResOdeProofs.Numerics.ActivationKind.Identity, Eta = 2.0, Iterations = 60,
                                                      SnapshotSteps = [| 0 .. 60 |], Seed = 11L)
    let d = (Generators.train spec).Data
    Assert.True(d.Meta.Status = "diverged", sprintf "the setting: a diverged run (%s)" d.Meta.Status)
    Assert.False(Double.IsFinite d.Losses.[d.Losses.Length - 1], "the setting: its last recorded loss not finite")
    d.Meta.EngineBuild <- "content:0000000000000000"
    let e = Result.evaluate (Registry.singleRun |> List.find (fun r -> r.Id = "E.replay")) (Run d)
    let text = sprintf "%A" e.Verdict
    Assert.False(Verdict.isViolated e.Verdict, text)
    Assert.Contains("as the recorded run did", text)
    Assert.DoesNotContain("check run.json's eta", text)
