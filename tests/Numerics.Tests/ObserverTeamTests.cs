using ResOdeProofs.Numerics.IO;
using ResOdeProofs.Numerics.Model;
using ResOdeProofs.Numerics.Training;
using ResOdeProofs.Numerics.Verification;

namespace ResOdeProofs.Numerics.Tests;

/// <summary>
/// The observed replay's two threads sharing the observer's per-pair work (ObserverTeam) and the centre's step fused into
/// the split pass' pair loop (SplitPass.FusedCentre): whatever thread runs which pair and however the pairs are cut into
/// parts, every pair quantity, E_k and centre output is the bits of the separate passes on one thread.
/// </summary>
public sealed class ObserverTeamTests : IDisposable
{
    private readonly NpyTestUtil _tmp = new();

    public void Dispose() => _tmp.Dispose();

    private static double[] EmbeddedInputs(NetworkShape shape, Dataset data, double[]? a)
    {
        int n = data.Count, dim = shape.Dim, dIn = shape.InputDim;
        var h0 = new double[n * dim];
        for (int i = 0; i < n; i++)
            for (int r = 0; r < dim; r++)
            {
                double acc = 0;
                if (a is null) acc = data.X[i * dIn + r];
                else for (int c = 0; c < dIn; c++) acc += a[r * dIn + c] * data.X[i * dIn + c];
                h0[i * dim + r] = acc;
            }
        return h0;
    }

    /// <summary>Every output of a split pass and a centre after a step, named, in a fixed order.</summary>
    private static IEnumerable<(double[] X, string What)> Outputs(SplitPass p, CentrePass c)
    {
        var q = p.Pairs;
        return new[]
        {
            (p.EW, "E^W"), (p.EV, "E^V"), (q.EW, "‖E^W‖"), (q.EV, "‖E^V‖"), (q.Lo, "Lo"), (q.Hi, "Hi"), (q.LoF, "LoF"), (q.HiF, "HiF"),
            (q.D1Hat, "D1Hat"), (q.D1K, "D1K"), (q.GHatInf, "GHatInf"), (q.G1Inf, "G1Inf"), (q.HS, "‖H‖₂"), (q.PS1, "‖P_{k+1}‖₂"),
            (q.PS, "‖P_k‖₂"), (q.X, "‖ΔW‖"), (q.Y, "‖ΔV‖"), (q.DGW, "DGW"), (q.DGV, "DGV"), (q.PF1, "PF1"), (q.PF, "PF"), (q.DHF, "DHF"),
            (q.DHS, "DHS"), (q.SHatS, "SHatS"),
            (c.CW, "c^W"), (c.CV, "c^V"), (c.NormCW, "‖c^W‖"), (c.NormCV, "‖c^V‖"), (c.RW, "r_W"), (c.RV, "r_V"), (c.AWW, "a_WW"),
            (c.AWV, "a_WV"), (c.StepW, "step_W"), (c.StepV, "step_V"), (c.MW, "M_W"), (c.MV, "M_V"), (c.RoundMW, "RoundMW"),
            (c.RoundMV, "RoundMV"), (c.RoundGW, "RoundGW"), (c.RoundGV, "RoundGV"),
        };
    }

    private static List<long[]> Bits(IEnumerable<(double[] X, string What)> outputs) =>
        outputs.Select(o => o.X.Select(BitConverter.DoubleToInt64Bits).ToArray()).ToList();

    private static void SameBits(List<long[]> a, List<long[]> b, IEnumerable<(double[] X, string What)> names, string how)
    {
        var what = names.Select(o => o.What).ToArray();
        for (int j = 0; j < a.Count; j++)
            for (int i = 0; i < a[j].Length; i++)
                Assert.True(a[j][i] == b[j][i],
                    $"{what[j]}[{i}] ({how}): {BitConverter.Int64BitsToDouble(a[j][i]):R} vs {BitConverter.Int64BitsToDouble(b[j][i]):R}");
    }

    /// <summary>How the pair loop runs: separate passes, fused on the caller, fused as a team's observer (the caller
    /// helping), the same cut into parts of 3 pairs.</summary>
    public enum Mode { Separate, Fused, FusedTeam, FusedTeamOddParts }

    /// <summary>Runs <paramref name="job"/> as a replay runs its observer: on a side thread, the caller claiming parts.</summary>
    private static void AsObserver(Action job)
    {
        using var side = new SideWorker(concurrent: true);
        Assert.True(side.Concurrent, "the test machine has two processors");
        var team = new ObserverTeam();
        team.Reset();
        side.Start(team.Wrap(job));
        team.Help();
        side.Join();
    }

