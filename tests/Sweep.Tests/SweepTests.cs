using System.Text.Json.Nodes;

namespace ResOdeProofs.Sweep.Tests;

[Collection("baseline study")]
public sealed class SweepTests(BaselineStudy baseline)
{
    [Fact(DisplayName = "sweep run: baseline study → every cell runs, merged with the ladder")]
    public void Baseline_runs_every_cell_and_merges_them_with_the_ladder()
    {
        Assert.True(baseline.RunResult.Exit == 0, baseline.RunResult.ToString());
        Assert.True(baseline.MergeResult.Exit == 0, baseline.MergeResult.ToString());
        var r = JsonNode.Parse(File.ReadAllText(Path.Combine(baseline.Out, "report", "results.json")))!;
        Assert.Equal(4, r["counts"]!["done"]!.GetValue<int>());
        Assert.Equal(0, r["counts"]!["missing"]!.GetValue<int>());
        var ladders = r["ladders"]!.AsArray();
        Assert.Equal(2, ladders.Count); // seeds 0 and 1, each a ladder L = 4, 8
        Assert.All(ladders, l => Assert.Equal("evaluated", l!["status"]!.GetValue<string>()));
        Assert.All(ladders, l => Assert.NotEmpty(l!["verdicts"]!.AsArray()));
        Assert.All(r["cells"]!.AsArray(), c => Assert.NotEmpty(c!["verdicts"]!.AsArray()));
        // Each cell's rows in the report are its verdicts.json rows, read back without loss (only the input names the cell).
        foreach (var c in r["cells"]!.AsArray())
        {
            string hash = c!["hash"]!.GetValue<string>();
            var own = JsonNode.Parse(File.ReadAllText(Path.Combine(baseline.Out, "cells", hash, "run", "verdicts.json")))!["results"]!.AsArray();
            var shown = c["verdicts"]!.AsArray();
            Assert.Equal(own.Count, shown.Count);
            for (int i = 0; i < own.Count; i++)
            {
                // the report's form of a row: the same fields and numbers, the verdict as a lower-case key, the input naming the cell
                var (a, b) = (own[i]!, shown[i]!);
                Assert.Equal($"cells/{hash}/run", b["input"]!.GetValue<string>());
                Assert.Equal(a["verdict"]!.GetValue<string>().ToLowerInvariant().Replace(' ', '_'), b["verdict"]!.GetValue<string>());
                foreach (var k in new[] { "id", "title", "doc", "measured", "measured_inf", "bound", "bound_inf", "tightness_min", "tightness_min_inf", "tightness_max", "tightness_max_inf",
                                          "tightness_min_at", "tightness_max_at", "detail", "hypotheses", "constants", "notes" })
                    Assert.True(Canon(a[k])?.ToJsonString() == Canon(b[k])?.ToJsonString(), $"{hash} row {i} ({a["id"]}): {k} differs: {a[k]?.ToJsonString()} vs {b[k]?.ToJsonString()}");
            }
        }
        foreach (var f in new[] { "index.html", "report.md" }) Assert.True(new FileInfo(Path.Combine(baseline.Out, "report", f)).Length > 500, f);
        // The cell directory names are 16 hex digits of a hash, one per setting.
        var names = Directory.GetDirectories(Path.Combine(baseline.Out, "cells")).Select(Path.GetFileName).ToList();
        Assert.Equal(4, names.Count);
        Assert.All(names, n => Assert.Matches("^[0-9a-f]{16}$", n));
    }

    /// <summary>JSON with every number re-read as a double (so that "1.0E-5" and "1E-05" compare equal).</summary>
    private static JsonNode? Canon(JsonNode? n) => n switch
    {
        JsonObject o => new JsonObject(o.Select(kv => KeyValuePair.Create(kv.Key, Canon(kv.Value)))),
        JsonArray a => new JsonArray(a.Select(Canon).ToArray()),
        JsonValue v when v.GetValueKind() == System.Text.Json.JsonValueKind.Number => JsonValue.Create(v.GetValue<double>()),
        null => null,
        _ => n.DeepClone(),
    };

    /// <summary>
    /// Three shards as separate processes, started at once on one output directory, the shard index taken from
    /// a CI matrix variable, from Kubernetes' JOB_COMPLETION_INDEX and given explicitly: merged, the same as one machine.
    /// </summary>
    [Fact(DisplayName = "sweep --shard: shards as separate processes → merge equals the single-machine result bit for bit")]
    public void Shards_as_separate_processes_merge_to_the_single_machine_result_bit_for_bit()
    {
        string root = Cli.TempDir("shards");
        try
        {
            string outDir = Path.Combine(root, "out");
            var procs = new[]
            {
                Cli.Start(root, new Dictionary<string, string> { ["RESODE_SHARD_INDEX"] = "0" }, "sweep", "run", baseline.StudyPath, "--out", outDir, "--shard", "auto/3", "--jobs", "1"),
                Cli.Start(root, new Dictionary<string, string> { ["JOB_COMPLETION_INDEX"] = "1" }, "sweep", "run", baseline.StudyPath, "--out", outDir, "--shard", "auto/3", "--jobs", "1"),
                Cli.Start(root, null, "sweep", "run", baseline.StudyPath, "--out", outDir, "--shard", "2/3", "--jobs", "1"),
            };
            var results = procs.Select(p => Cli.Finish(p, TimeSpan.FromMinutes(5))).ToArray();
            foreach (var p in procs) p.Dispose();
            Assert.All(results, r => Assert.True(r.Exit == 0, r.ToString()));
            // Cells 0..3 split as {0, 3}, {1}, {2}.
            Assert.Contains("shard 0/3: study 'ci': 2 of 4 cells", results[0].Out);
            Assert.Contains("shard 1/3: study 'ci': 1 of 4 cells", results[1].Out);
            Assert.Contains("shard 2/3: study 'ci': 1 of 4 cells", results[2].Out);
            var merge = Cli.Run(root, "sweep", "merge", outDir);
            Assert.True(merge.Exit == 0, merge.ToString());
            Assert.Empty(Compare.Studies(baseline.Out, outDir));

            // The comparison can fail: one flipped bit in one array of one cell is found.
            string copy = Path.Combine(root, "copy");
            Compare.CopyDirectory(outDir, copy);
            string w = Directory.GetFiles(Path.Combine(copy, "cells"), "w.npy", SearchOption.AllDirectories).Order().First();
            var bytes = File.ReadAllBytes(w);
            bytes[^3] ^= 1;
            File.WriteAllBytes(w, bytes);
            Assert.Contains(Compare.Studies(baseline.Out, copy), d => d.Contains("w.npy: bytes differ"));
        }
        finally { Directory.Delete(root, recursive: true); }
    }

