using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using ResOdeProofs.Numerics.IO;
using ResOdeProofs.Numerics.Blocks;
using ResOdeProofs.Numerics.Model;

namespace ResOdeProofs.Numerics.BnConv;

/// <summary>
/// A finished run of `train --arch bn-conv` read back: its settings, trained parameters and running statistics, and
/// the images it was trained and tested on (Fashion-MNIST, the same first N images), for checks that recompute what
/// run.json claims. The images are read once per run object (the first <see cref="Data"/> call), however many checks
/// use them.
/// </summary>
public sealed class BnConvRun
{
    public required string Directory { get; init; }
    public required JsonNode Json { get; init; }
    public required BnConvConfig Config { get; init; }
    public required float[] Theta { get; init; }
    public required double[] Statistics { get; init; }
    public required int TrainSize { get; init; }
    public required int TestSize { get; init; }
    public required int Batch { get; init; }
    public string Init => Json["init"]?.GetValue<string>() ?? "?";

    /// <summary>True when <paramref name="dir"/> holds a run written by `train --arch bn-conv` (run.json "kind": "bn-conv").</summary>
    public static bool IsRun(string dir)
    {
        var p = Path.Combine(dir, "run.json");
        // an empty run.json, a named pipe or a device is not a bn-conv run (and a pipe would block the read): the reader of
        // the MLP's format says what is wrong with it
        if (!File.Exists(p) || new FileInfo(p).Length == 0) return false;
        try { return JsonNode.Parse(File.ReadAllText(p))?["kind"]?.GetValue<string>() == "bn-conv"; }
        catch (Exception e) when (e is System.Text.Json.JsonException or InvalidOperationException or FormatException or ArgumentException) { return false; }
    }

    /// <summary>Reads run.json, params.npy and statistics.npy; a malformed run is a RunFormatException naming the file.</summary>
    public static BnConvRun Load(string dir)
    {
        var path = Path.Combine(dir, "run.json");
        JsonNode j;
        try { j = JsonNode.Parse(File.ReadAllText(path)) ?? throw new RunFormatException($"{path}: empty"); }
        catch (System.Text.Json.JsonException e) { throw new RunFormatException($"{path}: not JSON ({e.Message})"); }
        try
        {
            // each field of the network's shape named with the kind it must be, before any file is read against it
            int Positive(string key)
            {
                var node = j[key] ?? throw new RunFormatException($"{path}: \"{key}\" is missing (a positive integer)");
                if (node is not JsonValue v || !v.TryGetValue<int>(out int x) || x < 1)
                    throw new RunFormatException($"{path}: \"{key}\" is {node.ToJsonString()}, not a positive integer");
                return x;
            }
            var act = j["activation"] is JsonValue av && av.TryGetValue<string>(out var an) ? an
                : throw new RunFormatException($"{path}: \"activation\" is {(j["activation"] is null ? "missing" : j["activation"]!.ToJsonString())}, not a string (identity, gelu, relu, …)");
            var cfg = new BnConvConfig { Depth = Positive("depth"), Channels = Positive("channels"), Activation = Activations.Parse(act) };
            var theta = Npy.Read(Path.Combine(dir, "params.npy"), $"parameters ({cfg.ParameterCount},) of run.json's depth {cfg.Depth} and channels {cfg.Channels}", cfg.ParameterCount).Data.Select(x => (float)x).ToArray();
            var stats = Npy.Read(Path.Combine(dir, "statistics.npy"), $"running statistics ({cfg.StatisticsCount},) of run.json's depth {cfg.Depth} and channels {cfg.Channels}", cfg.StatisticsCount).Data;
            // running means finite, running variances finite and not negative (batch norm divides by √(var + ε)): a
            // statistics.npy that breaks this is refused naming the entry, not evaluated into states that are not numbers
            for (int b = 0; b < 1 + 2 * cfg.Depth; b++)
                for (int c = 0; c < cfg.Channels; c++)
                {
                    int im = 2 * b * cfg.Channels + c, iv = (2 * b + 1) * cfg.Channels + c;
                    if (!double.IsFinite(stats[im]))
                        throw new RunFormatException($"{Path.Combine(dir, "statistics.npy")}: entry {im} (a running mean) is {stats[im].ToString(CultureInfo.InvariantCulture)}, not a finite number");
                    if (!double.IsFinite(stats[iv]) || stats[iv] < 0)
                        throw new RunFormatException($"{Path.Combine(dir, "statistics.npy")}: entry {iv} (a running variance) is {stats[iv].ToString(CultureInfo.InvariantCulture)}, not a finite number ≥ 0");
                }
            var (train, test) = Sizes(j, path);
            return new BnConvRun
            {
                Directory = dir, Json = j, Config = cfg, Theta = theta, Statistics = stats, TrainSize = train, TestSize = test,
                Batch = j["optimizer"]?["batch"]?.GetValue<int>() ?? 64,
            };
        }
        catch (Exception e) when (e is NullReferenceException or InvalidOperationException or FormatException or ArgumentException)
        {
            throw new RunFormatException($"{path}: not a readable bn-conv run ({e.Message})");
        }
        catch (NpyFormatException e) { throw new RunFormatException($"{dir}: {e.Message}"); }
    }

