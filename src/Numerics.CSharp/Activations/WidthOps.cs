using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace ResOdeProofs.Numerics;

/// <summary>
/// Steps of the activation kernels that one instruction of AVX-512 does and AVX2 needs a sequence for. The kernels are
/// written once (<c>ActivationKernels512</c> and <c>GeluLanes512</c>, their 256-bit twins generated at build) and call these by overload: the
/// 512-bit overloads use the single instructions where AVX-512F is there (the engine runs its 512-bit kernels only where it
/// is; the tests also call them on machines without it, where the halves take the AVX2 sequences), the 256-bit ones the AVX2
/// sequences. Both give the same bits for every input (argued at each method; the kernels' tests compare the
/// two widths and the scalar path entry by entry, special values included).
/// </summary>
internal static class WidthOps
{
    /// <summary>
    /// 1.5·2⁵² (<see cref="ExpPolynomial.Magic"/>) as its bit pattern. A constant, not a static readonly field: the kernels
    /// that read it are compiled at once, fully optimized (AggressiveOptimization), before this class is initialized, so a
    /// static field was a load and a class-initialization check inside every kernel loop, and the possible call to the
    /// initializer made the register allocator keep the loop's live vectors on the stack (docs/performance.md, 2026-12-07).
    /// A test of KernelWidthsTests (Magic_bit_patterns) compares it with the bits of ExpPolynomial.Magic.
    /// </summary>
    internal const long MagicBits = 0x4338000000000000L;

    /// <summary>
    /// x·2^(k−1) rounded once, for x ∈ [2^-1/2, 2^1/2] and an integer k ∈ [−1155, 0], given as the double k and as
    /// kd = k + 1.5·2⁵² (k in the low bits). vscalefpd rounds x·2^⌊k−1⌋ once (to nearest, gradual underflow: the runtime
    /// leaves MXCSR's FTZ and DAZ clear); the AVX2 sequence applies 2^k₁ (k₁ = max(k, −1021): x·2^k₁ is normal, so exact)
    /// and then 2^(k−k₁−1), which rounds once: the same correctly rounded value.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<double> ScaleHalf(Vector512<double> x, Vector512<double> kd, Vector512<double> k) =>
        Avx512F.IsSupported ? Avx512F.Scale(x, k - Vector512.Create(1.0))
        : Vector512.Create(ScaleHalf(x.GetLower(), kd.GetLower(), k.GetLower()), ScaleHalf(x.GetUpper(), kd.GetUpper(), k.GetUpper()));

    /// <inheritdoc cref="ScaleHalf(Vector512{double}, Vector512{double}, Vector512{double})"/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<double> ScaleHalf(Vector256<double> x, Vector256<double> kd, Vector256<double> k)
    {
        if (HalfScalesNormal(kd)) return x * HalfPow(kd);
        // kd holds k + 1.5·2^52 exactly, its low bits k; k1 = max(k, −1021) is clamped in that form (a double max: AVX2
        // has no 64-bit integer max), then 2^k1 = bits (k1 + 1023) << 52 and 2^(k − k1 − 1) likewise
        var kd1 = Vector256.MaxNative(kd, Vector256.Create(ExpPolynomial.Magic - 1021.0));
        var f1 = Vector256.ShiftLeft(kd1.AsInt64() - Vector256.Create(MagicBits - 1023L), 52).AsDouble();
        var f2 = Vector256.ShiftLeft(kd.AsInt64() - kd1.AsInt64() + Vector256.Create(1022L), 52).AsDouble();
        return x * f1 * f2;
    }

    /// <summary>
    /// True when every lane has k ≥ −1021 (kd ≥ 1.5·2⁵² − 1021): then 2^(k−1) is a normal double (<see cref="HalfPow(Vector256{double})"/>) and
    /// x·2^(k−1) is one product, rounded once, the value <see cref="ScaleHalf(Vector256{double}, Vector256{double}, Vector256{double})"/>'s
    /// sequence gives. In the GELU kernel (k from −u²/2) it also says that every lane of u is finite with |u| &lt; 37.6 (a NaN
    /// or infinite u enters the exp as t = 40, k = −1154), so its outputs need no special-value step. Always false on the
    /// 512-bit overload where AVX-512F is there: vscalefpd and vfixupimmpd do the general case in one instruction each.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool HalfScalesNormal(Vector512<double> kd) =>
        !Avx512F.IsSupported && HalfScalesNormal(kd.GetLower()) && HalfScalesNormal(kd.GetUpper());

