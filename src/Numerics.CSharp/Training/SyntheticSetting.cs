using ResOdeProofs.Numerics.Model;

namespace ResOdeProofs.Numerics.Training;

/// <summary>
/// The one run spec: what every synthetic setting fixes, whatever the architecture: data x_i, y_i ~ N(0, I_d) (A = B = I) of this seed,
/// the depth, the initialization kind, the step, the iterations and the snapshots. The MLP's setting
/// (<see cref="RunSpec"/>, spelled with its parts W and V) and any block's (<see cref="BlockRunSpec"/>, θ) add their
/// parameters' shapes and scales; data, options, training and the reproducing command line are asked of this type alike. The
/// same seed and thread count give bit-identical runs.
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
    public EngineFault Fault { get; init; }
    /// <summary>Engine threads (null = by problem size, see <see cref="TrainOptions.EngineFor"/>).</summary>
    public int? Threads { get; init; }
    /// <summary>Checkpoint segment length (null = automatic, 0 = off), see <see cref="TrainOptions.Checkpoint"/>.</summary>
    public int? Checkpoint { get; init; }

    /// <summary>The state dimension d: <see cref="Dim"/>, unless the architecture's hyper-parameters fix it (conv: C·H·W).</summary>
    public virtual int StateDim => Dim;

    /// <summary>The synthetic data set of this seed (x_i, y_i ~ N(0, I_d), d the state dimension).</summary>
    public Dataset Data() => Dataset.SyntheticGaussian(Samples, StateDim, StateDim, Seed);

    /// <summary>The training options of this setting.</summary>
    public TrainOptions Options(Action<int, int, double>? progress = null, CancellationToken cancel = default) => new(Activation, Eta, Iterations)
    {
        Clip = Clip, Snapshots = Snapshots, SnapshotSteps = SnapshotSteps, Progress = progress, Cancel = cancel,
        Float32 = Float32, Fault = Fault, Threads = Threads, Checkpoint = Checkpoint,
    };

    /// <summary>Trains the setting on its architecture's engine (stopping early, status interrupted, when
    /// <paramref name="cancel"/> fires); the result is written by the one run writer (IO's RunDirectory).</summary>
    public abstract TrainRecord Train(Action<int, int, double>? progress = null, CancellationToken cancel = default);

    /// <summary>The `resode train` command line that reproduces this setting.</summary>
    public abstract string CommandLine(string outDir);

    /// <summary>The options of that command line this base fixes, written once for every architecture (after the
    /// architecture's own): activation, initialization, step, iterations, clip, the snapshots (or the snapshot
    /// iterations), seed, the engine settings that are set, and the run directory.</summary>
    protected string CommonOptions(string outDir) =>
        $" --activation {Activations.Name(Activation)} --init {Init.ToString().ToLowerInvariant()}" +
        (Init == InitKind.Smooth ? $" --modes {Modes}" : "") +
        $" --eta {Eta:R} --iters {Iterations}" + (Clip is double c ? $" --clip {c:R}" : "") +
        (SnapshotSteps is int[] steps ? $" --snapshot-steps {string.Join(",", steps)}" : $" --snapshots {Snapshots}") + $" --seed {Seed}" +
        (Float32 ? " --float32" : "") + (Threads is int th ? $" --threads {th}" : "") + (Checkpoint is int ck ? $" --checkpoint {ck}" : "") +
        $" --out {outDir}";

    /// <summary>The data set's description in run.json.</summary>
    public string DataDescription => $"synthetic Gaussian: x_i, y_i ~ N(0, I_{StateDim}), n = {Samples}, seed {Seed}";
}
