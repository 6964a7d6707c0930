using System.Numerics;
using System.Runtime.CompilerServices;

namespace ResOdeProofs.Numerics.Ode;

/// <summary>Right-hand side of y' = f(t, y): writes f(t, y) into dydt (same length as y).</summary>
public delegate void OdeRhs(double t, ReadOnlySpan<double> y, Span<double> dydt);

/// <summary>The accepted and rejected steps and the field evaluations an integration had made when it reached its latest
/// output (`OdeSolver.Integrate`'s countsAtOutput): what a run stopped there took.</summary>
public sealed class OdeCounts
{
    public int Steps { get; set; }
    public int Rejected { get; set; }
    public int Evaluations { get; set; }
}

/// <summary>The result of an integration: the final state, the states at the requested output times, and the cost.</summary>
public sealed class OdeSolution
{
    /// <summary>y(t1).</summary>
    public required double[] Final { get; init; }
    /// <summary>The requested output times (sorted, inside [t0, t1]).</summary>
    public required double[] Times { get; init; }
    /// <summary>States[j] = y(Times[j]) (each output time is hit exactly by a step, no interpolation).</summary>
    public required double[][] States { get; init; }
    /// <summary>Accepted steps.</summary>
    public int Steps { get; init; }
    /// <summary>Rejected steps (error norm above 1).</summary>
    public int Rejected { get; init; }
    /// <summary>Evaluations of f.</summary>
    public int Evaluations { get; init; }
}

/// <summary>
/// Explicit Runge–Kutta integration with an embedded pair (<see cref="ButcherTableau"/>).
/// Adaptive steps (Hairer–Nørsett–Wanner I, §II.4): the local error estimate e = h Σ (b_i − b̂_i) k_i is
/// measured in the norm
/// <code>
/// err = √( (1/N) Σ_j ( e_j / (atol + rtol·max(|y_j|, |y_new,j|)) )² ),
/// </code>
/// the step is accepted when err ≤ 1, and the next step is h·min(5, max(0.2, 0.9·err^(−1/(q+1)))) with
/// q = min(p, p̂) (no growth right after a rejection). Output times and "stops" (points where f is not
/// smooth, e.g. the nodes of a piecewise-linear weight function) are hit exactly by shortening steps.
/// </summary>
/// <summary>
/// Sees every stage of an integration (<see cref="OdeSolver.Integrate"/>): the state each field evaluation of a step was made
/// at and the field there, and which steps were accepted. The stages of a rejected step are followed by those of its retry
/// (stage i of the step that is accepted is the last one reported under i before <see cref="Accepted"/>).
/// </summary>
public interface IStageObserver
{
    /// <summary>
    /// Stage <paramref name="i"/> of a step of size <paramref name="h"/> (0 for stage 0) was evaluated:
    /// f(<paramref name="t"/>, <paramref name="y"/>) = <paramref name="field"/> (both spans are the solver's buffers, valid
    /// during the call). i = 0 at the start and, for a pair without FSAL, at every accepted state; with FSAL the last stage of
    /// an accepted step is the next step's stage 0 and is not reported again.
    /// </summary>
    void Stage(int i, double t, double h, ReadOnlySpan<double> y, ReadOnlySpan<double> field);
    /// <summary>
    /// The step from <paramref name="t"/> of size <paramref name="h"/> was accepted with the stages last reported:
    /// <paramref name="yNew"/> = y + h·Σ b_i k_i as the solver stored it. Called before any output at the new time.
    /// </summary>
    void Accepted(double t, double h, ButcherTableau tableau, ReadOnlySpan<double> yNew);
}

public static class OdeSolver
{
    /// <summary>Safety factor of the step-size controller.</summary>
    public const double Safety = 0.9;
    /// <summary>Largest and smallest step ratio per step.</summary>
    public const double MaxFactor = 5.0, MinFactor = 0.2;

