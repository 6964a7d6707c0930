using ResOdeProofs.Theory;

namespace ResOdeProofs.Cli.Report;

/// <summary>
/// A result aggregated over the rows of the report's faithful runs: how many rows end in each verdict,
/// and the range of its tightness over the rows that hold: the largest first (the loosest comparison, the bound's worst
/// case) with its measured value and bound, then the smallest (the tightest, nearest to failing) with its pair.
/// Measured and Bound are the worst row's: the loosest comparison when some row holds, else the deciding row's.
/// </summary>
internal sealed record SummaryRow(string Id, string Title, string Doc, string Provenance, int Rows, int Holds, int Violated, int NotMet, int NotApplicable, int Errors,
    double Measured, double Bound, double MinTightness, double MedianTightness, double MaxTightness, string MaxTightnessAt, double Seconds,
    IReadOnlyList<(string Verdict, string Detail, int Count)> Reasons, double TightestMeasured = double.NaN, double TightestBound = double.NaN, string MinTightnessAt = "")
{
    /// <summary>violated, error, holds (some row holds and none is violated) or not_checked (no row reached the conclusion).</summary>
    public string Status => Violated > 0 ? "violated" : Errors > 0 ? "error" : Holds > 0 ? "holds" : "not_checked";
    /// <summary>
    /// Some row's bound exceeds its measurement more than <see cref="ReportWriter.LooseFactor"/>-fold. The run-integrity
    /// and evidence checks (docs/theorems/RunIntegrity.md, Evidence.md) are left out: they compare recorded numbers with recomputed ones against a
    /// rounding allowance, and a large ratio there says the numbers agree far inside it, not that a bound is weak.
    /// </summary>
    public bool Loose => MaxTightness > ReportWriter.LooseFactor && !ReportWriter.IsIntegrityCheck(Doc);
}

/// <summary>One measured value of a comparison (a label, e.g. "L = 16", and the number).</summary>
internal sealed record Measure(string Label, double Value);

/// <summary>
/// One line of a figure's comparison of the paper's prediction with the measurement. The numbers are
/// kept as numbers (the text is made when the report is written); <see cref="CheckedBy"/> names the
/// results of the theory layer whose verdicts decide the statement, so that a table never shows an
/// agreement that no verdict supports.
/// </summary>
internal sealed record Comparison(string Key, string Quantity, string Predicted, double PredictedValue, IReadOnlyList<Measure> Measured,
    double CiLow = double.NaN, double CiHigh = double.NaN, double Ratio = double.NaN, string? Reference = null, string[]? CheckedBy = null, string? Note = null,
    IReadOnlyList<Registry.VerdictRow>? CheckedRows = null)
{
    /// <summary>
    /// The verdicts behind <see cref="CheckedBy"/>'s id: the rows given in <see cref="CheckedRows"/> when the statement is
    /// decided by particular rows (the i.i.d. ladder's A.rate, not among the faithful runs' rows; the seeds'
    /// fig1.seeds), else the faithful runs' summary of that id (null: not evaluated).
    /// </summary>
    public SummaryRow? StatusOf(string id, IReadOnlyDictionary<string, SummaryRow> faithful) =>
        CheckedRows is { } given
            ? (given.Where(x => x.Id == id).ToList() is { Count: > 0 } own ? ReportWriter.Summarize(own)[0] : null)
            : faithful.GetValueOrDefault(id);
}

/// <summary>How the report is written: where verdicts link to, and the command line recorded in it.</summary>
internal sealed record ReportOptions(string? DocsBase = null, string? CommandLine = null)
{
    /// <summary>
    /// How many of the page's parts after the cells run at once (the two sides of the experiments, the figures): 2 by
    /// default, 1 for one after another. The page is the same either way.
    /// </summary>
    public int PageLanes { get; init; } = 2;
}

