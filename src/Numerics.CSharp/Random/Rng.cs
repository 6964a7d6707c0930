namespace ResOdeProofs.Numerics.Random;

/// <summary>
/// The engine's only source of randomness: xoshiro256** seeded through SplitMix64, with a
/// Gaussian sampler (Marsaglia's polar method). It is written here rather than taken from
/// <see cref="System.Random"/> so that a seed gives the same numbers on every runtime and
/// platform, forever: a run directory records its seed and must be reproducible from it.
/// </summary>
public sealed class Rng
{
    private ulong _s0, _s1, _s2, _s3;
    private double _spareGaussian;
    private bool _hasSpare;

    /// <summary>Seeds the four state words from <paramref name="seed"/> with SplitMix64.</summary>
    public Rng(long seed)
    {
        ulong x = unchecked((ulong)seed);
        _s0 = SplitMix(ref x); _s1 = SplitMix(ref x); _s2 = SplitMix(ref x); _s3 = SplitMix(ref x);
    }

    /// <summary>An independent stream for a named purpose (data, init, ...) derived from one seed.</summary>
    public static Rng ForStream(long seed, string purpose)
    {
        // FNV-1a of the purpose, mixed with the seed: streams for different purposes do not overlap in practice.
        ulong h = 14695981039346656037UL;
        foreach (char c in purpose) { h ^= c; h *= 1099511628211UL; }
        ulong x = unchecked((ulong)seed) ^ h;
        return new Rng(unchecked((long)SplitMix(ref x)));
    }

    private static ulong SplitMix(ref ulong x)
    {
        ulong z = x += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    private static ulong Rotl(ulong x, int k) => (x << k) | (x >> (64 - k));

    /// <summary>Next 64 random bits (xoshiro256**).</summary>
    public ulong NextUInt64()
    {
        ulong result = Rotl(_s1 * 5, 7) * 9;
        ulong t = _s1 << 17;
        _s2 ^= _s0; _s3 ^= _s1; _s1 ^= _s2; _s0 ^= _s3;
        _s2 ^= t; _s3 = Rotl(_s3, 45);
        return result;
    }

    /// <summary>Uniform on [0, 1) with 53 random bits.</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <summary>Uniform integer in [0, n).</summary>
    public int NextInt(int n)
    {
        if (n <= 0) throw new ArgumentOutOfRangeException(nameof(n));
        return (int)(NextDouble() * n);
    }

    /// <summary>
    /// Standard normal N(0, 1) by Marsaglia's polar method: sums, products, a quotient and a square root (correctly rounded
    /// by IEEE 754) and <see cref="PortableMath.Log"/> (the platform's Math.Log differs in the last place between C
    /// libraries, which would make a seed's initial weights depend on the platform).
    /// </summary>
    public double NextGaussian()
    {
        if (_hasSpare) { _hasSpare = false; return _spareGaussian; }
        double u, v, s;
        do
        {
            u = 2.0 * NextDouble() - 1.0;
            v = 2.0 * NextDouble() - 1.0;
            s = u * u + v * v;
        } while (s >= 1.0 || s == 0.0);
        double f = Math.Sqrt(-2.0 * PortableMath.Log(s) / s);
        _spareGaussian = v * f;
        _hasSpare = true;
        return u * f;
    }

    /// <summary>Fills <paramref name="target"/> with independent N(0, scale²) entries.</summary>
    public void FillGaussian(Span<double> target, double scale = 1.0)
    {
        for (int i = 0; i < target.Length; i++) target[i] = scale * NextGaussian();
    }
}
