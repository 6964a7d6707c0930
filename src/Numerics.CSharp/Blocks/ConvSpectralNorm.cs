using ResOdeProofs.Numerics.Random;

namespace ResOdeProofs.Numerics.Blocks;

/// <summary>
/// A certified bracket Lower ≤ ‖K‖₂ ≤ Upper for the spectral norm of a same-padding 3×3 convolution as a linear
/// operator R^{C_in·H·W} → R^{C_out·H·W} (without bias), with the Lanczos estimate.
/// </summary>
/// <param name="Lower">max over the Ritz vectors y (‖y‖ = 1) of max(‖K y‖, ‖KᵀK y‖^{1/2}), shrunk by the rounding allowance:
/// a lower bound because both are ≤ ‖K‖₂ for every unit y.</param>
/// <param name="Upper">The Fourier-symbol bound (see <see cref="ConvSpectralNorm.FourierUpperBound"/>), certified over its
/// rounding.</param>
/// <param name="Estimate">The square root of the last top Ritz value of KᵀK (the best guess of ‖K‖₂).</param>
/// <param name="Iterations">Applications of KᵀK done.</param>
/// <param name="Converged">True when the stopping rule was met before the iteration limit.</param>
/// <param name="FourierGrid">The (N1, N2) circular grid whose symbol gave <paramref name="Upper"/>.</param>
public sealed record ConvNormBracket(double Lower, double Upper, double Estimate, int Iterations, bool Converged, (int N1, int N2) FourierGrid);

/// <summary>
/// Spectral norm of a same-padding 3×3 convolution (see <see cref="Conv2dSame"/>).
/// <para>
/// Upper bound. Let N1 ≥ H + 1 and N2 ≥ W + 1, E: R^{C_in·H·W} → R^{C_in·N1·N2} the embedding of an image into the
/// top-left corner of an N1×N2 grid padded with zeros, R: R^{C_out·N1·N2} → R^{C_out·H·W} the restriction to that
/// corner, and C the circular convolution with the same kernel on the N1×N2 torus. For an output pixel (i, j) in the
/// image the taps read (i+a mod N1, j+e mod N2), a, e ∈ {−1, 0, 1}; an index that leaves [0, H) lands on −1 ≡ N1 − 1
/// or on H, both ≥ H and ≤ N1 − 1, i.e. on a padding zero, exactly as in zero padding. Hence K = R C E and, E and R
/// having norm 1, ‖K‖₂ ≤ ‖C‖₂. C is diagonalised by the 2-D discrete Fourier transform (unitary), block-wise:
/// ‖C‖₂ = max over ω = (2π p/N1, 2π q/N2) of ‖K̂(ω)‖₂ with the C_out×C_in symbol
/// K̂(ω)[o, c] = Σ_{a,e} K[o, c, a+1, e+1]·e^{−i(ω₁a + ω₂e)}. Every such grid gives a bound; the minimum over the
/// grids (H+1)×(W+1) and (H+2)×(W+2) is used (for a square-ish kernel they differ in the last digits only; the
/// circular bound exceeds the zero-padded norm by O(1/H)).
/// </para>
/// <para>
/// ‖K̂(ω)‖₂² is the largest eigenvalue of the Hermitian M = K̂ᴴK̂ = A + iB; it is also the largest eigenvalue of the
/// real symmetric [[A, −B], [B, A]] = RᵀR, R = [[Re K̂, −Im K̂], [Im K̂, Re K̂]] (whose spectrum is that of M, each eigenvalue
/// twice), estimated by cyclic Jacobi rotations and certified above by one Cholesky factorization of a shift just above the
/// estimate (<see cref="Model.SpectralNorm.GramLargestUpper"/>: the Gram matrix's and the factorization's rounding from u);
/// the computed symbol's distance from the exact one at the grid frequency is added in Frobenius norm
/// (<see cref="DftError"/>). Every allowance is derived (docs/theorems/ConvBlock.md, "Certified upper values of the Gram
/// eigenvalues"); until 2026-12-05 a fixed 1000·ε·‖M‖_F was added to Jacobi's λ_max instead.
/// </para>
/// <para>
/// Lower bound. For ‖v‖ = 1, ‖K v‖ ≤ ‖K‖₂ and ‖KᵀK v‖ ≤ ‖K‖₂²; Lanczos on KᵀK drives both up to ‖K‖₂ at the Ritz vector.
/// The computed values are lowered by their rounding (<see cref="LowerFromComputed"/>; docs/theorems/ConvBlock.md,
/// "Rounding of the lower bound"): an absolute term 3γ_{36C+1}·Ā, Ā ≥ ‖|K|‖₂ from the kernel's absolute row and column
/// sums, for the convolutions, and γ's of the norms' sums relative.
/// </para>
/// </summary>
public static class ConvSpectralNorm
{
    private const double Eps = 2.220446049250313e-16;
    private const double U = Eps / 2;

