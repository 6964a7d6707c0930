using ScottPlot;
using ResOdeProofs.Theory;

namespace ResOdeProofs.Cli.Report;

/// <summary>Bounds against the quantity they bound over training time, one figure per result family (A, B, C).</summary>
internal static partial class Figures
{
    public static IEnumerable<Figure> BoundsOverTime(string dir, ReportContent c)
    {
        var lt = c.Long.Tied;
        var run = new Run(lt.Data);
        var figs = new List<Figure>();
        double eta = lt.Data.Eta;

        // A: max_k ‖Z_{k+1} − Z_k‖ at every iterate (engine trace) against the a posteriori bound of A.aposteriori.
        var measuredA = lt.Trace("smooth_z");
        double[] boundA;
        try { boundA = DepthSmoothness.aposterioriScalarBound(run); }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException or KeyNotFoundException) { boundA = Array.Empty<double>(); }
        if (measuredA.Length > 0 && boundA.Length > 0)
            figs.Add(BoundFigure(dir, "bounds-a-depth-smoothness", "A.aposteriori", "max_k ‖Z_{k+1} − Z_k‖",
                Times(measuredA.Length, eta), measuredA, Times(boundA.Length, eta), boundA,
                $"Result A on {lt.Name}: the measured depth increment max_k ‖Z_(k+1) − Z_k‖ (trace) and the A.aposteriori bound (the recursion fed with the run's own maxima) at every iterate"));

        // B: ‖h_L − H(1)‖ (max over the checked samples) against the layer-wise bound, at every snapshot.
        try
        {
            var checks = EulerError.analyse(run);
            var withSamples = checks.Where(s => s.Samples.Length > 0).ToArray();
            if (withSamples.Length > 0)
                figs.Add(BoundFigure(dir, "bounds-b-euler", "B.bound", "max_i ‖h_L^i − H^i(1)‖",
                    withSamples.Select(s => s.Time).ToArray(), withSamples.Select(s => s.Samples.Max(x => x.Measured)).ToArray(),
                    withSamples.Select(s => s.Time).ToArray(), withSamples.Select(s => s.Samples.Max(x => x.Bound)).ToArray(),
                    $"Result B on {lt.Name}: the largest distance between the ResNet output and the neural-ODE solution over the checked samples, and the largest layer-wise bound, at every snapshot (at t = 0, V = 0 makes both the identity: nothing to plot there)"));
        }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException or KeyNotFoundException) { }

        // C: ε(t) = ℓ(t) − ℓ_⊥ against ε(0)(1 − η μ₀/8)^j of C.gdDecay, on the run inside the PL hypotheses.
        var pr = c.PlRun ?? lt;
        var prun = ReferenceEquals(pr, lt) ? run : new Run(pr.Data);
        try
        {
            var p = PolyakLojasiewicz.path(prun);
            var ic = PolyakLojasiewicz.initConstants(prun);
            double rate = PolyakLojasiewicz.descentFactor * PolyakLojasiewicz.plFraction * ic.Mu0, perStep = Math.Max(0, 1 - pr.Data.Eta * rate);
            var bound = Enumerable.Range(0, p.Eps.Length).Select(j => p.Eps[0] * Math.Pow(perStep, j)).ToArray();
            var t = Times(p.Eps.Length, pr.Data.Eta);
            figs.Add(BoundFigure(dir, "bounds-c-pl-decay", "C.gdDecay", "ε(t) = loss(t) − loss_⊥", t, p.Eps, t, bound,
                Inv($"Result C on {pr.Name} (η = {pr.Data.Eta:G4}): the excess loss ε(t) and the C.gdDecay bound ε(0)(1 − η μ₀/8)^j with μ₀ = {ic.Mu0:G4} at every iterate")));
        }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException or KeyNotFoundException) { }
        return figs;
    }

    private static double[] Times(int n, double eta) => Enumerable.Range(0, n).Select(j => j * eta).ToArray();

    private static Figure BoundFigure(string dir, string name, string result, string quantity, double[] tm, double[] measured, double[] tb, double[] bound, string caption)
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
        plot.YLabel("log scale");
        plot.Title($"{result}: bound and measurement over training");
        plot.ShowLegend(Edge.Bottom);
        return Save(plot, dir, name, caption);
    }
}