    /// <inheritdoc cref="HalfScalesNormal(Vector512{double})"/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool HalfScalesNormal(Vector256<double> kd) =>
        Vector256.GreaterThanOrEqualAll(kd, Vector256.Create(ExpPolynomial.Magic - 1021.0));

    /// <summary>2^(k−1) from kd = k + 1.5·2⁵², for k ≥ −1021 (<see cref="HalfScalesNormal(Vector512{double})"/>): the bits (k − 1 + 1023)·2⁵².</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<double> HalfPow(Vector512<double> kd) =>
        Vector512.ShiftLeft(kd.AsInt64() - Vector512.Create(MagicBits - 1022L), 52).AsDouble();

    /// <inheritdoc cref="HalfPow(Vector512{double})"/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<double> HalfPow(Vector256<double> kd) =>
        Vector256.ShiftLeft(kd.AsInt64() - Vector256.Create(MagicBits - 1022L), 52).AsDouble();

    /// <summary>
    /// x·2^k rounded once, for x ∈ [2^-1/2, 2^1/2] and an integer k ∈ [−1077, 0], given as the double k and as
    /// kd = k + 1.5·2⁵². vscalefpd rounds once; the AVX2 sequence applies 2^k₁ and 2^(k − k₁) with k₁ = −⌊−k/2⌋ (both
    /// ≥ −539, so x·2^k₁ is normal and exact), the second product rounding once: the same value; a vector whose lanes all
    /// have k ≥ −1022 takes the one product x·2^k (2^k normal), rounded once: the same value again.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<double> Scale(Vector512<double> x, Vector512<double> kd, Vector512<double> k) =>
        Avx512F.IsSupported ? Avx512F.Scale(x, k)
        : Vector512.Create(Scale(x.GetLower(), kd.GetLower(), k.GetLower()), Scale(x.GetUpper(), kd.GetUpper(), k.GetUpper()));

    /// <inheritdoc cref="Scale(Vector512{double}, Vector512{double}, Vector512{double})"/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<double> Scale(Vector256<double> x, Vector256<double> kd, Vector256<double> k)
    {
        // every lane's k ≥ −1022: 2^k is a normal double and x·2^k one product, rounded once, the value of the two factors below
        if (Vector256.GreaterThanOrEqualAll(kd, Vector256.Create(ExpPolynomial.Magic - 1022.0)))
            return x * Vector256.ShiftLeft(kd.AsInt64() - Vector256.Create(MagicBits - 1023L), 52).AsDouble();
        var kbits = kd.AsInt64() - Vector256.Create(MagicBits);
        var k1 = -Vector256.ShiftRightLogical(-kbits, 1);
        var k2 = kbits - k1;
        var bias = Vector256.Create(1023L);
        return x * Vector256.ShiftLeft(k1 + bias, 52).AsDouble() * Vector256.ShiftLeft(k2 + bias, 52).AsDouble();
    }

    /// <summary>
    /// x·2^k for a small integer k ≤ 0 (the accurate exp near zero: −5 ≤ k ≤ 0) with x·2^k normal, so the product is exact
    /// either way: one vscalefpd, or the AVX2 sequence that builds 2^k from k's bits in kd = k + 1.5·2⁵² and multiplies.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<double> ScaleExact(Vector512<double> x, Vector512<double> kd, Vector512<double> k) =>
        Avx512F.IsSupported ? Avx512F.Scale(x, k)
        : Vector512.Create(ScaleExact(x.GetLower(), kd.GetLower(), k.GetLower()), ScaleExact(x.GetUpper(), kd.GetUpper(), k.GetUpper()));

    /// <inheritdoc cref="ScaleExact(Vector512{double}, Vector512{double}, Vector512{double})"/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<double> ScaleExact(Vector256<double> x, Vector256<double> kd, Vector256<double> k) =>
        x * Vector256.ShiftLeft(kd.AsInt64() - Vector256.Create(MagicBits) + Vector256.Create(1023L), 52).AsDouble();

