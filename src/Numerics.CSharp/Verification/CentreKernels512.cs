using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using ResOdeProofs.Numerics.Model;

namespace ResOdeProofs.Numerics.Verification;

/// <summary>
/// The per-entry work of one pair of <see cref="CentrePass.Step"/> on 512-bit vectors, in one pass over the entries: the
/// rule's S₁ (the mean of the endpoint values σ̂'(û(0)), σ̂'(û(1)) kept by the split pass and the engine, minus the
/// Euler–Maclaurin corrections) and S₂ (the midpoint Taylor form), both from one φ(x_m) (the engine's proven exp, <see cref="CentrePass.RulePhi"/>) at the midpoint
/// x_m = û(0) + ½δ̂ and GELU's derivatives σ⁽ʲ⁾ = φ·poly_j (<see cref="CentrePass.RuleEntry"/>); the weights X_V, X_W of the two
/// outer-product sums; and the maxima the bounds read (the rule's error is bounded from them, <see cref="CentrePass.RuleErrorTerms"/>). Every lane does the operations of the scalar form in the same order
/// (no contraction into FMA), and maxima do not depend on the order, so the outputs are the reference loops' bits. This
/// file is the one source at every width: the build generates CentreKernels256 from it by renaming the vector type.
/// </summary>
internal static class CentreKernels512
{
    /// <summary>
    /// Does the leading whole vectors of the entries (û(0), û(1), q̂(0), q̂(1), σ̂'(û(0)), σ̂'(û(1)), Ĉ_W, Ĉ_V in; X_V, X_W
    /// out, and the maxima) and returns how many entries it did; the caller does the rest with the scalar form and the same
    /// maxima.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static int Rule(ReadOnlySpan<double> u0, ReadOnlySpan<double> u1, ReadOnlySpan<double> q0, ReadOnlySpan<double> q1,
        ReadOnlySpan<double> d0, ReadOnlySpan<double> d1, ReadOnlySpan<double> cwp, ReadOnlySpan<double> cvp,
        Span<double> xvOut, Span<double> xwOut, ref CentrePass.RuleMaxima s)
    {
        int nm = u0.Length, e = 0, lanes = Vector512<double>.Count;
        if (u1.Length < nm || q0.Length < nm || q1.Length < nm || d0.Length < nm || d1.Length < nm || cwp.Length < nm
            || cvp.Length < nm || xvOut.Length < nm || xwOut.Length < nm)
            throw new ArgumentException("an operand of the rule is shorter than the entries");
        // every operand holds nm entries (checked above): the loop loads and stores through references, without a bounds
        // check per vector (the same loads and stores, so the same bits)
        ref double ru0 = ref MemoryMarshal.GetReference(u0), ru1 = ref MemoryMarshal.GetReference(u1);
        ref double rq0 = ref MemoryMarshal.GetReference(q0), rq1 = ref MemoryMarshal.GetReference(q1);
        ref double rd0 = ref MemoryMarshal.GetReference(d0), rd1 = ref MemoryMarshal.GetReference(d1);
        ref double rcw = ref MemoryMarshal.GetReference(cwp), rcv = ref MemoryMarshal.GetReference(cvp);
        ref double rxv = ref MemoryMarshal.GetReference(xvOut), rxw = ref MemoryMarshal.GetReference(xwOut);
        var half = Vector512.Create(0.5); var mhalf = Vector512.Create(-0.5); var c = Vector512.Create(CentrePass.TwoInvSqrt2PiValue);
        var two = Vector512.Create(2.0); var four = Vector512.Create(4.0); var seven = Vector512.Create(7.0);
        var eleven = Vector512.Create(11.0); var eighteen = Vector512.Create(18.0); var sixteen = Vector512.Create(16.0);
        var fiftyOne = Vector512.Create(51.0);
        var k12 = Vector512.Create(CentrePass.K12); var k24 = Vector512.Create(CentrePass.K24);
        var k480 = Vector512.Create(CentrePass.K480); var k1920 = Vector512.Create(CentrePass.K1920);
        var vmCW = Vector512<double>.Zero; var vmCV = Vector512<double>.Zero; var vmQ = Vector512<double>.Zero;
        var vmQC = Vector512<double>.Zero; var vmD = Vector512<double>.Zero; var vmDQ = Vector512<double>.Zero;
        for (; e + lanes <= nm; e += lanes)
        {
            nuint at = (nuint)e;
            var a0 = Vector512.LoadUnsafe(ref ru0, at); var a1 = Vector512.LoadUnsafe(ref ru1, at);
            var b0 = Vector512.LoadUnsafe(ref rq0, at); var b1 = Vector512.LoadUnsafe(ref rq1, at);
            var du = a1 - a0; var dq = b1 - b0;
            var xm = a0 + half * du; var qm = b0 + half * dq;
            var y = xm * xm;
            var phi = c * ActivationKernels512.ExpGelu(mhalf * y, Vector512<double>.Zero);
            var s2 = phi * (two - y);
            var s3 = phi * (xm * (y - four));
            var s4 = phi * ((seven - y) * y - four);
            var s5 = phi * (xm * ((y - eleven) * y + eighteen));
            var s6 = phi * (((sixteen - y) * y - fiftyOne) * y + eighteen);
            var z = du * du;
            var c2b = du * (s3 * k12 + s5 * z * k480);
            var c1 = du * c2b;
            var c2a = z * (s4 * k24 + s6 * z * k1920);
            var sum1 = half * (Vector512.LoadUnsafe(ref rd0, at) + Vector512.LoadUnsafe(ref rd1, at)) - c1;
            var sum2 = qm * (s2 + c2a) + dq * c2b;
            var cw = Vector512.LoadUnsafe(ref rcw, at); var cv = Vector512.LoadUnsafe(ref rcv, at);
            (sum1 * cw).StoreUnsafe(ref rxv, at);
            (sum2 * cw + sum1 * cv).StoreUnsafe(ref rxw, at);
            // the entries' magnitudes whose maxima bound the rule's arithmetic and its error
            var acw = Vector512.Abs(cw); var acv = Vector512.Abs(cv);
            var qh = Vector512.Max(Vector512.Abs(b0), Vector512.Abs(b1));
            var ad = Vector512.Abs(du); var adq = Vector512.Abs(dq);
            // the maxima lane by lane with the scalar form's rule (a NaN never replaces a maximum), which no order changes
            var qc = qh * acw;
            vmCW = Vector512.ConditionalSelect(Vector512.GreaterThan(acw, vmCW), acw, vmCW);
            vmCV = Vector512.ConditionalSelect(Vector512.GreaterThan(acv, vmCV), acv, vmCV);
            vmQ = Vector512.ConditionalSelect(Vector512.GreaterThan(qh, vmQ), qh, vmQ);
            vmQC = Vector512.ConditionalSelect(Vector512.GreaterThan(qc, vmQC), qc, vmQC);
            vmD = Vector512.ConditionalSelect(Vector512.GreaterThan(ad, vmD), ad, vmD);
            vmDQ = Vector512.ConditionalSelect(Vector512.GreaterThan(adq, vmDQ), adq, vmDQ);
        }
        for (int j = 0; j < lanes; j++)
        {
            s.Merge(vmCW.GetElement(j), vmCV.GetElement(j), vmQ.GetElement(j), vmQC.GetElement(j), vmD.GetElement(j), vmDQ.GetElement(j));
        }
        return e;
    }
}
