using ResOdeProofs.Numerics.Blocks;
using ResOdeProofs.Numerics.IO;
using ResOdeProofs.Numerics.Model;
using ResOdeProofs.Numerics.Training;

namespace ResOdeProofs.Numerics.Tests;

/// <summary>The generic engine (Blocks/): agreement with the fast MLP engine, exact gradients, trace and run directories.</summary>
public class BlockEngineTests
{
    /// <summary>θ_k = (W_k, V_k) from the fast engine's separate W (L×m×d) and V (L×d×m).</summary>
    private static double[] Interleave(double[] w, double[] v, int L, int md)
    {
        var t = new double[2 * L * md];
        for (int k = 0; k < L; k++) { w.AsSpan(k * md, md).CopyTo(t.AsSpan(2 * k * md)); v.AsSpan(k * md, md).CopyTo(t.AsSpan(2 * k * md + md)); }
        return t;
    }

    [Theory(DisplayName = "MlpBlock: the generic pass along a fast-engine run → the fast engine's loss, gradient and adjoint growth")]
    [InlineData(ActivationKind.Gelu, false, null)]
    [InlineData(ActivationKind.Tanh, true, null)]
    [InlineData(ActivationKind.Softplus, false, 0.5)]
    public void MlpBlockReproducesTheFastEngine(ActivationKind act, bool general, double? clip)
    {
        // the MLP block trains on the fast kernels; its own Forward/Backward (the generic pass) must still agree with them
        var s = TestSetting.Random(7, depth: 6, width: 5, dim: 4, n: 9, general);
        var opts = new TrainOptions(act, 0.02, 15) { Clip = clip, Snapshots = 3 };
        var fast = Trainer.Train(s.Shape, s.Data, Initialization.FromArrays(s.Shape, s.W, s.V, "test"), opts, 0, "test", s.A, s.B);
        var block = new MlpBlock(4, 5, act);
        var generic = new GenericResNet(block, 6, s.Data, s.A, s.B);
        var engine = new ResNet<double>(s.Shape, act, s.Data, s.A, s.B);
        for (int q = 0; q < fast.Snapshots.Count; q++)
        {
            var w = fast.Snapshots[q].W; var v = fast.Snapshots[q].V;
            var g = new double[2 * w.Length]; var gw = new double[w.Length]; var gv = new double[v.Length];
            var sg = generic.Evaluate(Interleave(w, v, 6, 20), g); var sf = engine.Evaluate(w, v, gw, gv);
            double lg = sg.Loss, lf = sf.Loss;
            Assert.True(Math.Abs(lg - lf) <= 1e-12 * Math.Max(1, lf), $"loss at snapshot {q}: {lg} vs {lf}");
            // the adjoints' growth down the layers, measured by both passes
            Assert.True(Math.Abs(sg.AdjointGrowth - sf.AdjointGrowth) <= 1e-12 * sf.AdjointGrowth, $"adjoint growth at snapshot {q}: {sg.AdjointGrowth} vs {sf.AdjointGrowth}");
            var gf = Interleave(gw, gv, 6, 20);
            for (int i = 0; i < g.Length; i++) Assert.True(Math.Abs(g[i] - gf[i]) <= 1e-10 * Math.Max(1, Math.Abs(gf[i])), $"G[{i}] at snapshot {q}: {g[i]} vs {gf[i]}");
        }
    }

    [Theory(DisplayName = "ThetaTrainer: the MLP block → the fast engine's losses and parameters bit for bit")]
    [InlineData(false, 1, null)]
    [InlineData(true, 1, 0.5)]
    [InlineData(false, 2, 0.5)]
    [InlineData(true, 2, null)]
    public void MlpBlockRunsOnTheFastEngine(bool float32, int threads, double? clip)
    {
        var s = TestSetting.Random(11, depth: 6, width: 5, dim: 4, n: 9, general: true);
        var opts = new TrainOptions(ActivationKind.Gelu, 0.02, 12) { Clip = clip, Snapshots = 4, Float32 = float32, Threads = threads };
        var fast = Trainer.Train(s.Shape, s.Data, Initialization.FromArrays(s.Shape, s.W, s.V, "test"), opts, 0, "test", s.A, s.B);
        var block = new MlpBlock(4, 5, ActivationKind.Gelu);
        var run = ThetaTrainer.Train(block, 6, s.Data, Initialization.FromArrays(s.Shape, s.W, s.V, "test"), opts, 0, "test",
            new Dictionary<string, double> { ["width"] = 5 }, s.A, s.B);
        Assert.Equal(fast.Losses, run.Losses);
        Assert.Equal(fast.Trace["step_max"], run.Trace["step_max"]);
        Assert.Equal(fast.SnapshotSteps, run.SnapshotSteps);
        for (int q = 0; q < fast.Snapshots.Count; q++)
            Assert.Equal(Interleave(fast.Snapshots[q].W, fast.Snapshots[q].V, 6, 20), run.Snapshots[q].Theta);
        var meta = RunDirectory.Metadata(run);
        Assert.Equal(threads, meta.Threads);
        Assert.Equal(float32 ? "float32" : "float64", meta.Precision);
    }

