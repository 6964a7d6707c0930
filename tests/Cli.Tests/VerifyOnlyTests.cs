using System.Text.Json.Nodes;
using ResOdeProofs.Numerics.IO;

namespace ResOdeProofs.Cli.Tests;

/// <summary>
/// `resode verify --only`: a selection of results evaluates those rows only, each the row the whole verification gives;
/// verdicts.json says it is a selection; a selection that names no result, or none these runs get, is refused before
/// any work; and a corrupted run is still rejected by the chosen check.
/// </summary>
[Collection(CliCollection.Name)]
public sealed class VerifyOnlyTests : IDisposable
{
    private readonly Scratch _s = new();
    public void Dispose() => _s.Dispose();

    private static readonly string[] Train =
        { "train", "--depth", "4", "--width", "4", "--n", "8", "--d", "3", "--iters", "12", "--snapshots", "3", "--seed", "5", "--out", "run" };

    private JsonNode Verdicts() => JsonNode.Parse(File.ReadAllText(_s.P("run", "verdicts.json")))!;

    private static string[] Ids(JsonNode v) => v["results"]!.AsArray().Select(r => r!["id"]!.GetValue<string>()).ToArray();

    [Fact(DisplayName = "verify --only B.bound,I.: a small run → exactly B.bound and the I.* rows, each the whole verify's row; verdicts.json lists the selection")]
    public void TheChosenRowsAreTheWholeVerificationsRows()
    {
        Assert.Equal(ExitCodes.Done, Cli.Run(_s.Dir, Train).Code);
        Assert.Equal(ExitCodes.Done, Cli.Run(_s.Dir, "verify", "--quiet", "run").Code);
        var whole = Verdicts();
        Assert.Null(whole["selection"]);

        var r = Cli.Run(_s.Dir, "verify", "run", "--only", "B.bound,I.");
        Assert.True(r.Code == ExitCodes.Done, r.ToString());
        Assert.Contains("chosen by --only B.bound,I.", r.Out);
        var part = Verdicts();
        Assert.Equal(new[] { "B.bound", "I." }, part["selection"]!.AsArray().Select(x => x!.GetValue<string>()).ToArray());
        var expected = Ids(whole).Where(id => id == "B.bound" || id.StartsWith("I.", StringComparison.Ordinal)).ToArray();
        Assert.Equal(4, expected.Length); // I.loss, I.update, I.trace and B.bound
        Assert.Equal(expected, Ids(part));
        foreach (var row in part["results"]!.AsArray())
        {
            var same = whole["results"]!.AsArray().Single(w => w!["id"]!.GetValue<string>() == row!["id"]!.GetValue<string>())!;
            foreach (var k in new[] { "verdict", "measured", "bound", "tightness_min", "tightness_max", "detail", "hypotheses" })
                Assert.True(row![k]?.ToJsonString() == same[k]?.ToJsonString(), $"{row["id"]}: {k} {row[k]?.ToJsonString()} vs {same[k]?.ToJsonString()}");
        }
        // the rows not chosen are not printed either
        Assert.DoesNotContain("A.split", r.Out);
    }

