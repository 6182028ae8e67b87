using Microsoft.ML;
using Microsoft.ML.Data;
using MLTransforms.TimeSeries;
using MLTransforms.Core.Pipeline;

namespace MLTransforms.Tests.TimeSeries;

public class OrthoResidualTests
{
    public sealed class LiveWindow
    {
        [VectorType(48)] public float[] Input { get; set; } = [];
    }

    public sealed class LiveForecast
    {
        public float[] Forecast { get; set; } = [];
    }

    [Fact]
    public void TreeCorrectionsOnDecorrelatedCoefficientsDoNotHurtOnValidationAndServeOneLiveWindow()
    {
        var ml = new MLContext(1);
        var split = ForecastSplit.Create(Ett.ETTh1, 48, 24, SplitProtocol.EttHourly);
        var trainer = ml.Regression.Trainers.FastTree(numberOfLeaves: 8, numberOfTrees: 20, minimumExampleCountPerLeaf: 20);
        var model = ml.Forecasting.OrthoResidual(trainer, options: new OrthoResidualOptions
        {
            Components = 3, FeatureComponents = 8, MaxTrainingWindows = 3000, MaxValidationWindows = 3000, Seed = 2,
        }).Fit(split);
        Assert.Equal(3, model.Shrinkage.Count);
        Assert.All(model.Shrinkage, g => Assert.InRange(g, 0f, 1f));

        var val = split.Validation;
        var windows = val.Sample(3000, 2 + 1);
        var forecast = model.ForecastAll(val.InputArray(windows));
        double ridgeSe = 0, residualSe = 0;
        for (int i = 0; i < windows.Length; i++)
        {
            var target = val.Target(windows[i]);
            var ridge = model.Ridge.Forecast(val.Input(windows[i]));
            for (int j = 0; j < 24; j++)
            {
                ridgeSe += Math.Pow(ridge[j] - target[j], 2);
                residualSe += Math.Pow(forecast[i * 24 + j] - target[j], 2);
            }
        }
        // Shrinkage is least squares on these windows, clamped to [0, 1]: never worse there.
        Assert.True(residualSe <= ridgeSe * (1 + 1e-6), $"residual {residualSe}, ridge {ridgeSe}");

        var engine = ml.Model.CreatePredictionEngine<LiveWindow, LiveForecast>(model);
        var live = engine.Predict(new LiveWindow { Input = val.Input(windows[5]).ToArray() }).Forecast;
        for (int j = 0; j < 24; j++) Assert.True(Math.Abs(live[j] - forecast[5 * 24 + j]) < 1e-5);
        // Temporary columns are gone.
        var schema = model.GetOutputSchema(val.ToDataView(ml).Schema);
        Assert.Null(schema.GetColumnOrNull("Score"));
        Assert.Null(schema.GetColumnOrNull("__orthoresidual_0"));
        Assert.Equal("Vector<Single, 24>", SchemaChecks.Describe(schema["Forecast"].Type));
    }

    [Fact]
    public void AnyRegressionTrainerFitsTheCoefficients()
    {
        var ml = new MLContext(1);
        var split = ForecastSplit.Create(Ett.ETTh1, 24, 12, SplitProtocol.EttHourly);
        var sdca = ml.Transforms.NormalizeMinMax("Features").Append(ml.Regression.Trainers.Sdca(maximumNumberOfIterations: 5));
        var model = ml.Forecasting.OrthoResidual(sdca, options: new OrthoResidualOptions { Components = 2, MaxTrainingWindows = 2000, MaxValidationWindows = 2000 }).Fit(split);
        var forecast = model.ForecastAll(split.Test.InputArray([0, 1, 2]));
        Assert.Equal(3 * 12, forecast.Length);
        Assert.All(forecast, v => Assert.True(float.IsFinite(v)));
        // A linear trainer on (mostly) linear features of the ridge's own residual finds little to add.
        Assert.All(model.Shrinkage, g => Assert.InRange(g, 0f, 1f));
    }
}
