using System.Diagnostics;
using System.Reflection.PortableExecutable;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace ResOdeProofs.Cli.Tests;

/// <summary>
/// The build of `resode` (src/Cli/ResOdeProofs.Cli.csproj): a Release build compiles the engine, the theory layer,
/// FSharp.Core, MathNet, the command-line libraries and resode itself ahead of time (ReadyToRun) into src/Cli/bin. This
/// test project's own output holds the engine, the theory layer and the libraries as IL (the packages' files and the
/// projects' own outputs; only resode.dll is copied from src/Cli/bin), so the two directories run the checks as
/// precompiled and as JIT-compiled code, and a run verified by each must give the same verdicts.
/// </summary>
[Collection(CliCollection.Name)]
public sealed class ReadyToRunBuildTests : IDisposable
{
    private readonly Scratch _s = new();
    public void Dispose() => _s.Dispose();

    /// <summary>The configuration this test assembly was built in (its output path names it).</summary>
    private static string Configuration =>
        new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar)).Parent!.Name;

    /// <summary>src/Cli's output directory of this configuration.</summary>
    private static string ToolDirectory
    {
        get
        {
            for (var d = new DirectoryInfo(AppContext.BaseDirectory); d != null; d = d.Parent)
                if (File.Exists(Path.Combine(d.FullName, "ResOdeProofs.sln")))
                    return Path.Combine(d.FullName, "src", "Cli", "bin", Configuration, "net10.0");
            throw new DirectoryNotFoundException("the repository root (ResOdeProofs.sln) is not above the test assembly");
        }
    }

    /// <summary>Whether the file is a ReadyToRun image: its CLI header names a native-code header.</summary>
    private static bool IsReadyToRun(string path)
    {
        using var pe = new PEReader(File.OpenRead(path));
        var cor = pe.PEHeaders.CorHeader ?? throw new InvalidDataException(path + " is not a managed assembly");
        return cor.ManagedNativeHeaderDirectory.Size > 0;
    }

    /// <summary>The assemblies whose checks and kernels run in a verify, IL beside this test.</summary>
    private static readonly string[] Computing =
        { "ResOdeProofs.Numerics.dll", "ResOdeProofs.Theory.dll", "FSharp.Core.dll", "MathNet.Numerics.dll", "System.CommandLine.dll" };

    [Fact(DisplayName = "resode build: the Release output → the engine, the theory layer and its libraries precompiled, the copies beside the tests not")]
    public void ReleaseOutputIsPrecompiled()
    {
        string tool = ToolDirectory;
        Assert.True(Directory.Exists(tool), tool + " does not exist: build src/Cli in " + Configuration);
        // The negative control: the IL files beside this test are not taken for precompiled ones.
        foreach (var f in Computing)
            Assert.False(IsReadyToRun(Path.Combine(AppContext.BaseDirectory, f)), f + " beside the test is IL");
        bool release = Configuration == "Release";
        foreach (var f in Computing.Append("resode.dll"))
            Assert.True(IsReadyToRun(Path.Combine(tool, f)) == release,
                $"{f} in {tool}: ReadyToRun expected {(release ? "in Release" : "only in Release")}");
    }

    /// <summary>verdicts.json without what may differ between two processes: timings and the run's directory name.</summary>
    internal static JsonNode? WithoutTimings(JsonNode? n) => n switch
    {
        JsonObject o => new JsonObject(o.Where(kv => kv.Key is not ("seconds" or "cpu_seconds" or "input")
                                                     && !kv.Key.Contains("seconds", StringComparison.Ordinal))
                                        .Select(kv => KeyValuePair.Create(kv.Key, WithoutTimings(kv.Value)))),
        JsonArray a => new JsonArray(a.Select(WithoutTimings).ToArray()),
        // A duration ("0.40s") and the engine build a run names (a dirty tree names each assembly by its hash).
        JsonValue v when v.TryGetValue<string>(out var s) =>
            JsonValue.Create(Regex.Replace(Regex.Replace(s, @"\b[0-9.]+s\b", "T"), @"\b(commit|content):[0-9a-f]+(\+dirty)?", "BUILD")),
        _ => n?.DeepClone(),
    };

    private static CliOutcome Resode(string dll, string cwd, params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { WorkingDirectory = cwd, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(dll);
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["CI"] = "1";
        return Cli.Finish(Process.Start(psi)!, 600_000);
    }

    [Fact(DisplayName = "resode build: one run verified by the precompiled and by the IL build → the same verdicts.json, timings aside")]
    public void PrecompiledAndIlBuildGiveTheSameVerdicts()
    {
        string tool = Path.Combine(ToolDirectory, "resode.dll"), il = Path.Combine(AppContext.BaseDirectory, "resode.dll");
        // Each build trains its own run, so that run.json names the build that verifies it (the replay's exact path on
        // both); the engine's arithmetic is the same, so are the weights.
        string[] setting = { "train", "--depth", "8", "--width", "6", "--n", "12", "--d", "3", "--iters", "12", "--snapshots", "4", "--out" };
        foreach (var (dll, dir) in new[] { (il, "a"), (tool, "b") })
        {
            var train = Resode(dll, _s.Dir, setting.With(dir));
            Assert.True(train.Code == 0, train.ToString());
        }
        foreach (var f in new[] { "w.npy", "v.npy", "losses.npy" })
            Assert.Equal(File.ReadAllBytes(_s.P("a", f)), File.ReadAllBytes(_s.P("b", f)));
        var byIl = Resode(il, _s.Dir, "verify", "a", "--quiet");
        var byTool = Resode(tool, _s.Dir, "verify", "b", "--quiet");
        Assert.True(byIl.Code == 0, byIl.ToString());
        Assert.Equal(byIl.Code, byTool.Code);
        var a = WithoutTimings(JsonNode.Parse(File.ReadAllText(_s.P("a", "verdicts.json"))))!;
        var b = WithoutTimings(JsonNode.Parse(File.ReadAllText(_s.P("b", "verdicts.json"))))!;
        Assert.True(a["results"]!.AsArray().Count > 20, "the verify evaluated the results");
        Assert.True(JsonNode.DeepEquals(a, b), "verdicts.json of the two builds differ");
        // The negative control: one measured value moved by one unit in the last place is a difference.
        var moved = a.DeepClone();
        var row = moved["results"]!.AsArray().First(r => r!["measured"] is JsonValue v && v.TryGetValue<double>(out var x) && x != 0)!;
        row["measured"] = Math.BitIncrement(row["measured"]!.GetValue<double>());
        Assert.False(JsonNode.DeepEquals(moved, b));
    }
}
