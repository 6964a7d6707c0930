namespace ResOdeProofs.Numerics.Model;

/// <summary>
/// Sizes of the residual network h_0 = A x, h_k = h_{k-1} + (1/L) V_k σ(W_k h_{k-1}), F(x) = B h_L:
/// depth L, hidden width m, state dimension d, input dimension d_in (columns of A) and output
/// dimension d_out (rows of B). W_k is m×d and V_k is d×m, stored layer after layer in row-major
/// order, so W has L·m·d entries and layer k (1-based in the paper, 0-based here) starts at k·m·d.
/// </summary>
public sealed record NetworkShape(int Depth, int Width, int Dim, int InputDim, int OutputDim)
{
    /// <summary>Shape with A = B = I (d_in = d_out = d), the paper's synthetic setting.</summary>
    public static NetworkShape Square(int depth, int width, int dim) => new(depth, width, dim, dim, dim);

    /// <summary>Entries of one W_k (m·d), equal to those of one V_k.</summary>
    public int LayerSize => Width * Dim;

    /// <summary>Entries of all W_k together (L·m·d), in 128 bits: the product of three int sizes can pass 2⁶³, and a long
    /// that wrapped (to a small or negative number) let depth = width = 2³¹ − 1 pass <see cref="Validate"/>, to fail with the
    /// runtime's words only once the data were read.</summary>
    public Int128 TotalLayerEntries => (Int128)Depth * Width * Dim;

    /// <summary>Throws an ArgumentException naming the first size that is not positive.</summary>
    public void Validate()
    {
        if (Depth < 1) throw new ArgumentException($"depth L must be at least 1 (got {Depth})");
        if (Width < 1) throw new ArgumentException($"width m must be at least 1 (got {Width})");
        if (Dim < 1) throw new ArgumentException($"state dimension d must be at least 1 (got {Dim})");
        if (InputDim < 1) throw new ArgumentException($"input dimension must be at least 1 (got {InputDim})");
        if (OutputDim < 1) throw new ArgumentException($"output dimension must be at least 1 (got {OutputDim})");
        if (TotalLayerEntries > int.MaxValue)
            throw new ArgumentException($"L·m·d = {TotalLayerEntries} entries per weight tensor exceeds what one array can hold; reduce depth or width");
    }
}

/// <summary>A data set: inputs x_i (n×d_in, row-major) and targets y_i (n×d_out).</summary>
public sealed record Dataset(int Count, int InputDim, int OutputDim, double[] X, double[] Y)
{
    /// <summary>Checks the array lengths and that every entry is finite.</summary>
    public void Validate()
    {
        if (Count < 1) throw new ArgumentException("the data set has no samples (n = 0)");
        if (X.Length != (long)Count * InputDim) throw new ArgumentException($"x has {X.Length} entries, expected n·d_in = {Count}·{InputDim}");
        if (Y.Length != (long)Count * OutputDim) throw new ArgumentException($"y has {Y.Length} entries, expected n·d_out = {Count}·{OutputDim}");
        for (int i = 0; i < X.Length; i++)
            if (!double.IsFinite(X[i])) throw new ArgumentException($"x has a non-finite entry at sample {i / InputDim}, coordinate {i % InputDim}; clean the data first");
        for (int i = 0; i < Y.Length; i++)
            if (!double.IsFinite(Y[i])) throw new ArgumentException($"y has a non-finite entry at sample {i / OutputDim}, coordinate {i % OutputDim}; clean the data first");
    }

    /// <summary>Synthetic Gaussian data as in the paper's figures 1 and 2: x_i, y_i ~ N(0, I).</summary>
    public static Dataset SyntheticGaussian(int n, int dIn, int dOut, long seed)
    {
        var rng = Random.Rng.ForStream(seed, "data");
        var x = new double[n * dIn];
        var y = new double[n * dOut];
        rng.FillGaussian(x);
        rng.FillGaussian(y);
        return new Dataset(n, dIn, dOut, x, y);
    }
}
