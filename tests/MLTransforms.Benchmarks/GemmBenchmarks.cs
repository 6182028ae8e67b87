using BenchmarkDotNet.Attributes;
using MLTransforms.TimeSeries.OLinear;
using MLTransforms.Core.Numerics;

namespace MLTransforms.Benchmarks;

/// <summary>Single-precision GEMM backends on an OLinear training shape (224 x 512 x 512) and 1024^3: the managed
/// kernel (baseline) against OpenBLAS's cblas_sgemm (when libopenblas0 is installed; otherwise both run managed).</summary>
public class GemmBenchmarks
{
    private float[] _a = [], _b = [], _c = [];

    /// <summary>m = n = k for the square case, or the OLinear block shape.</summary>
    [Params("224x512x512", "1024x1024x1024")]
    public string Shape { get; set; } = "";

    private (int M, int N, int K) Dims => Shape switch { "224x512x512" => (224, 512, 512), _ => (1024, 1024, 1024) };

    [GlobalSetup]
    public void Setup()
    {
        var (m, n, k) = Dims;
        var rng = new Random(1);
        _a = Enumerable.Range(0, m * k).Select(_ => (float)rng.NextDouble()).ToArray();
        _b = Enumerable.Range(0, k * n).Select(_ => (float)rng.NextDouble()).ToArray();
        _c = new float[m * n];
    }

    [Benchmark(Baseline = true)]
    public void Managed()
    {
        var (m, n, k) = Dims;
        Gemm.ForceManaged = true;
        Gemm.Multiply(false, false, m, n, k, 1, _a, _b, 0, _c);
        Gemm.ForceManaged = false;
    }

    [Benchmark]
    public void Native()
    {
        var (m, n, k) = Dims;
        Gemm.Multiply(false, false, m, n, k, 1, _a, _b, 0, _c);
    }
}
