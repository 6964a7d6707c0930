/// The analysis behind B.bound, B.bound.secant, B.bound.defect and B.local is computed once per run, a failed reference
/// solve included (EulerError.oncePerRun; docs/theorems/EulerError.md).
module ResOdeProofs.Properties.EulerErrorOnceTests

open System
open Xunit
open ResOdeProofs.Numerics
open ResOdeProofs.Numerics.Training
open ResOdeProofs.Theory
open ResOdeProofs.Properties.Generators

let private smallRun (seed: int64) =
    train (RunSpec(Depth = 2, Width = 4, Dim = 2, Samples = 2, Activation = ActivationKind.Relu, Iterations = 1, Snapshots = 2, Seed = seed))

let private failure (f: unit -> 'T) : exn option =
    try f () |> ignore; None with e -> Some e

[<Fact>]
let ``EulerError.oncePerRun: a failure → computed once, the same exception again`` () =
    let mutable calls = 0
    let f = EulerError.oncePerRun (fun (_: Run) -> calls <- calls + 1; raise (InvalidOperationException "more than 10 steps between 0 and 1"))
    let run = smallRun 1L
    let e1 = failure (fun () -> f run)
    let e2 = failure (fun () -> f run)
    Assert.Equal(1, calls)
    Assert.True(e1.IsSome && e2.IsSome)
    Assert.Same(e1.Value, e2.Value)
    Assert.IsType<InvalidOperationException>(e2.Value) |> ignore
    // another run is another computation
    failure (fun () -> f (smallRun 2L)) |> ignore
    Assert.Equal(2, calls)

[<Fact>]
let ``EulerError.oncePerRun: a value, then a cancellation → the value computed once and kept, the cancellation computed again`` () =
    let mutable calls = 0
    let f = EulerError.oncePerRun (fun (_: Run) -> calls <- calls + 1; [| calls |])
    let run = smallRun 3L
    let a = f run
    Assert.Same(a, f run)
    Assert.Equal(1, calls)
    let mutable cancels = 0
    let g = EulerError.oncePerRun (fun (_: Run) -> cancels <- cancels + 1; raise (OperationCanceledException()))
    failure (fun () -> g run) |> ignore
    failure (fun () -> g run) |> ignore
    Assert.Equal(2, cancels)

/// Weights whose flow h' = a·b·R·h (R the rotation by π/2, through W = a[I; −I], V = b[R, −R] and ReLU) turns 10⁶ radians
/// per unit of depth: the reference solve exhausts its step budget (10⁵ steps for a non-smooth σ) and fails.
let private spinning (run: Run) =
    let a, b = 1000.0, 1000.0
    let w, v = run.W 0, run.V 0
    for k in 0 .. 1 do
        let wo, vo = k * 8, k * 8
        // W_k (4×2, row-major): a·[I; −I]
        Array.blit [| a; 0.0; 0.0; a; -a; 0.0; 0.0; -a |] 0 w wo 8
        // V_k (2×4, row-major): b·[R, −R], R = [[0, −1], [1, 0]]
        Array.blit [| 0.0; -b; 0.0; b; b; 0.0; -b; 0.0 |] 0 v vo 8
    run

[<Fact>]
let ``B.bound, B.bound.secant, B.bound.defect, B.local: a run whose reference solve fails → the failure computed once, every row hypothesis not met with it`` () =
    let run = spinning (smallRun 4L)
    let e1 = failure (fun () -> EulerError.analyse run)
    let e2 = failure (fun () -> EulerError.analyse run)
    Assert.True(e1.IsSome, "the reference solve of the spinning weights was expected to fail")
    Assert.Same(e1.Value, e2.Value)
    let rows = [ EulerError.bound; EulerError.boundSecant; EulerError.boundDefect; EulerError.localError ] |> List.map (fun r -> Result.evaluate r run)
    for e in rows do
        match e.Verdict with
        | HypothesisNotMet unmet ->
            Assert.Contains(unmet, fun (name, why) -> name = "reference solve accurate" && why.Contains e1.Value.Message)
        | v -> Assert.Fail(sprintf "expected hypothesis not met, got %A" v)

[<Fact>]
let ``oncePerRun: two threads asking at once → computed once, both given the one value`` () =
    let calls = ref 0
    use entered = new Threading.ManualResetEventSlim(false)
    use gate = new Threading.ManualResetEventSlim(false)
    let f = EulerError.oncePerRun (fun (_: Run) -> Threading.Interlocked.Increment(&calls.contents) |> ignore; entered.Set(); gate.Wait(); obj ())
    let run = smallRun 5L
    let first = Threading.Tasks.Task.Run(fun () -> f run)
    entered.Wait()
    // the second asks while the first is computing
    let second = Threading.Tasks.Task.Run(fun () -> f run)
    Threading.Thread.Sleep 50
    gate.Set()
    Assert.Same(first.Result, second.Result)
    Assert.Equal(1, calls.Value)
