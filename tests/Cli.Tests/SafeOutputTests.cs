using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text.Json.Nodes;
using ResOdeProofs.Numerics.IO;

namespace ResOdeProofs.Cli.Tests;

/// <summary>
/// Bad inputs and faults on the command line: each asserts the exit code, the message, and that nothing that
/// existed before was lost.
/// </summary>
[Collection(CliCollection.Name)]
public sealed class SafeOutputTests : IDisposable
{
    private readonly Scratch _s = new();
    public void Dispose() => _s.Dispose();

    private static void Unchanged(Dictionary<string, string> before, string dir) => Assert.Equal(before, Cli.Snapshot(dir));

    [Theory(DisplayName = "train --force: --out is the working directory or a parent → exit 2, nothing deleted")]
    [InlineData(".")]
    [InlineData("..")]
    [InlineData("sub/..")]
    public void ForceOntoTheWorkingDirectoryOrAParentIsRefusedAndDeletesNothing(string outDir)
    {
        var home = _s.P("thesis");
        Directory.CreateDirectory(home);
        Cli.UserFiles(home);
        var before = Cli.Snapshot(_s.Dir);
        var r = Cli.Run(home, Cli.Small.With("--out", outDir, "--force"));
        Assert.Equal(ExitCodes.BadInput, r.Code);
        Cli.OneLine(r);
        Assert.Contains("working directory", r.Err);
        Assert.DoesNotContain("completed", r.Out);
        Unchanged(before, _s.Dir);
    }

    [Fact(DisplayName = "train --force: onto a foreign directory → exit 2, what is there named, nothing touched")]
    public void ForceOntoAForeignDirectoryIsRefusedWithWhatIsThere()
    {
        var target = _s.P("mine");
        Directory.CreateDirectory(target);
        Cli.UserFiles(target);
        var before = Cli.Snapshot(_s.Dir);
        foreach (var cmd in new[] { Cli.Small, new[] { "report", "--preset", "quick" }, new[] { "fashion" } })
        {
            var r = Cli.Run(_s.Dir, cmd.With("--out", "mine", "--force"));
            Assert.Equal(ExitCodes.BadInput, r.Code);
            Cli.OneLine(r);
            Assert.Contains("--force refused", r.Err);
            Assert.Contains("not an output resode may replace (no .resode-output manifest", r.Err);
            Assert.Contains("thesis.tex", r.Err);
            Unchanged(before, _s.Dir);
        }
    }

    [Fact(DisplayName = "train --force: onto a run directory resode did not write → exit 2, untouched")]
    public void ForceOntoAForeignRunDirectoryIsRefused()
    {
        // A run directory written by another tool (NumPy): run.json without our created_by.
        var target = _s.P("numpy-run");
        Directory.CreateDirectory(target);
        File.WriteAllText(Path.Combine(target, "run.json"), "{\"activation\": \"tanh\", \"eta\": 0.01}");
        Npy.Write(Path.Combine(target, "losses.npy"), new[] { 1.0, 0.5 }, 2);
        var before = Cli.Snapshot(_s.Dir);
        var r = Cli.Run(_s.Dir, Cli.Small.With("--out", "numpy-run", "--force"));
        Assert.Equal(ExitCodes.BadInput, r.Code);
        Assert.Contains("not an output resode may replace (no .resode-output manifest", r.Err);
        Unchanged(before, _s.Dir);
    }

    [Fact(DisplayName = "train --force: our run holding a user file, a hand-written or an edited verdicts.json, or a file of ours edited since → refused; our run alone → replaced")]
    public void ForceOntoOurRunHoldingAUserFileIsRefusedAndOurRunIsReplacedOtherwise()
    {
        Assert.Equal(ExitCodes.Done, Cli.Run(_s.Dir, Cli.Small.With("--out", "run", "--seed", "1")).Code);
        // train --force onto "run" as it stands: refused in one line naming why, nothing changed
        void RefusedUnchanged(string expect)
        {
            var before = Cli.Snapshot(_s.Dir);
            var r = Cli.Run(_s.Dir, Cli.Small.With("--out", "run", "--seed", "2", "--force"));
            Assert.Equal(ExitCodes.BadInput, r.Code);
            Cli.OneLine(r);
            Assert.Contains(expect, r.Err);
            Unchanged(before, _s.Dir);
        }
        File.WriteAllText(_s.P("run", "notes.txt"), "my notes about this run");
        RefusedUnchanged("notes.txt");

        File.Delete(_s.P("run", "notes.txt"));
        // a verdicts.json with resode's format that verify did not write (by hand, or edited after verify): the user's
        File.WriteAllText(_s.P("run", "verdicts.json"), "{\"format\": \"resode-verdicts/3\", \"results\": [], \"my_note\": \"keep\"}");
        RefusedUnchanged("verdicts.json");
        File.Delete(_s.P("run", "verdicts.json"));
        Assert.Equal(ExitCodes.Done, Cli.Run(_s.Dir, "verify", "run", "--only", "I.loss").Code);   // as `resode verify` writes it: ours
        var text = File.ReadAllText(_s.P("run", "verdicts.json"));
        File.WriteAllText(_s.P("run", "verdicts.json"), text.Replace("\"format\"", "\"my_note\": \"keep this\", \"format\""));
        RefusedUnchanged("not as `resode verify` wrote it");
        File.WriteAllText(_s.P("run", "verdicts.json"), text);   // as verify wrote it again
        // a file resode wrote, edited since: the user's (its SHA-256 is not the manifest's); put back as written: ours again
        var runJson = File.ReadAllText(_s.P("run", "run.json"));
        File.WriteAllText(_s.P("run", "run.json"), runJson.Replace("\"format\"", "\"my_note\": \"keep\", \"format\""));
        RefusedUnchanged("run.json (edited since resode wrote it");
        File.WriteAllText(_s.P("run", "run.json"), runJson);
        var ok = Cli.Run(_s.Dir, Cli.Small.With("--out", "run", "--seed", "2", "--force"));
        Assert.Equal(ExitCodes.Done, ok.Code);
        Assert.Equal(2, RunDirectory.Read(_s.P("run")).Meta.Seed);
        Assert.Equal(new[] { "run" }, Directory.GetFileSystemEntries(_s.Dir).Select(Path.GetFileName).ToArray());
    }

    [Fact(DisplayName = "train: a setting whose initial weights take 1 GB onto a non-empty --out → exit 2 before those weights are drawn (under 0.5 GB allocated)")]
    public void ARefusedLargeSettingAllocatesNoWeights()
    {
        Directory.CreateDirectory(_s.P("out"));
        File.WriteAllText(_s.P("out", "keep.txt"), "keep");
        var before = Cli.Snapshot(_s.Dir);
        // 2·L·m·d = 2·1000·256·256 doubles = 1.05 GB of initial weights; the estimate fits a machine of 24 GiB, the claim refuses
        long allocated0 = GC.GetTotalAllocatedBytes(precise: true);
        var r = Cli.Run(_s.Dir, "train", "--depth", "1000", "--width", "256", "--d", "256", "--n", "10", "--iters", "1", "--snapshots", "2", "--out", "out");
        long allocated = GC.GetTotalAllocatedBytes(precise: true) - allocated0;
        Assert.Equal(ExitCodes.BadInput, r.Code);
        Cli.OneLine(r);
        Assert.True(allocated < 500L << 20, $"{allocated >> 20} MiB allocated before the refusal");
        Unchanged(before, _s.Dir);
    }

    [Fact(DisplayName = "train: non-empty --out without --force → exit 2 before training")]
    public void ANonEmptyOutputWithoutForceIsRefusedBeforeTraining()
    {
        Directory.CreateDirectory(_s.P("out"));
        File.WriteAllText(_s.P("out", "keep.txt"), "keep");
        var before = Cli.Snapshot(_s.Dir);
        var r = Cli.Run(_s.Dir, Cli.Small.With("--out", "out"));
        Assert.Equal(ExitCodes.BadInput, r.Code);
        Cli.OneLine(r);
        Assert.Contains("--force", r.Err);
        Assert.DoesNotContain("iteration", r.Out);
        Unchanged(before, _s.Dir);
    }

    [Fact(DisplayName = "train: --out is a file → exit 2 before training, file untouched")]
    public void AnOutputThatIsAFileIsRefusedBeforeTraining()
    {
        File.WriteAllText(_s.P("results.csv"), "precious");
        var before = Cli.Snapshot(_s.Dir);
        foreach (var force in new[] { false, true })
        {
            var args = Cli.Long.With("--out", "results.csv");
            var r = Cli.Run(_s.Dir, force ? args.With("--force") : args);
            Assert.Equal(ExitCodes.BadInput, r.Code);
            Cli.OneLine(r);
            Assert.Contains("existing file", r.Err);
            Assert.DoesNotContain("iteration 1/", r.Out + r.Err);
            Unchanged(before, _s.Dir);
        }
    }

