using BenchmarkDotNet.Attributes;
using Microsoft.ML;
using MLTransforms;
using MLTransforms.Onnx;
using MLTransforms.OnnxGolden;
using MLTransforms.Core.Pipeline;

namespace MLTransforms.Benchmarks;

/// <summary>
/// ONNX Runtime running a component's batched graph vs the component's C# kernels, 4096 rows at d = 1024, on 1 and
/// 2 threads (C#: rows split over threads; ORT: intra-op threads). Rows per second = 4096 / mean time.
/// </summary>
public class OnnxBenchmarks
{
    /// <summary>Input size of every benchmarked component.</summary>
    public const int Dimension = 1024;

    /// <summary>Rows per batch.</summary>
    public const int Rows = 4096;

    /// <summary>The benchmarked components at d = 1024: add one line per component.</summary>
    public static readonly Dictionary<string, Func<VectorTransformer>> Components = new()
    {
        ["dense-affine-1024x64"] = () => GoldenGraphs.Fit(new ExampleAffineMapEstimator(new MLContext(1), "Y", "X", 64, seed: 1), Dimension),
        ["rotation-2-blocks"] = () => GoldenGraphs.Fit(new MLContext(1).Transforms.RandomRotation("Y", "X", blocks: 2, seed: 1), Dimension),
        ["srht-to-256"] = () => GoldenGraphs.Fit(new MLContext(1).Transforms.StructuredRandomProjection("Y", "X", outputDimension: 256, seed: 1), Dimension),
        ["sorf-rank-4096"] = () => GoldenGraphs.Fit(new MLContext(1).Transforms.OrthogonalRandomFeatures("Y", "X", rank: 4096, seed: 1), Dimension),
    };

    /// <summary>Names of <see cref="Components"/>.</summary>
    public static IEnumerable<string> ComponentNames => Components.Keys;

    /// <summary>The component under test.</summary>
    [ParamsSource(nameof(ComponentNames))]
    public string Component { get; set; } = "";

    /// <summary>Threads for both paths.</summary>
    [Params(1, 2)]
    public int Threads { get; set; }

    private VectorTransformer _component = null!;
    private OnnxScorer _scorer = null!;
    private float[] _input = [], _output = [];

    /// <summary>Fits the component, compiles its graph and fills a batch.</summary>
    [GlobalSetup]
    public void Setup()
    {
        _component = Components[Component]();
        _scorer = new OnnxScorer(_component.ToOnnxBytes(), new OnnxScorerOptions { IntraOpThreads = Threads });
        var rng = new Random(7);
        _input = Enumerable.Range(0, Rows * _component.InputSize).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        _output = new float[Rows * _component.OutputSize];
    }

    /// <summary>Releases the session.</summary>
    [GlobalCleanup]
    public void Cleanup() => _scorer.Dispose();

    /// <summary>The C# kernels, rows split evenly over <see cref="Threads"/>.</summary>
    [Benchmark(Baseline = true)]
    public void CSharp()
    {
        int d = _component.InputSize, k = _component.OutputSize, per = Rows / Threads;
        if (Threads == 1)
            _component.Transform(_input, _output);
        else
            Parallel.For(0, Threads, t => _component.Transform(_input.AsSpan(t * per * d, per * d), _output.AsSpan(t * per * k, per * k)));
    }

    /// <summary>ONNX Runtime on the batched graph, <see cref="Threads"/> intra-op threads.</summary>
    [Benchmark]
    public void OnnxRuntime() => _scorer.Score(_input, _output);
}
