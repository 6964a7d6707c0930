using System.Globalization;
using ResOdeProofs.Numerics;
using ResOdeProofs.Numerics.Model;

namespace ResOdeProofs.Bench;

/// <summary>
/// `--keep-probe MODE [CALLS]`: CALLS figure-2 evaluations (L = 64, m = 64, n = 50, d = 16, float64, two blocks of 25 run
/// inline, as the observed replay runs them) keeping MODE = plain (nothing), states (h, p, ranges) or products (also u, σ'(u)
/// and Vᵀp), in two sets alternating by call as the replay keeps them, or states1, products1: the same in one set kept by every
/// call (what a second set costs: its memory); for `perf stat` or a wall clock around the process.
/// </summary>
internal static class KeepProbe
{
    public static void Run(string mode, int calls)
    {
        const int L = 64, m = 64, n = 50, d = 16;
        var r = new System.Random(1);
        double[] Fill(int k, double s) => Enumerable.Range(0, k).Select(_ => s * (r.NextDouble() - 0.5)).ToArray();
        var shape = NetworkShape.Square(L, m, d);
        var data = Dataset.SyntheticGaussian(n, d, d, 1);
        var net = new ResNet<double>(shape, ActivationKind.Gelu, data, new EngineOptions { Threads = 2 }) { Inline = true };
        int total = L * m * d;
        var w = Fill(total, 0.5); var v = Fill(total, 0.25); var gw = new double[total]; var gv = new double[total];
        ResNet<double>.KeptStates[] sets = mode switch
        {
            "plain" => [],
            "states" => [new(shape, n), new(shape, n)],
            "products" => [new(shape, n) { KeepProducts = true }, new(shape, n) { KeepProducts = true }],
            "products1" => [new(shape, n) { KeepProducts = true }],
            "states1" => [new(shape, n)],
            _ => throw new ArgumentException("mode: plain, states, products, states1 or products1"),
        };
        double sink = 0;
        var sw = System.Diagnostics.Stopwatch.StartNew();
        for (int c = 0; c < calls; c++)
        {
            net.Keep = sets.Length == 0 ? null : sets[c % sets.Length];
            sink += net.Evaluate(w, v, gw, gv).Loss;
        }
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{mode}: {calls} evaluations, {sw.Elapsed.TotalMilliseconds / calls:F3} ms each (wall), check {sink:E3}"));
    }
}
