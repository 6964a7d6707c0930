using ResOdeProofs.Numerics.Model;

namespace ResOdeProofs.Numerics.Training;

/// <summary>
/// A complete synthetic setting of the paper's MLP in one value: the common setting (<see cref="SyntheticSetting"/>),
/// the width and the scales of W and V. This is what the property suite samples and what `resode train` builds from
/// its options.
/// </summary>
public sealed record RunSpec : SyntheticSetting
{
    public int Width { get; init; } = 32;
    public double Scale { get; init; } = 1.0;
    public double VScale { get; init; }

    /// <summary>A copy with some fields changed (for F# callers, which have no `with` on C# records).</summary>
    public RunSpec With(int? depth = null, int? width = null, int? samples = null, int? dim = null,
        ActivationKind? activation = null, InitKind? init = null, double? scale = null, double? vScale = null,
        double? eta = null, int? iterations = null, long? seed = null, EngineFault? fault = null, int? snapshots = null) => this with
    {
        Depth = depth ?? Depth, Width = width ?? Width, Samples = samples ?? Samples, Dim = dim ?? Dim,
        Activation = activation ?? Activation, Init = init ?? Init, Scale = scale ?? Scale, VScale = vScale ?? VScale,
        Eta = eta ?? Eta, Iterations = iterations ?? Iterations, Seed = seed ?? Seed, Fault = fault ?? Fault,
        Snapshots = snapshots ?? Snapshots,
    };

    /// <summary>The network shape (A = B = I).</summary>
    public NetworkShape Shape => NetworkShape.Square(Depth, Width, Dim);

    /// <summary>The initial weights of this seed.</summary>
    public InitialWeights InitialWeights() => Init switch
    {
        InitKind.Tied => Initialization.Tied(Shape, Seed, Scale, VScale),
        InitKind.Smooth => Initialization.Smooth(Shape, Seed, Scale, VScale, Modes),
        InitKind.Iid => Initialization.Iid(Shape, Seed, Scale, VScale),
        _ => throw new ArgumentException("a RunSpec builds tied, smooth or iid initializations; use Trainer.Train for weights from files"),
    };

    /// <summary>Trains the setting on the fast kernels, spelled with the MLP's parts W and V.</summary>
    public override TrainResult Train(Action<int, int, double>? progress = null, CancellationToken cancel = default) =>
        Trainer.Train(Shape, Data(), InitialWeights(), Options(progress, cancel), Seed, DataDescription);

    public override string CommandLine(string outDir) =>
        $"resode train --n {Samples} --d {Dim} --depth {Depth} --width {Width} --scale {Scale:R} --v-scale {VScale:R}" + CommonOptions(outDir);
}
