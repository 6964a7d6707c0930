/// B.bound.secant's propagation factors π_k (`Secant.propagationFactors`) need an upper value n̄_k ≥ ‖Ĵ_k‖₂ of every
/// computed secant Jacobian only in their correction Π(n̄_j + η_j)(1 + 2du)^{L−k} − Π n̄_j, which grows with each n̄_j.
/// They take the layer's worst case ν_k + η_k (no spectral norm of Ĵ_k), and the computed norms where the correction
/// this gives exceeds `Secant.CorrectionShare` of ‖M̂_k‖₂ (docs/theorems/EulerError.md, "Certified products").
/// Checked here against an oracle written with MathNet's products and SVD, in both choices of n̄:
/// on tame layers the factors are the worst-case oracle's and lie within the share above the computed-norm oracle's;
/// on layers whose worst case is far above their products (κ_k/L ≈ 4 per layer) they are the computed-norm oracle's,
/// where the worst case alone would have loosened them far beyond the share (the negative control of the choice).
module ResOdeProofs.Properties.PropagationNormTests

open System
open Xunit
open ResOdeProofs.Numerics
open ResOdeProofs.Theory

let private factors act scale (seed, L, m, d) =
    let s1, s2 = PropagationOracle.activationConstants act
    let w, v, xs, ys, norms, fro = PropagationOracle.randomLayers seed L m d scale 0
    let got = Secant.propagationFactors act s1 s2 L m d w v norms fro (fun k -> System.ArraySegment(xs.[k])) (fun k -> System.ArraySegment(ys.[k]))
    let worst, allowedWorst = PropagationOracle.factors act s1 s2 L m d w v norms fro xs ys false
    let computed, allowedComputed = PropagationOracle.factors act s1 s2 L m d w v norms fro xs ys true
    got, (worst, allowedWorst), (computed, allowedComputed)

