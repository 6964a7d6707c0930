using System.Text.Json.Nodes;
using ResOdeProofs.Cli.Report;
using ResOdeProofs.Numerics.IO;
using ResOdeProofs.Numerics.Training;
using ResOdeProofs.Theory;

namespace ResOdeProofs.Report.Tests;

/// <summary>
/// The numbers the page shows of a run's depth smoothness and of figure 2's loss decay are read from verdict rows
/// (E.claims, A.rate, A.apriori, C.gdDecay / C.runRate), which take them from the verifier's own columns: a number the
/// producer claims is never shown in their place, and a run whose replay is not certified shows none.
/// </summary>
public sealed class RowNumbersTests
{
    private static JsonNode Root() => JsonNode.Parse(File.ReadAllText(Path.Combine(QuickReport.Directory_, "results.json")))!;

    private static JsonNode? RowOf(JsonNode run, string id) => run["verdicts"]!.AsArray().FirstOrDefault(r => r!["id"]!.GetValue<string>() == id);

    private static double ConstantOf(JsonNode? row, string name) => row?["constants"]?[name]?.GetValue<double>() ?? double.NaN;

    private static double Number(JsonNode? n) => n?.GetValue<double>() ?? double.NaN;

    [Fact(DisplayName = "report results.json: every run's max_{k,t} ‖Z_{k+1} − Z_k‖ → its E.claims row's, and figure 1's points A.rate's, on the quick report")]
    public void Run_depth_smoothness_is_the_rows()
    {
        var root = Root();
        int checkedRuns = 0;
        foreach (var init in new[] { "tied", "iid" })
        {
            var ladder = root["figure1"]![init]!;
            string input = "ladder L = " + string.Join(", ", root["settings"]!["slope_depths"]!.AsArray().Select(d => d!.GetValue<int>()));
            var rate = ladder["ladder_verdicts"]!.AsArray().Single(r => r!["id"]!.GetValue<string>() == "A.rate" && r["input"]!.GetValue<string>() == input)!;
            foreach (var run in ladder["runs"]!.AsArray())
            {
                double shown = Number(run!["max_k_t_depth_increment"]);
                Assert.True(double.IsFinite(shown) && shown > 0, $"{run["name"]}: {shown}");
                Assert.Equal(ConstantOf(RowOf(run, "E.claims"), ReplayEvidence.maxIncrementName), shown);
                int L = run["setting"]!["depth"]!.GetValue<int>();
                // A.rate states L·max over the same verifier's column (the quick ladder's depths are powers of two: exact)
                Assert.Equal(ConstantOf(rate, DepthSmoothness.rateIncrementName(L)) / L, shown);
                checkedRuns++;
            }
        }
        Assert.True(checkedRuns >= 6, $"{checkedRuns} runs");
        // the A.apriori points: the measured maximum is E.claims' of the unclipped tied run, the value at the last finite
        // iterate A.apriori's own
        var tiedRuns = root["figure1"]!["tied"]!["runs"]!.AsArray();
        var points = root["depth_smoothness_bounds"]!["points"]!.AsArray();
        Assert.NotEmpty(points);
        // one point per slope depth, in the depths' order (the clipped runs train two at a time, deepest first)
        Assert.Equal(root["settings"]!["slope_depths"]!.AsArray().Select(d => d!.GetValue<int>()),
                     points.Select(p => p!["depth"]!.GetValue<int>()));
        foreach (var p in points)
        {
            int L = p!["depth"]!.GetValue<int>();
            var run = tiedRuns.Single(r => r!["setting"]!["depth"]!.GetValue<int>() == L)!;
            Assert.Equal(Number(run["max_k_t_depth_increment"]), Number(p["measured_max_k_t"]));
        }
    }

    [Fact(DisplayName = "report results.json: figure 2's fitted loss rate and L·max_k ‖Z_{k+1} − Z_k‖ per step → the decay row's and E.claims' constants, on the quick report")]
    public void Figure2_numbers_are_the_rows()
    {
        var fig2 = Root()["figure2"]!;
        var plRun = fig2["pl_run"] ?? fig2["tied"]!;
        double fitted = new[] { "C.gdDecay", "C.runRate" }.Select(id => ConstantOf(RowOf(plRun, id), PolyakLojasiewicz.fittedRateName))
            .First(double.IsFinite);
        Assert.True(fitted > 0, $"fitted rate {fitted}");
        Assert.Equal(fitted, Number(fig2["fitted_rate_second_half"]));
        var steps = fig2["depth_times_smoothness"]!.AsArray();
        Assert.True(steps.Count >= 3, $"{steps.Count} steps");
        foreach (var s in steps)
        {
            int step = s!["step"]!.GetValue<int>();
            foreach (var which in new[] { "tied", "iid" })
            {
                var run = fig2[which]!;
                int L = run["setting"]!["depth"]!.GetValue<int>();
                double row = ConstantOf(RowOf(run, "E.claims"), ReplayEvidence.incrementAtName(step));
                Assert.True(double.IsFinite(row), $"{which}: no E.claims value at iteration {step}");
                Assert.Equal(L * row, Number(s[which]));
            }
        }
    }