    private static double Gamma(double j) => j * U < 1 ? j * U / (1 - j * U) : double.PositiveInfinity;

    /// <summary>
    /// Ā = (max_o Σ_{c,t}|K[o,c,t]| · max_c Σ_{o,t}|K[o,c,t]|)^{1/2}, raised by γ_{9C+3} for its own sums: an upper value of
    /// ‖|K|‖₂ for the operator with the absolute kernel (its largest row sum times its largest column sum, each pixel read by
    /// a tap at most once), also for the circular shifts <see cref="Conv2dSame"/> adds and takes back at row ends.
    /// </summary>
    internal static double AbsoluteNormUpper(ReadOnlySpan<double> kernel, int cIn, int cOut)
    {
        double row = 0, col = 0;
        for (int o = 0; o < cOut; o++)
        {
            double s = 0;
            for (int c = 0; c < cIn; c++) for (int t = 0; t < 9; t++) s += Math.Abs(kernel[(o * cIn + c) * 9 + t]);
            row = Math.Max(row, s);
        }
        for (int c = 0; c < cIn; c++)
        {
            double s = 0;
            for (int o = 0; o < cOut; o++) for (int t = 0; t < 9; t++) s += Math.Abs(kernel[(o * cIn + c) * 9 + t]);
            col = Math.Max(col, s);
        }
        return Math.Sqrt(row * col) * (1 + Gamma(9 * Math.Max(cIn, cOut) + 3));
    }

    /// <summary>
    /// A certified lower value of ‖K‖₂ from the computed ‖Kŷ‖ (<paramref name="normW"/>) and ‖KᵀKŷ‖ (<paramref name="normZ"/>)
    /// for the computed unit vector ŷ (docs/theorems/ConvBlock.md, "Rounding of the lower bound"). Each output entry of a
    /// convolution accumulates at most 9C taps, a tap at a row end twice more (added, then taken back), each with a product
    /// and a sum (36C + 1 roundings with the bias), every partial sum within the sum of the absolute terms: its error is
    /// at most γ_{36C+1} times (|K| + 2|K_wrap|)|x|, in norm 3γ_{36C+1}·Ā‖x‖ (Ā from <see cref="AbsoluteNormUpper"/>).
    /// With ‖ŷ‖ ≤ 1 + γ_{d_in+3} (the division by its computed norm) and each norm computed within γ_{count+1}:
    ///   ‖K‖₂ ≥ Norm(w)/((1 + γ_{d_out+1})(1 + γ_{d_in+3})) − a,
    ///   ‖K‖₂ ≥ (Norm(z)/((1 + γ_{d_in+1})(1 + γ_{d_in+3})))^{1/2} − a,   a = 3γ_{36·max(C_in, C_out)+1}·Ā
    /// (‖KᵀK̂ŷ‖ ≤ (‖K‖₂ + a)²‖ŷ‖); the larger, lowered by 8u and a raised by 8u for the evaluation of these formulas, then
    /// by 2u for the difference, and at least 0.
    /// </summary>
    internal static double LowerFromComputed(double normW, double normZ, double absUpper, int cIn, int cOut, int dIn, int dOut)
    {
        double yUp = 1 + Gamma(dIn + 3);
        double x1 = normW / ((1 + Gamma(dOut + 1)) * yUp);
        double x2 = Math.Sqrt(normZ / ((1 + Gamma(dIn + 1)) * yUp));
        double a = 3 * Gamma(36 * Math.Max(cIn, cOut) + 1) * absUpper;
        double lower = (Math.Max(x1, x2) * (1 - 8 * U) - a * (1 + 8 * U)) * (1 - 2 * U);
        return lower > 0 ? lower : 0.0;
    }

