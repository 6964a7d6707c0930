using ResOdeProofs.Numerics.Blocks;

namespace ResOdeProofs.TestSupport;

/// <summary>The convolution of <see cref="Conv2dSame"/> written out as a dense matrix, the reference its norm checks compare with.</summary>
public static class ConvDense
{
    /// <summary>
    /// The dense (C_out·H·W)×(C_in·H·W) matrix of the convolution (row-major), column j = K e_j. For checks on small
    /// sizes only (it has (C·H·W)² entries).
    /// </summary>
    public static double[] Matrix(ReadOnlySpan<double> kernel, int cIn, int cOut, int height, int width)
    {
        int dIn = cIn * height * width, dOut = cOut * height * width;
        var matrix = new double[dOut * dIn];
        var e = new double[dIn];
        var col = new double[dOut];
        for (int j = 0; j < dIn; j++)
        {
            e[j] = 1.0;
            Conv2dSame.Forward(kernel, ReadOnlySpan<double>.Empty, e, col, 1, cIn, cOut, height, width);
            for (int i = 0; i < dOut; i++) matrix[i * dIn + j] = col[i];
            e[j] = 0.0;
        }
        return matrix;
    }
}
