using System.Buffers.Binary;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;

namespace ResOdeProofs.Numerics.IO;

/// <summary>
/// Raised for any unreadable or invalid <c>.npy</c> file. The <see cref="Exception.Message"/> names the file,
/// the problem and what to do about it.
/// </summary>
public sealed class NpyFormatException : Exception
{
    /// <summary>Creates the exception with a complete, user-facing message.</summary>
    /// <param name="message">Message naming the file, the problem and the fix.</param>
    public NpyFormatException(string message) : base(message) { }

    /// <summary>Creates the exception with a complete, user-facing message and the offending file.</summary>
    /// <param name="message">Message naming the file, the problem and the fix.</param>
    /// <param name="path">The file the problem was found in.</param>
    public NpyFormatException(string message, string? path) : base(message) { Path = path; }

    /// <summary>Creates the exception with a message, the offending file and the underlying cause.</summary>
    /// <param name="message">Message naming the file, the problem and the fix.</param>
    /// <param name="path">The file the problem was found in.</param>
    /// <param name="innerException">The underlying exception.</param>
    public NpyFormatException(string message, string? path, Exception? innerException)
        : base(message, innerException) { Path = path; }

    /// <summary>The file the problem was found in, when known.</summary>
    public string? Path { get; }
}

/// <summary>
/// An array read from a <c>.npy</c> file, widened to <see cref="double"/>, in C (row-major) order.
/// </summary>
/// <param name="Shape">Dimensions; empty for a scalar (which holds one element).</param>
/// <param name="Data">Elements in C order; its length equals <see cref="Count"/>.</param>
/// <param name="DType">The dtype stored in the file, normalised to an explicit byte-order marker
/// (e.g. <c>&lt;f8</c>, <c>&lt;f4</c>, <c>&lt;i8</c>, <c>&lt;i4</c>, <c>|u1</c>, <c>|i1</c>).</param>
public sealed record NpyArray(int[] Shape, double[] Data, string DType)
{
    /// <summary>Number of dimensions (0 for a scalar).</summary>
    public int Rank => Shape.Length;

    /// <summary>Number of elements: the product of <see cref="Shape"/> (1 for a scalar).</summary>
    public long Count
    {
        get
        {
            long n = 1;
            foreach (int d in Shape) n *= d;
            return n;
        }
    }
}

