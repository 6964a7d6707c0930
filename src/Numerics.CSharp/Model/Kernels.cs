using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace ResOdeProofs.Numerics.Model;

/// <summary>
/// The small dense products the residual network needs, for the shapes it has (d and m in the
/// tens to hundreds, n in the tens to thousands). All matrices are row-major. Inner loops run
/// over contiguous rows with <see cref="Vector{T}"/>; nothing here allocates.
/// Naming: N = as stored, T = transposed, e.g. NT computes A·Bᵀ.
/// </summary>
internal static class Kernels
{
    /// <summary>x·y for two spans of equal length.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T Dot<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> y) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = x.Length, i = 0;
        T s = T.Zero;
        if (Vector.IsHardwareAccelerated && n >= Vector<T>.Count)
        {
            var acc = Vector<T>.Zero;
            var xv = MemoryMarshal.Cast<T, Vector<T>>(x);
            var yv = MemoryMarshal.Cast<T, Vector<T>>(y);
            for (int j = 0; j < xv.Length; j++) acc += xv[j] * yv[j];
            s = Vector.Sum(acc);
            i = xv.Length * Vector<T>.Count;
        }
        for (; i < n; i++) s += x[i] * y[i];
        return s;
    }

    /// <summary>y ← y + a·x.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Axpy<T>(T a, ReadOnlySpan<T> x, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = x.Length, i = 0;
        if (Vector.IsHardwareAccelerated && n >= Vector<T>.Count)
        {
            var av = new Vector<T>(a);
            var xv = MemoryMarshal.Cast<T, Vector<T>>(x);
            var yv = MemoryMarshal.Cast<T, Vector<T>>(y);
            for (int j = 0; j < xv.Length; j++) yv[j] += av * xv[j];
            i = xv.Length * Vector<T>.Count;
        }
        for (; i < n; i++) y[i] += a * x[i];
    }

    /// <summary>C (r×c) ← [C +] α·A·Bᵀ with A r×k and B c×k (rows of A dotted with rows of B).</summary>
    public static void GemmNT<T>(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> c, int r, int cols, int k, T alpha, bool accumulate)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int i = 0; i < r; i++)
        {
            var ai = a.Slice(i * k, k);
            var ci = c.Slice(i * cols, cols);
            for (int j = 0; j < cols; j++)
            {
                T v = alpha * Dot(ai, b.Slice(j * k, k));
                ci[j] = accumulate ? ci[j] + v : v;
            }
        }
    }

    /// <summary>C (p×q) ← C + α·Aᵀ·B with A r×p and B r×q (a sum of r outer products).</summary>
    public static void GemmTNAcc<T>(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> c, int r, int p, int q, T alpha)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int s = 0; s < r; s++)
        {
            var bs = b.Slice(s * q, q);
            var asr = a.Slice(s * p, p);
            for (int i = 0; i < p; i++)
            {
                T coef = alpha * asr[i];
                if (coef != T.Zero) Axpy(coef, bs, c.Slice(i * q, q));
            }
        }
    }

    /// <summary>C (r×q) ← C + α·A·B with A r×p and B p×q.</summary>
    public static void GemmNNAcc<T>(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> c, int r, int p, int q, T alpha)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int i = 0; i < r; i++)
        {
            var ai = a.Slice(i * p, p);
            var ci = c.Slice(i * q, q);
            for (int j = 0; j < p; j++)
            {
                T coef = alpha * ai[j];
                if (coef != T.Zero) Axpy(coef, b.Slice(j * q, q), ci);
            }
        }
    }

    /// <summary>Σ x_i² accumulated in double.</summary>
    public static double SumSquares<T>(ReadOnlySpan<T> x) where T : unmanaged, IFloatingPointIeee754<T>
    {
        double s = 0;
        for (int i = 0; i < x.Length; i++) { double v = double.CreateTruncating(x[i]); s += v * v; }
        return s;
    }
}
