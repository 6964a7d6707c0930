using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using ResOdeProofs.Numerics.Blocks;
using ResOdeProofs.Numerics.Model;
using ResOdeProofs.Numerics.Training;

namespace ResOdeProofs.Numerics.IO;

/// <summary>
/// run.json "architecture": {"name": "one-layer", "layout": [["W", [d, d]], ["b", [d]]], "hyper": {...}}. A run without
/// the key is the paper's MLP, whose parts are W (m×d) and V (d×m) (<see cref="Mlp"/>).
/// </summary>
public sealed class ArchitectureMetadata
{
    [JsonPropertyName("name")] public string Name { get; set; } = "";
    /// <summary>[[part name, shape], ...] in storage order within θ_k.</summary>
    [JsonPropertyName("layout")] public JsonArray Layout { get; set; } = new();
    /// <summary>Block hyper-parameters (e.g. "width" for mlp).</summary>
    [JsonPropertyName("hyper")] public Dictionary<string, double> Hyper { get; set; } = new();

    /// <summary>The layout as (name, shape) pairs.</summary>
    public (string Name, int[] Shape)[] Parts() =>
        Layout.Select(e =>
        {
            var a = e as JsonArray ?? throw new RunFormatException("run.json: architecture.layout entries must be [name, shape] arrays");
            return (a[0]!.GetValue<string>(), (a[1] as JsonArray)!.Select(x => x!.GetValue<int>()).ToArray());
        }).ToArray();

    /// <summary>Metadata of a block.</summary>
    public static ArchitectureMetadata Of(IResidualBlock block, IReadOnlyDictionary<string, double> hyper)
    {
        var layout = new JsonArray();
        foreach (var (name, shape) in block.ParameterLayout)
            layout.Add(new JsonArray(JsonValue.Create(name), new JsonArray(shape.Select(x => (JsonNode?)JsonValue.Create(x)).ToArray())));
        return new ArchitectureMetadata { Name = block.Name, Layout = layout, Hyper = new Dictionary<string, double>(hyper) };
    }

    /// <summary>The paper's MLP block of width m on R^d: parts W (m, d) and V (d, m), as <see cref="MlpBlock"/> lays them out.</summary>
    public static ArchitectureMetadata Mlp(int dim, int width, ActivationKind activation) =>
        Of(new MlpBlock(dim, width, activation), new Dictionary<string, double> { ["width"] = width });
}

/// <summary>
/// One run, whatever its architecture (docs/run-format.md): the interchange format between the engine, the theory
/// layer and any other tool. Every architecture is a residual block h_k = h_{k−1} + (1/L) f(θ_k, h_{k−1}) with named
/// parameter parts (<see cref="Architecture"/>); the paper's MLP is the block "mlp" with parts W (m×d) and V (d×m).
/// The parameters of snapshot s (taken at iteration <c>Steps[s]</c>) are available two ways, each computed from the
/// other on first use: by part (<see cref="Part"/>; for the MLP <see cref="W"/> and <see cref="V"/>, each L·size,
/// layer-major, as w.npy and v.npy store them) and as θ (<see cref="Theta"/>: L·P, layer after layer, the parts of one
/// layer one after the other, as theta.npy stores them). A run is built from one of the two.
/// </summary>
public sealed class RunData
{
    private ArchitectureMetadata? _architecture;
    private NetworkShape? _shape;
    private int? _depth, _dim;
    private IResidualBlock? _block;
    private bool _blockSet;
    private double[][]? _theta;
    private Parameters[]? _snapshots;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, double[][]> _parts = new(StringComparer.Ordinal);

    public required string Directory { get; init; }
    public required RunMetadata Meta { get; init; }
    public required Dataset Data { get; init; }
    public double[]? A { get; init; }
    public double[]? B { get; init; }
    public required ActivationKind Activation { get; init; }
    public required double Eta { get; init; }
    public required int[] Steps { get; init; }
    public required double[] Losses { get; init; }
    /// <summary>The relative rounding of the recorded losses by their storage: 2⁻²⁴ when losses.npy holds float32 numbers (a
    /// loss computed in float64 and stored as float32 moved by up to that much of itself), 0 when it holds float64; with the
    /// mean-over-entries convention and d_out not a power of two also the conversion's two roundings
    /// (<see cref="RunDirectory.ConversionRoundoff"/>, combined as (1 + a)(1 + b) − 1).</summary>
    public double LossesStorageRoundoff { get; init; }
    /// <summary>The same per trace column: 2⁻²⁴ for a column whose trace/NAME.npy holds float32 numbers, absent (0) for float64
    /// (a claim stored coarser than it was computed moved by up to that much of itself).</summary>
    public IReadOnlyDictionary<string, double> TraceStorageRoundoff { get; init; } = new Dictionary<string, double>();
    /// <summary>run.json's top-level keys this format does not define (ignored), each with the nearest defined key when one is
    /// within two edits (<see cref="RunMetadata.UnknownKeys"/>).</summary>
    public IReadOnlyList<(string Key, string? Nearest)> UnknownRunJsonKeys { get; init; } = Array.Empty<(string, string?)>();
    /// <summary>What reading the directory found that run.json claims and the files do not hold (trace columns listed but
    /// absent), each a sentence for a note: the run is read without them, and the results that need them say so.</summary>
    public IReadOnlyList<string> ReadNotes { get; init; } = Array.Empty<string>();
    /// <summary>Per-iterate diagnostics present in trace/ (may be empty for a foreign run).</summary>
    public required IReadOnlyDictionary<string, double[]> Trace { get; init; }

