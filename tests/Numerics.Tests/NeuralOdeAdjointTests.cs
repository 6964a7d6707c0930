using System.Diagnostics;
using ResOdeProofs.Numerics.Model;
using ResOdeProofs.Numerics.Ode;
using ResOdeProofs.Numerics.Tests.Limit;
using ResOdeProofs.Numerics.Training;
using Xunit.Abstractions;

namespace ResOdeProofs.Numerics.Tests;

public class NeuralOdeAdjointTests(ITestOutputHelper output)
{
    private static double Loss(double[] h, double[] y, int n) => h.Zip(y, (a, b) => (a - b) * (a - b)).Sum() / n;

    /// <summary>
    /// The adjoint's node gradient against central differences of ℓ(Z), every component (L = 4, m = 3, d = 2,
    /// n = 3, GELU, smooth weights with V ≠ 0). Forward solves at rtol = 1e-13, atol = 1e-15 make ℓ accurate to
    /// ε ≈ 1e-13·ℓ-scale (DP5 error per unit rtol is O(1) on these non-stiff problems, cf. the tolerance test of
    /// OdeTests); the central difference with step h has error ≤ ε/h + h²·|∂³ℓ|/6. With |∂³ℓ| = O(ℓ) = O(1) the two
    /// balance near h = (3ε)^{1/3} ≈ 7e-5; h = 1e-4 gives an absolute FD error ≈ 1e-9 + 2e-9, i.e. below 1e-6
    /// relative for a gradient of norm ≳ 1e-2 (it is O(1/L)·O(1) here). The adjoint itself is solved at the same
    /// tolerances, so its error (≈ 1e-12) is negligible against the FD error.
    /// </summary>
    [Fact(DisplayName = "NeuralOdeAdjoint: gradient → matches central finite differences")]
    public void Node_gradient_matches_central_finite_differences()
    {
        int L = 4, m = 3, d = 2, n = 3;
        var spec = new RunSpec { Depth = L, Width = m, Dim = d, Samples = n, Init = InitKind.Smooth, Scale = 0.8, VScale = 0.6, Seed = 5 };
        var init = spec.InitialWeights(); var data = spec.Data();
        const double rtol = 1e-13, atol = 1e-15, h = 1e-4;
        var sw = Stopwatch.StartNew();
        var adj = NeuralOdeAdjoint.PiecewiseLinear(L, m, d, ActivationKind.Gelu, init.W, init.V, data.X, data.Y, rtol, atol);
        double tAdj = sw.Elapsed.TotalSeconds;
        double Ell(double[] w, double[] v) =>
            Loss(NeuralOde.PiecewiseLinear(L, m, d, ActivationKind.Gelu, w, v).Solve(data.X, rtol, atol).Final, data.Y, n);
        Assert.Equal(Ell(init.W, init.V), adj.Loss, 12);
        var fd = new List<double>(); var ad = new List<double>();
        sw.Restart();
        foreach (bool isW in new[] { true, false })
            for (int q = 0; q < L * m * d; q++)
            {
                var w = (double[])init.W.Clone(); var v = (double[])init.V.Clone();
                var t = isW ? w : v;
                t[q] += h; double plus = Ell(w, v);
                t[q] -= 2 * h; double minus = Ell(w, v);
                fd.Add((plus - minus) / (2 * h));
                ad.Add(isW ? adj.NodeGradW![q] : adj.NodeGradV![q]);
            }
        double tFd = sw.Elapsed.TotalSeconds;
        double diff = Math.Sqrt(fd.Zip(ad, (a, b) => (a - b) * (a - b)).Sum()), norm = Math.Sqrt(ad.Sum(a => a * a));
        double maxComp = fd.Zip(ad, (a, b) => Math.Abs(a - b)).Max() / ad.Max(Math.Abs);
        output.WriteLine($"‖g_FD − g_adj‖/‖g_adj‖ = {diff / norm:E2}, max component error / max|g| = {maxComp:E2}, ‖g‖ = {norm:E3}");
        output.WriteLine($"adjoint: {tAdj:F3} s, forward {adj.ForwardSteps} steps, backward {adj.BackwardSteps} steps ({adj.BackwardRejected} rejected); {fd.Count} FD components: {tFd:F3} s");
        Assert.True(diff / norm < 1e-6, $"relative error {diff / norm:E3}");
    }

