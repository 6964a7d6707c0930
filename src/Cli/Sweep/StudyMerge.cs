using System.Globalization;
using System.Net;
using System.Reflection;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.FSharp.Collections;
using ResOdeProofs.Cli.Report;
using ResOdeProofs.Numerics.IO;
using ResOdeProofs.Theory;

namespace ResOdeProofs.Cli.Sweep;

/// <summary>
/// `resode sweep merge`: gathers the finished cells of a study output (their verdicts.json), evaluates the
/// study's ladders on the finished runs, and finds missing and failed cells; <see cref="ReportWriter.WriteStudy"/>
/// writes the report.
/// </summary>
internal static class StudyMerge
{
    /// <summary>The format of the study reports of earlier versions (a merge replaces such a report too).</summary>
    public const string OldReportFormat = "resode-study-report/1";

    internal sealed record CellResult(Cell Cell, CellState State, string? Reason, List<Registry.VerdictRow> Rows, double Seconds);
    internal sealed record LadderResult(string Grid, string Fixed, List<int> Depths, List<string> Hashes, string Status, List<Registry.VerdictRow> Rows);
    internal sealed record Merged(Study Study, List<CellResult> Cells, List<LadderResult> Ladders, int StrayCells, List<string> Commits)
    {
        public IEnumerable<Registry.VerdictRow> Shown =>
            Cells.SelectMany(c => c.Rows).Concat(Ladders.SelectMany(l => l.Rows)).Where(r => Study.ShowsResult(r.Id));
        public IEnumerable<CellResult> Missing => Cells.Where(c => c.State is CellState.Missing or CellState.Running);
        public IEnumerable<CellResult> Failed => Cells.Where(c => c.State == CellState.Failed);
        /// <summary>The study output's directory (a cell's run is Root/cells/HASH/run).</summary>
        public string Root { get; init; } = "";
    }

