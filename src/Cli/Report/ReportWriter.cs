using System.Globalization;
using System.Net;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using ResOdeProofs.Numerics;
using ResOdeProofs.Theory;

namespace ResOdeProofs.Cli.Report;

/// <summary>A result aggregated over the runs of the report's (faithful) experiments.</summary>
internal sealed record SummaryRow(string Id, string Title, string Verdict, double Measured, double Bound,
    double MinTightness, double MedianTightness, int Rows, int Holds, double Seconds);

/// <summary>A paragraph of the report: prediction, measurement and ratio.</summary>
internal sealed record Comparison(string Quantity, string Predicted, string Measured, string Ratio);

/// <summary>Everything the report shows, ready to be written.</summary>
internal sealed class ReportContent
{
    public required ReportSettings Settings { get; init; }
    public required LadderResult Tied { get; init; }
    public required LadderResult Iid { get; init; }
    public required LongResult Long { get; init; }
    public required List<ControlResult> Controls { get; init; }
    public required List<Figure> Figures { get; init; }
    public required IReadOnlyDictionary<string, double> Timings { get; init; }
    public required double TotalSeconds { get; init; }
    public required (double Mu, string From)? Envelope { get; init; }
    public required double LongRate { get; init; }
    public required List<(int Step, double Tied, double Iid)> LongSmoothness { get; init; }
    public required BoundsResult Bounds { get; init; }
    /// <summary>The real-data experiment (paper preset, data installed), or null with <see cref="FashionNote"/> saying why not.</summary>
    public FashionExperiment? Fashion { get; init; }
    public string? FashionNote { get; init; }
    /// <summary>One small run per architecture added through the extension point (<see cref="ArchitectureSection"/>).</summary>
    public List<ArchitectureRun> Architectures { get; init; } = new();

    /// <summary>
    /// The rows of the faithful experiments: the tied runs of figure 1, the tied ladder, the tied long run,
    /// and A.apriori on the clipped copies of the tied ladder (on the unclipped runs its clip hypothesis is
    /// not met by construction, so those rows are left out).
    /// </summary>
    public IEnumerable<Registry.VerdictRow> FaithfulRows =>
        Tied.Runs.SelectMany(r => r.Rows).Concat(Tied.LadderRows).Concat(Long.Tied.Rows)
            .Where(r => !(r.Id == "A.apriori" && r.Verdict == "hypothesis not met"))
            .Concat(Bounds.Points.Select(p => p.AprioriRow));
}

internal static class ReportWriter
{
    private static string N(double x) => VerifyCommand.Num(x);
    private static string F(FormattableString f) => f.ToString(CultureInfo.InvariantCulture);

    private static int Rank(string verdict) => verdict switch
    {
        "VIOLATED" => 3,
        "hypothesis not met" => 2,
        "not applicable" => 1,
        _ => 0,
    };

    public static List<SummaryRow> Summarize(IEnumerable<Registry.VerdictRow> rows) =>
        rows.GroupBy(r => r.Id).Select(g =>
        {
            var worst = g.OrderByDescending(r => Rank(r.Verdict)).ThenBy(r => double.IsNaN(r.Tightness) ? double.MaxValue : r.Tightness).First();
            var t = g.Where(r => r.Verdict == "holds" && double.IsFinite(r.Tightness)).Select(r => r.Tightness).Order().ToArray();
            double med = t.Length == 0 ? double.NaN : t.Length % 2 == 1 ? t[t.Length / 2] : 0.5 * (t[t.Length / 2 - 1] + t[t.Length / 2]);
            return new SummaryRow(g.Key, worst.Title, worst.Verdict, worst.Measured, worst.Bound,
                t.Length == 0 ? double.NaN : t[0], med, g.Count(), g.Count(r => r.Verdict == "holds"), g.Sum(r => r.Seconds));
        }).ToList();

