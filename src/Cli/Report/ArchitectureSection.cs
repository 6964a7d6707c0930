using System.Globalization;
using ResOdeProofs.Numerics;
using ResOdeProofs.Numerics.Blocks;
using ResOdeProofs.Numerics.IO;
using ResOdeProofs.Numerics.Training;
using ResOdeProofs.Theory;

namespace ResOdeProofs.Cli.Report;

/// <summary>One small run of a generic architecture with its verdict rows.</summary>
internal sealed record ArchitectureRun(RunSpec Spec, string Dir, List<Registry.VerdictRow> Rows, double Seconds);

/// <summary>
/// The report's "new architectures" section: one small run per architecture added through the extension point
/// (docs/extending.md), trained and verified with results A and B evaluated with the block's ingredients (A.aposteriori, A.aposteriori.segments, B.bound, …).
/// </summary>
internal static class ArchitectureSection
{
    /// <summary>The settings: one per catalog entry that declares a report example (BlockCatalog.Entry.ReportExample: small,
    /// a step size the architecture trains stably with), tied initialization, GELU, the catalog's default hyper-parameters and scales.</summary>
    public static IReadOnlyList<RunSpec> Specs(long seed) =>
        BlockCatalog.All.Where(e => e.ReportExample is not null).Select(e => new RunSpec
        {
            Architecture = e.Name, Depth = e.ReportExample!.Depth, Samples = e.ReportExample.Samples, Dim = e.ReportExample.Dim, Init = InitKind.Tied,
            Eta = e.ReportExample.Eta, Iterations = e.ReportExample.Iterations, Snapshots = 5, Seed = seed,
        }).ToList();

    /// <summary>Trains, writes under <paramref name="dir"/>/runs/architectures/NAME and verifies every setting.</summary>
    public static List<ArchitectureRun> Run(long seed, string dir, Action<string> log) => Specs(seed).Select(spec => RunOne(spec, dir, log)).ToList();

    /// <summary>Trains one setting, writes it under <paramref name="dir"/>/runs/architectures/NAME and verifies it.</summary>
    public static ArchitectureRun RunOne(RunSpec spec, string dir, Action<string> log)
    {
        var sw = System.Diagnostics.Stopwatch.StartNew();
        log($"architecture {spec.Architecture}");
        var result = spec.Train();
        string runDir = Path.Combine(dir, "runs", "architectures", spec.Architecture);
        RunDirectory.Write(result, runDir, force: true);
        var run = Registry.openRun(RunDirectory.InMemory(result, Path.Combine("runs", "architectures", spec.Architecture)));
        var rows = Registry.verifyBlockRun(run).ToList();
        return new ArchitectureRun(spec, Path.Combine("runs", "architectures", spec.Architecture), rows, sw.Elapsed.TotalSeconds);
    }

    public const string Intro =
        "Architectures added through the extension point (docs/extending.md: an engine block, one catalog entry, an `Architecture` value with its constants, one registry line): " +
        "one small run each, evaluated by results A and B (A.aposteriori, A.aposteriori.segments, A.split, A.split.segments, A.split.segments.remainder, B.bound, B.bound.tangent) with the ingredients the architecture supplies, stated once under the same ids as the MLP's (docs/theorems/GenericResults.md) and not edited per architecture, " +
        "by the evidence results E.replay, E.claims and E.init, stated once for every architecture the MLP included (docs/theorems/Evidence.md), " +
        "by result C (C.mu0 … C.gfPathLength: the PL constant at an identity initialization and the loss decay it gives), stated once for every architecture the MLP included (docs/theorems/PolyakLojasiewicz.md; its hypotheses need a network that is the identity at initialization with a positive PL constant μ₀ there; an example with a nonzero output scale is not the identity, and the table gives each run's reason row by row), " +
        "and by the lemma chain L1–L5 (states, increments, adjoints, layer gradients and their differences, each bounded from the architecture's constants at every layer's own part norms), stated once for every architecture the MLP included (docs/theorems/LemmaChain.md). " +
        "Measured, bound and tightness (bound / measured; for a lower bound measured / bound) are the loosest comparison's (the worst case of the bound), then the tightest comparison's tightness (nearest to failing). To add an architecture, follow docs/extending.md.";

    public static readonly string[] Header = { "architecture", "setting", "result", "verdict", "measured (loosest)", "bound (loosest)", "tightness max (loosest)", "tightness min (tightest)", "seconds" };

    internal static string Setting(RunSpec s) =>
        $"d = {s.StateDim}" + string.Concat(s.Hyper.Select(kv => string.Create(CultureInfo.InvariantCulture, $", {kv.Key} {kv.Value:G}"))) +
        string.Create(CultureInfo.InvariantCulture, $", L = {s.Depth}, n = {s.Samples}, {Activations.Name(s.Activation)}, {s.Init.ToString().ToLowerInvariant()}, η = {s.Eta:G4}, {s.Iterations} iterations");
}