    /// <summary>
    /// Reads every cell of the study from the output directory and evaluates the ladders (unless <paramref name="evaluateLadders"/>
    /// is false: the report's page evaluates its own ladders, so it skips the study's).
    /// </summary>
    public static Merged Gather(Study study, StudyOutput output, bool evaluateLadders = true)
    {
        // One engine per report: cells written by another engine version are refused, not mixed in.
        var present = output.PresentCells();
        var expected = study.Cells.Select(c => c.Hash).ToHashSet();
        // a cell of this study whose cell.json gives no engine version as a string is that cell's problem (listed as failed
        // below, CellJsonProblem), not another engine's; a cell of other settings without one is of an unknown engine
        var engines = present.Where(kv => EngineVersionOf(kv.Value) is not null || !expected.Contains(kv.Key))
            .Select(kv => EngineVersionOf(kv.Value) ?? "unknown").Distinct().Order(StringComparer.Ordinal).ToList();
        var foreign = engines.Where(e => e != study.EngineVersion).ToList();
        if (foreign.Count > 0)
            throw new StudyException(
                $"{output.CellsDir} holds cells of engine version{(foreign.Count > 1 ? "s" : "")} {string.Join(", ", foreign)} besides this engine's {study.EngineVersion}: " +
                $"a report never mixes engine versions; merge with the engine that ran them, or run the study into a new --out");
        int stray = present.Keys.Count(h => !expected.Contains(h));

        var cells = new List<CellResult>();
        foreach (var c in study.Cells)
        {
            var state = output.State(c.Hash);
            var status = output.Status(c.Hash);
            // a cell's files are read as written by its worker; a value of another type is that cell's problem, not the merge's
            double secs = status?["seconds"] is JsonValue sv && sv.TryGetValue(out double sd) ? sd : 0;
            // a done status without the run's verdicts (State calls that cell failed): said as such
            bool doneWithout = state == CellState.Failed && StudyOutput.TextOf(status?["status"]) == "done";
            string? reason = doneWithout ? "status done but run/verdicts.json is missing (run the study again with --retry-failed)"
                             : StudyOutput.TextOf(status?["reason"])
                             ?? (state == CellState.Running ? $"running ({output.ClaimHolder(c.Hash)})"
                                 : state == CellState.Failed ? $"status.json says \"{StudyOutput.TextOf(status?["status"]) ?? status?["status"]?.ToJsonString()}\" without a reason" : null);
            var rows = new List<Registry.VerdictRow>();
            if (state == CellState.Done && CellJsonProblem(Path.Combine(output.CellDir(c), "cell.json"), c) is string problem)
            {
                state = CellState.Failed;
                reason = $"{problem}: its run is not known to be this cell's setting; move {output.CellDir(c)} away and run the study again";
            }
            if (state == CellState.Done)
            {
                string vpath = Path.Combine(output.CellDir(c), "run", "verdicts.json");
                if (!File.Exists(vpath)) { state = CellState.Failed; reason = "status done but run/verdicts.json is missing"; }
                else if (ReadVerdicts(vpath) is not JsonObject v) { state = CellState.Failed; reason = $"run/verdicts.json is not a verdicts file (not a JSON object with results): verify {Path.Combine(output.CellDir(c), "run")} again"; }
                else
                {
                    string? ev = StudyOutput.TextOf(v["engine_version"]);
                    if (ev is not null && ev != study.EngineVersion)
                        throw new StudyException($"{vpath}: verdicts of engine version {ev}, not {study.EngineVersion}: a report never mixes engine versions");
                    string input = $"cells/{c.Hash}/run";
                    if (ev is null) { state = CellState.Failed; reason = "run/verdicts.json records no engine version (as a string): verify the cell's run again"; }
                    // a verify of some results only (`verify --only`, run by hand on the cell's run) replaced the cell's
                    // own verdicts: the cell holds no whole verification, so it is not taken as done
                    else if (v["selection"] is JsonArray sel)
                    {
                        state = CellState.Failed;
                        reason = $"run/verdicts.json holds only the results of `verify --only {string.Join(",", sel.Select(x => x is JsonValue jv && jv.TryGetValue(out string? t) ? t : x?.ToJsonString()))}`: verify that run again without --only (resode verify {Path.Combine(output.CellDir(c), "run")}) for its whole verification";
                    }
                    else if (v["results"] is not JsonArray results) { state = CellState.Failed; reason = "run/verdicts.json has no results list: verify the cell's run again"; }
                    else
                    {
                        try { rows.AddRange(results.Select(r => RowFromJson(r!, input))); }
                        catch (Exception e) when (e is InvalidOperationException or FormatException or NullReferenceException or System.Text.Json.JsonException)
                        {
                            rows.Clear(); state = CellState.Failed; reason = $"run/verdicts.json cannot be read ({e.Message}): verify the cell's run again";
                        }
                    }
                }
            }
            // the run itself is read as the ladders and the report's page will read it: a run directory that cannot be read
            // (a run.json edited by hand, a truncated .npy) fails its cell here, not the whole merge later
            if (state == CellState.Done && RunProblem(Path.Combine(output.CellDir(c), "run")) is string runProblem)
            {
                rows.Clear(); state = CellState.Failed;
                reason = $"its run cannot be read ({runProblem}): move {output.CellDir(c)} away and run the study again";
            }
            // the verdicts are evidence only of the bytes they were reached on: the file as verify wrote it (its seal), and the
            // run beside it as verify read it (run_sha256)
            if (state == CellState.Done && VerdictsProblem(Path.Combine(output.CellDir(c), "run")) is string verdictsProblem)
            {
                rows.Clear(); state = CellState.Failed;
                reason = verdictsProblem;
            }
            cells.Add(new CellResult(c, state, reason, rows, secs));
        }

        var ladders = new List<LadderResult>();
        foreach (var spec in evaluateLadders ? study.Ladders : new List<LadderSpec>())
        {
            var members = cells.Where(x => x.Cell.Grids.Contains(spec.Grid));
            foreach (var group in members.GroupBy(x => string.Join(" ", x.Cell.Settings.Where(kv => kv.Key != "depth").Select(kv => $"{kv.Key}={kv.Value}"))))
            {
                var list = group.OrderBy(x => int.Parse(x.Cell.Get("depth") ?? "64", CultureInfo.InvariantCulture)).ToList();
                if (list.Count < 2) continue;
                var depths = list.Select(x => int.Parse(x.Cell.Get("depth") ?? "64", CultureInfo.InvariantCulture)).ToList();
                var hashes = list.Select(x => x.Cell.Hash).ToList();
                if (list.Any(x => x.State != CellState.Done))
                {
                    ladders.Add(new LadderResult(spec.Grid, group.Key, depths, hashes, "incomplete: " + string.Join(", ", list.Where(x => x.State != CellState.Done).Select(x => x.Cell.Name)) + " not finished", new()));
                    continue;
                }
                var dirs = list.Select(x => Path.Combine(output.CellDir(x.Cell), "run")).ToList();
                var (status, rows) = EvaluateLadder(dirs);
                ladders.Add(new LadderResult(spec.Grid, group.Key, depths, hashes, status, rows.Select(r => Relative(r, output.Root)).ToList()));
            }
        }
        // The engine version is part of every cell's hash; the commit the engine was built from is recorded in run.json.
        // Cells of one version but different commits are merged (the version is the engine's promise of equal numbers)
        // and the commits are listed, so that a reader sees it.
        var commits = cells.Where(x => x.State == CellState.Done)
            .Select(x => Path.Combine(output.CellDir(x.Cell), "run", "run.json")).Where(File.Exists)
            .Select(EngineCommitOf)
            .Distinct().Order(StringComparer.Ordinal).ToList();
        return new Merged(study, cells, ladders, stray, commits) { Root = output.Root };
    }