    /// <summary>The figure-by-figure comparison of the paper's predictions with the measurements.</summary>
    public static List<(string Figure, List<Comparison> Rows)> Comparisons(ReportContent c)
    {
        var s = c.Settings;
        var list = new List<(string, List<Comparison>)>();
        var tf = c.Tied.SmoothnessFit; var inf = c.Iid.SmoothnessFit;
        list.Add(("Figure 1 left: depth smoothness", new()
        {
            new("slope of log max_{k,t} ‖Z_{k+1} − Z_k‖ vs log L, tied", "−1 (smoothness O(1/L))", tf.Describe(), F($"{tf.Slope / -1.0:F3}")),
            new("same, i.i.d. (negative control)", "no decay in L (slope ≈ 0; increments O(1))", inf.Describe(), "-"),
            new("max_{k,t} ‖Z_{k+1} − Z_k‖ at the deepest L, i.i.d. / tied", "≫ 1", F($"{c.Iid.Runs[^1].MaxSmoothZ:G4} / {c.Tied.Runs[^1].MaxSmoothZ:G4}"),
                F($"{c.Iid.Runs[^1].MaxSmoothZ / c.Tied.Runs[^1].MaxSmoothZ:G4}")),
        }));
        var df = c.Tied.DistanceFit;
        var last = c.Tied.DistZ.Select(d => d[^1]).ToArray();
        list.Add(("Figure 1 right: convergence to the deepest run", new()
        {
            new(F($"slope of log distance at iteration {c.Tied.Steps[^1]} vs log L (L ≤ {c.Tied.ReferenceDepth / 4}), tied"), "−1 (distance O(1/L))", df.Describe(), F($"{df.Slope / -1.0:F3}")),
            new(F($"distance at iteration {c.Tied.Steps[^1]}, L = {c.Tied.DistanceDepths[0]} / L = {c.Tied.DistanceDepths[^1]}, tied"),
                F($"{(1.0 / c.Tied.DistanceDepths[0] - 1.0 / c.Tied.ReferenceDepth) / (1.0 / c.Tied.DistanceDepths[^1] - 1.0 / c.Tied.ReferenceDepth):G4} (C·(1/L − 1/L_ref))"),
                F($"{last[0]:G4} / {last[^1]:G4} = {last[0] / last[^1]:G4}"),
                F($"{last[0] / last[^1] / ((1.0 / c.Tied.DistanceDepths[0] - 1.0 / c.Tied.ReferenceDepth) / (1.0 / c.Tied.DistanceDepths[^1] - 1.0 / c.Tied.ReferenceDepth)):G4}")),
            new(F($"slope of log distance to the Richardson limit of L = {c.Tied.ReferenceDepth / 2}, {c.Tied.ReferenceDepth} at iteration {c.Tied.Steps[^1]} vs log L (L ≤ {c.Tied.ReferenceDepth / 2}), tied; error estimate of the limit {c.Tied.RichardsonError[^1]:G3} (distance between the Richardson limits of the two deepest pairs)"),
                "−1 (distance O(1/L))", c.Tied.RichardsonFit.Describe(), F($"{c.Tied.RichardsonFit.Slope / -1.0:F3}")),
            new(F($"distance to the Richardson limit at iteration {c.Tied.Steps[^1]}, tied"), F($"≫ its error estimate {c.Tied.RichardsonError[^1]:G3}"),
                string.Join(", ", c.Tied.DistanceDepths.Select((L, i) => F($"L={L}: {c.Tied.DistRichardson[i][^1]:G3}"))),
                F($"{c.Tied.DistRichardson[^1][^1] / c.Tied.RichardsonError[^1]:G3} (smallest distance / error estimate)")),
            new(F($"distance at iteration {c.Iid.Steps[^1]}, i.i.d. (negative control)"), "does not decrease with L",
                string.Join(", ", c.Iid.DistanceDepths.Select((L, i) => F($"L={L}: {c.Iid.DistZ[i][^1]:G3}"))), "-"),
        }));
        var lt = c.Long.Tied; double lossT = lt.FinalLoss, lossI = c.Long.Iid.FinalLoss;
        var fig2 = new List<Comparison>();
        if (s.Preset == "paper")
            fig2.Add(new("final loss in the authors' convention ℓ/d, tied", "about 1e-6 or below, at most 1e-5", F($"{lossT / s.Long.Dim:G4}"), F($"{lossT / s.Long.Dim / 1e-5:G4} × 1e-5")));
        fig2.Add(new(F($"loss ℓ: iteration 0 → {lt.Data.Iterations}, tied"), "exponential decay (PL)", F($"{lt.Data.Losses[0]:G4} → {lossT:G4}"), F($"{lossT / lt.Data.Losses[0]:G3}")));
        fig2.Add(new("exponential rate −d ln ℓ/dt fitted on the second half, tied", c.Envelope is { } e ? F($"≥ μ = {e.Mu:G4} ({e.From})") : "> 0 (no PL constant registered)",
            F($"{c.LongRate:G4}"), c.Envelope is { } e2 ? F($"{c.LongRate / e2.Mu:G4}") : "-"));
        fig2.Add(new("final loss, i.i.d. (same seed and budget)", "no prediction", F($"{lossI:G4}"), F($"{lossI / lossT:G4} × tied")));
        foreach (var (st, t, i) in c.LongSmoothness)
            fig2.Add(new(F($"L·max_k ‖Z_{{k+1}} − Z_k‖ at iteration {st}"), "tied: O(1) uniformly in t; i.i.d.: O(L)", F($"tied {t:G4}, i.i.d. {i:G4}"), t > 0 ? F($"{i / t:G4}") : "- (tied = 0)"));
        list.Add(("Figure 2: long training", fig2));
        return list;
    }

