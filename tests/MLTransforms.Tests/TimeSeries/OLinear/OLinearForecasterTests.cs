using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using MLTransforms.TimeSeries;
using MLTransforms.TimeSeries.OLinear;

namespace MLTransforms.Tests.TimeSeries.OLinear;

public class OLinearForecasterTests
{
    private static readonly Lazy<ForecastSplit> Split = new(() => ForecastSplit.Create(Ett.ETTh1, 24, 12, SplitProtocol.EttHourly));

    /// <summary>A small network trained briefly on ETTh1 (T = 24, H = 12): seconds, not minutes.</summary>
    internal static OLinearOptions Small(int seed = 1, int epochs = 2) => new()
    {
        Embedding = 4, ModelWidth = 16, FeedForwardWidth = 16, Blocks = 2, MaxEpochs = epochs, MaxTrainingWindows = 512,
        BatchSize = 32, LearningRate = 2e-3, Seed = seed,
    };

    private static readonly Lazy<OLinearForecaster> Trained = new(() => new MLContext(1).Forecasting.OLinear(options: Small(epochs: 3)).Fit(Split.Value));

    [Fact]
    public void TrainingIsDeterministicForASeedAndDependsOnIt()
    {
        var ml = new MLContext(1);
        var a = ml.Forecasting.OLinear(options: Small(seed: 5, epochs: 1)).Fit(Split.Value);
        var b = ml.Forecasting.OLinear(options: Small(seed: 5, epochs: 1)).Fit(Split.Value);
        var c = ml.Forecasting.OLinear(options: Small(seed: 6, epochs: 1)).Fit(Split.Value);
        Assert.Equal(a.Network.Values, b.Network.Values);
        Assert.NotEqual(a.Network.Values, c.Network.Values);
        Assert.Equal(a.FitInfo.Epochs[0].TrainLoss, b.FitInfo.Epochs[0].TrainLoss);
    }

    [Fact]
    public void ShortTrainingBeatsRepeatLastAndKeepsTheBestEpoch()
    {
        var model = Trained.Value;
        var test = model.Evaluate(Split.Value.Test);
        var last = ForecastEvaluation.RepeatLast(Split.Value.Test);
        Assert.True(test.Mse < 0.8 * last.Mse, $"OLinear MSE {test.Mse} vs repeat-last {last.Mse}");
        var info = model.FitInfo;
        Assert.Equal(3, info.Epochs.Count);
        var best = info.Epochs.MinBy(e => e.ValidationLoss)!;
        Assert.Equal(best.Epoch, info.BestEpoch);
        Assert.True(info.Epochs[0].TrainLoss > info.Epochs[^1].TrainLoss, "training loss did not fall");
        // The restored weights are the best epoch's: re-evaluating validation gives its loss.
        var trainer = new OLinearTrainer(model.Network, Small());
        Assert.Equal(best.ValidationLoss, trainer.Evaluate(WindowSource.From(Split.Value.Validation), OLinearTrainer.StepWeights(12)), 1e-4);
    }

    [Fact]
    public void OnnxRuntimeMatchesTheCSharpForwardPassOnTestWindows()
    {
        var model = Trained.Value;
        var x = MultivariateWindows.Inputs(Split.Value.Test);
        int count = Split.Value.Test.WindowsPerChannel;
        var expected = model.ForecastAll(x);
        using var session = new InferenceSession(model.ToOnnxBytes(inputName: "X", outputName: "Y"));
        var tensor = new DenseTensor<float>(x, [count, model.InputSize]);
        using var results = session.Run([NamedOnnxValue.CreateFromTensor("X", tensor)]);
        var actual = results.First().AsTensor<float>().ToArray();
        Assert.Equal(expected.Length, actual.Length);
        double max = 0;
        for (int i = 0; i < actual.Length; i++) max = Math.Max(max, Math.Abs(actual[i] - expected[i]));
        Assert.True(max <= 1e-4, $"max |ORT - C#| = {max}");
        // The graph uses the operators the issue names.
        var ops = global::Onnx.ModelProto.Parser.ParseFrom(model.ToOnnxBytes()).Graph.Node.Select(n => n.OpType).ToHashSet();
        Assert.Superset(new HashSet<string> { "MatMul", "Add", "Softplus", "ReduceSum", "Div", "LayerNormalization", "Gelu", "Transpose", "Reshape" }, ops);
    }

