using BenchmarkDotNet.Attributes;
using MLTransforms.Core.Numerics;

namespace MLTransforms.Benchmarks;

/// <summary>Single-precision GEMM backends on 1024^3 and the shapes of an OLinear training step (batch 32, N = 7,
/// d_model = 512, D H = 1536): the managed kernel (baseline) against the native BLAS that <see cref="Gemm"/> loaded
/// (OpenBLAS or Accelerate; without one both run managed, see <see cref="Gemm.BackendDescription"/>).</summary>
public class GemmBenchmarks
{
    private float[] _a = [], _b = [], _c = [];

    /// <summary>The product: m x n x k with the transposes used by the trainer.</summary>
    [Params("1024^3", "X W 224x512x512", "X W_out 224x1536x512", "X^T dY 512x512x224", "dY W^T 224x512x1536")]
    public string Shape { get; set; } = "";

    private (bool TA, bool TB, int M, int N, int K) Dims => Shape switch
    {
        "X W 224x512x512" => (false, false, 224, 512, 512),
        "X W_out 224x1536x512" => (false, false, 224, 1536, 512),
        "X^T dY 512x512x224" => (true, false, 512, 512, 224),
        "dY W^T 224x512x1536" => (false, true, 224, 512, 1536),
        _ => (false, false, 1024, 1024, 1024),
    };

    [GlobalSetup]
    public void Setup()
    {
        var (_, _, m, n, k) = Dims;
        var rng = new SplitMix64(1);
        _a = Enumerable.Range(0, m * k).Select(_ => rng.NextSingle()).ToArray();
        _b = Enumerable.Range(0, k * n).Select(_ => rng.NextSingle()).ToArray();
        _c = new float[m * n];
        Console.WriteLine($"// GEMM backend: {Gemm.BackendDescription}");
    }

    [Benchmark(Baseline = true)]
    public void Managed()
    {
        var (ta, tb, m, n, k) = Dims;
        Gemm.ForceManaged = true;
        try { Gemm.Multiply(ta, tb, m, n, k, 1, _a, _b, 0, _c); }
        finally { Gemm.ForceManaged = false; }
    }

    [Benchmark]
    public void Native()
    {
        var (ta, tb, m, n, k) = Dims;
        Gemm.Multiply(ta, tb, m, n, k, 1, _a, _b, 0, _c);
    }
}
