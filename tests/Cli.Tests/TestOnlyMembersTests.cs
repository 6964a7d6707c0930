using System.Reflection;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.RegularExpressions;
using ResOdeProofs.Numerics.Blocks;

namespace ResOdeProofs.Cli.Tests;

/// <summary>
/// No code of <c>src/</c> that only the tests read: every public or internal member declared in the three assemblies of
/// <c>src/</c> (the engine ResOdeProofs.Numerics, the theory layer ResOdeProofs.Theory, the command resode) that no file of
/// <c>src/</c> or <c>bench/</c> reads, but a file of <c>tests/</c> does, is either moved to the tests or named in
/// <see cref="Exceptions"/> with its reason; and no code of <c>src/</c> that nothing reads: every such member that no file
/// of <c>src/</c>, <c>bench/</c> or <c>tests/</c> reads either is deleted, wired in, or named in
/// <see cref="UnreadExceptions"/> with its reason. This project sees the three assemblies (the command references the
/// other two), so the check lives here.
/// </summary>
public sealed class TestOnlyMembersTests
{
    /// <summary>
    /// The members of <c>src/</c> that the tests read and no file of <c>src/</c> or <c>bench/</c> does, each kept on purpose,
    /// with its reason: public API a user of the library calls, or a test hook whose production twin is named.
    /// </summary>
    public static readonly IReadOnlyDictionary<string, string> Exceptions = new Dictionary<string, string>
    {
        ["ResOdeProofs.Theory.VerdictModule.isHypothesisNotMet"] =
            "public API: the predicate beside isHolds and isViolated (Core.fs) that a user's code calls on a verdict; src/ matches the case itself",
        ["ResOdeProofs.Numerics.Verification.SplitPass.Symmetrize"] =
            "reference: the symmetrization step of the spectral upper value as docs/theorems/LemmaChain.md analyses it, beside SpectralUpper's fused SymmetrizeDivide, which is tested to give its bits followed by DivideInPlace",
        ["ResOdeProofs.Numerics.Verification.SplitPass.DivideInPlace"] =
            "reference: the division-by-the-trace step of the spectral upper value, beside SpectralUpper's fused SymmetrizeDivide, which is tested to give Symmetrize's bits followed by it",
        ["ResOdeProofs.Numerics.Model.AlignedArrays.ForgetKept"] =
            "test hook: restores the budget of kept allocations, which the engine tests run before AlignedArraysTests spend in the same process, so that the test sees the placement itself",
        ["ResOdeProofs.Numerics.Training.RunSpec.ImageWidth"] =
            "public API: one of the run spec's shorthands for the conv block's image shape C×H×W (beside Channels and Height), for a caller who writes a conv setting in code; the command line fills the same hyper-parameter by its catalog name",
        ["ResOdeProofs.Numerics.Ode.NeuralOde.Breakpoints"] =
            "test hook: reads back the stops given to the constructor, which the solver itself reads (its field _breaks); the continuous adjoint of the limit tests integrates over them",
        ["ResOdeProofs.Theory.EulerError.analyseSnapshotScaled"] =
            "test hook: one snapshot's analysis with the ResNet's error scaled by c, the mutation the sharper-bound properties apply to show a bound rejects a scheme whose error is c times the actual one; its production twin is EulerError.analyse, which takes every snapshot at c = 1 in order (carrying the reference solves' level from one snapshot to the next)",
        ["ResOdeProofs.Theory.Run.WithCentreStartOffset"] =
            "test hook: starts the linearised centre off the increments by a given offset, with the remainder's bound raised by its norm; its production twin is SplitCentre.start without an offset (the verifier's centre starts at the increments), and the property suite uses it to show the remainder's bracket term is needed (the remainder grows past its start)",
        ["ResOdeProofs.Theory.Run.ObserversFed"] =
            "test hook: how many iterate observers the replay fed; its production twin is the replay's feeding of those observers (RunView.fs, observersFed), which a view without observers must leave at 0",
        ["ResOdeProofs.Numerics.Verification.SplitPass.SpectralUpperWith"] =
            "test hook: the spectral upper value with a given rounding factor; its production twin is SpectralUpper with the derived SpectralUpperRounding, and the test calls it with the factor 1 to show the value without the allowance falls below ‖X‖₂",
        ["ResOdeProofs.Numerics.Model.SpectralNorm.GramProvesBelow"] =
            "test hook: the norm screen's test from a full Gram matrix; its production twin is BelowOrUpper, which forms the shifted upper triangle in place, and the property suite asserts the two prove the same matrices below the same levels",
        ["ResOdeProofs.Numerics.Model.Layerwise.PreActivations"] =
            "public API and test reference: every layer's pre-activations and σ of them at once; its production twin is VisitLayers (one layer at a time in reused arrays, the same numbers; C.mu0 and L1's norms read it), which the property suite checks against it bit for bit",
    };

