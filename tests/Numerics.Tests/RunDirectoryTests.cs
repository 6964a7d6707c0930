using ResOdeProofs.Numerics.IO;
using ResOdeProofs.Numerics.Model;
using ResOdeProofs.Numerics.Training;

namespace ResOdeProofs.Numerics.Tests;

public sealed class RunDirectoryTests : IDisposable
{
    private readonly NpyTestUtil _tmp = new();

    public void Dispose() => _tmp.Dispose();

    private static void AssertSameBits(double[]? expected, double[]? actual, string what)
    {
        Assert.True(expected is null == actual is null, $"{what}: presence differs");
        if (expected is null || actual is null) return;
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(BitConverter.DoubleToInt64Bits(expected[i]) == BitConverter.DoubleToInt64Bits(actual[i]),
                $"{what}[{i}]: wrote {expected[i]:R}, read {actual[i]:R}");
    }

    /// <summary>A clipped run with an embedding A and a read-out B, so that every optional file is written.</summary>
    private static TrainRecord GeneralRun(int iterations = 10, long seed = 4)
    {
        var s = TestSetting.Random((int)seed, 4, 5, 3, 6, general: true);
        var init = Initialization.Smooth(s.Shape, seed, 0.9, 0.4, modes: 2);
        var opts = new TrainOptions(ActivationKind.Softplus, 0.03, iterations)
        {
            Clip = 2.0, SnapshotSteps = new[] { 3, 7 }.Where(t => t < iterations).ToArray(),
        };
        return Trainer.Train(s.Shape, s.Data, init, opts, seed, "random test data", s.A, s.B);
    }

