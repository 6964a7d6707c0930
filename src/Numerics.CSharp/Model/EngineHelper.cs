using System.Diagnostics;

namespace ResOdeProofs.Numerics.Model;

/// <summary>Work that a caller offers to a helper thread: parts claimed through a counter until none is left.</summary>
internal interface IClaimedWork
{
    /// <summary>Runs parts until none is left unclaimed (also called by the caller itself, so the helper is never needed).</summary>
    void RunClaimed();
}

/// <summary>
/// The second thread of an engine and its trainer passes: one thread-pool thread that, after its part of a job, stays a
/// short while (<see cref="LingerTicks"/>, spinning) for the next job of the same owner instead of going back to the pool.
/// At figure 2 a job (one block of the evaluation, half of a trainer pass) takes 25–600 µs and the next one follows
/// within a few µs, while waking a parked pool thread costs tens of µs or more; a parked thread also often started its
/// block only after the caller had finished its own and taken the helper's too, so the iteration ran on one thread.
/// Correctness never depends on the helper: every job is claimed in parts and the caller runs whatever nobody has
/// claimed, so which thread ran which part (and whether the helper ran at all) changes no number.
/// </summary>
internal sealed class EngineHelper : IThreadPoolWorkItem
{
    /// <summary>Default of <see cref="LingerTicks"/>: 200 µs.</summary>
    public static readonly long DefaultLingerTicks = Stopwatch.Frequency / 5000;

    /// <summary>
    /// How long the helper spins for the next job, and the caller for the helper's parts, before blocking (a benchmark sets
    /// 0 to time the hand-off through the pool alone in the same process; no number of a result depends on it).
    /// </summary>
    public static long LingerTicks { get; set; } = DefaultLingerTicks;

    private IClaimedWork? _job;
    private int _running;   // 1 while a pool thread is in Execute

    /// <summary>Offers <paramref name="job"/> to the helper thread (queuing one on the pool when none is lingering).</summary>
    public void Post(IClaimedWork job)
    {
        Volatile.Write(ref _job, job);
        if (Interlocked.CompareExchange(ref _running, 1, 0) == 0) ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);
    }

    public void Execute()
    {
        while (true)
        {
            if (Interlocked.Exchange(ref _job, null) is IClaimedWork job) { job.RunClaimed(); continue; }
            // spin, yielding the core now and then (SpinOnce without sleeping): on a busy machine other threads run meanwhile
            long t0 = Stopwatch.GetTimestamp();
            var spin = new SpinWait();
            while (Volatile.Read(ref _job) is null && Stopwatch.GetTimestamp() - t0 < LingerTicks) spin.SpinOnce(sleep1Threshold: -1);
            if (Volatile.Read(ref _job) is not null) continue;
            // leave; a job posted after the exchange below queues a new helper, one posted before it is seen here
            Interlocked.Exchange(ref _running, 0);
            if (Volatile.Read(ref _job) is null || Interlocked.CompareExchange(ref _running, 1, 0) != 0) return;
        }
    }

    /// <summary>
    /// Waits until <paramref name="pending"/> reaches 0: spinning up to <see cref="LingerTicks"/> (the helper's part
    /// usually ends within it), then on <paramref name="done"/>, which the last part sets.
    /// </summary>
    public static void Wait(ref int pending, ManualResetEventSlim done)
    {
        long t0 = Stopwatch.GetTimestamp();
        var spin = new SpinWait();
        while (Volatile.Read(ref pending) != 0)
        {
            if (Stopwatch.GetTimestamp() - t0 >= LingerTicks) { done.Wait(); return; }
            spin.SpinOnce(sleep1Threshold: -1);
        }
    }
}
