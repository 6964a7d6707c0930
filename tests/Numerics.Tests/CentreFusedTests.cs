using ResOdeProofs.Numerics;
using ResOdeProofs.Numerics.Model;
using ResOdeProofs.Numerics.Verification;
using Xunit;

namespace ResOdeProofs.Numerics.Tests;

/// <summary>
/// The centre step's fused per-entry pass (CentreKernels512, CentreKernels256) and its pairs shared among threads against
/// the reference loops on one thread (<see cref="CentrePass.RuleReference"/>): every output bit for bit, with entry counts
/// that fill the vectors and that leave a scalar tail.
/// </summary>
public sealed class CentreFusedTests
{
    private static CentrePass Run(TestSetting s, bool reference, int threads, double shift)
    {
        var act = ActivationKind.Gelu;
        int md = s.Shape.LayerSize, L = s.Shape.Depth, n = s.Data.Count, dim = s.Shape.Dim;
        var h0 = new double[n * dim];
        for (int i = 0; i < n; i++)
            for (int r = 0; r < dim; r++) h0[i * dim + r] = s.Data.X[i * s.Shape.InputDim + r];
        var pass = new SplitPass(s.Shape, act, n, h0, s.Data.Y, s.B);
        var gw = new double[L * md]; var gv = new double[L * md];
        var c = new CentrePass(s.Shape, act, n) { ReferenceRule = reference, Threads = threads };
        var w1 = s.W.Select((x, i) => x + 0.01 * Math.Sin(i) + shift * (i % 3)).ToArray(); var v1 = s.V.Select((x, i) => x + 0.01 * Math.Cos(i)).ToArray();
        c.Start(w1, v1);
        // two iterates: the second reads the products the first asked the split pass to keep
        for (int it = 0; it < 2; it++)
        {
            var w = s.W.Select(x => x * (1 + 0.01 * it)).ToArray();
            pass.Evaluate(w, s.V, gw, gv, withForcing: true);
            c.Step(0.01, pass, w, s.V);
        }
        return c;
    }

    private static IEnumerable<(double[] X, string What)> Outputs(CentrePass c) => new[]
    {
        (c.CW, "c^W"), (c.CV, "c^V"), (c.NormCW, "‖c^W‖"), (c.NormCV, "‖c^V‖"), (c.RW, "r_W"), (c.RV, "r_V"), (c.AWW, "a_WW"),
        (c.AWV, "a_WV"), (c.StepW, "step_W"), (c.StepV, "step_V"), (c.MW, "M_W"), (c.MV, "M_V"), (c.RoundMW, "RoundMW"),
        (c.RoundMV, "RoundMV"), (c.RoundGW, "RoundGW"), (c.RoundGV, "RoundGV"),
    };

    [Theory(DisplayName = "CentrePass: fused per-entry pass and 2 threads → the reference loops' outputs bit for bit (whole vectors and a tail)")]
    [InlineData(SimdLevel.Vector512, 8)]
    [InlineData(SimdLevel.Vector512, 7)]
    [InlineData(SimdLevel.Vector256, 8)]
    [InlineData(SimdLevel.Vector256, 7)]
    [InlineData(SimdLevel.Scalar, 7)]
    public void Fused_pass_equals_reference(SimdLevel level, int width)
    {
        var old = Simd.Override;
        Simd.Override = level;
        try
        {
            // n·m = 13·8 fills 4- and 8-lane vectors; 13·7 = 91 leaves a tail of 3; layers drawn at scale 0.2, so that the
            // pairs' δ = ΔW h are of order 0.5, the regime the rule is built for (its corrections grow like δ⁴)
            var s = TestSetting.Random(6, 7, width, 5, 13, false, wScale: 0.2);
            var refc = Run(s, reference: true, threads: 1, shift: 0);
            foreach (var (reference, threads) in new[] { (false, 1), (false, 2), (true, 2) })
            {
                var c = Run(s, reference, threads, 0);
                foreach (var ((x, what), (y, _)) in Outputs(c).Zip(Outputs(refc)))
                    for (int i = 0; i < x.Length; i++)
                        Assert.True(BitConverter.DoubleToInt64Bits(x[i]) == BitConverter.DoubleToInt64Bits(y[i]),
                            $"{what}[{i}] ({(reference ? "reference" : "fused")}, {threads} thread(s)): {x[i]:R} vs {y[i]:R}");
            }
            // every pair has entries with |δ̂| ≥ δ* here: their divided differences' rounding (dominated by dq·E₁/δ, about 3·10⁻¹⁰
            // at these norms) is in RoundMW, the rule's error of the others in RW
            Assert.All(refc.RoundMW, x => Assert.True(x > 0 && x < 1e-9, $"RoundMW {x:E3}"));
            Assert.All(refc.RW, x => Assert.True(x > 0, $"RW {x:E3}"));
            // the comparison sees a shift of the start of c^W by 2⁻⁴⁰: the fused pass from it differs
            var moved = Run(s, reference: false, threads: 1, shift: Math.ScaleB(1.0, -40));
            Assert.Contains(Outputs(moved).Zip(Outputs(refc)), p => p.First.X.Where((x, i) => x != p.Second.X[i]).Any());
        }
        finally { Simd.Override = old; }
    }

