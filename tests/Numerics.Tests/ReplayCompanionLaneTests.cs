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
public sealed class ReplayCompanionLaneTests : IDisposable
{
    private readonly NpyTestUtil _tmp = new();

    public void Dispose() => _tmp.Dispose();

    /// <summary>
    /// A run on two blocks of samples (the recorded thread count the replay reproduces), written and read back.
    /// <paramref name="claim"/>: keep run.json's bit-exact claim (this engine build, its vector width, the thread count),
    /// which the replay then executes without its companions; otherwise engine_build and simd_bits are removed (the
    /// thread count stays, so that the replayed trajectory is the same) and the companion path runs.
    /// </summary>
    private RunData TwoBlockRun(string name, bool claim = false)
    {
        var run = WrittenRun(name, threads: 2, iterations: 18, snapshotSteps: new[] { 6, 12 });
        Assert.Equal(2, run.Meta.Threads);
        Assert.Equal(new[] { 0, 6, 12, 18 }, run.Steps);
        Assert.False(run.Diverged);
        Assert.NotNull(Replay.BitExactClaim(run));
        if (!claim)
        {
            run.Meta.EngineBuild = null;
            run.Meta.SimdBits = null;
            Assert.Null(Replay.BitExactClaim(run));
        }
        return run;
    }

    /// <summary>
    /// The thread count train records is the one in use (at most one a sample), and every count it records keeps the
    /// bit-exact claim: 100 000 asked for on 9 samples records 9; 70 on 70 records 70 (a bound of 64 alone took it for no
    /// thread count, and the replay compared within a tolerance instead of bit for bit).
    /// </summary>
    [Theory(DisplayName = "Trainer: more threads than samples, or more than 64 on as many samples → run.json records the count in use, the run keeps its bit-exact claim, and its first segment replays bit for bit")]
    [InlineData(100_000, 9, 9)]
    [InlineData(70, 70, 70)]
    public void EveryRecordedThreadCountKeepsTheClaim(int threads, int samples, int recorded)
    {
        var run = WrittenRun($"threads-{threads}", threads: threads, iterations: 4, snapshotSteps: new[] { 2 }, samples: samples);
        Assert.Equal(recorded, run.Meta.Threads);
        Assert.NotNull(Replay.BitExactClaim(run));
        var seg = Replay.Segment(run, 0);
        Assert.True(seg.BitExact);
        Assert.Equal(0.0, seg.EndDeviation);
    }

    /// <summary>
    /// No two platforms' bits have been compared (the engine's transcendental functions are its own, PortableMath, but
    /// nothing else has been shown the same), so a run claims bit-exactness only on the platform that trained it. run.json records it; with another platform
    /// (or none) named, the claim is dropped, the reason names both, and the replay runs its companions (E.replay's certified
    /// path, not an exact comparison that a faithful run could fail).
    /// </summary>
    [Fact(DisplayName = "Replay.BitExactClaim: run.json names another platform or none → no bit-exact claim, the mismatch names both platforms, the segment replayed with its companions; this platform → the claim")]
    public void AnotherPlatformDropsTheClaim()
    {
        var run = WrittenRun("platform", threads: 1, iterations: 6, snapshotSteps: new[] { 3 });
        Assert.Equal(EngineInfo.Platform, run.Meta.Platform);
        Assert.NotNull(Replay.BitExactClaim(run));
        Assert.Null(Replay.BitExactMismatch(run));
        run.Meta.Platform = EngineInfo.Platform == "osx-arm64" ? "win-x64" : "osx-arm64";
        Assert.Null(Replay.BitExactClaim(run));
        var why = Replay.BitExactMismatch(run);
        Assert.True(why is not null && why.Contains(run.Meta.Platform) && why.Contains(EngineInfo.Platform), why);
        RanCompanions(Replay.Segment(run, 0));
        run.Meta.Platform = null;
        Assert.Null(Replay.BitExactClaim(run));
        Assert.Contains("names no platform", Replay.BitExactMismatch(run));
    }