    /// <summary>
    /// A parent that cannot be created: a path under a regular file fails for every user, root included (a
    /// permission-based test would pass as root without testing anything).
    /// </summary>
    [Fact(DisplayName = "train: --out whose parent cannot be created → exit 2 before training")]
    public void AnOutputWhoseParentCannotBeCreatedFailsBeforeTraining()
    {
        File.WriteAllText(_s.P("thesis.pdf"), "precious");
        var before = Cli.Snapshot(_s.Dir);
        var sw = Stopwatch.StartNew();
        var r = Cli.Run(_s.Dir, Cli.Long.With("--out", "thesis.pdf/runs/a"));
        Assert.Equal(ExitCodes.BadInput, r.Code);
        Cli.OneLine(r);
        Assert.Contains("cannot create the parent directory", r.Err);
        Assert.Contains("is a file", r.Err);
        Assert.DoesNotContain("iteration", r.Out);
        Unchanged(before, _s.Dir);
    }

    [Theory(DisplayName = "resode: bad option value → exit 2, one line, no help dump")]
    [InlineData("--seed", "abc")]
    [InlineData("--depth", "many")]
    [InlineData("--eta", "0.1.2")]
    [InlineData("--no-such-option", "1")]
    public void ABadOptionValueIsOneLineAndExitTwoWithoutHelp(string option, string value)
    {
        var r = Cli.Run(_s.Dir, "train", option, value, "--out", "x");
        Assert.Equal(ExitCodes.BadInput, r.Code);
        Cli.OneLine(r);
        Assert.Contains("resode train --help", r.Err);
        Assert.False(Directory.Exists(_s.P("x")));
    }

    [Theory(DisplayName = "train: invalid setting → exit 2, one line")]
    [InlineData("--depth", "0")]
    [InlineData("--eta", "-1")]
    [InlineData("--threads", "0")]
    [InlineData("--activation", "sigmoid")]
    public void AnInvalidSettingIsOneLineAndExitTwo(string option, string value)
    {
        var r = Cli.Run(_s.Dir, Cli.Small.With(option, value, "--out", "x"));
        Assert.Equal(ExitCodes.BadInput, r.Code);
        Cli.OneLine(r);
        Assert.False(Directory.Exists(_s.P("x")));
        Assert.Empty(Directory.GetFileSystemEntries(_s.Dir));
    }

    [Fact(DisplayName = "train: setting too large for memory → exit 2 with the estimate and the remedies")]
    public void ASettingTooLargeForMemoryIsRefusedWithTheEstimateAndTheRemedies()
    {
        var r = Cli.Run(_s.Dir, "train", "--depth", "20000", "--width", "1000", "--out", "big");
        Assert.Equal(ExitCodes.BadInput, r.Code);
        Cli.OneLine(r);
        Assert.Contains("L = 20000, m = 1000", r.Err);
        Assert.Contains("GiB", r.Err);
        Assert.Contains("--checkpoint", r.Err);
        Assert.Contains("--float32", r.Err);
        Assert.Empty(Directory.GetFileSystemEntries(_s.Dir));
        // Beyond what one array holds, on any machine.
        var huge = Cli.Run(_s.Dir, "train", "--depth", "1000000", "--width", "1000", "--out", "big");
        Assert.Equal(ExitCodes.BadInput, huge.Code);
        Cli.OneLine(huge);
        Assert.Empty(Directory.GetFileSystemEntries(_s.Dir));
    }

    [Fact(DisplayName = "--out lock: second writer while the first holds the output → fails at once")]
    public void ASecondWriterFailsAtOnceWhileTheFirstHoldsTheOutput()
    {
        using (var first = OutputClaim.Acquire(_s.P("run"), force: false, "run"))
        {
            var sw = Stopwatch.StartNew();
            var r = Cli.Run(_s.Dir, Cli.Long.With("--out", "run"));
            Assert.Equal(ExitCodes.BadInput, r.Code);
            Cli.OneLine(r);
            Assert.Contains("another resode process", r.Err);
            Assert.Contains($"pid {Environment.ProcessId}", r.Err);
            Assert.DoesNotContain("iteration 1/", r.Out + r.Err);
            Assert.True(Directory.Exists(first.Partial), "the first writer's partial directory must survive");
            first.Commit(tmp => File.WriteAllText(Path.Combine(tmp, "result.txt"), "first"));
        }
        Assert.Equal("first", File.ReadAllText(_s.P("run", "result.txt")));
        Assert.False(File.Exists(_s.P(".run.lock")), "the lock is released");
    }

    [Fact(DisplayName = "--out lock: two processes started at once on one output → one run, one clear failure")]
    public void TwoProcessesStartedAtOnceWithTheSameOutputLeaveOneRunAndOneClearFailure()
    {
        var args = new[] { "train", "--depth", "32", "--width", "16", "--n", "32", "--iters", "1500", "--out", "same" };
        var a = Cli.Start(_s.Dir, args);
        var b = Cli.Start(_s.Dir, args);
        var ra = Cli.Finish(a); var rb = Cli.Finish(b);
        var codes = new[] { ra.Code, rb.Code }.OrderBy(c => c).ToArray();
        Assert.True(codes.SequenceEqual(new[] { ExitCodes.Done, ExitCodes.BadInput }), $"{ra}\n{rb}");
        var loser = ra.Code == ExitCodes.BadInput ? ra : rb;
        Assert.True(loser.Err.Contains("another resode process") || loser.Err.Contains("already exists"), loser.ToString());
        Assert.Equal(1500, RunDirectory.Read(_s.P("same")).Iterations);
        Assert.Equal(new[] { "same" }, Directory.GetFileSystemEntries(_s.Dir).Select(Path.GetFileName).ToArray());
    }

    [Fact(DisplayName = "--out lock: stale lock left by a crash → taken over")]
    public void AStaleLockLeftByACrashIsTakenOver()
    {
        File.WriteAllText(_s.P(".run.lock"), "pid 999999\nstarted 2026-01-01T00:00:00Z\n");
        var r = Cli.Run(_s.Dir, Cli.Small.With("--out", "run"));
        Assert.Equal(ExitCodes.Done, r.Code);
        Assert.True(File.Exists(_s.P("run", "run.json")));
        Assert.False(File.Exists(_s.P(".run.lock")));
    }

    [Fact(DisplayName = "--out: partial directories of a killed writer → removed; foreign ones → reported")]
    public void PartialDirectoriesOfAKilledWriterAreRemovedAndForeignOnesReported()
    {
        var stale = _s.P(".run.partial-0badc0de");
        Directory.CreateDirectory(stale);
        File.WriteAllText(Path.Combine(stale, OutputClaim.PartialMarkerName), "999999\n");
        File.WriteAllBytes(Path.Combine(stale, "w.npy"), new byte[100_000]);
        var unknown = _s.P(".run.partial-12345678"); // no marker: resode cannot tell what it is
        Directory.CreateDirectory(unknown);
        File.WriteAllText(Path.Combine(unknown, "data.txt"), "who knows");
        var r = Cli.Run(_s.Dir, Cli.Small.With("--out", "run"));
        Assert.Equal(ExitCodes.Done, r.Code);
        Assert.False(Directory.Exists(stale));
        Assert.Contains("removed .run.partial-0badc0de", r.Err);
        Assert.True(File.Exists(Path.Combine(unknown, "data.txt")));
        Assert.Contains(".run.partial-12345678 in place", r.Err);
    }

    [Fact(DisplayName = "train, verify: a run killed while its entries were moved into --out (some in it, the rest in .NAME.partial-XXXXXXXX) → exit 2 naming that directory and what to do, nothing moved or removed")]
    public void ARunHalfMovedIntoItsOutputNamesWhereTheRestIs()
    {
        Assert.Equal(ExitCodes.Done, Cli.Run(_s.Dir, Cli.Small.With("--out", "run")).Code);
        // the state a kill -9 leaves in the final move into an existing empty --out: the entries in ordinal order, the
        // manifest last; the first three moved, the rest (the manifest among them) still in the partial directory, whose
        // .resode-partial marker the writer removed when its output was finished
        var rest = _s.P(".run.partial-5eed1f69");
        Directory.CreateDirectory(rest);
        var names = Directory.EnumerateFileSystemEntries(_s.P("run")).Select(Path.GetFileName).OfType<string>()
            .OrderBy(n => n == OutputClaim.ManifestName ? 1 : 0).ThenBy(n => n, StringComparer.Ordinal).ToList();
        Assert.Contains("x.npy", names);
        foreach (var name in names.Skip(3))
        {
            if (Directory.Exists(_s.P("run", name))) Directory.Move(_s.P("run", name), Path.Combine(rest, name));
            else File.Move(_s.P("run", name), Path.Combine(rest, name));
        }
        // not a partial directory of the claim's naming (eight lower-case hexadecimal digits): never named
        Directory.CreateDirectory(_s.P(".run.partial-5EED1F69"));
        File.WriteAllText(_s.P(".run.partial-5EED1F69", "mine.txt"), "the user's");
        var before = Cli.Snapshot(_s.Dir);
        var entries = Directory.GetFileSystemEntries(_s.Dir, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal).ToArray();
        foreach (var (args, expect) in new[]
        {
            (Cli.Small.With("--out", "run"), "already exists and is not empty"),
            (Cli.Small.With("--out", "run", "--force"), "no .resode-output manifest"),
            (new[] { "verify", "run" }, "is missing"),
        })
        {
            var r = Cli.Run(_s.Dir, args);
            Assert.Equal(ExitCodes.BadInput, r.Code);
            Cli.OneLine(r);
            Assert.Contains(expect, r.Err);
            Assert.Contains("an interrupted resode write left the rest of this output in .run.partial-5eed1f69 beside it", r.Err);
            Assert.Contains("into run by hand, or remove both and write the output again", r.Err);
            Assert.DoesNotContain("5EED1F69", r.Err);
            Unchanged(before, _s.Dir);
            Assert.Equal(entries, Directory.GetFileSystemEntries(_s.Dir, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal).ToArray());
        }
    }

