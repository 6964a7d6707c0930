namespace ResOdeProofs.Cli.Tests;

/// <summary>
/// Input that the tool would otherwise take in a way its user did not mean: a study key given twice (the last one won),
/// two options that choose the same thing, an option the architecture does not read. Each is refused with exit 2 and
/// one line naming what to change, before any work; and every refusal of the parser names the command as it is typed.
/// </summary>
[Collection(CliCollection.Name)]
public sealed class IgnoredInputTests : IDisposable
{
    private readonly Scratch _s = new();
    public void Dispose() => _s.Dispose();

    /// <summary>Writes <paramref name="text"/> as the study file s.toml and asks `sweep slurm --dry-run` to read it
    /// (it reads and checks the study, then writes the array script into the output: nothing runs).</summary>
    private CliOutcome ReadStudy(string text)
    {
        File.WriteAllText(_s.P("s.toml"), text);
        return Cli.Run(_s.Dir, "sweep", "slurm", "s.toml", "--out", "o", "--dry-run");
    }

    /// <summary>The refusal of a study: exit 2, one line naming the study file and <paramref name="named"/>, nothing written.</summary>
    private void StudyRefused(CliOutcome r, params string[] named)
    {
        Assert.True(r.Code == ExitCodes.BadInput, r.ToString());
        Cli.OneLine(r);
        Assert.Contains("s.toml", r.Err);
        foreach (var n in named) Assert.Contains(n, r.Err);
        Assert.False(Directory.Exists(_s.P("o")));
    }

    [Theory(DisplayName = "sweep study: a key given twice (in a grid, at the top, a [table] twice, a dotted key over a table) → exit 2 naming the key and the file, nothing written (the last one won)")]
    [InlineData("name = \"dup\"\n[grid.g]\ndepth = 4\ndepth = 8\niters = 3\n", "grid.g.depth")]
    [InlineData("name = \"dup\"\nname = \"other\"\n[grid.g]\ndepth = 4\niters = 3\n", "`name`")]
    [InlineData("name = \"dup\"\n[grid.g]\ndepth = 4\niters = 3\n[grid.g]\nseed = 1\n", "grid.g")]
    [InlineData("name = \"dup\"\n[grid.g]\ndepth = 4\niters = 3\n[grid]\ng.depth = 8\n", "grid.g")]
    public void AStudyKeyGivenTwiceIsRefused(string study, string key) =>
        StudyRefused(ReadStudy(study), key, "already defined");

    /// <summary>The refusal of a train command line (<see cref="Cli.Small"/> with <paramref name="args"/>): exit 2, one line
    /// containing <paramref name="message"/>, nothing written.</summary>
    private void TrainRefused(string message, string[] args)
    {
        var r = Cli.Run(_s.Dir, Cli.Small.With(args).With("--out", "x"));
        Assert.Equal(ExitCodes.BadInput, r.Code);
        Cli.OneLine(r);
        Assert.Contains(message, r.Err);
        Assert.False(Directory.Exists(_s.P("x")));
    }

    [Fact(DisplayName = "train: --snapshots N with --snapshot-steps LIST → exit 2 naming both, nothing written; --snapshot-steps alone (--snapshots at its default) → trains")]
    public void SnapshotsWithSnapshotStepsIsRefused()
    {
        var r = Cli.Run(_s.Dir, Cli.Small.With("--snapshots", "3", "--snapshot-steps", "0,1,3", "--out", "both"));
        Assert.Equal(ExitCodes.BadInput, r.Code);
        Cli.OneLine(r);
        Assert.Contains("--snapshots", r.Err);
        Assert.Contains("--snapshot-steps", r.Err);
        Assert.False(Directory.Exists(_s.P("both")));
        var steps = Cli.Run(_s.Dir, Cli.Small.With("--snapshot-steps", "0,1,3", "--out", "steps"));
        Assert.True(steps.Code == ExitCodes.Done, steps.ToString());
        // a study cell with both is refused when the study is read, naming the cell
        StudyRefused(ReadStudy("name = \"snap\"\n[defaults]\nsnapshots = 3\n[grid.g]\ndepth = 4\niters = 3\nsnapshot-steps = \"0,1,3\"\n"),
            "cell g", "--snapshots", "--snapshot-steps");
    }

