using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using ResOdeProofs.Numerics.IO;
using ResOdeProofs.Numerics.Training;
using ResOdeProofs.Cli.Sweep;
using ResOdeProofs.Theory;

namespace ResOdeProofs.Cli.Report;

/// <summary>
/// `resode report`: trains the paper's experiments (tied and i.i.d. initialization side by side),
/// evaluates every registered result on every run and ladder, runs the negative controls, and writes
/// index.html, report.md, results.json and figures/ into one directory, all at once.
/// </summary>
internal static class ReportCommand
{
    public static Command Build()
    {
        var preset = new Option<string>("--preset") { Description = "A built-in study with the report's page: quick (synthetic, small, under half a minute on 2 cores), paper (the configurations of the paper's figures 1 to 3) or tiny (seconds; every part of the page). `resode sweep show NAME` prints one.", DefaultValueFactory = _ => "quick" };
        var studyFile = new Option<string?>("--study") { Description = "Your own study file instead of a preset (start from `resode sweep show quick > mine.toml`; docs/studies.md)." };
        var jobs = new Option<int?>("--jobs") { Description = "Cells run at once, each in its own process (default: the number of cores)." };
        var outDir = new Option<string>("--out") { Description = "Report directory to write.", DefaultValueFactory = _ => "report" };
        var seed = new Option<long?>("--seed") { Description = "Seed of every run (replaces the study's seeds): fixes data, initializations and everything else. Default: the study's (0 in the presets)." };
        var force = new Option<bool>("--force") { Description = "Replace --out if it exists and is not empty, only when it is a report written by resode that holds nothing else (replaced only once the new report is complete)." };
        var timings = new Option<bool>("--timings") { Description = "Print the wall and CPU seconds of every part of the report at the end (the cells' CPU is the workers' sum; when the lanes ran out of work)." };
        var docsBase = new Option<string?>("--docs-base") { Description = "Link each verdict to BASE/docs/theorems/<page>.md (e.g. the repository's web view) instead of the pages the report carries in its docs/ folder." };
        var cmd = new Command("report", "The theorem-vs-experiment report: trains the paper's experiments (tied and i.i.d. initialization), checks every result of the theory layer on the runs, runs negative controls (broken settings and injected engine faults), and writes index.html, report.md, results.json, figures/ and runs/. Exit code 1 if a result is violated on a faithful run.")
        { preset, studyFile, outDir, seed, force, docsBase, jobs, timings };
        cmd.SetAction(pr =>
        {
            try
            {
                if (pr.GetValue(jobs) is int k && k < 1) return Ui.Fail("--jobs must be at least 1");
                if (pr.GetValue(studyFile) is string given && pr.GetResult(preset) is { Implicit: false })
                    return Ui.Fail($"--preset {pr.GetValue(preset)} and --study {given} name two studies: give one (a preset, or your study file)");
                var study = ReportStudy.Load(pr.GetValue(preset)!.ToLowerInvariant(), pr.GetValue(studyFile), pr.GetValue(seed));
                var settings = ReportStudy.Settings(study);
                string dir = pr.GetValue(outDir)!;
                int lanes = Lanes(pr.GetValue(jobs), study.Cells.Count);
                ReportContent? content = null;
                using (var claim = OutputClaim.Acquire(dir, pr.GetValue(force), "report"))
                // the cells' worker processes start as soon as the study is read and the output claimed, so that their start-up
                // runs beside the report's own set-up of the cells (their directories, the schedule, the side work)
                using (var workers = new CellWorkers(lanes).Prestart(lanes))
                using (var interrupts = Ui.OnInterrupt("interrupted: stopping; the partial report is removed (signal again, a second or more later, to kill)"))
                {
                    Ui.Notes(claim);
                    var options = new ReportOptions(pr.GetValue(docsBase), ResodeApp.CommandLine(pr));
                    claim.Commit(tmp => content = Generate(settings, tmp, interrupts.Token, options, pr.GetValue(jobs), workers));
                    Ui.Notes(claim);
                }
                var faithful = content!.FaithfulRows.ToList();
                int violated = faithful.Count(r => r.IsViolated);
                int inj = content.Controls.Count(k => k.IsFault), caught = content.Controls.Count(k => k.IsFault && k.Caught);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"report written to {dir} in {content.TotalSeconds:F1} s: {faithful.Count} verdict rows on faithful runs ({violated} violated); " +
                    $"slope tied {content.Tied.SmoothnessFit.Describe()}, i.i.d. {content.Iid.SmoothnessFit.Describe()}; faults caught {caught}/{inj}; open {Path.Combine(dir, "index.html")}"));
                if (pr.GetValue(timings)) PrintTimings(content);
                return violated > 0 ? ExitCodes.Violated : ExitCodes.Done;
            }
            catch (OperationCanceledException)
            {
                Console.Error.WriteLine($"interrupted: nothing was written to {pr.GetValue(outDir)}");
                return ExitCodes.ToolFailed;
            }
            catch (ReportCellsFailed e)
            {
                Console.Error.WriteLine($"error: {e.Message}; nothing was written to {pr.GetValue(outDir)} (run the study with `resode sweep run` to keep and inspect the cells)");
                return ExitCodes.ToolFailed;
            }
            catch (StudyException e)
            {
                return Ui.Fail(e.Message);
            }
            catch (Exception e) when (Ui.Expected(e))
            {
                return Ui.Fail(e.Message);
            }
        });
        return cmd;
    }

    /// <summary>The lines of the part running on this thread while the page's parts run side by side (<see cref="Parts"/>), else null.</summary>
    [ThreadStatic] private static List<string>? _partLog;

    /// <summary>Prints a line, or keeps it with the part that is running on this thread (printed in the parts' order when they end).</summary>
    private static void Log(string line)
    {
        if (_partLog is { } kept) kept.Add(line);
        else Console.WriteLine(line);
    }

    /// <summary>`report --timings`: every part's wall seconds and the CPU seconds it cost (this process, or the cells' workers).</summary>
    private static void PrintTimings(ReportContent c)
    {
        string F(double x) => double.IsNaN(x) ? "-" : x.ToString("F1", CultureInfo.InvariantCulture);
        Console.WriteLine("timings: part, wall s, CPU s (of this process; for the cells, of their workers)");
        foreach (var (k, v) in c.Timings.Where(kv => kv.Key != "cells_cpu"))
        {
            double cpu = k == "cells_train_and_verify" ? c.Timings.GetValueOrDefault("cells_cpu", double.NaN)
                : k == "figures" ? c.CpuSeconds.GetValueOrDefault("figures_and_pages", double.NaN) : c.CpuSeconds.GetValueOrDefault(k, double.NaN);
            string note = k == "cells_train_and_verify" && c.LaneEnds.Length > 0
                ? " (lanes ran out of work at " + string.Join(", ", c.LaneEnds.Select(F)) + " s; the side work ran on them)"
                : k is "figure_1_across_seeds" or "new_architectures" or "fashion_real_data" ? " (on the cells' lanes, summed over its jobs)" : "";
            Console.WriteLine($"  {k,-42} {F(v),8} {F(cpu),8}{note}");
        }
        Console.WriteLine($"  {"total",-42} {F(c.TotalSeconds),8} {F(c.CpuSeconds.GetValueOrDefault("report_process_total", double.NaN) + c.Timings.GetValueOrDefault("cells_cpu")),8}");
        if (c.Schedule.Count == 0) return;
        Console.WriteLine("schedule: lane, start s, end s, CPU s (a cell: its worker's; a side job: its thread's), estimate, item; in the order taken");
        foreach (var x in c.Schedule)
            Console.WriteLine($"  {x.Lane,2} {F(x.Start),8} {F(x.End),8} {F(x.CpuSeconds),8} {F(x.Cost),8}  {(x.IsCell ? "cell " : "side ")}{x.Name}");
    }

    /// <summary>
    /// The report as a study: runs the study's cells into <paramref name="dir"/>/cells (as `resode sweep run`:
    /// each a `train` run plus `verify` in its own process, <paramref name="jobs"/> at once), then builds the page
    /// from them (as `resode sweep merge`) and writes the report's files into <paramref name="dir"/>.
    /// </summary>
    /// <summary>
    /// The lanes of a report: --jobs (the processors when not given), and never more than the study has cells, since one worker
    /// process a lane is started before the cells are scheduled (a user's --jobs 100000 started a hundred thousand processes,
    /// and the report did not finish).
    /// </summary>
    internal static int Lanes(int? jobs, int cells) => Math.Max(1, Math.Min(jobs ?? Environment.ProcessorCount, cells));

    internal static ReportContent Generate(ReportSettings s, string dir, CancellationToken cancel, ReportOptions? options = null, int? jobs = null,
                                           CellWorkers? workers = null)
    {
        var study = s.Study ?? throw new InvalidOperationException("report settings without their study");
        Log($"resode report: study {study.Name} ({study.Cells.Count} cells), seed {s.Seed}");
        var sw = Stopwatch.StartNew();
        var output = new StudyOutput(dir);
        output.Prepare(study, Log, claimed: true);
        // The work that needs no cell (figure 1 across seeds, the architectures, Fashion-MNIST) shares the cells' lanes.
        var side = new ReportSideWork(s, dir, Log, cancel);
        var outcome = CellRunner.Run(study, output, study.Cells, Math.Max(1, jobs ?? Environment.ProcessorCount), retryFailed: false, cancel, side.Jobs, workers);
        workers?.Dispose(); // the cells are done: the workers end now, as those CellRunner starts itself do
        cancel.ThrowIfCancellationRequested();
        if (outcome.Failed + outcome.Unusable.Count > 0)
            throw new ReportCellsFailed($"{outcome.Failed + outcome.Unusable.Count} cell(s) of study {study.Name} failed: {string.Join("; ", outcome.FailedNames.Concat(outcome.Unusable))}");
        double cellSeconds = sw.Elapsed.TotalSeconds;
        var content = Assemble(s, output, dir, cancel, side: side, pageLanes: options?.PageLanes ?? 2);
        content.Timings[ReportWriter.TimingKey("cells (train and verify)")] = cellSeconds;
        // CPU seconds of the cells summed over the workers (each status.json's cpu_seconds), beside their wall time
        content.Timings[ReportWriter.TimingKey("cells cpu")] = study.Cells.Sum(c => StudyOutput.NumberOf(output.Status(c.Hash)?["cpu_seconds"]) ?? 0);
        content.TotalSeconds += cellSeconds;
        content.LaneEnds = outcome.LaneEnds;
        content.Schedule = outcome.Schedule;
        var c0 = ProcessCpu();
        ReportWriter.Write(content, dir, options);
        content.CpuSeconds["figures_and_pages"] = ProcessCpu() - c0;
        content.CpuSeconds["report_process_total"] = ProcessCpu();
        return content;
    }

    /// <summary>CPU seconds of this process so far (every thread).</summary>
    private static double ProcessCpu() => Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds;

    /// <summary>
    /// The page's content from a study's finished cells (`resode report`, and `resode sweep merge` of a study with the paper's
    /// layout; <paramref name="merged"/> when the caller has gathered the cells already). The study's own ladder rows are not
    /// evaluated here: the page evaluates its ladders itself (<see cref="Experiments.Ladder"/>).
    /// </summary>
    internal static ReportContent Assemble(ReportSettings s, StudyOutput output, string dir, CancellationToken cancel, StudyMerge.Merged? merged = null,
                                           ReportSideWork? side = null, int pageLanes = 2)
    {
        merged ??= StudyMerge.Gather(s.Study!, output, evaluateLadders: false);
        return Run(s, dir, cancel, ReportStudy.Runs(merged, output), side, pageLanes);
    }

    /// <summary>
    /// Measures every experiment of the report on its runs (from the study's cells), and runs the in-memory ones; the two sides
    /// of the page's parts at once when <paramref name="pageLanes"/> ≥ 2, else one after another (the same content).
    /// </summary>
    internal static ReportContent Run(ReportSettings s, string dir, CancellationToken cancel, Func<string, RunSpec, ReportRun> cells, ReportSideWork? side = null,
                                      int pageLanes = 2)
    {
        var total = Stopwatch.StartNew();
        // the side work that has not run beside the cells runs now, one job after another
        side ??= new ReportSideWork(s, dir, Log, cancel);
        side.RunRemaining();
        // The page's parts after the cells, on two threads: the tied ladder and what reads it (figure 1 across seeds, A.apriori's
        // clipped ladder) beside the i.i.d. ladder, figure 2 and the negative controls (which read the i.i.d. ladder). The two
        // sides share no run, view or buffer; each part's lines are printed in the order the parts had one after another, and
        // each side has its own Experiments (its timings), put together in that order.
        var exTied = new Experiments(s, Log, cancel, cells);
        var exRest = new Experiments(s, Log, cancel, cells);
        var parts = new Parts(pageLanes >= 2);
        LadderResult tied = null!, iid = null!;
        LongResult lg = null!;
        ReportRun? pl = null, flow = null;
        SeedSpread? seeds = null;
        BoundsResult bounds = null!;
        List<ControlResult> controls = null!;
        try
        {
            parts.Side(
                () =>
                {
                    tied = parts.Run(0, "figure 1 (tied ladder)", () => exTied.Ladder(InitKind.Tied));
                    seeds = parts.Run(5, "figure 1 across seeds (page)", () => side.Seeds(tied));
                    bounds = parts.Run(6, "A.apriori (clipped tied ladder)", () => exTied.Bounds(tied));
                },
                () =>
                {
                    iid = parts.Run(1, "figure 1 (iid ladder)", () => exRest.Ladder(InitKind.Iid));
                    lg = parts.Run(2, "figure 2 (long training)", exRest.Long);
                    pl = parts.Run(3, "figure 2 (run inside the PL hypotheses)", exRest.PlRun);
                    flow = parts.Run(4, "figure 2 (gradient flow)", exRest.FlowRun);
                    controls = parts.Run(7, "negative controls", () => exRest.Controls(iid));
                });
        }
        finally { parts.PrintLines(); }
        var ex = new Experiments(s, Log, cancel, cells);
        foreach (var label in new[] { "figure 1 (tied ladder)", "figure 1 (iid ladder)", "figure 2 (long training)", "figure 2 (run inside the PL hypotheses)",
                                      "figure 2 (gradient flow)", "A.apriori (clipped tied ladder)", "negative controls" })
            if (exTied.Timings.TryGetValue(label, out var t) || exRest.Timings.TryGetValue(label, out t)) ex.Record(label, t);
        var cpu = parts.CpuSeconds;
        controls.Insert(1, new ControlResult
        {
            Name = "i.i.d. single runs",
            Setting = "every run of the i.i.d. figure-1 ladder and the i.i.d. long run",
            // the single-run statements are a posteriori: they hold for any initialization, their constant (L·max_k‖ΔZ_k(0)‖)
            // growing with L on i.i.d. weights; what i.i.d. breaks is the rate in depth, which the i.i.d. ladder control shows
            Expected = "nothing violated: each single-run result holds for any initialization (its constant grows with L on i.i.d. weights); the i.i.d. ladder's rates are what fail",
            Rows = iid.Runs.SelectMany(r => r.Rows).Concat(lg.Iid.Rows).ToList(), IsClean = true,
        });

        var plRun = pl ?? lg.Tied;
        var envelope = Envelope(plRun.Rows);

        var fashion = side.Fashion();
        var architectures = side.Architectures;
        foreach (var (k, v) in side.Timings) ex.Record(k, v);
        Log("figures and pages");
        return new ReportContent
        {
            Settings = s, Tied = tied, Iid = iid, Long = lg, PlRun = pl, FlowRun = flow, Seeds = seeds, Controls = controls,
            Timings = ex.Timings.ToDictionary(kv => ReportWriter.TimingKey(kv.Key), kv => kv.Value),
            TotalSeconds = total.Elapsed.TotalSeconds, Envelope = envelope,
            Bounds = bounds, Fashion = fashion, FashionNote = side.FashionNote, Architectures = architectures, CpuSeconds = cpu,
        };
    }

    /// <summary>
    /// The page's parts after the cells, run on two threads (<see cref="Side"/>): each part's log lines are kept
    /// (<see cref="Run{T}"/>, by its place in the order the parts had one after another) and printed in that order at the
    /// end (<see cref="PrintLines"/>); each part's CPU seconds are its thread's.
    /// </summary>
    private sealed class Parts(bool sideBySide)
    {
        private readonly SortedDictionary<int, List<string>> _lines = new();
        public Dictionary<string, double> CpuSeconds { get; } = new();

        public T Run<T>(int order, string label, Func<T> f)
        {
            var lines = new List<string>();
            lock (_lines) _lines[order] = lines;
            var outer = _partLog;
            _partLog = lines;
            double c0 = Numerics.ThreadClock.Seconds();
            try { return f(); }
            finally
            {
                _partLog = outer;
                lock (_lines) CpuSeconds[ReportWriter.TimingKey(label)] = Numerics.ThreadClock.Seconds() - c0;
            }
        }

        /// <summary>
        /// Runs <paramref name="a"/> on a thread of its own beside <paramref name="b"/> on this one (or a, then b, on this one
        /// when the parts are not side by side); the first failure is rethrown after both ended.
        /// </summary>
        public void Side(Action a, Action b)
        {
            if (!sideBySide) { a(); b(); return; }
            System.Runtime.ExceptionServices.ExceptionDispatchInfo? fa = null;
            var t = new Thread(() =>
            {
                try { a(); }
                catch (Exception e) { fa = System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e); }
            }) { IsBackground = true, Name = "report page" };
            t.Start();
            System.Runtime.ExceptionServices.ExceptionDispatchInfo? fb = null;
            try { b(); }
            catch (Exception e) { fb = System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e); }
            t.Join();
            // a cancellation on either side is reported as such, before any other failure
            if (fb?.SourceException is OperationCanceledException) fb.Throw();
            fa?.Throw();
            fb?.Throw();
        }

        public void PrintLines()
        {
            foreach (var lines in _lines.Values)
                foreach (var l in lines) Log(l);
        }
    }

    /// <summary>
    /// A PL constant μ from the registry, if a result evaluated on the long run returns one among its
    /// constants (named mu0, mu_0, μ0, μ₀, mu or μ): the envelope ℓ(0)·e^{−μt}.
    /// </summary>
    /// <summary>
    /// The rate the PL results prove for this run, for the loss figure's envelope and figure 2's rate row: C.gdDecay's
    /// predicted_rate μ₀/8 (gradient descent's guarantee ε(t) ≤ ε(0)e^{−μ₀t/8}), else μ₀/8 from C.mu0's μ₀, named as such.
    /// (It once drew exp(−μ₀t) and compared the fitted rate with μ₀: eight times the rate any result states.)
    /// </summary>
    private static (double Mu, string From)? Envelope(IEnumerable<Registry.VerdictRow> rows)
    {
        var list = rows.ToList();
        foreach (var r in list.Where(r => r.Id == "C.gdDecay"))
            foreach (var (n, v) in r.Constants)
                if (n == "predicted_rate" && double.IsFinite(v) && v > 0) return (v, "C.gdDecay's proven rate μ₀/8");
        foreach (var r in list.Where(r => r.Id == "C.mu0"))
            foreach (var (n, v) in r.Constants)
                if (n is "mu0" or "mu_0" && double.IsFinite(v) && v > 0) return (v / 8, "μ₀/8 from C.mu0's μ₀, C.gdDecay's rate");
        return null;
    }
}