    /// <summary>
    /// Consistency of the discrete adjoint: for smooth weights Z_k = Z⁰(k/L) the engine's depth-scaled gradient
    /// G_k = L·∂ℓ/∂Z_k (ResNet&lt;double&gt;.Evaluate) tends to the gradient density g(s) of the neural ODE with the
    /// weight function Z⁰ at s = k/L, with error O(1/L): G_k = (∂f/∂Z)(h_{k−1}, Z_k)ᵀ p_k and h_{k−1} − H(k/L),
    /// p_k − a(k/L) are both O(1/L) (explicit Euler, order 1). The error max_{s ∈ {1/4, 1/2, 3/4, 1}} ‖G_{Ls} − g(s)‖_F
    /// (W and V parts together) over L = 16..256 has a fitted slope within 1 ± 0.3. The reference is solved at
    /// rtol 1e-11, so its error is far below the smallest discretization error of the ladder. The ladder must be
    /// in the asymptotic regime, where the O(1/L²) remainder (of relative size ≈ Lip_f/L) is small against the
    /// O(1/L) term: W, V scales 0.5, 0.4 (m = 6, d = 3) and L ≥ 16 give successive error ratios 1.86, 1.92, 1.96,
    /// 1.98 → 2. (With scales 0.8, 0.6 and L = 8..128 the ratios were 1.41 … 1.90 and the fitted slope 0.76:
    /// the same order, seen before the asymptotic regime.)
    /// </summary>
    [Fact(DisplayName = "ResNet gradient: L → ∞ → converges to the ODE gradient at order 1")]
    public void ResNet_gradient_converges_to_the_ode_gradient_at_order_one()
    {
        int m = 6, d = 3, n = 5;
        var spec = new RunSpec { Depth = 8, Width = m, Dim = d, Samples = n, Init = InitKind.Smooth, Scale = 0.5, VScale = 0.4, Seed = 2 };
        var data = spec.Data();
        var z = Initialization.SmoothFunction(spec.Shape, spec.Seed, spec.Scale, spec.VScale, spec.Modes);
        var ode = new NeuralOde(m, d, ActivationKind.Gelu, z);
        var at = new[] { 0.25, 0.5, 0.75, 1.0 };
        var sw = Stopwatch.StartNew();
        var refg = NeuralOdeAdjoint.Density(ode, data.X, data.Y, at, 1e-11, 1e-13);
        double tRef = sw.Elapsed.TotalSeconds;
        int[] ladder = { 16, 32, 64, 128, 256 };
        var errs = new double[ladder.Length];
        double gScale = 0;
        for (int li = 0; li < ladder.Length; li++)
        {
            int L = ladder[li], md = m * d;
            var s = spec.With(depth: L);
            var init = s.InitialWeights();
            var net = new ResNet<double>(s.Shape, ActivationKind.Gelu, data);
            var gw = new double[L * md]; var gv = new double[L * md];
            net.Evaluate(init.W, init.V, gw, gv);
            double err = 0;
            foreach (double sj in at)
            {
                int j = Array.IndexOf(refg.Grid, sj), k = (int)Math.Round(sj * L);
                double e2 = 0, g2 = 0;
                for (int q = 0; q < md; q++)
                {
                    double a = gw[(k - 1) * md + q] - refg.DensityW[j][q], b = gv[(k - 1) * md + q] - refg.DensityV[j][q];
                    e2 += a * a + b * b;
                    g2 += refg.DensityW[j][q] * refg.DensityW[j][q] + refg.DensityV[j][q] * refg.DensityV[j][q];
                }
                err = Math.Max(err, Math.Sqrt(e2)); gScale = Math.Max(gScale, Math.Sqrt(g2));
            }
            errs[li] = err;
        }
        var x = ladder.Select(l => Math.Log(l)).ToArray(); var yv = errs.Select(e => Math.Log(e)).ToArray();
        double mx = x.Average(), my = yv.Average();
        double slope = x.Zip(yv, (a, b) => (a - mx) * (b - my)).Sum() / x.Sum(a => (a - mx) * (a - mx));
        output.WriteLine($"ODE reference: {tRef:F3} s; max‖g(s)‖ = {gScale:E3}; errors {string.Join(", ", errs.Select(e => e.ToString("E3")))} at L = {string.Join(", ", ladder)}; observed order {-slope:F3}");
        Assert.InRange(-slope, 0.7, 1.3);
    }
}
