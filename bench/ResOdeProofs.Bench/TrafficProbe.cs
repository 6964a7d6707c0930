using System.Globalization;
using ResOdeProofs.Numerics;
using ResOdeProofs.Numerics.Model;

namespace ResOdeProofs.Bench;

/// <summary>
/// `--traffic-probe [ROUNDS]`: figure 2's engine evaluation keeping its states and products (what the observed replay runs
/// per iterate), CPU per call of this thread, while a second thread reads memory the way the observer does or in other ways:
/// into one kept set; alternating between two sets (the observed replay's hand-off); two sets with the other set (the
/// previous call's) read once per call beside the evaluation, as the observer reads the iterate before; three sets with the
/// set of two calls before read (so that nothing read was written just before); two sets with an unrelated 12 MiB array read
/// once per call; one set with an unrelated 6 MiB array read over and over. Tells the cost of the memory traffic beside the
/// evaluation apart from its arithmetic. Prints the median of batches per mode.
/// </summary>
internal static class TrafficProbe
{
    private enum Beside { None, PreviousSet, SetBeforePrevious, Unrelated12MiBOnce, Unrelated6MiBContinuously }

    public static void Run(int rounds)
    {
        const int L = Figure2Setting.L, m = Figure2Setting.M, n = Figure2Setting.N, d = Figure2Setting.D;
        var set = new Figure2Setting(); var inv = CultureInfo.InvariantCulture;
        var shape = set.Shape; double[] Fill(int k, double s) => set.Fill(k, s);
        var net = set.Network();
        var w = Fill(L * m * d, 0.5); var v = Fill(L * m * d, 0.25);
        var gw = Enumerable.Range(0, 3).Select(_ => new double[w.Length]).ToArray();
        var gv = Enumerable.Range(0, 3).Select(_ => new double[v.Length]).ToArray();
        var kept = Enumerable.Range(0, 3).Select(_ => new ResNet<double>.KeptStates(shape, n) { KeepProducts = true }).ToArray();
        for (int s = 0; s < kept.Length; s++) { net.Keep = kept[s]; net.Evaluate(w, v, gw[s], gv[s]); }
        var big = Fill(12 << 17, 1.0); var mid = Fill(6 << 17, 1.0);
        var level = Simd.Level;
        double Median(List<double> x) { var o = x.OrderBy(t => t).ToArray(); return o[o.Length / 2]; }
        const int batch = 10;
        double sink = 0;
        var modes = new (string Name, int Sets, Beside Beside)[]
        {
            ("one set", 1, Beside.None),
            ("two sets alternating", 2, Beside.None),
            ("two sets, the previous call's read beside", 2, Beside.PreviousSet),
            ("three sets, two calls before read beside", 3, Beside.SetBeforePrevious),
            ("two sets, an unrelated 12 MiB read beside", 2, Beside.Unrelated12MiBOnce),
            ("one set, an unrelated 6 MiB read over and over", 1, Beside.Unrelated6MiBContinuously),
            ("one set", 1, Beside.None),
        };
        Console.WriteLine(string.Create(inv, $"figure 2 shape (L = {L}, m = {m}, n = {n}, d = {d}), {Simd.Bits(level)}-bit, the evaluation's thread CPU per call, median of {Math.Max(1, rounds / batch)} batches of {batch}:"));
        foreach (var (name, sets, beside) in modes)
        {
            int current = 0, stop = 0;
            using var go = new SemaphoreSlim(0);
            using var done = new SemaphoreSlim(0);
            Thread? reader = null;
            if (beside != Beside.None)
            {
                reader = new Thread(() =>
                {
                    double acc = 0;
                    while (true)
                    {
                        if (beside != Beside.Unrelated6MiBContinuously) go.Wait();
                        if (Volatile.Read(ref stop) != 0) break;
                        int cur = Volatile.Read(ref current);
                        switch (beside)
                        {
                            case Beside.Unrelated6MiBContinuously: acc += FastKernels.SumSquares<double>(level, mid); continue;
                            case Beside.Unrelated12MiBOnce: acc += FastKernels.SumSquares<double>(level, big); break;
                            default:
                                var k = kept[beside == Beside.PreviousSet ? (cur + sets - 1) % sets : (cur + sets - 2) % sets];
                                foreach (var a in new[] { k.Pre!, k.AdjointProduct!, k.Activation!, k.Derivative!, k.H, k.P })
                                    acc += FastKernels.SumSquares<double>(level, a);
                                break;
                        }
                        done.Release();
                    }
                    sink += acc;
                }) { IsBackground = true };
                reader.Start();
            }
            bool paced = beside is not (Beside.None or Beside.Unrelated6MiBContinuously);
            var t = new List<double>();
            int call = 0;
            for (int round = 0; round < Math.Max(1, rounds / batch); round++)
            {
                long t0 = ThreadClock.Nanoseconds();
                for (int b = 0; b < batch; b++, call++)
                {
                    int s = call % sets;
                    Volatile.Write(ref current, s);
                    net.Keep = kept[s];
                    if (paced) go.Release();
                    net.Evaluate(w, v, gw[s], gv[s]);
                    if (paced) done.Wait();
                }
                t.Add((ThreadClock.Nanoseconds() - t0) / 1e6 / batch);
            }
            Volatile.Write(ref stop, 1);
            if (paced) go.Release();
            reader?.Join();
            Console.WriteLine(string.Create(inv, $"  {name,-50} {Median(t),8:F3} ms"));
        }
        Console.WriteLine(string.Create(inv, $"  (the reads' sum, so that they are not optimized away: {sink:E3})"));
    }
}
