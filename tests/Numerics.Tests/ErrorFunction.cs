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
        double r = (0.5 - ErfcPositive(y)) + 0.5;
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
        double r = ErfcPositive(y);
        return x < 0 ? 2.0 - r : r;
    }

    /// <summary>exp(−y²) underflows to zero (even as a subnormal) for y ≥ ErfcZeroAt.</summary>
    private const double ErfcZeroAt = 27.5;

    /// <summary>exp(−(k/16)²) for k = 0 .. 16·ErfcZeroAt + 1; the arguments k²/256 are exact in binary.</summary>
    private static readonly double[] ExpNegSqTable = SpecialFunctions.BuildTable((int)(ErfcZeroAt * 16) + 2, 256.0);

    /// <summary>exp(−y²) for y ≥ 0 by the engine's split evaluation (the table's exp(−y₀²) times exp(−d(y + y₀)), as for
    /// φ's exp(−u²/2)); 0 where it underflows.</summary>
    private static double ExpNegSquare(double y) =>
        y < ErfcZeroAt ? SpecialFunctions.ExpNegSquareSplit(y, ExpNegSqTable, 1.0) : 0.0;

    /// <summary>erfc(y) for y &gt; 0.46875, without cancellation: exp(−y²)·R(y) from the engine's pieces, 0 where exp(−y²)
    /// underflows.</summary>
    private static double ErfcPositive(double y) => y < ErfcZeroAt ? ExpNegSquare(y) * SpecialFunctions.ErfcScaled(y) : 0.0;
}
