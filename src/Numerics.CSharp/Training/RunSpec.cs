using ResOdeProofs.Numerics.Model;
using ResOdeProofs.Numerics.Blocks;

namespace ResOdeProofs.Numerics.Training;

/// <summary>
/// The one run specification, for every architecture: data x_i, y_i ~ N(0, I_d) (A = B = I) of this seed, a block from
/// <see cref="BlockCatalog"/> with its hyper-parameters, the depth, the initialization (its kind and one Gaussian scale per
/// parameter part), the step, the iterations, the snapshots and the engine settings. The paper's MLP is the block "mlp"
/// with parts W and V (the default); its run is spelled with those parts (w.npy, v.npy, run.json "scale" and "v_scale")
/// unless <see cref="Theta"/> asks for the block spelling every other architecture has (theta.npy). The trainer picks the
/// backend: the MLP's fast kernels for the MLP in either spelling, the generic pass otherwise. The same seed and thread
/// count give bit-identical runs. This is what `resode train` builds from its options, what the property suite samples
/// and what the report and the sweeps train.
/// </summary>
public sealed record RunSpec
{
    /// <summary>The catalog name of the block (<see cref="BlockCatalog"/>); "mlp" is the paper's V σ(W h).</summary>
    public string Architecture { get; init; } = "mlp";
    /// <summary>Spell the MLP's run as θ layer after layer (theta.npy, the block's trace columns and run.json "scales"),
    /// as every other block's run is; false (the default) spells the MLP with its parts W and V. No effect on other blocks.</summary>
    public bool Theta { get; init; }
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
    /// <summary>Engine settings of the fast kernels (the MLP's in either spelling; another block's generic pass computes in
    /// float64 on one thread and refuses float32 and faults).</summary>
    public bool Float32 { get; init; }
    public EngineFault Fault { get; init; }
    /// <summary>Engine threads (null = by problem size, see <see cref="TrainOptions.EngineFor"/>).</summary>
    public int? Threads { get; init; }
    /// <summary>Checkpoint segment length (null = automatic, 0 = off), see <see cref="TrainOptions.Checkpoint"/>.</summary>
    public int? Checkpoint { get; init; }

    /// <summary>Hyper-parameter values by their catalog name (run.json "architecture.hyper"); a hyper-parameter the
    /// architecture declares and this map lacks takes the catalog's default, names the architecture does not declare are ignored.</summary>
    public IReadOnlyDictionary<string, double> HyperValues { get; init; } = new Dictionary<string, double>();
    /// <summary>Shorthand for the hyper-parameter "width" (hidden width m of mlp and glu).</summary>
    public int Width { get => HyperValue("width"); init => HyperValues = WithHyper("width", value); }
    /// <summary>Shorthands for the conv block's image shape C×H×W (its d is C·H·W; <see cref="Dim"/> is then ignored).</summary>
    public int Channels { get => HyperValue("channels"); init => HyperValues = WithHyper("channels", value); }
    public int Height { get => HyperValue("height"); init => HyperValues = WithHyper("height", value); }
    public int ImageWidth { get => HyperValue("width_px"); init => HyperValues = WithHyper("width_px", value); }
    /// <summary>Scale of each parameter part in layout order; null = the architecture's defaults.</summary>
    public double[]? Scales { get; init; }
    /// <summary>The MLP's scales by part name: of W's entries (part 0) and of V's (part 1).</summary>
    public double Scale { get => EffectiveScales()[0]; init => Scales = WithScale(0, value); }
    public double VScale { get => EffectiveScales()[1]; init => Scales = WithScale(1, value); }

    /// <summary>True when the run is spelled with the MLP's parts W and V (the MLP, <see cref="Theta"/> not set).</summary>
    public bool SpelledWV => !Theta && Architecture == "mlp";

    /// <summary>A copy with some fields changed (for F# callers, which have no `with` on C# records).</summary>
    public RunSpec With(string? architecture = null, int? depth = null, int? width = null, int? samples = null, int? dim = null,
        ActivationKind? activation = null, InitKind? init = null, double[]? scales = null, double? scale = null, double? vScale = null,
        double? eta = null, int? iterations = null, long? seed = null, EngineFault? fault = null, int? snapshots = null,
        int[]? snapshotSteps = null) => this with
    {
        Architecture = architecture ?? Architecture, Depth = depth ?? Depth, HyperValues = width is int w ? WithHyper("width", w) : HyperValues,
        Samples = samples ?? Samples, Dim = dim ?? Dim, Activation = activation ?? Activation, Init = init ?? Init,
        Scales = scale is double s ? WithScale(0, s, vScale) : vScale is double v ? WithScale(1, v) : scales ?? Scales,
        Eta = eta ?? Eta, Iterations = iterations ?? Iterations, Seed = seed ?? Seed, Fault = fault ?? Fault,
        Snapshots = snapshots ?? Snapshots, SnapshotSteps = snapshotSteps ?? SnapshotSteps,
    };

    private Dictionary<string, double> WithHyper(string name, double value) => new(HyperValues) { [name] = value };

