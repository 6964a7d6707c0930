using System.Numerics;
using ResOdeProofs.Numerics.Model;

namespace ResOdeProofs.Numerics.BnConv;

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
/// <para>
/// The batch is processed in chunks of whole images whose patch matrix stays within a budget (<see cref="ChunkImages"/>),
/// which bounds the scratch memory for large batches. Measured on the blocks' shape (16 channels, 10×10, batch 64),
/// chunks small enough for the core's cache (4 images) ran slower than one chunk for the whole batch (forward about 18
/// against 83 GFLOP/s, `resode bench-conv`), so the budget holds a whole batch of the paper's size. For a stride-1
/// "same" convolution each tap is copied as one flat run over all planes of the chunk (<see cref="SameTap{T}"/>) rather
/// than row by row or image by image.
/// The chunk size depends on the shape only, so results do not depend on the machine.
/// </para>
/// </summary>
public static class ConvIm2col
{
    /// <summary>Entries of the patch matrix per chunk: 4 Mi (16 MiB in float32), a whole batch of 64 at the paper's sizes.</summary>
    private const int ChunkFloats = 4 << 20;

    /// <summary>Tests and benchmarks only: a chunk budget for this thread instead of <see cref="ChunkFloats"/> (0: the default).</summary>
    [ThreadStatic] internal static int ChunkFloatsOverride;

    /// <summary>
    /// Images per chunk: as many as keep Inner·images·H_out·W_out within the budget, rounded down to a multiple of
    /// 16/gcd(H_out·W_out, 16) so that the GEMM's columns fill whole 512-bit float vectors (no scalar remainder), but at
    /// least that multiple.
    /// </summary>
    public static int ChunkImages(in ConvShape s)
    {
        int px = s.HOut * s.WOut, step = 16 / (int)System.Numerics.BigInteger.GreatestCommonDivisor(px, 16);
        int g = (ChunkFloatsOverride > 0 ? ChunkFloatsOverride : ChunkFloats) / (s.Inner * px);
        return Math.Max(step, g / step * step);
    }

    private static class Scratch<T> where T : unmanaged
    {
        [ThreadStatic] private static T[]? _a, _b;
        public static Span<T> A(int n) => (_a is { } a && a.Length >= n ? a : _a = new T[n]).AsSpan(0, n);
        public static Span<T> B(int n) => (_b is { } b && b.Length >= n ? b : _b = new T[n]).AsSpan(0, n);
    }

