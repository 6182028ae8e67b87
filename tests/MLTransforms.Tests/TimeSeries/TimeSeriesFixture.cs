using MLTransforms.TimeSeries;

namespace MLTransforms.Tests.TimeSeries;

/// <summary>ETTh1 loaded once for the time-series tests.</summary>
internal static class Ett
{
    private static readonly Lazy<MultivariateSeries> H1 = new(() => MultivariateSeries.LoadCsv(TestData.Repo("data/timeseries/ETTh1.csv")));

    public static MultivariateSeries ETTh1 => H1.Value;
}

/// <summary>Batch forecasting into a new array, for tests.</summary>
internal static class ForecasterTestExtensions
{
    public static float[] ForecastAll(this IForecaster forecaster, ReadOnlySpan<float> windows)
    {
        var result = new float[windows.Length / (forecaster.Lookback * forecaster.Channels) * forecaster.Horizon * forecaster.Channels];
        forecaster.Forecast(windows, result);
        return result;
    }
}
