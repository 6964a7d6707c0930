using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace ResOdeProofs.Numerics.Model;

/// <summary>
/// A certified test that the spectral norm of a computed square matrix M is below a level τ, cheaper than the norm
/// itself: the Gram matrix Ĝ = fl(MᵀM) and one floating-point Cholesky factorization of σI − Ĝ, σ slightly below τ².
/// <para>
/// Derivation (docs/theorems/RunIntegrity.md, "Tolerance from rounding", step 2). Ĝ sums each entry over d products
/// (<see cref="ShiftedGramUpper"/>, the entries of <see cref="Gram(double[], int, int, int, double[])"/>), so |Ĝ − MᵀM| ≤ γ_d|M|ᵀ|M| entrywise (Higham, Accuracy and
/// Stability of Numerical Algorithms, 2nd ed., 2002, §3.1, any order of summation) and ‖Ĝ − MᵀM‖₂ ≤ γ_d‖M‖_F² =: e₁, with
/// ‖M‖_F² ≤ F̂/(1 − γ_{2d}) for F̂ the computed trace of Ĝ. Let Â be σI − Ĝ with its diagonal rounded once:
/// Â = σI − Ĝ + E₂, E₂ diagonal, |E₂| ≤ u·|Â_ii| ≤ uσ =: e₂ (0 ≤ Ĝ_ii; a diagonal entry above σ makes a pivot
/// non-positive). If the Cholesky factorization of Â runs to completion with positive pivots, R̂ᵀR̂ = Â + E₃ with
/// |E₃| ≤ γ_{d+1}|R̂|ᵀ|R̂| (Higham, Thm 10.3, after Demmel; its proof uses only that the factorization completes, as
/// Rump, Verification of positive definiteness, BIT 46 (2006), uses it), so ‖E₃‖₂ ≤ γ_{d+1}‖R̂‖_F² and, from the
/// theorem's diagonal equations, ‖R̂‖_F² ≤ tr(Â)/(1 − γ_{d+1}) ≤ dσ/(1 − γ_{d+1}): e₃ = dσγ_{d+1}/(1 − γ_{d+1}), plus
/// 10⁻³⁰⁰(1 + σ) for gradual underflow (each product or quotient then adds at most 2⁻¹⁰⁷⁵ absolutely, at most
/// d(d + 2 + 2σ)·2⁻¹⁰⁷⁴ in norm for d ≤ 2²⁰). R̂ᵀR̂ is positive definite (R̂ triangular with a positive diagonal), so
/// Ĝ ≺ σI + E₂ + E₃ and ‖M‖₂² = λ_max(MᵀM) &lt; σ + e₁ + e₂ + e₃.
/// </para>
/// <para>
/// Rounding of the test itself: t = fl(τ²) ≤ τ²(1 + u), σ = fl(t(1 − 2⁻³⁰)) and the allowance e = e₁ + e₂ + e₃ formed
/// in floating point (each term a few rounded products and quotients of positive numbers: its computed value is above
/// half the exact one); the test asks 2ê ≤ t·2⁻³¹ (both sides scaled by powers of two, exact for t in [2⁻⁹⁰⁰, 2⁹⁰⁰]).
/// Then σ + e ≤ t[(1 − 2⁻³⁰)(1 + u) + 2⁻³¹] ≤ t/(1 + u) ≤ τ², so ‖M‖₂ &lt; τ. A failure of any step (a pivot not
/// positive, a value not finite, τ outside that range) proves nothing, and the caller takes the norm.
/// </para>
/// </summary>
public static partial class SpectralNorm
{
    [ThreadStatic] private static double[]? t_chol;

    private static readonly double TinyLevel = Math.ScaleB(1.0, -900);
    private static readonly double HugeLevel = Math.ScaleB(1.0, 900);
    private static readonly double ShiftFactor = 1.0 - Math.ScaleB(1.0, -30);
    private static readonly double AllowanceShare = Math.ScaleB(1.0, -31);
    private const double UnderflowAllowance = 1e-300;