/// <summary>
/// Reader and writer for the NumPy <c>.npy</c> format (versions 1.0, 2.0 and 3.0 are read; 1.0 is written).
/// Only C-order, little-endian numeric arrays are supported. Reads stream directly into the result array;
/// writes are atomic (temporary file in the same directory, then rename).
/// </summary>
public static class Npy
{
    private static readonly byte[] Magic = { 0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y' };

    /// <summary>Largest header accepted when reading; real headers are a few hundred bytes.</summary>
    private const int MaxHeaderBytes = 1 << 20;

    /// <summary>Size in bytes of the chunks used to stream data in and out.</summary>
    private const int ChunkBytes = 1 << 20;

    private const string SupportedDTypes = "'<f8' (float64), '<f4' (float32), '<i8' (int64), '<i4' (int32), '|u1' (uint8), '|i1' (int8)";
    private const string SupportedIntegerDTypes = "'<i8' (int64), '<i4' (int32), '|u1' (uint8), '|i1' (int8)";

    private enum Kind { F8, F4, I8, I4, U1, I1 }

    private sealed class Header
    {
        public required Kind Kind { get; init; }
        public required string DType { get; init; }
        public required int[] Shape { get; init; }
        public required long Count { get; init; }
        public required int ItemSize { get; init; }
    }

    // ------------------------------------------------------------------ reading

    /// <summary>
    /// Reads a <c>.npy</c> file holding float64 (<c>&lt;f8</c>), float32 (<c>&lt;f4</c>), int64 (<c>&lt;i8</c>),
    /// int32 (<c>&lt;i4</c>), uint8 (<c>|u1</c>) or int8 (<c>|i1</c>) data; <c>=</c> (native little-endian) is
    /// accepted as byte-order marker. Data is widened to <see cref="double"/> (int64 values beyond 2^53 are rounded).
    /// </summary>
    /// <param name="path">The file to read.</param>
    /// <returns>The array in C order.</returns>
    /// <exception cref="NpyFormatException">The file is missing, unreadable or not a supported .npy file.</exception>
    public static NpyArray Read(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        using var fs = OpenForRead(path);
        var h = ReadHeader(fs, path);
        var data = new double[h.Count];
        try
        {
            ReadDoubles(fs, h, data);
        }
        catch (EndOfStreamException ex)
        {
            throw Truncated(path, ex);
        }
        return new NpyArray(h.Shape, data, h.DType);
    }

    /// <summary>
    /// Checks a <c>.npy</c> file as <see cref="Read(string)"/> does (magic, version, header, dtype, C order, and a size that
    /// matches the shape) without reading its data.
    /// </summary>
    /// <param name="path">The file to check.</param>
    /// <returns>The array's shape and dtype.</returns>
    /// <exception cref="NpyFormatException">The file is missing, unreadable or not a supported .npy file.</exception>
    public static (int[] Shape, string DType) Inspect(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        using var fs = OpenForRead(path);
        var h = ReadHeader(fs, path);
        return (h.Shape, h.DType);
    }

    private static NpyFormatException Truncated(string path, Exception inner) =>
        new($"'{path}': the .npy file is truncated (it ended while reading the data; was it modified while being read?). " +
            "Re-create it with np.save(path, arr).", path, inner);

    /// <summary>
    /// Reads a <c>.npy</c> file (see <see cref="Read(string)"/>) and checks its shape.
    /// </summary>
    /// <param name="path">The file to read.</param>
    /// <param name="what">The role of the array, used in messages, e.g. <c>"initial W (L, m, d)"</c>.</param>
    /// <param name="expectedShape">Expected dimensions; <c>-1</c> accepts any size in that position.
    /// The rank must match exactly.</param>
    /// <returns>The array in C order.</returns>
    /// <exception cref="NpyFormatException">The file is invalid or its shape does not match; the message names
    /// the file, <paramref name="what"/>, and the expected and actual shapes.</exception>
    public static NpyArray Read(string path, string what, params int[] expectedShape)
    {
        ArgumentNullException.ThrowIfNull(what);
        ArgumentNullException.ThrowIfNull(expectedShape);
        NpyArray a;
        try { a = Read(path); }
        catch (NpyFormatException e) when (e.Message.Contains(SupportedDTypes, StringComparison.Ordinal)) { throw FloatsListed(e, path); }
        if (!IsFloatDType(a.DType)) throw FloatsOnly(path, what, a.DType);
        CheckShape(path, what, expectedShape, a.Shape);
        return a;
    }

    private const string SupportedFloatDTypes = "'<f8' (float64), '<f4' (float32)";

    /// <summary>Whether a dtype this reader reports (<see cref="Inspect"/>, <see cref="NpyArray.DType"/>) holds floating-point
    /// numbers, as every file read in a role must (weights, losses, data).</summary>
    public static bool IsFloatDType(string dtype) => dtype is "<f8" or "<f4";

    /// <summary>
    /// A file of numbers that are not integers by nature (weights, losses, data) holding an integer dtype: refused, as
    /// docs/run-format.md says (a user's int64 w.npy and losses.npy were read and verified, VIOLATED, not refused).
    /// </summary>
    private static NpyFormatException FloatsOnly(string path, string what, string dtype) => new(
        $"'{path}': dtype '{dtype}' is an integer type, but the {what} must be floating-point numbers ({SupportedFloatDTypes}). " +
        "Save it with np.save(path, arr.astype(np.float64)).", path);

    /// <summary>A reader's dtype message for such a file: it lists the floating-point dtypes it may have, not the integer ones.</summary>
    private static NpyFormatException FloatsListed(NpyFormatException e, string path) =>
        new(e.Message.Replace(SupportedDTypes, SupportedFloatDTypes + " (this file must hold floating-point numbers)"), path);

    /// <summary>
    /// Reads a <c>.npy</c> file as <see cref="Read(string, string, int[])"/> does (the same dtypes, checks and messages),
    /// into one array per index of its leading axis (e.g. one per snapshot of an (S, L, m, d) file): each slice is read
    /// from the file straight into its own array, so a large file is neither held whole nor copied slice by slice.
    /// </summary>
    /// <param name="path">The file to read.</param>
    /// <param name="what">The role of the array, used in messages.</param>
    /// <param name="expectedShape">Expected dimensions (rank ≥ 1); <c>-1</c> accepts any size in that position.</param>
    /// <returns>The shape, the slices in order (each in C order, of the product of the trailing dimensions) and the dtype.</returns>
    /// <exception cref="NpyFormatException">As <see cref="Read(string, string, int[])"/>.</exception>
    public static (int[] Shape, double[][] Slices, string DType) ReadSlices(string path, string what, params int[] expectedShape)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(what);
        ArgumentNullException.ThrowIfNull(expectedShape);
        if (expectedShape.Length < 1) throw new ArgumentException("slices need a leading axis (rank ≥ 1)", nameof(expectedShape));
        using var fs = OpenForRead(path);
        Header h;
        try { h = ReadHeader(fs, path); }
        catch (NpyFormatException e) when (e.Message.Contains(SupportedDTypes, StringComparison.Ordinal)) { throw FloatsListed(e, path); }
        if (h.Kind is not (Kind.F8 or Kind.F4)) throw FloatsOnly(path, what, h.DType);
        CheckShape(path, what, expectedShape, h.Shape);
        int count = h.Shape[0];
        long per = count == 0 ? 0 : h.Count / count;
        var slices = new double[count][];
        var sliceHeader = new Header { Kind = h.Kind, DType = h.DType, Shape = h.Shape[1..], Count = per, ItemSize = h.ItemSize };
        try
        {
            // every entry of a slice is written by the read before any is used (a short file throws), so the arrays
            // need not be cleared first
            for (int i = 0; i < count; i++)
            {
                slices[i] = GC.AllocateUninitializedArray<double>(checked((int)per));
                ReadDoubles(fs, sliceHeader, slices[i]);
            }
        }
        catch (EndOfStreamException ex)
        {
            throw Truncated(path, ex);
        }
        return (h.Shape, slices, h.DType);
    }

    /// <summary>The shape check of <see cref="Read(string, string, int[])"/>: the rank exactly, every size but -1.</summary>
    private static void CheckShape(string path, string what, int[] expectedShape, int[] shape)
    {
        bool ok = shape.Length == expectedShape.Length;
        for (int i = 0; ok && i < expectedShape.Length; i++)
            if (expectedShape[i] != -1 && expectedShape[i] != shape[i]) ok = false;
        if (!ok)
        {
            throw new NpyFormatException(
                $"'{path}': shape mismatch for {what}: expected shape {FormatShape(expectedShape, true)} " +
                $"(rank {expectedShape.Length}, '*' = any size) but the file holds shape {FormatShape(shape, false)} " +
                $"(rank {shape.Length}). Check that this file really is the {what}, or reshape it before saving, " +
                "e.g. np.save(path, arr.reshape(...)).", path);
        }
    }

