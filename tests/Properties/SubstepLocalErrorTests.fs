/// The local error of one layer interval bounded over sub-intervals (`Secant.substepLocalError`, docs/theorems/EulerError.md,
/// "Sub-intervals") against the exact local error λ = Φ(y) − y − (1/L)V_kσ(W_k y), computed by integrating the flow of the
/// interval with the classical Runge–Kutta method on 2¹² steps (and 2¹¹, whose difference bounds that integration's error).
module ResOdeProofs.Properties.SubstepLocalErrorTests

open System
open Xunit
open MathNet.Numerics.LinearAlgebra
open ResOdeProofs.Numerics
open ResOdeProofs.Theory

/// The flow of dH/ds = V(s)σ(W(s)H) over one layer interval of length h = 1/L, the weights linear from (wp, vp) at its
/// start to (wk, vk) at its end (constant when prev is None), from y: RK4 on `steps` equal steps.
let private flow (act: ActivationKind) (depth: int) (prev: (Matrix<float> * Matrix<float>) option) (wk: Matrix<float>) (vk: Matrix<float>)
                 (y: Vector<float>) (steps: int) =
    let h = 1.0 / float depth
    let weights (t: float) =
        match prev with
        | None -> wk, vk
        | Some (wp, vp) -> wp + (wk - wp) * (t / h), vp + (vk - vp) * (t / h)
    let f t (x: Vector<float>) =
        let w, v = weights t
        v * (w * x).Map(fun z -> Activations.Value(act, z))
    let dt = h / float steps
    let mutable x = y
    for i in 0 .. steps - 1 do
        let t = float i * dt
        let k1 = f t x
        let k2 = f (t + dt / 2.0) (x + k1 * (dt / 2.0))
        let k3 = f (t + dt / 2.0) (x + k2 * (dt / 2.0))
        let k4 = f (t + dt) (x + k3 * dt)
        x <- x + (k1 + 2.0 * k2 + 2.0 * k3 + k4) * (dt / 6.0)
    x

/// One random layer interval (κ̄/L from 0.06 to 17.5 over the draws below), its exact local error (with the reference's
/// own error), the bound over sub-intervals, the bound on one interval (`taylorLocalError`), p and κ̄/L.
let private case (rnd: Random) (act: ActivationKind) (m: int) (d: int) (depth: int) (first: bool) =
    let c = Activations.Constants act
    let mat r cl scale = Matrix<float>.Build.DenseOfRowMajor(r, cl, Array.init (r * cl) (fun _ -> (rnd.NextDouble() * 2.0 - 1.0) * scale))
    let wScale, vScale = 0.3 + 2.7 * rnd.NextDouble(), 0.2 + 1.8 * rnd.NextDouble()
    let wk, vk = mat m d wScale, mat d m vScale
    let prev = if first then None else Some (wk + mat m d (0.3 * wScale * rnd.NextDouble()), vk + mat d m (0.3 * vScale * rnd.NextDouble()))
    let y = Array.init d (fun _ -> rnd.NextDouble() * 4.0 - 2.0)
    let yv = Vector<float>.Build.DenseOfArray y
    let nWk, nVk = wk.L2Norm(), vk.L2Norm()
    let nWp, nVp, aW, aV =
        match prev with
        | None -> nWk, nVk, 0.0, 0.0
        | Some (wp, vp) -> wp.L2Norm(), vp.L2Norm(), (wk - wp).L2Norm(), (vk - vp).L2Norm()
    let mW, mV = max nWp nWk, max nVp nVk
    let kappaBar = c.S1 * mV * mW
    let p = Secant.substepCount depth kappaBar
    let ly = Secant.layer depth wk vk prev
    let img = Secant.layerImage act c.S1 ly yv
    let euler = yv + vk * (wk * yv).Map(fun z -> Activations.Value(act, z)) / float depth
    let fine = flow act depth prev wk vk yv 4096
    let coarse = flow act depth prev wk vk yv 2048
    let exact = (fine - euler).L2Norm()
    let refErr = (fine - coarse).L2Norm()
    let sub = Secant.substeps depth p prev wk vk nWp nWk nVp nVk aW aV
    let s2 = Option.ofNullable c.S2
    let bound = Secant.substepLocalError act c.S0 c.S1 s2 depth sub img y
    let one = Secant.taylorLocalError act c.S1 s2 depth ly img infinity mW mV nWk nVk aW aV y
    exact, refErr, bound, one, p, kappaBar / float depth

[<Fact>]
let ``Secant.substepLocalError: random layer intervals with κ̄/L from 0.06 to 18, GELU and tanh → at least the exact local error, within 1.2x of it somewhere, sharper than one interval`` () =
    let rnd = Random 2026
    let mutable tightest = infinity
    let gains = ResizeArray<float>()
    let mutable cases = 0
    for act in [ ActivationKind.Gelu; ActivationKind.Tanh ] do
        for m, d in [ 8, 4; 12, 6 ] do
            for depth in [ 2; 4; 16 ] do
                for first in [ true; false ] do
                    for _ in 1 .. 3 do
                        let exact, refErr, bound, one, p, kh = case rnd act m d depth first
                        let where = sprintf "%A m = %d d = %d L = %d first = %b κ̄/L = %.3g p = %d" act m d depth first kh p
                        Assert.True(refErr < 1e-9 * (1.0 + exact), sprintf "%s: the reference integration is not converged (%g)" where refErr)
                        if p > 1 then
                            cases <- cases + 1
                            match bound with
                            | Some b ->
                                Assert.True(exact - refErr <= b, sprintf "%s: bound %.6g below the exact local error %.6g" where b exact)
                                tightest <- min tightest (b / exact)
                                match one with
                                | Some o -> gains.Add(o / b)
                                | None -> ()
                            | None -> Assert.Fail(sprintf "%s: no sub-interval bound" where)
    Assert.True(cases >= 40, sprintf "only %d cases took sub-intervals" cases)
    // not vacuous: somewhere the bound is within 1.2x of the exact local error (the bound divided by 1.2 would be violated there)
    Assert.True(tightest < 1.2, sprintf "the tightest case is %.3gx the exact local error" tightest)
    // and sharper than the model on one interval, by a factor > 2 in the median
    let sorted = gains |> Seq.sort |> Seq.toArray
    Assert.True(sorted.Length > 0 && sorted.[sorted.Length / 2] > 2.0, sprintf "median gain over one interval %.3g" (if sorted.Length > 0 then sorted.[sorted.Length / 2] else nan))
