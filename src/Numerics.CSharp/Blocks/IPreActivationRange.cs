namespace ResOdeProofs.Numerics.Blocks;

/// <summary>
/// Optional companion of <see cref="IResidualBlock"/>: a block whose activation is applied to
/// pre-activations u (e.g. u = W h + b) reports their range from the cache its Forward filled, so that
/// the trace can record preact_min/preact_max and the theory layer can evaluate σ', σ'' over the actual
/// range. A block that does not implement it gets no pre-activation columns (the global constants apply).
/// </summary>
public interface IPreActivationRange
{
    /// <summary>Smallest and largest pre-activation entry among the n states of the last Forward that filled <paramref name="cache"/>.</summary>
    (double Min, double Max) PreActivationRange(ReadOnlySpan<double> cache, int n);
}
