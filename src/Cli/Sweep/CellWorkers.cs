using System.Diagnostics;
using System.Globalization;

namespace ResOdeProofs.Cli.Sweep;

/// <summary>
/// Long-lived child processes that run cells one after another (`resode sweep exec-cells`): a cell costs its training and
/// verification, not a process start and the compilation of the whole tool again (about one CPU second per cell, most of
/// a small cell's cost). Each cell still runs outside the parent process, in the same order of operations as in a process
/// of its own (the same seed and thread count give the same bits), with its output in its own log.txt. A worker that dies
/// takes only its current cell with it: that cell is reported with the worker's exit code, and the next cell starts a
/// fresh worker.
/// </summary>
internal sealed class CellWorkers : IDisposable
{
    /// <summary>The line a worker writes to its standard output after each cell: the prefix, then the cell's exit code.</summary>
    internal const string DonePrefix = "resode-cell-exit ";

    private readonly Stack<Worker> _idle = new();
    private readonly List<Worker> _all = new();
    private readonly int _processors;
    private bool _disposed;

    /// <summary>
    /// Workers for <paramref name="jobs"/> cells at once. When they share the machine (more than one job), each worker sees
    /// its share of the processors, ⌊cores / jobs⌋ and at least one (the runtime's <c>DOTNET_PROCESSOR_COUNT</c>), so that a
    /// verification does not put a second thread of its own (the replay's observer, its parallel loops) beside the other
    /// cells' work: on 2 cores two figure-2 verifies side by side, each on one thread, took 52.9–54.3 s for the pair
    /// against 56.6–58.2 s on two threads each (2026-12-04, docs/performance.md). A thread's share changes no number: which
    /// thread runs a part of a verification never does, and a training's threads are its recorded <c>--threads</c>.
    /// </summary>
    public CellWorkers(int jobs = 1)
    {
        _processors = ProcessorShare(jobs);
    }

    /// <summary>
    /// The processors each of <paramref name="jobs"/> workers sees: ⌊cores / jobs⌋, at least 1, where the cores are the
    /// process's, or the CPUs Slurm allocated to the task (SLURM_CPUS_PER_TASK) when fewer: a cluster without CPU binding
    /// (TaskPlugin=task/none) shows a task the whole node, and its cells took every core of it beside the other tasks
    /// (user test on Slurm: --cpus 1, two tasks on a 2-core node, each cell seeing 2 processors).
    /// </summary>
    internal static int ProcessorShare(int jobs)
    {
        int cores = Environment.ProcessorCount;
        if (int.TryParse(Environment.GetEnvironmentVariable("SLURM_CPUS_PER_TASK"), out int allocated) && allocated > 0) cores = Math.Min(cores, allocated);
        return Math.Max(1, cores / Math.Max(1, jobs));
    }

