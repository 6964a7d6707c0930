using ResOdeProofs.Numerics.Model;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Xunit.Abstractions;

namespace ResOdeProofs.Numerics.Tests;

/// <summary>
/// The activation kernels at both widths bit for bit. The 512-bit kernels scale by 2^k with one vscalef and set the special
/// values of GELU with vfixupimm where the machine has AVX-512F; the 256-bit twin does both with the AVX2 sequences
/// (<see cref="WidthOps"/>). Each pair is argued to give the same bits for every input; here they are compared on grids that
/// cross every regime: the polynomial's range, the exp's gradual underflow (subnormal results) and its flush to 0, the
/// clamps, ±0, subnormal inputs, ±MaxValue, ±∞ and NaN. On a machine without AVX-512F both sides take the AVX2 sequences and
/// the comparison holds trivially (the test says which it compared).
/// </summary>
public sealed class KernelWidthsTests(ITestOutputHelper output)
{
    private static double[] DoubleInputs()
    {
        var x = new List<double>
        {
            0.0, -0.0, double.Epsilon, -double.Epsilon, 1e-310, -1e-310, double.MaxValue, double.MinValue,
            double.PositiveInfinity, double.NegativeInfinity, double.NaN, 1.0, -1.0, 37.5, -37.5, 38.6, -38.6, 40.0, -40.0,
        };
        for (int i = -45_000; i <= 45_000; i++) x.Add(i * 1e-3 + 1.7e-7);            // GELU's range, its underflow, the clamp at 40
        for (int i = -8_000; i <= 8_000; i++) x.Add(i * 0.1 + 3.3e-5);              // tanh's exp(−2|x|) and softplus' exp(−|x|) into subnormals and 0
        for (int e = -320; e <= 300; e++) { x.Add(Math.Pow(10, e)); x.Add(-Math.Pow(10, e) * 1.37); }
        var rng = new System.Random(20261205);
        for (int i = 0; i < 20_000; i++) x.Add((rng.NextDouble() - 0.5) * 90);
        while (x.Count % 16 != 0) x.Add(0.5);
        return x.ToArray();
    }

    private static float[] FloatInputs()
    {
        var x = new List<float>
        {
            0f, -0f, float.Epsilon, -float.Epsilon, 1e-40f, -1e-40f, float.MaxValue, float.MinValue,
            float.PositiveInfinity, float.NegativeInfinity, float.NaN, 1f, -1f, 15f, -15f,
        };
        for (int i = -20_000; i <= 20_000; i++) x.Add(i * 1e-3f + 1.3e-5f);
        for (int i = -1_500; i <= 1_500; i++) x.Add(i * 0.1f + 3.1e-4f);
        for (int e = -44; e <= 38; e++) { x.Add(MathF.Pow(10, e)); x.Add(-MathF.Pow(10, e) * 1.37f); }
        // dense where an exp's 2^k leaves the normal floats (k = −126), whole vectors on either side and across: GELU's
        // exp(−x²/2) at |x| ≈ 13.2, tanh's exp(−2|x|) at ≈ 43.7, softplus' exp(−|x|) at ≈ 87.3, each ± 1
        foreach (var edge in new[] { 13.2f, 43.7f, 87.3f })
            for (int i = -5_000; i <= 5_000; i++) { x.Add(edge + i * 2e-4f); x.Add(-edge - i * 2e-4f); }
        var rng = new System.Random(20261206);
        for (int i = 0; i < 20_000; i++) x.Add((float)((rng.NextDouble() - 0.5) * 40));
        while (x.Count % 16 != 0) x.Add(0.5f);
        return x.ToArray();
    }

    private string Compared => Avx512F.IsSupported
        ? "vscalef and vfixupimm (AVX-512F) against the AVX2 sequences"
        : "the AVX2 sequences on both sides (no AVX-512F on this machine)";

    [Theory(DisplayName = "Activation kernels float64, 512-bit against the 256-bit twin: every regime, subnormal results, ±0, ±∞, NaN → the same bits")]
    [InlineData(ActivationKind.Gelu)]
    [InlineData(ActivationKind.Tanh)]
    [InlineData(ActivationKind.Softplus)]
    public void Double_widths_agree(ActivationKind kind)
    {
        var u = DoubleInputs();
        var s1 = new double[u.Length]; var d1 = new double[u.Length];
        var s2 = new double[u.Length]; var d2 = new double[u.Length];
        Assert.Equal(u.Length, ActivationKernels512.Evaluate(kind, u, s1, d1));
        Assert.Equal(u.Length, ActivationKernels256.Evaluate(kind, u, s2, d2));
        Assert.Null(ActivationStorageTests.FirstDifference(s1, s2, $"{kind} value"));
        Assert.Null(ActivationStorageTests.FirstDifference(d1, d2, $"{kind} derivative"));
        int subnormal = s1.Count(v => v != 0 && Math.Abs(v) < 2.2250738585072014e-308) + d1.Count(v => v != 0 && Math.Abs(v) < 2.2250738585072014e-308);
        Assert.True(subnormal > 0, "the grid reaches no subnormal result");
        output.WriteLine($"{kind}: {u.Length} inputs, {subnormal} subnormal results; compared {Compared}");
    }

