using ResOdeProofs.Numerics.Model;

namespace ResOdeProofs.Numerics.Tests;

/// <summary>
/// <see cref="SpectralNorm"/> keeps each thread's work arrays from one call to the next. Calls of shapes that grow and
/// shrink on one thread (a kept array longer than the call needs, holding an earlier call's numbers) and a shape above the
/// kept size must each give the bits of the scalar loops on fresh arrays (<see cref="SpectralNormLanesTests"/>). The
/// negative control shows what a Sturm count over a kept array's length instead of the matrix's order would do: other
/// bits, which the comparison sees.
/// </summary>
public sealed class SpectralNormScratchTests
{
    private static bool SameBits(double a, double b) => BitConverter.DoubleToInt64Bits(a) == BitConverter.DoubleToInt64Bits(b);

    private static double[] Entries(System.Random rng, int count)
    {
        var m = new double[count];
        for (int i = 0; i < count; i++) m[i] = rng.NextDouble() * 2.0 - 1.0;
        return m;
    }

    [Fact(DisplayName = "SpectralNorm: shapes growing and shrinking on one thread, one above the kept size → each the scalar loops' bits on fresh arrays")]
    public void KeptArraysGiveFreshBits()
    {
        var rng = new System.Random(23);
        // large, small, large again, one entry, a k above 256 (its Gram matrix above the kept size), then small ones
        var shapes = new (int Rows, int Cols)[] { (100, 32), (3, 3), (32, 100), (1, 1), (16, 16), (2, 5), (300, 260), (4, 4), (16, 100), (5, 2) };
        for (int round = 0; round < 3; round++)
            foreach (var (rows, cols) in shapes)
            {
                var m = Entries(rng, rows * cols);
                double expected = SpectralNormLanesTests.ScalarNorm(rows, cols, m, 0);
                double got = SpectralNorm.OfBlock(rows, cols, m, 0);
                Assert.True(SameBits(expected, got), $"{rows}x{cols}, round {round}: {got:R} vs fresh arrays' {expected:R}");
                // the same matrix given by its columns: the other copy into the kept array
                var columns = new double[cols][];
                for (int c = 0; c < cols; c++)
                {
                    columns[c] = new double[rows];
                    for (int r = 0; r < rows; r++) columns[c][r] = m[r * cols + c];
                }
                Assert.True(SameBits(SpectralNorm.UpperOfBlock(rows, cols, m, 0), SpectralNorm.UpperOfColumns(columns)), $"{rows}x{cols} by columns, round {round}");
                // eigenvalues of a caller's symmetric matrix after a larger call
                int k = Math.Min(rows, cols);
                var sym = new double[k * k];
                for (int i = 0; i < k; i++)
                    for (int c = 0; c <= i; c++) sym[i * k + c] = sym[c * k + i] = m[(i * k + c) % m.Length];
                Assert.True(SameBits(SpectralNormLanesTests.ScalarExtreme((double[])sym.Clone(), k, false), SpectralNorm.SmallestEigenvalue((double[])sym.Clone(), k)),
                    $"λ_min k = {k}, round {round}");
            }
    }

    [Fact(DisplayName = "SpectralNorm: a Sturm count run over a longer kept array (an earlier call's entries) → other bits (the comparison is not blind)")]
    public void StaleLengthIsSeen()
    {
        var rng = new System.Random(29);
        int differ = 0;
        for (int trial = 0; trial < 10; trial++)
        {
            int k = 6;
            var x = Entries(rng, k * k);
            var sym = new double[k * k];
            for (int i = 0; i < k; i++)
                for (int c = 0; c <= i; c++) sym[i * k + c] = sym[c * k + i] = x[i * k + c];
            // the matrix bordered by an earlier call's leftovers: a diagonal entry and a coupling past order k, which a count
            // over the array's length would take in
            int k2 = k + 1;
            var stale = new double[k2 * k2];
            for (int i = 0; i < k; i++)
                for (int c = 0; c < k; c++) stale[i * k2 + c] = sym[i * k + c];
            stale[k * k2 + k] = 3.0 + trial;
            stale[k * k2 + k - 1] = stale[(k - 1) * k2 + k] = 0.5;
            double wrong = SpectralNormLanesTests.ScalarExtreme(stale, k2, true);
            if (!SameBits(wrong, SpectralNorm.LargestEigenvalue((double[])sym.Clone(), k))) differ++;
        }
        Assert.Equal(10, differ);
    }
}
