using System.Numerics;
using System.Runtime.CompilerServices;

namespace ResOdeProofs.Numerics.Model;

/// <summary>
/// The per-layer, per-sample sums of magnitudes that the theory layer's rounding allowances read at a snapshot
/// (docs/theorems/RunIntegrity.md: the per-state count of <c>Rounding.stateCountAt</c> and the gradients' scale of
/// <c>RunIntegrity.gradientScales</c>), with the operations of their scalar formulas. Each output entry (a hidden unit j or
/// a coordinate r) is summed from zero over its index in order, one product and one sum per term, no fused multiply–add;
/// for speed the independent entries run side by side in <see cref="Vector{T}"/> lanes, and lanes never mix, so every
/// entry is rounded exactly as the scalar loop rounds it, whatever the vector width (the tests compare the bits with the
/// scalar loops). The sums over entries that follow (Σ_r e_r², Σ_j g_j²) are taken one term at a time in index order,
/// as the scalar loops take them.
/// </summary>
public static class RoundingSums
{
    /// <summary>Scratch length <see cref="StateSquares"/> needs for a layer of width m and dimension d.</summary>
    public static int StateScratch(int m, int d) => 2 * m * d + m + d;

    /// <summary>
    /// For one layer (W m×d and V d×m row-major) and every sample i (state x = the d entries of <paramref name="x"/> at i·d, the
    /// layer's states sample-major as <see cref="LayerRows.Block"/> holds them; σ of its pre-activations z =
    /// <paramref name="z"/>[i] ∈ R^m), squares[i] = Σ_r e_r² in order r = 0..d−1, where
    ///   q_j = gm·|z_j| + s1·(gd·Σ_c |W_jc·x_c| + dEta) + u16·(1 + |z_j|),
    ///   e_r = gm·|x_r| + (Σ_j |V_rj|·q_j)/fL + etaState,
    /// each inner sum from zero over its index in order (c, then j), evaluated left to right as written: the operations of
    /// <c>Rounding.stateCountAt</c>'s loops (dEta = d·η and u16 = 16u formed once by the caller, the same numbers).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void StateSquares(ReadOnlySpan<double> w, ReadOnlySpan<double> v, ReadOnlySpan<double> x, double[][] z, int m, int d,
        double gm, double gd, double s1, double dEta, double u16, double fL, double etaState, Span<double> squares, double[] scratch)
    {
        int n = z.Length, md = m * d;
        if (w.Length < md || v.Length < md || x.Length < (long)n * d || squares.Length < n || scratch.Length < StateScratch(m, d))
            throw new ArgumentException("StateSquares: an operand is too short");
        // |W|ᵀ is not needed: |W_jc·x_c| is formed from the product itself; Wᵀ (d×m) puts the j's of one c side by side
        var wT = scratch.AsSpan(0, md);
        // |V|ᵀ (m×d): the r's of one j side by side
        var vAbsT = scratch.AsSpan(md, md);
        var q = scratch.AsSpan(2 * md, m);
        var e = scratch.AsSpan(2 * md + m, d);
        for (int j = 0; j < m; j++)
            for (int c = 0; c < d; c++) wT[c * m + j] = w[j * d + c];
        for (int r = 0; r < d; r++)
            for (int j = 0; j < m; j++) vAbsT[j * d + r] = Math.Abs(v[r * m + j]);
        bool vec = Vector<double>.IsSupported && Vector.IsHardwareAccelerated;
        int lanes = Vector<double>.Count;
        for (int i = 0; i < n; i++)
        {
            var xi = x.Slice(i * d, d); var zi = z[i];
            if (zi.Length < m) throw new ArgumentException("StateSquares: a sample's σ is too short");
            int j = 0;
            if (vec)
            {
                var vgm = new Vector<double>(gm); var vgd = new Vector<double>(gd); var vs1 = new Vector<double>(s1);
                var vdEta = new Vector<double>(dEta); var vu16 = new Vector<double>(u16); var one = Vector<double>.One;
                for (; j + lanes <= m; j += lanes)
                {
                    var t = Vector<double>.Zero;
                    for (int c = 0; c < d; c++) t = t + Vector.Abs(new Vector<double>(wT.Slice(c * m + j, lanes)) * new Vector<double>(xi[c]));
                    var za = Vector.Abs(new Vector<double>(zi, j));
                    var qj = vgm * za + vs1 * (vgd * t + vdEta) + vu16 * (one + za);
                    qj.CopyTo(q.Slice(j, lanes));
                }
            }
            for (; j < m; j++)
            {
                double t = 0.0;
                for (int c = 0; c < d; c++) t = t + Math.Abs(w[j * d + c] * xi[c]);
                double za = Math.Abs(zi[j]);
                q[j] = gm * za + s1 * (gd * t + dEta) + u16 * (1.0 + za);
            }
            int r = 0;
            if (vec)
            {
                var vgm = new Vector<double>(gm); var vfL = new Vector<double>(fL); var vEta = new Vector<double>(etaState);
                for (; r + lanes <= d; r += lanes)
                {
                    var t = Vector<double>.Zero;
                    for (int jj = 0; jj < m; jj++) t = t + new Vector<double>(vAbsT.Slice(jj * d + r, lanes)) * new Vector<double>(q[jj]);
                    var er = vgm * Vector.Abs(new Vector<double>(xi.Slice(r, lanes))) + t / vfL + vEta;
                    er.CopyTo(e.Slice(r, lanes));
                }
            }
            for (; r < d; r++)
            {
                double t = 0.0;
                for (int jj = 0; jj < m; jj++) t = t + Math.Abs(v[r * m + jj]) * q[jj];
                e[r] = gm * Math.Abs(xi[r]) + t / fL + etaState;
            }
            double sq = 0.0;
            for (int rr = 0; rr < d; rr++) sq = sq + e[rr] * e[rr];
            squares[i] = sq;
        }
    }

    /// <summary>
    /// ‖σ' ⊙ Vᵀp‖² for one layer's V (d×m row-major), one sample's adjoint p ∈ R^d and slopes σ' ∈ R^m: Σ_j g_j² in order
    /// j = 0..m−1, g_j = slopes_j·(Σ_r V_rj·p_r) with the inner sum from zero over r in order: the operations of
    /// <c>RunIntegrity.gradientScalesOf</c>'s loop. <paramref name="scratch"/> holds at least m entries.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static double SlopedAdjointSquare(ReadOnlySpan<double> v, ReadOnlySpan<double> p, ReadOnlySpan<double> slopes, int m, int d, Span<double> scratch)
    {
        if (v.Length < m * d || p.Length < d || slopes.Length < m || scratch.Length < m) throw new ArgumentException("SlopedAdjointSquare: an operand is too short");
        int j = 0;
        if (Vector<double>.IsSupported && Vector.IsHardwareAccelerated)
        {
            int lanes = Vector<double>.Count;
            for (; j + lanes <= m; j += lanes)
            {
                var t = Vector<double>.Zero;
                for (int r = 0; r < d; r++) t = t + new Vector<double>(v.Slice(r * m + j, lanes)) * new Vector<double>(p[r]);
                (new Vector<double>(slopes.Slice(j, lanes)) * t).CopyTo(scratch.Slice(j, lanes));
            }
        }
        for (; j < m; j++)
        {
            double t = 0.0;
            for (int r = 0; r < d; r++) t = t + v[r * m + j] * p[r];
            scratch[j] = slopes[j] * t;
        }
        double g2 = 0.0;
        for (int jj = 0; jj < m; jj++) g2 = g2 + scratch[jj] * scratch[jj];
        return g2;
    }
}
