using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace ResOdeProofs.Numerics.Model;

/// <summary>
/// The small-GEMM micro-kernel on 512-bit vectors (see <see cref="FastKernels.Gemm{T}"/> for the contract).
/// This file is the one source of the kernel at every width: the build generates Gemm256 from it by
/// renaming the vector type (the target GenerateVector256Kernels in the project file).
/// Register tiles of 4 rows × 4 vectors of C (16 accumulators; not with 16 vector registers, see
/// <see cref="Simd.FewVectorRegisters"/>), then 6 × 2 (12 accumulators) and 4 × 2 (<see cref="TileTwo"/>), 8 × 1 (9 × 1 for a last nine
/// rows), 4 × 1, 2 × 1 and 1 × 1 (<see cref="TileOne"/>; at least 8
/// independent FMA chains where the shape allows, to cover the FMA latency), two- and one-row tiles at the edges, scalar columns last.
/// Each width of column group is a method of its own (<see cref="Columns4"/>, <see cref="Columns2"/>, <see cref="Columns1"/>) so
/// that its loop keeps A's row offsets and both references in registers; inside a tile A's rows are reached from one
/// reference at offsets formed once, and that reference and B's row move by one step along k (no index products in the loop).
/// Every entry sums over k in order, in every tile: the tiling does not change a bit.
/// </summary>
internal static class Gemm512
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<T> Fma<T>(Vector512<T> x, Vector512<T> y, Vector512<T> z) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (typeof(T) == typeof(double)) return Vector512.FusedMultiplyAdd(x.AsDouble(), y.AsDouble(), z.AsDouble()).As<double, T>();
        if (typeof(T) == typeof(float)) return Vector512.FusedMultiplyAdd(x.AsSingle(), y.AsSingle(), z.AsSingle()).As<float, T>();
        return x * y + z;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Put<T>(ref T c, Vector512<T> acc, Vector512<T> alpha, bool accumulate, bool multiply, nint off, nint soff) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var r = accumulate ? Fma(alpha, acc, Vector512.LoadUnsafe(ref Unsafe.AddByteOffset(ref c, soff))) : alpha * acc;
        if (multiply) r *= Vector512.LoadUnsafe(ref Unsafe.AddByteOffset(ref c, off));
        r.StoreUnsafe(ref c);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Put4<T>(ref T c, int w, Vector512<T> x0, Vector512<T> x1, Vector512<T> x2, Vector512<T> x3, Vector512<T> alpha, bool accumulate, bool multiply, nint off, nint soff)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Put(ref c, x0, alpha, accumulate, multiply, off, soff); Put(ref Unsafe.Add(ref c, w), x1, alpha, accumulate, multiply, off, soff);
        Put(ref Unsafe.Add(ref c, 2 * w), x2, alpha, accumulate, multiply, off, soff); Put(ref Unsafe.Add(ref c, 3 * w), x3, alpha, accumulate, multiply, off, soff);
    }

    /// <summary>
    /// Rows i0..rows−1, columns j..j+2w−1 (the edge of the 4×4 and 4×2 tiles): two rows at a time (4 independent FMA chains
    /// instead of 2, so the edge is not bound by the FMA latency), then a last single row (<see cref="TileTwo"/>). Each entry
    /// still sums over k in order: the same bits as one row at a time.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Tile2<T>(ref T a, int ars, int aks, ref T b, ref T c, int i0, int rows, int inner, int cols, int j, Vector512<T> av, bool accumulate, bool multiply, nint off, nint soff)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        nint r1 = ars, r2 = 2 * (nint)ars, r3 = 3 * (nint)ars, sa = aks, sb = cols;
        int i = i0;
        for (; i + 2 <= rows; i += 2) TileTwo<T, TwoRows, RuntimeStore>(ref a, i, ars, ref b, ref c, inner, cols, j, r1, r2, r3, sa, sb, av, accumulate, multiply, off, soff);
        if (i < rows) TileTwo<T, OneRow, RuntimeStore>(ref a, i, ars, ref b, ref c, inner, cols, j, r1, r2, r3, sa, sb, av, accumulate, multiply, off, soff);
    }

    /// <summary>Columns j..j+4w−1 of every row: 4 × 4 tiles (sixteen accumulators), the rows left two and one at a time (<see cref="Tile2"/>, twice).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Columns4<T>(ref T a, int ars, int aks, ref T b, ref T c, int rows, int inner, int cols, int j, Vector512<T> av, bool accumulate, bool multiply, nint off, nint soff)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int w = Vector512<T>.Count;
        nint r1 = ars, r2 = 2 * (nint)ars, r3 = 3 * (nint)ars, sa = aks, sb = cols;
        int i = 0;
        for (; i + 4 <= rows; i += 4)
        {
            Vector512<T> c00 = default, c01 = default, c02 = default, c03 = default,
                c10 = default, c11 = default, c12 = default, c13 = default,
                c20 = default, c21 = default, c22 = default, c23 = default,
                c30 = default, c31 = default, c32 = default, c33 = default;
            ref T ak = ref Unsafe.Add(ref a, i * ars);
            ref T bk = ref Unsafe.Add(ref b, j);
            for (int k = 0; k < inner; k++)
            {
                var b0 = Vector512.LoadUnsafe(ref bk);
                var b1 = Vector512.LoadUnsafe(ref bk, (nuint)w);
                var b2 = Vector512.LoadUnsafe(ref bk, (nuint)(2 * w));
                var b3 = Vector512.LoadUnsafe(ref bk, (nuint)(3 * w));
                var x = Vector512.Create(ak);
                c00 = Fma(x, b0, c00); c01 = Fma(x, b1, c01); c02 = Fma(x, b2, c02); c03 = Fma(x, b3, c03);
                x = Vector512.Create(Unsafe.Add(ref ak, r1));
                c10 = Fma(x, b0, c10); c11 = Fma(x, b1, c11); c12 = Fma(x, b2, c12); c13 = Fma(x, b3, c13);
                x = Vector512.Create(Unsafe.Add(ref ak, r2));
                c20 = Fma(x, b0, c20); c21 = Fma(x, b1, c21); c22 = Fma(x, b2, c22); c23 = Fma(x, b3, c23);
                x = Vector512.Create(Unsafe.Add(ref ak, r3));
                c30 = Fma(x, b0, c30); c31 = Fma(x, b1, c31); c32 = Fma(x, b2, c32); c33 = Fma(x, b3, c33);
                ak = ref Unsafe.Add(ref ak, sa);
                bk = ref Unsafe.Add(ref bk, sb);
            }
            ref T ci = ref Unsafe.Add(ref c, i * cols + j);
            Put4(ref ci, w, c00, c01, c02, c03, av, accumulate, multiply, off, soff);
            Put4(ref Unsafe.Add(ref ci, cols), w, c10, c11, c12, c13, av, accumulate, multiply, off, soff);
            Put4(ref Unsafe.Add(ref ci, 2 * cols), w, c20, c21, c22, c23, av, accumulate, multiply, off, soff);
            Put4(ref Unsafe.Add(ref ci, 3 * cols), w, c30, c31, c32, c33, av, accumulate, multiply, off, soff);
        }
        if (i < rows) Tile2(ref a, ars, aks, ref b, ref c, i, rows, inner, cols, j, av, accumulate, multiply, off, soff);
        if (i < rows) Tile2(ref a, ars, aks, ref b, ref c, i, rows, inner, cols, j + 2 * w, av, accumulate, multiply, off, soff);
    }

    /// <summary>The rows of a register tile: a constant of the type, which the JIT folds in each compiled form of a tile method
    /// (a generic method is compiled once per struct argument), so each form has only its rows' chains.</summary>
    private interface IRowCount { static abstract int Rows { get; } }
    private struct OneRow : IRowCount { public static int Rows => 1; }
    private struct TwoRows : IRowCount { public static int Rows => 2; }
    private struct FourRows : IRowCount { public static int Rows => 4; }
    private struct SixRows : IRowCount { public static int Rows => 6; }
    private struct EightRows : IRowCount { public static int Rows => 8; }
    private struct NineRows : IRowCount { public static int Rows => 9; }

    /// <summary>Columns j..j+2w−1 of every row: 6 × 2 tiles, then 4 × 2, then two rows and one at a time (<see cref="Tile2"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Columns2<T>(ref T a, int ars, int aks, ref T b, ref T c, int rows, int inner, int cols, int j, Vector512<T> av, bool accumulate, bool multiply, nint off, nint soff)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        // the store's two choices taken once for all the tiles (a compiled form per pair), not at each of their stores
        int i = accumulate
            ? multiply ? Columns2Tiles<T, AccumulateMultiply>(ref a, ars, aks, ref b, ref c, rows, inner, cols, j, av, off, soff)
                       : Columns2Tiles<T, AccumulateOnly>(ref a, ars, aks, ref b, ref c, rows, inner, cols, j, av, off, soff)
            : multiply ? Columns2Tiles<T, MultiplyOnly>(ref a, ars, aks, ref b, ref c, rows, inner, cols, j, av, off, soff)
                       : Columns2Tiles<T, StoreOnly>(ref a, ars, aks, ref b, ref c, rows, inner, cols, j, av, off, soff);
        if (i < rows) Tile2(ref a, ars, aks, ref b, ref c, i, rows, inner, cols, j, av, accumulate, multiply, off, soff);
    }

    /// <summary>The 6 × 2 and 4 × 2 tiles of <see cref="Columns2"/> with the store's choices of <typeparamref name="TStore"/>;
    /// returns the first row not done.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static int Columns2Tiles<T, TStore>(ref T a, int ars, int aks, ref T b, ref T c, int rows, int inner, int cols, int j, Vector512<T> av, nint off, nint soff)
        where T : unmanaged, IFloatingPointIeee754<T> where TStore : struct, IStoreMode
    {
        nint r1 = ars, r2 = 2 * (nint)ars, r3 = 3 * (nint)ars, sa = aks, sb = cols;
        int i = 0;
        for (; i + 6 <= rows; i += 6) TileTwo<T, SixRows, TStore>(ref a, i, ars, ref b, ref c, inner, cols, j, r1, r2, r3, sa, sb, av, TStore.Accumulate, TStore.Multiply, off, soff);
        for (; i + 4 <= rows; i += 4) TileTwo<T, FourRows, TStore>(ref a, i, ars, ref b, ref c, inner, cols, j, r1, r2, r3, sa, sb, av, TStore.Accumulate, TStore.Multiply, off, soff);
        return i;
    }

    /// <summary>A tile's store (<see cref="Put{T}"/>): its two choices as constants of the type, which the JIT folds in each
    /// compiled form (<see cref="RuntimeStore"/>: the arguments' values, read at each store).</summary>
    private interface IStoreMode { static abstract bool Known { get; } static abstract bool Accumulate { get; } static abstract bool Multiply { get; } }
    private struct RuntimeStore : IStoreMode { public static bool Known => false; public static bool Accumulate => false; public static bool Multiply => false; }
    private struct StoreOnly : IStoreMode { public static bool Known => true; public static bool Accumulate => false; public static bool Multiply => false; }
    private struct AccumulateOnly : IStoreMode { public static bool Known => true; public static bool Accumulate => true; public static bool Multiply => false; }
    private struct MultiplyOnly : IStoreMode { public static bool Known => true; public static bool Accumulate => false; public static bool Multiply => true; }
    private struct AccumulateMultiply : IStoreMode { public static bool Known => true; public static bool Accumulate => true; public static bool Multiply => true; }

    /// <summary>
    /// Rows i..i+R−1 (R = 6, 4, 2 or 1, <typeparamref name="TRows"/>) of columns j..j+2w−1: six rows by two vectors are twelve
    /// independent chains (the FMA latency times two FMAs a cycle wants at least eight), two vector loads of B and six broadcasts
    /// of A per k, fifteen registers with the broadcast. A's rows i..i+2 from ak and i+3..i+5 from ak3 at the offsets r1, r2,
    /// both references moved one step along k.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void TileTwo<T, TRows, TStore>(ref T a, int i, int ars, ref T b, ref T c, int inner, int cols, int j, nint r1, nint r2, nint r3,
        nint sa, nint sb, Vector512<T> av, bool accumulate, bool multiply, nint off, nint soff)
        where T : unmanaged, IFloatingPointIeee754<T> where TRows : struct, IRowCount where TStore : struct, IStoreMode
    {
        if (TStore.Known) { accumulate = TStore.Accumulate; multiply = TStore.Multiply; }
        int w = Vector512<T>.Count;
        Vector512<T> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default,
            c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        ref T ak = ref Unsafe.Add(ref a, i * ars);
        ref T bk = ref Unsafe.Add(ref b, j);
        for (int k = 0; k < inner; k++)
        {
            var b0 = Vector512.LoadUnsafe(ref bk);
            var b1 = Vector512.LoadUnsafe(ref bk, (nuint)w);
            ref T ak3 = ref Unsafe.Add(ref ak, r3);
            var x = Vector512.Create(ak);
            c00 = Fma(x, b0, c00); c01 = Fma(x, b1, c01);
            if (TRows.Rows > 1)
            {
                x = Vector512.Create(Unsafe.Add(ref ak, r1));
                c10 = Fma(x, b0, c10); c11 = Fma(x, b1, c11);
            }
            if (TRows.Rows > 2)
            {
                x = Vector512.Create(Unsafe.Add(ref ak, r2));
                c20 = Fma(x, b0, c20); c21 = Fma(x, b1, c21);
                x = Vector512.Create(ak3);
                c30 = Fma(x, b0, c30); c31 = Fma(x, b1, c31);
            }
            if (TRows.Rows > 4)
            {
                x = Vector512.Create(Unsafe.Add(ref ak3, r1));
                c40 = Fma(x, b0, c40); c41 = Fma(x, b1, c41);
                x = Vector512.Create(Unsafe.Add(ref ak3, r2));
                c50 = Fma(x, b0, c50); c51 = Fma(x, b1, c51);
            }
            ak = ref Unsafe.Add(ref ak, sa);
            bk = ref Unsafe.Add(ref bk, sb);
        }
        ref T ci = ref Unsafe.Add(ref c, i * cols + j);
        Put(ref ci, c00, av, accumulate, multiply, off, soff); Put(ref Unsafe.Add(ref ci, w), c01, av, accumulate, multiply, off, soff);
        if (TRows.Rows > 1)
        {
            ci = ref Unsafe.Add(ref ci, cols);
            Put(ref ci, c10, av, accumulate, multiply, off, soff); Put(ref Unsafe.Add(ref ci, w), c11, av, accumulate, multiply, off, soff);
        }
        if (TRows.Rows > 2)
        {
            ci = ref Unsafe.Add(ref ci, cols);
            Put(ref ci, c20, av, accumulate, multiply, off, soff); Put(ref Unsafe.Add(ref ci, w), c21, av, accumulate, multiply, off, soff);
            ci = ref Unsafe.Add(ref ci, cols);
            Put(ref ci, c30, av, accumulate, multiply, off, soff); Put(ref Unsafe.Add(ref ci, w), c31, av, accumulate, multiply, off, soff);
        }
        if (TRows.Rows > 4)
        {
            ci = ref Unsafe.Add(ref ci, cols);
            Put(ref ci, c40, av, accumulate, multiply, off, soff); Put(ref Unsafe.Add(ref ci, w), c41, av, accumulate, multiply, off, soff);
            ci = ref Unsafe.Add(ref ci, cols);
            Put(ref ci, c50, av, accumulate, multiply, off, soff); Put(ref Unsafe.Add(ref ci, w), c51, av, accumulate, multiply, off, soff);
        }
    }

    /// <summary>
    /// Rows i..i+R−1 (R = 1, 2, 4, 8 or 9, <typeparamref name="TRows"/>) of columns j..j+w−1: R independent chains, A's rows i..i+3
    /// from ak and i+4..i+8 from ak4 at the offsets r1..r4, both references moved one step along k.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void TileOne<T, TRows>(ref T a, int i, int ars, ref T b, ref T c, int inner, int cols, int j, nint r1, nint r2, nint r3, nint r4,
        nint sa, nint sb, Vector512<T> av, bool accumulate, bool multiply, nint off, nint soff)
        where T : unmanaged, IFloatingPointIeee754<T> where TRows : struct, IRowCount
    {
        Vector512<T> c0 = default, c1 = default, c2 = default, c3 = default, c4 = default, c5 = default, c6 = default, c7 = default, c8 = default;
        ref T ak = ref Unsafe.Add(ref a, i * ars);
        ref T bk = ref Unsafe.Add(ref b, j);
        for (int k = 0; k < inner; k++)
        {
            var b0 = Vector512.LoadUnsafe(ref bk);
            c0 = Fma(Vector512.Create(ak), b0, c0);
            if (TRows.Rows > 1) c1 = Fma(Vector512.Create(Unsafe.Add(ref ak, r1)), b0, c1);
            if (TRows.Rows > 2)
            {
                c2 = Fma(Vector512.Create(Unsafe.Add(ref ak, r2)), b0, c2);
                c3 = Fma(Vector512.Create(Unsafe.Add(ref ak, r3)), b0, c3);
            }
            if (TRows.Rows > 4)
            {
                ref T ak4 = ref Unsafe.Add(ref ak, r4);
                c4 = Fma(Vector512.Create(ak4), b0, c4);
                c5 = Fma(Vector512.Create(Unsafe.Add(ref ak4, r1)), b0, c5);
                c6 = Fma(Vector512.Create(Unsafe.Add(ref ak4, r2)), b0, c6);
                c7 = Fma(Vector512.Create(Unsafe.Add(ref ak4, r3)), b0, c7);
                if (TRows.Rows > 8) c8 = Fma(Vector512.Create(Unsafe.Add(ref ak4, r4)), b0, c8);
            }
            ak = ref Unsafe.Add(ref ak, sa);
            bk = ref Unsafe.Add(ref bk, sb);
        }
        ref T ci = ref Unsafe.Add(ref c, i * cols + j);
        Put(ref ci, c0, av, accumulate, multiply, off, soff);
        if (TRows.Rows > 1) Put(ref Unsafe.Add(ref ci, cols), c1, av, accumulate, multiply, off, soff);
        if (TRows.Rows > 2)
        {
            Put(ref Unsafe.Add(ref ci, 2 * cols), c2, av, accumulate, multiply, off, soff);
            Put(ref Unsafe.Add(ref ci, 3 * cols), c3, av, accumulate, multiply, off, soff);
        }
        if (TRows.Rows > 4)
        {
            Put(ref Unsafe.Add(ref ci, 4 * cols), c4, av, accumulate, multiply, off, soff);
            Put(ref Unsafe.Add(ref ci, 5 * cols), c5, av, accumulate, multiply, off, soff);
            Put(ref Unsafe.Add(ref ci, 6 * cols), c6, av, accumulate, multiply, off, soff);
            Put(ref Unsafe.Add(ref ci, 7 * cols), c7, av, accumulate, multiply, off, soff);
            if (TRows.Rows > 8) Put(ref Unsafe.Add(ref ci, 8 * cols), c8, av, accumulate, multiply, off, soff);
        }
    }

    /// <summary>Columns j..j+w−1 of every row: 8 × 1 tiles (the last nine rows, when nine are left, as one 9 × 1 tile), then
    /// 4 × 1, then two rows and one at a time.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Columns1<T>(ref T a, int ars, int aks, ref T b, ref T c, int rows, int inner, int cols, int j, Vector512<T> av, bool accumulate, bool multiply, nint off, nint soff)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        nint r1 = ars, r2 = 2 * (nint)ars, r3 = 3 * (nint)ars, r4 = 4 * (nint)ars, sa = aks, sb = cols;
        int i = 0;
        while (rows - i >= 8)
        {
            // the last nine rows as one tile: no row left alone on one chain
            if (rows - i == 9) { TileOne<T, NineRows>(ref a, i, ars, ref b, ref c, inner, cols, j, r1, r2, r3, r4, sa, sb, av, accumulate, multiply, off, soff); i += 9; }
            else { TileOne<T, EightRows>(ref a, i, ars, ref b, ref c, inner, cols, j, r1, r2, r3, r4, sa, sb, av, accumulate, multiply, off, soff); i += 8; }
        }
        for (; i + 4 <= rows; i += 4) TileOne<T, FourRows>(ref a, i, ars, ref b, ref c, inner, cols, j, r1, r2, r3, r4, sa, sb, av, accumulate, multiply, off, soff);
        // the rows left two at a time (two chains), then one
        for (; i + 2 <= rows; i += 2) TileOne<T, TwoRows>(ref a, i, ars, ref b, ref c, inner, cols, j, r1, r2, r3, r4, sa, sb, av, accumulate, multiply, off, soff);
        if (i < rows) TileOne<T, OneRow>(ref a, i, ars, ref b, ref c, inner, cols, j, r1, r2, r3, r4, sa, sb, av, accumulate, multiply, off, soff);
    }

    /// <summary>
    /// C[i,j] ← [C[i,j] +] α·Σ_k a[i·ars + k·aks]·b[k·cols + j]; C is rows×cols row-major. With
    /// <paramref name="multiply"/> each result is then multiplied by mul[i·cols + j] (same layout as C) before it is
    /// stored: the product rounded as it would be stored, times the multiplier, one more rounding (the same result as
    /// storing it and multiplying in a second pass). With <paramref name="accumulate"/> the term added is read from
    /// <paramref name="src"/> (same layout as C; C itself when it is C): C ← src + α·Σ in the same operation as in place.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run<T>(ref T a, int ars, int aks, ref T b, ref T c, int rows, int inner, int cols, T alpha, bool accumulate, ref T mul, bool multiply,
        ref T src)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        // the multiplier and the source are reached through their byte offsets from C: the caller (FastKernels.Gemm) pins
        // all three for the call
        nint off = multiply ? Unsafe.ByteOffset(ref c, ref mul) : 0;
        nint soff = accumulate ? Unsafe.ByteOffset(ref c, ref src) : 0;
        int w = Vector512<T>.Count;
        var av = Vector512.Create(alpha);
        int j = 0;
        for (; !Simd.FewVectorRegisters && j + 4 * w <= cols; j += 4 * w)
        {
            Columns4(ref a, ars, aks, ref b, ref c, rows, inner, cols, j, av, accumulate, multiply, off, soff);
        }
        for (; j + 2 * w <= cols; j += 2 * w)
        {
            Columns2(ref a, ars, aks, ref b, ref c, rows, inner, cols, j, av, accumulate, multiply, off, soff);
        }
        for (; j + w <= cols; j += w)
        {
            Columns1(ref a, ars, aks, ref b, ref c, rows, inner, cols, j, av, accumulate, multiply, off, soff);
        }
        if (j < cols) FastKernels.ScalarColumns(ref a, ars, aks, ref b, ref c, rows, inner, cols, j, alpha, accumulate, ref mul, multiply, ref src);
    }

    /// <summary>
    /// The float64 FMA peak of one core at this width, for the benchmarks: 12 independent chains of fused
    /// multiply-adds on registers (enough to cover a 4-cycle latency at 2 FMAs per cycle), 24·lanes FLOP a trip.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static double FmaPeak(int trips)
    {
        var m = Vector512.Create(0.999999); var a = Vector512.Create(1e-7);
        Vector512<double> c0 = m, c1 = m, c2 = m, c3 = m, c4 = m, c5 = m, c6 = m, c7 = m, c8 = m, c9 = m, c10 = m, c11 = m;
        for (int i = 0; i < trips; i++)
        {
            c0 = Fma(c0, m, a); c1 = Fma(c1, m, a); c2 = Fma(c2, m, a); c3 = Fma(c3, m, a);
            c4 = Fma(c4, m, a); c5 = Fma(c5, m, a); c6 = Fma(c6, m, a); c7 = Fma(c7, m, a);
            c8 = Fma(c8, m, a); c9 = Fma(c9, m, a); c10 = Fma(c10, m, a); c11 = Fma(c11, m, a);
        }
        return Vector512.Sum(((c0 + c1) + (c2 + c3)) + ((c4 + c5) + (c6 + c7)) + ((c8 + c9) + (c10 + c11)));
    }
}
