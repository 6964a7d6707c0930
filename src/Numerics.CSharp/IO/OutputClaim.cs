using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace ResOdeProofs.Numerics.IO;

/// <summary>
/// An output path that cannot be used (a file, the working directory, a directory of someone else's files,
/// a place that cannot be written, another writer at work). The message says what is there and what to do.
/// </summary>
public sealed class OutputException : IOException
{
    /// <summary>Creates the exception.</summary>
    public OutputException(string message, Exception? inner = null) : base(message, inner) { }
}

/// <summary>
/// The exclusive claim of an output directory, taken before any work is done:
/// <list type="number">
/// <item>the path is checked: not a file, not the working directory or one of its parents, and, when it exists and
/// is not empty, replaceable only with force and only when resode wrote everything in it (<see cref="Describe"/>);</item>
/// <item>a lock file <c>.NAME.lock</c> beside the target is created and held with an exclusive lock for the
/// life of the claim (a second writer fails at once; the lock dies with its process, so a crash leaves a
/// stale file that the next writer takes over);</item>
/// <item>partial directories left by a killed writer of the same target are removed;</item>
/// <item>the partial directory <c>.NAME.partial-XXXXXXXX</c> is created, proving that the place is writable.</item>
/// </list>
/// <c>Commit</c> records the manifest of what was written (<c>.resode-output</c>) and moves the partial
/// directory into place without replacing anything that is not ours; disposing an uncommitted claim
/// removes the partial directory. The lock is released on dispose.
/// </summary>
public sealed class OutputClaim : IDisposable
{
    /// <summary>Manifest file written into every output directory: who wrote it and every file it holds.</summary>
    public const string ManifestName = ".resode-output";
    /// <summary>Marker inside a partial directory: the pid of its writer (a partial with it is ours to remove).</summary>
    public const string PartialMarkerName = ".resode-partial";
    /// <summary>Files that resode writes into an existing output later (verify's verdicts): beside a run.json of the output,
    /// and only when the file is one verify wrote (<see cref="IsVerdictsFile"/>).</summary>
    private static readonly string[] LaterFiles = { "verdicts.json" };

    private readonly string _kind;
    private readonly bool _force;
    private string _replacing = "--force";
    // the target existed, empty, when it was claimed (a later refusal says so instead of "appeared")
    private bool _emptyAtClaim;
    private FileStream? _lock;
    private readonly string _lockPath;
    private bool _committed, _keepPartial;

    /// <summary>The target as the user gave it (for messages).</summary>
    public string Display { get; }
    /// <summary>Absolute path of the target directory.</summary>
    public string Target { get; }
    /// <summary>The partial directory to write into; it becomes <see cref="Target"/> on <c>Commit</c>.</summary>
    public string Partial { get; }
    /// <summary>What the claim found and did on the way (stale partial directories removed or left).</summary>
    public IReadOnlyList<string> Notes => _notes;
    private readonly List<string> _notes = new();
    private int _notesTaken;

    /// <summary>The notes not yet taken (those of the claim, then any the commit adds), once each.</summary>
    public IReadOnlyList<string> TakeNotes()
    {
        var fresh = _notes.Skip(_notesTaken).ToList();
        _notesTaken = _notes.Count;
        return fresh;
    }

    private OutputClaim(string display, string target, string kind, bool force, string lockPath, FileStream lockStream, string partial)
    {
        Display = display; Target = target; _kind = kind; _force = force; _lockPath = lockPath; _lock = lockStream; Partial = partial;
    }

    /// <summary>
    /// Claims <paramref name="dir"/> for a new output of <paramref name="kind"/> ("run", "report", "fashion", …).
    /// Throws <see cref="OutputException"/> when the output cannot or must not be written.
    /// </summary>
    public static OutputClaim Acquire(string dir, bool force, string kind) => Acquire(dir, force, kind, "--force");

