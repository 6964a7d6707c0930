using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using ResOdeProofs.Numerics;
using ResOdeProofs.Numerics.Blocks;
using ResOdeProofs.Numerics.IO;
using ResOdeProofs.Numerics.Model;
using ResOdeProofs.Numerics.Training;

namespace ResOdeProofs.Cli;

/// <summary>`resode train`: trains a residual network and writes a run directory.</summary>
internal static class TrainCommand
{
    public static Command Build()
    {
        var x = new Option<string?>("--x") { Description = "Inputs as .npy, shape (n, d_in), float64/float32. Without it: synthetic x_i ~ N(0, I_d)." };
        var y = new Option<string?>("--y") { Description = "Targets as .npy, shape (n, d_out). Required with --x." };
        var a = new Option<string?>("--a") { Description = "Fixed embedding A as .npy, shape (d, d_in); default identity (needs d_in = d)." };
        var b = new Option<string?>("--b") { Description = "Fixed read-out B as .npy, shape (d_out, d); default identity (needs d_out = d)." };
        var n = new Option<int>("--n") { Description = "Number of synthetic samples n.", DefaultValueFactory = _ => 100 };
        var d = new Option<int>("--d") { Description = "State dimension d (synthetic data: also d_in = d_out = d).", DefaultValueFactory = _ => 16 };
        var w0 = new Option<string?>("--w0") { Description = "Initial W as .npy, shape (L, m, d); with --v0 it replaces --init, --depth and --width." };
        var v0 = new Option<string?>("--v0") { Description = "Initial V as .npy, shape (L, d, m)." };
        var init = new Option<string>("--init") { Description = "Initialization: tied (one Gaussian W for every layer, V = 0), smooth (random smooth functions of depth), iid (independent layers).", DefaultValueFactory = _ => "tied" };
        var depth = new Option<int>("--depth") { Description = "Depth L (number of residual blocks).", DefaultValueFactory = _ => 64 };
        var width = new Option<int>("--width") { Description = "Hidden width m of each block.", DefaultValueFactory = _ => 32 };
        var scale = new Option<double>("--scale") { Description = "--arch mlp: standard deviation of the Gaussian entries of W (the generic architectures take --scales).", DefaultValueFactory = _ => 1.0 };
        var vscale = new Option<double>("--v-scale") { Description = "--arch mlp: standard deviation of the Gaussian entries of V (0: V = 0 at initialization, as in the paper).", DefaultValueFactory = _ => 0.0 };
        var modes = new Option<int>("--modes") { Description = "Number of Fourier modes in depth of the smooth initialization.", DefaultValueFactory = _ => 2 };
        var act = new Option<string>("--activation") { Description = "Activation σ: gelu, tanh, softplus, relu or identity.", DefaultValueFactory = _ => "gelu" };
        var eta = new Option<double>("--eta") { Description = "Time step η: Z ← Z − η·L·∂ℓ/∂Z (learning rate L·η on the per-sample loss ℓ = (1/n) Σ ‖F(x_i) − y_i‖²).", DefaultValueFactory = _ => 0.01 };
        var iters = new Option<int>("--iters") { Description = "Number of gradient-descent updates N.", DefaultValueFactory = _ => 50 };
        var clip = new Option<double?>("--clip") { Description = "Clip radius C: each layer's update L·∂ℓ/∂Z_k is projected onto the Frobenius ball of radius C (clipped gradient descent)." };
        var seed = new Option<long>("--seed") { Description = "Seed: fixes data, initialization and everything else.", DefaultValueFactory = _ => 0 };
        var snapSteps = new Option<string?>("--snapshot-steps") { Description = "The snapshot iterations themselves, instead of --snapshots: a comma-separated list of iterations and ranges FIRST..LAST or FIRST..LAST/STEP (both ends included), e.g. 0..50/5,49." };
        var snaps = new Option<int>("--snapshots") { Description = "Number of evenly spaced snapshot iterations whose full weights are written (iteration 0 and the last included); at most --iters + 1 (every iterate). The default 5 is capped there on a shorter run.", DefaultValueFactory = _ => 5 };
        var f32 = new Option<bool>("--float32") { Description = "Compute in float32 (files stay float64)." };
        var outDir = new Option<string>("--out") { Description = "Run directory to write.", DefaultValueFactory = _ => "runs/run" };
        var force = new Option<bool>("--force") { Description = "Replace --out if it exists, only when it is a run directory written by resode that holds nothing else (replaced only after the new run is complete)." };
        var threads = new Option<int?>("--threads") { Description = "Engine threads (the batch of samples is split; bit-reproducible for a given count). Default: 2 when n ≥ 32 and n·d·m·L ≥ 2^20, else 1." };
        var ckpt = new Option<int?>("--checkpoint") { Description = "Exact gradient checkpointing with this segment length K (keep every K-th hidden state, recompute the rest; ~√L is best); 0 = off. Default: when the stored activations would exceed 512 MiB, K = ⌈√L⌉ keeping the final layers that fit in 512 MiB; else off." };
        var fault = new Option<string?>("--inject-fault") { Description = "TESTING ONLY: run a deliberately wrong engine (scaled-layer-gradient, forward-depth-scale, wrong-activation-derivative, stale-gradient); run.json records the fault." };

        var cmd = new Command("train", "Train a residual network h_k = h_{k-1} + (1/L) V_k σ(W_k h_{k-1}) by full-batch gradient descent and write a run directory (.npy arrays + run.json).")
        { x, y, a, b, n, d, w0, v0, init, depth, width, scale, vscale, modes, act, eta, iters, clip, seed, snaps, snapSteps, f32, outDir, force, fault, threads, ckpt };

        // Gradient flow (optimizer gf): the same setting integrated in continuous time.
        var optimizer = new Option<string>("--optimizer") { Description = "gd (gradient descent, --eta, --iters) or gf (the gradient flow dZ/dt = −L·∂ℓ/∂Z over [0, --horizon], integrated by Dormand–Prince 5(4) with --rtol/--atol and recorded at the --iters + 1 times t_j = j·T/iters; run.json gets eta = T/iters). --clip applies to both.", DefaultValueFactory = _ => "gd" };
        var horizon = new Option<double?>("--horizon") { Description = "gf: horizon T (default eta·iters)." };
        var rtol = new Option<double>("--rtol") { Description = "gf: relative tolerance of the integrator.", DefaultValueFactory = _ => 1e-6 };
        var atol = new Option<double>("--atol") { Description = "gf: absolute tolerance of the integrator.", DefaultValueFactory = _ => 1e-9 };
        foreach (var opt in new Option[] { optimizer, horizon, rtol, atol }) cmd.Options.Add(opt);

        // Generic architectures (src/Numerics.CSharp/Blocks, docs/extending.md): --arch other than mlp trains through ThetaTrainer.
        var arch = new Option<string>("--arch") { Description = BlockCatalog.ArchHelp + " Also bn-conv: the paper's real-data network with batch norm, trained by SGD on Fashion-MNIST (docs/real-data.md).", DefaultValueFactory = _ => "mlp" };
        var scales = new Option<string?>("--scales") { Description = "Generic architectures: standard deviation of the Gaussian entries of each parameter part at initialization, in layout order, comma-separated (0 starts a part at 0). Defaults: " +
            string.Join("; ", GenericArchitectures.Select(e => $"{e.Name} {string.Join(", ", e.Parts.Select(q => $"{q.Name} {q.DefaultScale.Split(':')[0]}"))}")) + "." };
        cmd.Options.Add(arch); cmd.Options.Add(scales);
        var hyper = TrainBlock.AddHyperOptions(cmd, new Dictionary<string, Option<int>> { ["width"] = width });
        var bnConv = TrainBnConv.Options.AddTo(cmd); // --arch bn-conv: the convolutional network with batch norm trained by SGD

        cmd.SetAction(pr =>
        {
            if (string.Equals(pr.GetValue(arch), "bn-conv", StringComparison.OrdinalIgnoreCase))
                return TrainBnConv.Run(pr, bnConv, depth, act, init, seed, outDir, force, hyper["channels"], threads, optimizer);
            if (!BlockCatalog.All.Any(e => string.Equals(e.Name, pr.GetValue(arch), StringComparison.OrdinalIgnoreCase)))
                return Ui.Fail($"unknown architecture '{pr.GetValue(arch)}': one of {string.Join(", ", BlockCatalog.All.Select(e => e.Name))}, bn-conv");
            if (TrainBnConv.RefuseForOtherArch(pr, pr.GetValue(arch)!) is string refusal) return Ui.Fail(refusal);
            try
            {
                var spec = SpecOf(pr);
                // after SpecOf's own refusals (an unknown architecture, a scale option of another one): then a hyper-parameter it does not read
                if (TrainBlock.RefuseHyper(pr, pr.GetValue(arch)!) is string notRead) return Ui.Fail(notRead);
                return spec.SpelledWV ? TrainMlp(pr, spec) : TrainBlock.Run(pr, spec);
            }
            catch (Exception e) when (Ui.Expected(e))
            {
                return Ui.Fail(e);
            }
        });
        return cmd;
    }

