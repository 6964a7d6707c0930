using ResOdeProofs.Numerics.IO;
using ResOdeProofs.Numerics.Model;
using ResOdeProofs.Numerics.Training;
using ResOdeProofs.Numerics.Verification;

namespace ResOdeProofs.Numerics.Tests;

/// <summary>
/// The observed replay's lane as it runs on a bit-exact claim: the engine writes its hidden states straight into the kept
/// arrays and takes the kept per-layer ranges inside the activation's and the σ'-product's own passes, and the trace row
/// and the update are the trainer's fused passes. Against the separate calls they replace (bit for bit, on every kernel
/// width, with tails and NaN entries), and through the replay: what the observer is handed is a plain evaluation's, a
/// faithful run lands exactly and a snapshot moved in one entry does not.
/// </summary>
public sealed class ReplayKeptLaneTests : IDisposable
{
    private readonly NpyTestUtil _tmp = new();

    public void Dispose() => _tmp.Dispose();

    private static void SameBits(ReadOnlySpan<double> a, ReadOnlySpan<double> b, string what)
    {
        Assert.Equal(a.Length, b.Length);
        for (int i = 0; i < a.Length; i++)
            Assert.True(BitConverter.DoubleToInt64Bits(a[i]) == BitConverter.DoubleToInt64Bits(b[i]), $"{what}[{i}]: {a[i]:R} vs {b[i]:R}");
    }

    private static void SameBits(ReadOnlySpan<float> a, ReadOnlySpan<float> b, string what)
    {
        Assert.Equal(a.Length, b.Length);
        for (int i = 0; i < a.Length; i++)
            Assert.True(BitConverter.SingleToInt32Bits(a[i]) == BitConverter.SingleToInt32Bits(b[i]), $"{what}[{i}]: {a[i]:R} vs {b[i]:R}");
    }

    private static T With<T>(SimdLevel level, Func<T> f)
    {
        var old = Simd.Override;
        Simd.Override = level;
        try { return f(); }
        finally { Simd.Override = old; }
    }

    /// <summary>Entries over several binades and both signs, NaN at a few places (including inside a whole vector).</summary>
    private static double[] Entries(int n, int seed, bool nan)
    {
        var r = new System.Random(seed);
        var x = new double[n];
        for (int i = 0; i < n; i++) x[i] = (r.NextDouble() - 0.5) * Math.Pow(2, r.Next(-3, 4));
        if (nan && n > 3) { x[1] = double.NaN; x[n - 1] = double.NaN; }
        return x;
    }

