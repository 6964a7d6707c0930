using ResOdeProofs.Numerics.Blocks;
using ResOdeProofs.Numerics.IO;
using ResOdeProofs.Numerics.Training;

namespace ResOdeProofs.Numerics.Tests;

/// <summary>The one training record of every architecture (<see cref="TrainRecord"/>, its parameters by part in
/// <see cref="Parameters"/>): written to a run directory and read back, each snapshot's parts are the trained ones.</summary>
public sealed class TrainRecordTests : IDisposable
{
    private readonly NpyTestUtil _tmp = new();

    public void Dispose() => _tmp.Dispose();

    /// <summary>The first snapshot, part or entry whose bits differ between the record and the run read back, or null.</summary>
    private static string? FirstDifference(TrainRecord r, RunData back)
    {
        if (r.Snapshots.Count != back.Steps.Length) return $"{r.Snapshots.Count} snapshots written, {back.Steps.Length} read";
        for (int s = 0; s < r.Snapshots.Count; s++)
        {
            var views = r.Block.ParameterLayout.Select(p => p.Name).Select(name => (name, r.Snapshots[s].Part(name), back.Part(name)[s]))
                .Append(("θ", r.Snapshots[s].Theta, back.Theta[s]));
            foreach (var (name, wrote, read) in views)
            {
                if (wrote.Length != read.Length) return $"snapshot {s}, {name}: {wrote.Length} entries written, {read.Length} read";
                for (int i = 0; i < wrote.Length; i++)
                    if (BitConverter.DoubleToInt64Bits(wrote[i]) != BitConverter.DoubleToInt64Bits(read[i]))
                        return $"snapshot {s}, {name}[{i}]: wrote {wrote[i]:R}, read {read[i]:R}";
            }
        }
        return null;
    }

    private RunData WriteAndRead(TrainRecord r, string name)
    {
        var dir = _tmp.File(name);
        RunDirectory.Write(r, dir);
        return RunDirectory.Read(dir);
    }

    public static TheoryData<string, bool> Runs() => new()
    {
        { "mlp", false }, { "mlp", true }, { "one-layer", true }, { "scaled-linear", true }, { "conv", true }, { "glu", true },
    };

    [Theory(DisplayName = "TrainRecord: a run of each architecture (the MLP spelled W and V, and as θ) written and read back → every snapshot's parts and θ bit for bit")]
    [MemberData(nameof(Runs))]
    public void RoundTripsEveryPart(string arch, bool theta)
    {
        var spec = new RunSpec
        {
            Architecture = arch, Theta = theta, Depth = 5, Samples = 6, Dim = 3, Iterations = 6, Snapshots = 3, Init = InitKind.Smooth, Seed = 2,
            Scales = arch == "mlp" ? new[] { 1.0, 0.3 } : null,
        };
        if (arch == "conv") spec = spec with { Channels = 1, Height = 3, ImageWidth = 3 };
        var r = spec.Train();
        Assert.Equal(RunStatus.Completed, r.Status);
        Assert.Equal(arch == "mlp" && !theta, r.SpelledWV);
        Assert.Equal(arch, r.Block.Name);
        var back = WriteAndRead(r, $"{arch}-{theta}");
        Assert.Equal(r.SpelledWV, !File.Exists(Path.Combine(back.Directory, "theta.npy")));
        Assert.Equal(r.Block.ParameterLayout.Select(p => p.Name), back.Architecture.Parts().Select(p => p.Name));
        Assert.Null(FirstDifference(r, back));
    }

    [Fact(DisplayName = "TrainRecord: a run read back with one entry of its parameters changed → the round-trip comparison names that entry")]
    public void ChangedEntryIsFound()
    {
        var r = new RunSpec { Architecture = "one-layer", Depth = 4, Samples = 5, Dim = 3, Iterations = 4, Snapshots = 3, Seed = 1 }.Train();
        var back = WriteAndRead(r, "changed");
        Assert.Null(FirstDifference(r, back));
        back.Theta[2][7] = BitConverter.Int64BitsToDouble(BitConverter.DoubleToInt64Bits(back.Theta[2][7]) ^ 1);
        var changed = new RunData
        {
            Directory = back.Directory, Meta = back.Meta, Architecture = back.Architecture, Depth = back.Depth, Dim = back.Dim, Data = back.Data,
            Activation = back.Activation, Eta = back.Eta, Steps = back.Steps, Theta = back.Theta, Losses = back.Losses, Trace = back.Trace,
        };
        Assert.Equal("snapshot 2, W[7]", FirstDifference(r, changed)?.Split(':')[0]);
    }

    [Fact(DisplayName = "Parameters: θ of the MLP block and its parts W and V → each form rebuilt from the other entry for entry")]
    public void ThetaAndPartsAgree()
    {
        var block = new MlpBlock(3, 4, ActivationKind.Gelu);
        int L = 3, md = 12;
        var w = Enumerable.Range(0, L * md).Select(i => i + 0.25).ToArray();
        var v = Enumerable.Range(0, L * md).Select(i => -i - 0.5).ToArray();
        var byParts = Parameters.FromParts(block, L, w, v);
        var theta = byParts.Theta;
        for (int k = 0; k < L; k++)
        {
            Assert.Equal(w.AsSpan(k * md, md).ToArray(), theta.AsSpan(2 * k * md, md).ToArray());
            Assert.Equal(v.AsSpan(k * md, md).ToArray(), theta.AsSpan((2 * k + 1) * md, md).ToArray());
        }
        var byTheta = Parameters.FromTheta(block, L, theta);
        Assert.Equal(w, byTheta.W);
        Assert.Equal(v, byTheta.Part(1));
    }

