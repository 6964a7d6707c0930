using System.Text.Json;
using System.Text.Json.Nodes;
using ResOdeProofs.Theory;

namespace ResOdeProofs.Cli.Report;

/// <summary>
/// The conventions of results.json (docs/report-format.md): numbers are JSON numbers; a value that is
/// not defined (NaN: not measured, does not apply) is <c>null</c>; an infinite value is <c>null</c>
/// with a sibling key <c>&lt;name&gt;_inf</c> holding +1 or −1; verdicts are lower-case keys.
/// </summary>
internal static class ReportJson
{
    public static readonly JsonSerializerOptions Options = new()
    {
        WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    /// <summary>A finite number, or null (NaN and ±∞; use <see cref="Put"/> to keep the sign of an infinity).</summary>
    public static JsonNode? Finite(double x) => double.IsFinite(x) ? JsonValue.Create(x) : null;

    /// <summary>Sets <c>o[key]</c> to x, or to null with <c>o[key_inf]</c> = ±1 when x is infinite.</summary>
    public static JsonObject Put(this JsonObject o, string key, double x)
    {
        o[key] = Finite(x);
        if (double.IsInfinity(x)) o[key + "_inf"] = x > 0 ? 1 : -1;
        return o;
    }

    /// <summary>An object from (key, number) pairs with the infinity convention.</summary>
    public static JsonObject Numbers(params (string Key, double Value)[] values)
    {
        var o = new JsonObject();
        foreach (var (k, v) in values) o.Put(k, v);
        return o;
    }

    /// <summary>
    /// Sets <c>o[key]</c> to an array of numbers (null where not finite) and, when some entries are
    /// infinite, <c>o[key_inf]</c> to the list of [index, ±1] pairs.
    /// </summary>
    public static JsonObject PutArray(this JsonObject o, string key, IEnumerable<double> xs)
    {
        var a = xs.ToArray();
        o[key] = new JsonArray(a.Select(Finite).ToArray());
        var inf = a.Select((x, i) => (x, i)).Where(p => double.IsInfinity(p.x)).ToArray();
        if (inf.Length > 0)
            o[key + "_inf"] = new JsonArray(inf.Select(p => (JsonNode?)new JsonArray(p.i, p.x > 0 ? 1 : -1)).ToArray());
        return o;
    }

    public static JsonArray Ints(IEnumerable<int> xs) => new(xs.Select(x => (JsonNode?)JsonValue.Create(x)).ToArray());
    public static JsonArray Strings(IEnumerable<string> xs) => new(xs.Select(x => (JsonNode?)JsonValue.Create(x)).ToArray());

    /// <summary>The machine key of a verdict label: holds, violated, hypothesis_not_met, not_applicable, error.</summary>
    public static string VerdictKey(string label) => label.Trim().ToLowerInvariant().Replace(' ', '_');

    /// <summary>One verdict row (the report's form of verdicts.json rows: same fields, this file's number and verdict conventions).</summary>
    public static JsonObject Row(Registry.VerdictRow r)
    {
        var o = new JsonObject
        {
            ["id"] = r.Id, ["title"] = r.Title, ["source"] = r.Source, ["provenance"] = r.Provenance, ["doc"] = r.Doc,
            ["input"] = r.Input, ["verdict"] = VerdictKey(r.Verdict),
        };
        o.Put("measured", r.Measured).Put("bound", r.Bound);
        var (lo, hi) = ReportWriter.TightnessRange(r);
        o.Put("tightness_min", lo);
        o["tightness_min_at"] = r.TightnessMinAt;
        o.Put("tightness_max", hi);
        o["tightness_max_at"] = r.TightnessMaxAt;
        o.Put("loosest_measured", r.LoosestMeasured).Put("loosest_bound", r.LoosestBound);
        o["detail"] = r.Detail;
        o["hypotheses"] = new JsonArray(r.Hypotheses.Select(h => (JsonNode?)new JsonObject
            { ["name"] = h.Item1, ["met"] = h.Item2, ["detail"] = h.Item3 }).ToArray());
        var cs = new JsonObject();
        foreach (var (n, v) in r.Constants) cs.Put(n, v);
        o["constants"] = cs;
        o["notes"] = Strings(r.Notes);
        o.Put("seconds", r.Seconds);
        o["series"] = Registry.seriesJson(r.Series);
        return o;
    }

    public static JsonArray Rows(IEnumerable<Registry.VerdictRow> rows) => new(rows.Select(r => (JsonNode?)Row(r)).ToArray());
}
