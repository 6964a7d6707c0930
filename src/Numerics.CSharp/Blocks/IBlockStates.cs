namespace ResOdeProofs.Numerics.Blocks;

/// <summary>The hidden states h_k^i and adjoints p_k^i = ∂ℓ/∂h_k^i of an evaluated network, (L+1)×n×d each, at [(k·n + i)·d].</summary>
public interface IBlockStates
{
    /// <summary>h_0..h_L of the last evaluation.</summary>
    ReadOnlySpan<double> HiddenStates { get; }
    /// <summary>p_0..p_L of the last evaluation with a gradient (empty when the network keeps no adjoints).</summary>
    ReadOnlySpan<double> Adjoints { get; }
}