    /// <summary>
    /// Reads an integer <c>.npy</c> file exactly as 64-bit integers. int64, int32, uint8 and int8 data is
    /// converted exactly; float64/float32 data is accepted when every value is integral and fits in an int64.
    /// </summary>
    /// <param name="path">The file to read.</param>
    /// <param name="shape">Receives the array's shape.</param>
    /// <param name="integerDTypeOnly">Refuse floating-point dtypes altogether (files whose format says integer, e.g. steps.npy).</param>
    /// <returns>The elements in C order.</returns>
    /// <exception cref="NpyFormatException">The file is invalid, or holds a non-integral / out-of-range float.</exception>
    public static long[] ReadInt64(string path, out int[] shape, bool integerDTypeOnly = false)
    {
        ArgumentNullException.ThrowIfNull(path);
        using var fs = OpenForRead(path);
        Header h;
        // a file that must hold integers lists the integer dtypes it may have, not the floating ones it may not (a user's
        // int16 steps.npy was told that '<f8' and '<f4' are supported)
        try { h = ReadHeader(fs, path); }
        catch (NpyFormatException e) when (integerDTypeOnly && e.Message.Contains(SupportedDTypes, StringComparison.Ordinal))
        {
            throw new NpyFormatException(e.Message.Replace(SupportedDTypes, SupportedIntegerDTypes + " (this file must hold integers)")
                .Replace("astype(np.float64)", "astype(np.int64)"), path);
        }
        if (integerDTypeOnly && h.Kind is Kind.F8 or Kind.F4)
            throw new NpyFormatException(
                $"'{path}': dtype {h.DType} is a floating-point type, but this file must hold integers. " +
                "Save it with np.save(path, arr.astype(np.int64)).", path);
        var data = new long[h.Count];
        try
        {
            ReadLongs(fs, h, data, path);
        }
        catch (EndOfStreamException ex)
        {
            throw Truncated(path, ex);
        }
        shape = h.Shape;
        return data;
    }

    private static FileStream OpenForRead(string path)
    {
        if (!File.Exists(path))
        {
            string reason = Directory.Exists(path) ? "is a directory, not a file" : "was not found";
            throw new NpyFormatException(
                $"'{path}': .npy file {reason}. The file must exist: check the path, or create it with np.save(path, arr).",
                path);
        }
        // a .npy file has at least its header: an empty path is an empty file, a named pipe or a device (never opened: a
        // read of a pipe waits for a writer)
        if (new FileInfo(path).Length == 0)
            throw new NpyFormatException($"'{path}': is empty (too short for a .npy header) or not a regular file (a named pipe or a device); write it with np.save(path, arr).", path);
        try
        {
            return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new NpyFormatException(
                $"'{path}': cannot open the .npy file ({ex.Message}). Check that it exists and is readable.", path, ex);
        }
    }

    private static Header ReadHeader(FileStream fs, string path)
    {
        long fileLength = fs.Length;
        Span<byte> pre = stackalloc byte[12];
        int got = ReadUpTo(fs, pre[..8]);
        if (got < 6 || !pre[..6].SequenceEqual(Magic))
        {
            if (got < 6 && pre[..got].SequenceEqual(Magic.AsSpan(0, got)))
                throw TooShort(path, fileLength);
            throw new NpyFormatException(
                $"'{path}': not a .npy file (bad magic: it does not start with \\x93NUMPY). " +
                "Save the array with np.save(path, arr); .npz archives must be unpacked first (np.load(path)[name]).",
                path);
        }
        if (got < 8) throw TooShort(path, fileLength);

        int major = pre[6], minor = pre[7];
        int lenBytes;
        if (major == 1 && minor == 0) lenBytes = 2;
        else if ((major == 2 || major == 3) && minor == 0) lenBytes = 4;
        else
        {
            throw new NpyFormatException(
                $"'{path}': unsupported .npy format version {major}.{minor}; supported versions are 1.0, 2.0 and 3.0. " +
                "Re-save it with np.save(path, arr) from a standard NumPy.", path);
        }

        if (ReadUpTo(fs, pre.Slice(8, lenBytes)) < lenBytes) throw TooShort(path, fileLength);
        long headerLen = lenBytes == 2
            ? BinaryPrimitives.ReadUInt16LittleEndian(pre.Slice(8, 2))
            : BinaryPrimitives.ReadUInt32LittleEndian(pre.Slice(8, 4));
        long dataStart = 8 + lenBytes + headerLen;
        if (dataStart > fileLength)
        {
            throw new NpyFormatException(
                $"'{path}': truncated .npy header: the header claims {headerLen} bytes but the file has only " +
                $"{fileLength} bytes in total. The file is incomplete; re-create it with np.save(path, arr).", path);
        }
        if (headerLen > MaxHeaderBytes)
        {
            throw new NpyFormatException(
                $"'{path}': .npy header of {headerLen} bytes is unreasonably large (limit {MaxHeaderBytes}); " +
                "the file is corrupt or holds a complex structured dtype. Re-save a plain numeric array with np.save(path, arr).",
                path);
        }

        var headerBytes = new byte[headerLen];
        fs.ReadExactly(headerBytes);
        string text;
        if (major == 3)
        {
            try { text = new UTF8Encoding(false, true).GetString(headerBytes); }
            catch (DecoderFallbackException ex)
            {
                throw new NpyFormatException(
                    $"'{path}': malformed .npy header: version 3.0 header is not valid UTF-8. Re-save with np.save(path, arr).",
                    path, ex);
            }
        }
        else
        {
            text = Encoding.Latin1.GetString(headerBytes);
        }

        var (descr, fortran, shapeValues) = ParseHeaderDict(text, path);
        var (kind, itemSize, normDescr) = ParseDescr(descr, path);
        if (fortran)
        {
            throw new NpyFormatException(
                $"'{path}': the array is stored in Fortran (column-major) order (fortran_order: True), which is not supported. " +
                "Save it in C order with np.save(path, np.ascontiguousarray(arr)).", path);
        }

        var shape = new int[shapeValues.Count];
        long count = 1;
        bool overflow = false;
        for (int i = 0; i < shapeValues.Count; i++)
        {
            long d = shapeValues[i];
            if (d < 0)
            {
                throw new NpyFormatException(
                    $"'{path}': malformed .npy header: negative dimension {d} in shape {FormatShape(shapeValues)}. " +
                    "The file is corrupt; re-create it with np.save(path, arr).", path);
            }
            if (d > int.MaxValue)
            {
                throw new NpyFormatException(
                    $"'{path}': dimension {d} in shape {FormatShape(shapeValues)} is too large (at most {int.MaxValue} per dimension). " +
                    "Split the array into smaller files.", path);
            }
            shape[i] = (int)d;
            if (!overflow)
            {
                try { count = checked(count * d); }
                catch (OverflowException) { overflow = true; }
            }
        }
        // A zero-size dimension makes the array empty regardless of overflow elsewhere.
        if (shape.Contains(0)) { count = 0; overflow = false; }
        if (overflow || count > Array.MaxLength)
        {
            throw new NpyFormatException(
                $"'{path}': array of shape {FormatShape(shapeValues)} has too many elements to load " +
                $"(at most {Array.MaxLength} elements per array). Split it into smaller files.", path);
        }

        long expectedBytes = count * itemSize;
        long actualBytes = fileLength - dataStart;
        if (actualBytes < expectedBytes)
        {
            throw new NpyFormatException(
                $"'{path}': truncated .npy data: shape {FormatShape(shapeValues)} of dtype '{normDescr}' needs " +
                $"{expectedBytes} data bytes but the file holds only {actualBytes}. The file is incomplete " +
                "(interrupted copy or write?); re-create it with np.save(path, arr).", path);
        }
        if (actualBytes > expectedBytes)
        {
            throw new NpyFormatException(
                $"'{path}': trailing garbage in .npy file: shape {FormatShape(shapeValues)} of dtype '{normDescr}' needs " +
                $"{expectedBytes} data bytes but the file holds {actualBytes} ({actualBytes - expectedBytes} extra). " +
                "The header and data disagree (several arrays appended to one file?); save one array per file with np.save(path, arr).",
                path);
        }

        return new Header { Kind = kind, DType = normDescr, Shape = shape, Count = count, ItemSize = itemSize };
    }