    /// <summary>
    /// Why a cell's verdicts.json does not describe the run beside it, with what to do, or null when it does: its text no longer
    /// matches its content_sha256 seal (edited since verify wrote it), it records no run_sha256 (a resode before 2026-12-06),
    /// or the run's run.json or .npy files are no longer those it records (<see cref="RunDirectory.ContentDigest"/>).
    /// </summary>
    internal static string? VerdictsProblem(string runDir)
    {
        string path = Path.Combine(runDir, "verdicts.json");
        string text;
        try { text = File.ReadAllText(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return $"run/verdicts.json cannot be read ({e.Message})"; }
        if (!ResOdeProofs.Numerics.IO.OutputClaim.SealHolds(text))
            return $"run/verdicts.json no longer matches its {ResOdeProofs.Numerics.IO.OutputClaim.VerdictsSealField} seal (edited since verify wrote it): move it away and verify the run again (resode verify {runDir})";
        string? recorded = null;
        try { recorded = StudyOutput.TextOf(JsonNode.Parse(text)?["run_sha256"]); }
        catch (System.Text.Json.JsonException) { }
        if (recorded is null)
            return $"run/verdicts.json records no run_sha256 (written by a resode before 2026-12-06), so it is not known to describe the run beside it: verify the run again (resode verify {runDir})";
        if (recorded != RunDirectory.ContentDigest(runDir))
            return $"the run's run.json or .npy files changed since its verdicts.json was written (their SHA-256 is not the one it records): verify the run again (resode verify {runDir}), or move the cell away and run the study again";
        return null;
    }

    /// <summary>Why a cell's run directory cannot be read as a run (the reader's message), or null when it can.</summary>
    private static string? RunProblem(string dir)
    {
        try
        {
            if (ResOdeProofs.Numerics.BnConv.BnConvRun.IsRun(dir)) ResOdeProofs.Numerics.BnConv.BnConvRun.Load(dir);
            else RunDirectory.Read(dir);
            return null;
        }
        catch (Exception e) when (e is RunFormatException or NpyFormatException or IOException or UnauthorizedAccessException or System.Text.Json.JsonException)
        {
            return e.Message;
        }
    }

    private static (string Status, List<Registry.VerdictRow> Rows) EvaluateLadder(List<string> dirs)
    {
        var ladder = Registry.verifyLadderOf(ListModule.OfSeq(dirs.Select(Registry.loadRun)));
        return ladder.IsOk ? ("evaluated", ladder.ResultValue.ToList()) : ("not a ladder: " + ladder.ErrorValue.Item1, new());
    }

    /// <summary>Paths inside the output directory are written relative to it, so that two copies of a study merge to the same report.</summary>
    private static Registry.VerdictRow Relative(Registry.VerdictRow r, string root)
    {
        string p = root.TrimEnd(Path.DirectorySeparatorChar) + Path.DirectorySeparatorChar;
        return MakeRow(prop => prop.Name switch
        {
            nameof(Registry.VerdictRow.Input) => r.Input.Replace(p, ""),
            nameof(Registry.VerdictRow.Detail) => r.Detail.Replace(p, ""),
            _ => prop.GetValue(r),
        });
    }

    /// <summary>
    /// The number o[key] of verdicts.json: a JSON number, or null meaning NaN, or null with o[key_inf] = ±1 meaning ±∞
    /// (resode-verdicts/2 and /3; the "inf"/"-inf" strings of resode-verdicts/1 are still read).
    /// </summary>
    private static double Num(JsonObject o, string key) => o[key] switch
    {
        null => o[key + "_inf"] is JsonValue f && f.TryGetValue<int>(out int sign) ? (sign > 0 ? double.PositiveInfinity : double.NegativeInfinity) : double.NaN,
        JsonValue v when v.TryGetValue<double>(out var d) => d,
        JsonValue v when v.TryGetValue<string>(out var s) => s == "inf" ? double.PositiveInfinity : s == "-inf" ? double.NegativeInfinity : double.NaN,
        _ => double.NaN,
    };

    /// <summary>
    /// A verdict row read back from verdicts.json (the inverse of <see cref="Registry.rowJson"/>). Every field of the
    /// record is read from its snake_case key (TightnessMinAt from "tightness_min_at"), so that fields added to the
    /// row later are carried through without a change here; a key that is absent reads as "", NaN or an empty list.
    /// </summary>
    internal static Registry.VerdictRow RowFromJson(JsonNode r, string input) => MakeRow(prop =>
    {
        if (prop.Name == nameof(Registry.VerdictRow.Input)) return input;
        var node = r[SnakeCase(prop.Name)];
        var t = prop.PropertyType;
        if (t == typeof(string)) return node?.GetValue<string>() ?? "";
        if (t == typeof(double)) return Num(r.AsObject(), SnakeCase(prop.Name));
        if (t == typeof(bool)) return node?.GetValue<bool>() ?? false;
        if (t == typeof(FSharpList<Tuple<string, bool, string>>))
            return ListModule.OfSeq((node as JsonArray ?? new JsonArray()).Select(h => Tuple.Create(h!["name"]!.GetValue<string>(), h["met"]!.GetValue<bool>(), h["detail"]?.GetValue<string>() ?? "")));
        if (t == typeof(FSharpList<Tuple<string, double>>))
        {
            var cs = node as JsonObject ?? new JsonObject();
            // a key k_inf next to k is the infinity flag of k, not a constant of its own
            return ListModule.OfSeq(cs.Where(kv => !(kv.Key.EndsWith("_inf", StringComparison.Ordinal) && cs.ContainsKey(kv.Key[..^4])))
                .Select(kv => Tuple.Create(kv.Key, Num(cs, kv.Key))));
        }
        if (t == typeof(FSharpList<string>))
            return ListModule.OfSeq((node as JsonArray ?? new JsonArray()).Select(n => n!.GetValue<string>()));
        if (t == typeof(FSharpList<SeriesPoint>))
            return ListModule.OfSeq((node as JsonArray ?? new JsonArray()).Select(p => new SeriesPoint(
                p!["when"]?.GetValue<string>() ?? "", p["where"]?.GetValue<string>() ?? "", Num(p.AsObject(), "measured"), Num(p.AsObject(), "bound"),
                p["count"]?.GetValue<int>() ?? 1)));
        throw new StudyException($"verdicts.json: cannot read the field {prop.Name} of type {t.Name}");
    });

    private static readonly ConstructorInfo RowConstructor =
        typeof(Registry.VerdictRow).GetConstructors().OrderByDescending(c => c.GetParameters().Length).First();

    /// <summary>Builds a row field by field (the record's constructor takes its fields in order).</summary>
    private static Registry.VerdictRow MakeRow(Func<PropertyInfo, object?> field) =>
        (Registry.VerdictRow)RowConstructor.Invoke(RowConstructor.GetParameters()
            .Select(p => field(typeof(Registry.VerdictRow).GetProperty(p.Name!, BindingFlags.Public | BindingFlags.Instance | BindingFlags.IgnoreCase)
                               ?? throw new InvalidOperationException($"VerdictRow has no property for constructor parameter {p.Name}")))
            .ToArray());

    private static string SnakeCase(string pascal) =>
        string.Concat(pascal.Select((ch, i) => char.IsUpper(ch) ? (i > 0 ? "_" : "") + char.ToLowerInvariant(ch) : ch.ToString()));

    /// <summary>The engine commit a cell's run.json records, "unknown" when it records none or cannot be read (the run's
    /// own checks are verify's; here the commit only labels the page).</summary>
    private static string EngineCommitOf(string runJson)
    {
        try { return StudyOutput.TextOf(JsonNode.Parse(File.ReadAllText(runJson))?["engine_commit"]) ?? "unknown"; }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Text.Json.JsonException) { return "unknown"; }
    }