    /// <summary>Two iterates of the split pass (engine's kept states) and the centre's step in the given mode.</summary>
    private static List<long[]> Run(TestSetting s, Mode mode, double shift, out IEnumerable<(double[] X, string What)> names)
    {
        var act = ActivationKind.Gelu;
        int md = s.Shape.LayerSize, L = s.Shape.Depth, n = s.Data.Count;
        var net = new ResNet<double>(s.Shape, act, s.Data, new EngineOptions { Threads = 1 }, s.A, s.B);
        var pass = new SplitPass(s.Shape, act, n, EmbeddedInputs(s.Shape, s.Data, s.A), s.Data.Y, s.B);
        var c = new CentrePass(s.Shape, act, n);
        var w1 = s.W.Select((x, i) => x + 0.01 * Math.Sin(i) + shift * (i % 3)).ToArray(); var v1 = s.V.Select((x, i) => x + 0.01 * Math.Cos(i)).ToArray();
        c.Start(w1, v1);
        if (mode != Mode.Separate) { pass.FusedCentre = c; pass.FusedEta = 0.01; }
        var kept = new ResNet<double>.KeptStates(s.Shape, n);
        net.Keep = kept;
        var gw = new double[L * md]; var gv = new double[L * md];
        var old = ObserverTeam.ForcedPartSize;
        try
        {
            // three iterates: the first computes u(1), q(1), σ'(u(1)) itself, the next read the engine's kept ones
            for (int it = 0; it < 3; it++)
            {
                var w = s.W.Select(x => x * (1 + 0.01 * it)).ToArray();
                net.Evaluate(w, s.V, gw, gv);
                void Step()
                {
                    pass.EvaluateKept(w, s.V, gw, gv, kept, withForcing: true);
                    if (mode == Mode.Separate) c.Step(0.01, pass, w, s.V);
                }
                ObserverTeam.ForcedPartSize = mode == Mode.FusedTeamOddParts ? 3 : null;
                if (mode is Mode.FusedTeam or Mode.FusedTeamOddParts) AsObserver(Step); else Step();
            }
        }
        finally { ObserverTeam.ForcedPartSize = old; }
        names = Outputs(pass, c);
        return Bits(names);
    }

    [Theory(DisplayName = "ObserverTeam: split pass with the centre's step fused, on one thread, as a team's observer and in parts of 3 pairs → the separate passes' outputs bit for bit")]
    [InlineData(SimdLevel.Vector512)]
    [InlineData(SimdLevel.Vector256)]
    [InlineData(SimdLevel.Scalar)]
    public void Fused_and_shared_pairs_give_the_separate_bits(SimdLevel level)
    {
        var old = Simd.Override;
        Simd.Override = level;
        try
        {
            // L = 9: 8 pairs, cut into parts 3, 3, 2; n·m = 8·8 fills the vectors (the engine keeps its products); layers at
            // scale 0.2 (δ = ΔW h of order 0.5, the rule's regime)
            var s = TestSetting.Random(6, 9, 8, 5, 8, false, wScale: 0.2);
            var reference = Run(s, Mode.Separate, 0, out var names);
            foreach (var mode in new[] { Mode.Fused, Mode.FusedTeam, Mode.FusedTeamOddParts })
                SameBits(reference, Run(s, mode, 0, out _), names, mode.ToString());
            // the comparison sees a centre started 2⁻⁴⁰ away in a few entries
            var moved = Run(s, Mode.FusedTeamOddParts, Math.ScaleB(1.0, -40), out _);
            Assert.Contains(Enumerable.Range(0, reference.Count), j => !reference[j].SequenceEqual(moved[j]));
        }
        finally { Simd.Override = old; }
    }

    [Fact(DisplayName = "ObserverTeam: an observer job of four parts whose first part waits for the replay's thread → that thread runs a part; outside a team → none")]
    public void The_replays_thread_runs_parts()
    {
        // The first part the observer's thread takes does not return until a part has run on the replay's thread (worker 1):
        // the job finishes only if the replay's thread, in Help, claims parts of the observer's loop. The wait is bounded,
        // so a team that never shares fails here instead of hanging.
        int byReplay = 0;
        using var shared = new ManualResetEventSlim();
        bool sawShare = true;
        void Job() => ObserverTeam.For(4, (from, until, worker) =>
        {
            if (worker == 1) { Interlocked.Increment(ref byReplay); shared.Set(); }
            else if (from == 0) sawShare = shared.Wait(TimeSpan.FromSeconds(60));
        });
        AsObserver(Job);
        Assert.True(sawShare, "the observer's first part waited 60 s and no part ran on the replay's thread");
        Assert.True(byReplay >= 1, $"parts run by the replay's thread: {byReplay}");
        // the same loop outside a team runs every part on the caller (worker 0): the count above distinguishes the two
        int outside = 0;
        ObserverTeam.For(4, (from, until, worker) => { if (worker == 1) outside++; });
        Assert.Equal(0, outside);
    }

    [Fact(DisplayName = "ObserverTeam: a part that throws → the observer's job rethrows it after the other parts ran once each")]
    public void Part_exception_reaches_the_observer()
    {
        var runs = new int[10];
        var ex = Assert.Throws<InvalidOperationException>(() => AsObserver(() =>
            ObserverTeam.For(runs.Length, (from, until, _) =>
            {
                for (int i = from; i < until; i++)
                {
                    Interlocked.Increment(ref runs[i]);
                    if (i == 4) throw new InvalidOperationException("part 4");
                }
            })));
        Assert.Equal("part 4", ex.Message);
        Assert.All(runs, r => Assert.Equal(1, r));
    }

