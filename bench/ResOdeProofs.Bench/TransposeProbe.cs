using System.Globalization;
using ResOdeProofs.Numerics.Model;

namespace ResOdeProofs.Bench;

/// <summary>
/// `--transpose-probe [CALLS]`: `FastKernels.Transpose` of doubles and of floats at the shapes its callers use (a layer's W and V at
/// figure 2 and figure 1, a Gram matrix at n = 50, an n×m product), nanoseconds per call, the minimum over five rounds of
/// CALLS calls each; and whether the result is every entry at its transposed place.
/// </summary>
internal static class TransposeProbe
{
    public static void Run(int calls)
    {
        Run<double>(calls);
        Run<float>(calls);
    }

    private static void Run<T>(int calls) where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        var inv = CultureInfo.InvariantCulture;
        var shapes = new (int Rows, int Cols, string What)[] { (64, 16, "figure 2's W (m×d)"), (16, 64, "figure 2's V (d×m)"),
            (32, 16, "figure 1's W"), (50, 50, "a Gram matrix, n = 50"), (50, 64, "an n×m product") };
        var r = new System.Random(3);
        foreach (var (rows, cols, what) in shapes)
        {
            var src = Enumerable.Range(0, rows * cols).Select(_ => T.CreateTruncating(r.NextDouble())).ToArray();
            var dst = new T[rows * cols];
            double best = double.MaxValue;
            for (int round = 0; round < 6; round++)
            {
                var sw = System.Diagnostics.Stopwatch.StartNew();
                for (int i = 0; i < calls; i++) FastKernels.Transpose<T>(src, dst, rows, cols);
                double ns = sw.Elapsed.TotalMilliseconds * 1e6 / calls;
                if (round > 0) best = Math.Min(best, ns);   // the first round warms the JIT's tiers
            }
            bool ok = true;
            for (int i = 0; i < rows; i++) for (int j = 0; j < cols; j++) ok &= dst[j * rows + i].Equals(src[i * cols + j]);
            Console.WriteLine(string.Create(inv, $"{typeof(T).Name} {rows}×{cols} ({what}): {best:F1} ns per call, {best / (rows * cols):F3} ns per entry{(ok ? "" : "  WRONG RESULT")}"));
        }
    }
}
