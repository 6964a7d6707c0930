using ResOdeProofs.Numerics.Model;
using ResOdeProofs.Numerics.Verification;
using Xunit;

namespace ResOdeProofs.Numerics.Tests;

/// <summary>
/// The observer's products (<see cref="CentrePass.Product"/>, the GEMM with α = 1 on its six-row tiles) against the GEMM
/// contract's chain entry by entry (<see cref="GemmChainReference"/>): every entry bit for bit at every level, on both
/// operand layouts the observer uses, row counts that leave every remainder tile, widths that fill pairs of vectors and
/// widths with scalar edge columns, NaN and ∞ entries; and a control that an entry summed in another order is seen.
/// </summary>
public sealed class ObserverProductTests
{
    private static double[] Draw(int n, int seed, bool special)
    {
        var r = new System.Random(seed);
        var x = Enumerable.Range(0, n).Select(_ => (r.NextDouble() - 0.5) * Math.Pow(2, r.Next(-10, 10))).ToArray();
        if (special && n > 3) { x[n / 3] = double.NaN; x[n - 1] = double.NegativeInfinity; }
        return x;
    }

    private static void SameBits(double[] expected, double[] actual, string what)
    {
        for (int e = 0; e < expected.Length; e++)
            Assert.True(BitConverter.DoubleToInt64Bits(expected[e]) == BitConverter.DoubleToInt64Bits(actual[e]),
                $"{what}: entry {e}: {expected[e]:R} expected, {actual[e]:R} computed");
    }

    [Theory(DisplayName = "CentrePass.Product: rows 0..14, inner 0..51, widths 7..64, A and Aᵀ layouts, NaN and ∞ → the GEMM contract's chain in every entry")]
    [InlineData(SimdLevel.Vector512)]
    [InlineData(SimdLevel.Vector256)]
    [InlineData(SimdLevel.Scalar)]
    public void Product_keeps_bits(SimdLevel level)
    {
        foreach (int cols in new[] { 8, 16, 24, 64, 7, 12 })
            foreach (int inner in new[] { 0, 1, 5, 16, 51 })
                for (int rows = 0; rows <= 14; rows++)
                    foreach (bool transposed in new[] { false, true })
                        foreach (bool special in new[] { false, true })
                        {
                            // A(i, k) = a[i·inner + k] (stored rows×inner) or a[k·rows + i] (stored inner×rows, read transposed)
                            int ars = transposed ? 1 : inner, aks = transposed ? rows : 1;
                            var a = Draw(rows * inner, 31 * rows + inner, special); var b = Draw(inner * cols, cols + 7 * inner, false);
                            var want = new double[rows * cols]; var got = Enumerable.Repeat(double.NaN, rows * cols).ToArray();
                            GemmChainReference.Run(level, a, ars, aks, b, want, rows, inner, cols, 1.0, accumulate: false, mul: null);
                            CentrePass.Product(level, a, ars, aks, b, got, rows, inner, cols);
                            SameBits(want, got, $"{level}, {rows}×{inner}·{inner}×{cols}, transposed {transposed}, NaN {special}");
                        }
    }

    [Fact(DisplayName = "CentrePass.Product: an entry's chain summed from the last k down → other bits (the comparison sees the order)")]
    public void Order_change_is_seen()
    {
        const int rows = 12, inner = 51, cols = 16;
        var a = Draw(rows * inner, 1, false); var b = Draw(inner * cols, 2, false);
        var got = new double[rows * cols];
        CentrePass.Product(SimdLevel.Vector256, a, inner, 1, b, got, rows, inner, cols);
        bool differs = false;
        for (int i = 0; i < rows && !differs; i++)
            for (int j = 0; j < cols; j++)
            {
                double s = 0;
                for (int k = inner - 1; k >= 0; k--) s = Math.FusedMultiplyAdd(a[i * inner + k], b[k * cols + j], s);
                if (BitConverter.DoubleToInt64Bits(s) != BitConverter.DoubleToInt64Bits(got[i * cols + j])) { differs = true; break; }
            }
        Assert.True(differs, "a reversed chain gave the same bits in every entry: the comparison cannot see the order");
    }

    [Fact(DisplayName = "CentrePass.Product: operands too short for the sizes → refused")]
    public void Short_operands_refused()
    {
        var a = new double[23]; var b = new double[4 * 16]; var c = new double[6 * 16];
        Assert.Throws<ArgumentException>(() => CentrePass.Product(SimdLevel.Vector256, a, 4, 1, b, c, 6, 4, 16));
    }
}
