/// A NaN measured at one iterate, snapshot or layer must not vanish from a worst case: the NaN-keeping extremes of the
/// comparison kernel, and the results whose verdicts read such a worst case with a NaN placed at a later position of
/// their evidence (docs/architecture.md, "Worst cases and NaN"). Also the derived relative allowance of result C's
/// losses and trace quantities (`Rounding.traceRel`, docs/theorems/PolyakLojasiewicz.md).
module ResOdeProofs.Properties.NaNWorstCaseTests

open System
open Xunit
open FsCheck
open FsCheck.FSharp
open ResOdeProofs.Numerics
open ResOdeProofs.Numerics.Training
open ResOdeProofs.Theory
open ResOdeProofs.Properties.Generators
open ResOdeProofs.Properties.Profile

// ---------------------------------------------------------------- the kernel's extremes

[<Fact>]
let ``Comparison.maxKeepNaN: a NaN after the first entry → NaN, where Array.max passes over it`` () =
    let xs = [| 1.0; 3.0; nan; 2.0 |]
    Assert.Equal(3.0, Array.max xs) // the behaviour the kernel replaces
    Assert.True(Double.IsNaN(Comparison.maxKeepNaN xs))
    Assert.True(Double.IsNaN(Comparison.minKeepNaN xs))
    Assert.True(Double.IsNaN(Comparison.maxKeepNaNOr 0.0 (Seq.ofArray xs)))
    Assert.True(Double.IsNaN(Comparison.minKeepNaN [ 1.0; 2.0; nan ]))

[<Fact>]
let ``Comparison.maxKeepNaNOr: no entry → the stated value; maxKeepNaN: no entry → refused`` () =
    Assert.Equal(0.0, Comparison.maxKeepNaNOr 0.0 Array.empty<float>)
    Assert.Equal(infinity, Comparison.minKeepNaNOr infinity Array.empty<float>)
    Assert.Throws<ArgumentException>(fun () -> Comparison.maxKeepNaN Array.empty<float> |> ignore) |> ignore

[<Fact>]
let ``Comparison.worstBy: a NaN key at the third entry → that entry, where List.maxBy keeps a finite one`` () =
    let xs = [ ("a", 1.0); ("b", 5.0); ("c", nan); ("d", 2.0) ]
    Assert.Equal("b", fst (List.maxBy snd xs)) // the behaviour the kernel replaces
    Assert.Equal("c", fst (Comparison.worstBy snd xs))
    Assert.Equal("c", fst (Comparison.worstByMin snd xs))

/// On NaN-free input the NaN-keeping extremes are the library's: no verdict on a clean run changes by them.
[<ProfiledProperty(100, Replay = "(4242,1717)")>]
let ``Comparison.maxKeepNaN, minKeepNaN, worstBy, worstByMin: NaN-free entries → the same as Array.max, min, maxBy, minBy`` (xs: NormalFloat list) =
    let a = xs |> List.map (fun x -> x.Get) |> Array.ofList
    let idx = [| 0 .. a.Length - 1 |]
    a.Length = 0
    || (Comparison.maxKeepNaN a = Array.max a && Comparison.minKeepNaN a = Array.min a
        && Comparison.worstBy (fun i -> a.[i]) idx = Array.maxBy (fun i -> a.[i]) idx
        && Comparison.worstByMin (fun i -> a.[i]) idx = Array.minBy (fun i -> a.[i]) idx)

// ---------------------------------------------------------------- results whose worst case a later NaN must reach

/// The hypotheses of result C (m ≥ n + 2, V(0) = 0, tied init, smooth σ, small η), one fixed setting.
let private plRun () =
    train (RunSpec(Depth = 4, Width = 8, Samples = 4, Dim = 3, Activation = ActivationKind.Gelu, Init = InitKind.Tied,
                   VScale = 0.0, Eta = 0.01, Iterations = 12, Snapshots = 3, Seed = 11L))

let private eval (r: Result<Run>) run = Result.evaluate r run

