using System.Globalization;
using ResOdeProofs.Numerics.BnConv;
using System.Text.Json.Nodes;
using ResOdeProofs.Cli.Sweep;
using ResOdeProofs.Numerics.Random;
using ResOdeProofs.Theory;

namespace ResOdeProofs.Cli.Report;

/// <summary>One finished bn-conv cell of a study, read back for the page: its trained weights and per-epoch record.</summary>
internal sealed class BnConvCellData
{
    public required string Name { get; init; }
    public required string Hash { get; init; }
    public required BnConvRun Run { get; init; }
    public string Activation => Run.Json["activation"]!.GetValue<string>();
    public string Init => Run.Init;
    public long Seed => Run.Json["seed"]?.GetValue<long>() ?? 0;
    public int Depth => Run.Config.Depth;

    /// <summary>The cell's verdict rows (none when verify did not run).</summary>
    public required List<Registry.VerdictRow> Rows { get; init; }

    private int PartOffset(string part) => part == "conv1" ? Run.Config.BlockParts.K1 : Run.Config.BlockParts.K2;

    /// <summary>Entry <paramref name="e"/> of conv₁ or conv₂ in every layer k = 0..L−1: stored parameters drawn as they are (figure 3's layout).</summary>
    public double[] Entries(string part, int e) =>
        Enumerable.Range(0, Depth).Select(k => (double)Run.Theta[Run.Config.BlockOffset(k) + PartOffset(part) + e]).ToArray();

    /// <summary>A constant of the cell's E.profile row (the statistics in depth of the trained parameters); NaN without the row.</summary>
    public double Profiled(string name) =>
        Rows.FirstOrDefault(r => r.Id == DepthProfile.profile.Id)?.Constants.FirstOrDefault(c => c.Item1 == name)?.Item2 ?? double.NaN;

    /// <summary>Mean over channels of γ₁ (q = 0), β₁, γ₂, β₂ (q = 3) per layer, to be drawn (the table reads E.profile's constants).</summary>
    public double[] NormMeans(int q) => BnConvResults.channelMeans(Run, BnConvResults.normParts[q]);

    /// <summary>
    /// run.json's L·max_k‖ΔK_k‖_F after every epoch (smooth_conv1 / smooth_conv2), drawn and tabled as recorded
    /// (presentational): only the last epoch's parameters are stored, and E.profile checks that epoch's claim against them.
    /// </summary>
    public double[] SmoothByEpoch(string part) =>
        (Run.Json["epochs"] as JsonArray ?? new JsonArray()).Select(e => e?["smooth_" + part]?.GetValue<double>() ?? double.NaN).ToArray();
}

internal static partial class ReportWriter
{
    /// <summary>Entries of the kernels drawn in figure 3's layout: the same three for every cell, chosen by a fixed stream.</summary>
    private static int[] Fig3Entries(int kernelLength)
    {
        var rng = Rng.ForStream(0, "bn-conv-figure-3-entries");
        return Enumerable.Range(0, Math.Min(3, kernelLength)).Select(_ => rng.NextInt(kernelLength)).Distinct().ToArray();
    }

    /// <summary>The finished bn-conv cells of a merged study (none for other studies).</summary>
    private static List<BnConvCellData> BnConvCells(StudyMerge.Merged m) =>
        m.Cells.Where(c => c.State == CellState.Done)
            .Select(c => (c, dir: Path.Combine(m.Root, "cells", c.Cell.Hash, "run")))
            .Where(x => m.Root != "" && BnConvRun.IsRun(x.dir))
            .Select(x => new BnConvCellData { Name = x.c.Cell.Name, Hash = x.c.Cell.Hash, Run = BnConvRun.Load(x.dir), Rows = x.c.Rows })
            .ToList();

