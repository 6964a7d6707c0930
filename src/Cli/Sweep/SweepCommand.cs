using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using ResOdeProofs.Numerics.IO;

namespace ResOdeProofs.Cli.Sweep;

/// <summary>
/// `resode sweep`: declarative studies (a TOML file of grids of `train` settings), expanded into cells
/// that run on this machine (`run`, `--shard I/N`), as a Slurm job array (`slurm`), or under any other
/// array scheduler, and gathered into one report (`merge`). See docs/studies.md.
/// </summary>
internal static class SweepCommand
{
    public static Command Build()
    {
        var cmd = new Command("sweep", "Studies: grids of `train` settings expanded into cells (one run + its verdicts each), run on this machine, as shards of an array job (Slurm, Kubernetes, CI matrix) or with `sweep slurm`, then merged into one report. See docs/studies.md.");
        cmd.Subcommands.Add(Init());
        cmd.Subcommands.Add(ShowCmd());
        cmd.Subcommands.Add(RunCmd());
        cmd.Subcommands.Add(SlurmCmd());
        cmd.Subcommands.Add(StatusCmd());
        cmd.Subcommands.Add(MergeCmd());
        cmd.Subcommands.Add(BnConvTable.Build());
        var dir = new Argument<string>("CELL_DIR");
        var exec = new Command("exec-cell", "Internal: runs one claimed cell (train, verify, status.json).") { Hidden = true };
        exec.Arguments.Add(dir);
        exec.SetAction(pr => Guard(() => CellRunner.ExecCell(pr.GetValue(dir)!)));
        cmd.Subcommands.Add(exec);
        var worker = new Command("exec-cells", "Internal: runs the cells whose directories arrive on standard input, one a line.") { Hidden = true };
        worker.SetAction(_ => CellWorkers.Serve());
        cmd.Subcommands.Add(worker);
        return cmd;
    }

    /// <summary>Expected failures become one line and exit code 2; anything else propagates.</summary>
    private static int Guard(Func<int> work)
    {
        try { return work(); }
        catch (StudyException e) { return Ui.Fail(e.Message); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or RunFormatException or System.Text.Json.JsonException)
        {
            return Ui.Fail(e.Message);
        }
    }

    // ------------------------------------------------------------------ init

    /// <summary>The example study that `sweep init` writes (the built-in study "example", src/Cli/Studies/example.toml).</summary>
    internal static string Example => BuiltinStudies.Text("example")!;

    private static Command Init()
    {
        var path = new Argument<string>("PATH") { Description = "Where to write the example study (a new file)." };
        var cmd = new Command("init", "Write a small, commented example study (6 cells that run in seconds) to PATH, as the starting point for your own.") { path };
        cmd.SetAction(pr => Guard(() =>
        {
            string p = pr.GetValue(path)!;
            if (Directory.Exists(p)) return Ui.Fail($"{p} is a directory: give a file name, e.g. {Path.Combine(p, "study.toml")}");
            string? parent = Path.GetDirectoryName(Path.GetFullPath(p));
            if (parent is not null && !Directory.Exists(parent)) return Ui.Fail($"{parent}: no such directory");
            if (!StudyOutput.CreateIfAbsent(p, Example)) return Ui.Fail($"{p} already exists: choose another path (nothing was changed)");
            var study = Study.Load(p);
            Console.WriteLine($"wrote {p}: study '{study.Name}', {study.Cells.Count} cells; run it with `resode sweep run {p} --out {Path.GetFileNameWithoutExtension(p)}-out`");
            return ExitCodes.Done;
        }));
        return cmd;
    }

    private static Command ShowCmd()
    {
        var name = new Argument<string?>("NAME") { Description = "A built-in study; without it, the list of built-in studies.", Arity = ArgumentArity.ZeroOrOne };
        var cmd = new Command("show", "Print a built-in study (copy it to a file to make your own: `resode sweep show NAME > mine.toml`), or list them.") { name };
        cmd.SetAction(pr => Guard(() =>
        {
            string? n = pr.GetValue(name);
            if (n is null)
            {
                foreach (var b in BuiltinStudies.Names)
                {
                    var st = Study.Resolve(b);
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{b}: {st.Title} ({st.Cells.Count} cells)"));
                }
                return ExitCodes.Done;
            }
            var text = BuiltinStudies.Text(n) ?? throw new StudyException($"no built-in study named '{n}' (built-in: {BuiltinStudies.List()})");
            Console.Write(text);
            return ExitCodes.Done;
        }));
        return cmd;
    }

