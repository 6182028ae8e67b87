using BenchmarkDotNet.Attributes;
using MLTransforms.Embeddings;
using MLTransforms.Onnx;

namespace MLTransforms.Benchmarks;

/// <summary>Synthetic 384-d unit pairs with a nonlinear relation, y = unit(x R + 0.3 tanh(x M)), for the adapter benchmarks.</summary>
internal static class AdapterBenchmarkData
{
    public const int D = 384;

    public static (float[] X, float[] Y) Pairs(int n, int seed)
    {
        var rng = new Random(seed);
        float G() => (float)(Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble()));
        var r = Enumerable.Range(0, D * D).Select(_ => G() / MathF.Sqrt(D)).ToArray();
        var m = Enumerable.Range(0, D * D).Select(_ => G() / MathF.Sqrt(D)).ToArray();
        var x = new float[n * D];
        var y = new float[n * D];
        for (int i = 0; i < n; i++)
        {
            var xi = x.AsSpan(i * D, D);
            for (int j = 0; j < D; j++) xi[j] = G();
            System.Numerics.Tensors.TensorPrimitives.Divide(xi, System.Numerics.Tensors.TensorPrimitives.Norm(xi), xi);
            var yi = y.AsSpan(i * D, D);
            for (int j = 0; j < D; j++)
            {
                float lin = 0, z = 0;
                for (int k = 0; k < D; k++) { lin += xi[k] * r[k * D + j]; z += xi[k] * m[k * D + j]; }
                yi[j] = lin + 0.3f * MathF.Tanh(4 * z);
            }
            System.Numerics.Tensors.TensorPrimitives.Divide(yi, System.Numerics.Tensors.TensorPrimitives.Norm(yi), yi);
        }
        return (x, y);
    }
}

/// <summary>
/// Fitting an adapter on 5,000 pairs of 384-d vectors (issue target: the residual MLP in ≤ 30 s on 2 cores): the
/// default Procrustes from statistics (baseline) vs the residual MLP at its default width and at 1024.
/// </summary>
[MemoryDiagnoser]
public class AdapterFitKindBenchmarks
{
    private const int N = 5000;
    private float[] _x = [], _y = [];

    /// <summary>Builds the pairs.</summary>
    [GlobalSetup]
    public void Setup() => (_x, _y) = AdapterBenchmarkData.Pairs(N, seed: 3);

    /// <summary>Centred Procrustes: statistics in one pass, then the SVD.</summary>
    [Benchmark(Baseline = true)]
    public EmbeddingAdapterMap Procrustes()
    {
        var folds = Enumerable.Range(0, 5).Select(_ => new PairedStatistics(AdapterBenchmarkData.D, AdapterBenchmarkData.D)).ToArray();
        for (int i = 0; i < N; i++)
            folds[i % 5].Add(_x.AsSpan(i * AdapterBenchmarkData.D, AdapterBenchmarkData.D), _y.AsSpan(i * AdapterBenchmarkData.D, AdapterBenchmarkData.D));
        return EmbeddingAdapterFitter.Fit(folds, new EmbeddingAdapterOptions());
    }

    /// <summary>The residual MLP with its default options (width 256, at most 30 epochs, early stopping).</summary>
    [Benchmark]
    public EmbeddingAdapterMap ResidualMlp256() => Mlp(256);

    /// <summary>The residual MLP at width 1024.</summary>
    [Benchmark]
    public EmbeddingAdapterMap ResidualMlp1024() => Mlp(1024);

    private EmbeddingAdapterMap Mlp(int width)
        => Embeddings.ResidualMlp.Fit(_x, _y, N, AdapterBenchmarkData.D, AdapterBenchmarkData.D,
            new EmbeddingAdapterOptions { Kind = EmbeddingAdapterKind.ResidualMlp, HiddenSize = width, Seed = 1 });
}

/// <summary>
/// Applying a fitted adapter to a batch of 1,024 queries, per query (issue target: ≤ 5 µs for the residual MLP, in C#
/// and in ONNX Runtime): Procrustes in C# (baseline), the residual MLP (width 256) in C#, and both through ONNX Runtime.
/// Both paths use every core: C# splits a batch's rows over the cores, ONNX Runtime gets as many intra-op threads.
/// </summary>
[MemoryDiagnoser]
public class AdapterApplyKindBenchmarks
{
    private const int Batch = 1024;
    private EmbeddingAdapterMap _linear = null!, _mlp = null!;
    private OnnxScorer _linearOrt = null!, _mlpOrt = null!;
    private float[] _queries = [], _output = [];

    /// <summary>Fits both kinds on 3,000 pairs and compiles their graphs.</summary>
    [GlobalSetup]
    public void Setup()
    {
        var (x, y) = AdapterBenchmarkData.Pairs(3000, seed: 4);
        var ml = new Microsoft.ML.MLContext(1);
        var pairs = Enumerable.Range(0, 3000).Select(i => new Pair { New = x.AsSpan(i * AdapterBenchmarkData.D, AdapterBenchmarkData.D).ToArray(), Old = y.AsSpan(i * AdapterBenchmarkData.D, AdapterBenchmarkData.D).ToArray() });
        var data = ml.Data.LoadFromEnumerable(pairs);
        var linear = ml.Transforms.EmbeddingAdapter("Out", "New", "Old").Fit(data);
        var mlp = ml.Transforms.EmbeddingAdapter("Out", "New", "Old", new EmbeddingAdapterOptions { Kind = EmbeddingAdapterKind.ResidualMlp, MaxEpochs = 2, Seed = 1 }).Fit(data);
        (_linear, _mlp) = (linear.Adapter, mlp.Adapter);
        _linearOrt = new OnnxScorer(linear.ToOnnxBytes(), new OnnxScorerOptions { IntraOpThreads = Environment.ProcessorCount });
        _mlpOrt = new OnnxScorer(mlp.ToOnnxBytes(), new OnnxScorerOptions { IntraOpThreads = Environment.ProcessorCount });
        _queries = x.AsSpan(0, Batch * AdapterBenchmarkData.D).ToArray();
        _output = new float[Batch * AdapterBenchmarkData.D];
    }

    /// <summary>Releases the sessions.</summary>
    [GlobalCleanup]
    public void Cleanup()
    {
        _linearOrt.Dispose();
        _mlpOrt.Dispose();
    }

    /// <summary>Procrustes, C# blocked kernel.</summary>
    [Benchmark(Baseline = true, OperationsPerInvoke = Batch)]
    public void ProcrustesCSharp() => _linear.Apply(_queries, _output, Batch);

    /// <summary>Residual MLP (width 256), C#.</summary>
    [Benchmark(OperationsPerInvoke = Batch)]
    public void ResidualMlpCSharp() => _mlp.Apply(_queries, _output, Batch);

    /// <summary>Procrustes, ONNX Runtime.</summary>
    [Benchmark(OperationsPerInvoke = Batch)]
    public int ProcrustesOnnxRuntime() => _linearOrt.Score(_queries, _output);

    /// <summary>Residual MLP (width 256), ONNX Runtime.</summary>
    [Benchmark(OperationsPerInvoke = Batch)]
    public int ResidualMlpOnnxRuntime() => _mlpOrt.Score(_queries, _output);

    /// <summary>A training pair.</summary>
    public sealed class Pair
    {
        /// <summary>New-model vector.</summary>
        [Microsoft.ML.Data.VectorType(AdapterBenchmarkData.D)] public float[] New { get; set; } = [];

        /// <summary>Old-model vector.</summary>
        [Microsoft.ML.Data.VectorType(AdapterBenchmarkData.D)] public float[] Old { get; set; } = [];
    }
}
