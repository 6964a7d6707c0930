using ResOdeProofs.Numerics.Model;
using ResOdeProofs.Numerics.Training;

namespace ResOdeProofs.Numerics.Blocks;

/// <summary>
/// A complete synthetic setting for a generic architecture in one value (the analogue of
/// <see cref="RunSpec"/>): data x_i, y_i ~ N(0, I_d) (A = B = I), a block from <see cref="BlockCatalog"/>,
/// an initialization with per-part scales, and the training options. The same seed gives identical runs.
/// </summary>
public sealed record BlockRunSpec
{
    public string Architecture { get; init; } = "one-layer";
    public int Depth { get; init; } = 16;
    /// <summary>Hidden width m (used by the mlp block only).</summary>
    public int Width { get; init; } = 32;
    public int Samples { get; init; } = 20;
    /// <summary>Image shape C×H×W of the states (used by the conv block only, whose d is C·H·W; <see cref="Dim"/> is then ignored).</summary>
    public int Channels { get; init; } = 2;
    public int Height { get; init; } = 6;
    public int ImageWidth { get; init; } = 6;
    public int Dim { get; init; } = 4;
    public ActivationKind Activation { get; init; } = ActivationKind.Gelu;
    public InitKind Init { get; init; } = InitKind.Tied;
    /// <summary>Scale of each parameter part in layout order; null = the architecture's defaults.</summary>
    public double[]? Scales { get; init; }
    public int Modes { get; init; } = 2;
    public double Eta { get; init; } = 0.01;
    public int Iterations { get; init; } = 20;
    public double? Clip { get; init; }
    public int Snapshots { get; init; } = 5;
    public int[]? SnapshotSteps { get; init; }
    public long Seed { get; init; }

    /// <summary>A copy with some fields changed (for F# callers).</summary>
    public BlockRunSpec With(string? architecture = null, int? depth = null, int? width = null, int? samples = null, int? dim = null,
        ActivationKind? activation = null, InitKind? init = null, double[]? scales = null, double? eta = null, int? iterations = null,
        long? seed = null, int? snapshots = null, int[]? snapshotSteps = null) => this with
    {
        Architecture = architecture ?? Architecture, Depth = depth ?? Depth, Width = width ?? Width, Samples = samples ?? Samples,
        Dim = dim ?? Dim, Activation = activation ?? Activation, Init = init ?? Init, Scales = scales ?? Scales, Eta = eta ?? Eta,
        Iterations = iterations ?? Iterations, Seed = seed ?? Seed, Snapshots = snapshots ?? Snapshots, SnapshotSteps = snapshotSteps ?? SnapshotSteps,
    };

    /// <summary>Hyper-parameters of the block (width for mlp; channels, height, width_px for conv; none otherwise).</summary>
    public IReadOnlyDictionary<string, double> Hyper => Architecture switch
    {
        "mlp" => new Dictionary<string, double> { ["width"] = Width },
        "conv" => new Dictionary<string, double> { ["channels"] = Channels, ["height"] = Height, ["width_px"] = ImageWidth },
        _ => new Dictionary<string, double>(),
    };

    /// <summary>The state dimension: C·H·W for conv, <see cref="Dim"/> otherwise.</summary>
    public int StateDim => Architecture == "conv" ? Channels * Height * ImageWidth : Dim;

    public IResidualBlock Block() => BlockCatalog.Create(Architecture, StateDim, Activation, Hyper);
    public double[] EffectiveScales() => Scales ?? BlockCatalog.Find(Architecture).DefaultScales(StateDim, Hyper);
    public Dataset Data() => Dataset.SyntheticGaussian(Samples, StateDim, StateDim, Seed);

    public BlockInitialParameters InitialParameters(IResidualBlock block) => Init switch
    {
        InitKind.Tied => BlockInitialization.Tied(block, Depth, Seed, EffectiveScales()),
        InitKind.Smooth => BlockInitialization.Smooth(block, Depth, Seed, EffectiveScales(), Modes),
        InitKind.Iid => BlockInitialization.Iid(block, Depth, Seed, EffectiveScales()),
        _ => throw new ArgumentException("a BlockRunSpec builds tied, smooth or iid initializations"),
    };

    public TrainOptions Options(Action<int, int, double>? progress = null, CancellationToken cancel = default) => new(Activation, Eta, Iterations)
    {
        Clip = Clip, Snapshots = Snapshots, SnapshotSteps = SnapshotSteps, Progress = progress, Cancel = cancel,
    };

    /// <summary>Trains the setting (stopping early, status interrupted, when <paramref name="cancel"/> fires).</summary>
    public BlockTrainResult Train(Action<int, int, double>? progress = null, CancellationToken cancel = default)
    {
        var block = Block();
        return BlockTrainer.Train(block, Depth, Data(), InitialParameters(block), Options(progress, cancel), Seed,
            $"synthetic Gaussian: x_i, y_i ~ N(0, I_{StateDim}), n = {Samples}, seed {Seed}", Hyper);
    }

    /// <summary>The `resode train` command line that reproduces this setting.</summary>
    public string CommandLine(string outDir)
    {
        var s = EffectiveScales();
        return $"resode train --arch {Architecture} --n {Samples} --d {StateDim} --depth {Depth}" + (Architecture == "mlp" ? $" --width {Width}" : "") +
               (Architecture == "conv" ? $" --channels {Channels} --height {Height} --width-px {ImageWidth}" : "") +
               $" --activation {Activations.Name(Activation)} --init {Init.ToString().ToLowerInvariant()} --scales {string.Join(",", s.Select(x => x.ToString("R", System.Globalization.CultureInfo.InvariantCulture)))}" +
               (Init == InitKind.Smooth ? $" --modes {Modes}" : "") +
               $" --eta {Eta:R} --iters {Iterations}" + (Clip is double c ? $" --clip {c:R}" : "") +
               $" --snapshots {Snapshots} --seed {Seed} --out {outDir}";
    }
}
