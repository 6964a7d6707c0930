using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace ResOdeProofs.Numerics.Model;

/// <summary>Cheap by-products of one loss-and-gradient evaluation, used by the trace.</summary>
public struct EvaluationStats
{
    /// <summary>ℓ(Z) = (1/n) Σ_i ‖F(x_i) − y_i‖².</summary>
    public double Loss;
    /// <summary>max over k = 0..L and samples i of ‖h_k^i‖.</summary>
    public double MaxHiddenNorm;
    /// <summary>max over k = 0..L of Σ_i ‖p_k^i‖ with p_k^i = ∂ℓ/∂h_k^i.</summary>
    public double MaxAdjointSum;
    /// <summary>
    /// The adjoints' largest growth down the layers, max over k &lt; j of S_k/S_j with S_k = Σ_i ‖p_k^i‖ (1 when they never grow;
    /// NaN without a gradient or where a sum is NaN). p_{k−1} = J_kᵀp_k is linear in p_k, so this is what the transposed
    /// Jacobians' products did along the actual adjoints: a measured lower value of the amplification that the evaluation's
    /// own roundings pass through (their operator norms are the same forward and backward).
    /// </summary>
    public double AdjointGrowth;
    /// <summary>Smallest and largest pre-activation W_k h_{k−1}^i entry over all k and i.</summary>
    public double MinPreActivation, MaxPreActivation;
    /// <summary>The <see cref="ResNet{T}.KeptStates"/> this evaluation filled (see <see cref="ResNet{T}.Keep"/>), else null.</summary>
    public object? Kept;
    /// <summary>
    /// With <see cref="ResNet{T}.SampleTerms"/> set, M = (Σ_k (M^V_k)² + (M^W_k)²)^{1/2} with M^V_k = Σ_i ‖p_k^i‖‖σ_k^i‖ and
    /// M^W_k = Σ_i ‖σ'_k^i ⊙ V_kᵀp_k^i‖‖h_{k−1}^i‖, the norms of the samples' terms of the gradient (≥ ‖G‖, equal without
    /// cancellation between the samples): what a gradient's rounding is relative to. NaN otherwise.
    /// </summary>
    public double SampleTermsNorm;
}

/// <summary>
/// How the engine evaluates: sample-parallel threads and gradient checkpointing. Neither changes what is
/// computed (exact gradients); threads change only the order of the sums over samples, checkpointing
/// changes nothing at all (the recomputed states are bit-identical to the stored ones).
/// </summary>
public sealed record EngineOptions
{
    /// <summary>
    /// The bytes of per-layer arrays above which a pass stops storing them for its backward pass and forms them again
    /// (512 MiB): the engine's automatic checkpointing (<c>TrainOptions.AutoCheckpointBytes</c>), and the verifier's own
    /// passes, the reference pass (<see cref="Layerwise.Evaluate"/>) and the split pass, for σ(u_k), σ'(u_k) of every layer.
    /// </summary>
    public const long StorageBudgetBytes = 512L << 20;

    /// <summary>Number of threads; the batch is split into this many contiguous blocks of samples
    /// (at most n). The per-block gradients are added in block order, so a result is bit-reproducible
    /// for a given thread count.</summary>
    public int Threads { get; init; } = 1;

    /// <summary>Checkpoint segment length K: 0 = store every hidden state and activation (no recomputation);
    /// K ≥ 1 = keep h_0, h_K, h_{2K}, … and the states of one segment, recomputing each segment's forward pass
    /// in the backward pass (peak O(L/K + K) states; K ≈ √L minimizes it).</summary>
    public int CheckpointSegment { get; init; }

    /// <summary>
    /// With checkpointing, the number of final layers whose states are kept from the forward pass (at least one
    /// segment, K): only the layers before them are recomputed. Larger values trade memory for less
    /// recomputation; 0 = one segment.
    /// </summary>
    public int CheckpointKeepLast { get; init; }

    /// <summary>
    /// Whether the forward pass stores σ and σ' of every layer for the backward pass, or stores only the hidden states and
    /// the backward pass recomputes u_k = W_k h_{k−1}, σ(u_k) and σ'(u_k) just before it uses them (the same products and
    /// the same activation kernel on the same inputs: the same bits, so the choice changes no number). Default
    /// <see cref="ActivationStorage.Auto"/>: stored (<see cref="RecomputesActivations"/> says why).
    /// </summary>
    public ActivationStorage Activations { get; init; } = ActivationStorage.Auto;

    /// <summary>
    /// Whether the blocks recompute σ, σ' (<see cref="Activations"/>; RESODE_ACTIVATIONS decides Auto for a whole process).
    /// Auto stores, on every kernel width. Measured on a 256-bit machine (docs/performance.md, "σ and σ' recomputed from
    /// the stored h"): recomputing u = W h and GELU costs 3.6 ns per entry against ≤ 3.2 ns of traffic it saves where none
    /// is hidden, so figure 1 lost 6–28 % with it; on 512-bit kernels the same work takes about half the instructions, so it
    /// may win there, but that is not measured, and a default that is not measured to be faster is not one. Recomputing
    /// stores a fifth of the bytes (figure 1: 28.7 instead of 78.7 MiB): ask for it where memory, not time, is short.
    /// The choice changes no bit.
    /// </summary>
    public bool RecomputesActivations() => Activations switch
    {
        ActivationStorage.Stored => false,
        ActivationStorage.Recomputed => true,
        _ => EnvironmentStorage == ActivationStorage.Recomputed,
    };

    /// <summary>
    /// The environment variable RESODE_ACTIVATIONS = stored | recomputed decides <see cref="ActivationStorage.Auto"/> for
    /// the whole process (as RESODE_SIMD forces the kernel width): a way to run any command in either mode and compare its
    /// files. Anything else leaves Auto stored. Read once.
    /// </summary>
    public static readonly ActivationStorage EnvironmentStorage =
        Environment.GetEnvironmentVariable("RESODE_ACTIVATIONS")?.Trim().ToLowerInvariant() switch
        {
            "stored" => ActivationStorage.Stored,
            "recomputed" => ActivationStorage.Recomputed,
            _ => ActivationStorage.Auto,
        };

    /// <summary>Bytes stored per layer without checkpointing: h, σ and σ' of n samples, (d + 2m)·n entries.</summary>
    public static long BytesPerLayer(NetworkShape shape, int samples, int elementBytes) =>
        (long)(shape.Dim + 2 * shape.Width) * samples * elementBytes;

    /// <summary>The segment length that minimizes L/K + K: ⌈√L⌉.</summary>
    public static int SqrtSegment(int depth) => Math.Max(1, (int)Math.Ceiling(Math.Sqrt(depth)));

    /// <summary>Throws an ArgumentException naming the first invalid option.</summary>
    public void Validate()
    {
        if (!Enum.IsDefined(Activations)) throw new ArgumentException($"unknown activation storage {Activations}");
        if (Threads < 1) throw new ArgumentException($"the number of threads must be at least 1 (got {Threads})");
        if (CheckpointSegment < 0) throw new ArgumentException($"the checkpoint segment length must be ≥ 0 (got {CheckpointSegment}; 0 = off)");
        if (CheckpointKeepLast < 0) throw new ArgumentException($"the number of kept final layers must be ≥ 0 (got {CheckpointKeepLast})");
    }
}

/// <summary>How the forward pass hands σ(u_k) and σ'(u_k) to the backward pass (<see cref="EngineOptions.Activations"/>).</summary>
public enum ActivationStorage
{
    /// <summary>Stored, unless RESODE_ACTIVATIONS=recomputed (<see cref="EngineOptions.RecomputesActivations"/> says why).</summary>
    Auto,
    /// <summary>σ and σ' of every layer stored by the forward pass: (d + 2m)·n entries per layer.</summary>
    Stored,
    /// <summary>Only h stored (d·n entries per layer); u_k, σ and σ' recomputed in the backward pass, the same bits.</summary>
    Recomputed,
}

