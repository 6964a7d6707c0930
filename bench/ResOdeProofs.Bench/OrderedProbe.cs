using System.Globalization;
using ResOdeProofs.Numerics.Model;

namespace ResOdeProofs.Bench;

/// <summary>
/// `--ordered-probe [ROUNDS]`: <c>Layerwise.MultiplyOrdered</c> (the reference products: the neural-ODE right-hand side of
/// B.*, the Jacobian products of the rounding allowance, the secant factors, the `Layerwise` pass) on its 256-bit code and,
/// where the machine accelerates them, its 512-bit code, at the shapes those callers use; the two interleaved call by call,
/// the minimum over rounds of 200 calls each, in nanoseconds per call and per term (rows·inner·cols).
/// </summary>
internal static class OrderedProbe
{
    public static void Run(int rounds)
    {
        var inv = CultureInfo.InvariantCulture;
        bool wide = System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated;
        Console.WriteLine(string.Create(inv, $"512-bit vectors accelerated: {wide}; Vector<double> lanes: {System.Numerics.Vector<double>.Count}; min over {rounds} rounds of 200 calls"));
        // (rows, inner, cols, who): figure 2's ODE right-hand side (16 samples, d = 16, m = 64: U = H·Wᵀ, then σ(U)·Vᵀ), the
        // figure-1 shapes (m = 32), a d×d product (secant factors, Jacobian segments at d = 16), the Layerwise pass' block
        foreach (var (rows, inner, cols, who) in new[]
                 {
                     (16, 16, 64, "ODE U = H·Wᵀ, figure 2"), (16, 64, 16, "ODE σ(U)·Vᵀ, figure 2"),
                     (16, 16, 32, "ODE U = H·Wᵀ, figure 1"), (16, 32, 16, "ODE σ(U)·Vᵀ, figure 1"),
                     (16, 16, 16, "d×d product, d = 16"), (100, 16, 32, "100 rows × (16×32)"),
                     (32, 16, 100, "Layerwise u = W·hᵀ, figure 1, n = 100"), (64, 16, 50, "Layerwise u = W·hᵀ, figure 2, n = 50"),
                 })
        {
            var r = new Random(rows * 1000 + inner * 10 + cols);
            var a = new double[rows * inner]; var b = new double[inner * cols]; var c = new double[rows * cols];
            for (int i = 0; i < a.Length; i++) a[i] = r.NextDouble() - 0.5;
            for (int i = 0; i < b.Length; i++) b[i] = r.NextDouble() - 0.5;
            double bestN = double.MaxValue, best5 = double.MaxValue;
            for (int round = 0; round < rounds; round++)
            {
                var sw = System.Diagnostics.Stopwatch.StartNew();
                for (int k = 0; k < 200; k++) Layerwise.MultiplyOrderedNarrow(a, rows, inner, b, cols, c);
                bestN = Math.Min(bestN, sw.Elapsed.TotalNanoseconds / 200);
                if (wide)
                {
                    sw.Restart();
                    for (int k = 0; k < 200; k++) Layerwise.MultiplyOrdered512(a, rows, inner, b, cols, c);
                    best5 = Math.Min(best5, sw.Elapsed.TotalNanoseconds / 200);
                }
            }
            double terms = (double)rows * inner * cols;
            Console.WriteLine(wide
                ? string.Create(inv, $"  {rows,3}×{inner,3}·{cols,3} ({who}): 256-bit {bestN,8:F0} ns ({bestN / terms:F3} ns/term), 512-bit {best5,8:F0} ns ({best5 / terms:F3} ns/term), ratio {best5 / bestN:F2}")
                : string.Create(inv, $"  {rows,3}×{inner,3}·{cols,3} ({who}): 256-bit {bestN,8:F0} ns ({bestN / terms:F3} ns/term)"));
        }
    }
}