    private static NpyFormatException TooShort(string path, long fileLength) =>
        new($"'{path}': the file is too short to be a .npy file ({fileLength} bytes; truncated header). " +
            "The file is incomplete or empty; re-create it with np.save(path, arr).", path);

    private static int ReadUpTo(Stream s, Span<byte> buffer)
    {
        int total = 0;
        while (total < buffer.Length)
        {
            int n = s.Read(buffer[total..]);
            if (n == 0) break;
            total += n;
        }
        return total;
    }

    private static (Kind kind, int itemSize, string normalized) ParseDescr(string descr, string path)
    {
        string d = descr.Trim();
        // steps.npy holds integers (a float dtype is refused there): its fix is the integer conversion alone
        string fix = Path.GetFileName(path) == "steps.npy"
            ? "Convert it with np.save(path, arr.astype(np.int64))."
            : "Convert it with np.save(path, arr.astype(np.float64)) (or arr.astype(np.int64) for integers).";
        if (d.Length == 0)
            throw new NpyFormatException($"'{path}': malformed .npy header: empty 'descr'. {fix}", path);

        char order = d[0];
        string body;
        if (order is '<' or '>' or '=' or '|') body = d[1..];
        else { order = '='; body = d; }

        if (body is "O" or "O8" or "O4")
        {
            throw new NpyFormatException(
                $"'{path}': the file holds an object array (dtype '{descr}'), which cannot be read without executing Python pickles. " +
                $"Supported dtypes are {SupportedDTypes}. {fix}", path);
        }

        (Kind kind, int size)? k = body switch
        {
            "f8" => (Kind.F8, 8),
            "f4" => (Kind.F4, 4),
            "i8" => (Kind.I8, 8),
            "i4" => (Kind.I4, 4),
            "u1" => (Kind.U1, 1),
            "i1" => (Kind.I1, 1),
            _ => null,
        };
        if (k is null)
        {
            throw new NpyFormatException(
                $"'{path}': unsupported dtype '{descr}'. Supported dtypes are {SupportedDTypes}. {fix}", path);
        }

        var (kind, size) = k.Value;
        bool nativeIsLittle = BitConverter.IsLittleEndian;
        bool bigEndian = size > 1 && (order == '>' || (order == '=' && !nativeIsLittle));
        if (bigEndian)
        {
            string le = "<" + body;
            throw new NpyFormatException(
                $"'{path}': big-endian data (dtype '{descr}') is not supported; only little-endian is. " +
                $"Convert with arr.astype('{le}') and save again: np.save(path, arr.astype('{le}')).", path);
        }
        if (size > 1 && order == '|')
        {
            throw new NpyFormatException(
                $"'{path}': unsupported dtype '{descr}': multi-byte types need a byte-order marker ('<'). " +
                $"Supported dtypes are {SupportedDTypes}. {fix}", path);
        }
        string normalized = (size == 1 ? "|" : "<") + body;
        return (kind, size, normalized);
    }

