module ResOdeProofs.Properties.Smoke

open Xunit
open ResOdeProofs.Numerics.Training
open ResOdeProofs.Properties.Generators

[<Fact>]
let ``Run: sampled setting → opens as a theory run with that setting`` () =
    let spec = RunSpec(Depth = 4, Width = 5, Samples = 3, Dim = 2, Iterations = 3, Seed = 7L)
    let run = train spec
    Assert.Equal(4, run.Setting.Depth)
    Assert.Equal(3, run.Losses.Length - 1)
    Assert.Equal(0.0, run.DepthIncrement 0) // tied init: all layers equal
