using System.Runtime.Intrinsics;
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
        const int L = Figure2Setting.L, m = Figure2Setting.M, n = Figure2Setting.N, d = Figure2Setting.D;
        var set = new Figure2Setting(); var inv = CultureInfo.InvariantCulture;
        var shape = set.Shape; var data = set.Data; double[] Fill(int k, double s) => set.Fill(k, s);
        var net = set.Network();
        // layers smooth in depth (a slowly varying random walk), as on a trained tied run
        var w = Fill(L * m * d, 0.5); var v = Fill(L * m * d, 0.25);
        for (int k = 1; k < L; k++)
            for (int e = 0; e < m * d; e++) { w[k * m * d + e] = w[(k - 1) * m * d + e] + 0.01 * (set.Next() - 0.5); v[k * m * d + e] = v[(k - 1) * m * d + e] + 0.01 * (set.Next() - 0.5); }
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
        // the rule's fused per-entry pass alone, over the 63 pairs' entries (the kept products of layers k and k + 1)
        {
            int nm = n * m;
            var cw = Fill(nm, 0.1); var cv = Fill(nm, 0.1); var xv = new double[nm]; var xw = new double[nm];
            var rule = new List<double>();
            for (int round = 0; round < Math.Max(1, rounds / batch); round++)
            {
                proc.Refresh(); var t0 = proc.TotalProcessorTime;
                for (int b = 0; b < batch; b++)
                    for (int k = 1; k < L; k++)
                    {
                        var mx = new CentrePass.RuleMaxima();
                        ReadOnlySpan<double> u0 = kept.Pre.AsSpan(k * nm, nm), u1 = kept.Pre.AsSpan((k + 1) * nm, nm);
                        ReadOnlySpan<double> q0 = kept.AdjointProduct.AsSpan(k * nm, nm), q1 = kept.AdjointProduct.AsSpan((k + 1) * nm, nm);
                        ReadOnlySpan<double> d0 = kept.Derivative.AsSpan(k * nm, nm), d1 = kept.Derivative.AsSpan((k + 1) * nm, nm);
                        ReadOnlySpan<double> s0 = kept.Activation.AsSpan(k * nm, nm), s1 = kept.Activation.AsSpan((k + 1) * nm, nm);
                        if (Simd.Level == SimdLevel.Vector512) CentreKernels512.Rule(u0, u1, q0, q1, d0, d1, s0, s1, cw, cv, xv, xw, ref mx);
                        else CentreKernels256.Rule(u0, u1, q0, q1, d0, d1, s0, s1, cw, cv, xv, xw, ref mx);
                    }
                proc.Refresh();
                rule.Add((proc.TotalProcessorTime - t0).TotalMilliseconds / batch);
            }
            Console.WriteLine(string.Create(inv, $"  the rule's per-entry pass alone ({L - 1} pairs)  {Median(rule),8:F3} ms  ({Median(rule) / Median(ev),5:F2} engine evaluations)"));
        }
        // the eight products of a pair alone, 63 pairs: on the iterate's operands (states, adjoints and layers where the
        // observer reads them) and on one pair's operands reused (every operand in L1)
        {
            int nm = n * m, md = m * d, nd = n * d;
            var level = Simd.Level;
            var wt = new double[md]; var o1 = new double[nm]; var o2 = new double[nm]; var o3 = new double[nm]; var o4 = new double[nm];
            var e1 = new double[md]; var e2 = new double[md]; var e3 = new double[md]; var e4 = new double[md];
            var sArr = Fill(nm, 0.5); var cwT = Fill(md, 0.1); var cv = Fill(md, 0.1);
            var real = new List<double>(); var warm = new List<double>();
            for (int round = 0; round < Math.Max(1, rounds / batch); round++)
                foreach (bool hot in new[] { false, true })
                {
                    proc.Refresh(); var t0 = proc.TotalProcessorTime;
                    for (int b = 0; b < batch; b++)
                        for (int k = 1; k < L; k++)
                        {
                            int kk = hot ? 1 : k;
                            var hk = kept.H.AsSpan(kk * nd, nd); var p1 = kept.P.AsSpan((kk + 1) * nd, nd);
                            var wk = w.AsSpan((kk - 1) * md, md); var vk = v.AsSpan((kk - 1) * md, md);
                            FastKernels.Transpose<double>(wk, wt, m, d);
                            FastKernels.Gemm<double>(level, hk, d, 1, wt, o1, n, d, m, 1.0, accumulate: false);
                            FastKernels.Gemm<double>(level, p1, d, 1, vk, o2, n, d, m, 1.0, accumulate: false);
                            FastKernels.Gemm<double>(level, o2, 1, m, hk, e1, m, n, d, 1.0, accumulate: false);
                            FastKernels.Gemm<double>(level, p1, 1, d, sArr, e2, d, n, m, 1.0, accumulate: false);
                            FastKernels.Gemm<double>(level, hk, d, 1, cwT, o3, n, d, m, 1.0, accumulate: false);
                            FastKernels.Gemm<double>(level, p1, d, 1, cv, o4, n, d, m, 1.0, accumulate: false);
                            FastKernels.Gemm<double>(level, p1, 1, d, o3, e3, d, n, m, 1.0, accumulate: false);
                            FastKernels.Gemm<double>(level, o4, 1, m, hk, e4, m, n, d, 1.0, accumulate: false);
                        }
                    proc.Refresh();
                    (hot ? warm : real).Add((proc.TotalProcessorTime - t0).TotalMilliseconds / batch);
                }
            Console.WriteLine(string.Create(inv, $"  8 products x {L - 1} pairs, the iterate's operands {Median(real),8:F3} ms  ({Median(real) / Median(ev),5:F2} engine evaluations, {8.0 * (L - 1) * 2 * n * m * d / Median(real) / 1e6,5:F1} GFLOP/s)"));
            Console.WriteLine(string.Create(inv, $"  8 products x {L - 1} pairs, one pair's operands  {Median(warm),8:F3} ms  ({Median(warm) / Median(ev),5:F2} engine evaluations, {8.0 * (L - 1) * 2 * n * m * d / Median(warm) / 1e6,5:F1} GFLOP/s)"));
        }
        // the spectral upper values alone: ‖H_k‖₂ for k = 1..L − 1 and ‖P_k‖₂ for k = 1..L, as the pair pass computes them
        {
            int nd = n * d;
            var spec = new List<double>();
            double sink = 0;
            for (int round = 0; round < Math.Max(1, rounds / batch); round++)
            {
                proc.Refresh(); var t0 = proc.TotalProcessorTime;
                for (int b = 0; b < batch; b++)
                    for (int k = 1; k <= L; k++)
                    {
                        if (k < L) sink += fused.SpectralUpper(kept.H.AsSpan(k * nd, nd), n, d);
                        sink += fused.SpectralUpper(kept.P.AsSpan(k * nd, nd), n, d);
                    }
                proc.Refresh();
                spec.Add((proc.TotalProcessorTime - t0).TotalMilliseconds / batch);
            }
            Console.WriteLine(string.Create(inv, $"  the spectral upper values alone ({2 * L - 1})    {Median(spec),8:F3} ms  ({Median(spec) / Median(ev),5:F2} engine evaluations; sum {sink:R})"));
        }
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
