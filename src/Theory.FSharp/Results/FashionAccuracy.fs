/// The accuracies of the Fashion-MNIST MLP cells (`resode fashion`, the paper preset's real-data section) recomputed from
/// the stored weights and the images (docs/theorems/FashionAccuracy.md): E.accuracy.train and E.accuracy.test, the producer's
/// claimed accuracy on each set against a count of argmax matches of an independent float64 forward pass, exact on counts except for the
/// samples whose two largest logits lie within the forward pass' rounding bound of each other (undecided).
module ResOdeProofs.Theory.FashionAccuracy

open System
open ResOdeProofs.Numerics
open ResOdeProofs.Theory.Comparison

/// One labelled set of images and the producer's claim about it.
type LabelledSet =
    { /// "train" or "test"
      Set: string
      /// n × InputDim, sample-major (pixels / 255, as the producer prepared them)
      Inputs: float[]
      Labels: int[]
      /// the claimed fraction of correct predictions (None: the producer recorded no claim)
      Claimed: float option
      /// why the images are not at hand (None: they are): `verify` of a cell directory whose Fashion-MNIST files cannot be
      /// read, or whose preparation does not give the run's own training images
      Unavailable: string option }
    member s.Count = s.Labels.Length

/// The input of E.accuracy.train and E.accuracy.test: the network h_0 = A x, h_k = h_{k−1} + (1/L)·V_k σ(W_k h_{k−1}), F(x) = B h_L (the paper's
/// forward pass, PAPER.md "Setting and notation") at the stored weights, and the labelled sets.
type AccuracyInput =
    { Name: string
      /// which weights: e.g. "snapshot at iteration 200"
      When: string
      Depth: int
      Width: int
      Dim: int
      InputDim: int
      Outputs: int
      Activation: ActivationKind
      /// s0 = |σ(0)|, s1 = sup|σ'| (Activations.Constants)
      S0: float
      S1: float
      /// W_k (m × d row-major) one layer after another, k = 1 .. L
      W: float[]
      /// V_k (d × m row-major)
      V: float[]
      /// d × InputDim
      A: float[]
      /// Outputs × d
      B: float[]
      Sets: LabelledSet list }

let private u = Rounding.Float64UnitRoundoff

/// γ_n (`Rounding.gamma64`): the relative error bound of a sum or inner product of n terms in float64, in any order,
/// with or without fused multiply-adds.
let private gamma (n: int) = Rounding.gamma64 n

/// An upper bound of a non-negative quantity computed in float64 from at most n operations on non-negative terms
/// (a norm, a few products and sums): the computed value times 1 + 2γ_{n+2}.
let private up (n: int) (x: float) = x * (1.0 + 2.0 * gamma (n + 2))

/// β: |σ̂(t) − σ(t)| ≤ β·u·(|t| + s0) for the computed σ̂ of the producer's kernels and of the scalar reference used here.
/// GELU: the engine's vector kernel is proven within 6.28u|t| and the scalar reference checked within 28u|t|
/// (docs/theorems/GeluKernel.md, DepthSmoothness.md "The kernel constant β = 32"); tanh and softplus: built on the
/// engine's own correctly rounded exp, log and tanh (PortableMath) and checked within 32u(|t| + s0) against 320-bit
/// references at every SIMD level (worst 3.4u(|t| + s0), PortableMathTests; a fact of this code, no longer a platform library's accuracy);
/// relu and identity are exact.
let sigmaBeta (act: ActivationKind) =
    match act with
    | ActivationKind.Relu | ActivationKind.Identity -> 0.0
    | _ -> 32.0

/// One sample's outcome: the predicted class, whether it is decided, the bound ε on each logit's rounding and the gap of
/// the two largest logits.
[<Struct>]
type SampleOutcome =
    { Predicted: int
      Decided: bool
      LogitError: float
      Gap: float }

