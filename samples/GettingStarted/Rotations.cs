// begin-snippet
using Microsoft.ML;
using Microsoft.ML.Data;
using MLTransforms;
// end-snippet

namespace MLTransforms.GettingStarted;

/// <summary>Structured random rotations as featurizers in front of an ML.NET trainer (optdigits: 8x8 pixels, 10 digits).</summary>
public static class Rotations
{
    /// <summary>Test accuracy of SDCA maximum entropy on each featurization of the min-max scaled pixels.</summary>
    public sealed record Result(double Raw, double Rotation, double Srht, double Sorf);

    /// <summary>Fits raw / rotated / SRHT-projected / SORF-kernel features + SDCA and prints each test accuracy.</summary>
    public static Result Run(TextWriter output, string dataDirectory)
    {
        // begin-snippet
        var ml = new MLContext(seed: 1);
        var loader = ml.Data.CreateTextLoader([new TextLoader.Column("Label", DataKind.Single, 0),
            new TextLoader.Column("Pixels", DataKind.Single, 1, 64)], separatorChar: ',', hasHeader: true);
        var train = ml.Data.Cache(loader.Load(Path.Combine(dataDirectory, "optdigits", "train.csv")));
        var test = loader.Load(Path.Combine(dataDirectory, "optdigits", "test.csv"));

        double Accuracy(IEstimator<ITransformer> featurizer) => ml.MulticlassClassification.Evaluate(
            ml.Transforms.Conversion.MapValueToKey("Label").Append(ml.Transforms.NormalizeMinMax("Scaled", "Pixels"))
                .Append(featurizer).AppendCacheCheckpoint(ml)
                .Append(ml.MulticlassClassification.Trainers.SdcaMaximumEntropy("Label", "Features", maximumNumberOfIterations: 30))
                .Fit(train).Transform(test)).MicroAccuracy;

        var result = new Result(Raw: Accuracy(ml.Transforms.CopyColumns("Features", "Scaled")),
            Rotation: Accuracy(ml.Transforms.RandomRotation("Features", "Scaled", blocks: 2, seed: 7)), // R = H D2 H D1, orthogonal
            Srht: Accuracy(ml.Transforms.StructuredRandomProjection("Features", "Scaled", outputDimension: 32, seed: 7)), // fast JL
            Sorf: Accuracy(ml.Transforms.OrthogonalRandomFeatures("Features", "Scaled", rank: 2048, seed: 7))); // Gaussian kernel
        output.WriteLine($"optdigits test accuracy, SDCA on: raw {result.Raw:P1}, rotated {result.Rotation:P1}, " +
            $"SRHT 64->32 {result.Srht:P1}, SORF rank 2048 {result.Sorf:P1}");
        // end-snippet
        return result;
    }
}
