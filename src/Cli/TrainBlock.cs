using System.CommandLine;
using System.Globalization;
using ResOdeProofs.Numerics;
using ResOdeProofs.Numerics.Blocks;
using ResOdeProofs.Numerics.IO;
using ResOdeProofs.Numerics.Training;

namespace ResOdeProofs.Cli;

/// <summary>`resode train --arch NAME` for a block other than the MLP: synthetic data, the generic engine, a theta.npy run directory.</summary>
internal static class TrainBlock
{
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
            // an option shared by several blocks has no one default: its help states each block's (a "[default: …]" of the
            // first block would contradict the others'), and a value not given is taken per block (TrainCommand.SpecOf)
            if (existing.TryGetValue(first.Name, out var reused))
            {
                reused.Description = description;
                if (shared) reused.DefaultValueFactory = null;
                map[first.Name] = reused;
                continue;
            }
            var option = new Option<int>("--" + first.Option) { Description = description };
            if (!shared) option.DefaultValueFactory = _ => first.Default;
            cmd.Options.Add(option);
            map[first.Name] = option;
        }
        return map;
    }

    /// <summary>
    /// The hyper-parameter options given on the command line (not defaulted) that architecture <paramref name="arch"/> does
    /// not read (e.g. --width for one-layer, --channels for mlp), as a refusal, or null; an unknown architecture named with
    /// every one train takes (bn-conv included). Train and a study's cells refuse them instead of ignoring them.
    /// </summary>
    internal static string? RefuseHyper(ParseResult pr, string arch)
    {
        var entry = BlockCatalog.All.FirstOrDefault(e => string.Equals(e.Name, arch, StringComparison.OrdinalIgnoreCase));
        if (entry is null)
            return $"unknown architecture '{arch}': one of {string.Join(", ", BlockCatalog.All.Select(e => e.Name))}, bn-conv";
        var reads = entry.HyperParameters.Select(p => "--" + p.Option).ToHashSet();
        var all = BlockCatalog.All.SelectMany(e => e.HyperParameters).Select(p => "--" + p.Option).ToHashSet();
        var given = pr.CommandResult.Children.OfType<System.CommandLine.Parsing.OptionResult>()
            .Where(r => !r.Implicit && all.Contains(r.Option.Name) && !reads.Contains(r.Option.Name)).Select(r => r.Option.Name).Distinct().ToList();
        if (given.Count == 0) return null;
        string its = reads.Count == 0 ? "it has no hyper-parameter" : "its hyper-parameters: " + string.Join(", ", reads.Order(StringComparer.Ordinal));
        return $"{string.Join(", ", given)} do{(given.Count == 1 ? "es" : "")} not apply to --arch {entry.Name} ({its})";
    }

    /// <summary>Trains <paramref name="spec"/> (read by <see cref="TrainCommand.SpecOf"/>), a block spelled as θ: refuses
    /// what the generic engine does not take, then the shared claim, training and writing (<see cref="TrainCommand.Claimed"/>).</summary>
    public static int Run(ParseResult pr, RunSpec spec)
    {
        string name = spec.Architecture;
        if (pr.GetValue<string?>("--x") is not null) return Ui.Fail($"--arch {name}: data from files is not supported by the generic engine yet; use synthetic data (--n, --d)");
        if (pr.GetValue<string?>("--w0") is not null) return Ui.Fail($"--arch {name}: --w0/--v0 are MLP weights; the generic engine starts from --init tied|smooth|iid");
        if (spec.Float32) return Ui.Fail($"--arch {name}: the generic engine computes in float64 only");
        if (pr.GetValue<string?>("--inject-fault") is not null) return Ui.Fail($"--arch {name}: faults are injected into the fast MLP engine only");
        if (!string.Equals(pr.GetValue<string>("--optimizer"), "gd", StringComparison.OrdinalIgnoreCase)) return Ui.Fail($"--arch {name}: only gradient descent (--optimizer gd) is implemented for generic architectures");
        spec.Validate();
        var block = spec.Block();
        int snapshots = Trainer.SnapshotPlan(spec.Options()).Length;
        return TrainCommand.Claimed(pr, MemoryEstimate.Block(spec.Depth, block.ParameterCount, spec.StateDim, spec.Samples, snapshots),
            MemoryEstimate.BlockLargest(spec.Depth, block.ParameterCount, snapshots),
            $"training --arch {spec.Architecture} with L = {spec.Depth}, {block.ParameterCount} parameters per layer, n = {spec.Samples} and {snapshots} snapshots",
            "reduce --depth, the block's sizes, --n or --snapshots",
            $"train --arch {spec.Architecture} L={spec.Depth} d={spec.StateDim} n={spec.Samples}", spec.Train);
    }
}
