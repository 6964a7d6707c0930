using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using ResOdeProofs.Numerics.Model;

namespace ResOdeProofs.Numerics.Verification;

/// <summary>
/// The ±1 sequence of the noisy companion (xorshift64: s ^= s &lt;&lt; 13, s ^= s &gt;&gt; 7, s ^= s &lt;&lt; 17, then +1 when
/// the lowest bit of s is 0, −1 when it is 1), 64 draws at a time. The step is linear over GF(2), so the 64 next output
/// bits and the state 64 steps on are linear functions of the state: each is found by eight table look-ups, one per byte
/// of the state (tables built once from the step itself). The draws are exactly those of the step taken one at a time
/// (tested against it); they come out as bits, draw t at bit t mod 64 of word t / 64.
/// </summary>
internal sealed class NoiseSigns
{
    private static readonly ulong[] OutTable = new ulong[8 * 256], JumpTable = new ulong[8 * 256];

    /// <summary>±1.0 of the eight bits of a byte: entry 8b + l is −1 when bit l of b is set.</summary>
    private static readonly double[] SignOfBit = new double[256 * 8];

    static NoiseSigns()
    {
        var outCol = new ulong[64]; var jumpCol = new ulong[64];
        for (int j = 0; j < 64; j++)
        {
            ulong s = 1UL << j, bits = 0;
            for (int t = 0; t < 64; t++) { s = Step(s); bits |= (s & 1) << t; }
            outCol[j] = bits; jumpCol[j] = s;
        }
        for (int b = 0; b < 8; b++)
            for (int v = 0; v < 256; v++)
            {
                ulong o = 0, js = 0;
                for (int t = 0; t < 8; t++) if ((v >> t & 1) != 0) { o ^= outCol[8 * b + t]; js ^= jumpCol[8 * b + t]; }
                OutTable[b * 256 + v] = o; JumpTable[b * 256 + v] = js;
            }
        for (int v = 0; v < 256; v++)
            for (int l = 0; l < 8; l++) SignOfBit[v * 8 + l] = (v >> l & 1) != 0 ? -1.0 : 1.0;
    }

    /// <summary>One step of the generator (the definition the tables are built from).</summary>
    internal static ulong Step(ulong s)
    {
        s ^= s << 13; s ^= s >> 7; s ^= s << 17;
        return s;
    }

    private ulong _state, _pending;
    private int _available;   // draws left in _pending, at its low bits

    public NoiseSigns(ulong seed) { _state = seed; }

    /// <summary>The next 64 draws (draw t at bit t), the state moved 64 steps on.</summary>
    private ulong Next64()
    {
        ulong s = _state, o = 0, js = 0;
        for (int b = 0; b < 8; b++)
        {
            int v = (int)(s >> (8 * b)) & 255;
            o ^= OutTable[b * 256 + v]; js ^= JumpTable[b * 256 + v];
        }
        _state = js;
        return o;
    }

    /// <summary>The next k draws (1 ≤ k ≤ 64) at bits 0..k−1.</summary>
    private ulong Take(int k)
    {
        ulong mask = k == 64 ? ulong.MaxValue : (1UL << k) - 1;
        if (_available >= k)
        {
            ulong r = _pending & mask;
            _pending = k == 64 ? 0 : _pending >> k;
            _available -= k;
            return r;
        }
        ulong fresh = Next64();
        int need = k - _available;   // 1..64, taken from the fresh word
        ulong taken = (_pending | fresh << _available) & mask;
        _pending = need == 64 ? 0 : fresh >> need;
        _available = 64 - need;
        return taken;
    }

    /// <summary>The next <paramref name="count"/> draws into <paramref name="bits"/> (draw t at bit t mod 64 of word t / 64).</summary>
    public void Fill(Span<ulong> bits, int count)
    {
        int full = count / 64, rest = count % 64;
        for (int i = 0; i < full; i++) bits[i] = Take(64);
        if (rest > 0) bits[full] = Take(rest);
    }

    // the even bits of x packed into the low 32 bits
    private static uint EvenBits(ulong x)
    {
        x &= 0x5555555555555555UL;
        x = (x | x >> 1) & 0x3333333333333333UL;
        x = (x | x >> 2) & 0x0F0F0F0F0F0F0F0FUL;
        x = (x | x >> 4) & 0x00FF00FF00FF00FFUL;
        x = (x | x >> 8) & 0x0000FFFF0000FFFFUL;
        x = (x | x >> 16) & 0x00000000FFFFFFFFUL;
        return (uint)x;
    }

