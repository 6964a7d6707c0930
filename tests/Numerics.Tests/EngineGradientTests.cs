using ResOdeProofs.Numerics.Model;
using ResOdeProofs.Numerics.Training;

namespace ResOdeProofs.Numerics.Tests;

/// <summary>Deterministic Gaussian test inputs (independent of the engine's own generator).</summary>
internal static class TestRandom
{
    /// <summary>count samples of N(0, scale²) by Box–Muller from a seeded System.Random.</summary>
    public static double[] Gaussian(System.Random rng, int count, double scale = 1.0)
    {
        var r = new double[count];
        for (int i = 0; i < count; i++)
        {
            double u1 = 1.0 - rng.NextDouble(), u2 = rng.NextDouble();
            r[i] = scale * Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
        }
        return r;
    }
}

/// <summary>A small network setting with explicit weights: shape, data, optional A and B, W and V.</summary>
internal sealed record TestSetting(NetworkShape Shape, Dataset Data, double[]? A, double[]? B, double[] W, double[] V)
{
    /// <summary>
    /// Random setting. With <paramref name="general"/> the network has an embedding A (d×d_in, d_in = d − 1)
    /// and a read-out B (d_out×d, d_out = d + 1); otherwise A = B = I.
    /// </summary>
    public static TestSetting Random(int seed, int depth, int width, int dim, int n, bool general,
        double wScale = 0.8, double vScale = 0.8)
    {
        var rng = new System.Random(seed);
        int dIn = general ? dim - 1 : dim, dOut = general ? dim + 1 : dim;
        var shape = new NetworkShape(depth, width, dim, dIn, dOut);
        var data = new Dataset(n, dIn, dOut, TestRandom.Gaussian(rng, n * dIn), TestRandom.Gaussian(rng, n * dOut));
        double[]? a = general ? TestRandom.Gaussian(rng, dim * dIn, 0.9) : null;
        double[]? b = general ? TestRandom.Gaussian(rng, dOut * dim, 0.7) : null;
        int total = depth * width * dim;
        return new TestSetting(shape, data, a, b, TestRandom.Gaussian(rng, total, wScale), TestRandom.Gaussian(rng, total, vScale));
    }

    public ResNet<double> Network(ActivationKind act, EngineFault fault = EngineFault.None) =>
        new(Shape, act, Data, A, B) { Fault = fault };
}

/// <summary>
/// A deliberately naive reference implementation of the network of ResNet.cs's doc comment,
/// h_0 = A x, h_k = h_{k−1} + (1/L) V_k σ(W_k h_{k−1}), F(x) = B h_L, ℓ = (1/n) Σ_i ‖F(x_i) − y_i‖²,
/// with the adjoint recursion p_L = (2/n) Bᵀ(B h_L − y), q_k = σ'(W_k h_{k−1}) ⊙ V_kᵀ p_k,
/// p_{k−1} = p_k + (1/L) W_kᵀ q_k and G^V_k = Σ_i p_k σ_kᵀ, G^W_k = Σ_i q_k h_{k−1}ᵀ.
/// Everything is written with explicit per-layer matrices and per-sample vectors and plain loops;
/// nothing of the engine is used except the activation functions themselves.
/// </summary>
internal static class Reference
{
    /// <summary>
    /// Loss, G^W and G^V in the engine's flat layout, pre-activations u_k^i as [k][i][j], and the
    /// statistics max_{k,i} ‖h_k^i‖ and max_k Σ_i ‖p_k^i‖ (k = 0..L).
    /// </summary>
    public sealed record Result(double Loss, double[] GradW, double[] GradV, double[][][] PreActivations,
        double MaxHiddenNorm, double MaxAdjointSum, double[] AdjointSums);

    private static double Norm(double[] x) { double s = 0; foreach (var t in x) s += t * t; return Math.Sqrt(s); }

