using System.Text.Json.Nodes;
using ResOdeProofs.Cli.Report;

namespace ResOdeProofs.Report.Tests;

/// <summary>"Worst case" has one meaning on the page: the bound's loosest comparison, shown first; the tightest (nearest to
/// failing) is shown after it and named as such.</summary>
public sealed class WorstCaseTests
{
    [Fact(DisplayName = "report summary: quick report → the loosest comparison first, the worst row its measured and bound, the tightest named apart")]
    public void The_summary_leads_with_the_loosest()
    {
        string md = File.ReadAllText(Path.Combine(QuickReport.Directory_, "report.md"));
        Assert.Contains("| tightness max (loosest) | tightness median | tightness min (tightest) | worst row (loosest): measured | bound |", md);
        Assert.DoesNotContain("smallest first (the worst case", md);
        var root = JsonNode.Parse(File.ReadAllText(Path.Combine(QuickReport.Directory_, "results.json")))!;
        var faithful = root["figure1"]!["tied"]!["runs"]!.AsArray().SelectMany(r => r!["verdicts"]!.AsArray()).ToList();
        int checkedIds = 0;
        foreach (var s in root["summary"]!.AsArray())
        {
            if (s!["status"]!.GetValue<string>() != "holds" || s["tightness_max"] is null || s["worst_measured"] is null) continue;
            Assert.False(string.IsNullOrEmpty(s["tightness_min_input"]?.GetValue<string>()), s["id"]!.ToString());
            string id = s["id"]!.GetValue<string>();
            double max = s["tightness_max"]!.GetValue<double>();
            // the worst row's pair is the loosest comparison's of the row where the largest tightness was attained
            var at = faithful.FirstOrDefault(r => r!["id"]!.GetValue<string>() == id && r["verdict"]!.GetValue<string>() == "holds"
                && r["tightness_max"]?.GetValue<double>() == max && r["loosest_measured"] is not null);
            if (at is null) continue;
            Assert.Equal(at["loosest_measured"]!.GetValue<double>(), s["worst_measured"]!.GetValue<double>());
            Assert.Equal(at["loosest_bound"]!.GetValue<double>(), s["worst_bound"]!.GetValue<double>());
            checkedIds++;
        }
        Assert.True(checkedIds >= 5, $"{checkedIds} results checked");
        // the architectures' rows: the loosest tightness in the tightness column, beside the loose flag
        string html = File.ReadAllText(Path.Combine(QuickReport.Directory_, "index.html"));
        Assert.Contains("<th>tightness max (loosest)</th>", html);
        Assert.Contains("<th>tightness min (tightest)</th>", html);
    }

    /// <summary>The Results text says what a rate result's measured value is; it once called all five a fitted slope against −1
    /// while B.rate, D.rate and D.curve show an order against 1.</summary>
    [Fact(DisplayName = "report Results text: quick report → each rate result named as a slope against −1 or an order against 1 as its summary's bound says")]
    public void The_rate_sentence_names_what_each_rate_row_measures()
    {
        var root = JsonNode.Parse(File.ReadAllText(Path.Combine(QuickReport.Directory_, "results.json")))!;
        string md = File.ReadAllText(Path.Combine(QuickReport.Directory_, "report.md"));
        int named = 0;
        foreach (var s in root["summary"]!.AsArray())
        {
            string id = s!["id"]!.GetValue<string>();
            if (id is not ("A.rate" or "B.rate" or "D.rate" or "D.curve" or "fig1.seeds") || s["worst_bound"] is null) continue;
            double bound = s["worst_bound"]!.GetValue<double>();
            string group = bound == -1.0 ? "against the claimed −1 (" : bound == 1.0 ? "against the claimed order 1 (" : throw new Xunit.Sdk.XunitException($"{id}: bound {bound}");
            int at = md.IndexOf(group, StringComparison.Ordinal);
            Assert.True(at >= 0, $"{id}: no '{group}' in the text");
            Assert.Contains(id, md[at..md.IndexOf(')', at)]);
            named++;
        }
        Assert.True(named >= 3, $"{named} rate results named");
        Assert.DoesNotContain("(A.rate, B.rate, D.rate, D.curve, fig1.seeds) the measured value is the fitted slope", md);
    }

