using System.Globalization;
using ScottPlot;
using ResOdeProofs.Numerics.IO;
using ResOdeProofs.Numerics.Training;

namespace ResOdeProofs.Cli.Report;

/// <summary>One figure written as PNG and SVG under figures/.</summary>
internal sealed record Figure(string Name, string Caption, string Svg);

/// <summary>
/// The report's figures (ScottPlot). ScottPlot has no logarithmic axis: log10 values are plotted and
/// the ticks are labelled with the powers of ten they stand for.
/// </summary>
internal static partial class Figures
{
    private const int Width = 800, Height = 520;
    private static readonly IPalette Palette = new ScottPlot.Palettes.Category10();

    private static string Inv(FormattableString f) => f.ToString(CultureInfo.InvariantCulture);

    /// <summary>
    /// Set on a thread that draws figures beside others (<see cref="ReportWriter"/>): <see cref="Save"/> then writes the PNG
    /// at once and leaves the SVG to the action it adds here, which the caller runs later, every figure's in the page's order.
    /// Skia's SVG writer numbers the clip paths of every document with one counter of the process, so the SVG files (and the
    /// page that embeds them) are the same bytes as when the figures are drawn one after another only when the SVGs are
    /// written in that order; the ids also stay unique across the page.
    /// </summary>
    [ThreadStatic] internal static List<Func<Figure>>? SvgLater;

    private static Figure Save(Plot plot, string dir, string name, string caption, int width = Width, int height = Height)
    {
        Directory.CreateDirectory(dir);
        plot.SavePng(Path.Combine(dir, name + ".png"), width, height);
        Figure Svg()
        {
            SaveSvgWithDashes(plot, Path.Combine(dir, name + ".svg"), width, height);
            return new Figure(name, caption, File.ReadAllText(Path.Combine(dir, name + ".svg")));
        }
        if (SvgLater is { } later) { later.Add(Svg); return new Figure(name, caption, ""); }
        return Svg();
    }

    /// <summary>
    /// Ticks on a log10 axis labelled with the values they stand for: every power of ten in [lo, hi] (every
    /// second or fifth one over many decades), 2·10^p and 5·10^p as well under two decades, and under one
    /// decade evenly spaced values (steps of 1, 2 or 5 times a power of ten, about six of them), so that
    /// even a narrow range carries several labelled ticks inside it.
    /// </summary>
    private static void LogTicks(IAxis axis, double lo, double hi, Func<int, string>? label = null)
    {
        var gen = new ScottPlot.TickGenerators.NumericManual();
        int a = (int)Math.Floor(lo), b = (int)Math.Ceiling(hi);
        if (b == a) b = a + 1;
        static string Pow(int p) => p == 0 ? "1" : p == 1 ? "10" : $"1e{p}";
        if (hi - lo < 1)
        {
            // values, not decades: a nice step in [10^lo, 10^hi] (widened a little: the axis has a margin)
            double vlo = Math.Pow(10, lo - 0.05 * (hi - lo + 0.1)), vhi = Math.Pow(10, hi + 0.05 * (hi - lo + 0.1));
            double raw = (vhi - vlo) / 6, mag = Math.Pow(10, Math.Floor(Math.Log10(raw)));
            double step = new[] { 1.0, 2.0, 5.0, 10.0 }.Select(m => m * mag).First(x => x >= raw);
            for (double v = Math.Ceiling(vlo / step) * step; v <= vhi; v += step)
                if (v > 0) gen.AddMajor(Math.Log10(v), string.Create(CultureInfo.InvariantCulture, $"{v:G4}"));
            axis.TickGenerator = gen;
            return;
        }
        int every = b - a > 24 ? 5 : b - a > 12 ? 2 : 1;
        bool fine = hi - lo < 2;
        for (int p = a; p <= b; p++)
        {
            if ((p - a) % every == 0) gen.AddMajor(p, label?.Invoke(p) ?? Pow(p));
            for (int m = 2; m <= 9 && p < b; m++)
            {
                double v = p + Math.Log10(m);
                if (fine && (m == 2 || m == 5)) gen.AddMajor(v, string.Create(CultureInfo.InvariantCulture, $"{m * Math.Pow(10, p):G3}"));
                else gen.AddMinor(v);
            }
        }
        axis.TickGenerator = gen;
    }