    private static double Loss(IResidualBlock block, int L, Dataset data, double[] theta) =>
        new GenericResNet(block, L, data).Evaluate(theta, Span<double>.Empty).Loss;

    /// <summary>G_k = L·∂ℓ/∂θ_k against central differences (step 1e-6: truncation O(h²·ℓ''') ≈ 1e-12, rounding ≈ 1e-16/1e-6 = 1e-10).</summary>
    /// <summary>Every architecture of the catalog (a new one is checked without editing this file) with each smooth σ.</summary>
    public static IEnumerable<object[]> CatalogBlocks() =>
        from e in BlockCatalog.All
        from act in new[] { ActivationKind.Gelu, ActivationKind.Tanh, ActivationKind.Softplus }
        select new object[] { e.Name, act };

    [Theory(DisplayName = "block gradient: every catalog block → matches finite differences")]
    [MemberData(nameof(CatalogBlocks))]
    public void GradientMatchesFiniteDifferences(string arch, ActivationKind act)
    {
        var (d, hyper) = BlockCatalog.Find(arch).TestShape;
        int L = 5, n = 4;
        var block = BlockCatalog.Create(arch, d, act, hyper);
        var rng = new System.Random(3);
        var data = new Dataset(n, d, d, TestRandom.Gaussian(rng, n * d), TestRandom.Gaussian(rng, n * d));
        var theta = TestRandom.Gaussian(rng, L * block.ParameterCount, 0.7);
        var g = new double[theta.Length];
        new GenericResNet(block, L, data).Evaluate(theta, g);
        const double h = 1e-6;
        for (int i = 0; i < theta.Length; i++)
        {
            var tp = (double[])theta.Clone(); tp[i] += h;
            var tm = (double[])theta.Clone(); tm[i] -= h;
            double fd = L * (Loss(block, L, data, tp) - Loss(block, L, data, tm)) / (2 * h);
            Assert.True(Math.Abs(fd - g[i]) <= 1e-6 * Math.Max(1, Math.Abs(g[i])), $"{arch} parameter {i}: backprop {g[i]}, finite differences {fd}");
        }
    }

    [Fact(DisplayName = "OneLayerBlock.Forward: any input → σ of the affine map")]
    public void OneLayerBlockForwardIsSigmaOfAffine()
    {
        var block = new OneLayerBlock(2, ActivationKind.Tanh);
        double[] theta = { 1, 2, 3, 4, 0.5, -0.5 }, h = { 0.1, 0.2 };
        var o = new double[2]; var c = new double[block.CacheSize(1)];
        block.Forward(theta, h, o, c, 1);
        Assert.Equal(Math.Tanh(0.1 + 0.4 + 0.5), o[0], 15);
        Assert.Equal(Math.Tanh(0.3 + 0.8 - 0.5), o[1], 15);
    }

    [Fact(DisplayName = "block initializations: tied, smooth, iid → their stated smoothness")]
    public void InitializationsHaveTheirStatedSmoothness()
    {
        var block = new OneLayerBlock(3, ActivationKind.Gelu);
        var scales = new[] { 1.0, 0.3 };
        var tied = BlockInitialization.Tied(block, 8, 1, scales);
        Assert.Equal(0.0, BlockInitialization.MaxIncrement(tied.Theta, 8, block.ParameterCount));
        foreach (int L in new[] { 4, 16, 64 })
        {
            var sm = BlockInitialization.Smooth(block, L, 1, scales, 3);
            Assert.True(BlockInitialization.MaxIncrement(sm.Theta, L, block.ParameterCount) <= sm.Info.LipschitzTheta!.Value / L * (1 + 1e-12));
        }
        // The same function for every depth: layer L/2 at depth L and layer L at depth 2L are both θ⁰(1/2).
        var a = BlockInitialization.Smooth(block, 4, 1, scales); var b = BlockInitialization.Smooth(block, 8, 1, scales);
        int P = block.ParameterCount;
        for (int i = 0; i < P; i++) Assert.Equal(a.Theta[1 * P + i], b.Theta[3 * P + i], 14);
        Assert.Null(BlockInitialization.Iid(block, 8, 1, scales).Info.LipschitzTheta);
    }

