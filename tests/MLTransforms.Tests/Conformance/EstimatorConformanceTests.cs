using System.Globalization;
using System.Reflection;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLTransforms.Embeddings;
using MLTransforms.Tests.Onnx;
using MLTransforms.TimeSeries;
using MLTransforms.TimeSeries.OLinear;

namespace MLTransforms.Tests.Conformance;

/// <summary>
/// The estimator contract, checked once for every public estimator (in the spirit of ML.NET's TestEstimatorCore):
/// fit, GetOutputSchema against the actual schema, transform, PredictionEngine, save and load in a fresh process,
/// and the wrong-type, missing-column and empty-data errors.
/// </summary>
public class EstimatorConformanceTests
{
    public sealed class Row
    {
        [VectorType(16)] public float[] Features { get; set; } = [];
        [VectorType(12)] public float[] New { get; set; } = [];
        [VectorType(8)] public float[] Old { get; set; } = [];
        [VectorType(24)] public float[] Input { get; set; } = [];
        [VectorType(12)] public float[] Target { get; set; } = [];
        public string Text { get; set; } = "";
        // Sources of wrong-typed columns: copied over an input column to check the schema error.
        public string NotAVector { get; set; } = "not a vector";
        public float NotText { get; set; }
    }

    public sealed class Prediction { public float[] Value { get; set; } = []; }

    /// <param name="Inputs">Columns the fitted transformer reads (its saved input schema).</param>
    /// <param name="Checked">The input column whose wrong type and absence are checked.</param>
    /// <param name="LearnsFromData">Whether fitting needs rows (so empty data must be refused).</param>
    /// <param name="RefusesSave">Why Save refuses (a phrase its NotSupportedException must contain), or null.</param>
    public sealed record Case(string Name, Type Estimator, Func<MLContext, IEstimator<ITransformer>> Make, string[] Inputs,
        string Checked, string Output, bool LearnsFromData, string? RefusesSave = null)
    {
        public override string ToString() => Name;
    }

    private static readonly string[] Sentences =
    [
        "Vitamin D deficiency is associated with fractures.", "The quick brown fox jumps over the lazy dog.",
        "Aspirin reduces the risk of heart attack.", "Antibiotics do not help against viral infections.", "A short one.",
    ];

    private static OLinearOptions SmallOLinear() => new()
    {
        Channels = 1, Embedding = 4, ModelWidth = 8, FeedForwardWidth = 8, Blocks = 1, MaxEpochs = 2, BatchSize = 32,
        LearningRate = 2e-3, Seed = 1,
    };

    /// <summary>One case per public estimator type; <see cref="EveryPublicEstimatorHasACase"/> keeps the list complete.</summary>
    public static readonly Case[] Cases =
    [
        new("RandomRotation", typeof(MLTransforms.Rotations.RandomRotationEstimator),
            ml => ml.Transforms.RandomRotation("Out", "Features", blocks: 2, seed: 3), ["Features"], "Features", "Out", false),
        new("StructuredRandomProjection", typeof(MLTransforms.Rotations.StructuredRandomProjectionEstimator),
            ml => ml.Transforms.StructuredRandomProjection("Out", "Features", outputDimension: 8, seed: 3), ["Features"], "Features", "Out", false),
        new("OrthogonalRandomFeatures", typeof(MLTransforms.Rotations.OrthogonalRandomFeaturesEstimator),
            ml => ml.Transforms.OrthogonalRandomFeatures("Out", "Features", rank: 32, seed: 3), ["Features"], "Features", "Out", true),
        new("OrthoTrans", typeof(OrthoTransEstimator),
            ml => ml.Transforms.OrthoTrans("Out", "Input"), ["Input"], "Input", "Out", true),
        new("EmbeddingAdapter", typeof(EmbeddingAdapterEstimator),
            ml => ml.Transforms.EmbeddingAdapter("Out", "New", "Old"), ["New"], "New", "Out", true),
        new("OrthoRidge", typeof(OrthoRidgeForecastEstimator),
            ml => ml.Forecasting.OrthoRidge("Out", "Input"), ["Input"], "Input", "Out", true),
        new("OLinear", typeof(OLinearForecastEstimator),
            ml => ml.Forecasting.OLinear("Out", "Input", SmallOLinear()), ["Input"], "Input", "Out", true),
        new("OrthoResidual", typeof(OrthoResidualForecastEstimator),
            ml => ml.Forecasting.OrthoResidual(ml.Regression.Trainers.Sdca(maximumNumberOfIterations: 5), "Out", "Input",
                new OrthoResidualOptions { Components = 2 }),
            ["Input"], "Input", "Out", true),
        new("QuantizeEmbeddings", typeof(MLTransforms.Quantization.EmbeddingQuantizerEstimator),
            ml => ml.Transforms.QuantizeEmbeddings("Out", "Features", new MLTransforms.Quantization.EmbeddingQuantizerOptions { Bits = 4, Seed = 3 }),
            ["Features"], "Features", "Out", true),
        new("TextEmbedding", typeof(TextEmbeddingEstimator),
            ml => ml.Transforms.TextEmbedding("Out", "Text", TextEmbeddingOptions.MiniLM()), ["Text"], "Text", "Out", false,
            RefusesSave: "tokeniz"),
    ];

