using System.Text.Json;
using System.Text.Json.Nodes;

namespace ResOdeProofs.Report.Tests;

/// <summary>The quick report as a reader sees it, in headless Chromium at a desktop and a phone width.</summary>
public sealed class ReportPageTests
{
    private static async Task AssertReadable(int width)
    {
        await using var browser = await Browser.LaunchAsync(); // first: a missing browser fails at once, before the report is made
        string html = Path.Combine(QuickReport.Directory_, "index.html");
        var facts = await Browser.ProbeAsync(browser, html, width);
        var problems = Browser.Problems(facts, width);
        Assert.True(problems.Count == 0, $"index.html at {width} px:\n  " + string.Join("\n  ", problems));
        // the checks above looked at something: figures, verdicts and their pages are there
        Assert.True(facts.Images >= 10, $"only {facts.Images} images on the page");
        Assert.True(facts.Verdicts >= 50, $"only {facts.Verdicts} verdicts on the page");
        Assert.True(facts.VerdictHrefs.Count >= 5, $"verdicts link to only {facts.VerdictHrefs.Count} distinct pages");
    }

    [BrowserFact(DisplayName = "report page: quick report at 1400 px → images load, no horizontal overflow, every verdict links to a page")]
    public Task Quick_report_reads_at_1400_px() => AssertReadable(1400);

    [BrowserFact(DisplayName = "report page: quick report at 420 px → images load, no horizontal overflow, every verdict links to a page")]
    public Task Quick_report_reads_at_420_px() => AssertReadable(420);

    /// <summary>The same checks reject a page with each defect: they can fail.</summary>
    [BrowserFact(DisplayName = "report page check: a page with any one defect → rejected")]
    public async Task A_broken_page_is_rejected_for_each_defect()
    {
        string dir = Path.Combine(Path.GetTempPath(), "resode-broken-page-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        try
        {
            File.WriteAllText(Path.Combine(dir, "exists.html"), "<p>page</p>");
            File.WriteAllText(Path.Combine(dir, "index.html"),
                "<!DOCTYPE html><html><head><meta charset=\"utf-8\"></head><body>" +
                "<img alt=\"missing figure\" src=\"figures/none.png\">" +
                "<table style=\"width:3000px\"><tr><td>wide</td></tr></table>" +
                "<a class=\"verdict\" href=\"exists.html\">holds</a> <a class=\"verdict\" href=\"docs/missing.html\">holds</a> <span class=\"verdict\">holds</span>" +
                "</body></html>");
            await using var browser = await Browser.LaunchAsync();
            var problems = Browser.Problems(await Browser.ProbeAsync(browser, Path.Combine(dir, "index.html"), 420), 420);
            foreach (var expected in new[] { "images did not load", "overflows horizontally", "viewport", "headline", "table of contents", "without a link", "missing page" })
                Assert.Contains(problems, p => p.Contains(expected, StringComparison.Ordinal));
            Assert.DoesNotContain(problems, p => p.Contains("exists.html", StringComparison.Ordinal));
        }
        finally { Directory.Delete(dir, true); }
    }
}

/// <summary>results.json as a script reads it (docs/report-format.md).</summary>
public sealed class ResultsJsonTests
{
    private static readonly string[] Verdicts = { "holds", "violated", "hypothesis_not_met", "not_applicable", "error" };

    private static IEnumerable<(string Path, JsonNode? Node)> Walk(JsonNode? n, string path)
    {
        yield return (path, n);
        if (n is JsonObject o)
            foreach (var kv in o) foreach (var x in Walk(kv.Value, path + "." + kv.Key)) yield return x;
        else if (n is JsonArray a)
            for (int i = 0; i < a.Count; i++) foreach (var x in Walk(a[i], $"{path}[{i}]")) yield return x;
    }