[<Fact>]
let ``C.runRate: a NaN in the pl_ratio column at iterate 5 → not holds (μ_run not a number: no finite bound)`` () =
    let run = plRun ()
    Assert.True(Verdict.isHolds (eval PolyakLojasiewicz.runRate run).Verdict, "clean run: C.runRate holds")
    run.Trace("pl_ratio").Value.[5] <- nan
    let e = eval PolyakLojasiewicz.runRate run
    Assert.True(Verdict.isHypothesisNotMet e.Verdict, sprintf "%A" e.Verdict)
    Assert.True(e.Constants |> List.exists (fun (n, v) -> n = "mu_run" && Double.IsNaN v), sprintf "%A" e.Constants)

[<Fact>]
let ``C.runRate: a NaN in the grad_norm column at iterate 3 → hypothesis not met (descent condition η·β̂_j < 2)`` () =
    let run = plRun ()
    run.Trace("grad_norm").Value.[3] <- nan
    match (eval PolyakLojasiewicz.runRate run).Verdict with
    | HypothesisNotMet l -> Assert.Contains(l, fun (n, _) -> n.StartsWith "descent condition η·β̂_j < 2")
    | v -> failwithf "expected the descent hypothesis not met, got %A" v

let private tiedLadder () =
    [ 4; 8; 16; 32 ]
    |> List.map (fun l -> train (RunSpec(Depth = l, Width = 6, Samples = 5, Dim = 3, Init = InitKind.Tied, Eta = 0.01, Iterations = 10, Snapshots = 2, Seed = 4L)))
    |> Ladder.create
    |> function
        | Ok l -> l
        | Error e -> failwith e

[<Fact>]
let ``A.rate: a NaN in one run's smooth_z column at iterate 6 → not measured (before: the maximum passed over it and held)`` () =
    let ladder = tiedLadder ()
    Assert.True(Verdict.isHolds (Result.evaluate DepthSmoothness.rate ladder).Verdict, "clean ladder: A.rate holds")
    let run = ladder.Runs.[1]
    run.Trace("smooth_z").Value.[6] <- nan
    Assert.True(Double.IsNaN(DepthSmoothness.maxIncrement run))
    match (Result.evaluate DepthSmoothness.rate ladder).Verdict with
    | HypothesisNotMet [ name, _ ] -> Assert.Equal("finite measured quantity", name)
    | v -> failwithf "expected not measured, got %A" v

[<Fact>]
let ``Rate.verdict: an order whose interval is NaN → not measured, never violated`` () =
    let o : Rate.ObservedOrder =
        { Depths = [ 4; 8; 16 ]; Errors = [ 1.0; nan; 0.25 ]; Order = nan; Lower = nan; Upper = nan; Correction = 0.0; Weights = []; Rounding = 0.0; WeightRounding = []; Uncertainties = [] }
    Assert.Equal(Rate.Rejected, Rate.outcome [ o ]) // every comparison with NaN fails: read as a rejection before
    match Rate.verdict (Rate.outcome [ o ]) o "ladder" "max over the horizon" with
    | HypothesisNotMet [ name, _ ] -> Assert.Equal("finite measured quantity", name)
    | v -> failwithf "expected not measured, got %A" v

[<Fact(DisplayName = "Rate.decideOutcome: a narrow plain fit reaching the order and a corrected fit over [-∞, ∞] → consistent, and the reported fit is the narrow one (not 'slack ∞')")>]
let ``Rate.decideOutcome reports a supporting fit`` () =
    let plain : Rate.ObservedOrder =
        { Depths = [ 2; 4; 8 ]; Errors = [ 0.5; 0.25; 0.125 ]; Order = 1.02; Lower = 0.95; Upper = 1.09; Correction = 0.0; Weights = [ 0.0; 0.0; 0.0 ]; Rounding = 0.0; WeightRounding = []; Uncertainties = [] }
    // three depths and two parameters leave the corrected fit no degree of freedom: its interval is infinite (user test,
    // the tiny preset's D.curve: "slack Infinity" on a holding row)
    let corrected = { plain with Order = 0.998; Lower = -infinity; Upper = infinity; Correction = 0.01 }
    let outcome, best = Rate.decideOutcome plain corrected
    Assert.Equal(Rate.Consistent, outcome)
    Assert.True(Double.IsFinite best.Upper && Double.IsFinite best.Lower, sprintf "%A" best)
    match Rate.verdict outcome best "ladder" "t" with
    | Holds (slack, t) -> Assert.True(Double.IsFinite slack && Double.IsFinite t, sprintf "slack %g, tightness %g" slack t)
    | v -> failwithf "expected holds, got %A" v

