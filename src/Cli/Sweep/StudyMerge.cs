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
/// `resode sweep merge`: gathers the finished cells of a study output into one report — index.html,
/// report.md and results.json, aggregated with the report's own summary (<see cref="ReportWriter.Summarize"/>) —
/// evaluates the study's ladders on the finished runs, and lists missing and failed cells by name and setting.
/// </summary>
internal static class StudyMerge
{
    public const string ReportFormat = "resode-study-report/1";

    internal sealed record CellResult(Cell Cell, CellState State, string? Reason, List<Registry.VerdictRow> Rows, double Seconds);
    internal sealed record LadderResult(string Grid, string Fixed, List<int> Depths, List<string> Hashes, string Status, List<Registry.VerdictRow> Rows);
    internal sealed record Merged(Study Study, List<CellResult> Cells, List<LadderResult> Ladders, int StrayCells, List<string> Commits)
    {
        public IEnumerable<Registry.VerdictRow> Shown =>
            Cells.SelectMany(c => c.Rows).Concat(Ladders.SelectMany(l => l.Rows)).Where(r => Study.ShowsResult(r.Id));
        public IEnumerable<CellResult> Missing => Cells.Where(c => c.State is CellState.Missing or CellState.Running);
        public IEnumerable<CellResult> Failed => Cells.Where(c => c.State == CellState.Failed);
    }

    /// <summary>Reads every cell of the study from the output directory and evaluates the ladders.</summary>
    public static Merged Gather(Study study, StudyOutput output)
    {
        // One engine per report: cells written by another engine version are refused, not mixed in.
        var present = output.PresentCells();
        var engines = present.Values.Select(o => o["engine_version"]?.GetValue<string>() ?? "unknown").Distinct().Order(StringComparer.Ordinal).ToList();
        var foreign = engines.Where(e => e != study.EngineVersion).ToList();
        if (foreign.Count > 0)
            throw new StudyException(
                $"{output.CellsDir} holds cells of engine version{(foreign.Count > 1 ? "s" : "")} {string.Join(", ", foreign)} besides this engine's {study.EngineVersion}: " +
                $"a report never mixes engine versions; merge with the engine that ran them, or run the study into a new --out");
        var expected = study.Cells.Select(c => c.Hash).ToHashSet();
        int stray = present.Keys.Count(h => !expected.Contains(h));

        var cells = new List<CellResult>();
        foreach (var c in study.Cells)
        {
            var state = output.State(c.Hash);
            var status = output.Status(c.Hash);
            double secs = status?["seconds"]?.GetValue<double>() ?? 0;
            string? reason = status?["reason"]?.GetValue<string>() ?? (state == CellState.Running ? $"running ({output.ClaimHolder(c.Hash)})" : null);
            var rows = new List<Registry.VerdictRow>();
            if (state == CellState.Done)
            {
                string vpath = Path.Combine(output.CellDir(c), "run", "verdicts.json");
                if (!File.Exists(vpath)) { state = CellState.Failed; reason = "status done but run/verdicts.json is missing"; }
                else
                {
                    var v = JsonNode.Parse(File.ReadAllText(vpath))!;
                    string ev = v["engine_version"]?.GetValue<string>() ?? "unknown";
                    if (ev != study.EngineVersion)
                        throw new StudyException($"{vpath}: verdicts of engine version {ev}, not {study.EngineVersion}: a report never mixes engine versions");
                    string input = $"cells/{c.Hash}/run";
                    rows.AddRange(v["results"]!.AsArray().Select(r => RowFromJson(r!, input)));
                }
            }
            cells.Add(new CellResult(c, state, reason, rows, secs));
        }

        var ladders = new List<LadderResult>();
        foreach (var spec in study.Ladders)
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
            .Select(p => JsonNode.Parse(File.ReadAllText(p))?["engine_commit"]?.GetValue<string>() ?? "unknown")
            .Distinct().Order(StringComparer.Ordinal).ToList();
        return new Merged(study, cells, ladders, stray, commits);
    }

