using Microsoft.ML;
using MLTransforms.Core.Onnx;

namespace MLTransforms.TimeSeries;

/// <summary>
/// The one contract of every fitted forecaster (<see cref="OrthoRidgeForecaster"/>, <see cref="OrthoResidualForecaster"/>,
/// <see cref="OLinear.OLinearForecaster"/>).
/// </summary>
/// <remarks>
/// <para>Layout: a window is <see cref="Lookback"/> x <see cref="Channels"/> values, time-major (value of channel c at
/// step i at index i N + c, like the rows of the CSV); its forecast is <see cref="Horizon"/> x <see cref="Channels"/>
/// values in the same layout. Channel-independent forecasters have <see cref="Channels"/> = 1, so a window is simply
/// T consecutive values of one channel. A batch is whole windows back to back (row-major).</para>
/// <para>Values are in the scale the forecaster was fitted on (z-scored with train statistics for a
/// <see cref="ForecastSplit"/>; see <see cref="ForecastSplit.Scale"/>).</para>
/// </remarks>
public interface IForecaster : ITransformer
{
    /// <summary>Lookback T: time steps per input window.</summary>
    int Lookback { get; }

    /// <summary>Horizon H: time steps per forecast.</summary>
    int Horizon { get; }

    /// <summary>Channels N per window (1 for channel-independent forecasters).</summary>
    int Channels { get; }

    /// <summary>Forecasts a batch: <paramref name="windows"/> holds n whole windows (n x T x N values),
    /// <paramref name="forecasts"/> receives n x H x N values.</summary>
    /// <exception cref="ArgumentException">The spans do not hold whole windows, differ in window count, or a value is
    /// not finite.</exception>
    void Forecast(ReadOnlySpan<float> windows, Span<float> forecasts);

    /// <summary>Forecasts one window (T x N values) into H x N values.</summary>
    float[] Forecast(ReadOnlySpan<float> window);

    /// <summary>MSE and MAE over every window, step and channel of <paramref name="windows"/> (the standard metric,
    /// <see cref="ForecastEvaluation.Score"/>; <see cref="ForecastMetrics.Windows"/> counts per-channel windows).</summary>
    ForecastMetrics Evaluate(WindowSet windows);

    /// <summary>The forecaster as a standalone ONNX model (serialised bytes): input [batch, T N] to output [batch, H N].</summary>
    /// <param name="form">Batched (for ONNX Runtime) or row graph (for ML.NET's <c>ApplyOnnxModel</c>).</param>
    /// <param name="inputName">Name of the graph input; default the input column name.</param>
    /// <param name="outputName">Name of the graph output; default the output column name.</param>
    /// <exception cref="NotSupportedException">The forecaster has no ONNX form; the message says why.</exception>
    byte[] ToOnnxBytes(OnnxGraphForm form = OnnxGraphForm.Batched, string? inputName = null, string? outputName = null);
}
