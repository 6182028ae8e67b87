using MLTransforms.Core.Pipeline;
namespace MLTransforms.TimeSeries;

/// <summary>Mean squared and absolute error over all windows, horizon steps and channels (the standard protocol).</summary>
/// <param name="Mse">Mean squared error.</param>
/// <param name="Mae">Mean absolute error.</param>
/// <param name="Windows">Number of windows scored.</param>
public sealed record ForecastMetrics(double Mse, double Mae, long Windows);

/// <summary>Scores forecasters on a <see cref="WindowSet"/>.</summary>
public static class ForecastEvaluation
{
    /// <summary>Forecasts one window: input (T values) to forecast (H values).</summary>
    public delegate void Forecast(ReadOnlySpan<float> input, Span<float> forecast);

    /// <summary>MSE and MAE of <paramref name="forecast"/> over every window of <paramref name="windows"/>
    /// (channel-independent windows of T values; scored by <see cref="Score"/>).</summary>
    public static ForecastMetrics Evaluate(WindowSet windows, Forecast forecast)
    {
        ArgumentNullException.ThrowIfNull(windows);
        ArgumentNullException.ThrowIfNull(forecast);
        int h = windows.Horizon;
        var pred = new float[(long)windows.Count * h];
        for (int w = 0; w < windows.Count; w++)
            forecast(windows.Input(w), pred.AsSpan(w * h, h));
        return Score(pred, windows.TargetArray(), windows.Count);
    }

    /// <summary>MSE and MAE of <paramref name="forecast"/> against <paramref name="target"/> (same length and layout),
    /// reported as <paramref name="windows"/> windows.</summary>
    /// <exception cref="ArgumentException">The spans differ in length.</exception>
    public static ForecastMetrics Score(ReadOnlySpan<float> forecast, ReadOnlySpan<float> target, long windows)
    {
        if (forecast.Length != target.Length)
            throw new ArgumentException($"Got {forecast.Length} forecast values for {target.Length} target values; expected the same number.", nameof(forecast));
        double se = 0, ae = 0;
        for (int i = 0; i < forecast.Length; i++) { double e = forecast[i] - target[i]; se += e * e; ae += Math.Abs(e); }
        return new ForecastMetrics(se / forecast.Length, ae / forecast.Length, windows);
    }

    /// <summary>MSE and MAE of a fitted forecaster over every window of <paramref name="windows"/>: the batch of
    /// <see cref="IForecaster.Forecast(ReadOnlySpan{float}, Span{float})"/> scored by <see cref="Score"/>. Windows are
    /// per channel (T values) when <see cref="IForecaster.Channels"/> is 1, else multivariate (T x N time-major, one
    /// per start row, <see cref="OLinear.MultivariateWindows"/>); <see cref="ForecastMetrics.Windows"/> counts
    /// per-channel windows either way.</summary>
    /// <exception cref="ArgumentException">The forecaster's T, H or N differ from the windows'.</exception>
    public static ForecastMetrics Evaluate(WindowSet windows, IForecaster forecaster)
    {
        ArgumentNullException.ThrowIfNull(windows);
        ArgumentNullException.ThrowIfNull(forecaster);
        bool multivariate = forecaster.Channels > 1;
        if (forecaster.Lookback != windows.Lookback || forecaster.Horizon != windows.Horizon || multivariate && forecaster.Channels != windows.ChannelCount)
            throw new ArgumentException($"Forecaster is T = {forecaster.Lookback}, H = {forecaster.Horizon}, N = {forecaster.Channels}; the windows are " +
                $"T = {windows.Lookback}, H = {windows.Horizon}, N = {windows.ChannelCount}.", nameof(forecaster));
        var inputs = multivariate ? OLinear.MultivariateWindows.Inputs(windows) : windows.InputArray();
        var targets = multivariate ? OLinear.MultivariateWindows.Targets(windows) : windows.TargetArray();
        var pred = new float[targets.Length];
        forecaster.Forecast(inputs, pred);
        return Score(pred, targets, windows.Count);
    }

    /// <summary>The repeat-last-value baseline: every forecast step equals the window's last value.</summary>
    public static ForecastMetrics RepeatLast(WindowSet windows) => Evaluate(windows, (x, y) => y.Fill(x[^1]));
}