    private static void ReadDoubles(FileStream fs, Header h, double[] result)
    {
        long n = h.Count;
        if (n == 0) return;
        if (h.Kind == Kind.F8)
        {
            const int chunkElems = ChunkBytes / sizeof(double);
            for (long i = 0; i < n; i += chunkElems)
            {
                var span = result.AsSpan((int)i, (int)Math.Min(chunkElems, n - i));
                fs.ReadExactly(MemoryMarshal.AsBytes(span));
                if (!BitConverter.IsLittleEndian)
                {
                    var asLong = MemoryMarshal.Cast<double, long>(span);
                    BinaryPrimitives.ReverseEndianness(asLong, asLong);
                }
            }
            return;
        }

        int itemSize = h.ItemSize;
        int perChunk = ChunkBytes / itemSize;
        var buffer = new byte[(int)Math.Min((long)perChunk * itemSize, n * itemSize)];
        for (long i = 0; i < n; i += perChunk)
        {
            int m = (int)Math.Min(perChunk, n - i);
            var bytes = buffer.AsSpan(0, m * itemSize);
            fs.ReadExactly(bytes);
            var dst = result.AsSpan((int)i, m);
            switch (h.Kind)
            {
                case Kind.F4:
                    if (BitConverter.IsLittleEndian)
                    {
                        var src = MemoryMarshal.Cast<byte, float>(bytes);
                        for (int j = 0; j < m; j++) dst[j] = src[j];
                    }
                    else
                    {
                        for (int j = 0; j < m; j++) dst[j] = BinaryPrimitives.ReadSingleLittleEndian(bytes[(4 * j)..]);
                    }
                    break;
                case Kind.I8:
                    if (BitConverter.IsLittleEndian)
                    {
                        var src = MemoryMarshal.Cast<byte, long>(bytes);
                        for (int j = 0; j < m; j++) dst[j] = src[j];
                    }
                    else
                    {
                        for (int j = 0; j < m; j++) dst[j] = BinaryPrimitives.ReadInt64LittleEndian(bytes[(8 * j)..]);
                    }
                    break;
                case Kind.I4:
                    if (BitConverter.IsLittleEndian)
                    {
                        var src = MemoryMarshal.Cast<byte, int>(bytes);
                        for (int j = 0; j < m; j++) dst[j] = src[j];
                    }
                    else
                    {
                        for (int j = 0; j < m; j++) dst[j] = BinaryPrimitives.ReadInt32LittleEndian(bytes[(4 * j)..]);
                    }
                    break;
                case Kind.U1:
                    for (int j = 0; j < m; j++) dst[j] = bytes[j];
                    break;
                case Kind.I1:
                    for (int j = 0; j < m; j++) dst[j] = (sbyte)bytes[j];
                    break;
                default:
                    throw new InvalidOperationException("unreachable");
            }
        }
    }

    private static void ReadLongs(FileStream fs, Header h, long[] result, string path)
    {
        long n = h.Count;
        if (n == 0) return;
        if (h.Kind == Kind.I8)
        {
            const int chunkElems = ChunkBytes / sizeof(long);
            for (long i = 0; i < n; i += chunkElems)
            {
                var span = result.AsSpan((int)i, (int)Math.Min(chunkElems, n - i));
                fs.ReadExactly(MemoryMarshal.AsBytes(span));
                if (!BitConverter.IsLittleEndian) BinaryPrimitives.ReverseEndianness(span, span);
            }
            return;
        }

        int itemSize = h.ItemSize;
        int perChunk = ChunkBytes / itemSize;
        var buffer = new byte[(int)Math.Min((long)perChunk * itemSize, n * itemSize)];
        for (long i = 0; i < n; i += perChunk)
        {
            int m = (int)Math.Min(perChunk, n - i);
            var bytes = buffer.AsSpan(0, m * itemSize);
            fs.ReadExactly(bytes);
            var dst = result.AsSpan((int)i, m);
            switch (h.Kind)
            {
                case Kind.I4:
                    for (int j = 0; j < m; j++) dst[j] = BinaryPrimitives.ReadInt32LittleEndian(bytes[(4 * j)..]);
                    break;
                case Kind.U1:
                    for (int j = 0; j < m; j++) dst[j] = bytes[j];
                    break;
                case Kind.I1:
                    for (int j = 0; j < m; j++) dst[j] = (sbyte)bytes[j];
                    break;
                case Kind.F8:
                    for (int j = 0; j < m; j++)
                        dst[j] = ToIntegral(BinaryPrimitives.ReadDoubleLittleEndian(bytes[(8 * j)..]), i + j, h, path);
                    break;
                case Kind.F4:
                    for (int j = 0; j < m; j++)
                        dst[j] = ToIntegral(BinaryPrimitives.ReadSingleLittleEndian(bytes[(4 * j)..]), i + j, h, path);
                    break;
                default:
                    throw new InvalidOperationException("unreachable");
            }
        }
    }

    private static long ToIntegral(double v, long flatIndex, Header h, string path)
    {
        // 2^63 is exactly representable; valid longs are in [-2^63, 2^63).
        const double TwoTo63 = 9223372036854775808.0;
        if (double.IsFinite(v) && Math.Floor(v) == v && v >= -TwoTo63 && v < TwoTo63) return (long)v;
        string problem = double.IsFinite(v)
            ? (Math.Floor(v) == v ? "is outside the int64 range" : "is not an integer")
            : "is not finite";
        throw new NpyFormatException(
            $"'{path}': expected integer data, but the {h.DType} value {v.ToString("R", CultureInfo.InvariantCulture)} at index " +
            $"{FormatIndex(flatIndex, h.Shape)} {problem}. Save integer data with np.save(path, arr.astype(np.int64)).", path);
    }

    // ------------------------------------------------------------------ header dict parsing

