using System.Text.Json.Nodes;

namespace ResOdeProofs.Sweep.Tests;

/// <summary>Resuming and retrying cells, the checks made before any work, and the exit codes of run and merge.</summary>
[Collection("baseline study")]
public sealed class ResumeTests(BaselineStudy baseline)
{
    private static string[] Cells(string outDir) => Directory.GetDirectories(Path.Combine(outDir, "cells")).OrderBy(d => d, StringComparer.Ordinal).ToArray();

    [Fact(DisplayName = "sweep run: an interrupted cell and a failed cell (--retry-failed) with a file of the user's in run/ and a partial directory without resode's marker → run/ kept as run.attempt-K and said so, the unmarked partial left, the marked one removed")]
    public void Resuming_keeps_a_run_directory_holding_a_file_of_the_users()
    {
        string root = Cli.TempDir("userfile");
        try
        {
            string outDir = Path.Combine(root, "out");
            Compare.CopyDirectory(baseline.Out, outDir);
            var cells = Cells(outDir);
            // cell 0 interrupted (no status), cell 1 failed; both with the user's notes in run/
            File.Delete(Path.Combine(cells[0], "status.json"));
            string failed = Path.Combine(cells[1], "status.json");
            File.WriteAllText(failed, "{\"status\": \"failed\", \"reason\": \"test\"}");
            foreach (var c in cells[..2]) File.WriteAllText(Path.Combine(c, "run", "notes.txt"), "my notes");
            string mine = Path.Combine(cells[0], ".run.partial-user0001"), ours = Path.Combine(cells[0], ".run.partial-0dead001");
            Directory.CreateDirectory(mine);
            File.WriteAllText(Path.Combine(mine, "keep.txt"), "mine");
            Directory.CreateDirectory(ours);
            File.WriteAllText(Path.Combine(ours, ResOdeProofs.Numerics.IO.OutputClaim.PartialMarkerName), "999999\n");
            // cell 2 interrupted with run/ as resode wrote it: removed as before
            File.Delete(Path.Combine(cells[2], "status.json"));
            var run = Cli.Run(root, "sweep", "run", baseline.StudyPath, "--out", outDir, "--retry-failed", "--jobs", "2");
            Assert.True(run.Exit == 0 && run.Out.Contains("3 cells run (3 done"), run.ToString());
            foreach (var c in cells[..2])
            {
                Assert.Equal("my notes", File.ReadAllText(Path.Combine(c, "run.attempt-1", "notes.txt")));
                Assert.False(File.Exists(Path.Combine(c, "run", "notes.txt")));
                Assert.True(File.Exists(Path.Combine(c, "run", "verdicts.json")));
                Assert.Contains("run.attempt-1", File.ReadAllText(Path.Combine(c, "log.txt")));
            }
            Assert.Contains("run.attempt-1", run.Err);
            Assert.Equal("mine", File.ReadAllText(Path.Combine(mine, "keep.txt")));
            Assert.False(Directory.Exists(ours));
            Assert.False(Directory.Exists(Path.Combine(cells[2], "run.attempt-1")));
        }
        finally { Directory.Delete(root, recursive: true); }
    }

    [Fact(DisplayName = "sweep run: a finished cell whose cell.json is not JSON, with and without --retry-failed → not run, the advice to move it away (not --retry-failed), exit 3, nothing in it changed")]
    public void A_cell_with_an_unreadable_cell_json_is_not_retried()
    {
        string root = Cli.TempDir("badcelljson");
        try
        {
            string outDir = Path.Combine(root, "out");
            Compare.CopyDirectory(baseline.Out, outDir);
            string cell = Cells(outDir)[0];
            File.WriteAllText(Path.Combine(cell, "cell.json"), "garbage");
            File.WriteAllText(Path.Combine(cell, "run", "notes.txt"), "my notes");
            var before = Directory.GetFileSystemEntries(cell, "*", SearchOption.AllDirectories).Order().ToList();
            var plain = Cli.Run(root, "sweep", "run", baseline.StudyPath, "--out", outDir);
            Assert.True(plain.Exit == 3 && !plain.Out.Contains("--retry-failed") && plain.Err.Contains($"move {cell} away"), plain.ToString());
            var retry = Cli.Run(root, "sweep", "run", baseline.StudyPath, "--out", outDir, "--retry-failed");
            Assert.True(retry.Exit == 3 && retry.Out.Contains("0 cells run") && retry.Err.Contains($"move {cell} away"), retry.ToString());
            Assert.DoesNotContain("unexpectedly", retry.Out + retry.Err);
            Assert.Equal(before, Directory.GetFileSystemEntries(cell, "*", SearchOption.AllDirectories).Order().ToList());
            Assert.Equal("garbage", File.ReadAllText(Path.Combine(cell, "cell.json")));
            Assert.Equal("my notes", File.ReadAllText(Path.Combine(cell, "run", "notes.txt")));
        }
        finally { Directory.Delete(root, recursive: true); }
    }

