using Spectre.Console;

namespace ResOdeProofs.Cli;

/// <summary>Console helpers: a progress display on a terminal, plain lines when redirected.</summary>
internal static class Ui
{
    public static bool Interactive => !Console.IsOutputRedirected && !Console.IsErrorRedirected && Environment.GetEnvironmentVariable("CI") is null;

    /// <summary>Runs <paramref name="work"/> with a progress callback (iteration, total, loss).</summary>
    public static T WithProgress<T>(string label, Func<Action<int, int, double>, T> work)
    {
        if (!Interactive)
        {
            int lastPct = -1;
            return work((it, total, loss) =>
            {
                int pct = total == 0 ? 100 : (int)(100L * it / total);
                if (pct / 10 != lastPct / 10 || it == total)
                {
                    Console.WriteLine($"{label}: iteration {it}/{total}  loss {loss:G6}");
                    lastPct = pct;
                }
            });
        }
        T result = default!;
        AnsiConsole.Progress()
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
            .Start(ctx =>
            {
                var task = ctx.AddTask(label);
                result = work((it, total, loss) =>
                {
                    task.MaxValue = Math.Max(1, total);
                    task.Value = it;
                    task.Description = $"{label}  loss {loss:G4}";
                });
                task.Value = task.MaxValue;
            });
        return result;
    }

    /// <summary>Prints one line for a bad usage or a bad input and returns <see cref="ExitCodes.BadInput"/>.</summary>
    public static int Fail(string message)
    {
        Console.Error.WriteLine($"error: {Plain(message)}");
        return ExitCodes.BadInput;
    }

    /// <summary>
    /// An expected failure (<see cref="Expected"/>) as one line: exit 2 (bad usage or input), except a full disk, which is
    /// no fault of the input: the tool could not finish its work (exit 3), still one line and no stack trace (a full disk
    /// gave exit 2, as if the user had typed something wrong).
    /// </summary>
    public static int Fail(Exception e)
    {
        if (!DiskFull(e)) return Fail(e.Message);
        Console.Error.WriteLine($"error: {Plain(e.Message)} (the disk is full: the output could not be finished; free some space and run the command again)");
        return ExitCodes.ToolFailed;
    }

    /// <summary>An I/O failure for want of space: ENOSPC (28) or EDQUOT (122) on Unix, ERROR_DISK_FULL and
    /// ERROR_HANDLE_DISK_FULL on Windows, wherever it is in the chain of inner exceptions.</summary>
    public static bool DiskFull(Exception? e)
    {
        for (; e is not null; e = e.InnerException)
            if (e is IOException && ((e.HResult & 0xFFFF) is 28 or 122 or 112 or 39 || e.Message.Contains("No space left on device", StringComparison.Ordinal)))
                return true;
        return false;
    }

    /// <summary>
    /// A message as a user reads it: the runtime's words for argument names and types ("(Parameter 'name')",
    /// "'System.Nullable`1[System.Int64]'") replaced by what the value must be, the rest as it is.
    /// </summary>
    public static string Plain(string message)
    {
        message = System.Text.RegularExpressions.Regex.Replace(message, @" \(Parameter '[^']*'\)", "");
        return System.Text.RegularExpressions.Regex.Replace(message, @"(as expected type )?'System\.Nullable`1\[System\.(\w+)\]'|(as expected type )?'System\.(\w+)'",
            m =>
            {
                string t = m.Groups[2].Success ? m.Groups[2].Value : m.Groups[4].Value;
                string what = t switch
                {
                    "Int32" or "Int64" or "UInt32" or "UInt64" => "an integer",
                    "Double" or "Single" or "Decimal" => "a number",
                    "Boolean" => "true or false",
                    "String" => "a string",
                    _ => "a value of the option's kind",
                };
                return (m.Groups[1].Success || m.Groups[3].Success ? "as " : "") + what;
            });
    }

    /// <summary>
    /// Failures that come from the user's input or environment (a bad option value, an unreadable or malformed file, an
    /// output that cannot be written, a setting too large for memory): one line and exit 2, never a stack trace. Not an
    /// ArgumentOutOfRangeException: the tool's checks of the user's values throw ArgumentException with the option's words,
    /// and an index or a size out of range inside the engine (an array of more than Array.MaxLength entries, a span sliced
    /// past its end) is a setting a check let through, a failure of the tool (exit 3): passed on as bad input it reached the
    /// user as "Specified argument was out of the range of valid values." with exit 2, naming no option.
    /// </summary>
    public static bool Expected(Exception e) => e is (ArgumentException and not ArgumentOutOfRangeException) or FormatException or IOException or UnauthorizedAccessException
        or Numerics.IO.RunFormatException or Numerics.IO.NpyFormatException or Numerics.IO.IdxFormatException;

