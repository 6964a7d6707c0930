using System.Numerics;
using ResOdeProofs.Numerics;
using ResOdeProofs.Numerics.Model;
using ResOdeProofs.Numerics.Verification;
using Xunit;
using Xunit.Abstractions;

namespace ResOdeProofs.Numerics.Tests;

/// <summary>
/// The kernel constant of A.split.centre.segments' rounding allowance (docs/theorems/DepthSmoothness.md): the engine's
/// float64 GELU kernels σ̂, σ̂' (every SIMD path) and the centre's σ̂'' are within <see cref="CentrePass.KernelError"/>·u of
/// the exact functions, |σ̂' − σ'| and |σ̂'' − σ''| absolutely, |σ̂ − σ| relative to |x|.
/// </summary>
public class CentreRoundingTests
{
    private readonly ITestOutputHelper _out;
    public CentreRoundingTests(ITestOutputHelper output) => _out = output;

    private const double U = CentrePass.U;

    // Grid over [−12, 12] with full mantissas (an irrational offset) and the points where the kernels switch branches.
    private static double[] Grid()
    {
        var xs = new List<double>();
        const int n = 12000;
        for (int i = 0; i <= n; i++) xs.Add(-12.0 + 24.0 * i / n + 1e-3 * (Math.Sqrt(2.0) - 1.0) * 24.0 / n);
        foreach (double b in new[] { 0.0, 1e-300, 1e-8, 0.46875 * Math.Sqrt(2.0), 4.0 * Math.Sqrt(2.0), Math.Sqrt(2.0), 2.0, 0.5 })
        {
            xs.Add(b); xs.Add(-b); xs.Add(Math.BitIncrement(b)); xs.Add(-Math.BitIncrement(b)); xs.Add(Math.BitDecrement(b));
        }
        return xs.ToArray();
    }

    // The reference values from the high-precision Φ and φ (each correctly rounded), combined in double: within 4u of
    // the exact σ, σ', σ'' in the units the bound uses (|x| for σ, absolute for σ', σ'').
    private static (double S, double D1, double D2) Reference(double x)
    {
        double cdf = HighPrecisionReference.NormalCdf(x), pdf = HighPrecisionReference.NormalPdf(x);
        return (x * cdf, cdf + x * pdf, pdf * (2.0 - x * x));
    }

    public static IEnumerable<object[]> Levels()
    {
        yield return new object[] { SimdLevel.Scalar };
        if (Simd.Hardware >= SimdLevel.Vector256) yield return new object[] { SimdLevel.Vector256 };
        if (Simd.Hardware >= SimdLevel.Vector512) yield return new object[] { SimdLevel.Vector512 };
    }

    [Theory(DisplayName = "CentrePass: engine GELU σ, σ' on every SIMD path, dense grid → within KernelError·u of the reference")]
    [MemberData(nameof(Levels))]
    public void Engine_gelu_within_kernel_error(SimdLevel level)
    {
        var x = Grid();
        var s = new double[x.Length]; var sd = new double[x.Length];
        VectorActivations.Evaluate<double>(level, ActivationKind.Gelu, x, s, sd);
        double worstS = 0, worstD = 0;
        for (int i = 0; i < x.Length; i++)
        {
            var r = Reference(x[i]);
            // below 2^-1000 σ(x) ≈ x/2 is within the subnormal range: there the bound is absolute (CentrePass.Underflow)
            if (Math.Abs(x[i]) >= Math.ScaleB(1.0, -1000)) worstS = Math.Max(worstS, Math.Abs(s[i] - r.S) / (U * Math.Abs(x[i])));
            else Assert.True(Math.Abs(s[i] - r.S) <= CentrePass.KernelError * U * Math.Abs(x[i]) + CentrePass.Underflow, $"σ({x[i]:R})");
            worstD = Math.Max(worstD, Math.Abs(sd[i] - r.D1) / U);
        }
        _out.WriteLine($"{level}: |σ̂ − σ| ≤ {worstS:F2}·u|x|, |σ̂' − σ'| ≤ {worstD:F2}·u");
        Assert.True(worstS <= CentrePass.KernelError - 4, $"σ: {worstS:F2}u|x|");
        Assert.True(worstD <= CentrePass.KernelError - 4, $"σ': {worstD:F2}u");
    }

