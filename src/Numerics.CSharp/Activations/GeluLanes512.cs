using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace ResOdeProofs.Numerics;

/// <summary>
/// The accurate GELU of <see cref="GeluLanes"/> on 512-bit vectors, one source for every width (the build writes the twin
/// on the narrower vectors by renaming the vector type):
/// every lane performs the scalar code's operations on its entry (<see cref="SpecialFunctions.NormalCdf"/>,
/// <see cref="SpecialFunctions.NormalCdfAndPdf"/> and GELU's value and derivative: the same products, sums and divisions
/// in the same order, no fused multiply–add where the scalar code has none), the scalar code's branches become selections,
/// each lane keeping the branch its entry takes, and a branch is formed only when some lane takes it. The exp of
/// exp(−u²/2)'s split is <see cref="SpecialFunctions.ExpNearZero"/>'s operations in lanes; only the table entry
/// exp(−(k/16)²/2) is read lane by lane. Each method does the whole vectors of its span and returns how many entries that
/// is; the caller does the rest with the scalar code.
/// </summary>
internal static class GeluLanes512
{
    /// <summary>2⁵²: a non-negative integer below it plus 2⁵² is exact, the integer in the low bits of the significand.</summary>
    private const double TwoTo52 = 4503599627370496.0;

    /// <summary>The mask of every lane (ExtractMostSignificantBits of an all-true vector).</summary>
    private static uint AllLanes => (1u << Vector512<double>.Count) - 1;

    /// <summary>value[i] = u[i]·Φ(u[i]) on the whole vectors of <paramref name="u"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static int Values(ReadOnlySpan<double> u, Span<double> value)
    {
        int w = Vector512<double>.Count, i = 0;
        ref double u0 = ref MemoryMarshal.GetReference(u);
        ref double v0 = ref MemoryMarshal.GetReference(value);
        Span<long> index = stackalloc long[Vector512<double>.Count];
        Span<double> entry = stackalloc double[Vector512<double>.Count];
        for (; i + w <= u.Length; i += w)
            Vector512.StoreUnsafe(Value(Vector512.LoadUnsafe(ref u0, (nuint)i), index, entry), ref v0, (nuint)i);
        return i;
    }

    /// <summary>derivative[i] = Φ(u[i]) + u[i]·φ(u[i]) on the whole vectors of <paramref name="u"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static int Derivatives(ReadOnlySpan<double> u, Span<double> derivative)
    {
        int w = Vector512<double>.Count, i = 0;
        ref double u0 = ref MemoryMarshal.GetReference(u);
        ref double d0 = ref MemoryMarshal.GetReference(derivative);
        Span<long> index = stackalloc long[Vector512<double>.Count];
        Span<double> entry = stackalloc double[Vector512<double>.Count];
        for (; i + w <= u.Length; i += w)
        {
            Both(Vector512.LoadUnsafe(ref u0, (nuint)i), index, entry, out _, out var dv);
            Vector512.StoreUnsafe(dv, ref d0, (nuint)i);
        }
        return i;
    }

    /// <summary>σ(u[i]) and σ'(u[i]) on the whole vectors of <paramref name="u"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static int ValuesAndDerivatives(ReadOnlySpan<double> u, Span<double> value, Span<double> derivative)
    {
        int w = Vector512<double>.Count, i = 0;
        ref double u0 = ref MemoryMarshal.GetReference(u);
        ref double v0 = ref MemoryMarshal.GetReference(value);
        ref double d0 = ref MemoryMarshal.GetReference(derivative);
        Span<long> index = stackalloc long[Vector512<double>.Count];
        Span<double> entry = stackalloc double[Vector512<double>.Count];
        for (; i + w <= u.Length; i += w)
        {
            Both(Vector512.LoadUnsafe(ref u0, (nuint)i), index, entry, out var v, out var dv);
            Vector512.StoreUnsafe(v, ref v0, (nuint)i);
            Vector512.StoreUnsafe(dv, ref d0, (nuint)i);
        }
        return i;
    }

