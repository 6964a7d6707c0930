using ResOdeProofs.Cli.Report;
using Xunit;

namespace ResOdeProofs.Cli.Tests;

/// <summary>
/// The report's figure groups drawn two at a time (<see cref="ReportWriter.DrawInLanes"/>): each figure's SVG is left to an
/// action the group adds to <see cref="Figures.SvgLater"/> and written afterwards in the page's order; a group whose count of
/// figures and of SVGs left differ fails the report instead of embedding an empty or a missing figure.
/// </summary>
public sealed class FigureLanesTests
{
    // A figure drawn the way Figures.Save draws one beside others: its SVG left for later when a lane collects them.
    private static Figure Drawn(string name, List<string> written)
    {
        Figure Svg() { lock (written) written.Add(name); return new Figure(name, "caption " + name, "<svg>" + name + "</svg>"); }
        if (Figures.SvgLater is { } later) { later.Add(Svg); return new Figure(name, "caption " + name, ""); }
        return Svg();
    }

    private static Func<IEnumerable<Figure>> Group(List<string> written, params string[] names) =>
        () => names.Select(n => Drawn(n, written)).ToList();

    [Theory(DisplayName = "report figures: groups on one and on two lanes → every SVG written once, in the page's order")]
    [InlineData(1)]
    [InlineData(2)]
    public void GroupsInPageOrder(int lanes)
    {
        var written = new List<string>();
        var draw = new List<Func<IEnumerable<Figure>>>
        {
            Group(written, "a1", "a2"), Group(written, "b1"), Group(written), Group(written, "d1", "d2", "d3"),
        };
        var figures = ReportWriter.DrawInLanes(draw, lanes);
        var order = new[] { "a1", "a2", "b1", "d1", "d2", "d3" };
        Assert.Equal(order, figures.Select(f => f.Name));
        Assert.Equal(order.Select(n => "<svg>" + n + "</svg>"), figures.Select(f => f.Svg));
        Assert.Equal(order, written);
        Assert.Null(Figures.SvgLater);
    }

    [Fact(DisplayName = "report figures: a group returns a figure whose SVG it did not leave, on two lanes → the report fails naming the group")]
    public void FigureWithoutSvgFails()
    {
        var written = new List<string>();
        var draw = new List<Func<IEnumerable<Figure>>>
        {
            Group(written, "a1"),
            () => new[] { Drawn("b1", written), new Figure("b2", "saved elsewhere", "") },
        };
        var e = Assert.Throws<InvalidOperationException>(() => ReportWriter.DrawInLanes(draw, 2));
        Assert.Contains("figure group 1: 2 figure(s) drawn but 1 saved", e.Message);
        Assert.Empty(written);
    }

    [Fact(DisplayName = "report figures: a group leaves an SVG for a figure it does not return, on two lanes → the report fails naming the group")]
    public void SvgWithoutFigureFails()
    {
        var written = new List<string>();
        var draw = new List<Func<IEnumerable<Figure>>>
        {
            () => { Drawn("a0", written); return new[] { Drawn("a1", written) }; },
            Group(written, "b1"),
        };
        var e = Assert.Throws<InvalidOperationException>(() => ReportWriter.DrawInLanes(draw, 2));
        Assert.Contains("figure group 0: 1 figure(s) drawn but 2 saved", e.Message);
        Assert.Empty(written);
    }
}
