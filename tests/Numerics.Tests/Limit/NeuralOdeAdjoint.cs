using System.Diagnostics;
using ResOdeProofs.Numerics.Model;
using ResOdeProofs.Numerics.Ode;

namespace ResOdeProofs.Numerics.Tests.Limit;

/// <summary>
/// The gradient of the neural-ODE loss ℓ = (1/n) Σ_i ‖H^i(1) − y_i‖² (B = I) with respect to the weights, from
/// the continuous adjoint. On the checkpoint grid 0 = s_0 &lt; … &lt; s_J = 1 it returns the adjoint a(s_j), the
/// gradient density g(s_j) = Σ_i (∂f/∂Z)(H^i(s_j), Z(s_j))ᵀ a^i(s_j) (the L²(0,1) gradient of ℓ with respect to
/// the function Z), and, for piecewise-linear weights, the gradient with respect to the node values
/// ∂ℓ/∂Z_k = ∫_0^1 g(s) φ_k(s) ds.
/// </summary>
public sealed class NeuralOdeGradient
{
    /// <summary>ℓ at the forward solution.</summary>
    public required double Loss { get; init; }
    /// <summary>Checkpoint grid s_0 = 0 &lt; … &lt; s_J = 1.</summary>
    public required double[] Grid { get; init; }
    /// <summary>a(s_j), n×d row-major.</summary>
    public required double[][] Adjoint { get; init; }
    /// <summary>g_W(s_j) = Σ_i (σ'(W H^i) ⊙ Vᵀa^i) H^iᵀ (m×d) and g_V(s_j) = Σ_i a^i σ(W H^i)ᵀ (d×m), row-major.</summary>
    public required double[][] DensityW { get; init; }
    public required double[][] DensityV { get; init; }
    /// <summary>∂ℓ/∂W_k, ∂ℓ/∂V_k for the node values of a piecewise-linear Z (L·m·d, layer k at (k−1)·m·d); null otherwise.</summary>
    public double[]? NodeGradW { get; init; }
    public double[]? NodeGradV { get; init; }
    /// <summary>Cost: forward accepted steps, backward accepted/rejected steps, right-hand-side evaluations (forward + backward), seconds.</summary>
    public int ForwardSteps { get; init; }
    public int BackwardSteps { get; init; }
    public int BackwardRejected { get; init; }
    public int Evaluations { get; init; }
    public double Seconds { get; init; }
}

/// <summary>
/// The continuous adjoint of the neural ODE dH^i/ds = f(s, H^i) = V(s)σ(W(s)H^i):
/// <code>
/// a^i(1) = ∂ℓ/∂H^i(1) = (2/n)(H^i(1) − y_i),     da^i/ds = −(∂f/∂H)ᵀ a^i = −W(s)ᵀ (σ'(W(s)H^i) ⊙ V(s)ᵀ a^i),
/// ∂ℓ/∂Z_k = ∫_0^1 g(s) φ_k(s) ds,   g_W = Σ_i (σ'(W H^i) ⊙ Vᵀ a^i) H^iᵀ,   g_V = Σ_i a^i σ(W H^i)ᵀ,
/// </code>
/// with φ_k the hat function of node k of <see cref="NeuralOde.PiecewiseLinear"/> (φ_1 = 1 on [0, 1/L] since Z
/// is the constant Z_1 there; φ_L is the half hat on [1 − 1/L, 1]).
/// <para>
/// Method (checkpointed backward solve). The forward solve stores H(s_j) at the checkpoints s_j (output times hit
/// exactly by the integrator, no interpolation). Then, for j = J, …, 1, the augmented system
/// [H, a, ∫gφ_lo, ∫gφ_hi] is integrated backwards over the one segment [s_{j−1}, s_j] only, starting from the
/// stored forward H(s_j), the a(s_j) carried from the previous segment and zero accumulators (φ_lo, φ_hi: the
/// at most two hats that are non-zero on the segment). Backward re-integration of H alone over [0, 1] amplifies
/// the forward and backward integration errors by up to e^{Lip_f·1} each way (Lip_f ≤ s1·max_s ‖V‖₂‖W‖₂), and
/// for a contracting forward flow the backward one is expanding; restarting H from the stored forward value at
/// every checkpoint bounds that amplification to e^{Lip_f·(s_j − s_{j−1})} per segment (e^{Lip_f/L} at the nodes
/// s_k = k/L) and keeps the H used by the adjoint within the forward tolerance of the forward solution. The
/// adjoint a itself is integrated once over [0, 1] by the same adaptive controller, its error controlled with the
/// same rtol/atol as H and the accumulators (the RMS norm of <see cref="OdeSolver"/> over all components).
/// The nodes, where Z is not differentiable in s, are segment ends, so every backward step is on a smooth piece.
/// </para>
/// Backward integration uses the variable τ = −s (the integrator runs with increasing time).
/// </summary>
public static class NeuralOdeAdjoint
{
    /// <summary>
    /// The gradient of ℓ with respect to the node values of the piecewise-linear weights of depth L (layers
    /// Z_1..Z_L at s_k = k/L, as <see cref="NeuralOde.PiecewiseLinear"/>), with the density g and the adjoint on
    /// the node grid {0, 1/L, …, 1}. x: inputs H(0) (n×d), y: targets (n×d).
    /// </summary>
    public static NeuralOdeGradient PiecewiseLinear(int depth, int width, int dim, ActivationKind activation,
        double[] w, double[] v, double[] x, double[] y, double rtol, double atol)
    {
        var ode = NeuralOde.PiecewiseLinear(depth, width, dim, activation, w, v);
        var grid = Enumerable.Range(0, depth + 1).Select(k => (double)k / depth).ToArray();
        grid[depth] = 1.0;
        // Segment j = [s_{j−1}, s_j]: segment 1 = [0, 1/L] carries φ_1 ≡ 1; segment j ≥ 2 carries φ_{j−1} = 1 − θ
        // (lo) and φ_j = θ (hi), θ = L·s − (j − 1).
        (int lo, int hi, Func<double, double> phiLo, Func<double, double> phiHi) Hats(int j) => j == 1
            ? (1, 0, _ => 1.0, _ => 0.0)
            : (j - 1, j, s => 1 - (depth * s - (j - 1)), s => depth * s - (j - 1));
        return Run(ode, grid, x, y, rtol, atol, depth, Hats);
    }

