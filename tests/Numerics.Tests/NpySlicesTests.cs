using ResOdeProofs.Numerics.IO;

namespace ResOdeProofs.Numerics.Tests;

/// <summary>
/// <see cref="Npy.ReadSlices"/> (a run's w.npy, v.npy and theta.npy, one array per snapshot read straight from the file)
/// against <see cref="Npy.Read(string)"/> of the same file: the same shape and dtype, and every slice the bits of the
/// whole array's segment, for float64 slices longer than the reader's 1 MiB chunk (so a slice's read crosses chunks and
/// a chunk never spans two slices), float32 and int32 files (widened as Read widens them), a leading axis of length 0;
/// and the same refusals: a wrong shape and a file shorter than its header says.
/// </summary>
public class NpySlicesTests
{
    private static void AssertSlicesOf(string path, int[] shape)
    {
        var whole = Npy.Read(path);
        var (gotShape, slices, dtype) = Npy.ReadSlices(path, "the test array", shape.Select(_ => -1).ToArray());
        Assert.Equal(whole.Shape, gotShape);
        Assert.Equal(whole.DType, dtype);
        Assert.Equal(shape[0], slices.Length);
        int per = shape.Skip(1).Aggregate(1, (a, b) => a * b);
        for (int s = 0; s < slices.Length; s++)
        {
            Assert.Equal(per, slices[s].Length);
            for (int i = 0; i < per; i++)
                Assert.True(BitConverter.DoubleToInt64Bits(whole.Data[s * per + i]) == BitConverter.DoubleToInt64Bits(slices[s][i]),
                            $"slice {s}, entry {i}: {slices[s][i]:R} against {whole.Data[s * per + i]:R}");
        }
    }

    [Fact(DisplayName = "Npy.ReadSlices: float64, slices of 140 000 entries (across the 1 MiB chunks), distinct values → the whole array's segments bit for bit")]
    public void Float64AcrossChunks()
    {
        using var t = new NpyTestUtil();
        var shape = new[] { 3, 200, 700 };
        var rnd = new System.Random(5);
        var data = Enumerable.Range(0, 3 * 200 * 700).Select(_ => rnd.NextDouble() * 2 - 1).ToArray();
        Npy.Write(t.File("w.npy"), data, shape);
        AssertSlicesOf(t.File("w.npy"), shape);
    }

    [Fact(DisplayName = "Npy.ReadSlices: a float32 file → widened to float64 as Read widens it, slice by slice; an int32 file → refused as Read refuses it in a role")]
    public void WidenedDtypes()
    {
        using var t = new NpyTestUtil();
        var f = Enumerable.Range(0, 4 * 5 * 3).Select(i => (float)(Math.Sin(i) * 1e3)).ToArray();
        File.WriteAllBytes(t.File("f4.npy"), NpyTestUtil.Build("{'descr': '<f4', 'fortran_order': False, 'shape': (4, 5, 3), }\n", NpyTestUtil.F4(f)));
        AssertSlicesOf(t.File("f4.npy"), new[] { 4, 5, 3 });
        var n = Enumerable.Range(0, 6 * 7).Select(i => i * 7919 - 100_000).ToArray();
        File.WriteAllBytes(t.File("i4.npy"), NpyTestUtil.Build("{'descr': '<i4', 'fortran_order': False, 'shape': (6, 7), }\n", NpyTestUtil.I4(n)));
        // a file read in a role holds floating-point numbers (docs/run-format.md): both readers refuse it alike
        var slicesEx = Assert.Throws<NpyFormatException>(() => Npy.ReadSlices(t.File("i4.npy"), "the test array", -1, -1));
        var readEx = Assert.Throws<NpyFormatException>(() => Npy.Read(t.File("i4.npy"), "the test array", -1, -1));
        Assert.Equal(readEx.Message, slicesEx.Message);
        Assert.Contains("'<i4' is an integer type", slicesEx.Message);
    }

    [Fact(DisplayName = "Npy.ReadSlices: a leading axis of length 0 → no slice")]
    public void EmptyLeadingAxis()
    {
        using var t = new NpyTestUtil();
        Npy.Write(t.File("e.npy"), ReadOnlySpan<double>.Empty, 0, 4, 2);
        var (shape, slices, _) = Npy.ReadSlices(t.File("e.npy"), "the test array", -1, 4, 2);
        Assert.Equal(new[] { 0, 4, 2 }, shape);
        Assert.Empty(slices);
    }

    [Fact(DisplayName = "Npy.ReadSlices: a wrong shape, a file shorter than its header says → refused with Read's messages")]
    public void Refusals()
    {
        using var t = new NpyTestUtil();
        Npy.Write(t.File("w.npy"), new double[24], 2, 3, 4);
        var shapeEx = Assert.Throws<NpyFormatException>(() => Npy.ReadSlices(t.File("w.npy"), "weights W (S, L, m, d)", -1, 3, 5));
        var readEx = Assert.Throws<NpyFormatException>(() => Npy.Read(t.File("w.npy"), "weights W (S, L, m, d)", -1, 3, 5));
        Assert.Equal(readEx.Message, shapeEx.Message);
        Assert.Contains("shape mismatch for weights W", shapeEx.Message);
        var bytes = File.ReadAllBytes(t.File("w.npy"));
        File.WriteAllBytes(t.File("short.npy"), bytes[..^8]);
        var shortEx = Assert.Throws<NpyFormatException>(() => Npy.ReadSlices(t.File("short.npy"), "weights W (S, L, m, d)", -1, -1, -1));
        Assert.Equal(t.File("short.npy"), shortEx.Path);
        Assert.Contains("truncated", shortEx.Message);
    }
}
