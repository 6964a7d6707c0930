using ResOdeProofs.Numerics.Model;

namespace ResOdeProofs.Numerics.Tests;

/// <summary>
/// σ and σ' stored by the forward pass against recomputed by the backward pass from the stored h
/// (<see cref="EngineOptions.Activations"/>): the same products and the same activation kernel on the same inputs, so
/// every number an evaluation returns or keeps must be the same bits; and the choice between them by size.
/// </summary>
public sealed class ActivationStorageTests
{
    private static readonly SimdLevel[] Levels =
        new[] { SimdLevel.Scalar, SimdLevel.Vector256, SimdLevel.Vector512 }.Where(l => l <= Simd.Hardware).ToArray();

    public static IEnumerable<object[]> LevelCases() => Levels.Select(l => new object[] { l });

    private static TR WithLevel<TR>(SimdLevel level, Func<TR> f)
    {
        var old = Simd.Override;
        Simd.Override = level;
        try { return f(); }
        finally { Simd.Override = old; }
    }

    /// <summary>The first entry where two arrays differ in their bits (−0 against +0 and NaN payloads included), or null.</summary>
    internal static string? FirstDifference(ReadOnlySpan<double> a, ReadOnlySpan<double> b, string what)
    {
        if (a.Length != b.Length) return $"{what}: lengths {a.Length} and {b.Length}";
        for (int i = 0; i < a.Length; i++)
            if (BitConverter.DoubleToInt64Bits(a[i]) != BitConverter.DoubleToInt64Bits(b[i])) return $"{what}[{i}]: {a[i]:R} against {b[i]:R}";
        return null;
    }

    internal static string? FirstDifference(ReadOnlySpan<float> a, ReadOnlySpan<float> b, string what)
    {
        if (a.Length != b.Length) return $"{what}: lengths {a.Length} and {b.Length}";
        for (int i = 0; i < a.Length; i++)
            if (BitConverter.SingleToInt32Bits(a[i]) != BitConverter.SingleToInt32Bits(b[i])) return $"{what}[{i}]: {a[i]:R} against {b[i]:R}";
        return null;
    }

    private static double[] Stats(EvaluationStats s) => new[] { s.Loss, s.MaxHiddenNorm, s.MaxAdjointSum, s.AdjointGrowth, s.MinPreActivation, s.MaxPreActivation };