    /// <summary>cols (Inner × cnt·H_out·W_out) ← the patch matrix of images img0..img0+cnt−1 of x (C_in × n·H_in·W_in).</summary>
    public static void Im2col<T>(in ConvShape s, int n, int img0, int cnt, ReadOnlySpan<T> x, Span<T> cols) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int k = s.Kernel, hIn = s.HIn, wIn = s.WIn, hOut = s.HOut, wOut = s.WOut, st = s.Stride, pad = s.Pad;
        int mIn = n * hIn * wIn, mOut = cnt * hOut * wOut;
        Check(x.Length >= s.CIn * mIn && cols.Length >= s.Inner * mOut && img0 >= 0 && img0 + cnt <= n);
        for (int c = 0; c < s.CIn; c++)
            for (int a = 0; a < k; a++)
                for (int e = 0; e < k; e++)
                {
                    var dst = cols.Slice(((c * k + a) * k + e) * mOut, mOut);
                    var src = x.Slice(c * mIn, mIn);
                    ColumnRange(e, pad, st, wIn, wOut, out int j0, out int j1);
                    if (Same(s))
                    {
                        SameTap(src.Slice(img0 * hIn * wIn, cnt * hIn * wIn), dst, cnt, a - pad, e - pad, hIn, wIn, j0, j1);
                        continue;
                    }
                    for (int img = 0; img < cnt; img++)
                        for (int i = 0; i < hOut; i++)
                        {
                            var row = dst.Slice((img * hOut + i) * wOut, wOut);
                            int ii = i * st + a - pad;
                            if (ii < 0 || ii >= hIn || j1 <= j0) { row.Clear(); continue; }
                            var srow = src.Slice(((img0 + img) * hIn + ii) * wIn, wIn);
                            row[..j0].Clear();
                            row[j1..].Clear();
                            if (st == 1) srow.Slice(j0 + e - pad, j1 - j0).CopyTo(row[j0..j1]);
                            else for (int j = j0; j < j1; j++) row[j] = srow[j * st + e - pad];
                        }
                }
    }

    /// <summary>x (C_in × n·H_in·W_in) += the scatter of the patch-matrix adjoint dcols of images img0..img0+cnt−1 back onto their pixels (dcols is scratch: its entries that read padding are zeroed on the way).</summary>
    public static void Col2imAdd<T>(in ConvShape s, int n, int img0, int cnt, Span<T> dcols, Span<T> x) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int k = s.Kernel, hIn = s.HIn, wIn = s.WIn, hOut = s.HOut, wOut = s.WOut, st = s.Stride, pad = s.Pad;
        int mIn = n * hIn * wIn, mOut = cnt * hOut * wOut;
        Check(x.Length >= s.CIn * mIn && dcols.Length >= s.Inner * mOut && img0 >= 0 && img0 + cnt <= n);
        for (int c = 0; c < s.CIn; c++)
            for (int a = 0; a < k; a++)
                for (int e = 0; e < k; e++)
                {
                    var src = dcols.Slice(((c * k + a) * k + e) * mOut, mOut);
                    var dst = x.Slice(c * mIn, mIn);
                    ColumnRange(e, pad, st, wIn, wOut, out int j0, out int j1);
                    if (j1 <= j0) continue;
                    if (Same(s))
                    {
                        int plane = hIn * wIn;
                        SameTapAdjoint(src[..(cnt * plane)], dst.Slice(img0 * plane, cnt * plane), cnt, a - pad, e - pad, hIn, wIn, j0, j1);
                        continue;
                    }
                    for (int img = 0; img < cnt; img++)
                        for (int i = 0; i < hOut; i++)
                        {
                            int ii = i * st + a - pad;
                            if (ii < 0 || ii >= hIn) continue;
                            var row = src.Slice((img * hOut + i) * wOut, wOut);
                            var drow = dst.Slice(((img0 + img) * hIn + ii) * wIn, wIn);
                            if (st == 1) Kernels.Axpy(T.One, row[j0..j1], drow.Slice(j0 + e - pad, j1 - j0));
                            else for (int j = j0; j < j1; j++) drow[j * st + e - pad] += row[j];
                        }
                }
    }

    /// <summary>y (C_out × n·H_out·W_out) ← K ∗ x; <paramref name="cols"/> is scratch of at least Inner·ChunkImages·H_out·W_out entries.</summary>
    public static void Forward<T>(in ConvShape s, int n, ReadOnlySpan<T> kernel, ReadOnlySpan<T> x, Span<T> y, Span<T> cols)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int px = s.HOut * s.WOut, mOut = n * px, cOut = s.COut, inner = s.Inner, g = ChunkImages(s);
        Check(kernel.Length == s.KernelLength && y.Length >= cOut * mOut);
        var yc = Scratch<T>.A(cOut * g * px);
        for (int i0 = 0; i0 < n; i0 += g)
        {
            int cnt = Math.Min(g, n - i0), mc = cnt * px;
            Im2col(s, n, i0, cnt, x, cols);
            if (cnt == n)
            {
                // One chunk holds the whole batch: its output has y's layout, so the GEMM writes y itself.
                FastKernels.Gemm(Simd.Level, kernel, inner, 1, cols, y, cOut, inner, mc, T.One, false);
                continue;
            }
            FastKernels.Gemm(Simd.Level, kernel, inner, 1, cols, yc, cOut, inner, mc, T.One, false);
            for (int o = 0; o < cOut; o++) yc.Slice(o * mc, mc).CopyTo(y.Slice(o * mOut + i0 * px, mc));
        }
    }

    /// <summary>
    /// Backward of y = K ∗ x for output adjoints dy: gradKernel ← ∂⟨dy, K∗x⟩/∂K (overwritten) and, unless
    /// <paramref name="dx"/> is empty, dx += Kᵀ dy. Scratch: cols (as for <see cref="Forward"/>) and gT (Inner·C_out).
    /// </summary>
    public static void Backward<T>(in ConvShape s, int n, ReadOnlySpan<T> kernel, ReadOnlySpan<T> x, ReadOnlySpan<T> dy,
        Span<T> gradKernel, Span<T> dx, Span<T> cols, Span<T> gT) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int px = s.HOut * s.WOut, mOut = n * px, inner = s.Inner, cOut = s.COut, g = ChunkImages(s);
        Check(gradKernel.Length == s.KernelLength && dy.Length >= cOut * mOut && gT.Length >= inner * cOut);
        var dyc = Scratch<T>.A(cOut * g * px); var dyT = Scratch<T>.B(cOut * g * px);
        for (int i0 = 0; i0 < n; i0 += g)
        {
            int cnt = Math.Min(g, n - i0), mc = cnt * px;
            // The chunk's output adjoints (C_out × mc); one chunk of the whole batch is dy itself, no copy.
            ReadOnlySpan<T> dyChunk = cnt == n ? dy[..(cOut * mc)] : dyc[..(cOut * mc)];
            if (cnt != n)
                for (int o = 0; o < cOut; o++) dy.Slice(o * mOut + i0 * px, mc).CopyTo(dyc.Slice(o * mc, mc));
            FastKernels.Transpose<T>(dyChunk, dyT, cOut, mc);
            Im2col(s, n, i0, cnt, x, cols);
            // gT (Inner × C_out) += X̂_chunk · dY_chunkᵀ; ∂/∂K = gTᵀ at the end.
            FastKernels.Gemm(Simd.Level, cols, mc, 1, dyT, gT, inner, mc, cOut, T.One, i0 > 0);
            if (dx.IsEmpty) continue;
            // dX̂_chunk (Inner × mc) = Kᵀ · dY_chunk, K read transposed (A(i, k) = K[k, i]).
            FastKernels.Gemm(Simd.Level, kernel, 1, inner, dyChunk, cols, inner, cOut, mc, T.One, false);
            Col2imAdd(s, n, i0, cnt, cols, dx);
        }
        FastKernels.Transpose<T>(gT[..(inner * cOut)], gradKernel, inner, cOut);
    }

    /// <summary>Stride 1 and output size = input size ("same" padding): each tap is a shift of the whole plane.</summary>
    private static bool Same(in ConvShape s) => s.Stride == 1 && s.HOut == s.HIn && s.WOut == s.WIn;

    /// <summary>
    /// One tap (row shift da, column shift de) of a "same" convolution on <paramref name="cnt"/> consecutive H×W planes:
    /// dst[img, i, j] = src[img, i + da, j + de], 0 outside the image. The planes are consecutive in both spans, so the
    /// tap is one flat run over all of them (from the first valid entry of the first plane to the last valid entry of
    /// the last); the entries the run picks up across a row or plane boundary — the |da| rows and |de| columns per plane
    /// that read outside their own image — are then zeroed. One copy per tap instead of one per image and tap: the
    /// planes of the blocks are small (10×10), where the per-call cost dominated the copy.
    /// </summary>
    private static void SameTap<T>(ReadOnlySpan<T> src, Span<T> dst, int cnt, int da, int de, int h, int w, int j0, int j1) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int i0 = Math.Max(0, -da), i1 = Math.Min(h, h - da), plane = h * w;
        if (i1 <= i0 || j1 <= j0) { dst[..(cnt * plane)].Clear(); return; }
        int start = i0 * w + j0, end = (cnt - 1) * plane + (i1 - 1) * w + j1, off = da * w + de;
        dst[..start].Clear();
        dst[end..(cnt * plane)].Clear();
        src.Slice(start + off, end - start).CopyTo(dst[start..end]);
        ZeroOutside(dst, cnt, h, w, i0, i1, j0, j1);
    }

    /// <summary>Zeroes, in each of <paramref name="cnt"/> consecutive H×W planes, the rows outside [i0, i1) and in the rows inside the columns outside [j0, j1).</summary>
    private static void ZeroOutside<T>(Span<T> planes, int cnt, int h, int w, int i0, int i1, int j0, int j1) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int plane = h * w;
        for (int img = 0; img < cnt; img++)
        {
            var p = planes.Slice(img * plane, plane);
            p[..(i0 * w)].Clear();
            p[(i1 * w)..].Clear();
            if (j0 == 0 && j1 == w) continue;
            for (int i = i0; i < i1; i++)
            {
                for (int j = 0; j < j0; j++) p[i * w + j] = T.Zero;
                for (int j = j1; j < w; j++) p[i * w + j] = T.Zero;
            }
        }
    }

    /// <summary>
    /// The adjoint of <see cref="SameTap{T}"/>, accumulated: dst[img, i + da, j + de] += src[img, i, j] over the valid
    /// (img, i, j). src's entries that read outside their image are zeroed first, so one flat run over all planes adds
    /// exactly the valid entries (and +0 elsewhere, which changes no value).
    /// </summary>
    private static void SameTapAdjoint<T>(Span<T> src, Span<T> dst, int cnt, int da, int de, int h, int w, int j0, int j1) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int i0 = Math.Max(0, -da), i1 = Math.Min(h, h - da), plane = h * w;
        if (i1 <= i0 || j1 <= j0) return;
        int start = i0 * w + j0, end = (cnt - 1) * plane + (i1 - 1) * w + j1, off = da * w + de;
        ZeroOutside(src, cnt, h, w, i0, i1, j0, j1);
        Kernels.Axpy(T.One, src[start..end], dst.Slice(start + off, end - start));
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