/// The float64 forward pass of one sample with its rounding bound. E_k bounds ‖ĥ_k − h_k‖₂ for this computation and for
/// any other float64 computation of the same operations in any order (the producer's), by induction with M_k = ‖ĥ_k‖ + 2E_k
/// bounding the norm of either computed state:
///   E_0 = γ_{d_in}·‖|A||x|‖₂,
///   E_k = (1 + γ_16)·[E_{k−1}(1 + s1‖V_k‖₂‖W_k‖₂/L) + r_k(M_{k−1})],
/// r_k the local rounding of one layer from a state of norm ≤ M (docs/theorems/FashionAccuracy.md, "Derivation"); each
/// logit is then within ε = max_c ‖B_c‖₂(E_L + γ_d·M_L) of the exact one in either computation, so the two computed argmax
/// agree (and are the exact one) when the two largest computed logits differ by more than 4ε.
let private forward (p: AccuracyInput) (layerW: float[]) (layerV: float[]) (growth: float[]) (rowB: float[]) (x: ReadOnlySpan<float>) (z: float[]) : SampleOutcome =
    let L, m, d, dIn = p.Depth, p.Width, p.Dim, p.InputDim
    let md = m * d
    let s0, s1 = p.S0, p.S1
    let beta = sigmaBeta p.Activation
    let h = Array.zeroCreate<float> d
    // h_0 = A x and ‖|A||x|‖₂ for E_0
    let mutable absSq = 0.0
    for r in 0 .. d - 1 do
        let mutable acc = 0.0
        let mutable aa = 0.0
        let o = r * dIn
        for c in 0 .. dIn - 1 do
            let a = p.A.[o + c]
            acc <- acc + a * x.[c]
            aa <- aa + abs a * abs x.[c]
        h.[r] <- acc
        absSq <- absSq + aa * aa
    let mutable e = gamma dIn * up (dIn + d) (sqrt absSq)
    let y = Array.zeroCreate<float> m
    let sqm = sqrt (float m)
    let gd, gm, g2, g16 = gamma d, gamma m, gamma 2, gamma 16
    for k in 0 .. L - 1 do
        let fw, fv = layerW.[k], layerV.[k]
        let mutable hh = 0.0
        for r in 0 .. d - 1 do hh <- hh + h.[r] * h.[r]
        let M = up d (sqrt hh) + 2.0 * e
        // bounds from M for either computation: ‖ŷ‖, σ̂'s error, ‖σ̂(ŷ)‖, ‖V σ̂‖
        let ny = (1.0 + gd) * fw * M
        // plus 2⁻¹⁰²⁰ per entry where σ(t) is subnormal (GeluKernel.md), for the activations that round
        let eSigma = beta * u * (ny + s0 * sqm) + (if beta > 0.0 then sqm * Math.ScaleB(1.0, -1020) else 0.0)
        let na = s0 * sqm + s1 * ny + eSigma
        let np = (1.0 + gm) * fv * na
        let r = (fv * (s1 * gd * fw * M + eSigma) + gm * fv * na + g2 * np) / float L + u * (M + (1.0 + g2) * np / float L)
        e <- up 16 ((e * growth.[k] + r) * (1.0 + g16))
        // the layer, as the paper writes it
        let wo, vo = k * md, k * md
        for j in 0 .. m - 1 do
            let mutable acc = 0.0
            let o = wo + j * d
            for c in 0 .. d - 1 do acc <- acc + p.W.[o + c] * h.[c]
            y.[j] <- Activations.Value(p.Activation, acc)
        for r in 0 .. d - 1 do
            let mutable acc = 0.0
            let o = vo + r * m
            for j in 0 .. m - 1 do acc <- acc + p.V.[o + j] * y.[j]
            h.[r] <- h.[r] + acc / float L
    let mutable hh = 0.0
    for r in 0 .. d - 1 do hh <- hh + h.[r] * h.[r]
    let ML = up d (sqrt hh) + 2.0 * e
    let mutable best, bestV, second = 0, Double.NegativeInfinity, Double.NegativeInfinity
    let mutable eps = 0.0
    let mutable finite = true
    for c in 0 .. p.Outputs - 1 do
        let mutable acc = 0.0
        for r in 0 .. d - 1 do acc <- acc + p.B.[c * d + r] * h.[r]
        z.[c] <- acc
        if not (Double.IsFinite acc) then finite <- false
        // the first largest wins a tie, as the producer's argmax
        if acc > bestV then
            second <- bestV
            bestV <- acc
            best <- c
        elif acc > second then second <- acc
        eps <- max eps (up 8 (rowB.[c] * (e + gd * ML)))
    let gap = bestV - second
    { Predicted = best; Decided = finite && Double.IsFinite eps && gap > 4.0 * eps; LogitError = eps; Gap = gap }

