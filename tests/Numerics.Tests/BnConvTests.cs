using ResOdeProofs.Numerics.BnConv;
using ResOdeProofs.Numerics.Model;
using ResOdeProofs.Numerics.Random;

namespace ResOdeProofs.Numerics.Tests;

/// <summary>
/// The convolutional network with batch norm of the real-data experiment (<see cref="BnConvNet{T}"/>): the im2col
/// convolution against the defining sum, exact gradients against finite differences (float64, the same generic code
/// that runs in float32), batch-norm folding, and checkpoint/resume giving the bits of an uninterrupted run.
/// </summary>
public class BnConvTests
{
    private const double U = 1.1102230246251565e-16; // unit roundoff of float64

    private static BnConvConfig Small(ActivationKind act, int depth = 3) => new()
    {
        InputChannels = 1, InputSide = 8, Channels = 3, StemKernel = 3, StemStride = 2, StemPad = 1, Depth = depth, Classes = 4, Activation = act,
    };

    /// <summary>y[o, s, i, j] = Σ_{c,a,e} K[o, c, a, e]·x[c, s, i·stride + a − pad, j·stride + e − pad], straight from the definition.</summary>
    private static double[] NaiveConv(ConvShape s, int n, double[] k, double[] x)
    {
        int ho = s.HOut, wo = s.WOut, mIn = n * s.HIn * s.WIn, mOut = n * ho * wo;
        var y = new double[s.COut * mOut];
        for (int o = 0; o < s.COut; o++)
            for (int img = 0; img < n; img++)
                for (int i = 0; i < ho; i++)
                    for (int j = 0; j < wo; j++)
                    {
                        double acc = 0;
                        for (int c = 0; c < s.CIn; c++)
                            for (int a = 0; a < s.Kernel; a++)
                                for (int e = 0; e < s.Kernel; e++)
                                {
                                    int ii = i * s.Stride + a - s.Pad, jj = j * s.Stride + e - s.Pad;
                                    if (ii < 0 || jj < 0 || ii >= s.HIn || jj >= s.WIn) continue;
                                    acc += k[((o * s.CIn + c) * s.Kernel + a) * s.Kernel + e] * x[c * mIn + (img * s.HIn + ii) * s.WIn + jj];
                                }
                        y[o * mOut + (img * ho + i) * wo + j] = acc;
                    }
        return y;
    }

    [Theory(DisplayName = "bn-conv im2col convolution: any shape → matches the definition and its adjoints")]
    [InlineData(2, 3, 3, 1, 1, 7, 5)]
    [InlineData(1, 4, 5, 3, 2, 28, 28)]
    [InlineData(3, 2, 5, 3, 0, 11, 9)]
    [InlineData(4, 4, 3, 1, 1, 40, 40)]
    [InlineData(16, 16, 3, 1, 1, 10, 10)] // the blocks' shape
    public void Im2colConvolutionMatchesTheDefinitionAndItsAdjoints(int cIn, int cOut, int k, int stride, int pad, int h, int w)
    {
        foreach (int budget in new[] { 0, 1 }) // the default chunks, and the smallest ones (several chunks per batch)
        {
            ConvIm2col.ChunkFloatsOverride = budget;
            try { CheckConvolution(cIn, cOut, k, stride, pad, h, w); }
            finally { ConvIm2col.ChunkFloatsOverride = 0; }
        }
    }

    [Theory(DisplayName = "ConvIm2col: patch matrix of images 1..3 of 5, one flat run per tap → equals the definition entry for entry, zeros outside")]
    [InlineData(16, 3, 1, 10, 10)] // the blocks' shape
    [InlineData(2, 5, 2, 7, 6)]    // wider padding: two rows and columns per side read outside
    [InlineData(3, 1, 0, 4, 9)]    // 1×1: one tap, nothing outside
    public void Im2colSameTapsEqualTheDefinition(int cIn, int k, int pad, int h, int w)
    {
        var s = new ConvShape(cIn, 1, k, 1, pad, h, w);
        int n = 5, img0 = 1, cnt = 3, mOut = cnt * h * w;
        var x = new double[cIn * n * h * w];
        new Rng(9).FillGaussian(x);
        var cols = new double[s.Inner * mOut];
        Array.Fill(cols, double.NaN); // every entry must be written
        ConvIm2col.Im2col(s, n, img0, cnt, x, cols);
        for (int c = 0; c < cIn; c++)
            for (int a = 0; a < k; a++)
                for (int e = 0; e < k; e++)
                    for (int img = 0; img < cnt; img++)
                        for (int i = 0; i < h; i++)
                            for (int j = 0; j < w; j++)
                            {
                                int ii = i + a - pad, jj = j + e - pad;
                                double want = ii < 0 || ii >= h || jj < 0 || jj >= w ? 0.0 : x[c * n * h * w + ((img0 + img) * h + ii) * w + jj];
                                double got = cols[((c * k + a) * k + e) * mOut + (img * h + i) * w + j];
                                Assert.True(want.Equals(got), $"tap ({c}, {a}, {e}), image {img0 + img}, pixel ({i}, {j}): {got} instead of {want}");
                            }
    }

