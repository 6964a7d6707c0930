namespace ResOdeProofs.Cli;

/// <summary>
/// The exit-code contract of every `resode` command, defined here and nowhere else
/// (documented in the README and printed by --help).
/// </summary>
public static class ExitCodes
{
    /// <summary>Done: the command finished, and every verdict holds or is not applicable.</summary>
    public const int Done = 0;

    /// <summary>At least one result was violated (a comparison failed).</summary>
    public const int Violated = 1;

    /// <summary>Bad usage or bad input: one clear line on stderr, no stack trace, no help dump.</summary>
    public const int BadInput = 2;

    /// <summary>A check or the tool itself failed unexpectedly; also a training run that diverged, a command stopped by a signal, and a full disk.</summary>
    public const int ToolFailed = 3;

    /// <summary>The contract in one line, for --help.</summary>
    public const string Summary =
        "Exit codes: 0 done (every verdict holds or is not applicable), 1 a result violated, 2 bad usage or bad input, 3 a check or the tool failed.";

    /// <summary>The contract for `bench` and `bench-conv`, which time and give no verdicts.</summary>
    public const string BenchSummary =
        "Exit codes: 0 done, 2 bad usage or bad input, 3 the tool failed or was stopped (a benchmark gives no verdicts).";

    /// <summary>The contract for `train`, which gives no verdicts.</summary>
    public const string TrainSummary =
        "Exit codes: 0 done, 2 bad usage or bad input, 3 the run diverged or was stopped, or the tool failed (train gives no verdicts: `resode verify` does).";
}
