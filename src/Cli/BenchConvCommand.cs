using System.CommandLine;
using System.Globalization;
using ResOdeProofs.Numerics.BnConv;
using ResOdeProofs.Numerics.Model;
using ResOdeProofs.Numerics.Training;

namespace ResOdeProofs.Cli;

/// <summary>`resode bench-conv`: speed of the real-data experiment's network (docs/real-data.md, "Cost").</summary>
internal static class BenchConvCommand
{
    public static Command Build()
    {
        var depths = new Option<int[]>("--depth") { Description = "Depths L to time a training step at (default 8 64 256).", AllowMultipleArgumentsPerToken = true };
        var batch = new Option<int>("--batch") { Description = "Mini-batch size.", DefaultValueFactory = _ => 64 };
        var repeats = new Option<int>("--repeats") { Description = "Timed repetitions per figure (the minimum is reported).", DefaultValueFactory = _ => 5 };
        var train = new Option<int>("--train-size") { Description = "Training images per epoch for the seconds-per-epoch column (Fashion-MNIST: 60000).", DefaultValueFactory = _ => 60000 };
        var cmd = new Command("bench-conv", "Time the convolutional network of `train --arch bn-conv` (float32, one thread): the measured float32 FMA peak, " +
            "the GFLOP/s of a block convolution (im2col + GEMM) forward and backward, and one training step per depth with the seconds per epoch it implies. Minimum of repetitions.")
        { depths, batch, repeats, train };
        cmd.SetAction(pr =>
        {
            int b = pr.GetValue(batch), reps = pr.GetValue(repeats), n = pr.GetValue(train);
            var ls = pr.GetValue(depths) is { Length: > 0 } d ? d : new[] { 8, 64, 256 };
            if (b < 1 || reps < 1 || n < 1 || ls.Any(x => x < 1)) return Ui.Fail("--depth, --batch, --repeats and --train-size must be positive");
            // every value checked before the first measurement: a depth too deep for one batch's stored activations was
            // refused by the network itself, after the peak and the convolutions had been timed
            if (reps > 100_000) return Ui.Fail($"--repeats {reps}: give 1 to 100 000 timed repetitions per figure");
            var cfg = new BnConvConfig { Depth = 1 };
            foreach (var L in ls)
                if ((cfg with { Depth = L }).StoredEntries(b) is var stored && stored > Array.MaxLength)
                    return Ui.Fail($"--depth {L} with --batch {b}: a training step stores {stored} activations, more than one array holds; give a smaller depth or batch");
            var inv = CultureInfo.InvariantCulture;
            Console.WriteLine($"cpu: {EngineBenchmark.CpuModel()} ({Environment.ProcessorCount} logical cores); kernels {Simd.Level}; one thread; minimum of {reps} repetitions of {(BnConvBenchmark.ThreadClock ? "the thread's processor time" : "wall-clock time")}");
            Console.WriteLine($"load average at start: {LoadAverage()}");
            double peak = BnConvBenchmark.PeakFma32();
            Console.WriteLine(string.Create(inv, $"float32 FMA peak (measured): {peak:F1} GFLOP/s"));
            var (f, bw, gemm) = BnConvBenchmark.ConvGflops(cfg, b, reps * 4);
            var (f1, bw1, _) = BnConvBenchmark.ConvGflops(cfg, b, reps * 4, chunkEntries: 64 * 1024);
            Console.WriteLine(string.Create(inv, $"block conv 16x16x3x3 on 16x10x10, batch {b}: forward {f:F1} GFLOP/s ({100 * f / peak:F0}% of peak), backward {bw:F1} GFLOP/s ({100 * bw / peak:F0}%); the GEMM of the whole batch alone {gemm:F1} GFLOP/s ({100 * gemm / peak:F0}%)"));
            Console.WriteLine(string.Create(inv, $"  the same in cache-sized chunks (64 Ki patch entries: 4 images): forward {f1:F1} GFLOP/s, backward {bw1:F1} GFLOP/s"));
            Console.WriteLine($"{"L",5} {"step ms",9} {"s/epoch",9}   (epoch = {n} images in batches of {b}, test evaluation not included)");
            foreach (var L in ls)
            {
                double s = BnConvBenchmark.TrainStepSeconds(cfg with { Depth = L }, b, reps);
                Console.WriteLine(string.Create(inv, $"{L,5} {1000 * s,9:F2} {s * Math.Ceiling((double)n / b),9:F1}"));
            }
            Console.WriteLine($"load average at end: {LoadAverage()}");
            return ExitCodes.Done;
        });
        return cmd;
    }

    private static string LoadAverage()
    {
        try { return string.Join(" ", File.ReadAllText("/proc/loadavg").Split(' ').Take(3)); }
        catch (IOException) { return "unknown"; }
    }
}