    [Fact(DisplayName = "BatchNorm: statistics and adjoint sums in interleaved partial sums → within M·2⁻⁵³·Σ|terms| of the left-to-right sums")]
    public void BatchNormSumsStayWithinTheReorderingBound()
    {
        const int channels = 3, m = 6403; // not a multiple of the lanes: the scalar tail runs too
        var rng = new Rng(21);
        var x = new float[channels * m]; var dy = new float[channels * m];
        for (int i = 0; i < x.Length; i++) { x[i] = (float)(1000 + rng.NextGaussian()); dy[i] = (float)rng.NextGaussian(); } // offset: cancellation in the variance
        var gamma = new float[] { 1.5f, -0.5f, 2f }; var beta = new float[] { 0.1f, 0.2f, -0.3f };
        var y = new float[x.Length]; var mean = new double[channels]; var inv = new double[channels];
        BatchNorm.ForwardTrain<float>(x, y, channels, m, gamma, beta, mean, inv, Span<double>.Empty, Span<double>.Empty);
        var dx = new float[x.Length]; var dGamma = new float[channels]; var dBeta = new float[channels];
        BatchNorm.Backward<float>(x, dy, dx, channels, m, gamma, mean, inv, dGamma, dBeta);
        for (int c = 0; c < channels; c++)
        {
            double s = 0, sa = 0;
            for (int i = 0; i < m; i++) { s += x[c * m + i]; sa += Math.Abs(x[c * m + i]); }
            double mu = s / m;
            // Both sums carry at most (M − 1)·u·Σ|terms| each (γ_{M−1} bound for any order): twice that between them.
            Assert.True(Math.Abs(mean[c] - mu) <= 2 * m * U * sa / m + 2 * U * Math.Abs(mu), $"channel {c}: mean {mean[c]} vs {mu}");
            double v = 0, va = 0;
            for (int i = 0; i < m; i++) { double d = x[c * m + i] - mean[c]; v += d * d; va += d * d; }
            double wantInv = 1.0 / Math.Sqrt(v / m + BatchNorm.Epsilon);
            // The variance's terms are positive: relative error ≤ 2·M·u, halved by the square root, plus the root's and division's roundings.
            Assert.True(Math.Abs(inv[c] - wantInv) <= (m * U + 4 * U) * wantInv, $"channel {c}: 1/std {inv[c]} vs {wantInv}");
            double sdy = 0, sdyAbs = 0, sdyx = 0, sdyxAbs = 0;
            for (int i = 0; i < m; i++)
            {
                double g = dy[c * m + i], t = g * (x[c * m + i] - mean[c]) * inv[c];
                sdy += g; sdyAbs += Math.Abs(g); sdyx += t; sdyxAbs += Math.Abs(t);
            }
            // ∂β and ∂γ are stored in float32: the float64 reordering bound plus one float32 rounding.
            Assert.True(Math.Abs(dBeta[c] - sdy) <= 2 * m * U * sdyAbs + Math.Abs(sdy) * 5.9604644775390625e-08, $"channel {c}: dβ {dBeta[c]} vs {sdy}");
            Assert.True(Math.Abs(dGamma[c] - sdyx) <= 2 * m * U * sdyxAbs + Math.Abs(sdyx) * 5.9604644775390625e-08, $"channel {c}: dγ {dGamma[c]} vs {sdyx}");
        }
    }

