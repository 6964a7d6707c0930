/// The theory layer's parallel loops (src/Theory.FSharp/Vocabulary/Budgeted.fs) within the caller's processor budget.
module ResOdeProofs.Properties.BudgetedTests

open System.Diagnostics
open System.Threading
open Xunit
open ResOdeProofs.Numerics
open ResOdeProofs.Theory

/// The most elements that ran at once in `loop`, each element waiting up to `waitMs` for a second one to be running (so
/// that two elements overlap whenever the loop lets them, however late the pool starts its thread; none waits once two
/// have overlapped), and the results.
let private overlap (waitMs: int) (loop: (int -> int) -> int[]) =
    let running = ref 0
    let most = ref 0
    let results =
        loop (fun i ->
            let now = Interlocked.Increment running
            let clock = Stopwatch.StartNew()
            while Volatile.Read(&running.contents) < 2 && Volatile.Read(&most.contents) < 2 && clock.ElapsedMilliseconds < int64 waitMs do Thread.Sleep 1
            let seen = max now (Volatile.Read(&running.contents))
            let mutable m = most.Value
            while seen > m && Interlocked.CompareExchange(most, seen, m) <> m do m <- most.Value
            Interlocked.Decrement running |> ignore
            i * i)
    most.Value, results

[<Fact>]
let ``Budgeted loops: a limit of one processor → one element at a time, the same results; without a limit on two processors → elements overlap`` () =
    Assert.True(System.Environment.ProcessorCount >= 2, "the test machine has two processors")
    let expected n = Array.init n (fun i -> i * i)
    // control: the machine's two processors run two elements at once (what the limit must prevent)
    let free, r0 = overlap 5000 (fun f -> Budgeted.init 4 f)
    Assert.True(free >= 2, sprintf "without a limit at most %d element(s) ran at once" free)
    Assert.Equal<int[]>(expected 4, r0)
    use _ = ProcessorBudget.Limit 1
    let initMost, r1 = overlap 150 (fun f -> Budgeted.init 3 f)
    let iterMost, r2 = overlap 150 (fun f -> let a = Array.zeroCreate 3 in Budgeted.iter (fun i -> a.[i] <- f i) [| 0 .. 2 |]; a)
    Assert.Equal(1, initMost)
    Assert.Equal(1, iterMost)
    Assert.Equal<int[]>(expected 3, r1)
    Assert.Equal<int[]>(expected 3, r2)
