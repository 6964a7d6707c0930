using ResOdeProofs.Numerics.IO;
using ResOdeProofs.Numerics.Model;
using ResOdeProofs.Numerics.Training;
using ResOdeProofs.Numerics.Verification;

namespace ResOdeProofs.Numerics.Tests;

/// <summary>
/// The observed replay's schedule (Replay.Run with an observer on the side thread): the replay's thread takes the update of
/// iterate j into a third weight set before it hands iterate j to the observer, and the kept sets are made once per run and
/// shared by its segments. Whatever the schedule, the observer must be handed every iterate once, in order, with the weights,
/// gradient and kept states of a replay on one thread, untouched for the whole of its call.
/// </summary>
public sealed class ReplayLaneTests : IDisposable
{
    private readonly NpyTestUtil _tmp = new();

    public void Dispose() => _tmp.Dispose();

    /// <summary>A GELU run on two blocks of samples whose n_b·m fill the vectors, three segments, claiming this engine build.</summary>
    private RunData ThreeSegments(double eta = 0.002)
    {
        var s = TestSetting.Random(11, 7, 8, 4, 8, general: true, wScale: 0.3, vScale: 0.3);
        var init = Initialization.Smooth(s.Shape, 3, 0.9, 0.5, modes: 2);
        var opts = new TrainOptions(ActivationKind.Gelu, eta, 12) { Threads = 2, SnapshotSteps = new[] { 4, 8 } };
        var r = Trainer.Train(s.Shape, s.Data, init, opts, 3, "random test data", s.A, s.B);
        var dir = _tmp.File($"three-{eta}");
        RunDirectory.Write(r, dir);
        var run = RunDirectory.Read(dir);
        Assert.NotNull(Replay.BitExactClaim(run));
        Assert.True(run.Steps.Length >= 3);
        return run;
    }

    private static long Hash(long h, ReadOnlySpan<double> x)
    {
        foreach (var e in x) h = h * 1_000_003 + BitConverter.DoubleToInt64Bits(e);
        return h;
    }

    /// <summary>
    /// Replays every segment; the observer hashes what it is handed at entry (weights, gradient, kept states), sleeps
    /// <paramref name="sleepMs"/> (the replay's thread meanwhile evaluates and updates the next iterate), then hashes it again;
    /// returns (segment, iteration, hash at entry) per call and the number of calls whose inputs changed during the call.
    /// </summary>
    private static (List<(int S, int J, long H)> Seen, int Changed) Observe(RunData run, bool concurrent, int sleepMs)
    {
        var seen = new List<(int, int, long)>();
        int changed = 0;
        long Of(ReadOnlySpan<double> w, ReadOnlySpan<double> v, ReadOnlySpan<double> gw, ReadOnlySpan<double> gv, EvaluationStats st)
        {
            long h = Hash(Hash(Hash(Hash(17, w), v), gw), gv);
            if (st.Kept is ResNet<double>.KeptStates k) h = Hash(Hash(Hash(Hash(h, k.H), k.P), k.PreMin), k.DerivativeMax);
            return h;
        }
        Replay.Run(run, s => (j, w, v, gw, gv, st) =>
        {
            long h = Of(w, v, gw, gv, st);
            if (sleepMs > 0) Thread.Sleep(sleepMs);
            if (Of(w, v, gw, gv, st) != h) changed++;
            seen.Add((s, j, h));
        }, concurrent);
        return (seen, changed);
    }

    [Fact(DisplayName = "Replay.Run: an observer slower than the replay's next evaluation and update, over three segments → every iterate handed once in order, its inputs untouched during the call, the bits of a replay on one thread")]
    public void Observer_inputs_untouched_and_in_order()
    {
        var run = ThreeSegments();
        var (one, changedOne) = Observe(run, concurrent: false, sleepMs: 0);
        var (two, changedTwo) = Observe(run, concurrent: true, sleepMs: 3);
        Assert.Equal(0, changedOne);
        Assert.Equal(0, changedTwo);
        // every iterate From..To of every segment, once and in order
        var expected = new List<(int, int)>();
        for (int s = 0; s < run.Steps.Length; s++)
        {
            int to = s + 1 < run.Steps.Length ? run.Steps[s + 1] : run.Losses.Length - 1;
            for (int j = run.Steps[s]; j <= to; j++) expected.Add((s, j));
        }
        Assert.Equal(expected, one.Select(x => (x.S, x.J)).ToList());
        Assert.Equal(one, two);
        // the comparison is not blind: another run (another η) is handed other inputs
        var (other, _) = Observe(ThreeSegments(eta: 0.0021), concurrent: true, sleepMs: 0);
        Assert.NotEqual(one.Select(x => x.H), other.Select(x => x.H));
    }

    [Fact(DisplayName = "Replay.Run: kept sets shared by the segments of a run → every segment's replay (losses, trace, tolerances, landing) the bits of Replay.Segment on fresh networks")]
    public void Shared_kept_sets_same_segments()
    {
        var run = ThreeSegments();
        static long Of(SegmentReplay r)
        {
            long h = Hash(Hash(Hash(17, r.Losses), r.LossTolerance), r.Displacement);
            foreach (var c in r.Trace.OrderBy(c => c.Key, StringComparer.Ordinal)) h = Hash(h, c.Value);
            return Hash(h, [r.EndDeviation, r.EndWorstLayerDeviation, r.EndWorstLayer]);
        }
        IterateCallback Nothing() => (j, w, v, gw, gv, st) => { };
        var all = Replay.Run(run, _ => Nothing()).Segments.Select(Of).ToList();
        var fresh = Enumerable.Range(0, run.Steps.Length).Select(s => Of(Replay.Segment(run, s, Nothing()))).ToList();
        Assert.Equal(fresh, all);
        var plain = Enumerable.Range(0, run.Steps.Length).Select(s => Of(Replay.Segment(run, s))).ToList();
        Assert.Equal(plain, all);
        // not blind: another run's segments differ
        var other = Replay.Run(ThreeSegments(eta: 0.0021), _ => Nothing()).Segments.Select(Of).ToList();
        Assert.NotEqual(all, other);
    }
}
