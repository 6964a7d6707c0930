using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace ResOdeProofs.Cli.Tests;

/// <summary>
/// `resode verify --progress`: how far each replay of gradient descent has come, on stderr, a line per tenth of its
/// iterates; the verdicts, the table and the exit code are those of a verification without it, and without the option
/// (output not a terminal) nothing of it is printed.
/// </summary>
[Collection(CliCollection.Name)]
public sealed class VerifyProgressTests : IDisposable
{
    private readonly Scratch _s = new();
    public void Dispose() => _s.Dispose();

    private static readonly string[] Train =
        { "train", "--depth", "4", "--width", "4", "--n", "8", "--d", "3", "--iters", "20", "--snapshots", "3", "--seed", "2", "--out", "run" };

    private string[] Rows() => JsonNode.Parse(File.ReadAllText(_s.P("run", "verdicts.json")))!["results"]!.AsArray()
        .Select(r => $"{r!["id"]} {r["verdict"]} {r["measured"]?.ToJsonString()} {r["bound"]?.ToJsonString()}").ToArray();

    [Fact(DisplayName = "verify --progress: a 20-iteration run → stderr names the run and every second iterate of its replay, 0 to 20; rows, table and exit code as without it, which prints no such line")]
    public void ProgressLinesOnStderrChangeNothingElse()
    {
        Assert.Equal(ExitCodes.Done, Cli.Run(_s.Dir, Train).Code);
        var plain = Cli.Run(_s.Dir, "verify", "run");
        Assert.True(plain.Code == ExitCodes.Done, plain.ToString());
        Assert.DoesNotContain("replaying iterate", plain.Err + plain.Out);
        var plainRows = Rows();

        var shown = Cli.Run(_s.Dir, "verify", "run", "--progress");
        Assert.True(shown.Code == ExitCodes.Done, shown.ToString());
        Assert.DoesNotContain("replaying iterate", shown.Out);
        var its = Regex.Matches(shown.Err, @"verify \S*run: replaying iterate (\d+) of 20").Select(m => int.Parse(m.Groups[1].Value)).ToList();
        // the first replay: a line at iterate 0 and at every tenth (every second iterate), up to the last
        Assert.True(its.Count >= 11, shown.Err);
        Assert.Equal(Enumerable.Range(0, 11).Select(t => 2 * t), its.Take(11));
        Assert.Equal(plainRows, Rows());
        // the table is the same but for the seconds the checks took
        static string Table(string o) => Regex.Replace(o, @"[0-9.]+ s\b", "# s");
        Assert.Equal(Table(plain.Out), Table(shown.Out));
    }

    [Fact(DisplayName = "verify's progress lines: 0..100 of one run, then a second replay of it, another run between → a line per tenth, each replay from its start, the runs apart; the terminal's default quiet for its first seconds")]
    public void TheSinkPrintsEachTenthOncePerReplay()
    {
        var w = new StringWriter();
        var sink = VerifyCommand.ProgressLines(w);
        for (int i = 0; i <= 100; i++) sink("a", i, 100);
        sink("b", 0, 7);
        sink("b", 7, 7);
        for (int i = 0; i <= 100; i++) sink("a", i, 100);
        var lines = w.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var a = Enumerable.Range(0, 11).Select(t => $"verify a: replaying iterate {10 * t} of 100").ToArray();
        Assert.Equal(a.Concat(new[] { "verify b: replaying iterate 0 of 7", "verify b: replaying iterate 7 of 7" }).Concat(a), lines);
        // a replay of unknown name, and a replay with no update at all
        var u = new StringWriter();
        var s2 = VerifyCommand.ProgressLines(u);
        s2(null, 0, 0);
        Assert.Equal("verify: replaying iterate 0 of 0", u.ToString().Trim());
        // the default on a terminal: quiet for its first seconds (a short verification prints nothing), then as above
        var q = new StringWriter();
        var now = TimeSpan.Zero;
        var s3 = VerifyCommand.ProgressLines(q, TimeSpan.FromSeconds(2), () => now);
        for (int i = 0; i <= 9; i++) { now = TimeSpan.FromSeconds(0.2 * i); s3("c", i, 10); }
        Assert.Equal("", q.ToString());
        now = TimeSpan.FromSeconds(2);
        s3("c", 10, 10);
        Assert.Equal("verify c: replaying iterate 10 of 10", q.ToString().Trim());
    }

