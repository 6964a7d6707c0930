/// The integration error estimate of B.*'s reference neural-ODE solve (docs/theorems/EulerError.md, "Integration error"):
/// the difference of a solve at Rtol and a check solve at CheckRtol that also stops at the midpoints of the layer
/// intervals (`EulerError.checkSolveStops`). Without those stops, where one step per layer interval already meets both
/// tolerances, the two solves took the same steps and their difference was 0 or a rounding difference of the first
/// interval: an estimate that could not see the error it estimates.
module ResOdeProofs.Properties.IntegrationEstimateTests

open System
open Xunit
open ResOdeProofs.Numerics
open ResOdeProofs.Numerics.Ode
open ResOdeProofs.Numerics.Training
open ResOdeProofs.Theory
open ResOdeProofs.Properties.Generators

/// Tied layers (smooth in depth) at L = 256 after 10 iterations: the first solve takes one step per layer interval.
let private smoothDeep () =
    train (RunSpec(Depth = 256, Width = 8, Dim = 4, Samples = 8, Iterations = 10, Snapshots = 3, Seed = 1L))

/// ‖H_a^i(1) − H_f^i(1)‖ per sample: the first solve (at the tolerances the analysis `c` kept: the loose level or the
/// tight one, the layer nodes) against a finer one (10⁻¹³, four stops per layer interval), the error the estimate stands
/// for; and the same first solve against a second one at the analysis' check tolerances with the given extra stops (the
/// estimate as formed with them).
let private distances (run: Run) (s: int) (c: EulerError.SnapshotCheck) (checkStops: float[]) =
    let st = run.Setting
    let L, d = st.Depth, st.Dim
    let n = min st.Samples EulerError.MaxCheckedSamples
    let lw = run.Layerwise s
    let h0 = (lw.H.Layer 0).Slice(0, n * d).ToArray()
    let ode = NeuralOde.PiecewiseLinear(L, st.Width, d, st.Activation, run.W s, run.V s)
    let nodes = [| for k in 0 .. L -> float k / float L |]
    let a = ode.Solve(h0, c.SolveRtol, c.SolveAtol, nodes)
    let fine = ode.Solve(h0, 1e-13, 1e-15, nodes, extraStops = [| for k in 0 .. 4 * L - 1 -> float k / float (4 * L) |])
    let check = ode.Solve(h0, c.CheckSolveRtol, c.CheckSolveAtol, nodes, extraStops = checkStops)
    let dist (x: float[]) (y: float[]) i = Linalg.frobeniusDiff x (i * d) y (i * d) d
    Array.init n (fun i -> dist a.Final fine.Final i), Array.init n (fun i -> dist a.Final check.Final i), a.Steps, check.Steps

[<Fact>]
let ``B.bound's reference solves: tied layers at L = 256, one step per layer interval → the estimate, ten times, covers the distance to a finer solve; the check solve without its midpoint stops → it does not`` () =
    let run = smoothDeep ()
    let L = run.Setting.Depth
    let checks = EulerError.analyse run
    // snapshot 0 has V = 0: the flow is the identity, both solves are exact and the estimate is 0, rightly
    for s in 1 .. run.SnapshotCount - 1 do
        let c = checks.[s]
        let toFine, withMidpoints, steps, checkSteps = distances run s c (EulerError.checkSolveStops L)
        // the case the stops are for: the first solve takes one step per layer interval (and one more on [0, 1/L])
        Assert.True(c.OdeSteps <= L + 1 && steps = c.OdeSteps, sprintf "snapshot %d: %d steps (the setting should take one per interval)" s c.OdeSteps)
        Assert.True(checkSteps >= 2 * L, sprintf "snapshot %d: the check solve took %d steps, fewer than two per interval" s checkSteps)
        // the analysis reports the check solve's steps (a constant of the B.* rows)
        Assert.Equal(checkSteps, c.CheckSteps)
        for x in c.Samples do
            // the analysis' estimate is the difference with the check solve that stops at the midpoints
            Assert.Equal(withMidpoints.[x.Sample], x.IntegrationError)
            Assert.True(x.IntegrationError > 0.0, sprintf "snapshot %d sample %d: estimate 0" s x.Sample)
            Assert.True(EulerError.EstimateMargin * x.IntegrationError >= toFine.[x.Sample],
                        sprintf "snapshot %d sample %d: 10 × estimate %.3e < distance to the finer solve %.3e" s x.Sample x.IntegrationError toFine.[x.Sample])
    // negative control: the check solve with the layer nodes only, as before the midpoints: it takes as many steps as the
    // first solve, and ten times its difference falls short of the distance to the finer solve somewhere
    let short =
        [ for s in 1 .. run.SnapshotCount - 1 do
            let toFine, nodesOnly, steps, checkSteps = distances run s checks.[s] [||]
            Assert.Equal(steps, checkSteps)
            for i in 0 .. toFine.Length - 1 do
                if EulerError.EstimateMargin * nodesOnly.[i] < toFine.[i] then yield s, i ]
    Assert.NotEmpty(short)

