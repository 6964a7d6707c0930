using System.Numerics;
using ResOdeProofs.Numerics.Model;
using ResOdeProofs.Numerics.Random;

namespace ResOdeProofs.Numerics.BnConv;

/// <summary>
/// The architecture of the paper's real-data experiment (§5.2 and the authors' public code), sized by one record:
/// a stem (k×k convolution with stride and padding to C channels, batch norm, ReLU), L residual blocks
/// <code>
/// h ← h + (1/L)·bn₂(conv₂(σ(bn₁(conv₁ h)))),   conv₁, conv₂: 3×3, stride 1, padding 1, C → C, no bias,
/// </code>
/// global average pooling and a linear read-out to the classes, trained with the cross-entropy.
/// The convolutions carry no bias: the batch norm that follows each of them has its own shift β.
/// <para>
/// Stem: the authors' CIFAR-10 code takes 3×32×32 images to 16×10×10, i.e. a 5×5 convolution with stride 3 and no
/// padding ((32 − 5)/3 + 1 = 10). For 1×28×28 Fashion-MNIST we pad by 2 first, which is the same map applied to the
/// image centred in a 32×32 frame, so the states are again 16×10×10 and every block has the authors' size.
/// </para>
/// </summary>
public sealed record BnConvConfig
{
    public int InputChannels { get; init; } = 1;
    public int InputSide { get; init; } = 28;
    public int Channels { get; init; } = 16;
    public int StemKernel { get; init; } = 5;
    public int StemStride { get; init; } = 3;
    public int StemPad { get; init; } = 2;
    public int Depth { get; init; } = 8;
    public int Classes { get; init; } = 10;
    public ActivationKind Activation { get; init; } = ActivationKind.Gelu;

    /// <summary>The stem convolution's shape.</summary>
    public ConvShape Stem => new(InputChannels, Channels, StemKernel, StemStride, StemPad, InputSide, InputSide);
    /// <summary>Side of the states after the stem.</summary>
    public int Side => Stem.HOut;
    /// <summary>The blocks' 3×3 convolution shape.</summary>
    public ConvShape Block => new(Channels, Channels, 3, 1, 1, Side, Side);

    /// <summary>Per-block parameter count: K₁, γ₁, β₁, K₂, γ₂, β₂.</summary>
    public int BlockParameters => 2 * (Block.KernelLength + 2 * Channels);
    /// <summary>Offset of block k's parameters in θ.</summary>
    public int BlockOffset(int k) => Stem.KernelLength + 2 * Channels + k * BlockParameters;
    /// <summary>Offset of the read-out W (classes × C), followed by its bias.</summary>
    public int HeadOffset => BlockOffset(Depth);
    /// <summary>All parameters.</summary>
    public int ParameterCount => HeadOffset + Classes * Channels + Classes;
    /// <summary>Running statistics: (mean, var) per channel for the stem and the two batch norms of each block.</summary>
    public int StatisticsCount => 2 * Channels * (1 + 2 * Depth);

    /// <summary>Offsets within one block: K₁, γ₁, β₁, K₂, γ₂, β₂.</summary>
    public (int K1, int G1, int B1, int K2, int G2, int B2) BlockParts
    {
        get
        {
            int kl = Block.KernelLength, c = Channels;
            return (0, kl, kl + c, kl + 2 * c, 2 * kl + 2 * c, 2 * kl + 3 * c);
        }
    }

    /// <summary>One line for run metadata.</summary>
    public string Describe() =>
        $"stem conv {StemKernel}x{StemKernel} stride {StemStride} pad {StemPad} {InputChannels}->{Channels} + batch norm + relu ({InputSide}x{InputSide} -> {Side}x{Side}); " +
        $"{Depth} blocks h <- h + (1/L) bn2(conv2({Activations.Name(Activation)}(bn1(conv1 h)))) with 3x3 convs, no conv bias; average pooling; linear {Channels}->{Classes}; cross-entropy";

    /// <summary>Entries of the activations a training step on <paramref name="batch"/> images stores for the backward pass:
    /// the block inputs h_0..h_L and each block's u₁, a, u₂, (4L + 1)·C·batch·side², all in one array; in 128 bits, so that
    /// a depth or batch near 2³¹ is measured, not wrapped.</summary>
    public Int128 StoredEntries(int batch) => (Int128)(4L * Depth + 1) * Channels * batch * Side * Side;

