using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using ResOdeProofs.Numerics;
using ResOdeProofs.Numerics.BnConv;
using ResOdeProofs.Numerics.IO;
using ResOdeProofs.Numerics.Model;
using ResOdeProofs.Numerics.Training;

namespace ResOdeProofs.Cli;

/// <summary>
/// `resode train --arch bn-conv`: the paper's real-data experiment (convolutional ResNet with batch norm, SGD) on
/// Fashion-MNIST, writing a run directory (run.json with per-epoch accuracies and losses, params.npy, statistics.npy).
/// A checkpoint is kept after every epoch beside the output (.NAME.bn-conv-checkpoint); a rerun of the same command
/// resumes from it and computes the same bits as a run that never stopped; it is removed once the run directory is written.
/// </summary>
internal static class TrainBnConv
{
    /// <summary>The options only this architecture reads.</summary>
    internal sealed record Options(Option<string> Data, Option<string?> DataDir, Option<int> Epochs, Option<int> Batch, Option<double> Lr,
        Option<double> Momentum, Option<double> WeightDecay, Option<int> TrainSize, Option<int> TestSize, Option<string> Augment)
    {
        public static Options AddTo(Command cmd)
        {
            var o = new Options(
                new Option<string>("--data") { Description = "--arch bn-conv: the image data set (fashion-mnist).", DefaultValueFactory = _ => "fashion-mnist" },
                new Option<string?>("--data-dir") { Description = $"--arch bn-conv: directory of the Fashion-MNIST IDX files (default {Idx.FashionMnistDefaultDir}, Debian package {Idx.FashionMnistPackage})." },
                new Option<int>("--epochs") { Description = "--arch bn-conv: epochs of SGD (the cosine schedule spans them).", DefaultValueFactory = _ => 1 },
                new Option<int>("--batch") { Description = "--arch bn-conv: mini-batch size.", DefaultValueFactory = _ => 64 },
                new Option<double>("--lr") { Description = "--arch bn-conv: initial learning rate η (cosine decay to 0 over the epochs).", DefaultValueFactory = _ => 0.04 },
                new Option<double>("--momentum") { Description = "--arch bn-conv: SGD momentum μ.", DefaultValueFactory = _ => 0.9 },
                new Option<double>("--weight-decay") { Description = "--arch bn-conv: weight decay λ (on every parameter).", DefaultValueFactory = _ => 5e-4 },
                new Option<int>("--train-size") { Description = "--arch bn-conv: use the first N training images (0: all 60 000).", DefaultValueFactory = _ => 0 },
                new Option<int>("--test-size") { Description = "--arch bn-conv: use the first N test images (0: all 10 000).", DefaultValueFactory = _ => 0 },
                new Option<string>("--augment") { Description = "--arch bn-conv: crop-flip (random crops with zero padding 4 and horizontal flips) or none.", DefaultValueFactory = _ => "crop-flip" });
            foreach (var opt in new Option[] { o.Data, o.DataDir, o.Epochs, o.Batch, o.Lr, o.Momentum, o.WeightDecay, o.TrainSize, o.TestSize, o.Augment }) cmd.Options.Add(opt);
            return o;
        }
    }

    /// <summary>`train` options that mean nothing for this architecture: giving one is an error, not silently ignored.</summary>
    private static readonly HashSet<string> NotApplicable = new()
    {
        "--x", "--y", "--a", "--b", "--n", "--d", "--w0", "--v0", "--width", "--scale", "--v-scale", "--modes", "--eta", "--iters", "--clip",
        "--snapshots", "--float32", "--inject-fault", "--checkpoint", "--horizon", "--rtol", "--atol", "--scales", "--height", "--width-px",
    };

    private static readonly HashSet<string> OnlyForBnConv = new() { "--data", "--data-dir", "--epochs", "--batch", "--lr", "--momentum", "--weight-decay", "--train-size", "--test-size", "--augment" };

    /// <summary>Options given on the command line (not defaulted) among <paramref name="names"/>.</summary>
    private static List<string> Given(ParseResult pr, HashSet<string> names) =>
        pr.CommandResult.Children.OfType<OptionResult>().Where(r => !r.Implicit && names.Contains(r.Option.Name)).Select(r => r.Option.Name).ToList();

