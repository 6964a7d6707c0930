using System.Globalization;
using System.Net;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json.Nodes;
using ResOdeProofs.Numerics;
using ResOdeProofs.Theory;
using static ResOdeProofs.Cli.Report.ReportJson;

namespace ResOdeProofs.Cli.Report;

/// <summary>
/// Writes a report directory from the experiments' results: figures/, docs/theorems/ (the pages the
/// verdicts link to), results.json (docs/report-format.md), report.md and index.html.
/// </summary>
internal static partial class ReportWriter
{
    /// <summary>A bound whose tightness (bound / measured) exceeds this factor is flagged as loose.</summary>
    public const double LooseFactor = 100;

    private static string N(double x) =>
        double.IsPositiveInfinity(x) ? "∞" : double.IsNegativeInfinity(x) ? "−∞" : VerifyCommand.Num(x);

    /// <summary>A tightness beside the comparison it is of: a 0 measured against a 0 bound (bound / measured = 0/0) is
    /// "exact (0 = 0)", a 0 measured under a positive bound "∞ (measured 0)".</summary>
    private static string T(double tightness, double measured, double bound) =>
        !double.IsPositiveInfinity(tightness) || measured != 0 ? N(tightness) : bound == 0 ? Exact : "∞ (measured 0)";

    /// <summary>The tightness cell of a comparison whose measured value and bound are both 0.</summary>
    internal const string Exact = "exact (0 = 0)";

    /// <summary>A run-integrity check (recorded against recomputed numbers within rounding), not a bound of the theory.</summary>
    /// <summary>The run-integrity (I.*) and evidence (E.*, E.profile's page included) checks: recorded numbers against recomputed ones within a rounding allowance.</summary>
    public static bool IsIntegrityCheck(string? doc) =>
        doc?.EndsWith("/RunIntegrity.md", StringComparison.Ordinal) == true || doc?.EndsWith("/Evidence.md", StringComparison.Ordinal) == true
        || doc?.EndsWith("/DepthProfile.md", StringComparison.Ordinal) == true;
    private static string F(FormattableString f) => f.ToString(CultureInfo.InvariantCulture);

    /// <summary>
    /// The public entry point: draws the figures and writes every file of the report into
    /// <paramref name="dir"/> (which the caller has claimed; nothing outside it is touched). The time
    /// spent on the figures is added to <see cref="ReportContent.TotalSeconds"/> and to the timings.
    /// </summary>
    public static void Write(ReportContent c, string dir, ReportOptions? options = null)
    {
        var o = options ?? new ReportOptions();
        var sw = System.Diagnostics.Stopwatch.StartNew();
        string figDir = Path.Combine(dir, "figures");
        var docs = new ReportDocs(o.DocsBase);
        // The theorem pages need nothing of the content: rendered on a thread of their own while the figures are drawn.
        var pages = o.PageLanes >= 2 ? Task.Run(() => docs.Write(dir)) : null;
        if (pages is null) docs.Write(dir);
        c.Figures.Clear();
        try { c.Figures.AddRange(DrawFigures(c, figDir, o.PageLanes)); }
        finally { pages?.GetAwaiter().GetResult(); }
        c.Timings[TimingKey("figures")] = sw.Elapsed.TotalSeconds;
        c.TotalSeconds += sw.Elapsed.TotalSeconds;
        // results.json beside the page's blocks, which report.md and index.html render alike (computed once for both)
        var json = o.PageLanes >= 2 ? Task.Run(() => Json(c, o)) : Task.FromResult(Json(c, o));
        var blocks = Blocks(c, docs);
        File.WriteAllText(Path.Combine(dir, "report.md"), RenderMarkdown(blocks));
        File.WriteAllText(Path.Combine(dir, "index.html"), RenderHtml(blocks, HtmlTitle(c), figDir));
        File.WriteAllText(Path.Combine(dir, "results.json"), json.GetAwaiter().GetResult());
    }

    /// <summary>
    /// The figures in their order on the page: the plots and PNGs two at a time (each figure its own plot and files; nothing
    /// is shared between them), then the SVGs in the page's order.
    /// </summary>
    private static List<Figure> DrawFigures(ReportContent c, string figDir, int lanes)
    {
        var s = c.Settings;
        int m = s.Long.Width, d = s.Long.Dim;
        var coeffs = Enumerable.Range(0, 6).Select(i => (i * (m - 1) / 5, (3 * i) % d)).ToArray();
        Func<IEnumerable<Figure>> One(Func<Figure> f) => () => new[] { f() };
        var draw = new List<Func<IEnumerable<Figure>>>
        {
            One(() => Figures.Smoothness(figDir, c.Tied, c.Iid, s.SlopeDepths, c.Bounds)),
            One(() => Figures.DistanceCurves(figDir, c.Tied, 'W')),
            One(() => Figures.DistanceCurves(figDir, c.Tied, 'V')),
            One(() => Figures.DistanceCurves(figDir, c.Iid, 'W')),
            One(() => Figures.DistanceCurves(figDir, c.Iid, 'V')),
            One(() => Figures.DistanceCurves(figDir, c.Tied)),
            One(() => Figures.DistanceHeatmap(figDir, c.Tied)),
            One(() => Figures.DistanceHeatmap(figDir, c.Iid)),
            One(() => Figures.Loss(figDir, c.Long, c.Envelope, c.PlRun)),
            One(() => Figures.Coefficients(figDir, c.Long.Tied, s.CoefficientSteps, coeffs)),
            One(() => Figures.Coefficients(figDir, c.Long.Iid, s.CoefficientSteps, coeffs)),
            One(() => Figures.Coefficients(figDir, c.Long.Tied, s.CoefficientSteps, coeffs, ofV: true)),
            One(() => Figures.Coefficients(figDir, c.Long.Iid, s.CoefficientSteps, coeffs, ofV: true)),
            () => Figures.BoundsOverTime(figDir, c).ToList(),
        };
        if (c.Fashion is { } fashion) draw.Add(() => fashion.Figures(figDir).ToList());
        return DrawInLanes(draw, lanes);
    }

