using ResOdeProofs.Numerics.Model;

namespace ResOdeProofs.Numerics.Blocks;

/// <summary>
/// The 3×3, stride 1, zero-padding ("same") convolution of deep-learning libraries (a cross-correlation),
/// from C_in to C_out channels on an H×W image. An image x ∈ R^{C_in·H·W} is stored row-major C_in×H×W,
/// the kernel K ∈ R^{C_out×C_in×3×3} row-major, the bias b ∈ R^{C_out}:
/// <code>
/// (K x + b)[o, i, j] = b[o] + Σ_c Σ_{a,e ∈ {−1,0,1}} K[o, c, a+1, e+1] · x[c, i+a, j+e],   x = 0 outside the image.
/// </code>
/// The adjoint (transpose) follows by exchanging the roles of the two pixels in each product:
/// <code>
/// (Kᵀ y)[c, i', j'] = Σ_o Σ_{a,e} K[o, c, a+1, e+1] · y[o, i'−a, j'−e],   y = 0 outside the image,
/// </code>
/// i.e. the same-padding correlation of y with the kernel flipped in both spatial axes and with its two
/// channel axes exchanged. The gradient of ⟨y, K x⟩ with respect to the kernel is
/// <code>
/// ∂/∂K[o, c, a+1, e+1] = Σ_{i,j} y[o, i, j] · x[c, i+a, j+e],   ∂/∂b[o] = Σ_{i,j} y[o, i, j].
/// </code>
/// All three run over the same index set (output pixel (i, j) and tap (a, e) with (i+a, j+e) inside the image), so
/// ⟨K x, y⟩ = ⟨x, Kᵀ y⟩ holds to rounding by construction. For speed each tap is applied to one flat run of the
/// plane (all valid rows at once, vectorized with <see cref="System.Numerics.Vector{T}"/>), and the at most H − 1
/// products that the run picks up across a row boundary are subtracted afterwards (exact up to rounding of the
/// subtraction). Batches are n images stored one after another. Nothing here allocates.
/// </summary>
public static class Conv2dSame
{
    /// <summary>Number of kernel entries C_out·C_in·9.</summary>
    public static int KernelSize(int cOut, int cIn) => cOut * cIn * 9;

    /// <summary>
    /// y ← [y +] K x + b for a batch of n images: x is n×C_in×H×W, y is n×C_out×H×W, K is C_out×C_in×3×3;
    /// bias may be empty (no bias). With <paramref name="accumulate"/> false, y is overwritten.
    /// </summary>
    public static void Forward(ReadOnlySpan<double> kernel, ReadOnlySpan<double> bias, ReadOnlySpan<double> x, Span<double> y,
        int n, int cIn, int cOut, int height, int width, bool accumulate = false)
    {
        int plane = height * width, inSize = cIn * plane, outSize = cOut * plane;
        Check(kernel.Length, KernelSize(cOut, cIn), nameof(kernel));
        Check(x.Length, n * inSize, nameof(x));
        Check(y.Length, n * outSize, nameof(y));
        if (bias.Length != 0) Check(bias.Length, cOut, nameof(bias));
        for (int s = 0; s < n; s++)
        {
            var xs = x.Slice(s * inSize, inSize);
            var ys = y.Slice(s * outSize, outSize);
            for (int o = 0; o < cOut; o++)
            {
                var yo = ys.Slice(o * plane, plane);
                if (!accumulate) yo.Fill(bias.Length != 0 ? bias[o] : 0.0);
                else if (bias.Length != 0) Add(bias[o], yo);
                for (int c = 0; c < cIn; c++)
                {
                    var xc = xs.Slice(c * plane, plane);
                    int kb = (o * cIn + c) * 9;
                    for (int t = 0; t < 9; t++)
                    {
                        double k = kernel[kb + t];
                        if (k == 0.0) continue;
                        Tap(t, height, width, out int start, out int len, out int off, out int i0, out int i1, out int e);
                        if (len <= 0) continue;
                        Kernels.Axpy(k, xc.Slice(start + off, len), yo.Slice(start, len));
                        UndoWrapped(k, xc, yo, off, i0, i1, e, width);
                    }
                }
            }
        }
    }

