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

    /// <summary>‖W_{k+1} − W_k‖_F (or the V part) against k after training, one line per cell, log scale.</summary>
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
            line.LegendText = Inv($"{c.Name}: L·max = {ex.Shape.Depth * p.DefaultIfEmpty(0).Max():G3}");
            foreach (var v in y.Where(double.IsFinite)) { lo = Math.Min(lo, v); hi = Math.Max(hi, v); }
        }
        if (lo <= hi) LogTicks(plot.Axes.Left, lo, hi);
        plot.XLabel("layer k");
        plot.YLabel($"‖{M}_(k+1) − {M}_k‖_F after training (log scale)");
        plot.Title(Inv($"Fashion-MNIST, L = {ex.Shape.Depth}: ‖Δ{M}_k‖ over k (tied thick, i.i.d. thin)"));
        plot.ShowLegend(Edge.Right);
        return Save(plot, dir, $"fig3-fashion-profile-{M.ToLowerInvariant()}",
            $"Fashion-MNIST: ‖{M}_(k+1) − {M}_k‖_F against the layer k after training, per cell (tied thick, i.i.d. thin and light)" +
            (ofV ? "; V = 0 at initialization for both initializations, so this roughness was created by training" : ""));
    }

    /// <summary>Training loss against the iteration, one line per cell, log scale.</summary>
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
            line.LegendText = Inv($"{c.Name}: test acc {c.TestAccuracy:P1}");
            foreach (var v in y.Where(double.IsFinite)) { lo = Math.Min(lo, v); hi = Math.Max(hi, v); }
        }
        if (lo <= hi) LogTicks(plot.Axes.Left, lo, hi);
        plot.XLabel("iteration");
        plot.YLabel("training loss (log scale)");
        plot.Title(Inv($"Fashion-MNIST, L = {ex.Shape.Depth}: training loss (tied thick, i.i.d. thin)"));
        plot.ShowLegend(Edge.Right);
        return Save(plot, dir, "fig3-fashion-loss", "Fashion-MNIST: training loss against the iteration, per cell (tied thick, i.i.d. thin and light)");
    }
}
