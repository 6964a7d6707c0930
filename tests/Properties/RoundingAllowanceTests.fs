/// The rounding allowances of the comparisons (src/Theory.FSharp/Vocabulary/Rounding.fs; docs/theorems/RunIntegrity.md,
/// "Rounding allowances of the comparisons"): each one is derived from the operation counts of its kind of comparison,
/// and each is the line between holds and violated: a corrupted input that exceeds it by twice is rejected, one that
/// exceeds the exact bound by half of it is not, while every hypothesis stays met. No fixed allowance remains.
module ResOdeProofs.Properties.RoundingAllowanceTests

open System
open System.IO
open System.Text.RegularExpressions
open Xunit
open ResOdeProofs.Numerics
open ResOdeProofs.Numerics.Training
open ResOdeProofs.Numerics.IO
open ResOdeProofs.Theory
open ResOdeProofs.Properties.Generators

/// γ_k = k·u/(1 − k·u) at float64, written out here (not `Rounding.gamma64`) so that the formulas below are checked
/// against an independent evaluation of the derivation.
let private g64 (k: float) = let ku = k * Math.Pow(2.0, -53.0) in ku / (1.0 - ku)

/// a and b equal to 1e-12 relative (the same formula, evaluated in another order)
let private close (expected: float) (got: float) =
    Assert.True(abs (expected - got) <= 1e-12 * abs expected, sprintf "expected %.17g, got %.17g" expected got)

let private mlpRun () = train (RunSpec(Depth = 8, Width = 8, Samples = 5, Dim = 3, VScale = 0.5, Iterations = 4, Snapshots = 3, Seed = 11L))

[<Fact>]
let ``Rounding.chainRel: figure-1 sizes → 8(4L(m + d)u + γ_2S) + γ_8(L+1), 2.4e-11, forty times below the former 1e-9`` () =
    // L = 64, m = 32, d = d_out = 16, n = 100, P = 2md = 1 024: S = n(m + d + d_out) + P = 7 424
    let expected = 8.0 * (4.0 * 64.0 * 48.0 * Math.Pow(2.0, -53.0) + g64 (2.0 * 7424.0)) + g64 (8.0 * 65.0)
    let got = Rounding.chainRelOf 64 48 100 32 16 16 1024
    close expected got
    Assert.InRange(got, 2.4e-11, 2.5e-11)

[<Fact>]
let ``Rounding.tolerance: a float64 run → max_s 4·Ā_s·L(m + d)u·(1 + ς_s/2) + γ_(n(d_out + 1) + 1), Ā_s ≤ Π(1 + κ_k/L), no floor`` () =
    let run = mlpRun ()
    let st = run.Setting
    // the worst case A = max over snapshots of Π_k(1 + s1‖W_k‖₂‖V_k‖₂/L), from the lemma chain's norms of each snapshot
    let worst s =
        let sn = LemmaChain.snapshotNorms run s
        Array.fold2 (fun p w v -> p * (1.0 + st.S1 * w * v / float st.Depth)) 1.0 sn.WOp sn.VOp
    close (seq { for s in 0 .. run.SnapshotCount - 1 -> worst s } |> Seq.max) (Rounding.forwardAmplification run)
    let sums = g64 (float (st.Samples * (run.Data.Data.OutputDim + 1) + 1))
    let perState = 4.0 * float st.Depth * float (st.Width + st.Dim) * Math.Pow(2.0, -53.0)
    let expected =
        seq { for s in 0 .. run.SnapshotCount - 1 ->
                let a = Rounding.amplificationAt run s
                Assert.True(a.Value <= worst s * (1.0 + 1e-12), sprintf "Ā_%d = %g above the worst case %g" s a.Value (worst s))
                close (perState * a.Value + sums) (Rounding.forwardToleranceAt run s)
                perState * a.Value * (1.0 + a.Sensitivity / 2.0) + sums }
        |> Seq.max
    close expected (Rounding.tolerance run)
    // L = 8, m = 8, d = 3: the forward τ_s is 4Ā_s·L(m + d)u + γ ≈ 1.8·10⁻¹³; the gradients' carries ς_s ≈ 600 (σ'' times
    // the states and the layers' norms, docs/theorems/RunIntegrity.md step 6)
    for s in 0 .. run.SnapshotCount - 1 do
        Assert.True(Rounding.forwardToleranceAt run s < 1e-12, sprintf "τ_%d = %g" s (Rounding.forwardToleranceAt run s))
    Assert.True(Rounding.tolerance run < 1e-9, sprintf "τ = %g" (Rounding.tolerance run))

