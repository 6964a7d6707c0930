module Placeholder
open Xunit
[<Fact>]
let ``theory version is set`` () = Assert.Equal("0.1.0", ResOdeProofs.Theory.Placeholder.version)
