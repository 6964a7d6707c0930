using System.Diagnostics;
using ResOdeProofs.Numerics;
using ResOdeProofs.Numerics.Model;

namespace ResOdeProofs.Bench;

/// <summary>
/// `--series-probe [CALLS]`: figure-2 float64 evaluations on one thread, timed one after another as a run's iterations
/// are (no interleaving), printed as blocks of 100 consecutive calls (min, median, max of wall; thread CPU over wall), so
/// that a process whose median drifts far above its minimum shows whether the slow calls come in stretches or scattered,
/// and whether the thread was off the core (CPU below wall) or on it and slower.
/// </summary>
internal static class SeriesProbe
{
    public static void Run(int calls)
    {
        const int L = 64, n = 50, d = 16, m = 64;
        var net = new ResNet<double>(NetworkShape.Square(L, m, d), ActivationKind.Gelu, Dataset.SyntheticGaussian(n, d, d, 1), new EngineOptions { Threads = 1 });
        int total = L * m * d;
        var W = new double[total]; var V = new double[total]; var Gw = new double[total]; var Gv = new double[total];
        var r = new System.Random(3);
        for (int i = 0; i < total; i++) { W[i] = (r.NextDouble() - 0.5) / 2; V[i] = (r.NextDouble() - 0.5) / 4; }
        for (int i = 0; i < 50; i++) net.Evaluate(W, V, Gw, Gv);
        var wall = new double[calls]; var cpu = new double[calls];
        var sw = new Stopwatch();
        for (int c = 0; c < calls; c++)
        {
            var t0 = Process.GetCurrentProcess().TotalProcessorTime;
            sw.Restart();
            net.Evaluate(W, V, Gw, Gv);
            wall[c] = sw.Elapsed.TotalMilliseconds;
            cpu[c] = (Process.GetCurrentProcess().TotalProcessorTime - t0).TotalMilliseconds;
        }
        Console.WriteLine($"level {Simd.Bits(Simd.Level)}-bit; {calls} consecutive figure-2 f64 evaluations, 1 thread (ms)");
        for (int b = 0; b + 100 <= calls; b += 100)
        {
            var s = wall.AsSpan(b, 100).ToArray(); Array.Sort(s);
            double cw = 0, cc = 0; for (int c = b; c < b + 100; c++) { cw += wall[c]; cc += cpu[c]; }
            Console.WriteLine($"  calls {b,5}..{b + 99,5}: min {s[0]:F3} p50 {s[50]:F3} p90 {s[90]:F3} max {s[99]:F3}  cpu/wall {cc / cw:F2}");
        }
        var all = (double[])wall.Clone(); Array.Sort(all);
        Console.WriteLine($"  all: min {all[0]:F3} p10 {all[calls / 10]:F3} p50 {all[calls / 2]:F3} p90 {all[9 * calls / 10]:F3}");
    }
}
