using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Tomlyn;
using Tomlyn.Model;
using ResOdeProofs.Numerics;
using ResOdeProofs.Theory;

namespace ResOdeProofs.Cli.Sweep;

/// <summary>A study file was not understood: the message names the key and what is expected (exit code 2).</summary>
internal sealed class StudyException(string message) : Exception(message);

/// <summary>One cell of a study: one `resode train` setting, its run directory and its verdicts.</summary>
/// <param name="Index">Position in the expansion (0-based); shard I of N runs the cells with Index ≡ I (mod N).</param>
/// <param name="Hash">Directory name: hash of the settings (data files by content) and the engine version.</param>
/// <param name="Grids">The grids that produce this setting (usually one).</param>
/// <param name="Name">Human-readable name: the grid and the settings that vary within it.</param>
/// <param name="Settings">`train` option (without the dashes) → value, sorted by option name.</param>
internal sealed record Cell(int Index, string Hash, IReadOnlyList<string> Grids, string Name, IReadOnlyList<KeyValuePair<string, string>> Settings)
{
    /// <summary>The value of a setting, or null when the cell leaves it at `train`'s default.</summary>
    public string? Get(string key) => Settings.FirstOrDefault(kv => kv.Key == key).Value;

    /// <summary>The `resode train` arguments of this cell (without --out).</summary>
    public List<string> TrainArguments()
    {
        var args = new List<string>();
        foreach (var (k, v) in Settings)
        {
            if (v == "true" && Study.FlagOptions.Contains(k)) args.Add("--" + k);
            else if (v == "false" && Study.FlagOptions.Contains(k)) continue;
            else { args.Add("--" + k); args.Add(v); }
        }
        return args;
    }

    public string DescribeSettings() => string.Join(" ", Settings.Select(kv => $"{kv.Key}={kv.Value}"));
}

/// <summary>
/// The parameters of the paper's page (`resode report`) in a study's [report] table: <c>layout = "paper"</c>
/// asks for it, and the grids named fig1-tied, fig1-iid, fig2-tied, fig2-iid, control-faithful, control-m-lt-n,
/// control-relu, control-faults (and optionally fig2-tied-pl, fig2-tied-flow) hold its runs (docs/studies.md).
/// </summary>
internal sealed record ReportLayout(string Layout, int[] SlopeDepths, int[] DistanceDepths, int[] CoefficientSteps, int Seeds, bool Fashion, string[] Notes)
{
    public static readonly string[] Keys = { "layout", "slope_depths", "distance_depths", "coefficient_steps", "seeds", "fashion", "notes" };

    /// <summary>The layout of a [report] table, or null when it has no layout key (the study's own page).</summary>
    public static ReportLayout? Parse(TomlTable t, Func<string, string> where)
    {
        if (!t.TryGetValue("layout", out var lv)) return null;
        if (lv is not "paper") throw new StudyException($"{where("report.layout")}: the only layout is \"paper\" (the page of `resode report`)");
        int[] Ints(string k)
        {
            if (t.TryGetValue(k, out var v) && v is TomlArray a && a.Count > 0 && a.All(x => x is long l && l >= 0 && l <= int.MaxValue))
                return a.Select(x => (int)(long)x!).ToArray();
            throw new StudyException($"{where("report." + k)}: give a non-empty list of non-negative integers");
        }
        int seeds = t.TryGetValue("seeds", out var sv) ? sv is long sl && sl >= 1 && sl <= 1000 ? (int)sl : throw new StudyException($"{where("report.seeds")}: an integer from 1 to 1000") : 1;
        bool fashion = t.TryGetValue("fashion", out var fv) ? fv is bool fb ? fb : throw new StudyException($"{where("report.fashion")}: true or false") : false;
        string[] notes = t.TryGetValue("notes", out var nv) ? nv is TomlArray na && na.All(x => x is string) ? na.Cast<string>().ToArray() : throw new StudyException($"{where("report.notes")}: a list of strings") : Array.Empty<string>();
        return new ReportLayout("paper", Ints("slope_depths"), Ints("distance_depths"), Ints("coefficient_steps"), seeds, fashion, notes);
    }
}

