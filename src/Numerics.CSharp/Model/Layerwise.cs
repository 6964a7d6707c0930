namespace ResOdeProofs.Numerics.Model;

/// <summary>
/// Every intermediate quantity of one forward and backward pass at fixed weights, kept layer by
/// layer for the theory layer's lemma checks (h_k^i, p_k^i, pre-activations, G_k). It is a plain,
/// allocating double-precision implementation written directly from the formulas (see
/// <see cref="ResNet{T}"/>), independent of the engine's kernels, so it doubles as the slow
/// reference path that the fast engine is compared with.
/// Indices: k = 0..L for h and p (h[k] is h_k), layer k = 1..L stored at index k − 1 for the rest.
/// </summary>
public sealed class Layerwise
{
    /// <summary>h[k][i] = h_k^i ∈ R^d, k = 0..L.</summary>
    public required double[][][] H { get; init; }
    /// <summary>p[k][i] = ∂ℓ/∂h_k^i ∈ R^d, k = 0..L.</summary>
    public required double[][][] P { get; init; }
    /// <summary>pre[k−1][i] = W_k h_{k−1}^i ∈ R^m.</summary>
    public required double[][][] Pre { get; init; }
    /// <summary>G^W_k = L·∂ℓ/∂W_k (m×d row-major), at index k − 1.</summary>
    public required double[][] GW { get; init; }
    /// <summary>G^V_k = L·∂ℓ/∂V_k (d×m row-major), at index k − 1.</summary>
    public required double[][] GV { get; init; }
    /// <summary>ℓ = (1/n) Σ_i ‖B h_L^i − y_i‖².</summary>
    public required double Loss { get; init; }

    /// <summary>Evaluates everything at weights W (L·m·d), V (L·d·m).</summary>
    public static Layerwise Evaluate(NetworkShape s, ActivationKind act, Dataset data, double[]? a, double[]? b,
        ReadOnlySpan<double> w, ReadOnlySpan<double> v)
    {
        int L = s.Depth, m = s.Width, d = s.Dim, n = data.Count, md = m * d, dIn = s.InputDim, dOut = s.OutputDim;
        var h = new double[L + 1][][]; var p = new double[L + 1][][]; var pre = new double[L][][];
        h[0] = new double[n][];
        for (int i = 0; i < n; i++)
        {
            h[0][i] = new double[d];
            for (int r = 0; r < d; r++)
                h[0][i][r] = a is null ? data.X[i * dIn + r] : Sum(dIn, c => a[r * dIn + c] * data.X[i * dIn + c]);
        }
        for (int k = 1; k <= L; k++)
        {
            var wk = w.Slice((k - 1) * md, md).ToArray(); var vk = v.Slice((k - 1) * md, md).ToArray();
            h[k] = new double[n][]; pre[k - 1] = new double[n][];
            for (int i = 0; i < n; i++)
            {
                var hp = h[k - 1][i];
                var u = new double[m];
                for (int j = 0; j < m; j++) u[j] = Sum(d, c => wk[j * d + c] * hp[c]);
                pre[k - 1][i] = u;
                var su = new double[m];
                for (int j = 0; j < m; j++) su[j] = Activations.Value(act, u[j]);
                var hn = (double[])hp.Clone();
                for (int r = 0; r < d; r++) hn[r] += Sum(m, j => vk[r * m + j] * su[j]) / L;
                h[k][i] = hn;
            }
        }
        double loss = 0;
        p[L] = new double[n][];
        for (int i = 0; i < n; i++)
        {
            var hl = h[L][i];
            var res = new double[dOut];
            for (int o = 0; o < dOut; o++)
                res[o] = (b is null ? hl[o] : Sum(d, c => b[o * d + c] * hl[c])) - data.Y[i * dOut + o];
            loss += Sum(dOut, o => res[o] * res[o]);
            var pl = new double[d];
            for (int c = 0; c < d; c++) pl[c] = 2.0 / n * (b is null ? res[c] : Sum(dOut, o => b[o * d + c] * res[o]));
            p[L][i] = pl;
        }
        var gw = new double[L][]; var gv = new double[L][];
        for (int k = L; k >= 1; k--)
        {
            var wk = w.Slice((k - 1) * md, md).ToArray(); var vk = v.Slice((k - 1) * md, md).ToArray();
            gw[k - 1] = new double[md]; gv[k - 1] = new double[md];
            p[k - 1] = new double[n][];
            for (int i = 0; i < n; i++)
            {
                var pk = p[k][i]; var u = pre[k - 1][i]; var hp = h[k - 1][i];
                var q = new double[m];
                for (int j = 0; j < m; j++) q[j] = Activations.Derivative(act, u[j]) * Sum(d, r => vk[r * m + j] * pk[r]);
                var su = new double[m];
                for (int j = 0; j < m; j++) su[j] = Activations.Value(act, u[j]);
                for (int r = 0; r < d; r++)
                    for (int j = 0; j < m; j++) gv[k - 1][r * m + j] += pk[r] * su[j];
                for (int j = 0; j < m; j++)
                    for (int c = 0; c < d; c++) gw[k - 1][j * d + c] += q[j] * hp[c];
                var pn = (double[])pk.Clone();
                for (int c = 0; c < d; c++) pn[c] += Sum(m, j => wk[j * d + c] * q[j]) / L;
                p[k - 1][i] = pn;
            }
        }
        return new Layerwise { H = h, P = p, Pre = pre, GW = gw, GV = gv, Loss = loss / n };
    }

    private static double Sum(int count, Func<int, double> term)
    {
        double s = 0;
        for (int i = 0; i < count; i++) s += term(i);
        return s;
    }
}
