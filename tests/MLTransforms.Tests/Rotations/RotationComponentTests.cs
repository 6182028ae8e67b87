using Microsoft.ML;
using Microsoft.ML.Data;
using MLTransforms.Rotations;
using static MLTransforms.Tests.Rotations.RotationTestData;
using MLTransforms.Core.Pipeline;

namespace MLTransforms.Tests.Rotations;

public class RotationComponentTests
{
    public static TheoryData<string> Kinds => ["rotation", "srht", "sorf", "sorf-sincos", "sorf-fixed"];

    private static IEstimator<VectorTransformer> Make(MLContext ml, string kind, int seed = 1) => kind switch
    {
        "rotation" => ml.Transforms.RandomRotation("Out", "Features", seed: seed),
        "srht" => ml.Transforms.StructuredRandomProjection("Out", "Features", outputDimension: 20, blocks: 2, seed: seed),
        "sorf" => ml.Transforms.OrthogonalRandomFeatures("Out", "Features", rank: 100, seed: seed),
        "sorf-sincos" => ml.Transforms.OrthogonalRandomFeatures("Out", "Features", rank: 70, useCosAndSinBases: true, seed: seed),
        _ => ml.Transforms.OrthogonalRandomFeatures(new OrthogonalRandomFeaturesOptions
        {
            OutputColumnName = "Out", InputColumnName = "Features", Rank = 64, FixedRowNorms = true, Blocks = 2, Seed = seed,
        }),
    };

    [Theory]
    [MemberData(nameof(Kinds))]
    public void OnnxGraphMatchesMapAndPipelineMatchesSingleVector(string kind)
    {
        var ml = new MLContext(1);
        var rows = Gaussian(40, 45, seed: 2);   // 45 pads to 64; rank 100 is not a multiple of 64
        var data = Load(ml, rows);
        var model = Make(ml, kind).Fit(data);
        var piped = Column(model.Transform(data), "Out");
        var onnx = RunOnnx(model, rows);
        for (int i = 0; i < rows.Length; i++)
        {
            var single = model.Transform(rows[i]);
            Assert.Equal(model.OutputSize, piped[i].Length);
            Assert.Equal(single, piped[i]);
            for (int j = 0; j < single.Length; j++)
                Assert.True(Math.Abs(single[j] - onnx[i][j]) <= 1e-4 * Math.Max(1, Math.Abs(single[j])), $"{kind} row {i} slot {j}: {single[j]} vs ONNX {onnx[i][j]}");
        }
    }

    [Fact]
    public void RandomRotationOutputsTheRotationOfThePaddedInput()
    {
        var ml = new MLContext(1);
        var rows = Gaussian(10, 100, seed: 3);
        var model = ml.Transforms.RandomRotation("Rotated", "Features", blocks: 3, seed: 5).Fit(Load(ml, rows));
        Assert.Equal(128, model.OutputSize);
        Assert.Equal(3, model.Rotation.Blocks);
        Assert.Equal(5, model.Rotation.Seed);
        var outp = Column(model.Transform(Load(ml, rows)), "Rotated");
        var expected = new float[128];
        model.Rotation.Apply(rows[4], expected);
        Assert.Equal(expected, outp[4]);
        Assert.Equal(Dot(rows[4], rows[4]), Dot(outp[4], outp[4]), 1e-2);
        // Equal seeds give equal models, different seeds different ones.
        var same = ml.Transforms.RandomRotation("Rotated", "Features", blocks: 3, seed: 5).Fit(Load(ml, rows));
        var other = ml.Transforms.RandomRotation("Rotated", "Features", blocks: 3, seed: 6).Fit(Load(ml, rows));
        Assert.Equal(outp[4], same.Transform(rows[4]));
        Assert.NotEqual(outp[4], other.Transform(rows[4]));
    }