    [Theory(DisplayName = "train: a scale option the architecture does not read (--scales with --arch mlp, --scale or --v-scale with a generic block) → exit 2 naming the options each architecture takes, nothing written")]
    [InlineData("--scales applies to the generic architectures (--arch one-layer, scaled-linear, conv, glu)", "--scales", "1,0")]
    [InlineData("--scales applies to the generic architectures", "--arch", "mlp", "--scales", "0.5")]
    [InlineData("--scale applies to --arch mlp only; --arch glu takes --scales", "--arch", "glu", "--scale", "2")]
    [InlineData("--scale and --v-scale apply to --arch mlp only; --arch one-layer takes --scales", "--arch", "one-layer", "--scale", "2", "--v-scale", "0.1")]
    public void AScaleOptionOfAnotherArchitectureIsRefused(string message, params string[] args) => TrainRefused(message, args);

    [Theory(DisplayName = "train: an option the optimizer or the initialization does not read (--horizon, --rtol or --atol with gradient descent, --modes with --init tied or iid) → exit 2 naming it and what reads it, nothing written")]
    [InlineData("--horizon applies to --optimizer gf only", "--horizon", "NaN")]
    [InlineData("--rtol and --atol apply to --optimizer gf only", "--rtol", "-0.5", "--atol", "1e-10")]
    [InlineData("--atol applies to --optimizer gf only", "--optimizer", "gd", "--atol", "1e-10")]
    [InlineData("--modes applies to --init smooth only", "--modes", "3")]
    [InlineData("--init iid has none", "--init", "iid", "--modes", "3")]
    public void AnOptionTheOptimizerOrTheInitializationDoesNotReadIsRefused(string message, params string[] args) => TrainRefused(message, args);

    [Theory(DisplayName = "train: --snapshots more than the run's iterates (5 or 99999999 of a 3-iteration run, with gd or gf) → exit 2 naming the most it can write, nothing written")]
    [InlineData("--snapshots", "5")]
    [InlineData("--snapshots", "99999999")]
    [InlineData("--snapshots", "5", "--optimizer", "gf")]
    public void MoreSnapshotsThanIteratesAreRefused(params string[] args) =>
        TrainRefused("give at most 4 (every iterate)", args);

    [Fact(DisplayName = "train: --snapshots equal to the run's iterates, or the default 5 of a 3-iteration run → trains, a snapshot at every iterate (the controls of the refusal above)")]
    public void EveryIterateAsSnapshotsIsTaken()
    {
        foreach (var (args, dir) in new[] { (new[] { "--snapshots", "4" }, "all"), (Array.Empty<string>(), "default") })
        {
            var r = Cli.Run(_s.Dir, Cli.Small.With(args).With("--out", dir));
            Assert.True(r.Code == ExitCodes.Done, r.ToString());
            Assert.Equal(new long[] { 0, 1, 2, 3 }, ResOdeProofs.Numerics.IO.Npy.ReadInt64(_s.P(dir, "steps.npy"), out _));
        }
    }

    [Fact(DisplayName = "train: --horizon, --rtol and --atol with --optimizer gf, --modes with --init smooth → train (the controls of the refusals above)")]
    public void TheOptionsAreTakenWhereTheyAreRead()
    {
        var flow = Cli.Run(_s.Dir, Cli.Small.With("--optimizer", "gf", "--horizon", "0.05", "--rtol", "1e-7", "--atol", "1e-10", "--out", "flow"));
        Assert.True(flow.Code == ExitCodes.Done, flow.ToString());
        var smooth = Cli.Run(_s.Dir, Cli.Small.With("--init", "smooth", "--modes", "3", "--out", "smooth"));
        Assert.True(smooth.Code == ExitCodes.Done, smooth.ToString());
    }

    [Fact(DisplayName = "report: --preset and --study together → exit 2 naming both, nothing written (the study file silently won)")]
    public void ReportWithAPresetAndAStudyIsRefused()
    {
        File.WriteAllText(_s.P("mine.toml"), "name = \"mine\"\n[grid.g]\ndepth = 4\niters = 3\n");
        var r = Cli.Run(_s.Dir, "report", "--preset", "quick", "--study", "mine.toml", "--out", "x");
        Assert.Equal(ExitCodes.BadInput, r.Code);
        Cli.OneLine(r);
        Assert.Contains("--preset quick and --study mine.toml", r.Err);
        Assert.False(Directory.Exists(_s.P("x")));
    }

