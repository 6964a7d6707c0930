using System.Diagnostics;
using System.Text.Json.Nodes;
using ResOdeProofs.Cli.Sweep;

namespace ResOdeProofs.Cli.Tests;

/// <summary>A study cell's claim: taken over from a writer that has ended, never from a live one, by one shard only.</summary>
[Collection(CliCollection.Name)]
public sealed class CellClaimTests : IDisposable
{
    private readonly Scratch _s = new();
    public void Dispose() => _s.Dispose();

    /// <summary>The pid of a process of this host that has ended.</summary>
    private static int EndedPid()
    {
        using var p = Process.Start(new ProcessStartInfo("true") { UseShellExecute = false })!;
        p.WaitForExit();
        return p.Id;
    }

    /// <summary>The tiny study's output with its first cell claimed by a process of this host that has ended.</summary>
    private (Study, StudyOutput, Cell, string) StaleClaim()
    {
        var study = Study.Resolve("tiny");
        var output = new StudyOutput(_s.P("out"));
        output.Prepare(study, _ => { });
        var cell = study.Cells[0];
        var claim = Path.Combine(output.CellDir(cell), ".claim");
        Directory.CreateDirectory(output.CellDir(cell));
        File.WriteAllText(claim, new JsonObject { ["host"] = Environment.MachineName, ["pid"] = EndedPid(), ["utc"] = "2026-01-01T00:00:00Z" }.ToJsonString());
        return (study, output, cell, claim);
    }

    [Fact(DisplayName = "StudyOutput.TryClaim: a claim of an ended process of this host → taken over once, a second taker refused; a live claim → refused, untouched")]
    public void AStaleClaimIsTakenOverOnce()
    {
        var (study, output, cell, claim) = StaleClaim();
        Assert.True(output.TryClaim(study, cell));
        Assert.Equal(Environment.ProcessId, JsonNode.Parse(File.ReadAllText(claim))!["pid"]!.GetValue<int>());
        // the claim is now this live process': a second taker is refused and the claim stays
        var again = File.ReadAllText(claim);
        Assert.False(new StudyOutput(_s.P("out")).TryClaim(study, cell));
        Assert.Equal(again, File.ReadAllText(claim));
        Assert.Empty(Directory.GetFiles(output.CellDir(cell), ".claim.stale-*"));
        output.Release(cell);
    }

    [Fact(DisplayName = "StudyOutput.TryClaim: two shards judge the same claim stale, one takes it over in between → the other moves the new claim away, puts it back and is refused (one taker)")]
    public void TwoShardsRacingForAStaleClaimGiveOneTaker()
    {
        var (study, output, cell, claim) = StaleClaim();
        bool? second = null;
        string? secondsClaim = null;
        // the first shard has judged the claim stale; before it takes it over, a second shard judges it stale too and takes it
        StudyOutput.StaleClaimJudged = _ =>
        {
            StudyOutput.StaleClaimJudged = null;
            second = new StudyOutput(_s.P("out")).TryClaim(study, cell);
            secondsClaim = File.ReadAllText(claim);
        };
        try
        {
            bool first = output.TryClaim(study, cell);
            Assert.True(second);
            Assert.False(first);
            // the second shard's claim is the one in place, whole; nothing is left beside it
            Assert.Equal(secondsClaim, File.ReadAllText(claim));
            Assert.Empty(Directory.GetFiles(output.CellDir(cell), ".claim.stale-*"));
        }
        finally { StudyOutput.StaleClaimJudged = null; }
        output.Release(cell);
    }
}
