/// Properties of result D (docs/theorems/LimitDynamics.md): over ladders of runs that differ only in depth, the
/// trained weights approach the limit function of depth at order 1; iid and relu ladders are negative controls.
module ResOdeProofs.Properties.LimitDynamicsProperties

open FsCheck
open FsCheck.FSharp
open FsCheck.Xunit
open ResOdeProofs.Numerics
open ResOdeProofs.Numerics.Training
open ResOdeProofs.Theory
open ResOdeProofs.Properties.Generators
open ResOdeProofs.Properties.Profile

/// D fits all depths but the deepest (the reference is made of the two deepest) with a 3-parameter model, so
/// six depths leave 2 degrees of freedom for the interval.
let private depths = if isLong then [ 4; 8; 16; 32; 64; 128; 256 ] else [ 4; 8; 16; 32; 64; 128 ]

let private ladderGen (inits: InitKind list) (acts: ActivationKind list) =
    gen {
        let! width = Gen.choose (3, if isLong then 16 else 8)
        let! n = Gen.choose (2, if isLong then 12 else 6)
        let! d = Gen.choose (2, if isLong then 6 else 4)
        let! a = Gen.elements acts
        let! i = Gen.elements inits
        let! vs = Gen.elements [ 0.0; 0.3 ]
        let! eta = Gen.elements [ 0.005; 0.01 ]
        let! iters = Gen.choose (3, if isLong then 40 else 12)
        let! seed = Gen.choose (0, 100000)
        // W entries N(0, 1/d): ‖W‖₂ = O(1) whatever d, so that gradient descent with these η does not diverge
        let spec =
            RunSpec(Width = width, Samples = n, Dim = d, Activation = a, Init = i, Scale = 1.0 / sqrt (float d), VScale = vs, Eta = eta,
                    Iterations = iters, Snapshots = 3, Seed = int64 seed)
        return spec, depths |> List.map (fun L -> spec.With(depth = L))
    }

let private trainLadder (specs: RunSpec list) =
    match Ladder.create (specs |> List.map train) with
    | Ok l -> l
    | Error e -> failwith e

[<ProfiledProperty(8, Replay = "(1357,2469)")>]
let ``D.rate: tied or smooth initialization, trained ladder → holds (order 1)`` () =
    Prop.forAll (Arb.fromGen (ladderGen [ InitKind.Tied; InitKind.Smooth ] smoothActivations)) (fun (spec, specs) ->
        let e = Result.evaluate LimitDynamics.rate (trainLadder specs)
        Verdict.isHolds e.Verdict
        |> Prop.label (sprintf "%s\n%s\n%A\n%s" (describe spec) (reproduce spec) e.Verdict (String.concat "\n" e.Notes))
        |> Prop.classify true (Activations.Name spec.Activation)
        |> Prop.classify true (spec.Init.ToString().ToLowerInvariant())
        |> Prop.collect (sprintf "VScale %g" spec.VScale)
        |> Prop.collect (sprintf "order %.2f" (defaultArg e.Measured nan)))

/// A float32 ladder trained two iterations at η = 10⁻⁶ from a tied initialization: its distances to the Richardson limit are
/// float32 rounding (about 10⁻⁷ of the weights' size). The coincide allowance counted the verifier's float64 rounding alone
/// and read them as distances (a producer's such ladder: "no limit", VIOLATED); with the producers' rounding they are at
/// rounding level and D.rate has nothing to measure. The same ladder trained at η = 10⁻² is measured, and holds.
[<Xunit.Fact>]
let ``D.rate: float32 ladder whose distances are float32 rounding (η = 1e-6, two iterations) → hypothesis not met (nothing measurable); at η = 1e-2 → holds`` () =
    let ladderAt (eta: float) =
        [ 4; 8; 16; 32; 64; 128 ]
        |> List.map (fun L -> RunSpec(Depth = L, Width = 6, Samples = 8, Dim = 4, Init = InitKind.Tied, Scale = 0.5, VScale = 0.5, Eta = eta,
                                      Iterations = 2, Snapshots = 3, Float32 = true, Seed = 2L))
        |> trainLadder
    let tiny = Result.evaluate LimitDynamics.rate (ladderAt 1e-6)
    Xunit.Assert.True(Verdict.isHypothesisNotMet tiny.Verdict, sprintf "%A %A" tiny.Verdict tiny.Notes)
    let measured = Result.evaluate LimitDynamics.rate (ladderAt 1e-2)
    Xunit.Assert.True(Verdict.isHolds measured.Verdict, sprintf "%A %A" measured.Verdict measured.Notes)

