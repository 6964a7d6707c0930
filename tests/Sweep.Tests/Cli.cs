using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace ResOdeProofs.Sweep.Tests;

/// <summary>Runs the `resode` command (the resode.dll built beside this test assembly) as a separate process.</summary>
internal static class Cli
{
    public static string Dll => Path.Combine(AppContext.BaseDirectory, "resode.dll");

    /// <summary>The scheduler variables that pick a shard; removed from children unless a test sets them.</summary>
    private static readonly string[] ShardVariables = { "SLURM_ARRAY_TASK_ID", "JOB_COMPLETION_INDEX", "RESODE_SHARD_INDEX" };

    public sealed record Result(int Exit, string Out, string Err)
    {
        public override string ToString() => $"exit {Exit}\n--- stdout\n{Out}\n--- stderr\n{Err}";
    }

    public static Process Start(string workDir, IDictionary<string, string>? env, params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { WorkingDirectory = workDir, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(Dll);
        foreach (var a in args) psi.ArgumentList.Add(a);
        foreach (var v in ShardVariables) psi.Environment.Remove(v);
        psi.Environment["CI"] = "1"; // plain progress lines
        if (env is not null) foreach (var (k, v) in env) psi.Environment[k] = v;
        return Process.Start(psi)!;
    }

    public static Result Finish(Process p, TimeSpan timeout)
    {
        var o = p.StandardOutput.ReadToEndAsync();
        var e = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(timeout))
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"resode did not finish within {timeout}: {o.Result}\n{e.Result}");
        }
        p.WaitForExit();
        return new Result(p.ExitCode, o.Result, e.Result);
    }

    public static Result Run(string workDir, params string[] args) => Run(workDir, null, args);

    public static Result Run(string workDir, IDictionary<string, string>? env, params string[] args)
    {
        using var p = Start(workDir, env, args);
        return Finish(p, TimeSpan.FromMinutes(5));
    }

    public static string TempDir(string tag)
    {
        string d = Path.Combine(Path.GetTempPath(), $"resode-sweep-{tag}-{Guid.NewGuid():N}"[..40]);
        Directory.CreateDirectory(d);
        return d;
    }
}

/// <summary>
/// Compares two merged studies: results.json with the timings taken out, and every file of every cell's
/// run directory (the arrays and run.json) byte for byte, apart from run.json's timing fields.
/// Timings are: keys ending in "seconds" or starting with "ms_per" (run.json's ms_per_iteration), the "timings"
/// object, the host and finishing time of a cell, and "0.24s"-style durations inside notes; besides timings, the
/// command line that wrote a report (it names the directory merged).
/// </summary>
internal static class Compare
{
    private static readonly Regex Duration = new(@"\b\d+(\.\d+)?(e-?\d+)?s\b", RegexOptions.Compiled);

    public static JsonNode? WithoutTimings(JsonNode? n) => n switch
    {
        JsonObject o => new JsonObject(o.Where(kv => !IsTiming(kv.Key)).Select(kv => KeyValuePair.Create(kv.Key, WithoutTimings(kv.Value)))),
        JsonArray a => new JsonArray(a.Select(WithoutTimings).ToArray()),
        JsonValue v when v.TryGetValue<string>(out var s) => JsonValue.Create(Duration.Replace(s, "<duration>")),
        null => null,
        _ => n.DeepClone(),
    };

    private static bool IsTiming(string key) => key == "timings" || key.EndsWith("seconds", StringComparison.OrdinalIgnoreCase) || key.StartsWith("ms_per", StringComparison.Ordinal) || key is "finished_utc" or "utc" or "host" or "command_line"
        // a verdicts file's seal is the SHA-256 of its text, timings included; its run_sha256 that of the run's files, run.json's
        // timings included (the files themselves are compared here apart from those)
        || key == ResOdeProofs.Numerics.IO.OutputClaim.VerdictsSealField || key == "run_sha256"
        // and an output manifest's per-file SHA-256 that of each file as written, run.json's timings included
        || key == "sha256";