    /// <summary>1.5·2²³ as its bit pattern (the float kernels' rounding constant); a constant for the reason of <see cref="MagicBits"/>.</summary>
    internal const int MagicFBits = 0x4B400000;

    /// <summary>
    /// x·2^k in float, rounded once, for x ∈ [2^-1/2, 2^1/2] and an integer k ∈ [−252, 0], given as the float k and as
    /// kd = k + 1.5·2²³. vscalefps rounds once; the AVX2 sequence applies 2^k₁ and 2^(k − k₁) with k₁ = −⌊−k/2⌋ (both
    /// ≥ −126, x·2^k₁ normal and exact), the second product rounding once: the same value.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Scale(Vector512<float> x, Vector512<float> kd, Vector512<float> k) =>
        Avx512F.IsSupported ? Avx512F.Scale(x, k)
        : Vector512.Create(Scale(x.GetLower(), kd.GetLower(), k.GetLower()), Scale(x.GetUpper(), kd.GetUpper(), k.GetUpper()));

    /// <inheritdoc cref="Scale(Vector512{float}, Vector512{float}, Vector512{float})"/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Scale(Vector256<float> x, Vector256<float> kd, Vector256<float> k)
    {
        if (ScalesNormal(kd)) return x * Pow(kd);
        var kbits = kd.AsInt32() - Vector256.Create(MagicFBits);
        var k1 = -Vector256.ShiftRightLogical(-kbits, 1);
        var k2 = kbits - k1;
        var bias = Vector256.Create(127);
        return x * Vector256.ShiftLeft(k1 + bias, 23).AsSingle() * Vector256.ShiftLeft(k2 + bias, 23).AsSingle();
    }

    /// <summary>
    /// True when every lane has k ≥ −126 (kd ≥ 1.5·2²³ − 126): then 2^k is a normal float (<see cref="Pow(Vector256{float})"/>)
    /// and x·2^k is one product, rounded once, the value of <see cref="Scale(Vector256{float}, Vector256{float}, Vector256{float})"/>'s
    /// two factors. In the float GELU kernel (k from −u²/2 with |u| clamped at 15) it also says that every lane of u is
    /// finite with |u| &lt; 13.3 (a NaN or infinite u enters as t = 15, k = −162), so its outputs need no special-value step.
    /// Always false on the 512-bit overload where AVX-512F is there (vscalefps and vfixupimmps: one instruction each).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool ScalesNormal(Vector512<float> kd) =>
        !Avx512F.IsSupported && ScalesNormal(kd.GetLower()) && ScalesNormal(kd.GetUpper());

    /// <inheritdoc cref="ScalesNormal(Vector512{float})"/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool ScalesNormal(Vector256<float> kd) =>
        Vector256.GreaterThanOrEqualAll(kd, Vector256.Create(12582912f - 126f));

    /// <summary>2^k from kd = k + 1.5·2²³, for k ≥ −126 (<see cref="ScalesNormal(Vector512{float})"/>): the bits (k + 127)·2²³.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Pow(Vector512<float> kd) =>
        Vector512.ShiftLeft(kd.AsInt32() - Vector512.Create(MagicFBits - 127), 23).AsSingle();

    /// <inheritdoc cref="Pow(Vector512{float})"/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Pow(Vector256<float> kd) =>
        Vector256.ShiftLeft(kd.AsInt32() - Vector256.Create(MagicFBits - 127), 23).AsSingle();

    // vfixupimm tables (one nibble per class of the second operand: QNaN, SNaN, ±0, +1, −∞, +∞, negative, positive; 0 keeps
    // the computed lane, 1 gives the operand itself, 7 −0, 8 +0, 10 +1, 5 +∞): NaN → the input, −∞ → −0 (value) or +0
    // (derivative), +∞ → +∞ (value) or 1 (derivative), every finite input keeps its computed lane.
    private const int GeluValueTable = 0x00170011, GeluDerivativeTable = 0x00A80011;

