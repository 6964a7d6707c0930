using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using ResOdeProofs.Numerics.Blocks;
using ResOdeProofs.Numerics.Model;
using ResOdeProofs.Numerics.Training;

namespace ResOdeProofs.Numerics.IO;

/// <summary>
/// run.json "architecture" of a generic-architecture run: {"name": "one-layer", "layout": [["W", [d, d]], ["b", [d]]], "hyper": {...}}.
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
}

/// <summary>A generic-architecture run directory read back: θ snapshots (S × L·P) instead of W and V.</summary>
public sealed class BlockRunData
{
    public required string Directory { get; init; }
    public required RunMetadata Meta { get; init; }
    public required ArchitectureMetadata Architecture { get; init; }
    /// <summary>The block rebuilt from the catalog (null when the architecture is not registered in this engine).</summary>
    public IResidualBlock? Block { get; init; }
    public required int Depth { get; init; }
    /// <summary>Parameters per layer P.</summary>
    public required int ParameterCount { get; init; }
    public required int Dim { get; init; }
    public required Dataset Data { get; init; }
    public double[]? A { get; init; }
    public double[]? B { get; init; }
    public required ActivationKind Activation { get; init; }
    public required double Eta { get; init; }
    public required int[] Steps { get; init; }
    /// <summary>θ (L·P, layer after layer) per snapshot.</summary>
    public required double[][] Theta { get; init; }
    public required double[] Losses { get; init; }
    public required IReadOnlyDictionary<string, double[]> Trace { get; init; }
    public bool Diverged => Meta.Status == "diverged";
    public double? Clip => Meta.ClipRadius;
    public int Iterations => Losses.Length - 1;
}

/// <summary>
/// Writes and reads generic-architecture run directories (docs/run-format.md, "Generic architectures"):
/// the MLP format with theta.npy (S, L, P) in place of w.npy and v.npy and run.json "architecture".
/// </summary>
public static class BlockRunDirectory
{
    /// <summary>True when <paramref name="dir"/> holds a generic-architecture run (run.json with "architecture" and theta.npy).</summary>
    public static bool IsBlockRun(string dir)
    {
        var json = Path.Combine(dir, "run.json");
        if (!File.Exists(json) || !File.Exists(Path.Combine(dir, "theta.npy"))) return false;
        try { return RunMetadata.Parse(File.ReadAllText(json), json).Architecture is not null; }
        catch (RunFormatException) { return false; }
    }

    /// <summary>run.json content for a generic-architecture result.</summary>
    public static RunMetadata Metadata(BlockTrainResult r, RunProvenance? provenance = null)
    {
        var o = r.Options;
        var names = r.Block.ParameterLayout.Select(p => p.Name).ToArray();
        return new RunMetadata
        {
            EngineVersion = EngineInfo.Version, EngineCommit = EngineInfo.Commit, Threads = 1, CommandLine = provenance?.CommandLine,
            Status = RunDirectory.StatusName(r.Status),
            DivergedAt = r.DivergedAt, DivergenceReason = r.DivergenceReason,
            Activation = Activations.Name(r.Block.Activation), Eta = o.Eta,
            Optimizer = o.Optimizer == OptimizerKind.GradientDescent ? "gd" : "clipped-gd", ClipRadius = o.Clip,
            Iterations = o.Iterations, Depth = r.Depth, N = r.Data.Count, D = r.Block.StateDim, DIn = r.Data.InputDim, DOut = r.Data.OutputDim,
            Seed = r.Seed, Data = r.DataDescription,
            Init = new InitMetadata
            {
                Kind = r.Init.Kind.ToString().ToLowerInvariant(),
                Modes = r.Init.Kind == InitKind.Smooth ? r.Init.Modes : null,
                Scales = r.Init.Kind == InitKind.File ? null : names.Zip(r.Init.Scales).ToDictionary(x => x.First, x => x.Second),
                LipschitzParts = r.Init.LipschitzParts is null ? null : names.Zip(r.Init.LipschitzParts).ToDictionary(x => x.First, x => x.Second),
                MaxIncrementTimesDepth = r.Init.MaxIncrementTimesDepth,
                Description = r.Init.Description,
            },
            Architecture = ArchitectureMetadata.Of(r.Block, r.Hyper),
            Trace = r.Trace.Keys.ToList(),
            Seconds = r.Seconds,
            MsPerIteration = r.Losses.Length > 0 ? 1000.0 * r.Seconds / r.Losses.Length : null,
            CreatedBy = $"resode {EngineInfo.Version}",
        };
    }

