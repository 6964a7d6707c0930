using System.Runtime.CompilerServices;

namespace ResOdeProofs.Numerics.Model;

/// <summary>
/// Arrays whose first element lies on a 64-byte boundary (a cache line: one 512-bit vector, two 256-bit ones), for the
/// engine's and the observer's working arrays. A vector load or store at an address that is not a multiple of its width
/// touches two cache lines; on a core with two 512-bit load ports the figure-2 product u = hWᵀ ran at 77 % of the FMA peak
/// with its operands where the runtime put them (16–40 bytes past a line) against 88 % with every operand on a line
/// (`bench --shapes-probe`, docs/performance.md). The runtime offers no alignment for managed arrays, so the array is
/// allocated on the pinned object heap (it never moves, so an alignment found stays), after a small pinned filler sized
/// from where the heap's next free address lies so that the array's data starts on a line, and allocated again where the
/// heap put it elsewhere (a bounded number of times).
/// After a few attempts (another thread allocating pinned memory at the same time can take the gap) the last array is
/// returned as it is: alignment changes the speed, never a number (the same operations on the same values).
/// </summary>
public static class AlignedArrays
{
    /// <summary>The boundary, in bytes.</summary>
    public const int Boundary = 64;

    /// <summary>Arrays below this many bytes are allocated as usual (ordinary heap): too small for the alignment to matter.</summary>
    public const int SmallBytes = 1024;

    private static readonly object s_lock = new();

    /// <summary>The most attempts after the first, for an array below <see cref="RetryBytes"/>.</summary>
    private const int Attempts = 16;

    /// <summary>Arrays of at least this many bytes are allocated once, after a probe and a filler of 64 KiB or more.</summary>
    public const long RetryBytes = 256 << 10;

    /// <summary>The size of a large array's probe, and the least size of its filler.</summary>
    private const int LargeFiller = 64 << 10;

    // the attempts left behind and their fillers (see Create)
    private static readonly List<Array> s_kept = new();
    private static long s_keptBytes;

    /// <summary>The most bytes kept for the life of the process (a worker that runs cell after cell allocates the same
    /// arrays again each time): past it arrays are still placed by the probe and filler, but nothing more is kept.</summary>
    public const long KeptBudget = 64L << 20;

    private static void Keep(Array a, long bytes) { s_kept.Add(a); s_keptBytes += bytes + 24; }

    /// <summary>Lets go of what is kept (it becomes garbage) and restores the budget: for a test of the placement, which a
    /// budget spent by the tests before it would otherwise decide.</summary>
    internal static void ForgetKept()
    {
        lock (s_lock) { s_kept.Clear(); s_keptBytes = 0; }
    }

    /// <summary>A zeroed array of <paramref name="length"/> elements, its first element on a 64-byte boundary when the heap allows.</summary>
    public static unsafe T[] Create<T>(long length) where T : unmanaged
    {
        if (length < 0 || length > Array.MaxLength) throw new ArgumentOutOfRangeException(nameof(length));
        int n = (int)length;
        long bytes = (long)n * sizeof(T);
        if (bytes < SmallBytes) return new T[n];
        lock (s_lock)
        {
            // an array object is 8 bytes of header, 16 of method table and length, then its data rounded up to 8 bytes, so
            // the data of an object allocated right after one whose data ends at e starts at e + 24: a probe of p bytes and a
            // filler of k bytes (both multiples of 8) put the next object's data at probe + p + 24 + k + 24. A large array
            // goes where the heap ends (there is no gap of its size, as a rule), and so must its probe and filler: both of
            // 64 KiB or more, too large for the small gaps of the heap's free list, and kept (dropped, they would become such
            // gaps of 64 KiB for the next probe to fall into): 128 KiB kept per large array.
            bool large = bytes >= RetryBytes, keep = s_keptBytes < KeptBudget;
            int p = large ? LargeFiller : 8;
            var probe = GC.AllocateArray<byte>(p, pinned: true);
            long next = Address(probe) + p + 24;
            int k = (int)(((-(next + (large ? LargeFiller : 0) + 24)) % Boundary + Boundary) % Boundary) + (large ? LargeFiller : 0);
            var filler = GC.AllocateArray<byte>(k, pinned: true);
            if (large && keep) { Keep(probe, p); Keep(filler, k); }
            T[] a = GC.AllocateArray<T>(n, pinned: true);
            // a small array the heap put elsewhere (its probe went into a gap of the free list): an array placed after the
            // last one starts (its rounded size + 24) mod 64 bytes further, so further attempts of the same size, one in four
            // after a 32-byte filler (which moves the next one when it lands there too), reach every offset. The attempts
            // left behind are kept, not dropped: dropped, each would become a gap of exactly this size at an offset off a
            // line, which the next request of this size would fill. Only arrays below RetryBytes are tried again (the hot
            // per-pair and per-block buffers, read from L1 where a split load costs most), so what is kept stays small.
            for (int attempt = 1; Offset(a) != 0 && attempt <= Attempts && !large && s_keptBytes < KeptBudget; attempt++)
            {
                Keep(a, bytes);
                if (attempt % 4 == 0) Keep(GC.AllocateArray<byte>(8, pinned: true), 8);
                a = GC.AllocateArray<T>(n, pinned: true);
            }
            GC.KeepAlive(probe); GC.KeepAlive(filler);
            return a;
        }
    }

    private static unsafe long Address<T>(T[] a) where T : unmanaged
    {
        fixed (T* p = a) return (long)p;
    }

    /// <summary>The byte offset of the array's first element past a 64-byte boundary (the array is pinned or short-lived here).</summary>
    public static unsafe int Offset<T>(T[] a) where T : unmanaged
    {
        if (a.Length == 0) return 0;
        fixed (T* p = a) return (int)((nuint)p % Boundary);
    }
}