    /// <summary>Layer k of a flat layer-major tensor as a rows×cols matrix M[r][c].</summary>
    private static double[][][] Layers(double[] flat, int depth, int rows, int cols)
    {
        var res = new double[depth][][];
        for (int k = 0; k < depth; k++)
        {
            res[k] = new double[rows][];
            for (int r = 0; r < rows; r++)
            {
                res[k][r] = new double[cols];
                for (int c = 0; c < cols; c++) res[k][r][c] = flat[(k * rows + r) * cols + c];
            }
        }
        return res;
    }

    private static double[] Flatten(double[][][] layers)
    {
        var list = new List<double>();
        foreach (var mat in layers) foreach (var row in mat) list.AddRange(row);
        return list.ToArray();
    }

    private static double[][][] Zeros(int depth, int rows, int cols)
    {
        var z = new double[depth][][];
        for (int k = 0; k < depth; k++) { z[k] = new double[rows][]; for (int r = 0; r < rows; r++) z[k][r] = new double[cols]; }
        return z;
    }

    private static double[] MatVec(double[][] mat, double[] x)
    {
        var y = new double[mat.Length];
        for (int r = 0; r < mat.Length; r++)
        {
            double s = 0;
            for (int c = 0; c < x.Length; c++) s += mat[r][c] * x[c];
            y[r] = s;
        }
        return y;
    }

    private static double[] MatTVec(double[][] mat, double[] x, int cols)
    {
        var y = new double[cols];
        for (int c = 0; c < cols; c++)
        {
            double s = 0;
            for (int r = 0; r < mat.Length; r++) s += mat[r][c] * x[r];
            y[c] = s;
        }
        return y;
    }

    public static Result Evaluate(NetworkShape shape, ActivationKind act, Dataset data, double[]? a, double[]? b, double[] wFlat, double[] vFlat)
    {
        int L = shape.Depth, m = shape.Width, d = shape.Dim, dIn = shape.InputDim, dOut = shape.OutputDim, n = data.Count;
        var W = Layers(wFlat, L, m, d);
        var V = Layers(vFlat, L, d, m);
        var A = a is null ? null : Layers(a, 1, d, dIn)[0];
        var B = b is null ? null : Layers(b, 1, dOut, d)[0];
        var gW = Zeros(L, m, d);
        var gV = Zeros(L, d, m);
        var pre = new double[L][][];
        for (int k = 0; k < L; k++) pre[k] = new double[n][];
        double loss = 0, maxHidden = 0;
        var adjointSum = new double[L + 1];
        for (int i = 0; i < n; i++)
        {
            var x = new double[dIn];
            for (int c = 0; c < dIn; c++) x[c] = data.X[i * dIn + c];
            var y = new double[dOut];
            for (int c = 0; c < dOut; c++) y[c] = data.Y[i * dOut + c];

            // Forward, keeping h_0..h_L, u_k and σ(u_k) of this sample.
            var h = new double[L + 1][];
            var u = new double[L][];
            var s = new double[L][];
            h[0] = A is null ? (double[])x.Clone() : MatVec(A, x);
            for (int k = 0; k < L; k++)
            {
                u[k] = MatVec(W[k], h[k]);
                pre[k][i] = u[k];
                s[k] = new double[m];
                for (int j = 0; j < m; j++) s[k][j] = Activations.Value(act, u[k][j]);
                var vs = MatVec(V[k], s[k]);
                h[k + 1] = new double[d];
                for (int r = 0; r < d; r++) h[k + 1][r] = h[k][r] + vs[r] / L;
            }
            for (int k = 0; k <= L; k++) maxHidden = Math.Max(maxHidden, Norm(h[k]));
            var f = B is null ? (double[])h[L].Clone() : MatVec(B, h[L]);
            var res = new double[dOut];
            for (int c = 0; c < dOut; c++) { res[c] = f[c] - y[c]; loss += res[c] * res[c]; }

            // Backward.
            var p = B is null ? (double[])res.Clone() : MatTVec(B, res, d);
            for (int r = 0; r < d; r++) p[r] *= 2.0 / n;
            adjointSum[L] += Norm(p);
            for (int k = L - 1; k >= 0; k--)
            {
                for (int r = 0; r < d; r++)
                    for (int j = 0; j < m; j++) gV[k][r][j] += p[r] * s[k][j];
                var q = MatTVec(V[k], p, m);
                for (int j = 0; j < m; j++) q[j] *= Activations.Derivative(act, u[k][j]);
                for (int j = 0; j < m; j++)
                    for (int c = 0; c < d; c++) gW[k][j][c] += q[j] * h[k][c];
                var wq = MatTVec(W[k], q, d);
                var pNext = new double[d];
                for (int r = 0; r < d; r++) pNext[r] = p[r] + wq[r] / L;
                p = pNext;
                adjointSum[k] += Norm(p);
            }
        }
        return new Result(loss / n, Flatten(gW), Flatten(gV), pre, maxHidden, adjointSum.Max(), adjointSum);
    }

