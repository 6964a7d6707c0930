using ResOdeProofs.Numerics.Model;

namespace ResOdeProofs.Numerics.Tests;

/// <summary>
/// The engine's forward pass takes the pre-activations' range (the trace's min/max) inside GELU's pass over them
/// (<see cref="VectorActivations.EvaluateWithRange"/>); it must give the bits of the two separate calls it replaces.
/// </summary>
public sealed class ActivationRangeTests
{
    public static readonly TheoryData<SimdLevel> Levels =
        new(new[] { SimdLevel.Scalar, SimdLevel.Vector256, SimdLevel.Vector512 }.Where(l => l <= Simd.Hardware));

    // Lengths with and without a scalar tail, shorter than one vector, and inputs with NaN, ±0 and ±∞ in vector lanes and tails.
    private static IEnumerable<double[]> Inputs()
    {
        var rng = new System.Random(11);
        foreach (int n in new[] { 0, 1, 3, 7, 8, 9, 16, 37, 3200 })
            yield return Enumerable.Range(0, n).Select(_ => (rng.NextDouble() - 0.5) * 12).ToArray();
        yield return new[] { -0.0, 0.0, 0.0, -0.0, 1, 2, 3, 4, 5, -0.0, 0.0 };
        yield return new[] { double.NaN, 1, -1, double.NaN, 2, double.PositiveInfinity, -3, 4, double.NegativeInfinity, double.NaN, 0.5 };
        yield return Enumerable.Repeat(double.NaN, 19).ToArray();
    }

    [Theory(DisplayName = "VectorActivations.EvaluateWithRange: GELU, any length, NaN and ±0 → the bits of MinMax and Evaluate")]
    [MemberData(nameof(Levels))]
    public void FusedRangeIsBitIdentical(SimdLevel level)
    {
        foreach (var x in Inputs())
        {
            foreach (var act in new[] { ActivationKind.Gelu, ActivationKind.Tanh })
            {
                Check<double>(level, act, x);
                Check<float>(level, act, x.Select(v => (float)v).ToArray());
            }
        }
    }

    [Theory(DisplayName = "VectorActivations.EvaluateWithRanges: GELU, any length, NaN and ±0 → the bits of MinMax of u, of MinMax of σ' and of Evaluate")]
    [MemberData(nameof(Levels))]
    public void FusedRangesAreBitIdentical(SimdLevel level)
    {
        foreach (var x in Inputs().Append(new[] { -0.0, 0.0, double.NaN, -0.0, 0.0, 1e-300, -1e-300, 0.0, -0.0, double.NaN, -40.5, 41.0, -0.0, 0.0, 0.0, -0.0, 7.0 }))
        {
            Checks<double>(level, x);
            Checks<float>(level, x.Select(v => (float)v).ToArray());
        }
    }

    private static void Checks<T>(SimdLevel level, T[] x) where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        var s0 = new T[x.Length]; var sd0 = new T[x.Length];
        var s1 = new T[x.Length]; var sd1 = new T[x.Length];
        double min0 = 0.25, max0 = 0.5, min1 = 0.25, max1 = 0.5, dmin0 = 0.75, dmax0 = 0.8, dmin1 = 0.75, dmax1 = 0.8;
        FastKernels.MinMax<T>(level, x, ref min0, ref max0);
        VectorActivations.Evaluate<T>(level, ActivationKind.Gelu, x, s0, sd0);
        FastKernels.MinMax<T>(level, sd0, ref dmin0, ref dmax0);
        VectorActivations.EvaluateWithRanges<T>(level, ActivationKind.Gelu, x, s1, sd1, ref min1, ref max1, ref dmin1, ref dmax1);
        Assert.Equal(BitConverter.DoubleToInt64Bits(min0), BitConverter.DoubleToInt64Bits(min1));
        Assert.Equal(BitConverter.DoubleToInt64Bits(max0), BitConverter.DoubleToInt64Bits(max1));
        Assert.Equal(BitConverter.DoubleToInt64Bits(dmin0), BitConverter.DoubleToInt64Bits(dmin1));
        Assert.Equal(BitConverter.DoubleToInt64Bits(dmax0), BitConverter.DoubleToInt64Bits(dmax1));
        Assert.True(System.Runtime.InteropServices.MemoryMarshal.AsBytes(sd0.AsSpan()).SequenceEqual(System.Runtime.InteropServices.MemoryMarshal.AsBytes(sd1.AsSpan())), $"{level} σ'");
    }

    [Fact(DisplayName = "VectorActivations.EvaluateWithRange: a range started from a tighter min/max → that min/max kept")]
    public void StartingRangeIsKept()
    {
        double min = -100, max = 100;
        var x = new double[] { 1, 2, 3, 4, 5, 6, 7, 8, 9 };
        VectorActivations.EvaluateWithRange<double>(Simd.Hardware, ActivationKind.Gelu, x, new double[9], new double[9], ref min, ref max);
        Assert.Equal(-100, min);
        Assert.Equal(100, max);
    }

    private static void Check<T>(SimdLevel level, ActivationKind act, T[] x) where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        var s0 = new T[x.Length]; var sd0 = new T[x.Length];
        var s1 = new T[x.Length]; var sd1 = new T[x.Length];
        double min0 = 0.25, max0 = 0.5, min1 = 0.25, max1 = 0.5;
        FastKernels.MinMax<T>(level, x, ref min0, ref max0);
        VectorActivations.Evaluate<T>(level, act, x, s0, sd0);
        VectorActivations.EvaluateWithRange<T>(level, act, x, s1, sd1, ref min1, ref max1);
        Assert.Equal(BitConverter.DoubleToInt64Bits(min0), BitConverter.DoubleToInt64Bits(min1));
        Assert.Equal(BitConverter.DoubleToInt64Bits(max0), BitConverter.DoubleToInt64Bits(max1));
        Assert.True(System.Runtime.InteropServices.MemoryMarshal.AsBytes(s0.AsSpan()).SequenceEqual(System.Runtime.InteropServices.MemoryMarshal.AsBytes(s1.AsSpan())), $"{level} {act} σ");
        Assert.True(System.Runtime.InteropServices.MemoryMarshal.AsBytes(sd0.AsSpan()).SequenceEqual(System.Runtime.InteropServices.MemoryMarshal.AsBytes(sd1.AsSpan())), $"{level} {act} σ'");
    }
}
