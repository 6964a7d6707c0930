using ResOdeProofs.Numerics.Model;

namespace ResOdeProofs.Numerics.Ode;

/// <summary>A weight function of depth: writes W(s) (m×d, row-major) and V(s) (d×m) for s ∈ [0, 1].</summary>
public delegate void WeightFunction(double s, Span<double> w, Span<double> v);

/// <summary>The neural-ODE solution for all samples: H(1), the outputs B·H(1), states at output times, solver cost.</summary>
public sealed class NeuralOdeSolution
{
    /// <summary>H^i(1), n×d row-major.</summary>
    public required double[] Final { get; init; }
    /// <summary>F(x_i) = B H^i(1), n×d_out (equal to <see cref="Final"/> when B = I).</summary>
    public required double[] Outputs { get; init; }
    /// <summary>Output times s_j and the states H(s_j) (n×d each).</summary>
    public required double[] Times { get; init; }
    public required double[][] States { get; init; }
    /// <summary>Accepted and rejected steps, evaluations of the right-hand side (each one covers all n samples).</summary>
    public int Steps { get; init; }
    public int Rejected { get; init; }
    public int Evaluations { get; init; }
}

/// <summary>
/// The neural ODE of the paper, for all n samples at once:
/// <code>
/// dH^i/ds = V(s) σ(W(s) H^i(s)),  s ∈ [0, 1],  H^i(0) = A x_i,  F(x_i) = B H^i(1),
/// </code>
/// with the weights given as a function of depth s ↦ (W(s), V(s)): either any <see cref="WeightFunction"/>,
/// or the piecewise-linear interpolant of layer weights Z_1..Z_L placed at s_k = k/L (k = 1..L), extended
/// by the constant Z_1 on [0, 1/L] (<see cref="PiecewiseLinear"/>). The ResNet
/// h_k = h_{k−1} + (1/L) V_k σ(W_k h_{k−1}) is the scheme with Z_k = Z(k/L) applied to h_{k−1}, so this is
/// the function of depth the layers discretize. Solved with <see cref="OdeSolver"/> (Dormand–Prince 5(4) by
/// default); the nodes of a piecewise-linear Z, where the right-hand side is not differentiable in s, are
/// stops of the integrator.
/// </summary>
public sealed class NeuralOde
{
    private readonly int _m, _d;
    private readonly ActivationKind _act;
    private readonly WeightFunction _z;
    private readonly double[] _breaks;
    /// <summary>The same weight function writing Wᵀ(s) (d×m) and Vᵀ(s) (m×d), each entry the value <see cref="_z"/> writes at its
    /// transposed place (null: the right-hand side transposes what <see cref="_z"/> writes).</summary>
    private WeightFunction? _zTransposed;

    /// <summary>Width m, state dimension d, activation σ, the weight function, and the s where it is not smooth.</summary>
    public NeuralOde(int width, int dim, ActivationKind activation, WeightFunction weights, double[]? breakpoints = null)
    {
        if (width < 1 || dim < 1) throw new ArgumentException("width m and dimension d must be positive");
        _m = width; _d = dim; _act = activation; _z = weights; _breaks = breakpoints ?? Array.Empty<double>();
    }

    /// <summary>Width m.</summary>
    public int Width => _m;
    /// <summary>State dimension d.</summary>
    public int Dim => _d;
    /// <summary>Points of [0,1] where Z(s) is not smooth (stops of the integrator).</summary>
    public IReadOnlyList<double> Breakpoints => _breaks;
    /// <summary>The activation σ.</summary>
    public ActivationKind Activation => _act;
    /// <summary>The weight function s ↦ (W(s), V(s)).</summary>
    public WeightFunction Weights => _z;