    // ------------------------------------------------------------------ run

    /// <summary>Environment variables an array scheduler sets to the task's index, in the order they are read by `--shard auto/N`.</summary>
    internal static readonly string[] ShardVariables = { "SLURM_ARRAY_TASK_ID", "JOB_COMPLETION_INDEX", "RESODE_SHARD_INDEX" };

    /// <summary>Parses I/N (or auto/N: I from the scheduler's environment variable).</summary>
    internal static (int Index, int Count) ParseShard(string s)
    {
        var parts = s.Split('/');
        if (parts.Length != 2 || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out int n) || n < 1)
            throw new StudyException($"--shard '{s}': write I/N with 0 ≤ I < N (e.g. 2/8), or auto/N to read I from {string.Join(", ", ShardVariables)}");
        string idx = parts[0];
        string from = "";
        if (idx == "auto")
        {
            var v = ShardVariables.FirstOrDefault(x => !string.IsNullOrEmpty(Environment.GetEnvironmentVariable(x)))
                    ?? throw new StudyException($"--shard auto/{n}: none of {string.Join(", ", ShardVariables)} is set; give the index explicitly (--shard I/{n})");
            idx = Environment.GetEnvironmentVariable(v)!;
            from = $" (from {v})";
        }
        if (!int.TryParse(idx, NumberStyles.None, CultureInfo.InvariantCulture, out int i) || i >= n)
            throw new StudyException($"--shard: index '{idx}'{from} must be an integer with 0 ≤ I < {n}");
        return (i, n);
    }

    private static Command RunCmd()
    {
        var study = new Argument<string>("STUDY") { Description = "The study file (TOML), or the name of a built-in study (`resode sweep show`)." };
        var outDir = new Option<string>("--out") { Description = "Output directory of the study (shared by every shard; made by the sweep or empty).", Required = true };
        var jobs = new Option<int?>("--jobs") { Description = "Cells run at once, each in its own process. Default: SLURM_CPUS_PER_TASK when set, else the number of cores." };
        var shard = new Option<string?>("--shard") { Description = "I/N: run only the cells whose index ≡ I (mod N). auto/N reads I from SLURM_ARRAY_TASK_ID, JOB_COMPLETION_INDEX (Kubernetes Indexed Job) or RESODE_SHARD_INDEX (a CI matrix)." };
        var retry = new Option<bool>("--retry-failed") { Description = "Run failed cells again (their previous log and status are kept as log.attempt-K.txt, status.attempt-K.json)." };
        var cmd = new Command("run", "Run the cells of a study on this machine (several processes at once, progress bar on a terminal). Finished cells are skipped, so running again resumes. Exit code 1 if a cell has a violated result (ahead of any failed cell, as in `verify`), else 3 if a cell failed.")
        { study, outDir, jobs, shard, retry };
        cmd.SetAction(pr => Guard(() =>
        {
            var s = Study.Resolve(pr.GetValue(study)!);
            var (index, count) = pr.GetValue(shard) is string sh ? ParseShard(sh) : (0, 1);
            int k = pr.GetValue(jobs) ?? (int.TryParse(Environment.GetEnvironmentVariable("SLURM_CPUS_PER_TASK"), out int c) && c > 0 ? c : Environment.ProcessorCount);
            if (k < 1) return Ui.Fail("--jobs must be at least 1");
            var output = new StudyOutput(pr.GetValue(outDir)!);
            output.Prepare(s, Console.Error.WriteLine);
            var mine = s.Cells.Where(x => x.Index % count == index).ToList();
            string where = count > 1 ? $"shard {index}/{count}: " : "";
            Console.WriteLine($"{where}study '{s.Name}': {mine.Count} of {s.Cells.Count} cells, up to {k} at once, into {output.Root}");
            // SIGINT and SIGTERM alike (kill, timeout, a scheduler's stop send SIGTERM): the running cells are stopped, their
            // worker processes killed, so nothing keeps writing a cell this run claimed
            using var interrupts = Ui.OnInterrupt("interrupted: stopping the running cells; run again to resume");
            CellRunner.Outcome o;
            try { o = CellRunner.Run(s, output, mine, k, pr.GetValue(retry), interrupts.Token); }
            catch (OperationCanceledException) { return ExitCodes.ToolFailed; }
            var earlier = new List<string>();
            if (o.FailedEarlier > 0) earlier.Add($"{o.FailedEarlier} of them failed: run again with --retry-failed");
            if (o.ViolatedEarlier > 0) earlier.Add($"{o.ViolatedEarlier} of them with a violated result");
            string unusable = o.Unusable.Count > 0 ? $", {o.Unusable.Count} not run (their cell.json does not describe them: move them away, as listed)" : "";
            Console.WriteLine($"{where}{o.Done + o.Failed} cells run ({o.Done} done, {o.Violated} with a violated result, {o.Failed} failed), {o.Skipped} finished earlier{(earlier.Count > 0 ? $" ({string.Join("; ", earlier)})" : "")}{unusable}, {o.Busy} held by other processes; merge with `resode sweep merge {pr.GetValue(outDir)}`");
            foreach (var f in o.FailedNames) Console.Error.WriteLine($"failed: {f}");
            foreach (var u in o.Unusable) Console.Error.WriteLine($"not run: {u}");
            // a cell that failed or violated earlier and was not run again still counts: a rerun or a resubmitted shard
            // reports what its cells hold, as the first run did
            // a violated result goes ahead of a failed cell, as in verify: a theorem failed, whatever else did
            return o.Violated + o.ViolatedEarlier > 0 ? ExitCodes.Violated : o.Failed + o.FailedEarlier + o.Unusable.Count > 0 ? ExitCodes.ToolFailed : ExitCodes.Done;
        }));
        return cmd;
    }

    // ------------------------------------------------------------------ slurm

    private static Command SlurmCmd()
    {
        var study = new Argument<string>("STUDY") { Description = "The study file (TOML), or the name of a built-in study (`resode sweep show`)." };
        var outDir = new Option<string>("--out") { Description = "Output directory on storage shared by the login node and the compute nodes.", Required = true };
        var partition = new Option<string?>("--partition") { Description = "Slurm partition (default: the cluster's default)." };
        var time = new Option<string?>("--time") { Description = "Time limit of each array task (Slurm format, e.g. 01:00:00)." };
        var cpus = new Option<int>("--cpus") { Description = "CPUs per array task; the task runs that many cells at once.", DefaultValueFactory = _ => 1 };
        var maxPar = new Option<int?>("--max-parallel") { Description = "At most this many array tasks at once (sbatch --array=0-N%K)." };
        var shards = new Option<int?>("--shards") { Description = "Number of array tasks (default: one per cell, at most 1000)." };
        var account = new Option<string?>("--account") { Description = "Slurm account to charge." };
        var mem = new Option<string?>("--mem") { Description = "Memory per array task (Slurm format, e.g. 2G)." };
        var dry = new Option<bool>("--dry-run") { Description = "Write the sbatch script and print the command, without submitting." };
        var retry = new Option<bool>("--retry-failed") { Description = "The array tasks run failed cells again (each task passes --retry-failed to its `sweep run`)." };
        var cmd = new Command("slurm", "Run a study as a Slurm job array: write an sbatch script (one array task per shard, on the shared --out), submit it with sbatch and print the job id. Follow with `resode sweep status DIR`, then `resode sweep merge DIR`.")
        { study, outDir, partition, time, cpus, maxPar, shards, account, mem, dry, retry };
        cmd.SetAction(pr => Guard(() =>
        {
            var s = Study.Resolve(pr.GetValue(study)!);
            int c = pr.GetValue(cpus);
            if (c < 1) return Ui.Fail("--cpus must be at least 1");
            int n = pr.GetValue(shards) ?? Math.Min(s.Cells.Count, 1000);
            if (n < 1) return Ui.Fail("--shards must be at least 1");
            if (n > 1000) return Ui.Fail($"--shards {n}: at most 1000 array tasks (many clusters refuse larger arrays); each task runs the cells whose index is its own modulo the task count, so fewer tasks run more cells each");
            if (n > s.Cells.Count)
            {
                Console.Error.WriteLine($"note: --shards {n} for {s.Cells.Count} cells: {n - s.Cells.Count} tasks would have nothing to do; submitting {s.Cells.Count}");
                n = s.Cells.Count;
            }
            if (pr.GetValue(maxPar) is int mp && mp < 1) return Ui.Fail("--max-parallel must be at least 1");
            // checked here, before anything is written (sbatch would refuse it only after the output was made)
            if (pr.GetValue(time) is string limit && !Slurm.IsTime(limit))
                return Ui.Fail($"--time '{limit}': write a Slurm time limit: minutes, MM:SS, HH:MM:SS, D-HH, D-HH:MM or D-HH:MM:SS (e.g. 01:00:00); nothing was changed");
            bool dryRun = pr.GetValue(dry);
            if (!dryRun && !Slurm.Has("sbatch")) return Ui.Fail("sbatch not found on the PATH: run this on a Slurm login node, or use --dry-run to write the script only");
            var output = new StudyOutput(pr.GetValue(outDir)!);
            // sbatch reads the #SBATCH --output line as words and expands % in it: a path with either does not survive it
            if (output.Root.Any(ch => char.IsWhiteSpace(ch) || ch is '"' or '\'' or '%' or '\\'))
                return Ui.Fail($"--out {output.Root}: sbatch's #SBATCH --output line cannot carry a path with spaces, quotes, backslashes or %: choose an output directory without them; nothing was changed");
            // (only on this study's own output: another study's is refused below, by Prepare, with its own words)
            if (output.IsStudyOutput && output.HeldStudy() == s.Name && !pr.GetValue(retry))
            {
                var states = s.Cells.Select(x => output.State(x)).ToList();
                if (states.All(st => st is CellState.Done or CellState.Failed))
                {
                    // a cell whose cell.json does not describe it is not rerun by --retry-failed (sweep run leaves it): counted apart
                    int unusable = s.Cells.Count(x => File.Exists(Path.Combine(output.CellDir(x), "cell.json"))
                                                      && StudyMerge.CellJsonProblem(Path.Combine(output.CellDir(x), "cell.json"), x) is not null);
                    int failedCells = states.Count(st => st == CellState.Failed) - unusable;
                    string said = string.Join("; ", new[]
                    {
                        failedCells > 0 ? $"{failedCells} failed: pass --retry-failed to run them again" : null,
                        unusable > 0 ? $"{unusable} whose cell.json does not describe it: move it away and run the study again (`resode sweep run` lists them)" : null,
                    }.OfType<string>());
                    Console.Error.WriteLine($"every cell of study '{s.Name}' in {output.Root} is finished{(said.Length > 0 ? $" ({said})" : "")}: nothing submitted; merge with `resode sweep merge {pr.GetValue(outDir)}`");
                    return ExitCodes.Done;
                }
            }
            // the refusals first, the output's study second: a refused command changes nothing (user test: an edited script
            // was refused after study.toml had been replaced by the other study, which the kept script then ran)
            string dir = Path.GetFullPath(Path.Combine(output.Root, "slurm"));
            string script = Path.Combine(dir, "sweep.sbatch");
            string text = Slurm.Script(s, output, new Slurm.Options(pr.GetValue(partition), pr.GetValue(time), c, pr.GetValue(maxPar), n, pr.GetValue(account), pr.GetValue(mem), pr.GetValue(retry)));
            // the script is the user's to edit (--dry-run writes it for that): one edited since resode wrote it is kept
            string written = Path.Combine(dir, ".sweep.sbatch.sha256");
            if (File.Exists(script) || new FileInfo(script).LinkTarget is not null)
            {
                string Hash(string t) => Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(t)));
                bool link = new FileInfo(script).LinkTarget is not null;
                string? now = link ? null : File.ReadAllText(script);
                bool ours = now is not null && (now == text || (File.Exists(written) && File.ReadAllText(written).Trim() == Hash(now)));
                if (!ours)
                    return Ui.Fail($"{script} was edited (or is not the script resode wrote there): it is left as it is, and nothing was changed; submit it yourself with `sbatch {Slurm.Sh(script)}`, or move it away to have resode write a new one");
            }
            output.Prepare(s, Console.Error.WriteLine);
            Directory.CreateDirectory(dir);
            StudyOutput.WriteAtomically(script, text);
            StudyOutput.WriteAtomically(written, Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(text))) + "\n");
            if (dryRun)
            {
                Console.WriteLine($"wrote {script} ({n} array tasks for {s.Cells.Count} cells); submit it with: sbatch {Slurm.Sh(script)}");
                return ExitCodes.Done;
            }
            string id = Slurm.Submit(script);
            File.AppendAllText(Path.Combine(dir, "jobs.txt"), $"{id} {DateTime.UtcNow:O} {n}\n");
            Console.WriteLine(id);
            Console.Error.WriteLine($"submitted job {id}: {n} array tasks for {s.Cells.Count} cells of study '{s.Name}'; logs in {dir}; follow with `resode sweep status {pr.GetValue(outDir)}`");
            return ExitCodes.Done;
        }));
        return cmd;
    }

    // ------------------------------------------------------------------ status

    private static StudyOutput OpenOutput(string dir)
    {
        var output = new StudyOutput(dir);
        if (!output.IsStudyOutput) throw new StudyException($"{dir}: not a study output directory (no {StudyOutput.Marker}); make one with `resode sweep run STUDY --out {dir}`");
        return output;
    }

    private static Command StatusCmd()
    {
        var dir = new Argument<string>("DIR") { Description = "The study's output directory." };
        var cmd = new Command("status", "Show the cells of a study output (done, failed, running, missing) and, for jobs submitted with `sweep slurm`, what squeue and sacct say.") { dir };
        cmd.SetAction(pr => Guard(() =>
        {
            var output = OpenOutput(pr.GetValue(dir)!);
            var s = Study.Load(output.StudyPath);
            // a finished cell's problem (its cell.json, or its verdicts against its run, which hashes the run) found once: the
            // state and the reason line read the same answer
            var problems = new Dictionary<string, string>();
            var states = s.Cells.Select(c =>
            {
                var st = output.State(c.Hash);
                if (st == CellState.Done && output.DoneProblem(c) is string p) { problems[c.Hash] = p; st = CellState.Failed; }
                return (Cell: c, State: st);
            }).ToList();
            int Count(CellState st) => states.Count(x => x.State == st);
            // a cell without a status that was started (killed, cancelled) is interrupted, not new: the next run starts it again
            int interrupted = states.Count(x => x.State == CellState.Missing && output.WasStarted(x.Cell));
            Console.WriteLine($"study '{s.Name}' in {output.Root}: {s.Cells.Count} cells: {Count(CellState.Done)} done, {Count(CellState.Running)} running, {Count(CellState.Failed)} failed, {interrupted} interrupted, {Count(CellState.Missing) - interrupted} not started");
            string Reason(Cell c)
            {
                var status = output.Status(c.Hash);
                if (StudyOutput.TextOf(status?["status"]) == "done")
                    return problems.GetValueOrDefault(c.Hash) ?? "status done but run/verdicts.json is missing (run again with --retry-failed)";
                return StudyOutput.TextOf(status?["reason"]) ?? "no reason recorded";
            }
            foreach (var (c, st) in states.Where(x => x.State is CellState.Failed or CellState.Running || (x.State == CellState.Missing && output.WasStarted(x.Cell))))
                Console.WriteLine(st == CellState.Failed
                    ? $"  failed  {c.Name} ({c.Hash}): {Reason(c)}; log {Path.Combine(output.CellDir(c), "log.txt")}"
                    : st == CellState.Running ? $"  running {c.Name} ({c.Hash}) on {output.ClaimHolder(c.Hash)}"
                    : $"  interrupted {c.Name} ({c.Hash}): started, no status (stopped or killed); the next run starts it again");
            foreach (var line in Slurm.Describe(Slurm.Jobs(output))) Console.WriteLine(line);
            return ExitCodes.Done;
        }));
        return cmd;
    }

    // ------------------------------------------------------------------ merge

    private static Command MergeCmd()
    {
        var dir = new Argument<string>("DIR") { Description = "The study's output directory." };
        var outDir = new Option<string?>("--out") { Description = "Report directory (default DIR/report; replaced when it is an earlier merge's)." };
        var partial = new Option<bool>("--partial") { Description = "Accept missing or failed cells (they are listed in the report either way); without it they make the exit code 3." };
        var docsBase = new Option<string?>("--docs-base") { Description = "Link each verdict to BASE/docs/theorems/<page>.md instead of the pages the report carries in its docs/ folder." };
        var cmd = new Command("merge", "Gather the finished cells of a study into one report, the page of `resode report` (index.html, report.md, results.json, docs/): the results summarized over the cells, the ladders evaluated, missing and failed cells listed by name and setting. Refuses cells of another engine version. Exit code 1 if a result is violated (ahead of missing or failed cells, as in `verify`), else 3 if cells are missing or failed (unless --partial).")
        { dir, outDir, partial, docsBase };
        cmd.SetAction(pr => Guard(() =>
        {
            var sw = Stopwatch.StartNew();
            var output = OpenOutput(pr.GetValue(dir)!);
            var s = Study.Load(output.StudyPath);
            string target = Path.GetFullPath(pr.GetValue(outDir) ?? Path.Combine(output.Root, "report"));
            bool ours = File.Exists(Path.Combine(target, "results.json")) && IsOurReport(Path.Combine(target, "results.json"), s.Name);
            if (Directory.Exists(target) && Directory.EnumerateFileSystemEntries(target).Any() && !ours)
                return Ui.Fail($"{target} exists and is not a report of study '{s.Name}' written by `resode sweep merge` (another study's report, or not a report): choose another --out (nothing was changed)");
            // A complete study with the report's layout gets the report's page, which evaluates its ladders itself.
            var m = StudyMerge.Gather(s, output, evaluateLadders: s.Layout is null);
            bool page = s.Layout is not null && !m.Missing.Any() && !m.Failed.Any();
            if (s.Layout is not null && !page) m = StudyMerge.Gather(s, output);
            int? pageViolated = null, ladders = null;
            int ladderRows = 0;
            RunDirectory.WriteAtomically(target, force: ours, kind: "study report", replacing: "replacing the earlier report of `sweep merge`", fill: tmp =>
            {
                var options = new Report.ReportOptions(pr.GetValue(docsBase), ResodeApp.CommandLine(pr));
                if (page)
                {
                    // A study with the report's layout (a preset, or a copy of one) gets the page of `resode report`, built from its cells.
                    var content = Report.ReportCommand.Assemble(Report.ReportStudy.Settings(s), output, tmp, CancellationToken.None, m);
                    ladders = (content.Tied.LadderRows.Count > 0 ? 1 : 0) + (content.Iid.LadderRows.Count > 0 ? 1 : 0);
                    ladderRows = content.Tied.LadderRows.Count + content.Iid.LadderRows.Count;
                    content.TotalSeconds += m.Cells.Sum(c => c.Seconds);
                    Report.ReportWriter.Write(content, tmp, options);
                    pageViolated = content.FaithfulRows.Count(r => r.IsViolated);
                }
                else
                {
                    if (s.Layout is not null) Console.Error.WriteLine("note: cells are missing or failed, so the report's figures cannot be drawn; the study's page lists them");
                    Report.ReportWriter.WriteStudy(m, tmp, sw.Elapsed.TotalSeconds, options);
                }
            });
            var shown = m.Shown.ToList();
            // On the report's page the negative controls are violated by design: the exit code follows the faithful runs.
            int violated = pageViolated ?? shown.Count(r => r.IsViolated);
            int ladderCount = ladders ?? m.Ladders.Count(l => l.Status == "evaluated");
            Console.WriteLine($"merged {m.Cells.Count(c => c.State == CellState.Done)} of {m.Cells.Count} cells and {ladderCount} ladder{(ladderCount == 1 ? "" : "s")} of study '{s.Name}': {shown.Count + ladderRows} verdict rows, {violated} violated; wrote {target}");
            foreach (var c in m.Missing) Console.Error.WriteLine($"missing: {c.Cell.Name} ({c.Cell.Hash}) {c.Cell.DescribeSettings()}{(c.Reason is null ? "" : " — " + c.Reason)}");
            foreach (var c in m.Failed) Console.Error.WriteLine($"failed:  {c.Cell.Name} ({c.Cell.Hash}) {c.Cell.DescribeSettings()} — {c.Reason}; log {Path.Combine(output.CellDir(c.Cell), "log.txt")}");
            if (m.Commits.Count > 1) Console.Error.WriteLine($"note: the cells were computed by engine {s.EngineVersion} built from {m.Commits.Count} commits ({string.Join(", ", m.Commits)}); listed in results.json (engine_commits)");
            if (m.StrayCells > 0) Console.Error.WriteLine($"note: {m.StrayCells} cell directories of other settings or of another engine build (an earlier version of the study or of resode) are not part of this report");
            bool incomplete = m.Missing.Any() || m.Failed.Any();
            if (incomplete && !pr.GetValue(partial))
            {
                // the advice follows what each failed cell needs: a cell whose run holds only a `verify --only` selection
                // finished its training and its verify (rerunning it changes nothing: its run is verified again without
                // --only), a cell whose run or cell.json cannot be taken as its setting is moved away (its line says so:
                // --retry-failed does not rerun a cell whose status is done), the others are rerun with --retry-failed
                var onlySelections = m.Failed.Where(c => c.Reason?.Contains("verify --only", StringComparison.Ordinal) == true).ToList();
                var moveAway = m.Failed.Except(onlySelections).Where(c => c.Reason?.Contains(" away and run the study again", StringComparison.Ordinal) == true).ToList();
                // a done cell whose verdicts.json is there but cannot be taken is not rerun by --retry-failed either: its line says to verify it again
                var verifyAgain = m.Failed.Except(onlySelections).Except(moveAway).Where(c => c.Reason is string r && r.Contains("run/verdicts.json", StringComparison.Ordinal)
                    && r.Contains(" again", StringComparison.Ordinal) && !r.Contains("--retry-failed", StringComparison.Ordinal)).ToList();
                int retried = m.Failed.Count() - onlySelections.Count - moveAway.Count - verifyAgain.Count;
                var advice = new List<string>();
                if (m.Missing.Any()) advice.Add("run the study again to finish the missing cells");
                if (retried > 0) advice.Add("run it again with --retry-failed to rerun the failed cells");
                if (onlySelections.Count > 0) advice.Add("verify the runs listed above again without --only (their lines say how)");
                if (verifyAgain.Count > 0) advice.Add("verify the runs of the cells whose lines say so again");
                if (moveAway.Count > 0) advice.Add("move away the cell directories whose lines say so, then run the study again");
                string said = string.Join("; ", advice);
                Console.Error.WriteLine($"error: the study is incomplete (cells listed above); the report lists them. {char.ToUpperInvariant(said[0])}{said[1..]}, or pass --partial to accept it");
                // a violated result goes ahead of the incomplete study, as in verify and merge --partial
                return violated > 0 ? ExitCodes.Violated : ExitCodes.ToolFailed;
            }
            return violated > 0 ? ExitCodes.Violated : ExitCodes.Done;
        }));
        return cmd;
    }

    private static bool IsOurReport(string resultsJson, string studyName)
    {
        try
        {
            var root = JsonNode.Parse(File.ReadAllText(resultsJson));
            string? format = root?["format"]?.GetValue<string>();
            // an earlier merge of this study (its name, or the preset's the page was built for), never another study's report
            string? name = StudyOutput.TextOf(root?["study"]?["name"]) ?? StudyOutput.TextOf(root?["preset"]);
            return format is StudyMerge.OldReportFormat or "resode-report/2" or "resode-report/3" && (name is null || name == studyName);
        }
        catch (Exception e) when (e is System.Text.Json.JsonException or InvalidOperationException or IOException) { return false; }
    }
}
