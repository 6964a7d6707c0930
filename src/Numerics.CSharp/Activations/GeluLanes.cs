using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace ResOdeProofs.Numerics;

/// <summary>
/// GELU's value u·Φ(u) and derivative Φ(u) + u·φ(u) of the accurate scalar code (<see cref="SpecialFunctions.NormalCdf"/>,
/// <see cref="SpecialFunctions.NormalCdfAndPdf"/>), a vector of entries at a time, bit for bit: every lane performs the
/// scalar code's operations on its entry (<see cref="GeluLanes512"/>, and its generated 256-bit twin), the entries after the
/// last whole vector the scalar code itself. The vector width is the widest the hardware accelerates (the engine's
/// `RESODE_SIMD` choice does not apply here: the bits are the same at every width, and the tests call each width). The neural-ODE reference solves of B.bound and the verifier's `Layerwise` pass spend most of
/// their time here.
/// </summary>
internal static class GeluLanes
{
    /// <summary>value[i] = u[i]·Φ(u[i]), the bits of <see cref="Activations.Value"/> for GELU.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Values(ReadOnlySpan<double> u, Span<double> value)
    {
        if (value.Length < u.Length) throw new ArgumentException("value is shorter than u");
        int i = Vector512.IsHardwareAccelerated ? GeluLanes512.Values(u, value)
            : Vector256.IsHardwareAccelerated ? GeluLanes256.Values(u, value) : 0;
        for (; i < u.Length; i++) value[i] = Scalar(u[i]);
    }

    /// <summary>derivative[i] = Φ(u[i]) + u[i]·φ(u[i]), the bits of <see cref="Activations.Derivative"/> for GELU.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Derivatives(ReadOnlySpan<double> u, Span<double> derivative)
    {
        if (derivative.Length < u.Length) throw new ArgumentException("derivative is shorter than u");
        int i = Vector512.IsHardwareAccelerated ? GeluLanes512.Derivatives(u, derivative)
            : Vector256.IsHardwareAccelerated ? GeluLanes256.Derivatives(u, derivative) : 0;
        for (; i < u.Length; i++) derivative[i] = Activations.Derivative(ActivationKind.Gelu, u[i]);
    }

    /// <summary>value[i] = σ(u[i]) and derivative[i] = σ'(u[i]) for GELU, the bits of <see cref="Activations.Value"/> and
    /// <see cref="Activations.Derivative"/>; the entries after the last whole vector are the caller's.</summary>
    /// <returns>How many leading entries were done.</returns>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static int ValuesAndDerivatives(ReadOnlySpan<double> u, Span<double> value, Span<double> derivative)
    {
        if (value.Length < u.Length || derivative.Length < u.Length) throw new ArgumentException("an output is shorter than u");
        return Vector512.IsHardwareAccelerated ? GeluLanes512.ValuesAndDerivatives(u, value, derivative)
            : Vector256.IsHardwareAccelerated ? GeluLanes256.ValuesAndDerivatives(u, value, derivative) : 0;
    }

    /// <summary>The scalar code, written as <see cref="SpecialFunctions.NormalCdf"/> and GELU's value are.</summary>
    private static double Scalar(double u)
    {
        double cdf = SpecialFunctions.NormalCdf(u);
        return cdf == 0.0 ? -0.0 : u * cdf;
    }
}
