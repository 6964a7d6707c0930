using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using static ResOdeProofs.Numerics.SpecialFunctions;
using static ResOdeProofs.Numerics.ExpPolynomial;

namespace ResOdeProofs.Numerics.Model;

/// <summary>
/// Vectorized σ and σ' on 512-bit vectors: GELU through a vector exp and one rational for the scaled complementary
/// error function (erfcx) on the whole range, in float64 and, with a float algorithm of its own, in float32; tanh and softplus; relu and identity. This file is the one source of these kernels at every width:
/// the build generates ActivationKernels256 from it by renaming the vector type (the target
/// GenerateVector256Kernels in the project file).
/// </summary>
internal static class ActivationKernels512
{
    // Clamps use MinNative/MaxNative (one vminpd/vmaxpd): Min/Max order NaN and ±0 as IEEE 754-2019 does, which
    // costs several instructions on AVX2 (vrangepd, where the hardware has it, does it in one). Every clamp here compares with a constant
    // of the same sign as the zeros it can meet, and NaN lanes are replaced by the input at the end, so the two give
    // the same bits.

    // The exp's reduction constants (Log2E, Ln2Hi, Ln2Lo, Magic) and its polynomial (E0 … E10) are ExpPolynomial's, which
    // the accurate scalar code's exp shares.

    /// <summary>
    /// exp(t) for t ≤ 0 (NaN lanes give unspecified values; the callers mask them): t = k·ln2 + r with
    /// |r| ≤ ln2/2 (Cody-Waite with a two-part ln2), exp(r) by its Taylor polynomial of degree 13
    /// (truncation below 1e-17 relative), and 2^k applied with one rounding (<see cref="WidthOps"/>) so that gradual underflow rounds once
    /// more at most. Relative error about 2 ulp down to the subnormal range.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector512<double> ExpNonPositive(Vector512<double> t)
    {
        var p = ExpReduced(t, out var r, out var kd, out var k);
        return WidthOps.Scale(Vector512.FusedMultiplyAdd(p, r, Vector512.Create(1.0)), kd, k);
    }

    /// <summary>
    /// The reduction and polynomial of <see cref="ExpNonPositive"/>: returns p with exp(r) = 1 + r·p, where
    /// t = k·ln2 + r, k returned as a double and as kd = k + 1.5·2⁵² (k in its low bits).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<double> ExpReduced(Vector512<double> t, out Vector512<double> r, out Vector512<double> kd, out Vector512<double> k)
    {
        t = Vector512.MaxNative(t, Vector512.Create(-746.0));
        var magic = Vector512.Create(Magic);
        kd = Vector512.FusedMultiplyAdd(t, Vector512.Create(Log2E), magic);
        k = kd - magic;
        r = Vector512.FusedMultiplyAdd(k, Vector512.Create(-Ln2Hi), t);
        r = Vector512.FusedMultiplyAdd(k, Vector512.Create(-Ln2Lo), r);
        // p = Σ_{k=0..12} r^k/(k+1)! by Estrin's scheme: pairs, then r², r⁴, r⁸ — a dependency chain of 4 FMAs
        // after r⁸ instead of Horner's 12, for 3 more operations. The terms after the first two are below
        // 0.06 of the first, so the rounding stays about one ulp of p as with Horner.
        var r2 = r * r;
        var r4 = r2 * r2;
        var r8 = r4 * r4;
        var q0 = Vector512.FusedMultiplyAdd(r, Vector512.Create(0.5), Vector512.Create(1.0));
        var q1 = Vector512.FusedMultiplyAdd(r, Vector512.Create(1.0 / 24.0), Vector512.Create(1.0 / 6.0));
        var q2 = Vector512.FusedMultiplyAdd(r, Vector512.Create(1.0 / 720.0), Vector512.Create(1.0 / 120.0));
        var q3 = Vector512.FusedMultiplyAdd(r, Vector512.Create(1.0 / 40320.0), Vector512.Create(1.0 / 5040.0));
        var q4 = Vector512.FusedMultiplyAdd(r, Vector512.Create(1.0 / 3628800.0), Vector512.Create(1.0 / 362880.0));
        var q5 = Vector512.FusedMultiplyAdd(r, Vector512.Create(1.0 / 479001600.0), Vector512.Create(1.0 / 39916800.0));
        var s0 = Vector512.FusedMultiplyAdd(q1, r2, q0);
        var s1 = Vector512.FusedMultiplyAdd(q3, r2, q2);
        var s2 = Vector512.FusedMultiplyAdd(q5, r2, q4);
        var t0 = Vector512.FusedMultiplyAdd(s1, r4, s0);
        var t1 = Vector512.FusedMultiplyAdd(Vector512.Create(1.0 / 6227020800.0), r4, s2);
        return Vector512.FusedMultiplyAdd(t1, r8, t0);
    }


