using System.Globalization;
using System.Numerics;
using ResOdeProofs.Numerics;
using ResOdeProofs.Numerics.Model;

namespace ResOdeProofs.Bench;

/// <summary>
/// `--layer-probe [ROUNDS]`: the engine's per-layer steps for one block of samples at the figure sizes (figure 1: 50 samples
/// per block in float64, m = 32; figure 2: 25 samples per block in float32 and 50 in float64, m = 64), each timed as the
/// minimum of many interleaved calls on data in the cache, with the fraction of the FMA peak of the same width. The
/// code path is the process's: run it once as it is, once with RESODE_SIMD=256 and once with DOTNET_EnableAVX512=0.
/// </summary>
internal static class LayerProbe
{
    public static void Run(int rounds)
    {
        var level = Simd.Level;
        Console.WriteLine($"level {Simd.Bits(level)}-bit, few vector registers: {Simd.FewVectorRegisters}; min over {rounds} interleaved rounds");
        int lanes = level == SimdLevel.Vector512 ? 8 : 4, trips = 200;
        double peak = MinProbe.Measure(new Action[] { () => { if (level == SimdLevel.Vector512) Gemm512.FmaPeak(trips); else Gemm256.FmaPeak(trips); } }, rounds, 20)[0];
        double peakRate = 24.0 * lanes * trips / peak;   // float64 FLOP per ns
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"float64 FMA peak {peakRate:F1} GFLOP/s (float32: twice)"));
        Probe<double>("figure 1, f64, block of 50", level, 50, 16, 32, rounds, peakRate);
        Probe<float>("figure 2, f32, block of 25", level, 25, 16, 64, rounds, 2 * peakRate);
        Probe<double>("figure 2, f64, block of 50", level, 50, 16, 64, rounds, peakRate);
    }

    private static void Probe<T>(string label, SimdLevel level, int nb, int d, int m, int rounds, double peakRate) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var r = new System.Random(7);
        T[] Fill(int k, double s) => Enumerable.Range(0, k).Select(_ => T.CreateTruncating(s * (r.NextDouble() - 0.5))).ToArray();
        var h = Fill(nb * d, 1); var hn = Fill(nb * d, 1); var w = Fill(m * d, 0.5); var v = Fill(m * d, 0.5);
        var wt = new T[m * d]; var vt = new T[m * d]; var pre = Fill(nb * m, 3); var s = new T[nb * m]; var sd = new T[nb * m];
        var p = Fill(nb * d, 0.1); var q = new T[nb * m]; var gw = new T[m * d]; var gv = new T[m * d];
        T invL = T.CreateTruncating(1.0 / 1024);
        double lo = 0, hi = 0, mx = 0;
        VectorActivations.Evaluate<T>(level, ActivationKind.Gelu, pre, s, sd);
        var steps = new (string Name, double Flop, Action Call)[]
        {
            ("Wᵀ, Vᵀ", 0, () => { FastKernels.Transpose<T>(w, wt, m, d); FastKernels.Transpose<T>(v, vt, d, m); }),
            ("h·Wᵀ", 2.0 * nb * d * m, () => FastKernels.Gemm<T>(level, h, d, 1, wt, pre, nb, d, m, T.One, accumulate: false)),
            ("gelu+range", 0, () => VectorActivations.EvaluateWithRange<T>(level, ActivationKind.Gelu, pre, s, sd, ref lo, ref hi)),
            ("h += σ·Vᵀ/L", 2.0 * nb * d * m, () => FastKernels.Gemm<T>(level, s, m, 1, vt, hn, nb, m, d, invL, accumulate: true)),
            ("max‖h_i‖", 0, () => FastKernels.MaxRowNorm<T>(level, hn, nb, d, ref mx)),
            ("G^V = pᵀσ", 2.0 * nb * d * m, () => FastKernels.Gemm<T>(level, p, 1, d, s, gv, d, nb, m, T.One, accumulate: false)),
            ("q = pV⊙σ'", 2.0 * nb * d * m, () => FastKernels.Gemm<T>(level, p, d, 1, v, q, nb, d, m, T.One, accumulate: false, multiplier: sd)),
            ("G^W = qᵀh", 2.0 * nb * d * m, () => FastKernels.Gemm<T>(level, q, 1, m, h, gw, m, nb, d, T.One, accumulate: false)),
            ("p += qW/L", 2.0 * nb * d * m, () => FastKernels.Gemm<T>(level, q, m, 1, w, p, nb, m, d, invL, accumulate: true)),
            ("Σ‖p_i‖", 0, () => FastKernels.SumRowNorms<T>(level, p, nb, d)),
        };
        var calls = steps.Select(x => x.Call).ToList();
        calls.Add(() => { foreach (var st in steps) st.Call(); });
        var best = MinProbe.Measure(calls.ToArray(), rounds, 20);
        Console.WriteLine($"{label} (d = {d}, m = {m}):");
        double sum = 0;
        for (int i = 0; i < steps.Length; i++)
        {
            sum += best[i];
            string rate = steps[i].Flop > 0 ? string.Create(CultureInfo.InvariantCulture, $"{steps[i].Flop / best[i] / peakRate * 100,5:F1} % of the peak") : "";
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {steps[i].Name,-14} {best[i] / 1000,8:F3} µs  {rate}"));
        }
        double all = best[^1], flop = 12.0 * nb * d * m;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"  sum of steps {sum / 1000,8:F3} µs; the layer in one go {all / 1000,8:F3} µs = {flop / all / peakRate * 100:F1} % of the peak"));
    }
}