    [Fact(DisplayName = "CentreKernels512: called directly (software form without AVX-512), vectors of rule, divided and mixed entries → CentreKernels256's outputs and maxima bit for bit, the scalar form at every entry")]
    public void Kernel512_equals_kernel256()
    {
        // the fused kernels do the scalar form's operations in every lane and take maxima, which no order changes, so the two
        // widths agree bit for bit; called directly, the 512-bit kernel runs on any x86 machine. Entries 0..31 have |δ| < δ*
        // (every vector takes the rule alone), 32..63 have |δ| ≥ ½ (the divided differences alone), 64..95 alternate (both,
        // blended lane by lane)
        const int nm = 96;
        var rng = new System.Random(11);
        double[] Draw(double scale) => Enumerable.Range(0, nm).Select(_ => scale * (2 * rng.NextDouble() - 1)).ToArray();
        double Step(int e) => e < 32 || (e >= 64 && e % 2 == 0) ? 0.05 * (2 * rng.NextDouble() - 1) : (rng.Next(2) * 2 - 1) * (0.5 + rng.NextDouble());
        double[] u0 = Draw(4), u1 = u0.Select((x, e) => x + Step(e)).ToArray(), q0 = Draw(1),
            q1 = q0.Select(x => x + 0.05 * (2 * rng.NextDouble() - 1)).ToArray(), cw = Draw(0.1), cv = Draw(0.1);
        double[] Deriv(double[] x) => x.Select(t => Activations.Derivative(ActivationKind.Gelu, t)).ToArray();
        double[] Value(double[] x) => x.Select(t => Activations.Value(ActivationKind.Gelu, t)).ToArray();
        double[] d0 = Deriv(u0), d1 = Deriv(u1), g0 = Value(u0), g1 = Value(u1);
        (double[] Xv, double[] Xw, CentrePass.RuleMaxima S, int Done) Run(bool wide)
        {
            var xv = new double[nm]; var xw = new double[nm];
            var mx = new CentrePass.RuleMaxima();
            int done = wide ? CentreKernels512.Rule(u0, u1, q0, q1, d0, d1, g0, g1, cw, cv, xv, xw, ref mx)
                            : CentreKernels256.Rule(u0, u1, q0, q1, d0, d1, g0, g1, cw, cv, xv, xw, ref mx);
            return (xv, xw, mx, done);
        }
        var a = Run(true); var b = Run(false);
        Assert.Equal(nm, a.Done);
        Assert.Equal(nm, b.Done);
        static long Bits(double x) => BitConverter.DoubleToInt64Bits(x);
        Assert.Equal(b.Xv.Select(Bits), a.Xv.Select(Bits));
        Assert.Equal(b.Xw.Select(Bits), a.Xw.Select(Bits));
        var fa = new[] { a.S.MCW, a.S.MCV, a.S.MQ, a.S.MQC, a.S.MD, a.S.MDQ, a.S.DividedMin };
        var fb = new[] { b.S.MCW, b.S.MCV, b.S.MQ, b.S.MQC, b.S.MD, b.S.MDQ, b.S.DividedMin };
        Assert.Equal(fb.Select(Bits), fa.Select(Bits));
        Assert.All(fa, x => Assert.True(double.IsFinite(x) && x > 0));
        Assert.True(a.S.Divided && b.S.Divided);
        // the rule's largest |δ̂| is among its own entries (< δ*), the divided entries' smallest among theirs (≥ ½ here)
        Assert.True(a.S.MD < CentrePass.DividedAbove, $"MD {a.S.MD}");
        Assert.True(a.S.DividedMin >= 0.5, $"DividedMin {a.S.DividedMin}");
        // and both are the scalar form lane by lane at every entry (φ̂ by CentrePass.RulePhi, the proven exp one entry at a time;
        // the divided differences by CentrePass.DividedEntry)
        int divided = 0;
        for (int e = 0; e < nm; e++)
        {
            double s1, s2;
            if (Math.Abs(u1[e] - u0[e]) >= CentrePass.DividedAbove)
            {
                (s1, s2) = CentrePass.DividedEntry(u0[e], u1[e], q0[e], q1[e], d0[e], d1[e], g0[e], g1[e]);
                divided++;
            }
            else
            {
                double xm = CentrePass.Midpoint(u0[e], u1[e]);
                (s1, s2) = CentrePass.RuleEntry(u0[e], u1[e], q0[e], q1[e], d0[e], d1[e], CentrePass.RulePhi(xm * xm));
            }
            Assert.Equal(Bits(s1 * cw[e]), Bits(a.Xv[e]));
            Assert.Equal(Bits(s2 * cw[e] + s1 * cv[e]), Bits(a.Xw[e]));
        }
        Assert.Equal(48, divided);
    }
    [Fact(DisplayName = "CentreKernels512: NaN and signed zeros among the weights Ĉ_W, Ĉ_V → at both widths the maxima of the scalar rule entry by entry (a NaN never replaces a maximum, −0 never replaces +0)")]
    public void Kernel_maxima_with_NaN_and_zeros()
    {
        // the vector maxima take one vmaxpd/vminpd per accumulator (x > acc ? x : acc); this pins that selection against the
        // scalar Merge where it matters: NaN lanes, zeros of either sign, and a NaN in the first vector, whose accumulators start at +0
        const int nm = 40;
        var rng = new System.Random(5);
        double[] Draw(double scale) => Enumerable.Range(0, nm).Select(_ => scale * (2 * rng.NextDouble() - 1)).ToArray();
        double[] u0 = Draw(3), u1 = u0.Select((x, e) => x + (e % 5 == 4 ? 0.75 : 0.03 * (2 * rng.NextDouble() - 1))).ToArray();
        double[] q0 = Draw(1), q1 = q0.Select(x => x + 0.05 * (2 * rng.NextDouble() - 1)).ToArray(), cw = Draw(0.1), cv = Draw(0.1);
        foreach (int e in new[] { 0, 9, 17, 33 }) cw[e] = double.NaN;
        foreach (int e in new[] { 1, 2, 18 }) cv[e] = -0.0;
        foreach (int e in new[] { 3, 26 }) cv[e] = double.NaN;
        cw[4] = -0.0; q0[7] = q1[7] = 0.0;
        // the largest |Ĉ_W| and |Ĉ_V| in a lane whose later entry is NaN: a selection that let the NaN in would lose them
        cw[1] = 0.5; cw[33] = double.NaN; cv[10] = 0.5; cv[34] = double.NaN;
        double[] d0 = u0.Select(t => Activations.Derivative(ActivationKind.Gelu, t)).ToArray(), d1 = u1.Select(t => Activations.Derivative(ActivationKind.Gelu, t)).ToArray();
        double[] g0 = u0.Select(t => Activations.Value(ActivationKind.Gelu, t)).ToArray(), g1 = u1.Select(t => Activations.Value(ActivationKind.Gelu, t)).ToArray();
        var expected = new CentrePass.RuleMaxima();
        for (int e = 0; e < nm; e++)
        {
            double ad = Math.Abs(u1[e] - u0[e]), acw = Math.Abs(cw[e]);
            double qh = Math.Max(Math.Abs(q0[e]), Math.Abs(q1[e]));
            bool div = ad >= CentrePass.DividedAbove;
            expected.Merge(acw, Math.Abs(cv[e]), qh, qh * acw, div ? 0.0 : ad, Math.Abs(q1[e] - q0[e]));
            if (div) expected.MergeDivided(ad);
        }
        static long Bits(double x) => BitConverter.DoubleToInt64Bits(x);
        static long[] Of(CentrePass.RuleMaxima s) => new[] { s.MCW, s.MCV, s.MQ, s.MQC, s.MD, s.MDQ, s.DividedMin }.Select(Bits).ToArray();
        foreach (bool wide in new[] { true, false })
        {
            var xv = new double[nm]; var xw = new double[nm];
            var mx = new CentrePass.RuleMaxima();
            int done = wide ? CentreKernels512.Rule(u0, u1, q0, q1, d0, d1, g0, g1, cw, cv, xv, xw, ref mx)
                            : CentreKernels256.Rule(u0, u1, q0, q1, d0, d1, g0, g1, cw, cv, xv, xw, ref mx);
            Assert.Equal(nm, done);
            Assert.Equal(Of(expected), Of(mx));
            Assert.True(mx.Divided);
        }
        Assert.All(new[] { expected.MCW, expected.MCV, expected.MQC }, x => Assert.True(double.IsFinite(x) && x > 0));
    }
}
