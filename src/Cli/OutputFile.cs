namespace ResOdeProofs.Cli;

/// <summary>
/// The claim of one output file given by an option (an index, evidence columns), before any work: its directory exists
/// and takes a file, and what is at the path is nothing, or a file this option wrote (<c>isOurs</c>, asked only of a
/// regular file with bytes in it, so that a named pipe is never opened). A directory, a link, an empty file, a pipe or
/// a file of someone else's is refused with what to do.
/// </summary>
internal static class OutputFile
{
    public static void Claim(string path, string option, Func<string, bool> isOurs)
    {
        var full = Path.GetFullPath(path);
        var dir = Path.GetDirectoryName(full);
        if (dir is null || !Directory.Exists(dir)) throw new ArgumentException($"{option} {path}: the directory does not exist");
        if (Directory.Exists(full)) throw new ArgumentException($"{option} {path}: is a directory; give the path of a file");
        if (new FileInfo(full).LinkTarget is string link)
            throw new ArgumentException($"{option} {path}: is a symbolic link (to {link}); refusing to replace it (give the file it points to)");
        if (File.Exists(full))
        {
            bool ours;
            try { ours = new FileInfo(full).Length > 0 && isOurs(full); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { ours = false; }
            if (!ours) throw new ArgumentException($"{option} {path}: the file exists and was not written by resode {option} (or is empty, a pipe or a device); refusing to replace it (move it away first)");
        }
        var probe = Path.Combine(dir, $".{Path.GetFileName(full)}.tmp-{Guid.NewGuid().ToString("N")[..8]}");
        try { using (new FileStream(probe, FileMode.CreateNew, FileAccess.Write)) { } }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new IOException($"{option} {path}: cannot write in {dir} ({e.Message}); choose a place you can write");
        }
        finally { if (File.Exists(probe)) File.Delete(probe); }
    }
}
