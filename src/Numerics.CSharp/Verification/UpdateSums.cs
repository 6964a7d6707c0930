using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace ResOdeProofs.Numerics.Verification;

/// <summary>
/// The per-layer sums of squares the split recursion reads at every iterate of the observed replay (the rounding of the
/// stored update per layer, the largest layer and gradient norms of the centre's remainder): one pass over W, V and the
/// gradient for all of them. Each sum is taken in index order from +0 with one product and one sum per term, exactly as a
/// plain loop over its layer takes it, so each has that loop's bits; the loop runs two layers side by side, ten
/// independent chains of additions instead of one chain after another (the chain of dependent additions is the cost).
/// </summary>
public static class UpdateSums
{
    /// <summary>
    /// For every layer k of the L = <paramref name="w"/>.Length / <paramref name="md"/> layers: sw[k] = Σ_i W_k[i]²,
    /// sv[k], sgw[k], sgv[k] likewise for V_k, G^W_k, G^V_k, and sg[k] = Σ_i (G^W_k[i]² + G^V_k[i]²) as s ← (s + a·a) + b·b
    /// entry by entry (the gradient's joint norm); every sum in index order from +0.
    /// </summary>
    public static void LayerSquares(ReadOnlySpan<double> w, ReadOnlySpan<double> v, ReadOnlySpan<double> gw, ReadOnlySpan<double> gv,
        int md, Span<double> sw, Span<double> sv, Span<double> sgw, Span<double> sgv, Span<double> sg)
    {
        if (md <= 0) throw new ArgumentException("the layer size must be positive", nameof(md));
        int n = w.Length;
        if (v.Length != n || gw.Length != n || gv.Length != n || n % md != 0)
            throw new ArgumentException("W, V and the two gradients must hold the same whole number of layers");
        int layers = n / md;
        if (sw.Length < layers || sv.Length < layers || sgw.Length < layers || sgv.Length < layers || sg.Length < layers)
            throw new ArgumentException("an output holds fewer entries than there are layers");
        // the lengths are checked above: the loop reads through references, without a bounds check per entry
        ref double rw = ref MemoryMarshal.GetReference(w), rv = ref MemoryMarshal.GetReference(v);
        ref double rgw = ref MemoryMarshal.GetReference(gw), rgv = ref MemoryMarshal.GetReference(gv);
        int k = 0;
        for (; k + 1 < layers; k += 2)
        {
            int a = k * md, b = a + md;
            double w0 = 0, v0 = 0, gw0 = 0, gv0 = 0, g0 = 0, w1 = 0, v1 = 0, gw1 = 0, gv1 = 0, g1 = 0;
            for (int i = 0; i < md; i++)
            {
                double xw0 = Unsafe.Add(ref rw, a + i), xv0 = Unsafe.Add(ref rv, a + i);
                double xg0 = Unsafe.Add(ref rgw, a + i), xh0 = Unsafe.Add(ref rgv, a + i);
                double xw1 = Unsafe.Add(ref rw, b + i), xv1 = Unsafe.Add(ref rv, b + i);
                double xg1 = Unsafe.Add(ref rgw, b + i), xh1 = Unsafe.Add(ref rgv, b + i);
                w0 = w0 + xw0 * xw0; v0 = v0 + xv0 * xv0; gw0 = gw0 + xg0 * xg0; gv0 = gv0 + xh0 * xh0;
                g0 = g0 + xg0 * xg0 + xh0 * xh0;
                w1 = w1 + xw1 * xw1; v1 = v1 + xv1 * xv1; gw1 = gw1 + xg1 * xg1; gv1 = gv1 + xh1 * xh1;
                g1 = g1 + xg1 * xg1 + xh1 * xh1;
            }
            sw[k] = w0; sv[k] = v0; sgw[k] = gw0; sgv[k] = gv0; sg[k] = g0;
            sw[k + 1] = w1; sv[k + 1] = v1; sgw[k + 1] = gw1; sgv[k + 1] = gv1; sg[k + 1] = g1;
        }
        for (; k < layers; k++)
        {
            int a = k * md;
            double w0 = 0, v0 = 0, gw0 = 0, gv0 = 0, g0 = 0;
            for (int i = 0; i < md; i++)
            {
                double xw0 = Unsafe.Add(ref rw, a + i), xv0 = Unsafe.Add(ref rv, a + i);
                double xg0 = Unsafe.Add(ref rgw, a + i), xh0 = Unsafe.Add(ref rgv, a + i);
                w0 = w0 + xw0 * xw0; v0 = v0 + xv0 * xv0; gw0 = gw0 + xg0 * xg0; gv0 = gv0 + xh0 * xh0;
                g0 = g0 + xg0 * xg0 + xh0 * xh0;
            }
            sw[k] = w0; sv[k] = v0; sgw[k] = gw0; sgv[k] = gv0; sg[k] = g0;
        }
    }
}