    /// <summary>
    /// Lanczos on KᵀK (full reorthogonalisation, basis of at most 60 vectors, restarted from the Ritz vector) from a
    /// seeded Gaussian start. Stops when the bracket gap Upper/Lower − 1 falls below <paramref name="gapTolerance"/>, or
    /// when the residual ‖KᵀK y − θy‖ = β_j|s_j| of the top Ritz pair (θ, y) is at most
    /// <paramref name="residualTolerance"/>·θ (then an eigenvalue of KᵀK lies within that distance of θ; Lanczos finds
    /// the top of the spectrum first, and when the top two eigenvalues are closer than the residual the Ritz value is
    /// within the residual of both), or after <paramref name="maxIterations"/> applications of KᵀK. Lower is computed
    /// from the Ritz vector itself (‖K y‖ and ‖KᵀK y‖^{1/2} for unit y), so it does not depend on the basis staying
    /// orthogonal. Allocates its work arrays once per call.
    /// </summary>
    public static ConvNormBracket Compute(ReadOnlySpan<double> kernel, int cIn, int cOut, int height, int width,
        double gapTolerance = 1e-6, double residualTolerance = 1e-10, int maxIterations = 20000, long seed = 20240917)
    {
        var (upper, grid) = FourierUpperBound(kernel, cIn, cOut, height, width);
        int dIn = cIn * height * width, dOut = cOut * height * width;
        double absUpper = AbsoluteNormUpper(kernel, cIn, cOut);
        int m = Math.Min(dIn, 60);
        var q = new double[(m + 1) * dIn];
        var alpha = new double[m];
        var beta = new double[m];
        var t = new double[m * m];
        var vec = new double[m * m];
        var w = new double[dOut];
        var z = new double[dIn];
        var y = new double[dIn];
        Rng.ForStream(seed, "conv-spectral-norm").FillGaussian(y);
        Normalize(y);
        double lower = 0.0, estimate = 0.0;
        int applications = 0;
        bool converged = false;
        while (applications < maxIterations && !converged)
        {
            y.CopyTo(q, 0);
            int steps = 0;
            double[] s = Array.Empty<double>();
            for (int j = 0; j < m && applications < maxIterations; j++)
            {
                var qj = q.AsSpan(j * dIn, dIn);
                Conv2dSame.Forward(kernel, ReadOnlySpan<double>.Empty, qj, w, 1, cIn, cOut, height, width);
                Conv2dSame.Adjoint(kernel, w, z, 1, cIn, cOut, height, width);
                applications++;
                alpha[j] = Dot(qj, z);
                for (int pass = 0; pass < 2; pass++)
                {
                    for (int i = 0; i <= j; i++)
                    {
                        var qi = q.AsSpan(i * dIn, dIn);
                        double c = Dot(qi, z);
                        for (int r = 0; r < dIn; r++) z[r] -= c * qi[r];
                    }
                }
                beta[j] = Norm(z);
                steps = j + 1;
                bool invariant = beta[j] <= Eps * Math.Max(Math.Abs(alpha[j]), 1e-300) * 16;
                if (steps % 5 == 0 || steps == m || invariant || applications >= maxIterations)
                {
                    double theta = TopRitz(alpha, beta, steps, t, vec, out s);
                    double residual = invariant ? 0.0 : beta[j] * Math.Abs(s[steps - 1]);
                    estimate = Math.Sqrt(Math.Max(theta, 0.0));
                    if (residual <= residualTolerance * Math.Max(theta, 0.0) || theta <= 0.0 || upper <= 0.0
                        || (estimate > 0.0 && upper / estimate - 1.0 <= gapTolerance))
                    {
                        converged = true;
                        break;
                    }
                }
                if (invariant) break;
                var next = q.AsSpan((j + 1) * dIn, dIn);
                for (int r = 0; r < dIn; r++) next[r] = z[r] / beta[j];
            }
            if (s.Length < steps) TopRitz(alpha, beta, steps, t, vec, out s);
            // Ritz vector y = Σ_i s_i q_i, normalised; its Rayleigh quotients give the certified lower bound.
            Array.Clear(y);
            for (int i = 0; i < steps; i++)
            {
                var qi = q.AsSpan(i * dIn, dIn);
                for (int r = 0; r < dIn; r++) y[r] += s[i] * qi[r];
            }
            if (Norm(y) == 0.0) break;
            Normalize(y);
            Conv2dSame.Forward(kernel, ReadOnlySpan<double>.Empty, y, w, 1, cIn, cOut, height, width);
            Conv2dSame.Adjoint(kernel, w, z, 1, cIn, cOut, height, width);
            lower = Math.Max(lower, LowerFromComputed(Norm(w), Norm(z), absUpper, cIn, cOut, dIn, dOut));
            if (upper > 0.0 && upper / lower - 1.0 <= gapTolerance) converged = true;
        }
        return new ConvNormBracket(lower, upper, estimate, applications, converged, grid);
    }

