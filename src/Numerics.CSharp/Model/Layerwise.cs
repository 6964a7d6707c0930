using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace ResOdeProofs.Numerics.Model;

/// <summary>
/// Every intermediate quantity of one forward and backward pass at fixed weights, kept layer by
/// layer for the theory layer's lemma checks (h_k^i, p_k^i, G_k; the pre-activations and σ of them formed again from the
/// states on request, <see cref="PreActivations"/>). It is a
/// double-precision implementation written directly from the formulas (see <see cref="ResNet{T}"/>),
/// independent of the engine's kernels (no GEMM, none of the engine's activation kernels, no threads, no checkpointing),
/// so it doubles as the reference path that the fast engine is compared with.
/// <para>
/// Every sum is taken term by term in the order of its formula (over c for W h, over j for V σ and Wᵀq,
/// over r for Vᵀp, over the samples i for the gradients), from zero, one rounding per term, and σ, σ' come
/// from the accurate scalar code of <see cref="Activations.Evaluate(ActivationKind, ReadOnlySpan{double}, Span{double}, Span{double})"/>
/// (GELU's four entries at a time, each with the scalar code's operations: <c>GeluLanes</c>).
/// For speed the independent sums run side by side in vector lanes: over the samples for the states and
/// adjoints (kept feature-major, one row of n samples per coordinate), over the output coordinates for the
/// gradients. Lanes never mix, so each entry is rounded exactly as the scalar formula would round it. Every such
/// sum is one <see cref="MultiplyOrdered"/> of a layer matrix (or its transpose, copied) and a block of rows: each
/// entry summed from zero over its index in order with the running sums kept in registers, the operations of clearing
/// the rows and adding scaled rows one at a time (y ← y + α·x, one product and one sum per entry), so the same bits.
/// </para>
/// Indices: k = 0..L for h and p (h[k] is h_k), layer k = 1..L stored at index k − 1 for the rest.
/// </summary>
public sealed class Layerwise
{
    /// <summary>H[k][i] = h_k^i ∈ R^d, k = 0..L (one array for every layer and sample: <see cref="StateRows"/>).</summary>
    public required StateRows H { get; init; }
    /// <summary>P[k][i] = ∂ℓ/∂h_k^i ∈ R^d, k = 0..L (one array for every layer and sample: <see cref="StateRows"/>).</summary>
    public required StateRows P { get; init; }
    /// <summary>The weights W (L·m·d) the pass was evaluated at (a copy), from which <see cref="PreActivations"/> forms the
    /// pre-activations again.</summary>
    private double[] W { get; init; } = [];
    private NetworkShape Shape { get; init; } = null!;
    private ActivationKind Activation { get; init; }
    /// <summary>G^W_k = L·∂ℓ/∂W_k (m×d row-major), at index k − 1.</summary>
    public required double[][] GW { get; init; }
    /// <summary>G^V_k = L·∂ℓ/∂V_k (d×m row-major), at index k − 1.</summary>
    public required double[][] GV { get; init; }
    /// <summary>max_{i,j} |(V_kᵀ p_k^i)_j| at index k − 1 (the sums over r = 0..d−1 the backward pass forms anyway).</summary>
    public required double[] VtPMax { get; init; }
    /// <summary>ℓ = (1/n) Σ_i ‖B h_L^i − y_i‖².</summary>
    public required double Loss { get; init; }

    /// <summary>
    /// The pre-activations W_k h_{k−1}^i and σ of them of every layer and sample, formed again from <see cref="H"/> and the
    /// weights with the operations of <see cref="Evaluate"/>'s forward pass (the same ordered sums of the same states, the
    /// same <see cref="Activations.Evaluate(ActivationKind, ReadOnlySpan{double}, Span{double}, Span{double})"/>), so the
    /// same numbers that pass computed. They are not kept by the pass: at L = 1024, n = 100, m = 32 they are 60 MB a
    /// snapshot in 200 000 small arrays, which every snapshot of a verify kept alive for the whole verify while only a few
    /// checks read them, once each; forming them costs a small part of the pass (no backward pass, no gradient). Each call
    /// returns fresh arrays (a caller keeps them while it reads them). <paramref name="withSigma"/> false: the
    /// pre-activations only (<see cref="LayerActivations.Sigma"/> empty), for a reader of them alone (σ is most of the cost).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public LayerActivations PreActivations(bool withSigma = true)
    {
        int L = Shape.Depth, m = Shape.Width, d = Shape.Dim, md = m * d, n = H.Samples;
        var pre = new double[L][][]; var sigma = withSigma ? new double[L][][] : [];
        var hT = new double[d * n]; var uT = new double[m * n]; var sk = new double[m * n]; var dk = new double[m * n];
        for (int k = 1; k <= L; k++)
        {
            ToFeatureMajor(H.Layer(k - 1), hT, d, n);
            MultiplyOrdered(W.AsSpan((k - 1) * md, md), m, d, hT, n, uT);
            pre[k - 1] = ToSampleMajor(uT, m, n);
            if (!withSigma) continue;
            Activations.Evaluate(Activation, uT, sk, dk);
            sigma[k - 1] = ToSampleMajor(sk, m, n);
        }
        return new LayerActivations(pre, sigma);
    }

    /// <summary>Called by <see cref="VisitLayers"/> with the layer's index k − 1 and its pre-activations and σ of them,
    /// pre[i] = W_k h_{k−1}^i and sigma[i] = σ(pre[i]) (arrays valid only during the call).</summary>
    public delegate void LayerVisitor(int layer, double[][] pre, double[][] sigma);

    /// <summary>Called by <see cref="VisitLayersWithSlopes"/> as <see cref="LayerVisitor"/> is, with σ' of the pre-activations
    /// besides, slopes[i] = σ'(pre[i]) (arrays valid only during the call).</summary>
    public delegate void SlopedLayerVisitor(int layer, double[][] pre, double[][] sigma, double[][] slopes);

    /// <summary>
    /// The pre-activations and σ of them of <see cref="PreActivations"/> (the same numbers, formed the same way), handed to
    /// <paramref name="visit"/> one layer at a time, k = 1..L in order, in arrays reused from layer to layer: for a reader
    /// that needs one layer at a time (a range, per-layer norms), without the L·n·2 arrays the whole set takes.
    /// </summary>
    public void VisitLayers(LayerVisitor visit) => Visit(visit, null);