    [Fact(DisplayName = "report results.json: quick report → follows the documented conventions")]
    public void Quick_report_json_follows_the_documented_conventions()
    {
        var root = JsonNode.Parse(File.ReadAllText(Path.Combine(QuickReport.Directory_, "results.json")))!;
        var all = Walk(root, "$").ToList();
        // numbers are numbers: no infinity or NaN spelled as a string anywhere
        var spelled = all.Where(x => x.Node is JsonValue v && v.GetValueKind() == JsonValueKind.String &&
                                     v.GetValue<string>().Trim().ToLowerInvariant() is "inf" or "-inf" or "+inf" or "infinity" or "-infinity" or "nan").Select(x => x.Path).ToList();
        Assert.True(spelled.Count == 0, "non-finite numbers written as strings at " + string.Join(", ", spelled.Take(10)));
        // one spelling of each verdict
        var verdicts = all.Where(x => x.Path.EndsWith(".verdict", StringComparison.Ordinal)).ToList();
        Assert.True(verdicts.Count > 100, $"only {verdicts.Count} verdicts");
        var odd = verdicts.Where(x => !Verdicts.Contains(x.Node?.GetValue<string>())).Select(x => $"{x.Path} = {x.Node}").ToList();
        Assert.True(odd.Count == 0, "verdicts outside " + string.Join("|", Verdicts) + ": " + string.Join(", ", odd.Take(5)));
        // provenance of the report
        Assert.Equal("resode-report/3", root["format"]!.GetValue<string>());
        Assert.Equal("resode report --preset quick", root["command_line"]!.GetValue<string>());
        Assert.True(root.AsObject().ContainsKey("git_commit"));
        // stable keys: timings in snake_case, comparisons structured (numbers, not text)
        Assert.All(root["timings_seconds"]!.AsObject(), kv => Assert.Matches("^[a-z0-9_]+$", kv.Key));
        foreach (var fig in root["comparisons"]!.AsArray())
            foreach (var row in fig!["rows"]!.AsArray())
            {
                Assert.Matches("^[a-z0-9_]+$", row!["key"]!.GetValue<string>());
                foreach (var m in row["measured"]!.AsArray())
                    Assert.True(m!["value"] is null || m["value"]!.GetValueKind() == JsonValueKind.Number, $"{row["key"]}: measured {m["label"]} is not a number");
            }
        // the headline counts add up to the rows
        var h = root["headline"]!;
        int sum = h["verdict_counts"]!.AsObject().Sum(kv => kv.Value!.GetValue<int>());
        Assert.Equal(h["verdict_rows"]!.GetValue<int>(), sum);
    }

    [Fact(DisplayName = "report results.json: figure 1's slope, tied and i.i.d. → A.rate's row on the slope depths, not a fit of the page's own")]
    public void Figure1_slope_is_A_rates_row()
    {
        var root = JsonNode.Parse(File.ReadAllText(Path.Combine(QuickReport.Directory_, "results.json")))!;
        string input = "ladder L = " + string.Join(", ", root["settings"]!["slope_depths"]!.AsArray().Select(d => d!.GetValue<int>()));
        foreach (var init in new[] { "tied", "iid" })
        {
            var l = root["figure1"]![init]!;
            var fit = l["smoothness_fit_log10"]!;
            var row = l["ladder_verdicts"]!.AsArray().Single(r => r!["id"]!.GetValue<string>() == "A.rate" && r["input"]!.GetValue<string>() == input)!;
            double slope = row["measured"]!.GetValue<double>(), w = row["constants"]!["half-width (95%)"]!.GetValue<double>();
            Assert.Equal(slope, fit["slope"]!.GetValue<double>());
            Assert.Equal(slope - w, fit["ci95_low"]!.GetValue<double>());
            Assert.Equal(slope + w, fit["ci95_high"]!.GetValue<double>());
            Assert.Equal(row["constants"]!["intercept"]!.GetValue<double>() / Math.Log(10), fit["intercept"]!.GetValue<double>());
        }
    }
}
