using System.Diagnostics;

namespace ResOdeProofs.Numerics.Verification;

/// <summary>
/// Where the two lanes of an observed replay (<see cref="Replay.Segment"/> with an observer on the side thread) spend their
/// wall time, summed over iterates: a diagnostic for benchmarks, off by default. When <see cref="Enabled"/> is false nothing
/// is timed (one branch per hand-off); when on, the replay reads the clock around its parts. It never changes a number.
/// </summary>
public static class ReplayLaneTimes
{
    /// <summary>Time the lanes (set before a replay, read after it).</summary>
    public static bool Enabled { get; set; }

    // Stopwatch ticks, summed; the replay's lane (R) and the observer's (O)
    internal static long REvaluate, RRecord, RHelpRun, RHelpWait, RJoin, RStart, RRest, RWall, RCpuNs, Iterates;
    internal static long OObserve, OWaitParts, OCpuNs, OJobs, OCpuSpan;

    /// <summary>Sets every counter to zero.</summary>
    public static void Reset()
    {
        REvaluate = RRecord = RHelpRun = RHelpWait = RJoin = RStart = RRest = RWall = RCpuNs = Iterates = 0;
        OObserve = OWaitParts = OCpuNs = OJobs = OCpuSpan = 0;
    }

    /// <summary>The counters in milliseconds: name, total ms (CPU rows in CPU ms of that lane's thread).</summary>
    public static IReadOnlyList<(string Name, double Ms)> Read()
    {
        double Ms(long ticks) => ticks * 1000.0 / Stopwatch.Frequency;
        return new (string, double)[]
        {
            ("replay lane: evaluation (kept states and products)", Ms(REvaluate)),
            ("replay lane: trace row", Ms(RRecord)),
            ("replay lane: observer parts run (Help)", Ms(RHelpRun)),
            ("replay lane: waiting for the observer (Help)", Ms(RHelpWait)),
            ("replay lane: waiting for the observer's end (Join)", Ms(RJoin)),
            ("replay lane: handing over the next iterate (Start)", Ms(RStart)),
            ("replay lane: update, distance, tolerances", Ms(RRest)),
            ("replay lane: wall of the loop", Ms(RWall)),
            ("replay lane: CPU of its thread", RCpuNs / 1e6),
            ("observer lane: observer jobs (wall)", Ms(OObserve)),
            ("observer lane: waiting for parts the replay's thread runs", Ms(OWaitParts)),
            ("observer lane: CPU of its thread over the jobs' span", OCpuNs / 1e6),
            ("iterates", Iterates),
            ("observer jobs", OJobs),
        };
    }

    internal static long Now() => Stopwatch.GetTimestamp();

    internal static void Add(ref long counter, long since) => Interlocked.Add(ref counter, Stopwatch.GetTimestamp() - since);

    /// <summary>CPU nanoseconds of the calling thread (<see cref="ThreadClock.Nanoseconds"/>: 0 where that clock is not available).</summary>
    internal static long ThreadCpuNs() => ThreadClock.Nanoseconds();
}