    [Fact(DisplayName = "sweep merge: a finished cell whose w.npy is truncated → the closing advice is to move the cell away, not --retry-failed (which does not rerun it)")]
    public void Merge_advises_moving_away_a_cell_whose_run_cannot_be_read()
    {
        string root = Cli.TempDir("truncadvice");
        try
        {
            string outDir = Path.Combine(root, "out");
            Compare.CopyDirectory(baseline.Out, outDir);
            string w = Path.Combine(Cells(outDir)[0], "run", "w.npy");
            File.WriteAllBytes(w, File.ReadAllBytes(w)[..100]);
            var merge = Cli.Run(root, "sweep", "merge", outDir);
            Assert.True(merge.Exit == 3, merge.ToString());
            string last = merge.Err.Trim().Split('\n')[^1];
            Assert.DoesNotContain("--retry-failed", last);
            Assert.Contains("move away", last, StringComparison.OrdinalIgnoreCase);
        }
        finally { Directory.Delete(root, recursive: true); }
    }

    [Fact(DisplayName = "sweep run: a data file that is not a .npy (text in x.npy) → exit 2 naming the file before any work, nothing written")]
    public void A_data_file_that_is_not_npy_is_refused_when_the_study_is_read()
    {
        string root = Cli.TempDir("badnpy");
        try
        {
            File.WriteAllText(Path.Combine(root, "bad.npy"), "this is not an array\n");
            ResOdeProofs.Numerics.IO.Npy.Write(Path.Combine(root, "y.npy"), new double[8 * 3], 8, 3);
            string study = Path.Combine(root, "s.toml");
            File.WriteAllText(study, "name = \"bad\"\n[defaults]\nx = \"bad.npy\"\ny = \"y.npy\"\nn = 8\nd = 3\nwidth = 4\niters = 4\n[grid.g]\ndepth = [3, 4]\n");
            var r = Cli.Run(root, "sweep", "run", study, "--out", Path.Combine(root, "out"));
            Assert.True(r.Exit == 2 && r.Err.Contains("bad.npy") && r.Err.Contains("not a .npy file"), r.ToString());
            Assert.DoesNotContain("   at ", r.Err);
            Assert.False(Directory.Exists(Path.Combine(root, "out")));
        }
        finally { Directory.Delete(root, recursive: true); }
    }

    [Fact(DisplayName = "sweep run: x of 9 rows against y of 8, or an integer y → exit 2 naming the files before any work, nothing written")]
    public void Data_files_that_do_not_fit_together_are_refused_when_the_study_is_read()
    {
        string root = Cli.TempDir("badshape");
        try
        {
            ResOdeProofs.Numerics.IO.Npy.Write(Path.Combine(root, "x.npy"), new double[9 * 3], 9, 3);
            ResOdeProofs.Numerics.IO.Npy.Write(Path.Combine(root, "y.npy"), new double[8 * 3], 8, 3);
            ResOdeProofs.Numerics.IO.Npy.WriteInt64(Path.Combine(root, "yi.npy"), new long[9 * 3], 9, 3);
            foreach (var (y, expect) in new[] { ("y.npy", "9 inputs"), ("yi.npy", "integer type") })
            {
                string study = Path.Combine(root, "s.toml");
                File.WriteAllText(study, $"name = \"bad\"\n[defaults]\nx = \"x.npy\"\ny = \"{y}\"\nd = 3\nwidth = 4\niters = 4\n[grid.g]\ndepth = [3, 4]\n");
                var r = Cli.Run(root, "sweep", "run", study, "--out", Path.Combine(root, "out"));
                Assert.True(r.Exit == 2 && r.Err.Contains(y) && r.Err.Contains(expect), r.ToString());
                Assert.DoesNotContain("   at ", r.Err);
                Assert.False(Directory.Exists(Path.Combine(root, "out")));
            }
        }
        finally { Directory.Delete(root, recursive: true); }
    }

