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
    public static long Nanoseconds()
    {
        if (!OperatingSystem.IsLinux()) return 0;
        try { return ClockGetTime(3 /* CLOCK_THREAD_CPUTIME_ID */, out var ts) == 0 ? ts.Sec * 1_000_000_000L + ts.Nsec : 0; }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { return 0; }
    }

    /// <summary>Processor seconds of the calling thread; NaN where the clock is not available.</summary>
    public static double Seconds()
    {
        if (!OperatingSystem.IsLinux()) return double.NaN;
        try { return ClockGetTime(3 /* CLOCK_THREAD_CPUTIME_ID */, out var ts) == 0 ? ts.Sec + ts.Nsec * 1e-9 : double.NaN; }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { return double.NaN; }
    }
}