    public void Validate()
    {
        if (InputChannels < 1 || InputSide < 1 || Channels < 1 || Depth < 1 || Classes < 2 || StemKernel < 1 || StemStride < 1 || StemPad < 0)
            throw new ArgumentException("bn-conv: channels, depth, sizes must be positive and classes at least 2");
        if (Side < 1) throw new ArgumentException($"bn-conv: the stem leaves no pixels ({InputSide}x{InputSide} image, {StemKernel}x{StemKernel} kernel, stride {StemStride}, pad {StemPad})");
    }
}

/// <summary>How the blocks' convolutions are initialized.</summary>
public enum BnConvInit
{
    /// <summary>Layer 0's kernels drawn once and copied to every layer (the paper's smooth, "weight-tied" initialization).</summary>
    Tied,
    /// <summary>Every layer's kernels drawn independently.</summary>
    Iid,
}

/// <summary>
/// The network of <see cref="BnConvConfig"/> with exact reverse-mode gradients in training mode (batch statistics),
/// evaluation with running statistics, unfolded or folded into the convolutions. Parameters θ and running statistics
/// are flat arrays (layouts in <see cref="BnConvConfig"/>); buffers are allocated for the largest batch and reused.
/// One instance is single-threaded.
/// </summary>
public sealed class BnConvNet<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly BnConvConfig _cfg;
    private readonly int _maxN, _plane, _cm;
    // Per layer (stored for backward): block inputs h_k (L+1), conv₁ outputs u₁, activations a, conv₂ outputs u₂.
    private readonly T[] _h, _u1, _a, _u2;
    private readonly T[] _u0, _x, _cols, _gT, _tmp, _tmp2, _dh, _dtmp, _sd;
    private readonly double[] _stemMean, _stemInv, _mean1, _inv1, _mean2, _inv2;
    private readonly double[] _pooled, _logits;

    public BnConvNet(BnConvConfig cfg, int maxBatch)
    {
        cfg.Validate();
        if (maxBatch < 1) throw new ArgumentException("batch size must be positive");
        _cfg = cfg; _maxN = maxBatch;
        int c = cfg.Channels, side = cfg.Side, L = cfg.Depth;
        _plane = side * side;
        if (cfg.StoredEntries(maxBatch) > Array.MaxLength) throw new ArgumentException("bn-conv: the stored activations exceed one array; reduce the depth or the batch");
        _cm = c * maxBatch * _plane;
        _h = new T[(long)(L + 1) * _cm]; _u1 = new T[(long)L * _cm]; _a = new T[(long)L * _cm]; _u2 = new T[(long)L * _cm];
        var stem = cfg.Stem;
        _x = new T[cfg.InputChannels * maxBatch * cfg.InputSide * cfg.InputSide];
        _u0 = new T[_cm];
        int inner = Math.Max(stem.Inner, cfg.Block.Inner);
        long Cols(in ConvShape s) => (long)s.Inner * Math.Min(ConvIm2col.ChunkImages(s), maxBatch) * s.HOut * s.WOut;
        _cols = new T[Math.Max(Cols(stem), Cols(cfg.Block))];
        _gT = new T[inner * c];
        _tmp = new T[_cm]; _tmp2 = new T[_cm]; _dh = new T[_cm]; _dtmp = new T[_cm]; _sd = new T[_cm];
        _stemMean = new double[c]; _stemInv = new double[c];
        _mean1 = new double[L * c]; _inv1 = new double[L * c]; _mean2 = new double[L * c]; _inv2 = new double[L * c];
        _pooled = new double[maxBatch * c]; _logits = new double[maxBatch * cfg.Classes];
    }

    public BnConvConfig Config => _cfg;
    public int MaxBatch => _maxN;

    /// <summary>Fresh parameters: PyTorch's default scheme (uniform ±1/√fan_in for convolutions and the read-out), γ = 1, β = 0, and bn₂'s γ = 0.</summary>
    public static T[] Initialize(BnConvConfig cfg, BnConvInit init, long seed)
    {
        cfg.Validate();
        var rng = Rng.ForStream(seed, "bn-conv-init");
        var theta = new T[cfg.ParameterCount];
        int c = cfg.Channels;
        var stem = cfg.Stem;
        Uniform(rng, theta.AsSpan(0, stem.KernelLength), 1.0 / Math.Sqrt(stem.Inner));
        theta.AsSpan(stem.KernelLength, c).Fill(T.One);
        var (k1, g1, _, k2, _, _) = cfg.BlockParts;
        int kl = cfg.Block.KernelLength; double bound = 1.0 / Math.Sqrt(cfg.Block.Inner);
        for (int k = 0; k < cfg.Depth; k++)
        {
            var blk = theta.AsSpan(cfg.BlockOffset(k), cfg.BlockParameters);
            if (init == BnConvInit.Tied && k > 0) { theta.AsSpan(cfg.BlockOffset(0), cfg.BlockParameters).CopyTo(blk); continue; }
            Uniform(rng, blk.Slice(k1, kl), bound);
            Uniform(rng, blk.Slice(k2, kl), bound);
            blk.Slice(g1, c).Fill(T.One); // β₁ = 0, γ₂ = 0, β₂ = 0 (zero already).
        }
        Uniform(rng, theta.AsSpan(cfg.HeadOffset, cfg.Classes * c + cfg.Classes), 1.0 / Math.Sqrt(c));
        return theta;
    }

    /// <summary>Running statistics at their initial values (mean 0, variance 1).</summary>
    public static double[] InitialStatistics(BnConvConfig cfg)
    {
        var s = new double[cfg.StatisticsCount];
        for (int b = 0; b < 1 + 2 * cfg.Depth; b++) s.AsSpan((2 * b + 1) * cfg.Channels, cfg.Channels).Fill(1.0);
        return s;
    }

    private static void Uniform(Rng rng, Span<T> x, double bound)
    {
        for (int i = 0; i < x.Length; i++) x[i] = T.CreateTruncating((2 * rng.NextDouble() - 1) * bound);
    }

    /// <summary>Statistics of batch norm b (0 = stem, 1 + 2k = block k's bn₁, 2 + 2k = its bn₂): (mean, var).</summary>
    private (Memory<double> Mean, Memory<double> Var) Stats(double[] stats, int b) =>
        (stats.AsMemory(2 * b * _cfg.Channels, _cfg.Channels), stats.AsMemory((2 * b + 1) * _cfg.Channels, _cfg.Channels));

    /// <summary>
    /// One training-mode pass on a batch of n inputs (C_in × n·side² channel-major; for one input channel simply n
    /// images one after another): returns the mean cross-entropy and the number of correct predictions, writes
    /// ∂loss/∂θ into <paramref name="grad"/> (unless empty) and updates the running statistics (unless empty).
    /// </summary>
    public (double Loss, int Correct) TrainStep(ReadOnlySpan<T> theta, ReadOnlySpan<T> input, ReadOnlySpan<int> labels, int n,
        Span<T> grad, double[]? stats)
    {
        var cfg = _cfg;
        CheckBatch(theta, input, labels, n);
        int c = cfg.Channels, L = cfg.Depth, m = n * _plane, cm = c * m;
        var stem = cfg.Stem; var blk = cfg.Block;
        var (pk1, pg1, pb1, pk2, pg2, pb2) = cfg.BlockParts;
        int kl = blk.KernelLength;
        T invL = T.One / T.CreateTruncating(L);
        // Stem.
        var u0 = _u0.AsSpan(0, cm); var h0 = _h.AsSpan(0, cm);
        ConvIm2col.Forward(stem, n, theta[..stem.KernelLength], input, u0, _cols);
        var (sm, sv) = stats is null ? (Memory<double>.Empty, Memory<double>.Empty) : Stats(stats, 0);
        BatchNorm.ForwardTrain<T>(u0, h0, c, m, theta.Slice(stem.KernelLength, c), theta.Slice(stem.KernelLength + c, c), _stemMean, _stemInv, sm.Span, sv.Span);
        for (int i = 0; i < cm; i++) if (!(h0[i] > T.Zero)) h0[i] = T.Zero;
        // Blocks.
        for (int k = 0; k < L; k++)
        {
            var th = theta.Slice(cfg.BlockOffset(k), cfg.BlockParameters);
            var hk = H(k, cm); var hn = H(k + 1, cm);
            var u1 = Layer(_u1, k, cm); var a = Layer(_a, k, cm); var u2 = Layer(_u2, k, cm);
            ConvIm2col.Forward(blk, n, th.Slice(pk1, kl), hk, u1, _cols);
            var (m1, v1) = stats is null ? (Memory<double>.Empty, Memory<double>.Empty) : Stats(stats, 1 + 2 * k);
            BatchNorm.ForwardTrain<T>(u1, _tmp, c, m, th.Slice(pg1, c), th.Slice(pb1, c), _mean1.AsSpan(k * c, c), _inv1.AsSpan(k * c, c), m1.Span, v1.Span);
            VectorActivations.Evaluate<T>(Simd.Level, cfg.Activation, _tmp.AsSpan(0, cm), a, _sd.AsSpan(0, cm));
            ConvIm2col.Forward(blk, n, th.Slice(pk2, kl), a, u2, _cols);
            var (m2, v2) = stats is null ? (Memory<double>.Empty, Memory<double>.Empty) : Stats(stats, 2 + 2 * k);
            BatchNorm.ForwardTrain<T>(u2, _tmp, c, m, th.Slice(pg2, c), th.Slice(pb2, c), _mean2.AsSpan(k * c, c), _inv2.AsSpan(k * c, c), m2.Span, v2.Span);
            hk.CopyTo(hn);
            Kernels.Axpy(invL, _tmp.AsSpan(0, cm), hn); // hn = hk + (1/L)·tmp, entry by entry as before
        }
        var (loss, correct) = Head(theta, H(L, cm), labels, n, out var dLogits);
        if (grad.IsEmpty) return (loss, correct);
        if (grad.Length != cfg.ParameterCount) throw new ArgumentException("gradient buffer of the wrong size");
        // Head backward: logits = W·pooled + b.
        var dh = _dh.AsSpan(0, cm);
        HeadBackward(theta, grad, dLogits, n, dh);
        // Blocks backward: dh holds ∂loss/∂h_{k+1}.
        var tmp = _tmp.AsSpan(0, cm); var tmp2 = _tmp2.AsSpan(0, cm); var dtmp = _dtmp.AsSpan(0, cm); var sd = _sd.AsSpan(0, cm);
        for (int k = L - 1; k >= 0; k--)
        {
            var th = theta.Slice(cfg.BlockOffset(k), cfg.BlockParameters);
            var g = grad.Slice(cfg.BlockOffset(k), cfg.BlockParameters);
            var hk = H(k, cm); var u1 = Layer(_u1, k, cm); var a = Layer(_a, k, cm); var u2 = Layer(_u2, k, cm);
            tmp.Clear();
            Kernels.Axpy(invL, dh, tmp); // tmp = 0 + (1/L)·dh = (1/L)·dh exactly as a product
            BatchNorm.Backward<T>(u2, tmp, dtmp, c, m, th.Slice(pg2, c), _mean2.AsSpan(k * c, c), _inv2.AsSpan(k * c, c), g.Slice(pg2, c), g.Slice(pb2, c));
            tmp2.Clear();
            ConvIm2col.Backward(blk, n, th.Slice(pk2, kl), a, dtmp, g.Slice(pk2, kl), tmp2, _cols, _gT);
            // σ'(bn₁(u₁)), recomputed.
            BatchNorm.ForwardTrain<T>(u1, tmp, c, m, th.Slice(pg1, c), th.Slice(pb1, c), _mean1.AsSpan(k * c, c), _inv1.AsSpan(k * c, c), Span<double>.Empty, Span<double>.Empty);
            VectorActivations.Evaluate<T>(Simd.Level, cfg.Activation, tmp, dtmp, sd);
            FastKernels.MultiplyInPlace<T>(Simd.Level, tmp2, sd);
            BatchNorm.Backward<T>(u1, tmp2, dtmp, c, m, th.Slice(pg1, c), _mean1.AsSpan(k * c, c), _inv1.AsSpan(k * c, c), g.Slice(pg1, c), g.Slice(pb1, c));
            ConvIm2col.Backward(blk, n, th.Slice(pk1, kl), hk, dtmp, g.Slice(pk1, kl), dh, _cols, _gT);
        }
        // Stem backward.
        var h0b = H(0, cm);
        for (int i = 0; i < cm; i++) tmp[i] = h0b[i] > T.Zero ? dh[i] : T.Zero;
        BatchNorm.Backward<T>(u0, tmp, dtmp, c, m, theta.Slice(stem.KernelLength, c), _stemMean, _stemInv,
            grad.Slice(stem.KernelLength, c), grad.Slice(stem.KernelLength + c, c));
        ConvIm2col.Backward(stem, n, theta[..stem.KernelLength], input, dtmp, grad[..stem.KernelLength], Span<T>.Empty, _cols, _gT);
        return (loss, correct);
    }

    /// <summary>
    /// Evaluation mode (running statistics): the mean cross-entropy and correct predictions on a batch, and the logits
    /// (n × classes) into <paramref name="logits"/> when it is not empty. With <paramref name="folded"/> every batch norm
    /// is folded into the convolution before it (<see cref="BatchNorm.Fold"/>), as a deployed network runs.
    /// </summary>
    public (double Loss, int Correct) Evaluate(ReadOnlySpan<T> theta, double[] stats, ReadOnlySpan<T> input, ReadOnlySpan<int> labels, int n,
        bool folded, Span<double> logits = default)
    {
        var cfg = _cfg;
        CheckBatch(theta, input, labels, n);
        if (stats.Length != cfg.StatisticsCount) throw new ArgumentException("running statistics of the wrong size");
        int c = cfg.Channels, L = cfg.Depth, m = n * _plane, cm = c * m;
        var stem = cfg.Stem; var blk = cfg.Block;
        var (pk1, pg1, pb1, pk2, pg2, pb2) = cfg.BlockParts;
        int kl = blk.KernelLength;
        T invL = T.One / T.CreateTruncating(L);
        var h = _h.AsSpan(0, cm); var tmp = _tmp.AsSpan(0, cm); var a = _a.AsSpan(0, cm); var sd = _sd.AsSpan(0, cm);
        var fk = new T[Math.Max(stem.KernelLength, kl)]; var fb = new T[c];
        void ConvBn(in ConvShape s, ReadOnlySpan<T> kernel, ReadOnlySpan<T> gamma, ReadOnlySpan<T> beta, int b, ReadOnlySpan<T> x, Span<T> y)
        {
            var (mean, var) = Stats(stats, b);
            if (folded)
            {
                BatchNorm.Fold(kernel, c, gamma, beta, mean.Span, var.Span, fk.AsSpan(0, kernel.Length), fb);
                ConvIm2col.Forward(s, n, fk.AsSpan(0, kernel.Length), x, y, _cols);
                for (int o = 0; o < c; o++) { var yo = y.Slice(o * m, m); T bo = fb[o]; for (int i = 0; i < m; i++) yo[i] += bo; }
            }
            else
            {
                ConvIm2col.Forward(s, n, kernel, x, _u0, _cols);
                BatchNorm.ForwardEval<T>(_u0.AsSpan(0, cm), y, c, m, gamma, beta, mean.Span, var.Span);
            }
        }
        ConvBn(stem, theta[..stem.KernelLength], theta.Slice(stem.KernelLength, c), theta.Slice(stem.KernelLength + c, c), 0, input, h);
        for (int i = 0; i < cm; i++) if (!(h[i] > T.Zero)) h[i] = T.Zero;
        for (int k = 0; k < L; k++)
        {
            var th = theta.Slice(cfg.BlockOffset(k), cfg.BlockParameters);
            ConvBn(blk, th.Slice(pk1, kl), th.Slice(pg1, c), th.Slice(pb1, c), 1 + 2 * k, h, tmp);
            VectorActivations.Evaluate<T>(Simd.Level, cfg.Activation, tmp, a, sd);
            ConvBn(blk, th.Slice(pk2, kl), th.Slice(pg2, c), th.Slice(pb2, c), 2 + 2 * k, a, tmp);
            for (int i = 0; i < cm; i++) h[i] += invL * tmp[i];
        }
        var r = Head(theta, h, labels, n, out _);
        if (!logits.IsEmpty) _logits.AsSpan(0, n * cfg.Classes).CopyTo(logits);
        return r;
    }

    private Span<T> H(int k, int cm) => _h.AsSpan(k * _cm, cm);
    private Span<T> Layer(T[] store, int k, int cm) => store.AsSpan(k * _cm, cm);

    private void CheckBatch(ReadOnlySpan<T> theta, ReadOnlySpan<T> input, ReadOnlySpan<int> labels, int n)
    {
        if (theta.Length != _cfg.ParameterCount) throw new ArgumentException($"θ has {theta.Length} entries, expected {_cfg.ParameterCount}");
        if (n < 1 || n > _maxN) throw new ArgumentException($"batch of {n}: expected 1..{_maxN}");
        if (input.Length != _cfg.InputChannels * n * _cfg.InputSide * _cfg.InputSide) throw new ArgumentException("input of the wrong size");
        if (labels.Length != n) throw new ArgumentException("one label per input");
        foreach (var y in labels) if ((uint)y >= (uint)_cfg.Classes) throw new ArgumentException($"label {y} outside 0..{_cfg.Classes - 1}");
    }

    /// <summary>Average pooling, logits, softmax cross-entropy (in float64); dLogits = (softmax − onehot)/n.</summary>
    private (double Loss, int Correct) Head(ReadOnlySpan<T> theta, ReadOnlySpan<T> hL, ReadOnlySpan<int> labels, int n, out double[] dLogits)
    {
        int c = _cfg.Channels, q = _cfg.Classes, m = n * _plane, ho = _cfg.HeadOffset;
        for (int ch = 0; ch < c; ch++)
            for (int s = 0; s < n; s++)
            {
                double acc = 0;
                var px = hL.Slice(ch * m + s * _plane, _plane);
                for (int i = 0; i < _plane; i++) acc += double.CreateTruncating(px[i]);
                _pooled[s * c + ch] = acc / _plane;
            }
        dLogits = new double[n * q];
        double loss = 0; int correct = 0;
        for (int s = 0; s < n; s++)
        {
            var z = _logits.AsSpan(s * q, q);
            double max = double.NegativeInfinity; int arg = 0;
            for (int j = 0; j < q; j++)
            {
                double acc = double.CreateTruncating(theta[ho + q * c + j]);
                for (int ch = 0; ch < c; ch++) acc += double.CreateTruncating(theta[ho + j * c + ch]) * _pooled[s * c + ch];
                z[j] = acc;
                if (acc > max) { max = acc; arg = j; }
            }
            double sum = 0;
            for (int j = 0; j < q; j++) sum += PortableMath.Exp(z[j] - max);
            double lse = max + PortableMath.Log(sum);
            loss += lse - z[labels[s]];
            if (arg == labels[s]) correct++;
            for (int j = 0; j < q; j++) dLogits[s * q + j] = (PortableMath.Exp(z[j] - lse) - (j == labels[s] ? 1 : 0)) / n;
        }
        return (loss / n, correct);
    }

    private void HeadBackward(ReadOnlySpan<T> theta, Span<T> grad, double[] dLogits, int n, Span<T> dh)
    {
        int c = _cfg.Channels, q = _cfg.Classes, m = n * _plane, ho = _cfg.HeadOffset;
        for (int j = 0; j < q; j++)
        {
            double gb = 0;
            for (int s = 0; s < n; s++) gb += dLogits[s * q + j];
            grad[ho + q * c + j] = T.CreateTruncating(gb);
            for (int ch = 0; ch < c; ch++)
            {
                double gw = 0;
                for (int s = 0; s < n; s++) gw += dLogits[s * q + j] * _pooled[s * c + ch];
                grad[ho + j * c + ch] = T.CreateTruncating(gw);
            }
        }
        for (int ch = 0; ch < c; ch++)
            for (int s = 0; s < n; s++)
            {
                double dp = 0;
                for (int j = 0; j < q; j++) dp += dLogits[s * q + j] * double.CreateTruncating(theta[ho + j * c + ch]);
                dh.Slice(ch * m + s * _plane, _plane).Fill(T.CreateTruncating(dp / _plane));
            }
    }
}
