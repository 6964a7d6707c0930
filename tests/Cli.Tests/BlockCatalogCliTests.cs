using ResOdeProofs.Numerics.Blocks;
using ResOdeProofs.Numerics.IO;

namespace ResOdeProofs.Cli.Tests;

/// <summary>
/// `resode train --arch` for catalog blocks: the options and help come from the catalog, the gated block trains, a
/// wrong number of scales is bad input, and a loss that is not finite at iteration 0 blames the initialization, not η.
/// </summary>
[Collection(CliCollection.Name)]
public sealed class BlockCatalogCliTests : IDisposable
{
    private readonly Scratch _s = new();
    public void Dispose() => _s.Dispose();

    private static readonly string[] Glu = { "train", "--arch", "glu", "--depth", "4", "--n", "4", "--d", "3", "--iters", "2" };

    [Fact(DisplayName = "train --help: every catalog block → listed with its hyper-parameters")]
    public void TheHelpListsEveryCatalogBlockAndItsHyperParameters()
    {
        var r = Cli.Run(_s.Dir, "train", "--help");
        foreach (var e in BlockCatalog.All)
        {
            Assert.Contains(e.Help, r.Out);
            foreach (var p in e.HyperParameters) Assert.Contains("--" + p.Option, r.Out);
        }
    }

    [Fact(DisplayName = "train --help: a hyper-parameter's help → names no block (conv's --width-px named \"mlp and glu\" as the blocks with --width, leaving out every block a user adds)")]
    public void AHyperParametersHelpNamesNoBlock()
    {
        foreach (var e in BlockCatalog.All)
            foreach (var p in e.HyperParameters)
                foreach (var other in BlockCatalog.All)
                    Assert.False(System.Text.RegularExpressions.Regex.IsMatch(p.Meaning, $@"\b{System.Text.RegularExpressions.Regex.Escape(other.Name)}\b"),
                        $"{e.Name}'s --{p.Option}: \"{p.Meaning}\" names the block {other.Name}");
    }

    [Fact(DisplayName = "report, architectures section: its prose on result C → no claim that every example has a nonzero output scale (glu's example starts with V = 0, the identity, and fails C for another reason)")]
    public void TheArchitectureProseClaimsNoOutputScaleTheCatalogContradicts()
    {
        var examples = BlockCatalog.All.Where(e => e.ReportExample is not null).ToList();
        // an example starts as the identity when its last part (the output's) starts at 0
        var identity = examples.Where(e => e.DefaultScales(e.ReportExample!.Dim, e.HyperWithDefaults(null))[^1] == 0.0).Select(e => e.Name).ToList();
        Assert.Contains("glu", identity);
        Assert.DoesNotContain("with nonzero output scales are not", ResOdeProofs.Cli.Report.ArchitectureSection.Intro);
        Assert.Contains("the table gives each run's reason row by row", ResOdeProofs.Cli.Report.ArchitectureSection.Intro);
    }

    [Fact(DisplayName = "train --help: an option shared by blocks of different defaults → each block's default, no single [default]")]
    public void ASharedOptionShowsEachBlocksDefaultAndNoSingleOne()
    {
        var r = Cli.Run(_s.Dir, "train", "--help");
        // the help wraps long descriptions: the option's text up to the next option
        var lines = r.Out.Split('\n');
        int at = Array.FindIndex(lines, l => l.TrimStart().StartsWith("--width "));
        Assert.True(at >= 0, "no --width line in the help");
        var text = string.Join(" ", lines.Skip(at).TakeWhile((l, i) => i == 0 || !l.TrimStart().StartsWith("-")));
        Assert.Contains("--arch mlp", text);
        Assert.Contains("(default 32)", text);
        Assert.Contains("--arch glu", text);
        Assert.Contains("(default 8)", text);
        Assert.DoesNotContain("[default:", text);
        // an option of one block keeps its default in the help
        int ch = Array.FindIndex(lines, l => l.TrimStart().StartsWith("--channels "));
        Assert.Contains("[default: 2]", string.Join(" ", lines.Skip(ch).TakeWhile((l, i) => i == 0 || !l.TrimStart().StartsWith("-"))));
    }

