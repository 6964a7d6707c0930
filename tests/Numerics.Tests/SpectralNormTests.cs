using ResOdeProofs.Numerics.Model;

namespace ResOdeProofs.Numerics.Tests;

/// <summary><see cref="SpectralNorm"/> on matrices built with known singular values and eigenvalues.</summary>
public sealed class SpectralNormTests
{
    /// <summary>An orthogonal k×k matrix (row-major) by Gram–Schmidt (twice) of Gaussian rows.</summary>
    private static double[] Orthogonal(System.Random rng, int k)
    {
        var q = TestRandom.Gaussian(rng, k * k);
        for (int i = 0; i < k; i++)
            for (int pass = 0; pass < 2; pass++)
            {
                for (int j = 0; j < i; j++)
                {
                    double dot = 0;
                    for (int c = 0; c < k; c++) dot += q[i * k + c] * q[j * k + c];
                    for (int c = 0; c < k; c++) q[i * k + c] -= dot * q[j * k + c];
                }
                double nrm = 0;
                for (int c = 0; c < k; c++) nrm += q[i * k + c] * q[i * k + c];
                nrm = Math.Sqrt(nrm);
                for (int c = 0; c < k; c++) q[i * k + c] /= nrm;
            }
        return q;
    }

    /// <summary>M = U diag(s) Vᵀ (rows × cols) from orthogonal U, V and s.</summary>
    private static double[] WithSingularValues(System.Random rng, int rows, int cols, double[] s)
    {
        var u = Orthogonal(rng, rows); var v = Orthogonal(rng, cols);
        var m = new double[rows * cols];
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++)
                for (int t = 0; t < s.Length; t++) m[r * cols + c] += u[r * rows + t] * s[t] * v[c * cols + t];
        return m;
    }

    /// <summary>
    /// Relative 1e-13: building M rounds its entries by a few k·u relative to ‖M‖₂ (k ≤ 100 terms), which moves
    /// ‖M‖₂ by as much (Weyl); the Gram route adds k·u/2 more. A wrong λ_max (another eigenvalue, a missed
    /// reflection) is off by the gap between singular values, here ≥ 1e-3 relative.
    /// </summary>
    [Theory(DisplayName = "SpectralNorm: any matrix → the largest singular value")]
    [InlineData(16, 100, 1)]
    [InlineData(32, 100, 2)]
    [InlineData(32, 16, 3)]
    [InlineData(16, 32, 4)]
    [InlineData(1, 7, 5)]
    [InlineData(7, 1, 6)]
    [InlineData(2, 2, 7)]
    public void SpectralNormMatchesTheLargestSingularValue(int rows, int cols, int seed)
    {
        var rng = new System.Random(seed);
        int k = Math.Min(rows, cols);
        var s = Enumerable.Range(0, k).Select(t => 3.0 * Math.Pow(0.7, t)).ToArray();
        if (k > 1) s[1] = s[0] * (1 - 1e-3); // a close second singular value
        var m = WithSingularValues(rng, rows, cols, s);
        double got = SpectralNorm.OfBlock(rows, cols, m, 0);
        Assert.True(Math.Abs(got - s[0]) <= 1e-13 * s[0], $"{rows}×{cols}: {got:R} vs {s[0]:R}");
        var columns = Enumerable.Range(0, cols).Select(c => Enumerable.Range(0, rows).Select(r => m[r * cols + c]).ToArray()).ToArray();
        Assert.Equal(SpectralNorm.UpperOfBlock(rows, cols, m, 0), SpectralNorm.UpperOfColumns(columns));
        var scaled = (double[])m.Clone();
        for (int i = 0; i < scaled.Length; i++) scaled[i] *= 1 + 1e-9;
        Assert.NotEqual(got, SpectralNorm.OfBlock(rows, cols, scaled, 0));
    }

    /// <summary>λ_min and λ_max of Q diag(λ) Qᵀ, λ of both signs and a zero one: absolute 1e-13·‖G‖₂ (k·u·‖G‖₂).</summary>
    [Theory(DisplayName = "SpectralNorm extreme eigenvalues: symmetric matrix of known spectrum → its smallest and largest eigenvalue")]
    [InlineData(100, 1)]
    [InlineData(16, 2)]
    [InlineData(3, 3)]
    public void ExtremeEigenvaluesOfASymmetricMatrix(int k, int seed)
    {
        var rng = new System.Random(seed);
        var q = Orthogonal(rng, k);
        var lam = Enumerable.Range(0, k).Select(t => Math.Sin(1.3 * t + 0.2) * 4.0).ToArray();
        lam[k / 2] = 0.0;
        var a = new double[k * k];
        for (int r = 0; r < k; r++)
            for (int c = 0; c < k; c++)
                for (int t = 0; t < k; t++) a[r * k + c] += q[r * k + t] * lam[t] * q[c * k + t];
        for (int r = 0; r < k; r++)
            for (int c = 0; c < r; c++) a[r * k + c] = a[c * k + r];
        double scale = lam.Max(Math.Abs);
        Assert.True(Math.Abs(SpectralNorm.SmallestEigenvalue((double[])a.Clone(), k) - lam.Min()) <= 1e-13 * scale);
        Assert.True(Math.Abs(SpectralNorm.LargestEigenvalue((double[])a.Clone(), k) - lam.Max()) <= 1e-13 * scale);
    }

    [Fact(DisplayName = "SpectralNorm: non-finite entries → non-finite norm")]
    public void NonFiniteEntriesGiveNonFiniteNorms()
    {
        Assert.True(double.IsNaN(SpectralNorm.OfBlock(2, 2, new[] { 1.0, double.NaN, 0.0, 1.0 }, 0)));
        Assert.Equal(double.PositiveInfinity, SpectralNorm.OfBlock(2, 2, new[] { 1.0, double.NegativeInfinity, 0.0, 1.0 }, 0));
    }

    /// <summary>
    /// D·Q with Q a Kronecker product of integer rotations [[p, −s], [s, p]] of Pythagorean triples (QQᵀ = r²I, r the product
    /// of the hypotenuses) and D a diagonal of integers: ‖DQ‖₂ = r·max D exactly, and MᵀM has no zero to make the
    /// eigenvalue problem easy. The upper value is never below it and within 10⁻¹² of it; rectangular blocks (the same
    /// rows, some columns of zeros appended) keep it.
    /// </summary>
    [Fact(DisplayName = "SpectralNorm.UpperOfBlock: 2 000 matrices of exactly known norm (integer rotations times an integer diagonal) → never below the norm, within 1e-12 above")]
    public void UpperOfBlock_is_an_upper_value_of_exactly_known_norms()
    {
        var rng = new System.Random(7);
        (int P, int S, int H)[] triples = { (3, 4, 5), (5, 12, 13), (8, 15, 17), (7, 24, 25), (20, 21, 29) };
        for (int trial = 0; trial < 2000; trial++)
        {
            int levels = 1 + rng.Next(4);
            double[,] q = { { 1.0 } };
            double r = 1.0;
            for (int l = 0; l < levels; l++)
            {
                var (p, s, h) = triples[rng.Next(triples.Length)];
                int n0 = q.GetLength(0);
                var next = new double[2 * n0, 2 * n0];
                double[,] rot = { { p, -s }, { s, p } };
                for (int i = 0; i < 2 * n0; i++)
                    for (int j = 0; j < 2 * n0; j++)
                        next[i, j] = q[i / 2, j / 2] * rot[i % 2, j % 2];
                q = next;
                r *= h;
            }
            int k = q.GetLength(0), extra = rng.Next(3), cols = k + extra;
            var d = Enumerable.Range(0, k).Select(_ => (double)rng.Next(1, 64)).ToArray();
            var m = new double[k * cols];
            for (int i = 0; i < k; i++)
                for (int j = 0; j < k; j++)
                    m[i * cols + j] = d[i] * q[i, j];
            double exact = r * d.Max();
            double up = SpectralNorm.UpperOfBlock(k, cols, m, 0);
            Assert.True(up >= exact, $"k = {k}: {up:R} below {exact:R}");
            Assert.True(up <= exact * (1 + 1e-12), $"k = {k}: {up:R} against {exact:R}");
        }
        Assert.True(double.IsPositiveInfinity(SpectralNorm.UpperOfBlock(1, 2, new[] { 1.0, double.PositiveInfinity }, 0)));
        Assert.True(double.IsNaN(SpectralNorm.UpperOfBlock(1, 2, new[] { double.NaN, 1.0 }, 0)));
        // a zero block: 0 exactly (a bound that is 0 at V = 0 stays 0); entries whose squares underflow: above them
        Assert.Equal(0.0, SpectralNorm.UpperOfBlock(2, 2, new double[4], 0));
        Assert.True(SpectralNorm.UpperOfBlock(1, 2, new[] { 1e-170, 0.0 }, 0) >= 1e-170);
    }
}