/// <summary>
/// The depth-L residual network of the paper with exact reverse-mode gradients:
/// <code>
/// h_0 = A x,   h_k = h_{k−1} + (1/L) V_k σ(W_k h_{k−1}),   F(x) = B h_L,
/// ℓ(Z) = (1/n) Σ_i ‖F(x_i) − y_i‖².
/// </code>
/// Backward (adjoint) recursion, with p_k^i = ∂ℓ/∂h_k^i:
/// <code>
/// p_L^i = (2/n) Bᵀ(B h_L^i − y_i),
/// q_k^i = σ'(W_k h_{k−1}^i) ⊙ (V_kᵀ p_k^i),
/// p_{k−1}^i = p_k^i + (1/L) W_kᵀ q_k^i.
/// </code>
/// It returns the depth-scaled gradient G_k = L·∂ℓ/∂Z_k, which is O(1) in L:
/// <code>
/// G^V_k = Σ_i p_k^i σ(W_k h_{k−1}^i)ᵀ,   G^W_k = Σ_i q_k^i (h_{k−1}^i)ᵀ.
/// </code>
/// All buffers are allocated once at construction; <see cref="Evaluate"/> allocates nothing.
/// Precision: T = double (default) or float; the loss and the statistics accumulate in double.
/// The products run in the vector kernels of <see cref="FastKernels"/> at the width <see cref="Simd.Level"/>;
/// <see cref="EngineOptions"/> selects sample-parallel threads and exact checkpointing.
/// </summary>
public sealed class ResNet<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly NetworkShape _shape;
    private readonly ActivationKind _activation;
    private readonly int _n;
    private readonly T[] _y;          // n×d_out
    private readonly T[]? _b;         // d_out×d, null = identity
    private readonly EngineOptions _options;
    private readonly Block[] _blocks;
    private readonly BlockWork? _work;
    private readonly EngineHelper? _helper;

    private FaultInjection<T>? _fault;

    // With several blocks: per layer, how many blocks have formed their part of G_k in this evaluation; the last one adds
    // the others' parts into the output (in block order, as one pass at the end would) while they are still in a cache.
    private readonly int[] _layerParts;
    private unsafe T* _outW, _outV;

    /// <summary>The fault this instance simulates (tests only; see <see cref="FaultInjection{T}"/>).</summary>
    public EngineFault Fault
    {
        get => _fault?.Kind ?? EngineFault.None;
        set => _fault = value == EngineFault.None ? null : new FaultInjection<T>(value, _activation);
    }

    /// <summary>Shape of the network.</summary>
    public NetworkShape Shape => _shape;
    /// <summary>Activation σ.</summary>
    public ActivationKind Activation => _activation;
    /// <summary>Threads (blocks of samples) in use.</summary>
    public int Threads => _blocks.Length;
    /// <summary>The second thread's helper (with several blocks): the trainer's passes share it, so one thread lingers for both.</summary>
    internal EngineHelper? Helper => _helper;
    /// <summary>Checkpoint segment length (0 = off).</summary>
    public int CheckpointSegment => _options.CheckpointSegment;
    /// <summary>True when the backward pass recomputes σ and σ' from the stored h instead of reading them stored (see <see cref="EngineOptions.Activations"/>; values are unaffected).</summary>
    public bool RecomputesActivations => _blocks[0].Recomputes;
    /// <summary>True when the blocks prefetch each next layer's data (what each walks per evaluation exceeds 8 MiB; values are unaffected).</summary>
    internal bool Prefetches => _blocks.All(b => b.Prefetches);

    /// <summary>
    /// Runs every block of samples on the calling thread, one after another (default false: blocks 1.. are offered to
    /// the thread pool). The blocks, their sums and the order of the reduction are the same, so the result is the same
    /// bits; a caller that keeps both cores busy itself (the verifier's replay) sets it.
    /// </summary>
    public bool Inline { get; set; }

    /// <summary>Builds the network for a fixed data set; A (d×d_in) and B (d_out×d) are fixed, null meaning identity.</summary>
    public ResNet(NetworkShape shape, ActivationKind activation, Dataset data, double[]? a = null, double[]? b = null)
        : this(shape, activation, data, new EngineOptions(), a, b) { }

    /// <summary>Builds the network with explicit engine options (threads, checkpointing).</summary>
    public ResNet(NetworkShape shape, ActivationKind activation, Dataset data, EngineOptions options, double[]? a = null, double[]? b = null)
    {
        shape.Validate();
        data.Validate();
        options.Validate();
        if (data.InputDim != shape.InputDim || data.OutputDim != shape.OutputDim)
            throw new ArgumentException($"data dimensions (d_in = {data.InputDim}, d_out = {data.OutputDim}) do not match the network (d_in = {shape.InputDim}, d_out = {shape.OutputDim})");
        if (a is null && shape.InputDim != shape.Dim) throw new ArgumentException($"A = I needs d_in = d, got d_in = {shape.InputDim}, d = {shape.Dim}: give an embedding matrix A");
        if (b is null && shape.OutputDim != shape.Dim) throw new ArgumentException($"B = I needs d_out = d, got d_out = {shape.OutputDim}, d = {shape.Dim}: give a read-out matrix B");
        if (a is not null && a.Length != shape.Dim * shape.InputDim) throw new ArgumentException($"A has {a.Length} entries, expected d·d_in = {shape.Dim}·{shape.InputDim}");
        if (b is not null && b.Length != shape.OutputDim * shape.Dim) throw new ArgumentException($"B has {b.Length} entries, expected d_out·d = {shape.OutputDim}·{shape.Dim}");
        _shape = shape;
        _activation = activation;
        _n = data.Count;
        _options = options;
        int n = _n, d = shape.Dim, L = shape.Depth;
        int segment = options.CheckpointSegment <= 0 || options.CheckpointSegment >= L ? L : options.CheckpointSegment;
        _y = Convert(data.Y);
        _b = b is null ? null : Convert(b);
        // h_0 = A x once and for all: A is fixed.
        var h0 = AlignedArrays.Create<T>(n * d);
        if (a is null) Convert(data.X).CopyTo(h0, 0);
        else
        {
            var x = data.X; int din = shape.InputDim;
            for (int i = 0; i < n; i++)
                for (int r = 0; r < d; r++)
                {
                    double acc = 0;
                    for (int c = 0; c < din; c++) acc += a[r * din + c] * x[i * din + c];
                    h0[i * d + r] = T.CreateTruncating(acc);
                }
        }
        int threads = Math.Min(options.Threads, n);
        int keep = Math.Max(segment, options.CheckpointKeepLast);
        bool recompute = options.RecomputesActivations();
        _blocks = new Block[threads];
        for (int t = 0; t < threads; t++)
        {
            int i0 = (int)((long)n * t / threads), i1 = (int)((long)n * (t + 1) / threads);
            _blocks[t] = new Block(this, i0, i1 - i0, segment, keep, h0, ownGradients: t > 0, recompute);
        }
        if (threads > 1) { _helper = new EngineHelper(); _work = new BlockWork(this); }
        _layerParts = threads > 1 ? new int[L] : Array.Empty<int>();
    }

    /// <summary>
    /// Called by each block once its part of G_k is stored: the last of the blocks to get there adds the parts of
    /// blocks 1.. into the output, in block order (block 0 wrote its part there), so the sums are those of one
    /// reduction pass after all blocks, entry by entry.
    /// </summary>
    private unsafe void LayerPartDone(int k)
    {
        if (Interlocked.Increment(ref _layerParts[k]) != _blocks.Length) return;
        int md = _shape.LayerSize;
        var gw = new Span<T>(_outW + (long)k * md, md);
        var gv = new Span<T>(_outV + (long)k * md, md);
        for (int t = 1; t < _blocks.Length; t++)
        {
            Kernels.Axpy(T.One, _blocks[t].GradW.AsSpan(k * md, md), gw);
            Kernels.Axpy(T.One, _blocks[t].GradV.AsSpan(k * md, md), gv);
        }
    }

    private static T[] Convert(double[] src)
    {
        var dst = new T[src.Length];
        for (int i = 0; i < src.Length; i++) dst[i] = T.CreateTruncating(src[i]);
        return dst;
    }

    /// <summary>
    /// Hidden states of the last evaluation: (L+1)×n×d, h_k^i at [(k·n + i)·d]. Available with one thread
    /// and without checkpointing (otherwise the states are not all stored at once).
    /// </summary>
    public ReadOnlySpan<T> HiddenStates => _blocks.Length == 1 && _blocks[0].Recomputed == 0
        ? _statesKeptIn ?? _blocks[0].SegH
        : throw new InvalidOperationException("all hidden states are stored only with one thread and no checkpointing");

    /// <summary>
    /// What one evaluation with gradient can keep for a caller that needs the pass itself (the verifier's split of
    /// consecutive layer gradients): every hidden state and adjoint, over all samples in sample order, and per layer the
    /// range of the pre-activations, max|σ'| and max|V_kᵀp_k|. These are the numbers the evaluation computes anyway: the hidden
    /// states are written into <see cref="H"/> by the forward pass itself (it computes and reads them there), the adjoints
    /// copied into <see cref="P"/>, the ranges taken inside the activation's pass and the σ' product's pass (the product
    /// V_kᵀp_k is stored once before σ' multiplies it, which is the same bits as the fused product).
    /// </summary>
    public sealed class KeptStates
    {
        public KeptStates(NetworkShape shape, int samples)
        {
            int L = shape.Depth, nd = samples * shape.Dim;
            H = AlignedArrays.Create<T>((L + 1) * nd); P = AlignedArrays.Create<T>((L + 1) * nd);
            PreMin = new double[L + 1]; PreMax = new double[L + 1]; DerivativeMax = new double[L + 1]; AdjointProductMax = new double[L + 1];
        }
        /// <summary>h_k (k = 0..L) and p_k = ∂ℓ/∂h_k, n×d each: entry (i, r) of k at (k·n + i)·d + r.</summary>
        public readonly T[] H, P;
        /// <summary>Per layer k = 1..L (index k): min and max of the entries of W_k h_{k−1}, max|σ'(W_k h_{k−1})|, max|V_kᵀp_k|.</summary>
        public readonly double[] PreMin, PreMax, DerivativeMax, AdjointProductMax;
        /// <summary>ℓ of the evaluation.</summary>
        public double Loss;
        /// <summary>
        /// When set by the consumer, the next evaluations also keep the products u_k = W_k h_{k−1} (before σ) and
        /// g_k = V_kᵀp_k (before σ' multiplies it), and σ(u_k), σ'(u_k) as the evaluation stored them for its backward pass,
        /// n×m each for k = 1..L: entry (i, j) of layer k at (k·n + i)·m + j. Numbers the evaluation computes anyway, written
        /// into these arrays instead of its own (the same operations into other memory); they change nothing it returns.
        /// </summary>
        public bool KeepProducts;
        /// <summary>The kept products and derivatives (allocated at the first evaluation with <see cref="KeepProducts"/>), and
        /// whether the last evaluation filled them.</summary>
        public T[]? Pre, AdjointProduct, Activation, Derivative;
        public bool ProductsValid;
        /// <summary>Marks the products valid for this evaluation when asked for; true when their arrays were formed now.</summary>
        internal bool PrepareProducts(int layers, int samples, int width)
        {
            ProductsValid = KeepProducts;
            if (KeepProducts && Pre is null)
            {
                Pre = AlignedArrays.Create<T>((layers + 1) * samples * width); AdjointProduct = AlignedArrays.Create<T>((layers + 1) * samples * width);
                Activation = AlignedArrays.Create<T>((layers + 1) * samples * width); Derivative = AlignedArrays.Create<T>((layers + 1) * samples * width);
                return true;
            }
            return false;
        }
    }

    /// <summary>
    /// True when an evaluation can fill a <see cref="KeptStates"/> with the numbers one pass over all samples at once gives:
    /// without checkpointing (every state is stored once), and with one block of samples or, at a vector width, blocks
    /// whose n_b·m pre-activations fill whole vectors (the activation kernels leave the entries of a last partial vector
    /// to the scalar σ, a few ulp apart, so with other blocks an entry's σ would depend on where its block starts).
    /// </summary>
    public bool CanKeep
    {
        get
        {
            if (_blocks[0].Recomputed != 0) return false;
            if (_blocks.Length == 1) return true;
            int lanes = Simd.Level switch
            {
                SimdLevel.Vector512 => System.Runtime.Intrinsics.Vector512<T>.Count,
                SimdLevel.Vector256 => System.Runtime.Intrinsics.Vector256<T>.Count,
                _ => 1,
            };
            foreach (var blk in _blocks) if (blk.Count * _shape.Width % lanes != 0) return false;
            return true;
        }
    }

    /// <summary>
    /// When set (and <see cref="CanKeep"/>), the next evaluations with gradient also fill it. It changes no number the
    /// evaluation returns.
    /// </summary>
    public KeptStates? Keep
    {
        get => _keep;
        set
        {
            if (value is not null && !CanKeep) throw new InvalidOperationException("states are kept only without checkpointing and with blocks of samples that fill whole vectors (see CanKeep)");
            if (value is not null && value.H.Length != (_shape.Depth + 1) * _n * _shape.Dim) throw new ArgumentException("kept states of another shape");
            _keep = value;
        }
    }
    private KeptStates? _keep;

    /// <summary>
    /// When set, evaluations with gradient also form <see cref="EvaluationStats.SampleTermsNorm"/> (four row norms of n×m and
    /// n×d arrays a layer). It changes no other number.
    /// </summary>
    public bool SampleTerms { get; set; }
    // the kept states' array the last evaluation wrote its hidden states into (they are not in the blocks' buffers then)
    private T[]? _statesKeptIn;

    /// <summary>
    /// Evaluates ℓ(Z) and, when <paramref name="gradW"/> and <paramref name="gradV"/> are non-empty,
    /// the depth-scaled gradient G = L·∂ℓ/∂Z into them (same layout as W and V).
    /// </summary>
    public EvaluationStats Evaluate(ReadOnlySpan<T> w, ReadOnlySpan<T> v, Span<T> gradW, Span<T> gradV)
    {
        int L = _shape.Depth, md = _shape.LayerSize;
        if (w.Length != L * md || v.Length != L * md)
            throw new ArgumentException($"weights have {w.Length} and {v.Length} entries, expected L·m·d = {L * md} each");
        bool grad = !gradW.IsEmpty;
        if (grad && (gradW.Length != L * md || gradV.Length != L * md))
            throw new ArgumentException($"gradients have {gradW.Length} and {gradV.Length} entries, expected L·m·d = {L * md} each");
        var level = Simd.Level;
        // the first evaluation keeping products: σ and σ' go into the kept arrays from now on, so the arrays an evaluation
        // keeping none stores them in (every layer's, formed by earlier evaluations) are let go; one formed again if ever used
        if (grad && _keep is not null && _keep.PrepareProducts(L, _n, _shape.Width))
        {
            _togetherAct = null; _togetherDer = null; _togetherPre = null;
            foreach (var blk in _blocks) blk.ReleaseStoredActivations();
        }
        _statesKeptIn = grad ? _keep?.H : null;
        bool ranTogether = false;
        if (_blocks.Length == 1)
        {
            _blocks[0].Run(level, w, v, gradW, gradV, grad);
        }
        else if (grad && _keep is KeptStates together && Inline && _fault is null && !BlocksApart)
        {
            RunTogether(level, w, v, gradW, gradV, together);
            ranTogether = true;
        }
        else
        {
            unsafe
            {
                fixed (T* pw = w, pv = v, pgw = gradW, pgv = gradV)
                {
                    // Deterministic reduction, layer by layer as the blocks finish it (LayerPartDone): block 0 writes into
                    // gradW/gradV, the others' parts are added in block order.
                    Array.Clear(_layerParts);
                    _outW = pgw; _outV = pgv;
                    _work!.Start(level, pw, pv, pgw, pgv, L * md, grad);
                    try { _blocks[0].Run(level, w, v, gradW, gradV, grad); }
                    finally { _work.Wait(); _outW = null; _outV = null; }
                }
            }
        }
        var stats = new EvaluationStats { MinPreActivation = double.PositiveInfinity, MaxPreActivation = double.NegativeInfinity };
        double loss = 0;
        foreach (var blk in _blocks)
        {
            loss += blk.LossSum;
            if (blk.MinPre < stats.MinPreActivation) stats.MinPreActivation = blk.MinPre;
            if (blk.MaxPre > stats.MaxPreActivation) stats.MaxPreActivation = blk.MaxPre;
            if (!(blk.MaxHidden <= stats.MaxHiddenNorm)) stats.MaxHiddenNorm = blk.MaxHidden;
        }
        stats.Loss = loss / _n;
        stats.SampleTermsNorm = double.NaN;
        if (grad && SampleTerms)
        {
            double sq = 0;
            for (int k = 0; k < L; k++)
            {
                double tv = 0, tw = 0;
                foreach (var blk in _blocks) { tv += blk.TermsV[k]; tw += blk.TermsW[k]; }
                sq += tv * tv + tw * tw;
            }
            stats.SampleTermsNorm = Math.Sqrt(sq);
        }
        if (grad && _keep is KeptStates kept)
        {
            kept.Loss = stats.Loss;
            stats.Kept = kept;
            for (int k = 1; k <= L; k++)
            {
                // the blocks' ranges merged as one pass over all samples would find them (NaN entries ignored, as in MinMax)
                double lo = double.PositiveInfinity, hi = double.NegativeInfinity, dlo = lo, dhi = hi, glo = lo, ghi = hi;
                foreach (var blk in _blocks)
                {
                    var r = blk.KeptRanges.AsSpan(6 * k, 6);
                    if (r[0] < lo) lo = r[0];
                    if (r[1] > hi) hi = r[1];
                    if (r[2] < dlo) dlo = r[2];
                    if (r[3] > dhi) dhi = r[3];
                    if (r[4] < glo) glo = r[4];
                    if (r[5] > ghi) ghi = r[5];
                }
                kept.PreMin[k] = lo; kept.PreMax[k] = hi;
                kept.DerivativeMax[k] = Math.Max(Math.Abs(dlo), Math.Abs(dhi));
                kept.AdjointProductMax[k] = Math.Max(Math.Abs(glo), Math.Abs(ghi));
            }
        }
        // max_k Σ_i ‖p_k^i‖ with the sum over all samples: per-layer sums of the blocks, added in block order; and the adjoints'
        // largest growth down the layers, max over k < j of S_k/S_j (S_k that sum), with the smallest sum above k carried
        int kTop = grad ? 0 : L;
        double below = double.NaN;
        stats.AdjointGrowth = grad ? 1.0 : double.NaN;
        for (int k = L; k >= kTop; k--)
        {
            double ps = 0;
            foreach (var blk in _blocks) ps += blk.AdjointSums[k];
            if (k == L) { stats.MaxAdjointSum = ps; below = ps; continue; }
            if (!(ps <= stats.MaxAdjointSum)) stats.MaxAdjointSum = ps;
            stats.AdjointGrowth = Growth(stats.AdjointGrowth, ps, ref below);
        }
        if (grad) _fault?.Gradient(gradW, gradV, L, md);
        if (!ranTogether && _work?.Error is Exception ex) throw new InvalidOperationException("an engine thread failed", ex);
        return stats;
    }

    /// <summary>
    /// One layer's step of <see cref="EvaluationStats.AdjointGrowth"/>: the growth so far against S_k over the smallest sum
    /// above it (<paramref name="least"/>, then lowered to S_k). A zero sum above a nonzero one is an unbounded growth; a
    /// NaN sum makes the growth NaN.
    /// </summary>
    internal static double Growth(double growth, double sum, ref double least)
    {
        if (double.IsNaN(sum) || double.IsNaN(least)) { least = double.NaN; return double.NaN; }
        if (sum > 0)
        {
            double r = least > 0 ? sum / least : double.PositiveInfinity;
            if (!(r <= growth)) growth = r;
        }
        if (sum < least) least = sum;
        return growth;
    }

    /// <summary>
    /// Runs the blocks of an inline evaluation that keeps states one after another, each on its own (the code before the blocks
    /// ran in step, <see cref="RunTogether"/>): the same numbers, for the benchmark that compares the two schedules. Default false.
    /// </summary>
    internal bool BlocksApart { get; set; }

    // The buffers of the blocks run in step (RunTogether), made at its first use: σ of every layer for all samples (L×n×m,
    // layer k at k·n·m, sample i's row at i·m); σ' and u when the products are not kept (σ' L×n×m, u n×m); p and q of all
    // samples (n×d, n×m); W_kᵀ and V_kᵀ.
    private T[]? _togetherAct, _togetherDer, _togetherPre, _togetherP, _togetherQ, _togetherWt, _togetherVt;

    /// <summary>
    /// An inline evaluation with gradient that keeps its states (the verifier's observed replay), with the blocks run in step,
    /// layer by layer, on the calling thread: the products whose rows are samples (u_k = h_{k−1}W_kᵀ, the residual
    /// h_k + (1/L)σ(u_k)V_kᵀ, V_kᵀp_k and the adjoint step p + (1/L)q W_k) as one product over all n samples, which the kept
    /// arrays already hold in sample order, and W_kᵀ, V_kᵀ formed once per layer instead of once per block. Each entry of a
    /// product sums over its inner index in the same order whatever the rows around it (FastKernels.Gemm: the row tiles change
    /// which rows share registers, not any entry's sum), so these are the blocks' own numbers. Everything whose sum runs over
    /// samples stays per block in block order: each block's part of G_k (its own samples, its own array), the reduction of the
    /// parts as <see cref="LayerPartDone"/> adds them, the loss, Σ‖p_k^i‖, max‖h_k^i‖ and the kept ranges, each through the
    /// blocks' own calls on their rows (the activation's pass and the σ' product per block: their ranges are the blocks').
    /// So the loss, the gradient, the statistics and every kept number are the bits of the blocks run one after another.
    /// Not with an injected fault (the fault acts inside a block's passes).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void RunTogether(SimdLevel level, ReadOnlySpan<T> w, ReadOnlySpan<T> v, Span<T> gradW, Span<T> gradV, KeptStates kept)
    {
        int L = _shape.Depth, d = _shape.Dim, m = _shape.Width, md = m * d, n = _n, nd = n * d, nm = n * m;
        bool products = kept.ProductsValid;
        T[]? act = null, der = null, preBuf = null;
        if (!products) { act = _togetherAct ??= AlignedArrays.Create<T>((long)L * nm); der = _togetherDer ??= AlignedArrays.Create<T>((long)L * nm); preBuf = _togetherPre ??= AlignedArrays.Create<T>(nm); }
        var p = (_togetherP ??= AlignedArrays.Create<T>(nd)).AsSpan();
        var q = (_togetherQ ??= AlignedArrays.Create<T>(nm)).AsSpan();
        var wt = _togetherWt ??= AlignedArrays.Create<T>(md); var vt = _togetherVt ??= AlignedArrays.Create<T>(md);
        var keptH = kept.H;
        bool prefetch = true;
        foreach (var blk in _blocks) prefetch &= blk.Prefetches;
        foreach (var blk in _blocks) blk.BeginTogether(level, keptH);
        T invL = T.One / T.CreateTruncating(L);
        for (int k = 0; k < L; k++)
        {
            var hk = keptH.AsSpan(k * nd, nd);
            var hn = keptH.AsSpan((k + 1) * nd, nd);
            var pre = products ? kept.Pre!.AsSpan((k + 1) * nm, nm) : preBuf!.AsSpan();
            var sk = products ? kept.Activation!.AsSpan((k + 1) * nm, nm) : act!.AsSpan(k * nm, nm);
            var sdk = products ? kept.Derivative!.AsSpan((k + 1) * nm, nm) : der!.AsSpan(k * nm, nm);
            if (prefetch && k + 1 < L) { FastKernels.Prefetch(w.Slice((k + 1) * md, md)); FastKernels.Prefetch(v.Slice((k + 1) * md, md)); }
            FastKernels.Transpose<T>(w.Slice(k * md, md), wt, m, d);
            FastKernels.Transpose<T>(v.Slice(k * md, md), vt, d, m);
            FastKernels.Gemm<T>(level, hk, d, 1, wt, pre, n, d, m, T.One, accumulate: false);
            foreach (var blk in _blocks)
            {
                // σ, σ' and the block's ranges of u and σ' by the block's own pass over its rows (Block.ForwardSegment's call)
                int at = blk.I0 * m, len = blk.Count * m;
                var r = blk.KeptRanges.AsSpan(6 * (k + 1), 4);
                double lo = double.PositiveInfinity, hi = double.NegativeInfinity, dlo = lo, dhi = hi;
                VectorActivations.EvaluateWithRanges<T>(level, _activation, pre.Slice(at, len), sk.Slice(at, len), sdk.Slice(at, len), ref lo, ref hi, ref dlo, ref dhi);
                r[0] = lo; r[1] = hi; r[2] = dlo; r[3] = dhi;
                if (lo < blk.MinPre) blk.MinPre = lo;
                if (hi > blk.MaxPre) blk.MaxPre = hi;
            }
            FastKernels.Gemm<T>(level, sk, m, 1, vt, hn, n, m, d, invL, accumulate: true, source: hk);   // hk + (1/L)σVᵀ, no copy
            foreach (var blk in _blocks) FastKernels.MaxRowNorm<T>(level, hn.Slice(blk.I0 * d, blk.Count * d), blk.Count, d, ref blk.MaxHidden);
        }
        foreach (var blk in _blocks) blk.Terminal(level, keptH.AsSpan(L * nd + blk.I0 * d, blk.Count * d), p.Slice(blk.I0 * d, blk.Count * d));
        p.CopyTo(kept.P.AsSpan(L * nd, nd));
        for (int k = L - 1; k >= 0; k--)
        {
            var hk = keptH.AsSpan(k * nd, nd);
            var wk = w.Slice(k * md, md);
            var vk = v.Slice(k * md, md);
            var sk = products ? kept.Activation!.AsSpan((k + 1) * nm, nm) : act!.AsSpan(k * nm, nm);
            var sdk = products ? kept.Derivative!.AsSpan((k + 1) * nm, nm) : der!.AsSpan(k * nm, nm);
            var gw = gradW.Slice(k * md, md);
            var gv = gradV.Slice(k * md, md);
            if (prefetch && k > 0) { FastKernels.Prefetch(w.Slice((k - 1) * md, md)); FastKernels.Prefetch(v.Slice((k - 1) * md, md)); }
            // G^V_k's part of each block = Σ_{i in the block} p_k^i σ_iᵀ: block 0's into the output, the others' into their own
            for (int t = 0; t < _blocks.Length; t++)
            {
                var blk = _blocks[t];
                FastKernels.Gemm<T>(level, p.Slice(blk.I0 * d, blk.Count * d), 1, d, sk.Slice(blk.I0 * m, blk.Count * m),
                    t == 0 ? gv : blk.GradV.AsSpan(k * md, md), d, blk.Count, m, T.One, accumulate: false);
            }
            // V_kᵀp_k of all samples (kept, or in q), then each block's range of it and q = σ' ⊙ V_kᵀp_k over its rows
            var vtp = products ? kept.AdjointProduct!.AsSpan((k + 1) * nm, nm) : q;
            FastKernels.Gemm<T>(level, p, d, 1, vk, vtp, n, d, m, T.One, accumulate: false);
            foreach (var blk in _blocks)
            {
                int at = blk.I0 * m, len = blk.Count * m;
                var r = blk.KeptRanges.AsSpan(6 * (k + 1) + 4, 2);
                r[0] = double.PositiveInfinity; r[1] = double.NegativeInfinity;
                FastKernels.MultiplyIntoWithRange<T>(level, vtp.Slice(at, len), sdk.Slice(at, len), q.Slice(at, len), ref r[0], ref r[1]);
                if (SampleTerms)
                {
                    blk.TermsV[k] = FastKernels.SumRowNormProducts<T>(level, p.Slice(blk.I0 * d, blk.Count * d), sk.Slice(at, len), blk.Count, d, m);
                    blk.TermsW[k] = FastKernels.SumRowNormProducts<T>(level, q.Slice(at, len), hk.Slice(blk.I0 * d, blk.Count * d), blk.Count, m, d);
                }
            }
            for (int t = 0; t < _blocks.Length; t++)
            {
                var blk = _blocks[t];
                FastKernels.Gemm<T>(level, q.Slice(blk.I0 * m, blk.Count * m), 1, m, hk.Slice(blk.I0 * d, blk.Count * d),
                    t == 0 ? gw : blk.GradW.AsSpan(k * md, md), m, blk.Count, d, T.One, accumulate: false);
            }
            FastKernels.Gemm<T>(level, q, m, 1, wk, p, n, m, d, invL, accumulate: true);
            foreach (var blk in _blocks) blk.AdjointSums[k] = Block.AdjointSum(level, p.Slice(blk.I0 * d, blk.Count * d), blk.Count, d);
            p.CopyTo(kept.P.AsSpan(k * nd, nd));
            // the blocks' parts added in block order, as the last block to finish the layer adds them (LayerPartDone)
            for (int t = 1; t < _blocks.Length; t++)
            {
                Kernels.Axpy(T.One, _blocks[t].GradW.AsSpan(k * md, md), gw);
                Kernels.Axpy(T.One, _blocks[t].GradV.AsSpan(k * md, md), gv);
            }
        }
    }

    /// <summary>
    /// Runs blocks 1.. on thread-pool threads (no allocation per call) while the caller runs block 0. Blocks
    /// are claimed through a counter, and the caller claims the ones no pool thread has started yet, so an
    /// evaluation never waits on a busy thread pool (e.g. when many evaluations run in parallel).
    /// </summary>
    private sealed unsafe class BlockWork : IThreadPoolWorkItem, IClaimedWork
    {
        private readonly ResNet<T> _net;
        private readonly ManualResetEventSlim _done = new(false);
        private int _pending;
        private SimdLevel _level;
        private T* _w, _v, _gw, _gv;
        private int _len;
        private bool _grad;
        private int _next;
        public Exception? Error;

        public BlockWork(ResNet<T> net) { _net = net; _next = int.MaxValue / 2; }

        public void Start(SimdLevel level, T* w, T* v, T* gw, T* gv, int len, bool grad)
        {
            _level = level; _w = w; _v = v; _gw = gw; _gv = gv; _len = len; _grad = grad; Error = null;
            int others = _net._blocks.Length - 1;
            _done.Reset();
            Volatile.Write(ref _pending, others);
            Volatile.Write(ref _next, 1);
            if (_net.Inline) return;
            // block 1 to the lingering helper thread (EngineHelper), any further blocks to the pool
            _net._helper!.Post(this);
            for (int t = 1; t < others; t++) ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);
        }

        public void Execute() => RunClaimed();

        /// <summary>Runs blocks until none is left unclaimed.</summary>
        public void RunClaimed()
        {
            int count = _net._blocks.Length;
            while (true)
            {
                int t = Interlocked.Increment(ref _next) - 1;
                if (t < 1 || t >= count) return;
                try
                {
                    var blk = _net._blocks[t];
                    blk.Run(_level, new ReadOnlySpan<T>(_w, _len), new ReadOnlySpan<T>(_v, _len),
                        _grad ? blk.GradW : Span<T>.Empty, _grad ? blk.GradV : Span<T>.Empty, _grad);
                }
                catch (Exception ex) { Error = ex; }
                finally { if (Interlocked.Decrement(ref _pending) == 0) _done.Set(); }
            }
        }

        /// <summary>Helps with the unclaimed blocks, then waits for the claimed ones.</summary>
        public void Wait()
        {
            RunClaimed();
            EngineHelper.Wait(ref _pending, _done);
        }
    }

    /// <summary>
    /// One contiguous block of samples [I0, I0 + Count) with its own buffers. With segment length K the
    /// layers are cut into G recomputed segments [gK, (g+1)K), g &lt; G, and one final segment [GK, L) of at
    /// least K layers (at least the requested kept layers) whose states stay from the forward pass. The
    /// states h_0, h_K, …, h_{GK} are kept in <see cref="_checkpoints"/>; the segment buffers SegH/SegAct
    /// hold the final segment and, in the backward pass, each recomputed segment in turn. Without
    /// checkpointing G = 0 and the buffers hold everything.
    /// </summary>
    private sealed class Block
    {
        /// <summary>
        /// Bytes a block walks per evaluation (its stored states and activations, W, V and the gradient) from which the passes
        /// prefetch the next layer's data: 8 MiB, several times a core's L2 cache. Below it (figure 2: at most 6 MB) the data
        /// mostly stays in the caches and the prefetch instructions only cost issue slots (≈ 2 % at figure 2 in float32,
        /// measured); figure 1's blocks store 16–33 MB besides 16 MB of weights and gradient.
        /// </summary>
        private const long PrefetchBytes = 8L << 20;

        private readonly ResNet<T> _net;
        public readonly int I0, Count, Segment;
        private readonly int _segments;      // G + 1
        // True when only h is stored and the backward pass recomputes u, σ and σ' of each layer (then SegAct holds one layer)
        public readonly bool Recomputes;
        public int Recomputed => _segments - 1;
        private int Start(int g) => g * Segment;
        private int End(int g) => g == _segments - 1 ? _net._shape.Depth : (g + 1) * Segment;
        private readonly T[] _checkpoints;   // (segments + 1)×nb×d, [0] = h_0 (fixed)
        public readonly T[] SegH;            // (K+1)×nb×d
        // σ and σ' of the segment's layers, one layer after the other: layer j's σ (nb×m) at 2j·nb·m, its σ' right after it,
        // so that each layer's activations are one contiguous run of memory (one stream for the hardware's prefetchers and one
        // prefetch range in the backward pass instead of two arrays walked side by side); K×2×nb×m. With Recomputes, one
        // layer's σ and σ' (2×nb×m), written by the forward pass and again by the backward pass for each layer. Made at the
        // block's first pass that stores them: an evaluation keeping products stores σ and σ' in the kept arrays, and one whose
        // blocks run in step (RunTogether) without products in arrays of its own; neither touches it.
        private T[]? _segActStore;
        private readonly long _segActLength;
        private T[] SegAct => _segActStore ??= AlignedArrays.Create<T>(_segActLength);
        /// <summary>Lets the segment's stored σ, σ' go (formed again on the next evaluation that stores them).</summary>
        internal void ReleaseStoredActivations() => _segActStore = null;
        private int Act(int j, int nm) => Recomputes ? 0 : 2 * j * nm;
        // h_k of this block: the segment buffer's row (layer k of the segment being computed), or, with the states kept for a
        // caller (only without checkpointing: one segment from layer 0), the kept array's rows of this block, (k·n + I0)·d,
        // where the passes write and read them instead of copying them there afterwards
        private Span<T> State(T[]? keptH, int k, int k0, int nd) => keptH is null
            ? SegH.AsSpan((k - k0) * nd, nd)
            : keptH.AsSpan((k * _net._n + I0) * _net._shape.Dim, nd);
        private readonly T[] _pre, _p, _q, _out, _wt, _vt;
        // True when what this block walks per evaluation exceeds PrefetchBytes (far beyond a core's caches, e.g. figure 1):
        // then each layer prefetches what the next one reads. A hint to the hardware: it changes no value.
        public readonly bool Prefetches;
        public readonly T[] GradW, GradV;    // own gradient (blocks after the first)
        public readonly double[] AdjointSums; // Σ_{i in block} ‖p_k^i‖, k = 0..L
        // with SampleTerms: per layer (0-based) Σ_{i in block} ‖p^i‖‖σ^i‖ and Σ_{i in block} ‖q^i‖‖h^i‖ (see EvaluationStats.SampleTermsNorm)
        public readonly double[] TermsV, TermsW;
        public readonly double[] KeptRanges; // per layer k = 1..L at 6k: ranges of W_k h_{k−1}, σ', V_kᵀp_k over this block's samples (see KeptStates)
        public double LossSum, MinPre, MaxPre, MaxHidden;

        /// <summary>The number of segments recomputed from checkpoints, for L layers, segments of K layers and at least <paramref name="keep"/> final layers kept.</summary>
        private static int RecomputedSegments(int L, int segment, int keep) => L > keep ? (L - keep + segment - 1) / segment : 0;

        /// <summary>The layers whose states a block stores at once: the final segment (all L without checkpointing) or one recomputed segment.</summary>
        public static int BufferLayers(int L, int segment, int keep) => Math.Max(segment, L - RecomputedSegments(L, segment, keep) * segment);

        public Block(ResNet<T> net, int i0, int count, int segment, int keep, T[] h0, bool ownGradients, bool recompute)
        {
            _net = net; I0 = i0; Count = count; Segment = segment; Recomputes = recompute;
            var s = net._shape;
            int L = s.Depth, d = s.Dim, m = s.Width, nb = count;
            int recomputed = RecomputedSegments(L, segment, keep);
            _segments = recomputed + 1;
            int buffer = BufferLayers(L, segment, keep);
            long hs = (long)(buffer + 1) * nb * d, ss = (long)(recompute ? 1 : buffer) * nb * m, cs = (long)(_segments + 1) * nb * d;
            if (hs > Array.MaxLength || 2 * ss > Array.MaxLength || cs > Array.MaxLength)
                throw new ArgumentException($"stored activations need {2 * ss} entries in one array (σ and σ' of K layers, 2·K·n·m), more than one array holds; reduce L or n, or use checkpointing");
            _checkpoints = AlignedArrays.Create<T>(cs);
            Array.Copy(h0, (long)i0 * d, _checkpoints, 0, (long)nb * d);
            SegH = AlignedArrays.Create<T>(hs);
            // the bytes the passes walk per evaluation: the stored states and activations, W and V, and the gradient's layers
            // (with σ, σ' recomputed the stored part shrinks to h, and W, V and G_k become most of what streams from memory)
            Prefetches = (hs + 2 * ss + 4L * L * m * d) * Unsafe.SizeOf<T>() > PrefetchBytes;
            _segActLength = 2 * ss;
            _pre = AlignedArrays.Create<T>(nb * m);
            _p = AlignedArrays.Create<T>(nb * d);
            _q = AlignedArrays.Create<T>(nb * m);
            _out = AlignedArrays.Create<T>(nb * s.OutputDim);
            _wt = AlignedArrays.Create<T>(m * d);
            _vt = AlignedArrays.Create<T>(m * d);
            GradW = ownGradients ? AlignedArrays.Create<T>(L * m * d) : Array.Empty<T>();
            GradV = ownGradients ? AlignedArrays.Create<T>(L * m * d) : Array.Empty<T>();
            AdjointSums = new double[L + 1];
            TermsV = new double[L]; TermsW = new double[L];
            KeptRanges = new double[6 * (L + 1)];
        }

        /// <summary>Forward through segment g (layers gK .. min(L, (g+1)K) − 1) from its checkpoint; optionally statistics.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void ForwardSegment(SimdLevel level, int g, ReadOnlySpan<T> w, ReadOnlySpan<T> v, bool stats, KeptStates? kept = null)
        {
            var s = _net._shape;
            int L = s.Depth, d = s.Dim, m = s.Width, md = m * d, nb = Count, nd = nb * d, nm = nb * m;
            int k0 = Start(g), k1 = End(g);
            T invL = T.One / T.CreateTruncating(L);
            T fwdScale = _net._fault?.ForwardScale(L) ?? invL;
            var keptH = kept?.H;
            _checkpoints.AsSpan(g * nd, nd).CopyTo(State(keptH, k0, k0, nd));
            for (int k = k0; k < k1; k++)
            {
                int j = k - k0;
                var hk = State(keptH, k, k0, nd);
                var hn = State(keptH, k + 1, k0, nd);
                // with the products kept, u_k = W_k h_{k−1} and σ'(u_k) are computed in the kept arrays' rows of this block and
                // layer (the same operations into other memory, so the same bits; the backward pass reads σ' there, see
                // DerivativeAt) instead of being copied there afterwards
                bool keptProducts = kept is { ProductsValid: true };
                var pre = keptProducts ? kept!.Pre!.AsSpan(((k + 1) * _net._n + I0) * m, nm) : _pre.AsSpan();
                // out of the caches (see Prefetches): the next layer's weights are fetched while this one computes
                if (Prefetches && k + 1 < k1) { FastKernels.Prefetch(w.Slice((k + 1) * md, md)); FastKernels.Prefetch(v.Slice((k + 1) * md, md)); }
                FastKernels.Transpose<T>(w.Slice(k * md, md), _wt, m, d);   // Wᵀ: d×m
                FastKernels.Transpose<T>(v.Slice(k * md, md), _vt, d, m);   // Vᵀ: m×d
                // pre = h Wᵀ (nb×m)
                FastKernels.Gemm<T>(level, hk, d, 1, _wt, pre, nb, d, m, T.One, accumulate: false);
                var sk = keptProducts ? kept!.Activation!.AsSpan(((k + 1) * _net._n + I0) * m, nm) : SegAct.AsSpan(Act(j, nm), nm);
                var sdk = keptProducts ? kept!.Derivative!.AsSpan(((k + 1) * _net._n + I0) * m, nm) : SegAct.AsSpan(Act(j, nm) + nm, nm);
                if (kept is not null)
                {
                    // the per-layer ranges the kept states carry, taken by the activation's own pass over u (the bits of
                    // MinMax over u and over the stored σ'), u's range then merged into the evaluation's as EvaluateWithRange
                    // merges it; with an injected fault σ' is ranged after the fault has changed it
                    var r = KeptRanges.AsSpan(6 * (k + 1), 4);
                    double lo = double.PositiveInfinity, hi = double.NegativeInfinity, dlo = lo, dhi = hi;
                    if (_net._fault is null) VectorActivations.EvaluateWithRanges<T>(level, _net._activation, pre, sk, sdk, ref lo, ref hi, ref dlo, ref dhi);
                    else
                    {
                        VectorActivations.EvaluateWithRange<T>(level, _net._activation, pre, sk, sdk, ref lo, ref hi);
                        _net._fault.StoredDerivative(pre, sdk);
                        FastKernels.MinMax<T>(level, sdk, ref dlo, ref dhi);
                    }
                    r[0] = lo; r[1] = hi; r[2] = dlo; r[3] = dhi;
                    if (stats)
                    {
                        if (lo < MinPre) MinPre = lo;
                        if (hi > MaxPre) MaxPre = hi;
                    }
                }
                else
                {
                    if (stats) VectorActivations.EvaluateWithRange<T>(level, _net._activation, pre, sk, sdk, ref MinPre, ref MaxPre);
                    else VectorActivations.Evaluate<T>(level, _net._activation, pre, sk, sdk);
                    _net._fault?.StoredDerivative(pre, sdk);
                }
                // h_{k+1} = h_k + (1/L) σ Vᵀ, h_k read as the GEMM's source (the bits of copying it first, without the copy);
                // with states kept, straight into the kept array's rows: no copy afterwards
                FastKernels.Gemm<T>(level, sk, m, 1, _vt, hn, nb, m, d, fwdScale, accumulate: true, source: hk);
                if (stats) FastKernels.MaxRowNorm<T>(level, hn, nb, d, ref MaxHidden);   // NaN propagates
            }
            if (g + 1 <= _segments && stats)
                State(keptH, k1, k0, nd).CopyTo(_checkpoints.AsSpan((g + 1) * nd, nd));
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Run(SimdLevel level, ReadOnlySpan<T> w, ReadOnlySpan<T> v, Span<T> gradW, Span<T> gradV, bool grad)
        {
            var s = _net._shape;
            int L = s.Depth, d = s.Dim, m = s.Width, md = m * d, nb = Count, nd = nb * d, nm = nb * m;
            MinPre = double.PositiveInfinity; MaxPre = double.NegativeInfinity; MaxHidden = 0;
            FastKernels.MaxRowNorm<T>(level, _checkpoints.AsSpan(0, nd), nb, d, ref MaxHidden);
            // states kept for the caller (with gradient only; ResNet.Keep allows it only without checkpointing)
            var kept = grad ? _net._keep : null;
            var keptH = kept?.H;
            int keptAt = I0 * d, keptStride = _net._n * d;   // (k·n + I0)·d: this block's rows of state k
            for (int g = 0; g < _segments; g++) ForwardSegment(level, g, w, v, stats: true, kept);

            // Loss and p_L (the last segment's states are still in the segment buffers, or in the kept rows).
            var p = _p.AsSpan();
            Terminal(level, State(keptH, L, Start(_segments - 1), nd), p);
            if (!grad) return;
            if (kept is not null) p.CopyTo(kept.P.AsSpan(L * keptStride + keptAt, nd));

            // Backward pass, segment by segment from the last; earlier segments are recomputed from their checkpoints.
            T invL = T.One / T.CreateTruncating(L);
            var q = _q.AsSpan();
            for (int g = _segments - 1; g >= 0; g--)
            {
                if (g != _segments - 1) ForwardSegment(level, g, w, v, stats: false);
                int k0 = Start(g), k1 = End(g);
                for (int k = k1 - 1; k >= k0; k--)
                {
                    int j = k - k0;
                    var hk = State(keptH, k, k0, nd);
                    var wk = w.Slice(k * md, md);
                    var vk = v.Slice(k * md, md);
                    bool keptProducts = kept is { ProductsValid: true };
                    var sk = keptProducts ? kept!.Activation!.AsSpan(((k + 1) * _net._n + I0) * m, nm) : SegAct.AsSpan(Act(j, nm), nm);
                    var sdk = keptProducts ? kept!.Derivative!.AsSpan(((k + 1) * _net._n + I0) * m, nm) : SegAct.AsSpan(Act(j, nm) + nm, nm);
                    var gw = gradW.Slice(k * md, md);
                    var gv = gradV.Slice(k * md, md);
                    if (Prefetches && k > k0)
                    {
                        // what layer k − 1 reads and writes, fetched while layer k computes: its stored σ, σ' and h, its
                        // weights and its gradient's lines (the backward pass walks the stored layers downwards, page by
                        // page, which the hardware's prefetchers pick up late)
                        if (keptProducts)
                        {
                            FastKernels.Prefetch<T>(kept!.Activation.AsSpan((k * _net._n + I0) * m, nm));
                            FastKernels.Prefetch<T>(kept.Derivative.AsSpan((k * _net._n + I0) * m, nm));
                        }
                        else if (!Recomputes) FastKernels.Prefetch<T>(SegAct.AsSpan(2 * (j - 1) * nm, 2 * nm));
                        FastKernels.Prefetch<T>(State(keptH, k - 1, k0, nd));
                        FastKernels.Prefetch(w.Slice((k - 1) * md, md)); FastKernels.Prefetch(v.Slice((k - 1) * md, md));
                        FastKernels.Prefetch<T>(gradW.Slice((k - 1) * md, md)); FastKernels.Prefetch<T>(gradV.Slice((k - 1) * md, md));
                    }
                    if (Recomputes)
                    {
                        // u_k = h_{k−1} W_kᵀ, σ and σ' again: the forward pass's calls on the same inputs, hence its bits
                        FastKernels.Transpose<T>(wk, _wt, m, d);
                        FastKernels.Gemm<T>(level, hk, d, 1, _wt, _pre, nb, d, m, T.One, accumulate: false);
                        VectorActivations.Evaluate<T>(level, _net._activation, _pre, sk, sdk);
                        _net._fault?.StoredDerivative(_pre, sdk);
                    }
                    // G^V_k = Σ_i p_k^i σ_iᵀ  (d×m): A(r, i) = p[i·d + r]
                    FastKernels.Gemm<T>(level, p, 1, d, sk, gv, d, nb, m, T.One, accumulate: false);
                    // q_k^i = σ'_i ⊙ V_kᵀ p_k^i  (nb×m) = p V
                    if (kept is null) FastKernels.Gemm<T>(level, p, d, 1, vk, q, nb, d, m, T.One, accumulate: false, multiplier: sdk);
                    else
                    {
                        // the product stored, then its range kept and σ' applied in one pass: the same bits as the fused
                        // product; with the products kept it is formed in the kept array's rows (no copy) and q written apart
                        var vtp = kept.ProductsValid ? kept.AdjointProduct!.AsSpan(((k + 1) * _net._n + I0) * m, nm) : q;
                        FastKernels.Gemm<T>(level, p, d, 1, vk, vtp, nb, d, m, T.One, accumulate: false);
                        var r = KeptRanges.AsSpan(6 * (k + 1) + 4, 2);
                        r[0] = double.PositiveInfinity; r[1] = double.NegativeInfinity;
                        FastKernels.MultiplyIntoWithRange<T>(level, vtp, sdk, q, ref r[0], ref r[1]);
                    }
                    if (_net.SampleTerms)
                    {
                        TermsV[k] = FastKernels.SumRowNormProducts<T>(level, p, sk, nb, d, m);
                        TermsW[k] = FastKernels.SumRowNormProducts<T>(level, q, hk, nb, m, d);
                    }
                    // G^W_k = Σ_i q_k^i h_{k−1}^iᵀ  (m×d): A(j, i) = q[i·m + j]
                    FastKernels.Gemm<T>(level, q, 1, m, hk, gw, m, nb, d, T.One, accumulate: false);
                    // p_{k−1} = p_k + (1/L) W_kᵀ q_k = p + (1/L) q W
                    FastKernels.Gemm<T>(level, q, m, 1, wk, p, nb, m, d, invL, accumulate: true);
                    AdjointSums[k] = AdjointSum(level, p, nb, d);
                    if (kept is not null) p.CopyTo(kept.P.AsSpan(k * keptStride + keptAt, nd));
                    if (_net._blocks.Length > 1) _net.LayerPartDone(k);
                }
            }
        }

        /// <summary>
        /// The loss of this block's samples from their h_L (<see cref="LossSum"/>) and p_L = (2/n)Bᵀ(B h_L − y) into
        /// <paramref name="p"/> (nb×d), with Σ_i ‖p_L^i‖ in <see cref="AdjointSums"/>[L].
        /// </summary>
        public void Terminal(SimdLevel level, ReadOnlySpan<T> hL, Span<T> p)
        {
            var s = _net._shape;
            int L = s.Depth, d = s.Dim, nb = Count, nd = nb * d;
            int dOut = s.OutputDim, n = _net._n;
            var y = _net._y.AsSpan(I0 * dOut, nb * dOut);
            double loss = 0;
            T twoOverN = T.CreateTruncating(2.0 / n);
            if (_net._b is null)
            {
                for (int i = 0; i < nd; i++)
                {
                    T r = hL[i] - y[i];
                    double rd = double.CreateTruncating(r);
                    loss += rd * rd;
                    p[i] = twoOverN * r;
                }
            }
            else
            {
                var outp = _out.AsSpan();
                Kernels.GemmNT<T>(hL, _net._b, outp, nb, dOut, d, T.One, accumulate: false);
                for (int i = 0; i < nb * dOut; i++) { outp[i] -= y[i]; double rd = double.CreateTruncating(outp[i]); loss += rd * rd; }
                p.Clear();
                Kernels.GemmNNAcc<T>(outp, _net._b, p, nb, dOut, d, twoOverN);
            }
            LossSum = loss;
            AdjointSums[L] = AdjointSum(level, p, nb, d);
        }

        /// <summary>
        /// The start of an evaluation that runs this block in step with the others (<see cref="ResNet{T}.RunTogether"/>): the
        /// statistics reset, max‖h_0^i‖ taken, and h_0 of this block's samples written into its rows of the kept states
        /// (what <see cref="Run"/> does before its first layer).
        /// </summary>
        public void BeginTogether(SimdLevel level, T[] keptH)
        {
            int d = _net._shape.Dim, nd = Count * d;
            MinPre = double.PositiveInfinity; MaxPre = double.NegativeInfinity; MaxHidden = 0;
            FastKernels.MaxRowNorm<T>(level, _checkpoints.AsSpan(0, nd), Count, d, ref MaxHidden);
            _checkpoints.AsSpan(0, nd).CopyTo(State(keptH, 0, 0, nd));
        }

        public static double AdjointSum(SimdLevel level, ReadOnlySpan<T> p, int n, int d) => FastKernels.SumRowNorms<T>(level, p, n, d);
    }
}
