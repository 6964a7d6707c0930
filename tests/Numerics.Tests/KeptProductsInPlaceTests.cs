using ResOdeProofs.Numerics.Model;

namespace ResOdeProofs.Numerics.Tests;

/// <summary>
/// With the products kept (<see cref="ResNet{T}.KeptStates.KeepProducts"/>) the engine forms u_k = W_k h_{k−1}, σ'(u_k)
/// and V_kᵀp_k in the kept arrays themselves (no copy afterwards) and reads σ' there in its backward pass: the loss, the
/// gradient and every kept number must be the bits of an evaluation that keeps nothing, of one that keeps only the states,
/// and of the scalar formula products, and a set kept for one iterate must stay untouched while the other set of the
/// replay's pair is filled.
/// </summary>
public sealed class KeptProductsInPlaceTests
{
    private static void SameBits(ReadOnlySpan<double> a, ReadOnlySpan<double> b, string what)
    {
        Assert.Equal(a.Length, b.Length);
        for (int i = 0; i < a.Length; i++)
            Assert.True(BitConverter.DoubleToInt64Bits(a[i]) == BitConverter.DoubleToInt64Bits(b[i]), $"{what}[{i}]: {a[i]:R} vs {b[i]:R}");
    }

    private static bool AnyDiffers(double[] a, double[] b)
    {
        for (int i = 0; i < a.Length; i++) if (BitConverter.DoubleToInt64Bits(a[i]) != BitConverter.DoubleToInt64Bits(b[i])) return true;
        return false;
    }

