/// The smoothness in depth of a trained network's stored parameters (docs/theorems/DepthProfile.md): per part P (the
/// MLP's W, V and the pair Z = (W, V); the bn-conv blocks' kernels conv1 and conv2), the depth increments
/// ‖P_{k+1} − P_k‖_F and the layer norms ‖P_k‖_F recomputed from the stored parameters, the statistics the real-data
/// pages show (max, mean and median over k of the increments, max_k ‖P_k‖_F, ρ = L·max_k‖ΔP_k‖ / max_k‖P_k‖), and E.profile,
/// the producer's recorded smoothness of the same parameters against that recomputation.
module ResOdeProofs.Theory.DepthProfile

open System
open ResOdeProofs.Theory.Comparison

/// One part's profile in depth, recomputed from the stored parameters.
type PartProfile =
    { Part: string
      /// ‖P_{k+1} − P_k‖_F, k = 0 .. L − 2
      Increments: float[]
      /// ‖P_k‖_F, k = 0 .. L − 1
      Norms: float[] }
    member p.Depth = p.Norms.Length
    /// max_k ‖P_{k+1} − P_k‖_F (0 for one layer).
    member p.MaxIncrement = Comparison.maxKeepNaNOr 0.0 p.Increments
    /// mean_k ‖P_{k+1} − P_k‖_F (0 for one layer).
    member p.MeanIncrement = if p.Increments.Length = 0 then 0.0 else Array.average p.Increments
    /// median_k ‖P_{k+1} − P_k‖_F: the middle order statistic, or the mean of the two middle ones (0 for one layer).
    member p.MedianIncrement =
        let s = Array.sort p.Increments
        if s.Length = 0 then 0.0
        elif s.Length % 2 = 1 then s.[s.Length / 2]
        else 0.5 * (s.[s.Length / 2 - 1] + s.[s.Length / 2])
    /// max_k ‖P_k‖_F.
    member p.MaxNorm = Comparison.maxKeepNaNOr 0.0 p.Norms
    /// ρ = L·max_k‖P_{k+1} − P_k‖_F / max_k‖P_k‖_F (0 when every layer is 0): bounded in L for a discretized Lipschitz
    /// function of depth, about √2·L for independent layers (Table 1's smooth column, docs/real-data.md).
    member p.Rho = if p.MaxNorm > 0.0 then float p.Depth * p.MaxIncrement / p.MaxNorm else 0.0

/// Sums of squares over layer k of a part (entry k i: entry i of layer k): (Σ (P_{k+1} − P_k)², k < L − 1) and (Σ P_k²),
/// each summed in float64 in the order of i.
let private squares (depth: int) (length: int) (entry: int -> int -> float) =
    let inc = Array.zeroCreate (max 0 (depth - 1))
    let nrm = Array.zeroCreate depth
    for k in 0 .. depth - 1 do
        let mutable n2 = 0.0
        let mutable d2 = 0.0
        for i in 0 .. length - 1 do
            let x = entry k i
            n2 <- n2 + x * x
            if k + 1 < depth then
                let d = entry (k + 1) i - x
                d2 <- d2 + d * d
        nrm.[k] <- n2
        if k + 1 < depth then inc.[k] <- d2
    inc, nrm

/// The profile of one part of `length` entries per layer.
let ofLayers (part: string) (depth: int) (length: int) (entry: int -> int -> float) : PartProfile =
    let inc, nrm = squares depth length entry
    { Part = part; Increments = Array.map sqrt inc; Norms = Array.map sqrt nrm }

/// The MLP's profiles at snapshot s: W, V and the pair Z (‖Z_{k+1} − Z_k‖_F = (‖ΔW_k‖² + ‖ΔV_k‖²)^{1/2}).
let mlpProfiles (run: Run) (s: int) : PartProfile list =
    let md = run.LayerSize
    let w, v = run.W s, run.V s
    let L = run.Setting.Depth
    let wi, wn = squares L md (fun k i -> w.[k * md + i])
    let vi, vn = squares L md (fun k i -> v.[k * md + i])
    [ { Part = "W"; Increments = Array.map sqrt wi; Norms = Array.map sqrt wn }
      { Part = "V"; Increments = Array.map sqrt vi; Norms = Array.map sqrt vn }
      { Part = "Z"; Increments = Array.map2 (fun a b -> sqrt (a + b)) wi vi; Norms = Array.map2 (fun a b -> sqrt (a + b)) wn vn } ]

/// The constants' names, which the report reads.
let maxIncrementName (part: string) = sprintf "max_k |%s_{k+1} - %s_k|_F" part part
let meanIncrementName (part: string) = sprintf "mean_k |%s_{k+1} - %s_k|_F" part part
let medianIncrementName (part: string) = sprintf "median_k |%s_{k+1} - %s_k|_F" part part
let maxNormName (part: string) = sprintf "max_k |%s_k|_F" part
let rhoName (part: string) = sprintf "rho(%s) = L max_k |%s_{k+1} - %s_k|_F / max_k |%s_k|_F" part part part part

/// A recorded claim of a part's smoothness in depth: `Scale`·max_k‖P_{k+1} − P_k‖_F (Scale 1 or L) as the producer
/// recorded it, and the rounding allowance of the comparison with the recomputation.
type Claim =
    { Part: string
      /// where the claim was read, e.g. "trace smooth_w at iteration 200"
      What: string
      Claimed: float
      Scale: float
      Allowance: float }