    /// <summary>The engine version a cell.json records, or null when it records none as a string.</summary>
    private static string? EngineVersionOf(JsonObject cell) =>
        cell["engine_version"] is JsonValue v && v.TryGetValue(out string? s) ? s : null;

    /// <summary>
    /// Why a finished cell's cell.json (at <paramref name="path"/>) does not describe <paramref name="c"/>, or null when it does.
    /// The cell's run was trained with the arguments its cell.json holds (`sweep exec-cell` reads them), so a cell.json that
    /// cannot be read, is not a cell description (resode-cell/1 with its hash, engine version, settings and train arguments),
    /// or is another cell's (another hash, other settings or arguments) leaves the run's setting unknown, and the run is not
    /// merged under the study's setting. The values of data-file options are not compared: the study's copy in the output
    /// resolves their paths from there, and the cell hash already covers the files' content. The name, index and grids may
    /// differ (an edited study keeps the cells of unchanged settings).
    /// </summary>
    internal static string? CellJsonProblem(string path, Cell c)
    {
        if (!File.Exists(path)) return "cell.json is missing";
        JsonObject? o;
        try { o = JsonNode.Parse(File.ReadAllText(path)) as JsonObject; }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return $"cell.json cannot be read ({e.Message})"; }
        catch (System.Text.Json.JsonException) { o = null; }
        static string? Text(JsonNode? n) => n is JsonValue v && v.TryGetValue(out string? s) ? s : null;
        static List<string>? Texts(JsonNode? n) => n is JsonArray a && a.All(x => Text(x) is not null) ? a.Select(x => Text(x)!).ToList() : null;
        if (o is null || Text(o["format"]) != "resode-cell/1" || Text(o["hash"]) is not string hash || EngineVersionOf(o) is null
            || o["settings"] is not JsonObject settings || Texts(o["train_arguments"]) is not List<string> args)
            return "cell.json is not a cell description (a JSON object of format resode-cell/1 with hash, engine_version, settings and train_arguments)";
        if (hash != c.Hash) return $"cell.json describes cell {hash}, not {c.Hash}";
        bool Same(string key, string? got, string want) => got == want || (Study.FileOptions.Contains(key) && got is not null);
        var differs = c.Settings.Where(kv => !Same(kv.Key, Text(settings[kv.Key]), kv.Value)).Select(kv => kv.Key)
            .Concat(settings.Select(kv => kv.Key).Where(k => c.Get(k) is null)).Order(StringComparer.Ordinal).ToList();
        if (differs.Count > 0) return $"cell.json's settings differ from the study's for this cell (in {string.Join(", ", differs)})";
        var want = c.TrainArguments();
        // an argument that follows a data-file option is that file's path
        bool SameArgs() => args.Count == want.Count && args.Select((a, i) => a == want[i]
            || (i > 0 && want[i - 1].StartsWith("--", StringComparison.Ordinal) && Study.FileOptions.Contains(want[i - 1][2..]) && args[i - 1] == want[i - 1])).All(x => x);
        if (!SameArgs()) return "cell.json's train arguments are not the study's for this cell";
        return null;
    }

    /// <summary>A cell's verdicts.json as a JSON object, or null when it is not JSON (a broken or foreign file).</summary>
    private static JsonObject? ReadVerdicts(string path)
    {
        try { return JsonNode.Parse(File.ReadAllText(path)) as JsonObject; }
        catch (System.Text.Json.JsonException) { return null; }
    }
}
