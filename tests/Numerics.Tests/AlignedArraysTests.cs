using ResOdeProofs.Numerics.Model;
using Xunit.Abstractions;

namespace ResOdeProofs.Numerics.Tests;

/// <summary>
/// <see cref="AlignedArrays"/>: the engine's and the observer's working arrays on 64-byte boundaries (a speed matter only:
/// the same operations on the same values, which the GEMM's tile tests and the runs of both layouts check bit for bit).
/// </summary>
public sealed class AlignedArraysTests
{
    private readonly ITestOutputHelper _out;
    public AlignedArraysTests(ITestOutputHelper output) => _out = output;

    [Fact(DisplayName = "AlignedArrays.Create: 144 arrays of 1 KiB to 1 MiB of doubles and floats → the requested length, zeroed, all but at most 6 on a 64-byte boundary; larger ones the requested length, zeroed; below 1 KiB an ordinary array")]
    public void ArraysStartOnALine()
    {
        int aligned = 0, total = 0;
        var keep = new List<Array>();
        void Count(Array a, int offset, string what)
        {
            if (offset == 0) aligned++; else _out.WriteLine($"{what} at offset {offset}");
            total++;
            keep.Add(a);
        }
        foreach (int len in new[] { 128, 800, 1000, 3200, 65_536, 131_072 })
            for (int t = 0; t < 12; t++)
            {
                var a = AlignedArrays.Create<double>(len);
                Assert.Equal(len, a.Length);
                Assert.All(a, x => Assert.Equal(0.0, x));
                Count(a, AlignedArrays.Offset(a), $"double[{len}]");
            }
        foreach (int len in new[] { 256, 6400, 100_001 })
            for (int t = 0; t < 24; t++)
            {
                var a = AlignedArrays.Create<float>(len);
                Assert.Equal(len, a.Length);
                Assert.All(a, x => Assert.Equal(0f, x));
                Count(a, AlignedArrays.Offset(a), $"float[{len}]");
            }
        Assert.Equal(144, total);
        Assert.True(aligned >= total - 6, $"{aligned} of {total} arrays on a 64-byte boundary");
        // beyond about a megabyte the heap may give an array a region of its own, at an offset of its choosing: such arrays are
        // the length asked for and zeroed, aligned or not
        foreach (int len in new[] { 333_333, 524_288 })
        {
            var a = AlignedArrays.Create<double>(len);
            Assert.Equal(len, a.Length);
            Assert.All(a, x => Assert.Equal(0.0, x));
        }
        // small arrays are not worth the pinned heap: allocated as usual (whatever their offset)
        Assert.Equal(10, AlignedArrays.Create<double>(10).Length);
        Assert.Empty(AlignedArrays.Create<double>(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => AlignedArrays.Create<double>(-1));
        GC.KeepAlive(keep);
    }
}
