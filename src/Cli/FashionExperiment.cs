using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using ResOdeProofs.Cli.Report;
using ResOdeProofs.Numerics;
using ResOdeProofs.Numerics.IO;
using ResOdeProofs.Numerics.Model;
using ResOdeProofs.Numerics.Training;
using ResOdeProofs.Theory;
using Microsoft.FSharp.Core;
using FList = Microsoft.FSharp.Collections.ListModule;

namespace ResOdeProofs.Cli;

/// <summary>The options of the real-data experiment; the defaults are those of `resode fashion` and of the paper report.</summary>
internal sealed record FashionOptions
{
    public string DataDir { get; init; } = Idx.FashionMnistDefaultDir;
    public int Depth { get; init; } = 256;
    public int Width { get; init; } = 32;
    public int Dim { get; init; } = 32;
    public int PerClass { get; init; } = 20;
    public int TestPerClass { get; init; } = 100;
    public int Iterations { get; init; } = 200;
    public double Eta { get; init; } = 0.02;
    /// <summary>
    /// GELU (smooth) against ReLU (not C²), as in the paper's figure 3; tanh is one `--activations
    /// gelu,relu,tanh` away (two more cells: the i.i.d. cells' verification dominates the runtime).
    /// </summary>
    public ActivationKind[] Activations { get; init; } = { ActivationKind.Gelu, ActivationKind.Relu };
    public long Seed { get; init; }
    /// <summary>
    /// Snapshots with full weights: the initialization and the trained weights (the coefficient plots show
    /// both). Every snapshot costs a layer-wise evaluation in the verification, which dominates the runtime.
    /// </summary>
    public int Snapshots { get; init; } = 2;

    public string CommandLine() => string.Create(CultureInfo.InvariantCulture,
        $"resode fashion --depth {Depth} --width {Width} --d {Dim} --per-class {PerClass} --test-per-class {TestPerClass} --iters {Iterations} --eta {Eta:R} " +
        $"--activations {string.Join(",", Activations.Select(Numerics.Activations.Name))} --seed {Seed}");
}

/// <summary>One cell of the grid (initialization × activation), trained and measured.</summary>
internal sealed class FashionCell
{
    public required string Name { get; init; }
    public required InitKind Init { get; init; }
    public required ActivationKind Activation { get; init; }
    public required TrainRecord Result { get; init; }
    public required RunData Data { get; init; }
    /// <summary>
    /// The train and test accuracies: E.accuracy.train's and E.accuracy.test's recount from the stored weights and the images (decided correct / N; NaN
    /// without the row's constants). <see cref="AccuracyText"/> shows the interval when some samples are undecided.
    /// </summary>
    public double TrainAccuracy => Counted(FashionAccuracy.accuracyLowName("train"));
    public double TestAccuracy => Counted(FashionAccuracy.accuracyLowName("test"));
    /// <summary>The recounted accuracy of "train" or "test" as a percentage, "lo–hi" when samples are undecided by rounding.</summary>
    public string AccuracyText(string set)
    {
        double lo = Counted(FashionAccuracy.accuracyLowName(set)), hi = Counted(FashionAccuracy.accuracyHighName(set));
        return lo == hi || double.IsNaN(hi) ? lo.ToString("P1", CultureInfo.InvariantCulture) : string.Create(CultureInfo.InvariantCulture, $"{lo:P1}–{hi:P1}");
    }
    private double Counted(string name) =>
        Rows.Where(r => FashionAccuracy.all.Any(a => a.Id == r.Id)).SelectMany(r => r.Constants).FirstOrDefault(c => c.Item1 == name)?.Item2 ?? double.NaN;
    /// <summary>
    /// ‖W_{k+1} − W_k‖_F, ‖V_{k+1} − V_k‖_F and the joint ‖Z_{k+1} − Z_k‖_F, k = 1..L−1, after training: E.profile's input
    /// (DepthProfile.mlpProfiles), kept only to be drawn and written as recorded curves (the figures, smoothness_profile*.npy);
    /// every statistic of them below is a constant of the cell's E.profile row.
    /// </summary>
    public required double[] ProfileW { get; init; }
    public required double[] ProfileV { get; init; }
    public required double[] Profile { get; init; }
    public required List<Registry.VerdictRow> Rows { get; init; }
    /// <summary>The trainer's own accuracy claims at the last snapshot (null for a run that did not complete), which
    /// E.accuracy.train and E.accuracy.test recount and run.json "fashion" records.</summary>
    public double? TrainClaim { get; init; }
    public double? TestClaim { get; init; }
    public required double TrainSeconds { get; init; }
    public required double VerifySeconds { get; init; }
    /// <summary>max_k ‖ΔW_k‖, max_k ‖ΔV_k‖, max_k ‖ΔZ_k‖ and the medians after training: constants of the E.profile row (NaN without it).</summary>
    public double MaxW => Profiled(DepthProfile.maxIncrementName("W"));
    public double MaxV => Profiled(DepthProfile.maxIncrementName("V"));
    public double MaxZ => Profiled(DepthProfile.maxIncrementName("Z"));
    public double MedianW => Profiled(DepthProfile.medianIncrementName("W"));
    public double MedianV => Profiled(DepthProfile.medianIncrementName("V"));
    private double Profiled(string name) =>
        Rows.FirstOrDefault(r => r.Id == DepthProfile.profile.Id)?.Constants.FirstOrDefault(c => c.Item1 == name)?.Item2 ?? double.NaN;
}

