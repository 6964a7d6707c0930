using System.Diagnostics;
using System.Globalization;
using ResOdeProofs.Numerics;
using ResOdeProofs.Numerics.IO;
using ResOdeProofs.Numerics.Model;
using ResOdeProofs.Numerics.Training;
using ResOdeProofs.Theory;
using FList = Microsoft.FSharp.Collections.ListModule;

namespace ResOdeProofs.Cli.Report;

/// <summary>
/// The settings of one report. η is the time step of the depth-scaled flow in the per-sample loss
/// convention ℓ = (1/n) Σ_i ‖F(x_i) − y_i‖²; the paper's code trains the mean over the n·d entries,
/// ℓ/d, with learning rate L·lr, which is η = lr/d here.
/// </summary>
internal sealed record ReportSettings(
    string Preset,
    long Seed,
    RunSpec Ladder,
    int[] LadderDepths,
    int[] SlopeDepths,
    int[] DistanceDepths,
    int[] LadderSnapshotSteps,
    RunSpec Long,
    int[] LongSnapshotSteps,
    int[] CoefficientSteps,
    RunSpec Control,
    string[] Notes,
    RunSpec? PlRun = null,
    int Seeds = 5,
    RunSpec? FlowRun = null)
{
    /// <summary>The study the settings were read from (<see cref="ReportStudy.Settings"/>).</summary>
    public Sweep.Study? Study { get; init; }
    /// <summary>Whether the page includes the real-data experiment (Fashion-MNIST, the paper's figure 3).</summary>
    public bool Fashion { get; init; }

    /// <summary>The settings of a built-in preset (a built-in study with the paper's layout), every seed replaced by <paramref name="seed"/> when given.</summary>
    public static ReportSettings Create(string preset, long? seed = null) => ReportStudy.Settings(ReportStudy.Load(preset, null, seed));
}

/// <summary>One trained run of the report, with its verdicts.</summary>
internal sealed class ReportRun
{
    public required string Name { get; init; }
    public required RunSpec Spec { get; init; }
    /// <summary>The run; a ladder replaces it by a copy holding only the last snapshot once measured (memory).</summary>
    public required RunData Data { get; set; }
    public required int[] SnapshotSteps { get; init; }
    public required double Seconds { get; init; }
    public List<Registry.VerdictRow> Rows { get; } = new();
    /// <summary>The cell's verify's replayed columns (<see cref="EvidenceColumns"/>), null when it wrote none.</summary>
    public IDictionary<string, double[]>? VerifiedColumns { get; init; }
    /// <summary>The theory layer's view of the run, reading the cell's replayed columns instead of replaying again when there are some.</summary>
    public Run View()
    {
        var v = new Run(Data);
        if (VerifiedColumns is not null) _ = v.UseVerifiedColumns(VerifiedColumns);
        return v;
    }
    public double[] Trace(string name) => Data.Trace.TryGetValue(name, out var v) ? v : Array.Empty<double>();
    /// <summary>The run's E.claims row (its verify's), which records the verifier's max_k ‖Z_{k+1} − Z_k‖; null when there is none.</summary>
    public Registry.VerdictRow? ClaimsRow => Rows.FirstOrDefault(r => r.Id == "E.claims");
    /// <summary>max_{k,t} ‖Z_{k+1} − Z_k‖ as E.claims records it from the verifier's column (NaN without it).</summary>
    public double MaxSmoothZ => Experiments.Constant(ClaimsRow, ReplayEvidence.maxIncrementName);
    /// <summary>max_k ‖Z_{k+1} − Z_k‖ at snapshot iteration <paramref name="step"/>, as E.claims records it (NaN without it).</summary>
    public double SmoothZAt(int step) => Experiments.Constant(ClaimsRow, ReplayEvidence.incrementAtName(step));
    public double FinalLoss => Data.Losses.Length == 0 ? double.NaN : Data.Losses[^1];
}

/// <summary>
/// An ordinary least-squares line y = a + b·x with the 95% confidence interval of b: the theory layer's one fit
/// (<c>LeastSquares.line</c>) over the finite points; no interval (NaN) with fewer than three points.
/// </summary>
internal sealed record LineFit(double Slope, double Intercept, double Lo, double Hi, int Points)
{
    public static LineFit Of(IReadOnlyList<double> x, IReadOnlyList<double> y)
    {
        var pts = x.Zip(y).Where(p => double.IsFinite(p.First) && double.IsFinite(p.Second)).ToArray();
        int n = pts.Length;
        if (n < 2) return new(double.NaN, double.NaN, double.NaN, double.NaN, n);
        var f = LeastSquares.line(pts.Select(p => p.First).ToArray(), pts.Select(p => p.Second).ToArray());
        return n < 3 ? new(f.Slope, f.Intercept, double.NaN, double.NaN, n) : new(f.Slope, f.Intercept, f.Slope - f.HalfWidth, f.Slope + f.HalfWidth, n);
    }

    /// <summary>
    /// A.rate's fit as its verdict row states it: the slope (its measured value), the 95% half-width and the intercept
    /// (constants of the ln–ln fit; the intercept given here in log10, as the figures draw it), over the depths it lists.
    /// No row (the ladder was refused) or a row without a measured slope (a hypothesis not met): NaN.
    /// </summary>
    public static LineFit OfRateRow(Registry.VerdictRow? row)
    {
        if (row is null) return new(double.NaN, double.NaN, double.NaN, double.NaN, 0);
        int n = row.Constants.Count(c => c.Item1.StartsWith("L * max|Delta| at L = ", StringComparison.Ordinal));
        double b = row.Measured, w = Experiments.Constant(row, "half-width (95%)"), a = Experiments.Constant(row, "intercept") / Math.Log(10);
        return n < 3 ? new(b, a, double.NaN, double.NaN, n) : new(b, a, b - w, b + w, n);
    }

