/// The theory core's shared vocabulary checked on its own: the one least-squares fit (a hand-computed example and a
/// known-slope property), the one RK4 step and driver (their order on an ODE with a known solution) and the
/// lower-bound comparison.
module ResOdeProofs.Properties.VocabularyTests

open System
open Xunit
open FsCheck
open FsCheck.FSharp
open ResOdeProofs.Theory
open ResOdeProofs.Properties.Profile

// ---------------------------------------------------------------- least squares

/// Four points worked by hand: x = 0, 1, 2, 3 and y = 1, 3, 2, 5 give x̄ = 1.5, ȳ = 2.75, Sxx = 5, Sxy = 5.5, so
/// b = 1.1 and a = ȳ − b·x̄ = 1.1; the residuals −0.1, 0.8, −1.3, 0.6 give RSS = 2.7, s² = RSS/2 = 1.35 and
/// se(b) = (s²/Sxx)^{1/2} = 0.27^{1/2}. With two degrees of freedom Student's quantile has the closed form
/// t_p = (2p − 1)/(2p(1 − p))^{1/2}, so t_{0.975} = 0.95/0.04875^{1/2} and the half-width is t_{0.975}·0.27^{1/2}.
[<Fact>]
let ``LeastSquares.line: four points worked by hand → slope 1.1, intercept 1.1, half-width t(0.975, 2)·0.27^½`` () =
    let f = LeastSquares.line [| 0.0; 1.0; 2.0; 3.0 |] [| 1.0; 3.0; 2.0; 5.0 |]
    let half = 0.95 / sqrt 0.04875 * sqrt 0.27
    // a 2×2 normal-equation solve of numbers of order 10: rounding far below 1e-12 relative
    let close (expected: float) (actual: float) = Assert.True(abs (actual - expected) <= 1e-12 * abs expected, sprintf "%.17g, expected %.17g" actual expected)
    close 1.1 f.Slope
    close 1.1 f.Intercept
    close half f.HalfWidth
    Assert.Equal(4, f.Points)

[<Fact>]
let ``LeastSquares.line: two points → the line through them with an infinite half-width`` () =
    let f = LeastSquares.line [| 1.0; 3.0 |] [| 2.0; 8.0 |]
    Assert.True(abs (f.Slope - 3.0) <= 1e-14 && abs (f.Intercept + 1.0) <= 1e-14, sprintf "slope %g intercept %g" f.Slope f.Intercept)
    Assert.True(Double.IsPositiveInfinity f.HalfWidth)

/// Distinct abscissae in [−4, 4] and residuals in [−1, 1].
let private sample =
    gen {
        let! n = Gen.choose (3, 9)
        let! xs = Gen.listOfLength n (Gen.choose (-4000, 4000)) |> Gen.filter (fun l -> (List.distinct l).Length = l.Length)
        let! noise = Gen.listOfLength n (Gen.choose (-1000, 1000))
        let! slope = Gen.choose (-3000, 3000)
        let! intercept = Gen.choose (-3000, 3000)
        return (xs |> List.map (fun x -> float x / 1000.0) |> Array.ofList), (noise |> List.map (fun e -> float e / 1000.0) |> Array.ofList),
               float slope / 1000.0, float intercept / 1000.0
    }

