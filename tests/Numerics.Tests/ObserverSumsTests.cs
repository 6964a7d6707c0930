using ResOdeProofs.Numerics.Model;
using ResOdeProofs.Numerics.Verification;
using Xunit;

namespace ResOdeProofs.Numerics.Tests;

/// <summary>
/// The observer's sums of squares taken side by side in one pass (<see cref="CentrePass.SumSquares4"/>,
/// <see cref="CentrePass.SumSquares2"/>) against one <see cref="FastKernels.SumSquares{T}"/> call per array: every sum bit
/// for bit at every level and every length around the vector trips' edges, with NaN and infinite entries, and a control that
/// the comparison sees a change of the summation order in the last bit.
/// </summary>
public sealed class ObserverSumsTests
{
    private static double[] Entries(int n, int seed, bool special)
    {
        var r = new System.Random(seed);
        var x = Enumerable.Range(0, n).Select(_ => (r.NextDouble() - 0.5) * Math.Pow(2, r.Next(-30, 30))).ToArray();
        if (special && n > 2) { x[n / 2] = double.NaN; x[n - 1] = double.PositiveInfinity; }
        return x;
    }

    private static void SameBits(double expected, double actual, string what) =>
        Assert.True(BitConverter.DoubleToInt64Bits(expected) == BitConverter.DoubleToInt64Bits(actual),
            $"{what}: {expected:R} expected, {actual:R} computed");

    [Theory(DisplayName = "CentrePass.SumSquares4 and SumSquares2: every length 0..70, NaN and ∞ entries → each sum the bits of its own FastKernels.SumSquares")]
    [InlineData(SimdLevel.Vector512)]
    [InlineData(SimdLevel.Vector256)]
    [InlineData(SimdLevel.Scalar)]
    public void Sums_side_by_side_keep_bits(SimdLevel level)
    {
        foreach (int n in Enumerable.Range(0, 71).Append(3200).Append(1024))
            foreach (bool special in new[] { false, true })
            {
                var x = Enumerable.Range(0, 4).Select(t => Entries(n, 10 * n + t, special && t == 2)).ToArray();
                var (s0, s1, s2, s3) = CentrePass.SumSquares4(level, x[0], x[1], x[2], x[3]);
                var got = new[] { s0, s1, s2, s3 };
                for (int t = 0; t < 4; t++) SameBits(FastKernels.SumSquares<double>(level, x[t]), got[t], $"{level}, n = {n}, sum {t} of 4");
                var (p0, p1) = CentrePass.SumSquares2(level, x[1], x[2]);
                SameBits(FastKernels.SumSquares<double>(level, x[1]), p0, $"{level}, n = {n}, sum 0 of 2");
                SameBits(FastKernels.SumSquares<double>(level, x[2]), p1, $"{level}, n = {n}, sum 1 of 2");
            }
    }

    [Fact(DisplayName = "CentrePass.SumSquares4: the same entries summed one by one in index order → other bits (the comparison sees the order)")]
    public void Order_change_is_seen()
    {
        var x = Entries(3200, 7, false);
        double plain = 0;
        foreach (double v in x) plain += v * v;
        var (s, _, _, _) = CentrePass.SumSquares4(SimdLevel.Vector256, x, x, x, x);
        Assert.NotEqual(BitConverter.DoubleToInt64Bits(plain), BitConverter.DoubleToInt64Bits(s));
    }

    [Fact(DisplayName = "CentrePass.SumSquares4 and SumSquares2: arrays of different lengths → refused")]
    public void Different_lengths_refused()
    {
        var a = new double[8]; var b = new double[7];
        Assert.Throws<ArgumentException>(() => CentrePass.SumSquares4(SimdLevel.Vector256, a, a, b, a));
        Assert.Throws<ArgumentException>(() => CentrePass.SumSquares2(SimdLevel.Vector256, a, b));
    }
}
