/// What a verify no longer keeps or allocates again, against what it kept before: the pre-activations and σ of the
/// reference pass formed again on request (`Layerwise.PreActivations`), and the split quantities of the snapshots
/// evaluated in one workspace (`SplitResults.atSnapshot`). Each must give the numbers of the computation it replaces.
module ResOdeProofs.Properties.VerifyMemoryTests

open System
open Xunit
open ResOdeProofs.Numerics
open ResOdeProofs.Numerics.Model
open ResOdeProofs.Numerics.Training
open ResOdeProofs.Theory
open ResOdeProofs.Properties.Generators

let private bits (x: float) = BitConverter.DoubleToInt64Bits x

let private spec = RunSpec(Depth = 8, Width = 6, Samples = 5, Dim = 3, Eta = 0.01, Iterations = 10, Snapshots = 3, VScale = 0.5, Seed = 21L)

[<Fact>]
let ``Layerwise.PreActivations: formed again after the pass → each entry the scalar formula's bits, and σ of it the states' increments`` () =
    // pre_j = Σ_c W[j,c]·h_c summed from 0 in order, σ the scalar activation; and h_k − h_{k−1} = (Σ_j V[r,j]σ_j)/L with
    // those σ, summed the same way: the states the pass kept were made from these very numbers
    let run = train spec
    let sh = run.Shape
    let L, m, d, md = sh.Depth, sh.Width, sh.Dim, sh.LayerSize
    for s in 0 .. run.SnapshotCount - 1 do
        let lw = run.Layerwise s
        let w, v = run.W s, run.V s
        let acts = lw.PreActivations()
        let again = lw.PreActivations()
        let preOnly = lw.PreActivations(false)
        Assert.False(obj.ReferenceEquals(acts.Pre, again.Pre))
        Assert.Empty(preOnly.Sigma)
        for k in 1 .. L do
            for i in 0 .. lw.H.[0].Length - 1 do
                let h = lw.H.[k - 1].[i]
                for j in 0 .. m - 1 do
                    let mutable acc = 0.0
                    for c in 0 .. d - 1 do acc <- acc + w.[(k - 1) * md + j * d + c] * h.[c]
                    Assert.True(bits acc = bits acts.Pre.[k - 1].[i].[j], sprintf "snapshot %d, layer %d, sample %d, unit %d: pre" s k i j)
                    Assert.True(bits (Activations.Value(run.Data.Activation, acc)) = bits acts.Sigma.[k - 1].[i].[j], sprintf "snapshot %d, layer %d, sample %d, unit %d: σ" s k i j)
                    Assert.True(bits acts.Pre.[k - 1].[i].[j] = bits again.Pre.[k - 1].[i].[j] && bits acts.Sigma.[k - 1].[i].[j] = bits again.Sigma.[k - 1].[i].[j])
                    Assert.True(bits acts.Pre.[k - 1].[i].[j] = bits preOnly.Pre.[k - 1].[i].[j])
                for r in 0 .. d - 1 do
                    let mutable acc = 0.0
                    for j in 0 .. m - 1 do acc <- acc + v.[(k - 1) * md + r * m + j] * acts.Sigma.[k - 1].[i].[j]
                    Assert.True(bits (h.[r] + acc / float L) = bits lw.H.[k].[i].[r], sprintf "snapshot %d, layer %d, sample %d, coordinate %d: h" s k i r)

