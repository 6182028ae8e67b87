using Microsoft.ML;
using Microsoft.ML.Runtime;
using MLTransforms.Onnx;
using MLTransforms.Core.Onnx;
using MLTransforms.Core.Pipeline;

namespace MLTransforms.Reproduce.Scenarios;

// A user-defined transformer that saves, loads and exports like a built-in one: derive from VectorTransformer,
// write the per-row mathematics (Map) and the same computation as an ONNX graph (BuildOnnx). That is all
// mlContext.Model.Save needs (dotnet/machinelearning issues 4911 and 6839: custom transformers cannot otherwise be saved).

/// <summary>Soft clipping, y = c tanh(x / c): every value squeezed into (-c, c), small values almost unchanged.</summary>
public sealed class SoftClip(string output, string input, int size, float c) : VectorTransformer(output, input, size, size)
{
    /// <inheritdoc/>
    protected override void Map(ReadOnlySpan<float> x, Span<float> y, Span<float> scratch)
    {
        for (int i = 0; i < x.Length; i++) y[i] = c * MathF.Tanh(x[i] / c);
    }

    /// <inheritdoc/>
    protected override string BuildOnnx(OnnxGraphBuilder graph, string x)
    {
        var scale = graph.AddInitializer("c", [c], 1);
        return graph.AddNode("Mul", [graph.AddNode("Tanh", [graph.AddNode("Div", [x, scale])]), scale]);
    }
}

/// <summary>The estimator that puts <see cref="SoftClip"/> into an ML.NET pipeline (nothing to learn but the input size).</summary>
public sealed class SoftClipEstimator(IHostEnvironment env, string output, string input, float c) : VectorEstimator<SoftClip>(env, output, input)
{
    /// <inheritdoc/>
    public override SoftClip Fit(IDataView data) => new(OutputColumnName, InputColumnName, CheckInput(data), c);
}