    /// <summary>
    /// Either a proof that ‖M‖₂ &lt; <paramref name="tau"/> for the d×d row-major block M of <paramref name="data"/> at
    /// <paramref name="offset"/> (returns true; <paramref name="upper"/> is NaN, not computed), or <see cref="UpperOfBlock"/>'s
    /// certified upper value of ‖M‖₂ in <paramref name="upper"/> (returns false; until 2026-12-06 <see cref="OfBlock"/>'s
    /// estimate, which its caller raised by 1 + 4du). The test forms σI − fl(MᵀM) (the spectrum of MMᵀ) from
    /// M's rows where they lie, its upper triangle only (<see cref="ShiftedGramUpper"/>), and factors it in place; a matrix
    /// with an entry that is not finite fails it (the trace is not finite) and gets <see cref="UpperOfBlock"/>'s answer.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static bool BelowOrUpper(int d, double[] data, int offset, double tau, out double upper)
    {
        if (d > 0 && d <= (1 << 20) && ShiftFor(tau, out double t, out double sigma))
        {
            var a = Scratch.Of(ref t_chol, d * d);
            double trace = ShiftedGramUpper(data, offset, d, sigma, a);
            if (AllowanceFits(d, t, sigma, trace) && CholeskyCompletes(a, d)) { upper = double.NaN; return true; }
        }
        upper = UpperOfBlock(d, d, data, offset);
        return false;
    }

    /// <summary>
    /// True when the Gram matrix <paramref name="g"/> = fl(MᵀM) of a d×d matrix M (formed by
    /// <see cref="Gram(double[], int, int, int, double[])"/>, exactly symmetric) proves ‖M‖₂ &lt; <paramref name="tau"/>
    /// (the class' derivation; the test <see cref="BelowOrUpper"/> makes, from a full Gram matrix); g is read only.
    /// </summary>
    internal static bool GramProvesBelow(double[] g, int d, double tau)
    {
        if (!ShiftFor(tau, out double t, out double sigma)) return false;
        double trace = 0.0;
        for (int i = 0; i < d; i++) trace += g[i * d + i];
        return AllowanceFits(d, t, sigma, trace) && ShiftedCholeskyCompletes(g, d, sigma);
    }

    /// <summary>
    /// An upper value of λ_max(G) for G = MᵀM (d×d, M with <paramref name="inner"/> rows) from a computed Ĝ in
    /// <paramref name="g"/> (exactly symmetric, each entry a sum of at most <paramref name="inner"/> products of M's
    /// entries in any order; read only) and an estimate λ̂ of λ_max(Ĝ) (Jacobi's, say): |Ĝ − G| ≤ γ_inner|M|ᵀ|M|
    /// entrywise, so ‖Ĝ − G‖₂ ≤ γ_inner‖M‖_F² ≤ γ_inner·tr Ĝ/(1 − γ_inner) (the diagonal sums squares); and for a shift σ
    /// with the Cholesky factorization of σI − Ĝ completing, λ_max(Ĝ) &lt; σ + uσ + dσγ_{d+1}/(1 − γ_{d+1}) + 10⁻³⁰⁰(1 + σ)
    /// (the class' derivation). The shift is λ̂(1 + 2⁻⁴⁴), else λ̂(1 + 2⁻³⁶), λ̂(1 + 2⁻²⁸) or λ̂(1 + 2⁻²⁰) when the factorization
    /// stops; when none completes (λ̂ far below λ_max(Ĝ)) the value is the trace bound tr Ĝ/(1 − γ_inner) + 10⁻³⁰⁰, λ_max ≤ tr
    /// for the positive semidefinite G. The sum of these positive terms is formed in a few roundings and raised by 2⁻⁴⁸
    /// relative (<see cref="Raise"/>, which also covers a square root taken of it). +∞ for an infinite trace, NaN for a NaN one;
    /// 10⁻³⁰⁰ raised for a zero trace (every squared entry of M below the subnormals).
    /// (docs/theorems/ConvBlock.md, "Certified upper values of the Gram eigenvalues".)
    /// </summary>
    public static double GramLargestUpper(double[] g, int d, int inner, double estimate)
    {
        if (d <= 0) return 0.0;
        if (g.Length < d * d) throw new ArgumentException("the Gram matrix is shorter than d×d");
        if (inner < 1 || (double)inner * d > 1e12) throw new ArgumentException("sizes beyond the rounding model (d·inner ≤ 10¹²)");
        double trace = 0.0;
        for (int i = 0; i < d; i++) trace += g[i * d + i];
        if (double.IsNaN(trace)) return double.NaN;
        if (double.IsPositiveInfinity(trace)) return double.PositiveInfinity;
        if (trace <= 0.0) return UnderflowAllowance * Raise;   // every Ĝ_ii is a sum of squares: M = 0 up to underflow
        double gi = Gamma(inner), gramError = gi * trace / (1.0 - gi) + UnderflowAllowance;
        double gd1 = Gamma(d + 1);
        double start = estimate > 0.0 && estimate <= double.MaxValue ? estimate : trace / d;
        for (int attempt = 0; attempt < 4; attempt++)
        {
            double sigma = start * (1.0 + Math.ScaleB(1.0, -44 + 8 * attempt));
            if (!(sigma <= double.MaxValue)) break;
            if (ShiftedCholeskyCompletes(g, d, sigma))
            {
                double bound = sigma + U * sigma + d * sigma * gd1 / (1.0 - gd1) + UnderflowAllowance * (1.0 + sigma) + gramError;
                return Math.Min(bound, trace / (1.0 - gi) + UnderflowAllowance) * Raise;
            }
        }
        return (trace / (1.0 - gi) + UnderflowAllowance) * Raise;
    }