    [Theory(DisplayName = "--out: a name with '*' or '?', or NAME beside NAME.partial-…, while another writer works on its own output → that writer's partial directory kept, its output committed")]
    [InlineData("a1", "a?")]
    [InlineData("a1", "a*")]
    [InlineData("a1", "*")]
    [InlineData("a1.partial-0badc0de", "a1")]
    public void TheNameOfAnOutputIsNoPatternForAnotherWritersPartialDirectory(string busy, string then)
    {
        using (var first = OutputClaim.Acquire(_s.P(busy), force: false, "run"))
        {
            var r = Cli.Run(_s.Dir, Cli.Small.With("--out", then));
            Assert.Equal(ExitCodes.Done, r.Code);
            Assert.DoesNotContain("removed .", r.Err);
            Assert.True(File.Exists(Path.Combine(first.Partial, OutputClaim.PartialMarkerName)), $"the live writer's partial directory must survive\n{r}");
            first.Commit(tmp => File.WriteAllText(Path.Combine(tmp, "result.txt"), "first"));
        }
        Assert.Equal("first", File.ReadAllText(_s.P(busy, "result.txt")));
        Assert.True(File.Exists(_s.P(then, "run.json")));
    }

    [Fact(DisplayName = "resode --help: train, verify, report, fashion, bench, bench-conv → exit 0, the exit codes listed (train's and the benchmarks' without verdicts)")]
    public void HelpListsTheExitCodes()
    {
        foreach (var cmd in new[] { "train", "verify", "report", "fashion", "bench", "bench-conv" })
        {
            var r = Cli.Run(_s.Dir, cmd, "--help");
            Assert.Equal(ExitCodes.Done, r.Code);
            // train and the benchmarks give no verdicts: their own contracts (no "1 a result violated")
            Assert.Contains(cmd == "train" ? ExitCodes.TrainSummary : cmd.StartsWith("bench") ? ExitCodes.BenchSummary : ExitCodes.Summary,
                r.Out.ReplaceLineEndings(" ").Replace("  ", " "));
        }
    }

    [Fact(DisplayName = "resode: unexpected failure → exit 3, one line naming where the details are")]
    public void AnUnexpectedFailureIsOneLineExitThreeWithWhereTheDetailsAre()
    {
        var root = new System.CommandLine.RootCommand("test");
        var boom = new System.CommandLine.Command("boom");
        boom.SetAction(_ => ((string?)null)!.Length);
        root.Subcommands.Add(boom);
        var r = Cli.Run(_s.Dir, root, "boom");
        Assert.Equal(ExitCodes.ToolFailed, r.Code);
        Cli.OneLine(r);
        Assert.Contains("NullReferenceException", r.Err);
        Assert.Contains(ResodeApp.DebugVariable, r.Err);
        var log = System.Text.RegularExpressions.Regex.Match(r.Err, @"details in (\S+\.log)").Groups[1].Value;
        Assert.Contains("   at ", File.ReadAllText(log)); // the stack trace is in the log, not on the console
        File.Delete(log);
    }

    [Fact(DisplayName = "resode: an ArgumentOutOfRangeException inside the tool → exit 3, one line naming it a failure of the tool (it was exit 2 with the runtime's \"Specified argument was out of the range of valid values.\", as if an option were bad)")]
    public void AnInternalRangeErrorIsAToolFailure()
    {
        var root = new System.CommandLine.RootCommand("test");
        var boom = new System.CommandLine.Command("boom");
        boom.SetAction(_ => ResOdeProofs.Numerics.Model.AlignedArrays.Create<double>(-1).Length);
        root.Subcommands.Add(boom);
        var r = Cli.Run(_s.Dir, root, "boom");
        Assert.Equal(ExitCodes.ToolFailed, r.Code);
        Cli.OneLine(r);
        Assert.Contains("failed unexpectedly (ArgumentOutOfRangeException", r.Err);
        var log = System.Text.RegularExpressions.Regex.Match(r.Err, @"details in (\S+\.log)").Groups[1].Value;
        if (log.Length > 0) File.Delete(log);
    }

    [Fact(DisplayName = "resode: a full disk (a write to /dev/full, ENOSPC) → exit 3, one line saying the disk is full, no stack trace (it was exit 2, as for bad input)")]
    public void AFullDiskIsAToolFailureInOneLine()
    {
        if (!File.Exists("/dev/full")) return; // Linux's always-full device
        var root = new System.CommandLine.RootCommand("test");
        var write = new System.CommandLine.Command("write");
        write.SetAction(_ => { File.WriteAllBytes("/dev/full", new byte[4096]); return 0; });
        root.Subcommands.Add(write);
        var r = Cli.Run(_s.Dir, root, "write");
        Assert.True(r.Code == ExitCodes.ToolFailed, r.ToString());
        Cli.OneLine(r);
        Assert.Contains("the disk is full", r.Err);
        Assert.DoesNotContain("   at ", r.Err);
    }

    [Fact(DisplayName = "verify: w.npy of the wrong width → exit 2, the error names W")]
    public void TheWrongWidthOfWIsReportedAsAnErrorOfW()
    {
        Assert.Equal(ExitCodes.Done, Cli.Run(_s.Dir, Cli.Small.With("--out", "run")).Code);
        var w = Npy.Read(_s.P("run", "w.npy"), "w", -1, -1, -1, -1);
        int S = w.Shape[0], L = w.Shape[1], m = w.Shape[2], d = w.Shape[3];
        Npy.Write(_s.P("run", "w.npy"), new double[S * L * (m + 1) * d], S, L, m + 1, d);
        var r = Cli.Run(_s.Dir, "verify", "run");
        Assert.Equal(ExitCodes.BadInput, r.Code);
        Cli.OneLine(r);
        Assert.Contains("w.npy", r.Err);
        Assert.DoesNotContain("v.npy", r.Err);
        Assert.Contains($"width = {m + 1}", r.Err);
    }

    [Fact(DisplayName = "resode verify --timings: a small gradient flow → the flow replay's row says what the flow's split statements' observer took inside it; not with --only E.flowReplay")]
    public void VerifyTimingsNameTheFlowObserversShare()
    {
        Assert.Equal(ExitCodes.Done, Cli.Run(_s.Dir, Cli.Small.With("--optimizer", "gf", "--rtol", "1e-8", "--atol", "1e-10", "--out", "flow")).Code);
        var r = Cli.Run(_s.Dir, "verify", "flow", "--timings");
        Assert.True(r.Code is ExitCodes.Done, r.ToString());
        Assert.Matches(@"\n  E\.flowReplay[^\n]*\n    of it, the flow's split statements' observer: [0-9.]+ s at the integration's stages", r.Out);
        var only = Cli.Run(_s.Dir, "verify", "flow", "--timings", "--only", "E.flowReplay");
        Assert.True(only.Code is ExitCodes.Done, only.ToString());
        Assert.DoesNotContain("flow's split statements' observer", only.Out);
    }

