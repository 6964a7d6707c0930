using System.CommandLine;
using System.Globalization;
using ResOdeProofs.Numerics.BnConv;
using System.Text;
using System.Text.Json.Nodes;
using ResOdeProofs.Numerics.IO;

namespace ResOdeProofs.Cli.Sweep;

/// <summary>
/// `resode sweep table1 DIR`: the layout of the paper's Table 1 for a study of `train --arch bn-conv` cells (fashion-smoke,
/// fashion-reduced, fashion-paper): per activation and initialization, the median and interquartile range over seeds of
/// the train and test accuracy, and a "smooth" column decided by <see cref="Criterion"/>.
/// </summary>
internal static class BnConvTable
{
    /// <summary>The stated numeric criterion of the "smooth" column.</summary>
    public const string Criterion =
        "smooth when ρ = L·max_k ‖K^(k+1) − K^(k)‖_F / max_k ‖K^(k)‖_F ≤ √L for both conv₁ and conv₂ of the trained network: " +
        "weights that discretize a Lipschitz function of depth keep ρ bounded as L grows (ρ ≤ the relative Lipschitz constant), " +
        "while independent layers have ‖K^(k+1) − K^(k)‖ ≈ √2·‖K^(k)‖, i.e. ρ ≈ √2·L; √L separates the two regimes for every L ≥ 4 " +
        "by a factor growing like √L (16 at L = 256).";

    /// <summary>One trained cell: its grid coordinates and measurements.</summary>
    internal sealed record Run(string Activation, string Init, long Seed, int Depth, double TrainAccuracy, double TestAccuracy, double Rho1, double Rho2)
    {
        public bool Smooth => Math.Max(Rho1, Rho2) <= Math.Sqrt(Depth);
        /// <summary>The cell's run directory.</summary>
        public string Dir { get; init; } = "";
        /// <summary>run.json's claims checked against a recomputation (null: taken from run.json unchecked).</summary>
        public BnConvAccuracy.Check? TrainCheck { get; init; }
        public BnConvAccuracy.Check? TestCheck { get; init; }
        public bool ClaimsAgree => (TrainCheck?.Agrees ?? true) && (TestCheck?.Agrees ?? true);
    }

    public static Command Build()
    {
        var dir = new Argument<string>("DIR") { Description = "Output directory of a study of `train --arch bn-conv` cells." };
        var dataDir = new Option<string?>("--data-dir") { Description = $"Directory of the Fashion-MNIST IDX files the accuracies are recomputed on (default {Idx.FashionMnistDefaultDir})." };
        var cmd = new Command("table1", "Print the paper's Table 1 layout for a study of `train --arch bn-conv` cells: median [interquartile range] over seeds of train and test accuracy per activation and initialization, recomputed from params.npy and the images and compared with run.json's claims (exit 1 on a mismatch), and the smooth column (criterion printed with the table).") { dir, dataDir };
        cmd.SetAction(pr =>
        {
            try
            {
                var runs = Read(pr.GetValue(dir)!, recompute: true, pr.GetValue(dataDir));
                if (runs.Count == 0) return Ui.Fail($"{pr.GetValue(dir)}: no finished bn-conv cells (cells/*/run/run.json with \"kind\": \"bn-conv\")");
                Console.Write(Markdown(runs));
                var bad = runs.Where(r => !r.ClaimsAgree).ToList();
                foreach (var r in bad)
                    foreach (var c in new[] { r.TrainCheck!, r.TestCheck! }.Where(c => !c.Agrees))
                        Console.WriteLine($"MISMATCH {r.Dir}: {c.Describe()}");
                return bad.Count > 0 ? ExitCodes.Violated : ExitCodes.Done;
            }
            catch (Exception e) when (Ui.Expected(e) || e is RunFormatException or NpyFormatException or System.Text.Json.JsonException or IdxFormatException)
            {
                return Ui.Fail(e.Message);
            }
        });
        return cmd;
    }

