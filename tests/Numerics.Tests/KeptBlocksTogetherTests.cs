using ResOdeProofs.Numerics.Model;

namespace ResOdeProofs.Numerics.Tests;

/// <summary>
/// An inline evaluation that keeps its states runs its blocks of samples in step (ResNet.RunTogether: the products whose
/// rows are samples over all n rows at once, W_kᵀ and V_kᵀ once per layer). It must give the bits of the schedule before it,
/// the blocks one after another (<see cref="ResNet{T}.BlocksApart"/>, kept in the engine as the reference), and of a
/// two-thread evaluation that keeps nothing: loss, statistics, gradient and every kept number.
/// </summary>
public sealed class KeptBlocksTogetherTests
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

    private static double[] Stats(EvaluationStats st) => [st.Loss, st.MinPreActivation, st.MaxPreActivation, st.MaxHiddenNorm, st.MaxAdjointSum, st.AdjointGrowth];

    [Theory(DisplayName = "ResNet.Evaluate: 2 and 3 blocks inline keeping states, with and without products, GELU and tanh, with A and B, every width → blocks in step give the loss, statistics, gradient and kept numbers of the blocks apart and of two threads; one weight moved by 1e-10 → differs")]
    [InlineData(SimdLevel.Vector512)]
    [InlineData(SimdLevel.Vector256)]
    [InlineData(SimdLevel.Scalar)]
    public void BlocksInStepAreTheBlocksApart(SimdLevel level)
    {
        var old = Simd.Override;
        Simd.Override = level;
        try
        {
            int compared = 0;
            // a small general network (A, B; blocks of 6 and 7 or 4, 4, 5 samples: row tiles cut differently than over all
            // 13) and figure 2's widths on a few layers (blocks of 25 samples: a six-row tile and one row left per block)
            foreach (var s in new[] { TestSetting.Random(21, 5, 8, 5, 13, general: true, wScale: 0.4), TestSetting.Random(22, 3, 64, 16, 50, false, wScale: 0.3, vScale: 0.3) })
            {
                int md = s.Shape.LayerSize, L = s.Shape.Depth, n = s.Data.Count;
                var w2 = s.W.Select((x, i) => x + 0.01 * Math.Sin(i)).ToArray(); var v2 = s.V.Select((x, i) => x + 0.01 * Math.Cos(i)).ToArray();
                foreach (var act in new[] { ActivationKind.Gelu, ActivationKind.Tanh })
                    foreach (int threads in new[] { 2, 3 })
                        foreach (bool products in new[] { false, true })
                        {
                            var options = new EngineOptions { Threads = threads };
                            var together = new ResNet<double>(s.Shape, act, s.Data, options, s.A, s.B) { Inline = true };
                            var apart = new ResNet<double>(s.Shape, act, s.Data, options, s.A, s.B) { Inline = true, BlocksApart = true };
                            var plain = new ResNet<double>(s.Shape, act, s.Data, options, s.A, s.B);
                            if (!together.CanKeep) continue;
                            var setT = new ResNet<double>.KeptStates(s.Shape, n) { KeepProducts = products };
                            var setA = new ResNet<double>.KeptStates(s.Shape, n) { KeepProducts = products };
                            together.Keep = setT; apart.Keep = setA;
                            string at = $"{act}, {threads} blocks, products {products}, L = {L}, n = {n}";
                            foreach (var (w, v) in new[] { (s.W, s.V), (w2, v2) })
                            {
                                var gwT = new double[L * md]; var gvT = new double[L * md];
                                var gwA = new double[L * md]; var gvA = new double[L * md];
                                var gwP = new double[L * md]; var gvP = new double[L * md];
                                var stT = together.Evaluate(w, v, gwT, gvT);
                                var stA = apart.Evaluate(w, v, gwA, gvA);
                                var stP = plain.Evaluate(w, v, gwP, gvP);
                                SameBits(Stats(stA), Stats(stT), $"stats ({at})"); SameBits(Stats(stP), Stats(stT), $"stats against two threads ({at})");
                                SameBits(gwA, gwT, $"G^W ({at})"); SameBits(gvA, gvT, $"G^V ({at})");
                                SameBits(gwP, gwT, $"G^W against two threads ({at})"); SameBits(gvP, gvT, $"G^V against two threads ({at})");
                                SameBits(setA.H, setT.H, $"h ({at})"); SameBits(setA.P, setT.P, $"p ({at})");
                                SameBits(setA.PreMin, setT.PreMin, $"pre min ({at})"); SameBits(setA.PreMax, setT.PreMax, $"pre max ({at})");
                                SameBits(setA.DerivativeMax, setT.DerivativeMax, $"max σ' ({at})");
                                SameBits(setA.AdjointProductMax, setT.AdjointProductMax, $"max |Vᵀp| ({at})");
                                Assert.Equal(products, setT.ProductsValid);
                                if (products)
                                {
                                    SameBits(setA.Pre!, setT.Pre!, $"u ({at})"); SameBits(setA.Derivative!, setT.Derivative!, $"σ' ({at})");
                                    SameBits(setA.AdjointProduct!, setT.AdjointProduct!, $"Vᵀp ({at})");
                                }
                                compared++;
                            }
                            // the control: one weight moved by 1e-10 relative changes the gradient's bits, so the comparisons above can see a change
                            var wMoved = (double[])s.W.Clone();
                            wMoved[md + 3] *= 1 + 1e-10;
                            var gwM = new double[L * md]; var gvM = new double[L * md];
                            var gwR = new double[L * md]; var gvR = new double[L * md];
                            together.Evaluate(wMoved, s.V, gwM, gvM);
                            apart.Evaluate(s.W, s.V, gwR, gvR);
                            Assert.True(AnyDiffers(gwM, gwR) || AnyDiffers(gvM, gvR), $"1e-10 in one weight of W_2 left the gradient's bits unchanged: the comparison cannot see a change ({at})");
                        }
            }
            Assert.True(compared >= 8, $"only {compared} evaluations could keep their states: the schedule was hardly compared");
        }
        finally { Simd.Override = old; }
    }
}
