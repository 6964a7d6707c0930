using ResOdeProofs.Numerics;
using ResOdeProofs.Numerics.IO;
using ResOdeProofs.Numerics.Training;

namespace ResOdeProofs.Cli.Tests;

/// <summary>
/// The command line a setting prints to reproduce a failing property (`RunSpec.CommandLine`, its common options
/// written once for every architecture): `resode train` with it writes the run the setting trains in memory.
/// </summary>
[Collection(CliCollection.Name)]
public sealed class SettingCommandLineTests : IDisposable
{
    private readonly Scratch _s = new();
    public void Dispose() => _s.Dispose();

    /// <summary>Runs the setting's command line and compares the run it writes with the setting trained in memory: the
    /// snapshot iterations and every loss bit for bit.</summary>
    private void Reproduces(RunSpec spec, string dir)
    {
        var line = spec.CommandLine(dir);
        var args = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("resode", args[0]);
        var r = Cli.Run(_s.Dir, args[1..]);
        Assert.True(r.Code == ExitCodes.Done, line + "\n" + r);
        var written = RunDirectory.Read(_s.P(dir));
        var trained = spec.Train();
        Assert.Equal(trained.SnapshotSteps.ToArray(), written.Steps);
        Assert.Equal(trained.Losses, written.Losses);
    }

    [Fact(DisplayName = "setting command line: the MLP with snapshot iterations, clip, smooth init, float32, one thread → `resode train` writes the same run")]
    public void TheMlpSettingsCommandLineReproducesItsRun() =>
        Reproduces(new RunSpec
        {
            Depth = 4, Width = 3, Samples = 4, Dim = 3, Init = InitKind.Smooth, Scale = 0.5, VScale = 0.1, Eta = 0.05, Iterations = 4,
            Clip = 1.0, SnapshotSteps = new[] { 0, 1, 4 }, Float32 = true, Threads = 1, Seed = 3,
        }, "mlp");

    [Fact(DisplayName = "setting command line: a glu block with snapshot iterations, clip, smooth init → `resode train` writes the same run")]
    public void TheBlockSettingsCommandLineReproducesItsRun() =>
        Reproduces(new RunSpec
        {
            Architecture = "glu", Depth = 4, Width = 3, Samples = 4, Dim = 3, Init = InitKind.Smooth, Eta = 0.05, Iterations = 4,
            Clip = 0.5, SnapshotSteps = new[] { 0, 2, 4 }, Seed = 5,
        }, "glu");

    /// <summary>The files of two run directories that differ: every file by its bytes, run.json by its fields but for the
    /// command line and the timings (seconds, ms per iteration), which no two runs share.</summary>
    private static List<string> DifferingFiles(string a, string b)
    {
        static Dictionary<string, string> Files(string dir) =>
            Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories).Where(f => Path.GetFileName(f) != ".resode-output")
                .ToDictionary(f => Path.GetRelativePath(dir, f), f => Path.GetFileName(f) == "run.json" ? Meta(f) : Convert.ToHexString(File.ReadAllBytes(f)));
        static string Meta(string path)
        {
            var o = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(path))!.AsObject();
            foreach (var k in new[] { "command_line", "seconds", "ms_per_iteration" }) o.Remove(k);
            return o.ToJsonString();
        }
        var fa = Files(a); var fb = Files(b);
        return fa.Keys.Union(fb.Keys).Where(k => !fa.TryGetValue(k, out var x) || !fb.TryGetValue(k, out var y) || x != y).OrderBy(k => k).ToList();
    }

    /// <summary>Writes <paramref name="trained"/>'s run in memory and <paramref name="spec"/>'s by its command line; returns
    /// the files that differ.</summary>
    private List<string> CommandLineAgainst(RunSpec spec, RunSpec trained, string name)
    {
        var r = Cli.Run(_s.Dir, spec.CommandLine(name).Split(' ', StringSplitOptions.RemoveEmptyEntries)[1..]);
        Assert.True(r.Code == ExitCodes.Done, r.ToString());
        RunDirectory.Write(trained.Train(), _s.P(name + "-in-memory"));
        return DifferingFiles(_s.P(name), _s.P(name + "-in-memory"));
    }

    public static TheoryData<string> Specs => new() { "mlp", "glu" };

    private static RunSpec SpecNamed(string name) => name == "mlp"
        ? new RunSpec { Depth = 5, Width = 4, Samples = 6, Dim = 3, Init = InitKind.Iid, Scale = 0.8, VScale = 0.1, Eta = 0.02, Iterations = 5, Snapshots = 3, Seed = 2 }
        : new RunSpec { Architecture = "glu", Depth = 5, Width = 3, Samples = 6, Dim = 3, Init = InitKind.Smooth, Scales = new[] { 0.5, 0.4, 0.1 }, Eta = 0.02, Iterations = 5, Snapshots = 3, Seed = 2 };

    [Theory(DisplayName = "RunSpec: a setting trained in memory and by `resode train` → every file byte for byte equal, run.json but for command line and timings")]
    [MemberData(nameof(Specs))]
    public void ASpecAndItsCommandLineWriteTheSameFiles(string name)
    {
        var spec = SpecNamed(name);
        Assert.Empty(CommandLineAgainst(spec, spec, name));
    }

    [Theory(DisplayName = "RunSpec: the in-memory run of another seed → its parameters, losses and run.json reported different")]
    [MemberData(nameof(Specs))]
    public void AnotherSeedsFilesAreReportedDifferent(string name)
    {
        var spec = SpecNamed(name);
        var differ = CommandLineAgainst(spec, spec with { Seed = spec.Seed + 1 }, name);
        Assert.Contains("losses.npy", differ);
        Assert.Contains("run.json", differ);
        Assert.Contains(name == "mlp" ? "w.npy" : "theta.npy", differ);
    }

    [Theory(DisplayName = "resode train: an invalid run specification → exit 2, one line, no stack trace, nothing written")]
    [InlineData("--depth", "-3")]
    [InlineData("--arch", "no-such-block")]
    [InlineData("--arch", "glu", "--depth", "-2")]
    [InlineData("--arch", "glu", "--scales", "1,2")]
    [InlineData("--arch", "glu", "--init", "sideways")]
    [InlineData("--init", "file")]
    public void AnInvalidSpecIsOneLineAndExitTwo(params string[] args)
    {
        var r = Cli.Run(_s.Dir, new[] { "train", "--n", "8", "--d", "3", "--iters", "3" }.With(args).With("--out", "x"));
        Assert.Equal(ExitCodes.BadInput, r.Code);
        Cli.OneLine(r);
        Assert.False(Directory.Exists(_s.P("x")));
    }
}
