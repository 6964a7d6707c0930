namespace ResOdeProofs.Numerics.Blocks;

/// <summary>
/// The convolutional residual block of the paper's CIFAR experiment (without batch norm):
/// <code>
/// f(θ, h) = K₂ ∗ σ(K₁ ∗ h + b₁) + b₂,   θ = (K₁, b₁, K₂, b₂),
/// </code>
/// with K₁, K₂ ∈ R^{C×C×3×3} same-padding 3×3 convolutions (<see cref="Conv2dSame"/>) and per-channel biases
/// b₁, b₂ ∈ R^C, on states h ∈ R^{C·H·W} (row-major C×H×W). θ is stored as K₁ (C·C·9), b₁ (C), K₂ (C·C·9), b₂ (C).
/// Cache per batch of n: the pre-activations u = K₁∗h + b₁ and a = σ(u), then σ'(u) (3·n·d doubles).
/// <para>
/// Backward, for output adjoints p: ∇_{K₂,b₂} = Σ_i grad(a_i, p_i); q = K₂ᵀ p; r = σ'(u) ⊙ q;
/// ∇_{K₁,b₁} = Σ_i grad(h_i, r_i); gradH = K₁ᵀ r (see <see cref="Conv2dSame"/> for grad and the adjoint).
/// </para>
/// <para>
/// One instance holds a scratch buffer for r (grown once to the largest batch seen), so an instance must not run
/// <see cref="Backward"/> on two threads at once; nothing allocates after the first call at a given batch size.
/// </para>
/// </summary>
public sealed class ConvBlock : IResidualBlock, IPartOperatorNorm, IPreActivationRange
{
    // per thread, not per instance: one block instance is evaluated by several passes at once (a run's snapshots in parallel)
    [ThreadStatic] private static double[]? t_scratch;