    /// <summary>
    /// Integrates y' = f(t, y) from t0 to t1 &gt; t0 with relative and absolute tolerances rtol, atol.
    /// Default pair: Dormand–Prince 5(4). <paramref name="outputTimes"/> (optional) are returned in
    /// <see cref="OdeSolution.States"/>; <paramref name="stops"/> are hit exactly but not returned.
    /// Throws InvalidOperationException when the step size underflows or maxSteps is exceeded, and when f
    /// returns a non-finite value. With <paramref name="onOutput"/>, each output state is passed to it
    /// (output index, time, state; the array is reused after the call returns) instead of being stored, so
    /// that long output grids of large states need no memory; <see cref="OdeSolution.States"/> is then empty. A
    /// <paramref name="cancel"/> that is set stops the integration at its next step (OperationCanceledException): a solve whose
    /// result nobody will read any more need not run to its step budget.
    /// </summary>
    public static OdeSolution Integrate(OdeRhs f, double t0, double t1, double[] y0, double rtol, double atol,
        ButcherTableau? tableau = null, double[]? outputTimes = null, double[]? stops = null, int maxSteps = 10_000_000,
        Action<int, double, double[]>? onOutput = null, IStageObserver? observer = null, OdeCounts? countsAtOutput = null,
        CancellationToken cancel = default)
    {
        var tab = tableau ?? ButcherTableau.DormandPrince54;
        if (!(t1 > t0)) throw new ArgumentException($"need t1 > t0 (got t0 = {t0}, t1 = {t1})");
        if (!(rtol > 0) || !(atol >= 0)) throw new ArgumentException("need rtol > 0 and atol ≥ 0");
        var outs = (outputTimes ?? Array.Empty<double>()).OrderBy(x => x).ToArray();
        foreach (var to in outs)
            if (to < t0 || to > t1) throw new ArgumentException($"output time {to} is outside [{t0}, {t1}]");
        var grid = outs.Concat(stops ?? Array.Empty<double>()).Where(g => g > t0 && g < t1).Append(t1).Distinct().OrderBy(x => x).ToArray();
        int n = y0.Length, s = tab.Stages;
        var bDiff = new double[s]; // b_i − b̂_i, the same value the error sum formed at every entry
        for (int i = 0; i < s; i++) bDiff[i] = tab.B[i] - tab.BHat[i];
        var k = new double[s][];
        for (int i = 0; i < s; i++) k[i] = new double[n];
        var y = (double[])y0.Clone();
        var yNew = new double[n]; var yStage = new double[n]; var err = new double[n];
        var states = new double[onOutput is null ? outs.Length : 0][];
        int nextOut = 0;
        int steps = 0, rejected = 0, evals = 0;
        void Emit(double[] state)
        {
            // the counts that reached this output, before the caller sees it (a caller that stops the integration there,
            // an interrupted flow, records them: it recorded 0 steps)
            if (countsAtOutput is not null) { countsAtOutput.Steps = steps; countsAtOutput.Rejected = rejected; countsAtOutput.Evaluations = evals; }
            if (onOutput is null) states[nextOut] = (double[])state.Clone();
            else onOutput(nextOut, outs[nextOut], state);
            nextOut++;
        }
        while (nextOut < outs.Length && outs[nextOut] == t0) Emit(y);
        double t = t0;
        f(t, y, k[0]); evals++;
        CheckFinite(k[0], t);
        observer?.Stage(0, t, 0.0, y, k[0]);
        double h = InitialStep(f, t, y, k[0], tab, rtol, atol, t1 - t0, ref evals);
        int q = Math.Min(tab.Order, tab.EmbeddedOrder);
        bool lastRejected = false;
        int gi = 0;
        while (gi < grid.Length)
        {
            double target = grid[gi];
            bool hits = false;
            double hStep = h;
            if (t + hStep >= target - 1e-14 * Math.Max(1, Math.Abs(target))) { hStep = target - t; hits = true; }
            // stages
            for (int i = 1; i < s; i++)
            {
                StageState(tab.A[i], i, k, y, hStep, yStage);
                f(t + tab.C[i] * hStep, yStage, k[i]); evals++;
                observer?.Stage(i, t + tab.C[i] * hStep, hStep, yStage, k[i]);
            }
            Combine(tab.B, bDiff, k, y, hStep, yNew, err);
            double norm = 0;
            for (int j = 0; j < n; j++)
            {
                double sc = atol + rtol * Math.Max(Math.Abs(y[j]), Math.Abs(yNew[j]));
                double r = err[j] / sc;
                norm += r * r;
            }
            norm = Math.Sqrt(norm / n);
            if (double.IsNaN(norm)) throw new InvalidOperationException($"the solution became non-finite near t = {t}");
            double factor = norm == 0 ? MaxFactor : Math.Min(MaxFactor, Math.Max(MinFactor, Safety * Power(norm, -1.0 / (q + 1))));
            if (norm <= 1)
            {
                steps++;
                double tOld = t;
                t = hits ? target : t + hStep;
                (y, yNew) = (yNew, y);
                observer?.Accepted(tOld, hStep, tab, y);
                if (tab.Fsal) (k[0], k[s - 1]) = (k[s - 1], k[0]);
                else { f(t, y, k[0]); evals++; observer?.Stage(0, t, 0.0, y, k[0]); }
                CheckFinite(k[0], t);
                if (hits)
                {
                    while (nextOut < outs.Length && outs[nextOut] == target) Emit(y);
                    gi++;
                }
                if (lastRejected) factor = Math.Min(1, factor);
                // a step shortened to hit a grid point does not shrink the next one
                h = (hits ? Math.Max(h, hStep) : hStep) * factor;
                lastRejected = false;
            }
            else
            {
                rejected++;
                h = hStep * factor;
                lastRejected = true;
            }
            if (steps + rejected > maxSteps) throw new InvalidOperationException($"more than {maxSteps} steps between {t0} and {t1}");
            cancel.ThrowIfCancellationRequested();
            if (h < 1e-15 * Math.Max(1, Math.Abs(t))) throw new InvalidOperationException($"step size underflow at t = {t} (h = {h:E3})");
        }
        return new OdeSolution { Final = y, Times = outs, States = states, Steps = steps, Rejected = rejected, Evaluations = evals };
    }

