using System.Runtime.CompilerServices;
namespace ResOdeProofs.Numerics;

/// <summary>
/// The standard normal density and distribution function in double precision (about 1e-15 relative accuracy, tails
/// included), built on the error function and complementary error function (<see cref="ErfOverX"/> and
/// exp(−y²)·<see cref="ErfcScaled"/>, whose accuracy the tests check through erf and erfc composed from them).
/// </summary>
/// <remarks>
/// <para>
/// The rational approximations are those of W. J. Cody, "Rational Chebyshev approximations for the
/// error function", Math. Comp. 23 (1969), 631-638, with the coefficient sets of his CALERF packet
/// (three ranges: |x| &lt;= 0.46875 for erf, 0.46875 &lt; |x| &lt;= 4 and |x| &gt; 4 for erfc).
/// Only the published coefficients are taken from there; the evaluation code is our own.
/// </para>
/// <para>
/// For |x| &gt; 0.46875 we write erfc(x) = exp(-x²)·R(x) with R the rational part. The factor exp(-x²)
/// is evaluated without losing accuracy to the rounding of x² by splitting x = x₀ + d with
/// x₀ = trunc(16x)/16 (so x₀² is exact and exp(-x₀²) comes from a table) and computing
/// x² - x₀² = d·(x + x₀) error-free with an FMA. The same device gives exp(-u²/2) for the normal
/// density and lets <see cref="NormalCdf"/> share that factor with <see cref="NormalPdf"/>.
/// </para>
/// </remarks>
public static class SpecialFunctions
{
    // ---- Cody (1969) coefficients, CALERF packet -------------------------------------------
    // erf(x) = x·P(x²)/Q(x²) for |x| <= 0.46875
    internal const double A0 = 3.16112374387056560e00, A1 = 1.13864154151050156e02,
        A2 = 3.77485237685302021e02, A3 = 3.20937758913846947e03, A4 = 1.85777706184603153e-1;
    internal const double B0 = 2.36012909523441209e01, B1 = 2.44024637934444173e02,
        B2 = 1.28261652607737228e03, B3 = 2.84423683343917062e03;

    // erfc(x) = exp(-x²)·P(x)/Q(x) for 0.46875 < x <= 4
    internal const double C0 = 5.64188496988670089e-1, C1 = 8.88314979438837594e00,
        C2 = 6.61191906371416295e01, C3 = 2.98635138197400131e02, C4 = 8.81952221241769090e02,
        C5 = 1.71204761263407058e03, C6 = 2.05107837782607147e03, C7 = 1.23033935479799725e03,
        C8 = 2.15311535474403846e-8;
    internal const double D0 = 1.57449261107098347e01, D1 = 1.17693950891312499e02,
        D2 = 5.37181101862009858e02, D3 = 1.62138957456669019e03, D4 = 3.29079923573345963e03,
        D5 = 4.36261909014324716e03, D6 = 3.43936767414372164e03, D7 = 1.23033935480374942e03;

    // erfc(x) = exp(-x²)/x·(1/√π + z·P(z)/Q(z)), z = 1/x², for x > 4
    internal const double P0 = 3.05326634961232344e-1, P1 = 3.60344899949804439e-1,
        P2 = 1.25781726111229246e-1, P3 = 1.60837851487422766e-2, P4 = 6.58749161529837803e-4,
        P5 = 1.63153871373020978e-2;
    internal const double Q0 = 2.56852019228982242e00, Q1 = 1.87295284992346047e00,
        Q2 = 5.27905102951428412e-1, Q3 = 6.05183413124413191e-2, Q4 = 2.33520497626869185e-3;

    /// <summary>Cody's range boundary between the erf and erfc approximations.</summary>
    internal const double Threshold = 0.46875;

    internal const double InvSqrtPi = 0.56418958354775628695;       // 1/√π
    internal const double InvSqrt2Pi = 0.39894228040143267794;     // 1/√(2π)
    internal const double InvSqrt2 = 0.70710678118654752440;       // 1/√2

    // exp(-u²/2) underflows to zero (even as a subnormal) for |u| >= PdfZeroAt.
    internal const double PdfZeroAt = 38.75;

    // Table of exp(-(k/16)²/2); the arguments k²/512 are exact in binary.
    internal static readonly double[] ExpNegHalfSqTable = BuildTable((int)(PdfZeroAt * 16) + 2, 512.0);

    /// <summary>exp(−k²/divisor) for k = 0 .. n − 1.</summary>
    internal static double[] BuildTable(int n, double divisor)
    {
        var t = new double[n];
        for (int k = 0; k < n; k++)
        {
            t[k] = PortableMath.Exp(-(k * (double)k) / divisor);
        }
        return t;
    }

