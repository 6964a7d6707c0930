using ResOdeProofs.Numerics.Model;

namespace ResOdeProofs.Numerics.Tests;

/// <summary>
/// The rounding allowances' per-layer sums in vector lanes (<see cref="RoundingSums"/>) against the scalar loops they
/// replaced in the theory layer (<c>Rounding.stateCountAt</c>, <c>RunIntegrity.gradientScalesOf</c>), bit for bit, on random
/// shapes whose widths leave entries outside the lanes, with magnitudes over several decades.
/// </summary>
public sealed class RoundingSumsTests
{
    private static bool Same(double a, double b) => BitConverter.DoubleToInt64Bits(a) == BitConverter.DoubleToInt64Bits(b);

    // the scalar loops as the theory layer wrote them (the per-state count's q_j and e_r, then Σ_r e_r²)
    private static double StateSquareScalar(double[] w, double[] v, double[] x, double[] z, int m, int d,
        double gm, double gd, double s1, double dEta, double u16, double fL, double etaState, bool reverseInner)
    {
        var q = new double[m];
        for (int j = 0; j < m; j++)
        {
            double t = 0.0;
            if (reverseInner) for (int c = d - 1; c >= 0; c--) t = t + Math.Abs(w[j * d + c] * x[c]);
            else for (int c = 0; c < d; c++) t = t + Math.Abs(w[j * d + c] * x[c]);
            q[j] = gm * Math.Abs(z[j]) + s1 * (gd * t + dEta) + u16 * (1.0 + Math.Abs(z[j]));
        }
        double sq = 0.0;
        for (int r = 0; r < d; r++)
        {
            double t = 0.0;
            if (reverseInner) for (int j = m - 1; j >= 0; j--) t = t + Math.Abs(v[r * m + j]) * q[j];
            else for (int j = 0; j < m; j++) t = t + Math.Abs(v[r * m + j]) * q[j];
            double e = gm * Math.Abs(x[r]) + t / fL + etaState;
            sq = sq + e * e;
        }
        return sq;
    }

    [Fact(DisplayName = "RoundingSums.StateSquares: 150 random layers (m ≤ 37, d ≤ 19, n ≤ 6, magnitudes 1e-3..1e3) → bit for bit the per-state count's scalar loops; inner sums in reverse → other bits (control)")]
    public void StateSquaresAreTheScalarLoops()
    {
        var rng = new System.Random(41);
        int orderSeen = 0;
        for (int trial = 0; trial < 150; trial++)
        {
            int m = 1 + rng.Next(37), d = 1 + rng.Next(19), n = 1 + rng.Next(6);
            var w = TestRandom.Gaussian(rng, m * d, Math.Pow(10, rng.Next(-3, 4)));
            var v = TestRandom.Gaussian(rng, m * d, Math.Pow(10, rng.Next(-3, 4)));
            var x = Enumerable.Range(0, n).Select(_ => TestRandom.Gaussian(rng, d, 3.0)).ToArray();
            var z = Enumerable.Range(0, n).Select(_ => TestRandom.Gaussian(rng, m, 2.0)).ToArray();
            double u = Math.ScaleB(1.0, -53), fL = 1 + rng.Next(1024);
            double gm = (m + 3) * u / (1 - (m + 3) * u), gd = d * u / (1 - d * u), s1 = 1.129, dEta = d * double.Epsilon, u16 = 16.0 * u;
            double etaState = (m + 2) * double.Epsilon;
            var squares = new double[n];
            RoundingSums.StateSquares(w, v, x.SelectMany(r => r).ToArray(), z, m, d, gm, gd, s1, dEta, u16, fL, etaState, squares, new double[RoundingSums.StateScratch(m, d)]);
            for (int i = 0; i < n; i++)
            {
                double want = StateSquareScalar(w, v, x[i], z[i], m, d, gm, gd, s1, dEta, u16, fL, etaState, false);
                Assert.True(Same(want, squares[i]), $"m = {m}, d = {d}, sample {i}: {squares[i]:R} vs {want:R}");
                if (!Same(StateSquareScalar(w, v, x[i], z[i], m, d, gm, gd, s1, dEta, u16, fL, etaState, true), squares[i])) orderSeen++;
            }
        }
        Assert.True(orderSeen > 0, "no square changed with the order of its inner sums: the comparison could not see a changed order");
    }

    [Fact(DisplayName = "RoundingSums.SlopedAdjointSquare: 200 random layers (m ≤ 37, d ≤ 19) → bit for bit Σ_j (σ'_j·Σ_r V_rj·p_r)² of the gradients' scale; the inner sum in reverse → other bits (control)")]
    public void SlopedAdjointSquareIsTheScalarLoop()
    {
        var rng = new System.Random(43);
        int orderSeen = 0;
        for (int trial = 0; trial < 200; trial++)
        {
            int m = 1 + rng.Next(37), d = 1 + rng.Next(19);
            var v = TestRandom.Gaussian(rng, m * d, Math.Pow(10, rng.Next(-3, 4)));
            var p = TestRandom.Gaussian(rng, d, 1.0);
            var slopes = TestRandom.Gaussian(rng, m, 0.6);
            double got = RoundingSums.SlopedAdjointSquare(v, p, slopes, m, d, new double[m]);
            double want = 0.0, reversed = 0.0;
            for (int j = 0; j < m; j++)
            {
                double t = 0.0, tr = 0.0;
                for (int r = 0; r < d; r++) t = t + v[r * m + j] * p[r];
                for (int r = d - 1; r >= 0; r--) tr = tr + v[r * m + j] * p[r];
                double g = slopes[j] * t, gr = slopes[j] * tr;
                want = want + g * g; reversed = reversed + gr * gr;
            }
            Assert.True(Same(want, got), $"m = {m}, d = {d}: {got:R} vs {want:R}");
            if (!Same(reversed, got)) orderSeen++;
        }
        Assert.True(orderSeen > 0, "no square changed with the order of its inner sum: the comparison could not see a changed order");
    }
}
