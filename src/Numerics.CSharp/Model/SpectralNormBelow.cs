using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace ResOdeProofs.Numerics.Model;

/// <summary>
/// A certified test that the spectral norm of a computed square matrix M is below a level τ, cheaper than the norm
/// itself: the Gram matrix Ĝ = fl(MᵀM) and one floating-point Cholesky factorization of σI − Ĝ, σ slightly below τ².
/// <para>
/// Derivation (docs/theorems/RunIntegrity.md, "Tolerance from rounding", step 2). Ĝ sums each entry over d products
/// (<see cref="Gram(double[], int, int, int, double[])"/>), so |Ĝ − MᵀM| ≤ γ_d|M|ᵀ|M| entrywise (Higham, Accuracy and
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
    /// <paramref name="offset"/> (returns true; <paramref name="norm"/> is NaN, not computed), or <see cref="OfBlock"/>'s
    /// value of ‖M‖₂ in <paramref name="norm"/> (returns false). The test reads the Gram matrix MᵀM (the spectrum of
    /// MMᵀ) formed from M's rows where they lie; a matrix with an entry that is not finite fails it (its trace is not
    /// finite) and gets <see cref="OfBlock"/>'s answer.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static bool BelowOrNorm(int d, double[] data, int offset, double tau, out double norm)
    {
        if (d > 0 && d <= (1 << 20))
        {
            var g = Scratch.Of(ref t_gram, d * d);
            Gram(data, offset, d, d, g);
            if (GramProvesBelow(g, d, tau)) { norm = double.NaN; return true; }
        }
        norm = OfBlock(d, d, data, offset);
        return false;
    }

    /// <summary>
    /// True when the Gram matrix <paramref name="g"/> = fl(MᵀM) of a d×d matrix M (formed by
    /// <see cref="Gram(double[], int, int, int, double[])"/>, exactly symmetric) proves ‖M‖₂ &lt; <paramref name="tau"/> (the class' derivation); g is read only.
    /// </summary>
    internal static bool GramProvesBelow(double[] g, int d, double tau)
    {
        double t = tau * tau;
        if (!(t >= TinyLevel && t <= HugeLevel)) return false;
        double sigma = t * ShiftFactor;
        double trace = 0.0;
        for (int i = 0; i < d; i++) trace += g[i * d + i];
        if (!(trace <= double.MaxValue)) return false;
        double gd = Gamma(d), gd1 = Gamma(d + 1), g2d = Gamma(2 * d);
        if (!(g2d < 0.5)) return false;
        double allowance = gd * trace / (1.0 - g2d) + U * sigma + d * sigma * gd1 / (1.0 - gd1) + UnderflowAllowance * (1.0 + sigma);
        if (!(2.0 * allowance <= t * AllowanceShare)) return false;
        return ShiftedCholeskyCompletes(g, d, sigma);
    }

    /// <summary>γ_n = nu/(1 − nu) (NaN-free for n u &lt; 1).</summary>
    private static double Gamma(int n) => n * U / (1.0 - n * U);

    /// <summary>
    /// True when the Cholesky factorization of A = σI − G (the diagonal σ − G_ii rounded once, G symmetric, only its
    /// upper triangle read) runs to completion with every pivot positive and finite: row j of R is
    /// (A_jk − Σ_{i&lt;j} R_ij R_ik)/R_jj with R_jj = √(A_jj − Σ_{i&lt;j} R_ij²), each sum formed by subtracting the products
    /// from A in order of i (right-looking: after pivot j, row j is divided by R_jj and the trailing rows updated). Rows are
    /// processed in vector lanes from the multiple of four at or left of the diagonal; the lanes left of the diagonal
    /// hold entries the factorization never reads, so the entries it reads are those of the scalar algorithm.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static bool ShiftedCholeskyCompletes(double[] g, int d, double sigma)
    {
        var a = Scratch.Of(ref t_chol, d * d);
        for (int i = 0; i < d; i++)
        {
            int o = i * d;
            for (int k = 0; k < d; k++) a[o + k] = -g[o + k];
            a[o + i] = sigma - g[o + i];
        }
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