    /// <summary>
    /// The members of <c>src/</c> that nothing reads (no file of <c>src/</c> but their declaration, of <c>bench/</c>, of the
    /// docs' code and scripts, or of <c>tests/</c>), each kept on purpose, with its reason: public API a user of the library
    /// calls.
    /// </summary>
    public static readonly IReadOnlyDictionary<string, string> UnreadExceptions = new Dictionary<string, string>
    {
        ["ResOdeProofs.Theory.VerdictModule.isError"] =
            "public API: the predicate on a check that failed to run, beside isHolds, isViolated and isHypothesisNotMet (Core.fs), one per verdict a user's code tests; src/ matches the case itself",
    };

    // ---------------------------------------------------------------- the lister

    /// <summary>A member declared in <c>src/</c>: its simple name and the full name of its declaring type.</summary>
    public readonly record struct Declared(string Owner, string Name)
    {
        /// <summary>Owner.Name, the key of <see cref="Exceptions"/>.</summary>
        public string Key => $"{Owner}.{Name}";
    }

    /// <summary>
    /// The members the check considers (public or internal methods, properties, fields and events declared in source) and,
    /// for each simple name, how many declarations of that name the sources hold (every declared member, considered or not:
    /// an override or an interface implementation is written in the source under its name too).
    /// Left out on purpose, because the source reads them without naming them or under another name: constructors,
    /// operators and property accessors; overrides and interface implementations (called through the base or the
    /// interface); F# record fields and union cases (data filled and matched, the shape of a result's row); members the
    /// compiler generates (closures, a record's equality, backing fields); the properties of a C# record's primary
    /// constructor (its fields, as an F# record's); properties the JSON serializer reads by reflection (marked with a
    /// System.Text.Json attribute, e.g. run.json's fields); an assembly's entry point; the members of a delegate type
    /// (Invoke, BeginInvoke, EndInvoke: the runtime's, called by calling the delegate); and the 256-bit twins
    /// generated at build from the 512-bit kernel files, with the types nested in them (their source is the 512-bit file, checked
    /// under its own name).
    /// </summary>
    public static (List<Declared> Considered, Dictionary<string, int> DeclarationCount) Declarations(IEnumerable<Assembly> assemblies)
    {
        const BindingFlags All = BindingFlags.DeclaredOnly | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static;
        var considered = new List<Declared>();
        var count = new Dictionary<string, int>(StringComparer.Ordinal);
        void Count(string name) => count[name] = count.GetValueOrDefault(name) + 1;
        foreach (var asm in assemblies)
        {
            var entry = asm.EntryPoint;
            var types = asm.GetTypes();
            // a generated twin by its full name, so that the types nested in a twin (a kernel's private interface and the
            // structs that implement it) are twins too: by the simple name they were counted as declarations of their own
            var twins = types.Where(t => t.FullName!.Contains("256") && types.Any(o => o.FullName == t.FullName!.Replace("256", "512"))).ToHashSet();
            foreach (var type in types)
            {
                if (twins.Contains(type) || Generated(type) || FSharpKind(type) is 6 || Generated(type.DeclaringType)) continue;
                bool unionCaseType = type.DeclaringType is { } outer && FSharpKind(outer) == 1;
                if (unionCaseType) continue;
                var interfaceTargets = new HashSet<MethodInfo>();
                if (!type.IsInterface)
                    foreach (var i in type.GetInterfaces())
                        try { interfaceTargets.UnionWith(type.GetInterfaceMap(i).TargetMethods); } catch (ArgumentException) { }
                var recordFields = IsCSharpRecord(type)
                    ? type.GetConstructors(All).SelectMany(c => c.GetParameters()).Select(p => p.Name).ToHashSet()
                    : new HashSet<string?>();
                foreach (var member in type.GetMembers(All))
                {
                    if (member is Type || member is ConstructorInfo) continue;
                    if (member.IsDefined(typeof(CompilerGeneratedAttribute), false) || !Identifier.IsMatch(member.Name)) continue;
                    if (member is MethodInfo { IsSpecialName: true }) continue;
                    if (member is FieldInfo { IsSpecialName: true }) continue;
                    Count(member.Name);
                    if (typeof(Delegate).IsAssignableFrom(type)) continue;
                    var method = member switch
                    {
                        MethodInfo m => m,
                        PropertyInfo p => p.GetMethod ?? p.SetMethod,
                        EventInfo e => e.AddMethod,
                        _ => null,
                    };
                    bool visible = member switch
                    {
                        FieldInfo f => f.IsPublic || f.IsAssembly || f.IsFamilyOrAssembly,
                        _ => method is { } mm && (mm.IsPublic || mm.IsAssembly || mm.IsFamilyOrAssembly),
                    };
                    if (!visible) continue;
                    if (method is not null && (method.GetBaseDefinition() != method || interfaceTargets.Contains(method) || method == entry)) continue;
                    if (FSharpKind(member) is 4 or 8) continue;
                    if (member is PropertyInfo && recordFields.Contains(member.Name)) continue;
                    if (member.GetCustomAttributesData().Any(a => a.AttributeType.Namespace == "System.Text.Json.Serialization")) continue;
                    if (member is FieldInfo && type.IsEnum == false && FSharpKind(type) is 1 or 2) continue;
                    considered.Add(new Declared(type.FullName!, member.Name));
                }
            }
        }
        return (considered, count);
    }