/// <summary>The data and network of the real-data experiment, loaded once for all of its cells.</summary>
internal sealed record FashionSetup(FashionOptions Options, FashionData Data, NetworkShape Shape)
{
    /// <summary>The grid's cells in their order: initialization (tied, then i.i.d.) × activation.</summary>
    public IEnumerable<(InitKind Init, ActivationKind Activation)> Grid =>
        new[] { InitKind.Tied, InitKind.Iid }.SelectMany(i => Options.Activations.Select(a => (i, a)));

    /// <summary>Loads and prepares the data (IdxFormatException naming the package when it is missing).</summary>
    public static FashionSetup Load(FashionOptions o, Action<string> log)
    {
        var raw = FashionMnist.Load(o.DataDir);
        var fd = FashionData.Prepare(raw, o.PerClass, o.TestPerClass, o.Dim, o.Seed);
        var shape = new NetworkShape(o.Depth, o.Width, o.Dim, 784, 10);
        shape.Validate();
        log($"fashion: {fd.Description}; L = {shape.Depth}, m = {shape.Width}, {o.Iterations} iterations, η = {o.Eta.ToString(CultureInfo.InvariantCulture)}");
        return new FashionSetup(o, fd, shape);
    }
}

/// <summary>
/// The paper's real-data experiment (its figure 3, CIFAR-10 there) on Fashion-MNIST: tied vs i.i.d.
/// initialization × activation, same data, seed and budget, full-batch gradient descent. Used by
/// `resode fashion` and by the paper report.
/// </summary>
internal sealed class FashionExperiment
{
    public required FashionOptions Options { get; init; }
    public required FashionData Data { get; init; }
    public required NetworkShape Shape { get; init; }
    public required List<FashionCell> Cells { get; init; }
    public required double Seconds { get; init; }

    /// <summary>Loads the data (IdxFormatException naming the package when it is missing) and trains every cell, one after another.</summary>
    public static FashionExperiment Run(FashionOptions o, Action<string> log, CancellationToken cancel)
    {
        var total = Stopwatch.StartNew();
        var setup = FashionSetup.Load(o, log);
        var cells = setup.Grid.Select(g => RunCell(setup, g.Init, g.Activation, log, cancel, Ui.Interactive)).ToList();
        return new FashionExperiment { Options = o, Data = setup.Data, Shape = setup.Shape, Cells = cells, Seconds = total.Elapsed.TotalSeconds };
    }