    [Fact(DisplayName = "resode verify --timings: a small run → every costly check listed with its CPU seconds, the split observer's share of the replay and the references computed beside the rows with their own cost (neither with --only E.replay), the heap's and the compiler's costs, verdicts.json records them")]
    public void VerifyTimingsListEveryCostlyCheckAndVerdictsJsonRecordsItsCpuSeconds()
    {
        Assert.Equal(ExitCodes.Done, Cli.Run(_s.Dir, Cli.Small.With("--out", "run")).Code);
        var r = Cli.Run(_s.Dir, "verify", "run", "--timings");
        Assert.True(r.Code is ExitCodes.Done, r.ToString());
        Assert.Contains("CPU s", r.Out);
        Assert.Contains("verify (loading, checks, writing)", r.Out);
        var rows = JsonNode.Parse(File.ReadAllText(_s.P("run", "verdicts.json")))!["results"]!.AsArray();
        // every row carries its CPU seconds as a number, and the replay that everything else reads costs something
        Assert.All(rows, row => Assert.True(row!["cpu_seconds"] is JsonValue v && v.GetValue<double>() >= 0, row!.ToJsonString()));
        var replay = rows.Single(row => (string)row!["id"]! == "E.replay")!;
        Assert.True((double)replay["cpu_seconds"]! > 0, replay.ToJsonString());
        Assert.Matches(@"\n  E\.replay\s+run\s+[0-9.]+\s+[0-9.]+", r.Out);
        // the fixed costs beside the checks: the managed heap's and the compiler's (a process compiles some code: never 0 methods)
        Assert.Matches(@"\n  managed heap: [0-9.]+ GB allocated", r.Out);
        Assert.Matches(@"\n  code compiled: [1-9][0-9]* methods in [0-9.]+ s", r.Out);
        // the replay's row says what the split statements' observer (and its centre, GELU here) took inside it
        Assert.Matches(@"\n  E\.replay[^\n]*\n    of it, the split statements' observer: [0-9.]+ s wall of its jobs \(the linearised centre's steps [0-9.]+ s", r.Out);
        // the snapshot references computed beside the rows are named with their own cost (which the rows they ran beside
        // carry), B.bound's with the processor seconds of its two reference solves at every snapshot of the run
        int snapshots = RunDirectory.Read(_s.P("run")).Steps.Length;
        Assert.Matches(@"\n  beside the rows, on a thread of their own [^\n]*\n    the layerwise reference pass of each snapshot \(" + snapshots + @"\)\s+[0-9.]+\s+[0-9.]+  read by I\.loss", r.Out);
        var solves = System.Text.RegularExpressions.Regex.Match(r.Out, @"\n    B\.bound's analysis of every snapshot\s+[0-9.]+\s+[0-9.]+  read by B\.bound[^\n]*; its reference ODE solves ([0-9.eE+-]+) s CPU \(both tolerances, (\d+) snapshots\)");
        Assert.True(solves.Success, r.Out);
        Assert.Equal(snapshots, int.Parse(solves.Groups[2].Value));
        // (three significant digits: a small run's solves take well under a millisecond, never no time at all)
        Assert.True(double.Parse(solves.Groups[1].Value, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture) > 0, r.Out);
        Assert.Matches(@"\n    the lemma chain's norms at every snapshot\s+[0-9.]+\s+[0-9.]+  read by L1\.hidden", r.Out);
        // a selection without the split statements replays without the observer, and the line is not printed
        var only = Cli.Run(_s.Dir, "verify", "run", "--timings", "--only", "E.replay");
        Assert.True(only.Code is ExitCodes.Done, only.ToString());
        Assert.Matches(@"\n  E\.replay\s+run\s+[0-9.]+\s+[0-9.]+", only.Out);
        Assert.DoesNotContain("split statements' observer", only.Out);
        // nor are the references computed beside the rows: a selection computes what its rows ask for, in them
        Assert.DoesNotContain("beside the rows", only.Out);
    }

    [Fact(DisplayName = "train --force: a run whose verdicts.json the tool did not write → exit 2, every file untouched")]
    public void ForceKeepsAForeignVerdictsFile()
    {
        Assert.Equal(ExitCodes.Done, Cli.Run(_s.Dir, Cli.Small.With("--out", "run", "--seed", "1")).Code);
        File.WriteAllText(_s.P("run", "verdicts.json"), "[\"my own notes on this run\"]");
        var before = Cli.Snapshot(_s.Dir);
        var r = Cli.Run(_s.Dir, Cli.Small.With("--out", "run", "--seed", "2", "--force"));
        Assert.Equal(ExitCodes.BadInput, r.Code);
        Cli.OneLine(r);
        Assert.Contains("verdicts.json", r.Err);
        Unchanged(before, _s.Dir);
    }

    [Fact(DisplayName = "verify: a verdicts.json the tool did not write in the run → exit 2 before the work, file untouched; its own is replaced")]
    public void VerifyRefusesAForeignVerdictsFile()
    {
        Assert.Equal(ExitCodes.Done, Cli.Run(_s.Dir, Cli.Small.With("--out", "run")).Code);
        File.WriteAllText(_s.P("run", "verdicts.json"), "{\"my\": \"verdicts from another tool\"}");
        var before = Cli.Snapshot(_s.Dir);
        var r = Cli.Run(_s.Dir, "verify", "run");
        Assert.Equal(ExitCodes.BadInput, r.Code);
        Cli.OneLine(r);
        Assert.Contains("verdicts.json", r.Err);
        Assert.DoesNotContain(" results: ", r.Out); // refused before any result was evaluated
        Unchanged(before, _s.Dir);

        File.Delete(_s.P("run", "verdicts.json"));
        Assert.Equal(ExitCodes.Done, Cli.Run(_s.Dir, "verify", "run").Code);
        var again = Cli.Run(_s.Dir, "verify", "run"); // the file it wrote itself is replaced
        Assert.Equal(ExitCodes.Done, again.Code);
        Assert.Equal("resode-verdicts/3", (string)JsonNode.Parse(File.ReadAllText(_s.P("run", "verdicts.json")))!["format"]!);
    }

    [Fact(DisplayName = "verify: verdicts.json a symbolic link to a verdicts file, or a named pipe → exit 2 before the work, link, target and pipe untouched")]
    public void VerifyRefusesALinkedOrPipedVerdictsFile()
    {
        Assert.Equal(ExitCodes.Done, Cli.Run(_s.Dir, Cli.Small.With("--out", "run")).Code);
        Assert.Equal(ExitCodes.Done, Cli.Run(_s.Dir, "verify", "run").Code);
        // the file verify wrote, moved aside and linked back: the link is the user's (replacing it would replace the link)
        File.Move(_s.P("run", "verdicts.json"), _s.P("mine.json"));
        File.CreateSymbolicLink(_s.P("run", "verdicts.json"), _s.P("mine.json"));
        var before = Cli.Snapshot(_s.Dir);
        var r = Cli.Run(_s.Dir, "verify", "run");
        Assert.Equal(ExitCodes.BadInput, r.Code);
        Cli.OneLine(r);
        Assert.Contains("symbolic link", r.Err);
        Assert.DoesNotContain(" results: ", r.Out);
        Unchanged(before, _s.Dir);
        Assert.NotNull(new FileInfo(_s.P("run", "verdicts.json")).LinkTarget);
        if (OperatingSystem.IsWindows()) return;
        // a named pipe: refused without being opened (a read would wait for a writer)
        File.Delete(_s.P("run", "verdicts.json"));
        Process.Start("mkfifo", _s.P("run", "verdicts.json"))!.WaitForExit();
        var p = Cli.Run(_s.Dir, "verify", "run");
        Assert.Equal(ExitCodes.BadInput, p.Code);
        Assert.Contains("not a regular file", p.Err);
        Assert.DoesNotContain(" results: ", p.Out);
    }

    [Fact(DisplayName = "verify --write-index: a directory → exit 2 before the work, no temporary left beside it")]
    public void WriteIndexOntoADirectoryIsRefusedBeforeTheWork()
    {
        Assert.Equal(ExitCodes.Done, Cli.Run(_s.Dir, Cli.Small.With("--out", "run")).Code);
        Directory.CreateDirectory(_s.P("index"));
        var before = Cli.Snapshot(_s.Dir);
        var r = Cli.Run(_s.Dir, "verify", "run", "--write-index", "index");
        Assert.Equal(ExitCodes.BadInput, r.Code);
        Cli.OneLine(r);
        Assert.Contains("is a directory", r.Err);
        Assert.DoesNotContain(" results: ", r.Out);
        Unchanged(before, _s.Dir);
        Assert.Empty(Directory.GetFileSystemEntries(_s.Dir, "index.tmp-*"));
    }

    [Fact(DisplayName = "train: the lock path .NAME.lock a link to a user file, or a user file of that name → exit 2 before the work, both untouched")]
    public void ALockPathThatIsNotOursIsLeftAlone()
    {
        Directory.CreateDirectory(_s.P("user"));
        File.WriteAllText(_s.P("user", "notes.txt"), "precious");
        File.CreateSymbolicLink(_s.P(".runL.lock"), _s.P("user", "notes.txt"));
        File.WriteAllText(_s.P(".runM.lock"), "my own file, named like a lock");
        var before = Cli.Snapshot(_s.Dir);
        foreach (var (outDir, what) in new[] { ("runL", "symbolic link"), ("runM", "not a lock resode made") })
        {
            var r = Cli.Run(_s.Dir, Cli.Small.With("--out", outDir));
            Assert.Equal(ExitCodes.BadInput, r.Code);
            Cli.OneLine(r);
            Assert.Contains(what, r.Err);
            Assert.False(Directory.Exists(_s.P(outDir)));
        }
        Unchanged(before, _s.Dir);
        Assert.NotNull(new FileInfo(_s.P(".runL.lock")).LinkTarget);
    }

