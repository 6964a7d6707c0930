namespace ResOdeProofs.Numerics.Blocks;

/// <summary>
/// The architectures the engine can train by name (`resode train --arch NAME`, run.json "architecture").
/// Adding an architecture is one entry here (docs/extending.md).
/// </summary>
public static class BlockCatalog
{
    /// <summary>One architecture: how to build its block from d, σ and its hyper-parameters, and its default per-part scales (from d and the hyper-parameters).</summary>
    public sealed record Entry(string Name, string Description, Func<int, ActivationKind, IReadOnlyDictionary<string, double>, IResidualBlock> Create,
        Func<int, IReadOnlyDictionary<string, double>, double[]> DefaultScales)
    {
        /// <summary>A small (d, hyper-parameters) the block accepts, for the engine's gradient test over the catalog
        /// (tests/Numerics.Tests/BlockEngineTests.cs); the default d = 3 with width 4 suits blocks that take any d.</summary>
        public (int Dim, IReadOnlyDictionary<string, double> Hyper) TestShape { get; init; } = (3, new Dictionary<string, double> { ["width"] = 4 });
    }

    private static int Width(IReadOnlyDictionary<string, double> h) =>
        h.TryGetValue("width", out var m) ? (int)m : throw new ArgumentException("the mlp block needs the hyper-parameter width (--width)");

    private static int Positive(IReadOnlyDictionary<string, double> h, string key, string option) =>
        h.TryGetValue(key, out var v) && v >= 1 ? (int)v : throw new ArgumentException($"the conv block needs the hyper-parameter {key} ({option})");

    /// <summary>The conv block on C×H×W states; checks d = C·H·W.</summary>
    private static ConvBlock Conv(int d, ActivationKind act, IReadOnlyDictionary<string, double> h)
    {
        int c = Positive(h, "channels", "--channels"), ht = Positive(h, "height", "--height"), w = Positive(h, "width_px", "--width-px");
        if (c * ht * w != d) throw new ArgumentException($"the conv block's state has d = C·H·W = {c}·{ht}·{w} = {c * ht * w} entries, not {d}");
        return new ConvBlock(c, ht, w, act);
    }

    /// <summary>Every registered architecture.</summary>
    public static readonly IReadOnlyList<Entry> All = new Entry[]
    {
        new("mlp", "the paper's two-layer block V σ(W h), θ = (W, V)", (d, act, h) => new MlpBlock(d, Width(h), act), (_, _) => new[] { 1.0, 0.0 }),
        new("one-layer", "the one-layer block σ(W h + b), θ = (W, b), W d×d", (d, act, _) => new OneLayerBlock(d, act), (d, _) => new[] { 1.0 / Math.Sqrt(d), 0.0 }),
        new("scaled-linear", "the scaled-linear block σ(a·h), θ = a scalar", (d, act, _) => new ScaledLinearBlock(d, act), (d, h) => new[] { 0.5 }),
        new("conv", "the convolutional block K₂∗σ(K₁∗h + b₁) + b₂, 3×3 same-padding kernels over C channels, θ = (K₁, b₁, K₂, b₂)", Conv,
            (d, h) => { double s = 1.0 / Math.Sqrt(9 * Positive(h, "channels", "--channels")); return new[] { s, 0.0, s, 0.0 }; })
        {
            TestShape = (2 * 3 * 4, new Dictionary<string, double> { ["channels"] = 2, ["height"] = 3, ["width_px"] = 4 }),
        },
    };

    /// <summary>The entry named <paramref name="name"/> (case-insensitive).</summary>
    public static Entry Find(string name) =>
        All.FirstOrDefault(e => string.Equals(e.Name, name, StringComparison.OrdinalIgnoreCase))
        ?? throw new ArgumentException($"unknown architecture '{name}': one of {string.Join(", ", All.Select(e => e.Name))}");

    /// <summary>Builds the block named <paramref name="name"/>.</summary>
    public static IResidualBlock Create(string name, int dim, ActivationKind activation, IReadOnlyDictionary<string, double>? hyper = null) =>
        Find(name).Create(dim, activation, hyper ?? new Dictionary<string, double>());
}