/// The input of E.profile: the recomputed profiles of a run's stored parameters, the producer's claims about them, and
/// further descriptive statistics of the same parameters (named constants of the row).
type ProfileInput =
    { Name: string
      Depth: int
      /// which parameters: e.g. "snapshot at iteration 200", "after epoch 2"
      When: string
      Parts: PartProfile list
      Claims: Claim list
      /// why the producer recorded no claim (None when it did)
      NoClaim: string option
      Extra: (string * float) list }

/// The row's constants: per part, max/mean/median of the increments, max_k ‖P_k‖_F and ρ; then the extra statistics.
let constants (p: ProfileInput) =
    [ for q in p.Parts do
        yield maxIncrementName q.Part, q.MaxIncrement
        yield meanIncrementName q.Part, q.MeanIncrement
        yield medianIncrementName q.Part, q.MedianIncrement
        yield maxNormName q.Part, q.MaxNorm
        yield rhoName q.Part, q.Rho ]
    @ p.Extra

/// (E.profile) The producer's recorded smoothness in depth of the stored parameters against the recomputation.
let profile : Result<ProfileInput> =
    { Id = "E.profile"
      Title = "Evidence: the recorded smoothness in depth of the trained parameters against a recomputation from them"
      Source = "evidence (docs/theorems/DepthProfile.md)"
      Provenance = ProvedHere
      Doc = "docs/theorems/DepthProfile.md"
      Statement =
        "For each part P whose smoothness the producer recorded (the trace's max_k ‖W_{k+1} − W_k‖_F, ‖V_{k+1} − V_k‖_F and ‖Z_{k+1} − Z_k‖_F at the last snapshot; "
        + "run.json's L·max_k ‖K_{k+1} − K_k‖_F of conv1 and conv2 after the last epoch), the claim differs from the same quantity recomputed in float64 from the stored "
        + "parameters by at most the rounding allowance of the two computations. The row's constants are the recomputed statistics in depth of the stored parameters "
        + "(max, mean and median over k of ‖P_{k+1} − P_k‖_F, max_k ‖P_k‖_F, ρ = L·max_k‖ΔP_k‖ / max_k‖P_k‖), which the real-data pages read."
      Hypotheses =
        [ "parameters finite",
          (fun p ->
              let bad = p.Parts |> List.filter (fun q -> Array.exists (Double.IsFinite >> not) q.Norms || Array.exists (Double.IsFinite >> not) q.Increments)
              // the further statistics are constants of the row too: a non-finite one must not stand in a row that holds
              let badExtra = p.Extra |> List.filter (fun (_, x) -> not (Double.IsFinite x))
              if bad.IsEmpty && badExtra.IsEmpty then Met(sprintf "%d parts, L = %d" p.Parts.Length p.Depth)
              else
                  [ if not bad.IsEmpty then yield sprintf "non-finite layers in %s" (bad |> List.map (fun q -> q.Part) |> String.concat ", ")
                    for name, x in badExtra do yield sprintf "%s is %g" name x ]
                  |> String.concat "; "
                  |> NotMet)
          "smoothness recorded",
          (fun p ->
              match p.NoClaim with
              | Some why -> NotMet why
              | None ->
                  match p.Claims |> List.tryFind (fun c -> not (Double.IsFinite c.Claimed)) with
                  | Some c -> NotMet(sprintf "%s is %g" c.What c.Claimed)
                  | None when p.Claims.IsEmpty -> NotMet "no claim to compare"
                  | None -> Met(p.Claims |> List.map (fun c -> c.What) |> String.concat "; ")) ]
      Conclusion =
        fun p ->
            let checks =
                [ for c in p.Claims do
                    let q = p.Parts |> List.find (fun q -> q.Part = c.Part)
                    let recomputed = c.Scale * q.MaxIncrement
                    yield { Measured = abs (c.Claimed - recomputed); Bound = c.Allowance
                            Where = sprintf "%s: claimed %.17g, recomputed %.17g" c.What c.Claimed recomputed; When = p.When } ]
            evaluation 0.0 checks (constants p) [] }

/// The MLP's input at its last snapshot: the trace's smooth_w, smooth_v and smooth_z at that snapshot's iteration
/// (max_k, scale 1), each within the allowance of a depth increment the engine computed from weights stored in the
/// recorded precision (2ρ relative, ρ = `Rounding.incrementRelative` for each side, plus 4u·max_k‖P_k‖_F).
let ofMlpRun (run: Run) : ProfileInput =
    let s = run.SnapshotCount - 1
    let j = run.Steps.[s]
    let parts = mlpProfiles run s
    let column (q: PartProfile) = "smooth_" + q.Part.ToLowerInvariant()
    let missing = parts |> List.filter (fun q -> match run.ClaimedTrace(column q) with Some c -> j >= c.Length | None -> true)
    { Name = run.Directory
      Depth = run.Setting.Depth
      When = sprintf "snapshot at iteration %d" j
      Parts = parts
      Claims =
        if not missing.IsEmpty then []
        else
            [ for q in parts ->
                let claimed = (run.ClaimedTrace(column q)).Value.[j]
                { Part = q.Part; What = sprintf "trace %s at iteration %d" (column q) j; Claimed = claimed; Scale = 1.0
                  // the engine's value and the recomputed one each within ρ of the exact norm: 2ρ·m + 4u·max_k‖P_k‖_F
                  Allowance = Rounding.incrementMeasurement run q.MaxIncrement q.MaxNorm + Rounding.incrementRelative run * q.MaxIncrement } ]
      NoClaim =
        if missing.IsEmpty then None
        else Some(sprintf "the trace records no %s at iteration %d" (missing |> List.map column |> String.concat ", ") j)
      Extra = [] }
