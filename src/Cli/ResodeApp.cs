using System.CommandLine;
using ResOdeProofs.Cli.Report;

namespace ResOdeProofs.Cli;

/// <summary>
/// The `resode` command: parses, runs one subcommand and maps every way it can end onto <see cref="ExitCodes"/>.
/// A bad option value is one line and exit 2 (no help dump); an unexpected exception is one line and exit 3, with
/// the stack trace in a log file (or on the console with RESODE_DEBUG=1).
/// </summary>
public static class ResodeApp
{
    /// <summary>Environment variable that prints the stack trace of an unexpected failure on the console.</summary>
    public const string DebugVariable = "RESODE_DEBUG";

    /// <summary>The subcommands of `resode` by name, each built only when asked for.</summary>
    private static readonly (string Name, Func<Command> Build)[] Subcommands =
    [
        ("train", TrainCommand.Build),
        ("verify", VerifyCommand.Build),
        ("report", ReportCommand.Build),
        ("fashion", FashionCommand.Build),
        ("bench", BenchCommand.Build),
        ("bench-conv", BenchConvCommand.Build),
        ("sweep", Sweep.SweepCommand.Build),
    ];

    /// <summary>The root command with every subcommand; each description ends with the exit-code contract.</summary>
    public static RootCommand Build() => Build(null);

    /// <summary>
    /// The root command with the subcommand named <paramref name="only"/> alone when it names one, otherwise with every
    /// subcommand. A command line that starts with a subcommand's name is parsed by that subcommand only (the others
    /// cannot match it), so building the others (their options, parsers and descriptions, compiled at the start of
    /// every process) would be work for nothing; a line that names none (`resode --help`, a typo, nothing) gets the
    /// whole tree, its listing and its suggestions.
    /// </summary>
    internal static RootCommand Build(string? only)
    {
        var root = new RootCommand("resode: executable theorems of deep residual networks and their neural-ODE limit " +
                                   "(Marion, Wu, Sander, Biau, ICLR 2024), checked against real training runs.");
        bool named = Subcommands.Any(s => s.Name == only);
        foreach (var (name, build) in Subcommands)
        {
            if (named && name != only) continue;
            var c = build();
            if (c.Name != name) throw new InvalidOperationException($"the subcommand listed as '{name}' is named '{c.Name}'");
            root.Subcommands.Add(c);
        }
        root.Description += " " + ExitCodes.Summary;
        foreach (var c in root.Subcommands) c.Description += " " + (c.Name == "train" ? ExitCodes.TrainSummary : c.Name is "bench" or "bench-conv" ? ExitCodes.BenchSummary : ExitCodes.Summary);
        return root;
    }

    /// <summary>Runs `resode` with <paramref name="args"/> and returns its exit code.</summary>
    public static int Run(string[] args) => Run(Build(args.Length > 0 ? args[0] : null), args);

    /// <summary>Runs <paramref name="root"/> (the real command, or a test's) with the exit-code mapping of `resode`.</summary>
    internal static int Run(RootCommand root, string[] args)
    {
        // MathNet's products of the theory layer's small matrices (16×16 per sample and layer in B.bound) run as
        // parallel loops by default: each waits for a thread-pool thread, which on a loaded machine turned seconds of
        // work into minutes of waiting. One thread computes every entry exactly as before.
        MathNet.Numerics.Control.MaxDegreeOfParallelism = 1;
        var parsed = root.Parse(args);
        bool help = args.Any(a => a is "--help" or "-h" or "-?" or "--version");
        // an unknown option where a command takes positional arguments (verify's run directories) is parsed as one of them:
        // named as the unknown option it is, not as a run directory that does not exist (`--` before a directory whose name
        // starts with a dash, as usual, makes it an argument)
        bool separated = args.Contains("--");
        var unknownOption = separated ? null : parsed.CommandResult.Children.OfType<System.CommandLine.Parsing.ArgumentResult>()
            .SelectMany(a => a.Tokens).FirstOrDefault(t => t.Value.Length > 1 && t.Value[0] == '-' && (t.Value[1] == '-' || char.IsLetter(t.Value[1])));
        if (unknownOption is not null && !help)
        {
            Console.Error.WriteLine($"error: Unrecognized option '{unknownOption.Value}'. (see `{CommandPath(parsed.CommandResult)} --help`)");
            return ExitCodes.BadInput;
        }
        if (parsed.Errors.Count > 0 && !help)
        {
            string where = $"{CommandPath(parsed.CommandResult)} --help";
            // The most specific error first: an unknown word says more than the missing command it causes.
            var error = parsed.Errors.FirstOrDefault(e => e.Message.Contains('\'') && !e.Message.StartsWith("Required command", StringComparison.Ordinal)) ?? parsed.Errors[0];
            Console.Error.WriteLine($"error: {Ui.Plain(error.Message)} (see `{where}`)");
            return ExitCodes.BadInput;
        }
        try
        {
            using var signals = Ui.ExitOnSignal(CommandPath(parsed.CommandResult));
            return parsed.Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
        }
        catch (Exception e) when (Ui.Expected(e))
        {
            return Ui.Fail(e);
        }
        catch (Exception e)
        {
            return Crash(e, args);
        }
    }

    /// <summary>
    /// The full name of the command a parse reached, as typed: "resode", "resode train", "resode sweep merge" (the command's
    /// own name alone would send the user of a nested command to `resode merge --help`, which does not exist).
    /// </summary>
    private static string CommandPath(System.CommandLine.Parsing.CommandResult result)
    {
        var names = new Stack<string>();
        for (var r = result; r.Parent is System.CommandLine.Parsing.CommandResult parent; r = parent) names.Push(r.Command.Name);
        return string.Join(" ", names.Prepend("resode"));
    }

    /// <summary>The command line as typed, quoted for a POSIX shell, for run.json's "command_line".</summary>
    public static string CommandLine(ParseResult pr) =>
        "resode " + string.Join(" ", pr.Tokens.Select(t => Quote(t.Value)));

    private static string Quote(string s) =>
        s.Length > 0 && s.All(c => char.IsAsciiLetterOrDigit(c) || "-_./=:,+@%".Contains(c)) ? s : "'" + s.Replace("'", "'\\''") + "'";

    /// <summary>An unexpected failure: one line with where the details are; the stack trace goes to a log file.</summary>
    private static int Crash(Exception e, string[] args)
    {
        string what = e is OutOfMemoryException
            ? "ran out of memory (the setting needs more memory than the estimate before the work foresaw)"
            : $"failed unexpectedly ({e.GetType().Name}: {FirstLine(e.Message)})";
        string details;
        if (Environment.GetEnvironmentVariable(DebugVariable) is { Length: > 0 } v && v != "0")
        {
            Console.Error.WriteLine(e);
            details = "the stack trace is above";
        }
        else
        {
            try
            {
                var log = Path.Combine(Path.GetTempPath(), $"resode-failure-{Environment.ProcessId}.log");
                File.WriteAllText(log, $"{DateTime.UtcNow:O}\nresode {string.Join(" ", args)}\nengine {Numerics.EngineInfo.Version} ({Numerics.EngineInfo.Commit})\n\n{e}\n");
                details = $"details in {log}, or rerun with {DebugVariable}=1 to print them";
            }
            catch (Exception) { details = $"rerun with {DebugVariable}=1 to print the stack trace"; }
        }
        Console.Error.WriteLine($"error: resode {what}; {details}. This is a failure of the tool, not a verdict.");
        return ExitCodes.ToolFailed;
    }

    private static string FirstLine(string s) => s.Split('\n', 2)[0].Trim();
}
