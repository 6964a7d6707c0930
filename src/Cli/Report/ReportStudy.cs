using System.Globalization;
using ResOdeProofs.Cli.Sweep;
using ResOdeProofs.Numerics;
using ResOdeProofs.Numerics.IO;
using ResOdeProofs.Numerics.Model;
using ResOdeProofs.Numerics.Training;
using ResOdeProofs.Theory;

namespace ResOdeProofs.Cli.Report;

/// <summary>
/// The report as a study. A preset is a built-in study (src/Cli/Studies/NAME.toml) whose [report] table asks
/// for the paper's page (<c>layout = "paper"</c>) and whose grids, by name, hold the page's runs: fig1-tied and
/// fig1-iid (ladders over depth), fig2-tied, fig2-iid, control-faithful, control-m-lt-n, control-relu,
/// control-faults (one cell per injected fault), and optionally fig2-tied-pl and fig2-tied-flow. The report
/// runs the study's cells like `resode sweep run` (each a `train` run plus `verify`, in its own process), then
/// builds the page from the cells' run directories and verdicts, as `resode sweep merge` does: one code path.
/// </summary>
internal static class ReportStudy
{
    public static readonly string[] RequiredGrids = { "fig1-tied", "fig1-iid", "fig2-tied", "fig2-iid", "control-faithful", "control-m-lt-n", "control-relu", "control-faults" };

    /// <summary>
    /// The built-in study <paramref name="preset"/> (or the study file <paramref name="studyPath"/>), with every cell's
    /// seed replaced by <paramref name="seed"/> when one is given (an [overrides] table appended to the study's text,
    /// so that the copy kept in the output directory is the study that ran).
    /// </summary>
    public static Study Load(string? preset, string? studyPath, long? seed)
    {
        string text, baseDir, label;
        if (studyPath is not null)
        {
            if (!File.Exists(studyPath)) throw new StudyException($"{studyPath}: no such study file (start from a built-in one: `resode sweep show quick > {studyPath}`)");
            text = File.ReadAllText(studyPath); baseDir = Path.GetDirectoryName(Path.GetFullPath(studyPath))!; label = studyPath;
        }
        else
        {
            string name = preset ?? "quick";
            text = BuiltinStudies.Text(name) ?? throw new StudyException($"unknown preset '{name}': a built-in study ({BuiltinStudies.List()}) whose [report] has layout = \"paper\"; or --study FILE");
            baseDir = Directory.GetCurrentDirectory(); label = $"built-in study {name}";
        }
        if (seed is long sd)
            text = text.TrimEnd('\n') + "\n\n# added by `resode report --seed`\n[overrides]\nseed = " + sd.ToString(CultureInfo.InvariantCulture) + "\n";
        var study = Study.Parse(text, baseDir, label);
        if (study.Layout is null) throw new StudyException($"{label}: the report needs [report] layout = \"paper\" and the grids {string.Join(", ", RequiredGrids)} (docs/studies.md); merge other studies with `resode sweep merge`");
        return study;
    }

    private static List<Cell> Grid(Study st, string name, bool required = true)
    {
        var cells = st.Cells.Where(c => c.Grids.Contains(name)).ToList();
        if (cells.Count == 0 && required)
            throw new StudyException($"study {st.Name}: the report's page needs a grid [grid.{name}] (grids: {string.Join(", ", st.GridNames)}; docs/studies.md)");
        return cells;
    }

    private static Cell One(Study st, string name)
    {
        var cells = Grid(st, name);
        return cells.Count == 1 ? cells[0] : throw new StudyException($"study {st.Name}: grid {name} must be one cell (it has {cells.Count})");
    }

    /// <summary>The report's settings from a study with the paper's layout.</summary>
    public static ReportSettings Settings(Study st)
    {
        var layout = st.Layout ?? throw new StudyException($"study {st.Name}: no [report] layout");
        var tied = Grid(st, "fig1-tied").Select(c => (Cell: c, Spec: SpecOf(c))).OrderBy(x => x.Spec.Depth).ToList();
        var iidDepths = Grid(st, "fig1-iid").Select(c => SpecOf(c).Depth).Order().ToArray();
        var depths = tied.Select(x => x.Spec.Depth).ToArray();
        if (depths.Distinct().Count() != depths.Length || !depths.SequenceEqual(iidDepths))
            throw new StudyException($"study {st.Name}: fig1-tied and fig1-iid must run the same depths, once each (tied: {string.Join(", ", depths)}; i.i.d.: {string.Join(", ", iidDepths)})");
        foreach (var (k, sub) in new[] { ("slope_depths", layout.SlopeDepths), ("distance_depths", layout.DistanceDepths) })
            if (sub.Except(depths).Any() || sub.Length < 2)
                throw new StudyException($"study {st.Name}: [report] {k} must be at least two depths of the fig1 ladders ({string.Join(", ", depths)})");
        var ladder = tied[0].Spec;
        var lng = SpecOf(One(st, "fig2-tied"));
        if (layout.CoefficientSteps.Any(x => x > lng.Iterations))
            throw new StudyException($"study {st.Name}: [report] coefficient_steps must be iterations of fig2-tied (0..{lng.Iterations})");
        var pl = Grid(st, "fig2-tied-pl", required: false).Count > 0 ? SpecOf(One(st, "fig2-tied-pl")) : null;
        var flow = Grid(st, "fig2-tied-flow", required: false).Count > 0 ? SpecOf(One(st, "fig2-tied-flow")) : null;
        return new ReportSettings(st.Name, ladder.Seed, ladder, depths, layout.SlopeDepths.Order().ToArray(), layout.DistanceDepths.Order().ToArray(),
            Steps(ladder), lng, Steps(lng), layout.CoefficientSteps, SpecOf(One(st, "control-faithful")), layout.Notes, pl, layout.Seeds, flow)
        { Study = st, Fashion = layout.Fashion };
    }

