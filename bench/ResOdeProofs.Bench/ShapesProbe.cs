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
    private static unsafe long AddressOf(double[] a) { fixed (double* p = a) return (long)p; }

    public static void Run(int rounds)
    {
        const int n = 50, d = 16, m = 64;
        var inv = CultureInfo.InvariantCulture;
        var r = new System.Random(1);
        double[] Fill(int k) => Enumerable.Range(0, k).Select(_ => r.NextDouble() - 0.5).ToArray();
        var level = Simd.Level;
        var h = Fill(n * d); var wt = Fill(d * m); var g = Fill(n * m); var outNm = new double[n * m]; var outMd = new double[m * d];
        int trips = 1000;
        {
            int aligned = 0, total = 0;
            foreach (int len in new[] { 800, 1024, 3200, 65536, 52000, 131072, 333, 1001, 333_333, 524_288, 1_000_000 })
            {
                int here = 0;
                for (int t = 0; t < 20; t++) { total++; if (AlignedArrays.Offset(AlignedArrays.Create<double>(len)) == 0) { aligned++; here++; } }
                Console.WriteLine(string.Create(inv, $"  {len} doubles: {here} of 20 aligned"));
            }
            Console.WriteLine(string.Create(inv, $"AlignedArrays.Create: {aligned} of {total} arrays on a 64-byte boundary"));
        }
        var calls = new Action[]
        {
            () => { if (level == SimdLevel.Vector512) Gemm512.FmaPeak(trips); else Gemm256.FmaPeak(trips); },
            () => FastKernels.Gemm<double>(level, h, d, 1, wt, outNm, n, d, m, 1.0, accumulate: false),
            () => FastKernels.Gemm<double>(level, g, 1, m, h, outMd, m, n, d, 1.0, accumulate: false),
            () => FastKernels.Gemm<double>(level, h, 1, d, g, outMd, d, n, m, 1.0, accumulate: false),
        };
        // the first shape again on 64-byte aligned copies of its operands (native memory), and with B and C one double off
        unsafe
        {
            double* ha = (double*)System.Runtime.InteropServices.NativeMemory.AlignedAlloc((nuint)(n * d * 8 + 64), 64);
            double* wa = (double*)System.Runtime.InteropServices.NativeMemory.AlignedAlloc((nuint)(d * m * 8 + 64), 64);
            Console.WriteLine(string.Create(inv, $"array data offsets mod 64 bytes: h {AddressOf(h) % 64}, Wᵀ {AddressOf(wt) % 64}, ĝ {AddressOf(g) % 64}, C n×m {AddressOf(outNm) % 64}, C m×d {AddressOf(outMd) % 64}"));
            double* oa = (double*)System.Runtime.InteropServices.NativeMemory.AlignedAlloc((nuint)(n * m * 8 + 64), 64);
            new ReadOnlySpan<double>(h).CopyTo(new Span<double>(ha, n * d)); new ReadOnlySpan<double>(wt).CopyTo(new Span<double>(wa, d * m));
            nint hp = (nint)ha, wp = (nint)wa, op = (nint)oa;
            calls = calls.Append(() => FastKernels.Gemm<double>(level, new ReadOnlySpan<double>((double*)hp, n * d), d, 1, new ReadOnlySpan<double>((double*)wp, d * m), new Span<double>((double*)op, n * m), n, d, m, 1.0, accumulate: false)).ToArray();
            foreach (var (bo, co) in new[] { (1, 0), (0, 1), (2, 0), (0, 2), (4, 0), (0, 4), (2, 2), (4, 4) })
                calls = calls.Append(() => FastKernels.Gemm<double>(level, new ReadOnlySpan<double>((double*)hp, n * d), d, 1, new ReadOnlySpan<double>((double*)wp + bo, d * m), new Span<double>((double*)op + co, n * m), n, d, m, 1.0, accumulate: false)).ToArray();
        }
        var best = MinProbe.Measure(calls, rounds, 50);
        double lanes = level == SimdLevel.Vector512 ? 8 : 4;
        double peak = 2.0 * 12 * lanes * trips / best[0];
        Console.WriteLine(string.Create(inv, $"{Simd.Bits(level)}-bit, 1 thread, FMA peak {peak:F1} GFLOP/s"));
        string[] names = { "", "n×d·d×m  (u = h Wᵀ, ĝ = p V)", "m×n·n×d  (E^W = ĝᵀh), A transposed", "d×n·n×m  (E^V = pᵀσ̂), A transposed",
            "n×d·d×m, operands 64-byte aligned", "B 1 double off a line", "C 1 off", "B 2 off", "C 2 off", "B 4 off", "C 4 off", "B, C 2 off", "B, C 4 off" };
        for (int i = 1; i < calls.Length; i++)
        {
            double gf = 2.0 * n * d * m / best[i];
            Console.WriteLine(string.Create(inv, $"  {names[i],-40} {best[i] / 1000:F3} µs  {gf,6:F1} GFLOP/s  {100 * gf / peak,5:F1} % of the peak"));
        }
    }
}