    /// <summary>Plain gradient descent Z ← Z − η·G for <paramref name="iterations"/> updates; the losses ℓ(Z^0..Z^N) and final weights.</summary>
    public static (double[] Losses, double[] W, double[] V) GradientDescent(NetworkShape shape, ActivationKind act, Dataset data,
        double[]? a, double[]? b, double[] w0, double[] v0, double eta, int iterations)
    {
        var w = (double[])w0.Clone(); var v = (double[])v0.Clone();
        var losses = new double[iterations + 1];
        for (int j = 0; ; j++)
        {
            var r = Evaluate(shape, act, data, a, b, w, v);
            losses[j] = r.Loss;
            if (j == iterations) break;
            for (int i = 0; i < w.Length; i++) { w[i] -= eta * r.GradW[i]; v[i] -= eta * r.GradV[i]; }
        }
        return (losses, w, v);
    }
}

public sealed class EngineGradientTests
{
    // Step of the central differences. After the factor L, the truncation error is ≈ L·h²·|∂³ℓ|/6 and
    // the rounding error ≈ L·ε·|ℓ|/h (ε = 2.2e-16). In these settings ℓ ≈ 5..12 and |G| ≤ ~25;
    // measuring at h = 1e-4 gives a truncation error of ~3e-8, i.e. L·|∂³ℓ|/6 ≈ 3, while the
    // rounding coefficient is L·ε·|ℓ| ≈ 1e-14. The sum 1e-14/h + 3h² is smallest at
    // h = (1e-14/6)^{1/3} ≈ 1.2e-5; h = 2e-5 gives an absolute error ~2e-9 per entry, ≲ 1e-7 relative
    // even for the smallest entries measured (the floor 1e-3·max|G| ≈ 0.02), i.e. 10× or more below
    // the 1e-6 tolerance. The injected faults produce relative errors ≥ 1e-2.
    private const double H = 2e-5;

    /// <summary>
    /// Largest relative error between the engine's G = L·∂ℓ/∂Z and L·(ℓ(Z+hE) − ℓ(Z−hE))/(2h) over
    /// all coordinates of W and V (the settings are small enough to check every coordinate). The loss
    /// ℓ is the engine's own. A coordinate's error is |G − FD| / max(|G|, |FD|, floor), the floor
    /// (1e-3·max|G|) only keeping structurally zero entries (e.g. inactive ReLU units) from dividing 0 by 0.
    /// </summary>
    internal static double FiniteDifferenceError(TestSetting s, ActivationKind act, EngineFault fault = EngineFault.None,
        Action<bool, int, double[], double[]>? checkPerturbed = null)
    {
        var net = s.Network(act, fault);
        int L = s.Shape.Depth;
        var gw = new double[s.W.Length]; var gv = new double[s.V.Length];
        net.Evaluate(s.W, s.V, gw, gv);
        double gMax = Math.Max(gw.Max(Math.Abs), gv.Max(Math.Abs));
        Assert.True(gMax > 1e-3, "the gradient should not vanish in this setting");
        double floor = 1e-3 * gMax, worst = 0;
        for (int which = 0; which < 2; which++)
        {
            bool isW = which == 0;
            var g = isW ? gw : gv;
            for (int c = 0; c < g.Length; c++)
            {
                var w = (double[])s.W.Clone(); var v = (double[])s.V.Clone();
                var z = isW ? w : v;
                double z0 = z[c];
                z[c] = z0 + H;
                checkPerturbed?.Invoke(isW, c, w, v);
                double lp = net.Evaluate(w, v, Span<double>.Empty, Span<double>.Empty).Loss;
                z[c] = z0 - H;
                checkPerturbed?.Invoke(isW, c, w, v);
                double lm = net.Evaluate(w, v, Span<double>.Empty, Span<double>.Empty).Loss;
                double fd = L * (lp - lm) / (2 * H);
                double err = Math.Abs(g[c] - fd) / Math.Max(Math.Max(Math.Abs(g[c]), Math.Abs(fd)), floor);
                worst = Math.Max(worst, err);
            }
        }
        return worst;
    }

