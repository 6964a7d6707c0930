using ResOdeProofs.Cli.Report;
using ResOdeProofs.Theory;
using Microsoft.FSharp.Collections;

namespace ResOdeProofs.Report.Tests;

/// <summary>
/// A negative control counts as caught only for the reason it was built for: an unmet hypothesis of another cause catches
/// nothing (counted, it made the i.i.d. single runs "caught" by A.apriori's missing clip radius and by m &lt; n, which every
/// faithful run of that setting also has), and a clean control is never caught (a violation there is a false alarm).
/// </summary>
public sealed class ControlCaughtTests
{
    // the row's unmet hypothesis is named as the results name it (its detail line too, as the registry writes it)
    private static Registry.VerdictRow Row(string id, string verdict, string detail, string? unmet = null) =>
        new(id, "a result", "", "proved here", "docs/theorems/PolyakLojasiewicz.md", "run", verdict, 1.0, 1.0, double.NaN,
            double.NaN, "", double.NaN, "", double.NaN, double.NaN, detail,
            unmet is null ? FSharpList<Tuple<string, bool, string>>.Empty : ListModule.OfSeq(new[] { Tuple.Create(unmet, false, detail) }),
            FSharpList<Tuple<string, double>>.Empty, FSharpList<string>.Empty, 0.0, 0.0, FSharpList<SeriesPoint>.Empty);

    private static ControlResult Control(List<Registry.VerdictRow> rows, Func<Registry.VerdictRow, bool>? catches, bool clean = false) =>
        new() { Name = "c", Setting = "s", Expected = "e", Rows = rows, Catches = catches, IsClean = clean };

    [Fact(DisplayName = "negative controls: rows of another cause and of the control's own, a clean control with a violation → m < n caught by a PL result's m ≥ n only, relu by σ'', the i.i.d. ladder by its rates, the clean control never")]
    public void A_control_is_caught_only_for_its_reason()
    {
        var unrelated = Row("A.apriori", "hypothesis not met", "a priori version needs a clip radius", "clipped gradient descent (a clip radius C)");
        var pl = Row("C.mu0", "hypothesis not met", "m < n (m = 16, n = 20)", "rank: m ≥ n");
        // a C row not met for another reason (m ≥ n holds, μ₀ numerically 0) does not catch it either
        var other = Row("C.mu0", "hypothesis not met", "μ₀ = 0", "λ_min(Ḡ) > τ");
        Func<Registry.VerdictRow, bool> narrow = r => r.Id.StartsWith("C.", StringComparison.Ordinal) && ControlResult.ViolatedOrNotMetFor(null, "m ≥ n")(r);
        Assert.False(Control(new() { other }, narrow).Caught);
        Assert.False(Control(new() { unrelated }, narrow).Caught);
        var caught = Control(new() { unrelated, pl }, narrow);
        Assert.True(caught.Caught);
        Assert.Equal(new[] { "C.mu0" }, caught.CaughtByIds.ToArray());
        var relu = ControlResult.ViolatedOrNotMetFor(null, "bounded sigma''");
        Assert.True(Control(new() { Row("L5.split", "hypothesis not met", "relu has no bounded second derivative", "sigma twice differentiable with bounded sigma''") }, relu).Caught);
        // the snapshot controls: the statement they were built for, not the integrity checks that catch them too
        var smoothed = ControlResult.ViolatedAmong("A.split.centre.remainder");
        Assert.False(Control(new() { Row("I.loss", "VIOLATED", "x"), Row("E.replay", "VIOLATED", "x") }, smoothed).Caught);
        Assert.True(Control(new() { Row("I.loss", "VIOLATED", "x"), Row("A.split.centre.remainder", "VIOLATED", "x") }, smoothed).Caught);
        Assert.True(Control(new() { Row("A.split", "VIOLATED", "x") }, ControlResult.ViolatedAmong("A.")).Caught);
        Assert.False(Control(new() { unrelated }, relu).Caught);
        // the i.i.d. ladder: its rate statements only
        var rates = ControlResult.ViolatedOrNotMetFor(new[] { "A.rate", "D.rate", "D.curve", "B.rate" });
        Assert.True(Control(new() { Row("A.rate", "VIOLATED", "measured 0.038 > bound -1") }, rates).Caught);
        Assert.False(Control(new() { Row("A.aposteriori", "VIOLATED", "x") }, rates).Caught);
        // a clean control: a violation is a false alarm, never "caught"
        var clean = Control(new() { Row("E.replay", "VIOLATED", "x") }, r => r.IsViolated, clean: true);
        Assert.False(clean.Caught);
        Assert.Single(clean.ViolatedIds);
    }
}