    /// <summary>A C# record (class or struct): the compiler gives it a generated PrintMembers.</summary>
    private static bool IsCSharpRecord(Type t) =>
        t.GetMethod("PrintMembers", BindingFlags.Instance | BindingFlags.NonPublic | BindingFlags.Public) is { } m && m.IsDefined(typeof(CompilerGeneratedAttribute), false);

    private static readonly Regex Identifier = new(@"^[A-Za-z_][A-Za-z0-9_']*$", RegexOptions.CultureInvariant);

    private static bool Generated(Type? t) =>
        t is not null && (t.IsDefined(typeof(CompilerGeneratedAttribute), false) || t.Name.Contains('<') || t.Name.Contains('@') || t.Name.Contains('$'));

    /// <summary>The F# source construct a member or type compiles from (FSharp.Core's CompilationMapping flags masked:
    /// 1 union, 2 record, 4 record field, 6 closure, 7 module, 8 union case, 9 module value), or −1.</summary>
    private static int FSharpKind(MemberInfo m)
    {
        foreach (var a in m.GetCustomAttributesData())
            if (a.AttributeType.FullName == "Microsoft.FSharp.Core.CompilationMappingAttribute" && a.ConstructorArguments.Count > 0)
                return Convert.ToInt32(a.ConstructorArguments[0].Value) & 31;
        return -1;
    }

