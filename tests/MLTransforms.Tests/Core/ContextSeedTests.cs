using Microsoft.ML;
using Microsoft.ML.Runtime;
using MLTransforms.Core.Pipeline;
using MLTransforms.Rotations;
using MLTransforms.Tests.TimeSeries;
using MLTransforms.TimeSeries;
using MLTransforms.TimeSeries.OLinear;
using static MLTransforms.Tests.Rotations.RotationTestData;

namespace MLTransforms.Tests.Core;

/// <summary>Seeds come from the MLContext as in ML.NET: a null seed is drawn from the estimator's host when it is
/// created, so a seeded context reproduces a pipeline, an unseeded one does not, and an explicit seed always wins.</summary>
public class ContextSeedTests
{
    private static readonly float[][] Rows = Gaussian(60, 20, seed: 8);

    /// <summary>RandomRotation, SRHT and SORF with no seeds, built from <paramref name="ml"/>'s catalog.</summary>
    private static IEstimator<ITransformer> Pipeline(MLContext ml)
        => ml.Transforms.RandomRotation("Rotated", "Features")
            .Append(ml.Transforms.StructuredRandomProjection("Sketch", "Rotated", outputDimension: 16))
            .Append(ml.Transforms.OrthogonalRandomFeatures("Kernel", "Sketch", rank: 48));

    private static float[] Outputs(MLContext ml)
    {
        var data = Load(ml, Rows);
        var scored = Pipeline(ml).Fit(data).Transform(data);
        return [.. Column(scored, "Rotated").SelectMany(r => r), .. Column(scored, "Sketch").SelectMany(r => r), .. Column(scored, "Kernel").SelectMany(r => r)];
    }

    [Fact]
    public void ASeededContextReproducesThePipelineBitForBitAndAnUnseededOneDoesNot()
    {
        Assert.Equal(Outputs(new MLContext(seed: 1)), Outputs(new MLContext(seed: 1)));
        Assert.NotEqual(Outputs(new MLContext(seed: 1)), Outputs(new MLContext(seed: 2)));
        Assert.NotEqual(Outputs(new MLContext()), Outputs(new MLContext()));
    }

    [Fact]
    public void EachEstimatorDrawsItsOwnSeedFromTheContextAndReportsIt()
    {
        var ml = new MLContext(seed: 1);
        var rotation = ml.Transforms.RandomRotation("R", "Features");
        var srht = ml.Transforms.StructuredRandomProjection("S", "Features", outputDimension: 8);
        var sorf = ml.Transforms.OrthogonalRandomFeatures("K", "Features", rank: 16);
        var olinear = ml.Forecasting.OLinear(options: new OLinearOptions());
        var residual = ml.Forecasting.OrthoResidual(ml.Regression.Trainers.Sdca());
        // ML.NET derives each child host's generator from the parent's stream: the first host of a fresh
        // MLContext(seed: 1) draws what any first host of another MLContext(seed: 1) draws.
        var reference = (IHostEnvironment)new MLContext(seed: 1);
        int[] expected = [.. Enumerable.Range(0, 3).Select(_ => reference.Register("any").Rand.Next())];
        Assert.Equal(expected, new[] { rotation.Seed, srht.Seed, sorf.Seed });
        Assert.Equal(5, new[] { rotation.Seed, srht.Seed, sorf.Seed, olinear.Seed, residual.Seed }.Distinct().Count());

        // The seed is fixed at construction: fitting one estimator twice gives one model, whose state used that seed.
        var data = Load(ml, Rows);
        var first = rotation.Fit(data);
        Assert.Equal(rotation.Seed, first.Rotation.Seed);
        Assert.Equal(first.Rotation.Signs(1).ToArray(), rotation.Fit(data).Rotation.Signs(1).ToArray());
        Assert.Equal(srht.Seed, srht.Fit(data).Rotation.Seed);
        Assert.Equal(sorf.Fit(data).Transform(Rows[3]), sorf.Fit(data).Transform(Rows[3]));
    }

    [Fact]
    public void AnExplicitSeedBeatsTheContext()
    {
        float[] Rotated(MLContext ml) => ml.Transforms.RandomRotation("R", "Features", seed: 5).Fit(Load(ml, Rows)).Transform(Rows[0]);
        Assert.Equal(Rotated(new MLContext(seed: 1)), Rotated(new MLContext()));
        Assert.Equal(5, new MLContext(seed: 1).Transforms.OrthogonalRandomFeatures(new OrthogonalRandomFeaturesOptions { Seed = 5 }).Seed);
        Assert.Equal(5, new MLContext(seed: 1).Forecasting.OLinear(options: new OLinearOptions { Seed = 5 }).Seed);
        Assert.Equal(5, new MLContext(seed: 1).Forecasting.OrthoResidual(new MLContext().Regression.Trainers.Sdca(), options: new OrthoResidualOptions { Seed = 5 }).Seed);
        // An estimator constructed directly takes the environment first, as ML.NET's do.
        Assert.Equal(5, new RandomRotationEstimator(new MLContext(), "R", "Features", seed: 5).Seed);
    }

    [Fact]
    public void OLinearTrainsTheSameUnderEqualContextsWithoutASeed()
    {
        var split = ForecastSplit.Create(Ett.ETTh1, 24, 12, SplitProtocol.EttHourly);
        static OLinearOptions Tiny() => new() { Embedding = 2, ModelWidth = 8, FeedForwardWidth = 8, Blocks = 1, MaxEpochs = 1, MaxTrainingWindows = 128 };
        var a = new MLContext(seed: 3).Forecasting.OLinear(options: Tiny()).Fit(split);
        var b = new MLContext(seed: 3).Forecasting.OLinear(options: Tiny()).Fit(split);
        var c = new MLContext(seed: 4).Forecasting.OLinear(options: Tiny()).Fit(split);
        Assert.Equal(a.Network.Values, b.Network.Values);
        Assert.NotEqual(a.Network.Values, c.Network.Values);
    }

    [Fact]
    public void TheCatalogEnvironmentIsTheContexts()
    {
        var ml = new MLContext(seed: 1);
        var transforms = CatalogEnvironment.Of(ml.Transforms);
        var forecasting = CatalogEnvironment.Of(ml.Forecasting);
        Assert.Same(transforms, forecasting);
        // It seeds like the context: its first host draws what a fresh MLContext(seed: 1)'s first host draws.
        Assert.Equal(((IHostEnvironment)new MLContext(seed: 1)).Register("a").Rand.Next(), transforms.Register("b").Rand.Next());
        var ex = Assert.Throws<InvalidOperationException>(() => CatalogEnvironment.Of(new object()));
        Assert.Contains("System.Object", ex.Message);
        Assert.Contains(CatalogEnvironment.ExpectedMLNetVersion, ex.Message);
    }
}