    /// <summary>The differences between two merged study directories (empty: equal apart from timings).</summary>
    public static List<string> Studies(string a, string b)
    {
        var diffs = new List<string>();
        var ja = WithoutTimings(JsonNode.Parse(File.ReadAllText(Path.Combine(a, "report", "results.json"))))!.ToJsonString();
        var jb = WithoutTimings(JsonNode.Parse(File.ReadAllText(Path.Combine(b, "report", "results.json"))))!.ToJsonString();
        if (ja != jb)
        {
            int i = 0; while (i < Math.Min(ja.Length, jb.Length) && ja[i] == jb[i]) i++;
            diffs.Add($"results.json differs at character {i}: …{ja.Substring(Math.Max(0, i - 80), Math.Min(160, ja.Length - Math.Max(0, i - 80)))}… vs …{jb.Substring(Math.Max(0, i - 80), Math.Min(160, jb.Length - Math.Max(0, i - 80)))}…");
        }
        var ca = Directory.GetDirectories(Path.Combine(a, "cells")).Select(Path.GetFileName).Order().ToList();
        var cb = Directory.GetDirectories(Path.Combine(b, "cells")).Select(Path.GetFileName).Order().ToList();
        if (!ca.SequenceEqual(cb)) diffs.Add($"cell directories differ: {string.Join(",", ca)} vs {string.Join(",", cb)}");
        foreach (var cell in ca.Intersect(cb))
        {
            string ra = Path.Combine(a, "cells", cell!, "run"), rb = Path.Combine(b, "cells", cell!, "run");
            var fa = Directory.GetFiles(ra, "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(ra, f)).Order().ToList();
            var fb = Directory.GetFiles(rb, "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(rb, f)).Order().ToList();
            if (!fa.SequenceEqual(fb)) { diffs.Add($"{cell}: run files differ"); continue; }
            foreach (var f in fa)
            {
                if (f.EndsWith(".json", StringComparison.Ordinal) || Path.GetFileName(f) == ResOdeProofs.Numerics.IO.OutputClaim.ManifestName)
                {
                    string x = WithoutTimings(JsonNode.Parse(File.ReadAllText(Path.Combine(ra, f))))!.ToJsonString();
                    string y = WithoutTimings(JsonNode.Parse(File.ReadAllText(Path.Combine(rb, f))))!.ToJsonString();
                    if (x != y) diffs.Add($"{cell}/run/{f}: differs apart from timings");
                }
                else if (!File.ReadAllBytes(Path.Combine(ra, f)).AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(rb, f))))
                    diffs.Add($"{cell}/run/{f}: bytes differ");
            }
        }
        return diffs;
    }

    public static void CopyDirectory(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var d in Directory.GetDirectories(from, "*", SearchOption.AllDirectories)) Directory.CreateDirectory(Path.Combine(to, Path.GetRelativePath(from, d)));
        foreach (var f in Directory.GetFiles(from, "*", SearchOption.AllDirectories)) File.Copy(f, Path.Combine(to, Path.GetRelativePath(from, f)));
    }
}

/// <summary>
/// A small study (4 cells: depths 4 and 8, seeds 0 and 1, and a ladder over depth) run once with
/// `resode sweep run` on this machine and merged: the reference every distributed run is compared with.
/// </summary>
public sealed class BaselineStudy : IDisposable
{
    public const string Text = """
        name = "ci"
        title = "CI study"
        [defaults]
        n = 8
        d = 3
        width = 4
        eta = 0.01
        iters = 8
        snapshots = 3
        [grid.tied]
        init = "tied"
        depth = [4, 8]
        seed = "0..1"
        [[ladder]]
        grid = "tied"
        """;

    public string Root { get; } = Cli.TempDir("baseline");
    public string StudyPath => Path.Combine(Root, "study.toml");
    public string Out => Path.Combine(Root, "out");
    internal Cli.Result RunResult { get; }
    internal Cli.Result MergeResult { get; }

    public BaselineStudy()
    {
        File.WriteAllText(StudyPath, Text);
        RunResult = Cli.Run(Root, "sweep", "run", StudyPath, "--out", Out, "--jobs", "2");
        MergeResult = Cli.Run(Root, "sweep", "merge", Out);
    }

    public void Dispose()
    {
        try { Directory.Delete(Root, recursive: true); } catch (IOException) { }
    }
}

[CollectionDefinition("baseline study")]
public sealed class BaselineCollection : ICollectionFixture<BaselineStudy>;
