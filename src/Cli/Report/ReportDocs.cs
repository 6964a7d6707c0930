using System.Net;
using System.Reflection;
using Markdig;
using Markdig.Syntax;
using Markdig.Syntax.Inlines;

namespace ResOdeProofs.Cli.Report;

/// <summary>
/// Where a verdict's docs/theorems page is. By default the report carries the pages itself
/// (docs/theorems/*.html beside index.html, rendered from the Markdown pages built into the tool), so
/// that every link resolves offline and wherever the report directory is moved. With a docs base
/// (<c>resode report --docs-base URL-or-path</c>) the links point to <c>base/docs/theorems/X.md</c>
/// instead, e.g. the repository's web view, and no pages are written.
/// </summary>
internal sealed class ReportDocs(string? docsBase)
{
    private const string Prefix = "docs/theorems/";

    public string? Base { get; } = string.IsNullOrWhiteSpace(docsBase) ? null : docsBase.TrimEnd('/') + "/";

    /// <summary>The pages built into the tool: (doc path "docs/theorems/X.md", Markdown text).</summary>
    public static IReadOnlyList<(string Doc, string Text)> Pages()
    {
        var asm = Assembly.GetExecutingAssembly();
        return asm.GetManifestResourceNames().Where(n => n.StartsWith(Prefix, StringComparison.Ordinal) && n.EndsWith(".md", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal)
            .Select(n =>
            {
                using var s = asm.GetManifestResourceStream(n)!;
                using var r = new StreamReader(s);
                return (n, r.ReadToEnd());
            }).ToList();
    }

    /// <summary>The link of a doc path (as in a verdict row's <c>doc</c> field), relative to index.html; null when the row names none.</summary>
    public string? Href(string? doc)
    {
        if (string.IsNullOrWhiteSpace(doc)) return null;
        if (Base is not null) return Base + doc;
        return doc.StartsWith(Prefix, StringComparison.Ordinal) && doc.EndsWith(".md", StringComparison.Ordinal) ? doc[..^3] + ".html" : null;
    }

    /// <summary>Writes the pages (when the report carries them) under <paramref name="dir"/>/docs/theorems.</summary>
    public void Write(string dir)
    {
        if (Base is not null) return;
        string outDir = Path.Combine(dir, "docs", "theorems");
        Directory.CreateDirectory(outDir);
        var builder = new MarkdownPipelineBuilder().UsePipeTables().UseAutoIdentifiers();
        // '_' is a subscript in the pages' formulas (∫_{I_k}, s_{k−1}), never emphasis: only '*' emphasizes
        builder.InlineParsers.Find<Markdig.Parsers.Inlines.EmphasisInlineParser>()!.EmphasisDescriptors.RemoveAll(d => d.Character == '_');
        var pipeline = builder.Build();
        var asm = Assembly.GetExecutingAssembly();
        // the scripts the pages link to (the proofs' computations), as they are
        foreach (var n in asm.GetManifestResourceNames().Where(n => n.StartsWith(Prefix, StringComparison.Ordinal) && n.EndsWith(".py", StringComparison.Ordinal)))
        {
            using var s = asm.GetManifestResourceStream(n)!;
            using var f = File.Create(Path.Combine(outDir, n[Prefix.Length..]));
            s.CopyTo(f);
        }
        // the pages and the run format one of them links to (docs/run-format.md, rendered to docs/run-format.html)
        var pages = Pages().ToList();
        if (asm.GetManifestResourceStream("docs/run-format.md") is { } rf)
            using (var r = new StreamReader(rf)) pages.Add(("docs/run-format.md", r.ReadToEnd()));
        foreach (var (doc, text) in pages)
        {
            var md = Markdown.Parse(text, pipeline);
            // Links between the pages point to their HTML renderings.
            foreach (var link in md.Descendants<LinkInline>())
                if (link.Url is { } u && !u.Contains("://", StringComparison.Ordinal) && u.Split('#')[0].EndsWith(".md", StringComparison.Ordinal))
                {
                    var parts = u.Split('#', 2);
                    link.Url = parts[0][..^3] + ".html" + (parts.Length > 1 ? "#" + parts[1] : "");
                }
            string title = md.Descendants<HeadingBlock>().FirstOrDefault()?.Inline?.FirstChild?.ToString() ?? Path.GetFileNameWithoutExtension(doc);
            string body = md.ToHtml(pipeline);
            bool theorem = doc.StartsWith(Prefix, StringComparison.Ordinal);
            string pageDir = theorem ? outDir : Path.Combine(dir, "docs");
            File.WriteAllText(Path.Combine(pageDir, Path.GetFileNameWithoutExtension(doc) + ".html"),
                "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">" +
                $"<title>{WebUtility.HtmlEncode(title)}</title><style>{PageStyle}</style></head><body>" +
                (theorem ? "<p><a href=\"../../index.html\">← back to the report</a> · <a href=\"index.html\">all results</a></p>"
                         : "<p><a href=\"../index.html\">← back to the report</a> · <a href=\"theorems/index.html\">all results</a></p>") +
                body + "</body></html>");
        }
    }

    private const string PageStyle =
        "body{font-family:system-ui,sans-serif;max-width:900px;margin:2em auto;padding:0 1em;color:#222;line-height:1.5;overflow-wrap:anywhere}" +
        "pre,table{display:block;overflow-x:auto;max-width:100%}code{font-size:0.92em}td,th{border:1px solid #ccc;padding:3px 7px}table{border-collapse:collapse}";
}
