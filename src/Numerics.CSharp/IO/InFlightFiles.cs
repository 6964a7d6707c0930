using System.Collections.Concurrent;

namespace ResOdeProofs.Numerics.IO;

/// <summary>
/// The temporary files the tool is writing at this moment (a fresh name beside the final one, renamed over it when complete):
/// each writer adds its temporary before the first byte and removes it once renamed or deleted. A process ended by a signal
/// outside a command's own handling (the command line's fallback, which exits at once without running the writers' clean-up)
/// deletes what is still listed, so no half-written temporary of ours is left in a user's directory. Only files this process
/// created are ever listed, so nothing else is deleted.
/// </summary>
public static class InFlightFiles
{
    private static readonly ConcurrentDictionary<string, byte> Paths = new(StringComparer.Ordinal);

    /// <summary>Lists a temporary this process has just created.</summary>
    public static void Add(string path) => Paths[path] = 0;

    /// <summary>Unlists a temporary (renamed over its target, or deleted).</summary>
    public static void Remove(string path) => Paths.TryRemove(path, out _);

    /// <summary>Deletes every listed temporary that still exists (best effort) and returns how many it deleted.</summary>
    public static int DeleteAll()
    {
        int deleted = 0;
        foreach (var path in Paths.Keys)
        {
            try
            {
                if (File.Exists(path)) { File.Delete(path); deleted++; }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { /* the process is ending: best effort */ }
            Paths.TryRemove(path, out _);
        }
        return deleted;
    }

    /// <summary>
    /// Writes a file through a temporary: <paramref name="write"/> fills a fresh file created beside <paramref name="path"/>
    /// (never an existing one: CreateNew), which is then renamed over <paramref name="path"/>; a reader never sees half a file,
    /// a failure leaves the former file and no temporary, and the temporary is listed while it exists.
    /// </summary>
    public static void WriteThrough(string path, Action<Stream> write)
    {
        var tmp = path + ".tmp-" + Guid.NewGuid().ToString("N")[..8];
        Add(tmp);
        try
        {
            using (var fs = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16))
            {
                write(fs);
                fs.Flush(flushToDisk: true);
            }
            File.Move(tmp, path, overwrite: true);
        }
        finally
        {
            try { if (File.Exists(tmp)) File.Delete(tmp); }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { /* the exception in flight says more */ }
            Remove(tmp);
        }
    }

    /// <summary><see cref="WriteThrough"/> of a UTF-8 text (no byte-order mark, as File.WriteAllText writes it).</summary>
    public static void WriteTextThrough(string path, string text) =>
        WriteThrough(path, s => { using var w = new StreamWriter(s, new System.Text.UTF8Encoding(false), 1 << 16, leaveOpen: true); w.Write(text); });
}
