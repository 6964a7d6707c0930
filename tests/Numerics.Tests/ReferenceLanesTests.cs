using ResOdeProofs.Numerics;
using ResOdeProofs.Numerics.Ode;

namespace ResOdeProofs.Numerics.Tests;

/// <summary>
/// The reference neural-ODE solve of B.bound with its work in vector lanes (GELU's value four entries at a time, the
/// right-hand side's two products with their sums in registers, the Runge–Kutta stage and step combinations over the
/// state's entries) against the one-entry-at-a-time code it replaced, bit for bit, on random shapes, lengths and offsets
/// (the remainder entries outside the lanes included).
/// </summary>
public sealed class ReferenceLanesTests
{
    private static bool Same(double a, double b) => BitConverter.DoubleToInt64Bits(a) == BitConverter.DoubleToInt64Bits(b);

    private static readonly double[] Special = { 0.0, -0.0, double.NaN, double.PositiveInfinity, double.NegativeInfinity, double.Epsilon, -double.Epsilon,
        0.46875 * Math.Sqrt(2), -0.46875 * Math.Sqrt(2), Math.BitIncrement(0.46875 * Math.Sqrt(2)), -Math.BitIncrement(0.46875 * Math.Sqrt(2)),
        4.0 * Math.Sqrt(2), -4.0 * Math.Sqrt(2), Math.BitIncrement(4.0 * Math.Sqrt(2)), -Math.BitIncrement(4.0 * Math.Sqrt(2)),
        38.75, -38.75, Math.BitDecrement(38.75), -Math.BitDecrement(38.75), 1e300, -1e300, double.MaxValue, -double.MaxValue };

    /// <summary>Trial t's span: length t mod 42 after an offset (t / 42) mod 4, its entries drawn over GELU's regimes and the
    /// kernels' special points.</summary>
    private static (double[] U, int Length, int Offset) RandomSpan(System.Random rng, int trial)
    {
        int len = trial % 42, off = (trial / 42) % 4;
        var u = new double[off + len];
        for (int i = 0; i < u.Length; i++)
            u[i] = rng.Next(8) switch
            {
                0 => Special[rng.Next(Special.Length)],
                1 => (rng.NextDouble() - 0.5) * 1.4,   // the centre |u| ≤ 0.66
                2 => (rng.NextDouble() - 0.5) * 11.4,  // the near tail, |u|/√2 ≤ 4
                3 => (rng.NextDouble() - 0.5) * 80,    // the far tail and the underflow of exp(−u²/2)
                _ => TestRandom.Gaussian(rng, 1, 3.0)[0],
            };
        return (u, len, off);
    }

    [Fact(DisplayName = "GeluLanes: random spans (every length 0..41, every offset 0..3) over the regimes and special points → bit for bit Activations.Value")]
    public void GeluLanesAreTheScalarValue()
    {
        var rng = new System.Random(2026);
        for (int trial = 0; trial < 400; trial++)
        {
            var (u, len, off) = RandomSpan(rng, trial);
            var got = new double[u.Length];
            Activations.Values(ActivationKind.Gelu, u.AsSpan(off), got.AsSpan(off));
            for (int i = off; i < u.Length; i++)
                Assert.True(Same(got[i], Activations.Value(ActivationKind.Gelu, u[i])),
                    $"length {len}, offset {off}, u = {u[i]:R}: {got[i]:R} vs {Activations.Value(ActivationKind.Gelu, u[i]):R}");
        }
    }

    [Fact(DisplayName = "GeluLanes.Derivatives and Activations.Evaluate: random spans (every length 0..41, every offset 0..3) over the regimes and special points → bit for bit Activations.Derivative and Value; Φ + uφ fused → other bits (control)")]
    public void GeluLaneDerivativesAreTheScalarDerivative()
    {
        var rng = new System.Random(2027);
        int fusedDiffers = 0;
        for (int trial = 0; trial < 400; trial++)
        {
            var (u, len, off) = RandomSpan(rng, trial);
            var got = new double[u.Length];
            Activations.Derivatives(ActivationKind.Gelu, u.AsSpan(off), got.AsSpan(off));
            // the hot path's σ and σ' together (Activations.Evaluate: lanes of four, then the scalar code)
            var value = new double[u.Length]; var both = new double[u.Length];
            Activations.Evaluate(ActivationKind.Gelu, u.AsSpan(off), value.AsSpan(off), both.AsSpan(off));
            for (int i = off; i < u.Length; i++)
            {
                double want = Activations.Derivative(ActivationKind.Gelu, u[i]);
                Assert.True(Same(got[i], want) || double.IsNaN(want) && double.IsNaN(got[i]),
                    $"length {len}, offset {off}, u = {u[i]:R}: {got[i]:R} vs {want:R}");
                Assert.True(Same(both[i], want) || double.IsNaN(want) && double.IsNaN(both[i]), $"Evaluate's σ' at u = {u[i]:R}: {both[i]:R} vs {want:R}");
                double wantValue = Activations.Value(ActivationKind.Gelu, u[i]);
                Assert.True(Same(value[i], wantValue) || double.IsNaN(wantValue) && double.IsNaN(value[i]), $"Evaluate's σ at u = {u[i]:R}: {value[i]:R} vs {wantValue:R}");
                // the control: Φ + u·φ with one rounding instead of two gives other bits somewhere, so the comparison sees the difference
                double cdf = SpecialFunctions.NormalCdf(u[i]), pdf = SpecialFunctions.NormalPdf(u[i]);
                if (double.IsFinite(u[i]) && pdf != 0.0 && !Same(Math.FusedMultiplyAdd(u[i], pdf, cdf), want)) fusedDiffers++;
            }
        }
        Assert.True(fusedDiffers > 0, "a fused Φ + uφ never differed: the comparison could not see a changed rounding");
    }

