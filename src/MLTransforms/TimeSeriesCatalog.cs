using Microsoft.ML;
using MLTransforms.TimeSeries;
using MLTransforms.Core.Pipeline;

namespace MLTransforms;

/// <summary>OrthoTrans decorrelation (<c>mlContext.Transforms</c>) and forecasters in the OrthoTrans domain
/// (<c>mlContext.Forecasting</c>).</summary>
public static class TimeSeriesCatalog
{
    /// <summary>
    /// Fits an OrthoTrans basis (OLinear, arXiv 2505.08550) on a column of windows <c>Vector&lt;Single, L&gt;</c>
    /// and maps each window to its decorrelated coefficients (<c>Vector&lt;Single, k&gt;</c>).
    /// </summary>
    /// <param name="catalog">The transforms catalog.</param>
    /// <param name="outputColumnName">Column for the coefficients.</param>
    /// <param name="inputColumnName">Column of windows; <see langword="null"/>: <paramref name="outputColumnName"/>.</param>
    /// <param name="options">Truncation, normalisation, channel column.</param>
    public static OrthoTransEstimator OrthoTrans(this TransformsCatalog catalog, string outputColumnName, string? inputColumnName = null,
        OrthoTransOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        return new OrthoTransEstimator(CatalogEnvironment.Of(catalog), outputColumnName, inputColumnName, options);
    }

    /// <summary>An OrthoTrans transformer from an already fitted basis (e.g. <see cref="OrthoTransBasis.Fit"/> on a
    /// whole series): window column <c>Vector&lt;Single, L&gt;</c> to the leading <paramref name="components"/> coefficients.</summary>
    /// <param name="catalog">The transforms catalog.</param>
    /// <param name="basis">The basis.</param>
    /// <param name="outputColumnName">Column for the coefficients.</param>
    /// <param name="inputColumnName">Column of windows; <see langword="null"/>: <paramref name="outputColumnName"/>.</param>
    /// <param name="components">Coefficients kept; <see langword="null"/>: all L.</param>
    public static OrthoTransTransformer OrthoTrans(this TransformsCatalog catalog, OrthoTransBasis basis, string outputColumnName,
        string? inputColumnName = null, int? components = null)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentNullException.ThrowIfNull(basis);
        SchemaChecks.CheckOption(components is null or > 0 && components <= basis.Length, nameof(components), components, $"in [1, {basis.Length}]");
        return new OrthoTransTransformer(outputColumnName, inputColumnName ?? outputColumnName, basis, components ?? basis.Length);
    }

    /// <summary>
    /// A closed-form linear forecaster in the OrthoTrans domain: input window column <c>Vector&lt;Single, T&gt;</c>
    /// to forecast column <c>Vector&lt;Single, H&gt;</c>. Fit it on a <see cref="ForecastSplit"/> (fast, standard
    /// protocol) or on a data view of windows with a target column.
    /// </summary>
    /// <param name="catalog">The forecasting catalog.</param>
    /// <param name="outputColumnName">Column for the forecasts.</param>
    /// <param name="inputColumnName">Column of input windows.</param>
    /// <param name="options">Penalty grids, normalisation, target column.</param>
    public static OrthoRidgeForecastEstimator OrthoRidge(this ForecastingCatalog catalog, string outputColumnName = "Forecast",
        string inputColumnName = "Input", OrthoRidgeOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        return new OrthoRidgeForecastEstimator(CatalogEnvironment.Of(catalog), outputColumnName, inputColumnName, options);
    }

    /// <summary>
    /// A forecaster that corrects the OrthoTrans ridge forecaster with any ML.NET regression trainer: one model per
    /// leading output coefficient predicts the ridge's residual on that (decorrelated) coefficient.
    /// </summary>
    /// <param name="catalog">The forecasting catalog.</param>
    /// <param name="trainer">A regression trainer reading the default columns <c>Features</c> and <c>Label</c>,
    /// e.g. <c>mlContext.Regression.Trainers.LightGbm()</c>; it is fitted once per corrected coefficient.</param>
    /// <param name="outputColumnName">Column for the forecasts.</param>
    /// <param name="inputColumnName">Column of input windows.</param>
    /// <param name="options">Number of corrected coefficients, subsampling, the ridge settings.</param>
    public static OrthoResidualForecastEstimator OrthoResidual(this ForecastingCatalog catalog, IEstimator<ITransformer> trainer,
        string outputColumnName = "Forecast", string inputColumnName = "Input", OrthoResidualOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        return new OrthoResidualForecastEstimator(CatalogEnvironment.Of(catalog), trainer, outputColumnName, inputColumnName, options);
    }
}
