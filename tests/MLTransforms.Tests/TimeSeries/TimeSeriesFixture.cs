using MLTransforms.TimeSeries;

namespace MLTransforms.Tests.TimeSeries;

/// <summary>ETTh1 loaded once for the time-series tests.</summary>
internal static class Ett
{
    private static readonly Lazy<MultivariateSeries> H1 = new(() => MultivariateSeries.LoadCsv(TestData.Shared("timeseries/ETTh1.csv")));

    public static MultivariateSeries ETTh1 => H1.Value;
}
