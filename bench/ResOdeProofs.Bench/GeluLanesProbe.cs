using System.Globalization;
using ResOdeProofs.Numerics;

namespace ResOdeProofs.Bench;

/// <summary>
/// `--gelu-lanes-probe [CALLS]`: the accurate GELU of the reference computations (`Activations.Values` for GELU, the path
/// the neural-ODE solves of B.bound and the `Layerwise` pass take) on 1 024 entries drawn from N(0, s²) for s = 0.5, 2 and 6
/// (mostly Cody's centre, a mix, mostly the tails), and its values with derivatives; nanoseconds per entry.
/// </summary>
internal static class GeluLanesProbe
{
    public static void Run(int calls)
    {
        var inv = CultureInfo.InvariantCulture;
        var r = new System.Random(5);
        const int n = 1024;
        double sink = 0;
        foreach (double s in new[] { 0.5, 2.0, 6.0 })
        {
            var u = new double[n];
            for (int i = 0; i < n; i++)
            {
                double a = 1.0 - r.NextDouble(), b = r.NextDouble();
                u[i] = s * Math.Sqrt(-2.0 * Math.Log(a)) * Math.Cos(2.0 * Math.PI * b);
            }
            var v = new double[n];
            var d = new double[n];
            double Time(Action f)
            {
                for (int i = 0; i < calls / 10; i++) f();
                var best = double.MaxValue;
                for (int rep = 0; rep < 5; rep++)
                {
                    var sw = System.Diagnostics.Stopwatch.StartNew();
                    for (int i = 0; i < calls; i++) f();
                    best = Math.Min(best, sw.Elapsed.TotalMilliseconds * 1e6 / ((double)calls * n));
                }
                return best;
            }
            Action valuesCall = () => { Activations.Values(ActivationKind.Gelu, u, v); sink += v[7]; };
            Action bothCall = () => { Activations.Evaluate(ActivationKind.Gelu, u, v, d); sink += d[7]; };
            // a first round of each, discarded (the JIT's tiers and the clock settle), then the measured rounds
            Time(valuesCall); Time(bothCall);
            double values = Time(valuesCall);
            double both = Time(bothCall);
            Console.WriteLine(string.Create(inv, $"u ~ N(0, {s}²), {n} entries: values {values:F2} ns per entry, values and derivatives {both:F2} ns per entry (best of 5 × {calls} calls)"));
        }
        Console.WriteLine(string.Create(inv, $"(check {sink:E3})"));
    }
}
