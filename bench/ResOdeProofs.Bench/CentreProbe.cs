using System.Globalization;
using ResOdeProofs.Numerics;
using ResOdeProofs.Numerics.Model;
using ResOdeProofs.Numerics.Verification;

namespace ResOdeProofs.Bench;

/// <summary>
/// `--centre-probe [ROUNDS]`: the per-iterate cost of A.split.centre.segments' step at figure 2's shape (L = 64, m = 64,
/// n = 50, d = 16), against the engine's evaluation with gradient and the split pass, minimum of interleaved rounds
/// (<see cref="MinProbe.Measure"/>) on this process's SIMD path, one thread: the centre step reading the products the
/// engine and the split pass kept, and the same step computing them itself; then the first on 2 threads (its CPU row counts
/// both threads); then the split pass with the centre's step fused into its pair loop (split + centre in one pass).
/// </summary>
internal static class CentreProbe
{
    public static void Run(int rounds)
    {
        const int L = Figure2Setting.L, m = Figure2Setting.M, n = Figure2Setting.N, d = Figure2Setting.D;
        var set = new Figure2Setting(); var inv = CultureInfo.InvariantCulture;
        var shape = set.Shape; var data = set.Data; double[] Fill(int k, double s) => set.Fill(k, s);
        var net = set.Network();
        var w = Fill(L * m * d, 0.5); var v = Fill(L * m * d, 0.25); var gw = new double[w.Length]; var gv = new double[v.Length];
        var kept = new ResNet<double>.KeptStates(shape, n) { KeepProducts = true };
        net.Keep = kept;
        net.Evaluate(w, v, gw, gv);
        var h0 = new double[n * d];
        Array.Copy(kept.H, h0, n * d);
        var withKept = new SplitPass(shape, ActivationKind.Gelu, n, h0, data.Y, null) { KeepPairProducts = true };
        withKept.EvaluateKept(w, v, gw, gv, kept, withForcing: false);
        var own = new SplitPass(shape, ActivationKind.Gelu, n, h0, data.Y, null);
        own.Evaluate(w, v, gw, gv, withForcing: false);
        var a = new CentrePass(shape, ActivationKind.Gelu, n); var b = new CentrePass(shape, ActivationKind.Gelu, n);
        var a2 = new CentrePass(shape, ActivationKind.Gelu, n) { Threads = 2 };
        // the split pass with the centre's step fused into its pair loop (what the observed replay runs)
        var f = new CentrePass(shape, ActivationKind.Gelu, n);
        var fused = new SplitPass(shape, ActivationKind.Gelu, n, h0, data.Y, null) { FusedCentre = f, FusedEta = 0.005 };
        a.Start(w, v); b.Start(w, v); a2.Start(w, v); f.Start(w, v);
        var xs = Fill(n * m, 6); var ys = new double[n * m]; var zs = new double[n * m];
        int lanes = System.Numerics.Vector<double>.Count;
        if (!withKept.PairProductsValid || !kept.ProductsValid || own.PairProductsValid) throw new InvalidOperationException("products not kept as intended");
        Action[] calls = new Action[]
        {
            () => net.Evaluate(w, v, gw, gv),
            () => withKept.EvaluateKept(w, v, gw, gv, kept, withForcing: false),
            () => a.Step(0.005, withKept, w, v),
            () => b.Step(0.005, own, w, v),
            () => a2.Step(0.005, withKept, w, v),
            () => fused.EvaluateKept(w, v, gw, gv, kept, withForcing: false),
            () => { for (int k = 0; k < L - 1; k++) VectorActivations.Evaluate<double>(Simd.Level, ActivationKind.Gelu, xs, ys, zs); },
            () => { for (int k = 0; k < L - 1; k++) for (int e = 0; e + lanes <= n * m; e += lanes) CentrePass.GeluSecond(new System.Numerics.Vector<double>(xs, e)).CopyTo(zs, e); },
        };
        // the observer's eight n×m×d products of a pair as they are called, against the same work as four products of twice
        // the width (the pairs that share an operand fused), on scratch operands of the same shapes
        var gA = Fill(n * d, 1); var gB = Fill(n * d, 1); var gW1 = Fill(2 * m * d, 1); var gN = Fill(n * 2 * m, 1);
        var gO1 = new double[n * 2 * m]; var gO2 = new double[2 * m * d];
        var level = Simd.Level;
        calls = calls.Concat(new Action[]
        {
            () =>
            {
                for (int k = 0; k < L - 1; k++)
                {
                    FastKernels.Gemm<double>(level, gA, d, 1, gW1, gO1, n, d, m, 1.0, accumulate: false);
                    FastKernels.Gemm<double>(level, gB, d, 1, gW1, gO1, n, d, m, 1.0, accumulate: false);
                    FastKernels.Gemm<double>(level, gN, 1, m, gA, gO2, m, n, d, 1.0, accumulate: false);
                    FastKernels.Gemm<double>(level, gB, 1, d, gN, gO2, d, n, m, 1.0, accumulate: false);
                    FastKernels.Gemm<double>(level, gA, d, 1, gW1, gO1, n, d, m, 1.0, accumulate: false);
                    FastKernels.Gemm<double>(level, gB, d, 1, gW1, gO1, n, d, m, 1.0, accumulate: false);
                    FastKernels.Gemm<double>(level, gB, 1, d, gN, gO2, d, n, m, 1.0, accumulate: false);
                    FastKernels.Gemm<double>(level, gN, 1, m, gA, gO2, m, n, d, 1.0, accumulate: false);
                }
            },
            () =>
            {
                for (int k = 0; k < L - 1; k++)
                {
                    FastKernels.Gemm<double>(level, gA, d, 1, gW1, gO1, n, d, 2 * m, 1.0, accumulate: false);
                    FastKernels.Gemm<double>(level, gB, d, 1, gW1, gO1, n, d, 2 * m, 1.0, accumulate: false);
                    FastKernels.Gemm<double>(level, gN, 1, 2 * m, gA, gO2, 2 * m, n, d, 1.0, accumulate: false);
                    FastKernels.Gemm<double>(level, gB, 1, d, gN, gO2, d, n, 2 * m, 1.0, accumulate: false);
                }
            },
        }).ToArray();
        var names = new[] { "engine evaluation with gradient (keeping)", "split pass (from kept states)", "centre step, kept products", "centre step, own products", "centre step, kept products, 2 threads", "split pass with the centre step fused",
                            "  (for scale: σ, σ' (GELU kernel) × (L − 1) pairs)", "  (for scale: σ'' (one vector exp) × (L − 1) pairs)",
                            "  (for scale: 8 products n×m×d × (L − 1) pairs)", "  (for scale: as 4 products of 2× width × (L − 1))" };
        var best = MinProbe.Measure(calls, rounds, 1);
        Console.WriteLine(string.Create(inv, $"figure 2 shape, {Simd.Bits(Simd.Level)}-bit, 1 thread, min of {rounds} interleaved rounds (wall):"));
        for (int i = 0; i < calls.Length; i++)
            Console.WriteLine(string.Create(inv, $"  {names[i],-44} {best[i] / 1e6,8:F3} ms  ({best[i] / best[0],5:F2} engine evaluations)"));
        // CPU seconds of the process per call (batches of calls interleaved; on a loaded machine the wall minimum of a call
        // longer than a scheduler slice is not its cost), median over rounds
        var proc = System.Diagnostics.Process.GetCurrentProcess();
        var cpu = new List<double>[calls.Length];
        for (int i = 0; i < calls.Length; i++) cpu[i] = new List<double>();
        for (int round = 0; round < Math.Max(3, rounds / 10); round++)
            for (int i = 0; i < calls.Length; i++)
            {
                int batch = i < 2 ? 40 : 8;   // (the 2-thread row: CPU of both threads)
                proc.Refresh(); var t0 = proc.TotalProcessorTime;
                for (int k = 0; k < batch; k++) calls[i]();
                proc.Refresh(); cpu[i].Add((proc.TotalProcessorTime - t0).TotalMilliseconds / batch);
            }
        double Median(List<double> x) { var o = x.OrderBy(t => t).ToArray(); return o[o.Length / 2]; }
        Console.WriteLine("CPU per call, median of rounds:");
        for (int i = 0; i < calls.Length; i++)
            Console.WriteLine(string.Create(inv, $"  {names[i],-44} {Median(cpu[i]),8:F3} ms  ({Median(cpu[i]) / Median(cpu[0]),5:F2} engine evaluations)"));
    }
}