/// <summary>A ladder to evaluate: the cells of one grid that differ only in depth.</summary>
internal sealed record LadderSpec(string Grid);

/// <summary>
/// A study: named grids of `resode train` settings (lists expand to a product, seeds as a range),
/// the ladders and results to evaluate, and the report to produce. Read from TOML (docs/studies.md).
/// </summary>
internal sealed class Study
{
    public required string Name { get; init; }
    public required string Title { get; init; }
    public required string Text { get; init; }
    /// <summary>The folder the study's relative data paths were read against (the study file's, or the working directory for a
    /// built-in study): recorded beside the output's copy of the study (<see cref="StudyOutput.BaseFile"/>), so that the copy
    /// finds the same files wherever it is read (merge, status, the array tasks).</summary>
    public string BaseDir { get; init; } = "";
    public required List<Cell> Cells { get; init; }
    public required List<string> GridNames { get; init; }
    public required List<LadderSpec> Ladders { get; init; }
    /// <summary>The page of `resode report` (figures 1 and 2, bounds, controls) when the study asks for it (<c>[report] layout = "paper"</c>).</summary>
    public ReportLayout? Layout { get; init; }
        /// <summary>Result ids or id prefixes the report shows (empty: all).</summary>
    public required List<string> Results { get; init; }
    public string EngineVersion => EngineInfo.Version;

    /// <summary>SHA-256 of the study text: shards check they run the same study.</summary>
    public string TextHash => Hex(SHA256.HashData(Encoding.UTF8.GetBytes(Text)))[..16];

    /// <summary>Whether the report shows a result: an id listed (a former id, e.g. G.B.bound, stands for its current one,
    /// Registry.formerIds), or an id under a listed prefix.</summary>
    public bool ShowsResult(string id) => Results.Count == 0 || Results.Any(r => Registry.chooses(r, id));

    /// <summary>Options of `resode train` that a study may not set (the sweep chooses them).</summary>
    private static readonly HashSet<string> Reserved = new() { "out", "force", "help" };

    /// <summary>Options of `resode train` that are flags (true/false in the study).</summary>
    internal static readonly HashSet<string> FlagOptions = new() { "float32" };

    /// <summary>Options whose value is a file: the cell hash covers the file's content, and relative paths are resolved from the study file's folder.</summary>
    internal static readonly HashSet<string> FileOptions = new() { "x", "y", "a", "b", "w0", "v0" };

    private static readonly Lazy<Dictionary<string, System.CommandLine.Option>> TrainOptions = new(() =>
        TrainCommand.Build().Options.Where(o => o.Name.StartsWith("--", StringComparison.Ordinal))
            .ToDictionary(o => o.Name[2..], o => o));

    public static Study Load(string path)
    {
        if (Directory.Exists(path)) throw new StudyException($"{path}: is a directory, not a study file (a study is one TOML file: `resode sweep show quick` prints one)");
        if (!File.Exists(path)) throw new StudyException($"{path}: no such study file (write an example with `resode sweep init {path}`)");
        string folder = Path.GetDirectoryName(Path.GetFullPath(path))!;
        // a study output's own copy reads its data paths against the folder of the study it was made from
        return Parse(File.ReadAllText(path), StudyOutput.RecordedBase(path) ?? folder, path);
    }

    /// <summary>
    /// A study given on the command line: an existing file, else the built-in study of that name
    /// (<see cref="BuiltinStudies"/>; its relative data paths, if any, are read from the working directory).
    /// </summary>
    public static Study Resolve(string pathOrName)
    {
        if (File.Exists(pathOrName) || Directory.Exists(pathOrName)) return Load(pathOrName);
        if (BuiltinStudies.Text(pathOrName) is { } text) return Parse(text, Directory.GetCurrentDirectory(), $"built-in study {pathOrName}");
        throw new StudyException($"{pathOrName}: no such study file and no built-in study of that name (built-in: {BuiltinStudies.List()}; write an example with `resode sweep init {pathOrName}`)");
    }

