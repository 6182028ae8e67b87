using System.Numerics.Tensors;
using BenchmarkDotNet.Attributes;
using MathNet.Numerics.LinearAlgebra;
using MLTransforms.Embeddings;

namespace MLTransforms.Benchmarks;

/// <summary>Applying a 384 -> 384 adapter to a batch of queries: naive row-by-row axpy (baseline) vs the blocked kernel.</summary>
[MemoryDiagnoser]
public class CompatibilityApplyBenchmarks
{
    private const int D = 384, Batch = 1024;
    private float[] _queries = [];
    private float[] _output = [];
    private EmbeddingAdapterMap _map = null!;

    [GlobalSetup]
    public void Setup()
    {
        var rng = new Random(1);
        var x = Enumerable.Range(0, 2000 * D).Select(_ => (float)rng.NextDouble() - 0.3f).ToArray();
        var y = Enumerable.Range(0, 2000 * D).Select(_ => (float)rng.NextDouble() - 0.5f).ToArray();
        var s = new PairedStatistics(D, D);
        s.AddBatch(x, y, 2000);
        _map = EmbeddingAdapterFitter.Fit(s, new EmbeddingAdapterOptions { Kind = EmbeddingAdapterKind.Ridge, Ridge = 0.01 });
        _queries = x.AsSpan(0, Batch * D).ToArray();
        _output = new float[Batch * D];
    }

    /// <summary>y = b + Σ x_i W_i per row with TensorPrimitives (what a straightforward implementation does).</summary>
    [Benchmark(Baseline = true, OperationsPerInvoke = Batch)]
    public void NaiveRowByRow()
    {
        var w = _map.Weights;
        for (int r = 0; r < Batch; r++)
        {
            var yr = _output.AsSpan(r * D, D);
            _map.Bias.CopyTo(yr);
            for (int i = 0; i < D; i++) TensorPrimitives.MultiplyAdd(w.Slice(i * D, D), _queries[r * D + i], yr, yr);
        }
    }

    /// <summary>The adapter's batched apply (4 x 32 register tiles).</summary>
    [Benchmark(OperationsPerInvoke = Batch)]
    public void AdapterBatch() => _map.Apply(_queries, _output, Batch);
}

/// <summary>Fitting closed-form adapters on 10,000 pairs of 384-d vectors: MathNet on the raw pairs (baseline) vs sufficient statistics.</summary>
[MemoryDiagnoser]
public class CompatibilityFitBenchmarks
{
    private const int D = 384, N = 10_000;
    private float[] _x = [], _y = [];

    [GlobalSetup]
    public void Setup()
    {
        var rng = new Random(2);
        _x = Enumerable.Range(0, N * D).Select(_ => (float)rng.NextDouble()).ToArray();
        _y = Enumerable.Range(0, N * D).Select(_ => (float)rng.NextDouble()).ToArray();
    }

    /// <summary>Centred cross-covariance with MathNet on the raw pairs, then its SVD.</summary>
    [Benchmark(Baseline = true)]
    public Matrix<double> MathNetProcrustes()
    {
        var x = Matrix<double>.Build.DenseOfRowMajor(N, D, _x.Select(v => (double)v).ToArray());
        var y = Matrix<double>.Build.DenseOfRowMajor(N, D, _y.Select(v => (double)v).ToArray());
        var mx = x.ColumnSums() / N;
        var my = y.ColumnSums() / N;
        var c = x.TransposeThisAndMultiply(y) / N - mx.OuterProduct(my);
        var svd = c.Svd(true);
        return svd.U * svd.VT;
    }

    /// <summary>Statistics (one pass) + centred Procrustes.</summary>
    [Benchmark]
    public EmbeddingAdapterMap StatisticsProcrustes()
    {
        var s = new PairedStatistics(D, D);
        s.AddBatch(_x, _y, N);
        return EmbeddingAdapterFitter.Fit(s, new EmbeddingAdapterOptions());
    }

    /// <summary>Statistics (one pass) + ridge with a given penalty.</summary>
    [Benchmark]
    public EmbeddingAdapterMap StatisticsRidge()
    {
        var s = new PairedStatistics(D, D);
        s.AddBatch(_x, _y, N);
        return EmbeddingAdapterFitter.Fit(s, new EmbeddingAdapterOptions { Kind = EmbeddingAdapterKind.Ridge, Ridge = 1e-3 });
    }

    /// <summary>Only the statistics pass over the 10,000 pairs.</summary>
    [Benchmark]
    public long StatisticsOnly()
    {
        var s = new PairedStatistics(D, D);
        s.AddBatch(_x, _y, N);
        return s.Count;
    }
}