    public static TheoryData<Case> All => new(Cases);

    internal static List<Row> Rows(int count)
    {
        var rng = new Random(11);
        double Noise() => rng.NextDouble() - 0.5;
        var series = Enumerable.Range(0, count + 36).Select(t => (float)(Math.Sin(t / 5.0) + 0.5 * Math.Sin(t / 13.0) + 0.3 * Noise())).ToArray();
        var map = Enumerable.Range(0, 12 * 8).Select(_ => (float)Noise()).ToArray();
        return Enumerable.Range(0, count).Select(i =>
        {
            var fresh = Enumerable.Range(0, 12).Select(_ => (float)Noise()).ToArray();
            return new Row
            {
                Features = Enumerable.Range(0, 16).Select(_ => (float)Noise()).ToArray(),
                New = fresh,
                Old = Enumerable.Range(0, 8).Select(j => Enumerable.Range(0, 12).Sum(k => fresh[k] * map[k * 8 + j]) + 0.05f * (float)Noise()).ToArray(),
                Input = series[i..(i + 24)],
                Target = series[(i + 24)..(i + 36)],
                Text = Sentences[i % Sentences.Length],
                NotText = i,
            };
        }).ToList();
    }

    private static readonly Lazy<List<Row>> Data = new(() => Rows(240));