    /// <summary>
    /// exp(-y²) for 0 &lt;= y &lt; 27.5 (scale 1) or exp(−y²/2) for y &lt; 38.75 (scale ½), accurate to a few ulps:
    /// y = y₀ + d, y₀ = trunc(16y)/16, exp(-y²) = exp(-y₀²)·exp(-d(y + y₀)) with d(y + y₀) formed error-free (Fast2Sum +
    /// FMA); the second factor's argument is in [−3.5, 0] and comes from <see cref="ExpNearZero"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static double ExpNegSquareSplit(double y, double[] table, double scale)
    {
        int k = (int)(y * 16.0);
        double y0 = k * 0.0625;
        double d = y - y0;                   // exact (Sterbenz / few-bit y0)
        double s = y + y0;
        double sErr = y0 - (s - y);          // Fast2Sum, |y| >= |y0|
        double p = d * s;
        double pErr = Math.FusedMultiplyAdd(d, s, -p);
        double lo = pErr + d * sErr;
        // exponent = scale·(p + lo); scale is 1 or 1/2 (exact).
        double e = ExpNearZero(-scale * p);
        return table[k] * (e - e * (scale * lo));
    }

    /// <summary>
    /// exp(t) for −3.5 ≤ t ≤ 0 (the split above) by this project's own operations: t = k·ln2 + r
    /// with k = round(t·log₂e) (one FMA onto 1.5·2⁵²) and r by two FMAs with a two-part ln2 (ln2_hi of 32 bits: k·ln2_hi and
    /// t − k·ln2_hi exact), e^r = 1 + r·p(r) with the degree-10 polynomial of the engine's GELU kernel by Estrin's scheme
    /// (<see cref="ExpPolynomial"/>, the engine's GELU kernel's: 1 + r·p within 0.0893u of e^r, its evaluation within 4.354u,
    /// docs/theorems/GeluKernel.md, steps 1 and 3), and the exact scaling by 2^k. Bound: within
    /// (1 + 0.0893u)(1 + 4.354u)(1 + 0.347u) − 1 ≤ 4.8u of e^t relative (u = 2⁻⁵³; the second FMA's rounding moves r by at
    /// most u·ln2/2, e^r by 0.347u; ln2_hi + ln2_lo's own error, 1.2·10⁻²⁶, times |k| ≤ 5 is below 10⁻²⁵). Every operation is an IEEE
    /// product, sum or fused multiply–add, so the vector lanes of <see cref="GeluLanes"/> give these bits at every
    /// width, on any machine (the C library's exp, which this replaced, varies between library versions).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static double ExpNearZero(double t)
    {
        const double magic = ExpPolynomial.Magic;
        double kd = Math.FusedMultiplyAdd(t, ExpPolynomial.Log2E, magic);
        double k = kd - magic;
        double r = Math.FusedMultiplyAdd(k, -ExpPolynomial.Ln2Hi, t);
        r = Math.FusedMultiplyAdd(k, -ExpPolynomial.Ln2Lo, r);
        double r2 = r * r;
        double r4 = r2 * r2;
        double r8 = r4 * r4;
        double q0 = Math.FusedMultiplyAdd(r, ExpPolynomial.E1, ExpPolynomial.E0);
        double q1 = Math.FusedMultiplyAdd(r, ExpPolynomial.E3, ExpPolynomial.E2);
        double q2 = Math.FusedMultiplyAdd(r, ExpPolynomial.E5, ExpPolynomial.E4);
        double q3 = Math.FusedMultiplyAdd(r, ExpPolynomial.E7, ExpPolynomial.E6);
        double q4 = Math.FusedMultiplyAdd(r, ExpPolynomial.E9, ExpPolynomial.E8);
        double s0 = Math.FusedMultiplyAdd(q1, r2, q0);
        double s1 = Math.FusedMultiplyAdd(q3, r2, q2);
        double s2 = Math.FusedMultiplyAdd(ExpPolynomial.E10, r2, q4);
        double p = Math.FusedMultiplyAdd(s2, r8, Math.FusedMultiplyAdd(s1, r4, s0));
        double x = Math.FusedMultiplyAdd(p, r, 1.0);
        // 2^k from k's bits in kd (−5 ≤ k ≤ 0), an exact product
        long kb = BitConverter.DoubleToInt64Bits(kd) - BitConverter.DoubleToInt64Bits(magic);
        return x * BitConverter.Int64BitsToDouble((kb + 1023L) << 52);
    }

