using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using System.Text.Json.Nodes;
using Spectre.Console;

namespace ResOdeProofs.Cli.Sweep;

/// <summary>
/// Runs cells (train, then verify, output into the cell's log.txt), up to <c>jobs</c> at once, each in a child process
/// (<see cref="CellWorkers"/>: up to <c>jobs</c> long-lived `resode sweep exec-cells` processes that take one cell after another),
/// longest estimated first (<see cref="CellSchedule"/>), with any <see cref="SideJob"/> of the calling process on the same
/// lanes. A cell another live process has claimed is left to it.
/// </summary>
internal static class CellRunner
{
    internal sealed record Outcome(int Done, int Failed, int Violated, int Skipped, int Busy, List<string> FailedNames, int FailedEarlier = 0, int ViolatedEarlier = 0)
    {
        /// <summary>The cells not run because their cell.json does not describe them, each with what to do.</summary>
        public List<string> Unusable { get; init; } = new();
        /// <summary>Seconds from the start at which each lane ran out of work (empty when nothing ran).</summary>
        public double[] LaneEnds { get; init; } = Array.Empty<double>();
        /// <summary>Every cell and side job that ran, in the order the lanes took them (`report --timings`).</summary>
        public IReadOnlyList<Scheduled> Schedule { get; init; } = Array.Empty<Scheduled>();
    }

    /// <summary>
    /// One item the lanes ran: its name, lane, start and end (seconds from the start of the lanes), its estimated cost, and the
    /// CPU seconds it cost (a cell: its worker's, from its status.json; a side job: its thread's in this process, NaN where the
    /// thread clock is not available).
    /// </summary>
    internal sealed record Scheduled(string Name, bool IsCell, int Lane, double Start, double End, double Cost, double CpuSeconds);

    /// <summary>
    /// The command that starts this program again: the resode apphost, or `dotnet resode.dll` (also when the
    /// command's code runs inside another host, such as a test runner: resode.dll is the assembly of this class).
    /// </summary>
    internal static (string File, List<string> Prefix) Self()
    {
        string exe = Environment.ProcessPath ?? "dotnet";
        var dll = typeof(CellRunner).Assembly.Location;
        if (string.Equals(Path.GetFileNameWithoutExtension(exe), Path.GetFileNameWithoutExtension(dll), StringComparison.OrdinalIgnoreCase))
            return (exe, new List<string>());
        string dotnet = string.Equals(Path.GetFileNameWithoutExtension(exe), "dotnet", StringComparison.OrdinalIgnoreCase) ? exe : "dotnet";
        return (dotnet, new List<string> { dll });
    }

