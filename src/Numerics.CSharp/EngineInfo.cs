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
}