    /// <summary>
    /// exp(t + tlo)/2 for t ∈ [−800, 0] and |tlo| ≤ 2^-44 (GELU's −x²/2 = t + tlo split exactly, |x| ≤ 40): the
    /// reduction of <see cref="ExpReduced"/> with tlo added to the reduced argument r (|r| stays within the
    /// polynomial's interval, which has a margin of 2^-20 relative), the
    /// degree-10 p above by Estrin's scheme (r², r⁴, r⁸, then a chain of 3 FMAs), and 2^(k − 1) applied with one
    /// rounding even when the result is subnormal (<see cref="WidthOps.ScaleHalf(Vector512{double}, Vector512{double}, Vector512{double})"/>:
    /// one vscalefpd on the widest vectors; on AVX2 2^max(k, −1021), exact since 1 + r·p ≥ 2^-1/2 stays normal, then the rest).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector512<double> ExpGelu(Vector512<double> t, Vector512<double> tlo)
    {
        var x = ExpGeluMantissa(t, tlo, out var kd, out var k);
        // x·2^(k − 1), rounded once (one vscalefpd on the widest vectors, else the two-factor sequence of AVX2)
        return WidthOps.ScaleHalf(x, kd, k);
    }

    /// <summary>
    /// <see cref="ExpGelu"/> before its scaling: x = 1 + r·p ∈ [2^-1/2, 2^1/2] with exp(t + tlo)/2 = x·2^(k − 1), k returned as
    /// a double and as kd = k + 1.5·2⁵².
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<double> ExpGeluMantissa(Vector512<double> t, Vector512<double> tlo, out Vector512<double> kd, out Vector512<double> k)
    {
        t = Vector512.MaxNative(t, Vector512.Create(-746.0));
        var magic = Vector512.Create(Magic);
        kd = Vector512.FusedMultiplyAdd(t, Vector512.Create(Log2E), magic);
        k = kd - magic;
        var r = Vector512.FusedMultiplyAdd(k, Vector512.Create(-Ln2Hi), t);
        r = Vector512.FusedMultiplyAdd(k, Vector512.Create(-Ln2Lo), r);
        r += tlo;
        var r2 = r * r;
        var r4 = r2 * r2;
        var r8 = r4 * r4;
        var q0 = Vector512.FusedMultiplyAdd(r, Vector512.Create(E1), Vector512.Create(E0));
        var q1 = Vector512.FusedMultiplyAdd(r, Vector512.Create(E3), Vector512.Create(E2));
        var q2 = Vector512.FusedMultiplyAdd(r, Vector512.Create(E5), Vector512.Create(E4));
        var q3 = Vector512.FusedMultiplyAdd(r, Vector512.Create(E7), Vector512.Create(E6));
        var q4 = Vector512.FusedMultiplyAdd(r, Vector512.Create(E9), Vector512.Create(E8));
        var s0 = Vector512.FusedMultiplyAdd(q1, r2, q0);
        var s1 = Vector512.FusedMultiplyAdd(q3, r2, q2);
        var s2 = Vector512.FusedMultiplyAdd(Vector512.Create(E10), r2, q4);
        var p = Vector512.FusedMultiplyAdd(s2, r8, Vector512.FusedMultiplyAdd(s1, r4, s0));
        return Vector512.FusedMultiplyAdd(p, r, Vector512.Create(1.0));
    }

    /// <summary>
    /// e = exp(t) and m = exp(t) − 1 for t ≤ 0 from one reduction. Where k = 0 (|t| ≲ ln2/2), m = r·p without
    /// cancellation; elsewhere e ≤ 2^-1/2 and m = e − 1 loses at most a factor e/(1 − e) ≤ 2.42 of e's error.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void ExpAndExpm1NonPositive(Vector512<double> t, out Vector512<double> e, out Vector512<double> m)
    {
        var p = ExpReduced(t, out var r, out var kd, out var k);
        e = WidthOps.Scale(Vector512.FusedMultiplyAdd(p, r, Vector512.Create(1.0)), kd, k);
        m = Vector512.ConditionalSelect(Vector512.Equals(k, Vector512<double>.Zero), p * r, e - Vector512.Create(1.0));
    }

    /// <summary>
    /// tanh and sech² lane by lane from m = expm1(−2|u|) and e = exp(−2|u|): tanh|u| = −m/(2 + m) and
    /// sech²u = 4e/(1 + e)² (the scalar code's formula for |u| ≥ ½; below, the scalar code calls PortableMath.Tanh).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Tanh(Vector512<double> x, out Vector512<double> value, out Vector512<double> derivative)
    {
        var a = Vector512.Abs(x);
        ExpAndExpm1NonPositive(Vector512.Create(-2.0) * a, out var e, out var m);
        var t = -m / (Vector512.Create(2.0) + m);
        var onePlus = Vector512.Create(1.0) + e;
        var sech2 = Vector512.Create(4.0) * e / (onePlus * onePlus);
        var nan = ~Vector512.Equals(x, x);
        value = Vector512.ConditionalSelect(nan, x, Vector512.CopySign(t, x));
        derivative = Vector512.ConditionalSelect(nan, x, sech2);
    }

