using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;
using ResOdeProofs.Numerics.Model;
using ResOdeProofs.Numerics.Training;

namespace ResOdeProofs.Cli;

/// <summary>`resode bench`: times one full-batch GD iteration at the paper's sizes.</summary>
internal static class BenchCommand
{
    private static readonly (string Name, int L, int N, int D, int M)[] Table =
    {
        ("fig2", 64, 50, 16, 64),
        ("fig1", 1024, 100, 16, 32),
        ("deep", 16384, 100, 16, 32),
    };

    public static Command Build()
    {
        var quick = new Option<bool>("--quick") { Description = "Short version: fewer repeats, float64 and float32 at 1 and 2 threads, no L = 16384." };
        var json = new Option<string?>("--json") { Description = "Also write the results as JSON to this file." };
        var only = new Option<string?>("--config") { Description = "Only this configuration: fig2 (L=64, n=50, d=16, m=64), fig1 (L=1024, n=100, d=16, m=32) or deep (L=16384, n=100, d=16, m=32). Run one per process to read its peak memory." };
        var threads = new Option<int[]>("--threads") { Description = "Thread counts to time (default 1 2).", AllowMultipleArgumentsPerToken = true };
        var act = new Option<string>("--activation") { Description = "Activation (gelu as in the paper; identity isolates the products).", DefaultValueFactory = _ => "gelu" };
        var ckOpt = new Option<string>("--checkpoint") { Description = "Checkpointing rows for L ≥ 1024: all (default), off, on (segment ⌈√L⌉, all but the last segment recomputed) or auto (train's default: ⌈√L⌉, keeping the final layers that fit in 512 MiB); one setting per process gives its own peak memory.", DefaultValueFactory = _ => "all" };
        var precOpt = new Option<string>("--precision") { Description = "both (default), f64 or f32.", DefaultValueFactory = _ => "both" };
        var repeats = new Option<int?>("--repeats") { Description = "Timed iterations per row (default: 30 for small, 5 for L = 16384; --quick: 10 and 3)." };
        var withTrace = new Option<bool>("--trace") { Description = "Time what `resode train` does per iteration: the engine iteration plus the trace record (per-layer norms and smoothness) and the finiteness checks." };
        var storage = new Option<string>("--activations") { Description = "σ and σ' per layer: auto (default: stored, or as RESODE_ACTIVATIONS says), stored, or recomputed in the backward pass from the stored h (a fifth of the memory, slower on 256-bit kernels). Changes no bit.", DefaultValueFactory = _ => "auto" };
        var torch = new Option<bool>("--compare-pytorch") { Description = "Also time the same iteration in PyTorch (python3 with torch; same sizes, precision and threads) and print the ratio per row." };
        var cmd = new Command("bench", "Time one full-batch gradient-descent iteration (forward, backward, update) of the engine at the paper's sizes; " +
                                       "prints ms/iteration (median and min of repeated timings after a warm-up), GFLOP/s (12·n·d·m·L per iteration), memory, threads and the machine.")
        { quick, json, only, threads, repeats, act, ckOpt, precOpt, torch, withTrace, storage };
        cmd.SetAction(pr =>
        {
            bool q = pr.GetValue(quick);
            var sel = pr.GetValue(only);
            var ths = pr.GetValue(threads) is { Length: > 0 } t ? t : new[] { 1, 2 };
            var configs = Table.Where(c => sel is null ? !(q && c.L > 4096) : c.Name.Equals(sel, StringComparison.OrdinalIgnoreCase)).ToArray();
            if (configs.Length == 0) return Ui.Fail($"unknown --config '{sel}': fig2, fig1 or deep");
            // every option checked before the first row is timed
            if (pr.GetValue(repeats) is int rp && (rp < 1 || rp > 100_000)) return Ui.Fail($"--repeats {rp}: give 1 to 100 000 timed iterations per row");
            if (ths.Any(t => t < 1 || t > 1024)) return Ui.Fail($"--threads {string.Join(" ", ths)}: each thread count is 1 to 1024");
            if (pr.GetValue(precOpt)!.ToLowerInvariant() is not ("both" or "f64" or "f32")) return Ui.Fail($"unknown --precision '{pr.GetValue(precOpt)}': both, f64 or f32");
            if (pr.GetValue(ckOpt)!.ToLowerInvariant() is not ("all" or "off" or "on" or "auto")) return Ui.Fail($"unknown --checkpoint '{pr.GetValue(ckOpt)}': all, off, on or auto");
            // the activation too: parsed in the loop, an unknown one was refused after the machine lines, the FMA peak and the header
            ResOdeProofs.Numerics.ActivationKind sigma;
            try { sigma = ResOdeProofs.Numerics.Activations.Parse(pr.GetValue(act)!); }
            catch (ArgumentException e) { return Ui.Fail($"--activation: {e.Message}"); }
            // Never overwrite a file bench did not write; check before the timings, not after them.
            if (pr.GetValue(json) is string target)
            {
                if (target.Length == 0) return Ui.Fail("--json: give a file path");
                try { OutputFile.Claim(target, "--json", IsBenchJson); }   // bench replaces only its own JSON files
                catch (Exception e) when (e is ArgumentException or IOException) { return Ui.Fail(e.Message); }
            }
            var inv = CultureInfo.InvariantCulture;
            ActivationStorage? kept = pr.GetValue(storage)!.ToLowerInvariant() switch
            {
                "auto" => ActivationStorage.Auto, "stored" => ActivationStorage.Stored, "recomputed" => ActivationStorage.Recomputed, _ => null,
            };
            if (kept is not ActivationStorage activations) return Ui.Fail($"unknown --activations '{pr.GetValue(storage)}': auto, stored or recomputed");
            bool compare = pr.GetValue(torch);
            if (compare && PyTorchComparison.Unavailable() is string why) return Ui.Fail($"--compare-pytorch: {why}");
            if (compare && !pr.GetValue(act)!.Equals("gelu", StringComparison.OrdinalIgnoreCase)) return Ui.Fail("--compare-pytorch times the GELU network: leave --activation at gelu");
            string cpu = EngineBenchmark.CpuModel();
            Console.WriteLine($"cpu: {cpu} ({Environment.ProcessorCount} logical cores; {EngineBenchmark.CpuFlags()})");
            Console.WriteLine($"runtime: {RuntimeInformation.FrameworkDescription}; kernels: {Simd.Level} ({Simd.Bits(Simd.Level)}-bit; hardware {Simd.Hardware})");
            Console.WriteLine($"clock: {EngineBenchmark.NominalMHz()} MHz as /proc/cpuinfo reports it (nominal; boost not visible in a virtual machine)");
            double? peak = EngineBenchmark.FmaPeakGflops(Simd.Level);
            Console.WriteLine(peak is double pk
                ? string.Create(inv, $"fma peak: {pk:F1} GFLOP/s float64 on one core at {Simd.Bits(Simd.Level)} bits (measured: twelve independent FMA chains; float32 twice); a row's 'peak' is its best GFLOP/s over this times its threads")
                : "fma peak: not measured at the scalar level");
            Console.WriteLine("timings on a shared machine are noisy: compare the min column across runs.");
            Console.WriteLine(string.Create(inv, $"σ, σ': {activations.ToString().ToLowerInvariant()} (last-level cache {MachineCache.LastLevelBytes / 1048576.0:F0} MiB; rows marked 'σ recomputed' store h only)"));
            if (pr.GetValue(withTrace)) Console.WriteLine("--trace: each iteration includes the trainer's trace record, finiteness checks and update (as `resode train`).");
            Console.WriteLine($"{"config",-6} {"L",6} {"n",4} {"d",3} {"m",3} {"prec",4} {"thr",3} {"ckpt",4} {"median ms",10} {"min ms",9} {"GFLOP/s",8} {"best",6} {"peak",5} {"engine MiB",10}");
            var results = new List<BenchResult>();
            var torchRows = new Dictionary<BenchResult, PyTorchComparison.Timing>();
            foreach (var (name, L, n, d, m) in configs)
            {
                int ck = EngineOptions.SqrtSegment(L);
                string cko = pr.GetValue(ckOpt)!.ToLowerInvariant(), prec = pr.GetValue(precOpt)!.ToLowerInvariant();
                // Checkpoint rows: 0 = off, ck = ⌈√L⌉ recomputing all but the last segment, -ck = the automatic
                // setting of TrainOptions (⌈√L⌉, keeping the final layers that fit in 512 MiB).
                var segs = L < 1024 ? new[] { 0 } : cko switch { "off" => new[] { 0 }, "on" => new[] { ck }, "auto" => new[] { -ck }, _ => new[] { 0, ck, -ck } };
                var precs = prec switch { "f64" => new[] { false }, "f32" => new[] { true }, _ => new[] { false, true } };
                foreach (bool f32 in precs)
                    foreach (int th in ths)
                        foreach (int seg in segs)
                        {
                            int reps = pr.GetValue(repeats) ?? (L > 4096 ? (q ? 3 : 5) : (q ? 10 : 30));
                            var shape = ResOdeProofs.Numerics.Model.NetworkShape.Square(L, m, d);
                            int keep = seg < 0 ? (int)Math.Min(L, TrainOptions.AutoCheckpointBytes / EngineOptions.BytesPerLayer(shape, n, f32 ? 4 : 8)) : 0;
                            var cfg = new BenchConfig(name, L, n, d, m, f32, th, Math.Abs(seg), sigma) { KeepLast = keep, WithTrace = pr.GetValue(withTrace), Activations = activations };
                            var r = EngineBenchmark.Run(cfg, warmup: L > 4096 ? 1 : 3, repeats: reps);
                            results.Add(r);
                            Console.WriteLine(string.Create(inv,
                                $"{name,-6} {L,6} {n,4} {d,3} {m,3} {(f32 ? "f32" : "f64"),4} {th,3} {(seg == 0 ? "off" : seg > 0 ? seg.ToString(inv) : "auto"),4} {r.MedianMs,10:F3} {r.MinMs,9:F3} {r.GflopsMedian,8:F1} {r.GflopsBest,6:F1} {PeakText(PeakFraction(r, peak)),5} {r.EngineBytes / 1048576.0,10:F1}{(r.RecomputedActivations ? "  σ recomputed" : "")}"));
                            if (compare && seg == 0)
                            {
                                var pt = torchRows[r] = PyTorchComparison.Run(cfg, reps);
                                Console.WriteLine(string.Create(inv,
                                    $"  pytorch {pt.Version} ({pt.Threads} thr) {pt.MedianMs,10:F3} {pt.MinMs,9:F3} ms: resode {pt.MinMs / r.MinMs:F1}x faster (min), {pt.MedianMs / r.MedianMs:F1}x (median)"));
                            }
                        }
            }
            using var proc = Process.GetCurrentProcess();
            proc.Refresh();
            Console.WriteLine(string.Create(inv, $"process peak working set: {proc.PeakWorkingSet64 / 1048576.0:F0} MiB (whole process, all rows above)"));
            if (pr.GetValue(json) is string path)
            {
                var doc = new
                {
                    format = BenchFormat,
                    date = DateTime.UtcNow.ToString("yyyy-MM-dd", inv),
                    cpu, cores = Environment.ProcessorCount, flags = EngineBenchmark.CpuFlags(), runtime = RuntimeInformation.FrameworkDescription,
                    simd = Simd.Level.ToString(), nominalMHz = EngineBenchmark.NominalMHz(), fmaPeakGflops = peak, peakWorkingSetBytes = proc.PeakWorkingSet64,
                    rows = results.Select(r => new
                    {
                        r.Config.Name, r.Config.Depth, r.Config.Samples, r.Config.Dim, r.Config.Width,
                        precision = r.Config.Float32 ? "float32" : "float64", r.Config.Threads, r.Config.Checkpoint, r.Config.KeepLast,
                        activations = r.RecomputedActivations ? "recomputed" : "stored",
                        r.MedianMs, r.MinMs, r.GflopsMedian, r.GflopsBest, peakFraction = PeakFraction(r, peak), r.EngineBytes, r.Repeats,
                        pytorchMedianMs = torchRows.TryGetValue(r, out var tm) ? tm.MedianMs : (double?)null,
                        pytorchMinMs = torchRows.TryGetValue(r, out var t2) ? t2.MinMs : (double?)null,
                    }),
                };
                OutputFile.WriteAtomically(path, JsonSerializer.Serialize(doc, new JsonSerializerOptions { WriteIndented = true }));
            }
            return ExitCodes.Done;
        });
        return cmd;
    }