    private static JsonNode? Num(double x) => double.IsFinite(x) ? JsonValue.Create(x) : double.IsNaN(x) ? null : JsonValue.Create(x > 0 ? "inf" : "-inf");
    private static JsonArray Arr(IEnumerable<double> xs) => new(xs.Select(Num).ToArray());
    private static JsonArray Ints(IEnumerable<int> xs) => new(xs.Select(x => (JsonNode?)JsonValue.Create(x)).ToArray());
    private static JsonArray Rows(IEnumerable<Registry.VerdictRow> rows) => new(rows.Select(r => (JsonNode?)Registry.rowJson(r)).ToArray());

    public static string Machine() => $"{Cpu()}; {Environment.ProcessorCount} cores; {RuntimeInformation.OSDescription}; .NET {Environment.Version}";

    /// <summary>The CPU model from /proc/cpuinfo where there is one.</summary>
    public static string Cpu()
    {
        string cpu = "unknown";
        try
        {
            if (File.Exists("/proc/cpuinfo"))
                cpu = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? cpu;
        }
        catch (IOException) { }
        return cpu;
    }

    private static JsonObject SpecJson(Numerics.Training.RunSpec r) => new()
    {
        ["depth"] = r.Depth, ["width"] = r.Width, ["samples"] = r.Samples, ["dim"] = r.Dim,
        ["activation"] = Activations.Name(r.Activation), ["init"] = r.Init.ToString().ToLowerInvariant(),
        ["scale"] = r.Scale, ["v_scale"] = r.VScale, ["eta"] = r.Eta, ["iterations"] = r.Iterations, ["seed"] = r.Seed,
        ["fault"] = r.Fault.ToString(),
    };

    private static JsonObject RunJson(ReportRun r) => new()
    {
        ["name"] = r.Name, ["directory"] = r.Data.Directory, ["setting"] = SpecJson(r.Spec), ["seconds"] = Num(r.Seconds),
        ["loss_initial"] = Num(r.Data.Losses.Length > 0 ? r.Data.Losses[0] : double.NaN), ["loss_final"] = Num(r.FinalLoss),
        ["status"] = r.Data.Meta.Status, ["max_k_t_depth_increment"] = Num(r.MaxSmoothZ), ["snapshot_steps"] = Ints(r.SnapshotSteps),
        ["verdicts"] = Rows(r.Rows),
    };

    private static JsonObject FitJson(LineFit f) => new()
    {
        ["slope"] = Num(f.Slope), ["intercept"] = Num(f.Intercept), ["ci95_low"] = Num(f.Lo), ["ci95_high"] = Num(f.Hi), ["points"] = f.Points,
    };

    private static JsonObject LadderJson(LadderResult l) => new()
    {
        ["init"] = l.Init,
        ["runs"] = new JsonArray(l.Runs.Select(r => (JsonNode?)RunJson(r)).ToArray()),
        ["smoothness_fit_log10"] = FitJson(l.SmoothnessFit),
        ["reference_depth"] = l.ReferenceDepth,
        ["distance_steps"] = Ints(l.Steps),
        ["distance_depths"] = Ints(l.DistanceDepths),
        ["distance_z"] = new JsonArray(l.DistZ.Select(d => (JsonNode?)Arr(d)).ToArray()),
        ["distance_w"] = new JsonArray(l.DistW.Select(d => (JsonNode?)Arr(d)).ToArray()),
        ["distance_v"] = new JsonArray(l.DistV.Select(d => (JsonNode?)Arr(d)).ToArray()),
        ["distance_fit_log10_final"] = FitJson(l.DistanceFit),
        ["distance_fit_depths"] = Ints(l.DistanceFitDepths),
        ["ladder_verdicts"] = Rows(l.LadderRows),
    };

