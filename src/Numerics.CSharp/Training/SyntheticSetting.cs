namespace ResOdeProofs.Numerics.Training;

/// <summary>
/// What every synthetic setting fixes, whatever the architecture: data x_i, y_i ~ N(0, I_d) (A = B = I) of this seed,
/// the depth, the initialization kind, the step, the iterations and the snapshots. The MLP's setting
/// (<see cref="RunSpec"/>) and any block's (<see cref="BlockRunSpec"/>) add their parameters' shapes and scales. The same
/// seed gives bit-identical runs.
/// </summary>
public abstract record SyntheticSetting
{
    public int Depth { get; init; } = 16;
    public int Samples { get; init; } = 20;
    public int Dim { get; init; } = 4;
    public ActivationKind Activation { get; init; } = ActivationKind.Gelu;
    public InitKind Init { get; init; } = InitKind.Tied;
    public int Modes { get; init; } = 2;
    public double Eta { get; init; } = 0.01;
    public int Iterations { get; init; } = 20;
    public double? Clip { get; init; }
    public int Snapshots { get; init; } = 5;
    public int[]? SnapshotSteps { get; init; }
    public long Seed { get; init; }
    /// <summary>Engine settings of the fast kernels (the MLP's, also as the MLP block's backend; another block's generic
    /// pass computes in float64 on one thread and refuses float32 and faults).</summary>
    public bool Float32 { get; init; }
    public Model.EngineFault Fault { get; init; }
    /// <summary>Engine threads (null = by problem size, see <see cref="TrainOptions.EngineFor"/>).</summary>
    public int? Threads { get; init; }
    /// <summary>Checkpoint segment length (null = automatic, 0 = off), see <see cref="TrainOptions.Checkpoint"/>.</summary>
    public int? Checkpoint { get; init; }

    /// <summary>The training options of this setting (the architecture's own options on top).</summary>
    protected TrainOptions BaseOptions(Action<int, int, double>? progress, CancellationToken cancel = default) => new(Activation, Eta, Iterations)
    {
        Clip = Clip, Snapshots = Snapshots, SnapshotSteps = SnapshotSteps, Progress = progress, Cancel = cancel,
        Float32 = Float32, Fault = Fault, Threads = Threads, Checkpoint = Checkpoint,
    };

    /// <summary>The data set's description in run.json.</summary>
    protected string SyntheticDescription(int dim) => $"synthetic Gaussian: x_i, y_i ~ N(0, I_{dim}), n = {Samples}, seed {Seed}";
}
