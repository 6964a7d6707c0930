using System.Runtime.CompilerServices;

namespace ResOdeProofs.Numerics.Blocks;

/// <summary>
/// A block's <see cref="IResidualBlock.Forward"/> and <see cref="IResidualBlock.Backward"/> called from arrays and offsets,
/// each call in a small method of its own (never inlined, without loops). The theory layer's checks call blocks from long
/// methods with loops; there, the runtime of this release could pass a span argument that travels on the stack (the third
/// and later spans of these calls, on x64 Unix) with a stale reference when a garbage collection moved its array between
/// the argument's store and the call: the block then wrote into the array's former place and the caller read the
/// untouched array (B.bound.tangent's local errors changed from one evaluation of the same run to the next, in about
/// one evaluation in thirteen under frequent collections; measured and described in docs/architecture.md, "Calling a block
/// from the theory layer"). Here the spans are formed next to the call, in a method that a collection can interrupt only
/// at the call itself, and the callers pass plain array references, which the runtime tracks in any position.
/// Same arithmetic, same bits: the spans are the ones the callers formed before.
/// </summary>
public static class BlockCalls
{
    /// <summary>
    /// output ← f(θ, h) for n states: θ = theta[thetaOffset .. + ParameterCount], h = h[hOffset .. + n·d], the whole of
    /// <paramref name="output"/> and <paramref name="cache"/> as the block's output and cache spans.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void Forward(IResidualBlock block, double[] theta, int thetaOffset, double[] h, int hOffset, double[] output, double[] cache, int n)
    {
        ArgumentNullException.ThrowIfNull(block);
        block.Forward(new ReadOnlySpan<double>(theta, thetaOffset, block.ParameterCount), new ReadOnlySpan<double>(h, hOffset, n * block.StateDim),
            output, cache, n);
    }

    /// <summary>
    /// The vector–Jacobian products at (θ, h) for the adjoints p = p[pOffset .. + n·d], with the cache of the matching
    /// <see cref="Forward"/>: the whole of <paramref name="gradTheta"/> and <paramref name="gradH"/> as the block's spans.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void Backward(IResidualBlock block, double[] theta, int thetaOffset, double[] h, int hOffset, double[] cache,
        double[] p, int pOffset, double[] gradTheta, double[] gradH, int n)
    {
        ArgumentNullException.ThrowIfNull(block);
        int nd = n * block.StateDim;
        block.Backward(new ReadOnlySpan<double>(theta, thetaOffset, block.ParameterCount), new ReadOnlySpan<double>(h, hOffset, nd), cache,
            new ReadOnlySpan<double>(p, pOffset, nd), gradTheta, gradH, n);
    }
}