/// L1.hidden evaluated with the MLP's own supply, except that the state norm ‖h_L^0‖ of the last snapshot is replaced
/// by the lemma's bound Hb_L^0 times (1 + factor·ρ_chain): the bound itself (from ‖h_0‖ and the layers' norms) and every
/// hypothesis are the run's.
let private hiddenWithStateAt (run: Run) (factor: float) =
    let last = run.SnapshotCount - 1
    let L = run.Setting.Depth
    let rho = Rounding.chainRel run
    let supply =
        { LemmaChain.mlp with
            Snapshot = fun r s ->
                let c = LemmaChain.mlp.Snapshot r s
                if s <> last then c
                else
                    let hb = LemmaChain.chainHidden L c
                    let h = c.HNorm |> Array.map Array.copy
                    h.[L].[0] <- hb.[L].[0] * (1.0 + factor * rho)
                    { c with HNorm = h } }
    Result.evaluate (LemmaChain.statedOver supply).HiddenStates run

[<Fact>]
let ``L1.hidden: a state norm above its bound by twice the derived allowance ρ_chain → violated; by half of it → holds`` () =
    let run = mlpRun ()
    Assert.True(Verdict.isHolds (Result.evaluate LemmaChain.hiddenStates run).Verdict)
    match (hiddenWithStateAt run 2.0).Verdict with
    | Violated w -> Assert.Contains(sprintf "layer k = %d, sample i = 0" run.Setting.Depth, w.Where)
    | v -> failwithf "expected violated, got %A" v
    let e = hiddenWithStateAt run 0.5
    Assert.True(Verdict.isHolds e.Verdict, sprintf "%A" e.Verdict)
    // the former fixed allowance let the first corruption through
    Assert.True(Rounding.chainRel run * 2.0 < 1e-9)

let private oneLayer () =
    BlockProperties.trainBlock (RunSpec(Architecture = "one-layer", Depth = 4, Samples = 5, Dim = 3, Iterations = 6, Snapshots = 3, Seed = 7L))

[<Fact>]
let ``A.aposteriori (a block run, the one comparison): the last iterate above its bound by twice ρ_rec → violated; by half → holds`` () =
    let run = oneLayer ()
    let bound, ab, measured = GenericResults.depthSmoothnessBound run.Architecture.Value run
    let last = bound.Length - 1
    let aMax = ab.[0 .. last - 1] |> Array.map fst |> Array.max
    let track : AposterioriFamily.Track =
        { Bound = bound; Measured = measured; Allowance = (fun _ _ -> 0.0); IterateLabel = "iterate"; SnapshotLabel = "snapshot" }
    let rho = AposterioriFamily.recursionRel run track aMax
    // the derivation evaluated here: γ(8(N + 1)) + (τ + ρ_chain)(1 + min(N, ηN·max a))
    let N = float last
    let expected = g64 (8.0 * (N + 1.0)) + (Rounding.tolerance run + Rounding.chainRel run) * (1.0 + min N (run.Setting.Eta * N * aMax))
    close expected rho
    let at factor =
        let m = Array.copy measured
        m.[last] <- bound.[last] * (1.0 + factor * rho)
        (AposterioriFamily.evaluate run { track with Measured = m } aMax 0.0 [] []).Verdict
    match at 2.0 with
    | Violated w -> Assert.Contains(sprintf "iteration %d" last, w.When)
    | v -> failwithf "expected violated, got %A" v
    Assert.True(Verdict.isHolds (at 0.5), sprintf "%A" (at 0.5))

