using System.Text.RegularExpressions;
using Xunit;

namespace ResOdeProofs.Numerics.Tests;

/// <summary>
/// The engine's folders depend one way (docs/architecture.md, "Who owns what"): a file of one folder names only the
/// folders listed before it. A reference is the folder's namespace ResOdeProofs.Numerics.&lt;folder&gt; (a <c>using</c>, a
/// qualified name), or a name qualified by the folder alone (<c>Training.TrainOptions</c>, also in a doc <c>cref</c>).
/// </summary>
public class FolderLayeringTests
{
    /// <summary>The engine's folders from the bottom (depends on nothing) to the top.</summary>
    internal static readonly string[] Layers = { "Activations", "Random", "Model", "Ode", "Blocks", "Training", "IO", "BnConv", "Verification" };

    private static readonly Regex Reference = new(
        @"(?:ResOdeProofs\.Numerics\.(?<folder>" + string.Join("|", Layers) + @")\b|(?<![\w.])(?<folder>" + string.Join("|", Layers) + @")\.[A-Z])",
        RegexOptions.Compiled);

    /// <summary>Every reference from a file of <paramref name="folder"/> to a folder listed after it: (folder named, line number).</summary>
    internal static List<(string Folder, int Line)> Upward(string folder, string source)
    {
        int own = Array.IndexOf(Layers, folder);
        var found = new List<(string, int)>();
        var lines = source.Split('\n');
        for (int i = 0; i < lines.Length; i++)
        {
            if (lines[i].TrimStart().StartsWith("namespace ", StringComparison.Ordinal)) continue;
            foreach (Match m in Reference.Matches(lines[i]))
            {
                int other = Array.IndexOf(Layers, m.Groups["folder"].Value);
                if (other > own) found.Add((Layers[other], i + 1));
            }
        }
        return found;
    }

    /// <summary>The engine's source folder, found above the test assembly (also the portable-math source test's).</summary>
    internal static string EngineRoot()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "ResOdeProofs.sln"))) return Path.Combine(d.FullName, "src", "Numerics.CSharp");
        throw new DirectoryNotFoundException("the repository root (ResOdeProofs.sln) is not above the test assembly");
    }

    [Fact(DisplayName = "Engine folders: every source file of the engine → names no folder above its own")]
    public void NoFolderUsesOneAboveIt()
    {
        var root = EngineRoot();
        var folders = Directory.GetDirectories(root).Select(Path.GetFileName).Where(n => n is not ("bin" or "obj")).ToArray();
        Assert.Equal(Layers.OrderBy(x => x), folders.OrderBy(x => x));
        var violations = new List<string>();
        int files = 0;
        foreach (var folder in Layers)
            foreach (var file in Directory.GetFiles(Path.Combine(root, folder), "*.cs", SearchOption.AllDirectories))
            {
                files++;
                foreach (var (other, line) in Upward(folder, File.ReadAllText(file)))
                    violations.Add($"{Path.GetRelativePath(root, file)}:{line} names {other}");
            }
        Assert.True(files > 50, $"only {files} engine files found under {root}");
        // a folder's types live in its namespace (the bottom folder may use the engine's root namespace), so that a
        // reference to a folder is always spelled with its name, here and in the compiled check (CompiledLayeringTests)
        foreach (var folder in Layers)
            foreach (var file in Directory.GetFiles(Path.Combine(root, folder), "*.cs", SearchOption.AllDirectories))
                foreach (Match ns in Regex.Matches(File.ReadAllText(file), @"^\s*namespace\s+([\w.]+)", RegexOptions.Multiline))
                    if (ns.Groups[1].Value != "ResOdeProofs.Numerics." + folder && !(folder == Layers[0] && ns.Groups[1].Value == "ResOdeProofs.Numerics"))
                        violations.Add($"{Path.GetRelativePath(root, file)} declares namespace {ns.Groups[1].Value}, not its folder's");
        Assert.True(violations.Count == 0, string.Join("; ", violations));
    }

    [Theory(DisplayName = "Engine folders: a file of a lower folder naming a higher one → found")]
    [InlineData("Model", "using ResOdeProofs.Numerics.Training;\nnamespace ResOdeProofs.Numerics.Model;", "Training")]
    [InlineData("Training", "/// <see cref=\"IO.RunDirectory\"/>\nnamespace ResOdeProofs.Numerics.Training;", "IO")]
    [InlineData("Blocks", "namespace ResOdeProofs.Numerics.Blocks;\nclass X { ResOdeProofs.Numerics.Training.TrainOptions? o; }", "Training")]
    [InlineData("Ode", "using static ResOdeProofs.Numerics.Training.Trainer;", "Training")]
    [InlineData("Blocks", "namespace ResOdeProofs.Numerics.Blocks;\nclass X { Training.TrainOptions? o; }", "Training")]
    public void UpwardReferenceIsFound(string folder, string source, string expected)
    {
        var found = Upward(folder, source);
        Assert.Contains(found, f => f.Folder == expected);
    }

    [Fact(DisplayName = "Engine folders: a file naming only folders below its own, and its own namespace → nothing found")]
    public void DownwardReferencesPass()
    {
        const string source = "using ResOdeProofs.Numerics.Model;\nusing ResOdeProofs.Numerics.Blocks;\nnamespace ResOdeProofs.Numerics.Training;\n/// <see cref=\"Model.ResNet{T}\"/>";
        Assert.Empty(Upward("Training", source));
    }
}