    /// <summary>Prints the notes of an output claim (stale partial directories removed or left).</summary>
    public static void Notes(Numerics.IO.OutputClaim claim)
    {
        foreach (var n in claim.TakeNotes()) Console.Error.WriteLine($"note: {n}");
    }

    /// <summary>
    /// Turns SIGINT and SIGTERM into a cancellation for the life of the returned scope: the work stops at its next
    /// check and keeps what it has; a second signal ends the process at once, unless it comes within
    /// <see cref="Interrupts.RepeatWindow"/> of the first: that is the same request delivered twice (GNU timeout signals
    /// the command and then its whole process group; a shell may pass one Ctrl-C to every process of a pipeline).
    /// </summary>
    public static Interrupts OnInterrupt(string message) => new(message);

    /// <summary>
    /// For the life of the returned scope, a SIGINT or SIGTERM that no command scope (<see cref="OnInterrupt"/>) takes ends
    /// the process with exit code 3 and one line naming the command, as the exit-code contract says of any command stopped
    /// by a signal (the runtime's default ends it with 128 + the signal's number and no word). Commands that can stop at a
    /// check and keep or remove their output (train, report, fashion) open their own scope and end as they document; the
    /// others (verify, bench, the sweep's commands) stop where they are: their outputs are written whole (a temporary file
    /// renamed over the target), so a file they write is either as it was or complete.
    /// </summary>
    public static IDisposable ExitOnSignal(string command) => new SignalExit(command);

    private sealed class SignalExit : IDisposable
    {
        private readonly List<System.Runtime.InteropServices.PosixSignalRegistration> _regs = new();

        public SignalExit(string command)
        {
            foreach (var sig in new[] { System.Runtime.InteropServices.PosixSignal.SIGINT, System.Runtime.InteropServices.PosixSignal.SIGTERM })
                _regs.Add(System.Runtime.InteropServices.PosixSignalRegistration.Create(sig, ctx =>
                {
                    // a command scope is open: its own handler answers (it cancels the signal's default)
                    if (Interlocked.CompareExchange(ref Interrupts.OpenScopes, 0, 0) > 0) return;
                    ctx.Cancel = true;
                    Console.Error.WriteLine($"interrupted: {command} stopped by {(sig == System.Runtime.InteropServices.PosixSignal.SIGINT ? "SIGINT" : "SIGTERM")}");
                    Console.Error.Flush();
                    // the exit below runs no writer's clean-up: the temporaries still being written go first (ours only)
                    ResOdeProofs.Numerics.IO.InFlightFiles.DeleteAll();
                    Environment.Exit(ExitCodes.ToolFailed);
                }));
        }

        public void Dispose()
        {
            foreach (var r in _regs) r.Dispose();
        }
    }

    /// <summary>The SIGINT/SIGTERM registrations of <see cref="OnInterrupt"/>.</summary>
    internal sealed class Interrupts : IDisposable
    {
        /// <summary>How many scopes are open (read by <see cref="ExitOnSignal"/>'s fallback).</summary>
        internal static int OpenScopes;
        private readonly CancellationTokenSource _cts = new();
        private readonly List<System.Runtime.InteropServices.PosixSignalRegistration> _regs = new();
        public CancellationToken Token => _cts.Token;

        /// <summary>A signal this soon after the first is taken as the same request, not as the second that kills.</summary>
        public static readonly TimeSpan RepeatWindow = TimeSpan.FromSeconds(1);
        private long _first;

        public Interrupts(string message)
        {
            Interlocked.Increment(ref OpenScopes);
            foreach (var sig in new[] { System.Runtime.InteropServices.PosixSignal.SIGINT, System.Runtime.InteropServices.PosixSignal.SIGTERM })
                _regs.Add(System.Runtime.InteropServices.PosixSignalRegistration.Create(sig, ctx =>
                {
                    if (_cts.IsCancellationRequested)
                    {
                        // the same request delivered twice: keep stopping cleanly; a later one: default handling, the process ends
                        if (System.Diagnostics.Stopwatch.GetElapsedTime(Interlocked.Read(ref _first)) < RepeatWindow) ctx.Cancel = true;
                        return;
                    }
                    ctx.Cancel = true;
                    Interlocked.Exchange(ref _first, System.Diagnostics.Stopwatch.GetTimestamp());
                    Console.Error.WriteLine(message);
                    _cts.Cancel();
                }));
        }

        public void Dispose()
        {
            foreach (var r in _regs) r.Dispose();
            _cts.Dispose();
            Interlocked.Decrement(ref OpenScopes);
        }
    }
}
