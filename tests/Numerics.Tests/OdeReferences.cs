using ResOdeProofs.Numerics;
using ResOdeProofs.Numerics.Ode;

namespace ResOdeProofs.Numerics.Tests;

/// <summary>
/// A second embedded pair for the tableaus' order and invariant tests beside the solver's own Dormand–Prince 5(4): the
/// solver takes any tableau, and the tests check it on a pair of another order.
/// </summary>
internal static class TestTableaus
{
    /// <summary>
    /// Bogacki–Shampine 3(2), from P. Bogacki and L. F. Shampine, "A 3(2) pair of Runge–Kutta formulas",
    /// Appl. Math. Lett. 2 (1989) 321–325: 4 stages, FSAL, b of order 3, b̂ of order 2.
    /// </summary>
    public static ButcherTableau BogackiShampine32 { get; } = new(
        "Bogacki–Shampine 3(2)",
        new[]
        {
            new double[] { 0, 0, 0, 0 },
            new double[] { 1.0 / 2, 0, 0, 0 },
            new double[] { 0, 3.0 / 4, 0, 0 },
            new double[] { 2.0 / 9, 1.0 / 3, 4.0 / 9, 0 },
        },
        new double[] { 2.0 / 9, 1.0 / 3, 4.0 / 9, 0 },
        new double[] { 7.0 / 24, 1.0 / 4, 1.0 / 3, 1.0 / 8 },
        new double[] { 0, 1.0 / 2, 3.0 / 4, 1 },
        3, 2);
}

/// <summary>
/// The neural ODE's right-hand side written entry by entry from the formula dY = σ(Y·W(s)ᵀ)·V(s)ᵀ, read through the ODE's
/// public weight function: the oracle of the batched <see cref="NeuralOde.RightHandSide"/>, which must give its bits.
/// </summary>
internal static class NeuralOdeByEntry
{
    /// <summary>The right-hand side for <paramref name="samples"/> rows, each entry a sum in index order from zero.</summary>
    public static OdeRhs RightHandSide(NeuralOde ode, int samples)
    {
        int m = ode.Width, d = ode.Dim, md = m * d;
        var act = ode.Activation; var z = ode.Weights;
        var w = new double[md]; var v = new double[md]; var a = new double[m];
        return (s, y, dy) =>
        {
            z(s, w, v);
            for (int i = 0; i < samples; i++)
            {
                var h = y.Slice(i * d, d);
                for (int j = 0; j < m; j++)
                {
                    double acc = 0;
                    for (int c = 0; c < d; c++) acc += w[j * d + c] * h[c];
                    a[j] = Activations.Value(act, acc);
                }
                for (int r = 0; r < d; r++)
                {
                    double acc = 0;
                    for (int j = 0; j < m; j++) acc += v[r * m + j] * a[j];
                    dy[i * d + r] = acc;
                }
            }
        };
    }
}