    [Theory(DisplayName = "Activation kernels float32, 512-bit against the 256-bit twin: every regime, ±0, ±∞, NaN → the same bits")]
    [InlineData(ActivationKind.Gelu)]
    [InlineData(ActivationKind.Tanh)]
    [InlineData(ActivationKind.Softplus)]
    public void Float_widths_agree(ActivationKind kind)
    {
        var u = FloatInputs();
        var s1 = new float[u.Length]; var d1 = new float[u.Length];
        var s2 = new float[u.Length]; var d2 = new float[u.Length];
        Assert.Equal(u.Length, ActivationKernels512.Evaluate(kind, u, s1, d1));
        Assert.Equal(u.Length, ActivationKernels256.Evaluate(kind, u, s2, d2));
        for (int i = 0; i < u.Length; i++)
        {
            Assert.True(BitConverter.SingleToInt32Bits(s1[i]) == BitConverter.SingleToInt32Bits(s2[i]), $"{kind} value at {u[i]:R}: {s1[i]:R} against {s2[i]:R}");
            Assert.True(BitConverter.SingleToInt32Bits(d1[i]) == BitConverter.SingleToInt32Bits(d2[i]), $"{kind} derivative at {u[i]:R}: {d1[i]:R} against {d2[i]:R}");
        }
        output.WriteLine($"{kind}: {u.Length} inputs; compared {Compared}");
    }

    [Fact(DisplayName = "WidthOps rounding constants: compile-time bit patterns (no class initialization in the kernels) → the bits of 1.5·2⁵² and 1.5·2²³")]
    public void Magic_bit_patterns()
    {
        // (the literal first, as xUnit reads a constant: the value the bits of 1.5·2⁵² and 1.5·2²³ are checked against)
        Assert.Equal(WidthOps.MagicBits, BitConverter.DoubleToInt64Bits(ExpPolynomial.Magic));
        Assert.Equal(WidthOps.MagicFBits, BitConverter.SingleToInt32Bits(12582912f));
    }

    [Fact(DisplayName = "GELU's special values at both widths and both precisions: −∞ → −0 and +0, +∞ → +∞ and 1, NaN → itself")]
    public void Gelu_special_values()
    {
        double[] u = { double.NegativeInfinity, double.PositiveInfinity, double.NaN, -0.0, 0, 0, 0, 0 };
        foreach (var width in new[] { 256, 512 })
        {
            var s = new double[8]; var d = new double[8];
            if (width == 512) ActivationKernels512.Evaluate(ActivationKind.Gelu, u, s, d); else ActivationKernels256.Evaluate(ActivationKind.Gelu, u, s, d);
            Assert.True(BitConverter.DoubleToInt64Bits(s[0]) == BitConverter.DoubleToInt64Bits(-0.0) && BitConverter.DoubleToInt64Bits(d[0]) == 0, $"{width}: gelu(−∞) = {s[0]:R}, gelu'(−∞) = {d[0]:R}");
            Assert.True(s[1] == double.PositiveInfinity && d[1] == 1.0, $"{width}: gelu(+∞) = {s[1]:R}, gelu'(+∞) = {d[1]:R}");
            Assert.True(BitConverter.DoubleToInt64Bits(s[2]) == BitConverter.DoubleToInt64Bits(double.NaN) && BitConverter.DoubleToInt64Bits(d[2]) == BitConverter.DoubleToInt64Bits(double.NaN), $"{width}: NaN");
            Assert.True(BitConverter.DoubleToInt64Bits(s[3]) == BitConverter.DoubleToInt64Bits(-0.0) && d[3] == 0.5, $"{width}: gelu(−0) = {s[3]:R}");
            var uf = new float[16]; uf[0] = float.NegativeInfinity; uf[1] = float.PositiveInfinity; uf[2] = float.NaN;
            var sf = new float[16]; var df = new float[16];
            if (width == 512) ActivationKernels512.Evaluate(ActivationKind.Gelu, uf, sf, df); else ActivationKernels256.Evaluate(ActivationKind.Gelu, uf, sf, df);
            Assert.True(BitConverter.SingleToInt32Bits(sf[0]) == BitConverter.SingleToInt32Bits(-0f) && BitConverter.SingleToInt32Bits(df[0]) == 0, $"{width}: float gelu(−∞) = {sf[0]:R}, gelu'(−∞) = {df[0]:R}");
            Assert.True(sf[1] == float.PositiveInfinity && df[1] == 1f, $"{width}: float gelu(+∞)");
            Assert.True(float.IsNaN(sf[2]) && float.IsNaN(df[2]), $"{width}: float NaN");
        }
    }
}
