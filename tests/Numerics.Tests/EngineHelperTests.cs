using ResOdeProofs.Numerics;
using ResOdeProofs.Numerics.Model;
using Xunit;

namespace ResOdeProofs.Numerics.Tests;

public class EngineHelperTests
{
    /// <summary>A job of which only the helper runs parts (the caller claims none), so a job the helper misses never finishes.</summary>
    private sealed class HelperOnly : IClaimedWork
    {
        public readonly ManualResetEventSlim Done = new(false);
        public int Runs;
        public void RunClaimed()
        {
            if (Interlocked.Increment(ref Runs) == 1) Done.Set();
        }
    }

    [Theory(DisplayName = "EngineHelper: 20 000 jobs posted back to back, each taken by the helper alone, the next posted 0–63 spins after the last one ran (around the moment the helper leaves), lingering 0 or 200 µs → every job runs once, none is lost")]
    [InlineData(false)]
    [InlineData(true)]
    public void NoPostedJobIsLost(bool linger)
    {
        var helper = new EngineHelper();
        long saved = EngineHelper.LingerTicks;
        try
        {
            EngineHelper.LingerTicks = linger ? EngineHelper.DefaultLingerTicks : 0;
            for (int i = 0; i < 20000; i++)
            {
                var job = new HelperOnly();
                helper.Post(job);
                // spin (not block) until it ran, so that the next post comes within ns of the helper's leaving
                var sw = System.Diagnostics.Stopwatch.StartNew();
                while (Volatile.Read(ref job.Runs) == 0)
                    if (sw.Elapsed.TotalSeconds > 30) Assert.Fail($"job {i} was never run by the helper");
                Assert.Equal(1, Volatile.Read(ref job.Runs));
                Thread.SpinWait(i % 64);
            }
        }
        finally { EngineHelper.LingerTicks = saved; }
    }

    [Theory(DisplayName = "EngineHelper: 2 threads, helper lingering 200 µs and 0 µs → loss and gradient bit for bit equal")]
    [InlineData(false)]
    [InlineData(true)]
    public void LingeringChangesNoBits(bool f32)
    {
        if (f32) Check<float>(); else Check<double>();

        static void Check<T>() where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
        {
            var shape = NetworkShape.Square(16, 32, 8);
            var data = Dataset.SyntheticGaussian(40, 8, 8, 2);
            int total = shape.Depth * shape.LayerSize;
            var r = new System.Random(7);
            var w = new T[total]; var v = new T[total];
            for (int i = 0; i < total; i++) { w[i] = T.CreateTruncating(r.NextDouble() - 0.5); v[i] = T.CreateTruncating((r.NextDouble() - 0.5) / 2); }
            var one = new ResNet<T>(shape, ActivationKind.Gelu, data, new EngineOptions { Threads = 2 });
            var gw1 = new T[total]; var gv1 = new T[total]; var gw2 = new T[total]; var gv2 = new T[total];
            long saved = EngineHelper.LingerTicks;
            try
            {
                EngineHelper.LingerTicks = 0;
                var a = one.Evaluate(w, v, gw1, gv1);
                EngineHelper.LingerTicks = EngineHelper.DefaultLingerTicks;
                for (int rep = 0; rep < 20; rep++)
                {
                    var b = one.Evaluate(w, v, gw2, gv2);
                    Assert.Equal(a.Loss, b.Loss);
                    Assert.True(gw1.AsSpan().SequenceEqual(gw2) && gv1.AsSpan().SequenceEqual(gv2), $"{typeof(T).Name}: gradients differ at repetition {rep}");
                }
            }
            finally { EngineHelper.LingerTicks = saved; }
        }
    }
}
