/// Result B's statements written once (src/Theory.FSharp/Results/OdeLimit.fs), checked on their own: the a priori
/// recursion against its paper form, and the one comparison of every sample with its bound.
module ResOdeProofs.Properties.OdeLimitTests

open System
open Xunit
open FsCheck
open FsCheck.FSharp
open ResOdeProofs.Theory
open ResOdeProofs.Properties.Profile

/// Per layer k = 1..L: κ_k ∈ [0, 3], v_k ∈ [0, 10], F_k ∈ [0, 10] (on a grid of 1/1000).
let private layers =
    gen {
        let! L = Gen.choose (1, 64)
        let num hi = Gen.choose (0, hi * 1000) |> Gen.map (fun x -> float x / 1000.0)
        let! ks = Gen.arrayOfLength L (num 3)
        let! vs = Gen.arrayOfLength L (num 10)
        let! fs = Gen.arrayOfLength L (num 10)
        return ks, vs, fs
    }

/// E_L = Σ_k τ_k Π_{j>k}(1 + κ_j/L) ≤ L·max τ·e^{max κ} and L·max τ ≤ (L·max v)/(2L) + κF/(2L), which is the paper form
/// with the variation L·max_k v_k; the recursion and the paper form are summed in double, allowed 1e-12 relative.
[<ProfiledProperty(200, Replay = "(4242,977)")>]
let ``OdeLimit.paperForm: random layer-wise κ_k, v_k, F_k → the recursion's E_L within the paper form`` () =
    Prop.forAll (Arb.fromGen layers) (fun (ks, vs, fs) ->
        let L = float ks.Length
        let e = Array.fold2 (fun e k (v, f) -> OdeLimit.propagate L k e (OdeLimit.localError L v k f)) 0.0 ks (Array.zip vs fs)
        let paper = OdeLimit.paperForm L (Array.max ks) (L * Array.max vs) (Array.max fs)
        e <= paper * (1.0 + 1e-12) |> Prop.label (sprintf "E_L %.17g > paper form %.17g" e paper))

type private S = { I: int; M: float; B: float; Eps: float }

let private comparing bare : OdeLimit.Comparing<S> =
    { Sample = (fun s -> s.I); Measured = (fun s -> s.M); Compared = (fun s b -> b + s.Eps); Rel = 0.0; ReportBare = bare }

let private snaps (samples: S[]) : OdeLimit.Snapshot<S>[] =
    [| { When = "snapshot 0, iteration 0 (t = 0)"; Samples = samples.[0 .. 1] }; { When = "snapshot 1, iteration 5 (t = 0.05)"; Samples = samples.[2 ..] } |]

[<Fact>]
let ``OdeLimit.compareAll: one sample beyond its bound plus allowance → violated at that sample and snapshot`` () =
    let xs = [| { I = 0; M = 1.0; B = 2.0; Eps = 0.0 }; { I = 1; M = 1.0; B = 4.0; Eps = 0.0 }; { I = 0; M = 3.0; B = 2.5; Eps = 0.25 } |]
    let e, si, x = OdeLimit.compareAll (comparing false) (fun s -> s.B) (snaps xs)
    match e.Verdict with
    | Violated w ->
        Assert.Equal("sample i = 0", w.Where)
        Assert.Equal("snapshot 1, iteration 5 (t = 0.05)", w.When)
    | v -> failwithf "expected violated, got %A" v
    Assert.Equal(1, si)
    Assert.Equal(2.75, e.Bound.Value)
    Assert.Equal(xs.[2], x)

[<Fact>]
let ``OdeLimit.compareAll: every sample within → holds, worst comparison and tightness over all; the MLP's convention reports the compared bound and the bare one as a constant`` () =
    let xs = [| { I = 0; M = 1.0; B = 2.0; Eps = 0.0 }; { I = 1; M = 1.0; B = 4.0; Eps = 0.0 }; { I = 0; M = 2.0; B = 2.5; Eps = 0.5 } |]
    let e, si, _ = OdeLimit.compareAll (comparing true) (fun s -> s.B) (snaps xs)
    Assert.True(Verdict.isHolds e.Verdict, sprintf "%A" e.Verdict)
    Assert.Equal(1, si)
    Assert.Equal(3.0, e.Bound.Value)
    Assert.Equal(2.5, e.Constants |> List.find (fun (n, _) -> n = "bare bound at the deciding sample") |> snd)
    Assert.Equal(1.5, e.Range.Value.Min)
    Assert.Equal(4.0, e.Range.Value.Max)
    let e', _, _ = OdeLimit.compareAll (comparing false) (fun s -> s.B) (snaps xs)
    Assert.Equal(3.0, e'.Bound.Value)
