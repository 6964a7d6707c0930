/// Runs trained by PyTorch itself (tests/Properties/fixtures/pytorch, written by make_runs.py there with the exporter
/// of docs/run-format.md): another library's erf-based GELU, its own matrix products and summation orders, torch.optim.SGD
/// on MSELoss, and NumPy's .npy writer; and a gradient flow of the same network integrated by scipy's solve_ivp (RK45,
/// outputs from its dense output). A faithful run of another producer must not be reported violated, and a corrupted
/// one must be: on the descent runs by a theorem, the depth-smoothness centre comparing each recorded snapshot with the
/// bound propagated from the snapshot before within E.replay's landing allowance for the producer's own rounding
/// (float64: ~10⁻¹¹; float32: ≤ 2.1·10⁻³ here; docs/theorems/DepthSmoothness.md, "A producer that is not this build");
/// on the flow by E.flowReplay (A.flow is far too loose there to notice it, DepthSmoothness.md, "A.flow").
module ResOdeProofs.Properties.PyTorchRunTests

open System
open System.IO
open Xunit
open ResOdeProofs.Numerics.IO
open ResOdeProofs.Theory

/// The committed fixture copied into a fresh directory (verify writes beside a run; the fixture stays untouched).
let private copyOf (name: string) =
    let from = Path.Combine(AppContext.BaseDirectory, "fixtures", "pytorch", name)
    if not (File.Exists(Path.Combine(from, "run.json"))) then failwithf "fixture %s is missing from the test output" from
    let dir = Path.Combine(Path.GetTempPath(), "resode-pytorch-" + Guid.NewGuid().ToString("N").Substring(0, 10))
    Directory.CreateDirectory dir |> ignore
    for f in Directory.GetFiles from do
        let name = nonNull (Path.GetFileName f)
        if Path.GetExtension f = ".npy" || name = "run.json" then File.Copy(f, Path.Combine(dir, name))
    dir

/// Adds δ to every entry of W_k (layer k, 1-based) at snapshot s, in the file's own precision.
let private bump (dir: string) (s: int) (k: int) (delta: float) =
    let path = Path.Combine(dir, "w.npy")
    let struct (shape, slices, dtype) = Npy.ReadSlices(path, "w", -1, -1, -1, -1)
    let md = shape.[2] * shape.[3]
    let w = slices.[s]
    for i in (k - 1) * md .. k * md - 1 do w.[i] <- w.[i] + delta
    let all = Array.concat slices
    if dtype.Contains "f4" then Npy.Write(path, ReadOnlySpan<float32>(all |> Array.map float32), shape)
    else Npy.Write(path, ReadOnlySpan<float>(all), shape)

// the rows of every result on a run directory (removed afterwards), and the violated ones, as EvidenceTests reads them
let private rows = EvidenceTests.verdicts
let private violated = EvidenceTests.noneViolated

let private expect (rows: Collections.Generic.IDictionary<string, Registry.VerdictRow>) id verdict =
    Assert.True((rows.[id].Verdict = verdict), sprintf "%s: %s (expected %s): %s" id rows.[id].Verdict verdict rows.[id].Detail)

[<Fact>]
let ``PyTorch run: float64, GELU, independent layers, SGD on MSELoss → nothing violated, the split statements evaluated and holding`` () =
    let dir = copyOf "gelu-iid-f64"
    Assert.Equal("float64", (RunDirectory.Read dir).Meta.Precision)
    let r = rows dir
    Assert.Empty(violated r)
    // a foreign producer: no bit-exact claim, the rounding companions' allowance
    expect r "E.replay" "holds"
    Assert.DoesNotContain("bit for bit", r.["E.replay"].Detail)
    for id in [ "A.split"; "A.split.segments"; "A.split.centre.segments"; "A.split.centre.remainder"; "L5.split"; "I.loss" ] do expect r id "holds"