    /// <summary>
    /// Why train would refuse the cell for the size of one array (null when none is too large): the largest array does not
    /// depend on the machine, unlike the memory a cell needs (which a larger node may have, so it is left to the cell), and
    /// L·m·d = 10¹⁸ read as a valid setting ran the cell only to fail it (exit 3, "the tool failed") for a bad setting.
    /// An MLP whose sizes come from data files (--x, --a, --w0) is sized by the files, checked when the cell reads them.
    /// </summary>
    private static string? ArrayTooLarge(System.CommandLine.ParseResult pr, string arch)
    {
        try
        {
            var spec = TrainCommand.SpecOf(pr);
            if (spec.SpelledWV)
            {
                if (pr.GetValue<string?>("--x") is not null || pr.GetValue<string?>("--a") is not null || pr.GetValue<string?>("--w0") is not null) return null;
                var shape = spec.Shape;
                shape.Validate();
                bool flow = string.Equals(pr.GetValue<string>("--optimizer"), "gf", StringComparison.OrdinalIgnoreCase);
                var (_, largest) = ResOdeProofs.Numerics.Training.MemoryEstimate.Mlp(shape, spec.Samples, spec.Options(), flow);
                ResOdeProofs.Numerics.Training.MemoryEstimate.Require(0, largest,
                    $"training L = {shape.Depth}, m = {shape.Width}, d = {shape.Dim}, n = {spec.Samples}", "reduce depth, width, n or snapshots, or set checkpoint");
            }
            else
            {
                int snapshots = ResOdeProofs.Numerics.Training.Trainer.SnapshotPlan(spec.Options()).Length;
                long largest = ResOdeProofs.Numerics.Training.MemoryEstimate.BlockLargest(spec.Depth, spec.Block().ParameterCount, snapshots);
                ResOdeProofs.Numerics.Training.MemoryEstimate.Require(0, largest,
                    $"training arch {arch} with L = {spec.Depth} and {snapshots} snapshots", "reduce depth, the block's sizes or snapshots");
            }
            return null;
        }
        catch (ArgumentException e) { return e.Message; }
    }