/// Least squares is linear in y, and the line a + b·x is fitted exactly: adding it to any data adds b to the slope and
/// leaves the residuals, hence the half-width, unchanged; on the line alone the slope is b and the half-width 0.
[<ProfiledProperty(100, Replay = "(2468,1357)")>]
let ``LeastSquares.line: a known line added to any residuals → its slope recovered, half-width unchanged`` () =
    Prop.forAll (Arb.fromGen sample) (fun (xs, noise, b, a) ->
        let onLine = xs |> Array.map (fun x -> a + b * x)
        let base' = LeastSquares.line xs noise
        let shifted = LeastSquares.line xs (Array.map2 (+) noise onLine)
        let exact = LeastSquares.line xs onLine
        // values of order 10 through a 2×2 solve: an absolute 1e-9 is far above the rounding and far below any error
        let near x y = abs (x - y) <= 1e-9
        near shifted.Slope (base'.Slope + b) && near shifted.HalfWidth base'.HalfWidth
        && near exact.Slope b && near exact.Intercept a && exact.HalfWidth <= 1e-9)

/// The rate results' plain log-log order is the same fit: order = −slope of log error against log L.
[<ProfiledProperty(100, Replay = "(1212,3435)")>]
let ``Rate.fit: any ladder of errors → the order is minus LeastSquares.line's slope, with its interval`` () =
    Prop.forAll (Arb.fromGen sample) (fun (xs, noise, _, _) ->
        let depths = xs |> Array.mapi (fun i _ -> 1 <<< (i + 1)) |> List.ofArray
        let errors = noise |> Array.map exp |> List.ofArray
        let o = Rate.fit depths errors
        let f = LeastSquares.line (depths |> List.map (float >> log) |> Array.ofList) (errors |> List.map log |> Array.ofList)
        let near x y = abs (x - y) <= 1e-9 * (1.0 + abs y)
        near o.Order -f.Slope && near o.Lower (-f.Slope - f.HalfWidth) && near o.Upper (-f.Slope + f.HalfWidth))

// ---------------------------------------------------------------- RK4

/// y' = t·y, y(0) = 1 has y(1) = e^{1/2}: non-autonomous, so the stages must see the field at s, s + dt/2 and s + dt.
let private solve (step: (float[] -> float[]) -> (float[] -> float[]) -> (float[] -> float[]) -> float -> float[] -> float[]) (m: int) =
    let f (t: float) (y: float[]) = [| t * y.[0] |]
    let dt = 1.0 / float m
    let mutable y = [| 1.0 |]
    for q in 0 .. m - 1 do
        let t = float q * dt
        y <- step (f t) (f (t + dt / 2.0)) (f (t + dt)) dt y
    abs (y.[0] - exp 0.5)

/// The observed order log₂(e(M)/e(2M)) at M = 16 → 32; a fourth-order method gives 4 up to O(1/M) (the next term of
/// its error expansion), here within 0.1; a method whose middle stages see the field at the wrong time is first order.
let private observedOrder step = Math.Log2(solve step 16 / solve step 32)

[<Fact>]
let ``Integration.rk4Step: y' = t·y with the step halved → error divided by ≈ 16 (fourth order)`` () =
    let p = observedOrder Integration.rk4Step
    Assert.True(abs (p - 4.0) <= 0.1, sprintf "observed order %.4f (error ratio %.3f)" p (2.0 ** p))

[<Fact>]
let ``Integration.rk4Step: middle stages given the field at the start of the step → order check fails (first order)`` () =
    let wrong atStart _ atEnd dt h = Integration.rk4Step atStart atStart atEnd dt h
    let p = observedOrder wrong
    Assert.True(abs (p - 4.0) > 0.1, sprintf "a stepper with wrong stage times passed the order check: %.4f" p)

/// The same ODE through the driver `rk4Solve`, the field of step q at fraction frac given by `field dt q frac`; also
/// counts the states it was shown (one per step).
let private solveWith (field: float -> int -> float -> float) (m: int) =
    let dt = 1.0 / float m
    let mutable seen = 0
    let y = Integration.rk4Solve (fun q frac -> let t = field dt q frac in fun (y: float[]) -> [| t * y.[0] |]) dt m (fun _ _ -> seen <- seen + 1) [| 1.0 |]
    Assert.Equal(m, seen)
    abs (y.[0] - exp 0.5)

[<Fact>]
let ``Integration.rk4Solve: y' = t·y with the step halved → error divided by ≈ 16 (fourth order), every step observed`` () =
    let field dt q frac = float q * dt + frac * dt
    let p = Math.Log2(solveWith field 16 / solveWith field 32)
    Assert.True(abs (p - 4.0) <= 0.1, sprintf "observed order %.4f" p)

[<Fact>]
let ``Integration.rk4Solve: a field that ignores the stage's fraction of the step → order check fails`` () =
    let field dt q _ = float q * dt
    let p = Math.Log2(solveWith field 16 / solveWith field 32)
    Assert.True(abs (p - 4.0) > 0.1, sprintf "a driver with wrong stage times passed the order check: %.4f" p)

// ---------------------------------------------------------------- lower-bound comparison

[<Fact>]
let ``Comparison.atLeast: measured 0.9 against a lower bound 1 with allowance 0.05 → violated with the witness`` () =
    match Comparison.atLeast 0.9 1.0 0.05 "all layers" "iteration 3" with
    | Violated w -> Assert.True(w.Measured = 0.9 && w.Bound = 1.0 && w.When = "iteration 3")
    | v -> failwithf "expected violated, got %A" v

[<Fact>]
let ``Comparison.atLeast: measured 0.96 against 1 with allowance 0.05, and 2 against 1 → holds (tightness measured / bound)`` () =
    Assert.True(Verdict.isHolds (Comparison.atLeast 0.96 1.0 0.05 "w" "t"))
    match Comparison.atLeast 2.0 1.0 0.0 "w" "t" with
    | Holds(slack, t) -> Assert.True(slack = 1.0 && t = 2.0)
    | v -> failwithf "expected holds, got %A" v

[<Fact>]
let ``Comparison.atLeast: a measurement or a bound that is not a number → hypothesis not met, never violated`` () =
    for v in [ Comparison.atLeast nan 1.0 0.0 "w" "t"; Comparison.atLeast 1.0 nan 0.0 "w" "t" ] do
        match v with
        | HypothesisNotMet _ -> ()
        | other -> failwithf "expected hypothesis not met, got %A" other

[<Fact>]
let ``Comparison.worstIndexMax, worstIndexMin: a NaN after the first entry → its index (Array.maxBy and minBy pass over it); finite keys → the indices of maxBy and minBy`` () =
    let keys = [| 1.0; 5.0; nan; 7.0; 7.0; -2.0 |]
    // the kernel's search: the NaN at 2 is the worst either way
    Assert.Equal(2, Comparison.worstIndexMax keys.Length (fun i -> keys.[i]))
    Assert.Equal(2, Comparison.worstIndexMin keys.Length (fun i -> keys.[i]))
    // the library's: the NaN is passed over (why the kernel has its own search)
    Assert.Equal(3, [| 0 .. keys.Length - 1 |] |> Array.maxBy (fun i -> keys.[i]))
    Assert.Equal(5, [| 0 .. keys.Length - 1 |] |> Array.minBy (fun i -> keys.[i]))
    // without a NaN, the same first extremum as the library's (ties included)
    let finite = [| 1.0; 5.0; 7.0; -2.0; 7.0; -2.0 |]
    Assert.Equal([| 0 .. finite.Length - 1 |] |> Array.maxBy (fun i -> finite.[i]), Comparison.worstIndexMax finite.Length (fun i -> finite.[i]))
    Assert.Equal([| 0 .. finite.Length - 1 |] |> Array.minBy (fun i -> finite.[i]), Comparison.worstIndexMin finite.Length (fun i -> finite.[i]))

// ---------------------------------------------------------------- a holding row's negative slack

/// A result of one comparison, measured m against bound 1 with the relative rounding allowance 10⁻¹⁰.
let private oneComparison (m: float) : Result<int> =
    { Id = "T.slack"; Title = "one comparison"; Source = "test"; Provenance = ProvedHere; Doc = "docs/theorems/index.md"
      Statement = "m ≤ 1"; Hypotheses = []
      Conclusion = fun _ -> Comparison.evaluation 1e-10 [ { Measured = m; Bound = 1.0; Where = "m"; When = "once" } ] [] [] }

/// A result with an ordinary hypothesis "x ≥ 0" between two deferred ones that count their calls (the second deferred one
/// fails on x = 7): the deferred checks are made only when the ordinary one holds, a deferred one only when the deferred
/// ones before it hold too; every hypothesis is listed in its place, and the verdict names only those that failed.
[<Fact>]
let ``Result.evaluate: deferred hypotheses (Hypotheses.whenOthersHold) → made only when the others hold, listed as not evaluated otherwise, never named as the reason`` () =
    let calls = Array.zeroCreate 2
    let counted i ok (x: int) = calls.[i] <- calls.[i] + 1; if ok x then Met "made" else NotMet "failed"
    let r : Result<int> =
        { oneComparison 0.5 with
            Id = "T.deferred"
            Hypotheses =
                [ Hypotheses.whenOthersHold ("first costly", counted 0 (fun _ -> true))
                  "x ≥ 0", (fun x -> if x >= 0 then Met "yes" else NotMet "x < 0")
                  Hypotheses.whenOthersHold ("second costly", counted 1 (fun x -> x <> 7)) ]
            Conclusion = fun _ -> Comparison.evaluation 1e-10 [ { Measured = 0.5; Bound = 1.0; Where = "m"; When = "once" } ] [] [] }
    let names (e: Evaluation) = e.Hypotheses |> List.map (fun (n, _, _) -> n) |> List.take 3
    // x < 0: neither costly check is made; the verdict names the ordinary hypothesis alone
    let e = Result.evaluate r -1
    Assert.Equal<int[]>([| 0; 0 |], calls)
    Assert.Equal<string list>([ "first costly"; "x ≥ 0"; "second costly" ], names e)
    match e.Verdict with
    | HypothesisNotMet why -> Assert.Equal<(string * string) list>([ "x ≥ 0", "x < 0" ], why)
    | v -> failwithf "%A" v
    for (n, ok, detail) in e.Hypotheses do
        if n <> "x ≥ 0" then Assert.False(ok); Assert.Equal(Result.NotEvaluated, detail)
    // x = 1: both made, the conclusion evaluated
    let e = Result.evaluate r 1
    Assert.Equal<int[]>([| 1; 1 |], calls)
    Assert.True(Verdict.isHolds e.Verdict, sprintf "%A" e.Verdict)
    // x = 7: both made, the second fails and is the reason
    let e = Result.evaluate r 7
    Assert.Equal<int[]>([| 2; 2 |], calls)
    match e.Verdict with
    | HypothesisNotMet why -> Assert.Equal<(string * string) list>([ "second costly", "failed" ], why)
    | v -> failwithf "%A" v
    // a deferred check that fails stops the deferred ones after it
    let r2 = { r with Hypotheses = [ Hypotheses.whenOthersHold ("fails", fun (_: int) -> NotMet "no"); Hypotheses.whenOthersHold ("after", counted 0 (fun _ -> true)) ] }
    let e = Result.evaluate r2 1
    Assert.Equal(2, calls.[0])
    Assert.Equal<string list>([ "fails"; "after" ], e.Hypotheses |> List.map (fun (n, _, _) -> n))
    match e.Verdict with
    | HypothesisNotMet why -> Assert.Equal<(string * string) list>([ "fails", "no" ], why)
    | v -> failwithf "%A" v
    // the hypotheses made from a deferred one keep the mark: lifted to a ladder, or wrapped (gdOnly, flowOnly, the PL wrapper);
    // an ordinary one stays ordinary
    let costly : Hypotheses.Hypothesis<Run> = Hypotheses.whenOthersHold ("costly", fun _ -> Met "made")
    Assert.True(DeferredCheck.isDeferred (snd (Hypotheses.onEveryRun costly)))
    Assert.True(DeferredCheck.isDeferred (snd (Hypotheses.mapCheck (fun h run -> h run) costly)))
    Assert.False(DeferredCheck.isDeferred (snd (Hypotheses.onEveryRun Hypotheses.notDiverged)))
    let onRuns : Result<Run> =
        { Id = "T.deferredRun"; Title = "deferred on runs"; Source = "test"; Provenance = ProvedHere; Doc = "docs/theorems/index.md"
          Statement = "-"; Hypotheses = [ Hypotheses.notDiverged; costly ]; Conclusion = fun _ -> Evaluation.notApplicable "-" }
    for wrapped in [ FlowRuns.gdOnly "A.flow" onRuns; FlowRuns.flowOnly "A.aposteriori" onRuns ] do
        Assert.Equal<bool list>([ false; true ], wrapped.Hypotheses |> List.map (snd >> DeferredCheck.isDeferred))

[<Fact(DisplayName = "Registry.evaluateRow: a conclusion that raises → an error row of one line, the exception with its stack trace kept in Registry.checkFailures for the verify's log")>]
let ``evaluateRow keeps the exception`` () =
    let raising : Result<int> = { oneComparison 0.5 with Id = "T.raises"; Conclusion = fun _ -> invalidArg "lo" "Need lo <= hi" }
    let row = Registry.evaluateRow raising "input" 0
    Assert.Equal("error", row.Verdict)
    let kept = Registry.checkFailures.ToArray() |> Array.filter (fun (struct (id, _, _)) -> id = "T.raises")
    Assert.NotEmpty(kept)
    let struct (_, input, ex) = kept.[kept.Length - 1]
    Assert.Equal("input", input)
    Assert.IsType<System.ArgumentException>(ex) |> ignore
    Assert.False(isNull ex.StackTrace, "the exception keeps its stack trace")

[<Fact>]
let ``Registry.evaluateRow: measured above the bound within the rounding allowance → holds, the detail says the slack is negative inside the allowance; below the bound → no such words`` () =
    let above = Registry.evaluateRow (oneComparison (1.0 + 1e-12)) "t" 0
    Assert.Equal("holds", above.Verdict)
    Assert.Contains("the bound crossed by less than the comparison's rounding allowance", above.Detail)
    let below = Registry.evaluateRow (oneComparison 0.5) "t" 0
    Assert.Equal("holds", below.Verdict)
    Assert.DoesNotContain("rounding allowance", below.Detail)
    let over = Registry.evaluateRow (oneComparison (1.0 + 1e-9)) "t" 0
    Assert.Equal("VIOLATED", over.Verdict)
    // six digits would print "measured 1 > bound 1": the witness then gives every digit
    Assert.Contains("measured 1.00000000", over.Detail)
    Assert.DoesNotContain("measured 1 > bound 1", over.Detail)
    Assert.Contains("measured 2 > bound 1", (Registry.evaluateRow (oneComparison 2.0) "t" 0).Detail)

[<Fact>]
let ``Registry.evaluateRow: a lower bound failed (Comparison.atLeast, measured 0.5 against 1) → 'measured 0.5 < bound 1 (a lower bound)', not '>'`` () =
    let r =
        { Id = "T.lower"; Title = "t"; Source = "s"; Provenance = ProvedHere; Doc = "d"; Statement = "s"; Hypotheses = []
          Conclusion = fun (_: int) -> { Evaluation.notApplicable "" with Verdict = Comparison.atLeast 0.5 1.0 0.0 "here" "now"; Measured = Some 0.5; Bound = Some 1.0 } }
    let row = Registry.evaluateRow r "t" 0
    Assert.Equal("VIOLATED", row.Verdict)
    Assert.Contains("measured 0.5 < bound 1 (a lower bound)", row.Detail)
    Assert.DoesNotContain(">", row.Detail)

/// A symmetric matrix with an exactly known spectrum: 2×2 blocks [[a, b], [b, a]] (eigenvalues a ± b, dyadic, exact) on the
/// diagonal, rows and columns permuted alike (exact).
let private knownSpectrum (seed: int) (n: int) (shift: float) =
    let rng = System.Random(seed)
    let b = Array.zeroCreate<float> (n * n)
    let eig = Collections.Generic.List<float>()
    for blk in 0 .. n / 2 - 1 do
        let a = float (rng.Next(1, 64)) / 8.0 + shift
        let off = float (rng.Next(-32, 32)) / 16.0
        let i, j = 2 * blk, 2 * blk + 1
        b.[i * n + i] <- a; b.[j * n + j] <- a; b.[i * n + j] <- off; b.[j * n + i] <- off
        eig.Add(a + off); eig.Add(a - off)
    let p = Array.init n id |> Array.sortBy (fun _ -> rng.Next())
    Array.init (n * n) (fun e -> b.[p.[e / n] * n + p.[e % n]]), Seq.min eig, Seq.max eig

[<Xunit.Fact>]
let ``Linalg.lambdaMinLower: matrices of exactly known spectrum (n = 2…64, λ_min positive or negative), the estimate exact or far too high → a certified bound at most λ_min and within 20(n + 1)u·Σ|b_ii| of it from the exact estimate`` () =
    let u = System.Math.ScaleB(1.0, -53)
    for n in [ 2; 8; 30; 64 ] do
        for shift in [ 4.0; -3.0 ] do
            for seed in 0 .. 4 do
                let b, lmin, lmax = knownSpectrum (seed + 100 * n) n shift
                let tr = Seq.sum (seq { for i in 0 .. n - 1 -> abs b.[i * n + i] })
                match Linalg.lambdaMinLower b n lmin with
                | Some lo ->
                    Xunit.Assert.True(lo <= lmin, sprintf "n = %d: %.17g above λ_min %.17g" n lo lmin)
                    Xunit.Assert.True(lmin - lo <= 20.0 * float (n + 1) * u * tr, sprintf "n = %d: %.17g below λ_min %.17g" n lo lmin)
                | None -> failwithf "n = %d: no certificate" n
                // an estimate far above the spectrum: the shifts descend until a factorization completes, still below λ_min
                match Linalg.lambdaMinLower b n (lmax + 10.0) with
                | Some lo -> Xunit.Assert.True(lo <= lmin, sprintf "n = %d: %.17g above λ_min %.17g" n lo lmin)
                | None -> ()

[<Xunit.Fact>]
let ``Linalg.lambdaMinLower: a singular 4×4 matrix scaled into the subnormal range (entries near 1e-319), the estimate one subnormal spacing → no positive bound (underflow counted; it certified it positive definite)`` () =
    // a referee's matrix: rank 3, determinant 0
    let a = [| 73481.0; 8781.0; 3996.0; 4532.0; 8781.0; 33907.0; 38547.0; 15328.0; 3996.0; 38547.0; 60341.0; -20976.0; 4532.0; 15328.0; -20976.0; 98784.0 |]
    let b = a |> Array.map (fun x -> x * System.Double.Epsilon)
    match Linalg.lambdaMinLower b 4 System.Double.Epsilon with
    | Some lo -> Xunit.Assert.True(lo <= 0.0, sprintf "certified λ_min ≥ %g > 0 for a singular matrix" lo)
    | None -> ()

/// x = m·2^e exactly, for a finite double x.
let private exactDouble (x: float) =
    let bits = BitConverter.DoubleToInt64Bits x
    let ex = int ((bits >>> 52) &&& 0x7FFL)
    let fr = bits &&& 0xFFFFFFFFFFFFFL
    let m = if ex = 0 then fr else fr ||| (1L <<< 52)
    let m = if x < 0.0 then -m else m
    Numerics.BigInteger(m), (if ex = 0 then -1074 else ex - 1075)

/// The sign of s² − λ for the double s ≥ 0 and λ = (t + side·√D)/2 an eigenvalue of the integer 2×2 Gram matrix
/// [p q; q r] (t = p + r, D = (p − r)² + 4q², side = +1 the largest, −1 the smallest), decided in exact integers:
/// sign(2s² − t − side·√D), 2s² − t = x·2^e with e ≤ 0.
let private signAgainstEigenvalue (s: float) (p: Numerics.BigInteger) (q: Numerics.BigInteger) (r: Numerics.BigInteger) (side: int) =
    let m, e = exactDouble s
    let e2 = min (2 * e) 0
    let pow k = Numerics.BigInteger.Pow(Numerics.BigInteger(2), k)
    // x = (2m²·2^(2e − e2) − t·2^(−e2)), the value 2s² − t times 2^(−e2)
    let x = Numerics.BigInteger(2) * m * m * pow (2 * e - e2) - (p + r) * pow (-e2)
    let dScaled = ((p - r) * (p - r) + Numerics.BigInteger(4) * q * q) * pow (-2 * e2)
    let cmpSq = Numerics.BigInteger.Compare(x * x, dScaled) // sign(x² − D·4^(−e2))
    if side > 0 then (if x.Sign <= 0 then (if x.IsZero && dScaled.IsZero then 0 else -1) else cmpSq)
    else (if x.Sign >= 0 then (if x.IsZero && dScaled.IsZero then 0 else 1) else -cmpSq)

[<Xunit.Fact>]
let ``Linalg.smallestSingularLower: random integer 2×3 read-outs (entries in [−1000, 1000]) → never above the exact σ₊, and positive; MathNet's SVD value above it in some draws`` () =
    let rng = Random(7)
    let mutable svdAbove, draws = 0, 0
    while draws < 2000 do
        let a = Array.init 6 (fun _ -> float (rng.Next(-1000, 1001)))
        let big (x: float) = Numerics.BigInteger(x)
        let p = big (a.[0] * a.[0] + a.[1] * a.[1] + a.[2] * a.[2])
        let q = big (a.[0] * a.[3] + a.[1] * a.[4] + a.[2] * a.[5])
        let r = big (a.[3] * a.[3] + a.[4] * a.[4] + a.[5] * a.[5])
        if p * r - q * q > Numerics.BigInteger.Zero then
            draws <- draws + 1
            let lo = Linalg.smallestSingularLower 2 3 a
            Xunit.Assert.True(lo > 0.0, sprintf "%A: no certified value" a)
            Xunit.Assert.True(signAgainstEigenvalue lo p q r -1 <= 0, sprintf "%A: %.17g above σ₊" a lo)
            let svd = (Linalg.matrix 2 3 a 0).Svd(true).S.[1]
            if signAgainstEigenvalue svd p q r -1 > 0 then svdAbove <- svdAbove + 1
    Xunit.Assert.True(svdAbove > 0, "the SVD's value was never above σ₊: the test shows nothing")

[<Xunit.Fact>]
let ``Linalg.smallestSingularLower: a rank-one 2×3 read-out → 0 (nothing certified)`` () =
    let a = [| 1.0; 2.0; 3.0; 2.0; 4.0; 6.0 |]
    Xunit.Assert.Equal(0.0, Linalg.smallestSingularLower 2 3 a)

[<Xunit.Fact>]
let ``Linalg.spectralUpper: random integer 2×3 matrices (entries in [−1000, 1000]) → never below the exact ‖B‖₂; spectralNorm (RunView's norms until 2026-12-06) below it in some draws`` () =
    let rng = Random(7)
    let mutable below = 0
    for _ in 1 .. 2000 do
        let a = Array.init 6 (fun _ -> float (rng.Next(-1000, 1001)))
        let big (x: float) = Numerics.BigInteger(x)
        let p = big (a.[0] * a.[0] + a.[1] * a.[1] + a.[2] * a.[2])
        let q = big (a.[0] * a.[3] + a.[1] * a.[4] + a.[2] * a.[5])
        let r = big (a.[3] * a.[3] + a.[4] * a.[4] + a.[5] * a.[5])
        let up = Linalg.spectralUpper 2 3 a 0
        Xunit.Assert.True(signAgainstEigenvalue up p q r 1 >= 0, sprintf "%A: %.17g below ‖B‖₂" a up)
        if signAgainstEigenvalue (Linalg.spectralNorm 2 3 a 0) p q r 1 < 0 then below <- below + 1
    Xunit.Assert.True(below > 0, "the estimate was never below ‖B‖₂: the test shows nothing")
