using ResOdeProofs.Numerics.Blocks;
using ResOdeProofs.Numerics.Model;
using ResOdeProofs.Numerics.Training;

namespace ResOdeProofs.Numerics.Verification;

/// <summary>
/// What the companions of a block's replay estimate for one segment of another producer's run (docs/theorems/Evidence.md,
/// "Another producer's block run"): per iterate the replay's loss, the tolerance E_i on ‖θ_producer − θ_replay‖_F, the loss
/// allowance and the measured growth, as <see cref="SegmentReplay"/> has them for the MLP.
/// </summary>
public sealed class BlockTolerance
{
    /// <summary>ℓ of the replayed iterates From..To (NaN from the first non-finite one on).</summary>
    public required double[] Losses { get; init; }
    /// <summary>E_i: estimated bound on ‖θ_producer − θ_replay‖_F (all layers) at iterate From + i.</summary>
    public required double[] WeightTolerance { get; init; }
    /// <summary>Allowed |ℓ_recorded − ℓ_replay| at iterate From + i.</summary>
    public required double[] LossTolerance { get; init; }
    /// <summary>Measured growth Π_{l&lt;i} max(1, γ_l) of the tracked direction up to iterate From + i.</summary>
    public required double[] Growth { get; init; }
    /// <summary>θ of the replay at the segment's end (null when it left the finite numbers).</summary>
    public double[]? EndTheta { get; init; }
    /// <summary>False when the replay's parameters or losses became non-finite.</summary>
    public bool Finite { get; init; } = true;
    /// <summary>The largest ‖θ_i‖_F of the replay over the segment (the snapshot's included): the scale the tolerance is
    /// certified against. The MLP takes ‖Z_s‖ of the start; a block may start at θ = 0 (an identity initialization), where a
    /// tolerance relative to the start certifies nothing.</summary>
    public required double StartNorm { get; init; }
    /// <summary>The largest J ≤ To − From such that every prefix of J iterations is certifiable (0: not even one step).</summary>
    public required int CertifiableSpacing { get; init; }
    /// <summary>E at the end is at most <see cref="SegmentReplay.CertifyFraction"/> of the weights' norm (as for the MLP).</summary>
    public bool Certified => Finite && (WeightTolerance.Length == 1 || WeightTolerance[^1] <= SegmentReplay.CertifyFraction * StartNorm);
}

