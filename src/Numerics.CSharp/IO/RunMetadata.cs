using System.Text.Json;
using System.Text.Json.Serialization;

namespace ResOdeProofs.Numerics.IO;

/// <summary>Initialization block of run.json.</summary>
public sealed class InitMetadata
{
    /// <summary>tied | smooth | iid | file | other (a foreign tool may write anything; only tied/smooth carry a Lipschitz constant).</summary>
    [JsonPropertyName("kind")] public string Kind { get; set; } = "other";
    [JsonPropertyName("scale")] public double? Scale { get; set; }
    [JsonPropertyName("v_scale")] public double? VScale { get; set; }
    [JsonPropertyName("modes")] public int? Modes { get; set; }
    /// <summary>Bound on sup_s ‖dW⁰/ds‖_F of the function of depth the initial layers discretize (null: none known).</summary>
    [JsonPropertyName("lipschitz_w")] public double? LipschitzW { get; set; }
    [JsonPropertyName("lipschitz_v")] public double? LipschitzV { get; set; }
    /// <summary>L·max_k ‖Z_{k+1}(0) − Z_k(0)‖_F, measured.</summary>
    [JsonPropertyName("max_increment_times_depth")] public double? MaxIncrementTimesDepth { get; set; }
    [JsonPropertyName("description")] public string? Description { get; set; }
    /// <summary>Generic-architecture runs: per parameter part, the Gaussian scale and the bound on sup_s ‖dθ⁰_part/ds‖_F (absent when none is known).</summary>
    [JsonPropertyName("scales")] public Dictionary<string, double>? Scales { get; set; }
    [JsonPropertyName("lipschitz_parts")] public Dictionary<string, double>? LipschitzParts { get; set; }
}

/// <summary>
/// run.json: what a run directory's arrays mean. Only <see cref="Activation"/> and <see cref="Eta"/>
/// are required from a foreign tool; sizes are taken from the arrays and checked against any given here.
/// </summary>
public sealed class RunMetadata
{
    /// <summary>Format tag, "resode-run/1".</summary>
    [JsonPropertyName("format")] public string Format { get; set; } = FormatTag;
    [JsonPropertyName("engine_version")] public string? EngineVersion { get; set; }
    /// <summary>The git commit the engine was built from ("unknown" when it was built outside a git checkout; "+dirty" when with uncommitted changes).</summary>
    [JsonPropertyName("engine_commit")] public string? EngineCommit { get; set; }
    /// <summary>The identity of the engine's arithmetic ("commit:SHA" for a clean build, "content:H" otherwise; see EngineInfo.Build).</summary>
    [JsonPropertyName("engine_build")] public string? EngineBuild { get; set; }
    /// <summary>The platform the engine ran on (its .NET runtime identifier, e.g. "linux-x64"; see EngineInfo.Platform): part of a bit-exact claim.</summary>
    [JsonPropertyName("platform")] public string? Platform { get; set; }
    /// <summary>The vector width in bits the engine's kernels ran at (512, 256, or 64 for scalar loops).</summary>
    [JsonPropertyName("simd_bits")] public int? SimdBits { get; set; }
    /// <summary>The engine threads the run used: results are bit-reproducible for a given seed and thread count.</summary>
    [JsonPropertyName("threads")] public int? Threads { get; set; }
    /// <summary>The exact command line that produced the run (absent when it was not written by the command line).</summary>
    [JsonPropertyName("command_line")] public string? CommandLine { get; set; }
    /// <summary>completed | diverged | interrupted (stopped by a signal: the arrays hold the iterates up to that point).</summary>
    [JsonPropertyName("status")] public string Status { get; set; } = "completed";
    [JsonPropertyName("diverged_at")] public int? DivergedAt { get; set; }
    [JsonPropertyName("divergence_reason")] public string? DivergenceReason { get; set; }
    /// <summary>gelu | tanh | softplus | relu | identity.</summary>
    [JsonPropertyName("activation")] public string? Activation { get; set; }
    /// <summary>Time step η of the depth-scaled flow: Z ← Z − η·L·∂ℓ/∂Z.</summary>
    [JsonPropertyName("eta")] public double? Eta { get; set; }
    /// <summary>gd | clipped-gd | gf | clipped-gf (gf: the gradient flow dZ/dt = −G integrated by an adaptive Runge–Kutta pair).</summary>
    [JsonPropertyName("optimizer")] public string Optimizer { get; set; } = "gd";
    /// <summary>gf: the horizon T of the flow (t ∈ [0, T]).</summary>
    [JsonPropertyName("horizon")] public double? Horizon { get; set; }
    /// <summary>gf: relative and absolute tolerances of the adaptive integrator.</summary>
    [JsonPropertyName("rtol")] public double? Rtol { get; set; }
    [JsonPropertyName("atol")] public double? Atol { get; set; }
    /// <summary>gf: the embedded pair, e.g. "DP5(4)".</summary>
    [JsonPropertyName("ode_method")] public string? OdeMethod { get; set; }
    /// <summary>gf with a non-uniform grid: the output times t_j (losses[j] = ℓ(Z(t_j))); absent for the uniform grid t_j = j·eta.</summary>
    [JsonPropertyName("output_times")] public double[]? OutputTimes { get; set; }
    /// <summary>gf with the uniform grid: its spacing, equal to eta = T/N.</summary>
    [JsonPropertyName("dt")] public double? Dt { get; set; }
    /// <summary>gf: accepted and rejected integrator steps, and evaluations of the vector field.</summary>
    [JsonPropertyName("ode_steps")] public int? OdeSteps { get; set; }
    [JsonPropertyName("ode_rejected")] public int? OdeRejected { get; set; }
    [JsonPropertyName("ode_evaluations")] public int? OdeEvaluations { get; set; }
    [JsonPropertyName("clip_radius")] public double? ClipRadius { get; set; }
    [JsonPropertyName("iterations")] public int? Iterations { get; set; }