/// Rule (i) of D.rate calls a snapshot "no limit" (violated) only when both of its comparisons fail by more than their
/// rounding (`LimitDynamics.ruleOne`): before 2026-12-07 the deepest pair was compared with ρ times the pair before it
/// exactly, so two measured distances at equality up to a relative 10⁻¹² flipped the row between VIOLATED and unresolved.
[<Xunit.Fact>]
let ``D.rate rule (i): the deepest pair within its rounding of ρ times the pair before → unresolved, beyond it → no limit; limits apart by less than their rounding → agree`` () =
    let d : LimitDynamics.SnapshotDistances =
        { Iteration = 10; Time = 0.1; Depths = [ 4; 8; 16; 32 ]; Distances = [ 0.4; 0.2; 0.1; 0.05 ]
          DistancesToDeepest = [ 0.4; 0.2; 0.1; 0.05 ]; Correction = 0.01; LimitErrorEstimate = 0.3
          DeepestPair = 0.5 * 0.2 * (1.0 + 1e-12); PreviousPair = 0.2 }
    let pair = 1e-11, 1e-14
    let rule = LimitDynamics.ruleOne 0.5 1e-14
    // the deepest pair above ρ·previous by a relative 10⁻¹², inside its rounding: unresolved (the exact comparison: no limit)
    Xunit.Assert.Equal(LimitDynamics.Unresolved, rule pair d)
    Xunit.Assert.Equal(LimitDynamics.NoLimit, rule (0.0, 0.0) d)
    // beyond its rounding: no limit
    Xunit.Assert.Equal(LimitDynamics.NoLimit, rule pair { d with DeepestPair = 0.5 * 0.2 * 1.001 })
    Xunit.Assert.Equal(LimitDynamics.Unresolved, rule pair { d with DeepestPair = 0.5 * 0.2 * 0.999 })
    // the limits apart by less than three allowances above the smallest distance: they agree; by more: they do not
    Xunit.Assert.Equal(LimitDynamics.Agree, rule pair { d with LimitErrorEstimate = 0.05 + 2e-14 })
    Xunit.Assert.Equal(LimitDynamics.NoLimit, rule pair { d with LimitErrorEstimate = 0.05 + 4e-14; DeepestPair = 0.2 })
    Xunit.Assert.Equal(LimitDynamics.NoLimit, LimitDynamics.ruleOne 0.5 0.0 (0.0, 0.0) { d with LimitErrorEstimate = 0.05 + 2e-14; DeepestPair = 0.2 })

/// iid initialization: no limit function exists; the hypothesis fails, and the forced conclusion is violated
/// (the distances do not decrease with L).
[<ProfiledProperty(3, Replay = "(8642,9753)")>]
let ``D.rate: i.i.d. ladder → hypothesis not met; its conclusion forced past it → violated`` () =
    Prop.forAll (Arb.fromGen (ladderGen [ InitKind.Iid ] smoothActivations)) (fun (spec, specs) ->
        let l = trainLadder specs
        let e = Result.evaluate LimitDynamics.rate l
        let forced = LimitDynamics.rate.Conclusion l
        (Verdict.isHypothesisNotMet e.Verdict && Verdict.isViolated forced.Verdict)
        |> Prop.label (sprintf "%s\n%A\n%A" (describe spec) e.Verdict forced.Verdict))

/// relu has no σ'': outside the hypotheses of the paper's finite-time theorem.
[<ProfiledProperty(2, Replay = "(1111,2223)")>]
let ``D.rate: relu ladder → hypothesis not met`` () =
    Prop.forAll (Arb.fromGen (ladderGen [ InitKind.Tied ] [ ActivationKind.Relu ])) (fun (spec, specs) ->
        let e = Result.evaluate LimitDynamics.rate (trainLadder specs)
        Verdict.isHypothesisNotMet e.Verdict |> Prop.label (sprintf "%s\n%A" (describe spec) e.Verdict))
