using System.Diagnostics;
using System.Text.Json.Nodes;
using ResOdeProofs.Numerics.IO;

namespace ResOdeProofs.Cli.Sweep;

/// <summary>The state of one cell's directory.</summary>
internal enum CellState { Missing, Running, Done, Failed }

/// <summary>
/// A study's output directory: a marker file that says the sweep made it, a copy of the study
/// (study.toml, read by the array tasks and by merge), and one directory per cell under cells/:
/// cell.json (settings), .claim (the writer, while it runs), log.txt, status.json, run/ (the run directory with verdicts.json).
/// </summary>
internal sealed class StudyOutput
{
    public const string Marker = ".resode-study";
    public const string StudyFile = "study.toml";
    /// <summary>Beside the copy of the study: the folder its relative data paths are read against (<see cref="Study.BaseDir"/>).</summary>
    public const string BaseFile = "study.base";

    /// <summary>
    /// The folder recorded for a study output's copy of the study (<see cref="BaseFile"/>), when <paramref name="studyPath"/>
    /// is that copy (study.toml in a directory with the sweep's marker); null for any other study file.
    /// </summary>
    public static string? RecordedBase(string studyPath)
    {
        string full = Path.GetFullPath(studyPath);
        string dir = Path.GetDirectoryName(full)!;
        if (Path.GetFileName(full) != StudyFile || !File.Exists(Path.Combine(dir, Marker))) return null;
        string basePath = Path.Combine(dir, BaseFile);
        if (!File.Exists(basePath)) return null;
        string recorded = File.ReadAllText(basePath).Trim();
        return recorded.Length > 0 && Path.IsPathFullyQualified(recorded) ? recorded : null;
    }

    public string Root { get; }
    public StudyOutput(string root) => Root = Path.GetFullPath(root);

    public string CellsDir => Path.Combine(Root, "cells");
    public string StudyPath => Path.Combine(Root, StudyFile);
    public string CellDir(Cell c) => Path.Combine(CellsDir, c.Hash);
    public string CellDir(string hash) => Path.Combine(CellsDir, hash);
    public bool IsStudyOutput => File.Exists(Path.Combine(Root, Marker));

    /// <summary>
    /// Claims the directory for the sweep (refusing a non-empty directory the sweep did not create) and keeps
    /// a copy of the study in it. Safe when several shards start at once: every step is create-if-absent.
    /// </summary>
    /// <param name="claimed">The caller has claimed <see cref="Root"/> as a new output of its own (`resode report`), which may already hold its bookkeeping.</param>
    public void Prepare(Study study, Action<string> note, bool claimed = false)
    {
        if (File.Exists(Root)) throw new StudyException($"{Root} is a file: give --out a directory");
        // Entries first, the marker second: a shard creates the marker before anything else in the directory, so once an
        // entry is seen the marker of a sweep's directory already exists. (The other order let a shard that looked for the
        // marker just before a sibling shard wrote it see that marker as a foreign entry and refuse.)
        if (!claimed && Directory.Exists(Root) && Directory.EnumerateFileSystemEntries(Root).Any() && !IsStudyOutput)
            throw new StudyException($"{Root} exists and was not made by `resode sweep` (no {Marker} file): choose another --out; nothing was changed");
        // another study's output (its marker names another study) is not taken over: a study of another name is not a new
        // version of it, and its cells and report would be left out of every later merge without a word (user test)
        string markerPath = Path.Combine(Root, Marker);
        if (File.Exists(markerPath))
        {
            string? held = HeldStudy();
            if (held is not null && held != study.Name)
                throw new StudyException($"{Root} holds the study '{held}', and this one is '{study.Name}': choose another --out (a study keeps its name across versions: name this one '{held}' if it is a new version of it); nothing was changed");
        }
        Directory.CreateDirectory(Root);
        CreateIfAbsent(markerPath, $"{{\"format\": \"resode-study-output/1\", \"study\": {JsonValue.Create(study.Name).ToJsonString()}}}\n");
        Directory.CreateDirectory(CellsDir);
        if (!CreateIfAbsent(StudyPath, study.Text) && File.ReadAllText(StudyPath) != study.Text)
        {
            // Another version of the study (an earlier one, or the copy edited by hand): it is kept beside, named by its
            // content, and this one takes its place; the cells of the old settings stay under cells/ (their hashes
            // differ) and are simply not part of the new study's merge.
            string old = File.ReadAllText(StudyPath);
            string keep = Path.Combine(Root, $"study.previous-{Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(old)))[..8].ToLowerInvariant()}.toml");
            CreateIfAbsent(keep, old);
            OutputFile.WriteAtomically(StudyPath, study.Text);
            note($"note: {StudyPath} held another version of the study, now kept as {keep}; it holds this one (cells of changed settings are new cells)");
        }
        // the folder the copy's relative data paths are read against (not rewritten when the study was read from this copy)
        string basePath = Path.Combine(Root, BaseFile);
        if (study.BaseDir.Length > 0 && Path.GetFullPath(study.BaseDir) != Root
            && (!File.Exists(basePath) || File.ReadAllText(basePath).Trim() != study.BaseDir))
            OutputFile.WriteAtomically(basePath, study.BaseDir + "\n");
    }

