namespace ResOdeProofs.Numerics.Blocks;

/// <summary>
/// The architectures the engine can train by name (`resode train --arch NAME`, run.json "architecture").
/// Adding an architecture is one entry here (docs/extending.md).
/// </summary>
public static class BlockCatalog
{
    /// <summary>One architecture: how to build its block from d, σ and its hyper-parameters, and its default per-part scales (from d and the hyper-parameters).</summary>
    public sealed record Entry(string Name, string Description, Func<int, ActivationKind, IReadOnlyDictionary<string, double>, IResidualBlock> Create,
        Func<int, IReadOnlyDictionary<string, double>, double[]> DefaultScales);

    private static int Width(IReadOnlyDictionary<string, double> h) =>
        h.TryGetValue("width", out var m) ? (int)m : throw new ArgumentException("the mlp block needs the hyper-parameter width (--width)");

    /// <summary>Every registered architecture.</summary>
    public static readonly IReadOnlyList<Entry> All = new Entry[]
    {
        new("mlp", "the paper's two-layer block V σ(W h), θ = (W, V)", (d, act, h) => new MlpBlock(d, Width(h), act), (_, _) => new[] { 1.0, 0.0 }),
        new("one-layer", "the one-layer block σ(W h + b), θ = (W, b), W d×d", (d, act, _) => new OneLayerBlock(d, act), (d, _) => new[] { 1.0 / Math.Sqrt(d), 0.0 }),
        new("scaled-linear", "the scaled-linear block σ(a·h), θ = a scalar", (d, act, _) => new ScaledLinearBlock(d, act), (d, h) => new[] { 0.5 }),
    };

    /// <summary>The entry named <paramref name="name"/> (case-insensitive).</summary>
    public static Entry Find(string name) =>
        All.FirstOrDefault(e => string.Equals(e.Name, name, StringComparison.OrdinalIgnoreCase))
        ?? throw new ArgumentException($"unknown architecture '{name}': one of {string.Join(", ", All.Select(e => e.Name))}");

    /// <summary>Builds the block named <paramref name="name"/>.</summary>
    public static IResidualBlock Create(string name, int dim, ActivationKind activation, IReadOnlyDictionary<string, double>? hyper = null) =>
        Find(name).Create(dim, activation, hyper ?? new Dictionary<string, double>());
}
