using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using ScottPlot;

namespace ResOdeProofs.Cli.Report;

internal static partial class Figures
{
    /// <summary>
    /// Writes the plot as SVG with its dashed and dotted lines intact. SkiaSharp's SVG canvas has no path
    /// effects: a dash pattern is dropped (the line comes out solid) and the native library prints
    /// "Unsupported path effect in addPaint." on standard output. So every patterned line is drawn solid in a
    /// colour of its own that no other element uses, and in the SVG text each stroke of that colour gets its
    /// real colour back together with a <c>stroke-dasharray</c> of the pattern's intervals (in pixels, as Skia
    /// draws them into the PNG).
    /// </summary>
    private static void SaveSvgWithDashes(Plot plot, string path, int width, int height)
    {
        var lines = plot.GetPlottables().OfType<IHasLine>()
            .Where(p => p.LineStyle.Width > 0 && p.LineStyle.Pattern.Intervals is { Length: > 0 } iv && iv.Any(x => x > 0)).ToList();
        var saved = lines.Select(p => (p.LineStyle.Pattern, p.LineStyle.Color)).ToList();
        var tags = new List<string>();
        try
        {
            for (int i = 0; i < lines.Count; i++)
            {
                // A colour no figure uses: red 1..250 (one per patterned line), green 3, blue 7, full alpha.
                var tag = new Color((byte)(1 + i), 3, 7);
                tags.Add(Hex(tag));
                lines[i].LineStyle.Pattern = LinePattern.Solid;
                lines[i].LineStyle.Color = tag.WithAlpha(255);
            }
            plot.SaveSvg(path, width, height);
        }
        finally
        {
            for (int i = 0; i < lines.Count; i++) (lines[i].LineStyle.Pattern, lines[i].LineStyle.Color) = saved[i];
        }
        if (lines.Count == 0) return;
        string svg = File.ReadAllText(path);
        for (int i = 0; i < lines.Count; i++)
        {
            var (pattern, color) = saved[i];
            string dash = string.Join(' ', pattern.Intervals.Select(x => x.ToString("0.###", CultureInfo.InvariantCulture)));
            string replacement = $"stroke=\"{Hex(color)}\" stroke-dasharray=\"{dash}\"" +
                                 (color.A < 255 ? $" stroke-opacity=\"{(color.A / 255.0).ToString("0.###", CultureInfo.InvariantCulture)}\"" : "");
            int before = svg.Length;
            svg = Regex.Replace(svg, $"stroke=\"{tags[i]}\"", replacement, RegexOptions.IgnoreCase);
            if (svg.Length == before && !svg.Contains(replacement, StringComparison.Ordinal))
                throw new InvalidOperationException($"{path}: the patterned line {i} was not found in the SVG (stroke {tags[i]}); the dashes cannot be restored");
        }
        File.WriteAllText(path, svg, new UTF8Encoding(false));
    }

    private static string Hex(Color c) => $"#{c.R:X2}{c.G:X2}{c.B:X2}";
}
