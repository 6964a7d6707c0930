using ResOdeProofs.Numerics.Blocks;
using ResOdeProofs.Numerics.Random;

namespace ResOdeProofs.TestSupport;

/// <summary>How the fixed read-out B of the convolutional model is built (see <see cref="ConvStem.ReadOut"/>).</summary>
public enum ConvReadOutKind
{
    /// <summary>B = R·P: global average pooling P (C×d, per channel) then a fixed Gaussian R (d_out×C, entries N(0, 1/C)). Rank ≤ C.</summary>
    GlobalAveragePool,
    /// <summary>B: a fixed Gaussian d_out×d matrix with entries N(0, 1/d) on the flattened state. Rank d_out (almost surely).</summary>
    Projection,
}

/// <summary>
/// The fixed (untrained) stem and read-out that put 28×28 Fashion-MNIST images into, and out of, the convolutional
/// residual network h_k = h_{k−1} + (1/L) f(θ_k, h_{k−1}) (<see cref="ConvBlock"/>).
/// <para>
/// Stem: pixels p ∈ {0..255} are scaled to x = p/255 ∈ [0, 1]; a 2×2 average pooling gives a 14×14 image; a fixed
/// 3×3 same-padding convolution from 1 to C channels (no bias) with i.i.d. N(0, 1/9) entries drawn from
/// <see cref="Rng.ForStream"/>(seed, "conv-stem") gives h₀ ∈ R^{C·14·14}. The whole stem is linear and fixed, so the
/// data enter the theory only through h₀.
/// </para>
/// <para>
/// Why a 3×3 convolution rather than a 1×1 lift: a 1×1 lift makes every channel of h₀ a multiple of the same pooled
/// image (h₀ lies in a rank-one channel subspace); C different random 3×3 filters give C different local features
/// (smoothed, edge-like) at the same cost. The 1/9 variance keeps E[h₀[c,i,j]²] equal to the mean square of the
/// pixel values in the 3×3 patch, so ‖h₀‖ ≈ √C·‖pooled image‖.
/// </para>
/// <para>
/// Memory: d = C·14·14 (784 for C = 4, the size of a raw image). The engine stores, per layer, the states of all n
/// samples and the block cache (3·n·d for <see cref="ConvBlock"/>): about 4·L·n·d doubles, i.e. 4·64·100·784·8 B ≈ 160 MB
/// at L = 64, n = 100, and 640 MB at the paper's depth L = 256; keep C·H·W·L·n within that budget.
/// </para>
/// </summary>
public sealed class ConvStem
{
    /// <summary>Side of the input images (Fashion-MNIST: 28).</summary>
    public const int InputSide = 28;

    /// <summary>Side after 2×2 average pooling (14).</summary>
    public const int Side = InputSide / 2;

    private readonly double[] _kernel;

    /// <summary>A stem to C channels with its kernel drawn from the seed.</summary>
    public ConvStem(int channels, long seed)
    {
        if (channels < 1) throw new ArgumentOutOfRangeException(nameof(channels), "channels must be positive.");
        Channels = channels;
        Seed = seed;
        _kernel = new double[Conv2dSame.KernelSize(channels, 1)];
        Rng.ForStream(seed, "conv-stem").FillGaussian(_kernel, 1.0 / 3.0);
    }

    /// <summary>Number of channels C of the states.</summary>
    public int Channels { get; }

    /// <summary>Seed of the stem kernel and of the read-out.</summary>
    public long Seed { get; }

    /// <summary>Height H = 14 of the states.</summary>
    public int Height => Side;

    /// <summary>Width W = 14 of the states.</summary>
    public int Width => Side;

    /// <summary>d = C·H·W.</summary>
    public int StateDim => Channels * Side * Side;

    /// <summary>The stem kernel (C×1×3×3, row-major), for the record.</summary>
    public IReadOnlyList<double> Kernel => _kernel;

    /// <summary>One line describing the stem, for run metadata.</summary>
    public string Describe() =>
        $"stem: pixels/255, 2x2 average pooling 28x28 -> 14x14, fixed 3x3 same conv 1 -> {Channels} channels, N(0,1/9) entries, seed {Seed}, stream \"conv-stem\"";

    /// <summary>h₀ (n×C×14×14, row-major) for n images given as n×28×28 bytes (IDX order).</summary>
    public double[] Apply(ReadOnlySpan<byte> images)
    {
        int n = CheckCount(images.Length);
        var pixels = new double[images.Length];
        for (int i = 0; i < images.Length; i++) pixels[i] = images[i] / 255.0;
        return ApplyScaled(pixels, n);
    }

    /// <summary>h₀ (n×C×14×14) for n images given as n×28×28 doubles already in [0, 1].</summary>
    public double[] Apply(ReadOnlySpan<double> images) => ApplyScaled(images, CheckCount(images.Length));

    private double[] ApplyScaled(ReadOnlySpan<double> x, int n)
    {
        var pooled = new double[n * Side * Side];
        for (int s = 0; s < n; s++)
        {
            var img = x.Slice(s * InputSide * InputSide, InputSide * InputSide);
            for (int i = 0; i < Side; i++)
            {
                for (int j = 0; j < Side; j++)
                {
                    int r = 2 * i * InputSide + 2 * j;
                    pooled[(s * Side + i) * Side + j] = 0.25 * (img[r] + img[r + 1] + img[r + InputSide] + img[r + InputSide + 1]);
                }
            }
        }
        var h = new double[n * StateDim];
        Conv2dSame.Forward(_kernel, ReadOnlySpan<double>.Empty, pooled, h, n, 1, Channels, Side, Side);
        return h;
    }

    private static int CheckCount(int length)
    {
        const int size = InputSide * InputSide;
        if (length % size != 0)
        {
            throw new ArgumentException($"image data of length {length} is not a whole number of {InputSide}x{InputSide} images.");
        }
        return length / size;
    }

    /// <summary>
    /// The fixed read-out B as a dense d_out×d matrix (row-major, d = C·14·14), drawn from
    /// <see cref="Rng.ForStream"/>(seed, "conv-readout"). The default for classification is
    /// <see cref="ConvReadOutKind.Projection"/>: global average pooling has rank ≤ C, so with C = 4 &lt; 10 classes
    /// it cannot fit one-hot targets (the loss has a positive floor and no PL inequality can hold), while the
    /// projection has rank d_out.
    /// </summary>
    public double[] ReadOut(int dOut, ConvReadOutKind kind = ConvReadOutKind.Projection)
    {
        if (dOut < 1) throw new ArgumentOutOfRangeException(nameof(dOut), "dOut must be positive.");
        var rng = Rng.ForStream(Seed, "conv-readout");
        int d = StateDim, plane = Side * Side;
        var b = new double[dOut * d];
        switch (kind)
        {
            case ConvReadOutKind.Projection:
                rng.FillGaussian(b, 1.0 / Math.Sqrt(d));
                break;
            case ConvReadOutKind.GlobalAveragePool:
                var r = new double[dOut * Channels];
                rng.FillGaussian(r, 1.0 / Math.Sqrt(Channels));
                for (int o = 0; o < dOut; o++)
                    for (int c = 0; c < Channels; c++)
                        b.AsSpan(o * d + c * plane, plane).Fill(r[o * Channels + c] / plane);
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(kind), kind, "Unknown read-out kind.");
        }
        return b;
    }
}
