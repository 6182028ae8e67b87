using Microsoft.ML;
using MLTransforms.Rotations;
using static MLTransforms.Tests.Rotations.RotationTestData;

namespace MLTransforms.Tests.Rotations;

public class RotationOverflowTests
{
    private const int D = 1024;

    private static float[] Huge() => Enumerable.Repeat(1e37f, D).ToArray();

    [Fact]
    public void TheSpanApiRejectsFiniteInputThatOverflows()
    {
        var rotation = new StructuredRotation(D, blocks: 2, seed: 3);
        var e = Assert.Throws<InvalidOperationException>(() => rotation.Apply(Huge(), new float[D]));
        Assert.Contains("input of 1024 values is finite", e.Message);
        Assert.Contains("largest magnitude is 1E+37", e.Message);
        Assert.Contains("Single range", e.Message);
        var inPlace = Assert.Throws<InvalidOperationException>(() => rotation.ApplyInPlace(Huge()));
        Assert.Contains("ApplyInPlace produced NaN or infinity from 1024 values", inPlace.Message);
        Assert.Throws<InvalidOperationException>(() => rotation.ApplyInverseInPlace(Huge()));
        Assert.Throws<InvalidOperationException>(() => rotation.ApplyInverse(Huge(), new float[D]));
        // NaN input is named as such, not as an overflow.
        var nan = new float[D];
        nan[7] = float.NaN;
        var n = Assert.Throws<InvalidOperationException>(() => rotation.Apply(nan, new float[D]));
        Assert.Contains("slot 7", n.Message);
        // Large but representable values still rotate, norm preserved.
        var big = Enumerable.Repeat(1e30f, D).ToArray();
        var y = new float[D];
        rotation.Apply(big, y);
        Assert.Equal(1e30 * Math.Sqrt(D), Math.Sqrt(y.Sum(v => (double)v * v)), 1e30 * Math.Sqrt(D) * 1e-5);
    }

    [Theory]
    [InlineData("rotation")]
    [InlineData("srht")]
    public void ThePipelineAndTheTransformerSpanApiRejectAnOverflowingRow(string kind)
    {
        var ml = new MLContext(1);
        var rows = Gaussian(20, D, seed: 4);
        IEstimator<MLTransforms.Core.Pipeline.VectorTransformer> estimator = kind == "rotation"
            ? ml.Transforms.RandomRotation("Out", "Features", seed: 1)
            : ml.Transforms.StructuredRandomProjection("Out", "Features", outputDimension: 64, seed: 1);
        var model = estimator.Fit(Load(ml, rows));
        rows[13] = Huge();
        var e = Assert.Throws<InvalidOperationException>(() => Column(model.Transform(Load(ml, rows)), "Out"));
        Assert.Contains("Output 'Out' overflowed at row 13", e.Message);
        Assert.Contains("1024 values", e.Message);
        Assert.Contains("1E+37", e.Message);
        var single = Assert.Throws<InvalidOperationException>(() => model.Transform(Huge()));
        Assert.Contains("Output 'Out' overflowed at row 0", single.Message);
        var batch = Assert.Throws<InvalidOperationException>(() => model.Transform(rows.SelectMany(r => r).ToArray(), new float[rows.Length * model.OutputSize]));
        Assert.Contains("row 13", batch.Message);
    }

    [Theory]
    [InlineData(1 << 30)]
    [InlineData(OrthogonalRandomFeaturesEstimator.MaxRank + 1)]
    [InlineData(0)]
    public void SorfRankIsValidatedWhenTheEstimatorIsCreated(int rank)
    {
        var ml = new MLContext(1);
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => ml.Transforms.OrthogonalRandomFeatures(new OrthogonalRandomFeaturesOptions
        {
            OutputColumnName = "Out", InputColumnName = "Features", Rank = rank, UseCosAndSinBases = true,
        }));
        Assert.Equal("rank", e.ParamName);
        Assert.Contains($"in 1..{OrthogonalRandomFeaturesEstimator.MaxRank}", e.Message);
        Assert.Contains(rank.ToString(), e.Message);
    }

    [Fact]
    public void SorfAtTheMaximumRankIsAcceptedByTheConstructor()
    {
        var ml = new MLContext(1);
        var estimator = ml.Transforms.OrthogonalRandomFeatures(new OrthogonalRandomFeaturesOptions { Rank = OrthogonalRandomFeaturesEstimator.MaxRank });
        Assert.Equal(OrthogonalRandomFeaturesEstimator.MaxRank, estimator.Rank);
    }
}