    /// <summary>
    /// softplus(u) = max(u, 0) + log1p(e) and softplus'(u) = 1/(1 + e) (u ≥ 0) or e/(1 + e) (u &lt; 0) lane by
    /// lane, e = exp(−|u|) ∈ (0, 1]. log1p(e): w = 1 + e rounded and c = e − (w − 1) its exact remainder
    /// (w ≥ 1 ≥ e), log w = j·ln2 + log f with f = w/2^j ∈ [2^-1/2, 2^1/2), log f = 2·atanh(s),
    /// s = (f − 1)/(f + 1), |s| ≤ 0.1716, by its series to s^19 (truncation ≤ 0.0295^10/21 &lt; 2^-55 relative),
    /// then log1p(e) = log w + c/w.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Softplus(Vector512<double> x, out Vector512<double> value, out Vector512<double> derivative)
    {
        var one = Vector512.Create(1.0);
        var zero = Vector512<double>.Zero;
        var e = ExpNonPositive(-Vector512.Abs(x));
        var w = one + e;
        var c = e - (w - one);
        var big = Vector512.GreaterThanOrEqual(w, Vector512.Create(1.4142135623730951));
        var f = Vector512.ConditionalSelect(big, w * Vector512.Create(0.5), w);
        var s = (f - one) / (f + one);
        var z = s * s;
        var p = Vector512.Create(1.0 / 19.0);
        p = Vector512.FusedMultiplyAdd(p, z, Vector512.Create(1.0 / 17.0));
        p = Vector512.FusedMultiplyAdd(p, z, Vector512.Create(1.0 / 15.0));
        p = Vector512.FusedMultiplyAdd(p, z, Vector512.Create(1.0 / 13.0));
        p = Vector512.FusedMultiplyAdd(p, z, Vector512.Create(1.0 / 11.0));
        p = Vector512.FusedMultiplyAdd(p, z, Vector512.Create(1.0 / 9.0));
        p = Vector512.FusedMultiplyAdd(p, z, Vector512.Create(1.0 / 7.0));
        p = Vector512.FusedMultiplyAdd(p, z, Vector512.Create(1.0 / 5.0));
        p = Vector512.FusedMultiplyAdd(p, z, Vector512.Create(1.0 / 3.0));
        var twoS = s + s;
        var logf = Vector512.FusedMultiplyAdd(twoS * z, p, twoS);
        var logw = Vector512.ConditionalSelect(big, (logf + Vector512.Create(Ln2Lo)) + Vector512.Create(Ln2Hi), logf);
        var l1p = logw + c / w;
        var v = Vector512.ConditionalSelect(Vector512.GreaterThan(x, zero), x, zero) + l1p;
        var dv = Vector512.ConditionalSelect(Vector512.GreaterThanOrEqual(x, zero), one, e) / w;
        var nan = ~Vector512.Equals(x, x);
        value = Vector512.ConditionalSelect(nan, x, v);
        derivative = Vector512.ConditionalSelect(nan, x, dv);
    }

    // Φ(−t) = ½·exp(−t²/2)·F(t) for t ≥ 0, F(t) = erfcx(t/√2) = exp(t²/2)·erfc(t/√2), by one rational P/Q of degree 10
    // over degree 11 in t on [0, 40] (exp(−t²/2)/2 is 0 in double beyond 38.6): fitted for the least maximum relative
    // error (linearised least squares, reweighted, in 50-digit arithmetic), Q's coefficients rounded to double, then P's
    // one at a time from the top with the rest refitted. Every coefficient is positive, so Horner's scheme on t ≥ 0 has
    // no cancellation. Proven within 0.401·2^-53 of F relative on [0, 40] (docs/theorems/GeluKernel.md, step 2).
    internal const double GP0 = 1.0, GP1 = 1.657176743633947, GP2 = 1.3612897803347155, GP3 = 0.7162888036896806, GP4 = 0.26487658002558506, GP5 = 0.07160235324152121,
        GP6 = 0.01431075451944489, GP7 = 0.002090780730809244, GP8 = 0.00021451998658886536, GP9 = 1.4057604491574922e-05, GP10 = 4.523590201423445e-07;
    internal const double GQ0 = 1.0, GQ1 = 2.4550613044368124, GQ2 = 2.8201452909693834, GQ3 = 2.004870058624391, GQ4 = 0.9824106376105386, GQ5 = 0.34937737401229735,
        GQ6 = 0.09232540972065922, GQ7 = 0.01820359798234415, GQ8 = 0.0026380236425875775, GQ9 = 0.00026942787988070853, GQ10 = 1.761859444610806e-05, GQ11 = 5.669479550864715e-07;

