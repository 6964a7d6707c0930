namespace ResOdeProofs.Numerics.Tests;

/// <summary>
/// erf and erfc composed from the engine's own pieces (<see cref="SpecialFunctions"/>: Cody's rational for erf(x)/x near 0
/// and exp(−y²)·R(y) beyond), so that the tests can check those pieces against a high-precision reference; the engine
/// itself evaluates them only inside Φ and φ.
/// </summary>
internal static class ErrorFunction
{
    /// <summary>
    /// Error function erf(x) = (2/√π) ∫₀ˣ exp(-t²) dt.
    /// erf(±∞) = ±1, erf(-0) = -0, erf(NaN) = NaN.
    /// </summary>
    public static double Erf(double x)
    {
        double y = Math.Abs(x);
        if (y <= SpecialFunctions.Threshold)
        {
            return x * SpecialFunctions.ErfOverX(x);  // keeps the sign of -0
        }
        if (double.IsNaN(x))
        {
            return x;
        }
        double r = (0.5 - SpecialFunctions.ErfcPositive(y)) + 0.5;
        return x < 0 ? -r : r;
    }

    /// <summary>
    /// Complementary error function erfc(x) = 1 - erf(x) = (2/√π) ∫ₓ^∞ exp(-t²) dt, computed without
    /// cancellation for large positive x (relative accuracy down to the underflow limit, x ≈ 27.2).
    /// erfc(+∞) = 0, erfc(-∞) = 2, erfc(NaN) = NaN.
    /// </summary>
    public static double Erfc(double x)
    {
        double y = Math.Abs(x);
        if (y <= SpecialFunctions.Threshold)
        {
            return 1.0 - x * SpecialFunctions.ErfOverX(x);
        }
        if (double.IsNaN(x))
        {
            return x;
        }
        double r = SpecialFunctions.ErfcPositive(y);
        return x < 0 ? 2.0 - r : r;
    }
}
