using System.Runtime.InteropServices;

namespace ResOdeProofs.Cli.Sweep;

/// <summary>The processor seconds of the calling thread (Linux: CLOCK_THREAD_CPUTIME_ID); NaN where that clock is not available.</summary>
internal static class ThreadClock
{
    private struct TimeSpec { public long Sec; public long Nsec; }

    [DllImport("libc", EntryPoint = "clock_gettime")]
    private static extern int ClockGetTime(int clock, out TimeSpec ts);

    public static double Seconds()
    {
        if (!OperatingSystem.IsLinux()) return double.NaN;
        try { return ClockGetTime(3 /* CLOCK_THREAD_CPUTIME_ID */, out var ts) == 0 ? ts.Sec + ts.Nsec * 1e-9 : double.NaN; }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { return double.NaN; }
    }
}
