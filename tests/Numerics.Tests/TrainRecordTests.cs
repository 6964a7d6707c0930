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
            var views = r.Snapshots[s].PartNames.Select(name => (name, r.Snapshots[s].Part(name), back.Part(name)[s]))
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
        Assert.Equal(r.Snapshots[0].PartNames, back.Architecture.Parts().Select(p => p.Name));
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
}