    /// <summary>The name of the study the output's marker names, or null (no marker, or one that names none).</summary>
    public string? HeldStudy()
    {
        string markerPath = Path.Combine(Root, Marker);
        if (!File.Exists(markerPath)) return null;
        try { return TextOf(JsonNode.Parse(File.ReadAllText(markerPath))?["study"]); }
        catch (System.Text.Json.JsonException) { return null; }
    }

    /// <summary>Writes a file only if it does not exist; false if it already did.</summary>
    internal static bool CreateIfAbsent(string path, string text)
    {
        try
        {
            using var f = new FileStream(path, FileMode.CreateNew, FileAccess.Write);
            using var w = new StreamWriter(f);
            w.Write(text);
            return true;
        }
        catch (IOException) when (File.Exists(path)) { return false; }
    }

    internal static void WriteAtomically(string path, string text) => OutputFile.WriteAtomically(path, text);

    public JsonObject? Status(string hash)
    {
        string p = Path.Combine(CellDir(hash), "status.json");
        if (!File.Exists(p)) return null;
        try { return JsonNode.Parse(File.ReadAllText(p)) as JsonObject; }
        catch (System.Text.Json.JsonException) { return null; }
    }

    /// <summary>A string value of a JSON file a user may have edited, or null when the value is absent or of another type
    /// (GetValue would throw, and a study's files are input, not the tool's state).</summary>
    internal static string? TextOf(JsonNode? n) => n is JsonValue v && v.TryGetValue(out string? s) ? s : null;

    /// <summary>A number of such a file, or null when absent or not a number.</summary>
    internal static double? NumberOf(JsonNode? n) => n is JsonValue v && v.TryGetValue(out double d) ? d : null;

    public CellState State(string hash)
    {
        var s = Status(hash);
        // done only with the run's verdicts there: a done cell whose run or verdicts.json was removed is failed, to status,
        // run (--retry-failed runs it again) and merge alike (merge called it failed while run skipped it as finished)
        if (TextOf(s?["status"]) is "done")
            return File.Exists(Path.Combine(CellDir(hash), "run", "verdicts.json")) ? CellState.Done : CellState.Failed;
        if (s is not null) return CellState.Failed;
        return ClaimHolder(hash) is not null ? CellState.Running : CellState.Missing;
    }

    /// <summary>
    /// <see cref="State(string)"/> of this study's cell, a finished cell failed, as merge reads it, when its cell.json does not
    /// describe it (edited, broken: <see cref="StudyMerge.CellJsonProblem"/>) or its verdicts no longer describe its run (the run's
    /// files or verdicts.json changed since verify: <see cref="StudyMerge.VerdictsProblem"/>, which hashes the run): status, run and
    /// merge then agree (user tests: status and run said done while merge listed the cell failed).
    /// </summary>
    public CellState State(Cell c)
    {
        var st = State(c.Hash);
        return st == CellState.Done && DoneProblem(c) is not null ? CellState.Failed : st;
    }

