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

    private static void EvaluateDouble(SimdLevel level, ActivationKind kind, ReadOnlySpan<double> u, Span<double> s, Span<double> sd)
    {
        int done = 0;
        switch (kind)
        {
            case ActivationKind.Gelu:
                done = level switch
                {
                    SimdLevel.Vector512 => ActivationKernels512.GeluDouble(u, s, sd),
                    SimdLevel.Vector256 => ActivationKernels256.GeluDouble(u, s, sd),
                    _ => 0,
                };
                break;
            case ActivationKind.Tanh:
                done = level switch
                {
                    SimdLevel.Vector512 => ActivationKernels512.TanhDouble(u, s, sd),
                    SimdLevel.Vector256 => ActivationKernels256.TanhDouble(u, s, sd),
                    _ => 0,
                };
                break;
            case ActivationKind.Softplus:
                done = level switch
                {
                    SimdLevel.Vector512 => ActivationKernels512.SoftplusDouble(u, s, sd),
                    SimdLevel.Vector256 => ActivationKernels256.SoftplusDouble(u, s, sd),
                    _ => 0,
                };
                break;
            case ActivationKind.Relu:
                done = level switch
                {
                    SimdLevel.Vector512 => ActivationKernels512.Relu(u, s, sd),
                    SimdLevel.Vector256 => ActivationKernels256.Relu(u, s, sd),
                    _ => 0,
                };
                break;
            case ActivationKind.Identity:
                if (level != SimdLevel.Scalar)
                {
                    u.CopyTo(s);
                    sd.Fill(1.0);
                    for (int i = 0; i < u.Length; i++) if (double.IsNaN(u[i])) sd[i] = u[i];
                    done = u.Length;
                }
                break;
        }
        if (done < u.Length) Activations.Evaluate(kind, u[done..], s[done..], sd[done..]);
    }

    private static void EvaluateSingle(SimdLevel level, ActivationKind kind, ReadOnlySpan<float> u, Span<float> s, Span<float> sd)
    {
        int done = 0;
        switch (kind)
        {
            case ActivationKind.Gelu:
                done = level switch
                {
                    SimdLevel.Vector512 => ActivationKernels512.GeluSingle(u, s, sd),
                    SimdLevel.Vector256 => ActivationKernels256.GeluSingle(u, s, sd),
                    _ => 0,
                };
                break;
            case ActivationKind.Tanh:
                done = level switch
                {
                    SimdLevel.Vector512 => ActivationKernels512.TanhSingle(u, s, sd),
                    SimdLevel.Vector256 => ActivationKernels256.TanhSingle(u, s, sd),
                    _ => 0,
                };
                break;
            case ActivationKind.Softplus:
                done = level switch
                {
                    SimdLevel.Vector512 => ActivationKernels512.SoftplusSingle(u, s, sd),
                    SimdLevel.Vector256 => ActivationKernels256.SoftplusSingle(u, s, sd),
                    _ => 0,
                };
                break;
            case ActivationKind.Relu:
                done = level switch
                {
                    SimdLevel.Vector512 => ActivationKernels512.Relu(u, s, sd),
                    SimdLevel.Vector256 => ActivationKernels256.Relu(u, s, sd),
                    _ => 0,
                };
                break;
            case ActivationKind.Identity:
                if (level != SimdLevel.Scalar)
                {
                    u.CopyTo(s);
                    sd.Fill(1f);
                    for (int i = 0; i < u.Length; i++) if (float.IsNaN(u[i])) sd[i] = u[i];
                    done = u.Length;
                }
                break;
        }
        if (done < u.Length) Activations.Evaluate(kind, u[done..], s[done..], sd[done..]);
    }
}
