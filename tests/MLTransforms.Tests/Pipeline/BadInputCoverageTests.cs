using Microsoft.ML;
using Microsoft.ML.Data;
using MLTransforms.Tests.Compatibility;
using MLTransforms.TimeSeries;

namespace MLTransforms.Tests.Pipeline;

/// <summary>Bad input that crosses components (sizes, constant windows, span APIs) and sharing one fitted chain.</summary>
public class BadInputCoverageTests
{
    private const int D = 16;

    private sealed class VariableRow
    {
        [VectorType] public float[] Features { get; set; } = [];
        [VectorType] public float[] Old { get; set; } = [];
    }

    private sealed class Window
    {
        [VectorType(24)] public float[] Features { get; set; } = [];
    }

    private sealed class Forecast
    {
        public float[] Out { get; set; } = [];
    }

    private static IDataView Variable(MLContext ml)
        => ml.Data.LoadFromEnumerable(Enumerable.Range(0, 20).Select(i => new VariableRow
        {
            Features = Enumerable.Range(0, 8 + i % 3).Select(j => MathF.Sin(i + j)).ToArray(),
            Old = Enumerable.Range(0, 8 + i % 3).Select(j => MathF.Cos(i + j)).ToArray(),
        }));

    public static TheoryData<string> Estimators => ["rotation", "srht", "sorf", "adapter", "orthotrans"];

    private static IEstimator<ITransformer> Make(MLContext ml, string kind) => kind switch
    {
        "rotation" => ml.Transforms.RandomRotation("Out", "Features"),
        "srht" => ml.Transforms.StructuredRandomProjection("Out", "Features", outputDimension: 4),
        "sorf" => ml.Transforms.OrthogonalRandomFeatures("Out", "Features", rank: 16),
        "adapter" => ml.Transforms.EmbeddingAdapter("Out", "Features", "Old"),
        _ => ml.Transforms.OrthoTrans("Out", "Features"),
    };

    [Theory]
    [MemberData(nameof(Estimators))]
    public void AVariableSizeVectorColumnIsRefusedAtFitNamingTheColumn(string kind)
    {
        var ml = new MLContext(1);
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => Make(ml, kind).Fit(Variable(ml)));
        Assert.Contains("'Features'", e.Message);
        Assert.Contains("expected known-size vector of Single, got Vector<Single>", e.Message);
    }

    [Fact]
    public void AVariableSizeColumnAtTransformTimeIsASchemaError()
    {
        var ml = new MLContext(1);
        var model = ml.Transforms.RandomRotation("Out", "Features").Fit(Rotations.RotationTestData.Load(ml, Rotations.RotationTestData.Gaussian(20, 9, seed: 1)));
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => model.Transform(Variable(ml)));
        Assert.Contains("'Features'", e.Message);
        Assert.Contains("expected Vector<Single, 9>, got Vector<Single>", e.Message);
    }

    [Fact]
    public void ForecastSpanApiRejectsNaNLikeThePipeline()
    {
        var split = ForecastSplit.Create(Sine(2000), 32, 8, SplitProtocol.Ratios);
        var model = new MLContext(1).Forecasting.OrthoRidge().Fit(split);
        var window = Enumerable.Range(0, 32).Select(i => MathF.Sin(i * 0.3f)).ToArray();
        window[11] = float.NaN;
        var e = Assert.Throws<InvalidOperationException>(() => model.Forecast(window));
        Assert.Contains($"'{model.InputColumnName}'", e.Message);
        Assert.Contains("slot 11", e.Message);
        var batch = new float[3 * 32];
        window.CopyTo(batch, 64);
        var b = Assert.Throws<InvalidOperationException>(() => model.Forecast(batch, new float[3 * 8]));
        Assert.Contains("row 2, slot 11", b.Message);
    }

    [Fact]
    public void AConstantWindowIsForecastAsItsLevelWithoutDividingByZero()
    {
        var split = ForecastSplit.Create(Sine(2000), 32, 8, SplitProtocol.Ratios);
        var model = new MLContext(1).Forecasting.OrthoRidge().Fit(split);
        // Mean subtraction leaves zeros; the forecast is the level itself.
        var forecast = model.Forecast(Enumerable.Repeat(3.5f, 32).ToArray());
        Assert.All(forecast, v => Assert.Equal(3.5f, v, 1e-4f));
    }

    [Fact]
    public void OrthoTransOnConstantWindowsIsRefusedAndMapsAConstantWindowFinitely()
    {
        var ml = new MLContext(1);
        var flat = ml.Data.LoadFromEnumerable(Enumerable.Range(0, 50).Select(_ => new Window { Features = Enumerable.Repeat(2f, 24).ToArray() }));
        var e = Assert.Throws<InvalidOperationException>(() => ml.Transforms.OrthoTrans("Out", "Features").Fit(flat));
        Assert.Contains("lag variance", e.Message);

        var varied = ml.Data.LoadFromEnumerable(Enumerable.Range(0, 50).Select(i => new Window { Features = Enumerable.Range(0, 24).Select(j => MathF.Sin((i + j) * 0.4f)).ToArray() }));
        var model = ml.Transforms.OrthoTrans("Out", "Features").Fit(varied);
        Assert.All(model.Transform(Enumerable.Repeat(2f, 24).ToArray()), v => Assert.True(float.IsFinite(v)));
    }

    private static MultivariateSeries Sine(int n)
        => MultivariateSeries.FromChannels(["a", "b"],
            [Enumerable.Range(0, n).Select(i => MathF.Sin(i * 0.3f)).ToArray(), Enumerable.Range(0, n).Select(i => MathF.Cos(i * 0.1f)).ToArray()]);

    public sealed class Mapped
    {
        public float[] Kernel { get; set; } = [];
    }

    [Fact]
    public void EightThreadsWithTheirOwnPredictionEnginesGiveBitIdenticalOutputs()
    {
        var ml = new MLContext(1);
        var (x, y, _, _) = AdapterFitTests.Synthetic(300, D, 9, noise: 0.05);
        var pairs = Enumerable.Range(0, 300).Select(i => new EmbeddingAdapterPipelineTests.Pair { New = x.AsSpan(i * D, D).ToArray(), Old = y.AsSpan(i * D, D).ToArray() }).ToList();
        var model = ml.Transforms.EmbeddingAdapter("Mapped", "New", "Old")
            .Append(ml.Transforms.RandomRotation("Rotated", "Mapped", seed: 2))
            .Append(ml.Transforms.OrthogonalRandomFeatures("Kernel", "Rotated", rank: 48, seed: 3))
            .Fit(ml.Data.LoadFromEnumerable(pairs));

        float[][] Run()
        {
            using var engine = ml.Model.CreatePredictionEngine<EmbeddingAdapterPipelineTests.Pair, Mapped>(model);
            return pairs.Select(p => (float[])engine.Predict(p).Kernel.Clone()).ToArray();
        }

        var expected = Run();
        var results = new float[8][][];
        using var start = new Barrier(8);
        var threads = Enumerable.Range(0, 8).Select(t => new Thread(() => { start.SignalAndWait(); results[t] = Run(); })).ToArray();
        foreach (var t in threads) t.Start();
        foreach (var t in threads) t.Join();
        for (int t = 0; t < 8; t++)
            for (int r = 0; r < expected.Length; r++)
                Assert.True(expected[r].Select(BitConverter.SingleToInt32Bits).SequenceEqual(results[t][r].Select(BitConverter.SingleToInt32Bits)), $"thread {t}, row {r}");
    }
}