    /// <summary>N, the updates (a flow: the output intervals) of the run: "iterations", else, for a completed run, its
    /// recorded outputs after the first; null when neither tells. One definition for the flow's output grid T·j/N
    /// (<c>FlowReplay.OutputTime</c>) and the reader's check eta·N = T.</summary>
    public int? Intervals(int recordedOutputs) => Iterations ?? (Status == "completed" ? recordedOutputs - 1 : null);
    [JsonPropertyName("depth")] public int? Depth { get; set; }
    [JsonPropertyName("width")] public int? Width { get; set; }
    [JsonPropertyName("n")] public int? N { get; set; }
    [JsonPropertyName("d")] public int? D { get; set; }
    [JsonPropertyName("d_in")] public int? DIn { get; set; }
    [JsonPropertyName("d_out")] public int? DOut { get; set; }
    /// <summary>
    /// The loss convention of losses.npy: "per-sample" (this engine): ℓ = (1/n) Σ_i ‖F(x_i) − y_i‖²; or "mean-over-entries"
    /// (the mean over all n·d_out entries, as torch.nn.MSELoss computes it): the reader multiplies losses.npy and a trace
    /// loss column by d_out.
    /// </summary>
    [JsonPropertyName("loss")] public string Loss { get; set; } = "per-sample";
    [JsonPropertyName("precision")] public string Precision { get; set; } = "float64";
    [JsonPropertyName("seed")] public long? Seed { get; set; }
    [JsonPropertyName("data")] public string? Data { get; set; }
    /// <summary>The initialization: an object, or just its kind as a string (<c>"init": "tied"</c>, as foreign tools write it).</summary>
    [JsonPropertyName("init")]
    [JsonConverter(typeof(InitMetadataConverter))]
    public InitMetadata Init { get; set; } = new();
    /// <summary>
    /// A foreign tool's raw learning rate on its own loss (instead of <see cref="Eta"/>): η = learning_rate / (L·c), c = d_out
    /// under the <c>"loss": "mean-over-entries"</c> convention and 1 under the per-sample one.
    /// </summary>
    [JsonPropertyName("learning_rate")] public double? LearningRate { get; set; }
    /// <summary>Set by the reader when η was derived from <see cref="LearningRate"/> alone (no "eta" given): the quotient may
    /// differ in its last bit from the η the producer stepped with, so no bit-exact replay is claimed (<c>Replay.BitExactClaim</c>).</summary>
    [JsonIgnore] public bool EtaFromLearningRate { get; set; }
    /// <summary>Generic-architecture runs (theta.npy instead of w.npy/v.npy): the block's name, parameter layout and hyper-parameters; absent for the paper's MLP format.</summary>
    [JsonPropertyName("architecture")] public ArchitectureMetadata? Architecture { get; set; }
    /// <summary>A Fashion-MNIST cell of `resode fashion` or a study (docs/real-data.md): how its images were chosen and the
    /// trainer's accuracy claims, which `verify` recounts (E.accuracy.train, E.accuracy.test) beside E.profile.</summary>
    [JsonPropertyName("fashion")] public FashionMetadata? Fashion { get; set; }
    /// <summary>Names of the trace/*.npy columns written.</summary>
    [JsonPropertyName("trace")] public List<string>? Trace { get; set; }
    /// <summary>Test-only engine fault injected into this run ("none" for a faithful run).</summary>
    [JsonPropertyName("fault")] public string Fault { get; set; } = "none";
    [JsonPropertyName("seconds")] public double? Seconds { get; set; }
    [JsonPropertyName("ms_per_iteration")] public double? MsPerIteration { get; set; }
    [JsonPropertyName("created_by")] public string? CreatedBy { get; set; }

