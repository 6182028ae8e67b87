using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using MLTransforms.TimeSeries;
using MLTransforms.TimeSeries.OLinear;

namespace MLTransforms.Tests.TimeSeries;

/// <summary>The one <see cref="IForecaster"/> contract, checked on every forecaster.</summary>
public class ForecasterContractTests
{
    private static readonly Lazy<ForecastSplit> Split = new(() => ForecastSplit.Create(Ett.ETTh1, 24, 12, SplitProtocol.EttHourly));

    public static TheoryData<string> Forecasters => new() { "OrthoRidge", "PlainRidge", "OrthoResidual", "OLinear" };

    private static IForecaster Fit(string name)
    {
        var ml = new MLContext(1);
        return name switch
        {
            "OrthoRidge" => ml.Forecasting.OrthoRidge().Fit(Split.Value),
            // The README's ridge baseline: no normalisation, one shared plain-ridge penalty (rotation-invariant).
            "PlainRidge" => ml.Forecasting.OrthoRidge(options: new OrthoRidgeOptions
                { Normalization = WindowNormalization.None, PenaltyShapes = [0], PerCoefficient = false }).Fit(Split.Value),
            "OrthoResidual" => ml.Forecasting.OrthoResidual(ml.Regression.Trainers.Sdca(maximumNumberOfIterations: 5),
                options: new OrthoResidualOptions { Components = 2, MaxTrainingWindows = 2000, MaxValidationWindows = 2000 }).Fit(Split.Value),
            _ => ml.Forecasting.OLinear(options: MLTransforms.Tests.TimeSeries.OLinear.OLinearForecasterTests.Small()).Fit(Split.Value),
        };
    }

    private static float[] Inputs(IForecaster f, WindowSet set, int windows)
    {
        var all = f.Channels == 1 ? set.InputArray() : MultivariateWindows.Inputs(set);
        return all[..(windows * f.Lookback * f.Channels)];
    }

    [Theory]
    [MemberData(nameof(Forecasters))]
    public void BatchEqualsSingleAndEvaluateEqualsScore(string name)
    {
        var f = Fit(name);
        var test = Split.Value.Test;
        int n = 5, inSize = f.Lookback * f.Channels, outSize = f.Horizon * f.Channels;
        var x = Inputs(f, test, n);
        var batch = new float[n * outSize];
        f.Forecast(x, batch);
        for (int w = 0; w < n; w++)
        {
            var single = f.Forecast(x.AsSpan(w * inSize, inSize));
            for (int i = 0; i < outSize; i++) Assert.True(Math.Abs(single[i] - batch[w * outSize + i]) <= 1e-5, $"{name} window {w} step {i}");
        }
        var allX = f.Channels == 1 ? test.InputArray() : MultivariateWindows.Inputs(test);
        var allY = f.Channels == 1 ? test.TargetArray() : MultivariateWindows.Targets(test);
        var pred = new float[allY.Length];
        f.Forecast(allX, pred);
        var expected = ForecastEvaluation.Score(pred, allY, test.Count);
        var actual = f.Evaluate(test);
        Assert.Equal(expected.Windows, actual.Windows);
        Assert.Equal(expected.Mse, actual.Mse, 1e-9);
        Assert.Equal(expected.Mae, actual.Mae, 1e-9);
        Assert.True(actual.Mse < ForecastEvaluation.RepeatLast(test).Mse * 1.5, $"{name} test MSE {actual.Mse}");
    }

    [Theory]
    [MemberData(nameof(Forecasters))]
    public void OnnxMatchesAndSaveLoadRoundTrips(string name)
    {
        var f = Fit(name);
        int n = 8, inSize = f.Lookback * f.Channels, outSize = f.Horizon * f.Channels;
        var x = Inputs(f, Split.Value.Test, n);
        var expected = new float[n * outSize];
        f.Forecast(x, expected);
        using (var session = new InferenceSession(f.ToOnnxBytes(inputName: "X", outputName: "Y")))
        {
            using var results = session.Run([NamedOnnxValue.CreateFromTensor("X", new DenseTensor<float>(x, [n, inSize]))]);
            var onnx = results.First().AsTensor<float>().ToArray();
            for (int i = 0; i < expected.Length; i++) Assert.True(Math.Abs(onnx[i] - expected[i]) <= 1e-4, $"{name} ONNX {i}: {onnx[i]} vs {expected[i]}");
        }
        var ml = new MLContext(1);
        var rows = Enumerable.Range(0, n).Select(w => new Row { Input = x.AsSpan(w * inSize, inSize).ToArray() }).ToArray();
        var schema = SchemaDefinition.Create(typeof(Row));
        schema[0].ColumnType = new VectorDataViewType(NumberDataViewType.Single, inSize);
        var data = ml.Data.LoadFromEnumerable(rows, schema);
        using var stream = new MemoryStream();
        ml.Model.Save(f, data.Schema, stream);
        stream.Position = 0;
        var loaded = ml.Model.Load(stream, out _);
        var back = loaded.Transform(data).GetColumn<float[]>("Forecast").SelectMany(v => v).ToArray();
        for (int i = 0; i < expected.Length; i++) Assert.True(Math.Abs(back[i] - expected[i]) <= 1e-4, $"{name} loaded {i}: {back[i]} vs {expected[i]}");
    }

    private sealed class Row
    {
        public float[] Input { get; set; } = [];
    }
}

/// <summary>The authors' presets.</summary>
public class OLinearPresetTests
{
    [Theory]
    [InlineData(OLinearDataset.ETTh1, 96, 5e-4, 0.2f, 2)]
    [InlineData(OLinearDataset.ETTh1, 720, 1e-4, 0.2f, 2)]
    [InlineData(OLinearDataset.ETTm1, 336, 1e-4, 0.1f, 2)]
    [InlineData(OLinearDataset.ETTm1, 720, 1e-4, 0.2f, 2)]
    [InlineData(OLinearDataset.ETTh2, 720, 2e-4, 0.3f, 3)]
    [InlineData(OLinearDataset.ETTm2, 96, 1e-4, 0.2f, 1)]
    [InlineData(OLinearDataset.Weather, 192, 1e-3, 0f, 2)]
    public void PresetHasTheScriptsSettings(OLinearDataset dataset, int horizon, double lr, float dropout, int blocks)
    {
        var o = OLinearPresets.Authors(dataset, horizon, seed: 3);
        Assert.Equal((lr, dropout, blocks, 3), (o.LearningRate, o.Dropout, o.Blocks, o.Seed!.Value));
    }

    [Fact]
    public void UnknownDataSetFallsBackToTheDefaults()
    {
        var o = OLinearPresets.Authors(OLinearDataset.Other, 96);
        var d = new OLinearOptions();
        Assert.Equal((d.LearningRate, d.Dropout, d.Blocks, d.MaxEpochs), (o.LearningRate, o.Dropout, o.Blocks, o.MaxEpochs));
        Assert.Equal(new[] { 128, 32 }, new[] { OLinearPresets.Authors(OLinearDataset.Exchange, 192).ModelWidth, OLinearPresets.Authors(OLinearDataset.Exchange, 192).BatchSize });
    }
}
