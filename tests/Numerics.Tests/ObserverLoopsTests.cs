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

    // the step of one part as it was computed before: c ← c − η(E + M), ‖E + M‖ and ‖c‖ summed in index order
    private static (double Step, double Norm) OnePart(double eta, double[] c, double[] e, double[] mc, bool reversed)
    {
        double sf = 0, sc = 0;
        for (int t = 0; t < c.Length; t++)
        {
            int j = reversed ? c.Length - 1 - t : t;
            double f = e[j] + mc[j];
            double x = c[j] - eta * f;
            c[j] = x; sf += f * f; sc += x * x;
        }
        return (Math.Sqrt(sf), Math.Sqrt(sc));
    }

    [Theory(DisplayName = "CentrePass.Advance: the W and V parts in one loop → each part's centre, step and norm the bits of one loop per part")]
    [InlineData(1024)]
    [InlineData(7)]
    [InlineData(1)]
    public void Advance_in_one_loop_keeps_bits(int len)
    {
        var r = new System.Random(len);
        var cw = Draw(r, len, 2); var cv = Draw(r, len, 2); var ew = Draw(r, len, 1); var ev = Draw(r, len, 1);
        var mw = Draw(r, len, 0.3); var mv = Draw(r, len, 0.3);
        double eta = 0.005;
        var cw1 = (double[])cw.Clone(); var cv1 = (double[])cv.Clone();
        var got = CentrePass.Advance(eta, cw1, ew, mw, cv1, ev, mv);
        var cw0 = (double[])cw.Clone(); var cv0 = (double[])cv.Clone();
        var w0 = OnePart(eta, cw0, ew, mw, reversed: false); var v0 = OnePart(eta, cv0, ev, mv, reversed: false);
        Assert.Equal(cw0, cw1);
        Assert.Equal(cv0, cv1);
        Assert.Equal(BitConverter.DoubleToInt64Bits(w0.Step), BitConverter.DoubleToInt64Bits(got.StepW));
        Assert.Equal(BitConverter.DoubleToInt64Bits(w0.Norm), BitConverter.DoubleToInt64Bits(got.NormW));
        Assert.Equal(BitConverter.DoubleToInt64Bits(v0.Step), BitConverter.DoubleToInt64Bits(got.StepV));
        Assert.Equal(BitConverter.DoubleToInt64Bits(v0.Norm), BitConverter.DoubleToInt64Bits(got.NormV));
        if (len == 1024)
        {
            // control: the same sums in another order are other bits (so the comparison above sees an order change)
            var cwr = (double[])cw.Clone(); var cvr = (double[])cv.Clone();
            var wr = OnePart(eta, cwr, ew, mw, reversed: true); var vr = OnePart(eta, cvr, ev, mv, reversed: true);
            Assert.True(wr.Step != got.StepW || wr.Norm != got.NormW || vr.Step != got.StepV || vr.Norm != got.NormV,
                "reversed sums gave the same bits: the comparison cannot see the order");
        }
    }

    [Fact(DisplayName = "CentrePass.Advance: parts of different sizes → refused")]
    public void Advance_refuses_mismatched_parts()
    {
        var a = new double[8]; var b = new double[7];
        Assert.Throws<ArgumentException>(() => CentrePass.Advance(0.1, a, a, a, b, b, b));
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