    /// <summary>For this architecture: the `train` options given that it does not read, as a refusal message, or null.</summary>
    public static string? RefuseNotApplicable(ParseResult pr) =>
        Given(pr, NotApplicable) is { Count: > 0 } bad ? $"{string.Join(", ", bad)} do{(bad.Count == 1 ? "es" : "")} not apply to --arch bn-conv" : null;

    /// <summary>For the other architectures: the bn-conv options given, as a refusal message, or null.</summary>
    public static string? RefuseForOtherArch(ParseResult pr, string arch) =>
        Given(pr, OnlyForBnConv) is { Count: > 0 } g ? $"{string.Join(", ", g)} appl{(g.Count == 1 ? "ies" : "y")} to --arch bn-conv only, not to --arch {arch}" : null;

    /// <summary>
    /// The setting of a `train --arch bn-conv` command line as train checks it before any work (the options it does not
    /// read, the data set, optimizer, threads, init, augmentation, the network and the SGD options, the sizes): the
    /// refusal (null when it passes) with the network and the options. A study checks its bn-conv cells with it when it is
    /// read, so that a setting train would refuse stops the study before any cell runs.
    /// </summary>
    internal static (string? Refusal, BnConvConfig Config, BnConvTrainOptions Options) Setting(ParseResult pr, Options o, Option<int> depth, Option<string> act,
        Option<string> init, Option<long> seed, Option<int> channels, Option<int?> threads, Option<string> optimizer)
    {
        try
        {
            if (RefuseNotApplicable(pr) is string refusal) return (refusal, null!, null!);
            if (!string.Equals(pr.GetValue(o.Data), "fashion-mnist", StringComparison.OrdinalIgnoreCase)) return ($"unknown --data '{pr.GetValue(o.Data)}': fashion-mnist (CIFAR-10 is not installable here)", null!, null!);
            var optName = pr.GetResult(optimizer) is { Implicit: false } ? pr.GetValue(optimizer) : "sgd";
            if (!string.Equals(optName, "sgd", StringComparison.OrdinalIgnoreCase)) return ($"--arch bn-conv trains with --optimizer sgd (mini-batch SGD with momentum), not '{optName}'", null!, null!);
            if (pr.GetValue(threads) is int t && t != 1) return ("--arch bn-conv runs on one thread (--threads 1); run two cells at once to use two cores", null!, null!);
            var initKind = pr.GetValue(init)?.ToLowerInvariant() switch
            {
                "tied" => BnConvInit.Tied, "iid" => BnConvInit.Iid,
                var other => throw new ArgumentException($"--arch bn-conv: --init tied or iid, not '{other}'"),
            };
            bool augment = pr.GetValue(o.Augment)?.ToLowerInvariant() switch
            {
                "crop-flip" => true, "none" => false,
                var other => throw new ArgumentException($"unknown --augment '{other}': crop-flip or none"),
            };
            int c = pr.GetResult(channels) is { Implicit: false } ? pr.GetValue(channels) : 16;
            var cfg = new BnConvConfig { Channels = c, Depth = pr.GetValue(depth), Activation = Activations.Parse(pr.GetValue(act)!) };
            var opts = new BnConvTrainOptions
            {
                Config = cfg, Init = initKind, Epochs = pr.GetValue(o.Epochs), Batch = pr.GetValue(o.Batch), LearningRate = pr.GetValue(o.Lr),
                Momentum = pr.GetValue(o.Momentum), WeightDecay = pr.GetValue(o.WeightDecay), Augment = augment, Seed = pr.GetValue(seed),
            };
            try { opts.Validate(); } catch (ArgumentException e) { return (e.Message, null!, null!); }
            if (pr.GetValue(o.TrainSize) < 0 || pr.GetValue(o.TestSize) < 0) return ("--train-size and --test-size must be non-negative (0: all)", null!, null!);
            return (null, cfg, opts);
        }
        catch (ArgumentException e) { return (e.Message, null!, null!); }
    }

