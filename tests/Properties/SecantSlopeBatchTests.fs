/// B.bound.secant's propagation factors (`Secant.propagationFactors`) take a smooth σ's values at both ends of every
/// unit's segment in one `Activations.Values` call per layer instead of one `Activations.Value` per end: the former code
/// (its slope and its loop) is written out here, and the factors must be the same bits for every activation, with
/// segments of zero length (x = y at some layers) among them; a negative control shows the comparison sees one state
/// entry moved by one ulp. (The former loop here takes n̄_k by today's rule, `Secant.CorrectionShare`, and today's certified
/// norms, `Linalg.spectralUpper`; tests/Properties/PropagationNormTests.fs checks the rule on its own.)
module ResOdeProofs.Properties.SecantSlopeBatchTests

open System
open Xunit
open ResOdeProofs.Numerics
open ResOdeProofs.Theory

let private U = Secant.U
let private evalErr (value: float) = LayerJacobian.evalErr U value

// ------------------------------------------------------------------ the former code, as it stood

let private formerSlope (act: ActivationKind) (s2: float option) (preErr: float) (a: float) (b: float) : struct (float * float) =
    match act, s2 with
    | ActivationKind.Identity, _ -> struct (1.0, 0.0)
    | ActivationKind.Relu, _ ->
        if abs a <= preErr || abs b <= preErr then struct ((if a > 0.0 && b > 0.0 then 1.0 else 0.0), 1.0)
        elif a > 0.0 && b > 0.0 then struct (1.0, 0.0)
        elif a < 0.0 && b < 0.0 then struct (0.0, 0.0)
        else
            let q = (Activations.Value(act, a) - Activations.Value(act, b)) / (a - b)
            struct (q, 4.0 * U * (1.0 + abs q) + 2.0 * U * (abs a + abs b) / abs (a - b))
    | _, Some s2 ->
        let moved = s2 * preErr
        if a = b then LayerJacobian.tangentSlope U act (Some s2) preErr a
        else
            let mid = Activations.Derivative(act, 0.5 * (a + b))
            let midErr = s2 * abs (a - b) / 2.0 + evalErr mid + s2 * U * (abs a + abs b)
            let sa, sb = Activations.Value(act, a), Activations.Value(act, b)
            let q = (sa - sb) / (a - b)
            let qErr = (evalErr sa + evalErr sb + U * abs (sa - sb)) / abs (a - b) + 3.0 * U * abs q
            if qErr <= midErr then struct (q, qErr + moved) else struct (mid, midErr + moved)
    | _, None -> invalidArg "s2" "a smooth activation needs its s2"