    [Fact(DisplayName = "train --arch mlp: no width given → trains with the MLP's default width 32")]
    public void TheMlpTrainsWithItsDefaultWidthWithoutASingleHelpDefault()
    {
        var r = Cli.Run(_s.Dir, "train", "--depth", "4", "--n", "6", "--d", "3", "--iters", "2", "--out", "m");
        Assert.Equal(ExitCodes.Done, r.Code);
        Assert.Equal(32.0, RunDirectory.Read(_s.P("m")).Architecture.Hyper["width"]);
    }

    [Fact(DisplayName = "train --arch glu: no width given → trains with its default width and records it")]
    public void TheGatedBlockTrainsWithItsDefaultWidthAndRecordsIt()
    {
        var r = Cli.Run(_s.Dir, Glu.With("--out", "g"));
        Assert.Equal(ExitCodes.Done, r.Code);
        var run = RunDirectory.Read(_s.P("g"));
        Assert.Equal("glu", run.Architecture.Name);
        Assert.Equal(8.0, run.Architecture.Hyper["width"]);   // glu's declared default, not the mlp's 32
        var r2 = Cli.Run(_s.Dir, Glu.With("--width", "3", "--out", "g3"));
        Assert.Equal(ExitCodes.Done, r2.Code);
        Assert.Equal(3.0, RunDirectory.Read(_s.P("g3")).Architecture.Hyper["width"]);
    }

    [Fact(DisplayName = "train --arch: wrong number of scales → exit 2")]
    public void AWrongNumberOfScalesIsBadInput()
    {
        var r = Cli.Run(_s.Dir, Glu.With("--scales", "1,1", "--out", "g"));
        Assert.Equal(ExitCodes.BadInput, r.Code);
        Cli.OneLine(r);
        Assert.Contains("3 parts (W, U, V)", r.Err);
        Assert.False(Directory.Exists(_s.P("g")));
    }

    [Fact(DisplayName = "train: loss not finite at iteration 0 → message blames the initialization, not the step size")]
    public void ALossThatIsNotFiniteAtIterationZeroBlamesTheInitializationNotTheStepSize()
    {
        var r = Cli.Run(_s.Dir, Glu.With("--scales", "1e200,1e200,1e200", "--out", "bad"));
        Assert.Equal(ExitCodes.ToolFailed, r.Code);
        Assert.Contains("iteration 0, before any update", r.Err);
        Assert.Contains("reduce the initialization scales", r.Err);
        Assert.DoesNotContain("try a smaller --eta", r.Err);
        // the control: a divergence after updates still points at the step size
        var late = Cli.Run(_s.Dir, Glu.With("--scales", "1,1,1", "--eta", "1e6", "--out", "late"));
        Assert.Equal(ExitCodes.ToolFailed, late.Code);
        Assert.Contains("try a smaller --eta", late.Err);
    }

    [Fact(DisplayName = "train --arch conv: --height -2, --channels 0, --width-px 0 → exit 2 naming that option, nothing written (\"state dimension d must be at least 1 (got -24)\" named d, which conv takes from them and not from --d)")]
    public void ConvSizesBelowOneAreNamedByTheirOption()
    {
        foreach (var (option, value) in new[] { ("--height", "-2"), ("--channels", "0"), ("--width-px", "0") })
        {
            var r = Cli.Run(_s.Dir, "train", "--arch", "conv", "--depth", "4", "--n", "8", "--iters", "3", option, value, "--out", "v1");
            Assert.Equal(ExitCodes.BadInput, r.Code);
            Cli.OneLine(r);
            Assert.Contains($"{option} must be at least 1 (got {value})", r.Err);
        }
        Assert.Empty(Directory.GetFileSystemEntries(_s.Dir));
    }

    [Fact(DisplayName = "train --arch conv: --channels and --height 100000 → exit 2 naming --channels, --height, --width-px as what to reduce, not --d (which conv ignores)")]
    public void AConvStateTooLargeNamesTheOptionsThatSetIt()
    {
        var r = Cli.Run(_s.Dir, "train", "--arch", "conv", "--depth", "4", "--n", "8", "--iters", "3", "--channels", "100000", "--height", "100000", "--out", "v1");
        Assert.Equal(ExitCodes.BadInput, r.Code);
        Cli.OneLine(r);
        Assert.Contains("reduce --n or --channels, --height, --width-px", r.Err);
        Assert.Empty(Directory.GetFileSystemEntries(_s.Dir));
    }
}