    /// <summary>
    /// <see cref="Acquire(string, bool, string)"/> where the replacement was asked for by <paramref name="replacing"/>, the
    /// words a refusal names it by ("--force" for an option the user gave; a command that replaces its own earlier output
    /// without one says so, e.g. "replacing the earlier report").
    /// </summary>
    public static OutputClaim Acquire(string dir, bool force, string kind, string replacing)
    {
        if (string.IsNullOrWhiteSpace(dir)) throw new OutputException("the output path is empty: give a directory, e.g. --out runs/NAME");
        var full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(dir));
        var cwd = Path.TrimEndingDirectorySeparator(Path.GetFullPath(Environment.CurrentDirectory));
        var parent = Path.GetDirectoryName(full);
        var name = Path.GetFileName(full);
        if (parent is null || name.Length == 0 || IsSameOrAncestor(full, cwd) || IsSameOrAncestor(Resolved(full), Resolved(cwd)))
            throw new OutputException($"{dir} is the working directory or one of its parents: resode never writes over it; choose a new subdirectory, e.g. --out runs/NAME");
        CheckTarget(dir, full, force, kind, replacing);
        ProbeEmptyTarget(dir, full);
        try { Directory.CreateDirectory(parent); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            string? file = null;
            for (var p = parent; p is not null && file is null; p = Path.GetDirectoryName(p)) if (File.Exists(p)) file = p;
            string reason = file is null ? Reason(e) : $"{file} is a file, not a directory";
            throw new OutputException($"cannot create the parent directory of {dir} ({reason}); choose an --out in a place you can write");
        }
        var lockPath = Path.Combine(parent, $".{name}.lock");
        var lockStream = TakeLock(dir, parent, name, lockPath);
        string partial = "";
        try
        {
            var notes = CleanStalePartials(parent, name);
            partial = Path.Combine(parent, $".{name}.partial-{Guid.NewGuid().ToString("N")[..8]}");
            Directory.CreateDirectory(partial);
            File.WriteAllText(Path.Combine(partial, PartialMarkerName), $"{Environment.ProcessId}\n");
            var claim = new OutputClaim(dir, full, kind, force, lockPath, lockStream, partial) { _replacing = replacing, _emptyAtClaim = Directory.Exists(full) };
            claim._notes.AddRange(notes);
            return claim;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            if (partial.Length > 0) TryDelete(partial);
            Release(lockPath, lockStream);
            if (e is OutputException) throw;
            // a name near the file system's limit: the hidden partial directory beside it (.NAME.partial-XXXXXXXX) is longer
            if (e is PathTooLongException || name.Length + 18 > 255)
                throw new OutputException($"the name {name.Length} characters long is too long for resode's working directory beside it (.NAME.partial-XXXXXXXX, 18 characters more, at most 255 in all): choose a shorter --out");
            throw new OutputException($"cannot write in {Path.GetDirectoryName(Path.GetFullPath(dir))} ({Reason(e)}); choose an --out in a place you can write");
        }
    }

    /// <summary>
    /// Fills the partial directory with <paramref name="fill"/> and commits it; on any failure the partial directory
    /// is removed and an existing target is left as it was.
    /// </summary>
    public void Commit(Action<string> fill)
    {
        try { fill(Partial); }
        catch { TryDelete(Partial); throw; }
        Commit();
    }

    /// <summary>
    /// Writes the manifest and moves the partial directory to the target. An existing target is replaced only if the
    /// claim was made with force and everything in it is still ours; a target that appeared meanwhile is never replaced
    /// (the finished output then stays in the partial directory, named in the message).
    /// </summary>
    public void Commit()
    {
        if (_committed) throw new InvalidOperationException("the output was already committed");
        File.Delete(Path.Combine(Partial, PartialMarkerName));
        WriteManifest(Partial, _kind);
        // From here on the partial directory holds a finished output: it is never removed, even when it cannot be moved.
        _keepPartial = true;
        string keep = $"the finished output is kept in {Partial}; move it where you want it";
        if (File.Exists(Target) || IsLink(Target))
            throw new OutputException($"{Display} appeared as a file or link while resode was working; {keep}");
        string? old = null;
        if (_asideLabel is not null && Directory.Exists(Target) && Directory.EnumerateFileSystemEntries(Target).Any())
        {
            string parent = Path.GetDirectoryName(Target)!, name = Path.GetFileName(Target);
            string shown = Path.TrimEndingDirectorySeparator(Display);
            for (int i = 1; i <= 100; i++)
            {
                string suffix = i == 1 ? $".{_asideLabel}" : $".{_asideLabel}-{i}";
                if (MoveNoReplace(Partial, Path.Combine(parent, name + suffix)))
                {
                    _committed = true;
                    CommittedDisplay = shown + suffix;
                    _notes.Add(_force
                        ? $"{Display} is kept as it was: --force replaces it only with a completed output; this one is in {CommittedDisplay}"
                        : $"{Display} was filled while resode was working and is kept as it was; this output is in {CommittedDisplay}");
                    return;
                }
            }
            throw new OutputException($"{Display} is kept as it was (--force replaces it only with a completed output), and no free name {name}.{_asideLabel}[-N] was found beside it; {keep}");
        }
        if (Directory.Exists(Target))
        {
            if (!Directory.EnumerateFileSystemEntries(Target).Any())
            {
                // an empty directory the user made for the output is not replaced: it stays the same directory (its owner,
                // permission bits, ACLs and inode) and the output's entries are moved into it
                MoveEntriesInto(Target, keep);
                _committed = true;
                CommittedDisplay = Display;
                TryDeleteEmpty(Partial);
                return;
            }
            if (!_force)
                throw new OutputException(_emptyAtClaim
                    ? $"{Display} was empty when resode began and files were put in it while resode was working; {keep}"
                    : $"{Display} appeared while resode was working and is not empty; {keep}");
            if (Describe(Target, _kind) is string why) throw new OutputException($"{_replacing} refused: {Display} changed while resode was working: {why}; {keep}");
            old = Path.Combine(Path.GetDirectoryName(Target)!, $".{Path.GetFileName(Target)}.old-{Guid.NewGuid().ToString("N")[..8]}");
            Directory.Move(Target, old);
        }
        if (!MoveNoReplace(Partial, Target))
        {
            if (old is not null && !Directory.Exists(Target)) Directory.Move(old, Target);
            throw new OutputException($"{Display} appeared while resode was working; {keep}");
        }
        _committed = true;
        CommittedDisplay = Display;
        if (old is not null)
        {
            // the new output is in place: a failure to remove the replaced one leaves it, named, and is not an error
            try { Directory.Delete(old, recursive: true); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                _notes.Add($"the replaced output is left in {old}: it could not be removed ({Reason(e)}); remove it yourself once you have looked at it");
            }
        }
    }

    /// <summary>
    /// Makes the commit keep an existing non-empty target whatever --force said: the output goes beside it instead, to the
    /// first free name NAME.LABEL, NAME.LABEL-2, … (renamed without replacing anything), said in a note. For an output that
    /// must not replace a finished one: an interrupted or diverged run (--force promises a replacement by a completed run
    /// only). An empty or missing target still takes the output.
    /// </summary>
    public void KeepExistingTarget(string label) => _asideLabel = label;
    private string? _asideLabel;

    /// <summary>Where the committed output is, as given on the command line (<see cref="Display"/>, or the name beside it
    /// that <see cref="KeepExistingTarget"/> chose); null before the commit.</summary>
    public string? CommittedDisplay { get; private set; }

    /// <summary>Releases the lock; an uncommitted partial directory is removed.</summary>
    public void Dispose()
    {
        if (!_committed && !_keepPartial) TryDelete(Partial);
        if (_lock is not null) { Release(_lockPath, _lock); _lock = null; }
    }

    /// <summary>
    /// Why <paramref name="dir"/> may not be replaced by a new output of <paramref name="kind"/>, or null when it may:
    /// resode wrote it (its manifest lists what it wrote) and it holds nothing else.
    /// </summary>
    public static string? Describe(string dir, string kind)
    {
        if (IsLink(dir)) return $"it is a symbolic link to {new DirectoryInfo(dir).LinkTarget}, not a directory resode wrote";
        List<string> entries;
        try
        {
            // nothing unreadable is skipped: a directory resode cannot list may hold anything, so it is not replaced
            entries = Directory.EnumerateFiles(dir, "*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0, IgnoreInaccessible = false })
                .Select(f => Path.GetRelativePath(dir, f).Replace(Path.DirectorySeparatorChar, '/')).ToList();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return $"resode cannot read all of it ({Reason(e)}), so it cannot tell that it holds nothing else";
        }
        // only the manifest says what resode wrote: a run.json "created by resode" says nothing of the files beside it (a copied
        // run.json beside the user's own a.npy, theta.npy or trace/notes.npy once counted them as resode's, and --force
        // deleted them); a run directory written before manifests is not replaced, the user moves it
        HashSet<string>? ours = ReadManifest(dir, kind, out string? problem, out HashSet<string> ourDirs, out var written);
        if (ours is null)
            return problem ?? $"it is not an output resode may replace (no {ManifestName} manifest, which every replaceable output of resode holds: a directory of the user's, a study output of `sweep run` or a run directory written before manifests is never replaced: move it away or choose another --out); it holds {Sample(entries, dir)}";
        // a later file counts as ours beside a run.json of ours (where verify writes it), never elsewhere
        bool LaterOurs(string e)
        {
            if (!LaterFiles.Contains(Path.GetFileName(e))) return false;
            int slash = e.LastIndexOf('/');
            string runJson = slash < 0 ? "run.json" : e[..(slash + 1)] + "run.json";
            return ours.Contains(runJson) && IsVerdictsFile(Path.Combine(dir, e));
        }
        var resodes = entries.Where(e => ours.Contains(e) || LaterOurs(e)).ToHashSet(StringComparer.Ordinal);
        // a file resode wrote whose content has changed since (the user's edit, e.g. a line added to report.md) is the user's
        var edited = new List<string>();
        try
        {
            foreach (var e in resodes)
                if (written.TryGetValue(e, out var h) && ContentHash(Path.Combine(dir, e)) != h) edited.Add(e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return $"resode cannot read all of it ({Reason(e)}), so it cannot tell that it holds nothing else";
        }
        resodes.ExceptWith(edited);
        // a verdicts.json beside a run.json of ours that is not one verify wrote as it wrote it: said as such (edited since,
        // or written by hand or by a resode before its seal), not only listed
        var foreign = entries.Where(e => !resodes.Contains(e))
            .Select(e => edited.Contains(e) ? e + " (edited since resode wrote it: its SHA-256 is not the one the manifest records)"
                       : LaterFiles.Contains(Path.GetFileName(e)) ? e + " (not as `resode verify` wrote it: edited since, or written by hand or before its content_sha256 seal)" : e).ToList();
        // a directory is resode's when its manifest lists it or it holds a file of resode's; any other (an empty one the user
        // made, say) would be removed with the output without a byte of it listed above
        var holding = new HashSet<string>(StringComparer.Ordinal);
        foreach (var e in resodes)
            for (int slash = e.LastIndexOf('/'); slash > 0; slash = e.LastIndexOf('/', slash - 1)) holding.Add(e[..slash]);
        // one pass over every entry: resode writes no symbolic links (one inside, to a file or a directory, whatever its
        // name, is the user's), and the directories by the rule above
        try
        {
            foreach (var info in new DirectoryInfo(dir).EnumerateFileSystemInfos("*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0, IgnoreInaccessible = false }))
            {
                string rel = Path.GetRelativePath(dir, info.FullName).Replace(Path.DirectorySeparatorChar, '/');
                if (info.LinkTarget is not null) foreign.Add(rel + " (a symbolic link)");
                else if (info is DirectoryInfo && !ourDirs.Contains(rel) && !holding.Contains(rel)) foreign.Add(rel + "/ (a directory resode did not make)");
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return $"resode cannot read all of it ({Reason(e)}), so it cannot tell that it holds nothing else";
        }
        foreign = foreign.Distinct().ToList();
        if (foreign.Count > 0)
            return $"it holds files its {ManifestName} does not list (the user's, or another command's, e.g. a report `sweep merge` wrote inside it): {Sample(foreign, dir)}";
        return null;
    }

    /// <summary>
    /// An existing empty target is where the output's entries will be renamed at the end (<see cref="Commit()"/>): that it
    /// takes a new entry is tried now, before the work (a file created and removed at once), so that a directory resode may
    /// not write in fails the command at its start, not after the work with the output left beside it.
    /// </summary>
    private static void ProbeEmptyTarget(string dir, string full)
    {
        if (!Directory.Exists(full) || Directory.EnumerateFileSystemEntries(full).Any()) return;
        string probe = Path.Combine(full, $".resode-probe-{Guid.NewGuid().ToString("N")[..8]}");
        try
        {
            using (new FileStream(probe, FileMode.CreateNew, FileAccess.Write)) { }
            File.Delete(probe);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new OutputException($"{dir} exists and is empty, but resode cannot write in it ({Reason(e)}); make it writable or choose another --out");
        }
    }

    private static void CheckTarget(string dir, string full, bool force, string kind, string replacing)
    {
        // a link first: a dangling one "exists" as a file to File.Exists
        if (IsLink(full)) throw new OutputException($"{dir} is a symbolic link (to {new FileInfo(full).LinkTarget}): give the directory it points to, or another --out");
        if (File.Exists(full)) throw new OutputException($"{dir} is an existing file, not a directory: choose another --out (resode never replaces a file)");
        if (!Directory.Exists(full) || !Directory.EnumerateFileSystemEntries(full).Any()) return;
        if (!force) throw new OutputException(WithInterruptedMove($"{dir} already exists and is not empty: choose another --out, or pass --force to replace it (only a {kind} directory written by resode is replaced)", dir));
        if (Describe(full, kind) is string why)
            throw new OutputException(WithInterruptedMove($"{replacing} refused: {dir}: {why}. Move what you want to keep elsewhere, or choose another --out", dir));
    }

    private static HashSet<string>? ReadManifest(string dir, string kind, out string? problem) => ReadManifest(dir, kind, out problem, out _, out _);

    /// <summary>The manifest's files (with the manifest itself) and, in <paramref name="dirs"/>, the directories it lists
    /// (empty for a manifest written before they were listed).</summary>
    private static HashSet<string>? ReadManifest(string dir, string kind, out string? problem, out HashSet<string> dirs, out Dictionary<string, string> hashes)
    {
        problem = null;
        dirs = new HashSet<string>(StringComparer.Ordinal);
        hashes = new Dictionary<string, string>(StringComparer.Ordinal);
        var path = Path.Combine(dir, ManifestName);
        if (!File.Exists(path)) return null;
        try
        {
            var node = JsonNode.Parse(File.ReadAllText(path));
            string? by = node?["created_by"]?.GetValue<string>(), k = node?["kind"]?.GetValue<string>();
            if (by is null || !by.StartsWith("resode", StringComparison.Ordinal)) { problem = $"its {ManifestName} was not written by resode"; return null; }
            if (k != kind) { problem = $"it is a resode {k} directory, not a {kind} directory"; return null; }
            var files = node!["files"]!.AsArray().Select(f => f!.GetValue<string>()).ToHashSet();
            files.Add(ManifestName);
            if (node["directories"] is JsonArray listed) foreach (var d in listed) dirs.Add(d!.GetValue<string>());
            // a manifest written before 2026-12-06 records no hashes: its files are told by name alone, as then
            if (node["sha256"] is JsonObject recorded) foreach (var (f, h) in recorded) hashes[f] = h!.GetValue<string>();
            return files;
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or NullReferenceException or IOException or ArgumentException)
        {
            problem = $"its {ManifestName} cannot be read ({e.Message})";
            return null;
        }
    }

    /// <summary>The field of a verdicts file that seals its text: the SHA-256 of the file's UTF-8 bytes with this field's
    /// value written as 64 zeros (<see cref="SealVerdicts"/>).</summary>
    public const string VerdictsSealField = "content_sha256";
    private static readonly string ZeroSeal = new('0', 64);
    private static readonly System.Text.RegularExpressions.Regex SealPattern =
        new("\"" + VerdictsSealField + "\":\\s*\"([0-9a-f]{64})\"", System.Text.RegularExpressions.RegexOptions.CultureInvariant);

    /// <summary>
    /// Seals a verdicts file's JSON text, which holds the field <see cref="VerdictsSealField"/> with 64 zeros as its value
    /// exactly once: the zeros are replaced by the SHA-256 (lower-case hex) of the text's UTF-8 bytes as given. A file whose
    /// text was changed afterwards, by hand or by another program, no longer matches its seal and counts as the user's.
    /// </summary>
    public static string SealVerdicts(string json)
    {
        var m = SealPattern.Matches(json);
        if (m.Count != 1 || m[0].Groups[1].Value != ZeroSeal) throw new ArgumentException("a verdicts text to seal holds its seal field once, as 64 zeros");
        var hash = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(json)));
        var g = m[0].Groups[1];
        return string.Concat(json.AsSpan(0, g.Index), hash, json.AsSpan(g.Index + g.Length));
    }

    /// <summary>Whether a verdicts file's text matches its seal (<see cref="SealVerdicts"/>).</summary>
    public static bool SealHolds(string json)
    {
        var m = SealPattern.Matches(json);
        if (m.Count != 1) return false;
        var g = m[0].Groups[1];
        var zeroed = string.Concat(json.AsSpan(0, g.Index), ZeroSeal, json.AsSpan(g.Index + g.Length));
        return Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(zeroed))) == g.Value;
    }

    /// <summary>
    /// Whether <paramref name="path"/> is a verdicts file `resode verify` wrote and nobody changed since: a JSON object whose
    /// "format" is resode-verdicts/N and whose text matches its seal (<see cref="SealHolds"/>). A file of that name with
    /// anything else in it, an edited one or one an earlier resode wrote without a seal included, is the user's (never
    /// replaced or removed).
    /// </summary>
    public static bool IsVerdictsFile(string path)
    {
        try
        {
            // a symbolic link is the user's even when it points at a verdicts file (replacing it would replace the link);
            // an empty file, a named pipe or a device is not one (and a pipe would block the read)
            if (!File.Exists(path)) return false;
            var info = new FileInfo(path);
            if (info.LinkTarget is not null || info.Length == 0) return false;
            var text = File.ReadAllText(path);
            return JsonNode.Parse(text) is JsonObject o
                && o["format"] is JsonValue v && v.TryGetValue<string>(out var f) && f.StartsWith("resode-verdicts/", StringComparison.Ordinal)
                && SealHolds(text);
        }
        catch (Exception e) when (e is System.Text.Json.JsonException or IOException or UnauthorizedAccessException or ArgumentException or InvalidOperationException) { return false; }
    }

    private static void WriteManifest(string dir, string kind)
    {
        var files = Directory.EnumerateFiles(dir, "*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0 })
            .Select(f => Path.GetRelativePath(dir, f).Replace(Path.DirectorySeparatorChar, '/'))
            .Where(f => f != ManifestName).OrderBy(f => f, StringComparer.Ordinal).ToArray();
        // the directories too: an empty one resode made is then known as resode's when the output is replaced
        var dirs = Directory.EnumerateDirectories(dir, "*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0 })
            .Select(d => Path.GetRelativePath(dir, d).Replace(Path.DirectorySeparatorChar, '/'))
            .OrderBy(d => d, StringComparer.Ordinal).ToArray();
        var node = new JsonObject
        {
            ["created_by"] = $"resode {EngineInfo.Version}",
            ["kind"] = kind,
            ["files"] = new JsonArray(files.Select(f => (JsonNode?)JsonValue.Create(f)).ToArray()),
            ["directories"] = new JsonArray(dirs.Select(d => (JsonNode?)JsonValue.Create(d)).ToArray()),
            // each file's content as written: a file the user edited afterwards is theirs, never replaced (Describe)
            ["sha256"] = new JsonObject(files.Select(f => KeyValuePair.Create(f, (JsonNode?)JsonValue.Create(ContentHash(Path.Combine(dir, f)))))),
        };
        File.WriteAllText(Path.Combine(dir, ManifestName), node.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
    }

    /// <summary>The SHA-256 of a file's bytes (lowercase hex): the manifests' hashes and a run's content digest alike.</summary>
    internal static string ContentHash(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);
        return Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(stream));
    }

    private static string Sample(IReadOnlyList<string> entries, string dir)
    {
        if (entries.Count == 0)
        {
            var dirs = Directory.EnumerateDirectories(dir).Select(Path.GetFileName).Take(3).ToList();
            return dirs.Count == 0 ? "nothing" : $"empty subdirectories ({string.Join(", ", dirs)})";
        }
        var shown = string.Join(", ", entries.Take(4));
        return entries.Count > 4 ? $"{shown}, … ({entries.Count} files)" : shown;
    }

    private static FileStream TakeLock(string display, string parent, string name, string lockPath)
    {
        // the lock is resode's own file: a link there (opening it would write through it) or a file with other content is
        // the user's, and is left alone
        if (IsLink(lockPath))
            throw new OutputException($"{lockPath} is a symbolic link, not a lock resode made; move it away to write {display}");
        if (File.Exists(lockPath) && !IsOurLock(lockPath))
            throw new OutputException($"{lockPath} exists and is not a lock resode made (its first line is not \"pid N\"); move it away to write {display}");
        // resode's lock is always a file: a directory of that name is the user's, whatever it holds (an empty one too)
        if (Directory.Exists(lockPath)) throw LockIsADirectory(display, lockPath);
        for (int attempt = 0; attempt < 5; attempt++)
        {
            FileStream fs;
            try { fs = new FileStream(lockPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException && Directory.Exists(lockPath)) { throw LockIsADirectory(display, lockPath, e); }
            catch (UnauthorizedAccessException e) { throw new OutputException($"cannot write in {parent} ({Reason(e)}); choose an --out in a place you can write", e); }
            catch (IOException e) when (File.Exists(lockPath))
            {
                throw new OutputException($"another resode process{Holder(parent, name)} is writing {display} right now (it holds {lockPath}); wait for it to finish or choose another --out", e);
            }
            catch (IOException e) { throw new OutputException($"cannot write in {parent} ({Reason(e)}); choose an --out in a place you can write", e); }
            // The file may have been removed by its previous holder between our open and our lock: then retry.
            if (OperatingSystem.IsLinux() && new FileInfo($"/proc/self/fd/{fs.SafeFileHandle.DangerousGetHandle()}").LinkTarget is string t && t.EndsWith(" (deleted)", StringComparison.Ordinal))
            {
                fs.Dispose();
                continue;
            }
            fs.SetLength(0);
            var info = System.Text.Encoding.UTF8.GetBytes($"pid {Environment.ProcessId}\nstarted {DateTime.UtcNow:O}\n");
            fs.Write(info);
            fs.Flush();
            return fs;
        }
        throw new OutputException($"could not take the lock {lockPath}: other writers keep replacing it; try again");
    }

    private static OutputException LockIsADirectory(string display, string lockPath, Exception? inner = null) =>
        new($"{lockPath} is a directory, not a lock resode made: resode keeps the lock of {display} in a file of that name beside it; move or rename that directory (resode leaves it as it is), or choose another --out", inner);

    /// <summary>A lock file resode wrote: empty (its writer died between creating and writing it) or starting "pid N".
    /// One held by a live writer cannot be read here and counts as ours (the open that follows reports the writer).</summary>
    private static bool IsOurLock(string path)
    {
        try
        {
            var info = new FileInfo(path);
            if (info.Length == 0) return true;
            if (info.Length > 4096) return false;
            using var r = new StreamReader(new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete));
            var first = r.ReadLine();
            return first is not null && first.StartsWith("pid ", StringComparison.Ordinal) && int.TryParse(first[4..], out _);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return true; }
    }

    /// <summary>The pid of the live writer of NAME as recorded in its partial directory, for the message.</summary>
    private static string Holder(string parent, string name)
    {
        try
        {
            foreach (var p in LeftoversOf(parent, name, "partial"))
            {
                var marker = Path.Combine(p, PartialMarkerName);
                if (File.Exists(marker) && int.TryParse(File.ReadAllText(marker).Trim(), out int pid)) return $" (pid {pid})";
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        return "";
    }

    /// <summary>Under the lock, every partial directory of NAME was left by a writer that died: remove ours, report the others.</summary>
    private static List<string> CleanStalePartials(string parent, string name)
    {
        var notes = new List<string>();
        foreach (var p in LeftoversOf(parent, name, "partial").Concat(LeftoversOf(parent, name, "old")))
        {
            bool ours = File.Exists(Path.Combine(p, PartialMarkerName));
            string label = Path.GetFileName(p);
            if (ours && label.Contains(".partial-", StringComparison.Ordinal))
            {
                string pid = File.ReadAllText(Path.Combine(p, PartialMarkerName)).Trim();
                long bytes = SizeOf(p);
                TryDelete(p);
                notes.Add($"removed {label} ({bytes / 1024} KiB), the partial output of an interrupted resode process (pid {pid})");
            }
            else
                notes.Add($"left {Path.Combine(parent, label)} in place: it looks like the output of an interrupted resode process, but resode cannot tell that it is incomplete; remove it if you do not need it");
        }
        return notes;
    }

    /// <summary>
    /// <paramref name="message"/>, a refusal of <paramref name="dir"/> (not empty, no manifest, a file of a run missing), with
    /// the partial directories beside it named when a writer of it was killed while renaming its finished output into it entry
    /// by entry (an existing empty target is kept, so the commit cannot be one rename; <see cref="Commit()"/>): then some
    /// entries are in <paramref name="dir"/> and the rest, the manifest among them, in <c>.NAME.partial-XXXXXXXX</c>. Those
    /// are the partial directories of the target (<see cref="LeftoversOf"/>) without the <see cref="PartialMarkerName"/>
    /// marker, which a writer removes when its output is finished (one holding it is an unfinished output, or a live
    /// writer's). What the user can do is said; nothing is moved or removed.
    /// </summary>
    public static string WithInterruptedMove(string message, string dir)
    {
        List<string> rest;
        try
        {
            string shown = Path.TrimEndingDirectorySeparator(dir);
            var full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(shown));
            if (Path.GetDirectoryName(full) is not string parent || Path.GetFileName(full) is not { Length: > 0 } name || !Directory.Exists(parent)) return message;
            rest = LeftoversOf(parent, name, "partial")
                .Where(p => !File.Exists(Path.Combine(p, PartialMarkerName)) && Directory.EnumerateFileSystemEntries(p).Any())
                .Select(p => Path.Combine(Path.GetDirectoryName(shown) ?? "", Path.GetFileName(p)))
                .Order(StringComparer.Ordinal).ToList();
            if (rest.Count == 0) return message;
            string where = string.Join(", ", rest), those = rest.Count == 1 ? "that directory" : "those directories";
            return $"{message}; an interrupted resode write left the rest of this output in {where} beside it (it was killed while "
                + $"moving the finished output's entries into {shown}): move every entry of {those}, {ManifestName} included, "
                + $"into {shown} by hand, or remove both and write the output again (resode moves and removes neither)";
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException) { return message; }
    }

    /// <summary>
    /// The directories .NAME.KIND-XXXXXXXX beside the target, XXXXXXXX the eight hexadecimal digits the claim gives them, and
    /// no others. The name is matched exactly, never as a search pattern: a target spelled with '*' or '?' (a legal name on
    /// Linux) would otherwise match the partial directories of other targets, those of their live writers included, and a
    /// target NAME would match those of a target NAME.partial-….
    /// </summary>
    private static IEnumerable<string> LeftoversOf(string parent, string name, string kind)
    {
        string prefix = $".{name}.{kind}-";
        return Directory.EnumerateDirectories(parent).Where(p =>
        {
            string label = Path.GetFileName(p);
            return label.Length == prefix.Length + 8 && label.StartsWith(prefix, StringComparison.Ordinal)
                && label.AsSpan(prefix.Length).IndexOfAnyExcept("0123456789abcdef") < 0;
        });
    }

    private static long SizeOf(string dir)
    {
        try { return new DirectoryInfo(dir).EnumerateFiles("*", SearchOption.AllDirectories).Sum(f => f.Length); }
        catch (IOException) { return 0; }
    }

    private static void Release(string lockPath, FileStream fs)
    {
        try { File.Delete(lockPath); } catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        fs.Dispose();
    }

    /// <summary>The path with every symbolic link along it followed (as far as the path exists), so that two spellings of
    /// one directory compare equal.</summary>
    private static string Resolved(string full)
    {
        try
        {
            var root = Path.GetPathRoot(full) ?? "/";
            string cur = root;
            foreach (var part in full[root.Length..].Split(Path.DirectorySeparatorChar, StringSplitOptions.RemoveEmptyEntries))
            {
                var next = Path.Combine(cur, part);
                var info = new DirectoryInfo(next);
                if (info.LinkTarget is not null && info.ResolveLinkTarget(returnFinalTarget: true) is { } target) next = target.FullName;
                cur = Path.TrimEndingDirectorySeparator(next);
            }
            return cur;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return full; }
    }

    private static bool IsSameOrAncestor(string path, string of) =>
        string.Equals(path, of, StringComparison.Ordinal) ||
        of.StartsWith(path.EndsWith(Path.DirectorySeparatorChar) ? path : path + Path.DirectorySeparatorChar, StringComparison.Ordinal);

    private static bool IsLink(string path)
    {
        try { return new FileInfo(path).LinkTarget is not null; }
        catch (IOException) { return false; }
    }

    private static string Reason(Exception e) => e is UnauthorizedAccessException ? "permission denied" : e.Message;

    /// <summary>
    /// Moves every entry of the finished partial directory into <paramref name="dir"/> (an existing directory that was
    /// empty), each by a rename that never replaces anything, the manifest last: the output counts as resode's (and
    /// complete) only once all of it is there. A name that appeared in <paramref name="dir"/> meanwhile stops the move, the
    /// entries moved so far go back, and the finished output stays in the partial directory (<paramref name="keep"/>).
    /// </summary>
    private void MoveEntriesInto(string dir, string keep)
    {
        var names = Directory.EnumerateFileSystemEntries(Partial).Select(e => Path.GetFileName(e))
            .OrderBy(n => n == ManifestName ? 1 : 0).ThenBy(n => n, StringComparer.Ordinal).ToList();
        var moved = new List<string>();
        foreach (var name in names)
        {
            string why;
            try
            {
                if (MoveNoReplace(Path.Combine(Partial, name), Path.Combine(dir, name))) { moved.Add(name); continue; }
                why = $"{Display} changed while resode was working ({name} appeared in it)";
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                why = $"{name} could not be moved into {Display} ({Reason(e)})";
            }
            // the entries moved so far go back; one that cannot is named where it is
            var stuck = new List<string>();
            foreach (var back in moved)
            {
                try { if (!MoveNoReplace(Path.Combine(dir, back), Path.Combine(Partial, back))) stuck.Add(back); }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException) { stuck.Add(back); }
            }
            string left = stuck.Count == 0 ? "" : $" ({string.Join(", ", stuck)} could not be moved back and are in {Display})";
            throw new OutputException($"{why}; {keep}{left}");
        }
    }

    private static void TryDelete(string dir)
    {
        try { if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
    }

    private static void TryDeleteEmpty(string dir)
    {
        try { Directory.Delete(dir, recursive: false); }
        catch (IOException) { }
    }

    /// <summary>Renames a directory or a file onto a path that must not exist; false when something is there.</summary>
    private static bool MoveNoReplace(string from, string to)
    {
        if (OperatingSystem.IsLinux())
        {
            const int AtFdCwd = -100, RenameNoReplace = 1, EExist = 17, ENotEmpty = 39;
            try
            {
                if (renameat2(AtFdCwd, from, AtFdCwd, to, RenameNoReplace) == 0) return true;
                int err = Marshal.GetLastPInvokeError();
                if (err == EExist || err == ENotEmpty) return false;
                // ENOSYS / EINVAL: the kernel or the file system lacks the flag; fall through.
            }
            catch (EntryPointNotFoundException) { }
            catch (DllNotFoundException) { }
        }
        if (Directory.Exists(to) || File.Exists(to)) return false;
        Directory.Move(from, to);
        return true;
    }

    [DllImport("libc", SetLastError = true, CharSet = CharSet.Ansi, BestFitMapping = false)]
    private static extern int renameat2(int olddirfd, string oldpath, int newdirfd, string newpath, uint flags);
}