[<Fact(DisplayName = "Rate.decideOutcome: the plain fit rejects order 1, the corrected fit is unusable (|c|/L ≥ 1 at L = 8) → inconclusive (hypothesis not met; the message says deeper depths would tell a ladder not yet asymptotic from an order below 1, not that the ladder is pre-asymptotic), not violated; with a usable corrected fit that rejects too → violated")>]
let ``Rate.decideOutcome leaves a pre-asymptotic rejection inconclusive`` () =
    let plain : Rate.ObservedOrder =
        { Depths = [ 8; 16; 32; 64; 128 ]; Errors = [ 1.0; 0.7; 0.5; 0.35; 0.25 ]; Order = 0.516; Lower = 0.136; Upper = 0.896; Correction = 0.0
          Weights = [ 0.0; 0.0; 0.0; 0.0; 0.0 ]; Rounding = 0.0; WeightRounding = []; Uncertainties = [] }
    let corrected = { plain with Order = 0.938; Lower = 0.567; Upper = 1.309; Correction = -8.16 }
    let outcome, best = Rate.decideOutcome plain corrected
    Assert.Equal(Rate.Inconclusive, outcome)
    match Rate.verdict outcome best "ladder" "t" with
    | HypothesisNotMet [ name, detail ] ->
        Assert.StartsWith("asymptotic ladder", name)
        // an i.i.d. ladder (no limit at all) reaches this case too: the message must not diagnose it as pre-asymptotic
        Assert.DoesNotContain("pre-asymptotic", detail)
        Assert.Contains("deeper depths would tell them apart", detail)
    | v -> failwithf "expected hypothesis not met, got %A" v
    // the same plain fit with a usable corrected fit that rejects as well → violated
    let outcome2, best2 = Rate.decideOutcome plain { corrected with Order = 0.6; Lower = 0.4; Upper = 0.8; Correction = -2.0 }
    Assert.Equal(Rate.Rejected, outcome2)
    Assert.True(Verdict.isViolated (Rate.verdict outcome2 best2 "ladder" "t"))

[<Fact(DisplayName = "Rate.decideOutcome: three fitted depths, the plain fit wider than 1 and reaching the order, the corrected fit over [-∞, ∞] → inconclusive, and the reported fit is the plain one widened (finite), not [-∞, ∞]; a corrected fit that is not a number → not measured")>]
let ``Rate.decideOutcome reports the narrowest fit of an inconclusive ladder`` () =
    // D.curve of a faithful GELU ladder over L = 4, 8, 16 against 32 (Z at iteration 15, the errors its notes print)
    let depths = [ 4; 8; 16 ]
    let errs = [ 5.209e-1; 1.969e-1; 8.930e-2 ]
    let plain, corrected = Rate.fit depths errs, Rate.fitWithCorrection depths errs
    Assert.True(Double.IsInfinity corrected.Upper && plain.Upper - plain.Lower >= 1.0, sprintf "%A / %A" plain corrected)
    let outcome, best = Rate.decideOutcome plain corrected
    Assert.Equal(Rate.Inconclusive, outcome)
    Assert.True(Double.IsFinite best.Lower && Double.IsFinite best.Upper, sprintf "%A" best)
    Assert.Equal(plain.Order, best.Order)
    Assert.True(best.Lower <= plain.Lower && best.Upper >= plain.Upper)
    match Rate.verdict outcome best "ladder" "t" with
    | HypothesisNotMet [ name, detail ] ->
        Assert.Equal("informative interval (width < 1)", name)
        Assert.DoesNotContain("Infinity", detail)
    | v -> failwithf "expected hypothesis not met, got %A" v
    // a corrected fit that is not a number is still reported first: not measured, never passed over for a finite one
    let nanCorrected = { corrected with Lower = nan; Upper = nan; Correction = 0.1 }
    let outcome2, best2 = Rate.decideOutcome plain nanCorrected
    Assert.Equal(Rate.Inconclusive, outcome2)
    match Rate.verdict outcome2 best2 "ladder" "t" with
    | HypothesisNotMet [ name, _ ] -> Assert.Equal("finite measured quantity", name)
    | v -> failwithf "expected not measured, got %A" v

