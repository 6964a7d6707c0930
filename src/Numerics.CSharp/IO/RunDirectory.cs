using System.Numerics;
using ResOdeProofs.Numerics.Blocks;
using ResOdeProofs.Numerics.Model;
using ResOdeProofs.Numerics.Training;

namespace ResOdeProofs.Numerics.IO;

/// <summary>Writes and reads run directories of every architecture (docs/run-format.md). Writing is all-or-nothing.</summary>
public static class RunDirectory
{
    /// <summary>
    /// γ_4 = 4u/(1 − 4u), u = 2⁻⁵³: the relative distance within which run.json's "eta" and the η derived from its
    /// "learning_rate" agree when the two decimals agree exactly (each read within u, the quotient one rounding: γ_3; one more
    /// for evaluating the comparison's product).
    /// </summary>
    public const double EtaAgreement = 4 * 1.1102230246251565e-16 / (1 - 4 * 1.1102230246251565e-16);

    /// <summary>
    /// The relative distance of a mean-over-entries loss, multiplied back by d_out, from the per-sample loss it stands for: the
    /// producer's division (or its own mean) and the reader's product, two roundings, (1 + u)² − 1 = 2u + u² (u = 2⁻⁵³), taken
    /// as 2u(1 + 2⁻⁵⁰) (a double just above it). Added to the losses' storage allowance (<see cref="RunData.LossesStorageRoundoff"/>)
    /// when d_out is not a power of two: a run of this engine relabelled so read VIOLATED against a bit-exact allowance of 0.
    /// </summary>
    public static readonly double ConversionRoundoff = Math.ScaleB(1.0 + Math.ScaleB(1.0, -50), -52);

    /// <summary>Two relative roundings one after the other: (1 + a)(1 + b) − 1 = a + b + ab.</summary>
    private static double Combine(double a, double b) => a + b + a * b;

    /// <summary>
    /// Writes the run <paramref name="r"/> of any architecture to <paramref name="dir"/>, all at once (see
    /// <see cref="OutputClaim"/>): an existing non-empty directory is replaced only with <paramref name="force"/>, and only
    /// when resode wrote it.
    /// </summary>
    public static void Write(TrainRecord r, string dir, bool force = false, RunProvenance? provenance = null)
    {
        using var claim = OutputClaim.Acquire(dir, force, "run");
        Write(r, claim, provenance);
    }

    /// <summary>Writes the run <paramref name="r"/> into a claimed output and commits it.</summary>
    public static void Write(TrainRecord r, OutputClaim claim, RunProvenance? provenance = null) =>
        Write(InMemory(r, claim.Target, provenance), claim, thetaFile: !r.SpelledWV);

    /// <summary>
    /// Writes a run into a claimed output and commits it: the parameters as theta.npy (S, L, P) with run.json
    /// "architecture" when <paramref name="thetaFile"/>, else as the MLP's parts w.npy (S, L, m, d) and v.npy (S, L, d, m).
    /// </summary>
    private static void Write(RunData run, OutputClaim claim, bool thetaFile)
    {
        claim.Commit(tmp =>
        {
            int S = run.Steps.Length, L = run.Depth, d = run.Dim;
            Npy.Write(Path.Combine(tmp, "x.npy"), run.Data.X, run.Data.Count, run.Data.InputDim);
            Npy.Write(Path.Combine(tmp, "y.npy"), run.Data.Y, run.Data.Count, run.Data.OutputDim);
            if (run.A is not null) Npy.Write(Path.Combine(tmp, "a.npy"), run.A, d, run.Data.InputDim);
            if (run.B is not null) Npy.Write(Path.Combine(tmp, "b.npy"), run.B, run.Data.OutputDim, d);
            if (thetaFile) Npy.Write(Path.Combine(tmp, "theta.npy"), Concat(run.Theta), S, L, run.ParameterCount);
            else
            {
                int m = run.Shape.Width;
                Npy.Write(Path.Combine(tmp, "w.npy"), Concat(run.W), S, L, m, d);
                Npy.Write(Path.Combine(tmp, "v.npy"), Concat(run.V), S, L, d, m);
            }
            Npy.WriteInt64(Path.Combine(tmp, "steps.npy"), run.Steps.Select(x => (long)x).ToArray(), S);
            Npy.Write(Path.Combine(tmp, "losses.npy"), run.Losses, run.Losses.Length);
            var traceDir = Directory.CreateDirectory(Path.Combine(tmp, "trace")).FullName;
            foreach (var (name, values) in run.Trace) Npy.Write(Path.Combine(traceDir, name + ".npy"), values, values.Length);
            File.WriteAllText(Path.Combine(tmp, "run.json"), run.Meta.ToJson());
        });
    }

    /// <summary>
    /// The run directory <c>Write</c> would produce, in memory (no disk): the same metadata and
    /// arrays, for checks that evaluate many runs. <paramref name="label"/> stands in for the directory name. A run spelled
    /// with the MLP's parts (<see cref="TrainRecord.SpelledWV"/>) keeps W and V, any other θ.
    /// </summary>
    public static RunData InMemory(TrainRecord r, string label = "(in memory)", RunProvenance? provenance = null)
    {
        var meta = Metadata(r, provenance);
        var trace = new Dictionary<string, double[]>(r.Trace);
        var steps = r.SnapshotSteps.ToArray();
        return r.SpelledWV
            ? new RunData
            {
                Directory = label, Meta = meta, Shape = r.Shape, Data = r.Data, A = r.A, B = r.B, Activation = r.Options.Activation,
                Eta = r.Options.Eta, Steps = steps, W = r.Snapshots.Select(p => p.W).ToArray(), V = r.Snapshots.Select(p => p.V).ToArray(),
                Losses = r.Losses, Trace = trace,
            }
            : new RunData
            {
                Directory = label, Meta = meta, Architecture = meta.Architecture!, Block = r.Block, Depth = r.Depth, Dim = r.Block.StateDim,
                Data = r.Data, A = r.A, B = r.B, Activation = r.Block.Activation, Eta = r.Options.Eta, Steps = steps,
                Theta = r.Snapshots.Select(p => p.Theta).ToArray(), Losses = r.Losses, Trace = trace,
            };
    }

    /// <summary>run.json content for a training result of any architecture.</summary>
    public static RunMetadata Metadata(TrainRecord r, RunProvenance? provenance = null)
    {
        var o = r.Options;
        var meta = Common(r, provenance);
        meta.Precision = o.Float32 ? "float32" : "float64";
        meta.Fault = o.Fault == EngineFault.None ? "none" : o.Fault.ToString();
        meta.Init = new InitMetadata
        {
            Kind = r.Init.Kind.ToString().ToLowerInvariant(),
            Modes = r.Init.Kind == InitKind.Smooth ? r.Init.Modes : null,
            MaxIncrementTimesDepth = r.Init.MaxIncrementTimesDepth,
            Description = r.Init.Description,
        };
        if (r.SpelledWV)
        {
            // the MLP spelled with its parts W and V: their own keys; the fast kernels' threads, or the flow's
            var s = r.Shape;
            meta.Threads = r.Flow is null ? o.EngineFor(s, r.Data.Count).Threads : 1; // the flow's integrator evaluates on one thread
            if (r.Flow is { } flow)
            {
                meta.Optimizer = o.Clip is null ? "gf" : "clipped-gf";
                meta.Horizon = flow.Horizon; meta.Rtol = flow.Rtol; meta.Atol = flow.Atol; meta.OdeMethod = flow.Method;
                meta.OutputTimes = flow.OutputTimes; meta.Dt = flow.OutputTimes is null ? o.Eta : null;
                meta.OdeSteps = flow.Steps; meta.OdeRejected = flow.Rejected; meta.OdeEvaluations = flow.Evaluations;
            }
            meta.Depth = s.Depth; meta.Width = s.Width; meta.D = s.Dim;
            meta.Init.Scale = r.Init.Kind == InitKind.File ? null : r.Init.Scales[0];
            meta.Init.VScale = r.Init.Kind == InitKind.File ? null : r.Init.Scales[1];
            meta.Init.LipschitzW = r.Init.LipschitzParts?[0];
            meta.Init.LipschitzV = r.Init.LipschitzParts?[1];
        }
        else
        {
            // any block spelled as θ: scales and Lipschitz bounds by part name, "architecture" with its layout
            var names = r.Block.ParameterLayout.Select(p => p.Name).ToArray();
            // the MLP block runs on the fast kernels: their thread count, as for the MLP (the generic pass: one thread, and
            // float64 without faults, which its backend refuses otherwise)
            meta.Threads = r.Block is MlpBlock ? o.EngineFor(r.Shape, r.Data.Count).Threads : 1;
            meta.Depth = r.Depth; meta.D = r.Block.StateDim;
            meta.Init.Scales = r.Init.Kind == InitKind.File ? null : names.Zip(r.Init.Scales).ToDictionary(x => x.First, x => x.Second);
            meta.Init.LipschitzParts = r.Init.LipschitzParts is null ? null : names.Zip(r.Init.LipschitzParts).ToDictionary(x => x.First, x => x.Second);
            meta.Architecture = ArchitectureMetadata.Of(r.Block, r.Hyper);
        }
        return meta;
    }

