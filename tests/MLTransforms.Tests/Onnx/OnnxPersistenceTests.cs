using System.Globalization;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.Transforms.Onnx;
using MLTransforms.Onnx;
using MLTransforms.OnnxGolden;
using MLTransforms.Core.Onnx;
using MLTransforms.Core.Pipeline;

namespace MLTransforms.Tests.Onnx;

public class OnnxPersistenceTests
{
    private static ExampleAffineMap FitAffine(MLContext ml, IDataView data, string output, string input, int k, int seed = 3)
        => new ExampleAffineMapEstimator(ml, output, input, k, seed).Fit(data);

    [Fact]
    public void ComponentGraphsInBothFormsMatchTheCSharpMap()
    {
        var ml = new MLContext(1);
        var rows = OnnxTestData.Digits(20);
        var t = FitAffine(ml, ml.Data.LoadFromEnumerable(rows), "P", "Features", 5);

        var batched = t.ToOnnxModel();
        Assert.Equal("Features", batched.Graph.Input.Single().Name);
        Assert.Equal("P", batched.Graph.Output.Single().Name);
        Assert.Equal("N", batched.Graph.Input[0].Type.TensorType.Shape.Dim[0].DimParam);
        using (var session = new InferenceSession(t.ToOnnxBytes()))
        {
            var x = rows.SelectMany(r => r.Features).ToArray();
            using var input = OrtValue.CreateTensorValueFromMemory(x, [rows.Length, 64]);
            using var runOptions = new RunOptions(); // kept alive through Run: an inline one can be finalized mid-run
            using var outputs = session.Run(runOptions, ["Features"], [input], ["P"]);
            var y = outputs[0].GetTensorDataAsSpan<float>().ToArray();
            for (int r = 0; r < rows.Length; r++)
                Assert.True(MaxDiff(t.Transform(rows[r].Features), y.AsSpan(r * 5, 5)) < 1e-5f);
        }

        var row = t.ToOnnxModel(OnnxGraphForm.Row);
        Assert.Equal([64L], row.Graph.Input[0].Type.TensorType.Shape.Dim.Select(d => d.DimValue));
        Assert.Equal([5L], row.Graph.Output[0].Type.TensorType.Shape.Dim.Select(d => d.DimValue));
        using (var session = new InferenceSession(t.ToOnnxBytes(OnnxGraphForm.Row, "x", "y")))
        {
            using var input = OrtValue.CreateTensorValueFromMemory(rows[7].Features, [64]);
            using var runOptions = new RunOptions(); // kept alive through Run: an inline one can be finalized mid-run
            using var outputs = session.Run(runOptions, ["x"], [input], ["y"]);
            Assert.True(MaxDiff(t.Transform(rows[7].Features), outputs[0].GetTensorDataAsSpan<float>()) < 1e-5f);
        }
    }

    [Fact]
    public void EqualInputAndOutputNamesGetADistinctGraphOutput()
    {
        var ml = new MLContext(1);
        var t = FitAffine(ml, ml.Data.LoadFromEnumerable(OnnxTestData.Digits(10)), "Features", "Features", 64);
        var model = t.ToOnnxModel();
        Assert.Equal("Features.output", model.Graph.Output.Single().Name);
        var ex = Assert.Throws<ArgumentException>(() => t.ToOnnxModel(inputName: "a", outputName: "a"));
        Assert.Contains("'a'", ex.Message);
    }

    private static float MaxDiff(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        Assert.Equal(a.Length, b.Length);
        float m = 0;
        for (int i = 0; i < a.Length; i++) m = MathF.Max(m, MathF.Abs(a[i] - b[i]));
        return m;
    }

    /// <summary>Built-in transforms, our components (a rotation and an affine map writing over their input columns) and a trainer.</summary>
    internal static (ITransformer Model, IDataView Data) FitMixedPipeline(MLContext ml, int rows)
    {
        var data = ml.Data.LoadFromEnumerable(OnnxTestData.Digits(rows));
        var pipeline = ml.Transforms.NormalizeMeanVariance("Norm", "Features")
            .Append(ml.Transforms.RandomRotation("Norm", "Norm", blocks: 2, seed: 4))
            .Append(new ExampleAffineMapEstimator(ml, "Proj", "Norm", 16, seed: 5))
            .Append(new ExampleAffineMapEstimator(ml, "Proj", "Proj", 16, seed: 6))
            .Append(ml.Transforms.Concatenate("All", "Proj", "Norm"))
            .Append(ml.BinaryClassification.Trainers.SdcaLogisticRegression("Label", "All", maximumNumberOfIterations: 20));
        return (pipeline.Fit(data), data);
    }