    /// <summary>
    /// GELU's two results from Φ̂ (cdf) and φ̂ (pdf) with the scalar code's special values: value = x·Φ̂ and derivative =
    /// fma(x, φ̂, Φ̂) at every finite x; a NaN input gives itself in both; −∞ gives −0 and +0; +∞ gives +∞ and 1. On 512-bit
    /// vectors the special lanes are set by vfixupimmpd from the class of x (two instructions); the AVX2 sequence clamps
    /// x to ±MaxValue (Φ̂ or φ̂ is 0 there: −MaxValue·0 = −0, fma(±MaxValue, 0, Φ̂) = Φ̂) and selects x on NaN lanes.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void GeluOutputs(Vector512<double> x, Vector512<double> cdf, Vector512<double> pdf, out Vector512<double> value, out Vector512<double> derivative)
    {
        if (Avx512F.IsSupported)
        {
            value = Avx512F.Fixup(x * cdf, x, Vector512.Create((long)GeluValueTable), 0);
            derivative = Avx512F.Fixup(Vector512.FusedMultiplyAdd(x, pdf, cdf), x, Vector512.Create((long)GeluDerivativeTable), 0);
            return;
        }
        GeluOutputs(x.GetLower(), cdf.GetLower(), pdf.GetLower(), out var v0, out var d0);
        GeluOutputs(x.GetUpper(), cdf.GetUpper(), pdf.GetUpper(), out var v1, out var d1);
        value = Vector512.Create(v0, v1); derivative = Vector512.Create(d0, d1);
    }

    /// <inheritdoc cref="GeluOutputs(Vector512{double}, Vector512{double}, Vector512{double}, out Vector512{double}, out Vector512{double})"/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void GeluOutputs(Vector256<double> x, Vector256<double> cdf, Vector256<double> pdf, out Vector256<double> value, out Vector256<double> derivative)
    {
        var xlo = Vector256.MaxNative(x, Vector256.Create(double.MinValue));
        var v = xlo * cdf;
        var dv = Vector256.FusedMultiplyAdd(Vector256.MinNative(xlo, Vector256.Create(double.MaxValue)), pdf, cdf);
        var nan = ~Vector256.Equals(x, x);
        value = Vector256.ConditionalSelect(nan, x, v);
        derivative = Vector256.ConditionalSelect(nan, x, dv);
    }

    /// <inheritdoc cref="GeluOutputs(Vector512{double}, Vector512{double}, Vector512{double}, out Vector512{double}, out Vector512{double})"/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void GeluOutputs(Vector512<float> x, Vector512<float> cdf, Vector512<float> pdf, out Vector512<float> value, out Vector512<float> derivative)
    {
        if (Avx512F.IsSupported)
        {
            value = Avx512F.Fixup(x * cdf, x, Vector512.Create(GeluValueTable), 0);
            derivative = Avx512F.Fixup(Vector512.FusedMultiplyAdd(x, pdf, cdf), x, Vector512.Create(GeluDerivativeTable), 0);
            return;
        }
        GeluOutputs(x.GetLower(), cdf.GetLower(), pdf.GetLower(), out var v0, out var d0);
        GeluOutputs(x.GetUpper(), cdf.GetUpper(), pdf.GetUpper(), out var v1, out var d1);
        value = Vector512.Create(v0, v1); derivative = Vector512.Create(d0, d1);
    }

    /// <inheritdoc cref="GeluOutputs(Vector512{double}, Vector512{double}, Vector512{double}, out Vector512{double}, out Vector512{double})"/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void GeluOutputs(Vector256<float> x, Vector256<float> cdf, Vector256<float> pdf, out Vector256<float> value, out Vector256<float> derivative)
    {
        var xlo = Vector256.MaxNative(x, Vector256.Create(float.MinValue));
        var v = xlo * cdf;
        var dv = Vector256.FusedMultiplyAdd(Vector256.MinNative(xlo, Vector256.Create(float.MaxValue)), pdf, cdf);
        var nan = ~Vector256.Equals(x, x);
        value = Vector256.ConditionalSelect(nan, x, v);
        derivative = Vector256.ConditionalSelect(nan, x, dv);
    }
}