    /// <summary>Why a cell whose status says done is not done (its cell.json, or its verdicts against its run), or null when it is.</summary>
    public string? DoneProblem(Cell c) =>
        StudyMerge.CellJsonProblem(Path.Combine(CellDir(c), "cell.json"), c) is string problem
            ? $"{problem}: its run is not known to be this cell's setting; move {CellDir(c)} away and run the study again"
            : File.Exists(Path.Combine(CellDir(c), "run", "verdicts.json")) ? StudyMerge.VerdictsProblem(Path.Combine(CellDir(c), "run")) : null;

    /// <summary>A cell without a status that was started (its log, run or a claim left by a process that is gone): interrupted, not new.</summary>
    public bool WasStarted(Cell c) =>
        Directory.Exists(CellDir(c)) && (File.Exists(Path.Combine(CellDir(c), "log.txt")) || File.Exists(Path.Combine(CellDir(c), ".claim")) || HasRemains(c));

    /// <summary>The live writer of a cell ("host pid N"), or null when there is none or its process is gone.</summary>
    public string? ClaimHolder(string hash)
    {
        string p = Path.Combine(CellDir(hash), ".claim");
        if (!File.Exists(p)) return null;
        try
        {
            var c = JsonNode.Parse(File.ReadAllText(p))!;
            string host = c["host"]!.GetValue<string>();
            int pid = c["pid"]!.GetValue<int>();
            if (host == Environment.MachineName && !Alive(pid)) return null;
            // A claim is live while its writer refreshes it (every HeartBeat); a claim left by a machine that went away, or
            // on this host one whose pid now names another process (pid reuse), is taken over once it is older than StaleAfter.
            if (DateTime.UtcNow - File.GetLastWriteTimeUtc(p) > StaleAfter) return null;
            return $"{host} pid {pid}";
        }
        catch (Exception e) when (e is IOException or System.Text.Json.JsonException or NullReferenceException or InvalidOperationException) { return "unknown writer"; }
    }

    /// <summary>How often a running cell's claim file is touched, and after how long without a touch it is taken over (from another machine, or from a pid of this host that is alive but not its writer).</summary>
    public static readonly TimeSpan HeartBeat = TimeSpan.FromMinutes(1), StaleAfter = TimeSpan.FromMinutes(10);

    /// <summary>Keeps the claim of a running cell fresh (see <see cref="ClaimHolder"/>) until disposed.</summary>
    public IDisposable KeepClaim(Cell c)
    {
        string claim = Path.Combine(CellDir(c), ".claim");
        return new Timer(_ => { try { File.SetLastWriteTimeUtc(claim, DateTime.UtcNow); } catch (IOException) { } }, null, HeartBeat, HeartBeat);
    }

    private static bool Alive(int pid)
    {
        try { using var p = Process.GetProcessById(pid); return !p.HasExited; }
        catch (ArgumentException) { return false; }
    }

    /// <summary>Called with the claim's path once a claim has been judged stale and before it is taken over: the moment
    /// another shard can take it over too (a test seam for that race; null otherwise).</summary>
    internal static Action<string>? StaleClaimJudged;

    /// <summary>
    /// Claims a cell for this process: creates the claim file exclusively. A claim left by a dead process
    /// of this host is taken over; a live or foreign claim is respected (false).
    /// </summary>
    public bool TryClaim(Study study, Cell c)
    {
        string dir = CellDir(c);
        Directory.CreateDirectory(dir);
        string claim = Path.Combine(dir, ".claim");
        string body = new JsonObject { ["host"] = Environment.MachineName, ["pid"] = Environment.ProcessId, ["utc"] = DateTime.UtcNow.ToString("O") }.ToJsonString();
        if (!CreateIfAbsent(claim, body))
        {
            // a stale claim (its writer has ended) is taken over by one shard only: the claim that was judged stale is
            // renamed away (of two shards that judged it, one rename fails), and a claim another shard made meanwhile
            // (different bytes from the one judged) is put back, not deleted
            string seen;
            try { seen = File.ReadAllText(claim); }
            catch (IOException) { return false; }
            if (ClaimHolder(c.Hash) is not null) return false;
            StaleClaimJudged?.Invoke(claim);
            string grave = claim + ".stale-" + Guid.NewGuid().ToString("N")[..8];
            try { File.Move(claim, grave); }
            catch (IOException) { return false; }
            string moved;
            try { moved = File.ReadAllText(grave); }
            catch (IOException) { return false; }
            if (moved != seen)
            {
                try { File.Move(grave, claim); } catch (IOException) { } // a third claim is there: the moved one stays beside it
                return false;
            }
            File.Delete(grave);
            if (!CreateIfAbsent(claim, body)) return false;
        }
        string cellJson = Path.Combine(dir, "cell.json");
        if (!File.Exists(cellJson)) WriteAtomically(cellJson, study.CellJson(c).ToJsonString(Study.Indented));
        return true;
    }

