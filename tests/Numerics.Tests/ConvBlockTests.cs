using System.Diagnostics;
using ResOdeProofs.Numerics.Blocks;
using Xunit.Abstractions;
using ResOdeProofs.TestSupport;

namespace ResOdeProofs.Numerics.Tests;

public class ConvBlockTests
{
    private const double Eps = 2.220446049250313e-16;
    private readonly ITestOutputHelper _out;

    public ConvBlockTests(ITestOutputHelper output) => _out = output;

    private static double Dot(ReadOnlySpan<double> x, ReadOnlySpan<double> y)
    {
        double s = 0.0;
        for (int i = 0; i < x.Length; i++) s += x[i] * y[i];
        return s;
    }

    private static double Norm(ReadOnlySpan<double> x) => Math.Sqrt(Dot(x, x));

    /// <summary>Direct definition, one output entry at a time: y[o,i,j] = b[o] + Σ K[o,c,a+1,e+1] x[c,i+a,j+e].</summary>
    private static double[] NaiveConv(double[] k, double[]? b, double[] x, int n, int cIn, int cOut, int h, int w)
    {
        var y = new double[n * cOut * h * w];
        for (int s = 0; s < n; s++)
            for (int o = 0; o < cOut; o++)
                for (int i = 0; i < h; i++)
                    for (int j = 0; j < w; j++)
                    {
                        double acc = b is null ? 0.0 : b[o];
                        for (int c = 0; c < cIn; c++)
                            for (int a = -1; a <= 1; a++)
                                for (int e = -1; e <= 1; e++)
                                {
                                    int ii = i + a, jj = j + e;
                                    if (ii < 0 || ii >= h || jj < 0 || jj >= w) continue;
                                    acc += k[((o * cIn + c) * 3 + a + 1) * 3 + e + 1] * x[((s * cIn + c) * h + ii) * w + jj];
                                }
                        y[((s * cOut + o) * h + i) * w + j] = acc;
                    }
        return y;
    }

    [Theory(DisplayName = "ConvBlock.Forward: any shape → matches the definition")]
    [InlineData(1, 1, 1, 1, 1)]
    [InlineData(2, 3, 2, 5, 7)]
    [InlineData(3, 4, 4, 14, 14)]
    [InlineData(1, 2, 5, 3, 9)]
    public void ForwardMatchesDefinition(int n, int cIn, int cOut, int h, int w)
    {
        var rng = new System.Random(11 + cIn * 7 + h);
        var k = TestRandom.Gaussian(rng, cOut * cIn * 9);
        var b = TestRandom.Gaussian(rng, cOut);
        var x = TestRandom.Gaussian(rng, n * cIn * h * w);
        var y = new double[n * cOut * h * w];
        Conv2dSame.Forward(k, b, x, y, n, cIn, cOut, h, w);
        var expected = NaiveConv(k, b, x, n, cIn, cOut, h, w);
        // Same sum (≤ 9·C_in + 1 terms) in another order: |difference| ≤ 2·(9·C_in + 1)·ε·Σ|terms| ≤ that with Σ|terms| ≤ |b| + 3‖K_o‖_F‖x‖.
        double scale = (9 * cIn + 1) * 2 * Eps * (b.Max(Math.Abs) + 3 * Norm(k) * Norm(x));
        for (int i = 0; i < y.Length; i++) Assert.True(Math.Abs(y[i] - expected[i]) <= scale, $"entry {i}: {y[i]} vs {expected[i]}");
    }

