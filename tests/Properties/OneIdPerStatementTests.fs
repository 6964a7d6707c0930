/// One id per statement, whatever the architecture (docs/theorems/GenericResults.md, "One id per statement"): an MLP run
/// and a run of every other block carry the same ids for the statements they share; the MLP's own ids are exactly
/// `mlpOnly` below (the results whose hypotheses need its form Vσ(Wh), each with why), the other architectures' own id
/// is exactly B.bound.tangent.
module ResOdeProofs.Properties.OneIdPerStatementTests

open Xunit
open ResOdeProofs.Numerics.Blocks
open ResOdeProofs.Numerics.Training
open ResOdeProofs.Theory

/// The single-run results an MLP run carries and no other architecture's run does, each with what in its hypotheses or
/// ingredients needs the MLP's form f(Z, h) = Vσ(Wh) with parts W and V (docs/theorems/GenericResults.md, "One id per statement"). Every other
/// single-run id of an MLP run is also an id of every other architecture's run, the same statement with that
/// architecture's ingredients; the one id of the other architectures that an MLP run lacks is B.bound.tangent.
let mlpOnly : (string * string) list =
    [ "I.loss", "recomputes the loss of each snapshot with the MLP's layer-by-layer reference (Layerwise, W and V)"
      "I.update", "checks consecutive snapshots one MLP gradient step apart (W and V, the fast engine's update)"
      "I.trace", "the MLP trace's loss and smooth_z against the losses and the W/V snapshots (on other runs E.claims compares the trace)"
      "A.apriori", "the a priori constants of the MLP's lemma chain under the clip radius (spectral norms of W and V)"
      "A.flow", "a gradient-flow run: only the MLP's engine integrates the flow"
      "E.flowReplay", "the verifier's integration of a gradient-flow run: only the MLP's engine integrates the flow"
      "A.flow.split.segments", "a gradient-flow run (only the MLP's engine integrates the flow), with L5.split's W/V parts at every stage"
      "A.flow.split.centre.segments", "a gradient-flow run, with the centre pass's W/V parts at every stage"
      "A.flow.split.centre.remainder", "a gradient-flow run, the remainder ball of the centre pass's W/V parts"
      "A.flow.split.segments.remainder", "a gradient-flow run (only the MLP's engine integrates the flow), L5.split's W/V parts at every stage"
      "L5.forcing", "the bound of L5.split's exact forcing per W/V part from the MLP's lemma chain"
      "A.split.centre.segments", "the centre of the MLP's bracket (σ'' along Wh, per W/V part; the centre pass's kernels)"
      "A.split.centre.remainder", "the remainder ball of the MLP's centre (its W/V parts)"
      "B.bound.secant", "secant slopes of the elementwise σ between the two trajectories (exact linearization of Vσ(Wh))"
      "B.bound.defect", "the reference's node defects propagated by the same secant Jacobians"
      "B.local", "the MLP's Taylor model of the flow over one layer (secant slopes of σ, s2 = sup|σ''|)" ]

/// The ids only the other architectures' runs carry.
let private blockOnly = set [ GenericEuler.eulerBoundTangent.Id ]

/// What is wrong with the id sets of an MLP run and of a block's run: an id of one that the other lacks and that is not
/// listed as its own (mlpOnly, blockOnly), an id listed as the MLP's own that its run lacks, an MLP-only id on the block
/// run, an id repeated, an id that names a run format (G.*).
let private mismatches (mlp: string list) (block: string list) : string list =
    let m, b = set mlp, set block
    let own = mlpOnly |> List.map fst |> set
    [ for id in Set.difference m b do if not (own.Contains id) then yield sprintf "%s: on the MLP run only, not listed in mlpOnly" id
      for id in Set.difference b m do if not (blockOnly.Contains id) then yield sprintf "%s: on the block run only" id
      for id in own do
          if not (m.Contains id) then yield sprintf "%s: listed in mlpOnly, not on the MLP run" id
          if b.Contains id then yield sprintf "%s: listed in mlpOnly, also on the block run" id
      for id in blockOnly do if not (b.Contains id) then yield sprintf "%s: not on the block run" id
      for ids, what in [ mlp, "MLP"; block, "block" ] do
          for id in ids |> List.countBy id |> List.filter (fun (_, c) -> c > 1) |> List.map fst do yield sprintf "%s: twice on the %s run" id what
          for id in ids do if id.StartsWith "G." then yield sprintf "%s: an id that names a run format" id ]

let private idsOf (run: Run) = Registry.verifyView Registry.every run |> List.map (fun r -> r.Id)

let private mlpIds =
    lazy (idsOf (BlockProperties.trainBlock (RunSpec(Depth = 4, Samples = 4, Dim = 3, Width = 4, Iterations = 4, Snapshots = 3, Seed = 3L))))

let private blockIds (name: string) =
    idsOf (BlockProperties.trainBlock (RunSpec(Architecture = name, Depth = 4, Samples = 4, Dim = 3, Iterations = 4, Snapshots = 3, Seed = 3L)))

/// Every block of the catalog but the MLP.
let private blocks = BlockCatalog.All |> Seq.map (fun e -> e.Name) |> Seq.filter (fun n -> n <> "mlp") |> List.ofSeq

[<Fact>]
let ``Registry: an MLP run and a run of every other block → the same ids for the shared statements, the MLP's own exactly mlpOnly`` () =
    Assert.True(blocks.Length >= 4, sprintf "blocks %A" blocks)
    let mlp = mlpIds.Force()
    for b in blocks do
        let ids = blockIds b
        Assert.Empty(mismatches mlp ids)
        // the shared statements of results A and B, under one id on both runs
        for id in [ "A.aposteriori"; "A.aposteriori.segments"; "A.split"; "A.split.segments"; "B.bound"; "C.gdDecay"; "L5.gradient-difference"; "E.replay" ] do
            Assert.Contains(id, mlp)
            Assert.Contains(id, ids)

[<Fact>]
let ``Registry: block ids under the former names (G.A.aposteriori, G.B.bound, …) → the id check reports each`` () =
    let mlp = mlpIds.Force()
    let ids = blockIds "one-layer"
    let former = Registry.formerIds |> List.map (fun (old, now) -> now, old) |> Map.ofList
    let renamed = ids |> List.map (fun id -> match former.TryFind id with Some old -> old | None -> id)
    let found = mismatches mlp renamed
    for id in [ "A.aposteriori"; "A.split"; "B.bound"; "G.B.bound"; "G.A.split" ] do
        Assert.Contains(found, fun (m: string) -> m.StartsWith(id + ":"))
    // an MLP-only id on a block run, or a shared id missing from it, is reported too
    Assert.Contains(mismatches mlp ("B.bound.secant" :: ids), fun (m: string) -> m.StartsWith "B.bound.secant:")
    Assert.Contains(mismatches mlp (ids |> List.filter (fun i -> i <> "A.split")), fun (m: string) -> m.StartsWith "A.split:")