    /// <summary>The run.json keys every architecture's training result fills alike (gradient descent; the flow overrides the optimizer).</summary>
    private static RunMetadata Common(TrainRecord r, RunProvenance? provenance) => new()
    {
        EngineVersion = EngineInfo.Version, EngineCommit = EngineInfo.Commit, EngineBuild = EngineInfo.Build, Platform = EngineInfo.Platform, SimdBits = Simd.Bits(Simd.Level), CommandLine = provenance?.CommandLine,
        Status = StatusName(r.Status), DivergedAt = r.DivergedAt, DivergenceReason = r.DivergenceReason,
        Activation = Activations.Name(r.Options.Activation), Eta = r.Options.Eta,
        Optimizer = r.Options.Optimizer == OptimizerKind.GradientDescent ? "gd" : "clipped-gd", ClipRadius = r.Options.Clip,
        Iterations = r.Options.Iterations, N = r.Data.Count, DIn = r.Data.InputDim, DOut = r.Data.OutputDim,
        Seed = r.Seed, Data = r.DataDescription, Trace = r.Trace.Keys.ToList(),
        Seconds = r.Seconds, MsPerIteration = r.Losses.Length > 0 ? 1000.0 * r.Seconds / r.Losses.Length : null,
        CreatedBy = $"resode {EngineInfo.Version}", Fashion = provenance?.Fashion,
    };

    /// <summary>run.json "status" of a run status.</summary>
    public static string StatusName(RunStatus status) => status switch
    {
        RunStatus.Completed => "completed",
        RunStatus.Diverged => "diverged",
        RunStatus.Interrupted => "interrupted",
        _ => throw new ArgumentOutOfRangeException(nameof(status)),
    };

    /// <summary>
    /// Creates <paramref name="dir"/> all at once: <paramref name="fill"/> writes into the partial directory of an
    /// <see cref="OutputClaim"/> of <paramref name="kind"/>, which is then moved into place. On any failure the
    /// partial directory is removed and an existing <paramref name="dir"/> is left as it was.
    /// </summary>
    public static void WriteAtomically(string dir, bool force, Action<string> fill, string kind = "run", string replacing = "--force")
    {
        using var claim = OutputClaim.Acquire(dir, force, kind, replacing);
        claim.Commit(fill);
    }

    private static double[] Concat(IReadOnlyList<double[]> parts)
    {
        var all = new double[parts.Sum(p => (long)p.Length)];
        long off = 0;
        foreach (var p in parts) { p.CopyTo(all, off); off += p.Length; }
        return all;
    }

    /// <summary>The optimizer names run.json may give that the verifier replays (in any case).</summary>
    private static readonly string[] KnownOptimizers = { "gd", "clipped-gd", "gf", "clipped-gf" };

    /// <summary>A block run's trace columns that mean one of the MLP's (θ_k = (W_k, V_k)): (block name, MLP name).</summary>
    private static readonly (string Block, string Mlp)[] MlpColumnSpellings =
    {
        ("smooth_theta", "smooth_z"), ("smooth_W", "smooth_w"), ("smooth_V", "smooth_v"), ("fro_max_W", "w_fro_max"), ("fro_max_V", "v_fro_max"),
    };

    /// <summary>
    /// What a run directory holds, as a string that changes when it does: run.json's SHA-256 and, for every .npy file at its
    /// top level and in trace/, its name, length and last write time. A verify compares the one taken before its checks with
    /// the one just before it writes verdicts.json, so that the verdicts of a run are never written beside another run that
    /// replaced it meanwhile (`train --force` renames a new run into the same path) or beside files changed under it.
    /// </summary>
    public static string Fingerprint(string dir) => Fingerprint(dir, content: false);