/// A set's recount: N, the decided samples predicted correctly, the undecided samples, the largest logit bound and the
/// smallest gap between the two largest logits.
type SetCount =
    { Set: string
      Images: int
      DecidedCorrect: int
      Undecided: int
      MaxLogitError: float
      SmallestGap: float }

/// Upper bounds of ‖W_k‖_F, ‖V_k‖_F (each layer), of the growth factor 1 + s1‖V_k‖₂‖W_k‖₂/L of an error through layer k
/// (the Lipschitz constant of h ↦ h + (1/L)V_k σ(W_k h)), and of ‖B_c‖₂ (each row). A spectral norm is the
/// certified upper value `Linalg.spectralUpper` (until 2026-12-06 a bisection estimate plus γ_{m·d}‖M‖_F, a constant
/// assumed, not derived, to cover the estimate's error).
let private norms (p: AccuracyInput) =
    let L, m, d = p.Depth, p.Width, p.Dim
    let md = m * d
    let fro (a: float[]) (o: int) (len: int) =
        let mutable t = 0.0
        for i in o .. o + len - 1 do t <- t + a.[i] * a.[i]
        up len (sqrt t)
    let fw = Array.init L (fun k -> fro p.W (k * md) md)
    let fv = Array.init L (fun k -> fro p.V (k * md) md)
    let spectral rows cols (a: float[]) k = Linalg.spectralUpper rows cols a (k * md)
    let growth = Array.init L (fun k -> up 4 (1.0 + p.S1 * spectral m d p.W k * spectral d m p.V k / float L))
    fw, fv, growth, Array.init p.Outputs (fun c -> fro p.B (c * p.Dim) p.Dim)

/// One input's computed logits F̂(x) and the bound ε of each logit's rounding (in this and any other float64 evaluation).
let logits (p: AccuracyInput) (x: float[]) : float[] * float =
    let layerW, layerV, growth, rowB = norms p
    let z = Array.zeroCreate p.Outputs
    let o = forward p layerW layerV growth rowB (ReadOnlySpan x) z
    z, o.LogitError

/// Counts one set's argmax matches at the input's weights (samples in order, one thread), with the weights' norms given.
let private countWith (p: AccuracyInput) (layerW, layerV, growth, rowB) (s: LabelledSet) : SetCount =
    let z = Array.zeroCreate p.Outputs
    let mutable correct, undecided = 0, 0
    let mutable maxErr, minGap = 0.0, Double.PositiveInfinity
    for i in 0 .. s.Count - 1 do
        let o = forward p layerW layerV growth rowB (ReadOnlySpan(s.Inputs, i * p.InputDim, p.InputDim)) z
        if not o.Decided then undecided <- undecided + 1
        elif o.Predicted = s.Labels.[i] then correct <- correct + 1
        maxErr <- max maxErr o.LogitError
        minGap <- min minGap o.Gap
    { Set = s.Set; Images = s.Count; DecidedCorrect = correct; Undecided = undecided; MaxLogitError = maxErr; SmallestGap = minGap }

/// Counts one set's argmax matches at the input's weights (samples in order, one thread).
let count (p: AccuracyInput) (s: LabelledSet) : SetCount = countWith p (norms p) s

