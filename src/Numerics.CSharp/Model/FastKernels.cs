using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace ResOdeProofs.Numerics.Model;

/// <summary>
/// The engine's hot loops, at the width <see cref="Simd.Level"/> chooses. One general small-GEMM,
/// <code>
/// C[i,j] ← [C[i,j] +] α·Σ_k A(i,k)·B[k,j],   A(i,k) = a[i·ars + k·aks],
/// </code>
/// with B (inner×cols) and C (rows×cols) row-major, covers the four products of a residual block:
/// ars = inner, aks = 1 is A·B and ars = 1, aks = rows is Aᵀ·B for A stored inner×rows. The sum over k
/// runs in increasing k in every lane, so a result depends only on the level, never on timing.
/// Nothing here allocates.
/// </summary>
internal static class FastKernels
{
    /// <summary>
    /// The general small GEMM (see the class summary; spans are checked once, loops run unchecked), followed, when
    /// <paramref name="multiplier"/> is not empty, by C ← C ⊙ multiplier
    /// (rows×cols, same layout as C) in the same pass: each entry is the GEMM's stored value times the multiplier,
    /// rounded once more, i.e. bit for bit the GEMM followed by <see cref="MultiplyInPlace{T}"/>. With
    /// <paramref name="accumulate"/> and a <paramref name="source"/> (rows×cols, same layout as C, not overlapping C), the
    /// term added is read from the source instead of C: C ← source + α·Σ, bit for bit a copy of the source into C followed
    /// by the accumulating GEMM, without the copy's pass.
    /// </summary>
    public static unsafe void Gemm<T>(SimdLevel level, ReadOnlySpan<T> a, int ars, int aks, ReadOnlySpan<T> b, Span<T> c,
        int rows, int inner, int cols, T alpha, bool accumulate, ReadOnlySpan<T> multiplier = default, ReadOnlySpan<T> source = default)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (rows == 0 || cols == 0) return;
        bool multiply = !multiplier.IsEmpty, fromSource = !source.IsEmpty;
        if (c.Length < rows * cols || b.Length < inner * cols || (inner > 0 && a.Length <= (rows - 1) * ars + (inner - 1) * aks)
            || (multiply && multiplier.Length < rows * cols) || (fromSource && source.Length < rows * cols))
            throw new ArgumentException("GEMM operand too short for the given sizes");
        if (fromSource && (!accumulate || source.Slice(0, rows * cols).Overlaps(c.Slice(0, rows * cols))))
            throw new ArgumentException("a GEMM source needs accumulate and must not overlap C");
        ref T ra = ref MemoryMarshal.GetReference(a);
        ref T rb = ref MemoryMarshal.GetReference(b);
        // The vector kernels reach the multiplier and the source through their byte offsets from C. They may be other
        // arrays than C, and a garbage collection (started by any thread) may move any one while the kernel runs, which
        // would leave an offset pointing anywhere: all are pinned for the call, so the offsets stay valid.
        fixed (T* pc = c)
        fixed (T* pm = multiplier)
        fixed (T* ps = source)
        {
            ref T rc = ref Unsafe.AsRef<T>(pc);
            ref T rm = ref multiply ? ref Unsafe.AsRef<T>(pm) : ref rc;
            ref T rs = ref fromSource ? ref Unsafe.AsRef<T>(ps) : ref rc;
            switch (level)
            {
                case SimdLevel.Vector512: Gemm512.Run(ref ra, ars, aks, ref rb, ref rc, rows, inner, cols, alpha, accumulate, ref rm, multiply, ref rs); break;
                case SimdLevel.Vector256: Gemm256.Run(ref ra, ars, aks, ref rb, ref rc, rows, inner, cols, alpha, accumulate, ref rm, multiply, ref rs); break;
                default: ScalarColumns(ref ra, ars, aks, ref rb, ref rc, rows, inner, cols, 0, alpha, accumulate, ref rm, multiply, ref rs); break;
            }
        }
    }

    /// <summary>Columns j0..cols−1 of the GEMM in scalar code (the fallback and the vector kernels' edge).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void ScalarColumns<T>(ref T a, int ars, int aks, ref T b, ref T c, int rows, int inner, int cols, int j0,
        T alpha, bool accumulate, ref T mul, bool multiply, ref T src) where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int i = 0; i < rows; i++)
        {
            ref T ai = ref Unsafe.Add(ref a, i * ars);
            for (int j = j0; j < cols; j++)
            {
                T s = T.Zero;
                for (int k = 0; k < inner; k++) s += Unsafe.Add(ref ai, k * aks) * Unsafe.Add(ref b, k * cols + j);
                ref T cij = ref Unsafe.Add(ref c, i * cols + j);
                cij = accumulate ? Unsafe.Add(ref src, i * cols + j) + alpha * s : alpha * s;
                if (multiply) cij *= Unsafe.Add(ref mul, i * cols + j);
            }
        }
    }

    /// <summary>
    /// dst (cols×rows) ← srcᵀ for src rows×cols (unchecked after one length check). Doubles with AVX-512 and floats with AVX
    /// move in 8×8 blocks (eight vector loads, twenty-four shuffles, eight stores) over the rows in groups of eight; the
    /// rest, and doubles without AVX-512, four source rows at a time: where the hardware has the shuffles (AVX for double, SSE for float)
    /// each 4×4 block moves as four vector loads, eight shuffles and four vector stores instead of sixteen scalar moves.
    /// A copy every way, so the result is the same.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Transpose<T>(ReadOnlySpan<T> src, Span<T> dst, int rows, int cols) where T : unmanaged
    {
        if (src.Length < rows * cols || dst.Length < rows * cols) throw new ArgumentException("transpose operand too short");
        ref T s0 = ref MemoryMarshal.GetReference(src);
        ref T d0 = ref MemoryMarshal.GetReference(dst);
        int r = 0;
        if ((typeof(T) == typeof(double) && Avx512F.IsSupported || typeof(T) == typeof(float) && Avx.IsSupported) && cols >= 8)
        {
            for (; r + 8 <= rows; r += 8)
            {
                ref T a = ref Unsafe.Add(ref s0, r * cols);
                int c = 0;
                if (typeof(T) == typeof(double))
                    for (; c + 8 <= cols; c += 8)
                        Transpose8x8(ref Unsafe.As<T, double>(ref Unsafe.Add(ref a, c)), cols, ref Unsafe.As<T, double>(ref Unsafe.Add(ref d0, c * rows + r)), rows);
                else
                    for (; c + 8 <= cols; c += 8)
                        Transpose8x8(ref Unsafe.As<T, float>(ref Unsafe.Add(ref a, c)), cols, ref Unsafe.As<T, float>(ref Unsafe.Add(ref d0, c * rows + r)), rows);
                for (; c < cols; c++)
                {
                    ref T o = ref Unsafe.Add(ref d0, c * rows + r);
                    for (int i = 0; i < 8; i++) Unsafe.Add(ref o, i) = Unsafe.Add(ref a, i * cols + c);
                }
            }
        }
        for (; r + 4 <= rows; r += 4)
        {
            ref T a = ref Unsafe.Add(ref s0, r * cols);
            ref T b = ref Unsafe.Add(ref a, cols);
            ref T e = ref Unsafe.Add(ref b, cols);
            ref T f = ref Unsafe.Add(ref e, cols);
            int c = 0;
            if (typeof(T) == typeof(double) && Avx.IsSupported)
                for (; c + 4 <= cols; c += 4)
                    Transpose4x4(ref Unsafe.As<T, double>(ref Unsafe.Add(ref a, c)), cols, ref Unsafe.As<T, double>(ref Unsafe.Add(ref d0, c * rows + r)), rows);
            else if (typeof(T) == typeof(float) && Sse.IsSupported)
                for (; c + 4 <= cols; c += 4)
                    Transpose4x4(ref Unsafe.As<T, float>(ref Unsafe.Add(ref a, c)), cols, ref Unsafe.As<T, float>(ref Unsafe.Add(ref d0, c * rows + r)), rows);
            for (; c < cols; c++)
            {
                ref T o = ref Unsafe.Add(ref d0, c * rows + r);
                o = Unsafe.Add(ref a, c);
                Unsafe.Add(ref o, 1) = Unsafe.Add(ref b, c);
                Unsafe.Add(ref o, 2) = Unsafe.Add(ref e, c);
                Unsafe.Add(ref o, 3) = Unsafe.Add(ref f, c);
            }
        }
        for (; r < rows; r++)
            for (int c = 0; c < cols; c++) Unsafe.Add(ref d0, c * rows + r) = Unsafe.Add(ref s0, r * cols + c);
    }

    /// <summary>
    /// The 8×8 double block at s (row stride ss) transposed to d (row stride ds) on 512-bit vectors: rows a..h; unpacking
    /// pairs of rows gives (a0 b0 a2 b2 a4 b4 a6 b6) and (a1 b1 a3 b3 …), two rounds of 128-bit lane selections
    /// (<c>vshuff64x2</c>) then gather each column's four pairs.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose8x8(ref double s, int ss, ref double d, int ds)
    {
        var r0 = Vector512.LoadUnsafe(ref s); var r1 = Vector512.LoadUnsafe(ref s, (nuint)ss);
        var r2 = Vector512.LoadUnsafe(ref s, (nuint)(2 * ss)); var r3 = Vector512.LoadUnsafe(ref s, (nuint)(3 * ss));
        var r4 = Vector512.LoadUnsafe(ref s, (nuint)(4 * ss)); var r5 = Vector512.LoadUnsafe(ref s, (nuint)(5 * ss));
        var r6 = Vector512.LoadUnsafe(ref s, (nuint)(6 * ss)); var r7 = Vector512.LoadUnsafe(ref s, (nuint)(7 * ss));
        var t0 = Avx512F.UnpackLow(r0, r1); var t1 = Avx512F.UnpackHigh(r0, r1);   // a0 b0 a2 b2 a4 b4 a6 b6 / a1 b1 a3 b3 …
        var t2 = Avx512F.UnpackLow(r2, r3); var t3 = Avx512F.UnpackHigh(r2, r3);   // c, d likewise
        var t4 = Avx512F.UnpackLow(r4, r5); var t5 = Avx512F.UnpackHigh(r4, r5);   // e, f
        var t6 = Avx512F.UnpackLow(r6, r7); var t7 = Avx512F.UnpackHigh(r6, r7);   // g, h
        // 128-bit lanes 0 and 2 of the first operand, then 0 and 2 of the second (0x88); lanes 1 and 3 (0xDD)
        var u0 = Avx512F.Shuffle4x128(t0, t2, 0x88); var u2 = Avx512F.Shuffle4x128(t0, t2, 0xDD);   // a0 b0 a4 b4 c0 d0 c4 d4 / a2 b2 …
        var u1 = Avx512F.Shuffle4x128(t1, t3, 0x88); var u3 = Avx512F.Shuffle4x128(t1, t3, 0xDD);   // a1 b1 a5 b5 c1 d1 c5 d5 / a3 …
        var u4 = Avx512F.Shuffle4x128(t4, t6, 0x88); var u6 = Avx512F.Shuffle4x128(t4, t6, 0xDD);   // e0 f0 e4 f4 g0 h0 g4 h4 / e2 …
        var u5 = Avx512F.Shuffle4x128(t5, t7, 0x88); var u7 = Avx512F.Shuffle4x128(t5, t7, 0xDD);
        Avx512F.Shuffle4x128(u0, u4, 0x88).StoreUnsafe(ref d);                    // a0 b0 c0 d0 e0 f0 g0 h0
        Avx512F.Shuffle4x128(u1, u5, 0x88).StoreUnsafe(ref d, (nuint)ds);
        Avx512F.Shuffle4x128(u2, u6, 0x88).StoreUnsafe(ref d, (nuint)(2 * ds));
        Avx512F.Shuffle4x128(u3, u7, 0x88).StoreUnsafe(ref d, (nuint)(3 * ds));
        Avx512F.Shuffle4x128(u0, u4, 0xDD).StoreUnsafe(ref d, (nuint)(4 * ds));   // a4 b4 c4 d4 e4 f4 g4 h4
        Avx512F.Shuffle4x128(u1, u5, 0xDD).StoreUnsafe(ref d, (nuint)(5 * ds));
        Avx512F.Shuffle4x128(u2, u6, 0xDD).StoreUnsafe(ref d, (nuint)(6 * ds));
        Avx512F.Shuffle4x128(u3, u7, 0xDD).StoreUnsafe(ref d, (nuint)(7 * ds));
    }

    /// <summary>
    /// The 8×8 float block at s (row stride ss) transposed to d (row stride ds) on 256-bit vectors (AVX): unpacking pairs of
    /// rows, selecting pairs of pairs within each 128-bit half (<c>vshufps</c>), then joining the halves of two rows' results
    /// (<c>vperm2f128</c>).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose8x8(ref float s, int ss, ref float d, int ds)
    {
        var r0 = Vector256.LoadUnsafe(ref s); var r1 = Vector256.LoadUnsafe(ref s, (nuint)ss);
        var r2 = Vector256.LoadUnsafe(ref s, (nuint)(2 * ss)); var r3 = Vector256.LoadUnsafe(ref s, (nuint)(3 * ss));
        var r4 = Vector256.LoadUnsafe(ref s, (nuint)(4 * ss)); var r5 = Vector256.LoadUnsafe(ref s, (nuint)(5 * ss));
        var r6 = Vector256.LoadUnsafe(ref s, (nuint)(6 * ss)); var r7 = Vector256.LoadUnsafe(ref s, (nuint)(7 * ss));
        var t0 = Avx.UnpackLow(r0, r1); var t1 = Avx.UnpackHigh(r0, r1);   // a0 b0 a1 b1 | a4 b4 a5 b5 / a2 b2 a3 b3 | a6 b6 a7 b7
        var t2 = Avx.UnpackLow(r2, r3); var t3 = Avx.UnpackHigh(r2, r3);
        var t4 = Avx.UnpackLow(r4, r5); var t5 = Avx.UnpackHigh(r4, r5);
        var t6 = Avx.UnpackLow(r6, r7); var t7 = Avx.UnpackHigh(r6, r7);
        // within each 128-bit half: the low pairs of both (0x44) or the high pairs (0xEE)
        var u0 = Avx.Shuffle(t0, t2, 0x44); var u1 = Avx.Shuffle(t0, t2, 0xEE);   // a0 b0 c0 d0 | a4 b4 c4 d4 / a1 … | a5 …
        var u2 = Avx.Shuffle(t1, t3, 0x44); var u3 = Avx.Shuffle(t1, t3, 0xEE);   // a2 … | a6 … / a3 … | a7 …
        var u4 = Avx.Shuffle(t4, t6, 0x44); var u5 = Avx.Shuffle(t4, t6, 0xEE);   // e0 f0 g0 h0 | e4 … / e1 … | e5 …
        var u6 = Avx.Shuffle(t5, t7, 0x44); var u7 = Avx.Shuffle(t5, t7, 0xEE);
        Avx.Permute2x128(u0, u4, 0x20).StoreUnsafe(ref d);                      // a0 b0 c0 d0 e0 f0 g0 h0
        Avx.Permute2x128(u1, u5, 0x20).StoreUnsafe(ref d, (nuint)ds);
        Avx.Permute2x128(u2, u6, 0x20).StoreUnsafe(ref d, (nuint)(2 * ds));
        Avx.Permute2x128(u3, u7, 0x20).StoreUnsafe(ref d, (nuint)(3 * ds));
        Avx.Permute2x128(u0, u4, 0x31).StoreUnsafe(ref d, (nuint)(4 * ds));     // a4 b4 c4 d4 e4 f4 g4 h4
        Avx.Permute2x128(u1, u5, 0x31).StoreUnsafe(ref d, (nuint)(5 * ds));
        Avx.Permute2x128(u2, u6, 0x31).StoreUnsafe(ref d, (nuint)(6 * ds));
        Avx.Permute2x128(u3, u7, 0x31).StoreUnsafe(ref d, (nuint)(7 * ds));
    }

    /// <summary>The 4×4 double block at s (row stride ss) transposed to d (row stride ds): unpack pairs, then swap 128-bit halves.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose4x4(ref double s, int ss, ref double d, int ds)
    {
        var r0 = Vector256.LoadUnsafe(ref s); var r1 = Vector256.LoadUnsafe(ref s, (nuint)ss);
        var r2 = Vector256.LoadUnsafe(ref s, (nuint)(2 * ss)); var r3 = Vector256.LoadUnsafe(ref s, (nuint)(3 * ss));
        var t0 = Avx.UnpackLow(r0, r1);    // a0 b0 a2 b2
        var t1 = Avx.UnpackHigh(r0, r1);   // a1 b1 a3 b3
        var t2 = Avx.UnpackLow(r2, r3);    // c0 d0 c2 d2
        var t3 = Avx.UnpackHigh(r2, r3);   // c1 d1 c3 d3
        Avx.Permute2x128(t0, t2, 0x20).StoreUnsafe(ref d);
        Avx.Permute2x128(t1, t3, 0x20).StoreUnsafe(ref d, (nuint)ds);
        Avx.Permute2x128(t0, t2, 0x31).StoreUnsafe(ref d, (nuint)(2 * ds));
        Avx.Permute2x128(t1, t3, 0x31).StoreUnsafe(ref d, (nuint)(3 * ds));
    }

    /// <summary>The 4×4 float block at s (row stride ss) transposed to d (row stride ds) with SSE's unpacks and half moves.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose4x4(ref float s, int ss, ref float d, int ds)
    {
        var r0 = Vector128.LoadUnsafe(ref s); var r1 = Vector128.LoadUnsafe(ref s, (nuint)ss);
        var r2 = Vector128.LoadUnsafe(ref s, (nuint)(2 * ss)); var r3 = Vector128.LoadUnsafe(ref s, (nuint)(3 * ss));
        var t0 = Sse.UnpackLow(r0, r1);    // a0 b0 a1 b1
        var t1 = Sse.UnpackLow(r2, r3);    // c0 d0 c1 d1
        var t2 = Sse.UnpackHigh(r0, r1);   // a2 b2 a3 b3
        var t3 = Sse.UnpackHigh(r2, r3);   // c2 d2 c3 d3
        Sse.MoveLowToHigh(t0, t1).StoreUnsafe(ref d);
        Sse.MoveHighToLow(t1, t0).StoreUnsafe(ref d, (nuint)ds);
        Sse.MoveLowToHigh(t2, t3).StoreUnsafe(ref d, (nuint)(2 * ds));
        Sse.MoveHighToLow(t3, t2).StoreUnsafe(ref d, (nuint)(3 * ds));
    }

    /// <summary>
    /// Asks the hardware to bring the cache lines of x into the caches (one prefetch instruction per 64 bytes; nothing
    /// where the instruction set has none). A hint only: no value anywhere changes.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe void Prefetch<T>(ReadOnlySpan<T> x) where T : unmanaged
    {
        if (!Sse.IsSupported || x.IsEmpty) return;
        fixed (T* p = x)
        {
            byte* b = (byte*)p, e = b + (nint)x.Length * sizeof(T);
            for (; b < e; b += 64) Sse.Prefetch0(b);
        }
    }

    /// <summary>x ← x ⊙ y (<see cref="MultiplyInto{T}"/> with z = x: each entry is read before its own store, so the same
    /// bits).</summary>
    public static void MultiplyInPlace<T>(SimdLevel level, Span<T> x, ReadOnlySpan<T> y) where T : unmanaged, IFloatingPointIeee754<T> =>
        MultiplyInto<T>(level, x, y, x);

    /// <summary>z_i = x_i · y_i, one rounded product per entry (z may be x itself: <see cref="MultiplyInPlace{T}"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void MultiplyInto<T>(SimdLevel level, ReadOnlySpan<T> x, ReadOnlySpan<T> y, Span<T> z) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = x.Length, i = 0;
        if (y.Length < n || z.Length < n) throw new ArgumentException("operand too short");
        ref T rx = ref MemoryMarshal.GetReference(x);
        ref T ry = ref MemoryMarshal.GetReference(y);
        ref T rz = ref MemoryMarshal.GetReference(z);
        if (level == SimdLevel.Vector512)
            for (; i + Vector512<T>.Count <= n; i += Vector512<T>.Count)
                (Vector512.LoadUnsafe(ref rx, (nuint)i) * Vector512.LoadUnsafe(ref ry, (nuint)i)).StoreUnsafe(ref rz, (nuint)i);
        else if (level == SimdLevel.Vector256)
            for (; i + Vector256<T>.Count <= n; i += Vector256<T>.Count)
                (Vector256.LoadUnsafe(ref rx, (nuint)i) * Vector256.LoadUnsafe(ref ry, (nuint)i)).StoreUnsafe(ref rz, (nuint)i);
        for (; i < n; i++) Unsafe.Add(ref rz, i) = Unsafe.Add(ref rx, i) * Unsafe.Add(ref ry, i);
    }

    /// <summary>
    /// z_i = x_i · y_i (<see cref="MultiplyInto{T}"/>: one rounded product per entry, z may be x itself) and the range of x
    /// merged into min, max as <see cref="MinMax{T}"/> merges it (its comparisons and lane order, so its bits), in one pass.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void MultiplyIntoWithRange<T>(SimdLevel level, ReadOnlySpan<T> x, ReadOnlySpan<T> y, Span<T> z, ref double min, ref double max)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = x.Length, i = 0;
        if (y.Length < n || z.Length < n) throw new ArgumentException("operand too short");
        ref T rx = ref MemoryMarshal.GetReference(x);
        ref T ry = ref MemoryMarshal.GetReference(y);
        ref T rz = ref MemoryMarshal.GetReference(z);
        T lo = T.PositiveInfinity, hi = T.NegativeInfinity;
        if (level == SimdLevel.Vector512 && n >= Vector512<T>.Count)
        {
            var vlo = Vector512.Create(lo); var vhi = Vector512.Create(hi);
            for (; i + Vector512<T>.Count <= n; i += Vector512<T>.Count)
            {
                var v = Vector512.LoadUnsafe(ref rx, (nuint)i);
                vlo = Vector512.MinNative(v, vlo);   // v < vlo ? v : vlo in one instruction (vminp: the second operand on NaN or ±0)
                vhi = Vector512.MaxNative(v, vhi);
                (v * Vector512.LoadUnsafe(ref ry, (nuint)i)).StoreUnsafe(ref rz, (nuint)i);
            }
            for (int l = 0; l < Vector512<T>.Count; l++) { if (vlo[l] < lo) lo = vlo[l]; if (vhi[l] > hi) hi = vhi[l]; }
        }
        else if (level == SimdLevel.Vector256 && n >= Vector256<T>.Count)
        {
            var vlo = Vector256.Create(lo); var vhi = Vector256.Create(hi);
            for (; i + Vector256<T>.Count <= n; i += Vector256<T>.Count)
            {
                var v = Vector256.LoadUnsafe(ref rx, (nuint)i);
                vlo = Vector256.MinNative(v, vlo);   // v < vlo ? v : vlo in one instruction (vminp: the second operand on NaN or ±0)
                vhi = Vector256.MaxNative(v, vhi);
                (v * Vector256.LoadUnsafe(ref ry, (nuint)i)).StoreUnsafe(ref rz, (nuint)i);
            }
            for (int l = 0; l < Vector256<T>.Count; l++) { if (vlo[l] < lo) lo = vlo[l]; if (vhi[l] > hi) hi = vhi[l]; }
        }
        for (; i < n; i++)
        {
            T v = Unsafe.Add(ref rx, i);
            if (v < lo) lo = v;
            if (v > hi) hi = v;
            Unsafe.Add(ref rz, i) = v * Unsafe.Add(ref ry, i);
        }
        double dlo = double.CreateTruncating(lo), dhi = double.CreateTruncating(hi);
        if (dlo < min) min = dlo;
        if (dhi > max) max = dhi;
    }

    /// <summary>
    /// min ← min(min, x_i), max ← max(max, x_i) over the entries, ignoring NaN entries as the scalar comparisons
    /// <c>if (u &lt; min) min = u</c> do. At a vector level each lane takes its entries in order with lo ← (v &lt; lo ? v : lo)
    /// (one <c>vminp</c>: <c>MinNative(v, lo)</c> keeps its second operand on NaN or equal zeros; the vector levels are only
    /// chosen on x86, <see cref="Simd.Hardware"/>), then the lanes are merged in order and the tail entries taken one by one:
    /// the bits of that order, which for two zeros of different signs may differ from one scalar pass (tests:
    /// ReplayKeptLaneTests, the comparisons written out lane by lane).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void MinMax<T>(SimdLevel level, ReadOnlySpan<T> x, ref double min, ref double max) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = x.Length, i = 0;
        ref T rx = ref MemoryMarshal.GetReference(x);
        T lo = T.PositiveInfinity, hi = T.NegativeInfinity;
        if (level == SimdLevel.Vector512 && n >= Vector512<T>.Count)
        {
            var vlo = Vector512.Create(lo); var vhi = Vector512.Create(hi);
            for (; i + Vector512<T>.Count <= n; i += Vector512<T>.Count)
            {
                var v = Vector512.LoadUnsafe(ref rx, (nuint)i);
                vlo = Vector512.MinNative(v, vlo);   // v < vlo ? v : vlo in one instruction (vminp: the second operand on NaN or ±0)
                vhi = Vector512.MaxNative(v, vhi);
            }
            for (int l = 0; l < Vector512<T>.Count; l++) { if (vlo[l] < lo) lo = vlo[l]; if (vhi[l] > hi) hi = vhi[l]; }
        }
        else if (level == SimdLevel.Vector256 && n >= Vector256<T>.Count)
        {
            var vlo = Vector256.Create(lo); var vhi = Vector256.Create(hi);
            for (; i + Vector256<T>.Count <= n; i += Vector256<T>.Count)
            {
                var v = Vector256.LoadUnsafe(ref rx, (nuint)i);
                vlo = Vector256.MinNative(v, vlo);   // v < vlo ? v : vlo in one instruction (vminp: the second operand on NaN or ±0)
                vhi = Vector256.MaxNative(v, vhi);
            }
            for (int l = 0; l < Vector256<T>.Count; l++) { if (vlo[l] < lo) lo = vlo[l]; if (vhi[l] > hi) hi = vhi[l]; }
        }
        for (; i < n; i++) { T v = Unsafe.Add(ref rx, i); if (v < lo) lo = v; if (v > hi) hi = v; }
        double dlo = double.CreateTruncating(lo), dhi = double.CreateTruncating(hi);
        if (dlo < min) min = dlo;
        if (dhi > max) max = dhi;
    }

    /// <summary>Σ x_i² accumulated in double (float entries are widened first).</summary>
    public static double SumSquares<T>(SimdLevel level, ReadOnlySpan<T> x) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (typeof(T) == typeof(double) || typeof(T) == typeof(float)) return SumSquaresWide(level, x);
        double s = 0;
        for (int i = 0; i < x.Length; i++) { double v = double.CreateTruncating(x[i]); s += v * v; }
        return s;
    }

    /// <summary>
    /// Σ x_i² in double for double or float entries, 16 (512-bit) or 8 (256-bit) entries a trip in two accumulators. A
    /// float is widened exactly and its square is exact in double, so for floats only the order of the additions differs
    /// from the scalar loop (relative difference ≤ n·2⁻⁵³).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static double SumSquaresWide<T>(SimdLevel level, ReadOnlySpan<T> x) where T : unmanaged, IFloatingPointIeee754<T> =>
        SumSquaresAt(level, ref MemoryMarshal.GetReference(x), x.Length);

    /// <summary>
    /// max over the rows of x (rows×cols) of the Euclidean norm of the row, each row's Σ x² formed exactly as
    /// <see cref="SumSquares{T}"/> forms it; <paramref name="max"/> is raised to it (NaN propagates as in
    /// <c>if (!(nrm &lt;= max)) max = nrm</c>). One call per block of rows instead of one per row.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void MaxRowNorm<T>(SimdLevel level, ReadOnlySpan<T> x, int rows, int cols, ref double max) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (x.Length < rows * cols) throw new ArgumentException("operand too short");
        ref T r0 = ref MemoryMarshal.GetReference(x);
        for (int i = 0; i < rows; i++)
        {
            double nrm = Math.Sqrt(RowSumSquares(level, ref Unsafe.Add(ref r0, i * cols), cols));
            if (!(nrm <= max)) max = nrm;
        }
    }

    /// <summary>Σ over the rows of x (rows×cols) of the Euclidean norm of the row, in row order, each row's Σ x² as <see cref="SumSquares{T}"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static double SumRowNorms<T>(SimdLevel level, ReadOnlySpan<T> x, int rows, int cols) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (x.Length < rows * cols) throw new ArgumentException("operand too short");
        ref T r0 = ref MemoryMarshal.GetReference(x);
        double s = 0;
        for (int i = 0; i < rows; i++) s += Math.Sqrt(RowSumSquares(level, ref Unsafe.Add(ref r0, i * cols), cols));
        return s;
    }

    /// <summary>Σ_i ‖a_i‖·‖b_i‖ over the rows of a (rows×colsA) and b (rows×colsB), each row's norm as
    /// <see cref="SumRowNorms{T}"/> takes it: the size of a sum over samples of outer products a_i b_iᵀ.</summary>
    public static double SumRowNormProducts<T>(SimdLevel level, ReadOnlySpan<T> a, ReadOnlySpan<T> b, int rows, int colsA, int colsB)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (a.Length < rows * colsA || b.Length < rows * colsB) throw new ArgumentException("operand too short");
        ref T a0 = ref MemoryMarshal.GetReference(a);
        ref T b0 = ref MemoryMarshal.GetReference(b);
        double s = 0;
        for (int i = 0; i < rows; i++)
            s += Math.Sqrt(RowSumSquares(level, ref Unsafe.Add(ref a0, i * colsA), colsA) * RowSumSquares(level, ref Unsafe.Add(ref b0, i * colsB), colsB));
        return s;
    }

    /// <summary>Σ x² of one row as <see cref="SumSquares{T}"/> computes it (the same code, inlined).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static double RowSumSquares<T>(SimdLevel level, ref T x, int n) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (typeof(T) == typeof(double) || typeof(T) == typeof(float)) return SumSquaresAt(level, ref x, n);
        double s = 0;
        for (int i = 0; i < n; i++) { double v = double.CreateTruncating(Unsafe.Add(ref x, i)); s += v * v; }
        return s;
    }

    /// <summary>The body of <see cref="SumSquaresWide{T}"/> on n entries from x.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static double SumSquaresAt<T>(SimdLevel level, ref T rx, int n) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int i = 0;
        double s = 0;
        if (level == SimdLevel.Vector512 && n >= 16)
        {
            Vector512<double> a0 = default, a1 = default;
            for (; i + 16 <= n; i += 16)
            {
                Wide512(ref rx, i, out var v0, out var v1);
                a0 = Vector512.FusedMultiplyAdd(v0, v0, a0); a1 = Vector512.FusedMultiplyAdd(v1, v1, a1);
            }
            s = Vector512.Sum(a0 + a1);
        }
        else if (level == SimdLevel.Vector256 && n >= 8)
        {
            Vector256<double> a0 = default, a1 = default;
            for (; i + 8 <= n; i += 8)
            {
                Wide256(ref rx, i, out var v0, out var v1);
                a0 = Vector256.FusedMultiplyAdd(v0, v0, a0); a1 = Vector256.FusedMultiplyAdd(v1, v1, a1);
            }
            s = Vector256.Sum(a0 + a1);
        }
        for (; i < n; i++) { double v = double.CreateTruncating(Unsafe.Add(ref rx, i)); s += v * v; }
        return s;
    }

    /// <summary>Entries i..i+15 as two 512-bit double vectors: two loads of doubles, or one load of floats widened.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Wide512<T>(ref T r, int i, out Vector512<double> lo, out Vector512<double> hi) where T : unmanaged
    {
        if (typeof(T) == typeof(float)) { (lo, hi) = Vector512.Widen(Vector512.LoadUnsafe(ref Unsafe.As<T, float>(ref r), (nuint)i)); return; }
        ref double d = ref Unsafe.As<T, double>(ref r);
        lo = Vector512.LoadUnsafe(ref d, (nuint)i); hi = Vector512.LoadUnsafe(ref d, (nuint)(i + 8));
    }

    /// <summary>Entries i..i+7 as two 256-bit double vectors.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Wide256<T>(ref T r, int i, out Vector256<double> lo, out Vector256<double> hi) where T : unmanaged
    {
        if (typeof(T) == typeof(float)) { (lo, hi) = Vector256.Widen(Vector256.LoadUnsafe(ref Unsafe.As<T, float>(ref r), (nuint)i)); return; }
        ref double d = ref Unsafe.As<T, double>(ref r);
        lo = Vector256.LoadUnsafe(ref d, (nuint)i); hi = Vector256.LoadUnsafe(ref d, (nuint)(i + 4));
    }

    /// <summary>Σ (x_i − y_i)² accumulated in double (float entries are widened before subtracting).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static double SumSquaresDiff<T>(SimdLevel level, ReadOnlySpan<T> x, ReadOnlySpan<T> y) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = x.Length, i = 0;
        if (y.Length < n) throw new ArgumentException("operand too short");
        double s = 0;
        if (typeof(T) == typeof(double))
        {
            var xd = MemoryMarshal.Cast<T, double>(x); var yd = MemoryMarshal.Cast<T, double>(y);
            ref double rx = ref MemoryMarshal.GetReference(xd); ref double ry = ref MemoryMarshal.GetReference(yd);
            if (level == SimdLevel.Vector512 && n >= 8)
            {
                Vector512<double> acc = default;
                for (; i + 8 <= n; i += 8)
                {
                    var t = Vector512.LoadUnsafe(ref rx, (nuint)i) - Vector512.LoadUnsafe(ref ry, (nuint)i);
                    acc = Vector512.FusedMultiplyAdd(t, t, acc);
                }
                s = Vector512.Sum(acc);
            }
            else if (level == SimdLevel.Vector256 && n >= 4)
            {
                Vector256<double> acc = default;
                for (; i + 4 <= n; i += 4)
                {
                    var t = Vector256.LoadUnsafe(ref rx, (nuint)i) - Vector256.LoadUnsafe(ref ry, (nuint)i);
                    acc = Vector256.FusedMultiplyAdd(t, t, acc);
                }
                s = Vector256.Sum(acc);
            }
        }
        else if (typeof(T) == typeof(float))
        {
            // Widened to double before subtracting, as in the scalar loop below; only the order of the additions differs.
            ref T rx = ref MemoryMarshal.GetReference(x); ref T ry = ref MemoryMarshal.GetReference(y);
            if (level == SimdLevel.Vector512 && n >= 16)
            {
                Vector512<double> a0 = default, a1 = default;
                for (; i + 16 <= n; i += 16)
                {
                    Wide512(ref rx, i, out var xl, out var xh); Wide512(ref ry, i, out var yl, out var yh);
                    var tl = xl - yl; var th = xh - yh;
                    a0 = Vector512.FusedMultiplyAdd(tl, tl, a0); a1 = Vector512.FusedMultiplyAdd(th, th, a1);
                }
                s = Vector512.Sum(a0 + a1);
            }
            else if (level == SimdLevel.Vector256 && n >= 8)
            {
                Vector256<double> a0 = default, a1 = default;
                for (; i + 8 <= n; i += 8)
                {
                    Wide256(ref rx, i, out var xl, out var xh); Wide256(ref ry, i, out var yl, out var yh);
                    var tl = xl - yl; var th = xh - yh;
                    a0 = Vector256.FusedMultiplyAdd(tl, tl, a0); a1 = Vector256.FusedMultiplyAdd(th, th, a1);
                }
                s = Vector256.Sum(a0 + a1);
            }
        }
        for (; i < n; i++) { double t = double.CreateTruncating(x[i]) - double.CreateTruncating(y[i]); s += t * t; }
        return s;
    }

    /// <summary>
    /// (<see cref="SumSquaresDiff{T}"/>(x1, y1), SumSquaresDiff(x2, y2)) for float64 operands of one length, each sum formed
    /// exactly as that call forms it (so its bits), the two chains of dependent additions advanced in one loop.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static (double, double) SumSquaresDiffPair(SimdLevel level, ReadOnlySpan<double> x1, ReadOnlySpan<double> y1,
        ReadOnlySpan<double> x2, ReadOnlySpan<double> y2)
    {
        int n = x1.Length, i = 0;
        if (y1.Length < n || x2.Length != n || y2.Length < n) throw new ArgumentException("operands of different lengths");
        ref double a1 = ref MemoryMarshal.GetReference(x1); ref double b1 = ref MemoryMarshal.GetReference(y1);
        ref double a2 = ref MemoryMarshal.GetReference(x2); ref double b2 = ref MemoryMarshal.GetReference(y2);
        double s1 = 0, s2 = 0;
        if (level == SimdLevel.Vector512 && n >= 8)
        {
            Vector512<double> acc1 = default, acc2 = default;
            for (; i + 8 <= n; i += 8)
            {
                var t1 = Vector512.LoadUnsafe(ref a1, (nuint)i) - Vector512.LoadUnsafe(ref b1, (nuint)i);
                var t2 = Vector512.LoadUnsafe(ref a2, (nuint)i) - Vector512.LoadUnsafe(ref b2, (nuint)i);
                acc1 = Vector512.FusedMultiplyAdd(t1, t1, acc1);
                acc2 = Vector512.FusedMultiplyAdd(t2, t2, acc2);
            }
            s1 = Vector512.Sum(acc1); s2 = Vector512.Sum(acc2);
        }
        else if (level == SimdLevel.Vector256 && n >= 4)
        {
            Vector256<double> acc1 = default, acc2 = default;
            for (; i + 4 <= n; i += 4)
            {
                var t1 = Vector256.LoadUnsafe(ref a1, (nuint)i) - Vector256.LoadUnsafe(ref b1, (nuint)i);
                var t2 = Vector256.LoadUnsafe(ref a2, (nuint)i) - Vector256.LoadUnsafe(ref b2, (nuint)i);
                acc1 = Vector256.FusedMultiplyAdd(t1, t1, acc1);
                acc2 = Vector256.FusedMultiplyAdd(t2, t2, acc2);
            }
            s1 = Vector256.Sum(acc1); s2 = Vector256.Sum(acc2);
        }
        for (int j = i; j < n; j++) { double t = Unsafe.Add(ref a1, j) - Unsafe.Add(ref b1, j); s1 += t * t; }
        for (int j = i; j < n; j++) { double t = Unsafe.Add(ref a2, j) - Unsafe.Add(ref b2, j); s2 += t * t; }
        return (s1, s2);
    }

    /// <summary>True when every entry is finite (x − x is 0 for finite x and NaN for ±∞ and NaN).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static bool AllFinite<T>(SimdLevel level, ReadOnlySpan<T> x) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = x.Length, i = 0;
        ref T rx = ref MemoryMarshal.GetReference(x);
        if (level == SimdLevel.Vector512)
        {
            var acc = Vector512<T>.Zero;
            for (; i + Vector512<T>.Count <= n; i += Vector512<T>.Count) { var v = Vector512.LoadUnsafe(ref rx, (nuint)i); acc += v - v; }
            if (!Vector512.EqualsAll(acc, Vector512<T>.Zero)) return false;
        }
        else if (level == SimdLevel.Vector256)
        {
            var acc = Vector256<T>.Zero;
            for (; i + Vector256<T>.Count <= n; i += Vector256<T>.Count) { var v = Vector256.LoadUnsafe(ref rx, (nuint)i); acc += v - v; }
            if (!Vector256.EqualsAll(acc, Vector256<T>.Zero)) return false;
        }
        for (; i < n; i++) if (!T.IsFinite(Unsafe.Add(ref rx, i))) return false;
        return true;
    }
}