[<Fact(DisplayName = "Rate.decideOutcome: three fitted depths, the plain fit narrow and below the order, the corrected fit over [-∞, ∞] → inconclusive, reporting the plain fit widened and saying the corrected one has no degree of freedom left, not [-∞, ∞]")>]
let ``Rate.decideOutcome reports the finite fit when only an infinite one reaches the order`` () =
    // D.curve of a NumPy MLP ladder (GELU, embedding A and read-out B) over L = 4, 8, 16 against 32: V at iteration 39, the
    // errors its notes print
    let depths = [ 4; 8; 16 ]
    let errs = [ 1.535e-1; 7.949e-2; 4.135e-2 ]
    let plain, corrected = Rate.fit depths errs, Rate.fitWithCorrection depths errs
    Assert.True(Double.IsInfinity corrected.Upper && plain.Upper < 1.0 && plain.Upper - plain.Lower < 1.0, sprintf "%A / %A" plain corrected)
    let outcome, best = Rate.decideOutcome plain corrected
    Assert.Equal(Rate.Inconclusive, outcome)
    Assert.Equal(plain.Order, best.Order)
    Assert.True(Double.IsFinite best.Lower && best.Upper < 1.0 && best.Lower <= plain.Lower, sprintf "%A" best)
    match Rate.verdict outcome best "ladder" "t" with
    | HypothesisNotMet [ _, detail ] ->
        Assert.DoesNotContain("Infinity", detail)
        Assert.Contains("lies below 1", detail)
        Assert.Contains("no degree of freedom", detail)
    | v -> failwithf "expected hypothesis not met, got %A" v

[<Fact(DisplayName = "Rate.reportedAt: a ladder inconclusive in one part (an interval wider than 1) and supported by another → the row reports the inconclusive part and its interval, not the supporting part's fit as lying below 1")>]
let ``Rate.reportedAt reports a part that gave the combined outcome`` () =
    // D.curve of a faithful softplus ladder (n = 10, d = 3, m = 8, 100 iterations, η = 0.002, L = 4 … 64; the errors of
    // L = 4 … 32 against L = 64 as its notes print them): V at iteration 50 supports the rate, W at iteration 100 cannot
    // tell it from no decay
    let depths = [ 4; 8; 16; 32 ]
    let decided part errs =
        let plain = Rate.fit depths errs
        part, plain, Rate.decideOutcome plain (Rate.fitWithCorrection depths errs)
    let items =
        [ decided "V, iteration 50" [ 4.237e-1; 1.591e-1; 7.625e-2; 3.853e-2 ]
          decided "W, iteration 100" [ 2.557e-1; 7.626e-2; 3.811e-2; 1.902e-2 ] ]
    let outcomeOf (_, _, (o, _)) = o
    Assert.Equal<Rate.RateOutcome list>([ Rate.Consistent; Rate.Inconclusive ], items |> List.map outcomeOf)
    let combined = items |> List.map outcomeOf |> Rate.combine
    Assert.Equal(Rate.Inconclusive, combined)
    let part, plain, (_, best) = items |> Rate.reportedAt combined outcomeOf (fun (_, _, (_, o)) -> o.Upper)
    Assert.Equal("W, iteration 100", part)
    Assert.True(plain.Upper - plain.Lower >= Rate.inconclusiveWidth, sprintf "%A" plain)
    match Rate.verdict combined best "ladder" part with
    | HypothesisNotMet [ name, detail ] ->
        Assert.Equal("informative interval (width < 1)", name)
        Assert.DoesNotContain("lies below 1", detail)
    | v -> failwithf "expected hypothesis not met, got %A" v
    // the smallest upper end over every part (the rule before) is the supporting part's
    Assert.Equal("V, iteration 50", (items |> Comparison.worstByMin (fun (_, _, (_, o)) -> o.Upper) |> fun (p, _, _) -> p))