[<Fact>]
let ``A.split (the one comparison): a replayed iterate above its bound by twice ρ_own → violated; by half → holds`` () =
    let run = mlpRun ()
    let N = run.Steps.[run.SnapshotCount - 1]
    // a bound far above every recorded increment, so that only the corrupted iterate decides
    let big = 1e3 * (seq { for s in 0 .. run.SnapshotCount - 1 -> run.DepthIncrement s } |> Seq.max)
    let aMax = 2.0
    let rho = Rounding.recursionRelOwn run N (run.Setting.Eta * float N * aMax)
    let at factor =
        let t : SplitFamily.Track =
            { Bound = Array.create (N + 1) big; Iterates = [ N, big * (1.0 + factor * rho) ]; IterateLabel = "iterate"; PairBounds = None }
        (SplitFamily.evaluate run aMax t [] []).Verdict
    Assert.True(Verdict.isViolated (at 2.0), sprintf "%A" (at 2.0))
    Assert.True(Verdict.isHolds (at 0.5), sprintf "%A" (at 0.5))
    // the verifier's own coefficients: τ (the engine's rounding against the reference) is not in the split family's allowance
    Assert.True(rho < Rounding.recursionRel run N (run.Setting.Eta * float N * aMax))

/// A one-layer run with a smooth initialization whose bias part starts at 0: every θ⁰(k/L) has zero entries, so a
/// perturbation of one of them is exact in float64 whatever its size.
let private smoothOneLayer () =
    BlockProperties.trainBlock (RunSpec(Architecture = "one-layer", Depth = 4, Samples = 5, Dim = 3, Iterations = 2, Snapshots = 2, Seed = 3L,
                                        Init = InitKind.Smooth))

let private withInitialEntry (run: Run) (layer: int) (index: int) (value: float) =
    let d = run.Data
    let thetas = Array.copy d.Theta
    let t = Array.copy thetas.[0]
    t.[layer * run.ParameterCount + index] <- value
    thetas.[0] <- t
    Registry.openRun (
        RunData(Directory = d.Directory + " (perturbed)", Meta = d.Meta, Architecture = d.Architecture, Block = d.Block, Depth = d.Depth,
                   Dim = d.Dim, Data = d.Data, A = d.A, B = d.B, Activation = d.Activation, Eta = d.Eta,
                   Steps = d.Steps, Theta = thetas, Losses = d.Losses, Trace = d.Trace))

[<Fact>]
let ``init hypothesis (layers = θ⁰(k/L)): a stored layer off by twice ρ_stored → hypothesis not met; by half of it → met`` () =
    let run = smoothOneLayer ()
    let check = snd GenericResults.hypInitialFunction
    Assert.True((match check run with Met _ -> true | _ -> false), sprintf "%A" (check run))
    let P = run.ParameterCount
    let layer = 1
    let v = (run.Theta 0).[layer * P .. layer * P + P - 1]
    // a zero entry (the bias part starts at 0): adding δ to it is exact
    let index = v |> Array.findIndex (fun x -> x = 0.0)
    let scale = max 1.0 (Linalg.norm v)
    let rho = Rounding.storedRel run
    close (Math.Pow(2.0, -53.0) * (1.0 + g64 (3.0 * float P + 3.0))) rho
    let at factor = check (withInitialEntry run layer index (factor * rho * scale))
    Assert.True((match at 2.0 with NotMet _ -> true | _ -> false), sprintf "%A" (at 2.0))
    Assert.True((match at 0.5 with Met _ -> true | _ -> false), sprintf "%A" (at 0.5))

// ---------------------------------------------------------------- no fixed allowance left in the theory layer

/// The code of an F# source without its comments and string literals (a line comment from `//` to the end of the line,
/// a string from `"` to the next unescaped `"`), so that a literal in a doc comment or a message does not count.
let private codeOf (text: string) =
    let noStrings = Regex.Replace(text, "\"(?:[^\"\\\\\\n]|\\\\.)*\"", "\"\"")
    Regex.Replace(noStrings, "//[^\\n]*", "")

let private literal = "(?:\\d+\\.?\\d*(?:[eE][-+]?\\d+)?)"

/// The places where a source gives the comparison kernel a fixed number as its allowance: `evaluation x`, `worst x`,
/// `Verdict.compare m b x` with simple arguments, a `Rel = x` field, and any definition or use of `roundingRel` bound to
/// a number or read from `Comparison`; a literal zero (no allowance) is not one.
let private fixedAllowances (code: string) =
    let nonZero (s: string) = match Double.TryParse(s, Globalization.NumberStyles.Float, Globalization.CultureInfo.InvariantCulture) with | true, x -> x <> 0.0 | _ -> true
    [ for pattern in
          [ sprintf "\\b(?:Comparison\\.)?(?:evaluation|worst)\\s+(%s)\\b" literal
            sprintf "\\bVerdict\\.compare\\s+[\\w.\\[\\]]+\\s+[\\w.\\[\\]]+\\s+(%s)\\b" literal
            sprintf "\\bRel\\s*=\\s*(%s)\\b" literal
            sprintf "\\broundingRel\\s*=\\s*(%s)\\b" literal ] do
        for m in Regex.Matches(code, pattern) do
            if nonZero m.Groups.[1].Value then yield m.Value
      for m in Regex.Matches(code, "\\bComparison\\.roundingRel\\b") do yield m.Value ]