    /// <summary>A fit a verdict row records as constants (slope, 95% half-width, intercept, points); NaN where absent.</summary>
    public static LineFit OfConstants(IReadOnlyDictionary<string, double> cs, string slope, string halfWidth, string intercept, string points)
    {
        double Get(string k) => cs.TryGetValue(k, out var v) ? v : double.NaN;
        double b = Get(slope), w = Get(halfWidth), a = Get(intercept), p = Get(points);
        int n = double.IsFinite(p) ? (int)p : 0;
        return n < 3 ? new(b, a, double.NaN, double.NaN, n) : new(b, a, b - w, b + w, n);
    }

    public string Describe() => double.IsNaN(Lo)
        ? string.Create(CultureInfo.InvariantCulture, $"{Slope:F3} (no CI: {Points} points)")
        : string.Create(CultureInfo.InvariantCulture, $"{Slope:F3} [95% CI {Lo:F3}, {Hi:F3}]");
}

/// <summary>A ladder of runs of one initialization and what was measured on it.</summary>
internal sealed class LadderResult
{
    public required string Init { get; init; }
    public required List<ReportRun> Runs { get; init; }
    public List<Registry.VerdictRow> LadderRows { get; } = new();
    /// <summary>A.rate on the slope depths (one of <see cref="LadderRows"/>): the row figure 1's slope is read from.</summary>
    public Registry.VerdictRow? SmoothnessRow { get; init; }
    /// <summary>D.curve on the distance depths (one of <see cref="LadderRows"/>): the row figure 1 (right) is read from.</summary>
    public Registry.VerdictRow? CurveRow { get; init; }
    public required LineFit SmoothnessFit { get; init; }
    /// <summary>Figure 1 (left)'s point at depth <paramref name="depth"/>: max_{k,t} ‖Z_{k+1} − Z_k‖ as A.rate's row records it
    /// (L·max over its depths, from the verifier's column), NaN where the row has no such depth.</summary>
    public double MaxIncrement(int depth) => Experiments.Constant(SmoothnessRow, DepthSmoothness.rateIncrementName(depth)) / depth;
    /// <summary>Reference depth of the distances and the depths compared with it.</summary>
    public required int ReferenceDepth { get; init; }
    public required int[] Steps { get; init; }
    /// <summary>Distance[depth index][snapshot] of the joint Z, and of W and V separately.</summary>
    public required int[] DistanceDepths { get; init; }
    public required double[][] DistZ { get; init; }
    public required double[][] DistW { get; init; }
    public required double[][] DistV { get; init; }
    public required LineFit DistanceFit { get; init; }
    public required int[] DistanceFitDepths { get; init; }
    /// <summary>
    /// Distances of the same depths to the Richardson limit Z^R = (L_b Z^{L_b} − L_a Z^{L_a})/(L_b − L_a) of the two
    /// deepest runs (<c>LimitDynamics.snapshotDistances</c>), per snapshot; the limit's error estimate (distance
    /// between the Richardson limits of the pairs (L_{−3}, L_{−2}) and (L_{−2}, L_{−1}); NaN with fewer than 4 runs);
    /// the slope of log distance vs log L at the last snapshot over all compared depths.
    /// </summary>
    public required double[][] DistRichardson { get; init; }
    public required double[] RichardsonError { get; init; }
    public required LineFit RichardsonFit { get; init; }
    public required double Seconds { get; init; }
}

/// <summary>
/// One depth of the bound figure: measured max_{k,t} ‖ΔZ‖, the bounds at the last iterate (where they
/// are largest), and for A.apriori the last iterate at which its bound is still finite in double
/// precision, with the bound and the measurement there.
/// </summary>
internal sealed record BoundPoint(int Depth, double Measured, double Aposteriori, double Apriori,
    int AprioriFiniteStep, double AprioriAtFiniteStep, double MeasuredAtFiniteStep, double ClipFraction,
    Registry.VerdictRow? AposterioriRow, Registry.VerdictRow AprioriRow)
{
    public double AposterioriTightness => Aposteriori / Measured;
    public double AprioriTightness => Apriori / Measured;
    public double AprioriTightnessAtFiniteStep => AprioriAtFiniteStep / MeasuredAtFiniteStep;
}

/// <summary>
/// Figure 1 again for several seeds (each seed draws its own data and initialization): per seed, the
/// slope of log max_{k,t} ‖ΔZ‖ against log L on the slope depths and the slope of the log distance to the
/// deepest run at the last iteration, read from fig1.seeds' row (<see cref="Row"/>); <see cref="Interval"/> gives the
/// across-seed mean and 95% interval.
/// </summary>
internal sealed record SeedSpread(long[] Seeds, int[] SlopeDepths, double[][] MaxSmooth, double[] SmoothSlopes,
    int ReferenceDepth, int[] DistanceDepths, double[][] Distances, double[] DistanceSlopes, double Seconds)
{
    /// <summary>The seed whose runs are figure 1's tied ladder (measured on the study's cells, not trained again), if any.</summary>
    public long? LadderSeed { get; init; }

    /// <summary>fig1.seeds on the seeds: the verdict, and the numbers of this record.</summary>
    public Registry.VerdictRow? Row { get; init; }

    /// <summary>
    /// Mean and 95% t-interval of the mean over the seeds and the standard deviation of one slope ("depth smoothness" or
    /// "distance"), as fig1.seeds records them (NaN without a row, and the bounds NaN with fewer than two seeds).
    /// </summary>
    public (double Mean, double Lo, double Hi, double Sd) Interval(string what)
    {
        double m = Experiments.Constant(Row, $"{what} slope: mean"), h = Experiments.Constant(Row, $"{what} slope: 95% half-width across seeds");
        return (m, m - h, m + h, Experiments.Constant(Row, $"{what} slope: standard deviation"));
    }
}

