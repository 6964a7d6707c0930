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

    [Fact(DisplayName = "sweep run fashion-smoke: → every cell of the grid runs")]
    public void FashionSmokeRunsEveryCellOfTheGrid()
    {
        var dir = Cli.TempDir("fashion-smoke");
        try
        {
            var out_ = Path.Combine(dir, "out");
            var r = Cli.Run(dir, "sweep", "run", Path.Combine(Studies, "fashion-smoke.toml"), "--out", out_, "--jobs", "2");
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
            Assert.All(rows.Where(l => l.Contains("| tied |")), l => Assert.EndsWith("| yes |", l.TrimEnd()));
            Assert.All(rows.Where(l => l.Contains("| iid |")), l => Assert.EndsWith("| no |", l.TrimEnd()));
            Assert.Contains("Smooth: smooth when", t.Out);
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Theory(DisplayName = "sweep: fashion cluster studies → expand to the paper's grid")]
    [InlineData("fashion-reduced", 12)]
    [InlineData("fashion-paper", 30)]
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
}