    [Fact(DisplayName = "Layerwise.ProductSums: random W (m×d up to 19×13, given transposed) and h → bit for bit the scalar Σ_c W[j,c]·h[c] and Σ_c |W[j,c]·h[c]| from zero over c in order; summed in reverse → other bits (control)")]
    public void ProductSumsAreTheScalarLoop()
    {
        var rng = new System.Random(31);
        int orderSeen = 0;
        for (int trial = 0; trial < 200; trial++)
        {
            int m = 1 + rng.Next(19), d = 1 + rng.Next(13);
            var w = TestRandom.Gaussian(rng, m * d, Math.Pow(10, rng.Next(-3, 4)));
            var h = TestRandom.Gaussian(rng, d, 3.0);
            var wT = new double[d * m];
            for (int j = 0; j < m; j++) for (int c = 0; c < d; c++) wT[c * m + j] = w[j * d + c];
            var sums = new double[m]; var pre = new double[m];
            ResOdeProofs.Numerics.Model.Layerwise.ProductSums(wT, d, m, h, pre, sums);
            for (int j = 0; j < m; j++)
            {
                double acc = 0.0, reversed = 0.0, signed = 0.0, signedReversed = 0.0;
                for (int c = 0; c < d; c++) { acc += Math.Abs(w[j * d + c] * h[c]); signed += w[j * d + c] * h[c]; }
                for (int c = d - 1; c >= 0; c--) { reversed += Math.Abs(w[j * d + c] * h[c]); signedReversed += w[j * d + c] * h[c]; }
                Assert.True(Same(acc, sums[j]), $"m = {m}, d = {d}, row {j}: {sums[j]:R} vs {acc:R}");
                Assert.True(Same(signed, pre[j]), $"m = {m}, d = {d}, row {j}: pre {pre[j]:R} vs {signed:R}");
                if (!Same(reversed, sums[j])) orderSeen++;
                if (!Same(signedReversed, pre[j])) orderSeen++;
            }
        }
        // the control: the same terms summed from the last c down give other bits somewhere, so the comparison sees the order
        Assert.True(orderSeen > 0, "no sum changed with the order of its terms: the comparison could not see a changed order");
    }

    [Fact(DisplayName = "NeuralOde: batched right-hand side over 40 random shapes (m, d, n ≤ 13) and GELU → bit for bit the entry-by-entry formula")]
    public void RightHandSideOverRandomShapes()
    {
        var rng = new System.Random(77);
        for (int trial = 0; trial < 40; trial++)
        {
            int m = 1 + rng.Next(13), d = 1 + rng.Next(13), n = 1 + rng.Next(13), depth = 1 + rng.Next(5);
            var w = TestRandom.Gaussian(rng, depth * m * d, 2.0); var v = TestRandom.Gaussian(rng, depth * m * d, 0.5);
            var ode = NeuralOde.PiecewiseLinear(depth, m, d, ActivationKind.Gelu, w, v);
            var batched = ode.RightHandSide(n); var byEntry = NeuralOdeByEntry.RightHandSide(ode, n);
            var y = TestRandom.Gaussian(rng, n * d, 2.0);
            double s = rng.NextDouble();
            var a = new double[n * d]; var b = new double[n * d];
            batched(s, y, a); byEntry(s, y, b);
            for (int k = 0; k < a.Length; k++)
                Assert.True(Same(a[k], b[k]), $"m = {m}, d = {d}, n = {n}, s = {s}, entry {k}: {a[k]:R} vs {b[k]:R}");
        }
    }

