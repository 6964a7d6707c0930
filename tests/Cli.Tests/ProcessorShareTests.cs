using ResOdeProofs.Cli.Sweep;

namespace ResOdeProofs.Cli.Tests;

/// <summary>
/// The processors a study's cell process sees: ⌊cores / jobs⌋, the cores capped by the CPUs Slurm allocated to the array
/// task (SLURM_CPUS_PER_TASK), which a cluster without CPU binding does not show the process.
/// </summary>
[Collection(CliCollection.Name)]
public sealed class ProcessorShareTests
{
    [Fact(DisplayName = "CellWorkers.ProcessorShare: SLURM_CPUS_PER_TASK = 1 on a machine of more cores → one processor a cell; unset → ⌊cores / jobs⌋")]
    public void SlurmAllocationCapsTheShare()
    {
        string? before = Environment.GetEnvironmentVariable("SLURM_CPUS_PER_TASK");
        try
        {
            Environment.SetEnvironmentVariable("SLURM_CPUS_PER_TASK", null);
            Assert.Equal(Math.Max(1, Environment.ProcessorCount), CellWorkers.ProcessorShare(1));
            Environment.SetEnvironmentVariable("SLURM_CPUS_PER_TASK", "1");
            Assert.Equal(1, CellWorkers.ProcessorShare(1));
            Environment.SetEnvironmentVariable("SLURM_CPUS_PER_TASK", "not a number");
            Assert.Equal(Math.Max(1, Environment.ProcessorCount), CellWorkers.ProcessorShare(1));
        }
        finally { Environment.SetEnvironmentVariable("SLURM_CPUS_PER_TASK", before); }
    }

    [Fact(DisplayName = "report --jobs: 100 000 asked for on a study of 19 cells → 19 lanes (one worker process each, started before the cells: it started 100 000); not given → the processors, at most the cells; 1 → 1")]
    public void ReportLanesAreAtMostTheCells()
    {
        Assert.Equal(19, ResOdeProofs.Cli.Report.ReportCommand.Lanes(100_000, 19));
        Assert.Equal(Math.Min(Environment.ProcessorCount, 3), ResOdeProofs.Cli.Report.ReportCommand.Lanes(null, 3));
        Assert.Equal(1, ResOdeProofs.Cli.Report.ReportCommand.Lanes(1, 19));
    }
}
