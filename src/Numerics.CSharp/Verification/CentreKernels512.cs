using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using ResOdeProofs.Numerics.Model;

namespace ResOdeProofs.Numerics.Verification;

/// <summary>
/// The per-entry work of one pair of <see cref="CentrePass.Step"/> on 512-bit vectors, in one pass over the entries: the
/// three Gauss–Legendre nodes' u(t), σ'(u(t)) (the engine's GELU kernel), σ''(u(t)) (φ by the vector exp times 2 − x²,
/// <see cref="CentrePass.GeluSecond"/>), q(t), the weighted sums S₁, S₂, the rule's error per entry, the weights X_V, X_W
/// of the two outer-product sums, and the sums and maxima the rounding bounds read. Every lane does the operations of the
/// scalar reference (<see cref="CentrePass.RuleReference"/>) in the same order (no contraction into FMA), so X_V, X_W are
/// the same bits; the sums are added lane by lane in the entries' order, so they are the same bits too. This file is the
/// one source at every width: the build generates CentreKernels256 from it by renaming the vector type.
/// </summary>
internal static class CentreKernels512
{
    /// <summary>
    /// Does the leading whole vectors of the entries (u(0), u(1), q(0), q(1), Ĉ_W, Ĉ_V in; X_V, X_W out) and returns how
    /// many entries it did; the caller does the rest with the scalar reference and the same accumulators.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static int Rule(ReadOnlySpan<double> u0, ReadOnlySpan<double> u1, ReadOnlySpan<double> q0, ReadOnlySpan<double> q1,
        ReadOnlySpan<double> cwp, ReadOnlySpan<double> cvp, Span<double> xvOut, Span<double> xwOut,
        in CentrePass.RuleConstants k, ref CentrePass.RuleSums s)
    {
        int nm = u0.Length, e = 0, lanes = Vector512<double>.Count;
        var one = Vector512.Create(1 + k.U);
        var etaU = Vector512.Create(k.EtaU); var etaQ = Vector512.Create(k.EtaQ); var etaQ2 = Vector512.Create(2 * k.EtaQ);
        var dcw = Vector512.Create(k.Dcw); var dcv = Vector512.Create(k.Dcv);
        var c7 = Vector512.Create(CentrePass.GaussLegendre3Error * CentrePass.GeluSup7);
        var c8 = Vector512.Create(CentrePass.GeluSup8); var c67 = Vector512.Create(6.0 * CentrePass.GeluSup7);
        var g3 = Vector512.Create(CentrePass.GaussLegendre3Error);
        var t0 = Vector512.Create(CentrePass.Node0); var t1 = Vector512.Create(CentrePass.Node1); var t2 = Vector512.Create(CentrePass.Node2);
        var w0 = Vector512.Create(CentrePass.Weight0); var w1 = Vector512.Create(CentrePass.Weight1); var w2 = Vector512.Create(CentrePass.Weight2);
        Span<double> buf = stackalloc double[6 * Vector512<double>.Count];
        var vmCW = Vector512<double>.Zero; var vmCV = Vector512<double>.Zero; var vmQ = Vector512<double>.Zero; var vmQC = Vector512<double>.Zero;
        for (; e + lanes <= nm; e += lanes)
        {
            var a0 = Vector512.Create(u0.Slice(e, lanes)); var a1 = Vector512.Create(u1.Slice(e, lanes));
            var b0 = Vector512.Create(q0.Slice(e, lanes)); var b1 = Vector512.Create(q1.Slice(e, lanes));
            var du = a1 - a0; var dqv = b1 - b0;
            // the rule: S₁ = Σ_l w_l σ'(u(t_l)), S₂ = Σ_l w_l σ''(u(t_l)) q(t_l), from 0 as the reference's cleared sums
            var s1 = Vector512<double>.Zero; var s2 = Vector512<double>.Zero;
            Node(a0 + t0 * du, b0 + t0 * dqv, w0, ref s1, ref s2);
            Node(a0 + t1 * du, b0 + t1 * dqv, w1, ref s1, ref s2);
            Node(a0 + t2 * du, b0 + t2 * dqv, w2, ref s1, ref s2);
            // the rule's error per entry and the weights of the outer-product sums
            var dl = Vector512.Abs(du) * one + etaU;
            var dq = Vector512.Abs(dqv) * one + etaQ2;
            var qh = Vector512.Max(Vector512.Abs(b0), Vector512.Abs(b1));
            var qs = qh + etaQ;
            var d5 = dl * dl * dl * dl * dl; var d6 = d5 * dl;
            var e1 = c7 * d6;
            var e2 = g3 * (c8 * d6 * qs + c67 * d5 * dq);
            var cw = Vector512.Create(cwp.Slice(e, lanes)); var cv = Vector512.Create(cvp.Slice(e, lanes));
            var acw = Vector512.Abs(cw); var acv = Vector512.Abs(cv);
            var rv = e1 * (acw + dcw); var rw = e2 * (acw + dcw) + e1 * (acv + dcv);
            var xv = s1 * cw; var xw = s2 * cw + s1 * cv;
            xv.CopyTo(xvOut.Slice(e, lanes)); xw.CopyTo(xwOut.Slice(e, lanes));
            (rv * rv).CopyTo(buf); (rw * rw).CopyTo(buf.Slice(lanes)); (cw * cw).CopyTo(buf.Slice(2 * lanes));
            (cv * cv).CopyTo(buf.Slice(3 * lanes)); (xv * xv).CopyTo(buf.Slice(4 * lanes)); (xw * xw).CopyTo(buf.Slice(5 * lanes));
            // the sums in the entries' order (the reference's bits); the maxima lane by lane with the reference's rule
            // (a NaN never replaces a maximum), which no order changes
            for (int j = 0; j < lanes; j++)
            {
                s.SumV += buf[j]; s.SumW += buf[lanes + j]; s.SCW += buf[2 * lanes + j];
                s.SCV += buf[3 * lanes + j]; s.SXV += buf[4 * lanes + j]; s.SXW += buf[5 * lanes + j];
            }
            vmCW = Vector512.ConditionalSelect(Vector512.GreaterThan(acw, vmCW), acw, vmCW);
            vmCV = Vector512.ConditionalSelect(Vector512.GreaterThan(acv, vmCV), acv, vmCV);
            vmQ = Vector512.ConditionalSelect(Vector512.GreaterThan(qh, vmQ), qh, vmQ);
            var qc = qh * acw;
            vmQC = Vector512.ConditionalSelect(Vector512.GreaterThan(qc, vmQC), qc, vmQC);
        }
        for (int j = 0; j < lanes; j++)
        {
            double a = vmCW.GetElement(j), b = vmCV.GetElement(j), c = vmQ.GetElement(j), d = vmQC.GetElement(j);
            if (a > s.MCW) s.MCW = a;
            if (b > s.MCV) s.MCV = b;
            if (c > s.MQ) s.MQ = c;
            if (d > s.MQC) s.MQC = d;
        }
        return e;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Node(Vector512<double> x, Vector512<double> q, Vector512<double> wl, ref Vector512<double> s1, ref Vector512<double> s2)
    {
        ActivationKernels512.Gelu(x, out _, out var sd);
        s1 += wl * sd;
        var x2 = x * x;
        var second = Vector512.Create(CentrePass.InvSqrt2PiValue) * Vector512.Exp(Vector512.Create(-0.5) * x2) * (Vector512.Create(2.0) - x2);
        s2 += wl * second * q;
    }
}