    /// <summary>A small faithful gradient-descent run kept in memory (GELU, tied, a snapshot at every iteration).</summary>
    private static RunData SmallRun(string name)
    {
        var spec = new RunSpec
        {
            Depth = 8, Width = 8, Samples = 10, Dim = 4, Eta = 0.0025, Iterations = 12, Init = InitKind.Tied,
            SnapshotSteps = Enumerable.Range(0, 13).ToArray(), Seed = 3,
        };
        return RunDirectory.InMemory(spec.Train(), name);
    }

    private static ReportRun AsReportRun(RunData data, params Result<Run>[] results)
    {
        var run = new ReportRun { Name = data.Directory, Spec = new RunSpec(), Data = data, SnapshotSteps = data.Steps, Seconds = 0 };
        var view = new Run(data);
        foreach (var r in results) run.Rows.Add(Registry.evaluateRow(r, data.Directory, view));
        return run;
    }

    [Fact(DisplayName = "ReportRun: the producer's smooth_z column halved → E.claims violated, the page's max_{k,t} ‖Z_{k+1} − Z_k‖ still the verifier's")]
    public void Claimed_smoothness_is_not_shown()
    {
        var faithful = AsReportRun(SmallRun("faithful"), ReplayEvidence.claims);
        Assert.Equal("holds", faithful.ClaimsRow!.Verdict);
        double verified = faithful.MaxSmoothZ;
        Assert.True(verified > 0);
        // on a faithful run of this engine the verifier's column is the producer's, bit for bit
        Assert.Equal(faithful.Data.Trace["smooth_z"].Max(), verified);

        var forged = SmallRun("forged");
        var sz = forged.Trace["smooth_z"];
        for (int j = 0; j < sz.Length; j++) sz[j] *= 0.5;
        var shown = AsReportRun(forged, ReplayEvidence.claims);
        Assert.True(shown.ClaimsRow!.IsViolated, shown.ClaimsRow.Verdict);
        Assert.Equal(verified, shown.MaxSmoothZ);
        Assert.Equal(faithful.SmoothZAt(6), shown.SmoothZAt(6));
        Assert.NotEqual(sz.Max(), shown.MaxSmoothZ);
    }

    [Fact(DisplayName = "ReportRun: one layer of the last snapshot bumped → no certified replay, the row and the page show no depth smoothness")]
    public void Uncertified_run_shows_no_smoothness()
    {
        var bumped = SmallRun("bumped");
        var w = bumped.W[^1];
        int md = 8 * 4;
        for (int i = 0; i < md; i++) w[3 * md + i] += 0.01;
        var run = AsReportRun(bumped, ReplayEvidence.claims);
        Assert.NotNull(run.ClaimsRow);
        Assert.True(double.IsNaN(run.MaxSmoothZ), $"shown {run.MaxSmoothZ}");
        Assert.True(double.IsNaN(run.SmoothZAt(6)));
        // the producer's claim is still there to be shown, and is not
        Assert.True(bumped.Trace["smooth_z"].Max() > 0);
    }

    [Fact(DisplayName = "C.runRate: the fitted second-half loss rate → the verifier's loss column's; the trace's loss claim forged → unchanged; losses.npy forged → unchanged")]
    public void Fitted_rate_is_the_verifiers()
    {
        var data = SmallRun("rate");
        double fitted = Experiments.Constant(AsReportRun(data, PolyakLojasiewicz.runRate).Rows[0], PolyakLojasiewicz.fittedRateName);
        // the same least-squares line over the recorded losses of this faithful run
        var loss = data.Losses;
        var js = Enumerable.Range(loss.Length / 2, loss.Length - loss.Length / 2).ToArray();
        var line = LeastSquares.line(js.Select(j => j * data.Eta).ToArray(), js.Select(j => Math.Log(loss[j])).ToArray());
        Assert.Equal(-line.Slope, fitted, 12);
        Assert.True(fitted > 0, $"fitted {fitted}");

        // the producer's loss column claims a faster decay: E.claims is violated, the fitted rate is still the replay's
        var claimed = SmallRun("rate-claimed");
        var tl = claimed.Trace["loss"];
        for (int j = tl.Length / 2; j < tl.Length; j++) tl[j] *= Math.Exp(-0.5 * j);
        var claimedRun = AsReportRun(claimed, ReplayEvidence.claims, PolyakLojasiewicz.runRate);
        Assert.True(claimedRun.ClaimsRow!.IsViolated, claimedRun.ClaimsRow.Verdict);
        Assert.Equal(fitted, Experiments.Constant(claimedRun.Rows[1], PolyakLojasiewicz.fittedRateName));

        // recorded losses that gradient descent does not reproduce: the replay still lands on the snapshots, so its column
        // stands and the rate is the verifier's (not the forged one; the forged losses, smaller, lie under the decay bound
        // they are compared with; until 2026-12-06 they took the column away: no rate)
        var forged = SmallRun("rate-forged");
        for (int j = forged.Losses.Length / 2; j < forged.Losses.Length; j++) forged.Losses[j] *= Math.Exp(-0.5 * j);
        var forgedRun = AsReportRun(forged, PolyakLojasiewicz.runRate);
        double shownForged = Experiments.Constant(forgedRun.Rows[0], PolyakLojasiewicz.fittedRateName);
        Assert.Equal(fitted, shownForged, 12);
    }
}