[<Fact>]
let ``Layerwise.ProductSums and VisitLayers: the same pass → PreActivations' numbers bit for bit, each layer visited once in order`` () =
    let run = train spec
    let sh = run.Shape
    let L, m = sh.Depth, sh.Width
    for s in 0 .. run.SnapshotCount - 1 do
        let lw = run.Layerwise s
        let n = lw.H.[0].Length
        let acts = lw.PreActivations()
        // one sample and layer at a time from the state (Rounding.actualAmplification's path): W_kᵀ, then the sums
        let w = run.W s
        let d, md = sh.Dim, sh.LayerSize
        let pre1, abs1 = Array.zeroCreate m, Array.zeroCreate m
        for k in 0 .. L - 1 do
            let wT = Array.init md (fun e -> let c, j = e / m, e % m in w.[k * md + j * d + c])
            for i in 0 .. n - 1 do
                Layerwise.ProductSums(ReadOnlySpan wT, d, m, Linalg.spanOf lw.H.[k].[i], Span pre1, Span abs1)
                for j in 0 .. m - 1 do
                    Assert.True(bits pre1.[j] = bits acts.Pre.[k].[i].[j], sprintf "snapshot %d, layer %d, sample %d, unit %d: ProductSums' pre" s (k + 1) i j)
        let visited = ResizeArray()
        lw.VisitLayers(fun k pre sigma ->
            visited.Add k
            for i in 0 .. n - 1 do
                for j in 0 .. m - 1 do
                    Assert.True(bits pre.[i].[j] = bits acts.Pre.[k].[i].[j], sprintf "snapshot %d, layer %d, sample %d, unit %d: visited pre" s (k + 1) i j)
                    Assert.True(bits sigma.[i].[j] = bits acts.Sigma.[k].[i].[j], sprintf "snapshot %d, layer %d, sample %d, unit %d: visited σ" s (k + 1) i j))
        Assert.Equal<int list>([ 0 .. L - 1 ], List.ofSeq visited)

[<Fact>]
let ``Layerwise.VisitLayersWithSlopes: every activation → the visit's σ' is Activations.Derivatives of its pre-activations bit for bit, with VisitLayers' pre and σ`` () =
    // the gradients' scale reads σ' from the visit instead of evaluating it again: the two must be the same numbers, in the
    // lanes (GELU four at a time) and in the tail entries outside them (width 6)
    for act in [ ActivationKind.Gelu; ActivationKind.Tanh; ActivationKind.Softplus; ActivationKind.Relu; ActivationKind.Identity ] do
        let run = train (spec.With(activation = act))
        let m = run.Shape.Width
        for s in 0 .. run.SnapshotCount - 1 do
            let lw = run.Layerwise s
            let n = lw.H.[0].Length
            let plain = ResizeArray()
            lw.VisitLayers(fun _ pre sigma -> plain.Add(Array.map Array.copy pre, Array.map Array.copy sigma))
            let expected = Array.zeroCreate<float> m
            let mutable visited = 0
            lw.VisitLayersWithSlopes(fun k pre sigma slopes ->
                let pre0, sigma0 = plain.[k]
                for i in 0 .. n - 1 do
                    Activations.Derivatives(act, ReadOnlySpan pre.[i], Span expected)
                    for j in 0 .. m - 1 do
                        let at = sprintf "%A, snapshot %d, layer %d, sample %d, unit %d" act s (k + 1) i j
                        Assert.True(bits slopes.[i].[j] = bits expected.[j], at + ": σ'")
                        Assert.True(bits pre.[i].[j] = bits pre0.[i].[j] && bits sigma.[i].[j] = bits sigma0.[i].[j], at + ": pre, σ")
                visited <- visited + 1)
            Assert.Equal(run.Shape.Depth, visited)

[<Fact>]
let ``SplitResults.atSnapshot: snapshots in one workspace, asked in any order → each snapshot's pairs of a fresh evaluation, bit for bit`` () =
    let run = train spec
    let ctx = IterateSplit.Context.ofRun run
    let order = [ run.SnapshotCount - 1 .. -1 .. 0 ] @ [ 0 .. run.SnapshotCount - 1 ]
    for s in order do
        let kept = SplitResults.atSnapshot run s
        let fresh = (IterateSplit.evaluate ctx true (run.W s) (run.V s)).Pairs
        Assert.Equal(fresh.Length, kept.Length)
        let fields (p: IterateSplit.Pair) = Microsoft.FSharp.Reflection.FSharpValue.GetRecordFields p |> Array.map (fun o -> bits (unbox<float> o))
        Array.iteri2 (fun k0 a b -> Assert.True((fields a = fields b), sprintf "snapshot %d, pair %d" s (k0 + 1))) fresh kept
        Assert.Same(kept, SplitResults.atSnapshot run s)
    // and the verdicts read from them are those of a run that evaluated them in its own order
    let other = train spec
    for s in 0 .. other.SnapshotCount - 1 do SplitResults.atSnapshot other s |> ignore
    for r in [ SplitResults.gradientDifferenceSplit; SplitResults.forcing ] do
        Assert.Equal(sprintf "%A" (Result.evaluate r other), sprintf "%A" (Result.evaluate r run))

