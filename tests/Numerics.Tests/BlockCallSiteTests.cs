using System.Text.RegularExpressions;
using Xunit;

namespace ResOdeProofs.Numerics.Tests;

/// <summary>
/// The theory layer and the property suite call a block's Forward and Backward through <c>Blocks.BlockCalls</c>
/// (docs/architecture.md, "Calling a block from the theory layer (2026-12-03)"): a direct call with spans formed in a
/// long F# method with loops once lost a block's output when a collection moved an array at the wrong moment. This scan
/// keeps a new direct call from slipping in unseen: every <c>.Forward(</c> or <c>.Backward(</c> in those F# sources must go
/// through BlockCalls or be one of the reviewed exceptions below, each with its reason.
/// </summary>
public class BlockCallSiteTests
{
    /// <summary>Reviewed direct calls: (file name, the call's text on its line, why it is safe).</summary>
    internal static readonly (string File, string Call, string Why)[] Reviewed =
    {
        ("HalfDepth.fs", "BnConvFolded.Forward(", "a static method of the folded network (not a block): its two spans travel in registers (checked on the listing, docs/architecture.md)"),
        ("BlockForwardTests.fs", "inner.Forward(", "a test block's own Forward, forwarding to the wrapped block: a one-line member without loops, itself called through BlockCalls"),
        ("BlockForwardTests.fs", "inner.Backward(", "the same test block's Backward, forwarding likewise"),
    };

    private static readonly Regex Call = new(@"(?<receiver>[\w.]*)\.(?<method>Forward|Backward)\s*\(", RegexOptions.Compiled);

    /// <summary>Direct block calls in one F# source: (line number, the call's text up to its parenthesis).</summary>
    internal static List<(int Line, string Call)> DirectCalls(string fileName, string source)
    {
        var found = new List<(int, string)>();
        var lines = source.Split('\n');
        for (int i = 0; i < lines.Length; i++)
        {
            string line = lines[i];
            int comment = line.IndexOf("//", StringComparison.Ordinal);
            if (comment >= 0) line = line[..comment];
            foreach (Match m in Call.Matches(line))
            {
                string receiver = m.Groups["receiver"].Value;
                string text = m.Value.Replace(" ", "");
                // a definition (member _.Forward(...) = ...), not a call: the keyword stands right before the receiver
                if (Regex.IsMatch(line[..m.Index], @"\b(member|override|default|abstract)\s+$")) continue;
                if (receiver == "BlockCalls" || receiver.EndsWith(".BlockCalls", StringComparison.Ordinal)) continue;
                if (Reviewed.Any(r => r.File == fileName && text.EndsWith(r.Call, StringComparison.Ordinal))) continue;
                found.Add((i + 1, text));
            }
        }
        return found;
    }

    private static string RepositoryRoot()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "ResOdeProofs.sln"))) return d.FullName;
        throw new DirectoryNotFoundException("the repository root (ResOdeProofs.sln) is not above the test assembly");
    }

    [Fact(DisplayName = "Block call sites: every F# source of the theory layer and the property suite → calls Forward and Backward only through BlockCalls or a reviewed exception")]
    public void EveryBlockCallGoesThroughBlockCalls()
    {
        var root = RepositoryRoot();
        var files = new[] { Path.Combine(root, "src", "Theory.FSharp"), Path.Combine(root, "tests", "Properties") }
            .SelectMany(dir => Directory.GetFiles(dir, "*.fs", SearchOption.AllDirectories))
            .Where(f => !f.Split(Path.DirectorySeparatorChar).Any(p => p is "bin" or "obj"))
            .ToArray();
        Assert.True(files.Length > 50, $"only {files.Length} F# files found");
        var direct = files.SelectMany(f => DirectCalls(Path.GetFileName(f), File.ReadAllText(f))
            .Select(c => $"{Path.GetRelativePath(root, f)}:{c.Line} {c.Call}")).ToList();
        Assert.True(direct.Count == 0, "direct block calls (use Blocks.BlockCalls, or review and list the call): " + string.Join("; ", direct));
        // every reviewed exception still exists: a stale entry would let a new call of the same text through unreviewed
        foreach (var r in Reviewed)
            Assert.True(files.Any(f => Path.GetFileName(f) == r.File && File.ReadAllText(f).Contains(r.Call, StringComparison.Ordinal)),
                $"reviewed call {r.Call} in {r.File} no longer exists: remove it from the list");
    }

    [Theory(DisplayName = "Block call sites: a direct call from a loop, qualified or not, in a closure, after code on its line, another call in a reviewed file, a reviewed call in another file, a call on a member's definition line → found")]
    [InlineData("Probe.fs", "for k in 0 .. L - 1 do\n    block.Forward(ReadOnlySpan theta, ReadOnlySpan h, Span out, Span cache, n)", 2, "block.Forward(")]
    [InlineData("Probe.fs", "let f () =\n  let g = fun i -> spec.Block.Backward(ReadOnlySpan th, h, c, p, gt, gh, n)\n  g 0", 2, "spec.Block.Backward(")]
    [InlineData("Probe.fs", "let y = 1 in b.Forward (th, h, o, c, n) // and a comment", 1, "b.Forward(")]
    [InlineData("HalfDepth.fs", "block.Forward(ReadOnlySpan th, h, o, c, n)", 1, "block.Forward(")]
    [InlineData("Probe.fs", "let full = BnConvFolded.Forward(block, ReadOnlySpan th, L, ReadOnlySpan h0, n, 1, 1.0)", 1, "BnConvFolded.Forward(")]
    [InlineData("Probe.fs", "        member _.Forward(theta, h, output, cache, n) = x.Forward(theta, h, output, cache, n)", 1, "x.Forward(")]
    public void DirectCallIsFound(string file, string source, int line, string call)
    {
        var found = DirectCalls(file, source);
        Assert.Contains(found, f => f.Line == line && f.Call == call);
    }

    [Theory(DisplayName = "Block call sites: BlockCalls, a member's definition, a comment, a reviewed exception in its own file → not found")]
    [InlineData("Probe.fs", "BlockCalls.Forward(block, theta, 0, h, 0, out, cache, n)")]
    [InlineData("Probe.fs", "ResOdeProofs.Numerics.Blocks.BlockCalls.Backward(block, th, 0, h, 0, c, p, 0, gt, gh, n)")]
    [InlineData("Probe.fs", "        member _.Forward(theta, h, output, cache, n) = ()")]
    [InlineData("Probe.fs", "// block.Forward(theta, h, output, cache, n) was called here before")]
    [InlineData("HalfDepth.fs", "let full = BnConvFolded.Forward(block, ReadOnlySpan th, L, ReadOnlySpan x.H0, n, 1, 1.0)")]
    public void AllowedCallIsNotFound(string file, string source) => Assert.Empty(DirectCalls(file, source));
}