    public static TheoryData<ActivationKind, int, int, int, bool> GradientCases()
    {
        var data = new TheoryData<ActivationKind, int, int, int, bool>();
        int seed = 100;
        foreach (var act in new[] { ActivationKind.Gelu, ActivationKind.Tanh, ActivationKind.Softplus, ActivationKind.Identity })
            foreach (var (L, m) in new[] { (3, 4), (4, 5), (5, 6) })
                foreach (bool general in new[] { false, true })
                    data.Add(act, L, m, seed++, general);
        return data;
    }

    [Theory(DisplayName = "ResNet gradient: smooth σ → matches central differences")]
    [MemberData(nameof(GradientCases))]
    public void GradientMatchesCentralDifferences(ActivationKind act, int depth, int width, int seed, bool general)
    {
        var s = TestSetting.Random(seed, depth, width, dim: 3, n: 4, general);
        double err = FiniteDifferenceError(s, act);
        Assert.True(err < 1e-6, $"{act} L={depth} m={width} general={general}: relative error {err:E3}");
    }

    [Theory(DisplayName = "ResNet gradient: relu away from kinks → matches central differences")]
    [InlineData(3, 4, false)]
    [InlineData(4, 5, true)]
    [InlineData(5, 6, false)]
    [InlineData(5, 6, true)]
    public void ReluGradientMatchesCentralDifferencesAwayFromKinks(int depth, int width, bool general)
    {
        // Pick a setting whose pre-activations all stay well away from the kink at 0, then check at
        // every perturbed point that no pre-activation changed sign (so ℓ is smooth on [Z−hE, Z+hE]).
        for (int seed = 500; seed < 600; seed++)
        {
            var s = TestSetting.Random(seed, depth, width, dim: 3, n: 4, general);
            var basePre = Reference.Evaluate(s.Shape, ActivationKind.Relu, s.Data, s.A, s.B, s.W, s.V).PreActivations;
            if (basePre.SelectMany(k => k).SelectMany(u => u).Min(Math.Abs) < 1e-2) continue;
            bool anyActive = basePre.SelectMany(k => k).SelectMany(u => u).Any(u => u > 0);
            Assert.True(anyActive);
            int checkedPoints = 0;
            double err = FiniteDifferenceError(s, ActivationKind.Relu, checkPerturbed: (_, _, w, v) =>
            {
                var pre = Reference.Evaluate(s.Shape, ActivationKind.Relu, s.Data, s.A, s.B, w, v).PreActivations;
                for (int k = 0; k < pre.Length; k++)
                    for (int i = 0; i < pre[k].Length; i++)
                        for (int j = 0; j < pre[k][i].Length; j++)
                            Assert.True(pre[k][i][j] > 0 == basePre[k][i][j] > 0, "a perturbation crossed the ReLU kink");
                checkedPoints++;
            });
            Assert.True(checkedPoints > 0);
            Assert.True(err < 1e-6, $"relu L={depth} m={width} general={general} seed={seed}: relative error {err:E3}");
            return;
        }
        Assert.Fail("no setting with all pre-activations away from the ReLU kink was found");
    }

