using ResOdeProofs.Numerics.Blocks;
using ResOdeProofs.Numerics.Model;

namespace ResOdeProofs.Numerics.Training;

/// <summary>Builds the MLP's initial parameters, held as its parts W (L×m×d) and V (L×d×m), row-major, the layout of the
/// fast kernels (<see cref="InitialParameters"/>; parts W and V, index 0 and 1 of <see cref="InitInfo"/>). Gaussian entries
/// are N(0, scale²); the default scale is 1.</summary>
public static class Initialization
{
    /// <summary>Parses "tied", "smooth", "iid" (case-insensitive).</summary>
    public static InitKind Parse(string name) => name.ToLowerInvariant() switch
    {
        "tied" => InitKind.Tied,
        "smooth" => InitKind.Smooth,
        "iid" => InitKind.Iid,
        "file" => InitKind.File,
        _ => throw new ArgumentException($"unknown initialization '{name}': use tied, smooth or iid (or --w0/--v0 files)"),
    };

    /// <summary>
    /// W_k = W for all k with W ~ N(0, scale²) entrywise; V_k = vScale·V with one Gaussian V (0 by default).
    /// Z⁰(s) is constant, so its Lipschitz constant is 0 and Z_{k+1}(0) = Z_k(0).
    /// </summary>
    public static InitialParameters Tied(NetworkShape shape, long seed, double scale = 1.0, double vScale = 0.0)
    {
        var (w, v) = Fill(shape, target => InitialDraws.Tied(shape.Depth, seed, [scale, vScale], target));
        return new(Of(shape, w, v), new InitInfo(InitKind.Tied, [scale, vScale], 0, [0.0, 0.0], 0.0,
            $"tied: one N(0,{scale}²) matrix W for every layer, V = {(vScale == 0 ? "0" : $"one N(0,{vScale}²) matrix")}"));
    }

    /// <summary>
    /// Independent layers: W_k ~ N(0, scale²), V_k ~ N(0, vScale²) entrywise, independent over k.
    /// No function of depth is discretized: the Lipschitz constant is reported as unknown (null).
    /// </summary>
    public static InitialParameters Iid(NetworkShape shape, long seed, double scale = 1.0, double vScale = 0.0)
    {
        var (w, v) = Fill(shape, target => InitialDraws.Iid(shape.Depth, seed, [scale, vScale], target));
        return new(Of(shape, w, v), new InitInfo(InitKind.Iid, [scale, vScale], 0, null, MaxIncrement(shape, w, v) * shape.Depth,
            $"iid: W_k ~ N(0,{scale}²) independent over layers, V_k {(vScale == 0 ? "= 0" : $"~ N(0,{vScale}²) independent")}"));
    }

    /// <summary>
    /// Random smooth functions of depth s ∈ [0, 1], sampled at s_k = k/L (k = 1..L): <see cref="InitialDraws.Smooth"/>
    /// with the parts W (scale) and V (vScale),
    /// <code>
    /// W⁰(s) = scale·[C₀ + (1/√F) Σ_{f=1..F} (C_f cos 2πfs + D_f sin 2πfs)/f],
    /// V⁰(s) = vScale·[E₀ + (1/√F) Σ_{f=1..F} (E_f cos 2πfs + G_f sin 2πfs)/f],
    /// </code>
    /// with all C, D, E, G independent Gaussian N(0,1) matrices, and
    /// Lip_W = scale·(2π/√F) Σ_f √(‖C_f‖_F² + ‖D_f‖_F²) ≥ sup_s ‖dW⁰/ds‖_F (likewise Lip_V),
    /// hence max_k ‖W_{k+1}(0) − W_k(0)‖_F ≤ Lip_W / L.
    /// </summary>
    public static InitialParameters Smooth(NetworkShape shape, long seed, double scale = 1.0, double vScale = 0.0, int modes = 2)
    {
        double[] lips = [];
        var (w, v) = Fill(shape, target =>
            lips = InitialDraws.Smooth(shape.Depth, seed, [shape.LayerSize, shape.LayerSize], [scale, vScale], modes, target));
        return new(Of(shape, w, v), new InitInfo(InitKind.Smooth, [scale, vScale], modes, lips, MaxIncrement(shape, w, v) * shape.Depth,
            $"smooth: {modes} random Fourier mode(s) in depth, W scale {scale}, V scale {vScale}"));
    }

    /// <summary>
    /// The function of depth s ↦ (W⁰(s), V⁰(s)) that <see cref="Smooth"/> samples at s_k = k/L (the same
    /// random draws for the same seed, shape and modes), in closed form for every s ∈ [0, 1]: the neural-ODE
    /// limit of the smooth initialization. Layer k of <see cref="Smooth"/> equals this function at s = k/L.
    /// </summary>
    public static Ode.WeightFunction SmoothFunction(NetworkShape shape, long seed, double scale = 1.0, double vScale = 0.0, int modes = 2)
    {
        int md = shape.LayerSize;
        var f = InitialDraws.SmoothDraw.Draw(seed, [md, md], [scale, vScale], modes);
        return (s, w, v) => { f.Sample(s, 0, w[..md]); f.Sample(s, 1, v[..md]); };
    }

    /// <summary>The MLP's parameters W and V of <paramref name="shape"/> by part (arrays kept, not copied).</summary>
    public static Parameters Of(NetworkShape shape, double[] w, double[] v, ActivationKind activation = ActivationKind.Gelu) =>
        Parameters.FromParts(new MlpBlock(shape.Dim, shape.Width, activation), shape.Depth, w, v);

    /// <summary>The MLP's parameters as the block initialization sees them: layer k's parts W (index 0) and V (1)
    /// stored in the separate arrays W (L×m×d) and V (L×d×m) of the fast engine.</summary>
    private static (double[] W, double[] V) Fill(NetworkShape shape, Action<InitialDraws.PartSpan> fill)
    {
        int md = shape.LayerSize;
        var w = new double[shape.Depth * md]; var v = new double[shape.Depth * md];
        fill((k, q) => (q == 0 ? w : v).AsSpan(k * md, md));
        return (w, v);
    }

    /// <summary>Wraps weights read from files; the Lipschitz constant is unknown (null).</summary>
    public static InitialParameters FromArrays(NetworkShape shape, double[] w, double[] v, string description)
    {
        int expected = shape.Depth * shape.LayerSize;
        if (w.Length != expected || v.Length != expected)
            throw new ArgumentException($"initial weights have {w.Length} and {v.Length} entries, expected L·m·d = {expected}");
        return new(Of(shape, w, v), new InitInfo(InitKind.File, [0.0, 0.0], 0, null, MaxIncrement(shape, w, v) * shape.Depth, description));
    }

    /// <summary>max_k ‖Z_{k+1} − Z_k‖_F with Z = (W, V) jointly.</summary>
    public static double MaxIncrement(NetworkShape shape, ReadOnlySpan<double> w, ReadOnlySpan<double> v)
    {
        int md = shape.LayerSize; double best = 0;
        for (int k = 0; k + 1 < shape.Depth; k++)
        {
            double s = 0;
            for (int i = 0; i < md; i++)
            {
                double a = w[(k + 1) * md + i] - w[k * md + i], b = v[(k + 1) * md + i] - v[k * md + i];
                s += a * a + b * b;
            }
            best = Math.Max(best, Math.Sqrt(s));
        }
        return best;
    }
}