    /// <summary>
    /// σ(u) = u·Φ(u) and σ'(u) = Φ(u) + u·φ(u) as the scalar code forms them: φ = exp(−u²/2)/√(2π) in every lane that is a
    /// number, Φ as <see cref="Value"/> forms it; the value −0 where Φ is 0, else u·Φ; the derivative Φ where φ is 0, else
    /// Φ + u·φ (a product and a sum, not fused). A NaN lane gives u·u and u (the scalar code's NaN operations keep the
    /// first operand's payload).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Both(Vector512<double> u, Span<long> index, Span<double> entry, out Vector512<double> value, out Vector512<double> derivative)
    {
        var a = Vector512.Abs(u);
        var number = Vector512.Equals(u, u);
        // exp(−a²/2) in every lane that is a number: φ needs it everywhere, Φ's tail lanes read the same values
        var e = ExpNegHalfSquare(a, number, index, entry);
        var pdf = Vector512.Create(SpecialFunctions.InvSqrt2Pi) * e;
        var centre = Centre(a, out uint centreLanes);
        var cdf = Cdf(u, a, number, centre, centreLanes, e);
        value = Vector512.ConditionalSelect(Vector512.Equals(cdf, Vector512<double>.Zero), Vector512.Create(-0.0), u * cdf);
        var dv = Vector512.ConditionalSelect(Vector512.Equals(pdf, Vector512<double>.Zero), cdf, cdf + u * pdf);
        derivative = Vector512.ConditionalSelect(number, dv, u);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<double> Value(Vector512<double> u, Span<long> index, Span<double> entry)
    {
        var a = Vector512.Abs(u);
        var number = Vector512.Equals(u, u);
        var centre = Centre(a, out uint centreLanes);
        // exp(−a²/2) only where a lane takes the tail (Φ at the centre does not need it)
        var e = centreLanes != AllLanes ? ExpNegHalfSquare(a, ~centre & number, index, entry) : Vector512<double>.Zero;
        var cdf = Cdf(u, a, number, centre, centreLanes, e);
        return Vector512.ConditionalSelect(Vector512.Equals(cdf, Vector512<double>.Zero), Vector512.Create(-0.0), u * cdf);
    }

    /// <summary>The lanes where Φ takes the centre's rational (|u|/√2 ≤ 0.46875), and their bits.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<double> Centre(Vector512<double> a, out uint lanes)
    {
        var centre = Vector512.LessThanOrEqual(a * Vector512.Create(SpecialFunctions.InvSqrt2), Vector512.Create(SpecialFunctions.Threshold));
        lanes = (uint)centre.ExtractMostSignificantBits();
        return centre;
    }

    /// <summary>
    /// Φ(u) as <see cref="SpecialFunctions.NormalCdf"/> forms it, given e = exp(−a²/2) in the tail's lanes: at the centre
    /// 0.5 + 0.5·(x·erf(x)/x), x = u/√2; in the tail Q = 0 where e = 0, else 0.5·e·R(a/√2), and Φ = Q below 0, (0.5 − Q) + 0.5
    /// above; a NaN lane gives u.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<double> Cdf(Vector512<double> u, Vector512<double> a, Vector512<double> number, Vector512<double> centre, uint centreLanes, Vector512<double> e)
    {
        var half = Vector512.Create(0.5);
        var cdf = Vector512<double>.Zero;
        if (centreLanes != 0)
        {
            var x = u * Vector512.Create(SpecialFunctions.InvSqrt2);
            cdf = half + half * (x * ErfOverX(x));
        }
        if (centreLanes != AllLanes)
        {
            var tail = half * e * ErfcScaled(a * Vector512.Create(SpecialFunctions.InvSqrt2));
            tail = Vector512.ConditionalSelect(Vector512.Equals(e, Vector512<double>.Zero), Vector512<double>.Zero, tail);
            var tailCdf = Vector512.ConditionalSelect(Vector512.LessThan(u, Vector512<double>.Zero), tail, (half - tail) + half);
            tailCdf = Vector512.ConditionalSelect(number, tailCdf, u);
            cdf = Vector512.ConditionalSelect(centre, cdf, tailCdf);
        }
        return cdf;
    }

    /// <summary>
    /// exp(−a²/2) of <see cref="SpecialFunctions.ExpNegHalfSquare"/> (a = |u| ≥ 0) in the lanes of <paramref name="needed"/>
    /// (others: 1, unused): a = a₀ + δ with a₀ = trunc(16a)/16, exp(−a²/2) = T[16a₀]·exp(−δ(a + a₀)/2), δ(a + a₀) formed without
    /// error (Fast2Sum and a fused multiply–add, as the scalar code forms it), the exp by <see cref="ExpNearZero"/>; the table
    /// entries read lane by lane through <paramref name="index"/> and <paramref name="entry"/>; 0 where exp(−a²/2)
    /// underflows (a ≥ 38.75).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<double> ExpNegHalfSquare(Vector512<double> a, Vector512<double> needed, Span<long> index, Span<double> entry)
    {
        var inTable = needed & Vector512.LessThan(a, Vector512.Create(SpecialFunctions.PdfZeroAt));
        // trunc(16a) = floor(16a) for a ≥ 0, an integer below 620: k·0.0625 of the scalar code, exactly
        var k16 = Vector512.Floor(a * Vector512.Create(16.0));
        var y0 = k16 * Vector512.Create(0.0625);
        var d = a - y0;
        var s = a + y0;
        var sErr = y0 - (s - a);
        var p = d * s;
        var pErr = Vector512.FusedMultiplyAdd(d, s, -p);
        var lo = pErr + d * sErr;
        var arg = Vector512.Create(-0.5) * p;
        // lanes outside the table read entry 0 and take exp(0): their results are replaced below. The index as an integer:
        // k16 (an integer below 620, or 0) plus 2⁵² is exact and holds k16 in the low bits of its significand, so the two
        // bit patterns differ by k16 (ConvertToInt64's value; on AVX2 alone that conversion is done lane by lane through
        // memory, a few dozen instructions a vector, where this is one sum and one integer difference)
        var magic = Vector512.Create(TwoTo52);
        ((Vector512.ConditionalSelect(inTable, k16, Vector512<double>.Zero) + magic).AsInt64() - magic.AsInt64()).CopyTo(index);
        var table = SpecialFunctions.ExpNegHalfSqTable;
        for (int j = 0; j < entry.Length; j++) entry[j] = table[index[j]];
        var e = ExpNearZero(Vector512.ConditionalSelect(inTable, arg, Vector512<double>.Zero));
        var split = Vector512.Create<double>(entry) * (e - e * (Vector512.Create(0.5) * lo));
        var zeroOrOne = Vector512.ConditionalSelect(needed, Vector512<double>.Zero, Vector512.Create(1.0));
        return Vector512.ConditionalSelect(inTable, split, zeroOrOne);
    }

    /// <summary><see cref="SpecialFunctions.ExpNearZero"/> in lanes: the same operations in the same order.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector512<double> ExpNearZero(Vector512<double> t)
    {
        var magic = Vector512.Create(ExpPolynomial.Magic);
        var kd = Vector512.FusedMultiplyAdd(t, Vector512.Create(ExpPolynomial.Log2E), magic);
        var k = kd - magic;
        var r = Vector512.FusedMultiplyAdd(k, Vector512.Create(-ExpPolynomial.Ln2Hi), t);
        r = Vector512.FusedMultiplyAdd(k, Vector512.Create(-ExpPolynomial.Ln2Lo), r);
        var r2 = r * r;
        var r4 = r2 * r2;
        var r8 = r4 * r4;
        var q0 = Vector512.FusedMultiplyAdd(r, Vector512.Create(ExpPolynomial.E1), Vector512.Create(ExpPolynomial.E0));
        var q1 = Vector512.FusedMultiplyAdd(r, Vector512.Create(ExpPolynomial.E3), Vector512.Create(ExpPolynomial.E2));
        var q2 = Vector512.FusedMultiplyAdd(r, Vector512.Create(ExpPolynomial.E5), Vector512.Create(ExpPolynomial.E4));
        var q3 = Vector512.FusedMultiplyAdd(r, Vector512.Create(ExpPolynomial.E7), Vector512.Create(ExpPolynomial.E6));
        var q4 = Vector512.FusedMultiplyAdd(r, Vector512.Create(ExpPolynomial.E9), Vector512.Create(ExpPolynomial.E8));
        var s0 = Vector512.FusedMultiplyAdd(q1, r2, q0);
        var s1 = Vector512.FusedMultiplyAdd(q3, r2, q2);
        var s2 = Vector512.FusedMultiplyAdd(Vector512.Create(ExpPolynomial.E10), r2, q4);
        var p = Vector512.FusedMultiplyAdd(s2, r8, Vector512.FusedMultiplyAdd(s1, r4, s0));
        var x = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(1.0));
        // x·2^k (−5 ≤ k ≤ 0: exact), one vscalefpd where the width has it
        return WidthOps.ScaleExact(x, kd, k);
    }