    /// <summary>A block on C×H×W states with activation σ.</summary>
    public ConvBlock(int channels, int height, int width, ActivationKind activation)
    {
        if (channels < 1 || height < 1 || width < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(channels), "channels, height and width must be positive.");
        }
        Channels = channels;
        Height = height;
        Width = width;
        Activation = activation;
        _stateDim = BlockSizes.Checked((long)channels * height * width, $"a conv block with C = {channels}, H = {height}, W = {width} has a state of C·H·W entries");
        BlockSizes.Checked(2 * (9L * channels * channels + channels), $"a conv block with C = {channels} has 2(9C² + C) parameters per layer");
        KernelLength = Conv2dSame.KernelSize(channels, channels);
        ParameterLayout = new (string, int[])[]
        {
            ("K1", new[] { channels, channels, 3, 3 }),
            ("b1", new[] { channels }),
            ("K2", new[] { channels, channels, 3, 3 }),
            ("b2", new[] { channels }),
        };
    }

    /// <summary>Number of channels C.</summary>
    public int Channels { get; }

    /// <summary>Image height H.</summary>
    public int Height { get; }

    /// <summary>Image width W.</summary>
    public int Width { get; }

    /// <summary>Entries of one kernel, C·C·9.</summary>
    public int KernelLength { get; }

    /// <inheritdoc />
    public string Name => "conv";

    /// <inheritdoc />
    private readonly int _stateDim;
    public int StateDim => _stateDim;

    /// <inheritdoc />
    public int ParameterCount => 2 * (KernelLength + Channels);

    /// <inheritdoc />
    public IReadOnlyList<(string Name, int[] Shape)> ParameterLayout { get; }

    /// <inheritdoc />
    public ActivationKind Activation { get; }

    /// <summary>Offsets of K₁, b₁, K₂, b₂ in θ.</summary>
    public (int K1, int B1, int K2, int B2) Offsets => (0, KernelLength, KernelLength + Channels, 2 * KernelLength + Channels);

    /// <inheritdoc />
    public int CacheSize(int n) => 3 * n * StateDim;

    /// <inheritdoc />
    public void Forward(ReadOnlySpan<double> theta, ReadOnlySpan<double> h, Span<double> output, Span<double> cache, int n)
    {
        int d = StateDim, c = Channels;
        CheckTheta(theta);
        var (k1, b1, k2, b2) = Offsets;
        var u = cache.Slice(0, n * d);
        var a = cache.Slice(n * d, n * d);
        var ds = cache.Slice(2 * n * d, n * d);
        Conv2dSame.Forward(theta.Slice(k1, KernelLength), theta.Slice(b1, c), h, u, n, c, c, Height, Width);
        Activations.Evaluate(Activation, u, a, ds);
        Conv2dSame.Forward(theta.Slice(k2, KernelLength), theta.Slice(b2, c), a, output, n, c, c, Height, Width);
    }

    /// <inheritdoc />
    public void Backward(ReadOnlySpan<double> theta, ReadOnlySpan<double> h, ReadOnlySpan<double> cache, ReadOnlySpan<double> p,
        Span<double> gradTheta, Span<double> gradH, int n)
    {
        int d = StateDim, c = Channels;
        CheckTheta(theta);
        if (gradTheta.Length != ParameterCount)
        {
            throw new ArgumentException($"gradTheta has length {gradTheta.Length}, expected {ParameterCount}.", nameof(gradTheta));
        }
        var (k1, b1, k2, b2) = Offsets;
        var a = cache.Slice(n * d, n * d);
        var ds = cache.Slice(2 * n * d, n * d);
        if (t_scratch is null || t_scratch.Length < n * d) t_scratch = new double[n * d];
        var r = t_scratch.AsSpan(0, n * d);
        Conv2dSame.KernelGradient(a, p, gradTheta.Slice(k2, KernelLength), gradTheta.Slice(b2, c), n, c, c, Height, Width);
        Conv2dSame.Adjoint(theta.Slice(k2, KernelLength), p, r, n, c, c, Height, Width);
        for (int i = 0; i < r.Length; i++) r[i] *= ds[i];
        Conv2dSame.KernelGradient(h, r, gradTheta.Slice(k1, KernelLength), gradTheta.Slice(b1, c), n, c, c, Height, Width);
        Conv2dSame.Adjoint(theta.Slice(k1, KernelLength), r, gradH, n, c, c, Height, Width);
    }

    /// <summary>
    /// Kernels K₁, K₂ (parts 0 and 2): the certified Fourier-symbol upper bound on the same-padding operator norm
    /// (<see cref="ConvSpectralNorm.FourierUpperBound"/>); biases (parts 1 and 3): their Euclidean norm.
    /// </summary>
    public double OperatorNormBound(int part, ReadOnlySpan<double> values) => part switch
    {
        0 or 2 => ConvSpectralNorm.FourierUpperBound(values, Channels, Channels, Height, Width).Bound,
        1 or 3 => Norm(values),
        _ => throw new ArgumentOutOfRangeException(nameof(part)),
    };

    /// <summary>3 for the kernels (‖conv_E‖₂ ≤ 3‖E‖_F: each output pixel reads 9 taps, Cauchy–Schwarz over the taps and
    /// each input pixel used by at most 9 outputs), 1 for the biases.</summary>
    public double FrobeniusFactor(int part) => part is 0 or 2 ? 3.0 : 1.0;

    /// <inheritdoc />
    public (double Min, double Max) PreActivationRange(ReadOnlySpan<double> cache, int n)
    {
        var u = cache.Slice(0, n * StateDim);
        double lo = double.PositiveInfinity, hi = double.NegativeInfinity;
        foreach (var x in u) { if (x < lo) lo = x; if (x > hi) hi = x; }
        return (lo, hi);
    }

    private static double Norm(ReadOnlySpan<double> x)
    {
        double s = 0;
        foreach (var v in x) s += v * v;
        return Math.Sqrt(s);
    }

    private void CheckTheta(ReadOnlySpan<double> theta)
    {
        if (theta.Length != ParameterCount)
        {
            throw new ArgumentException($"theta has length {theta.Length}, expected {ParameterCount}.", nameof(theta));
        }
    }
}