    [Fact(DisplayName = "CentrePass: the rule's σ'' (vector lanes and the scalar tail), dense grid → within KernelError·u of the reference")]
    public void Rule_second_derivative_within_kernel_error()
    {
        var x = Grid();
        int lanes = Vector<double>.Count;
        double worstV = 0, worstS = 0;
        foreach (double xi in x)
        {
            double r = Reference(xi).D2;
            double vec = CentrePass.GeluSecond(new Vector<double>(xi))[lanes - 1];
            worstV = Math.Max(worstV, Math.Abs(vec - r) / U);
            worstS = Math.Max(worstS, Math.Abs(Activations.SecondDerivative(ActivationKind.Gelu, xi) - r) / U);
        }
        _out.WriteLine($"|σ̂'' − σ''| ≤ {worstV:F2}·u (Vector<double>), {worstS:F2}·u (scalar)");
        Assert.True(worstV <= CentrePass.KernelError - 4, $"vector σ'': {worstV:F2}u");
        Assert.True(worstS <= CentrePass.KernelError - 4, $"scalar σ'': {worstS:F2}u");
    }

    [Fact(DisplayName = "CentrePass: one evaluation's rounding bound → above the error of a float64 gradient against a compensated one")]
    public void Evaluation_rounding_bounds_a_measured_error()
    {
        // a small layer: G^W = Σ_i (σ'(W h^i) ⊙ Vᵀp^i) h^{iᵀ} in plain float64 against the same sums with every inner
        // product and sum compensated (Neumaier) and σ' from the high-precision reference
        int n = 40, d = 8, m = 12;
        var rng = new System.Random(7);
        double R() => rng.NextDouble() * 2 - 1;
        var h = Enumerable.Range(0, n * d).Select(_ => 3 * R()).ToArray();
        var p = Enumerable.Range(0, n * d).Select(_ => 0.1 * R()).ToArray();
        var w = Enumerable.Range(0, m * d).Select(_ => R()).ToArray();
        var v = Enumerable.Range(0, d * m).Select(_ => R()).ToArray();
        double gMax = 0;
        var plain = new double[m * d]; var exact = new double[m * d];
        var qp = new double[n * m]; var qe = new double[n * m];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < m; j++)
            {
                double up = 0, gp = 0; var ue = new Neumaier(); var ge = new Neumaier();
                for (int r = 0; r < d; r++)
                {
                    up += h[i * d + r] * w[j * d + r]; ue.Add(h[i * d + r] * w[j * d + r], Math.FusedMultiplyAdd(h[i * d + r], w[j * d + r], -(h[i * d + r] * w[j * d + r])));
                    gp += p[i * d + r] * v[r * m + j]; ge.Add(p[i * d + r] * v[r * m + j], Math.FusedMultiplyAdd(p[i * d + r], v[r * m + j], -(p[i * d + r] * v[r * m + j])));
                }
                gMax = Math.Max(gMax, Math.Abs(gp));
                qp[i * m + j] = Activations.Derivative(ActivationKind.Gelu, up) * gp;
                qe[i * m + j] = Reference(ue.Sum).D1 * ge.Sum;
            }
        for (int j = 0; j < m; j++)
            for (int r = 0; r < d; r++)
            {
                double sp = 0; var se = new Neumaier();
                for (int i = 0; i < n; i++) { sp += qp[i * m + j] * h[i * d + r]; se.Add(qe[i * m + j] * h[i * d + r], Math.FusedMultiplyAdd(qe[i * m + j], h[i * d + r], -(qe[i * m + j] * h[i * d + r]))); }
                plain[j * d + r] = sp; exact[j * d + r] = se.Sum;
            }
        double err = Math.Sqrt(plain.Zip(exact, (a, b) => (a - b) * (a - b)).Sum());
        double F(double[] a) => Math.Sqrt(a.Sum(x => x * x));
        var bound = CentrePass.EvaluationRounding(n, d, m, F(h), F(p), F(w), F(v), gMax);
        _out.WriteLine($"‖Ĝ^W − G^W‖ = {err:E3} ≤ {bound.W:E3}; ‖G^W‖ = {F(exact):E3}");
        Assert.True(err > 0, "the plain sums rounded");
        Assert.True(err <= bound.W, $"{err:E3} > {bound.W:E3}");
        // and the bound is of rounding size, not a loose constant: below 1e-12 relative to the scale ‖h‖‖p‖‖V‖‖h‖‖W‖
        Assert.True(bound.W < 1e-12 * F(h) * F(p) * F(v) * (1 + F(h) * F(w)));
    }

    [Theory(DisplayName = "CentrePass: u(0), q(0), σ'(u(0)) kept by the split pass and u(1), q(1), σ'(u(1)) kept by the engine (1 or 2 blocks) → the centre's own products bit for bit")]
    [InlineData(SimdLevel.Vector512)]
    [InlineData(SimdLevel.Vector256)]
    [InlineData(SimdLevel.Scalar)]
    public void Kept_products_give_the_same_step(SimdLevel level)
    {
        var old = Simd.Override;
        Simd.Override = level;
        try
        {
            foreach (int threads in new[] { 1, 2 })
            {
                // layers at scale 0.2: the pairs' δ = ΔW h of order 0.5, the regime of the rule (its corrections grow like δ⁴)
                var s = TestSetting.Random(6, 7, 8, 5, 13, false, wScale: 0.2);
                var act = ActivationKind.Gelu;
                int md = s.Shape.LayerSize, L = s.Shape.Depth, n = s.Data.Count;
                var h0 = new double[n * s.Shape.Dim];
                for (int i = 0; i < n; i++)
                    for (int r = 0; r < s.Shape.Dim; r++)
                    {
                        double acc = 0;
                        if (s.A is null) acc = s.Data.X[i * s.Shape.InputDim + r];
                        else for (int c = 0; c < s.Shape.InputDim; c++) acc += s.A[r * s.Shape.InputDim + c] * s.Data.X[i * s.Shape.InputDim + c];
                        h0[i * s.Shape.Dim + r] = acc;
                    }
                var net = new ResNet<double>(s.Shape, act, s.Data, new EngineOptions { Threads = threads }, s.A, s.B);
                var kept = new ResNet<double>.KeptStates(s.Shape, n) { KeepProducts = true };
                net.Keep = kept;
                var gw = new double[L * md]; var gv = new double[L * md];
                net.Evaluate(s.W, s.V, gw, gv);
                Assert.True(kept.ProductsValid);
                var withKept = new SplitPass(s.Shape, act, n, h0, s.Data.Y, s.B) { KeepPairProducts = true };
                withKept.EvaluateKept(s.W, s.V, gw, gv, kept, withForcing: false);
                Assert.True(withKept.PairProductsValid);
                var own = new SplitPass(s.Shape, act, n, h0, s.Data.Y, s.B);
                own.Evaluate(s.W, s.V, gw, gv, withForcing: false);
                Assert.False(own.PairProductsValid);
                var a = new CentrePass(s.Shape, act, n); var b = new CentrePass(s.Shape, act, n);
                // a centre that is not the increments (their own would be a fixed point of nothing in particular)
                var w1 = s.W.Select((x, i) => x + 0.01 * Math.Sin(i)).ToArray(); var v1 = s.V.Select((x, i) => x + 0.01 * Math.Cos(i)).ToArray();
                a.Start(w1, v1); b.Start(w1, v1);
                a.Step(0.01, withKept, s.W, s.V); b.Step(0.01, own, s.W, s.V);
                foreach (var (x, y, what) in new[] { (a.CW, b.CW, "c^W"), (a.CV, b.CV, "c^V"), (a.RW, b.RW, "r_W"), (a.RV, b.RV, "r_V"),
                                                     (a.RoundMW, b.RoundMW, "RoundMW"), (a.RoundGW, b.RoundGW, "RoundGW"), (a.StepW, b.StepW, "step") })
                    for (int i = 0; i < x.Length; i++)
                        Assert.True(BitConverter.DoubleToInt64Bits(x[i]) == BitConverter.DoubleToInt64Bits(y[i]), $"{what}[{i}] ({threads} block(s)): {x[i]:R} vs {y[i]:R}");
                // with the divided differences' rounding of the entries with |δ̂| ≥ δ* (about 3·10⁻¹⁰ at these norms)
                Assert.All(a.RoundMW, x => Assert.True(x > 0 && x < 1e-9));
            }
        }
        finally { Simd.Override = old; }
    }

    // compensated summation: the sum of products with their exact low parts
    private struct Neumaier
    {
        private double _s, _c;
        public void Add(double hi, double lo)
        {
            foreach (double x in new[] { hi, lo })
            {
                double t = _s + x;
                _c += Math.Abs(_s) >= Math.Abs(x) ? (_s - t) + x : (x - t) + _s;
                _s = t;
            }
        }
        public double Sum => _s + _c;
    }
}