    /// <summary>
    /// The finished bn-conv cells of a study output. With <paramref name="recompute"/> the accuracies are recomputed from
    /// params.npy, statistics.npy and the images (BnConvAccuracy: two evaluation passes over the run's images per cell,
    /// about a third of one training epoch's work) and run.json's claims are checked against them. ρ of conv₁ and conv₂ is
    /// the constant of the cell's E.profile row when <paramref name="rows"/> gives the cell's verdict rows (the report),
    /// otherwise the same quantity of the theory layer's profile of params.npy (BnConvResults.kernelProfiles).
    /// </summary>
    public static List<Run> Read(string dir, bool recompute = false, string? dataDir = null, Func<string, List<Theory.Registry.VerdictRow>?>? rows = null)
    {
        var cells = Path.Combine(dir, "cells");
        if (!Directory.Exists(cells)) throw new ArgumentException($"{dir}: not a study output (no cells/ directory)");
        var runs = new List<Run>();
        foreach (var c in Directory.GetDirectories(cells).OrderBy(x => x, StringComparer.Ordinal))
        {
            var runDir = Path.Combine(c, "run");
            if (!BnConvRun.IsRun(runDir)) continue;
            // with the report's rows, only the cells the merge took as done (a failed cell's run may not be readable)
            if (rows is not null && rows(runDir) is null) continue;
            try
            {
            var j = JsonNode.Parse(File.ReadAllText(Path.Combine(runDir, "run.json")))!;
            int L = j["depth"]!.GetValue<int>();
            BnConvRun? loaded = null;
            BnConvRun Loaded() => loaded ??= BnConvRun.Load(runDir);
            var profile = rows?.Invoke(runDir)?.FirstOrDefault(r => r.Id == Theory.DepthProfile.profile.Id);
            double Rho(string part) =>
                profile?.Constants.FirstOrDefault(x => x.Item1 == Theory.DepthProfile.rhoName(part))?.Item2
                ?? Theory.BnConvResults.kernelProfiles(Loaded()).First(p => p.Part == part).Rho;
            var run = new Run(j["activation"]!.GetValue<string>(), j["init"]!.GetValue<string>(), j["seed"]!.GetValue<long>(), L,
                j["final"]!["train_accuracy_eval"]!.GetValue<double>(), j["final"]!["test_accuracy"]!.GetValue<double>(),
                Rho("conv1"), Rho("conv2")) { Dir = runDir };
            if (recompute)
            {
                var (tr, te) = BnConvAccuracy.Verify(Loaded(), dataDir);
                run = run with { TrainAccuracy = tr.Recomputed, TestAccuracy = te.Recomputed, TrainCheck = tr, TestCheck = te };
            }
            runs.Add(run);
            }
            catch (Exception e) when (e is RunFormatException or NpyFormatException or IOException or System.Text.Json.JsonException
                                      or NullReferenceException or InvalidOperationException)
            {
                // a cell whose run cannot be read is left out of the table, said on stderr (sweep status and merge name it too)
                Console.Error.WriteLine($"note: {runDir} left out: its run cannot be read ({e.Message})");
            }
        }
        return runs;
    }

    /// <summary>Quantile q of sorted values, linear interpolation between order statistics.</summary>
    internal static double Quantile(IReadOnlyList<double> sorted, double q)
    {
        double h = (sorted.Count - 1) * q;
        int lo = (int)Math.Floor(h), hi = Math.Min(lo + 1, sorted.Count - 1);
        return sorted[lo] + (h - lo) * (sorted[hi] - sorted[lo]);
    }

    /// <summary>Table 1's rows, one per activation and initialization (identity, GELU, ReLU; tied before i.i.d.).</summary>
    internal static List<(string Activation, string Init, string[] Cells, List<Run> Runs)> Groups(IReadOnlyList<Run> runs)
    {
        string Pct(IEnumerable<double> xs)
        {
            var s = xs.Order().ToList();
            return string.Create(CultureInfo.InvariantCulture, $"{100 * Quantile(s, 0.5):F1} [{100 * Quantile(s, 0.25):F1}, {100 * Quantile(s, 0.75):F1}]");
        }
        var order = new[] { "identity", "gelu", "relu" };
        var list = new List<(string, string, string[], List<Run>)>();
        foreach (var g in runs.GroupBy(r => (r.Activation, r.Init)).OrderBy(g => Array.IndexOf(order, g.Key.Activation) is var i && i < 0 ? 99 : i).ThenBy(g => g.Key.Init == "tied" ? 0 : 1))
        {
            int smooth = g.Count(r => r.Smooth), n = g.Count();
            string verdict = smooth == n ? "yes" : smooth == 0 ? "no" : $"mixed ({smooth} of {n})";
            list.Add((g.Key.Activation, g.Key.Init, new[]
            {
                g.Key.Activation, g.Key.Init, n.ToString(CultureInfo.InvariantCulture), Pct(g.Select(r => r.TrainAccuracy)), Pct(g.Select(r => r.TestAccuracy)),
                string.Create(CultureInfo.InvariantCulture, $"{g.Max(r => r.Rho1):G3}, {g.Max(r => r.Rho2):G3}"), verdict,
            }, g.ToList()));
        }
        return list;
    }

    /// <summary>The header of <see cref="Groups"/>' cells.</summary>
    internal static readonly string[] Header = { "activation", "initialization", "seeds", "train accuracy %", "test accuracy %", "max ρ over seeds (conv₁, conv₂)", "smooth" };

    public static string Markdown(IReadOnlyList<Run> runs)
    {
        var sb = new StringBuilder();
        bool checkedClaims = runs.Any(r => r.TrainCheck is not null);
        sb.AppendLine("| " + string.Join(" | ", Header) + " |" + (checkedClaims ? " run.json's claims |" : ""));
        sb.AppendLine(string.Concat(Enumerable.Repeat("|---", Header.Length)) + "|" + (checkedClaims ? "---|" : ""));
        foreach (var (_, _, cells, g) in Groups(runs))
            sb.AppendLine("| " + string.Join(" | ", cells) + " |" +
                (checkedClaims ? (g.All(r => r.ClaimsAgree) ? " agree |" : $" MISMATCH in {g.Count(r => !r.ClaimsAgree)} of {g.Count} |") : ""));
        sb.AppendLine();
        sb.AppendLine("Accuracies: median [first quartile, third quartile] over seeds; train accuracy in evaluation mode on the unaugmented training images after the last epoch" +
            (checkedClaims ? "; recomputed here from params.npy, statistics.npy and the images (evaluation mode, running statistics), and compared with run.json's claims within a rounding allowance of A images, A = the images classified differently by the folded and the unfolded evaluation." : " (as run.json records them)."));
        sb.AppendLine("Smooth: " + Criterion);
        return sb.ToString();
    }
}
