using ResOdeProofs.Numerics.Model;

namespace ResOdeProofs.Numerics.Tests;

/// <summary>
/// <see cref="Layerwise"/> forms each of its sums (the pre-activations, the layer images, Vᵀp, Wᵀq and the two layer
/// gradients) as one <see cref="Layerwise.MultiplyOrdered"/> of a layer matrix and a block of rows, in place of adding
/// scaled rows one at a time: on the verify's shapes (n = 100 and 50, not multiples of the lanes' blocks; m = 32, 64;
/// d = 16) it must still give the formula's bits (<see cref="FormulaLayerwise"/>, every entry its own sum in index order).
/// The negative control sums the gradients over the samples in reverse order: other bits, which the comparison sees.
/// </summary>
public sealed class LayerwiseOrderedTests
{
    private static bool Same(double[] a, double[] b) =>
        a.Length == b.Length && a.Zip(b).All(t => BitConverter.DoubleToInt64Bits(t.First) == BitConverter.DoubleToInt64Bits(t.Second));

    [Theory(DisplayName = "Layerwise: sums as ordered products, the verify's shapes with and without A, B → the formula's bits (states, adjoints, σ, gradients, loss)")]
    [InlineData(ActivationKind.Gelu, 32, 16, 100, false)]
    [InlineData(ActivationKind.Gelu, 64, 16, 50, false)]
    [InlineData(ActivationKind.Tanh, 32, 16, 100, true)]
    [InlineData(ActivationKind.Relu, 20, 7, 23, true)]
    public void OrderedProductsGiveTheFormulaBits(ActivationKind act, int width, int dim, int n, bool general)
    {
        var s = TestSetting.Random(width * 31 + n, 5, width, dim, n, general, 1.2 / Math.Sqrt(dim), 1.2 / Math.Sqrt(width));
        var f = FormulaLayerwise.Evaluate(s.Shape, act, s.Data, s.A, s.B, s.W, s.V);
        var r = Layerwise.Evaluate(s.Shape, act, s.Data, s.A, s.B, s.W, s.V);
        var ra = r.PreActivations();
        string where = $"{act}, m = {width}, d = {dim}, n = {n}";
        Assert.Equal(BitConverter.DoubleToInt64Bits(f.Loss), BitConverter.DoubleToInt64Bits(r.Loss));
        for (int k = 0; k <= s.Shape.Depth; k++)
            for (int i = 0; i < n; i++)
            {
                Assert.True(Same(f.H[k][i].ToArray(), r.H[k][i].ToArray()), $"{where}: h_{k}^{i}");
                Assert.True(Same(f.P[k][i].ToArray(), r.P[k][i].ToArray()), $"{where}: p_{k}^{i}");
                if (k < s.Shape.Depth)
                {
                    Assert.True(Same(f.Pre[k][i], ra.Pre[k][i]), $"{where}: pre_{k + 1}^{i}");
                    var sigma = f.Pre[k][i].Select(x => Activations.Value(act, x)).ToArray();
                    Assert.True(Same(sigma, ra.Sigma[k][i]), $"{where}: σ_{k + 1}^{i}");
                }
            }
        for (int k = 0; k < s.Shape.Depth; k++)
        {
            Assert.True(Same(f.GW[k], r.GW[k]), $"{where}: G^W_{k + 1}");
            Assert.True(Same(f.GV[k], r.GV[k]), $"{where}: G^V_{k + 1}");
        }
    }

    [Fact(DisplayName = "Layerwise: G^V summed over the samples in reverse order → other bits (the comparison is not blind)")]
    public void ReverseSampleOrderIsSeen()
    {
        int width = 32, dim = 16, n = 100;
        var s = TestSetting.Random(7, 5, width, dim, n, false, 1.2 / Math.Sqrt(dim), 1.2 / Math.Sqrt(width));
        var r = Layerwise.Evaluate(s.Shape, ActivationKind.Gelu, s.Data, s.A, s.B, s.W, s.V);
        var sigmas = r.PreActivations().Sigma;
        int differ = 0;
        for (int k = 0; k < s.Shape.Depth; k++)
        {
            var reversed = new double[dim * width];
            for (int i = n - 1; i >= 0; i--)
                for (int c = 0; c < dim; c++)
                    for (int j = 0; j < width; j++) reversed[c * width + j] += r.P[k + 1][i][c] * sigmas[k][i][j];
            if (!Same(reversed, r.GV[k])) differ++;
        }
        Assert.True(differ > 0, "no layer's G^V changed when its samples were summed in reverse order");
    }
}