    /// <summary>
    /// Runs the figure groups <paramref name="draw"/> (each returns the figures it drew) on <paramref name="lanes"/> threads:
    /// each group's plots and PNGs at once, its SVGs left to the actions the figures add to <see cref="Figures.SvgLater"/>,
    /// which run afterwards, every group's in the page's order. A group that returns a figure without leaving its SVG
    /// (or leaves one without returning its figure) fails the report: the page would embed an empty or a missing figure.
    /// With one lane the groups run one after another and write their SVGs at once.
    /// </summary>
    internal static List<Figure> DrawInLanes(IReadOnlyList<Func<IEnumerable<Figure>>> draw, int lanes)
    {
        if (lanes <= 1) return draw.SelectMany(f => f()).ToList();
        // The plots and PNGs two at a time; the SVGs after them, one after another in the page's order (Figures.SvgLater).
        var svgs = new List<Func<Figure>>[draw.Count];
        try
        {
            Parallel.For(0, draw.Count, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, lanes) }, i =>
            {
                var later = Figures.SvgLater = new List<Func<Figure>>();
                try
                {
                    int n = draw[i]().Count();
                    if (n != later.Count) throw new InvalidOperationException($"figure group {i}: {n} figure(s) drawn but {later.Count} saved");
                    svgs[i] = later;
                }
                finally { Figures.SvgLater = null; }
            });
        }
        catch (AggregateException e) when (e.InnerExceptions.Count > 0)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(e.InnerExceptions[0]); // the figure's own failure, as when drawn alone
        }
        return svgs.SelectMany(f => f).Select(svg => svg()).ToList();
    }

    /// <summary>A stable snake_case key for a timing label ("figure 1 (tied ladder)" → "figure_1_tied_ladder").</summary>
    public static string TimingKey(string label)
    {
        var sb = new StringBuilder();
        foreach (char ch in label.ToLowerInvariant())
            sb.Append(char.IsAsciiLetterOrDigit(ch) ? ch : '_');
        var k = sb.ToString();
        while (k.Contains("__", StringComparison.Ordinal)) k = k.Replace("__", "_", StringComparison.Ordinal);
        return k.Trim('_');
    }

    /// <summary>
    /// The smallest and largest tightness of a row that holds: the tightest comparison (nearest to failing) and the
    /// loosest (the bound's worst case). NaN for a row that does not hold.
    /// </summary>
    public static (double Min, double Max) TightnessRange(Registry.VerdictRow r) => (r.TightnessMin, r.TightnessMax);

    /// <summary>The measured value and bound a row is shown with: its loosest comparison's when it holds, else the deciding one's.</summary>
    public static (double Measured, double Bound) WorstPair(Registry.VerdictRow r) =>
        double.IsNaN(r.LoosestMeasured) && double.IsNaN(r.LoosestBound) ? (r.Measured, r.Bound) : (r.LoosestMeasured, r.LoosestBound);

    private static int Rank(string verdict) => VerdictKey(verdict) switch
    {
        "violated" => 4,
        "error" => 3,
        "hypothesis_not_met" => 2,
        // a holding row has a comparison to show; a not-applicable one has none
        "holds" => 1,
        _ => 0,
    };

    public static List<SummaryRow> Summarize(IEnumerable<Registry.VerdictRow> rows) =>
        rows.GroupBy(r => r.Id).Select(g =>
        {
            var decided = g.OrderByDescending(r => Rank(r.Verdict)).ThenBy(r => double.IsNaN(r.Tightness) ? double.MaxValue : TightnessRange(r).Min).First();
            var holding = g.Where(r => VerdictKey(r.Verdict) == "holds").ToList();
            // the median over the rows of each row's loosest comparison
            var hi = holding.Select(r => TightnessRange(r).Max).Where(t => !double.IsNaN(t)).Order().ToArray();
            var hiRow = holding.Where(r => !double.IsNaN(TightnessRange(r).Max)).OrderByDescending(r => TightnessRange(r).Max).FirstOrDefault();
            var loRow = holding.Where(r => !double.IsNaN(TightnessRange(r).Min)).OrderBy(r => TightnessRange(r).Min).FirstOrDefault();
            double med = hi.Length == 0 ? double.NaN : hi.Length % 2 == 1 ? hi[hi.Length / 2] : 0.5 * (hi[hi.Length / 2 - 1] + hi[hi.Length / 2]);
            int Count(string key) => g.Count(r => VerdictKey(r.Verdict) == key);
            var reasons = g.Where(r => VerdictKey(r.Verdict) is "hypothesis_not_met" or "not_applicable" or "error")
                .GroupBy(r => (VerdictKey(r.Verdict), r.Detail)).OrderByDescending(x => x.Count())
                .Select(x => (x.Key.Item1, x.Key.Detail, x.Count())).ToList();
            // the worst row: a violated (or erring) row when there is one, else the loosest comparison of the rows that hold (a
            // row whose hypothesis is not met has no pair to show)
            var (m, bd) = Rank(decided.Verdict) >= 3 || hiRow is null ? (decided.Measured, decided.Bound) : WorstPair(hiRow);
            return new SummaryRow(g.Key, decided.Title, decided.Doc, decided.Provenance, g.Count(), Count("holds"), Count("violated"), Count("hypothesis_not_met"), Count("not_applicable"),
                Count("error"), m, bd, loRow is null ? double.NaN : TightnessRange(loRow).Min, med,
                hiRow is null ? double.NaN : TightnessRange(hiRow).Max, hiRow is null ? "" : $"{hiRow.Input}: {hiRow.TightnessMaxAt}", g.Sum(r => r.Seconds), reasons,
                loRow?.Measured ?? double.NaN, loRow?.Bound ?? double.NaN, loRow is null ? "" : $"{loRow.Input}: {loRow.TightnessMinAt}");
        }).ToList();

    /// <summary>"holds (7 of 8; 1 hypothesis not met)": the counts behind a result's status.</summary>
    public static string StatusText(SummaryRow r)
    {
        var parts = new List<string>();
        if (r.Violated > 0) parts.Add($"{r.Violated} violated");
        if (r.Errors > 0) parts.Add($"{r.Errors} error");
        if (r.NotMet > 0) parts.Add($"{r.NotMet} hypothesis not met");
        if (r.NotApplicable > 0) parts.Add($"{r.NotApplicable} not applicable");
        string rest = parts.Count == 0 ? "" : "; " + string.Join(", ", parts);
        return r.Status switch
        {
            "violated" => $"VIOLATED ({r.Violated} of {r.Rows} rows{(r.Holds > 0 ? $"; {r.Holds} hold" : "")})",
            "error" => $"error ({r.Errors} of {r.Rows} rows)",
            "holds" => $"holds ({r.Holds} of {r.Rows}{rest})",
            _ => $"not checked ({string.Join(", ", parts)})",
        };
    }

    /// <summary>Why a result was not checked: its most frequent unmet hypotheses or reasons, with counts.</summary>
    public static string Reason(SummaryRow r, int max = 2) =>
        string.Join("; ", r.Reasons.Take(max).Select(x => $"{x.Verdict.Replace('_', ' ')} on {x.Count} of {r.Rows} rows: {Shorten(x.Detail, 220)}"));

    private static string Shorten(string s, int n) => s.Length <= n ? s : s[..(n - 1)].TrimEnd() + "…";

    /// <summary>The ratio of the rate curve 1/L − 1/L_ref at depths a and b, as D.curve's row records the curve.</summary>
    private static double DistanceRatio(LadderResult l, int a, int b) =>
        Experiments.Constant(l.CurveRow, RateCurve.curveName(a)) / Experiments.Constant(l.CurveRow, RateCurve.curveName(b));

    private static Comparison Slope(string key, string quantity, LineFit f, string[]? checkedBy, string? reference = null, string? note = null) =>
        new(key, quantity, "−1 (O(1/L))", -1, new[] { new Measure("slope", f.Slope) }, f.Lo, f.Hi, f.Slope / -1.0, reference, checkedBy, note);

    /// <summary>
    /// A rate line as its verdict row decided it: the order the row decided (A.rate's fit, D.rate's and D.curve's worst
    /// snapshot) and the upper end it compared with the claimed order (A.rate's with the model allowance), not the page's fit.
    /// </summary>
    private static Comparison Decided(Comparison cmp, Registry.VerdictRow? row)
    {
        if (row is null) return cmp;
        string? orderName = row.Constants.Select(kv => kv.Item1).FirstOrDefault(n => n.StartsWith("order decided", StringComparison.Ordinal) || n.StartsWith("observed order", StringComparison.Ordinal));
        if (orderName is null) return cmp;
        const string upperName = "its 95% upper end (model allowance included)";
        double upper = row.Constants.Any(kv => kv.Item1 == upperName) ? Experiments.Constant(row, upperName) : TightnessRange(row).Max;
        var ms = new List<Measure> { new($"{row.Id}'s {orderName}", Experiments.Constant(row, orderName)) };
        if (!double.IsNaN(upper))
            ms.Add(new(row.Constants.Any(kv => kv.Item1 == upperName) ? $"{row.Id}'s 95% upper end (model allowance included)" : $"{row.Id}'s 95% upper end", upper));
        // the ratio of the values shown: the order decided over the claimed order 1 (for the slope −1 the paper predicts); it
        // was the page's own fitted slope over −1, a number shown nowhere on the line (D.curve's line: order 1.007, ratio 1.112)
        double order = Experiments.Constant(row, orderName);
        return cmp.PredictedValue == -1.0
            ? cmp with { Measured = ms, CiLow = double.NaN, CiHigh = double.NaN, Ratio = order,
                         Note = (cmp.Note is { Length: > 0 } n ? n.TrimEnd() + " " : "") + "ratio: the order decided over the claimed order 1." }
            : cmp with { Measured = ms, CiLow = double.NaN, CiHigh = double.NaN, Ratio = double.NaN };
    }

    /// <summary>A slope over several seeds: the mean with its 95% interval across seeds, and each seed's value.</summary>
    private static Comparison? SeedsRow(SeedSpread? sd, string key, string quantity, string what, Func<SeedSpread, double[]> pick)
    {
        if (sd is null) return null;
        var xs = pick(sd);
        var (m, lo, hi, _) = sd.Interval(what);
        return new(key, $"{quantity}: mean over {xs.Length} seeds, 95% interval across seeds", "−1 (O(1/L))", -1,
            xs.Select((x, i) => new Measure($"seed {sd.Seeds[i]}", x)).Prepend(new Measure("mean", m)).ToList(), lo, hi, m / -1.0,
            CheckedBy: new[] { "fig1.seeds" }, CheckedRows: sd.Row is { } row ? new[] { row } : null,
            Note: "the spread from seed to seed (data and initialization drawn again), as fig1.seeds states it (the other results are checked on the report's seed only)");
    }

    /// <summary>The figure-by-figure comparison of the paper's predictions with the measurements.</summary>
    public static List<(string Figure, string Id, List<Comparison> Rows)> Comparisons(ReportContent c)
    {
        var s = c.Settings;
        var list = new List<(string, string, List<Comparison>)>();
        var tf = c.Tied.SmoothnessFit; var inf = c.Iid.SmoothnessFit;
        var arate = c.Tied.SmoothnessRow;
        list.Add(("Figure 1 left: depth smoothness", "fig1-left", new List<Comparison?>
        {
            Decided(Slope("smoothness_slope_tied", $"slope of log max_{{k,t}} ‖Z_{{k+1}} − Z_k‖ vs log L, tied, L ∈ {{{string.Join(", ", s.SlopeDepths)}}} (the paper's depths)", tf,
                new[] { "A.rate" }, "paper figure 1 left: slope −1",
                arate is null ? "no A.rate row: the slope depths are no ladder" : F($"the order decided and its 95% upper end are A.rate's on {arate.Input} (verdict {arate.Verdict}: the upper end must be ≥ the claimed order 1).")), arate),
            SeedsRow(c.Seeds, "smoothness_slope_tied_across_seeds", "same (tied, slope depths)", "depth smoothness", x => x.SmoothSlopes),
            Decided(new("smoothness_slope_iid", "same, i.i.d. (negative control)", "no decay in L (slope ≈ 0; increments O(1))", 0, new[] { new Measure("slope", inf.Slope) }, inf.Lo, inf.Hi,
                CheckedBy: new[] { "A.rate" }, CheckedRows: c.Iid.SmoothnessRow is { } iidRow ? new[] { iidRow } : Array.Empty<Registry.VerdictRow>(),
                Note: F($"the order decided and its 95% upper end are A.rate's on the i.i.d. {c.Iid.SmoothnessRow?.Input ?? "ladder (no row)"}, listed under negative controls: a negative control, so A.rate is expected to be violated here.")), c.Iid.SmoothnessRow),
            new("smoothness_deepest_iid_over_tied", "max_{k,t} ‖Z_{k+1} − Z_k‖ at the deepest L, i.i.d. / tied", "≫ 1", double.NaN,
                new[] { new Measure("i.i.d.", c.Iid.Runs[^1].MaxSmoothZ), new Measure("tied", c.Tied.Runs[^1].MaxSmoothZ) },
                Ratio: c.Iid.Runs[^1].MaxSmoothZ / c.Tied.Runs[^1].MaxSmoothZ),
        }.Where(x => x is not null).Select(x => x!).ToList()));
        var df = c.Tied.DistanceFit;
        var last = c.Tied.DistZ.Select(d => d[^1]).ToArray();
        int it = c.Tied.Steps[^1], L0 = c.Tied.DistanceDepths[0], L1 = c.Tied.DistanceDepths[^1];
        double pred = DistanceRatio(c.Tied, L0, L1);
        list.Add(("Figure 1 right: convergence to the deepest run", "fig1-right", new List<Comparison?>
        {
            Decided(Slope("distance_slope_tied", F($"slope of log distance at iteration {it} vs log L (L ≤ {c.Tied.ReferenceDepth / 4}), tied"), df, new[] { "D.curve" }, "paper figure 1 right: distance O(1/L)"), c.Tied.CurveRow),
            SeedsRow(c.Seeds, "distance_slope_tied_across_seeds", F($"same (tied, L ≤ {c.Tied.ReferenceDepth / 4})"), "distance", x => x.DistanceSlopes),
            new("distance_ratio_tied", F($"distance at iteration {it}, L = {L0} / L = {L1}, tied"), F($"{pred:G4} (C·(1/L − 1/L_ref))"), pred,
                new[] { new Measure(F($"L = {L0}"), last[0]), new Measure(F($"L = {L1}"), last[^1]) }, Ratio: last[0] / last[^1] / pred, CheckedBy: new[] { "D.curve" }),
            Decided(Slope("distance_richardson_slope_tied", F($"slope of log distance to the Richardson limit of L = {c.Tied.ReferenceDepth / 2}, {c.Tied.ReferenceDepth} at iteration {it} vs log L (L ≤ {c.Tied.ReferenceDepth / 2}), tied"),
                c.Tied.RichardsonFit, new[] { "D.rate" }, note: F($"error estimate of the limit {c.Tied.RichardsonError[^1]:G3} (distance between the Richardson limits of the two deepest pairs)")), c.Tied.LadderRows.FirstOrDefault(r => r.Id == "D.rate")),
            new("distance_richardson_tied", F($"distance to the Richardson limit at iteration {it}, tied"), F($"≫ its error estimate {c.Tied.RichardsonError[^1]:G3}"), c.Tied.RichardsonError[^1],
                c.Tied.DistanceDepths.Select((L, i) => new Measure(F($"L = {L}"), c.Tied.DistRichardson[i][^1])).ToList(),
                Ratio: c.Tied.DistRichardson[^1][^1] / c.Tied.RichardsonError[^1], Note: "ratio: smallest distance / error estimate"),
            new("distance_iid", F($"distance at iteration {c.Iid.Steps[^1]}, i.i.d. (negative control)"), "does not decrease with L", double.NaN,
                c.Iid.DistanceDepths.Select((L, i) => new Measure(F($"L = {L}"), c.Iid.DistZ[i][^1])).ToList()),
        }.Where(x => x is not null).Select(x => x!).ToList()));
        var lt = c.Long.Tied; double lossT = lt.FinalLoss, lossI = c.Long.Iid.FinalLoss;
        var pl = c.PlRun ?? lt;
        var fig2 = new List<Comparison>();
        if (s.Preset == "paper")
            fig2.Add(new("final_loss_authors_units_tied", "final loss in the authors' convention ℓ/d, tied", "about 1e-6 or below, at most 1e-5", 1e-5,
                new[] { new Measure("ℓ/d", lossT / s.Long.Dim) }, Ratio: lossT / s.Long.Dim / 1e-5, Reference: "paper figure 2: ~1e-6 after 10 000 iterations"));
        fig2.Add(new("loss_decay_tied", F($"loss ℓ: iteration 0 → {lt.Data.Iterations}, tied (η = {lt.Spec.Eta:G4})"), "exponential decay (PL)", double.NaN,
            new[] { new Measure("iteration 0", lt.Data.Losses[0]), new Measure("last", lossT) }, Ratio: lossT / lt.Data.Losses[0],
            CheckedBy: c.PlRun is null ? new[] { "C.gdDecay" } : null,
            Note: c.PlRun is null ? null : F($"this run's step is beyond the PL results' descent limit; they are checked on {pl.Name} (η = {pl.Spec.Eta:G4}) below")));
        if (c.PlRun is { } pr)
            fig2.Add(new("loss_decay_pl_run", F($"loss ℓ: iteration 0 → {pr.Data.Iterations}, tied, {pr.Name} (η = {pr.Spec.Eta:G4}, inside the PL hypotheses)"), "exponential decay (PL)", double.NaN,
                new[] { new Measure("iteration 0", pr.Data.Losses[0]), new Measure("last", pr.FinalLoss) }, Ratio: pr.FinalLoss / pr.Data.Losses[0], CheckedBy: new[] { "C.gdDecay" }));
        fig2.Add(new("loss_rate_tied", F($"exponential rate −d ln ℓ/dt fitted on the second half, {pl.Name}"), c.Envelope is { } e ? F($"≥ {e.Mu:G4} ({e.From})") : "> 0 (no PL constant registered)",
            c.Envelope?.Mu ?? double.NaN, new[] { new Measure("rate", c.FittedRate) }, Ratio: c.Envelope is { } e2 ? c.FittedRate / e2.Mu : double.NaN,
            CheckedBy: new[] { "C.mu0", "C.gdDecay" }));
        fig2.Add(new("final_loss_iid", "final loss, i.i.d. (same seed and budget)", "no prediction", double.NaN, new[] { new Measure("i.i.d.", lossI) }, Ratio: lossI / lossT,
            Note: "ratio: i.i.d. / tied"));
        foreach (var (st, t, i) in c.DepthTimesSmoothness)
            fig2.Add(new(F($"depth_smoothness_iteration_{st}"), F($"L·max_k ‖Z_{{k+1}} − Z_k‖ at iteration {st}"), "tied: O(1) uniformly in t; i.i.d.: O(L)", double.NaN,
                new[] { new Measure("tied", t), new Measure("i.i.d.", i) }, Ratio: t > 0 ? i / t : double.NaN,
                // the bound that says something at this length of training: the linearised centre's (about 1x on figure 2), not
                // A.aposteriori's Grönwall factor from t = 0 (10⁴³ here: it would hold for any value)
                CheckedBy: new[] { "A.split.centre.segments" },
                Note: "ratio: i.i.d. / tied; checked at this depth only (one depth: the O(1) against O(L) in L is the ladder's, figure 1): A.split.centre.segments bounds every pair's increment between snapshots"));
        list.Add(("Figure 2: long training", "fig2", fig2));
        return list;
    }

    // ------------------------------------------------------------------ results.json

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

    /// <summary>The commit the engine was built from (EngineInfo.Commit, "+dirty" when the checkout had changes), or null when unknown.</summary>
    public static string? Commit() => EngineInfo.Commit is { } c && c != "unknown" ? c : null;

    private static JsonObject SpecJson(Numerics.Training.RunSpec r)
    {
        var o = new JsonObject
        {
            ["depth"] = r.Depth, ["width"] = r.Width, ["samples"] = r.Samples, ["dim"] = r.Dim,
            ["activation"] = Activations.Name(r.Activation), ["init"] = r.Init.ToString().ToLowerInvariant(),
            ["iterations"] = r.Iterations, ["seed"] = r.Seed, ["fault"] = r.Fault.ToString(),
        };
        return o.Put("scale", r.Scale).Put("v_scale", r.VScale).Put("eta", r.Eta).Put("clip", r.Clip ?? double.NaN);
    }

    private static JsonObject RunJson(ReportRun r)
    {
        var o = new JsonObject { ["name"] = r.Name, ["directory"] = r.Data.Directory, ["setting"] = SpecJson(r.Spec), ["status"] = r.Data.Meta.Status };
        o.Put("seconds", r.Seconds).Put("loss_initial", r.Data.Losses.Length > 0 ? r.Data.Losses[0] : double.NaN).Put("loss_final", r.FinalLoss)
            .Put("max_k_t_depth_increment", r.MaxSmoothZ);
        o["snapshot_steps"] = Ints(r.SnapshotSteps);
        o["verdicts"] = Rows(r.Rows);
        return o;
    }

    private static JsonObject FitJson(LineFit f) =>
        Numbers(("slope", f.Slope), ("intercept", f.Intercept), ("ci95_low", f.Lo), ("ci95_high", f.Hi), ("points", f.Points));

    private static JsonArray Matrix(double[][] rows, string key) =>
        new(rows.Select(d => (JsonNode?)new JsonObject().PutArray(key, d)).ToArray());

    private static JsonObject LadderJson(LadderResult l) => new()
    {
        ["init"] = l.Init,
        ["runs"] = new JsonArray(l.Runs.Select(r => (JsonNode?)RunJson(r)).ToArray()),
        ["smoothness_fit_log10"] = FitJson(l.SmoothnessFit),
        ["reference_depth"] = l.ReferenceDepth,
        ["distance_steps"] = Ints(l.Steps),
        ["distance_depths"] = Ints(l.DistanceDepths),
        ["distance_z"] = Matrix(l.DistZ, "values"),
        ["distance_w"] = Matrix(l.DistW, "values"),
        ["distance_v"] = Matrix(l.DistV, "values"),
        ["distance_richardson"] = Matrix(l.DistRichardson, "values"),
        ["distance_fit_log10_final"] = FitJson(l.DistanceFit),
        ["distance_fit_depths"] = Ints(l.DistanceFitDepths),
        ["richardson_fit_log10_final"] = FitJson(l.RichardsonFit),
        ["ladder_verdicts"] = Rows(l.LadderRows),
    };

    private static JsonObject SummaryJson(SummaryRow r)
    {
        var o = new JsonObject
        {
            ["id"] = r.Id, ["title"] = r.Title, ["doc"] = r.Doc, ["status"] = r.Status, ["rows"] = r.Rows,
            ["counts"] = new JsonObject
            {
                ["holds"] = r.Holds, ["violated"] = r.Violated, ["hypothesis_not_met"] = r.NotMet, ["not_applicable"] = r.NotApplicable, ["error"] = r.Errors,
            },
        };
        o.Put("tightness_max", r.MaxTightness);
        o["tightness_max_input"] = r.MaxTightnessAt;
        o.Put("worst_measured", r.Measured).Put("worst_bound", r.Bound).Put("tightness_median", r.MedianTightness).Put("tightness_min", r.MinTightness);
        o["tightness_min_input"] = r.MinTightnessAt;
        o.Put("tightest_measured", r.TightestMeasured).Put("tightest_bound", r.TightestBound);
        o["loose"] = r.Loose;
        o.Put("seconds", r.Seconds);
        o["reasons"] = new JsonArray(r.Reasons.Select(x => (JsonNode?)new JsonObject { ["verdict"] = x.Verdict, ["detail"] = x.Detail, ["rows"] = x.Count }).ToArray());
        return o;
    }

    private static JsonObject ComparisonJson(Comparison r, IReadOnlyDictionary<string, SummaryRow> sum)
    {
        var o = new JsonObject { ["key"] = r.Key, ["quantity"] = r.Quantity, ["predicted"] = r.Predicted };
        o.Put("predicted_value", r.PredictedValue);
        o["measured"] = new JsonArray(r.Measured.Select(m => (JsonNode?)new JsonObject { ["label"] = m.Label }.Put("value", m.Value)).ToArray());
        o.Put("ci95_low", r.CiLow).Put("ci95_high", r.CiHigh).Put("ratio", r.Ratio);
        o["reference"] = r.Reference;
        o["checked_by"] = new JsonArray((r.CheckedBy ?? Array.Empty<string>()).Select(id => (JsonNode?)new JsonObject
            { ["id"] = id, ["status"] = r.StatusOf(id, sum) is { } x ? x.Status : "not_evaluated" }).ToArray());
        o["note"] = r.Note;
        return o;
    }

    public static string Json(ReportContent c, ReportOptions? options = null)
    {
        var s = c.Settings;
        var faithful = c.FaithfulRows.ToList();
        var sum = Summarize(faithful);
        var byId = sum.ToDictionary(r => r.Id);
        var root = new JsonObject
        {
            ["format"] = "resode-report/3",
            ["engine_version"] = EngineInfo.Version,
            ["git_commit"] = Commit(),
            ["command_line"] = options?.CommandLine,
            ["preset"] = s.Preset,
            ["seed"] = s.Seed,
            ["created_utc"] = DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture),
            ["machine"] = new JsonObject
            {
                ["description"] = Machine(), ["cpu"] = Cpu(), ["cores"] = Environment.ProcessorCount, ["os"] = RuntimeInformation.OSDescription,
                ["runtime"] = Environment.Version.ToString(),
            },
            ["notes"] = Strings(s.Notes),
            ["settings"] = new JsonObject
            {
                ["ladder"] = SpecJson(s.Ladder), ["ladder_depths"] = Ints(s.LadderDepths), ["slope_depths"] = Ints(s.SlopeDepths),
                ["distance_depths"] = Ints(s.DistanceDepths), ["ladder_snapshot_steps"] = Ints(s.LadderSnapshotSteps),
                ["long"] = SpecJson(s.Long), ["long_snapshot_steps"] = Ints(s.LongSnapshotSteps), ["control"] = SpecJson(s.Control),
                ["pl_run"] = s.PlRun is null ? null : SpecJson(s.PlRun),
                ["flow_run"] = s.FlowRun is null ? null : SpecJson(s.FlowRun),
            },
            ["timings_seconds"] = Numbers(c.Timings.Select(kv => (kv.Key, kv.Value)).Append(("total", c.TotalSeconds)).ToArray()),
            ["headline"] = HeadlineJson(c, faithful, sum),
            ["summary"] = new JsonArray(sum.Select(r => (JsonNode?)SummaryJson(r)).ToArray()),
            ["comparisons"] = new JsonArray(Comparisons(c).Select(f => (JsonNode?)new JsonObject
            {
                ["figure"] = f.Figure, ["key"] = f.Id,
                ["rows"] = new JsonArray(f.Rows.Select(r => (JsonNode?)ComparisonJson(r, byId)).ToArray()),
            }).ToArray()),
            ["figure1"] = new JsonObject { ["tied"] = LadderJson(c.Tied), ["iid"] = LadderJson(c.Iid) },
            ["seeds"] = c.Seeds is null ? null : SeedsJson(c.Seeds),
            ["figure2"] = Figure2Json(c),
            ["depth_smoothness_bounds"] = BoundsJson(c.Bounds),
            ["fashion"] = c.Fashion is { } fx ? fx.Json() : new JsonObject { ["skipped"] = c.FashionNote },
            ["architectures"] = new JsonArray(c.Architectures.Select(a => (JsonNode?)new JsonObject
                { ["architecture"] = a.Spec.Architecture, ["directory"] = a.Dir, ["verdicts"] = Rows(a.Rows) }.Put("seconds", a.Seconds)).ToArray()),
            ["negative_controls"] = new JsonArray(c.Controls.Select(k => (JsonNode?)new JsonObject
            {
                ["name"] = k.Name, ["setting"] = k.Setting, ["expected"] = k.Expected, ["is_fault"] = k.IsFault, ["is_clean"] = k.IsClean, ["caught"] = k.Caught,
                ["violated_ids"] = Strings(k.ViolatedIds), ["hypothesis_not_met_ids"] = Strings(k.NotMetIds), ["verdicts"] = Rows(k.Rows),
            }).ToArray()),
            ["mutation_score"] = new JsonObject
            {
                ["caught"] = c.Controls.Count(k => k.IsFault && k.Caught), ["injected"] = c.Controls.Count(k => k.IsFault),
            },
            ["figures"] = new JsonArray(c.Figures.Select(f => (JsonNode?)new JsonObject
                { ["name"] = f.Name, ["png"] = $"figures/{f.Name}.png", ["svg"] = $"figures/{f.Name}.svg", ["caption"] = f.Caption }).ToArray()),
        };
        return root.ToJsonString(Options);
    }

    private static JsonObject HeadlineJson(ReportContent c, List<Registry.VerdictRow> faithful, List<SummaryRow> sum)
    {
        var counts = new JsonObject();
        foreach (var k in new[] { "holds", "violated", "hypothesis_not_met", "not_applicable", "error" })
            counts[k] = faithful.Count(r => VerdictKey(r.Verdict) == k);
        return new JsonObject
        {
            ["verdict_rows"] = faithful.Count,
            ["verdict_counts"] = counts,
            ["results"] = sum.Count,
            ["results_by_status"] = new JsonObject(sum.GroupBy(r => r.Status).OrderBy(g => g.Key, StringComparer.Ordinal)
                .Select(g => KeyValuePair.Create(g.Key, (JsonNode?)JsonValue.Create(g.Count())))),
            ["faults_caught"] = c.Controls.Count(k => k.IsFault && k.Caught),
            ["faults_injected"] = c.Controls.Count(k => k.IsFault),
            ["false_alarms"] = c.Controls.Where(k => k.IsClean).Sum(k => k.ViolatedIds.Count()),
            ["not_checked"] = Strings(sum.Where(r => r.Status == "not_checked").Select(r => r.Id)),
            ["loose"] = Strings(sum.Where(r => r.Loose).Select(r => r.Id)),
        };
    }

    private static JsonObject SeedsJson(SeedSpread sd)
    {
        var o = new JsonObject
        {
            ["seeds"] = new JsonArray(sd.Seeds.Select(x => (JsonNode?)JsonValue.Create(x)).ToArray()),
            ["slope_depths"] = Ints(sd.SlopeDepths), ["reference_depth"] = sd.ReferenceDepth, ["distance_depths"] = Ints(sd.DistanceDepths),
            ["max_depth_increment"] = Matrix(sd.MaxSmooth, "values"), ["distance_final"] = Matrix(sd.Distances, "values"),
        };
        o.PutArray("smoothness_slopes", sd.SmoothSlopes).PutArray("distance_slopes", sd.DistanceSlopes).Put("seconds", sd.Seconds);
        foreach (var (key, what) in new[] { ("smoothness_slope", "depth smoothness"), ("distance_slope", "distance") })
        {
            var (m, lo, hi, dev) = sd.Interval(what);
            o[key + "_across_seeds"] = Numbers(("mean", m), ("ci95_low", lo), ("ci95_high", hi), ("sd", dev));
        }
        o["verdicts"] = Rows(sd.Row is null ? new List<Registry.VerdictRow>() : new List<Registry.VerdictRow> { sd.Row });
        return o;
    }

    private static JsonObject Figure2Json(ReportContent c)
    {
        var o = new JsonObject { ["tied"] = RunJson(c.Long.Tied), ["iid"] = RunJson(c.Long.Iid), ["pl_run"] = c.PlRun is null ? null : RunJson(c.PlRun), ["flow_run"] = c.FlowRun is null ? null : RunJson(c.FlowRun) };
        o.PutArray("loss_tied", c.Long.Tied.Data.Losses).PutArray("loss_iid", c.Long.Iid.Data.Losses).Put("fitted_rate_second_half", c.FittedRate);
        o["pl_envelope"] = c.Envelope is { } e ? new JsonObject { ["from"] = e.From }.Put("mu", e.Mu) : null;
        o["depth_times_smoothness"] = new JsonArray(c.DepthTimesSmoothness.Select(x => (JsonNode?)new JsonObject { ["step"] = x.Step }.Put("tied", x.Tied).Put("iid", x.Iid)).ToArray());
        return o;
    }

    private static JsonObject BoundsJson(BoundsResult b)
    {
        var o = new JsonObject { ["iterations"] = b.Iterations };
        o.Put("clip_radius", b.Clip).Put("max_layer_gradient", b.MaxGradient);
        o["points"] = new JsonArray(b.Points.Select(p =>
        {
            var q = Numbers(("measured_max_k_t", p.Measured), ("aposteriori_bound_last", p.Aposteriori), ("apriori_bound_last", p.Apriori),
                ("aposteriori_tightness", p.AposterioriTightness), ("apriori_bound_there", p.AprioriAtFiniteStep), ("measured_there", p.MeasuredAtFiniteStep),
                ("apriori_tightness_there", p.AprioriTightnessAtFiniteStep), ("apriori_tightness", p.AprioriTightness), ("clip_fraction_max", p.ClipFraction));
            q["depth"] = p.Depth;
            q["apriori_finite_up_to_iteration"] = p.AprioriFiniteStep;
            q["apriori_verdict"] = Row(p.AprioriRow);
            return (JsonNode?)q;
        }).ToArray());
        return o;
    }

    // ------------------------------------------------------------------ the document

    /// <summary>
    /// A table cell: text, optionally a verdict of a result (coloured and linked to the result's page), or a
    /// <paramref name="Tone"/> (the same colours for a count or a status that is no single result's verdict), and a flag.
    /// </summary>
    private sealed record Cell(string Text, string? Verdict = null, string? Href = null, string? Flag = null, string? Tone = null)
    {
        public static implicit operator Cell(string s) => new(s);
    }

    private abstract record Block;
    private sealed record Heading(int Level, string Text, string? Id = null) : Block;
    private sealed record Para(string Text) : Block;
    private sealed record Table(string[] Header, List<Cell[]> Rows) : Block;
    private sealed record Image(string Name, string Caption) : Block;
    private sealed record Bullets(List<string> Items) : Block;
    /// <summary>The headline box (id "headline").</summary>
    private sealed record Box(string Id, List<Block> Inner) : Block;
    /// <summary>A part collapsed by default in HTML.</summary>
    private sealed record Collapsed(string Summary, List<Block> Inner) : Block;
    /// <summary>The table of contents: the level-2 headings of the document.</summary>
    private sealed record Contents : Block;

    private static Cell VerdictCell(Registry.VerdictRow r, ReportDocs docs) =>
        new(r.Verdict, VerdictKey(r.Verdict), docs.Href(r.Doc), IsIntegrityCheck(r.Doc) ? null : LooseFlag(TightnessRange(r).Max));

    private static string? LooseFlag(double tightness) =>
        tightness > LooseFactor ? $"loose: {(double.IsPositiveInfinity(tightness) ? "∞" : N(tightness))}× > {LooseFactor:G}×" : null;

    private static Cell[] RowCells(Registry.VerdictRow r, ReportDocs docs) =>
        new Cell[] { r.Input, new(r.Id, Href: docs.Href(r.Doc)), VerdictCell(r, docs), N(WorstPair(r).Measured), N(WorstPair(r).Bound),
            T(TightnessRange(r).Max, WorstPair(r).Measured, WorstPair(r).Bound), T(TightnessRange(r).Min, r.Measured, r.Bound), r.Detail };

    private static readonly string[] RowHeader = { "input", "result", "verdict", "measured (loosest)", "bound (loosest)", "tightness max (loosest)", "tightness min (tightest)", "detail" };

    private static string MeasuredText(Comparison r)
    {
        string v = r.Measured.Count == 1 && r.Measured[0].Label is "slope" or "rate"
            ? F($"{r.Measured[0].Value:F3}")
            : string.Join(", ", r.Measured.Select(m => $"{m.Label}: {N(m.Value)}"));
        if (r.Key.EndsWith("_across_seeds", StringComparison.Ordinal))
            v = string.Join(", ", r.Measured.Select(m => F($"{m.Label}: {m.Value:F3}")));
        return double.IsNaN(r.CiLow) ? v : v + F($" [95% CI {r.CiLow:F3}, {r.CiHigh:F3}]");
    }

    /// <summary>The headline's closing part: the loose bounds, and the results not checked with the reason.</summary>
    private static List<Block> LooseAndNotChecked(List<SummaryRow> sum, ReportDocs docs)
    {
        var b = new List<Block>();
        var loose = sum.Where(r => r.Loose).ToList();
        if (loose.Count > 0)
            b.Add(new Para($"Loose bounds (some comparison's bound more than {LooseFactor:G}× the measured value; they hold but say little about the number; the run-integrity checks I.* and the evidence checks E.*, which compare recorded numbers with recomputed ones, are not counted): " +
                               string.Join(", ", loose.Select(r => $"{r.Id} up to {N(r.MaxTightness)}×")) + "."));
        var notChecked = sum.Where(r => r.Status == "not_checked").ToList();
        if (notChecked.Count == 0) b.Add(new Para("Every result of the theory layer reached its conclusion on at least one faithful run."));
        else
        {
            b.Add(new Para($"Not checked in this run ({notChecked.Count} of {sum.Count} results: no faithful run meets their hypotheses, so their conclusion was not evaluated):"));
            b.Add(new Table(new[] { "result", "claim", "why not" },
                notChecked.Select(r => new Cell[] { new(r.Id, "hypothesis_not_met", docs.Href(r.Doc)), r.Title, Reason(r) }).ToList()));
        }
        return b;
    }

    private static List<Block> Headline(ReportContent c, List<Registry.VerdictRow> faithful, List<SummaryRow> sum, ReportDocs docs)
    {
        var inner = new List<Block> { new Heading(2, "At a glance", "at-a-glance") };
        int Count(string k) => faithful.Count(r => VerdictKey(r.Verdict) == k);
        int inj = c.Controls.Count(k => k.IsFault), caught = c.Controls.Count(k => k.IsFault && k.Caught);
        int falseAlarms = c.Controls.Where(k => k.IsClean).Sum(k => k.ViolatedIds.Count());
        var byStatus = sum.GroupBy(r => r.Status).ToDictionary(g => g.Key, g => g.Count());
        int St(string k) => byStatus.GetValueOrDefault(k);
        string verdictLine = $"{faithful.Count} verdict rows on the faithful runs: {Count("holds")} hold, {Count("violated")} violated, {Count("hypothesis_not_met")} hypothesis not met, {Count("not_applicable")} not applicable" +
                             (Count("error") > 0 ? $", {Count("error")} error" : "") + ".";
        inner.Add(new Para(verdictLine));
        inner.Add(new Table(new[] { "results", "holds", "violated", "error", "not checked", "engine faults caught", "false alarms on the clean controls" },
            new List<Cell[]>
            {
                new Cell[]
                {
                    sum.Count.ToString(CultureInfo.InvariantCulture), new(St("holds").ToString(CultureInfo.InvariantCulture), Tone: "holds"),
                    new(St("violated").ToString(CultureInfo.InvariantCulture), Tone: St("violated") > 0 ? "violated" : null),
                    new(St("error").ToString(CultureInfo.InvariantCulture), Tone: St("error") > 0 ? "error" : null),
                    new(St("not_checked").ToString(CultureInfo.InvariantCulture), Tone: St("not_checked") > 0 ? "hypothesis_not_met" : null),
                    new($"{caught}/{inj}", Tone: caught == inj ? "holds" : "violated"),
                    new(falseAlarms.ToString(CultureInfo.InvariantCulture), Tone: falseAlarms == 0 ? "holds" : "violated"),
                },
            }));
        inner.AddRange(LooseAndNotChecked(sum, docs));
        return new List<Block> { new Box("headline", inner) };
    }

    /// <summary>
    /// What a rate result's measured value and bound are, read from its summary: a bound of −1 is a fitted slope against the
    /// claimed −1 (A.rate, fig1.seeds), a bound of 1 an observed order of decay against the claimed order 1 (B.rate, D.rate,
    /// D.curve). The sentence names the results as their rows say, so that it cannot drift from them (it once called all five
    /// a fitted slope).
    /// </summary>
    internal static string RateSentence(IEnumerable<SummaryRow> sum)
    {
        var rates = sum.Where(r => RateIds.Contains(r.Id)).ToList();
        string Ids(double bound) => string.Join(", ", rates.Where(r => r.Bound == bound).Select(r => r.Id));
        var parts = new List<string>();
        if (Ids(-1.0) is { Length: > 0 } slopes) parts.Add($"the fitted slope of log error against log depth, against the claimed −1 ({slopes})");
        if (Ids(1.0) is { Length: > 0 } orders) parts.Add($"the observed order of decay (minus that slope), against the claimed order 1 ({orders})");
        return parts.Count == 0 ? "For the rate results" : $"For the rate results the measured value and bound are {string.Join("; ", parts)}; for all of them";
    }

    /// <summary>The results decided by a fitted order of decay over depths (docs/theorems: Rate.fs's statements).</summary>
    private static readonly HashSet<string> RateIds = new(StringComparer.Ordinal) { "A.rate", "B.rate", "D.rate", "D.curve", "fig1.seeds" };

    private static List<Block> Blocks(ReportContent c, ReportDocs docs)
    {
        var s = c.Settings;
        var faithful = c.FaithfulRows.ToList();
        var sum = Summarize(faithful);
        var byId = sum.ToDictionary(r => r.Id);
        var b = new List<Block>
        {
            new Heading(1, "Implicit regularization of deep ResNets towards neural ODEs: theorems against experiments"),
            new Para(F($"Preset {s.Preset}, seed {s.Seed}, engine {EngineInfo.Version}{(Commit() is { } cm ? ", commit " + cm : "")}, {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, total {c.TotalSeconds:F1} s on {Machine()}. ") +
                     "Paper: Marion, Wu, Sander, Biau, ICLR 2024 (arXiv:2309.01213). Every number below is in results.json (format: docs/report-format.md); the report is a study (study.toml): its runs are under cells/<hash>/run, each can be checked again with `resode verify cells/<hash>/run`, and `resode sweep merge` of this directory rebuilds the page from them. Some rows are of runs made in memory from the cells' runs and not written (their input ends in \"(in memory)\"): A.apriori's clipped copies of the tied ladder (clipped gradient descent trained again from the same initialization), and the negative controls' bumped and smoothed snapshots. Each verdict links to the page of its result."),
        };
        b.AddRange(Headline(c, faithful, sum, docs));
        b.Add(new Contents());
        b.Add(new Heading(2, "Results of the theory layer on the faithful runs", "summary"));
        if (sum.Count == 0)
            b.Add(new Para("No results are registered in the theory layer of this build (Registry.singleRun and Registry.ladder are empty): the experiments and figures below are measured, but no theorem was checked."));
        else
        {
            b.Add(new Para($"One line per result over the tied runs of figure 1, the tied ladder and the tied long run{(c.PlRun is null ? "" : ", the run inside the PL hypotheses")}{(c.FlowRun is null ? "" : ", the gradient flow")}{(c.Seeds?.Row is null ? "" : ", the tied ladder over the seeds (fig1.seeds)")}: its status with the count of rows in each verdict, the tightness (bound / measured; for a lower bound measured / bound, ≥ 1 when it holds) over the rows that hold: first the largest, the loosest comparison (the bound's worst case, flagged above {LooseFactor:G}×), then the median of the rows' loosest and the smallest, the tightest comparison (nearest to failing; a violation is below 1); the measured value and bound of the worst row (the loosest comparison, or the violated row), and the evaluation time. {RateSentence(sum)} the tightness is the upper end of the order's 95% interval over the claimed order 1: a one-sided test, which holds unless the whole interval lies below order 1 (a slope steeper than −1 holds; an interval of width ≥ 1 is inconclusive, hypothesis not met). A tightness of 1 on a lemma whose bound is the measurement itself (the notes say \"holds for any weights\") is not closeness to a violation. Every row is in the appendix."));
            b.Add(SummaryTable(sum, docs));
            b.Add(new Para(Notation));
        }

        foreach (var (fig, id, rows) in Comparisons(c))
        {
            b.Add(new Heading(2, fig, id));
            b.Add(new Para("“checked by” gives the verdict of the theory-layer results that decide the statement on these runs; a line without one is a measurement set beside the paper's prediction, not a checked claim."));
            b.Add(new Table(new[] { "quantity", "paper predicts", "measured", "ratio", "checked by", "note" },
                rows.Select(r => new Cell[]
                {
                    r.Quantity, r.Predicted + (r.Reference is null ? "" : $" ({r.Reference})"), MeasuredText(r), N(r.Ratio),
                    CheckedByCell(r, byId, docs), r.Note ?? "",
                }).ToList()));
            if (id == "fig1-left")
            {
                b.Add(new Table(new[] { "L", "max ‖ΔZ‖ tied", "L · max ‖ΔZ‖ tied", "max ‖ΔZ‖ i.i.d.", "final loss tied", "final loss i.i.d.", "seconds (tied + i.i.d.)" },
                    c.Tied.Runs.Zip(c.Iid.Runs).Select(p => new Cell[]
                    {
                        p.First.Spec.Depth.ToString(CultureInfo.InvariantCulture), N(p.First.MaxSmoothZ), N(p.First.Spec.Depth * p.First.MaxSmoothZ), N(p.Second.MaxSmoothZ),
                        N(p.First.FinalLoss), N(p.Second.FinalLoss), F($"{p.First.Seconds + p.Second.Seconds:F2}"),
                    }).ToList()));
                AddBounds(b, c, docs);
                AddFigures(b, c, "fig1-left-");
            }
            else if (id == "fig1-right")
            {
                b.Add(new Table(new[] { "L", F($"distance tied (iteration {c.Tied.Steps[^1]})"), "W part", "V part", "ratio to next depth", "predicted ratio", "distance i.i.d." },
                    c.Tied.DistanceDepths.Select((L, i) =>
                    {
                        double r = i + 1 < c.Tied.DistanceDepths.Length ? c.Tied.DistZ[i][^1] / c.Tied.DistZ[i + 1][^1] : double.NaN;
                        double p = i + 1 < c.Tied.DistanceDepths.Length ? DistanceRatio(c.Tied, L, c.Tied.DistanceDepths[i + 1]) : double.NaN;
                        return new Cell[] { L.ToString(CultureInfo.InvariantCulture), N(c.Tied.DistZ[i][^1]), N(c.Tied.DistW[i][^1]), N(c.Tied.DistV[i][^1]), N(r), N(p), N(c.Iid.DistZ[i][^1]) };
                    }).ToList()));
                AddFigures(b, c, "fig1-right-");
                AddSeeds(b, c);
            }
            else AddFigures(b, c, "fig2-");
        }

        b.Add(new Heading(2, "Bounds against their measurement over training time", "bounds-over-time"));
        b.Add(new Para("Each result's bound and the quantity it bounds at every iterate of one faithful run (the bound from the run's own trace, the measurement recomputed from the weights), so that the reader sees how the slack evolves, not only its worst case."));
        AddFigures(b, c, "bounds-");

        b.Add(new Heading(2, "Real data: Fashion-MNIST (a residual MLP in the theorems' setting; the paper's figure-3 network is `resode train --arch bn-conv`)", "fashion"));
        if (c.Fashion is { } fx)
        {
            b.Add(new Para(fx.Scope()));
            b.Add(new Para(F($"{fx.Data.Description}. Depth L = {fx.Shape.Depth}, width m = {fx.Shape.Width}, d = {fx.Shape.Dim}, full-batch gradient descent with η = {fx.Options.Eta:G4} for {fx.Options.Iterations} iterations, every cell with the same data, seed and budget ({fx.Seconds:F1} s); the same code as `{fx.Options.CommandLine()}`. Run directories: runs/fashion/.")));
            b.Add(new Table(FashionExperiment.SummaryHeader, fx.SummaryRows().Select(r => r.Select(x => (Cell)x).ToArray()).ToList()));
            b.Add(new Para(FashionExperiment.AccuracyNote));
            b.Add(new Para(FashionExperiment.Prediction));
            b.Add(new Bullets(fx.Findings()));
            AddFigures(b, c, "fig3-");
        }
        else b.Add(new Para(c.FashionNote ?? "not run"));

        if (c.Architectures.Count > 0)
        {
            b.Add(new Heading(2, "New architectures", "architectures"));
            b.Add(new Para(ArchitectureSection.Intro));
            b.Add(new Table(ArchitectureSection.Header, c.Architectures.SelectMany(a => a.Rows.Select(v => new Cell[]
            {
                a.Spec.Architecture, ArchitectureSection.Setting(a.Spec), new(v.Id, Href: docs.Href(v.Doc)), VerdictCell(v, docs),
                N(WorstPair(v).Measured), N(WorstPair(v).Bound), T(TightnessRange(v).Max, WorstPair(v).Measured, WorstPair(v).Bound), T(TightnessRange(v).Min, v.Measured, v.Bound), F($"{a.Seconds:F2}"),
            })).ToList()));
        }

        b.Add(new Heading(2, "Negative controls", "controls"));
        int inj = c.Controls.Count(k => k.IsFault), caught = c.Controls.Count(k => k.IsFault && k.Caught);
        b.Add(new Para($"Deliberately broken settings, so that a reader sees that the checks can fail. A fault counts as caught when some result reports it VIOLATED; another broken setting when a result is violated or reports an unmet hypothesis for the reason the setting was built for (an unmet hypothesis of another cause, such as m < n on a run not built for it, catches nothing). Two controls are clean (nothing may be violated on them). Mutation score (engine faults caught / injected): {caught}/{inj}."));
        b.Add(new Table(new[] { "control", "setting", "expected", "rows", "violated", "hypothesis not met", "caught by", "caught" },
            c.Controls.Select(k =>
            {
                Cell verdict = k.IsClean
                    ? (k.ViolatedIds.Any() ? new Cell("FALSE ALARM", Tone: "violated") : new Cell("n/a (clean)", Tone: "holds"))
                    : k.Caught ? new Cell("yes", Tone: "holds") : new Cell(k.Rows.Count == 0 ? "NO (no result evaluated)" : "NO", Tone: "violated");
                return new Cell[] { k.Name, k.Setting, k.Expected, k.Rows.Count.ToString(CultureInfo.InvariantCulture), Join(k.ViolatedIds), Join(k.NotMetIds), k.IsClean ? "-" : Join(k.CaughtByIds), verdict };
            }).ToList()));

        b.Add(new Heading(2, "Settings", "settings"));
        b.Add(new Bullets(new List<string>
        {
            "figure 1 ladder: " + Experiments.Describe(s.Ladder).Replace($"L = {s.Ladder.Depth}, ", "") + $"; L ∈ {{{string.Join(", ", s.LadderDepths)}}}; snapshots at iterations {Compact(s.LadderSnapshotSteps)}; the ladder results are evaluated on the depths that divide the deepest one ({string.Join(", ", s.DistanceDepths)})",
            "figure 2 long training: " + Experiments.Describe(s.Long) + $"; snapshots at iterations {Compact(s.LongSnapshotSteps)}",
        }.Concat(s.PlRun is null ? Array.Empty<string>() : new[] { "run inside the PL hypotheses: " + Experiments.Describe(s.PlRun) })
         .Concat(s.FlowRun is null ? Array.Empty<string>() : new[] { "gradient flow: " + Experiments.Describe(s.FlowRun).Replace("η = ", "output spacing ") + " (Dormand–Prince 5(4), rtol 1e-8)" })
         .Concat(new[]
        {
            "negative controls: " + Experiments.Describe(s.Control),
            "data x_i, y_i ~ N(0, I_d), A = B = I; tied: one N(0,1) matrix W for every layer, V = 0; i.i.d.: independent N(0,1) W_k, V = 0 (same seed and budget).",
        }).Concat(s.Notes).ToList()));
        b.Add(new Heading(2, "Timings", "timings"));
        b.Add(new Para("Wall seconds of the report's own work per part, after the cells: reading each experiment's runs from its cells, the ladders' and the in-memory experiments' verification (clipped copies, seeds, controls), the figures. The cells' training and verification ran before, in the worker processes: their seconds are each run's own (the tables above, results.json's runs), and `total` is the whole report."));
        b.Add(new Table(new[] { "part", "seconds" }, c.Timings.Select(kv => new Cell[] { kv.Key.Replace('_', ' '), F($"{kv.Value:F2}") }).Append(new Cell[] { "total", F($"{c.TotalSeconds:F2}") }).ToList()));

        var detail = faithful.Concat(c.Controls.SelectMany(k => k.Rows)).ToList();
        if (detail.Count > 0)
        {
            b.Add(new Heading(2, "Appendix: all verdict rows", "appendix"));
            b.Add(new Para($"{faithful.Count} rows on the faithful runs, then {detail.Count - faithful.Count} rows of the negative controls (where violations are expected)."));
            b.Add(new Collapsed($"Show all {detail.Count} verdict rows", new List<Block> { new Table(RowHeader, detail.Select(r => RowCells(r, docs)).ToList()) }));
        }
        return b;
    }

    /// <summary>The symbols the rows' details, notes and findings use, once for the reader.</summary>
    internal const string Notation =
        "Notation in the details and notes: slack = bound − measured (≥ 0 when a comparison holds; measured − bound for a lower bound); tightness = bound / measured (for a lower bound, such as C.mu0's or C.plAlongRun's, measured / bound), ≥ 1 when a comparison holds, \"exact (0 = 0)\" where both are 0 (a bit-exact replay: E.replay, E.flowReplay) and ∞ where only the measured value is; " +
        "L depth, m width, n samples, d state dimension, η step, t = iteration·η; Z_k = (W_k, V_k) the parameters of layer k and Δ_k = Z_{k+1} − Z_k; " +
        "h_k^i the state of sample i after layer k and p_k^i its adjoint; H the largest state norm ‖h‖, P the largest Σ_i ‖p_k^i‖; " +
        "M_W, M_V the largest spectral norms ‖W_k‖₂, ‖V_k‖₂; s0, s1, s2 the activation's constants (|σ(x)| ≤ s0 + s1|x|, |σ′| ≤ s1, |σ″| ≤ s2); " +
        "κ the Lipschitz constant of a block in h (for the MLP s1·M_V·M_W); μ₀ the PL constant at initialization and loss_⊥ the part of the loss no weights of the network remove; " +
        "each result's page (the link of its verdict) defines the rest.";

    /// <summary>One line per result: status with counts, tightness max (loosest, flagged when loose) / median / min (tightest), worst row, runtime.</summary>
    private static Table SummaryTable(List<SummaryRow> sum, ReportDocs docs) =>
        new(new[] { "result", "title", "provenance", "status (rows)", "tightness max (loosest)", "tightness median", "tightness min (tightest)", "worst row (loosest): measured", "bound", "runtime s" },
            sum.Select(r => new Cell[]
            {
                new(r.Id, Href: docs.Href(r.Doc)), r.Title, r.Provenance, new(StatusText(r), r.Status == "not_checked" ? "hypothesis_not_met" : r.Status, docs.Href(r.Doc)),
                new(T(r.MaxTightness, r.Measured, r.Bound), Flag: r.Loose ? LooseFlag(r.MaxTightness) : null), T(r.MedianTightness, r.Measured, r.Bound),
                T(r.MinTightness, r.TightestMeasured, r.TightestBound), N(r.Measured), N(r.Bound), F($"{r.Seconds:F2}"),
            }).ToList());

    private static Cell CheckedByCell(Comparison r, IReadOnlyDictionary<string, SummaryRow> byId, ReportDocs docs)
    {
        if (r.CheckedBy is not { Length: > 0 } ids) return "-";
        // The colour is the worst status among the results named; the link goes to the first one's page.
        var rows = ids.Select(id => r.StatusOf(id, byId)).ToList();
        string text = string.Join("; ", ids.Zip(rows, (id, x) => x is null ? $"{id}: not evaluated" : $"{id}: {StatusText(x)}"));
        string status = rows.Any(x => x is null || x.Status == "not_checked") ? "hypothesis_not_met"
            : rows.Any(x => x!.Status == "violated") ? "violated" : rows.Any(x => x!.Status == "error") ? "error" : "holds";
        var href = docs.Href(rows.FirstOrDefault(x => x is not null)?.Doc);
        return href is null ? new Cell(text, Tone: status) : new Cell(text, status, href);
    }

    private static void AddSeeds(List<Block> b, ReportContent c)
    {
        if (c.Seeds is not { } sd) return;
        b.Add(new Heading(2, $"Figure 1 across {sd.Seeds.Length} seeds", "seeds"));
        string verdict = F($"fig1.seeds {sd.Row?.Verdict ?? "not evaluated"}{(sd.Row is { } sr ? ": " + sr.Detail : "")}");
        string again = sd.LadderSeed is long ls
            ? F($"The tied ladder with seeds {string.Join(", ", sd.Seeds)} (each seed draws its own data and initialization; seed {ls}'s runs are figure 1's tied ladder above, the others trained again; every run replayed by the verifier, {sd.Seconds:F1} s; {verdict}).")
            : F($"The tied ladder trained again with seeds {string.Join(", ", sd.Seeds)} (each seed draws its own data and initialization; trained and replayed by the verifier in {sd.Seconds:F1} s; {verdict}).");
        b.Add(new Para(again + F($" Per depth: max_{{k,t}} ‖Z_{{k+1}} − Z_k‖ over the seeds; per seed: the two slopes. The intervals are 95% t-intervals of the mean across seeds, so they speak about the seed-to-seed spread, which the regression interval of one seed does not.")));
        b.Add(new Table(new[] { "L", "mean max ‖ΔZ‖", "min", "max", "max / min" },
            sd.SlopeDepths.Select((L, j) =>
            {
                var v = sd.MaxSmooth.Select(r => r[j]).ToArray();
                return new Cell[] { L.ToString(CultureInfo.InvariantCulture), N(v.Average()), N(v.Min()), N(v.Max()), N(v.Max() / v.Min()) };
            }).ToList()));
        var (m1, lo1, hi1, sd1) = sd.Interval("depth smoothness");
        var (m2, lo2, hi2, sd2) = sd.Interval("distance");
        b.Add(new Table(new[] { "seed", "slope of max ‖ΔZ‖ (figure 1 left)", F($"slope of the distance to L = {sd.ReferenceDepth} (figure 1 right)") },
            sd.Seeds.Select((x, i) => new Cell[] { x.ToString(CultureInfo.InvariantCulture), F($"{sd.SmoothSlopes[i]:F3}"), F($"{sd.DistanceSlopes[i]:F3}") })
              .Append(new Cell[] { "mean [95% across seeds] (sd)", F($"{m1:F3} [{lo1:F3}, {hi1:F3}] ({sd1:F3})"), F($"{m2:F3} [{lo2:F3}, {hi2:F3}] ({sd2:F3})") }).ToList()));
    }

    private static void AddBounds(List<Block> b, ReportContent c, ReportDocs docs)
    {
        var bp = c.Bounds.Points;
        if (bp.Count == 0) return;
        b.Add(new Para(F($"The bounds of result A beside the measurement (tied ladder, at the last iterate {c.Bounds.Iterations}, where both bounds are largest). The measured column is max over k and every iteration of ‖Z_{{k+1}} − Z_k‖ from the trace; the A.aposteriori verdict row compares at each iterate, so its own measured value (in the appendix) is the one of its worst iterate. A.apriori needs clipped gradient descent: the tied runs were trained again with clip radius C = {c.Bounds.Clip:G3}, just above the largest per-layer gradient ‖G_k‖ = {c.Bounds.MaxGradient:G4} observed on the unclipped runs, so the clip never activates (largest clip fraction {bp.Max(p => p.ClipFraction):G3}) and the trajectories are those of plain gradient descent, as the paper notes. The A.apriori verdict is the worst over the iterates; where its bound overflows double precision, the last iterate with a finite bound is shown.")));
        b.Add(new Table(new[] { "L", "measured max_{k,t} ‖ΔZ‖", "A.aposteriori bound", "tightness", "A.apriori bound", "tightness", "A.apriori finite up to iteration", "A.apriori tightness there", "A.apriori verdict" },
            bp.Select(p => new Cell[]
            {
                p.Depth.ToString(CultureInfo.InvariantCulture), N(p.Measured), N(p.Aposteriori), new(N(p.AposterioriTightness), Flag: LooseFlag(p.AposterioriTightness)),
                N(p.Apriori), new(N(p.AprioriTightness), Flag: LooseFlag(p.AprioriTightness)),
                p.AprioriFiniteStep.ToString(CultureInfo.InvariantCulture), N(p.AprioriTightnessAtFiniteStep),
                new Cell(p.AprioriRow.Verdict + " (" + p.AprioriRow.Detail + ")", VerdictKey(p.AprioriRow.Verdict), docs.Href(p.AprioriRow.Doc)),
            }).ToList()));
        var tp = bp.Select(p => double.IsFinite(p.AprioriTightness) ? p.AprioriTightness : double.PositiveInfinity).ToArray();
        if (tp.Max() > LooseFactor)
            b.Add(new Para(F($"Finding: A.apriori is loose by {N(tp.Min())}× to {N(tp.Max())}× at the last iterate{(tp.Any(double.IsPositiveInfinity) ? " (infinite: the bound overflows double precision before the end of the horizon)" : "")}. It uses only the initialization, the data norms and C: H and P carry a factor e^κ each with κ = s1·M_V·M_W and M ≤ ‖Z(0)‖₂ + C·t, and the recursion multiplies (1 + η a) with a ∝ H²P, so the bound grows like exp(t·e^(3κ)); it is a statement about the order in L, not a usable number. A.aposteriori, fed with the run's own maxima, is the bound to read for numbers (tightness {N(bp.Min(p => p.AposterioriTightness))}× to {N(bp.Max(p => p.AposterioriTightness))}×). On the figure, A.apriori values more than three decades above the rest are drawn capped.")));
    }

    private static string Join(IEnumerable<string> ids) { var a = ids.ToArray(); return a.Length == 0 ? "-" : string.Join(", ", a); }

    private static string Compact(int[] steps) =>
        steps.Length > 8 ? $"{steps[0]}, {steps[1]}, {steps[2]}, …, {steps[^2]}, {steps[^1]} ({steps.Length})" : string.Join(", ", steps);

    private static void AddFigures(List<Block> b, ReportContent c, string prefix)
    {
        foreach (var f in c.Figures.Where(f => f.Name.StartsWith(prefix, StringComparison.Ordinal))) b.Add(new Image(f.Name, f.Caption));
    }

    private static IEnumerable<Heading> TocEntries(IEnumerable<Block> blocks) =>
        blocks.SelectMany(x => x switch
        {
            Heading { Level: 2, Id: not null } h => new[] { h },
            _ => Array.Empty<Heading>(),
        });

    // ------------------------------------------------------------------ Markdown

    private static string MdCell(Cell x)
    {
        string t = x.Text.Replace("|", "\\|").Replace("\n", " ");
        if ((x.Verdict ?? x.Tone) is "violated" or "error") t = $"**{t}**";
        if (x.Href is not null) t = $"[{t}]({x.Href})";
        return x.Flag is null ? t : $"{t} ⚑ {x.Flag}";
    }

    private static string RenderMarkdown(List<Block> blocks)
    {
        var sb = new StringBuilder();
        void Render(IEnumerable<Block> bs)
        {
            foreach (var bl in bs)
            {
                switch (bl)
                {
                    case Heading h:
                        sb.Append('\n');
                        if (h.Id is not null) sb.AppendLine($"<a id=\"{h.Id}\"></a>").AppendLine(); // the contents' anchors, wherever the Markdown is rendered
                        sb.Append(new string('#', h.Level)).Append(' ').AppendLine(h.Text).AppendLine();
                        break;
                    case Para p: sb.AppendLine(p.Text).AppendLine(); break;
                    case Bullets l: foreach (var i in l.Items) sb.Append("- ").AppendLine(i); sb.AppendLine(); break;
                    case Image im: sb.AppendLine($"![{im.Caption}](figures/{im.Name}.png)").AppendLine().AppendLine($"*{im.Caption}* ([svg](figures/{im.Name}.svg))").AppendLine(); break;
                    case Table t:
                        sb.AppendLine("| " + string.Join(" | ", t.Header.Select(h => MdCell(h))) + " |");
                        sb.AppendLine("|" + string.Concat(t.Header.Select(_ => "---|")));
                        foreach (var r in t.Rows) sb.AppendLine("| " + string.Join(" | ", r.Select(MdCell)) + " |");
                        sb.AppendLine();
                        break;
                    case Box x: Render(x.Inner); break;
                    case Collapsed x: sb.AppendLine($"<details><summary>{x.Summary}</summary>").AppendLine(); Render(x.Inner); sb.AppendLine("</details>").AppendLine(); break;
                    case Contents:
                        sb.AppendLine("**Contents:** " + string.Join(" · ", TocEntries(blocks).Select(h => $"[{h.Text}](#{h.Id})"))).AppendLine();
                        break;
                }
            }
        }
        Render(blocks);
        return sb.ToString();
    }

    // ------------------------------------------------------------------ HTML

    private const string Style =
        "body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222;line-height:1.45;overflow-wrap:break-word}" +
        ".scroll{overflow-x:auto;max-width:100%;margin:1em 0}table{border-collapse:collapse;font-size:0.9em}" +
        "td,th{border:1px solid #ccc;padding:3px 7px;text-align:left;vertical-align:top;min-width:4.5em}th{background:#f0f0f0}td:last-child:not(.n){min-width:12em}td{overflow-wrap:anywhere}td.n{overflow-wrap:normal;white-space:nowrap}span.n{white-space:nowrap}" +
        "@media (max-width:600px){body{padding:0 0.5em;margin:1em auto}h1{font-size:1.5em}}" +
        "figure{display:inline-block;margin:0.5em;max-width:48%;vertical-align:top}figure img{max-width:100%;height:auto;border:1px solid #ddd}" +
        "@media (max-width:800px){figure{max-width:100%;display:block;margin:0.5em 0}}" +
        "figcaption{font-size:0.85em;color:#555}h2{border-bottom:1px solid #ddd;padding-bottom:0.2em;margin-top:1.6em}" +
        "#headline{border:2px solid #557;border-radius:6px;padding:0.3em 1em 0.6em;background:#f7f8fc}#headline h2{border:none;margin-top:0.4em}" +
        "nav#toc{margin:1em 0}nav#toc ol{columns:2 18em;margin:0.3em 0}nav#toc li{break-inside:avoid}" +
        ".verdict,.tone{font-weight:600;padding:0 4px;border-radius:3px}" +
        ".v-holds{color:#0a5d1e;background:#e2f5e6}.v-violated{color:#fff;background:#b3261e}.v-error{color:#fff;background:#7a2e8e}" +
        ".v-hypothesis_not_met{color:#6b4e00;background:#fff1c2}.v-not_applicable{color:#555;background:#eee}" +
        "a.verdict{text-decoration:none}a.verdict:hover{text-decoration:underline}" +
        ".loose{color:#a14a00;font-weight:600;overflow-wrap:normal}details summary{cursor:pointer;font-weight:600}";

    private static string E(string s) => WebUtility.HtmlEncode(s);

    /// <summary>Encoded text with its `code` spans (commands, file names) rendered as code, as report.md shows them.</summary>
    private static string Code(string s) => System.Text.RegularExpressions.Regex.Replace(E(s), "`([^`]+)`", "<code>$1</code>");

    /// <summary>A cell whose text is one number as the tables print them (1.015E+06, −0.041, 42, ∞).</summary>
    private static readonly System.Text.RegularExpressions.Regex NumberCell =
        new(@"^[-+−]?(\d+(\.\d+)?([eE][-+]?\d+)?|∞)$", System.Text.RegularExpressions.RegexOptions.Compiled);

    private static string HtmlCell(Cell x)
    {
        string t = x.Flag is not null && NumberCell.IsMatch(x.Text) ? $"<span class=\"n\">{Code(x.Text)}</span>" : Code(x.Text);
        if (x.Verdict is not null)
        {
            string cls = $"verdict v-{x.Verdict}";
            t = x.Href is null ? $"<span class=\"{cls}\">{t}</span>" : $"<a class=\"{cls}\" href=\"{E(x.Href)}\">{t}</a>";
        }
        else if (x.Tone is not null) t = $"<span class=\"tone v-{x.Tone}\">{t}</span>";
        if (x.Verdict is null && x.Href is not null) t = $"<a href=\"{E(x.Href)}\">{t}</a>";
        if (x.Flag is not null) t += $" <span class=\"loose\" title=\"{E(x.Flag)}\">⚑ {E(x.Flag)}</span>";
        return t;
    }

    private static string HtmlTitle(ReportContent c) => $"resode report ({c.Settings.Preset})";

    private static string RenderHtml(List<Block> blocks, string title, string figuresDir)
    {
        var sb = new StringBuilder();
        sb.AppendLine("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">");
        sb.AppendLine($"<title>{E(title)}</title><style>{Style}</style></head><body>");
        void Render(IEnumerable<Block> bs)
        {
            foreach (var bl in bs)
            {
                switch (bl)
                {
                    case Heading h: sb.AppendLine($"<h{h.Level}{(h.Id is null ? "" : $" id=\"{h.Id}\"")}>{Code(h.Text)}</h{h.Level}>"); break;
                    case Para p: sb.AppendLine($"<p>{Code(p.Text)}</p>"); break;
                    case Bullets l: sb.AppendLine("<ul>" + string.Concat(l.Items.Select(i => $"<li>{Code(i)}</li>")) + "</ul>"); break;
                    case Image im:
                        var png = Convert.ToBase64String(File.ReadAllBytes(Path.Combine(figuresDir, im.Name + ".png")));
                        sb.AppendLine($"<figure id=\"{im.Name}\"><img alt=\"{E(im.Caption)}\" src=\"data:image/png;base64,{png}\"><figcaption>{E(im.Caption)} (<a href=\"figures/{im.Name}.svg\">svg</a>)</figcaption></figure>");
                        break;
                    case Table t:
                        sb.Append("<div class=\"scroll\"><table><tr>").Append(string.Concat(t.Header.Select(x => $"<th>{E(x)}</th>"))).AppendLine("</tr>");
                        // a cell that is one number keeps whole (td.n): the text cells wrap anywhere so that wide tables fit the page
                        // (a number with a loose flag beside it keeps the number whole in span.n and lets the flag wrap at its spaces: a whole
                        // cell kept on one line made the tightness column 51 characters wide and squeezed the text columns to
                        // a few letters, "Snapsho / t", with the table running off the page at 1400 px)
                        foreach (var r in t.Rows) sb.Append("<tr>").Append(string.Concat(r.Select(x => $"<td{(NumberCell.IsMatch(x.Text) && x.Flag is null ? " class=\"n\"" : "")}>{HtmlCell(x)}</td>"))).AppendLine("</tr>");
                        sb.AppendLine("</table></div>");
                        break;
                    case Box x: sb.AppendLine($"<section id=\"{x.Id}\">"); Render(x.Inner); sb.AppendLine("</section>"); break;
                    case Collapsed x: sb.AppendLine($"<details><summary>{E(x.Summary)}</summary>"); Render(x.Inner); sb.AppendLine("</details>"); break;
                    case Contents:
                        sb.AppendLine("<nav id=\"toc\"><strong>Contents</strong><ol>" +
                                      string.Concat(TocEntries(blocks).Select(h => $"<li><a href=\"#{h.Id}\">{Code(h.Text)}</a></li>")) + "</ol></nav>");
                        break;
                }
            }
        }
        Render(blocks);
        sb.AppendLine("</body></html>");
        return sb.ToString();
    }
}
