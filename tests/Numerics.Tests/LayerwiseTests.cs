using ResOdeProofs.Numerics.Model;

namespace ResOdeProofs.Numerics.Tests;

/// <summary>
/// The forward and backward pass written one output entry at a time, each entry its formula's sum
/// (allocating, slow): the oracle that <see cref="Layerwise"/>, which runs the same sums in vector lanes,
/// must reproduce bit for bit.
/// </summary>
internal static class FormulaLayerwise
{
    /// <summary>Everything at weights W (L·m·d), V (L·d·m), one formula at a time.</summary>
    public static (double[][][] H, double[][][] P, double[][][] Pre, double[][] GW, double[][] GV, double Loss) Evaluate(NetworkShape s, ActivationKind act, Dataset data, double[]? a, double[]? b,
        ReadOnlySpan<double> w, ReadOnlySpan<double> v)
    {
        int L = s.Depth, m = s.Width, d = s.Dim, n = data.Count, md = m * d, dIn = s.InputDim, dOut = s.OutputDim;
        var h = new double[L + 1][][]; var p = new double[L + 1][][]; var pre = new double[L][][];
        h[0] = new double[n][];
        for (int i = 0; i < n; i++)
        {
            h[0][i] = new double[d];
            for (int r = 0; r < d; r++)
                h[0][i][r] = a is null ? data.X[i * dIn + r] : Sum(dIn, c => a[r * dIn + c] * data.X[i * dIn + c]);
        }
        for (int k = 1; k <= L; k++)
        {
            var wk = w.Slice((k - 1) * md, md).ToArray(); var vk = v.Slice((k - 1) * md, md).ToArray();
            h[k] = new double[n][]; pre[k - 1] = new double[n][];
            for (int i = 0; i < n; i++)
            {
                var hp = h[k - 1][i];
                var u = new double[m];
                for (int j = 0; j < m; j++) u[j] = Sum(d, c => wk[j * d + c] * hp[c]);
                pre[k - 1][i] = u;
                var su = new double[m];
                for (int j = 0; j < m; j++) su[j] = Activations.Value(act, u[j]);
                var hn = (double[])hp.Clone();
                for (int r = 0; r < d; r++) hn[r] += Sum(m, j => vk[r * m + j] * su[j]) / L;
                h[k][i] = hn;
            }
        }
        double loss = 0;
        p[L] = new double[n][];
        for (int i = 0; i < n; i++)
        {
            var hl = h[L][i];
            var res = new double[dOut];
            for (int o = 0; o < dOut; o++)
                res[o] = (b is null ? hl[o] : Sum(d, c => b[o * d + c] * hl[c])) - data.Y[i * dOut + o];
            loss += Sum(dOut, o => res[o] * res[o]);
            var pl = new double[d];
            for (int c = 0; c < d; c++) pl[c] = 2.0 / n * (b is null ? res[c] : Sum(dOut, o => b[o * d + c] * res[o]));
            p[L][i] = pl;
        }
        var gw = new double[L][]; var gv = new double[L][];
        for (int k = L; k >= 1; k--)
        {
            var wk = w.Slice((k - 1) * md, md).ToArray(); var vk = v.Slice((k - 1) * md, md).ToArray();
            gw[k - 1] = new double[md]; gv[k - 1] = new double[md];
            p[k - 1] = new double[n][];
            for (int i = 0; i < n; i++)
            {
                var pk = p[k][i]; var u = pre[k - 1][i]; var hp = h[k - 1][i];
                var q = new double[m];
                for (int j = 0; j < m; j++) q[j] = Activations.Derivative(act, u[j]) * Sum(d, r => vk[r * m + j] * pk[r]);
                var su = new double[m];
                for (int j = 0; j < m; j++) su[j] = Activations.Value(act, u[j]);
                for (int r = 0; r < d; r++)
                    for (int j = 0; j < m; j++) gv[k - 1][r * m + j] += pk[r] * su[j];
                for (int j = 0; j < m; j++)
                    for (int c = 0; c < d; c++) gw[k - 1][j * d + c] += q[j] * hp[c];
                var pn = (double[])pk.Clone();
                for (int c = 0; c < d; c++) pn[c] += Sum(m, j => wk[j * d + c] * q[j]) / L;
                p[k - 1][i] = pn;
            }
        }
        return (h, p, pre, gw, gv, loss / n);
    }

