using ResOdeProofs.Numerics.Model;

namespace ResOdeProofs.Numerics.Training;

/// <summary>
/// The memory a training run will need, estimated from its sizes before anything large is allocated, so that a
/// setting too big for the machine is refused at once with the estimate and the options that reduce it
/// (instead of an out-of-memory failure after minutes of work).
/// </summary>
public static class MemoryEstimate
{
    /// <summary>
    /// Bytes of the large arrays of an MLP run (<see cref="Trainer"/>, or <see cref="GradientFlow"/> when
    /// <paramref name="flow"/>): the initial weights (2·P doubles, P = L·m·d), the iterate and its gradient
    /// (4·P elements, two more with the stale-gradient fault; the flow keeps 2·P-double states for each of the
    /// integrator's stages instead), the per-thread gradients (2·P each beyond the first), the stored
    /// activations (every layer, or with checkpointing the kept layers, the checkpoints and one segment), the
    /// snapshots (S·2·P doubles) and, when they are written, their concatenated copies (S·2·P doubles), plus
    /// <see cref="RuntimeBytes"/>. Measured against the peak resident memory of `resode train --iters 2` (L = 1024,
    /// 4096, 16384; m = 32, 64, 32; n = 100, d = 16) it is 2–23 % above it.
    /// </summary>
    /// <returns>The bytes, and the entries of the largest single array (the concatenated snapshots or the stored activations).</returns>
    public static (long Bytes, long LargestArray) Mlp(NetworkShape shape, int samples, TrainOptions o, bool flow = false)
    {
        long p = (long)shape.Depth * shape.Width * shape.Dim;
        int elem = o.Float32 && !flow ? 4 : 8;
        var engine = flow ? new EngineOptions() : o.EngineFor(shape, samples); // the flow evaluates on one thread without checkpointing
        long snapshots = Trainer.SnapshotPlan(o).Length;
        long bytes = 2 * p * 8;                                             // initial W, V (float64)
        bytes += flow ? 2 * p * 8 * 10 : (o.Fault == EngineFault.StaleGradient ? 6 : 4) * p * elem;
        bytes += (long)(Math.Min(engine.Threads, samples) - 1) * 2 * p * elem;
        bytes += Activations(shape, samples, engine, elem);
        bytes += snapshots * 4 * p * 8;                                     // snapshots of W and V, and their concatenated copies when written
        bytes += RuntimeBytes;
        bytes += (long)samples * (shape.InputDim + shape.OutputDim + 2 * shape.Dim) * 8;
        long largest = Math.Max(snapshots * p, engine.CheckpointSegment == 0 ? (long)shape.Depth * samples * shape.Width : 0);
        return (bytes, largest);
    }

    /// <summary>The runtime, the code and the small buffers of a process (measured: about 70–100 MiB).</summary>
    public const long RuntimeBytes = 100L << 20;

    /// <summary>Bytes of a generic-architecture run: θ, its gradient and the snapshots (L·P each), and per sample and layer the stored states.</summary>
    public static long Block(int depth, int parametersPerLayer, int stateDim, int samples, int snapshots)
    {
        Int128 p = (Int128)depth * parametersPerLayer;
        return Saturated((3 + 2 * (Int128)snapshots) * p * 8 + (Int128)4 * depth * samples * stateDim * 8 + RuntimeBytes);
    }

    /// <summary>The largest array of a generic-architecture run: the snapshots of θ (S·L·P entries), the one `resode train`
    /// and a study's reading both refuse past one array's length.</summary>
    public static long BlockLargest(int depth, int parametersPerLayer, int snapshots) => Saturated((Int128)snapshots * depth * parametersPerLayer);

    // a size in 128 bits, at most long.MaxValue (an absurd setting is refused as too large, never wrapped to a small one)
    private static long Saturated(Int128 x) => x > long.MaxValue ? long.MaxValue : (long)x;

    /// <summary>Stored activations of the engine: ResNet's per-thread buffers summed over the threads (they split the samples).</summary>
    private static long Activations(NetworkShape shape, int samples, EngineOptions engine, int elem)
    {
        // a segment longer than the network is the network (the engine keeps at most its L layers)
        int L = shape.Depth, d = shape.Dim, m = shape.Width, segment = Math.Min(engine.CheckpointSegment, shape.Depth);
        if (segment == 0) return ((long)(L + 1) * d + 2L * L * m) * samples * elem;
        int keep = Math.Max(segment, engine.CheckpointKeepLast);
        long recomputed = L > keep ? (L - keep + segment - 1) / segment : 0;
        long buffer = Math.Max(segment, L - recomputed * segment);
        return ((recomputed + 2) * d + (buffer + 1) * d + 2 * buffer * m) * samples * elem;
    }

    /// <summary>The memory this process may use: the GC's view of the machine's or container's limit.</summary>
    public static long Available() => GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;

    /// <summary>
    /// Throws an <see cref="ArgumentException"/> (a bad setting, not a failure) when <paramref name="bytes"/> exceed what
    /// this process may use, or when one array would exceed .NET's largest array; the message gives the estimate and
    /// <paramref name="reduce"/>, the options that make it smaller.
    /// </summary>
    public static void Require(long bytes, long largestArray, string what, string reduce)
    {
        long available = Available();
        if (largestArray > Array.MaxLength)
            throw new ArgumentException($"{what} needs arrays of {largestArray:N0} entries, more than one .NET array holds ({Array.MaxLength:N0}); {reduce}");
        if (bytes > available)
            throw new ArgumentException($"{what} needs about {Gib(bytes)} of memory, more than the {Gib(available)} available; {reduce}");
    }

    /// <summary>Bytes in GiB with two decimals.</summary>
    public static string Gib(long bytes) => string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{bytes / (double)(1L << 30):F2} GiB");
}
