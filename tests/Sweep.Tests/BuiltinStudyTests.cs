using System.Text.Json.Nodes;

namespace ResOdeProofs.Sweep.Tests;

/// <summary>Built-in studies (src/Cli/Studies/*.toml), study features they use, and the engine identity in the cell hash.</summary>
public sealed class BuiltinStudyTests
{
    [Fact(DisplayName = "sweep: built-in studies → listed, printed and run by name")]
    public void Built_in_studies_are_listed_printed_and_run_by_name()
    {
        string root = Cli.TempDir("builtin");
        try
        {
            var list = Cli.Run(root, "sweep", "show");
            Assert.True(list.Exit == 0, list.ToString());
            foreach (var name in new[] { "example", "quick", "paper", "tiny" }) Assert.Contains(name + ": ", list.Out);

            // `sweep show example` prints what `sweep init` writes, byte for byte
            var show = Cli.Run(root, "sweep", "show", "example");
            Assert.True(Cli.Run(root, "sweep", "init", "mine.toml").Exit == 0);
            Assert.Equal(File.ReadAllText(Path.Combine(root, "mine.toml")), show.Out);

            var nope = Cli.Run(root, "sweep", "show", "nope");
            Assert.Equal(2, nope.Exit);
            Assert.Contains("no built-in study named 'nope'", nope.Err);

            // run by name: the output keeps the study's text, and every cell records the engine identity its hash covers
            var run = Cli.Run(root, "sweep", "run", "example", "--out", "ex-out", "--jobs", "2");
            Assert.True(run.Exit == 0, run.ToString());
            Assert.Equal(show.Out, File.ReadAllText(Path.Combine(root, "ex-out", "study.toml")));
            var cells = Directory.GetDirectories(Path.Combine(root, "ex-out", "cells"));
            Assert.Equal(6, cells.Length);
            foreach (var c in cells)
            {
                var j = JsonNode.Parse(File.ReadAllText(Path.Combine(c, "cell.json")))!;
                string id = j["engine_identity"]!.GetValue<string>(), commit = j["engine_commit"]!.GetValue<string>();
                // a clean build is named by its commit; a dirty or unknown one by the content of the tool's assemblies
                if (commit == "unknown" || commit.EndsWith("+dirty", StringComparison.Ordinal)) Assert.Matches("^content:[0-9a-f]{16}$", id);
                else Assert.Equal("commit:" + commit, id);
            }
            var merge = Cli.Run(root, "sweep", "merge", "ex-out");
            Assert.True(merge.Exit == 0, merge.ToString());
            var r = JsonNode.Parse(File.ReadAllText(Path.Combine(root, "ex-out", "report", "results.json")))!;
            Assert.Equal("resode-report/3", r["format"]!.GetValue<string>());
            Assert.Equal("study", r["kind"]!.GetValue<string>());
            Assert.Contains("id=\"headline\"", File.ReadAllText(Path.Combine(root, "ex-out", "report", "index.html")));
            Assert.True(Directory.GetFiles(Path.Combine(root, "ex-out", "report", "docs", "theorems"), "*.html").Length > 5); // the pages the verdicts link to

            var missing = Cli.Run(root, "sweep", "run", "no-such-study", "--out", "x");
            Assert.Equal(2, missing.Exit);
            Assert.Contains("no built-in study of that name", missing.Err);
        }
        finally { Directory.Delete(root, true); }
    }

    [Fact(DisplayName = "sweep study: snapshot steps and overrides → set what they say; bad ones → refused")]
    public void Snapshot_steps_and_overrides_set_what_they_say_and_bad_ones_are_refused()
    {
        string root = Cli.TempDir("steps");
        try
        {
            File.WriteAllText(Path.Combine(root, "s.toml"),
                "name = \"s\"\n[grid.g]\nn = 6\nd = 3\nwidth = 4\niters = 12\ndepth = [2, 4]\nseed = 5\nsnapshot-steps = \"0..12/5,11\"\n[overrides]\nseed = 7\n");
            var run = Cli.Run(root, "sweep", "run", "s.toml", "--out", "o", "--jobs", "1");
            Assert.True(run.Exit == 0, run.ToString());
            foreach (var c in Directory.GetDirectories(Path.Combine(root, "o", "cells")))
            {
                var cell = JsonNode.Parse(File.ReadAllText(Path.Combine(c, "cell.json")))!;
                Assert.Equal("7", cell["settings"]!["seed"]!.GetValue<string>()); // the override wins over the grid
                var steps = ResOdeProofs.Numerics.IO.Npy.Read(Path.Combine(c, "run", "steps.npy")).Data;
                Assert.Equal(new double[] { 0, 5, 10, 11, 12 }, steps);
            }
            foreach (var bad in new[] { "5..2", "0..13", "0..10/0", "x", "" })
            {
                var r = Cli.Run(root, "train", "--depth", "2", "--width", "4", "--n", "6", "--d", "3", "--iters", "12", "--snapshot-steps", bad, "--out", "bad");
                Assert.True(r.Exit == 2, $"'{bad}': {r}");
                Assert.False(Directory.Exists(Path.Combine(root, "bad")));
            }
        }
        finally { Directory.Delete(root, true); }
    }
}
