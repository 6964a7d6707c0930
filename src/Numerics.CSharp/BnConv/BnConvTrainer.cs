using System.Diagnostics;
using System.Globalization;
using System.Text;
using ResOdeProofs.Numerics.IO;
using ResOdeProofs.Numerics.Random;

namespace ResOdeProofs.Numerics.BnConv;

/// <summary>Labelled 28×28 grey images (IDX bytes) for the convolutional experiment.</summary>
public sealed record ImageSet(byte[] Images, int[] Labels, int Side)
{
    public int Count => Labels.Length;

    /// <summary>The first <paramref name="count"/> images (0 or more than there are: all). Fashion-MNIST's files are already in random order.</summary>
    public ImageSet Take(int count)
    {
        if (count <= 0 || count >= Count) return this;
        int px = Side * Side;
        return new ImageSet(Images.AsSpan(0, count * px).ToArray(), Labels[..count], Side);
    }

    /// <summary>The SHA-256 (lower-case hex) of the images' pixels, then their labels as 32-bit little-endian integers, then
    /// the side: what a run records of the images it was trained or evaluated on, so that a verify reading other files
    /// says so instead of recomputing its accuracies on other images.</summary>
    public string Checksum()
    {
        using var h = System.Security.Cryptography.IncrementalHash.CreateHash(System.Security.Cryptography.HashAlgorithmName.SHA256);
        h.AppendData(Images);
        var b = new byte[4];
        foreach (int l in Labels) { System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(b, l); h.AppendData(b); }
        System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(b, Side); h.AppendData(b);
        return Convert.ToHexStringLower(h.GetHashAndReset());
    }

    /// <summary>Fashion-MNIST's training and test sets.</summary>
    public static (ImageSet Train, ImageSet Test) FashionMnist(string? dir = null)
    {
        var f = IO.FashionMnist.Load(dir);
        static ImageSet Of(IdxArray img, IdxArray lab) => new(img.Data, lab.Data.Select(b => (int)b).ToArray(), img.Shape[1]);
        return (Of(f.TrainImages, f.TrainLabels), Of(f.TestImages, f.TestLabels));
    }
}

/// <summary>Everything that fixes a training run of the convolutional network (see <see cref="BnConvTrainer"/>).</summary>
public sealed record BnConvTrainOptions
{
    public required BnConvConfig Config { get; init; }
    public BnConvInit Init { get; init; } = BnConvInit.Tied;
    public int Epochs { get; init; } = 1;
    public int Batch { get; init; } = 64;
    /// <summary>Initial learning rate, decayed by a cosine over the epochs.</summary>
    public double LearningRate { get; init; } = 0.04;
    public double Momentum { get; init; } = 0.9;
    public double WeightDecay { get; init; } = 5e-4;
    /// <summary>Random crops (zero padding 4) and horizontal flips of the training images.</summary>
    public bool Augment { get; init; } = true;
    public long Seed { get; init; }

    public void Validate()
    {
        Config.Validate();
        if (Epochs < 1) throw new ArgumentException("--epochs must be at least 1");
        if (Batch < 1) throw new ArgumentException("--batch must be at least 1");
        if (!(LearningRate > 0) || !double.IsFinite(LearningRate)) throw new ArgumentException("--lr must be a positive number");
        if (!(Momentum >= 0 && Momentum < 1)) throw new ArgumentException("--momentum must lie in [0, 1)");
        if (!(WeightDecay >= 0) || !double.IsFinite(WeightDecay)) throw new ArgumentException("--weight-decay must be a non-negative number");
    }

    /// <summary>The learning rate of epoch e (0-based): η·(1 + cos(π e/E))/2, constant within an epoch.</summary>
    public double LearningRateAt(int epoch) => LearningRate * 0.5 * (1 + PortableMath.Cos(Math.PI * epoch / Epochs));