    /// <summary>
    /// A.split's last hypothesis, that the replay stands for the producer, is the replay itself (the whole cost of
    /// `--only A.split`: 22 s against 0.7 s for a 2 000-iterate run of figure 2's size). Deferred, it is made only when the
    /// cheap ones hold: on a relu run (no bounded σ'') the row lists it as not evaluated and names σ'' alone (it was made,
    /// and with another build than the producer's also named as not met); on the same run with GELU it is made.
    /// </summary>
    [Fact(DisplayName = "verify --only A.split: a relu run → hypothesis not met naming σ'' alone, the replay's hypothesis not evaluated; GELU → made")]
    public void TheReplayIsNotMadeWhenACheapHypothesisFails()
    {
        static JsonNode Replay(JsonNode v) =>
            v["results"]!.AsArray().Single(r => r!["id"]!.GetValue<string>() == "A.split")!["hypotheses"]!.AsArray()
                .Single(h => h!["name"]!.GetValue<string>().StartsWith("replay stands for the producer", StringComparison.Ordinal))!;
        Assert.Equal(ExitCodes.Done, Cli.Run(_s.Dir, Train.Concat(new[] { "--activation", "relu" }).ToArray()).Code);
        var r = Cli.Run(_s.Dir, "verify", "run", "--only", "A.split");
        Assert.True(r.Code == ExitCodes.Done, r.ToString());
        var v = Verdicts();
        var row = v["results"]!.AsArray().Single(x => x!["id"]!.GetValue<string>() == "A.split")!;
        Assert.Equal("hypothesis not met", row["verdict"]!.GetValue<string>());
        Assert.StartsWith("sigma twice differentiable", row["detail"]!.GetValue<string>());
        Assert.DoesNotContain("replay", row["detail"]!.GetValue<string>());
        Assert.False(Replay(v)["met"]!.GetValue<bool>());
        Assert.StartsWith("not evaluated", Replay(v)["detail"]!.GetValue<string>());

        Assert.Equal(ExitCodes.Done, Cli.Run(_s.Dir, Train.Select(a => a == "run" ? "gelu" : a).ToArray()).Code);
        r = Cli.Run(_s.Dir, "verify", "gelu", "--only", "A.split");
        Assert.True(r.Code == ExitCodes.Done, r.ToString());
        var g = JsonNode.Parse(File.ReadAllText(_s.P("gelu", "verdicts.json")))!;
        Assert.True(Replay(g)["met"]!.GetValue<bool>(), Replay(g).ToJsonString());
    }

    [Fact(DisplayName = "verify --only ID RUN and --only=ID RUN: the option before the run directory → the run is verified with that selection, not taken as a second id")]
    public void OnlyBeforeTheRunDirectory()
    {
        Assert.Equal(ExitCodes.Done, Cli.Run(_s.Dir, Train).Code);
        foreach (var args in new[] { new[] { "verify", "--only", "I.loss", "run" }, new[] { "verify", "--only=I.loss", "run" } })
        {
            var r = Cli.Run(_s.Dir, args);
            Assert.True(r.Code == ExitCodes.Done, r.ToString());
            Assert.Equal(new[] { "I.loss" }, Ids(Verdicts()));
        }
    }

    [Fact(DisplayName = "verify: run.json says clipped-gd without clip_radius → refused, exit 2, naming the missing radius; a radius with plain gd → a note that it is not used; 'clipped_gd' → a note naming clipped-gd")]
    public void ClippedWithoutRadiusIsRefused()
    {
        Assert.Equal(ExitCodes.Done, Cli.Run(_s.Dir, Train).Code);
        string json = _s.P("run", "run.json");
        var meta = JsonNode.Parse(File.ReadAllText(json))!.AsObject();
        meta["optimizer"] = "clipped-gd";
        meta.Remove("clip_radius");
        File.WriteAllText(json, meta.ToJsonString());
        var r = Cli.Run(_s.Dir, "verify", "run");
        Assert.True(r.Code == ExitCodes.BadInput && r.Err.Contains("\"clip_radius\" is missing"), r.ToString());
        meta["optimizer"] = "gd";
        meta["clip_radius"] = 2.0;
        File.WriteAllText(json, meta.ToJsonString());
        r = Cli.Run(_s.Dir, "verify", "run", "--only", "I.loss");
        Assert.True(r.Code == ExitCodes.Done && (r.Out + r.Err).Contains("the radius is not used"), r.ToString());
        // a known optimizer spelt with '_' ("clipped_gd"): read as another optimizer, with a note naming the one meant
        meta["optimizer"] = "clipped_gd";
        File.WriteAllText(json, meta.ToJsonString());
        r = Cli.Run(_s.Dir, "verify", "run", "--only", "I.loss");
        Assert.True(r.Code == ExitCodes.Done && r.Err.Contains("did you mean \"clipped-gd\"?"), r.ToString());
    }