    [Fact(DisplayName = "sweep run: an interrupted cell whose claim names a live process of this host but was last touched 2 hours ago → the claim is stale, the cell run")]
    public void A_claim_untouched_for_longer_than_stale_after_is_taken_over_even_with_a_live_pid()
    {
        string root = Cli.TempDir("staleclaim");
        try
        {
            string outDir = Path.Combine(root, "out");
            Compare.CopyDirectory(baseline.Out, outDir);
            string cell = Cells(outDir)[0];
            File.Delete(Path.Combine(cell, "status.json"));
            // this test process is alive and is not a resode writer (a reused pid)
            string claim = Path.Combine(cell, ".claim");
            File.WriteAllText(claim, new JsonObject { ["host"] = Environment.MachineName, ["pid"] = Environment.ProcessId, ["utc"] = DateTime.UtcNow.AddHours(-2).ToString("O") }.ToJsonString());
            File.SetLastWriteTimeUtc(claim, DateTime.UtcNow.AddHours(-2));
            var status = Cli.Run(root, "sweep", "status", outDir);
            Assert.True(status.Exit == 0 && status.Out.Contains("0 running"), status.ToString());
            var run = Cli.Run(root, "sweep", "run", baseline.StudyPath, "--out", outDir);
            Assert.True(run.Exit == 0 && run.Out.Contains("1 cells run (1 done") && run.Out.Contains("0 held by other processes"), run.ToString());
            Assert.False(File.Exists(claim));
        }
        finally { Directory.Delete(root, recursive: true); }
    }

    [Fact(DisplayName = "sweep run, merge: a study with a violated cell and a failed cell → exit 1 (a violated result ahead of a failure, as verify), merge --partial too")]
    public void A_violated_result_wins_over_a_failed_cell()
    {
        string root = Cli.TempDir("mixed");
        try
        {
            string study = Path.Combine(root, "m.toml");
            File.WriteAllText(study, "name = \"m\"\n[defaults]\nn = 8\nd = 3\nwidth = 4\niters = 10\neta = 0.01\nsnapshots = 3\nthreads = 1\ninit = \"tied\"\ndepth = 4\n[grid.fault]\ninject-fault = \"stale-gradient\"\n[grid.div]\neta = 1e6\n");
            string outDir = Path.Combine(root, "out");
            var run = Cli.Run(root, "sweep", "run", study, "--out", outDir, "--jobs", "2");
            Assert.True(run.Exit == 1 && run.Out.Contains("1 with a violated result, 1 failed"), run.ToString());
            var again = Cli.Run(root, "sweep", "run", study, "--out", outDir);
            Assert.True(again.Exit == 1, again.ToString());
            var merge = Cli.Run(root, "sweep", "merge", outDir);
            Assert.True(merge.Exit == 1 && merge.Err.Contains("incomplete"), merge.ToString());
            var partial = Cli.Run(root, "sweep", "merge", outDir, "--partial");
            Assert.True(partial.Exit == 1, partial.ToString());
        }
        finally { Directory.Delete(root, recursive: true); }
    }

    [Fact(DisplayName = "sweep slurm --dry-run: every cell finished, one whose cell.json is not JSON → nothing submitted, that cell counted apart with the advice to move it away, not --retry-failed")]
    public void Slurm_does_not_advise_retrying_a_cell_with_an_unreadable_cell_json()
    {
        string root = Cli.TempDir("slurmcelljson");
        try
        {
            string outDir = Path.Combine(root, "out");
            Compare.CopyDirectory(baseline.Out, outDir);
            File.WriteAllText(Path.Combine(Cells(outDir)[0], "cell.json"), "garbage");
            var r = Cli.Run(root, "sweep", "slurm", baseline.StudyPath, "--out", outDir, "--dry-run");
            Assert.True(r.Exit == 0 && r.Err.Contains("nothing submitted"), r.ToString());
            Assert.Contains("1 whose cell.json does not describe it: move it away", r.Err);
            Assert.DoesNotContain("--retry-failed", r.Err);
        }
        finally { Directory.Delete(root, recursive: true); }
    }

    [Theory(DisplayName = "sweep slurm --dry-run: a --time Slurm does not accept → exit 2 before anything is written; its accepted forms → the script")]
    [InlineData("bogus", false)]
    [InlineData("1:2:3:4", false)]
    [InlineData("-5", false)]
    [InlineData("90", true)]
    [InlineData("30:00", true)]
    [InlineData("01:00:00", true)]
    [InlineData("2-12", true)]
    [InlineData("2-12:30", true)]
    [InlineData("1-00:00:00", true)]
    public void Slurm_checks_the_time_limit_before_writing_anything(string time, bool accepted)
    {
        string root = Cli.TempDir("slurmtime");
        try
        {
            string outDir = Path.Combine(root, "out");
            var r = Cli.Run(root, "sweep", "slurm", baseline.StudyPath, "--out", outDir, "--dry-run", "--time", time);
            if (accepted)
                Assert.True(r.Exit == 0 && File.ReadAllText(Path.Combine(outDir, "slurm", "sweep.sbatch")).Contains($"#SBATCH --time={time}\n"), r.ToString());
            else
            {
                Assert.True(r.Exit == 2 && r.Err.Contains("--time"), r.ToString());
                Assert.False(Directory.Exists(outDir));
            }
        }
        finally { Directory.Delete(root, recursive: true); }
    }
}