    /// <summary>
    /// The baseline ran its four cells in two long-lived worker processes (two cells each). Run again one process per cell
    /// (`sweep exec-cell`, a fresh process that compiles everything anew): every file of every run is the same, so a
    /// worker's earlier cells leave nothing behind that changes a later one; and each cell's log holds its own commands only.
    /// The two workers each saw half of the processors (at least one), the lone processes all of them, as status.json
    /// records: a cell's numbers do not depend on the processors its process sees.
    /// </summary>
    [Fact(DisplayName = "sweep run: cells sharing a worker process, each worker with its share of the cores → the same bits as one process per cell with all of them, one log per cell")]
    public void Cells_sharing_a_worker_process_give_the_same_bits_as_one_process_per_cell()
    {
        Assert.True(baseline.RunResult.Exit == 0, baseline.RunResult.ToString());
        int share = Math.Max(1, Environment.ProcessorCount / 2); // the baseline ran with --jobs 2
        foreach (var cell in Directory.GetDirectories(Path.Combine(baseline.Out, "cells")))
        {
            var log = File.ReadAllLines(Path.Combine(cell, "log.txt"));
            Assert.Single(log, l => l.StartsWith("resode train ", StringComparison.Ordinal));
            Assert.Single(log, l => l == "resode verify --quiet run --evidence-columns evidence-columns.csv");
            Assert.Equal(share, Processors(cell));
        }
        string root = Cli.TempDir("separate");
        try
        {
            string outDir = Path.Combine(root, "out");
            Compare.CopyDirectory(baseline.Out, outDir);
            foreach (var cell in Directory.GetDirectories(Path.Combine(outDir, "cells")))
            {
                Directory.Delete(Path.Combine(cell, "run"), recursive: true);
                File.Delete(Path.Combine(cell, "status.json"));
                File.Delete(Path.Combine(cell, "log.txt"));
                var one = Cli.Run(root, "sweep", "exec-cell", cell);
                Assert.True(one.Exit == 0, one.ToString());
                Assert.Equal(Environment.ProcessorCount, Processors(cell));
            }
            var merge = Cli.Run(root, "sweep", "merge", outDir);
            Assert.True(merge.Exit == 0, merge.ToString());
            Assert.Empty(Compare.Studies(baseline.Out, outDir));
        }
        finally { Directory.Delete(root, recursive: true); }
    }

    private static int Processors(string cell) =>
        JsonNode.Parse(File.ReadAllText(Path.Combine(cell, "status.json")))!["processors"]!.GetValue<int>();

    [Fact(DisplayName = "sweep run: rerun → finished cells skipped; a changed setting → a new cell")]
    public void A_rerun_skips_finished_cells_and_a_changed_setting_is_a_new_cell()
    {
        string root = Cli.TempDir("resume");
        try
        {
            string outDir = Path.Combine(root, "out");
            Compare.CopyDirectory(baseline.Out, outDir);
            var again = Cli.Run(root, "sweep", "run", baseline.StudyPath, "--out", outDir);
            Assert.True(again.Exit == 0, again.ToString());
            Assert.Contains("0 cells run (0 done, 0 with a violated result, 0 failed), 4 finished earlier", again.Out);

            // One more seed: the four finished cells are kept, two new ones run.
            string changed = Path.Combine(root, "changed.toml");
            File.WriteAllText(changed, BaselineStudy.Text.Replace("seed = \"0..1\"", "seed = \"0..2\""));
            var more = Cli.Run(root, "sweep", "run", changed, "--out", outDir, "--jobs", "2");
            Assert.True(more.Exit == 0, more.ToString());
            Assert.Contains("2 cells run (2 done, 0 with a violated result, 0 failed), 4 finished earlier", more.Out);
            Assert.Equal(6, Directory.GetDirectories(Path.Combine(outDir, "cells")).Length);
        }
        finally { Directory.Delete(root, recursive: true); }
    }

    [Fact(DisplayName = "sweep: a study with data files beside it → status, merge and the array task's run of the output's own copy find the files; without the recorded folder they do not")]
    public void A_data_file_study_is_read_from_its_output()
    {
        string root = Cli.TempDir("data");
        try
        {
            string studyDir = Path.Combine(root, "study");
            Directory.CreateDirectory(studyDir);
            var rng = new Random(5);
            double[] Draw(int count) => Enumerable.Range(0, count).Select(_ => rng.NextDouble() - 0.5).ToArray();
            ResOdeProofs.Numerics.IO.Npy.Write(Path.Combine(studyDir, "x.npy"), Draw(8 * 3), 8, 3);
            ResOdeProofs.Numerics.IO.Npy.Write(Path.Combine(studyDir, "y.npy"), Draw(8 * 3), 8, 3);
            string study = Path.Combine(studyDir, "data.toml");
            File.WriteAllText(study, "name = \"data\"\n[defaults]\nx = \"x.npy\"\ny = \"y.npy\"\nn = 8\nd = 3\nwidth = 4\niters = 10\neta = 0.01\nsnapshots = 3\nthreads = 1\n[grid.g]\ninit = \"tied\"\ndepth = [3, 4]\n");
            string outDir = Path.Combine(root, "out");
            var run = Cli.Run(root, "sweep", "run", study, "--out", outDir);
            Assert.True(run.Exit == 0, run.ToString());
            // the copy in the output is read against the study's folder wherever it is read
            var status = Cli.Run(root, "sweep", "status", outDir);
            Assert.True(status.Exit == 0 && status.Out.Contains("2 done"), status.ToString());
            var merge = Cli.Run(root, "sweep", "merge", outDir);
            Assert.True(merge.Exit == 0, merge.ToString());
            var task = Cli.Run(outDir, "sweep", "run", Path.Combine(outDir, "study.toml"), "--out", outDir);
            Assert.True(task.Exit == 0 && task.Out.Contains("2 finished earlier"), task.ToString());
            // negative control: without the recorded folder the copy's relative paths point into the output
            File.Delete(Path.Combine(outDir, "study.base"));
            var lost = Cli.Run(root, "sweep", "status", outDir);
            Assert.True(lost.Exit == 2 && lost.Err.Contains("no such data file"), lost.ToString());
        }
        finally { Directory.Delete(root, recursive: true); }
    }

