using System.Globalization;

namespace ResOdeProofs.Numerics.Model;

/// <summary>
/// The size of the machine's last-level cache, as the operating system reports it (Linux: the largest level among the
/// data and unified caches of cpu0 in /sys/devices/system/cpu/cpu0/cache). Read once per process. It only steers choices
/// that change no bit (whether σ and σ' are stored or recomputed, <see cref="EngineOptions.Activations"/>).
/// </summary>
public static class MachineCache
{
    /// <summary>Assumed where the system reports no cache: 8 MiB, a small last-level cache of current x86 and ARM parts.</summary>
    public const long FallbackBytes = 8L << 20;

    private static readonly Lazy<long> Size = new(() => Read("/sys/devices/system/cpu/cpu0/cache") ?? FallbackBytes);

    /// <summary>Bytes of the last-level cache (<see cref="FallbackBytes"/> when the system does not say).</summary>
    public static long LastLevelBytes => Size.Value;

    /// <summary>
    /// The last-level cache described under <paramref name="directory"/> (one index* folder per cache with files level,
    /// type and size such as "32768K"), or null when there is none or a file cannot be read or parsed.
    /// </summary>
    public static long? Read(string directory)
    {
        try
        {
            if (!Directory.Exists(directory)) return null;
            int bestLevel = -1; long bestSize = 0;
            foreach (var index in Directory.EnumerateDirectories(directory, "index*"))
            {
                string type = File.ReadAllText(Path.Combine(index, "type")).Trim();
                if (type != "Data" && type != "Unified") continue;
                if (!int.TryParse(File.ReadAllText(Path.Combine(index, "level")).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out int level)) return null;
                if (ParseSize(File.ReadAllText(Path.Combine(index, "size"))) is not long size) return null;
                if (level > bestLevel || (level == bestLevel && size > bestSize)) { bestLevel = level; bestSize = size; }
            }
            return bestLevel < 0 ? null : bestSize;
        }
        catch (IOException) { return null; }
        catch (UnauthorizedAccessException) { return null; }
    }

    /// <summary>"32768K", "1M", "512" (bytes) → bytes; null for anything else.</summary>
    public static long? ParseSize(string text)
    {
        var t = text.Trim();
        long unit = 1;
        if (t.EndsWith('K')) { unit = 1L << 10; t = t[..^1]; }
        else if (t.EndsWith('M')) { unit = 1L << 20; t = t[..^1]; }
        else if (t.EndsWith('G')) { unit = 1L << 30; t = t[..^1]; }
        return long.TryParse(t, NumberStyles.None, CultureInfo.InvariantCulture, out long v) && v > 0 && v <= long.MaxValue / unit ? v * unit : null;
    }
}
