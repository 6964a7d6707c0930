using ResOdeProofs.Numerics.Model;

namespace ResOdeProofs.Numerics.Tests;

/// <summary>The GEMM's fused elementwise multiplier (q = (p V) ⊙ σ' in the backward pass) against the two-pass form.</summary>
public class GemmEpilogueTests
{
    [Theory(DisplayName = "Gemm512: product times a multiplier in the store → bit for bit the product followed by a separate multiply, every width and tile edge")]
    [InlineData(50, 16, 64)]  // figure 2's p·V: 4×4 tiles and a two-row edge
    [InlineData(25, 64, 16)]  // a thread block's q·W: 4×2 tiles
    [InlineData(13, 7, 29)]   // odd sizes: 8×1 and 4×1 tiles, single rows, scalar columns
    public void MultiplierInTheStoreEqualsTwoPasses(int rows, int inner, int cols)
    {
        foreach (var level in new[] { SimdLevel.Scalar, SimdLevel.Vector256, SimdLevel.Vector512 })
        {
            if (level > Simd.Hardware) continue;
            Check<double>(level, rows, inner, cols);
            Check<float>(level, rows, inner, cols);
        }
    }

    private static void Check<T>(SimdLevel level, int rows, int inner, int cols) where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        var rng = new Random.Rng(3);
        T[] Fill(int k) { var d = new double[k]; rng.FillGaussian(d); return d.Select(T.CreateTruncating).ToArray(); }
        var a = Fill(rows * inner); var b = Fill(inner * cols); var mul = Fill(rows * cols);
        var fused = new T[rows * cols]; var twoPass = new T[rows * cols];
        FastKernels.Gemm<T>(level, a, inner, 1, b, fused, rows, inner, cols, T.One, accumulate: false, multiplier: mul);
        FastKernels.Gemm<T>(level, a, inner, 1, b, twoPass, rows, inner, cols, T.One, accumulate: false);
        FastKernels.MultiplyInPlace<T>(level, twoPass, mul);
        for (int i = 0; i < fused.Length; i++)
            Assert.True(fused[i].Equals(twoPass[i]), $"{typeof(T).Name} at {level}, entry {i}: {fused[i]} vs {twoPass[i]}");
        // The multiplier is really applied: the plain product differs from it wherever the multiplier is not ±1.
        var plain = new T[rows * cols];
        FastKernels.Gemm<T>(level, a, inner, 1, b, plain, rows, inner, cols, T.One, accumulate: false);
        Assert.Contains(Enumerable.Range(0, plain.Length), i => !plain[i].Equals(fused[i]));
    }
}