    /// <summary>
    /// The state of stage i: yStage_j = y_j + h·Σ_{l &lt; i, a_il ≠ 0} a_il·k_l,j, the sum from zero over l in order, one product
    /// and one sum per term (no fused multiply-add); entries j side by side in vector lanes, each lane the entry's own
    /// operations, so every entry has the bits of the entry-by-entry loop.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void StageState(double[] a, int i, double[][] k, double[] y, double h, double[] yStage)
    {
        int n = y.Length, j = 0, w = Vector<double>.Count;
        if (Vector.IsHardwareAccelerated)
        {
            var hv = new Vector<double>(h);
            for (; j + w <= n; j += w)
            {
                var acc = Vector<double>.Zero;
                for (int l = 0; l < i; l++) if (a[l] != 0) acc = acc + new Vector<double>(a[l]) * new Vector<double>(k[l], j);
                (new Vector<double>(y, j) + hv * acc).CopyTo(yStage, j);
            }
        }
        for (; j < n; j++)
        {
            double acc = 0;
            for (int l = 0; l < i; l++) if (a[l] != 0) acc += a[l] * k[l][j];
            yStage[j] = y[j] + h * acc;
        }
    }

    /// <summary>
    /// The step's new state and error: yNew_j = y_j + h·Σ_i b_i·k_i,j and err_j = h·Σ_i (b_i − b̂_i)·k_i,j, each sum from zero over
    /// i in order, one product and one sum per term; entries side by side in vector lanes as in <see cref="StageState"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Combine(double[] b, double[] bDiff, double[][] k, double[] y, double h, double[] yNew, double[] err)
    {
        int n = y.Length, s = b.Length, j = 0, w = Vector<double>.Count;
        if (Vector.IsHardwareAccelerated)
        {
            var hv = new Vector<double>(h);
            for (; j + w <= n; j += w)
            {
                Vector<double> acc = Vector<double>.Zero, e = Vector<double>.Zero;
                for (int i = 0; i < s; i++)
                {
                    var ki = new Vector<double>(k[i], j);
                    acc = acc + new Vector<double>(b[i]) * ki;
                    e = e + new Vector<double>(bDiff[i]) * ki;
                }
                (new Vector<double>(y, j) + hv * acc).CopyTo(yNew, j);
                (hv * e).CopyTo(err, j);
            }
        }
        for (; j < n; j++)
        {
            double acc = 0, e = 0;
            for (int i = 0; i < s; i++) { acc += b[i] * k[i][j]; e += bDiff[i] * k[i][j]; }
            yNew[j] = y[j] + h * acc;
            err[j] = h * e;
        }
    }

    /// <summary>Initial step (Hairer–Nørsett–Wanner I, §II.4, "starting step size"), capped by the interval length.</summary>
    private static double InitialStep(OdeRhs f, double t0, double[] y0, double[] f0, ButcherTableau tab, double rtol, double atol, double span, ref int evals)
    {
        int n = y0.Length;
        double d0 = 0, d1 = 0;
        for (int j = 0; j < n; j++)
        {
            double sc = atol + rtol * Math.Abs(y0[j]);
            d0 += (y0[j] / sc) * (y0[j] / sc);
            d1 += (f0[j] / sc) * (f0[j] / sc);
        }
        d0 = Math.Sqrt(d0 / n); d1 = Math.Sqrt(d1 / n);
        double h0 = d0 < 1e-5 || d1 < 1e-5 ? 1e-6 : 0.01 * d0 / d1;
        h0 = Math.Min(h0, span);
        var y1 = new double[n]; var f1 = new double[n];
        for (int j = 0; j < n; j++) y1[j] = y0[j] + h0 * f0[j];
        f(t0 + h0, y1, f1); evals++;
        double d2 = 0;
        for (int j = 0; j < n; j++)
        {
            double sc = atol + rtol * Math.Abs(y0[j]);
            double r = (f1[j] - f0[j]) / sc;
            d2 += r * r;
        }
        d2 = Math.Sqrt(d2 / n) / h0;
        int p = Math.Min(tab.Order, tab.EmbeddedOrder) + 1;
        double h1 = Math.Max(d1, d2) <= 1e-15 ? Math.Max(1e-6, h0 * 1e-3) : Power(0.01 / Math.Max(d1, d2), 1.0 / p);
        return Math.Min(Math.Min(100 * h0, h1), span);
    }

    /// <summary>
    /// x^y for x ≥ 0 as e^(y·ln x) from <see cref="PortableMath"/>: the step sizes a flow run takes must be the same on every
    /// platform (the platform's Math.Pow is its C library's); a few ulps of accuracy are all a step-size factor needs.
    /// </summary>
    internal static double Power(double x, double y) => PortableMath.Exp(y * PortableMath.Log(x));

    private static void CheckFinite(double[] v, double t)
    {
        for (int j = 0; j < v.Length; j++)
            if (!double.IsFinite(v[j])) throw new InvalidOperationException($"f(t, y) is not finite at t = {t} (component {j})");
    }
}