/// A faithful PyTorch tanh run whose weights grow at learning rate 64 until units saturate: there PyTorch's σ' = 1 − tanh²
/// is 0 where this engine's sech² is tiny and positive, an absolute rounding of σ' that the gradient's relative allowance
/// τ·M (M built from σ' itself) did not hold, and E.replay was VIOLATED (10¹⁹ against 5·10¹⁰ at snapshot 3; a user test of
/// a run of that kind). With σ' rounded absolutely in the per-step rounding the replay's tolerance grows past the share of
/// the weights it may certify, which it says: hypothesis not met, nothing violated.
[<Fact>]
let ``PyTorch run: float64, tanh, learning rate 64, units saturating → nothing violated, E.replay not certifiable (its tolerance with the absolute rounding of σ')`` () =
    let dir = copyOf "tanh-iid-f64-unstable"
    let r = rows dir
    Assert.Empty(violated r)
    expect r "E.replay" "hypothesis not met"
    Assert.Contains("exceeds", r.["E.replay"].Detail)

/// A faithful PyTorch tanh run at learning rate 128 with a snapshot every step: step 3 → 4 multiplies the weights' norm
/// 16 000-fold, and in that step's gradient evaluation the adjoints grow 12 934-fold down the layers. The producer's float64
/// rounding, carried down by those Jacobians, put its snapshot 4 0.0046 from the replay, where τ (which allows for an
/// amplification of 2) gave 0.0004: E.replay was VIOLATED. With the measured growth (EvaluationStats.AdjointGrowth) in the
/// per-step rounding the segment holds; W_7 moved by 1 an entry at snapshot 4 (11.3 in norm, 6·10⁻⁷ of the weights') is
/// still caught there.
[<Fact>]
let ``PyTorch run: float64, tanh, learning rate 128, the adjoints growing 12 934-fold in one evaluation → nothing violated; W_7 at snapshot 4 moved by 1 an entry → E.replay violated there`` () =
    let r = rows (copyOf "tanh-iid-f64-steps")
    Assert.Empty(violated r)
    Assert.Contains("certified segment(s) were compared and hold", r.["E.replay"].Detail)
    let dir = copyOf "tanh-iid-f64-steps"
    bump dir 4 7 1.0
    let r = rows dir
    expect r "E.replay" "VIOLATED"
    Assert.Contains("at snapshot 4 weights vs replay from snapshot 3", r.["E.replay"].Detail)

/// Sets the recorded loss of iteration i to ℓ + δ (losses.npy, float64).
let private bumpLoss (dir: string) (i: int) (delta: float) =
    let path = Path.Combine(dir, "losses.npy")
    let all = (Npy.Read path).Data
    all.[i] <- all.[i] + delta
    Npy.Write(path, ReadOnlySpan<float>(all), all.Length)

/// A faithful PyTorch tanh run at learning rate 768 (L = 32), snapshots 3 and 4 of a snapshot every step: at snapshot 4 the
/// adjoints grow 18 875-fold down the layers, and the forward pass' rounding, carried up by the same Jacobians, puts
/// PyTorch's loss 3.9·10⁻¹⁰ and this engine's 2.9·10⁻¹⁰ from the exact one (long double), where the loss allowance
/// (Replay.LossRounding) without the measured amplification was 2.6·10⁻¹⁰ for the two: E.replay was VIOLATED at the
/// snapshot's own weights, before any update. A recorded loss moved by 10⁻⁵ (MSELoss' mean, 8·10⁻⁵ in ℓ) is still caught.
[<Fact>]
let ``E.replay: PyTorch float64 tanh run, learning rate 768, the adjoints growing 18 875-fold at a snapshot → its loss holds; that loss moved by 1e-5 → violated`` () =
    let dir = copyOf "tanh-iid-f64-loss"
    let r = rows dir
    expect r "E.replay" "holds"
    // the factor is shown with the row (a user could not tell which amplification had widened an allowance): A/2 ≈ 9 437
    let amplification =
        r.["E.replay"].Constants |> Seq.find (fun (n: string, _) -> n.StartsWith "largest rounding amplification") |> snd
    Assert.InRange(amplification, 9000.0, 10000.0)
    let dir = copyOf "tanh-iid-f64-loss"
    bumpLoss dir 1 1e-5
    let r = rows dir
    expect r "E.replay" "VIOLATED"
    Assert.Contains("iteration 1", r.["E.replay"].Detail)

/// A faithful PyTorch GELU run at learning rate 320 kept up to its last finite snapshot (losses 1.8, 4·10¹¹, 3·10²⁰²): the
/// replay from snapshot 1 is finite, but the gradient's norm there is beyond what float64 holds as a sum of squares, so the
/// loss allowance was ∞·0 = NaN and E.replay said the replay "left the finite numbers" and to check η, a false lead (a user
/// test). The allowance is +∞, said as such: not certifiable, nothing violated.
[<Fact>]
let ``PyTorch run: float64, GELU, learning rate 320, cut where it diverges, a gradient norm beyond float64 → E.replay not certifiable, the allowance said to overflow, not the replay`` () =
    let r = rows (copyOf "gelu-iid-f64-overflow")
    Assert.Empty(violated r)
    expect r "E.replay" "hypothesis not met"
    let detail = r.["E.replay"].Detail
    Assert.Contains("beyond float64", detail)
    Assert.DoesNotContain("left the finite numbers", detail)
    // the segment 0 → 1 between snapshots; the last snapshot's loss (a segment of no step) is not certifiable: its adjoints
    // overflow, so the measured amplification of the loss' rounding (Replay.LossRounding) is beyond float64
    Assert.Contains("the other 1 certified segment(s) were compared and hold", detail)
    Assert.Contains("iterations 2 → 2: the tolerance E = Infinity", detail)

/// Every entry of W_7 at snapshot 2 of a fixture moved by δ (losses as recorded): the centre's own comparison fails at that
/// snapshot (its hypotheses are met, or it would not be compared), and E.replay's landing on it too.
let private centreCatchesBump (fixture: string) (delta: float) =
    let dir = copyOf fixture
    bump dir 2 7 delta
    let r = rows dir
    expect r "A.split.centre.segments" "VIOLATED"
    Assert.Contains("snapshot 2", r.["A.split.centre.segments"].Detail)
    expect r "E.replay" "VIOLATED"

[<Fact>]
let ``PyTorch run: float64, one layer of snapshot 2 moved by 0.001 per entry, losses as recorded → A.split.centre.segments violated there`` () =
    centreCatchesBump "gelu-iid-f64" 1e-3

[<Fact>]
let ``PyTorch run: float32, GELU, tied layers, SGD on MSELoss → nothing violated, the split statements evaluated within the landing allowance`` () =
    let dir = copyOf "gelu-tied-f32"
    Assert.Equal("float32", (RunDirectory.Read dir).Meta.Precision)
    let r = rows dir
    Assert.Empty(violated r)
    expect r "E.replay" "holds"
    expect r "I.loss" "holds"
    // a float32 producer: the bounds are the float64 replay's, each snapshot compared within 2(E + u‖Z‖) of E.replay
    for id in [ "A.split"; "A.split.segments"; "A.split.centre.segments"; "A.split.centre.remainder" ] do expect r id "holds"
    Assert.Contains(r.["A.split.centre.segments"].Constants, fun (name, a) -> name.StartsWith "landing allowance" && a > 1e-6)

[<Fact>]
let ``PyTorch run: float32, one layer of snapshot 2 moved by 0.01 per entry → A.split.centre.segments violated there, beyond the landing allowance`` () =
    centreCatchesBump "gelu-tied-f32" 1e-2

[<Fact>]
let ``scipy gradient flow: solve_ivp RK45 on PyTorch's field, outputs from its dense output → E.flowReplay holds, nothing violated`` () =
    let dir = copyOf "gelu-flow-rk45"
    let data = RunDirectory.Read dir
    Assert.Equal("gf", data.Meta.Optimizer)
    let r = rows dir
    Assert.Empty(violated r)
    // another integrator: the verifier's own solve within the producer's stated accuracy, not a bit-exact rerun
    expect r "E.flowReplay" "holds"
    expect r "A.flow" "holds"
    // the split recursion at every stage of the verifier's integration, compared with scipy's snapshots within twice the
    // flow replay's weight tolerance
    expect r "A.flow.split.segments" "holds"
    expect r "A.flow.split.centre.segments" "holds"
    expect r "A.flow.split.centre.remainder" "holds"

[<Fact>]
let ``scipy gradient flow: one layer of snapshot 2 moved by 10⁻⁴ per entry → E.flowReplay violated at that snapshot's output`` () =
    let dir = copyOf "gelu-flow-rk45"
    bump dir 2 7 1e-4
    let r = rows dir
    expect r "E.flowReplay" "VIOLATED"
    Assert.Contains("segment from snapshot 2", r.["E.flowReplay"].Detail)

[<Fact>]
let ``scipy gradient flow: one layer of snapshot 2 moved by 10⁻³ per entry → A.flow.split.centre.segments violated there, beyond twice the flow replay's weight tolerance`` () =
    let dir = copyOf "gelu-flow-rk45"
    bump dir 2 7 1e-3
    let r = rows dir
    expect r "A.flow.split.centre.segments" "VIOLATED"
    Assert.Contains("snapshot 2", r.["A.flow.split.centre.segments"].Detail)

/// Every entry of W_7 at snapshot 2 moved by δ: the remainder's ball (radius plus the landing allowance) rejects it at snapshot 2
/// or at snapshot 3 (the centre restarted at the moved increments and propagated to the recorded ones), on a pair of layer 7,
/// while the norm comparison of A.split.centre.segments (or its flow form) lets it through.
let private remainderCatchesBump (fixture: string) (delta: float) (remainder: string) (centre: string) =
    let dir = copyOf fixture
    bump dir 2 7 delta
    let r = rows dir
    expect r centre "holds"
    expect r remainder "VIOLATED"
    let detail = r.[remainder].Detail
    Assert.True(detail.Contains "snapshot 2" || detail.Contains "snapshot 3", detail)
    Assert.True(detail.Contains "pair k = 6" || detail.Contains "pair k = 7", detail)

[<Fact>]
let ``PyTorch run: float64, one layer of snapshot 2 moved by 10⁻⁸ per entry → A.split.centre.remainder violated, A.split.centre.segments holds`` () =
    remainderCatchesBump "gelu-iid-f64" 1e-8 "A.split.centre.remainder" "A.split.centre.segments"

[<Fact>]
let ``PyTorch run: float32, one layer of snapshot 2 moved by 6·10⁻⁴ per entry → A.split.centre.remainder violated beyond the landing allowance, A.split.centre.segments holds`` () =
    remainderCatchesBump "gelu-tied-f32" 6e-4 "A.split.centre.remainder" "A.split.centre.segments"

[<Fact>]
let ``scipy gradient flow: one layer of snapshot 2 moved by 10⁻⁵ per entry → A.flow.split.centre.remainder violated beyond twice the flow replay's weight tolerance, A.flow.split.centre.segments holds`` () =
    remainderCatchesBump "gelu-flow-rk45" 1e-5 "A.flow.split.centre.remainder" "A.flow.split.centre.segments"