    private static void CheckConvolution(int cIn, int cOut, int k, int stride, int pad, int h, int w)
    {
        var s = new ConvShape(cIn, cOut, k, stride, pad, h, w);
        int n = 5, mIn = n * h * w, mOut = n * s.HOut * s.WOut;
        var rng = new Rng(5);
        var x = new double[cIn * mIn]; var ker = new double[s.KernelLength]; var dy = new double[cOut * mOut];
        rng.FillGaussian(x); rng.FillGaussian(ker); rng.FillGaussian(dy);
        var y = new double[cOut * mOut]; var cols = new double[s.Inner * mOut];
        ConvIm2col.Forward(s, n, ker, x, y, cols);
        var want = NaiveConv(s, n, ker, x);
        // Each output is a sum of at most Inner products: |rounding| ≤ Inner·u·Σ|terms| (classical bound, γ_n ≈ n·u).
        for (int i = 0; i < y.Length; i++)
        {
            Assert.True(Math.Abs(y[i] - want[i]) <= 2 * s.Inner * U * (Abs(ker) * MaxAbs(x)), $"output {i}: {y[i]} vs {want[i]}");
        }
        // Adjoints: ⟨dy, K∗x⟩ = ⟨Kᵀdy, x⟩ and = ⟨∂/∂K, K⟩ (linearity in K).
        var gk = new double[s.KernelLength]; var dx = new double[cIn * mIn];
        ConvIm2col.Backward(s, n, ker, x, dy, gk, dx, cols, new double[s.Inner * cOut]);
        double lhs = Dot(dy, want), viaX = Dot(dx, x), viaK = Dot(gk, ker);
        double scale = 4 * s.Inner * mOut * U * Abs(ker) * MaxAbs(x) * Abs(dy);
        Assert.True(Math.Abs(lhs - viaX) <= scale, $"<dy, Kx> = {lhs}, <K^T dy, x> = {viaX}");
        Assert.True(Math.Abs(lhs - viaK) <= scale, $"<dy, Kx> = {lhs}, <dK, K> = {viaK}");
    }

    private static double Dot(double[] a, double[] b) { double s = 0; for (int i = 0; i < a.Length; i++) s += a[i] * b[i]; return s; }
    private static double Abs(double[] a) { double s = 0; foreach (var v in a) s += Math.Abs(v); return s; }
    private static double MaxAbs(double[] a) { double s = 0; foreach (var v in a) s = Math.Max(s, Math.Abs(v)); return s; }

    /// <summary>A network state with every part active: random inputs, iid kernels, and γ, β (including bn₂'s, 0 at initialization) moved off their initial values.</summary>
    private static (BnConvNet<double> Net, double[] Theta, double[] Input, int[] Labels) Setting(ActivationKind act, int n = 5, long seed = 1)
    {
        var cfg = Small(act);
        var net = new BnConvNet<double>(cfg, n);
        var theta = BnConvNet<double>.Initialize(cfg, BnConvInit.Iid, seed);
        var rng = new Rng(seed + 100);
        for (int i = 0; i < theta.Length; i++) theta[i] += 0.5 * (2 * rng.NextDouble() - 1);
        var input = new double[n * cfg.InputSide * cfg.InputSide];
        rng.FillGaussian(input);
        var labels = Enumerable.Range(0, n).Select(i => i % cfg.Classes).ToArray();
        return (net, theta, input, labels);
    }