    public static Study Parse(string text, string baseDir, string label)
    {
        // Reading into a TomlTable keeps the last of a key given twice (and lets a [table] header or a dotted key replace a
        // key already defined) without a word; the syntax parser's validation reports each such redefinition, so the text
        // is validated first and a key given twice is refused, naming the key and where, not silently overwritten.
        var syntax = Tomlyn.Parsing.SyntaxParser.Parse(text, label, validate: true);
        if (syntax.Diagnostics.FirstOrDefault(d => d.Kind == Tomlyn.Syntax.DiagnosticMessageKind.Error) is { } bad)
            throw new StudyException($"{label}: not valid TOML: line {bad.Span.Start.Line + 1}: {bad.Message}");
        TomlTable root;
        try { root = TomlSerializer.Deserialize<TomlTable>(text) ?? throw new StudyException($"{label}: empty study"); }
        catch (TomlException e) { throw new StudyException($"{label}: not valid TOML: {e.Message.Split('\n')[0]}"); }
        string Where(string key) => $"{label}: {key}";

        foreach (var key in root.Keys)
            if (key is not ("name" or "title" or "defaults" or "grid" or "ladder" or "report" or "overrides"))
                throw new StudyException($"{Where(key)}: unknown key; a study has name, title, [defaults], [grid.NAME], [overrides], [[ladder]] and [report]");
        string name = root.TryGetValue("name", out var nm) && nm is string s && s.Length > 0 ? s : throw new StudyException($"{Where("name")}: give the study a name (a string)");
        string title = root.TryGetValue("title", out var tt) && tt is string t2 ? t2 : name;

        var defaults = root.TryGetValue("defaults", out var dv) ? dv as TomlTable ?? throw new StudyException($"{Where("defaults")}: must be a table [defaults]") : new TomlTable();
        var overrides = root.TryGetValue("overrides", out var ovr) ? ovr as TomlTable ?? throw new StudyException($"{Where("overrides")}: must be a table [overrides]") : new TomlTable();
        if (!root.TryGetValue("grid", out var gv) || gv is not TomlTable grids || grids.Count == 0)
            throw new StudyException($"{Where("grid")}: a study needs at least one grid, e.g. [grid.tied] with depth = [4, 8]");

        var byHash = new Dictionary<string, (List<string> Grids, string Name, List<KeyValuePair<string, string>> Settings, int Order)>();
        var order = new List<string>();
        var gridNames = new List<string>();
        foreach (var (gname, gobj) in grids)
        {
            if (gobj is not TomlTable gt) throw new StudyException($"{Where("grid." + gname)}: must be a table [grid.{gname}]");
            gridNames.Add(gname);
            var axes = new SortedDictionary<string, List<string>>(StringComparer.Ordinal);
            foreach (var (k, v) in defaults) axes[k] = Values(k, v, $"defaults.{k}", baseDir, label);
            foreach (var (k, v) in gt) axes[k] = Values(k, v, $"grid.{gname}.{k}", baseDir, label);
            foreach (var (k, v) in overrides) axes[k] = Values(k, v, $"overrides.{k}", baseDir, label);
            var varying = axes.Where(a => a.Value.Count > 1).Select(a => a.Key).ToList();
            // the grid's size before it is expanded: a product of long lists is refused, not built
            double gridCells = axes.Values.Aggregate(1.0, (acc, v) => acc * Math.Max(1, v.Count));
            if (gridCells > MaxCells)
                throw new StudyException($"{Where("grid." + gname)}: {gridCells:G4} cells (the product of its lists' lengths); a study holds at most {MaxCells:N0}: split it into several studies");
            foreach (var combo in Product(axes.ToList()))
            {
                string hash = CellHash(combo, baseDir);
                if (byHash.TryGetValue(hash, out var existing)) { if (!existing.Grids.Contains(gname)) existing.Grids.Add(gname); continue; }
                string cname = gname + (varying.Count == 0 ? "" : "[" + string.Join(",", varying.Select(k => $"{k}={combo.First(c => c.Key == k).Value}")) + "]");
                byHash[hash] = (new List<string> { gname }, cname, combo, order.Count);
                order.Add(hash);
            }
        }
        var cells = order.Select((h, i) => new Cell(i, h, byHash[h].Grids, byHash[h].Name, byHash[h].Settings)).ToList();
        // every cell's setting as train checks it (sizes, scales, step, snapshots, options the architecture does not read),
        // so that a bad cell fails the study before any cell runs, not at its turn (a bn-conv cell as its trainer checks it: TrainBnConv.Setting)
        var train = TrainCommand.Build();   // one parser for every cell (building it is the costly part)
        foreach (var c in cells)
        {
            var pr = train.Parse(c.TrainArguments());
            if (pr.Errors.Count > 0) throw new StudyException($"{label}: cell {c.Name}: {pr.Errors[0].Message}");
            string arch = pr.GetValue<string>("--arch")!;
            if (string.Equals(arch, "bn-conv", StringComparison.OrdinalIgnoreCase))
            {
                if (TrainBnConv.RefuseSetting(pr) is string refusal) throw new StudyException($"{label}: cell {c.Name}: {refusal}");
                continue;
            }
            if (TrainBnConv.RefuseForOtherArch(pr, arch) is string bnConvOnly) throw new StudyException($"{label}: cell {c.Name}: {bnConvOnly}");
            try { TrainCommand.SpecOf(pr).Validate(); }
            catch (ArgumentException e) { throw new StudyException($"{label}: cell {c.Name}: {e.Message}"); }
            if (TrainBlock.RefuseHyper(pr, arch) is string notRead) throw new StudyException($"{label}: cell {c.Name}: {notRead}");
            if (ArrayTooLarge(pr, arch) is string tooLarge) throw new StudyException($"{label}: cell {c.Name}: {tooLarge}");
        }

        var ladders = new List<LadderSpec>();
        if (root.TryGetValue("ladder", out var lv))
        {
            if (lv is not TomlTableArray la) throw new StudyException($"{Where("ladder")}: write ladders as [[ladder]] tables with grid = \"NAME\"");
            foreach (var l in la)
            {
                foreach (var k in l.Keys)
                    if (k is not ("grid" or "over")) throw new StudyException($"{Where("ladder." + k)}: unknown key; a ladder has grid and over");
                string g = l.TryGetValue("grid", out var gg) && gg is string gs ? gs : throw new StudyException($"{Where("ladder")}: each [[ladder]] needs grid = \"NAME\"");
                if (!gridNames.Contains(g)) throw new StudyException($"{Where("ladder")}: no grid named '{g}' (grids: {string.Join(", ", gridNames)})");
                if (l.TryGetValue("over", out var ov) && !Equals(ov, "depth")) throw new StudyException($"{Where("ladder.over")}: ladders run over depth only (over = \"depth\")");
                ladders.Add(new LadderSpec(g));
            }
        }

        var results = new List<string>();
        ReportLayout? layout = null;
        if (root.TryGetValue("report", out var rv))
        {
            if (rv is not TomlTable rt) throw new StudyException($"{Where("report")}: must be a table [report]");
            foreach (var (k, v) in rt)
            {
                if (k == "title" && v is string rtitle) title = rtitle;
                else if (k == "results" && v is TomlArray ra && ra.All(x => x is string)) results.AddRange(ra.Cast<string>());
                else if (ReportLayout.Keys.Contains(k)) continue;
                else throw new StudyException($"{Where("report." + k)}: [report] has title (a string), results (a list of result ids, or prefixes ending in '.' such as \"A.\") and the keys of the paper's page ({string.Join(", ", ReportLayout.Keys)}; docs/studies.md)");
            }
            layout = ReportLayout.Parse(rt, Where);
            // a pattern that chooses no result hides every row it was meant to show: a typo, refused as verify --only refuses it
            var unknown = Registry.unknownPatterns(Microsoft.FSharp.Collections.ListModule.OfSeq(results));
            if (!unknown.IsEmpty)
                throw new StudyException($"{Where("report.results")}: {string.Join(", ", unknown.Select(u => $"'{u}'"))} chooses no result (the ids of docs/theorems/index.md, or prefixes ending in '.' such as \"A.\")");
        }
        return new Study { Name = name, Title = title, Text = text, BaseDir = baseDir, Cells = cells, GridNames = gridNames, Ladders = ladders, Results = results, Layout = layout };
    }

