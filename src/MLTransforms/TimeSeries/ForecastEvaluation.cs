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

    /// <summary>MSE and MAE of <paramref name="forecast"/> over every window of <paramref name="windows"/>.</summary>
    public static ForecastMetrics Evaluate(WindowSet windows, Forecast forecast)
    {
        ArgumentNullException.ThrowIfNull(windows);
        ArgumentNullException.ThrowIfNull(forecast);
        var pred = new float[windows.Horizon];
        var diff = new float[windows.Horizon];
        double se = 0, ae = 0;
        for (int w = 0; w < windows.Count; w++)
        {
            forecast(windows.Input(w), pred);
            System.Numerics.Tensors.TensorPrimitives.Subtract(pred, windows.Target(w), diff);
            se += System.Numerics.Tensors.TensorPrimitives.SumOfSquares(diff);
            ae += System.Numerics.Tensors.TensorPrimitives.SumOfMagnitudes(diff);
        }
        double n = (double)windows.Count * windows.Horizon;
        return new ForecastMetrics(se / n, ae / n, windows.Count);
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

    /// <summary>MSE and MAE of a fitted forecaster (input length T, output length H).</summary>
    public static ForecastMetrics Evaluate(WindowSet windows, VectorTransformer forecaster)
    {
        ArgumentNullException.ThrowIfNull(forecaster);
        if (forecaster.InputSize != windows.Lookback || forecaster.OutputSize != windows.Horizon)
            throw new ArgumentException($"Forecaster maps {forecaster.InputSize} -> {forecaster.OutputSize} values; the windows are {windows.Lookback} -> {windows.Horizon}.", nameof(forecaster));
        return Evaluate(windows, (x, y) => forecaster.Transform(x).CopyTo(y));
    }

    /// <summary>The repeat-last-value baseline: every forecast step equals the window's last value.</summary>
    public static ForecastMetrics RepeatLast(WindowSet windows) => Evaluate(windows, (x, y) => y.Fill(x[^1]));
}
