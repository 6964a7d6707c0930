using ResOdeProofs.Numerics.Model;
using ResOdeProofs.Numerics.Verification;

namespace ResOdeProofs.Numerics.Tests;

/// <summary>The noisy companion's signs drawn 64 at a time and its injected error in vector lanes, against the one-draw-at-a-time definition.</summary>
public sealed class NoiseSignsTests
{
    [Theory(DisplayName = "Replay: the noisy companion's injection in lanes, 64 draws at a time → the draw-by-draw scalar formula bit for bit")]
    [InlineData(SimdLevel.Vector512)]
    [InlineData(SimdLevel.Vector256)]
    [InlineData(SimdLevel.Scalar)]
    public void InjectionMatchesTheScalarFormula(SimdLevel level)
    {
        var old = Simd.Override;
        Simd.Override = level;
        try
        {
            var rng = new System.Random(4);
            // sizes whose 2·total draws end inside a word, on a word, and shorter than one word
            foreach (int total in new[] { 1, 7, 32, 45, 100, 1024 + 17 })
            {
                ulong seed = 0x9E3779B97F4A7C15UL ^ (ulong)total;
                var w = TestRandom.Gaussian(rng, total); var v = TestRandom.Gaussian(rng, total);
                var gw = TestRandom.Gaussian(rng, total); var gv = TestRandom.Gaussian(rng, total);
                w[0] = 0.0; gv[total - 1] = -0.0;
                var wr = (double[])w.Clone(); var vr = (double[])v.Clone(); var w0 = (double[])w.Clone();
                var noise = new NoiseSigns(seed);
                var bits = new ulong[(2 * total + 63) / 64];
                ulong state = seed;
                double u = 1.1102230246251565e-16, etaTau = 3e-9;
                for (int stepIndex = 0; stepIndex < 3; stepIndex++)   // the stream carries over from one step to the next
                {
                    noise.Inject(Simd.Level, w, v, gw, gv, u, etaTau, bits);
                    for (int q = 0; q < total; q++)
                    {
                        state = NoiseSigns.Step(state);
                        wr[q] += ((state & 1) == 0 ? 1.0 : -1.0) * (u * Math.Abs(wr[q]) + etaTau * Math.Abs(gw[q]));
                        state = NoiseSigns.Step(state);
                        vr[q] += ((state & 1) == 0 ? 1.0 : -1.0) * (u * Math.Abs(vr[q]) + etaTau * Math.Abs(gv[q]));
                    }
                    for (int q = 0; q < total; q++)
                    {
                        Assert.True(BitConverter.DoubleToInt64Bits(wr[q]) == BitConverter.DoubleToInt64Bits(w[q]), $"total {total}, step {stepIndex}, w[{q}]");
                        Assert.True(BitConverter.DoubleToInt64Bits(vr[q]) == BitConverter.DoubleToInt64Bits(v[q]), $"total {total}, step {stepIndex}, v[{q}]");
                    }
                }
                // the injection moves entries both ways (a stream of one sign, or no error at all, would fail here)
                if (total >= 32)
                {
                    Assert.Contains(Enumerable.Range(0, total), q => w[q] > w0[q]);
                    Assert.Contains(Enumerable.Range(0, total), q => w[q] < w0[q]);
                }
            }
        }
        finally { Simd.Override = old; }
    }
}
