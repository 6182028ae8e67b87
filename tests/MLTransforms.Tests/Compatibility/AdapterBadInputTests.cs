using Microsoft.ML;
using MLTransforms.Embeddings;

namespace MLTransforms.Tests.Compatibility;

public class AdapterBadInputTests
{
    private const int D = 16;

    /// <summary>The kinds that fit from statistics (all but the residual MLP, which needs the pairs).</summary>
    public static TheoryData<EmbeddingAdapterKind> Kinds => new(Enum.GetValues<EmbeddingAdapterKind>().Where(k => k != EmbeddingAdapterKind.ResidualMlp));

    private static PairedStatistics[] Duplicates(int pairs)
    {
        var rng = new Random(3);
        var x = AdapterFitTests.Gaussian(rng, D);
        var folds = Enumerable.Range(0, 5).Select(_ => new PairedStatistics(D, D)).ToArray();
        for (int i = 0; i < pairs; i++) folds[i % 5].Add(x, AdapterFitTests.Gaussian(rng, D));
        return folds;
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void IdenticalNewModelVectorsAreAClearErrorNotNaNWeights(EmbeddingAdapterKind kind)
    {
        foreach (int pairs in new[] { 1, 40 })
        {
            var e = Assert.Throws<InvalidOperationException>(() => EmbeddingAdapterFitter.Fit(Duplicates(pairs), new EmbeddingAdapterOptions { Kind = kind }));
            Assert.Contains("No variance in the input column", e.Message);
            Assert.Contains($"all {pairs} pairs", e.Message);
            Assert.Contains("expected > 0", e.Message);
            Assert.Contains(kind.ToString(), e.Message);
        }
    }

    [Fact]
    public void TheEstimatorReportsNoVarianceToo()
    {
        var ml = new MLContext(1);
        var x = Enumerable.Range(0, D).Select(j => 1f + j).ToArray();
        var rows = Enumerable.Range(0, 30).Select(i => new EmbeddingAdapterPipelineTests.Pair
        {
            New = (float[])x.Clone(),
            Old = Enumerable.Range(0, D).Select(j => MathF.Sin(i + j)).ToArray(),
        }).ToList();
        var e = Assert.Throws<InvalidOperationException>(() => ml.Transforms.EmbeddingAdapter("M", "New", "Old").Fit(ml.Data.LoadFromEnumerable(rows)));
        Assert.Contains("No variance in the input column", e.Message);
    }

    [Fact]
    public void UncentredProcrustesOnIdenticalVectorsIsStillDefined()
    {
        // Without centring the map only needs the vectors' common direction: a finite orthogonal W.
        var map = EmbeddingAdapterFitter.Fit(Duplicates(10), new EmbeddingAdapterOptions { Center = false, Scaling = AdapterScaling.None });
        Assert.All(map.Weights.ToArray(), v => Assert.True(float.IsFinite(v)));
        Assert.True(map.Diagnostics.OrthogonalityError < 1e-5);
    }

    [Fact]
    public void SingularRidgeAdviceMatchesHowTheRidgeWasChosen()
    {
        // 40 pairs whose new-model vectors span only 3 of 16 dimensions: Σxx is singular.
        var rng = new Random(5);
        var basis = Enumerable.Range(0, 3).Select(_ => AdapterFitTests.Gaussian(rng, D)).ToArray();
        var folds = Enumerable.Range(0, 5).Select(_ => new PairedStatistics(D, D)).ToArray();
        for (int i = 0; i < 40; i++)
        {
            var c = AdapterFitTests.Gaussian(rng, 3);
            var x = new float[D];
            for (int k = 0; k < 3; k++) for (int j = 0; j < D; j++) x[j] += c[k] * basis[k][j];
            folds[i % 5].Add(x, AdapterFitTests.Gaussian(rng, D));
        }
        var given = Assert.Throws<InvalidOperationException>(() => EmbeddingAdapterFitter.Fit(folds, new EmbeddingAdapterOptions { Kind = EmbeddingAdapterKind.Ridge, Ridge = 0 }));
        Assert.Contains("Set EmbeddingAdapterOptions.Ridge > 0 (or leave it null to choose one)", given.Message);
        // Left null, a ridge is chosen (> 0) and the fit works: the advice above is right.
        var chosen = EmbeddingAdapterFitter.Fit(folds, new EmbeddingAdapterOptions { Kind = EmbeddingAdapterKind.Ridge });
        Assert.True(chosen.Diagnostics.Ridge > 0);
        Assert.All(chosen.Weights.ToArray(), v => Assert.True(float.IsFinite(v)));
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void FewerPairsThanDimensionsFitAFiniteMapOrNamesTheOption(EmbeddingAdapterKind kind)
    {
        const int n = 6;
        var (x, y, _, _) = AdapterFitTests.Synthetic(n, D, 7);
        var folds = AdapterFitTests.Folds(x, y, D, D, folds: 3);
        var options = new EmbeddingAdapterOptions { Kind = kind, Rank = 4, ExtraDimensions = 4 };
        var map = EmbeddingAdapterFitter.Fit(folds, options);
        Assert.All(map.Weights.ToArray(), v => Assert.True(float.IsFinite(v)));
        Assert.All(map.Bias.ToArray(), v => Assert.True(float.IsFinite(v)));
        if (kind is EmbeddingAdapterKind.Procrustes or EmbeddingAdapterKind.OrthogonalExtended)
            Assert.True(map.Diagnostics.OrthogonalityError < 1e-4, $"orthogonality error {map.Diagnostics.OrthogonalityError}");
        // The pairs are an exact rotation: a sound fit reproduces them far better than their mean does.
        var mean = Enumerable.Range(0, D).Select(j => Enumerable.Range(0, n).Average(i => y[i * D + j])).ToArray();
        double spread = 0, error = 0;
        for (int i = 0; i < n; i++)
        {
            var mapped = map.Apply(x.AsSpan(i * D, D));
            for (int j = 0; j < D; j++)
            {
                spread += (y[i * D + j] - mean[j]) * (y[i * D + j] - mean[j]);
                error += (mapped[j] - y[i * D + j]) * (mapped[j] - y[i * D + j]);
            }
        }
        Assert.True(error < 0.5 * spread, $"{kind}: error {error:G3}, spread {spread:G3}");
        if (kind is EmbeddingAdapterKind.Ridge or EmbeddingAdapterKind.LambdaOrthogonal or EmbeddingAdapterKind.LowRank)
        {
            var e = Assert.Throws<InvalidOperationException>(() => EmbeddingAdapterFitter.Fit(folds, new EmbeddingAdapterOptions { Kind = kind, Ridge = 0, Rank = 4 }));
            Assert.Contains($"got {n} pairs of {D}-d vectors", e.Message);
            Assert.Contains("EmbeddingAdapterOptions.Ridge > 0", e.Message);
        }
    }

    [Fact]
    public void TheSpanApiRejectsNaNLikeThePipeline()
    {
        var (x, y, _, _) = AdapterFitTests.Synthetic(100, D, 2);
        var map = EmbeddingAdapterFitter.Fit(AdapterFitTests.Folds(x, y, D, D));
        var input = x.AsSpan(0, 3 * D).ToArray();
        input[D + 5] = float.NaN;
        var e = Assert.Throws<InvalidOperationException>(() => map.Apply(input, new float[3 * D], 3));
        Assert.Contains("'input'", e.Message);
        Assert.Contains("row 1, slot 5", e.Message);
        Assert.Contains("expected finite values", e.Message);
        input[D + 5] = float.PositiveInfinity;
        Assert.Throws<InvalidOperationException>(() => map.Apply(input.AsSpan(D, D)));
    }
}
