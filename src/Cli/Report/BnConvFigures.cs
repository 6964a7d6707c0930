using ScottPlot;

namespace ResOdeProofs.Cli.Report;

/// <summary>The figures of a study of `train --arch bn-conv` cells (the paper's figure 3 layout and what we add).</summary>
internal static partial class Figures
{
    private static void StyleInit(ScottPlot.Plottables.Scatter line, bool tied, int series)
    {
        var pal = new ScottPlot.Palettes.ColorblindFriendly();
        var col = pal.GetColor(series);
        line.Color = tied ? col : col.WithAlpha(0.5);
        line.LineWidth = tied ? 2.5f : 1.2f;
        line.MarkerSize = tied ? 0 : 4;
    }

    /// <summary>Figure 3's layout: the chosen entries of conv₁ or conv₂ against the layer k, the tied cell thick, the i.i.d. one thin.</summary>
    public static Figure BnConvEntries(string dir, string activation, string part, IReadOnlyList<BnConvCellData> cells, int[] entries)
    {
        var plot = new Plot();
        foreach (var c in cells)
            for (int e = 0; e < entries.Length; e++)
            {
                var y = c.Entries(part, entries[e]);
                var x = Enumerable.Range(1, y.Length).Select(k => (double)k).ToArray();
                var line = plot.Add.ScatterLine(x, y);
                StyleInit(line, c.Init == "tied", e);
                line.LegendText = Inv($"{c.Init}, seed {c.Seed}, entry {entries[e]}");
            }
        plot.XLabel("layer k");
        plot.YLabel($"entry of {part} after training");
        plot.Title($"{activation}: random entries of {part} against k (tied thick, i.i.d. thin)");
        plot.ShowLegend(Edge.Right);
        return Save(plot, dir, $"bnconv-fig3-{activation}-{part}",
            $"{activation}: {entries.Length} entries of {part} (chosen at random, the same for every cell) against the layer k after training; tied initialization thick, i.i.d. thin with markers (the paper's figure 3 layout)");
    }

    /// <summary>Batch norm's γ and β (mean over channels) of bn₁ and bn₂ against the layer k, tied and i.i.d.</summary>
    public static Figure BnConvNorms(string dir, string activation, IReadOnlyList<BnConvCellData> cells)
    {
        var plot = new Plot();
        string[] names = { "γ₁", "β₁", "γ₂", "β₂" };
        foreach (var c in cells)
            for (int q = 0; q < 4; q++)
            {
                var y = c.NormMeans(q);
                var line = plot.Add.ScatterLine(Enumerable.Range(1, y.Length).Select(k => (double)k).ToArray(), y);
                StyleInit(line, c.Init == "tied", q);
                line.LegendText = Inv($"{names[q]} {c.Init}, seed {c.Seed}");
            }
        plot.XLabel("layer k");
        plot.YLabel("mean over channels after training");
        plot.Title($"{activation}: batch norm's γ and β across layers (tied thick, i.i.d. thin)");
        plot.ShowLegend(Edge.Right);
        return Save(plot, dir, $"bnconv-gamma-beta-{activation}",
            $"{activation}: batch norm's scale γ and shift β (mean over the channels) of bn₁ and bn₂ against the layer k after training; tied thick, i.i.d. thin with markers (bn₂'s γ starts at 0)");
    }

    /// <summary>L·max_k ‖ΔK_k‖_F of conv₁ or conv₂ after every epoch, one line per cell, log scale.</summary>
    public static Figure BnConvSmoothEpochs(string dir, string part, IReadOnlyList<BnConvCellData> cells)
    {
        var plot = new Plot();
        double lo = double.MaxValue, hi = double.MinValue;
        var acts = cells.Select(c => c.Activation).Distinct().ToList();
        foreach (var c in cells)
        {
            var y = Log10(c.SmoothByEpoch(part));
            var line = plot.Add.ScatterLine(Enumerable.Range(1, y.Length).Select(e => (double)e).ToArray(), y);
            StyleInit(line, c.Init == "tied", acts.IndexOf(c.Activation));
            line.MarkerSize = 5;
            line.LegendText = Inv($"{c.Activation} {c.Init}, seed {c.Seed}");
            foreach (var v in y.Where(double.IsFinite)) { lo = Math.Min(lo, v); hi = Math.Max(hi, v); }
        }
        if (lo <= hi) LogTicks(plot.Axes.Left, lo, hi);
        plot.XLabel("epoch");
        plot.YLabel($"L·max_k ‖Δ{part}_k‖_F (log scale)");
        plot.Title($"L·max_k ‖{part}^(k+1) − {part}^(k)‖_F across epochs");
        plot.ShowLegend(Edge.Right);
        return Save(plot, dir, $"bnconv-smooth-epochs-{part}",
            $"L·max_k ‖{part}^(k+1) − {part}^(k)‖_F after every epoch (run.json's per-epoch record), one line per cell; tied thick, i.i.d. thin with markers; a tied cell at 0 (layers still equal) is not drawn on the log scale");
    }
}
