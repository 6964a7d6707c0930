using ResOdeProofs.Numerics.Model;

namespace ResOdeProofs.Numerics.Tests;

/// <summary>
/// <see cref="StateRows"/>: a reference pass keeps its states and adjoints in one array each, and every row its readers take
/// is a view of that array (the numbers themselves are checked against the formula by <see cref="LayerwiseTests"/>).
/// </summary>
public sealed class StateRowsTests
{
    [Fact(DisplayName = "Layerwise.Evaluate: a pass with A and B → its states and adjoints in one array each, row (k, i) at (k·n + i)·d, rows and layer blocks views of it; out-of-range rows refused")]
    public void OnePassKeepsTwoArrays()
    {
        var s = TestSetting.Random(11, 7, 9, 5, 6, true, 1.2 / Math.Sqrt(5), 1.2 / Math.Sqrt(9));
        var lw = Layerwise.Evaluate(s.Shape, ActivationKind.Gelu, s.Data, s.A, s.B, s.W, s.V);
        int L = s.Shape.Depth, n = 6, d = s.Shape.Dim;
        foreach (var rows in new[] { lw.H, lw.P })
        {
            Assert.Equal(L + 1, rows.Length);
            Assert.Equal(n, rows.Samples);
            Assert.Equal(d, rows.Dim);
            Assert.Equal((L + 1) * n * d, rows.Data.Length);
            for (int k = 0; k <= L; k++)
            {
                Assert.Equal(n, rows[k].Length);
                Assert.True(rows.Layer(k).SequenceEqual(rows.Data.AsSpan(k * n * d, n * d)), $"layer {k}: its block");
                for (int i = 0; i < n; i++)
                {
                    var row = rows[k][i];
                    Assert.Same(rows.Data, row.Array);
                    Assert.Equal((k * n + i) * d, row.Offset);
                    Assert.Equal(d, row.Count);
                }
            }
            Assert.Throws<IndexOutOfRangeException>(() => rows[L + 1]);
            Assert.Throws<IndexOutOfRangeException>(() => rows[-1]);
            Assert.Throws<IndexOutOfRangeException>(() => rows[0][n]);
        }
        // the enumerators walk k then i in order, the copies are copies
        var walked = lw.H.SelectMany(layer => layer).SelectMany(row => row).ToArray();
        Assert.Equal(lw.H.Data, walked);
        var copy = Enumerable.Range(0, n).Select(i => lw.H[2][i].ToArray()).ToArray();
        copy[1][0] += 1.0;
        Assert.NotEqual(copy[1][0], lw.H[2][1][0]);
        // a write through a row is a write into the pass' numbers (the negative controls rely on it)
        var view = lw.P[3][4];
        double before = lw.P.Data[(3 * n + 4) * d + 1];
        view[1] = before + 1.0;
        Assert.Equal(before + 1.0, lw.P.Data[(3 * n + 4) * d + 1]);
        Assert.Throws<ArgumentException>(() => new StateRows(new double[10], 2, 2, 3));
    }

    [Theory(DisplayName = "Layerwise.Evaluate: σ(u_k), σ'(u_k) formed again in the backward pass (storeLayers false) → the states, adjoints, gradients, max|Vᵀp| and loss of the stored pass bit for bit, with and without A and B")]
    [InlineData(ActivationKind.Gelu, false)]
    [InlineData(ActivationKind.Tanh, true)]
    [InlineData(ActivationKind.Softplus, true)]
    [InlineData(ActivationKind.Relu, false)]
    public void DerivativesFormedAgainGiveTheSameBits(ActivationKind act, bool general)
    {
        var s = TestSetting.Random(general ? 21 : 22, 11, 7, 4, 9, general);
        var stored = Layerwise.Evaluate(s.Shape, act, s.Data, s.A, s.B, s.W, s.V, storeLayers: true);
        var again = Layerwise.Evaluate(s.Shape, act, s.Data, s.A, s.B, s.W, s.V, storeLayers: false);
        static void Same(ReadOnlySpan<double> x, ReadOnlySpan<double> y, string what)
        {
            Assert.Equal(x.Length, y.Length);
            for (int i = 0; i < x.Length; i++)
                Assert.True(BitConverter.DoubleToInt64Bits(x[i]) == BitConverter.DoubleToInt64Bits(y[i]), $"{what}[{i}]: {x[i]:R} vs {y[i]:R}");
        }
        Same(stored.H.Data, again.H.Data, "h"); Same(stored.P.Data, again.P.Data, "p");
        for (int k = 0; k < s.Shape.Depth; k++) { Same(stored.GW[k], again.GW[k], $"G^W_{k + 1}"); Same(stored.GV[k], again.GV[k], $"G^V_{k + 1}"); }
        Same(stored.VtPMax, again.VtPMax, "max|Vᵀp|"); Same([stored.Loss], [again.Loss], "loss");
        Assert.Contains(stored.GW, g => g.Any(x => x != 0));   // the gradient is not trivially zero in this setting
    }

    [Fact(DisplayName = "Layerwise.Evaluate: (L + 1)·n·d states beyond one array's length → refused as out of memory before any work (not an index overflow)")]
    public void TooManyStatesForOneArrayAreRefused()
    {
        // L = 2²⁰, n = 256, d = 16: 2³² + 4 096 states, above Array.MaxLength; the weights are never read
        int L = 1 << 20, n = 256, d = 16;
        var shape = new NetworkShape(L, 1, d, d, d);
        var data = new Dataset(n, d, d, new double[n * d], new double[n * d]);
        var e = Assert.Throws<InsufficientMemoryException>(() => Layerwise.Evaluate(shape, ActivationKind.Gelu, data, null, null, ReadOnlySpan<double>.Empty, ReadOnlySpan<double>.Empty));
        Assert.Contains("(L + 1)·n·d", e.Message);
    }

    [Fact(DisplayName = "SpectralNorm.UpperOfColumns: a block of columns (finite, zero, NaN and ∞ entries; both orientations) → the bits of the same columns as arrays; another matrix → another value (control)")]
    public void BlockColumnsAreTheArrays()
    {
        var rng = new System.Random(23);
        int differs = 0;
        for (int trial = 0; trial < 120; trial++)
        {
            int cols = 1 + rng.Next(40), rows = 1 + rng.Next(20);
            var block = TestRandom.Gaussian(rng, cols * rows, Math.Pow(10, rng.Next(-3, 4)));
            if (trial % 10 == 1) Array.Clear(block);
            if (trial % 10 == 2) block[rng.Next(block.Length)] = double.NaN;
            if (trial % 10 == 3) block[rng.Next(block.Length)] = double.NegativeInfinity;
            var columns = Enumerable.Range(0, cols).Select(c => block.AsSpan(c * rows, rows).ToArray()).ToArray();
            double want = SpectralNorm.UpperOfColumns(columns), got = SpectralNorm.UpperOfColumns(block, cols, rows);
            Assert.True(BitConverter.DoubleToInt64Bits(want) == BitConverter.DoubleToInt64Bits(got), $"{cols} columns of {rows}: {got:R} vs {want:R}");
            if (trial % 10 > 3)
            {
                var other = (double[])block.Clone();
                other[0] *= 2.0;
                if (BitConverter.DoubleToInt64Bits(SpectralNorm.UpperOfColumns(other, cols, rows)) != BitConverter.DoubleToInt64Bits(want)) differs++;
            }
        }
        Assert.True(differs > 50, $"only {differs} changed matrices changed the value: the comparison could not see a changed input");
        Assert.Throws<ArgumentException>(() => SpectralNorm.UpperOfColumns(new double[5], 2, 3));
    }
}