let private formerFactors (act: ActivationKind) (s1: float) (s2: float option) (L: int) (m: int) (d: int)
                          (w: float[]) (v: float[]) (norms: int -> struct (float * float)) (frobenius: int -> float)
                          (x: int -> float[]) (y: int -> float[]) : float[] =
    let md = m * d
    let pi = Array.zeroCreate (L + 1)
    let mutable mhat = Array.zeroCreate (d * d)
    let mutable next = Array.zeroCreate (d * d)
    let j = Array.zeroCreate (d * d)
    let vd = Array.zeroCreate (d * m)
    let slopes = Array.zeroCreate m
    // n̄_k as `propagationFactors` chooses it (the worst case, or the computed norms when its correction is too large):
    // the comparison is about the slopes' σ values, so the same choice on both sides
    let factors (computedNorms: bool) =
        pi.[L] <- 1.0
        Array.Clear mhat
        for r in 0 .. d - 1 do mhat.[r * d + r] <- 1.0
        let mutable prodPert, prodNorm = 1.0, 1.0
        let mutable ok = true
        for k in L .. -1 .. 1 do
            let o = (k - 1) * md
            let struct (wOp, vOp) = norms k
            let xk, yk = x (k - 1), y (k - 1)
            let mutable epsMax = 0.0
            for jj in 0 .. m - 1 do
                let mutable a, b, abs1, abs2 = 0.0, 0.0, 0.0, 0.0
                for c in 0 .. d - 1 do
                    let wj = w.[o + jj * d + c]
                    a <- a + wj * xk.[c]
                    b <- b + wj * yk.[c]
                    abs1 <- abs1 + abs (wj * xk.[c])
                    abs2 <- abs2 + abs (wj * yk.[c])
                let preErr = float (d + 1) * U * max abs1 abs2
                let struct (q, e) = formerSlope act s2 preErr a b
                slopes.[jj] <- q
                epsMax <- max epsMax e
            LayerJacobian.form L m d w v o slopes vd j
            let eta = LayerJacobian.formError U L m s1 vOp wOp epsMax (frobenius k)
            let nbar =
                if computedNorms then Linalg.spectralUpper d d j 0
                else 1.0 + s1 * vOp * wOp * (1.0 + 10.0 * float d * U) / float L + eta
            Model.Layerwise.MultiplyOrdered(ReadOnlySpan(mhat), d, d, ReadOnlySpan(j), d, Span(next))
            let swap = mhat
            mhat <- next
            next <- swap
            prodPert <- prodPert * (nbar + eta)
            prodNorm <- prodNorm * nbar
            let steps = L - k + 1
            let norm = Linalg.spectralUpper d d mhat 0
            // the correction and π_k taken from above as `propagationFactors` takes them (`Secant.correctionUpper`)
            let correction = Secant.correctionUpper prodPert prodNorm steps (Portable.pown (1.0 + 2.0 * float d * U) steps)
            pi.[k - 1] <- (norm + correction) * (1.0 + Rounding.gamma64 2)
            if not computedNorms && not (correction <= Secant.CorrectionShare * norm) then ok <- false
        ok
    if not (factors false) then factors true |> ignore
    pi

// ------------------------------------------------------------------ the comparisons

let private bits (x: float) = BitConverter.DoubleToInt64Bits x

/// A random layer stack and two trajectories; y equals x at every third layer (segments of zero length: the tangent slope).
let private setting (seed: int) (L: int) (m: int) (d: int) = PropagationOracle.randomLayers seed L m d 1.0 3

let private constants = PropagationOracle.activationConstants

[<Theory>]
[<InlineData(ActivationKind.Gelu)>]
[<InlineData(ActivationKind.Tanh)>]
[<InlineData(ActivationKind.Softplus)>]
[<InlineData(ActivationKind.Relu)>]
[<InlineData(ActivationKind.Identity)>]
let ``Secant.propagationFactors: σ at the segments' ends in one call per layer, every activation, zero-length segments among them → the former code's bits`` (act: ActivationKind) =
    let s1, s2 = constants act
    for seed, L, m, d in [ 1, 12, 32, 16; 2, 9, 19, 5; 3, 7, 64, 16 ] do
        let w, v, xs, ys, norms, fro = setting (seed * 10 + int act) L m d
        let got = Secant.propagationFactors act s1 s2 L m d w v norms fro (fun k -> System.ArraySegment(xs.[k])) (fun k -> System.ArraySegment(ys.[k]))
        let expected = formerFactors act s1 s2 L m d w v norms fro (fun k -> xs.[k]) (fun k -> ys.[k])
        for k in 0 .. L do
            Assert.True(bits got.[k] = bits expected.[k], sprintf "%A, L = %d, m = %d, d = %d: π_%d %.17g vs the former %.17g" act L m d k got.[k] expected.[k])

[<Fact>]
let ``Secant.propagationFactors: one state entry moved by one ulp → other bits than the former code at the unmoved states (the comparison is not blind)`` () =
    let act = ActivationKind.Gelu
    let s1, s2 = constants act
    let L, m, d = 12, 32, 16
    let w, v, xs, ys, norms, fro = setting 77 L m d
    let expected = formerFactors act s1 s2 L m d w v norms fro (fun k -> xs.[k]) (fun k -> ys.[k])
    let moved = ys |> Array.map Array.copy
    moved.[L - 1].[0] <- Math.BitIncrement moved.[L - 1].[0]
    let got = Secant.propagationFactors act s1 s2 L m d w v norms fro (fun k -> System.ArraySegment(xs.[k])) (fun k -> System.ArraySegment(moved.[k]))
    Assert.False(Array.forall2 (fun (a: float) b -> bits a = bits b) got expected, "no factor changed when one state entry moved")
