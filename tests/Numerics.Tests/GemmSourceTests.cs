using ResOdeProofs.Numerics.Model;

namespace ResOdeProofs.Numerics.Tests;

/// <summary>The GEMM's accumulate from a source (h_{k+1} = h_k + (1/L)σVᵀ without copying h_k first) against the copy.</summary>
public class GemmSourceTests
{
    [Theory(DisplayName = "FastKernels.Gemm: accumulate read from a source → bit for bit the source copied into C then accumulated in place, every level, tile edge and multiplier")]
    [InlineData(50, 64, 16)]  // figure 2's h_{k+1}: σ (n×m) times Vᵀ (m×d)
    [InlineData(25, 32, 16)]  // a thread block of figure 1
    [InlineData(13, 7, 29)]   // odd sizes: 8×1 and 4×1 tiles, single rows, scalar columns
    public void SourceEqualsCopyThenAccumulate(int rows, int inner, int cols)
    {
        foreach (var level in new[] { SimdLevel.Scalar, SimdLevel.Vector256, SimdLevel.Vector512 })
        {
            if (level > Simd.Hardware) continue;
            foreach (bool multiply in new[] { false, true })
            {
                Check<double>(level, rows, inner, cols, multiply);
                Check<float>(level, rows, inner, cols, multiply);
            }
        }
    }

    private static void Check<T>(SimdLevel level, int rows, int inner, int cols, bool multiply) where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        var rng = new Random.Rng(5);
        T[] Fill(int k) { var d = new double[k]; rng.FillGaussian(d); return d.Select(T.CreateTruncating).ToArray(); }
        var a = Fill(rows * inner); var b = Fill(inner * cols); var src = Fill(rows * cols);
        var mul = multiply ? Fill(rows * cols) : Array.Empty<T>();
        var srcKept = (T[])src.Clone();
        T alpha = T.CreateTruncating(1.0 / 64);
        // C holds other numbers before the call: the result must not read them
        var fromSource = Fill(rows * cols);
        var copied = (T[])src.Clone();
        FastKernels.Gemm<T>(level, a, inner, 1, b, fromSource, rows, inner, cols, alpha, accumulate: true, multiplier: mul, source: src);
        FastKernels.Gemm<T>(level, a, inner, 1, b, copied, rows, inner, cols, alpha, accumulate: true, multiplier: mul);
        for (int i = 0; i < copied.Length; i++)
            Assert.True(fromSource[i].Equals(copied[i]), $"{typeof(T).Name} at {level}, multiply {multiply}, entry {i}: {fromSource[i]} vs {copied[i]}");
        Assert.Equal(srcKept, src);
        // the source is really read: from a zero source the results differ
        var fromZero = Fill(rows * cols);
        FastKernels.Gemm<T>(level, a, inner, 1, b, fromZero, rows, inner, cols, alpha, accumulate: true, multiplier: mul, source: new T[rows * cols]);
        Assert.Contains(Enumerable.Range(0, fromZero.Length), i => !fromZero[i].Equals(fromSource[i]));
    }

    [Fact(DisplayName = "FastKernels.Gemm: a source without accumulate, or overlapping C → refused before any store")]
    public void SourceMisuseIsRefused()
    {
        var a = new double[4]; var b = new double[4]; var c = new double[8];
        Assert.Throws<ArgumentException>(() => FastKernels.Gemm<double>(Simd.Level, a, 2, 1, b, c, 2, 2, 2, 1.0, accumulate: false, source: new double[4]));
        Assert.Throws<ArgumentException>(() => FastKernels.Gemm<double>(Simd.Level, a, 2, 1, b, c.AsSpan(0, 4), 2, 2, 2, 1.0, accumulate: true, source: c.AsSpan(2, 4)));
        Assert.Throws<ArgumentException>(() => FastKernels.Gemm<double>(Simd.Level, a, 2, 1, b, c.AsSpan(0, 4), 2, 2, 2, 1.0, accumulate: true, source: new double[3]));
        Assert.All(c, x => Assert.Equal(0.0, x));
    }
}