    private static void DepthTicks(IAxis axis, IEnumerable<int> depths)
    {
        var gen = new ScottPlot.TickGenerators.NumericManual();
        foreach (var L in depths.Distinct().Order()) gen.AddMajor(Math.Log10(L), L.ToString(CultureInfo.InvariantCulture));
        axis.TickGenerator = gen;
    }

    /// <summary>"a–b×" over the finite values (one value: "a×").</summary>
    private static string Range(IEnumerable<double> xs)
    {
        var f = xs.Where(double.IsFinite).ToArray();
        if (f.Length == 0) return "n/a";
        return f.Min() == f.Max() ? Inv($"{f.Min():G3}×") : Inv($"{f.Min():G3}–{f.Max():G3}×");
    }

    private static double[] Log10(IEnumerable<double> v) => v.Select(x => x > 0 && double.IsFinite(x) ? Math.Log10(x) : double.NaN).ToArray();

    /// <summary>(1) log10 max_{k,t} ‖Z_{k+1} − Z_k‖ against log10 L, tied and i.i.d., with fits and slope −1.</summary>
    public static Figure Smoothness(string dir, LadderResult tied, LadderResult iid, int[] slopeDepths, BoundsResult? bounds = null)
    {
        var plot = new Plot();
        double lo = double.MaxValue, hi = double.MinValue;
        int ci = 0;
        foreach (var lr in new[] { tied, iid })
        {
            var runs = lr.Runs.Where(r => slopeDepths.Contains(r.Spec.Depth)).ToList();
            double[] x = runs.Select(r => Math.Log10(r.Spec.Depth)).ToArray(), y = Log10(runs.Select(r => lr.MaxIncrement(r.Spec.Depth)));
            var col = Palette.GetColor(ci++);
            var sc = plot.Add.ScatterPoints(x, y, col);
            sc.MarkerSize = 9;
            sc.LegendText = $"{lr.Init} init (measured)";
            var f = lr.SmoothnessFit;
            if (double.IsFinite(f.Slope))
            {
                var line = plot.Add.Line(x.Min(), f.Intercept + f.Slope * x.Min(), x.Max(), f.Intercept + f.Slope * x.Max());
                line.Color = col; line.LineWidth = 2;
                line.LegendText = $"{lr.Init} fit: slope {f.Describe()}";
            }
            foreach (var v in y.Where(double.IsFinite)) { lo = Math.Min(lo, v); hi = Math.Max(hi, v); }
        }
        // reference slope −1 through the tied fit's value at the smallest depth
        var t = tied.SmoothnessFit;
        if (double.IsFinite(t.Slope))
        {
            double x0 = Math.Log10(slopeDepths.Min()), x1 = Math.Log10(slopeDepths.Max());
            double y0 = t.Intercept + t.Slope * x0;
            var refl = plot.Add.Line(x0, y0, x1, y0 - (x1 - x0));
            refl.Color = Colors.Gray; refl.LinePattern = LinePattern.Dashed; refl.LineWidth = 1.5f;
            refl.LegendText = "predicted slope −1";
            lo = Math.Min(lo, y0 - (x1 - x0)); hi = Math.Max(hi, y0);
        }
        string caption = "log-log plot of max_{k,t} ‖Z_{k+1}(t) − Z_k(t)‖_F against the depth L";
        if (bounds is { Points.Count: > 0 } bd)
        {
            // the bounds at the last iterate (the largest over t) beside the tied measurement
            var pts = bd.Points.OrderBy(p => p.Depth).ToList();
            double[] x = pts.Select(p => Math.Log10(p.Depth)).ToArray();
            double[] post = Log10(pts.Select(p => p.Aposteriori));
            if (post.Any(double.IsFinite))
            {
                var l = plot.Add.Scatter(x, post, Palette.GetColor(0));
                l.LinePattern = LinePattern.Dotted; l.LineWidth = 2; l.MarkerSize = 6; l.MarkerShape = MarkerShape.OpenCircle;
                l.LegendText = Inv($"A.aposteriori bound (tightness {Range(pts.Select(p => p.AposterioriTightness))})");
                foreach (var v in post.Where(double.IsFinite)) hi = Math.Max(hi, v);
            }
            // +∞ (the bound overflowed) stays +∞ here so that it is drawn at the cap, not dropped
            double[] prio = pts.Select(p => p.Apriori > 0 ? Math.Log10(p.Apriori) : double.NaN).ToArray();
            if (pts.Count > 0)
            {
                // An a priori bound many decades above the data (or infinite: its e^κ factors overflow)
                // would flatten every other curve: values more than 3 decades above the rest are drawn at
                // that cap (triangles) and the text says what they are.
                // a whole decade, so that the markers sit at the 10^cap the note and the caption name (hi + 3 itself put them
                // at 10^4.28 while the text said 10^4)
                double cap = Math.Ceiling(hi + 3);
                bool capped = prio.Any(v => !(v <= cap));
                double[] shown = prio.Select(v => double.IsNaN(v) ? double.NaN : Math.Min(v, cap)).ToArray();
                var l = plot.Add.Scatter(x, shown, Palette.GetColor(2));
                l.LinePattern = LinePattern.DenselyDashed; l.LineWidth = 2; l.MarkerSize = 8;
                l.MarkerShape = capped ? MarkerShape.FilledTriangleUp : MarkerShape.FilledSquare;
                var finiteT = pts.Select(p => p.AprioriTightness).Where(double.IsFinite).ToArray();
                l.LegendText = Inv($"A.apriori bound, clip C = {bd.Clip:G3} (tightness {(finiteT.Length == pts.Count ? Range(finiteT) : "∞ at the last iterate")})") + (capped ? ", capped" : "");
                if (capped)
                {
                    var inf = pts.Where(p => !double.IsFinite(p.Apriori)).ToList();
                    var fin = prio.Where(double.IsFinite).ToArray();
                    string what = inf.Count > 0
                        ? Inv($"A.apriori overflows (e^κ growth) after iteration {inf.Min(p => p.AprioriFiniteStep)}–{inf.Max(p => p.AprioriFiniteStep)} of {bd.Iterations}; tightness at its last finite iterate {Range(inf.Select(p => p.AprioriTightnessAtFiniteStep))}")
                        : Inv($"A.apriori off scale: 10^{fin.Min():F0} to 10^{fin.Max():F0}");
                    // a short note inside the frame; the full statement is in the caption
                    var note = plot.Add.Text(Inv($"A.apriori off scale: drawn at 10^{cap:F0} (see caption)"), x.Min(), cap - 0.3);
                    note.LabelFontSize = 11; note.LabelFontColor = Palette.GetColor(2);
                    caption += "; " + what + Inv($", drawn capped at 10^{cap:F0}");
                }
                foreach (var v in shown.Where(double.IsFinite)) hi = Math.Max(hi, v);
            }
            caption += "; dotted: A.aposteriori's bound, dashed: A.apriori's bound (clipped tied ladder), both at the last iterate";
        }
        DepthTicks(plot.Axes.Bottom, slopeDepths);
        if (lo <= hi) LogTicks(plot.Axes.Left, lo, hi);
        plot.XLabel("depth L (log scale)");
        plot.YLabel("max over k, t of ‖Z_{k+1} − Z_k‖_F (log scale)");
        plot.Title("Depth smoothness of the trained weights");
        plot.ShowLegend(Edge.Right);
        return Save(plot, dir, "fig1-left-smoothness", caption, width: 1200);
    }

