using System.Diagnostics;
using ResOdeProofs.Cli.Sweep;
using ResOdeProofs.Numerics.Training;
using ResOdeProofs.Theory;

namespace ResOdeProofs.Cli.Report;

/// <summary>
/// The report's work that needs none of the study's cells: figure 1 across seeds (one job per seed), the runs of the
/// architectures added through the extension point (one job each) and the Fashion-MNIST experiment (one job per cell of
/// its grid). `resode report` gives these jobs to the cells' lanes (<see cref="CellRunner.Run"/>), so that they run while
/// the cells run, longest first among them; `sweep merge` runs them one after another. Each job computes what it would
/// compute alone (its own runs, views and buffers), so the page is the same either way.
/// </summary>
internal sealed class ReportSideWork
{
    private readonly ReportSettings _s;
    private readonly string _dir;
    private readonly Action<string> _log;
    private readonly CancellationToken _cancel;
    private readonly Experiments _ex;
    private readonly List<SideJob> _jobs = new();
    private readonly HashSet<SideJob> _done = new();
    private readonly Dictionary<string, double> _timings = new();

    private readonly Experiments.SeedRow?[] _seedRows;
    /// <summary>The runs of figure 1 across seeds by seed index and depth (<see cref="Experiments.SeedDepths"/>), one job each.</summary>
    private readonly Run?[][] _seedRuns;
    private bool _seedZeroFromLadder;
    private readonly ArchitectureRun?[] _architectures;
    private readonly FashionCell?[] _fashionCells = Array.Empty<FashionCell?>();
    private readonly Lazy<FashionSetup?> _fashionSetup;
    private readonly FashionOptions _fashionOptions;
    private string? _fashionNote;

    public ReportSideWork(ReportSettings s, string dir, Action<string> log, CancellationToken cancel)
    {
        (_s, _dir, _log, _cancel) = (s, dir, log, cancel);
        _ex = new Experiments(s, log, cancel, (name, _) => throw new InvalidOperationException($"the report's side work asked for the cell {name}"));

        int seeds = s.Seeds > 1 ? Math.Max(1, s.Seeds) : 0;
        _seedRows = new Experiments.SeedRow?[seeds];
        // seed s is the tied ladder's own runs when the study's fig1-tied cells are its settings: measured on them (Seeds)
        // instead of trained again
        _seedZeroFromLadder = s.Study is { } st && _ex.SeedZeroIsLadder(L =>
            st.Cells.Where(c => c.Grids.Contains("fig1-tied")).Select(ReportStudy.SpecOf).Where(x => x.Depth == L).ToList() is [var one] ? one : null);
        // One job per run (seed and depth), so that the lanes can share a seed's runs: the training and the replay (at every
        // depth: fig1.seeds' descent hypothesis reads every run's replayed loss). Estimated at a quarter of a cell of that
        // setting (train and a full verify) for the training, as much again for the replay.
        var seedDepths = _ex.SeedDepths();
        _seedRuns = Enumerable.Range(0, seeds).Select(_ => new Run?[seedDepths.Length]).ToArray();
        for (int i = _seedZeroFromLadder ? 1 : 0; i < seeds; i++)
            for (int j = 0; j < seedDepths.Length; j++)
            {
                int k = i, q = j, L = seedDepths[j];
                double cost = CellSchedule.Estimate(L, s.Ladder.Samples, s.Ladder.Width, s.Ladder.Dim, s.Ladder.Iterations, 1, iid: false) / 2;
                Add($"figure 1 across seeds: seed {s.Seed + k}, L = {L}", cost, "figure 1 across seeds", () => _seedRuns[k][q] = _ex.SeedRun(k, L));
            }

        var specs = ArchitectureSection.Specs(s.Seed);
        _architectures = new ArchitectureRun?[specs.Count];
        for (int i = 0; i < specs.Count; i++)
        {
            int k = i;
            var sp = specs[k];
            Add($"architecture {sp.Architecture}", CellSchedule.Estimate(sp.Depth, sp.Samples, 1, sp.Dim, sp.Iterations, sp.Snapshots, iid: false),
                "new architectures", () => _architectures[k] = ArchitectureSection.RunOne(sp, dir, log));
        }

        _fashionOptions = new FashionOptions { Seed = s.Seed };
        _fashionSetup = new(LoadFashion, LazyThreadSafetyMode.ExecutionAndPublication);
        if (s.Fashion)
        {
            var o = _fashionOptions;
            var grid = new[] { InitKind.Tied, InitKind.Iid }.SelectMany(i => o.Activations.Select(a => (Init: i, Activation: a))).ToList();
            _fashionCells = new FashionCell?[grid.Count];
            for (int i = 0; i < grid.Count; i++)
            {
                int k = i;
                var (init, act) = grid[k];
                Add($"fashion {init} {act}", CellSchedule.Estimate(o.Depth, o.PerClass * 10, o.Width, o.Dim, o.Iterations, o.Snapshots, init == InitKind.Iid),
                    "fashion (real data)", () =>
                    {
                        if (_fashionSetup.Value is { } setup) _fashionCells[k] = FashionExperiment.RunCell(setup, init, act, log, cancel);
                    });
            }
        }
        else _fashionNote = "Not run in this preset: the real-data experiment (Fashion-MNIST with a residual MLP in the theorems' setting) is part of `resode report --preset paper`; on its own: `resode fashion` (after `apt-get install " + Numerics.IO.Idx.FashionMnistPackage + "`).";
    }

