using System.Diagnostics;
using ResOdeProofs.Numerics;
using ResOdeProofs.Numerics.Model;
using ResOdeProofs.Numerics.Ode;
using Xunit.Abstractions;
using ResOdeProofs.Numerics.Tests.Limit;

namespace ResOdeProofs.Numerics.Tests;

/// <summary>Test problems with closed-form solutions (each carries its exact solution).</summary>
public sealed record OdeProblem(string Name, OdeRhs F, double T0, double T1, double[] Y0, Func<double, double[]> Exact, double Lipschitz)
{
    /// <summary>y' = −y, y(0) = 1: y = e^{−t}.</summary>
    public static OdeProblem Decay { get; } = new("y' = -y", (t, y, dy) => dy[0] = -y[0], 0, 2, new[] { 1.0 },
        t => new[] { Math.Exp(-t) }, 1);

    /// <summary>Rotation y' = [[0, −1], [1, 0]] y, y(0) = (1, 0): y = (cos t, sin t).</summary>
    public static OdeProblem Rotation { get; } = new("rotation", (t, y, dy) => { dy[0] = -y[1]; dy[1] = y[0]; }, 0, 4, new[] { 1.0, 0.0 },
        t => new[] { Math.Cos(t), Math.Sin(t) }, 1);

    /// <summary>y' = y², y(0) = 1: y = 1/(1 − t), on [0, 1/2] (Lipschitz 2·max y = 4).</summary>
    public static OdeProblem Riccati { get; } = new("y' = y^2", (t, y, dy) => dy[0] = y[0] * y[0], 0, 0.5, new[] { 1.0 },
        t => new[] { 1 / (1 - t) }, 4);

    /// <summary>Non-autonomous y' = cos(t)·y, y(0) = 1: y = e^{sin t} (exercises the nodes c).</summary>
    public static OdeProblem NonAutonomous { get; } = new("y' = cos(t) y", (t, y, dy) => dy[0] = Math.Cos(t) * y[0], 0, 3, new[] { 1.0 },
        t => new[] { Math.Exp(Math.Sin(t)) }, 1);

    public static IEnumerable<object[]> All() =>
        new[] { Decay, Rotation, Riccati, NonAutonomous }.Select(p => new object[] { p.Name });

    public static OdeProblem ByName(string name) => new[] { Decay, Rotation, Riccati, NonAutonomous }.Single(p => p.Name == name);
}

public class OdeTests(ITestOutputHelper output)
{
    private static double MaxAbsDiff(double[] a, double[] b) => a.Zip(b, (x, y) => Math.Abs(x - y)).Max();

    /// <summary>Least-squares slope of log(err) against log(h): the observed order.</summary>
    private static double Slope(double[] h, double[] err)
    {
        var x = h.Select(v => Math.Log(v)).ToArray(); var y = err.Select(v => Math.Log(v)).ToArray();
        double mx = x.Average(), my = y.Average();
        return x.Zip(y, (a, b) => (a - mx) * (b - my)).Sum() / x.Sum(a => (a - mx) * (a - mx));
    }

    public static IEnumerable<object[]> Cases() =>
        from p in OdeProblem.All()
        from tab in new[] { "dp5", "bs3" }
        from emb in new[] { false, true }
        select new object[] { p[0], tab, emb };

    private static ButcherTableau Tab(string name) => name == "dp5" ? ButcherTableau.DormandPrince54 : TestTableaus.BogackiShampine32;

    /// <summary>
    /// The observed order on a ladder of fixed step sizes is within ±0.3 of the declared order (of b, or of
    /// the embedded b̂). The ladder is chosen per pair so that the errors stay well above float64 rounding
    /// (≥ 1e-12) and in the asymptotic regime: errors O(h^p) with h = T/N. The error is the maximum over the
    /// times T0 + (T1 − T0)·j/4, j = 1..4 (N is a multiple of 4), so that a leading error coefficient that
    /// happens to vanish at one time cannot fake a higher order.
    /// </summary>
    [Theory(DisplayName = "Ode tableaux: observed order → the declared order")]
    [MemberData(nameof(Cases))]
    public void Observed_order_matches_declared_order(string problem, string tableau, bool embedded)
    {
        var p = OdeProblem.ByName(problem);
        var tab = Tab(tableau);
        int declared = embedded ? tab.EmbeddedOrder : tab.Order;
        int[] ladder = declared >= 5 ? new[] { 8, 12, 16, 24, 32 } : declared == 4 ? new[] { 16, 24, 32, 48, 64 } : new[] { 16, 32, 64, 128, 256 };
        var hs = ladder.Select(n => (p.T1 - p.T0) / n).ToArray();
        double Err(int n) => Enumerable.Range(1, 4).Max(j =>
        {
            double tj = p.T0 + (p.T1 - p.T0) * j / 4;
            return MaxAbsDiff(FixedStepRungeKutta.Integrate(p.F, p.T0, tj, p.Y0, n * j / 4, tab, embedded), p.Exact(tj));
        });
        var errs = ladder.Select(Err).ToArray();
        double order = Slope(hs, errs);
        output.WriteLine($"{tab.Name} {(embedded ? "embedded" : "main")} on {p.Name}: errors {string.Join(", ", errs.Select(e => e.ToString("E2")))}, observed order {order:F3}, declared {declared}");
        Assert.True(errs.Min() > 1e-12, $"errors reach float64 rounding ({errs.Min():E2}); the ladder is not in the asymptotic regime");
        Assert.InRange(order, declared - 0.3, declared + 0.3);
    }