    [Fact(DisplayName = "OdeSolver.Integrate: Dormand–Prince on 12 random neural ODEs (state lengths 1..40) → bit for bit the entry-by-entry step loop, same step counts")]
    public void IntegrateIsTheEntryByEntryLoop()
    {
        var rng = new System.Random(5);
        for (int trial = 0; trial < 12; trial++)
        {
            int m = 1 + rng.Next(9), d = 1 + rng.Next(8), n = 1 + rng.Next(5), depth = 1 + rng.Next(6);
            var w = TestRandom.Gaussian(rng, depth * m * d, 1.5); var v = TestRandom.Gaussian(rng, depth * m * d, 0.7);
            var ode = NeuralOde.PiecewiseLinear(depth, m, d, ActivationKind.Gelu, w, v);
            var y0 = TestRandom.Gaussian(rng, n * d);
            double rtol = trial % 2 == 0 ? 1e-10 : 1e-6;
            var got = OdeSolver.Integrate(ode.RightHandSide(n), 0.0, 1.0, y0, rtol, rtol * 1e-2);
            var (final, steps, rejected) = EntryByEntry(ode.RightHandSide(n), y0, rtol, rtol * 1e-2);
            Assert.Equal(steps, got.Steps);
            Assert.Equal(rejected, got.Rejected);
            for (int j = 0; j < final.Length; j++)
                Assert.True(Same(final[j], got.Final[j]), $"trial {trial}, entry {j}: {got.Final[j]:R} vs {final[j]:R}");
        }
    }

    /// <summary>The adaptive loop of <see cref="OdeSolver.Integrate"/> from 0 to 1 without output times or stops, every sum
    /// formed entry by entry as the loop did before its lanes.</summary>
    private static (double[] Final, int Steps, int Rejected) EntryByEntry(OdeRhs f, double[] y0, double rtol, double atol)
    {
        var tab = ButcherTableau.DormandPrince54;
        int n = y0.Length, s = tab.Stages, q = Math.Min(tab.Order, tab.EmbeddedOrder);
        var k = new double[s][];
        for (int i = 0; i < s; i++) k[i] = new double[n];
        var y = (double[])y0.Clone(); var yNew = new double[n]; var yStage = new double[n];
        double t = 0.0;
        f(t, y, k[0]);
        double h = InitialStepOf(f, y0, rtol, atol);
        int steps = 0, rejected = 0;
        bool lastRejected = false, done = false;
        while (!done)
        {
            bool hits = false;
            double hStep = h;
            if (t + hStep >= 1.0 - 1e-14) { hStep = 1.0 - t; hits = true; }
            for (int i = 1; i < s; i++)
            {
                for (int j = 0; j < n; j++)
                {
                    double acc = 0;
                    for (int l = 0; l < i; l++) if (tab.A[i][l] != 0) acc += tab.A[i][l] * k[l][j];
                    yStage[j] = y[j] + hStep * acc;
                }
                f(t + tab.C[i] * hStep, yStage, k[i]);
            }
            double norm = 0;
            for (int j = 0; j < n; j++)
            {
                double acc = 0, e = 0;
                for (int i = 0; i < s; i++) { acc += tab.B[i] * k[i][j]; e += (tab.B[i] - tab.BHat[i]) * k[i][j]; }
                yNew[j] = y[j] + hStep * acc;
                double sc = atol + rtol * Math.Max(Math.Abs(y[j]), Math.Abs(yNew[j]));
                double r = hStep * e / sc;
                norm += r * r;
            }
            norm = Math.Sqrt(norm / n);
            double factor = norm == 0 ? OdeSolver.MaxFactor : Math.Min(OdeSolver.MaxFactor, Math.Max(OdeSolver.MinFactor, OdeSolver.Safety * OdeSolver.Power(norm, -1.0 / (q + 1))));
            if (norm <= 1)
            {
                steps++;
                t = hits ? 1.0 : t + hStep;
                (y, yNew) = (yNew, y);
                (k[0], k[s - 1]) = (k[s - 1], k[0]);
                if (hits) done = true;
                if (lastRejected) factor = Math.Min(1, factor);
                h = (hits ? Math.Max(h, hStep) : hStep) * factor;
                lastRejected = false;
            }
            else
            {
                rejected++;
                h = hStep * factor;
                lastRejected = true;
            }
        }
        return (y, steps, rejected);
    }

    /// <summary>The solver's own first step (Hairer–Nørsett–Wanner I, §II.4), called as it is: no sum of it is in lanes.</summary>
    private static double InitialStepOf(OdeRhs f, double[] y0, double rtol, double atol)
    {
        var m = typeof(OdeSolver).GetMethod("InitialStep", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Static)!;
        var f0 = new double[y0.Length];
        f(0.0, y0, f0);
        object[] args = { f, 0.0, y0, f0, ButcherTableau.DormandPrince54, rtol, atol, 1.0, 0 };
        return (double)m.Invoke(null, args)!;
    }
}
