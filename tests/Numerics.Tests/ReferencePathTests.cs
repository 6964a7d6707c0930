using ResOdeProofs.Numerics;
using ResOdeProofs.Numerics.Model;
using ResOdeProofs.Numerics.Ode;

namespace ResOdeProofs.Numerics.Tests;

/// <summary>
/// The verifier's reference computations after their batching: each batched path against the one-entry-at-a-time
/// formula it replaced, bit for bit (a batched sum in another order, or a σ from another formula, would move the
/// neural-ODE solution of B.bound, or a spectral norm, by a rounding without any test noticing).
/// </summary>
public sealed class ReferencePathTests
{
    private static readonly ActivationKind[] Kinds =
        { ActivationKind.Gelu, ActivationKind.Tanh, ActivationKind.Softplus, ActivationKind.Relu, ActivationKind.Identity };

    [Theory(DisplayName = "NeuralOde: batched right-hand side against the entry-by-entry formula → bit-identical")]
    [InlineData(16, 8, 5)]
    [InlineData(32, 16, 3)]
    [InlineData(5, 3, 7)]
    [InlineData(1, 1, 2)]
    public void RightHandSideIsTheFormula(int m, int d, int n)
    {
        var rng = new System.Random(1000 * m + 10 * d + n);
        const int depth = 6;
        var w = TestRandom.Gaussian(rng, depth * m * d); var v = TestRandom.Gaussian(rng, depth * m * d);
        for (int i = 0; i < w.Length; i++) { w[i] *= 3; v[i] *= 0.5; }
        foreach (var act in Kinds)
        {
            var ode = NeuralOde.PiecewiseLinear(depth, m, d, act, w, v);
            var batched = ode.RightHandSide(n); var byEntry = NeuralOdeByEntry.RightHandSide(ode, n);
            for (int trial = 0; trial < 20; trial++)
            {
                var y = TestRandom.Gaussian(rng, n * d);
                if (trial == 0) y[0] = 0.0;
                double s = trial == 1 ? 0.0 : trial == 2 ? 1.0 : rng.NextDouble();
                var a = new double[n * d]; var b = new double[n * d];
                batched(s, y, a); byEntry(s, y, b);
                for (int k = 0; k < a.Length; k++)
                    Assert.True(BitConverter.DoubleToInt64Bits(a[k]) == BitConverter.DoubleToInt64Bits(b[k]),
                        $"{act}, s = {s}, entry {k}: {a[k]:R} vs {b[k]:R}");
            }
        }
    }

    [Fact(DisplayName = "Activations.Values: value-only σ against Evaluate's value on a dense grid and the special points → bit-identical")]
    public void ValuesAreEvaluatesValues()
    {
        var u = new List<double> { 0.0, -0.0, double.PositiveInfinity, double.NegativeInfinity, double.NaN, double.Epsilon, -double.Epsilon,
            0.46875 * Math.Sqrt(2), -0.46875 * Math.Sqrt(2), 38.75, -38.75, 38.5, -38.5, 1e200, -1e200, double.MaxValue, -double.MaxValue };
        for (double x = -45; x <= 45; x += 0.0037) u.Add(x);
        var rng = new System.Random(7);
        for (int i = 0; i < 20000; i++) u.Add((rng.NextDouble() - 0.5) * 90);
        var arr = u.ToArray();
        foreach (var act in Kinds)
        {
            var values = new double[arr.Length]; var reference = new double[arr.Length]; var deriv = new double[arr.Length];
            Activations.Values(act, arr, values);
            Activations.Evaluate(act, arr, reference, deriv);
            for (int i = 0; i < arr.Length; i++)
            {
                Assert.True(BitConverter.DoubleToInt64Bits(values[i]) == BitConverter.DoubleToInt64Bits(reference[i]),
                    $"{act} at u = {arr[i]:R}: {values[i]:R} vs {reference[i]:R}");
                Assert.True(BitConverter.DoubleToInt64Bits(Activations.Value(act, arr[i])) == BitConverter.DoubleToInt64Bits(reference[i]),
                    $"{act} at u = {arr[i]:R}: Value {Activations.Value(act, arr[i]):R} vs {reference[i]:R}");
            }
        }
    }

    [Fact(DisplayName = "SpectralNorm upper values: a matrix given as columns and as a row-major block → bit-identical; a NaN or ∞ entry → NaN or ∞")]
    public void ColumnsAndBlockAgree()
    {
        var rng = new System.Random(11);
        foreach (var (rows, cols) in new[] { (8, 20), (20, 8), (16, 16), (1, 5), (5, 1) })
        {
            var block = TestRandom.Gaussian(rng, rows * cols);
            var columns = Enumerable.Range(0, cols).Select(c => Enumerable.Range(0, rows).Select(r => block[r * cols + c]).ToArray()).ToArray();
            double a = SpectralNorm.UpperOfBlock(rows, cols, block, 0), b = SpectralNorm.UpperOfColumns(columns);
            Assert.Equal(BitConverter.DoubleToInt64Bits(a), BitConverter.DoubleToInt64Bits(b));
            columns[cols - 1][rows - 1] = double.PositiveInfinity;
            Assert.Equal(double.PositiveInfinity, SpectralNorm.UpperOfColumns(columns));
            columns[0][0] = double.NaN; // the first non-finite entry in row order decides
            Assert.True(double.IsNaN(SpectralNorm.UpperOfColumns(columns)));
        }
    }
}
