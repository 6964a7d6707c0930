using System.Runtime.CompilerServices;

namespace ResOdeProofs.Numerics;

/// <summary>
/// exp, log, tanh, sin and cos with the same bits on every platform and runtime. <see cref="Math.Exp"/> and its
/// siblings call the platform's C library (glibc, the Windows CRT, Apple's libm), which round differently in the last
/// place for some arguments; a run whose initial weights, data or activations went through them would not be
/// reproducible from its seed on another platform. These functions use only IEEE 754 sums, products, quotients,
/// square roots and fused multiply–adds, each correctly rounded by the standard, so their results are fixed by the code.
///
/// exp, log and tanh (|x| &lt; ½) first evaluate in double arithmetic with a proven bound ε on the error before the final
/// rounding and return the rounded value when the values ε either side of it round to the same double (Ziv's test, so
/// every value within the error does); otherwise (measured: exp about 1 argument in 500, log 1 in 3 000 on [½, 2] and 1 in
/// 70 just beside 1, tanh 1 in 80 on (−½, ½)), and for sin, cos and the rest of tanh always (about 150 ns a call: the
/// activations call this tanh below ½ only), they evaluate in double-double arithmetic (about 106 bits; errors of order 2⁻¹⁰⁰ relative, 2⁻⁷⁵ for a
/// sine or cosine within 2⁻⁶⁰ of a zero). The result is therefore the correctly rounded value except for arguments whose
/// exact value lies within the double-double's error of a midpoint between two doubles (none among the tests'
/// comparisons with 320-bit references). Platform libraries that round correctly for nearly all arguments give the same
/// bits nearly everywhere (glibc's exp, log, sin and cos differ on about 8–14 arguments in 10 000), so seeds keep their
/// meaning. The error budgets are in docs/run-format.md ("The same numbers on every platform").
/// </summary>
public static class PortableMath
{
    // ln 2 as a double-double: hi the double nearest ln 2, lo the double nearest ln 2 − hi.
    private const double Ln2Hi = 6.93147180559945286227e-01;   // 0x3FE62E42FEFA39EF
    private const double Ln2Lo = 2.31904681384629955842e-17;   // 0x3C7ABC9E3B39803F
    // π/2 as a triple-double (hi + mid + lo, each the double nearest the remainder).
    private const double PiOver2Hi = 1.57079632679489655800e+00;  // 0x3FF921FB54442D18
    private const double PiOver2Mid = 6.12323399573676603587e-17; // 0x3C91A62633145C07
    private const double PiOver2Lo = -1.49738490485916983e-33;    // 0xB91F1976B7ED8FBC
    private const double Sqrt2 = 1.4142135623730951;

    /// <summary>Arguments of <see cref="Sin"/> and <see cref="Cos"/> are reduced exactly enough up to this magnitude.</summary>
    public const double TrigArgumentLimit = 1048576.0; // 2^20

    // 2^(j/64) for j = 0..63 as double-doubles, from the exponential series in double-double arithmetic.
    private static readonly double[] ExpTableHi = new double[64];
    private static readonly double[] ExpTableLo = new double[64];
    // 1/n! for n = 0..29 as double-doubles (hi, lo).
    private static readonly double[] InvFactHi = new double[30];
    private static readonly double[] InvFactLo = new double[30];
    // 1/(2k + 3) for k = 0..19 as double-doubles: the atanh series of the logarithm.
    private static readonly double[] InvOddHi = new double[20];
    private static readonly double[] InvOddLo = new double[20];

    // ln 2 = Ln2Hi42 + Ln2Lo42 with Ln2Hi42 of 42 bits (so e·Ln2Hi42 is exact for |e| ≤ 2^11).
    private static readonly double Ln2Hi42 = Math.ScaleB(Math.Floor(Math.ScaleB(Ln2Hi, 42)), -42);
    private static readonly double Ln2Lo42 = (Ln2Hi - Ln2Hi42) + Ln2Lo;
    // The logarithm's table for j = 0..128 (c_j = 1 + j/128): inv_j, ln c_j' as a double-double, the exponent's adjustment.
    private static readonly double[] LogInv = new double[129];
    private static readonly double[] LogCHi = new double[129];
    private static readonly double[] LogCLo = new double[129];
    private static readonly int[] LogAdjust = new int[129];
    // tanh's Taylor coefficients: t₁ = −1/3 and t₂ = 2/15 as double-doubles, t₃ … t₂₀ (of a⁷ … a⁴¹) rounded to double.
    private static readonly double TanhT1Hi, TanhT1Lo, TanhT2Hi, TanhT2Lo;
    private static readonly double[] TanhSeries;