    /// <summary>The scales with part <paramref name="part"/> set (and part 1 to <paramref name="second"/> when given).</summary>
    private double[] WithScale(int part, double value, double? second = null)
    {
        var scales = (double[])EffectiveScales().Clone();
        scales[part] = value;
        if (second is double v) scales[1] = v;
        return scales;
    }

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

    /// <summary>The MLP's network shape (A = B = I).</summary>
    public NetworkShape Shape => Architecture == "mlp" ? NetworkShape.Square(Depth, Width, Dim)
        : throw new InvalidOperationException($"the network shape (W, V) is the MLP's; --arch {Architecture} has parts {string.Join(", ", Entry().Parts.Select(p => p.Name))}");

    /// <summary>The synthetic data set of this seed (x_i, y_i ~ N(0, I_d), d the state dimension).</summary>
    public Dataset Data() => Dataset.SyntheticGaussian(Samples, StateDim, StateDim, Seed);

    /// <summary>The data set's description in run.json.</summary>
    public string DataDescription => $"synthetic Gaussian: x_i, y_i ~ N(0, I_{StateDim}), n = {Samples}, seed {Seed}";

    /// <summary>The training options of this setting.</summary>
    public TrainOptions Options(Action<int, int, double>? progress = null, CancellationToken cancel = default) => new(Activation, Eta, Iterations)
    {
        Clip = Clip, Snapshots = Snapshots, SnapshotSteps = SnapshotSteps, Progress = progress, Cancel = cancel,
        Float32 = Float32, Fault = Fault, Threads = Threads, Checkpoint = Checkpoint,
    };

    /// <summary>The MLP's initial parameters W and V of this seed.</summary>
    public InitialParameters InitialWeights() => InitialWeights(Shape);

    /// <summary>The MLP's initial parameters W and V of this seed for <paramref name="shape"/> (its d_in and d_out those of data files).</summary>
    public InitialParameters InitialWeights(NetworkShape shape) => Init switch
    {
        InitKind.Tied => Initialization.Tied(shape, Seed, Scale, VScale),
        InitKind.Smooth => Initialization.Smooth(shape, Seed, Scale, VScale, Modes),
        InitKind.Iid => Initialization.Iid(shape, Seed, Scale, VScale),
        _ => throw new ArgumentException("a RunSpec builds tied, smooth or iid initializations; use Trainer.Train for weights from files"),
    };

    /// <summary>The initial θ of this seed, layer after layer in the block's layout.</summary>
    public InitialParameters InitialParameters(IResidualBlock block) => Init switch
    {
        InitKind.Tied => BlockInitialization.Tied(block, Depth, Seed, EffectiveScales()),
        InitKind.Smooth => BlockInitialization.Smooth(block, Depth, Seed, EffectiveScales(), Modes),
        InitKind.Iid => BlockInitialization.Iid(block, Depth, Seed, EffectiveScales()),
        _ => throw new ArgumentException("a RunSpec builds tied, smooth or iid initializations"),
    };

    /// <summary>Throws an ArgumentException naming the first part of the setting out of range: the depth, the samples and
    /// the state dimension at least 1, one scale per parameter part, the block's hyper-parameters (as the catalog builds
    /// the block) and the training options.</summary>
    public void Validate()
    {
        if (Depth < 1) throw new ArgumentException($"depth L must be at least 1 (got {Depth})");
        if (Samples < 1) throw new ArgumentException($"the number of samples n must be at least 1 (got {Samples})");
        var entry = Entry();
        // each hyper-parameter named by its own option: conv's d is C·H·W, and "state dimension d must be at least 1 (got
        // -24)" for --height -2 named neither the option given nor --d, which conv ignores
        foreach (var p in entry.HyperParameters)
            if (Hyper[p.Name] < 1) throw new ArgumentException($"--{p.Option} must be at least 1 (got {Hyper[p.Name].ToString(System.Globalization.CultureInfo.InvariantCulture)})");
        if (StateDim < 1) throw new ArgumentException($"state dimension d must be at least 1 (got {StateDim})");
        if (EffectiveScales().Length != entry.Parts.Count)
            throw new ArgumentException($"--scales: --arch {entry.Name} has {entry.Parts.Count} parts ({string.Join(", ", entry.Parts.Select(q => q.Name))}), got {EffectiveScales().Length} scales");
        foreach (var sc in EffectiveScales())
            if (!(sc >= 0 && double.IsFinite(sc)))
                throw new ArgumentException($"--scale, --v-scale, --scales: an initialization scale (a standard deviation) is a finite number ≥ 0 (got {sc})");
        // sizes one array must hold, checked before anything is allocated (the memory estimate comes later)
        if ((long)Samples * StateDim > Array.MaxLength)
        {
            // d named by the options that set it: conv's C·H·W ignores --d, which "reduce --n or --d" sent the user to
            string dFrom = entry.StateDimOf is null ? "--d" : string.Join(", ", entry.HyperParameters.Select(p => "--" + p.Option));
            throw new ArgumentException($"n·d = {(long)Samples * StateDim} entries: more than one array holds; reduce --n or {dFrom}");
        }
        if ((long)Iterations + 1 > Array.MaxLength / 16)
            throw new ArgumentException($"--iters {Iterations}: the per-iterate trace would not fit in memory; use fewer iterations");
        try { _ = Block(); }
        catch (OverflowException) { throw new ArgumentException($"--arch {entry.Name}: the hyper-parameters give a layer of more parameters than one array holds; use smaller ones"); }
        Options().Validate();
    }

