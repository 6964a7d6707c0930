namespace ResOdeProofs.Cli;

/// <summary>
/// One output file given by an option (an index, evidence columns, bench's JSON): claimed before any work, written whole.
/// The claim: its directory exists and takes a file (<see cref="ProbeWritable"/>), and what is at the path is nothing, or
/// a file this option wrote (<c>isOurs</c>, asked only of a regular file with bytes in it, so that a named pipe is never
/// opened). A directory, a link, an empty file, a pipe or a file of someone else's is refused with what to do.
/// </summary>
internal static class OutputFile
{
    public static void Claim(string path, string option, Func<string, bool> isOurs)
    {
        var full = Path.GetFullPath(path);
        var dir = Path.GetDirectoryName(full);
        if (dir is null || !Directory.Exists(dir)) throw new ArgumentException($"{option} {path}: the directory does not exist");
        if (Directory.Exists(full)) throw new ArgumentException($"{option} {path}: is a directory; give the path of a file (e.g. {Path.Combine(path, "out")})");
        if (new FileInfo(full).LinkTarget is string link)
            throw new ArgumentException($"{option} {path}: is a symbolic link (to {link}); refusing to replace it (give the file it points to)");
        if (File.Exists(full))
        {
            bool ours;
            try { ours = new FileInfo(full).Length > 0 && isOurs(full); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { ours = false; }
            if (!ours) throw new ArgumentException($"{option} {path}: the file exists and was not written by resode {option} (or is empty, a pipe or a device); refusing to replace it (move it away first)");
        }
        ProbeWritable(dir, Path.GetFileName(full), $"{option} {path}: cannot write in {dir}", "choose a place you can write");
    }

    /// <summary>
    /// Checks that <paramref name="dir"/> takes a file: one of a fresh name beside <paramref name="name"/> is created there
    /// and removed. Throws an IOException "<paramref name="what"/> (reason); <paramref name="remedy"/>" otherwise, before any
    /// work, so that a read-only place is not found out after it.
    /// </summary>
    public static void ProbeWritable(string dir, string name, string what, string remedy)
    {
        var probe = Path.Combine(dir, $".{name}.tmp-{Guid.NewGuid().ToString("N")[..8]}");
        try { using (new FileStream(probe, FileMode.CreateNew, FileAccess.Write)) { } }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { throw new IOException($"{what} ({e.Message}); {remedy}"); }
        finally { if (File.Exists(probe)) File.Delete(probe); }
    }

    /// <summary>Writes <paramref name="text"/> to a file of a fresh name beside <paramref name="path"/> and renames it over:
    /// a reader never sees half a file, a failure leaves the former one, and no temporary is left either way.</summary>
    public static void WriteAtomically(string path, string text) => ResOdeProofs.Numerics.IO.InFlightFiles.WriteTextThrough(path, text);
}
