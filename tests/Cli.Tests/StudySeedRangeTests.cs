namespace ResOdeProofs.Cli.Tests;

/// <summary>A study's seed range "FIRST..LAST" (docs/studies.md): one cell per seed, so a long range is too many cells, not a malformed range.</summary>
[Collection(CliCollection.Name)]
public sealed class StudySeedRangeTests : IDisposable
{
    private readonly Scratch _s = new();
    public void Dispose() => _s.Dispose();

    [Fact(DisplayName = "sweep run: seed = \"0..100000000\" in a grid → exit 2 saying the range is more cells than a study holds (it said a seed range is FIRST..LAST with FIRST ≤ LAST, which this one is)")]
    public void ALongSeedRangeIsTooManyCells()
    {
        foreach (var range in new[] { "0..100000000", "-9223372036854775808..9223372036854775807" })
        {
            File.WriteAllText(_s.P("b.toml"), $"name = \"b\"\n[grid.tied]\ndepth = 4\nseed = \"{range}\"\n");
            var r = Cli.Run(_s.Dir, "sweep", "run", "b.toml", "--out", "sx");
            Assert.Equal(ExitCodes.BadInput, r.Code);
            Cli.OneLine(r);
            Assert.Contains("grid.tied.seed", r.Err);
            Assert.Contains("a study holds at most 100,000 cells", r.Err);
            Assert.DoesNotContain("FIRST ≤ LAST", r.Err);
            Assert.False(Directory.Exists(_s.P("sx")));
        }
    }
}
