/// The theory-side extension point's shared pieces (its types are in Evidence/RunSetting.fs): lemma L5 from an
/// architecture's constants, its common requirement, and part lookup. docs/theorems/GenericResults.md.
namespace ResOdeProofs.Theory

open System
open ResOdeProofs.Numerics

[<CompilationRepresentation(CompilationRepresentationFlags.ModuleSuffix)>]
module Architecture =
    /// Lemma L5 for any block, from its constants (docs/theorems/GenericResults.md):
    /// G_k = Σ_i ∂_θf(θ_k, h_{k−1}^i)ᵀ p_k^i, and splitting G_{k+1} − G_k into the θ-, h- and p-differences,
    ///   ‖G_{k+1} − G_k‖ ≤ P·C_θθ·‖Δθ_k‖ + (P/L)(C_hθ·F + J·κ),
    /// i.e. a = P·C_θθ, b = P·(C_hθ·F + J·κ).
    let lemmaL5 (arch: Architecture) (b: IterateBounds) : float * float =
        let cTT, cHT = arch.SecondDerivatives b
        b.AdjointSum * cTT, b.AdjointSum * (cHT * arch.OutputBound b + arch.LipschitzTheta b * arch.LipschitzH b)

    /// The requirement "σ twice differentiable with bounded σ''" (for architectures whose constants use s2).
    let smoothActivation : string * (Setting -> HypothesisCheck) =
        Hypotheses.SmoothSigmaName, fun s -> Hypotheses.smoothSigmaOf s.Activation s.S2

    /// A part bound by name (fails with the list of known parts).
    let part (m: Map<string, float>) (name: string) =
        match m.TryFind name with
        | Some v -> v
        | None -> failwithf "the run has no parameter part '%s' (parts: %s)" name (m |> Map.keys |> String.concat ", ")

