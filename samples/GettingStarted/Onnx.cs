// begin-snippet
using Microsoft.ML;
using Microsoft.ML.Data;
using MLTransforms;
using MLTransforms.Onnx;
// end-snippet

namespace MLTransforms.GettingStarted;

/// <summary>A fitted pipeline with MLTransforms steps: saved and loaded by ML.NET, exported to ONNX, scored by ONNX Runtime.</summary>
public static class OnnxDeployment
{
    /// <summary>Test accuracy and the largest score difference of the reloaded zip and of the ONNX model to the original.</summary>
    public sealed record Result(double Accuracy, float SaveLoadMaxDiff, float OnnxMaxDiff);

    /// <summary>Fits normalise, rotate, SDCA on optdigits; saves, reloads and exports it; compares the scores.</summary>
    public static Result Run(TextWriter output, string dataDirectory)
    {
        // begin-snippet
        var ml = new MLContext(seed: 1);
        var loader = ml.Data.CreateTextLoader([new TextLoader.Column("Label", DataKind.Single, 0),
            new TextLoader.Column("Features", DataKind.Single, 1, 64)], separatorChar: ',', hasHeader: true);
        var train = loader.Load(Path.Combine(dataDirectory, "optdigits", "train.csv"));
        var test = loader.Load(Path.Combine(dataDirectory, "optdigits", "test.csv"));
        ITransformer model = ml.Transforms.NormalizeMeanVariance("Norm", "Features")
            .Append(ml.Transforms.RandomRotation("Rotated", "Norm", blocks: 2, seed: 1))
            .Append(ml.Transforms.Conversion.MapValueToKey("Label"))
            .Append(ml.MulticlassClassification.Trainers.SdcaMaximumEntropy("Label", "Rotated", maximumNumberOfIterations: 30))
            .Fit(train);
        float[] Column(IDataView view, string name) => view.GetColumn<float[]>(name).SelectMany(v => v).ToArray();

        // Save / Load work as usual: the MLTransforms step is stored as an OnnxTransformer over its own graph.
        string zip = Path.Combine(Path.GetTempPath(), "mltransforms-getting-started.zip");
        ml.Model.Save(model, train.Schema, zip);
        ITransformer loaded = new MLContext(seed: 2).Model.Load(zip, out _);
        // The whole pipeline as one ONNX model (input: the raw Features column), scored in batches by ONNX Runtime.
        byte[] onnx = ml.Model.ExportToOnnx(model, test, new OnnxExportOptions { OutputColumns = ["Score"] });
        float[] scores = Column(model.Transform(test), "Score"), ortScores = new float[scores.Length];
        using (var scorer = new OnnxScorer(onnx)) scorer.Score(Column(test, "Features"), ortScores);
        var result = new Result(ml.MulticlassClassification.Evaluate(model.Transform(test)).MicroAccuracy,
            SaveLoadMaxDiff: MaxAbsDiff(scores, Column(loaded.Transform(test), "Score")), OnnxMaxDiff: MaxAbsDiff(scores, ortScores));
        output.WriteLine($"optdigits accuracy {result.Accuracy:P1}; max |score difference| to the fitted pipeline: " +
            $"Save/Load {result.SaveLoadMaxDiff:0.0E+0}, ONNX Runtime {result.OnnxMaxDiff:0.0E+0}");
        // end-snippet
        return result;
    }

    private static float MaxAbsDiff(float[] a, float[] b) => a.Zip(b, (x, y) => MathF.Abs(x - y)).Max();
}