    /// <summary>The architecture: name, parts (name and shape, storage order) and hyper-parameters. Defaults to the MLP of <see cref="Shape"/>.</summary>
    public ArchitectureMetadata Architecture
    {
        get => _architecture ??= ArchitectureMetadata.Mlp(Dim, Shape.Width, Activation);
        init => _architecture = value;
    }

    /// <summary>True for the paper's MLP (parts W and V): the results stated with its sharper constants apply.</summary>
    public bool IsMlp => Architecture.Name == "mlp";

    /// <summary>The MLP's shape (L, m, d, d_in, d_out); for another architecture m is its "width" hyper-parameter, or 0.</summary>
    public NetworkShape Shape
    {
        get => _shape ??= new NetworkShape(Depth, Architecture.Hyper.TryGetValue("width", out var m) ? (int)m : 0, Dim, Data.InputDim, Data.OutputDim);
        init => _shape = value;
    }

    /// <summary>Depth L.</summary>
    public int Depth { get => _depth ?? _shape?.Depth ?? throw new InvalidOperationException("a run needs its Shape or its Depth"); init => _depth = value; }
    /// <summary>State dimension d.</summary>
    public int Dim { get => _dim ?? _shape?.Dim ?? throw new InvalidOperationException("a run needs its Shape or its Dim"); init => _dim = value; }
    /// <summary>Parameters per layer P.</summary>
    public int ParameterCount => Architecture.Parts().Sum(p => p.Shape.Aggregate(1, (a, b) => a * b));

    /// <summary>The block rebuilt from the catalog (null when the architecture is not registered in this engine).</summary>
    public IResidualBlock? Block
    {
        get
        {
            if (!_blockSet)
            {
                try { _block = BlockCatalog.Create(Architecture.Name, Dim, Activation, Architecture.Hyper); }
                catch (ArgumentException) { _block = null; }
                _blockSet = true;
            }
            return _block;
        }
        init { _block = value; _blockSet = true; }
    }

    /// <summary>θ (L·P, layer after layer) per snapshot.</summary>
    public double[][] Theta { get => _theta ??= Snapshots.Select(p => p.Theta).ToArray(); init => _theta = value; }

    /// <summary>The MLP's W_k (L·m·d, layer-major, each m×d row-major) per snapshot: its part "W".</summary>
    public double[][] W { get => Part("W"); init => _parts["W"] = value; }
    /// <summary>The MLP's V_k (L·d·m, layer-major, each d×m row-major) per snapshot: its part "V".</summary>
    public double[][] V { get => Part("V"); init => _parts["V"] = value; }

    /// <summary>Part <paramref name="name"/> of every layer (L·size, layer-major) per snapshot.</summary>
    public double[][] Part(string name) => _parts.GetOrAdd(name, Extract);

    public bool Diverged => Meta.Status == "diverged";
    public double? Clip => Meta.ClipRadius;
    /// <summary>Number of updates N (losses has N + 1 entries for a completed run).</summary>
    public int Iterations => Losses.Length - 1;

    /// <summary>Each snapshot's parameters over the architecture's layout (<see cref="Parameters"/>, the one conversion between θ
    /// and the parts), from θ when the run was given θ, else from its parts.</summary>
    private Parameters[] Snapshots => _snapshots ??= HoldSnapshots();

    private Parameters[] HoldSnapshots()
    {
        var layout = Architecture.Parts();
        string owner = $"architecture '{Architecture.Name}'";
        int L = Depth;
        if (_theta is { } theta) return theta.Select(t => Parameters.FromTheta(layout, owner, L, t)).ToArray();
        foreach (var (n, _) in layout)
            if (!_parts.ContainsKey(n)) throw new InvalidOperationException($"run {Directory}: neither θ nor part '{n}' was given");
        return Enumerable.Range(0, Steps.Length).Select(s => Parameters.FromParts(layout, owner, L, layout.Select(q => _parts[q.Name][s]).ToArray())).ToArray();
    }

    private double[][] Extract(string name)
    {
        if (!Architecture.Parts().Any(q => q.Name == name))
            throw new ArgumentException($"architecture '{Architecture.Name}' has no part '{name}' (its parts: {string.Join(", ", Architecture.Parts().Select(p => p.Name))})");
        if (_theta is null) throw new InvalidOperationException($"run {Directory}: neither θ nor part '{name}' was given");
        return Snapshots.Select(p => p.Part(name)).ToArray();
    }
}
