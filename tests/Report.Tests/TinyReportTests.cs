using System.Text.Json.Nodes;
using ResOdeProofs.Cli.Report;
using ResOdeProofs.Theory;

namespace ResOdeProofs.Report.Tests;

/// <summary>
/// The experiments only the paper preset runs (the run inside the PL hypotheses, the gradient flow, several
/// seeds) go through the same report code in the built-in study "tiny" (`resode report --preset tiny`: every optional
/// experiment of the paper preset at the smallest sizes), since the paper preset itself takes minutes.
/// </summary>
public sealed class TinyReportTests
{
    [Fact(DisplayName = "report (tiny study): the paper preset's extra experiments → go through the report")]
    public void The_paper_presets_extra_experiments_go_through_the_report()
    {
        string dir = Path.Combine(Path.GetTempPath(), "resode-tiny-report-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        try
        {
            var c = ReportCommand.Generate(ReportSettings.Create("tiny", 0), dir, CancellationToken.None, new ReportOptions(null, "tiny"));
            Assert.NotNull(c.PlRun);
            Assert.NotNull(c.FlowRun);
            Assert.Equal(3, c.Seeds!.Seeds.Length);
            // seed 0 of figure 1 across seeds is measured on the tied ladder's cells: the same numbers as training it again
            var s0 = ReportSettings.Create("tiny", 0);
            var ex = new Experiments(s0, _ => { }, CancellationToken.None, (name, _) => throw new InvalidOperationException(name));
            var trained = ex.SeedSpreadOf(Enumerable.Range(0, 3).Select(ex.RunSeed).ToArray(), 0);
            Assert.Equal(0L, c.Seeds.LadderSeed);
            Assert.Null(trained.LadderSeed);
            // the other seeds' runs were one job each on the lanes, replayed without the observers: the same numbers as one seed
            // after another
            for (int i = 0; i < 3; i++)
            {
                Assert.Equal(trained.MaxSmooth[i], c.Seeds.MaxSmooth[i]);
                Assert.Equal(trained.Distances[i], c.Seeds.Distances[i]);
                Assert.Equal(trained.SmoothSlopes[i], c.Seeds.SmoothSlopes[i]);
                Assert.Equal(trained.DistanceSlopes[i], c.Seeds.DistanceSlopes[i]);
            }
            Assert.Equal(trained.Row!.Verdict, c.Seeds.Row!.Verdict);
            Assert.True(ex.SeedZeroIsLadder(L => s0.Ladder.With(depth: L, init: ResOdeProofs.Numerics.Training.InitKind.Tied)));
            // a rung of another setting (another step) is not seed 0's run: trained again
            Assert.False(ex.SeedZeroIsLadder(L => s0.Ladder.With(depth: L, init: ResOdeProofs.Numerics.Training.InitKind.Tied) with { Eta = 2 * s0.Ladder.Eta }));
            Assert.False(ex.SeedZeroIsLadder(L => L == s0.Ladder.Depth ? null : s0.Ladder.With(depth: L, init: ResOdeProofs.Numerics.Training.InitKind.Tied)));
            // the gradient-flow results are evaluated on the flow run as statements about the flow
            Assert.Contains(c.FlowRun!.Rows, r => r.Id == "C.gfDecay" && r.Verdict != "not applicable");
            Assert.Contains(c.FaithfulRows, r => r.Input == c.PlRun!.Data.Directory);
            var root = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "results.json")))!;
            Assert.NotNull(root["figure2"]!["pl_run"]);
            Assert.NotNull(root["figure2"]!["flow_run"]);
            Assert.Equal(3, root["seeds"]!["smoothness_slopes"]!.AsArray().Count);
            // the slope depths (2, 4, 16) are not the nested ladder (2, 4, 8, 16): figure 1's slope is A.rate's row on them
            var tied = root["figure1"]!["tied"]!;
            var slopeRow = tied["ladder_verdicts"]!.AsArray().Single(r => r!["id"]!.GetValue<string>() == "A.rate" && r["input"]!.GetValue<string>() == "ladder L = 2, 4, 16")!;
            Assert.Contains(tied["ladder_verdicts"]!.AsArray(), r => r!["id"]!.GetValue<string>() == "A.rate" && r["input"]!.GetValue<string>() == "ladder L = 2, 4, 8, 16");
            Assert.Equal(slopeRow["measured"]!.GetValue<double>(), tied["smoothness_fit_log10"]!["slope"]!.GetValue<double>());
            Assert.Equal(3, tied["smoothness_fit_log10"]!["points"]!.GetValue<int>());
            // figure 1 (right) is D.curve's: the distances drawn are its row's constants, on the distance depths (2, 4, 8, 16)
            var curve = tied["ladder_verdicts"]!.AsArray().Single(r => r!["id"]!.GetValue<string>() == "D.curve")!;
            var steps = tied["distance_steps"]!.AsArray();
            int lastStep = steps[steps.Count - 1]!.GetValue<int>(), shallow = tied["distance_depths"]![0]!.GetValue<int>();
            Assert.Equal(curve["constants"]![RateCurve.distanceName("W", shallow, lastStep)]!.GetValue<double>(),
                         tied["distance_w"]![0]!["values"]![steps.Count - 1]!.GetValue<double>());
            // figure 1 across seeds is fig1.seeds': its slopes are the row's constants
            var seedsRow = root["seeds"]!["verdicts"]!.AsArray().Single()!;
            Assert.Equal("fig1.seeds", seedsRow["id"]!.GetValue<string>());
            Assert.Equal(seedsRow["constants"]![RateCurve.seedSlopeName("depth smoothness", 0)]!.GetValue<double>(),
                         root["seeds"]!["smoothness_slopes"]![0]!.GetValue<double>());
            // the comparisons' "checked by" of a row decided by particular verdicts shows those verdicts: the i.i.d. slope is the
            // i.i.d. ladder's A.rate (a negative control, not the tied ladder's), the seeds' mean is fig1.seeds' (not "not
            // evaluated": no faithful run carries it)
            string StatusKey(string verdict) => verdict == "VIOLATED" ? "violated" : verdict.Replace(' ', '_');
            var rowsByKey = root["comparisons"]!.AsArray().SelectMany(f => f!["rows"]!.AsArray()).ToDictionary(r => r!["key"]!.GetValue<string>(), r => r!);
            // (the i.i.d. ladder's A.rate on the slope depths, the row the comparison names: the first A.rate row of that ladder
            // was the nested ladder's, which read the same only while both were violated)
            var iidRate = root["figure1"]!["iid"]!["ladder_verdicts"]!.AsArray().Single(r => r!["id"]!.GetValue<string>() == "A.rate" && r["input"]!.GetValue<string>() == slopeRow["input"]!.GetValue<string>())!;
            string Status(string verdictKey) => verdictKey is "hypothesis_not_met" or "not_applicable" ? "not_checked" : verdictKey;
            Assert.Equal(Status(iidRate["verdict"]!.GetValue<string>().ToLowerInvariant().Replace(' ', '_')),
                         rowsByKey["smoothness_slope_iid"]["checked_by"]![0]!["status"]!.GetValue<string>());
            Assert.Equal(StatusKey(seedsRow["verdict"]!.GetValue<string>()), rowsByKey["smoothness_slope_tied_across_seeds"]["checked_by"]![0]!["status"]!.GetValue<string>());
            var fig2 = root["comparisons"]!.AsArray().First(f => f!["key"]!.GetValue<string>() == "fig2")!;
            Assert.Contains(fig2["rows"]!.AsArray(), r => r!["key"]!.GetValue<string>() == "loss_decay_pl_run");
            foreach (var f in new[] { "fig2-loss", "bounds-a-depth-smoothness", "bounds-c-pl-decay", "fig1-right-distance-w-tied", "fig1-right-distance-v-tied" })
                Assert.True(File.Exists(Path.Combine(dir, "figures", f + ".png")), f + ".png missing");
            Assert.Contains("id=\"headline\"", File.ReadAllText(Path.Combine(dir, "index.html")));
            // every relative link of the pages the report carries resolves to a file it wrote (user test: the proofs' scripts
            // and ../run-format.html were linked and not written)
            foreach (var page in Directory.GetFiles(Path.Combine(dir, "docs"), "*.html", SearchOption.AllDirectories))
                foreach (System.Text.RegularExpressions.Match m in System.Text.RegularExpressions.Regex.Matches(File.ReadAllText(page), "href=\"([^\"#:]+)(#[^\"]*)?\""))
                    Assert.True(File.Exists(Path.GetFullPath(Path.Combine(Path.GetDirectoryName(page)!, System.Net.WebUtility.HtmlDecode(m.Groups[1].Value)))),
                        $"{Path.GetRelativePath(dir, page)} links to {m.Groups[1].Value}, which the report did not write");
            // Dashed lines keep their pattern in the SVG (Skia's SVG canvas drops path effects; Figures.SaveSvgWithDashes
            // restores them): the figure-1 reference line and the Richardson curves are dashed, and no stand-in colour is left.
            foreach (var f in new[] { "fig1-left-smoothness", "fig1-right-distance-tied" })
                Assert.Contains("stroke-dasharray=", File.ReadAllText(Path.Combine(dir, "figures", f + ".svg")));
            foreach (var svg in Directory.GetFiles(Path.Combine(dir, "figures"), "*.svg"))
                Assert.DoesNotMatch("stroke=\"#[0-9A-Fa-f]{2}0307\"", File.ReadAllText(svg));

