namespace ResOdeProofs.Cli.Tests;

/// <summary>`bench --activations`: σ, σ' stored or recomputed per row, and a wrong value refused before any timing.</summary>
[Collection(CliCollection.Name)]
public sealed class BenchActivationsTests : IDisposable
{
    private readonly Scratch _s = new();
    public void Dispose() => _s.Dispose();

    [Fact(DisplayName = "bench --activations: an unknown value → exit 2 before timing, one line")]
    public void UnknownValueIsRefused()
    {
        var r = Cli.Run(_s.Dir, "bench", "--config", "fig2", "--activations", "sometimes");
        Assert.Equal(ExitCodes.BadInput, r.Code);
        Cli.OneLine(r);
        Assert.Contains("--activations", r.Err);
        Assert.DoesNotContain("cpu:", r.Out);
    }

    [Fact(DisplayName = "bench --activations recomputed / stored: figure 2 → its row marked recomputed, and not marked when stored")]
    public void RowsSayWhichMode()
    {
        var rec = Cli.Run(_s.Dir, "bench", "--config", "fig2", "--precision", "f32", "--threads", "1", "--repeats", "1", "--activations", "recomputed");
        Assert.Equal(ExitCodes.Done, rec.Code);
        Assert.Contains(rec.Out.Split('\n'), l => l.StartsWith("fig2", StringComparison.Ordinal) && l.TrimEnd().EndsWith("σ recomputed", StringComparison.Ordinal));
        var st = Cli.Run(_s.Dir, "bench", "--config", "fig2", "--precision", "f32", "--threads", "1", "--repeats", "1", "--activations", "stored");
        Assert.Equal(ExitCodes.Done, st.Code);
        Assert.Contains(st.Out.Split('\n'), l => l.StartsWith("fig2", StringComparison.Ordinal));
        Assert.DoesNotContain(st.Out.Split('\n'), l => l.Contains("σ recomputed", StringComparison.Ordinal) && l.StartsWith("fig2", StringComparison.Ordinal));
    }
}
