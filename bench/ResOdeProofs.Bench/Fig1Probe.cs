using System.Globalization;
using System.Numerics;
using ResOdeProofs.Numerics;
using ResOdeProofs.Numerics.Model;
using ResOdeProofs.Numerics.Training;

namespace ResOdeProofs.Bench;

/// <summary>
/// `--fig1-probe [ROUNDS]`: where a figure-1 evaluation (L = 1024, n = 100, d = 16, m = 32, float64) goes on one and two
/// threads: the evaluation on 1 and 2 threads, one block of 50 samples alone on one thread (what each of the two threads
/// would cost with the other idle), the same block at L = 64 scaled by 16 (the layers' cost with every stored state in the
/// caches), the update, and reading and writing 64 MB on one and two threads (the memory bandwidth the stored states
/// share); every evaluation row twice, with σ, σ' stored by the forward pass and recomputed by the backward pass from the
/// stored h (<see cref="EngineOptions.Activations"/>), and figure 2's evaluation (m = 64) both ways. Each row prints the minimum wall time over interleaved rounds (the undisturbed call on a loaded machine) and the
/// minimum and median process CPU time of a call (both threads' CPU for the two-thread rows).
/// </summary>
internal static class Fig1Probe
{
    private sealed class Setup
    {
        public readonly ResNet<double> Net;
        public readonly double[] W, V, Gw, Gv;

        public Setup(int L, int n, int threads, ActivationStorage storage, int d = 16, int m = 32)
        {
            var shape = NetworkShape.Square(L, m, d);
            Net = new ResNet<double>(shape, ActivationKind.Gelu, Dataset.SyntheticGaussian(n, d, d, 1), new EngineOptions { Threads = threads, Activations = storage });
            int total = L * m * d;
            W = new double[total]; V = new double[total]; Gw = new double[total]; Gv = new double[total];
            var r = new System.Random(3);
            for (int i = 0; i < total; i++) { W[i] = (r.NextDouble() - 0.5) / 2; V[i] = (r.NextDouble() - 0.5) / 4; }
        }

        public void Evaluate() => Net.Evaluate(W, V, Gw, Gv);
        public void Update() { Kernels.Axpy(-1e-12, Gw, W); Kernels.Axpy(-1e-12, Gv, V); }
    }

    private static readonly double[] Big = new double[8 << 20];
    private static double _sink;

    private static void Read(int i0, int i1)
    {
        var acc = System.Runtime.Intrinsics.Vector256<double>.Zero;
        ref double r = ref Big[0];
        for (int i = i0; i + 4 <= i1; i += 4) acc += System.Runtime.Intrinsics.Vector256.LoadUnsafe(ref r, (nuint)i);
        _sink += System.Runtime.Intrinsics.Vector256.Sum(acc);
    }

