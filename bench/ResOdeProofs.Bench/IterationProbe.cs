using System.Globalization;
using System.Numerics;
using ResOdeProofs.Numerics;
using ResOdeProofs.Numerics.Model;
using ResOdeProofs.Numerics.Training;

namespace ResOdeProofs.Bench;

/// <summary>
/// `--iteration-probe [ROUNDS]`: where a whole figure-2 iteration of `resode train` goes (L = 64, n = 50, d = 16, m = 64),
/// float32 and float64, one and two threads: the evaluation alone, the trainer's record and update passes alone, the
/// iteration as the trainer runs it, and one block of 25 (or 50) samples on one thread (what each thread would cost with
/// no hand-off). Each figure is the minimum over many interleaved rounds, so it reads on a loaded machine as the cost of
/// an undisturbed call. The code path is the process's (run once per path).
/// </summary>
internal static class IterationProbe
{
    public static void Run(int rounds)
    {
        Console.WriteLine($"level {Simd.Bits(Simd.Level)}-bit, few vector registers: {Simd.FewVectorRegisters}; min over {rounds} interleaved rounds");
        Probe<float>("figure 2, f32", rounds);
        Probe<double>("figure 2, f64", rounds);
    }

    private sealed class Setup<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public readonly ResNet<T> Net;
        public readonly T[] W, V, Gw, Gv;
        public readonly IterationPasses<T> Passes;
        // the same passes split over the engine's threads at any size (parallelEntries 0), to time both ways in one process
        public readonly IterationPasses<T> SplitPasses;
        public readonly Dictionary<string, double[]> Trace = TraceColumns.All.ToDictionary(c => c.Name, _ => new double[1]);
        public EvaluationStats Stats;

        public Setup(int L, int n, int d, int m, int threads)
        {
            var shape = NetworkShape.Square(L, m, d);
            Net = new ResNet<T>(shape, ActivationKind.Gelu, Dataset.SyntheticGaussian(n, d, d, 1), new EngineOptions { Threads = threads });
            int total = L * m * d;
            W = new T[total]; V = new T[total]; Gw = new T[total]; Gv = new T[total];
            var r = new System.Random(3);
            for (int i = 0; i < total; i++) { W[i] = T.CreateTruncating((r.NextDouble() - 0.5) / 2); V[i] = T.CreateTruncating((r.NextDouble() - 0.5) / 4); }
            Passes = new IterationPasses<T>(Simd.Level, L, m * d, Net.Threads, helper: Net.Helper);
            SplitPasses = new IterationPasses<T>(Simd.Level, L, m * d, Net.Threads, parallelEntries: 0, helper: Net.Helper);
            Stats = Net.Evaluate(W, V, Gw, Gv);
        }

        public void Evaluate() => Stats = Net.Evaluate(W, V, Gw, Gv);
        public void Record() => Passes.Record(Trace, 0, Stats, W, V, Gw, Gv);
        // a tiny step so that the weights stay put over the rounds
        public void Update() { Passes.Record(Trace, 0, Stats, W, V, Gw, Gv); Passes.Update(W, V, Gw, Gv, 1e-9, null); }
        public void Iteration() => Iteration(Passes);
        public void UpdateSplit() { SplitPasses.Record(Trace, 0, Stats, W, V, Gw, Gv); SplitPasses.Update(W, V, Gw, Gv, 1e-9, null); }
        public void IterationSplit() => Iteration(SplitPasses);

        private void Iteration(IterationPasses<T> passes)
        {
            Evaluate();
            passes.Record(Trace, 0, Stats, W, V, Gw, Gv);
            passes.Update(W, V, Gw, Gv, 1e-9, null);
        }
    }

    private static void Probe<T>(string label, int rounds) where T : unmanaged, IFloatingPointIeee754<T>
    {
        const int L = 64, n = 50, d = 16, m = 64;
        var one = new Setup<T>(L, n, d, m, 1);
        var two = new Setup<T>(L, n, d, m, 2);
        var half = new Setup<T>(L, n / 2, d, m, 1);
        var probes = new (string Name, Action Call)[]
        {
            ("1 thread: evaluation", one.Evaluate),
            ("1 thread: record + update passes", one.Update),
            ("1 thread: iteration as trained", one.Iteration),
            ("2 threads: evaluation", two.Evaluate),
            ("2 threads: record pass", two.Record),
            ("2 threads: record + update passes", two.Update),
            ("2 threads: iteration as trained", two.Iteration),
            ("2 threads: record + update passes, split", two.UpdateSplit),
            ("2 threads: iteration, passes split", two.IterationSplit),
            ("one block of n/2 on 1 thread: evaluation", half.Evaluate),
        };
        var best = MinProbe.Measure(probes.Select(p => p.Call).ToArray(), rounds, 1);
        Console.WriteLine($"{label} (L = {L}, n = {n}, d = {d}, m = {m}):");
        double flop = 12.0 * n * d * m * L;
        for (int i = 0; i < probes.Length; i++)
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {probes[i].Name,-42} {best[i] / 1000,9:F1} µs  {(probes[i].Name.Contains("passes") || probes[i].Name.Contains("record") ? "" : $"{flop / best[i]:F1} GFLOP/s")}"));
    }
}