    /// <summary>
    /// gelu(u) = u·Φ(u) and gelu'(u) = Φ(u) + u·φ(u) lane by lane, with the scalar code's special values. With
    /// t = min(|u|, 40), eh = exp(−t²/2)/2 (<see cref="ExpGelu"/>, t² = hi + lo split exactly by an FMA) and the rational
    /// F = P/Q above, the tail T = eh·F is Φ(−|u|); Φ(u) = T for u &lt; 0 and 1 − T otherwise (T ≤ ½: no cancellation),
    /// gelu = u·Φ and gelu' = Φ + u·(2eh/√(2π)) (one FMA). One rational, one division per lane and no branch: Cody's
    /// three ranges (two rationals in every lane and the third under a test) are gone. Error bound proven in
    /// docs/theorems/GeluKernel.md; tested in GeluKernelBoundTests.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Gelu(Vector512<double> x, out Vector512<double> value, out Vector512<double> derivative)
    {
        var one = Vector512.Create(1.0);
        var t = Vector512.MinNative(Vector512.Abs(x), Vector512.Create(40.0));   // exp(−t²/2) = 0 beyond; keeps t² finite
        var hi = t * t;
        var lo = Vector512.FusedMultiplyAdd(t, t, -hi);
        // eh = exp(−(hi + lo)/2)/2: −hi/2 exact (a power-of-two scaling), lo/2 (|lo/2| ≤ 2^-44 for t ≤ 40) joins the
        // reduced argument, the ½ the scaling.
        var mhalf = Vector512.Create(-0.5);
        var xe = ExpGeluMantissa(mhalf * hi, mhalf * lo, out var kd, out var k);
        // every lane's 2^(k − 1) normal (then every u is finite, |u| < 37.6): eh is one product and the outputs need no
        // special-value step; never on the widest vectors, whose one-instruction steps cost what the test would (WidthOps)
        bool normal = WidthOps.HalfScalesNormal(kd);
        var eh = normal ? xe * WidthOps.HalfPow(kd) : WidthOps.ScaleHalf(xe, kd, k);
        // F(t) = P(t)/Q(t), both by Horner with fused multiply-adds (positive coefficients, t ≥ 0), interleaved.
        var num = Vector512.FusedMultiplyAdd(Vector512.Create(GP10), t, Vector512.Create(GP9));
        var den = Vector512.FusedMultiplyAdd(Vector512.Create(GQ11), t, Vector512.Create(GQ10));
        num = Vector512.FusedMultiplyAdd(num, t, Vector512.Create(GP8)); den = Vector512.FusedMultiplyAdd(den, t, Vector512.Create(GQ9));
        num = Vector512.FusedMultiplyAdd(num, t, Vector512.Create(GP7)); den = Vector512.FusedMultiplyAdd(den, t, Vector512.Create(GQ8));
        num = Vector512.FusedMultiplyAdd(num, t, Vector512.Create(GP6)); den = Vector512.FusedMultiplyAdd(den, t, Vector512.Create(GQ7));
        num = Vector512.FusedMultiplyAdd(num, t, Vector512.Create(GP5)); den = Vector512.FusedMultiplyAdd(den, t, Vector512.Create(GQ6));
        num = Vector512.FusedMultiplyAdd(num, t, Vector512.Create(GP4)); den = Vector512.FusedMultiplyAdd(den, t, Vector512.Create(GQ5));
        num = Vector512.FusedMultiplyAdd(num, t, Vector512.Create(GP3)); den = Vector512.FusedMultiplyAdd(den, t, Vector512.Create(GQ4));
        num = Vector512.FusedMultiplyAdd(num, t, Vector512.Create(GP2)); den = Vector512.FusedMultiplyAdd(den, t, Vector512.Create(GQ3));
        num = Vector512.FusedMultiplyAdd(num, t, Vector512.Create(GP1)); den = Vector512.FusedMultiplyAdd(den, t, Vector512.Create(GQ2));
        num = Vector512.FusedMultiplyAdd(num, t, Vector512.Create(GP0)); den = Vector512.FusedMultiplyAdd(den, t, Vector512.Create(GQ1));
        den = Vector512.FusedMultiplyAdd(den, t, Vector512.Create(GQ0));
        var tail = eh * (num / den);
        var cdf = Vector512.ConditionalSelect(Vector512.LessThan(x, Vector512<double>.Zero), tail, one - tail);
        var pdf = Vector512.Create(2.0 * InvSqrt2Pi) * eh;
        // gelu = x·Φ, gelu' = fma(x, φ, Φ); ±∞ and NaN get the scalar code's values (x·Φ and x·φ with Φ or φ = 0 would be NaN)
        if (normal) { value = x * cdf; derivative = Vector512.FusedMultiplyAdd(x, pdf, cdf); }
        else WidthOps.GeluOutputs(x, cdf, pdf, out value, out derivative);
    }

    /// <summary>σ and σ' of <paramref name="kind"/> over the leading whole vectors of the span; returns how many entries were done (0 for identity: the caller's).</summary>
    internal static int Evaluate(ActivationKind kind, ReadOnlySpan<double> u, Span<double> s, Span<double> sd) => kind switch
    {
        ActivationKind.Gelu => GeluDouble(u, s, sd),
        ActivationKind.Tanh => TanhDouble(u, s, sd),
        ActivationKind.Softplus => SoftplusDouble(u, s, sd),
        ActivationKind.Relu => Relu(u, s, sd),
        _ => 0,
    };

    /// <summary>The same in float arithmetic.</summary>
    internal static int Evaluate(ActivationKind kind, ReadOnlySpan<float> u, Span<float> s, Span<float> sd) => kind switch
    {
        ActivationKind.Gelu => GeluSingle(u, s, sd),
        ActivationKind.Tanh => TanhSingle(u, s, sd),
        ActivationKind.Softplus => SoftplusSingle(u, s, sd),
        ActivationKind.Relu => Relu(u, s, sd),
        _ => 0,
    };

    /// <summary>GELU over whole spans of double; returns how many leading entries were done (a multiple of the lane count).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static int GeluDouble(ReadOnlySpan<double> u, Span<double> s, Span<double> sd)
    {
        int n = u.Length, i = 0;
        for (; i + Vector512<double>.Count <= n; i += Vector512<double>.Count)
        {
            Gelu(Vector512.Create(u.Slice(i, Vector512<double>.Count)), out var v, out var dv);
            v.CopyTo(s.Slice(i)); dv.CopyTo(sd.Slice(i));
        }
        return i;
    }

