using System.Numerics.Tensors;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLTransforms.Embeddings;
using MLTransforms.Evaluation;
using MLTransforms.Rotations;
using MLTransforms.Tests.TimeSeries;
using MLTransforms.TimeSeries;
using Xunit.Abstractions;

namespace MLTransforms.Tests.Core;

/// <summary>
/// The options classes work the way a hyperparameter sweep (AutoML's <c>CreateSweepableEstimator&lt;T&gt;</c>) uses
/// them: <c>new T()</c>, set properties, build an estimator, cross-validate it. One sweep per capability, each checked
/// to prefer the candidate that should win; an invalid value set through a property fails at Fit, naming the option.
/// </summary>
public class SweepTests(ITestOutputHelper output)
{
    /// <summary>One candidate of a sweep: fresh options with a setting applied, turned into an estimator.</summary>
    private static IEstimator<ITransformer> Candidate<TOptions>(Action<TOptions> set, Func<TOptions, IEstimator<ITransformer>> build)
        where TOptions : class, new()
    {
        var options = new TOptions();
        set(options);
        return build(options);
    }

    /// <summary>The grid value with the highest score, after writing every score to the test output.</summary>
    private T Best<T>(IEnumerable<T> grid, Func<T, double> score)
    {
        var scored = grid.Select(g => (Value: g, Score: score(g))).ToArray();
        foreach (var (value, s) in scored) output.WriteLine($"{value}: {s:G5}");
        return scored.MaxBy(x => x.Score).Value;
    }

    public sealed class Digit
    {
        [VectorType(64)] public float[] Pixels { get; set; } = [];
        public uint Label { get; set; }
    }

    [Fact]
    public void SorfRankSweepPicksTheLargerRankForSdca()
    {
        var ml = new MLContext(seed: 1);
        var (labels, rows) = TestData.ReadClassification(TestData.Repo("data/optdigits/train.csv"), 900);
        var data = ml.Data.Cache(ml.Data.LoadFromEnumerable(rows.Select((r, i) => new Digit { Pixels = r, Label = (uint)labels[i] })));
        double Accuracy(int rank)
        {
            var pipeline = ml.Transforms.Conversion.MapValueToKey("Label")
                .Append(ml.Transforms.NormalizeMinMax("Scaled", "Pixels"))
                .Append(Candidate<OrthogonalRandomFeaturesOptions>(o => { o.OutputColumnName = "Features"; o.InputColumnName = "Scaled"; o.Rank = rank; o.Seed = 7; },
                    o => ml.Transforms.OrthogonalRandomFeatures(o)))
                .Append(ml.MulticlassClassification.Trainers.SdcaMaximumEntropy("Label", "Features", maximumNumberOfIterations: 20));
            return ml.MulticlassClassification.CrossValidate(data, pipeline, numberOfFolds: 3).Average(f => f.Metrics.MicroAccuracy);
        }
        Assert.Equal(512, Best([16, 512], Accuracy));
    }

    public sealed class Window
    {
        [VectorType(48)] public float[] Input { get; set; } = [];
        public float Label { get; set; }
    }

    [Fact]
    public void OrthoTransComponentSweepPicksEnoughCoefficientsForANextStepRegression()
    {
        var ml = new MLContext(seed: 1);
        var split = ForecastSplit.Create(Ett.ETTh1, 48, 1, SplitProtocol.EttHourly);
        var windows = Enumerable.Range(0, split.Train.Count).Where(w => w % 7 == 0).ToArray();
        var x = split.Train.InputArray(windows);
        var y = split.Train.TargetArray(windows);
        var data = ml.Data.Cache(ml.Data.LoadFromEnumerable(windows.Select((_, i) => new Window { Input = x[(i * 48)..((i + 1) * 48)], Label = y[i] })));
        double RSquared(int components)
        {
            var pipeline = Candidate<OrthoTransOptions>(o => o.Components = components, o => ml.Transforms.OrthoTrans("Features", "Input", o))
                .Append(ml.Regression.Trainers.Sdca("Label", "Features", maximumNumberOfIterations: 20));
            return ml.Regression.CrossValidate(data, pipeline, numberOfFolds: 3).Average(f => f.Metrics.RSquared);
        }
        // The leading coefficient alone is about the window's level; the next step also needs its recent slope.
        Assert.Equal(16, Best([1, 16], RSquared));
    }

