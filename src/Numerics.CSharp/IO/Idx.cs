using System.Buffers.Binary;
using System.IO.Compression;

namespace ResOdeProofs.Numerics.IO;

/// <summary>An IDX file that cannot be read; the message names the file, the problem and the fix.</summary>
public sealed class IdxFormatException : Exception
{
    /// <summary>Creates the exception.</summary>
    public IdxFormatException(string message, Exception? inner = null) : base(message, inner) { }
}

/// <summary>An unsigned-byte IDX array (images: (count, rows, cols); labels: (count,)).</summary>
public sealed record IdxArray(int[] Shape, byte[] Data);

/// <summary>
/// Reader for the IDX format of MNIST and Fashion-MNIST (optionally gzip-compressed): a big-endian
/// header of two zero bytes, a type code (0x08 = unsigned byte, the only type these data sets use),
/// the number of dimensions, then each dimension as a big-endian int32, then the data in C order.
/// </summary>
public static class Idx
{
    /// <summary>Debian package that installs Fashion-MNIST.</summary>
    public const string FashionMnistPackage = "dataset-fashion-mnist";
    /// <summary>Where that package puts the files.</summary>
    public const string FashionMnistDefaultDir = "/usr/share/datasets/fashion-mnist";

    /// <summary>Reads an IDX file (gzip when the name ends in .gz or the content starts with the gzip magic).</summary>
    public static IdxArray Read(string path)
    {
        if (!File.Exists(path)) throw new IdxFormatException($"{path}: file not found");
        byte[] raw;
        try
        {
            raw = File.ReadAllBytes(path);
            if (raw.Length >= 2 && raw[0] == 0x1f && raw[1] == 0x8b)
            {
                using var gz = new GZipStream(new MemoryStream(raw), CompressionMode.Decompress);
                using var ms = new MemoryStream();
                gz.CopyTo(ms);
                raw = ms.ToArray();
            }
        }
        catch (InvalidDataException e) { throw new IdxFormatException($"{path}: the gzip stream is corrupt ({e.Message}); reinstall the data set", e); }
        if (raw.Length < 4) throw new IdxFormatException($"{path}: too short for an IDX header ({raw.Length} bytes); the file is truncated");
        if (raw[0] != 0 || raw[1] != 0) throw new IdxFormatException($"{path}: not an IDX file (the first two bytes must be zero)");
        if (raw[2] != 0x08) throw new IdxFormatException($"{path}: IDX type code 0x{raw[2]:x2} is not supported (only unsigned bytes, 0x08, as in MNIST/Fashion-MNIST)");
        int rank = raw[3];
        if (rank < 1 || rank > 4) throw new IdxFormatException($"{path}: IDX rank {rank} is not supported (1 to 4)");
        int header = 4 + 4 * rank;
        if (raw.Length < header) throw new IdxFormatException($"{path}: truncated header (needs {header} bytes, has {raw.Length})");
        var shape = new int[rank];
        long count = 1;
        for (int i = 0; i < rank; i++)
        {
            shape[i] = BinaryPrimitives.ReadInt32BigEndian(raw.AsSpan(4 + 4 * i, 4));
            if (shape[i] < 0) throw new IdxFormatException($"{path}: negative dimension {shape[i]}");
            count *= shape[i];
        }
        if (raw.Length - header != count)
            throw new IdxFormatException($"{path}: the header announces {count} bytes of data but the file holds {raw.Length - header}; the file is {(raw.Length - header < count ? "truncated" : "followed by extra bytes")}: reinstall the data set");
        return new IdxArray(shape, raw.AsSpan(header).ToArray());
    }

    /// <summary>Writes an unsigned-byte IDX file (uncompressed, or gzip when the name ends in .gz). For tests and small data sets.</summary>
    public static void Write(string path, IdxArray a)
    {
        using var fs = File.Create(path);
        using Stream s = path.EndsWith(".gz", StringComparison.Ordinal) ? new GZipStream(fs, CompressionLevel.Fastest) : fs;
        s.Write(new byte[] { 0, 0, 0x08, (byte)a.Shape.Length });
        Span<byte> b = stackalloc byte[4];
        foreach (int dim in a.Shape) { BinaryPrimitives.WriteInt32BigEndian(b, dim); s.Write(b); }
        s.Write(a.Data);
    }
}

/// <summary>The four Fashion-MNIST files: 60 000 training and 10 000 test images of 28×28 bytes, labels 0–9.</summary>
public sealed record FashionMnist(IdxArray TrainImages, IdxArray TrainLabels, IdxArray TestImages, IdxArray TestLabels)
{
    /// <summary>File names inside the data directory.</summary>
    public static readonly string[] Files =
        { "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz" };

    /// <summary>Loads the four files from <paramref name="dir"/> (default: the Debian package's directory) and checks their shapes.</summary>
    public static FashionMnist Load(string? dir = null)
    {
        dir ??= Idx.FashionMnistDefaultDir;
        var missing = Files.Where(f => !File.Exists(Path.Combine(dir, f))).ToList();
        if (missing.Count > 0)
            throw new IdxFormatException($"Fashion-MNIST not found in {dir} (missing {string.Join(", ", missing)}): install it with `apt-get install {Idx.FashionMnistPackage}`, or point --data-dir at a directory holding the four gzipped IDX files (train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz)");
        var arrays = Files.Select(f => Idx.Read(Path.Combine(dir, f))).ToArray();
        void Check(IdxArray images, IdxArray labels, string what)
        {
            if (images.Shape.Length != 3 || images.Shape[1] != 28 || images.Shape[2] != 28)
                throw new IdxFormatException($"{dir}: {what} images have shape ({string.Join(", ", images.Shape)}), expected (count, 28, 28)");
            if (labels.Shape.Length != 1 || labels.Shape[0] != images.Shape[0])
                throw new IdxFormatException($"{dir}: {what} labels have shape ({string.Join(", ", labels.Shape)}), expected ({images.Shape[0]},) to match the images");
            foreach (var l in labels.Data) if (l > 9) throw new IdxFormatException($"{dir}: {what} label {l} is outside 0..9; the file is corrupt");
        }
        Check(arrays[0], arrays[1], "training");
        Check(arrays[2], arrays[3], "test");
        return new FashionMnist(arrays[0], arrays[1], arrays[2], arrays[3]);
    }
}