            // One code path: the report's directory is a study output, and `sweep merge` of its cells writes the same
            // results.json as the report itself, apart from timings and the command line.
            Assert.True(File.Exists(Path.Combine(dir, "study.toml")) && Directory.GetDirectories(Path.Combine(dir, "cells")).Length == 19);
            string merged = dir + "-merged";
            try
            {
                Assert.Equal(0, ResOdeProofs.Cli.ResodeApp.Run(new[] { "sweep", "merge", dir, "--out", merged }));
                Assert.Equal(Untimed(JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "results.json"))))!.ToJsonString(),
                             Untimed(JsonNode.Parse(File.ReadAllText(Path.Combine(merged, "results.json"))))!.ToJsonString());
            }
            finally { if (Directory.Exists(merged)) Directory.Delete(merged, true); }
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact(DisplayName = "figure 1 across seeds: a run at a depth that is not a slope depth → replayed in its own job, as fig1.seeds' descent hypothesis reads its loss")]
    public void A_seed_run_off_the_slope_depths_is_replayed_in_its_job()
    {
        var s = ReportSettings.Create("tiny", 0);
        var ex = new Experiments(s, _ => { }, CancellationToken.None, (name, _) => throw new InvalidOperationException(name));
        int depth = ex.SeedDepths().First(L => !s.SlopeDepths.Contains(L));
        var run = ex.SeedRun(1, depth);
        // replayed by the job (on a lane beside the cells), not later by fig1.seeds on the page's own thread
        Assert.True(run.Replayed);
        Assert.NotNull(run.Trace("loss"));
        // what the hypothesis then reads is that replay's loss: met without replaying again
        Assert.True(Hypotheses.descends.Item2.Invoke(run).IsMet);
    }

    [Fact(DisplayName = "report side jobs: run on the cells' lanes → each limited to a worker's share of the cores, the lanes themselves not")]
    public void Side_jobs_on_the_lanes_see_a_workers_share_of_the_cores()
    {
        string dir = Path.Combine(Path.GetTempPath(), "resode-side-share-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            var study = ReportStudy.Load("tiny", null, null);
            var seen = new System.Collections.Concurrent.ConcurrentBag<int>();
            var jobs = Enumerable.Range(0, 4).Select(i => new ResOdeProofs.Cli.Sweep.SideJob($"probe {i}", 1, () => seen.Add(ResOdeProofs.Numerics.ProcessorBudget.Available))).ToList();
            int lanes = Environment.ProcessorCount;
            ResOdeProofs.Cli.Sweep.CellRunner.Run(study, new ResOdeProofs.Cli.Sweep.StudyOutput(dir), Array.Empty<ResOdeProofs.Cli.Sweep.Cell>(), lanes, retryFailed: false,
                                                  CancellationToken.None, jobs);
            // a lane per core: each side job sees one processor, as each worker does (its DOTNET_PROCESSOR_COUNT)
            Assert.Equal(4, seen.Count);
            Assert.All(seen, x => Assert.Equal(ResOdeProofs.Cli.Sweep.CellWorkers.ProcessorShare(lanes), x));
            Assert.All(seen, x => Assert.Equal(1, x));
            // outside a side job (the page's parts, `sweep merge` running them one after another) nothing is limited
            Assert.Equal(Environment.ProcessorCount, ResOdeProofs.Numerics.ProcessorBudget.Available);
        }
        finally { if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true); }
    }

    [Fact(DisplayName = "verdicts.json: infinite tightness → written as null with a flag, read back as ∞")]
    public void Verdicts_json_writes_infinities_as_null_with_a_flag_and_reads_them_back()
    {
        string dir = Path.Combine(Path.GetTempPath(), "resode-verdicts-inf-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        try
        {
            // a registered result evaluated on nothing gives a real row; its numbers are replaced by infinities
            var row = ResOdeProofs.Cli.Sweep.StudyMerge.RowFromJson(JsonNode.Parse("""
                {"id":"X.test","title":"t","verdict":"holds","measured":1.5,"bound":null,"bound_inf":1,"tightness":null,"tightness_inf":1,
                 "tightness_min":2,"tightness_max":null,"tightness_max_inf":1,"constants":{"C":null,"C_inf":-1,"K":3},"seconds":0.1}
                """)!, "in");
            Assert.True(double.IsPositiveInfinity(row.Bound));
            Assert.Equal(1.5, row.Measured);
            Assert.True(double.IsNaN(StudyMergeConstant(row, "missing")));
            Assert.True(double.IsNegativeInfinity(StudyMergeConstant(row, "C")));
            Assert.Equal(2, row.Constants.Length);
            ResOdeProofs.Theory.Registry.writeVerdicts(dir, Microsoft.FSharp.Collections.ListModule.OfSeq(new[] { row }));
            string text = File.ReadAllText(Path.Combine(dir, "verdicts.json"));
            Assert.DoesNotContain("\"inf\"", text);
            Assert.DoesNotContain("\"-inf\"", text);
            var o = JsonNode.Parse(text)!["results"]![0]!;
            Assert.Null(o["bound"]);
            Assert.Equal(1, o["bound_inf"]!.GetValue<int>());
            Assert.Null(o["constants"]!["C"]);
            Assert.Equal(-1, o["constants"]!["C_inf"]!.GetValue<int>());
            Assert.Equal(3, o["constants"]!["K"]!.GetValue<double>());
            Assert.Null(o["measured_inf"]);
            // and it reads back to the same numbers
            var back = ResOdeProofs.Cli.Sweep.StudyMerge.RowFromJson(o, "in");
            Assert.True(double.IsPositiveInfinity(back.Bound) && double.IsPositiveInfinity(back.TightnessMax) && back.Measured == 1.5);
            Assert.True(double.IsNegativeInfinity(StudyMergeConstant(back, "C")));
        }
        finally { Directory.Delete(dir, true); }
    }

    /// <summary>JSON without timings (keys ending in "seconds" and their _inf flags, "0.02s" durations in text), the creation time and the command line.</summary>
    private static JsonNode? Untimed(JsonNode? n) => n switch
    {
        JsonObject o => new JsonObject(o.Where(kv => !(kv.Key.EndsWith("seconds", StringComparison.Ordinal) || kv.Key.EndsWith("seconds_inf", StringComparison.Ordinal)
                                                       || kv.Key is "created_utc" or "command_line"))
                                        .Select(kv => KeyValuePair.Create(kv.Key, Untimed(kv.Value)))),
        JsonArray a => new JsonArray(a.Select(Untimed).ToArray()),
        null => null,
        JsonValue v when v.TryGetValue<string>(out var text) => JsonValue.Create(System.Text.RegularExpressions.Regex.Replace(text, @"\b\d+(\.\d+)?(e-?\d+)?s\b", "#s")), // "0.02s" durations in notes
        _ => n.DeepClone(),
    };

    private static double StudyMergeConstant(ResOdeProofs.Theory.Registry.VerdictRow r, string name) =>
        r.Constants.Where(c => c.Item1 == name).Select(c => c.Item2).DefaultIfEmpty(double.NaN).First();
}