    /// <summary>
    /// Coordinates whose analytic derivative disagrees with the finite differences. D(h) = (ℓ(θ + h e_i) − ℓ(θ − h e_i))/(2h) is
    /// g_i + c h² + O(h⁴); the Richardson value R = (4 D(h/2) − D(h))/3 is g_i + O(h⁴), and |D(h) − D(h/2)| = (3/4)|c| h² + O(h⁴)
    /// bounds its error for the smooth loss; rounding adds at most 2ε_ℓ/(h/2) per difference, ε_ℓ ≤ 1000·u·max(1, |ℓ|) for a loss
    /// made of sums of fewer than 1000 terms per entry (the largest inner length here is 27).
    /// </summary>
    private static List<string> GradientMismatches(BnConvNet<double> net, double[] theta, double[] input, int[] labels, double[] grad, IEnumerable<int> coords)
    {
        int n = labels.Length;
        double L(double[] t) => net.TrainStep(t, input, labels, n, Span<double>.Empty, null).Loss;
        double l0 = L(theta), h = 1e-4;
        double D(int i, double step)
        {
            var t = (double[])theta.Clone();
            t[i] = theta[i] + step; double up = L(t);
            t[i] = theta[i] - step; double down = L(t);
            return (up - down) / (2 * step);
        }
        var bad = new List<string>();
        foreach (int i in coords)
        {
            double d1 = D(i, h), d2 = D(i, h / 2), r = (4 * d2 - d1) / 3;
            double tol = Math.Abs(d1 - d2) + 8 * 1000 * U * Math.Max(1, Math.Abs(l0)) / h;
            if (!(Math.Abs(grad[i] - r) <= tol)) bad.Add($"θ[{i}]: analytic {grad[i]:G10}, finite differences {r:G10}, tolerance {tol:G3}");
        }
        return bad;
    }

    /// <summary>Coordinates: a few of every part (stem kernel, γ, β; each block's K₁, γ₁, β₁, K₂, γ₂, β₂; read-out W and bias).</summary>
    private static List<(string Part, int[] Coords)> Parts(BnConvConfig cfg)
    {
        var parts = new List<(string, int[])>();
        int c = cfg.Channels, sk = cfg.Stem.KernelLength;
        int[] Pick(int off, int len) => new[] { off, off + len / 2, off + len - 1 }.Distinct().ToArray();
        parts.Add(("stem K", Pick(0, sk))); parts.Add(("stem γ", Pick(sk, c))); parts.Add(("stem β", Pick(sk + c, c)));
        var (k1, g1, b1, k2, g2, b2) = cfg.BlockParts;
        int kl = cfg.Block.KernelLength;
        for (int k = 0; k < cfg.Depth; k++)
        {
            int o = cfg.BlockOffset(k);
            parts.Add(($"block {k} K1", Pick(o + k1, kl))); parts.Add(($"block {k} γ1", Pick(o + g1, c))); parts.Add(($"block {k} β1", Pick(o + b1, c)));
            parts.Add(($"block {k} K2", Pick(o + k2, kl))); parts.Add(($"block {k} γ2", Pick(o + g2, c))); parts.Add(($"block {k} β2", Pick(o + b2, c)));
        }
        parts.Add(("head W", Pick(cfg.HeadOffset, cfg.Classes * c))); parts.Add(("head b", Pick(cfg.HeadOffset + cfg.Classes * c, cfg.Classes)));
        return parts;
    }

    [Theory(DisplayName = "bn-conv gradient: every part → matches finite differences")]
    [InlineData(ActivationKind.Gelu)]
    [InlineData(ActivationKind.Identity)]
    public void GradientsMatchFiniteDifferencesInEveryPart(ActivationKind act)
    {
        var (net, theta, input, labels) = Setting(act);
        var grad = new double[theta.Length];
        net.TrainStep(theta, input, labels, labels.Length, grad, null);
        var bad = GradientMismatches(net, theta, input, labels, grad, Parts(net.Config).SelectMany(p => p.Coords));
        Assert.True(bad.Count == 0, string.Join("\n", bad));
    }

    [Fact(DisplayName = "bn-conv gradient check: a gradient off by 0.1% → rejected")]
    public void TheGradientCheckRejectsAGradientOffByOnePerMille()
    {
        var (net, theta, input, labels) = Setting(ActivationKind.Gelu);
        var grad = new double[theta.Length];
        net.TrainStep(theta, input, labels, labels.Length, grad, null);
        // In every part, the coordinate with the largest derivative is caught when scaled by 1.001.
        foreach (var (part, coords) in Parts(net.Config))
        {
            int i = coords.OrderByDescending(q => Math.Abs(grad[q])).First();
            if (grad[i] == 0) continue;
            var wrong = (double[])grad.Clone(); wrong[i] *= 1.001;
            Assert.True(GradientMismatches(net, theta, input, labels, wrong, new[] { i }).Count == 1, $"{part}: a 0.1% error in θ[{i}] went unnoticed");
        }
    }