    [Fact(DisplayName = "ThetaTrainer: a diverging step → status diverged recorded")]
    public void DivergenceIsRecorded()
    {
        var spec = new RunSpec { Architecture = "one-layer", Depth = 4, Dim = 3, Samples = 5, Eta = 1e6, Iterations = 30, Init = InitKind.Iid, Scales = new[] { 3.0, 1.0 } };
        var r = spec.Train();
        Assert.Equal(RunStatus.Diverged, r.Status);
        Assert.NotNull(r.DivergenceReason);
        Assert.True(r.Losses.Length < 31);
    }

    [Theory(DisplayName = "RunDirectory: a one-layer run whose layout lists its parts in another order, renamed or reshaped → refused, naming the block's parts (the replay read θ by the catalog's order, the constants by name; renamed parts ended as tool errors)")]
    [InlineData("[[\"b\", [3]], [\"W\", [3, 3]]]")]
    [InlineData("[[\"weight\", [3, 3]], [\"bias\", [3]]]")]
    [InlineData("[[\"W\", [1, 9]], [\"b\", [3]]]")]
    public void ALayoutOtherThanTheBlocksIsRefused(string layout)
    {
        var e = RefusedWithRunJson(node => node["architecture"]!["layout"] = System.Text.Json.Nodes.JsonNode.Parse(layout));
        Assert.Contains("has the parts [W (3×3), b (3)] in this order", e.Message);
    }