    /// <summary>
    /// Runs the cell in DIR in an idle worker (a new one when none is idle) and returns its exit code; the worker's
    /// standard error during the cell (what the runtime itself prints, e.g. on a fatal error) is appended to
    /// <paramref name="log"/>. Cancellation ends the worker at once.
    /// </summary>
    public int Run(string dir, Action<string> log, CancellationToken cancel)
    {
        Worker w;
        lock (_idle)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (!_idle.TryPop(out w!)) { w = Worker.Start(_processors); _all.Add(w); }
        }
        int? exit = null;
        try
        {
            using (cancel.Register(w.Kill))
                exit = w.Exec(dir, log);
            return exit ?? w.ExitCode();
        }
        finally
        {
            lock (_idle)
            {
                if (exit is not null && !_disposed && !cancel.IsCancellationRequested) _idle.Push(w);
                else { w.Kill(); _all.Remove(w); w.Dispose(); }
            }
        }
    }

    /// <summary>
    /// Starts workers until <paramref name="count"/> are idle, before any cell is known: their process start-up then runs
    /// beside the caller's own set-up (reading the study, claiming the output) instead of after it.
    /// </summary>
    public CellWorkers Prestart(int count)
    {
        lock (_idle)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            while (_idle.Count < count) { var w = Worker.Start(_processors); _all.Add(w); _idle.Push(w); }
        }
        return this;
    }

    public void Dispose()
    {
        List<Worker> all;
        lock (_idle) { _disposed = true; all = new List<Worker>(_all); _all.Clear(); _idle.Clear(); }
        // every worker is told to end before any is waited for: they shut down side by side
        foreach (var w in all) w.CloseInput();
        foreach (var w in all) { w.Close(); w.Dispose(); }
    }

    /// <summary>The child side: reads cell directories from standard input, one a line, and runs each (see <see cref="CellRunner.ExecCell"/>).</summary>
    public static int Serve()
    {
        // a worker never outlives the `sweep run` that started it: killed (SIGKILL, no handler runs), that process leaves
        // its workers running, and a cell's claim names the dead one, so a run started again would take the cell over while
        // the orphan still writes it (a user test: two processes in one cell). The worker watches its parent and ends
        // itself when reparented; the cell it was running is left without a status and is run again (its log kept).
        WatchParent();
        var reply = Console.Out;
        var err = Console.Error;
        string home = Directory.GetCurrentDirectory();
        string? dir;
        while ((dir = Console.In.ReadLine()) is not null)
        {
            if (dir.Length == 0) continue;
            int code;
            using (var log = new StreamWriter(Path.Combine(dir, "log.txt"), append: true) { AutoFlush = true })
            {
                Console.SetOut(log); Console.SetError(log);
                try { code = CellRunner.ExecCell(dir); }
                catch (Exception e)
                {
                    log.WriteLine($"error: the cell failed unexpectedly ({e.GetType().Name}: {e.Message.Split('\n')[0]})");
                    code = ExitCodes.ToolFailed;
                }
                finally { Console.SetOut(reply); Console.SetError(err); Directory.SetCurrentDirectory(home); }
            }
            reply.WriteLine(DonePrefix + code.ToString(CultureInfo.InvariantCulture));
            reply.Flush();
        }
        return ExitCodes.Done;
    }

    /// <summary>Ends this process (exit 3) once its parent process is gone (Linux: the parent id read from /proc/self/stat
    /// changes when the parent dies and the process is reparented); elsewhere, nothing.</summary>
    private static void WatchParent()
    {
        static int ParentId()
        {
            try
            {
                // "pid (comm) state ppid …": the fields after the last ')'
                string stat = File.ReadAllText("/proc/self/stat");
                var rest = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                return int.Parse(rest[1], CultureInfo.InvariantCulture);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException or ArgumentOutOfRangeException) { return -1; }
        }
        int parent = ParentId();
        if (parent <= 1) return;
        var t = new Thread(() =>
        {
            while (true)
            {
                Thread.Sleep(500);
                if (ParentId() != parent)
                {
                    // the exit runs no writer's clean-up: the temporaries being written (a status.json of this cell) go first
                    Numerics.IO.InFlightFiles.DeleteAll();
                    Environment.Exit(ExitCodes.ToolFailed);
                }
            }
        }) { IsBackground = true, Name = "parent watch" };
        t.Start();
    }

    private sealed class Worker : IDisposable
    {
        private readonly Process _p;
        private Action<string>? _log;

        private Worker(Process p) { _p = p; }

        public static Worker Start(int processors)
        {
            var (file, prefix) = CellRunner.Self();
            var psi = new ProcessStartInfo(file)
            {
                RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
            };
            if (processors < Environment.ProcessorCount)
                psi.Environment["DOTNET_PROCESSOR_COUNT"] = processors.ToString(CultureInfo.InvariantCulture);
            foreach (var a in prefix) psi.ArgumentList.Add(a);
            psi.ArgumentList.Add("sweep"); psi.ArgumentList.Add("exec-cells");
            var w = new Worker(new Process { StartInfo = psi });
            w._p.ErrorDataReceived += (_, e) => { if (e.Data is not null) Volatile.Read(ref w._log)?.Invoke(e.Data); };
            w._p.Start();
            w._p.BeginErrorReadLine();
            return w;
        }

        /// <summary>The cell's exit code, or null when the worker ended before answering.</summary>
        public int? Exec(string dir, Action<string> log)
        {
            Volatile.Write(ref _log, log);
            try
            {
                try { _p.StandardInput.WriteLine(dir); _p.StandardInput.Flush(); }
                catch (IOException) { return null; } // the worker is gone
                string? line;
                while ((line = _p.StandardOutput.ReadLine()) is not null)
                {
                    if (line.StartsWith(DonePrefix, StringComparison.Ordinal)
                        && int.TryParse(line.AsSpan(DonePrefix.Length), NumberStyles.Integer, CultureInfo.InvariantCulture, out int code))
                        return code;
                    log(line); // anything else the worker printed outside a cell's log
                }
                return null;
            }
            finally { Volatile.Write(ref _log, null); }
        }

        public int ExitCode()
        {
            _p.WaitForExit();
            return _p.ExitCode;
        }

        public void Kill()
        {
            try { if (!_p.HasExited) _p.Kill(entireProcessTree: true); }
            catch (InvalidOperationException) { }
        }

        /// <summary>Closes the worker's input: it finishes its loop and ends.</summary>
        public void CloseInput()
        {
            try { _p.StandardInput.Close(); } catch (IOException) { }
        }

        /// <summary>Ends the worker by closing its input (it finishes the loop) and waits for it.</summary>
        public void Close()
        {
            CloseInput();
            if (!_p.WaitForExit(10_000)) Kill();
        }

        public void Dispose() => _p.Dispose();
    }
}
