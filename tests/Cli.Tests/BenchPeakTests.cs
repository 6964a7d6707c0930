using System.Text.Json.Nodes;

namespace ResOdeProofs.Cli.Tests;

/// <summary>`bench` states the machine's measured FMA peak and each row's share of it (screen and JSON agree).</summary>
[Collection(CliCollection.Name)]
public sealed class BenchPeakTests : IDisposable
{
    private readonly Scratch _s = new();
    public void Dispose() => _s.Dispose();

    [Fact(DisplayName = "bench --json: figure 2, one row per precision → a measured FMA peak, each row's peak fraction its best GFLOP/s over peak × threads (×2 in float32), the same percentage on screen")]
    public void RowsStateTheirShareOfTheMeasuredPeak()
    {
        var r = Cli.Run(_s.Dir, "bench", "--config", "fig2", "--threads", "1", "--repeats", "2", "--json", "b.json");
        Assert.Equal(ExitCodes.Done, r.Code);
        var doc = JsonNode.Parse(File.ReadAllText(_s.P("b.json")))!.AsObject();
        var rows = doc["rows"]!.AsArray();
        Assert.Equal(2, rows.Count);
        var screen = r.Out.Split('\n').Where(l => l.StartsWith("fig2", StringComparison.Ordinal)).ToArray();
        Assert.Equal(2, screen.Length);
        if (doc["simd"]!.GetValue<string>() == "Scalar")
        {
            Assert.Null(doc["fmaPeakGflops"]);
            Assert.Contains("fma peak: not measured", r.Out);
            return;
        }
        double peak = doc["fmaPeakGflops"]!.GetValue<double>();
        Assert.True(double.IsFinite(peak) && peak > 0, $"peak {peak}");
        Assert.Contains("fma peak: ", r.Out);
        for (int i = 0; i < rows.Count; i++)
        {
            var row = rows[i]!.AsObject();
            double best = row["GflopsBest"]!.GetValue<double>(), f = row["peakFraction"]!.GetValue<double>();
            int threads = row["Threads"]!.GetValue<int>();
            bool f32 = row["precision"]!.GetValue<string>() == "float32";
            Assert.Equal(best / (peak * threads * (f32 ? 2 : 1)), f, 12);
            Assert.True(f > 0, $"row {i}: fraction {f}");
            Assert.Contains(string.Create(System.Globalization.CultureInfo.InvariantCulture, $" {100 * f:F0}% "), screen[i]);
        }
    }
}