    /// <summary>erf(x)/x of <see cref="SpecialFunctions"/>' ErfOverX, in lanes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<double> ErfOverX(Vector512<double> x)
    {
        var z = x * x;
        var num = Vector512.Create(SpecialFunctions.A4) * z;
        var den = z;
        num = (num + Vector512.Create(SpecialFunctions.A0)) * z; den = (den + Vector512.Create(SpecialFunctions.B0)) * z;
        num = (num + Vector512.Create(SpecialFunctions.A1)) * z; den = (den + Vector512.Create(SpecialFunctions.B1)) * z;
        num = (num + Vector512.Create(SpecialFunctions.A2)) * z; den = (den + Vector512.Create(SpecialFunctions.B2)) * z;
        return (num + Vector512.Create(SpecialFunctions.A3)) / (den + Vector512.Create(SpecialFunctions.B3));
    }

    /// <summary>R(y) = exp(y²)·erfc(y) of <see cref="SpecialFunctions.ErfcScaled"/>: each of its two branches in lanes when some
    /// lane takes it, each lane keeping its own.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<double> ErfcScaled(Vector512<double> y)
    {
        var nearMask = Vector512.LessThanOrEqual(y, Vector512.Create(4.0));
        uint nearLanes = (uint)nearMask.ExtractMostSignificantBits();
        var near = nearLanes != 0 ? Near(y) : Vector512<double>.Zero;
        var far = nearLanes != AllLanes ? Far(y) : Vector512<double>.Zero;
        return Vector512.ConditionalSelect(nearMask, near, far);
    }

