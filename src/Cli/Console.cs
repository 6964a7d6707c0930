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

    public static int Fail(string message)
    {
        Console.Error.WriteLine($"error: {message}");
        return 2;
    }
}
