using System.Globalization;
using System.Runtime.InteropServices;
using ResOdeProofs.Numerics;
using ResOdeProofs.Numerics.Model;
using ResOdeProofs.Numerics.Training;
using ResOdeProofs.Numerics.Verification;

namespace ResOdeProofs.Bench;

/// <summary>
/// `--replay-probe [ROUNDS]`: the replay lane of an observed replay at figure 2's shape (L = 64, m = 64, n = 50, d = 16,
/// float64, two blocks of 25 samples as a two-thread run records), part by part, against the evaluation as training runs it
/// (two threads, the helper lingering). Each call's CPU time is the calling thread's own (CLOCK_THREAD_CPUTIME_ID) except
/// for the two-thread evaluation, whose row is the process's (both threads); median over interleaved batches. With
/// "beside a reader" another thread walks the other kept set all the time (what the observer does on the second core).
/// An inline evaluation that keeps its states runs its blocks in step (ResNet.RunTogether); the rows "apart" run them one
/// block after the other (ResNet.BlocksApart), the schedule before: the same numbers.
/// </summary>
internal static class ReplayProbe
{
    [StructLayout(LayoutKind.Sequential)]
    private struct Timespec { public long Sec, Nsec; }

    [DllImport("libc", EntryPoint = "clock_gettime")]
    private static extern int ClockGettime(int clock, out Timespec ts);

    private static double ThreadCpuMs()
    {
        ClockGettime(3, out var ts);   // CLOCK_THREAD_CPUTIME_ID
        return ts.Sec * 1e3 + ts.Nsec / 1e6;
    }

    private static double ProcessCpuMs()
    {
        ClockGettime(2, out var ts);   // CLOCK_PROCESS_CPUTIME_ID
        return ts.Sec * 1e3 + ts.Nsec / 1e6;
    }