    /// <summary>
    /// <see cref="GeluDouble"/> that also returns the smallest and largest entry of its whole vectors in
    /// <paramref name="lo"/> and <paramref name="hi"/> (+∞ and −∞ if none), with the comparisons and the lane order of
    /// <see cref="FastKernels.MinMax"/>, so that the caller's scalar tail gives its bits: one pass over u instead of two.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static int GeluDoubleRange(ReadOnlySpan<double> u, Span<double> s, Span<double> sd, out double lo, out double hi)
    {
        int n = u.Length, i = 0;
        lo = double.PositiveInfinity; hi = double.NegativeInfinity;
        if (n < Vector512<double>.Count) return 0;
        var vlo = Vector512.Create(lo); var vhi = Vector512.Create(hi);
        if (s.Length < n || sd.Length < n) throw new ArgumentException("an output is shorter than u");
        ref double u0 = ref MemoryMarshal.GetReference(u);
        ref double s0 = ref MemoryMarshal.GetReference(s);
        ref double d0 = ref MemoryMarshal.GetReference(sd);
        for (; i + Vector512<double>.Count <= n; i += Vector512<double>.Count)
        {
            var x = Vector512.LoadUnsafe(ref u0, (nuint)i);
            // vminpd(x, lo) returns lo where x is NaN or both are zeros: the selection (x < lo ? x : lo) in one instruction
            vlo = Vector512.MinNative(x, vlo);
            vhi = Vector512.MaxNative(x, vhi);
            Gelu(x, out var v, out var dv);
            Vector512.StoreUnsafe(v, ref s0, (nuint)i); Vector512.StoreUnsafe(dv, ref d0, (nuint)i);
        }
        for (int l = 0; l < Vector512<double>.Count; l++) { if (vlo[l] < lo) lo = vlo[l]; if (vhi[l] > hi) hi = vhi[l]; }
        return i;
    }

    /// <summary><see cref="GeluDoubleRange"/> in float arithmetic (<see cref="GeluF"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static int GeluSingleRange(ReadOnlySpan<float> u, Span<float> s, Span<float> sd, out float lo, out float hi)
    {
        int n = u.Length, i = 0;
        lo = float.PositiveInfinity; hi = float.NegativeInfinity;
        if (n < Vector512<float>.Count) return 0;
        var vlo = Vector512.Create(lo); var vhi = Vector512.Create(hi);
        for (; i + Vector512<float>.Count <= n; i += Vector512<float>.Count)
        {
            var x = Vector512.Create(u.Slice(i, Vector512<float>.Count));
            vlo = Vector512.ConditionalSelect(Vector512.LessThan(x, vlo), x, vlo);
            vhi = Vector512.ConditionalSelect(Vector512.GreaterThan(x, vhi), x, vhi);
            GeluF(x, out var v, out var dv);
            v.CopyTo(s.Slice(i)); dv.CopyTo(sd.Slice(i));
        }
        for (int l = 0; l < Vector512<float>.Count; l++) { if (vlo[l] < lo) lo = vlo[l]; if (vhi[l] > hi) hi = vhi[l]; }
        return i;
    }

    /// <summary>
    /// <see cref="GeluDoubleRange"/> that also returns the smallest and largest σ' of its whole vectors in
    /// <paramref name="dlo"/> and <paramref name="dhi"/> (+∞ and −∞ if none), with the comparisons and the lane order of
    /// <see cref="FastKernels.MinMax"/> over the stored σ': the ranges a caller keeps per layer in the same pass over u.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static int GeluDoubleRanges(ReadOnlySpan<double> u, Span<double> s, Span<double> sd, out double lo, out double hi, out double dlo, out double dhi)
    {
        int n = u.Length, i = 0;
        lo = dlo = double.PositiveInfinity; hi = dhi = double.NegativeInfinity;
        if (n < Vector512<double>.Count) return 0;
        var vlo = Vector512.Create(lo); var vhi = Vector512.Create(hi);
        var wlo = vlo; var whi = vhi;
        if (s.Length < n || sd.Length < n) throw new ArgumentException("an output is shorter than u");
        ref double u0 = ref MemoryMarshal.GetReference(u);
        ref double s0 = ref MemoryMarshal.GetReference(s);
        ref double d0 = ref MemoryMarshal.GetReference(sd);
        for (; i + Vector512<double>.Count <= n; i += Vector512<double>.Count)
        {
            var x = Vector512.LoadUnsafe(ref u0, (nuint)i);
            // vminpd(a, b) returns b where a is NaN or both are zeros: the selection (a < b ? a : b) in one instruction
            vlo = Vector512.MinNative(x, vlo);
            vhi = Vector512.MaxNative(x, vhi);
            Gelu(x, out var v, out var dv);
            wlo = Vector512.MinNative(dv, wlo);
            whi = Vector512.MaxNative(dv, whi);
            Vector512.StoreUnsafe(v, ref s0, (nuint)i); Vector512.StoreUnsafe(dv, ref d0, (nuint)i);
        }
        for (int l = 0; l < Vector512<double>.Count; l++)
        {
            if (vlo[l] < lo) lo = vlo[l];
            if (vhi[l] > hi) hi = vhi[l];
            if (wlo[l] < dlo) dlo = wlo[l];
            if (whi[l] > dhi) dhi = whi[l];
        }
        return i;
    }