    /// <summary>
    /// The integer fields of run.json that count something, each with the least value it may take and what it counts, in
    /// the words of a refusal. A value out of range is refused by its name (<see cref="CheckIntegerFields"/>) and a value
    /// that is not an integer is refused naming the same range (<see cref="Parse"/>); a depth of −8 was otherwise compared
    /// with the arrays and reported as a mismatch with the weights.
    /// </summary>
    public static readonly IReadOnlyList<(string Key, int Min, string Meaning, Func<RunMetadata, int?> Value)> IntegerFields = new (string, int, string, Func<RunMetadata, int?>)[]
    {
        ("depth", 1, "the depth L, the number of residual blocks", m => m.Depth),
        ("width", 1, "the hidden width m", m => m.Width),
        ("n", 1, "the number of samples", m => m.N),
        ("d", 1, "the state dimension", m => m.D),
        ("d_in", 1, "the input dimension", m => m.DIn),
        ("d_out", 1, "the output dimension", m => m.DOut),
        ("iterations", 0, "the number of updates", m => m.Iterations),
        ("diverged_at", 0, "the iteration the run stopped at", m => m.DivergedAt),
        ("threads", 1, "the engine's thread count", m => m.Threads),
        ("ode_steps", 0, "the integrator's count of accepted steps", m => m.OdeSteps),
        ("ode_rejected", 0, "the integrator's count of rejected steps", m => m.OdeRejected),
        ("ode_evaluations", 0, "the integrator's count of evaluations", m => m.OdeEvaluations),
    };

    private static string IntegerRange(int min) => $"an integer from {min} to 2 147 483 647";

    /// <summary>Refuses an integer field of <see cref="IntegerFields"/> below its least value, naming it and its range
    /// (<paramref name="path"/> in the message): before any of them is compared with the arrays or used.</summary>
    public void CheckIntegerFields(string path)
    {
        foreach (var (key, min, meaning, value) in IntegerFields)
            if (value(this) is int v && v < min)
                throw new RunFormatException($"{path}: \"{key}\" is {v}; it is {meaning}, {IntegerRange(min)}; fix it, or leave the key out {(key is "depth" or "width" or "n" or "d" or "d_in" or "d_out" ? "to take it from the arrays" : "when unknown")}");
    }

    /// <summary>The format tag this engine writes.</summary>
    public const string FormatTag = "resode-run/1";

