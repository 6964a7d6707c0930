using System.Diagnostics;
using System.Globalization;
using ResOdeProofs.Numerics;
using ResOdeProofs.Numerics.Model;

namespace ResOdeProofs.Bench;

/// <summary>
/// `--min-probe`: for a machine shared with other work. Each measurement is many short calls, interleaved
/// across the kinds being compared, and reports the minimum time of a call: the cost when the call ran
/// undisturbed. The fraction of the FMA peak compares a kernel's minimum with the minimum of
/// <c>Gemm512.FmaPeak</c>/<c>Gemm256.FmaPeak</c> at the same width, so it needs no clock frequency.
/// </summary>
internal static class MinProbe
{
    private const int N = 100, D = 16;

    public static void Run(int rounds)
    {
        var inv = CultureInfo.InvariantCulture;
        var levels = new[] { SimdLevel.Vector256, SimdLevel.Vector512 }.Where(l => l <= Simd.Hardware).ToArray();
        var r = new System.Random(1);
        // every operand on a 64-byte boundary, as the engine's own arrays are (AlignedArrays)
        double[] Fill(int k, double s)
        {
            var a = AlignedArrays.Create<double>(k);
            for (int i = 0; i < k; i++) a[i] = s * (r.NextDouble() - 0.5);
            return a;
        }
        Console.WriteLine($"min over {rounds} interleaved rounds; FLOP counts: GEMM 2·n·d·m, GELU none (entries/ns), iteration 12·n·d·m·L");
        foreach (int m in new[] { 32, 64 })
        {
            var h = Fill(N * D, 1); var wt = Fill(m * D, 1); var pre = Fill(N * m, 4); var p = Fill(N * D, 1); var g = Fill(m * D, 1);
            var s = AlignedArrays.Create<double>(N * m); var sd = AlignedArrays.Create<double>(N * m);
            var probes = new List<(string Name, SimdLevel Level, double Flop, Action Call)>();
            foreach (var l in levels)
            {
                int lanes = l == SimdLevel.Vector512 ? 8 : 4, trips = 200;
                probes.Add(("fma peak", l, 24.0 * lanes * trips, () => { if (l == SimdLevel.Vector512) Gemm512.FmaPeak(trips); else Gemm256.FmaPeak(trips); }));
                probes.Add(("h·Wᵀ", l, 2.0 * N * D * m, () => FastKernels.Gemm<double>(l, h, D, 1, wt, pre, N, D, m, 1.0, false)));
                probes.Add(("p·V", l, 2.0 * N * D * m, () => FastKernels.Gemm<double>(l, p, D, 1, wt, s, N, D, m, 1.0, false)));
                probes.Add(("Σ q hᵀ", l, 2.0 * N * D * m, () => FastKernels.Gemm<double>(l, sd, 1, m, h, g, m, N, D, 1.0, false)));
                probes.Add(("p += q·W", l, 2.0 * N * D * m, () => FastKernels.Gemm<double>(l, sd, m, 1, wt, p, N, m, D, 1e-9, true)));
                probes.Add(("gelu σ,σ'", l, N * m, () => VectorActivations.Evaluate<double>(l, ActivationKind.Gelu, pre, s, sd)));
            }
            var best = Measure(probes.Select(x => x.Call).ToArray(), rounds, 20);
            Console.WriteLine($"n = {N}, d = {D}, m = {m}:");
            for (int i = 0; i < probes.Count; i++)
            {
                var (name, l, flop, _) = probes[i];
                double ns = best[i], peak = probes.Select((x, j) => (x, j)).First(t => t.x.Name == "fma peak" && t.x.Level == l).j;
                double peakRate = probes[(int)peak].Flop / best[(int)peak];
                string rate = name.StartsWith("gelu") ? $"{flop / ns,8:F3} entries/ns" : $"{flop / ns,8:F2} GFLOP/s = {flop / ns / peakRate * 100,5:F1} % of the peak";
                Console.WriteLine(string.Create(inv, $"  {Simd.Bits(l)}-bit {name,-10} {ns / 1000,9:F3} µs  {rate}"));
            }
        }
        // Whole loss-and-gradient evaluations (forward and backward) at the figure sizes, one thread.
        foreach (var (label, L, n, m) in new[] { ("figure 2", 64, 50, 64), ("figure 1", 1024, 100, 32) })
        {
            var shape = NetworkShape.Square(L, m, D);
            var net = new ResNet<double>(shape, ActivationKind.Gelu, Dataset.SyntheticGaussian(n, D, D, 1), new EngineOptions());
            var w = Fill(L * m * D, 0.5); var v = Fill(L * m * D, 0.25); var gw = AlignedArrays.Create<double>(w.Length); var gv = AlignedArrays.Create<double>(v.Length);
            var calls = levels.Select(l => (Action)(() => { Simd.Override = l; try { net.Evaluate(w, v, gw, gv); } finally { Simd.Override = null; } })).ToArray();
            var best = Measure(calls, L > 100 ? Math.Max(3, rounds / 100) : Math.Max(5, rounds / 10), 1);
            for (int i = 0; i < levels.Length; i++)
                Console.WriteLine(string.Create(inv, $"{label} (L = {L}, n = {n}, m = {m}) {Simd.Bits(levels[i])}-bit, 1 thread: {best[i] / 1e6:F3} ms, {12.0 * n * D * m * L / best[i]:F2} GFLOP/s"));
        }
    }

    /// <summary>Minimum ns per call of each action over rounds; each round times a batch of calls of each in turn.</summary>
    internal static double[] Measure(Action[] calls, int rounds, int batch)
    {
        var best = Enumerable.Repeat(double.PositiveInfinity, calls.Length).ToArray();
        foreach (var c in calls) for (int i = 0; i < 3 * batch; i++) c();
        for (int round = 0; round < rounds; round++)
            for (int i = 0; i < calls.Length; i++)
            {
                long t0 = Stopwatch.GetTimestamp();
                for (int b = 0; b < batch; b++) calls[i]();
                double ns = Stopwatch.GetElapsedTime(t0).TotalNanoseconds / batch;
                if (ns < best[i]) best[i] = ns;
            }
        return best;
    }
}