    [Fact(DisplayName = "train, report: the lock path .NAME.lock a user directory (empty or not) → exit 2 naming the directory and what to do, before the work, nothing touched")]
    public void ALockPathThatIsAUserDirectoryIsNamedAndLeftAlone()
    {
        Directory.CreateDirectory(_s.P(".runE.lock"));
        Directory.CreateDirectory(_s.P(".runF.lock"));
        File.WriteAllText(_s.P(".runF.lock", "notes.txt"), "precious");
        Directory.CreateDirectory(_s.P(".rep.lock"));
        var before = Cli.Snapshot(_s.Dir);
        foreach (var (cmd, outDir) in new[] { (Cli.Small, "runE"), (Cli.Small, "runF"), (new[] { "report", "--preset", "quick" }, "rep") })
        {
            var r = Cli.Run(_s.Dir, cmd.With("--out", outDir));
            Assert.Equal(ExitCodes.BadInput, r.Code);
            Cli.OneLine(r);
            Assert.Contains($".{outDir}.lock is a directory, not a lock resode made", r.Err);
            Assert.Contains("move or rename that directory", r.Err);
            Assert.DoesNotContain("permission denied", r.Err);
            Assert.DoesNotContain("another resode process", r.Err);
            Assert.False(Directory.Exists(_s.P(outDir)));
            Assert.True(Directory.Exists(_s.P($".{outDir}.lock")));
        }
        Unchanged(before, _s.Dir);
        Assert.Empty(Directory.GetFileSystemEntries(_s.P(".runE.lock")));
        Assert.Empty(Directory.GetDirectories(_s.Dir, ".*.partial-*"));
    }

    [Fact(DisplayName = "train --force: a run without manifest holding the user's verdicts.json, or an output holding a saved verdicts.json deeper down → exit 2, every file untouched")]
    public void ForceKeepsVerdictsFilesThatAreNotBesideOurRunJson()
    {
        // a run directory of the format before manifests (run.json created by resode, no .resode-output) with the user's
        // own verdicts.json: not ours
        Assert.Equal(ExitCodes.Done, Cli.Run(_s.Dir, Cli.Small.With("--out", "old")).Code);
        File.Delete(_s.P("old", OutputClaim.ManifestName));
        File.WriteAllText(_s.P("old", "verdicts.json"), "MY NOTES on this run");
        // an output with its manifest, and a real verdicts file the user saved in a folder of their own inside it
        Assert.Equal(ExitCodes.Done, Cli.Run(_s.Dir, Cli.Small.With("--out", "run")).Code);
        Assert.Equal(ExitCodes.Done, Cli.Run(_s.Dir, "verify", "run").Code);
        Directory.CreateDirectory(_s.P("run", "saved", "experiment-A"));
        File.Copy(_s.P("run", "verdicts.json"), _s.P("run", "saved", "experiment-A", "verdicts.json"));
        var before = Cli.Snapshot(_s.Dir);
        foreach (var (outDir, why) in new[] { ("old", "manifest"), ("run", "verdicts.json") })
        {
            var r = Cli.Run(_s.Dir, Cli.Small.With("--out", outDir, "--force"));
            Assert.Equal(ExitCodes.BadInput, r.Code);
            Cli.OneLine(r);
            Assert.Contains(why, r.Err);
        }
        Unchanged(before, _s.Dir);
        // verify's own verdicts.json beside the run.json stays replaceable
        File.Delete(_s.P("run", "saved", "experiment-A", "verdicts.json"));
        Directory.Delete(_s.P("run", "saved"), recursive: true);
        Assert.Equal(ExitCodes.Done, Cli.Run(_s.Dir, Cli.Small.With("--out", "run", "--force")).Code);
    }

    [Fact(DisplayName = "train --force: a directory without manifest holding a copied run.json of resode's and the user's a.npy, theta.npy, trace/notes.npy → exit 2, every file untouched")]
    public void ForceKeepsUserFilesBesideACopiedRunJson()
    {
        // a run.json "created by resode" copied into the user's folder says nothing of the files beside it (user test: --force
        // deleted a.npy, theta.npy and trace/my_analysis.npy, none of them even a .npy file)
        Assert.Equal(ExitCodes.Done, Cli.Run(_s.Dir, Cli.Small.With("--out", "base")).Code);
        Directory.CreateDirectory(_s.P("mine", "trace"));
        File.Copy(_s.P("base", "run.json"), _s.P("mine", "run.json"));
        File.WriteAllText(_s.P("mine", "a.npy"), "A matrix I computed");
        File.WriteAllText(_s.P("mine", "theta.npy"), "theta");
        File.WriteAllText(_s.P("mine", "trace", "my_analysis.npy"), "my analysis");
        // a whole run copied without its manifest is not replaced either (only the manifest says what resode wrote)
        Assert.Equal(ExitCodes.Done, Cli.Run(_s.Dir, Cli.Small.With("--out", "copy")).Code);
        File.Delete(_s.P("copy", OutputClaim.ManifestName));
        var before = Cli.Snapshot(_s.Dir);
        foreach (var outDir in new[] { "mine", "copy" })
        {
            var r = Cli.Run(_s.Dir, Cli.Small.With("--out", outDir, "--force"));
            Assert.Equal(ExitCodes.BadInput, r.Code);
            Cli.OneLine(r);
            Assert.Contains("--force refused", r.Err);
            Assert.Contains("manifest", r.Err);
        }
        Unchanged(before, _s.Dir);
    }

    [Fact(DisplayName = "train --force: --out the working directory reached through a symbolic link → exit 2, nothing deleted")]
    public void ForceOntoTheWorkingDirectoryThroughALinkIsRefused()
    {
        var home = _s.P("cw", "runC");
        Directory.CreateDirectory(home);
        Cli.UserFiles(home);
        Directory.CreateSymbolicLink(_s.P("cwlink"), _s.P("cw"));
        var before = Cli.Snapshot(_s.P("cw"));
        var r = Cli.Run(home, Cli.Small.With("--out", Path.Combine(_s.P("cwlink"), "runC"), "--force"));
        Assert.Equal(ExitCodes.BadInput, r.Code);
        Cli.OneLine(r);
        Assert.Contains("working directory", r.Err);
        Unchanged(before, _s.P("cw"));
    }

    [Fact(DisplayName = "bench --json: a user file that mentions peakWorkingSetBytes, a link or a named pipe → exit 2 before the timings, untouched")]
    public void BenchJsonReplacesOnlyItsOwnFiles()
    {
        File.WriteAllText(_s.P("notes.md"), "notes: \"peakWorkingSetBytes\" means the largest resident set\n");
        File.CreateSymbolicLink(_s.P("link.json"), _s.P("notes.md"));
        var bench = new[] { "bench", "--config", "fig2", "--threads", "1", "--repeats", "1", "--precision", "f64", "--json" };
        var before = Cli.Snapshot(_s.Dir);
        foreach (var (target, what) in new[] { ("notes.md", "not written by resode --json"), ("link.json", "symbolic link") })
        {
            var r = Cli.Run(_s.Dir, bench.With(target));
            Assert.Equal(ExitCodes.BadInput, r.Code);
            Cli.OneLine(r);
            Assert.Contains(what, r.Err);
            Assert.DoesNotContain("fig2 ", r.Out);   // no timing row: refused before the timings
        }
        Unchanged(before, _s.Dir);
        if (OperatingSystem.IsWindows()) return;
        Process.Start("mkfifo", _s.P("pipe.json"))!.WaitForExit();
        var p = Cli.Run(_s.Dir, bench.With("pipe.json"));
        Assert.Equal(ExitCodes.BadInput, p.Code);
        Assert.Contains("not written by resode --json", p.Err);
    }

    [Fact(DisplayName = "sweep slurm --dry-run: the script edited by hand, then the same command again → exit 2, the edit kept; unedited → rewritten")]
    public void SlurmKeepsAnEditedScript()
    {
        var first = Cli.Run(_s.Dir, "sweep", "slurm", "tiny", "--dry-run", "--out", "so");
        Assert.Equal(ExitCodes.Done, first.Code);
        var script = _s.P("so", "slurm", "sweep.sbatch");
        // unedited: written again (here with another partition)
        Assert.Equal(ExitCodes.Done, Cli.Run(_s.Dir, "sweep", "slurm", "tiny", "--dry-run", "--out", "so", "--partition", "other").Code);
        Assert.Contains("other", File.ReadAllText(script));
        File.AppendAllText(script, "# my module loads\n");
        var edited = File.ReadAllText(script);
        var r = Cli.Run(_s.Dir, "sweep", "slurm", "tiny", "--dry-run", "--out", "so");
        Assert.Equal(ExitCodes.BadInput, r.Code);
        Cli.OneLine(r);
        Assert.Contains("edited", r.Err);
        Assert.Equal(edited, File.ReadAllText(script));
    }