    /// <summary>Writes the run directory (all-or-nothing, as <c>RunDirectory.Write</c>).</summary>
    public static void Write(BlockTrainResult r, string dir, bool force = false, RunProvenance? provenance = null)
    {
        using var claim = OutputClaim.Acquire(dir, force, "run");
        Write(r, claim, provenance);
    }

    /// <summary>Writes the run directory into a claimed output and commits it.</summary>
    public static void Write(BlockTrainResult r, OutputClaim claim, RunProvenance? provenance = null)
    {
        var meta = Metadata(r, provenance);
        claim.Commit(tmp =>
        {
            int S = r.SnapshotSteps.Count, L = r.Depth, P = r.Block.ParameterCount, d = r.Block.StateDim;
            Npy.Write(Path.Combine(tmp, "x.npy"), r.Data.X, r.Data.Count, r.Data.InputDim);
            Npy.Write(Path.Combine(tmp, "y.npy"), r.Data.Y, r.Data.Count, r.Data.OutputDim);
            if (r.A is not null) Npy.Write(Path.Combine(tmp, "a.npy"), r.A, d, r.Data.InputDim);
            if (r.B is not null) Npy.Write(Path.Combine(tmp, "b.npy"), r.B, r.Data.OutputDim, d);
            var all = new double[(long)S * L * P];
            for (int s = 0; s < S; s++) r.SnapshotTheta[s].CopyTo(all, (long)s * L * P);
            Npy.Write(Path.Combine(tmp, "theta.npy"), all, S, L, P);
            Npy.WriteInt64(Path.Combine(tmp, "steps.npy"), r.SnapshotSteps.Select(x => (long)x).ToArray(), S);
            Npy.Write(Path.Combine(tmp, "losses.npy"), r.Losses, r.Losses.Length);
            var traceDir = Directory.CreateDirectory(Path.Combine(tmp, "trace")).FullName;
            foreach (var (name, values) in r.Trace) Npy.Write(Path.Combine(traceDir, name + ".npy"), values, values.Length);
            File.WriteAllText(Path.Combine(tmp, "run.json"), meta.ToJson());
        });
    }

    /// <summary>The directory <c>Write</c> would produce, in memory.</summary>
    public static BlockRunData InMemory(BlockTrainResult r, string label = "(in memory)")
    {
        var meta = Metadata(r);
        return new BlockRunData
        {
            Directory = label, Meta = meta, Architecture = meta.Architecture!, Block = r.Block, Depth = r.Depth,
            ParameterCount = r.Block.ParameterCount, Dim = r.Block.StateDim, Data = r.Data, A = r.A, B = r.B,
            Activation = r.Block.Activation, Eta = r.Options.Eta, Steps = r.SnapshotSteps.ToArray(),
            Theta = r.SnapshotTheta.ToArray(), Losses = r.Losses, Trace = new Dictionary<string, double[]>(r.Trace),
        };
    }