    [Fact]
    public void WorksInAChainWithATrainerInPredictionEngineAndOnManyThreads()
    {
        var ml = new MLContext(1);
        var rows = Gaussian(400, 30, seed: 4);
        var data = Load(ml, rows);
        var pipeline = ml.Transforms.RandomRotation("Rotated", "Features")
            .Append(ml.Transforms.StructuredRandomProjection("Sketch", "Rotated", outputDimension: 16, seed: 2))
            .Append(ml.Transforms.OrthogonalRandomFeatures("Kernel", "Sketch", rank: 64, seed: 3))
            .Append(ml.Transforms.NormalizeMinMax("Kernel"))
            .Append(ml.Transforms.Concatenate("All", "Kernel", "Features"))
            .Append(ml.BinaryClassification.Trainers.SdcaLogisticRegression("Label", "All", maximumNumberOfIterations: 5));
        var model = pipeline.Fit(data);
        var scored = model.Transform(data);
        var scores = ml.Data.CreateEnumerable<Scored>(scored, false).Select(s => s.Score).ToArray();
        Assert.Equal(400, scores.Length);
        Assert.All(scores, s => Assert.True(float.IsFinite(s)));
        // The label is sign(sum x), linear in the raw features: the chain must learn it.
        var metrics = ml.BinaryClassification.Evaluate(scored);
        Assert.True(metrics.Accuracy > 0.8, $"accuracy {metrics.Accuracy}");

        var engine = ml.Model.CreatePredictionEngine<Row, Scored>(model, inputSchemaDefinition: SchemaOf(30));
        Assert.Equal(scores[7], engine.Predict(new Row { Features = rows[7] }).Score, 1e-4);

        var sums = new double[6];
        Parallel.For(0, sums.Length, t =>
        {
            var local = ml.Model.CreatePredictionEngine<Row, Scored>(model, inputSchemaDefinition: SchemaOf(30));
            double sum = 0;
            for (int i = 0; i < rows.Length; i++) sum += local.Predict(new Row { Features = rows[i] }).Score;
            sums[t] = sum;
        });
        Assert.All(sums, s => Assert.Equal(scores.Sum(x => (double)x), s, 2));
        var viaCursors = Column(model.Transform(data), "Kernel");
        var parallel = new float[4][][];
        Parallel.For(0, 4, t => parallel[t] = Column(model.Transform(data), "Kernel"));
        Assert.All(parallel, p => Assert.Equal(viaCursors, p));
    }

    public sealed class Scored { public float Score { get; set; } }