    /// <summary>
    /// Trains, measures and verifies one cell of the grid. Cells share nothing writable (each its own initialization,
    /// trainer and view), so cells may run at once, each giving the bits it gives alone; <paramref name="progress"/> draws
    /// a progress bar (only when nothing else draws one).
    /// </summary>
    public static FashionCell RunCell(FashionSetup setup, InitKind init, ActivationKind act, Action<string> log, CancellationToken cancel, bool progress = false)
    {
        var (o, fd, shape) = (setup.Options, setup.Data, setup.Shape);
        string name = $"{init.ToString().ToLowerInvariant()}-{Activations.Name(act)}";
        var w0 = init == InitKind.Tied ? Initialization.Tied(shape, o.Seed) : Initialization.Iid(shape, o.Seed);
        var opts = new TrainOptions(act, o.Eta, o.Iterations) { Snapshots = o.Snapshots };
        string label = $"fashion {name} L={shape.Depth}";
        var sw = Stopwatch.StartNew();
        var r = progress
            ? Ui.WithProgress(label, p => Trainer.Train(shape, fd.Train, w0, opts with { Progress = (i, n, l) => { cancel.ThrowIfCancellationRequested(); p(i, n, l); } }, o.Seed, fd.Description, fd.A, fd.B))
            : Trainer.Train(shape, fd.Train, w0, opts with { Progress = (_, _, _) => cancel.ThrowIfCancellationRequested() }, o.Seed, fd.Description, fd.A, fd.B);
        double trainSec = sw.Elapsed.TotalSeconds;
        // the producer's claims (no claim for a run that did not complete), which E.accuracy.train and E.accuracy.test recount from the stored weights
        FSharpOption<double>? trClaim = null, teClaim = null;
        if (r.Status == RunStatus.Completed)
        {
            trClaim = FSharpOption<double>.Some(FashionData.Accuracy(shape, act, fd.Train, fd.TrainLabels, fd.A, fd.B, r.Snapshots[^1].W, r.Snapshots[^1].V));
            teClaim = FSharpOption<double>.Some(FashionData.Accuracy(shape, act, fd.Test, fd.TestLabels, fd.A, fd.B, r.Snapshots[^1].W, r.Snapshots[^1].V));
        }
        sw.Restart();
        var data = RunDirectory.InMemory(r, name);
        var view = new Run(data);
        var rows = Registry.verifyRun(view).ToList();
        var profile = DepthProfile.ofMlpRun(view);
        rows.AddRange(CellRows(view, profile, Sets(fd, trClaim, teClaim, null), _ => true));
        var part = profile.Parts.ToDictionary(p => p.Part, p => p.Increments);
        var cell = new FashionCell
        {
            Name = name, Init = init, Activation = act, Result = r, Data = data,
            ProfileW = part["W"], ProfileV = part["V"], Profile = part["Z"], Rows = rows, TrainSeconds = trainSec, VerifySeconds = sw.Elapsed.TotalSeconds,
            TrainClaim = trClaim is null ? null : trClaim.Value, TestClaim = teClaim is null ? null : teClaim.Value,
        };
        log(string.Create(CultureInfo.InvariantCulture,
            $"  {name}: loss {r.Losses[0]:G4} -> {r.Losses[^1]:G4}, train {cell.AccuracyText("train")}, test {cell.AccuracyText("test")}, L·max_k ‖ΔW_k‖ = {shape.Depth * cell.MaxW:G4}, L·max_k ‖ΔV_k‖ = {shape.Depth * cell.MaxV:G4} (train {cell.TrainSeconds:F1} s, verify {cell.VerifySeconds:F1} s)"));
        return cell;
    }

    /// <summary>The two labelled sets of a cell with the trainer's claims (<paramref name="unavailable"/>: why the images are
    /// not at hand, with <paramref name="fd"/> null).</summary>
    private static FashionAccuracy.LabelledSet[] Sets(FashionData? fd, FSharpOption<double>? train, FSharpOption<double>? test, string? unavailable)
    {
        var why = unavailable is null ? FSharpOption<string>.None : FSharpOption<string>.Some(unavailable);
        return new[]
        {
            new FashionAccuracy.LabelledSet("train", fd?.Train.X ?? Array.Empty<double>(), fd?.TrainLabels ?? Array.Empty<int>(), train, why),
            new FashionAccuracy.LabelledSet("test", fd?.Test.X ?? Array.Empty<double>(), fd?.TestLabels ?? Array.Empty<int>(), test, why),
        };
    }

    /// <summary>The rows a Fashion-MNIST cell gets beyond its run's own (each when <paramref name="select"/> chooses it):
    /// E.profile (the stored weights' smoothness in depth against the trace) and E.accuracy.train/.test (the claims recounted
    /// on the images).</summary>
    private static List<Registry.VerdictRow> CellRows(Run view, DepthProfile.ProfileInput profile, FashionAccuracy.LabelledSet[] sets, Func<string, bool> select)
    {
        var rows = new List<Registry.VerdictRow>();
        if (select(DepthProfile.profile.Id)) rows.Add(Registry.profileRow(profile));
        if (FashionAccuracy.all.Any(r => select(r.Id)))
            rows.AddRange(Registry.accuracyRows(FashionAccuracy.ofMlpRun(view, FList.OfSeq(sets))).Where(r => select(r.Id)));
        return rows;
    }