/// <summary>
/// The MLP replay's two rounding companions (<see cref="Replay.Segment"/>) for any block, through its generic pass
/// (<see cref="GenericResNet"/>): beside the replay θ_i, a companion θ' = θ + δ with ‖δ‖ = ε aligned with the first step's most
/// expanded direction and brought back to ε after every step measures each step's expansion γ_l, so that
/// S_{l+1} = max(1, γ_l)S_l + τ·max(‖ηcG_l‖, ηM_l) + u(‖θ_l‖ + ‖ηcG_l‖) (M_l the norm of the gradient's sample terms, from
/// <c>termsNorm</c>; τ the block's relative rounding of one evaluation) bounds the producer's accumulated rounding to first
/// order; a second companion with an error of that size injected into every entry at every step gives a sampled deviation
/// N_i; E_i = 4·max(S_i, N_i). The loss allowance is max(2λE_i, 4|ℓ_noisy − ℓ|) + 2(τℓ + 2√ℓδ + δ²), δ = τĀ‖B‖₂·max‖h‖ (Ā from
/// <c>amplification</c>, the forward pass' growth of an error through the later layers; 1 without it),
/// λ = max(‖G‖/L, |ℓ(θ') − ℓ(θ)|/‖δ‖). An estimate (first order, a measured growth), as the MLP's.
/// </summary>
public static class BlockCompanions
{
    /// <summary>
    /// Runs the replay and its companions over <paramref name="len"/> updates from θ = <paramref name="theta0"/> (clipped per
    /// layer as the trainer clips when <paramref name="clip"/> is given). <paramref name="termsNorm"/>, when given, returns
    /// the norm of the gradient's sample terms from θ and the main network just evaluated (its states and adjoints kept).
    /// </summary>
    public static BlockTolerance Run(IResidualBlock block, int depth, Dataset data, double[]? a, double[]? b, double eta, double? clip,
        ReadOnlySpan<double> theta0, int len, double tau, double u, double bNorm, Func<double[], GenericResNet, double>? termsNorm = null,
        Func<double[], double, double>? amplification = null)
    {
        int P = block.ParameterCount, total = depth * P;
        var net = new GenericResNet(block, depth, data, a, b) { KeepAdjoints = termsNorm is not null };
        var netP = new GenericResNet(block, depth, data, a, b);
        var netN = new GenericResNet(block, depth, data, a, b);
        double[] th = theta0.ToArray(), g = new double[total], gp = new double[total], gn = new double[total];
        double startNorm = GenericResNet.Norm(th);
        double eps = Replay.PerturbationSize * (startNorm > 0 && double.IsFinite(startNorm) ? startNorm : 1.0);
        var delta = new double[total];
        for (int q = 0; q < total; q++) delta[q] = ((uint)q * 2654435761u >> 31) == 0 ? 1.0 : -1.0;
        Rescale(delta, eps);
        var tp = new double[total];
        // align δ with the first step's most expanded direction: power iteration on δ ↦ Φ(θ + δ) − Φ(θ), Φ the update
        if (len > 0)
        {
            net.Evaluate(th, g);
            var next = (double[])th.Clone();
            Step(next, g, depth, P, eta, clip);
            for (int it = 0; it < Replay.AlignSteps; it++)
            {
                for (int q = 0; q < total; q++) tp[q] = th[q] + delta[q];
                netP.Evaluate(tp, gp);
                Step(tp, gp, depth, P, eta, clip);
                for (int q = 0; q < total; q++) delta[q] = tp[q] - next[q];
                if (!Rescale(delta, eps)) break;
            }
        }
        for (int q = 0; q < total; q++) tp[q] = th[q] + delta[q];
        var tn = (double[])th.Clone();
        var losses = new double[len + 1]; var tol = new double[len + 1]; var ltol = new double[len + 1]; var growth = new double[len + 1];
        double floor = Replay.LossEvaluationUnderflow(data.Count, data.OutputDim, "float64");
        double acc = 0, grown = 1, scale = startNorm;
        int spacing = -1;
        bool finite = true;
        ulong noise = 0x9E3779B97F4A7C15UL;
        for (int i = 0; i <= len; i++)
        {
            var st = net.Evaluate(th, g);
            var sp = netP.Evaluate(tp, gp);
            var sn = netN.Evaluate(tn, gn);
            double gnorm = GenericResNet.Norm(g);
            if (!double.IsFinite(st.Loss) || !double.IsFinite(gnorm))
            {
                finite = false;
                foreach (var arr in new[] { losses, tol, ltol, growth }) Array.Fill(arr, double.NaN, i, arr.Length - i);
                break;
            }
            double d = Distance(tp, th), dn = Distance(tn, th);
            losses[i] = st.Loss;
            growth[i] = grown;
            tol[i] = Replay.Safety * Math.Max(acc, dn);
            double lam = Math.Max(gnorm / depth, d > 0 ? Math.Abs(sp.Loss - st.Loss) / d : 0.0);
            // the outputs' error: the roundings of every layer (τ), grown by at most Ā through the later layers
            double amp = amplification?.Invoke(th, st.MaxHiddenNorm) ?? 1.0;
            double dl = tau * amp * bNorm * st.MaxHiddenNorm;
            double rounding = 2 * (tau * Math.Abs(st.Loss) + 2 * Math.Sqrt(Math.Abs(st.Loss)) * dl + dl * dl + floor);
            ltol[i] = Math.Max(2 * lam * tol[i], Replay.Safety * Math.Abs(sn.Loss - st.Loss)) + rounding;
            if (!double.IsFinite(ltol[i]) || !double.IsFinite(tol[i]))
            {
                finite = false;
                foreach (var arr in new[] { losses, tol, ltol, growth }) Array.Fill(arr, double.NaN, i, arr.Length - i);
                break;
            }
            scale = Math.Max(scale, GenericResNet.Norm(th));
            if (spacing < 0 && i > 0 && !(tol[i] <= SegmentReplay.CertifyFraction * scale)) spacing = i - 1;
            if (i == len) break;
            double terms = termsNorm?.Invoke(th, net) ?? double.NaN;
            double zNorm = GenericResNet.Norm(th);
            double stepNorm = Step(th, g, depth, P, eta, clip);
            Step(tp, gp, depth, P, eta, clip);
            Step(tn, gn, depth, P, eta, clip);
            // the noisy companion: an error of the producer's worst-case size in every entry, signs from a fixed xorshift
            // sequence: θ_q += ς(u|θ_q| + ητ|g_q|)
            for (int q = 0; q < total; q++)
            {
                noise ^= noise << 13; noise ^= noise >> 7; noise ^= noise << 17;
                double sign = (noise & 1) == 0 ? 1.0 : -1.0;
                tn[q] += sign * (u * Math.Abs(tn[q]) + eta * tau * Math.Abs(gn[q]));
            }
            double dNext = Distance(tp, th);
            double gamma = d > 0 ? Math.Max(1.0, dNext / d) : 1.0;
            double gradientError = tau * (double.IsFinite(terms) ? Math.Max(stepNorm, eta * terms) : stepNorm);
            acc = gamma * acc + gradientError + u * (zNorm + stepNorm);
            grown *= gamma;
            if (dNext > 0 && double.IsFinite(dNext))
            {
                double f = eps / dNext;
                for (int q = 0; q < total; q++) tp[q] = th[q] + (tp[q] - th[q]) * f;
            }
        }
        if (spacing < 0) spacing = finite ? len : 0;
        return new BlockTolerance
        {
            Losses = losses, WeightTolerance = tol, LossTolerance = ltol, Growth = growth, EndTheta = finite ? th : null,
            Finite = finite, StartNorm = scale, CertifiableSpacing = spacing,
        };
    }

    /// <summary>θ_k ← θ_k − ηc_kG_k, c_k = min(1, C/‖G_k‖) when clipped (the trainer's factor); returns ‖ηcG‖ over all layers.</summary>
    private static double Step(double[] theta, double[] g, int depth, int P, double eta, double? clip)
    {
        double s = 0;
        for (int k = 0; k < depth; k++)
        {
            var gk = g.AsSpan(k * P, P);
            double nrm = GenericResNet.Norm(gk);
            double c = clip is double r && nrm > r ? r / nrm : 1.0;
            double f = eta * c;
            for (int q = 0; q < P; q++) theta[k * P + q] -= f * gk[q];
            s += f * f * nrm * nrm;
        }
        return Math.Sqrt(s);
    }

    private static double Distance(double[] x, double[] y)
    {
        double s = 0;
        for (int q = 0; q < x.Length; q++) { double e = x[q] - y[q]; s += e * e; }
        return Math.Sqrt(s);
    }

    private static bool Rescale(double[] x, double eps)
    {
        double nrm = GenericResNet.Norm(x);
        if (!(nrm > 0) || !double.IsFinite(nrm)) return false;
        double f = eps / nrm;
        for (int q = 0; q < x.Length; q++) x[q] *= f;
        return true;
    }
}