/// <summary>The a posteriori and a priori depth-smoothness bounds along the tied ladder.</summary>
internal sealed record BoundsResult(double Clip, double MaxGradient, int Iterations, List<BoundPoint> Points);

internal sealed class LongResult
{
    public required ReportRun Tied { get; init; }
    public required ReportRun Iid { get; init; }
    public required double Seconds { get; init; }
}

internal sealed class ControlResult
{
    public required string Name { get; init; }
    public required string Setting { get; init; }
    public required string Expected { get; init; }
    public required List<Registry.VerdictRow> Rows { get; init; }
    public bool IsFault { get; init; }
    /// <summary>A control that nothing should catch (the faithful baseline; the i.i.d. single runs, which every single-run
    /// result covers): a violation there is a false alarm.</summary>
    public bool IsClean { get; init; }
    /// <summary>
    /// The rows that catch this control for the reason it was built for (its <see cref="Expected"/>): a fault, by any
    /// violation; a broken setting, by the results and the unmet hypotheses that name what is broken. An unmet hypothesis
    /// of another cause (a run too narrow for the PL results, no clip radius for A.apriori) catches nothing: counted, it
    /// would make a control that no check can fail.
    /// </summary>
    public Func<Registry.VerdictRow, bool>? Catches { get; init; }
    public IEnumerable<string> ViolatedIds => Rows.Where(r => r.IsViolated).Select(r => r.Id).Distinct();
    public IEnumerable<string> NotMetIds => Rows.Where(r => r.Verdict == "hypothesis not met").Select(r => r.Id).Distinct();
    /// <summary>The ids of the rows that catch it (<see cref="Catches"/>; a fault: every violated id).</summary>
    public IEnumerable<string> CaughtByIds => Rows.Where(r => IsFault ? r.IsViolated : Catches?.Invoke(r) == true).Select(r => r.Id).Distinct();
    /// <summary>Caught: some row catches it for its reason (never for a clean control).</summary>
    public bool Caught => !IsClean && CaughtByIds.Any();

    /// <summary>A row of one of <paramref name="ids"/> (any when null) that is violated, or not met on a hypothesis whose name
    /// contains one of <paramref name="hypotheses"/> (any unmet hypothesis when none is given): the hypotheses by their names
    /// as the row lists them, not by the prose of its detail.</summary>
    public static Func<Registry.VerdictRow, bool> ViolatedOrNotMetFor(IEnumerable<string>? ids, params string[] hypotheses) => r =>
        (ids is null || ids.Contains(r.Id))
        && (r.IsViolated || (r.Verdict == "hypothesis not met"
            && r.Hypotheses.Any(h => !h.Item2 && (hypotheses.Length == 0 || hypotheses.Any(w => h.Item1.Contains(w, StringComparison.Ordinal))))));

    /// <summary>A violated row of one of <paramref name="ids"/>, or of an id starting with one ending in '.'.</summary>
    public static Func<Registry.VerdictRow, bool> ViolatedAmong(params string[] ids) => r =>
        r.IsViolated && ids.Any(id => id.EndsWith('.') ? r.Id.StartsWith(id, StringComparison.Ordinal) : r.Id == id);
}

/// <summary>Trains and measures the report's experiments.</summary>
/// <remarks>
/// The runs are not trained here: each is read, with its verdicts, from the study's finished cell of that name
/// (<paramref name="cells"/>, <see cref="ReportStudy.Runs"/>); the measurements on them, the ladders, and the
/// in-memory experiments (clipped copies for A.apriori, the seed spread, the bumped and the smoothed snapshot) are computed here.
/// </remarks>
internal sealed class Experiments(ReportSettings s, Action<string> log, CancellationToken cancel, Func<string, RunSpec, ReportRun> cells)
{
    private readonly Dictionary<string, double> _timings = new();
    public IReadOnlyDictionary<string, double> Timings => _timings;
    public void Record(string what, double seconds) => _timings[what] = seconds;

    /// <summary>The run of that name, read from its cell (the spec says what the page expects; the cell's own is kept).</summary>
    private ReportRun Train(string name, RunSpec spec)
    {
        cancel.ThrowIfCancellationRequested();
        var c = cells(name, spec);
        log(string.Create(CultureInfo.InvariantCulture,
            $"  {name}: {c.Data.Directory}, loss {c.Data.Losses[0]:G4} -> {c.FinalLoss:G4}{(c.Data.Diverged ? " (DIVERGED)" : "")}; {c.Rows.Count} results, {c.Rows.Count(r => r.IsViolated)} violated"));
        return c;
    }