    /// <summary>1 + 2⁻⁴⁸ (32u): the raise of <see cref="GramLargestUpper"/>'s computed sum over its own roundings (at most a dozen:
    /// the γ's, each term's few products and quotients, the four additions, the raise itself), half of it still above a square
    /// root's rounding taken of the value.</summary>
    internal static readonly double Raise = 1.0 + Math.ScaleB(1.0, -48);

    /// <summary>t = fl(τ²) and the shift σ = fl(t(1 − 2⁻³⁰)); false (nothing to prove) unless t is in [2⁻⁹⁰⁰, 2⁹⁰⁰].</summary>
    private static bool ShiftFor(double tau, out double t, out double sigma)
    {
        t = tau * tau;
        sigma = t * ShiftFactor;
        return t >= TinyLevel && t <= HugeLevel;
    }

    /// <summary>
    /// True when twice the computed allowance e = γ_dF̂/(1 − γ_{2d}) + uσ + dσγ_{d+1}/(1 − γ_{d+1}) + 10⁻³⁰⁰(1 + σ)
    /// is at most t·2⁻³¹ (F̂ = <paramref name="trace"/>, the computed trace of Ĝ; false when it is not finite).
    /// </summary>
    private static bool AllowanceFits(int d, double t, double sigma, double trace)
    {
        if (!(trace <= double.MaxValue)) return false;
        double gd = Gamma(d), gd1 = Gamma(d + 1), g2d = Gamma(2 * d);
        if (!(g2d < 0.5)) return false;
        double allowance = gd * trace / (1.0 - g2d) + U * sigma + d * sigma * gd1 / (1.0 - gd1) + UnderflowAllowance * (1.0 + sigma);
        return 2.0 * allowance <= t * AllowanceShare;
    }