    /// <summary>
    /// The run specification of a `resode train` command line (parsed by <see cref="Build"/>'s command), whatever the
    /// architecture: the synthetic setting, the block and its hyper-parameters (each given, or at the architecture's default),
    /// the scales (the MLP's --scale and --v-scale, another block's --scales), the step, the snapshots and the engine settings.
    /// Data and weight files, the optimizer and the output are read by the command itself. Options the setting would not
    /// read are refused (ArgumentException), not dropped: --snapshots with --snapshot-steps, a scale option of another
    /// architecture (--scales with the MLP, --scale or --v-scale with a generic block), the integrator's --horizon, --rtol
    /// and --atol with gradient descent, and --modes with an initialization other than smooth.
    /// </summary>
    internal static RunSpec SpecOf(ParseResult pr)
    {
        T V<T>(string name) => pr.GetValue<T>("--" + name)!;
        // an option given on the command line, not at its default
        bool Given(string name) => pr.GetResult("--" + name) is OptionResult { Implicit: false };
        var entry = BlockCatalog.Find(V<string>("arch"));
        // options the setting would ignore are refused, not dropped: the snapshot iterations are given one way, and each
        // architecture's scales by its own options (the MLP's --scale and --v-scale, the generic blocks' --scales)
        if (Given("snapshots") && Given("snapshot-steps"))
            throw new ArgumentException("--snapshots and --snapshot-steps both choose the snapshot iterations: give one (--snapshots N spaces N evenly, --snapshot-steps lists them)");
        if (entry.Name == "mlp" && Given("scales"))
            throw new ArgumentException($"--scales applies to the generic architectures (--arch {string.Join(", ", GenericArchitectures.Select(e => e.Name))}); --arch mlp takes --scale (W) and --v-scale (V)");
        if (entry.Name != "mlp" && new[] { "scale", "v-scale" }.Where(Given).ToList() is { Count: > 0 } mlpScales)
            throw new ArgumentException($"{string.Join(" and ", mlpScales.Select(o => "--" + o))} appl{(mlpScales.Count == 1 ? "ies" : "y")} to --arch mlp only; --arch {entry.Name} takes --scales (one per parameter part: {string.Join(", ", entry.Parts.Select(q => q.Name))})");
        // the integrator's options are read by the gradient flow alone, and the count of Fourier modes by the smooth
        // initialization alone: given to gradient descent or to another initialization they were dropped without a word
        // (--horizon nan, --atol -0.5 trained and exited 0)
        if (!string.Equals(pr.GetValue<string>("--optimizer"), "gf", StringComparison.OrdinalIgnoreCase)
            && new[] { "horizon", "rtol", "atol" }.Where(Given).ToList() is { Count: > 0 } flowOnly)
            throw new ArgumentException($"{string.Join(" and ", flowOnly.Select(o => "--" + o))} appl{(flowOnly.Count == 1 ? "ies" : "y")} to --optimizer gf only (the gradient flow's integrator); gradient descent takes --eta and --iters");
        // more evenly spaced snapshots than the run records iterates (gradient descent's updates, or the flow's recorded times)
        // were merged into one per iterate without a word (`--snapshots 99999999` of a 10-iteration run wrote 11, after 0.8 s
        // of placing the ones asked for)
        if (Given("snapshots") && V<int>("snapshots") is int asked && V<int>("iters") is int its and >= 0 && asked > its + 1L)
            throw new ArgumentException($"--snapshots {asked} asks for more snapshots than a run of {its} iterations has iterates ({its + 1}: iterations 0..{its}); give at most {its + 1} (every iterate), or the iterations themselves with --snapshot-steps");
        if (Given("modes") && !string.Equals(V<string>("init"), "smooth", StringComparison.OrdinalIgnoreCase))
            throw new ArgumentException($"--modes applies to --init smooth only (the Fourier modes in depth of the smooth initialization); --init {V<string>("init")} has none");
        // a hyper-parameter not given on the command line takes this architecture's default (options are shared by several blocks)
        var hyper = entry.HyperParameters.ToDictionary(p => p.Name,
            p => Given(p.Option) ? (double)V<int>(p.Option) : p.Default);
        double[]? scales = entry.Name == "mlp" ? new[] { V<double>("scale"), V<double>("v-scale") }
            : pr.GetValue<string?>("--scales") is string sc
                ? sc.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(x => double.TryParse(x, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) ? v : throw new ArgumentException($"--scales: '{x}' is not a number (give one scale per parameter part, comma-separated)")).ToArray()
                : null;
        int iters = V<int>("iters");
        return new RunSpec
        {
            Architecture = entry.Name, Samples = V<int>("n"), Dim = V<int>("d"), Depth = V<int>("depth"), HyperValues = hyper,
            Activation = Activations.Parse(V<string>("activation")), Init = Initialization.Parse(V<string>("init")), Scales = scales,
            Modes = V<int>("modes"), Eta = V<double>("eta"), Iterations = iters, Clip = pr.GetValue<double?>("--clip"),
            Snapshots = V<int>("snapshots"), SnapshotSteps = ParseSteps(pr.GetValue<string?>("--snapshot-steps"), iters), Seed = V<long>("seed"),
            Float32 = V<bool>("float32"), Fault = ParseFault(pr.GetValue<string?>("--inject-fault")),
            Threads = pr.GetValue<int?>("--threads"), Checkpoint = pr.GetValue<int?>("--checkpoint"),
        };
    }

