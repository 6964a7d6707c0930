using System.Runtime.InteropServices;

namespace ResOdeProofs.Numerics;

/// <summary>
/// The processor time of the calling thread (Linux: CLOCK_THREAD_CPUTIME_ID): what a part running on a thread of its own
/// cost, beside the process's total. Not available elsewhere (<see cref="Seconds"/> NaN, <see cref="Nanoseconds"/> 0).
/// </summary>
public static class ThreadClock
{
    private struct TimeSpec { public long Sec; public long Nsec; }

    [DllImport("libc", EntryPoint = "clock_gettime")]
    private static extern int ClockGetTime(int clock, out TimeSpec ts);

    /// <summary>Processor nanoseconds of the calling thread; 0 where the clock is not available.</summary>
    public static long Nanoseconds() => TryRead(out var ns) ? ns : 0;

    /// <summary>Processor seconds of the calling thread; NaN where the clock is not available.</summary>
    public static double Seconds() => TryRead(out var ns) ? ns * 1e-9 : double.NaN;

    /// <summary>The one read of the clock both forms use: false off Linux or where libc's clock_gettime is missing or fails.</summary>
    private static bool TryRead(out long nanoseconds)
    {
        nanoseconds = 0;
        if (!OperatingSystem.IsLinux()) return false;
        try
        {
            if (ClockGetTime(3 /* CLOCK_THREAD_CPUTIME_ID */, out var ts) != 0) return false;
            nanoseconds = ts.Sec * 1_000_000_000L + ts.Nsec;
            return true;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { return false; }
    }
}