    private static readonly JsonSerializerOptions Options = new()
    {
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    /// <summary>
    /// The reader's options: those above, and a JSON null refused for every key whose property cannot be absent (a string
    /// such as "optimizer", an object such as "init"). The serializer would store null in it otherwise, past its default,
    /// and the checks met it as the empty string ("\"format\" is \"\"") or as a tool error ("optimizer": null). A key
    /// that may be absent ("clip_radius", "iterations") reads null as absent, as before.
    /// </summary>
    private static readonly JsonSerializerOptions ReadOptions = new(Options) { RespectNullableAnnotations = true };

    /// <summary>Serialized form.</summary>
    public string ToJson() => JsonSerializer.Serialize(this, Options);

    /// <summary>Parses run.json text; <paramref name="path"/> is used in error messages.</summary>
    public static RunMetadata Parse(string json, string path)
    {
        try
        {
            return JsonSerializer.Deserialize<RunMetadata>(json, ReadOptions)
                   ?? throw new RunFormatException($"{path}: run.json is empty; it must be a JSON object with at least \"activation\" and \"eta\"");
        }
        catch (JsonException e) when (NullKey(json, e) is { } key)
        {
            // null where a value must be: named as null, with the kind of value the key takes (the same words as a value of
            // the wrong kind), and that leaving the key out gives its default
            string what = KindOf(key) is { } kind ? $"give {kind}" : "give its value";
            throw new RunFormatException($"{path}: \"{key}\" is null{(e.LineNumber is long line ? $" (line {line + 1})" : "")}; {what}, or leave the key out for its default; see docs/run-format.md for the fields");
        }
        catch (JsonException e) when (WrongKind(e) is { } wrong)
        {
            // a value of the wrong kind: named by its key and the kind it must be, not by the reader's .NET type names
            throw new RunFormatException(wrong.Key == "run.json"
                ? $"{path}: run.json must be {wrong.What}; see docs/run-format.md for the fields"
                : $"{path}: \"{wrong.Key}\" must be {wrong.What}{(e.LineNumber is long line ? $" (line {line + 1})" : "")}; see docs/run-format.md for the fields");
        }
        catch (JsonException e)
        {
            throw new RunFormatException($"{path}: run.json is not valid ({e.Message}); see docs/run-format.md for the fields");
        }
    }

    /// <summary>
    /// The keys of run.json that this format does not define (they are ignored when read), at the top level and inside the
    /// "init" and "architecture" objects (named "init.key", "architecture.key"), each with the defined
    /// key nearest to it when one is within two edits ("precison" → "precision"), for a note: a misspelt key would
    /// otherwise leave its setting at the default without a word.
    /// </summary>
    public static IReadOnlyList<(string Key, string? Nearest)> UnknownKeys(string json)
    {
        var found = new List<(string, string?)>();
        try
        {
            if (System.Text.Json.Nodes.JsonNode.Parse(json) is not System.Text.Json.Nodes.JsonObject o) return found;
            Unknown(typeof(RunMetadata), o, "", found);
            // the objects whose keys the format defines too (the initialization's, the architecture's), named by their path
            if (o["init"] is System.Text.Json.Nodes.JsonObject init) Unknown(typeof(InitMetadata), init, "init.", found);
            if (o["architecture"] is System.Text.Json.Nodes.JsonObject arch) Unknown(typeof(ArchitectureMetadata), arch, "architecture.", found);
            if (o["fashion"] is System.Text.Json.Nodes.JsonObject fashion) Unknown(typeof(FashionMetadata), fashion, "fashion.", found);
        }
        catch (JsonException) { }
        catch (ArgumentException) { }   // a key given twice: refused with its own message
        catch (InvalidOperationException) { }
        return found;
    }

    /// <summary>The keys of <paramref name="o"/> that <paramref name="type"/> does not define, each with the nearest defined key
    /// within two edits, both prefixed by <paramref name="prefix"/>.</summary>
    private static void Unknown(Type type, System.Text.Json.Nodes.JsonObject o, string prefix, List<(string, string?)> found)
    {
        var known = type.GetProperties()
            .Select(p => p.GetCustomAttributes(typeof(JsonPropertyNameAttribute), false).OfType<JsonPropertyNameAttribute>().FirstOrDefault()?.Name)
            .OfType<string>().ToHashSet(StringComparer.Ordinal);
        foreach (var kv in o)
            if (!known.Contains(kv.Key))
            {
                var nearest = known.Select(k => (k, d: Edits(k, kv.Key))).Where(t => t.d <= 2).OrderBy(t => t.d).ThenBy(t => t.k, StringComparer.Ordinal).Select(t => t.k).FirstOrDefault();
                found.Add((prefix + kv.Key, nearest is null ? null : prefix + nearest));
            }
    }

    /// <summary>Levenshtein distance (insertions, deletions, substitutions).</summary>
    private static int Edits(string a, string b)
    {
        var row = Enumerable.Range(0, b.Length + 1).ToArray();
        for (int i = 1; i <= a.Length; i++)
        {
            int diag = row[0]; row[0] = i;
            for (int j = 1; j <= b.Length; j++)
            {
                int up = row[j];
                row[j] = Math.Min(Math.Min(row[j] + 1, row[j - 1] + 1), diag + (a[i - 1] == b[j - 1] ? 0 : 1));
                diag = up;
            }
        }
        return row[b.Length];
    }

    /// <summary>
    /// The key (dotted below the top level: "init.kind") whose JSON null the reader refused, found by the exception's path in
    /// the document itself rather than by the reader's wording; null when the value there is not a JSON null.
    /// </summary>
    private static string? NullKey(string json, JsonException e)
    {
        if (e.Path is not { Length: > 2 } p || !p.StartsWith("$.", StringComparison.Ordinal)) return null;
        try
        {
            System.Text.Json.Nodes.JsonNode? node = System.Text.Json.Nodes.JsonNode.Parse(json);
            var key = p[2..];
            foreach (var name in key.Split('.'))
            {
                if (node is not System.Text.Json.Nodes.JsonObject o || !o.TryGetPropertyValue(name, out node)) return null;
            }
            return node is null ? key : null;
        }
        catch (JsonException) { return null; }
        catch (ArgumentException) { return null; }   // a key given twice: refused with its own message
        catch (InvalidOperationException) { return null; }
    }

    /// <summary>The kind of value the property at a dotted run.json key takes, in the words of <see cref="WrongKind"/> (null
    /// when the key is not a property of the format, or its kind has no words).</summary>
    private static string? KindOf(string key)
    {
        if (IntegerKind(key) is { } integer) return integer;
        var type = typeof(RunMetadata);
        foreach (var name in key.Split('.'))
        {
            var property = type.GetProperties().FirstOrDefault(q => q.GetCustomAttributes(typeof(JsonPropertyNameAttribute), false)
                .OfType<JsonPropertyNameAttribute>().FirstOrDefault()?.Name == name);
            if (property is null) return null;
            type = property.PropertyType;
        }
        return Kind(type.ToString());
    }

    /// <summary>The key and the kind of value it takes, from the reader's message naming the type it could not convert to
    /// (null when the message is another one, or names no key).</summary>
    private static (string Key, string What)? WrongKind(JsonException e)
    {
        const string marker = "could not be converted to ";
        int at = e.Message.IndexOf(marker, StringComparison.Ordinal);
        if (at < 0) return null;
        string type = e.Message[(at + marker.Length)..].Split(". Path:")[0].Trim().TrimEnd('.');
        if (type.StartsWith("System.Nullable`1[", StringComparison.Ordinal)) type = type["System.Nullable`1[".Length..].TrimEnd(']');
        string? key = type.EndsWith(".InitMetadata", StringComparison.Ordinal) ? "init"
            : e.Path is { Length: > 2 } p && p.StartsWith("$.", StringComparison.Ordinal) ? p[2..] : null;
        string? what = key is not null && IntegerKind(key) is { } integer ? integer : Kind(type);
        // the whole document of the wrong kind (a list, a number): run.json itself must be an object
        if (type.EndsWith(".RunMetadata", StringComparison.Ordinal)) return ("run.json", "one JSON object ({\"activation\": ..., \"eta\": ..., ...}), not a list or a single value");
        return key is null || what is null ? null : (key, what);
    }

    /// <summary>The kind of value an integer field of <see cref="IntegerFields"/> takes: its range and what it counts (null
    /// for another key).</summary>
    private static string? IntegerKind(string key) =>
        IntegerFields.FirstOrDefault(f => f.Key == key) is { Key: not null } f
            ? $"{IntegerRange(f.Min)} ({f.Meaning}), written without a decimal point or quotes (8, not 8.0 or \"8\")"
            : null;

    /// <summary>The kind of value a .NET type of the format stands for, in a user's words (null for a type without them).</summary>
    private static string? Kind(string type) => type switch
    {
        "System.Int32" => "an integer from −2 147 483 648 to 2 147 483 647, written without a decimal point or quotes (8, not 8.0 or \"8\")",
        "System.Int64" => "an integer within ±9.2·10¹⁸, written without a decimal point or quotes (8, not 8.0 or \"8\")",
        "System.Double" => "a number",
        "System.String" => "a string",
        "System.Boolean" => "true or false",
        "System.Double[]" => "a list of numbers",
        "System.Int32[]" or "System.Int64[]" => "a list of integers",
        "System.Collections.Generic.List`1[System.String]" => "a list of strings",
        "System.Collections.Generic.Dictionary`2[System.String,System.Double]" => "an object of numbers ({\"name\": 1.0, ...})",
        _ when type.EndsWith(".ArchitectureMetadata", StringComparison.Ordinal) => "an object (\"architecture\": {\"name\": ..., \"layout\": ..., \"hyper\": ...})",
        _ when type.EndsWith(".InitMetadata", StringComparison.Ordinal) => "an object (\"init\": {\"kind\": ..., ...}) or the kind as a string",
        _ when type.EndsWith(".FashionMetadata", StringComparison.Ordinal) => "an object (\"fashion\": {\"data_dir\": ..., \"per_class\": ..., \"test_per_class\": ..., \"seed\": ...})",
        _ => null,
    };
}

/// <summary>
/// run.json "fashion": the Fashion-MNIST subset of an MLP cell (`FashionData.Prepare` from the IDX files under
/// <see cref="DataDir"/> with these counts, d and seed gives the run's x.npy and a.npy again, and the test images) and the
/// trainer's accuracy claims at the last snapshot.
/// </summary>
public sealed class FashionMetadata
{
    [JsonPropertyName("data_dir")] public string? DataDir { get; set; }
    [JsonPropertyName("per_class")] public int PerClass { get; set; }
    [JsonPropertyName("test_per_class")] public int TestPerClass { get; set; }
    [JsonPropertyName("seed")] public long Seed { get; set; }
    [JsonPropertyName("train_accuracy")] public double? TrainAccuracy { get; set; }
    [JsonPropertyName("test_accuracy")] public double? TestAccuracy { get; set; }
}

/// <summary>How a run was produced, beyond what the engine knows: the command line that started it.</summary>
public sealed record RunProvenance(string? CommandLine, FashionMetadata? Fashion = null);

/// <summary>Reads run.json's "init" as an object or as a bare kind string; writes the object.</summary>
public sealed class InitMetadataConverter : JsonConverter<InitMetadata>
{
    /// <inheritdoc/>
    public override InitMetadata Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        // a JSON null never reaches here: the reader refuses it for the key as for any other that must have a value
        if (reader.TokenType == JsonTokenType.String) return new InitMetadata { Kind = reader.GetString() ?? "other" };
        var plain = new JsonSerializerOptions(options);
        try { return JsonSerializer.Deserialize<InitMetadata>(ref reader, plain) ?? new InitMetadata(); }
        catch (JsonException e) when (e.Path is { } p && p.StartsWith('$'))
        {
            // the inner read names its paths from the object ("$.kind") and counts its lines from it: named from the
            // document instead ("$.init.kind"), without the line, so that a message names the key a user reads in run.json
            throw new JsonException(e.Message.Split(" Path: ")[0], "$.init" + p[1..], null, null, e);
        }
    }

    /// <inheritdoc/>
    public override void Write(Utf8JsonWriter writer, InitMetadata value, JsonSerializerOptions options) =>
        JsonSerializer.Serialize(writer, value, options);
}

/// <summary>A run directory that cannot be read: the message names the file, the problem and the fix.</summary>
public sealed class RunFormatException : Exception
{
    /// <summary>Creates the exception.</summary>
    public RunFormatException(string message, Exception? inner = null) : base(message, inner) { }
}
