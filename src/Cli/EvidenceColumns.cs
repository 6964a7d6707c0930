using System.Globalization;
using System.Text;

namespace ResOdeProofs.Cli;

/// <summary>
/// The verifier's per-iterate columns of one run (its replay, every segment certified), as a study's cell writes them
/// beside its verdicts.json (`resode verify --evidence-columns FILE`), so that the report's ladder results read them
/// instead of replaying every rung a second time. One header line, then a line of names, then one line per iterate;
/// every number in the shortest form that reads back to the same double, so the values are the verify's bits.
/// </summary>
internal static class EvidenceColumns
{
    public const string Header = "# resode evidence columns/1";
    public const string FileName = "evidence-columns.csv";

    /// <summary>
    /// Writes the columns (all of one length) atomically. A file of that name the tool did not write is refused before the
    /// work (<see cref="Claim"/>) and again here, at the moment of replacing it: one the user put there while the verify ran
    /// stays (IOException).
    /// </summary>
    public static void Write(string path, IDictionary<string, double[]> cols)
    {
        StillOurs(path);
        var names = cols.Keys.ToArray();
        int n = names.Length == 0 ? 0 : cols[names[0]].Length;
        if (names.Any(k => cols[k].Length != n)) throw new InvalidOperationException("evidence columns of different lengths");
        var sb = new StringBuilder();
        sb.Append(Header).Append('\n').Append(string.Join(',', names)).Append('\n');
        for (int j = 0; j < n; j++)
            sb.Append(string.Join(',', names.Select(k => cols[k][j].ToString("R", CultureInfo.InvariantCulture)))).Append('\n');
        OutputFile.WriteAtomically(path, sb.ToString());
    }

    /// <summary>Refuses (IOException) before any work a path this tool may not write: a directory, a link, a file it did not
    /// write (an empty file or a pipe included, never opened), or a place it cannot write.</summary>
    public static void Claim(string path) => OutputFile.Claim(path, "--evidence-columns", p =>
    {
        using var r = new StreamReader(p);
        return r.ReadLine() == Header;
    });

    /// <summary>Removes a file of ours from an earlier verify (no certified columns this time); one that is not ours, put there
    /// while the verify ran, stays (IOException).</summary>
    public static void DeleteOurs(string path)
    {
        StillOurs(path);
        if (File.Exists(path)) File.Delete(path);
    }

    // the claim made again where the file is replaced or removed: the window between the two is the verify's whole work
    private static void StillOurs(string path)
    {
        try { Claim(path); }
        catch (ArgumentException e) { throw new IOException($"{e.Message}; it appeared while the verify ran and is left untouched"); }
    }

    /// <summary>The columns of a file written by <see cref="Write"/>; null when there is none or it is not ours.</summary>
    public static Dictionary<string, double[]>? Read(string path)
    {
        if (!File.Exists(path)) return null;
        var lines = File.ReadAllLines(path);
        if (lines.Length < 2 || lines[0] != Header) return null;
        var names = lines[1].Split(',');
        var vals = names.Select(_ => new double[lines.Length - 2]).ToArray();
        for (int j = 2; j < lines.Length; j++)
        {
            var f = lines[j].Split(',');
            if (f.Length != names.Length) return null;
            for (int c = 0; c < names.Length; c++)
                if (!double.TryParse(f[c], NumberStyles.Float, CultureInfo.InvariantCulture, out vals[c][j - 2])) return null;
        }
        return names.Select((k, c) => (k, c)).ToDictionary(x => x.k, x => vals[x.c]);
    }
}