    [Fact(DisplayName = "train --force: an output holding an empty directory the user made → exit 2 naming it, the directory kept (it was removed with the output)")]
    public void ForceKeepsAnEmptyUserDirectoryInsideTheOutput()
    {
        Assert.Equal(ExitCodes.Done, Cli.Run(_s.Dir, Cli.Small.With("--out", "run")).Code);
        Directory.CreateDirectory(_s.P("run", "mount-here"));
        var r = Cli.Run(_s.Dir, Cli.Small.With("--out", "run", "--force"));
        Assert.Equal(ExitCodes.BadInput, r.Code);
        Cli.OneLine(r);
        Assert.Contains("mount-here/", r.Err);
        Assert.True(Directory.Exists(_s.P("run", "mount-here")));
        // the output's own directories (trace/) are resode's: without the user's, --force replaces it
        Directory.Delete(_s.P("run", "mount-here"));
        Assert.Equal(ExitCodes.Done, Cli.Run(_s.Dir, Cli.Small.With("--out", "run", "--force")).Code);
    }

    [Fact(DisplayName = "OutputClaim.Describe: an empty directory resode made inside its output is listed in the manifest → nothing foreign (--force may replace it); unlisted → named")]
    public void AnEmptyDirectoryOfResodesOwnIsReplaced()
    {
        var target = _s.P("made");
        using (var claim = ResOdeProofs.Numerics.IO.OutputClaim.Acquire(target, force: false, kind: "report"))
            claim.Commit(dir => { File.WriteAllText(Path.Combine(dir, "a.txt"), "x"); Directory.CreateDirectory(Path.Combine(dir, "empty")); });
        Assert.True(Directory.Exists(Path.Combine(target, "empty")));
        Assert.Null(ResOdeProofs.Numerics.IO.OutputClaim.Describe(target, "report"));
        // the same directory not listed (a manifest of an older resode, or the user's): refused
        var manifest = Path.Combine(target, ResOdeProofs.Numerics.IO.OutputClaim.ManifestName);
        var node = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(manifest))!.AsObject();
        node.Remove("directories");
        File.WriteAllText(manifest, node.ToJsonString());
        Assert.Contains("empty/", ResOdeProofs.Numerics.IO.OutputClaim.Describe(target, "report"));
    }

    [Fact(DisplayName = "train --force: an output holding a symbolic link to a user directory → exit 2, link and directory untouched")]
    public void ForceKeepsALinkInsideTheOutput()
    {
        Assert.Equal(ExitCodes.Done, Cli.Run(_s.Dir, Cli.Small.With("--out", "run")).Code);
        Directory.CreateDirectory(_s.P("user"));
        Cli.UserFiles(_s.P("user"));
        Directory.CreateSymbolicLink(_s.P("run", "mydata"), _s.P("user"));
        var before = Cli.Snapshot(_s.P("user"));
        var r = Cli.Run(_s.Dir, Cli.Small.With("--out", "run", "--force"));
        Assert.Equal(ExitCodes.BadInput, r.Code);
        Cli.OneLine(r);
        Assert.Contains("symbolic link", r.Err);
        Assert.NotNull(new DirectoryInfo(_s.P("run", "mydata")).LinkTarget);
        Unchanged(before, _s.P("user"));
    }

    [Fact(DisplayName = "train: --out an existing empty directory with mode 2770 → the run takes its place with the same mode")]
    public void AnEmptyOutputDirectoryKeepsItsMode()
    {
        if (OperatingSystem.IsWindows()) return;
        Directory.CreateDirectory(_s.P("shared"));
        var mode = UnixFileMode.SetGroup | UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
                   | UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute;
        File.SetUnixFileMode(_s.P("shared"), mode);
        Assert.Equal(ExitCodes.Done, Cli.Run(_s.Dir, Cli.Small.With("--out", "shared")).Code);
        Assert.True(File.Exists(_s.P("shared", "run.json")));
        Assert.Equal(mode, File.GetUnixFileMode(_s.P("shared")));
    }

    /// <summary>Runs a system tool (coreutils, e2fsprogs) and returns its standard output; it must succeed.</summary>
    private static string Tool(string file, params string[] args)
    {
        using var p = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo(file, args) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false })!;
        string o = p.StandardOutput.ReadToEnd().Trim();
        string e = p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, $"{file} {string.Join(' ', args)} failed: {e}");
        return o;
    }

    /// <summary>The inode number of a path: the identity of a directory that a replacement changes.</summary>
    private static string Inode(string path) => Tool("stat", "-c", "%i", path);

    [Fact(DisplayName = "train: --out an existing empty directory → the run is written into that directory itself (its inode stays; it was replaced by a new one)")]
    public void AnEmptyOutputDirectoryIsKeptNotReplaced()
    {
        if (OperatingSystem.IsWindows()) return;
        Directory.CreateDirectory(_s.P("mine"));
        string before = Inode(_s.P("mine"));
        Assert.Equal(ExitCodes.Done, Cli.Run(_s.Dir, Cli.Small.With("--out", "mine")).Code);
        Assert.True(File.Exists(_s.P("mine", "run.json")));
        Assert.True(File.Exists(_s.P("mine", ".resode-output")));
        Assert.Equal(before, Inode(_s.P("mine")));
        Assert.Empty(Directory.GetDirectories(_s.Dir, ".mine.partial-*"));
    }

    /// <summary>Makes a directory refuse new entries even to root (the immutable attribute) or, for another user, by its
    /// mode; returns the undo. The refusal is checked, so a test built on it cannot pass on a directory that still takes files.</summary>
    private static Action Unwritable(string dir)
    {
        Action undo;
        if (Environment.UserName == "root") { Tool("chattr", "+i", dir); undo = () => Tool("chattr", "-i", dir); }
        else if (OperatingSystem.IsWindows()) throw new PlatformNotSupportedException("the unwritable directory is made with Unix file modes");
        else
        {
            var mode = File.GetUnixFileMode(dir);
            File.SetUnixFileMode(dir, UnixFileMode.UserRead | UnixFileMode.UserExecute);
            undo = () => { if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(dir, mode); };
        }
        Assert.ThrowsAny<Exception>(() => File.Create(Path.Combine(dir, "probe")).Dispose());
        return undo;
    }

    [Fact(DisplayName = "train: --out an existing empty directory resode cannot write in → exit 2 before training, nothing left beside it (was: after the work, the output left in a partial directory and a file named as 'appeared')")]
    public void AnEmptyOutputDirectoryThatTakesNoFilesFailsFirst()
    {
        if (OperatingSystem.IsWindows()) return;
        Directory.CreateDirectory(_s.P("locked"));
        var undo = Unwritable(_s.P("locked"));
        try
        {
            var r = Cli.Run(_s.Dir, Cli.Small.With("--out", "locked"));
            Assert.Equal(ExitCodes.BadInput, r.Code);
            Cli.OneLine(r);
            Assert.Contains("cannot write in it", r.Err);
            Assert.DoesNotContain("iteration 1/", r.Out + r.Err);
            Assert.Empty(Directory.GetDirectories(_s.Dir, ".locked.partial-*"));
        }
        finally { undo(); }
        Assert.Empty(Directory.GetFileSystemEntries(_s.P("locked")));
    }

    [Fact(DisplayName = "report --preset tiny: --out an existing empty directory → the report is written into it (same inode), nothing left beside it")]
    public void AnEmptyReportDirectoryIsKeptNotReplaced()
    {
        if (OperatingSystem.IsWindows()) return;
        Directory.CreateDirectory(_s.P("rep"));
        string before = Inode(_s.P("rep"));
        var r = Cli.Run(_s.Dir, "report", "--preset", "tiny", "--out", "rep");
        Assert.Equal(ExitCodes.Done, r.Code);
        Assert.True(File.Exists(_s.P("rep", "index.html")));
        Assert.Equal(before, Inode(_s.P("rep")));
        Assert.Empty(Directory.GetDirectories(_s.Dir, ".rep.partial-*"));
    }

    [Theory(DisplayName = "train --optimizer gf: --atol 0 or --rtol Infinity → exit 2 before the work, nothing written (was a divergence, exit 3)")]
    [InlineData("--atol", "0", "--atol")]
    [InlineData("--rtol", "Infinity", "--rtol")]
    public void FlowToleranceOutOfRangeIsBadInput(string option, string value, string named)
    {
        var r = Cli.Run(_s.Dir, Cli.Small.With("--optimizer", "gf", "--horizon", "0.1", option, value, "--out", "g"));
        Assert.Equal(ExitCodes.BadInput, r.Code);
        Cli.OneLine(r);
        Assert.Contains(named, r.Err);
        Assert.False(Directory.Exists(_s.P("g")));
    }

    [Fact(DisplayName = "fashion: every cell diverges (η = 10⁶) → exit 3 with the cells named, the output written (was exit 0)")]
    public void FashionSaysWhenItsCellsDidNotComplete()
    {
        var r = Cli.Run(_s.Dir, "fashion", "--depth", "8", "--per-class", "3", "--test-per-class", "3", "--iters", "5", "--eta", "1e6", "--out", "fb");
        Assert.Equal(ExitCodes.ToolFailed, r.Code);
        Assert.Contains("not completed", r.Err);
        Assert.Contains("(diverged)", r.Err);
        Assert.True(File.Exists(_s.P("fb", "summary.md")));
    }

    [Fact(DisplayName = "verify: steps.npy of floats → exit 2, not integer")]
    public void FloatStepsAreRefusedAsNotInteger()
    {
        Assert.Equal(ExitCodes.Done, Cli.Run(_s.Dir, Cli.Small.With("--out", "run")).Code);
        var steps = Npy.ReadInt64(_s.P("run", "steps.npy"), out _);
        Npy.Write(_s.P("run", "steps.npy"), steps.Select(x => (double)x).ToArray(), steps.Length);
        var r = Cli.Run(_s.Dir, "verify", "run");
        Assert.Equal(ExitCodes.BadInput, r.Code);
        Cli.OneLine(r);
        Assert.Contains("steps.npy", r.Err);
        Assert.Contains("integer", r.Err);
    }

    [Fact(DisplayName = "train: run.json (threads, commit, command line) → a rerun reproduces the run bit for bit")]
    public void RunJsonRecordsThreadsCommitAndCommandLineAndARerunReproducesTheRunBitForBit()
    {
        var args = new[] { "train", "--depth", "8", "--width", "8", "--n", "40", "--d", "4", "--iters", "20", "--threads", "2", "--seed", "7", "--init", "smooth", "--out", "first run" };
        Assert.Equal(ExitCodes.Done, Cli.Run(_s.Dir, args).Code);
        var meta = JsonNode.Parse(File.ReadAllText(_s.P("first run", "run.json")))!;
        Assert.Equal(2, (int)meta["threads"]!);
        Assert.False(string.IsNullOrEmpty((string?)meta["engine_commit"]));
        string line = (string)meta["command_line"]!;
        Assert.Equal("resode train --depth 8 --width 8 --n 40 --d 4 --iters 20 --threads 2 --seed 7 --init smooth --out 'first run'", line);

        var again = ShellWords(line).Skip(1).ToArray();
        again[Array.IndexOf(again, "--out") + 1] = "rerun";
        Assert.Equal(ExitCodes.Done, Cli.Run(_s.Dir, again).Code);
        var npys = Directory.EnumerateFiles(_s.P("first run"), "*.npy", SearchOption.AllDirectories).ToList();
        Assert.True(npys.Count > 10);
        foreach (var f in npys)
            Assert.Equal(File.ReadAllBytes(f), File.ReadAllBytes(Path.Combine(_s.P("rerun"), Path.GetRelativePath(_s.P("first run"), f))));

        // The thread count is part of what fixes the run: it changes the order of the sums, so it is recorded.
        var one = again.ToArray(); one[Array.IndexOf(one, "--threads") + 1] = "1"; one[Array.IndexOf(one, "--out") + 1] = "one";
        Assert.Equal(ExitCodes.Done, Cli.Run(_s.Dir, one).Code);
        Assert.Equal(1, (int)JsonNode.Parse(File.ReadAllText(_s.P("one", "run.json")))!["threads"]!);
    }

    /// <summary>Splits a POSIX-shell line of plain words and single-quoted words.</summary>
    private static IEnumerable<string> ShellWords(string line)
    {
        var cur = new System.Text.StringBuilder(); bool quoted = false, any = false;
        foreach (char c in line)
        {
            if (c == '\'') { quoted = !quoted; any = true; }
            else if (c == ' ' && !quoted) { if (any) yield return cur.ToString(); cur.Clear(); any = false; }
            else { cur.Append(c); any = true; }
        }
        if (any) yield return cur.ToString();
    }

    [Fact(DisplayName = "train: SIGTERM → a readable run with status interrupted, exit 3")]
    public void SigtermLeavesAReadableInterruptedRun()
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS()) return; // POSIX signals only
        var p = LongTraining("long");
        Assert.Equal(0, kill(p.Id, 15));
        var r = Cli.Finish(p);
        Assert.Equal(ExitCodes.ToolFailed, r.Code);
        Assert.Contains("interrupted", r.Err);
        Assert.DoesNotContain("   at ", r.Err);
        var run = RunDirectory.Read(_s.P("long"));
        Assert.Equal("interrupted", run.Meta.Status);
        Assert.True(run.Losses.Length >= 1);
        Assert.Equal(run.Losses.Length - 1, run.Steps[^1]); // the iterate reached is the last snapshot
        Assert.Equal(0, run.Steps[0]);
        Assert.All(run.Losses, l => Assert.True(double.IsFinite(l)));
        Assert.Equal(new[] { "long" }, Directory.GetFileSystemEntries(_s.Dir).Select(Path.GetFileName).ToArray());
        Assert.Contains("stopping at the next iteration", r.Err);
    }

    [Fact(DisplayName = "train --optimizer gf: SIGTERM → 'stopping at the next output time' (a flow has output times, not iterations), a readable interrupted flow, exit 3")]
    public void SigtermStopsAFlowAtItsNextOutputTime()
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS()) return; // POSIX signals only
        var p = LongTraining("flow", "--optimizer", "gf");
        Assert.Equal(0, kill(p.Id, 15));
        var r = Cli.Finish(p);
        Assert.Equal(ExitCodes.ToolFailed, r.Code);
        Assert.Contains("stopping at the next output time", r.Err);
        Assert.DoesNotContain("next iteration", r.Err);
        Assert.Equal("interrupted", RunDirectory.Read(_s.P("flow")).Meta.Status);
    }

    [Fact(DisplayName = "train --force onto a completed run: interrupted (SIGTERM) or diverged → exit 3, the completed run untouched, the new one beside it (NAME.interrupted, NAME.diverged)")]
    public void AnUnfinishedRunNeverReplacesACompletedOne()
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS()) return; // POSIX signals only
        Assert.Equal(ExitCodes.Done, Cli.Run(_s.Dir, Cli.Small.With("--out", "keep")).Code);
        Assert.Equal(ExitCodes.Done, Cli.Run(_s.Dir, "verify", "keep", "--quiet").Code);
        var before = Cli.Snapshot(_s.P("keep"));
        // user test: --force replaced the completed run and its verdicts with the interrupted one
        var p = LongTraining("keep", "--force");
        Assert.Equal(0, kill(p.Id, 15));
        var r = Cli.Finish(p);
        Assert.Equal(ExitCodes.ToolFailed, r.Code);
        Assert.Contains("keep.interrupted", r.Err + r.Out);
        Assert.Equal(before, Cli.Snapshot(_s.P("keep")));
        Assert.Equal("interrupted", RunDirectory.Read(_s.P("keep.interrupted")).Meta.Status);
        // a divergence likewise, beside the first one's name
        var d = Cli.Run(_s.Dir, Cli.Small.With("--out", "keep", "--force", "--eta", "1e300"));
        Assert.Equal(ExitCodes.ToolFailed, d.Code);
        Assert.Contains("keep.diverged", d.Err + d.Out);
        Assert.Equal(before, Cli.Snapshot(_s.P("keep")));
        Assert.Equal("diverged", RunDirectory.Read(_s.P("keep.diverged")).Meta.Status);
        // a completed run still replaces it
        Assert.Equal(ExitCodes.Done, Cli.Run(_s.Dir, Cli.Small.With("--out", "keep", "--force", "--seed", "9")).Code);
        Assert.NotEqual(before, Cli.Snapshot(_s.P("keep")));
    }

    [Fact(DisplayName = "train: SIGTERM twice at once (GNU timeout signals the command, then its process group) → one request: a readable interrupted run, exit 3")]
    public void ARepeatedSigtermIsOneRequest()
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS()) return; // POSIX signals only
        var p = LongTraining("twice");
        // the two signals as GNU timeout sends them; before the repeat window the second one killed the process and the
        // partial run was lost
        Assert.Equal(0, kill(p.Id, 15));
        Assert.Equal(0, kill(p.Id, 15));
        var r = Cli.Finish(p);
        Assert.True(r.Code == ExitCodes.ToolFailed, r.ToString());
        var run = RunDirectory.Read(_s.P("twice"));
        Assert.Equal("interrupted", run.Meta.Status);
        Assert.Equal(new[] { "twice" }, Directory.GetFileSystemEntries(_s.Dir).Select(Path.GetFileName).ToArray());
    }

    [Fact(DisplayName = "verify: the run directory replaced while it is verified (train --force onto it) → exit 2, no verdicts.json beside the new run; an unchanged run → written")]
    public void AVerifyDoesNotWriteVerdictsBesideARunThatReplacedItsOwn()
    {
        Assert.Equal(ExitCodes.Done, Cli.Run(_s.Dir, "train", "--depth", "32", "--width", "32", "--n", "40", "--d", "8", "--iters", "3000",
            "--eta", "0.005", "--snapshots", "4", "--out", "run").Code);
        // user test: a verify racing `train --force` wrote the old run's verdicts (iteration 6000 …) beside the new 50-iteration run
        // --progress: its first line comes from the replay, so the run has been read by then (replaced while it is being read,
        // the verify fails on the mixed files, exit 2 as well, which is not the case tested here)
        var p = Cli.Start(_s.Dir, "verify", "run", "--progress");
        var first = p.StandardError.ReadLine();
        Assert.False(p.HasExited, $"the verify should still be running (stderr: {first})");
        Assert.Equal(ExitCodes.Done, Cli.Run(_s.Dir, Cli.Small.With("--out", "run", "--force")).Code);
        var after = Cli.Snapshot(_s.P("run"));
        var r = Cli.Finish(p);
        Assert.Equal(ExitCodes.BadInput, r.Code);
        // the progress lines, then one error line
        Assert.DoesNotContain("   at ", r.Err);
        Assert.Contains("changed while it was verified", r.Err.TrimEnd().Split('\n')[^1]);
        Assert.False(File.Exists(_s.P("run", "verdicts.json")));
        Assert.Equal(after, Cli.Snapshot(_s.P("run")));
        // the control: nothing writes the run meanwhile → its verdicts are written
        Assert.Equal(ExitCodes.Done, Cli.Run(_s.Dir, "verify", "run", "--quiet").Code);
        Assert.True(File.Exists(_s.P("run", "verdicts.json")));
    }

    [Fact(DisplayName = "verify: SIGTERM during the checks → one line naming the command, exit 3 (not 143), no stack trace; the run and its verdicts.json of an earlier verify as they were")]
    public void SigtermStopsAVerifyWithExitThree()
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS()) return; // POSIX signals only
        Assert.Equal(ExitCodes.Done, Cli.Run(_s.Dir, "train", "--depth", "32", "--width", "32", "--n", "40", "--d", "8", "--iters", "3000",
            "--eta", "0.005", "--snapshots", "4", "--out", "run").Code);
        Assert.Equal(ExitCodes.Done, Cli.Run(_s.Dir, "verify", "run", "--only", "I.loss", "--quiet").Code);
        var before = Cli.Snapshot(_s.P("run"));
        var p = Cli.Start(_s.Dir, "verify", "run");
        Thread.Sleep(1500);
        Assert.False(p.HasExited, "the verify should still be running");
        Assert.Equal(0, kill(p.Id, 15));
        var r = Cli.Finish(p);
        Assert.True(r.Code == ExitCodes.ToolFailed, r.ToString());
        Assert.Contains("interrupted: resode verify stopped by SIGTERM", r.Err);
        Assert.DoesNotContain("   at ", r.Err);
        Assert.Equal(before, Cli.Snapshot(_s.P("run")));
    }

    /// <summary>A `train` child that would run for hours, started into <paramref name="outDir"/> and running (its output claimed).</summary>
    private Process LongTraining(string outDir, params string[] more)
    {
        var p = Cli.Start(_s.Dir, new[] { "train", "--depth", "8", "--width", "8", "--n", "16", "--d", "4", "--iters", "50000000", "--snapshots", "3", "--out", outDir }.Concat(more).ToArray());
        var sw = Stopwatch.StartNew();
        // The partial directory exists once the output is claimed, just before training starts.
        while (!Directory.EnumerateDirectories(_s.Dir, $".{outDir}.partial-*").Any() && sw.Elapsed < TimeSpan.FromSeconds(60) && !p.HasExited) Thread.Sleep(20);
        Thread.Sleep(500);
        Assert.False(p.HasExited, "the training should still be running");
        return p;
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int kill(int pid, int sig);
}

