using ResOdeProofs.Numerics.IO;
using ResOdeProofs.Numerics.Model;
using ResOdeProofs.Numerics.Training;
using ResOdeProofs.Numerics.Verification;

namespace ResOdeProofs.Numerics.Tests;

/// <summary>
/// The evidence replay with its companions or its observer on a second thread (Replay.Segment, concurrent) against the
/// same replay on one thread: every number the same bits, the observer given the same iterates in the same order; and a
/// corrupted snapshot caught on either path.
/// </summary>
public sealed class ReplayLaneTests : IDisposable
{
    private readonly NpyTestUtil _tmp = new();

    public void Dispose() => _tmp.Dispose();

    /// <summary>A run on two blocks of samples (the recorded thread count the replay reproduces), written and read back.</summary>
    private RunData TwoBlockRun(string name)
    {
        var s = TestSetting.Random(11, 6, 5, 4, 9, general: true);
        var init = Initialization.Smooth(s.Shape, 3, 0.9, 0.5, modes: 2);
        var opts = new TrainOptions(ActivationKind.Gelu, 0.002, 18) { Threads = 2, SnapshotSteps = new[] { 6, 12 } };
        var r = Trainer.Train(s.Shape, s.Data, init, opts, 3, "random test data", s.A, s.B);
        var dir = _tmp.File(name);
        RunDirectory.Write(r, dir);
        var run = RunDirectory.Read(dir);
        Assert.Equal(2, run.Meta.Threads);
        Assert.Equal(new[] { 0, 6, 12, 18 }, run.Steps);
        Assert.False(run.Diverged);
        return run;
    }

    private static void SameBits(double[] a, double[] b, string what)
    {
        Assert.Equal(a.Length, b.Length);
        for (int i = 0; i < a.Length; i++)
            Assert.True(BitConverter.DoubleToInt64Bits(a[i]) == BitConverter.DoubleToInt64Bits(b[i]), $"{what}[{i}]: {a[i]:R} vs {b[i]:R}");
    }

    /// <summary>An observer that writes down each iterate's index and the bits of everything it is given.</summary>
    private static IterateCallback Recorder(List<string> seen) => (j, w, v, gw, gv, st) =>
    {
        long h = 17;
        foreach (var span in new[] { w.ToArray(), v.ToArray(), gw.ToArray(), gv.ToArray() })
            foreach (var x in span) h = h * 1_000_003 + BitConverter.DoubleToInt64Bits(x);
        seen.Add($"{j}:{h}:{BitConverter.DoubleToInt64Bits(st.Loss)}");
    };

    private static void SameReplay(SegmentReplay a, SegmentReplay b)
    {
        SameBits(a.Losses, b.Losses, "losses");
        SameBits(a.WeightTolerance, b.WeightTolerance, "E");
        SameBits(a.LossTolerance, b.LossTolerance, "loss tolerance");
        SameBits(a.Growth, b.Growth, "growth");
        SameBits(a.Displacement, b.Displacement, "displacement");
        SameBits(new[] { a.EndDeviation, a.EndWorstLayerDeviation }, new[] { b.EndDeviation, b.EndWorstLayerDeviation }, "landing");
        foreach (var (name, col) in a.Trace) SameBits(col, b.Trace[name], name);
        Assert.Equal(a.CertifiableSpacing, b.CertifiableSpacing);
    }

    [Fact(DisplayName = "Replay: companions or observer on a second thread → the one-thread replay bit for bit, observer sees the same iterates in order")]
    public void SecondThreadChangesNoBit()
    {
        var run = TwoBlockRun("run");
        for (int s = 0; s < run.Steps.Length; s++)
        {
            var seenOne = new List<string>(); var seenTwo = new List<string>();
            var one = Replay.Segment(run, s, Recorder(seenOne), concurrent: false);
            var two = Replay.Segment(run, s, Recorder(seenTwo), concurrent: true);
            var bare = Replay.Segment(run, s, null, concurrent: true);
            SameReplay(one, two);
            SameReplay(one, bare);
            Assert.True(one.Finite);
            Assert.Equal(one.To - one.From + 1, seenOne.Count);
            Assert.Equal(seenOne, seenTwo);
        }
    }

    [Fact(DisplayName = "E.replay: one layer of the last snapshot bumped by 1e-3 → landing beyond the tolerance on every lane, faithful run within it")]
    public void BumpedSnapshotIsCaughtOnEveryLane()
    {
        var run = TwoBlockRun("bumped");
        int last = run.Steps.Length - 1, md = run.Shape.LayerSize;
        double u = Replay.UnitRoundoff(run.Meta.Precision);
        double Allowed(SegmentReplay r)
        {
            double zn = Math.Sqrt(run.W[last].Sum(x => x * x) + run.V[last].Sum(x => x * x));
            return r.WeightTolerance[^1] + u * zn;
        }
        foreach (bool concurrent in new[] { false, true })
            foreach (bool observed in new[] { false, true })
            {
                var seen = new List<string>();
                var faithful = Replay.Segment(run, last - 1, observed ? Recorder(seen) : null, concurrent);
                Assert.True(faithful.EndDeviation <= Allowed(faithful), $"faithful: {faithful.EndDeviation} > {Allowed(faithful)}");
            }
        for (int e = 2 * md; e < 3 * md; e++) run.W[last][e] += 1e-3;
        foreach (bool concurrent in new[] { false, true })
            foreach (bool observed in new[] { false, true })
            {
                var seen = new List<string>();
                var r = Replay.Segment(run, last - 1, observed ? Recorder(seen) : null, concurrent);
                Assert.True(r.EndDeviation > Allowed(r), $"concurrent {concurrent}, observed {observed}: {r.EndDeviation} ≤ {Allowed(r)}");
                Assert.Equal(3, r.EndWorstLayer);
            }
    }
}