    private static (string Status, List<Registry.VerdictRow> Rows) EvaluateLadder(List<string> dirs)
    {
        if (dirs.All(BlockRunDirectory.IsBlockRun))
        {
            var runs = dirs.Select(Registry.loadBlockRun).ToList();
            var l = GenericResults.BlockLadderModule.create(ListModule.OfSeq(runs));
            return l.IsOk ? ("evaluated", Registry.verifyBlockLadder(l.ResultValue).ToList()) : ("not a ladder: " + l.ErrorValue, new());
        }
        var mlp = dirs.Select(Run.Load).ToList();
        var ladder = LadderModule.create(ListModule.OfSeq(mlp));
        return ladder.IsOk ? ("evaluated", Registry.verifyLadder(ladder.ResultValue).ToList()) : ("not a ladder: " + ladder.ErrorValue, new());
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

    private static double Num(JsonNode? n) => n switch
    {
        null => double.NaN,
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
        if (t == typeof(double)) return Num(node);
        if (t == typeof(bool)) return node?.GetValue<bool>() ?? false;
        if (t == typeof(FSharpList<Tuple<string, bool, string>>))
            return ListModule.OfSeq((node as JsonArray ?? new JsonArray()).Select(h => Tuple.Create(h!["name"]!.GetValue<string>(), h["met"]!.GetValue<bool>(), h["detail"]?.GetValue<string>() ?? "")));
        if (t == typeof(FSharpList<Tuple<string, double>>))
            return ListModule.OfSeq((node as JsonObject ?? new JsonObject()).Select(kv => Tuple.Create(kv.Key, Num(kv.Value))));
        if (t == typeof(FSharpList<string>))
            return ListModule.OfSeq((node as JsonArray ?? new JsonArray()).Select(n => n!.GetValue<string>()));
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

    // ------------------------------------------------------------------ output

    private static string N(double x) => VerifyCommand.Num(x);

    /// <summary>The worst verdict of a result over rows: violated, then error, hypothesis not met, not applicable, holds.</summary>
    private static string Worst(IEnumerable<Registry.VerdictRow> rows, string id) =>
        rows.Where(r => r.Id == id).Select(r => r.Verdict)
            .OrderByDescending(v => v switch { "VIOLATED" => 4, "error" => 3, "hypothesis not met" => 2, "not applicable" => 1, _ => 0 })
            .FirstOrDefault() ?? "-";
    private static string F(FormattableString f) => f.ToString(CultureInfo.InvariantCulture);

    private static JsonArray Rows(IEnumerable<Registry.VerdictRow> rows) => new(rows.Select(r => (JsonNode?)Registry.rowJson(r)).ToArray());
    private static JsonNode? JNum(double x) => double.IsFinite(x) ? JsonValue.Create(x) : null;

    public static string Json(Merged m, double seconds)
    {
        var s = m.Study;
        JsonObject CellRef(CellResult c) => new()
        {
            ["index"] = c.Cell.Index, ["hash"] = c.Cell.Hash, ["name"] = c.Cell.Name, ["settings"] = Study.SettingsJson(c.Cell),
        };
        var root = new JsonObject
        {
            ["format"] = ReportFormat,
            ["study"] = s.Name, ["title"] = s.Title, ["engine_version"] = s.EngineVersion, ["engine_commits"] = new JsonArray(m.Commits.Select(x => (JsonNode?)JsonValue.Create(x)).ToArray()), ["study_hash"] = s.TextHash,
            ["results_shown"] = new JsonArray(s.Results.Select(r => (JsonNode?)JsonValue.Create(r)).ToArray()),
            ["counts"] = new JsonObject
            {
                ["cells"] = m.Cells.Count, ["done"] = m.Cells.Count(c => c.State == CellState.Done), ["failed"] = m.Failed.Count(),
                ["missing"] = m.Missing.Count(), ["violated_rows"] = m.Shown.Count(r => r.IsViolated), ["rows"] = m.Shown.Count(),
                ["cells_of_other_settings"] = m.StrayCells,
            },
            ["summary"] = new JsonArray(ReportWriter.Summarize(m.Shown).Select(r => (JsonNode?)new JsonObject
            {
                ["id"] = r.Id, ["title"] = r.Title, ["worst_verdict"] = Worst(m.Shown, r.Id), ["measured"] = JNum(r.Measured), ["bound"] = JNum(r.Bound),
                ["min_tightness"] = JNum(r.MinTightness), ["median_tightness"] = JNum(r.MedianTightness), ["rows"] = r.Rows, ["holds"] = r.Holds,
            }).ToArray()),
            ["cells"] = new JsonArray(m.Cells.Select(c =>
            {
                var o = CellRef(c);
                o["grids"] = new JsonArray(c.Cell.Grids.Select(g => (JsonNode?)JsonValue.Create(g)).ToArray());
                o["status"] = c.State.ToString().ToLowerInvariant();
                if (c.State != CellState.Done && c.Reason is not null) o["reason"] = c.Reason;
                o["verdicts"] = Rows(c.Rows.Where(r => s.ShowsResult(r.Id)));
                o["seconds"] = c.Seconds;
                return (JsonNode?)o;
            }).ToArray()),
            ["ladders"] = new JsonArray(m.Ladders.Select(l => (JsonNode?)new JsonObject
            {
                ["grid"] = l.Grid, ["fixed_settings"] = l.Fixed, ["depths"] = new JsonArray(l.Depths.Select(d => (JsonNode?)JsonValue.Create(d)).ToArray()),
                ["cells"] = new JsonArray(l.Hashes.Select(h => (JsonNode?)JsonValue.Create(h)).ToArray()), ["status"] = l.Status,
                ["verdicts"] = Rows(l.Rows.Where(r => s.ShowsResult(r.Id))),
            }).ToArray()),
            ["missing"] = new JsonArray(m.Missing.Select(c => { var o = CellRef(c); if (c.Reason is not null) o["reason"] = c.Reason; return (JsonNode?)o; }).ToArray()),
            ["failed"] = new JsonArray(m.Failed.Select(c => { var o = CellRef(c); o["reason"] = c.Reason; o["log"] = $"cells/{c.Cell.Hash}/log.txt"; return (JsonNode?)o; }).ToArray()),
            ["timings"] = new JsonObject { ["merge_seconds"] = seconds, ["cell_seconds_total"] = m.Cells.Sum(c => c.Seconds) },
        };
        return root.ToJsonString(Study.Indented);
    }

    private sealed record Table(string Title, string Intro, string[] Header, List<string[]> Rows);

    private static (string Headline, List<Table> Tables) Document(Merged m, double seconds)
    {
        var s = m.Study;
        var shown = m.Shown.ToList();
        int done = m.Cells.Count(c => c.State == CellState.Done);
        string headline = F($"Study {s.Name}: {m.Cells.Count} cells, {done} finished, {m.Failed.Count()} failed, {m.Missing.Count()} missing; ") +
                          F($"{shown.Count} verdict rows, {shown.Count(r => r.IsViolated)} violated, {shown.Count(r => r.Verdict == "holds")} hold. ") +
                          F($"Engine {s.EngineVersion} (built from {(m.Commits.Count == 0 ? "-" : string.Join(", ", m.Commits))}); merged {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC in {seconds:F1} s on {ReportWriter.Machine()}. ") +
                          "Paper: Marion, Wu, Sander, Biau, ICLR 2024 (arXiv:2309.01213). Every number is in results.json; each cell's run is under cells/<hash>/run.";
        var tables = new List<Table>
        {
            new("Summary", "Per result over every finished cell and ladder: the worst verdict (with its measured value and bound), the minimum and median tightness (bound / measured) over the rows that hold.",
                new[] { "result", "title", "worst verdict", "measured", "bound", "tightness min", "tightness median", "rows (hold)" },
                ReportWriter.Summarize(shown).Select(r => new[] { r.Id, r.Title, Worst(shown, r.Id), N(r.Measured), N(r.Bound), N(r.MinTightness), N(r.MedianTightness), $"{r.Rows} ({r.Holds})" }).ToList()),
            new("Cells", "One row per cell, in the order of the expansion (shard I of N runs the cells whose index ≡ I mod N).",
                new[] { "index", "cell", "hash", "status", "hold", "violated", "other (not met, n.a., error)", "seconds" },
                m.Cells.Select(c => new[]
                {
                    c.Cell.Index.ToString(CultureInfo.InvariantCulture), c.Cell.Name, c.Cell.Hash, c.State.ToString().ToLowerInvariant() + (c.State == CellState.Done ? "" : $" ({c.Reason})"),
                    c.Rows.Count(r => r.Verdict == "holds").ToString(CultureInfo.InvariantCulture), c.Rows.Count(r => r.IsViolated).ToString(CultureInfo.InvariantCulture),
                    c.Rows.Count(r => r.Verdict != "holds" && !r.IsViolated).ToString(CultureInfo.InvariantCulture), F($"{c.Seconds:F1}"),
                }).ToList()),
        };
        if (m.Ladders.Count > 0)
            tables.Add(new("Ladders", "Cells of one grid that differ only in depth, evaluated together by the rate results.",
                new[] { "grid", "fixed settings", "depths", "status", "hold", "violated" },
                m.Ladders.Select(l => new[] { l.Grid, l.Fixed, string.Join(", ", l.Depths), l.Status, l.Rows.Count(r => r.Verdict == "holds").ToString(CultureInfo.InvariantCulture), l.Rows.Count(r => r.IsViolated).ToString(CultureInfo.InvariantCulture) }).ToList()));
        var gaps = m.Missing.Concat(m.Failed).OrderBy(c => c.Cell.Index).ToList();
        if (gaps.Count > 0)
            tables.Add(new("Missing and failed cells", "Not in this report. Run `resode sweep run` again to fill the missing ones (finished cells are skipped), add `--retry-failed` for the failed ones; each failed cell keeps its log.txt and status.json.",
                new[] { "cell", "hash", "state", "settings", "reason" },
                gaps.Select(c => new[] { c.Cell.Name, c.Cell.Hash, c.State.ToString().ToLowerInvariant(), c.Cell.DescribeSettings(), c.Reason ?? "not run yet" }).ToList()));
        var all = m.Cells.SelectMany(c => c.Rows).Concat(m.Ladders.SelectMany(l => l.Rows)).Where(r => s.ShowsResult(r.Id)).ToList();
        if (all.Count > 0)
            tables.Add(new("All verdict rows", "", new[] { "input", "result", "verdict", "measured", "bound", "tightness", "detail" },
                all.Select(r => new[] { r.Input, r.Id, r.Verdict, N(r.Measured), N(r.Bound), N(r.Tightness), r.Detail }).ToList()));
        return (headline, tables);
    }

    private static string Cell(string s) => s.Replace("|", "\\|").Replace("\n", " ");

    public static string Markdown(Merged m, double seconds)
    {
        var (headline, tables) = Document(m, seconds);
        var sb = new StringBuilder();
        sb.Append("# ").AppendLine(m.Study.Title).AppendLine().AppendLine(headline).AppendLine();
        foreach (var t in tables)
        {
            sb.Append("## ").AppendLine(t.Title).AppendLine();
            if (t.Intro.Length > 0) sb.AppendLine(t.Intro).AppendLine();
            sb.AppendLine("| " + string.Join(" | ", t.Header.Select(Cell)) + " |");
            sb.AppendLine("|" + string.Concat(t.Header.Select(_ => "---|")));
            foreach (var r in t.Rows) sb.AppendLine("| " + string.Join(" | ", r.Select(Cell)) + " |");
            sb.AppendLine();
        }
        return sb.ToString();
    }

    public static string Html(Merged m, double seconds)
    {
        static string E(string s) => WebUtility.HtmlEncode(s);
        var (headline, tables) = Document(m, seconds);
        var sb = new StringBuilder();
        sb.AppendLine($"<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{E(m.Study.Title)}</title><style>");
        sb.AppendLine("body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222;line-height:1.45}" +
                      ".scroll{overflow-x:auto}table{border-collapse:collapse;margin:1em 0;font-size:0.9em}td,th{border:1px solid #ccc;padding:3px 7px;text-align:left;vertical-align:top}" +
                      "th{background:#f0f0f0}h2{border-bottom:1px solid #ddd;padding-bottom:0.2em;margin-top:1.6em}");
        sb.AppendLine("</style></head><body>");
        sb.AppendLine($"<h1>{E(m.Study.Title)}</h1><p>{E(headline)}</p>");
        foreach (var t in tables)
        {
            sb.AppendLine($"<h2>{E(t.Title)}</h2>");
            if (t.Intro.Length > 0) sb.AppendLine($"<p>{E(t.Intro)}</p>");
            sb.Append("<div class=\"scroll\"><table><tr>").Append(string.Concat(t.Header.Select(x => $"<th>{E(x)}</th>"))).AppendLine("</tr>");
            foreach (var r in t.Rows) sb.Append("<tr>").Append(string.Concat(r.Select(x => $"<td>{E(x)}</td>"))).AppendLine("</tr>");
            sb.AppendLine("</table></div>");
        }
        sb.AppendLine("</body></html>");
        return sb.ToString();
    }
}