    /// <summary>The architectures the generic engine trains, whose initialization scales --scales gives: every block of the
    /// catalog but the MLP (which has its own --scale and --v-scale).</summary>
    private static IEnumerable<BlockCatalog.Entry> GenericArchitectures => BlockCatalog.All.Where(e => e.Name != "mlp");

    /// <summary>The MLP spelled with W and V: synthetic data or data files (with A and B), initial weights of the spec's seed
    /// or from files, gradient descent or the gradient flow.</summary>
    private static int TrainMlp(ParseResult pr, RunSpec spec)
    {
        spec.Validate();   // sizes, scales and options before any array is allocated
        Dataset data; string dataDesc; double[]? aMat = null, bMat = null;
        string? xPath = pr.GetValue<string?>("--x"), yPath = pr.GetValue<string?>("--y");
        if (xPath is not null || yPath is not null)
        {
            if (xPath is null || yPath is null) return Ui.Fail("--x and --y go together: give both data files or neither (synthetic data)");
            var xa = Npy.Read(xPath, "inputs --x (n, d_in)", -1, -1);
            var ya = Npy.Read(yPath, $"targets --y (n, d_out) with n = {xa.Shape[0]}", xa.Shape[0], -1);
            Npy.RequireFinite(xa, xPath, "inputs"); Npy.RequireFinite(ya, yPath, "targets");
            data = new Dataset(xa.Shape[0], xa.Shape[1], ya.Shape[1], xa.Data, ya.Data);
            dataDesc = $"from files {Path.GetFileName(xPath)}, {Path.GetFileName(yPath)}";
        }
        else
        {
            data = spec.Data();
            dataDesc = spec.DataDescription;
        }
        int dim = spec.Dim;
        if (pr.GetValue<string?>("--a") is string ap) { var am = Npy.Read(ap, "embedding --a (d, d_in)", -1, data.InputDim); Npy.RequireFinite(am, ap, "embedding A"); aMat = am.Data; dim = am.Shape[0]; }
        else if (xPath is not null) dim = data.InputDim;
        if (pr.GetValue<string?>("--b") is string bp) { var bm = Npy.Read(bp, $"read-out --b (d_out, d) = ({data.OutputDim}, {dim})", data.OutputDim, dim); Npy.RequireFinite(bm, bp, "read-out B"); bMat = bm.Data; }

        var opts = spec.Options();
        opts.Validate();
        bool flow = pr.GetValue<string>("--optimizer")?.ToLowerInvariant() switch
        {
            "gd" => false, "gf" => true,
            var other => throw new ArgumentException($"unknown --optimizer '{other}': gd or gf"),
        };
        if (flow && opts.Float32) return Ui.Fail("--float32 applies to gd only: the gradient flow is integrated in float64");
        // the flow's integrator evaluates the field on one thread and run.json says threads 1: a --threads 2 was dropped
        // without a word while command_line kept it
        if (flow && pr.GetValue<int?>("--threads") is int th && th > 1)
            Console.Error.WriteLine($"note: --threads {th} is not used by the gradient flow: its integrator evaluates the field on one thread (run.json records threads 1)");

        // the initial weights drawn here (2·L·m·d numbers) are drawn only once the memory estimate and the output's claim
        // have passed (in the training's own step): a setting that is refused is refused before any of its arrays exist
        InitialParameters? initial = null; NetworkShape shape;
        string? w0p = pr.GetValue<string?>("--w0"), v0p = pr.GetValue<string?>("--v0");
        if (w0p is not null || v0p is not null)
        {
            if (w0p is null || v0p is null) return Ui.Fail("--w0 and --v0 go together: give both initial weight files or neither");
            var wa = Npy.Read(w0p, $"initial W --w0 (L, m, d) with d = {dim}", -1, -1, dim);
            int L = wa.Shape[0], m = wa.Shape[1];
            var va = Npy.Read(v0p, $"initial V --v0 (L, d, m) = ({L}, {dim}, {m})", L, dim, m);
            Npy.RequireFinite(wa, w0p, "initial W"); Npy.RequireFinite(va, v0p, "initial V");
            shape = new NetworkShape(L, m, dim, data.InputDim, data.OutputDim);
            initial = Initialization.FromArrays(shape, wa.Data, va.Data, $"from files {Path.GetFileName(w0p)}, {Path.GetFileName(v0p)}");
        }
        else
        {
            shape = new NetworkShape(spec.Depth, spec.Width, dim, data.InputDim, data.OutputDim);
            shape.Validate();
            if (spec.Init == InitKind.File) return Ui.Fail("--init file: give the weights with --w0 and --v0");
        }
        var (bytes, largest) = MemoryEstimate.Mlp(shape, data.Count, opts, flow);
        return Claimed(pr, bytes, largest,
            $"training L = {shape.Depth}, m = {shape.Width}, d = {shape.Dim}, n = {data.Count} with {Trainer.SnapshotPlan(opts).Length} snapshots",
            "reduce --depth, --width, --n or --snapshots, or use --float32 or --checkpoint K (K ≈ √L stores about 2√L layers' activations)",
            $"{(flow ? "gradient flow" : "train")} L={shape.Depth} m={shape.Width} n={data.Count}",
            (progress, cancel) => flow
                ? GradientFlow.Train(shape, data, initial ??= spec.InitialWeights(shape),
                    new FlowOptions(opts.Activation, pr.GetValue<double?>("--horizon") ?? opts.Eta * opts.Iterations, opts.Iterations)
                    {
                        Rtol = pr.GetValue<double>("--rtol"), Atol = pr.GetValue<double>("--atol"), Clip = opts.Clip, Snapshots = opts.Snapshots,
                        SnapshotSteps = opts.SnapshotSteps, Fault = opts.Fault, Progress = progress, Cancel = cancel,
                    }, spec.Seed, dataDesc, aMat, bMat)
                : Trainer.Train(shape, data, initial ??= spec.InitialWeights(shape), opts with { Progress = progress, Cancel = cancel }, spec.Seed, dataDesc, aMat, bMat),
            flow);
    }