    [Theory(DisplayName = "VectorActivations.EvaluateWithRanges: GELU, tanh, softplus, every length 0..40 with tails, NaN entries, float64 and float32 → σ, σ' and both ranges the bits of Evaluate, MinMax(u) and MinMax(σ')")]
    [InlineData(SimdLevel.Vector512)]
    [InlineData(SimdLevel.Vector256)]
    [InlineData(SimdLevel.Scalar)]
    public void RangesInTheActivationPass(SimdLevel level)
    {
        foreach (var kind in new[] { ActivationKind.Gelu, ActivationKind.Tanh, ActivationKind.Softplus })
            for (int n = 0; n <= 40; n++)
                foreach (bool nan in new[] { false, true })
                {
                    var u = Entries(n, 100 * n + (nan ? 1 : 0), nan);
                    string at = $"{kind}, {level}, n = {n}, NaN {nan}";
                    // the separate calls, from ranges already holding values (the merge must be MinMax's)
                    var s0 = new double[n]; var d0 = new double[n];
                    double lo0 = -0.25, hi0 = 0.25, dlo0 = 0.5, dhi0 = 0.5;
                    VectorActivations.Evaluate<double>(level, kind, u, s0, d0);
                    FastKernels.MinMax<double>(level, u, ref lo0, ref hi0);
                    FastKernels.MinMax<double>(level, d0, ref dlo0, ref dhi0);
                    var s1 = new double[n]; var d1 = new double[n];
                    double lo1 = -0.25, hi1 = 0.25, dlo1 = 0.5, dhi1 = 0.5;
                    VectorActivations.EvaluateWithRanges<double>(level, kind, u, s1, d1, ref lo1, ref hi1, ref dlo1, ref dhi1);
                    SameBits(s0, s1, $"σ ({at})"); SameBits(d0, d1, $"σ' ({at})");
                    SameBits([lo0, hi0, dlo0, dhi0], [lo1, hi1, dlo1, dhi1], $"ranges ({at})");
                    // the same from empty ranges, and in float32
                    double a0 = double.PositiveInfinity, b0 = double.NegativeInfinity, c0 = a0, e0 = b0;
                    double a1 = a0, b1 = b0, c1 = a0, e1 = b0;
                    FastKernels.MinMax<double>(level, u, ref a0, ref b0); FastKernels.MinMax<double>(level, d0, ref c0, ref e0);
                    VectorActivations.EvaluateWithRanges<double>(level, kind, u, s1, d1, ref a1, ref b1, ref c1, ref e1);
                    SameBits([a0, b0, c0, e0], [a1, b1, c1, e1], $"ranges from empty ({at})");
                    var uf = u.Select(x => (float)x).ToArray();
                    var sf0 = new float[n]; var df0 = new float[n]; var sf1 = new float[n]; var df1 = new float[n];
                    double fa0 = double.PositiveInfinity, fb0 = double.NegativeInfinity, fc0 = fa0, fe0 = fb0;
                    double fa1 = fa0, fb1 = fb0, fc1 = fa0, fe1 = fb0;
                    VectorActivations.Evaluate<float>(level, kind, uf, sf0, df0);
                    FastKernels.MinMax<float>(level, uf, ref fa0, ref fb0); FastKernels.MinMax<float>(level, df0, ref fc0, ref fe0);
                    VectorActivations.EvaluateWithRanges<float>(level, kind, uf, sf1, df1, ref fa1, ref fb1, ref fc1, ref fe1);
                    SameBits(sf0, sf1, $"σ f32 ({at})"); SameBits(df0, df1, $"σ' f32 ({at})");
                    SameBits([fa0, fb0, fc0, fe0], [fa1, fb1, fc1, fe1], $"ranges f32 ({at})");
                }
    }

    /// <summary>The range as the vector loops define it, written out: lane l of w takes the entries l, l + w, … of the whole
    /// vectors in order with lo ← (v &lt; lo ? v : lo), hi ← (v &gt; hi ? v : hi) from ±∞; the lanes are merged in order with
    /// the same comparisons, then the tail's entries one by one; w = 1 is the scalar loop.</summary>
    private static (double Lo, double Hi) RangeByLanes(double[] x, int w)
    {
        int whole = x.Length >= w ? x.Length / w * w : 0;
        double lo = double.PositiveInfinity, hi = double.NegativeInfinity;
        if (w > 1 && whole > 0)
            for (int l = 0; l < w; l++)
            {
                double a = double.PositiveInfinity, b = double.NegativeInfinity;
                for (int i = l; i < whole; i += w) { double v = x[i]; a = v < a ? v : a; b = v > b ? v : b; }
                if (a < lo) lo = a;
                if (b > hi) hi = b;
            }
        else whole = 0;
        for (int i = whole; i < x.Length; i++) { double v = x[i]; if (v < lo) lo = v; if (v > hi) hi = v; }
        return (lo, hi);
    }