    /// <summary>Largest eigenvalue θ of the steps×steps tridiagonal T (diagonal α, off-diagonal β) and its unit eigenvector s.</summary>
    private static double TopRitz(double[] alpha, double[] beta, int steps, double[] t, double[] vec, out double[] s)
    {
        Array.Clear(t, 0, steps * steps);
        for (int i = 0; i < steps; i++)
        {
            t[i * steps + i] = alpha[i];
            if (i + 1 < steps)
            {
                t[i * steps + i + 1] = beta[i];
                t[(i + 1) * steps + i] = beta[i];
            }
        }
        var ev = SymmetricEigen(t, steps, vec);
        int top = 0;
        for (int i = 1; i < steps; i++) if (ev[i] > ev[top]) top = i;
        s = new double[steps];
        for (int i = 0; i < steps; i++) s[i] = vec[i * steps + top];
        return ev[top];
    }

    /// <summary>The minimum over the grids (H+1)×(W+1) and (H+2)×(W+2) of <see cref="CircularNorm"/>: an upper bound on ‖K‖₂.</summary>
    public static (double Bound, (int N1, int N2) Grid) FourierUpperBound(ReadOnlySpan<double> kernel, int cIn, int cOut, int height, int width)
    {
        double b1 = CircularNorm(kernel, cIn, cOut, height + 1, width + 1);
        double b2 = CircularNorm(kernel, cIn, cOut, height + 2, width + 2);
        return b1 <= b2 ? (b1, (height + 1, width + 1)) : (b2, (height + 2, width + 2));
    }

    /// <summary>
    /// An upper value of the max over the N1×N2 frequency grid of ‖K̂(ω)‖₂ (each frequency's certified value plus the
    /// symbol's computation error): the norm of the circular convolution on the N1×N2 torus (an upper bound on the
    /// same-padding norm when N1 ≥ H+1 and N2 ≥ W+1).
    /// </summary>
    public static double CircularNorm(ReadOnlySpan<double> kernel, int cIn, int cOut, int n1, int n2)
    {
        if (kernel.Length != Conv2dSame.KernelSize(cOut, cIn))
        {
            throw new ArgumentException($"kernel has length {kernel.Length}, expected {Conv2dSame.KernelSize(cOut, cIn)}.", nameof(kernel));
        }
        var re = new double[cOut * cIn];
        var im = new double[cOut * cIn];
        int m = 2 * cIn;
        var sym = new double[m * m];
        var work = new double[m * m];
        double dft = DftError(kernel, cIn, cOut);
        double best = 0.0;
        for (int p = 0; p < n1; p++)
        {
            for (int q = 0; q < n2; q++)
            {
                Symbol(kernel, cIn, cOut, p, n1, q, n2, re, im);
                // M = K̂ᴴK̂ = A + iB: M[c, c'] = Σ_o conj(K̂[o, c])·K̂[o, c'].
                for (int c = 0; c < cIn; c++)
                {
                    for (int c2 = 0; c2 < cIn; c2++)
                    {
                        double ar = 0.0, ai = 0.0;
                        for (int o = 0; o < cOut; o++)
                        {
                            double xr = re[o * cIn + c], xi = im[o * cIn + c], yr = re[o * cIn + c2], yi = im[o * cIn + c2];
                            ar += xr * yr + xi * yi;
                            ai += xr * yi - xi * yr;
                        }
                        sym[c * m + c2] = ar;
                        sym[(c + cIn) * m + c2 + cIn] = ar;
                        sym[c * m + c2 + cIn] = -ai;
                        sym[(c + cIn) * m + c2] = ai;
                    }
                }
                Array.Copy(sym, work, sym.Length);
                double lmax = SymmetricEigenvalues(work, m).Max();
                // ‖K̂_c‖₂² ≤ the certified λ_max of the embedding RᵀR (R = [[Re K̂_c, −Im K̂_c], [Im K̂_c, Re K̂_c]], 2C_out rows),
                // then ‖K̂(ω)‖₂ ≤ ‖K̂_c‖₂ + ‖K̂(ω) − K̂_c‖_F
                double bound = (Math.Sqrt(Model.SpectralNorm.GramLargestUpper(sym, m, 2 * cOut, lmax)) + dft) * Model.SpectralNorm.Raise;
                best = Math.Max(best, bound);
            }
        }
        return best;
    }