    [Theory(DisplayName = "ConvBlock adjoint: ⟨Kx, y⟩ = ⟨x, Kᵀy⟩ → holds to rounding")]
    [InlineData(2, 3, 2, 5, 7)]
    [InlineData(3, 4, 4, 14, 14)]
    [InlineData(1, 1, 3, 1, 6)]
    public void AdjointIdentityHoldsToRounding(int n, int cIn, int cOut, int h, int w)
    {
        var rng = new System.Random(5 + cOut);
        var k = TestRandom.Gaussian(rng, cOut * cIn * 9);
        var x = TestRandom.Gaussian(rng, n * cIn * h * w);
        var y = TestRandom.Gaussian(rng, n * cOut * h * w);
        var kx = new double[y.Length];
        var kty = new double[x.Length];
        Conv2dSame.Forward(k, ReadOnlySpan<double>.Empty, x, kx, n, cIn, cOut, h, w);
        Conv2dSame.Adjoint(k, y, kty, n, cIn, cOut, h, w);
        double lhs = Dot(kx, y), rhs = Dot(x, kty);
        // Both sides are the same Σ K·x·y over one index set, summed in different orders; |⟨Kx, y⟩| ≤ 3‖K‖_F‖x‖‖y‖ bounds each
        // partial sum's magnitude up to the count of terms: allowance (9·C + d)·ε·3‖K‖_F‖x‖‖y‖.
        double tol = (9.0 * Math.Max(cIn, cOut) + x.Length + y.Length) * Eps * 3 * Norm(k) * Norm(x) * Norm(y);
        _out.WriteLine($"<Kx,y> = {lhs:R}, <x,K^T y> = {rhs:R}, difference {Math.Abs(lhs - rhs):E2}, allowance {tol:E2}");
        Assert.True(Math.Abs(lhs - rhs) <= tol);
    }

    [Fact(DisplayName = "Conv2dSame.ShiftOperatorNorm: states holding +∞ or NaN (a diverging run's overflow) → +∞ or NaN, not an exception (the eigen-solver raised: a tool error, exit 3); finite states → finite")]
    public void ShiftOperatorNormOfNonFiniteStates()
    {
        var x = new double[] { 1, 2, 3, 4, 5, 6, 7, 8 };   // 2 channels of 2×2
        Assert.True(double.IsFinite(Conv2dSame.ShiftOperatorNorm(x, 2, 2, 2)));
        x[5] = double.PositiveInfinity;
        Assert.Equal(double.PositiveInfinity, Conv2dSame.ShiftOperatorNorm(x, 2, 2, 2));
        x[5] = 1e300;   // finite, but its square overflows
        Assert.Equal(double.PositiveInfinity, Conv2dSame.ShiftOperatorNorm(x, 2, 2, 2));
        x[5] = double.NaN;
        Assert.True(double.IsNaN(Conv2dSame.ShiftOperatorNorm(x, 2, 2, 2)));
    }

    [Fact(DisplayName = "Conv2dSame.Adjoint: each unit output → the transpose of the dense matrix, exactly")]
    public void AdjointIsTheTransposeOfTheDenseMatrix()
    {
        int cIn = 2, cOut = 3, h = 4, w = 5;
        var k = TestRandom.Gaussian(new System.Random(3), cOut * cIn * 9);
        var m = ConvDense.Matrix(k, cIn, cOut, h, w);
        int dIn = cIn * h * w, dOut = cOut * h * w;
        var e = new double[dOut];
        var col = new double[dIn];
        for (int i = 0; i < dOut; i++)
        {
            e[i] = 1.0;
            Conv2dSame.Adjoint(k, e, col, 1, cIn, cOut, h, w);
            for (int j = 0; j < dIn; j++) Assert.Equal(m[i * dIn + j], col[j]); // each entry is one kernel value or 0: exact
            e[i] = 0.0;
        }
    }

