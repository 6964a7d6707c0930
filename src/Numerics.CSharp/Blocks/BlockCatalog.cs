namespace ResOdeProofs.Numerics.Blocks;

/// <summary>
/// The architectures the engine can train by name (`resode train --arch NAME`, run.json "architecture").
/// Adding an architecture is one entry here (docs/extending.md): the entry declares everything the rest of the tool
/// reads about the block — its parameter parts, its hyper-parameters with defaults, options and meanings, its
/// default scales and what they mean, the `--arch` help text, the small setting the report trains, the shape the
/// tests use. The run spec (Training/RunSpec.cs), `resode train`, the property generators and the report read them from here.
/// </summary>
public static class BlockCatalog
{
    /// <summary>A hyper-parameter of a block other than d: its name in run.json "architecture.hyper", the `resode train`
    /// option that sets it (without the dashes), its default and what it means.</summary>
    public sealed record HyperParameter(string Name, string Option, int Default, string Meaning);

    /// <summary>A parameter part of θ_k (in storage order) with what its default initialization scale means.</summary>
    public sealed record Part(string Name, string Shape, string DefaultScale);

    /// <summary>The small synthetic setting the report's architectures section trains (tied initialization, GELU, default
    /// hyper-parameters and scales); <paramref name="Dim"/> is ignored when the hyper-parameters fix d.</summary>
    public sealed record Example(int Depth, int Samples, int Dim, double Eta, int Iterations);

    /// <summary>One architecture: how to build its block from d, σ and its hyper-parameters, and its default per-part
    /// scales (from d and the hyper-parameters; each scale is the standard deviation of the Gaussian entries of that part
    /// at initialization, a scale 0 starts the part at 0).</summary>
    public sealed record Entry(string Name, string Description, Func<int, ActivationKind, IReadOnlyDictionary<string, double>, IResidualBlock> Create,
        Func<int, IReadOnlyDictionary<string, double>, double[]> DefaultScales)
    {
        /// <summary>The short formula shown in `resode train --help` for --arch.</summary>
        public string Help { get; init; } = Description;
        /// <summary>The parameter parts in storage order with the meaning of their default scales (the same names as the block's ParameterLayout).</summary>
        public IReadOnlyList<Part> Parts { get; init; } = Array.Empty<Part>();
        /// <summary>The hyper-parameters other than d (none for blocks that take only d).</summary>
        public IReadOnlyList<HyperParameter> HyperParameters { get; init; } = Array.Empty<HyperParameter>();
        /// <summary>d from the hyper-parameters when the block fixes it (conv: C·H·W); null when d is free (--d).</summary>
        public Func<IReadOnlyDictionary<string, double>, int>? StateDimOf { get; init; }
        /// <summary>The setting of the report's architectures section; null keeps the block out of that section.</summary>
        public Example? ReportExample { get; init; }
        /// <summary>A small (d, hyper-parameters) the block accepts, for the engine's gradient test over the catalog
        /// (tests/Numerics.Tests/BlockEngineTests.cs), the constant probe and the forward test; the default d = 3 with
        /// width 4 suits blocks that take any d.</summary>
        public (int Dim, IReadOnlyDictionary<string, double> Hyper) TestShape { get; init; } = (3, new Dictionary<string, double> { ["width"] = 4 });

        /// <summary>The hyper-parameters with every undeclared or missing one at its default (values given for others are ignored).</summary>
        public IReadOnlyDictionary<string, double> HyperWithDefaults(IReadOnlyDictionary<string, double>? given) =>
            HyperParameters.ToDictionary(p => p.Name, p => given is not null && given.TryGetValue(p.Name, out var v) ? v : p.Default);

        /// <summary>The state dimension: the one the hyper-parameters fix, or <paramref name="dim"/>.</summary>
        public int StateDim(int dim, IReadOnlyDictionary<string, double> hyper) => StateDimOf is { } f ? f(HyperWithDefaults(hyper)) : dim;
    }

    private static int Positive(IReadOnlyDictionary<string, double> h, string block, string key) =>
        h.TryGetValue(key, out var v) && v >= 1 ? (int)v : throw new ArgumentException($"the {block} block needs the hyper-parameter {key}, at least 1");

    private static readonly HyperParameter HiddenWidth = new("width", "width", 32, "hidden width m (rows of W, columns of V)");

    /// <summary>The conv block on C×H×W states; checks d = C·H·W.</summary>
    private static ConvBlock Conv(int d, ActivationKind act, IReadOnlyDictionary<string, double> h)
    {
        int c = Positive(h, "conv", "channels"), ht = Positive(h, "conv", "height"), w = Positive(h, "conv", "width_px");
        if (c * ht * w != d) throw new ArgumentException($"the conv block's state has d = C·H·W = {c}·{ht}·{w} = {c * ht * w} entries, not {d}");
        return new ConvBlock(c, ht, w, act);
    }