/// The constants' names, which the report reads.
let imagesName (set: string) = sprintf "%s: images" set
let decidedCorrectName (set: string) = sprintf "%s: correct, decided samples" set
let undecidedName (set: string) = sprintf "%s: undecided samples" set
/// (decided correct) / N and (decided correct + undecided) / N: the recomputed accuracy lies between them
let accuracyLowName (set: string) = sprintf "%s accuracy, recomputed (undecided counted wrong)" set
let accuracyHighName (set: string) = sprintf "%s accuracy, recomputed (undecided counted right)" set
let claimedName (set: string) = sprintf "%s accuracy, claimed" set
let logitErrorName (set: string) = sprintf "%s: max logit rounding bound" set

/// The allowance of a claimed fraction f = fl(K/N) read back as f·N in float64: |fl(f·N) − K| ≤ 3u·N
/// (`Rounding.claimedFractionAllowance`).
let claimAllowance (images: int) = Rounding.claimedFractionAllowance images

let private normsCache = Runtime.CompilerServices.ConditionalWeakTable<AccuracyInput, (float[] * float[] * float[] * float[])>()

/// The weights' norms of an input (2L spectral norms), computed once for the rows of all its sets.
let private normsOnce (p: AccuracyInput) = normsCache.GetValue(p, fun p -> norms p)