    [Fact(DisplayName = "Conv2dSame.KernelGradient: random kernel, bias and states → the adjoint of kernel-to-output")]
    public void KernelGradientIsTheAdjointOfKernelToOutput()
    {
        // K ↦ ⟨y, K x + b⟩ is linear, so ⟨∇_K, δK⟩ + ⟨∇_b, δb⟩ = ⟨y, δK x + δb⟩ exactly up to rounding.
        int n = 3, cIn = 3, cOut = 2, h = 6, w = 5;
        var rng = new System.Random(17);
        var x = TestRandom.Gaussian(rng, n * cIn * h * w);
        var y = TestRandom.Gaussian(rng, n * cOut * h * w);
        var dk = TestRandom.Gaussian(rng, cOut * cIn * 9);
        var db = TestRandom.Gaussian(rng, cOut);
        var gk = new double[dk.Length];
        var gb = new double[cOut];
        Conv2dSame.KernelGradient(x, y, gk, gb, n, cIn, cOut, h, w);
        var out1 = new double[y.Length];
        Conv2dSame.Forward(dk, db, x, out1, n, cIn, cOut, h, w);
        double lhs = Dot(gk, dk) + Dot(gb, db), rhs = Dot(y, out1);
        double tol = (9.0 * cIn + y.Length + x.Length) * Eps * Norm(y) * (3 * Norm(dk) * Norm(x) + Math.Sqrt(n * h * w) * Norm(db));
        Assert.True(Math.Abs(lhs - rhs) <= tol, $"{lhs} vs {rhs}");
    }

    /// <summary>Largest singular value of a dense matrix from the eigenvalues of MᵀM (Jacobi).</summary>
    private static double DenseSpectralNorm(double[] m, int rows, int cols)
    {
        var g = new double[cols * cols];
        for (int i = 0; i < cols; i++)
            for (int j = 0; j < cols; j++)
            {
                double s = 0.0;
                for (int r = 0; r < rows; r++) s += m[r * cols + i] * m[r * cols + j];
                g[i * cols + j] = s;
            }
        return Math.Sqrt(ConvSpectralNorm.SymmetricEigenvalues(g, cols).Max());
    }

    [Theory(DisplayName = "ConvSpectralNorm: any kernel → bracket contains the dense norm")]
    [InlineData(1, 1, 3, 3, 1)]
    [InlineData(2, 2, 4, 5, 2)]
    [InlineData(3, 2, 6, 6, 3)]
    [InlineData(2, 3, 5, 4, 4)]
    [InlineData(4, 4, 5, 5, 5)]
    public void SpectralNormBracketContainsTheDenseNorm(int cIn, int cOut, int h, int w, int seed)
    {
        var k = TestRandom.Gaussian(new System.Random(seed), cOut * cIn * 9, 1.0 / 3.0);
        var bracket = ConvSpectralNorm.Compute(k, cIn, cOut, h, w, gapTolerance: 1e-12, residualTolerance: 1e-10);
        double dense = DenseSpectralNorm(ConvDense.Matrix(k, cIn, cOut, h, w), cOut * h * w, cIn * h * w);
        _out.WriteLine($"C_in={cIn} C_out={cOut} {h}x{w}: dense {dense:R}, bracket [{bracket.Lower:R}, {bracket.Upper:R}] (grid {bracket.FourierGrid}), estimate {bracket.Estimate:R}, {bracket.Iterations} iterations, gap Upper/Lower − 1 = {bracket.Upper / bracket.Lower - 1.0:E2}");
        // The dense value carries Jacobi's rounding: relative allowance 1e-12 (d ≤ 150, ε·d·few ≪ 1e-12).
        Assert.True(bracket.Lower <= dense * (1 + 1e-12), "lower bound above the dense norm");
        Assert.True(dense <= bracket.Upper * (1 + 1e-12), "upper bound below the dense norm");
        Assert.True(bracket.Converged);
        // The stopping rule extrapolates the remaining change of a geometric sequence (asymptotically exact); allowance
        // 100× the stall tolerance for the pre-asymptotic phase.
        Assert.True(Math.Abs(bracket.Estimate - dense) <= 1e-8 * dense, $"estimate {bracket.Estimate} vs dense {dense}");
    }