    /// <summary>The values of one setting: a scalar is one value, a list several; seed may be a range "A..B" (inclusive).</summary>
    private static List<string> Values(string key, object? v, string where, string baseDir, string label)
    {
        if (Reserved.Contains(key)) throw new StudyException($"{label}: {where}: --{key} is chosen by the sweep (each cell writes its own run directory)");
        if (!TrainOptions.Value.TryGetValue(key, out var opt))
            throw new StudyException($"{label}: {where}: `resode train` has no option --{key} (see `resode train --help`)");
        var raw = v is TomlArray arr ? arr.ToList() : new List<object?> { v };
        if (raw.Count == 0) throw new StudyException($"{label}: {where}: an empty list gives no cells");
        var list = new List<string>();
        foreach (var x in raw)
        {
            if (key == "seed" && x is string range && range.Contains(".."))
            {
                var parts = range.Split("..");
                if (parts.Length != 2 || !long.TryParse(parts[0], NumberStyles.Integer, CultureInfo.InvariantCulture, out long a)
                    || !long.TryParse(parts[1], NumberStyles.Integer, CultureInfo.InvariantCulture, out long b) || b < a)
                    throw new StudyException($"{label}: {where}: a seed range is \"FIRST..LAST\" with FIRST ≤ LAST (both included), e.g. \"0..4\"");
                // a well-formed range of more seeds than a study holds cells is too long, not malformed (it was told the
                // FIRST ≤ LAST it met); counted in 128 bits, as b − a of two longs can wrap
                Int128 seeds = (Int128)b - a + 1;
                if (seeds > MaxCells)
                    throw new StudyException($"{label}: {where}: the range \"{range}\" is {seeds:N0} seeds, one cell each; a study holds at most {MaxCells:N0} cells: split it into several studies");
                for (long s = a; s <= b; s++) list.Add(s.ToString(CultureInfo.InvariantCulture));
                continue;
            }
            string value = x switch
            {
                string s => s,
                long l => l.ToString(CultureInfo.InvariantCulture),
                int i => i.ToString(CultureInfo.InvariantCulture),
                double d => d.ToString("R", CultureInfo.InvariantCulture),
                bool bo => bo ? "true" : "false",
                _ => throw new StudyException($"{label}: {where}: expected a number, a string, true/false or a list of them"),
            };
            if (x is bool != FlagOptions.Contains(key))
                throw new StudyException($"{label}: {where}: --{key} {(FlagOptions.Contains(key) ? "is a flag: write true or false" : "takes a value, not true/false")}");
            if (FileOptions.Contains(key)) value = Path.GetFullPath(Path.Combine(baseDir, value));
            list.Add(value);
        }
        // A float for an integer option (depth = 4.0) is refused as train would refuse 4.0 on its command line (the TOML
        // value is a float; its text "4" would pass the parser), and a value given twice in one list is a typo, not a cell.
        {
            var type = Nullable.GetUnderlyingType(opt.ValueType) ?? opt.ValueType;
            bool integral = type == typeof(int) || type == typeof(long);
            foreach (var x in raw)
                if (integral && x is double d)
                    throw new StudyException(d == Math.Floor(d) && Math.Abs(d) < 1e15
                        ? $"{label}: {where}: --{key} takes an integer: write {d.ToString("0", CultureInfo.InvariantCulture)}, not {d.ToString("0.0", CultureInfo.InvariantCulture)} (TOML reads a number with a point as a float)"
                        : $"{label}: {where}: --{key} takes an integer, not {d.ToString("R", CultureInfo.InvariantCulture)}");
        }
        if (list.GroupBy(v => v, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1) is { } twice)
            throw new StudyException($"{label}: {where}: {twice.Key} is given twice: each value of a list is one cell");
        // Check every value with train's own parser, so that a typo fails before any cell runs.
        foreach (var value in list)
        {
            if (FlagOptions.Contains(key)) continue;
            var probe = TrainCommand.Build().Parse(new[] { "--" + key, value });
            if (probe.Errors.Count > 0) throw new StudyException($"{label}: {where}: '{value}' is not a valid --{key}: {probe.Errors[0].Message}");
        }
        return list;
    }

