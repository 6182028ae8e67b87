// begin-snippet
using Microsoft.ML;
using Microsoft.ML.Data;
using MLTransforms;
using MLTransforms.TimeSeries;
// end-snippet

namespace MLTransforms.GettingStarted;

/// <summary>OrthoTrans and a forecaster in its domain on ETTh1, standard long-horizon protocol.</summary>
public static class Forecasting
{
    /// <summary>Z-scored test MSE / MAE of the forecaster and of repeating the last value; OrthoTrans components kept.</summary>
    public sealed record Result(double Mse, double Mae, double RepeatLastMse, int Components);

    /// <summary>Fits OrthoTrans and OrthoRidge on the ETTh1 train windows and prints the test metrics.</summary>
    public static Result Run(TextWriter output, string dataDirectory)
    {
        // begin-snippet
        var ml = new MLContext(seed: 1);
        // Standard protocol: train [0, 8640), validation and test 4 months each, channels z-scored on train; T = H = 96.
        var series = MultivariateSeries.LoadCsv(Path.Combine(dataDirectory, "timeseries", "ETTh1.csv"));
        var split = ForecastSplit.Create(series, lookback: 96, horizon: 96, SplitProtocol.EttHourly);

        // OrthoTrans: windows (data view column Input, 96 values) onto the eigenbasis of their temporal correlation.
        var orthoTrans = ml.Transforms.OrthoTrans("Coefficients", "Input", new OrthoTransOptions { RetainedEnergy = 0.9 })
            .Fit(split.Train.ToDataView(ml));
        // Closed-form forecaster in the OrthoTrans domain: a ridge per coefficient, penalties chosen on validation.
        var forecaster = ml.Forecasting.OrthoRidge("Forecast", "Input").Fit(split);
        var forecasts = forecaster.Transform(split.Test.ToDataView(ml)).GetColumn<float[]>("Forecast").ToArray();

        int w = 0;
        ForecastMetrics test = ForecastEvaluation.Evaluate(split.Test, (input, forecast) => forecasts[w++].CopyTo(forecast));
        output.WriteLine($"ETTh1 T=H=96: OrthoTrans keeps {orthoTrans.Components} of 96 coefficients for 90 % of the energy; " +
            $"OrthoRidge test MSE {test.Mse:F3}, MAE {test.Mae:F3} (repeat-last MSE {ForecastEvaluation.RepeatLast(split.Test).Mse:F3})");
        // end-snippet
        return new Result(test.Mse, test.Mae, ForecastEvaluation.RepeatLast(split.Test).Mse, orthoTrans.Components);
    }
}
