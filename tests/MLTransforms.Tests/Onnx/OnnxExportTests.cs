using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.OnnxRuntime;
using MLTransforms.OnnxGolden;
using Onnx;
using MLTransforms.Core.Onnx;
using MLTransforms.Onnx;

namespace MLTransforms.Tests.Onnx;

public class OnnxExportTests
{
    private static float[][] RunOrt(ModelProto model, string input, float[] x, int rows, string output)
    {
        using var session = new InferenceSession(Google.Protobuf.MessageExtensions.ToByteArray(model));
        int d = x.Length / rows;
        using var value = OrtValue.CreateTensorValueFromMemory(x, [rows, d]);
        using var runOptions = new RunOptions(); // kept alive through Run: an inline one can be finalized mid-run
        using var results = session.Run(runOptions, [input], [value], [output]);
        var flat = results[0].GetTensorDataAsSpan<float>().ToArray();
        int k = flat.Length / rows;
        return Enumerable.Range(0, rows).Select(r => flat.AsSpan(r * k, k).ToArray()).ToArray();
    }

    [Fact]
    public void MixedPipelineExportsWithRawInputsAndMatchesMLNet()
    {
        var ml = new MLContext(1);
        var (model, data) = OnnxPersistenceTests.FitMixedPipeline(ml, 1000);

        var full = ml.Model.ExportToOnnxModel(model, data);
        Assert.Equal(["Features", "Label"], full.Graph.Input.Select(i => i.Name));
        Assert.Contains(full.Graph.Output, o => o.Name == "Proj.output");
        Assert.Contains(full.OpsetImport, o => o.Domain == "" && o.Version == OnnxGraphBuilder.Opset);

        var scoreOnly = ml.Model.ExportToOnnxModel(model, data, new OnnxExportOptions { OutputColumns = ["Proj", "Score", "Probability"] });
        Assert.Equal(["Features"], scoreOnly.Graph.Input.Select(i => i.Name));
        Assert.Equal(["Proj.output", "Score.output", "Probability.output"], scoreOnly.Graph.Output.Select(o => o.Name));
        // Every node name, tensor name and initializer is unique after stitching.
        var produced = scoreOnly.Graph.Node.SelectMany(n => n.Output).Concat(scoreOnly.Graph.Initializer.Select(t => t.Name)).ToList();
        Assert.Equal(produced.Count, produced.Distinct().Count());
        Assert.Equal(scoreOnly.Graph.Node.Count, scoreOnly.Graph.Node.Select(n => n.Name).Distinct().Count());

        var x = OnnxTestData.Digits(1000).SelectMany(r => r.Features).ToArray();
        var expected = model.Transform(data);
        foreach (var column in new[] { "Proj", "Score", "Probability" })
        {
            var diff = OnnxTestData.MaxAbsDiff(OnnxTestData.Column(expected, column), RunOrt(scoreOnly, "Features", x, 1000, column + ".output"));
            Assert.True(diff <= 1e-4f, $"{column}: max abs diff {diff}");
        }
    }

    public sealed class DigitClass
    {
        [VectorType(64)] public float[] Features { get; set; } = [];
        public float Label { get; set; }
    }

