using Microsoft.ML;
using Microsoft.ML.Runtime;
using Microsoft.ML.Data;
using MLTransforms.Core.Onnx;
using MLTransforms.Core.Pipeline;

namespace MLTransforms.Tests.Pipeline;

public class VectorTransformerTests
{
    private sealed class Doubler(string output, string input, int size) : VectorTransformer(output, input, size, size + 1)
    {
        protected override void Map(ReadOnlySpan<float> input, Span<float> output, Span<float> scratch)
        {
            for (int i = 0; i < input.Length; i++) output[i] = 2 * input[i];
            output[^1] = 1;
        }

        protected internal override string BuildOnnx(OnnxGraphBuilder graph, string input)
        {
            var w = new float[InputSize * OutputSize];
            for (int i = 0; i < InputSize; i++) w[i * OutputSize + i] = 2;
            var b = new float[OutputSize];
            b[^1] = 1;
            var y = graph.AddNode("MatMul", [input, graph.AddInitializer("w", w, InputSize, OutputSize)]);
            return graph.AddNode("Add", [y, graph.AddInitializer("b", b, OutputSize)]);
        }
    }

    private sealed class DoublerEstimator(IHostEnvironment env, string output, string? input) : VectorEstimator<Doubler>(env, output, input)
    {
        public override Doubler Fit(IDataView input) => new(OutputColumnName, InputColumnName, CheckInput(input));
    }

    public sealed class Row
    {
        [VectorType(3)] public float[] Features { get; set; } = [];
        public float Label { get; set; }
    }

    public sealed class Out { public float[] Doubled { get; set; } = []; }

    private static IDataView Data(MLContext ml, int n = 50) => ml.Data.LoadFromEnumerable(
        Enumerable.Range(0, n).Select(i => new Row { Features = [i, -i, 0.5f * i], Label = i % 2 }));

    [Fact]
    public void MapsLazilyAndComposesWithBuiltInTransforms()
    {
        var ml = new MLContext(1);
        var pipeline = new DoublerEstimator(ml, "Doubled", "Features")
            .Append(ml.Transforms.NormalizeMinMax("Norm", "Doubled"));
        var model = pipeline.Fit(Data(ml));
        var rows = ml.Data.CreateEnumerable<Out>(model.Transform(Data(ml)), false).ToArray();
        Assert.Equal(50, rows.Length);
        Assert.Equal([14f, -14f, 7f, 1f], rows[7].Doubled);
    }

    [Fact]
    public void WorksInPredictionEngine()
    {
        var ml = new MLContext(1);
        var model = new DoublerEstimator(ml, "Doubled", "Features").Fit(Data(ml));
        var engine = ml.Model.CreatePredictionEngine<Row, Out>(model);
        Assert.Equal([2f, 4f, 6f, 1f], engine.Predict(new Row { Features = [1, 2, 3] }).Doubled);
    }

    // SchemaShape.Create is internal; ML.NET itself builds shapes this way.
    internal static SchemaShape ShapeOf(DataViewSchema schema) => (SchemaShape)typeof(SchemaShape)
        .GetMethod("Create", System.Reflection.BindingFlags.Static | System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.NonPublic)!
        .Invoke(null, [schema])!;

    [Fact]
    public void EstimatorSchemaPropagatesThroughChain()
    {
        var ml = new MLContext(1);
        var data = Data(ml);
        var shape = new DoublerEstimator(ml, "Doubled", "Features").Append(ml.Transforms.Concatenate("All", "Doubled", "Features"))
            .GetOutputSchema(ShapeOf(data.Schema));
        Assert.Contains(shape, c => c.Name == "All");
    }

    [Fact]
    public void MissingColumnAndWrongSizeAreNamed()
    {
        var ml = new MLContext(1);
        var model = new DoublerEstimator(ml, "Doubled", "Features").Fit(Data(ml));
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => new DoublerEstimator(ml, "D", "Nope").Fit(Data(ml)));
        Assert.Contains("'Nope'", ex.Message);
        var wrong = new Doubler("D", "Features", 4);
        var ex2 = Assert.Throws<ArgumentOutOfRangeException>(() => wrong.GetOutputSchema(Data(ml).Schema));
        Assert.Contains("expected Vector<Single, 4>, got Vector<Single, 3>", ex2.Message);
    }

    [Fact]
    public void NaNInRowThrowsWithColumnAndRow()
    {
        var ml = new MLContext(1);
        var rows = Enumerable.Range(0, 5).Select(i => new Row { Features = [i, i == 3 ? float.NaN : 0, 0] });
        var data = ml.Data.LoadFromEnumerable(rows);
        var model = new DoublerEstimator(ml, "Doubled", "Features").Fit(data);
        var ex = Assert.Throws<InvalidOperationException>(() => ml.Data.CreateEnumerable<Out>(model.Transform(data), false).ToArray());
        Assert.Contains("'Features'", ex.Message);
        Assert.Contains("row 3", ex.Message);
    }

    [Fact]
    public void ManyThreadsShareOneTransformer()
    {
        var ml = new MLContext(1);
        var data = Data(ml, 2000);
        var model = new DoublerEstimator(ml, "Doubled", "Features").Fit(data);
        var expected = ml.Data.CreateEnumerable<Out>(model.Transform(data), false).Select(r => r.Doubled.Sum()).Sum();
        var sums = new double[8];
        Parallel.For(0, 8, t => sums[t] = ml.Data.CreateEnumerable<Out>(model.Transform(data), false).Select(r => (double)r.Doubled.Sum()).Sum());
        Assert.All(sums, s => Assert.Equal(expected, s, 3));
    }
}
