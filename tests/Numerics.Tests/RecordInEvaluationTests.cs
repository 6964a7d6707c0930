using System.Numerics;
using ResOdeProofs.Numerics.Model;
using ResOdeProofs.Numerics.Training;

namespace ResOdeProofs.Numerics.Tests;

/// <summary>
/// The trainer's record taken inside the evaluation (<see cref="IterationPasses{T}.Attach"/>: each layer's sums on the
/// engine thread that finished its gradient) against the separate record on the same arrays, bit for bit, and the cases
/// in which it must not be used.
/// </summary>
public class RecordInEvaluationTests
{
    private static Dictionary<string, double[]> Row() => TraceColumns.All.ToDictionary(c => c.Name, _ => new double[1]);

    [Theory(DisplayName = "IterationPasses.Attach: the record taken during the evaluation, 1 and 2 threads, fused and separate layer sizes → the separate record's trace row bit for bit")]
    [InlineData(9, 16, 4, 1)]    // m·d = 64: the fused layer loops
    [InlineData(9, 16, 4, 2)]
    [InlineData(7, 5, 3, 2)]     // m·d = 15: the separate kernels
    public void RecordDuringTheEvaluationEqualsTheSeparateRecord(int L, int m, int d, int threads)
    {
        Check<double>(); Check<float>();

        void Check<T>() where T : unmanaged, IFloatingPointIeee754<T>
        {
            var (net, w, v, gw, gv) = Setup<T>(L, m, d, threads, seed: 3);
            var passes = new IterationPasses<T>(Simd.Level, L, m * d, net.Threads);
            passes.Attach(net, w, v, gw, gv);
            for (int it = 0; it < 3; it++)
            {
                var st = net.Evaluate(w, v, gw, gv);
                var fused = Row(); var sep = Row();
                Assert.True(passes.Record(fused, 0, st, w, v, gw, gv));
                Assert.True(passes.LastRecordFromEngine, $"{typeof(T).Name}, {threads} threads: the record was not taken during the evaluation");
                Trainer.Record(Simd.Level, sep, 0, st, new NetworkShape(L, m, d, d, d), w, v, gw, gv);
                foreach (var col in sep.Keys)
                    Assert.True(sep[col][0].Equals(fused[col][0]), $"{typeof(T).Name}, {threads} threads, iteration {it}: {col} {sep[col][0]:R} vs {fused[col][0]:R}");
                passes.Update(w, v, gw, gv, 0.01, null);
            }
        }
    }

    [Fact(DisplayName = "IterationPasses.Attach: a NaN weight → the record from the evaluation reports a non-finite gradient; an engine fault, other arrays or no evaluation since the last record → the record's own pass")]
    public void FallbacksAndNonFiniteGradients()
    {
        int L = 6, m = 16, d = 4;
        foreach (int threads in new[] { 1, 2 })
        {
            var (net, w, v, gw, gv) = Setup<double>(L, m, d, threads, seed: 5);
            var passes = new IterationPasses<double>(Simd.Level, L, m * d, net.Threads);
            passes.Attach(net, w, v, gw, gv);

            // no evaluation since the last record: the own pass
            var st = net.Evaluate(w, v, gw, gv);
            passes.Record(Row(), 0, st, w, v, gw, gv);
            Assert.True(passes.LastRecordFromEngine);
            passes.Record(Row(), 0, st, w, v, gw, gv);
            Assert.False(passes.LastRecordFromEngine);

            // other gradient arrays than the attached ones: the own pass, on the arrays given
            st = net.Evaluate(w, v, gw, gv);
            var gwCopy = (double[])gw.Clone();
            gwCopy[^1] = double.NaN;
            Assert.False(passes.Record(Row(), 0, st, w, v, gwCopy, gv));
            Assert.False(passes.LastRecordFromEngine);

            // a NaN weight in the last layer makes G non-finite; the record taken in the evaluation says so
            var wBad = w;
            wBad[(L - 1) * m * d] = double.NaN;
            st = net.Evaluate(wBad, v, gw, gv);
            Assert.False(passes.Record(Row(), 0, st, wBad, v, gw, gv), $"{threads} threads: a non-finite gradient was reported finite");
            Assert.True(passes.LastRecordFromEngine);
            wBad[(L - 1) * m * d] = 0.1;

            // an engine fault changes G after the layers: the evaluation does not report them
            net.Fault = EngineFault.ScaledLayerGradient;
            st = net.Evaluate(w, v, gw, gv);
            var fused = Row(); var sep = Row();
            passes.Record(fused, 0, st, w, v, gw, gv);
            Assert.False(passes.LastRecordFromEngine);
            Trainer.Record(Simd.Level, sep, 0, st, new NetworkShape(L, m, d, d, d), w, v, gw, gv);
            Assert.Equal(sep["grad_norm"][0], fused["grad_norm"][0]);
        }
    }

    private static (ResNet<T>, T[], T[], T[], T[]) Setup<T>(int L, int m, int d, int threads, long seed) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var shape = NetworkShape.Square(L, m, d);
        var net = new ResNet<T>(shape, ActivationKind.Gelu, Dataset.SyntheticGaussian(40, d, d, seed), new EngineOptions { Threads = threads });
        var w0 = new double[L * m * d]; var v0 = new double[L * m * d];
        var rng = new Random.Rng(seed);
        rng.FillGaussian(w0); rng.FillGaussian(v0);
        var w = w0.Select(x => T.CreateTruncating(x / Math.Sqrt(d))).ToArray();
        var v = v0.Select(x => T.CreateTruncating(0.3 * x / Math.Sqrt(m))).ToArray();
        return (net, w, v, new T[w.Length], new T[w.Length]);
    }
}