    [Theory(DisplayName = "FastKernels.MinMax and MultiplyIntoWithRange: every length 0..40, NaN, ±0 and ±∞ entries → the range of the comparisons lane by lane (RangeByLanes); the lanes merged the other way round → other bits somewhere (control)")]
    [InlineData(SimdLevel.Vector512, 8)]
    [InlineData(SimdLevel.Vector256, 4)]
    [InlineData(SimdLevel.Scalar, 1)]
    public void RangeIsTheLanesComparisons(SimdLevel level, int lanes)
    {
        var r = new System.Random(21);
        double[] special = { double.NaN, 0.0, -0.0, double.PositiveInfinity, double.NegativeInfinity, 1.5, -1.5 };
        bool reversedDiffers = false;
        for (int n = 0; n <= 40; n++)
            for (int trial = 0; trial < 12; trial++)
            {
                var x = Enumerable.Range(0, n).Select(_ => r.Next(3) == 0 ? (r.NextDouble() - 0.5) : special[r.Next(special.Length)]).ToArray();
                var (wantLo, wantHi) = RangeByLanes(x, lanes);
                double lo = double.PositiveInfinity, hi = double.NegativeInfinity;
                FastKernels.MinMax<double>(level, x, ref lo, ref hi);
                SameBits([wantLo, wantHi], [lo, hi], $"MinMax, {level}, n = {n}, trial {trial}: {string.Join(" ", x)}");
                double lo2 = double.PositiveInfinity, hi2 = double.NegativeInfinity;
                FastKernels.MultiplyIntoWithRange<double>(level, x, x, new double[n], ref lo2, ref hi2);
                SameBits([wantLo, wantHi], [lo2, hi2], $"MultiplyIntoWithRange, {level}, n = {n}, trial {trial}");
                // control: each lane's comparisons with the operands swapped (lo ← lo < v ? lo : v) keep the newer of equal zeros
                if (lanes > 1 && n >= lanes)
                {
                    double a = double.PositiveInfinity;
                    for (int l = 0; l < lanes; l++)
                    {
                        double la = double.PositiveInfinity;
                        for (int i = l; i < n / lanes * lanes; i += lanes) la = la < x[i] ? la : x[i];
                        if (la < a) a = la;
                    }
                    for (int i = n / lanes * lanes; i < n; i++) if (x[i] < a) a = x[i];
                    if (BitConverter.DoubleToInt64Bits(a) != BitConverter.DoubleToInt64Bits(lo)) reversedDiffers = true;
                }
            }
        if (lanes > 1) Assert.True(reversedDiffers, "the swapped comparisons gave the same bits everywhere: the test cannot see the operands' order");
    }

    [Theory(DisplayName = "FastKernels.MultiplyIntoWithRange: every length 0..40 with tails, NaN entries, apart and in place, float64 and float32 → the product the bits of MultiplyInto, the range the bits of MinMax")]
    [InlineData(SimdLevel.Vector512)]
    [InlineData(SimdLevel.Vector256)]
    [InlineData(SimdLevel.Scalar)]
    public void RangeInTheProductPass(SimdLevel level)
    {
        for (int n = 0; n <= 40; n++)
            foreach (bool nan in new[] { false, true })
            {
                var x = Entries(n, 7 * n + 3, nan); var y = Entries(n, 11 * n + 5, false);
                string at = $"{level}, n = {n}, NaN {nan}";
                var z0 = new double[n]; double lo0 = 0.125, hi0 = 0.125;
                FastKernels.MinMax<double>(level, x, ref lo0, ref hi0);
                FastKernels.MultiplyInto<double>(level, x, y, z0);
                var z1 = new double[n]; double lo1 = 0.125, hi1 = 0.125;
                FastKernels.MultiplyIntoWithRange<double>(level, x, y, z1, ref lo1, ref hi1);
                SameBits(z0, z1, $"product ({at})"); SameBits([lo0, hi0], [lo1, hi1], $"range ({at})");
                var inPlace = (double[])x.Clone(); double lo2 = 0.125, hi2 = 0.125;
                FastKernels.MultiplyIntoWithRange<double>(level, inPlace, y, inPlace, ref lo2, ref hi2);
                SameBits(z0, inPlace, $"product in place ({at})"); SameBits([lo0, hi0], [lo2, hi2], $"range in place ({at})");
                var xf = x.Select(t => (float)t).ToArray(); var yf = y.Select(t => (float)t).ToArray();
                var zf0 = new float[n]; var zf1 = new float[n];
                double flo0 = double.PositiveInfinity, fhi0 = double.NegativeInfinity, flo1 = flo0, fhi1 = fhi0;
                FastKernels.MinMax<float>(level, xf, ref flo0, ref fhi0);
                FastKernels.MultiplyInto<float>(level, xf, yf, zf0);
                FastKernels.MultiplyIntoWithRange<float>(level, xf, yf, zf1, ref flo1, ref fhi1);
                SameBits(zf0, zf1, $"product f32 ({at})"); SameBits([flo0, fhi0], [flo1, fhi1], $"range f32 ({at})");
            }
    }