    [System.Runtime.InteropServices.StructLayout(System.Runtime.InteropServices.LayoutKind.Sequential)]
    private struct TimeSpec { public long Sec, Nsec; }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "clock_gettime")]
    private static extern int ClockGetTime(int clock, out TimeSpec ts);

    /// <summary>CPU time of the whole process in ns (CLOCK_PROCESS_CPUTIME_ID).</summary>
    internal static long ProcessCpuNs() { ClockGetTime(2, out var t); return t.Sec * 1_000_000_000 + t.Nsec; }

    internal static (double[] Wall, double[] CpuMin, double[] CpuMedian) MeasureCpu(Action[] calls, int rounds)
    {
        int c = calls.Length;
        var wall = Enumerable.Repeat(double.PositiveInfinity, c).ToArray();
        var cpu = Enumerable.Range(0, c).Select(_ => new List<double>()).ToArray();
        foreach (var a in calls) for (int i = 0; i < 3; i++) a();
        for (int round = 0; round < rounds; round++)
            for (int i = 0; i < c; i++)
            {
                long c0 = ProcessCpuNs(), t0 = System.Diagnostics.Stopwatch.GetTimestamp();
                calls[i]();
                double ns = System.Diagnostics.Stopwatch.GetElapsedTime(t0).TotalNanoseconds;
                cpu[i].Add(ProcessCpuNs() - c0);
                if (ns < wall[i]) wall[i] = ns;
            }
        return (wall, cpu.Select(l => l.Min()).ToArray(), cpu.Select(l => { var s = l.OrderBy(x => x).ToArray(); return s[s.Length / 2]; }).ToArray());
    }

    public static void Run(int rounds)
    {
        Console.WriteLine($"level {Simd.Bits(Simd.Level)}-bit; min over {rounds} interleaved rounds (ms)");
        // each evaluation with σ, σ' stored by the forward pass (S) and recomputed by the backward pass from the stored h (R),
        // in the same rounds
        const ActivationStorage S = ActivationStorage.Stored, R = ActivationStorage.Recomputed;
        var one = new Setup(1024, 100, 1, S);
        var two = new Setup(1024, 100, 2, S);
        var half = new Setup(1024, 50, 1, S);
        var small = new Setup(64, 50, 1, S);
        var oneR = new Setup(1024, 100, 1, R);
        var twoR = new Setup(1024, 100, 2, R);
        var halfR = new Setup(1024, 50, 1, R);
        var smallR = new Setup(64, 50, 1, R);
        var fig2 = new Setup(64, 50, 1, S, m: 64);
        var fig2R = new Setup(64, 50, 1, R, m: 64);
        foreach (var (a, b) in new[] { (one, oneR), (two, twoR), (fig2, fig2R) })
        {
            double la = a.Net.Evaluate(a.W, a.V, a.Gw, a.Gv).Loss, lb = b.Net.Evaluate(b.W, b.V, b.Gw, b.Gv).Loss;
            bool same = BitConverter.DoubleToInt64Bits(la) == BitConverter.DoubleToInt64Bits(lb) && a.Gw.AsSpan().SequenceEqual(b.Gw) && a.Gv.AsSpan().SequenceEqual(b.Gv);
            Console.WriteLine($"  L = {a.Net.Shape.Depth}, m = {a.Net.Shape.Width}, {a.Net.Threads} thread(s): stored and recomputed σ give the same loss and gradient bits: {(same ? "yes" : "NO")}");
        }
        var probes = new (string Name, double Scale, Action Call)[]
        {
            ("1 thread: evaluation, σ stored", 1, one.Evaluate),
            ("1 thread: evaluation, σ recomputed", 1, oneR.Evaluate),
            ("2 threads: evaluation, σ stored", 1, two.Evaluate),
            ("2 threads: evaluation, σ recomputed", 1, twoR.Evaluate),
            ("block of 50 alone, 1 thread, σ stored", 1, half.Evaluate),
            ("block of 50 alone, 1 thread, σ recomputed", 1, halfR.Evaluate),
            ("block of 50, L = 64, ×16 (in cache), stored", 16, small.Evaluate),
            ("block of 50, L = 64, ×16 (in cache), recomp.", 16, smallR.Evaluate),
            ("figure 2 (m = 64), 1 thread, σ stored", 1, fig2.Evaluate),
            ("figure 2 (m = 64), 1 thread, σ recomputed", 1, fig2R.Evaluate),
            ("update W, V (1 thread)", 1, one.Update),
            ("read 64 MB, 1 thread", 1, () => Read(0, Big.Length)),
            ("read 64 MB, 2 threads", 1, () => Parallel.Invoke(() => Read(0, Big.Length / 2), () => Read(Big.Length / 2, Big.Length))),
            ("write 64 MB, 1 thread", 1, () => Big.AsSpan().Fill(1.0)),
            ("write 64 MB, 2 threads", 1, () => Parallel.Invoke(() => Big.AsSpan(0, Big.Length / 2).Fill(1.0), () => Big.AsSpan(Big.Length / 2).Fill(1.0))),
        };
        var (best, cpuMin, cpuMed) = MeasureCpu(probes.Select(p => p.Call).ToArray(), rounds);
        Console.WriteLine("  what                                          wall min ms   process CPU ms: min, median");
        for (int i = 0; i < probes.Length; i++)
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {probes[i].Name,-44} {best[i] * probes[i].Scale / 1e6,9:F3} {cpuMin[i] * probes[i].Scale / 1e6,9:F3} {cpuMed[i] * probes[i].Scale / 1e6,9:F3}"));
    }
}
