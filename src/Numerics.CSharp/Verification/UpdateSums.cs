using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using ResOdeProofs.Numerics.Model;

namespace ResOdeProofs.Numerics.Verification;

/// <summary>
/// The sums of squares the split recursion forms at every iterate of the observed replay: per layer (the rounding of the
/// stored update per layer, the largest layer and gradient norms of the centre's remainder), one pass over W, V and the
/// gradient for all of them; and the norms of the accumulated forcings as they are stepped (<see cref="AxpyNorms4"/>).
/// Each sum has the bits of <see cref="FastKernels.SumSquares{T}"/> at the given level over its array (two vector
/// accumulators taking alternate vectors, their sum reduced, the entries past the last pair of vectors added one by one in
/// index order). Until 2026-12-05 each was one chain of scalar additions in index order: another order of the same terms,
/// within the same rounding bound (γ over the number of terms, whatever their order), whose dependent additions were the
/// cost.
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
    /// product, one difference, in vector lanes: each lane the scalar operation, so the entries are a plain loop's bits) and
    /// each norm the square root of <see cref="FastKernels.SumSquares{T}"/> at <paramref name="level"/> over the new entries,
    /// its bits, summed in the same pass.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static (double AW, double BW, double AV, double BV) AxpyNorms4(SimdLevel level, double eta, Span<double> aw, Span<double> bw,
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
        if (level == SimdLevel.Vector512 && n >= 16)
        {
            var veta = Vector512.Create(eta);
            Vector512<double> aw0 = default, aw1 = default, bw0 = default, bw1 = default, av0 = default, av1 = default, bv0 = default, bv1 = default;
            for (; i + 16 <= n; i += 16)
            {
                nuint a = (nuint)i, b = (nuint)(i + 8);
                var e1 = veta * Vector512.LoadUnsafe(ref rew, a); var e2 = veta * Vector512.LoadUnsafe(ref rev, a);
                var x = Vector512.LoadUnsafe(ref raw, a) - e1; x.StoreUnsafe(ref raw, a); aw0 = Vector512.FusedMultiplyAdd(x, x, aw0);
                x = Vector512.LoadUnsafe(ref rbw, a) - e1; x.StoreUnsafe(ref rbw, a); bw0 = Vector512.FusedMultiplyAdd(x, x, bw0);
                x = Vector512.LoadUnsafe(ref rav, a) - e2; x.StoreUnsafe(ref rav, a); av0 = Vector512.FusedMultiplyAdd(x, x, av0);
                x = Vector512.LoadUnsafe(ref rbv, a) - e2; x.StoreUnsafe(ref rbv, a); bv0 = Vector512.FusedMultiplyAdd(x, x, bv0);
                e1 = veta * Vector512.LoadUnsafe(ref rew, b); e2 = veta * Vector512.LoadUnsafe(ref rev, b);
                x = Vector512.LoadUnsafe(ref raw, b) - e1; x.StoreUnsafe(ref raw, b); aw1 = Vector512.FusedMultiplyAdd(x, x, aw1);
                x = Vector512.LoadUnsafe(ref rbw, b) - e1; x.StoreUnsafe(ref rbw, b); bw1 = Vector512.FusedMultiplyAdd(x, x, bw1);
                x = Vector512.LoadUnsafe(ref rav, b) - e2; x.StoreUnsafe(ref rav, b); av1 = Vector512.FusedMultiplyAdd(x, x, av1);
                x = Vector512.LoadUnsafe(ref rbv, b) - e2; x.StoreUnsafe(ref rbv, b); bv1 = Vector512.FusedMultiplyAdd(x, x, bv1);
            }
            saw = Vector512.Sum(aw0 + aw1); sbw = Vector512.Sum(bw0 + bw1); sav = Vector512.Sum(av0 + av1); sbv = Vector512.Sum(bv0 + bv1);
        }
        else if (level == SimdLevel.Vector256 && n >= 8)
        {
            var veta = Vector256.Create(eta);
            Vector256<double> aw0 = default, aw1 = default, bw0 = default, bw1 = default, av0 = default, av1 = default, bv0 = default, bv1 = default;
            for (; i + 8 <= n; i += 8)
            {
                nuint a = (nuint)i, b = (nuint)(i + 4);
                var e1 = veta * Vector256.LoadUnsafe(ref rew, a); var e2 = veta * Vector256.LoadUnsafe(ref rev, a);
                var x = Vector256.LoadUnsafe(ref raw, a) - e1; x.StoreUnsafe(ref raw, a); aw0 = Vector256.FusedMultiplyAdd(x, x, aw0);
                x = Vector256.LoadUnsafe(ref rbw, a) - e1; x.StoreUnsafe(ref rbw, a); bw0 = Vector256.FusedMultiplyAdd(x, x, bw0);
                x = Vector256.LoadUnsafe(ref rav, a) - e2; x.StoreUnsafe(ref rav, a); av0 = Vector256.FusedMultiplyAdd(x, x, av0);
                x = Vector256.LoadUnsafe(ref rbv, a) - e2; x.StoreUnsafe(ref rbv, a); bv0 = Vector256.FusedMultiplyAdd(x, x, bv0);
                e1 = veta * Vector256.LoadUnsafe(ref rew, b); e2 = veta * Vector256.LoadUnsafe(ref rev, b);
                x = Vector256.LoadUnsafe(ref raw, b) - e1; x.StoreUnsafe(ref raw, b); aw1 = Vector256.FusedMultiplyAdd(x, x, aw1);
                x = Vector256.LoadUnsafe(ref rbw, b) - e1; x.StoreUnsafe(ref rbw, b); bw1 = Vector256.FusedMultiplyAdd(x, x, bw1);
                x = Vector256.LoadUnsafe(ref rav, b) - e2; x.StoreUnsafe(ref rav, b); av1 = Vector256.FusedMultiplyAdd(x, x, av1);
                x = Vector256.LoadUnsafe(ref rbv, b) - e2; x.StoreUnsafe(ref rbv, b); bv1 = Vector256.FusedMultiplyAdd(x, x, bv1);
            }
            saw = Vector256.Sum(aw0 + aw1); sbw = Vector256.Sum(bw0 + bw1); sav = Vector256.Sum(av0 + av1); sbv = Vector256.Sum(bv0 + bv1);
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
