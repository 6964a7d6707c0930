using System.Text.Json.Nodes;
using ResOdeProofs.Cli;
using ResOdeProofs.Cli.Report;
using ResOdeProofs.Cli.Sweep;
using ResOdeProofs.Numerics.IO;
using ResOdeProofs.Theory;

namespace ResOdeProofs.Report.Tests;

/// <summary>
/// The report's bound figures (A, B, C over training time) draw the verdict rows' comparisons and nothing else: the
/// series in results.json is the one `verify` writes for the same run, the figure plots exactly it, and a corrupted
/// row shows in the figure.
/// </summary>
public sealed class BoundFigureTests
{
    /// <summary>(result, figure file, the quantity's legend) of the three figures, as BoundsOverTime draws them.</summary>
    private static readonly (string Id, string Name, string Quantity, string Run)[] Drawn =
    {
        ("A.aposteriori", "bounds-a-depth-smoothness", "max_k ‖Z_{k+1} − Z_k‖", "tied"),
        ("B.bound", "bounds-b-euler", "‖h_L^i − H^i(1)‖, worst sample", "tied"),
        ("C.gdDecay", "bounds-c-pl-decay", "ε(t) = loss(t) − loss_⊥", "pl_run"),
    };

    /// <summary>An SVG without its clip-path ids (ScottPlot draws them at random: the same plot twice differs only there).</summary>
    private static string Svg(string svg) => System.Text.RegularExpressions.Regex.Replace(svg, @"\bcl_[0-9A-Za-z]+", "cl_");

    private static JsonNode RunOf(JsonNode root, string which) => root["figure2"]![which] ?? root["figure2"]!["tied"]!;

    private static JsonNode RowOf(JsonNode run, string id) => run["verdicts"]!.AsArray().Single(r => r!["id"]!.GetValue<string>() == id)!;

    /// <summary>(measured, bound) of every point, in one order, for comparing two series as sets of comparisons.</summary>
    private static (double, double)[] Pairs(IEnumerable<(double M, double B)> xs) => xs.OrderBy(p => p.M).ThenBy(p => p.B).ToArray();