[<Fact>]
let ``B.bound: one step of η = 10⁻¹⁰ from V = 0 (a bound of order 10⁻¹⁹, far below the reference solve's rounding) → hypothesis 'reference solve accurate' not met, the estimate above 10⁻³ of the bound`` () =
    let run = train (RunSpec(Depth = 64, Width = 8, Dim = 4, Samples = 8, Eta = 1e-10, Iterations = 1, Snapshots = 2, Seed = 3L))
    let c = (EulerError.analyse run).[1]
    let est = c.Samples |> Array.map (fun x -> x.IntegrationError) |> Array.max
    let bound = c.Samples |> Array.map (fun x -> x.Bound) |> Array.min
    // the setting: the layers barely moved, so the first solve takes one step per layer interval and the bound is tiny
    Assert.True(c.OdeSteps <= run.Setting.Depth + 1, sprintf "%d steps" c.OdeSteps)
    Assert.True(bound > 0.0 && bound < 1e-15, sprintf "bound %.3e" bound)
    // the estimate sees the solves' rounding (with the check solve's midpoint stops; with the nodes only it was exactly 0
    // here and the rows held on a comparison below the reference's own error)
    Assert.True(est > EulerError.IntegrationFraction * bound, sprintf "estimate %.3e, bound %.3e" est bound)
    for r in [ EulerError.bound; EulerError.boundSecant; EulerError.boundDefect; EulerError.localError ] do
        match (Result.evaluate r run).Verdict with
        | HypothesisNotMet unmet -> Assert.Contains(unmet, fun (name, _) -> name = "reference solve accurate")
        | v -> Assert.Fail(sprintf "%s: expected the reference solve's hypothesis not met, got %A" r.Id v)

[<Fact>]
let ``B.bound, B.bound.secant, B.local: the last snapshot's softplus weights scaled 100-fold (a flow beyond float64) → hypothesis not met, the bound said not a number, never compared as NaN`` () =
    let run = train (RunSpec(Depth = 2, Width = 8, Dim = 3, Samples = 16, Activation = ActivationKind.Softplus, Init = InitKind.Iid, Iterations = 2, Snapshots = 2, Seed = 311L))
    let last = run.SnapshotCount - 1
    // the setting of a user's diverged softplus run: its last snapshot's entries in the hundreds
    for a in [ run.W last; run.V last ] do
        for i in 0 .. a.Length - 1 do a.[i] <- 100.0 * a.[i]
    for r in [ EulerError.bound; EulerError.boundSecant; EulerError.localError ] do
        match (Result.evaluate r run).Verdict with
        | HypothesisNotMet unmet ->
            let _, why = unmet |> List.find (fun (name, _) -> name = "reference solve accurate")
            Assert.DoesNotContain("NaN", why)
            Assert.True(why.Contains "the bound is not a number", sprintf "%s: %s" r.Id why)
        | v -> Assert.Fail(sprintf "%s: expected the reference solve's hypothesis not met, got %A" r.Id v)
