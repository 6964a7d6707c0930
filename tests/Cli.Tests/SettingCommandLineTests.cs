using ResOdeProofs.Numerics;
using ResOdeProofs.Numerics.IO;
using ResOdeProofs.Numerics.Training;

namespace ResOdeProofs.Cli.Tests;

/// <summary>
/// The command line a setting prints to reproduce a failing property (`SyntheticSetting.CommandLine`, its common options
/// written once for every architecture): `resode train` with it writes the run the setting trains in memory.
/// </summary>
[Collection(CliCollection.Name)]
public sealed class SettingCommandLineTests : IDisposable
{
    private readonly Scratch _s = new();
    public void Dispose() => _s.Dispose();

    /// <summary>Runs the setting's command line and compares the run it writes with the setting trained in memory: the
    /// snapshot iterations and every loss bit for bit.</summary>
    private void Reproduces(SyntheticSetting spec, string dir)
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
        Reproduces(new BlockRunSpec
        {
            Architecture = "glu", Depth = 4, Width = 3, Samples = 4, Dim = 3, Init = InitKind.Smooth, Eta = 0.05, Iterations = 4,
            Clip = 0.5, SnapshotSteps = new[] { 0, 2, 4 }, Seed = 5,
        }, "glu");
}