    /// <summary>
    /// Adaptive solves meet the tolerance: each accepted step's estimated local error is at most
    /// atol + rtol·|y|, so the global error is at most (steps)·(atol + rtol·max|y|)·e^{Lip·(t1 − t0)}
    /// (local errors propagated by the Lipschitz constant). Checked at rtol = 1e-6 and 1e-10.
    /// </summary>
    [Theory(DisplayName = "OdeSolver adaptive: problems with exact solutions, each tableau, rtol 1e-6 and 1e-10 → error within its tolerance bound")]
    [MemberData(nameof(Cases))]
    public void Adaptive_solve_meets_its_tolerance(string problem, string tableau, bool unused)
    {
        _ = unused;
        var p = OdeProblem.ByName(problem);
        var tab = Tab(tableau);
        foreach (double rtol in new[] { 1e-6, 1e-10 })
        {
            double atol = rtol * 1e-3;
            var sol = OdeSolver.Integrate(p.F, p.T0, p.T1, p.Y0, rtol, atol, tab);
            var exact = p.Exact(p.T1);
            double err = MaxAbsDiff(sol.Final, exact);
            double ymax = Enumerable.Range(0, 101).Select(j => p.Exact(p.T0 + (p.T1 - p.T0) * j / 100).Max(Math.Abs)).Max();
            double bound = sol.Steps * (atol + rtol * ymax) * Math.Exp(p.Lipschitz * (p.T1 - p.T0));
            output.WriteLine($"{tab.Name} on {p.Name}, rtol {rtol:E0}: error {err:E2}, {sol.Steps} steps ({sol.Rejected} rejected), bound {bound:E2}, error/(rtol·max|y|) = {err / (rtol * ymax):F2}");
            Assert.True(err <= bound, $"error {err:E3} exceeds {bound:E3}");
        }
    }

    [Fact(DisplayName = "Ode solve: output times → hit exactly")]
    public void Output_times_are_hit_exactly()
    {
        var p = OdeProblem.Rotation;
        var times = new[] { 0.0, 0.5, 1.25, 3.0, 4.0 };
        var sol = OdeSolver.Integrate(p.F, p.T0, p.T1, p.Y0, 1e-10, 1e-13, outputTimes: times);
        Assert.Equal(times, sol.Times);
        for (int j = 0; j < times.Length; j++)
            Assert.True(MaxAbsDiff(sol.States[j], p.Exact(times[j])) < 1e-8, $"state at t = {times[j]}");
    }

    [Fact(DisplayName = "Ode solve: a cancellation set during the integration → stopped at the next step (OperationCanceledException); never set → the same solve as without a token")]
    public void A_cancelled_solve_stops_at_its_next_step()
    {
        var p = OdeProblem.Rotation;
        var plain = OdeSolver.Integrate(p.F, p.T0, p.T1, p.Y0, 1e-10, 1e-13);
        using var never = new CancellationTokenSource();
        var same = OdeSolver.Integrate(p.F, p.T0, p.T1, p.Y0, 1e-10, 1e-13, cancel: never.Token);
        Assert.Equal(plain.Final, same.Final);
        Assert.Equal(plain.Steps, same.Steps);
        // the right-hand side sets the cancellation at its 50th call: the solve ends within the step that call belongs to
        using var stop = new CancellationTokenSource();
        int calls = 0;
        OdeRhs f = (t, y, dy) => { if (++calls == 50) stop.Cancel(); p.F(t, y, dy); };
        Assert.Throws<OperationCanceledException>(() => OdeSolver.Integrate(f, p.T0, p.T1, p.Y0, 1e-10, 1e-13, cancel: stop.Token));
        Assert.True(calls < 50 + ButcherTableau.DormandPrince54.Stages, $"{calls} evaluations: the solve went on past the step after the cancellation");
        Assert.True(plain.Evaluations > 2 * (50 + ButcherTableau.DormandPrince54.Stages), "the whole solve is too short for the stop to show");
    }