    /// <summary>
    /// <see cref="VisitLayers"/> with σ' of every pre-activation as well: the numbers
    /// <see cref="Activations.Evaluate(ActivationKind, ReadOnlySpan{double}, Span{double}, Span{double})"/> gives beside σ in
    /// the same call, which are those of <see cref="Activations.Derivatives(ActivationKind, ReadOnlySpan{double}, Span{double})"/>
    /// (both the scalar σ' of every entry), so a reader of σ' does not evaluate it a second time.
    /// </summary>
    public void VisitLayersWithSlopes(SlopedLayerVisitor visit) => Visit(null, visit);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Visit(LayerVisitor? plain, SlopedLayerVisitor? sloped)
    {
        int L = Shape.Depth, m = Shape.Width, d = Shape.Dim, md = m * d, n = H.Samples;
        var hT = new double[d * n]; var uT = new double[m * n]; var sk = new double[m * n]; var dk = new double[m * n];
        var pre = new double[n][]; var sigma = new double[n][]; var slopes = sloped is null ? [] : new double[n][];
        for (int i = 0; i < n; i++) { pre[i] = new double[m]; sigma[i] = new double[m]; if (sloped is not null) slopes[i] = new double[m]; }
        for (int k = 1; k <= L; k++)
        {
            ToFeatureMajor(H.Layer(k - 1), hT, d, n);
            MultiplyOrdered(W.AsSpan((k - 1) * md, md), m, d, hT, n, uT);
            Activations.Evaluate(Activation, uT, sk, dk);
            ToSampleMajorInto(uT, pre, m, n);
            ToSampleMajorInto(sk, sigma, m, n);
            if (sloped is null) plain!(k - 1, pre, sigma);
            else
            {
                ToSampleMajorInto(dk, slopes, m, n);
                sloped(k - 1, pre, sigma, slopes);
            }
        }
    }