    /// <summary>exp(-u²/2) for any u (accurate in the tails; 0 when it underflows, NaN for NaN).</summary>
    internal static double ExpNegHalfSquare(double u)
    {
        double a = Math.Abs(u);
        if (a < PdfZeroAt)
        {
            return ExpNegSquareSplit(a, ExpNegHalfSqTable, 0.5);
        }
        return double.IsNaN(u) ? double.NaN : 0.0;
    }

    /// <summary>erf(x)/x as Cody's rational x ↦ P(x²)/Q(x²), for |x| &lt;= 0.46875.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static double ErfOverX(double x)
    {
        double z = x * x;
        double num = A4 * z;
        double den = z;
        num = (num + A0) * z; den = (den + B0) * z;
        num = (num + A1) * z; den = (den + B1) * z;
        num = (num + A2) * z; den = (den + B2) * z;
        return (num + A3) / (den + B3);
    }

    /// <summary>
    /// The scaled complementary error function R(y) = exp(y²)·erfc(y) for y &gt; 0.46875 (finite or +∞),
    /// from Cody's second and third approximations.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static double ErfcScaled(double y)
    {
        if (y <= 4.0)
        {
            double num = C8 * y;
            double den = y;
            num = (num + C0) * y; den = (den + D0) * y;
            num = (num + C1) * y; den = (den + D1) * y;
            num = (num + C2) * y; den = (den + D2) * y;
            num = (num + C3) * y; den = (den + D3) * y;
            num = (num + C4) * y; den = (den + D4) * y;
            num = (num + C5) * y; den = (den + D5) * y;
            num = (num + C6) * y; den = (den + D6) * y;
            return (num + C7) / (den + D7);
        }
        else
        {
            double z = 1.0 / (y * y);
            double num = P5 * z;
            double den = z;
            num = (num + P0) * z; den = (den + Q0) * z;
            num = (num + P1) * z; den = (den + Q1) * z;
            num = (num + P2) * z; den = (den + Q2) * z;
            num = (num + P3) * z; den = (den + Q3) * z;
            double r = z * (num + P4) / (den + Q4);
            return (InvSqrtPi - r) / y;
        }
    }


    /// <summary>Standard normal density φ(u) = exp(-u²/2)/√(2π). φ(±∞) = 0.</summary>
    public static double NormalPdf(double u) => InvSqrt2Pi * ExpNegHalfSquare(u);

    /// <summary>
    /// Standard normal distribution function Φ(u) = ½·erfc(-u/√2) = ½(1 + erf(u/√2)).
    /// For u &lt; 0 it is evaluated as ½·exp(-u²/2)·R(|u|/√2) (R = exp(y²)·erfc(y)), so the lower tail
    /// keeps full relative accuracy down to underflow (u ≈ -38.5). Φ(-∞) = 0, Φ(+∞) = 1.
    /// </summary>
    public static double NormalCdf(double u)
    {
        double a = Math.Abs(u);
        if (a * InvSqrt2 <= Threshold)
        {
            double x = u * InvSqrt2;
            return 0.5 + 0.5 * (x * ErfOverX(x));
        }
        if (double.IsNaN(u))
        {
            return u;
        }
        double tail = NormalTail(a, ExpNegHalfSquare(a));
        return u < 0 ? tail : (0.5 - tail) + 0.5;
    }

    /// <summary>
    /// Upper tail Q(a) = 1 - Φ(a) = Φ(-a) for a &gt; 0.46875·√2, given e = exp(-a²/2) (shared with φ).
    /// </summary>
    internal static double NormalTail(double a, double e) => e == 0.0 ? 0.0 : 0.5 * e * ErfcScaled(a * InvSqrt2);

    /// <summary>
    /// Φ(u) and φ(u) together, sharing the single exp(-u²/2) evaluation when |u| &gt; 0.46875·√2.
    /// Bit-identical to <see cref="NormalCdf"/> and <see cref="NormalPdf"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void NormalCdfAndPdf(double u, out double cdf, out double pdf)
    {
        double a = Math.Abs(u);
        double e = ExpNegHalfSquare(u);
        pdf = InvSqrt2Pi * e;
        if (a * InvSqrt2 <= Threshold)
        {
            double x = u * InvSqrt2;
            cdf = 0.5 + 0.5 * (x * ErfOverX(x));
            return;
        }
        if (double.IsNaN(u))
        {
            cdf = u;
            return;
        }
        double tail = NormalTail(a, e);
        cdf = u < 0 ? tail : (0.5 - tail) + 0.5;
    }
}