    /// <summary>Trains the setting by the one loop (<see cref="TrainingLoop"/>) on the backend the architecture takes
    /// (stopping early, status interrupted, when <paramref name="cancel"/> fires): the one <see cref="TrainRecord"/>, spelled
    /// with the MLP's parts W and V or as θ (<see cref="TrainRecord.SpelledWV"/>), which the one run writer (IO's RunDirectory) writes.</summary>
    public TrainRecord Train(Action<int, int, double>? progress = null, CancellationToken cancel = default)
    {
        Validate();
        if (SpelledWV) return Trainer.Train(Shape, Data(), InitialWeights(), Options(progress, cancel), Seed, DataDescription);
        var block = Block();
        return ThetaTrainer.Train(block, Depth, Data(), InitialParameters(block), Options(progress, cancel), Seed, DataDescription, Hyper);
    }

    /// <summary>
    /// The gradient flow of the setting (the MLP spelled with W and V) over [0, T], T = η·N unless <paramref name="horizon"/> is
    /// given (the same horizon as the setting's gradient descent), on the uniform grid of N intervals unless
    /// <paramref name="outputTimes"/> are given, so that output j is at the time of iterate j (Dormand–Prince 5(4) at the
    /// given tolerances; <see cref="GradientFlow.Train"/>).
    /// </summary>
    public TrainRecord TrainFlow(double rtol = 1e-8, double atol = 1e-10, double? horizon = null, double[]? outputTimes = null)
    {
        var opts = new FlowOptions(Activation, horizon ?? Eta * Iterations, Iterations)
        {
            Rtol = rtol, Atol = atol, Clip = Clip, Snapshots = Snapshots, SnapshotSteps = SnapshotSteps,
            Fault = Fault, OutputTimes = outputTimes,
        };
        return GradientFlow.Train(Shape, Data(), InitialWeights(), opts, Seed, DataDescription);
    }

    /// <summary>Equal settings: every field alike, the hyper-parameters and scales compared by value as they take effect
    /// (a default given or left out is the same setting).</summary>
    public bool Equals(RunSpec? o) =>
        o is not null && Architecture == o.Architecture && SpelledWV == o.SpelledWV && Depth == o.Depth && Samples == o.Samples &&
        StateDim == o.StateDim && Activation == o.Activation && Init == o.Init && Modes == o.Modes && Eta.Equals(o.Eta) &&
        Iterations == o.Iterations && Clip.Equals(o.Clip) && Snapshots == o.Snapshots && Seed == o.Seed && Float32 == o.Float32 &&
        Fault == o.Fault && Threads == o.Threads && Checkpoint == o.Checkpoint &&
        (SnapshotSteps ?? Array.Empty<int>()).SequenceEqual(o.SnapshotSteps ?? Array.Empty<int>()) && (SnapshotSteps is null) == (o.SnapshotSteps is null) &&
        Hyper.Count == o.Hyper.Count && Hyper.All(kv => o.Hyper.TryGetValue(kv.Key, out var v) && v.Equals(kv.Value)) &&
        EffectiveScales().SequenceEqual(o.EffectiveScales());

    public override int GetHashCode() => HashCode.Combine(Architecture, Depth, Samples, Seed, Iterations, Eta);

    /// <summary>The setting as its reproducing command line.</summary>
    public override string ToString() => $"RunSpec {{ {CommandLine("RUN")} }}";

    /// <summary>The `resode train` command line that reproduces this setting.</summary>
    public string CommandLine(string outDir) =>
        (SpelledWV
            ? $"resode train --n {Samples} --d {Dim} --depth {Depth} --width {Width} --scale {Scale:R} --v-scale {VScale:R}"
            : $"resode train --arch {Architecture} --n {Samples} --d {StateDim} --depth {Depth}" +
              string.Concat(Entry().HyperParameters.Select(p => $" --{p.Option} {Hyper[p.Name]:R}")) +
              $" --scales {string.Join(",", EffectiveScales().Select(x => x.ToString("R", System.Globalization.CultureInfo.InvariantCulture)))}") +
        $" --activation {Activations.Name(Activation)} --init {Init.ToString().ToLowerInvariant()}" +
        (Init == InitKind.Smooth ? $" --modes {Modes}" : "") +
        $" --eta {Eta:R} --iters {Iterations}" + (Clip is double c ? $" --clip {c:R}" : "") +
        (SnapshotSteps is int[] steps ? $" --snapshot-steps {string.Join(",", steps)}" : $" --snapshots {Snapshots}") + $" --seed {Seed}" +
        (Float32 ? " --float32" : "") + (Threads is int th ? $" --threads {th}" : "") + (Checkpoint is int ck ? $" --checkpoint {ck}" : "") +
        $" --out {outDir}";
}
