/// Parallel loops of the theory layer within the processors the calling code may use (`ProcessorBudget.Available`):
/// `resode report` runs side jobs beside its cells' worker processes, each limited to its share of the cores, and a
/// loop over all of the machine's processors inside one would start busy threads on a core the other lane is using.
/// What is computed never depends on the budget: each element is computed alone into its own slot. A source test keeps
/// FSharp.Core's `Array.Parallel` (which takes every processor) out of src/Theory.FSharp.
module ResOdeProofs.Theory.Budgeted

open System.Threading.Tasks
open ResOdeProofs.Numerics

let private options () = ParallelOptions(MaxDegreeOfParallelism = ProcessorBudget.Available)

/// f applied to every element, as many at a time as the budget allows.
let iter (f: 'a -> unit) (xs: 'a[]) =
    Parallel.For(0, xs.Length, options (), fun i -> f xs.[i]) |> ignore

/// [| f 0; …; f (n − 1) |], as many at a time as the budget allows.
let init (n: int) (f: int -> 'a) =
    let a = Array.zeroCreate n
    Parallel.For(0, n, options (), fun i -> a.[i] <- f i) |> ignore
    a