    [Fact]
    public void ComponentFirstThenOpset12MulticlassTrainerIsUpgradedAndMatches()
    {
        var ml = new MLContext(1);
        var (labels, features) = TestData.ReadClassification(TestData.Repo("data/optdigits/train.csv"), 1000);
        var data = ml.Data.LoadFromEnumerable(labels.Select((l, i) => new DigitClass { Features = features[i], Label = l }));
        var model = new ExampleAffineMapEstimator(ml, "Proj", "Features", 24, seed: 9)
            .Append(ml.Transforms.NormalizeMinMax("Proj"))
            .Append(ml.Transforms.Conversion.MapValueToKey("Label"))
            .Append(ml.MulticlassClassification.Trainers.SdcaMaximumEntropy("Label", "Proj", maximumNumberOfIterations: 10))
            .Fit(data);
        var onnx = ml.Model.ExportToOnnxModel(model, data, new OnnxExportOptions { OutputColumns = ["Score", "Proj"] });
        Assert.Equal(["Features"], onnx.Graph.Input.Select(i => i.Name));

        var expected = model.Transform(data);
        var x = features.SelectMany(f => f).ToArray();
        Assert.True(OnnxTestData.MaxAbsDiff(OnnxTestData.Column(expected, "Score"), RunOrt(onnx, "Features", x, 1000, "Score.output")) <= 1e-4f);
        Assert.True(OnnxTestData.MaxAbsDiff(OnnxTestData.Column(expected, "Proj"), RunOrt(onnx, "Features", x, 1000, "Proj.output")) <= 1e-4f);

        // The full export holds ML.NET's opset-12 Unsqueeze (for PredictedLabel), upgraded so opset 21 loads and agrees.
        var full = ml.Model.ExportToOnnxModel(model, data);
        Assert.Contains(full.Graph.Node, n => n.OpType == "Unsqueeze" && n.Input.Count == 2);
        using var session = new InferenceSession(Google.Protobuf.MessageExtensions.ToByteArray(full));
        using var fx = OrtValue.CreateTensorValueFromMemory(x, [1000, 64]);
        using var fl = OrtValue.CreateTensorValueFromMemory(labels.Select(l => (float)l).ToArray(), [1000, 1]);
        using var runOptions = new RunOptions(); // kept alive through Run: an inline one can be finalized mid-run
        using var results = session.Run(runOptions, ["Features", "Label"], [fx, fl], ["PredictedLabel.output"]);
        var predicted = results[0].GetTensorDataAsSpan<uint>().ToArray();
        var mlnet = new List<uint>();
        using (var cursor = expected.GetRowCursor([expected.Schema["PredictedLabel"]]))
        {
            var getter = cursor.GetGetter<uint>(expected.Schema["PredictedLabel"]);
            uint key = 0;
            while (cursor.MoveNext()) { getter(ref key); mlnet.Add(key); }
        }
        Assert.Equal(mlnet, predicted);
    }

    public sealed class Extra { public float Sum { get; set; } }

    [Fact]
    public void StepThatNeitherSideCanExportIsRefusedByName()
    {
        var ml = new MLContext(1);
        var data = ml.Data.LoadFromEnumerable(OnnxTestData.Digits(50));
        var model = new ExampleAffineMapEstimator(ml, "Proj", "Features", 4, seed: 1)
            .Append(ml.Transforms.CustomMapping<OnnxTestData.Digit, Extra>((i, o) => o.Sum = i.Features.Sum(), contractName: null))
            .Append(ml.Transforms.Concatenate("All", "Proj", "Sum"))
            .Fit(data);
        var ex = Assert.Throws<NotSupportedException>(() => ml.Model.ExportToOnnxModel(model, data));
        Assert.Contains("step 1 (CustomMappingTransformer)", ex.Message);
        Assert.True(ex.Message.Contains("'Sum'"), ex.Message);
    }

    [Fact]
    public void SchemaOnlyExportEqualsDataExportAndALoadedChainIsRefusedByName()
    {
        var ml = new MLContext(1);
        var (model, data) = OnnxPersistenceTests.FitMixedPipeline(ml, 200);
        var options = new OnnxExportOptions { OutputColumns = ["Score"] };
        Assert.Equal(ml.Model.ExportToOnnxModel(model, data, options), ml.Model.ExportToOnnxModel(model, data.Schema, options));
        // The public surface is the serialised model: the same bytes from data or schema, and they parse to the same graph.
        var bytes = ml.Model.ExportToOnnx(model, data, options);
        Assert.Equal(bytes, ml.Model.ExportToOnnx(model, data.Schema, options));
        Assert.Equal(ml.Model.ExportToOnnxModel(model, data, options), global::Onnx.ModelProto.Parser.ParseFrom(bytes));

        // A chain loaded from a zip holds ML.NET OnnxTransformers, which ML.NET's converter cannot export.
        using var stream = new MemoryStream();
        ml.Model.Save(model, data.Schema, stream);
        stream.Position = 0;
        var loaded = ml.Model.Load(stream, out var schema);
        var ex = Assert.Throws<NotSupportedException>(() => ml.Model.ExportToOnnxModel(loaded, schema, options));
        Assert.True(ex.Message.Contains("(OnnxTransformer)") && ex.Message.Contains("it produces '"), ex.Message);
    }

    [Fact]
    public void UnknownOutputColumnIsNamed()
    {
        var ml = new MLContext(1);
        var data = ml.Data.LoadFromEnumerable(OnnxTestData.Digits(20));
        var model = new ExampleAffineMapEstimator(ml, "Proj", "Features", 4, seed: 1).Fit(data);
        var ex = Assert.Throws<ArgumentException>(() => ml.Model.ExportToOnnxModel(model, data, new OnnxExportOptions { OutputColumns = ["Nope"] }));
        Assert.Contains("'Nope'", ex.Message);
    }
}