    [Fact(DisplayName = "sweep run: a failed cell → log kept, listed by merge, a run again without --retry-failed exit 3, runs again with --retry-failed")]
    public void A_failed_cell_keeps_its_log_and_status_is_listed_by_merge_and_runs_again_with_retry_failed()
    {
        string root = Cli.TempDir("failed");
        try
        {
            string study = Path.Combine(root, "study.toml");
            // eta = 1e6 diverges at once: train stops with status diverged and exit code 3.
            File.WriteAllText(study, "name = \"fails\"\n[grid.g]\nn = 8\nd = 3\nwidth = 4\niters = 8\ndepth = 4\neta = [0.01, 1e6]\n");
            string outDir = Path.Combine(root, "out");
            var run = Cli.Run(root, "sweep", "run", study, "--out", outDir, "--jobs", "2");
            Assert.True(run.Exit == 3, run.ToString());
            Assert.Contains("1 failed", run.Out);
            string failedCell = Directory.GetDirectories(Path.Combine(outDir, "cells"))
                .Single(d => JsonNode.Parse(File.ReadAllText(Path.Combine(d, "status.json")))!["status"]!.GetValue<string>() == "failed");
            Assert.Contains("diverged", File.ReadAllText(Path.Combine(failedCell, "log.txt")));
            Assert.Contains("exit code 3", File.ReadAllText(Path.Combine(failedCell, "status.json")));

            var merge = Cli.Run(root, "sweep", "merge", outDir);
            Assert.True(merge.Exit == 3, merge.ToString());
            Assert.Contains("failed:  g[eta=1000000]", merge.Err);
            Assert.Contains("eta=1000000", File.ReadAllText(Path.Combine(outDir, "report", "report.md")));
            var partial = Cli.Run(root, "sweep", "merge", outDir, "--partial");
            Assert.True(partial.Exit == 0, partial.ToString());

            // Without --retry-failed the failed cell is left alone; with it, it runs again and the first attempt is kept.
            var rerun = Cli.Run(root, "sweep", "run", study, "--out", outDir);
            Assert.Contains("0 cells run", rerun.Out);
            // the failed cell still fails the study (user test: a resubmitted shard exited 0), and the line says what to do
            Assert.True(rerun.Exit == 3, rerun.ToString());
            Assert.Contains("1 of them failed: run again with --retry-failed", rerun.Out);
            var retry = Cli.Run(root, "sweep", "run", study, "--out", outDir, "--retry-failed");
            Assert.True(retry.Exit == 3, retry.ToString());
            Assert.Contains("1 cells run (0 done, 0 with a violated result, 1 failed)", retry.Out);
            Assert.True(File.Exists(Path.Combine(failedCell, "log.attempt-1.txt")));
            Assert.True(File.Exists(Path.Combine(failedCell, "status.attempt-1.json")));
            Assert.True(File.Exists(Path.Combine(failedCell, "log.txt")));
        }
        finally { Directory.Delete(root, recursive: true); }
    }

