using BenchmarkDotNet.Attributes;
using MathNet.Numerics.LinearAlgebra;
using Microsoft.ML;
using MLTransforms.TimeSeries;

namespace MLTransforms.Benchmarks;

/// <summary>
/// Fitting the linear forecaster on ETTh1 (T = 96, H = 96, 59,143 train windows): the naive route (materialise the
/// windows, form X^T X and X^T Y, solve one ridge) against the lagged-moment route and the full OrthoRidge fit
/// (moments, bases, per-coefficient penalty search on validation).
/// </summary>
[MemoryDiagnoser]
public class OrthoRidgeBenchmarks
{
    private ForecastSplit _split = null!;
    private readonly MLContext _ml = new(1);

    [GlobalSetup]
    public void Setup()
    {
        string path = Path.Combine(FindRoot(), "data", "timeseries", "ETTh1.csv");
        _split = ForecastSplit.Create(MultivariateSeries.LoadCsv(path), 96, 96, SplitProtocol.EttHourly);
    }

    [Benchmark(Baseline = true)]
    public Matrix<double> DenseNormalEquations()
    {
        var train = _split.Train;
        int t = train.Lookback, h = train.Horizon, n = train.Count;
        var x = train.InputArray();
        var y = train.TargetArray();
        var xm = Matrix<double>.Build.Dense(t, n, (i, r) => x[r * t + i]);
        var ym = Matrix<double>.Build.Dense(h, n, (i, r) => y[r * h + i]);
        var sxx = xm.TransposeAndMultiply(xm);
        return (sxx + Matrix<double>.Build.DenseIdentity(t) * (1e-3 * sxx.Trace() / t)).Solve(xm.TransposeAndMultiply(ym));
    }

    [Benchmark]
    public Matrix<double> LaggedMoments() => WindowMoments.From(_split.Train).Normalised(WindowNormalization.SubtractMean);

    [Benchmark]
    public OrthoRidgeForecaster OrthoRidgeFit() => _ml.Forecasting.OrthoRidge().Fit(_split);

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "MLTransforms.sln"))) return dir.FullName;
        throw new DirectoryNotFoundException("MLTransforms.sln not found");
    }
}