    [Fact(DisplayName = "Parameters: a part of the wrong length, or a part the block lacks → refused naming the part")]
    public void WrongPartRefused()
    {
        var block = new MlpBlock(3, 4, ActivationKind.Gelu);
        var e = Assert.Throws<ArgumentException>(() => Parameters.FromParts(block, 2, new double[24], new double[23]));
        Assert.Contains("part V has 23 entries", e.Message);
        Assert.Throws<ArgumentException>(() => Parameters.FromParts(block, 2, new double[24]));
        Assert.Throws<ArgumentException>(() => Parameters.FromTheta(block, 2, new double[47]));
        var ok = Parameters.FromTheta(block, 2, new double[48]);
        Assert.Contains("no part 'b'", Assert.Throws<ArgumentException>(() => ok.Part("b")).Message);
    }

    [Fact(DisplayName = "Parameters: a layout of an architecture this engine lacks, as θ and as parts → each form rebuilt from the other entry for entry; a short part refused")]
    public void LayoutWithoutBlock()
    {
        // three parts of sizes 2, 6 (2×3) and 1: P = 9, layer k's θ = (a_k, M_k, c_k)
        var layout = new (string Name, int[] Shape)[] { ("a", new[] { 2 }), ("M", new[] { 2, 3 }), ("c", new[] { 1 }) };
        int L = 4, P = 9;
        var theta = Enumerable.Range(0, L * P).Select(i => Math.Sqrt(i + 1)).ToArray();
        var byTheta = Parameters.FromTheta(layout, "architecture 'foreign'", L, theta);
        for (int k = 0; k < L; k++)
        {
            Assert.Equal(theta.AsSpan(k * P, 2).ToArray(), byTheta.Part("a").AsSpan(2 * k, 2).ToArray());
            Assert.Equal(theta.AsSpan(k * P + 2, 6).ToArray(), byTheta.Part("M").AsSpan(6 * k, 6).ToArray());
            Assert.Equal(theta[k * P + 8], byTheta.Part("c")[k]);
        }
        var byParts = Parameters.FromParts(layout, "architecture 'foreign'", L, byTheta.Part(0), byTheta.Part(1), byTheta.Part(2));
        Assert.Equal(theta, byParts.Theta);
        var e = Assert.Throws<ArgumentException>(() => Parameters.FromParts(layout, "architecture 'foreign'", L, new double[8], new double[23], new double[4]));
        Assert.Contains("part M has 23 entries", e.Message);
        Assert.Contains("of architecture 'foreign'", Assert.Throws<ArgumentException>(() => Parameters.FromParts(layout, "architecture 'foreign'", L, new double[8])).Message);
    }

    [Fact(DisplayName = "RunData: a foreign architecture's θ → its parts by name; the MLP's W and V → θ, entry for entry; a part it lacks → refused")]
    public void RunDataConvertsThroughParameters()
    {
        var arch = new ArchitectureMetadata { Name = "foreign", Layout = new() { new System.Text.Json.Nodes.JsonArray("a", new System.Text.Json.Nodes.JsonArray(2)), new System.Text.Json.Nodes.JsonArray("c", new System.Text.Json.Nodes.JsonArray(1)) } };
        int L = 3, P = 3;
        var thetas = new[] { Enumerable.Range(0, L * P).Select(i => i + 0.5).ToArray(), Enumerable.Range(0, L * P).Select(i => -1.0 / (i + 1)).ToArray() };
        var data = new Model.Dataset(1, 2, 2, new double[2], new double[2]);
        var fromTheta = new RunData
        {
            Directory = "r", Meta = new RunMetadata(), Data = data, Activation = ActivationKind.Gelu, Eta = 0.1, Steps = new[] { 0, 1 },
            Losses = new[] { 1.0, 0.5 }, Trace = new Dictionary<string, double[]>(), Architecture = arch, Depth = L, Dim = 2, Theta = thetas,
        };
        for (int s = 0; s < 2; s++)
            for (int k = 0; k < L; k++)
            {
                Assert.Equal(thetas[s].AsSpan(k * P, 2).ToArray(), fromTheta.Part("a")[s].AsSpan(2 * k, 2).ToArray());
                Assert.Equal(thetas[s][k * P + 2], fromTheta.Part("c")[s][k]);
            }
        Assert.Contains("has no part 'W'", Assert.Throws<ArgumentException>(() => fromTheta.Part("W")).Message);

        // the MLP with d = 2, m = 1: W_k is 1×2, V_k is 2×1, θ_k = (W_k, V_k)
        var w = new[] { Enumerable.Range(0, 2 * L).Select(i => i + 0.125).ToArray(), Enumerable.Range(0, 2 * L).Select(i => i * 3.0).ToArray() };
        var v = new[] { Enumerable.Range(0, 2 * L).Select(i => -i - 0.75).ToArray(), Enumerable.Range(0, 2 * L).Select(i => 1.0 / (i + 2)).ToArray() };
        var fromParts = new RunData
        {
            Directory = "r", Meta = new RunMetadata(), Data = data, Activation = ActivationKind.Gelu, Eta = 0.1, Steps = new[] { 0, 1 },
            Losses = new[] { 1.0, 0.5 }, Trace = new Dictionary<string, double[]>(), Architecture = ArchitectureMetadata.Mlp(2, 1, ActivationKind.Gelu),
            Depth = L, Dim = 2, W = w, V = v,
        };
        for (int s = 0; s < 2; s++)
            for (int k = 0; k < L; k++)
            {
                Assert.Equal(w[s].AsSpan(2 * k, 2).ToArray(), fromParts.Theta[s].AsSpan(4 * k, 2).ToArray());
                Assert.Equal(v[s].AsSpan(2 * k, 2).ToArray(), fromParts.Theta[s].AsSpan(4 * k + 2, 2).ToArray());
            }
    }
}