    /// <summary>
    /// A source file's code without its comments (C# <c>//</c> and <c>/* */</c>, F# <c>//</c> and <c>(* *)</c>, doc comments
    /// included): a name in a comment or a doc reference reads nothing. Strings are kept: a member named in a string (a
    /// lookup by name, a <c>nameof</c> in a message) counts as read.
    /// </summary>
    public static string Code(string text, bool fsharp)
    {
        var sb = new StringBuilder(text.Length);
        int i = 0, n = text.Length;
        while (i < n)
        {
            char c = text[i];
            char next = i + 1 < n ? text[i + 1] : '\0';
            if (c == '/' && next == '/') { while (i < n && text[i] != '\n') i++; continue; }
            if (!fsharp && c == '/' && next == '*') { int e = text.IndexOf("*/", i + 2, StringComparison.Ordinal); i = e < 0 ? n : e + 2; sb.Append(' '); continue; }
            if (fsharp && c == '(' && next == '*' && !(i + 2 < n && text[i + 2] == ')'))
            {
                int depth = 1; i += 2;
                while (i < n && depth > 0)
                {
                    if (text[i] == '(' && i + 1 < n && text[i + 1] == '*') { depth++; i += 2; }
                    else if (text[i] == '*' && i + 1 < n && text[i + 1] == ')') { depth--; i += 2; }
                    else i++;
                }
                sb.Append(' '); continue;
            }
            if (c == '"' && next == '"' && i + 2 < n && text[i + 2] == '"')
            {
                int e = text.IndexOf("\"\"\"", i + 3, StringComparison.Ordinal); int end = e < 0 ? n : e + 3;
                sb.Append(text, i, end - i); i = end; continue;
            }
            if (c == '"')
            {
                bool verbatim = i > 0 && (text[i - 1] == '@' || (text[i - 1] == '$' && i > 1 && text[i - 2] == '@'));
                int j = i + 1;
                while (j < n)
                {
                    if (text[j] == '\\' && !verbatim) { j += 2; continue; }
                    if (text[j] == '"') { if (verbatim && j + 1 < n && text[j + 1] == '"') { j += 2; continue; } break; }
                    j++;
                }
                int end = Math.Min(n, j + 1);
                sb.Append(text, i, end - i); i = end; continue;
            }
            if (c == '\'')
            {
                // A character literal ('x', '\n', '"'); in F# a lone quote is part of a name or a type variable ('T).
                int len = next == '\\' ? (i + 3 < n && text[i + 3] == '\'' ? 4 : 0) : (i + 2 < n && text[i + 2] == '\'' ? 3 : 0);
                if (len > 0) { sb.Append(text, i, len); i += len; continue; }
            }
            sb.Append(c); i++;
        }
        return sb.ToString();
    }

    /// <summary>How often <paramref name="name"/> stands as a whole name in <paramref name="code"/>.</summary>
    public static int Occurrences(string code, string name) =>
        Regex.Matches(code, @"(?<![\w'])" + Regex.Escape(name) + @"(?![\w'])", RegexOptions.CultureInvariant).Count;

    /// <summary>The code of the fenced blocks of a Markdown page: a member shown in the docs' code is API users call.</summary>
    public static string FencedCode(string markdown)
    {
        var sb = new StringBuilder();
        bool inside = false;
        foreach (var line in markdown.Split('\n'))
        {
            if (line.TrimStart().StartsWith("```", StringComparison.Ordinal)) { inside = !inside; continue; }
            if (inside) sb.AppendLine(line);
        }
        return sb.ToString();
    }

    /// <summary>
    /// The members read by the tests and by nothing else: the name stands in the code of <c>src/</c> no more often than it
    /// is declared there (so only as its declarations), in no file of <c>bench/</c>, no code block of the docs and no script
    /// of the docs, and in
    /// the code of <c>tests/</c> at least once. The scan counts names, not symbols: a test-only member that shares its name
    /// with another member read in <c>src/</c> is not seen (the check errs toward silence, never toward a false report).
    /// </summary>
    public static List<string> TestOnly(IEnumerable<Declared> considered, IReadOnlyDictionary<string, int> declarationCount,
        string srcCode, string otherReaders, string testCode)
    {
        var found = new List<string>();
        foreach (var byName in considered.GroupBy(d => d.Name))
        {
            string name = byName.Key;
            if (Occurrences(srcCode, name) > declarationCount.GetValueOrDefault(name)) continue;
            if (Occurrences(otherReaders, name) > 0) continue;
            if (Occurrences(testCode, name) == 0) continue;
            found.AddRange(byName.Select(d => d.Key));
        }
        found.Sort(StringComparer.Ordinal);
        return found;
    }