    [Fact(DisplayName = "Ode tableaux: published ones → satisfy their invariants")]
    public void Published_tableaux_satisfy_their_invariants()
    {
        foreach (var tab in new[] { ButcherTableau.DormandPrince54, TestTableaus.BogackiShampine32 })
        {
            Assert.True(tab.Fsal);
            for (int i = 0; i < tab.Stages; i++) Assert.Equal(tab.C[i], tab.A[i].Sum(), 13);
            Assert.Equal(1.0, tab.B.Sum(), 14);
            Assert.Equal(1.0, tab.BHat.Sum(), 14);
            foreach (var (cond, r) in tab.OrderConditions(tab.B, Math.Min(tab.Order, 4)))
                Assert.True(Math.Abs(r) < ButcherTableau.InvariantTolerance, $"{tab.Name}: {cond} residual {r}");
            // the embedded weights are of lower order: some condition of order p̂ + 1 fails (checkable up to order 4)
            if (tab.EmbeddedOrder + 1 <= 4)
                Assert.Contains(tab.OrderConditions(tab.BHat, tab.EmbeddedOrder + 1), c => Math.Abs(c.Residual) > 1e-6);
        }
    }

    [Fact(DisplayName = "Ode tableaux: a broken one → rejected")]
    public void A_broken_tableau_is_rejected()
    {
        var bs = TestTableaus.BogackiShampine32;
        double[][] Copy(double[][] a) => a.Select(r => (double[])r.Clone()).ToArray();
        // a wrong weight: Σb ≠ 1
        var b = (double[])bs.B.Clone(); b[0] += 1e-3;
        Assert.Throws<ArgumentException>(() => new ButcherTableau("bad b", Copy(bs.A), b, bs.BHat, bs.C, 3, 2));
        // a wrong node: row sum ≠ c
        var c = (double[])bs.C.Clone(); c[2] = 0.7;
        Assert.Throws<ArgumentException>(() => new ButcherTableau("bad c", Copy(bs.A), bs.B, bs.BHat, c, 3, 2));
        // a declared order the weights do not have: b̂ declared order 3
        Assert.Throws<ArgumentException>(() => new ButcherTableau("bad order", Copy(bs.A), bs.B, bs.BHat, bs.C, 3, 3));
        // weights of the right sum but the wrong order-3 condition (swap of b entries keeping Σb = 1)
        var b2 = new[] { bs.B[1], bs.B[0], bs.B[2], bs.B[3] };
        Assert.Throws<ArgumentException>(() => new ButcherTableau("bad order 2", Copy(bs.A), b2, bs.BHat, bs.C, 3, 2));
        // an implicit entry
        var a = Copy(bs.A); a[1][1] = 0.1;
        Assert.Throws<ArgumentException>(() => new ButcherTableau("implicit", a, bs.B, bs.BHat, bs.C, 3, 2));
    }

    /// <summary>With σ = identity and constant W, V the neural ODE is linear: H(1) = exp(VW) H(0).</summary>
    [Fact(DisplayName = "NeuralOde: linear → matches the matrix exponential")]
    public void Linear_neural_ode_matches_the_matrix_exponential()
    {
        int m = 3, d = 2, n = 2;
        var w = new[] { 0.3, -0.5, 0.8, 0.1, -0.2, 0.4 }; // m×d
        var v = new[] { 0.5, 0.2, -0.7, -0.3, 0.9, 0.1 }; // d×m
        var ode = NeuralOde.PiecewiseLinear(1, m, d, ActivationKind.Identity, w, v);
        var h0 = new[] { 1.0, 0.5, -0.3, 2.0 };
        var sol = ode.Solve(h0, 1e-12, 1e-14);
        // M = V W (d×d), exp(M) by Taylor series to 40 terms (‖M‖ < 2, remainder < 2^40/40! ≈ 1e-36)
        var mm = new double[d, d];
        for (int r = 0; r < d; r++) for (int c = 0; c < d; c++) for (int j = 0; j < m; j++) mm[r, c] += v[r * m + j] * w[j * d + c];
        var e = new double[d, d]; var term = new double[d, d];
        for (int r = 0; r < d; r++) { e[r, r] = 1; term[r, r] = 1; }
        for (int q = 1; q < 40; q++)
        {
            var nt = new double[d, d];
            for (int r = 0; r < d; r++) for (int c = 0; c < d; c++) for (int l = 0; l < d; l++) nt[r, c] += term[r, l] * mm[l, c] / q;
            term = nt;
            for (int r = 0; r < d; r++) for (int c = 0; c < d; c++) e[r, c] += term[r, c];
        }
        for (int i = 0; i < n; i++)
            for (int r = 0; r < d; r++)
            {
                double expect = 0;
                for (int c = 0; c < d; c++) expect += e[r, c] * h0[i * d + c];
                Assert.Equal(expect, sol.Final[i * d + r], 9);
            }
    }