    /// <summary>
    /// The noisy companion's injected error, one step: with the next 2·total draws taken in the order
    /// (w_0, v_0, w_1, v_1, …) as signs ς, w_q += ς·(u·|w_q| + ητ·|gw_q|) and v_q += ς·(u·|v_q| + ητ·|gv_q|), each
    /// entry with the operations of the scalar formula in its order (two products, a sum, the sign's product, the sum;
    /// no fused multiply-add), in vector lanes. <paramref name="bits"/>: scratch of (2·total + 63) / 64 words.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Inject(SimdLevel level, Span<double> w, Span<double> v, ReadOnlySpan<double> gw, ReadOnlySpan<double> gv,
        double u, double etaTau, Span<ulong> bits)
    {
        int total = w.Length;
        Fill(bits, 2 * total);
        ref double rw = ref MemoryMarshal.GetReference(w), rv = ref MemoryMarshal.GetReference(v);
        ref double rgw = ref MemoryMarshal.GetReference(gw), rgv = ref MemoryMarshal.GetReference(gv);
        ref double signs = ref MemoryMarshal.GetArrayDataReference(SignOfBit);
        int q = 0;
        // 32 entries of w and of v per word of draws: w's signs at the even bits, v's at the odd ones
        for (int t = 0; q + 32 <= total; t++, q += 32)
        {
            uint sw = EvenBits(bits[t]), sv = EvenBits(bits[t] >> 1);
            for (int c = 0; c < 4; c++)
            {
                int at = q + 8 * c;
                ref double signW = ref Unsafe.Add(ref signs, (int)(sw >> (8 * c) & 255) * 8);
                ref double signV = ref Unsafe.Add(ref signs, (int)(sv >> (8 * c) & 255) * 8);
                if (level == SimdLevel.Vector512)
                {
                    Update512(ref Unsafe.Add(ref rw, at), ref Unsafe.Add(ref rgw, at), ref signW, u, etaTau);
                    Update512(ref Unsafe.Add(ref rv, at), ref Unsafe.Add(ref rgv, at), ref signV, u, etaTau);
                }
                else if (level == SimdLevel.Vector256)
                {
                    for (int h = 0; h < 8; h += 4)
                    {
                        Update256(ref Unsafe.Add(ref rw, at + h), ref Unsafe.Add(ref rgw, at + h), ref Unsafe.Add(ref signW, h), u, etaTau);
                        Update256(ref Unsafe.Add(ref rv, at + h), ref Unsafe.Add(ref rgv, at + h), ref Unsafe.Add(ref signV, h), u, etaTau);
                    }
                }
                else
                    for (int l = 0; l < 8; l++)
                    {
                        ref double x = ref Unsafe.Add(ref rw, at + l);
                        x += Unsafe.Add(ref signW, l) * (u * Math.Abs(x) + etaTau * Math.Abs(Unsafe.Add(ref rgw, at + l)));
                        ref double y = ref Unsafe.Add(ref rv, at + l);
                        y += Unsafe.Add(ref signV, l) * (u * Math.Abs(y) + etaTau * Math.Abs(Unsafe.Add(ref rgv, at + l)));
                    }
            }
        }
        for (; q < total; q++)
        {
            double sw = (bits[2 * q / 64] >> (2 * q % 64) & 1) != 0 ? -1.0 : 1.0;
            double sv = (bits[(2 * q + 1) / 64] >> ((2 * q + 1) % 64) & 1) != 0 ? -1.0 : 1.0;
            w[q] += sw * (u * Math.Abs(w[q]) + etaTau * Math.Abs(gw[q]));
            v[q] += sv * (u * Math.Abs(v[q]) + etaTau * Math.Abs(gv[q]));
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Update512(ref double x, ref double g, ref double sign, double u, double etaTau)
    {
        var xv = Vector512.LoadUnsafe(ref x);
        var mag = Vector512.Create(u) * Vector512.Abs(xv) + Vector512.Create(etaTau) * Vector512.Abs(Vector512.LoadUnsafe(ref g));
        (xv + Vector512.LoadUnsafe(ref sign) * mag).StoreUnsafe(ref x);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Update256(ref double x, ref double g, ref double sign, double u, double etaTau)
    {
        var xv = Vector256.LoadUnsafe(ref x);
        var mag = Vector256.Create(u) * Vector256.Abs(xv) + Vector256.Create(etaTau) * Vector256.Abs(Vector256.LoadUnsafe(ref g));
        (xv + Vector256.LoadUnsafe(ref sign) * mag).StoreUnsafe(ref x);
    }
}