    // The wider cases (m = 19, d = 9) make the engine's vectorized loops run full SIMD blocks plus
    // remainders, for float as well as double.
    [Theory(DisplayName = "ResNet: any setting → agrees with the reference implementation")]
    [InlineData(ActivationKind.Gelu, false, 5, 3)]
    [InlineData(ActivationKind.Tanh, true, 5, 3)]
    [InlineData(ActivationKind.Softplus, true, 5, 3)]
    [InlineData(ActivationKind.Relu, false, 5, 3)]
    [InlineData(ActivationKind.Identity, true, 5, 3)]
    [InlineData(ActivationKind.Gelu, true, 19, 9)]
    [InlineData(ActivationKind.Tanh, false, 19, 9)]
    [InlineData(ActivationKind.Relu, true, 19, 9)]
    public void EngineAgreesWithReferenceImplementation(ActivationKind act, bool general, int width, int dim)
    {
        var s = TestSetting.Random(7, 6, width, dim, 5, general, 0.8 / Math.Sqrt(dim / 3.0), 0.8 / Math.Sqrt(width / 5.0));
        var gw = new double[s.W.Length]; var gv = new double[s.V.Length];
        var st = s.Network(act).Evaluate(s.W, s.V, gw, gv);
        var r = Reference.Evaluate(s.Shape, act, s.Data, s.A, s.B, s.W, s.V);
        Assert.True(RelErr(st.Loss, r.Loss) < 1e-13, $"loss {st.Loss:R} vs reference {r.Loss:R}");
        double scale = Math.Max(r.GradW.Max(Math.Abs), r.GradV.Max(Math.Abs));
        for (int i = 0; i < gw.Length; i++)
        {
            Assert.True(Math.Abs(gw[i] - r.GradW[i]) <= 1e-12 * scale, $"G^W[{i}] {gw[i]:R} vs {r.GradW[i]:R}");
            Assert.True(Math.Abs(gv[i] - r.GradV[i]) <= 1e-12 * scale, $"G^V[{i}] {gv[i]:R} vs {r.GradV[i]:R}");
        }
        // The statistics agree with the reference's pre-activations.
        var all = r.PreActivations.SelectMany(k => k).SelectMany(u => u).ToArray();
        Assert.True(RelErr(st.MinPreActivation, all.Min()) < 1e-13);
        Assert.True(RelErr(st.MaxPreActivation, all.Max()) < 1e-13);
        Assert.True(RelErr(st.MaxHiddenNorm, r.MaxHiddenNorm) < 1e-13, $"max ‖h‖ {st.MaxHiddenNorm:R} vs {r.MaxHiddenNorm:R}");
        Assert.True(RelErr(st.MaxAdjointSum, r.MaxAdjointSum) < 1e-12, $"max Σ‖p‖ {st.MaxAdjointSum:R} vs {r.MaxAdjointSum:R}");
        // the adjoints' growth down the layers, max over k < j of S_k/S_j, by every pair of layers
        double growth = 1;
        for (int j = 1; j < r.AdjointSums.Length; j++)
            for (int k = 0; k < j; k++) growth = Math.Max(growth, r.AdjointSums[k] / r.AdjointSums[j]);
        Assert.True(RelErr(st.AdjointGrowth, growth) < 1e-12, $"adjoint growth {st.AdjointGrowth:R} vs {growth:R}");
    }