    /// <summary>
    /// (2a) distance to the deepest run against iteration, one curve per depth: of W or of V apart, as the
    /// paper plots them, or of Z = (W, V) jointly with the distance to the Richardson limit (dashed).
    /// </summary>
    public static Figure DistanceCurves(string dir, LadderResult lr, char part = 'Z')
    {
        var plot = new Plot();
        double lo = double.MaxValue, hi = double.MinValue;
        var cmap = new ScottPlot.Colormaps.Viridis();
        var dist = part switch { 'W' => lr.DistW, 'V' => lr.DistV, _ => lr.DistZ };
        for (int i = 0; i < lr.DistanceDepths.Length; i++)
        {
            var idx = Enumerable.Range(0, lr.Steps.Length).Where(j => dist[i][j] > 0).ToArray();
            double[] x = idx.Select(j => (double)lr.Steps[j]).ToArray(), y = idx.Select(j => Math.Log10(dist[i][j])).ToArray();
            if (x.Length == 0) continue;
            var sc = plot.Add.Scatter(x, y, cmap.GetColor(lr.DistanceDepths.Length == 1 ? 0 : 0.9 * i / (lr.DistanceDepths.Length - 1)));
            sc.LegendText = $"L = {lr.DistanceDepths[i]}";
            sc.MarkerSize = 3; sc.LineWidth = 2;
            lo = Math.Min(lo, y.Min()); hi = Math.Max(hi, y.Max());
            if (part != 'Z') continue;
            // dashed, same colour: distance to the Richardson limit of the two deepest runs
            var ri = Enumerable.Range(0, lr.Steps.Length).Where(j => lr.DistRichardson[i][j] > 0).ToArray();
            if (ri.Length == 0) continue;
            double[] rx = ri.Select(j => (double)lr.Steps[j]).ToArray(), ry = ri.Select(j => Math.Log10(lr.DistRichardson[i][j])).ToArray();
            var rs = plot.Add.Scatter(rx, ry, sc.Color);
            rs.LinePattern = LinePattern.Dashed; rs.MarkerSize = 0; rs.LineWidth = 1.5f;
            lo = Math.Min(lo, ry.Min()); hi = Math.Max(hi, ry.Max());
        }
        if (lo <= hi) LogTicks(plot.Axes.Left, lo, hi);
        plot.XLabel("iteration");
        string P = part == 'Z' ? "Z" : part.ToString();
        plot.YLabel(part == 'Z' ? $"distance to L = {lr.ReferenceDepth} / to Richardson (--)" : $"distance of {P} to L = {lr.ReferenceDepth} (log scale)");
        plot.Title($"{lr.Init} init: √((1/L) Σ_k ‖{P}^L_k − {P}^ref_(kL_ref/L)‖²)");
        plot.ShowLegend(Edge.Right);
        string name = part == 'Z' ? $"fig1-right-distance-{lr.Init}" : $"fig1-right-distance-{P.ToLowerInvariant()}-{lr.Init}";
        if (part != 'Z')
            return Save(plot, dir, name, $"{lr.Init} initialization: distance of {P} to the deepest run (L = {lr.ReferenceDepth}) against the iteration, one curve per depth (the paper's figure 1 right plots W and V apart)" +
                (part == 'V' ? "; V = 0 at initialization, so the V distance starts at 0 (not drawn on the log scale)" : ""));
        return Save(plot, dir, name, $"{lr.Init} initialization: distance of the weights Z = (W, V) to those of the deepest run (L = {lr.ReferenceDepth}, solid) and to the Richardson limit (L_b·Z^{{L_b}} − L_a·Z^{{L_a}})/(L_b − L_a) of the two deepest runs L_a < L_b (dashed) against the iteration, one curve per depth" +
            (lr.RichardsonError.Length > 0 && double.IsFinite(lr.RichardsonError[^1]) ? string.Create(CultureInfo.InvariantCulture, $"; error estimate of the Richardson limit at the last iteration {lr.RichardsonError[^1]:G3}") : ""));
    }

