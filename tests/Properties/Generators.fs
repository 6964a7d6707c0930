/// Generators of settings for the property suite, with shrinkers toward small, readable settings.
/// Sizes stay small so that the whole suite runs in CI within its budget; RESODE_PROPERTY_PROFILE=long
/// widens them for nightly runs.
module ResOdeProofs.Properties.Generators

open System
open FsCheck
open FsCheck.FSharp
open ResOdeProofs.Numerics
open ResOdeProofs.Numerics.Blocks
open ResOdeProofs.Numerics.IO
open ResOdeProofs.Numerics.Training
open ResOdeProofs.Theory

/// "default" (CI) or "long" (nightly: more and larger cases).
let profile =
    match Environment.GetEnvironmentVariable "RESODE_PROPERTY_PROFILE" with
    | null | "" -> "default"
    | p -> p.ToLowerInvariant()

let isLong = profile = "long"

/// The smooth activations (C² with bounded σ''), the hypotheses of results A, B, D.
let smoothActivations = [ ActivationKind.Gelu; ActivationKind.Tanh; ActivationKind.Softplus ]

/// A setting with the hypotheses of the finite-horizon results: smooth σ, tied or smooth init, small η.
let smoothSpec : Gen<RunSpec> =
    gen {
        let! depth = Gen.elements (if isLong then [ 4; 8; 16; 32; 64 ] else [ 4; 8; 16 ])
        let! width = Gen.choose (3, if isLong then 32 else 12)
        let! n = Gen.choose (2, if isLong then 30 else 10)
        let! d = Gen.choose (2, if isLong then 8 else 4)
        let! act = Gen.elements smoothActivations
        let! init = Gen.elements [ InitKind.Tied; InitKind.Smooth ]
        let! vscale = Gen.elements [ 0.0; 0.1 ]
        let! eta = Gen.elements [ 0.001; 0.005; 0.01 ]
        let! iters = Gen.choose (1, if isLong then 60 else 15)
        let! seed = Gen.choose (0, 100000)
        return
            RunSpec(
                Depth = depth, Width = width, Samples = n, Dim = d, Activation = act, Init = init,
                VScale = vscale, Eta = eta, Iterations = iters, Snapshots = 3, Seed = int64 seed
            )
    }

/// Shrinks a setting toward fewer layers, samples, dimensions and iterations (one step at a time).
let shrinkSpec (s: RunSpec) : seq<RunSpec> =
    seq {
        if s.Depth > 2 then yield s.With(depth = s.Depth / 2)
        if s.Iterations > 1 then yield s.With(iterations = s.Iterations / 2)
        if s.Samples > 2 then yield s.With(samples = s.Samples - 1)
        if s.Width > 2 then yield s.With(width = s.Width - 1)
        if s.Dim > 1 then yield s.With(dim = s.Dim - 1)
        if s.VScale <> 0.0 then yield s.With(vScale = 0.0)
        if s.Activation <> ActivationKind.Tanh && s.Activation <> ActivationKind.Relu then yield s.With(activation = ActivationKind.Tanh)
    }

/// Arbitrary for smooth settings.
let smoothArb = Arb.fromGenShrink (smoothSpec, shrinkSpec)

/// Trains a setting and opens the result as a run, in memory (the same RunData the directory would give).
let train (spec: RunSpec) : Run =
    let r = spec.Train()
    Run(RunDirectory.InMemory(r, sprintf "seed-%d" spec.Seed))

/// The command lines that reproduce a failing case with the CLI.
let reproduce (spec: RunSpec) =
    sprintf "reproduce with:\n  %s\n  resode verify runs/failing" (spec.CommandLine "runs/failing")

/// Describes a spec in one line (for labels).
let describe (s: RunSpec) =
    sprintf "L=%d m=%d n=%d d=%d %s %s eta=%g N=%d seed=%d" s.Depth s.Width s.Samples s.Dim
        (Activations.Name s.Activation) (s.Init.ToString().ToLowerInvariant()) s.Eta s.Iterations s.Seed

/// Tightness bucket for classify/collect: "≤2x", "2-10x", "10-100x", ">100x".
let tightnessBucket (t: float) =
    if t <= 2.0 then "tightness <=2x"
    elif t <= 10.0 then "tightness 2-10x"
    elif t <= 100.0 then "tightness 10-100x"
    else "tightness >100x"

/// Number of cases per property (default profile small, long profile larger).
let cases (defaultCount: int) = if isLong then defaultCount * 10 else defaultCount

/// `condition |@ label`: a boolean check labelled with what it says, for Prop.forAll bodies.
let (|@) (ok: bool) (label: string) = Prop.label label ok

/// A generic-architecture setting (`RunSpec`) with the hypotheses of A and B: smooth σ, tied or smooth
/// initialization, small η; the architecture supplies its name, the smallest state dimension it accepts and
/// the generator of its per-part scales; its hyper-parameters are the small ones its catalog entry declares for tests
/// (`BlockCatalog.Entry.TestShape`).
let blockSpec (architecture: string) (minDim: int) (scales: Gen<float[]>) : Gen<RunSpec> =
    let entry = BlockCatalog.Find architecture
    let struct (_, testHyper) = entry.TestShape
    gen {
        let! depth = Gen.elements (if isLong then [ 4; 8; 16; 32; 64 ] else [ 4; 8; 16 ])
        let! n = Gen.choose (2, if isLong then 30 else 10)
        let! d = Gen.choose (minDim, if isLong then 8 else 4)
        let! act = Gen.elements smoothActivations
        let! init = Gen.elements [ InitKind.Tied; InitKind.Smooth ]
        let! sc = scales
        let! eta = Gen.elements [ 0.001; 0.005; 0.01 ]
        let! iters = Gen.choose (1, if isLong then 60 else 15)
        let! seed = Gen.choose (0, 100000)
        return
            RunSpec(Theta = true,
                Architecture = architecture, Depth = depth, Samples = n, Dim = d, HyperValues = entry.HyperWithDefaults testHyper,
                Activation = act, Init = init, Scales = sc, Eta = eta, Iterations = iters, Snapshots = 3, Seed = int64 seed)
    }

/// False when the only unmet hypothesis is the reference solve of the neural ODE (a setting the ODE solver cannot
/// integrate: step budget, or a finite-time blow-up of the ODE although the finite ResNet stays finite). Such a setting
/// is outside the hypotheses of the Euler-error results; their properties discard it and FsCheck draws another.
let referenceSolvable (e: ResOdeProofs.Theory.Evaluation) =
    match e.Verdict with
    | ResOdeProofs.Theory.HypothesisNotMet [ "reference solve accurate", _ ] -> false
    | _ -> true