    /// <summary>Figure 1: a ladder of depths for one initialization.</summary>
    public LadderResult Ladder(InitKind init)
    {
        var sw = Stopwatch.StartNew();
        string tag = init.ToString().ToLowerInvariant();
        log($"figure 1: {tag} ladder, L = {string.Join(", ", s.LadderDepths)}");
        var runs = s.LadderDepths.Select(L =>
            Train($"fig1-{tag}-L{L:D4}", s.Ladder.With(depth: L, init: init) with { SnapshotSteps = s.LadderSnapshotSteps })).ToList();
        var distRuns = runs.Where(r => s.DistanceDepths.Contains(r.Spec.Depth)).OrderBy(r => r.Spec.Depth).ToList();
        var reference = distRuns[^1];
        var compared = distRuns.Take(distRuns.Count - 1).ToList();
        var steps = reference.Data.Steps;
        // The ladder results compare depths at common layers and snapshots: they are evaluated on the depths
        // that divide the deepest one (a depth such as 1014 in a dyadic ladder would not nest).
        var nested = runs.Where(r => reference.Spec.Depth % r.Spec.Depth == 0).ToList();
        var ladder = LadderModule.create(FList.OfSeq(nested.Select(r => r.View())));
        var rows = new List<Registry.VerdictRow>();
        if (ladder.IsOk) rows.AddRange(Registry.verifyLadder(ladder.ResultValue));
        else log($"  note: no ladder results: {ladder.ErrorValue}");
        // Figure 1's slope is A.rate's: on the nested ladder when the slope depths are its depths, otherwise A.rate
        // evaluated on the slope depths as a row of its own (the paper's depths include L = 1014, which does not nest).
        var slopeRuns = runs.Where(r => s.SlopeDepths.Contains(r.Spec.Depth)).ToList();
        var slopeRow = slopeRuns.Select(r => r.Spec.Depth).SequenceEqual(nested.Select(r => r.Spec.Depth))
            ? rows.FirstOrDefault(r => r.Id == DepthSmoothness.rate.Id)
            : LadderModule.create(FList.OfSeq(slopeRuns.Select(r => r.View()))) is { IsOk: true } sl ? Registry.evaluateOnLadder(DepthSmoothness.rate, sl.ResultValue) : null;
        if (slopeRow is not null && !rows.Contains(slopeRow)) rows.Add(slopeRow);
        var fit = LineFit.OfRateRow(slopeRow);

        // Figure 1 (right) is D.curve's: the distances of the distance depths to the deepest one (W and V jointly and
        // apart), to the Richardson limit of the two deepest, the limit's error estimate and the two fits, as its row
        // records them; on the nested ladder when the distance depths are its depths, otherwise a row of its own.
        var curveRow = distRuns.Select(r => r.Spec.Depth).SequenceEqual(nested.Select(r => r.Spec.Depth))
            ? rows.FirstOrDefault(r => r.Id == RateCurve.rateCurve.Id)
            : LadderModule.create(FList.OfSeq(distRuns.Select(r => r.View()))) is { IsOk: true } dl ? Registry.evaluateOnLadder(RateCurve.rateCurve, dl.ResultValue) : null;
        if (curveRow is not null && !rows.Contains(curveRow)) rows.Add(curveRow);
        var cs = Constants(curveRow);
        double[][] Series(Func<int, int, string> name) =>
            compared.Select(r => steps.Select(j => cs.GetValueOrDefault(name(r.Spec.Depth, j), double.NaN)).ToArray()).ToArray();
        var dz = Series((L, j) => RateCurve.distanceName("Z", L, j));
        var dw = Series((L, j) => RateCurve.distanceName("W", L, j));
        var dv = Series((L, j) => RateCurve.distanceName("V", L, j));
        var rich = Series(RateCurve.richardsonName);
        var richErr = steps.Select(j => cs.GetValueOrDefault(RateCurve.limitErrorName(j), double.NaN)).ToArray();
        var fitDepths = compared.Select(r => r.Spec.Depth).Where(L => 4 * L <= reference.Spec.Depth).ToArray();
        var distFit = LineFit.OfConstants(cs, "distance slope (log10, L <= L_ref/4, last iteration)", "distance slope half-width (95%)", "distance slope intercept (log10)", "distance slope points");
        var richFit = LineFit.OfConstants(cs, "Richardson slope (log10, last iteration)", "Richardson slope half-width (95%)", "Richardson slope intercept (log10)", "Richardson slope points");
        var res = new LadderResult
        {
            DistRichardson = rich, RichardsonError = richErr, RichardsonFit = richFit,
            Init = tag, Runs = runs, SmoothnessRow = slopeRow, CurveRow = curveRow, SmoothnessFit = fit, ReferenceDepth = reference.Spec.Depth, Steps = steps,
            DistanceDepths = compared.Select(r => r.Spec.Depth).ToArray(), DistZ = dz, DistW = dw, DistV = dv,
            DistanceFit = distFit, DistanceFitDepths = fitDepths, Seconds = 0,
        };
        res.LadderRows.AddRange(rows);
        foreach (var r in runs) r.Data = LastSnapshotOnly(r.Data);
        _timings[$"figure 1 ({tag} ladder)"] = sw.Elapsed.TotalSeconds;
        log(string.Create(CultureInfo.InvariantCulture, $"  {tag}: slope of log max‖ΔZ‖ vs log L = {fit.Describe()} ({sw.Elapsed.TotalSeconds:F1} s)"));
        return res;
    }

