using ResOdeProofs.Numerics;
using ResOdeProofs.Numerics.BnConv;
using ResOdeProofs.Numerics.Random;

namespace ResOdeProofs.Numerics.Tests;

/// <summary>
/// The trained network rewritten as a network of conv blocks (BnConvFolded: stem by its defining sum, every batch norm
/// folded, blocks by Conv2dSame) computes the evaluation-mode network of BnConvNet (unfolded batch norm, im2col
/// convolutions): both in float64 on the same float32 parameters, so any difference is rounding.
/// </summary>
public class BnConvFoldedTests
{
    private const double U = 1.1102230246251565e-16;

    private static (BnConvConfig Cfg, float[] Theta, double[] Stats, float[] Images, int[] Labels) Setting(ActivationKind act, int depth, int n = 5)
    {
        var cfg = new BnConvConfig { InputChannels = 1, InputSide = 8, Channels = 3, StemKernel = 3, StemStride = 2, StemPad = 1, Depth = depth, Classes = 4, Activation = act };
        var theta = BnConvNet<float>.Initialize(cfg, BnConvInit.Iid, 5);
        var rng = new Rng(17);
        // every γ (bn₂'s too) and β away from its initial value, so that each residual branch is non-trivial
        for (int i = 0; i < theta.Length; i++) theta[i] += (float)(0.5 * (2 * rng.NextDouble() - 1));
        var stats = BnConvNet<double>.InitialStatistics(cfg);
        for (int c = 0; c < stats.Length; c++) stats[c] = (c / cfg.Channels) % 2 == 0 ? rng.NextGaussian() : 0.5 + rng.NextDouble();
        var images = new float[n * 64];
        for (int i = 0; i < images.Length; i++) images[i] = (float)rng.NextGaussian();
        return (cfg, theta, stats, images, Enumerable.Range(0, n).Select(i => i % 4).ToArray());
    }

    private static double[] FoldedLogits(BnConvConfig cfg, float[] theta, double[] stats, float[] images, int n)
    {
        var h0 = BnConvFolded.Stem(cfg, theta, stats, images, n);
        var states = BnConvFolded.Forward(BnConvFolded.Block(cfg), BnConvFolded.Fold(cfg, theta, stats), cfg.Depth, h0, n);
        return Logits(cfg, theta, states[^1], n);
    }

    /// <summary>The read-out of the folded network's final states (n × d): global average pooling and the linear layer, n × classes
    /// logits, by its defining sums (the engine's own read-out is <see cref="BnConvNet{T}.Evaluate"/>'s).</summary>
    private static double[] Logits(BnConvConfig cfg, ReadOnlySpan<float> theta, ReadOnlySpan<double> hL, int n)
    {
        int c = cfg.Channels, q = cfg.Classes, plane = cfg.Side * cfg.Side, ho = cfg.HeadOffset;
        var z = new double[n * q];
        for (int s = 0; s < n; s++)
            for (int j = 0; j < q; j++)
            {
                double acc = theta[ho + q * c + j];
                for (int ch = 0; ch < c; ch++)
                {
                    double sum = 0;
                    var px = hL.Slice(s * c * plane + ch * plane, plane);
                    foreach (var v in px) sum += v;
                    acc += theta[ho + j * c + ch] * (sum / plane);
                }
                z[s * q + j] = acc;
            }
        return z;
    }

    /// <summary>
    /// Tolerance as in BnConvTests' folded check: 2L + 1 convolutions and batch norms each with a relative error of at most
    /// (Inner + 4)·u in either order, propagated by at most e^Lip, and the read-out's C + 1 terms: 64·(2L + 2)·(Inner + 4)·u
    /// times the logits' scale.
    /// </summary>
    [Theory(DisplayName = "BnConvFolded: folded conv-block network vs unfolded evaluation mode → logits agree to rounding; one running variance off by 1e-6 → caught")]
    [InlineData(ActivationKind.Gelu)]
    [InlineData(ActivationKind.Relu)]
    [InlineData(ActivationKind.Identity)]
    public void FoldedNetworkEqualsEvaluationMode(ActivationKind act)
    {
        var (cfg, theta, stats, images, labels) = Setting(act, depth: 4);
        int n = labels.Length;
        var net = new BnConvNet<double>(cfg, n);
        var a = new double[n * cfg.Classes];
        net.Evaluate(theta.Select(x => (double)x).ToArray(), stats, images.Select(x => (double)x).ToArray(), labels, n, folded: false, a);
        var b = FoldedLogits(cfg, theta, stats, images, n);
        double scale = Math.Max(1, a.Max(Math.Abs)), tol = 64 * (2 * cfg.Depth + 2) * (cfg.Block.Inner + 4) * U * scale;
        double diff = a.Zip(b, (x, y) => Math.Abs(x - y)).Max();
        Assert.True(diff <= tol, $"folded network vs evaluation mode: logits differ by {diff:G3} > {tol:G3}");
        // a block's bn₂ running variance off by 10⁻⁶ (relative) in the folded network only
        var off = (double[])stats.Clone(); off[(2 * 2 + 1) * cfg.Channels] *= 1 + 1e-6;
        var c = FoldedLogits(cfg, theta, off, images, n);
        Assert.True(a.Zip(c, (x, y) => Math.Abs(x - y)).Max() > tol, "a perturbed running variance went unnoticed");
        // and the stem's: its own code path
        var offStem = (double[])stats.Clone(); offStem[cfg.Channels] *= 1 + 1e-6;
        var d = FoldedLogits(cfg, theta, offStem, images, n);
        Assert.True(a.Zip(d, (x, y) => Math.Abs(x - y)).Max() > tol, "a perturbed stem variance went unnoticed");
    }

    [Fact(DisplayName = "BnConvFolded.Forward: stride 2 → the network of the even layers at step 2/L")]
    public void StrideTwoUsesEvenLayersAtDoubleStep()
    {
        var (cfg, theta, stats, images, labels) = Setting(ActivationKind.Gelu, depth: 4);
        int n = labels.Length;
        var block = BnConvFolded.Block(cfg);
        var folded = BnConvFolded.Fold(cfg, theta, stats);
        var h0 = BnConvFolded.Stem(cfg, theta, stats, images, n);
        var half = BnConvFolded.Forward(block, folded, cfg.Depth, h0, n, stride: 2);
        // by hand: layers 0 and 2, step 2/4
        int P = block.ParameterCount, dim = block.StateDim;
        var h = (double[])h0.Clone(); var f = new double[n * dim]; var cache = new double[block.CacheSize(n)];
        foreach (int k in new[] { 0, 2 })
        {
            block.Forward(folded.AsSpan(k * P, P), h, f, cache, n);
            for (int i = 0; i < h.Length; i++) h[i] += 0.5 * f[i];
        }
        Assert.Equal(3, half.Length);
        Assert.Equal(h, half[2]);
    }
}