    /// <summary>Reads a generic-architecture run directory; errors name the file and the fix.</summary>
    public static BlockRunData Read(string dir)
    {
        string P(string f) => Path.Combine(dir, f);
        if (!File.Exists(P("run.json"))) throw new RunFormatException($"{dir}: run.json is missing (see docs/run-format.md)");
        var meta = RunMetadata.Parse(File.ReadAllText(P("run.json")), P("run.json"));
        var arch = meta.Architecture ?? throw new RunFormatException($"{P("run.json")}: \"architecture\" is missing; an MLP run (w.npy, v.npy) is read with RunDirectory.Read");
        if (meta.Activation is null) throw new RunFormatException($"{P("run.json")}: \"activation\" is missing");
        ActivationKind act;
        try { act = Activations.Parse(meta.Activation); }
        catch (ArgumentException e) { throw new RunFormatException($"{P("run.json")}: {e.Message}"); }
        if (meta.Eta is not double eta || !(eta > 0)) throw new RunFormatException($"{P("run.json")}: \"eta\" must be a positive number");
        try
        {
            foreach (var f in new[] { "x.npy", "y.npy", "theta.npy", "steps.npy", "losses.npy" })
                if (!File.Exists(P(f))) throw new RunFormatException($"{dir}: {f} is missing (see docs/run-format.md, generic architectures)");
            var parts = arch.Parts();
            int perLayer = parts.Sum(p => p.Shape.Aggregate(1, (a, b) => a * b));
            var th = Npy.Read(P("theta.npy"), $"parameters θ (S, L, P) with P = {perLayer} from architecture.layout", -1, -1, perLayer);
            int S = th.Shape[0], L = th.Shape[1];
            var x = Npy.Read(P("x.npy"), "inputs x (n, d_in)", -1, -1);
            int n = x.Shape[0], dIn = x.Shape[1];
            var y = Npy.Read(P("y.npy"), $"targets y (n, d_out) with n = {n}", n, -1);
            int dOut = y.Shape[1];
            int d = meta.D ?? dIn;
            double[]? a = null, b = null;
            if (File.Exists(P("a.npy"))) a = Npy.Read(P("a.npy"), $"embedding A (d, d_in) = ({d}, {dIn})", d, dIn).Data;
            else if (dIn != d) throw new RunFormatException($"{dir}: d_in = {dIn} ≠ d = {d} but a.npy is missing");
            if (File.Exists(P("b.npy"))) b = Npy.Read(P("b.npy"), $"read-out B (d_out, d) = ({dOut}, {d})", dOut, d).Data;
            else if (dOut != d) throw new RunFormatException($"{dir}: d_out = {dOut} ≠ d = {d} but b.npy is missing");
            var steps = Npy.ReadInt64(P("steps.npy"), out var stepsShape, integerDTypeOnly: true);
            if (stepsShape.Length != 1 || stepsShape[0] != S) throw new RunFormatException($"{P("steps.npy")}: expected shape ({S},), one iteration per snapshot in theta.npy");
            var losses = Npy.Read(P("losses.npy"), "losses (N+1,)", -1).Data;
            for (int i = 1; i < S; i++) if (steps[i] <= steps[i - 1]) throw new RunFormatException($"{P("steps.npy")}: snapshot iterations must increase strictly");
            if (S > 0 && (steps[0] < 0 || steps[S - 1] >= losses.Length)) throw new RunFormatException($"{P("steps.npy")}: snapshot iterations must lie in 0..{losses.Length - 1}");
            if (meta.Depth is int md && md != L) throw new RunFormatException($"{dir}: run.json says depth = {md} but theta.npy has L = {L}");
            Npy.RequireFinite(x, P("x.npy"), "inputs x"); Npy.RequireFinite(y, P("y.npy"), "targets y");
            var thetas = new double[S][];
            for (int s = 0; s < S; s++) thetas[s] = th.Data.AsSpan(s * L * perLayer, L * perLayer).ToArray();
            var trace = new Dictionary<string, double[]>();
            if (Directory.Exists(P("trace")))
                foreach (var f in Directory.GetFiles(P("trace"), "*.npy").OrderBy(f => f, StringComparer.Ordinal))
                    trace[Path.GetFileNameWithoutExtension(f)] = Npy.Read(f, "trace column (N+1,)", losses.Length).Data;
            IResidualBlock? block = null;
            try { block = BlockCatalog.Create(arch.Name, d, act, arch.Hyper); } catch (ArgumentException) { }
            if (block is not null && block.ParameterCount != perLayer)
                throw new RunFormatException($"{P("run.json")}: architecture '{arch.Name}' with d = {d} has {block.ParameterCount} parameters per layer, the layout says {perLayer}");
            return new BlockRunData
            {
                Directory = dir, Meta = meta, Architecture = arch, Block = block, Depth = L, ParameterCount = perLayer, Dim = d,
                Data = new Dataset(n, dIn, dOut, x.Data, y.Data), A = a, B = b, Activation = act, Eta = eta,
                Steps = steps.Select(z => (int)z).ToArray(), Theta = thetas, Losses = losses, Trace = trace,
            };
        }
        catch (NpyFormatException e) { throw new RunFormatException($"{dir}: {e.Message}", e); }
    }
}
