using ResOdeProofs.Numerics.Model;
using ResOdeProofs.Numerics.Verification;

namespace ResOdeProofs.Numerics.Tests;

/// <summary>
/// The states an engine evaluation keeps for the split pass (ResNet.Keep) against the split pass' own forward and
/// backward pass: every pair quantity and E_k the same bits, for one and several blocks of samples and at every
/// kernel width; and keeping changes nothing the evaluation returns.
/// </summary>
public sealed class KeptStatesTests
{
    private static void SameBits(double[] a, double[] b, string what)
    {
        Assert.Equal(a.Length, b.Length);
        for (int i = 0; i < a.Length; i++)
            Assert.True(BitConverter.DoubleToInt64Bits(a[i]) == BitConverter.DoubleToInt64Bits(b[i]), $"{what}[{i}]: {a[i]:R} vs {b[i]:R}");
    }

    private static double[] Embedded(TestSetting s)
    {
        int n = s.Data.Count, d = s.Shape.Dim, dIn = s.Shape.InputDim;
        var h0 = new double[n * d];
        for (int i = 0; i < n; i++)
            for (int r = 0; r < d; r++)
            {
                if (s.A is null) { h0[i * d + r] = s.Data.X[i * dIn + r]; continue; }
                double acc = 0;
                for (int c = 0; c < dIn; c++) acc += s.A[r * dIn + c] * s.Data.X[i * dIn + c];
                h0[i * d + r] = acc;
            }
        return h0;
    }

    private static double[][] Quantities(PairQuantities q) =>
        new[] { q.EW, q.EV, q.Lo, q.Hi, q.LoF, q.HiF, q.D1Hat, q.D1K, q.GHatInf, q.G1Inf, q.HS, q.PS1, q.PS, q.X, q.Y, q.DGW, q.DGV, q.PF1, q.PF, q.DHF, q.DHS, q.SHatS };

    [Theory(DisplayName = "SplitPass: the engine's kept states (1, 2 or 3 blocks of samples, every width) → the pass' own quantities bit for bit; blocks with a partial vector → not kept")]
    [InlineData(SimdLevel.Vector512)]
    [InlineData(SimdLevel.Vector256)]
    [InlineData(SimdLevel.Scalar)]
    public void KeptStatesGiveTheSameBits(SimdLevel level)
    {
        var old = Simd.Override;
        Simd.Override = level;
        try
        {
            // width 8: every block's n_b·m fills whole vectors; width 9 with 13 samples: only one block does
            foreach (var (general, width) in new[] { (false, 8), (true, 8), (false, 9), (true, 9) })
            {
                var s = TestSetting.Random(general ? 5 : 6, 7, width, 5, 13, general);
                var act = ActivationKind.Gelu;
                int md = s.Shape.LayerSize, L = s.Shape.Depth, n = s.Data.Count;
                foreach (int threads in new[] { 1, 2, 3 })
                {
                    var net = new ResNet<double>(s.Shape, act, s.Data, new EngineOptions { Threads = threads }, s.A, s.B);
                    var gw0 = new double[L * md]; var gv0 = new double[L * md];
                    var plain = net.Evaluate(s.W, s.V, gw0, gv0);
                    Assert.Null(plain.Kept);
                    var kept = new ResNet<double>.KeptStates(s.Shape, n);
                    bool fills = level == SimdLevel.Scalar || width == 8 || threads == 1;
                    Assert.Equal(fills, net.CanKeep);
                    if (!fills) { Assert.Throws<InvalidOperationException>(() => net.Keep = kept); continue; }
                    net.Keep = kept;
                    var gw = new double[L * md]; var gv = new double[L * md];
                    var st = net.Evaluate(s.W, s.V, gw, gv);
                    Assert.Same(kept, st.Kept);
                    // keeping changes no number the evaluation returns
                    SameBits(gw0, gw, "G^W"); SameBits(gv0, gv, "G^V");
                    SameBits(new[] { plain.Loss, plain.MaxHiddenNorm, plain.MaxAdjointSum, plain.AdjointGrowth, plain.MinPreActivation, plain.MaxPreActivation },
                             new[] { st.Loss, st.MaxHiddenNorm, st.MaxAdjointSum, st.AdjointGrowth, st.MinPreActivation, st.MaxPreActivation }, "stats");

                    var own = new SplitPass(s.Shape, act, n, Embedded(s), s.Data.Y, s.B);
                    own.Evaluate(s.W, s.V, gw, gv, withForcing: true);
                    var fromKept = new SplitPass(s.Shape, act, n, Embedded(s), s.Data.Y, s.B);
                    fromKept.EvaluateKept(s.W, s.V, gw, gv, kept, withForcing: true);
                    var a = Quantities(own.Pairs); var b = Quantities(fromKept.Pairs);
                    for (int i = 0; i < a.Length; i++) SameBits(a[i], b[i], $"pair quantity {i} ({threads} block(s), general {general})");
                    SameBits(own.EW, fromKept.EW, "E^W"); SameBits(own.EV, fromKept.EV, "E^V");
                    Assert.All(a[0], x => Assert.True(x > 0));   // E_k is not trivially zero in this setting
                }
            }
        }
        finally { Simd.Override = old; }
    }

