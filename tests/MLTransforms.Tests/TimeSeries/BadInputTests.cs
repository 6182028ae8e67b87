using Microsoft.ML;
using MLTransforms.TimeSeries;

namespace MLTransforms.Tests.TimeSeries;

public class BadInputTests
{
    private static MultivariateSeries Sine(int n, string name = "toy", float offset = 0)
        => MultivariateSeries.FromChannels(["a", "b"],
            [Enumerable.Range(0, n).Select(i => MathF.Sin(i * 0.3f)).ToArray(), Enumerable.Range(0, n).Select(i => MathF.Cos(i * 0.1f) + offset).ToArray()], name);

    [Fact]
    public void SeriesShorterThanLookbackPlusHorizonIsRejected()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => ForecastSplit.Create(Sine(100), 48, 24, SplitProtocol.Ratios));
        Assert.Contains("too short", e.Message);
        Assert.Contains("48 + horizon 24", e.Message);
        var ett = Assert.Throws<ArgumentOutOfRangeException>(() => ForecastSplit.Create(Sine(5000, "ETTh2"), 96, 96, SplitProtocol.EttHourly));
        Assert.Contains("needs at least 14400", ett.Message);
    }

    [Theory]
    [InlineData(0, 24, "lookback")]
    [InlineData(-3, 24, "lookback")]
    [InlineData(24, 0, "horizon")]
    public void NonPositiveLookbackOrHorizonIsRejected(int t, int h, string option)
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => ForecastSplit.Create(Sine(1000), t, h, SplitProtocol.Ratios));
        Assert.Equal(option, e.ParamName);
    }

    [Fact]
    public void ConstantChannelIsRejectedByName()
    {
        var series = MultivariateSeries.FromChannels(["ok", "flat"], [Enumerable.Range(0, 500).Select(i => (float)i).ToArray(), Enumerable.Repeat(4f, 500).ToArray()]);
        var e = Assert.Throws<InvalidOperationException>(() => ForecastSplit.Create(series, 24, 12, SplitProtocol.Ratios));
        Assert.Contains("'flat'", e.Message);
        Assert.Contains("constant", e.Message);
        var basis = Assert.Throws<InvalidOperationException>(() => OrthoTransBasis.Fit([Enumerable.Repeat(2f, 100).ToArray()], 10));
        Assert.Contains("lag variance", basis.Message);
    }

    [Fact]
    public void NaNInACsvNamesColumnAndRowUnlessFillingIsChosen()
    {
        string path = Path.Combine(Path.GetTempPath(), $"mlt_nan_{Guid.NewGuid():N}.csv");
        File.WriteAllLines(path, ["date,x,y", "2020-01-01,1,2", "2020-01-02,2,", "2020-01-03,3,NaN", "2020-01-04,4,5"]);
        try
        {
            var e = Assert.Throws<InvalidOperationException>(() => MultivariateSeries.LoadCsv(path));
            Assert.Contains("'y'", e.Message);
            Assert.Contains("row 1", e.Message);
            var filled = MultivariateSeries.LoadCsv(path, MissingValueHandling.CarryForward);
            Assert.Equal([2f, 2f, 2f, 5f], filled.Channel(1).ToArray());
            Assert.Equal(["x", "y"], filled.ColumnNames);
        }
        finally { File.Delete(path); }
        var arrays = Assert.Throws<InvalidOperationException>(() => MultivariateSeries.FromChannels(["a"], [[1f, float.NaN, 3f]]));
        Assert.Contains("'a'", arrays.Message);
        Assert.Contains("row 1", arrays.Message);
    }

    [Fact]
    public void ForecasterRejectsAWindowColumnOfTheWrongLength()
    {
        var ml = new MLContext(1);
        var split = ForecastSplit.Create(Sine(2000), 32, 8, SplitProtocol.Ratios);
        var model = ml.Forecasting.OrthoRidge().Fit(split);
        var other = ForecastSplit.Create(Sine(2000), 16, 8, SplitProtocol.Ratios).Test.ToDataView(ml);
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => model.Transform(other));
        Assert.Contains("expected Vector<Single, 32>, got Vector<Single, 16>", e.Message);
        Assert.Throws<ArgumentException>(() => model.Transform(new float[31]));
    }

    [Fact]
    public void BadForecasterOptionsAreRejected()
    {
        var ml = new MLContext(1);
        Assert.Throws<ArgumentOutOfRangeException>(() => ml.Forecasting.OrthoRidge(options: new OrthoRidgeOptions { Penalties = [] }));
        Assert.Throws<ArgumentOutOfRangeException>(() => ml.Forecasting.OrthoRidge(options: new OrthoRidgeOptions { Penalties = [-1] }));
        Assert.Throws<ArgumentOutOfRangeException>(() => ml.Forecasting.OrthoRidge(options: new OrthoRidgeOptions { OutputComponents = 0 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => ml.Forecasting.OrthoResidual(ml.Regression.Trainers.Sdca(), options: new OrthoResidualOptions { Components = 0 }));
    }
}