    /// <summary>The piecewise-linear interpolant: nodes at k/L, constant on [0, 1/L], linear in between.</summary>
    [Fact(DisplayName = "NeuralOde.PiecewiseLinear: four layers, identity σ → the right-hand side interpolates the layers between the nodes")]
    public void Piecewise_linear_weights_interpolate_the_layers()
    {
        int L = 4, m = 1, d = 1;
        var w = new[] { 1.0, 2.0, 4.0, 8.0 }; var v = new[] { -1.0, -2.0, -3.0, -4.0 };
        double W = 0, V = 0;
        var ode = NeuralOde.PiecewiseLinear(L, m, d, ActivationKind.Identity, w, v);
        // evaluate the right-hand side at H = 1 (then dH/ds = V(s)·W(s))
        var rhs = ode.RightHandSide(1);
        var dy = new double[1];
        (double s, double expect)[] cases = { (0.0, -1), (0.25, -1), (0.375, -1.5 * 1.5), (0.5, -2 * 2), (0.625, -3 * 2.5), (1.0, -32) };
        foreach (var (s, expect) in cases)
        {
            rhs(s, new[] { 1.0 }, dy);
            Assert.Equal(expect, dy[0], 12);
        }
        _ = W; _ = V;
        Assert.Equal(new[] { 0.25, 0.5, 0.75 }, ode.Breakpoints);
    }

    /// <summary>The ResNet forward on the interpolant's nodes equals the layer-wise reference forward.</summary>
    [Fact(DisplayName = "NeuralOdeResNet.ResNetForward: a smooth gelu network → equals the layer-wise reference on the nodes")]
    public void ResNet_forward_on_the_nodes_matches_the_layerwise_reference()
    {
        var spec = new Training.RunSpec { Depth = 6, Width = 5, Dim = 3, Samples = 4, Init = Training.InitKind.Smooth, VScale = 0.5, Seed = 3 };
        var init = spec.InitialWeights(); var data = spec.Data();
        var ode = NeuralOde.PiecewiseLinear(6, 5, 3, ActivationKind.Gelu, init.W, init.V);
        var hL = ode.ResNetForward(data.X, 6);
        var lw = Layerwise.Evaluate(spec.Shape, ActivationKind.Gelu, data, null, null, init.W, init.V);
        for (int i = 0; i < 4; i++) for (int r = 0; r < 3; r++) Assert.Equal(lw.H[6][i][r], hL[i * 3 + r], 12);
    }

    /// <summary>
    /// Cost report (no assertion on time): the neural-ODE solve at rtol 1e-10 for the weights of a smooth
    /// initialization of depth 64 (W scale 1/√d, V scale ≈ 1/√m, so that κ = s1·max‖V‖₂‖W‖₂ is O(1)) against a 2^14-layer ResNet forward on the same weight function, and the
    /// distance of each to the other.
    /// </summary>
    [Fact(DisplayName = "NeuralOde solve: against a ResNet of 2^14 layers → the deeper ResNet is closer (costs printed)")]
    public void Cost_of_the_ode_solve_versus_a_deep_resnet()
    {
        int L = 64, m = 32, d = 16, n = 20;
        var spec = new Training.RunSpec { Depth = L, Width = m, Dim = d, Samples = n, Init = Training.InitKind.Smooth, Scale = 0.25, VScale = 0.18, Seed = 1 };
        var init = spec.InitialWeights(); var data = spec.Data();
        var ode = NeuralOde.PiecewiseLinear(L, m, d, ActivationKind.Gelu, init.W, init.V);
        var sw = Stopwatch.StartNew();
        var sol = ode.Solve(data.X, 1e-10, 1e-12);
        double tOde = sw.Elapsed.TotalSeconds;
        sw.Restart();
        var deep = ode.ResNetForward(data.X, 1 << 14);
        double tDeep = sw.Elapsed.TotalSeconds;
        var hL = ode.ResNetForward(data.X, L);
        double errDeep = MaxAbsDiff(deep, sol.Final), errL = MaxAbsDiff(hL, sol.Final);
        output.WriteLine($"ODE solve (DP5, rtol 1e-10): {tOde:F3} s, {sol.Steps} steps, {sol.Rejected} rejected, {sol.Evaluations} evaluations");
        output.WriteLine($"ResNet forward, 2^14 layers: {tDeep:F3} s; max|h_2^14 - H(1)| = {errDeep:E2}; max|h_64 - H(1)| = {errL:E2}");
        Assert.True(errDeep < errL, "the deeper ResNet is closer to the ODE");
    }
}