    [Fact(DisplayName = "Replay.BitExactMismatch: run.json names 100 threads for 9 samples → the reason names the 100 threads, not 'no thread count'; no threads → 'no thread count'")]
    public void AnUnusableThreadCountIsNamed()
    {
        var run = WrittenRun("unusable-threads", threads: 1, iterations: 2, snapshotSteps: Array.Empty<int>());
        run.Meta.Threads = 100;
        Assert.Null(Replay.BitExactClaim(run));
        Assert.Contains("names 100 thread(s), which no run of 9 samples used", Replay.BitExactMismatch(run));
        run.Meta.Threads = null;
        Assert.Equal("run.json names no thread count", Replay.BitExactMismatch(run));
    }

    /// <summary>A run of <paramref name="samples"/> samples (default 9) on the given thread count, written and read back.</summary>
    private RunData WrittenRun(string name, int threads, int iterations, int[] snapshotSteps, int samples = 9)
    {
        var s = TestSetting.Random(11, 6, 5, 4, samples, general: true);
        var init = Initialization.Smooth(s.Shape, 3, 0.9, 0.5, modes: 2);
        var opts = new TrainOptions(ActivationKind.Gelu, 0.002, iterations) { Threads = threads, SnapshotSteps = snapshotSteps };
        var r = Trainer.Train(s.Shape, s.Data, init, opts, 3, "random test data", s.A, s.B);
        var dir = _tmp.File(name);
        RunDirectory.Write(r, dir);
        return RunDirectory.Read(dir);
    }

