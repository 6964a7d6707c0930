using System.Numerics;

namespace ResOdeProofs.Numerics.Model;

/// <summary>
/// Receives each layer's finished gradient during an evaluation (<see cref="ResNet{T}.LayerSink"/>), so that work on
/// layer k (the trainer's record of norms) runs while G_k and Z_k are still in a cache and, with several blocks of
/// samples, on whichever engine thread finished the layer instead of on one thread after the evaluation.
/// </summary>
internal interface ILayerGradientSink<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>
    /// Called once for every layer k of an evaluation with gradient, after G_k is final (every block's part added), from
    /// one of the engine's threads; calls for different layers may run at the same time. The spans are the evaluation's
    /// whole W, V, G^W and G^V (L·m·d entries each). Not called when an engine fault is set (it changes G afterwards).
    /// </summary>
    void LayerDone(int k, ReadOnlySpan<T> w, ReadOnlySpan<T> v, ReadOnlySpan<T> gw, ReadOnlySpan<T> gv);
}
