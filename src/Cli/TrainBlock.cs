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
    /// <summary>The `resode train` options this path reads (or rejects); <paramref name="Hyper"/> holds one option per
    /// hyper-parameter name declared in the catalog.</summary>
    internal sealed record Options(Option<string> Arch, Option<string?> Scales, Option<string?> X, Option<string?> W0, Option<bool> Float32,
        Option<string?> Fault, Option<string> Optimizer, Option<int> N, Option<int> D, Option<int> Depth, Option<string> Init,
        Option<int> Modes, Option<string> Activation, Option<double> Eta, Option<int> Iters, Option<double?> Clip, Option<long> Seed,
        Option<int> Snapshots, Option<string?> SnapshotSteps, Option<string> Out, Option<bool> Force, IReadOnlyDictionary<string, Option<int>> Hyper);

    /// <summary>One option per hyper-parameter the catalog declares (one per name; an option the command already has,
    /// such as the MLP's --width, is reused), described from the catalog: which architectures read it, what it means, its default.</summary>
    internal static IReadOnlyDictionary<string, Option<int>> AddHyperOptions(Command cmd, IReadOnlyDictionary<string, Option<int>> existing)
    {
        var map = new Dictionary<string, Option<int>>();
        foreach (var group in BlockCatalog.All.SelectMany(e => e.HyperParameters.Select(p => (Entry: e, Param: p))).GroupBy(x => x.Param.Name))
        {
            var first = group.First().Param;
            // the option's own default is the first block's; with several blocks each one's default is stated
            bool shared = group.Count() > 1;
            string description = string.Join("; ", group.Select(x => $"--arch {x.Entry.Name}: {x.Param.Meaning}" + (shared ? $" (default {x.Param.Default})" : ""))) + ".";
            if (existing.TryGetValue(first.Name, out var reused)) { reused.Description = description; map[first.Name] = reused; continue; }
            var option = new Option<int>("--" + first.Option) { Description = description, DefaultValueFactory = _ => first.Default };
            cmd.Options.Add(option);
            map[first.Name] = option;
        }
        return map;
    }

    public static int Run(ParseResult pr, Options o)
    {
        try
        {
            string name = pr.GetValue(o.Arch)!;
            if (pr.GetValue(o.X) is not null) return Ui.Fail($"--arch {name}: data from files is not supported by the generic engine yet; use synthetic data (--n, --d)");
            if (pr.GetValue(o.W0) is not null) return Ui.Fail($"--arch {name}: --w0/--v0 are MLP weights; the generic engine starts from --init tied|smooth|iid");
            if (pr.GetValue(o.Float32)) return Ui.Fail($"--arch {name}: the generic engine computes in float64 only");
            if (pr.GetValue(o.Fault) is not null) return Ui.Fail($"--arch {name}: faults are injected into the fast MLP engine only");
            if (!string.Equals(pr.GetValue(o.Optimizer), "gd", StringComparison.OrdinalIgnoreCase)) return Ui.Fail($"--arch {name}: only gradient descent (--optimizer gd) is implemented for generic architectures");
            double[]? scales = null;
            if (pr.GetValue(o.Scales) is string sc)
                scales = sc.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                    .Select(x => double.Parse(x, CultureInfo.InvariantCulture)).ToArray();
            var entry = BlockCatalog.Find(name);
            // a hyper-parameter not given on the command line takes this architecture's default (options are shared by several blocks)
            var hyper = entry.HyperParameters.ToDictionary(p => p.Name,
                p => pr.GetResult(o.Hyper[p.Name]) is { Implicit: false } ? (double)pr.GetValue(o.Hyper[p.Name]) : p.Default);
            var spec = new BlockRunSpec
            {
                Architecture = entry.Name, Samples = pr.GetValue(o.N), Dim = pr.GetValue(o.D), Depth = pr.GetValue(o.Depth),
                HyperValues = hyper, Activation = Activations.Parse(pr.GetValue(o.Activation)!), Init = Initialization.Parse(pr.GetValue(o.Init)!),
                Scales = scales, Modes = pr.GetValue(o.Modes), Eta = pr.GetValue(o.Eta), Iterations = pr.GetValue(o.Iters), Clip = pr.GetValue(o.Clip),
                Snapshots = pr.GetValue(o.Snapshots), SnapshotSteps = TrainCommand.ParseSteps(pr.GetValue(o.SnapshotSteps), pr.GetValue(o.Iters)),
                Seed = pr.GetValue(o.Seed),
            };
            if (scales is not null && scales.Length != entry.Parts.Count)
                return Ui.Fail($"--scales: --arch {entry.Name} has {entry.Parts.Count} parts ({string.Join(", ", entry.Parts.Select(q => q.Name))}), got {scales.Length} scales");
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
            RunDirectory.Write(result, claim, new RunProvenance(ResodeApp.CommandLine(pr)));
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
