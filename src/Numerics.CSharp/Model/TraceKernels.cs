using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace ResOdeProofs.Numerics.Model;

/// <summary>
/// The trainer's per-layer sums in one loop each: several of <see cref="FastKernels"/>' reductions over the same entries
/// at once, every one of them in exactly its own order (the same vector lanes, the same accumulators, the same final
/// horizontal sum), so each result is bit for bit the separate kernel's. The separate kernels are latency-bound chains
/// of one or two accumulators; three sums in one loop keep six chains in flight and read each entry once.
/// They cover lengths that the vector loops of both widths take whole (<see cref="Fits"/>: a positive multiple of 16);
/// a caller uses the separate kernels otherwise.
/// </summary>
internal static class TraceKernels
{
    /// <summary>True when n entries leave no scalar tail at any width (n a positive multiple of 16): the fused loops apply.</summary>
    public static bool Fits(int n) => n >= 16 && n % 16 == 0;

    /// <summary>
    /// One side of a layer for the trace record: Σ g², Σ x², Σ (xNext − x)² (0 when <paramref name="xNext"/> is empty) and
    /// whether every entry of g is finite; equal to <see cref="FastKernels.SumSquares{T}"/>(g), SumSquares(x),
    /// <see cref="FastKernels.SumSquaresDiff{T}"/>(xNext, x) and <see cref="FastKernels.AllFinite{T}"/>(g) at
    /// <paramref name="level"/>, bit for bit. Needs <see cref="Fits"/>(g.Length) and x, xNext of the same length.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static (double GSq, double XSq, double DiffSq, bool GFinite) LayerSums<T>(SimdLevel level, ReadOnlySpan<T> g,
        ReadOnlySpan<T> x, ReadOnlySpan<T> xNext) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = g.Length;
        bool diff = !xNext.IsEmpty;
        if (!Fits(n) || x.Length != n || (diff && xNext.Length != n) || (typeof(T) != typeof(double) && typeof(T) != typeof(float)))
            throw new ArgumentException("fused layer sums need entries of float or double, equal lengths and a multiple of 16");
        if (level == SimdLevel.Scalar)
            return (FastKernels.SumSquares(level, g), FastKernels.SumSquares(level, x), diff ? FastKernels.SumSquaresDiff(level, xNext, x) : 0,
                FastKernels.AllFinite(level, g));
        ref T rg = ref MemoryMarshal.GetReference(g);
        ref T rx = ref MemoryMarshal.GetReference(x);
        ref T ry = ref diff ? ref MemoryMarshal.GetReference(xNext) : ref rx;
        return level == SimdLevel.Vector512 ? Sums512(ref rg, ref rx, ref ry, n, diff) : Sums256(ref rg, ref rx, ref ry, n, diff);
    }

    // FastKernels' orders, per width (n a multiple of 16, so no scalar tails):
    // - SumSquares: a trip of 2·lanes entries (8 at 256 bits, 16 at 512, in double lanes), the first half into a0 and the
    //   second into a1 by FMA; the result Sum(a0 + a1).
    // - SumSquaresDiff of floats: the same two accumulators over the widened differences. Of doubles: one accumulator,
    //   a trip of one vector (4 or 8 entries), i.e. the first half of each 2·lanes trip, then the second, into the same
    //   accumulator; the result Sum(acc).
    // - AllFinite: acc += v − v over vectors of T; finite when acc is all zero (the order does not matter: a sum of zeros
    //   is zero, and one NaN makes it NaN).

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (double, double, double, bool) Sums256<T>(ref T rg, ref T rx, ref T ry, int n, bool diff) where T : unmanaged, IFloatingPointIeee754<T>
    {
        Vector256<double> g0 = default, g1 = default, x0 = default, x1 = default, d0 = default, d1 = default;
        var fin = Vector256<T>.Zero;
        for (int i = 0; i < n; i += 8)
        {
            Wide256(ref rg, i, out var gl, out var gh);
            Wide256(ref rx, i, out var xl, out var xh);
            g0 = Vector256.FusedMultiplyAdd(gl, gl, g0); g1 = Vector256.FusedMultiplyAdd(gh, gh, g1);
            x0 = Vector256.FusedMultiplyAdd(xl, xl, x0); x1 = Vector256.FusedMultiplyAdd(xh, xh, x1);
            FiniteStep256(ref rg, i, ref fin);
            if (diff)
            {
                Wide256(ref ry, i, out var yl, out var yh);
                var tl = yl - xl; var th = yh - xh;
                if (typeof(T) == typeof(float)) { d0 = Vector256.FusedMultiplyAdd(tl, tl, d0); d1 = Vector256.FusedMultiplyAdd(th, th, d1); }
                else { d0 = Vector256.FusedMultiplyAdd(tl, tl, d0); d0 = Vector256.FusedMultiplyAdd(th, th, d0); }
            }
        }
        double dsum = !diff ? 0 : typeof(T) == typeof(float) ? Vector256.Sum(d0 + d1) : Vector256.Sum(d0);
        return (Vector256.Sum(g0 + g1), Vector256.Sum(x0 + x1), dsum, Vector256.EqualsAll(fin, Vector256<T>.Zero));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (double, double, double, bool) Sums512<T>(ref T rg, ref T rx, ref T ry, int n, bool diff) where T : unmanaged, IFloatingPointIeee754<T>
    {
        Vector512<double> g0 = default, g1 = default, x0 = default, x1 = default, d0 = default, d1 = default;
        var fin = Vector512<T>.Zero;
        for (int i = 0; i < n; i += 16)
        {
            Wide512(ref rg, i, out var gl, out var gh);
            Wide512(ref rx, i, out var xl, out var xh);
            g0 = Vector512.FusedMultiplyAdd(gl, gl, g0); g1 = Vector512.FusedMultiplyAdd(gh, gh, g1);
            x0 = Vector512.FusedMultiplyAdd(xl, xl, x0); x1 = Vector512.FusedMultiplyAdd(xh, xh, x1);
            FiniteStep512(ref rg, i, ref fin);
            if (diff)
            {
                Wide512(ref ry, i, out var yl, out var yh);
                var tl = yl - xl; var th = yh - xh;
                if (typeof(T) == typeof(float)) { d0 = Vector512.FusedMultiplyAdd(tl, tl, d0); d1 = Vector512.FusedMultiplyAdd(th, th, d1); }
                else { d0 = Vector512.FusedMultiplyAdd(tl, tl, d0); d0 = Vector512.FusedMultiplyAdd(th, th, d0); }
            }
        }
        double dsum = !diff ? 0 : typeof(T) == typeof(float) ? Vector512.Sum(d0 + d1) : Vector512.Sum(d0);
        return (Vector512.Sum(g0 + g1), Vector512.Sum(x0 + x1), dsum, Vector512.EqualsAll(fin, Vector512<T>.Zero));
    }

    /// <summary>fin += v − v for the vectors of T among entries i..i+7 (one of floats, two of doubles).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void FiniteStep256<T>(ref T r, int i, ref Vector256<T> fin) where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int j = 0; j < 8; j += Vector256<T>.Count) { var v = Vector256.LoadUnsafe(ref r, (nuint)(i + j)); fin += v - v; }
    }

    /// <summary>fin += v − v for the vectors of T among entries i..i+15.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void FiniteStep512<T>(ref T r, int i, ref Vector512<T> fin) where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int j = 0; j < 16; j += Vector512<T>.Count) { var v = Vector512.LoadUnsafe(ref r, (nuint)(i + j)); fin += v - v; }
    }

    /// <summary>
    /// z ← x + a·y (the product rounded, then the sum: <see cref="Kernels.Axpy{T}"/>'s arithmetic, entry by entry, so its
    /// bits) and whether every entry of z is finite, in one pass (<see cref="FastKernels.AllFinite{T}"/> of the result); z
    /// may be x itself (each entry is read before its own store) or another array, which leaves x as it was.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static bool AxpyFiniteInto<T>(SimdLevel level, T a, ReadOnlySpan<T> y, ReadOnlySpan<T> x, Span<T> z) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = y.Length, i = 0;
        if (x.Length != n || z.Length != n) throw new ArgumentException("operands of different lengths");
        ref T rx = ref MemoryMarshal.GetReference(x);
        ref T ry = ref MemoryMarshal.GetReference(y);
        ref T rz = ref MemoryMarshal.GetReference(z);
        if (level == SimdLevel.Vector512)
        {
            var av = Vector512.Create(a);
            Vector512<T> f0 = Vector512<T>.Zero, f1 = Vector512<T>.Zero;
            for (; i + 2 * Vector512<T>.Count <= n; i += 2 * Vector512<T>.Count)
            {
                var u0 = Vector512.LoadUnsafe(ref rx, (nuint)i) + av * Vector512.LoadUnsafe(ref ry, (nuint)i);
                var u1 = Vector512.LoadUnsafe(ref rx, (nuint)(i + Vector512<T>.Count)) + av * Vector512.LoadUnsafe(ref ry, (nuint)(i + Vector512<T>.Count));
                u0.StoreUnsafe(ref rz, (nuint)i); u1.StoreUnsafe(ref rz, (nuint)(i + Vector512<T>.Count));
                f0 += u0 - u0; f1 += u1 - u1;
            }
            if (!Vector512.EqualsAll(f0 + f1, Vector512<T>.Zero)) { Finish(ref rx, ref ry, ref rz, a, i, n); return false; }
        }
        else if (level == SimdLevel.Vector256)
        {
            var av = Vector256.Create(a);
            Vector256<T> f0 = Vector256<T>.Zero, f1 = Vector256<T>.Zero;
            for (; i + 2 * Vector256<T>.Count <= n; i += 2 * Vector256<T>.Count)
            {
                var u0 = Vector256.LoadUnsafe(ref rx, (nuint)i) + av * Vector256.LoadUnsafe(ref ry, (nuint)i);
                var u1 = Vector256.LoadUnsafe(ref rx, (nuint)(i + Vector256<T>.Count)) + av * Vector256.LoadUnsafe(ref ry, (nuint)(i + Vector256<T>.Count));
                u0.StoreUnsafe(ref rz, (nuint)i); u1.StoreUnsafe(ref rz, (nuint)(i + Vector256<T>.Count));
                f0 += u0 - u0; f1 += u1 - u1;
            }
            if (!Vector256.EqualsAll(f0 + f1, Vector256<T>.Zero)) { Finish(ref rx, ref ry, ref rz, a, i, n); return false; }
        }
        bool finite = true;
        for (; i < n; i++)
        {
            T zi = Unsafe.Add(ref rx, i) + a * Unsafe.Add(ref ry, i);
            Unsafe.Add(ref rz, i) = zi;
            if (!T.IsFinite(zi)) finite = false;
        }
        return finite;

        static void Finish(ref T rx, ref T ry, ref T rz, T a, int i, int n)
        {
            for (; i < n; i++) Unsafe.Add(ref rz, i) = Unsafe.Add(ref rx, i) + a * Unsafe.Add(ref ry, i);
        }
    }

    /// <summary>Entries i..i+7 as two 256-bit double vectors (floats widened exactly), as FastKernels reads them.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Wide256<T>(ref T r, int i, out Vector256<double> lo, out Vector256<double> hi) where T : unmanaged
    {
        if (typeof(T) == typeof(float)) { (lo, hi) = Vector256.Widen(Vector256.LoadUnsafe(ref Unsafe.As<T, float>(ref r), (nuint)i)); return; }
        ref double d = ref Unsafe.As<T, double>(ref r);
        lo = Vector256.LoadUnsafe(ref d, (nuint)i); hi = Vector256.LoadUnsafe(ref d, (nuint)(i + 4));
    }

    /// <summary>Entries i..i+15 as two 512-bit double vectors.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Wide512<T>(ref T r, int i, out Vector512<double> lo, out Vector512<double> hi) where T : unmanaged
    {
        if (typeof(T) == typeof(float)) { (lo, hi) = Vector512.Widen(Vector512.LoadUnsafe(ref Unsafe.As<T, float>(ref r), (nuint)i)); return; }
        ref double d = ref Unsafe.As<T, double>(ref r);
        lo = Vector512.LoadUnsafe(ref d, (nuint)i); hi = Vector512.LoadUnsafe(ref d, (nuint)(i + 8));
    }
}
