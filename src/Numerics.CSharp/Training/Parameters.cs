using ResOdeProofs.Numerics.Blocks;

namespace ResOdeProofs.Numerics.Training;

/// <summary>
/// The parameters of every layer of one network, by the block's named parts (<see cref="IResidualBlock.ParameterLayout"/>;
/// the MLP's are W, m×d, and V, d×m), for every architecture: initial parameters and the snapshots of a run. They are
/// held in the form their producer computes in, θ (L·P, layer after layer, the parts of one layer one after the other:
/// the generic pass's layout) or part by part (each part L·size, layer-major: the fast kernels' separate W and V
/// arrays), and the other form is built from it on first use, entry for entry (no arithmetic, so both forms hold the
/// same bits). The one home of that conversion: over a block, or over a layout of named parts alone (a run read from
/// disk whose architecture this engine may not have, <c>RunData</c>).
/// </summary>
public sealed class Parameters
{
    private readonly string[] _names;
    private readonly int[] _offsets, _sizes;
    private double[]? _theta;
    private readonly double[]?[] _parts;

    private Parameters(IResidualBlock block, int depth)
    {
        if (depth < 1) throw new ArgumentException($"depth L must be at least 1 (got {depth})");
        (_offsets, _sizes) = BlockInitialization.Parts(block);
        _names = block.ParameterLayout.Select(p => p.Name).ToArray();
        _parts = new double[]?[_names.Length];
        Depth = depth;
        ParameterCount = block.ParameterCount;
        Owner = $"block '{block.Name}'";
    }

    private Parameters(IReadOnlyList<(string Name, int[] Shape)> layout, int depth, string owner)
    {
        if (depth < 1) throw new ArgumentException($"depth L must be at least 1 (got {depth})");
        _names = layout.Select(p => p.Name).ToArray();
        _sizes = layout.Select(p => p.Shape.Aggregate(1, (a, b) => a * b)).ToArray();
        _offsets = new int[_sizes.Length];
        for (int q = 1; q < _sizes.Length; q++) _offsets[q] = _offsets[q - 1] + _sizes[q - 1];
        _parts = new double[]?[_names.Length];
        Depth = depth;
        ParameterCount = _sizes.Sum();
        Owner = owner;
    }

    /// <summary>Whose parts these are, for messages (a block, or an architecture read from a run).</summary>
    private string Owner { get; }

    /// <summary>Depth L.</summary>
    public int Depth { get; }
    /// <summary>Parameters per layer P.</summary>
    public int ParameterCount { get; }
    /// <summary>Parameters held as θ (L·P, layer after layer); the array is kept, not copied.</summary>
    public static Parameters FromTheta(IResidualBlock block, int depth, double[] theta) => HoldTheta(new Parameters(block, depth), theta);

    /// <summary>Parameters over a layout of named parts (name and shape, storage order), held as θ; the array is kept, not copied.</summary>
    public static Parameters FromTheta(IReadOnlyList<(string Name, int[] Shape)> layout, string owner, int depth, double[] theta) =>
        HoldTheta(new Parameters(layout, depth, owner), theta);

    /// <summary>Parameters held part by part, in layout order (each L·size, layer-major); the arrays are kept, not copied.</summary>
    public static Parameters FromParts(IResidualBlock block, int depth, params double[][] parts) => HoldParts(new Parameters(block, depth), parts);

    /// <summary>Parameters over a layout of named parts (name and shape, storage order), held part by part; the arrays are kept, not copied.</summary>
    public static Parameters FromParts(IReadOnlyList<(string Name, int[] Shape)> layout, string owner, int depth, params double[][] parts) =>
        HoldParts(new Parameters(layout, depth, owner), parts);

    private static Parameters HoldTheta(Parameters p, double[] theta)
    {
        if (theta.Length != p.Depth * p.ParameterCount)
            throw new ArgumentException($"θ has {theta.Length} entries, expected L·P = {p.Depth}·{p.ParameterCount}");
        p._theta = theta;
        return p;
    }

    private static Parameters HoldParts(Parameters p, double[][] parts)
    {
        int depth = p.Depth;
        if (parts.Length != p._names.Length)
            throw new ArgumentException($"{parts.Length} part(s) given for the {p._names.Length} part(s) ({string.Join(", ", p._names)}) of {p.Owner}");
        for (int q = 0; q < parts.Length; q++)
        {
            if (parts[q].Length != depth * p._sizes[q])
                throw new ArgumentException($"part {p._names[q]} has {parts[q].Length} entries, expected L·size = {depth}·{p._sizes[q]}");
            p._parts[q] = parts[q];
        }
        return p;
    }

    /// <summary>θ (L·P, layer after layer).</summary>
    public double[] Theta => _theta ??= Interleave();

    /// <summary>Part <paramref name="q"/> (layout order) of every layer, L·size, layer-major.</summary>
    public double[] Part(int q) => _parts[q] ??= Extract(q);

    /// <summary>Part <paramref name="name"/> of every layer, L·size, layer-major.</summary>
    public double[] Part(string name)
    {
        int q = Array.IndexOf(_names, name);
        if (q < 0) throw new ArgumentException($"no part '{name}' (the parts: {string.Join(", ", _names)})");
        return Part(q);
    }

    /// <summary>The MLP's W_k (L·m·d, layer-major): its part "W".</summary>
    public double[] W => Part("W");
    /// <summary>The MLP's V_k (L·d·m, layer-major): its part "V".</summary>
    public double[] V => Part("V");

    private double[] Extract(int q)
    {
        var theta = _theta!;
        int P = ParameterCount, size = _sizes[q], off = _offsets[q];
        var part = new double[Depth * size];
        for (int k = 0; k < Depth; k++) Array.Copy(theta, k * P + off, part, k * size, size);
        return part;
    }

    private double[] Interleave()
    {
        int P = ParameterCount;
        var theta = new double[Depth * P];
        for (int q = 0; q < _names.Length; q++)
        {
            var part = _parts[q]!;
            int size = _sizes[q], off = _offsets[q];
            for (int k = 0; k < Depth; k++) Array.Copy(part, k * size, theta, k * P + off, size);
        }
        return theta;
    }
}