    [Fact]
    public void PipelineRowsMatchTheBatchForecastAndPredictionEngineWorks()
    {
        var ml = new MLContext(1);
        var model = Trained.Value;
        var view = ml.Data.TakeRows(MultivariateWindows.ToDataView(ml, Split.Value.Test), 20);
        var rows = model.Transform(view).GetColumn<float[]>("Forecast").ToArray();
        var x = MultivariateWindows.Inputs(Split.Value.Test).AsSpan(0, 20 * model.InputSize).ToArray();
        var batch = model.ForecastAll(x);
        for (int r = 0; r < 20; r++)
            for (int j = 0; j < model.OutputSize; j++)
                Assert.Equal(batch[r * model.OutputSize + j], rows[r][j], 1e-4);
        Assert.Equal(24 * 7, model.InputSize);
        Assert.Equal(12 * 7, model.OutputSize);
    }

    [Fact]
    public void SavesToAModelZipThatReloadsAndForecastsTheSame()
    {
        var ml = new MLContext(1);
        var model = Trained.Value;
        var view = ml.Data.TakeRows(MultivariateWindows.ToDataView(ml, Split.Value.Test), 50);
        var chain = ml.Transforms.CopyColumns("Window", "Input").Fit(view).Append(model);
        using var stream = new MemoryStream();
        ml.Model.Save(chain, view.Schema, stream);
        stream.Position = 0;
        var loaded = new MLContext().Model.Load(stream, out var schema);
        Assert.Equal(model.InputSize, ((VectorDataViewType)schema["Input"].Type).Size);
        var output = loaded.Transform(view);
        Assert.Equal(model.OutputSize, ((VectorDataViewType)output.Schema["Forecast"].Type).Size);
        var reloaded = output.GetColumn<float[]>("Forecast").ToArray();
        var x = MultivariateWindows.Inputs(Split.Value.Test).AsSpan(0, 50 * model.InputSize).ToArray();
        var expected = model.ForecastAll(x);
        double max = 0;
        for (int r = 0; r < 50; r++)
            for (int j = 0; j < model.OutputSize; j++)
                max = Math.Max(max, Math.Abs(reloaded[r][j] - expected[r * model.OutputSize + j]));
        Assert.True(max <= 1e-4, $"max |reloaded - C#| = {max}");
    }

    [Fact]
    public void FitsFromADataViewOfMultivariateWindows()
    {
        var ml = new MLContext(1);
        var train = ml.Data.TakeRows(MultivariateWindows.ToDataView(ml, Split.Value.Train), 600);
        var options = Small(epochs: 1);
        options.Channels = 7;
        var model = ml.Forecasting.OLinear(options: options).Fit(train);
        Assert.Equal(540, model.FitInfo.TrainWindows);
        Assert.Equal(60, model.FitInfo.ValidationWindows);
        Assert.Equal((24, 12, 7), (model.Lookback, model.Horizon, model.Channels));
        options.Channels = null;
        var e = Assert.Throws<ArgumentException>(() => ml.Forecasting.OLinear(options: options).Fit(train));
        Assert.Contains("Channels", e.Message);
        options.Channels = 5;
        Assert.Throws<ArgumentException>(() => ml.Forecasting.OLinear(options: options).Fit(train));
    }

