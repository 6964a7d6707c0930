using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using ResOdeProofs.Numerics.Training;

namespace ResOdeProofs.Cli;

/// <summary>
/// `resode bench --compare-pytorch`: times the same iteration in PyTorch (bench/pytorch_iteration.py, shipped
/// next to the executable) in a python3 child process, one per benchmark row, so that the ratio is measured
/// on the same machine in the same run.
/// </summary>
internal static class PyTorchComparison
{
    /// <summary>PyTorch's timing of one row: median and min ms per iteration.</summary>
    public sealed record Timing(double MedianMs, double MinMs, string Version, int Threads);

    private static string Script => Path.Combine(AppContext.BaseDirectory, "bench", "pytorch_iteration.py");

    /// <summary>The interpreter that imports torch: $RESODE_PYTHON if set, else python3 on the PATH, else the system's /usr/bin/python3.</summary>
    private static string _python = "python3";

    /// <summary>Null when an interpreter imports torch and the script is present; otherwise why not (one line).</summary>
    public static string? Unavailable()
    {
        if (!File.Exists(Script)) return $"the PyTorch benchmark script is missing next to the executable ({Path.Combine("bench", "pytorch_iteration.py")})";
        var env = Environment.GetEnvironmentVariable("RESODE_PYTHON");
        var candidates = string.IsNullOrWhiteSpace(env) ? new[] { "python3", "/usr/bin/python3" } : new[] { env };
        string last = "";
        foreach (var py in candidates.Distinct())
        {
            _python = py;
            var (code, output) = RunPython(new[] { "-c", "import torch; print(torch.__version__)" }, TimeSpan.FromMinutes(5));
            if (code == 0) return null;
            last = $"{py}: {output}";
        }
        return $"no python3 imports torch (install Debian's python3-torch, or set RESODE_PYTHON): {last}";
    }

    /// <summary>Times the row's configuration in PyTorch (same sizes, precision and threads).</summary>
    public static Timing Run(BenchConfig c, int repeats)
    {
        var inv = CultureInfo.InvariantCulture;
        var args = new[]
        {
            Script, "--depth", c.Depth.ToString(inv), "--n", c.Samples.ToString(inv), "--d", c.Dim.ToString(inv), "--m", c.Width.ToString(inv),
            "--precision", c.Float32 ? "f32" : "f64", "--threads", c.Threads.ToString(inv), "--repeats", repeats.ToString(inv),
        };
        var (code, output) = RunPython(args, TimeSpan.FromMinutes(30));
        if (code != 0) throw new InvalidOperationException($"the PyTorch benchmark failed (exit {code}): {output}");
        var line = output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Last();
        using var doc = JsonDocument.Parse(line);
        var r = doc.RootElement;
        return new Timing(r.GetProperty("median_ms").GetDouble(), r.GetProperty("min_ms").GetDouble(),
            r.GetProperty("torch").GetString() ?? "?", r.GetProperty("threads").GetInt32());
    }

    private static (int Code, string Output) RunPython(string[] args, TimeSpan timeout)
    {
        var psi = new ProcessStartInfo(_python) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        try
        {
            using var p = Process.Start(psi)!;
            var stdout = p.StandardOutput.ReadToEndAsync();
            var stderr = p.StandardError.ReadToEndAsync();
            if (!p.WaitForExit(timeout))
            {
                p.Kill(entireProcessTree: true);
                return (-1, $"timed out after {timeout.TotalMinutes:F0} min");
            }
            string err = stderr.Result.Trim();
            return (p.ExitCode, p.ExitCode == 0 ? stdout.Result : (err.Length > 0 ? err.Split('\n').Last() : stdout.Result.Trim()));
        }
        catch (Win32Exception e)
        {
            return (-1, $"{_python} could not be started ({e.Message})");
        }
    }
}
