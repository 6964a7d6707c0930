using ScottPlot;
using ResOdeProofs.Theory;

namespace ResOdeProofs.Cli.Report;

/// <summary>Bounds against the quantity they bound over training time, one figure per result family (A, B, C).</summary>
internal static partial class Figures
{
    public static IEnumerable<Figure> BoundsOverTime(string dir, ReportContent c)
    {
        var lt = c.Long.Tied;
        var pr = c.PlRun ?? lt;
        var figs = new List<Figure>();
        // Every number is the verdict row's: the comparisons the verifier decided on (Registry.VerdictRow.Series), the
        // worst at each iterate or snapshot; nothing is recomputed here.
        // A: max_k ‖Z_{k+1} − Z_k‖ (trace and snapshot weights) against the bound A.aposteriori compared it with.
        if (Drawn(lt, "A.aposteriori") is { } a)
            figs.Add(BoundFigure(dir, "bounds-a-depth-smoothness", "A.aposteriori", "max_k ‖Z_{k+1} − Z_k‖", a.T, a.Measured, a.T, a.Bound,
                $"Result A on {lt.Name}: the measured depth increment max_k ‖Z_(k+1) − Z_k‖ at every comparison the row made (one curve: the worst comparison at each iterate, the trace's value and at snapshots the weights' own) and the A.aposteriori bound it was compared with (the recursion fed with the run's own maxima, plus the rounding allowance), as the verdict row records them ({Describe(a.Row)})"));
        // B: ‖h_L^i − H^i(1)‖ against the layer-wise bound, the worst sample at every snapshot.
        if (Drawn(lt, "B.bound") is { } b)
            figs.Add(BoundFigure(dir, "bounds-b-euler", "B.bound", "‖h_L^i − H^i(1)‖, worst sample", b.T, b.Measured, b.T, b.Bound,
                $"Result B on {lt.Name}: at every snapshot, the sample whose distance between the ResNet output and the neural-ODE solution came nearest to its layer-wise bound (bound plus the solver's error estimate), as the verdict row records it ({Describe(b.Row)}; at t = 0, V = 0 makes both the identity: the measured distance is 0, which the log scale cannot draw, and the bound there is the rounding allowance alone)"));
        // C: ε(t) = ℓ(t) − ℓ_⊥ against ε(0)(1 − η μ₀/8)^j of C.gdDecay, on the run inside the PL hypotheses.
        if (Drawn(pr, "C.gdDecay") is { } d)
            figs.Add(BoundFigure(dir, "bounds-c-pl-decay", "C.gdDecay", "ε(t) = loss(t) − loss_⊥", d.T, d.Measured, d.T, d.Bound,
                Inv($"Result C on {pr.Name} (η = {pr.Data.Eta:G4}): the excess loss ε(t) = loss(t) − loss_⊥ (loss_⊥ the part of the loss no weights of this network can remove; one curve: the worst comparison at each iterate, the recorded loss and at snapshots the loss recomputed from the weights; a point where ε ≤ 0 is not drawn on the log scale) and the C.gdDecay bound ε(0)(1 − η μ₀/8)^j it was compared with, as the verdict row records them ({Describe(d.Row)})")));
        return figs;
    }

    /// <summary>The series a bound figure draws for result <paramref name="id"/> of a run: its verdict row's comparisons.</summary>
    private static BoundSeries? Drawn(ReportRun run, string id) =>
        run.Rows.FirstOrDefault(r => r.Id == id) is { } row && SeriesOf(row) is { T.Length: > 0 } s ? s : null;

    private static string Describe(Registry.VerdictRow r) =>
        $"verdict: {r.Verdict}; {r.Series.Length} points standing for {r.Series.Sum(p => p.Count)} comparisons";

    /// <summary>A verdict row's comparisons as plotted: the time t of each point (read from its "t = …"), the measured
    /// value and the bound, ordered by time; points without a time are not drawn.</summary>
    internal sealed record BoundSeries(Registry.VerdictRow Row, double[] T, double[] Measured, double[] Bound);

    private static readonly System.Text.RegularExpressions.Regex TimeOf = new(@"\bt = ([-+0-9.eE]+|inf|nan)\)", System.Text.RegularExpressions.RegexOptions.CultureInvariant);

    internal static BoundSeries SeriesOf(Registry.VerdictRow row)
    {
        var pts = row.Series
            .Select(p => (p, m: TimeOf.Match(p.When)))
            .Where(x => x.m.Success && double.TryParse(x.m.Groups[1].Value, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out _))
            .Select(x => (x.p, t: double.Parse(x.m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture)))
            .OrderBy(x => x.t).ToArray();
        return new BoundSeries(row, pts.Select(x => x.t).ToArray(), pts.Select(x => x.p.Measured).ToArray(), pts.Select(x => x.p.Bound).ToArray());
    }

    internal static Figure BoundFigure(string dir, string name, string result, string quantity, double[] tm, double[] measured, double[] tb, double[] bound, string caption)
    {
        var plot = new Plot();
        double lo = double.MaxValue, hi = double.MinValue;
        void Line(double[] x, double[] v, string legend, Color col, bool dashed)
        {
            int stride = Math.Max(1, x.Length / 2000);
            var idx = Enumerable.Range(0, Math.Min(x.Length, v.Length)).Where(j => (j % stride == 0 || j == x.Length - 1) && v[j] > 0 && double.IsFinite(v[j])).ToArray();
            if (idx.Length == 0) return;
            double[] xs = idx.Select(j => x[j]).ToArray(), ys = idx.Select(j => Math.Log10(v[j])).ToArray();
            var l = plot.Add.ScatterLine(xs, ys, col);
            l.LineWidth = 2; l.LegendText = legend;
            if (dashed) l.LinePattern = LinePattern.Dashed;
            if (xs.Length < 30) { l.MarkerSize = 5; l.MarkerShape = MarkerShape.FilledCircle; }
            lo = Math.Min(lo, ys.Min()); hi = Math.Max(hi, ys.Max());
        }
        Line(tm, measured, "measured: " + quantity, Palette.GetColor(0), false);
        Line(tb, bound, "bound: " + result, Palette.GetColor(3), true);
        if (lo <= hi) LogTicks(plot.Axes.Left, lo, hi);
        plot.XLabel("time t = iteration · η");
        plot.YLabel($"{quantity} and its bound (log scale)");
        plot.Title($"{result}: bound and measurement over training");
        plot.ShowLegend(Edge.Bottom);
        return Save(plot, dir, name, caption);
    }
}
