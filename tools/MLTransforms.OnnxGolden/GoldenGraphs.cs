using System.Globalization;
using System.Text;
using Microsoft.ML;
using Microsoft.ML.Data;
using Onnx;
using MLTransforms.Core.Onnx;
using MLTransforms.Core.Pipeline;

namespace MLTransforms.OnnxGolden;

/// <summary>One golden graph: a file name stem, a description, and a factory of the fitted component (fixed seeds, small sizes).</summary>
/// <param name="Name">File name stem in <c>onnx/</c>, e.g. <c>random-rotation</c>.</param>
/// <param name="Description">One line for <c>onnx/README.md</c>.</param>
/// <param name="Create">Builds the fitted component; must be deterministic.</param>
public sealed record GoldenGraph(string Name, string Description, Func<VectorTransformer> Create);

/// <summary>
/// The registry of golden graphs: one line per component. <c>dotnet run --project tools/MLTransforms.OnnxGolden</c>
/// writes each entry's batched graph to <c>onnx/{Name}.onnx</c> and the table in <c>onnx/README.md</c>; the test
/// <c>GoldenGraphTests</c> regenerates them in memory, fails on drift and runs each in ONNX Runtime against the C# map.
/// </summary>
public static class GoldenGraphs
{
    /// <summary>Every golden graph. Add a component with one line: a name, a description and a <see cref="Fit"/> call.</summary>
    public static IReadOnlyList<GoldenGraph> All { get; } =
    [
        new("example-affine", "ExampleAffineMap (the mechanism's own example): y = (x - mean) W + b, d = 8 -> 5, seed 1",
            () => Fit(new ExampleAffineMapEstimator(new MLContext(1), "Y", "X", 5, seed: 1), inputSize: 8)),
        new("random-rotation", "RandomRotation: d = 12 (zero-padded to 16), 2 blocks, seed 1",
            () => Fit(new MLContext(1).Transforms.RandomRotation("Y", "X", blocks: 2, seed: 1), inputSize: 12)),
        new("random-rotation-3-blocks", "RandomRotation: d = 64, 3 blocks, seed 2",
            () => Fit(new MLContext(1).Transforms.RandomRotation("Y", "X", blocks: 3, seed: 2), inputSize: 64)),
        new("structured-random-projection", "StructuredRandomProjection (SRHT): d = 20 (padded to 32) -> 8, 1 block, seed 1",
            () => Fit(new MLContext(1).Transforms.StructuredRandomProjection("Y", "X", outputDimension: 8, seed: 1), inputSize: 20)),
        new("orthogonal-random-features", "OrthogonalRandomFeatures (SORF): d = 8, rank 16, cos bases, seed 1",
            () => Fit(new MLContext(1).Transforms.OrthogonalRandomFeatures("Y", "X", rank: 16, seed: 1), inputSize: 8)),
        new("orthogonal-random-features-cos-sin", "OrthogonalRandomFeatures (SORF): d = 12 (padded to 16), rank 24, cos and sin bases, seed 3",
            () => Fit(new MLContext(1).Transforms.OrthogonalRandomFeatures("Y", "X", rank: 24, useCosAndSinBases: true, seed: 3), inputSize: 12)),
        new("ortho-trans", "OrthoTrans: window 24 -> 6 leading coefficients",
            () => Fit(new MLContext(1).Transforms.OrthoTrans("Y", "X", new MLTransforms.TimeSeries.OrthoTransOptions { Components = 6 }), inputSize: 24)),
        new("ortho-ridge-forecaster", "OrthoRidge forecaster: lookback 24 -> horizon 8",
            () => Fit(new MLContext(1).Forecasting.OrthoRidge("Y", "X"), inputSize: 24, targetSize: 8)),
        new("embedding-adapter", "EmbeddingAdapter (Procrustes, centred): 12 -> 8",
            () => Fit(new MLContext(1).Transforms.EmbeddingAdapter("Y", "X", "Target"), inputSize: 12, targetSize: 8)),
    ];

    /// <summary>Seed of the synthetic rows every component is fitted on.</summary>
    public const int DataSeed = 20261125;

    /// <summary>Rows of synthetic fitting data.</summary>
    public const int Rows = 64;

