using ResOdeProofs.Cli.Report;
using ResOdeProofs.Theory;
using Microsoft.FSharp.Collections;

namespace ResOdeProofs.Report.Tests;

/// <summary>The per-result summary shows counts, not only the worst verdict.</summary>
public sealed class SummaryTests
{
    private static Registry.VerdictRow Row(string verdict, double tightness, string input, string doc = "docs/theorems/DepthSmoothness.md") =>
        new("X.test", "a test result", "", "proved here", doc, input, verdict, 1.0, tightness, tightness,
            tightness, verdict == "holds" ? "at the only comparison" : "", tightness, verdict == "holds" ? "at the only comparison" : "",
            verdict == "holds" ? 1.0 : double.NaN, verdict == "holds" ? tightness : double.NaN,
            verdict == "holds" ? "slack" : "rank: m ≥ n: m < n", FSharpList<Tuple<string, bool, string>>.Empty, FSharpList<Tuple<string, double>>.Empty,
            FSharpList<string>.Empty, 0.0, 0.0, FSharpList<SeriesPoint>.Empty);

    [Fact(DisplayName = "report summary: 11 of 12 rows holding, 1 hypothesis not met → holds, with the counts")]
    public void Eleven_of_twelve_holding_reads_holds_with_the_counts()
    {
        var rows = Enumerable.Range(0, 11).Select(i => Row("holds", 2 + i * 30, $"run{i}")).Append(Row("hypothesis not met", double.NaN, "run11")).ToList();
        var s = Assert.Single(ReportWriter.Summarize(rows));
        Assert.Equal("holds", s.Status);
        Assert.Equal("holds (11 of 12; 1 hypothesis not met)", ReportWriter.StatusText(s));
        Assert.Equal(2, s.MinTightness);
        Assert.Equal(302, s.MaxTightness);
        Assert.True(s.Loose);
        Assert.Equal("run10: at the only comparison", s.MaxTightnessAt);
    }

    [Fact(DisplayName = "report summary: one violated row → violated; no row checked → not checked")]
    public void One_violated_row_makes_the_result_violated_and_none_checked_reads_not_checked()
    {
        var rows = new[] { Row("holds", 3, "a"), Row("VIOLATED", double.NaN, "b") };
        Assert.Equal("violated", ReportWriter.Summarize(rows).Single().Status);
        var unmet = new[] { Row("hypothesis not met", double.NaN, "a"), Row("not applicable", double.NaN, "b") };
        var s = ReportWriter.Summarize(unmet).Single();
        Assert.Equal("not_checked", s.Status);
        Assert.Contains("hypothesis not met on 1 of 2 rows: rank: m ≥ n", ReportWriter.Reason(s));
        Assert.False(s.Loose);
    }

    [Fact(DisplayName = "report loose-bound flag: run-integrity (I.*) and evidence (E.*) ratios → not flagged")]
    public void A_run_integrity_ratio_is_not_a_loose_bound()
    {
        var s = ReportWriter.Summarize(new[] { Row("holds", 1e7, "a", "docs/theorems/RunIntegrity.md") }).Single();
        Assert.Equal(1e7, s.MaxTightness);
        Assert.False(s.Loose);
        Assert.False(ReportWriter.Summarize(new[] { Row("holds", double.PositiveInfinity, "a", "docs/theorems/Evidence.md") }).Single().Loose);
        Assert.True(ReportWriter.Summarize(new[] { Row("holds", 1e7, "a") }).Single().Loose);
    }

    /// <summary>Which allowances are estimates is said where the reader looks, not only in results.json: the summary
    /// table's provenance column on the quick report's page and in report.md.</summary>
    [Fact(DisplayName = "report summary: quick report → a provenance column, B.bound's row 'proved here (estimated: …)', I.loss's 'proved here'")]
    public void The_summary_names_each_results_provenance()
    {
        string md = File.ReadAllText(Path.Combine(QuickReport.Directory_, "report.md"));
        string html = File.ReadAllText(Path.Combine(QuickReport.Directory_, "index.html"));
        string Line(string id) => md.Split('\n').First(l => l.StartsWith("| [" + id + "]", StringComparison.Ordinal));
        Assert.Contains("| provenance |", md);
        Assert.Contains("<th>provenance</th>", html);
        Assert.Contains("| proved here (estimated: ", Line("B.bound"));
        Assert.Contains("| proved here |", Line("I.loss"));
        Assert.Contains("proved here (estimated: ", html);
    }
}