    /// <summary>
    /// Runs the cells (and the side jobs) on <paramref name="jobs"/> lanes, in <paramref name="workers"/> when the caller has
    /// started them already (and disposes of them itself), else in workers of its own.
    /// </summary>
    public static Outcome Run(Study study, StudyOutput output, IReadOnlyList<Cell> cells, int jobs, bool retryFailed, CancellationToken cancel, IReadOnlyList<SideJob>? side = null,
                              CellWorkers? workers = null)
    {
        var pending = new List<Cell>();
        int skipped = 0, busy = 0, failedEarlier = 0, violatedEarlier = 0;
        var unusable = new List<string>();
        foreach (var c in cells)
        {
            var st = output.State(c);
            // a cell.json that does not describe the cell (broken, edited) is checked before anything in the cell is
            // touched: its run is not rerun nor removed (exec-cell would train whatever it says); the user moves it away
            string cellJson = Path.Combine(output.CellDir(c), "cell.json");
            if (st != CellState.Running && (File.Exists(cellJson) || Directory.Exists(cellJson))
                && StudyMerge.CellJsonProblem(cellJson, c) is string problem)
            {
                unusable.Add($"{c.Name} ({c.Hash}): {problem}: its run is not known to be this cell's setting; move {output.CellDir(c)} away and run the study again");
                continue;
            }
            if (st == CellState.Failed && !retryFailed) failedEarlier++;
            // a cell finished earlier with a violated result still has it: a rerun reports it as the first run did
            if (st == CellState.Done && output.Status(c.Hash)?["violated"]?.GetValue<bool>() == true) violatedEarlier++;
            if (st == CellState.Done || (st == CellState.Failed && !retryFailed)) { skipped++; continue; }
            if (st == CellState.Running) { busy++; continue; }
            pending.Add(c);
        }
        int done = 0, failed = 0, violated = 0;
        var failedNames = new List<string>();
        void Count(Cell c, JsonObject status)
        {
            lock (failedNames)
            {
                if (status["status"]?.GetValue<string>() == "done") { done++; if (status["violated"]?.GetValue<bool>() == true) violated++; }
                else { failed++; failedNames.Add($"{c.Name} ({c.Hash}): {status["reason"]?.GetValue<string>()}"); }
            }
        }
        // a cell another process finished while this one waited: among the cells finished earlier, not run here
        void Elsewhere(JsonObject s)
        {
            Interlocked.Increment(ref skipped);
            if (s["status"]?.GetValue<string>() != "done") Interlocked.Increment(ref failedEarlier);
            else if (s["violated"]?.GetValue<bool>() == true) Interlocked.Increment(ref violatedEarlier);
        }
        string Line(Cell c, JsonObject s)
        {
            bool ok = s["status"]?.GetValue<string>() == "done";
            string head = ok ? (s["violated"]?.GetValue<bool>() == true ? "done, VIOLATED" : "done") : s["status"]?.GetValue<string>() == "interrupted" ? "interrupted" : "FAILED";
            string secs = (s["seconds"]?.GetValue<double>() ?? 0).ToString("F1", CultureInfo.InvariantCulture);
            string tail = ok || head == "interrupted" ? "" : $": {s["reason"]?.GetValue<string>()}; log {Path.Combine(output.CellDir(c), "log.txt")}";
            return $"{head}: {c.Name} ({c.Hash}) in {secs} s{tail}";
        }

        var items = pending.Select(c => (Cell: (Cell?)c, Side: (SideJob?)null))
            .Concat((side ?? Array.Empty<SideJob>()).Select(j => (Cell: (Cell?)null, Side: (SideJob?)j))).ToList();
        var log = new LaneLog(Array.Empty<double>(), Array.Empty<LaneItem>());
        var sideCpu = new Dictionary<SideJob, double>();
        // a side job runs in this process on a lane of its own, beside the workers: it may keep as many processors busy as a
        // worker sees (its share of the cores), so that a verify inside it does not start a second busy thread on a core the
        // other lane is using (docs/performance.md, 2026-12-07 17:24–)
        int sideProcessors = CellWorkers.ProcessorShare(Math.Max(1, jobs));
        void RunSide(SideJob j)
        {
            double c0 = Numerics.ThreadClock.Seconds();
            using (Numerics.ProcessorBudget.Limit(sideProcessors))
                j.Run();
            lock (sideCpu) sideCpu[j] = Numerics.ThreadClock.Seconds() - c0;
        }
        if (items.Count > 0)
        {
            using var own = workers is null ? new CellWorkers(jobs) : null;
            var ws = workers ?? own!;
            int lanes = Math.Max(1, jobs);
            double Cost((Cell? Cell, SideJob? Side) x) => x.Side?.Cost ?? CellSchedule.Estimate(x.Cell!);
            if (Ui.Interactive)
            {
                AnsiConsole.Progress()
                    .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn())
                    .Start(ctx =>
                    {
                        var task = ctx.AddTask($"{study.Name}: {pending.Count} cells, {lanes} at once", maxValue: items.Count);
                        log = CellSchedule.RunLanes(items, Cost, lanes, x =>
                        {
                            if (x.Side is { } j) { RunSide(j); task.Increment(1); return; }
                            var c = x.Cell!;
                            var s = RunOne(study, output, ws, c, retryFailed, cancel);
                            if (s is null) { Interlocked.Increment(ref busy); task.Increment(1); return; }
                            if (s[ElsewhereKey] is not null) { Elsewhere(s); task.Increment(1); return; }
                            Count(c, s);
                            if (s["status"]?.GetValue<string>() != "done" || s["violated"]?.GetValue<bool>() == true)
                                AnsiConsole.MarkupLine(Markup.Escape(Line(c, s)));
                            task.Increment(1);
                        }, cancel);
                    });
            }
            else
            {
                int k = 0;
                log = CellSchedule.RunLanes(items, Cost, lanes, x =>
                {
                    if (x.Side is { } j) { RunSide(j); return; }
                    var c = x.Cell!;
                    var s = RunOne(study, output, ws, c, retryFailed, cancel);
                    int i = Interlocked.Increment(ref k);
                    if (s is null) { Interlocked.Increment(ref busy); Console.WriteLine($"[{i}/{pending.Count}] taken by another process: {c.Name} ({c.Hash})"); return; }
                    if (s[ElsewhereKey] is not null) { Elsewhere(s); Console.WriteLine($"[{i}/{pending.Count}] finished by another process meanwhile: {c.Name} ({c.Hash})"); return; }
                    Count(c, s);
                    Console.WriteLine($"[{i}/{pending.Count}] {Line(c, s)}");
                }, cancel);
            }
        }
        var schedule = log.Items.Select(r =>
        {
            var (cell, job) = items[r.Index];
            double cpu = job is not null ? sideCpu.GetValueOrDefault(job, double.NaN) : output.Status(cell!.Hash)?["cpu_seconds"]?.GetValue<double>() ?? double.NaN;
            return new Scheduled(job?.Name ?? cell!.Name, job is null, r.Lane, r.Start, r.End, r.Cost, cpu);
        }).ToList();
        return new Outcome(done, failed, violated, skipped, busy, failedNames, failedEarlier, violatedEarlier) { LaneEnds = log.Ends, Schedule = schedule, Unusable = unusable };
    }

    /// <summary>The key RunOne adds to the status of a cell another process finished while this one waited for it.</summary>
    private const string ElsewhereKey = "finished_elsewhere";

    /// <summary>Runs one cell in a worker process; null if another process holds it.</summary>
    private static JsonObject? RunOne(Study study, StudyOutput output, CellWorkers workers, Cell c, bool retryFailed, CancellationToken cancel)
    {
        if (cancel.IsCancellationRequested) return new JsonObject { ["status"] = "interrupted", ["reason"] = "interrupted", ["seconds"] = 0.0 };
        if (!output.TryClaim(study, c)) return null;
        try
        {
            // Re-read under the claim: another process may have finished it meanwhile.
            var st = output.State(c);
            // finished by another process meanwhile: said so (the caller counts it as finished elsewhere, not as run here)
            JsonObject? Elsewhere(JsonObject? s) { var e = (JsonObject?)s?.DeepClone() ?? new JsonObject { ["status"] = "failed" }; e[ElsewhereKey] = true; return e; }
            if (st == CellState.Done) return Elsewhere(output.Status(c.Hash));
            var kept = new List<string>();
            if (st == CellState.Failed)
            {
                if (!retryFailed) return Elsewhere(output.Status(c.Hash));
                kept = output.ArchiveAttempt(c);
            }
            else if (output.HasRemains(c))
                kept = output.ArchiveAttempt(c); // an attempt that was killed before writing its status
            var dir = output.CellDir(c);
            var sw = Stopwatch.StartNew();
            int exit;
            var logPath = Path.Combine(dir, "log.txt");
            // what the archive kept of the user's is said in the new attempt's log and on the console
            foreach (var note in kept)
            {
                File.AppendAllText(logPath, note + Environment.NewLine);
                Console.Error.WriteLine($"{c.Name} ({c.Hash}): {note}");
            }
            var logLock = new object();
            using (output.KeepClaim(c))
                exit = workers.Run(dir, line => { lock (logLock) File.AppendAllText(logPath, line + Environment.NewLine); }, cancel);
            var status = output.Status(c.Hash);
            if (status is null && cancel.IsCancellationRequested)
                // Interrupted: no status is written, so the next run starts the cell again (its partial run is archived then).
                return new JsonObject { ["status"] = "interrupted", ["reason"] = "interrupted", ["seconds"] = sw.Elapsed.TotalSeconds };
            if (status is null)
            {
                status = new JsonObject
                {
                    ["status"] = "failed",
                    ["reason"] = $"the cell process ended with exit code {exit} before writing its status",
                    ["exit_code"] = exit, ["seconds"] = sw.Elapsed.TotalSeconds, ["host"] = Environment.MachineName,
                    ["engine_version"] = study.EngineVersion,
                };
                StudyOutput.WriteAtomically(Path.Combine(dir, "status.json"), status.ToJsonString(Study.Indented));
            }
            return status;
        }
        finally { output.Release(c); }
    }

    /// <summary>
    /// The child side (`resode sweep exec-cell DIR`): trains the cell's setting into DIR/run, verifies it, and
    /// writes DIR/status.json. Runs with DIR as working directory so that verdict inputs read "run".
    /// </summary>
    public static int ExecCell(string dir)
    {
        var sw = Stopwatch.StartNew();
        var cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
        var cell = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "cell.json")))!;
        var args = cell["train_arguments"]!.AsArray().Select(a => a!.GetValue<string>()).ToList();
        args.Add("--out"); args.Add("run");
        Directory.SetCurrentDirectory(dir);
        Console.WriteLine($"resode train {string.Join(' ', args)}");
        int train = ResodeApp.Run(new[] { "train" }.Concat(args).ToArray());
        int verify = -1;
        string status = "failed", reason;
        if (train == ExitCodes.Done)
        {
            Console.WriteLine($"resode verify --quiet run --evidence-columns {EvidenceColumns.FileName}");
            verify = ResodeApp.Run(new[] { "verify", "--quiet", "run", "--evidence-columns", EvidenceColumns.FileName });
            if (verify is ExitCodes.Done or ExitCodes.Violated) { status = "done"; reason = verify == ExitCodes.Violated ? "a result is violated" : "verified"; }
            else reason = $"verify ended with exit code {verify}";
        }
        else reason = train == ExitCodes.BadInput ? "train refused the setting (exit code 2; see log.txt)" : $"train ended with exit code {train} (diverged or failed; see log.txt)";
        var s = new JsonObject
        {
            ["status"] = status, ["reason"] = reason, ["train_exit"] = train, ["verify_exit"] = verify,
            ["violated"] = verify == ExitCodes.Violated, ["seconds"] = sw.Elapsed.TotalSeconds,
            // the worker runs one cell at a time: its CPU time over the cell is the cell's (all threads, the JIT of code first met here included)
            ["cpu_seconds"] = (Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalSeconds,
            // the processors this process could use: the machine's, or its share when cells run side by side (CellWorkers)
            ["processors"] = Environment.ProcessorCount,
            ["host"] = Environment.MachineName, ["engine_version"] = Numerics.EngineInfo.Version,
            ["finished_utc"] = DateTime.UtcNow.ToString("O"),
        };
        StudyOutput.WriteAtomically(Path.Combine(dir, "status.json"), s.ToJsonString(Study.Indented));
        return status == "done" ? ExitCodes.Done : ExitCodes.ToolFailed;
    }
}