    private static (string descr, bool fortran, List<long> shape) ParseHeaderDict(string text, string path)
    {
        var p = new DictParser(text, path);
        object? parsed = p.ParseTop();
        if (parsed is not Dictionary<string, object?> dict)
            throw p.Malformed("the header is not a dict literal");

        string[] required = { "descr", "fortran_order", "shape" };
        foreach (var key in required)
            if (!dict.ContainsKey(key))
                throw p.Malformed($"the header dict has no '{key}' key (it must contain 'descr', 'fortran_order' and 'shape')");

        if (dict["descr"] is not string descr)
        {
            if (dict["descr"] is PyList)
            {
                throw new NpyFormatException(
                    $"'{path}': unsupported dtype: the file holds a structured (record) array. Supported dtypes are {SupportedDTypes}. " +
                    "Save each field as its own plain array, e.g. np.save(path, arr['field'].astype(np.float64)).", path);
            }
            throw p.Malformed("'descr' must be a string such as '<f8'");
        }
        if (dict["fortran_order"] is not bool fortran)
            throw p.Malformed("'fortran_order' must be True or False");
        if (dict["shape"] is not PyList { IsTuple: true } shapeList)
            throw p.Malformed("'shape' must be a tuple of integers, e.g. (3, 4) or (3,) or ()");
        var shape = new List<long>(shapeList.Items.Count);
        foreach (var item in shapeList.Items)
        {
            if (item is not long dim) throw p.Malformed("'shape' must be a tuple of integers");
            shape.Add(dim);
        }
        return (descr, fortran, shape);
    }

    private sealed class PyList
    {
        public required bool IsTuple { get; init; }
        public List<object?> Items { get; } = new();
    }

    /// <summary>A tiny recursive-descent parser for the Python literal subset used in .npy headers. Evaluates nothing.</summary>
    private sealed class DictParser
    {
        private readonly string _s;
        private readonly string _path;
        private int _i;
        private const int MaxDepth = 32;

        public DictParser(string s, string path) { _s = s; _path = path; }

        public NpyFormatException Malformed(string problem)
        {
            string shown = _s.TrimEnd();
            if (shown.Length > 200) shown = shown[..200] + "...";
            return new NpyFormatException(
                $"'{_path}': malformed .npy header dict: {problem}. Header was: {shown}. " +
                "The file is corrupt or was not written by NumPy; re-create it with np.save(path, arr).", _path);
        }

        public object? ParseTop()
        {
            SkipWs();
            if (_i >= _s.Length || _s[_i] != '{') throw Malformed("expected '{' at the start of the header");
            var v = ParseValue(0);
            SkipWs();
            if (_i != _s.Length) throw Malformed($"unexpected text after the closing '}}' at position {_i}");
            return v;
        }

        private void SkipWs()
        {
            while (_i < _s.Length && (_s[_i] is ' ' or '\t' or '\n' or '\r' or '\0')) _i++;
        }

        private char Peek()
        {
            SkipWs();
            if (_i >= _s.Length) throw Malformed("unexpected end of header");
            return _s[_i];
        }

        private void Expect(char c)
        {
            if (Peek() != c) throw Malformed($"expected '{c}' at position {_i} but found '{_s[_i]}'");
            _i++;
        }

        private object? ParseValue(int depth)
        {
            if (depth > MaxDepth) throw Malformed("nesting is too deep");
            char c = Peek();
            switch (c)
            {
                case '{': return ParseDict(depth);
                case '(': return ParseSeq(')', true, depth);
                case '[': return ParseSeq(']', false, depth);
                case '\'':
                case '"': return ParseString();
            }
            if (c is '-' or '+' || char.IsAsciiDigit(c)) return ParseInt();
            if (char.IsAsciiLetter(c) || c == '_')
            {
                int start = _i;
                while (_i < _s.Length && (char.IsAsciiLetterOrDigit(_s[_i]) || _s[_i] == '_')) _i++;
                string word = _s[start.._i];
                return word switch
                {
                    "True" => true,
                    "False" => false,
                    "None" => null,
                    _ => throw Malformed($"unexpected name '{word}' (only literals are allowed)"),
                };
            }
            throw Malformed($"unexpected character '{c}' at position {_i}");
        }

        private Dictionary<string, object?> ParseDict(int depth)
        {
            Expect('{');
            var d = new Dictionary<string, object?>(StringComparer.Ordinal);
            while (true)
            {
                if (Peek() == '}') { _i++; return d; }
                if (Peek() is not ('\'' or '"')) throw Malformed($"dict keys must be quoted strings (position {_i})");
                string key = ParseString();
                Expect(':');
                var value = ParseValue(depth + 1);
                if (!d.TryAdd(key, value)) throw Malformed($"duplicate key '{key}'");
                char c = Peek();
                if (c == ',') { _i++; continue; }
                if (c == '}') { _i++; return d; }
                throw Malformed($"expected ',' or '}}' at position {_i} but found '{c}'");
            }
        }

        private PyList ParseSeq(char close, bool tuple, int depth)
        {
            _i++; // opening bracket
            var list = new PyList { IsTuple = tuple };
            bool sawComma = false;
            while (true)
            {
                if (Peek() == close) { _i++; break; }
                list.Items.Add(ParseValue(depth + 1));
                char c = Peek();
                if (c == ',') { _i++; sawComma = true; continue; }
                if (c == close) { _i++; break; }
                throw Malformed($"expected ',' or '{close}' at position {_i} but found '{c}'");
            }
            // In Python, "(3)" is just the integer 3, not a tuple.
            if (tuple && list.Items.Count == 1 && !sawComma)
                throw Malformed("a one-element tuple needs a trailing comma, e.g. (3,)");
            return list;
        }

