using System.Diagnostics;
using ResOdeProofs.Numerics.Model;
using ResOdeProofs.Numerics.Ode;
using ResOdeProofs.Numerics.Training;

namespace ResOdeProofs.Numerics.Tests.Limit;

/// <summary>
/// The distance between the finite network and its neural-ODE limit at initialization, with the solve's cost:
/// MaxDistance = max_i ‖F_L(x_i) − F_∞(x_i)‖ (F_∞ = H^i(1)), RmsDistance = ((1/n) Σ_i ‖F_L(x_i) − F_∞(x_i)‖²)^{1/2},
/// IntegrationError = max_i ‖F_∞(rtol) − F_∞(rtol·10⁻²)‖ (the error estimate of the limit itself), and the
/// accepted/rejected steps, evaluations and seconds of the limit's solve.
/// </summary>
public sealed record LimitDistance(double MaxDistance, double RmsDistance, double IntegrationError, int OdeSteps, int OdeRejected, int OdeEvaluations, double OdeSeconds);

/// <summary>
/// The limit training dynamics at output time t_j: Richardson extrapolation of the gradient-flow losses of
/// ResNets of depths L, 2L, 4L (same setting, each trained by the integrated gradient flow) under the
/// first-order expansion ℓ_L(t) = ℓ_∞(t) + c(t)/L + O(1/L²):
/// <code>
/// ℓ_∞ ≈ R_{2L} = 2ℓ_{2L} − ℓ_L,   error estimate |R_{4L} − R_{2L}| (R_{4L} = 2ℓ_{4L} − ℓ_{2L}),
/// observed ratio (ℓ_L − ℓ_{2L}) / (ℓ_{2L} − ℓ_{4L}) ≈ 2 when the expansion holds.
/// </code>
/// The reported limit is R_{4L} (the finest), with the error estimate |R_{4L} − R_{2L}|.
/// </summary>
public sealed record LimitLoss(int[] Depths, double[] Times, double[][] Losses, double[] Limit, double[] ErrorEstimate, double[] Ratio, double Seconds);

/// <summary>
/// A finite-depth ResNet beside its neural-ODE limit, built by one constructor: the layers Z_k(0) = Z⁰(k/L)
/// of a tied or smooth initialization and the neural ODE dH/ds = V⁰(s)σ(W⁰(s)H) of the same function of
/// depth Z⁰ (the constant for tied, the closed form <see cref="Initialization.SmoothFunction"/> for
/// smooth). An i.i.d. initialization discretizes no function of depth: it has no limit (<see cref="Limit"/> null).
/// </summary>
public sealed class ResNetWithLimit
{
    /// <summary>The setting (shape, data, initialization).</summary>
    public RunSpec Spec { get; }
    /// <summary>The finite network's initial weights.</summary>
    public InitialParameters Weights { get; }
    /// <summary>The neural ODE of the initialization's function of depth; null for iid.</summary>
    public NeuralOde? Limit { get; }

    private ResNetWithLimit(RunSpec spec, InitialParameters w, NeuralOde? limit) { Spec = spec; Weights = w; Limit = limit; }

    /// <summary>Builds the finite network of the spec and its limit.</summary>
    public static ResNetWithLimit Create(RunSpec spec)
    {
        var w = spec.InitialWeights();
        var shape = spec.Shape;
        WeightFunction? z = spec.Init switch
        {
            InitKind.Tied => ConstantFunction(shape, w),
            InitKind.Smooth => Initialization.SmoothFunction(shape, spec.Seed, spec.Scale, spec.VScale, spec.Modes),
            _ => null,
        };
        return new ResNetWithLimit(spec, w, z is null ? null : new NeuralOde(shape.Width, shape.Dim, spec.Activation, z));
    }

    /// <summary>The tied initialization's (constant) function of depth: Z⁰(s) = (W, V) of every layer.</summary>
    private static WeightFunction ConstantFunction(NetworkShape shape, InitialParameters tied)
    {
        int md = shape.LayerSize;
        var w0 = tied.W[..md]; var v0 = tied.V[..md];
        return (s, w, v) => { w0.CopyTo(w); v0.CopyTo(v); };
    }