    /// <summary>The image counts: run.json "train_size"/"test_size", or (runs written before those keys) the data sentence.</summary>
    private static (int Train, int Test) Sizes(JsonNode j, string path)
    {
        if (j["train_size"] is JsonNode a && j["test_size"] is JsonNode b) return (a.GetValue<int>(), b.GetValue<int>());
        var m = Regex.Match(j["data"]?.GetValue<string>() ?? "", @"first (\d+) training and (\d+) test images");
        if (!m.Success) throw new RunFormatException($"{path}: the training and test image counts are not recorded (train_size, test_size)");
        return (int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture), int.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture));
    }

    /// <summary>The run's training and test images (Fashion-MNIST from <paramref name="dataDir"/> or the default place).</summary>
    public (ImageSet Train, ImageSet Test) Data(string? dataDir)
    {
        lock (_data)
        {
            if (_data.TryGetValue(dataDir ?? "", out var d)) return d;
            string? read = dataDir ?? Json["data_dir"]?.GetValue<string>();
            var (train, test) = ImageSet.FashionMnist(read);
            DataReads++;
            var sets = (train.Take(TrainSize), test.Take(TestSize));
            // a run records the images it was trained and evaluated on (train_sha256, test_sha256; runs before 2026-12-06
            // do not): other images (another data directory, changed files) are refused, not recounted
            foreach (var (key, set, what) in new[] { ("train_sha256", sets.Item1, "training"), ("test_sha256", sets.Item2, "test") })
            {
                if (Json[key]?.GetValue<string>() is string recorded && recorded != set.Checksum())
                    throw new RunFormatException(
                        $"{Directory}/run.json: the first {set.Count} {what} images read from {read ?? Idx.FashionMnistDefaultDir} are not the ones this run " +
                        $"was trained on ({key} differs): give the data directory it was trained with (run.json's data_dir, train's --data-dir)");
            }
            return _data[dataDir ?? ""] = sets;
        }
    }

    private readonly Dictionary<string, (ImageSet, ImageSet)> _data = new();

    /// <summary>How many times this run read the image files (once per data directory asked for).</summary>
    public int DataReads { get; private set; }

    /// <summary>Test images the folded network is evaluated on (its states after the stem are the samples h₀).</summary>
    public const int FoldedSamples = 2;

    /// <summary>
    /// The trained network with batch norm folded into its convolutions, as run data of conv blocks (one snapshot: the
    /// trained parameters; inputs: the states h₀ after the stem of the first <see cref="FoldedSamples"/> test images),
    /// with the block, its parameters and h₀ for the half-depth results.
    /// </summary>
    public FoldedNetwork Folded(string? dataDir = null)
    {
        var cfg = Config;
        var (train, test) = Data(dataDir);
        var (mean, std) = BnConvTrainer.PixelMoments(train);
        int n = Math.Min(FoldedSamples, test.Count), px = cfg.InputSide * cfg.InputSide;
        var images = new float[n * px];
        for (int s = 0; s < n; s++) BnConvTrainer.Prepare(test, s, 0, 0, false, mean, std, images.AsSpan(s * px, px));
        var h0 = BnConvFolded.Stem(cfg, Theta, Statistics, images, n);
        var theta = BnConvFolded.Fold(cfg, Theta, Statistics);
        string name = $"{Directory} (trained network, batch norm folded, {n} test images)";
        var block = BnConvFolded.Block(cfg);
        var hyper = new Dictionary<string, double> { ["channels"] = cfg.Channels, ["height"] = cfg.Side, ["width_px"] = cfg.Side };
        int d = block.StateDim;
        var arch = ArchitectureMetadata.Of(block, hyper);
        var meta = new RunMetadata
        {
            Activation = Activations.Name(cfg.Activation), Eta = 1.0, Optimizer = "sgd", Iterations = 0, Depth = cfg.Depth, N = n, D = d, DIn = d, DOut = d,
            Init = new InitMetadata { Kind = Init, Description = "trained bn-conv network, batch norm folded" }, Architecture = arch,
        };
        var data = new RunData
        {
            Directory = name, Meta = meta, Architecture = arch, Block = block, Depth = cfg.Depth, Dim = d,
            Data = new Dataset(n, d, d, h0, new double[h0.Length]), Activation = cfg.Activation, Eta = 1.0,
            Steps = new[] { 0 }, Theta = new[] { theta }, Losses = new[] { 0.0 }, Trace = new Dictionary<string, double[]>(),
        };
        return new FoldedNetwork(name, data, block, theta, cfg.Depth, h0, n);
    }
}