    [Fact(DisplayName = "verify --only '*' (every result) → the whole verification: verdicts.json without a selection, the whole verify's rows; one result → \"1 result\"")]
    public void StarIsTheWholeVerification()
    {
        Assert.Equal(ExitCodes.Done, Cli.Run(_s.Dir, Train).Code);
        Assert.Equal(ExitCodes.Done, Cli.Run(_s.Dir, "verify", "--quiet", "run").Code);
        var whole = Verdicts();
        var r = Cli.Run(_s.Dir, "verify", "run", "--only", "*");
        Assert.True(r.Code == ExitCodes.Done, r.ToString());
        Assert.DoesNotContain("chosen by --only", r.Out);
        var star = Verdicts();
        Assert.Null(star["selection"]);
        Assert.Equal(Ids(whole), Ids(star));
        var one = Cli.Run(_s.Dir, "verify", "run", "--only", "I.loss");
        Assert.Contains("1 result (chosen by --only I.loss):", one.Out);
    }

    [Fact(DisplayName = "verify, the table: ids up to 31 characters (A.flow.split.segments.remainder) → every row's verdict in the header's column")]
    public void TheTableStaysAligned()
    {
        Assert.Equal(ExitCodes.Done, Cli.Run(_s.Dir, Train).Code);
        var r = Cli.Run(_s.Dir, "verify", "run");
        Assert.True(r.Code == ExitCodes.Done, r.ToString());
        var lines = r.Out.Split('\n');
        int header = Array.FindIndex(lines, l => l.StartsWith("  result ", StringComparison.Ordinal));
        Assert.True(header >= 0, r.Out);
        int col = lines[header].IndexOf("verdict", StringComparison.Ordinal);
        var rows = lines.Skip(header + 1).TakeWhile(l => l.Length > 0).ToList();
        Assert.Contains(rows, l => l.Contains("A.flow.split.segments.remainder"));
        foreach (var l in rows)
            Assert.True(l.Length > col && l[col - 1] == ' ' && l[col] != ' ', $"row not aligned with the header's verdict column {col}: {l}");
    }

    [Fact(DisplayName = "verify: a run's table → a legend under it saying measured and bound are the comparison nearest to failing, worst and best the loosest and tightest tightness")]
    public void TheTableSaysWhichComparisonItsColumnsShow()
    {
        Assert.Equal(ExitCodes.Done, Cli.Run(_s.Dir, Train).Code);
        var r = Cli.Run(_s.Dir, "verify", "run", "--only", "L5.split");
        Assert.True(r.Code == ExitCodes.Done, r.ToString());
        var lines = r.Out.Split('\n');
        int header = Array.FindIndex(lines, l => l.StartsWith("  result ", StringComparison.Ordinal));
        int legend = Array.FindIndex(lines, l => l.StartsWith("  measured, bound: the comparison nearest to failing", StringComparison.Ordinal));
        Assert.True(header >= 0 && legend > header, r.Out);
        Assert.Contains("worst, best: bound / measured at the loosest and at the tightest comparison", lines[legend]);
        // --quiet prints the summary only
        Assert.DoesNotContain("nearest to failing", Cli.Run(_s.Dir, "verify", "--quiet", "run", "--only", "L5.split").Out);
    }

    [Fact(DisplayName = "verify --only: a former id (G.B.bound) → its current id's row; repeated options and commas add up")]
    public void FormerIdsAndRepeatedOptions()
    {
        Assert.Equal(ExitCodes.Done, Cli.Run(_s.Dir, Train).Code);
        Assert.Equal(ExitCodes.Done, Cli.Run(_s.Dir, "verify", "--quiet", "run", "--only", "G.B.bound").Code);
        Assert.Equal(new[] { "B.bound" }, Ids(Verdicts()));
        Assert.Equal(ExitCodes.Done, Cli.Run(_s.Dir, "verify", "--quiet", "run", "--only", "I.loss", "--only", "E.replay,I.loss").Code);
        Assert.Equal(new[] { "I.loss", "E.replay" }, Ids(Verdicts()));
    }

