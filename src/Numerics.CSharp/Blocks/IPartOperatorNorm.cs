namespace ResOdeProofs.Numerics.Blocks;

/// <summary>
/// Optional companion of <see cref="IResidualBlock"/> for blocks whose parameter parts act on the state through a
/// linear operator that is not the part itself read as a matrix (e.g. a convolution kernel C×C×3×3 acting on
/// R^{C·H·W}). The theory layer bounds ‖op(θ_part)‖₂ with it; without it, a 2-D part is taken as the matrix it
/// stores (exact spectral norm) and any other part by its Euclidean norm, with factor 1.
/// </summary>
public interface IPartOperatorNorm
{
    /// <summary>An upper bound on the operator norm of the linear map defined by the values of part <paramref name="part"/> (layout index).</summary>
    double OperatorNormBound(int part, ReadOnlySpan<double> values);

    /// <summary>c_part with ‖op(E)‖₂ ≤ c_part·‖E‖_F for every E of the part's shape (op linear), so that
    /// ‖op(X + E)‖₂ ≤ ‖op(X)‖₂ + c_part‖E‖_F and ‖op(X)‖₂ ≤ c_part‖X‖_F.</summary>
    double FrobeniusFactor(int part);
}
