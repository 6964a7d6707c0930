using System.Text.RegularExpressions;

namespace ResOdeProofs.Report.Tests;

/// <summary>The HTML renderings read as written: inline code as code, formulas' subscripts kept, contents items and wide tables within the page.</summary>
public sealed class RenderingTests
{
    [Fact(DisplayName = "report pages: quick report → '_' in formulas kept (no emphasis), `code` rendered as code, a contents item in one column, text cells wrapping, number cells whole")]
    public void Pages_render_as_written()
    {
        string dir = QuickReport.Directory_;
        string euler = File.ReadAllText(Path.Combine(dir, "docs", "theorems", "EulerError.html"));
        Assert.Contains("∫_{I_k} [f(Z(s), H(s)) − f(Z_k, H(s_{k−1}))] ds", euler);
        string html = File.ReadAllText(Path.Combine(dir, "index.html"));
        string body = html[html.IndexOf("<body>", StringComparison.Ordinal)..];
        foreach (Match m in Regex.Matches(body, "<(h[1-3]|p|li)[^>]*>(.*?)</\\1>"))
            Assert.False(m.Groups[2].Value.Contains('`'), m.Groups[2].Value);
        Assert.Contains("<code>resode train --arch bn-conv</code>", html);
        Assert.Contains("nav#toc li{break-inside:avoid}", html);
        Assert.Contains("td{overflow-wrap:anywhere}", html);
        // a number keeps whole: a cell of one number is td.n, which does not wrap (1.173E+04 read "1.173E+0 / 4" at 1400 px)
        Assert.Contains("td.n{overflow-wrap:normal;white-space:nowrap}", html);
        var numbers = Regex.Matches(body, "<td([^>]*)>([-+−]?\\d+(\\.\\d+)?[eE][-+]?\\d+)</td>");
        Assert.NotEmpty(numbers);
        Assert.All(numbers, m => Assert.Equal(" class=\"n\"", m.Groups[1].Value));
        // a number with a loose flag: the number whole in span.n, the flag free to wrap at its spaces, the cell not td.n (a
        // whole flagged cell on one line made its column 51 characters wide and split the text columns' words at 1400 px)
        var flagged = Regex.Matches(body, "<td([^>]*)>(<span class=\"n\">)?[-+−]?\\d[^<]*(</span>)? <span class=\"loose\"");
        Assert.NotEmpty(flagged);
        Assert.All(flagged, m => { Assert.Equal("", m.Groups[1].Value); Assert.Equal("<span class=\"n\">", m.Groups[2].Value); });
        Assert.Contains("span.n{white-space:nowrap}", html);
        // the last column's room for notes is not taken by a last column of numbers (the Results table's run times)
        Assert.Contains("td:last-child:not(.n){min-width:12em}", html);
        Assert.Contains(".loose{color:#a14a00;font-weight:600;overflow-wrap:normal}", html);
    }
}
