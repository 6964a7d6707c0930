using System.Globalization;
using System.Text.Json.Nodes;
using ResOdeProofs.Cli.Sweep;
using ResOdeProofs.Numerics;
using ResOdeProofs.Theory;
using static ResOdeProofs.Cli.Report.ReportJson;

namespace ResOdeProofs.Cli.Report;

/// <summary>
/// The report of a study (`resode sweep merge`): the report's own page — headline box, contents, the summary
/// per result, verdicts coloured and linked to their pages, loose bounds flagged, every row in a collapsed
/// appendix, the same results.json conventions (resode-report/3, <c>"kind": "study"</c>) — over the study's
/// finished cells and ladders, with the cells, ladders, missing and failed cells by name and setting.
/// </summary>
internal static partial class ReportWriter
{
    /// <summary>Writes results.json, report.md, index.html and docs/theorems/ of a merged study into <paramref name="dir"/>.</summary>
    public static void WriteStudy(StudyMerge.Merged m, string dir, double seconds, ReportOptions? options = null)
    {
        var o = options ?? new ReportOptions();
        var docs = new ReportDocs(o.DocsBase);
        docs.Write(dir);
        var blocks = StudyBlocks(m, seconds, docs);
        blocks.InsertRange(blocks.FindIndex(x => x is Heading { Id: "cells" }), BnConvBlocks(m, dir, docs));
        File.WriteAllText(Path.Combine(dir, "results.json"), StudyJson(m, seconds, o));
        File.WriteAllText(Path.Combine(dir, "report.md"), RenderMarkdown(blocks));
        File.WriteAllText(Path.Combine(dir, "index.html"), RenderHtml(blocks, m.Study.Title, Path.Combine(dir, "figures")));
    }

    private static string State(StudyMerge.CellResult c) => c.State.ToString().ToLowerInvariant();
    private static string I(int x) => x.ToString(CultureInfo.InvariantCulture);

