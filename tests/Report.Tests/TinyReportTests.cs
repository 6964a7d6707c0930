using System.Text.Json.Nodes;
using ResOdeProofs.Cli.Report;

namespace ResOdeProofs.Report.Tests;

/// <summary>
/// The experiments only the paper preset runs (the run inside the PL hypotheses, the gradient flow, several
/// seeds) go through the same report code in a test-only tiny setting (ReportSettings.Tiny), since the paper
/// preset itself takes minutes.
/// </summary>
public sealed class TinyReportTests
{
    [Fact]
    public void The_paper_presets_extra_experiments_go_through_the_report()
    {
        string dir = Path.Combine(Path.GetTempPath(), "resode-tiny-report-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        try
        {
            var c = ReportCommand.Generate(ReportSettings.Tiny(0), dir, CancellationToken.None, new ReportOptions(null, "tiny"));
            Assert.NotNull(c.PlRun);
            Assert.NotNull(c.FlowRun);
            Assert.Equal(3, c.Seeds!.Seeds.Length);
            // the gradient-flow results are evaluated on the flow run as statements about the flow
            Assert.Contains(c.FlowRun!.Rows, r => r.Id == "C.gfDecay" && r.Verdict != "not applicable");
            Assert.Contains(c.FaithfulRows, r => r.Input == c.PlRun!.Data.Directory);
            var root = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "results.json")))!;
            Assert.NotNull(root["figure2"]!["pl_run"]);
            Assert.NotNull(root["figure2"]!["flow_run"]);
            Assert.Equal(3, root["seeds"]!["smoothness_slopes"]!.AsArray().Count);
            var fig2 = root["comparisons"]!.AsArray().First(f => f!["key"]!.GetValue<string>() == "fig2")!;
            Assert.Contains(fig2["rows"]!.AsArray(), r => r!["key"]!.GetValue<string>() == "loss_decay_pl_run");
            foreach (var f in new[] { "fig2-loss", "bounds-a-depth-smoothness", "bounds-c-pl-decay", "fig1-right-distance-w-tied", "fig1-right-distance-v-tied" })
                Assert.True(File.Exists(Path.Combine(dir, "figures", f + ".png")), f + ".png missing");
            Assert.Contains("id=\"headline\"", File.ReadAllText(Path.Combine(dir, "index.html")));
        }
        finally { Directory.Delete(dir, true); }
    }
}