    /// <summary>(2b) heatmap of log10 distance, iteration × depth (as in the paper's figure 1 right).</summary>
    public static Figure DistanceHeatmap(string dir, LadderResult lr)
    {
        int D = lr.DistanceDepths.Length, S = lr.Steps.Length;
        var grid = new double[D, S];
        for (int i = 0; i < D; i++)
            for (int j = 0; j < S; j++)
                grid[D - 1 - i, j] = lr.DistZ[i][j] > 0 ? Math.Log10(lr.DistZ[i][j]) : double.NaN;
        var plot = new Plot();
        var hm = plot.Add.Heatmap(grid);
        hm.Colormap = new ScottPlot.Colormaps.Viridis();
        double dx = S > 1 ? (lr.Steps[^1] - lr.Steps[0]) / (double)(S - 1) : 1;
        hm.Extent = new CoordinateRect(lr.Steps[0] - dx / 2, lr.Steps[^1] + dx / 2, -0.5, D - 0.5);
        var cb = plot.Add.ColorBar(hm);
        cb.Label = "log10 distance";
        var gen = new ScottPlot.TickGenerators.NumericManual();
        for (int i = 0; i < D; i++) gen.AddMajor(i, lr.DistanceDepths[i].ToString(CultureInfo.InvariantCulture));
        plot.Axes.Left.TickGenerator = gen;
        plot.XLabel("iteration");
        plot.YLabel("depth L");
        plot.Title($"{lr.Init} init: log10 distance to L = {lr.ReferenceDepth}");
        plot.Axes.SetLimits(lr.Steps[0] - dx / 2, lr.Steps[^1] + dx / 2, -0.5, D - 0.5);
        return Save(plot, dir, $"fig1-right-heatmap-{lr.Init}", $"{lr.Init} initialization: log10 of the distance to the deepest run, iteration × depth (the paper's figure 1 right)");
    }

