using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using ResOdeProofs.Numerics.Model;

namespace ResOdeProofs.Numerics.Verification;

/// <summary>
/// The sums of squares the split recursion forms at every iterate of the observed replay: per layer (the rounding of the
/// stored update per layer, the largest layer and gradient norms of the centre's remainder), one pass over W, V and the
/// gradient for all of them; and the norms of the accumulated forcings as they are stepped (<see cref="AxpyNorms4"/>).
/// The per-layer sums have the bits of <see cref="FastKernels.SumSquares{T}"/> at the given level over the layer (two vector
/// accumulators taking alternate vectors; until 2026-12-05 each was one chain of scalar additions in index order: another
/// order of the same terms, within the same rounding bound, γ over the number of terms whatever their order). The forcings'
/// sums stay chains in index order, each the bits of a plain loop over one forcing: in vector accumulators they were no
/// faster (the pass is bound by moving its six arrays, not by the chains; measured 2026-12-05).
/// </summary>
public static class UpdateSums
{
    /// <summary>
    /// For every layer k of the L = <paramref name="w"/>.Length / <paramref name="md"/> layers: sw[k] = Σ_i W_k[i]²,
    /// sv[k], sgw[k], sgv[k] likewise for V_k, G^W_k, G^V_k (each the bits of <see cref="FastKernels.SumSquares{T}"/> at
    /// <paramref name="level"/> over the layer), and sg[k] = sgw[k] + sgv[k] (the gradient's joint norm squared).
    /// </summary>
    public static void LayerSquares(SimdLevel level, ReadOnlySpan<double> w, ReadOnlySpan<double> v, ReadOnlySpan<double> gw, ReadOnlySpan<double> gv,
        int md, Span<double> sw, Span<double> sv, Span<double> sgw, Span<double> sgv, Span<double> sg)
    {
        if (md <= 0) throw new ArgumentException("the layer size must be positive", nameof(md));
        int n = w.Length;
        if (v.Length != n || gw.Length != n || gv.Length != n || n % md != 0)
            throw new ArgumentException("W, V and the two gradients must hold the same whole number of layers");
        int layers = n / md;
        if (sw.Length < layers || sv.Length < layers || sgw.Length < layers || sgv.Length < layers || sg.Length < layers)
            throw new ArgumentException("an output holds fewer entries than there are layers");
        for (int k = 0; k < layers; k++)
        {
            int a = k * md;
            var (s0, s1, s2, s3) = CentrePass.SumSquares4(level, w.Slice(a, md), v.Slice(a, md), gw.Slice(a, md), gv.Slice(a, md));
            sw[k] = s0; sv[k] = s1; sgw[k] = s2; sgv[k] = s3; sg[k] = s2 + s3;
        }
    }

    /// <summary>
    /// D ← D − ηE on four accumulated forcings at once, returning ‖D‖_F of each result: the W parts (<paramref name="aw"/>,
    /// <paramref name="bw"/>) of two recursions stepped with the same E^W (<paramref name="ew"/>) and the V parts
    /// (<paramref name="av"/>, <paramref name="bv"/>) with E^V (<paramref name="ev"/>). Each entry is x = d − fl(η·e) (one
    /// product, one difference) and each norm's squares fl(x·x) are summed in index order from +0, then the square root: the
    /// bits of that update and norm done for one forcing alone by a plain loop. The products, differences and squares are
    /// taken four lanes at a time (each lane the scalar operation, so its rounding); the four sums take the lanes' squares one
    /// by one in index order, four independent chains.
    /// </summary>
    public static (double AW, double BW, double AV, double BV) AxpyNorms4(double eta, Span<double> aw, Span<double> bw,
        ReadOnlySpan<double> ew, Span<double> av, Span<double> bv, ReadOnlySpan<double> ev)
    {
        int n = aw.Length;
        if (bw.Length != n || av.Length != n || bv.Length != n || ew.Length < n || ev.Length < n)
            throw new ArgumentException("the four forcings must have one length, and E^W, E^V at least that length");
        ref double raw = ref MemoryMarshal.GetReference(aw), rbw = ref MemoryMarshal.GetReference(bw);
        ref double rav = ref MemoryMarshal.GetReference(av), rbv = ref MemoryMarshal.GetReference(bv);
        ref double rew = ref MemoryMarshal.GetReference(ew), rev = ref MemoryMarshal.GetReference(ev);
        double saw = 0, sbw = 0, sav = 0, sbv = 0;
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var veta = Vector256.Create(eta);
            for (; i + 4 <= n; i += 4)
            {
                nuint at = (nuint)i;
                var e1 = veta * Vector256.LoadUnsafe(ref rew, at);
                var e2 = veta * Vector256.LoadUnsafe(ref rev, at);
                var xaw = Vector256.LoadUnsafe(ref raw, at) - e1; xaw.StoreUnsafe(ref raw, at);
                var xbw = Vector256.LoadUnsafe(ref rbw, at) - e1; xbw.StoreUnsafe(ref rbw, at);
                var xav = Vector256.LoadUnsafe(ref rav, at) - e2; xav.StoreUnsafe(ref rav, at);
                var xbv = Vector256.LoadUnsafe(ref rbv, at) - e2; xbv.StoreUnsafe(ref rbv, at);
                var qaw = xaw * xaw; var qbw = xbw * xbw; var qav = xav * xav; var qbv = xbv * xbv;
                saw = saw + qaw.GetElement(0); sbw = sbw + qbw.GetElement(0); sav = sav + qav.GetElement(0); sbv = sbv + qbv.GetElement(0);
                saw = saw + qaw.GetElement(1); sbw = sbw + qbw.GetElement(1); sav = sav + qav.GetElement(1); sbv = sbv + qbv.GetElement(1);
                saw = saw + qaw.GetElement(2); sbw = sbw + qbw.GetElement(2); sav = sav + qav.GetElement(2); sbv = sbv + qbv.GetElement(2);
                saw = saw + qaw.GetElement(3); sbw = sbw + qbw.GetElement(3); sav = sav + qav.GetElement(3); sbv = sbv + qbv.GetElement(3);
            }
        }
        for (; i < n; i++)
        {
            double e1 = eta * Unsafe.Add(ref rew, i), e2 = eta * Unsafe.Add(ref rev, i);
            double xaw = Unsafe.Add(ref raw, i) - e1, xbw = Unsafe.Add(ref rbw, i) - e1;
            double xav = Unsafe.Add(ref rav, i) - e2, xbv = Unsafe.Add(ref rbv, i) - e2;
            Unsafe.Add(ref raw, i) = xaw; Unsafe.Add(ref rbw, i) = xbw; Unsafe.Add(ref rav, i) = xav; Unsafe.Add(ref rbv, i) = xbv;
            saw = saw + xaw * xaw; sbw = sbw + xbw * xbw; sav = sav + xav * xav; sbv = sbv + xbv * xbv;
        }
        return (Math.Sqrt(saw), Math.Sqrt(sbw), Math.Sqrt(sav), Math.Sqrt(sbv));
    }
}
