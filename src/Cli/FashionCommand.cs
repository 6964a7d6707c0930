using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using ResOdeProofs.Numerics;
using ResOdeProofs.Numerics.IO;
using ResOdeProofs.Numerics.Model;
using ResOdeProofs.Numerics.Training;
using ResOdeProofs.Theory;

namespace ResOdeProofs.Cli;

/// <summary>
/// `resode fashion`: the paper's real-data experiment (its figure 3, on CIFAR-10 there) on Fashion-MNIST:
/// tied vs i.i.d. initialization × activation, same seed and budget; accuracy, loss, the depth-smoothness
/// profile ‖Z_{k+1} − Z_k‖_F over k, and the theory layer's verdicts for each cell.
/// </summary>
internal static class FashionCommand
{
    private static readonly FashionOptions D = new();

    public static Command Build()
    {
        var dataDir = new Option<string>("--data-dir") { Description = "Directory with the four Fashion-MNIST IDX files (installed by `apt-get install dataset-fashion-mnist`).", DefaultValueFactory = _ => Idx.FashionMnistDefaultDir };
        var outDir = new Option<string>("--out") { Description = "Output directory (one run directory per cell, figures/, summary.md, summary.json).", DefaultValueFactory = _ => "fashion" };
        var depth = new Option<int>("--depth") { Description = "Depth L.", DefaultValueFactory = _ => D.Depth };
        var width = new Option<int>("--width") { Description = "Width m.", DefaultValueFactory = _ => D.Width };
        var dim = new Option<int>("--d") { Description = "State dimension d (≥ 10; the random projection A maps 784 pixels to d).", DefaultValueFactory = _ => D.Dim };
        var perClass = new Option<int>("--per-class") { Description = "Training images per class (class-balanced subset).", DefaultValueFactory = _ => D.PerClass };
        var testPerClass = new Option<int>("--test-per-class") { Description = "Test images per class.", DefaultValueFactory = _ => D.TestPerClass };
        var iters = new Option<int>("--iters") { Description = "Full-batch gradient-descent updates per cell.", DefaultValueFactory = _ => D.Iterations };
        var eta = new Option<double>("--eta") { Description = "Time step η (learning rate L·η on the per-sample squared loss).", DefaultValueFactory = _ => D.Eta };
        var acts = new Option<string>("--activations") { Description = "Comma-separated activations of the grid.", DefaultValueFactory = _ => string.Join(",", D.Activations.Select(Activations.Name)) };
        var seed = new Option<long>("--seed") { Description = "Seed (subset, projection, initialization).", DefaultValueFactory = _ => D.Seed };
        var force = new Option<bool>("--force") { Description = "Replace --out if it exists, only when it is a fashion output written by resode that holds nothing else." };
        var cmd = new Command("fashion", "Real-data experiment on Fashion-MNIST: tied vs i.i.d. initialization × activation; accuracy, depth-smoothness profiles of W and V, figures and verdicts per cell. The verification dominates the runtime: on the GELU cells the replay with the split statements' observer, about five times their training. A cell whose training diverged, or one of whose checks could not be evaluated, is named and makes the exit code 3.")
        { dataDir, outDir, depth, width, dim, perClass, testPerClass, iters, eta, acts, seed, force };
        cmd.SetAction(pr =>
        {
            try
            {
                string dir = pr.GetValue(outDir)!;
                var o = new FashionOptions
                {
                    DataDir = pr.GetValue(dataDir)!, Depth = pr.GetValue(depth), Width = pr.GetValue(width), Dim = pr.GetValue(dim),
                    PerClass = pr.GetValue(perClass), TestPerClass = pr.GetValue(testPerClass), Iterations = pr.GetValue(iters), Eta = pr.GetValue(eta),
                    Activations = pr.GetValue(acts)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(Activations.Parse).ToArray(),
                    Seed = pr.GetValue(seed),
                };
                if (o.Activations.Length == 0) return Ui.Fail("--activations: give at least one activation (e.g. gelu,relu)");
                if (o.Iterations < 0 || (long)o.Iterations + 1 > Array.MaxLength / 16) return Ui.Fail($"--iters {o.Iterations}: give 0 or more iterations, few enough for their trace to fit in memory");
                if (o.Dim < 1 || o.Dim > 4096) return Ui.Fail($"--d {o.Dim}: the state dimension is 1 to 4096 (A projects the 784 pixels onto it)");
                // every setting checked before the data are read and the output claimed (fail before the work)
                if (!(double.IsFinite(o.Eta) && o.Eta > 0)) return Ui.Fail($"--eta {o.Eta.ToString(CultureInfo.InvariantCulture)}: the step η must be a positive finite number");
                if (o.PerClass < 1) return Ui.Fail($"--per-class {o.PerClass}: give at least one training image per class");
                if (o.TestPerClass < 1) return Ui.Fail($"--test-per-class {o.TestPerClass}: give at least one test image per class (the accuracy is measured on them)");
                new NetworkShape(o.Depth, o.Width, o.Dim, 784, 10).Validate();
                using var claim = OutputClaim.Acquire(dir, pr.GetValue(force), "fashion");
                Ui.Notes(claim);
                using var interrupts = Ui.OnInterrupt("interrupted: stopping; the partial output is removed (signal again, a second or more later, to kill)");
                var ex = FashionExperiment.Run(o, Console.WriteLine, interrupts.Token);
                claim.Commit(tmp =>
                {
                    ex.WriteRuns(tmp);
                    ex.Figures(Path.Combine(tmp, "figures"));
                    File.WriteAllText(Path.Combine(tmp, "summary.md"), ex.SummaryMarkdown());
                    File.WriteAllText(Path.Combine(tmp, "summary.json"), ex.Json().ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }));
                });
                Ui.Notes(claim);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"wrote {dir}/summary.md and {dir}/figures in {ex.Seconds:F1} s"));
                // the exit code says what the cells found: a violated result 1; a cell that did not complete its training
                // (diverged) or a check that could not be evaluated 3, each named; else 0
                var violated = ex.Cells.SelectMany(c => c.Rows.Where(r => r.IsViolated).Select(r => $"{c.Name}: {r.Id}")).ToList();
                var unfinished = ex.Cells.Where(c => c.Result.Status != RunStatus.Completed).Select(c => $"{c.Name} ({c.Result.Status.ToString().ToLowerInvariant()})").ToList();
                var errors = ex.Cells.SelectMany(c => c.Rows.Where(r => r.IsError).Select(r => $"{c.Name}: {r.Id}")).ToList();
                if (violated.Count > 0) { Console.Error.WriteLine($"violated: {string.Join("; ", violated)}"); return ExitCodes.Violated; }
                if (unfinished.Count + errors.Count > 0)
                {
                    Console.Error.WriteLine($"not completed: {string.Join("; ", unfinished.Concat(errors))} (see {dir}/summary.md)");
                    return ExitCodes.ToolFailed;
                }
                return ExitCodes.Done;
            }
            catch (OperationCanceledException)
            {
                Console.Error.WriteLine($"interrupted: nothing was written to {pr.GetValue(outDir)}");
                return ExitCodes.ToolFailed;
            }
            catch (Exception e) when (Ui.Expected(e))
            {
                return Ui.Fail(e);
            }
        });
        return cmd;
    }
}
