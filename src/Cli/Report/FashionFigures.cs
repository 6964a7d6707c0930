using ScottPlot;
using ResOdeProofs.Numerics;
using ResOdeProofs.Numerics.Training;

namespace ResOdeProofs.Cli.Report;

/// <summary>The figures of the real-data experiment (`resode fashion` and the paper report), with the report's helpers.</summary>
internal static partial class Figures
{
    /// <summary>
    /// Tied cells in dark, i.i.d. cells in light colours (the paired palette: one hue per activation);
    /// solid lines throughout, since the i.i.d. profiles are too rough for a dash pattern to be readable.
    /// </summary>
    private static void StyleCell(ScottPlot.Plottables.Scatter line, FashionExperiment ex, FashionCell c)
    {
        var paired = new ScottPlot.Palettes.ColorblindFriendly();
        int a = Array.IndexOf(ex.Options.Activations, c.Activation);
        var col = paired.GetColor(a);
        line.Color = c.Init == InitKind.Tied ? col : col.WithAlpha(0.45);
        line.LineWidth = c.Init == InitKind.Tied ? 2.5f : 1.2f;
        line.MarkerSize = 0;
    }

    private static string MarkerNames(FashionExperiment ex) =>
        string.Join(", ", ex.Options.Activations.Select((a, i) => $"{Activations.Name(a)}: {new[] { "open circle", "triangle", "open square", "diamond", "cross" }[i % 5]}"));

    /// <summary>
    /// Sparse markers on a cell's curve, one shape per activation and staggered along x, so that curves
    /// that coincide (e.g. two i.i.d. cells whose losses agree) stay visible as two marker series.
    /// </summary>
    private static void CellMarkers(Plot plot, double[] x, double[] y, FashionExperiment ex, FashionCell c, ScottPlot.Plottables.Scatter line)
    {
        MarkerShape[] shapes = { MarkerShape.OpenCircle, MarkerShape.FilledTriangleUp, MarkerShape.OpenSquare, MarkerShape.FilledDiamond, MarkerShape.Cross };
        int a = Array.IndexOf(ex.Options.Activations, c.Activation), na = Math.Max(1, ex.Options.Activations.Length);
        int stride = Math.Max(1, x.Length / 12), offset = (a * stride / na + (c.Init == InitKind.Tied ? 0 : stride / (2 * na))) % stride;
        var idx = Enumerable.Range(0, x.Length).Where(j => j % stride == offset && double.IsFinite(y[j])).ToArray();
        if (idx.Length == 0) return;
        var m = plot.Add.ScatterPoints(idx.Select(j => x[j]).ToArray(), idx.Select(j => y[j]).ToArray(), line.Color);
        m.MarkerShape = shapes[Math.Max(0, a) % shapes.Length];
        m.MarkerSize = c.Init == InitKind.Tied ? 9 : 7;
        m.MarkerLineWidth = 1.5f;
    }

    /// <summary>
    /// ‖W_{k+1} − W_k‖_F (or the V part) against k after training, one line per cell, log scale: the curve is E.profile's
    /// input drawn as it is (presentational), the legend's L·max the row's constant.
    /// </summary>
    public static Figure FashionProfile(string dir, FashionExperiment ex, bool ofV)
    {
        var plot = new Plot();
        double lo = double.MaxValue, hi = double.MinValue;
        string M = ofV ? "V" : "W";
        foreach (var c in ex.Cells)
        {
            var p = ofV ? c.ProfileV : c.ProfileW;
            double[] x = Enumerable.Range(1, p.Length).Select(k => (double)k).ToArray(), y = Log10(p);
            var line = plot.Add.ScatterLine(x, y);
            StyleCell(line, ex, c);
            CellMarkers(plot, x, y, ex, c, line);
            line.LegendText = Inv($"{c.Name}: L·max = {ex.Shape.Depth * (ofV ? c.MaxV : c.MaxW):G3}");
            foreach (var v in y.Where(double.IsFinite)) { lo = Math.Min(lo, v); hi = Math.Max(hi, v); }
        }
        if (lo <= hi) LogTicks(plot.Axes.Left, lo, hi);
        plot.XLabel("layer k");
        plot.YLabel($"‖{M}_(k+1) − {M}_k‖_F after training (log scale)");
        plot.Title(Inv($"Fashion-MNIST, L = {ex.Shape.Depth}: ‖Δ{M}_k‖ over k (tied thick, i.i.d. thin)"));
        plot.ShowLegend(Edge.Right);
        return Save(plot, dir, $"fig3-fashion-profile-{M.ToLowerInvariant()}",
            $"Fashion-MNIST: ‖{M}_(k+1) − {M}_k‖_F against the layer k after training, per cell (tied thick, i.i.d. thin and light)" +
            "; sparse markers, one shape per activation (" + MarkerNames(ex) + "), keep curves that coincide visible" +
            (ofV ? "; V = 0 at initialization for both initializations, so this roughness was created by training" : ""));
    }

    /// <summary>Training loss against the iteration, one line per cell, log scale: losses.npy drawn as recorded (presentational).</summary>
    public static Figure FashionLoss(string dir, FashionExperiment ex)
    {
        var plot = new Plot();
        double lo = double.MaxValue, hi = double.MinValue;
        foreach (var c in ex.Cells)
        {
            var losses = c.Data.Losses;
            double[] x = Enumerable.Range(0, losses.Length).Select(j => (double)j).ToArray(), y = Log10(losses);
            var line = plot.Add.ScatterLine(x, y);
            StyleCell(line, ex, c);
            CellMarkers(plot, x, y, ex, c, line);
            line.LegendText = Inv($"{c.Name}: test acc {c.TestAccuracy:P1}");
            foreach (var v in y.Where(double.IsFinite)) { lo = Math.Min(lo, v); hi = Math.Max(hi, v); }
        }
        if (lo <= hi) LogTicks(plot.Axes.Left, lo, hi);
        plot.XLabel("iteration");
        plot.YLabel("training loss (log scale)");
        plot.Title(Inv($"Fashion-MNIST, L = {ex.Shape.Depth}: training loss (tied thick, i.i.d. thin)"));
        plot.ShowLegend(Edge.Right);
        return Save(plot, dir, "fig3-fashion-loss", "Fashion-MNIST: training loss against the iteration, per cell (tied thick, i.i.d. thin and light); sparse markers, one shape per activation (" + MarkerNames(ex) + "), keep curves that coincide visible");
    }
}