    [Fact(DisplayName = "ConvSpectralNorm Fourier bound: identity → exact; box filter → strict")]
    public void FourierBoundIsExactForTheIdentityAndStrictForTheBoxFilter()
    {
        var id = new double[9];
        id[4] = 1.0;
        var bid = ConvSpectralNorm.Compute(id, 1, 1, 5, 5);
        Assert.InRange(bid.Lower, 1 - 1e-11, 1.0);
        Assert.InRange(bid.Upper, 1.0, 1 + 1e-11);
        var box = Enumerable.Repeat(1.0, 9).ToArray();
        var bbox = ConvSpectralNorm.Compute(box, 1, 1, 6, 6, gapTolerance: 1e-12, residualTolerance: 1e-12);
        double dense = DenseSpectralNorm(ConvDense.Matrix(box, 1, 1, 6, 6), 36, 36);
        // Circular symbol of the box filter at ω = 0 is 9; zero padding loses mass at the border, so ‖K‖₂ < 9
        // (= (1 + 2cos(π/7))² for the 6×6 tensor product of path-plus-identity matrices).
        double exact = Math.Pow(1 + 2 * Math.Cos(Math.PI / 7), 2);
        _out.WriteLine($"box filter 6x6: dense {dense:R}, closed form {exact:R}, bracket [{bbox.Lower:R}, {bbox.Upper:R}]");
        Assert.Equal(exact, dense, 1e-10);
        Assert.InRange(bbox.Upper, 9.0, 9.0 * (1 + 1e-12));
        Assert.True(bbox.Lower <= exact * (1 + 1e-12) && bbox.Lower >= exact * (1 - 1e-9));
    }

    public static IEnumerable<object[]> ActivationCases() =>
        new[] { ActivationKind.Gelu, ActivationKind.Tanh, ActivationKind.Softplus, ActivationKind.Identity, ActivationKind.Relu }
            .Select(a => new object[] { a });

    [Theory(DisplayName = "ConvBlock: gradients, every activation → match central differences")]
    [MemberData(nameof(ActivationCases))]
    public void BlockGradientsMatchCentralDifferences(ActivationKind act)
    {
        int c = 2, h = 4, w = 5, n = 2;
        var block = new ConvBlock(c, h, w, act);
        int d = block.StateDim;
        var rng = new System.Random(23 + (int)act);
        double[] theta, x;
        var cache = new double[block.CacheSize(n)];
        var outp = new double[n * d];
        const double step = 1e-6;
        // relu: redraw until every pre-activation is further from the kink than any perturbation can move it
        // (a parameter or state step of size δ moves u by at most δ·(max patch ℓ1-norm of h, 1, or 9·C·max|K₁|)).
        for (int attempt = 0; ; attempt++)
        {
            theta = TestRandom.Gaussian(rng, block.ParameterCount, 0.5);
            x = TestRandom.Gaussian(rng, n * d);
            block.Forward(theta, x, outp, cache, n);
            double minAbsU = cache.AsSpan(0, n * d).ToArray().Min(Math.Abs);
            double move = step * (9 * c * Math.Max(x.Max(Math.Abs), theta.Max(Math.Abs)) + 1);
            if (act != ActivationKind.Relu || minAbsU > 10 * move) break;
            Assert.True(attempt < 10000, "no kink-free draw");
        }
        var p = TestRandom.Gaussian(rng, n * d);
        var gTheta = new double[block.ParameterCount];
        var gH = new double[n * d];
        block.Backward(theta, x, cache, p, gTheta, gH, n);

        double J(double[] th, double[] hh)
        {
            var o = new double[n * d];
            block.Forward(th, hh, o, new double[block.CacheSize(n)], n);
            return Dot(o, p);
        }

        // Central differences: truncation δ²/6·|∂³J| (|∂³J| ≲ s2-type constants × norms ≈ 10²) plus rounding ε|J|/δ;
        // with δ = 1e-6 both are below 1e-7 here; allowance 1e-6·(1 + |g|).
        void CheckAll(double[] v, double[] g, string what)
        {
            for (int i = 0; i < v.Length; i++)
            {
                double keep = v[i];
                v[i] = keep + step;
                double jp = what == "theta" ? J(v, x) : J(theta, v);
                v[i] = keep - step;
                double jm = what == "theta" ? J(v, x) : J(theta, v);
                v[i] = keep;
                double fd = (jp - jm) / (2 * step);
                Assert.True(Math.Abs(fd - g[i]) <= 1e-6 * (1 + Math.Abs(g[i])), $"{Activations.Name(act)} d/d{what}[{i}]: backward {g[i]:R}, central difference {fd:R}");
            }
        }
        CheckAll(theta, gTheta, "theta");
        CheckAll(x, gH, "h");

        // Backward accumulates into gradTheta.
        var twice = (double[])gTheta.Clone();
        block.Backward(theta, x, cache, p, twice, gH, n);
        for (int i = 0; i < twice.Length; i++) Assert.Equal(2 * gTheta[i], twice[i], 1e-12 * (1 + Math.Abs(gTheta[i])));
    }