    /// <summary>
    /// x ← [x +] Kᵀ y for a batch of n images (the adjoint of <see cref="Forward"/> without bias): y is n×C_out×H×W,
    /// x is n×C_in×H×W. With <paramref name="accumulate"/> false, x is overwritten.
    /// </summary>
    public static void Adjoint(ReadOnlySpan<double> kernel, ReadOnlySpan<double> y, Span<double> x,
        int n, int cIn, int cOut, int height, int width, bool accumulate = false)
    {
        int plane = height * width, inSize = cIn * plane, outSize = cOut * plane;
        Check(kernel.Length, KernelSize(cOut, cIn), nameof(kernel));
        Check(x.Length, n * inSize, nameof(x));
        Check(y.Length, n * outSize, nameof(y));
        if (!accumulate) x.Clear();
        for (int s = 0; s < n; s++)
        {
            var xs = x.Slice(s * inSize, inSize);
            var ys = y.Slice(s * outSize, outSize);
            for (int c = 0; c < cIn; c++)
            {
                var xc = xs.Slice(c * plane, plane);
                for (int o = 0; o < cOut; o++)
                {
                    var yo = ys.Slice(o * plane, plane);
                    int kb = (o * cIn + c) * 9;
                    for (int t = 0; t < 9; t++)
                    {
                        double k = kernel[kb + t];
                        if (k == 0.0) continue;
                        Tap(t, height, width, out int start, out int len, out int off, out int i0, out int i1, out int e);
                        if (len <= 0) continue;
                        Kernels.Axpy(k, yo.Slice(start, len), xc.Slice(start + off, len));
                        UndoWrappedAdjoint(k, yo, xc, off, i0, i1, e, width);
                    }
                }
            }
        }
    }

    /// <summary>
    /// Kernel and bias gradients of Σ_s ⟨y_s, K x_s + b⟩, accumulated:
    /// gradKernel[o, c, a+1, e+1] += Σ_s Σ_{i,j} y_s[o, i, j]·x_s[c, i+a, j+e] and, unless
    /// <paramref name="gradBias"/> is empty, gradBias[o] += Σ_s Σ_{i,j} y_s[o, i, j].
    /// </summary>
    public static void KernelGradient(ReadOnlySpan<double> x, ReadOnlySpan<double> y, Span<double> gradKernel, Span<double> gradBias,
        int n, int cIn, int cOut, int height, int width)
    {
        int plane = height * width, inSize = cIn * plane, outSize = cOut * plane;
        Check(gradKernel.Length, KernelSize(cOut, cIn), nameof(gradKernel));
        Check(x.Length, n * inSize, nameof(x));
        Check(y.Length, n * outSize, nameof(y));
        if (gradBias.Length != 0) Check(gradBias.Length, cOut, nameof(gradBias));
        for (int s = 0; s < n; s++)
        {
            var xs = x.Slice(s * inSize, inSize);
            var ys = y.Slice(s * outSize, outSize);
            for (int o = 0; o < cOut; o++)
            {
                var yo = ys.Slice(o * plane, plane);
                if (gradBias.Length != 0) gradBias[o] += Sum(yo);
                for (int c = 0; c < cIn; c++)
                {
                    var xc = xs.Slice(c * plane, plane);
                    int kb = (o * cIn + c) * 9;
                    for (int t = 0; t < 9; t++)
                    {
                        Tap(t, height, width, out int start, out int len, out int off, out int i0, out int i1, out int e);
                        if (len <= 0) continue;
                        double acc = Kernels.Dot(yo.Slice(start, len), xc.Slice(start + off, len));
                        gradKernel[kb + t] += acc - WrappedProducts(yo, xc, off, i0, i1, e, width);
                    }
                }
            }
        }
    }

