using Microsoft.ML;
using MLTransforms.TimeSeries;

namespace MLTransforms.Tests.TimeSeries;

public class OrthoRidgeOptionsTests
{
    private static MultivariateSeries Periodic(int n, int period)
    {
        var rng = new Random(5);
        float[] Channel(float phase) => Enumerable.Range(0, n)
            .Select(i => MathF.Sin(2 * MathF.PI * i / period + phase) + 0.3f * MathF.Sin(2 * MathF.PI * i / (period / 3f)) + 0.1f * (float)(rng.NextDouble() - 0.5)).ToArray();
        return MultivariateSeries.FromChannels(["a", "b"], [Channel(0), Channel(1)], "periodic");
    }

    [Fact]
    public void LookbackChosenOnValidationPrefersOneThatSeesAWholePeriod()
    {
        var series = Periodic(3000, 60);
        var selection = new MLContext(1).Forecasting.OrthoRidge().FitSelectingLookback(series, 24, [8, 72], SplitProtocol.Ratios);
        Assert.Equal(72, selection.Split.Lookback);
        Assert.Equal(72, selection.Forecaster.Lookback);
        Assert.True(selection.ValidationMse[72] < selection.ValidationMse[8]);
    }

    [Fact]
    public void AHeavilyPenalisedLevelFeatureGivesPlainMeanRemoval()
    {
        var ml = new MLContext(1);
        var split = ForecastSplit.Create(Ett.ETTh1, 48, 24, SplitProtocol.EttHourly);
        var common = new OrthoRidgeOptions { Penalties = [1e-3], PenaltyShapes = [0], PerCoefficient = false };
        var mean = ml.Forecasting.OrthoRidge(options: common).Fit(split);
        var level = ml.Forecasting.OrthoRidge(options: new OrthoRidgeOptions
        {
            Penalties = [1e-3], PenaltyShapes = [0], PerCoefficient = false, Normalization = WindowNormalization.SubtractMeanKeepLevel, LevelPenalties = [1e9],
        }).Fit(split);
        var a = mean.Weights.ToArray();
        var b = level.Weights.ToArray();
        for (int i = 0; i < a.Length; i++) Assert.True(Math.Abs(a[i] - b[i]) < 1e-4, $"{i}: {a[i]} vs {b[i]}");
        // With a free level the forecaster is no longer forced to be shift-equivariant.
        var free = ml.Forecasting.OrthoRidge(options: new OrthoRidgeOptions
        {
            Penalties = [1e-3], PenaltyShapes = [0], PerCoefficient = false, Normalization = WindowNormalization.SubtractMeanKeepLevel, LevelPenalties = [1e-6],
        }).Fit(split);
        var x = split.Test.Input(3).ToArray();
        var shift = free.Forecast(x.Select(v => v + 1f).ToArray()).Zip(free.Forecast(x), (p, q) => p - q).Average();
        Assert.True(Math.Abs(shift - 1) > 1e-3, $"mean response to a unit shift {shift}");
    }

    [Fact]
    public void OutputTruncationLimitsTheForecastToTheLeadingTargetComponents()
    {
        var ml = new MLContext(1);
        var split = ForecastSplit.Create(Ett.ETTh1, 48, 24, SplitProtocol.EttHourly);
        var model = ml.Forecasting.OrthoRidge(options: new OrthoRidgeOptions { OutputComponents = 3, Normalization = WindowNormalization.None }).Fit(split);
        Assert.True(model.FitInfo.OutputComponents <= 3);
        // The forecast lies in the span of the first three output basis vectors.
        var y = model.Forecast(split.Test.Input(11));
        var c = new float[24];
        model.OutputBasis.Project(y, c);
        for (int i = 3; i < 24; i++) Assert.True(Math.Abs(c[i]) < 1e-4, $"coefficient {i} = {c[i]}");
    }

    [Fact]
    public void GivenBasesAreUsedAndMatchFittedOnes()
    {
        var ml = new MLContext(1);
        var split = ForecastSplit.Create(Ett.ETTh1, 48, 24, SplitProtocol.EttHourly);
        var fitted = ml.Forecasting.OrthoRidge().Fit(split);
        var reused = ml.Forecasting.OrthoRidge(options: new OrthoRidgeOptions { Bases = [fitted.OutputBasis, fitted.InputBasis] }).Fit(split);
        Assert.Same(fitted.InputBasis, reused.InputBasis);
        Assert.Same(fitted.OutputBasis, reused.OutputBasis);
        Assert.Equal(fitted.Weights.ToArray(), reused.Weights.ToArray());
    }

    [Fact]
    public void PerChannelBasesAreEachOrthonormal()
    {
        var split = ForecastSplit.Create(Ett.ETTh1, 24, 24, SplitProtocol.EttHourly);
        var bases = OrthoTransBasis.FitPerChannel(split.TrainChannels(), 24);
        Assert.Equal(7, bases.Length);
        foreach (var b in bases)
            for (int i = 0; i < 24; i++)
                Assert.True(Math.Abs(System.Numerics.Tensors.TensorPrimitives.Dot(b.Vector(i), b.Vector(i)) - 1) < 1e-5);
    }
}
