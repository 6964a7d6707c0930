using System.Numerics;
using System.Runtime.CompilerServices;
using ResOdeProofs.Numerics.Model;

namespace ResOdeProofs.Numerics.Training;

/// <summary>
/// The trainer's work around one engine evaluation in two passes over the layers instead of eight: the trace record
/// with the gradient's finiteness check (<see cref="Record"/>), and the update with the parameters' finiteness check
/// (<see cref="Update"/>). Each layer's W_k, V_k and gradients are read while they are in the cache; the update reuses
/// the record's ‖G_k‖² instead of summing it again. Every number is the one that <see cref="Trainer.Record{T}"/>,
/// <see cref="Trainer.ApplyUpdate{T}"/> and <see cref="FastKernels.AllFinite{T}"/> give (the same kernels on the same
/// slices, the same order of the sums over layers): the passes only change when each layer is visited.
/// With two threads and at least <see cref="ParallelEntries"/> entries per tensor, each pass runs on both threads, in
/// runs of consecutive layers claimed by whichever thread is free; the per-layer values are kept and combined in layer
/// order afterwards (each layer's sums are the same kernels on the same slices), so nothing changes either.
/// </summary>
internal sealed class IterationPasses<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>L·m·d from which the passes use two threads (when the engine does): below it the hand-off costs more than it saves.</summary>
    public const int ParallelEntries = 1 << 15;

    /// <summary>Runs of consecutive layers a split pass is cut into (at most; one per layer when there are fewer layers).</summary>
    public const int MaxParts = 8;

    private readonly SimdLevel _level;
    private readonly int _layers, _md;
    private readonly bool _split;
    private readonly int _parts;
    // per layer: ‖G^W_k‖², ‖G^V_k‖², ‖W_k‖_F, ‖V_k‖_F, ‖W_{k+1} − W_k‖², ‖V_{k+1} − V_k‖², the applied step and whether clipped
    private readonly double[] _gwSq, _gvSq, _wF, _vF, _dw, _dv, _step;
    private readonly bool[] _clipped;
    private readonly bool[] _finite;
    private readonly Split _splitWork;
    private bool _recorded;

    // the operands of the pass in progress (read by the second half's thread)
    private T[] _w = Array.Empty<T>(), _v = Array.Empty<T>(), _gw = Array.Empty<T>(), _gv = Array.Empty<T>();
    // where the update writes Z − ηcG (W and V themselves, or other arrays: see Update)
    private T[] _wTo = Array.Empty<T>(), _vTo = Array.Empty<T>();
    private double _eta;
    private double? _clip;

    /// <summary>
    /// Passes over <paramref name="layers"/> layers of <paramref name="layerSize"/> entries per tensor at <paramref name="level"/>;
    /// split over <paramref name="threads"/> &gt; 1 threads from <paramref name="parallelEntries"/> entries L·m·d per tensor
    /// (default <see cref="ParallelEntries"/>; a benchmark sets it to time both ways in one process), with the engine's
    /// <paramref name="helper"/> thread when given (<see cref="ResNet{T}.Helper"/>: one thread lingers for both), else an own one.
    /// </summary>
    public IterationPasses(SimdLevel level, int layers, int layerSize, int threads = 1, long parallelEntries = ParallelEntries,
        EngineHelper? helper = null)
    {
        _level = level; _layers = layers; _md = layerSize;
        _split = threads > 1 && layers > 1 && (long)layers * layerSize >= parallelEntries;
        _parts = _split ? Math.Min(layers, MaxParts) : 1;
        _finite = new bool[_parts];
        _gwSq = new double[layers]; _gvSq = new double[layers]; _wF = new double[layers]; _vF = new double[layers];
        _dw = new double[layers]; _dv = new double[layers]; _step = new double[layers]; _clipped = new bool[layers];
        _splitWork = new Split(this, _split ? helper ?? new EngineHelper() : null);
    }

    /// <summary>
    /// Writes trace row <paramref name="j"/> exactly as <see cref="Trainer.Record{T}"/> and returns whether every entry
    /// of the gradient is finite (<see cref="FastKernels.AllFinite{T}"/> over both).
    /// </summary>
    public bool Record(Dictionary<string, double[]> trace, int j, EvaluationStats st, T[] w, T[] v, T[] gw, T[] gv)
    {
        _w = w; _v = v; _gw = gw; _gv = gv;
        Run(update: false);
        int L = _layers;
        double gsum = 0, gwMax = 0, gvMax = 0, sW = 0, sV = 0, sZ = 0, wF = 0, vF = 0;
        for (int k = 0; k < L; k++)
        {
            double a = _gwSq[k], b = _gvSq[k];
            gsum += a + b;
            gwMax = Math.Max(gwMax, Math.Sqrt(a)); gvMax = Math.Max(gvMax, Math.Sqrt(b));
            wF = Math.Max(wF, _wF[k]); vF = Math.Max(vF, _vF[k]);
            if (k + 1 < L)
            {
                double dw = _dw[k], dv = _dv[k];
                sW = Math.Max(sW, Math.Sqrt(dw)); sV = Math.Max(sV, Math.Sqrt(dv)); sZ = Math.Max(sZ, Math.Sqrt(dw + dv));
            }
        }
        Trainer.WriteTraceRow(trace, j, st, L, gsum, gwMax, gvMax, sW, sV, sZ, wF, vF);
        _recorded = true;
        return AllFiniteParts();
    }

    /// <summary>
    /// Z_k ← Z_k − η·c_k·G_k for every layer with the gradient of the last <see cref="Record"/> (the result of
    /// <see cref="Trainer.ApplyUpdate{T}"/> on it, bit for bit); returns max_k ‖η c_k G_k‖, the number of clipped layers
    /// and whether every updated parameter is finite.
    /// </summary>
    public (double StepMax, int Clipped, bool Finite) Update(T[] w, T[] v, T[] gw, T[] gv, double eta, double? clip) =>
        UpdateInto(w, v, gw, gv, eta, clip, w, v);

    /// <summary>
    /// <see cref="Update(T[], T[], T[], T[], double, double?)"/> written into <paramref name="wTo"/>, <paramref name="vTo"/>
    /// (the same numbers, W and V left as they were when the destinations are other arrays): a caller that hands the iterate
    /// to a reader on another thread alternates two sets instead of copying it.
    /// </summary>
    public (double StepMax, int Clipped, bool Finite) UpdateInto(T[] w, T[] v, T[] gw, T[] gv, double eta, double? clip, T[] wTo, T[] vTo)
    {
        if (!_recorded) throw new InvalidOperationException("the update needs the record of the same gradient first");
        if (wTo.Length != w.Length || vTo.Length != v.Length) throw new ArgumentException("destinations of another size");
        _recorded = false;
        _w = w; _v = v; _gw = gw; _gv = gv; _eta = eta; _clip = clip; _wTo = wTo; _vTo = vTo;
        Run(update: true);
        double stepMax = 0; int clipped = 0;
        for (int k = 0; k < _layers; k++) { stepMax = Math.Max(stepMax, _step[k]); if (_clipped[k]) clipped++; }
        return (stepMax, clipped, AllFiniteParts());
    }

    private bool AllFiniteParts()
    {
        foreach (bool f in _finite) if (!f) return false;
        return true;
    }

    private void Run(bool update)
    {
        if (!_split) Pass(update, 0, 0, _layers);
        else _splitWork.Run(update);
    }

    /// <summary>Layers k0..k1−1 of the record (per-layer values) or of the update; part h's finiteness goes to _finite[h].</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Pass(bool update, int h, int k0, int k1)
    {
        int L = _layers, md = _md;
        var level = _level;
        T[] w = _w, v = _v, gw = _gw, gv = _gv;
        bool finite = true;
        if (!update)
        {
            bool fused = TraceKernels.Fits(md);
            for (int k = k0; k < k1; k++)
            {
                var gwk = gw.AsSpan(k * md, md); var gvk = gv.AsSpan(k * md, md);
                var wk = w.AsSpan(k * md, md); var vk = v.AsSpan(k * md, md);
                if (fused)
                {
                    // the same sums in two loops instead of eight (TraceKernels: each sum in its own order, the same bits)
                    bool last = k + 1 == L;
                    var (a, b, dw, fw) = TraceKernels.LayerSums<T>(level, gwk, wk, last ? default : w.AsSpan((k + 1) * md, md));
                    var (c, e, dv, fv) = TraceKernels.LayerSums<T>(level, gvk, vk, last ? default : v.AsSpan((k + 1) * md, md));
                    _gwSq[k] = a; _gvSq[k] = c; _wF[k] = Math.Sqrt(b); _vF[k] = Math.Sqrt(e);
                    if (!last) { _dw[k] = dw; _dv[k] = dv; }
                    finite = finite && fw && fv;
                    continue;
                }
                _gwSq[k] = FastKernels.SumSquares<T>(level, gwk); _gvSq[k] = FastKernels.SumSquares<T>(level, gvk);
                _wF[k] = Math.Sqrt(FastKernels.SumSquares<T>(level, wk));
                _vF[k] = Math.Sqrt(FastKernels.SumSquares<T>(level, vk));
                if (k + 1 < L)
                {
                    _dw[k] = FastKernels.SumSquaresDiff<T>(level, w.AsSpan((k + 1) * md, md), wk);
                    _dv[k] = FastKernels.SumSquaresDiff<T>(level, v.AsSpan((k + 1) * md, md), vk);
                }
                if (finite) finite = FastKernels.AllFinite<T>(level, gwk) && FastKernels.AllFinite<T>(level, gvk);
            }
        }
        else
        {
            double eta = _eta;
            T etaT = T.CreateTruncating(eta);
            for (int k = k0; k < k1; k++)
            {
                // as Trainer.ApplyUpdate: ‖G_k‖ = √(‖G^W_k‖² + ‖G^V_k‖²), c_k = min(1, C/‖G_k‖)
                double nrm = Math.Sqrt(_gwSq[k] + _gvSq[k]);
                double factor = 1.0;
                _clipped[k] = false;
                if (_clip is double c && nrm > c) { factor = c / nrm; _clipped[k] = true; }
                T f = etaT * T.CreateTruncating(factor);
                var wk = w.AsSpan(k * md, md); var vk = v.AsSpan(k * md, md);
                // Kernels.Axpy's arithmetic and AllFinite of the result in one pass over each tensor
                bool fw = TraceKernels.AxpyFiniteInto(level, -f, gw.AsSpan(k * md, md), wk, _wTo.AsSpan(k * md, md));
                bool fv = TraceKernels.AxpyFiniteInto(level, -f, gv.AsSpan(k * md, md), vk, _vTo.AsSpan(k * md, md));
                _step[k] = eta * factor * nrm;
                finite = finite && fw && fv;
            }
        }
        _finite[h] = finite;
    }

    /// <summary>
    /// The parts of a split pass (<see cref="MaxParts"/> runs of consecutive layers): the pass is offered to the helper
    /// thread (<see cref="EngineHelper"/>), and the caller and that thread claim parts through a counter until none is left, so a pool thread that starts late
    /// takes only what the caller has not reached yet (the caller never waits for a thread to start). Each part writes only
    /// its layers' values and its own finiteness flag, so the result does not depend on which thread ran which part.
    /// </summary>
    private sealed class Split(IterationPasses<T> owner, EngineHelper? helper) : IClaimedWork
    {
        private readonly ManualResetEventSlim _done = new(false);
        private int _next, _pending;
        private bool _update;
        private Exception? _error;

        public void Run(bool update)
        {
            _update = update; _error = null;
            _done.Reset();
            Volatile.Write(ref _pending, owner._parts);
            Volatile.Write(ref _next, 0);
            helper!.Post(this);
            RunClaimed();
            EngineHelper.Wait(ref _pending, _done);
            if (_error is Exception ex) throw new InvalidOperationException("a trainer pass failed", ex);
        }

        public void RunClaimed()
        {
            int parts = owner._parts, L = owner._layers;
            while (true)
            {
                int h = Interlocked.Increment(ref _next) - 1;
                if (h >= parts) return;
                try { owner.Pass(_update, h, (int)((long)L * h / parts), (int)((long)L * (h + 1) / parts)); }
                catch (Exception ex) { _error = ex; }
                finally { if (Interlocked.Decrement(ref _pending) == 0) _done.Set(); }
            }
        }
    }
}