    [Fact(DisplayName = "bn-conv batch norm: training statistics and running averages → follow their definitions")]
    public void BatchNormTrainingStatisticsAndRunningAveragesFollowTheirDefinitions()
    {
        var (net, theta, input, labels) = Setting(ActivationKind.Gelu);
        var cfg = net.Config;
        var stats = BnConvNet<double>.InitialStatistics(cfg);
        net.TrainStep(theta, input, labels, labels.Length, Span<double>.Empty, stats);
        // Stem batch norm: the pre-normalization values are the stem convolution of the input.
        var s = cfg.Stem; int n = labels.Length, m = n * s.HOut * s.WOut;
        var u = NaiveConv(s, n, theta[..s.KernelLength], input);
        for (int c = 0; c < cfg.Channels; c++)
        {
            var uc = u.AsSpan(c * m, m).ToArray();
            double mu = uc.Average(), varUnbiased = uc.Sum(x => (x - mu) * (x - mu)) / (m - 1);
            Assert.True(Math.Abs(stats[c] - 0.1 * mu) <= 100 * U * (1 + Math.Abs(mu)), $"running mean {stats[c]} vs {0.1 * mu}");
            Assert.True(Math.Abs(stats[cfg.Channels + c] - (0.9 + 0.1 * varUnbiased)) <= 100 * U * (1 + varUnbiased), $"running var {stats[cfg.Channels + c]}");
        }
    }

    /// <summary>
    /// Folded evaluation (bn(K∗x) = K'∗x + b') agrees with the unfolded one to rounding: each of the 2L + 1 convolutions and
    /// batch norms is computed with a relative error of at most (Inner + 4)·u in the two orders, the residual steps are
    /// contractions up to the factor (1 + Lip/L)^L ≤ e^Lip, and the read-out adds C + 1 terms; 64·(2L + 2)·(Inner + 4)·u
    /// times the logits' scale covers this with a factor of at least e^4 to spare for Lip ≤ 4.
    /// </summary>
    [Fact(DisplayName = "bn-conv evaluation: folded and unfolded → agree to rounding")]
    public void FoldedAndUnfoldedEvaluationAgreeToRounding()
    {
        var (net, theta, input, labels) = Setting(ActivationKind.Gelu);
        var cfg = net.Config; int n = labels.Length;
        var stats = BnConvNet<double>.InitialStatistics(cfg);
        var rng = new Rng(9);
        for (int c = 0; c < stats.Length; c++) stats[c] = (c / cfg.Channels) % 2 == 0 ? rng.NextGaussian() : 0.5 + rng.NextDouble();
        var a = new double[n * cfg.Classes]; var b = new double[n * cfg.Classes];
        net.Evaluate(theta, stats, input, labels, n, folded: false, a);
        net.Evaluate(theta, stats, input, labels, n, folded: true, b);
        double scale = Math.Max(1, a.Max(Math.Abs)), tol = 64 * (2 * cfg.Depth + 2) * (cfg.Block.Inner + 4) * U * scale;
        double diff = a.Zip(b, (x, y) => Math.Abs(x - y)).Max();
        Assert.True(diff <= tol, $"folded vs unfolded logits differ by {diff:G3} > {tol:G3}");
        // The comparison is sensitive: folding with one running variance off by 10⁻⁶ (relative) is caught.
        var off = (double[])stats.Clone(); off[3 * cfg.Channels] *= 1 + 1e-6;
        var c2 = new double[n * cfg.Classes];
        net.Evaluate(theta, off, input, labels, n, folded: true, c2);
        Assert.True(a.Zip(c2, (x, y) => Math.Abs(x - y)).Max() > tol, "a perturbed running variance went unnoticed");
    }

    [Fact(DisplayName = "bn-conv init: tied → copies layer 0; iid → does not")]
    public void TiedInitializationCopiesLayerZeroAndIidDoesNot()
    {
        var cfg = Small(ActivationKind.Relu, depth: 4);
        var tied = BnConvNet<float>.Initialize(cfg, BnConvInit.Tied, 3);
        var iid = BnConvNet<float>.Initialize(cfg, BnConvInit.Iid, 3);
        int P = cfg.BlockParameters;
        var (_, g1, _, _, g2, _) = cfg.BlockParts;
        for (int k = 1; k < cfg.Depth; k++)
        {
            Assert.True(tied.AsSpan(cfg.BlockOffset(k), P).SequenceEqual(tied.AsSpan(cfg.BlockOffset(0), P)));
            Assert.False(iid.AsSpan(cfg.BlockOffset(k), P).SequenceEqual(iid.AsSpan(cfg.BlockOffset(0), P)));
        }
        Assert.All(tied.AsSpan(cfg.BlockOffset(2) + g2, cfg.Channels).ToArray(), x => Assert.Equal(0f, x));
        Assert.All(tied.AsSpan(cfg.BlockOffset(2) + g1, cfg.Channels).ToArray(), x => Assert.Equal(1f, x));
    }