    /// <summary>
    /// The computed symbol K̂_c at ω = (2πp/N1, 2πq/N2): re[o·C_in + c] + i·im[o·C_in + c] = Σ_t K[o, c, t]·e^{−i(ω₁a + ω₂e)}
    /// (tap t = 3(a + 1) + e + 1), with ω̂ = fl(fl(2π̂·p)/N) and the phase, cosine, sine, products and sums in float64 as
    /// <see cref="DftError"/> counts them.
    /// </summary>
    internal static void Symbol(ReadOnlySpan<double> kernel, int cIn, int cOut, int p, int n1, int q, int n2, double[] re, double[] im)
    {
        double w1 = 2.0 * Math.PI * p / n1, w2 = 2.0 * Math.PI * q / n2;
        // The nine taps' cosines and sines, once per frequency (the same for every channel pair).
        Span<double> cos = stackalloc double[9], sin = stackalloc double[9];
        for (int t = 0; t < 9; t++)
        {
            int a = t / 3 - 1, e = t % 3 - 1;
            double phase = -(w1 * a + w2 * e);
            cos[t] = PortableMath.Cos(phase);
            sin[t] = PortableMath.Sin(phase);
        }
        for (int oc = 0; oc < cOut * cIn; oc++)
        {
            double sr = 0.0, si = 0.0;
            for (int t = 0; t < 9; t++)
            {
                double k = kernel[oc * 9 + t];
                sr += k * cos[t];
                si += k * sin[t];
            }
            re[oc] = sr;
            im[oc] = si;
        }
    }

    /// <summary>
    /// A bound of ‖K̂(ω) − K̂_c‖_F, K̂_c the coefficients <see cref="CircularNorm"/> computes at a grid frequency ω = (2πp/N1,
    /// 2πq/N2): each real and imaginary part Σ_t K_t cos or sin of the computed phase φ̂_t = fl(−(ŵ1·a + ŵ2·e)), with
    /// ŵ = fl(fl(2·fl(π)·p)/N) within γ₃ of 2πp/N and the sum one more rounding, so |φ̂_t − φ_t| ≤ 4πγ₄; the cosine and sine
    /// within 2u absolute (one ulp of a value in [−1, 1]; <see cref="PortableMath"/>'s are correctly rounded but within
    /// 2⁻⁷⁵ relative of a midpoint, so within u(1 + 2⁻²⁰): PortableMathTests, and tests/Numerics.Tests/ConvSpectralNormTests.cs
    /// against a 256-bit reference on phases of grids up to 64×64, where the symbol's computed entries are also checked
    /// against their exact values); the nine products and sums γ₉Σ_t|K_t| (|cos|, |sin| ≤ 1). Each complex entry is
    /// within √2·c·Σ_t|K[o, c, t]|, c = 2u + 4πγ₄ + γ₉(1 + 2u), and the Frobenius norm within √2·c·(Σ_{o,c}(Σ_t|K[o, c, t]|)²)^{1/2},
    /// raised by 2γ_{C_in·C_out + 32} over its own roundings (the nine-term sums, the squares, the sum over the C_out·C_in
    /// entries, the root and the three products). The same for every ω of every grid.
    /// </summary>
    internal static double DftError(ReadOnlySpan<double> kernel, int cIn, int cOut)
    {
        static double Gamma(int n) => n * U / (1 - n * U);
        double c = 2 * U + 4 * Math.PI * Gamma(4) + Gamma(9) * (1 + 2 * U);
        double sum = 0.0;
        for (int oc = 0; oc < cOut * cIn; oc++)
        {
            double abs = 0.0;
            for (int t = 0; t < 9; t++) abs += Math.Abs(kernel[oc * 9 + t]);
            sum += abs * abs;
        }
        return Math.Sqrt(2.0) * c * Math.Sqrt(sum) * (1.0 + 2 * Gamma(cIn * cOut + 32));
    }

