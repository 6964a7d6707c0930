using System.Numerics;

namespace ResOdeProofs.Numerics.Model;

/// <summary>
/// Deliberate engine faults, for the property suite's mutation tests only. They are reachable from
/// code that sets <see cref="ResNet{T}.Fault"/> (the CLI exposes them only behind an explicit
/// --inject-fault option that marks the run directory as faulty).
/// </summary>
public enum EngineFault
{
    /// <summary>The engine as specified.</summary>
    None,
    /// <summary>The gradient of the middle layer (k = ⌊L/2⌋, 0-based) is multiplied by 1.01.</summary>
    ScaledLayerGradient,
    /// <summary>The forward pass uses 1/(L+1) instead of 1/L; the backward pass still uses 1/L.</summary>
    ForwardDepthScale,
    /// <summary>The backward pass uses σ'(u + 0.05) instead of σ'(u).</summary>
    WrongActivationDerivative,
    /// <summary>Each update (after the first) applies the previous iterate's gradient.</summary>
    StaleGradient,
}

/// <summary>
/// What a fault changes in <see cref="ResNet{T}"/>, kept out of the engine's code: the network holds one of
/// these only when a fault is set, and calls it at three places (the forward scale, the stored σ', the
/// finished gradient). <see cref="EngineFault.StaleGradient"/> changes the optimizer, not the network
/// (see <see cref="StaleGradient{T}"/>).
/// </summary>
internal sealed class FaultInjection<T>(EngineFault kind, ActivationKind activation) where T : unmanaged, IFloatingPointIeee754<T>
{
    public EngineFault Kind { get; } = kind;

    /// <summary>The factor of the forward residual update: 1/(L+1) instead of 1/L for ForwardDepthScale.</summary>
    public T ForwardScale(int depth) =>
        Kind == EngineFault.ForwardDepthScale ? T.One / T.CreateTruncating(depth + 1) : T.One / T.CreateTruncating(depth);

    /// <summary>σ' stored for the backward pass: σ'(u + 0.05) for WrongActivationDerivative.</summary>
    public void StoredDerivative(ReadOnlySpan<T> pre, Span<T> derivative)
    {
        if (Kind != EngineFault.WrongActivationDerivative) return;
        for (int i = 0; i < pre.Length; i++)
            derivative[i] = T.CreateTruncating(Activations.Derivative(activation, double.CreateTruncating(pre[i]) + 0.05));
    }

    /// <summary>The finished depth-scaled gradient: layer ⌊L/2⌋ times 1.01 for ScaledLayerGradient.</summary>
    public void Gradient(Span<T> gradW, Span<T> gradV, int depth, int layerSize)
    {
        if (Kind != EngineFault.ScaledLayerGradient) return;
        int k = depth / 2;
        T f = T.CreateTruncating(1.01);
        var gwk = gradW.Slice(k * layerSize, layerSize);
        var gvk = gradV.Slice(k * layerSize, layerSize);
        for (int i = 0; i < layerSize; i++) { gwk[i] *= f; gvk[i] *= f; }
    }
}

/// <summary>
/// <see cref="EngineFault.StaleGradient"/> for an optimizer: each update after the first applies the gradient
/// of the previous iterate. <see cref="For"/> returns null without that fault.
/// </summary>
internal sealed class StaleGradient<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly T[] _w, _v;
    private bool _started;

    private StaleGradient(int size) { _w = new T[size]; _v = new T[size]; }

    /// <summary>The stale-gradient state when <paramref name="fault"/> asks for it, else null.</summary>
    public static StaleGradient<T>? For(EngineFault fault, int size) => fault == EngineFault.StaleGradient ? new StaleGradient<T>(size) : null;

    /// <summary>The gradient to apply at this update: the previous iterate's (the current one at the first update).</summary>
    public (T[] W, T[] V) Applied(T[] gw, T[] gv)
    {
        if (!_started) { gw.CopyTo(_w, 0); gv.CopyTo(_v, 0); _started = true; }
        return (_w, _v);
    }

    /// <summary>After the update: remembers the current gradient for the next one.</summary>
    public void Remember(T[] gw, T[] gv) { gw.CopyTo(_w, 0); gv.CopyTo(_v, 0); }
}
