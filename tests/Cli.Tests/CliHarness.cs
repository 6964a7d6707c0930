using System.CommandLine;
using System.Diagnostics;
using System.Security.Cryptography;
using ResOdeProofs.Cli;

namespace ResOdeProofs.Cli.Tests;

/// <summary>The console and the working directory are process-wide: the CLI tests run one at a time.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class CliCollection
{
    public const string Name = "resode command line";
}

/// <summary>What a `resode` invocation did.</summary>
public sealed record CliOutcome(int Code, string Out, string Err)
{
    public override string ToString() => $"exit {Code}\n--- stdout\n{Out}\n--- stderr\n{Err}";
}

/// <summary>A scratch directory per test, removed afterwards.</summary>
public sealed class Scratch : IDisposable
{
    public string Dir { get; } = Directory.CreateTempSubdirectory("resode-cli-").FullName;
    public string P(params string[] parts) => Path.Combine(new[] { Dir }.Concat(parts).ToArray());
    public void Dispose()
    {
        try { Directory.Delete(Dir, recursive: true); } catch (IOException) { }
    }
}

internal static class Cli
{
    /// <summary>Runs `resode ARGS` in-process in <paramref name="cwd"/>, capturing its console.</summary>
    public static CliOutcome Run(string cwd, params string[] args) => Run(cwd, () => ResodeApp.Run(args));

    /// <summary>Runs a test's root command with the exit-code mapping of `resode`.</summary>
    public static CliOutcome Run(string cwd, RootCommand root, params string[] args) => Run(cwd, () => ResodeApp.Run(root, args));

    private static CliOutcome Run(string cwd, Func<int> run)
    {
        var (oldOut, oldErr, oldCwd, oldCi) = (Console.Out, Console.Error, Environment.CurrentDirectory, Environment.GetEnvironmentVariable("CI"));
        var (o, e) = (new StringWriter(), new StringWriter());
        try
        {
            Console.SetOut(o); Console.SetError(e);
            Environment.CurrentDirectory = cwd;
            Environment.SetEnvironmentVariable("CI", "1"); // plain progress lines, no live display
            int code = run();
            return new CliOutcome(code, o.ToString(), e.ToString());
        }
        finally
        {
            Console.SetOut(oldOut); Console.SetError(oldErr);
            Environment.CurrentDirectory = oldCwd;
            Environment.SetEnvironmentVariable("CI", oldCi);
        }
    }

    /// <summary>Starts the built resode as a child process in <paramref name="cwd"/>.</summary>
    public static Process Start(string cwd, params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { WorkingDirectory = cwd, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "resode.dll"));
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["CI"] = "1";
        return Process.Start(psi)!;
    }

    /// <summary>Waits for a child and collects what it printed.</summary>
    public static CliOutcome Finish(Process p, int timeoutMs = 120_000)
    {
        var o = p.StandardOutput.ReadToEndAsync();
        var e = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(timeoutMs)) { p.Kill(entireProcessTree: true); throw new TimeoutException("resode did not finish"); }
        return new CliOutcome(p.ExitCode, o.Result, e.Result);
    }

    /// <summary>Every file under <paramref name="dir"/> with a hash of its bytes: what must survive a refused command.</summary>
    public static Dictionary<string, string> Snapshot(string dir) =>
        Directory.EnumerateFiles(dir, "*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0 })
            .ToDictionary(f => Path.GetRelativePath(dir, f), f => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(f))));

    /// <summary>A folder a user cares about: a thesis and a data file in a subdirectory.</summary>
    public static void UserFiles(string dir)
    {
        Directory.CreateDirectory(Path.Combine(dir, "sub"));
        File.WriteAllText(Path.Combine(dir, "thesis.tex"), "\\documentclass{article} three years of work");
        File.WriteAllText(Path.Combine(dir, "sub", "data.csv"), "x,y\n1,2\n");
    }

    /// <summary>A small fast training: a few milliseconds.</summary>
    public static readonly string[] Small = { "train", "--depth", "4", "--width", "4", "--n", "8", "--d", "3", "--iters", "3" };

    /// <summary>The same setting with so many iterations that a test can tell whether training started.</summary>
    public static readonly string[] Long = Small[..^2].With("--iters", "100000000");

    public static string[] With(this string[] a, params string[] more) => a.Concat(more).ToArray();

    /// <summary>The single line of an expected failure: one line, prefixed "error:", no stack trace, no help.</summary>
    public static void OneLine(CliOutcome r)
    {
        var lines = r.Err.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => !l.StartsWith("note:", StringComparison.Ordinal)).ToArray();
        Assert.True(lines.Length == 1, $"expected one error line\n{r}");
        Assert.StartsWith("error: ", lines[0]);
        Assert.DoesNotContain("   at ", r.Err);
        Assert.DoesNotContain("Usage:", r.Out + r.Err);
        Assert.DoesNotContain("Options:", r.Out + r.Err);
    }
}