    /// <summary>
    /// The content of what a verify reads, as one SHA-256 (lowercase hex): over run.json and every .npy file at the top level
    /// and in trace/ (the files of <see cref="Fingerprint(string)"/>), in ordinal order, each as its relative name, length
    /// and the SHA-256 of its bytes. verify records it in verdicts.json ("run_sha256", under the file's seal), and
    /// `sweep merge` takes a cell's verdicts only while its run still has it: a verdict stays tied to the bytes it was
    /// reached on (a user test changed one byte of a finished cell's w.npy and merge reported its old verdicts).
    /// </summary>
    public static string ContentDigest(string dir) =>
        Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(Fingerprint(dir, content: true))));

    private static string Fingerprint(string dir, bool content)
    {
        var sb = new System.Text.StringBuilder();
        var json = Path.Combine(dir, "run.json");
        try
        {
            // a run.json that is empty or not a regular file is not opened (a read of a named pipe waits for a writer forever,
            // and the fingerprint is taken before the run is read): Read then refuses it by name (RequireReadable)
            sb.Append(!File.Exists(json) ? "no run.json"
                : new FileInfo(json).Length == 0 ? "run.json empty or not a regular file"
                : Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(json))));
            foreach (var sub in new[] { dir, Path.Combine(dir, "trace") })
            {
                if (!Directory.Exists(sub)) continue;
                foreach (var f in Directory.EnumerateFiles(sub, "*.npy").Order(StringComparer.Ordinal))
                {
                    var info = new FileInfo(f);
                    sb.Append('|').Append(Path.GetRelativePath(dir, f)).Append(':').Append(info.Length).Append(':');
                    if (!content) sb.Append(info.LastWriteTimeUtc.Ticks);
                    else if (info.Length == 0) sb.Append("empty or not a regular file");   // a named pipe is not opened
                    else sb.Append(OutputClaim.ContentHash(f));
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            sb.Append("|unreadable: ").Append(e.Message);
        }
        return sb.ToString();
    }

    /// <summary>
    /// Reads a run directory of any architecture written by this engine or by any tool that follows docs/run-format.md:
    /// an MLP run (no "architecture" in run.json, or "mlp") from its parts w.npy and v.npy, any other (and an MLP written
    /// so) from theta.npy laid out as run.json "architecture" says. Throws <see cref="RunFormatException"/> naming the
    /// file and the problem.
    /// </summary>
    public static RunData Read(string dir)
    {
        if (File.Exists(dir)) throw new RunFormatException($"{dir}: is a file, not a run directory (a directory with run.json and the .npy files; see docs/run-format.md)");
        if (!Directory.Exists(dir)) throw new RunFormatException($"{dir}: no such run directory; create one with `resode train --out {dir}`");
        string P(string f) => Path.Combine(dir, f);
        // a directory that cannot be listed hides its files: said as such, not as files missing
        try { using var e = Directory.EnumerateFileSystemEntries(dir).GetEnumerator(); e.MoveNext(); }
        catch (Exception e) when (e is UnauthorizedAccessException or IOException)
        {
            throw new RunFormatException($"{dir}: cannot be read ({e.Message}); give resode read and search permission on the run directory (chmod u+rx)");
        }
        if (Directory.Exists(P("run.json"))) throw new RunFormatException($"{P("run.json")}: is a directory, not a file; a run directory needs run.json with at least \"activation\" and \"eta\" (see docs/run-format.md)");
        if (!File.Exists(P("run.json"))) throw new RunFormatException(OutputClaim.WithInterruptedMove($"{dir}: run.json is missing; a run directory needs run.json with at least \"activation\" and \"eta\" (see docs/run-format.md)", dir));
        RequireReadable(P("run.json"));
        string json = File.ReadAllText(P("run.json"));
        var meta = RunMetadata.Parse(json, P("run.json"));
        RequireUniqueKeys(json, P("run.json"));
        // the counts (depth, width, n, d, iterations, threads, …) in their ranges before any is compared with the arrays
        meta.CheckIntegerFields(P("run.json"));
        if (meta.Activation is null) throw new RunFormatException($"{P("run.json")}: \"activation\" is missing (one of gelu, tanh, softplus, relu, identity)");
        ActivationKind act;
        try { act = Activations.Parse(meta.Activation); }
        catch (ArgumentException e) { throw new RunFormatException($"{P("run.json")}: {(e.ParamName is { } pn ? e.Message.Replace($" (Parameter '{pn}')", "") : e.Message)}"); }
        // the optimizers the verifier replays are named in any case, as the activation is ("GD", "Clipped-GD"); any other
        // name stays as given: an optimizer the results do not cover, which they say
        if (KnownOptimizers.FirstOrDefault(k => string.Equals(k, meta.Optimizer, StringComparison.OrdinalIgnoreCase)) is { } known) meta.Optimizer = known;
        // the clipped optimizers are defined by their radius: without it no update can be replayed or compared (user test: a
        // plain run relabelled clipped-gd without a radius was accepted, and a clipped run without its radius reported violated)
        if (meta.Optimizer is "clipped-gd" or "clipped-gf" && meta.ClipRadius is null)
            throw new RunFormatException($"{P("run.json")}: \"optimizer\" is \"{meta.Optimizer}\" but \"clip_radius\" is missing: give the radius C of Z ← Z − η·min(1, C/‖G_k‖)·G_k, or say \"{(meta.Optimizer == "clipped-gd" ? "gd" : "gf")}\" for no clipping");
        bool meanOverEntries = meta.Loss is "mean-over-entries" or "mean";
        if (!meanOverEntries && meta.Loss != "per-sample")
            throw new RunFormatException($"{P("run.json")}: \"loss\" is \"{meta.Loss}\"; use \"per-sample\" ((1/n) Σ_i ‖F(x_i) − y_i‖²) or \"mean-over-entries\" (the mean over all n·d_out entries). A loss c·Σ_i ‖F(x_i) − y_i‖² (c = ½ or 1) is per-sample times c·n: store losses.npy divided by c·n and give \"learning_rate\" as your rate times c·n (the same updates, since the gradient scales alike)");
        if (meta.Eta is null && meta.LearningRate is null) throw new RunFormatException($"{P("run.json")}: \"eta\" is missing (the time step: Z ← Z − η·L·∂ℓ/∂Z), or give the tool's own \"learning_rate\"");
        var arch = meta.Architecture;
        // theta.npy: the parts of every layer in one array, as run.json "architecture" lays them out; else the MLP's w.npy, v.npy
        bool thetaFile = arch is not null && (arch.Name != "mlp" || File.Exists(P("theta.npy")));
        try
        {
            foreach (var f in new[] { "x.npy", "y.npy" }.Concat(thetaFile ? new[] { "theta.npy" } : new[] { "w.npy", "v.npy" }).Concat(new[] { "steps.npy", "losses.npy" }))
            {
                if (Directory.Exists(P(f))) throw new RunFormatException($"{P(f)}: is a directory, not a file (see docs/run-format.md for the files a run directory holds)");
                if (!File.Exists(P(f))) throw new RunFormatException(OutputClaim.WithInterruptedMove($"{dir}: {f} is missing (see docs/run-format.md for the files a run directory holds)", dir));
                // an empty .npy, a pipe or a device: refused by Npy.Read before it opens the file
            }
            var x = Npy.Read(P("x.npy"), "inputs x (n, d_in)", -1, -1);
            int n = x.Shape[0], dIn = x.Shape[1];
            // a run stored as theta.npy has no array whose shape is d: run.json's "d", else the rows of the embedding A
            // (a.npy, (d, d_in)), else d_in (no embedding). Until 2026-12-08 a.npy was not asked: a NumPy block run with an
            // embedding and no "d" was refused, its A "expected (d_in, d_in)"
            int thetaDim = meta.D ?? (thetaFile && File.Exists(P("a.npy")) ? Npy.Read(P("a.npy"), $"embedding A (d, d_in) with d_in = {dIn}", -1, dIn).Shape[0] : dIn);
            if (arch is not null) CheckArchitecture(arch, meta, thetaDim, act, P("run.json"));
            int S, L, d, m = 0;
            double[][] ws = Array.Empty<double[]>(), vs = Array.Empty<double[]>(), thetas = Array.Empty<double[]>();
            bool float32;
            if (thetaFile)
            {
                var parts = arch!.Parts();
                int perLayer = parts.Sum(q => q.Shape.Aggregate(1, (a, b) => a * b));
                // one array per snapshot, read straight from the file (`Npy.ReadSlices`)
                var th = Npy.ReadSlices(P("theta.npy"), $"parameters θ (S, L, P) with P = {perLayer} from architecture.layout", -1, -1, perLayer);
                S = th.Shape[0]; L = th.Shape[1]; d = thetaDim;
                CheckArray(meta.Depth, L, "depth", P("theta.npy"), th.Shape, "(S, L, P)");
                thetas = th.Slices;
                float32 = th.DType.EndsWith("f4");
            }
            else
            {
                // one array per snapshot, read straight from the file (`Npy.ReadSlices`)
                var w = Npy.ReadSlices(P("w.npy"), "weights W (S, L, m, d)", -1, -1, -1, -1);
                S = w.Shape[0]; L = w.Shape[1]; m = w.Shape[2]; d = w.Shape[3];
                // A w.npy that disagrees with run.json is an error of w.npy (not of v.npy, which is checked against w below).
                CheckArray(meta.Depth, L, "depth", P("w.npy"), w.Shape, "(S, L, m, d)");
                CheckArray(meta.Width, m, "width", P("w.npy"), w.Shape, "(S, L, m, d)");
                CheckArray(meta.D, d, "d", P("w.npy"), w.Shape, "(S, L, m, d)");
                // w.npy, v.npy and steps.npy count the snapshots each: where they disagree, all three counts are named (a
                // message blaming v.npy alone sent a user with a short w.npy to the wrong file)
                var vCount = Npy.ReadSlices(P("v.npy"), "weights V (S, L, d, m)", -1, -1, -1, -1).Shape[0];
                if (vCount != S)
                {
                    string stepsCount;
                    try { Npy.ReadInt64(P("steps.npy"), out var sh, integerDTypeOnly: true); stepsCount = sh.Length == 1 ? sh[0].ToString(System.Globalization.CultureInfo.InvariantCulture) : "an array of another shape"; }
                    catch (Exception e) when (e is IOException or NpyFormatException or RunFormatException) { stepsCount = "unreadable"; }
                    throw new RunFormatException($"{dir}: w.npy holds {S} snapshots, v.npy {vCount} and steps.npy {stepsCount}: the three must count the same snapshots; the file that differs is the one to fix");
                }
                var v = Npy.ReadSlices(P("v.npy"), $"weights V (S, L, d, m) = ({S}, {L}, {d}, {m})", S, L, d, m);
                ws = w.Slices; vs = v.Slices;
                float32 = w.DType.EndsWith("f4") && v.DType.EndsWith("f4");
            }
            var y = Npy.Read(P("y.npy"), $"targets y (n, d_out) with n = {n}", n, -1);
            int dOut = y.Shape[1];
            // empty axes are a user's file, not a network: refused here by name (a depth of 0 reached the checks, which
            // failed as tool errors on empty arrays)
            string wFile = thetaFile ? "theta.npy" : "w.npy";
            if (n < 1) throw new RunFormatException($"{P("x.npy")}: holds no sample (shape (0, {dIn})); a run needs at least one input x_i, with its target in y.npy");
            if (dIn < 1) throw new RunFormatException($"{P("x.npy")}: its inputs have no entry (shape ({n}, 0)); each x_i needs d_in ≥ 1 entries");
            if (dOut < 1) throw new RunFormatException($"{P("y.npy")}: its targets have no entry (shape ({n}, 0)); each y_i needs d_out ≥ 1 entries");
            if (L < 1) throw new RunFormatException($"{P(wFile)}: has depth L = 0 (no layer); a residual network needs at least one layer (L ≥ 1 on the second axis)");
            if (!thetaFile && (m < 1 || d < 1)) throw new RunFormatException($"{P("w.npy")}: has {(m < 1 ? "width m = 0" : "state dimension d = 0")} (shape (S, L, m, d) = ({S}, {L}, {m}, {d})); each layer needs m ≥ 1 and d ≥ 1");
            double[]? a = null, b = null;
            if (File.Exists(P("a.npy"))) a = Npy.Read(P("a.npy"), $"embedding A (d, d_in) = ({d}, {dIn})", d, dIn).Data;
            else if (dIn != d) throw new RunFormatException($"{dir}: x has d_in = {dIn} ≠ d = {d} but a.npy (the embedding A, shape ({d}, {dIn})) is missing");
            if (File.Exists(P("b.npy"))) b = Npy.Read(P("b.npy"), $"read-out B (d_out, d) = ({dOut}, {d})", dOut, d).Data;
            else if (dOut != d) throw new RunFormatException($"{dir}: y has d_out = {dOut} ≠ d = {d} but b.npy (the read-out B, shape ({dOut}, {d})) is missing");
            var steps = Npy.ReadInt64(P("steps.npy"), out var stepsShape, integerDTypeOnly: true);
            if (stepsShape.Length != 1 || stepsShape[0] != S) throw new RunFormatException($"{P("steps.npy")}: expected shape ({S},) (one iteration per snapshot in {(thetaFile ? "theta.npy" : "w.npy")}), got ({string.Join(", ", stepsShape)})");
            var lossArray = Npy.Read(P("losses.npy"), "losses (N+1,)", -1);
            var losses = lossArray.Data;
            double lossStorage = lossArray.DType.EndsWith("f4", StringComparison.Ordinal) ? Math.ScaleB(1.0, -24) : 0.0;
            // the losses of a mean-over-entries run are per-sample losses divided by d_out (the producer's rounding, or its own
            // mean) and multiplied back here: two roundings, none when d_out is a power of two (docs/run-format.md, "loss")
            double conversion = meanOverEntries && !BitOperations.IsPow2(dOut) ? ConversionRoundoff : 0.0;
            lossStorage = Combine(lossStorage, conversion);
            // foreign conventions: the loss as a mean over entries, a raw learning rate, precision from the parameters' dtype
            if (meanOverEntries) for (int i = 0; i < losses.Length; i++) losses[i] *= dOut;
            double lossScale = meanOverEntries ? dOut : 1.0;
            if (meta.LearningRate is double lr)
            {
                double derived = lr / (L * lossScale);
                // both typed as decimals in run.json: each read as the nearest double (u = 2⁻⁵³ relative), the quotient one more
                // rounding, so decimals that agree exactly give doubles within γ_3 of each other; γ_4 covers the evaluation of
                // this product too (docs/run-format.md, "eta and learning_rate")
                if (meta.Eta is double given && Math.Abs(given - derived) > EtaAgreement * derived)
                    throw new RunFormatException($"{P("run.json")}: \"eta\" = {given} disagrees with \"learning_rate\" = {lr} (η = learning_rate/(L·{lossScale}) = {derived}); give one of them");
                // both given and agreeing: η is the "eta" written (the quotient may differ from it in its last bit, and a run
                // of this engine with a learning_rate added was replayed with that quotient and VIOLATED bit for bit: a user)
                if (meta.Eta is null) { meta.Eta = derived; meta.EtaFromLearningRate = true; }
            }
            if (meta.Eta is not double eta || !(eta > 0) || !double.IsFinite(eta)) throw new RunFormatException($"{P("run.json")}: \"eta\" must be a positive number (the time step: Z ← Z − η·L·∂ℓ/∂Z)");
            if (!DeclaresPrecision(json)) meta.Precision = float32 ? "float32" : "float64";
            // no snapshot: only a run that diverged at its very first loss (the engine writes it so), never a finished one
            if (S == 0 && meta.Status != "diverged")
                throw new RunFormatException($"{P(thetaFile ? "theta.npy" : "w.npy")}: holds no snapshot (S = 0); a run directory needs at least the weights of iteration 0, unless run.json says \"status\": \"diverged\" (see docs/run-format.md)");
            for (int i = 1; i < S; i++) if (steps[i] <= steps[i - 1]) throw new RunFormatException($"{P("steps.npy")}: snapshot iterations must increase strictly (entry {i} is {steps[i]} after {steps[i - 1]})");
            if (S > 0 && (steps[0] < 0 || steps[S - 1] >= losses.Length))
                // a losses.npy shorter than run.json's iterations is the file to fix, not steps.npy
                throw new RunFormatException(meta.Iterations is int declared && declared + 1 > losses.Length && steps[S - 1] <= declared
                    ? $"{P("losses.npy")}: holds {losses.Length} losses, but run.json says \"iterations\": {declared} ({declared + 1} losses) and steps.npy has a snapshot at iteration {steps[S - 1]}: losses.npy is short (or run.json and steps.npy are wrong)"
                    : $"{P("steps.npy")}: snapshot iterations must lie in 0..{losses.Length - 1} (losses.npy has {losses.Length} entries)");
            Check(meta.Depth, L, "depth", dir); Check(meta.D, d, "d", dir); Check(meta.N, n, "n", dir);
            if (!thetaFile) Check(meta.Width, m, "width", dir);
            Npy.RequireFinite(x, P("x.npy"), "inputs x"); Npy.RequireFinite(y, P("y.npy"), "targets y");
            // the parameters every result starts from: a non-finite snapshot is not a run any statement speaks of (a run
            // that diverged stops before its weights do: the trainer snapshots only finite iterates)
            if (thetaFile) RequireFinite(thetas, P("theta.npy"), "parameters θ of snapshot");
            else { RequireFinite(ws, P("w.npy"), "weights W of snapshot"); RequireFinite(vs, P("v.npy"), "weights V of snapshot"); }
            // a run that says it computed in float32 holds float32 weights, whatever dtype stores them: the unit roundoff every
            // tolerance of a replay takes from that claim (2⁻²⁴ instead of 2⁻⁵³) is then backed by the weights themselves
            if (meta.Precision == "float32")
            {
                if (thetaFile) RequireFloat32(thetas, P("theta.npy"), "parameters θ of snapshot");
                else { RequireFloat32(ws, P("w.npy"), "weights W of snapshot"); RequireFloat32(vs, P("v.npy"), "weights V of snapshot"); }
            }
            else
            {
                // the mirror claim: a run that says float64 whose every snapshot, a trained one included, holds float32 numbers
                // only was computed in float32 (float64 updates leave the float32 numbers at once); refused as the float32
                // claim on float64 numbers is, since every tolerance would take the wrong unit roundoff. Snapshots of the
                // initialization alone are not enough to tell (a float32 draw stored as float64 is a float64 run's start).
                var all = thetaFile ? thetas : ws.Concat(vs).ToArray();
                bool trained = Enumerable.Range(1, Math.Max(0, steps.Length - 1)).Any(s2 => steps[s2] > 0
                    && (thetaFile ? !thetas[s2].AsSpan().SequenceEqual(thetas[0]) : !ws[s2].AsSpan().SequenceEqual(ws[0]) || !vs[s2].AsSpan().SequenceEqual(vs[0])));
                if (trained && AllFloat32(all))
                    throw new RunFormatException($"{P("run.json")}: the run says float64 ({(json.Contains("\"precision\"", StringComparison.Ordinal) ? "\"precision\": \"float64\"" : "no \"precision\", and the weights are stored as float64")}), but every snapshot's weights, trained ones included, are float32 numbers: computed in float32, or stored as float32 after a float64 computation. Either way the files hold float32 numbers only: declare \"precision\": \"float32\" (the unit roundoff every replay tolerance takes), or, for a float64 computation, store its weights before they were rounded to float32 (a float64 dtype of float32 values does not help)");
            }
            if (a is not null) Npy.RequireFinite(new NpyArray(new[] { d, dIn }, a, "<f8"), P("a.npy"), "embedding A");
            if (b is not null) Npy.RequireFinite(new NpyArray(new[] { dOut, d }, b, "<f8"), P("b.npy"), "read-out B");
            // the losses: finite, but for the last entry of a run that says it diverged (the loss that stopped it)
            int lossesChecked = meta.Status == "diverged" ? losses.Length - 1 : losses.Length;
            for (int i = 0; i < lossesChecked; i++)
                if (!double.IsFinite(losses[i]))
                    throw new RunFormatException($"{P("losses.npy")}: entry {i} is {losses[i]}; only the last loss of a run whose run.json says \"status\": \"diverged\" may be non-finite");
            CheckDeclared(meta, losses.Length, dIn, dOut, dir, P("run.json"));
            var trace = new Dictionary<string, double[]>();
            var traceStorage = new Dictionary<string, double>();
            var traceDir = P("trace");
            // the columns run.json lists are claims about the files: each must be there (a trace that is a file, or a listed
            // column without its .npy, is a run.json that disagrees with the directory)
            var readNotes = new List<string>();
            // an optimizer name that is a known one spelt with '_' or ' ' for '-' ("clipped_gd"): a note naming it, since the
            // run is then read as an optimizer the results do not cover (a PyTorch user's typo read "not plain gradient descent"
            // without a word, and its clip_radius unused)
            if (!KnownOptimizers.Contains(meta.Optimizer)
                && KnownOptimizers.FirstOrDefault(k => string.Equals(k, meta.Optimizer.Replace('_', '-').Replace(' ', '-'), StringComparison.OrdinalIgnoreCase)) is { } meant)
                readNotes.Add($"{P("run.json")}: \"optimizer\" is \"{meta.Optimizer}\", not one the verifier replays: did you mean \"{meant}\"? (read as another optimizer: the results about gradient descent and flow say they do not cover it)");
            if (meta.ClipRadius is double cr && meta.Optimizer is "gd" or "gf")
                readNotes.Add($"{P("run.json")}: \"clip_radius\" is {cr.ToString("R", System.Globalization.CultureInfo.InvariantCulture)} but \"optimizer\" is \"{meta.Optimizer}\", which does not clip: the radius is not used (say \"clipped-{meta.Optimizer}\" if the run was clipped)");
            if (meta.Trace is { Count: > 0 } listed)
            {
                var absent = listed.Where(c => !File.Exists(Path.Combine(traceDir, c + ".npy"))).ToList();
                if (File.Exists(traceDir))
                    readNotes.Add($"{traceDir} is a file, but run.json lists trace columns ({string.Join(", ", listed.Take(3))}{(listed.Count > 3 ? ", …" : "")}) that live in the directory trace/ as NAME.npy: the run is read without a trace");
                else if (absent.Count > 0)
                    readNotes.Add($"{P("run.json")}: \"trace\" lists {string.Join(", ", absent.Take(5))}{(absent.Count > 5 ? $" and {absent.Count - 5} more" : "")}, but trace/{absent[0]}.npy{(absent.Count > 1 ? " and the others are" : " is")} missing: the run is read without {(absent.Count > 1 ? "them" : "it")} (the results that read a column say so)");
            }
            string[] traceFiles;
            try { traceFiles = Directory.Exists(traceDir) ? Directory.GetFiles(traceDir, "*.npy") : []; }
            catch (Exception e) when (e is UnauthorizedAccessException or IOException)
            {
                throw new RunFormatException($"{traceDir}: cannot be read ({e.Message}); give resode read and search permission on it (chmod u+rx), or move it out of the run directory (the trace is optional)");
            }
            if (traceFiles.Length > 0)
                foreach (var f in traceFiles.OrderBy(f => f, StringComparer.Ordinal))
                {
                    var t = Npy.Read(f, "trace column (N+1,)", losses.Length);
                    var col = Path.GetFileNameWithoutExtension(f);
                    if (meanOverEntries && col == "loss") for (int i = 0; i < t.Data.Length; i++) t.Data[i] *= dOut;
                    trace[col] = t.Data;
                    double stored = t.DType.EndsWith("f4", StringComparison.Ordinal) ? Math.ScaleB(1.0, -24) : 0.0;
                    if (col == "loss") stored = Combine(stored, conversion);
                    if (stored > 0) traceStorage[col] = stored;
                }
            // an MLP run may name its columns as any block's run does (docs/run-format.md, the columns of a run written as
            // theta.npy): those meaning one of the MLP's own are read under its name, so that E.claims and I.trace compare them
            // (until 2026-12-08 nothing read them: an MLP run written as theta.npy with smooth_theta ten times its value held)
            if (arch is null || arch.Name == "mlp")
                foreach (var (blockName, mlpName) in MlpColumnSpellings)
                    if (!trace.ContainsKey(mlpName) && trace.Remove(blockName, out var column))
                    {
                        trace[mlpName] = column;
                        if (traceStorage.Remove(blockName, out var r)) traceStorage[mlpName] = r;
                    }
            RequireTraceFinite(trace, losses, lossesChecked, L, meta.Optimizer is "clipped-gd" or "clipped-gf", traceDir);
            var data = new Dataset(n, dIn, dOut, x.Data, y.Data);
            var intSteps = steps.Select(z => (int)z).ToArray();
            if (!thetaFile)
                return new RunData
                {
                    Directory = dir, Meta = meta, Shape = new NetworkShape(L, m, d, dIn, dOut), Data = data, A = a, B = b,
                    Activation = act, Eta = eta, Steps = intSteps, W = ws, V = vs, Losses = losses, LossesStorageRoundoff = lossStorage, TraceStorageRoundoff = traceStorage, UnknownRunJsonKeys = RunMetadata.UnknownKeys(json), ReadNotes = readNotes, Trace = trace,
                };
            var run = new RunData
            {
                Directory = dir, Meta = meta, Architecture = arch!, Depth = L, Dim = d, Data = data, A = a, B = b,
                Activation = act, Eta = eta, Steps = intSteps, Theta = thetas, Losses = losses, LossesStorageRoundoff = lossStorage, TraceStorageRoundoff = traceStorage, UnknownRunJsonKeys = RunMetadata.UnknownKeys(json), ReadNotes = readNotes, Trace = trace,
            };
            if (run.Block is { } block && block.ParameterCount != run.ParameterCount)
                throw new RunFormatException($"{P("run.json")}: architecture '{arch!.Name}' with d = {d} has {block.ParameterCount} parameters per layer, the layout says {run.ParameterCount}");
            // the layout names the registered block's parts in its order with its shapes: the replay reads θ by that order and
            // the constants by the names, so another order or shape would be read two ways (a layout [b, W] was), and a
            // renamed part ended as tool errors in every row
            if (run.Block is { } registered)
            {
                var declared = arch!.Parts();
                var expected = registered.ParameterLayout;
                static string Fmt(IEnumerable<(string Name, int[] Shape)> ps) => FormatParts(ps);
                bool same = declared.Length == expected.Count
                    && declared.Zip(expected).All(z => z.First.Name == z.Second.Name && z.First.Shape.SequenceEqual(z.Second.Shape));
                if (!same)
                    throw new RunFormatException($"{P("run.json")}: architecture '{arch.Name}' with d = {d} has the parts {Fmt(expected)} in this order; the layout says {Fmt(declared)}: list the block's parts with these names and shapes in this order (theta.npy holds each layer's parts one after the other in it)");
            }
            return run;
        }
        catch (NpyFormatException e) { throw new RunFormatException($"{dir}: {e.Message}", e); }
    }

    /// <summary>Parts as "[W (8×3), U (8×3), V (3×8)]", for messages.</summary>
    private static string FormatParts(IEnumerable<(string Name, int[] Shape)> ps) =>
        "[" + string.Join(", ", ps.Select(q => $"{q.Name} ({string.Join("×", q.Shape)})")) + "]";

    /// <summary>
    /// run.json's "architecture" and the per-part constants of "init", checked before θ is read. A registered block is built
    /// from exactly the hyper-parameters given, so each must be there as a whole number ≥ 1 and none it does not have may be
    /// (a misspelt "widht" beside "width", or a hyper-parameter of another block, would verify another block than the
    /// producer trained); a block the hyper-parameters cannot build (conv with C·H·W ≠ d) is refused with the block's own
    /// reason. (Until 2026-12-06 these ended as "not registered" hypotheses, or as tool errors, exit 3.) The layout must be
    /// given (without it θ was read with P = 0 and the message spoke of a shape); init.lipschitz_parts and init.scales may
    /// name only parts of the layout (a constant given for "w" instead of "W" was ignored without a word, leaving W's
    /// hypothesis unmet). An architecture this build does not register is read as the producer lays it out: its rows say
    /// the block is not registered.
    /// </summary>
    private static void CheckArchitecture(ArchitectureMetadata arch, RunMetadata meta, int d, ActivationKind act, string json)
    {
        var entry = BlockCatalog.All.FirstOrDefault(e => string.Equals(e.Name, arch.Name, StringComparison.OrdinalIgnoreCase));
        string[] partNames;
        if (entry is not null)
        {
            var known = entry.HyperParameters.Select(p => p.Name).ToArray();
            string Known() => known.Length == 0 ? "none (it is built from d alone)" : string.Join(", ", known);
            foreach (var key in arch.Hyper.Keys.OrderBy(k => k, StringComparer.Ordinal))
                if (!known.Contains(key, StringComparer.Ordinal))
                    throw new RunFormatException($"{json}: \"architecture.hyper\" gives {key}, which the '{entry.Name}' block does not have; its hyper-parameters: {Known()}");
            foreach (var p in entry.HyperParameters)
            {
                if (!arch.Hyper.TryGetValue(p.Name, out var v))
                    throw new RunFormatException($"{json}: \"architecture.hyper\" lacks {p.Name} ({p.Meaning}); the '{entry.Name}' block is built from it: give it as a whole number ≥ 1");
                if (!(v >= 1 && v <= int.MaxValue && v == Math.Floor(v)))
                    throw new RunFormatException($"{json}: \"architecture.hyper\" gives {p.Name} = {v.ToString("R", System.Globalization.CultureInfo.InvariantCulture)}; {p.Meaning} is a whole number ≥ 1");
            }
            IResidualBlock block;
            try { block = entry.Create(d, act, arch.Hyper); }
            catch (ArgumentException e) { throw new RunFormatException($"{json}: architecture '{entry.Name}' with d = {d}: {e.Message}"); }
            if (arch.Layout.Count == 0)
                throw new RunFormatException($"{json}: \"architecture.layout\" is missing or empty; the '{entry.Name}' block with d = {d} has the parts {FormatParts(block.ParameterLayout)}: list them as [[name, shape], ...] in this order (theta.npy holds each layer's parts one after the other in it)");
            partNames = block.ParameterLayout.Select(p => p.Name).ToArray();
        }
        else
        {
            if (arch.Layout.Count == 0)
                throw new RunFormatException($"{json}: \"architecture.layout\" is missing or empty; list the block's parts as [[name, shape], ...] in the order theta.npy holds them (docs/run-format.md)");
            partNames = arch.Parts().Select(p => p.Name).ToArray();
        }
        foreach (var (key, given) in new[] { ("init.lipschitz_parts", meta.Init.LipschitzParts), ("init.scales", meta.Init.Scales) })
            if (given is not null)
                foreach (var part in given.Keys.OrderBy(k => k, StringComparer.Ordinal))
                    if (!partNames.Contains(part, StringComparer.Ordinal))
                        throw new RunFormatException($"{json}: \"{key}\" names {part}, which is not a part of the '{arch.Name}' block (its parts: {string.Join(", ", partNames)}); name each part as the layout does");
    }

    /// <summary>Refuses a run.json that is not a file with bytes in it before it is opened: a named pipe, a device or an
    /// empty file (a read of a pipe would wait for a writer forever). The .npy files get the same from Npy.Read.</summary>
    private static void RequireReadable(string path)
    {
        if (new FileInfo(path).Length == 0)
            throw new RunFormatException($"{path}: is empty or not a regular file (a named pipe or a device); a run directory holds files written whole (see docs/run-format.md)");
    }

    /// <summary>A key given twice in run.json is ambiguous: refused, naming the key.</summary>
    private static void RequireUniqueKeys(string json, string path)
    {
        static void Walk(System.Text.Json.Nodes.JsonNode? node)
        {
            // a JsonObject builds its dictionary (and meets a repeated key) when first enumerated
            if (node is System.Text.Json.Nodes.JsonObject o) foreach (var kv in o) Walk(kv.Value);
            else if (node is System.Text.Json.Nodes.JsonArray a) foreach (var e in a) Walk(e);
        }
        try { Walk(System.Text.Json.Nodes.JsonNode.Parse(json)); }
        catch (System.Text.Json.JsonException) { }   // the typed reader has reported what it could not read
        catch (InvalidOperationException) { }
        catch (ArgumentException e) when (e.Message.Contains("same key", StringComparison.Ordinal))
        {
            throw new RunFormatException($"{path}: a key is given twice ({e.Message.Split("Key:").LastOrDefault()?.Split('(')[0].Trim()}); give each key once");
        }
    }

    private static void RequireFinite(double[][] snapshots, string path, string what)
    {
        for (int s = 0; s < snapshots.Length; s++)
            for (int i = 0; i < snapshots[s].Length; i++)
                if (!double.IsFinite(snapshots[s][i]))
                    throw new RunFormatException($"{path}: {what} {s} holds {snapshots[s][i]} at flat index {i}; every snapshot must be finite (a diverged run ends at its last finite iterate)");
    }

    /// <summary>
    /// The trace columns this format defines (the MLP's, and any block's: the common ones, smooth_&lt;part&gt; and
    /// fro_max_&lt;part&gt;), whose entries <see cref="RequireTraceFinite"/> checks; a column of another name is a producer's own
    /// and no result reads it.
    /// </summary>
    private static bool DefinedTraceColumn(string col) =>
        TraceColumns.All.Any(c => c.Name == col) || BlockTraceColumns.Common.Any(c => c.Name == col)
        || col.StartsWith("smooth_", StringComparison.Ordinal) || col.StartsWith("fro_max_", StringComparison.Ordinal);

    /// <summary>
    /// Refuses a trace entry that is not a number (or −∞) at an iterate whose loss is finite, as a non-finite loss there is
    /// refused: such a claim was read and judged VIOLATED by E.claims or I.trace (exit 1), while the same NaN in losses.npy
    /// was bad input (exit 2). The last entry of a run that says it diverged is not checked, as its loss is not: the
    /// evaluation that stopped the run may hold anything. Elsewhere this engine writes non-finite entries in exactly these
    /// cases, which stay accepted: +∞ in a column that is a norm, a sum of norms or a ratio with one (every defined column
    /// but loss, clip_fraction and the pre-activations' extremes), where a sum of squares overflowed (a diverging run's
    /// gradient norm passes 1.3·10¹⁵⁴ while its loss is still finite; E.claims compares it with the verifier's own
    /// column); anything in preact_min and preact_max, NaN by definition for a block without a pre-activation range and
    /// ±∞ for a pre-activation that overflowed under an activation that saturates; NaN in pl_ratio = Σ_k ‖G_k‖²/(L·ℓ)
    /// where the loss is 0 (0/0) or L·ℓ overflows (∞/∞); and NaN in step_max = η·c_k·‖G_k‖ of a clipped run where a
    /// layer's gradient norm overflowed (its factor c_k = C/∞ = 0, and 0·∞ is NaN), which then leaves grad_norm +∞ there.
    /// The loss column holds the losses again, and clip_fraction, a count of layers over L, is always finite.
    /// </summary>
    /// <summary>
    /// True when step_max = <paramref name="step"/> at iterate <paramref name="j"/> is the NaN this engine writes on a clipped run
    /// whose layer gradient's norm overflowed (c = C/∞ = 0 and η·0·∞): the reader accepts it (where grad_norm is +∞ or not
    /// recorded) and E.claims leaves it uncompared, one rule for both.
    /// </summary>
    public static bool StepOverflowed(bool clipped, double step, double[]? gradNorm, int j) =>
        double.IsNaN(step) && clipped && (gradNorm is null || j >= gradNorm.Length || double.IsPositiveInfinity(gradNorm[j]));

    private static void RequireTraceFinite(Dictionary<string, double[]> trace, double[] losses, int lossesChecked, int L, bool clipped, string traceDir)
    {
        foreach (var (col, values) in trace.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            if (!DefinedTraceColumn(col) || col is "preact_min" or "preact_max") continue;
            for (int j = 0; j < Math.Min(lossesChecked, values.Length); j++)
            {
                double v = values[j];
                if (double.IsFinite(v)) continue;
                bool accepted = col switch
                {
                    "loss" or "clip_fraction" => false,
                    _ when double.IsPositiveInfinity(v) => true,
                    "pl_ratio" => double.IsNaN(v) && (losses[j] == 0 || double.IsPositiveInfinity(L * losses[j])),
                    "step_max" => StepOverflowed(clipped, v, trace.TryGetValue("grad_norm", out var g) ? g : null, j),
                    _ => false,
                };
                if (accepted) continue;
                string what = col switch
                {
                    "loss" => "the loss column holds the losses again",
                    "clip_fraction" => $"clip_fraction is a fraction of the {L} layers",
                    "pl_ratio" => "pl_ratio is a ratio of norms, a number ≥ 0 or +∞ where it overflowed (NaN only where the loss is 0)",
                    "step_max" => "step_max is a norm, a number ≥ 0 or +∞ where it overflowed (NaN only on a clipped run whose gradient norm overflowed)",
                    _ => $"{col} is a norm, a number ≥ 0 or +∞ where it overflowed",
                };
                throw new RunFormatException($"{Path.Combine(traceDir, col + ".npy")}: entry {j} (iterate {j}) is {v.ToString(System.Globalization.CultureInfo.InvariantCulture)} where losses.npy holds the finite loss {losses[j].ToString("R", System.Globalization.CultureInfo.InvariantCulture)}; {what}: fix the column, or remove it (the trace is optional)");
            }
        }
    }

    /// <summary>True when every entry of every snapshot is a float32 number (the test <see cref="RequireFloat32"/> makes of a
    /// run that says float32; E.replay asks it of a run that says float64, for its hint).</summary>
    public static bool AllFloat32(IEnumerable<double[]> snapshots) =>
        snapshots.All(s => Array.TrueForAll(s, x => (double)(float)x == x));

    private static void RequireFloat32(double[][] snapshots, string path, string what)
    {
        if (AllFloat32(snapshots)) return;
        // the first entry that is not a float32 number, for the message
        for (int s = 0; s < snapshots.Length; s++)
            for (int i = 0; i < snapshots[s].Length; i++)
                if ((double)(float)snapshots[s][i] != snapshots[s][i])
                    throw new RunFormatException($"{path}: run.json says \"precision\": \"float32\", but {what} {s} holds {snapshots[s][i]:R} at flat index {i}, which is not a float32 number; a float32 run's weights are float32 numbers: declare \"float64\" (or leave \"precision\" out to take it from the dtype) or store the float32 weights");
    }

    /// <summary>
    /// An MLP run's init.lipschitz_parts and init.scales (the parts W and V) moved to its own keys lipschitz_w, lipschitz_v,
    /// scale and v_scale, the ones E.init and the results read. A part other than W or V, or one constant given under both
    /// spellings with two values, is refused (either would be read as something the producer did not write).
    /// </summary>
    private static void MlpPartConstants(InitMetadata init, bool namesChecked, string json)
    {
        // (a run.json with "architecture" "mlp" had its part names checked against the layout already, `CheckArchitecture`)
        if (!namesChecked)
        foreach (var (key, given) in new[] { ("init.lipschitz_parts", init.LipschitzParts), ("init.scales", init.Scales) })
            if (given is not null)
                foreach (var part in given.Keys.OrderBy(k => k, StringComparer.Ordinal))
                    if (part is not ("W" or "V"))
                        throw new RunFormatException($"{json}: \"{key}\" names {part}, which is not a part of the MLP (its parts: W, V); name each part as the layout does");
        double? Merged(double? own, string ownKey, Dictionary<string, double>? byPart, string key, string part)
        {
            if (byPart is null || !byPart.TryGetValue(part, out var value)) return own;
            if (own is double o && !o.Equals(value))
                throw new RunFormatException($"{json}: \"{ownKey}\" is {o.ToString("R", System.Globalization.CultureInfo.InvariantCulture)} and \"{key}\" gives {part} = {value.ToString("R", System.Globalization.CultureInfo.InvariantCulture)}: one constant with two values; give it once");
            return value;
        }
        init.LipschitzW = Merged(init.LipschitzW, "init.lipschitz_w", init.LipschitzParts, "init.lipschitz_parts", "W");
        init.LipschitzV = Merged(init.LipschitzV, "init.lipschitz_v", init.LipschitzParts, "init.lipschitz_parts", "V");
        init.Scale = Merged(init.Scale, "init.scale", init.Scales, "init.scales", "W");
        init.VScale = Merged(init.VScale, "init.v_scale", init.Scales, "init.scales", "V");
        init.LipschitzParts = null;
        init.Scales = null;
    }

    /// <summary>The declared sizes and settings run.json may carry beside the arrays, checked against them.</summary>
    private static void CheckDeclared(RunMetadata meta, int lossCount, int dIn, int dOut, string dir, string json)
    {
        Check(meta.DIn, dIn, "d_in", dir); Check(meta.DOut, dOut, "d_out", dir);
        if (meta.Iterations is int it)
        {
            int recorded = lossCount - 1;
            if (meta.Status == "completed" && it != recorded)
                throw new RunFormatException($"{json}: \"iterations\" is {it} but the completed run's losses.npy holds {lossCount} losses ({recorded} updates); fix run.json or losses.npy");
            if (it < recorded)
                throw new RunFormatException($"{json}: \"iterations\" is {it} but losses.npy holds {lossCount} losses ({recorded} updates); fix run.json or losses.npy");
        }
        if (meta.Format != RunMetadata.FormatTag)
            throw new RunFormatException($"{json}: \"format\" is \"{meta.Format}\"; this verifier reads \"{RunMetadata.FormatTag}\" (docs/run-format.md), or leave the key out");
        // "fault" marks the engine's negative controls (a fault injected on purpose): the theorems then say "hypothesis not met",
        // so a name the engine does not inject is a mistake to be told, not a fault to be assumed
        if (meta.Fault != "none" && !(Enum.GetNames<Model.EngineFault>().Contains(meta.Fault) && meta.Fault != nameof(Model.EngineFault.None)))
            throw new RunFormatException($"{json}: \"fault\" is \"{meta.Fault}\"; one of none (a faithful run), {string.Join(", ", Enum.GetNames<Model.EngineFault>().Where(n => n != nameof(Model.EngineFault.None)))} (the engine's injected faults), or leave the key out");
        if (meta.Status is not ("completed" or "diverged" or "interrupted"))
            throw new RunFormatException($"{json}: \"status\" is \"{meta.Status}\"; one of completed, diverged, interrupted");
        // a diverged run says where it stopped: at its last recorded loss, or (a flow) at the output after it it could not reach
        if (meta.Status == "diverged" && meta.DivergedAt is not int)
            throw new RunFormatException($"{json}: \"status\" is \"diverged\" but \"diverged_at\" is missing; a diverged run gives the iteration it stopped at (the index of the last entry of losses.npy, {lossCount - 1} here); a run that finished says \"completed\"");
        if (meta.Status == "diverged" && meta.DivergedAt is int at && (at < lossCount - 1 || at > lossCount))
            throw new RunFormatException($"{json}: \"diverged_at\" is {at} but losses.npy ends at iteration {lossCount - 1}; a diverged run's losses end where it stopped");
        if (meta.Precision is not ("float64" or "float32"))
            throw new RunFormatException($"{json}: \"precision\" is \"{meta.Precision}\"; the tolerances are derived for float64 or float32 (the unit roundoff the producer computed in)");
        foreach (var (key, lip) in new[] { ("init.lipschitz_w", meta.Init.LipschitzW), ("init.lipschitz_v", meta.Init.LipschitzV) })
            if (lip is double l && !(l >= 0 && double.IsFinite(l)))
                throw new RunFormatException($"{json}: \"{key}\" is {l}; a Lipschitz constant is a finite number ≥ 0 (leave it out when none is known)");
        if (meta.Init.LipschitzParts is { } parts)
            foreach (var kv in parts)
                if (!(kv.Value >= 0 && double.IsFinite(kv.Value)))
                    throw new RunFormatException($"{json}: \"init.lipschitz_parts\" gives {kv.Key} = {kv.Value}; a Lipschitz constant is a finite number ≥ 0 (leave it out when none is known)");
        // an MLP run (no "architecture", or "mlp", e.g. written as theta.npy with the MLP's layout) may give its constants by
        // part name as any block does: read as the MLP's own keys, which E.init checks (until 2026-12-08 they were dropped:
        // E.init said "declares no initialization constants" beside a declared W bound far below snapshot 0's increments)
        if (meta.Architecture is null || meta.Architecture.Name == "mlp") MlpPartConstants(meta.Init, meta.Architecture is not null, json);
        if (meta.ClipRadius is double c && !(c > 0 && double.IsFinite(c)))
            throw new RunFormatException($"{json}: \"clip_radius\" is {c}; the clipping radius C of Z ← Z − η·min(1, C/‖G‖)·G must be a positive number");
        if (meta.OutputTimes is { } ts)
        {
            if (ts.Length < lossCount)
                throw new RunFormatException($"{json}: \"output_times\" lists {ts.Length} times for {lossCount} recorded outputs; give one time per entry of losses.npy");
            for (int i = 0; i < ts.Length; i++)
                if (!double.IsFinite(ts[i]) || ts[i] < 0 || (i > 0 && !(ts[i] > ts[i - 1])))
                    throw new RunFormatException($"{json}: \"output_times\" entry {i} is {ts[i]}; the times must be finite, non-negative and strictly increasing");
        }
        if (meta.Horizon is double h && !(h > 0 && double.IsFinite(h)))
            throw new RunFormatException($"{json}: \"horizon\" is {h}; the flow's time horizon must be a positive number");
        // the horizon T, eta = T/N and the output grid must tell one story: a flow labelled "horizon": 5 whose eta·N is 1 was
        // read without a word (the times come from one of them, the user meant the other); N from "iterations", else from a
        // completed run's outputs; within 8u·T (eta = T/N rounded once, times N)
        if (meta.Horizon is double hz && meta.Eta is double e && meta.Intervals(lossCount) is int nOut && nOut > 0
            && !(Math.Abs(e * nOut - hz) <= 8 * Math.ScaleB(1.0, -53) * hz))
            throw new RunFormatException($"{json}: \"horizon\" is {hz.ToString("R", System.Globalization.CultureInfo.InvariantCulture)} but \"eta\" × {nOut} outputs after the first is {(e * nOut).ToString("R", System.Globalization.CultureInfo.InvariantCulture)}; a flow's eta is T/N: fix one of them");
        // the completed flow's span t_N − t_0 is the horizon (the flow is autonomous: times may start anywhere), within
        // γ_{N+2}(|t_0| + |t_N|): a producer's t_j = t_{j−1} + dt summed N times, or N·dt, and the difference (it was compared
        // exactly, and with t_N alone: a flow from t = 1024, or one an ulp off T, was refused)
        if (meta.Horizon is double hz2 && meta.OutputTimes is { Length: > 1 } ot && meta.Status == "completed")
        {
            double ku = (ot.Length + 1) * Math.ScaleB(1.0, -53);
            double slack = ku / (1 - ku) * (Math.Abs(ot[0]) + Math.Abs(ot[^1]));
            if (!(Math.Abs(ot[^1] - ot[0] - hz2) <= slack))
                throw new RunFormatException($"{json}: \"horizon\" is {hz2.ToString("R", System.Globalization.CultureInfo.InvariantCulture)} but the completed flow's output times span {ot[0].ToString("R", System.Globalization.CultureInfo.InvariantCulture)} to {ot[^1].ToString("R", System.Globalization.CultureInfo.InvariantCulture)}, {(ot[^1] - ot[0]).ToString("R", System.Globalization.CultureInfo.InvariantCulture)}; the horizon is that span (the last output time less the first)");
        }
    }

    private static void CheckArray(int? declared, int actual, string what, string file, int[] shape, string layout)
    {
        if (declared is int v && v != actual)
            throw new RunFormatException($"{file}: shape {layout} = ({string.Join(", ", shape)}) has {what} = {actual} but run.json says {what} = {v}; fix {Path.GetFileName(file)} or run.json");
    }

    /// <summary>True when run.json has a "precision" key (otherwise the weights' dtype decides).</summary>
    private static bool DeclaresPrecision(string json)
    {
        try { return System.Text.Json.Nodes.JsonNode.Parse(json) is System.Text.Json.Nodes.JsonObject o && o.ContainsKey("precision"); }
        catch (System.Text.Json.JsonException) { return false; }
        catch (ArgumentException) { return false; }   // a key given twice: refused by RequireUniqueKeys before this is asked
    }

    private static void Check(int? declared, int actual, string what, string dir)
    {
        if (declared is int v && v != actual)
            throw new RunFormatException($"{dir}: run.json says {what} = {v} but the arrays have {what} = {actual}; fix run.json or the arrays");
    }
}
