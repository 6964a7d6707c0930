using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace ResOdeProofs.Numerics.Model;

public static partial class SpectralNorm
{
    /// <summary>
    /// The three sums of a cheap upper value of ‖M‖₂ for the d×d row-major M at the start of <paramref name="m"/>
    /// (docs/theorems/RunIntegrity.md, step 2): Σ M_ij², max_i Σ_j |M_ij| and max_j Σ_i |M_ij|, in one pass over the rows.
    /// Each sum is taken in an order of its own choosing (four lanes of the columns, then across the lanes), so its
    /// rounding is bounded by the count of its terms alone: a sum of k nonnegative terms, each rounded once, is within
    /// γ_k of the exact sum in any order (Higham, Accuracy and Stability of Numerical Algorithms, 2nd ed., 2002, §4.2).
    /// An entry that is not finite makes the first sum not finite.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static (double SumSquares, double RowMax, double ColumnMax) CheapSums(int d, ReadOnlySpan<double> m)
    {
        if (d < 0 || m.Length < d * d) throw new ArgumentException("CheapSums: the matrix is shorter than d×d");
        Span<double> col = d <= 256 ? stackalloc double[d] : new double[d];
        col.Clear();
        ref double m0 = ref MemoryMarshal.GetReference(m);
        ref double c0 = ref MemoryMarshal.GetReference(col);
        int whole = Vector256.IsHardwareAccelerated ? d & ~3 : 0;
        var squares = Vector256<double>.Zero;
        double squaresTail = 0.0, rowMax = 0.0;
        for (int i = 0; i < d; i++)
        {
            ref double row = ref Unsafe.Add(ref m0, i * d);
            var rowSum = Vector256<double>.Zero;
            int c = 0;
            for (; c < whole; c += 4)
            {
                var x = Vector256.LoadUnsafe(ref row, (nuint)c);
                var ax = Vector256.Abs(x);
                rowSum += ax;
                squares += x * x;
                Vector256.StoreUnsafe(Vector256.LoadUnsafe(ref c0, (nuint)c) + ax, ref c0, (nuint)c);
            }
            double s = whole > 0 ? Vector256.Sum(rowSum) : 0.0;
            for (; c < d; c++)
            {
                double x = Unsafe.Add(ref row, c), ax = Math.Abs(x);
                s += ax;
                squaresTail += x * x;
                Unsafe.Add(ref c0, c) += ax;
            }
            rowMax = Math.Max(rowMax, s);
        }
        double columnMax = 0.0;
        for (int c = 0; c < d; c++) columnMax = Math.Max(columnMax, Unsafe.Add(ref c0, c));
        return (Vector256.Sum(squares) + squaresTail, rowMax, columnMax);
    }
}
