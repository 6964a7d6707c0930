using ResOdeProofs.Numerics.Model;
using ResOdeProofs.Numerics.Training;

namespace ResOdeProofs.Numerics.Tests;

/// <summary>The memory estimate that lets `train` refuse a setting before allocating it.</summary>
public sealed class MemoryEstimateTests
{
    private static long Bytes(int L, int m, int n, TrainOptions o) => MemoryEstimate.Mlp(new NetworkShape(L, m, 16, 16, 16), n, o).Bytes;

    [Fact(DisplayName = "memory estimate: every option the refusal recommends → estimate smaller")]
    public void EveryOptionThatTheRefusalRecommendsMakesTheEstimateSmaller()
    {
        var o = new TrainOptions(ActivationKind.Gelu, 0.01, 100) { Checkpoint = 0 };
        long full = Bytes(16384, 32, 100, o);
        Assert.True(Bytes(16384, 32, 100, o with { Checkpoint = 128 }) < full);
        Assert.True(Bytes(16384, 32, 100, o with { Float32 = true }) < full);
        Assert.True(Bytes(16384, 32, 100, o with { Snapshots = 2 }) < full);
        Assert.True(Bytes(8192, 32, 100, o) < full);
        Assert.True(Bytes(16384, 16, 100, o) < full);
        Assert.True(Bytes(16384, 32, 50, o) < full);
    }

    [Fact(DisplayName = "MemoryEstimate: L = 16384 without checkpointing → counts the stored activations and the snapshots")]
    public void TheEstimateCountsTheStoredActivationsAndTheSnapshots()
    {
        // L = 16384, m = 32, d = 16, n = 100: without checkpointing the activations alone are (d + 2m)·n·L doubles = 1.05 GB.
        var o = new TrainOptions(ActivationKind.Gelu, 0.01, 100) { Checkpoint = 0, Snapshots = 2 };
        long activations = (16L + 2 * 32) * 100 * 16384 * 8;
        long p = 16384L * 32 * 16;
        Assert.InRange(Bytes(16384, 32, 100, o), activations + 2 * 4 * p * 8, activations + 20 * p * 8 + MemoryEstimate.RuntimeBytes + (1L << 20));
    }

    [Fact(DisplayName = "memory estimate: setting beyond the machine → refused with the estimate and the remedy")]
    public void ASettingBeyondTheMachineIsRefusedWithTheEstimateAndTheRemedy()
    {
        var e = Assert.Throws<ArgumentException>(() => MemoryEstimate.Require(MemoryEstimate.Available() + 1, 10, "this setting", "use less"));
        Assert.Contains("GiB", e.Message);
        Assert.Contains("use less", e.Message);
        var big = Assert.Throws<ArgumentException>(() => MemoryEstimate.Require(1, (long)Array.MaxLength + 1, "this setting", "use less"));
        Assert.Contains("array", big.Message);
        MemoryEstimate.Require(1 << 20, 1000, "a small setting", "nothing"); // fits: no exception
    }
}