    [Theory(DisplayName = "verify --only: an id no result has, or only results this one run does not get → exit 2 before any work, every file as it was")]
    [InlineData("B.bound,Z.nothing", "'Z.nothing'")]
    [InlineData("A.rate", "none of these results is evaluated on this run")]
    [InlineData(",", "give result ids or prefixes")]
    public void ASelectionOfNothingIsRefusedBeforeTheWork(string only, string message)
    {
        Assert.Equal(ExitCodes.Done, Cli.Run(_s.Dir, Train).Code);
        Assert.Equal(ExitCodes.Done, Cli.Run(_s.Dir, "verify", "--quiet", "run").Code);
        var before = Cli.Snapshot(_s.Dir);
        var r = Cli.Run(_s.Dir, "verify", "run", "--only", only);
        Assert.Equal(ExitCodes.BadInput, r.Code);
        Cli.OneLine(r);
        Assert.Contains(message, r.Err);
        Assert.Equal(before, Cli.Snapshot(_s.Dir));
    }

    [Fact(DisplayName = "verify --only: with --write-index → exit 2 before any work (the index tabulates every result), every file as it was")]
    public void TheIndexIsNotWrittenFromASelection()
    {
        Assert.Equal(ExitCodes.Done, Cli.Run(_s.Dir, Train).Code);
        var before = Cli.Snapshot(_s.Dir);
        var r = Cli.Run(_s.Dir, "verify", "run", "--only", "B.bound", "--write-index", "index.md");
        Assert.Equal(ExitCodes.BadInput, r.Code);
        Cli.OneLine(r);
        Assert.Contains("without --only", r.Err);
        Assert.Equal(before, Cli.Snapshot(_s.Dir));
    }

    [Fact(DisplayName = "verify --only I.loss: one weight of the last snapshot moved by 1e-3 → I.loss VIOLATED, exit 1 (the faithful run: holds, exit 0)")]
    public void ACorruptedRunIsStillRejectedByTheChosenCheck()
    {
        Assert.Equal(ExitCodes.Done, Cli.Run(_s.Dir, Train).Code);
        var ok = Cli.Run(_s.Dir, "verify", "--quiet", "run", "--only", "I.loss");
        Assert.True(ok.Code == ExitCodes.Done, ok.ToString());
        Assert.Equal("holds", Verdicts()["results"]![0]!["verdict"]!.GetValue<string>());
        var w = Npy.Read(_s.P("run", "w.npy"));
        int last = w.Data.Length - w.Data.Length / w.Shape[0];
        w.Data[last] += 1e-3;
        Npy.Write(_s.P("run", "w.npy"), w.Data, w.Shape);
        var bad = Cli.Run(_s.Dir, "verify", "--quiet", "run", "--only", "I.loss");
        Assert.True(bad.Code == ExitCodes.Violated, bad.ToString());
        Assert.Equal("VIOLATED", Verdicts()["results"]![0]!["verdict"]!.GetValue<string>());
    }