    /// <summary>
    /// A.apriori needs clipped gradient descent: the tied runs of the slope depths are trained again
    /// with the smallest readable clip radius above every per-layer gradient of the unclipped runs,
    /// C = 1.1·max_{L,t,k} ‖G_k‖ rounded up to two significant digits, so that the clip never activates
    /// (checked with clip_fraction) and the trajectory is that of plain gradient descent; A.aposteriori's
    /// bound comes from the unclipped run, A.apriori's from the clipped one (the whole series over the
    /// iterates, to say where it overflows).
    /// </summary>
    public BoundsResult Bounds(LadderResult tied)
    {
        var sw = Stopwatch.StartNew();
        var runs = tied.Runs.Where(r => s.SlopeDepths.Contains(r.Spec.Depth)).ToList();
        double gmax = runs.Max(r => r.Trace("grad_w_max").Zip(r.Trace("grad_v_max"), (a, b) => Math.Sqrt(a * a + b * b)).Where(double.IsFinite).DefaultIfEmpty(0).Max());
        double clip = RoundUp(1.1 * gmax);
        log(string.Create(CultureInfo.InvariantCulture, $"A.apriori: tied ladder with clip radius C = {clip:G3} (max_k,t ‖G_k‖ = {gmax:G4}), L = {string.Join(", ", runs.Select(r => r.Spec.Depth))}"));
        // the depths' clipped runs are independent of one another (each its own training, view and row, the same numbers
        // on whatever thread): two at a time, deepest first, the points then in the depths' order. This part runs after
        // the cells, when the page's other side has finished its shorter parts and leaves a core idle.
        var slots = new BoundPoint[runs.Count];
        var order = Enumerable.Range(0, runs.Count).OrderByDescending(i => runs[i].Spec.Depth).ToArray();
        try
        {
            Parallel.ForEach(order, new ParallelOptions { MaxDegreeOfParallelism = 2, CancellationToken = cancel }, i =>
            {
                var r = runs[i];
                var spec = r.Spec with { Clip = clip, SnapshotSteps = new[] { 0, r.Spec.Iterations } };
                var result = spec.Train((_, _, _) => cancel.ThrowIfCancellationRequested());
                var data = RunDirectory.InMemory(result, $"fig1-tied-L{spec.Depth:D4}-clipped (in memory)");
                var run = new Run(data);
                var row = Registry.evaluateRow(DepthSmoothness.apriori, data.Directory, run);
                var post = r.Rows.FirstOrDefault(x => x.Id == "A.aposteriori");
                double clipFrac = data.Trace.TryGetValue("clip_fraction", out var cf) ? cf.Where(double.IsFinite).DefaultIfEmpty(0).Max() : double.NaN;
                // A.apriori's bound at the last iterate, where it is last finite and what it is compared with there, as its
                // verdict row states them; the measured maximum is E.claims' of the unclipped run
                double lastFinite = Constant(row, "last iterate with a finite bound");
                int jf = double.IsFinite(lastFinite) ? (int)lastFinite : -1;
                slots[i] = new BoundPoint(spec.Depth, r.MaxSmoothZ, Constant(post, "bound at the last iterate"), Constant(row, "bound at the last iterate"),
                    jf, jf >= 0 ? Constant(row, "bound at the last finite iterate") : double.NaN, jf >= 0 ? Constant(row, "measured at the last finite iterate") : double.NaN, clipFrac, post, row);
            });
        }
        // a failure reaches the caller as itself, as when the depths ran one after another
        catch (AggregateException ae) when (ae.InnerExceptions.Count > 0)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(ae.InnerExceptions[0]).Throw();
        }
        _timings["A.apriori (clipped tied ladder)"] = sw.Elapsed.TotalSeconds;
        return new BoundsResult(clip, gmax, runs[0].Spec.Iterations, slots.ToList());
    }

    /// <summary>A row's constants by name (empty without a row; the first of a repeated name).</summary>
    internal static Dictionary<string, double> Constants(Registry.VerdictRow? row)
    {
        var d = new Dictionary<string, double>();
        if (row is not null) foreach (var c in row.Constants) d.TryAdd(c.Item1, c.Item2);
        return d;
    }

    internal static double Constant(Registry.VerdictRow? row, string name) =>
        row is null ? double.NaN : row.Constants.Where(c => c.Item1 == name).Select(c => c.Item2).DefaultIfEmpty(double.NaN).First();

    /// <summary>Rounds up to two significant digits (a readable radius that is still ≥ x).</summary>
    private static double RoundUp(double x)
    {
        if (!(x > 0) || !double.IsFinite(x)) return 1.0;
        double p = Math.Pow(10, Math.Floor(Math.Log10(x)) - 1);
        return Math.Ceiling(x / p) * p;
    }

    // Figure 1 (tied) trained again for `Seeds` seeds s, s + 1, …, keeping only the trace and the last snapshot (no
    // verification): the spread of the slopes and plateaus from seed to seed. One job per seed (ReportSideWork).

    /// <summary>The depths figure 1 across seeds trains: the slope depths and the distance depths.</summary>
    public int[] SeedDepths() => s.SlopeDepths.Union(s.DistanceDepths).Order().ToArray();

    /// <summary>One seed of figure 1 across seeds: the views of its runs at the slope depths and at the distance depths (deepest last).</summary>
    internal sealed record SeedRow(long Seed, Run[] SlopeRuns, Run[] DistanceRuns);

    /// <summary>
    /// Seed s + <paramref name="i"/> of figure 1 across seeds, every depth trained on its own (<see cref="SeedRun"/>).
    /// </summary>
    public SeedRow RunSeed(int i) => SeedRowOf(s.Seed + i, SeedDepths().ToDictionary(L => L, L => SeedRun(i, L)));

    /// <summary>
    /// Depth <paramref name="depth"/> of seed s + <paramref name="i"/> of figure 1 across seeds, trained on its own (it depends on
    /// no other run), with snapshots at iterations 0 and N so that the verifier replays it. The replay is run here, in this
    /// run's own job, at every depth: fig1.seeds reads the replay's smooth_z at the slope depths (never the producer's trace)
    /// and its descent hypothesis reads the replayed loss of every run; replayed later, the runs that are not at a slope depth
    /// were replayed one after another on the page's own thread after the cells (7.6 CPU s of the paper preset's page, the
    /// deepest depths above all: docs/performance.md, 2026-12-07 17:24–). The replay feeds
    /// none of the iterate observers of a full verify (the split recursions of A.split*, which fig1.seeds does not read and
    /// which cost many times the replay itself): its iterates, comparisons and columns are the same without them.
    /// </summary>
    public Run SeedRun(int i, int depth)
    {
        long seed = s.Seed + i;
        log($"figure 1 across seeds: seed {seed}, L = {depth} (tied, replayed for fig1.seeds)");
        var data = RunDirectory.InMemory(SeedSpec(i, depth).Train((_, _, _) => cancel.ThrowIfCancellationRequested()), $"seed {seed} L = {depth} (in memory)");
        var run = new Run(data).WithoutIterateObservers();
        _ = run.Trace("smooth_z");
        return run;
    }

    /// <summary>The setting of seed s + <paramref name="i"/> of figure 1 across seeds at depth <paramref name="depth"/> (snapshots 0 and N kept).</summary>
    private RunSpec SeedSpec(int i, int depth) =>
        s.Ladder.With(depth: depth, init: InitKind.Tied, seed: s.Seed + i) with { SnapshotSteps = new[] { 0, s.Ladder.Iterations } };

    /// <summary>
    /// Whether seed s's runs of figure 1 across seeds are the tied ladder's own: every depth of <see cref="SeedDepths"/> is a
    /// rung of <paramref name="tied"/> (given by depth) whose setting is the seed's but for the snapshot steps. The snapshot
    /// steps change no iterate, no loss and no trace value (the loop only copies the parameters at those steps), and the
    /// replay of a run of this build lands on every snapshot bit for bit, so the row is the one training seed s again would give.
    /// </summary>
    public bool SeedZeroIsLadder(Func<int, RunSpec?> tied) =>
        s.Seeds > 1 && SeedDepths().All(L => tied(L) is { } c && (c with { SnapshotSteps = null }) == (SeedSpec(0, L) with { SnapshotSteps = null }));

    /// <summary>
    /// Seed s of figure 1 across seeds measured on the tied ladder's runs (see <see cref="SeedZeroIsLadder"/>): each rung's view
    /// reads the columns its cell's verify replayed (the ladder keeps only the last snapshot, so the view cannot replay
    /// again). Null when a rung has no such columns: the caller then trains seed s again.
    /// </summary>
    public SeedRow? SeedFromLadder(LadderResult tied)
    {
        if (!SeedZeroIsLadder(L => tied.Runs.FirstOrDefault(r => r.Spec.Depth == L)?.Spec))
            throw new InvalidOperationException("figure 1 across seeds: the tied ladder's runs are not seed s's runs");
        var rungs = SeedDepths().ToDictionary(L => L, L => tied.Runs.First(r => r.Spec.Depth == L));
        if (rungs.Values.Any(r => r.VerifiedColumns is null)) return null;
        var views = rungs.ToDictionary(kv => kv.Key, kv => kv.Value.View());
        if (views.Values.Any(v => v.Trace("smooth_z") is null)) return null;
        log($"figure 1 across seeds: seed {s.Seed} measured on the tied ladder's runs (their cells' replayed columns)");
        return SeedRowOf(s.Seed, views);
    }

    /// <summary>One seed's row from the verifier's views of its runs at every depth of <see cref="SeedDepths"/> (each slope-depth run replayed when not yet).</summary>
    internal SeedRow SeedRowOf(long seed, IReadOnlyDictionary<int, Run> runs)
    {
        foreach (var L in s.SlopeDepths) _ = runs[L].Trace("smooth_z");
        return new SeedRow(seed, s.SlopeDepths.Select(L => runs[L]).ToArray(), s.DistanceDepths.Order().Select(L => runs[L]).ToArray());
    }

    /// <summary>Figure 1 across seeds from its rows (in the order of the seeds): fig1.seeds evaluated on them, and its numbers.</summary>
    public SeedSpread SeedSpreadOf(SeedRow[] rows, double seconds, bool seedZeroFromLadder = false)
    {
        int reference = s.DistanceDepths.Max();
        var fitDepths = s.DistanceDepths.Where(L => 4 * L <= reference).Order().ToArray();
        _timings["figure 1 across seeds"] = seconds;
        static Ladder Of(Run[] rs) => LadderModule.create(FList.OfSeq(rs)) is { IsOk: true } l ? l.ResultValue : throw new InvalidOperationException(LadderModule.create(FList.OfSeq(rs)).ErrorValue);
        var input = FList.OfSeq(rows.Select(r => new RateCurve.SeedLadder(r.Seed, Of(r.SlopeRuns), Of(r.DistanceRuns))));
        var row = Registry.evaluateRow(RateCurve.seeds, $"seeds {string.Join(", ", rows.Select(r => r.Seed))}", input);
        var cs = Constants(row);
        double Get(string k) => cs.GetValueOrDefault(k, double.NaN);
        var slopes = rows.Select(r => Get(RateCurve.seedSlopeName("depth smoothness", r.Seed))).ToArray();
        var sd = new SeedSpread(rows.Select(r => r.Seed).ToArray(), s.SlopeDepths,
            rows.Select(r => s.SlopeDepths.Select(L => Get(RateCurve.seedMaxName(L, r.Seed))).ToArray()).ToArray(), slopes, reference, fitDepths,
            rows.Select(r => fitDepths.Select(L => Get(RateCurve.seedDistanceName(L, r.Seed))).ToArray()).ToArray(),
            rows.Select(r => Get(RateCurve.seedSlopeName("distance", r.Seed))).ToArray(), seconds) { Row = row, LadderSeed = seedZeroFromLadder ? s.Seed : null };
        var (m, lo, hi, _) = sd.Interval("depth smoothness");
        log(string.Create(CultureInfo.InvariantCulture, $"  smoothness slope over {rows.Length} seeds: mean {m:F3} [95% {lo:F3}, {hi:F3}]; fig1.seeds {row.Verdict} ({seconds:F1} s)"));
        return sd;
    }

    /// <summary>The gradient flow of the figure-2 setting (null when the preset has none).</summary>
    public ReportRun? FlowRun()
    {
        if (s.FlowRun is null) return null;
        var sw = Stopwatch.StartNew();
        log($"figure 2 as a gradient flow: L = {s.FlowRun.Depth}, horizon {(s.FlowRun.Eta * s.FlowRun.Iterations).ToString("G4", CultureInfo.InvariantCulture)}");
        var run = Train("fig2-tied-flow", s.FlowRun);
        _timings["figure 2 (gradient flow)"] = sw.Elapsed.TotalSeconds;
        return run;
    }

    /// <summary>The figure-2 configuration with a step inside the PL results' hypotheses (null when the preset has none).</summary>
    public ReportRun? PlRun()
    {
        if (s.PlRun is null) return null;
        var sw = Stopwatch.StartNew();
        log($"figure 2 inside the PL hypotheses: L = {s.PlRun.Depth}, η = {s.PlRun.Eta.ToString("G4", CultureInfo.InvariantCulture)}, {s.PlRun.Iterations} iterations");
        var run = Train("fig2-tied-pl", s.PlRun);
        _timings["figure 2 (run inside the PL hypotheses)"] = sw.Elapsed.TotalSeconds;
        return run;
    }

    /// <summary>Figure 2: long training, tied and i.i.d.</summary>
    public LongResult Long()
    {
        var sw = Stopwatch.StartNew();
        log($"figure 2: long training, L = {s.Long.Depth}, {s.Long.Iterations} iterations");
        var tied = Train("fig2-tied", s.Long with { SnapshotSteps = s.LongSnapshotSteps });
        var iid = Train("fig2-iid", s.Long.With(init: InitKind.Iid) with { SnapshotSteps = s.LongSnapshotSteps });
        _timings["figure 2 (long training)"] = sw.Elapsed.TotalSeconds;
        return new LongResult { Tied = tied, Iid = iid, Seconds = sw.Elapsed.TotalSeconds };
    }

    /// <summary>Deliberately broken settings: each should be caught by some result.</summary>
    public List<ControlResult> Controls(LadderResult iidLadder)
    {
        var sw = Stopwatch.StartNew();
        log("negative controls");
        var c = s.Control;
        var list = new List<ControlResult>
        {
            new()
            {
                Name = "i.i.d. ladder", Setting = $"figure-1 ladder with i.i.d. initialization, L = {string.Join(", ", iidLadder.Runs.Select(r => r.Spec.Depth))}",
                Expected = "rate statements violated or their hypotheses not met: the weights are not a discretization of a function of depth",
                Rows = iidLadder.LadderRows.ToList(),
                // the ladder's rate statements, violated or not met for the ladder (any of its hypotheses: they are the ladder's)
                Catches = ControlResult.ViolatedOrNotMetFor(new[] { "A.rate", "D.rate", "D.curve", "B.rate" }),
            },
        };
        var faithful = Train("control-faithful", c);
        list.Add(new() { Name = "faithful baseline (not broken)", Setting = Describe(faithful.Spec), Expected = "nothing violated (the control of the controls)", Rows = faithful.Rows, IsClean = true });
        var narrow = Train("control-m-lt-n", c.With(width: Math.Max(1, c.Samples / 2)));
        list.Add(new() { Name = "m < n", Setting = Describe(narrow.Spec), Expected = "the PL results' hypothesis m ≥ n not met", Rows = narrow.Rows,
            Catches = r => r.Id.StartsWith("C.", StringComparison.Ordinal) && ControlResult.ViolatedOrNotMetFor(null, "m ≥ n")(r) });
        var relu = Train("control-relu", c.With(activation: ActivationKind.Relu));
        list.Add(new() { Name = "relu", Setting = Describe(relu.Spec), Expected = "hypotheses needing bounded σ'' not met", Rows = relu.Rows,
            Catches = ControlResult.ViolatedOrNotMetFor(null, "bounded sigma''") });

        var bumped = Bump(faithful.Data, out string bumpDesc);
        list.Add(new()
        {
            Name = "bumped snapshot", Setting = bumpDesc,
            Expected = "depth-smoothness (and any bound on snapshot weights) violated at the bumped layer",
            // a depth-smoothness statement (A.*): the integrity checks (I.*, E.*) catch it too, but not for that reason
            Rows = Registry.verifyRun(new Run(bumped)).ToList(), Catches = ControlResult.ViolatedAmong("A."),
        });
        var smoothed = Smooth(faithful.Data, out string smoothDesc);
        list.Add(new()
        {
            Name = "smoothed snapshot", Setting = smoothDesc,
            Expected = "the increments' remainder ball (A.split.centre.remainder) violated at that snapshot, while every upper bound on the increments holds (a smaller increment is within all of them)",
            Rows = Registry.verifyRun(new Run(smoothed)).ToList(), Catches = ControlResult.ViolatedAmong("A.split.centre.remainder"),
        });
        // the control setting integrated as a gradient flow over the same horizon (this build's own run: replayed bit for bit),
        // one layer of a middle snapshot moved by 10⁻³ an entry
        var flowBumped = BumpFlow(RunDirectory.InMemory(c.TrainFlow(), "control-flow"), out string flowDesc);
        list.Add(new()
        {
            Name = "bumped flow snapshot", Setting = flowDesc,
            Expected = "the flow's depth-smoothness (A.flow.split.centre.segments) and the flow replay (E.flowReplay) violated at the moved snapshot",
            Rows = Registry.verifyRun(new Run(flowBumped)).ToList(), Catches = ControlResult.ViolatedAmong("A.flow.", "E.flowReplay"),
        });
        foreach (var f in new[] { EngineFault.ScaledLayerGradient, EngineFault.ForwardDepthScale, EngineFault.WrongActivationDerivative, EngineFault.StaleGradient })
        {
            var run = Train($"control-fault-{f}", c.With(fault: f));
            list.Add(new()
            {
                Name = $"engine fault {f}", Setting = Describe(run.Spec) + $", snapshots at iterations {string.Join(", ", run.SnapshotSteps)}",
                Expected = "some result violated", IsFault = true, Rows = run.Rows,
            });
        }
        _timings["negative controls"] = sw.Elapsed.TotalSeconds;
        return list;
    }

    private static RunData LastSnapshotOnly(RunData d) => Copy(d, lastOnly: true);

    /// <summary>A copy of a run (the arrays shared) under another directory name, or holding only the last snapshot (memory).</summary>
    internal static RunData Copy(RunData d, string? directory = null, bool lastOnly = false) => new()
    {
        Directory = directory ?? d.Directory, Meta = d.Meta, Shape = d.Shape, Data = d.Data, A = d.A, B = d.B, Activation = d.Activation, Eta = d.Eta,
        Steps = lastOnly ? new[] { d.Steps[^1] } : d.Steps, W = lastOnly ? new[] { d.W[^1] } : d.W, V = lastOnly ? new[] { d.V[^1] } : d.V,
        Losses = d.Losses, Trace = d.Trace,
    };

    /// <summary>
    /// A copy of <paramref name="data"/> whose last snapshot has layer ⌊L/2⌋ of W shifted by a matrix of
    /// Frobenius norm 1 (all entries equal): an O(1) jump between neighbouring layers, where a smooth
    /// run has jumps of order 1/L. The trace is the original one.
    /// </summary>
    private static RunData Bump(RunData data, out string description)
    {
        int L = data.Shape.Depth, md = data.Shape.Width * data.Shape.Dim, k = L / 2, last = data.W.Length - 1;
        var w = data.W.Select(a => (double[])a.Clone()).ToArray();
        double e = 1.0 / Math.Sqrt(md);
        for (int i = 0; i < md; i++) w[last][k * md + i] += e;
        description = $"copy of control-faithful with W_{k + 1} (1-based) of the last snapshot (iteration {data.Steps[last]}) shifted by a Frobenius-norm-1 matrix";
        return new RunData
        {
            Directory = "control-bumped (in memory)", Meta = data.Meta, Shape = data.Shape, Data = data.Data, A = data.A, B = data.B,
            Activation = data.Activation, Eta = data.Eta, Steps = data.Steps, W = w, V = data.V, Losses = data.Losses, Trace = data.Trace,
        };
    }

    /// <summary>
    /// A copy of <paramref name="data"/> whose last snapshot has every layer moved toward the snapshot's mean layer,
    /// Z_k ← (1 − 10⁻⁶)Z_k + 10⁻⁶Z̄ (W and V): every increment Z_{k+1} − Z_k becomes (1 − 10⁻⁶) times itself, a run smoother in
    /// depth than its dynamics allow. The losses and the trace are the original ones.
    /// </summary>
    private static RunData Smooth(RunData data, out string description)
    {
        int L = data.Shape.Depth, md = data.Shape.Width * data.Shape.Dim, last = data.W.Length - 1;
        const double eps = 1e-6;
        double[] Moved(double[] z)
        {
            var mean = new double[md];
            for (int k = 0; k < L; k++) for (int e = 0; e < md; e++) mean[e] += z[k * md + e];
            for (int e = 0; e < md; e++) mean[e] /= L;
            var o = new double[z.Length];
            for (int i = 0; i < z.Length; i++) o[i] = (1 - eps) * z[i] + eps * mean[i % md];
            return o;
        }
        var w = data.W.Select((a, i) => i == last ? Moved(a) : a).ToArray();
        var v = data.V.Select((a, i) => i == last ? Moved(a) : a).ToArray();
        description = $"copy of control-faithful with every layer of the last snapshot (iteration {data.Steps[last]}) moved toward the mean layer by 10⁻⁶: each increment shrunk by the factor 1 − 10⁻⁶";
        return new RunData
        {
            Directory = "control-smoothed (in memory)", Meta = data.Meta, Shape = data.Shape, Data = data.Data, A = data.A, B = data.B,
            Activation = data.Activation, Eta = data.Eta, Steps = data.Steps, W = w, V = v, Losses = data.Losses, Trace = data.Trace,
        };
    }

    /// <summary>
    /// A copy of the gradient flow <paramref name="data"/> whose middle snapshot has every entry of W_⌊L/2⌋+1 moved by 10⁻³:
    /// a move below what the Grönwall form A.flow can see, which the split recursion's centre compares pair by pair.
    /// </summary>
    private static RunData BumpFlow(RunData data, out string description)
    {
        int L = data.Shape.Depth, md = data.Shape.Width * data.Shape.Dim, k = L / 2, s = data.Steps.Length / 2;
        var w = data.W.Select(a => (double[])a.Clone()).ToArray();
        for (int i = 0; i < md; i++) w[s][k * md + i] += 1e-3;
        description = string.Create(CultureInfo.InvariantCulture,
            $"the control setting as a gradient flow over the same horizon (Dormand–Prince 5(4), rtol 1e-8), W_{k + 1} (1-based) of snapshot {s} (output {data.Steps[s]}) moved by 10⁻³ an entry");
        return new RunData
        {
            Directory = "control-flow-bumped (in memory)", Meta = data.Meta, Shape = data.Shape, Data = data.Data, A = data.A, B = data.B,
            Activation = data.Activation, Eta = data.Eta, Steps = data.Steps, W = w, V = data.V, Losses = data.Losses, Trace = data.Trace,
        };
    }

    internal static string Describe(RunSpec r) => string.Create(CultureInfo.InvariantCulture,
        $"L = {r.Depth}, m = {r.Width}, n = {r.Samples}, d = {r.Dim}, {Activations.Name(r.Activation)}, {r.Init.ToString().ToLowerInvariant()} init, η = {r.Eta:G4}, {r.Iterations} iterations, seed {r.Seed}")
        + (r.Fault == EngineFault.None ? "" : $", fault {r.Fault}");
}
