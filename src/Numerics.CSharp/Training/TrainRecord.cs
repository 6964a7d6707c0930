using ResOdeProofs.Numerics.Blocks;
using ResOdeProofs.Numerics.Model;

namespace ResOdeProofs.Numerics.Training;

/// <summary>
/// What a training run produced, for every architecture: the block and its depth, losses, snapshot iterations with the
/// parameters of each snapshot by the block's named parts (<see cref="Parameters"/>; the MLP's parts W and V), the trace
/// and how the run ended. The paper's MLP is the block <see cref="MlpBlock"/>; its run is spelled with its parts W and V
/// (<see cref="SpelledWV"/>: w.npy and v.npy, the MLP's trace columns) or as θ like every other block's.
/// </summary>
public sealed class TrainRecord
{
    /// <summary>The block of every layer (the MLP's: <see cref="MlpBlock"/>, parts W and V).</summary>
    public required IResidualBlock Block { get; init; }
    /// <summary>Block hyper-parameters written to run.json "architecture" (e.g. width for the MLP block).</summary>
    public required IReadOnlyDictionary<string, double> Hyper { get; init; }
    /// <summary>Depth L.</summary>
    public required int Depth { get; init; }
    /// <summary>True when the run is spelled with the MLP's parts W and V (w.npy, v.npy, run.json "scale" and "v_scale", the
    /// trace columns of <see cref="TraceColumns"/>); false for θ (theta.npy, run.json "architecture", the block's trace
    /// columns), the spelling of every other block.</summary>
    public bool SpelledWV { get; init; }
    public required Dataset Data { get; init; }
    public double[]? A { get; init; }
    public double[]? B { get; init; }
    public required TrainOptions Options { get; init; }
    public required long Seed { get; init; }
    public required string DataDescription { get; init; }
    /// <summary>What is known about the initial parameters (by part, for every architecture).</summary>
    public required InitInfo Init { get; init; }
    public RunStatus Status { get; set; }
    /// <summary>First iterate at which the loss or the parameters were non-finite.</summary>
    public int? DivergedAt { get; set; }
    public string? DivergenceReason { get; set; }
    /// <summary>ℓ at iterates 0..N (N + 1 entries; fewer if diverged or interrupted).</summary>
    public double[] Losses { get; set; } = Array.Empty<double>();
    public List<int> SnapshotSteps { get; } = new();
    /// <summary>The parameters at each snapshot iteration (<see cref="SnapshotSteps"/>), by part.</summary>
    public List<Parameters> Snapshots { get; } = new();
    /// <summary>Diagnostics per iterate, keyed by trace column names (docs/run-format.md).</summary>
    public Dictionary<string, double[]> Trace { get; } = new();
    public double Seconds { get; set; }
    /// <summary>Number of updates actually applied.</summary>
    public int UpdatesApplied { get; set; }
    /// <summary>For a gradient-flow run (<see cref="GradientFlow"/>): the integration's parameters and cost; null for gradient descent.</summary>
    public FlowInfo? Flow { get; set; }

    /// <summary>The MLP's network shape (L, m, d, d_in, d_out); only the MLP block has one.</summary>
    public NetworkShape Shape => Block is MlpBlock mlp ? new NetworkShape(Depth, mlp.Width, mlp.StateDim, Data.InputDim, Data.OutputDim)
        : throw new InvalidOperationException($"the network shape (W, V) is the MLP's; block '{Block.Name}' has parts {string.Join(", ", Block.ParameterLayout.Select(p => p.Name))}");
}