    [Fact(DisplayName = "ConvBlock: one instance, backward passes on four threads at once → each the bits of the same pass alone")]
    public void BackwardOnOneInstanceFromSeveralThreadsKeepsBits()
    {
        // the verifier evaluates a run's snapshots in parallel on the run's one block instance (IResidualBlock's contract)
        int n = 6, threads = 4;
        var block = new ConvBlock(3, 9, 9, ActivationKind.Gelu);
        int d = block.StateDim;
        var rng = new System.Random(7);
        var thetas = Enumerable.Range(0, threads).Select(_ => TestRandom.Gaussian(rng, block.ParameterCount, 0.3)).ToArray();
        var xs = Enumerable.Range(0, threads).Select(_ => TestRandom.Gaussian(rng, n * d)).ToArray();
        var ps = Enumerable.Range(0, threads).Select(_ => TestRandom.Gaussian(rng, n * d)).ToArray();
        (double[] G, double[] GH) Pass(int t)
        {
            var cache = new double[block.CacheSize(n)];
            var o = new double[n * d];
            var g = new double[block.ParameterCount];
            var gh = new double[n * d];
            block.Forward(thetas[t], xs[t], o, cache, n);
            block.Backward(thetas[t], xs[t], cache, ps[t], g, gh, n);
            return (g, gh);
        }
        var alone = Enumerable.Range(0, threads).Select(Pass).ToArray();
        for (int round = 0; round < 20; round++)
        {
            var together = new (double[] G, double[] GH)[threads];
            using var start = new Barrier(threads);
            var workers = Enumerable.Range(0, threads).Select(t => new Thread(() => { start.SignalAndWait(); together[t] = Pass(t); })).ToArray();
            foreach (var w in workers) w.Start();
            foreach (var w in workers) w.Join();
            for (int t = 0; t < threads; t++)
            {
                Assert.Equal(alone[t].G, together[t].G);
                Assert.Equal(alone[t].GH, together[t].GH);
            }
        }
        // negative control: the passes differ from one another, so equal arrays are not a comparison of equal inputs
        Assert.NotEqual(alone[0].GH, alone[1].GH);
    }

    [Fact(DisplayName = "ConvBlock: parameter layout and shapes → as documented")]
    public void BlockLayoutAndShapes()
    {
        var block = new ConvBlock(4, 14, 14, ActivationKind.Gelu);
        Assert.Equal("conv", block.Name);
        Assert.Equal(784, block.StateDim);
        Assert.Equal(2 * (4 * 4 * 9 + 4), block.ParameterCount);
        Assert.Equal(block.ParameterCount, block.ParameterLayout.Sum(p => p.Shape.Aggregate(1, (a, b) => a * b)));
        Assert.Equal(new[] { "K1", "b1", "K2", "b2" }, block.ParameterLayout.Select(p => p.Name));
    }