    /// <summary>
    /// The part of `resode train` every architecture shares: fails before the work unless the arrays fit in memory
    /// (<paramref name="bytes"/>, <paramref name="largest"/>) and the output is ours to write (claimed, and writable); then
    /// trains (stopping at the next iteration on a signal, status interrupted), writes the run directory from the
    /// <see cref="TrainRecord"/> in its architecture's spelling, prints the closing line and returns the exit code.
    /// </summary>
    internal static int Claimed(ParseResult pr, long bytes, long largest, string what, string reduce, string label,
        Func<Action<int, int, double>, CancellationToken, TrainRecord> train, bool flow = false)
    {
        MemoryEstimate.Require(bytes, largest, what, reduce);
        string dir = pr.GetValue<string>("--out")!;
        using var claim = OutputClaim.Acquire(dir, pr.GetValue<bool>("--force"), "run");
        Ui.Notes(claim);
        var f = ParseFault(pr.GetValue<string?>("--inject-fault"));
        if (f != EngineFault.None) Console.Error.WriteLine($"warning: fault '{f}' injected: this run is deliberately wrong (testing only)");
        using var interrupts = Ui.OnInterrupt($"interrupted: stopping at the next {(flow ? "output time" : "iteration")} and writing what there is to {dir} (status interrupted); signal again, a second or more later, to kill");
        var result = Ui.WithProgress(label, progress => train(progress, interrupts.Token));
        if (result.Flow is FlowInfo fi)
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"gradient flow over [0, {fi.Horizon:G6}] with {fi.Method}, rtol {fi.Rtol:G3}, atol {fi.Atol:G3}: {fi.Steps} steps, {fi.Rejected} rejected, {fi.Evaluations} evaluations"));
        // an interrupted or diverged run never replaces an existing output (--force promises a completed one): it goes beside it
        if (result.Status != RunStatus.Completed) claim.KeepExistingTarget(result.Status == RunStatus.Diverged ? "diverged" : "interrupted");
        RunDirectory.Write(result, claim, new RunProvenance(ResodeApp.CommandLine(pr)));
        Ui.Notes(claim);   // what the commit found (a replaced output it could not remove, an output kept beside the existing one)
        string wrote = claim.CommittedDisplay ?? dir;
        string perIteration = result.UpdatesApplied > 0
            ? string.Create(CultureInfo.InvariantCulture, $"{1000 * result.Seconds / Math.Max(1, result.Losses.Length):F3} ms/iteration")
            : "no iteration to time";
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{StatusWord(result.Status)}: {result.UpdatesApplied} updates in {result.Seconds:F2} s ({perIteration}); loss {result.Losses[0]:G6} -> {result.Losses[^1]:G6}; wrote {wrote}"));
        return Finish(result.Status, result.DivergenceReason, result.UpdatesApplied, wrote);
    }

    /// <summary>
    /// The iterations of --snapshot-steps ("0..50/5,49": ranges FIRST..LAST[/STEP] with both ends included, and single
    /// iterations), sorted and without repeats; null when the option is absent.
    /// </summary>
    internal static int[]? ParseSteps(string? text, int iterations)
    {
        if (text is null) return null;
        var steps = new SortedSet<int>();
        string Bad(string item) => $"--snapshot-steps '{text}': '{item}' is not an iteration 0..{iterations} or a range FIRST..LAST[/STEP] (e.g. 0..50/5,49)";
        // an item well formed but past the last iteration is said to be so, not to be malformed ("'0..99' is not … a range")
        string Beyond(string what) => $"--snapshot-steps '{text}': {what} goes beyond the last iteration {iterations} (--iters)";
        static bool Int(string t, out int v) => int.TryParse(t, NumberStyles.None, CultureInfo.InvariantCulture, out v);
        foreach (var raw in text.Split(','))
        {
            string item = raw.Trim();
            var range = item.Split("..");
            if (range.Length == 1)
            {
                if (!Int(item, out int k)) throw new ArgumentException(Bad(item));
                if (k > iterations) throw new ArgumentException(Beyond($"iteration {item}"));
                steps.Add(k);
                continue;
            }
            var tail = range[1].Split('/');
            int step = 1;
            if (range.Length != 2 || tail.Length > 2 || !Int(range[0], out int a) || !Int(tail[0], out int b) || b < a
                || (tail.Length == 2 && (!Int(tail[1], out step) || step < 1)))
                throw new ArgumentException(Bad(item));
            if (b > iterations) throw new ArgumentException(Beyond($"the range {item}"));
            for (int k = a; k <= b; k += step) steps.Add(k);
            steps.Add(b);
        }
        return steps.Count == 0 ? throw new ArgumentException($"--snapshot-steps '{text}': no iterations") : steps.ToArray();
    }

    /// <summary>The status word of the closing line.</summary>
    internal static string StatusWord(RunStatus s) => s switch { RunStatus.Completed => "completed", RunStatus.Diverged => "DIVERGED", _ => "INTERRUPTED" };

    /// <summary>The exit code of a finished training: 0 completed; 3 (with one line saying why) diverged or interrupted.</summary>
    internal static int Finish(RunStatus status, string? divergenceReason, int updates, string dir)
    {
        switch (status)
        {
            case RunStatus.Diverged when updates == 0:
                // nothing was updated: the step size cannot be the cause, the initialization (or the data) is
                Console.Error.WriteLine($"diverged: {divergenceReason}; no update was applied, so --eta is not the cause: reduce the initialization scales (--scales for --arch other than mlp, --scale/--v-scale for mlp) (the run directory holds iteration 0)");
                return ExitCodes.ToolFailed;
            case RunStatus.Diverged:
                Console.Error.WriteLine($"diverged: {divergenceReason}; try a smaller --eta (the run directory holds everything up to that point)");
                return ExitCodes.ToolFailed;
            case RunStatus.Interrupted:
                Console.Error.WriteLine($"interrupted after {updates} updates: {dir} holds the run up to that point (status interrupted); to train it in full, rerun the command with --force (it replaces this directory once the new run is complete)");
                return ExitCodes.ToolFailed;
            default:
                return ExitCodes.Done;
        }
    }

    internal static EngineFault ParseFault(string? s) => s?.ToLowerInvariant() switch
    {
        null or "" or "none" => EngineFault.None,
        "scaled-layer-gradient" => EngineFault.ScaledLayerGradient,
        "forward-depth-scale" => EngineFault.ForwardDepthScale,
        "wrong-activation-derivative" => EngineFault.WrongActivationDerivative,
        "stale-gradient" => EngineFault.StaleGradient,
        _ => throw new ArgumentException($"unknown fault '{s}': scaled-layer-gradient, forward-depth-scale, wrong-activation-derivative or stale-gradient"),
    };
}
