using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace ResOdeProofs.Numerics;

/// <summary>
/// GELU's value u·Φ(u) of the accurate scalar code (<see cref="SpecialFunctions.NormalCdf"/>), four entries at a time, bit
/// for bit: every lane performs the scalar code's operations on its entry (the same products, sums and divisions in the
/// same order, no fused multiply-add where the scalar code has none), and the branches of the scalar code become
/// selections, each lane keeping the branch its entry takes. Cody's two rational functions of the tail and the one of the
/// centre are evaluated in lanes, and so is the error-free split of exp(−u²/2) of the tail; its table entry and its exp are
/// each lane's scalar ones (Math.Exp, the same function the scalar code calls). The neural-ODE reference solves of B.bound
/// spend most of their time in σ; the lanes take the latency chains of the rational functions (eight multiply–add steps
/// and a division each) four at a time.
/// </summary>
internal static class GeluLanes
{
    /// <summary>value[i] = u[i]·Φ(u[i]), the bits of <see cref="Activations.Value"/> for GELU.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Values(ReadOnlySpan<double> u, Span<double> value)
    {
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            ref double u0 = ref MemoryMarshal.GetReference(u);
            ref double v0 = ref MemoryMarshal.GetReference(value);
            for (; i + 4 <= u.Length; i += 4)
                Vector256.StoreUnsafe(Four(Vector256.LoadUnsafe(ref u0, (nuint)i)), ref v0, (nuint)i);
        }
        for (; i < u.Length; i++) value[i] = Scalar(u[i]);
    }

    /// <summary>derivative[i] = Φ(u[i]) + u[i]·φ(u[i]), the bits of <see cref="Activations.Derivative"/> for GELU.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Derivatives(ReadOnlySpan<double> u, Span<double> derivative)
    {
        if (derivative.Length < u.Length) throw new ArgumentException("derivative is shorter than u");
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            ref double u0 = ref MemoryMarshal.GetReference(u);
            ref double d0 = ref MemoryMarshal.GetReference(derivative);
            for (; i + 4 <= u.Length; i += 4)
            {
                FourBoth(Vector256.LoadUnsafe(ref u0, (nuint)i), out _, out var dv);
                Vector256.StoreUnsafe(dv, ref d0, (nuint)i);
            }
        }
        for (; i < u.Length; i++) derivative[i] = Activations.Derivative(ActivationKind.Gelu, u[i]);
    }

    /// <summary>value[i] = σ(u[i]) and derivative[i] = σ'(u[i]) for GELU, the bits of <see cref="Activations.Value"/> and
    /// <see cref="Activations.Derivative"/>; the entries after the last whole four are the caller's.</summary>
    /// <returns>How many leading entries were done.</returns>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static int ValuesAndDerivatives(ReadOnlySpan<double> u, Span<double> value, Span<double> derivative)
    {
        if (value.Length < u.Length || derivative.Length < u.Length) throw new ArgumentException("an output is shorter than u");
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            ref double u0 = ref MemoryMarshal.GetReference(u);
            ref double v0 = ref MemoryMarshal.GetReference(value);
            ref double d0 = ref MemoryMarshal.GetReference(derivative);
            for (; i + 4 <= u.Length; i += 4)
            {
                FourBoth(Vector256.LoadUnsafe(ref u0, (nuint)i), out var v, out var dv);
                Vector256.StoreUnsafe(v, ref v0, (nuint)i);
                Vector256.StoreUnsafe(dv, ref d0, (nuint)i);
            }
        }
        return i;
    }

    /// <summary>
    /// σ(u) = u·Φ(u) and σ'(u) = Φ(u) + u·φ(u) as the scalar code forms them (<see cref="SpecialFunctions.NormalCdfAndPdf"/>
    /// and GELU's value and derivative): φ = exp(−u²/2)/√(2π) in every lane that is a number, Φ as <see cref="Four"/> forms
    /// it; the value −0 where Φ is 0, else u·Φ; the derivative Φ where φ is 0, else Φ + u·φ (a product and a sum, not
    /// fused). A NaN lane gives u·u and u (the scalar code's NaN operations keep the first operand's payload).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void FourBoth(Vector256<double> u, out Vector256<double> value, out Vector256<double> derivative)
    {
        var a = Vector256.Abs(u);
        var number = Vector256.Equals(u, u);
        // exp(−a²/2) in every lane that is a number: φ needs it everywhere, Φ's tail lanes read the same values
        var e = ExpNegHalfSquare(a, number);
        var pdf = Vector256.Create(SpecialFunctions.InvSqrt2Pi) * e;
        var centre = Centre(a, out uint centreLanes);
        var cdf = Cdf(u, a, number, centre, centreLanes, e);
        value = Vector256.ConditionalSelect(Vector256.Equals(cdf, Vector256<double>.Zero), Vector256.Create(-0.0), u * cdf);
        var dv = Vector256.ConditionalSelect(Vector256.Equals(pdf, Vector256<double>.Zero), cdf, cdf + u * pdf);
        derivative = Vector256.ConditionalSelect(number, dv, u);
    }

    /// <summary>The scalar code, written as <see cref="SpecialFunctions.NormalCdf"/> and GELU's value are.</summary>
    private static double Scalar(double u)
    {
        double cdf = SpecialFunctions.NormalCdf(u);
        return cdf == 0.0 ? -0.0 : u * cdf;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<double> Four(Vector256<double> u)
    {
        var a = Vector256.Abs(u);
        var number = Vector256.Equals(u, u);
        var centre = Centre(a, out uint centreLanes);
        // exp(−a²/2) only where a lane takes the tail (Φ at the centre does not need it)
        var e = centreLanes != 0b1111 ? ExpNegHalfSquare(a, ~centre & number) : Vector256<double>.Zero;
        var cdf = Cdf(u, a, number, centre, centreLanes, e);
        return Vector256.ConditionalSelect(Vector256.Equals(cdf, Vector256<double>.Zero), Vector256.Create(-0.0), u * cdf);
    }

    /// <summary>The lanes where Φ takes the centre's rational (|u|/√2 ≤ 0.46875), and their bits.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<double> Centre(Vector256<double> a, out uint lanes)
    {
        var centre = Vector256.LessThanOrEqual(a * Vector256.Create(SpecialFunctions.InvSqrt2), Vector256.Create(SpecialFunctions.Threshold));
        lanes = centre.ExtractMostSignificantBits();
        return centre;
    }

    /// <summary>
    /// Φ(u) as <see cref="SpecialFunctions.NormalCdf"/> forms it, given e = exp(−a²/2) in the tail's lanes: at the centre
    /// 0.5 + 0.5·(x·erf(x)/x), x = u/√2; in the tail Q = 0 where e = 0, else 0.5·e·R(a/√2), and Φ = Q below 0, (0.5 − Q) + 0.5
    /// above; a NaN lane gives u. Each branch is formed only when a lane takes it (the others are overwritten by the selections).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<double> Cdf(Vector256<double> u, Vector256<double> a, Vector256<double> number, Vector256<double> centre, uint centreLanes, Vector256<double> e)
    {
        var half = Vector256.Create(0.5);
        var cdf = Vector256<double>.Zero;
        if (centreLanes != 0)
        {
            var x = u * Vector256.Create(SpecialFunctions.InvSqrt2);
            cdf = half + half * (x * ErfOverX(x));
        }
        if (centreLanes != 0b1111)
        {
            var tail = half * e * ErfcScaled(a * Vector256.Create(SpecialFunctions.InvSqrt2));
            tail = Vector256.ConditionalSelect(Vector256.Equals(e, Vector256<double>.Zero), Vector256<double>.Zero, tail);
            var tailCdf = Vector256.ConditionalSelect(Vector256.LessThan(u, Vector256<double>.Zero), tail, (half - tail) + half);
            tailCdf = Vector256.ConditionalSelect(number, tailCdf, u);
            cdf = Vector256.ConditionalSelect(centre, cdf, tailCdf);
        }
        return cdf;
    }

    /// <summary>
    /// exp(−a²/2) of <see cref="SpecialFunctions.ExpNegHalfSquare"/> (a = |u| ≥ 0) in the lanes of <paramref name="needed"/>
    /// (others: 1, unused): a = a₀ + δ with a₀ = trunc(16a)/16, exp(−a²/2) = T[16a₀]·exp(−δ(a + a₀)/2), δ(a + a₀) formed without
    /// error (Fast2Sum and a fused multiply–add, as the scalar code forms it); the table entry and exp are each lane's scalar
    /// ones; 0 where exp(−a²/2) underflows (a ≥ 38.75).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<double> ExpNegHalfSquare(Vector256<double> a, Vector256<double> needed)
    {
        var inTable = needed & Vector256.LessThan(a, Vector256.Create(SpecialFunctions.PdfZeroAt));
        // trunc(16a) = floor(16a) for a ≥ 0, an integer below 620: k·0.0625 of the scalar code, exactly
        var k16 = Vector256.Floor(a * Vector256.Create(16.0));
        var y0 = k16 * Vector256.Create(0.0625);
        var d = a - y0;
        var s = a + y0;
        var sErr = y0 - (s - a);
        var p = d * s;
        var pErr = Vector256.FusedMultiplyAdd(d, s, -p);
        var lo = pErr + d * sErr;
        var arg = Vector256.Create(-0.5) * p;
        var table = SpecialFunctions.ExpNegHalfSqTable;
        uint lanes = inTable.ExtractMostSignificantBits();
        double t0 = 0.0, t1 = 0.0, t2 = 0.0, t3 = 0.0, e0 = 1.0, e1 = 1.0, e2 = 1.0, e3 = 1.0;
        if ((lanes & 1) != 0) { t0 = table[(int)k16.GetElement(0)]; e0 = Math.Exp(arg.GetElement(0)); }
        if ((lanes & 2) != 0) { t1 = table[(int)k16.GetElement(1)]; e1 = Math.Exp(arg.GetElement(1)); }
        if ((lanes & 4) != 0) { t2 = table[(int)k16.GetElement(2)]; e2 = Math.Exp(arg.GetElement(2)); }
        if ((lanes & 8) != 0) { t3 = table[(int)k16.GetElement(3)]; e3 = Math.Exp(arg.GetElement(3)); }
        var e = Vector256.Create(e0, e1, e2, e3);
        var split = Vector256.Create(t0, t1, t2, t3) * (e - e * (Vector256.Create(0.5) * lo));
        var zeroOrOne = Vector256.ConditionalSelect(needed, Vector256<double>.Zero, Vector256.Create(1.0));
        return Vector256.ConditionalSelect(inTable, split, zeroOrOne);
    }

    /// <summary>erf(x)/x of <see cref="SpecialFunctions"/>' ErfOverX, in lanes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<double> ErfOverX(Vector256<double> x)
    {
        var z = x * x;
        var num = Vector256.Create(SpecialFunctions.A4) * z;
        var den = z;
        num = (num + Vector256.Create(SpecialFunctions.A0)) * z; den = (den + Vector256.Create(SpecialFunctions.B0)) * z;
        num = (num + Vector256.Create(SpecialFunctions.A1)) * z; den = (den + Vector256.Create(SpecialFunctions.B1)) * z;
        num = (num + Vector256.Create(SpecialFunctions.A2)) * z; den = (den + Vector256.Create(SpecialFunctions.B2)) * z;
        return (num + Vector256.Create(SpecialFunctions.A3)) / (den + Vector256.Create(SpecialFunctions.B3));
    }

    /// <summary>
    /// R(y) = exp(y²)·erfc(y) of <see cref="SpecialFunctions.ErfcScaled"/>: each of its two branches in lanes when some lane
    /// takes it, each lane keeping its own.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<double> ErfcScaled(Vector256<double> y)
    {
        var nearMask = Vector256.LessThanOrEqual(y, Vector256.Create(4.0));
        uint nearLanes = nearMask.ExtractMostSignificantBits();
        var near = nearLanes != 0 ? Near(y) : Vector256<double>.Zero;
        var far = nearLanes != 0b1111 ? Far(y) : Vector256<double>.Zero;
        return Vector256.ConditionalSelect(nearMask, near, far);
    }

    /// <summary>Cody's approximation of R on (0.46875, 4].</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<double> Near(Vector256<double> y)
    {
        var num = Vector256.Create(SpecialFunctions.C8) * y;
        var den = y;
        num = (num + Vector256.Create(SpecialFunctions.C0)) * y; den = (den + Vector256.Create(SpecialFunctions.D0)) * y;
        num = (num + Vector256.Create(SpecialFunctions.C1)) * y; den = (den + Vector256.Create(SpecialFunctions.D1)) * y;
        num = (num + Vector256.Create(SpecialFunctions.C2)) * y; den = (den + Vector256.Create(SpecialFunctions.D2)) * y;
        num = (num + Vector256.Create(SpecialFunctions.C3)) * y; den = (den + Vector256.Create(SpecialFunctions.D3)) * y;
        num = (num + Vector256.Create(SpecialFunctions.C4)) * y; den = (den + Vector256.Create(SpecialFunctions.D4)) * y;
        num = (num + Vector256.Create(SpecialFunctions.C5)) * y; den = (den + Vector256.Create(SpecialFunctions.D5)) * y;
        num = (num + Vector256.Create(SpecialFunctions.C6)) * y; den = (den + Vector256.Create(SpecialFunctions.D6)) * y;
        return (num + Vector256.Create(SpecialFunctions.C7)) / (den + Vector256.Create(SpecialFunctions.D7));
    }

    /// <summary>Cody's approximation of R above 4, in z = 1/y².</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<double> Far(Vector256<double> y)
    {
        var z = Vector256.Create(1.0) / (y * y);
        var pn = Vector256.Create(SpecialFunctions.P5) * z;
        var qd = z;
        pn = (pn + Vector256.Create(SpecialFunctions.P0)) * z; qd = (qd + Vector256.Create(SpecialFunctions.Q0)) * z;
        pn = (pn + Vector256.Create(SpecialFunctions.P1)) * z; qd = (qd + Vector256.Create(SpecialFunctions.Q1)) * z;
        pn = (pn + Vector256.Create(SpecialFunctions.P2)) * z; qd = (qd + Vector256.Create(SpecialFunctions.Q2)) * z;
        pn = (pn + Vector256.Create(SpecialFunctions.P3)) * z; qd = (qd + Vector256.Create(SpecialFunctions.Q3)) * z;
        var r = z * (pn + Vector256.Create(SpecialFunctions.P4)) / (qd + Vector256.Create(SpecialFunctions.Q4));
        return (Vector256.Create(SpecialFunctions.InvSqrtPi) - r) / y;
    }
}