    /// <summary>A text that changes whenever anything that fixes the run's numbers changes (checked on resume).</summary>
    public string Fingerprint(int trainCount, int testCount) => string.Create(CultureInfo.InvariantCulture,
        $"{Config.Describe()}|init {Init}|epochs {Epochs}|batch {Batch}|lr {LearningRate:R}|momentum {Momentum:R}|wd {WeightDecay:R}|augment {Augment}|seed {Seed}|train {trainCount}|test {testCount}|simd {Model.Simd.Level}|float32");
}

/// <summary>The measurements of one epoch.</summary>
/// <param name="Epoch">0-based epoch index.</param>
/// <param name="LearningRate">The rate used throughout the epoch.</param>
/// <param name="TrainLoss">Mean cross-entropy over the epoch's (augmented, training-mode) batches.</param>
/// <param name="TrainAccuracy">Fraction correct over the same batches.</param>
/// <param name="TestLoss">Mean cross-entropy on the test images after the epoch (evaluation mode, folded).</param>
/// <param name="TestAccuracy">Fraction correct on the test images after the epoch.</param>
/// <param name="Seconds">Wall-clock seconds of the epoch (training and test evaluation).</param>
/// <param name="CpuSeconds">Processor seconds of the process over the epoch (on a loaded machine a better measure of the work than wall-clock time).</param>
/// <param name="SmoothK1">L·max_k ‖K₁^(k+1) − K₁^(k)‖_F after the epoch (Frobenius norm over the kernel's entries; 0 when L = 1).</param>
/// <param name="SmoothK2">The same for K₂.</param>
public sealed record EpochRecord(int Epoch, double LearningRate, double TrainLoss, double TrainAccuracy, double TestLoss, double TestAccuracy, double Seconds,
    double CpuSeconds, double SmoothK1, double SmoothK2);

/// <summary>The state after some epochs: what a checkpoint holds and what a run directory records.</summary>
public sealed class BnConvState
{
    public required float[] Theta { get; init; }
    public required float[] Velocity { get; init; }
    public required double[] Statistics { get; init; }
    public List<EpochRecord> Epochs { get; init; } = new();
    public int EpochsDone => Epochs.Count;
    /// <summary>Why training stopped early because its numbers left the finite ones (an epoch's training loss or a
    /// parameter not finite), or null: the epoch is recorded, no later one runs.</summary>
    public string? Diverged { get; set; }
}

/// <summary>
/// Mini-batch SGD on <see cref="BnConvNet{T}"/> in float32, as the authors train: per epoch a permutation of the
/// training set, batches of B (the last one smaller), each image randomly cropped (zero padding 4) and flipped, pixels
/// p/255 standardized by the training set's mean and standard deviation; then, per batch, with g = ∂loss/∂θ,
/// <code>
/// v ← μ·v + (g + λ·θ),   θ ← θ − η_e·v,   η_e = η·(1 + cos(π e/E))/2 (epoch e of E),
/// </code>
/// (weight decay λ on every parameter, as the library optimizer applies it by default). Test accuracy and loss are
/// taken after each epoch in evaluation mode with batch norm folded into the convolutions; train accuracy and loss are
/// the running means over the epoch's (augmented, training-mode) batches.
/// <para>
/// Reproducibility: epoch e draws its permutation, crops and flips from <see cref="Rng.ForStream"/>(seed, "bn-conv-epoch-e"),
/// so a run resumed from the checkpoint after epoch e computes the same bits as one that never stopped. One thread.
/// </para>
/// </summary>
public static class BnConvTrainer
{
    /// <summary>Initial state from the seed.</summary>
    public static BnConvState Start(BnConvTrainOptions o) => new()
    {
        Theta = BnConvNet<float>.Initialize(o.Config, o.Init, o.Seed),
        Velocity = new float[o.Config.ParameterCount],
        Statistics = BnConvNet<float>.InitialStatistics(o.Config),
    };

    /// <summary>Mean and standard deviation of the pixels p/255 of a set.</summary>
    public static (double Mean, double Std) PixelMoments(ImageSet set)
    {
        double s = 0, s2 = 0;
        foreach (var b in set.Images) { double x = b / 255.0; s += x; s2 += x * x; }
        double n = set.Images.Length, mean = s / n;
        return (mean, Math.Sqrt(Math.Max(s2 / n - mean * mean, 1e-12)));
    }