    /// <summary>(3) loss against time t = j·η (log10 scale), tied and i.i.d., with a PL envelope if one is known.</summary>
    public static Figure Loss(string dir, LongResult lg, (double Mu, string From)? envelope, ReportRun? plRun = null)
    {
        var plot = new Plot();
        double lo = double.MaxValue, hi = double.MinValue;
        int ci = 0;
        var envRun = plRun ?? lg.Tied;
        foreach (var r in plRun is null ? new[] { lg.Tied, lg.Iid } : new[] { lg.Tied, lg.Iid, plRun })
        {
            double eta = r.Data.Eta;
            int stride = Math.Max(1, r.Data.Losses.Length / 2000);
            var idx = Enumerable.Range(0, r.Data.Losses.Length).Where(j => j % stride == 0 || j == r.Data.Losses.Length - 1).ToArray();
            double[] x = idx.Select(j => j * eta).ToArray(), y = Log10(idx.Select(j => r.Data.Losses[j]));
            var line = plot.Add.ScatterLine(x, y, Palette.GetColor(ci++));
            line.LineWidth = 2;
            line.LegendText = ReferenceEquals(r, plRun) ? Inv($"{r.Name} (η = {r.Spec.Eta:G3}, inside the PL hypotheses)") : Inv($"{r.Spec.Init.ToString().ToLowerInvariant()} init (η = {r.Spec.Eta:G3})");
            foreach (var v in y.Where(double.IsFinite)) { lo = Math.Min(lo, v); hi = Math.Max(hi, v); }
        }
        if (envelope is { } env && envRun.Data.Losses.Length > 0)
        {
            double l0 = envRun.Data.Losses[0], T = (envRun.Data.Losses.Length - 1) * envRun.Data.Eta;
            double[] x = Enumerable.Range(0, 101).Select(i => T * i / 100).ToArray();
            double[] y = x.Select(t => Math.Log10(l0) - env.Mu * t / Math.Log(10)).ToArray();
            var e = plot.Add.ScatterLine(x, y, Colors.Gray);
            e.LinePattern = LinePattern.Dashed;
            e.LegendText = Inv($"proven decay of {envRun.Name}: loss(0)·exp(−r·t), r = {env.Mu:G3} ({env.From})");
            lo = Math.Min(lo, y.Where(double.IsFinite).DefaultIfEmpty(lo).Min());
        }
        if (lo <= hi) LogTicks(plot.Axes.Left, lo, hi);
        plot.XLabel("time t = iteration · η");
        plot.YLabel("loss (log scale)");
        plot.Title($"Long training: L = {lg.Tied.Spec.Depth}, m = {lg.Tied.Spec.Width}, n = {lg.Tied.Spec.Samples}, d = {lg.Tied.Spec.Dim}");
        plot.ShowLegend(Edge.Bottom);
        return Save(plot, dir, "fig2-loss", "training loss ℓ against the time t = j·η, tied and i.i.d. initialization" +
            (plRun is null ? "" : $", and {plRun.Name}, the same configuration with a step inside the PL results' descent limit") +
            (envelope is null ? "" : $"; dashed: loss(0)·exp(−r·t) with the rate r the PL results prove for {envRun.Name} (C.gdDecay: μ₀/8; its own bound, on the excess loss, is drawn in the figure of result C)"));
    }