    /// <summary>h_0^i = x_i (A = I for a spec), n×d row-major.</summary>
    private double[] Inputs() => (double[])Spec.Data().X.Clone();

    /// <summary>F_L(x_i) = h_L^i of the finite network (B = I), n×d row-major.</summary>
    public double[] FiniteOutputs()
    {
        var shape = Spec.Shape;
        var net = new ResNet<double>(shape, Spec.Activation, Spec.Data());
        net.Evaluate(Weights.W, Weights.V, Span<double>.Empty, Span<double>.Empty);
        int nd = Spec.Samples * shape.Dim;
        return net.HiddenStates.Slice(shape.Depth * nd, nd).ToArray();
    }

    /// <summary>The limit's outputs F_∞(x_i) = H^i(1) (throws for iid, which has no limit).</summary>
    public NeuralOdeSolution LimitOutputs(double rtol = 1e-10, double atol = 1e-12) =>
        (Limit ?? throw new InvalidOperationException("an iid initialization discretizes no function of depth: there is no neural-ODE limit"))
            .Solve(Inputs(), rtol, atol);

    /// <summary>The distance between the finite network and its limit, and the limit's own error estimate.</summary>
    public LimitDistance Distance(double rtol = 1e-10, double atol = 1e-12)
    {
        var sw = Stopwatch.StartNew();
        var lim = LimitOutputs(rtol, atol);
        double secs = sw.Elapsed.TotalSeconds;
        var check = LimitOutputs(rtol * 1e-2, atol * 1e-2);
        var fin = FiniteOutputs();
        int d = Spec.Dim, n = Spec.Samples;
        double max = 0, sum = 0, err = 0;
        for (int i = 0; i < n; i++)
        {
            double a = 0, e = 0;
            for (int c = 0; c < d; c++)
            {
                double x = fin[i * d + c] - lim.Outputs[i * d + c], y = lim.Outputs[i * d + c] - check.Outputs[i * d + c];
                a += x * x; e += y * y;
            }
            max = Math.Max(max, Math.Sqrt(a)); sum += a; err = Math.Max(err, Math.Sqrt(e));
        }
        return new LimitDistance(max, Math.Sqrt(sum / n), err, lim.Steps, lim.Rejected, lim.Evaluations, secs);
    }

    /// <summary>Seconds for the forward pass of a ResNet of the given depth (e.g. 2^14) on the limit's function of depth: the cost of the stand-in reference.</summary>
    public double ReferenceSeconds(int depth, out double[] outputs)
    {
        if (Limit is null) throw new InvalidOperationException("no limit for an iid initialization");
        var sw = Stopwatch.StartNew();
        outputs = Limit.ResNetForward(Inputs(), depth);
        return sw.Elapsed.TotalSeconds;
    }

    /// <summary>
    /// The limit training dynamics (see <see cref="LimitLoss"/>): gradient flows of the spec's setting at depths
    /// L, 2L, 4L (L = spec.Depth) over [0, η·N] recorded at t_j = j·η, each integrated with rtol/atol, and the
    /// Richardson extrapolation of their losses.
    /// </summary>
    public static LimitLoss TrainingLimit(RunSpec spec, double rtol = 1e-9, double atol = 1e-11)
    {
        var sw = Stopwatch.StartNew();
        int[] depths = { spec.Depth, 2 * spec.Depth, 4 * spec.Depth };
        var losses = depths.Select(l => spec.With(depth: l).TrainFlow(rtol, atol).Losses).ToArray();
        int count = losses.Min(x => x.Length);
        var times = Enumerable.Range(0, count).Select(j => j * spec.Eta).ToArray();
        var limit = new double[count]; var errEst = new double[count]; var ratio = new double[count];
        for (int j = 0; j < count; j++)
        {
            double l1 = losses[0][j], l2 = losses[1][j], l4 = losses[2][j];
            double r2 = 2 * l2 - l1, r4 = 2 * l4 - l2;
            limit[j] = r4; errEst[j] = Math.Abs(r4 - r2);
            ratio[j] = (l1 - l2) / (l2 - l4);
        }
        return new LimitLoss(depths, times, losses, limit, errEst, ratio, sw.Elapsed.TotalSeconds);
    }
}