    /// <summary>The jobs, for the lanes of the cells.</summary>
    public IReadOnlyList<SideJob> Jobs => _jobs;

    /// <summary>Seconds per part of the page, under the labels the report's timings use (the sum of its jobs' seconds).</summary>
    public IReadOnlyDictionary<string, double> Timings => _timings;

    private void Add(string name, double cost, string timing, Action run)
    {
        SideJob? job = null;
        job = new SideJob(name, cost, () =>
        {
            _cancel.ThrowIfCancellationRequested();
            var sw = Stopwatch.StartNew();
            run();
            lock (_timings)
            {
                _timings[timing] = _timings.GetValueOrDefault(timing) + sw.Elapsed.TotalSeconds;
                _done.Add(job!);
            }
        });
        _jobs.Add(job);
    }

    /// <summary>Runs the jobs that have not run yet, one after another (in the order they were made).</summary>
    public void RunRemaining()
    {
        foreach (var j in _jobs)
        {
            bool done;
            lock (_timings) done = _done.Contains(j);
            if (!done) j.Run();
        }
    }

    private FashionSetup? LoadFashion()
    {
        var sw = Stopwatch.StartNew();
        try { return FashionSetup.Load(_fashionOptions, _log); }
        catch (Exception e) when (e is Numerics.IO.IdxFormatException or IOException)
        {
            _fashionNote = $"The real-data experiment was skipped: {e.Message}. Install the data set with `sudo apt-get install {Numerics.IO.Idx.FashionMnistPackage}` (Debian/Ubuntu; gzipped IDX files under {Numerics.IO.Idx.FashionMnistDefaultDir}) and run the report again, or run `resode fashion --data-dir DIR` on a copy of the four IDX files.";
            _log("fashion: skipped (" + e.Message + ")");
            return null;
        }
        finally
        {
            lock (_timings) _timings["fashion (real data)"] = _timings.GetValueOrDefault("fashion (real data)") + sw.Elapsed.TotalSeconds;
        }
    }

    /// <summary>
    /// Figure 1 across seeds (null when the preset runs one seed), seed s measured on <paramref name="tied"/> (the figure-1
    /// tied ladder, read from the study's cells) when its runs are that seed's.
    /// </summary>
    public SeedSpread? Seeds(LadderResult tied)
    {
        if (_seedRows.Length == 0) return null;
        var depths = _ex.SeedDepths();
        for (int i = _seedZeroFromLadder ? 1 : 0; i < _seedRows.Length; i++)
            _seedRows[i] = _ex.SeedRowOf(_s.Seed + i, depths.Select((L, j) => (L, j)).ToDictionary(x => x.L, x => _seedRuns[i][x.j]!));
        if (_seedZeroFromLadder)
        {
            var sw = Stopwatch.StartNew();
            _seedRows[0] = _ex.SeedFromLadder(tied);
            if (_seedRows[0] is null)
            {
                _seedZeroFromLadder = false;
                _seedRows[0] = _ex.RunSeed(0);
            }
            lock (_timings) _timings["figure 1 across seeds"] = _timings.GetValueOrDefault("figure 1 across seeds") + sw.Elapsed.TotalSeconds;
        }
        return _ex.SeedSpreadOf(_seedRows.Select(r => r!).ToArray(), _timings.GetValueOrDefault("figure 1 across seeds"), _seedZeroFromLadder);
    }

    public List<ArchitectureRun> Architectures => _architectures.Select(a => a!).ToList();

    /// <summary>The real-data experiment with its runs written under runs/fashion, or null with <see cref="FashionNote"/> saying why not.</summary>
    public FashionExperiment? Fashion()
    {
        if (!_s.Fashion || _fashionSetup.Value is not { } setup) return null;
        var ex = new FashionExperiment
        {
            Options = _fashionOptions, Data = setup.Data, Shape = setup.Shape, Cells = _fashionCells.Select(c => c!).ToList(),
            Seconds = _timings.GetValueOrDefault("fashion (real data)"),
        };
        ex.WriteRuns(Path.Combine(_dir, "runs", "fashion"));
        return ex;
    }

    public string? FashionNote => _fashionNote;
}
