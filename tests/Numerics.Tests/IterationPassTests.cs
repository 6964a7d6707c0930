using System.Numerics;
using ResOdeProofs.Numerics.Model;
using ResOdeProofs.Numerics.Training;

namespace ResOdeProofs.Numerics.Tests;

/// <summary>
/// The engine's layout and bookkeeping passes against their definitions: the shuffled transpose entry for entry, and the
/// trainer's fused record/update passes against the separate record, update and finiteness checks, bit for bit.
/// </summary>
public class IterationPassTests
{
    private static T[] Gaussian<T>(int count, long seed, double scale = 1) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var d = new double[count];
        new Random.Rng(seed).FillGaussian(d);
        return d.Select(x => T.CreateTruncating(x * scale)).ToArray();
    }

    [Theory(DisplayName = "Transpose: shuffled 8×8 (AVX-512, double) and 4×4 blocks with row and column edges → every entry at its transposed place, double and float")]
    [InlineData(32, 16)]   // figure 1's W: whole blocks
    [InlineData(16, 64)]   // figure 2's V
    [InlineData(64, 16)]   // figure 2's W
    [InlineData(50, 50)]   // a Gram matrix at n = 50: 8×8 blocks, then a 4-row block and column edges of 2
    [InlineData(13, 21)]   // one group of eight rows with a column edge of 5, then 4 rows, then one
    [InlineData(7, 13)]    // odd sizes: a row edge and a column edge
    [InlineData(4, 3)]     // fewer columns than a block
    public void TransposeMovesEveryEntry(int rows, int cols)
    {
        Check<double>(rows, cols);
        Check<float>(rows, cols);

        static void Check<T>(int rows, int cols) where T : unmanaged, IFloatingPointIeee754<T>
        {
            var src = Gaussian<T>(rows * cols, 5);
            var dst = new T[rows * cols + 1];
            dst[^1] = T.CreateTruncating(42);
            FastKernels.Transpose<T>(src, dst, rows, cols);
            for (int r = 0; r < rows; r++)
                for (int c = 0; c < cols; c++)
                    Assert.True(dst[c * rows + r].Equals(src[r * cols + c]), $"{typeof(T).Name} {rows}×{cols}: entry ({r}, {c})");
            Assert.Equal(T.CreateTruncating(42), dst[^1]);   // nothing written past the result
        }
    }

    public static readonly TheoryData<int, int, double?, int> Settings = new()
    {
        { 9, 1024, null, 1 },    // figure 2's layer size
        { 6, 37, 0.5, 1 },       // a layer size that leaves scalar tails; clipping on some layers
        { 9, 32771, 0.5, 2 },    // above IterationPasses.ParallelEntries: the layers in parts on two threads
        { 37, 1024, 0.5, 2 },    // figure 2's layer size split: 37 layers in 8 parts of 4 or 5
    };

    [Theory(DisplayName = "IterationPasses: fused record and update, on one thread or in parts on two → the same trace row, step, clip count, weights and finiteness as the separate passes, bit for bit")]
    [MemberData(nameof(Settings))]
    public void FusedPassesEqualTheSeparatePasses(int L, int md, double? clip, int threads)
    {
        Assert.Equal(threads > 1, (long)L * md >= IterationPasses<double>.ParallelEntries);
        foreach (var level in new[] { SimdLevel.Scalar, SimdLevel.Vector256, SimdLevel.Vector512 })
        {
            if (level > Simd.Hardware) continue;
            Compare<double>(level, L, md, clip, threads);
            Compare<float>(level, L, md, clip, threads);
        }
    }

    private static void Compare<T>(SimdLevel level, int L, int md, double? clip, int threads) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int total = L * md;
        var w = Gaussian<T>(total, 1); var v = Gaussian<T>(total, 2);
        var gw = Gaussian<T>(total, 3, 0.05); var gv = Gaussian<T>(total, 4, 0.05);
        var shape = new NetworkShape(L, md, 1, 1, 1);
        var st = new EvaluationStats { Loss = 0.75, MaxHiddenNorm = 2, MaxAdjointSum = 3, MinPreActivation = -1, MaxPreActivation = 1 };
        double eta = 0.3;

        var sepTrace = Row(); var fusedTrace = Row();
        var (w1, v1) = ((T[])w.Clone(), (T[])v.Clone());
        Trainer.Record(level, sepTrace, 0, st, shape, w1, v1, gw, gv);
        bool sepGradFinite = FastKernels.AllFinite<T>(level, gw) && FastKernels.AllFinite<T>(level, gv);
        var (sepStep, sepClipped, _) = Trainer.ApplyUpdate(level, w1, v1, gw, gv, L, md, eta, clip);

        var passes = new IterationPasses<T>(level, L, md, threads);
        var (w2, v2) = ((T[])w.Clone(), (T[])v.Clone());
        bool gradFinite = passes.Record(fusedTrace, 0, st, w2, v2, gw, gv);
        var (step, clipped, finite) = passes.Update(w2, v2, gw, gv, eta, clip);

        foreach (var col in sepTrace.Keys)
            Assert.True(sepTrace[col][0].Equals(fusedTrace[col][0]), $"{typeof(T).Name} at {level}: {col} {sepTrace[col][0]:R} vs {fusedTrace[col][0]:R}");
        Assert.Equal(sepGradFinite, gradFinite);
        Assert.True(gradFinite && finite);
        Assert.Equal(sepStep, step);
        Assert.Equal(sepClipped, clipped);
        if (clip is not null) Assert.True(clipped > 0, "the setting clips some layer");
        Assert.True(w1.AsSpan().SequenceEqual(w2) && v1.AsSpan().SequenceEqual(v2), $"{typeof(T).Name} at {level}: updated weights differ");
    }

    [Theory(DisplayName = "FastKernels.MaxRowNorm and SumRowNorms: rows of 16, 5 and 37 entries → the per-row SumSquares results bit for bit; a NaN row → NaN")]
    [InlineData(50, 16)]
    [InlineData(9, 5)]
    [InlineData(7, 37)]
    public void RowNormsEqualPerRowSums(int rows, int cols)
    {
        foreach (var level in new[] { SimdLevel.Scalar, SimdLevel.Vector256, SimdLevel.Vector512 })
        {
            if (level > Simd.Hardware) continue;
            Check<double>(level); Check<float>(level);
        }

        void Check<T>(SimdLevel level) where T : unmanaged, IFloatingPointIeee754<T>
        {
            var x = Gaussian<T>(rows * cols, 8);
            double max = 0, sum = 0;
            for (int i = 0; i < rows; i++)
            {
                double nrm = Math.Sqrt(FastKernels.SumSquares<T>(level, x.AsSpan(i * cols, cols)));
                max = Math.Max(max, nrm); sum += nrm;
            }
            double fusedMax = 0;
            FastKernels.MaxRowNorm<T>(level, x, rows, cols, ref fusedMax);
            Assert.Equal(max, fusedMax);
            Assert.Equal(sum, FastKernels.SumRowNorms<T>(level, x, rows, cols));
            x[(rows - 1) * cols] = T.NaN;
            FastKernels.MaxRowNorm<T>(level, x, rows, cols, ref fusedMax);
            Assert.True(double.IsNaN(fusedMax), $"{typeof(T).Name} at {level}: a NaN row was not propagated");
        }
    }

    private static Dictionary<string, double[]> Row() => TraceColumns.All.ToDictionary(c => c.Name, _ => new double[1]);

    [Theory(DisplayName = "IterationPasses: one non-finite gradient entry in the last or a middle layer, or a weight that the update makes infinite → not finite, on one thread and in parts on two")]
    [InlineData(false, 40, 1, 4)]
    [InlineData(true, 40, 1, 4)]
    [InlineData(false, 65537, 2, 4)]
    [InlineData(true, 65537, 2, 4)]
    [InlineData(false, 7008, 2, 2)]     // L·m·d = 35 040: split, the entry in the third of five parts
    [InlineData(true, 7008, 2, 2)]
    public void NonFiniteEntriesAreFound(bool inWeights, int md, int threads, int layer)
    {
        foreach (var level in new[] { SimdLevel.Scalar, SimdLevel.Vector256, SimdLevel.Vector512 })
        {
            if (level > Simd.Hardware) continue;
            int L = 5, total = L * md;
            var w = Gaussian<double>(total, 1); var v = Gaussian<double>(total, 2);
            var gw = Gaussian<double>(total, 3); var gv = Gaussian<double>(total, 4);
            Assert.Equal(threads > 1, (long)L * md >= IterationPasses<double>.ParallelEntries);
            int end = (layer + 1) * md;
            if (inWeights) { w[end - 3] = double.MaxValue; gw[end - 3] = -double.MaxValue; }   // w − η·g overflows
            else gv[end - 1] = double.NaN;                                                      // the layer's last entry (a scalar tail when md is odd)
            var passes = new IterationPasses<double>(level, L, md, threads);
            bool gradFinite = passes.Record(Row(), 0, new EvaluationStats { Loss = 1 }, w, v, gw, gv);
            Assert.Equal(inWeights, gradFinite);
            var (_, _, finite) = passes.Update(w, v, gw, gv, 1.0, null);
            Assert.False(finite, $"at {level}: a non-finite entry was not found");
        }
    }
}
