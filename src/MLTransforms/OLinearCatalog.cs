using Microsoft.ML;
using MLTransforms.Core.Pipeline;
using MLTransforms.TimeSeries.OLinear;

namespace MLTransforms;

/// <summary>The OLinear forecaster on <c>mlContext.Forecasting</c>.</summary>
public static class OLinearCatalog
{
    /// <summary>
    /// OLinear (arXiv 2505.08550): a NormLin network in the OrthoTrans domain, trained in .NET with Adam. Reads one
    /// multivariate window per row, <c>Vector&lt;Single, T N&gt;</c> time-major (index i N + c), and writes the
    /// forecast <c>Vector&lt;Single, H N&gt;</c> in the same layout. Fit it on a <see cref="TimeSeries.ForecastSplit"/>
    /// (standard protocol) or on data views of windows with a target column and <see cref="OLinearOptions.Channels"/>.
    /// </summary>
    /// <param name="catalog">The forecasting catalog.</param>
    /// <param name="outputColumnName">Column for the forecasts.</param>
    /// <param name="inputColumnName">Column of input windows.</param>
    /// <param name="options">Hyperparameters (defaults: the authors' ETTh1 settings), seed, progress.</param>
    public static OLinearForecastEstimator OLinear(this ForecastingCatalog catalog, string outputColumnName = "Forecast",
        string inputColumnName = "Input", OLinearOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        return new OLinearForecastEstimator(CatalogEnvironment.Of(catalog), outputColumnName, inputColumnName, options);
    }
}