    [Fact]
    public void EveryPublicEstimatorHasACase()
    {
        var estimators = new[] { typeof(RotationsCatalog).Assembly, typeof(Evaluation.AdapterPairs).Assembly }
            .SelectMany(a => a.GetExportedTypes())
            .Where(t => t is { IsAbstract: false, IsInterface: false } && t.GetInterfaces().Any(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IEstimator<>)))
            .ToHashSet();
        Assert.NotEmpty(estimators);
        Assert.Equal(estimators.OrderBy(t => t.Name).Select(t => t.FullName), Cases.Select(c => c.Estimator).OrderBy(t => t.Name).Select(t => t.FullName));
    }

    [Theory]
    [MemberData(nameof(All))]
    public void FitsTransformsAndMatchesItsDeclaredSchema(Case c)
    {
        var ml = new MLContext(1);
        var data = ml.Data.LoadFromEnumerable(Data.Value);
        var estimator = c.Make(ml);
        Assert.IsType(c.Estimator, estimator);
        var declared = estimator.GetOutputSchema(Pipeline.VectorTransformerTests.ShapeOf(data.Schema));
        var model = estimator.Fit(data);
        var output = model.Transform(data);
        Assert.Equal(Names(model.GetOutputSchema(data.Schema)), Names(output.Schema));
        foreach (var col in declared)
        {
            var actual = output.Schema.GetColumnOrNull(col.Name);
            Assert.True(actual.HasValue, $"{c.Name}: declared column '{col.Name}' is not in the output");
            var type = actual.Value.Type;
            Assert.Equal(col.ItemType, type is VectorDataViewType vt ? vt.ItemType : type);
            var kind = type is VectorDataViewType v ? (v.IsKnownSize ? SchemaShape.Column.VectorKind.Vector : SchemaShape.Column.VectorKind.VariableVector) : SchemaShape.Column.VectorKind.Scalar;
            Assert.True(col.Kind == kind, $"{c.Name}: column '{col.Name}' declared {col.Kind}, is {kind}");
        }
        Assert.Contains(declared, col => col.Name == c.Output);

        var values = Read(output, c.Output);
        Assert.Equal(Data.Value.Count, values.Count);
        int size = ((VectorDataViewType)output.Schema[c.Output].Type).Size;
        Assert.True(size > 0, $"{c.Name}: output '{c.Output}' should have a known size");
        Assert.All(values, v => Assert.Equal(size, v.Length));
        Assert.All(values, v => Assert.All(v, x => Assert.True(float.IsFinite(x), $"{c.Name}: non-finite output")));
        // The output depends on the row (a constant output would pass every other check).
        Assert.True(values.Skip(1).Any(v => !v.SequenceEqual(values[0])), $"{c.Name}: every row has the same output");
    }

    [Theory]
    [MemberData(nameof(All))]
    public void PredictionEngineGivesTheTransformsOutput(Case c)
    {
        var ml = new MLContext(1);
        var data = ml.Data.LoadFromEnumerable(Data.Value);
        var model = c.Make(ml).Fit(data);
        var expected = Read(model.Transform(data), c.Output);
        var outputDefinition = SchemaDefinition.Create(typeof(Prediction));
        outputDefinition[0].ColumnName = c.Output;
        var engine = ml.Model.CreatePredictionEngine<Row, Prediction>(model, outputSchemaDefinition: outputDefinition);
        foreach (int i in new[] { 0, 7, Data.Value.Count - 1 })
            AssertClose(expected[i], engine.Predict(Data.Value[i]).Value, $"{c.Name} row {i}");
    }

    [Theory]
    [MemberData(nameof(All))]
    public void SavesAndLoadsInAFreshProcessWithTheSameOutput(Case c)
    {
        var ml = new MLContext(1);
        var data = ml.Data.LoadFromEnumerable(Data.Value);
        var model = c.Make(ml).Fit(data);
        var inputs = ml.Transforms.SelectColumns(c.Inputs).Fit(data).Transform(data);
        var dir = OnnxTestData.TempDir();
        try
        {
            var zip = Path.Combine(dir, "model.zip");
            if (c.RefusesSave is not null)
            {
                var e = Assert.Throws<NotSupportedException>(() => ml.Model.Save(model, inputs.Schema, zip));
                Assert.Contains(c.RefusesSave, e.Message, StringComparison.OrdinalIgnoreCase);
                Assert.Contains("Supported route", e.Message);
                return;
            }
            ml.Model.Save(model, inputs.Schema, zip);
            var expected = Read(model.Transform(inputs), c.Output);

            var inProcess = Read(ml.Model.Load(zip, out _).Transform(inputs), c.Output);
            for (int i = 0; i < expected.Count; i++) AssertClose(expected[i], inProcess[i], $"{c.Name} reloaded, row {i}");

            // A process that does not reference MLTransforms loads the file with ML.NET alone.
            var csv = Path.Combine(dir, "input.csv");
            File.WriteAllLines(csv, Data.Value.Select(r => string.Join(',', c.Inputs.SelectMany(n => Values(r, n)).Select(OnnxTestData.Format))));
            var outCsv = Path.Combine(dir, "output.csv");
            var (code, _, stderr) = OnnxTestData.RunLoadCheck(zip, csv, outCsv, c.Output);
            Assert.True(code == 0, $"{c.Name}: LoadCheck failed ({code}): {stderr}");
            var fresh = File.ReadAllLines(outCsv).Select(l => l.Split(',').Select(s => float.Parse(s, CultureInfo.InvariantCulture)).ToArray()).ToList();
            Assert.Equal(expected.Count, fresh.Count);
            for (int i = 0; i < expected.Count; i++) AssertClose(expected[i], fresh[i], $"{c.Name} fresh process, row {i}");
        }
        finally { Directory.Delete(dir, true); }
    }

    [Theory]
    [MemberData(nameof(All))]
    public void WrongColumnTypeIsASchemaErrorNamingTheColumn(Case c)
    {
        var ml = new MLContext(1);
        var data = ml.Data.LoadFromEnumerable(Data.Value);
        string source = c.Checked == "Text" ? nameof(Row.NotText) : nameof(Row.NotAVector);
        var wrong = ml.Transforms.DropColumns(c.Checked).Append(ml.Transforms.CopyColumns(c.Checked, source)).Fit(data).Transform(data);
        AssertSchemaError(c, () => c.Make(ml).GetOutputSchema(Pipeline.VectorTransformerTests.ShapeOf(wrong.Schema)));
        AssertSchemaError(c, () => c.Make(ml).Fit(wrong));
        var model = c.Make(ml).Fit(data);
        AssertSchemaError(c, () => model.GetOutputSchema(wrong.Schema));
        AssertSchemaError(c, () => model.Transform(wrong));
    }

    [Theory]
    [MemberData(nameof(All))]
    public void MissingColumnIsASchemaErrorNamingTheColumn(Case c)
    {
        var ml = new MLContext(1);
        var data = ml.Data.LoadFromEnumerable(Data.Value);
        var missing = ml.Transforms.DropColumns(c.Checked).Fit(data).Transform(data);
        AssertSchemaError(c, () => c.Make(ml).GetOutputSchema(Pipeline.VectorTransformerTests.ShapeOf(missing.Schema)));
        AssertSchemaError(c, () => c.Make(ml).Fit(missing));
        var model = c.Make(ml).Fit(data);
        AssertSchemaError(c, () => model.Transform(missing));
    }

    [Theory]
    [MemberData(nameof(All))]
    public void EmptyDataIsRefusedOrGivesNoRows(Case c)
    {
        var ml = new MLContext(1);
        var empty = ml.Data.LoadFromEnumerable(new List<Row>());
        if (c.LearnsFromData)
        {
            // Nothing to learn from: a clear error, not an index or arithmetic crash.
            var e = Assert.ThrowsAny<Exception>(() => c.Make(ml).Fit(empty));
            Assert.True(e is ArgumentException or InvalidOperationException, $"{c.Name}: {e.GetType().Name}: {e.Message}");
            Assert.Matches("(?i)(row|window|empty|no data|pair)", e.Message);
        }
        else
        {
            var model = c.Make(ml).Fit(empty);
            Assert.Empty(Read(model.Transform(empty), c.Output));
        }
    }

    private static void AssertSchemaError(Case c, Action act)
    {
        var e = Assert.ThrowsAny<Exception>(act);
        Assert.True(e is ArgumentException or InvalidOperationException, $"{c.Name}: {e.GetType().Name}: {e.Message}");
        Assert.Contains($"'{c.Checked}'", e.Message);
    }

    private static IEnumerable<string> Names(DataViewSchema schema) => schema.Where(col => !col.IsHidden).Select(col => $"{col.Name}:{col.Type}");

    private static IEnumerable<float> Values(Row r, string column) => column switch
    {
        "Features" => r.Features, "New" => r.New, "Input" => r.Input,
        _ => throw new ArgumentException($"No CSV form for column '{column}'."),
    };

    private static List<float[]> Read(IDataView view, string column)
    {
        var result = new List<float[]>();
        var col = view.Schema[column];
        using var cursor = view.GetRowCursor([col]);
        var getter = cursor.GetGetter<VBuffer<float>>(col);
        VBuffer<float> buffer = default;
        while (cursor.MoveNext())
        {
            getter(ref buffer);
            result.Add(buffer.DenseValues().ToArray());
        }
        return result;
    }

    private static void AssertClose(float[] expected, float[] actual, string what)
    {
        Assert.True(expected.Length == actual.Length, $"{what}: {actual.Length} values, expected {expected.Length}");
        float scale = Math.Max(1f, expected.Max(MathF.Abs));
        for (int i = 0; i < expected.Length; i++)
            Assert.True(MathF.Abs(expected[i] - actual[i]) <= 1e-5f * scale, $"{what}, slot {i}: {actual[i]} vs {expected[i]}");
    }
}