    public void Release(Cell c)
    {
        string claim = Path.Combine(CellDir(c), ".claim");
        if (File.Exists(claim)) File.Delete(claim);
    }

    /// <summary>
    /// Before a retry: the failed attempt's log and status are kept under numbered names; its run directory is removed
    /// when resode wrote it and it holds nothing else (<see cref="OutputClaim.Describe"/>), else kept as run.attempt-K; a
    /// partial run directory is removed when it carries resode's partial marker, else left in place. Returns what was kept.
    /// </summary>
    public List<string> ArchiveAttempt(Cell c)
    {
        string dir = CellDir(c);
        var notes = new List<string>();
        int k = 1;
        while (File.Exists(Path.Combine(dir, $"status.attempt-{k}.json")) || File.Exists(Path.Combine(dir, $"log.attempt-{k}.txt"))
               || Directory.Exists(Path.Combine(dir, $"run.attempt-{k}")) || File.Exists(Path.Combine(dir, $"run.attempt-{k}"))) k++;
        foreach (var (name, ext) in new[] { ("status", "json"), ("log", "txt") })
        {
            string p = Path.Combine(dir, $"{name}.{ext}");
            if (File.Exists(p)) File.Move(p, Path.Combine(dir, $"{name}.attempt-{k}.{ext}"));
        }
        string run = Path.Combine(dir, "run");
        if (Directory.Exists(run))
        {
            if (OutputClaim.Describe(run, "run") is string why)
            {
                string kept = Path.Combine(dir, $"run.attempt-{k}");
                Directory.Move(run, kept);
                notes.Add($"note: {run} was kept as {kept}, not removed: {why}");
            }
            else Directory.Delete(run, recursive: true);
        }
        // left by a killed train: removed only with resode's partial marker in it (OutputClaim's rule)
        foreach (var partial in Directory.GetDirectories(dir, ".run.partial-*"))
        {
            if (File.Exists(Path.Combine(partial, OutputClaim.PartialMarkerName))) Directory.Delete(partial, recursive: true);
            else notes.Add($"note: {partial} was left in place: it has no resode partial marker; remove it if you do not need it");
        }
        return notes;
    }

    /// <summary>Whether an attempt left anything behind without a status (a killed process).</summary>
    public bool HasRemains(Cell c) =>
        Directory.Exists(Path.Combine(CellDir(c), "run")) || Directory.GetDirectories(CellDir(c), ".run.partial-*").Length > 0;

    /// <summary>Every cell directory present (hash → cell.json), including cells of other studies or engines.</summary>
    public Dictionary<string, JsonObject> PresentCells()
    {
        var d = new Dictionary<string, JsonObject>();
        if (!Directory.Exists(CellsDir)) return d;
        foreach (var dir in Directory.GetDirectories(CellsDir).OrderBy(x => x, StringComparer.Ordinal))
        {
            string p = Path.Combine(dir, "cell.json");
            if (!File.Exists(p)) continue;
            try { if (JsonNode.Parse(File.ReadAllText(p)) is JsonObject o) d[Path.GetFileName(dir)] = o; }
            catch (System.Text.Json.JsonException) { }
        }
        return d;
    }
}