    /// <summary>
    /// Writes A = σI − Ĝ, Ĝ = fl(MᵀM) for the d×d row-major block M of x at <paramref name="at"/>, into
    /// <paramref name="a"/>: row i on and right of the diagonal (the lanes from the multiple of four at or left of it
    /// hold entries of −Ĝ the factorization never reads), each Ĝ_ic = Σ_t M_ti M_tc summed over t in order from zero,
    /// one product and one sum per term (the entries of <see cref="Gram(double[], int, int, int, double[])"/> for a finite
    /// M), and A_ii = fl(σ − Ĝ_ii). Returns the computed trace Σ_i Ĝ_ii, summed in order of i.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static double ShiftedGramUpper(double[] x, int at, int d, double sigma, double[] a)
    {
        if (at < 0 || at > x.Length - d * d) throw new ArgumentOutOfRangeException(nameof(at));
        ref double x0 = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(x), at);
        ref double a0 = ref MemoryMarshal.GetArrayDataReference(a);
        bool lanes = Vector256.IsHardwareAccelerated;
        int whole = lanes ? d & ~3 : 0;
        double trace = 0.0;
        for (int i = 0; i < d; i++)
        {
            int ai = i * d, c = lanes ? i & ~3 : 0;
            for (; c + 16 <= whole; c += 16)
            {
                Vector256<double> s0 = Vector256<double>.Zero, s1 = s0, s2 = s0, s3 = s0;
                for (int t = 0; t < d; t++)
                {
                    var xi = Vector256.Create(Unsafe.Add(ref x0, t * d + i));
                    ref double row = ref Unsafe.Add(ref x0, t * d + c);
                    s0 += xi * Vector256.LoadUnsafe(ref row);
                    s1 += xi * Vector256.LoadUnsafe(ref row, 4);
                    s2 += xi * Vector256.LoadUnsafe(ref row, 8);
                    s3 += xi * Vector256.LoadUnsafe(ref row, 12);
                }
                ref double e = ref Unsafe.Add(ref a0, ai + c);
                Vector256.StoreUnsafe(-s0, ref e); Vector256.StoreUnsafe(-s1, ref e, 4);
                Vector256.StoreUnsafe(-s2, ref e, 8); Vector256.StoreUnsafe(-s3, ref e, 12);
            }
            for (; c + 8 <= whole; c += 8)
            {
                Vector256<double> s0 = Vector256<double>.Zero, s1 = s0;
                for (int t = 0; t < d; t++)
                {
                    var xi = Vector256.Create(Unsafe.Add(ref x0, t * d + i));
                    ref double row = ref Unsafe.Add(ref x0, t * d + c);
                    s0 += xi * Vector256.LoadUnsafe(ref row);
                    s1 += xi * Vector256.LoadUnsafe(ref row, 4);
                }
                ref double e = ref Unsafe.Add(ref a0, ai + c);
                Vector256.StoreUnsafe(-s0, ref e); Vector256.StoreUnsafe(-s1, ref e, 4);
            }
            for (; c + 4 <= whole; c += 4)
            {
                var s0 = Vector256<double>.Zero;
                for (int t = 0; t < d; t++)
                    s0 += Vector256.Create(Unsafe.Add(ref x0, t * d + i)) * Vector256.LoadUnsafe(ref Unsafe.Add(ref x0, t * d + c));
                Vector256.StoreUnsafe(-s0, ref Unsafe.Add(ref a0, ai + c));
            }
            for (c = Math.Max(c, i); c < d; c++)
            {
                double s0 = 0.0;
                for (int t = 0; t < d; t++) s0 += Unsafe.Add(ref x0, t * d + i) * Unsafe.Add(ref x0, t * d + c);
                a[ai + c] = -s0;
            }
            double gii = -a[ai + i];
            trace += gii;
            a[ai + i] = sigma - gii;
        }
        return trace;
    }

    /// <summary>γ_n = nu/(1 − nu) (NaN-free for n u &lt; 1).</summary>
    private static double Gamma(int n) => n * U / (1.0 - n * U);

    /// <summary>True when the Cholesky factorization of A = σI − G (the diagonal σ − G_ii rounded once, G symmetric, only
    /// its upper triangle read) runs to completion with every pivot positive and finite (<see cref="CholeskyCompletes"/>).</summary>
    internal static bool ShiftedCholeskyCompletes(double[] g, int d, double sigma)
    {
        var a = Scratch.Of(ref t_chol, d * d);
        for (int i = 0; i < d; i++)
        {
            int o = i * d;
            for (int k = 0; k < d; k++) a[o + k] = -g[o + k];
            a[o + i] = sigma - g[o + i];
        }
        return CholeskyCompletes(a, d);
    }

    /// <summary>
    /// True when the Cholesky factorization of the symmetric d×d matrix A in <paramref name="a"/> (only its upper
    /// triangle read; overwritten) runs to completion with every pivot positive and finite: row j of R is
    /// (A_jk − Σ_{i&lt;j} R_ij R_ik)/R_jj with R_jj = √(A_jj − Σ_{i&lt;j} R_ij²), each sum formed by subtracting the products
    /// from A in order of i (right-looking: after pivot j, row j is divided by R_jj and the trailing rows updated). Rows are
    /// processed in vector lanes from the multiple of four at or left of the diagonal; the lanes left of the diagonal
    /// hold entries the factorization never reads, so the entries it reads are those of the scalar algorithm.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static bool CholeskyCompletes(double[] a, int d)
    {
        ref double a0 = ref MemoryMarshal.GetArrayDataReference(a);
        bool lanes = Vector256.IsHardwareAccelerated;
        int whole = d & ~3; // columns [0, whole) in lanes of four, the rest one by one
        for (int j = 0; j < d; j++)
        {
            int oj = j * d;
            double pivot = a[oj + j];
            if (!(pivot > 0.0 && pivot <= double.MaxValue)) return false;
            double r = Math.Sqrt(pivot);
            int k = j + 1;
            if (lanes)
            {
                var vr = Vector256.Create(r);
                for (k = (j + 1) & ~3; k < whole; k += 4)
                {
                    ref double e = ref Unsafe.Add(ref a0, oj + k);
                    Vector256.StoreUnsafe(Vector256.LoadUnsafe(ref e) / vr, ref e);
                }
                k = Math.Max(k, j + 1);
            }
            for (; k < d; k++) a[oj + k] /= r;
            for (int i = j + 1; i < d; i++)
            {
                int oi = i * d;
                double rji = a[oj + i];
                k = i;
                if (lanes)
                {
                    var vq = Vector256.Create(rji);
                    for (k = i & ~3; k < whole; k += 4)
                    {
                        ref double e = ref Unsafe.Add(ref a0, oi + k);
                        Vector256.StoreUnsafe(Vector256.LoadUnsafe(ref e) - vq * Vector256.LoadUnsafe(ref Unsafe.Add(ref a0, oj + k)), ref e);
                    }
                    k = Math.Max(k, i);
                }
                for (; k < d; k++) a[oi + k] -= rji * a[oj + k];
            }
        }
        return true;
    }
}
