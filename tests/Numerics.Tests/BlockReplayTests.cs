using ResOdeProofs.Numerics.Blocks;
using ResOdeProofs.Numerics.Training;
using ResOdeProofs.Numerics.Verification;

namespace ResOdeProofs.Numerics.Tests;

/// <summary>The replay of a block's run from its snapshots (Verification/BlockReplay.cs) drives the producer's backend.</summary>
public class BlockReplayTests
{
    private static TrainRecord Train(string arch, bool float32 = false, int? threads = null, double? clip = null) =>
        new RunSpec
        {
            Theta = true, Architecture = arch, Depth = 6, Samples = 7, Dim = 3, Width = 4, Init = InitKind.Smooth, Scales = arch == "mlp" ? new[] { 1.0, 0.4 } : null,
            Eta = 0.05, Iterations = 9, Snapshots = 4, Clip = clip, Float32 = float32, Threads = threads, Seed = 5,
        }.Train();

    /// <summary>θ at the end of each segment's replay (snapshot s → snapshot s + 1), and the iterates the observer saw.</summary>
    private static (double[]? End, int Seen)[] Segments(TrainRecord r, bool float32, int? threads, bool faithful = false)
    {
        var steps = r.SnapshotSteps;
        return Enumerable.Range(0, steps.Count - 1).Select(s =>
        {
            int seen = 0;
            var end = BlockReplay.Run(r.Block, r.Depth, r.Data, r.A, r.B, r.Options.Eta, r.Options.Clip, r.Snapshots[s].Theta, steps[s], steps[s + 1],
                (j, theta, net, g, st) => { seen++; if (faithful) Assert.Equal(r.Losses[j], st.Loss); Assert.False(net.HiddenStates.IsEmpty); Assert.False(net.Adjoints.IsEmpty); },
                float32, threads);
            return (end, seen);
        }).ToArray();
    }

    [Theory(DisplayName = "BlockReplay: every segment of a block's run → lands on the next snapshot bit for bit")]
    [InlineData("mlp", false, 1, null)]
    [InlineData("mlp", true, 1, 0.3)]
    [InlineData("mlp", false, 2, 0.3)]
    [InlineData("one-layer", false, null, null)]
    [InlineData("glu", false, null, 0.3)]
    public void SegmentsLand(string arch, bool float32, int? threads, double? clip)
    {
        var r = Train(arch, float32, threads, clip);
        Assert.Equal(RunStatus.Completed, r.Status);
        var segs = Segments(r, float32, threads, faithful: true);
        for (int s = 0; s < segs.Length; s++)
        {
            Assert.Equal(r.SnapshotSteps[s + 1] - r.SnapshotSteps[s] + 1, segs[s].Seen);
            Assert.Equal(r.Snapshots[s + 1].Theta, segs[s].End);
        }
    }

    [Fact(DisplayName = "BlockReplay: a float32 MLP block run replayed in float64 → does not land bit for bit")]
    public void WrongPrecisionDoesNotLand()
    {
        var r = Train("mlp", float32: true);
        var segs = Segments(r, float32: false, threads: null);
        Assert.Contains(segs.Select((s, i) => (s.End, i)), x => !x.End!.SequenceEqual(r.Snapshots[x.i + 1].Theta));
    }

    [Fact(DisplayName = "BlockReplay: an MLP block run whose snapshot 1 is bumped by 1e-12 → the segment before it does not land")]
    public void BumpedSnapshotDoesNotLand()
    {
        var r = Train("mlp");
        r.Snapshots[1].Theta[3] += 1e-12;
        var segs = Segments(r, false, null);
        Assert.False(segs[0].End!.SequenceEqual(r.Snapshots[1].Theta));
    }
}