    /// <summary>
    /// The real-data section of a study page (docs/real-data.md): Table 1's layout with the evidence rows of each cell,
    /// figure 3's layout, the mean over k of ‖ΔK_k‖, batch norm's γ and β across layers, L·max_k‖ΔK_k‖ across epochs,
    /// and the verify rows of the folded network. Empty when the study has no finished bn-conv cell.
    /// </summary>
    private static List<Block> BnConvBlocks(StudyMerge.Merged m, string reportDir, ReportDocs docs)
    {
        var cells = BnConvCells(m);
        var b = new List<Block>();
        if (cells.Count == 0) return b;
        string figs = Path.Combine(reportDir, "figures");
        b.Add(new Heading(2, "Real data: the paper's Table 1 and figure 3 (convolutional ResNet with batch norm, SGD)", "bn-conv"));
        b.Add(new Para(F($"{cells.Count} finished cells of `train --arch bn-conv` on Fashion-MNIST (depth {string.Join(", ", cells.Select(c => c.Depth).Distinct())}). The paper's Table 1 (CIFAR-10, L = 256, 180 epochs, 5 seeds; §5.2) reads: identity tied 56.5 / 59.8 smooth, i.i.d. 56.1 / 59.6 not; GELU tied 80.5 / 79.9 smooth, i.i.d. 89.8 / 85.7 not; ReLU tied 97.4 / 88.1 not smooth, i.i.d. 98.4 / 88.4 not (median train / test accuracy %). ") +
            "Below, the same layout for this study; each cell's accuracies are run.json's claims, which `resode verify` recomputed from params.npy and the images (rows E.accuracy.train and E.accuracy.test, the last column)."));
        // the cells the merge took as done (a failed cell's run may not be readable: it is not on the page)
        var rowsByDir = m.Cells.Where(c => c.State == CellState.Done).ToDictionary(c => Path.Combine(m.Root, "cells", c.Cell.Hash, "run"), c => c.Rows);
        // ρ of the smooth column: the cells' E.profile constants
        var runs = BnConvTable.Read(m.Root, rows: dir => rowsByDir.TryGetValue(dir, out var rows) ? rows : null);
        Cell Evidence(List<BnConvTable.Run> g)
        {
            var ev = g.SelectMany(r => rowsByDir.TryGetValue(r.Dir, out var rows) ? rows : new()).Where(r => r.Id.StartsWith("E.accuracy.", StringComparison.Ordinal)).ToList();
            if (ev.Count == 0) return new("not checked (no E.accuracy rows: verify did not run)", Tone: "hypothesis_not_met");
            int bad = ev.Count(r => r.Verdict != "holds");
            return bad == 0 ? new($"recomputed: {ev.Count} of {ev.Count} claims agree", Tone: "holds")
                            : new($"MISMATCH: {bad} of {ev.Count} claims not reproduced", Tone: "violated");
        }
        b.Add(new Table(BnConvTable.Header.Append("evidence (E.accuracy.*)").ToArray(),
            BnConvTable.Groups(runs).Select(g => g.Cells.Select(x => (Cell)x).Append(Evidence(g.Runs)).ToArray()).ToList()));
        b.Add(new Para("Accuracies: median [first quartile, third quartile] over seeds; train accuracy in evaluation mode on the unaugmented training images after the last epoch. Smooth: " + BnConvTable.Criterion));

        b.Add(new Heading(3, "Figure 3's layout: kernel entries against depth"));
        int kl = cells[0].Run.Config.Block.KernelLength;
        var entries = Fig3Entries(kl);
        foreach (var act in cells.Select(c => c.Activation).Distinct())
        {
            // the smallest seed of each initialization, as the paper shows one run per setting
            var pick = cells.Where(c => c.Activation == act).GroupBy(c => c.Init).OrderBy(g => g.Key == "tied" ? 0 : 1).Select(g => g.OrderBy(c => c.Seed).First()).ToList();
            foreach (var part in new[] { "conv1", "conv2" })
            {
                var f = Figures.BnConvEntries(figs, act, part, pick, entries);
                b.Add(new Image(f.Name, f.Caption));
            }
        }
        b.Add(new Heading(3, "Increments across depth: the mean over k of ‖ΔK_k‖"));
        b.Add(new Para("Per cell, the mean and the largest over k of ‖K^(k+1) − K^(k)‖_F for conv₁ and conv₂ of the trained network, with ρ = L·max_k‖ΔK_k‖ / max_k‖K_k‖ (the smooth column's quantity): the constants of the cell's E.profile row, recomputed by `resode verify` from params.npy."));
        b.Add(new Table(new[] { "cell", "activation", "init", "seed", "mean_k ‖ΔK₁‖", "max_k ‖ΔK₁‖", "ρ(conv₁)", "mean_k ‖ΔK₂‖", "max_k ‖ΔK₂‖", "ρ(conv₂)" },
            cells.OrderBy(c => c.Activation).ThenBy(c => c.Init).ThenBy(c => c.Seed).Select(c =>
                new Cell[] { c.Name, c.Activation, c.Init, c.Seed.ToString(CultureInfo.InvariantCulture) }
                    .Concat(new[] { "conv1", "conv2" }.SelectMany(part => new Cell[]
                    {
                        N(c.Profiled(DepthProfile.meanIncrementName(part))), N(c.Profiled(DepthProfile.maxIncrementName(part))), N(c.Profiled(DepthProfile.rhoName(part))),
                    })).ToArray()).ToList()));
        b.Add(new Heading(3, "Batch norm's γ and β across layers"));
        b.Add(new Table(new[] { "cell", "activation", "init", "seed", "γ₁ (mean, min..max over k)", "β₁", "γ₂", "β₂" },
            cells.OrderBy(c => c.Activation).ThenBy(c => c.Init).ThenBy(c => c.Seed).Select(c =>
                new Cell[] { c.Name, c.Activation, c.Init, c.Seed.ToString(CultureInfo.InvariantCulture) }
                    .Concat(BnConvResults.normParts.Select(part => (Cell)$"{N(c.Profiled(BnConvResults.normMeanName(part)))} ({N(c.Profiled(BnConvResults.normMinName(part)))}..{N(c.Profiled(BnConvResults.normMaxName(part)))})")).ToArray()).ToList()));
        foreach (var act in cells.Select(c => c.Activation).Distinct())
        {
            var pick = cells.Where(c => c.Activation == act).GroupBy(c => c.Init).OrderBy(g => g.Key == "tied" ? 0 : 1).Select(g => g.OrderBy(c => c.Seed).First()).ToList();
            var f = Figures.BnConvNorms(figs, act, pick);
            b.Add(new Image(f.Name, f.Caption));
        }
        b.Add(new Heading(3, "L·max_k ‖ΔK_k‖ across epochs"));
        b.Add(new Para("The smoothness in depth of the trained kernels after every epoch (run.json records it per epoch); the first and the last epoch per cell, then the figures."));
        b.Add(new Table(new[] { "cell", "activation", "init", "seed", "epochs", "conv₁: first epoch", "conv₁: last epoch", "conv₂: first epoch", "conv₂: last epoch" },
            cells.OrderBy(c => c.Activation).ThenBy(c => c.Init).ThenBy(c => c.Seed).Select(c =>
            {
                var s1 = c.SmoothByEpoch("conv1"); var s2 = c.SmoothByEpoch("conv2");
                return new Cell[] { c.Name, c.Activation, c.Init, c.Seed.ToString(CultureInfo.InvariantCulture), s1.Length.ToString(CultureInfo.InvariantCulture),
                    N(s1.FirstOrDefault(double.NaN)), N(s1.LastOrDefault(double.NaN)), N(s2.FirstOrDefault(double.NaN)), N(s2.LastOrDefault(double.NaN)) };
            }).ToList()));
        foreach (var part in new[] { "conv1", "conv2" })
        {
            var f = Figures.BnConvSmoothEpochs(figs, part, cells);
            b.Add(new Image(f.Name, f.Caption));
        }
        b.Add(new Heading(3, "The trained network with batch norm folded"));
        b.Add(new Para("Folding every batch norm into the convolution before it makes each residual branch K₂'∗σ(K₁'∗h + b₁') + b₂', the conv block of the generic results; `resode verify` evaluates on it B.bound (the network against the neural ODE of its own layers) and B.half / B.half.ode (the network of every second layer at step 2/L; docs/theorems/HalfDepth.md). The results about gradient descent are \"hypothesis not met\" on these runs: " + Theory.BnConvResults.NotGradientDescent + "."));
        var folded = m.Cells.Where(c => c.State == CellState.Done).SelectMany(c => c.Rows.Where(r => r.Id is "B.bound" or "B.half" or "B.half.ode").Select(r => (c, r))).ToList();
        b.Add(new Table(new[] { "cell", "result", "verdict", "measured", "bound", "L·measured", "detail" },
            folded.Select(x => new Cell[]
            {
                x.c.Cell.Name, x.r.Id, VerdictCell(x.r, docs), N(x.r.Measured), N(x.r.Bound),
                N(x.r.Measured * (cells.FirstOrDefault(c => c.Hash == x.c.Cell.Hash)?.Depth ?? double.NaN)), x.r.Detail,
            }).ToList()));
        b.AddRange(BnConvLadder(m, cells));
        return b;
    }

