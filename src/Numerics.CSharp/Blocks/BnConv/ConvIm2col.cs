using System.Numerics;
using ResOdeProofs.Numerics.Model;

namespace ResOdeProofs.Numerics.Blocks.BnConv;

/// <summary>
/// The shape of one k×k convolution with stride s and zero padding p, from C_in to C_out channels on
/// H_in×W_in images: H_out = ⌊(H_in + 2p − k)/s⌋ + 1 (likewise W_out). Inner = C_in·k² is the length of one
/// patch.
/// </summary>
public readonly record struct ConvShape(int CIn, int COut, int Kernel, int Stride, int Pad, int HIn, int WIn)
{
    public int HOut => (HIn + 2 * Pad - Kernel) / Stride + 1;
    public int WOut => (WIn + 2 * Pad - Kernel) / Stride + 1;
    /// <summary>C_in·k², the rows of the patch matrix.</summary>
    public int Inner => CIn * Kernel * Kernel;
    /// <summary>Entries of the kernel, C_out·C_in·k².</summary>
    public int KernelLength => COut * Inner;
    /// <summary>Multiply-adds of one forward pass over n images, C_out·C_in·k²·n·H_out·W_out.</summary>
    public long MultiplyAdds(int n) => (long)COut * Inner * n * HOut * WOut;
}