    [Fact(DisplayName = "verify: a float32 run on data of size 1e-30 (the gradient's squares underflow, pl_ratio recorded 0, its loss below float32's resolution) → nothing violated, exit 0; its grad_norm claimed 1e-20 (verified about 1e-60) → E.claims VIOLATED, exit 1")]
    public void AnUnderflowingFloat32RunHolds()
    {
        var rng = new Random(0);
        double[] Tiny() => Enumerable.Range(0, 32).Select(_ => (rng.NextDouble() - 0.5) * 1e-30).ToArray();
        Npy.Write(_s.P("x.npy"), Tiny(), new[] { 8, 4 });
        Npy.Write(_s.P("y.npy"), Tiny(), new[] { 8, 4 });
        var t = Cli.Run(_s.Dir, "train", "--width", "4", "--depth", "4", "--iters", "5", "--float32", "--x", "x.npy", "--y", "y.npy", "--out", "run");
        Assert.True(t.Code == ExitCodes.Done, t.ToString());
        var ok = Cli.Run(_s.Dir, "verify", "--quiet", "run");
        Assert.True(ok.Code == ExitCodes.Done, ok.ToString());
        var g = Npy.Read(_s.P("run", "trace", "grad_norm.npy"));
        g.Data[0] = 1e-20;
        Npy.Write(_s.P("run", "trace", "grad_norm.npy"), g.Data, g.Shape);
        var bad = Cli.Run(_s.Dir, "verify", "--quiet", "run", "--only", "E.claims");
        Assert.True(bad.Code == ExitCodes.Violated, bad.ToString());
        Assert.Equal("VIOLATED", Verdicts()["results"]![0]!["verdict"]!.GetValue<string>());
    }

    [Fact(DisplayName = "verify: a ladder of i.i.d. initializations (L = 4, 8, 16; same data and settings) → evaluated, A.rate VIOLATED and D.rate's one-function hypothesis not met, exit 1 (it was refused as no ladder, exit 2)")]
    public void AnIidLadderIsEvaluated()
    {
        var dirs = new[] { 4, 8, 16 }.Select(L => $"iid{L}").ToArray();
        foreach (var (L, dir) in new[] { 4, 8, 16 }.Zip(dirs))
            Assert.Equal(ExitCodes.Done, Cli.Run(_s.Dir, "train", "--depth", $"{L}", "--width", "8", "--n", "10", "--d", "4", "--eta", "0.0025", "--iters", "6",
                "--snapshots", "3", "--init", "iid", "--out", dir).Code);
        var r = Cli.Run(_s.Dir, new[] { "verify", "--only", "A.rate,D.rate" }.Concat(dirs).ToArray());
        Assert.True(r.Code == ExitCodes.Violated, r.ToString());
        Assert.Matches(@"A\.rate\s+VIOLATED", r.Out);
        Assert.Matches(@"D\.rate\s+hypothesis not met", r.Out);
        Assert.Contains("not one function of depth", r.Out);
    }