    [Theory(DisplayName = "train: a hyper-parameter the architecture does not read (--width with one-layer, --channels with mlp) or an unknown architecture → exit 2 naming what it reads (bn-conv listed), nothing written")]
    [InlineData("--width does not apply to --arch one-layer (it has no hyper-parameter)", "train", "--arch", "one-layer", "--width", "8", "--depth", "4", "--iters", "2")]
    [InlineData("--channels does not apply to --arch mlp (its hyper-parameters: --width)", "train", "--channels", "3", "--depth", "4", "--iters", "2")]
    [InlineData("one of mlp, one-layer, scaled-linear, conv, glu, bn-conv", "train", "--arch", "nope")]
    public void AHyperParameterTheArchitectureDoesNotReadIsRefused(string message, params string[] args)
    {
        var r = Cli.Run(_s.Dir, args.Append("--out").Append("x").ToArray());
        Assert.Equal(ExitCodes.BadInput, r.Code);
        Cli.OneLine(r);
        Assert.Contains(message, r.Err);
        Assert.False(Directory.Exists(_s.P("x")));
    }

    [Theory(DisplayName = "sweep study: a cell with an option its architecture does not read (scales for mlp, scales or epochs where they do not apply) → exit 2 naming the cell when the study is read, nothing written")]
    [InlineData("[grid.g]\ndepth = 4\niters = 3\nscales = \"1,0\"\n", "--scales applies to the generic architectures")]
    [InlineData("[grid.g]\narch = \"bn-conv\"\ndepth = 2\nscales = \"1\"\n", "--scales does not apply to --arch bn-conv")]
    [InlineData("[grid.g]\ndepth = 4\niters = 3\nepochs = 2\n", "--epochs applies to --arch bn-conv only")]
    [InlineData("[grid.g]\narch = \"one-layer\"\ndepth = 4\niters = 3\nwidth = 8\n", "--width does not apply to --arch one-layer")]
    public void AStudyCellWithAnOptionItsArchitectureDoesNotReadIsRefused(string grid, string message) =>
        StudyRefused(ReadStudy("name = \"ignored\"\n" + grid), "cell g", message);

    [Theory(DisplayName = "resode: bad usage of a nested command (sweep merge, sweep run) or of a top-level one → the hint names the command as typed (resode sweep merge --help)")]
    [InlineData("resode sweep merge --help", "sweep", "merge")]
    [InlineData("resode sweep run --help", "sweep", "run", "study.toml")]
    [InlineData("resode sweep --help", "sweep")]
    [InlineData("resode train --help", "train", "--no-such-option")]
    [InlineData("resode --help", "no-such-command")]
    public void TheUsageHintNamesTheWholeCommand(string hint, params string[] args)
    {
        var r = Cli.Run(_s.Dir, args);
        Assert.Equal(ExitCodes.BadInput, r.Code);
        Cli.OneLine(r);
        Assert.Contains($"(see `{hint}`)", r.Err);
    }

    [Fact(DisplayName = "verify: an unknown option beside run directories (--out x, -o) → exit 2 naming the option as unknown, not as a missing run directory; the run directory gets no verdicts; after `--` a dashed name is a run directory")]
    public void AnUnknownOptionAmongRunDirectoriesIsNamed()
    {
        var t = Cli.Run(_s.Dir, Cli.Small.With("--out", "run"));
        Assert.True(t.Code == ExitCodes.Done, t.ToString());
        var r = Cli.Run(_s.Dir, "verify", "run", "--out", "v.json");
        Assert.Equal(ExitCodes.BadInput, r.Code);
        Cli.OneLine(r);
        Assert.Contains("Unrecognized option '--out'", r.Err);
        Assert.Contains("(see `resode verify --help`)", r.Err);
        Assert.DoesNotContain("no such run directory", r.Err);
        Assert.False(File.Exists(_s.P("run", "verdicts.json")));
        Assert.False(File.Exists(_s.P("v.json")));
        // a one-letter option is named the same way
        var o = Cli.Run(_s.Dir, "verify", "run", "-o");
        Assert.Equal(ExitCodes.BadInput, o.Code);
        Assert.Contains("Unrecognized option '-o'", o.Err);
        // after `--` a name starting with a dash is a run directory: a missing one is reported as such (exit 2), not as an option
        var dashed = Cli.Run(_s.Dir, "verify", "run", "--", "--not-a-run");
        Assert.Equal(ExitCodes.BadInput, dashed.Code);
        Assert.DoesNotContain("Unrecognized option", dashed.Err);
        Assert.Contains("no such run directory", dashed.Err);
    }
}
