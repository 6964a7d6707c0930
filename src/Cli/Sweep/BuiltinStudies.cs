using System.Reflection;

namespace ResOdeProofs.Cli.Sweep;

/// <summary>
/// The studies that travel inside the tool: every file src/Cli/Studies/NAME.toml is embedded as the
/// resource "studies/NAME.toml" (see the project file), so a new built-in study is a new file and
/// nothing else. `resode sweep show NAME` prints one (to copy and edit); wherever a command takes a
/// STUDY, a name that is not an existing file is looked up here.
/// </summary>
internal static class BuiltinStudies
{
    private const string Prefix = "studies/";
    private const string Suffix = ".toml";

    private static Assembly Self => typeof(BuiltinStudies).Assembly;

    /// <summary>The names of the built-in studies, sorted.</summary>
    public static IReadOnlyList<string> Names =>
        Self.GetManifestResourceNames()
            .Where(n => n.StartsWith(Prefix, StringComparison.Ordinal) && n.EndsWith(Suffix, StringComparison.Ordinal))
            .Select(n => n[Prefix.Length..^Suffix.Length]).Order(StringComparer.Ordinal).ToList();

    /// <summary>The text of the built-in study <paramref name="name"/>, or null when there is none.</summary>
    public static string? Text(string name)
    {
        using var s = Self.GetManifestResourceStream(Prefix + name + Suffix);
        if (s is null) return null;
        using var r = new StreamReader(s);
        return r.ReadToEnd();
    }

    /// <summary>"example, paper, quick" (for messages).</summary>
    public static string List() => string.Join(", ", Names);
}