    private static SchemaDefinition SchemaOf(int size)
    {
        var s = SchemaDefinition.Create(typeof(Row));
        s["Features"].ColumnType = new VectorDataViewType(NumberDataViewType.Single, size);
        return s;
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void BadInputsNameTheColumnAndTheProblem(string kind)
    {
        var ml = new MLContext(1);
        var rows = Gaussian(30, 45, seed: 5);
        var data = Load(ml, rows);
        var model = Make(ml, kind).Fit(data);

        // Missing column.
        var missing = ml.Transforms.CopyColumns("Other", "Features").Append(ml.Transforms.DropColumns("Features")).Fit(data).Transform(data);
        Assert.Contains("'Features'", Assert.Throws<ArgumentOutOfRangeException>(() => model.Transform(missing)).Message);
        Assert.Contains("'Features'", Assert.Throws<ArgumentOutOfRangeException>(() => Make(ml, kind).Fit(missing)).Message);
        // Wrong type: a scalar, and a vector of doubles.
        var scalar = ml.Data.LoadFromEnumerable(new[] { new { Features = 1f } });
        Assert.Contains("got Single", Assert.Throws<ArgumentOutOfRangeException>(() => model.Transform(scalar)).Message);
        var doubles = ml.Transforms.Conversion.ConvertType("Features", outputKind: DataKind.Double).Fit(data).Transform(data);
        Assert.Contains("got Vector<Double, 45>", Assert.Throws<ArgumentOutOfRangeException>(() => model.Transform(doubles)).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => Make(ml, kind).Fit(doubles));
        // Size different from fit.
        var smaller = Load(ml, Gaussian(5, 44, seed: 6));
        Assert.Contains("expected Vector<Single, 45>, got Vector<Single, 44>", Assert.Throws<ArgumentOutOfRangeException>(() => model.Transform(smaller)).Message);
        // NaN and infinity: column and row.
        foreach (var bad in new[] { float.NaN, float.PositiveInfinity })
        {
            var dirty = rows.Select(r => r.ToArray()).ToArray();
            dirty[17][3] = bad;
            var ex = Assert.Throws<InvalidOperationException>(() => Column(model.Transform(Load(ml, dirty)), "Out"));
            Assert.Contains("'Features'", ex.Message);
            Assert.Contains("row 17", ex.Message);
        }
    }

    [Fact]
    public void InvalidOptionsFailAtConstructionNamingTheOption()
    {
        var t = new MLContext(1).Transforms;
        string Name(Action a) => Assert.Throws<ArgumentOutOfRangeException>(a).ParamName!;
        Assert.Equal("blocks", Name(() => t.RandomRotation("o", "i", blocks: 0)));
        Assert.Equal("blocks", Name(() => t.RandomRotation("o", "i", blocks: 4)));
        Assert.Equal("blocks", Name(() => t.StructuredRandomProjection("o", "i", blocks: 4)));
        Assert.Equal("eps", Name(() => t.StructuredRandomProjection("o", "i", eps: 0)));
        Assert.Equal("eps", Name(() => t.StructuredRandomProjection("o", "i", eps: 1)));
        Assert.Equal("outputDimension", Name(() => t.StructuredRandomProjection("o", "i", outputDimension: -1)));
        Assert.Equal("rank", Name(() => t.OrthogonalRandomFeatures("o", "i", rank: 0)));
        Assert.Equal("gamma", Name(() => t.OrthogonalRandomFeatures("o", "i", gamma: 0)));
        Assert.Equal("gamma", Name(() => t.OrthogonalRandomFeatures("o", "i", gamma: float.NaN)));
        Assert.Equal("blocks", Name(() => t.OrthogonalRandomFeatures("o", "i", blocks: 0)));
        Assert.Throws<ArgumentNullException>(() => t.OrthogonalRandomFeatures(null!));
        // An explicit output size larger than the padded input cannot be sampled without replacement.
        var ml = new MLContext(1);
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => t.StructuredRandomProjection("o", "Features", outputDimension: 65).Fit(Load(ml, Gaussian(5, 45, 1))));
        Assert.Contains("outputDimension", ex.Message);
    }

    [Fact]
    public void FittingOnEmptyOrNonFiniteDataFailsClearly()
    {
        var ml = new MLContext(1);
        var empty = ml.Data.SkipRows(Load(ml, Gaussian(5, 8, 1)), 100);
        Assert.Contains("no rows", Assert.Throws<InvalidOperationException>(() => ml.Transforms.OrthogonalRandomFeatures("o", "Features").Fit(empty)).Message);
        Assert.Contains("no rows", Assert.Throws<InvalidOperationException>(() => ml.Transforms.StructuredRandomProjection("o", "Features").Fit(empty)).Message);
        // Fitting reads only the size: an explicit output size and a rotation fit on empty data.
        Assert.Equal(8, ml.Transforms.RandomRotation("o", "Features").Fit(empty).OutputSize);
        var dirty = Gaussian(5, 8, 1);
        dirty[2][1] = float.NaN;
        var ex = Assert.Throws<InvalidOperationException>(() => ml.Transforms.OrthogonalRandomFeatures("o", "Features").Fit(Load(ml, dirty)));
        Assert.Contains("'Features'", ex.Message);
        Assert.Contains("row 2", ex.Message);
    }
}
