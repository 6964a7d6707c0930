using System.Globalization;
using ResOdeProofs.Numerics;
using ResOdeProofs.Numerics.Model;
using ResOdeProofs.Numerics.Verification;

namespace ResOdeProofs.Bench;

/// <summary>
/// `--spectral-probe [CALLS]`: the spectral upper value of an n×16 matrix (n = 50 and 100, figure 2's and figure 1's
/// states) as the split pass computes it, and its parts alone (the Gram product, one squaring's product): wall per call.
/// </summary>
internal static class SpectralProbe
{
    public static void Run(int calls)
    {
        var inv = CultureInfo.InvariantCulture;
        var r = new System.Random(3);
        const int c = 16;
        foreach (int n in new[] { 50, 100 })
        {
            var pass = new SplitPass(new NetworkShape(1, 32, c, c, c), ActivationKind.Gelu, n, new double[n * c], new double[n * c], null);
            var x = Enumerable.Range(0, n * c).Select(_ => r.NextDouble() - 0.5).ToArray();
            var g = new double[c * c]; var b = new double[c * c];
            var level = Simd.Level;
            double sink = 0;
            double Time(Action a)
            {
                for (int i = 0; i < calls / 10; i++) a();
                var sw = System.Diagnostics.Stopwatch.StartNew();
                for (int i = 0; i < calls; i++) a();
                return sw.Elapsed.TotalMilliseconds * 1000 / calls;
            }
            double whole = Time(() => sink += pass.SpectralUpper(x, n, c));
            double gram = Time(() => FastKernels.Gemm<double>(level, x, 1, c, x, g, c, n, c, 1.0, accumulate: false));
            FastKernels.Gemm<double>(level, x, 1, c, x, g, c, n, c, 1.0, accumulate: false);
            double square = Time(() => FastKernels.Gemm<double>(level, g, c, 1, g, b, c, c, c, 1.0, accumulate: false));
            var bt = new double[c * c];
            double sym = Time(() => SplitPass.SymmetrizeDivide(level, b, bt, c, 1.0000001));
            double log = Time(() => sink += Math.Log(1.0 + sink * 1e-300));
            Console.WriteLine(string.Create(inv, $"n = {n}, c = {c}, {Simd.Bits(level)}-bit: spectral upper value {whole:F3} µs; Gram product {gram:F3} µs; one squaring's product {square:F3} µs (×6); the rest {whole - gram - 6 * square:F3} µs: SymmetrizeDivide {sym:F3} µs (×7), a log {log:F3} µs (×6)  (check {sink:E3})"));
        }
    }
}
