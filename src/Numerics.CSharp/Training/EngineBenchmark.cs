using System.Diagnostics;
using System.Numerics;
using ResOdeProofs.Numerics.Model;

namespace ResOdeProofs.Numerics.Training;

/// <summary>One benchmark configuration: a full-batch GD iteration (forward, backward, update) at these sizes.</summary>
/// <param name="Name">Short label, e.g. "fig2".</param>
/// <param name="Depth">L.</param>
/// <param name="Samples">n.</param>
/// <param name="Dim">d.</param>
/// <param name="Width">m.</param>
/// <param name="Float32">Engine precision float32 instead of float64.</param>
/// <param name="Threads">Engine threads.</param>
/// <param name="Checkpoint">Checkpoint segment length (0 = off).</param>
/// <param name="Activation">σ (GELU in the paper's figures).</param>
public sealed record BenchConfig(string Name, int Depth, int Samples, int Dim, int Width, bool Float32, int Threads, int Checkpoint,
    ActivationKind Activation = ActivationKind.Gelu)
{
    /// <summary>With checkpointing: final layers kept from the forward pass (see <see cref="EngineOptions.CheckpointKeepLast"/>).</summary>
    public int KeepLast { get; init; }

    /// <summary>
    /// Time what `resode train` does per iteration rather than the engine iteration alone: the evaluation, the trace
    /// record (norms and smoothness of every layer), the finiteness checks and the update of the trainer's loop.
    /// </summary>
    public bool WithTrace { get; init; }

    /// <summary>σ and σ' stored or recomputed in the backward pass (see <see cref="EngineOptions.Activations"/>; no bit changes).</summary>
    public ActivationStorage Activations { get; init; } = ActivationStorage.Auto;

    /// <summary>Floating-point operations of one iteration, counted as 12·n·d·m·L (forward 4, backward 8).</summary>
    public double Flops => 12.0 * Samples * Dim * Width * Depth;
}

/// <summary>Timing of one configuration.</summary>
/// <param name="Config">What was timed.</param>
/// <param name="MedianMs">Median wall time of one iteration in ms.</param>
/// <param name="MinMs">Fastest iteration in ms.</param>
/// <param name="Repeats">Timed iterations (after the warm-up).</param>
/// <param name="EngineBytes">Managed memory held by the engine, weights and gradients (GC heap growth after setup).</param>
/// <param name="Simd">Kernel level used.</param>
public sealed record BenchResult(BenchConfig Config, double MedianMs, double MinMs, int Repeats, long EngineBytes, SimdLevel Simd)
{
    /// <summary>True when the engine recomputed σ and σ' in the backward pass (the resolved <see cref="BenchConfig.Activations"/>).</summary>
    public bool RecomputedActivations { get; init; }

    /// <summary>GFLOP/s at the median time.</summary>
    public double GflopsMedian => Config.Flops / (MedianMs * 1e6);
    /// <summary>GFLOP/s at the fastest time.</summary>
    public double GflopsBest => Config.Flops / (MinMs * 1e6);
}

/// <summary>Times the engine on synthetic data (x, y ~ N(0, I), W ~ N(0, 1/d), V ~ N(0, 1/m)).</summary>
public static class EngineBenchmark
{
    /// <summary>Runs <paramref name="warmup"/> untimed and <paramref name="repeats"/> timed iterations.</summary>
    public static BenchResult Run(BenchConfig c, int warmup, int repeats) =>
        c.Float32 ? Run<float>(c, warmup, repeats) : Run<double>(c, warmup, repeats);