    [Fact]
    public void SavedPipelineLoadsInAProcessWithoutMLTransforms()
    {
        var ml = new MLContext(1);
        var (model, data) = FitMixedPipeline(ml, 1000);
        var dir = OnnxTestData.TempDir();
        try
        {
            var zip = Path.Combine(dir, "model.zip");
            ml.Model.Save(model, data.Schema, zip);

            var digits = OnnxTestData.Digits(1000);
            var csv = Path.Combine(dir, "input.csv");
            File.WriteAllLines(csv, digits.Select(d => string.Join(',', d.Features.Select(OnnxTestData.Format).Append(d.Label ? "1" : "0"))));
            var outCsv = Path.Combine(dir, "output.csv");
            var (code, stdout, stderr) = OnnxTestData.RunLoadCheck(zip, csv, outCsv, "Proj,Score,Probability");
            Assert.True(code == 0, $"LoadCheck failed ({code}): {stderr}");

            // Column type after reload, and the visible difference: an OnnxTransformer stands in for our component.
            Assert.Contains("column Proj Vector<Single, 16>", stdout);
            Assert.Contains("step Microsoft.ML.Transforms.Onnx.OnnxTransformer", stdout);
            Assert.DoesNotContain("MLTransforms", stdout);
            Assert.False(File.Exists(Path.Combine(Path.GetDirectoryName(OnnxTestData.LoadCheckDll)!, "MLTransforms.dll")),
                "LoadCheck must not ship MLTransforms.dll: the point is loading without it.");

            var expected = model.Transform(data);
            var proj = OnnxTestData.Column(expected, "Proj");
            var score = OnnxTestData.Column(expected, "Score");
            var prob = OnnxTestData.Column(expected, "Probability");
            var lines = File.ReadAllLines(outCsv);
            Assert.Equal(1000, lines.Length);
            var actual = lines.Select(l => l.Split(',').Select(v => float.Parse(v, CultureInfo.InvariantCulture)).ToArray()).ToArray();
            Assert.True(OnnxTestData.MaxAbsDiff(proj, actual.Select(a => a[..16]).ToArray()) <= 1e-5f);
            Assert.True(OnnxTestData.MaxAbsDiff(score, actual.Select(a => a[16..17]).ToArray()) <= 1e-5f);
            Assert.True(OnnxTestData.MaxAbsDiff(prob, actual.Select(a => a[17..18]).ToArray()) <= 1e-5f);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public void ReloadedInAFreshContextWorksInPredictionEngineAndMatches()
    {
        var ml = new MLContext(1);
        var (model, data) = FitMixedPipeline(ml, 300);
        using var stream = new MemoryStream();
        ml.Model.Save(model, data.Schema, stream);
        stream.Position = 0;

        var fresh = new MLContext(2);
        var loaded = fresh.Model.Load(stream, out var schema);
        Assert.Equal(data.Schema["Features"].Type, schema["Features"].Type);
        var steps = Flatten(loaded).ToList();
        Assert.Contains(steps, s => s is OnnxTransformer);
        Assert.DoesNotContain(steps, s => s is VectorTransformer);

        var reloaded = loaded.Transform(data);
        Assert.Equal(new VectorDataViewType(NumberDataViewType.Single, 16), reloaded.Schema["Proj"].Type);
        Assert.True(OnnxTestData.MaxAbsDiff(OnnxTestData.Column(model.Transform(data), "Proj"), OnnxTestData.Column(reloaded, "Proj")) <= 1e-5f);

        var engine = fresh.Model.CreatePredictionEngine<OnnxTestData.Digit, Prediction>(loaded);
        var digit = OnnxTestData.Digits(1)[0];
        var expected = ml.Model.CreatePredictionEngine<OnnxTestData.Digit, Prediction>(model).Predict(digit);
        Assert.Equal(expected.Score, engine.Predict(digit).Score, 1e-4);
    }

    [Fact]
    public void InPlaceComponentKeepsItsColumnNameAndHidesTheInput()
    {
        var ml = new MLContext(1);
        var data = ml.Data.LoadFromEnumerable(OnnxTestData.Digits(50));
        var t = FitAffine(ml, data, "Features", "Features", 64);
        using var stream = new MemoryStream();
        ml.Model.Save(t, data.Schema, stream);
        stream.Position = 0;
        var loaded = new MLContext().Model.Load(stream, out _).Transform(data);
        // Same visible columns and types (ML.NET's column drop may reorder them); the input is hidden, not gone.
        Assert.Equal(Visible(t.Transform(data).Schema), Visible(loaded.Schema));
        Assert.Contains(loaded.Schema, c => c.IsHidden && c.Name == "Features");
        Assert.DoesNotContain(loaded.Schema, c => !c.IsHidden && c.Name.Contains(OnnxPersistence.TemporarySuffix));
        Assert.True(OnnxTestData.MaxAbsDiff(OnnxTestData.Column(t.Transform(data), "Features"), OnnxTestData.Column(loaded, "Features")) <= 1e-5f);
    }

    private static string[] Visible(DataViewSchema schema)
        => schema.Where(c => !c.IsHidden).Select(c => $"{c.Name}:{c.Type}").Order().ToArray();

    private sealed class NoGraph(int size) : VectorTransformer("Out", "Features", size, size)
    {
        protected override void Map(ReadOnlySpan<float> input, Span<float> output, Span<float> scratch) => input.CopyTo(output);
        protected internal override string BuildOnnx(OnnxGraphBuilder graph, string input) => throw new NotSupportedException("No ONNX form.");
    }

    [Fact]
    public void ComponentWithoutAGraphFailsToSaveWithItsName()
    {
        var ml = new MLContext(1);
        var data = ml.Data.LoadFromEnumerable(OnnxTestData.Digits(5));
        var ex = Assert.Throws<NotSupportedException>(() => ml.Model.Save(new NoGraph(64), data.Schema, new MemoryStream()));
        Assert.Contains("NoGraph ('Features' -> 'Out')", ex.Message);
        Assert.Contains("No ONNX form.", ex.Message);
    }

    public sealed class Prediction
    {
        public float Score { get; set; }
    }

    internal static IEnumerable<ITransformer> Flatten(ITransformer t) =>
        t is IEnumerable<ITransformer> chain ? chain.SelectMany(Flatten) : [t];
}
