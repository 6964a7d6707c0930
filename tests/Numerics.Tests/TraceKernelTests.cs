using System.Numerics;
using ResOdeProofs.Numerics.Model;

namespace ResOdeProofs.Numerics.Tests;

/// <summary>
/// The trainer's fused per-layer loops (<see cref="TraceKernels"/>) against the separate kernels they replace, bit for bit,
/// at every width (the 512-bit loops run in software where the hardware lacks them: the same operations, the same
/// results), and their finiteness answers on corrupted entries.
/// </summary>
public class TraceKernelTests
{
    private static readonly SimdLevel[] Levels = { SimdLevel.Scalar, SimdLevel.Vector256, SimdLevel.Vector512 };

    private static T[] Gaussian<T>(int count, long seed, double scale = 1) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var d = new double[count];
        new Random.Rng(seed).FillGaussian(d);
        return d.Select(x => T.CreateTruncating(x * scale)).ToArray();
    }

    [Theory(DisplayName = "TraceKernels.LayerSums: Σg², Σx², Σ(x'−x)², g finite → SumSquares, SumSquaresDiff and AllFinite bit for bit, float and double, every width")]
    [InlineData(1024, true)]   // figure 2's layer (m·d = 64·16)
    [InlineData(512, true)]    // figure 1's
    [InlineData(16, true)]     // one trip of the 512-bit loop
    [InlineData(48, false)]    // the last layer: no next one
    public void LayerSumsEqualTheSeparateKernels(int n, bool withNext)
    {
        foreach (var level in Levels) { Check<double>(level); Check<float>(level); }

        void Check<T>(SimdLevel level) where T : unmanaged, IFloatingPointIeee754<T>
        {
            var g = Gaussian<T>(n, 11, 0.05); var x = Gaussian<T>(n, 12); var y = Gaussian<T>(n, 13);
            var next = withNext ? y : Array.Empty<T>();
            var (gs, xs, ds, fin) = TraceKernels.LayerSums<T>(level, g, x, next);
            string at = $"{typeof(T).Name}, n = {n}, {level}";
            Assert.True(FastKernels.SumSquares<T>(level, g).Equals(gs), $"{at}: Σg²");
            Assert.True(FastKernels.SumSquares<T>(level, x).Equals(xs), $"{at}: Σx²");
            Assert.True((withNext ? FastKernels.SumSquaresDiff<T>(level, y, x) : 0).Equals(ds), $"{at}: Σ(x'−x)²");
            Assert.True(fin, $"{at}: finite entries reported non-finite");

            // a non-finite gradient entry anywhere (first, last) is found; the sums of x are not affected by it
            foreach (int at0 in new[] { 0, n - 1 })
            {
                var bad = (T[])g.Clone();
                bad[at0] = at0 == 0 ? T.PositiveInfinity : T.NaN;
                var (_, xs2, _, fin2) = TraceKernels.LayerSums<T>(level, bad, x, next);
                Assert.False(fin2, $"{at}: a non-finite entry at {at0} was not found");
                Assert.True(xs.Equals(xs2), $"{at}: Σx² changed with g");
            }
        }
    }

    [Fact(DisplayName = "TraceKernels.LayerSums: the data tell orders apart → a single-chain (scalar-order) sum differs from the vector order in some case, so bit equality above is a real check")]
    public void TheDataDistinguishSummationOrders()
    {
        int differ = 0;
        foreach (int n in new[] { 1024, 512 })
        {
            var x = Gaussian<double>(n, 12);
            double scalar = 0;
            foreach (double v in x) scalar += v * v;
            if (!scalar.Equals(TraceKernels.LayerSums<double>(SimdLevel.Vector256, x, x, default).XSq)) differ++;
            if (!scalar.Equals(TraceKernels.LayerSums<double>(SimdLevel.Vector512, x, x, default).XSq)) differ++;
        }
        Assert.True(differ > 0, "no case distinguishes the vector order from the scalar order");
    }

    [Fact(DisplayName = "TraceKernels.LayerSums: a length that is not a multiple of 16 or unequal operands → ArgumentException (the caller uses the separate kernels)")]
    public void LayerSumsRejectOtherLengths()
    {
        Assert.False(TraceKernels.Fits(37));
        Assert.False(TraceKernels.Fits(8));
        Assert.True(TraceKernels.Fits(1024));
        Assert.Throws<ArgumentException>(() => TraceKernels.LayerSums<double>(SimdLevel.Vector256, new double[37], new double[37], default));
        Assert.Throws<ArgumentException>(() => TraceKernels.LayerSums<double>(SimdLevel.Vector256, new double[32], new double[16], default));
    }

    [Theory(DisplayName = "TraceKernels.AxpyFiniteInto: x ← x + a·y in place → Kernels.Axpy's entries bit for bit and AllFinite of the result; an overflow or a NaN → not finite, every entry still updated")]
    [InlineData(1024)]
    [InlineData(37)]    // vector trips and a scalar tail
    [InlineData(5)]     // the tail only
    public void AxpyFiniteEqualsAxpyThenAllFinite(int n)
    {
        foreach (var level in Levels) { Check<double>(level); Check<float>(level); }

        void Check<T>(SimdLevel level) where T : unmanaged, IFloatingPointIeee754<T>
        {
            var y = Gaussian<T>(n, 21); var x0 = Gaussian<T>(n, 22);
            T a = T.CreateTruncating(-0.0375);
            string at = $"{typeof(T).Name}, n = {n}, {level}";
            foreach (int corrupt in new[] { -1, 0, n / 2, n - 1 })
            {
                var x1 = (T[])x0.Clone(); var x2 = (T[])x0.Clone(); var yy = (T[])y.Clone();
                if (corrupt == n / 2) { x1[corrupt] = x2[corrupt] = T.CreateTruncating(1.795e308); yy[corrupt] = T.CreateTruncating(-1.79e308); }   // x + a·y overflows
                else if (corrupt >= 0) yy[corrupt] = T.NaN;
                Kernels.Axpy(a, yy, x1);
                bool expected = FastKernels.AllFinite<T>(level, x1);
                bool finite = TraceKernels.AxpyFiniteInto<T>(level, a, yy, x2, x2);
                Assert.True(x1.AsSpan().SequenceEqual(x2), $"{at}, corrupt {corrupt}: entries differ from Kernels.Axpy");
                Assert.Equal(expected, finite);
                Assert.Equal(corrupt < 0, finite);
            }
        }
    }
}
