using System.Runtime.Intrinsics;

namespace ResOdeProofs.Numerics.Model;

/// <summary>Instruction-set level of the engine's kernels.</summary>
public enum SimdLevel
{
    /// <summary>Plain scalar loops (the portable fallback).</summary>
    Scalar,
    /// <summary>256-bit vectors (AVX2 / FMA class hardware).</summary>
    Vector256,
    /// <summary>512-bit vectors (AVX-512 class hardware).</summary>
    Vector512,
}

/// <summary>
/// Chooses the kernel width once per process: the widest accelerated vector size, unless the environment
/// variable RESODE_SIMD is "scalar", "256" or "512" (a request for a width the hardware does not accelerate
/// falls back to the next narrower one). Tests may force a level through <see cref="Override"/>.
/// </summary>
public static class Simd
{
    private static readonly SimdLevel Detected = Detect();

    [ThreadStatic] private static SimdLevel? _override;

    /// <summary>
    /// Forces a level for evaluations started on the current thread (tests); null = the detected one.
    /// Thread-local so that tests running in parallel do not see each other's setting; an evaluation
    /// passes the level of its calling thread on to its worker threads.
    /// </summary>
    internal static SimdLevel? Override { get => _override; set => _override = value; }

    /// <summary>The level the kernels use now.</summary>
    public static SimdLevel Level => Override is SimdLevel o ? Clamp(o) : Detected;

    /// <summary>Widest level the hardware accelerates.</summary>
    public static SimdLevel Hardware =>
        Vector512.IsHardwareAccelerated ? SimdLevel.Vector512 :
        Vector256.IsHardwareAccelerated ? SimdLevel.Vector256 : SimdLevel.Scalar;

    /// <summary>
    /// True where the JIT has only 16 vector registers (x64 without AVX-512: an AVX2 machine, or AVX-512 disabled);
    /// a JIT-time constant. The GEMM's 4 × 4 tile needs 21 live vectors (16 accumulators, 4 rows of B, one broadcast)
    /// and spills there, so it uses its 4 × 2 tiles (11). Tiles change no bit: each entry of C sums over k in order.
    /// </summary>
    internal static bool FewVectorRegisters
    {
        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
        get => System.Runtime.Intrinsics.X86.Avx2.IsSupported && !System.Runtime.Intrinsics.X86.Avx512F.VL.IsSupported;
    }

    /// <summary>Vector width in bits of a level (64 for scalar, one float64).</summary>
    public static int Bits(SimdLevel l) => l switch { SimdLevel.Vector512 => 512, SimdLevel.Vector256 => 256, _ => 64 };

    private static SimdLevel Clamp(SimdLevel l) => (SimdLevel)Math.Min((int)l, (int)Hardware);

    private static SimdLevel Detect()
    {
        var env = Environment.GetEnvironmentVariable("RESODE_SIMD")?.Trim().ToLowerInvariant();
        SimdLevel want = env switch
        {
            "scalar" or "0" or "64" => SimdLevel.Scalar,
            "256" or "vector256" or "avx2" => SimdLevel.Vector256,
            _ => SimdLevel.Vector512,
        };
        return Clamp(want);
    }
}