    /// <summary>A small one-layer run written, its run.json edited, and the reader's refusal of it.</summary>
    private static RunFormatException RefusedWithRunJson(Action<System.Text.Json.Nodes.JsonNode> edit)
    {
        var spec = new RunSpec { Architecture = "one-layer", Depth = 6, Dim = 3, Samples = 5, Iterations = 4, Snapshots = 3, Init = InitKind.Smooth };
        var dir = Path.Combine(Path.GetTempPath(), "blockjson-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            RunDirectory.Write(spec.Train(), dir);
            string json = Path.Combine(dir, "run.json");
            var node = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(json))!;
            edit(node);
            File.WriteAllText(json, node.ToJsonString());
            return Assert.Throws<RunFormatException>(() => RunDirectory.Read(dir));
        }
        finally { if (Directory.Exists(dir)) Directory.Delete(dir, true); }
    }

    [Theory(DisplayName = "RunDirectory: a glu run whose architecture or per-part constants do not build its block (layout missing, width missing, fractional or misspelt, a hyper-parameter it has not, a constant for a part it has not) → refused before θ is read, naming what is wrong (they ended as tool errors or as silently unmet hypotheses)")]
    [InlineData("a.Remove(\"layout\")", "\"architecture.layout\" is missing or empty; the 'glu' block with d = 3 has the parts [W (4×3), U (4×3), V (3×4)]")]
    [InlineData("h.Remove(\"width\")", "\"architecture.hyper\" lacks width")]
    [InlineData("h[\"width\"] = 4.5", "gives width = 4.5;")]
    [InlineData("h[\"widht\"] = 4", "gives widht, which the 'glu' block does not have; its hyper-parameters: width")]
    [InlineData("h[\"channels\"] = 2", "gives channels, which the 'glu' block does not have")]
    [InlineData("lip[\"w\"] = 1", "\"init.lipschitz_parts\" names w, which is not a part of the 'glu' block (its parts: W, U, V)")]
    [InlineData("scales[\"Q\"] = 1", "\"init.scales\" names Q, which is not a part")]
    public void AnArchitectureThatDoesNotBuildTheBlockIsRefused(string edit, string expected)
    {
        var spec = new RunSpec { Architecture = "glu", Depth = 4, Dim = 3, Samples = 5, Iterations = 2, Snapshots = 2, Init = InitKind.Tied, Width = 4 };
        var dir = Path.Combine(Path.GetTempPath(), "blockhyper-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            RunDirectory.Write(spec.Train(), dir);
            Assert.Equal("glu", RunDirectory.Read(dir).Block!.Name);   // the run as written is read
            string json = Path.Combine(dir, "run.json");
            var node = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(json))!;
            var a = node["architecture"]!.AsObject();
            var h = a["hyper"]!.AsObject();
            var init = node["init"]!.AsObject();
            switch (edit)
            {
                case "a.Remove(\"layout\")": a.Remove("layout"); break;
                case "h.Remove(\"width\")": h.Remove("width"); break;
                case "h[\"width\"] = 4.5": h["width"] = 4.5; break;
                case "h[\"widht\"] = 4": h["widht"] = 4; break;
                case "h[\"channels\"] = 2": h["channels"] = 2; break;
                case "lip[\"w\"] = 1": (init["lipschitz_parts"] ??= new System.Text.Json.Nodes.JsonObject()).AsObject()["w"] = 1; break;
                case "scales[\"Q\"] = 1": (init["scales"] ??= new System.Text.Json.Nodes.JsonObject()).AsObject()["Q"] = 1; break;
                default: throw new ArgumentException(edit);
            }
            File.WriteAllText(json, node.ToJsonString());
            var e = Assert.Throws<RunFormatException>(() => RunDirectory.Read(dir));
            Assert.Contains(expected, e.Message);
        }
        finally { if (Directory.Exists(dir)) Directory.Delete(dir, true); }
    }

    [Fact(DisplayName = "RunDirectory: a one-layer run written and read back → its parts by name, θ, losses and block")]
    public void RunDirectoryRoundTrip()
    {
        var spec = new RunSpec { Architecture = "one-layer", Depth = 6, Dim = 3, Samples = 5, Iterations = 4, Snapshots = 3, Init = InitKind.Smooth };
        var r = spec.Train();
        var dir = Path.Combine(Path.GetTempPath(), "blockrun-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            RunDirectory.Write(r, dir);
            Assert.True(File.Exists(Path.Combine(dir, "theta.npy")));
            var back = RunDirectory.Read(dir);
            Assert.Equal("one-layer", back.Architecture.Name);
            Assert.False(back.IsMlp);
            Assert.Equal(new[] { ("W", new[] { 3, 3 }), ("b", new[] { 3 }) }.Select(p => p.Item1), back.Architecture.Parts().Select(p => p.Name));
            Assert.Equal(r.Snapshots[^1].Theta, back.Theta[^1]);
            // part b of layer k is the last 3 entries of θ_k (layout W (3, 3), b (3))
            for (int k = 0; k < 6; k++) Assert.Equal(r.Snapshots[^1].Theta.AsSpan(k * 12 + 9, 3).ToArray(), back.Part("b")[^1].AsSpan(k * 3, 3).ToArray());
            Assert.Equal(r.Losses, back.Losses);
            Assert.NotNull(back.Meta.Init.LipschitzParts);
            Assert.NotNull(back.Block);
            Assert.Throws<ArgumentException>(() => back.Part("V"));
        }
        finally { if (Directory.Exists(dir)) Directory.Delete(dir, true); }
    }

    [Fact(DisplayName = "RunDirectory: a one-layer run whose run.json says depth 5 against theta.npy's 6 → refused, the advice naming theta.npy (it named w.npy, which a block run does not have)")]
    public void DepthMismatchNamesThetaNpy()
    {
        var e = RefusedWithRunJson(node => node["depth"] = 5);
        Assert.Contains("but run.json says depth = 5; fix theta.npy or run.json", e.Message);
    }

    [Fact(DisplayName = "RunDirectory: an MLP run read back → parts W and V as in w.npy and v.npy, θ_k = (W_k, V_k)")]
    public void MlpRunHasPartsWAndV()
    {
        var r = new RunSpec { Depth = 3, Width = 4, Dim = 2, Samples = 5, Iterations = 2, Snapshots = 2 }.Train();
        var dir = Path.Combine(Path.GetTempPath(), "mlprun-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            RunDirectory.Write(r, dir);
            var back = RunDirectory.Read(dir);
            Assert.True(back.IsMlp);
            Assert.Equal(new[] { "W", "V" }, back.Architecture.Parts().Select(p => p.Name));
            Assert.Equal(r.Snapshots[^1].W, back.Part("W")[^1]);
            Assert.Equal(r.Snapshots[^1].V, back.V[^1]);
            Assert.Equal(16, back.ParameterCount);
            // layer 1 of θ: W_1 (4×2) then V_1 (2×4)
            Assert.Equal(r.Snapshots[^1].W.AsSpan(8, 8).ToArray(), back.Theta[^1].AsSpan(16, 8).ToArray());
            Assert.Equal(r.Snapshots[^1].V.AsSpan(8, 8).ToArray(), back.Theta[^1].AsSpan(24, 8).ToArray());
            Assert.IsType<MlpBlock>(back.Block);
        }
        finally { if (Directory.Exists(dir)) Directory.Delete(dir, true); }
    }
}
