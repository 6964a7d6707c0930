using System.CommandLine;
using System.Globalization;
using ResOdeProofs.Numerics.IO;
using ResOdeProofs.Theory;

namespace ResOdeProofs.Cli;

/// <summary>`resode verify`: evaluates every applicable result on run directories and writes verdicts.json.</summary>
internal static class VerifyCommand
{
    /// <summary>The exit code for a set of rows (ExitCodes): Violated when any row is violated (a theorem failed,
    /// whatever else happened), else ToolFailed when any row is `error` (a check could not be evaluated), else Done.</summary>
    internal static int ExitCodeFor(IReadOnlyCollection<Registry.VerdictRow> rows) =>
        rows.Any(r => r.IsViolated) ? ExitCodes.Violated : rows.Any(r => r.IsError) ? ExitCodes.ToolFailed : ExitCodes.Done;

    public static Command Build()
    {
        var dirs = new Argument<string[]>("RUN_DIR") { Description = "Run directories (one run, or a ladder of runs that differ only in depth).", Arity = ArgumentArity.OneOrMore };
        var quiet = new Option<bool>("--quiet") { Description = "Print only the summary line." };
        var timings = new Option<bool>("--timings") { Description = "Also print the wall and CPU seconds of every check, costliest first (a check that first computes a quantity shared with others, e.g. the evidence replay, pays for it; its row also says how long the split statements' observer took inside it, the flow replay's row likewise for the flow's; the snapshot references computed on a thread of their own beside the rows (by a verify of every result all three of them, by a selection with a B row B.bound's analysis with its reference solves) are listed with their own wall and CPU, which the rows they ran beside carry)." };
        var writeIndex = new Option<string?>("--write-index") { Description = "Also write the results index (Markdown, e.g. docs/theorems/index.md) generated from these runs. An existing file is replaced only if this option wrote it." };
        var only = new Option<string[]>("--only")
        {
            Description = "Evaluate only these results: ids or prefixes ending in '.' or '*' (e.g. --only B.bound,I. or --only 'B.bound*' or --only A.split --only E.replay; '*' alone chooses every result; a former id such as G.B.bound stands for its current one). verdicts.json then lists the selection and holds only these rows. An id or prefix that names no result is bad usage (exit 2). Without it, every result. A selection without the split statements replays without their observer; one with them but without a centre statement (A.split.centre.segments, A.split.centre.remainder and their A.flow forms), without the centre (the same rows, less work).",
            AllowMultipleArgumentsPerToken = false,
        };
        var progress = new Option<bool>("--progress") { Description = "Print to stderr how far each replay of gradient descent has come (a line at every tenth of its iterates). On by default when both outputs are a terminal (after the first 2 s, so that a short verification prints nothing), unless --quiet." };
        var cmd = new Command("verify", "Evaluate every result and lemma of the theory layer on run directories; print verdict, measured, bound and tightness; write verdicts.json into each run directory. Exit code 1 if a result is violated, else 3 if a check could not be evaluated (verdict `error`).")
        { dirs, quiet, writeIndex, timings, only, progress };
        // internal (a study's cell): the verifier's replayed columns of the one run, for the report's ladder results
        var evidenceColumns = new Option<string?>("--evidence-columns") { Description = "Also write the replay's per-iterate evidence columns of one run (CSV) to this file (a study's cells keep them for the report's ladder results; docs/run-format.md). An MLP or block run; a bn-conv run has none." };
        cmd.Options.Add(evidenceColumns);
        cmd.SetAction(pr =>
        {
            try
            {
                // a directory given twice is verified once (its verdicts.json written once), said
                var given = pr.GetValue(dirs)!;
                // ("" would reach Path.GetFullPath, whose message names no argument)
                if (given.Any(string.IsNullOrWhiteSpace)) throw new ArgumentException("a run directory given is empty (\"\"): give the path of a run directory");
                var paths = given.DistinctBy(p => Path.TrimEndingDirectorySeparator(Path.GetFullPath(p)), StringComparer.Ordinal).ToArray();
                if (paths.Length < given.Length) Console.Error.WriteLine($"note: a run directory given more than once is verified once ({given.Length - paths.Length} repeat(s) dropped)");
                var indexPath = pr.GetValue(writeIndex);
                var patterns = Patterns(pr.GetValue(only));
                var select = Registry.selection(patterns);
                // the index tabulates every result: it is not written from a selection
                if (!patterns.IsEmpty && indexPath is not null) throw new ArgumentException("--write-index writes the index of every result: give it without --only");
                double cpu0 = Registry.processCpuSeconds();
                var wall = System.Diagnostics.Stopwatch.StartNew();
                // claim the index before the work: fail now, not after verifying, if it cannot be written
                if (indexPath is not null) ClaimIndex(indexPath);
                var columnsPath = pr.GetValue(evidenceColumns);
                if (columnsPath is not null)
                {
                    if (paths.Count() != 1) throw new ArgumentException("--evidence-columns takes one run directory");
                    EvidenceColumns.Claim(columnsPath);
                }
                // asked for: every line; by default on a terminal only once the verification has taken 2 s (a short one stays quiet)
                if (pr.GetValue(progress)) Numerics.Verification.ReplayProgress.Sink = ProgressLines(Console.Error);
                else if (Ui.Interactive && !pr.GetValue(quiet)) Numerics.Verification.ReplayProgress.Sink = ProgressLines(Console.Error, TimeSpan.FromSeconds(2));
                var all = new List<Registry.VerdictRow>();
                // one path for every run: each gets the results of its architecture (a bn-conv run, trained by mini-batch SGD
                // with batch norm, those of BnConvResults); several runs of one architecture and distinct depths are a ladder
                // (for the MLP checked from the evidence before any work: data, settings, the initial function of depth);
                // otherwise each is verified on its own, with a note
                // what each run directory holds before it is read: its verdicts are written only beside the same run (below)
                var held = paths.Select(RunDirectory.Fingerprint).ToList();
                var runs = paths.Select(Registry.loadRun).ToList();
                // a key run.json defines no meaning for is ignored: said, with the key it may have meant
                foreach (var run in runs.OfType<Registry.OpenRun.RunOf>())
                {
                    foreach (var (key, nearest) in run.Item.Data.UnknownRunJsonKeys)
                        Console.Error.WriteLine($"note: {Path.Combine(run.Item.Directory, "run.json")}: key \"{key}\" is not part of the format and is ignored{(nearest is null ? "" : $" (did you mean \"{nearest}\"?)")}");
                    foreach (var note in run.Item.Data.ReadNotes) Console.Error.WriteLine($"note: {note}");
                }
                // each run's verdicts.json is claimed before the work: a file of that name the tool did not write stays
                foreach (var run in runs)
                    if (Registry.foreignVerdicts(run.Directory) is { } why) throw new IOException(why.Value);
                // and each directory must take a file: a read-only run fails here, not after its checks
                foreach (var run in runs)
                    OutputFile.ProbeWritable(run.Directory, "verdicts.json", $"{Path.Combine(run.Directory, "verdicts.json")} cannot be written",
                        "verify writes its verdicts beside the run: copy the run directory somewhere writable and verify the copy");
                // a selection that chooses nothing these runs get is refused before the work, not answered with an empty table
                if (!patterns.IsEmpty && !ChoosesAny(runs, select))
                    throw new ArgumentException($"--only {string.Join(",", patterns)}: none of these results is evaluated on {(runs.Count == 1 ? "this run" : "these runs")} (each run gets the results of its architecture; the rate results need several runs of distinct depths)");
                var ladderRows = new List<Registry.VerdictRow>();
                if (runs.Count > 1)
                {
                    var ladder = Registry.verifyLadderOfSelected(select, Microsoft.FSharp.Collections.ListModule.OfSeq(runs));
                    if (ladder.IsOk) ladderRows = ladder.ResultValue.ToList();
                    else if (ladder.ErrorValue.Item2) throw new ArgumentException(ladder.ErrorValue.Item1);
                    else Console.Error.WriteLine($"note: {ladder.ErrorValue.Item1}");
                }
                var changed = new List<string>();
                for (int i = 0; i < runs.Count; i++)
                {
                    var run = runs[i];
                    var rows = Registry.verifyOpen(select, run).ToList();
                    // a Fashion-MNIST cell's run directory (run.json "fashion"): its E.profile and E.accuracy rows too
                    if (run is Registry.OpenRun.RunOf cell && cell.Item.IsMlp && cell.Item.Data.Meta.Fashion is { } fashion)
                        rows.AddRange(FashionExperiment.VerifyCellRows(cell.Item, fashion, select.Invoke));
                    all.AddRange(rows);
                    // a run replaced or changed while it was verified (another process's `train --force` onto it, an edit) does
                    // not get these verdicts: they are of the run that was read
                    if (RunDirectory.Fingerprint(run.Directory) != held[i]) { changed.Add(run.Directory); continue; }
                    Registry.writeVerdictsOf(run.Directory, patterns, Microsoft.FSharp.Collections.ListModule.OfSeq(rows.Concat(ladderRows)));
                }
                if (changed.Count > 0)
                    throw new IOException($"{string.Join(", ", changed)} changed while it was verified (its run.json or .npy files were replaced or written): its verdicts.json was not written; verify it again once nothing else writes it");
                all.AddRange(ladderRows);
                if (columnsPath is not null)
                {
                    if (runs[0] is Registry.OpenRun.RunOf one && one.Item.VerifiedColumns is { } cols) EvidenceColumns.Write(columnsPath, cols.Value);
                    // no certified columns this time: a file of ours from an earlier verify (claimed above) must not outlive it
                    else
                    {
                        EvidenceColumns.DeleteOurs(columnsPath);
                        Console.Error.WriteLine($"note: --evidence-columns {columnsPath}: no file written: {(runs[0] is Registry.OpenRun.BnConvRunOf ? "a bn-conv run has no replay whose columns it would hold" : "this verify certified no replay columns (the replay was not run or did not hold)")}");
                    }
                }
                if (!pr.GetValue(quiet)) Print(all);
                if (pr.GetValue(timings))
                    PrintTimings(all, wall.Elapsed.TotalSeconds, Registry.processCpuSeconds() - cpu0,
                        runs.OfType<Registry.OpenRun.RunOf>().SelectMany(r => r.Item.BesideTheRows.Select(p => (r.Item.Directory, p))).ToList());
                if (indexPath is not null)
                {
                    var command = "resode verify --write-index " + indexPath + " " + string.Join(" ", paths);
                    OutputFile.WriteAtomically(indexPath, Registry.indexMarkdown(command, Microsoft.FSharp.Collections.ListModule.OfSeq(all)));
                    Console.WriteLine($"results index written to {indexPath}");
                }
                int violated = all.Count(r => r.IsViolated);
                int errors = all.Count(r => r.IsError);
                int holds = all.Count(r => r.Verdict == "holds");
                if (errors > 0 && CheckFailureDetails(Environment.GetCommandLineArgs().Skip(1).ToArray()) is { } where)
                    Console.Error.WriteLine($"note: {errors} check(s) raised instead of giving a verdict (a failure of the tool, not of the run): {where}");
                var chosen = patterns.IsEmpty ? "" : $" (chosen by --only {string.Join(",", patterns)})";
                Console.WriteLine($"{all.Count} result{(all.Count == 1 ? "" : "s")}{chosen}: {holds} hold, {violated} violated, {errors} error, {all.Count - holds - violated - errors} hypothesis not met or not applicable; verdicts.json written");
                foreach (var line in UnreplayedNotes(all)) Console.Error.WriteLine(line);
                return ExitCodeFor(all);
            }
            catch (Exception e) when (Ui.Expected(e) || e is IdxFormatException)
            {
                return Ui.Fail(e);
            }
            finally { Numerics.Verification.ReplayProgress.Sink = null; }
        });
        return cmd;
    }