    [Fact(DisplayName = "ResNet: weights 30 times larger, the adjoints growing down the layers → AdjointGrowth that of the reference; near 1 for small weights")]
    public void AdjointGrowthSeesLargeWeights()
    {
        // ‖J‖ ≤ 1 + ‖V‖‖W‖/L: small weights keep the growth near 1; weights 30 times larger make the adjoints grow
        var s = TestSetting.Random(3, 4, 8, 4, 6, false, 0.1, 0.1);
        var gw = new double[s.W.Length]; var gv = new double[s.V.Length];
        double small = s.Network(ActivationKind.Tanh).Evaluate(s.W, s.V, gw, gv).AdjointGrowth;
        Assert.InRange(small, 1.0, 1.1);
        var w = s.W.Select(x => 30 * x).ToArray(); var v = s.V.Select(x => 30 * x).ToArray();
        var st = s.Network(ActivationKind.Tanh).Evaluate(w, v, gw, gv);
        var r = Reference.Evaluate(s.Shape, ActivationKind.Tanh, s.Data, s.A, s.B, w, v);
        double growth = 1;
        for (int j = 1; j < r.AdjointSums.Length; j++)
            for (int k = 0; k < j; k++) growth = Math.Max(growth, r.AdjointSums[k] / r.AdjointSums[j]);
        Assert.True(growth > 2, $"the reference's growth {growth:R} is the case this test is for");
        Assert.True(RelErr(st.AdjointGrowth, growth) < 1e-12, $"adjoint growth {st.AdjointGrowth:R} vs {growth:R}");
    }

    [Theory(DisplayName = "ResNet float32: loss and gradient → match float64 within float32 rounding")]
    [InlineData(ActivationKind.Gelu, false, 6, 3)]
    [InlineData(ActivationKind.Tanh, true, 6, 3)]
    [InlineData(ActivationKind.Gelu, true, 19, 9)]
    [InlineData(ActivationKind.Softplus, false, 19, 9)]
    public void Float32EvaluationMatchesFloat64(ActivationKind act, bool general, int width, int dim)
    {
        // float32 (u = 6e-8): each entry is a chain of L = 5 layers of sums of at most 19 terms, so the
        // accumulated rounding is at most ~L·m·u ≈ 6e-6 relative to the largest entries and in practice
        // ~1e-7 (errors are not aligned); 1e-5 separates that from any real difference.
        var s = TestSetting.Random(9, 5, width, dim, 4, general, 0.8 / Math.Sqrt(dim / 3.0), 0.8 / Math.Sqrt(width / 6.0));
        var gw = new double[s.W.Length]; var gv = new double[s.V.Length];
        var st = s.Network(act).Evaluate(s.W, s.V, gw, gv);
        var net32 = new ResNet<float>(s.Shape, act, s.Data, s.A, s.B);
        var w32 = s.W.Select(x => (float)x).ToArray(); var v32 = s.V.Select(x => (float)x).ToArray();
        var gw32 = new float[w32.Length]; var gv32 = new float[v32.Length];
        var st32 = net32.Evaluate(w32, v32, gw32, gv32);
        Assert.True(RelErr(st.Loss, st32.Loss) < 1e-5, $"loss {st.Loss:R} vs float32 {st32.Loss:R}");
        double scale = Math.Max(gw.Max(Math.Abs), gv.Max(Math.Abs));
        for (int i = 0; i < gw.Length; i++)
        {
            Assert.True(Math.Abs(gw[i] - gw32[i]) <= 1e-5 * scale, $"G^W[{i}]: {gw[i]:R} vs float32 {gw32[i]:R}");
            Assert.True(Math.Abs(gv[i] - gv32[i]) <= 1e-5 * scale, $"G^V[{i}]: {gv[i]:R} vs float32 {gv32[i]:R}");
        }
    }

    [Fact(DisplayName = "ResNet: evaluation without gradient buffers → the same loss as with them")]
    public void LossOnlyEvaluationGivesTheSameLoss()
    {
        var s = TestSetting.Random(3, 4, 5, 3, 4, general: true);
        var net = s.Network(ActivationKind.Tanh);
        var gw = new double[s.W.Length]; var gv = new double[s.V.Length];
        double withGrad = net.Evaluate(s.W, s.V, gw, gv).Loss;
        double without = net.Evaluate(s.W, s.V, Span<double>.Empty, Span<double>.Empty).Loss;
        Assert.Equal(withGrad, without);
    }