    static PortableMath()
    {
        double fh = 1.0, fl = 0.0;
        InvFactHi[0] = 1.0; InvFactLo[0] = 0.0;
        for (int n = 1; n < InvFactHi.Length; n++)
        {
            (fh, fl) = DivideByInteger(fh, fl, n);
            InvFactHi[n] = fh; InvFactLo[n] = fl;
        }
        for (int k = 0; k < InvOddHi.Length; k++) (InvOddHi[k], InvOddLo[k]) = DivideByInteger(1.0, 0.0, 2 * k + 3);
        for (int j = 0; j < 64; j++)
        {
            // r = j·ln2/64 ∈ [0, 0.69) as a double-double; exp(r) by its Taylor series to r^29/29! (< 2⁻¹¹⁰).
            var (rh, rl) = TwoProduct(j, Ln2Hi / 64);
            rl += j * (Ln2Lo / 64);
            (rh, rl) = FastTwoSum(rh, rl);
            double sh = InvFactHi[29], sl = InvFactLo[29];
            for (int n = 28; n >= 0; n--)
            {
                (sh, sl) = Multiply(sh, sl, rh, rl);
                (sh, sl) = Add(sh, sl, InvFactHi[n], InvFactLo[n]);
            }
            ExpTableHi[j] = sh; ExpTableLo[j] = sl;
        }
        for (int j = 0; j <= 128; j++)
        {
            double c = 1.0 + j / 128.0;
            double inv = 1.0 / c;
            int adjust = c > Sqrt2 ? 1 : 0;
            var (lh, ll) = LogDD(adjust == 1 ? 2.0 * inv : inv); // ln c' = −ln(inv·2^adjust), inv exact as stored
            LogInv[j] = inv; LogCHi[j] = -lh; LogCLo[j] = -ll; LogAdjust[j] = adjust;
        }
        // tanh' = 1 − tanh²: with tanh a = Σ_k t_k a^(2k+1), (2k + 1)·t_k = −Σ_{i+l=k−1} t_i·t_l for k ≥ 1, in double-doubles.
        const int terms = 21;
        var th = new double[terms]; var tl = new double[terms];
        th[0] = 1.0;
        for (int k = 1; k < terms; k++)
        {
            double sh = 0.0, sl = 0.0;
            for (int i = 0; i <= k - 1; i++)
            {
                var (ph, pl) = Multiply(th[i], tl[i], th[k - 1 - i], tl[k - 1 - i]);
                (sh, sl) = Add(sh, sl, ph, pl);
            }
            (th[k], tl[k]) = DivideByInteger(-sh, -sl, 2 * k + 1);
        }
        (TanhT1Hi, TanhT1Lo, TanhT2Hi, TanhT2Lo) = (th[1], tl[1], th[2], tl[2]);
        TanhSeries = new double[terms - 3];
        for (int k = 3; k < terms; k++) TanhSeries[k - 3] = th[k] + tl[k];
    }

    // ------------------------------------------------------------------------------------------
    // Double-double arithmetic (Dekker, Knuth; products by the fused multiply–add)
    // ------------------------------------------------------------------------------------------

    /// <summary>2^k for −1022 ≤ k ≤ 1023, from its bits.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static double Pow2(int k) => BitConverter.Int64BitsToDouble((long)(k + 1023) << 52);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (double, double) TwoSum(double a, double b)
    {
        double s = a + b, bb = s - a;
        return (s, (a - (s - bb)) + (b - bb));
    }

