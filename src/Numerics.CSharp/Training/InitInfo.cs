namespace ResOdeProofs.Numerics.Training;

/// <summary>How the initial parameters θ_k(0) were chosen (for the MLP θ_k = Z_k = (W_k, V_k)).</summary>
public enum InitKind
{
    /// <summary>One Gaussian draw per part for all layers (the MLP: one W, V = 0 by default): the paper's weight tying, θ⁰(s) constant.</summary>
    Tied,
    /// <summary>θ_k(0) = θ⁰(k/L) for a random smooth θ⁰(s) (a few Fourier modes in s ∈ [0,1]).</summary>
    Smooth,
    /// <summary>Independent Gaussian layers: not the discretization of any function of depth.</summary>
    Iid,
    /// <summary>Read from .npy files.</summary>
    File,
}

/// <summary>
/// What is known about an initialization, for every architecture, by the block's named parameter parts in layout order
/// (the MLP's parts are W, index 0, and V, index 1): the Gaussian scale of each part, the modes of a smooth draw, and
/// <see cref="LipschitzParts"/>, bounds on sup_s ‖dθ⁰_part/ds‖_F of the function of depth the layers discretize (0 for
/// tied; null when none is known: iid and file). <see cref="MaxIncrementTimesDepth"/> is the measured
/// L·max_k ‖θ_{k+1}(0) − θ_k(0)‖. The run directory spells it for the MLP as run.json "scale", "v_scale", "lipschitz_w",
/// "lipschitz_v", for any other block as "scales" and "lipschitz_parts" by part name.
/// </summary>
public sealed record InitInfo(InitKind Kind, double[] Scales, int Modes, double[]? LipschitzParts,
    double MaxIncrementTimesDepth, string Description)
{
    /// <summary>Joint bound (Σ_part Lip_part²)^{1/2} on sup_s ‖dθ⁰/ds‖, when known (for the MLP: √(Lip_W² + Lip_V²) for Z = (W, V)).</summary>
    public double? LipschitzTheta => LipschitzParts is null ? null : Math.Sqrt(LipschitzParts.Sum(x => x * x));
}

/// <summary>Initial parameters of any architecture, by the block's named parts (<see cref="Parameters"/>: θ layer after
/// layer, or part by part as the MLP's W and V), and what is known about them.</summary>
public sealed record InitialParameters(Parameters Values, InitInfo Info)
{
    /// <summary>θ (L·P, layer after layer).</summary>
    public double[] Theta => Values.Theta;
    /// <summary>The MLP's W (L·m·d, layer-major): its part "W".</summary>
    public double[] W => Values.W;
    /// <summary>The MLP's V (L·d·m, layer-major): its part "V".</summary>
    public double[] V => Values.V;
}
