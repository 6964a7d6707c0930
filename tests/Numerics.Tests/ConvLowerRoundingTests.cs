using ResOdeProofs.Numerics.Blocks;

namespace ResOdeProofs.Numerics.Tests;

/// <summary>
/// The rounding of ConvSpectralNorm's lower bound (docs/theorems/ConvBlock.md, "Rounding of the lower bound"): derived from
/// the convolution's operation counts and an upper value of ‖|K|‖₂, it replaces a fixed relative 1e-12.
/// </summary>
public sealed class ConvLowerRoundingTests
{
    private const double U = 1.1102230246251565e-16;

    private static double Gamma(double j) => j * U / (1 - j * U);

    /// <summary>The sign of v² − N for a double v and an integer N ≤ 2⁵³, exactly.</summary>
    private static int SignOfSquareMinus(double v, double big)
    {
        double p = v * v, e = Math.FusedMultiplyAdd(v, v, -p);
        return Math.Sign((p - big) + e);
    }

    [Fact(DisplayName = "ConvSpectralNorm: centre-tap rank-one integer kernels (‖K‖₂ = ‖a‖‖b‖ exactly), 40 draws → Lower never above ‖K‖₂ and within 1e-13 of it")]
    public void LowerBelowTheExactNorm()
    {
        var rng = new System.Random(11);
        for (int draw = 0; draw < 40; draw++)
        {
            int cIn = 1 + draw % 4, cOut = 1 + (draw / 4) % 4, h = 4 + draw % 3, w = 5;
            var a = Enumerable.Range(0, cOut).Select(_ => (double)rng.Next(1, 8)).ToArray();
            var b = Enumerable.Range(0, cIn).Select(_ => (double)rng.Next(-7, 8)).ToArray();
            b[0] = 3;
            var kernel = new double[cOut * cIn * 9];
            for (int o = 0; o < cOut; o++)
                for (int c = 0; c < cIn; c++) kernel[(o * cIn + c) * 9 + 4] = a[o] * b[c];
            double norm2 = a.Sum(t => t * t) * b.Sum(t => t * t);
            var bracket = ConvSpectralNorm.Compute(kernel, cIn, cOut, h, w);
            Assert.True(SignOfSquareMinus(bracket.Lower, norm2) <= 0, $"draw {draw}: lower {bracket.Lower:R} above ‖K‖₂ = √{norm2}");
            Assert.True(bracket.Lower >= Math.Sqrt(norm2) * (1 - 1e-13), $"draw {draw}: lower {bracket.Lower:R} far below √{norm2}");
        }
    }

    [Fact(DisplayName = "ConvSpectralNorm.LowerFromComputed: C = 4, 14×14 → the computed norms lowered by the derived terms, below the former 1e-12 relative; a value with no room (Ā = 0, exact norms) → lowered only by the norms' γ")]
    public void DerivedTermsAgainstFormerLiteral()
    {
        int c = 4, dIn = c * 14 * 14;
        double normW = 2.0, normZ = 4.0, absUpper = 6.0;
        double got = ConvSpectralNorm.LowerFromComputed(normW, normZ, absUpper, c, c, dIn, dIn);
        double yUp = 1 + Gamma(dIn + 3);
        double expected = (Math.Max(normW / ((1 + Gamma(dIn + 1)) * yUp), Math.Sqrt(normZ / ((1 + Gamma(dIn + 1)) * yUp))) * (1 - 8 * U)
            - 3 * Gamma(36 * c + 1) * absUpper * (1 + 8 * U)) * (1 - 2 * U);
        Assert.True(Math.Abs(got - expected) <= 4 * U * expected, $"got {got:R}, expected {expected:R}");
        Assert.InRange(1 - got / normW, 1e-14, 1e-12);
        double noAbs = ConvSpectralNorm.LowerFromComputed(normW, normZ, 0.0, c, c, dIn, dIn);
        Assert.InRange(1 - noAbs / normW, (dIn + 2) * U, 1e-12);
        Assert.True(noAbs > got);
    }
}