    public static string Json(ReportContent c)
    {
        var s = c.Settings;
        var root = new JsonObject
        {
            ["format"] = "resode-report/1",
            ["engine_version"] = EngineInfo.Version,
            ["preset"] = s.Preset,
            ["seed"] = s.Seed,
            ["created_utc"] = DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture),
            ["machine"] = new JsonObject
            {
                ["description"] = Machine(), ["cpu"] = Cpu(), ["cores"] = Environment.ProcessorCount, ["os"] = RuntimeInformation.OSDescription,
                ["runtime"] = Environment.Version.ToString(),
            },
            ["notes"] = new JsonArray(s.Notes.Select(n => (JsonNode?)JsonValue.Create(n)).ToArray()),
            ["settings"] = new JsonObject
            {
                ["ladder"] = SpecJson(s.Ladder), ["ladder_depths"] = Ints(s.LadderDepths), ["slope_depths"] = Ints(s.SlopeDepths),
                ["distance_depths"] = Ints(s.DistanceDepths), ["ladder_snapshot_steps"] = Ints(s.LadderSnapshotSteps),
                ["long"] = SpecJson(s.Long), ["long_snapshot_steps"] = Ints(s.LongSnapshotSteps), ["control"] = SpecJson(s.Control),
            },
            ["timings_seconds"] = new JsonObject(c.Timings.Select(kv => KeyValuePair.Create(kv.Key, Num(kv.Value)))),
            ["total_seconds"] = Num(c.TotalSeconds),
            ["summary"] = new JsonArray(Summarize(c.FaithfulRows).Select(r => (JsonNode?)new JsonObject
            {
                ["id"] = r.Id, ["title"] = r.Title, ["worst_verdict"] = r.Verdict, ["measured"] = Num(r.Measured), ["bound"] = Num(r.Bound),
                ["tightness_min"] = Num(r.MinTightness), ["tightness_median"] = Num(r.MedianTightness), ["rows"] = r.Rows, ["holds"] = r.Holds,
                ["seconds"] = Num(r.Seconds),
            }).ToArray()),
            ["comparisons"] = new JsonArray(Comparisons(c).Select(f => (JsonNode?)new JsonObject
            {
                ["figure"] = f.Figure,
                ["rows"] = new JsonArray(f.Rows.Select(r => (JsonNode?)new JsonObject
                    { ["quantity"] = r.Quantity, ["predicted"] = r.Predicted, ["measured"] = r.Measured, ["ratio"] = r.Ratio }).ToArray()),
            }).ToArray()),
            ["figure1"] = new JsonObject { ["tied"] = LadderJson(c.Tied), ["iid"] = LadderJson(c.Iid) },
            ["figure2"] = new JsonObject
            {
                ["tied"] = RunJson(c.Long.Tied), ["iid"] = RunJson(c.Long.Iid),
                ["loss_tied"] = Arr(c.Long.Tied.Data.Losses), ["loss_iid"] = Arr(c.Long.Iid.Data.Losses),
                ["fitted_rate_second_half"] = Num(c.LongRate),
                ["pl_envelope"] = c.Envelope is { } e ? new JsonObject { ["mu"] = Num(e.Mu), ["from"] = e.From } : null,
                ["depth_times_smoothness"] = new JsonArray(c.LongSmoothness.Select(x => (JsonNode?)new JsonObject
                    { ["step"] = x.Step, ["tied"] = Num(x.Tied), ["iid"] = Num(x.Iid) }).ToArray()),
            },
            ["depth_smoothness_bounds"] = new JsonObject
            {
                ["clip_radius"] = Num(c.Bounds.Clip), ["max_layer_gradient"] = Num(c.Bounds.MaxGradient), ["iterations"] = c.Bounds.Iterations,
                ["points"] = new JsonArray(c.Bounds.Points.Select(p => (JsonNode?)new JsonObject
                {
                    ["depth"] = p.Depth, ["measured_max_k_t"] = Num(p.Measured), ["aposteriori_bound_last"] = Num(p.Aposteriori),
                    ["apriori_bound_last"] = Num(p.Apriori), ["aposteriori_tightness"] = Num(p.AposterioriTightness),
                    ["apriori_finite_up_to_iteration"] = p.AprioriFiniteStep, ["apriori_bound_there"] = Num(p.AprioriAtFiniteStep),
                    ["measured_there"] = Num(p.MeasuredAtFiniteStep), ["apriori_tightness_there"] = Num(p.AprioriTightnessAtFiniteStep),
                    ["apriori_tightness"] = Num(p.AprioriTightness), ["clip_fraction_max"] = Num(p.ClipFraction),
                    ["apriori_verdict"] = Registry.rowJson(p.AprioriRow),
                }).ToArray()),
            },
            ["fashion"] = c.Fashion is { } fx ? fx.Json() : new JsonObject { ["skipped"] = c.FashionNote },
            ["negative_controls"] = new JsonArray(c.Controls.Select(k => (JsonNode?)new JsonObject
            {
                ["name"] = k.Name, ["setting"] = k.Setting, ["expected"] = k.Expected, ["is_fault"] = k.IsFault, ["caught"] = k.Caught,
                ["violated_ids"] = new JsonArray(k.ViolatedIds.Select(i => (JsonNode?)JsonValue.Create(i)).ToArray()),
                ["hypothesis_not_met_ids"] = new JsonArray(k.NotMetIds.Select(i => (JsonNode?)JsonValue.Create(i)).ToArray()),
                ["verdicts"] = Rows(k.Rows),
            }).ToArray()),
            ["mutation_score"] = new JsonObject
            {
                ["caught"] = c.Controls.Count(k => k.IsFault && k.Caught), ["injected"] = c.Controls.Count(k => k.IsFault),
            },
            ["figures"] = new JsonArray(c.Figures.Select(f => (JsonNode?)new JsonObject
                { ["name"] = f.Name, ["png"] = $"figures/{f.Name}.png", ["svg"] = $"figures/{f.Name}.svg", ["caption"] = f.Caption }).ToArray()),
        };
        return root.ToJsonString(new JsonSerializerOptions { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
    }

    /// <summary>The report as a list of blocks, rendered to Markdown or HTML.</summary>
    private abstract record Block;
    private sealed record Heading(int Level, string Text) : Block;
    private sealed record Para(string Text) : Block;
    private sealed record Table(string[] Header, List<string[]> Rows) : Block;
    private sealed record Image(string Name, string Caption) : Block;
    private sealed record Bullets(List<string> Items) : Block;

    private static List<Block> Blocks(ReportContent c)
    {
        var s = c.Settings;
        var b = new List<Block>
        {
            new Heading(1, "Implicit regularization of deep ResNets towards neural ODEs: theorems against experiments"),
            new Para(F($"Preset {s.Preset}, seed {s.Seed}, engine {EngineInfo.Version}, {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, total {c.TotalSeconds:F1} s on {Machine()}. ") +
                       "Paper: Marion, Wu, Sander, Biau, ICLR 2024 (arXiv:2309.01213). Every number below is in results.json; the runs are under runs/ and can be checked again with `resode verify runs/<run>`."),
            new Heading(2, "Summary: results of the theory layer on the faithful runs"),
        };
        var sum = Summarize(c.FaithfulRows);
        if (sum.Count == 0)
            b.Add(new Para("No results are registered in the theory layer of this build (Registry.singleRun and Registry.ladder are empty): the experiments and figures below are measured, but no theorem was checked."));
        else
        {
            b.Add(new Para("Aggregated per result over the tied runs of figure 1, the tied ladder and the tied long run: worst verdict (the measured value and bound are those of the worst row), the minimum and median tightness (bound / measured) over the rows that hold, and the total evaluation time."));
            b.Add(new Table(new[] { "result", "title", "verdict", "measured", "bound", "tightness min", "tightness median", "rows (hold)", "runtime s" },
                sum.Select(r => new[] { r.Id, r.Title, r.Verdict, N(r.Measured), N(r.Bound), N(r.MinTightness), N(r.MedianTightness), $"{r.Rows} ({r.Holds})", F($"{r.Seconds:F2}") }).ToList()));
        }
        b.Add(new Heading(2, "Settings"));
        b.Add(new Bullets(new List<string>
        {
            "figure 1 ladder: " + Experiments.Describe(s.Ladder).Replace($"L = {s.Ladder.Depth}, ", "") + $"; L ∈ {{{string.Join(", ", s.LadderDepths)}}}; snapshots at iterations {Compact(s.LadderSnapshotSteps)}",
            "figure 2 long training: " + Experiments.Describe(s.Long),
            "negative controls: " + Experiments.Describe(s.Control),
            "data x_i, y_i ~ N(0, I_d), A = B = I; tied: one N(0,1) matrix W for every layer, V = 0; i.i.d.: independent N(0,1) W_k, V = 0 (same seed and budget).",
        }.Concat(s.Notes).ToList()));
        b.Add(new Heading(2, "Timings"));
        b.Add(new Table(new[] { "experiment", "seconds" }, c.Timings.Select(kv => new[] { kv.Key, F($"{kv.Value:F2}") }).Append(new[] { "total", F($"{c.TotalSeconds:F2}") }).ToList()));

        foreach (var (fig, rows) in Comparisons(c))
        {
            b.Add(new Heading(2, fig));
            b.Add(new Table(new[] { "quantity", "paper predicts", "measured", "ratio" }, rows.Select(r => new[] { r.Quantity, r.Predicted, r.Measured, r.Ratio }).ToList()));
            if (fig.StartsWith("Figure 1 left", StringComparison.Ordinal))
            {
                b.Add(new Table(new[] { "L", "max ‖ΔZ‖ tied", "L · max ‖ΔZ‖ tied", "max ‖ΔZ‖ i.i.d.", "final loss tied", "final loss i.i.d.", "seconds (tied + i.i.d.)" },
                    c.Tied.Runs.Zip(c.Iid.Runs).Select(p => new[]
                    {
                        p.First.Spec.Depth.ToString(CultureInfo.InvariantCulture), N(p.First.MaxSmoothZ), N(p.First.Spec.Depth * p.First.MaxSmoothZ), N(p.Second.MaxSmoothZ),
                        N(p.First.FinalLoss), N(p.Second.FinalLoss), F($"{p.First.Seconds + p.Second.Seconds:F2}"),
                    }).ToList()));
                var bp = c.Bounds.Points;
                if (bp.Count > 0)
                {
                    b.Add(new Para(F($"The bounds of result A beside the measurement (tied ladder, at the last iterate {c.Bounds.Iterations}, where both bounds are largest). A.apriori needs clipped gradient descent: the tied runs were trained again with clip radius C = {c.Bounds.Clip:G3}, just above the largest per-layer gradient ‖G_k‖ = {c.Bounds.MaxGradient:G4} observed on the unclipped runs, so the clip never activates (largest clip fraction {bp.Max(p => p.ClipFraction):G3}) and the trajectories are those of plain gradient descent, as the paper notes. The A.apriori verdict is the worst over the iterates; where its bound overflows double precision, the last iterate with a finite bound is shown.")));
                    b.Add(new Table(new[] { "L", "measured max_{k,t} ‖ΔZ‖", "A.aposteriori bound", "tightness", "A.apriori bound", "tightness", "A.apriori finite up to iteration", "A.apriori tightness there", "A.apriori verdict" },
                        bp.Select(p => new[]
                        {
                            p.Depth.ToString(CultureInfo.InvariantCulture), N(p.Measured), N(p.Aposteriori), N(p.AposterioriTightness), N(p.Apriori), N(p.AprioriTightness),
                            p.AprioriFiniteStep.ToString(CultureInfo.InvariantCulture), N(p.AprioriTightnessAtFiniteStep), p.AprioriRow.Verdict + " (" + p.AprioriRow.Detail + ")",
                        }).ToList()));
                    var tp = bp.Select(p => double.IsFinite(p.AprioriTightness) ? p.AprioriTightness : double.PositiveInfinity).ToArray();
                    if (tp.Max() > 100)
                        b.Add(new Para(F($"Finding: A.apriori is loose by {N(tp.Min())}× to {N(tp.Max())}× at the last iterate{(tp.Any(double.IsPositiveInfinity) ? " (infinite: the bound overflows double precision before the end of the horizon)" : "")}. It uses only the initialization, the data norms and C: H and P carry a factor e^κ each with κ = s1·M_V·M_W and M ≤ ‖Z(0)‖₂ + C·t, and the recursion multiplies (1 + η a) with a ∝ H²P, so the bound grows like exp(t·e^(3κ)); it is a statement about the order in L, not a usable number. A.aposteriori, fed with the run's own maxima, is the bound to read for numbers (tightness {N(bp.Min(p => p.AposterioriTightness))}× to {N(bp.Max(p => p.AposterioriTightness))}×). On the figure, A.apriori values more than three decades above the rest are drawn capped.")));
                }
                AddFigures(b, c, "fig1-");
            }
            else if (fig.StartsWith("Figure 1 right", StringComparison.Ordinal))
            {
                b.Add(new Table(new[] { "L", F($"distance tied (iteration {c.Tied.Steps[^1]})"), "W part", "V part", "ratio to next depth", "predicted ratio", "distance i.i.d." },
                    c.Tied.DistanceDepths.Select((L, i) =>
                    {
                        double r = i + 1 < c.Tied.DistanceDepths.Length ? c.Tied.DistZ[i][^1] / c.Tied.DistZ[i + 1][^1] : double.NaN;
                        double p = i + 1 < c.Tied.DistanceDepths.Length
                            ? (1.0 / L - 1.0 / c.Tied.ReferenceDepth) / (1.0 / c.Tied.DistanceDepths[i + 1] - 1.0 / c.Tied.ReferenceDepth) : double.NaN;
                        return new[] { L.ToString(CultureInfo.InvariantCulture), N(c.Tied.DistZ[i][^1]), N(c.Tied.DistW[i][^1]), N(c.Tied.DistV[i][^1]), N(r), N(p), N(c.Iid.DistZ[i][^1]) };
                    }).ToList()));
                AddFigures(b, c, "fig2-");
            }
            else
            {
                AddFigures(b, c, "fig3-");
                AddFigures(b, c, "fig4-");
            }
        }

        b.Add(new Heading(2, "Real data: Fashion-MNIST (the paper's figure 3)"));
        if (c.Fashion is { } fx)
        {
            b.Add(new Para(F($"{fx.Data.Description}. Depth L = {fx.Shape.Depth}, width m = {fx.Shape.Width}, d = {fx.Shape.Dim}, full-batch gradient descent with η = {fx.Options.Eta:G4} for {fx.Options.Iterations} iterations, every cell with the same data, seed and budget ({fx.Seconds:F1} s); the same code as `{fx.Options.CommandLine()}`. Run directories: runs/fashion/.")));
            b.Add(new Table(FashionExperiment.SummaryHeader, fx.SummaryRows()));
            b.Add(new Para(FashionExperiment.Prediction));
            b.Add(new Bullets(fx.Findings()));
            AddFigures(b, c, "fashion-");
        }
        else b.Add(new Para(c.FashionNote ?? "not run"));

        if (c.Architectures.Count > 0)
        {
            b.Add(new Heading(2, "New architectures"));
            b.Add(new Para(ArchitectureSection.Intro));
            b.Add(new Table(ArchitectureSection.Header, ArchitectureSection.TableRows(c.Architectures)));
        }

        b.Add(new Heading(2, "Negative controls"));
        int inj = c.Controls.Count(k => k.IsFault), caught = c.Controls.Count(k => k.IsFault && k.Caught);
        b.Add(new Para($"Deliberately broken settings, so that a reader sees that the checks can fail. A fault counts as caught when some result reports it VIOLATED; another broken setting when some result is violated or reports an unmet hypothesis. Mutation score (engine faults caught / injected): {caught}/{inj}."));
        b.Add(new Table(new[] { "control", "setting", "expected failure", "rows", "caught by (violated)", "caught by (hypothesis not met)", "caught" },
            c.Controls.Select(k => new[]
            {
                k.Name, k.Setting, k.Expected, k.Rows.Count.ToString(CultureInfo.InvariantCulture),
                Join(k.ViolatedIds), Join(k.NotMetIds), k.Name.StartsWith("faithful", StringComparison.Ordinal) ? (k.ViolatedIds.Any() ? "FALSE ALARM" : "n/a (clean)")
                    : k.Caught ? "yes" : k.Rows.Count == 0 ? "NO (no result evaluated)" : "NO",
            }).ToList()));

        var detail = c.FaithfulRows.Concat(c.Controls.SelectMany(k => k.Rows)).ToList();
        if (detail.Count > 0)
        {
            b.Add(new Heading(2, "All verdict rows"));
            b.Add(new Table(new[] { "input", "result", "verdict", "measured", "bound", "tightness", "detail" },
                detail.Select(r => new[] { r.Input, r.Id, r.Verdict, N(r.Measured), N(r.Bound), N(r.Tightness), r.Detail }).ToList()));
        }
        return b;
    }

    private static string Join(IEnumerable<string> ids) { var a = ids.ToArray(); return a.Length == 0 ? "-" : string.Join(", ", a); }

    private static string Compact(int[] steps) =>
        steps.Length > 8 ? $"{steps[0]}, {steps[1]}, {steps[2]}, …, {steps[^1]} ({steps.Length})" : string.Join(", ", steps);

    private static void AddFigures(List<Block> b, ReportContent c, string prefix)
    {
        foreach (var f in c.Figures.Where(f => f.Name.StartsWith(prefix, StringComparison.Ordinal))) b.Add(new Image(f.Name, f.Caption));
    }

    private static string Cell(string s) => s.Replace("|", "\\|").Replace("\n", " ");

    public static string Markdown(ReportContent c)
    {
        var sb = new StringBuilder();
        foreach (var bl in Blocks(c))
        {
            switch (bl)
            {
                case Heading h: sb.Append('\n').Append(new string('#', h.Level)).Append(' ').AppendLine(h.Text).AppendLine(); break;
                case Para p: sb.AppendLine(p.Text).AppendLine(); break;
                case Bullets l: foreach (var i in l.Items) sb.Append("- ").AppendLine(i); sb.AppendLine(); break;
                case Image im: sb.AppendLine($"![{im.Caption}](figures/{im.Name}.png)").AppendLine().AppendLine($"*{im.Caption}* ([svg](figures/{im.Name}.svg))").AppendLine(); break;
                case Table t:
                    sb.AppendLine("| " + string.Join(" | ", t.Header.Select(Cell)) + " |");
                    sb.AppendLine("|" + string.Concat(t.Header.Select(_ => "---|")));
                    foreach (var r in t.Rows) sb.AppendLine("| " + string.Join(" | ", r.Select(Cell)) + " |");
                    sb.AppendLine();
                    break;
            }
        }
        return sb.ToString();
    }

    public static string Html(ReportContent c, string figuresDir)
    {
        static string E(string s) => WebUtility.HtmlEncode(s);
        var sb = new StringBuilder();
        sb.AppendLine("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>resode report</title><style>");
        sb.AppendLine("body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222;line-height:1.45}" +
                      "table{border-collapse:collapse;margin:1em 0;font-size:0.9em}td,th{border:1px solid #ccc;padding:3px 7px;text-align:left;vertical-align:top}" +
                      "th{background:#f0f0f0}figure{display:inline-block;margin:0.5em;max-width:48%}figure img{max-width:100%;border:1px solid #ddd}" +
                      "figcaption{font-size:0.85em;color:#555}h2{border-bottom:1px solid #ddd;padding-bottom:0.2em;margin-top:1.6em}");
        sb.AppendLine("</style></head><body>");
        foreach (var bl in Blocks(c))
        {
            switch (bl)
            {
                case Heading h: sb.AppendLine($"<h{h.Level}>{E(h.Text)}</h{h.Level}>"); break;
                case Para p: sb.AppendLine($"<p>{E(p.Text)}</p>"); break;
                case Bullets l: sb.AppendLine("<ul>" + string.Concat(l.Items.Select(i => $"<li>{E(i)}</li>")) + "</ul>"); break;
                case Image im:
                    var png = Convert.ToBase64String(File.ReadAllBytes(Path.Combine(figuresDir, im.Name + ".png")));
                    sb.AppendLine($"<figure><img alt=\"{E(im.Caption)}\" src=\"data:image/png;base64,{png}\"><figcaption>{E(im.Caption)}</figcaption></figure>");
                    break;
                case Table t:
                    sb.Append("<table><tr>").Append(string.Concat(t.Header.Select(x => $"<th>{E(x)}</th>"))).AppendLine("</tr>");
                    foreach (var r in t.Rows) sb.Append("<tr>").Append(string.Concat(r.Select(x => $"<td>{E(x)}</td>"))).AppendLine("</tr>");
                    sb.AppendLine("</table>");
                    break;
            }
        }
        sb.AppendLine("</body></html>");
        return sb.ToString();
    }
}