    /// <summary>
    /// L = 1, m = d = 1, n = 2, with scalars a (embedding) and b (read-out):
    /// h_0 = a·x_i, u_i = w·h_0, h_1 = h_0 + v·σ(u_i), r_i = b·h_1 − y_i, ℓ = (r_1² + r_2²)/2,
    /// ∂ℓ/∂v = Σ_i r_i·b·σ(u_i), ∂ℓ/∂w = Σ_i r_i·b·v·σ'(u_i)·h_0 (the factor 2/n is 1), and G = 1·∂ℓ/∂Z.
    /// The numbers are chosen so that no sum cancels.
    /// </summary>
    [Theory(DisplayName = "ResNet, one layer: loss and gradient → the closed form")]
    [InlineData(ActivationKind.Identity, false)]
    [InlineData(ActivationKind.Tanh, false)]
    [InlineData(ActivationKind.Identity, true)]
    [InlineData(ActivationKind.Tanh, true)]
    public void OneLayerClosedForm(ActivationKind act, bool withAB)
    {
        double[] x = { 0.7, -1.3 }, y = { -0.4, 0.9 };
        double w = 0.9, v = -0.6;
        double a = withAB ? 1.5 : 1.0, b = withAB ? 0.8 : 1.0;
        Func<double, double> sigma = act == ActivationKind.Tanh ? Math.Tanh : u => u;
        Func<double, double> dsigma = act == ActivationKind.Tanh ? u => 1 - Math.Tanh(u) * Math.Tanh(u) : _ => 1.0;
        double loss = 0, gV = 0, gW = 0;
        for (int i = 0; i < 2; i++)
        {
            double h0 = a * x[i], u = w * h0, h1 = h0 + v * sigma(u), r = b * h1 - y[i];
            loss += r * r / 2;
            gV += r * b * sigma(u);
            gW += r * b * v * dsigma(u) * h0;
        }
        var shape = NetworkShape.Square(1, 1, 1);
        var net = new ResNet<double>(shape, act, new Dataset(2, 1, 1, x, y), withAB ? new[] { a } : null, withAB ? new[] { b } : null);
        var gw = new double[1]; var gv = new double[1];
        var st = net.Evaluate(new[] { w }, new[] { v }, gw, gv);
        Assert.True(RelErr(st.Loss, loss) < 1e-14, $"loss {st.Loss:R} vs {loss:R}");
        Assert.True(RelErr(gw[0], gW) < 1e-14, $"G^W {gw[0]:R} vs {gW:R}");
        Assert.True(RelErr(gv[0], gV) < 1e-14, $"G^V {gv[0]:R} vs {gV:R}");
    }

    [Theory(DisplayName = "EngineFault: each injected fault → gradient check fails")]
    [InlineData(EngineFault.ScaledLayerGradient, ActivationKind.Gelu)]
    [InlineData(EngineFault.ScaledLayerGradient, ActivationKind.Tanh)]
    [InlineData(EngineFault.ForwardDepthScale, ActivationKind.Gelu)]
    [InlineData(EngineFault.ForwardDepthScale, ActivationKind.Tanh)]
    [InlineData(EngineFault.WrongActivationDerivative, ActivationKind.Gelu)]
    [InlineData(EngineFault.WrongActivationDerivative, ActivationKind.Tanh)]
    public void InjectedFaultsFailTheGradientCheck(EngineFault fault, ActivationKind act)
    {
        foreach (bool general in new[] { false, true })
        {
            var s = TestSetting.Random(42, 4, 5, 3, 4, general);
            double ok = FiniteDifferenceError(s, act, EngineFault.None);
            Assert.True(ok < 1e-6, $"the faithful engine must pass: {ok:E3}");
            double bad = FiniteDifferenceError(s, act, fault);
            Assert.True(bad > 1e-3, $"{fault} with {act} should fail the gradient check by far, relative error only {bad:E3}");
        }
    }

    internal static double RelErr(double a, double b) => a == b ? 0 : Math.Abs(a - b) / Math.Max(Math.Abs(a), Math.Abs(b));
}