    public sealed class Pair
    {
        [VectorType(384)] public float[] New { get; set; } = [];
        [VectorType(384)] public float[] Old { get; set; } = [];
    }

    private sealed class Mapped
    {
        [VectorType(384)] public float[] Adapted { get; set; } = [];
        [VectorType(384)] public float[] Old { get; set; } = [];
    }

    /// <summary>SciFact documents embedded by both models (arctic-embed-xs new, MiniLM old).</summary>
    private static IDataView Pairs(MLContext ml, int count)
    {
        EmbeddingSet Read(string name) => RetrievalData.ReadEmbeddings(TestData.Repo(Path.Combine("data", "scifact-embeddings", name)));
        var (newer, older) = (Read("corpus.arctic.f32"), Read("corpus.minilm.f32"));
        var index = older.IndexOf();
        return ml.Data.LoadFromEnumerable(Enumerable.Range(0, count).Select(i => new Pair
        {
            New = newer.Values[(i * 384)..((i + 1) * 384)],
            Old = older.Values[(index[newer.Ids[i]] * 384)..((index[newer.Ids[i]] + 1) * 384)],
        }));
    }

    [Fact]
    public void AdapterSweepPicksTheCandidateWithTheBestHeldOutCosine()
    {
        var ml = new MLContext(seed: 1);
        var data = ml.Data.Cache(Pairs(ml, 800));
        // The metric a model upgrade cares about: how close the adapted new vector lands to the old vector of the
        // same item, on pairs the adapter did not see (mean cosine over the held-out folds).
        double HeldOutCosine(int rank)
        {
            double sum = 0;
            var folds = ml.Data.CrossValidationSplit(data, numberOfFolds: 3, seed: 1);
            foreach (var fold in folds)
            {
                var estimator = Candidate<EmbeddingAdapterOptions>(o => { o.Kind = EmbeddingAdapterKind.LowRank; o.Rank = rank; },
                    o => ml.Transforms.EmbeddingAdapter("Adapted", "New", "Old", o));
                var scored = ml.Data.CreateEnumerable<Mapped>(estimator.Fit(fold.TrainSet).Transform(fold.TestSet), false).ToArray();
                sum += scored.Average(r => TensorPrimitives.CosineSimilarity(r.Adapted, r.Old)) / folds.Count;
            }
            return sum;
        }
        Assert.Equal(32, Best([1, 32], HeldOutCosine));
    }

    [Fact]
    public void AnInvalidOptionSetThroughAPropertyFailsAtFitNamingTheOption()
    {
        var ml = new MLContext(seed: 1);
        var pairs = Pairs(ml, 50);
        var adapterOptions = new EmbeddingAdapterOptions();
        var adapter = ml.Transforms.EmbeddingAdapter("Adapted", "New", "Old", adapterOptions);
        adapterOptions.Rank = 0;
        Assert.Contains("Rank", Assert.Throws<ArgumentOutOfRangeException>(() => adapter.Fit(pairs)).Message);

        var windows = ForecastSplit.Create(Ett.ETTh1, 24, 8, SplitProtocol.EttHourly);
        var transOptions = new OrthoTransOptions();
        var orthoTrans = ml.Transforms.OrthoTrans("C", "Input", transOptions);
        transOptions.RetainedEnergy = 2;
        Assert.Contains("RetainedEnergy", Assert.Throws<ArgumentOutOfRangeException>(() => orthoTrans.Fit(windows.Train.ToDataView(ml))).Message);

        var ridgeOptions = new OrthoRidgeOptions();
        var ridge = ml.Forecasting.OrthoRidge(options: ridgeOptions);
        ridgeOptions.Penalties = [];
        Assert.Contains("Penalties", Assert.Throws<ArgumentOutOfRangeException>(() => ridge.Fit(windows)).Message);

        var residualOptions = new OrthoResidualOptions();
        var residual = ml.Forecasting.OrthoResidual(ml.Regression.Trainers.Sdca(), options: residualOptions);
        residualOptions.FeatureComponents = -1;
        Assert.Contains("FeatureComponents", Assert.Throws<ArgumentOutOfRangeException>(() => residual.Fit(windows)).Message);
    }
}