    /// <summary>
    /// The members read by nothing: the name stands in the code of <c>src/</c> no more often than it is declared there, in no
    /// file of <c>bench/</c>, no code block or script of the docs, and nowhere in the code of <c>tests/</c>. The same count of
    /// names as <see cref="TestOnly"/>, with the same blind spot (a dead member that shares its name with a read one is not seen).
    /// </summary>
    public static List<string> Unread(IEnumerable<Declared> considered, IReadOnlyDictionary<string, int> declarationCount,
        string srcCode, string otherReaders, string testCode)
    {
        var found = new List<string>();
        foreach (var byName in considered.GroupBy(d => d.Name))
        {
            string name = byName.Key;
            if (Occurrences(srcCode, name) > declarationCount.GetValueOrDefault(name)) continue;
            if (Occurrences(otherReaders, name) > 0) continue;
            if (Occurrences(testCode, name) > 0) continue;
            found.AddRange(byName.Select(d => d.Key));
        }
        found.Sort(StringComparer.Ordinal);
        return found;
    }

    /// <summary>The problems of a list of unread members against their exceptions: one line per unlisted member and per
    /// listed one that something now reads.</summary>
    public static List<string> UnreadProblems(IReadOnlyCollection<string> unread, IReadOnlyDictionary<string, string> exceptions) =>
        ListProblems(unread, exceptions, "declared in src/, read by nothing (delete it, wire it in, or list it with its reason)",
            "listed as unread but something reads it (remove it from the list)");

    /// <summary>The problems of a list of test-only members against the exceptions: one line per unlisted member and per
    /// listed one that is no longer test-only.</summary>
    public static List<string> Problems(IReadOnlyCollection<string> testOnly, IReadOnlyDictionary<string, string> exceptions) =>
        ListProblems(testOnly, exceptions, "declared in src/, read only by tests/ (move it to its reader, wire it in, or list it with its reason)",
            "listed as an exception but not a test-only member of src/ (remove it from the list)");

    /// <summary>One line per found member the list does not name (<paramref name="unlisted"/>) and per listed one not found
    /// (<paramref name="stale"/>).</summary>
    private static List<string> ListProblems(IReadOnlyCollection<string> found, IReadOnlyDictionary<string, string> exceptions, string unlisted, string stale)
    {
        var problems = found.Where(k => !exceptions.ContainsKey(k)).Select(k => $"{k}: {unlisted}").ToList();
        problems.AddRange(exceptions.Keys.Where(k => !found.Contains(k)).Select(k => $"{k}: {stale}"));
        return problems;
    }

    // ---------------------------------------------------------------- the repository