    /// <summary>
    /// The adjoint and the gradient density g(s) of any <see cref="NeuralOde"/> at the requested depths
    /// <paramref name="at"/> (plus 0, 1 and the ode's breakpoints, which become checkpoints). No node gradient.
    /// </summary>
    public static NeuralOdeGradient Density(NeuralOde ode, double[] x, double[] y, double[] at, double rtol, double atol)
    {
        var grid = at.Concat(ode.Breakpoints).Append(0.0).Append(1.0).Where(s => s >= 0 && s <= 1).Distinct().OrderBy(s => s).ToArray();
        return Run(ode, grid, x, y, rtol, atol, 0, _ => (0, 0, _ => 0.0, _ => 0.0));
    }

    private static NeuralOdeGradient Run(NeuralOde ode, double[] grid, double[] x, double[] y, double rtol, double atol, int depth,
        Func<int, (int lo, int hi, Func<double, double> phiLo, Func<double, double> phiHi)> hats)
    {
        var sw = Stopwatch.StartNew();
        int m = ode.Width, d = ode.Dim, md = m * d, nd = x.Length, n = nd / d;
        if (y.Length != nd) throw new ArgumentException($"targets have {y.Length} entries, expected n·d = {nd}");
        var act = ode.Activation; var z = ode.Weights;
        var fwd = ode.Solve(x, rtol, atol, outputTimes: grid);
        int J = grid.Length - 1;
        double loss = 0;
        var a = new double[nd];
        for (int i = 0; i < nd; i++) { double r = fwd.Final[i] - y[i]; loss += r * r; a[i] = 2.0 / n * r; }
        loss /= n;

        var adjoint = new double[J + 1][]; var densW = new double[J + 1][]; var densV = new double[J + 1][];
        double[]? gW = depth > 0 ? new double[depth * md] : null, gV = depth > 0 ? new double[depth * md] : null;
        var wBuf = new double[md]; var vBuf = new double[md];
        var u = new double[m]; var sig = new double[m]; var delta = new double[m];

        // Writes into dW, dV (md each, accumulated with weight c) the density g at (s, H, a) and, when da is
        // non-empty, (∂f/∂H)ᵀa into da and −f into dh. W(s), V(s) must be in wBuf, vBuf.
        void Terms(ReadOnlySpan<double> h, ReadOnlySpan<double> adj, Span<double> dh, Span<double> da,
            Span<double> dW, Span<double> dV, double c1, Span<double> dW2, Span<double> dV2, double c2)
        {
            for (int i = 0; i < n; i++)
            {
                var hi = h.Slice(i * d, d); var ai = adj.Slice(i * d, d);
                for (int j = 0; j < m; j++)
                {
                    double acc = 0;
                    for (int c = 0; c < d; c++) acc += wBuf[j * d + c] * hi[c];
                    u[j] = acc; sig[j] = Activations.Value(act, acc);
                    double va = 0;
                    for (int r = 0; r < d; r++) va += vBuf[r * m + j] * ai[r];
                    delta[j] = Activations.Derivative(act, acc) * va;
                }
                if (!dh.IsEmpty)
                    for (int r = 0; r < d; r++)
                    {
                        double acc = 0;
                        for (int j = 0; j < m; j++) acc += vBuf[r * m + j] * sig[j];
                        dh[i * d + r] = -acc;
                    }
                if (!da.IsEmpty)
                    for (int c = 0; c < d; c++)
                    {
                        double acc = 0;
                        for (int j = 0; j < m; j++) acc += wBuf[j * d + c] * delta[j];
                        da[i * d + c] = acc;
                    }
                if (c1 != 0 || !dW2.IsEmpty)
                {
                    for (int j = 0; j < m; j++)
                        for (int c = 0; c < d; c++)
                        {
                            double g = delta[j] * hi[c];
                            dW[j * d + c] += c1 * g;
                            if (!dW2.IsEmpty) dW2[j * d + c] += c2 * g;
                        }
                    for (int r = 0; r < d; r++)
                        for (int j = 0; j < m; j++)
                        {
                            double g = ai[r] * sig[j];
                            dV[r * m + j] += c1 * g;
                            if (!dV2.IsEmpty) dV2[r * m + j] += c2 * g;
                        }
                }
            }
        }

        void Density(int j, double[] h)
        {
            z(grid[j], wBuf, vBuf);
            adjoint[j] = (double[])a.Clone();
            densW[j] = new double[md]; densV[j] = new double[md];
            Terms(h, a, Span<double>.Empty, Span<double>.Empty, densW[j], densV[j], 1.0, Span<double>.Empty, Span<double>.Empty, 0);
        }

        bool nodes = depth > 0;
        int acc = nodes ? 4 * md : 0;
        int stateLen = 2 * nd + acc;
        int bSteps = 0, bRej = 0, evals = fwd.Evaluations;
        Density(J, fwd.States[J]);
        for (int j = J; j >= 1; j--)
        {
            var (lo, hi, phiLo, phiHi) = hats(j);
            var y0 = new double[stateLen];
            Array.Copy(fwd.States[j], 0, y0, 0, nd);
            Array.Copy(a, 0, y0, nd, nd);
            OdeRhs rhs = (tau, st, dst) =>
            {
                double s = -tau;
                z(s, wBuf, vBuf);
                var accs = dst.Slice(2 * nd);
                accs.Clear();
                if (nodes)
                    Terms(st.Slice(0, nd), st.Slice(nd, nd), dst.Slice(0, nd), dst.Slice(nd, nd),
                        accs.Slice(0, md), accs.Slice(md, md), phiLo(s), accs.Slice(2 * md, md), accs.Slice(3 * md, md), phiHi(s));
                else
                    Terms(st.Slice(0, nd), st.Slice(nd, nd), dst.Slice(0, nd), dst.Slice(nd, nd),
                        Span<double>.Empty, Span<double>.Empty, 0, Span<double>.Empty, Span<double>.Empty, 0);
            };
            var sol = OdeSolver.Integrate(rhs, -grid[j], -grid[j - 1], y0, rtol, atol);
            bSteps += sol.Steps; bRej += sol.Rejected; evals += sol.Evaluations;
            Array.Copy(sol.Final, nd, a, 0, nd);
            if (nodes)
            {
                int oLo = (lo - 1) * md;
                for (int q = 0; q < md; q++) { gW![oLo + q] += sol.Final[2 * nd + q]; gV![oLo + q] += sol.Final[2 * nd + md + q]; }
                if (hi > 0)
                {
                    int oHi = (hi - 1) * md;
                    for (int q = 0; q < md; q++) { gW![oHi + q] += sol.Final[2 * nd + 2 * md + q]; gV![oHi + q] += sol.Final[2 * nd + 3 * md + q]; }
                }
            }
            // the density at s_{j−1} uses the stored forward state (not the re-integrated one)
            Density(j - 1, fwd.States[j - 1]);
        }
        return new NeuralOdeGradient
        {
            Loss = loss, Grid = grid, Adjoint = adjoint, DensityW = densW, DensityV = densV, NodeGradW = gW, NodeGradV = gV,
            ForwardSteps = fwd.Steps, BackwardSteps = bSteps, BackwardRejected = bRej, Evaluations = evals, Seconds = sw.Elapsed.TotalSeconds,
        };
    }
}
