using System.Text.Json.Nodes;

namespace ResOdeProofs.Cli.Tests;

/// <summary>
/// Faithful runs whose compared quantities are at the level of float64 rounding: an exact bound (a scalar Jacobian, d = 1
/// or the scaled-linear block) with an increment small against the state, and a gated block whose output scale 10⁻⁶ makes
/// the Euler error rounding alone. Each comparison carries the measured side's own rounding (docs/theorems/LemmaChain.md,
/// "Rounding of the increments"; docs/theorems/GenericResults.md, B.bound.tangent), so none is VIOLATED; before, L2.increments
/// and L3.adjoint-increment were violated by 10⁻¹³–10⁻⁷ relative and B.bound.tangent at 3.2·10⁻¹⁵ against 8.9·10⁻¹⁸.
/// </summary>
[Collection(CliCollection.Name)]
public sealed class RoundingFloorTests : IDisposable
{
    private readonly Scratch _s = new();
    public void Dispose() => _s.Dispose();

    [Theory(DisplayName = "verify: faithful runs at the rounding floor (scaled-linear relu, an MLP of width 1 and d = 1, a gated block of output scale 1e-6) → L2.increments, L3.adjoint-increment and B.bound.tangent hold, nothing violated")]
    [InlineData("--n 6 --seed 2 --d 3 --depth 8 --iters 30 --arch scaled-linear --activation relu --init smooth", "L2.increments,L3.adjoint-increment")]
    [InlineData("--n 4 --d 1 --depth 8 --width 1 --iters 40 --seed 3 --activation identity --init iid", "L2.increments,L3.adjoint-increment")]
    [InlineData("--n 4 --d 1 --depth 8 --width 1 --iters 20 --arch glu --activation identity --scales 1,1,1e-6", "L2.increments,L3.adjoint-increment,B.bound.tangent")]
    public void FaithfulRunsAtTheRoundingFloorHold(string setting, string rows)
    {
        Assert.Equal(ExitCodes.Done, Cli.Run(_s.Dir, new[] { "train", "--out", "run" }.Concat(setting.Split(' ')).ToArray()).Code);
        var r = Cli.Run(_s.Dir, "verify", "--quiet", "run");
        Assert.True(r.Code == ExitCodes.Done, r.ToString());
        var results = JsonNode.Parse(File.ReadAllText(_s.P("run", "verdicts.json")))!["results"]!.AsArray();
        Assert.DoesNotContain(results, x => x!["verdict"]!.GetValue<string>() == "VIOLATED");
        foreach (var id in rows.Split(','))
            Assert.Equal("holds", results.Single(x => x!["id"]!.GetValue<string>() == id)!["verdict"]!.GetValue<string>());
    }
}
