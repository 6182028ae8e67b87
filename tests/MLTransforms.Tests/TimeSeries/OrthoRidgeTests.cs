using Microsoft.ML.Data;
using MathNet.Numerics.LinearAlgebra;
using Microsoft.ML;
using MLTransforms.TimeSeries;

namespace MLTransforms.Tests.TimeSeries;

public class OrthoRidgeTests
{
    [Fact]
    public void SharedPenaltyRidgeIsInvariantToTheOrthogonalBasis()
    {
        // Plain ridge on the original windows vs the OrthoTrans-domain solver with one shared penalty.
        var split = ForecastSplit.Create(Ett.ETTh1, 24, 12, SplitProtocol.EttHourly);
        const double rel = 1e-2;
        var forecaster = new MLContext(1).Forecasting.OrthoRidge(options: new OrthoRidgeOptions
        {
            Normalization = WindowNormalization.None, Penalties = [rel], PenaltyShapes = [0], PerCoefficient = false,
        }).Fit(split);

        int t = 24, h = 12, n = split.Train.Count;
        var x = split.Train.InputArray();
        var y = split.Train.TargetArray();
        var xm = Matrix<double>.Build.Dense(t, n, (i, r) => x[r * t + i]);
        var ym = Matrix<double>.Build.Dense(h, n, (i, r) => y[r * h + i]);
        var sxx = xm.TransposeAndMultiply(xm);
        double lambda = rel * sxx.Trace() / t;
        var w = (sxx + Matrix<double>.Build.DenseIdentity(t) * lambda).Solve(xm.TransposeAndMultiply(ym)).Transpose(); // H x T
        var m = forecaster.Weights;
        for (int i = 0; i < h; i++)
            for (int j = 0; j < t; j++)
                Assert.True(Math.Abs(w[i, j] - m[i * t + j]) < 1e-4, $"M[{i},{j}] = {m[i * t + j]}, direct ridge {w[i, j]}");
    }
}

public class OrthoRidgeForecasterTests
{
    private static readonly Lazy<ForecastSplit> Split96 = new(() => ForecastSplit.Create(Ett.ETTh1, 96, 96, SplitProtocol.EttHourly));
    private static readonly Lazy<OrthoRidgeForecaster> Ridge96 = new(() => new MLContext(1).Forecasting.OrthoRidge().Fit(Split96.Value));

    [Fact]
    public void ReachesTheClosedFormTargetOnEtth1()
    {
        var test = ForecastEvaluation.Evaluate(Split96.Value.Test, (x, y) => Ridge96.Value.Forecast(x).CopyTo(y));
        // Measured .382 (DLinear .386, OLinear .360, repeat-last 1.294).
        Assert.True(test.Mse <= 0.39, $"test MSE {test.Mse}");
        Assert.Equal(7 * 2785, test.Windows);
        Assert.True(ForecastEvaluation.RepeatLast(Split96.Value.Test).Mse > 1.2);
        var info = Ridge96.Value.FitInfo;
        Assert.True(info.OutputComponents is > 0 and <= 96);
        Assert.True(info.ValidationMse < 1);
    }

    [Fact]
    public void MeanRemovalMakesForecastsShiftEquivariant()
    {
        // y(x + c 1) = y(x) + c 1: the fold of the mean handling into one matrix keeps this exactly.
        var x = Split96.Value.Test.Input(5).ToArray();
        var shifted = x.Select(v => v + 3f).ToArray();
        var a = Ridge96.Value.Forecast(x);
        var b = Ridge96.Value.Forecast(shifted);
        for (int i = 0; i < 96; i++) Assert.True(Math.Abs(b[i] - a[i] - 3f) < 1e-3, $"step {i}: {b[i] - a[i]}");
    }

    public sealed class LiveWindow
    {
        [VectorType(96)] public float[] Input { get; set; } = [];
    }

    public sealed class LiveForecast
    {
        public float[] Forecast { get; set; } = [];
    }

    [Fact]
    public void PredictionEngineForecastsOneLiveWindowAndOnnxMatches()
    {
        var ml = new MLContext(1);
        var model = Ridge96.Value;
        var engine = ml.Model.CreatePredictionEngine<LiveWindow, LiveForecast>(model);
        var x = Split96.Value.Test.Input(123).ToArray();
        var live = engine.Predict(new LiveWindow { Input = x }).Forecast;
        Assert.Equal(96, live.Length);
        Assert.Equal(model.Forecast(x), live);

        // A live window in raw units: z-score with the train statistics, forecast, map back.
        var split = Split96.Value;
        var raw = Ett.ETTh1.Channel(6)[(14400 - 96)..14400].ToArray();
        var scaled = new float[96];
        split.Scale(6, raw, scaled);
        var forecastRaw = new float[96];
        split.Unscale(6, engine.Predict(new LiveWindow { Input = scaled }).Forecast, forecastRaw);
        Assert.InRange(forecastRaw.Average(), raw.Min() - 10, raw.Max() + 10); // oil temperature, degrees
        var back = new float[96];
        split.Scale(6, forecastRaw, back);
        Assert.True(Math.Abs(back[0] - model.Forecast(scaled)[0]) < 1e-4);

        const int rows = 32;
        var batch = Split96.Value.Test.InputArray(Enumerable.Range(0, rows).Select(i => i * 500).ToArray());
        var onnx = OrthoTransTransformerTests.RunOnnx(model, batch, rows);
        var expected = model.ForecastAll(batch);
        for (int i = 0; i < expected.Length; i++) Assert.True(Math.Abs(expected[i] - onnx[i]) < 1e-4, $"{i}: {expected[i]} vs {onnx[i]}");
    }

    [Fact]
    public void FitsFromADataViewOfWindowsInAPipeline()
    {
        var ml = new MLContext(1);
        var split = ForecastSplit.Create(Ett.ETTh1, 48, 24, SplitProtocol.EttHourly);
        var train = ml.Data.TakeRows(split.Train.ToDataView(ml), 20000);
        var model = ml.Forecasting.OrthoRidge("Forecast", "Input").Fit(train);
        Assert.True(model.FitInfo.ValidationWindows > 0);
        Assert.Equal(20000, model.FitInfo.TrainWindows);
        var scored = model.Transform(split.Test.ToDataView(ml));
        var f = scored.GetColumn<float[]>("Forecast").ToArray();
        int w = 0;
        var metrics = ForecastEvaluation.Evaluate(split.Test, (x, y) => f[w++].CopyTo(y));
        Assert.True(metrics.Mse < 0.5 * ForecastEvaluation.RepeatLast(split.Test).Mse, $"MSE {metrics.Mse}");
    }

    [Fact]
    public void PerCoefficientPenaltiesValidateNoWorseThanOneSharedPenalty()
    {
        var ml = new MLContext(1);
        var split = ForecastSplit.Create(Ett.ETTh1, 48, 48, SplitProtocol.EttHourly);
        var per = ml.Forecasting.OrthoRidge().Fit(split);
        var shared = ml.Forecasting.OrthoRidge(options: new OrthoRidgeOptions { PerCoefficient = false }).Fit(split);
        Assert.True(per.FitInfo.ValidationMse <= shared.FitInfo.ValidationMse + 1e-9);
        // The reported validation MSE is the real one.
        var val = ForecastEvaluation.Evaluate(split.Validation, (x, y) => per.Forecast(x).CopyTo(y));
        Assert.True(Math.Abs(val.Mse - per.FitInfo.ValidationMse) < 1e-4, $"{val.Mse} vs {per.FitInfo.ValidationMse}");
    }
}
