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

    private static readonly Lazy<ForecastSplit> Split48 = new(() => ForecastSplit.Create(Ett.ETTh1, 48, 24, SplitProtocol.EttHourly));

    [Fact]
    public void TreeCorrectionsOnDecorrelatedCoefficientsHelpOnHeldOutTestWindowsAndServeOneLiveWindow()
    {
        var ml = new MLContext(1);
        var split = Split48.Value;
        var trainer = ml.Regression.Trainers.FastTree(numberOfLeaves: 8, numberOfTrees: 20, minimumExampleCountPerLeaf: 20);
        var model = ml.Forecasting.OrthoResidual(trainer, options: new OrthoResidualOptions
        {
            Components = 3, FeatureComponents = 8, MaxTrainingWindows = 3000, MaxValidationWindows = 3000, Seed = 2,
        }).Fit(split);
        Assert.Equal(3, model.Shrinkage.Count);
        // The trees find structure the ridge misses: at least one correction is kept.
        Assert.Contains(model.Shrinkage, g => g > 0.05f);

        // Scored on the test windows, which neither the ridge, the trees nor the shrinkage saw.
        var test = split.Test;
        var ridge = model.Ridge.Evaluate(test);
        var residual = model.Evaluate(test);
        Assert.Equal(ridge.Windows, residual.Windows);
        Assert.True(residual.Mse < ridge.Mse * 0.999, $"test MSE: residual {residual.Mse}, ridge {ridge.Mse}");
        Assert.True(residual.Mse > ridge.Mse * 0.9, $"test MSE: residual {residual.Mse}, ridge {ridge.Mse} (a 10 % gain would be suspicious)");

        var forecast = model.ForecastAll(test.InputArray([0, 1, 2, 3, 4, 5]));
        var engine = ml.Model.CreatePredictionEngine<LiveWindow, LiveForecast>(model);
        var live = engine.Predict(new LiveWindow { Input = test.Input(5).ToArray() }).Forecast;
        for (int j = 0; j < 24; j++) Assert.True(Math.Abs(live[j] - forecast[5 * 24 + j]) < 1e-5);
        // Trees and all, the ONNX graph (ML.NET's converter writes the trees) gives the same forecasts.
        using (var session = new Microsoft.ML.OnnxRuntime.InferenceSession(model.ToOnnxBytes(inputName: "X", outputName: "Y")))
        {
            var x = test.InputArray([0, 1, 2, 3, 4, 5]);
            using var results = session.Run([Microsoft.ML.OnnxRuntime.NamedOnnxValue.CreateFromTensor("X",
                new Microsoft.ML.OnnxRuntime.Tensors.DenseTensor<float>(x, [6, 48]))]);
            var onnx = results.First().AsTensor<float>().ToArray();
            Assert.Equal(forecast.Length, onnx.Length);
            for (int i = 0; i < onnx.Length; i++) Assert.True(Math.Abs(onnx[i] - forecast[i]) < 1e-4, $"ONNX {i}: {onnx[i]} vs {forecast[i]}");
        }
        // Temporary columns are gone.
        var schema = model.GetOutputSchema(test.ToDataView(ml).Schema);
        Assert.Null(schema.GetColumnOrNull("Score"));
        Assert.Null(schema.GetColumnOrNull("__orthoresidual_0"));
        Assert.Equal("Vector<Single, 24>", SchemaChecks.Describe(schema["Forecast"].Type));
    }

    [Fact]
    public void ALinearTrainerFindsLittleToAddOnHeldOutTestWindows()
    {
        var ml = new MLContext(1);
        var split = ForecastSplit.Create(Ett.ETTh1, 24, 12, SplitProtocol.EttHourly);
        var sdca = ml.Transforms.NormalizeMinMax("Features").Append(ml.Regression.Trainers.Sdca(maximumNumberOfIterations: 5));
        var model = ml.Forecasting.OrthoResidual(sdca, options: new OrthoResidualOptions { Components = 2, MaxTrainingWindows = 2000, MaxValidationWindows = 2000 }).Fit(split);
        // Linear features of the ridge's own residual: a linear model adds little, and the shrinkage keeps it from hurting.
        var ridge = model.Ridge.Evaluate(split.Test);
        var residual = model.Evaluate(split.Test);
        Assert.True(Math.Abs(residual.Mse - ridge.Mse) < ridge.Mse * 0.01, $"test MSE: residual {residual.Mse}, ridge {ridge.Mse}");
        Assert.True(residual.Mse < ForecastEvaluation.RepeatLast(split.Test).Mse, $"test MSE {residual.Mse}");
    }
}