/// <summary>
/// Convolutions (cross-correlations, as in deep-learning libraries) by im2col and the engine's vector GEMM
/// (<see cref="FastKernels.Gemm{T}"/>), on batches stored channel-major: an activation is C×(n·H·W), row c holding
/// channel c of the n images one after another ("CNHW"). Then one convolution of the whole batch is one product
/// <code>
/// Y (C_out × n·H_out·W_out) = K (C_out × C_in·k²) · X̂ (C_in·k² × n·H_out·W_out),
/// </code>
/// X̂[(c, a, e), (s, i, j)] = x[c, s, i·stride + a − pad, j·stride + e − pad] (0 outside the image) being the patch
/// matrix. Its two adjoints are again products: ∂/∂K = dY·X̂ᵀ (computed as (X̂·dYᵀ)ᵀ so that the long sum over pixels
/// is the GEMM's inner loop), and dX̂ = Kᵀ·dY, scattered back onto the pixels (col2im). The GEMM sums in a fixed order,
/// so results depend only on the SIMD level, never on timing. Generic in T so the same code is checked in float64 and
/// run in float32.
/// </summary>
public static class ConvIm2col
{
    /// <summary>cols (Inner × n·H_out·W_out) ← the patch matrix of x (C_in × n·H_in·W_in).</summary>
    public static void Im2col<T>(in ConvShape s, int n, ReadOnlySpan<T> x, Span<T> cols) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int k = s.Kernel, hIn = s.HIn, wIn = s.WIn, hOut = s.HOut, wOut = s.WOut, st = s.Stride, pad = s.Pad;
        int mIn = n * hIn * wIn, mOut = n * hOut * wOut;
        Check(x.Length >= s.CIn * mIn && cols.Length >= s.Inner * mOut);
        for (int c = 0; c < s.CIn; c++)
            for (int a = 0; a < k; a++)
                for (int e = 0; e < k; e++)
                {
                    var dst = cols.Slice(((c * k + a) * k + e) * mOut, mOut);
                    var src = x.Slice(c * mIn, mIn);
                    ColumnRange(e, pad, st, wIn, wOut, out int j0, out int j1);
                    for (int img = 0; img < n; img++)
                        for (int i = 0; i < hOut; i++)
                        {
                            var row = dst.Slice((img * hOut + i) * wOut, wOut);
                            int ii = i * st + a - pad;
                            if (ii < 0 || ii >= hIn || j1 <= j0) { row.Clear(); continue; }
                            var srow = src.Slice((img * hIn + ii) * wIn, wIn);
                            row[..j0].Clear();
                            row[j1..].Clear();
                            if (st == 1) srow.Slice(j0 + e - pad, j1 - j0).CopyTo(row[j0..j1]);
                            else for (int j = j0; j < j1; j++) row[j] = srow[j * st + e - pad];
                        }
                }
    }

    /// <summary>x (C_in × n·H_in·W_in) += the scatter of a patch-matrix adjoint dcols back onto the pixels.</summary>
    public static void Col2imAdd<T>(in ConvShape s, int n, ReadOnlySpan<T> dcols, Span<T> x) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int k = s.Kernel, hIn = s.HIn, wIn = s.WIn, hOut = s.HOut, wOut = s.WOut, st = s.Stride, pad = s.Pad;
        int mIn = n * hIn * wIn, mOut = n * hOut * wOut;
        Check(x.Length >= s.CIn * mIn && dcols.Length >= s.Inner * mOut);
        for (int c = 0; c < s.CIn; c++)
            for (int a = 0; a < k; a++)
                for (int e = 0; e < k; e++)
                {
                    var src = dcols.Slice(((c * k + a) * k + e) * mOut, mOut);
                    var dst = x.Slice(c * mIn, mIn);
                    ColumnRange(e, pad, st, wIn, wOut, out int j0, out int j1);
                    if (j1 <= j0) continue;
                    for (int img = 0; img < n; img++)
                        for (int i = 0; i < hOut; i++)
                        {
                            int ii = i * st + a - pad;
                            if (ii < 0 || ii >= hIn) continue;
                            var row = src.Slice((img * hOut + i) * wOut, wOut);
                            var drow = dst.Slice((img * hIn + ii) * wIn, wIn);
                            if (st == 1) Kernels.Axpy(T.One, row[j0..j1], drow.Slice(j0 + e - pad, j1 - j0));
                            else for (int j = j0; j < j1; j++) drow[j * st + e - pad] += row[j];
                        }
                }
    }

    /// <summary>y (C_out × n·H_out·W_out) ← K ∗ x; <paramref name="cols"/> is scratch of Inner·n·H_out·W_out entries.</summary>
    public static void Forward<T>(in ConvShape s, int n, ReadOnlySpan<T> kernel, ReadOnlySpan<T> x, Span<T> y, Span<T> cols)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int mOut = n * s.HOut * s.WOut;
        Check(kernel.Length == s.KernelLength && y.Length >= s.COut * mOut);
        Im2col(s, n, x, cols);
        FastKernels.Gemm(Simd.Level, kernel, s.Inner, 1, cols, y, s.COut, s.Inner, mOut, T.One, false);
    }

    /// <summary>
    /// Backward of y = K ∗ x for output adjoints dy: gradKernel ← ∂⟨dy, K∗x⟩/∂K (overwritten) and, unless
    /// <paramref name="dx"/> is empty, dx += Kᵀ dy. Scratch: cols (Inner·m), dyT (C_out·m) and gT (Inner·C_out), m = n·H_out·W_out.
    /// </summary>
    public static void Backward<T>(in ConvShape s, int n, ReadOnlySpan<T> kernel, ReadOnlySpan<T> x, ReadOnlySpan<T> dy,
        Span<T> gradKernel, Span<T> dx, Span<T> cols, Span<T> dyT, Span<T> gT) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int mOut = n * s.HOut * s.WOut, inner = s.Inner, cOut = s.COut;
        Check(gradKernel.Length == s.KernelLength && dy.Length >= cOut * mOut && dyT.Length >= cOut * mOut && gT.Length >= inner * cOut);
        Im2col(s, n, x, cols);
        FastKernels.Transpose(dy[..(cOut * mOut)], dyT, cOut, mOut);
        // gT (Inner × C_out) = X̂ · dYᵀ, then ∂/∂K = gTᵀ.
        FastKernels.Gemm(Simd.Level, cols, mOut, 1, dyT, gT, inner, mOut, cOut, T.One, false);
        FastKernels.Transpose(gT[..(inner * cOut)], gradKernel, inner, cOut);
        if (dx.IsEmpty) return;
        // dX̂ (Inner × m) = Kᵀ · dY, K read transposed (A(i, k) = K[k, i]).
        FastKernels.Gemm(Simd.Level, kernel, 1, inner, dy, cols, inner, cOut, mOut, T.One, false);
        Col2imAdd(s, n, cols, dx);
    }

    /// <summary>Output columns j with a source column j·stride + e − pad inside [0, W_in): j0 ≤ j &lt; j1.</summary>
    private static void ColumnRange(int e, int pad, int stride, int wIn, int wOut, out int j0, out int j1)
    {
        j0 = 0;
        while (j0 < wOut && j0 * stride + e - pad < 0) j0++;
        j1 = wOut;
        while (j1 > j0 && (j1 - 1) * stride + e - pad >= wIn) j1--;
    }

    private static void Check(bool ok)
    {
        if (!ok) throw new ArgumentException("convolution operand of the wrong size");
    }
}
