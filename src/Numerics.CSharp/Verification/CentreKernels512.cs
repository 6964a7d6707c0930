using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using ResOdeProofs.Numerics.Model;

namespace ResOdeProofs.Numerics.Verification;

/// <summary>
/// The per-entry work of one pair of <see cref="CentrePass.Step"/> on 512-bit vectors, in one pass over the entries. An entry
/// with |δ̂| &lt; δ* takes the rule: S₁ (the mean of the endpoint values σ̂'(û(0)), σ̂'(û(1)) kept by the split pass and the
/// engine, minus the Euler–Maclaurin corrections) and S₂ (the midpoint Taylor form), both from one φ(x_m) (the engine's
/// proven exp, <see cref="CentrePass.RulePhi"/>) at the midpoint x_m = û(0) + ½δ̂ and GELU's derivatives σ⁽ʲ⁾ = φ·poly_j
/// (<see cref="CentrePass.RuleEntry"/>); an entry with |δ̂| ≥ δ* the divided differences of the kept endpoint values σ̂, σ̂'
/// (<see cref="CentrePass.DividedEntry"/>). A vector whose lanes all take one form computes only that form. Then the weights
/// X_V, X_W of the two outer-product sums, and the maxima the bounds read (the rule's error is bounded from them,
/// <see cref="CentrePass.RuleErrorTerms"/>; the divided entries' from the smallest divided |δ̂|). Every lane does the
/// operations of the scalar form in the same order (no contraction into FMA), and maxima do not depend on the order, so the
/// outputs are the reference loops' bits. This file is the one source at every width: the build generates CentreKernels256
/// from it by renaming the vector type.
/// </summary>
internal static class CentreKernels512
{
    /// <summary>
    /// Does the leading whole vectors of the entries (û(0), û(1), q̂(0), q̂(1), σ̂'(û(0)), σ̂'(û(1)), σ̂(û(0)), σ̂(û(1)), Ĉ_W,
    /// Ĉ_V in; X_V, X_W out, and the maxima) and returns how many entries it did; the caller does the rest with the scalar
    /// form and the same maxima.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static int Rule(ReadOnlySpan<double> u0, ReadOnlySpan<double> u1, ReadOnlySpan<double> q0, ReadOnlySpan<double> q1,
        ReadOnlySpan<double> d0, ReadOnlySpan<double> d1, ReadOnlySpan<double> sg0, ReadOnlySpan<double> sg1,
        ReadOnlySpan<double> cwp, ReadOnlySpan<double> cvp, Span<double> xvOut, Span<double> xwOut, ref CentrePass.RuleMaxima s)
    {
        int nm = u0.Length, e = 0, lanes = Vector512<double>.Count;
        if (u1.Length < nm || q0.Length < nm || q1.Length < nm || d0.Length < nm || d1.Length < nm || sg0.Length < nm
            || sg1.Length < nm || cwp.Length < nm || cvp.Length < nm || xvOut.Length < nm || xwOut.Length < nm)
            throw new ArgumentException("an operand of the rule is shorter than the entries");
        // every operand holds nm entries (checked above): the loop loads and stores through references, without a bounds
        // check per vector (the same loads and stores, so the same bits)
        ref double ru0 = ref MemoryMarshal.GetReference(u0), ru1 = ref MemoryMarshal.GetReference(u1);
        ref double rq0 = ref MemoryMarshal.GetReference(q0), rq1 = ref MemoryMarshal.GetReference(q1);
        ref double rd0 = ref MemoryMarshal.GetReference(d0), rd1 = ref MemoryMarshal.GetReference(d1);
        ref double rs0 = ref MemoryMarshal.GetReference(sg0), rs1 = ref MemoryMarshal.GetReference(sg1);
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
        var dstar = Vector512.Create(CentrePass.DividedAbove); var inf = Vector512.Create(double.PositiveInfinity);
        var vmDiv = inf; var anyDiv = Vector512<ulong>.Zero;
        for (; e + lanes <= nm; e += lanes)
        {
            nuint at = (nuint)e;
            var a0 = Vector512.LoadUnsafe(ref ru0, at); var a1 = Vector512.LoadUnsafe(ref ru1, at);
            var b0 = Vector512.LoadUnsafe(ref rq0, at); var b1 = Vector512.LoadUnsafe(ref rq1, at);
            var du = a1 - a0; var dq = b1 - b0;
            var ad = Vector512.Abs(du);
            // the lanes with |δ̂| ≥ δ* (never a NaN) take the divided differences, the others the rule
            var div = Vector512.GreaterThanOrEqual(ad, dstar);
            var divBits = div.AsUInt64();
            bool allDiv = Vector512.EqualsAll(divBits, Vector512<ulong>.AllBitsSet), noDiv = Vector512.EqualsAll(divBits, Vector512<ulong>.Zero);
            // the entries' magnitudes whose maxima bound the rule's arithmetic and its error, before the entry's sums (they
            // do not depend on them): their operands are then dead across the exp below, which spills fewer of its
            // temporaries to the stack (the same operations on the same values, so the same bits)
            var cw = Vector512.LoadUnsafe(ref rcw, at); var cv = Vector512.LoadUnsafe(ref rcv, at);
            var acw = Vector512.Abs(cw); var acv = Vector512.Abs(cv);
            var qh = Vector512.Max(Vector512.Abs(b0), Vector512.Abs(b1));
            var adq = Vector512.Abs(dq);
            // the rule's largest |δ̂| over its own lanes, the smallest over the divided ones
            var adRule = Vector512.ConditionalSelect(div, Vector512<double>.Zero, ad);
            var adDiv = Vector512.ConditionalSelect(div, ad, inf);
            anyDiv |= divBits;
            vmDiv = Vector512.MinNative(adDiv, vmDiv);
            // the maxima lane by lane with the scalar form's rule (a NaN never replaces a maximum), which no order changes:
            // MaxNative(x, acc) is one vmaxpd, x > acc ? x : acc (the second operand where either is NaN or both are zeros),
            // the select of the comparison in one instruction
            var qc = qh * acw;
            vmCW = Vector512.MaxNative(acw, vmCW);
            vmCV = Vector512.MaxNative(acv, vmCV);
            vmQ = Vector512.MaxNative(qh, vmQ);
            vmQC = Vector512.MaxNative(qc, vmQC);
            vmD = Vector512.MaxNative(adRule, vmD);
            vmDQ = Vector512.MaxNative(adq, vmDQ);
            Vector512<double> sum1, sum2;
            if (allDiv) (sum1, sum2) = Divided(b0, b1, ref rd0, ref rd1, ref rs0, ref rs1, at, du, dq);
            else
            {
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
                // the endpoint derivatives loaded where they are used (the same values: nothing is stored in between)
                var e0 = Vector512.LoadUnsafe(ref rd0, at); var e1 = Vector512.LoadUnsafe(ref rd1, at);
                sum1 = half * (e0 + e1) - c1;
                sum2 = qm * (s2 + c2a) + dq * c2b;
                if (!noDiv)
                {
                    var (t1, t2) = Divided(Vector512.LoadUnsafe(ref rq0, at), Vector512.LoadUnsafe(ref rq1, at), ref rd0, ref rd1,
                        ref rs0, ref rs1, at, du, dq);
                    sum1 = Vector512.ConditionalSelect(div, t1, sum1);
                    sum2 = Vector512.ConditionalSelect(div, t2, sum2);
                }
            }
            // Ĉ_W, Ĉ_V loaded again for the products (the same values as above: nothing is stored in between), which the
            // register allocator handles better than keeping the first loads live across the exp
            var cw2 = Vector512.LoadUnsafe(ref rcw, at); var cv2 = Vector512.LoadUnsafe(ref rcv, at);
            (sum1 * cw2).StoreUnsafe(ref rxv, at);
            (sum2 * cw2 + sum1 * cv2).StoreUnsafe(ref rxw, at);
        }
        for (int j = 0; j < lanes; j++)
        {
            s.Merge(vmCW.GetElement(j), vmCV.GetElement(j), vmQ.GetElement(j), vmQC.GetElement(j), vmD.GetElement(j), vmDQ.GetElement(j));
            if (anyDiv.GetElement(j) != 0) s.MergeDivided(vmDiv.GetElement(j));
        }
        return e;
    }

    /// <summary>The divided differences of <see cref="CentrePass.DividedEntry"/> lane by lane (the same operations in its order).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (Vector512<double> S1, Vector512<double> S2) Divided(Vector512<double> b0, Vector512<double> b1,
        ref double rd0, ref double rd1, ref double rs0, ref double rs1, nuint at, Vector512<double> du, Vector512<double> dq)
    {
        var e0 = Vector512.LoadUnsafe(ref rd0, at); var e1 = Vector512.LoadUnsafe(ref rd1, at);
        var s1 = (Vector512.LoadUnsafe(ref rs1, at) - Vector512.LoadUnsafe(ref rs0, at)) / du;
        var s2 = (b1 * e1 - b0 * e0) / du - dq * s1 / du;
        return (s1, s2);
    }
}