/// <summary>The output claim itself: what it replaces and what it never replaces.</summary>
[Collection(CliCollection.Name)]
public sealed class OutputClaimTests : IDisposable
{
    private readonly Scratch _s = new();
    public void Dispose() => _s.Dispose();

    [Fact(DisplayName = "--out: a directory appearing during the run → never replaced by the final move")]
    public void TheFinalMoveNeverReplacesADirectoryThatAppearedMeanwhile()
    {
        var target = _s.P("out");
        using var claim = OutputClaim.Acquire(target, force: false, "report");
        Cli.UserFiles(target); // another program (or the user) creates the directory while resode works
        var before = Cli.Snapshot(target);
        var e = Assert.Throws<OutputException>(() => claim.Commit(tmp => File.WriteAllText(Path.Combine(tmp, "index.html"), "report")));
        Assert.Contains("appeared while resode was working", e.Message);
        Assert.Contains(claim.Partial, e.Message);
        Assert.Equal(before, Cli.Snapshot(target));
        claim.Dispose();
        Assert.True(File.Exists(Path.Combine(claim.Partial, "index.html")), "the finished output is kept where the message says");
    }

    [Fact(DisplayName = "train --force: a foreign file appearing during the run → nothing replaced")]
    public void ForceRechecksAtTheEndThatEverythingReplacedIsStillOurs()
    {
        var target = _s.P("out");
        RunDirectory.WriteAtomically(target, force: false, tmp => File.WriteAllText(Path.Combine(tmp, "index.html"), "old"), "report");
        using var claim = OutputClaim.Acquire(target, force: true, "report");
        File.WriteAllText(Path.Combine(target, "added-meanwhile.txt"), "user's");
        var e = Assert.Throws<OutputException>(() => claim.Commit(tmp => File.WriteAllText(Path.Combine(tmp, "index.html"), "new")));
        Assert.Contains("added-meanwhile.txt", e.Message);
        Assert.Equal("old", File.ReadAllText(Path.Combine(target, "index.html")));
        Assert.Equal("user's", File.ReadAllText(Path.Combine(target, "added-meanwhile.txt")));
    }

