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

    [Fact(DisplayName = "Study.ShowsResult: a current id, a prefix → exactly the listed id and the prefix's ids; an unknown G.* id → the study refused when read, naming it")]
    public void CurrentIdsAndPrefixesAreShownAsListed()
    {
        var s = WithResults("[\"B.bound.tangent\", \"L5.\"]");
        Assert.True(s.ShowsResult("B.bound.tangent"));
        Assert.False(s.ShowsResult("B.bound"));
        Assert.True(s.ShowsResult("L5.gradient-difference"));
        Assert.True(s.ShowsResult("L5.split"));
        Assert.False(s.ShowsResult("X.unknown"));
        Assert.True(WithResults("[]").ShowsResult("anything"));
        // a pattern that chooses no result would hide every row it was meant to show (user test: the report then said every result held)
        var e = Assert.Throws<StudyException>(() => WithResults("[\"B.bound.tangent\", \"G.X.unknown\"]"));
        Assert.Contains("'G.X.unknown' chooses no result", e.Message);
    }
}