[<Theory>]
[<InlineData(ActivationKind.Gelu)>]
[<InlineData(ActivationKind.Tanh)>]
[<InlineData(ActivationKind.Softplus)>]
// (relu's slopes are exact away from the kink: η_k is rounding only and both choices give corrections of that order, too
// close to tell apart here; it is among the wide layers below)
let ``Secant.propagationFactors: tame layers → the worst-case n̄ (the oracle's factors with it), within the share above the computed norms'`` (act: ActivationKind) =
    for case in [ 1, 12, 32, 16; 2, 20, 19, 5; 3, 8, 64, 16 ] do
        let got, (worst, aw), (computed, ac) = factors act 1.0 case
        let _, L, _, _ = case
        let mutable apart = false
        for k in 0 .. L - 1 do
            Assert.True(abs (got.[k] - worst.[k]) <= aw.[k],
                        sprintf "%A %A, k = %d: %.17g against the worst-case oracle %.17g (allowed %.3g)" act case k got.[k] worst.[k] aw.[k])
            Assert.True(got.[k] >= computed.[k] - ac.[k],
                        sprintf "%A %A, k = %d: %.17g below the computed-norm oracle %.17g" act case k got.[k] computed.[k])
            Assert.True(got.[k] - computed.[k] <= Secant.CorrectionShare * computed.[k] + ac.[k] + aw.[k],
                        sprintf "%A %A, k = %d: %.17g more than the share above the computed-norm oracle %.17g" act case k got.[k] computed.[k])
            if worst.[k] - computed.[k] > aw.[k] + ac.[k] then apart <- true
        // the two choices are told apart at some k: the comparison with the worst-case oracle is not blind
        Assert.True(apart, sprintf "%A %A: the two oracles agree within their allowances at every k" act case)

[<Theory>]
[<InlineData(ActivationKind.Gelu)>]
[<InlineData(ActivationKind.Tanh)>]
[<InlineData(ActivationKind.Relu)>]
let ``Secant.propagationFactors: layers whose worst case is far above their products → the computed norms (the worst case alone would exceed the share)`` (act: ActivationKind) =
    for case in [ 4, 24, 32, 16; 5, 16, 19, 5 ] do
        let got, (worst, _), (computed, ac) = factors act 6.0 case
        let _, L, _, _ = case
        let mutable needed = false
        for k in 0 .. L - 1 do
            Assert.True(abs (got.[k] - computed.[k]) <= ac.[k],
                        sprintf "%A %A, k = %d: %.17g against the computed-norm oracle %.17g (allowed %.3g)" act case k got.[k] computed.[k] ac.[k])
            if worst.[k] - computed.[k] > Secant.CorrectionShare * computed.[k] then needed <- true
        Assert.True(needed, sprintf "%A %A: the worst case stayed within the share (the setting does not test the choice)" act case)

/// A positive dyadic number m·2^e held exactly (every double is one), for the exact correction below.
type private Dyadic = { M: Numerics.BigInteger; E: int }

let private dyadic (x: float) =
    if x = 0.0 then { M = Numerics.BigInteger.Zero; E = 0 }
    else let e = Math.ILogB x - 52 in { M = Numerics.BigInteger(Math.ScaleB(x, -e)); E = e }

let private mulD a b = { M = a.M * b.M; E = a.E + b.E }
let private alignD a b = let e = min a.E b.E in a.M <<< (a.E - e), b.M <<< (b.E - e), e
let private addD a b = let x, y, e = alignD a b in { M = x + y; E = e }
let private subD a b = let x, y, e = alignD a b in { M = x - y; E = e }
let private atLeastD a b = let x, y, _ = alignD a b in x >= y

/// The products as `propagationFactors` forms them in float64, and the exact correction of the same n̄_j, η_j, d.
let private correctionCase (nbar: float[]) (eta: float[]) (d: int) =
    let u = Rounding.Float64UnitRoundoff
    let count = nbar.Length
    let mutable pert, norm = 1.0, 1.0
    for j in 0 .. count - 1 do
        pert <- pert * (nbar.[j] + eta.[j])
        norm <- norm * nbar.[j]
    let grow = Portable.pown (1.0 + 2.0 * float d * u) count
    let one = dyadic 1.0
    let mutable ePert, eNorm, eGrow = one, one, one
    for j in 0 .. count - 1 do
        ePert <- mulD ePert (addD (dyadic nbar.[j]) (dyadic eta.[j]))
        eNorm <- mulD eNorm (dyadic nbar.[j])
        eGrow <- mulD eGrow (dyadic (1.0 + 2.0 * float d * u))
    let exact = subD (mulD ePert eGrow) eNorm
    Secant.correctionUpper pert norm count grow, pert * grow - norm, exact

[<Fact>]
let ``Secant.correctionUpper: sums n̄_j + η_j that all round down (d = 1, η just under half an ulp) and random factors at d = 16 → never below the exact correction, which the bare float64 difference falls below`` () =
    let rng = Random(17)
    let mutable bareBelow = 0
    for trial in 0 .. 199 do
        let count = 1 + rng.Next 300
        let adversarial = trial % 2 = 0
        // n̄_j = 1 + a multiple of 2⁻⁵² (exact), η_j = 0.99·2⁻⁵³: each fl(n̄_j + η_j) drops η_j, a relative u per layer, half
        // the growth term 2du of d = 1; else n̄_j in [1, 1.01) and η_j up to 10⁻¹⁴ at d = 16
        let nbar = Array.init count (fun _ -> if adversarial then 1.0 + float (rng.Next 4096) * Math.ScaleB(1.0, -52) else 1.0 + 0.01 * rng.NextDouble())
        let eta = Array.init count (fun _ -> if adversarial then 0.99 * Math.ScaleB(1.0, -53) else 1e-14 * rng.NextDouble())
        let upper, bare, exact = correctionCase nbar eta (if adversarial then 1 else 16)
        Assert.True(atLeastD (dyadic upper) exact, sprintf "trial %d (count %d): %.17g below the exact correction" trial count upper)
        if not (atLeastD (dyadic (max bare 0.0)) exact) then bareBelow <- bareBelow + 1
    // the control: without the raises the computed correction falls below the exact one
    Assert.True(bareBelow > 0, "the bare difference was never below the exact correction: the comparison could not see the missing raises")
