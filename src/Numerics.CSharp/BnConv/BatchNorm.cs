using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace ResOdeProofs.Numerics.BnConv;

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
/// Means and variances are accumulated in float64 whatever T is, in eight interleaved partial sums (vector lanes)
/// added at the end: the order of the additions differs from a left-to-right sum, by at most M·2⁻⁵³·Σ|terms| in
/// float64, far below float32's rounding (tested against the left-to-right sums).
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
            double mu = Sums(xc, xc, 0, 0, Kind.Sum) / m;
            double v = Sums(xc, xc, mu, 0, Kind.SquaredDeviation);
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
            double mu = mean[c], inv = invStd[c];
            double sdy = Sums(dyc, dyc, 0, 0, Kind.Sum), sdyx = Sums(dyc, xc, mu, inv, Kind.ScaledProduct);
            dGamma[c] = T.CreateTruncating(sdyx); dBeta[c] = T.CreateTruncating(sdy);
            double k = double.CreateTruncating(gamma[c]) * inv;
            // dx = k·(dy − ∂β/M − x̂·∂γ/M) = a·dy + b·x + d.
            T a = T.CreateTruncating(k), b = T.CreateTruncating(-k * inv * sdyx / m), d = T.CreateTruncating(-k * sdy / m + k * inv * sdyx * mu / m);
            int i = 0;
            if (Vector.IsHardwareAccelerated && m >= Vector<T>.Count)
            {
                var va = new Vector<T>(a); var vb = new Vector<T>(b); var vd = new Vector<T>(d);
                for (; i + Vector<T>.Count <= m; i += Vector<T>.Count)
                    (va * new Vector<T>(dyc.Slice(i)) + vb * new Vector<T>(xc.Slice(i)) + vd).CopyTo(dxc.Slice(i));
            }
            for (; i < m; i++) dxc[i] = a * dyc[i] + b * xc[i] + d;
        }
    }

    private enum Kind { Sum, SquaredDeviation, ScaledProduct }

    /// <summary>
    /// In float64, over i: Σ a_i (Sum), Σ (a_i − μ)² (SquaredDeviation) or Σ a_i·(b_i − μ)·s (ScaledProduct), each term
    /// formed exactly as the left-to-right loop forms it; the terms are added in eight interleaved partial sums (two
    /// vectors of four lanes) that are added at the end.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static double Sums<T>(ReadOnlySpan<T> a, ReadOnlySpan<T> b, double mu, double scale, Kind kind) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = a.Length, i = 0;
        double total = 0;
        if (Vector256.IsHardwareAccelerated && (typeof(T) == typeof(float) || typeof(T) == typeof(double)) && n >= 8)
        {
            Vector256<double> s0 = default, s1 = default;
            var vm = Vector256.Create(mu); var vs = Vector256.Create(scale);
            for (; i + 8 <= n; i += 8)
            {
                Wide(a, i, out var a0, out var a1);
                switch (kind)
                {
                    case Kind.Sum: s0 += a0; s1 += a1; break;
                    case Kind.SquaredDeviation: { var d0 = a0 - vm; var d1 = a1 - vm; s0 += d0 * d0; s1 += d1 * d1; break; }
                    default: { Wide(b, i, out var b0, out var b1); s0 += a0 * (b0 - vm) * vs; s1 += a1 * (b1 - vm) * vs; break; }
                }
            }
            total = Vector256.Sum(s0 + s1);
        }
        for (; i < n; i++)
        {
            double ai = double.CreateTruncating(a[i]);
            total += kind switch
            {
                Kind.Sum => ai,
                Kind.SquaredDeviation => (ai - mu) * (ai - mu),
                _ => ai * (double.CreateTruncating(b[i]) - mu) * scale,
            };
        }
        return total;
    }

    /// <summary>Entries i..i+7 of x widened to float64, as two vectors of four.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Wide<T>(ReadOnlySpan<T> x, int i, out Vector256<double> lo, out Vector256<double> hi) where T : unmanaged
    {
        if (typeof(T) == typeof(float))
        {
            (lo, hi) = Vector256.Widen(Vector256.LoadUnsafe(ref MemoryMarshal.GetReference(MemoryMarshal.Cast<T, float>(x)), (nuint)i));
            return;
        }
        ref double r = ref MemoryMarshal.GetReference(MemoryMarshal.Cast<T, double>(x));
        lo = Vector256.LoadUnsafe(ref r, (nuint)i);
        hi = Vector256.LoadUnsafe(ref r, (nuint)(i + 4));
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