    /// <summary>
    /// Fits <paramref name="estimator"/> on <see cref="Rows"/> seeded Gaussian rows: column <c>X</c> of
    /// <paramref name="inputSize"/> values and, when <paramref name="targetSize"/> &gt; 0, a column <c>Target</c> (for
    /// components fitted against a second column, e.g. embedding adapters).
    /// </summary>
    public static VectorTransformer Fit(IEstimator<ITransformer> estimator, int inputSize, int targetSize = 0)
    {
        var fitted = estimator.Fit(Data(new MLContext(1), inputSize, Math.Max(targetSize, 1), Rows, stream: 0));
        return fitted as VectorTransformer
            ?? throw new InvalidOperationException($"Golden graphs are for VectorTransformer components; {estimator.GetType().Name} fitted a {fitted.GetType().Name}.");
    }

    /// <summary>Seeded Gaussian rows: column <c>X</c> (<paramref name="inputSize"/> values) and column <c>Target</c>
    /// (<paramref name="targetSize"/> values); <paramref name="stream"/> selects independent draws.</summary>
    public static IDataView Data(MLContext ml, int inputSize, int targetSize, int rows, int stream)
    {
        var data = Enumerable.Range(0, rows).Select(r => new Row
        {
            X = Synthetic(inputSize, r, 2 * stream),
            Target = Synthetic(targetSize, r, 2 * stream + 1),
        }).ToArray();
        var schema = SchemaDefinition.Create(typeof(Row));
        schema[nameof(Row.X)].ColumnType = new VectorDataViewType(NumberDataViewType.Single, inputSize);
        schema[nameof(Row.Target)].ColumnType = new VectorDataViewType(NumberDataViewType.Single, targetSize);
        return ml.Data.LoadFromEnumerable(data, schema);
    }

    /// <summary>Deterministic standard-normal values (Box-Muller over a seeded <see cref="Random"/>): row <paramref name="row"/> of stream <paramref name="stream"/>.</summary>
    public static float[] Synthetic(int size, int row, int stream)
    {
        var rng = new Random(DataSeed + 100_000 * stream + row);
        var values = new float[size];
        for (int i = 0; i < size; i++)
            values[i] = (float)(Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble()));
        return values;
    }

    /// <summary>The golden model of one entry: the batched graph, input <c>X</c> [N, d], output <c>Y</c> [N, k].</summary>
    public static (VectorTransformer Component, ModelProto Model) Render(GoldenGraph entry)
    {
        var component = entry.Create();
        return (component, ModelProto.Parser.ParseFrom(component.ToOnnxBytes(MLTransforms.Core.Onnx.OnnxGraphForm.Batched, "X", "Y")));
    }

    /// <summary>The generated <c>onnx/README.md</c>.</summary>
    public static string Readme(IEnumerable<(GoldenGraph Entry, VectorTransformer Component, ModelProto Model)> graphs)
    {
        var sb = new StringBuilder();
        sb.AppendLine("# Golden ONNX graphs");
        sb.AppendLine();
        sb.AppendLine("Generated by `dotnet run --project tools/MLTransforms.OnnxGolden` from the registry in");
        sb.AppendLine("`tools/MLTransforms.OnnxGolden/GoldenGraphs.cs` (do not edit by hand). Each file is a component's batched graph,");
        sb.AppendLine($"fitted with fixed seeds on {Rows} synthetic Gaussian rows. `GoldenGraphTests` regenerates them in memory, fails on drift,");
        sb.AppendLine("and runs each in ONNX Runtime against the C# implementation.");
        sb.AppendLine();
        sb.AppendLine("| File | Component | Input | Output | Opset | IR | Operators | Parameters | Description |");
        sb.AppendLine("|---|---|---|---|---|---|---|---|---|");
        foreach (var (entry, component, model) in graphs)
        {
            var ops = model.Graph.Node.GroupBy(n => n.OpType).Select(g => g.Count() == 1 ? g.Key : $"{g.Key} x{g.Count()}");
            long parameters = model.Graph.Initializer.Sum(t => t.Dims.Aggregate(1L, (a, b) => a * b));
            sb.AppendLine(string.Create(CultureInfo.InvariantCulture,
                $"| `{entry.Name}.onnx` | {component.GetType().Name} | {Shape(model.Graph.Input[0])} | {Shape(model.Graph.Output[0])} | " +
                $"{model.OpsetImport.Single(o => o.Domain == "").Version} | {model.IrVersion} | {string.Join(", ", ops)} | {parameters} | {entry.Description} |"));
        }
        return sb.ToString();
    }

    private static string Shape(ValueInfoProto v)
        => $"`{v.Name}` float [{string.Join(", ", v.Type.TensorType.Shape.Dim.Select(d => string.IsNullOrEmpty(d.DimParam) ? d.DimValue.ToString(CultureInfo.InvariantCulture) : d.DimParam))}]";

    private sealed class Row
    {
        public float[] X { get; set; } = [];
        public float[] Target { get; set; } = [];
    }
}
