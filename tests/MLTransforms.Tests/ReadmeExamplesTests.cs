using Microsoft.ML;
using MLTransforms.Embeddings;

namespace MLTransforms.Tests;

/// <summary>The README's code examples compile and build the estimators they claim (a drift check on the public API).</summary>
public class ReadmeExamplesTests
{
    [Fact]
    public void ReadmeEstimatorsBuild()
    {
        var ml = new MLContext(seed: 1);
        Assert.Equal("Rotated", ml.Transforms.RandomRotation("Rotated", "Features", blocks: 2, seed: 7).OutputColumnName);
        Assert.Equal("Embedding", ml.Transforms.StructuredRandomProjection("Sketch", "Embedding", eps: 0.2, seed: 7).InputColumnName);
        Assert.NotNull(ml.Transforms.OrthogonalRandomFeatures("Kernel", "Features", rank: 2048, seed: 7)
            .Append(ml.MulticlassClassification.Trainers.SdcaMaximumEntropy(featureColumnName: "Kernel")));
        Assert.Equal("Coefficients", ml.Transforms.OrthoTrans("Coefficients", "Input").OutputColumnName);
        Assert.NotNull(ml.Forecasting.OrthoRidge("Forecast", "Input"));
        Assert.NotNull(ml.Forecasting.OrthoResidual(ml.Regression.Trainers.LightGbm()));
        Assert.NotNull(ml.Forecasting.OLinear("Forecast", "Input", MLTransforms.TimeSeries.OLinear.OLinearPresets.Authors(MLTransforms.TimeSeries.OLinear.OLinearDataset.ETTh1, horizon: 96, seed: 1)));
        Assert.NotNull(ml.Transforms.EmbeddingAdapter("QueryInOldSpace", "NewEmbedding", "OldEmbedding",
            new EmbeddingAdapterOptions { Kind = EmbeddingAdapterKind.Procrustes }));
    }

    [Fact]
    public void ReadmeTimeSeriesCallsWork()
    {
        var series = MLTransforms.TimeSeries.MultivariateSeries.LoadCsv(TestData.Repo("data/timeseries/ETTh1.csv"));
        var split = MLTransforms.TimeSeries.ForecastSplit.Create(series, lookback: 96, horizon: 96, MLTransforms.TimeSeries.SplitProtocol.EttHourly);
        Assert.NotNull(split);
    }
}
