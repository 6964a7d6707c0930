using System.Text.Json.Nodes;

namespace ResOdeProofs.Sweep.Tests;

/// <summary>
/// The real-data studies (src/Cli/Studies/fashion-*.toml): fashion-smoke runs every cell of the grid end to end on
/// Fashion-MNIST (the Debian package dataset-fashion-mnist, installed by CI; without it the cells fail and so does the
/// test), and the two cluster studies expand to the paper's grid. Plus the refusals of `train --arch bn-conv`.
/// </summary>
public class FashionStudyTests
{
    private static string Studies
    {
        get
        {
            for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
                if (File.Exists(Path.Combine(d.FullName, "ResOdeProofs.sln"))) return Path.Combine(d.FullName, "src", "Cli", "Studies");
            throw new DirectoryNotFoundException("the repository root (ResOdeProofs.sln) is not above the test assembly");
        }
    }

    [Fact(DisplayName = "fashion-smoke: every cell run, merged and verified → Table 1 and figure 3 on the page, claims recomputed; run.json's accuracy raised by 5 points → mismatch, exit 1; its smoothness in depth raised → E.profile violated")]
    public void FashionSmokeRunsEveryCellOfTheGrid()
    {
        var dir = Cli.TempDir("fashion-smoke");
        try
        {
            var out_ = Path.Combine(dir, "out");
            // six cells, each trained and verified (the folded checks included): minutes on a loaded machine, so a longer guard
            using var proc = Cli.Start(dir, null, "sweep", "run", Path.Combine(Studies, "fashion-smoke.toml"), "--out", out_, "--jobs", "2");
            var r = Cli.Finish(proc, TimeSpan.FromMinutes(15));
            Assert.True(r.Exit == 0, r.ToString());
            var runs = Directory.GetDirectories(Path.Combine(out_, "cells")).Select(c => Path.Combine(c, "run", "run.json")).ToList();
            Assert.Equal(6, runs.Count);
            var seen = new HashSet<(string, string)>();
            foreach (var p in runs)
            {
                var j = JsonNode.Parse(File.ReadAllText(p))!;
                Assert.Equal("bn-conv", j["kind"]!.GetValue<string>());
                seen.Add((j["activation"]!.GetValue<string>(), j["init"]!.GetValue<string>()));
                var epochs = j["epochs"]!.AsArray();
                Assert.Equal(2, epochs.Count);
                foreach (var e in epochs)
                {
                    double acc = e!["test_accuracy"]!.GetValue<double>(), loss = e["train_loss"]!.GetValue<double>();
                    Assert.True(acc >= 0 && acc <= 1 && double.IsFinite(loss) && loss > 0, $"{p}: epoch {e}");
                }
                Assert.True(File.Exists(Path.Combine(Path.GetDirectoryName(p)!, "params.npy")));
                Assert.True(File.Exists(Path.Combine(Path.GetDirectoryName(p)!, "verdicts.json")));
            }
            // identity, gelu, relu × tied, iid: the paper's grid, each once.
            Assert.Equal(6, seen.Count);
            var m = Cli.Run(dir, "sweep", "merge", out_);
            Assert.True(m.Exit == 0, m.ToString());
            // Table 1's layout: six rows; after 2 epochs the tied cells are still smooth by the stated criterion and the
            // i.i.d. ones are not (ρ ≈ √2·L for independent layers against √L = 2).
            var t = Cli.Run(dir, "sweep", "table1", out_);
            Assert.True(t.Exit == 0, t.ToString());
            var rows = t.Out.Split('\n').Where(l => l.StartsWith("| identity") || l.StartsWith("| gelu") || l.StartsWith("| relu")).ToList();
            Assert.Equal(6, rows.Count);
            Assert.All(rows.Where(l => l.Contains("| tied |")), l => Assert.EndsWith("| yes | agree |", l.TrimEnd()));
            Assert.All(rows.Where(l => l.Contains("| iid |")), l => Assert.EndsWith("| no | agree |", l.TrimEnd()));
            Assert.Contains("Smooth: smooth when", t.Out);
            StudyPageShowsTheRealDataSection(Path.Combine(out_, "report"));
            VerifyRowsOfABnConvRun(Path.GetDirectoryName(runs[0])!);
            CorruptedAccuracyIsCaught(dir, out_, runs[0]);
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    /// <summary>The merged page's real-data section, read as a reader reads report.md.</summary>
    private static void StudyPageShowsTheRealDataSection(string report)
    {
        var md = File.ReadAllText(Path.Combine(report, "report.md"));
        var lines = md.Split('\n');
        string Section(string heading)
        {
            int i = Array.FindIndex(lines, l => l.StartsWith(heading));
            Assert.True(i >= 0, $"report.md has no '{heading}'");
            return string.Join('\n', lines.Skip(i + 1).TakeWhile(l => !l.StartsWith("## ") && !l.StartsWith("### ")));
        }
        string[] Rows(string section, string first) => section.Split('\n').Where(l => l.StartsWith(first)).ToArray();
        // Table 1's layout: six rows, the smooth column by the criterion, each with its evidence rows
        var t1 = Section("## Real data: the paper's Table 1");
        var t1rows = Rows(t1, "| identity").Concat(Rows(t1, "| gelu")).Concat(Rows(t1, "| relu")).ToArray();
        Assert.Equal(6, t1rows.Length);
        Assert.All(t1rows, r => Assert.EndsWith("| recomputed: 2 of 2 claims agree |", r.TrimEnd()));
        Assert.All(t1rows.Where(r => r.Contains("| tied |")), r => Assert.Contains("| yes |", r));
        Assert.All(t1rows.Where(r => r.Contains("| iid |")), r => Assert.Contains("| no |", r));
        Assert.Contains("√L", t1);
        // figure 3's layout and the γ/β and per-epoch figures: referenced and written
        foreach (var act in new[] { "identity", "gelu", "relu" })
        {
            foreach (var name in new[] { $"bnconv-fig3-{act}-conv1", $"bnconv-fig3-{act}-conv2", $"bnconv-gamma-beta-{act}" })
            {
                Assert.Contains($"](figures/{name}.png)", md);
                Assert.True(new FileInfo(Path.Combine(report, "figures", name + ".png")).Length > 1000, name);
            }
        }
        // the mean over k of ‖ΔK_k‖: tied cells still equal across layers to float32 rounding, i.i.d. cells of order one
        var inc = Rows(Section("### Increments across depth"), "| tied[").Concat(Rows(Section("### Increments across depth"), "| iid[")).ToArray();
        Assert.Equal(6, inc.Length);
        double Col(string row, int j) => double.Parse(row.Split('|', StringSplitOptions.TrimEntries)[j + 1], System.Globalization.CultureInfo.InvariantCulture);
        Assert.All(inc.Where(r => r.StartsWith("| tied[")), r => Assert.True(Col(r, 4) < 1e-4 && Col(r, 7) < 1e-4, r));
        Assert.All(inc.Where(r => r.StartsWith("| iid[")), r => Assert.True(Col(r, 4) > 0.5 && Col(r, 7) > 0.5, r));
        // γ and β across layers: one row per cell
        Assert.Equal(6, Rows(Section("### Batch norm's γ and β across layers"), "| tied[").Length + Rows(Section("### Batch norm's γ and β across layers"), "| iid[").Length);
        // L·max_k‖ΔK_k‖ across epochs: two epochs per cell, the i.i.d. cells far above √L·max‖K‖ scale, the tied near 0
        var ep = Section("### L·max_k ‖ΔK_k‖ across epochs");
        Assert.All(Rows(ep, "| iid[").Concat(Rows(ep, "| tied[")), r => Assert.Equal(2, (int)Col(r, 4)));
        Assert.All(Rows(ep, "| iid["), r => Assert.True(Col(r, 6) > 1, r));
        Assert.All(Rows(ep, "| tied["), r => Assert.True(Col(r, 6) < 1e-3, r));
        // the folded network: B.half.ode holds for the tied cells and is flagged (hypothesis not met) for the i.i.d. ones
        var folded = Section("### The trained network with batch norm folded");
        Assert.Equal(3, Rows(folded, "| tied[").Count(r => r.Contains("| B.half.ode | [holds]")));
        Assert.Equal(3, Rows(folded, "| iid[").Count(r => r.Contains("| B.half.ode | [hypothesis not met]")));
        Assert.Equal(6, Rows(folded, "|").Count(r => r.Contains("| B.bound | [holds]")));
    }

    /// <summary>verify on one bn-conv cell: one row per result, none silently empty.</summary>
    private static void VerifyRowsOfABnConvRun(string run)
    {
        var v = JsonNode.Parse(File.ReadAllText(Path.Combine(run, "verdicts.json")))!["results"]!.AsArray();
        string Verdict(string id) => v.Single(r => r!["id"]!.GetValue<string>() == id)!["verdict"]!.GetValue<string>();
        // each id once: the results about gradient descent are not met, B.bound is evaluated on the folded network
        Assert.Equal(v.Count, v.Select(r => r!["id"]!.GetValue<string>()).Distinct().Count());
        Assert.DoesNotContain(v, r => r!["id"]!.GetValue<string>().StartsWith("G.", StringComparison.Ordinal));
        foreach (var id in new[] { "A.aposteriori", "A.split", "C.gdDecay", "B.bound.secant", "E.replay" })
        {
            Assert.Equal("hypothesis not met", Verdict(id));
            Assert.Contains("mini-batch SGD with momentum and batch norm is not gradient descent", v.Single(r => r!["id"]!.GetValue<string>() == id)!["detail"]!.GetValue<string>());
        }
        foreach (var id in new[] { "E.accuracy.train", "E.accuracy.test", "E.profile", "B.bound", "B.half" }) Assert.Equal("holds", Verdict(id));
        BnConvRunThroughTheOneVerifyPath(run, v);
    }

    /// <summary>
    /// A bn-conv run opened by the one run reader (Registry.loadRun) and verified by Registry.verifyOpen, as `verify` and
    /// `sweep merge` do for any run: the rows `verify` wrote, in order, with the Fashion-MNIST files read once.
    /// </summary>
    private static void BnConvRunThroughTheOneVerifyPath(string run, JsonArray written)
    {
        var opened = Theory.Registry.loadRun(run);
        var bn = Assert.IsType<Theory.Registry.OpenRun.BnConvRunOf>(opened);
        Assert.Equal("bn-conv", opened.Architecture);
        var rows = Theory.Registry.verifyOpen(Theory.Registry.selection(Microsoft.FSharp.Collections.FSharpList<string>.Empty), opened).ToList();
        Assert.Equal(1, bn.Item.DataReads);
        Assert.Equal(written.Select(r => (r!["id"]!.GetValue<string>(), r["verdict"]!.GetValue<string>(), r["detail"]!.GetValue<string>())),
                     rows.Select(r => (r.Id, r.Verdict, r.Detail)));
        // two bn-conv runs at once: each verified on its own (no rate results), as for runs of any architecture that are no ladder
        var ladder = Theory.Registry.verifyLadderOf(Microsoft.FSharp.Collections.ListModule.OfSeq(new[] { opened, Theory.Registry.loadRun(run) }));
        Assert.True(ladder.IsError && !ladder.ErrorValue.Item2, ladder.ToString());
    }

    /// <summary>run.json's test accuracy raised by 5 points: table1 and verify report the mismatch (exit 1); then its last smooth_conv1 raised: E.profile violated.</summary>
    private static void CorruptedAccuracyIsCaught(string dir, string out_, string runJson)
    {
        var j = JsonNode.Parse(File.ReadAllText(runJson))!;
        double claimed = j["final"]!["test_accuracy"]!.GetValue<double>();
        j["final"]!["test_accuracy"] = claimed + 0.05;
        File.WriteAllText(runJson, j.ToJsonString());
        var t = Cli.Run(dir, "sweep", "table1", out_);
        Assert.True(t.Exit == 1, t.ToString());
        Assert.Contains("MISMATCH in 1 of 1", t.Out);
        Assert.Contains("MISMATCH " + Path.GetDirectoryName(runJson), t.Out);
        var v = Cli.Run(dir, "verify", Path.GetDirectoryName(runJson)!);
        Assert.True(v.Exit == 1, v.ToString());
        Assert.Contains(v.Out.Split('\n'), l => l.Contains("E.accuracy.test") && l.Contains("VIOLATED"));
        Assert.Contains(v.Out.Split('\n'), l => l.Contains("E.accuracy.train") && l.Contains("holds"));
        Assert.Contains(v.Out.Split('\n'), l => l.Contains("E.profile") && l.Contains("holds"));
        // run.json's last-epoch L·max_k‖ΔK₁‖ raised by 1e-9 relative (and 1e-12 absolute, for a tied cell's 0): E.profile,
        // which recomputes it from params.npy, is violated
        var epochs = j["epochs"]!.AsArray();
        var last = epochs[epochs.Count - 1]!;
        last["smooth_conv1"] = last["smooth_conv1"]!.GetValue<double>() * (1 + 1e-9) + 1e-12;
        File.WriteAllText(runJson, j.ToJsonString());
        var p = Cli.Run(dir, "verify", Path.GetDirectoryName(runJson)!);
        Assert.True(p.Exit == 1, p.ToString());
        Assert.Contains(p.Out.Split('\n'), l => l.Contains("E.profile") && l.Contains("VIOLATED"));
    }

    /// <summary>`resode train --arch bn-conv` at depth 2 with 4 channels and batch 32, the rest from <paramref name="rest"/>.</summary>
    private static Cli.Result TrainTinyBnConv(string dir, params string[] rest) =>
        Cli.Run(dir, new[] { "train", "--arch", "bn-conv", "--depth", "2", "--channels", "4", "--batch", "32" }.Concat(rest).ToArray());

    /// <summary>Writes a study of tiny tied bn-conv cells (4 channels, one epoch of 64 images, batch 32, SGD, one thread, seed 0)
    /// with <paramref name="defaults"/> added to its defaults and one grid section, runs it with two jobs into dir/out
    /// (asserting exit 0) and returns that output.</summary>
    private static string RunTinyBnConvStudy(string dir, string name, string title, string[] defaults, string grid, string axis)
    {
        var toml = Path.Combine(dir, name + ".toml");
        File.WriteAllText(toml, string.Join("\n", new[]
            {
                $"name = \"{name}\"", $"title = \"{title}\"", "[defaults]", "arch = \"bn-conv\"", "optimizer = \"sgd\"", "threads = 1",
                "channels = 4", "epochs = 1", "batch = 32", "train-size = 64", "test-size = 64", "init = \"tied\"", "seed = 0",
            }.Concat(defaults).Concat(new[] { grid, axis, "" })));
        var out_ = Path.Combine(dir, "out");
        var r = Cli.Run(dir, "sweep", "run", toml, "--out", out_, "--jobs", "2");
        Assert.True(r.Exit == 0, r.ToString());
        return out_;
    }

    /// <summary>Two tied GELU cells that differ only in depth (L = 2, 4; 64 images, one epoch): the page's depth-ladder table.</summary>
    [Fact(DisplayName = "sweep merge: bn-conv cells at L = 2 and 4 → the depth-ladder table, one row per depth")]
    public void BnConvCellsOfTwoDepthsGetTheLadderTable()
    {
        var dir = Cli.TempDir("bnconv-ladder");
        try
        {
            var out_ = RunTinyBnConvStudy(dir, "bn-ladder-tiny", "tiny bn-conv ladder", new[] { "activation = \"gelu\"" }, "[grid.ladder]", "depth = [2, 4]");
            var m = Cli.Run(dir, "sweep", "merge", out_);
            Assert.True(m.Exit == 0, m.ToString());
            var md = File.ReadAllText(Path.Combine(out_, "report", "report.md")).Split('\n');
            int i = Array.FindIndex(md, l => l.StartsWith("### Depth ladder"));
            Assert.True(i >= 0, "no depth-ladder section");
            var rows = md.Skip(i + 1).TakeWhile(l => !l.StartsWith("#")).Where(l => l.StartsWith("| gelu | tied | 0 |")).ToList();
            Assert.Equal(2, rows.Count);
            Assert.StartsWith("| gelu | tied | 0 | 2 |", rows[0]);
            Assert.StartsWith("| gelu | tied | 0 | 4 |", rows[1]);
            // every quantity of the row was found (no "-" for a missing verdict row or constant)
            Assert.All(rows, row => Assert.DoesNotContain("| - |", row));
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Theory(DisplayName = "sweep: fashion cluster studies → expand to the paper's grid")]
    [InlineData("fashion-reduced", 12)]
    [InlineData("fashion-paper", 30)]
    [InlineData("fashion-ladder", 12)]
    public void ClusterStudiesExpandToThePapersGrid(string name, int cells)
    {
        var dir = Cli.TempDir(name);
        try
        {
            var r = Cli.Run(dir, "sweep", "slurm", Path.Combine(Studies, name + ".toml"), "--out", Path.Combine(dir, "out"), "--dry-run");
            Assert.True(r.Exit == 0, r.ToString());
            Assert.Contains($"for {cells} cells", r.Out);
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Theory(DisplayName = "train --arch bn-conv: an option that does not apply → exit 2")]
    [InlineData("--arch", "bn-conv", "--eta", "0.1")]
    [InlineData("--arch", "bn-conv", "--init", "smooth")]
    [InlineData("--arch", "bn-conv", "--optimizer", "gd")]
    [InlineData("--arch", "bn-conv", "--threads", "2")]
    [InlineData("--arch", "bn-conv", "--data", "cifar-10")]
    [InlineData("--arch", "mlp", "--epochs", "3")]
    public void BnConvRefusesOptionsThatDoNotApply(params string[] args)
    {
        var dir = Cli.TempDir("bnconv-refuse");
        try
        {
            var r = Cli.Run(dir, new[] { "train" }.Concat(args).Concat(new[] { "--out", "run" }).ToArray());
            Assert.True(r.Exit == 2, r.ToString());
            Assert.False(Directory.Exists(Path.Combine(dir, "run")));
            Assert.DoesNotContain("   at ", r.Err);
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Fact(DisplayName = "train --arch bn-conv --data-dir: the run records the directory and its images' checksums → verify reads those images (E.accuracy holds); the directory's test images changed since → verify refuses, exit 2")]
    public void ARunTrainedWithADataDirIsVerifiedOnItsOwnImages()
    {
        const string fashion = "/usr/share/datasets/fashion-mnist";
        var dir = Cli.TempDir("bnconv-datadir");
        try
        {
            // a data directory whose test files are the training files (other images than the default test set)
            var alt = Path.Combine(dir, "alt");
            Directory.CreateDirectory(alt);
            foreach (var f in new[] { "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz" }) File.Copy(Path.Combine(fashion, f), Path.Combine(alt, f));
            File.Copy(Path.Combine(fashion, "train-images-idx3-ubyte.gz"), Path.Combine(alt, "t10k-images-idx3-ubyte.gz"));
            File.Copy(Path.Combine(fashion, "train-labels-idx1-ubyte.gz"), Path.Combine(alt, "t10k-labels-idx1-ubyte.gz"));
            var t = TrainTinyBnConv(dir, "--epochs", "1", "--train-size", "96", "--test-size", "160", "--data-dir", "alt", "--out", "run");
            Assert.True(t.Exit == 0, t.ToString());
            var j = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "run", "run.json")))!;
            Assert.Equal(Path.GetFullPath(alt), j["data_dir"]!.GetValue<string>());
            Assert.Equal(64, j["test_sha256"]!.GetValue<string>().Length);
            var v = Cli.Run(dir, "verify", "run", "--only", "E.accuracy.");
            Assert.True(v.Exit == 0, v.ToString());
            // the directory's test files replaced by the default test set: other images than the run's
            File.Copy(Path.Combine(fashion, "t10k-images-idx3-ubyte.gz"), Path.Combine(alt, "t10k-images-idx3-ubyte.gz"), overwrite: true);
            File.Copy(Path.Combine(fashion, "t10k-labels-idx1-ubyte.gz"), Path.Combine(alt, "t10k-labels-idx1-ubyte.gz"), overwrite: true);
            var w = Cli.Run(dir, "verify", "run", "--only", "E.accuracy.");
            Assert.True(w.Exit == 2, w.ToString());
            Assert.Contains("test_sha256", w.Err);
            Assert.DoesNotContain("   at ", w.Err);
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Fact(DisplayName = "verify on a bn-conv run: a negative running variance, a missing or mistyped depth in run.json → exit 2 naming the entry or the key (not a NaN recount, a tool error or a null reference)")]
    public void ABrokenBnConvRunIsRefusedNamingWhatIsWrong()
    {
        var dir = Cli.TempDir("bnconv-broken");
        try
        {
            var t = TrainTinyBnConv(dir, "--epochs", "1", "--train-size", "64", "--test-size", "64", "--out", "run");
            Assert.True(t.Exit == 0, t.ToString());
            string Copy(string name)
            {
                var to = Path.Combine(dir, name);
                Directory.CreateDirectory(to);
                foreach (var f in new[] { "run.json", "params.npy", "statistics.npy" }) File.Copy(Path.Combine(dir, "run", f), Path.Combine(to, f));
                return to;
            }
            // statistics: (mean, var) per batch norm b, C entries each; entry C + 1 is the stem's second running variance
            var nv = Copy("nv");
            var stats = ResOdeProofs.Numerics.IO.Npy.Read(Path.Combine(nv, "statistics.npy"), "statistics", -1).Data;
            stats[4 + 1] = -1.0;
            File.Delete(Path.Combine(nv, "statistics.npy"));
            ResOdeProofs.Numerics.IO.Npy.Write(Path.Combine(nv, "statistics.npy"), stats, stats.Length);
            var a = Cli.Run(dir, "verify", "nv");
            Assert.True(a.Exit == 2, a.ToString());
            Assert.Contains("statistics.npy", a.Err);
            Assert.Contains("running variance", a.Err);
            foreach (var (name, edit, key) in new (string, Func<string, string>, string)[]
                     {
                         ("nodepth", j => System.Text.RegularExpressions.Regex.Replace(j, "\"depth\": 2,", ""), "\"depth\" is missing"),
                         ("strdepth", j => System.Text.RegularExpressions.Regex.Replace(j, "\"depth\": 2,", "\"depth\": \"2\","), "\"depth\" is \"2\", not a positive integer"),
                     })
            {
                var d = Copy(name);
                var text = File.ReadAllText(Path.Combine(d, "run.json"));
                var changed = edit(text);
                Assert.NotEqual(text, changed);
                File.WriteAllText(Path.Combine(d, "run.json"), changed);
                var r = Cli.Run(dir, "verify", name);
                Assert.True(r.Exit == 2, r.ToString());
                Assert.Contains(key, r.Err);
                Assert.DoesNotContain("Object reference", r.Err);
            }
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Fact(DisplayName = "train --arch bn-conv: --lr 1000 → DIVERGED, exit 3, a readable run directory with status diverged (no JSON exception, no checkpoint left); verify reads it")]
    public void ADivergingBnConvRunIsWrittenWithItsStatus()
    {
        var dir = Cli.TempDir("bnconv-diverged");
        try
        {
            var t = TrainTinyBnConv(dir, "--epochs", "3", "--train-size", "64", "--test-size", "64", "--lr", "1000", "--out", "div");
            Assert.True(t.Exit == 3, t.ToString());
            Assert.Contains("DIVERGED", t.Err);
            Assert.DoesNotContain("JSON", t.Err);
            var j = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "div", "run.json")))!;
            Assert.Equal("diverged", j["status"]!.GetValue<string>());
            Assert.False(File.Exists(Path.Combine(dir, ".div.bn-conv-checkpoint")));
            var v = Cli.Run(dir, "verify", "div");
            Assert.True(v.Exit == 0, v.ToString());
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Fact(DisplayName = "sweep run: a bn-conv cell with threads = 2 or epochs = 0 (settings train refuses) → exit 2 when the study is read, no cell started")]
    public void ABnConvCellTrainWouldRefuseStopsTheStudyBeforeAnyCell()
    {
        var dir = Cli.TempDir("bnconv-refused");
        try
        {
            foreach (var (line, expect) in new[] { ("threads = 2", "one thread"), ("epochs = 0", "epoch") })
            {
                var toml = Path.Combine(dir, "s.toml");
                File.WriteAllText(toml, string.Join("\n",
                    "name = \"bn-refused\"", "title = \"a bn-conv cell train refuses\"", "[defaults]", "arch = \"bn-conv\"", "optimizer = \"sgd\"",
                    "channels = 4", "batch = 32", "train-size = 64", "test-size = 64", "activation = \"gelu\"", "init = \"tied\"", "seed = 0",
                    line.StartsWith("epochs") ? "threads = 1" : "epochs = 1", line, "[grid.one]", "depth = [2]", ""));
                var out_ = Path.Combine(dir, "out-" + line[..6]);
                var r = Cli.Run(dir, "sweep", "run", toml, "--out", out_, "--jobs", "1");
                Assert.True(r.Exit == 2, r.ToString());
                Assert.Contains(expect, r.Err);
                Assert.False(Directory.Exists(Path.Combine(out_, "cells")) && Directory.EnumerateFileSystemEntries(Path.Combine(out_, "cells")).Any(), "a cell was started");
            }
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Fact(DisplayName = "sweep merge: a bn-conv cell whose params.npy was truncated → that cell failed with the reason, the report written from the other (exit 3; --partial exit 0), not the whole merge refused")]
    public void ADamagedBnConvCellFailsAloneInTheMerge()
    {
        var dir = Cli.TempDir("bnconv-damaged");
        try
        {
            var out_ = RunTinyBnConvStudy(dir, "bn-two", "two tiny bn-conv cells", new[] { "depth = 2" }, "[grid.acts]", "activation = [\"gelu\", \"relu\"]");
            var cell = Directory.GetDirectories(Path.Combine(out_, "cells")).OrderBy(x => x, StringComparer.Ordinal).First();
            using (var f = new FileStream(Path.Combine(cell, "run", "params.npy"), FileMode.Open)) f.SetLength(f.Length - 64);
            var m = Cli.Run(dir, "sweep", "merge", out_);
            Assert.True(m.Exit == 3, m.ToString());
            Assert.Contains("its run cannot be read", m.Out + m.Err);
            Assert.True(File.Exists(Path.Combine(out_, "report", "report.md")));
            var p = Cli.Run(dir, "sweep", "merge", out_, "--partial");
            Assert.True(p.Exit == 0, p.ToString());
        }
        finally { Directory.Delete(dir, recursive: true); }
    }
}
