using Microsoft.ML;
using Microsoft.ML.Data;
using MLTransforms.TimeSeries;
using MLTransforms.Core.Pipeline;

namespace MLTransforms.Tests.TimeSeries;

public class ForecastSplitTests
{
    [Theory]
    [InlineData(96, 96, 8449, 2785, 2785)]
    [InlineData(96, 720, 7825, 2161, 2161)]
    [InlineData(336, 96, 8209, 2785, 2785)]
    public void EttHourlyProtocolHasTheStandardWindowCounts(int t, int h, int train, int val, int test)
    {
        var split = ForecastSplit.Create(Ett.ETTh1, t, h, SplitProtocol.EttHourly);
        Assert.Equal(SplitProtocol.EttHourly, split.Protocol);
        Assert.Equal(train, split.Train.WindowsPerChannel);
        Assert.Equal(val, split.Validation.WindowsPerChannel);
        Assert.Equal(test, split.Test.WindowsPerChannel);
        Assert.Equal(7 * test, split.Test.Count);
        Assert.Equal((0, 8640), (split.Train.RowStart, split.Train.RowEnd));
        Assert.Equal((8640 - t, 11520), (split.Validation.RowStart, split.Validation.RowEnd));
        Assert.Equal((11520 - t, 14400), (split.Test.RowStart, split.Test.RowEnd));
    }

    [Fact]
    public void WindowsAreStrideOneViewsOfTheZScoredSeriesWithTheirTargetsRightAfter()
    {
        var split = ForecastSplit.Create(Ett.ETTh1, 96, 96, SplitProtocol.EttHourly);
        var test = split.Test;
        int w = 3 * test.WindowsPerChannel + 10; // channel 3, 11th window
        Assert.Equal(3, test.ChannelOf(w));
        Assert.Equal(11520 - 96 + 10, test.StartOf(w));
        var raw = Ett.ETTh1.Channel(3);
        double mean = split.Mean[3], sd = split.StandardDeviation[3];
        Assert.True(Math.Abs((raw[11520 - 96 + 10] - mean) / sd - test.Input(w)[0]) < 1e-5);
        Assert.True(Math.Abs((raw[11520 + 10] - mean) / sd - test.Target(w)[0]) < 1e-5);
        // The last test window (last channel) ends at row 14399.
        Assert.True(Math.Abs((Ett.ETTh1.Channel(6)[14399] - split.Mean[6]) / split.StandardDeviation[6] - test.Target(test.Count - 1)[^1]) < 1e-5);
    }

    [Fact]
    public void ZScoringUsesTrainStatisticsOnly()
    {
        var split = ForecastSplit.Create(Ett.ETTh1, 96, 96, SplitProtocol.EttHourly);
        for (int c = 0; c < split.ChannelCount; c++)
        {
            var train = split.ScaledChannel(c)[..8640];
            double m = 0, s = 0;
            foreach (var v in train) m += v;
            m /= train.Length;
            foreach (var v in train) s += (v - m) * (v - m);
            Assert.True(Math.Abs(m) < 1e-5, $"channel {c} train mean {m}");
            Assert.True(Math.Abs(Math.Sqrt(s / train.Length) - 1) < 1e-5);
            // ETTh1's test period is cooler than its train period: the test rows are not re-centred.
        }
        var test = split.ScaledChannel(6)[11520..14400];
        double tm = 0;
        foreach (var v in test) tm += v;
        Assert.True(Math.Abs(tm / test.Length) > 0.1, $"OT test mean {tm / test.Length}");
    }

    [Fact]
    public void RatioProtocolSplitsSeventyTenTwenty()
    {
        var ili = MultivariateSeries.LoadCsv(TestData.Repo("data/timeseries/national_illness.csv"));
        var split = ForecastSplit.Create(ili, 36, 24, SplitProtocol.Ratios);
        Assert.Equal(SplitProtocol.Ratios, split.Protocol);
        Assert.Equal((0, 676), (split.Train.RowStart, split.Train.RowEnd));
        Assert.Equal((676 - 36, 966 - 193), (split.Validation.RowStart, split.Validation.RowEnd));
        Assert.Equal((966 - 193 - 36, 966), (split.Test.RowStart, split.Test.RowEnd));
        Assert.Equal(193 - 24 + 1, split.Test.WindowsPerChannel);
    }

    [Fact]
    public void EttMinuteProtocolIsFourTimesTheHourly()
    {
        var series = MultivariateSeries.FromChannels(["a"], [Enumerable.Range(0, 57600).Select(i => MathF.Sin(i * 0.01f)).ToArray()], "ETTm2");
        var split = ForecastSplit.Create(series, 96, 96, SplitProtocol.EttMinute);
        Assert.Equal(SplitProtocol.EttMinute, split.Protocol);
        Assert.Equal((46080 - 96, 57600), (split.Test.RowStart, split.Test.RowEnd));
        Assert.Equal(34560 - 192 + 1, split.Train.WindowsPerChannel);
    }

    [Fact]
    public void WindowDataViewHasVectorColumnsOfTheLookbackAndHorizon()
    {
        var split = ForecastSplit.Create(Ett.ETTh1, 48, 24, SplitProtocol.EttHourly);
        var view = split.Test.ToDataView(new MLContext(1));
        Assert.Equal("Vector<Single, 48>", SchemaChecks.Describe(view.Schema["Input"].Type));
        Assert.Equal("Vector<Single, 24>", SchemaChecks.Describe(view.Schema["Target"].Type));
        var channels = view.GetColumn<int>("Channel").ToArray();
        Assert.Equal(split.Test.Count, channels.Length);
        Assert.Equal(6, channels[^1]);
        var first = view.GetColumn<float[]>("Target").First();
        Assert.Equal(split.Test.Target(0).ToArray(), first);
    }

    [Fact]
    public void SeriesFromDataViewReadsNumericColumnsInOrder()
    {
        var ml = new MLContext(1);
        var data = ml.Data.LoadFromEnumerable(Enumerable.Range(0, 10).Select(i => new Point { A = i, B = 2.0 * i }));
        var series = MultivariateSeries.FromDataView(data, name: "pts");
        Assert.Equal(["A", "B"], series.ColumnNames);
        Assert.Equal(18f, series.Channel(1)[9]);
    }

    private sealed class Point
    {
        public float A { get; set; }
        public double B { get; set; }
    }
}
