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
    public int Samples { get; init; } = 20;
    /// <summary>Hyper-parameter values by their catalog name (run.json "architecture.hyper"); a hyper-parameter the
    /// architecture declares and this map lacks takes the catalog's default, names the architecture does not declare are ignored.</summary>
    public IReadOnlyDictionary<string, double> HyperValues { get; init; } = new Dictionary<string, double>();
    /// <summary>Shorthand for the hyper-parameter "width" (hidden width m of mlp and glu).</summary>
    public int Width { get => HyperValue("width"); init => HyperValues = WithHyper("width", value); }
    /// <summary>Shorthands for the conv block's image shape C×H×W (its d is C·H·W; <see cref="Dim"/> is then ignored).</summary>
    public int Channels { get => HyperValue("channels"); init => HyperValues = WithHyper("channels", value); }
    public int Height { get => HyperValue("height"); init => HyperValues = WithHyper("height", value); }
    public int ImageWidth { get => HyperValue("width_px"); init => HyperValues = WithHyper("width_px", value); }
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
        Architecture = architecture ?? Architecture, Depth = depth ?? Depth, HyperValues = width is int w ? WithHyper("width", w) : HyperValues, Samples = samples ?? Samples,
        Dim = dim ?? Dim, Activation = activation ?? Activation, Init = init ?? Init, Scales = scales ?? Scales, Eta = eta ?? Eta,
        Iterations = iterations ?? Iterations, Seed = seed ?? Seed, Snapshots = snapshots ?? Snapshots, SnapshotSteps = snapshotSteps ?? SnapshotSteps,
    };

    private Dictionary<string, double> WithHyper(string name, double value) => new(HyperValues) { [name] = value };

    /// <summary>The value of a hyper-parameter: given, else the default of the first catalog entry that declares it (this
    /// architecture's first).</summary>
    private int HyperValue(string name) =>
        HyperValues.TryGetValue(name, out var v) ? (int)v
        : BlockCatalog.All.OrderBy(e => e.Name == Architecture ? 0 : 1).SelectMany(e => e.HyperParameters).First(p => p.Name == name).Default;

    /// <summary>The architecture's catalog entry.</summary>
    public BlockCatalog.Entry Entry() => BlockCatalog.Find(Architecture);

    /// <summary>Hyper-parameters of the block: those its catalog entry declares, given or at their defaults.</summary>
    public IReadOnlyDictionary<string, double> Hyper => Entry().HyperWithDefaults(HyperValues);

    /// <summary>The state dimension: fixed by the hyper-parameters for some blocks (conv: C·H·W), <see cref="Dim"/> otherwise.</summary>
    public int StateDim => Entry().StateDim(Dim, HyperValues);

    public IResidualBlock Block() => BlockCatalog.Create(Architecture, StateDim, Activation, Hyper);
    public double[] EffectiveScales() => Scales ?? Entry().DefaultScales(StateDim, Hyper);
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
        var hyper = Hyper;
        return $"resode train --arch {Architecture} --n {Samples} --d {StateDim} --depth {Depth}" +
               string.Concat(Entry().HyperParameters.Select(p => $" --{p.Option} {hyper[p.Name]:R}")) +
               $" --activation {Activations.Name(Activation)} --init {Init.ToString().ToLowerInvariant()} --scales {string.Join(",", s.Select(x => x.ToString("R", System.Globalization.CultureInfo.InvariantCulture)))}" +
               (Init == InitKind.Smooth ? $" --modes {Modes}" : "") +
               $" --eta {Eta:R} --iters {Iterations}" + (Clip is double c ? $" --clip {c:R}" : "") +
               $" --snapshots {Snapshots} --seed {Seed} --out {outDir}";
    }
}
