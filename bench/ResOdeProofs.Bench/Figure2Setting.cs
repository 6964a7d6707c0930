using ResOdeProofs.Numerics;
using ResOdeProofs.Numerics.Model;

namespace ResOdeProofs.Bench;

/// <summary>
/// The setting the figure-2 probes share: L = 64, m = 64, n = 50, d = 16, GELU, the synthetic data of seed 1, and one
/// generator (seed 1) from which <see cref="Fill"/> draws entries uniform in ±s/2 in the order of the calls, so that a probe
/// that draws the same arrays in the same order gets the numbers it got before.
/// </summary>
internal sealed class Figure2Setting
{
    public const int L = 64, M = 64, N = 50, D = 16;
    private readonly System.Random _r = new(1);
    public NetworkShape Shape { get; } = NetworkShape.Square(L, M, D);
    public Dataset Data { get; } = Dataset.SyntheticGaussian(N, D, D, 1);

    /// <summary>k entries, each s·(U − ½) for the next draws U of the generator.</summary>
    public double[] Fill(int k, double s) => Enumerable.Range(0, k).Select(_ => s * (_r.NextDouble() - 0.5)).ToArray();

    /// <summary>The next draw of the generator, U in [0, 1).</summary>
    public double Next() => _r.NextDouble();

    /// <summary>A GELU network of this setting on the data.</summary>
    public ResNet<double> Network(EngineOptions? options = null) => new(Shape, ActivationKind.Gelu, Data, options ?? new EngineOptions());
}