    /// <summary>One evaluation (the second of two on the same network, so that reused buffers are exercised) in a mode.</summary>
    private static (double[] Stats, T[] GW, T[] GV, bool Recomputed) Run<T>(TestSetting s, ActivationKind act, SimdLevel level, int threads,
        int checkpoint, ActivationStorage storage, EngineFault fault = EngineFault.None)
        where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        var net = new ResNet<T>(s.Shape, act, s.Data, new EngineOptions { Threads = threads, CheckpointSegment = checkpoint, Activations = storage }, s.A, s.B)
        { Fault = fault };
        var w = s.W.Select(x => T.CreateTruncating(x)).ToArray(); var v = s.V.Select(x => T.CreateTruncating(x)).ToArray();
        var gw = new T[w.Length]; var gv = new T[v.Length];
        var st = WithLevel(level, () => { net.Evaluate(w, v, gw, gv); return net.Evaluate(w, v, gw, gv); });
        return (Stats(st), gw, gv, net.RecomputesActivations);
    }

    private static void AssertSameBits<T>((double[] Stats, T[] GW, T[] GV, bool) a, (double[] Stats, T[] GW, T[] GV, bool) b, string where)
    {
        string? diff = FirstDifference(a.Stats, b.Stats, "loss and statistics");
        if (typeof(T) == typeof(double))
            diff ??= FirstDifference((double[])(object)a.GW, (double[])(object)b.GW, "G^W") ?? FirstDifference((double[])(object)a.GV, (double[])(object)b.GV, "G^V");
        else
            diff ??= FirstDifference((float[])(object)a.GW, (float[])(object)b.GW, "G^W") ?? FirstDifference((float[])(object)a.GV, (float[])(object)b.GV, "G^V");
        Assert.True(diff is null, $"{where}: {diff}");
    }

    [Theory(DisplayName = "ResNet.Activations: stored against recomputed σ, σ' (odd shapes, 1–3 blocks, with and without checkpointing, every activation, float64 and float32, each SIMD level) → the same loss, statistics and gradient bits")]
    [MemberData(nameof(LevelCases))]
    public void RecomputedActivationsGiveTheSameBits(SimdLevel level)
    {
        // odd widths and sample counts: the activation kernels' partial last vectors and the GEMM's row and column edges
        var settings = new[]
        {
            TestSetting.Random(41, 7, 19, 9, 13, general: true, 0.6, 0.5),
            TestSetting.Random(42, 9, 32, 16, 11, general: false, 0.5, 0.4),
            TestSetting.Random(43, 5, 5, 3, 7, general: true, 0.9, 0.8),
        };
        foreach (var s in settings)
            foreach (ActivationKind act in Enum.GetValues<ActivationKind>())
                foreach (int threads in new[] { 1, 2, 3 })
                    foreach (int ck in new[] { 0, 3 })
                    {
                        string where = $"{level}, {act}, {threads} thread(s), checkpoint {ck}, L = {s.Shape.Depth}, m = {s.Shape.Width}, d = {s.Shape.Dim}, n = {s.Data.Count}";
                        var stored = Run<double>(s, act, level, threads, ck, ActivationStorage.Stored);
                        var recomputed = Run<double>(s, act, level, threads, ck, ActivationStorage.Recomputed);
                        Assert.False(stored.Recomputed, where);
                        Assert.True(recomputed.Recomputed, where);
                        Assert.Contains(stored.GW, g => g != 0);   // the comparison is not between two zero gradients
                        AssertSameBits(stored, recomputed, where + ", float64");
                        AssertSameBits(Run<float>(s, act, level, threads, ck, ActivationStorage.Stored),
                                       Run<float>(s, act, level, threads, ck, ActivationStorage.Recomputed), where + ", float32");
                    }
    }

    [Theory(DisplayName = "ResNet.Activations: a wrong σ' injected (WrongActivationDerivative) → the same wrong gradient bits stored or recomputed")]
    [MemberData(nameof(LevelCases))]
    public void InjectedDerivativeFaultActsInBothModes(SimdLevel level)
    {
        var s = TestSetting.Random(44, 6, 9, 5, 10, general: false, 0.7, 0.6);
        foreach (int threads in new[] { 1, 2 })
        {
            var clean = Run<double>(s, ActivationKind.Gelu, level, threads, 0, ActivationStorage.Recomputed);
            var stored = Run<double>(s, ActivationKind.Gelu, level, threads, 0, ActivationStorage.Stored, EngineFault.WrongActivationDerivative);
            var recomputed = Run<double>(s, ActivationKind.Gelu, level, threads, 0, ActivationStorage.Recomputed, EngineFault.WrongActivationDerivative);
            Assert.NotNull(FirstDifference(clean.GW, recomputed.GW, "G^W"));   // the fault reaches the recomputed σ'
            AssertSameBits(stored, recomputed, $"{level}, {threads} thread(s), faulty σ'");
        }
    }

    [Fact(DisplayName = "ActivationStorageTests.FirstDifference: one entry one ulp apart (loss, a gradient entry, +0 against −0) → found; equal arrays → none")]
    public void ComparisonDetectsOneUlp()
    {
        var s = TestSetting.Random(45, 4, 6, 3, 5, general: false);
        var r = Run<double>(s, ActivationKind.Gelu, Simd.Level, 1, 0, ActivationStorage.Recomputed);
        Assert.Null(FirstDifference(r.GW, r.GW.ToArray(), "G^W"));
        foreach (int i in new[] { 0, r.GW.Length / 2, r.GW.Length - 1 })
        {
            var bumped = r.GW.ToArray();
            bumped[i] = Math.BitIncrement(bumped[i]);
            Assert.Equal($"G^W[{i}]", FirstDifference(r.GW, bumped, "G^W")!.Split(':')[0]);
        }
        var stats = r.Stats.ToArray();
        stats[0] = Math.BitDecrement(stats[0]);
        Assert.NotNull(FirstDifference(r.Stats, stats, "loss"));
        Assert.NotNull(FirstDifference(new[] { 0.0 }, new[] { -0.0 }, "zero"));
        var f = r.GV.Select(x => (float)x).ToArray(); var fb = f.ToArray();
        fb[1] = MathF.BitIncrement(fb[1]);
        Assert.NotNull(FirstDifference(f, fb, "G^V"));
        // and an engine that differs by one ulp somewhere is caught through the same check as the tests above use
        var other = (r.Stats, r.GW.ToArray(), r.GV, true);
        other.Item2[3] = Math.BitIncrement(other.Item2[3]);
        Assert.ThrowsAny<Xunit.Sdk.XunitException>(() => AssertSameBits(r, other, "bumped"));
    }

    [Theory(DisplayName = "ResNet.Keep: σ, σ' recomputed → the kept states, products, derivatives and ranges of the stored mode bit for bit")]
    [MemberData(nameof(LevelCases))]
    public void KeptStatesInRecomputeMode(SimdLevel level)
    {
        var s = TestSetting.Random(46, 7, 8, 5, 12, general: true, 0.6, 0.5);
        int L = s.Shape.Depth, md = s.Shape.LayerSize, n = s.Data.Count;
        ResNet<double>.KeptStates Keep(ActivationStorage storage, int threads)
        {
            var net = new ResNet<double>(s.Shape, ActivationKind.Gelu, s.Data, new EngineOptions { Threads = threads, Activations = storage }, s.A, s.B);
            var kept = new ResNet<double>.KeptStates(s.Shape, n) { KeepProducts = true };
            net.Keep = kept;
            var gw = new double[L * md]; var gv = new double[L * md];
            WithLevel(level, () => net.Evaluate(s.W, s.V, gw, gv));
            return kept;
        }
        foreach (int threads in new[] { 1, 2 })
        {
            var a = Keep(ActivationStorage.Stored, threads);
            var b = Keep(ActivationStorage.Recomputed, threads);
            Assert.True(b.ProductsValid);
            string? diff = FirstDifference(a.H, b.H, "H") ?? FirstDifference(a.P, b.P, "P") ?? FirstDifference(a.Pre, b.Pre, "Pre")
                ?? FirstDifference(a.Derivative, b.Derivative, "Derivative") ?? FirstDifference(a.AdjointProduct, b.AdjointProduct, "AdjointProduct")
                ?? FirstDifference(a.PreMin, b.PreMin, "PreMin") ?? FirstDifference(a.PreMax, b.PreMax, "PreMax")
                ?? FirstDifference(a.DerivativeMax, b.DerivativeMax, "DerivativeMax") ?? FirstDifference(a.AdjointProductMax, b.AdjointProductMax, "AdjointProductMax")
                ?? FirstDifference(new[] { a.Loss }, new[] { b.Loss }, "loss");
            Assert.True(diff is null, $"{level}, {threads} thread(s): {diff}");
            Assert.Contains(b.Derivative!, x => x != 0);
        }
    }

    [Fact(DisplayName = "VectorActivations: GELU with its range against without (the software-form 512-bit and the 256-bit kernels, float64 and float32, odd lengths) → the same σ and σ' bits")]
    public void ActivationKernelsWithAndWithoutRangeAgree()
    {
        var rng = new System.Random(47);
        foreach (int len in new[] { 1, 7, 8, 15, 16, 17, 33, 1601 })
        {
            var u = Enumerable.Range(0, len).Select(_ => (rng.NextDouble() - 0.5) * 12).ToArray();
            if (len > 3) { u[1] = 0; u[2] = -0.0; u[3] = 1e-300; }
            var uf = u.Select(x => (float)x).ToArray();
            foreach (SimdLevel level in new[] { SimdLevel.Vector512, SimdLevel.Vector256 })
            {
                var (s1, d1, s2, d2) = (new double[len], new double[len], new double[len], new double[len]);
                int done1 = level == SimdLevel.Vector512 ? ActivationKernels512.Evaluate(ActivationKind.Gelu, u, s1, d1) : ActivationKernels256.Evaluate(ActivationKind.Gelu, u, s1, d1);
                int done2 = level == SimdLevel.Vector512 ? ActivationKernels512.GeluDoubleRange(u, s2, d2, out _, out _) : ActivationKernels256.GeluDoubleRange(u, s2, d2, out _, out _);
                Assert.Equal(done1, done2);
                Assert.Null(FirstDifference(s1.AsSpan(0, done1), s2.AsSpan(0, done2), $"{level} σ, n = {len}") ?? FirstDifference(d1.AsSpan(0, done1), d2.AsSpan(0, done2), $"{level} σ', n = {len}"));
                var (f1, g1, f2, g2) = (new float[len], new float[len], new float[len], new float[len]);
                int fd1 = level == SimdLevel.Vector512 ? ActivationKernels512.Evaluate(ActivationKind.Gelu, uf, f1, g1) : ActivationKernels256.Evaluate(ActivationKind.Gelu, uf, f1, g1);
                int fd2 = level == SimdLevel.Vector512 ? ActivationKernels512.GeluSingleRange(uf, f2, g2, out _, out _) : ActivationKernels256.GeluSingleRange(uf, f2, g2, out _, out _);
                Assert.Equal(fd1, fd2);
                Assert.Null(FirstDifference(f1.AsSpan(0, fd1), f2.AsSpan(0, fd2), $"{level} float σ, n = {len}") ?? FirstDifference(g1.AsSpan(0, fd1), g2.AsSpan(0, fd2), $"{level} float σ', n = {len}"));
            }
        }
    }

    [Fact(DisplayName = "EngineOptions.RecomputesActivations: Auto → stored (the measured faster mode); Stored or Recomputed asked → as asked; an unknown mode → refused")]
    public void ModeChoice()
    {
        long fig1 = EngineOptions.BytesPerLayer(NetworkShape.Square(1024, 32, 16), 100, 8) * 1024;
        long fig2 = EngineOptions.BytesPerLayer(NetworkShape.Square(64, 64, 16), 50, 8) * 64;
        Assert.Equal(65_536_000, fig1);
        Assert.Equal(3_686_400, fig2);
        var auto = new EngineOptions();
        Assert.Equal(ActivationStorage.Auto, auto.Activations);
        Assert.Equal(EngineOptions.EnvironmentStorage == ActivationStorage.Recomputed, auto.RecomputesActivations());
        Assert.False((auto with { Activations = ActivationStorage.Stored }).RecomputesActivations());
        Assert.True((auto with { Activations = ActivationStorage.Recomputed }).RecomputesActivations());
        Assert.Throws<ArgumentException>(() => (auto with { Activations = (ActivationStorage)7 }).Validate());
    }

    [Fact(DisplayName = "ResNet.RecomputesActivations: small network with Auto → stored; Recomputed asked → recomputed; checkpointed → judged by the segment buffers")]
    public void NetworkReportsItsMode()
    {
        var s = TestSetting.Random(48, 6, 4, 3, 5, general: false);
        Assert.False(new ResNet<double>(s.Shape, ActivationKind.Gelu, s.Data, new EngineOptions(), s.A, s.B).RecomputesActivations);
        Assert.True(new ResNet<double>(s.Shape, ActivationKind.Gelu, s.Data, new EngineOptions { Activations = ActivationStorage.Recomputed }, s.A, s.B).RecomputesActivations);
        Assert.True(new ResNet<double>(s.Shape, ActivationKind.Gelu, s.Data, new EngineOptions { Activations = ActivationStorage.Recomputed, CheckpointSegment = 2 }, s.A, s.B).RecomputesActivations);
    }

    [Fact(DisplayName = "MachineCache.Read: a cache listing (L1d, L1i, L2, L3) → the L3's bytes; a missing directory, a malformed size → none")]
    public void CacheListingIsRead()
    {
        var root = Directory.CreateTempSubdirectory("cache-listing-").FullName;
        try
        {
            void Index(int i, string level, string type, string size)
            {
                var dir = Directory.CreateDirectory(Path.Combine(root, $"index{i}")).FullName;
                File.WriteAllText(Path.Combine(dir, "level"), level + "\n");
                File.WriteAllText(Path.Combine(dir, "type"), type + "\n");
                File.WriteAllText(Path.Combine(dir, "size"), size + "\n");
            }
            Index(0, "1", "Data", "32K"); Index(1, "1", "Instruction", "32K"); Index(2, "2", "Unified", "512K"); Index(3, "3", "Unified", "32768K");
            Assert.Equal(32L << 20, MachineCache.Read(root));
            Assert.Null(MachineCache.Read(Path.Combine(root, "absent")));
            Index(4, "4", "Unified", "lots");
            Assert.Null(MachineCache.Read(root));
            Assert.Equal(1L << 20, MachineCache.ParseSize("1M"));
            Assert.Equal(512L, MachineCache.ParseSize("512"));
            Assert.Null(MachineCache.ParseSize("-4K"));
            Assert.Null(MachineCache.ParseSize("0K"));
            Assert.True(MachineCache.LastLevelBytes > 0);
        }
        finally { Directory.Delete(root, recursive: true); }
    }
}
