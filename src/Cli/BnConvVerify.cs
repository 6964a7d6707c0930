using Microsoft.FSharp.Collections;
using ResOdeProofs.Numerics.Blocks;
using ResOdeProofs.Numerics;
using ResOdeProofs.Numerics.Blocks.BnConv;
using ResOdeProofs.Numerics.IO;
using ResOdeProofs.Numerics.Model;
using ResOdeProofs.Theory;

namespace ResOdeProofs.Cli;

/// <summary>
/// `resode verify` on runs of `train --arch bn-conv` (BnConvResults.fs): per run, the gradient-descent results as
/// "hypothesis not met", the evidence rows E.accuracy.train/test (run.json's accuracies recomputed), and on the trained
/// network with batch norm folded into its convolutions G.B.bound, B.half and B.half.ode, evaluated on the first
/// <see cref="FoldedSamples"/> test images.
/// </summary>
internal static class BnConvVerify
{
    /// <summary>Test images the folded network is evaluated on (its states after the stem are the samples h₀).</summary>
    public const int FoldedSamples = 2;

    /// <summary>Every row for one run (also writes nothing: the caller writes verdicts.json).</summary>
    public static List<Registry.VerdictRow> Rows(string dir, string? dataDir = null)
    {
        var run = BnConvRun.Load(dir);
        var rows = new List<Registry.VerdictRow>(BnConvResults.gradientDescentRows(dir));
        var (train, test) = BnConvAccuracy.Verify(run, dataDir);
        rows.Add(Registry.evaluateRow(BnConvResults.trainAccuracy, dir, Claim(train)));
        rows.Add(Registry.evaluateRow(BnConvResults.testAccuracy, dir, Claim(test)));
        var (blockRun, half) = Folded(run, dataDir);
        rows.AddRange(BnConvResults.foldedRows(blockRun, half));
        return rows;
    }

    private static BnConvResults.AccuracyClaim Claim(BnConvAccuracy.Check c) =>
        new(c.Set, c.N, c.Claimed, c.Folded, c.Allowance, c.Describe());

    /// <summary>The folded network as a conv-block run (one snapshot: the trained parameters) and as the half-depth input.</summary>
    internal static (Run Run, HalfDepth.HalfDepthInput Half) Folded(BnConvRun run, string? dataDir, double halfStepScale = 1.0)
    {
        var cfg = run.Config;
        var (train, test) = run.Data(dataDir);
        var (mean, std) = BnConvTrainer.PixelMoments(train);
        int n = Math.Min(FoldedSamples, test.Count), px = cfg.InputSide * cfg.InputSide;
        var images = new float[n * px];
        for (int s = 0; s < n; s++) BnConvTrainer.Prepare(test, s, 0, 0, false, mean, std, images.AsSpan(s * px, px));
        var h0 = BnConvFolded.Stem(cfg, run.Theta, run.Statistics, images, n);
        var theta = BnConvFolded.Fold(cfg, run.Theta, run.Statistics);
        string name = $"{run.Directory} (trained network, batch norm folded, {n} test images)";
        return (FoldedRun(cfg, theta, h0, n, run.Init, name),
                new HalfDepth.HalfDepthInput(name, BnConvFolded.Block(cfg), theta, cfg.Depth, h0, n, halfStepScale));
    }

    /// <summary>A conv-block run in memory whose one snapshot is <paramref name="theta"/> and whose inputs are the states h₀.</summary>
    internal static Run FoldedRun(BnConvConfig cfg, double[] theta, double[] h0, int n, string init, string name)
    {
        var block = BnConvFolded.Block(cfg);
        var hyper = new Dictionary<string, double> { ["channels"] = cfg.Channels, ["height"] = cfg.Side, ["width_px"] = cfg.Side };
        int d = block.StateDim;
        var arch = ArchitectureMetadata.Of(block, hyper);
        var meta = new RunMetadata
        {
            Activation = Activations.Name(cfg.Activation), Eta = 1.0, Optimizer = "sgd", Iterations = 0, Depth = cfg.Depth, N = n, D = d, DIn = d, DOut = d,
            Init = new InitMetadata { Kind = init, Description = "trained bn-conv network, batch norm folded" }, Architecture = arch,
        };
        var data = new RunData
        {
            Directory = name, Meta = meta, Architecture = arch, Block = block, Depth = cfg.Depth, Dim = d,
            Data = new Dataset(n, d, d, h0, new double[h0.Length]), Activation = cfg.Activation, Eta = 1.0,
            Steps = new[] { 0 }, Theta = new[] { theta }, Losses = new[] { 0.0 }, Trace = new Dictionary<string, double[]>(),
        };
        return Registry.openRun(data);
    }

    /// <summary>verify's branch for bn-conv runs: every row of every run, verdicts.json per run, printed; the exit code.</summary>
    public static List<Registry.VerdictRow> VerifyAll(string[] paths)
    {
        var other = paths.Where(p => !TrainBnConv.IsRun(p)).ToList();
        if (other.Count > 0) throw new ArgumentException($"mixed run formats: {string.Join(", ", other)} are not bn-conv runs; verify them separately");
        var all = new List<Registry.VerdictRow>();
        foreach (var p in paths)
        {
            var rows = Rows(p);
            Registry.writeVerdicts(p, ListModule.OfSeq(rows));
            all.AddRange(rows);
        }
        return all;
    }
}