    /// <summary>
    /// Evaluates everything at weights W (L·m·d), V (L·d·m). <paramref name="storeLayers"/>: keep σ(u_k) and σ'(u_k) of every
    /// layer from the forward pass for the backward pass (2·L·m·n doubles), or form them again there, layer by layer, from the
    /// kept states h_{k−1} with the forward pass' operations (the same bits, at one more ordered product and activation a
    /// layer); null: keep them when they take at most <see cref="EngineOptions.StorageBudgetBytes"/>, the budget
    /// above which the engine stops storing every layer's activations (L = 16 384, n = 100, m = 32: 839 MB a pass, held once
    /// per pass running at once and then kept by the pool for the process).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static Layerwise Evaluate(NetworkShape s, ActivationKind act, Dataset data, double[]? a, double[]? b,
        ReadOnlySpan<double> w, ReadOnlySpan<double> v, bool? storeLayers = null)
    {
        int L = s.Depth, m = s.Width, d = s.Dim, n = data.Count, md = m * d, dIn = s.InputDim, dOut = s.OutputDim;
        // h_k^i and p_k^i of every layer and sample in one array each ((L + 1)·n·d, sample-major by layer: StateRows), filled
        // layer by layer from the feature-major work rows below: two large arrays instead of 2·(L + 1)·n small ones, which
        // the collector kept copying from generation to generation while a verify holds every snapshot's pass
        // (docs/performance.md)
        long entries = (long)(L + 1) * n * d;
        if (entries > Array.MaxLength)
            throw new InsufficientMemoryException($"the reference pass keeps (L + 1)·n·d = {entries} states, more than one array holds ({Array.MaxLength})");
        var hAll = new double[entries]; var pAll = new double[entries];
        int nd = n * d;
        // Feature-major work rows: xT[c·n + i] is coordinate c of sample i.
        var hT = new double[d * n]; var uT = new double[m * n]; var tmp = new double[Math.Max(d, m) * n];
        // σ'(u_k) and σ(u_k) of every layer (feature-major, layer k at (k − 1)·m·n), kept from the forward pass for the
        // backward pass only: a buffer taken from a shared pool and given back at the end, reused by the next evaluation on
        // any thread (a verify evaluates one per snapshot, on whichever pool thread is free; fresh memory for each cost more
        // than the pass). Every entry the pass reads is written first (the forward pass fills both halves layer by layer),
        // so what the buffer held before changes no number.
        // (a pass that throws does not give it back: the pool makes another when it runs short)
        bool stores = storeLayers ?? 2L * L * m * n * sizeof(double) <= EngineOptions.StorageBudgetBytes;
        // layer k's σ'(u_k), σ(u_k) at (k − 1)·m·n when kept, else in the one layer's room the backward pass fills again
        int kept = stores ? L : 1;
        int at(int k) => stores ? (k - 1) * m * n : 0;
        var buffer = RentDerivativeBuffer(2 * kept * m * n);
        var dsig = buffer.AsMemory(0, kept * m * n); var sig = buffer.AsMemory(kept * m * n, kept * m * n);
        for (int i = 0; i < n; i++)
        {
            var h0 = hAll.AsSpan(i * d, d);
            for (int r = 0; r < d; r++)
            {
                if (a is null) { h0[r] = data.X[i * dIn + r]; continue; }
                double acc = 0;
                for (int c = 0; c < dIn; c++) acc += a[r * dIn + c] * data.X[i * dIn + c];
                h0[r] = acc;
            }
        }
        ToFeatureMajor(hAll.AsSpan(0, nd), hT, d, n);
        double depth = L;
        for (int k = 1; k <= L; k++)
        {
            var wk = w.Slice((k - 1) * md, md); var vk = v.Slice((k - 1) * md, md);
            // u_j = Σ_c W[j,c] h_c
            MultiplyOrdered(wk, m, d, hT, n, uT);
            var dk = dsig.Span.Slice(at(k), m * n);
            var sk = sig.Span.Slice(at(k), m * n);
            Activations.Evaluate(act, uT, sk, dk);
            // h_k = h_{k−1} + (Σ_j V[r,j] σ_j) / L
            MultiplyOrdered(vk, d, m, sk, n, tmp);
            AddDivided(tmp.AsSpan(0, d * n), depth, hT);
            ToSampleMajorInto(hT, hAll.AsSpan(k * nd, nd), d, n);
        }
        double loss = 0;
        var res = new double[dOut];
        for (int i = 0; i < n; i++)
        {
            var hl = hAll.AsSpan(L * nd + i * d, d);
            for (int o = 0; o < dOut; o++)
            {
                double bh;
                if (b is null) bh = hl[o];
                else
                {
                    bh = 0;
                    for (int c = 0; c < d; c++) bh += b[o * d + c] * hl[c];
                }
                res[o] = bh - data.Y[i * dOut + o];
            }
            double sq = 0;
            for (int o = 0; o < dOut; o++) sq += res[o] * res[o];
            loss += sq;
            var pl = pAll.AsSpan(L * nd + i * d, d);
            for (int c = 0; c < d; c++)
            {
                double br;
                if (b is null) br = res[c];
                else
                {
                    br = 0;
                    for (int o = 0; o < dOut; o++) br += b[o * d + c] * res[o];
                }
                pl[c] = 2.0 / n * br;
            }
        }
        var gw = new double[L][]; var gv = new double[L][]; var vtpMax = new double[L];
        var pT = new double[d * n]; var qT = new double[m * n];
        // Vᵀ_k and Wᵀ_k (copies), and σ_k of every sample as one sample-major block: the factors of the sums below (h_{k−1} of
        // every sample is such a block already, layer k − 1 of the states)
        var vkT = new double[md]; var wkT = new double[md]; var sigRows = new double[n * m];
        ToFeatureMajor(pAll.AsSpan(L * nd, nd), pT, d, n);
        for (int k = L; k >= 1; k--)
        {
            var wk = w.Slice((k - 1) * md, md); var vk = v.Slice((k - 1) * md, md);
            var dk = dsig.Span.Slice(at(k), m * n);
            if (!stores)
            {
                // u_k = W_k h_{k−1} and σ, σ' of it formed again: h_{k−1} feature-major (the rows the forward pass multiplied,
                // moved, not computed), the same ordered sums and activation, so the forward pass' bits
                ToFeatureMajor(hAll.AsSpan((k - 1) * nd, nd), hT, d, n);
                MultiplyOrdered(wk, m, d, hT, n, uT);
                Activations.Evaluate(act, uT, sig.Span.Slice(0, m * n), dk);
            }
            var gwk = gw[k - 1] = new double[md]; var gvk = gv[k - 1] = new double[md];
            // a_j = Σ_r V[r,j] p_r, q_j = σ'(u_j)·a_j
            for (int r = 0; r < d; r++)
                for (int j = 0; j < m; j++) vkT[j * d + r] = vk[r * m + j];
            MultiplyOrdered(vkT, m, d, pT, n, qT);
            vtpMax[k - 1] = MaxAbs(qT);
            Multiply(dk, qT);
            // G^V[r,:] = Σ_i p_i[r] σ_i, G^W[j,:] = Σ_i q_i[j] h_{k−1,i}: samples in order, lanes over the row
            // (pT holds p_k feature-major: row r is p_i[r] over the samples i; qT likewise q)
            FeatureToRows(sig.Span.Slice(at(k), m * n), sigRows, m, n);
            MultiplyOrdered(pT, d, n, sigRows, m, gvk);
            MultiplyOrdered(qT, m, n, hAll.AsSpan((k - 1) * nd, nd), d, gwk);
            // p_{k−1} = p_k + (Σ_j W[j,c] q_j) / L
            for (int j = 0; j < m; j++)
                for (int c = 0; c < d; c++) wkT[c * m + j] = wk[j * d + c];
            MultiplyOrdered(wkT, d, m, qT, n, tmp);
            AddDivided(tmp.AsSpan(0, d * n), depth, pT);
            ToSampleMajorInto(pT, pAll.AsSpan((k - 1) * nd, nd), d, n);
        }
        ReturnDerivativeBuffer(buffer);
        return new Layerwise { H = new StateRows(hAll, L + 1, n, d), P = new StateRows(pAll, L + 1, n, d), W = w.ToArray(), Shape = s, Activation = act, GW = gw, GV = gv, VtPMax = vtpMax, Loss = loss / n };
    }

    /// <summary>
    /// The buffers for σ and σ' of every layer that evaluations have given back (<see cref="RentDerivativeBuffer"/>): as many
    /// as evaluations ran at once. They were one per thread before, and a verify's evaluations land on several thread-pool
    /// threads in turn (the snapshots in parallel, the references beside the replay), each of which then made its own
    /// (26 MB at L = 512, n = 100, m = 32), once per thread, in fresh pages.
    /// </summary>
    private static readonly System.Collections.Concurrent.ConcurrentBag<double[]> s_derivativeBuffers = new();

    /// <summary>A buffer of at least <paramref name="length"/> entries from the pool (one too short is dropped), or a new one.</summary>
    private static double[] RentDerivativeBuffer(int length)
    {
        while (s_derivativeBuffers.TryTake(out var b))
            if (b.Length >= length) return b;
        return new double[length];
    }

    private static void ReturnDerivativeBuffer(double[] b) => s_derivativeBuffers.Add(b);

    /// <summary>
    /// pre[j] = Σ_c W[j,c]·h[c] and sums[j] = Σ_c |W[j,c]·h[c]| for a layer's W (m×d) given transposed (<paramref name="wT"/>,
    /// d×m row-major) and a state h (length d): each sum from zero over c in order, one product (the same product for both),
    /// one sum per term and, for <paramref name="sums"/>, the product's absolute value: the operations of the scalar loop
    /// over c for each j (lanes over j), so its bits. <paramref name="pre"/> is the pre-activation of <see cref="Evaluate"/>'s
    /// forward pass bit for bit (its <see cref="MultiplyOrdered"/> forms each entry from zero over c in order, one product
    /// W[j,c]·h[c] and one sum per term, no fused multiply-add; a product of two doubles does not depend on their order);
    /// <paramref name="sums"/> is the magnitude of its terms, whose multiple bounds the pre-activation's rounding
    /// (docs/theorems/RunIntegrity.md, step 2). One sample at a time, without the pre-activations of every layer and sample.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void ProductSums(ReadOnlySpan<double> wT, int d, int m, ReadOnlySpan<double> h, Span<double> pre, Span<double> sums)
    {
        if (wT.Length < d * m || h.Length < d || pre.Length < m || sums.Length < m) throw new ArgumentException("ProductSums: an operand is too short");
        int j = 0;
        if (Vector<double>.IsSupported && Vector.IsHardwareAccelerated)
        {
            int lanes = Vector<double>.Count;
            for (; j + lanes <= m; j += lanes)
            {
                var acc = Vector<double>.Zero; var abs = Vector<double>.Zero;
                for (int c = 0; c < d; c++)
                {
                    var t = new Vector<double>(wT.Slice(c * m + j, lanes)) * new Vector<double>(h[c]);
                    acc = acc + t;
                    abs = abs + Vector.Abs(t);
                }
                acc.CopyTo(pre.Slice(j, lanes));
                abs.CopyTo(sums.Slice(j, lanes));
            }
        }
        for (; j < m; j++)
        {
            double acc = 0.0, abs = 0.0;
            for (int c = 0; c < d; c++)
            {
                double t = wT[c * m + j] * h[c];
                acc = acc + t;
                abs = abs + Math.Abs(t);
            }
            pre[j] = acc;
            sums[j] = abs;
        }
    }

    /// <summary>
    /// C = A·B for A (rows × inner), B (inner × cols) and C (rows × cols), all row-major: every entry C[r,c] is the sum
    /// from zero, over q in order, of A[r,q]·B[q,c], one product and one sum per term (no fused multiply-add): the
    /// operations of clearing C and then adding A[r,q]·(row q of B) to row r of C for q in order, so the same bits, with
    /// the sums kept in registers across q instead of being stored and loaded again for every q. Two rows are formed
    /// together (up to four vectors of columns each, eight independent chains of sums sharing every load of B: one row's
    /// four chains leave the adder waiting on its own latency), then a last odd row alone; the order of each entry's sum
    /// is the same whichever rows share the registers. This pass's own sums, the secant factors' d×d products and the
    /// reference products with a vector (theory layer, <c>Secant.propagationFactors</c>, <c>Secant.times</c>), the
    /// Jacobian products of the rounding allowance (<c>LayerJacobian</c>), the reference ODE's right-hand side.
    /// On a machine with 512-bit vectors the columns are taken eight at a time (<see cref="MultiplyOrdered512"/>), else
    /// <see cref="Vector{T}"/>'s width at a time (<see cref="MultiplyOrderedNarrow"/>): each lane does one entry's operations,
    /// so the bits do not depend on the width.
    /// </summary>
    public static void MultiplyOrdered(ReadOnlySpan<double> a, int rows, int inner, ReadOnlySpan<double> b, int cols, Span<double> c)
    {
        if (Vector512.IsHardwareAccelerated) MultiplyOrdered512(a, rows, inner, b, cols, c);
        else MultiplyOrderedNarrow(a, rows, inner, b, cols, c);
    }

    /// <summary><see cref="MultiplyOrdered"/> on 512-bit vectors. Rows four at a time in blocks of four, two and one vectors
    /// of columns (sixteen, eight and four chains of sums, each load of B shared by the four rows: a width of 16 columns,
    /// d = 16, taken two rows at a time would leave the adder waiting on its latency), then the columns after the last whole
    /// vector four, two and one at a time (<see cref="TailColumns"/>); the rows left over two at a time (blocks of four and
    /// one vectors), then one at a time. B is read through a reference moved by one row each inner step. Taken by
    /// <see cref="MultiplyOrdered"/> on a machine that accelerates 512-bit vectors; the tests and the benchmark also call it
    /// directly there, beside <see cref="MultiplyOrderedNarrow"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void MultiplyOrdered512(ReadOnlySpan<double> a, int rows, int inner, ReadOnlySpan<double> b, int cols, Span<double> c)
    {
        if (a.Length < rows * inner || b.Length < inner * cols || c.Length < rows * cols) throw new ArgumentException("MultiplyOrdered: a span is shorter than its shape");
        const int w = 8;
        nint step = cols;   // B's row stride: each inner loop moves its reference into B by one row a step
        ref double a0 = ref MemoryMarshal.GetReference(a);
        ref double b0 = ref MemoryMarshal.GetReference(b);
        ref double c0 = ref MemoryMarshal.GetReference(c);
        int r = 0;
        for (; r + 4 <= rows; r += 4)
        {
            int col = 0;
            for (; col + 4 * w <= cols; col += 4 * w)
            {
                // four rows × four vectors: sixteen chains, each load of B shared by four rows (21 of the 32 vector registers)
                ref double ar0 = ref Unsafe.Add(ref a0, r * inner);
                ref double ar1 = ref Unsafe.Add(ref ar0, inner);
                ref double ar2 = ref Unsafe.Add(ref ar1, inner);
                ref double ar3 = ref Unsafe.Add(ref ar2, inner);
                Vector512<double> s0 = Vector512<double>.Zero, s1 = s0, s2 = s0, s3 = s0, t0 = s0, t1 = s0, t2 = s0, t3 = s0;
                Vector512<double> u0 = s0, u1 = s0, u2 = s0, u3 = s0, v0 = s0, v1 = s0, v2 = s0, v3 = s0;
                ref double bq = ref Unsafe.Add(ref b0, col);
                for (int q = 0; q < inner; q++, bq = ref Unsafe.Add(ref bq, step))
                {
                    var b0v = Vector512.LoadUnsafe(ref bq); var b1v = Vector512.LoadUnsafe(ref bq, (nuint)w);
                    var b2v = Vector512.LoadUnsafe(ref bq, (nuint)(2 * w)); var b3v = Vector512.LoadUnsafe(ref bq, (nuint)(3 * w));
                    var x = Vector512.Create(Unsafe.Add(ref ar0, q));
                    s0 = s0 + x * b0v; s1 = s1 + x * b1v; s2 = s2 + x * b2v; s3 = s3 + x * b3v;
                    x = Vector512.Create(Unsafe.Add(ref ar1, q));
                    t0 = t0 + x * b0v; t1 = t1 + x * b1v; t2 = t2 + x * b2v; t3 = t3 + x * b3v;
                    x = Vector512.Create(Unsafe.Add(ref ar2, q));
                    u0 = u0 + x * b0v; u1 = u1 + x * b1v; u2 = u2 + x * b2v; u3 = u3 + x * b3v;
                    x = Vector512.Create(Unsafe.Add(ref ar3, q));
                    v0 = v0 + x * b0v; v1 = v1 + x * b1v; v2 = v2 + x * b2v; v3 = v3 + x * b3v;
                }
                ref double cr = ref Unsafe.Add(ref c0, r * cols + col);
                s0.StoreUnsafe(ref cr); s1.StoreUnsafe(ref cr, (nuint)w); s2.StoreUnsafe(ref cr, (nuint)(2 * w)); s3.StoreUnsafe(ref cr, (nuint)(3 * w));
                cr = ref Unsafe.Add(ref cr, cols);
                t0.StoreUnsafe(ref cr); t1.StoreUnsafe(ref cr, (nuint)w); t2.StoreUnsafe(ref cr, (nuint)(2 * w)); t3.StoreUnsafe(ref cr, (nuint)(3 * w));
                cr = ref Unsafe.Add(ref cr, cols);
                u0.StoreUnsafe(ref cr); u1.StoreUnsafe(ref cr, (nuint)w); u2.StoreUnsafe(ref cr, (nuint)(2 * w)); u3.StoreUnsafe(ref cr, (nuint)(3 * w));
                cr = ref Unsafe.Add(ref cr, cols);
                v0.StoreUnsafe(ref cr); v1.StoreUnsafe(ref cr, (nuint)w); v2.StoreUnsafe(ref cr, (nuint)(2 * w)); v3.StoreUnsafe(ref cr, (nuint)(3 * w));
            }
            for (; col + 2 * w <= cols; col += 2 * w)
            {
                ref double ar0 = ref Unsafe.Add(ref a0, r * inner);
                ref double ar1 = ref Unsafe.Add(ref ar0, inner);
                ref double ar2 = ref Unsafe.Add(ref ar1, inner);
                ref double ar3 = ref Unsafe.Add(ref ar2, inner);
                Vector512<double> s0 = Vector512<double>.Zero, s1 = s0, t0 = s0, t1 = s0, u0 = s0, u1 = s0, v0 = s0, v1 = s0;
                ref double bq = ref Unsafe.Add(ref b0, col);
                for (int q = 0; q < inner; q++, bq = ref Unsafe.Add(ref bq, step))
                {
                    var b0v = Vector512.LoadUnsafe(ref bq); var b1v = Vector512.LoadUnsafe(ref bq, (nuint)w);
                    var x = Vector512.Create(Unsafe.Add(ref ar0, q)); var y = Vector512.Create(Unsafe.Add(ref ar1, q));
                    var z = Vector512.Create(Unsafe.Add(ref ar2, q)); var o = Vector512.Create(Unsafe.Add(ref ar3, q));
                    s0 = s0 + x * b0v; s1 = s1 + x * b1v; t0 = t0 + y * b0v; t1 = t1 + y * b1v;
                    u0 = u0 + z * b0v; u1 = u1 + z * b1v; v0 = v0 + o * b0v; v1 = v1 + o * b1v;
                }
                ref double cr = ref Unsafe.Add(ref c0, r * cols + col);
                s0.StoreUnsafe(ref cr); s1.StoreUnsafe(ref cr, (nuint)w);
                t0.StoreUnsafe(ref cr, (nuint)cols); t1.StoreUnsafe(ref cr, (nuint)(cols + w));
                u0.StoreUnsafe(ref cr, (nuint)(2 * cols)); u1.StoreUnsafe(ref cr, (nuint)(2 * cols + w));
                v0.StoreUnsafe(ref cr, (nuint)(3 * cols)); v1.StoreUnsafe(ref cr, (nuint)(3 * cols + w));
            }
            for (; col + w <= cols; col += w)
            {
                ref double ar0 = ref Unsafe.Add(ref a0, r * inner);
                ref double ar1 = ref Unsafe.Add(ref ar0, inner);
                ref double ar2 = ref Unsafe.Add(ref ar1, inner);
                ref double ar3 = ref Unsafe.Add(ref ar2, inner);
                Vector512<double> s0 = Vector512<double>.Zero, t0 = s0, u0 = s0, v0 = s0;
                ref double bq = ref Unsafe.Add(ref b0, col);
                for (int q = 0; q < inner; q++, bq = ref Unsafe.Add(ref bq, step))
                {
                    var bv = Vector512.LoadUnsafe(ref bq);
                    s0 = s0 + Vector512.Create(Unsafe.Add(ref ar0, q)) * bv; t0 = t0 + Vector512.Create(Unsafe.Add(ref ar1, q)) * bv;
                    u0 = u0 + Vector512.Create(Unsafe.Add(ref ar2, q)) * bv; v0 = v0 + Vector512.Create(Unsafe.Add(ref ar3, q)) * bv;
                }
                ref double cr = ref Unsafe.Add(ref c0, r * cols + col);
                s0.StoreUnsafe(ref cr); t0.StoreUnsafe(ref cr, (nuint)cols);
                u0.StoreUnsafe(ref cr, (nuint)(2 * cols)); v0.StoreUnsafe(ref cr, (nuint)(3 * cols));
            }
            for (int rr = r; rr < r + 4; rr++) TailColumns(ref Unsafe.Add(ref a0, rr * inner), inner, ref b0, cols, col, ref Unsafe.Add(ref c0, rr * cols));
        }
        for (; r + 2 <= rows; r += 2)
        {
            ref double ar0 = ref Unsafe.Add(ref a0, r * inner);
            ref double ar1 = ref Unsafe.Add(ref a0, (r + 1) * inner);
            int col = 0;
            for (; col + 4 * w <= cols; col += 4 * w)
            {
                Vector512<double> s0 = Vector512<double>.Zero, s1 = s0, s2 = s0, s3 = s0, t0 = s0, t1 = s0, t2 = s0, t3 = s0;
                ref double bq = ref Unsafe.Add(ref b0, col);
                for (int q = 0; q < inner; q++, bq = ref Unsafe.Add(ref bq, step))
                {
                    var b0v = Vector512.LoadUnsafe(ref bq); var b1v = Vector512.LoadUnsafe(ref bq, (nuint)w);
                    var b2v = Vector512.LoadUnsafe(ref bq, (nuint)(2 * w)); var b3v = Vector512.LoadUnsafe(ref bq, (nuint)(3 * w));
                    var x = Vector512.Create(Unsafe.Add(ref ar0, q));
                    var y = Vector512.Create(Unsafe.Add(ref ar1, q));
                    s0 = s0 + x * b0v; s1 = s1 + x * b1v; s2 = s2 + x * b2v; s3 = s3 + x * b3v;
                    t0 = t0 + y * b0v; t1 = t1 + y * b1v; t2 = t2 + y * b2v; t3 = t3 + y * b3v;
                }
                ref double cr = ref Unsafe.Add(ref c0, r * cols + col);
                s0.StoreUnsafe(ref cr); s1.StoreUnsafe(ref cr, (nuint)w); s2.StoreUnsafe(ref cr, (nuint)(2 * w)); s3.StoreUnsafe(ref cr, (nuint)(3 * w));
                cr = ref Unsafe.Add(ref cr, cols);
                t0.StoreUnsafe(ref cr); t1.StoreUnsafe(ref cr, (nuint)w); t2.StoreUnsafe(ref cr, (nuint)(2 * w)); t3.StoreUnsafe(ref cr, (nuint)(3 * w));
            }
            for (; col + w <= cols; col += w)
            {
                Vector512<double> s0 = Vector512<double>.Zero, t0 = s0;
                ref double bq = ref Unsafe.Add(ref b0, col);
                for (int q = 0; q < inner; q++, bq = ref Unsafe.Add(ref bq, step))
                {
                    var bv = Vector512.LoadUnsafe(ref bq);
                    s0 = s0 + Vector512.Create(Unsafe.Add(ref ar0, q)) * bv;
                    t0 = t0 + Vector512.Create(Unsafe.Add(ref ar1, q)) * bv;
                }
                s0.StoreUnsafe(ref c0, (nuint)(r * cols + col));
                t0.StoreUnsafe(ref c0, (nuint)((r + 1) * cols + col));
            }
            TailColumns(ref ar0, inner, ref b0, cols, col, ref Unsafe.Add(ref c0, r * cols));
            TailColumns(ref ar1, inner, ref b0, cols, col, ref Unsafe.Add(ref c0, (r + 1) * cols));
        }
        for (; r < rows; r++)
        {
            ref double ar = ref Unsafe.Add(ref a0, r * inner);
            ref double cr = ref Unsafe.Add(ref c0, r * cols);
            int col = 0;
            for (; col + w <= cols; col += w)
            {
                var s0 = Vector512<double>.Zero;
                ref double bq = ref Unsafe.Add(ref b0, col);
                for (int q = 0; q < inner; q++, bq = ref Unsafe.Add(ref bq, step))
                    s0 = s0 + Vector512.Create(Unsafe.Add(ref ar, q)) * Vector512.LoadUnsafe(ref bq);
                s0.StoreUnsafe(ref cr, (nuint)col);
            }
            TailColumns(ref ar, inner, ref b0, cols, col, ref cr);
        }
    }

    /// <summary>Columns <paramref name="from"/>..cols − 1 of one row after the 512-bit columns (fewer than eight): four in
    /// 256-bit lanes, then two in 128-bit lanes, then one by <see cref="ScalarColumns"/>. Each lane does its entry's
    /// operations (a product and a sum per term, in order of the inner index, from +0): the scalar loop's bits.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void TailColumns(ref double ar, int inner, ref double b0, int cols, int from, ref double cr)
    {
        int col = from;
        nint step = cols;
        if (col + 4 <= cols)
        {
            var s0 = Vector256<double>.Zero;
            ref double bq = ref Unsafe.Add(ref b0, col);
            for (int q = 0; q < inner; q++, bq = ref Unsafe.Add(ref bq, step))
                s0 = s0 + Vector256.Create(Unsafe.Add(ref ar, q)) * Vector256.LoadUnsafe(ref bq);
            s0.StoreUnsafe(ref cr, (nuint)col);
            col += 4;
        }
        if (col + 2 <= cols)
        {
            var s0 = Vector128<double>.Zero;
            ref double bq = ref Unsafe.Add(ref b0, col);
            for (int q = 0; q < inner; q++, bq = ref Unsafe.Add(ref bq, step))
                s0 = s0 + Vector128.Create(Unsafe.Add(ref ar, q)) * Vector128.LoadUnsafe(ref bq);
            s0.StoreUnsafe(ref cr, (nuint)col);
            col += 2;
        }
        ScalarColumns(ref ar, inner, ref b0, cols, col, ref cr);
    }

    /// <summary>Columns <paramref name="from"/>..cols − 1 of one row (a row of A at <paramref name="ar"/>, of C at
    /// <paramref name="cr"/>) one entry at a time.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void ScalarColumns(ref double ar, int inner, ref double b0, int cols, int from, ref double cr)
    {
        for (int col = from; col < cols; col++)
        {
            double s0 = 0.0;
            for (int q = 0; q < inner; q++) s0 = s0 + Unsafe.Add(ref ar, q) * Unsafe.Add(ref b0, q * cols + col);
            Unsafe.Add(ref cr, col) = s0;
        }
    }

    /// <summary><see cref="MultiplyOrdered"/> on <see cref="Vector{T}"/> (256 bits on an AVX2 machine, and on an AVX-512 one
    /// too: .NET keeps Vector&lt;T&gt; at 256 bits), or entry by entry without vectors. Taken by <see cref="MultiplyOrdered"/>
    /// elsewhere; the tests and the benchmark call it directly on every machine.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void MultiplyOrderedNarrow(ReadOnlySpan<double> a, int rows, int inner, ReadOnlySpan<double> b, int cols, Span<double> c)
    {
        if (a.Length < rows * inner || b.Length < inner * cols || c.Length < rows * cols) throw new ArgumentException("MultiplyOrdered: a span is shorter than its shape");
        int w = Vector<double>.Count;
        ref double a0 = ref MemoryMarshal.GetReference(a);
        ref double b0 = ref MemoryMarshal.GetReference(b);
        ref double c0 = ref MemoryMarshal.GetReference(c);
        int r = 0;
        if (Vector.IsHardwareAccelerated)
        {
            for (; r + 2 <= rows; r += 2)
            {
                ref double ar0 = ref Unsafe.Add(ref a0, r * inner);
                ref double ar1 = ref Unsafe.Add(ref a0, (r + 1) * inner);
                int col = 0;
                for (; col + 4 * w <= cols; col += 4 * w)
                {
                    Vector<double> s0 = Vector<double>.Zero, s1 = s0, s2 = s0, s3 = s0, t0 = s0, t1 = s0, t2 = s0, t3 = s0;
                    for (int q = 0; q < inner; q++)
                    {
                        ref double bq = ref Unsafe.Add(ref b0, q * cols + col);
                        var b0v = Vector.LoadUnsafe(ref bq); var b1v = Vector.LoadUnsafe(ref bq, (nuint)w);
                        var b2v = Vector.LoadUnsafe(ref bq, (nuint)(2 * w)); var b3v = Vector.LoadUnsafe(ref bq, (nuint)(3 * w));
                        var x = new Vector<double>(Unsafe.Add(ref ar0, q));
                        var y = new Vector<double>(Unsafe.Add(ref ar1, q));
                        s0 = s0 + x * b0v; s1 = s1 + x * b1v; s2 = s2 + x * b2v; s3 = s3 + x * b3v;
                        t0 = t0 + y * b0v; t1 = t1 + y * b1v; t2 = t2 + y * b2v; t3 = t3 + y * b3v;
                    }
                    ref double cr = ref Unsafe.Add(ref c0, r * cols + col);
                    Vector.StoreUnsafe(s0, ref cr); Vector.StoreUnsafe(s1, ref cr, (nuint)w);
                    Vector.StoreUnsafe(s2, ref cr, (nuint)(2 * w)); Vector.StoreUnsafe(s3, ref cr, (nuint)(3 * w));
                    ref double cn = ref Unsafe.Add(ref c0, (r + 1) * cols + col);
                    Vector.StoreUnsafe(t0, ref cn); Vector.StoreUnsafe(t1, ref cn, (nuint)w);
                    Vector.StoreUnsafe(t2, ref cn, (nuint)(2 * w)); Vector.StoreUnsafe(t3, ref cn, (nuint)(3 * w));
                }
                for (; col + w <= cols; col += w)
                {
                    Vector<double> s0 = Vector<double>.Zero, t0 = s0;
                    for (int q = 0; q < inner; q++)
                    {
                        var bv = Vector.LoadUnsafe(ref Unsafe.Add(ref b0, q * cols + col));
                        s0 = s0 + new Vector<double>(Unsafe.Add(ref ar0, q)) * bv;
                        t0 = t0 + new Vector<double>(Unsafe.Add(ref ar1, q)) * bv;
                    }
                    Vector.StoreUnsafe(s0, ref Unsafe.Add(ref c0, r * cols + col));
                    Vector.StoreUnsafe(t0, ref Unsafe.Add(ref c0, (r + 1) * cols + col));
                }
                for (; col < cols; col++)
                {
                    double s0 = 0.0, t0 = 0.0;
                    for (int q = 0; q < inner; q++)
                    {
                        double bv = Unsafe.Add(ref b0, q * cols + col);
                        s0 = s0 + Unsafe.Add(ref ar0, q) * bv;
                        t0 = t0 + Unsafe.Add(ref ar1, q) * bv;
                    }
                    Unsafe.Add(ref c0, r * cols + col) = s0;
                    Unsafe.Add(ref c0, (r + 1) * cols + col) = t0;
                }
            }
        }
        for (; r < rows; r++)
        {
            var ar = a.Slice(r * inner, inner);
            int col = 0;
            if (Vector.IsHardwareAccelerated)
            {
                for (; col + 4 * w <= cols; col += 4 * w)
                {
                    Vector<double> s0 = Vector<double>.Zero, s1 = s0, s2 = s0, s3 = s0;
                    for (int q = 0; q < ar.Length; q++)
                    {
                        var aq = new Vector<double>(ar[q]);
                        ref double bq = ref Unsafe.Add(ref b0, q * cols + col);
                        s0 = s0 + aq * Vector.LoadUnsafe(ref bq);
                        s1 = s1 + aq * Vector.LoadUnsafe(ref bq, (nuint)w);
                        s2 = s2 + aq * Vector.LoadUnsafe(ref bq, (nuint)(2 * w));
                        s3 = s3 + aq * Vector.LoadUnsafe(ref bq, (nuint)(3 * w));
                    }
                    ref double cr = ref Unsafe.Add(ref c0, r * cols + col);
                    Vector.StoreUnsafe(s0, ref cr); Vector.StoreUnsafe(s1, ref cr, (nuint)w);
                    Vector.StoreUnsafe(s2, ref cr, (nuint)(2 * w)); Vector.StoreUnsafe(s3, ref cr, (nuint)(3 * w));
                }
                for (; col + w <= cols; col += w)
                {
                    var s0 = Vector<double>.Zero;
                    for (int q = 0; q < ar.Length; q++) s0 = s0 + new Vector<double>(ar[q]) * Vector.LoadUnsafe(ref Unsafe.Add(ref b0, q * cols + col));
                    Vector.StoreUnsafe(s0, ref Unsafe.Add(ref c0, r * cols + col));
                }
            }
            for (; col < cols; col++)
            {
                double s0 = 0.0;
                for (int q = 0; q < ar.Length; q++) s0 = s0 + ar[q] * b[q * cols + col];
                c[r * cols + col] = s0;
            }
        }
    }

    /// <summary>y ← y + x / divisor entrywise.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void AddDivided(ReadOnlySpan<double> x, double divisor, Span<double> y)
    {
        int len = x.Length, i = 0;
        if (Vector.IsHardwareAccelerated && len >= Vector<double>.Count)
        {
            var dv = new Vector<double>(divisor);
            var xv = MemoryMarshal.Cast<double, Vector<double>>(x);
            var yv = MemoryMarshal.Cast<double, Vector<double>>(y);
            for (int j = 0; j < xv.Length; j++) yv[j] = yv[j] + xv[j] / dv;
            i = xv.Length * Vector<double>.Count;
        }
        for (; i < len; i++) y[i] = y[i] + x[i] / divisor;
    }

    /// <summary>y ← x ⊙ y.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Multiply(ReadOnlySpan<double> x, Span<double> y)
    {
        for (int i = 0; i < x.Length; i++) y[i] = x[i] * y[i];
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static double MaxAbs(ReadOnlySpan<double> x)
    {
        double mx = 0;
        foreach (var t in x) mx = Math.Max(mx, Math.Abs(t));
        return mx;
    }

    /// <summary>dst[i·dim + r] = x[r·n + i]: a feature-major block (dim rows of n samples) as one sample-major block.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void FeatureToRows(ReadOnlySpan<double> x, Span<double> dst, int dim, int n)
    {
        for (int r = 0; r < dim; r++)
            for (int i = 0; i < n; i++) dst[i * dim + r] = x[r * n + i];
    }

    /// <summary>dst[r·n + i] = x[i·dim + r]: a sample-major block (n rows of dim) as feature-major rows of n samples.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ToFeatureMajor(ReadOnlySpan<double> x, double[] dst, int dim, int n)
    {
        for (int i = 0; i < n; i++)
            for (int r = 0; r < dim; r++) dst[r * n + i] = x[i * dim + r];
    }

    /// <summary>x[i·dim + r] = src[r·n + i]: feature-major rows into a sample-major block.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ToSampleMajorInto(double[] src, Span<double> x, int dim, int n)
    {
        for (int i = 0; i < n; i++)
            for (int r = 0; r < dim; r++) x[i * dim + r] = src[r * n + i];
    }

    /// <summary>x[i][r] = src[r·n + i] into existing per-sample arrays.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ToSampleMajorInto(double[] src, double[][] x, int dim, int n)
    {
        for (int i = 0; i < n; i++)
        {
            var xi = x[i];
            for (int r = 0; r < dim; r++) xi[r] = src[r * n + i];
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static double[][] ToSampleMajor(double[] src, int dim, int n)
    {
        var x = new double[n][];
        for (int i = 0; i < n; i++)
        {
            var xi = x[i] = new double[dim];
            for (int r = 0; r < dim; r++) xi[r] = src[r * n + i];
        }
        return x;
    }
}

/// <summary>The pre-activations and σ of them of every layer and sample (<see cref="Layerwise.PreActivations"/>).</summary>
public sealed class LayerActivations(double[][][] pre, double[][][] sigma)
{
    /// <summary>pre[k−1][i] = W_k h_{k−1}^i ∈ R^m.</summary>
    public double[][][] Pre { get; } = pre;
    /// <summary>sigma[k−1][i] = σ(W_k h_{k−1}^i) ∈ R^m (the same numbers as <see cref="Activations.Value"/> of <see cref="Pre"/>);
    /// empty when formed without it.</summary>
    public double[][][] Sigma { get; } = sigma;
}

/// <summary>
/// The states (or adjoints) of every layer k = 0..L and sample i of one <see cref="Layerwise"/> pass in one array,
/// sample-major by layer: entry r of row (k, i) at (k·n + i)·d + r (the layout of <see cref="ResNet{T}.KeptStates.H"/>).
/// <c>rows[k][i]</c> is that row as an <see cref="ArraySegment{T}"/> over the array (no copy: a write through it changes
/// the pass' numbers, as the negative controls of the tests do on purpose), <c>rows[k]</c> the n rows of layer k.
/// </summary>
public sealed class StateRows : IEnumerable<LayerRows>
{
    public StateRows(double[] data, int layers, int samples, int dim)
    {
        if (layers < 0 || samples < 0 || dim < 0 || data.LongLength != (long)layers * samples * dim)
            throw new ArgumentException($"StateRows: {data.LongLength} entries for {layers} layers of {samples} samples of {dim}");
        Data = data; Length = layers; Samples = samples; Dim = dim;
    }

    /// <summary>Every row, (k·n + i)·d + r.</summary>
    public double[] Data { get; }
    /// <summary>L + 1, the number of layers' rows (k = 0..L).</summary>
    public int Length { get; }
    /// <summary>n, the rows of a layer.</summary>
    public int Samples { get; }
    /// <summary>d, the entries of a row.</summary>
    public int Dim { get; }

    public LayerRows this[int k] =>
        (uint)k < (uint)Length ? new LayerRows(Data, k * Samples * Dim, Samples, Dim) : throw new IndexOutOfRangeException($"layer {k} of {Length}");

    /// <summary>Row (k, i): h_k^i (or p_k^i).</summary>
    public ArraySegment<double> Row(int k, int i) => this[k][i];

    /// <summary>The n·d entries of layer k, sample-major (row i at i·d).</summary>
    public ReadOnlySpan<double> Layer(int k) => this[k].Block;

    public IEnumerator<LayerRows> GetEnumerator() { for (int k = 0; k < Length; k++) yield return this[k]; }
    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
}

/// <summary>The n rows of one layer of a <see cref="StateRows"/>: <c>rows[i]</c> is row i over the shared array.</summary>
public readonly struct LayerRows : IEnumerable<ArraySegment<double>>
{
    private readonly double[] _data;
    private readonly int _offset;

    internal LayerRows(double[] data, int offset, int samples, int dim) { _data = data; _offset = offset; Length = samples; Dim = dim; }

    /// <summary>n, the number of rows.</summary>
    public int Length { get; }
    /// <summary>d, the entries of a row.</summary>
    public int Dim { get; }

    public ArraySegment<double> this[int i] =>
        (uint)i < (uint)Length ? new ArraySegment<double>(_data, _offset + i * Dim, Dim) : throw new IndexOutOfRangeException($"sample {i} of {Length}");

    /// <summary>The layer's n·d entries, sample-major (row i at i·d).</summary>
    public ReadOnlySpan<double> Block => _data.AsSpan(_offset, Length * Dim);

    public IEnumerator<ArraySegment<double>> GetEnumerator() { for (int i = 0; i < Length; i++) yield return this[i]; }
    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
}