    /// <summary>
    /// A note per run whose replay (E.replay, E.flowReplay) did not meet its hypothesis: what it could not certify was compared
    /// with no replay, so exit 0 there says that no comparison failed, not that the run was reproduced (a user read a forged
    /// loss inside such a segment, exit 0, as a pass). Printed with --quiet too.
    /// </summary>
    internal static IEnumerable<string> UnreplayedNotes(IEnumerable<Registry.VerdictRow> rows) =>
        rows.Where(r => r.Id is "E.replay" or "E.flowReplay" && r.Verdict == "hypothesis not met")
            .Select(r => $"note: {r.Id} on {r.Input}: hypothesis not met, so the iterations it could not certify were compared with no replay: exit 0 means that no comparison failed, not that the run was reproduced (its row names the iterations and the snapshot spacing that would certify them)");

    /// <summary>
    /// Where the stack traces of the checks that raised went (<see cref="Registry.checkFailures"/>, drained): printed above
    /// with RESODE_DEBUG=1, else written to a log file in the temporary directory; null when no check raised. The exit-code
    /// contract names a log for every failure of the tool; an `error` row is one.
    /// </summary>
    internal static string? CheckFailureDetails(string[] args)
    {
        var failures = new List<string>();
        while (Registry.checkFailures.TryDequeue(out var f))
        {
            var (id, input, ex) = f;
            failures.Add($"{id} on {input}:\n{ex}\n");
        }
        if (failures.Count == 0) return null;
        if (Environment.GetEnvironmentVariable(ResodeApp.DebugVariable) is { Length: > 0 } v && v != "0")
        {
            foreach (var f in failures) Console.Error.WriteLine(f);
            return "the stack traces are above";
        }
        try
        {
            // a name of its own, created new: never a file that was there before
            var log = Path.Combine(Path.GetTempPath(), $"resode-check-errors-{Environment.ProcessId}-{Guid.NewGuid():N}.log");
            using (var f = new FileStream(log, FileMode.CreateNew, FileAccess.Write)) { }
            File.WriteAllText(log, $"{DateTime.UtcNow:O}\nresode {string.Join(" ", args)}\nengine {Numerics.EngineInfo.Version} ({Numerics.EngineInfo.Commit})\n\n{string.Join("\n", failures)}");
            return $"the stack traces are in {log}, or rerun with {ResodeApp.DebugVariable}=1 to print them";
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return $"rerun with {ResodeApp.DebugVariable}=1 to print the stack traces"; }
    }