    private static int[] Steps(RunSpec s) => s.SnapshotSteps ?? Trainer.SnapshotPlan(s.Options());

    /// <summary>
    /// A cell's setting as the report's <see cref="RunSpec"/>, read with `resode train`'s own parser. The report's
    /// runs are synthetic MLP runs: data or weight files and other architectures are refused. A gradient flow
    /// (optimizer gf) has η = horizon / iters, as its run.json records.
    /// </summary>
    public static RunSpec SpecOf(Cell c)
    {
        var pr = TrainCommand.Build().Parse(c.TrainArguments());
        if (pr.Errors.Count > 0) throw new StudyException($"cell {c.Name}: {pr.Errors[0].Message}");
        foreach (var f in new[] { "x", "y", "a", "b", "w0", "v0" })
            if (c.Get(f) is not null) throw new StudyException($"cell {c.Name}: the report's runs are synthetic (--{f} is not supported in a report's grid)");
        if ((c.Get("arch") ?? "mlp").ToLowerInvariant() != "mlp") throw new StudyException($"cell {c.Name}: the report's page shows MLP runs (arch = \"mlp\")");
        int iters = pr.GetValue<int>("--iters");
        bool flow = string.Equals(pr.GetValue<string>("--optimizer"), "gf", StringComparison.OrdinalIgnoreCase);
        double eta = flow ? (pr.GetValue<double?>("--horizon") ?? pr.GetValue<double>("--eta") * iters) / iters : pr.GetValue<double>("--eta");
        return TrainCommand.SpecOf(pr) with { Eta = eta };
    }

    /// <summary>
    /// The report's runs read from the study's finished cells, by the names the page gives them: fig1-tied-L0016
    /// is the cell of grid fig1-tied with depth 16, control-fault-StaleGradient the cell of control-faults with
    /// that fault, any other name the single cell of the grid of that name.
    /// </summary>
    public static Func<string, RunSpec, ReportRun> Runs(StudyMerge.Merged merged, StudyOutput output) => (name, _) =>
    {
        string grid = name; int? depth = null; EngineFault? fault = null;
        var m = System.Text.RegularExpressions.Regex.Match(name, @"^(fig1-(?:tied|iid))-L(\d+)$");
        if (m.Success) { grid = m.Groups[1].Value; depth = int.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture); }
        else if (name.StartsWith("control-fault-", StringComparison.Ordinal)) { grid = "control-faults"; fault = Enum.Parse<EngineFault>(name["control-fault-".Length..]); }
        var found = merged.Cells.Where(x => x.Cell.Grids.Contains(grid)
                                            && (depth is null || SpecOf(x.Cell).Depth == depth)
                                            && (fault is null || TrainCommand.ParseFault(x.Cell.Get("inject-fault")) == fault)).ToList();
        if (found.Count != 1)
            throw new StudyException($"study {merged.Study.Name}: the report's run {name} needs one cell of grid {grid}{(depth is null ? "" : $" with depth {depth}")}{(fault is null ? "" : $" with fault {fault}")}; found {found.Count}");
        var cr = found[0];
        if (cr.State != CellState.Done)
            throw new ReportCellsFailed($"cell {cr.Cell.Name} ({cr.Cell.Hash}) is {cr.State.ToString().ToLowerInvariant()}: {cr.Reason ?? "not run"}");
        string rel = $"cells/{cr.Cell.Hash}/run";
        var data = Experiments.Copy(RunDirectory.Read(Path.Combine(output.CellDir(cr.Cell), "run")), directory: rel);
        var run = new ReportRun { Name = name, Spec = SpecOf(cr.Cell), Data = data, SnapshotSteps = data.Steps, Seconds = cr.Seconds,
                                  VerifiedColumns = EvidenceColumns.Read(Path.Combine(output.CellDir(cr.Cell), EvidenceColumns.FileName)) };
        run.Rows.AddRange(cr.Rows);
        return run;
    };
}

/// <summary>Cells of the report's study failed or are missing: the report is not written (exit code 3).</summary>
internal sealed class ReportCellsFailed(string message) : Exception(message);
