namespace ResOdeProofs.Cli.Tests;

/// <summary>
/// Bad values are refused with the tool's words, before any work: no runtime type name or parameter name in a message (user
/// test: "(Parameter 'name')", "'System.Nullable`1[System.Int64]'", "ResOdeProofs.Numerics.IO.RunMetadata",
/// "List`1[System.String]"), and the settings of `report` and `fashion` checked before the data are read.
/// </summary>
[Collection(CliCollection.Name)]
public sealed class PlainMessagesTests : IDisposable
{
    private readonly Scratch _s = new();
    public void Dispose() => _s.Dispose();

    private static void Plain(CliOutcome r)
    {
        Assert.Equal(ExitCodes.BadInput, r.Code);
        Cli.OneLine(r);
        foreach (var word in new[] { "(Parameter", "System.", "ResOdeProofs.", "`1", "   at " }) Assert.DoesNotContain(word, r.Err);
    }

    [Fact(DisplayName = "resode: an option value of the wrong kind, an unknown activation → exit 2, the kind it must be, no runtime type names")]
    public void OptionValuesAreRefusedInPlainWords()
    {
        var seed = Cli.Run(_s.Dir, "report", "--seed", "abc");
        Plain(seed);
        Assert.Contains("as an integer", seed.Err);
        var eta = Cli.Run(_s.Dir, Cli.Small.With("--eta", "fast", "--out", "r"));
        Plain(eta);
        Assert.Contains("as a number", eta.Err);
        var act = Cli.Run(_s.Dir, "fashion", "--activations", "swish", "--out", "f");
        Plain(act);
        Assert.Contains("swish", act.Err);
        Assert.Empty(Directory.GetFileSystemEntries(_s.Dir));
    }

    /// <summary>A block's parameter count is one array's length; formed in 32 bits it wrapped (one-layer, d = 65 536: d² + d =
    /// 65 536), the run trained and failed inside its first Forward, exit 3 ("the tool failed") for a bad setting.</summary>
    [Theory(DisplayName = "train: a block whose parameters per layer exceed one array (one-layer d = 65 536, glu m = d = 40 000, conv C = 20 000) → exit 2 naming the count before any work, nothing written (they wrapped in 32 bits, trained and failed with exit 3)")]
    [InlineData("--arch one-layer --d 65536", "d² + d parameters per layer")]
    [InlineData("--arch glu --width 40000 --d 40000", "3md parameters per layer")]
    [InlineData("--arch conv --channels 20000", "2(9C² + C) parameters per layer")]
    public void ABlockTooLargeForOneArrayIsRefused(string setting, string named)
    {
        var r = Cli.Run(_s.Dir, new[] { "train", "--depth", "2", "--n", "2", "--iters", "1", "--out", "big" }.Concat(setting.Split(' ')).ToArray());
        Plain(r);
        Assert.Contains(named, r.Err);
        Assert.Contains("more than one array holds", r.Err);
        Assert.Empty(Directory.GetFileSystemEntries(_s.Dir));
    }

    [Fact(DisplayName = "verify, sweep run: an empty run directory (\"\"), a study path that is a directory → exit 2 naming the empty run directory and the directory that is no study file (they read \"The value cannot be an empty string.\" and \"no such study file\")")]
    public void AnEmptyRunPathAndADirectoryStudyAreNamed()
    {
        var empty = Cli.Run(_s.Dir, "verify", "");
        Plain(empty);
        Assert.Contains("run directory given is empty", empty.Err);
        Directory.CreateDirectory(_s.P("d.toml"));
        var dir = Cli.Run(_s.Dir, "sweep", "run", "d.toml", "--out", "o");
        Plain(dir);
        Assert.Contains("is a directory, not a study file", dir.Err);
        Assert.False(Directory.Exists(_s.P("o")));
    }

    [Fact(DisplayName = "train: --clip Infinity (or 0) → exit 2 before any work, nothing written (an infinite radius was trained and written, and verify then refused the run it had written)")]
    public void AnInfiniteClipRadiusIsRefused()
    {
        foreach (var radius in new[] { "Infinity", "0" })
            foreach (var optimizer in new[] { "gd", "gf" })
            {
                var r = Cli.Run(_s.Dir, Cli.Small.With("--clip", radius, "--optimizer", optimizer, "--out", "c"));
                Plain(r);
                Assert.Contains("positive finite", r.Err);
            }
        Assert.Empty(Directory.GetFileSystemEntries(_s.Dir));
    }