    [Theory(DisplayName = "TraceKernels.AxpyFiniteInto: every length 0..40, apart and in place, an infinite or NaN result → the bits and the finiteness of the update in place, x untouched when apart")]
    [InlineData(SimdLevel.Vector512)]
    [InlineData(SimdLevel.Vector256)]
    [InlineData(SimdLevel.Scalar)]
    public void UpdateIntoAnotherArray(SimdLevel level)
    {
        for (int n = 0; n <= 40; n++)
            foreach (int bad in new[] { -1, 0, n / 2, n - 1 })
            {
                if (bad >= n) continue;
                var x = Entries(n, 3 * n + 1, false); var y = Entries(n, 5 * n + 2, false);
                if (bad >= 0) y[bad] = bad % 2 == 0 ? double.PositiveInfinity : double.NaN;
                string at = $"{level}, n = {n}, bad entry {bad}";
                var inPlace = (double[])x.Clone();
                bool f0 = TraceKernels.AxpyFiniteInto<double>(level, -0.375, y, inPlace, inPlace);
                var xCopy = (double[])x.Clone(); var z = new double[n];
                bool f1 = TraceKernels.AxpyFiniteInto<double>(level, -0.375, y, xCopy, z);
                SameBits(inPlace, z, $"z ({at})"); SameBits(x, xCopy, $"x untouched ({at})");
                Assert.Equal(f0, f1);
                Assert.Equal(bad < 0, f1);
                var alias = (double[])x.Clone();
                Assert.Equal(f0, TraceKernels.AxpyFiniteInto<double>(level, -0.375, y, alias, alias));
                SameBits(inPlace, alias, $"in place ({at})");
            }
    }

    [Theory(DisplayName = "IterationPasses.UpdateInto: clipped and plain, into other arrays → the bits of the in-place Update, W and V untouched")]
    [InlineData(SimdLevel.Vector512)]
    [InlineData(SimdLevel.Vector256)]
    [InlineData(SimdLevel.Scalar)]
    public void PassesUpdateInto(SimdLevel level)
    {
        const int L = 5, md = 24;
        foreach (double? clip in new double?[] { null, 0.5 })
        {
            var w = Entries(L * md, 1, false); var v = Entries(L * md, 2, false);
            var gw = Entries(L * md, 3, false); var gv = Entries(L * md, 4, false);
            var trace = TraceColumns.All.ToDictionary(c => c.Name, _ => new double[1]);
            var a = new IterationPasses<double>(level, L, md); var b = new IterationPasses<double>(level, L, md);
            var wa = (double[])w.Clone(); var va = (double[])v.Clone();
            a.Record(trace, 0, default, wa, va, gw, gv);
            var ra = a.Update(wa, va, gw, gv, 0.25, clip);
            var wb = (double[])w.Clone(); var vb = (double[])v.Clone(); var wTo = new double[L * md]; var vTo = new double[L * md];
            b.Record(trace, 0, default, wb, vb, gw, gv);
            var rb = b.UpdateInto(wb, vb, gw, gv, 0.25, clip, wTo, vTo);
            SameBits(wa, wTo, $"W ({clip})"); SameBits(va, vTo, $"V ({clip})");
            SameBits(w, wb, $"W untouched ({clip})"); SameBits(v, vb, $"V untouched ({clip})");
            Assert.Equal(ra, rb);
            if (clip is not null) Assert.True(rb.Clipped > 0);
        }
    }

