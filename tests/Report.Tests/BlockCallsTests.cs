using ResOdeProofs.Cli.Report;
using ResOdeProofs.Numerics.IO;
using ResOdeProofs.Theory;

namespace ResOdeProofs.Report.Tests;

/// <summary>
/// The theory layer calls blocks through <see cref="ResOdeProofs.Numerics.Blocks.BlockCalls"/> (docs/architecture.md,
/// "Calling a block from the theory layer"): before, a collection that moved an array at the wrong moment made a block's
/// forward call write into the array's former place, and B.bound.tangent's local errors changed between evaluations of
/// one run (about one evaluation in thirteen of the report's conv run, with a collection forced every millisecond).
/// </summary>
public sealed class BlockCallsTests
{
    [Fact(DisplayName = "B.bound.tangent (conv run): evaluated again and again while collections move arrays → the same bits every time")]
    public void The_tangent_analysis_keeps_its_bits_under_frequent_collections()
    {
        var spec = ArchitectureSection.Specs(0).Single(s => s.Architecture == "conv");
        var result = spec.Train();
        string Analyse()
        {
            // a new view each time: the analysis is kept per run
            var run = Registry.openRun(RunDirectory.InMemory(result, "conv"));
            return string.Join(";", GenericEuler.analyse(run).SelectMany(a => a.Select(x =>
                $"{x.Bound:R} {x.LocalSum:R} {x.BoundOneInterval:R} {x.Propagation:R} {x.Measured:R}")));
        }
        string first = Analyse();
        bool stop = false;
        var collector = new Thread(() =>
        {
            while (!Volatile.Read(ref stop))
            {
                GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
                Thread.Sleep(1);
            }
        });
        collector.Start();
        var differing = new List<int>();
        try
        {
            for (int i = 0; i < 12; i++)
                if (Analyse() != first) differing.Add(i);
        }
        finally
        {
            Volatile.Write(ref stop, true);
            collector.Join();
        }
        Assert.Empty(differing);
    }
}