    [Fact(DisplayName = "train: --optimizer gf --threads 2 → a note that the flow evaluates on one thread, run.json threads 1 (the option was dropped without a word)")]
    public void FlowThreadsAreNoted()
    {
        var r = Cli.Run(_s.Dir, Cli.Small.With("--optimizer", "gf", "--threads", "2", "--out", "g"));
        Assert.Equal(ExitCodes.Done, r.Code);
        Assert.Contains("note: --threads 2 is not used by the gradient flow", r.Err);
        Assert.Contains("\"threads\": 1", File.ReadAllText(Path.Combine(_s.Dir, "g", "run.json")));
    }

    [Fact(DisplayName = "report, fashion: --jobs 0 or -1, --eta nan, --test-per-class 0, --per-class 0 → exit 2 before any work (no data read, nothing written)")]
    public void SettingsAreCheckedBeforeTheWork()
    {
        foreach (var jobs in new[] { "0", "-1" })
        {
            var r = Cli.Run(_s.Dir, "report", "--preset", "tiny", "--jobs", jobs, "--out", "rp");
            Plain(r);
            Assert.Contains("--jobs must be at least 1", r.Err);
        }
        foreach (var (option, value, says) in new[] { ("--eta", "nan", "positive finite"), ("--test-per-class", "0", "test image"), ("--per-class", "0", "training image") })
        {
            var settings = new Dictionary<string, string> { ["--depth"] = "4", ["--width"] = "8", ["--d"] = "10", ["--per-class"] = "2", ["--test-per-class"] = "2", ["--iters"] = "5", ["--out"] = "fa" };
            settings[option] = value;
            var r = Cli.Run(_s.Dir, new[] { "fashion" }.Concat(settings.SelectMany(kv => new[] { kv.Key, kv.Value })).ToArray());
            Plain(r);
            Assert.Contains(says, r.Err);
            Assert.DoesNotContain("Fashion-MNIST", r.Out);   // the data were not read
        }
        Assert.Empty(Directory.GetFileSystemEntries(_s.Dir));
    }

    [Fact(DisplayName = "fashion: --depth and --width 2147483647 → exit 2 naming L·m·d before the data are read (the product wrapped in 64 bits and passed, to fail with the runtime's \"Specified argument was out of the range\" after loading)")]
    public void SizesWhoseProductWrapsAreRefusedBeforeTheData()
    {
        var r = Cli.Run(_s.Dir, "fashion", "--depth", "2147483647", "--width", "2147483647", "--out", "f1");
        Plain(r);
        Assert.Contains("L·m·d", r.Err);
        Assert.DoesNotContain("Fashion-MNIST", r.Out);   // the data were not read
        Assert.Empty(Directory.GetFileSystemEntries(_s.Dir));
    }

    [Fact(DisplayName = "bench, bench-conv: --activation swish, --depth 2147483647 → exit 2 naming the option before any measurement (no machine lines, no FMA peak; they were refused after the peak and the timings)")]
    public void BenchmarkValuesAreRefusedBeforeAnyMeasurement()
    {
        var bench = Cli.Run(_s.Dir, "bench", "--config", "fig2", "--threads", "1", "--repeats", "1", "--activation", "swish");
        Plain(bench);
        Assert.Contains("--activation", bench.Err);
        Assert.Contains("swish", bench.Err);
        Assert.Equal("", bench.Out);
        var conv = Cli.Run(_s.Dir, "bench-conv", "--depth", "8", "2147483647", "--repeats", "1");
        Plain(conv);
        Assert.Contains("--depth 2147483647", conv.Err);
        Assert.Equal("", conv.Out);
    }

    [Fact(DisplayName = "train: --snapshot-steps 0..99 (or 9) with --iters 5 → exit 2 saying it goes beyond the last iteration 5 (it was told 0..99 is not a range); 0..x still not a range")]
    public void SnapshotStepsPastTheLastIterationAreSaidToBe()
    {
        foreach (var (steps, says) in new[] { ("0..99", "the range 0..99 goes beyond the last iteration 5"), ("0,9", "iteration 9 goes beyond the last iteration 5"), ("0..x", "'0..x' is not an iteration 0..5 or a range") })
        {
            var r = Cli.Run(_s.Dir, Cli.Small[..^2].With("--iters", "5", "--snapshot-steps", steps, "--out", "s"));
            Plain(r);
            Assert.Contains(says, r.Err);
        }
        Assert.Empty(Directory.GetFileSystemEntries(_s.Dir));
    }

