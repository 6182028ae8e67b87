using MathNet.Numerics.LinearAlgebra;
using MLTransforms.TimeSeries;
namespace MLTransforms.Tests.TimeSeries;
public class WindowMomentsTests
{
    [Fact]
    public void LaggedGramMatchesTheDirectSumOverWindows()
    {
        var split = ForecastSplit.Create(Ett.ETTh1, 24, 12, SplitProtocol.EttHourly);
        var mo = WindowMoments.From(split.Train).Normalised(WindowNormalization.None);
        int t = 24, h = 12, n = split.Train.Count;
        var x = split.Train.InputArray();
        var y = split.Train.TargetArray();
        var wm = Matrix<double>.Build.Dense(t + h, n, (i, r) => i < t ? x[r * t + i] : y[r * h + i - t]);
        var g = wm.TransposeAndMultiply(wm);
        Assert.True((g - mo).FrobeniusNorm() < 1e-6 * g.FrobeniusNorm(), $"{(g - mo).FrobeniusNorm()} {g.FrobeniusNorm()} {g[0,0]} {mo[0,0]} {g[1,5]} {mo[1,5]}");
    }
}