    private static string Root()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d != null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "ResOdeProofs.sln"))) return d.FullName;
        throw new DirectoryNotFoundException("the repository root (ResOdeProofs.sln) is not above the test assembly");
    }

    /// <summary>The code of the C# and F# files under <paramref name="dir"/> (bin/ and obj/ left out), but the file at
    /// <paramref name="except"/> (relative to dir), if given.</summary>
    private static string CodeUnder(string dir, string? except = null)
    {
        var sb = new StringBuilder();
        foreach (var f in Directory.EnumerateFiles(dir, "*.*", SearchOption.AllDirectories).OrderBy(f => f, StringComparer.Ordinal))
        {
            var rel = Path.GetRelativePath(dir, f).Replace('\\', '/');
            if (rel.Split('/').Any(p => p is "bin" or "obj") || rel == except) continue;
            if (f.EndsWith(".cs", StringComparison.Ordinal)) sb.AppendLine(Code(File.ReadAllText(f), fsharp: false));
            else if (f.EndsWith(".fs", StringComparison.Ordinal) || f.EndsWith(".fsx", StringComparison.Ordinal)) sb.AppendLine(Code(File.ReadAllText(f), fsharp: true));
        }
        return sb.ToString();
    }

    /// <summary>The declarations and the code the facts below read, gathered once per test run (reflection over the three
    /// assemblies and the reading of every source file cost seconds; every fact reads the same tree).</summary>
    private sealed record Tree(List<Declared> Considered, Dictionary<string, int> DeclarationCount, string Src, string Others, string Tests);

    private static readonly Lazy<Tree> RealTree = new(ReadTree, LazyThreadSafetyMode.ExecutionAndPublication);

    private static List<string> RealTestOnly()
    {
        var t = RealTree.Value;
        return TestOnly(t.Considered, t.DeclarationCount, t.Src, t.Others, t.Tests);
    }

    private static List<string> RealUnread()
    {
        var t = RealTree.Value;
        return Unread(t.Considered, t.DeclarationCount, t.Src, t.Others, t.Tests);
    }

    private static Tree ReadTree()
    {
        string root = Root();
        var assemblies = new[] { typeof(BlockCatalog).Assembly, Assembly.Load("ResOdeProofs.Theory"), typeof(ExitCodes).Assembly };
        var (considered, count) = Declarations(assemblies);
        var docs = new StringBuilder();
        foreach (var md in Directory.EnumerateFiles(Path.Combine(root, "docs"), "*.md", SearchOption.AllDirectories).Append(Path.Combine(root, "README.md")))
            docs.AppendLine(FencedCode(File.ReadAllText(md)));
        // the docs' scripts (e.g. docs/theorems/GeluConstants.py, which reads the engine's proven constants from its source)
        foreach (var py in Directory.EnumerateFiles(Path.Combine(root, "docs"), "*.py", SearchOption.AllDirectories))
            docs.AppendLine(File.ReadAllText(py));
        string others = CodeUnder(Path.Combine(root, "bench")) + "\n" + docs;
        // the tests' code without this file: its exception lists name each listed member in a string, which reads nothing
        string tests = CodeUnder(Path.Combine(root, "tests"), except: "Cli.Tests/TestOnlyMembersTests.cs");
        return new Tree(considered, count, CodeUnder(Path.Combine(root, "src")), others, tests);
    }

    // ---------------------------------------------------------------- the tests

    [Fact(DisplayName = "Test-only members: every public or internal member of src/ → read by src/, bench/ or the docs' code and scripts, or a listed exception with its reason")]
    public void EveryMemberOfSrcIsReadBySrcOrListed()
    {
        var testOnly = RealTestOnly();
        var problems = Problems(testOnly, Exceptions);
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    [Fact(DisplayName = "Test-only members: the tree with one exception removed from the list → that member reported")]
    public void OneExceptionRemovedIsReported()
    {
        var testOnly = RealTestOnly();
        foreach (var removed in Exceptions.Keys)
        {
            var fewer = Exceptions.Where(e => e.Key != removed).ToDictionary(e => e.Key, e => e.Value);
            var problems = Problems(testOnly, fewer);
            Assert.Equal(new[] { $"{removed}: declared in src/, read only by tests/ (move it to its reader, wire it in, or list it with its reason)" }, problems);
        }
    }

    [Fact(DisplayName = "Test-only members: a synthetic tree → the member only a test and src/'s comments name reported; read, string-named, shown in docs or bench-read ones not")]
    public void SyntheticTreeReportsExactlyTheTestOnlyMember()
    {
        var declared = new[] { "Read", "OnlyTests", "ByName", "Shown", "Benched", "Dead" }.Select(n => new Declared("Lib.Type", n)).ToList();
        var count = declared.ToDictionary(d => d.Name, _ => 1);
        count["Read"] = 2; // an override of Read elsewhere in src/: two declarations
        string src = Code("""
            class Type {
              public int Read() => 1;                  // OnlyTests is mentioned here in a comment only
              public override int Read() => 2;
              /// <see cref="OnlyTests"/>
              public int OnlyTests() => 3;
              /* OnlyTests */ public int ByName() => 4; public int Shown() => 5; public int Benched() => 6; public int Dead() => 7;
              int Use() => Read() + Lookup("ByName") + 'x';
            }
            """, fsharp: false)
            + Code("""
            let f x = (* OnlyTests *) x // OnlyTests again
            """, fsharp: true);
        string others = FencedCode("text Shown outside a block\n```fsharp\nlet y = Type.Shown ()\n```\n") + Code("Type.Benched();", fsharp: false);
        string tests = Code("t.Read(); t.OnlyTests(); t.ByName(); t.Shown(); t.Benched();", fsharp: false);
        Assert.Equal(new[] { "Lib.Type.OnlyTests" }, TestOnly(declared, count, src, others, tests));
        // the same tree with OnlyTests read by src/ itself → nothing reported
        Assert.Empty(TestOnly(declared, count, src + Code("int k = OnlyTests();", fsharp: false), others, tests));
        // and the report against an empty exception list names it; a stale exception is reported too
        Assert.Equal(new[] { "Lib.Type.OnlyTests: declared in src/, read only by tests/ (move it to its reader, wire it in, or list it with its reason)" },
            Problems(new[] { "Lib.Type.OnlyTests" }, new Dictionary<string, string>()));
        Assert.Single(Problems(Array.Empty<string>(), new Dictionary<string, string> { ["Lib.Type.Read"] = "stale" }));
    }

    [Fact(DisplayName = "Unread members: every public or internal member of src/ → read by src/, bench/, the docs' code and scripts or tests/, or a listed exception with its reason")]
    public void EveryMemberOfSrcIsReadSomewhereOrListed()
    {
        var problems = UnreadProblems(RealUnread(), UnreadExceptions);
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    [Fact(DisplayName = "Unread members: the tree with one exception removed from the list → that member reported")]
    public void OneUnreadExceptionRemovedIsReported()
    {
        var unread = RealUnread();
        Assert.NotEmpty(UnreadExceptions);
        foreach (var removed in UnreadExceptions.Keys)
        {
            var fewer = UnreadExceptions.Where(e => e.Key != removed).ToDictionary(e => e.Key, e => e.Value);
            Assert.Equal(new[] { $"{removed}: declared in src/, read by nothing (delete it, wire it in, or list it with its reason)" },
                UnreadProblems(unread, fewer));
        }
    }

    [Fact(DisplayName = "Unread members: a synthetic tree → the member only its declaration and src/'s comments name reported; read by src/, a string, the docs, bench/ or a test not")]
    public void SyntheticTreeReportsExactlyTheUnreadMember()
    {
        var declared = new[] { "Read", "ByName", "Shown", "Benched", "Tested", "Dead" }.Select(n => new Declared("Lib.Type", n)).ToList();
        var count = declared.ToDictionary(d => d.Name, _ => 1);
        count["Read"] = 2; // an override of Read elsewhere in src/: two declarations
        string src = Code("""
            class Type {
              public int Read() => 1;                  // Dead is mentioned here in a comment only
              public override int Read() => 2;
              /// <see cref="Dead"/>
              public int Dead() => 3;
              /* Dead */ public int ByName() => 4; public int Shown() => 5; public int Benched() => 6; public int Tested() => 7;
              int Use() => Read() + Lookup("ByName");
            }
            """, fsharp: false)
            + Code("""
            let f x = (* Dead *) x // Dead again
            """, fsharp: true);
        string others = FencedCode("text Shown outside a block\n```fsharp\nlet y = Type.Shown ()\n```\n") + Code("Type.Benched();", fsharp: false);
        string tests = Code("t.Tested(); // t.Dead()", fsharp: false);
        Assert.Equal(new[] { "Lib.Type.Dead" }, Unread(declared, count, src, others, tests));
        // the same tree with Dead called by a test → nothing unread (Dead is test-only instead, beside Tested)
        Assert.Empty(Unread(declared, count, src, others, tests + Code("t.Dead();", fsharp: false)));
        Assert.Equal(new[] { "Lib.Type.Dead", "Lib.Type.Tested" }, TestOnly(declared, count, src, others, tests + Code("t.Dead();", fsharp: false)));
        // the report against an empty exception list names it; a stale exception is reported too
        Assert.Equal(new[] { "Lib.Type.Dead: declared in src/, read by nothing (delete it, wire it in, or list it with its reason)" },
            UnreadProblems(new[] { "Lib.Type.Dead" }, new Dictionary<string, string>()));
        Assert.Equal(new[] { "Lib.Type.Read: listed as unread but something reads it (remove it from the list)" },
            UnreadProblems(Array.Empty<string>(), new Dictionary<string, string> { ["Lib.Type.Read"] = "stale" }));
    }
}
