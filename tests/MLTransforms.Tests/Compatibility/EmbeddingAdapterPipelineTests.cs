using Google.Protobuf;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using MLTransforms.Embeddings;
using MLTransforms.Onnx;
using MLTransforms.Core.Onnx;

namespace MLTransforms.Tests.Compatibility;

public class EmbeddingAdapterPipelineTests
{
    private const int D = 16;

    public sealed class Pair
    {
        [VectorType(D)] public float[] New { get; set; } = [];
        [VectorType(D)] public float[] Old { get; set; } = [];
    }

    public sealed class MappedRow { public float[] Mapped { get; set; } = []; }

    private static List<Pair> Pairs(int n, int seed = 1, double noise = 0.05)
    {
        var (x, y, _, _) = AdapterFitTests.Synthetic(n, D, seed, noise);
        return Enumerable.Range(0, n).Select(i => new Pair { New = x.AsSpan(i * D, D).ToArray(), Old = y.AsSpan(i * D, D).ToArray() }).ToList();
    }

    [Theory]
    [InlineData(EmbeddingAdapterKind.Procrustes)]
    [InlineData(EmbeddingAdapterKind.Ridge)]
    [InlineData(EmbeddingAdapterKind.LambdaOrthogonal)]
    [InlineData(EmbeddingAdapterKind.LowRank)]
    [InlineData(EmbeddingAdapterKind.OrthogonalExtended)]
    public void FitsInAPipelineMatchesTheFitterAndExportsToOnnx(EmbeddingAdapterKind kind)
    {
        var ml = new MLContext(1);
        var pairs = Pairs(200);
        var data = ml.Data.LoadFromEnumerable(pairs);
        var options = new EmbeddingAdapterOptions { Kind = kind, Rank = 4, ExtraDimensions = 3, NormalizeOutput = kind == EmbeddingAdapterKind.LowRank };
        var model = ml.Transforms.EmbeddingAdapter("Mapped", "New", "Old", options).Fit(data);
        int outSize = kind == EmbeddingAdapterKind.OrthogonalExtended ? D + 3 : D;
        Assert.Equal(outSize, model.OutputSize);

        // Same as fitting the statistics directly (pair i in fold i mod 5).
        var x = pairs.SelectMany(p => p.New).ToArray();
        var y = pairs.SelectMany(p => p.Old).ToArray();
        var direct = EmbeddingAdapterFitter.Fit(AdapterFitTests.Folds(x, y, D, D), options);
        Assert.Equal(direct.Weights.ToArray(), model.Adapter.Weights.ToArray());

        var rows = ml.Data.CreateEnumerable<MappedRow>(model.Transform(data), false).ToArray();
        var engine = ml.Model.CreatePredictionEngine<Pair, MappedRow>(model);
        Assert.Equal(rows[7].Mapped, engine.Predict(pairs[7]).Mapped);
        if (kind == EmbeddingAdapterKind.Procrustes)
            for (int j = 0; j < D; j++) Assert.Equal(pairs[7].Old[j], rows[7].Mapped[j], 0.5); // noise 0.05 per slot

        // ONNX: MatMul + Add (+ L2 normalisation) equals Map within 1e-4.
        var g = new OnnxGraphBuilder();
        g.AddInput("X", null, D);
        var outName = model.BuildOnnx(g, "X");
        g.AddNode("Identity", [outName], "Y");
        g.AddOutput("Y", null, outSize);
        using var session = new InferenceSession(g.ToModel().ToByteArray());
        var batch = pairs.Take(5).SelectMany(p => p.New).ToArray();
        using var results = session.Run([NamedOnnxValue.CreateFromTensor("X", new DenseTensor<float>(batch, [5, D]))]);
        var onnx = results.First().AsTensor<float>().ToArray();
        for (int r = 0; r < 5; r++)
            for (int j = 0; j < outSize; j++)
                Assert.Equal(rows[r].Mapped[j], onnx[r * outSize + j], 1e-4);
    }