    /// <summary>(4) individual coefficients of W against the layer index k at several iterations.</summary>
    public static Figure Coefficients(string dir, ReportRun r, int[] steps, (int Row, int Col)[] coefficients, bool ofV = false)
    {
        string init = r.Spec.Init.ToString().ToLowerInvariant(), M = ofV ? "V" : "W";
        return Coefficients(dir, r.Data, r.Spec.Init, steps, coefficients, ofV, $"fig2-coefficients-{M.ToLowerInvariant()}-{init}", $"{init} init", "(the paper's figure 2)");
    }

    /// <summary>
    /// Individual coefficients of W_k (or V_k) of a run against the layer index k, one colour per
    /// training time in <paramref name="steps"/> that has a snapshot.
    /// </summary>
    public static Figure Coefficients(string dir, RunData data, InitKind initKind, int[] steps, (int Row, int Col)[] coefficients, bool ofV,
        string name, string title, string captionSuffix)
    {
        var plot = new Plot();
        var cmap = new ScottPlot.Colormaps.Viridis();
        int L = data.Shape.Depth, d = data.Shape.Dim, m = data.Shape.Width, md = m * d;
        double[] ks = Enumerable.Range(1, L).Select(k => (double)k).ToArray();
        var shown = steps.Where(st => Array.IndexOf(data.Steps, st) >= 0).ToArray();
        for (int ti = 0; ti < shown.Length; ti++)
        {
            int si = Array.IndexOf(data.Steps, shown[ti]);
            var col = cmap.GetColor(shown.Length == 1 ? 0 : 0.9 * ti / (shown.Length - 1));
            for (int c = 0; c < coefficients.Length; c++)
            {
                var (row, cl) = coefficients[c];
                // W_k is m×d and V_k is d×m, both row-major; (row, col) indexes W_k, and V_k at (col, row)
                double[] y = ofV
                    ? ks.Select(k => data.V[si][((int)k - 1) * md + cl * m + row]).ToArray()
                    : ks.Select(k => data.W[si][((int)k - 1) * md + row * d + cl]).ToArray();
                var line = plot.Add.ScatterLine(ks, y, col);
                line.LineWidth = 1.5f;
                if (c == 0) line.LegendText = Inv($"iteration {shown[ti]} (t = {shown[ti] * data.Eta:G3})");
            }
        }
        string init = initKind.ToString().ToLowerInvariant(), M = ofV ? "V" : "W";
        plot.XLabel("layer k");
        plot.YLabel($"coefficient ({M}_k)_{{ij}}");
        plot.Title($"{title}: {coefficients.Length} coefficients of {M}_k against k");
        plot.ShowLegend(Edge.Right);
        return Save(plot, dir, name,
            $"{title} ({init} initialization): {coefficients.Length} entries of {M}_k against the layer index k at {shown.Length} training times {captionSuffix}");
    }
}
