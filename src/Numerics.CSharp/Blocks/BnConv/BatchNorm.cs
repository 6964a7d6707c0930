using System.Numerics;

namespace ResOdeProofs.Numerics.Blocks.BnConv;

/// <summary>
/// Batch normalization over the channels of a channel-major batch (C × M, M = n·H·W values per channel):
/// <code>
/// training:   y = γ·x̂ + β,  x̂ = (x − μ_B)/√(σ²_B + ε),  μ_B, σ²_B the batch mean and (biased) variance per channel;
///             running averages r_μ ← (1 − m)·r_μ + m·μ_B,  r_σ² ← (1 − m)·r_σ² + m·σ²_B·M/(M − 1)  (the unbiased variance);
/// evaluation: y = γ·(x − r_μ)/√(r_σ² + ε) + β,  an affine map per channel that folds into the convolution before it
///             (<see cref="Fold"/>).
/// </code>
/// The conventions (ε = 10⁻⁵, m = 0.1, unbiased running variance) are those of the common deep-learning libraries.
/// Backward in training mode, per channel, for output adjoints dy:
/// <code>
/// ∂γ = Σ dy·x̂,  ∂β = Σ dy,  dx = (γ/(M·√(σ²_B + ε)))·(M·dy − ∂β − x̂·∂γ).
/// </code>
/// Means and variances are accumulated in float64 whatever T is.
/// </summary>
public static class BatchNorm
{
    /// <summary>ε added to the variance.</summary>
    public const double Epsilon = 1e-5;

    /// <summary>Momentum m of the running averages.</summary>
    public const double Momentum = 0.1;

    /// <summary>Training-mode forward; writes the batch mean and 1/√(σ²_B + ε) per channel and updates the running averages (when given).</summary>
    public static void ForwardTrain<T>(ReadOnlySpan<T> x, Span<T> y, int channels, int m, ReadOnlySpan<T> gamma, ReadOnlySpan<T> beta,
        Span<double> mean, Span<double> invStd, Span<double> runningMean, Span<double> runningVar) where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int c = 0; c < channels; c++)
        {
            var xc = x.Slice(c * m, m);
            double s = 0;
            for (int i = 0; i < m; i++) s += double.CreateTruncating(xc[i]);
            double mu = s / m, v = 0;
            for (int i = 0; i < m; i++) { double d = double.CreateTruncating(xc[i]) - mu; v += d * d; }
            double var = v / m, inv = 1.0 / Math.Sqrt(var + Epsilon);
            mean[c] = mu; invStd[c] = inv;
            if (!runningMean.IsEmpty)
            {
                runningMean[c] = (1 - Momentum) * runningMean[c] + Momentum * mu;
                runningVar[c] = (1 - Momentum) * runningVar[c] + Momentum * (m > 1 ? v / (m - 1) : var);
            }
            Affine(xc, y.Slice(c * m, m), double.CreateTruncating(gamma[c]) * inv, double.CreateTruncating(beta[c]) - double.CreateTruncating(gamma[c]) * inv * mu);
        }
    }

    /// <summary>Evaluation-mode forward with the running averages.</summary>
    public static void ForwardEval<T>(ReadOnlySpan<T> x, Span<T> y, int channels, int m, ReadOnlySpan<T> gamma, ReadOnlySpan<T> beta,
        ReadOnlySpan<double> runningMean, ReadOnlySpan<double> runningVar) where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int c = 0; c < channels; c++)
        {
            var (scale, shift) = EvalAffine(double.CreateTruncating(gamma[c]), double.CreateTruncating(beta[c]), runningMean[c], runningVar[c]);
            Affine(x.Slice(c * m, m), y.Slice(c * m, m), scale, shift);
        }
    }

    /// <summary>The evaluation-mode map of one channel as y = scale·x + shift.</summary>
    public static (double Scale, double Shift) EvalAffine(double gamma, double beta, double runningMean, double runningVar)
    {
        double scale = gamma / Math.Sqrt(runningVar + Epsilon);
        return (scale, beta - scale * runningMean);
    }

    /// <summary>
    /// Folds evaluation-mode batch norm into the convolution before it: K'[o] = scale_o·K[o], b'[o] = shift_o, so that
    /// bn(K ∗ x) = K' ∗ x + b' exactly in real arithmetic.
    /// </summary>
    public static void Fold<T>(ReadOnlySpan<T> kernel, int cOut, ReadOnlySpan<T> gamma, ReadOnlySpan<T> beta, ReadOnlySpan<double> runningMean,
        ReadOnlySpan<double> runningVar, Span<T> foldedKernel, Span<T> foldedBias) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int per = kernel.Length / cOut;
        for (int o = 0; o < cOut; o++)
        {
            var (scale, shift) = EvalAffine(double.CreateTruncating(gamma[o]), double.CreateTruncating(beta[o]), runningMean[o], runningVar[o]);
            for (int i = 0; i < per; i++) foldedKernel[o * per + i] = T.CreateTruncating(scale * double.CreateTruncating(kernel[o * per + i]));
            foldedBias[o] = T.CreateTruncating(shift);
        }
    }

    /// <summary>Training-mode backward: ∂γ, ∂β overwritten, dx overwritten (x is the forward input, mean/invStd its batch statistics).</summary>
    public static void Backward<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> dy, Span<T> dx, int channels, int m, ReadOnlySpan<T> gamma,
        ReadOnlySpan<double> mean, ReadOnlySpan<double> invStd, Span<T> dGamma, Span<T> dBeta) where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int c = 0; c < channels; c++)
        {
            var xc = x.Slice(c * m, m); var dyc = dy.Slice(c * m, m); var dxc = dx.Slice(c * m, m);
            double mu = mean[c], inv = invStd[c], sdy = 0, sdyx = 0;
            for (int i = 0; i < m; i++)
            {
                double g = double.CreateTruncating(dyc[i]);
                sdy += g; sdyx += g * (double.CreateTruncating(xc[i]) - mu) * inv;
            }
            dGamma[c] = T.CreateTruncating(sdyx); dBeta[c] = T.CreateTruncating(sdy);
            double k = double.CreateTruncating(gamma[c]) * inv;
            // dx = k·(dy − ∂β/M − x̂·∂γ/M) = a·dy + b·x + d.
            T a = T.CreateTruncating(k), b = T.CreateTruncating(-k * inv * sdyx / m), d = T.CreateTruncating(-k * sdy / m + k * inv * sdyx * mu / m);
            for (int i = 0; i < m; i++) dxc[i] = a * dyc[i] + b * xc[i] + d;
        }
    }

    private static void Affine<T>(ReadOnlySpan<T> x, Span<T> y, double scale, double shift) where T : unmanaged, IFloatingPointIeee754<T>
    {
        T s = T.CreateTruncating(scale), t = T.CreateTruncating(shift);
        int i = 0;
        if (Vector.IsHardwareAccelerated && x.Length >= Vector<T>.Count)
        {
            var vs = new Vector<T>(s); var vt = new Vector<T>(t);
            for (; i + Vector<T>.Count <= x.Length; i += Vector<T>.Count)
                (new Vector<T>(x.Slice(i)) * vs + vt).CopyTo(y.Slice(i));
        }
        for (; i < x.Length; i++) y[i] = x[i] * s + t;
    }
}