    /// <summary>
    /// Cells that differ only in depth (fashion-ladder): per activation, initialization and seed, the quantities whose
    /// rates in L the ladder tests — ρ of the trained kernels, L·‖h_L − g_{L/2}‖ and B.half.ode's constant C, and L times
    /// B.bound's measured distance to the neural ODE of the folded layers; each should stay bounded as L grows.
    /// </summary>
    private static List<Block> BnConvLadder(StudyMerge.Merged m, List<BnConvCellData> cells)
    {
        var b = new List<Block>();
        var groups = cells.GroupBy(c => (c.Activation, c.Init, c.Seed)).Where(g => g.Select(c => c.Depth).Distinct().Count() > 1).ToList();
        if (groups.Count == 0) return b;
        var rows = m.Cells.ToDictionary(c => c.Cell.Hash, c => c.Rows);
        Registry.VerdictRow? Row(BnConvCellData c, string id) => rows.TryGetValue(c.Hash, out var r) ? r.FirstOrDefault(x => x.Id == id) : null;
        double Constant(Registry.VerdictRow? r, string prefix) => r?.Constants.FirstOrDefault(t => t.Item1.StartsWith(prefix, StringComparison.Ordinal))?.Item2 ?? double.NaN;
        b.Add(new Heading(3, "Depth ladder: the rates in 1/L"));
        b.Add(new Para("Cells that differ only in depth. For a network that stays a discretization of a neural ODE each column stays bounded as L grows: ρ (L·max_k‖ΔK_k‖ / max_k‖K_k‖, smooth in depth), L·‖h_L − g_{L/2}‖ and the constant C of B.half.ode (every second layer at step 2/L moves the output by C/L), and L times B.bound's measured distance between the folded network and the neural ODE of its layers (first order in 1/L). Independent layers make ρ and C grow like L."));
        b.Add(new Table(new[] { "activation", "init", "seed", "L", "ρ(conv₁)", "ρ(conv₂)", "L·‖h_L − g_{L/2}‖", "C (B.half.ode)", "L·‖h_L − H(1)‖ (B.bound)" },
            groups.SelectMany(g => g.OrderBy(c => c.Depth).Select(c =>
            {
                var half = Row(c, "B.half"); var ode = Row(c, "B.bound");
                return new Cell[]
                {
                    c.Activation, c.Init, c.Seed.ToString(CultureInfo.InvariantCulture), c.Depth.ToString(CultureInfo.InvariantCulture),
                    N(c.Profiled(DepthProfile.rhoName("conv1"))), N(c.Profiled(DepthProfile.rhoName("conv2"))), N(Constant(half, "L * max_i measured")), N(Constant(half, "C = ")),
                    N(ode is null ? double.NaN : c.Depth * ode.Measured),
                };
            })).ToList()));
        return b;
    }
}