    /// <summary>
    /// A run stored as theta.npy has no array whose shape is d: with an embedding A and no "d" in run.json, d is A's row count
    /// (until 2026-12-08 d_in was taken and A refused as the wrong shape).
    /// </summary>
    [Fact(DisplayName = "RunDirectory.Read: an MLP run with an embedding A written as theta.npy without \"d\" in run.json → d from a.npy's rows, the same W, V; a.npy of another row count beside a declared d → refused")]
    public void ThetaRunTakesDFromTheEmbedding()
    {
        var r = GeneralRun();
        var dir = _tmp.File("run");
        RunDirectory.Write(r, dir);
        var wv = RunDirectory.Read(dir);
        int S = wv.Steps.Length, L = r.Shape.Depth, m = r.Shape.Width, d = r.Shape.Dim, md = m * d;
        Assert.NotEqual(d, r.Data.InputDim);
        var theta = new double[S * L * 2 * md];
        for (int s = 0; s < S; s++)
            for (int k = 0; k < L; k++)
            {
                Array.Copy(wv.W[s], k * md, theta, (s * L + k) * 2 * md, md);
                Array.Copy(wv.V[s], k * md, theta, (s * L + k) * 2 * md + md, md);
            }
        File.Delete(Path.Combine(dir, "w.npy"));
        File.Delete(Path.Combine(dir, "v.npy"));
        Npy.Write(Path.Combine(dir, "theta.npy"), theta, S, L, 2 * md);
        var json = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "run.json")))!.AsObject();
        json.Remove("d");
        json["architecture"] = System.Text.Json.Nodes.JsonNode.Parse("{\"name\": \"mlp\", \"layout\": [[\"W\", [" + m + ", " + d + "]], [\"V\", [" + d + ", " + m + "]]], \"hyper\": {\"width\": " + m + "}}");
        File.WriteAllText(Path.Combine(dir, "run.json"), json.ToJsonString());
        var back = RunDirectory.Read(dir);
        Assert.Equal(d, back.Dim);
        for (int s = 0; s < S; s++)
        {
            AssertSameBits(wv.W[s], back.W[s], $"W of snapshot {s}");
            AssertSameBits(wv.V[s], back.V[s], $"V of snapshot {s}");
        }
        // a declared d stays what d is: an A of another row count is the file to fix
        json["d"] = d + 1;
        File.WriteAllText(Path.Combine(dir, "run.json"), json.ToJsonString());
        Assert.Throws<RunFormatException>(() => RunDirectory.Read(dir));
    }

    [Fact(DisplayName = "RunDirectory: write then read → everything round trips")]
    public void WriteThenReadRoundTripsEverything()
    {
        var r = GeneralRun();
        var dir = _tmp.File("run");
        RunDirectory.Write(r, dir);
        var back = RunDirectory.Read(dir);

        Assert.Equal(r.Shape, back.Shape);
        Assert.Equal(ActivationKind.Softplus, back.Activation);
        Assert.Equal(0.03, back.Eta);
        Assert.Equal(2.0, back.Clip);
        Assert.False(back.Diverged);
        Assert.Equal(10, back.Iterations);
        Assert.Equal(r.Data.Count, back.Data.Count);
        Assert.Equal(r.Data.InputDim, back.Data.InputDim);
        Assert.Equal(r.Data.OutputDim, back.Data.OutputDim);
        AssertSameBits(r.Data.X, back.Data.X, "x");
        AssertSameBits(r.Data.Y, back.Data.Y, "y");
        AssertSameBits(r.A, back.A, "a");
        AssertSameBits(r.B, back.B, "b");
        Assert.Equal(new[] { 0, 3, 7, 10 }, back.Steps);
        Assert.Equal(r.SnapshotSteps, back.Steps);
        Assert.Equal(r.Snapshots.Count, back.W.Length);
        for (int s = 0; s < back.W.Length; s++)
        {
            AssertSameBits(r.Snapshots[s].W, back.W[s], $"W[{s}]");
            AssertSameBits(r.Snapshots[s].V, back.V[s], $"V[{s}]");
        }
        AssertSameBits(r.Losses, back.Losses, "losses");
        Assert.Equal(r.Trace.Keys.OrderBy(k => k, StringComparer.Ordinal), back.Trace.Keys.OrderBy(k => k, StringComparer.Ordinal));
        foreach (var (name, col) in r.Trace) AssertSameBits(col, back.Trace[name], "trace " + name);

        // Every metadata field survives (compared through the serialized form), and the key ones explicitly.
        var meta = RunDirectory.Metadata(r);
        Assert.Equal(meta.ToJson(), back.Meta.ToJson());
        var m = back.Meta;
        Assert.Equal(RunMetadata.FormatTag, m.Format);
        Assert.Equal("completed", m.Status);
        Assert.Null(m.DivergedAt);
        Assert.Equal("softplus", m.Activation);
        Assert.Equal("clipped-gd", m.Optimizer);
        Assert.Equal(2.0, m.ClipRadius);
        Assert.Equal(10, m.Iterations);
        Assert.Equal((4, 5, 6, 3, 2, 4), (m.Depth, m.Width, m.N, m.D, m.DIn, m.DOut));
        Assert.Equal("float64", m.Precision);
        Assert.Equal(4L, m.Seed);
        Assert.Equal("random test data", m.Data);
        Assert.Equal("smooth", m.Init.Kind);
        Assert.Equal(0.9, m.Init.Scale);
        Assert.Equal(0.4, m.Init.VScale);
        Assert.Equal(2, m.Init.Modes);
        Assert.Equal(r.Init.LipschitzParts![0], m.Init.LipschitzW);
        Assert.Equal(r.Init.LipschitzParts![1], m.Init.LipschitzV);
        Assert.Equal(r.Init.MaxIncrementTimesDepth, m.Init.MaxIncrementTimesDepth);
        Assert.Equal(r.Init.Description, m.Init.Description);
        Assert.Equal(r.Seconds, m.Seconds);
        Assert.Equal("none", m.Fault);
        Assert.Equal(TraceColumns.All.Select(c => c.Name).OrderBy(x => x, StringComparer.Ordinal), m.Trace!.OrderBy(x => x, StringComparer.Ordinal));
    }

    // ------------------------------------------------------------------ a run directory written by hand

    private const int L = 3, M = 4, D = 2, N = 5, S = 2;

    /// <summary>Writes only the required files, as another tool following the format would.</summary>
    private string WriteForeign(string name, string runJson = "{\"activation\": \"tanh\", \"eta\": 0.1}")
    {
        var dir = _tmp.File(name);
        Directory.CreateDirectory(dir);
        var rng = new System.Random(1);
        Npy.Write(Path.Combine(dir, "x.npy"), TestRandom.Gaussian(rng, N * D), N, D);
        Npy.Write(Path.Combine(dir, "y.npy"), TestRandom.Gaussian(rng, N * D), N, D);
        Npy.Write(Path.Combine(dir, "w.npy"), TestRandom.Gaussian(rng, S * L * M * D), S, L, M, D);
        Npy.Write(Path.Combine(dir, "v.npy"), TestRandom.Gaussian(rng, S * L * D * M), S, L, D, M);
        Npy.WriteInt64(Path.Combine(dir, "steps.npy"), new long[] { 0, 4 }, S);
        Npy.Write(Path.Combine(dir, "losses.npy"), new[] { 3.0, 2.5, 2.0, 1.8, 1.7 }, 5);
        File.WriteAllText(Path.Combine(dir, "run.json"), runJson);
        return dir;
    }

    [Fact(DisplayName = "RunDirectory: minimal foreign directory → read")]
    public void MinimalForeignDirectoryReads()
    {
        var dir = WriteForeign("foreign");
        var r = RunDirectory.Read(dir);
        Assert.Equal(NetworkShape.Square(L, M, D), r.Shape);
        Assert.Equal(ActivationKind.Tanh, r.Activation);
        Assert.Equal(0.1, r.Eta);
        Assert.Equal(new[] { 0, 4 }, r.Steps);
        Assert.Equal(S, r.W.Length);
        Assert.Equal(L * M * D, r.W[1].Length);
        Assert.Equal(L * D * M, r.V[1].Length);
        Assert.Equal(4, r.Iterations);
        Assert.Equal(N, r.Data.Count);
        Assert.Null(r.A);
        Assert.Null(r.B);
        Assert.Null(r.Clip);
        Assert.False(r.Diverged);
        Assert.Empty(r.Trace);
        // The arrays are the ones written, in order.
        var w = Npy.Read(Path.Combine(dir, "w.npy")).Data;
        Assert.Equal(w.AsSpan(L * M * D).ToArray(), r.W[1]);
    }

    [Fact(DisplayName = "RunDirectory: declared float32, weights float32 numbers stored as float64 → read as float32")]
    public void DeclaredFloat32WithFloat32WeightsReads()
    {
        var dir = WriteForeign("float32-weights");
        string P(string f) => Path.Combine(dir, f);
        // the control of "float32-declared-float64-weights": the same draws rounded to float32, still stored as <f8
        var w = Npy.Read(P("w.npy")).Data.Select(x => (double)(float)x).ToArray();
        var v = Npy.Read(P("v.npy")).Data.Select(x => (double)(float)x).ToArray();
        Npy.Write(P("w.npy"), w, S, L, M, D); Npy.Write(P("v.npy"), v, S, L, D, M);
        File.WriteAllText(P("run.json"), "{\"activation\": \"tanh\", \"eta\": 0.1, \"precision\": \"float32\"}");
        Assert.Equal("float32", RunDirectory.Read(dir).Meta.Precision);
    }

    [Theory(DisplayName = "RunDirectory: broken directory → rejected with a telling message")]
    [InlineData("missing-run-json", new[] { "run.json", "missing" })]
    [InlineData("missing-w", new[] { "w.npy", "missing" })]
    [InlineData("v-wrong-shape", new[] { "v.npy", "shape" })]
    [InlineData("steps-not-increasing", new[] { "steps.npy", "increase" })]
    [InlineData("depth-mismatch", new[] { "depth = 7", "depth = 3" })]
    [InlineData("invalid-json", new[] { "run.json", "not valid" })]
    [InlineData("unknown-activation", new[] { "run.json", "swish" })]
    [InlineData("missing-eta", new[] { "run.json", "eta" })]
    [InlineData("nan-in-v", new[] { "v.npy", "snapshot 1", "NaN", "finite" })]
    [InlineData("inf-in-w", new[] { "w.npy", "snapshot 0", "Infinity" })]
    [InlineData("nan-loss-mid-run", new[] { "losses.npy", "entry 2", "diverged" })]
    [InlineData("no-snapshot", new[] { "w.npy", "S = 0" })]
    [InlineData("duplicate-key", new[] { "run.json", "twice", "eta" })]
    [InlineData("iterations-mismatch", new[] { "run.json", "\"iterations\" is 9", "5 losses" })]
    [InlineData("clip-radius-negative", new[] { "run.json", "clip_radius", "positive" })]
    [InlineData("output-times-short", new[] { "run.json", "output_times", "3 times for 5" })]
    [InlineData("run-json-fifo", new[] { "run.json", "not a regular file" })]
    [InlineData("w-is-directory", new[] { "w.npy", "is a directory" })]
    [InlineData("d-in-mismatch", new[] { "d_in = 5", "d_in = 2" })]
    [InlineData("precision-float16", new[] { "run.json", "float16", "float64 or float32" })]
    [InlineData("status-unknown", new[] { "run.json", "weird", "completed, diverged, interrupted" })]
    [InlineData("format-newer", new[] { "run.json", "resode-run/99", "resode-run/1" })]
    [InlineData("lipschitz-negative", new[] { "run.json", "init.lipschitz_w", "≥ 0" })]
    [InlineData("float32-declared-float64-weights", new[] { "w.npy", "\"precision\": \"float32\"", "snapshot 0", "not a float32 number" })]
    [InlineData("diverged-without-diverged-at", new[] { "run.json", "\"diverged\"", "\"diverged_at\" is missing", "4 here" })]
    [InlineData("diverged-at-mid-run", new[] { "run.json", "\"diverged_at\" is 2", "ends at iteration 4" })]
    [InlineData("depth-as-float", new[] { "run.json", "\"depth\" must be an integer", "8, not 8.0" })]
    [InlineData("eta-as-string", new[] { "run.json", "\"eta\" must be a number" })]
    [InlineData("init-as-number", new[] { "run.json", "\"init\" must be an object" })]
    [InlineData("fashion-as-string", new[] { "run.json", "\"fashion\" must be an object", "per_class" })]
    [InlineData("fault-unknown", new[] { "run.json", "\"fault\" is \"bogus\"", "StaleGradient" })]
    public void BrokenDirectoriesAreRejectedWithATellingMessage(string variant, string[] fragments)
    {
        var dir = WriteForeign(variant);
        string P(string f) => Path.Combine(dir, f);
        switch (variant)
        {
            case "missing-run-json": File.Delete(P("run.json")); break;
            case "missing-w": File.Delete(P("w.npy")); break;
            case "v-wrong-shape": Npy.Write(P("v.npy"), new double[S * L * M * D], S, L, M, D); break; // (S, L, m, d) instead of (S, L, d, m)
            case "steps-not-increasing": Npy.WriteInt64(P("steps.npy"), new long[] { 3, 3 }, S); break;
            case "depth-mismatch": File.WriteAllText(P("run.json"), "{\"activation\": \"tanh\", \"eta\": 0.1, \"depth\": 7}"); break;
            case "invalid-json": File.WriteAllText(P("run.json"), "{\"activation\": \"tanh\", \"eta\": "); break;
            case "unknown-activation": File.WriteAllText(P("run.json"), "{\"activation\": \"swish\", \"eta\": 0.1}"); break;
            case "missing-eta": File.WriteAllText(P("run.json"), "{\"activation\": \"tanh\"}"); break;
            case "nan-in-v":
                {
                    var v = TestRandom.Gaussian(new System.Random(2), S * L * D * M); v[L * D * M + 3] = double.NaN;
                    Npy.Write(P("v.npy"), v, S, L, D, M); break;
                }
            case "inf-in-w":
                {
                    var w = TestRandom.Gaussian(new System.Random(2), S * L * M * D); w[5] = double.PositiveInfinity;
                    Npy.Write(P("w.npy"), w, S, L, M, D); break;
                }
            // a non-finite loss is allowed only as the last entry of a run that says it diverged
            case "nan-loss-mid-run": Npy.Write(P("losses.npy"), new[] { 3.0, 2.5, double.NaN, 1.8, 1.7 }, 5); break;
            case "no-snapshot":
                Npy.Write(P("w.npy"), Array.Empty<double>(), 0, L, M, D); Npy.Write(P("v.npy"), Array.Empty<double>(), 0, L, D, M);
                Npy.WriteInt64(P("steps.npy"), Array.Empty<long>(), 0); break;
            case "duplicate-key": File.WriteAllText(P("run.json"), "{\"activation\": \"tanh\", \"eta\": 0.1, \"eta\": 0.2}"); break;
            case "iterations-mismatch": File.WriteAllText(P("run.json"), "{\"activation\": \"tanh\", \"eta\": 0.1, \"iterations\": 9}"); break;
            case "clip-radius-negative": File.WriteAllText(P("run.json"), "{\"activation\": \"tanh\", \"eta\": 0.1, \"optimizer\": \"clipped-gd\", \"clip_radius\": -1}"); break;
            case "output-times-short": File.WriteAllText(P("run.json"), "{\"activation\": \"tanh\", \"eta\": 0.1, \"optimizer\": \"gf\", \"horizon\": 0.4, \"output_times\": [0, 0.1, 0.2]}"); break;
            case "run-json-fifo":
                File.Delete(P("run.json"));
                if (OperatingSystem.IsWindows()) return;
                System.Diagnostics.Process.Start("mkfifo", P("run.json"))!.WaitForExit(); break;
            case "w-is-directory": File.Delete(P("w.npy")); Directory.CreateDirectory(P("w.npy")); break;
            case "precision-float16": File.WriteAllText(P("run.json"), "{\"activation\": \"tanh\", \"eta\": 0.1, \"precision\": \"float16\"}"); break;
            case "status-unknown": File.WriteAllText(P("run.json"), "{\"activation\": \"tanh\", \"eta\": 0.1, \"status\": \"weird\"}"); break;
            case "format-newer": File.WriteAllText(P("run.json"), "{\"activation\": \"tanh\", \"eta\": 0.1, \"format\": \"resode-run/99\"}"); break;
            case "lipschitz-negative": File.WriteAllText(P("run.json"), "{\"activation\": \"tanh\", \"eta\": 0.1, \"init\": {\"kind\": \"smooth\", \"lipschitz_w\": -1}}"); break;
            // the foreign weights are float64 draws: a float32 claim is refuted by the first of them
            case "float32-declared-float64-weights": File.WriteAllText(P("run.json"), "{\"activation\": \"tanh\", \"eta\": 0.1, \"precision\": \"float32\"}"); break;
            case "d-in-mismatch": File.WriteAllText(P("run.json"), "{\"activation\": \"tanh\", \"eta\": 0.1, \"d_in\": 5}"); break;
            // "diverged" says where the run stopped; a completed, finite run claimed diverged without it was accepted
            case "diverged-without-diverged-at": File.WriteAllText(P("run.json"), "{\"activation\": \"tanh\", \"eta\": 0.1, \"status\": \"diverged\"}"); break;
            case "diverged-at-mid-run": File.WriteAllText(P("run.json"), "{\"activation\": \"tanh\", \"eta\": 0.1, \"status\": \"diverged\", \"diverged_at\": 2}"); break;
            // values of the wrong kind, named by key and kind (they were named by the reader's .NET types)
            case "depth-as-float": File.WriteAllText(P("run.json"), "{\"activation\": \"tanh\", \"eta\": 0.1, \"depth\": 8.0}"); break;
            case "eta-as-string": File.WriteAllText(P("run.json"), "{\"activation\": \"tanh\", \"eta\": \"0.1\"}"); break;
            case "init-as-number": File.WriteAllText(P("run.json"), "{\"activation\": \"tanh\", \"eta\": 0.1, \"init\": 3}"); break;
            // (was the reader's own words: "could not be converted to ResOdeProofs.Numerics.IO.FashionMetadata")
            // (was read, and every theorem said "hypothesis not met: the run is marked with fault bogus")
            case "fault-unknown": File.WriteAllText(P("run.json"), "{\"activation\": \"tanh\", \"eta\": 0.1, \"fault\": \"bogus\"}"); break;
            case "fashion-as-string": File.WriteAllText(P("run.json"), "{\"activation\": \"tanh\", \"eta\": 0.1, \"fashion\": \"x\"}"); break;
            default: throw new ArgumentException(variant);
        }
        var e = Assert.Throws<RunFormatException>(() => RunDirectory.Read(dir));
        foreach (var f in fragments) Assert.Contains(f, e.Message);
        Assert.DoesNotContain("System.", e.Message);
    }

    [Fact(DisplayName = "RunDirectory.Fingerprint: run.json a named pipe → returns at once without opening it, and Read refuses it as not a regular file (verify took the fingerprint first and waited for a writer forever)")]
    public async Task AFingerprintDoesNotOpenANamedPipe()
    {
        if (OperatingSystem.IsWindows()) return;
        var dir = WriteForeign("fingerprint-fifo");
        var json = Path.Combine(dir, "run.json");
        File.Delete(json);
        await System.Diagnostics.Process.Start("mkfifo", json)!.WaitForExitAsync();
        var taken = Task.Run(() => RunDirectory.Fingerprint(dir));
        if (await Task.WhenAny(taken, Task.Delay(TimeSpan.FromSeconds(20))) != taken)
        {
            // a writer that opens and closes the pipe ends the blocked read, so that the test fails instead of hanging
            using (new FileStream(json, FileMode.Open, FileAccess.Write)) { }
            await taken;
            Assert.Fail("Fingerprint opened run.json, a named pipe, and waited for a writer");
        }
        Assert.Contains("not a regular file", await taken);
        var e = Assert.Throws<RunFormatException>(() => RunDirectory.Read(dir));
        Assert.Contains("not a regular file", e.Message);
    }

    [Theory(DisplayName = "RunDirectory: the optimizers the verifier replays named in any case (\"GD\", \"Clipped-GD\") → read as gd, clipped-gd; another name (adam) kept as given; an unknown activation's message without the parameter name")]
    [InlineData("GD", "gd")]
    [InlineData("Gd", "gd")]
    [InlineData("gd", "gd")]
    [InlineData("Clipped-GD", "clipped-gd")]
    [InlineData("adam", "adam")]
    [InlineData("Adam", "Adam")]
    public void OptimizerNamesInAnyCase(string given, string read)
    {
        var dir = WriteForeign("optimizer-" + given);
        File.WriteAllText(Path.Combine(dir, "run.json"), $"{{\"activation\": \"tanh\", \"eta\": 0.1, \"optimizer\": \"{given}\"{(given.StartsWith("Clipped", StringComparison.Ordinal) ? ", \"clip_radius\": 1" : "")}}}");
        Assert.Equal(read, RunDirectory.Read(dir).Meta.Optimizer);
        File.WriteAllText(Path.Combine(dir, "run.json"), "{\"activation\": \"swish\", \"eta\": 0.1}");
        var e = Assert.Throws<RunFormatException>(() => RunDirectory.Read(dir));
        Assert.DoesNotContain("Parameter", e.Message);
    }

    [Theory(DisplayName = "RunDirectory: run.json null for a key that must have a value (optimizer, init, format, loss, precision, status, fault, init.kind, architecture.name) → refused, naming the key as null and the kind it takes (optimizer and init were tool errors, the others read as the empty string); null for a key that may be absent (clip_radius, iterations, init.scale) → read as absent")]
    [InlineData("\"optimizer\": null", "\"optimizer\" is null", "a string")]
    [InlineData("\"init\": null", "\"init\" is null", "an object")]
    [InlineData("\"format\": null", "\"format\" is null", "a string")]
    [InlineData("\"loss\": null", "\"loss\" is null", "a string")]
    [InlineData("\"precision\": null", "\"precision\" is null", "a string")]
    [InlineData("\"status\": null", "\"status\" is null", "a string")]
    [InlineData("\"fault\": null", "\"fault\" is null", "a string")]
    [InlineData("\"init\": {\"kind\": null}", "\"init.kind\" is null", "a string")]
    [InlineData("\"architecture\": {\"name\": null}", "\"architecture.name\" is null", "a string")]
    [InlineData("\"clip_radius\": null, \"iterations\": null, \"init\": {\"kind\": \"iid\", \"scale\": null}", null, null)]
    public void NullIsRefusedWhereAValueMustBe(string entry, string? says, string? kind)
    {
        var dir = WriteForeign("null-" + (says ?? "absent").Replace("\"", "").Replace(' ', '-'), $"{{\"activation\": \"tanh\", \"eta\": 0.1, {entry}}}");
        if (says is null)
        {
            var r = RunDirectory.Read(dir);
            Assert.Null(r.Clip);
            Assert.Null(r.Meta.Iterations);
            Assert.Null(r.Meta.Init.Scale);
            return;
        }
        var e = Assert.Throws<RunFormatException>(() => RunDirectory.Read(dir));
        Assert.Contains("run.json", e.Message);
        Assert.Contains(says, e.Message);
        Assert.Contains(kind!, e.Message);
        Assert.Contains("leave the key out", e.Message);
        Assert.DoesNotContain("System.", e.Message);
    }

    /// <summary>A trace column of <paramref name="dir"/> with entry <paramref name="j"/> set to <paramref name="value"/>.</summary>
    private static void SetTraceEntry(string dir, string col, int j, double value)
    {
        var path = Path.Combine(dir, "trace", col + ".npy");
        var c = Npy.Read(path).Data;
        c[j] = value;
        Npy.Write(path, c, c.Length);
    }

    [Theory(DisplayName = "RunDirectory: a trace entry NaN or −∞ in a norm column (grad_norm, pl_ratio, smooth_w, hidden_max, step_max), or not finite in loss or clip_fraction, at an iterate whose loss is finite → refused naming the file, the iterate and the value (it was read, and E.claims or I.trace said VIOLATED, exit 1)")]
    [InlineData("grad_norm", double.NaN)]
    [InlineData("grad_norm", double.NegativeInfinity)]
    [InlineData("pl_ratio", double.NaN)]
    [InlineData("smooth_w", double.NaN)]
    [InlineData("hidden_max", double.NaN)]
    [InlineData("step_max", double.NaN)]
    [InlineData("loss", double.NaN)]
    [InlineData("loss", double.PositiveInfinity)]
    [InlineData("clip_fraction", double.PositiveInfinity)]
    public void ANonFiniteTraceEntryAtAFiniteLossIsRefused(string col, double value)
    {
        var dir = _tmp.File($"trace-{col}-{value}");
        RunDirectory.Write(GeneralRun(), dir);
        SetTraceEntry(dir, col, 5, value);
        var e = Assert.Throws<RunFormatException>(() => RunDirectory.Read(dir));
        Assert.Contains(Path.Combine("trace", col + ".npy"), e.Message);
        Assert.Contains("entry 5 (iterate 5)", e.Message);
        Assert.Contains($" is {value.ToString(System.Globalization.CultureInfo.InvariantCulture)} ", e.Message);
    }

    [Fact(DisplayName = "RunDirectory: the non-finite trace entries this engine writes where the loss is finite (+∞ grad_norm of a diverging run, NaN step_max of a clipped run whose gradient norm overflowed, NaN pl_ratio at loss 0) and any in preact_min → read as written")]
    public void TheEngineOwnNonFiniteTraceEntriesAreRead()
    {
        // a diverging run: its gradient norm overflows while its loss is still finite, and its last loss is not finite
        var diverging = new RunSpec { Depth = 4, Width = 4, Samples = 8, Dim = 4, Eta = 100, Iterations = 10, Seed = 0 }.Train();
        Assert.Equal(RunStatus.Diverged, diverging.Status);
        var dir = _tmp.File("trace-diverging");
        RunDirectory.Write(diverging, dir);
        var read = RunDirectory.Read(dir);
        Assert.Contains(Enumerable.Range(0, read.Losses.Length - 1), j => double.IsPositiveInfinity(read.Trace["grad_norm"][j]) && double.IsFinite(read.Losses[j]));
        // the same run clipped at a radius no finite norm below ∞ passes: c_k = C/∞ = 0 and step_max = η·0·∞ is NaN
        var clipped = new RunSpec { Depth = 4, Width = 4, Samples = 8, Dim = 4, Eta = 100, Iterations = 10, Seed = 0, Clip = 1e300 }.Train();
        dir = _tmp.File("trace-clipped-overflow");
        RunDirectory.Write(clipped, dir);
        read = RunDirectory.Read(dir);
        Assert.Contains(Enumerable.Range(0, read.Losses.Length), j => double.IsNaN(read.Trace["step_max"][j]) && double.IsFinite(read.Losses[j]));
        // a run at an interpolating minimum (V⁰ = 0, y = x): ℓ ≡ 0 and G ≡ 0, so pl_ratio is 0/0 at every iterate
        var spec = new RunSpec { Depth = 4, Width = 4, Samples = 5, Dim = 3, VScale = 0.0, Eta = 0.01, Iterations = 4, Snapshots = 3, Seed = 1 };
        var x = spec.Data().X;
        var zero = Trainer.Train(spec.Shape, new Dataset(5, 3, 3, x, (double[])x.Clone()), spec.InitialWeights(), spec.Options(), spec.Seed, "y = x");
        dir = _tmp.File("trace-loss-0");
        RunDirectory.Write(zero, dir);
        // NaN in preact_min: a block without a pre-activation range writes it so at every iterate
        SetTraceEntry(dir, "preact_min", 2, double.NaN);
        read = RunDirectory.Read(dir);
        Assert.All(read.Trace["pl_ratio"], r => Assert.True(double.IsNaN(r)));
        Assert.True(double.IsNaN(read.Trace["preact_min"][2]));
    }

    [Fact(DisplayName = "RunDirectory: run.json keys the format does not define (\"precison\", \"etaa\", \"my_note\", \"init.lipshitz_w\") → read, listed with the defined key within two edits; an engine-written run.json (MLP, one-layer) → none")]
    public void UnknownKeysAreListedWithTheNearestKnownOne()
    {
        var dir = WriteForeign("unknown-keys", "{\"activation\": \"tanh\", \"eta\": 0.1, \"precison\": \"float64\", \"etaa\": 0.2, \"my_note\": \"x\"}");
        var r = RunDirectory.Read(dir);
        Assert.Equal(new (string, string?)[] { ("precison", "precision"), ("etaa", "eta"), ("my_note", null) }, r.UnknownRunJsonKeys.ToArray());
        Assert.Equal(0.1, r.Eta);
        var written = System.Text.Json.JsonSerializer.Serialize(RunDirectory.Metadata(new RunSpec { Depth = 4, Width = 4, Samples = 5, Dim = 2, Iterations = 2, Snapshots = 2 }.Train()));
        Assert.Empty(RunMetadata.UnknownKeys(written));
        // inside the objects whose keys the format defines: a misspelt Lipschitz constant would drop the claim without a word
        Assert.Equal(new (string, string?)[] { ("init.lipshitz_w", "init.lipschitz_w"), ("architecture.hyperr", "architecture.hyper") },
            RunMetadata.UnknownKeys("{\"init\": {\"kind\": \"tied\", \"lipshitz_w\": 0.0}, \"architecture\": {\"name\": \"one-layer\", \"hyperr\": {}}}").ToArray());
        var block = System.Text.Json.JsonSerializer.Serialize(RunDirectory.Metadata(new RunSpec { Architecture = "one-layer", Depth = 4, Samples = 5, Dim = 2, Iterations = 2, Snapshots = 2 }.Train()));
        Assert.Empty(RunMetadata.UnknownKeys(block));
    }

    [Fact(DisplayName = "RunDirectory: w.npy with one snapshot fewer than v.npy and steps.npy, or losses.npy shorter than run.json's iterations → refused, naming the file that differs")]
    public void AMismatchNamesTheFileThatDiffers()
    {
        var rec = GeneralRun();
        string dir = _tmp.File("short-w");
        RunDirectory.Write(rec, dir);
        var w = Npy.Read(Path.Combine(dir, "w.npy"));
        int per = w.Data.Length / w.Shape[0];
        Npy.Write(Path.Combine(dir, "w.npy"), new ReadOnlySpan<double>(w.Data, 0, w.Data.Length - per), new[] { w.Shape[0] - 1 }.Concat(w.Shape[1..]).ToArray());
        var e = Assert.Throws<RunFormatException>(() => RunDirectory.Read(dir));
        Assert.Contains($"w.npy holds {w.Shape[0] - 1} snapshots, v.npy {w.Shape[0]} and steps.npy {w.Shape[0]}", e.Message);

        string dir2 = _tmp.File("short-losses");
        RunDirectory.Write(rec, dir2);
        var l = Npy.Read(Path.Combine(dir2, "losses.npy")).Data;
        Npy.Write(Path.Combine(dir2, "losses.npy"), new ReadOnlySpan<double>(l, 0, l.Length - 3), l.Length - 3);
        e = Assert.Throws<RunFormatException>(() => RunDirectory.Read(dir2));
        Assert.Contains("losses.npy: holds", e.Message);
        Assert.Contains("losses.npy is short", e.Message);
    }

    [Theory(DisplayName = "RunDirectory: w.npy and v.npy of depth 0, x.npy and y.npy of no sample → refused, naming the file and the axis (depth 0 ended as tool errors)")]
    [InlineData("depth-0")]
    [InlineData("no-sample")]
    public void EmptyAxesAreRefusedByName(string variant)
    {
        var rec = GeneralRun();
        string dir = _tmp.File("empty-" + variant);
        RunDirectory.Write(rec, dir);
        string P(string f) => Path.Combine(dir, f);
        void Cut(string file, int axis)
        {
            var a = Npy.Read(P(file));
            var shape = (int[])a.Shape.Clone();
            shape[axis] = 0;
            Npy.Write(P(file), ReadOnlySpan<double>.Empty, shape);
        }
        // (a run.json without "depth", as another producer may write it: with one, the depth's disagreement names w.npy first)
        if (variant == "depth-0") { Cut("w.npy", 1); Cut("v.npy", 1); File.WriteAllText(P("run.json"), "{\"activation\": \"tanh\", \"eta\": 0.1}"); }
        else { Cut("x.npy", 0); Cut("y.npy", 0); }
        var e = Assert.Throws<RunFormatException>(() => RunDirectory.Read(dir));
        Assert.True(e.Message.Contains(variant == "depth-0" ? "w.npy: has depth L = 0" : "x.npy: holds no sample", StringComparison.Ordinal), e.Message);
    }

    [Fact(DisplayName = "RunDirectory: missing directory → error")]
    public void ReadingAMissingDirectoryFails()
    {
        var e = Assert.Throws<RunFormatException>(() => RunDirectory.Read(_tmp.File("nothing-here")));
        Assert.Contains("no such run directory", e.Message);
    }

    // ------------------------------------------------------------------ atomic replacement

    private static Dictionary<string, byte[]> Contents(string dir) =>
        Directory.GetFiles(dir, "*", SearchOption.AllDirectories)
            .ToDictionary(f => Path.GetRelativePath(dir, f), File.ReadAllBytes);

    private string[] Leftovers() =>
        Directory.GetFileSystemEntries(_tmp.Dir).Select(Path.GetFileName)
            .Where(n => n!.Contains(".partial-") || n.Contains(".old-")).ToArray()!;

    [Fact(DisplayName = "RunDirectory: overwrite → needs force, atomic")]
    public void OverwritingNeedsForceAndIsAtomic()
    {
        var first = GeneralRun(iterations: 6, seed: 1);
        var second = GeneralRun(iterations: 8, seed: 2);
        var dir = _tmp.File("out");
        RunDirectory.Write(first, dir);
        var before = Contents(dir);
        Assert.Contains("run.json", before.Keys);

        Assert.ThrowsAny<IOException>(() => RunDirectory.Write(second, dir));
        var after = Contents(dir);
        Assert.Equal(before.Keys.OrderBy(k => k, StringComparer.Ordinal), after.Keys.OrderBy(k => k, StringComparer.Ordinal));
        foreach (var (f, bytes) in before) Assert.Equal(bytes, after[f]);
        Assert.Empty(Leftovers());

        RunDirectory.Write(second, dir, force: true);
        var back = RunDirectory.Read(dir);
        AssertSameBits(second.Losses, back.Losses, "losses");
        Assert.Equal(8, back.Iterations);
        Assert.Empty(Leftovers());
        Assert.Equal(new[] { "out" }, Directory.GetFileSystemEntries(_tmp.Dir).Select(Path.GetFileName).ToArray());
    }

    [Fact(DisplayName = "RunDirectory: failed write → old directory kept, no temporaries")]
    public void AFailedWriteLeavesTheOldDirectoryAndNoTemporaries()
    {
        var dir = _tmp.File("kept");
        RunDirectory.Write(GeneralRun(iterations: 4), dir);
        var before = Contents(dir);
        Assert.Throws<InvalidOperationException>(() => RunDirectory.WriteAtomically(dir, force: true, tmp =>
        {
            File.WriteAllText(Path.Combine(tmp, "half.txt"), "partial");
            throw new InvalidOperationException("simulated failure while writing");
        }));
        var after = Contents(dir);
        Assert.Equal(before.Keys.OrderBy(k => k, StringComparer.Ordinal), after.Keys.OrderBy(k => k, StringComparer.Ordinal));
        foreach (var (f, bytes) in before) Assert.Equal(bytes, after[f]);
        Assert.Empty(Leftovers());
    }

    [Fact(DisplayName = "RunDirectory.EtaAgreement: eta 0.1 and learning_rate 0.3 at L = 3 (decimals that agree) → read, η the eta written (not the quotient 0.3/3, one ulp below, which broke a bit-exact replay); learning_rate alone → the quotient, marked derived; eta 8u above the derived η → rejected, which the former 1e-12 accepted")]
    public void EtaAndLearningRateAgreeWithinTheirRounding()
    {
        var r = RunDirectory.Read(WriteForeign("agree", "{\"activation\": \"tanh\", \"eta\": 0.1, \"learning_rate\": 0.3}"));
        Assert.NotEqual(0.1, 0.3 / 3);
        Assert.Equal(0.1, r.Eta);
        Assert.False(r.Meta.EtaFromLearningRate);
        var alone = RunDirectory.Read(WriteForeign("alone", "{\"activation\": \"tanh\", \"learning_rate\": 0.3}"));
        Assert.Equal(0.3 / 3, alone.Eta);
        Assert.True(alone.Meta.EtaFromLearningRate);
        double derived = 0.3 / 3, off = derived * (1 + 8 * 1.1102230246251565e-16);
        Assert.True(Math.Abs(off - derived) <= 1e-12 * derived);
        var dir = WriteForeign("disagree", "{\"activation\": \"tanh\", \"eta\": " + off.ToString("R", System.Globalization.CultureInfo.InvariantCulture) + ", \"learning_rate\": 0.3}");
        var e = Assert.Throws<RunFormatException>(() => RunDirectory.Read(dir));
        Assert.Contains("disagrees", e.Message);
        // the allowance is γ_4: about 4.4e-16 relative, 2 250 times below the former 1e-12
        Assert.InRange(RunDirectory.EtaAgreement, 4.44e-16, 4.45e-16);
    }
}
