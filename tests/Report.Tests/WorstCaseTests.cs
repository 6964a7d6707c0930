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
}
