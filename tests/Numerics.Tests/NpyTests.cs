using System.Buffers.Binary;
using System.Text;
using ResOdeProofs.Numerics.IO;

namespace ResOdeProofs.Numerics.Tests;

/// <summary>A temporary directory that is deleted on dispose.</summary>
internal sealed class NpyTestUtil : IDisposable
{
    public string Dir { get; }

    public NpyTestUtil()
    {
        Dir = Path.Combine(Path.GetTempPath(), "npytests-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Dir);
    }

    public string File(string name) => Path.Combine(Dir, name);

    public void Dispose()
    {
        try { Directory.Delete(Dir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    /// <summary>Builds a .npy file by hand: magic, version, header length, header text (no padding added), data.</summary>
    public static byte[] Build(string header, byte[] data, int major = 1, int minor = 0, bool utf8 = false)
    {
        var h = utf8 ? Encoding.UTF8.GetBytes(header) : Encoding.Latin1.GetBytes(header);
        int lenBytes = major == 1 ? 2 : 4;
        var ms = new MemoryStream();
        ms.Write(new byte[] { 0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', (byte)major, (byte)minor });
        var len = new byte[lenBytes];
        if (lenBytes == 2) BinaryPrimitives.WriteUInt16LittleEndian(len, (ushort)h.Length);
        else BinaryPrimitives.WriteUInt32LittleEndian(len, (uint)h.Length);
        ms.Write(len);
        ms.Write(h);
        ms.Write(data);
        return ms.ToArray();
    }

    public static byte[] F8(params double[] v)
    {
        var b = new byte[8 * v.Length];
        for (int i = 0; i < v.Length; i++) BinaryPrimitives.WriteDoubleLittleEndian(b.AsSpan(8 * i), v[i]);
        return b;
    }

    public static byte[] F4(params float[] v)
    {
        var b = new byte[4 * v.Length];
        for (int i = 0; i < v.Length; i++) BinaryPrimitives.WriteSingleLittleEndian(b.AsSpan(4 * i), v[i]);
        return b;
    }

    public static byte[] I4(params int[] v)
    {
        var b = new byte[4 * v.Length];
        for (int i = 0; i < v.Length; i++) BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(4 * i), v[i]);
        return b;
    }

    public static byte[] I8(params long[] v)
    {
        var b = new byte[8 * v.Length];
        for (int i = 0; i < v.Length; i++) BinaryPrimitives.WriteInt64LittleEndian(b.AsSpan(8 * i), v[i]);
        return b;
    }
}

public sealed class NpyTests : IDisposable
{
    private readonly NpyTestUtil _tmp = new();

    public void Dispose() => _tmp.Dispose();

    private string Put(string name, byte[] bytes)
    {
        string p = _tmp.File(name);
        System.IO.File.WriteAllBytes(p, bytes);
        return p;
    }

    private static NpyFormatException Fails(string path)
    {
        var ex = Assert.Throws<NpyFormatException>(() => Npy.Read(path));
        Assert.Contains(path, ex.Message);
        Assert.Equal(path, ex.Path);
        return ex;
    }

    public static IEnumerable<object[]> Shapes() => new[]
    {
        new object[] { Array.Empty<int>() },
        new object[] { new[] { 0 } },
        new object[] { new[] { 1 } },
        new object[] { new[] { 7 } },
        new object[] { new[] { 3, 4 } },
        new object[] { new[] { 0, 5 } },
        new object[] { new[] { 5, 0 } },
        new object[] { new[] { 2, 3, 4 } },
        new object[] { new[] { 2, 0, 4 } },
        new object[] { new[] { 2, 3, 1, 5 } },
        new object[] { new[] { 3, 2, 0, 1 } },
    };

    private static int Product(int[] shape) => shape.Aggregate(1, (a, b) => a * b);

    // ------------------------------------------------------------ round trips

    [Theory(DisplayName = "Npy: float64 → round trip")]
    [MemberData(nameof(Shapes))]
    public void RoundTrip_Float64(int[] shape)
    {
        int n = Product(shape);
        var data = Enumerable.Range(0, n).Select(i => i * 1.5 - 3.25 + 1e-300 * i).ToArray();
        if (n > 2) { data[1] = double.MaxValue; data[2] = -0.0; }
        string p = _tmp.File("f8.npy");
        Npy.Write(p, data, shape);
        var a = Npy.Read(p);
        Assert.Equal(shape, a.Shape);
        Assert.Equal(shape.Length, a.Rank);
        Assert.Equal(n, a.Count);
        Assert.Equal("<f8", a.DType);
        Assert.Equal(data, a.Data);
        if (n > 2) Assert.True(double.IsNegative(a.Data[2]));
    }

    [Theory(DisplayName = "Npy: float32 → round trip")]
    [MemberData(nameof(Shapes))]
    public void RoundTrip_Float32(int[] shape)
    {
        int n = Product(shape);
        var data = Enumerable.Range(0, n).Select(i => (float)(i * 0.1 - 1)).ToArray();
        string p = _tmp.File("f4.npy");
        Npy.Write(p, data, shape);
        var a = Npy.Read(p);
        Assert.Equal(shape, a.Shape);
        Assert.Equal("<f4", a.DType);
        Assert.Equal(data.Select(x => (double)x).ToArray(), a.Data);
    }

    [Theory(DisplayName = "Npy: int64 → round trip")]
    [MemberData(nameof(Shapes))]
    public void RoundTrip_Int64(int[] shape)
    {
        int n = Product(shape);
        var data = Enumerable.Range(0, n).Select(i => (long)i * 1_000_000_007L - 5).ToArray();
        if (n > 1) { data[0] = long.MaxValue; data[1] = long.MinValue; }
        string p = _tmp.File("i8.npy");
        Npy.WriteInt64(p, data, shape);
        var back = Npy.ReadInt64(p, out var s);
        Assert.Equal(shape, s);
        Assert.Equal(data, back);
        var a = Npy.Read(p);
        Assert.Equal("<i8", a.DType);
        Assert.Equal(data.Select(x => (double)x).ToArray(), a.Data);
    }

    [Fact(DisplayName = "Npy: large array across chunk boundaries → round trip")]
    public void RoundTrip_LargeArray_CrossesChunkBoundaries()
    {
        int n = 600_000; // > 1 MiB for both f4 and f8
        var d = new double[n];
        var f = new float[n];
        for (int i = 0; i < n; i++) { d[i] = Math.Sin(i); f[i] = (float)Math.Cos(i); }
        string p8 = _tmp.File("big8.npy"), p4 = _tmp.File("big4.npy");
        Npy.Write(p8, d, 3, n / 3);
        Assert.Equal(d, Npy.Read(p8).Data);
        Npy.Write(p4, f, n);
        Assert.Equal(f.Select(x => (double)x).ToArray(), Npy.Read(p4).Data);
    }

    // ------------------------------------------------------------ written layout

    [Fact(DisplayName = "Npy.Write: a float64 vector → version 1 header, aligned to 64, trailing newline")]
    public void Write_ProducesVersion1Header_AlignedTo64_WithTrailingNewline()
    {
        string p = _tmp.File("layout.npy");
        Npy.Write(p, new double[] { 1, 2, 3 }, 3);
        var bytes = System.IO.File.ReadAllBytes(p);
        Assert.Equal(new byte[] { 0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 1, 0 }, bytes[..8]);
        int hlen = BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(8));
        int preamble = 10 + hlen;
        Assert.Equal(0, preamble % 64);
        Assert.Equal(preamble + 24, bytes.Length);
        string header = Encoding.ASCII.GetString(bytes, 10, hlen);
        Assert.EndsWith("\n", header);
        Assert.StartsWith("{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }", header);
        Assert.DoesNotContain("\n", header[..^1]);
        Assert.Equal(3.0, BinaryPrimitives.ReadDoubleLittleEndian(bytes.AsSpan(preamble + 16)));
    }

    [Theory(DisplayName = "Npy.Write: any shape → Python tuple syntax")]
    [InlineData(new int[0], "()")]
    [InlineData(new[] { 3 }, "(3,)")]
    [InlineData(new[] { 2, 3 }, "(2, 3)")]
    public void Write_ShapeSyntax(int[] shape, string expected)
    {
        string p = _tmp.File("syntax.npy");
        Npy.WriteInt64(p, new long[Product(shape)], shape);
        var bytes = System.IO.File.ReadAllBytes(p);
        int hlen = BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(8));
        string header = Encoding.ASCII.GetString(bytes, 10, hlen);
        Assert.Contains("'descr': '<i8'", header);
        Assert.Contains("'shape': " + expected, header);
        Assert.Equal(0, (10 + hlen) % 64);
    }

    [Fact(DisplayName = "Npy.Write: shape mismatch → throws")]
    public void Write_ShapeMismatch_Throws()
    {
        string p = _tmp.File("bad.npy");
        Assert.Throws<ArgumentException>(() => Npy.Write(p, new double[5], 2, 3));
        Assert.Throws<ArgumentException>(() => Npy.Write(p, new float[2], Array.Empty<int>()));
        Assert.Throws<ArgumentException>(() => Npy.WriteInt64(p, new long[0], 2, -1));
        Assert.Throws<ArgumentException>(() => Npy.Write(p, ReadOnlySpan<double>.Empty, 0, -3));
        Assert.False(System.IO.File.Exists(p));
        Assert.Empty(Directory.GetFiles(_tmp.Dir));
    }

    [Fact(DisplayName = "Npy.Read: an empty file or a named pipe → NpyFormatException naming it, the pipe never opened")]
    public void Read_EmptyOrPipe_Refused()
    {
        string empty = _tmp.File("empty.npy");
        System.IO.File.WriteAllBytes(empty, Array.Empty<byte>());
        Assert.Contains("not a regular file", Assert.Throws<NpyFormatException>(() => Npy.Read(empty)).Message);
        if (OperatingSystem.IsWindows()) return;
        string pipe = _tmp.File("pipe.npy");
        System.Diagnostics.Process.Start("mkfifo", pipe)!.WaitForExit();
        var e = Assert.Throws<NpyFormatException>(() => Npy.ReadInt64(pipe, out _));
        Assert.Contains("pipe.npy", e.Message);
    }

    // ------------------------------------------------------------ atomic writes

    [Fact(DisplayName = "Npy.Write: four writes to one path → no temporary left, the last one read back")]
    public void Write_IsAtomic_LeavesNoTempFiles_AndOverwrites()
    {
        string p = _tmp.File("atomic.npy");
        Npy.Write(p, new double[] { 1, 2, 3, 4 }, 2, 2);
        Npy.Write(p, new double[] { 9 }, Array.Empty<int>());
        Npy.Write(p, new float[] { 5, 6 }, 2);
        Npy.WriteInt64(p, new long[] { 7, 8, 9 }, 3);
        Assert.Equal(new[] { p }, Directory.GetFiles(_tmp.Dir));
        Assert.Equal(new long[] { 7, 8, 9 }, Npy.ReadInt64(p, out var s));
        Assert.Equal(new[] { 3 }, s);
    }

    [Fact(DisplayName = "Npy.Write: failure → temporary deleted, target kept")]
    public void Write_Failure_DeletesTempFile_AndKeepsTarget()
    {
        // The destination is a directory, so the final rename fails after the temp file was written.
        string p = _tmp.File("target.npy");
        Directory.CreateDirectory(p);
        Assert.ThrowsAny<Exception>(() => Npy.Write(p, new double[] { 1, 2 }, 2));
        Assert.Empty(Directory.GetFiles(_tmp.Dir));
        Assert.True(Directory.Exists(p));
    }

    [Fact(DisplayName = "Npy.Write: missing directory → throws, leaves nothing")]
    public void Write_MissingDirectory_Throws_LeavesNothing()
    {
        string p = Path.Combine(_tmp.Dir, "nope", "x.npy");
        Assert.ThrowsAny<IOException>(() => Npy.Write(p, new double[] { 1 }, 1));
        Assert.Empty(Directory.GetFileSystemEntries(_tmp.Dir));
    }

    // ------------------------------------------------------------ hand-built files

    [Fact(DisplayName = "Npy.Read: hand-built v1 float64 → read")]
    public void Read_HandBuilt_V1_Float64()
    {
        string h = "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }" + new string(' ', 3) + "\n";
        var p = Put("v1.npy", NpyTestUtil.Build(h, NpyTestUtil.F8(1, 2, 3, 4, 5, 6.5)));
        var a = Npy.Read(p);
        Assert.Equal(new[] { 2, 3 }, a.Shape);
        Assert.Equal(new[] { 1, 2, 3, 4, 5, 6.5 }, a.Data);
        Assert.Equal(6, a.Count);
    }

    [Fact(DisplayName = "Npy.Read: hand-built v2 float64 → read")]
    public void Read_HandBuilt_V2_Float64()
    {
        string h = "{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }\n";
        var p = Put("v2.npy", NpyTestUtil.Build(h, NpyTestUtil.F8(-1, 0, 1), major: 2));
        var a = Npy.Read(p);
        Assert.Equal(new[] { 3 }, a.Shape);
        Assert.Equal(new double[] { -1, 0, 1 }, a.Data);
    }

    [Fact(DisplayName = "Npy.Read: hand-built v3 UTF-8 header → read")]
    public void Read_HandBuilt_V3_Utf8()
    {
        string h = "{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }\n";
        var p = Put("v3.npy", NpyTestUtil.Build(h, NpyTestUtil.F8(42), major: 3, utf8: true));
        Assert.Equal(new double[] { 42 }, Npy.Read(p).Data);
    }

    [Fact(DisplayName = "Npy.Read: header dict in any valid syntax → read")]
    public void Read_RobustDictSyntax()
    {
        string h = "{ \"shape\" :( 2 ,2 ,) ,\"fortran_order\":False,   'descr':\"=f8\" }    \n";
        var p = Put("robust.npy", NpyTestUtil.Build(h, NpyTestUtil.F8(1, 2, 3, 4)));
        var a = Npy.Read(p);
        Assert.Equal(new[] { 2, 2 }, a.Shape);
        Assert.Equal("<f8", a.DType);
        Assert.Equal(new double[] { 1, 2, 3, 4 }, a.Data);
    }

    [Fact(DisplayName = "Npy.Read: scalar → read")]
    public void Read_Scalar()
    {
        var p = Put("scalar.npy", NpyTestUtil.Build("{'descr': '<f8', 'fortran_order': False, 'shape': (), }\n", NpyTestUtil.F8(3.5)));
        var a = Npy.Read(p);
        Assert.Empty(a.Shape);
        Assert.Equal(0, a.Rank);
        Assert.Equal(1, a.Count);
        Assert.Equal(new[] { 3.5 }, a.Data);
    }

    [Fact(DisplayName = "Npy.Read: float32 → widened to float64")]
    public void Read_Float32_Widened()
    {
        var p = Put("f4.npy", NpyTestUtil.Build("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }\n", NpyTestUtil.F4(0.1f, -2.5f, float.Epsilon)));
        var a = Npy.Read(p);
        Assert.Equal("<f4", a.DType);
        Assert.Equal(new double[] { 0.1f, -2.5f, float.Epsilon }, a.Data);
    }

    [Fact(DisplayName = "Npy.Read: int32 → read")]
    public void Read_Int32()
    {
        var p = Put("i4.npy", NpyTestUtil.Build("{'descr': '<i4', 'fortran_order': False, 'shape': (2, 2), }\n", NpyTestUtil.I4(int.MinValue, -1, 0, int.MaxValue)));
        var a = Npy.Read(p);
        Assert.Equal("<i4", a.DType);
        Assert.Equal(new double[] { int.MinValue, -1, 0, int.MaxValue }, a.Data);
        Assert.Equal(new long[] { int.MinValue, -1, 0, int.MaxValue }, Npy.ReadInt64(p, out var s));
        Assert.Equal(new[] { 2, 2 }, s);
    }

    [Fact(DisplayName = "Npy.Read: u1, i1 → read")]
    public void Read_Bytes_U1_I1()
    {
        var pu = Put("u1.npy", NpyTestUtil.Build("{'descr': '|u1', 'fortran_order': False, 'shape': (3,), }\n", new byte[] { 0, 128, 255 }));
        Assert.Equal(new double[] { 0, 128, 255 }, Npy.Read(pu).Data);
        Assert.Equal("|u1", Npy.Read(pu).DType);
        Assert.Equal(new long[] { 0, 128, 255 }, Npy.ReadInt64(pu, out _));
        var pi = Put("i1.npy", NpyTestUtil.Build("{'descr': '|i1', 'fortran_order': False, 'shape': (3,), }\n", new byte[] { 0, 128, 255 }));
        Assert.Equal(new double[] { 0, -128, -1 }, Npy.Read(pi).Data);
        Assert.Equal(new long[] { 0, -128, -1 }, Npy.ReadInt64(pi, out _));
    }

    [Fact(DisplayName = "Npy.ReadInt64: integral floats → accepted; fractional → rejected")]
    public void ReadInt64_AcceptsIntegralFloats_RejectsFractional()
    {
        var p = Put("f8int.npy", NpyTestUtil.Build("{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }\n", NpyTestUtil.F8(1, -7, 1e15)));
        Assert.Equal(new long[] { 1, -7, 1_000_000_000_000_000 }, Npy.ReadInt64(p, out _));
        var p4 = Put("f4int.npy", NpyTestUtil.Build("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }\n", NpyTestUtil.F4(3, -4)));
        Assert.Equal(new long[] { 3, -4 }, Npy.ReadInt64(p4, out _));
        var bad = Put("f8frac.npy", NpyTestUtil.Build("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 2), }\n", NpyTestUtil.F8(1, 2, 3, 3.5)));
        var ex = Assert.Throws<NpyFormatException>(() => Npy.ReadInt64(bad, out _));
        Assert.Contains("not an integer", ex.Message);
        Assert.Contains("[1, 1]", ex.Message);
        var nan = Put("f8nan.npy", NpyTestUtil.Build("{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }\n", NpyTestUtil.F8(double.NaN)));
        Assert.Contains("not finite", Assert.Throws<NpyFormatException>(() => Npy.ReadInt64(nan, out _)).Message);
        var huge = Put("f8huge.npy", NpyTestUtil.Build("{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }\n", NpyTestUtil.F8(1e19)));
        Assert.Contains("int64 range", Assert.Throws<NpyFormatException>(() => Npy.ReadInt64(huge, out _)).Message);
    }

    [Fact(DisplayName = "Npy.Read: zero size with a huge other dimension → empty")]
    public void Read_ZeroSizeWithHugeOtherDim_IsEmpty()
    {
        var p = Put("zero.npy", NpyTestUtil.Build("{'descr': '<f8', 'fortran_order': False, 'shape': (0, 2000000000, 2000000000), }\n", Array.Empty<byte>()));
        var a = Npy.Read(p);
        Assert.Empty(a.Data);
        Assert.Equal(0, a.Count);
    }

    // ------------------------------------------------------------ shape check

    [Fact(DisplayName = "Npy.Read with expected shape: wildcards → accepted")]
    public void Read_WithExpectedShape_AcceptsWildcards()
    {
        string p = _tmp.File("w.npy");
        Npy.Write(p, new double[24], 2, 3, 4);
        Assert.Equal(new[] { 2, 3, 4 }, Npy.Read(p, "initial W (L, m, d)", -1, 3, -1).Shape);
        Assert.Equal(new[] { 2, 3, 4 }, Npy.Read(p, "initial W (L, m, d)", 2, 3, 4).Shape);
    }

    [Fact(DisplayName = "Npy.Read with expected shape: mismatch → error names both shapes")]
    public void Read_WithExpectedShape_MismatchNamesBothShapes()
    {
        string p = _tmp.File("w.npy");
        Npy.Write(p, new double[24], 2, 3, 4);
        var ex = Assert.Throws<NpyFormatException>(() => Npy.Read(p, "initial W (L, m, d)", -1, 5, 4));
        Assert.Contains("initial W (L, m, d)", ex.Message);
        Assert.Contains("(*, 5, 4)", ex.Message);
        Assert.Contains("(2, 3, 4)", ex.Message);
        Assert.Contains(p, ex.Message);
        var ex2 = Assert.Throws<NpyFormatException>(() => Npy.Read(p, "bias b (m,)", 24));
        Assert.Contains("(24,)", ex2.Message);
        Assert.Contains("rank", ex2.Message);
    }

    // ------------------------------------------------------------ error cases

    [Fact(DisplayName = "Npy.Read: missing file → error")]
    public void Error_MissingFile()
    {
        string p = _tmp.File("does-not-exist.npy");
        var ex = Fails(p);
        Assert.Contains("not found", ex.Message);
        Assert.Contains("must exist", ex.Message);
    }

    [Fact(DisplayName = "Npy.Read: a directory → error")]
    public void Error_DirectoryInsteadOfFile()
    {
        string p = _tmp.File("adir.npy");
        Directory.CreateDirectory(p);
        Assert.Contains("directory", Fails(p).Message);
    }

    [Theory(DisplayName = "Npy.Read: file too short → error")]
    [InlineData(0)]
    [InlineData(3)]
    [InlineData(7)]
    [InlineData(9)]
    public void Error_TooShort(int keep)
    {
        var full = NpyTestUtil.Build("{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }\n", NpyTestUtil.F8(1));
        var p = Put("short.npy", full[..keep]);
        Assert.Contains("too short", Fails(p).Message);
    }

    [Fact(DisplayName = "Npy.Read: truncated header → error")]
    public void Error_TruncatedHeader()
    {
        var full = NpyTestUtil.Build("{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }\n", Array.Empty<byte>());
        var p = Put("trunch.npy", full[..30]);
        var msg = Fails(p).Message;
        Assert.Contains("truncated", msg);
        Assert.Contains("header", msg);
    }

    [Fact(DisplayName = "Npy.Read: bad magic → error")]
    public void Error_BadMagic()
    {
        var p = Put("magic.npy", Encoding.ASCII.GetBytes("PK\x03\x04 this is a zip, not an npy file at all"));
        Assert.Contains("not a .npy file", Fails(p).Message);
        var p2 = Put("magic2.npy", new byte[] { 0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'X', 1, 0, 0, 0 });
        Assert.Contains("not a .npy file", Fails(p2).Message);
    }

    [Theory(DisplayName = "Npy.Read: unsupported version → error")]
    [InlineData(4, 0)]
    [InlineData(1, 1)]
    [InlineData(0, 0)]
    public void Error_UnsupportedVersion(int major, int minor)
    {
        var p = Put("ver.npy", NpyTestUtil.Build("{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }\n", NpyTestUtil.F8(1), major, minor));
        var msg = Fails(p).Message;
        Assert.Contains("version", msg);
        Assert.Contains($"{major}.{minor}", msg);
    }

    [Theory(DisplayName = "Npy.Read: malformed header → error")]
    [InlineData("{'descr': '<f8', 'fortran_order': False, 'shape': (1,), \n")]           // unclosed
    [InlineData("'descr': '<f8', 'fortran_order': False, 'shape': (1,)}\n")]             // no '{'
    [InlineData("{'descr': '<f8', 'fortran_order': False}\n")]                          // missing shape
    [InlineData("{'descr': '<f8', 'shape': (1,)}\n")]                                   // missing fortran_order
    [InlineData("{'fortran_order': False, 'shape': (1,)}\n")]                           // missing descr
    [InlineData("{'descr': '<f8', 'fortran_order': false, 'shape': (1,)}\n")]           // lowercase false
    [InlineData("{'descr': '<f8', 'fortran_order': False, 'shape': (1)}\n")]            // (1) is not a tuple
    [InlineData("{'descr': '<f8', 'fortran_order': False, 'shape': [1]}\n")]            // list, not tuple
    [InlineData("{'descr': '<f8', 'fortran_order': False, 'shape': (1.5,)}\n")]         // non-integer
    [InlineData("{'descr': '<f8', 'fortran_order': False, 'shape': (1,)} junk\n")]      // trailing text
    [InlineData("{'descr': '<f8', 'fortran_order': False, 'shape': (1,), 'shape': (1,)}\n")] // duplicate key
    [InlineData("{'descr': __import__('os'), 'fortran_order': False, 'shape': (1,)}\n")] // code
    [InlineData("{'descr: '<f8', 'fortran_order': False, 'shape': (1,)}\n")]            // bad quoting
    [InlineData("{'descr': 8, 'fortran_order': False, 'shape': (1,)}\n")]               // descr not a string
    [InlineData("{'descr': '<f8', 'fortran_order': 0, 'shape': (1,)}\n")]               // fortran not a bool
    [InlineData("{'descr': '<f8', 'fortran_order': False, 'shape': (99999999999999999999,)}\n")] // overflow
    [InlineData("")]
    public void Error_MalformedHeader(string header)
    {
        var p = Put("malformed.npy", NpyTestUtil.Build(header, NpyTestUtil.F8(1)));
        Assert.Contains("malformed", Fails(p).Message);
    }

    [Fact(DisplayName = "Npy.Read: big-endian data → error")]
    public void Error_BigEndian()
    {
        var p = Put("be.npy", NpyTestUtil.Build("{'descr': '>f8', 'fortran_order': False, 'shape': (1,), }\n", new byte[8]));
        var msg = Fails(p).Message;
        Assert.Contains("big-endian", msg);
        Assert.Contains("astype('<f8')", msg);
        var p4 = Put("be4.npy", NpyTestUtil.Build("{'descr': '>i4', 'fortran_order': False, 'shape': (1,), }\n", new byte[4]));
        Assert.Contains("astype('<i4')", Fails(p4).Message);
    }

    [Fact(DisplayName = "Npy.Read: Fortran order → error")]
    public void Error_FortranOrder()
    {
        var p = Put("fortran.npy", NpyTestUtil.Build("{'descr': '<f8', 'fortran_order': True, 'shape': (2, 2), }\n", NpyTestUtil.F8(1, 2, 3, 4)));
        var msg = Fails(p).Message;
        Assert.Contains("Fortran", msg);
        Assert.Contains("np.ascontiguousarray", msg);
    }

    [Theory(DisplayName = "Npy.Read: unsupported dtype → error")]
    [InlineData("<c16")]
    [InlineData("<f2")]
    [InlineData("<u8")]
    [InlineData("<i2")]
    [InlineData("|b1")]
    [InlineData("<U5")]
    [InlineData("|V8")]
    [InlineData("|f8")]
    public void Error_UnsupportedDType(string descr)
    {
        var p = Put("dtype.npy", NpyTestUtil.Build($"{{'descr': '{descr}', 'fortran_order': False, 'shape': (1,), }}\n", new byte[16]));
        var msg = Fails(p).Message;
        Assert.Contains("dtype", msg);
        Assert.Contains(descr, msg);
        Assert.Contains("'<f8' (float64)", msg);
        Assert.Contains("astype(np.float64)", msg);
    }

    [Fact(DisplayName = "Npy.ReadInt64 (integers only, e.g. steps.npy): an int16 file → error listing the integer dtypes it may have, not float64 or float32")]
    public void Error_UnsupportedDType_IntegersOnly()
    {
        var p = Put("steps.npy", NpyTestUtil.Build("{'descr': '<i2', 'fortran_order': False, 'shape': (1,), }\n", new byte[16]));
        var msg = Assert.Throws<NpyFormatException>(() => Npy.ReadInt64(p, out _, integerDTypeOnly: true)).Message;
        Assert.Contains("'<i2'", msg);
        Assert.Contains("'<i8' (int64)", msg);
        Assert.DoesNotContain("'<f8'", msg);
        Assert.DoesNotContain("'<f4'", msg);
    }

    [Theory(DisplayName = "Npy.Read and ReadSlices with a role (weights, losses, data): an integer file → error naming the role and the floating-point dtypes only")]
    [InlineData("<i8")]
    [InlineData("<i4")]
    [InlineData("|u1")]
    public void Error_IntegerDType_FloatsOnly(string descr)
    {
        var p = Put("w.npy", NpyTestUtil.Build($"{{'descr': '{descr}', 'fortran_order': False, 'shape': (1, 1), }}\n", new byte[descr == "|u1" ? 1 : descr == "<i4" ? 4 : 8]));
        foreach (var msg in new[]
        {
            Assert.Throws<NpyFormatException>(() => Npy.Read(p, "weights W", -1, -1)).Message,
            Assert.Throws<NpyFormatException>(() => Npy.ReadSlices(p, "weights W", -1, -1)).Message,
        })
        {
            Assert.Contains($"'{descr}' is an integer type", msg);
            Assert.Contains("weights W must be floating-point", msg);
            Assert.Contains("astype(np.float64)", msg);
        }
        // the role-free reader still reads integers (steps.npy and the like)
        Assert.Equal(new[] { 1, 1 }, Npy.Read(p).Shape);
        // an unsupported dtype under a role lists the floating-point dtypes, not the integer ones
        var q = Put("v.npy", NpyTestUtil.Build("{'descr': '<f2', 'fortran_order': False, 'shape': (1,), }\n", new byte[16]));
        var m = Assert.Throws<NpyFormatException>(() => Npy.Read(q, "weights V", -1)).Message;
        Assert.Contains("'<f4' (float32)", m);
        Assert.DoesNotContain("'<i8'", m);
    }

    [Fact(DisplayName = "Npy.Read: structured dtype → error")]
    public void Error_StructuredDType()
    {
        var p = Put("rec.npy", NpyTestUtil.Build("{'descr': [('a', '<f8'), ('b', '<i4')], 'fortran_order': False, 'shape': (1,), }\n", new byte[12]));
        var msg = Fails(p).Message;
        Assert.Contains("dtype", msg);
        Assert.Contains("structured", msg);
    }

    [Fact(DisplayName = "Npy.Read: object array → error")]
    public void Error_ObjectArray()
    {
        var p = Put("obj.npy", NpyTestUtil.Build("{'descr': '|O', 'fortran_order': False, 'shape': (2,), }\n", new byte[40]));
        var msg = Fails(p).Message;
        Assert.Contains("object array", msg);
        Assert.Contains("dtype", msg);
    }

    [Fact(DisplayName = "Npy.Read: negative dimension → error")]
    public void Error_NegativeDimension()
    {
        var p = Put("neg.npy", NpyTestUtil.Build("{'descr': '<f8', 'fortran_order': False, 'shape': (2, -3), }\n", Array.Empty<byte>()));
        var msg = Fails(p).Message;
        Assert.Contains("negative dimension", msg);
        Assert.Contains("-3", msg);
    }

    [Fact(DisplayName = "Npy.Read: truncated data → error")]
    public void Error_TruncatedData()
    {
        var p = Put("truncd.npy", NpyTestUtil.Build("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }\n", NpyTestUtil.F8(1, 2, 3, 4, 5)));
        var msg = Fails(p).Message;
        Assert.Contains("truncated", msg);
        Assert.Contains("48", msg);
        Assert.Contains("40", msg);
        Assert.Throws<NpyFormatException>(() => Npy.ReadInt64(p, out _));
    }

    [Fact(DisplayName = "Npy.Read: trailing bytes → error")]
    public void Error_TrailingGarbage()
    {
        var p = Put("trail.npy", NpyTestUtil.Build("{'descr': '<i4', 'fortran_order': False, 'shape': (2,), }\n", NpyTestUtil.I4(1, 2, 3)));
        var msg = Fails(p).Message;
        Assert.Contains("trailing garbage", msg);
        Assert.Contains("8", msg);
        Assert.Contains("12", msg);
    }

    [Fact(DisplayName = "Npy.Read: too many elements → error")]
    public void Error_TooManyElements()
    {
        var p = Put("huge.npy", NpyTestUtil.Build("{'descr': '<f8', 'fortran_order': False, 'shape': (2000000000, 2000000000), }\n", Array.Empty<byte>()));
        Assert.Contains("too many elements", Fails(p).Message);
    }

    [Fact(DisplayName = "Npy.Read: an unsupported dtype → the message suggests the fix")]
    public void Error_MessagesSuggestFix()
    {
        var p = Put("be.npy", NpyTestUtil.Build("{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }\n", new byte[8]));
        Assert.Contains("np.save(path, arr.astype(np.float64))", Fails(p).Message);
    }

    // ------------------------------------------------------------ RequireFinite

    [Fact(DisplayName = "Npy.RequireFinite: finite data → passes")]
    public void RequireFinite_PassesForFiniteData()
    {
        Assert.Null(Record.Exception(() => Npy.RequireFinite(new NpyArray(new[] { 2 }, new[] { 1.0, -1e308 }, "<f8"), "x.npy", "x")));
        Assert.Null(Record.Exception(() => Npy.RequireFinite(new NpyArray(new[] { 0, 3 }, Array.Empty<double>(), "<f8"), "x.npy", "x")));
    }

    [Fact(DisplayName = "Npy.RequireFinite: a non-finite entry → error names its multi-index")]
    public void RequireFinite_NamesMultiIndex()
    {
        var data = new double[24];
        data[1 * 12 + 0 * 4 + 2] = double.NaN;  // index [1, 0, 2] in shape (2, 3, 4)
        data[23] = double.PositiveInfinity;
        var a = new NpyArray(new[] { 2, 3, 4 }, data, "<f8");
        var ex = Assert.Throws<NpyFormatException>(() => Npy.RequireFinite(a, "w0.npy", "initial W (L, m, d)"));
        Assert.Contains("[1, 0, 2]", ex.Message);
        Assert.Contains("flat index 14", ex.Message);
        Assert.Contains("NaN", ex.Message);
        Assert.Contains("initial W (L, m, d)", ex.Message);
        Assert.Contains("w0.npy", ex.Message);
        Assert.Contains("2 non-finite values", ex.Message);
        Assert.Equal("w0.npy", ex.Path);
    }

    [Fact(DisplayName = "Npy.RequireFinite: non-finite scalar → error")]
    public void RequireFinite_Scalar()
    {
        var a = new NpyArray(Array.Empty<int>(), new[] { double.NegativeInfinity }, "<f8");
        var ex = Assert.Throws<NpyFormatException>(() => Npy.RequireFinite(a, "s.npy", "step size"));
        Assert.Contains("-inf", ex.Message);
        Assert.Contains("[]", ex.Message);
    }

    [Fact(DisplayName = "NpyFormatException: with and without a path → Path kept")]
    public void Exception_Constructors()
    {
        Assert.Null(new NpyFormatException("m").Path);
        Assert.Equal("p", new NpyFormatException("m", "p").Path);
    }
}