    /// <summary>
    /// `verify` of a cell's run directory (run.json "fashion", written by <see cref="WriteRuns"/>): the cell's E.profile and
    /// E.accuracy rows, evaluated as `resode fashion` did (until 2026-12-06 `verify` rewrote the cell's verdicts.json without
    /// them). The images are prepared again from the recorded directory, counts and seed, and must give the run's own x.npy and
    /// a.npy; where they cannot be read or do not, the accuracy rows say so (hypothesis not met) and the other rows stand.
    /// </summary>
    public static List<Registry.VerdictRow> VerifyCellRows(Run view, FashionMetadata f, Func<string, bool> select)
    {
        FashionData? fd = null;
        string? why = null;
        if (FashionAccuracy.all.Any(r => select(r.Id)))
        {
            string dir = f.DataDir ?? Idx.FashionMnistDefaultDir;
            try
            {
                fd = FashionData.Prepare(FashionMnist.Load(dir), f.PerClass, f.TestPerClass, view.Setting.Dim, f.Seed);
                var a = view.Data.A ?? Array.Empty<double>();
                // the images, their one-hot labels and the projection must be the run's own: the recount's labels come from
                // the IDX files, so a y.npy that disagrees with them would be recounted against other labels than trained on
                if (!fd.Train.X.AsSpan().SequenceEqual(view.Data.Data.X) || !fd.Train.Y.AsSpan().SequenceEqual(view.Data.Data.Y) || !fd.A.AsSpan().SequenceEqual(a))
                    why = $"the images prepared from {dir} with run.json \"fashion\" ({f.PerClass}/class, seed {f.Seed}) are not the run's x.npy, y.npy and a.npy";
            }
            catch (Exception e) when (e is IdxFormatException or IOException or UnauthorizedAccessException or ArgumentException) { why = e.Message; }
            if (why is not null) fd = null;
        }
        FSharpOption<double>? Claim(double? c) => c is { } v ? FSharpOption<double>.Some(v) : FSharpOption<double>.None;
        return CellRows(view, DepthProfile.ofMlpRun(view), Sets(fd, Claim(f.TrainAccuracy), Claim(f.TestAccuracy), why), select);
    }

    /// <summary>The figures of the experiment, written under <paramref name="figDir"/> (names start with "fig3-fashion-": the paper's figure 3 is its real-data experiment).</summary>
    public List<Figure> Figures(string figDir)
    {
        var list = new List<Figure>
        {
            Report.Figures.FashionProfile(figDir, this, ofV: false),
            Report.Figures.FashionProfile(figDir, this, ofV: true),
            Report.Figures.FashionLoss(figDir, this),
        };
        // the paper's figure 3: a few coefficients against k, tied vs i.i.d., for the first activation of the grid
        var act = Options.Activations[0];
        int m = Shape.Width, d = Shape.Dim;
        var coeffs = Enumerable.Range(0, 5).Select(i => (i * (m - 1) / 4, (7 * i + 3) % d)).ToArray();
        foreach (var init in new[] { InitKind.Tied, InitKind.Iid })
            if (Cells.FirstOrDefault(c => c.Init == init && c.Activation == act) is { } cell)
                foreach (bool ofV in new[] { false, true })
                    list.Add(Report.Figures.Coefficients(figDir, cell.Data, init, cell.Data.Steps, coeffs, ofV, $"fig3-fashion-coefficients-{(ofV ? "v" : "w")}-{cell.Name}",
                        $"Fashion-MNIST {cell.Name}", "(the paper's figure 3)"));
        return list;
    }

    public static readonly string[] SummaryHeader =
    {
        "cell", "status", "loss start → end", "train acc (E.accuracy.train)", "test acc (E.accuracy.test)", "L·max_k ‖ΔW_k‖", "L·max_k ‖ΔV_k‖", "L·median_k ‖ΔW_k‖", "L·median_k ‖ΔV_k‖",
        "verdicts hold / violated / not met", "seconds (train + verify)",
    };

