using System.Text.Json;
using PuppeteerSharp;

namespace ResOdeProofs.Report.Tests;

/// <summary>
/// Headless Chromium for the report tests: Debian's `chromium` package (/usr/bin/chromium, installed by
/// .ci/run), or the executable named by RESODE_CHROMIUM. On CI (CI set) a missing browser fails the
/// tests with this message; elsewhere the browser tests are skipped with it (see <see cref="BrowserFactAttribute"/>).
/// </summary>
internal static class Browser
{
    public static string? Executable()
    {
        var env = Environment.GetEnvironmentVariable("RESODE_CHROMIUM");
        if (!string.IsNullOrWhiteSpace(env)) return File.Exists(env) ? env : null;
        foreach (var p in new[] { "/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome" })
            if (File.Exists(p)) return p;
        return null;
    }

    public static bool OnCi => !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("CI"));

    public const string Missing =
        "Chromium not found (looked for RESODE_CHROMIUM, /usr/bin/chromium, /usr/bin/chromium-browser, /usr/bin/google-chrome): " +
        "install Debian's package with `apt-get install chromium` (.ci/run does) or set RESODE_CHROMIUM to a Chromium executable";

    /// <summary>
    /// Starts the browser. What the tests check is the page, not how fast Chromium starts: on a loaded 2-core machine its
    /// DevTools endpoint once took longer than PuppeteerSharp's default 30 s to appear (a CI run of 2026-12-05, every other
    /// browser test of that run passing), so the launch waits up to 120 s and a start that still fails is tried once more
    /// in a fresh process; a second failure fails the test with both messages.
    /// </summary>
    public static async Task<IBrowser> LaunchAsync()
    {
        var exe = Executable() ?? throw new InvalidOperationException(Missing);
        LaunchOptions Options() => new()
        {
            Headless = true, ExecutablePath = exe, Timeout = 120_000,
            // root on CI needs --no-sandbox; the report is a local file that links local pages
            Args = new[] { "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--allow-file-access-from-files" },
        };
        try { return await Puppeteer.LaunchAsync(Options()); }
        catch (ProcessException first)
        {
            try { return await Puppeteer.LaunchAsync(Options()); }
            catch (ProcessException second)
            {
                throw new InvalidOperationException($"Chromium did not start twice: {first.Message}; then {second.Message}", second);
            }
        }
    }

    /// <summary>
    /// What a reader sees of a page at one viewport width: the images and whether they loaded, the page's
    /// horizontal overflow (and the elements sticking out), the headline and table of contents, and every
    /// verdict with its link target resolved to a local path.
    /// </summary>
    public sealed record PageFacts(
        int Images, List<string> BrokenImages, int ScrollWidth, int ClientWidth, List<string> Overflowing,
        bool HasViewportMeta, string Headline, List<string> TocTargets, List<string> MissingTocTargets,
        int Verdicts, List<string> VerdictsWithoutLink, List<string> VerdictHrefs);

    private const string Probe = """
        (() => {
          const de = document.documentElement;
          const imgs = [...document.images];
          const broken = imgs.filter(i => !(i.complete && i.naturalWidth > 0)).map(i => (i.alt || i.src).slice(0, 80));
          const cw = de.clientWidth;
          const over = [];
          for (const el of document.body.querySelectorAll('*')) {
            const r = el.getBoundingClientRect();
            if (r.right > cw + 0.5 && !el.closest('.scroll') && !el.closest('details:not([open])')) over.push(el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + ' right=' + Math.round(r.right));
          }
          const toc = [...document.querySelectorAll('nav#toc a[href^="#"]')].map(a => a.getAttribute('href').slice(1));
          const verdicts = [...document.querySelectorAll('.verdict')];
          const h = document.getElementById('headline');
          return JSON.stringify({
            Images: imgs.length, BrokenImages: broken, ScrollWidth: de.scrollWidth, ClientWidth: cw, Overflowing: over.slice(0, 10),
            HasViewportMeta: !!document.querySelector('meta[name="viewport"]'),
            Headline: h ? h.innerText : '',
            TocTargets: toc, MissingTocTargets: toc.filter(id => !document.getElementById(id)),
            Verdicts: verdicts.length,
            VerdictsWithoutLink: verdicts.filter(v => !(v.tagName === 'A' && v.getAttribute('href'))).map(v => v.innerText.slice(0, 60)).slice(0, 10),
            VerdictHrefs: [...new Set(verdicts.filter(v => v.tagName === 'A' && v.href).map(v => v.href))],
          });
        })()
        """;

    public static async Task<PageFacts> ProbeAsync(IBrowser browser, string htmlPath, int width)
    {
        await using var page = await browser.NewPageAsync();
        await page.SetViewportAsync(new ViewPortOptions { Width = width, Height = 900 });
        await page.GoToAsync(new Uri(Path.GetFullPath(htmlPath)).AbsoluteUri, new NavigationOptions { WaitUntil = new[] { WaitUntilNavigation.Load }, Timeout = 120_000 });
        var json = await page.EvaluateExpressionAsync<string>(Probe);
        return JsonSerializer.Deserialize<PageFacts>(json)!;
    }

    /// <summary>Every problem a reader would meet on the page, one line each (empty when there is none).</summary>
    public static List<string> Problems(PageFacts f, int width)
    {
        var p = new List<string>();
        if (f.BrokenImages.Count > 0) p.Add($"{f.BrokenImages.Count} of {f.Images} images did not load: {string.Join("; ", f.BrokenImages)}");
        if (f.ScrollWidth > f.ClientWidth)
            p.Add($"the page overflows horizontally at {width} px (scrollWidth {f.ScrollWidth} > {f.ClientWidth}): {string.Join(", ", f.Overflowing)}");
        if (!f.HasViewportMeta) p.Add("no <meta name=\"viewport\">");
        if (!f.Headline.Contains("verdict rows", StringComparison.Ordinal)) p.Add("no headline box (#headline with the verdict counts)");
        if (f.TocTargets.Count < 3) p.Add($"no table of contents (nav#toc has {f.TocTargets.Count} links)");
        if (f.MissingTocTargets.Count > 0) p.Add($"table-of-contents links without a target: {string.Join(", ", f.MissingTocTargets)}");
        if (f.Verdicts == 0) p.Add("no verdicts on the page");
        if (f.VerdictsWithoutLink.Count > 0) p.Add($"verdicts without a link to their page: {string.Join("; ", f.VerdictsWithoutLink)}");
        foreach (var href in f.VerdictHrefs)
        {
            var u = new Uri(href);
            if (!u.IsFile) p.Add($"verdict link {href} is not a local page");
            else if (!File.Exists(u.LocalPath)) p.Add($"verdict link {href} points to a missing page");
        }
        return p;
    }
}

/// <summary>A browser test: skipped with the reason when Chromium is missing off CI; on CI it runs and fails with <see cref="Browser.Missing"/>.</summary>
public sealed class BrowserFactAttribute : FactAttribute
{
    public BrowserFactAttribute()
    {
        if (Browser.Executable() is null && !Browser.OnCi) Skip = Browser.Missing + " (skipped off CI; on CI, with CI set, this test fails instead)";
    }
}
