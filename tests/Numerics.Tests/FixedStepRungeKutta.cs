using ResOdeProofs.Numerics.Ode;

namespace ResOdeProofs.Numerics.Tests;

/// <summary>A Butcher tableau applied with equal steps, the reference the order tests of <see cref="ButcherTableau"/> measure.</summary>
internal static class FixedStepRungeKutta
{
    /// <summary>
    /// Integrates with a fixed number of equal steps, using b (or b̂ when <paramref name="embedded"/>): the
    /// plain Runge–Kutta method whose observed order the tests compare with the declared one.
    /// </summary>
    public static double[] Integrate(OdeRhs f, double t0, double t1, double[] y0, int stepCount, ButcherTableau tableau, bool embedded = false)
    {
        if (stepCount < 1) throw new ArgumentException("at least one step");
        int n = y0.Length, s = tableau.Stages;
        var w = embedded ? tableau.BHat : tableau.B;
        var k = new double[s][];
        for (int i = 0; i < s; i++) k[i] = new double[n];
        var y = (double[])y0.Clone(); var yStage = new double[n];
        double h = (t1 - t0) / stepCount;
        for (int step = 0; step < stepCount; step++)
        {
            double t = t0 + step * h;
            for (int i = 0; i < s; i++)
            {
                for (int j = 0; j < n; j++)
                {
                    double acc = 0;
                    for (int l = 0; l < i; l++) acc += tableau.A[i][l] * k[l][j];
                    yStage[j] = y[j] + h * acc;
                }
                f(t + tableau.C[i] * h, yStage, k[i]);
            }
            for (int j = 0; j < n; j++)
            {
                double acc = 0;
                for (int i = 0; i < s; i++) acc += w[i] * k[i][j];
                y[j] += h * acc;
            }
        }
        return y;
    }
}
