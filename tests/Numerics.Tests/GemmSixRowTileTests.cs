using System.Numerics;
using ResOdeProofs.Numerics.Model;
using Xunit;

namespace ResOdeProofs.Numerics.Tests;

/// <summary>
/// The GEMM's six-row tiles (six rows by two vectors, in the strips of two vector columns; Gemm512 and its generated
/// Gemm256) against the entry-by-entry chain of the GEMM's contract (<see cref="GemmChainReference"/>): every entry bit for
/// bit at every level the tests can run (512-bit in software form here, 256-bit, scalar), in float64 and float32, row
/// counts 0..19 (every remainder after six, four, two rows), widths that fill two, four or one vectors and widths with
/// scalar edge columns, both operand layouts, α = 1 and α = 1/L with accumulate on and off, with and without the
/// multiplier, NaN and ∞ entries; and controls that an entry formed in another order, or without the fused rounding, is seen.
/// </summary>
public sealed class GemmSixRowTileTests
{
    private static T[] Draw<T>(int n, int seed, bool special) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var r = new System.Random(seed);
        var x = Enumerable.Range(0, n).Select(_ => T.CreateTruncating((r.NextDouble() - 0.5) * Math.Pow(2, r.Next(-10, 10)))).ToArray();
        if (special && n > 3) { x[n / 3] = T.NaN; x[n - 1] = T.NegativeInfinity; }
        return x;
    }

    private static long Bits<T>(T x) where T : unmanaged =>
        typeof(T) == typeof(double) ? BitConverter.DoubleToInt64Bits((double)(object)x) : BitConverter.SingleToInt32Bits((float)(object)x);

    private static int Sweep<T>(SimdLevel level, int[] widths, int[] inners) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int compared = 0;
        foreach (int cols in widths)
            foreach (int inner in inners)
                for (int rows = 0; rows <= 19; rows++)
                    foreach (bool transposed in new[] { false, true })
                        foreach (bool accumulate in new[] { false, true })
                            foreach (bool multiply in new[] { false, true })
                            {
                                bool special = (rows + inner + cols) % 2 == 0;
                                int ars = transposed ? 1 : inner, aks = transposed ? rows : 1;
                                var a = Draw<T>(rows * inner, 31 * rows + inner, special);
                                var b = Draw<T>(inner * cols, cols + 7 * inner, false);
                                var c0 = Draw<T>(rows * cols, rows + 3 * cols, false);
                                var mul = multiply ? Draw<T>(rows * cols, 5 * rows + cols, special) : null;
                                T alpha = accumulate ? T.CreateTruncating(1.0 / 64) : T.One;
                                var want = (T[])c0.Clone(); var got = (T[])c0.Clone();
                                GemmChainReference.Run(level, a, ars, aks, b, want, rows, inner, cols, alpha, accumulate, mul);
                                FastKernels.Gemm<T>(level, a, ars, aks, b, got, rows, inner, cols, alpha, accumulate, mul);
                                for (int e = 0; e < want.Length; e++)
                                    Assert.True(Bits(want[e]) == Bits(got[e]),
                                        $"{level} {typeof(T).Name}: {rows}×{inner}·{inner}×{cols}, transposed {transposed}, accumulate {accumulate}, " +
                                        $"multiplier {multiply}, entry {e}: {want[e]} expected, {got[e]} computed");
                                compared += want.Length;
                            }
        return compared;
    }

    [Theory(DisplayName = "Gemm six-row tiles, float64: rows 0..19, widths 4..72 with scalar edges, A and Aᵀ, α and accumulate, multiplier, NaN and ∞ → each entry the contract's chain")]
    [InlineData(SimdLevel.Vector512)]
    [InlineData(SimdLevel.Vector256)]
    [InlineData(SimdLevel.Scalar)]
    public void Float64_entries_keep_their_chain(SimdLevel level) =>
        Assert.True(Sweep<double>(level, new[] { 8, 16, 32, 64, 4, 12, 19, 72 }, new[] { 0, 1, 16, 25, 51 }) > 0);

    [Theory(DisplayName = "Gemm six-row tiles, float32: rows 0..19, widths 8..72 with scalar edges, A and Aᵀ, α and accumulate, multiplier, NaN and ∞ → each entry the contract's chain")]
    [InlineData(SimdLevel.Vector512)]
    [InlineData(SimdLevel.Vector256)]
    [InlineData(SimdLevel.Scalar)]
    public void Float32_entries_keep_their_chain(SimdLevel level) =>
        Assert.True(Sweep<float>(level, new[] { 16, 32, 64, 8, 24, 37, 72 }, new[] { 0, 1, 16, 25 }) > 0);

    [Fact(DisplayName = "GemmChainReference: an entry summed from the last k down, or unfused in a vector column → other bits (the comparison sees both)")]
    public void Order_and_fusion_changes_are_seen()
    {
        const int rows = 12, inner = 51, cols = 16;
        var a = Draw<double>(rows * inner, 1, false); var b = Draw<double>(inner * cols, 2, false);
        var got = new double[rows * cols];
        FastKernels.Gemm<double>(SimdLevel.Vector256, a, inner, 1, b, got, rows, inner, cols, 1.0, accumulate: false);
        bool reversedDiffers = false, unfusedDiffers = false;
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < cols; j++)
            {
                double s = 0, u = 0;
                for (int k = inner - 1; k >= 0; k--) s = Math.FusedMultiplyAdd(a[i * inner + k], b[k * cols + j], s);
                for (int k = 0; k < inner; k++) { double prod = a[i * inner + k] * b[k * cols + j]; u += prod; }
                reversedDiffers |= BitConverter.DoubleToInt64Bits(s) != BitConverter.DoubleToInt64Bits(got[i * cols + j]);
                unfusedDiffers |= BitConverter.DoubleToInt64Bits(u) != BitConverter.DoubleToInt64Bits(got[i * cols + j]);
            }
        Assert.True(reversedDiffers, "a reversed chain gave the same bits in every entry: the comparison cannot see the order");
        Assert.True(unfusedDiffers, "an unfused chain gave the same bits in every entry: the comparison cannot see the rounding");
    }
}