    /// <summary>Cells one grid may expand to (a study of more is split by its user: each cell is a training and a verification).</summary>
    internal const int MaxCells = 100_000;

    private static IEnumerable<List<KeyValuePair<string, string>>> Product(List<KeyValuePair<string, List<string>>> axes)
    {
        IEnumerable<List<KeyValuePair<string, string>>> acc = new[] { new List<KeyValuePair<string, string>>() };
        foreach (var (k, vals) in axes)
            acc = acc.SelectMany(prefix => vals.Select(v => new List<KeyValuePair<string, string>>(prefix) { new(k, v) }));
        return acc;
    }

    /// <summary>
    /// Which engine computed a cell, as it enters the cell hash: "commit:SHA" for a build from a clean checkout;
    /// for a build with uncommitted changes ("SHA+dirty") or without git ("unknown") the commit does not say what
    /// was built, so the identity is "content:H" with H the SHA-256 of the tool's own assemblies (the command, the
    /// engine and the theory layer; .NET builds are deterministic, so the same sources give the same H), and any
    /// rebuild that changes them makes new cells instead of mixing results of two different programs.
    /// </summary>
    public static string EngineIdentity => EngineIdentityValue.Value;

    private static readonly Lazy<string> EngineIdentityValue = new(() =>
    {
        string c = EngineInfo.Commit;
        if (c != "unknown" && !c.EndsWith("+dirty", StringComparison.Ordinal)) return "commit:" + c;
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var asm in new[] { typeof(Study).Assembly, typeof(EngineInfo).Assembly, typeof(Theory.Registry).Assembly })
        {
            var bytes = string.IsNullOrEmpty(asm.Location) ? Encoding.UTF8.GetBytes(asm.FullName ?? "") : File.ReadAllBytes(asm.Location);
            sha.AppendData(SHA256.HashData(bytes));
        }
        return "content:" + Hex(sha.GetHashAndReset())[..16];
    });

    /// <summary>
    /// The cell's directory name: SHA-256 over the engine version and identity (<see cref="EngineIdentity"/>) and the sorted settings, with each
    /// data file replaced by the hash of its content (so a moved file is the same cell, an edited one a new cell).
    /// </summary>
    private static string CellHash(List<KeyValuePair<string, string>> settings, string baseDir)
    {
        var o = new JsonObject { ["engine"] = EngineInfo.Version, ["build"] = EngineIdentity };
        var s = new JsonObject();
        foreach (var (k, v) in settings.OrderBy(kv => kv.Key, StringComparer.Ordinal))
            s[k] = FileOptions.Contains(k) ? "sha256:" + FileHash(v) : v;
        CheckDataShapes(settings);
        o["settings"] = s;
        return Hex(SHA256.HashData(Encoding.UTF8.GetBytes(o.ToJsonString())))[..16];
    }

    /// <summary>
    /// What train's reader requires of a cell's data files and can be told from their headers alone: floating-point arrays,
    /// x and y of rank 2 with as many rows (samples) each; refused when the study is read, not by every cell (a user test:
    /// x of 17 rows against y of 16 failed each cell, and merge advised --retry-failed).
    /// </summary>
    private static void CheckDataShapes(List<KeyValuePair<string, string>> settings)
    {
        var files = settings.Where(kv => FileOptions.Contains(kv.Key)).ToDictionary(kv => kv.Key, kv => kv.Value);
        var shapes = new Dictionary<string, int[]>();
        foreach (var (k, path) in files)
        {
            var (shape, dtype) = Numerics.IO.Npy.Inspect(path);
            if (!Numerics.IO.Npy.IsFloatDType(dtype))
                throw new StudyException($"{path} ({k}): dtype '{dtype}' is an integer type; data files hold floating-point numbers ('<f8' or '<f4')");
            shapes[k] = shape;
        }
        foreach (var k in new[] { "x", "y" })
            if (shapes.TryGetValue(k, out var sh) && sh.Length != 2)
                throw new StudyException($"{files[k]} ({k}): shape ({string.Join(", ", sh)}) has rank {sh.Length}; {k} is an (n, {(k == "x" ? "d_in" : "d_out")}) array");
        if (shapes.TryGetValue("x", out var x) && shapes.TryGetValue("y", out var y) && x[0] != y[0])
            throw new StudyException($"{files["x"]} holds {x[0]} inputs but {files["y"]} {y[0]} targets: x and y need one row per sample each");
    }

    private static string FileHash(string path)
    {
        if (!File.Exists(path)) throw new StudyException($"{path}: no such data file (paths in a study are relative to the study file's folder)");
        // the header and size as train's reader checks them, so that a file that is not an array fails the study, not every cell
        try { Numerics.IO.Npy.Inspect(path); }
        catch (Numerics.IO.NpyFormatException e) { throw new StudyException(e.Message); }
        using var f = File.OpenRead(path);
        return Hex(SHA256.HashData(f));
    }

    internal static string Hex(byte[] b) => Convert.ToHexString(b).ToLowerInvariant();

    /// <summary>The cell description written to cell.json.</summary>
    public JsonObject CellJson(Cell c) => new()
    {
        ["format"] = "resode-cell/1",
        ["study"] = Name,
        ["hash"] = c.Hash,
        ["index"] = c.Index,
        ["name"] = c.Name,
        ["grids"] = new JsonArray(c.Grids.Select(g => (JsonNode?)JsonValue.Create(g)).ToArray()),
        ["engine_version"] = EngineVersion,
        ["engine_commit"] = EngineInfo.Commit,
        ["engine_identity"] = EngineIdentity,
        ["settings"] = SettingsJson(c),
        ["train_arguments"] = new JsonArray(c.TrainArguments().Select(a => (JsonNode?)JsonValue.Create(a)).ToArray()),
    };

    public static JsonObject SettingsJson(Cell c)
    {
        var s = new JsonObject();
        foreach (var (k, v) in c.Settings) s[k] = v;
        return s;
    }

    internal static readonly JsonSerializerOptions Indented = new() { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
}
