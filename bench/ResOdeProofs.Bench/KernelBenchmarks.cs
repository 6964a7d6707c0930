using BenchmarkDotNet.Attributes;
using ResOdeProofs.Numerics;
using ResOdeProofs.Numerics.Model;

namespace ResOdeProofs.Bench;

/// <summary>
/// The four products of one residual block at the paper's sizes (n samples, d = 16, m), per kernel width.
/// FLOPs per call: 2·n·d·m.
/// </summary>
[MemoryDiagnoser]
public class GemmBenchmarks
{
    [Params(SimdLevel.Scalar, SimdLevel.Vector256, SimdLevel.Vector512)] public SimdLevel Level;
    [Params(32, 64)] public int M;
    public const int N = 100, D = 16;
    private double[] _h = null!, _w = null!, _wt = null!, _pre = null!, _p = null!, _g = null!;

    [GlobalSetup]
    public void Setup()
    {
        var r = new System.Random(1);
        double[] Fill(int k) => Enumerable.Range(0, k).Select(_ => r.NextDouble() - 0.5).ToArray();
        _h = Fill(N * D); _w = Fill(M * D); _wt = Fill(M * D); _pre = Fill(N * M); _p = Fill(N * D); _g = Fill(M * D);
        if (Level > Simd.Hardware) throw new NotSupportedException($"{Level} is not accelerated here");
    }

    /// <summary>pre = h Wᵀ (n×m), the forward product.</summary>
    [Benchmark] public void Forward() => FastKernels.Gemm<double>(Level, _h, D, 1, _wt, _pre, N, D, M, 1.0, false);
    /// <summary>q = p V (n×m).</summary>
    [Benchmark] public void AdjointToHidden() => FastKernels.Gemm<double>(Level, _p, D, 1, _w, _pre, N, D, M, 1.0, false);
    /// <summary>G^W = Σ_i q_i h_iᵀ (m×d), a sum of n outer products.</summary>
    [Benchmark] public void GradientW() => FastKernels.Gemm<double>(Level, _pre, 1, M, _h, _g, M, N, D, 1.0, false);
    /// <summary>p += (1/L) q W (n×d).</summary>
    [Benchmark] public void AdjointUpdate() => FastKernels.Gemm<double>(Level, _pre, M, 1, _w, _p, N, M, D, 1e-3, true);
}

/// <summary>σ and σ' together over an n×m block of pre-activations (u ~ N(0, 1)).</summary>
public class ActivationBenchmarks
{
    [Params(SimdLevel.Scalar, SimdLevel.Vector256, SimdLevel.Vector512)] public SimdLevel Level;
    [Params(ActivationKind.Gelu, ActivationKind.Relu, ActivationKind.Tanh)] public ActivationKind Kind;
    private double[] _u = null!, _s = null!, _sd = null!;
    private float[] _uf = null!, _sf = null!, _sdf = null!;

    [GlobalSetup]
    public void Setup()
    {
        var r = new System.Random(2);
        _u = Enumerable.Range(0, 3200).Select(_ => 2 * (r.NextDouble() - 0.5) * 2).ToArray();
        _s = new double[_u.Length]; _sd = new double[_u.Length];
        _uf = _u.Select(x => (float)x).ToArray(); _sf = new float[_u.Length]; _sdf = new float[_u.Length];
    }

    [Benchmark] public void Float64() => VectorActivations.Evaluate<double>(Level, Kind, _u, _s, _sd);
    [Benchmark] public void Float32() => VectorActivations.Evaluate<float>(Level, Kind, _uf, _sf, _sdf);
}

/// <summary>One loss-and-gradient evaluation of the whole network (forward and backward) at the figure sizes.</summary>
public class EngineBenchmarks
{
    [Params(64, 1024)] public int Depth;
    [Params(1, 2)] public int Threads;
    [Params(false, true)] public bool Float32;
    private Action _eval = null!;

    [GlobalSetup]
    public void Setup()
    {
        int m = Depth == 64 ? 64 : 32, n = Depth == 64 ? 50 : 100, d = 16;
        var shape = NetworkShape.Square(Depth, m, d);
        var data = Dataset.SyntheticGaussian(n, d, d, 1);
        var opts = new EngineOptions { Threads = Threads };
        var r = new System.Random(3);
        var w = Enumerable.Range(0, Depth * m * d).Select(_ => (r.NextDouble() - 0.5) / 2).ToArray();
        var v = Enumerable.Range(0, Depth * m * d).Select(_ => (r.NextDouble() - 0.5) / 4).ToArray();
        if (Float32)
        {
            var net = new ResNet<float>(shape, ActivationKind.Gelu, data, opts);
            var wf = w.Select(x => (float)x).ToArray(); var vf = v.Select(x => (float)x).ToArray();
            var gw = new float[wf.Length]; var gv = new float[vf.Length];
            _eval = () => net.Evaluate(wf, vf, gw, gv);
        }
        else
        {
            var net = new ResNet<double>(shape, ActivationKind.Gelu, data, opts);
            var gw = new double[w.Length]; var gv = new double[v.Length];
            _eval = () => net.Evaluate(w, v, gw, gv);
        }
    }

    [Benchmark] public void Evaluate() => _eval();
}

/// <summary>
/// The float64 FMA peak of one core at a vector width, measured (see <c>Gemm512.FmaPeak</c>): the GEMM
/// benchmarks' GFLOP/s divided by this one's, taken in the same run, is the fraction of the peak without
/// knowing the clock (which a virtual machine does not show). FLOP per call = Trips · 12 · 2 · lanes.
/// </summary>
public class FmaPeakBenchmarks
{
    [Params(SimdLevel.Vector256, SimdLevel.Vector512)] public SimdLevel Level;
    /// <summary>Loop trips per call.</summary>
    public const int Trips = 100_000;

    [GlobalSetup]
    public void Setup() { if (Level > Simd.Hardware) throw new NotSupportedException($"{Level} is not accelerated here"); }

    [Benchmark]
    public double Peak() => Level == SimdLevel.Vector512 ? Gemm512.FmaPeak(Trips) : Gemm256.FmaPeak(Trips);
}