[<Fact>]
let ``Theory sources: the scanner → flags a fixed allowance in code, not one in a comment, a string or a derived call`` () =
    Assert.NotEmpty(fixedAllowances (codeOf "let e = evaluation 1e-9 checks [] []"))
    Assert.NotEmpty(fixedAllowances (codeOf "let v = Verdict.compare m b 1e-9 \"w\" \"t\""))
    Assert.NotEmpty(fixedAllowances (codeOf "{ Sample = s; Rel = 1e-12; ReportBare = false }"))
    Assert.NotEmpty(fixedAllowances (codeOf "let roundingRel = 1e-9"))
    Assert.NotEmpty(fixedAllowances (codeOf "let e = evaluation Comparison.roundingRel checks"))
    Assert.Empty(fixedAllowances (codeOf "/// evaluation 1e-9 checks (a comment)\nlet e = evaluation (Rounding.chainRel run) checks [] []"))
    Assert.Empty(fixedAllowances (codeOf "let s = \"evaluation 1e-9\"\nlet e = evaluation 0.0 checks [] []"))

/// A floor given to an allowance in Rounding.fs, the home of every allowance: `max x` with a literal 0 < x < 1.
let private floors (code: string) =
    [ for m in Regex.Matches(code, sprintf "\\bmax\\s+(%s)\\b" literal) do
        match Double.TryParse(m.Groups.[1].Value, Globalization.NumberStyles.Float, Globalization.CultureInfo.InvariantCulture) with
        | true, x when x > 0.0 && x < 1.0 -> yield m.Value
        | _ -> () ]

[<Fact>]
let ``Rounding.fs: the floor scanner → flags max 1e-4 (…) in code, not max 1.0 nor a comment; Rounding.fs has none`` () =
    Assert.NotEmpty(floors (codeOf "if isFloat32 run then max 1e-4 (perState + sums) else perState + sums"))
    Assert.Empty(floors (codeOf "let a = max 1.0 (x * exp -1.4)\n/// at least max 1e-4 (a comment)"))
    let rec up (d: DirectoryInfo | null) =
        match d with
        | null -> failwith "the repository root (ResOdeProofs.sln) is not above the test assembly"
        | d when File.Exists(Path.Combine(d.FullName, "ResOdeProofs.sln")) -> d.FullName
        | d -> up d.Parent
    let file = Path.Combine(up (DirectoryInfo AppContext.BaseDirectory), "src", "Theory.FSharp", "Vocabulary", "Rounding.fs")
    Assert.Empty(floors (codeOf (File.ReadAllText file)))

[<Fact>]
let ``Theory sources: every .fs file of src/Theory.FSharp → no fixed rounding allowance (no roundingRel, no literal given to the comparison kernel)`` () =
    let rec up (d: DirectoryInfo | null) =
        match d with
        | null -> failwith "the repository root (ResOdeProofs.sln) is not above the test assembly"
        | d when File.Exists(Path.Combine(d.FullName, "ResOdeProofs.sln")) -> d.FullName
        | d -> up d.Parent
    let root = Path.Combine(up (DirectoryInfo AppContext.BaseDirectory), "src", "Theory.FSharp")
    let files =
        Directory.GetFiles(root, "*.fs", SearchOption.AllDirectories)
        |> Array.filter (fun f -> not (f.Contains(string Path.DirectorySeparatorChar + "obj" + string Path.DirectorySeparatorChar)))
    Assert.True(files.Length > 30, sprintf "only %d sources found under %s" files.Length root)
    let found = [ for f in files do for hit in fixedAllowances (codeOf (File.ReadAllText f)) -> sprintf "%s: %s" (Path.GetFileName f) hit ]
    Assert.True(List.isEmpty found, String.Join("\n", found))
