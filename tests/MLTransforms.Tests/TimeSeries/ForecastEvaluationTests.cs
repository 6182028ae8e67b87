using MLTransforms.TimeSeries;

namespace MLTransforms.Tests.TimeSeries;

public class ForecastEvaluationTests
{
    [Fact]
    public void ScoreIsTheMeanSquaredAndAbsoluteError()
    {
        var m = ForecastEvaluation.Score([1f, 2f, 3f, 4f], [1f, 0f, 4f, 4f], windows: 2);
        Assert.Equal((0 + 4 + 1 + 0) / 4.0, m.Mse, 12);
        Assert.Equal((0 + 2 + 1 + 0) / 4.0, m.Mae, 12);
        Assert.Equal(2, m.Windows);
    }

    [Fact]
    public void ScoreAgreesWithPerWindowEvaluation()
    {
        var test = ForecastSplit.Create(Ett.ETTh1, 24, 12, SplitProtocol.EttHourly).Test;
        var metrics = ForecastEvaluation.RepeatLast(test);
        var forecast = new float[test.Count * test.Horizon];
        var target = test.TargetArray();
        for (int w = 0; w < test.Count; w++) forecast.AsSpan(w * test.Horizon, test.Horizon).Fill(test.Input(w)[^1]);
        var scored = ForecastEvaluation.Score(forecast, target, test.Count);
        Assert.Equal(metrics.Mse, scored.Mse, 1e-6);
        Assert.Equal(metrics.Mae, scored.Mae, 1e-6);
    }

    [Fact]
    public void ScoreRejectsMismatchedLengths()
    {
        var e = Assert.Throws<ArgumentException>(() => ForecastEvaluation.Score([1f, 2f], [1f], 1));
        Assert.Contains("2 forecast values for 1 target values", e.Message);
    }
}