    public static void Run(int rounds)
    {
        const int L = Figure2Setting.L, m = Figure2Setting.M, n = Figure2Setting.N, d = Figure2Setting.D;
        var set = new Figure2Setting(); var inv = CultureInfo.InvariantCulture;
        var shape = set.Shape; var data = set.Data; double[] Fill(int k, double s) => set.Fill(k, s);
        var two = new ResNet<double>(shape, ActivationKind.Gelu, data, new EngineOptions { Threads = 2 });
        var inline = new ResNet<double>(shape, ActivationKind.Gelu, data, new EngineOptions { Threads = 2 }) { Inline = true };
        var one = new ResNet<double>(shape, ActivationKind.Gelu, data, new EngineOptions { Threads = 1 });
        // the blocks one after another (the schedule before the blocks of a kept inline evaluation ran in step): the same numbers
        var apart = new ResNet<double>(shape, ActivationKind.Gelu, data, new EngineOptions { Threads = 2 }) { Inline = true, BlocksApart = true };
        int total = L * m * d;
        var w = Fill(total, 0.5); var v = Fill(total, 0.25); var gw = new double[total]; var gv = new double[total];
        var w0 = (double[])w.Clone(); var v0 = (double[])v.Clone(); var ow = new double[total]; var ov = new double[total];
        var states = new ResNet<double>.KeptStates(shape, n);
        var products = new ResNet<double>.KeptStates(shape, n) { KeepProducts = true };
        var other = new ResNet<double>.KeptStates(shape, n) { KeepProducts = true };
        inline.Keep = other; inline.Evaluate(w, v, gw, gv); inline.Keep = null;
        var passes = new IterationPasses<double>(Simd.Level, L, m * d, two.Threads, helper: two.Helper);
        var trace = TraceColumns.All.ToDictionary(c => c.Name, _ => new double[1]);
        var level = Simd.Level;
        EvaluationStats st = default;
        var calls = new (string Name, Action Call, bool Process)[]
        {
            ("evaluation, 2 threads (as trained; both threads' CPU)", () => st = two.Evaluate(w, v, gw, gv), true),
            ("iteration as trained, 2 threads (both threads' CPU)", () => { st = two.Evaluate(w, v, gw, gv); passes.Record(trace, 0, st, w, v, gw, gv); passes.Update(w, v, gw, gv, 1e-12, null); }, true),
            ("evaluation, 1 block of 50", () => st = one.Evaluate(w, v, gw, gv), false),
            ("evaluation, 2 blocks inline", () => { inline.Keep = null; st = inline.Evaluate(w, v, gw, gv); }, false),
            ("evaluation, 2 blocks inline, states kept", () => { inline.Keep = states; st = inline.Evaluate(w, v, gw, gv); inline.Keep = null; }, false),
            ("evaluation, 2 blocks inline, states + products kept", () => { inline.Keep = products; st = inline.Evaluate(w, v, gw, gv); inline.Keep = null; }, false),
            ("evaluation, 2 blocks inline apart, states kept", () => { apart.Keep = states; st = apart.Evaluate(w, v, gw, gv); apart.Keep = null; }, false),
            ("evaluation, 2 blocks inline apart, states + products kept", () => { apart.Keep = products; st = apart.Evaluate(w, v, gw, gv); apart.Keep = null; }, false),
            ("Trainer.Record", () => Trainer.Record(level, trace, 0, st, shape, w, v, gw, gv), false),
            ("Trainer.ApplyUpdate", () => Trainer.ApplyUpdate<double>(level, w, v, gw, gv, L, m * d, 1e-12, null), false),
            ("distance to the snapshot", () => Math.Sqrt(FastKernels.SumSquaresDiff<double>(level, w, w0) + FastKernels.SumSquaresDiff<double>(level, v, v0)), false),
            ("observer's copy of the weights", () => { w.CopyTo(ow, 0); v.CopyTo(ov, 0); }, false),
        };
        // the reader beside: walks the other kept set's arrays (sums) as long as it is told to
        volatile_flag = 0;
        double sink = 0;
        var reader = new Thread(() =>
        {
            while (Volatile.Read(ref volatile_flag) >= 0)
            {
                if (Volatile.Read(ref volatile_flag) == 0) { Thread.Sleep(1); continue; }
                foreach (var a in new[] { other.H, other.P, other.Pre!, other.AdjointProduct!, other.Derivative!, ow, ov })
                    sink += FastKernels.SumSquares<double>(level, a);
            }
        }) { IsBackground = true };
        reader.Start();
        foreach (var c in calls) for (int i = 0; i < 5; i++) c.Call();
        for (int beside = 0; beside < 2; beside++)
        {
            Volatile.Write(ref volatile_flag, beside);
            var cpu = calls.Select(_ => new List<double>()).ToArray();
            for (int round = 0; round < rounds; round++)
                for (int i = 0; i < calls.Length; i++)
                {
                    if (beside == 1 && calls[i].Process) continue;
                    const int batch = 10;
                    double t0 = calls[i].Process ? ProcessCpuMs() : ThreadCpuMs();
                    for (int k = 0; k < batch; k++) calls[i].Call();
                    double t1 = calls[i].Process ? ProcessCpuMs() : ThreadCpuMs();
                    cpu[i].Add((t1 - t0) / batch);
                }
            Console.WriteLine(string.Create(inv, $"figure 2 shape, float64, {Simd.Bits(level)}-bit, CPU ms per call, median of {rounds} interleaved batches of 10{(beside == 1 ? ", beside a reader of the other kept set" : "")}:"));
            for (int i = 0; i < calls.Length; i++)
            {
                if (cpu[i].Count == 0) continue;
                var o = cpu[i].Order().ToArray();
                Console.WriteLine(string.Create(inv, $"  {calls[i].Name,-58} {o[o.Length / 2],8:F3}  (p10 {o[o.Length / 10],7:F3}, p90 {o[o.Length * 9 / 10],7:F3})"));
            }
        }
        Volatile.Write(ref volatile_flag, 0);
        // the lane as the observed replay runs it: kept sets and gradients alternating, the weights copied for the observer;
        // "observer" = a thread that reads the previous iterate's kept set, gradient and weight copy while the lane evaluates
        var sets = new[] { new ResNet<double>.KeptStates(shape, n), new ResNet<double>.KeptStates(shape, n) };
        var psets = new[] { new ResNet<double>.KeptStates(shape, n) { KeepProducts = true }, new ResNet<double>.KeptStates(shape, n) { KeepProducts = true } };
        var gws = new[] { gw, new double[total] }; var gvs = new[] { gv, new double[total] };
        int iter = 0;
        ResNet<double>.KeptStates? reading = null; double[]? rgw = null, rgv = null;
        var observer = new Thread(() =>
        {
            while (Volatile.Read(ref volatile_flag) >= 0)
            {
                var kset = Volatile.Read(ref reading);
                if (kset is null) { Thread.Sleep(1); continue; }
                foreach (var a in new[] { kset.H, kset.P, kset.Pre ?? kset.H, kset.AdjointProduct ?? kset.P, kset.Derivative ?? kset.H, rgw!, rgv!, ow, ov })
                    sink += FastKernels.SumSquares<double>(level, a);
            }
        }) { IsBackground = true };
        observer.Start();
        Action Lane(ResNet<double>.KeptStates[]? ks, bool alternate) => () =>
        {
            int b = alternate ? iter & 1 : 0;
            inline.Keep = ks?[b];
            var st2 = inline.Evaluate(w, v, gws[b], gvs[b]);
            Trainer.Record(level, trace, 0, st2, shape, w, v, gws[b], gvs[b]);
            Trainer.ApplyUpdate<double>(level, w, v, gws[b], gvs[b], L, m * d, 1e-12, null);
            Math.Sqrt(FastKernels.SumSquaresDiff<double>(level, w, w0) + FastKernels.SumSquaresDiff<double>(level, v, v0));
            w.CopyTo(ow, 0); v.CopyTo(ov, 0);
            if (ks is not null) { Volatile.Write(ref rgw, gws[b]); Volatile.Write(ref rgv, gvs[b]); Volatile.Write(ref reading, ks[b]); }
            inline.Keep = null;
            iter++;
        };
        var lanes = new (string Name, Action Call, bool Observer)[]
        {
            ("lane, nothing kept, one gradient", Lane(null, false), false),
            ("lane, states kept, alternating", Lane(sets, true), false),
            ("lane, states + products kept, alternating", Lane(psets, true), false),
            ("lane, states kept, alternating, observer reading", Lane(sets, true), true),
            ("lane, states + products kept, alternating, observer reading", Lane(psets, true), true),
        };
        var lcpu = lanes.Select(_ => new List<double>()).ToArray();
        for (int round = 0; round < rounds; round++)
            for (int i = 0; i < lanes.Length; i++)
            {
                Volatile.Write(ref reading, null);
                Thread.Sleep(0);
                const int batch = 10;
                for (int k = 0; k < 2; k++) lanes[i].Call();
                if (!lanes[i].Observer) Volatile.Write(ref reading, null);
                double t0 = ThreadCpuMs();
                for (int k = 0; k < batch; k++) { lanes[i].Call(); if (!lanes[i].Observer) Volatile.Write(ref reading, null); }
                lcpu[i].Add((ThreadCpuMs() - t0) / batch);
            }
        Console.WriteLine(string.Create(inv, $"the lane per iterate (evaluation, record, update, distance, weight copy), CPU ms of the lane's thread, median of {rounds}:"));
        for (int i = 0; i < lanes.Length; i++)
        {
            var o = lcpu[i].Order().ToArray();
            Console.WriteLine(string.Create(inv, $"  {lanes[i].Name,-58} {o[o.Length / 2],8:F3}  (p10 {o[o.Length / 10],7:F3}, p90 {o[o.Length * 9 / 10],7:F3})"));
        }
        Volatile.Write(ref volatile_flag, -1);
        reader.Join(); observer.Join();
        if (sink == 1.2345) Console.WriteLine();
    }

    private static int volatile_flag;
}
