using ResOdeProofs.Numerics.Model;
using Xunit;

namespace ResOdeProofs.Numerics.Tests;

/// <summary>
/// Whether two products that share an operand can be one wider call of <see cref="FastKernels.Gemm{T}"/> with the same bits
/// (docs/performance.md, "The observer's products"): each entry is one chain over k in increasing order, a fused multiply-add
/// chain in the vector columns and a separate multiply and add in the scalar columns past the last whole vector. Rows
/// stacked, A = [A₁; A₂] against one B, keep every entry's chain (the row tiles differ, the chain does not); columns
/// appended, B = [B₁ | B₂], move the scalar edge of a first product whose width is not a multiple of the lane count into
/// the vector columns, which rounds differently.
/// </summary>
public sealed class GemmFusionTests
{
    private static double[] Draw(System.Random r, int len) => Enumerable.Range(0, len).Select(_ => 2 * r.NextDouble() - 1).ToArray();

    [Theory(DisplayName = "FastKernels.Gemm: A = [A₁; A₂] stacked by rows against one B, random and odd shapes → A₁B and A₂B bit for bit")]
    [InlineData(SimdLevel.Vector512)]
    [InlineData(SimdLevel.Vector256)]
    [InlineData(SimdLevel.Scalar)]
    public void Stacked_rows_keep_the_bits(SimdLevel level)
    {
        var old = Simd.Override;
        Simd.Override = level;
        try
        {
            var r = new System.Random(5);
            foreach (var (r1, r2, inner, cols) in new[] { (50, 64, 16, 16), (7, 9, 5, 13), (13, 3, 50, 7), (64, 64, 50, 16), (1, 5, 3, 9) })
            {
                // A stored transposed (inner × rows, as the observer's σ'⊙q and X_W are read): A(i, k) = a[i + k·rows]
                int rows = r1 + r2;
                var a = Draw(r, inner * rows); var b = Draw(r, inner * cols);
                var a1 = new double[inner * r1]; var a2 = new double[inner * r2];
                for (int k = 0; k < inner; k++)
                {
                    Array.Copy(a, k * rows, a1, k * r1, r1);
                    Array.Copy(a, k * rows + r1, a2, k * r2, r2);
                }
                var c = new double[rows * cols]; var c1 = new double[r1 * cols]; var c2 = new double[r2 * cols];
                FastKernels.Gemm<double>(level, a, 1, rows, b, c, rows, inner, cols, 1.0, accumulate: false);
                FastKernels.Gemm<double>(level, a1, 1, r1, b, c1, r1, inner, cols, 1.0, accumulate: false);
                FastKernels.Gemm<double>(level, a2, 1, r2, b, c2, r2, inner, cols, 1.0, accumulate: false);
                var separate = c1.Concat(c2).Select(BitConverter.DoubleToInt64Bits).ToArray();
                Assert.Equal(separate, c.Select(BitConverter.DoubleToInt64Bits).ToArray());
                // the comparison sees one operand's entry moved by 10⁻⁹
                a[0] += 1e-9;
                FastKernels.Gemm<double>(level, a, 1, rows, b, c, rows, inner, cols, 1.0, accumulate: false);
                Assert.NotEqual(separate, c.Select(BitConverter.DoubleToInt64Bits).ToArray());
            }
        }
        finally { Simd.Override = old; }
    }

    [Theory(DisplayName = "FastKernels.Gemm: B = [B₁ | B₂] appended by columns, a first width of 7 at a vector level → B₁'s edge columns change bits; a multiple of the lanes → the same bits")]
    [InlineData(SimdLevel.Vector512)]
    [InlineData(SimdLevel.Vector256)]
    public void Appended_columns_keep_the_bits_only_on_whole_vectors(SimdLevel level)
    {
        var old = Simd.Override;
        Simd.Override = level;
        try
        {
            var r = new System.Random(6);
            int rows = 50, inner = 16;
            foreach (var (w1, w2, same) in new[] { (7, 7, false), (64, 64, true), (16, 9, true) })
            {
                var a = Draw(r, rows * inner); var b1 = Draw(r, inner * w1); var b2 = Draw(r, inner * w2);
                var b = new double[inner * (w1 + w2)];
                for (int k = 0; k < inner; k++)
                {
                    Array.Copy(b1, k * w1, b, k * (w1 + w2), w1);
                    Array.Copy(b2, k * w2, b, k * (w1 + w2) + w1, w2);
                }
                var c = new double[rows * (w1 + w2)]; var c1 = new double[rows * w1]; var c2 = new double[rows * w2];
                FastKernels.Gemm<double>(level, a, inner, 1, b, c, rows, inner, w1 + w2, 1.0, accumulate: false);
                FastKernels.Gemm<double>(level, a, inner, 1, b1, c1, rows, inner, w1, 1.0, accumulate: false);
                FastKernels.Gemm<double>(level, a, inner, 1, b2, c2, rows, inner, w2, 1.0, accumulate: false);
                bool equal = true;
                for (int i = 0; i < rows; i++)
                {
                    for (int j = 0; j < w1; j++) equal &= BitConverter.DoubleToInt64Bits(c[i * (w1 + w2) + j]) == BitConverter.DoubleToInt64Bits(c1[i * w1 + j]);
                    for (int j = 0; j < w2; j++) equal &= BitConverter.DoubleToInt64Bits(c[i * (w1 + w2) + w1 + j]) == BitConverter.DoubleToInt64Bits(c2[i * w2 + j]);
                }
                Assert.True(equal == same, $"widths {w1} + {w2}: {(equal ? "the same bits" : "other bits")}");
            }
        }
        finally { Simd.Override = old; }
    }
}