    /// <summary>Cody's approximation of R on (0.46875, 4].</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<double> Near(Vector512<double> y)
    {
        var num = Vector512.Create(SpecialFunctions.C8) * y;
        var den = y;
        num = (num + Vector512.Create(SpecialFunctions.C0)) * y; den = (den + Vector512.Create(SpecialFunctions.D0)) * y;
        num = (num + Vector512.Create(SpecialFunctions.C1)) * y; den = (den + Vector512.Create(SpecialFunctions.D1)) * y;
        num = (num + Vector512.Create(SpecialFunctions.C2)) * y; den = (den + Vector512.Create(SpecialFunctions.D2)) * y;
        num = (num + Vector512.Create(SpecialFunctions.C3)) * y; den = (den + Vector512.Create(SpecialFunctions.D3)) * y;
        num = (num + Vector512.Create(SpecialFunctions.C4)) * y; den = (den + Vector512.Create(SpecialFunctions.D4)) * y;
        num = (num + Vector512.Create(SpecialFunctions.C5)) * y; den = (den + Vector512.Create(SpecialFunctions.D5)) * y;
        num = (num + Vector512.Create(SpecialFunctions.C6)) * y; den = (den + Vector512.Create(SpecialFunctions.D6)) * y;
        return (num + Vector512.Create(SpecialFunctions.C7)) / (den + Vector512.Create(SpecialFunctions.D7));
    }

    /// <summary>Cody's approximation of R above 4, in z = 1/y².</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<double> Far(Vector512<double> y)
    {
        var z = Vector512.Create(1.0) / (y * y);
        var pn = Vector512.Create(SpecialFunctions.P5) * z;
        var qd = z;
        pn = (pn + Vector512.Create(SpecialFunctions.P0)) * z; qd = (qd + Vector512.Create(SpecialFunctions.Q0)) * z;
        pn = (pn + Vector512.Create(SpecialFunctions.P1)) * z; qd = (qd + Vector512.Create(SpecialFunctions.Q1)) * z;
        pn = (pn + Vector512.Create(SpecialFunctions.P2)) * z; qd = (qd + Vector512.Create(SpecialFunctions.Q2)) * z;
        pn = (pn + Vector512.Create(SpecialFunctions.P3)) * z; qd = (qd + Vector512.Create(SpecialFunctions.Q3)) * z;
        var r = z * (pn + Vector512.Create(SpecialFunctions.P4)) / (qd + Vector512.Create(SpecialFunctions.Q4));
        return (Vector512.Create(SpecialFunctions.InvSqrtPi) - r) / y;
    }
}
