using ResOdeProofs.Cli.Report;

namespace ResOdeProofs.Report.Tests;

/// <summary>
/// The quick report (`resode report --preset quick`, the README's main job), generated once per test run
/// through the same code path as the command (ReportCommand.Generate), into a fresh temporary directory.
/// </summary>
internal static class QuickReport
{
    private static readonly Lazy<string> Dir = new(() =>
    {
        string dir = Path.Combine(Path.GetTempPath(), "resode-report-test-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        ReportCommand.Generate(ReportSettings.Create("quick", 0), dir, CancellationToken.None, new ReportOptions(null, "resode report --preset quick"));
        AppDomain.CurrentDomain.ProcessExit += (_, _) => { try { Directory.Delete(dir, true); } catch (IOException) { } };
        return dir;
    }, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>The report directory (generated on first use; under half a minute on 2 cores).</summary>
    public static string Directory_ => Dir.Value;
}