    /// <summary>
    /// Trains from <paramref name="state"/> (fresh or resumed) until all epochs are done, <paramref name="stopAfter"/>
    /// epochs have been completed in this call, or cancellation (checked between epochs). After each epoch
    /// <paramref name="afterEpoch"/> is called (the checkpoint hook).
    /// </summary>
    public static void Train(BnConvTrainOptions o, ImageSet train, ImageSet test, BnConvState state,
        Action<BnConvState>? afterEpoch = null, int? stopAfter = null, Action<string>? progress = null, CancellationToken cancel = default)
    {
        o.Validate();
        var cfg = o.Config;
        if (train.Side != cfg.InputSide || test.Side != cfg.InputSide) throw new ArgumentException($"images are {train.Side}x{train.Side}, the network takes {cfg.InputSide}x{cfg.InputSide}");
        var (mean, std) = PixelMoments(train);
        int batch = Math.Min(o.Batch, train.Count);
        var net = new BnConvNet<float>(cfg, Math.Max(batch, Math.Min(test.Count, 1000)));
        int px = cfg.InputSide * cfg.InputSide, P = cfg.ParameterCount;
        var input = new float[net.MaxBatch * px]; var labels = new int[net.MaxBatch];
        var grad = new float[P];
        var theta = state.Theta; var vel = state.Velocity;
        int done = 0;
        for (int e = state.EpochsDone; e < o.Epochs; e++)
        {
            if (cancel.IsCancellationRequested || (stopAfter is int limit && done >= limit)) break;
            var sw = Stopwatch.StartNew();
            var cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
            var rng = Rng.ForStream(o.Seed, "bn-conv-epoch-" + e.ToString(CultureInfo.InvariantCulture));
            var perm = Enumerable.Range(0, train.Count).ToArray();
            for (int i = perm.Length - 1; i > 0; i--) { int j = rng.NextInt(i + 1); (perm[i], perm[j]) = (perm[j], perm[i]); }
            float lr = (float)o.LearningRateAt(e), mu = (float)o.Momentum, wd = (float)o.WeightDecay;
            double lossSum = 0; long correct = 0;
            for (int b0 = 0; b0 < train.Count; b0 += batch)
            {
                int n = Math.Min(batch, train.Count - b0);
                for (int s = 0; s < n; s++)
                {
                    int idx = perm[b0 + s];
                    int oy = 0, ox = 0; bool flip = false;
                    if (o.Augment) { oy = rng.NextInt(9) - 4; ox = rng.NextInt(9) - 4; flip = rng.NextInt(2) == 1; }
                    Prepare(train, idx, oy, ox, flip, mean, std, input.AsSpan(s * px, px));
                    labels[s] = train.Labels[idx];
                }
                var (loss, ok) = net.TrainStep(theta, input.AsSpan(0, n * px), labels.AsSpan(0, n), n, grad, state.Statistics);
                lossSum += loss * n; correct += ok;
                for (int i = 0; i < P; i++)
                {
                    float v = mu * vel[i] + (grad[i] + wd * theta[i]);
                    vel[i] = v;
                    theta[i] -= lr * v;
                }
            }
            var (testLoss, testAcc) = Evaluate(net, theta, state.Statistics, test, mean, std, folded: true);
            var (s1, s2) = Smoothness(cfg, theta);
            state.Epochs.Add(new EpochRecord(e, lr, lossSum / train.Count, (double)correct / train.Count, testLoss, testAcc, sw.Elapsed.TotalSeconds,
                (Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalSeconds, s1, s2));
            done++;
            progress?.Invoke(string.Create(CultureInfo.InvariantCulture,
                $"epoch {e + 1}/{o.Epochs}: train loss {lossSum / train.Count:F4} acc {(double)correct / train.Count:P2}, test loss {testLoss:F4} acc {testAcc:P2}, {sw.Elapsed.TotalSeconds:F1} s ({(Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalSeconds:F1} s processor)"));
            // a loss or a parameter that left the finite numbers: stop here (no checkpoint of it: nothing to resume)
            int bad = Array.FindIndex(theta, x => !float.IsFinite(x));
            if (!double.IsFinite(lossSum) || !double.IsFinite(testLoss) || !double.IsFinite(s1) || !double.IsFinite(s2) || bad >= 0)
            {
                state.Diverged =
                    !double.IsFinite(lossSum) ? string.Create(CultureInfo.InvariantCulture, $"the training loss of epoch {e + 1} is {lossSum / train.Count}")
                    : bad >= 0 ? string.Create(CultureInfo.InvariantCulture, $"parameter {bad} is {theta[bad]} after epoch {e + 1}")
                    : !double.IsFinite(testLoss) ? string.Create(CultureInfo.InvariantCulture, $"the test loss after epoch {e + 1} is {testLoss}")
                    : string.Create(CultureInfo.InvariantCulture, $"the kernels' smoothness in depth after epoch {e + 1} is {s1}, {s2}");
                break;
            }
            afterEpoch?.Invoke(state);
        }
    }

    /// <summary>L·max_k ‖K^(k+1) − K^(k)‖_F for the blocks' K₁ and K₂ (the discrete smoothness in depth of the paper's figure 3).</summary>
    public static (double K1, double K2) Smoothness(BnConvConfig cfg, ReadOnlySpan<float> theta)
    {
        var (k1, _, _, k2, _, _) = cfg.BlockParts;
        int kl = cfg.Block.KernelLength;
        double m1 = 0, m2 = 0;
        for (int k = 0; k + 1 < cfg.Depth; k++)
        {
            int a = cfg.BlockOffset(k), b = cfg.BlockOffset(k + 1);
            double d1 = 0, d2 = 0;
            for (int i = 0; i < kl; i++)
            {
                double x = (double)theta[b + k1 + i] - theta[a + k1 + i], y = (double)theta[b + k2 + i] - theta[a + k2 + i];
                d1 += x * x; d2 += y * y;
            }
            m1 = Math.Max(m1, Math.Sqrt(d1)); m2 = Math.Max(m2, Math.Sqrt(d2));
        }
        return (cfg.Depth * m1, cfg.Depth * m2);
    }

    /// <summary>Mean cross-entropy and accuracy of the network in evaluation mode (no augmentation), in batches of at most the network's size.</summary>
    public static (double Loss, double Accuracy) Evaluate(BnConvNet<float> net, float[] theta, double[] stats, ImageSet set, double mean, double std, bool folded)
    {
        int px = set.Side * set.Side, nb = net.MaxBatch;
        var input = new float[nb * px]; var labels = new int[nb];
        double loss = 0; long correct = 0;
        for (int b0 = 0; b0 < set.Count; b0 += nb)
        {
            int n = Math.Min(nb, set.Count - b0);
            for (int s = 0; s < n; s++) { Prepare(set, b0 + s, 0, 0, false, mean, std, input.AsSpan(s * px, px)); labels[s] = set.Labels[b0 + s]; }
            var (l, ok) = net.Evaluate(theta, stats, input.AsSpan(0, n * px), labels.AsSpan(0, n), n, folded);
            loss += l * n; correct += ok;
        }
        return (loss / set.Count, (double)correct / set.Count);
    }

    /// <summary>
    /// One standardized input: the image shifted by (oy, ox) with zeros coming in (a 28×28 crop at offset (4 + oy, 4 + ox)
    /// of the image padded by 4), then mirrored left–right when <paramref name="flip"/>.
    /// </summary>
    public static void Prepare(ImageSet set, int index, int oy, int ox, bool flip, double mean, double std, Span<float> dst)
    {
        int side = set.Side;
        var src = set.Images.AsSpan(index * side * side, side * side);
        float zero = (float)(-mean / std), inv = (float)(1.0 / (255.0 * std)), shift = (float)(-mean / std);
        for (int i = 0; i < side; i++)
            for (int j = 0; j < side; j++)
            {
                int si = i + oy, sj = (flip ? side - 1 - j : j) + ox;
                dst[i * side + j] = si < 0 || si >= side || sj < 0 || sj >= side ? zero : src[si * side + sj] * inv + shift;
            }
    }

    // ---------------------------------------------------------------- checkpoints

    private const string Magic = "resode bn-conv checkpoint 1";

    /// <summary>Writes the state after its last epoch to <paramref name="path"/> atomically (temporary file, then rename).</summary>
    public static void SaveCheckpoint(string path, string fingerprint, BnConvState st)
    {
        // a fresh temporary opened with CreateNew (a file that happens to exist beside the checkpoint is never truncated),
        // renamed over the checkpoint when complete, deleted on a failure, listed while it exists
        InFlightFiles.WriteThrough(path, fs =>
        {
            using var w = new BinaryWriter(fs, Encoding.UTF8, leaveOpen: true);
            w.Write(Magic); w.Write(fingerprint);
            WriteArray(w, st.Theta); WriteArray(w, st.Velocity);
            w.Write(st.Statistics.Length); foreach (var x in st.Statistics) w.Write(x);
            w.Write(st.Epochs.Count);
            foreach (var r in st.Epochs) { w.Write(r.Epoch); w.Write(r.LearningRate); w.Write(r.TrainLoss); w.Write(r.TrainAccuracy); w.Write(r.TestLoss); w.Write(r.TestAccuracy); w.Write(r.Seconds); w.Write(r.CpuSeconds); w.Write(r.SmoothK1); w.Write(r.SmoothK2); }
        });
    }

    /// <summary>True when <paramref name="path"/> starts like a checkpoint written by <see cref="SaveCheckpoint"/>.</summary>
    public static bool IsCheckpoint(string path)
    {
        try { using var r = new BinaryReader(File.OpenRead(path), Encoding.UTF8); return r.ReadString() == Magic; }
        catch (Exception e) when (e is IOException or EndOfStreamException or UnauthorizedAccessException) { return false; }
    }

    /// <summary>Reads a checkpoint; throws <see cref="ArgumentException"/> when it belongs to other settings or is damaged.</summary>
    public static BnConvState LoadCheckpoint(string path, string fingerprint, BnConvConfig cfg)
    {
        try
        {
            using var r = new BinaryReader(File.OpenRead(path), Encoding.UTF8);
            if (r.ReadString() != Magic) throw new ArgumentException($"{path} is not a bn-conv checkpoint");
            var fp = r.ReadString();
            if (fp != fingerprint) throw new ArgumentException($"{path} is a checkpoint of other settings ({fp}); remove it or choose another --out");
            var theta = ReadArray(r, cfg.ParameterCount, path); var vel = ReadArray(r, cfg.ParameterCount, path);
            int ns = r.ReadInt32();
            if (ns != cfg.StatisticsCount) throw new ArgumentException($"{path}: damaged checkpoint (statistics)");
            var stats = new double[ns];
            for (int i = 0; i < ns; i++) stats[i] = r.ReadDouble();
            int ne = r.ReadInt32();
            var epochs = new List<EpochRecord>();
            for (int i = 0; i < ne; i++)
                epochs.Add(new EpochRecord(r.ReadInt32(), r.ReadDouble(), r.ReadDouble(), r.ReadDouble(), r.ReadDouble(), r.ReadDouble(), r.ReadDouble(), r.ReadDouble(), r.ReadDouble(), r.ReadDouble()));
            return new BnConvState { Theta = theta, Velocity = vel, Statistics = stats, Epochs = epochs };
        }
        catch (EndOfStreamException) { throw new ArgumentException($"{path}: damaged checkpoint (truncated); remove it to start over"); }
    }

    private static void WriteArray(BinaryWriter w, float[] a) { w.Write(a.Length); foreach (var x in a) w.Write(x); }

    private static float[] ReadArray(BinaryReader r, int expected, string path)
    {
        int n = r.ReadInt32();
        if (n != expected) throw new ArgumentException($"{path}: damaged checkpoint ({n} parameters, expected {expected})");
        var a = new float[n];
        for (int i = 0; i < n; i++) a[i] = r.ReadSingle();
        return a;
    }
}