[<Fact>]
let ``Layerwise.Evaluate: σ buffers shared between threads, left full of a deeper pass' numbers → the same states, adjoints, gradients and loss bit for bit`` () =
    let small = train spec
    let deep = train (RunSpec(Depth = 24, Width = 7, Samples = 6, Dim = 3, Eta = 0.01, Iterations = 4, Snapshots = 2, VScale = 0.5, Seed = 5L))
    let eval (run: Run) s =
        Layerwise.Evaluate(run.Shape, run.Data.Activation, run.Data.Data, run.Data.A, run.Data.B, ReadOnlySpan(run.W s), ReadOnlySpan(run.V s))
    let flat (lw: Layerwise) =
        [| for x in lw.H do for y in x do yield! y
           for x in lw.P do for y in x do yield! y
           for g in lw.GW do yield! g
           for g in lw.GV do yield! g
           yield! lw.VtPMax
           yield lw.Loss |] |> Array.map bits
    let first = [| for s in 0 .. small.SnapshotCount - 1 -> flat (eval small s) |]
    // deeper passes on several threads at once leave larger buffers in the pool, full of their numbers
    Threading.Tasks.Parallel.For(0, 6, fun t -> eval deep (t % deep.SnapshotCount) |> ignore) |> ignore
    let again = Array.zeroCreate (4 * small.SnapshotCount)
    Threading.Tasks.Parallel.For(0, again.Length, fun t -> again.[t] <- flat (eval small (t % small.SnapshotCount))) |> ignore
    again |> Array.iteri (fun t a -> Assert.True((a = first.[t % small.SnapshotCount]), sprintf "evaluation %d (snapshot %d)" t (t % small.SnapshotCount)))

[<Fact>]
let ``Linalg.normOf, norm, columnNormsAndFrobeniusOf: a reference pass' rows as segments → the bits of the sums of squares formed apart (Array.sumBy over a copy, the former array forms); a moved entry → other bits (control)`` () =
    // the readers of Layerwise.H and .P take its rows as segments of one array, and `norm` is `normOf` of the whole array:
    // the norms must be the numbers the array forms gave when every row was an array of its own (Σ x² by Array.sumBy)
    let run = train spec
    let former (x: float[]) = Array.sumBy (fun t -> t * t) x
    let mutable moved = 0
    for s in 0 .. run.SnapshotCount - 1 do
        let lw = run.Layerwise s
        for rows in [ lw.H; lw.P ] do
            for k in 0 .. rows.Length - 1 do
                let layer = rows.[k]
                let arrays = Array.init layer.Length (fun i -> layer.[i].ToArray())
                for i in 0 .. layer.Length - 1 do
                    let want = sqrt (former arrays.[i])
                    Assert.True(bits (Linalg.normOf layer.[i]) = bits want && bits (Linalg.norm arrays.[i]) = bits want, sprintf "snapshot %d, layer %d, row %d" s k i)
                let norms, fro = Linalg.columnNormsAndFrobeniusOf layer
                let norms0, fro0 = Linalg.columnNormsAndFrobenius arrays
                let want = arrays |> Array.map (former >> sqrt)
                let wantFro = sqrt (arrays |> Array.fold (fun acc x -> acc + former x) 0.0)
                Assert.True((Array.map bits norms = Array.map bits want) && bits fro = bits wantFro, sprintf "snapshot %d, layer %d: column norms" s k)
                Assert.True((Array.map bits norms0 = Array.map bits want) && bits fro0 = bits wantFro, sprintf "snapshot %d, layer %d: column norms of arrays" s k)
                // control: the same row with one entry moved by an ulp-scale amount gives other bits
                let a = arrays.[0]
                if a.[0] <> 0.0 then
                    let b = Array.copy a
                    b.[0] <- b.[0] * (1.0 + 1e-9)
                    if bits (sqrt (former b)) <> bits (Linalg.normOf layer.[0]) then moved <- moved + 1
    Assert.True(moved > 0, "no moved entry changed a norm: the comparison could not see a change")
