using System.Reflection;

namespace ResOdeProofs.Numerics;

/// <summary>Version and provenance of the engine.</summary>
public static class EngineInfo
{
    /// <summary>The engine's version.</summary>
    public const string Version = "0.1.0";

    /// <summary>
    /// The git commit the engine was built from, stamped at build time (`git rev-parse HEAD`, with "+dirty" when the
    /// checkout had uncommitted changes); "unknown" when the build ran without git or outside a checkout.
    /// </summary>
    public static string Commit { get; } =
        typeof(EngineInfo).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().FirstOrDefault(a => a.Key == "EngineCommit")?.Value is { Length: > 0 } c
            ? c : "unknown";

    /// <summary>
    /// The identity of the engine's arithmetic: "commit:SHA" for a build of a clean checkout, otherwise "content:H" with H
    /// the SHA-256 of the engine assembly (a dirty or unknown commit names no one program: two different uncommitted trees
    /// both say "SHA+dirty"). A run that records this identity, the vector width and the thread count claims that this
    /// engine replays it bit for bit; the verifier checks that claim (E.replay).
    /// </summary>
    public static string Build { get; } = ComputeBuild();

    /// <summary>
    /// The platform the engine runs on, as .NET names it (its runtime identifier: "linux-x64", "linux-musl-x64", "osx-x64",
    /// "win-x64", …). The engine's exp, log, tanh, sin and cos are its own (<see cref="PortableMath"/>: IEEE operations only,
    /// so the same on every platform; before 2026-12-07 the scalar code called the platform's math library), but no two
    /// platforms' bits have been compared, so a run claims a bit-for-bit replay on the platform that trained it only.
    /// </summary>
    public static string Platform { get; } = System.Runtime.InteropServices.RuntimeInformation.RuntimeIdentifier;

    private static string ComputeBuild()
    {
        if (Commit != "unknown" && !Commit.EndsWith("+dirty", StringComparison.Ordinal)) return "commit:" + Commit;
        try
        {
            var path = typeof(EngineInfo).Assembly.Location;
            if (path.Length == 0 || !File.Exists(path)) return "content:unknown";
            using var f = File.OpenRead(path);
            return "content:" + Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(f))[..16].ToLowerInvariant();
        }
        catch (IOException) { return "content:unknown"; }
    }
}