    [Fact(DisplayName = "report bound figures A, B, C: series in results.json → the comparisons `verify` decides on for the same run, drawn point for point")]
    public void FiguresDrawTheComparisonsVerifyDecidesOn()
    {
        string dir = QuickReport.Directory_;
        var root = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "results.json")))!;
        foreach (var (id, name, quantity, which) in Drawn)
        {
            var run = RunOf(root, which);
            var reported = RowOf(run, id);
            Assert.Equal("holds", reported["verdict"]!.GetValue<string>());
            var series = reported["series"]!.AsArray();
            Assert.True(series.Count >= 5, $"{id}: {series.Count} points");

            // `verify` on a copy of the same run directory writes the same series
            string copy = Path.Combine(Path.GetTempPath(), "resode-bound-figure-" + Guid.NewGuid().ToString("N")[..8]);
            Directory.CreateDirectory(copy);
            try
            {
                foreach (var f in Directory.GetFiles(Path.Combine(dir, run["directory"]!.GetValue<string>())).Where(f => Path.GetFileName(f) != "verdicts.json"))
                    File.Copy(f, Path.Combine(copy, Path.GetFileName(f)));
                Assert.Equal(ExitCodes.Done, ResodeApp.Run(new[] { "verify", "--quiet", copy }));
                var verified = JsonNode.Parse(File.ReadAllText(Path.Combine(copy, "verdicts.json")))!["results"]!.AsArray()
                    .Single(r => r!["id"]!.GetValue<string>() == id)!;
                Assert.Equal(verified["series"]!.ToJsonString(), series.ToJsonString());
                Assert.Equal(verified["measured"]!.ToJsonString(), reported["measured"]!.ToJsonString());
                Assert.Equal(verified["bound"]!.ToJsonString(), reported["bound"]!.ToJsonString());
            }
            finally { Directory.Delete(copy, true); }

            // the figure's points are the row's comparisons, every one of them; the verdict's own pair among them
            var row = StudyMerge.RowFromJson(reported, "in");
            var drawn = Figures.SeriesOf(row);
            Assert.Equal(series.Count, drawn.T.Length);
            Assert.Equal(Pairs(row.Series.Select(p => (p.Measured, p.Bound))), Pairs(drawn.Measured.Zip(drawn.Bound)));
            Assert.Contains(drawn.Measured.Zip(drawn.Bound), p => p.First == row.Measured && (p.Second == row.Bound || id == "B.bound"));
            // and the figure in the report is the one these points draw
            string tmp = Path.Combine(Path.GetTempPath(), "resode-bound-figure-" + Guid.NewGuid().ToString("N")[..8]);
            try
            {
                var again = Figures.BoundFigure(tmp, name, id, quantity, drawn.T, drawn.Measured, drawn.T, drawn.Bound, "");
                Assert.Equal(Svg(File.ReadAllText(Path.Combine(dir, "figures", name + ".svg"))), Svg(again.Svg));
            }
            finally { if (Directory.Exists(tmp)) Directory.Delete(tmp, true); }
        }
    }

    [Fact(DisplayName = "report bound figure A: one point's bound in the verdict row lowered 1000× → the figure draws the lowered bound")]
    public void ACorruptedRowShowsInTheFigure()
    {
        string dir = QuickReport.Directory_;
        var root = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "results.json")))!;
        var (id, name, quantity, which) = Drawn[0];
        var reported = RowOf(RunOf(root, which), id).DeepClone();
        var series = reported["series"]!.AsArray();
        int k = series.Count / 2;
        double bound = series[k]!["bound"]!.GetValue<double>();
        series[k]!["bound"] = bound / 1000;
        var good = Figures.SeriesOf(StudyMerge.RowFromJson(RowOf(RunOf(root, which), id), "in"));
        var bad = Figures.SeriesOf(StudyMerge.RowFromJson(reported, "in"));
        Assert.Contains(bound / 1000, bad.Bound);
        Assert.DoesNotContain(bound / 1000, good.Bound);
        string tmp = Path.Combine(Path.GetTempPath(), "resode-bound-figure-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            var a = Figures.BoundFigure(Path.Combine(tmp, "good"), name, id, quantity, good.T, good.Measured, good.T, good.Bound, "");
            var b = Figures.BoundFigure(Path.Combine(tmp, "bad"), name, id, quantity, bad.T, bad.Measured, bad.T, bad.Bound, "");
            Assert.NotEqual(Svg(a.Svg), Svg(b.Svg));
        }
        finally { if (Directory.Exists(tmp)) Directory.Delete(tmp, true); }
    }

    /// <summary>
    /// Before the figures read the rows, figure A drew the scalar a posteriori recursion (DepthSmoothness.aposterioriScalarBound)
    /// recomputed from the run; A.aposteriori decides on the two-component recursion plus the rounding allowance. On the
    /// report's own long run the two differ: the old figure showed a bound the verifier did not compare with.
    /// </summary>
    [Fact(DisplayName = "report bound figure A: the former recomputed (scalar) bound → differs from the bound A.aposteriori compared with; the figure now draws the latter")]
    public void TheFormerRecomputedBoundDisagreedWithTheVerdict()
    {
        string dir = QuickReport.Directory_;
        var root = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "results.json")))!;
        var tied = root["figure2"]!["tied"]!;
        var row = StudyMerge.RowFromJson(RowOf(tied, "A.aposteriori"), "in");
        var run = new Run(RunDirectory.Read(Path.Combine(dir, tied["directory"]!.GetValue<string>())));
        double[] scalar = DepthSmoothness.aposterioriScalarBound(run);
        var trace = row.Series.Where(p => p.Where.Contains("smooth_z column")).ToList();
        Assert.NotEmpty(trace);
        double worst = trace.Select(p =>
        {
            int j = int.Parse(p.When.Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);
            return Math.Abs(scalar[j] - p.Bound) / p.Bound;
        }).Max();
        // far beyond rounding (the allowance is of order 1e-9 relative): the two are different bounds
        Assert.True(worst > 1e-3, $"largest relative difference {worst:G3}");
        Assert.Equal(Pairs(row.Series.Select(p => (p.Measured, p.Bound))), Pairs(Figures.SeriesOf(row).Measured.Zip(Figures.SeriesOf(row).Bound)));
    }
}
