using System.Numerics.Tensors;
using Microsoft.ML;
using Microsoft.ML.Runtime;
using MLTransforms.Onnx;
using MLTransforms.Core.Onnx;
using MLTransforms.Core.Pipeline;

namespace MLTransforms.OnnxGolden;

/// <summary>
/// The smallest complete component: a fitted affine map y = (x - mean) W + b (mean learnt from data, W and b drawn
/// from a seed). It exercises the ONNX mechanism itself in the golden graphs and tests, independently of the
/// library's real components.
/// </summary>
public sealed class ExampleAffineMap : VectorTransformer
{
    private readonly float[] _mean, _weights, _bias;

    /// <summary>Creates the map from its parameters: W is row-major [mean.Length, bias.Length].</summary>
    public ExampleAffineMap(string output, string input, float[] mean, float[] weights, float[] bias)
        : base(output, input, mean.Length, bias.Length)
    {
        (_mean, _weights, _bias) = (mean, weights, bias);
    }

    /// <inheritdoc/>
    protected override void Map(ReadOnlySpan<float> input, Span<float> output, Span<float> scratch)
    {
        _bias.CopyTo(output);
        for (int i = 0; i < InputSize; i++)
            TensorPrimitives.MultiplyAdd(_weights.AsSpan(i * OutputSize, OutputSize), input[i] - _mean[i], output, output);
    }

    /// <inheritdoc/>
    protected override string BuildOnnx(OnnxGraphBuilder graph, string input)
    {
        var centred = graph.AddNode("Sub", [input, graph.AddInitializer("mean", _mean, InputSize)]);
        var y = graph.AddNode("MatMul", [centred, graph.AddInitializer("w", _weights, InputSize, OutputSize)]);
        return graph.AddNode("Add", [y, graph.AddInitializer("b", _bias, OutputSize)]);
    }
}

/// <summary>Fits <see cref="ExampleAffineMap"/>: the column mean, then W, b uniform from a seed (W scaled by 1/sqrt(d)).</summary>
public sealed class ExampleAffineMapEstimator(IHostEnvironment env, string output, string? input, int outputSize, int seed) : VectorEstimator<ExampleAffineMap>(env, output, input)
{
    /// <inheritdoc/>
    public override ExampleAffineMap Fit(IDataView input)
    {
        CheckInput(input);
        var (x, n, d) = ReadInput(input, 100_000);
        var mean = new float[d];
        for (int r = 0; r < n; r++)
            for (int i = 0; i < d; i++) mean[i] += x[r * d + i] / n;
        var rng = new Random(seed);
        var w = Enumerable.Range(0, d * outputSize).Select(_ => (float)(rng.NextDouble() * 2 - 1) / MathF.Sqrt(d)).ToArray();
        var b = Enumerable.Range(0, outputSize).Select(_ => (float)rng.NextDouble()).ToArray();
        return new ExampleAffineMap(OutputColumnName, InputColumnName, mean, w, b);
    }
}