    private static List<Block> StudyBlocks(StudyMerge.Merged m, double seconds, ReportDocs docs)
    {
        var s = m.Study;
        var shown = m.Shown.ToList();
        var sum = Summarize(shown);
        int done = m.Cells.Count(c => c.State == CellState.Done), failed = m.Failed.Count(), missing = m.Missing.Count();
        int Count(string k) => shown.Count(r => VerdictKey(r.Verdict) == k);
        var b = new List<Block>
        {
            new Heading(1, s.Title),
            new Para(F($"Study {s.Name} (study file hash {s.TextHash}), engine {s.EngineVersion} built from {(m.Commits.Count == 0 ? "-" : string.Join(", ", m.Commits))}; merged {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC in {seconds:F1} s on {Machine()}. ") +
                     "Paper: Marion, Wu, Sander, Biau, ICLR 2024 (arXiv:2309.01213). Every number below is in results.json (format: docs/report-format.md); each cell's run is under cells/<hash>/run and can be checked again with `resode verify`. Each verdict links to the page of its result."),
        };
        var inner = new List<Block>
        {
            new Heading(2, "At a glance", "at-a-glance"),
            new Para($"{shown.Count} verdict rows over {done} finished cells and {m.Ladders.Count(l => l.Status == "evaluated")} ladders: {Count("holds")} hold, {Count("violated")} violated, {Count("hypothesis_not_met")} hypothesis not met, {Count("not_applicable")} not applicable" +
                     (Count("error") > 0 ? $", {Count("error")} error" : "") + "."),
            new Table(new[] { "cells", "finished", "failed", "missing", "results", "holds", "violated", "error", "not checked" }, new List<Cell[]>
            {
                new Cell[]
                {
                    I(m.Cells.Count), new(I(done), Tone: done == m.Cells.Count ? "holds" : null),
                    new(I(failed), Tone: failed > 0 ? "error" : null), new(I(missing), Tone: missing > 0 ? "hypothesis_not_met" : null),
                    I(sum.Count), new(I(sum.Count(r => r.Status == "holds")), Tone: "holds"),
                    new(I(sum.Count(r => r.Status == "violated")), Tone: sum.Any(r => r.Status == "violated") ? "violated" : null),
                    new(I(sum.Count(r => r.Status == "error")), Tone: sum.Any(r => r.Status == "error") ? "error" : null),
                    new(I(sum.Count(r => r.Status == "not_checked")), Tone: sum.Any(r => r.Status == "not_checked") ? "hypothesis_not_met" : null),
                },
            }),
        };
        inner.AddRange(LooseAndNotChecked(sum, docs));
        b.Add(new Box("headline", inner));
        b.Add(new Contents());
        b.Add(new Heading(2, "Results over the cells", "summary"));
        if (sum.Count == 0) b.Add(new Para("No verdict rows: no cell has finished yet, or the study's [report] results select none."));
        else
        {
            b.Add(new Para($"One line per result over every finished cell and ladder{(s.Results.Count == 0 ? "" : $" (the study shows {string.Join(", ", s.Results)})")}: its status with the count of rows in each verdict, the tightness (bound / measured; for a lower bound measured / bound, ≥ 1 when it holds) over the rows that hold: the largest first (the loosest comparison, the bound's worst case, flagged above {LooseFactor:G}×), the median of the rows' loosest, the smallest (the tightest, nearest to failing), and the worst row (the loosest comparison, or the violated row)."));
            b.Add(SummaryTable(sum, docs));
        }
        b.Add(new Heading(2, "Cells", "cells"));
        b.Add(new Para("One row per cell, in the order of the expansion (shard I of N runs the cells whose index ≡ I mod N)."));
        b.Add(new Table(new[] { "index", "cell", "hash", "status", "hold", "violated", "other (not met, n.a., error)", "seconds" },
            m.Cells.Select(c => new Cell[]
            {
                I(c.Cell.Index), c.Cell.Name, c.Cell.Hash,
                new(State(c) + (c.State == CellState.Done ? "" : $" ({c.Reason})"), Tone: c.State switch { CellState.Done => c.Rows.Any(r => r.IsViolated) ? "violated" : "holds", CellState.Failed => "error", _ => "hypothesis_not_met" }),
                I(c.Rows.Count(r => r.Verdict == "holds")), I(c.Rows.Count(r => r.IsViolated)), I(c.Rows.Count(r => r.Verdict != "holds" && !r.IsViolated)), F($"{c.Seconds:F1}"),
            }).ToList()));
        if (m.Ladders.Count > 0)
        {
            b.Add(new Heading(2, "Ladders", "ladders"));
            b.Add(new Para("Cells of one grid that differ only in depth, evaluated together by the rate results."));
            b.Add(new Table(new[] { "grid", "fixed settings", "depths", "status", "hold", "violated" },
                m.Ladders.Select(l => new Cell[] { l.Grid, l.Fixed, string.Join(", ", l.Depths), l.Status, I(l.Rows.Count(r => r.Verdict == "holds")), I(l.Rows.Count(r => r.IsViolated)) }).ToList()));
        }
        var gaps = m.Missing.Concat(m.Failed).OrderBy(c => c.Cell.Index).ToList();
        if (gaps.Count > 0)
        {
            b.Add(new Heading(2, "Missing and failed cells", "missing"));
            b.Add(new Para("Not in this report. Run `resode sweep run` again to fill the missing ones (finished cells are skipped), add `--retry-failed` for the failed ones; each failed cell keeps its log.txt and status.json."));
            b.Add(new Table(new[] { "cell", "hash", "state", "settings", "reason" },
                gaps.Select(c => new Cell[] { c.Cell.Name, c.Cell.Hash, new(State(c), Tone: c.State == CellState.Failed ? "error" : "hypothesis_not_met"), c.Cell.DescribeSettings(), c.Reason ?? "not run yet" }).ToList()));
        }
        if (shown.Count > 0)
        {
            b.Add(new Heading(2, "Appendix: all verdict rows", "appendix"));
            b.Add(new Collapsed($"Show all {shown.Count} verdict rows", new List<Block> { new Table(RowHeader, shown.Select(r => RowCells(r, docs)).ToList()) }));
        }
        return b;
    }

