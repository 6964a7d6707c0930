using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace ResOdeProofs.Sweep.Tests;

/// <summary>
/// A one-node Slurm cluster of its own (munged, slurmctld, slurmd in the foreground, on free ports, with state,
/// spool, logs and the munge socket in a temporary folder), started for the test and stopped by the pids it started.
/// Needs Debian's slurm-wlm and munge packages (with the munge.key they create) and root, as on CI.
/// </summary>
public sealed class SlurmCluster : IDisposable
{
    /// <summary>Set to 1 by .ci/run where it could install Slurm: then a missing Slurm fails the test instead of skipping it.</summary>
    public const string ExpectVariable = "RESODE_EXPECT_SLURM";

    private static readonly string[] Daemons = { "munged", "slurmctld", "slurmd" };
    private static readonly string[] Clients = { "sbatch", "squeue", "sinfo" };

    public static string? Find(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Append("/usr/sbin").Append("/usr/bin")
            .Select(d => Path.Combine(d, name)).FirstOrDefault(File.Exists);

    /// <summary>Why a cluster cannot be started here, or null when it can.</summary>
    public static string? Unavailable()
    {
        if (!OperatingSystem.IsLinux()) return "Slurm runs on Linux only";
        var missing = Daemons.Concat(Clients).Where(x => Find(x) is null).ToList();
        if (missing.Count > 0) return $"{string.Join(", ", missing)} not installed (Debian: apt-get install slurm-wlm munge)";
        if (!File.Exists("/etc/munge/munge.key")) return "/etc/munge/munge.key is missing (created by the munge package)";
        if (Environment.UserName != "root") return "a one-node test cluster needs root (SlurmUser=root)";
        return null;
    }

    public static bool Expected => Environment.GetEnvironmentVariable(ExpectVariable) == "1";

    public string Dir { get; }
    public string Conf => Path.Combine(Dir, "slurm.conf");
    private readonly List<Process> started = new();

    public SlurmCluster()
    {
        Dir = Path.Combine(Path.GetTempPath(), "resode-slurm-" + Guid.NewGuid().ToString("N")[..8]);
        if (Unavailable() is not null) return; // the test reports it (skipped, or failed when Slurm is expected)
        Directory.CreateDirectory(Path.Combine(Dir, "state"));
        Directory.CreateDirectory(Path.Combine(Dir, "spool"));
        string host = Environment.MachineName;
        string sock = Path.Combine(Dir, "munge.sock");
        File.WriteAllText(Conf, string.Join('\n', new[]
        {
            "ClusterName=resodetest",
            $"SlurmctldHost={host}",
            "SlurmUser=root",
            "SlurmdUser=root",
            "AuthType=auth/munge",
            $"AuthInfo=socket={sock}",
            "ProctrackType=proctrack/linuxproc",
            "TaskPlugin=task/none",
            "SelectType=select/cons_tres",
            "SelectTypeParameters=CR_Core",
            "JobAcctGatherType=jobacct_gather/none",
            "MpiDefault=none",
            "ReturnToService=2",
            $"SlurmctldPort={FreePort()}",
            $"SlurmdPort={FreePort()}",
            $"StateSaveLocation={Path.Combine(Dir, "state")}",
            $"SlurmdSpoolDir={Path.Combine(Dir, "spool")}",
            $"SlurmctldPidFile={Path.Combine(Dir, "slurmctld.pid")}",
            $"SlurmdPidFile={Path.Combine(Dir, "slurmd.pid")}",
            $"SlurmctldLogFile={Path.Combine(Dir, "slurmctld.log")}",
            $"SlurmdLogFile={Path.Combine(Dir, "slurmd.log")}",
            $"NodeName={host} CPUs={Environment.ProcessorCount} State=UNKNOWN",
            $"PartitionName=test Nodes={host} Default=YES MaxTime=INFINITE State=UP",
            "",
        }));
        try
        {
            Start("munged", "--foreground", "--force", $"--socket={sock}", $"--pid-file={Path.Combine(Dir, "munged.pid")}",
                $"--log-file={Path.Combine(Dir, "munged.log")}", $"--seed-file={Path.Combine(Dir, "munged.seed")}");
            WaitFor(() => File.Exists(sock), TimeSpan.FromSeconds(20), "the munge socket");
            Start("slurmctld", "-D", "-f", Conf);
            Start("slurmd", "-D", "-f", Conf);
            WaitFor(() => Client("sinfo", "-h", "-o", "%T").Out.Trim() is "idle" or "mixed", TimeSpan.FromSeconds(60), "an idle node in sinfo");
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    private static int FreePort()
    {
        var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        int port = ((IPEndPoint)l.LocalEndpoint).Port;
        l.Stop();
        return port;
    }

    private void Start(string daemon, params string[] args)
    {
        var psi = new ProcessStartInfo(Find(daemon)!) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["SLURM_CONF"] = Conf;
        var p = Process.Start(psi)!;
        var log = new StreamWriter(Path.Combine(Dir, daemon + ".out")) { AutoFlush = true };
        p.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (log) log.WriteLine(e.Data); };
        p.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (log) log.WriteLine(e.Data); };
        p.BeginOutputReadLine(); p.BeginErrorReadLine();
        started.Add(p);
    }

    private void WaitFor(Func<bool> ok, TimeSpan timeout, string what)
    {
        var sw = Stopwatch.StartNew();
        while (!ok())
        {
            var dead = started.FirstOrDefault(p => p.HasExited);
            if (dead is not null) throw new InvalidOperationException($"a Slurm test daemon (pid {dead.Id}) ended with exit code {dead.ExitCode} while waiting for {what}; logs in {Dir}: {Logs()}");
            if (sw.Elapsed > timeout) throw new TimeoutException($"no {what} after {timeout.TotalSeconds} s; logs in {Dir}: {Logs()}");
            Thread.Sleep(300);
        }
    }

    /// <summary>Runs a Slurm client command against this cluster.</summary>
    public (int Exit, string Out, string Err) Client(string command, params string[] args)
    {
        var psi = new ProcessStartInfo(Find(command)!) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["SLURM_CONF"] = Conf;
        using var p = Process.Start(psi)!;
        var err = p.StandardError.ReadToEndAsync();
        string o = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        return (p.ExitCode, o, err.Result);
    }

    public string Logs() => string.Join("\n", Directory.Exists(Dir)
        ? Directory.GetFiles(Dir, "*.log").Concat(Directory.GetFiles(Dir, "*.out")).Select(f => $"--- {Path.GetFileName(f)}\n{string.Join('\n', File.ReadLines(f).TakeLast(15))}")
        : Array.Empty<string>());

    /// <summary>Stops every daemon this fixture started, by the process it started (never by name), then removes its folder.</summary>
    public void Dispose()
    {
        foreach (var p in Enumerable.Reverse(started))
        {
            try { if (!p.HasExited) { p.Kill(); p.WaitForExit(10_000); } }
            catch (InvalidOperationException) { }
            p.Dispose();
        }
        started.Clear();
        try { if (Directory.Exists(Dir)) Directory.Delete(Dir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}

/// <summary>
/// A fact that needs Slurm: skipped with the reason when Slurm cannot run here, unless RESODE_EXPECT_SLURM=1
/// (set by .ci/run after installing it), in which case it runs and fails with the reason.
/// </summary>
public sealed class SlurmFactAttribute : FactAttribute
{
    public SlurmFactAttribute()
    {
        if (SlurmCluster.Unavailable() is string why && !SlurmCluster.Expected)
            Skip = $"Slurm is not available: {why}. Set {SlurmCluster.ExpectVariable}=1 to make this a failure (as .ci/run does where it installs Slurm).";
    }
}

[Collection("baseline study")]
public sealed class SlurmTests(BaselineStudy baseline)
{
    [SlurmFact(DisplayName = "sweep slurm: study on a real one-node Slurm → merge equals the single-machine result bit for bit")]
    public void A_study_submitted_to_a_real_Slurm_merges_to_the_single_machine_result_bit_for_bit()
    {
        Assert.True(SlurmCluster.Unavailable() is null, $"{SlurmCluster.ExpectVariable}=1 but Slurm cannot run here: {SlurmCluster.Unavailable()}");
        using var cluster = new SlurmCluster();
        string root = Cli.TempDir("slurm");
        try
        {
            var env = new Dictionary<string, string> { ["SLURM_CONF"] = cluster.Conf };
            string outDir = Path.Combine(root, "out");
            var submit = Cli.Run(root, env, "sweep", "slurm", baseline.StudyPath, "--out", outDir, "--max-parallel", "2", "--time", "00:10:00");
            Assert.True(submit.Exit == 0, submit.ToString());
            string job = submit.Out.Trim();
            Assert.Matches("^[0-9]+$", job);

            var sw = Stopwatch.StartNew();
            while (cluster.Client("squeue", "-h", "-r", "-j", job).Out.Trim().Length > 0)
            {
                Assert.True(sw.Elapsed < TimeSpan.FromMinutes(5), $"job {job} still queued after 5 minutes: {cluster.Client("squeue", "-j", job).Out}\n{cluster.Logs()}");
                Thread.Sleep(1000);
            }
            var status = Cli.Run(root, env, "sweep", "status", outDir);
            Assert.True(status.Exit == 0, status.ToString());
            Assert.Contains("4 cells: 4 done, 0 running, 0 failed, 0 interrupted, 0 not started", status.Out);
            Assert.Contains("squeue: 0 array tasks", status.Out);
            // Each array task wrote its own log through sbatch --output.
            Assert.Equal(4, Directory.GetFiles(Path.Combine(outDir, "slurm"), $"{job}_*.out").Length);

            var merge = Cli.Run(root, env, "sweep", "merge", outDir);
            Assert.True(merge.Exit == 0, merge.ToString());
            Assert.Empty(Compare.Studies(baseline.Out, outDir));
        }
        finally { Directory.Delete(root, recursive: true); }
    }
}