    /// <summary>A GELU run on two blocks of samples whose n_b·m fill the vectors (the engine keeps its states), claiming this
    /// engine build: the observed replay takes the team path.</summary>
    private RunData KeptRun()
    {
        var s = TestSetting.Random(11, 7, 8, 4, 8, general: true, wScale: 0.3, vScale: 0.3);
        var init = Initialization.Smooth(s.Shape, 3, 0.9, 0.5, modes: 2);
        var opts = new TrainOptions(ActivationKind.Gelu, 0.002, 12) { Threads = 2, SnapshotSteps = new[] { 6 } };
        var r = Trainer.Train(s.Shape, s.Data, init, opts, 3, "random test data", s.A, s.B);
        var dir = _tmp.File("kept");
        RunDirectory.Write(r, dir);
        var run = RunDirectory.Read(dir);
        Assert.NotNull(Replay.BitExactClaim(run));
        return run;
    }

    /// <summary>The observer A.split.centre.segments runs: the split pass with the centre fused, on the replay's kept states;
    /// it writes down the bits of every output at every iterate.</summary>
    private static IterateCallback Observer(RunData run, List<long> seen, bool bump)
    {
        var act = run.Activation;
        var pass = new SplitPass(run.Shape, act, run.Data.Count, EmbeddedInputs(run.Shape, run.Data, run.A), run.Data.Y, run.B);
        var c = new CentrePass(run.Shape, act, run.Data.Count);
        bool started = false;
        pass.FusedCentre = c; pass.FusedEta = run.Eta;
        return (j, w, v, gw, gv, st) =>
        {
            if (!started)
            {
                var w0 = w.ToArray();
                if (bump) w0[run.Shape.LayerSize * 3] += 1e-9;
                c.Start(w0, v); started = true;
            }
            if (st.Kept is ResNet<double>.KeptStates kept) pass.EvaluateKept(w, v, gw, gv, kept, withForcing: false);
            else pass.Evaluate(w, v, gw, gv, withForcing: false);
            long h = 17;
            foreach (var (x, _) in Outputs(pass, c))
                foreach (var e in x) h = h * 1_000_003 + BitConverter.DoubleToInt64Bits(e);
            seen.Add(h);
        };
    }

    [Fact(DisplayName = "ObserverTeam: 40 slow items shared by the observer's and the replay's threads → every item run once, the observer's a prefix from the front, the replay's the rest from the back")]
    public void Team_claims_from_both_ends()
    {
        const int items = 40;
        var runs = new int[items];
        var by = new int[items];
        int helperRan = 0;
        AsObserver(() => ObserverTeam.For(items, (from, until, worker) =>
        {
            for (int k = from; k < until; k++)
            {
                Interlocked.Increment(ref runs[k]);
                by[k] = worker;
                // the observer's first item waits (at most 10 s) until the replay's thread has taken one, so both take
                // some however the two threads are scheduled on a busy machine
                if (worker == 1) Volatile.Write(ref helperRan, 1);
                else for (var sw = System.Diagnostics.Stopwatch.StartNew(); Volatile.Read(ref helperRan) == 0 && sw.Elapsed.TotalSeconds < 10;) Thread.Sleep(1);
                Thread.Sleep(1);
            }
        }));
        Assert.All(runs, r => Assert.Equal(1, r));
        int helped = by.Count(w => w == 1);
        Assert.True(helped > 0 && helped < items, $"the replay's thread ran {helped} of {items} items");
        // worker 0 took 0, 1, … and worker 1 took items − 1, items − 2, …: the split is one cut
        Assert.Equal(Enumerable.Repeat(0, items - helped).Concat(Enumerable.Repeat(1, helped)), by);
    }

    [Fact(DisplayName = "Replay: observer (split pass + fused centre) on one thread, on two threads sharing its pairs, in parts of 3 pairs → the same outputs at every iterate bit for bit")]
    public void Observed_replay_same_bits_on_every_schedule()
    {
        var run = KeptRun();
        List<long> Observe(bool concurrent, int? parts, bool bump = false)
        {
            var seen = new List<long>();
            var old = ObserverTeam.ForcedPartSize;
            ObserverTeam.ForcedPartSize = parts;
            try { Replay.Segment(run, 0, Observer(run, seen, bump), concurrent); }
            finally { ObserverTeam.ForcedPartSize = old; }
            return seen;
        }
        var one = Observe(concurrent: false, null);
        Assert.Equal(run.Steps[1] - run.Steps[0] + 1, one.Count);
        Assert.Equal(one, Observe(concurrent: true, null));
        Assert.Equal(one, Observe(concurrent: true, 3));
        // and the comparison is not blind: a centre started 1e-9 away in one entry gives other bits
        Assert.NotEqual(one, Observe(concurrent: true, 3, bump: true));
    }
}
