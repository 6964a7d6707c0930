using ResOdeProofs.Cli.Sweep;

namespace ResOdeProofs.Cli.Tests;

/// <summary>
/// A study's `results` list (docs/studies.md): the ids and prefixes the report shows. A former id of a statement
/// (G.B.bound, G.A.aposteriori …: docs/theorems/GenericResults.md, "One id per statement") stands for its current id.
/// </summary>
public sealed class StudyResultsTests
{
    private static Study WithResults(string results) =>
        Study.Parse($"name = \"r\"\ntitle = \"r\"\n[grid.g]\ndepth = 4\n[report]\nresults = {results}\n", Path.GetTempPath(), "test study");

    [Fact(DisplayName = "Study.ShowsResult: results naming former ids (G.B.bound, G.A.aposteriori) → their current ids shown, nothing else")]
    public void FormerIdsStandForTheirCurrentOnes()
    {
        var s = WithResults("[\"G.B.bound\", \"G.A.aposteriori\"]");
        Assert.True(s.ShowsResult("B.bound"));
        Assert.True(s.ShowsResult("A.aposteriori"));
        Assert.False(s.ShowsResult("B.bound.secant"));
        Assert.False(s.ShowsResult("A.aposteriori.segments"));
        Assert.False(s.ShowsResult("C.gdDecay"));
    }

    [Fact(DisplayName = "Study.ShowsResult: a current id, a prefix, an unknown G.* id → exactly the listed id, the prefix's ids, nothing for the unknown")]
    public void CurrentIdsAndPrefixesAreShownAsListed()
    {
        var s = WithResults("[\"B.bound.tangent\", \"L5.\", \"G.X.unknown\"]");
        Assert.True(s.ShowsResult("B.bound.tangent"));
        Assert.False(s.ShowsResult("B.bound"));
        Assert.True(s.ShowsResult("L5.gradient-difference"));
        Assert.True(s.ShowsResult("L5.split"));
        Assert.False(s.ShowsResult("X.unknown"));
        Assert.True(WithResults("[]").ShowsResult("anything"));
    }
}
