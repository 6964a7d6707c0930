using ResOdeProofs.Numerics.Blocks;
using ResOdeProofs.Numerics.Model;

namespace ResOdeProofs.Numerics.BnConv;

/// <summary>
/// A trained <see cref="BnConvNet{T}"/> in evaluation mode, rewritten as a residual network of the generic
/// <see cref="ConvBlock"/>: with every batch norm folded into the convolution before it (running statistics r_μ, r_σ²),
/// <code>
/// bn₂(conv₂(σ(bn₁(conv₁ h)))) = K₂' ∗ σ(K₁' ∗ h + b₁') + b₂',   K' = (γ/√(r_σ² + ε))·K,   b' = β − γ·r_μ/√(r_σ² + ε),
/// </code>
/// which is exactly f(θ_k, h) of the conv block with θ_k = (K₁', b₁', K₂', b₂'). Everything here is float64 and written
/// independently of the training engine's kernels: the stem by its defining sum, the blocks by <see cref="Conv2dSame"/>
/// (per image, C×H×W row-major), so that comparing with <see cref="BnConvNet{T}.Evaluate"/> checks both.
/// </summary>
public static class BnConvFolded
{
    /// <summary>The conv block the folded residual branches are (C channels on the side×side states).</summary>
    public static ConvBlock Block(BnConvConfig cfg) => new(cfg.Channels, cfg.Side, cfg.Side, cfg.Activation);

    /// <summary>θ of the folded network, layer after layer in the conv block's order (K₁', b₁', K₂', b₂'), L·P entries.</summary>
    public static double[] Fold(BnConvConfig cfg, ReadOnlySpan<float> theta, ReadOnlySpan<double> stats)
    {
        if (theta.Length != cfg.ParameterCount) throw new ArgumentException($"θ has {theta.Length} entries, expected {cfg.ParameterCount}");
        if (stats.Length != cfg.StatisticsCount) throw new ArgumentException($"running statistics have {stats.Length} entries, expected {cfg.StatisticsCount}");
        int c = cfg.Channels, kl = cfg.Block.KernelLength, per = kl / c, P = 2 * (kl + c), L = cfg.Depth;
        var (pk1, pg1, pb1, pk2, pg2, pb2) = cfg.BlockParts;
        var outp = new double[(long)L * P];
        for (int k = 0; k < L; k++)
        {
            var th = theta.Slice(cfg.BlockOffset(k), cfg.BlockParameters);
            var dst = outp.AsSpan(k * P, P);
            FoldOne(th.Slice(pk1, kl), th.Slice(pg1, c), th.Slice(pb1, c), stats, 1 + 2 * k, c, per, dst.Slice(0, kl), dst.Slice(kl, c));
            FoldOne(th.Slice(pk2, kl), th.Slice(pg2, c), th.Slice(pb2, c), stats, 2 + 2 * k, c, per, dst.Slice(kl + c, kl), dst.Slice(2 * kl + c, c));
        }
        return outp;
    }

    private static void FoldOne(ReadOnlySpan<float> kernel, ReadOnlySpan<float> gamma, ReadOnlySpan<float> beta, ReadOnlySpan<double> stats, int bn,
        int c, int per, Span<double> k, Span<double> b)
    {
        for (int o = 0; o < c; o++)
        {
            var (scale, shift) = BatchNorm.EvalAffine(gamma[o], beta[o], stats[2 * bn * c + o], stats[(2 * bn + 1) * c + o]);
            for (int i = 0; i < per; i++) k[o * per + i] = scale * kernel[o * per + i];
            b[o] = shift;
        }
    }

    /// <summary>
    /// The states after the stem, h₀ = relu(bn(stem ∗ x)) in evaluation mode, for n standardized images (n × side_in²,
    /// one after another), as n × (C·side·side) per-image C×H×W rows. The stem convolution by its defining sum.
    /// </summary>
    public static double[] Stem(BnConvConfig cfg, ReadOnlySpan<float> theta, ReadOnlySpan<double> stats, ReadOnlySpan<float> images, int n)
    {
        var s = cfg.Stem;
        int c = cfg.Channels, side = cfg.Side, plane = side * side, inSide = cfg.InputSide, ci = cfg.InputChannels, kk = s.Kernel;
        if (images.Length != n * ci * inSide * inSide) throw new ArgumentException("images of the wrong size");
        var h = new double[(long)n * c * plane];
        for (int img = 0; img < n; img++)
            for (int o = 0; o < c; o++)
            {
                var (scale, shift) = BatchNorm.EvalAffine(theta[s.KernelLength + o], theta[s.KernelLength + c + o], stats[o], stats[c + o]);
                for (int i = 0; i < side; i++)
                    for (int j = 0; j < side; j++)
                    {
                        double acc = 0;
                        for (int ch = 0; ch < ci; ch++)
                            for (int a = 0; a < kk; a++)
                            {
                                int y = i * s.Stride + a - s.Pad;
                                if ((uint)y >= (uint)inSide) continue;
                                for (int e = 0; e < kk; e++)
                                {
                                    int x = j * s.Stride + e - s.Pad;
                                    if ((uint)x >= (uint)inSide) continue;
                                    // channel-major input: channel ch of image img
                                    acc += (double)theta[((o * ci + ch) * kk + a) * kk + e] * images[((ch * n + img) * inSide + y) * inSide + x];
                                }
                            }
                        h[(long)img * c * plane + o * plane + i * side + j] = Math.Max(0.0, scale * acc + shift);
                    }
            }
        return h;
    }

    /// <summary>
    /// Runs the folded residual network from the states h₀ (n × d) through the layers k = 0, stride, 2·stride, … with step
    /// stride·<paramref name="stepScale"/>/L: stride 1 and scale 1 is the network itself, h_{k+1} = h_k + (1/L) f(θ_k, h_k);
    /// stride 2 is the network of every second layer at step 2/L. Returns the states after every evaluated layer
    /// ((count + 1) × n × d, the first being h₀).
    /// </summary>
    public static double[][] Forward(ConvBlock block, ReadOnlySpan<double> theta, int depth, ReadOnlySpan<double> h0, int n, int stride = 1, double stepScale = 1.0)
    {
        if (stride < 1 || depth % stride != 0) throw new ArgumentException($"stride {stride} does not divide the depth {depth}");
        int d = block.StateDim, P = block.ParameterCount;
        double step = stride * stepScale / depth;
        var states = new double[depth / stride + 1][];
        states[0] = h0.ToArray();
        var f = new double[n * d]; var cache = new double[block.CacheSize(n)];
        for (int j = 0; j < depth / stride; j++)
        {
            var h = states[j];
            block.Forward(theta.Slice(j * stride * P, P), h, f, cache, n);
            var next = new double[n * d];
            for (int i = 0; i < next.Length; i++) next[i] = h[i] + step * f[i];
            states[j + 1] = next;
        }
        return states;
    }
}