    [Fact(DisplayName = "sweep run, slurm, merge: another study's output or report → exit 2, nothing changed (study.toml, marker, report kept)")]
    public void Another_studys_output_or_report_is_refused()
    {
        string root = Cli.TempDir("otherstudy");
        try
        {
            string a = Path.Combine(root, "a.toml"), b = Path.Combine(root, "b.toml");
            File.WriteAllText(a, "name = \"first\"\n[grid.g]\nn = 6\nd = 3\nwidth = 4\niters = 2\ndepth = [2, 4]\n");
            File.WriteAllText(b, "name = \"second\"\n[grid.g]\nn = 6\nd = 3\nwidth = 4\niters = 2\ndepth = [2]\n");
            string outA = Path.Combine(root, "outA"), outB = Path.Combine(root, "outB");
            Assert.Equal(0, Cli.Run(root, "sweep", "run", a, "--out", outA, "--jobs", "1").Exit);
            Assert.Equal(0, Cli.Run(root, "sweep", "merge", outA).Exit);
            Assert.Equal(0, Cli.Run(root, "sweep", "run", b, "--out", outB, "--jobs", "1").Exit);
            string Snap(string d) => string.Join("\n", Directory.GetFiles(d, "*", SearchOption.AllDirectories).Where(f => !f.Contains("cells")).Order()
                .Select(f => f + ":" + Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(f)))));
            string before = Snap(outA);
            // user test: the second study was taken in as "another version", and its merge left the first's cells out
            var run = Cli.Run(root, "sweep", "run", b, "--out", outA, "--jobs", "1");
            Assert.True(run.Exit == 2, run.ToString());
            Assert.Contains("holds the study 'first'", run.Err);
            var slurm = Cli.Run(root, "sweep", "slurm", b, "--out", outA, "--dry-run");
            Assert.True(slurm.Exit == 2, slurm.ToString());
            // user test: merge --out onto another study's report replaced it
            var merge = Cli.Run(root, "sweep", "merge", outB, "--out", Path.Combine(outA, "report"));
            Assert.True(merge.Exit == 2, merge.ToString());
            Assert.Contains("not a report of study 'second'", merge.Err);
            Assert.Equal(before, Snap(outA));
        }
        finally { Directory.Delete(root, recursive: true); }
    }

    /// <summary>The processes whose parent is <paramref name="parent"/> (Linux /proc).</summary>
    private static List<int> Children(int parent) =>
        Directory.GetDirectories("/proc").Select(Path.GetFileName).Where(n => n!.All(char.IsDigit)).Select(n => int.Parse(n!))
            .Where(pid =>
            {
                try
                {
                    string stat = File.ReadAllText($"/proc/{pid}/stat");
                    return int.Parse(stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[1]) == parent;
                }
                catch (Exception e) when (e is IOException or FormatException or UnauthorizedAccessException) { return false; }
            }).ToList();

    private static bool Alive(int pid) => File.Exists($"/proc/{pid}/stat") && !File.ReadAllText($"/proc/{pid}/stat").Contains(") Z ");

    [Fact(DisplayName = "sweep run: SIGTERM → exit 3 and its cell workers ended; SIGKILL → the orphaned worker ends itself (no process keeps writing a claimed cell)")]
    public void A_stopped_or_killed_run_leaves_no_worker_writing_its_cells()
    {
        if (!OperatingSystem.IsLinux()) return; // /proc and POSIX signals
        string root = Cli.TempDir("stop");
        try
        {
            string study = Path.Combine(root, "long.toml");
            File.WriteAllText(study, "name = \"long\"\n[grid.g]\nn = 8\nd = 3\nwidth = 4\niters = 100000000\nsnapshots = 2\ndepth = 8\n");
            foreach (int signal in new[] { 15, 9 })
            {
                string outDir = Path.Combine(root, $"out{signal}");
                using var p = Cli.Start(root, null, "sweep", "run", study, "--out", outDir, "--jobs", "1");
                // the cell is running once its log says the training started
                var sw = System.Diagnostics.Stopwatch.StartNew();
                List<int> workers = new();
                while (sw.Elapsed < TimeSpan.FromSeconds(60))
                {
                    workers = Children(p.Id);
                    var logs = Directory.Exists(Path.Combine(outDir, "cells")) ? Directory.GetFiles(Path.Combine(outDir, "cells"), "log.txt", SearchOption.AllDirectories) : [];
                    if (workers.Count > 0 && logs.Any(l => new FileInfo(l).Length > 0)) break;
                    Thread.Sleep(100);
                }
                Assert.NotEmpty(workers);
                Assert.Equal(0, kill(p.Id, signal));
                if (signal == 15)
                {
                    var r = Cli.Finish(p, TimeSpan.FromSeconds(60));
                    Assert.True(r.Exit == 3, r.ToString());
                }
                else p.WaitForExit(10_000);
                // user test: the worker kept running (reparented to pid 1) and wrote the cell while a new run took it over
                var until = System.Diagnostics.Stopwatch.StartNew();
                while (workers.Any(Alive) && until.Elapsed < TimeSpan.FromSeconds(20)) Thread.Sleep(100);
                Assert.False(workers.Any(Alive), $"signal {signal}: worker(s) {string.Join(", ", workers.Where(Alive))} still running");
            }
        }
        finally { Directory.Delete(root, recursive: true); }
    }

    [System.Runtime.InteropServices.DllImport("libc", SetLastError = true)]
    private static extern int kill(int pid, int sig);

    [Fact(DisplayName = "sweep status, run, merge: a done cell whose verdicts.json was removed → failed to all three, run again by --retry-failed, then merged")]
    public void A_done_cell_without_its_verdicts_is_failed_everywhere_and_retried()
    {
        string root = Cli.TempDir("noverdicts");
        try
        {
            string outDir = Path.Combine(root, "out");
            Compare.CopyDirectory(baseline.Out, outDir);
            string cell = Directory.GetDirectories(Path.Combine(outDir, "cells")).Order().First();
            File.Delete(Path.Combine(cell, "run", "verdicts.json"));
            // user test: status and run said done (6 finished earlier, exit 0), merge said failed, and nothing re-ran it
            var status = Cli.Run(root, "sweep", "status", outDir);
            Assert.Contains("1 failed", status.Out);
            Assert.Contains("run/verdicts.json is missing", status.Out);
            var run = Cli.Run(root, "sweep", "run", Path.Combine(outDir, "study.toml"), "--out", outDir);
            Assert.True(run.Exit == 3, run.ToString());
            var merge = Cli.Run(root, "sweep", "merge", outDir);
            Assert.True(merge.Exit == 3, merge.ToString());
            Assert.Contains("run/verdicts.json is missing (run the study again with --retry-failed)", merge.Err);
            var retry = Cli.Run(root, "sweep", "run", Path.Combine(outDir, "study.toml"), "--out", outDir, "--retry-failed");
            Assert.True(retry.Exit == 0, retry.ToString());
            Assert.True(File.Exists(Path.Combine(cell, "run", "verdicts.json")));
            Assert.Equal(0, Cli.Run(root, "sweep", "merge", outDir).Exit);
        }
        finally { Directory.Delete(root, recursive: true); }
    }

    [Theory(DisplayName = "sweep run: an integer option given as a float (depth = 4.0), or a list with a value twice ([4, 4]) → exit 2 before any cell, nothing written")]
    [InlineData("depth = 4.0", "takes an integer: write 4, not 4")]
    [InlineData("depth = [4, 4]", "4 is given twice")]
    public void A_float_for_an_integer_or_a_repeated_value_is_refused(string line, string message)
    {
        string root = Cli.TempDir("tomlint");
        try
        {
            string study = Path.Combine(root, "s.toml");
            File.WriteAllText(study, $"name = \"s\"\n[grid.g]\nn = 6\nd = 3\nwidth = 4\niters = 2\n{line}\n");
            var run = Cli.Run(root, "sweep", "run", study, "--out", Path.Combine(root, "out"));
            Assert.True(run.Exit == 2, run.ToString());
            Assert.Contains(message, run.Err);
            Assert.False(Directory.Exists(Path.Combine(root, "out")));
        }
        finally { Directory.Delete(root, recursive: true); }
    }

    [Fact(DisplayName = "sweep merge: cells of another engine version → refused")]
    public void Merge_refuses_cells_of_another_engine_version()
    {
        string root = Cli.TempDir("engine");
        try
        {
            string outDir = Path.Combine(root, "out");
            Compare.CopyDirectory(baseline.Out, outDir);
            Assert.Equal(0, Cli.Run(root, "sweep", "merge", outDir).Exit);
            string cell = Directory.GetDirectories(Path.Combine(outDir, "cells")).Order().First();
            string cj = Path.Combine(cell, "cell.json");
            var o = JsonNode.Parse(File.ReadAllText(cj))!;
            o["engine_version"] = "0.0.1-older";
            File.WriteAllText(cj, o.ToJsonString());
            var merge = Cli.Run(root, "sweep", "merge", outDir);
            Assert.True(merge.Exit == 2, merge.ToString());
            Assert.Contains("never mixes engine versions", merge.Err);
            Assert.DoesNotContain("   at ", merge.Err);
        }
        finally { Directory.Delete(root, recursive: true); }
    }

    [Fact(DisplayName = "sweep merge: its earlier report holding a file of the user's → exit 2 naming the replacement it refused (not an option never given), the file kept")]
    public void Merge_refuses_to_replace_a_report_holding_a_users_file_in_its_own_words()
    {
        string root = Cli.TempDir("mergekeep");
        try
        {
            string outDir = Path.Combine(root, "out");
            Compare.CopyDirectory(baseline.Out, outDir);
            string notes = Path.Combine(outDir, "report", "notes.txt");
            File.WriteAllText(notes, "my reading of the report");
            var merge = Cli.Run(root, "sweep", "merge", outDir);
            Assert.True(merge.Exit == 2, merge.ToString());
            // user test: the refusal said "--force refused" to a command that has no --force
            Assert.Contains("replacing the earlier report of `sweep merge` refused", merge.Err);
            Assert.DoesNotContain("--force", merge.Err);
            Assert.Contains("notes.txt", merge.Err);
            Assert.Equal("my reading of the report", File.ReadAllText(notes));
        }
        finally { Directory.Delete(root, recursive: true); }
    }

    [Fact(DisplayName = "sweep merge: a cell's run verified again with verify --only → that cell listed as failed with the reason, not merged as done")]
    public void Merge_does_not_take_a_cell_verified_with_only_as_done()
    {
        string root = Cli.TempDir("only");
        try
        {
            string outDir = Path.Combine(root, "out");
            Compare.CopyDirectory(baseline.Out, outDir);
            string cell = Directory.GetDirectories(Path.Combine(outDir, "cells")).Order().First();
            var verify = Cli.Run(root, "verify", "--quiet", Path.Combine(cell, "run"), "--only", "I.loss");
            Assert.True(verify.Exit == 0, verify.ToString());
            var merge = Cli.Run(root, "sweep", "merge", outDir);
            Assert.True(merge.Exit == 3, merge.ToString());
            Assert.Contains("verify --only I.loss", merge.Err);
            // the closing advice: verify again (rerunning the cell with --retry-failed would change nothing: it finished)
            Assert.Contains("Verify the runs listed above again without --only", merge.Err);
            Assert.DoesNotContain("--retry-failed", merge.Err);
            var r = JsonNode.Parse(File.ReadAllText(Path.Combine(outDir, "report", "results.json")))!;
            Assert.Equal(1, r["counts"]!["failed"]!.GetValue<int>());
            // a selection edited by hand into something other than strings → the same listing, no stack trace
            string vpath = Path.Combine(cell, "run", "verdicts.json");
            var edited = JsonNode.Parse(File.ReadAllText(vpath))!;
            edited["selection"] = new JsonArray(1, null);
            File.WriteAllText(vpath, edited.ToJsonString());
            var odd = Cli.Run(root, "sweep", "merge", outDir);
            Assert.True(odd.Exit == 3, odd.ToString());
            Assert.Contains("verify --only 1,", odd.Err);
            Assert.DoesNotContain("   at ", odd.Err);
            // a verdicts.json edited by hand is the user's: verify does not replace it (exit 2) until it is moved away
            Assert.Equal(2, Cli.Run(root, "verify", "--quiet", Path.Combine(cell, "run")).Exit);
            File.Delete(vpath);
            // the whole verification again → merged as before
            Assert.Equal(0, Cli.Run(root, "verify", "--quiet", Path.Combine(cell, "run")).Exit);
            Assert.Equal(0, Cli.Run(root, "sweep", "merge", outDir).Exit);
        }
        finally { Directory.Delete(root, recursive: true); }
    }

    [Fact(DisplayName = "sweep merge: a cell's verdicts.json that is a JSON array, or a status.json whose seconds is a string → that cell listed as failed (or its seconds 0), no crash, no stack trace")]
    public void Merge_lists_a_cell_with_unreadable_files_as_failed()
    {
        string root = Cli.TempDir("odd");
        try
        {
            string outDir = Path.Combine(root, "out");
            Compare.CopyDirectory(baseline.Out, outDir);
            var cells = Directory.GetDirectories(Path.Combine(outDir, "cells")).Order().ToList();
            File.WriteAllText(Path.Combine(cells[0], "run", "verdicts.json"), "[]");
            var status = JsonNode.Parse(File.ReadAllText(Path.Combine(cells[1], "status.json")))!;
            status["seconds"] = "NaN";
            File.WriteAllText(Path.Combine(cells[1], "status.json"), status.ToJsonString());
            var merge = Cli.Run(root, "sweep", "merge", outDir);
            Assert.True(merge.Exit == 3, merge.ToString());
            Assert.Contains("not a verdicts file", merge.Err);
            Assert.DoesNotContain("   at ", merge.Err);
            var r = JsonNode.Parse(File.ReadAllText(Path.Combine(outDir, "report", "results.json")))!;
            Assert.Equal(1, r["counts"]!["failed"]!.GetValue<int>());
        }
        finally { Directory.Delete(root, recursive: true); }
    }

    [Fact(DisplayName = "sweep merge: a finished cell's cell.json not JSON, with a number for its engine version, of another cell, or with other train arguments → that cell listed as failed with what is wrong, no crash; as the sweep wrote it → merged")]
    public void Merge_lists_a_cell_whose_cell_json_does_not_describe_it_as_failed()
    {
        string root = Cli.TempDir("celljson");
        try
        {
            string outDir = Path.Combine(root, "out");
            Compare.CopyDirectory(baseline.Out, outDir);
            var cells = Directory.GetDirectories(Path.Combine(outDir, "cells")).Order().ToList();
            JsonNode Read(string cell) => JsonNode.Parse(File.ReadAllText(Path.Combine(cell, "cell.json")))!;
            void Write(string cell, JsonNode o) => File.WriteAllText(Path.Combine(cell, "cell.json"), o.ToJsonString());
            File.WriteAllText(Path.Combine(cells[0], "cell.json"), "{ \"format\": \"resode-cell/1\", ");
            var engine = Read(cells[1]);
            engine["engine_version"] = 7;
            Write(cells[1], engine);
            var other = Read(cells[2]);
            other["hash"] = Path.GetFileName(cells[3]);
            Write(cells[2], other);
            // the arguments the run was trained with: another depth than the study's for this cell
            var args = Read(cells[3]);
            var list = args["train_arguments"]!.AsArray();
            int at = list.Select(a => a!.GetValue<string>()).ToList().IndexOf("--depth");
            list[at + 1] = list[at + 1]!.GetValue<string>() == "4" ? "8" : "4";
            Write(cells[3], args);
            var merge = Cli.Run(root, "sweep", "merge", outDir);
            Assert.True(merge.Exit == 3, merge.ToString());
            Assert.DoesNotContain("   at ", merge.Err);
            Assert.DoesNotContain("unexpectedly", merge.Err);
            var r = JsonNode.Parse(File.ReadAllText(Path.Combine(outDir, "report", "results.json")))!;
            Assert.Equal(4, r["counts"]!["failed"]!.GetValue<int>());
            var reasons = r["failed"]!.AsArray().ToDictionary(c => c!["hash"]!.GetValue<string>(), c => c!["reason"]!.GetValue<string>());
            Assert.Contains("not a cell description", reasons[Path.GetFileName(cells[0])]);
            Assert.Contains("not a cell description", reasons[Path.GetFileName(cells[1])]);
            Assert.Contains($"describes cell {Path.GetFileName(cells[3])}", reasons[Path.GetFileName(cells[2])]);
            Assert.Contains("train arguments are not the study's", reasons[Path.GetFileName(cells[3])]);
            Assert.All(cells, c => Assert.Contains($"({Path.GetFileName(c)})", merge.Err));
            // cell.json as the sweep wrote it → merged as before
            foreach (var c in cells) File.Copy(Path.Combine(baseline.Out, "cells", Path.GetFileName(c), "cell.json"), Path.Combine(c, "cell.json"), overwrite: true);
            var again = Cli.Run(root, "sweep", "merge", outDir);
            Assert.True(again.Exit == 0, again.ToString());
        }
        finally { Directory.Delete(root, recursive: true); }
    }

    [Fact(DisplayName = "sweep status, merge: a cell's status.json and verdicts.json with values of the wrong type → the cells listed as failed, no crash")]
    public void Status_and_merge_read_values_of_the_wrong_type_as_absent()
    {
        string root = Cli.TempDir("wrongtype");
        try
        {
            string outDir = Path.Combine(root, "out");
            Compare.CopyDirectory(baseline.Out, outDir);
            var cells = Directory.GetDirectories(Path.Combine(outDir, "cells")).Order().ToList();
            JsonNode Read(string path) => JsonNode.Parse(File.ReadAllText(path))!;
            void Edit(string path, Action<JsonNode> change) { var o = Read(path); change(o); File.WriteAllText(path, o.ToJsonString()); }
            // a status that is not a string, with a reason and a CPU time of the wrong types
            Edit(Path.Combine(cells[0], "status.json"), o => { o["status"] = 5; o["reason"] = 7; o["cpu_seconds"] = "many"; });
            // verdicts without an engine version as a string (a run.json of the wrong types is the run reader's to refuse,
            // RunDirectoryTests)
            Edit(Path.Combine(cells[1], "run", "verdicts.json"), o => o["engine_version"] = 3);
            var status = Cli.Run(root, "sweep", "status", outDir);
            Assert.True(status.Exit == 0, status.ToString());
            Assert.Contains($"failed  ", status.Out);
            Assert.Contains($"({Path.GetFileName(cells[0])})", status.Out);
            var merge = Cli.Run(root, "sweep", "merge", outDir);
            Assert.True(merge.Exit == 3, merge.ToString());
            Assert.DoesNotContain("   at ", merge.Err);
            Assert.DoesNotContain("unexpectedly", merge.Err);
            var r = Read(Path.Combine(outDir, "report", "results.json"));
            Assert.Equal(2, r["counts"]!["failed"]!.GetValue<int>());
            var reasons = r["failed"]!.AsArray().ToDictionary(c => c!["hash"]!.GetValue<string>(), c => c!["reason"]!.GetValue<string>());
            Assert.Contains("status.json says \"5\" without a reason", reasons[Path.GetFileName(cells[0])]);
            Assert.Contains("records no engine version", reasons[Path.GetFileName(cells[1])]);
        }
        finally { Directory.Delete(root, recursive: true); }
    }

    [Fact(DisplayName = "sweep merge: a finished cell whose run.json is not JSON and one whose w.npy is truncated → those cells failed with the reader's reason, the others merged, exit 3")]
    public void Merge_fails_the_cells_whose_run_cannot_be_read()
    {
        string root = Cli.TempDir("badrun");
        try
        {
            string outDir = Path.Combine(root, "out");
            Compare.CopyDirectory(baseline.Out, outDir);
            var cells = Directory.GetDirectories(Path.Combine(outDir, "cells")).Order().ToList();
            File.WriteAllText(Path.Combine(cells[0], "run", "run.json"), "{ \"activation\": ");
            string w = Path.Combine(cells[1], "run", "w.npy");
            var bytes = File.ReadAllBytes(w);
            File.WriteAllBytes(w, bytes[..(bytes.Length / 2)]);
            var merge = Cli.Run(root, "sweep", "merge", outDir);
            Assert.True(merge.Exit == 3, merge.ToString());
            Assert.DoesNotContain("   at ", merge.Err);
            Assert.DoesNotContain("unexpectedly", merge.Err);
            var r = JsonNode.Parse(File.ReadAllText(Path.Combine(outDir, "report", "results.json")))!;
            Assert.Equal(2, r["counts"]!["failed"]!.GetValue<int>());
            var reasons = r["failed"]!.AsArray().ToDictionary(c => c!["hash"]!.GetValue<string>(), c => c!["reason"]!.GetValue<string>());
            Assert.Contains("its run cannot be read", reasons[Path.GetFileName(cells[0])]);
            Assert.Contains("run.json", reasons[Path.GetFileName(cells[0])]);
            Assert.Contains("its run cannot be read", reasons[Path.GetFileName(cells[1])]);
            Assert.Contains("w.npy", reasons[Path.GetFileName(cells[1])]);
            // the other cells' verdicts are still merged
            Assert.Equal(cells.Count - 2, r["counts"]!["done"]!.GetValue<int>());
        }
        finally { Directory.Delete(root, recursive: true); }
    }

    /// <summary>The first cell's w.npy with its last data byte changed (still a readable run, of other weights) and the
    /// second cell's verdicts.json with one measured value rewritten (still JSON, no longer as verify wrote it).</summary>
    private static void ChangeRunAndVerdicts(List<string> cells)
    {
        string w = Path.Combine(cells[0], "run", "w.npy");
        var bytes = File.ReadAllBytes(w);
        bytes[^1] ^= 0x01;
        File.WriteAllBytes(w, bytes);
        string v = Path.Combine(cells[1], "run", "verdicts.json");
        var text = File.ReadAllText(v);
        int at = text.IndexOf("\"measured\": ", StringComparison.Ordinal) + "\"measured\": ".Length;
        File.WriteAllText(v, text[..at] + "1.5E-15" + text[text.IndexOfAny(new[] { ',', '\n' }, at)..]);
    }

    [Fact(DisplayName = "sweep merge: a finished cell whose w.npy had one byte changed and one whose verdicts.json was edited by hand → those cells failed (the run changed since it was verified; the seal), the others merged, exit 3")]
    public void Merge_takes_verdicts_only_of_the_bytes_they_were_reached_on()
    {
        string root = Cli.TempDir("tampered");
        try
        {
            string outDir = Path.Combine(root, "out");
            Compare.CopyDirectory(baseline.Out, outDir);
            var cells = Directory.GetDirectories(Path.Combine(outDir, "cells")).Order().ToList();
            ChangeRunAndVerdicts(cells);
            var merge = Cli.Run(root, "sweep", "merge", outDir);
            Assert.True(merge.Exit == 3, merge.ToString());
            Assert.DoesNotContain("   at ", merge.Err);
            var r = JsonNode.Parse(File.ReadAllText(Path.Combine(outDir, "report", "results.json")))!;
            Assert.Equal(2, r["counts"]!["failed"]!.GetValue<int>());
            var reasons = r["failed"]!.AsArray().ToDictionary(c => c!["hash"]!.GetValue<string>(), c => c!["reason"]!.GetValue<string>());
            Assert.Contains("changed since its verdicts.json was written", reasons[Path.GetFileName(cells[0])]);
            Assert.Contains("no longer matches its content_sha256 seal", reasons[Path.GetFileName(cells[1])]);
            Assert.Equal(cells.Count - 2, r["counts"]!["done"]!.GetValue<int>());
        }
        finally { Directory.Delete(root, recursive: true); }
    }

    [Fact(DisplayName = "sweep status: a finished cell whose w.npy had one byte changed and one whose verdicts.json was edited → both listed failed with the reason merge gives; verified again, the first is done")]
    public void Status_reads_a_cell_as_merge_does_when_its_run_or_verdicts_changed()
    {
        string root = Cli.TempDir("tamperedstatus");
        try
        {
            string outDir = Path.Combine(root, "out");
            Compare.CopyDirectory(baseline.Out, outDir);
            var cells = Directory.GetDirectories(Path.Combine(outDir, "cells")).Order().ToList();
            ChangeRunAndVerdicts(cells);
            var status = Cli.Run(root, "sweep", "status", outDir);
            Assert.True(status.Exit == 0, status.ToString());
            Assert.Contains($"{cells.Count - 2} done, 0 running, 2 failed", status.Out);
            string Line(string cell) => status.Out.Split('\n').Single(l => l.Contains($"({Path.GetFileName(cell)})"));
            Assert.StartsWith("  failed", Line(cells[0]));
            Assert.Contains("changed since its verdicts.json was written", Line(cells[0]));
            Assert.StartsWith("  failed", Line(cells[1]));
            Assert.Contains("no longer matches its content_sha256 seal", Line(cells[1]));
            // the advice works: the changed run verified again is described by its verdicts (whatever they say)
            var verify = Cli.Run(root, "verify", Path.Combine(cells[0], "run"));
            Assert.True(verify.Exit is 0 or 1, verify.ToString());
            var again = Cli.Run(root, "sweep", "status", outDir);
            Assert.Contains($"{cells.Count - 1} done, 0 running, 1 failed", again.Out);
            Assert.DoesNotContain($"({Path.GetFileName(cells[0])})", again.Out);
        }
        finally { Directory.Delete(root, recursive: true); }
    }

    [Fact(DisplayName = "sweep run: a study whose grid has 10⁶ cells → exit 2 before it is expanded, nothing written")]
    public void A_grid_too_large_is_refused_before_it_is_expanded()
    {
        string root = Cli.TempDir("huge");
        try
        {
            var axis = "[" + string.Join(", ", Enumerable.Range(1, 100)) + "]";
            string study = Path.Combine(root, "huge.toml");
            File.WriteAllText(study, $"name = \"huge\"\n[grid.g]\ndepth = {axis}\nseed = {axis}\niters = {axis}\n");
            var r = Cli.Run(root, "sweep", "run", study, "--out", Path.Combine(root, "out"));
            Assert.True(r.Exit == 2, r.ToString());
            Assert.Contains("1E+06 cells", r.Err);
            Assert.DoesNotContain("   at ", r.Err);
            Assert.False(Directory.Exists(Path.Combine(root, "out")));
        }
        finally { Directory.Delete(root, recursive: true); }
    }

    [Fact(DisplayName = "sweep run: bad study or foreign output directory → exit 2 before any work")]
    public void Bad_studies_and_foreign_output_directories_are_refused_before_any_work()
    {
        string root = Cli.TempDir("bad");
        try
        {
            string study = Path.Combine(root, "s.toml");
            File.WriteAllText(study, "name = \"typo\"\n[grid.g]\ndepht = [4, 8]\n");
            var r = Cli.Run(root, "sweep", "run", study, "--out", Path.Combine(root, "o1"));
            Assert.True(r.Exit == 2, r.ToString());
            Assert.Contains("--depht", r.Err);
            Assert.False(Directory.Exists(Path.Combine(root, "o1")));

            File.WriteAllText(study, "name = \"badvalue\"\n[grid.g]\ndepth = [4, \"many\"]\n");
            r = Cli.Run(root, "sweep", "run", study, "--out", Path.Combine(root, "o1"));
            Assert.True(r.Exit == 2, r.ToString());
            Assert.Contains("'many' is not a valid --depth", r.Err);

            // a value train parses but refuses (depth 0) fails the study before any cell runs, naming the cell
            File.WriteAllText(study, "name = \"badcell\"\n[grid.g]\ndepth = [4, 0]\niters = 3\n");
            r = Cli.Run(root, "sweep", "run", study, "--out", Path.Combine(root, "o1"));
            Assert.True(r.Exit == 2, r.ToString());
            Assert.Contains("cell g[depth=0]: depth L must be at least 1", r.Err);
            Assert.False(Directory.Exists(Path.Combine(root, "o1")));

            // A directory with a user's file in it is never written to.
            string foreign = Path.Combine(root, "thesis");
            Directory.CreateDirectory(foreign);
            File.WriteAllText(Path.Combine(foreign, "chapter1.tex"), "keep me");
            File.WriteAllText(study, BaselineStudy.Text);
            r = Cli.Run(root, "sweep", "run", study, "--out", foreign);
            Assert.True(r.Exit == 2, r.ToString());
            Assert.Equal(new[] { "chapter1.tex" }, Directory.GetFileSystemEntries(foreign).Select(Path.GetFileName));

            // init writes a study that expands, and never overwrites.
            string ex = Path.Combine(root, "example.toml");
            var init = Cli.Run(root, "sweep", "init", ex);
            Assert.True(init.Exit == 0, init.ToString());
            Assert.Contains("6 cells", init.Out);
            var again = Cli.Run(root, "sweep", "init", ex);
            Assert.Equal(2, again.Exit);

            var shard = Cli.Run(root, "sweep", "run", ex, "--out", Path.Combine(root, "o2"), "--shard", "3/3");
            Assert.Equal(2, shard.Exit);
            Assert.Contains("0 ≤ I < 3", shard.Err);
        }
        finally { Directory.Delete(root, recursive: true); }
    }

    [Fact(DisplayName = "resode sweep slurm --dry-run: a four-cell study → an array script with one task per shard")]
    public void Slurm_dry_run_writes_an_array_script_with_one_task_per_shard()
    {
        string root = Cli.TempDir("dry");
        try
        {
            string outDir = Path.Combine(root, "out");
            var r = Cli.Run(root, "sweep", "slurm", baseline.StudyPath, "--out", outDir, "--dry-run", "--max-parallel", "2", "--time", "00:10:00", "--partition", "debug", "--cpus", "2");
            Assert.True(r.Exit == 0, r.ToString());
            string script = File.ReadAllText(Path.Combine(outDir, "slurm", "sweep.sbatch"));
            Assert.Contains("#SBATCH --array=0-3%2", script);
            Assert.Contains("#SBATCH --time=00:10:00", script);
            Assert.Contains("#SBATCH --partition=debug", script);
            Assert.Contains("#SBATCH --cpus-per-task=2", script);
            Assert.Contains("--shard \"${SLURM_ARRAY_TASK_ID}/4\" --jobs 2", script);
            Assert.Equal(BaselineStudy.Text, File.ReadAllText(Path.Combine(outDir, "study.toml")));
            Assert.False(File.Exists(Path.Combine(outDir, "slurm", "jobs.txt")));
        }
        finally { Directory.Delete(root, recursive: true); }
    }

    [Fact(DisplayName = "resode sweep slurm --dry-run: more shards than cells → capped with a note; over 1000 or an --out with a space → refused, nothing written; --retry-failed → passed to every task")]
    public void Slurm_dry_run_checks_shards_paths_and_passes_retry()
    {
        string root = Cli.TempDir("dry2");
        try
        {
            string outDir = Path.Combine(root, "out");
            var capped = Cli.Run(root, "sweep", "slurm", baseline.StudyPath, "--out", outDir, "--dry-run", "--shards", "10", "--retry-failed");
            Assert.True(capped.Exit == 0 && capped.Err.Contains("6 tasks would have nothing to do; submitting 4"), capped.ToString());
            string script = File.ReadAllText(Path.Combine(outDir, "slurm", "sweep.sbatch"));
            Assert.Contains("#SBATCH --array=0-3", script);
            Assert.Contains("--shard \"${SLURM_ARRAY_TASK_ID}/4\" --jobs 1 --retry-failed", script);
            var many = Cli.Run(root, "sweep", "slurm", baseline.StudyPath, "--out", Path.Combine(root, "many"), "--dry-run", "--shards", "5000");
            Assert.True(many.Exit == 2 && many.Err.Contains("at most 1000 array tasks"), many.ToString());
            Assert.False(Directory.Exists(Path.Combine(root, "many")));
            var spaced = Cli.Run(root, "sweep", "slurm", baseline.StudyPath, "--out", Path.Combine(root, "my out"), "--dry-run");
            Assert.True(spaced.Exit == 2 && spaced.Err.Contains("cannot carry a path with spaces"), spaced.ToString());
            Assert.False(Directory.Exists(Path.Combine(root, "my out")));
        }
        finally { Directory.Delete(root, recursive: true); }
    }

    [Fact(DisplayName = "sweep run, sweep slurm: a finished study with a violated cell → a rerun exits 1 as the first run did, and slurm submits nothing")]
    public void A_rerun_reports_violated_cells_finished_earlier()
    {
        string root = Cli.TempDir("violated");
        try
        {
            string study = Path.Combine(root, "v.toml");
            File.WriteAllText(study, "name = \"v\"\n[defaults]\nn = 8\nd = 3\nwidth = 4\niters = 10\neta = 0.01\nsnapshots = 3\nthreads = 1\ninit = \"tied\"\ndepth = 4\n[grid.g]\ninject-fault = [\"none\", \"stale-gradient\"]\n");
            string outDir = Path.Combine(root, "out");
            var first = Cli.Run(root, "sweep", "run", study, "--out", outDir);
            Assert.True(first.Exit == 1, first.ToString());
            var again = Cli.Run(root, "sweep", "run", study, "--out", outDir);
            Assert.True(again.Exit == 1 && again.Out.Contains("2 finished earlier (1 of them with a violated result)"), again.ToString());
            // nothing left to run: nothing is submitted (sbatch is not needed for this answer, so --dry-run is not given)
            var slurm = Cli.Run(root, "sweep", "slurm", study, "--out", outDir, "--dry-run");
            Assert.True(slurm.Exit == 0 && slurm.Err.Contains("nothing submitted"), slurm.ToString());
        }
        finally { Directory.Delete(root, recursive: true); }
    }

    [Fact(DisplayName = "sweep: a [report] results pattern that chooses no result, or depth = 4.0 → refused when the study is read, naming the value")]
    public void Study_typos_in_report_results_and_integers_are_refused()
    {
        string root = Cli.TempDir("typo");
        try
        {
            string study = Path.Combine(root, "t.toml");
            File.WriteAllText(study, "name = \"t\"\n[defaults]\nn = 8\nd = 3\nwidth = 4\niters = 10\n[grid.g]\ndepth = [3, 4]\n[report]\nresults = [\"A.\", \"Z.nope\"]\n");
            var r = Cli.Run(root, "sweep", "run", study, "--out", Path.Combine(root, "out"));
            Assert.True(r.Exit == 2 && r.Err.Contains("'Z.nope' chooses no result"), r.ToString());
            File.WriteAllText(study, "name = \"t\"\n[defaults]\nn = 8\nd = 3\nwidth = 4\niters = 10\n[grid.g]\ndepth = [4.0, 8]\n");
            r = Cli.Run(root, "sweep", "run", study, "--out", Path.Combine(root, "out"));
            Assert.True(r.Exit == 2 && r.Err.Contains("write 4, not 4.0"), r.ToString());
            File.WriteAllText(study, "name = \"t\"\n[defaults]\nn = 8\nd = 3\nwidth = 4\niters = 10\n[grid.g]\ndepth = [4.7, 8]\n");
            r = Cli.Run(root, "sweep", "run", study, "--out", Path.Combine(root, "out"));
            Assert.True(r.Exit == 2 && r.Err.Contains("takes an integer, not 4.7") && !r.Err.Contains("write 5"), r.ToString());
            Assert.False(Directory.Exists(Path.Combine(root, "out")));
        }
        finally { Directory.Delete(root, recursive: true); }
    }

    [Fact(DisplayName = "sweep status, run: a finished cell whose cell.json was edited → failed to status and run as to merge; a cell with a log but no status → interrupted, not 'not started'")]
    public void Status_and_run_agree_with_merge_and_name_interrupted_cells()
    {
        string root = Cli.TempDir("agree");
        try
        {
            string outDir = Path.Combine(root, "out");
            Compare.CopyDirectory(baseline.Out, outDir);
            var cells = Directory.GetDirectories(Path.Combine(outDir, "cells")).OrderBy(d => d, StringComparer.Ordinal).ToArray();
            // one cell's cell.json edited: its run is no longer known to be this cell's setting
            string cj = Path.Combine(cells[0], "cell.json");
            File.WriteAllText(cj, File.ReadAllText(cj).Replace("\"settings\"", "\"settingz\""));
            // another cell stopped before its status: its status and run removed, its log kept
            File.Delete(Path.Combine(cells[1], "status.json"));
            Directory.Delete(Path.Combine(cells[1], "run"), recursive: true);
            var status = Cli.Run(root, "sweep", "status", outDir);
            Assert.True(status.Exit == 0 && status.Out.Contains("2 done, 0 running, 1 failed, 1 interrupted, 0 not started") && status.Out.Contains("cell.json"), status.ToString());
            var merge = Cli.Run(root, "sweep", "merge", outDir);
            Assert.True(merge.Exit == 3 && merge.Err.Contains("cell.json"), merge.ToString());
            var run = Cli.Run(root, "sweep", "run", baseline.StudyPath, "--out", outDir);
            // not rerun by --retry-failed (its cell.json does not say what to train): run says to move it away, as merge does
            Assert.True(run.Exit == 3 && run.Out.Contains("1 not run") && !run.Out.Contains("--retry-failed") && run.Err.Contains($"move {cells[0]} away"), run.ToString());
        }
        finally { Directory.Delete(root, recursive: true); }
    }
}
