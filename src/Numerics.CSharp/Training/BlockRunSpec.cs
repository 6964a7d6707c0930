using ResOdeProofs.Numerics.Model;
using ResOdeProofs.Numerics.Blocks;

namespace ResOdeProofs.Numerics.Training;

/// <summary>
/// A complete synthetic setting of any block in one value: the common setting (<see cref="SyntheticSetting"/>, as for
/// the MLP's <see cref="RunSpec"/>), a block from <see cref="BlockCatalog"/> with its hyper-parameters, and one Gaussian
/// scale per parameter part.
/// </summary>
public sealed record BlockRunSpec : SyntheticSetting
{
    public string Architecture { get; init; } = "one-layer";
    /// <summary>Hyper-parameter values by their catalog name (run.json "architecture.hyper"); a hyper-parameter the
    /// architecture declares and this map lacks takes the catalog's default, names the architecture does not declare are ignored.</summary>
    public IReadOnlyDictionary<string, double> HyperValues { get; init; } = new Dictionary<string, double>();
    /// <summary>Shorthand for the hyper-parameter "width" (hidden width m of mlp and glu).</summary>
    public int Width { get => HyperValue("width"); init => HyperValues = WithHyper("width", value); }
    /// <summary>Shorthands for the conv block's image shape C×H×W (its d is C·H·W; <see cref="SyntheticSetting.Dim"/> is then ignored).</summary>
    public int Channels { get => HyperValue("channels"); init => HyperValues = WithHyper("channels", value); }
    public int Height { get => HyperValue("height"); init => HyperValues = WithHyper("height", value); }
    public int ImageWidth { get => HyperValue("width_px"); init => HyperValues = WithHyper("width_px", value); }
    /// <summary>Scale of each parameter part in layout order; null = the architecture's defaults.</summary>
    public double[]? Scales { get; init; }

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

    /// <summary>The state dimension: fixed by the hyper-parameters for some blocks (conv: C·H·W), <see cref="SyntheticSetting.Dim"/> otherwise.</summary>
    public override int StateDim => Entry().StateDim(Dim, HyperValues);

    public IResidualBlock Block() => BlockCatalog.Create(Architecture, StateDim, Activation, Hyper);
    public double[] EffectiveScales() => Scales ?? Entry().DefaultScales(StateDim, Hyper);

    public InitialParameters InitialParameters(IResidualBlock block) => Init switch
    {
        InitKind.Tied => BlockInitialization.Tied(block, Depth, Seed, EffectiveScales()),
        InitKind.Smooth => BlockInitialization.Smooth(block, Depth, Seed, EffectiveScales(), Modes),
        InitKind.Iid => BlockInitialization.Iid(block, Depth, Seed, EffectiveScales()),
        _ => throw new ArgumentException("a BlockRunSpec builds tied, smooth or iid initializations"),
    };

    /// <summary>Trains the setting (stopping early, status interrupted, when <paramref name="cancel"/> fires).</summary>
    public override BlockTrainResult Train(Action<int, int, double>? progress = null, CancellationToken cancel = default)
    {
        var block = Block();
        return BlockTrainer.Train(block, Depth, Data(), InitialParameters(block), Options(progress, cancel), Seed,
            DataDescription, Hyper);
    }

    public override string CommandLine(string outDir) =>
        $"resode train --arch {Architecture} --n {Samples} --d {StateDim} --depth {Depth}" +
        string.Concat(Entry().HyperParameters.Select(p => $" --{p.Option} {Hyper[p.Name]:R}")) +
        $" --scales {string.Join(",", EffectiveScales().Select(x => x.ToString("R", System.Globalization.CultureInfo.InvariantCulture)))}" + CommonOptions(outDir);
}
