using System.Globalization;
using ResOdeProofs.Numerics.Model;

namespace ResOdeProofs.Bench;

/// <summary>
/// `--shapes-probe [ROUNDS]`: the observer's three product shapes at figure 2 (n = 50, d = 16, m = 64), one at a time, every
/// operand in L1, minimum of interleaved rounds (<see cref="MinProbe.Measure"/>) on this process's SIMD path, against the FMA
/// peak measured in the same run: n×d·d×m (u = h_k W_kᵀ, ĝ = p_{k+1}V_k and the centre's two), m×n·n×d with A transposed
/// (E^W = ĝᵀh_k, the centre's X_Wᵀh_k) and d×n·n×m with A transposed (E^V = p_{k+1}ᵀσ̂, the centre's p_{k+1}ᵀX_V).
/// </summary>
internal static class ShapesProbe
{
    public static void Run(int rounds)
    {
        const int n = 50, d = 16, m = 64;
        var inv = CultureInfo.InvariantCulture;
        var r = new System.Random(1);
        double[] Fill(int k) => Enumerable.Range(0, k).Select(_ => r.NextDouble() - 0.5).ToArray();
        var level = Simd.Level;
        var h = Fill(n * d); var wt = Fill(d * m); var g = Fill(n * m); var outNm = new double[n * m]; var outMd = new double[m * d];
        int trips = 1000;
        var calls = new Action[]
        {
            () => { if (level == SimdLevel.Vector512) Gemm512.FmaPeak(trips); else Gemm256.FmaPeak(trips); },
            () => FastKernels.Gemm<double>(level, h, d, 1, wt, outNm, n, d, m, 1.0, accumulate: false),
            () => FastKernels.Gemm<double>(level, g, 1, m, h, outMd, m, n, d, 1.0, accumulate: false),
            () => FastKernels.Gemm<double>(level, h, 1, d, g, outMd, d, n, m, 1.0, accumulate: false),
        };
        var best = MinProbe.Measure(calls, rounds, 50);
        double lanes = level == SimdLevel.Vector512 ? 8 : 4;
        double peak = 2.0 * 12 * lanes * trips / best[0];
        Console.WriteLine(string.Create(inv, $"{Simd.Bits(level)}-bit, 1 thread, FMA peak {peak:F1} GFLOP/s"));
        string[] names = { "", "n×d·d×m  (u = h Wᵀ, ĝ = p V)", "m×n·n×d  (E^W = ĝᵀh), A transposed", "d×n·n×m  (E^V = pᵀσ̂), A transposed" };
        for (int i = 1; i < calls.Length; i++)
        {
            double gf = 2.0 * n * d * m / best[i];
            Console.WriteLine(string.Create(inv, $"  {names[i],-40} {best[i] / 1000:F3} µs  {gf,6:F1} GFLOP/s  {100 * gf / peak,5:F1} % of the peak"));
        }
    }
}
