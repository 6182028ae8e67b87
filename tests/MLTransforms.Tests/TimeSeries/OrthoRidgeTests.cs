using MathNet.Numerics.LinearAlgebra;
using Microsoft.ML;
using MLTransforms.TimeSeries;

namespace MLTransforms.Tests.TimeSeries;

public class OrthoRidgeTests
{
    [Fact]
    public void SharedPenaltyRidgeIsInvariantToTheOrthogonalBasis()
    {
        // Plain ridge on the original windows vs the OrthoTrans-domain solver with one shared penalty.
        var split = ForecastSplit.Create(Ett.ETTh1, 24, 12);
        const double rel = 1e-2;
        var forecaster = new MLContext(1).Forecasting.OrthoRidge(options: new OrthoRidgeOptions
        {
            Normalization = WindowNormalization.None, Penalties = [rel], PenaltyShapes = [0], PerCoefficient = false,
        }).Fit(split);

        int t = 24, h = 12, n = split.Train.Count;
        var x = split.Train.InputArray();
        var y = split.Train.TargetArray();
        var xm = Matrix<double>.Build.Dense(t, n, (i, r) => x[r * t + i]);
        var ym = Matrix<double>.Build.Dense(h, n, (i, r) => y[r * h + i]);
        var sxx = xm.TransposeAndMultiply(xm);
        double lambda = rel * sxx.Trace() / t;
        var w = (sxx + Matrix<double>.Build.DenseIdentity(t) * lambda).Solve(xm.TransposeAndMultiply(ym)).Transpose(); // H x T
        var m = forecaster.Weights;
        for (int i = 0; i < h; i++)
            for (int j = 0; j < t; j++)
                Assert.True(Math.Abs(w[i, j] - m[i * t + j]) < 1e-4, $"M[{i},{j}] = {m[i * t + j]}, direct ridge {w[i, j]}");
    }
}
