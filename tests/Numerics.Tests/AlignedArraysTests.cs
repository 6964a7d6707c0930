using ResOdeProofs.Numerics.Model;
using Xunit.Abstractions;

namespace ResOdeProofs.Numerics.Tests;

/// <summary>
/// <see cref="AlignedArrays"/>: the engine's and the observer's working arrays on 64-byte boundaries (a speed matter only:
/// the same operations on the same values, which the GEMM's tile tests and the runs of both layouts check bit for bit).
/// </summary>
[Collection(nameof(AlignedArraysTests))]
public sealed class AlignedArraysTests
{
    private readonly ITestOutputHelper _out;
    public AlignedArraysTests(ITestOutputHelper output) => _out = output;

    [Fact(DisplayName = "AlignedArrays.Create: 96 arrays of 1 KiB to 256 KiB of doubles and floats → the requested length, zeroed, at least three quarters on a 64-byte boundary (one in eight by chance); larger ones (placed once, best effort) the requested length, zeroed; below 1 KiB an ordinary array")]
    public void ArraysStartOnALine()
    {
        // the budget of what is kept is the process's: the engine tests before this one may have spent it
        AlignedArrays.ForgetKept();
        int aligned = 0, total = 0;
        var keep = new List<Array>();
        void Count(Array a, int offset, string what)
        {
            if (offset == 0) aligned++; else _out.WriteLine($"{what} at offset {offset}");
            total++;
            keep.Add(a);
        }
        foreach (int len in new[] { 128, 800, 1000, 3200 })
            for (int t = 0; t < 12; t++)
            {
                var a = AlignedArrays.Create<double>(len);
                Assert.Equal(len, a.Length);
                Assert.All(a, x => Assert.Equal(0.0, x));
                Count(a, AlignedArrays.Offset(a), $"double[{len}]");
            }
        foreach (int len in new[] { 256, 6400 })
            for (int t = 0; t < 24; t++)
            {
                var a = AlignedArrays.Create<float>(len);
                Assert.Equal(len, a.Length);
                Assert.All(a, x => Assert.Equal(0f, x));
                Count(a, AlignedArrays.Offset(a), $"float[{len}]");
            }
        Assert.Equal(96, total);
        // alone in a process every such array lands on a line (bench --shapes-probe: 220 of 220); in the test host, run alone
        // but on a pinned heap the test classes before it left with gaps, a few may not: at least three quarters, against one
        // in eight for arrays the runtime places (8-byte boundaries) and none for an allocator that ignores the boundary
        Assert.True(aligned >= total * 3 / 4, $"{aligned} of {total} arrays on a 64-byte boundary");
        // from 256 KiB on an array is placed once, after a probe and a filler of 64 KiB: where other threads allocate pinned
        // memory meanwhile, or the heap gives it a region of its own, it may land off a line; it is the length asked for and
        // zeroed either way
        int large = 0;
        foreach (int len in new[] { 65_536, 131_072, 333_333 })
        {
            var a = AlignedArrays.Create<double>(len);
            Assert.Equal(len, a.Length);
            Assert.All(a, x => Assert.Equal(0.0, x));
            if (AlignedArrays.Offset(a) == 0) large++;
            keep.Add(a);
        }
        _out.WriteLine($"{large} of 3 large arrays on a line");
        // small arrays are not worth the pinned heap: allocated as usual (whatever their offset)
        Assert.Equal(10, AlignedArrays.Create<double>(10).Length);
        Assert.Empty(AlignedArrays.Create<double>(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => AlignedArrays.Create<double>(-1));
        GC.KeepAlive(keep);
    }
}

/// <summary>The placement is the allocator's with no other test allocating pinned memory at the same time (the engine's and the
/// observer's arrays, which several test classes make): these tests run alone, after the parallel ones. Beside them one run
/// placed 59 of the 96 small arrays on a line, below the three quarters asserted.</summary>
[CollectionDefinition(nameof(AlignedArraysTests), DisableParallelization = true)]
public sealed class AlignedArraysCollection { }
