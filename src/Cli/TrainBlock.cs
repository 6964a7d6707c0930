using System.CommandLine;
using System.Globalization;
using ResOdeProofs.Numerics;
using ResOdeProofs.Numerics.Blocks;
using ResOdeProofs.Numerics.IO;
using ResOdeProofs.Numerics.Training;

namespace ResOdeProofs.Cli;

/// <summary>`resode train --arch NAME` for a generic architecture: synthetic data, BlockTrainer, a theta.npy run directory.</summary>
internal static class TrainBlock
{
    /// <summary>The `resode train` options this path reads (or rejects).</summary>
    internal sealed record Options(Option<string> Arch, Option<string?> Scales, Option<string?> X, Option<string?> W0, Option<bool> Float32,
        Option<string?> Fault, Option<string> Optimizer, Option<int> N, Option<int> D, Option<int> Depth, Option<int> Width, Option<string> Init,
        Option<int> Modes, Option<string> Activation, Option<double> Eta, Option<int> Iters, Option<double?> Clip, Option<long> Seed,
        Option<int> Snapshots, Option<string> Out, Option<bool> Force, ImageOptions? Image = null);

    /// <summary>The image shape of the conv block's states (d = C·H·W); --width-px because --width is the MLP's hidden width.</summary>
    internal sealed record ImageOptions(Option<int> Channels, Option<int> Height, Option<int> WidthPx)
    {
        /// <summary>Adds --channels, --height, --width-px to a command.</summary>
        public static ImageOptions AddTo(Command cmd)
        {
            var o = new ImageOptions(
                new Option<int>("--channels") { Description = "--arch conv: channels C of the C×H×W states (d = C·H·W; --d is ignored).", DefaultValueFactory = _ => 2 },
                new Option<int>("--height") { Description = "--arch conv: image height H.", DefaultValueFactory = _ => 6 },
                new Option<int>("--width-px") { Description = "--arch conv: image width W in pixels (--width is the MLP's hidden width).", DefaultValueFactory = _ => 6 });
            cmd.Options.Add(o.Channels); cmd.Options.Add(o.Height); cmd.Options.Add(o.WidthPx);
            return o;
        }
    }

    public static int Run(ParseResult pr, Options o)
    {
        try
        {
            string name = pr.GetValue(o.Arch)!;
            BlockCatalog.Find(name);
            if (pr.GetValue(o.X) is not null) return Ui.Fail($"--arch {name}: data from files is not supported by the generic engine yet; use synthetic data (--n, --d)");
            if (pr.GetValue(o.W0) is not null) return Ui.Fail($"--arch {name}: --w0/--v0 are MLP weights; the generic engine starts from --init tied|smooth|iid");
            if (pr.GetValue(o.Float32)) return Ui.Fail($"--arch {name}: the generic engine computes in float64 only");
            if (pr.GetValue(o.Fault) is not null) return Ui.Fail($"--arch {name}: faults are injected into the fast MLP engine only");
            if (!string.Equals(pr.GetValue(o.Optimizer), "gd", StringComparison.OrdinalIgnoreCase)) return Ui.Fail($"--arch {name}: only gradient descent (--optimizer gd) is implemented for generic architectures");
            double[]? scales = null;
            if (pr.GetValue(o.Scales) is string sc)
                scales = sc.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                    .Select(x => double.Parse(x, CultureInfo.InvariantCulture)).ToArray();
            var spec = new BlockRunSpec
            {
                Architecture = BlockCatalog.Find(name).Name, Samples = pr.GetValue(o.N), Dim = pr.GetValue(o.D), Depth = pr.GetValue(o.Depth),
                Width = pr.GetValue(o.Width), Activation = Activations.Parse(pr.GetValue(o.Activation)!), Init = Initialization.Parse(pr.GetValue(o.Init)!),
                Scales = scales, Modes = pr.GetValue(o.Modes), Eta = pr.GetValue(o.Eta), Iterations = pr.GetValue(o.Iters), Clip = pr.GetValue(o.Clip),
                Snapshots = pr.GetValue(o.Snapshots), Seed = pr.GetValue(o.Seed),
            };
            if (o.Image is { } img)
                spec = spec with { Channels = pr.GetValue(img.Channels), Height = pr.GetValue(img.Height), ImageWidth = pr.GetValue(img.WidthPx) };
            // Fail before the work: the arrays fit in memory, and the output is ours to write (claimed, and writable).
            var block = spec.Block();
            int snapshots = Trainer.SnapshotPlan(spec.Options()).Length;
            long p = (long)spec.Depth * block.ParameterCount;
            MemoryEstimate.Require(MemoryEstimate.Block(spec.Depth, block.ParameterCount, spec.StateDim, spec.Samples, snapshots), snapshots * p,
                $"training --arch {spec.Architecture} with L = {spec.Depth}, {block.ParameterCount} parameters per layer, n = {spec.Samples} and {snapshots} snapshots",
                "reduce --depth, the block's sizes, --n or --snapshots");
            string dir = pr.GetValue(o.Out)!;
            using var claim = OutputClaim.Acquire(dir, pr.GetValue(o.Force), "run");
            Ui.Notes(claim);
            using var interrupts = Ui.OnInterrupt($"interrupted: stopping at the next iteration and writing what there is to {dir} (status interrupted); signal again to kill");
            var result = Ui.WithProgress($"train --arch {spec.Architecture} L={spec.Depth} d={spec.StateDim} n={spec.Samples}", progress => spec.Train(progress, interrupts.Token));
            BlockRunDirectory.Write(result, claim, new RunProvenance(ResodeApp.CommandLine(pr)));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{TrainCommand.StatusWord(result.Status)}: {result.UpdatesApplied} updates in {result.Seconds:F2} s; loss {result.Losses[0]:G6} -> {result.Losses[^1]:G6}; wrote {dir}"));
            return TrainCommand.Finish(result.Status, result.DivergenceReason, result.UpdatesApplied, dir);
        }
        catch (Exception e) when (Ui.Expected(e))
        {
            return Ui.Fail(e.Message);
        }
    }
}