    /// <summary>
    /// Tap t = 3(a+1) + (e+1): the valid output pixels are rows i0 ≤ i &lt; i1 (i + a inside), columns j0 ≤ j &lt; j1
    /// (j + e inside). They are handled as one flat run [start, start + len) of the output plane, from the first valid
    /// pixel of row i0 to the last of row i1 − 1, read at source offset off = a·W + e. The run also covers, for e = −1,
    /// column 0 of rows i0+1..i1−1 and, for e = +1, column W−1 of rows i0..i1−2, whose sources are the neighbouring
    /// row's wrapped pixel instead of the padding zero; those (at most H−1) products are taken back out afterwards.
    /// All sources lie inside the plane.
    /// </summary>
    private static void Tap(int t, int height, int width, out int start, out int len, out int off, out int i0, out int i1, out int e)
    {
        int a = t / 3 - 1;
        e = t % 3 - 1;
        i0 = Math.Max(0, -a);
        i1 = Math.Min(height, height - a);
        int j0 = Math.Max(0, -e), j1 = Math.Min(width, width - e);
        start = i0 * width + j0;
        len = i1 <= i0 || j1 <= j0 ? 0 : (i1 - 1) * width + j1 - start;
        off = a * width + e;
    }

    /// <summary>Flat positions wrongly covered by the run of a tap with column shift e (see <see cref="Tap"/>).</summary>
    private static (int First, int Last, int Column) Wrapped(int i0, int i1, int e, int width) =>
        e < 0 ? (i0 + 1, i1, 0) : e > 0 ? (i0, i1 - 1, width - 1) : (0, 0, 0);

    private static void UndoWrapped(double k, ReadOnlySpan<double> x, Span<double> y, int off, int i0, int i1, int e, int width)
    {
        var (first, last, col) = Wrapped(i0, i1, e, width);
        for (int i = first; i < last; i++)
        {
            int q = i * width + col;
            y[q] -= k * x[q + off];
        }
    }

    private static void UndoWrappedAdjoint(double k, ReadOnlySpan<double> y, Span<double> x, int off, int i0, int i1, int e, int width)
    {
        var (first, last, col) = Wrapped(i0, i1, e, width);
        for (int i = first; i < last; i++)
        {
            int q = i * width + col;
            x[q + off] -= k * y[q];
        }
    }

    private static double WrappedProducts(ReadOnlySpan<double> y, ReadOnlySpan<double> x, int off, int i0, int i1, int e, int width)
    {
        var (first, last, col) = Wrapped(i0, i1, e, width);
        double s = 0.0;
        for (int i = first; i < last; i++)
        {
            int q = i * width + col;
            s += y[q] * x[q + off];
        }
        return s;
    }

    /// <summary>
    /// π(x) = max over pixels (i, j) of the Euclidean norm of the C×3×3 patch of x centred at (i, j) (zero outside the
    /// image), for one image x ∈ R^{C·H·W}. It bounds one output pixel of a convolution: |(K x)[o, i, j]| ≤ ‖K[o]‖_F·π(x),
    /// hence ‖K x‖_∞ ≤ ‖K‖_F·π(x), and π(x) ≤ ‖x‖.
    /// </summary>
    public static double MaxPatchNorm(ReadOnlySpan<double> x, int channels, int height, int width)
    {
        int plane = height * width;
        Check(x.Length, channels * plane, nameof(x));
        double best = 0.0;
        for (int i = 0; i < height; i++)
        {
            for (int j = 0; j < width; j++)
            {
                double s = 0.0;
                for (int c = 0; c < channels; c++)
                {
                    for (int a = Math.Max(0, i - 1); a <= Math.Min(height - 1, i + 1); a++)
                    {
                        for (int e = Math.Max(0, j - 1); e <= Math.Min(width - 1, j + 1); e++)
                        {
                            double v = x[c * plane + a * width + e];
                            s += v * v;
                        }
                    }
                }
                best = Math.Max(best, s);
            }
        }
        return Math.Sqrt(best);
    }