    /// <summary>One row per cell; the smoothness is L·‖Z_{k+1} − Z_k‖ after training (O(1) for a discretized smooth function of depth).</summary>
    public List<string[]> SummaryRows()
    {
        int L = Shape.Depth;
        return Cells.Select(c =>
        {
            int h = c.Rows.Count(r => r.Verdict == "holds"), vi = c.Rows.Count(r => r.IsViolated);
            return new[]
            {
                c.Name, c.Result.Status.ToString().ToLowerInvariant(), Inv($"{c.Result.Losses[0]:G4} → {c.Result.Losses[^1]:G4}"),
                c.AccuracyText("train"), c.AccuracyText("test"), Inv($"{L * c.MaxW:G4}"), Inv($"{L * c.MaxV:G4}"),
                Inv($"{L * c.MedianW:G4}"), Inv($"{L * c.MedianV:G4}"),
                $"{h} / {vi} / {c.Rows.Count - h - vi}", Inv($"{c.TrainSeconds:F1} + {c.VerifySeconds:F1}"),
            };
        }).ToList();
    }

    /// <summary>The finding in words, from the measured profiles (not by eye): the cells' E.profile constants.</summary>
    public List<string> Findings()
    {
        var notes = new List<string>();
        int L = Shape.Depth;
        foreach (var act in Options.Activations)
        {
            var t = Cells.FirstOrDefault(c => c.Init == InitKind.Tied && c.Activation == act);
            var i = Cells.FirstOrDefault(c => c.Init == InitKind.Iid && c.Activation == act);
            if (t is null || i is null) continue;
            notes.Add(Inv($"{Activations.Name(act)}: L·max_k ‖ΔW_k‖ tied {L * t.MaxW:G3} vs i.i.d. {L * i.MaxW:G3} ({i.MaxW / t.MaxW:G3}×); ") +
                      Inv($"L·max_k ‖ΔV_k‖ (V = 0 at initialization for both) tied {L * t.MaxV:G3} vs i.i.d. {L * i.MaxV:G3} ({(t.MaxV > 0 ? i.MaxV / t.MaxV : double.PositiveInfinity):G3}×); ") +
                      Inv($"test accuracy tied {t.AccuracyText("test")}, i.i.d. {i.AccuracyText("test")}."));
        }
        return notes;
    }

    /// <summary>Where the accuracies of the table come from.</summary>
    public const string AccuracyNote =
        "Accuracies: the constants of each cell's E.accuracy.train and E.accuracy.test rows (docs/theorems/FashionAccuracy.md), the correct predictions recounted by an independent float64 forward pass " +
        "of the stored weights on the images, which the row compares with the trainer's own count; a range lo–hi where some images' two largest outputs lie within the forward pass' rounding bound of each other.";

    public const string Prediction =
        "The theory predicts max_k ‖Z_{k+1} − Z_k‖ = O(1/L), i.e. L·max_k ‖ΔZ_k‖ = O(1), for a smooth (tied) initialization and a smooth activation, and no such bound for an i.i.d. " +
        "initialization. W starts smooth (tied) or rough (i.i.d.), so its roughness after training mostly reflects the initialization; V starts at 0 for both, so V's roughness after training is the telling quantity: " +
        "it is what gradient descent itself put there.";

    /// <summary>
    /// What this experiment is and is not, stated with its own sizes: a residual MLP on a fixed projection trained by
    /// full-batch gradient descent (the theorems' setting), not the paper's convolutional network with batch norm trained by
    /// SGD; and whether its width meets the PL hypothesis m ≥ n.
    /// </summary>
    public string Scope()
    {
        int n = Data.Train.Count, m = Shape.Width;
        string pl = m >= n
            ? $"m = {m} ≥ n = {n}: the width meets the PL hypothesis (m ≥ n) of the convergence theorem"
            : $"m = {m} < n = {n}: the width does NOT meet the PL hypothesis (m ≥ n) of the convergence theorem, so nothing here speaks to the theorem's global convergence";
        return "What this experiment is: a residual MLP h ← h + (1/L)·V σ(W h) on a fixed random projection of the pixels, with a fixed read-out, " +
               $"squared loss and full-batch gradient descent on {n} training images, one seed per cell; {pl}. " +
               "It tests the theorems' own setting on real inputs (smoothness in depth of the trained weights, tied against i.i.d.). " +
               "It is not the paper's figure-3/Table-1 experiment (CIFAR-10, a convolutional stem and blocks with batch norm, cross-entropy, " +
               "mini-batch SGD with momentum, weight decay, a cosine schedule and augmentation, 180 epochs, 5 seeds): its accuracies are not comparable to Table 1's, " +
               "and agreement or disagreement with Table 1's smooth/not-smooth column is not evidence either way. " +
               "That experiment is `resode train --arch bn-conv` and the studies fashion-smoke, fashion-reduced and fashion-paper (docs/real-data.md).";
    }