    [Fact(DisplayName = "verify: a Fashion-MNIST cell's run directory → its E.profile and E.accuracy rows as `fashion` wrote them (they were dropped); the train accuracy claim raised → E.accuracy.train VIOLATED, exit 1; another per_class, or one training label changed in y.npy → accuracy rows hypothesis not met, the images not the run's")]
    public void AFashionCellKeepsItsProfileAndAccuracyRows()
    {
        Assert.Equal(ExitCodes.Done, Cli.Run(_s.Dir, "fashion", "--depth", "8", "--width", "16", "--d", "12", "--per-class", "5", "--test-per-class", "5", "--iters", "20",
            "--activations", "gelu", "--out", "fo").Code);
        string cell = _s.P("fo", "tied-gelu");
        string[] extra = { "E.profile", "E.accuracy.train", "E.accuracy.test" };
        JsonNode Rows() => JsonNode.Parse(File.ReadAllText(Path.Combine(cell, "verdicts.json")))!;
        string VerdictOf(JsonNode v, string id) => v["results"]!.AsArray().First(r => r!["id"]!.GetValue<string>() == id)!["verdict"]!.GetValue<string>();
        var written = Rows();
        foreach (var id in extra) Assert.Equal("holds", VerdictOf(written, id));
        Assert.Equal(ExitCodes.Done, Cli.Run(_s.Dir, "verify", "--quiet", cell).Code);
        var again = Rows();
        foreach (var id in extra) Assert.Equal("holds", VerdictOf(again, id));
        // the same rows as the experiment's: E.accuracy's recount and E.profile's statistics
        foreach (var id in extra)
            Assert.Equal(written["results"]!.AsArray().First(r => r!["id"]!.GetValue<string>() == id)!["constants"]!.ToJsonString(),
                         again["results"]!.AsArray().First(r => r!["id"]!.GetValue<string>() == id)!["constants"]!.ToJsonString());
        var meta = JsonNode.Parse(File.ReadAllText(Path.Combine(cell, "run.json")))!.AsObject();
        double claim = meta["fashion"]!["train_accuracy"]!.GetValue<double>();
        meta["fashion"]!["train_accuracy"] = claim + 0.2;
        File.WriteAllText(Path.Combine(cell, "run.json"), meta.ToJsonString());
        Assert.Equal(ExitCodes.Violated, Cli.Run(_s.Dir, "verify", "--quiet", "--only", "E.accuracy.", cell).Code);
        Assert.Equal("VIOLATED", VerdictOf(Rows(), "E.accuracy.train"));
        meta["fashion"]!["train_accuracy"] = claim;
        meta["fashion"]!["per_class"] = 6;
        File.WriteAllText(Path.Combine(cell, "run.json"), meta.ToJsonString());
        Assert.Equal(ExitCodes.Done, Cli.Run(_s.Dir, "verify", "--quiet", "--only", "E.accuracy.,E.profile", cell).Code);
        var other = Rows();
        Assert.Equal("hypothesis not met", VerdictOf(other, "E.accuracy.train"));
        Assert.Contains("x.npy, y.npy and a.npy", other.ToJsonString());
        Assert.Equal("holds", VerdictOf(other, "E.profile"));
        // the counts restored but one training label changed in y.npy: the recount's labels would not be the trained ones
        meta["fashion"]!["per_class"] = 5;
        File.WriteAllText(Path.Combine(cell, "run.json"), meta.ToJsonString());
        var yArr = Npy.Read(Path.Combine(cell, "y.npy"));
        var y = yArr.Data;
        int c0 = Array.IndexOf(y, 1.0, 0, 10);
        y[c0] = 0.0; y[(c0 + 1) % 10] = 1.0;
        Npy.Write(Path.Combine(cell, "y.npy"), y, yArr.Shape);
        Assert.Equal(ExitCodes.Done, Cli.Run(_s.Dir, "verify", "--quiet", "--only", "E.accuracy.", cell).Code);
        Assert.Equal("hypothesis not met", VerdictOf(Rows(), "E.accuracy.train"));
    }

    /// <summary>A PyTorch fixture of tests/Properties copied into the scratch directory (found from the test's build directory).</summary>
    private string PyTorchFixture(string name)
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !Directory.Exists(Path.Combine(dir.FullName, "tests", "Properties", "fixtures", "pytorch"))) dir = dir.Parent;
        Assert.NotNull(dir);
        string from = Path.Combine(dir!.FullName, "tests", "Properties", "fixtures", "pytorch", name), to = _s.P(name);
        Directory.CreateDirectory(to);
        foreach (var f in Directory.GetFiles(from).Where(f => !f.EndsWith("verdicts.json", StringComparison.Ordinal))) File.Copy(f, Path.Combine(to, Path.GetFileName(f)));
        return to;
    }

    [Fact(DisplayName = "verify: a PyTorch run whose replay cannot be certified (E.replay hypothesis not met) → exit 0 with a note that what it could not certify was compared with no replay; a certified one → no note")]
    public void An_uncertified_replay_is_said_beside_exit_0()
    {
        var unstable = Cli.Run(_s.Dir, "verify", "--quiet", PyTorchFixture("tanh-iid-f64-unstable"), "--only", "E.replay");
        Assert.True(unstable.Code == ExitCodes.Done, unstable.ToString());
        Assert.Contains("note: E.replay on ", unstable.Err);
        Assert.Contains("exit 0 means that no comparison failed, not that the run was reproduced", unstable.Err);
        var certified = Cli.Run(_s.Dir, "verify", "--quiet", PyTorchFixture("gelu-iid-f64"), "--only", "E.replay");
        Assert.True(certified.Code == ExitCodes.Done, certified.ToString());
        Assert.DoesNotContain("note: E.replay", certified.Err);
    }
}