        private string ParseString()
        {
            char q = _s[_i++];
            var sb = new StringBuilder();
            while (true)
            {
                if (_i >= _s.Length) throw Malformed("unterminated string");
                char c = _s[_i++];
                if (c == q) return sb.ToString();
                if (c == '\n') throw Malformed("unterminated string");
                if (c == '\\')
                {
                    if (_i >= _s.Length) throw Malformed("unterminated string");
                    char e = _s[_i++];
                    sb.Append(e switch { 'n' => '\n', 't' => '\t', 'r' => '\r', '0' => '\0', _ => e });
                }
                else sb.Append(c);
            }
        }

        private long ParseInt()
        {
            int start = _i;
            bool neg = false;
            if (_s[_i] is '-' or '+') { neg = _s[_i] == '-'; _i++; }
            SkipWs();
            int digitsStart = _i;
            while (_i < _s.Length && char.IsAsciiDigit(_s[_i])) _i++;
            if (_i == digitsStart) throw Malformed($"expected a number at position {start}");
            string digits = _s[digitsStart.._i];
            if (_i < _s.Length && _s[_i] is 'L' or 'l') _i++; // Python 2 long suffix
            if (_i < _s.Length && (char.IsAsciiLetterOrDigit(_s[_i]) || _s[_i] is '.' or '_'))
                throw Malformed($"'{_s[start..(_i + 1)]}' is not an integer");
            if (!long.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out long v))
                throw Malformed($"integer {digits} is too large");
            return neg ? -v : v;
        }
    }

    // ------------------------------------------------------------------ writing

    /// <summary>Writes a float64 (<c>&lt;f8</c>) array in C order as a version 1.0 <c>.npy</c> file, atomically
    /// (temporary file in the same directory, flushed, then renamed over <paramref name="path"/>).</summary>
    /// <param name="path">Destination; replaced if it exists. Its directory must exist.</param>
    /// <param name="data">Elements in C order; the length must equal the product of <paramref name="shape"/>.</param>
    /// <param name="shape">Dimensions (none for a scalar, which needs exactly one element).</param>
    /// <exception cref="ArgumentException">A dimension is negative or the shape does not match the data length.</exception>
    public static void Write(string path, ReadOnlySpan<double> data, params int[] shape)
        => WriteTyped(path, data, shape, "<f8", 8, static (b, x) => BinaryPrimitives.WriteDoubleLittleEndian(b, x));

    /// <summary>Writes a float32 (<c>&lt;f4</c>) array in C order as a version 1.0 <c>.npy</c> file, atomically
    /// (temporary file in the same directory, flushed, then renamed over <paramref name="path"/>).</summary>
    /// <param name="path">Destination; replaced if it exists. Its directory must exist.</param>
    /// <param name="data">Elements in C order; the length must equal the product of <paramref name="shape"/>.</param>
    /// <param name="shape">Dimensions (none for a scalar, which needs exactly one element).</param>
    /// <exception cref="ArgumentException">A dimension is negative or the shape does not match the data length.</exception>
    public static void Write(string path, ReadOnlySpan<float> data, params int[] shape)
        => WriteTyped(path, data, shape, "<f4", 4, static (b, x) => BinaryPrimitives.WriteSingleLittleEndian(b, x));

    /// <summary>Writes an int64 (<c>&lt;i8</c>) array in C order as a version 1.0 <c>.npy</c> file, atomically
    /// (temporary file in the same directory, flushed, then renamed over <paramref name="path"/>).</summary>
    /// <param name="path">Destination; replaced if it exists. Its directory must exist.</param>
    /// <param name="data">Elements in C order; the length must equal the product of <paramref name="shape"/>.</param>
    /// <param name="shape">Dimensions (none for a scalar, which needs exactly one element).</param>
    /// <exception cref="ArgumentException">A dimension is negative or the shape does not match the data length.</exception>
    public static void WriteInt64(string path, ReadOnlySpan<long> data, params int[] shape)
        => WriteTyped(path, data, shape, "<i8", 8, static (b, x) => BinaryPrimitives.WriteInt64LittleEndian(b, x));

    /// <summary>
    /// Checks that every element of <paramref name="a"/> is finite (no NaN or infinity).
    /// </summary>
    /// <param name="a">The array to check.</param>
    /// <param name="path">The file the array came from, used in the message.</param>
    /// <param name="what">The role of the array, used in the message, e.g. <c>"initial W (L, m, d)"</c>.</param>
    /// <exception cref="NpyFormatException">An element is NaN or infinite; the message names the first such
    /// element as a multi-index and how many there are in total.</exception>
    public static void RequireFinite(NpyArray a, string path, string what)
    {
        ArgumentNullException.ThrowIfNull(a);
        var data = a.Data;
        int first = -1;
        for (int i = 0; i < data.Length; i++)
        {
            if (!double.IsFinite(data[i])) { first = i; break; }
        }
        if (first < 0) return;
        long total = 0;
        for (int i = first; i < data.Length; i++)
            if (!double.IsFinite(data[i])) total++;
        double v = data[first];
        string kind = double.IsNaN(v) ? "NaN" : v > 0 ? "+inf" : "-inf";
        throw new NpyFormatException(
            $"'{path}': {what} contains a non-finite value ({kind}) at index {FormatIndex(first, a.Shape)} " +
            $"(flat index {first}; {total} non-finite value{(total == 1 ? "" : "s")} in total, shape {FormatShape(a.Shape, false)}). " +
            "Fix the data that produced it, e.g. check np.isfinite(arr).all() before np.save(path, arr).", path);
    }

    private static void CheckShape(string path, int length, int[] shape)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(shape);
        long product = 1;
        foreach (int d in shape)
        {
            if (d < 0)
                throw new ArgumentException($"Shape {FormatShape(shape, false)} has a negative dimension.", nameof(shape));
            product = d == 0 || product == 0 ? 0 : (product > int.MaxValue ? product : product * d);
        }
        if (product != length)
        {
            throw new ArgumentException(
                $"Shape {FormatShape(shape, false)} needs {product} elements but {length} were given (writing '{path}').",
                nameof(shape));
        }
    }

    /// <summary>The common body of the typed writers: header, little-endian data, flush, atomic rename.</summary>
    private static void WriteTyped<T>(string path, ReadOnlySpan<T> data, int[] shape, string descr, int size, SpanAction<T> writeLittleEndian)
        where T : unmanaged
    {
        CheckShape(path, data.Length, shape);
        string tmp = BeginWrite(path, descr, shape, out var fs);
        try
        {
            using (fs)
            {
                if (BitConverter.IsLittleEndian) WriteRaw(fs, data);
                else
                {
                    var buf = new byte[ChunkBytes];
                    for (int i = 0; i < data.Length; i += ChunkBytes / size)
                    {
                        int m = Math.Min(ChunkBytes / size, data.Length - i);
                        for (int j = 0; j < m; j++) writeLittleEndian(buf.AsSpan(size * j), data[i + j]);
                        fs.Write(buf, 0, size * m);
                    }
                }
                fs.Flush(flushToDisk: true);
            }
            File.Move(tmp, path, overwrite: true);
            InFlightFiles.Remove(tmp);
        }
        catch
        {
            TryDelete(tmp);
            throw;
        }
    }

    private delegate void SpanAction<T>(Span<byte> destination, T value);

    private static void WriteRaw<T>(FileStream fs, ReadOnlySpan<T> data) where T : unmanaged
    {
        int per = ChunkBytes / Marshal.SizeOf<T>();
        for (int i = 0; i < data.Length; i += per)
            fs.Write(MemoryMarshal.AsBytes(data.Slice(i, Math.Min(per, data.Length - i))));
    }

    /// <summary>Builds the full preamble (magic, version, length, padded header) for a C-order array.</summary>
    internal static byte[] BuildPreamble(string descr, int[] shape)
    {
        var sb = new StringBuilder();
        sb.Append("{'descr': '").Append(descr).Append("', 'fortran_order': False, 'shape': (");
        for (int i = 0; i < shape.Length; i++)
        {
            if (i > 0) sb.Append(", ");
            sb.Append(shape[i].ToString(CultureInfo.InvariantCulture));
        }
        if (shape.Length == 1) sb.Append(',');
        sb.Append("), }");

        int major = 1, lenBytes = 2;
        int unpadded = 6 + 2 + lenBytes + sb.Length + 1;
        int total = (unpadded + 63) / 64 * 64;
        if (total - 10 > ushort.MaxValue)
        {
            major = 2; lenBytes = 4;
            unpadded = 6 + 2 + lenBytes + sb.Length + 1;
            total = (unpadded + 63) / 64 * 64;
        }
        sb.Append(' ', total - unpadded).Append('\n');
        int headerLen = total - 8 - lenBytes;

        var pre = new byte[total];
        Magic.CopyTo(pre, 0);
        pre[6] = (byte)major;
        pre[7] = 0;
        if (lenBytes == 2) BinaryPrimitives.WriteUInt16LittleEndian(pre.AsSpan(8), (ushort)headerLen);
        else BinaryPrimitives.WriteUInt32LittleEndian(pre.AsSpan(8), (uint)headerLen);
        Encoding.ASCII.GetBytes(sb.ToString(), 0, sb.Length, pre, 8 + lenBytes);
        return pre;
    }

    /// <summary>Creates the temporary file next to <paramref name="path"/> and writes the preamble to it.</summary>
    private static string BeginWrite(string path, string descr, int[] shape, out FileStream fs)
    {
        var preamble = BuildPreamble(descr, shape);
        string tmp = path + ".tmp-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));
        fs = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16);
        InFlightFiles.Add(tmp);
        try
        {
            fs.Write(preamble);
        }
        catch
        {
            fs.Dispose();
            TryDelete(tmp);
            throw;
        }
        return tmp;
    }

    private static void TryDelete(string file)
    {
        try { File.Delete(file); }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { /* best effort */ }
        InFlightFiles.Remove(file);
    }

    // ------------------------------------------------------------------ formatting

    private static string FormatShape(IReadOnlyList<int> shape, bool wildcard)
    {
        var parts = shape.Select(d => wildcard && d == -1 ? "*" : d.ToString(CultureInfo.InvariantCulture)).ToList();
        return parts.Count == 1 ? $"({parts[0]},)" : $"({string.Join(", ", parts)})";
    }

    private static string FormatShape(IReadOnlyList<long> shape)
    {
        var parts = shape.Select(d => d.ToString(CultureInfo.InvariantCulture)).ToList();
        return parts.Count == 1 ? $"({parts[0]},)" : $"({string.Join(", ", parts)})";
    }

    /// <summary>Formats a flat C-order index as a multi-index such as <c>[1, 0, 2]</c> (<c>[]</c> for a scalar).</summary>
    internal static string FormatIndex(long flat, int[] shape)
    {
        var idx = new long[shape.Length];
        for (int k = shape.Length - 1; k >= 0; k--)
        {
            int d = shape[k];
            if (d == 0) break;
            idx[k] = flat % d;
            flat /= d;
        }
        return "[" + string.Join(", ", idx.Select(x => x.ToString(CultureInfo.InvariantCulture))) + "]";
    }
}