    [Fact]
    public void OldToNewMigrationSwapsTheColumns()
    {
        var ml = new MLContext(1);
        var pairs = Pairs(150, seed: 2, noise: 0);
        var data = ml.Data.LoadFromEnumerable(pairs);
        var forward = ml.Transforms.EmbeddingAdapter("Mapped", "New", "Old", new() { Scaling = AdapterScaling.None }).Fit(data);
        var backward = ml.Transforms.EmbeddingAdapter("Mapped", "Old", "New", new() { Scaling = AdapterScaling.None }).Fit(data);
        var roundTrip = backward.Transform(forward.Transform(pairs[3].New));
        for (int j = 0; j < D; j++) Assert.Equal(pairs[3].New[j], roundTrip[j], 1e-3);
    }

    public sealed class Bad
    {
        [VectorType(D)] public float[] New { get; set; } = [];
        [VectorType(D)] public float[] Old { get; set; } = [];
        [VectorType(8)] public float[] Short { get; set; } = [];
        public float Scalar { get; set; }
    }

    [Fact]
    public void BadInputsNameColumnAndRow()
    {
        var ml = new MLContext(1);
        Bad Row(int i) => new() { New = Enumerable.Range(0, D).Select(j => (float)Math.Sin(i + j * 1.3)).ToArray(), Old = Enumerable.Range(0, D).Select(j => (float)Math.Cos(i * 0.7 + j)).ToArray(), Short = new float[8], Scalar = i };
        var rows = Enumerable.Range(0, 40).Select(Row).ToList();

        var missing = Assert.Throws<ArgumentOutOfRangeException>(() => ml.Transforms.EmbeddingAdapter("M", "New", "Nope").Fit(ml.Data.LoadFromEnumerable(rows)));
        Assert.Contains("'Nope'", missing.Message);
        var scalar = Assert.Throws<ArgumentOutOfRangeException>(() => ml.Transforms.EmbeddingAdapter("M", "New", "Scalar").Fit(ml.Data.LoadFromEnumerable(rows)));
        Assert.Contains("'Scalar'", scalar.Message);

        rows[17].Old[3] = float.NaN;
        var nan = Assert.Throws<InvalidOperationException>(() => ml.Transforms.EmbeddingAdapter("M", "New", "Old").Fit(ml.Data.LoadFromEnumerable(rows)));
        Assert.Contains("'Old'", nan.Message);
        Assert.Contains("row 17", nan.Message);

        rows[17] = Row(17);
        rows[21].New = new float[D];
        var zero = Assert.Throws<InvalidOperationException>(() => ml.Transforms.EmbeddingAdapter("M", "New", "Old").Fit(ml.Data.LoadFromEnumerable(rows)));
        Assert.Contains("'New'", zero.Message);
        Assert.Contains("row 21", zero.Message);
        Assert.Contains("all-zero", zero.Message);

        var empty = Assert.Throws<InvalidOperationException>(() => ml.Transforms.EmbeddingAdapter("M", "New", "Old").Fit(ml.Data.LoadFromEnumerable(new List<Bad>())));
        Assert.Contains("no rows", empty.Message);

        // Different size between fit and transform.
        rows[21] = Row(21);
        var model = ml.Transforms.EmbeddingAdapter("M", "New", "Old").Fit(ml.Data.LoadFromEnumerable(rows));
        var wrong = Assert.Throws<ArgumentOutOfRangeException>(() => model.Transform(ml.Data.LoadFromEnumerable(rows.Select(r => new { New = r.Short }))));
        Assert.Contains("'New'", wrong.Message);
        Assert.Contains("Vector<Single, 16>", wrong.Message);
        // Fewer pairs than dimensions, unregularised.
        var few = Assert.Throws<InvalidOperationException>(() => ml.Transforms.EmbeddingAdapter("M", "New", "Old", new() { Kind = EmbeddingAdapterKind.Ridge, Ridge = 0 })
            .Fit(ml.Data.LoadFromEnumerable(rows.Take(10))));
        Assert.Contains("Ridge", few.Message);
    }
}