    [Fact(DisplayName = "ConvBlock: forward and backward after warm-up → no allocation")]
    public void ForwardAndBackwardDoNotAllocate()
    {
        int n = 10;
        var block = new ConvBlock(4, 14, 14, ActivationKind.Gelu);
        int d = block.StateDim;
        var rng = new System.Random(1);
        var theta = TestRandom.Gaussian(rng, block.ParameterCount, 0.2);
        var x = TestRandom.Gaussian(rng, n * d);
        var p = TestRandom.Gaussian(rng, n * d);
        var cache = new double[block.CacheSize(n)];
        var o = new double[n * d];
        var g = new double[block.ParameterCount];
        var gh = new double[n * d];
        block.Forward(theta, x, o, cache, n);
        block.Backward(theta, x, cache, p, g, gh, n); // warm-up: grows the scratch buffer once
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int r = 0; r < 5; r++)
        {
            block.Forward(theta, x, o, cache, n);
            block.Backward(theta, x, cache, p, g, gh, n);
        }
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Fact(DisplayName = "ConvBlock: 4 channels, 14×14, 100 images → forward and backward run (times printed)")]
    public void SpeedForFourChannelsFourteenByFourteenHundredImages()
    {
        int n = 100, reps = 20;
        var block = new ConvBlock(4, 14, 14, ActivationKind.Gelu);
        int d = block.StateDim;
        var rng = new System.Random(2);
        var theta = TestRandom.Gaussian(rng, block.ParameterCount, 0.2);
        var x = TestRandom.Gaussian(rng, n * d);
        var p = TestRandom.Gaussian(rng, n * d);
        var cache = new double[block.CacheSize(n)];
        var o = new double[n * d];
        var g = new double[block.ParameterCount];
        var gh = new double[n * d];
        var k = theta.AsSpan(0, block.KernelLength).ToArray();
        for (int r = 0; r < 3; r++)
        {
            block.Forward(theta, x, o, cache, n);
            block.Backward(theta, x, cache, p, g, gh, n);
        }
        var sw = Stopwatch.StartNew();
        for (int r = 0; r < reps; r++) Conv2dSame.Forward(k, ReadOnlySpan<double>.Empty, x, o, n, 4, 4, 14, 14);
        double conv = sw.Elapsed.TotalMilliseconds / reps;
        sw.Restart();
        for (int r = 0; r < reps; r++) Conv2dSame.Adjoint(k, p, gh, n, 4, 4, 14, 14);
        double adj = sw.Elapsed.TotalMilliseconds / reps;
        sw.Restart();
        for (int r = 0; r < reps; r++) Conv2dSame.KernelGradient(x, p, g.AsSpan(0, k.Length), Span<double>.Empty, n, 4, 4, 14, 14);
        double grad = sw.Elapsed.TotalMilliseconds / reps;
        sw.Restart();
        for (int r = 0; r < reps; r++) block.Forward(theta, x, o, cache, n);
        double fwd = sw.Elapsed.TotalMilliseconds / reps;
        sw.Restart();
        for (int r = 0; r < reps; r++) block.Backward(theta, x, cache, p, g, gh, n);
        double bwd = sw.Elapsed.TotalMilliseconds / reps;
        var val = new double[n * d];
        var der = new double[n * d];
        sw.Restart();
        for (int r = 0; r < reps; r++) Activations.Evaluate(ActivationKind.Gelu, o, val, der);
        double act = sw.Elapsed.TotalMilliseconds / reps;
        double flops = 2.0 * n * 16 * 9 * 196;
        _out.WriteLine($"C=4, 14x14, n=100: conv forward {conv:F3} ms ({flops / conv / 1e6:F2} GFLOP/s), adjoint {adj:F3} ms, kernel gradient {grad:F3} ms; block forward {fwd:F3} ms (of which GELU on n·d = {n * d} entries {act:F3} ms), block backward {bwd:F3} ms");
        Assert.True(fwd > 0 && bwd > 0);
    }

    [Fact(DisplayName = "Conv2dSame patch and shift norms: a random state → bound the convolution outputs")]
    public void PatchAndShiftNormsBoundConvolutionOutputs()
    {
        int c = 3, h = 5, w = 6, plane = h * w;
        var rng = new System.Random(31);
        var x = TestRandom.Gaussian(rng, c * plane);
        double pi = Conv2dSame.MaxPatchNorm(x, c, h, w), nu = Conv2dSame.ShiftOperatorNorm(x, c, h, w);
        Assert.True(pi <= Norm(x) && nu <= 3 * Norm(x) * (1 + 1e-12));
        // The dense P×9C matrix of δK ↦ δK ∗ x (one output channel), column by column from Forward.
        var m = new double[plane * 9 * c];
        var unit = new double[9 * c];
        var col = new double[plane];
        for (int j = 0; j < 9 * c; j++)
        {
            unit[j] = 1.0;
            Conv2dSame.Forward(unit, ReadOnlySpan<double>.Empty, x, col, 1, c, 1, h, w);
            for (int i = 0; i < plane; i++) m[i * 9 * c + j] = col[i];
            unit[j] = 0.0;
        }
        double dense = DenseSpectralNorm(m, plane, 9 * c);
        Assert.True(Math.Abs(nu - dense) <= 1e-10 * dense, $"shift norm {nu} vs dense {dense}");
        for (int trial = 0; trial < 20; trial++)
        {
            var dk = TestRandom.Gaussian(rng, 2 * c * 9);
            var y = new double[2 * plane];
            Conv2dSame.Forward(dk, ReadOnlySpan<double>.Empty, x, y, 1, c, 2, h, w);
            Assert.True(Norm(y) <= nu * Norm(dk) * (1 + 1e-12));
            Assert.True(y.Max(Math.Abs) <= pi * Norm(dk) * (1 + 1e-12));
        }
    }

    [Fact(DisplayName = "ConvStem: white images → shapes and channel sums as defined")]
    public void StemShapesAndValues()
    {
        var stem = new ConvStem(4, 7);
        Assert.Equal(784, stem.StateDim);
        var images = new byte[3 * 28 * 28];
        Array.Fill(images, (byte)255);
        var h = stem.Apply(images);
        Assert.Equal(3 * 784, h.Length);
        // A white image pools to all ones; an interior output pixel of channel c is the sum of the channel's 9 taps.
        for (int c = 0; c < 4; c++)
        {
            double sum = 0.0;
            for (int t = 0; t < 9; t++) sum += stem.Kernel[c * 9 + t];
            Assert.Equal(sum, h[2 * 784 + c * 196 + 5 * 14 + 6], 1e-14);
        }
        // Pooling: one lit pixel (value 255 at (2, 3)) gives 1/4 at pooled (1, 1), seen by the centre tap.
        var one = new byte[28 * 28];
        one[2 * 28 + 3] = 255;
        var h1 = stem.Apply(one);
        Assert.Equal(0.25 * stem.Kernel[4], h1[1 * 14 + 1], 1e-15);
        Assert.Equal(0.25 * stem.Kernel[0], h1[2 * 14 + 2], 1e-15); // tap (−1, −1) of output (2, 2) reads (1, 1)
        Assert.Throws<ArgumentException>(() => stem.Apply(new byte[100]));
        Assert.Contains("seed 7", stem.Describe());
        // Deterministic in the seed.
        Assert.Equal(stem.Kernel, new ConvStem(4, 7).Kernel);
        Assert.NotEqual(stem.Kernel, new ConvStem(4, 8).Kernel);
    }

    [Fact(DisplayName = "ConvStem.ReadOut: dense and global-average-pool → shapes and ranks as defined")]
    public void ReadOutShapesAndRanks()
    {
        var stem = new ConvStem(4, 7);
        var b = stem.ReadOut(10);
        Assert.Equal(10 * 784, b.Length);
        var gap = stem.ReadOut(10, ConvReadOutKind.GlobalAveragePool);
        // GAP read-out: constant over each channel plane, so B·h depends on h only through its 4 channel means.
        var h = TestRandom.Gaussian(new System.Random(4), 784);
        var hShuffled = (double[])h.Clone();
        (hShuffled[3], hShuffled[100]) = (hShuffled[100], hShuffled[3]); // same channel 0
        for (int o = 0; o < 10; o++)
        {
            Assert.Equal(Dot(gap.AsSpan(o * 784, 784), h), Dot(gap.AsSpan(o * 784, 784), hShuffled), 1e-12);
        }
        // Projection: rows nearly unit norm (entries N(0, 1/d)).
        for (int o = 0; o < 10; o++) Assert.InRange(Norm(b.AsSpan(o * 784, 784)), 0.8, 1.2);
    }
}