    /// <summary>A stderr that cannot be written (closed, or a full disk): every write throws.</summary>
    private sealed class BrokenWriter : TextWriter
    {
        public int Writes;
        public override System.Text.Encoding Encoding => System.Text.Encoding.UTF8;
        public override void Write(char value) { Writes++; throw new IOException("No space left on device"); }
        public override void Write(string? value) { Writes++; throw new IOException("No space left on device"); }
        public override void WriteLine(string? value) { Writes++; throw new IOException("No space left on device"); }
    }

    [Fact(DisplayName = "verify --progress: a stderr that cannot be written → no exception, one attempt, then silent")]
    public void ABrokenStderrEndsTheDisplaySilently()
    {
        var broken = new BrokenWriter();
        var sink = VerifyCommand.ProgressLines(broken);
        for (int i = 0; i <= 100; i++) sink("a", i, 100);
        Assert.Equal(1, broken.Writes);
    }

    [Fact(DisplayName = "verify's replays: a progress sink that throws at every iterate (MLP and one-layer runs) → every verdict row as without a sink, none an error")]
    public void AThrowingSinkChangesNoVerdict()
    {
        Assert.Equal(ExitCodes.Done, Cli.Run(_s.Dir, Train).Code);
        Assert.Equal(ExitCodes.Done, Cli.Run(_s.Dir, "train", "--arch", "one-layer", "--depth", "4", "--n", "8", "--d", "3", "--iters", "10",
                                                "--snapshots", "3", "--out", "one").Code);
        foreach (var dir in new[] { "run", "one" })
        {
            string[] Verify()
            {
                var open = Theory.Registry.loadRun(_s.P(dir));
                return Theory.Registry.verifyOpen(Theory.Registry.selection(Microsoft.FSharp.Collections.FSharpList<string>.Empty), open)
                    .Select(r => $"{r.Id} {r.Verdict} {r.Measured:R} {r.Bound:R}").ToArray();
            }
            var without = Verify();
            int calls = 0;
            Numerics.Verification.ReplayProgress.Sink = (_, _, _) => { calls++; throw new InvalidOperationException("a display that fails"); };
            string[] with;
            try { with = Verify(); }
            finally { Numerics.Verification.ReplayProgress.Sink = null; }
            Assert.True(calls > 0, dir);   // the sink was reached, and threw
            Assert.DoesNotContain(with, r => r.Contains(" error "));
            Assert.Equal(without, with);
        }
    }
}

/// <summary>An `error` row is a failure of the tool: its stack trace goes to a log the verify names (the exit-code contract).</summary>
[Collection(CliCollection.Name)]
public sealed class CheckFailureLogTests
{
    [Fact(DisplayName = "verify, a check that raised: its id, input, exception and stack trace → written to a log the note names; no check raised → no note")]
    public void StackTracesOfChecksThatRaisedGoToALog()
    {
        while (ResOdeProofs.Theory.Registry.checkFailures.TryDequeue(out _)) { }
        Assert.Null(VerifyCommand.CheckFailureDetails(new[] { "verify", "run" }));
        Exception thrown;
        try { throw new ArgumentException("Need lo <= hi (got lo = Infinity, hi = -Infinity)."); }
        catch (ArgumentException e) { thrown = e; }
        ResOdeProofs.Theory.Registry.checkFailures.Enqueue(("A.split", "run", thrown));
        string? where;
        string? old = Environment.GetEnvironmentVariable(ResodeApp.DebugVariable);
        try
        {
            Environment.SetEnvironmentVariable(ResodeApp.DebugVariable, null);
            where = VerifyCommand.CheckFailureDetails(new[] { "verify", "run", "--only", "A.split" });
        }
        finally { Environment.SetEnvironmentVariable(ResodeApp.DebugVariable, old); }
        Assert.NotNull(where);
        var log = System.Text.RegularExpressions.Regex.Match(where!, @"in (\S+\.log)").Groups[1].Value;
        Assert.True(File.Exists(log), where);
        var text = File.ReadAllText(log);
        File.Delete(log);
        Assert.Contains("resode verify run --only A.split", text);
        Assert.Contains("A.split on run:", text);
        Assert.Contains("System.ArgumentException: Need lo <= hi", text);
        Assert.Contains("   at ", text);
        Assert.False(ResOdeProofs.Theory.Registry.checkFailures.TryDequeue(out _), "the failures are drained");
    }
}
