using System.Numerics;
using ResOdeProofs.Numerics.Model;

namespace ResOdeProofs.Numerics.Tests;

/// <summary>
/// The GEMM's contract entry by entry, written without tiles: at a vector level the columns that fill whole vectors
/// (j &lt; ⌊cols/lanes⌋·lanes) form Σ_k as a chain of fused multiply-adds from +0 in increasing k and store
/// [C +] α·s as fma(α, s, C) or α·s; the columns past them (and every column at the scalar level) form it as a chain of
/// separate multiply and add and store C + α·s or α·s; then, with a multiplier, one more rounded product. Any tiling of
/// rows and vector columns leaves every entry this chain, so a kernel that differs from it in one bit changed an order.
/// </summary>
internal static class GemmChainReference
{
    public static int Lanes<T>(SimdLevel level) where T : unmanaged =>
        level switch { SimdLevel.Vector512 => 64 / System.Runtime.CompilerServices.Unsafe.SizeOf<T>(),
            SimdLevel.Vector256 => 32 / System.Runtime.CompilerServices.Unsafe.SizeOf<T>(), _ => 0 };

    public static void Run<T>(SimdLevel level, T[] a, int ars, int aks, T[] b, T[] c, int rows, int inner, int cols, T alpha,
        bool accumulate, T[]? mul) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int lanes = Lanes<T>(level);
        int vectorCols = lanes == 0 ? 0 : cols / lanes * lanes;
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < cols; j++)
            {
                T s = T.Zero, r;
                ref T cij = ref c[i * cols + j];
                if (j < vectorCols)
                {
                    for (int k = 0; k < inner; k++) s = T.FusedMultiplyAdd(a[i * ars + k * aks], b[k * cols + j], s);
                    r = accumulate ? T.FusedMultiplyAdd(alpha, s, cij) : alpha * s;
                }
                else
                {
                    for (int k = 0; k < inner; k++) { T prod = a[i * ars + k * aks] * b[k * cols + j]; s = s + prod; }
                    if (accumulate) { T scaled = alpha * s; r = cij + scaled; } else r = alpha * s;
                }
                if (mul is not null) r *= mul[i * cols + j];
                cij = r;
            }
    }
}
