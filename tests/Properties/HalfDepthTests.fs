/// B.half and B.half.ode (docs/theorems/HalfDepth.md) on conv-block networks built here: layers sampled from a smooth
/// function of depth against independent layers (the negative control), and a half network with the wrong step (a fault).
module ResOdeProofs.Properties.HalfDepthTests

open System
open Xunit
open ResOdeProofs.Numerics
open ResOdeProofs.Numerics.Blocks
open ResOdeProofs.Numerics.Random
open ResOdeProofs.Theory

let private block = ConvBlock(2, 4, 4, ActivationKind.Gelu)
let private n = 3

let private gaussian (seed: int64) (purpose: string) (count: int) (scale: float) =
    let a = Array.zeroCreate count
    Rng.ForStream(seed, purpose).FillGaussian(Span a, scale)
    a

/// θ_k = A + 0.3 (k/L) B (smooth in depth, ρ ≈ 0.3‖B‖/‖A‖) or every layer drawn independently; kernels of scale 0.5/√(9C) (κ below 1, so that e^κ keeps the bounds within a small factor).
let private network (smooth: bool) (L: int) : HalfDepth.HalfDepthInput =
    let P = block.ParameterCount
    let s = 0.5 / sqrt 18.0
    let theta =
        if smooth then
            let a, b = gaussian 3L "half-A" P s, gaussian 3L "half-B" P s
            Array.init (L * P) (fun i -> let k, j = i / P, i % P in a.[j] + 0.3 * float k / float L * b.[j])
        else gaussian 3L "half-iid" (L * P) s
    { Name = (if smooth then "smooth" else "iid") + sprintf " L = %d" L; Block = block; Theta = theta; Depth = L
      H0 = gaussian 4L "half-h0" (n * block.StateDim) 1.0; Samples = n; HalfStepScale = 1.0 }

let private verdict (r: Result<HalfDepth.HalfDepthInput>) x = (Result.evaluate r x).Verdict

[<Fact>]
let ``B.half: layers smooth in depth, L = 16 → holds`` () =
    let x = network true 16
    Assert.True(Verdict.isHolds (verdict HalfDepth.halfRecursion x))
    Assert.True(Verdict.isHolds (verdict HalfDepth.halfOde x))

[<Fact>]
let ``B.half: independent layers, L = 16 → holds (any weights)`` () =
    Assert.True(Verdict.isHolds (verdict HalfDepth.halfRecursion (network false 16)))

[<Fact>]
let ``B.half.ode: independent layers, L = 16 → hypothesis not met (not smooth in depth)`` () =
    match verdict HalfDepth.halfOde (network false 16) with
    | HypothesisNotMet failed -> Assert.Contains(failed, fun (name, _) -> name.StartsWith "layers smooth in depth")
    | v -> failwithf "expected hypothesis not met, got %A" v

[<Fact>]
let ``B.half: half network at step 2.5/L instead of 2/L → violated`` () =
    Assert.True(Verdict.isViolated (verdict HalfDepth.halfRecursion { network true 16 with HalfStepScale = 1.25 }))

[<Fact>]
let ``B.half.ode: half network at step 4/L instead of 2/L → violated`` () =
    Assert.True(Verdict.isViolated (verdict HalfDepth.halfOde { network true 16 with HalfStepScale = 2.0 }))

/// The functional check itself: from L = 16 to L = 256, L·‖h_L − g_{L/2}‖ stays within a factor 2 for smooth layers
/// (O(1/L): the ratio tends to 1) and grows by more than 2 for independent ones (a sum of L/2 independent increments of
/// size O(1/L) is of order 1/√L, so L·Δ grows like √L: a factor 4 from 16 to 256).
[<Fact>]
let ``B.half: L·change from L = 16 to 256, smooth layers → bounded; independent layers → grows`` () =
    let scaled smooth L = float L * Array.max (HalfDepth.compute (network smooth L)).Measured
    let smooth = scaled true 256 / scaled true 16
    let iid = scaled false 256 / scaled false 16
    Assert.True(smooth < 2.0, sprintf "smooth layers: L·change grew by %.3g from L = 16 to 256" smooth)
    Assert.True(iid > 2.0, sprintf "independent layers: L·change grew only by %.3g from L = 16 to 256" iid)

[<Fact>]
let ``B.half.ode: an odd depth (L = 3) or a parameter that is NaN → hypothesis not met, the smoothness not evaluated (no exception)`` () =
    // a bn-conv run of odd depth, or with a NaN kernel entry, ended B.half.ode as a tool error (ArgumentException: stride 2
    // does not divide the depth; ArithmeticException in the spectral norm) while B.half said hypothesis not met
    let odd = network true 3
    let nan = let x = network true 16 in { x with Theta = (let t = Array.copy x.Theta in t.[5] <- nan; t) }
    for x in [ odd; nan ] do
        for r in HalfDepth.all do
            match verdict r x with
            | HypothesisNotMet _ -> ()
            | v -> failwithf "%s on %s: expected hypothesis not met, got %A" r.Id x.Name v
    match (Result.evaluate HalfDepth.halfOde odd).Hypotheses |> List.tryFind (fun (n, _, _) -> n.StartsWith "layers smooth in depth") with
    | Some (_, false, detail) -> Assert.Contains("not evaluated", detail)
    | h -> failwithf "the smoothness hypothesis: %A" h