    /// <summary>
    /// The sink of `--progress`: one line on <paramref name="err"/> when a replay starts (iterate 0 or an iterate below the
    /// one last shown for that run: a second replay of it) and at every tenth of its iterates after that, up to the last;
    /// nothing before <paramref name="quietFor"/> has passed since the sink was made (by <paramref name="elapsed"/>, a
    /// stopwatch started now unless given). A line that cannot be written (stderr closed or full) ends the display
    /// silently: it never reaches the verification.
    /// </summary>
    internal static Action<string?, int, int> ProgressLines(TextWriter err, TimeSpan quietFor = default, Func<TimeSpan>? elapsed = null)
    {
        if (elapsed is null)
        {
            var clock = System.Diagnostics.Stopwatch.StartNew();
            elapsed = () => clock.Elapsed;
        }
        var gate = new object();
        var shown = new Dictionary<string, (int Iterate, int Tenth)>(StringComparer.Ordinal);
        bool broken = false;
        return (run, iterate, last) =>
        {
            if (Volatile.Read(ref broken) || (quietFor > TimeSpan.Zero && elapsed() < quietFor)) return;
            int tenth = last <= 0 ? 10 : (int)(10L * iterate / last);
            string key = run ?? "";
            lock (gate)
            {
                if (shown.TryGetValue(key, out var was) && iterate >= was.Iterate && tenth == was.Tenth) return;
                shown[key] = (iterate, tenth);
                try
                {
                    err.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"verify{(run is null ? "" : " " + run)}: replaying iterate {iterate} of {last}"));
                }
                catch (Exception e) when (e is IOException or ObjectDisposedException or UnauthorizedAccessException) { Volatile.Write(ref broken, true); }
            }
        };
    }

    /// <summary>
    /// The patterns of `--only` (each value may hold several, comma-separated), in order, without repeats; every one must
    /// choose some result of the registry (<see cref="Registry.unknownPatterns"/>), or the command is bad usage.
    /// </summary>
    internal static Microsoft.FSharp.Collections.FSharpList<string> Patterns(string[]? values)
    {
        var list = (values ?? [])
            .SelectMany(v => v.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            .Distinct(StringComparer.Ordinal).ToList();
        if (values is { Length: > 0 } && list.Count == 0) throw new ArgumentException("--only: give result ids or prefixes (e.g. --only B.bound,I.)");
        // '*' chooses every result: the selection is the whole verification (its verdicts.json is a whole one, not a selection)
        if (list.Contains("*")) list.Clear();
        var fs = Microsoft.FSharp.Collections.ListModule.OfSeq(list);
        var unknown = Registry.unknownPatterns(fs);
        if (!unknown.IsEmpty)
        {
            // the families, for the message: each known id's part up to its first '.'
            var families = Registry.knownIds.Where(id => id.Contains('.')).Select(id => id[..(id.IndexOf('.') + 1)]).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal);
            throw new ArgumentException($"--only: no result has the id or prefix {string.Join(", ", unknown.Select(u => $"'{u}'"))} (ids are as `resode verify` prints them, e.g. A.split, B.bound.secant; the prefixes {string.Join(" ", families)}; every id in docs/theorems/index.md)");
        }
        return fs;
    }

    /// <summary>Whether the selection chooses a result that one of these runs, or their ladder, gets.</summary>
    private static bool ChoosesAny(IReadOnlyList<Registry.OpenRun> runs, Microsoft.FSharp.Core.FSharpFunc<string, bool> select) =>
        runs.Any(r => Registry.idsOf(r).Any(select.Invoke))
        || runs.Count > 1 && (Registry.ladderIdsOf(true).Any(select.Invoke) || Registry.ladderIdsOf(false).Any(select.Invoke));

    /// <summary>Checks that the index can be written: its directory exists, and an existing file is one this option wrote.</summary>
    private static void ClaimIndex(string path)
    {
        OutputFile.Claim(path, "--write-index", p =>
        {
            using var reader = new StreamReader(p);
            return reader.ReadLine() == Registry.IndexMarker;
        });
    }

    /// <summary>The per-check cost table of `--timings`: rows with any cost, costliest (CPU) first, then the totals.</summary>
    private static void PrintTimings(IReadOnlyList<Registry.VerdictRow> rows, double wall, double cpu,
        IReadOnlyList<(string Input, Theory.BesidePart Part)> beside)
    {
        Console.WriteLine($"  {"result",-28} {"input",-30} {"wall s",8} {"CPU s",8}");
        foreach (var r in rows.Where(r => r.Seconds > 0 || r.CpuSeconds > 0).OrderByDescending(r => r.CpuSeconds))
        {
            var input = r.Input.Length <= 30 ? r.Input : "…" + r.Input[^29..];
            Console.WriteLine(FormattableString.Invariant($"  {r.Id,-28} {input,-30} {r.Seconds,8:F3} {r.CpuSeconds,8:F3}"));
            // only when the observer's jobs fit in this row's wall: a split row that replays once more on its own (a view replayed
            // before, or the centre asked for after a replay without it) pays for its observer itself
            if (r.Id == "E.replay" && ObserverSeconds(rows, r.Input) is var (split, centre) && split <= r.Seconds)
                Console.WriteLine(FormattableString.Invariant(
                    $"    of it, the split statements' observer: {split:F3} s wall of its jobs{(centre is double c ? $" (the linearised centre's steps {c:F3} s, summed over the threads that ran them)" : "")}; a selection without these statements (e.g. --only E.replay) replays without it"));
            if (r.Id == "E.flowReplay" && FlowObserverSeconds(rows, r.Input) is double flow && flow <= r.Seconds)
                Console.WriteLine(FormattableString.Invariant(
                    $"    of it, the flow's split statements' observer: {flow:F3} s at the integration's stages; a selection without them (e.g. --only E.flowReplay) integrates without it"));
        }
        // the snapshot references computed on a thread of their own while the rows ran: their CPU is in the rows' (a row's CPU is
        // the process's over its wall), the replay's above all, not in the rows that read them
        if (beside.Count > 0)
        {
            Console.WriteLine("  beside the rows, on a thread of their own (wall, CPU of that thread; their CPU is counted in the rows they ran beside, not in the rows that read them; a part a row asked for first was paid in that row):");
            foreach (var (input, p) in beside)
            {
                var name = beside.Select(b => b.Input).Distinct().Count() > 1 ? $"{p.Part} ({Path.GetFileName(input)})" : p.Part;
                var cpuText = double.IsFinite(p.CpuSeconds) ? p.CpuSeconds.ToString("F3", CultureInfo.InvariantCulture) : "-";
                Console.WriteLine(FormattableString.Invariant($"    {name,-57} {p.Seconds,8:F3} {cpuText,8}  read by {p.ReadBy}{(p.Detail.Length > 0 ? "; " + p.Detail : "")}"));
            }
        }
        Console.WriteLine(FormattableString.Invariant($"  {"checks",-28} {"",-30} {rows.Sum(r => r.Seconds),8:F3} {rows.Sum(r => r.CpuSeconds),8:F3}"));
        Console.WriteLine(FormattableString.Invariant($"  {"verify (loading, checks, writing)",-59} {wall,8:F3} {cpu,8:F3}"));
        // what the managed heap cost: a check that allocates much pays in collections and in fresh pages, not in its own CPU
        Console.WriteLine(FormattableString.Invariant(
            $"  managed heap: {GC.GetTotalAllocatedBytes() / 1e9:F2} GB allocated, collections gen0/1/2 {GC.CollectionCount(0)}/{GC.CollectionCount(1)}/{GC.CollectionCount(2)}, paused {GC.GetTotalPauseDuration().TotalSeconds:F2} s"));
        // and what compiling the code cost (every thread's JIT time; a short verify pays it as a fixed cost)
        Console.WriteLine(FormattableString.Invariant(
            $"  code compiled: {System.Runtime.JitInfo.GetCompiledMethodCount()} methods in {System.Runtime.JitInfo.GetCompilationTime().TotalSeconds:F2} s"));
        Console.WriteLine();
    }

    /// <summary>
    /// What the split statements' observer took inside the replay of one input, from their rows' constants ("split recursion
    /// seconds", "centre recursion seconds": the observer's jobs on their lane, the centre's share): null when no split row
    /// of that input ran its recursion.
    /// </summary>
    private static (double Split, double? Centre)? ObserverSeconds(IReadOnlyList<Registry.VerdictRow> rows, string input)
    {
        double? split = null, centre = null;
        foreach (var r in rows.Where(r => r.Input == input))
            foreach (var (n, v) in r.Constants)
            {
                if (!double.IsFinite(v)) continue;
                if (n == "split recursion seconds") split = Math.Max(split ?? 0, v);
                else if (n == "centre recursion seconds") centre = Math.Max(centre ?? 0, v);
            }
        return split is double s ? (s, centre) : null;
    }

    /// <summary>What the flow's split statements' observer took inside the flow replay of one input (the largest of their rows'
    /// "observer … seconds" constants, one observer for both): null when neither row ran it.</summary>
    private static double? FlowObserverSeconds(IReadOnlyList<Registry.VerdictRow> rows, string input)
    {
        double? seconds = null;
        foreach (var r in rows.Where(r => r.Input == input && r.Id.StartsWith("A.flow.split", StringComparison.Ordinal)))
            foreach (var (n, v) in r.Constants)
                if (double.IsFinite(v) && n.StartsWith("observer", StringComparison.Ordinal) && n.EndsWith("seconds", StringComparison.Ordinal))
                    seconds = Math.Max(seconds ?? 0, v);
        return seconds;
    }

    internal static string Num(double x) =>
        double.IsNaN(x) ? "-" : double.IsPositiveInfinity(x) ? "inf" : x.ToString("G4", CultureInfo.InvariantCulture);

    private static void Print(IReadOnlyList<Registry.VerdictRow> rows)
    {
        string input = "";
        // the id column as wide as the longest id (28 at least), so that the columns stay aligned
        int w = rows.Count == 0 ? 28 : Math.Max(28, rows.Max(r => r.Id.Length));
        foreach (var r in rows)
        {
            if (r.Input != input) { input = r.Input; Console.WriteLine($"\n{input}"); Console.WriteLine($"  {"result".PadRight(w)} {"verdict",-19} {"measured",10} {"bound",10} {"worst",8} {"best",8}  detail"); }
            // worst = the loosest comparison's bound/measured (the bound's worst case), best = the tightest
            Console.WriteLine($"  {r.Id.PadRight(w)} {r.Verdict,-19} {Num(r.Measured),10} {Num(r.Bound),10} {Num(r.TightnessMax),8} {Num(r.TightnessMin),8}  {r.Detail}");
            // a violated row's notes (where the run departs from the declared one, what to declare) under it; verdicts.json
            // has every row's
            if (r.IsViolated) foreach (var n in r.Notes) Console.WriteLine($"    note: {n}");
        }
        Console.WriteLine();
        // which comparison each column shows (a user read the measured and bound columns as the loosest comparison)
        if (rows.Count > 0) { Console.WriteLine(ColumnsLegend); Console.WriteLine(); }
    }

    /// <summary>The line under the table saying which comparison each number column shows.</summary>
    internal const string ColumnsLegend =
        "  measured, bound: the comparison nearest to failing (a violated row's witness); worst, best: bound / measured at the loosest and at the tightest comparison (the detail names both)";
}
