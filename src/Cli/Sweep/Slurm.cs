using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace ResOdeProofs.Cli.Sweep;

/// <summary>
/// The Slurm backend: an sbatch array script with one task per shard, each task running
/// `resode sweep run STUDY --out DIR --shard $SLURM_ARRAY_TASK_ID/N` on the shared output directory.
/// Slurm does the scheduling; the sweep only expands, claims and runs cells.
/// </summary>
internal static class Slurm
{
    internal sealed record Options(string? Partition, string? Time, int Cpus, int? MaxParallel, int Shards, string? Account, string? Mem, bool RetryFailed = false);

    /// <summary>The forms of a time limit sbatch accepts: minutes, MM:SS, HH:MM:SS, D-HH, D-HH:MM, D-HH:MM:SS.</summary>
    private static readonly System.Text.RegularExpressions.Regex TimeForm =
        new(@"^([0-9]+(:[0-9]+){0,2}|[0-9]+-[0-9]+(:[0-9]+){0,2})$", System.Text.RegularExpressions.RegexOptions.CultureInvariant);

    /// <summary>Whether sbatch accepts <paramref name="time"/> as a --time limit (<see cref="TimeForm"/>).</summary>
    internal static bool IsTime(string time) => TimeForm.IsMatch(time);

    /// <summary>Quotes a word for a POSIX shell.</summary>
    internal static string Sh(string s) =>
        s.Length > 0 && s.All(ch => char.IsAsciiLetterOrDigit(ch) || "/._-+=:,@%".Contains(ch)) ? s : "'" + s.Replace("'", "'\\''") + "'";

    public static string Script(Study study, StudyOutput output, Options o)
    {
        var (file, prefix) = CellRunner.Self();
        var cmd = new List<string> { file };
        cmd.AddRange(prefix);
        cmd.AddRange(new[] { "sweep", "run", output.StudyPath, "--out", output.Root, "--shard", "${SLURM_ARRAY_TASK_ID}/" + o.Shards.ToString(CultureInfo.InvariantCulture), "--jobs", o.Cpus.ToString(CultureInfo.InvariantCulture) });
        if (o.RetryFailed) cmd.Add("--retry-failed");
        string logs = Path.Combine(output.Root, "slurm");
        var sb = new StringBuilder();
        sb.AppendLine("#!/bin/bash");
        sb.AppendLine($"# Written by `resode sweep slurm` for study '{study.Name}' ({study.Cells.Count} cells, engine {study.EngineVersion}).");
        sb.AppendLine("# Array task I runs the cells whose index is I modulo the task count; finished cells are skipped,");
        sb.AppendLine("# so resubmitting this script (or running `resode sweep run` anywhere on the same directory) resumes.");
        sb.AppendLine($"#SBATCH --job-name=resode-{Clean(study.Name)}");
        sb.AppendLine($"#SBATCH --array=0-{o.Shards - 1}{(o.MaxParallel is int k ? "%" + k.ToString(CultureInfo.InvariantCulture) : "")}");
        sb.AppendLine("#SBATCH --ntasks=1");
        sb.AppendLine($"#SBATCH --cpus-per-task={o.Cpus}");
        sb.AppendLine($"#SBATCH --output={Path.Combine(logs, "%A_%a.out")}");
        if (o.Partition is not null) sb.AppendLine($"#SBATCH --partition={o.Partition}");
        if (o.Time is not null) sb.AppendLine($"#SBATCH --time={o.Time}");
        if (o.Account is not null) sb.AppendLine($"#SBATCH --account={o.Account}");
        if (o.Mem is not null) sb.AppendLine($"#SBATCH --mem={o.Mem}");
        sb.AppendLine("set -u");
        sb.AppendLine("export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1");
        sb.AppendLine(string.Join(' ', cmd.Select(a => a.StartsWith("${SLURM", StringComparison.Ordinal) ? "\"" + a + "\"" : Sh(a))));
        return sb.ToString();
    }

    private static string Clean(string s) => new(s.Select(ch => char.IsAsciiLetterOrDigit(ch) || ch is '-' or '_' ? ch : '-').ToArray());

    /// <summary>Whether a command is on the PATH.</summary>
    internal static bool Has(string command) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator).Any(d => d.Length > 0 && File.Exists(Path.Combine(d, command)));

    /// <summary>Runs a command, returning its exit code, standard output and standard error.</summary>
    internal static (int Exit, string Out, string Err) Exec(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var err = p.StandardError.ReadToEndAsync();
        string outText = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        return (p.ExitCode, outText, err.Result);
    }

    /// <summary>Submits the script with `sbatch --parsable` and returns the job id.</summary>
    public static string Submit(string script)
    {
        if (!Has("sbatch")) throw new StudyException("sbatch not found on the PATH: run this on a Slurm login node, or use --dry-run to write the script only");
        var (exit, o, e) = Exec("sbatch", "--parsable", script);
        if (exit != 0) throw new StudyException($"sbatch refused the job (exit code {exit}): {e.Trim().Split('\n')[0]}");
        string id = o.Trim().Split(';')[0];
        if (id.Length == 0 || !id.All(char.IsAsciiDigit)) throw new StudyException($"sbatch printed no job id: '{o.Trim()}'");
        return id;
    }

    /// <summary>The jobs this output directory has submitted (slurm/jobs.txt, one id per line).</summary>
    public static List<string> Jobs(StudyOutput output)
    {
        string p = Path.Combine(output.Root, "slurm", "jobs.txt");
        return File.Exists(p) ? File.ReadAllLines(p).Select(l => l.Split(' ')[0].Trim()).Where(l => l.Length > 0).ToList() : new();
    }

    /// <summary>Lines describing the submitted jobs from squeue (queued/running tasks) and sacct (finished ones), when present.</summary>
    public static List<string> Describe(IReadOnlyList<string> jobs)
    {
        var lines = new List<string>();
        if (jobs.Count == 0) return lines;
        string ids = string.Join(",", jobs);
        if (Has("squeue"))
        {
            var (x, o, e) = Exec("squeue", "-h", "-r", "-j", ids, "-o", "%i %T %M %R");
            if (x == 0)
            {
                var q = o.Split('\n', StringSplitOptions.RemoveEmptyEntries);
                lines.Add($"squeue: {q.Length} array task{(q.Length == 1 ? "" : "s")} of job {ids} queued or running");
                lines.AddRange(q.Take(20).Select(l => "  " + l.Trim()));
            }
            else lines.Add($"squeue: {e.Trim().Split('\n')[0]}");
        }
        if (Has("sacct"))
        {
            var (x, o, e) = Exec("sacct", "-n", "-P", "-X", "-j", ids, "-o", "JobID,State,ExitCode,Elapsed");
            if (x == 0)
            {
                var rows = o.Split('\n', StringSplitOptions.RemoveEmptyEntries);
                var byState = rows.Select(r => r.Split('|')).Where(r => r.Length > 1).GroupBy(r => r[1].Split(' ')[0]).Select(g => $"{g.Count()} {g.Key}");
                lines.Add("sacct: " + (rows.Length == 0 ? "no accounting records" : string.Join(", ", byState)));
            }
            else lines.Add($"sacct: not available here ({e.Trim().Split('\n')[0]})");
        }
        return lines;
    }
}