/// <summary>Everything the report shows: the experiments' results, before anything is written.</summary>
internal sealed class ReportContent
{
    public required ReportSettings Settings { get; init; }
    public required LadderResult Tied { get; init; }
    public required LadderResult Iid { get; init; }
    public required LongResult Long { get; init; }
    /// <summary>
    /// A run of the figure-2 configuration inside the hypotheses of the PL results (a step within the
    /// descent limit) when the figure-2 run itself is not (paper preset); null when the figure-2 run is.
    /// </summary>
    public ReportRun? PlRun { get; init; }
    /// <summary>The gradient flow of the figure-2 setting, for the results stated for the flow (null when the preset has none).</summary>
    public ReportRun? FlowRun { get; init; }
    public required List<ControlResult> Controls { get; init; }
    /// <summary>Figure 1 over several seeds (null when the preset runs one).</summary>
    public SeedSpread? Seeds { get; init; }
    /// <summary>Seconds per experiment, keyed by a stable snake_case key (<see cref="ReportWriter.TimingKey"/> of the label).</summary>
    public required Dictionary<string, double> Timings { get; init; }
    public required double TotalSeconds { get; set; }
    /// <summary>CPU seconds of this process per part (keys as <see cref="Timings"/>), for `report --timings`; not written to results.json.</summary>
    public Dictionary<string, double> CpuSeconds { get; init; } = new();
    /// <summary>Seconds from the start of the cells at which each lane ran out of work (`report --timings`).</summary>
    public double[] LaneEnds { get; set; } = Array.Empty<double>();
    /// <summary>What each lane ran and when (`report --timings`; not written to results.json).</summary>
    public IReadOnlyList<Sweep.CellRunner.Scheduled> Schedule { get; set; } = Array.Empty<Sweep.CellRunner.Scheduled>();
    public required (double Mu, string From)? Envelope { get; init; }

    /// <summary>The run the PL results are checked on: <see cref="PlRun"/>, or the figure-2 tied run when it is inside their hypotheses.</summary>
    public ReportRun PlChecked => PlRun ?? Long.Tied;

    /// <summary>
    /// Figure 2's exponential rate −d ln ℓ/dt fitted on the second half of <see cref="PlChecked"/>, as its decay row records it
    /// (C.gdDecay, else C.runRate: the verifier's loss column; PolyakLojasiewicz.fittedRateName); NaN when neither row has it.
    /// </summary>
    public double FittedRate =>
        new[] { "C.gdDecay", "C.runRate" }
            .Select(id => Experiments.Constant(PlChecked.Rows.FirstOrDefault(r => r.Id == id), PolyakLojasiewicz.fittedRateName))
            .Where(double.IsFinite).DefaultIfEmpty(double.NaN).First();

    /// <summary>
    /// L·max_k ‖Z_{k+1} − Z_k‖ of the figure-2 tied and i.i.d. runs at each coefficient step, as their E.claims rows record
    /// the verifier's column at the snapshot iterations (NaN at a step that is no snapshot).
    /// </summary>
    public List<(int Step, double Tied, double Iid)> DepthTimesSmoothness =>
        Settings.CoefficientSteps.Select(st => (st, Long.Tied.Spec.Depth * Long.Tied.SmoothZAt(st), Long.Iid.Spec.Depth * Long.Iid.SmoothZAt(st))).ToList();
    public required BoundsResult Bounds { get; init; }
    /// <summary>The real-data experiment (paper preset, data installed), or null with <see cref="FashionNote"/> saying why not.</summary>
    public FashionExperiment? Fashion { get; init; }
    public string? FashionNote { get; init; }
    /// <summary>One small run per architecture added through the extension point (<see cref="ArchitectureSection"/>).</summary>
    public List<ArchitectureRun> Architectures { get; init; } = new();
    /// <summary>The figures, drawn by <see cref="ReportWriter.Write"/>.</summary>
    public List<Figure> Figures { get; } = new();

    /// <summary>
    /// The rows of the faithful experiments: the tied runs of figure 1, the tied ladder, the tied long run
    /// (and the run inside the PL hypotheses, the gradient flow and fig1.seeds over the seeds, when there are), and A.apriori on the clipped copies of the
    /// tied ladder (on the unclipped runs its clip hypothesis is not met by construction, so those rows are left out).
    /// </summary>
    public IEnumerable<Registry.VerdictRow> FaithfulRows =>
        Tied.Runs.SelectMany(r => r.Rows).Concat(Tied.LadderRows).Concat(Long.Tied.Rows).Concat(PlRun?.Rows ?? Enumerable.Empty<Registry.VerdictRow>())
            .Concat(FlowRun?.Rows ?? Enumerable.Empty<Registry.VerdictRow>())
            // fig1.seeds: the tied ladder over several seeds, faithful runs too
            .Concat(Seeds?.Row is { } seeds ? new[] { seeds } : Enumerable.Empty<Registry.VerdictRow>())
            .Where(r => !(r.Id == "A.apriori" && r.Verdict == "hypothesis not met"))
            .Concat(Bounds.Points.Select(p => p.AprioriRow));
}