    /// <summary>
    /// results.json of a study. Nothing in it depends on which machine ran which cell or when the merge ran, except
    /// the keys ending in "seconds": two runs of a study, in one process or in shards, give the same file apart from those.
    /// </summary>
    private static string StudyJson(StudyMerge.Merged m, double seconds, ReportOptions o)
    {
        var s = m.Study;
        var shown = m.Shown.ToList();
        var sum = Summarize(shown);
        JsonObject CellRef(StudyMerge.CellResult c) => new()
        {
            ["index"] = c.Cell.Index, ["hash"] = c.Cell.Hash, ["name"] = c.Cell.Name, ["settings"] = Study.SettingsJson(c.Cell),
        };
        var counts = new JsonObject();
        foreach (var k in new[] { "holds", "violated", "hypothesis_not_met", "not_applicable", "error" })
            counts[k] = shown.Count(r => VerdictKey(r.Verdict) == k);
        var root = new JsonObject
        {
            ["format"] = "resode-report/3",
            ["kind"] = "study",
            ["engine_version"] = EngineInfo.Version,
            ["engine_identity"] = Study.EngineIdentity,
            ["engine_commits"] = Strings(m.Commits),
            ["command_line"] = o.CommandLine,
            ["study"] = new JsonObject
            {
                ["name"] = s.Name, ["title"] = s.Title, ["study_hash"] = s.TextHash, ["results_shown"] = Strings(s.Results),
            },
            ["headline"] = new JsonObject
            {
                ["verdict_rows"] = shown.Count, ["verdict_counts"] = counts, ["results"] = sum.Count,
                ["results_by_status"] = new JsonObject(sum.GroupBy(r => r.Status).OrderBy(g => g.Key, StringComparer.Ordinal)
                    .Select(g => KeyValuePair.Create(g.Key, (JsonNode?)JsonValue.Create(g.Count())))),
                ["not_checked"] = Strings(sum.Where(r => r.Status == "not_checked").Select(r => r.Id)),
                ["loose"] = Strings(sum.Where(r => r.Loose).Select(r => r.Id)),
            },
            ["counts"] = new JsonObject
            {
                ["cells"] = m.Cells.Count, ["done"] = m.Cells.Count(c => c.State == CellState.Done), ["failed"] = m.Failed.Count(),
                ["missing"] = m.Missing.Count(), ["violated_rows"] = shown.Count(r => r.IsViolated), ["rows"] = shown.Count,
                ["cells_of_other_settings"] = m.StrayCells,
            },
            ["summary"] = new JsonArray(sum.Select(r => (JsonNode?)SummaryJson(r)).ToArray()),
            ["cells"] = new JsonArray(m.Cells.Select(c =>
            {
                var x = CellRef(c);
                x["grids"] = Strings(c.Cell.Grids);
                x["status"] = State(c);
                if (c.State != CellState.Done && c.Reason is not null) x["reason"] = c.Reason;
                x["verdicts"] = Rows(c.Rows.Where(r => s.ShowsResult(r.Id)));
                x.Put("seconds", c.Seconds);
                return (JsonNode?)x;
            }).ToArray()),
            ["ladders"] = new JsonArray(m.Ladders.Select(l => (JsonNode?)new JsonObject
            {
                ["grid"] = l.Grid, ["fixed_settings"] = l.Fixed, ["depths"] = Ints(l.Depths), ["cells"] = Strings(l.Hashes), ["status"] = l.Status,
                ["verdicts"] = Rows(l.Rows.Where(r => s.ShowsResult(r.Id))),
            }).ToArray()),
            ["missing"] = new JsonArray(m.Missing.Select(c => { var x = CellRef(c); if (c.Reason is not null) x["reason"] = c.Reason; return (JsonNode?)x; }).ToArray()),
            ["failed"] = new JsonArray(m.Failed.Select(c => { var x = CellRef(c); x["reason"] = c.Reason; x["log"] = $"cells/{c.Cell.Hash}/log.txt"; return (JsonNode?)x; }).ToArray()),
            ["timings_seconds"] = Numbers(("merge", seconds), ("cells_total", m.Cells.Sum(c => c.Seconds))),
        };
        return root.ToJsonString(Options);
    }
}