    [Theory(DisplayName = "ResNet.Keep: products formed in the kept arrays (1, 2, 3 blocks, every width) → loss, gradient and kept states the bits of a plain evaluation, σ and σ' the kernel's at the kept u bit for bit, the kept set of the previous iterate untouched; the same network keeping nothing afterwards → the plain bits")]
    [InlineData(SimdLevel.Vector512)]
    [InlineData(SimdLevel.Vector256)]
    [InlineData(SimdLevel.Scalar)]
    public void ProductsKeptInPlace(SimdLevel level)
    {
        var old = Simd.Override;
        Simd.Override = level;
        try
        {
            var s = TestSetting.Random(6, 7, 8, 5, 13, false, wScale: 0.2);
            int md = s.Shape.LayerSize, L = s.Shape.Depth, n = s.Data.Count, m = s.Shape.Width;
            var w2 = s.W.Select((x, i) => x + 0.01 * Math.Sin(i)).ToArray(); var v2 = s.V.Select((x, i) => x + 0.01 * Math.Cos(i)).ToArray();
            foreach (var act in new[] { ActivationKind.Gelu, ActivationKind.Tanh })
                foreach (int threads in new[] { 1, 2, 3 })
                {
                    var plainNet = new ResNet<double>(s.Shape, act, s.Data, new EngineOptions { Threads = threads }, s.A, s.B);
                    var statesNet = new ResNet<double>(s.Shape, act, s.Data, new EngineOptions { Threads = threads }, s.A, s.B);
                    var net = new ResNet<double>(s.Shape, act, s.Data, new EngineOptions { Threads = threads }, s.A, s.B);
                    var states = new ResNet<double>.KeptStates(s.Shape, n);
                    var setA = new ResNet<double>.KeptStates(s.Shape, n) { KeepProducts = true };
                    var setB = new ResNet<double>.KeptStates(s.Shape, n) { KeepProducts = true };
                    statesNet.Keep = states;
                    foreach (var (w, v, set) in new[] { (s.W, s.V, setA), (w2, v2, setB) })
                    {
                        var gw0 = new double[L * md]; var gv0 = new double[L * md];
                        var gw1 = new double[L * md]; var gv1 = new double[L * md];
                        var gw = new double[L * md]; var gv = new double[L * md];
                        var plain = plainNet.Evaluate(w, v, gw0, gv0);
                        var st1 = statesNet.Evaluate(w, v, gw1, gv1);
                        net.Keep = set;
                        var st = net.Evaluate(w, v, gw, gv);
                        Assert.True(set.ProductsValid);
                        string at = $"{act}, {threads} block(s)";
                        SameBits([plain.Loss, plain.MinPreActivation, plain.MaxPreActivation, plain.MaxHiddenNorm],
                                 [st.Loss, st.MinPreActivation, st.MaxPreActivation, st.MaxHiddenNorm], $"stats ({at})");
                        SameBits(gw0, gw, $"G^W ({at})"); SameBits(gv0, gv, $"G^V ({at})");
                        SameBits(states.H, set.H, $"h ({at})"); SameBits(states.P, set.P, $"p ({at})");
                        SameBits(states.PreMin, set.PreMin, $"pre min ({at})"); SameBits(states.PreMax, set.PreMax, $"pre max ({at})");
                        SameBits(states.DerivativeMax, set.DerivativeMax, $"max σ' ({at})");
                        SameBits(states.AdjointProductMax, set.AdjointProductMax, $"max |Vᵀp| ({at})");
                        // the kept products against their scalar formulas: u = W_k h_{k−1}, g = V_kᵀ p_k (each sum in index order).
                        // Two sums of the same d products in any order are each within γ_d·Σ|terms| of the exact sum (Higham,
                        // 2nd ed., §3.1), so within 2γ_d·Σ|terms| of each other; Σ|terms| formed here is itself within γ_d of
                        // its exact value, hence the factor 1/(1 − γ_d).
                        int d = s.Shape.Dim;
                        double u = Math.ScaleB(1.0, -53), gd = d * u / (1 - d * u), allow = 2 * gd / (1 - gd);
                        for (int k = 1; k <= L; k++)
                            for (int i = 0; i < n; i++)
                                for (int j = 0; j < m; j++)
                                {
                                    double a = 0, g = 0, aAbs = 0, gAbs = 0;
                                    for (int r = 0; r < d; r++)
                                    {
                                        double ta = w[(k - 1) * md + j * d + r] * set.H[((k - 1) * n + i) * d + r];
                                        double tg = v[(k - 1) * md + r * m + j] * set.P[(k * n + i) * d + r];
                                        a += ta; g += tg; aAbs += Math.Abs(ta); gAbs += Math.Abs(tg);
                                    }
                                    double kg = set.AdjointProduct![(k * n + i) * m + j], ku = set.Pre![(k * n + i) * m + j];
                                    Assert.True(Math.Abs(kg - g) <= allow * gAbs, $"Vᵀp at k = {k}, sample {i}, unit {j} ({at}): {kg:R} vs {g:R}");
                                    Assert.True(Math.Abs(ku - a) <= allow * aAbs, $"u at k = {k}, sample {i}, unit {j} ({at}): {ku:R} vs {a:R}");
                                }
                        // σ(u) and σ'(u) kept: the activation kernel of this level applied to the kept u of each layer, bit for bit
                        // (the blocks' rows fill whole vectors here, n_b·8 entries, so one call over the layer is the blocks' calls)
                        var sg = new double[n * m]; var dsg = new double[n * m];
                        for (int k = 1; k <= L; k++)
                        {
                            VectorActivations.Evaluate<double>(level, act, set.Pre.AsSpan(k * n * m, n * m), sg, dsg);
                            SameBits(sg, set.Activation.AsSpan(k * n * m, n * m), $"σ at k = {k} ({at})");
                            SameBits(dsg, set.Derivative.AsSpan(k * n * m, n * m), $"σ' at k = {k} ({at})");
                        }
                    }
                    // the set of the first iterate was not written by the second evaluation: it is what a fresh evaluation at Z1 keeps
                    var again = new ResNet<double>.KeptStates(s.Shape, n) { KeepProducts = true };
                    net.Keep = again;
                    net.Evaluate(s.W, s.V, new double[L * md], new double[L * md]);
                    SameBits(again.Pre!, setA.Pre!, "u of the first iterate"); SameBits(again.Derivative!, setA.Derivative!, "σ' of the first iterate");
                    SameBits(again.AdjointProduct!, setA.AdjointProduct!, "Vᵀp of the first iterate"); SameBits(again.H, setA.H, "h of the first iterate");
                    SameBits(again.Activation!, setA.Activation!, "σ of the first iterate");
                    // the same network keeping nothing again (its own σ, σ' arrays were let go when it first kept products, and are
                    // formed anew): the plain evaluation's bits
                    net.Keep = null;
                    var gwN = new double[L * md]; var gvN = new double[L * md]; var gwP = new double[L * md]; var gvP = new double[L * md];
                    var stN = net.Evaluate(w2, v2, gwN, gvN);
                    var stP = plainNet.Evaluate(w2, v2, gwP, gvP);
                    SameBits([stP.Loss], [stN.Loss], "loss keeping nothing after products");
                    SameBits(gwP, gwN, "G^W keeping nothing after products"); SameBits(gvP, gvN, "G^V keeping nothing after products");
                    // the negative control: the second iterate's products differ from the first's, so the comparisons can see a change
                    Assert.True(AnyDiffers(setA.Pre!, setB.Pre!) && AnyDiffers(setA.Derivative!, setB.Derivative!) && AnyDiffers(setA.AdjointProduct!, setB.AdjointProduct!),
                                "the two iterates' kept products are the same bits: the comparison cannot see a change");
                }
        }
        finally { Simd.Override = old; }
    }

    [Fact(DisplayName = "FastKernels.MultiplyInto: every width, lengths with a partial vector → MultiplyInPlace's bits; a short destination → refused")]
    public void MultiplyIntoMatchesInPlace()
    {
        var rng = new System.Random(3);
        foreach (var level in new[] { SimdLevel.Vector512, SimdLevel.Vector256, SimdLevel.Scalar })
            foreach (int len in new[] { 1, 3, 4, 8, 13, 64 })
            {
                var x = Enumerable.Range(0, len).Select(_ => (rng.NextDouble() - 0.5) * 1e3).ToArray();
                var y = Enumerable.Range(0, len).Select(_ => (rng.NextDouble() - 0.5) * 1e-3).ToArray();
                var z = new double[len];
                FastKernels.MultiplyInto<double>(level, x, y, z);
                var inPlace = (double[])x.Clone();
                FastKernels.MultiplyInPlace<double>(level, inPlace, y);
                SameBits(inPlace, z, $"{level}, length {len}");
            }
        Assert.Throws<ArgumentException>(() => FastKernels.MultiplyInto<double>(SimdLevel.Scalar, new double[4], new double[4], new double[3]));
    }
}