    /// <summary>
    /// ν(x) = the operator norm of the linear map δK ↦ δK ∗ x (kernel C_out×C×3×3, Frobenius norm, to R^{C_out·H·W}),
    /// for one image x ∈ R^{C·H·W}: each output channel is M·δK[o] with M the P×9C matrix whose columns are the nine
    /// zero-padded shifts of the C channels of x, so ν(x) = λ_max(MᵀM)^{1/2}, independent of C_out; ν(x) ≤ 3‖x‖.
    /// Computed from the 9C×9C Gram matrix (each entry a sum of at most P = H·W products): Jacobi's λ̂, certified by
    /// <see cref="SpectralNorm.GramLargestUpper"/> (a Cholesky factorization of σI − Ĝ just above λ̂, with the Gram
    /// matrix's and the factorization's rounding derived from u): an upper value of ν(x), about 10⁻¹³ above it relative (up to
    /// 10⁻⁶ when only a later shift completes; the trace bound when none does).
    /// </summary>
    public static double ShiftOperatorNorm(ReadOnlySpan<double> x, int channels, int height, int width)
    {
        int plane = height * width, m = 9 * channels;
        Check(x.Length, channels * plane, nameof(x));
        var g = new double[m * m];
        // ⟨S_t x_c, S_t' x_c'⟩ = Σ over pixels (i, j) with both shifted positions inside of x_c[i+a, j+e]·x_c'[i+a', j+e'].
        for (int r = 0; r < m; r++)
        {
            int c = r / 9, t = r % 9, a = t / 3 - 1, e = t % 3 - 1;
            for (int r2 = r; r2 < m; r2++)
            {
                int c2 = r2 / 9, t2 = r2 % 9, a2 = t2 / 3 - 1, e2 = t2 % 3 - 1;
                int i0 = Math.Max(0, Math.Max(-a, -a2)), i1 = Math.Min(height, Math.Min(height - a, height - a2));
                int j0 = Math.Max(0, Math.Max(-e, -e2)), j1 = Math.Min(width, Math.Min(width - e, width - e2));
                double acc = 0.0;
                for (int i = i0; i < i1; i++)
                {
                    if (j1 > j0)
                    {
                        acc += Kernels.Dot(x.Slice(c * plane + (i + a) * width + j0 + e, j1 - j0),
                            x.Slice(c2 * plane + (i + a2) * width + j0 + e2, j1 - j0));
                    }
                }
                g[r * m + r2] = acc;
                g[r2 * m + r] = acc;
            }
        }
        // a Gram matrix with an entry that is not a finite number (states that overflowed: a diverging run) has no finite
        // norm to bound: +∞ (NaN for NaN entries), which the bounds built on it report as not finite; the eigen-solver
        // raised on it (a tool error, exit 3)
        for (int i = 0; i < m * m; i++)
            if (!double.IsFinite(g[i])) return double.IsNaN(g[i]) ? double.NaN : double.PositiveInfinity;
        double lmax = ConvSpectralNorm.SymmetricEigenvalues((double[])g.Clone(), m).Max();
        return Math.Sqrt(SpectralNorm.GramLargestUpper(g, m, Math.Max(1, plane), lmax));
    }

    private static void Add(double v, Span<double> y)
    {
        for (int i = 0; i < y.Length; i++) y[i] += v;
    }

    private static double Sum(ReadOnlySpan<double> y)
    {
        double s = 0.0;
        for (int i = 0; i < y.Length; i++) s += y[i];
        return s;
    }

    private static void Check(int actual, int expected, string name)
    {
        if (actual != expected)
        {
            throw new ArgumentException($"{name} has length {actual}, expected {expected}.", name);
        }
    }
}
