/// `DepthSmoothness.measuredIterates` (class (c) of docs/architecture.md, "Worst cases and NaN"): the entries of a
/// per-iterate column before the first snapshot are placeholders cut by their index, never by their value; every later
/// entry is a measurement, a NaN among them included, and reaches the maximum A.rate and fig1.seeds read.
module ResOdeProofs.Properties.MeasuredIteratesTests

open System
open Xunit
open ResOdeProofs.Numerics.IO
open ResOdeProofs.Numerics.Training
open ResOdeProofs.Theory

/// An MLP run of 10 updates with snapshots at 0, 4, 8 and 10, read as a run whose first snapshot is iterate
/// `first` (4: the snapshot at 0 left out, as a producer that records from iterate 4 on; 0: all of them).
let private runFrom (first: int) =
    let spec = RunSpec(Depth = 4, Width = 5, Samples = 4, Dim = 3, Iterations = 10, SnapshotSteps = [| 4; 8 |], Seed = 3L)
    let d = RunDirectory.InMemory(spec.Train(), "measured iterates")
    let keep = d.Steps |> Array.indexed |> Array.filter (fun (_, t) -> t >= first) |> Array.map fst
    Registry.openRun (
        RunData(Directory = d.Directory, Meta = d.Meta, Shape = d.Shape, Data = d.Data, A = d.A, B = d.B, Activation = d.Activation,
                Eta = d.Eta, Steps = (keep |> Array.map (fun s -> d.Steps.[s])), W = (keep |> Array.map (fun s -> d.W.[s])),
                V = (keep |> Array.map (fun s -> d.V.[s])), Losses = d.Losses, Trace = d.Trace))

/// The run with its smooth_z column replaced by `column` (taken as the verifier's columns, as a study's cell supplies them).
let private withSmoothZ (run: Run) (column: float[]) =
    Assert.True(run.UseVerifiedColumns(Collections.Generic.Dictionary<string, float[]>(dict [ "smooth_z", column ])), "column of the run's length")
    run

let private measured = [| 0.5; 0.6; 0.4; 0.3; 0.2; 0.1; 0.1 |]

[<Fact>]
let ``DepthSmoothness.measuredIterates: first snapshot at iterate 4, NaN placeholders before it → the entries from iterate 4 on, the maximum finite`` () =
    let run = runFrom 4
    Assert.Equal<int[]>([| 4; 8; 10 |], run.Steps)
    let column = Array.append (Array.create 4 nan) measured
    Assert.Equal<float[]>(measured, DepthSmoothness.measuredIterates run column)
    // keeping the placeholders would make the maximum NaN (not measured) on a run every iterate of which was measured
    Assert.Equal(0.6, DepthSmoothness.maxIncrement (withSmoothZ run column))

[<Fact>]
let ``DepthSmoothness.measuredIterates: finite placeholders larger than every measurement → cut by index, the maximum 0.6 not 9`` () =
    let run = runFrom 4
    let column = Array.append (Array.create 4 9.0) measured
    Assert.Equal<float[]>(measured, DepthSmoothness.measuredIterates run column)
    Assert.Equal(0.6, DepthSmoothness.maxIncrement (withSmoothZ run column))

[<Fact>]
let ``DepthSmoothness.measuredIterates: a NaN measured at iterate 6, after the first snapshot → kept, the maximum NaN (not measured)`` () =
    let run = runFrom 4
    let later = Array.copy measured
    later.[2] <- nan
    let column = Array.append (Array.create 4 nan) later
    let kept = DepthSmoothness.measuredIterates run column
    Assert.Equal(7, kept.Length)
    Assert.True(Double.IsNaN kept.[2])
    // skipping every NaN (the placeholders' test by value) would have passed over it and read 0.6
    Assert.True(Double.IsNaN(DepthSmoothness.maxIncrement (withSmoothZ run column)))

[<Fact>]
let ``DepthSmoothness.measuredIterates: this engine's run, first snapshot at iterate 0 → the whole column`` () =
    let run = runFrom 0
    Assert.Equal<int[]>([| 0; 4; 8; 10 |], run.Steps)
    let column = Array.append [| 0.7; 0.1; 0.2; 0.3 |] measured
    Assert.Equal<float[]>(column, DepthSmoothness.measuredIterates run column)
    Assert.Equal(0.7, DepthSmoothness.maxIncrement (withSmoothZ run column))
