using System.Numerics;
using System.Runtime.InteropServices;

namespace ResOdeProofs.Numerics.Model;

/// <summary>
/// σ and σ' together over a span at the chosen <see cref="SimdLevel"/>. Every activation is vectorized
/// (GELU, tanh and softplus agree with the scalar <see cref="Activations"/> to a few ulps, see the tests;
/// float inputs use the same algorithms in float arithmetic); the tails that do not fill a vector use the scalar <see cref="Activations.Evaluate(ActivationKind, ReadOnlySpan{double}, Span{double}, Span{double})"/>.
/// </summary>
internal static class VectorActivations
{
    public static void Evaluate<T>(SimdLevel level, ActivationKind kind, ReadOnlySpan<T> u, Span<T> s, Span<T> sd)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (typeof(T) == typeof(double))
            EvaluateDouble(level, kind, MemoryMarshal.Cast<T, double>(u), MemoryMarshal.Cast<T, double>(s), MemoryMarshal.Cast<T, double>(sd));
        else if (typeof(T) == typeof(float))
            EvaluateSingle(level, kind, MemoryMarshal.Cast<T, float>(u), MemoryMarshal.Cast<T, float>(s), MemoryMarshal.Cast<T, float>(sd));
        else
            throw new NotSupportedException($"precision {typeof(T).Name} is not supported; use double or float");
    }

    /// <summary>
    /// <see cref="Evaluate"/> and <see cref="FastKernels.MinMax"/> of u together, with the bits of the two calls: GELU at
    /// a vector level in one pass over u (the kernel tracks the range of its whole vectors, this the scalar tail
    /// exactly as MinMax does), every other case as the two calls.
    /// </summary>
    public static void EvaluateWithRange<T>(SimdLevel level, ActivationKind kind, ReadOnlySpan<T> u, Span<T> s, Span<T> sd, ref double min, ref double max)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (kind != ActivationKind.Gelu || level == SimdLevel.Scalar || (typeof(T) != typeof(double) && typeof(T) != typeof(float)))
        {
            FastKernels.MinMax(level, u, ref min, ref max);
            Evaluate(level, kind, u, s, sd);
            return;
        }
        int done; double dlo, dhi;
        if (typeof(T) == typeof(double))
        {
            var ud = MemoryMarshal.Cast<T, double>(u);
            var sdd = MemoryMarshal.Cast<T, double>(s);
            var sdv = MemoryMarshal.Cast<T, double>(sd);
            double lo, hi;
            done = level == SimdLevel.Vector512 ? ActivationKernels512.GeluDoubleRange(ud, sdd, sdv, out lo, out hi)
                                                : ActivationKernels256.GeluDoubleRange(ud, sdd, sdv, out lo, out hi);
            for (int i = done; i < ud.Length; i++) { double v = ud[i]; if (v < lo) lo = v; if (v > hi) hi = v; }
            (dlo, dhi) = (lo, hi);
        }
        else
        {
            var uf = MemoryMarshal.Cast<T, float>(u);
            var sf = MemoryMarshal.Cast<T, float>(s);
            var sdf = MemoryMarshal.Cast<T, float>(sd);
            float lo, hi;
            done = level == SimdLevel.Vector512 ? ActivationKernels512.GeluSingleRange(uf, sf, sdf, out lo, out hi)
                                                : ActivationKernels256.GeluSingleRange(uf, sf, sdf, out lo, out hi);
            for (int i = done; i < uf.Length; i++) { float v = uf[i]; if (v < lo) lo = v; if (v > hi) hi = v; }
            (dlo, dhi) = (lo, hi);
        }
        if (done < u.Length) Evaluate(SimdLevel.Scalar, kind, u[done..], s[done..], sd[done..]);
        if (dlo < min) min = dlo;
        if (dhi > max) max = dhi;
    }

    /// <summary>
    /// <see cref="EvaluateWithRange"/> and <see cref="FastKernels.MinMax"/> of the σ' it stores (into <paramref name="dmin"/>,
    /// <paramref name="dmax"/>) together, with the bits of the three calls: GELU at a vector level in one pass over u (the
    /// kernel tracks both ranges over its whole vectors, this the scalar tail exactly as MinMax does, after the tail's σ' is
    /// stored), every other case as the separate calls.
    /// </summary>
    public static void EvaluateWithRanges<T>(SimdLevel level, ActivationKind kind, ReadOnlySpan<T> u, Span<T> s, Span<T> sd,
        ref double min, ref double max, ref double dmin, ref double dmax) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (kind != ActivationKind.Gelu || level == SimdLevel.Scalar || (typeof(T) != typeof(double) && typeof(T) != typeof(float)))
        {
            EvaluateWithRange(level, kind, u, s, sd, ref min, ref max);
            FastKernels.MinMax<T>(level, sd, ref dmin, ref dmax);
            return;
        }
        int done; double ulo, uhi, dlo, dhi;
        if (typeof(T) == typeof(double))
        {
            var ud = MemoryMarshal.Cast<T, double>(u);
            var sdd = MemoryMarshal.Cast<T, double>(s);
            var sdv = MemoryMarshal.Cast<T, double>(sd);
            double lo, hi, wlo, whi;
            done = level == SimdLevel.Vector512 ? ActivationKernels512.GeluDoubleRanges(ud, sdd, sdv, out lo, out hi, out wlo, out whi)
                                                : ActivationKernels256.GeluDoubleRanges(ud, sdd, sdv, out lo, out hi, out wlo, out whi);
            for (int i = done; i < ud.Length; i++) { double v = ud[i]; if (v < lo) lo = v; if (v > hi) hi = v; }
            if (done < u.Length) Evaluate(SimdLevel.Scalar, kind, u[done..], s[done..], sd[done..]);
            for (int i = done; i < sdv.Length; i++) { double v = sdv[i]; if (v < wlo) wlo = v; if (v > whi) whi = v; }
            (ulo, uhi, dlo, dhi) = (lo, hi, wlo, whi);
        }
        else
        {
            var uf = MemoryMarshal.Cast<T, float>(u);
            var sf = MemoryMarshal.Cast<T, float>(s);
            var sdf = MemoryMarshal.Cast<T, float>(sd);
            float lo, hi, wlo, whi;
            done = level == SimdLevel.Vector512 ? ActivationKernels512.GeluSingleRanges(uf, sf, sdf, out lo, out hi, out wlo, out whi)
                                                : ActivationKernels256.GeluSingleRanges(uf, sf, sdf, out lo, out hi, out wlo, out whi);
            for (int i = done; i < uf.Length; i++) { float v = uf[i]; if (v < lo) lo = v; if (v > hi) hi = v; }
            if (done < u.Length) Evaluate(SimdLevel.Scalar, kind, u[done..], s[done..], sd[done..]);
            for (int i = done; i < sdf.Length; i++) { float v = sdf[i]; if (v < wlo) wlo = v; if (v > whi) whi = v; }
            (ulo, uhi, dlo, dhi) = (lo, hi, wlo, whi);
        }
        if (ulo < min) min = ulo;
        if (uhi > max) max = uhi;
        if (dlo < dmin) dmin = dlo;
        if (dhi > dmax) dmax = dhi;
    }

    private static void EvaluateDouble(SimdLevel level, ActivationKind kind, ReadOnlySpan<double> u, Span<double> s, Span<double> sd)
    {
        int done = kind == ActivationKind.Identity ? Identity(level, u, s, sd) : level switch
        {
            SimdLevel.Vector512 => ActivationKernels512.Evaluate(kind, u, s, sd),
            SimdLevel.Vector256 => ActivationKernels256.Evaluate(kind, u, s, sd),
            _ => 0,
        };
        if (done < u.Length) Activations.Evaluate(kind, u[done..], s[done..], sd[done..]);
    }

    private static void EvaluateSingle(SimdLevel level, ActivationKind kind, ReadOnlySpan<float> u, Span<float> s, Span<float> sd)
    {
        int done = kind == ActivationKind.Identity ? Identity(level, u, s, sd) : level switch
        {
            SimdLevel.Vector512 => ActivationKernels512.Evaluate(kind, u, s, sd),
            SimdLevel.Vector256 => ActivationKernels256.Evaluate(kind, u, s, sd),
            _ => 0,
        };
        if (done < u.Length) Activations.Evaluate(kind, u[done..], s[done..], sd[done..]);
    }

    /// <summary>σ = u, σ' = 1 (NaN where u is NaN) at a vector level; the scalar level leaves it to the scalar code.</summary>
    private static int Identity<T>(SimdLevel level, ReadOnlySpan<T> u, Span<T> s, Span<T> sd) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (level == SimdLevel.Scalar) return 0;
        u.CopyTo(s);
        sd.Fill(T.One);
        for (int i = 0; i < u.Length; i++) if (T.IsNaN(u[i])) sd[i] = u[i];
        return u.Length;
    }
}