    /// <summary>Every registered architecture.</summary>
    public static readonly IReadOnlyList<Entry> All = new Entry[]
    {
        new("mlp", "the paper's two-layer block V σ(W h), θ = (W, V)", (d, act, h) => new MlpBlock(d, Positive(h, "mlp", "width"), act), (_, _) => new[] { 1.0, 0.0 })
        {
            Help = "mlp: the paper's V σ(W h), fast engine",
            Parts = new Part[] { new("W", "m×d", "1: entries N(0, 1), the paper's"), new("V", "d×m", "0: V⁰ = 0, so f = 0 at initialization (the paper's)") },
            HyperParameters = new[] { HiddenWidth },
        },
        new("one-layer", "the one-layer block σ(W h + b), θ = (W, b), W d×d", (d, act, _) => new OneLayerBlock(d, act), (d, _) => new[] { 1.0 / Math.Sqrt(d), 0.0 })
        {
            Help = "one-layer: σ(W h + b)",
            Parts = new Part[] { new("W", "d×d", "1/√d: ‖W h‖ ≈ ‖h‖, pre-activations of order one"), new("b", "d", "0") },
            ReportExample = new(16, 10, 4, 0.01, 20),
        },
        new("scaled-linear", "the scaled-linear block σ(a·h), θ = a scalar", (d, act, _) => new ScaledLinearBlock(d, act), (d, h) => new[] { 0.5 })
        {
            Help = "scaled-linear: σ(a h)",
            Parts = new Part[] { new("a", "1", "0.5: a of order one") },
            ReportExample = new(16, 10, 4, 0.01, 20),
        },
        new("conv", "the convolutional block K₂∗σ(K₁∗h + b₁) + b₂, 3×3 same-padding kernels over C channels, θ = (K₁, b₁, K₂, b₂)", Conv,
            (d, h) => { double s = 1.0 / Math.Sqrt(9 * Positive(h, "conv", "channels")); return new[] { s, 0.0, s, 0.0 }; })
        {
            Help = "conv: K₂∗σ(K₁∗h + b₁) + b₂ on C×H×W images (d = C·H·W; --d is ignored)",
            Parts = new Part[]
            {
                new("K1", "C×C×3×3", "1/√(9C): each output pixel sums 9C terms, pre-activations of order one"), new("b1", "C", "0"),
                new("K2", "C×C×3×3", "1/√(9C): as K1"), new("b2", "C", "0"),
            },
            HyperParameters = new HyperParameter[]
            {
                new("channels", "channels", 2, "channels C of the C×H×W states"), new("height", "height", 6, "image height H"),
                new("width_px", "width-px", 6, "image width W in pixels (--width is the hidden width of the blocks that have one)"),
            },
            StateDimOf = h => (int)(h["channels"] * h["height"] * h["width_px"]),
            ReportExample = new(8, 6, 72, 0.001, 10),
            TestShape = (2 * 3 * 4, new Dictionary<string, double> { ["channels"] = 2, ["height"] = 3, ["width_px"] = 4 }),
        },
        new("glu", "the gated block V(σ(W h) ⊙ (U h)), θ = (W, U, V), W and U m×d, V d×m", (d, act, h) => new GluBlock(d, Positive(h, "glu", "width"), act),
            (d, _) => new[] { 1.0 / Math.Sqrt(d), 1.0 / Math.Sqrt(d), 0.0 })
        {
            Help = "glu: V(σ(W h) ⊙ (U h)), the gated feed-forward block, hidden width --width",
            Parts = new Part[]
            {
                new("W", "m×d", "1/√d: gate pre-activations W h of order ‖h‖"), new("U", "m×d", "1/√d: values U h of order ‖h‖"),
                new("V", "d×m", "0: V⁰ = 0, so f = 0 at initialization as in the paper's block (f is quadratic in h: a large V⁰ or h makes the states grow fast)"),
            },
            HyperParameters = new[] { HiddenWidth with { Default = 8, Meaning = "hidden width m (rows of W and U, columns of V)" } },
            ReportExample = new(16, 10, 4, 0.01, 20),
        },
    };

    /// <summary>The `--arch` help text, from every entry's <see cref="Entry.Help"/>.</summary>
    public static string ArchHelp => "Residual block: " + string.Join("; ", All.Select(e => e.Help)) + "; see docs/extending.md.";

    /// <summary>The entry named <paramref name="name"/> (case-insensitive).</summary>
    public static Entry Find(string name) =>
        All.FirstOrDefault(e => string.Equals(e.Name, name, StringComparison.OrdinalIgnoreCase))
        ?? throw new ArgumentException($"unknown architecture '{name}': one of {string.Join(", ", All.Select(e => e.Name))}");

    /// <summary>Builds the block named <paramref name="name"/> from exactly the hyper-parameters given (a run read back must
    /// record them all; <c>RunSpec.Hyper</c> fills in the declared defaults).</summary>
    public static IResidualBlock Create(string name, int dim, ActivationKind activation, IReadOnlyDictionary<string, double>? hyper = null) =>
        Find(name).Create(dim, activation, hyper ?? new Dictionary<string, double>());
}