/// (E.accuracy.train, E.accuracy.test) The producer's claimed accuracy on one labelled set against the recount from the
/// stored weights and the images. The same statement as the bn-conv runs' rows of these ids (BnConvResults.accuracy),
/// with this network's evaluation and its rounding bound.
let accuracyOf (set: string) : Result<AccuracyInput> =
    let sets (p: AccuracyInput) = p.Sets |> List.filter (fun s -> s.Set = set)
    { Id = "E.accuracy." + set
      Title = sprintf "Evidence: the Fashion-MNIST cell's claimed %s accuracy against a recount from the stored weights and the images" set
      Source = "evidence (docs/theorems/FashionAccuracy.md)"
      Provenance = ProvedHere
      Doc = "docs/theorems/FashionAccuracy.md"
      Statement =
        sprintf "For the %s set of N labelled images, the claimed accuracy times N lies within [c, c + U] up to 3u·N (the binary form of the fraction), " set
        + "c the images whose class a float64 forward pass h_0 = A x, h_k = h_{k-1} + (1/L) V_k sigma(W_k h_{k-1}), F = B h_L of the stored weights predicts "
        + "(argmax of F) correctly with its two largest logits more than 4 epsilon apart, U the images where they are not (undecided), epsilon the derived "
        + "bound on the rounding of each logit in this or any other float64 evaluation of the same operations. The row's constants are the recounts, "
        + "which the real-data pages read."
      Hypotheses =
        [ "weights, read-out and images present and finite",
          (fun p ->
              let layers = p.Depth * p.Width * p.Dim
              let problems =
                  [ if p.Depth < 1 || p.Width < 1 || p.Dim < 1 || p.InputDim < 1 || p.Outputs < 2 then yield "shape not positive"
                    if p.W.Length <> layers || p.V.Length <> layers then yield sprintf "W/V hold %d/%d entries, L m d = %d" p.W.Length p.V.Length layers
                    if p.A.Length <> p.Dim * p.InputDim then yield "the projection A has the wrong size"
                    if p.B.Length <> p.Outputs * p.Dim then yield "the read-out B has the wrong size"
                    for name, a in [ "W", p.W; "V", p.V; "A", p.A; "B", p.B ] do
                        if Array.exists (Double.IsFinite >> not) a then yield sprintf "%s has a non-finite entry" name
                    if (sets p).IsEmpty then yield sprintf "no %s set" set
                    for s in sets p do
                        match s.Unavailable with
                        | Some why -> yield sprintf "the %s images are not at hand: %s" s.Set why
                        | None -> ()
                        if s.Count = 0 then yield sprintf "the %s set is empty" s.Set
                        if s.Inputs.Length <> s.Count * p.InputDim then yield sprintf "the %s set's images do not match its labels" s.Set
                        if s.Labels |> Array.exists (fun y -> y < 0 || y >= p.Outputs) then yield sprintf "a %s label lies outside 0..%d" s.Set (p.Outputs - 1)
                        if Array.exists (Double.IsFinite >> not) s.Inputs then yield sprintf "the %s images have a non-finite entry" s.Set ]
              if problems.IsEmpty then Met(sprintf "L = %d, m = %d, d = %d; %s" p.Depth p.Width p.Dim (sets p |> List.map (fun s -> sprintf "%d %s images" s.Count s.Set) |> String.concat ", "))
              else NotMet(String.concat "; " problems))
          "accuracy claimed",
          (fun p ->
              let problems =
                  [ for s in sets p do
                        match s.Claimed with
                        | None -> yield sprintf "no claimed %s accuracy" s.Set
                        | Some c when Double.IsNaN c -> yield sprintf "the claimed %s accuracy is not a number (NaN)" s.Set
                        | Some c when not (Double.IsFinite c) -> yield sprintf "the claimed %s accuracy is %g" s.Set c
                        | Some _ -> () ]
              if problems.IsEmpty then Met(sets p |> List.map (fun s -> sprintf "%s %.17g" s.Set s.Claimed.Value) |> String.concat ", ")
              else NotMet(String.concat "; " problems)) ]
      Conclusion =
        fun p ->
            // the weights' norms (2L spectral norms) once for the rows of every set of this input
            let ns = normsOnce p
            let counts = sets p |> List.map (fun s -> s, countWith p ns s)
            let checks =
                [ for s, c in counts ->
                    let x = s.Claimed.Value * float c.Images
                    let lo, hi = float c.DecidedCorrect, float (c.DecidedCorrect + c.Undecided)
                    { Measured = max 0.0 (max (lo - x) (x - hi)); Bound = claimAllowance c.Images
                      Where = sprintf "%s: claimed %.17g of %d images = %.17g correct, recounted %d decided correct + %d undecided" s.Set s.Claimed.Value c.Images x c.DecidedCorrect c.Undecided
                      When = p.When } ]
            let constants =
                [ for s, c in counts do
                    yield imagesName s.Set, float c.Images
                    yield decidedCorrectName s.Set, float c.DecidedCorrect
                    yield undecidedName s.Set, float c.Undecided
                    yield accuracyLowName s.Set, float c.DecidedCorrect / float c.Images
                    yield accuracyHighName s.Set, float (c.DecidedCorrect + c.Undecided) / float c.Images
                    yield claimedName s.Set, s.Claimed.Value
                    yield logitErrorName s.Set, c.MaxLogitError ]
            let notes =
                [ for _, c in counts ->
                    sprintf "%s: %d of %d images undecided; largest logit rounding bound %.3g, smallest gap of the two largest logits %.3g" c.Set c.Undecided c.Images c.MaxLogitError c.SmallestGap ]
            evaluation 0.0 checks constants notes }

/// E.accuracy.train and E.accuracy.test.
let trainAccuracy = accuracyOf "train"
let testAccuracy = accuracyOf "test"
let all : Result<AccuracyInput> list = [ trainAccuracy; testAccuracy ]

/// The input of an MLP run of the Fashion-MNIST experiment at its last snapshot, with the labelled sets given.
let ofMlpRun (run: Run) (sets: LabelledSet list) : AccuracyInput =
    let s = run.SnapshotCount - 1
    let data = run.Data
    let c = Activations.Constants run.Setting.Activation
    { Name = run.Directory
      When = sprintf "snapshot at iteration %d" run.Steps.[s]
      Depth = run.Setting.Depth; Width = run.Setting.Width; Dim = run.Setting.Dim
      InputDim = data.Data.InputDim; Outputs = data.Data.OutputDim
      Activation = run.Setting.Activation; S0 = c.S0; S1 = c.S1
      W = run.W s; V = run.V s
      A = (match data.A with null -> [||] | a -> a)
      B = (match data.B with null -> [||] | b -> b)
      Sets = sets }