    /// <summary>
    /// Z(s) = Z_1 for s ≤ 1/L, and for s ∈ [k/L, (k+1)/L] (k = 1..L−1):
    /// Z(s) = (1 − θ) Z_k + θ Z_{k+1}, θ = L·s − k. Layer k (1-based) of W (L·m·d) starts at (k−1)·m·d.
    /// </summary>
    public static NeuralOde PiecewiseLinear(int depth, int width, int dim, ActivationKind activation, double[] w, double[] v)
    {
        int md = width * dim;
        if (w.Length != depth * md || v.Length != depth * md)
            throw new ArgumentException($"weights have {w.Length} and {v.Length} entries, expected L·m·d = {depth * md}");
        // the layers transposed once (wt[c·m + j] = W_jc, vt[j·d + r] = V_rj per layer), into arrays of this function's own (a
        // caller that changes w or v afterwards changes no Z(s)): the right-hand side interpolates in this layout, and Z reads
        // the same two values of every entry from it and forms them by the same operations, so both give the same bits
        var wt = new double[w.Length]; var vt = new double[v.Length];
        for (int k = 0; k < depth; k++)
        {
            int o = k * md;
            for (int j = 0; j < width; j++)
                for (int c = 0; c < dim; c++) wt[o + c * width + j] = w[o + j * dim + c];
            for (int r = 0; r < dim; r++)
                for (int j = 0; j < width; j++) vt[o + j * dim + r] = v[o + r * width + j];
        }
        void Z(double s, Span<double> ws, Span<double> vs)
        {
            double x = s * depth; // position in units of 1/L; node k sits at x = k
            if (x <= 1 || depth == 1)
            {
                for (int j = 0; j < width; j++)
                    for (int c = 0; c < dim; c++) ws[j * dim + c] = wt[c * width + j];
                for (int r = 0; r < dim; r++)
                    for (int j = 0; j < width; j++) vs[r * width + j] = vt[j * dim + r];
                return;
            }
            int k = Math.Min((int)Math.Floor(x), depth - 1); // interval [k, k+1], nodes k and k+1 (1-based)
            double th = x - k;
            int o0 = (k - 1) * md, o1 = k * md;
            for (int j = 0; j < width; j++)
                for (int c = 0; c < dim; c++)
                {
                    double a = wt[o0 + c * width + j], b = wt[o1 + c * width + j];
                    ws[j * dim + c] = a + th * (b - a);
                }
            for (int r = 0; r < dim; r++)
                for (int j = 0; j < width; j++)
                {
                    double a = vt[o0 + j * dim + r], b = vt[o1 + j * dim + r];
                    vs[r * width + j] = a + th * (b - a);
                }
        }
        void ZTransposed(double s, Span<double> ws, Span<double> vs)
        {
            double x = s * depth;
            if (x <= 1 || depth == 1)
            {
                wt.AsSpan(0, md).CopyTo(ws); vt.AsSpan(0, md).CopyTo(vs);
                return;
            }
            int k = Math.Min((int)Math.Floor(x), depth - 1);
            double th = x - k;
            Lerp(wt.AsSpan((k - 1) * md, md), wt.AsSpan(k * md, md), th, ws);
            Lerp(vt.AsSpan((k - 1) * md, md), vt.AsSpan(k * md, md), th, vs);
        }
        var breaks = Enumerable.Range(1, Math.Max(0, depth - 1)).Select(k => (double)k / depth).ToArray();
        return new NeuralOde(width, dim, activation, Z, breaks) { _zTransposed = ZTransposed };
    }

    /// <summary>z_i = a_i + θ·(b_i − a_i), in vector lanes (each lane the same three operations as the scalar loop).</summary>
    private static void Lerp(ReadOnlySpan<double> a, ReadOnlySpan<double> b, double th, Span<double> z)
    {
        int i = 0, n = a.Length;
        if (System.Numerics.Vector.IsHardwareAccelerated)
        {
            int w = System.Numerics.Vector<double>.Count;
            var t = new System.Numerics.Vector<double>(th);
            for (; i + w <= n; i += w)
            {
                var ai = new System.Numerics.Vector<double>(a.Slice(i, w));
                (ai + t * (new System.Numerics.Vector<double>(b.Slice(i, w)) - ai)).CopyTo(z.Slice(i, w));
            }
        }
        for (; i < n; i++) z[i] = a[i] + th * (b[i] - a[i]);
    }