    /// <summary>The companion path ran: a measured growth and a positive tolerance E.</summary>
    private static void RanCompanions(SegmentReplay r)
    {
        Assert.False(r.BitExact);
        Assert.All(r.Growth, g => Assert.True(g >= 1.0, $"growth {g}"));
        if (r.To > r.From) Assert.True(r.WeightTolerance[^1] > 0, $"E = {r.WeightTolerance[^1]}");
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

    /// <summary>Segment s replayed on one thread and on two (observed both times) and unobserved on two: the first must give
    /// the others' bits, the observers must see the same iterates in order, one per iterate of the segment.</summary>
    private static SegmentReplay SameOnEveryLane(RunData run, int s)
    {
        var seenOne = new List<string>(); var seenTwo = new List<string>();
        var one = Replay.Segment(run, s, Recorder(seenOne), concurrent: false);
        var two = Replay.Segment(run, s, Recorder(seenTwo), concurrent: true);
        var bare = Replay.Segment(run, s, null, concurrent: true);
        SameReplay(one, two);
        SameReplay(one, bare);
        Assert.Equal(seenOne, seenTwo);
        Assert.Equal(one.To - one.From + 1, seenOne.Count);
        return one;
    }

    [Theory(DisplayName = "Replay.Run: segments sharing their working arrays → each segment replayed alone on fresh arrays, bit for bit, observer sees the same iterates")]
    [InlineData(false, false)]
    [InlineData(false, true)]
    [InlineData(true, false)]
    [InlineData(true, true)]
    public void SharedSegmentArraysChangeNoBit(bool claim, bool observed)
    {
        // Replay.Run gives every segment the same working arrays (weights, gradients, companions, the observer's copies);
        // Replay.Segment makes fresh ones for its one segment. Segment s of the run starts from arrays the segment before
        // it left behind: every number must still be the one of its replay alone, on the companion and the bit-exact path.
        var run = TwoBlockRun("run", claim);
        var seenRun = new List<string>();
        var whole = Replay.Run(run, observed ? (s => Recorder(seenRun)) : null);
        var seenAlone = new List<string>();
        for (int s = 0; s < run.Steps.Length; s++)
        {
            var alone = Replay.Segment(run, s, observed ? Recorder(seenAlone) : null);
            SameReplay(alone, whole.Segments[s]);
            Assert.Equal(claim, whole.Segments[s].BitExact);
        }
        Assert.Equal(seenAlone, seenRun);
        if (observed) Assert.Equal(run.Losses.Length + run.Steps.Length - 1, seenRun.Count);
    }

    [Fact(DisplayName = "Replay: companions or observer on a second thread → the one-thread replay bit for bit, observer sees the same iterates in order")]
    public void SecondThreadChangesNoBit()
    {
        var run = TwoBlockRun("run");
        for (int s = 0; s < run.Steps.Length; s++)
        {
            var one = SameOnEveryLane(run, s);
            RanCompanions(one);
            Assert.True(one.Finite);
        }
    }

    [Fact(DisplayName = "Replay: inside a budget of one processor (a report's side job) → the two-thread replay bit for bit, observed or not, the observer seeing the same iterates")]
    public void OneProcessorBudgetChangesNoBit()
    {
        // a run of two blocks of samples: inside the budget the side thread runs on the caller and the blocks one after
        // another (Inline), outside it the blocks go to the engine's helper and the observer or companions to the side thread
        var run = TwoBlockRun("run");
        for (int s = 0; s < run.Steps.Length; s++)
        {
            var seenFree = new List<string>(); var seenOne = new List<string>();
            var free = Replay.Segment(run, s, Recorder(seenFree), concurrent: true);
            var bareFree = Replay.Segment(run, s, null, concurrent: true);
            SegmentReplay one, bareOne;
            using (ResOdeProofs.Numerics.ProcessorBudget.Limit(1))
            {
                one = Replay.Segment(run, s, Recorder(seenOne), concurrent: true);
                bareOne = Replay.Segment(run, s, null, concurrent: true);
            }
            SameReplay(free, one);
            SameReplay(bareFree, bareOne);
            Assert.Equal(seenFree, seenOne);
            RanCompanions(one);
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
                RanCompanions(faithful);
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

    [Fact(DisplayName = "Replay: a run claiming this engine build → no companions (E = 0, growth not measured), lands bit for bit; iterates and columns the companion replay's bit for bit, on every lane")]
    public void BitExactClaimRunsWithoutCompanions()
    {
        var run = TwoBlockRun("exact", claim: true);
        var exact = new SegmentReplay[run.Steps.Length];
        for (int s = 0; s < run.Steps.Length; s++)
        {
            var one = SameOnEveryLane(run, s);
            Assert.True(one.BitExact && one.Certified && one.Finite);
            Assert.All(one.WeightTolerance, e => Assert.Equal(0.0, e));
            Assert.All(one.Growth, g => Assert.True(double.IsNaN(g)));
            Assert.Equal(one.To - one.From, one.CertifiableSpacing);
            if (s + 1 < run.Steps.Length) Assert.Equal(0.0, one.EndDeviation);
            exact[s] = one;
        }
        // the same arrays naming another build: the companion path, whose replayed trajectory is the same computation
        run.Meta.EngineBuild = "commit:another-build";
        Assert.Null(Replay.BitExactClaim(run));
        for (int s = 0; s < run.Steps.Length; s++)
        {
            var companion = Replay.Segment(run, s, null, concurrent: true);
            RanCompanions(companion);
            SameBits(exact[s].Losses, companion.Losses, "losses");
            SameBits(exact[s].Displacement, companion.Displacement, "displacement");
            SameBits(new[] { exact[s].EndDeviation }, new[] { companion.EndDeviation }, "landing");
            foreach (var (name, col) in exact[s].Trace) SameBits(col, companion.Trace[name], name);
            // what E = 0 leaves of the loss tolerance: the rounding term alone, below the companion's
            for (int i = 0; i < companion.LossTolerance.Length; i++)
                Assert.True(exact[s].LossTolerance[i] <= companion.LossTolerance[i], $"iterate {i}: {exact[s].LossTolerance[i]} > {companion.LossTolerance[i]}");
        }
    }

    [Fact(DisplayName = "Replay: a run claiming this engine build, one entry of the last snapshot moved by 1e-12 → landing nonzero (the exact comparison fails)")]
    public void BitExactLandingSeesOneEntry()
    {
        var run = TwoBlockRun("exact-moved", claim: true);
        int last = run.Steps.Length - 1;
        run.W[last][5] += 1e-12 * Math.Max(1.0, Math.Abs(run.W[last][5]));
        var r = Replay.Segment(run, last - 1);
        Assert.True(r.BitExact);
        Assert.True(r.EndDeviation > 0, $"landing {r.EndDeviation}");
        Assert.Equal(1, r.EndWorstLayer);
    }
}