    [Theory(DisplayName = "FastKernels.SumSquaresDiffPair: every length 0..40, NaN entries → each sum the bits of its own SumSquaresDiff")]
    [InlineData(SimdLevel.Vector512)]
    [InlineData(SimdLevel.Vector256)]
    [InlineData(SimdLevel.Scalar)]
    public void DistancesSideBySide(SimdLevel level)
    {
        for (int n = 0; n <= 40; n++)
            foreach (bool nan in new[] { false, true })
            {
                var x1 = Entries(n, n + 1, nan); var y1 = Entries(n, n + 2, false);
                var x2 = Entries(n, n + 3, false); var y2 = Entries(n, n + 4, nan);
                var (s1, s2) = FastKernels.SumSquaresDiffPair(level, x1, y1, x2, y2);
                SameBits([FastKernels.SumSquaresDiff<double>(level, x1, y1), FastKernels.SumSquaresDiff<double>(level, x2, y2)], [s1, s2],
                    $"{level}, n = {n}, NaN {nan}");
            }
    }

    [Theory(DisplayName = "ResNet.HiddenStates: one block, states kept in place → the kept array, the bits of an evaluation that keeps nothing")]
    [InlineData(SimdLevel.Vector512)]
    [InlineData(SimdLevel.Vector256)]
    [InlineData(SimdLevel.Scalar)]
    public void HiddenStatesAfterKeeping(SimdLevel level) => With(level, () =>
    {
        var s = TestSetting.Random(4, 5, 8, 4, 6, general: true);
        int total = s.Shape.Depth * s.Shape.LayerSize;
        var plain = new ResNet<double>(s.Shape, ActivationKind.Gelu, s.Data, new EngineOptions(), s.A, s.B);
        var keeping = new ResNet<double>(s.Shape, ActivationKind.Gelu, s.Data, new EngineOptions(), s.A, s.B);
        plain.Evaluate(s.W, s.V, new double[total], new double[total]);
        var kept = new ResNet<double>.KeptStates(s.Shape, s.Data.Count) { KeepProducts = true };
        keeping.Keep = kept;
        keeping.Evaluate(s.W, s.V, new double[total], new double[total]);
        SameBits(plain.HiddenStates, keeping.HiddenStates, "h");
        SameBits(kept.H, keeping.HiddenStates, "h in the kept array");
        return 0;
    });

    /// <summary>
    /// A run on two blocks of 4 samples with width 8 (n_b·m = 32 fills whole vectors of every width, so the replay's
    /// engine keeps its states for the observer), trained and read back under <paramref name="level"/>, keeping its
    /// bit-exact claim.
    /// </summary>
    private RunData KeepingRun(string name, SimdLevel level) => With(level, () =>
    {
        var s = TestSetting.Random(21, 5, 8, 4, 8, general: true);
        var init = Initialization.Smooth(s.Shape, 3, 0.9, 0.5, modes: 2);
        var opts = new TrainOptions(ActivationKind.Gelu, 0.01, 12) { Threads = 2, SnapshotSteps = new[] { 4, 8 } };
        var r = Trainer.Train(s.Shape, s.Data, init, opts, 3, "random test data", s.A, s.B);
        var dir = _tmp.File(name);
        RunDirectory.Write(r, dir);
        var run = RunDirectory.Read(dir);
        Assert.Equal(2, run.Meta.Threads);
        Assert.NotNull(Replay.BitExactClaim(run));
        return run;
    });

