using ResOdeProofs.Theory;

namespace ResOdeProofs.Cli.Tests;

/// <summary>
/// The replayed columns a study's cell writes beside its verdicts (`verify --evidence-columns`), which the report's
/// ladder results read instead of replaying every rung again.
/// </summary>
[Collection(CliCollection.Name)]
public sealed class EvidenceColumnsTests : IDisposable
{
    private readonly Scratch _s = new();
    public void Dispose() => _s.Dispose();

    private static readonly string[] Rung = { "train", "--width", "4", "--n", "8", "--d", "3", "--iters", "6", "--snapshots", "3", "--seed", "3" };

    [Fact(DisplayName = "verify --evidence-columns: a file of that name resode did not write → exit 2, untouched")]
    public void AForeignFileIsRefused()
    {
        Assert.Equal(ExitCodes.Done, Cli.Run(_s.Dir, Cli.Small.With("--out", "run")).Code);
        File.WriteAllText(_s.P("cols.csv"), "my own table\n1,2,3\n");
        var before = Cli.Snapshot(_s.Dir);
        var r = Cli.Run(_s.Dir, "verify", "--quiet", "run", "--evidence-columns", "cols.csv");
        Assert.Equal(ExitCodes.BadInput, r.Code);
        Cli.OneLine(r);
        Assert.Contains("not written by resode", r.Err);
        Assert.Equal(before, Cli.Snapshot(_s.Dir));
    }

    /// <summary>
    /// The claim is made before the work; a file the user puts in its place while the verify runs (minutes on a long run)
    /// must not be replaced or removed at its end: both the write and the removal claim the path again.
    /// </summary>
    [Fact(DisplayName = "EvidenceColumns.Write, DeleteOurs: a file resode did not write put in the claimed place after the claim → IOException, the file untouched")]
    public void AFilePutThereDuringTheVerifyIsKept()
    {
        var path = _s.P("cols.csv");
        EvidenceColumns.Claim(path);
        File.WriteAllText(path, "my own table\n1,2,3\n");
        var cols = new Dictionary<string, double[]> { ["smooth_z"] = new[] { 1.0, 2.0 } };
        var e = Assert.Throws<IOException>(() => EvidenceColumns.Write(path, cols));
        Assert.Contains("appeared while the verify ran", e.Message);
        Assert.Throws<IOException>(() => EvidenceColumns.DeleteOurs(path));
        Assert.Equal("my own table\n1,2,3\n", File.ReadAllText(path));
        // a file of ours is replaced and removed as before
        File.Delete(path);
        EvidenceColumns.Write(path, cols);
        Assert.Equal(cols["smooth_z"], EvidenceColumns.Read(path)!["smooth_z"]);
        EvidenceColumns.DeleteOurs(path);
        Assert.False(File.Exists(path));
    }

    [Fact(DisplayName = "A.rate: the rungs' written columns instead of a second replay → the same row; one rung's smooth_z scaled → another slope")]
    public void TheLadderReadsTheWrittenColumns()
    {
        var depths = new[] { 4, 8, 16 };
        foreach (var L in depths)
        {
            Assert.Equal(ExitCodes.Done, Cli.Run(_s.Dir, Rung.With("--depth", $"{L}", "--out", $"r{L}")).Code);
            Assert.Equal(ExitCodes.Done, Cli.Run(_s.Dir, "verify", "--quiet", $"r{L}", "--evidence-columns", $"c{L}.csv").Code);
        }
        Registry.VerdictRow Rate(Func<int, Run> view)
        {
            var ladder = LadderModule.create(Microsoft.FSharp.Collections.ListModule.OfSeq(depths.Select(view)));
            Assert.True(ladder.IsOk);
            return Registry.verifyLadder(ladder.ResultValue).Single(r => r.Id == "A.rate");
        }
        Run Replayed(int L) => Run.Load(_s.P($"r{L}"));
        Run FromColumns(int L, double scale)
        {
            var cols = EvidenceColumns.Read(_s.P($"c{L}.csv"));
            Assert.NotNull(cols);
            if (L == 16) cols!["smooth_z"] = cols["smooth_z"].Select(x => x * scale).ToArray();
            var v = Run.Load(_s.P($"r{L}"));
            Assert.True(v.UseVerifiedColumns(cols!));
            return v;
        }
        var replayed = Rate(Replayed);
        var read = Rate(L => FromColumns(L, 1.0));
        Assert.Equal(replayed.Verdict, read.Verdict);
        Assert.Equal(replayed.Measured, read.Measured);
        Assert.Equal(replayed.Constants.ToArray(), read.Constants.ToArray());
        var scaled = Rate(L => FromColumns(L, 4.0));
        Assert.NotEqual(replayed.Measured, scaled.Measured);
    }

    [Fact(DisplayName = "verify --evidence-columns: a later verify without certified columns (a gradient flow) → its own earlier file removed, no stale columns")]
    public void AStaleFileOfOursIsRemoved()
    {
        Assert.Equal(ExitCodes.Done, Cli.Run(_s.Dir, Rung.With("--depth", "4", "--out", "gd")).Code);
        Assert.Equal(ExitCodes.Done, Cli.Run(_s.Dir, "verify", "--quiet", "gd", "--evidence-columns", "c.csv").Code);
        Assert.NotNull(EvidenceColumns.Read(_s.P("c.csv")));
        Assert.Equal(ExitCodes.Done, Cli.Run(_s.Dir, Rung.With("--depth", "4", "--optimizer", "gf", "--out", "gf")).Code);
        var r = Cli.Run(_s.Dir, "verify", "--quiet", "gf", "--evidence-columns", "c.csv");
        Assert.True(r.Code is ExitCodes.Done or ExitCodes.Violated, r.Err);
        Assert.False(File.Exists(_s.P("c.csv")));
        Assert.True(File.Exists(_s.P("gf/verdicts.json")));
    }

    [Fact(DisplayName = "Run.UseVerifiedColumns: the columns of a run with another iterate count → not taken, the view replays")]
    public void ColumnsOfAnotherRunAreNotTaken()
    {
        Assert.Equal(ExitCodes.Done, Cli.Run(_s.Dir, Rung.With("--depth", "4", "--out", "a")).Code);
        Assert.Equal(ExitCodes.Done, Cli.Run(_s.Dir, "verify", "--quiet", "a", "--evidence-columns", "a.csv").Code);
        Assert.Equal(ExitCodes.Done, Cli.Run(_s.Dir, "train", "--width", "4", "--n", "8", "--d", "3", "--iters", "8", "--snapshots", "3", "--seed", "3", "--depth", "4", "--out", "b").Code);
        var cols = EvidenceColumns.Read(_s.P("a.csv"));
        Assert.NotNull(cols);
        var own = Run.Load(_s.P("a"));
        var other = Run.Load(_s.P("b"));
        Assert.True(own.UseVerifiedColumns(cols!));
        Assert.False(other.UseVerifiedColumns(cols!));
        Assert.Equal(other.Data.Losses.Length, other.Trace("smooth_z")!.Value.Length);
    }
}