    /// <summary>s + e = a + b exactly, for |a| ≥ |b| (or a = 0).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (double, double) FastTwoSum(double a, double b)
    {
        double s = a + b;
        return (s, b - (s - a));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (double, double) TwoProduct(double a, double b)
    {
        double p = a * b;
        return (p, Math.FusedMultiplyAdd(a, b, -p));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (double, double) Add(double ah, double al, double bh, double bl)
    {
        var (s, e) = TwoSum(ah, bh);
        var (t, f) = TwoSum(al, bl);
        e += t;
        (s, e) = FastTwoSum(s, e);
        e += f;
        return FastTwoSum(s, e);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (double, double) Multiply(double ah, double al, double bh, double bl)
    {
        var (p, e) = TwoProduct(ah, bh);
        e += ah * bl + al * bh;
        return FastTwoSum(p, e);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (double, double) Divide(double ah, double al, double bh, double bl)
    {
        double q = ah / bh;
        // a − q·b: the first residual exact by the fused multiply–add, the rest of order 2⁻⁵³ of it.
        double r = Math.FusedMultiplyAdd(-q, bh, ah) + al - q * bl;
        return FastTwoSum(q, r / bh);
    }

    /// <summary>
    /// Σ_{i=low}^{top} c_i·y^(i − low), c_i = hi[i] + lo[i], y = yh + yl, by Horner's rule: the coefficients from `split` up
    /// (whose terms are small enough that double's rounding of them is below the double-double's) in double with fused
    /// multiply–adds, the rest in double-double.
    /// </summary>
    private static (double, double) MixedHorner(double[] hi, double[] lo, int low, int split, int top, double yh, double yl)
    {
        double tail = hi[top];
        for (int i = top - 1; i >= split; i--) tail = Math.FusedMultiplyAdd(tail, yh, hi[i]);
        double sh = tail, sl = 0.0;
        for (int i = split - 1; i >= low; i--)
        {
            (sh, sl) = Multiply(sh, sl, yh, yl);
            (sh, sl) = Add(sh, sl, hi[i], lo[i]);
        }
        return (sh, sl);
    }

    private static (double, double) DivideByInteger(double ah, double al, int n)
    {
        double q = ah / n;
        double r = Math.FusedMultiplyAdd(-q, n, ah) + al;
        return FastTwoSum(q, r / n);
    }

    // ------------------------------------------------------------------------------------------
    // Integer powers
    // ------------------------------------------------------------------------------------------

    /// <summary>
    /// xⁿ for n ≥ 0 by binary exponentiation (products only, so the same bits on every platform; <see cref="Math.Pow"/> is
    /// the platform's pow, which for n = 2 need not even be fl(x·x)). At most 2⌊log₂ n⌋ products, but a rounding in a
    /// squaring is raised with it: the result is xⁿ·Π(1 + δ_i)^{c_i} with Σc_i ≤ n − 1, so the relative error is at most
    /// γ_{n−1} = (n − 1)u/(1 − (n − 1)u) (as for n − 1 products in a row; Higham, §3.1) while nothing overflows or
    /// underflows: for large n, e^{n·ln x} is the more accurate. Exact for powers of two. x⁰ = 1 for every x, NaN included,
    /// as <see cref="Math.Pow"/> has it.
    /// </summary>
    public static double PowInt(double x, int n)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(n);
        double result = 1.0, b = x;
        bool first = true;
        // the set bits of n from the lowest: result picks up b = x^(2^i) for each; the first is taken as it is (no 1·b)
        while (n != 0)
        {
            if ((n & 1) != 0) { result = first ? b : result * b; first = false; }
            n >>= 1;
            if (n != 0) b *= b;
        }
        return result;
    }

    // ------------------------------------------------------------------------------------------
    // Logarithm
    // ------------------------------------------------------------------------------------------

    /// <summary>The natural logarithm, with the same bits on every platform (see the class summary).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // hot in the scalar activations: never run as unoptimized tier-0 code
    public static double Log(double x)
    {
        if (!(x > 0.0) || double.IsPositiveInfinity(x))
            return x == 0.0 ? double.NegativeInfinity : double.IsPositiveInfinity(x) ? x : double.NaN;
        if (x >= 2.2250738585072014e-308)
        {
            // Fast path. x = 2^e·m, m ∈ [1, 2), j = round(128(m − 1)), c_j = 1 + j/128: ln x = e·ln2 + ln c_j + ln(1 + r),
            // r = m/c_j − 1 = m·inv_j − 1 + m·(1/c_j − inv_j); |r| ≤ 2⁻⁸ + 2⁻⁵². The table holds inv_j (the double
            // nearest 1/c_j) and ln c_j' = −ln(inv_j) as a double-double (c_j' = c_j/2 and e + 1 where c_j > √2), so the
            // r formed from inv_j is exact against the table: r = rh + rl with m·inv_j = p + pe exactly, rh = p − 1 exact.
            long bits = BitConverter.DoubleToInt64Bits(x);
            long frac = bits & 0x000FFFFFFFFFFFFFL;
            int j = (int)((frac + (1L << 44)) >> 45);
            int e = (int)((bits >> 52) & 0x7FF) - 1023 + LogAdjust[j];
            double m = BitConverter.Int64BitsToDouble(frac | 0x3FF0000000000000L);
            var (p, pe) = TwoProduct(m, LogInv[j]);
            double rh = p - 1.0, rl = pe;
            // ln(1 + r) = ln(1 + rh) + rl/(1 + rh) + O(rl²) = rh + poly(rh) + rl − rh·rl + rl·rh²(1 − …) + O(rl²),
            // poly(r) = −r²/2 + r³/3 − … + r⁹/9 (the rest below r¹⁰/10 < 2⁻⁶²·r²); the dropped rl·rh² is below 2⁻⁵²|poly|.
            double poly = 1.0 / 9;
            poly = Math.FusedMultiplyAdd(poly, rh, -0.125);
            poly = Math.FusedMultiplyAdd(poly, rh, 1.0 / 7);
            poly = Math.FusedMultiplyAdd(poly, rh, -1.0 / 6);
            poly = Math.FusedMultiplyAdd(poly, rh, 0.2);
            poly = Math.FusedMultiplyAdd(poly, rh, -0.25);
            poly = Math.FusedMultiplyAdd(poly, rh, 1.0 / 3);
            poly = Math.FusedMultiplyAdd(poly, rh, -0.5);
            poly *= rh * rh;
            var (s1, t1) = TwoSum(e * Ln2Hi42, LogCHi[j]);     // e·ln2's leading part exact (42 bits times |e| ≤ 1024)
            var (s2, t2) = TwoSum(s1, rh);
            double lo = t1 + t2 + LogCLo[j] + e * Ln2Lo42 + (rl - rh * rl) + poly;
            // Error of lo against the exact ln x − s2 (docs/run-format.md): poly's evaluation and truncation, the dropped
            // rl·rh², lo's sums and the −rh·rl term below 2⁻⁴⁹(|poly| + |rl|); the table, e·ln2's low part, rl² and lo's sums
            // of them below 2⁻⁹⁰|s2|.
            double eps = (Math.Abs(poly) + Math.Abs(rl)) * 1.7763568394002505e-15 + Math.Abs(s2) * 8.0779356694631609e-28; // 2⁻⁴⁹, 2⁻⁹⁰
            double a = s2 + (lo - eps), b = s2 + (lo + eps);
            if (a == b) return a;                              // every value within the error rounds alike: that one
        }
        var (h, l) = LogDD(x);
        return h + l;
    }

    /// <summary>ln x as a double-double, for finite x &gt; 0.</summary>
    private static (double, double) LogDD(double x)
    {
        int e = 0;
        if (x < 2.2250738585072014e-308) { x *= 18014398509481984.0; e = -54; } // below 2^−1022 (subnormal): times 2^54
        long bits = BitConverter.DoubleToInt64Bits(x);
        e += (int)((bits >> 52) & 0x7FF) - 1023;
        double m = BitConverter.Int64BitsToDouble((bits & 0x000FFFFFFFFFFFFFL) | 0x3FF0000000000000L);
        if (m > Sqrt2) { m *= 0.5; e++; }
        // m ∈ [√½, √2]: ln m = 2·atanh f, f = (m − 1)/(m + 1), |f| ≤ 0.1716, z = f² ≤ 0.02944.
        double a = m - 1.0;                     // exact (Sterbenz)
        var (bh, bl) = TwoSum(m, 1.0);
        var (fh, fl) = Divide(a, 0.0, bh, bl);
        var (zh, zl) = Multiply(fh, fl, fh, fl);
        // atanh f = f·(1 + z·T(z)), T(z) = Σ_{k≥0} z^k/(2k + 3). Terms k ≥ 9 are below 2⁻⁴⁴ and summed in double
        // (their rounding below 2⁻⁹⁷); the truncation after k = 19 is below z²⁰/43 < 2⁻¹⁰⁶.
        var (th, tl) = MixedHorner(InvOddHi, InvOddLo, 0, 9, 19, zh, zl);
        (th, tl) = Multiply(th, tl, zh, zl);
        (th, tl) = Add(1.0, 0.0, th, tl);
        var (lh, ll) = Multiply(2.0 * fh, 2.0 * fl, th, tl);
        if (e == 0) return (lh, ll);
        var (eh, el) = TwoProduct(e, Ln2Hi);
        el += e * Ln2Lo;
        return Add(eh, el, lh, ll);
    }

    // ------------------------------------------------------------------------------------------
    // Exponential
    // ------------------------------------------------------------------------------------------

    private const double ExpOverflow = 709.782712893384;      // above: +∞
    private const double ExpUnderflow = -745.1332191019412;   // below: +0

    /// <summary>e^x, with the same bits on every platform (see the class summary).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // hot in the scalar activations: never run as unoptimized tier-0 code
    public static double Exp(double x)
    {
        if (double.IsNaN(x)) return x;
        if (x > ExpOverflow) return double.PositiveInfinity;
        if (x < ExpUnderflow) return 0.0;
        // Fast path: x = (64k + j)·ln2/64 + r (ReduceExp), e^x = 2^k·T_j·e^r with T_j = 2^(j/64) a double-double and
        // e^r = 1 + r + q, q = r²/2 + … + r⁶/720 in double (truncation below r⁷/5040 < 2⁻⁶⁵).
        var (n, rh, rl) = ReduceExp(x);
        int j = n & 63, k = n >> 6;
        if (k >= -1021)
        {
            double q = rh * rh * Math.FusedMultiplyAdd(rh, Math.FusedMultiplyAdd(rh, Math.FusedMultiplyAdd(rh, Math.FusedMultiplyAdd(rh, 1.0 / 720, 1.0 / 120), 1.0 / 24), 1.0 / 6), 0.5);
            double th = ExpTableHi[j], tl = ExpTableLo[j];
            var (a, b) = TwoProduct(th, rh);
            var (s, t) = TwoSum(th, a);
            double lo = t + (b + tl + th * (rl + q) + tl * rh);
            // Error of s + lo against T_j·e^r ∈ [0.99, 2]: below 2⁻⁶³ (truncation, q's evaluation, the dropped rh·rl and the
            // sums of lo; docs/run-format.md), taken as 2⁻⁶².
            const double eps = 2.168404344971009e-19; // 2^-62
            double lower = s + (lo - eps), upper = s + (lo + eps);
            if (lower == upper) return k <= 1023 ? lower * Pow2(k) : lower * Pow2(1023) * 2.0;
        }
        var (h, l, kk) = ExpDD(x);
        return Scale(h, l, kk);
    }

    /// <summary>
    /// x = n·ln2/64 + r, n = round(64x/ln2) (|n| &lt; 2^17 for |x| ≤ 746), r = rh + rl normalized (|rl| ≤ ulp(rh)/2 ≤ 2⁻⁶¹),
    /// |r| ≤ ln2/128 + 2⁻⁴⁰: n·ln2/64 is n times ln 2's leading part (an exact product pair) plus n times its low part.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (int, double, double) ReduceExp(double x)
    {
        int n = (int)Math.Round(x * (64.0 / Ln2Hi));
        var (ph, pl) = TwoProduct(n, Ln2Hi / 64);
        pl += n * (Ln2Lo / 64);
        var (rh, rl) = TwoSum(x, -ph);
        var (h, l) = TwoSum(rh, rl - pl);
        return (n, h, l);
    }

    /// <summary>e^x = 2^k·(h + l) with h + l ∈ [0.99, 1.99], for |x| ≤ 746.</summary>
    private static (double, double, int) ExpDD(double x)
    {
        var (n, rh, rl) = ReduceExp(x);
        // e^r by its Taylor series to r^11/11! (< 2⁻¹⁰⁷ for |r| ≤ 0.0055); terms from r⁶ on are below 2⁻⁴⁴ and summed
        // in double (their rounding below 2⁻⁹⁷).
        var (sh, sl) = MixedHorner(InvFactHi, InvFactLo, 0, 6, 11, rh, rl);
        int j = n & 63, k = n >> 6;
        var (eh, el) = Multiply(sh, sl, ExpTableHi[j], ExpTableLo[j]);
        return (eh, el, k);
    }

    /// <summary>2^k·(h + l) rounded to double, also where the result is subnormal.</summary>
    private static double Scale(double h, double l, int k)
    {
        // h + l ≥ 0.99: for k ≥ −1021 (or k = −1022 with h ≥ 1) the result is normal or overflows, the scaling exact.
        if (k >= -1021 || (k == -1022 && h >= 1.0)) return Math.ScaleB(h + l, k);
        // Subnormal result. Scaled by 2^200 (exact, normal), H + L is to be rounded to the grid 2^(−1074+200) = 2^−874:
        // G + H with G = 2^−822 (whose ulp that grid is; H < 2^−822) rounds H to the grid, its error r exactly by TwoSum;
        // the rounding is then corrected by one grid step where r + L passes half a step (a second rounding avoided).
        double hs = Math.ScaleB(h, k + 200), ls = Math.ScaleB(l, k + 200);
        double g = Math.ScaleB(1.0, -822), step = Math.ScaleB(1.0, -874);
        var (s, r) = TwoSum(g, hs);
        double t = r + ls;
        if (t > 0.5 * step) s += step;
        else if (t < -0.5 * step) s -= step;
        return Math.ScaleB(s - g, -200);   // s − g a multiple of 2^−874 below 2^−821: exact, and so is the scaling
    }

    // ------------------------------------------------------------------------------------------
    // Hyperbolic tangent
    // ------------------------------------------------------------------------------------------

    /// <summary>tanh x, with the same bits on every platform (see the class summary).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // hot in the scalar activations: never run as unoptimized tier-0 code
    public static double Tanh(double x)
    {
        if (double.IsNaN(x)) return x;
        double a = Math.Abs(x);
        if (a < 1.0 / 268435456.0) return x;              // |x| < 2⁻²⁸: tanh x = x(1 − x²/3 + …) rounds to x
        if (a > 22.0) return Math.CopySign(1.0, x);       // 1 − tanh a = 2e^{−2a}/(1 + e^{−2a}) < 2⁻⁶²
        if (a < 0.5)
        {
            // Fast path: tanh a = a + a·z·(−1/3 + 2z/15) + a·z³·P(z), z = a² ≤ ¼: the first correction as a double-double,
            // the rest (below 0.0009a) by its Taylor coefficients t₃ … t₂₀ in double (truncation below 2⁻⁶⁵a).
            var (zh, zl) = TwoProduct(a, a);
            var (uh, ul) = Multiply(TanhT2Hi, TanhT2Lo, zh, zl);
            (uh, ul) = Add(uh, ul, TanhT1Hi, TanhT1Lo);
            (uh, ul) = Multiply(uh, ul, zh, zl);
            (uh, ul) = Multiply(uh, ul, a, 0.0);
            double poly = TanhSeries[^1];
            for (int i = TanhSeries.Length - 2; i >= 0; i--) poly = Math.FusedMultiplyAdd(poly, zh, TanhSeries[i]);
            double rest = a * (zh * zh * zh) * poly;
            var (s, t) = TwoSum(a, uh);
            double lo = t + ul + rest;
            // Error of lo (docs/run-format.md): the rest's evaluation below 2⁻⁴⁸|rest|; its truncation, lo's two sums and the
            // double-double part below 2⁻⁶¹a.
            double eps = Math.Abs(rest) * 3.5527136788005009e-15 + a * 4.3368086899420177e-19; // 2⁻⁴⁸, 2⁻⁶¹
            double lower = s + (lo - eps), upper = s + (lo + eps);
            if (lower == upper) return Math.CopySign(lower, x);
        }
        // tanh a = −m/(2 + m), m = e^{−2a} − 1 ∈ (−1, 0) as a double-double: by its own series near 0 (no cancellation),
        // else e^{−2a} − 1 with the double-double exponential (relative error of m below 2⁻¹⁰⁶/0.0054 < 2⁻⁹⁸).
        double mh, ml;
        if (2.0 * a <= 0.0054) (mh, ml) = ExpM1Small(-2.0 * a);
        else
        {
            var (h, l, k) = ExpDD(-2.0 * a);
            double s = Math.ScaleB(1.0, k);                  // k ∈ [−64, 0]: the scaling below is exact
            (mh, ml) = Add(h * s, l * s, -1.0, 0.0);
        }
        var (dh, dl) = Add(2.0, 0.0, mh, ml);
        var (qh, ql) = Divide(-mh, -ml, dh, dl);
        return Math.CopySign(qh + ql, x);
    }

    /// <summary>e^x − 1 for |x| ≤ 0.0054 as a double-double: x·Σ_{i≥1} x^{i−1}/i! to x^11/11!, the terms from x⁶ on in double.</summary>
    private static (double, double) ExpM1Small(double x)
    {
        var (sh, sl) = MixedHorner(InvFactHi, InvFactLo, 1, 6, 11, x, 0.0);
        return Multiply(sh, sl, x, 0.0);
    }

    // ------------------------------------------------------------------------------------------
    // Sine and cosine
    // ------------------------------------------------------------------------------------------

    /// <summary>sin x for |x| ≤ <see cref="TrigArgumentLimit"/>, with the same bits on every platform.</summary>
    /// <exception cref="ArgumentOutOfRangeException">|x| above <see cref="TrigArgumentLimit"/> or infinite.</exception>
    public static double Sin(double x)
    {
        if (double.IsNaN(x) || x == 0.0) return x;
        var (q, rh, rl) = Reduce(x);
        return (q & 3) switch
        {
            0 => SinDD(rh, rl),
            1 => CosDD(rh, rl),
            2 => -SinDD(rh, rl),
            _ => -CosDD(rh, rl),
        };
    }

    /// <summary>cos x for |x| ≤ <see cref="TrigArgumentLimit"/>, with the same bits on every platform.</summary>
    /// <exception cref="ArgumentOutOfRangeException">|x| above <see cref="TrigArgumentLimit"/> or infinite.</exception>
    public static double Cos(double x)
    {
        if (double.IsNaN(x)) return x;
        var (q, rh, rl) = Reduce(x);
        return (q & 3) switch
        {
            0 => CosDD(rh, rl),
            1 => -SinDD(rh, rl),
            2 => -CosDD(rh, rl),
            _ => SinDD(rh, rl),
        };
    }

    /// <summary>x = q·π/2 + r, |r| ≤ π/4 + ε, r as a double-double (q·π/2's three parts as exact or nearly exact products).</summary>
    private static (int, double, double) Reduce(double x)
    {
        if (!(Math.Abs(x) <= TrigArgumentLimit))
            throw new ArgumentOutOfRangeException(nameof(x), x, $"the portable sin and cos reduce arguments up to {TrigArgumentLimit:R} in magnitude");
        int q = (int)Math.Round(x * (1.0 / PiOver2Hi));
        var (ph, pl) = TwoProduct(q, PiOver2Hi);
        var (mh, ml) = TwoProduct(q, PiOver2Mid);
        var (rh, rl) = TwoSum(x, -ph);   // x − q·π/2's leading part: nearly cancels, exact as a pair
        rl -= pl;
        (rh, rl) = TwoSum(rh, rl);
        (rh, rl) = Add(rh, rl, -mh, -ml);
        (rh, rl) = Add(rh, rl, -q * PiOver2Lo, 0.0);
        return (q, rh, rl);
    }

    /// <summary>sin r for |r| ≤ π/4 + ε: r·Σ (−1)^k z^k/(2k + 1)!, z = r².</summary>
    private static double SinDD(double rh, double rl)
    {
        if (rh == 0.0) return rh;
        var (zh, zl) = Multiply(rh, rl, rh, rl);
        var (sh, sl) = AlternatingSeries(1, zh, zl);
        (sh, sl) = Multiply(sh, sl, rh, rl);
        return sh + sl;
    }

    /// <summary>cos r for |r| ≤ π/4 + ε: Σ (−1)^k z^k/(2k)!, z = r².</summary>
    private static double CosDD(double rh, double rl)
    {
        var (zh, zl) = Multiply(rh, rl, rh, rl);
        var (ch, cl) = AlternatingSeries(0, zh, zl);
        return ch + cl;
    }

    /// <summary>
    /// Σ_{k=0}^{14} (−1)^k z^k/(2k + offset)! for z = zh + zl ≤ (π/4)² + ε (sine: offset 1, cosine: 0) by Horner's rule: the
    /// terms from k = 8 on (below 2⁻⁵³ of the sum) in double with fused multiply–adds, the rest in double-double; the
    /// truncation after k = 14 is below 2⁻¹¹².
    /// </summary>
    private static (double, double) AlternatingSeries(int offset, double zh, double zl)
    {
        double tail = InvFactHi[28 + offset];
        for (int k = 13; k >= 8; k--) tail = Math.FusedMultiplyAdd(-tail, zh, InvFactHi[2 * k + offset]);
        double sh = tail, sl = 0.0;
        for (int k = 7; k >= 0; k--)
        {
            (sh, sl) = Multiply(-sh, -sl, zh, zl);
            (sh, sl) = Add(sh, sl, InvFactHi[2 * k + offset], InvFactLo[2 * k + offset]);
        }
        return (sh, sl);
    }
}
