namespace ResOdeProofs.Numerics;

/// <summary>
/// The constants of this project's exp: the reduction t = k·ln2 + r (k = round(t·log₂e) by one fused multiply–add onto
/// 1.5·2⁵², r by two with a two-part ln2) and the polynomial p with e^r = 1 + r·p(r). One definition for the engine's GELU
/// kernel (ActivationKernels512, whose error bound docs/theorems/GeluKernel.md proves from these
/// doubles, read from this file by GeluKernel.py) and the accurate scalar code's <see cref="SpecialFunctions.ExpNearZero"/>.
/// </summary>
internal static class ExpPolynomial
{
    internal const double Log2E = 1.4426950408889634074;
    internal const double Ln2Hi = 6.93147180369123816490e-01;   // 32 significant bits: k·Ln2Hi is exact for |k| < 2^21
    internal const double Ln2Lo = 1.90821492927058770002e-10;
    internal const double Magic = 6755399441055744.0;            // 1.5·2^52: adding it rounds to an integer held in the low bits

    // exp(r) = 1 + r·p(r) on |r| ≤ ln2/2·(1 + 2^-20) for GELU: p of degree 10, the Chebyshev interpolant of
    // (e^r − 1)/r at 11 nodes with its coefficients rounded to double (computed in 50-digit arithmetic). Sampled at
    // 20 001 points of the interval in 50-digit arithmetic, 1 + r·p(r) is within 0.088·2^-53 of e^r relative (the
    // degree-13 Taylor polynomial of the engine's ExpReduced: 0.04·2^-53), for two operations fewer; proven within 0.0893·2^-53
    // (docs/theorems/GeluKernel.md, step 1).
    internal const double E0 = 1.0, E1 = 0.5000000000000006, E2 = 0.1666666666666667, E3 = 0.04166666666657314,
        E4 = 0.008333333333326141, E5 = 0.0013888888932488848, E6 = 0.00019841269874800683, E7 = 2.4801504346680997e-05,
        E8 = 2.75572554255029e-06, E9 = 2.7626357373278975e-07, E10 = 2.5105206475334834e-08;
}
