using ResOdeProofs.Numerics.Blocks;
using ResOdeProofs.Numerics.Model;
using ResOdeProofs.Numerics.Training;

namespace ResOdeProofs.Numerics.Tests;

/// <summary>The MLP's initializations are the block initializations over the MLP block's layout (parts W, V).</summary>
public class InitialDrawsTests
{
    private static readonly NetworkShape Shape = new(Depth: 6, Width: 5, Dim: 3, InputDim: 3, OutputDim: 3);

    /// <summary>θ (L·P, layer after layer, parts W then V) split into the MLP's separate W and V arrays.</summary>
    private static (double[] W, double[] V) Split(double[] theta)
    {
        int md = Shape.LayerSize, L = Shape.Depth;
        var w = new double[L * md]; var v = new double[L * md];
        for (int k = 0; k < L; k++)
        {
            Array.Copy(theta, k * 2 * md, w, k * md, md);
            Array.Copy(theta, k * 2 * md + md, v, k * md, md);
        }
        return (w, v);
    }

    public static TheoryData<string, double> Cases => new() { { "tied", 0.0 }, { "tied", 0.4 }, { "iid", 0.0 }, { "iid", 0.4 }, { "smooth", 0.0 }, { "smooth", 0.4 } };

    [Theory(DisplayName = "Initialization: the MLP's tied, iid or smooth draw → the block initialization of MlpBlock's layout, entry for entry")]
    [MemberData(nameof(Cases))]
    public void MlpIsTheBlockCase(string kind, double vScale)
    {
        var block = new MlpBlock(Shape.Dim, Shape.Width, ActivationKind.Gelu);
        double[] scales = [0.7, vScale];
        var (mlp, theta) = kind switch
        {
            "tied" => (Initialization.Tied(Shape, 11, 0.7, vScale), BlockInitialization.Tied(block, Shape.Depth, 11, scales)),
            "iid" => (Initialization.Iid(Shape, 11, 0.7, vScale), BlockInitialization.Iid(block, Shape.Depth, 11, scales)),
            _ => (Initialization.Smooth(Shape, 11, 0.7, vScale, 3), BlockInitialization.Smooth(block, Shape.Depth, 11, scales, 3)),
        };
        var (w, v) = Split(theta.Theta);
        Assert.Equal(w, mlp.W);
        Assert.Equal(v, mlp.V);
        if (kind == "smooth")
        {
            Assert.Equal(mlp.Info.LipschitzParts![0], theta.Info.LipschitzParts![0]);
            Assert.Equal(mlp.Info.LipschitzParts![1], theta.Info.LipschitzParts![1]);
        }
    }

    [Fact(DisplayName = "Initialization: the MLP's smooth function of depth at s = k/L → layer k of its smooth draw, entry for entry")]
    public void SmoothFunctionSamplesTheLayers()
    {
        var init = Initialization.Smooth(Shape, 5, 1.0, 0.3, 2);
        var f = Initialization.SmoothFunction(Shape, 5, 1.0, 0.3, 2);
        int md = Shape.LayerSize;
        var w = new double[md]; var v = new double[md];
        for (int k = 0; k < Shape.Depth; k++)
        {
            f((k + 1.0) / Shape.Depth, w, v);
            Assert.Equal(init.W.AsSpan(k * md, md).ToArray(), w);
            Assert.Equal(init.V.AsSpan(k * md, md).ToArray(), v);
        }
    }

    /// <summary>
    /// The smooth draw's modes are bounded so that every mode's angle 2πf·s stays within the range the engine's own cosine
    /// reduces (PortableMath.TrigArgumentLimit): a larger --modes was a tool failure from inside the cosine, now a refusal
    /// naming the option before anything is drawn; the largest allowed count draws.
    /// </summary>
    [Fact(DisplayName = "InitialDraws.Smooth: --modes 0 or above MaxModes → refused naming --modes and the bound; MaxModes → drawn, finite")]
    public void Smooth_modes_are_bounded()
    {
        Span<double> Layer(double[] a, int k) => a.AsSpan(k, 1);
        var w = new double[2];
        foreach (int bad in new[] { 0, InitialDraws.SmoothDraw.MaxModes + 1, 200_000 })
        {
            var e = Assert.Throws<ArgumentException>(() => InitialDraws.Smooth(2, 1, new[] { 1 }, new[] { 1.0 }, bad, (k, q) => Layer(w, k)));
            Assert.Contains("--modes", e.Message);
        }
        Assert.Equal(166_886, InitialDraws.SmoothDraw.MaxModes);
        InitialDraws.Smooth(2, 1, new[] { 1 }, new[] { 1.0 }, InitialDraws.SmoothDraw.MaxModes, (k, q) => Layer(w, k));
        Assert.All(w, x => Assert.True(double.IsFinite(x)));
    }
}
