using System.Globalization;
using ResOdeProofs.Numerics;
using ResOdeProofs.Numerics.Model;
using ResOdeProofs.Numerics.Verification;

namespace ResOdeProofs.Bench;

/// <summary>
/// `--observer-probe [ROUNDS]`: the observer of the evidence replay at figure 2's shape (L = 64, m = 64, n = 50, d = 16) on
/// one thread, alone, for a profiler: ROUNDS rounds, each one engine evaluation keeping its states and products followed by
/// the split pass with the centre's step fused (what the observed replay runs per iterate); prints the CPU of each part per
/// round, median over batches, and the observer in engine evaluations.
/// </summary>
internal static class ObserverProbe
{
    public static void Run(int rounds)
    {
        const int L = 64, m = 64, n = 50, d = 16;
        var inv = CultureInfo.InvariantCulture;
        var r = new System.Random(1);
        double[] Fill(int k, double s) => Enumerable.Range(0, k).Select(_ => s * (r.NextDouble() - 0.5)).ToArray();
        var shape = NetworkShape.Square(L, m, d);
        var data = Dataset.SyntheticGaussian(n, d, d, 1);
        var net = new ResNet<double>(shape, ActivationKind.Gelu, data, new EngineOptions());
        // layers smooth in depth (a slowly varying random walk), as on a trained tied run
        var w = Fill(L * m * d, 0.5); var v = Fill(L * m * d, 0.25);
        for (int k = 1; k < L; k++)
            for (int e = 0; e < m * d; e++) { w[k * m * d + e] = w[(k - 1) * m * d + e] + 0.01 * (r.NextDouble() - 0.5); v[k * m * d + e] = v[(k - 1) * m * d + e] + 0.01 * (r.NextDouble() - 0.5); }
        var gw = new double[w.Length]; var gv = new double[v.Length];
        var kept = new ResNet<double>.KeptStates(shape, n) { KeepProducts = true };
        net.Keep = kept;
        net.Evaluate(w, v, gw, gv);
        var h0 = new double[n * d];
        Array.Copy(kept.H, h0, n * d);
        var f = new CentrePass(shape, ActivationKind.Gelu, n);
        var fused = new SplitPass(shape, ActivationKind.Gelu, n, h0, data.Y, null) { FusedCentre = f, FusedEta = 0.005 };
        f.Start(w, v);
        fused.EvaluateKept(w, v, gw, gv, kept, withForcing: false);
        var proc = System.Diagnostics.Process.GetCurrentProcess();
        var ev = new List<double>(); var ob = new List<double>();
        const int batch = 10;
        for (int round = 0; round < Math.Max(1, rounds / batch); round++)
        {
            proc.Refresh(); var t0 = proc.TotalProcessorTime;
            for (int k = 0; k < batch; k++) net.Evaluate(w, v, gw, gv);
            proc.Refresh(); var t1 = proc.TotalProcessorTime;
            for (int k = 0; k < batch; k++) fused.EvaluateKept(w, v, gw, gv, kept, withForcing: false);
            proc.Refresh(); var t2 = proc.TotalProcessorTime;
            ev.Add((t1 - t0).TotalMilliseconds / batch); ob.Add((t2 - t1).TotalMilliseconds / batch);
        }
        double Median(List<double> x) { var o = x.OrderBy(t => t).ToArray(); return o[o.Length / 2]; }
        Console.WriteLine(string.Create(inv, $"figure 2 shape, {Simd.Bits(Simd.Level)}-bit, 1 thread, CPU per call, median of {ev.Count} batches of {batch}:"));
        Console.WriteLine(string.Create(inv, $"  engine evaluation (keeping)               {Median(ev),8:F3} ms"));
        Console.WriteLine(string.Create(inv, $"  observer (split pass + fused centre)      {Median(ob),8:F3} ms  ({Median(ob) / Median(ev),5:F2} engine evaluations)"));
        Console.WriteLine(string.Create(inv, $"  centre's share (its own timer)            {f.FusedTicks * 1000.0 / System.Diagnostics.Stopwatch.Frequency / (ev.Count * batch + 1),8:F3} ms wall per call"));
        // one more evaluation with the forcing's spectral values, then a hash of every output (to compare builds)
        fused.EvaluateKept(w, v, gw, gv, kept, withForcing: true);
        Console.WriteLine(string.Create(inv, $"  outputs' bits (FNV-1a over E, the pair quantities, the centres and their bounds) {OutputHash(fused, f):x16}"));
    }

    /// <summary>A hash of every output bit of the last evaluation and step (to compare builds: the same bits, the same hash).</summary>
    private static ulong OutputHash(SplitPass p, CentrePass c)
    {
        ulong h = 14695981039346656037UL;
        void Add(double[] x)
        {
            foreach (double v in x)
            {
                ulong b = (ulong)BitConverter.DoubleToInt64Bits(v);
                for (int s = 0; s < 64; s += 8) { h ^= (b >> s) & 0xff; h *= 1099511628211UL; }
            }
        }
        var q = p.Pairs;
        foreach (var x in new[] { p.EW, p.EV, q.EW, q.EV, q.Lo, q.Hi, q.LoF, q.HiF, q.D1Hat, q.D1K, q.GHatInf, q.G1Inf, q.HS, q.PS1, q.PS,
            q.X, q.Y, q.DGW, q.DGV, q.PF1, q.PF, q.DHF, q.DHS, q.SHatS,
            c.CW, c.CV, c.NormCW, c.NormCV, c.RW, c.RV, c.AWW, c.AWV, c.StepW, c.StepV, c.ForcingW, c.ForcingV, c.MW, c.MV,
            c.RoundMW, c.RoundMV, c.RoundGW, c.RoundGV })
            Add(x);
        return h;
    }
}