/// <summary>The folded network of a bn-conv run (<see cref="BnConvRun.Folded"/>): as run data, and its parts.</summary>
public sealed record FoldedNetwork(string Name, RunData Run, ConvBlock Block, double[] Theta, int Depth, double[] H0, int Samples);

/// <summary>
/// Evidence for a bn-conv run's accuracies: run.json's claim against the accuracy recomputed from params.npy,
/// statistics.npy and the images, in evaluation mode (batch norm with the running statistics), in batches as the trainer
/// evaluates. The allowance is rounding, and is counted rather than guessed: the images whose predicted class differs
/// between the folded and the unfolded evaluation (equal in real arithmetic, so any difference is rounding).
/// </summary>
public static class BnConvAccuracy
{
    /// <summary>One claim checked: N images, the claimed fraction, the recomputed correct counts, the allowance.</summary>
    public sealed record Check(string Set, int N, double Claimed, int Folded, int Unfolded, int Allowance)
    {
        /// <summary>Images by which the claim differs from the recomputation (folded, as the trainer measures).</summary>
        public double Difference => Math.Abs(Claimed * N - Folded);
        /// <summary>
        /// The claim agrees when it is within the allowance plus 3u·N, u = 2⁻⁵³: the trainer records fl(k/N) (round-trip
        /// exact in run.json), and fl(fl(k/N)·N) is within 2u·k(1 + u) ≤ 3u·N of k (the theory layer's
        /// E.accuracy.train/.test state the same allowance, `Rounding.claimedFractionAllowance`).
        /// </summary>
        public bool Agrees => Difference <= Allowance + 3.0 * 1.1102230246251565e-16 * N;
        public double Recomputed => (double)Folded / N;
        public string Describe() => string.Create(CultureInfo.InvariantCulture,
            $"{Set}: run.json claims {100 * Claimed:F2}% of {N} images, recomputed {100 * Recomputed:F2}% ({Folded} correct; unfolded batch norm {Unfolded}); " +
            $"difference {Difference:G4} images, allowance {Allowance} images (classified differently by the folded and unfolded evaluation) plus 3u·N for the fraction's binary form");
    }

    /// <summary>Both claims of a run: train accuracy in evaluation mode, then test accuracy.</summary>
    public static (Check Train, Check Test) Verify(BnConvRun run, string? dataDir = null)
    {
        var (train, test) = run.Data(dataDir);
        var (mean, std) = BnConvTrainer.PixelMoments(train);
        var final = run.Json["final"] ?? throw new RunFormatException($"{run.Directory}/run.json: \"final\" is missing");
        // batches as the trainer formed them (train: TrainBnConv's final evaluation; test: the trainer's per-epoch one)
        var tr = Count(run, train, mean, std, Math.Min(1000, train.Count));
        var te = Count(run, test, mean, std, Math.Max(Math.Min(run.Batch, train.Count), Math.Min(test.Count, 1000)));
        return (new Check("train accuracy (evaluation mode)", train.Count, final["train_accuracy_eval"]!.GetValue<double>(), tr.Folded, tr.Unfolded, tr.Disagree),
                new Check("test accuracy", test.Count, final["test_accuracy"]!.GetValue<double>(), te.Folded, te.Unfolded, te.Disagree));
    }

    private static (int Folded, int Unfolded, int Disagree) Count(BnConvRun run, ImageSet set, double mean, double std, int nb)
    {
        var cfg = run.Config;
        var net = new BnConvNet<float>(cfg, nb);
        int px = set.Side * set.Side, q = cfg.Classes;
        var input = new float[nb * px]; var labels = new int[nb];
        var zf = new double[nb * q]; var zu = new double[nb * q];
        int folded = 0, unfolded = 0, disagree = 0;
        for (int b0 = 0; b0 < set.Count; b0 += nb)
        {
            int n = Math.Min(nb, set.Count - b0);
            for (int s = 0; s < n; s++) { BnConvTrainer.Prepare(set, b0 + s, 0, 0, false, mean, std, input.AsSpan(s * px, px)); labels[s] = set.Labels[b0 + s]; }
            folded += net.Evaluate(run.Theta, run.Statistics, input.AsSpan(0, n * px), labels.AsSpan(0, n), n, folded: true, zf).Correct;
            unfolded += net.Evaluate(run.Theta, run.Statistics, input.AsSpan(0, n * px), labels.AsSpan(0, n), n, folded: false, zu).Correct;
            for (int s = 0; s < n; s++) if (ArgMax(zf.AsSpan(s * q, q)) != ArgMax(zu.AsSpan(s * q, q))) disagree++;
        }
        return (folded, unfolded, disagree);
    }

    private static int ArgMax(ReadOnlySpan<double> z)
    {
        int a = 0;
        for (int j = 1; j < z.Length; j++) if (z[j] > z[a]) a = j;
        return a;
    }
}
