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
/// </summary>
internal sealed class IterationPasses<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly SimdLevel _level;
    private readonly int _layers, _md;
    private readonly double[] _gradSq;   // ‖G^W_k‖² + ‖G^V_k‖² of the last record, summed as the update sums it
    private bool _recorded;

    public IterationPasses(SimdLevel level, int layers, int layerSize)
    {
        _level = level; _layers = layers; _md = layerSize;
        _gradSq = new double[layers];
    }

    /// <summary>
    /// Writes trace row <paramref name="j"/> exactly as <see cref="Trainer.Record{T}"/> and returns whether every entry
    /// of the gradient is finite (<see cref="FastKernels.AllFinite{T}"/> over both).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public bool Record(Dictionary<string, double[]> trace, int j, EvaluationStats st, T[] w, T[] v, T[] gw, T[] gv)
    {
        int L = _layers, md = _md;
        var level = _level;
        double gsum = 0, gwMax = 0, gvMax = 0, sW = 0, sV = 0, sZ = 0, wF = 0, vF = 0;
        bool finite = true;
        for (int k = 0; k < L; k++)
        {
            var gwk = gw.AsSpan(k * md, md); var gvk = gv.AsSpan(k * md, md);
            var wk = w.AsSpan(k * md, md); var vk = v.AsSpan(k * md, md);
            double a = FastKernels.SumSquares<T>(level, gwk), b = FastKernels.SumSquares<T>(level, gvk);
            _gradSq[k] = a + b;
            gsum += a + b;
            gwMax = Math.Max(gwMax, Math.Sqrt(a)); gvMax = Math.Max(gvMax, Math.Sqrt(b));
            wF = Math.Max(wF, Math.Sqrt(FastKernels.SumSquares<T>(level, wk)));
            vF = Math.Max(vF, Math.Sqrt(FastKernels.SumSquares<T>(level, vk)));
            if (k + 1 < L)
            {
                double dw = FastKernels.SumSquaresDiff<T>(level, w.AsSpan((k + 1) * md, md), wk);
                double dv = FastKernels.SumSquaresDiff<T>(level, v.AsSpan((k + 1) * md, md), vk);
                sW = Math.Max(sW, Math.Sqrt(dw)); sV = Math.Max(sV, Math.Sqrt(dv)); sZ = Math.Max(sZ, Math.Sqrt(dw + dv));
            }
            if (finite) finite = FastKernels.AllFinite<T>(level, gwk) && FastKernels.AllFinite<T>(level, gvk);
        }
        Trainer.WriteTraceRow(trace, j, st, L, gsum, gwMax, gvMax, sW, sV, sZ, wF, vF);
        _recorded = true;
        return finite;
    }

    /// <summary>
    /// Z_k ← Z_k − η·c_k·G_k for every layer with the gradient of the last <see cref="Record"/> (the result of
    /// <see cref="Trainer.ApplyUpdate{T}"/> on it, bit for bit); returns max_k ‖η c_k G_k‖, the number of clipped layers
    /// and whether every updated parameter is finite.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public (double StepMax, int Clipped, bool Finite) Update(T[] w, T[] v, T[] gw, T[] gv, double eta, double? clip)
    {
        if (!_recorded) throw new InvalidOperationException("the update needs the record of the same gradient first");
        _recorded = false;
        int L = _layers, md = _md;
        var level = _level;
        double stepMax = 0; int clipped = 0;
        bool finite = true;
        T etaT = T.CreateTruncating(eta);
        for (int k = 0; k < L; k++)
        {
            double nrm = Math.Sqrt(_gradSq[k]);
            double factor = 1.0;
            if (clip is double c && nrm > c) { factor = c / nrm; clipped++; }
            T f = etaT * T.CreateTruncating(factor);
            var wk = w.AsSpan(k * md, md); var vk = v.AsSpan(k * md, md);
            Kernels.Axpy(-f, gw.AsSpan(k * md, md), wk);
            Kernels.Axpy(-f, gv.AsSpan(k * md, md), vk);
            stepMax = Math.Max(stepMax, eta * factor * nrm);
            if (finite) finite = FastKernels.AllFinite<T>(level, wk) && FastKernels.AllFinite<T>(level, vk);
        }
        return (stepMax, clipped, finite);
    }
}