    /// <summary>
    /// Eigenvalues of a real symmetric m×m matrix (row-major; destroyed) by cyclic Jacobi rotations, swept until the
    /// off-diagonal part is below ε times the Frobenius norm (or 100 sweeps). For small matrices: O(m³) per sweep.
    /// </summary>
    public static double[] SymmetricEigenvalues(double[] a, int m) => SymmetricEigen(a, m, null);

    /// <summary>
    /// As <see cref="SymmetricEigenvalues"/>; when <paramref name="vectors"/> (length ≥ m·m) is given, it receives the
    /// eigenvectors as columns (row-major m×m), column i belonging to eigenvalue i.
    /// </summary>
    public static double[] SymmetricEigen(double[] a, int m, double[]? vectors)
    {
        if (vectors is not null)
        {
            Array.Clear(vectors, 0, m * m);
            for (int i = 0; i < m; i++) vectors[i * m + i] = 1.0;
        }
        double total = 0.0;
        for (int i = 0; i < m * m; i++) total += a[i] * a[i];
        double threshold = Eps * Eps * total;
        for (int sweep = 0; sweep < 100; sweep++)
        {
            double off = 0.0;
            for (int p = 0; p < m; p++)
                for (int q = p + 1; q < m; q++)
                    off += 2.0 * a[p * m + q] * a[p * m + q];
            if (off <= threshold) break;
            for (int p = 0; p < m; p++)
            {
                for (int q = p + 1; q < m; q++)
                {
                    double apq = a[p * m + q];
                    if (apq == 0.0) continue;
                    double app = a[p * m + p], aqq = a[q * m + q];
                    double theta = (aqq - app) / (2.0 * apq);
                    double t = Math.Sign(theta) / (Math.Abs(theta) + Math.Sqrt(theta * theta + 1.0));
                    if (theta == 0.0) t = 1.0;
                    double c = 1.0 / Math.Sqrt(t * t + 1.0), s = t * c;
                    for (int k = 0; k < m; k++)
                    {
                        double akp = a[k * m + p], akq = a[k * m + q];
                        a[k * m + p] = c * akp - s * akq;
                        a[k * m + q] = s * akp + c * akq;
                    }
                    if (vectors is not null)
                    {
                        for (int k = 0; k < m; k++)
                        {
                            double vkp = vectors[k * m + p], vkq = vectors[k * m + q];
                            vectors[k * m + p] = c * vkp - s * vkq;
                            vectors[k * m + q] = s * vkp + c * vkq;
                        }
                    }
                    for (int k = 0; k < m; k++)
                    {
                        double apk = a[p * m + k], aqk = a[q * m + k];
                        a[p * m + k] = c * apk - s * aqk;
                        a[q * m + k] = s * apk + c * aqk;
                    }
                }
            }
        }
        var ev = new double[m];
        for (int i = 0; i < m; i++) ev[i] = a[i * m + i];
        return ev;
    }

    private static double Norm(ReadOnlySpan<double> x)
    {
        double s = 0.0;
        for (int i = 0; i < x.Length; i++) s += x[i] * x[i];
        return Math.Sqrt(s);
    }

    private static double Dot(ReadOnlySpan<double> x, ReadOnlySpan<double> y)
    {
        double s = 0.0;
        for (int i = 0; i < x.Length; i++) s += x[i] * y[i];
        return s;
    }

    private static void Normalize(Span<double> x)
    {
        double nrm = Norm(x);
        for (int i = 0; i < x.Length; i++) x[i] /= nrm;
    }
}