    /// <summary><see cref="GeluDoubleRanges"/> in float arithmetic (<see cref="GeluF"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static int GeluSingleRanges(ReadOnlySpan<float> u, Span<float> s, Span<float> sd, out float lo, out float hi, out float dlo, out float dhi)
    {
        int n = u.Length, i = 0;
        lo = dlo = float.PositiveInfinity; hi = dhi = float.NegativeInfinity;
        if (n < Vector512<float>.Count) return 0;
        var vlo = Vector512.Create(lo); var vhi = Vector512.Create(hi);
        var wlo = vlo; var whi = vhi;
        for (; i + Vector512<float>.Count <= n; i += Vector512<float>.Count)
        {
            var x = Vector512.Create(u.Slice(i, Vector512<float>.Count));
            vlo = Vector512.ConditionalSelect(Vector512.LessThan(x, vlo), x, vlo);
            vhi = Vector512.ConditionalSelect(Vector512.GreaterThan(x, vhi), x, vhi);
            GeluF(x, out var v, out var dv);
            wlo = Vector512.ConditionalSelect(Vector512.LessThan(dv, wlo), dv, wlo);
            whi = Vector512.ConditionalSelect(Vector512.GreaterThan(dv, whi), dv, whi);
            v.CopyTo(s.Slice(i)); dv.CopyTo(sd.Slice(i));
        }
        for (int l = 0; l < Vector512<float>.Count; l++)
        {
            if (vlo[l] < lo) lo = vlo[l];
            if (vhi[l] > hi) hi = vhi[l];
            if (wlo[l] < dlo) dlo = wlo[l];
            if (whi[l] > dhi) dhi = whi[l];
        }
        return i;
    }

    /// <summary>GELU over float spans in float arithmetic (<see cref="GeluF"/>); returns the count done.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static int GeluSingle(ReadOnlySpan<float> u, Span<float> s, Span<float> sd)
    {
        int n = u.Length, i = 0;
        for (; i + Vector512<float>.Count <= n; i += Vector512<float>.Count)
        {
            GeluF(Vector512.Create(u.Slice(i, Vector512<float>.Count)), out var v, out var dv);
            v.CopyTo(s.Slice(i)); dv.CopyTo(sd.Slice(i));
        }
        return i;
    }

    /// <summary>tanh over whole spans of double; returns how many leading entries were done.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static int TanhDouble(ReadOnlySpan<double> u, Span<double> s, Span<double> sd)
    {
        int n = u.Length, i = 0;
        for (; i + Vector512<double>.Count <= n; i += Vector512<double>.Count)
        {
            Tanh(Vector512.Create(u.Slice(i, Vector512<double>.Count)), out var v, out var dv);
            v.CopyTo(s.Slice(i)); dv.CopyTo(sd.Slice(i));
        }
        return i;
    }

    /// <summary>softplus over whole spans of double; returns how many leading entries were done.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static int SoftplusDouble(ReadOnlySpan<double> u, Span<double> s, Span<double> sd)
    {
        int n = u.Length, i = 0;
        for (; i + Vector512<double>.Count <= n; i += Vector512<double>.Count)
        {
            Softplus(Vector512.Create(u.Slice(i, Vector512<double>.Count)), out var v, out var dv);
            v.CopyTo(s.Slice(i)); dv.CopyTo(sd.Slice(i));
        }
        return i;
    }

    /// <summary>tanh over float spans in float arithmetic (<see cref="TanhF"/>); returns the count done.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static int TanhSingle(ReadOnlySpan<float> u, Span<float> s, Span<float> sd)
    {
        int n = u.Length, i = 0;
        for (; i + Vector512<float>.Count <= n; i += Vector512<float>.Count)
        {
            TanhF(Vector512.Create(u.Slice(i, Vector512<float>.Count)), out var v, out var dv);
            v.CopyTo(s.Slice(i)); dv.CopyTo(sd.Slice(i));
        }
        return i;
    }

    /// <summary>softplus over float spans in float arithmetic (<see cref="SoftplusF"/>); returns the count done.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static int SoftplusSingle(ReadOnlySpan<float> u, Span<float> s, Span<float> sd)
    {
        int n = u.Length, i = 0;
        for (; i + Vector512<float>.Count <= n; i += Vector512<float>.Count)
        {
            SoftplusF(Vector512.Create(u.Slice(i, Vector512<float>.Count)), out var v, out var dv);
            v.CopyTo(s.Slice(i)); dv.CopyTo(sd.Slice(i));
        }
        return i;
    }

    private const float Ln2HiF = 0.693145751953125f;            // 16 significant bits: k·Ln2HiF is exact for |k| < 2^8
    private const float Ln2LoF = 1.428606765330187045e-06f;
    private const float MagicF = 12582912f;                     // 1.5·2^23

    /// <summary>
    /// exp(t) for t ≤ 0 in float: as <see cref="ExpNonPositive"/> with a Taylor polynomial of degree 7
    /// (truncation ≤ 0.347⁸/8! ≈ 5e-9 relative, below float's 6e-8) and 2^k, k ∈ [−151, 0], applied with one rounding.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector512<float> ExpNonPositiveF(Vector512<float> t)
    {
        var p = ExpReducedF(t, out var r, out var kd, out var k);
        return WidthOps.Scale(Vector512.FusedMultiplyAdd(p, r, Vector512.Create(1f)), kd, k);
    }