    private static BenchResult Run<T>(BenchConfig c, int warmup, int repeats) where T : unmanaged, IFloatingPointIeee754<T>
    {
        GC.Collect(); GC.WaitForPendingFinalizers(); GC.Collect();
        long before = GC.GetTotalMemory(true);
        var shape = NetworkShape.Square(c.Depth, c.Width, c.Dim);
        var data = Dataset.SyntheticGaussian(c.Samples, c.Dim, c.Dim, 1);
        var net = new ResNet<T>(shape, c.Activation, data, new EngineOptions { Threads = c.Threads, CheckpointSegment = c.Checkpoint, CheckpointKeepLast = c.KeepLast, Activations = c.Activations });
        int total = c.Depth * c.Width * c.Dim;
        var w = AlignedArrays.Create<T>(total); var v = AlignedArrays.Create<T>(total); var gw = AlignedArrays.Create<T>(total); var gv = AlignedArrays.Create<T>(total);
        var rng = Random.Rng.ForStream(1, "bench");
        var tmp = new double[c.Width * c.Dim];
        for (int k = 0; k < c.Depth; k++)
        {
            rng.FillGaussian(tmp);
            for (int i = 0; i < tmp.Length; i++) w[k * tmp.Length + i] = T.CreateTruncating(tmp[i] / Math.Sqrt(c.Dim));
            rng.FillGaussian(tmp);
            for (int i = 0; i < tmp.Length; i++) v[k * tmp.Length + i] = T.CreateTruncating(tmp[i] / Math.Sqrt(c.Width));
        }
        long engineBytes = GC.GetTotalMemory(true) - before;
        T minusEta = T.CreateTruncating(-1e-4);
        var times = new double[repeats];
        // Warm-up: at least `warmup` iterations and at least 1 s, so that the JIT's tiered compilation has settled.
        var trace = c.WithTrace ? TraceColumns.All.ToDictionary(col => col.Name, _ => new double[1]) : null;
        var passes = new IterationPasses<T>(Simd.Level, c.Depth, c.Width * c.Dim, net.Threads, helper: net.Helper);
        long w0 = Stopwatch.GetTimestamp();
        for (int it = 0; it < warmup || Stopwatch.GetElapsedTime(w0).TotalSeconds < 1.0; it++)
            Iterate(net, w, v, gw, gv, minusEta, trace, passes);
        for (int it = 0; it < repeats; it++)
        {
            long t0 = Stopwatch.GetTimestamp();
            Iterate(net, w, v, gw, gv, minusEta, trace, passes);
            times[it] = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
        }
        Array.Sort(times);
        double median = repeats % 2 == 1 ? times[repeats / 2] : 0.5 * (times[repeats / 2 - 1] + times[repeats / 2]);
        GC.KeepAlive(net);
        return new BenchResult(c, median, times[0], repeats, engineBytes, Simd.Level) { RecomputedActivations = net.RecomputesActivations };
    }

    private static void Iterate<T>(ResNet<T> net, T[] w, T[] v, T[] gw, T[] gv, T minusEta, Dictionary<string, double[]>? trace,
        IterationPasses<T> passes) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var st = net.Evaluate(w, v, gw, gv);
        if (trace is null)
        {
            Kernels.Axpy(minusEta, gw, w);
            Kernels.Axpy(minusEta, gv, v);
            return;
        }
        // The body of the trainer's loop (Trainer.Run) without snapshots and progress: record and check, update and check.
        bool finite = passes.Record(trace, 0, st, w, v, gw, gv) && double.IsFinite(st.Loss);
        var (stepMax, clipped, finiteAfter) = passes.Update(w, v, gw, gv, -double.CreateTruncating(minusEta), null);
        trace["step_max"][0] = stepMax; trace["clip_fraction"][0] = clipped;
        finite &= finiteAfter;
        if (!finite) throw new InvalidOperationException("the benchmark iteration became non-finite");
    }

    /// <summary>CPU model from /proc/cpuinfo ("unknown" elsewhere).</summary>
    public static string CpuModel() => CpuInfo("model name");

    /// <summary>The "cpu MHz" line of /proc/cpuinfo ("unknown" elsewhere): the nominal clock inside a virtual machine.</summary>
    public static string NominalMHz() => CpuInfo("cpu MHz");

    /// <summary>
    /// The float64 FMA peak of one core at the vector width <paramref name="level"/>, measured: the fastest of 300 timed calls
    /// of twelve independent chains of fused multiply–adds on registers (<c>FmaPeak</c> of the GEMM's source, 2 000 trips of
    /// 24·lanes FLOP), after 30 untimed ones; GFLOP/s. Float32 has twice the lanes. Null at the scalar level (no vector FMA
    /// path to measure). A fraction of it is the share of the machine's arithmetic a row used, whatever the clock.
    /// </summary>
    public static double? FmaPeakGflops(SimdLevel level)
    {
        if (level == SimdLevel.Scalar) return null;
        const int trips = 2000, calls = 300, warmup = 30;
        int lanes = Simd.Bits(level) / 64;
        double sink = 0, best = double.PositiveInfinity;
        for (int c = 0; c < warmup + calls; c++)
        {
            long t0 = Stopwatch.GetTimestamp();
            sink += level == SimdLevel.Vector512 ? Gemm512.FmaPeak(trips) : Gemm256.FmaPeak(trips);
            long t1 = Stopwatch.GetTimestamp();
            if (c >= warmup) best = Math.Min(best, (t1 - t0) / (double)Stopwatch.Frequency);
        }
        if (!double.IsFinite(sink) || !(best > 0)) return null;
        return 24.0 * lanes * trips / best / 1e9;
    }

    private static string CpuInfo(string key)
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/cpuinfo"))
                if (line.StartsWith(key, StringComparison.Ordinal)) return line[(line.IndexOf(':') + 1)..].Trim();
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        return "unknown";
    }

    /// <summary>CPU feature flags of interest (avx2, avx512f) from /proc/cpuinfo.</summary>
    public static string CpuFlags()
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/cpuinfo"))
                if (line.StartsWith("flags", StringComparison.Ordinal))
                {
                    var f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                    return string.Join(" ", new[] { "avx2", "fma", "avx512f", "avx512dq", "avx512vl" }.Where(f.Contains));
                }
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        return "";
    }
}