    public string SummaryMarkdown()
    {
        var sb = new StringBuilder();
        sb.AppendLine("# Fashion-MNIST: smoothness in depth of trained weights\n");
        sb.AppendLine(Inv($"{Data.Description}. Depth L = {Shape.Depth}, width m = {Shape.Width}, d = {Shape.Dim}, full-batch gradient descent (the theorems' setting), η = {Options.Eta:G4}, {Options.Iterations} iterations (t = {Options.Eta * Options.Iterations:G4}); total {Seconds:F1} s."));
        sb.AppendLine($"\n{Scope()}\n");
        sb.AppendLine($"\nReproduce: `{Options.CommandLine()}`\n");
        sb.AppendLine("| " + string.Join(" | ", SummaryHeader) + " |");
        sb.AppendLine("|" + string.Concat(SummaryHeader.Select(_ => "---|")));
        foreach (var r in SummaryRows()) sb.AppendLine("| " + string.Join(" | ", r) + " |");
        sb.AppendLine().AppendLine(AccuracyNote);
        sb.AppendLine().AppendLine(Prediction).AppendLine();
        foreach (var n in Findings()) sb.AppendLine("- " + n);
        sb.AppendLine("\nFigures: figures/fig3-fashion-profile-w.png, figures/fig3-fashion-profile-v.png (‖ΔW_k‖, ‖ΔV_k‖ against k), figures/fig3-fashion-loss.png, figures/fig3-fashion-coefficients-*.png (coefficients against k, tied vs i.i.d.).");
        return sb.ToString();
    }

    public JsonObject Json() => new()
    {
        ["data"] = Data.Description, ["seed"] = Options.Seed, ["depth"] = Shape.Depth, ["width"] = Shape.Width, ["d"] = Shape.Dim,
        ["eta"] = Options.Eta, ["iterations"] = Options.Iterations, ["total_seconds"] = Seconds, ["command"] = Options.CommandLine(),
        ["scope"] = Scope(),
        ["cells"] = new JsonArray(Cells.Select(c =>
        {
            var o = Report.ReportJson.Numbers(
                ("loss_initial", c.Result.Losses[0]), ("loss_final", c.Result.Losses[^1]),
                ("train_accuracy", c.TrainAccuracy), ("test_accuracy", c.TestAccuracy),
                ("max_increment", c.MaxZ), ("max_increment_w", c.MaxW), ("max_increment_v", c.MaxV),
                ("median_increment_w", c.MedianW), ("median_increment_v", c.MedianV),
                ("train_seconds", c.TrainSeconds), ("verify_seconds", c.VerifySeconds));
            o["name"] = c.Name; o["init"] = c.Init.ToString().ToLowerInvariant(); o["activation"] = Activations.Name(c.Activation);
            o["status"] = c.Result.Status.ToString().ToLowerInvariant();
            o["verdicts"] = Report.ReportJson.Rows(c.Rows);
            return (JsonNode)o;
        }).ToArray()),
    };

    /// <summary>Writes one run directory per cell (with its smoothness profiles and verdicts) under <paramref name="dir"/>.</summary>
    public void WriteRuns(string dir)
    {
        foreach (var c in Cells)
        {
            string rd = Path.Combine(dir, c.Name);
            // run.json "fashion": how the cell's images were chosen and the trainer's claims, so that `verify` of this
            // directory evaluates the cell's E.profile and E.accuracy rows as the experiment did
            var fashion = new FashionMetadata
            {
                DataDir = Options.DataDir, PerClass = Options.PerClass, TestPerClass = Options.TestPerClass, Seed = Options.Seed,
                TrainAccuracy = c.TrainClaim, TestAccuracy = c.TestClaim,
            };
            RunDirectory.Write(c.Result, rd, provenance: new RunProvenance(Options.CommandLine(), fashion));
            Npy.Write(Path.Combine(rd, "smoothness_profile.npy"), c.Profile, c.Profile.Length);
            Npy.Write(Path.Combine(rd, "smoothness_profile_w.npy"), c.ProfileW, c.ProfileW.Length);
            Npy.Write(Path.Combine(rd, "smoothness_profile_v.npy"), c.ProfileV, c.ProfileV.Length);
            Registry.writeVerdicts(rd, FList.OfSeq(c.Rows));
        }
    }

    private static string Inv(FormattableString f) => f.ToString(CultureInfo.InvariantCulture);
}