    /// <summary>The reduction and polynomial of <see cref="ExpNonPositiveF"/>: exp(r) = 1 + r·p, t = k·ln2 + r.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> ExpReducedF(Vector512<float> t, out Vector512<float> r, out Vector512<float> kd, out Vector512<float> k)
    {
        t = Vector512.MaxNative(t, Vector512.Create(-104.5f));
        var magic = Vector512.Create(MagicF);
        kd = Vector512.FusedMultiplyAdd(t, Vector512.Create((float)Log2E), magic);
        k = kd - magic;
        r = Vector512.FusedMultiplyAdd(k, Vector512.Create(-Ln2HiF), t);
        r = Vector512.FusedMultiplyAdd(k, Vector512.Create(-Ln2LoF), r);
        var p = Vector512.Create(1f / 5040f);
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(1f / 720f));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(1f / 120f));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(1f / 24f));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(1f / 6f));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(0.5f));
        return Vector512.FusedMultiplyAdd(p, r, Vector512.Create(1f));
    }

    /// <summary>tanh and sech² in float arithmetic lane by lane: the algorithm of <see cref="Tanh"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void TanhF(Vector512<float> x, out Vector512<float> value, out Vector512<float> derivative)
    {
        var a = Vector512.Abs(x);
        var p = ExpReducedF(Vector512.Create(-2f) * a, out var r, out var kd, out var k);
        var e = WidthOps.Scale(Vector512.FusedMultiplyAdd(p, r, Vector512.Create(1f)), kd, k);
        var m = Vector512.ConditionalSelect(Vector512.Equals(k, Vector512<float>.Zero), p * r, e - Vector512.Create(1f));
        var t = -m / (Vector512.Create(2f) + m);
        var onePlus = Vector512.Create(1f) + e;
        var sech2 = Vector512.Create(4f) * e / (onePlus * onePlus);
        var nan = ~Vector512.Equals(x, x);
        value = Vector512.ConditionalSelect(nan, x, Vector512.CopySign(t, x));
        derivative = Vector512.ConditionalSelect(nan, x, sech2);
    }

    /// <summary>
    /// softplus and softplus' in float arithmetic lane by lane: the algorithm of <see cref="Softplus"/> with
    /// the atanh series to s^9 (truncation ≤ 0.0295^5/11 &lt; 2^-28 relative).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void SoftplusF(Vector512<float> x, out Vector512<float> value, out Vector512<float> derivative)
    {
        var one = Vector512.Create(1f);
        var zero = Vector512<float>.Zero;
        var e = ExpNonPositiveF(-Vector512.Abs(x));
        var w = one + e;
        var c = e - (w - one);
        var big = Vector512.GreaterThanOrEqual(w, Vector512.Create(1.41421356f));
        var f = Vector512.ConditionalSelect(big, w * Vector512.Create(0.5f), w);
        var s = (f - one) / (f + one);
        var z = s * s;
        var p = Vector512.Create(1f / 9f);
        p = Vector512.FusedMultiplyAdd(p, z, Vector512.Create(1f / 7f));
        p = Vector512.FusedMultiplyAdd(p, z, Vector512.Create(1f / 5f));
        p = Vector512.FusedMultiplyAdd(p, z, Vector512.Create(1f / 3f));
        var twoS = s + s;
        var logf = Vector512.FusedMultiplyAdd(twoS * z, p, twoS);
        var logw = Vector512.ConditionalSelect(big, (logf + Vector512.Create(Ln2LoF)) + Vector512.Create(Ln2HiF), logf);
        var l1p = logw + c / w;
        var v = Vector512.ConditionalSelect(Vector512.GreaterThan(x, zero), x, zero) + l1p;
        var dv = Vector512.ConditionalSelect(Vector512.GreaterThanOrEqual(x, zero), one, e) / w;
        var nan = ~Vector512.Equals(x, x);
        value = Vector512.ConditionalSelect(nan, x, v);
        derivative = Vector512.ConditionalSelect(nan, x, dv);
    }

    // Φ(−t) = exp(−t²/2)·M(t) for t ≥ 0, M(t) = ½·erfcx(t/√2) (Mills' ratio over √(2π)), by one rational of degree 4 over
    // degree 5 in t on [0, 15] (a float's GELU is 0 or 1·u below and above): fitted for the least maximum relative error
    // (iteratively reweighted linear least squares in double on 4 000 Chebyshev points), coefficients rounded to float.
    // With the rounded coefficients P/Q is within 1.96e-8 = 0.33·2^-24 of M relative, checked in 40-digit arithmetic at
    // 30 001 points of [0, 15] (largest at t = 15). Every coefficient is positive, so Horner's scheme on t ≥ 0 adds no
    // cancellation: at most one rounding per step.
    private const float M0 = 0.5f, M1 = 0.439287037f, M2 = 0.183971733f, M3 = 0.0408819765f, M4 = 0.00415334618f;
    private const float N1 = 1.67645907f, N2 = 1.20555925f, N3 = 0.47141552f, N4 = 0.102482036f, N5 = 0.0104107829f;

    // exp(r) = 1 + r·p(r) on |r| ≤ ln2/2·(1 + 2^-10): p of degree 5, the Chebyshev interpolant of (e^r − 1)/r at 6
    // nodes, coefficients rounded to float (the first two are 1 and ½ exactly): within 1.01e-8 = 0.17·2^-24 of e^r
    // relative (40-digit arithmetic, 20 001 points), one FMA fewer than the degree-7 Taylor polynomial of ExpReducedF.
    private const float G2 = 0.166665047f, G3 = 0.041666463f, G4 = 0.00836921856f, G5 = 0.00139337289f;

    /// <summary>
    /// gelu and gelu' in float arithmetic lane by lane, a float algorithm of its own: with t = min(|x|, 15),
    /// e = exp(−t²/2) (t² = hi + lo split exactly by an FMA, lo joined to the reduced argument) and the rational M
    /// above, the tail T = e·M(t) is Φ(−|x|); Φ(x) = T for x &lt; 0 and 1 − T otherwise (no cancellation: T ≤ ½),
    /// gelu = x·Φ and gelu' = Φ + x·e/√(2π) (one FMA). One division per lane and no branch (the float64 kernel's
    /// Cody rationals carry far more accuracy than float holds). Error budget in FastPathTests.VectorActivationsAgreeInFloat32.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void GeluF(Vector512<float> x, out Vector512<float> value, out Vector512<float> derivative)
    {
        var one = Vector512.Create(1f);
        var mhalf = Vector512.Create(-0.5f);
        var t = Vector512.MinNative(Vector512.Abs(x), Vector512.Create(15f));   // Φ(−15)·15 < 2^-160: 0 in float beyond
        var hi = t * t;
        var lo = Vector512.FusedMultiplyAdd(t, t, -hi);
        // e = exp(−(hi + lo)/2): −hi/2 ∈ [−112.5, 0] is exact, k = round(−hi/2·log2 e) ∈ [−163, 0], r = −hi/2 − k·ln2 − lo/2.
        var a = mhalf * hi;
        var magic = Vector512.Create(MagicF);
        var kd = Vector512.FusedMultiplyAdd(a, Vector512.Create((float)Log2E), magic);
        var k = kd - magic;
        var r = Vector512.FusedMultiplyAdd(k, Vector512.Create(-Ln2HiF), a);
        r = Vector512.FusedMultiplyAdd(k, Vector512.Create(-Ln2LoF), r);
        r = Vector512.FusedMultiplyAdd(mhalf, lo, r);
        var p = Vector512.FusedMultiplyAdd(Vector512.Create(G5), r, Vector512.Create(G4));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(G3));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(G2));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(0.5f));
        p = Vector512.FusedMultiplyAdd(p, r, one);
        var xe = Vector512.FusedMultiplyAdd(p, r, one);
        // every lane's 2^k normal (then every x is finite, |x| < 13.3): one product, and no special-value step below
        bool normal = WidthOps.ScalesNormal(kd);
        var e = normal ? xe * WidthOps.Pow(kd) : WidthOps.Scale(xe, kd, k);
        // M(t) = P(t)/Q(t), both by Horner (positive coefficients, t ≥ 0).
        var num = Vector512.FusedMultiplyAdd(Vector512.Create(M4), t, Vector512.Create(M3));
        var den = Vector512.FusedMultiplyAdd(Vector512.Create(N5), t, Vector512.Create(N4));
        num = Vector512.FusedMultiplyAdd(num, t, Vector512.Create(M2)); den = Vector512.FusedMultiplyAdd(den, t, Vector512.Create(N3));
        num = Vector512.FusedMultiplyAdd(num, t, Vector512.Create(M1)); den = Vector512.FusedMultiplyAdd(den, t, Vector512.Create(N2));
        num = Vector512.FusedMultiplyAdd(num, t, Vector512.Create(M0)); den = Vector512.FusedMultiplyAdd(den, t, Vector512.Create(N1));
        den = Vector512.FusedMultiplyAdd(den, t, one);
        var tail = e * (num / den);
        var cdf = Vector512.ConditionalSelect(Vector512.LessThan(x, Vector512<float>.Zero), tail, one - tail);
        var pdf = Vector512.Create((float)InvSqrt2Pi) * e;
        // ±∞ and NaN as in Gelu
        if (normal) { value = x * cdf; derivative = Vector512.FusedMultiplyAdd(x, pdf, cdf); }
        else WidthOps.GeluOutputs(x, cdf, pdf, out value, out derivative);
    }

    /// <summary>relu: σ = max(u, 0) and σ' = 1 for u &gt; 0, 0 for u ≤ 0, NaN for NaN (the scalar rules).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static int Relu<T>(ReadOnlySpan<T> u, Span<T> s, Span<T> sd) where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        int n = u.Length, i = 0, w = Vector512<T>.Count;
        var zero = Vector512<T>.Zero; var one = Vector512.Create(T.One);
        for (; i + w <= n; i += w)
        {
            var x = Vector512.Create(u.Slice(i, w));
            var pos = Vector512.GreaterThan(x, zero);
            var nan = ~Vector512.Equals(x, x);
            Vector512.ConditionalSelect(nan, x, Vector512.ConditionalSelect(pos, x, zero)).CopyTo(s.Slice(i));
            Vector512.ConditionalSelect(nan, x, Vector512.ConditionalSelect(pos, one, zero)).CopyTo(sd.Slice(i));
        }
        return i;
    }
}
