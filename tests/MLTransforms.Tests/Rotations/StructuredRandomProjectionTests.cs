using Microsoft.ML;
using MLTransforms.Rotations;
using static MLTransforms.Tests.Rotations.RotationTestData;

namespace MLTransforms.Tests.Rotations;

public class StructuredRandomProjectionTests
{
    [Theory]
    [InlineData(1000, 0.5, 331)]
    [InlineData(100, 0.1, 3947)]
    [InlineData(20000, 0.3, 1100)]
    [InlineData(1, 0.5, 0)]
    public void AutoSizeIsScikitLearnsFormula(long n, double eps, long expected)
    {
        // Values of sklearn.random_projection.johnson_lindenstrauss_min_dim(n, eps=eps).
        Assert.Equal(expected, StructuredRandomProjectionEstimator.JohnsonLindenstraussMinDimension(n, eps));
    }

    [Fact]
    public void AutoSizeFitsFromTheRowCountAndFailsLikeScikitLearn()
    {
        var ml = new MLContext(1);
        var model = ml.Transforms.StructuredRandomProjection("Out", "Features", eps: 0.5).Fit(Load(ml, Gaussian(1000, 400, 1)));
        Assert.Equal(331, model.OutputSize);
        Assert.Equal(512, model.Rotation.PaddedDimension);
        Assert.Equal(331, model.Rows.Distinct().Count());
        Assert.All(model.Rows, r => Assert.InRange(r, 0, 511));

        var ex = Assert.Throws<InvalidOperationException>(() => ml.Transforms.StructuredRandomProjection("Out", "Features").Fit(Load(ml, Gaussian(50, 64, 1))));
        Assert.Contains("eps=0.100000 and n_samples=50 lead to a target dimension of 3353 which is larger than the original space with n_features=64", ex.Message);
        Assert.Contains("'Features'", ex.Message);
        var one = Assert.Throws<InvalidOperationException>(() => ml.Transforms.StructuredRandomProjection("Out", "Features").Fit(Load(ml, Gaussian(1, 64, 1))));
        Assert.Contains("n_samples=1 lead to a target dimension of 0 which is invalid", one.Message);
    }

    [Fact]
    public void PreservesPairwiseDistancesOfRealEmbeddingsWithinEps()
    {
        // 384-d SciFact sentence embeddings.
        var rows = SciFact(300);
        var ml = new MLContext(1);
        double eps = 0.5;
        int within = 0, pairs = 0;
        double ratioSum = 0;
        foreach (int seed in new[] { 1, 2 })
        {
            var model = ml.Transforms.StructuredRandomProjection("Out", "Features", eps: eps, seed: seed).Fit(Load(ml, rows));
            var projected = Column(model.Transform(Load(ml, rows)), "Out");
            for (int i = 0; i < rows.Length; i++)
                for (int j = 0; j < i; j++)
                {
                    double before = SquaredDistance(rows[i], rows[j]);
                    if (before == 0) continue;
                    double ratio = SquaredDistance(projected[i], projected[j]) / before;
                    ratioSum += ratio;
                    pairs++;
                    if (Math.Abs(ratio - 1) <= eps) within++;
                }
        }
        Assert.True(within >= 0.99 * pairs, $"{within} of {pairs} pairs within eps");
        Assert.InRange(ratioSum / pairs, 0.97, 1.03);
    }

    [Fact]
    public void IsASubsetOfTheScaledRotation()
    {
        var ml = new MLContext(1);
        var rows = Gaussian(3, 100, 2);
        var model = ml.Transforms.StructuredRandomProjection("Out", "Features", outputDimension: 40, blocks: 2, seed: 9).Fit(Load(ml, rows));
        var rotated = new float[128];
        model.Rotation.Apply(rows[1], rotated);
        var y = model.Transform(rows[1]);
        for (int i = 0; i < 40; i++)
            Assert.Equal(MathF.Sqrt(128f / 40) * rotated[model.Rows[i]], y[i], 1e-4);
        Assert.NotEqual(y, ml.Transforms.StructuredRandomProjection("Out", "Features", outputDimension: 40, blocks: 2, seed: 10).Fit(Load(ml, rows)).Transform(rows[1]));
    }
}