    /// <summary>A result some of whose rows have an unmet hypothesis still shows the pair of its loosest holding comparison
    /// (until 2026-12-06 the unmet row was taken as the worst and C.mu0, C.plAlongRun, C.gdDecay, C.pathLength showed "-").</summary>
    [Fact(DisplayName = "report summary: PL results holding on one run, not met on the others → the loosest row's measured and bound, lower bounds' tightness defined")]
    public void Pl_results_show_their_worst_row()
    {
        var root = JsonNode.Parse(File.ReadAllText(Path.Combine(QuickReport.Directory_, "results.json")))!;
        var sum = root["summary"]!.AsArray().ToDictionary(s => s!["id"]!.GetValue<string>(), s => s!);
        foreach (var id in new[] { "C.mu0", "C.plAlongRun", "C.gdDecay", "C.pathLength" })
        {
            var s = sum[id];
            Assert.Equal("holds", s["status"]!.GetValue<string>());
            Assert.True(s["counts"]!["hypothesis_not_met"]!.GetValue<int>() > 0, id);
            Assert.True(s["worst_measured"] is not null && s["worst_bound"] is not null, $"{id}: {s}");
            Assert.True(s["tightest_measured"] is not null && s["tightest_bound"] is not null, $"{id}: {s}");
        }
        string md = File.ReadAllText(Path.Combine(QuickReport.Directory_, "report.md"));
        Assert.Contains("for a lower bound measured / bound", md);
        Assert.Contains("for a lower bound, such as C.mu0's or C.plAlongRun's, measured / bound", md);
    }

    /// <summary>A bit-exact replay compares 0 with a 0 allowance: bound / measured is 0/0, printed as a word, not "inf".</summary>
    [Fact(DisplayName = "report tables: E.replay measured 0 against bound 0 → 'exact (0 = 0)', no 'inf' or 'NaN' cell")]
    public void Zero_against_zero_reads_exact()
    {
        const string Exact = "exact (0 = 0)";
        foreach (var file in new[] { "report.md", "index.html" })
        {
            string text = File.ReadAllText(Path.Combine(QuickReport.Directory_, file));
            Assert.DoesNotMatch(@"(\| |<td>)(inf|NaN|-inf)( \||</td>)", text);
            Assert.Contains(Exact, text);
        }
        string md = File.ReadAllText(Path.Combine(QuickReport.Directory_, "report.md"));
        string line = md.Split('\n').First(l => l.StartsWith("| [E.replay]", StringComparison.Ordinal));
        Assert.Contains($"| {Exact} | {Exact} | {Exact} | 0 | 0 |", line);
    }

    /// <summary>fig1.seeds decides figure 1 across seeds: a verdict like the others, counted in the headline, the summary and the appendix.</summary>
    [Fact(DisplayName = "report fig1.seeds: quick report with seeds → counted at a glance, a line of the Results table, a row of the appendix")]
    public void Seeds_verdict_is_counted()
    {
        var root = JsonNode.Parse(File.ReadAllText(Path.Combine(QuickReport.Directory_, "results.json")))!;
        var seedsRow = Assert.Single(root["seeds"]!["verdicts"]!.AsArray());
        Assert.Contains(root["summary"]!.AsArray(), s => s!["id"]!.GetValue<string>() == "fig1.seeds");
        string md = File.ReadAllText(Path.Combine(QuickReport.Directory_, "report.md"));
        Assert.Contains(md.Split('\n'), l => l.StartsWith("| [fig1.seeds]", StringComparison.Ordinal));
        int appendix = md.IndexOf("## Appendix: all verdict rows", StringComparison.Ordinal);
        Assert.True(appendix > 0);
        Assert.Contains("| [fig1.seeds]", md[appendix..]);
        Assert.NotNull(seedsRow);
    }

    /// <summary>The rate lines of figure 1 show the order the verdict row decided and the upper end it compared, not the page's own fit.</summary>
    [Fact(DisplayName = "report figure 1: A.rate, D.rate, D.curve lines → the row's decided order and 95% upper end (model allowance included), labelled")]
    public void Rate_lines_show_the_deciding_values()
    {
        string md = File.ReadAllText(Path.Combine(QuickReport.Directory_, "report.md"));
        Assert.Contains("A.rate's order decided (the fit reported): 1.031, A.rate's 95% upper end (model allowance included): 1.102", md);
        Assert.Contains("D.rate's observed order (worst snapshot): 1.007", md);
        Assert.Contains("D.curve's observed order (worst snapshot and part): 1.007", md);
        // the ratio is of the values shown (the order over the claimed 1), not of the page's own fit (D.curve's line read
        // order 1.007, ratio 1.112)
        var root = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(QuickReport.Directory_, "results.json")))!;
        int decided = 0;
        foreach (var fig in root["comparisons"]!.AsArray())
            foreach (var row in fig!["rows"]!.AsArray())
            {
                var first = row!["measured"]!.AsArray()[0]!;
                if (!first["label"]!.GetValue<string>().Contains("order")) continue;
                decided++;
                if (row["predicted_value"]?.GetValue<double>() == -1.0)
                    Assert.Equal(first["value"]!.GetValue<double>(), row["ratio"]!.GetValue<double>());
                else Assert.Null(row["ratio"]);
            }
        Assert.True(decided >= 3, $"{decided} decided rate lines");
    }
}