    [Fact(DisplayName = "--force: a directory → recognised as ours by its manifest and its kind only")]
    public void ADirectoryIsRecognisedByItsManifestAndItsKind()
    {
        var report = _s.P("report");
        RunDirectory.WriteAtomically(report, force: false, tmp =>
        {
            Directory.CreateDirectory(Path.Combine(tmp, "figures"));
            File.WriteAllText(Path.Combine(tmp, "figures", "a.svg"), "<svg/>");
            File.WriteAllText(Path.Combine(tmp, "index.html"), "x");
        }, "report");
        Assert.Null(OutputClaim.Describe(report, "report"));
        Assert.Contains("not a run directory", OutputClaim.Describe(report, "run"));
        File.WriteAllText(Path.Combine(report, "figures", "mine.png"), "user");
        Assert.Contains("figures/mine.png", OutputClaim.Describe(report, "report"));
        File.Delete(Path.Combine(report, "figures", "mine.png"));
        File.WriteAllText(Path.Combine(report, OutputClaim.ManifestName), "{\"created_by\": \"someone else\", \"kind\": \"report\", \"files\": []}");
        Assert.Contains("not written by resode", OutputClaim.Describe(report, "report"));
    }

    [Fact(DisplayName = "--out: a failed fill → partial directory and lock removed")]
    public void AFailedFillRemovesThePartialDirectoryAndTheLock()
    {
        var target = _s.P("out");
        Assert.Throws<InvalidOperationException>(() => RunDirectory.WriteAtomically(target, force: false, tmp =>
        {
            File.WriteAllText(Path.Combine(tmp, "half.txt"), "partial");
            throw new InvalidOperationException("simulated failure");
        }));
        Assert.Empty(Directory.GetFileSystemEntries(_s.Dir));
    }
}

/// <summary>`bench --json` replaces only its own result files, and says so before timing anything.</summary>
[Collection(CliCollection.Name)]
public sealed class BenchOutputTests : IDisposable
{
    private readonly Scratch _s = new();
    public void Dispose() => _s.Dispose();

    [Fact(DisplayName = "bench --out: a foreign file → exit 2 before timing, file untouched")]
    public void BenchRefusesToOverwriteAForeignFileBeforeTiming()
    {
        File.WriteAllText(_s.P("notes.json"), "{\"mine\": true}");
        var before = Cli.Snapshot(_s.Dir);
        var r = Cli.Run(_s.Dir, "bench", "--quick", "--json", "notes.json");
        Assert.Equal(ExitCodes.BadInput, r.Code);
        Cli.OneLine(r);
        Assert.Contains("not written by resode --json", r.Err);
        Assert.DoesNotContain("cpu:", r.Out);
        Assert.Equal(before, Cli.Snapshot(_s.Dir));
    }
}

/// <summary>Links are not followed into replacing what they point to.</summary>
[Collection(CliCollection.Name)]
public sealed class LinkOutputTests : IDisposable
{
    private readonly Scratch _s = new();
    public void Dispose() => _s.Dispose();

    [Fact(DisplayName = "--out: a symbolic link → exit 2, link and target untouched")]
    public void AnOutputThatIsASymbolicLinkIsRefused()
    {
        Directory.CreateDirectory(_s.P("real"));
        Cli.UserFiles(_s.P("real"));
        Directory.CreateSymbolicLink(_s.P("link"), _s.P("real"));
        var before = Cli.Snapshot(_s.P("real"));
        var r = Cli.Run(_s.Dir, Cli.Small.With("--out", "link", "--force"));
        Assert.Equal(ExitCodes.BadInput, r.Code);
        Cli.OneLine(r);
        Assert.Contains("symbolic link", r.Err);
        Assert.Equal(before, Cli.Snapshot(_s.P("real")));
    }
}
