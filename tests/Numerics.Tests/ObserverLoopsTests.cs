using ResOdeProofs.Numerics.Model;
using ResOdeProofs.Numerics.Verification;
using Xunit;

namespace ResOdeProofs.Numerics.Tests;

/// <summary>
/// The observer's element loops written for speed (the centre's step of both parts in one loop, the split pass' divisions
/// and subtractions in vector lanes) against the plain loops they replace: every output bit for bit, and a control that
/// the comparison sees a difference in the last bit.
/// </summary>
public sealed class ObserverLoopsTests
{
    private static double[] Draw(System.Random r, int n, double scale) => Enumerable.Range(0, n).Select(_ => scale * (r.NextDouble() - 0.5)).ToArray();

    // the step of one part as a plain loop: c ← c − η(E + M), ‖E + M‖ and ‖c‖ summed in index order (the sums' former bits)
    private static (double Step, double Norm) OnePart(double eta, double[] c, double[] e, double[] mc)
    {
        double sf = 0, sc = 0;
        for (int j = 0; j < c.Length; j++)
        {
            double f = e[j] + mc[j];
            double x = c[j] - eta * f;
            c[j] = x; sf += f * f; sc += x * x;
        }
        return (Math.Sqrt(sf), Math.Sqrt(sc));
    }

    [Theory(DisplayName = "CentrePass.Advance: the W and V parts in one pass, in vector lanes at each level → each part's centre the bits of the plain loop, its step and norm the bits of FastKernels.SumSquares; the former index-order sums → other bits (control)")]
    [InlineData(1024)]
    [InlineData(37)]
    [InlineData(16)]
    [InlineData(7)]
    [InlineData(1)]
    public void Advance_in_one_pass_keeps_bits(int len)
    {
        // entries of one scale, and entries spread over 2⁻²⁰..2²⁰ (where any change in the order of a sum shows in its bits,
        // also through the square root), a few draws of each
        foreach (var level in new[] { SimdLevel.Scalar, SimdLevel.Vector256, SimdLevel.Vector512 }.Where(l => l <= Simd.Hardware))
        foreach (int seed in Enumerable.Range(0, 6))
        {
            var r = new System.Random(len + 1000 * seed);
            bool spread = seed % 2 == 1;
            double[] Entries(double scale) => spread ? Draw(r, len, scale).Select(x => Math.ScaleB(x, r.Next(-20, 21))).ToArray() : Draw(r, len, scale);
            var cw = Entries(2); var cv = Entries(2); var ew = Entries(1); var ev = Entries(1);
            var mw = Entries(0.3); var mv = Entries(0.3);
            double eta = 0.005;
            var cw1 = (double[])cw.Clone(); var cv1 = (double[])cv.Clone();
            var got = CentrePass.Advance(level, eta, cw1, ew, mw, cv1, ev, mv);
            // the centre entry by entry: the plain loop's operations
            var cw0 = (double[])cw.Clone(); var cv0 = (double[])cv.Clone();
            var w0 = OnePart(eta, cw0, ew, mw); var v0 = OnePart(eta, cv0, ev, mv);
            Assert.Equal(cw0, cw1);
            Assert.Equal(cv0, cv1);
            // the norms: SumSquares at the level over E + M and over the new centre
            var fw = ew.Zip(mw, (a, b) => a + b).ToArray(); var fv = ev.Zip(mv, (a, b) => a + b).ToArray();
            void Same(double want, double have, string what) =>
                Assert.True(BitConverter.DoubleToInt64Bits(want) == BitConverter.DoubleToInt64Bits(have), $"{level}, {len} entries, {what}: {want:R} expected, {have:R} computed");
            Same(Math.Sqrt(FastKernels.SumSquares<double>(level, fw)), got.StepW, "‖E^W + M^W‖");
            Same(Math.Sqrt(FastKernels.SumSquares<double>(level, cw1)), got.NormW, "‖c^W‖");
            Same(Math.Sqrt(FastKernels.SumSquares<double>(level, fv)), got.StepV, "‖E^V + M^V‖");
            Same(Math.Sqrt(FastKernels.SumSquares<double>(level, cv1)), got.NormV, "‖c^V‖");
            if (len == 1024 && level != SimdLevel.Scalar)
            {
                // control: the former sums in index order are other bits somewhere (so the comparison above sees the order)
                Assert.True(w0.Step != got.StepW || w0.Norm != got.NormW || v0.Step != got.StepV || v0.Norm != got.NormV,
                    "the index-order sums gave the same bits: the comparison cannot see the order");
            }
        }
    }

    [Fact(DisplayName = "CentrePass.Advance: parts of different sizes → refused")]
    public void Advance_refuses_mismatched_parts()
    {
        var a = new double[8]; var b = new double[7];
        Assert.Throws<ArgumentException>(() => CentrePass.Advance(SimdLevel.Vector256, 0.1, a, a, a, b, b, b));
    }

    [Theory(DisplayName = "SplitPass.DivideInPlace and SubtractSumSquares2: vector lanes and a tail → the scalar loop's bits and SumSquares2's sums; a product by the reciprocal → other bits")]
    [InlineData(256)]
    [InlineData(19)]
    [InlineData(3)]
    public void Divide_and_subtract_keep_bits(int len)
    {
        var r = new System.Random(7 + len);
        var x = Draw(r, len, 10); var y = Draw(r, len, 10);
        var x1 = Draw(r, len, 10); var y1 = Draw(r, len, 10);
        double t = 3.0 * Math.PI;   // not a power of two: the quotient rounds
        var q = (double[])x.Clone();
        SplitPass.DivideInPlace(q, t);
        foreach (var level in new[] { SimdLevel.Scalar, SimdLevel.Vector256, SimdLevel.Vector512 }.Where(l => l <= Simd.Hardware))
        {
            var s = (double[])x.Clone(); var s1 = (double[])x1.Clone();
            var (sum0, sum1) = SplitPass.SubtractSumSquares2(level, s, y, s1, y1);
            for (int e = 0; e < len; e++)
            {
                Assert.Equal(BitConverter.DoubleToInt64Bits(x[e] - y[e]), BitConverter.DoubleToInt64Bits(s[e]));
                Assert.Equal(BitConverter.DoubleToInt64Bits(x1[e] - y1[e]), BitConverter.DoubleToInt64Bits(s1[e]));
            }
            // the sums: SumSquares2 of the differences, bit for bit
            var (want0, want1) = CentrePass.SumSquares2(level, s, s1);
            Assert.Equal(BitConverter.DoubleToInt64Bits(want0), BitConverter.DoubleToInt64Bits(sum0));
            Assert.Equal(BitConverter.DoubleToInt64Bits(want1), BitConverter.DoubleToInt64Bits(sum1));
        }
        for (int e = 0; e < len; e++)
            Assert.Equal(BitConverter.DoubleToInt64Bits(x[e] / t), BitConverter.DoubleToInt64Bits(q[e]));
        if (len == 256)
        {
            // control: multiplying by fl(1/t) differs from the division in some entries, and the check above would see it
            double inv = 1.0 / t;
            Assert.Contains(Enumerable.Range(0, len), e => BitConverter.DoubleToInt64Bits(x[e] * inv) != BitConverter.DoubleToInt64Bits(q[e]));
        }
    }
}
