using System.Diagnostics;
using System.Globalization;
using System.Numerics;
using ResOdeProofs.Numerics;
using ResOdeProofs.Numerics.Model;
using ResOdeProofs.Numerics.Training;

namespace ResOdeProofs.Bench;

/// <summary>
/// `--handoff-probe [ROUNDS]`: the hand-off between the engine's two threads at figure 2 (L = 64, n = 50, d = 16, m = 64):
/// the iteration as trained (evaluation, record and update passes) on two threads, back to back, with the helper thread
/// lingering for the next job (<see cref="EngineHelper"/>, 200 µs) and without (0: each job wakes a pool thread, the
/// caller blocks at once). A minimum hides the hand-off (the one undisturbed iteration), so this prints quantiles of the
/// per-iteration times: rounds of 50 iterations each way, alternated, so that both see the same load.
/// </summary>
internal static class HandoffProbe
{
    public static void Run(int rounds)
    {
        Console.WriteLine($"level {Simd.Bits(Simd.Level)}-bit; {rounds} alternated rounds of 50 iterations each way; per-iteration µs");
        Probe<float>("figure 2, f32, 2 threads", rounds);
        Probe<double>("figure 2, f64, 2 threads", rounds);
    }

    private static void Probe<T>(string label, int rounds) where T : unmanaged, IFloatingPointIeee754<T>
    {
        const int L = 64, n = 50, d = 16, m = 64, per = 50;
        var shape = NetworkShape.Square(L, m, d);
        var net = new ResNet<T>(shape, ActivationKind.Gelu, Dataset.SyntheticGaussian(n, d, d, 1), new EngineOptions { Threads = 2 });
        int total = L * m * d;
        var w = new T[total]; var v = new T[total]; var gw = new T[total]; var gv = new T[total];
        var r = new System.Random(3);
        for (int i = 0; i < total; i++) { w[i] = T.CreateTruncating((r.NextDouble() - 0.5) / 2); v[i] = T.CreateTruncating((r.NextDouble() - 0.5) / 4); }
        var passes = new IterationPasses<T>(Simd.Level, L, m * d, net.Threads, helper: net.Helper);
        var trace = TraceColumns.All.ToDictionary(c => c.Name, _ => new double[1]);
        var lingers = new[] { EngineHelper.DefaultLingerTicks, 0L };
        var times = lingers.Select(_ => new List<double>()).ToArray();
        try
        {
            for (int round = -2; round < rounds; round++)
                for (int c = 0; c < lingers.Length; c++)
                {
                    EngineHelper.LingerTicks = lingers[c];
                    for (int it = 0; it < per; it++)
                    {
                        long t0 = Stopwatch.GetTimestamp();
                        var st = net.Evaluate(w, v, gw, gv);
                        passes.Record(trace, 0, st, w, v, gw, gv);
                        passes.Update(w, v, gw, gv, 1e-9, null);   // a tiny step, so that the weights stay put
                        if (round >= 0) times[c].Add(Stopwatch.GetElapsedTime(t0).TotalMicroseconds);
                    }
                }
        }
        finally { EngineHelper.LingerTicks = EngineHelper.DefaultLingerTicks; }
        Console.WriteLine($"{label}:        p10      p50      p90");
        for (int c = 0; c < lingers.Length; c++)
        {
            var t = times[c].Order().ToArray();
            double Q(double q) => t[(int)(q * (t.Length - 1))];
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  helper lingers {(lingers[c] == 0 ? "0 µs  " : "200 µs")} {Q(0.1),8:F1} {Q(0.5),8:F1} {Q(0.9),8:F1}"));
        }
    }
}