    [Fact(DisplayName = "verify: run.json a list, or \"trace\" a number → exit 2 naming what the document or key must be, no runtime type names")]
    public void RunJsonOfTheWrongKindIsNamedInPlainWords()
    {
        Assert.Equal(ExitCodes.Done, Cli.Run(_s.Dir, Cli.Small.With("--out", "run")).Code);
        var json = File.ReadAllText(_s.P("run", "run.json"));
        File.WriteAllText(_s.P("run", "run.json"), "[1, 2]");
        var list = Cli.Run(_s.Dir, "verify", "run");
        Plain(list);
        Assert.Contains("must be one JSON object", list.Err);
        File.WriteAllText(_s.P("run", "run.json"), json.TrimEnd().TrimEnd('}') + ", \"trace\": 5 }");
        var trace = Cli.Run(_s.Dir, "verify", "run");
        Plain(trace);
        Assert.Contains("\"trace\" must be a list of strings", trace.Err);
    }

    [Theory(DisplayName = "verify: a run.json count out of its range or not an integer (depth −8, 0 or 2.5, width 0, n 0, d −3, d_in 0, d_out −1, threads 0, iterations −3) → exit 2 naming the field and its range (the sizes were reported as a mismatch with the weights)")]
    [InlineData("depth", "-8", "1")]
    [InlineData("depth", "0", "1")]
    [InlineData("depth", "2.5", "1")]
    [InlineData("width", "0", "1")]
    [InlineData("n", "0", "1")]
    [InlineData("d", "-3", "1")]
    [InlineData("d_in", "0", "1")]
    [InlineData("d_out", "-1", "1")]
    [InlineData("threads", "0", "1")]
    [InlineData("iterations", "-3", "0")]
    public void ARunJsonCountOutOfRangeIsRefusedByName(string key, string value, string least)
    {
        Assert.Equal(ExitCodes.Done, Cli.Run(_s.Dir, Cli.Small.With("--out", "run")).Code);
        var node = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(_s.P("run", "run.json")))!.AsObject();
        node[key] = System.Text.Json.Nodes.JsonNode.Parse(value);
        File.WriteAllText(_s.P("run", "run.json"), node.ToJsonString());
        var r = Cli.Run(_s.Dir, "verify", "run");
        Plain(r);
        Assert.Contains($"\"{key}\"", r.Err);
        Assert.Contains($"an integer from {least} to 2 147 483 647", r.Err);
        Assert.DoesNotContain("the arrays have", r.Err);
        Assert.DoesNotContain(".npy", r.Err);
        Assert.DoesNotContain(" results: ", r.Out);
    }

    [Fact(DisplayName = "verify: a ladder of runs that diverged at different iterations → exit 2 saying which run diverged where, not only \"3 vs 2 iterations\"")]
    public void ALadderWithADivergedRunSaysSo()
    {
        foreach (var depth in new[] { "4", "16" })
            Cli.Run(_s.Dir, "train", "--depth", depth, "--width", "8", "--n", "10", "--d", "4", "--v-scale", "0.3", "--iters", "60", "--eta", "0.3", "--init", "tied", "--seed", "7", "--out", "L" + depth);
        var r = Cli.Run(_s.Dir, "verify", "L4", "L16");
        Plain(r);
        Assert.Contains("not a ladder of depths", r.Err);
        Assert.Contains("(L = 16) diverged at iteration 2", r.Err);
        Assert.Contains("a ladder needs every run to complete its iterations", r.Err);
    }

    [Fact(DisplayName = "verify: run.json \"optimizer\": null, \"init\": null or \"status\": null → exit 2 naming the key as null, no stack trace (the first two were tool failures, exit 3, the last read as \"status\" is \"\")")]
    public void NullInRunJsonIsNamedInPlainWords()
    {
        Assert.Equal(ExitCodes.Done, Cli.Run(_s.Dir, Cli.Small.With("--out", "run")).Code);
        var json = File.ReadAllText(_s.P("run", "run.json"));
        foreach (var key in new[] { "optimizer", "init", "status" })
        {
            var node = System.Text.Json.Nodes.JsonNode.Parse(json)!.AsObject();
            node[key] = null;
            File.WriteAllText(_s.P("run", "run.json"), node.ToJsonString());
            var r = Cli.Run(_s.Dir, "verify", "run");
            Plain(r);
            Assert.Contains($"\"{key}\" is null", r.Err);
        }
    }

    [Fact(DisplayName = "verify: run.json a named pipe → exit 2 saying it is not a regular file, at once (verify waited for a writer forever)")]
    public void ANamedPipeAsRunJsonIsRefused()
    {
        if (OperatingSystem.IsWindows()) return;
        Assert.Equal(ExitCodes.Done, Cli.Run(_s.Dir, Cli.Small.With("--out", "run")).Code);
        File.Delete(_s.P("run", "run.json"));
        System.Diagnostics.Process.Start("mkfifo", _s.P("run", "run.json"))!.WaitForExit();
        // a child process, killed by Finish when it does not end: a verify in this process would hang the test run
        var r = Cli.Finish(Cli.Start(_s.Dir, "verify", "run"), timeoutMs: 60_000);
        Plain(r);
        Assert.Contains("run.json: is empty or not a regular file", r.Err);
    }

    [Fact(DisplayName = "verify: NaN in trace/grad_norm.npy at an iterate whose loss is finite → exit 2 naming the file, the iterate and the value, as NaN in losses.npy is (it was VIOLATED, exit 1)")]
    public void NaNInATraceColumnIsBadInput()
    {
        Assert.Equal(ExitCodes.Done, Cli.Run(_s.Dir, Cli.Small.With("--out", "run")).Code);
        var path = _s.P("run", "trace", "grad_norm.npy");
        var column = ResOdeProofs.Numerics.IO.Npy.Read(path).Data;
        column[1] = double.NaN;
        ResOdeProofs.Numerics.IO.Npy.Write(path, column, column.Length);
        var r = Cli.Run(_s.Dir, "verify", "run");
        Plain(r);
        Assert.Contains("grad_norm.npy: entry 1 (iterate 1) is NaN", r.Err);
    }

    [Fact(DisplayName = "verify: run.json lists trace columns whose files are missing, or trace a file → a note naming the column; one directory given twice → verified once, said")]
    public void TraceClaimsAreCheckedAndRepeatsDropped()
    {
        Assert.Equal(ExitCodes.Done, Cli.Run(_s.Dir, Cli.Small.With("--out", "run")).Code);
        var twice = Cli.Run(_s.Dir, "verify", "run", "run/", "--only", "I.loss");
        Assert.Equal(ExitCodes.Done, twice.Code);
        Assert.Contains("verified once", twice.Err);
        Assert.Contains("1 result (chosen by --only I.loss)", twice.Out);
        // user test: a run.json listing 16 columns beside a trace that was a file, or without trace/loss.npy, passed with exit 0
        File.Delete(_s.P("run", "trace", "loss.npy"));
        var missing = Cli.Run(_s.Dir, "verify", "run");
        Assert.Contains("note: ", missing.Err);
        Assert.Contains("trace/loss.npy is missing", missing.Err);
        Directory.Delete(_s.P("run", "trace"), recursive: true);
        File.WriteAllText(_s.P("run", "trace"), "not a directory");
        var file = Cli.Run(_s.Dir, "verify", "run");
        Assert.Contains("is a file, but run.json lists trace columns", file.Err);
        Assert.DoesNotContain("   at ", file.Err);
    }

    [Fact(DisplayName = "train: an --out name of 245 characters (its working directory beside it would pass 255) → exit 2 saying the name is too long, not that the directory cannot be written; nothing left")]
    public void AnOutNameTooLongForItsWorkingDirectoryIsSaidSo()
    {
        var name = new string('r', 245);
        var r = Cli.Run(_s.Dir, Cli.Small.With("--out", name));
        Plain(r);
        Assert.Contains("too long", r.Err);
        Assert.DoesNotContain("cannot write in", r.Err);
        Assert.Empty(Directory.GetFileSystemEntries(_s.Dir));
    }
}