    [Theory(DisplayName = "Replay: an observed bit-exact run, states kept in place → the observer handed a plain evaluation's states, adjoints, ranges and gradient at every iterate, the landing exact; one entry of the last snapshot moved by 1e-12 → landing nonzero, on one thread and two")]
    [InlineData(SimdLevel.Vector512)]
    [InlineData(SimdLevel.Vector256)]
    [InlineData(SimdLevel.Scalar)]
    public void ObservedExactReplayKeepsAndCatches(SimdLevel level)
    {
        var run = KeepingRun($"kept-{level}", level);
        With(level, () =>
        {
            var shape = run.Shape;
            int n = run.Data.Count, total = shape.Depth * shape.LayerSize, last = run.Steps.Length - 1;
            // the reference: an engine of one block that keeps nothing, and the split pass' own states and ranges
            var plain = new ResNet<double>(shape, run.Activation, run.Data, new EngineOptions(), run.A, run.B);
            var gwRef = new double[total]; var gvRef = new double[total];
            foreach (bool concurrent in new[] { false, true })
            {
                for (int s = 0; s < last; s++)
                {
                    int observed = 0;
                    IterateCallback check = (j, w, v, gw, gv, st) =>
                    {
                        var kept = Assert.IsType<ResNet<double>.KeptStates>(st.Kept);
                        var pst = plain.Evaluate(w, v, gwRef, gvRef);
                        SameBits(plain.HiddenStates, kept.H, $"h at {j}");
                        // the loss and the gradient of two blocks against one block's: the same states, sums over samples in
                        // another order, so equal to rounding; the kept ranges against the split pass' own, exactly
                        Assert.True(Math.Abs(pst.Loss - kept.Loss) <= 1e-13 * pst.Loss, $"loss at {j}: {pst.Loss:R} vs {kept.Loss:R}");
                        for (int e = 0; e < total; e++)
                            Assert.True(Math.Abs(gw[e] - gwRef[e]) <= 1e-12 * (1 + Math.Abs(gwRef[e])), $"G^W[{e}] at {j}");
                        var own = new SplitPass(shape, run.Activation, n, plain.HiddenStates.Slice(0, n * shape.Dim).ToArray(), run.Data.Y, run.B);
                        own.Evaluate(w, v, gw, gv, withForcing: false);
                        var fromKept = new SplitPass(shape, run.Activation, n, plain.HiddenStates.Slice(0, n * shape.Dim).ToArray(), run.Data.Y, run.B);
                        fromKept.EvaluateKept(w, v, gw, gv, kept, withForcing: false);
                        SameBits(own.Pairs.Lo, fromKept.Pairs.Lo, $"u ranges at {j}"); SameBits(own.Pairs.Hi, fromKept.Pairs.Hi, $"u ranges at {j}");
                        SameBits(own.Pairs.D1K, fromKept.Pairs.D1K, $"max σ' at {j}"); SameBits(own.Pairs.G1Inf, fromKept.Pairs.G1Inf, $"max |Vᵀp| at {j}");
                        SameBits(own.EW, fromKept.EW, $"E^W at {j}");
                        observed++;
                    };
                    var r = Replay.Segment(run, s, check, concurrent);
                    Assert.True(r.BitExact);
                    Assert.Equal(r.To - r.From + 1, observed);
                    Assert.Equal(0.0, r.EndDeviation);
                }
            }
            var moved = (double[])run.W[last].Clone();
            run.W[last][3] += 1e-12 * Math.Max(1.0, Math.Abs(run.W[last][3]));
            try
            {
                foreach (bool concurrent in new[] { false, true })
                {
                    var r = Replay.Segment(run, last - 1, (j, w, v, gw, gv, st) => Assert.NotNull(st.Kept), concurrent);
                    Assert.True(r.BitExact);
                    Assert.True(r.EndDeviation > 0, $"concurrent {concurrent}: landing {r.EndDeviation}");
                    Assert.Equal(1, r.EndWorstLayer);
                }
            }
            finally { run.W[last] = moved; }
            return 0;
        });
    }
}