[<Fact(DisplayName = "Rate.reportedAt: a rejected snapshot beside a pre-asymptotic one whose fit ends lower → the rejected one is reported; a consistent outcome → the smallest upper end of all, as before")>]
let ``Rate.reportedAt reports a rejection at a rejected item`` () =
    let fit upper : Rate.ObservedOrder =
        { Depths = [ 4; 8; 16; 32; 64 ]; Errors = []; Order = upper - 0.1; Lower = upper - 0.2; Upper = upper; Correction = 0.0
          Weights = []; Rounding = 0.0; WeightRounding = []; Uncertainties = [] }
    let items =
        [ "pre-asymptotic", Rate.PreAsymptotic(fit 0.80, fit 1.1), 0.80
          "rejected", Rate.Rejected, 0.95
          "consistent", Rate.Consistent, 1.2 ]
    let outcomeOf (_, o, _) = o
    let upperOf (_, _, u) = u
    let combined = items |> List.map outcomeOf |> Rate.combine
    Assert.Equal(Rate.Rejected, combined)
    let name, _, _ = items |> Rate.reportedAt combined outcomeOf upperOf
    Assert.Equal("rejected", name)
    // the smallest upper end over every item (the rule before) is the pre-asymptotic one's
    Assert.Equal("pre-asymptotic", (items |> Comparison.worstByMin upperOf |> fun (n, _, _) -> n))
    // a consistent outcome (every item consistent, or none decided, as D.rate passes its undecided snapshots): all items
    let name2, _, _ = items |> Rate.reportedAt Rate.Consistent outcomeOf upperOf
    Assert.Equal("pre-asymptotic", name2)

[<Fact(DisplayName = "GenericResults.pathRadius: speed F(r) = r from 10 over dt = 0.5 → 23 (c = 16: F(26)·dt = 13 ≤ 16), where c = 1 alone gave ∞; a constant speed 1 → 10.5 as before; a speed too large for any c → ∞")>]
let ``pathRadius finds a radius beyond the first try`` () =
    Assert.Equal(23.0, GenericResults.pathRadius id 10.0 0.5)
    Assert.Equal(10.5, GenericResults.pathRadius (fun _ -> 1.0) 10.0 0.5)
    Assert.True(Double.IsPositiveInfinity(GenericResults.pathRadius (fun _ -> 1e300) 10.0 0.5))
    Assert.True(Double.IsPositiveInfinity(GenericResults.pathRadius id infinity 0.5))

// ---------------------------------------------------------------- result C's derived rounding allowance

/// C.mu0 holds iff r̃(0) ≥ μ₀ − (e_μ + ρ·r̃(0)), e_μ the rounding of μ₀ and ρ = γ_N, N = L·P + n·d_out + 3 (u = 2⁻⁵³),
/// i.e. iff r̃(0)·(1 + ρ) ≥ T := μ₀ − e_μ. r̃(0) = T/(1 + ρ/2) is within the allowance, T/(1 + 2ρ) beyond it by ρ/2
/// relative (≈ 1e-14 here, far above the few-ulp rounding of forming these numbers, and far below the former 1e-9).
[<Fact>]
let ``C.mu0: r̃(0) below μ₀ by twice the derived allowance γ_{LP+nd+3} → violated; by half of it → holds`` () =
    let run = plRun ()
    let L, P, n, dOut = 4, 2 * 8 * 3, 4, 3
    let N = float (L * P + n * dOut + 3)
    let u = 1.1102230246251565e-16
    let rho = N * u / (1.0 - N * u)
    Assert.Equal(rho, Rounding.traceRel run)
    let ic = PolyakLojasiewicz.initConstants run
    Assert.True(ic.Mu0 > 1e3 * ic.Mu0Error, sprintf "μ₀ %g vs its rounding %g" ic.Mu0 ic.Mu0Error)
    let t = ic.Mu0 - ic.Mu0Error
    let pl = run.Trace("pl_ratio").Value
    pl.[0] <- t / (1.0 + 0.5 * rho)
    Assert.True(Verdict.isHolds (eval PolyakLojasiewicz.initialPl run).Verdict, "within the allowance")
    pl.[0] <- t / (1.0 + 2.0 * rho)
    Assert.True(Verdict.isViolated (eval PolyakLojasiewicz.initialPl run).Verdict, "beyond the allowance")
