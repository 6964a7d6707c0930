using ResOdeProofs.Numerics.Model;
using ResOdeProofs.Numerics.Verification;
using Xunit;

namespace ResOdeProofs.Numerics.Tests;

/// <summary>
/// The spectral upper value's products by one triangle (<see cref="SplitPass.SymmetricProduct"/>: the Gram matrix XᵀX and
/// the squarings of a bit-symmetric matrix) and its divisions by one triangle (<see cref="SplitPass.DivideSymmetric"/>)
/// against the GEMM and the division of every entry they replace: every entry bit for bit at every level, on sides that fill
/// the vectors and sides that leave scalar columns, and a control that a product whose terms are not symmetric is seen.
/// </summary>
public sealed class SymmetricProductTests
{
    private static double[] Draw(int n, int seed)
    {
        var r = new System.Random(seed);
        return Enumerable.Range(0, n).Select(_ => (r.NextDouble() - 0.5) * Math.Pow(2, r.Next(-8, 8))).ToArray();
    }

    private static double[] SymmetricDraw(int r, int seed)
    {
        var a = Draw(r * r, seed);
        for (int i = 0; i < r; i++)
            for (int j = 0; j < i; j++) a[i * r + j] = a[j * r + i];
        return a;
    }

    private static void SameBits(double[] expected, double[] actual, string what)
    {
        for (int e = 0; e < expected.Length; e++)
            Assert.True(BitConverter.DoubleToInt64Bits(expected[e]) == BitConverter.DoubleToInt64Bits(actual[e]),
                $"{what}: entry {e}: {expected[e]:R} expected, {actual[e]:R} computed");
    }

    public static IEnumerable<object[]> Levels() =>
        new[] { SimdLevel.Vector512, SimdLevel.Vector256, SimdLevel.Scalar }.Select(l => new object[] { l });

    [Theory(DisplayName = "SplitPass.SymmetricProduct: the square of a bit-symmetric r×r matrix, r = 1..20 → the GEMM's bits in every entry")]
    [MemberData(nameof(Levels))]
    public void Square_keeps_bits(SimdLevel level)
    {
        for (int r = 1; r <= 20; r++)
        {
            var a = SymmetricDraw(r, r);
            var want = new double[r * r]; var got = Enumerable.Repeat(double.NaN, r * r).ToArray();
            FastKernels.Gemm<double>(level, a, r, 1, a, want, r, r, r, 1.0, accumulate: false);
            SplitPass.SymmetricProduct(level, a, r, 1, a, got, r, r);
            SameBits(want, got, $"{level}, r = {r}");
        }
    }

    [Theory(DisplayName = "SplitPass.SymmetricProduct: the Gram matrix XᵀX of an n×c X, c = 1..20, n = c..c + 34 → the GEMM's bits in every entry")]
    [MemberData(nameof(Levels))]
    public void Gram_keeps_bits(SimdLevel level)
    {
        for (int c = 1; c <= 20; c++)
            foreach (int n in new[] { c, c + 1, c + 34 })
            {
                var x = Draw(n * c, 100 * c + n);
                var want = new double[c * c]; var got = Enumerable.Repeat(double.NaN, c * c).ToArray();
                FastKernels.Gemm<double>(level, x, 1, c, x, want, c, n, c, 1.0, accumulate: false);
                SplitPass.SymmetricProduct(level, x, 1, c, x, got, c, n);
                SameBits(want, got, $"{level}, n = {n}, c = {c}");
            }
    }

    [Theory(DisplayName = "SplitPass.SymmetricProduct: a matrix that is not symmetric → entries other than the GEMM's (the comparison sees a mirrored entry)")]
    [MemberData(nameof(Levels))]
    public void Asymmetric_operand_is_seen(SimdLevel level)
    {
        const int r = 16;
        var a = Draw(r * r, 5);
        var want = new double[r * r]; var got = new double[r * r];
        FastKernels.Gemm<double>(level, a, r, 1, a, want, r, r, r, 1.0, accumulate: false);
        SplitPass.SymmetricProduct(level, a, r, 1, a, got, r, r);
        Assert.Contains(Enumerable.Range(0, r * r), e => BitConverter.DoubleToInt64Bits(want[e]) != BitConverter.DoubleToInt64Bits(got[e]));
    }

    [Fact(DisplayName = "SplitPass.SymmetricProduct: operands too short for the sizes → refused")]
    public void Short_operands_refused()
    {
        var a = new double[15]; var c = new double[16];
        Assert.Throws<ArgumentException>(() => SplitPass.SymmetricProduct(SimdLevel.Vector256, a, 4, 1, a, c, 4, 4));
    }

    [Fact(DisplayName = "SplitPass.DivideSymmetric: a bit-symmetric r×r matrix, r = 1..20 → the bits of dividing every entry")]
    public void Divide_keeps_bits()
    {
        for (int r = 1; r <= 20; r++)
        {
            var g = SymmetricDraw(r, 7 * r);
            double t = 3.0 + r / 7.0;
            var want = (double[])g.Clone(); SplitPass.DivideInPlace(want, t);
            var got = (double[])g.Clone(); SplitPass.DivideSymmetric(got, r, t);
            SameBits(want, got, $"r = {r}");
        }
    }
}