    [Fact]
    public void AnEnsembleForecastsTheMeanOfItsSeededNetworksInCSharpAndOnnx()
    {
        var ml = new MLContext(1);
        var options = Small(seed: 5, epochs: 1);
        options.EnsembleSize = 2;
        var ensemble = ml.Forecasting.OLinear(options: options).Fit(Split.Value);
        var first = ml.Forecasting.OLinear(options: Small(seed: 5, epochs: 1)).Fit(Split.Value);
        var second = ml.Forecasting.OLinear(options: Small(seed: 6, epochs: 1)).Fit(Split.Value);
        Assert.Equal(2, ensemble.EnsembleSize);
        Assert.Equal([0, 1], ensemble.FitInfo.Epochs.Select(e => e.Member));
        Assert.Equal(2, ensemble.FitInfo.BestEpochs.Count);
        Assert.Equal(first.FitInfo.Epochs[0].TrainLoss, ensemble.FitInfo.Epochs[0].TrainLoss);
        Assert.Equal(second.FitInfo.Epochs[0].TrainLoss, ensemble.FitInfo.Epochs[1].TrainLoss);

        int count = 40;
        var x = MultivariateWindows.Inputs(Split.Value.Test).AsSpan(0, count * ensemble.InputSize).ToArray();
        var mean = ensemble.ForecastAll(x);
        var a = first.ForecastAll(x);
        var b = second.ForecastAll(x);
        for (int i = 0; i < mean.Length; i++) Assert.Equal((a[i] + b[i]) / 2, mean[i], 1e-5);
        Assert.NotEqual(a, b);
        // One row through the pipeline path, and the exported graph (both networks, averaged by Mean).
        var row = ensemble.Transform(x.AsSpan(0, ensemble.InputSize));
        for (int j = 0; j < row.Length; j++) Assert.Equal(mean[j], row[j], 1e-4);
        using var session = new InferenceSession(ensemble.ToOnnxBytes(inputName: "X", outputName: "Y"));
        using var results = session.Run([NamedOnnxValue.CreateFromTensor("X", new DenseTensor<float>(x, [count, ensemble.InputSize]))]);
        var onnx = results.First().AsTensor<float>().ToArray();
        Assert.Equal(mean.Length, onnx.Length);
        for (int i = 0; i < mean.Length; i++) Assert.True(Math.Abs(onnx[i] - mean[i]) <= 1e-4, $"ORT {onnx[i]} vs C# {mean[i]} at {i}");
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => ml.Forecasting.OLinear(options: new OLinearOptions { EnsembleSize = 0 }));
        Assert.Contains("EnsembleSize", e.Message);
    }

    [Fact]
    public void EarlyStoppingCountsOnlyImprovementsAboveTheThreshold()
    {
        var options = Small(epochs: 6);
        options.Patience = 2;
        options.MinImprovement = 0.9; // no later epoch can cut the validation loss by 90 %
        var model = new MLContext(1).Forecasting.OLinear(options: options).Fit(Split.Value);
        Assert.Equal(3, model.FitInfo.Epochs.Count);
        Assert.Equal(1, model.FitInfo.BestEpoch);
        Assert.True(model.FitInfo.Epochs.Skip(1).All(e => !e.IsBest));
        Assert.Throws<ArgumentOutOfRangeException>(() => new MLContext(1).Forecasting.OLinear(options: new OLinearOptions { MinImprovement = -0.1 }));
    }

    [Fact]
    public void TrainingStopsBeforeAnEpochBelowTheLearningRateFloor()
    {
        var options = Small(epochs: 6);
        options.Patience = 10;
        options.MinLearningRate = options.LearningRate / 4 * 1.01; // epochs 1 and 2 run; epoch 3 would use lr / 4
        var model = new MLContext(1).Forecasting.OLinear(options: options).Fit(Split.Value);
        Assert.Equal([2e-3, 1e-3], model.FitInfo.Epochs.Select(e => Math.Round(e.LearningRate, 6)));
        var bad = new OLinearOptions { LearningRate = 1e-4, MinLearningRate = 1e-3 };
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new MLContext(1).Forecasting.OLinear(options: bad));
        Assert.Contains("MinLearningRate", e.Message);
    }

    [Theory]
    [InlineData(OLinearDataset.ETTh1, 96, 5e-4, 0.2f)]
    [InlineData(OLinearDataset.ETTh1, 336, 5e-4, 0.2f)]
    [InlineData(OLinearDataset.ETTh1, 720, 1e-4, 0.2f)]
    [InlineData(OLinearDataset.ETTm1, 192, 1e-4, 0.1f)]
    [InlineData(OLinearDataset.ETTm1, 720, 1e-4, 0.2f)]
    public void EttPresetsAreTheSettingsBehindThePublishedFigures(OLinearDataset dataset, int horizon, double lr, float dropout)
    {
        // The settings of scripts/OLinear/ETTh1_orthoLinear.sh and ETTm1_orthoLinear.sh, with which the README's
        // OLinear ETTh1/ETTm1 rows were measured.
        var o = OLinearPresets.Authors(dataset, horizon, seed: 3);
        Assert.Equal((lr, dropout, 3), (o.LearningRate, o.Dropout, o.Seed));
        Assert.Equal((16, 512, 512, 2, 32, 0.5, 30, 8, 0.0), (o.Embedding, o.ModelWidth, o.FeedForwardWidth, o.Blocks, o.BatchSize, o.LearningRateDecay, o.MaxEpochs, o.Patience, o.MinImprovement));
        Assert.Equal(0.0, o.MinLearningRate);
    }

    [Fact]
    public void PresetRejectsANonPositiveHorizon()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => OLinearPresets.Authors(OLinearDataset.ETTh1, 0));
        Assert.Contains("horizon", e.Message);
    }

    [Fact]
    public void DivergingTrainingStopsWithTheLearningRateAndStep()
    {
        var options = Small(epochs: 1);
        options.LearningRate = 1e30;
        var e = Assert.Throws<InvalidOperationException>(() => new MLContext(1).Forecasting.OLinear(options: options).Fit(Split.Value));
        Assert.Contains("learning rate", e.Message);
        Assert.Contains("step", e.Message);
    }

    [Fact]
    public void BadOptionsAndInputsGetClearErrors()
    {
        var ml = new MLContext(1);
        Assert.Throws<ArgumentOutOfRangeException>(() => ml.Forecasting.OLinear(options: new OLinearOptions { Dropout = 1 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => ml.Forecasting.OLinear(options: new OLinearOptions { LearningRate = double.NaN }));
        Assert.Throws<ArgumentOutOfRangeException>(() => ml.Forecasting.OLinear(options: new OLinearOptions { BatchSize = 0 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => ml.Forecasting.OLinear(options: new OLinearOptions { Embedding = 0 }));
        var model = Trained.Value;
        Assert.Throws<ArgumentException>(() => model.Transform(new float[model.InputSize - 1]));
        var nan = new float[model.InputSize];
        nan[3] = float.NaN;
        Assert.Throws<InvalidOperationException>(() => model.Transform(nan));
        var two = new float[2 * model.InputSize];
        two[model.InputSize + 5] = float.PositiveInfinity;
        var bad = Assert.Throws<InvalidOperationException>(() => model.ForecastAll(two));
        Assert.Contains("row 1", bad.Message);
        Assert.Throws<ArgumentException>(() => model.Forecast(new float[2 * model.InputSize], new float[3]));
        Assert.Throws<ArgumentException>(() => model.Evaluate(ForecastSplit.Create(Ett.ETTh1, 24, 6, SplitProtocol.EttHourly).Test));
        // Wrong column size in a pipeline.
        var wrong = ml.Data.LoadFromEnumerable(new[] { new { Input = new float[5] } });
        Assert.ThrowsAny<Exception>(() => model.GetOutputSchema(wrong.Schema));
    }
}
