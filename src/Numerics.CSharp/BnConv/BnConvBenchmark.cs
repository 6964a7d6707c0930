using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using ResOdeProofs.Numerics.Model;
using ResOdeProofs.Numerics.Random;

namespace ResOdeProofs.Numerics.BnConv;

/// <summary>
/// Speed of the convolutional experiment's kernels, each as the minimum over repetitions (the figure least disturbed by
/// other work on a shared machine): the float32 FMA peak of one core, measured by independent vector FMA chains; the
/// GFLOP/s of a block convolution's forward and backward (im2col + GEMM, 2 flops per multiply-add) and of the forward's
/// GEMM alone; and the time of one
/// training step (forward, backward, SGD update) of the whole network.
/// </summary>
public static class BnConvBenchmark
{
    /// <summary>Measured float32 FMA peak of one core in GFLOP/s (2 flops per lane per FMA) at the engine's SIMD width.</summary>
    public static double PeakFma32(int repeats = 20)
    {
        const int iters = 2_000_000;
        double best;
        float sink = 0;
        best = MinSeconds(() => sink += Simd.Level == SimdLevel.Vector512 ? Chains512(iters) : Chains256(iters), repeats);
        if (sink == 12345.678f) Console.Write("");
        int lanes = Simd.Level == SimdLevel.Vector512 ? 16 : 8;
        return 2.0 * lanes * 12 * iters / best / 1e9;
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static float Chains512(int iters)
    {
        var m = Vector512.Create(0.999999f); var a = Vector512.Create(1e-7f);
        Vector512<float> c0 = Vector512.Create(1f), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0, c6 = c0, c7 = c0, c8 = c0, c9 = c0, c10 = c0, c11 = c0;
        for (int i = 0; i < iters; i++)
        {
            c0 = Vector512.FusedMultiplyAdd(c0, m, a); c1 = Vector512.FusedMultiplyAdd(c1, m, a); c2 = Vector512.FusedMultiplyAdd(c2, m, a);
            c3 = Vector512.FusedMultiplyAdd(c3, m, a); c4 = Vector512.FusedMultiplyAdd(c4, m, a); c5 = Vector512.FusedMultiplyAdd(c5, m, a);
            c6 = Vector512.FusedMultiplyAdd(c6, m, a); c7 = Vector512.FusedMultiplyAdd(c7, m, a); c8 = Vector512.FusedMultiplyAdd(c8, m, a);
            c9 = Vector512.FusedMultiplyAdd(c9, m, a); c10 = Vector512.FusedMultiplyAdd(c10, m, a); c11 = Vector512.FusedMultiplyAdd(c11, m, a);
        }
        return Vector512.Sum(c0 + c1 + c2 + c3 + c4 + c5 + c6 + c7 + c8 + c9 + c10 + c11);
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static float Chains256(int iters)
    {
        var m = Vector256.Create(0.999999f); var a = Vector256.Create(1e-7f);
        Vector256<float> c0 = Vector256.Create(1f), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0, c6 = c0, c7 = c0, c8 = c0, c9 = c0, c10 = c0, c11 = c0;
        for (int i = 0; i < iters; i++)
        {
            c0 = Vector256.FusedMultiplyAdd(c0, m, a); c1 = Vector256.FusedMultiplyAdd(c1, m, a); c2 = Vector256.FusedMultiplyAdd(c2, m, a);
            c3 = Vector256.FusedMultiplyAdd(c3, m, a); c4 = Vector256.FusedMultiplyAdd(c4, m, a); c5 = Vector256.FusedMultiplyAdd(c5, m, a);
            c6 = Vector256.FusedMultiplyAdd(c6, m, a); c7 = Vector256.FusedMultiplyAdd(c7, m, a); c8 = Vector256.FusedMultiplyAdd(c8, m, a);
            c9 = Vector256.FusedMultiplyAdd(c9, m, a); c10 = Vector256.FusedMultiplyAdd(c10, m, a); c11 = Vector256.FusedMultiplyAdd(c11, m, a);
        }
        return Vector256.Sum(c0 + c1 + c2 + c3 + c4 + c5 + c6 + c7 + c8 + c9 + c10 + c11);
    }

    /// <summary>
    /// Minimum over the repetitions (after one warm-up call) of the processor time of the calling thread spent in
    /// <paramref name="action"/> (Linux CLOCK_THREAD_CPUTIME_ID; wall-clock time where that clock is unavailable): on a
    /// machine shared with other work, time the thread waits for a core is not counted.
    /// </summary>
    public static double MinSeconds(Action action, int repeats)
    {
        action();
        double best = double.MaxValue;
        for (int r = 0; r < repeats; r++)
        {
            double c0 = ThreadSeconds(); var sw = Stopwatch.StartNew();
            action();
            double c1 = ThreadSeconds();
            best = Math.Min(best, double.IsNaN(c0) ? sw.Elapsed.TotalSeconds : c1 - c0);
        }
        return best;
    }

    /// <summary>True when <see cref="MinSeconds"/> measures thread processor time.</summary>
    public static bool ThreadClock => !double.IsNaN(ThreadSeconds());

    private static double ThreadSeconds() => Numerics.ThreadClock.Seconds();

    /// <summary>GFLOP/s (best of the repetitions) of one block convolution's forward, of its backward (kernel gradient and input adjoint) on a batch, and of the forward's GEMM without the im2col copy.</summary>
    public static (double Forward, double Backward, double GemmOnly) ConvGflops(BnConvConfig cfg, int batch, int repeats, int chunkEntries = 0)
    {
        ConvIm2col.ChunkFloatsOverride = chunkEntries;
        try { return ConvGflopsCore(cfg, batch, repeats); }
        finally { ConvIm2col.ChunkFloatsOverride = 0; }
    }

    private static (double Forward, double Backward, double GemmOnly) ConvGflopsCore(BnConvConfig cfg, int batch, int repeats)
    {
        var s = cfg.Block; int m = batch * s.HOut * s.WOut;
        var rng = new Rng(1);
        var x = Random(rng, s.CIn * m); var k = Random(rng, s.KernelLength); var dy = Random(rng, s.COut * m);
        var y = new float[s.COut * m]; var cols = new float[s.Inner * m]; var gT = new float[s.Inner * s.COut];
        var gk = new float[s.KernelLength]; var dx = new float[s.CIn * m];
        double f = MinSeconds(() => ConvIm2col.Forward(s, batch, k, x, y, cols), repeats);
        double b = MinSeconds(() => ConvIm2col.Backward(s, batch, k, x, dy, gk, dx, cols, gT), repeats);
        double g = MinSeconds(() => FastKernels.Gemm(Simd.Level, k, s.Inner, 1, cols, y, s.COut, s.Inner, m, 1f, false), repeats);
        double flops = 2.0 * s.MultiplyAdds(batch);
        return (flops / f / 1e9, 2 * flops / b / 1e9, flops / g / 1e9);
    }

    /// <summary>Best seconds of one training step (forward, backward, SGD update) of the whole network on a batch of random inputs.</summary>
    public static double TrainStepSeconds(BnConvConfig cfg, int batch, int repeats)
    {
        var net = new BnConvNet<float>(cfg, batch);
        var theta = BnConvNet<float>.Initialize(cfg, BnConvInit.Iid, 1);
        var rng = new Rng(2);
        var input = Random(rng, batch * cfg.InputChannels * cfg.InputSide * cfg.InputSide);
        var labels = Enumerable.Range(0, batch).Select(i => i % cfg.Classes).ToArray();
        var grad = new float[theta.Length]; var vel = new float[theta.Length];
        var stats = BnConvNet<float>.InitialStatistics(cfg);
        return MinSeconds(() =>
        {
            net.TrainStep(theta, input, labels, batch, grad, stats);
            for (int i = 0; i < theta.Length; i++) { vel[i] = 0.9f * vel[i] + grad[i] + 5e-4f * theta[i]; theta[i] -= 1e-3f * vel[i]; }
        }, repeats);
    }

    private static float[] Random(Rng rng, int n)
    {
        var a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float)rng.NextGaussian();
        return a;
    }
}
