using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using ResOdeProofs.Cli.Report;
using ResOdeProofs.Cli.Sweep;

namespace ResOdeProofs.Report.Tests;

/// <summary>
/// The page's parts after the cells run side by side (the two sides of the experiments on two threads, the figures two at a
/// time with their SVGs written afterwards in the page's order, the theorem pages beside them). The page must be the one
/// they give one after another.
/// </summary>
public sealed class PageLanesTests
{
    [Fact(DisplayName = "report (tiny study): the page's parts side by side → the results, PNGs, SVGs and theorem pages of one after another")]
    public void ThePagesPartsSideBySideGiveThePageOfOneAfterAnother()
    {
        string dir = Path.Combine(Path.GetTempPath(), "resode-page-lanes-" + Guid.NewGuid().ToString("N")[..8]);
        string serial = dir + "-serial";
        Directory.CreateDirectory(dir);
        Directory.CreateDirectory(serial);
        try
        {
            var s = ReportSettings.Create("tiny", 0);
            // side by side (the default: two page lanes)
            ReportCommand.Generate(s, dir, CancellationToken.None, new ReportOptions(null, "tiny"));
            // the same cells, the page's parts one after another
            var c = ReportCommand.Assemble(s, new StudyOutput(dir), serial, CancellationToken.None, pageLanes: 1);
            ReportWriter.Write(c, serial, new ReportOptions(null, "tiny") { PageLanes = 1 });

            Assert.Equal(Untimed(JsonNode.Parse(File.ReadAllText(Path.Combine(serial, "results.json"))))!.ToJsonString(),
                         Untimed(JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "results.json"))))!.ToJsonString());
            var figures = Directory.GetFiles(Path.Combine(serial, "figures")).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToList();
            Assert.Equal(figures, Directory.GetFiles(Path.Combine(dir, "figures")).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToList());
            Assert.Contains(figures, f => f!.EndsWith(".svg", StringComparison.Ordinal));
            foreach (var f in figures)
            {
                byte[] a = File.ReadAllBytes(Path.Combine(serial, "figures", f!)), b = File.ReadAllBytes(Path.Combine(dir, "figures", f!));
                if (f!.EndsWith(".png", StringComparison.Ordinal)) Assert.True(a.AsSpan().SequenceEqual(b), f + " differs");
                // Skia numbers the clip paths with one counter of the process, which the first page advanced: the same drawing
                // up to that numbering (the numbering itself is the same bytes in a process of its own, where the SVGs are
                // written in the page's order either way)
                else Assert.Equal(Renumbered(File.ReadAllText(Path.Combine(serial, "figures", f))), Renumbered(File.ReadAllText(Path.Combine(dir, "figures", f))));
            }
            foreach (var page in Directory.GetFiles(Path.Combine(serial, "docs", "theorems")))
                Assert.Equal(File.ReadAllText(page), File.ReadAllText(Path.Combine(dir, "docs", "theorems", Path.GetFileName(page))));
            // every figure is embedded in index.html: its clip-path ids are unique on the page, side by side as one after another
            Assert.Empty(RepeatedClipIds(File.ReadAllText(Path.Combine(dir, "index.html"))));
            Assert.Empty(RepeatedClipIds(File.ReadAllText(Path.Combine(serial, "index.html"))));
            // the check finds a figure embedded twice
            string svg = File.ReadAllText(Path.Combine(dir, "figures", figures.First(f => f!.EndsWith(".svg", StringComparison.Ordinal))!));
            Assert.NotEmpty(RepeatedClipIds(svg + svg));
        }
        finally
        {
            Directory.Delete(dir, true);
            Directory.Delete(serial, true);
        }
    }

    /// <summary>The clip-path ids defined more than once in <paramref name="html"/>.</summary>
    private static List<string> RepeatedClipIds(string html) =>
        Regex.Matches(html, "<clipPath id=\"([^\"]+)\"").Select(m => m.Groups[1].Value).GroupBy(x => x).Where(g => g.Count() > 1).Select(g => g.Key).ToList();

    /// <summary>An SVG with its clip-path ids numbered in the order they appear (cl_0, cl_1, …).</summary>
    private static string Renumbered(string svg)
    {
        var ids = new Dictionary<string, string>();
        return Regex.Replace(svg, @"\bcl_[0-9A-Za-z]+\b", m =>
        {
            if (!ids.TryGetValue(m.Value, out var k)) ids[m.Value] = k = "cl_" + ids.Count;
            return k;
        });
    }

    /// <summary>JSON without timings (keys ending in "seconds", durations in text), the creation time and the command line.</summary>
    private static JsonNode? Untimed(JsonNode? n) => n switch
    {
        JsonObject o => new JsonObject(o.Where(kv => !(kv.Key.EndsWith("seconds", StringComparison.Ordinal) || kv.Key.EndsWith("seconds_inf", StringComparison.Ordinal)
                                                       || kv.Key is "created_utc" or "command_line"))
                                        .Select(kv => KeyValuePair.Create(kv.Key, Untimed(kv.Value)))),
        JsonArray a => new JsonArray(a.Select(Untimed).ToArray()),
        null => null,
        JsonValue v when v.TryGetValue<string>(out var text) => JsonValue.Create(Regex.Replace(text, @"\b\d+(\.\d+)?(e-?\d+)?s\b", "#s")),
        _ => n.DeepClone(),
    };
}