    private static double Sum(int count, Func<int, double> term)
    {
        double s = 0;
        for (int i = 0; i < count; i++) s += term(i);
        return s;
    }
}

/// <summary><see cref="Layerwise"/> against <see cref="FormulaLayerwise"/>.</summary>
public sealed class LayerwiseTests
{
    /// <summary>
    /// Bit-identical: both take every sum term by term in the same order with one rounding per term and the
    /// same scalar σ, σ'; the batched code only places independent sums side by side in vector lanes.
    /// </summary>
    [Theory(DisplayName = "Layerwise: batched evaluation, every activation → reproduces the formula bit for bit")]
    [InlineData(ActivationKind.Gelu)]
    [InlineData(ActivationKind.Tanh)]
    [InlineData(ActivationKind.Softplus)]
    [InlineData(ActivationKind.Relu)]
    [InlineData(ActivationKind.Identity)]
    public void BatchedLayerwiseReproducesTheFormulaBitForBit(ActivationKind act)
    {
        foreach (var (seed, width, dim, n, general) in new[] { (1, 16, 8, 13, false), (2, 19, 9, 11, true), (3, 32, 16, 9, false), (4, 5, 3, 37, true) })
        {
            var s = TestSetting.Random(seed * 17 + (int)act, 6, width, dim, n, general, 1.2 / Math.Sqrt(dim), 1.2 / Math.Sqrt(width));
            var f = FormulaLayerwise.Evaluate(s.Shape, act, s.Data, s.A, s.B, s.W, s.V);
            var r = Layerwise.Evaluate(s.Shape, act, s.Data, s.A, s.B, s.W, s.V);
            var rPre = r.PreActivations().Pre;
            string where = $"{act}, m = {width}, d = {dim}, n = {n}";
            Assert.Equal(f.Loss, r.Loss);
            for (int k = 0; k <= s.Shape.Depth; k++)
                for (int i = 0; i < n; i++)
                {
                    Assert.True(f.H[k][i].SequenceEqual(r.H[k][i]), $"{where}: h_{k}^{i}");
                    Assert.True(f.P[k][i].SequenceEqual(r.P[k][i]), $"{where}: p_{k}^{i}");
                    if (k < s.Shape.Depth) Assert.True(f.Pre[k][i].SequenceEqual(rPre[k][i]), $"{where}: pre_{k + 1}^{i}");
                }
            for (int k = 0; k < s.Shape.Depth; k++)
            {
                Assert.True(f.GW[k].SequenceEqual(r.GW[k]), $"{where}: G^W_{k + 1}");
                Assert.True(f.GV[k].SequenceEqual(r.GV[k]), $"{where}: G^V_{k + 1}");
                double vtp = 0;
                for (int i = 0; i < n; i++)
                    for (int j = 0; j < width; j++)
                    {
                        double sum = 0;
                        for (int c = 0; c < dim; c++) sum += s.V[k * width * dim + c * width + j] * f.P[k + 1][i][c];
                        vtp = Math.Max(vtp, Math.Abs(sum));
                    }
                Assert.Equal(vtp, r.VtPMax[k]);
            }
        }
    }

    /// <summary>The comparison above can fail: one weight changed by one ulp changes the reference's gradient.</summary>
    [Fact(DisplayName = "Layerwise: one ulp in one weight → seen")]
    public void OneUlpInOneWeightIsSeen()
    {
        var s = TestSetting.Random(5, 6, 16, 8, 13, false);
        var f = FormulaLayerwise.Evaluate(s.Shape, ActivationKind.Gelu, s.Data, s.A, s.B, s.W, s.V);
        var w = (double[])s.W.Clone();
        w[3 * 16 * 8 + 5] = Math.BitIncrement(w[3 * 16 * 8 + 5]);
        var r = Layerwise.Evaluate(s.Shape, ActivationKind.Gelu, s.Data, s.A, s.B, w, s.V);
        Assert.False(Enumerable.Range(0, 6).All(k => f.GW[k].SequenceEqual(r.GW[k])));
    }
}