    [Fact(DisplayName = "BnConvTrainOptions cosine schedule: 10 epochs at rate 0.04 → the rate at epoch 0, half of it at epoch 5, decreasing")]
    public void CosineScheduleStartsAtTheRateAndHalvesAtMidpoint()
    {
        var o = new BnConvTrainOptions { Config = Small(ActivationKind.Gelu), Epochs = 10, LearningRate = 0.04 };
        Assert.Equal(0.04, o.LearningRateAt(0));
        Assert.True(Math.Abs(o.LearningRateAt(5) - 0.02) <= 4 * U);
        Assert.True(o.LearningRateAt(9) < o.LearningRateAt(8));
    }

    private static ImageSet Synthetic(int count, int side, long seed)
    {
        var rng = new Rng(seed);
        var img = new byte[count * side * side]; var lab = new int[count];
        for (int s = 0; s < count; s++)
        {
            lab[s] = rng.NextInt(4);
            for (int p = 0; p < side * side; p++) img[s * side * side + p] = (byte)Math.Min(255, rng.NextInt(128) + (p % (lab[s] + 2) == 0 ? 120 : 0));
        }
        return new ImageSet(img, lab, side);
    }

    [Fact(DisplayName = "bn-conv checkpoint: resumed run → bits of an uninterrupted run")]
    public void ResumingFromACheckpointGivesTheBitsOfAnUninterruptedRun()
    {
        var o = new BnConvTrainOptions { Config = Small(ActivationKind.Gelu) with { Depth = 4 }, Init = BnConvInit.Tied, Epochs = 3, Batch = 7, LearningRate = 0.05, Seed = 11 };
        var train = Synthetic(30, 8, 1); var test = Synthetic(12, 8, 2);
        var whole = BnConvTrainer.Start(o);
        BnConvTrainer.Train(o, train, test, whole);
        Assert.Equal(3, whole.EpochsDone);

        var dir = Directory.CreateTempSubdirectory("bnconv-");
        try
        {
            var path = Path.Combine(dir.FullName, "ckpt");
            string fp = o.Fingerprint(train.Count, test.Count);
            // a file of the user's beside the checkpoint, named as a temporary file might be, is never touched
            File.WriteAllText(path + ".tmp", "the user's notes");
            var first = BnConvTrainer.Start(o);
            BnConvTrainer.Train(o, train, test, first, st => BnConvTrainer.SaveCheckpoint(path, fp, st), stopAfter: 1);
            Assert.Equal(1, first.EpochsDone);
            Assert.True(BnConvTrainer.IsCheckpoint(path));
            Assert.Equal("the user's notes", File.ReadAllText(path + ".tmp"));
            var resumed = BnConvTrainer.LoadCheckpoint(path, fp, o.Config);
            BnConvTrainer.Train(o, train, test, resumed);
            Assert.Equal(whole.Theta, resumed.Theta);
            Assert.Equal(whole.Velocity, resumed.Velocity);
            Assert.Equal(whole.Statistics, resumed.Statistics);
            Assert.Equal(whole.Epochs.Select(e => (e.TrainLoss, e.TestAccuracy)), resumed.Epochs.Select(e => (e.TrainLoss, e.TestAccuracy)));
            // Training moved the weights (the comparison above is not between two untouched initializations).
            Assert.NotEqual(BnConvTrainer.Start(o).Theta, whole.Theta);
            // A checkpoint of other settings is refused.
            var other = o with { Seed = 12 };
            Assert.Throws<ArgumentException>(() => BnConvTrainer.LoadCheckpoint(path, other.Fingerprint(train.Count, test.Count), o.Config));
        }
        finally { dir.Delete(recursive: true); }
    }
}