    [Theory(DisplayName = "SplitPass.Evaluate: u_k, σ(u_k), σ'(u_k) formed again in the backward pass (StoresLayers false) → every pair quantity, E_k, the summed gradient, the states and adjoints the stored pass' bits, every width; the pass allocates its three per-layer arrays once instead of L + 1 times")]
    [InlineData(SimdLevel.Vector512)]
    [InlineData(SimdLevel.Vector256)]
    [InlineData(SimdLevel.Scalar)]
    public void ProductsFormedAgainGiveTheSameBits(SimdLevel level)
    {
        var old = Simd.Override;
        Simd.Override = level;
        try
        {
            foreach (var (general, act) in new[] { (false, ActivationKind.Gelu), (true, ActivationKind.Tanh), (true, ActivationKind.Softplus) })
            {
                var s = TestSetting.Random(general ? 15 : 16, 9, 8, 5, 13, general);
                int n = s.Data.Count, L = s.Shape.Depth, nm = n * s.Shape.Width;
                var stored = new SplitPass(s.Shape, act, n, Embedded(s), s.Data.Y, s.B);
                Assert.True(stored.StoresLayers);   // 3·(L + 1)·n·m doubles far below the engine's storage budget
                var again = new SplitPass(s.Shape, act, n, Embedded(s), s.Data.Y, s.B);
                // each pass evaluated once in the other mode first: its state and adjoint arrays (placed on 64-byte boundaries
                // by AlignedArrays, whose attempts allocate as many bytes as the heap's layout of the moment asks: 8 KB more
                // for one pass than the other in a full test run) exist before the measured evaluation, which then allocates
                // only its per-layer arrays for u, σ(u), σ'(u): L + 1 sets when stored, one set when formed again
                stored.StoresLayers = false;
                stored.Evaluate(s.W, s.V, [], [], withForcing: true);
                stored.StoresLayers = true;
                again.Evaluate(s.W, s.V, [], [], withForcing: true);
                again.StoresLayers = false;
                long a0 = GC.GetAllocatedBytesForCurrentThread();
                stored.Evaluate(s.W, s.V, [], [], withForcing: true);
                long a1 = GC.GetAllocatedBytesForCurrentThread();
                again.Evaluate(s.W, s.V, [], [], withForcing: true);
                long a2 = GC.GetAllocatedBytesForCurrentThread();
                // 3·L·n·m doubles fewer when the products are formed again
                Assert.True((a1 - a0) - (a2 - a1) >= 3L * L * nm * sizeof(double), $"stored {a1 - a0} B, formed again {a2 - a1} B");
                var a = Quantities(stored.Pairs); var b = Quantities(again.Pairs);
                for (int i = 0; i < a.Length; i++) SameBits(a[i], b[i], $"pair quantity {i} ({act})");
                SameBits(stored.EW, again.EW, "E^W"); SameBits(stored.EV, again.EV, "E^V");
                SameBits(stored.GW, again.GW, "G^W"); SameBits(stored.GV, again.GV, "G^V");
                SameBits(stored.LastStates!, again.LastStates!, "h"); SameBits(stored.LastAdjoints!, again.LastAdjoints!, "p");
                SameBits([stored.Loss], [again.Loss], "loss");
                Assert.All(a[0], x => Assert.True(x > 0));
                // a second evaluation at other weights reuses the arrays and still agrees
                var w2 = s.W.Select((x, i) => x + 0.01 * Math.Sin(i)).ToArray();
                stored.Evaluate(w2, s.V, [], [], withForcing: false);
                again.Evaluate(w2, s.V, [], [], withForcing: false);
                SameBits(stored.GW, again.GW, "G^W at the second weights"); SameBits(stored.EW, again.EW, "E^W at the second weights");
            }
        }
        finally { Simd.Override = old; }
    }

    [Fact(DisplayName = "ResNet.Keep: with checkpointing → refused (the states are not all stored)")]
    public void KeepNeedsAllStates()
    {
        var s = TestSetting.Random(3, 8, 4, 3, 5, general: false);
        var net = new ResNet<double>(s.Shape, ActivationKind.Gelu, s.Data, new EngineOptions { CheckpointSegment = 3 }, s.A, s.B);
        Assert.False(net.CanKeep);
        Assert.Throws<InvalidOperationException>(() => net.Keep = new ResNet<double>.KeptStates(s.Shape, s.Data.Count));
    }
}
