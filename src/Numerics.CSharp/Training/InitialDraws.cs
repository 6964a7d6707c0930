using ResOdeProofs.Numerics.Random;

namespace ResOdeProofs.Numerics.Training;

/// <summary>
/// The initial draws of every architecture, written once over a parameter layout (parts with sizes and one
/// Gaussian scale each; a part with scale 0 draws nothing and starts at 0): the MLP's (parts W and V,
/// <see cref="Initialization"/>) and any block's (<see cref="BlockInitialization"/>) are cases of it.
/// Draws come from the stream "init" of the seed, in layout order, and do not depend on the storage.
/// </summary>
public static class InitialDraws
{
    /// <summary>Where part q of layer k is stored: a span of sizes[q] entries of the caller's arrays (θ layer after
    /// layer for a block, or the MLP's separate W and V arrays), so that one draw fills either layout.</summary>
    public delegate Span<double> PartSpan(int layer, int part);

    /// <summary>Tied: one draw per part with a nonzero scale (layout order, stream "init"), copied to every layer.</summary>
    public static void Tied(int depth, long seed, double[] scales, PartSpan target)
    {
        var rng = Rng.ForStream(seed, "init");
        for (int q = 0; q < scales.Length; q++) if (scales[q] != 0) rng.FillGaussian(target(0, q), scales[q]);
        for (int k = 1; k < depth; k++)
            for (int q = 0; q < scales.Length; q++) target(0, q).CopyTo(target(k, q));
    }

    /// <summary>Iid: layer after layer, one draw per part with a nonzero scale (stream "init").</summary>
    public static void Iid(int depth, long seed, double[] scales, PartSpan target)
    {
        var rng = Rng.ForStream(seed, "init");
        for (int k = 0; k < depth; k++)
            for (int q = 0; q < scales.Length; q++)
                if (scales[q] != 0) rng.FillGaussian(target(k, q), scales[q]);
    }

    /// <summary>Smooth: the function of depth of <see cref="SmoothDraw"/> sampled at s_k = (k+1)/L; returns Lip_part per part.</summary>
    public static double[] Smooth(int depth, long seed, int[] sizes, double[] scales, int modes, PartSpan target)
    {
        var f = SmoothDraw.Draw(seed, sizes, scales, modes);
        for (int k = 0; k < depth; k++)
            for (int q = 0; q < sizes.Length; q++) f.Sample((k + 1.0) / depth, q, target(k, q));
        return f.Lipschitz;
    }

    /// <summary>The coefficients C₀, C_f, D_f of each part's smooth function of depth (drawn in this order, part
    /// after part, from the stream "init"; a part with scale 0 draws nothing and is 0), and Lip_part.</summary>
    public sealed class SmoothDraw
    {
        private readonly double[][] _c0;
        private readonly double[][][] _c, _d;
        private readonly double[] _scales;
        private readonly int _modes;

        /// <summary>Lip_part = scale·(2π/√F) Σ_f (‖C_f‖_F² + ‖D_f‖_F²)^{1/2} (0 for a part with scale 0).</summary>
        public double[] Lipschitz { get; }

        private SmoothDraw(int parts, double[] scales, int modes)
        {
            _c0 = new double[parts][]; _c = new double[parts][][]; _d = new double[parts][][];
            _scales = scales; _modes = modes; Lipschitz = new double[parts];
        }

        /// <summary>The most modes: 2π·MaxModes ≤ <see cref="PortableMath.TrigArgumentLimit"/>, the largest angle (s = 1).</summary>
        public const int MaxModes = (int)(PortableMath.TrigArgumentLimit / (2 * Math.PI));

        public static SmoothDraw Draw(long seed, int[] sizes, double[] scales, int modes)
        {
            if (modes < 1) throw new ArgumentException("a smooth initialization needs at least one Fourier mode (--modes ≥ 1)");
            if (modes > MaxModes)
                throw new ArgumentException($"a smooth initialization takes at most {MaxModes} Fourier modes (--modes is {modes}): mode f's angle 2πf·s must stay within the range the engine's cosine reduces exactly (|x| ≤ 2²⁰)");
            var rng = Rng.ForStream(seed, "init");
            var r = new SmoothDraw(sizes.Length, scales, modes);
            for (int q = 0; q < sizes.Length; q++)
            {
                if (scales[q] == 0) continue;
                r._c0[q] = new double[sizes[q]]; rng.FillGaussian(r._c0[q]);
                r._c[q] = new double[modes][]; r._d[q] = new double[modes][];
                double sum = 0;
                for (int f = 0; f < modes; f++)
                {
                    r._c[q][f] = new double[sizes[q]]; rng.FillGaussian(r._c[q][f]);
                    r._d[q][f] = new double[sizes[q]]; rng.FillGaussian(r._d[q][f]);
                    double nc = 0, nd = 0;
                    for (int i = 0; i < sizes[q]; i++) { nc += r._c[q][f][i] * r._c[q][f][i]; nd += r._d[q][f][i] * r._d[q][f][i]; }
                    sum += Math.Sqrt(nc + nd);
                }
                r.Lipschitz[q] = scales[q] * 2 * Math.PI * (1.0 / Math.Sqrt(modes)) * sum;
            }
            return r;
        }

        /// <summary>θ⁰_q(s) = scale_q·[C₀ + (1/√F) Σ_f (C_f cos 2πfs + D_f sin 2πfs)/f] into t (0 for a part with scale 0).</summary>
        public void Sample(double s, int q, Span<double> t)
        {
            if (_scales[q] == 0) { t.Clear(); return; }
            double norm = 1.0 / Math.Sqrt(_modes);
            var c0 = _c0[q];
            for (int i = 0; i < t.Length; i++) t[i] = c0[i];
            for (int f = 0; f < _modes; f++)
            {
                double th = 2 * Math.PI * (f + 1) * s, cf = norm * PortableMath.Cos(th) / (f + 1), sf = norm * PortableMath.Sin(th) / (f + 1);
                var c = _c[q][f]; var d = _d[q][f];
                for (int i = 0; i < t.Length; i++) t[i] += cf * c[i] + sf * d[i];
            }
            for (int i = 0; i < t.Length; i++) t[i] *= _scales[q];
        }
    }
}