    /// <summary>`Setting` for a command line parsed by `train`'s own command (a study's cell), its options found by name.</summary>
    internal static string? RefuseSetting(ParseResult pr)
    {
        var all = pr.CommandResult.Command.Options;
        Option<T> Opt<T>(string name) => (Option<T>)all.First(x => x.Name == name);
        var o = new Options(Opt<string>("--data"), Opt<string?>("--data-dir"), Opt<int>("--epochs"), Opt<int>("--batch"), Opt<double>("--lr"),
            Opt<double>("--momentum"), Opt<double>("--weight-decay"), Opt<int>("--train-size"), Opt<int>("--test-size"), Opt<string>("--augment"));
        return Setting(pr, o, Opt<int>("--depth"), Opt<string>("--activation"), Opt<string>("--init"), Opt<long>("--seed"), Opt<int>("--channels"),
            Opt<int?>("--threads"), Opt<string>("--optimizer")).Refusal;
    }

    public static int Run(ParseResult pr, Options o, Option<int> depth, Option<string> act, Option<string> init, Option<long> seed, Option<string> outDir,
        Option<bool> force, Option<int> channels, Option<int?> threads, Option<string> optimizer)
    {
        try
        {
            var (refused, cfg, opts) = Setting(pr, o, depth, act, init, seed, channels, threads, optimizer);
            if (refused is not null) return Ui.Fail(refused);
            // Fail before the work: memory, data, output.
            long stored = 4L * (4L * cfg.Depth + 1) * cfg.Channels * Math.Min(opts.Batch, 60000) * cfg.Side * cfg.Side;
            MemoryEstimate.Require(stored + 3L * 4 * cfg.ParameterCount, stored,
                $"training --arch bn-conv with L = {cfg.Depth}, C = {cfg.Channels}, batch {opts.Batch}", "reduce --depth, --channels or --batch");
            var (fullTrain, fullTest) = ImageSet.FashionMnist(pr.GetValue(o.DataDir));
            var train = fullTrain.Take(pr.GetValue(o.TrainSize)); var test = fullTest.Take(pr.GetValue(o.TestSize));
            // a size above the data set's is all of it: said, not silently
            if (pr.GetValue(o.TrainSize) > fullTrain.Count) Console.Error.WriteLine($"note: --train-size {pr.GetValue(o.TrainSize)} is more than the {fullTrain.Count} training images: all {fullTrain.Count} are used");
            if (pr.GetValue(o.TestSize) > fullTest.Count) Console.Error.WriteLine($"note: --test-size {pr.GetValue(o.TestSize)} is more than the {fullTest.Count} test images: all {fullTest.Count} are used");
            string dir = pr.GetValue(outDir)!;
            using var claim = OutputClaim.Acquire(dir, pr.GetValue(force), "run");
            Ui.Notes(claim);
            string ckpt = CheckpointPath(claim.Target);
            string fp = opts.Fingerprint(train.Count, test.Count);
            BnConvState state;
            if (File.Exists(ckpt))
            {
                if (!BnConvTrainer.IsCheckpoint(ckpt)) return Ui.Fail($"{ckpt} exists and is not a bn-conv checkpoint: move it away (resode never replaces a file it did not write)");
                state = BnConvTrainer.LoadCheckpoint(ckpt, fp, cfg);
                Console.WriteLine($"resuming from {ckpt} after epoch {state.EpochsDone} of {opts.Epochs}");
            }
            else state = BnConvTrainer.Start(opts);
            using var interrupts = Ui.OnInterrupt($"interrupted: stopping once the current epoch ends, whose checkpoint {ckpt} the same command resumes from (the run directory is written after the last epoch only); signal again, a second or more later, to end at once without it");
            var sw = System.Diagnostics.Stopwatch.StartNew();
            int before = state.EpochsDone;
            BnConvTrainer.Train(opts, train, test, state, st => BnConvTrainer.SaveCheckpoint(ckpt, fp, st), progress: Console.WriteLine, cancel: interrupts.Token);
            if (state.EpochsDone < opts.Epochs && state.Diverged is null)
            {
                Console.Error.WriteLine($"interrupted after epoch {state.EpochsDone} of {opts.Epochs}: rerun the same command to resume from {ckpt}");
                return ExitCodes.ToolFailed;
            }
            var mean = BnConvTrainer.PixelMoments(train);
            var net = new BnConvNet<float>(cfg, Math.Min(1000, train.Count));
            var (trainLossEval, trainAccEval) = BnConvTrainer.Evaluate(net, state.Theta, state.Statistics, train, mean.Mean, mean.Std, folded: true);
            var meta = Metadata(opts, train, test, state, trainLossEval, trainAccEval, ResodeApp.CommandLine(pr), state.EpochsDone - before, sw.Elapsed.TotalSeconds);
            // where the images were read, when not the default place: verify reads them there (and checks them by their checksums)
            if (pr.GetValue(o.DataDir) is string givenDir) meta["data_dir"] = Path.GetFullPath(givenDir);
            if (state.Diverged is string why)
            {
                // a diverged run is written (status diverged, numbers that are not finite as null) and never replaces an
                // existing output: it goes beside it, as an MLP run's does
                meta["status"] = "diverged";
                meta["divergence"] = why;
                NullNonFinite(meta);
                claim.KeepExistingTarget("diverged");
            }
            claim.Commit(tmp =>
            {
                Npy.Write(Path.Combine(tmp, "params.npy"), state.Theta, state.Theta.Length);
                Npy.Write(Path.Combine(tmp, "statistics.npy"), state.Statistics, state.Statistics.Length);
                File.WriteAllText(Path.Combine(tmp, "run.json"), meta.ToJsonString(new JsonSerializerOptions { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }));
            });
            Ui.Notes(claim);
            File.Delete(ckpt);
            if (state.Diverged is string reason)
            {
                Console.Error.WriteLine($"DIVERGED: {reason}; stopped after epoch {state.EpochsDone} of {opts.Epochs}; wrote {claim.CommittedDisplay ?? dir} (status diverged): lower --lr");
                return ExitCodes.ToolFailed;
            }
            var last = state.Epochs[^1];
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"completed: {opts.Epochs} epochs; test accuracy {last.TestAccuracy:P2}, train accuracy {trainAccEval:P2} (evaluation mode); wrote {dir}"));
            return ExitCodes.Done;
        }
        catch (Exception e) when (Ui.Expected(e) || e is IdxFormatException)
        {
            return Ui.Fail(e);
        }
    }

    /// <summary>The checkpoint of a run directory: a file beside it, named after it.</summary>
    internal static string CheckpointPath(string target) =>
        Path.Combine(Path.GetDirectoryName(target)!, $".{Path.GetFileName(target)}.bn-conv-checkpoint");

    /// <summary>Replaces every number of <paramref name="node"/> that is not finite by null (JSON has no NaN or infinity).</summary>
    private static void NullNonFinite(JsonNode? node)
    {
        switch (node)
        {
            case JsonObject o:
                foreach (var key in o.Select(kv => kv.Key).ToList())
                {
                    if (o[key] is JsonValue v && v.TryGetValue<double>(out var x) && !double.IsFinite(x)) o[key] = null;
                    else NullNonFinite(o[key]);
                }
                break;
            case JsonArray a:
                for (int i = 0; i < a.Count; i++)
                {
                    if (a[i] is JsonValue v && v.TryGetValue<double>(out var x) && !double.IsFinite(x)) a[i] = null;
                    else NullNonFinite(a[i]);
                }
                break;
        }
    }

    private static JsonObject Metadata(BnConvTrainOptions o, ImageSet train, ImageSet test, BnConvState st, double trainLossEval, double trainAccEval,
        string? commandLine, int epochsThisProcess, double secondsThisProcess)
    {
        var cfg = o.Config;
        var (k1, g1, b1, k2, g2, b2) = cfg.BlockParts;
        var epochs = new JsonArray(st.Epochs.Select(e => (JsonNode)new JsonObject
        {
            ["epoch"] = e.Epoch + 1, ["lr"] = e.LearningRate, ["train_loss"] = e.TrainLoss, ["train_accuracy"] = e.TrainAccuracy,
            ["test_loss"] = e.TestLoss, ["test_accuracy"] = e.TestAccuracy, ["seconds"] = e.Seconds, ["cpu_seconds"] = e.CpuSeconds,
            ["smooth_conv1"] = e.SmoothK1, ["smooth_conv2"] = e.SmoothK2,
        }).ToArray());
        // Multiply-adds of one training step per image: forward (stem and 2L block convolutions) and backward (kernel
        // gradients for all, input adjoints for the blocks).
        long perImage = cfg.Stem.MultiplyAdds(1) * 2 + cfg.Block.MultiplyAdds(1) * 2L * cfg.Depth * 3;
        // the median (of an even count, the mean of the two middle values)
        static double Median(IEnumerable<double> xs)
        {
            var v = xs.Order().ToArray();
            return v.Length % 2 == 1 ? v[v.Length / 2] : (v[v.Length / 2 - 1] + v[v.Length / 2]) / 2;
        }
        double secPerEpoch = Median(st.Epochs.Select(e => e.Seconds));
        double cpuPerEpoch = Median(st.Epochs.Select(e => e.CpuSeconds));
        return new JsonObject
        {
            ["kind"] = "bn-conv",
            ["created_by"] = $"resode {EngineInfo.Version}", ["engine_version"] = EngineInfo.Version, ["engine_commit"] = EngineInfo.Commit,
            ["command_line"] = commandLine, ["status"] = "completed", ["threads"] = 1, ["simd"] = Simd.Level.ToString(), ["precision"] = "float32",
            ["seed"] = o.Seed,
            ["data"] = $"Fashion-MNIST: first {train.Count} training and {test.Count} test images, pixels p/255 standardized by the training images' mean and std",
            ["train_size"] = train.Count, ["test_size"] = test.Count,
            // the images themselves (verify compares them with the files it reads) and, when given, where they were read
            ["train_sha256"] = train.Checksum(), ["test_sha256"] = test.Checksum(),
            ["augment"] = o.Augment ? "random crops (zero padding 4) and horizontal flips" : "none",
            ["architecture"] = cfg.Describe(),
            ["depth"] = cfg.Depth, ["channels"] = cfg.Channels, ["side"] = cfg.Side, ["activation"] = Activations.Name(cfg.Activation),
            ["init"] = o.Init == BnConvInit.Tied ? "tied" : "iid",
            ["optimizer"] = new JsonObject
            {
                ["name"] = "sgd", ["lr"] = o.LearningRate, ["momentum"] = o.Momentum, ["weight_decay"] = o.WeightDecay,
                ["schedule"] = "cosine per epoch: lr·(1 + cos(π e/E))/2", ["batch"] = o.Batch, ["epochs"] = o.Epochs,
            },
            ["params_layout"] = new JsonObject
            {
                ["stem_kernel"] = new JsonArray(0, cfg.Stem.KernelLength), ["stem_gamma"] = cfg.Stem.KernelLength, ["stem_beta"] = cfg.Stem.KernelLength + cfg.Channels,
                ["block_offset"] = cfg.BlockOffset(0), ["block_size"] = cfg.BlockParameters,
                ["block_parts"] = new JsonObject { ["conv1"] = k1, ["bn1_gamma"] = g1, ["bn1_beta"] = b1, ["conv2"] = k2, ["bn2_gamma"] = g2, ["bn2_beta"] = b2 },
                ["head_weight"] = cfg.HeadOffset, ["head_bias"] = cfg.HeadOffset + cfg.Classes * cfg.Channels,
                ["statistics"] = "per batch norm (stem, then bn1 and bn2 of each block): running mean (C), running variance (C)",
            },
            ["epochs"] = epochs,
            ["final"] = new JsonObject
            {
                ["test_accuracy"] = st.Epochs[^1].TestAccuracy, ["test_loss"] = st.Epochs[^1].TestLoss,
                ["train_accuracy_eval"] = trainAccEval, ["train_loss_eval"] = trainLossEval,
                ["smooth_conv1"] = st.Epochs[^1].SmoothK1, ["smooth_conv2"] = st.Epochs[^1].SmoothK2,
            },
            ["seconds_per_epoch_median"] = secPerEpoch, ["cpu_seconds_per_epoch_median"] = cpuPerEpoch,
            ["training_gflops_per_cpu_second"] = 2.0 * perImage * train.Count / cpuPerEpoch / 1e9,
            ["epochs_this_process"] = epochsThisProcess, ["seconds_this_process"] = secondsThisProcess,
        };
    }
}