    /// <summary>
    /// A row's best GFLOP/s as a fraction of the measured FMA peak of its threads (one core's peak times the threads, twice
    /// in float32); null without a measured peak.
    /// </summary>
    internal static double? PeakFraction(BenchResult r, double? peak) =>
        peak is double p && p > 0 ? r.GflopsBest / (p * r.Config.Threads * (r.Config.Float32 ? 2 : 1)) : null;

    private static string PeakText(double? f) => f is double x ? string.Create(CultureInfo.InvariantCulture, $"{100 * x:F0}%") : "-";

    /// <summary>The "format" of bench's JSON files.</summary>
    internal const string BenchFormat = "resode-bench/1";

    /// <summary>
    /// Whether <paramref name="path"/> is a JSON file bench wrote: an object whose "format" is resode-bench/N, or (files of
    /// earlier builds, without it) an object with bench's "peakWorkingSetBytes" and "rows". Anything else (an empty file, a
    /// pipe, text that mentions the key) is the user's.
    /// </summary>
    internal static bool IsBenchJson(string path)
    {
        try
        {
            if (new FileInfo(path).Length == 0) return false;
            if (System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(path)) is not System.Text.Json.Nodes.JsonObject o) return false;
            if (o["format"] is System.Text.Json.Nodes.JsonValue f && f.TryGetValue<string>(out var tag)) return tag.StartsWith("resode-bench/", StringComparison.Ordinal);
            return o["peakWorkingSetBytes"] is System.Text.Json.Nodes.JsonValue && o["rows"] is System.Text.Json.Nodes.JsonArray;
        }
        catch (Exception e) when (e is JsonException or IOException or UnauthorizedAccessException or ArgumentException or InvalidOperationException) { return false; }
    }
}
