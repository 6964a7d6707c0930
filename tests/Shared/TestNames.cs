using System.Reflection;
using System.Text.RegularExpressions;
using Xunit;

namespace ResOdeProofs.Tests.Shared;

/// <summary>
/// The one style of a test's displayed name, so that the list of tests reads as the specification:
/// <c>subject: setting → outcome</c>. The subject is a result id (<c>B.bound.secant</c>) or the engine component or command
/// under test (<c>Npy</c>, <c>RunDirectory</c>, <c>resode verify</c>) and holds no colon; the setting is the input or
/// hypothesis; the outcome is the expected verdict or property (<c>→ holds</c>, <c>→ violated</c>,
/// <c>→ hypothesis not met</c>, <c>→ bit for bit equal</c>, <c>→ exit 2, no stack trace</c>). A C# test carries it as the
/// attribute's <c>DisplayName</c>; an F# test as its backtick name (or a <c>DisplayName</c>). This file is compiled into each C#
/// test project, which checks its own assembly; the F# property suite checks itself with the same rule (TestNames.fs).
/// </summary>
public static class TestNames
{
    /// <summary>The style: a subject without a colon, ": ", a setting, " → ", an outcome, on one trimmed line.</summary>
    public static readonly Regex Style = new(@"^[^\s:][^:\r\n]*: [^\r\n]+ → [^\r\n]*\S$", RegexOptions.CultureInvariant);

    /// <summary>A test as the runner lists it: its class, its method and the attribute's display name (null if none).</summary>
    public readonly record struct TestMethod(string Class, string Method, string? DisplayName)
    {
        /// <summary>The name the runner shows for the method: the display name if given, else the method's name.</summary>
        public string Shown => DisplayName ?? Method;
    }

    /// <summary>Why <paramref name="name"/> is not in the style, or null when it is.</summary>
    public static string? Problem(string name)
    {
        if (Style.IsMatch(name)) return null;
        if (name.Trim().Length != name.Length || name.Contains('\n') || name.Contains('\r')) return "not one trimmed line";
        int colon = name.IndexOf(": ", StringComparison.Ordinal);
        if (colon <= 0) return "no \"subject: \" at the start";
        if (name.IndexOf(':') < colon) return "a colon inside the subject";
        int arrow = name.IndexOf(" → ", colon, StringComparison.Ordinal);
        if (arrow < 0) return "no \" → outcome\" after the setting";
        return arrow == colon + 1 ? "no setting between \"subject: \" and \" → \"" : "not \"subject: setting → outcome\"";
    }

    /// <summary>
    /// Every test whose shown name is not in the style, and every shown name that two tests of one class share:
    /// one line each, naming the class and method.
    /// </summary>
    public static IReadOnlyList<string> Violations(IEnumerable<TestMethod> tests)
    {
        var found = new List<string>();
        foreach (var byClass in tests.GroupBy(t => t.Class))
        {
            foreach (var t in byClass)
                if (Problem(t.Shown) is string why)
                    found.Add($"{t.Class}.{t.Method}: \"{t.Shown}\": {why}");
            foreach (var same in byClass.GroupBy(t => t.Shown).Where(g => g.Count() > 1))
                found.Add($"{byClass.Key}: \"{same.Key}\" is the name of {string.Join(", ", same.Select(t => t.Method))}");
        }
        return found;
    }

    /// <summary>Every test method of <paramref name="assembly"/>: a method carrying Fact or any attribute derived from it (Theory, the skippable and environment facts).</summary>
    public static IReadOnlyList<TestMethod> Of(Assembly assembly) =>
        assembly.GetTypes()
            .SelectMany(t => t.GetMethods(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static | BindingFlags.Instance | BindingFlags.DeclaredOnly)
                .Select(m => (Type: t, Method: m, Fact: m.GetCustomAttribute<FactAttribute>(inherit: true))))
            .Where(x => x.Fact is not null)
            .Select(x => new TestMethod(x.Type.FullName ?? x.Type.Name, x.Method.Name, x.Fact!.DisplayName))
            .ToList();
}

public sealed class TestNamesTests
{
    [Fact(DisplayName = "Test names: every test of this assembly → subject: setting → outcome, unique in its class")]
    public void EveryTestOfThisAssemblyIsNamedInTheStyle()
    {
        var tests = TestNames.Of(typeof(TestNamesTests).Assembly);
        // the reflection sees the tests (this one among them), so an empty list cannot pass for a clean one
        Assert.Contains(tests, t => t.Class == typeof(TestNamesTests).FullName && t.Method == nameof(EveryTestOfThisAssemblyIsNamedInTheStyle)
                                    && t.DisplayName == "Test names: every test of this assembly → subject: setting → outcome, unique in its class");
        var bad = TestNames.Violations(tests);
        Assert.True(bad.Count == 0, $"{bad.Count} of {tests.Count} tests break the naming rule:\n" + string.Join("\n", bad));
    }

    [Fact(DisplayName = "Test names: no subject, a colon in the subject, no setting, no arrow, not one trimmed line, or one name twice in a class → each reported")]
    public void NamesOutOfTheStyleAreReported()
    {
        var good = new TestNames.TestMethod("C", "M0", "Npy.Write: a float64 vector → version 1 header");
        // in the style: a backtick method name without a display name, a setting holding a colon, one name in two classes
        Assert.Empty(TestNames.Violations(new[]
        {
            good, good with { Class = "D" }, new TestNames.TestMethod("C", "E.init: tied run → holds", null),
            new TestNames.TestMethod("C", "M3", "verify: run.json says \"dtype: f4\" → float32 read"),
        }));
        var cases = new (string Shown, string Why)[]
        {
            ("mutation score is 4 of 4", "no \"subject: \""),
            ("B rows on a failed solve → hypothesis not met", "no \"subject: \""),
            ("TheGradientCheckRejectsAGradientOffByOnePerMille", "no \"subject: \""),
            ("resode:verify: a run → exit 0", "a colon inside the subject"),
            ("resode --help: → lists the exit codes", "no setting"),
            ("oncePerRun: a value is kept; a cancellation is not", "no \" → outcome\""),
            ("A.rate: two depths → ", "not one trimmed line"),
            ("A.rate: two depths →  ", "not one trimmed line"),
            ("A.rate: two depths\n→ hypothesis not met", "not one trimmed line"),
        };
        foreach (var (shown, why) in cases)
        {
            var found = TestNames.Violations(new[] { good, new TestNames.TestMethod("C", "M1", shown) });
            Assert.True(found.Count == 1 && found[0].Contains("C.M1") && found[0].Contains(why), $"\"{shown}\": {string.Join(" | ", found)}");
        }
        var twice = TestNames.Violations(new[] { good, good with { Method = "M2" } });
        Assert.True(twice.Count == 1 && twice[0].Contains("M0, M2"), string.Join(" | ", twice));
    }
}
