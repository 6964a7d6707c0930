using ResOdeProofs.Numerics.Model;
using ResOdeProofs.Numerics.Ode;

namespace ResOdeProofs.Numerics.Tests.Limit;

/// <summary>The residual network whose limit a <see cref="NeuralOde"/> is, evaluated layer by layer on its weight function.</summary>
internal static class NeuralOdeResNet
{
    /// <summary>
    /// The ResNet h_k = h_{k−1} + (1/L) V(k/L) σ(W(k/L) h_{k−1}), k = 1..L, on the same weight function
    /// (plain double code; used to compare the cost of a very deep ResNet with the ODE solve). Returns h_L (n×d).
    /// </summary>
    public static double[] ResNetForward(this NeuralOde ode, double[] h0, int depth)
    {
        int m = ode.Width, d = ode.Dim, md = m * d, n = h0.Length / d;
        var w = new double[md]; var v = new double[md]; var a = new double[m];
        var h = (double[])h0.Clone();
        var inc = new double[d];
        for (int k = 1; k <= depth; k++)
        {
            ode.Weights((double)k / depth, w, v);
            for (int i = 0; i < n; i++)
            {
                var hi = h.AsSpan(i * d, d);
                for (int j = 0; j < m; j++)
                {
                    double u = 0;
                    for (int c = 0; c < d; c++) u += w[j * d + c] * hi[c];
                    a[j] = Activations.Value(ode.Activation, u);
                }
                for (int r = 0; r < d; r++)
                {
                    double acc = 0;
                    for (int j = 0; j < m; j++) acc += v[r * m + j] * a[j];
                    inc[r] = acc / depth;
                }
                for (int r = 0; r < d; r++) hi[r] += inc[r];
            }
        }
        return h;
    }
}