    /// <summary>
    /// The right-hand side V(s)σ(W(s)H^i) for all samples (y = n×d row-major). Each entry is the formula's sum
    /// taken in its order (over c for u_j = Σ_c W_jc h_c, over j for Σ_j V_rj σ(u_j)), from zero, one product and
    /// one rounded sum per term, with σ from the accurate scalar code (<see cref="Activations.Values"/>); the
    /// independent sums run side by side in vector lanes (over j, then over r, from transposed copies of W(s)
    /// and V(s)), which rounds every entry exactly as the one-entry-at-a-time loop does (tested).
    /// </summary>
    public OdeRhs RightHandSide(int samples)
    {
        int m = _m, d = _d, md = m * d;
        var w = new double[md]; var v = new double[md];
        var wT = new double[md]; var vT = new double[md]; // wT[c·m + j] = W_jc, vT[j·d + r] = V_rj
        var u = new double[samples * m]; var a = new double[samples * m];
        var zT = _zTransposed;
        return (s, y, dy) =>
        {
            if (zT is not null) zT(s, wT, vT);
            else
            {
                _z(s, w, v);
                for (int j = 0; j < m; j++)
                    for (int c = 0; c < d; c++) wT[c * m + j] = w[j * d + c];
                for (int r = 0; r < d; r++)
                    for (int j = 0; j < m; j++) vT[j * d + r] = v[r * m + j];
            }
            // U = Y·Wᵀ (n×d times d×m) and dY = σ(U)·Vᵀ (n×m times m×d), each entry summed from zero in index order, one
            // product and one sum per term (`MultiplyOrdered`: the sums of a row kept in registers across the inner index)
            Layerwise.MultiplyOrdered(y, samples, d, wT, m, u);
            Activations.Values(_act, u, a);
            Layerwise.MultiplyOrdered(a, samples, m, vT, d, dy);
        };
    }

    /// <summary>
    /// Solves from H(0) = h0 (n×d row-major) to s = 1 with tolerances rtol, atol; returns H(1), the
    /// outputs B·H(1) (B d_out×d row-major, null = identity) and the states at the requested output times.
    /// The step budget <paramref name="maxSteps"/> (accepted + rejected) bounds the cost; exceeding it throws
    /// an InvalidOperationException that names it. <paramref name="extraStops"/> (optional) are hit exactly besides the
    /// weight function's breakpoints, without being returned: a solve that must not take the same steps as another one
    /// at a looser tolerance (a second solve whose difference estimates the first one's error) stops at more points.
    /// <paramref name="cancel"/>, once set, stops the solve at its next step (OperationCanceledException).
    /// </summary>
    public NeuralOdeSolution Solve(double[] h0, double rtol, double atol, double[]? outputTimes = null,
        ButcherTableau? tableau = null, double[]? b = null, int outputDim = 0, int maxSteps = 10_000_000,
        double[]? extraStops = null, CancellationToken cancel = default)
    {
        if (h0.Length % _d != 0) throw new ArgumentException($"h0 has {h0.Length} entries, not a multiple of d = {_d}");
        int n = h0.Length / _d;
        var stops = extraStops is null || extraStops.Length == 0 ? _breaks : _breaks.Concat(extraStops).ToArray();
        var sol = OdeSolver.Integrate(RightHandSide(n), 0.0, 1.0, h0, rtol, atol, tableau, outputTimes, stops, maxSteps, cancel: cancel);
        double[] outputs;
        if (b is null) outputs = (double[])sol.Final.Clone();
        else
        {
            int dOut = outputDim > 0 ? outputDim : b.Length / _d;
            outputs = new double[n * dOut];
            for (int i = 0; i < n; i++)
                for (int o = 0; o < dOut; o++)
                {
                    double acc = 0;
                    for (int c = 0; c < _d; c++) acc += b[o * _d + c] * sol.Final[i * _d + c];
                    outputs[i * dOut + o] = acc;
                }
        }
        return new NeuralOdeSolution
        {
            Final = sol.Final, Outputs = outputs, Times = sol.Times, States = sol.States,
            Steps = sol.Steps, Rejected = sol.Rejected, Evaluations = sol.Evaluations,
        };
    }
}
