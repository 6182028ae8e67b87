using System.Numerics.Tensors;
using Microsoft.Extensions.AI;
using Microsoft.ML;
using MLTransforms.Embeddings;
using MLTransforms.Evaluation;
using MLTransforms.Quantization;

namespace MLTransforms.Tests.Quantization;

/// <summary>The quantizer over real sentence vectors: after the text-embedding transform in one pipeline, and over an
/// <see cref="IEmbeddingGenerator{TInput, TEmbedding}"/>'s vectors in a <see cref="QuantizedIndex"/>.</summary>
public class QuantizerAfterEncodersTests
{
    private static readonly string[] Texts =
        RetrievalData.ReadJsonl(TestData.Repo("data/scifact/corpus.jsonl")).Take(64).Select(d => d.Text).ToArray();

    public sealed class Doc { public string Text { get; set; } = ""; }
    public sealed class Row { public float[] Vec { get; set; } = []; public float[] Decoded { get; set; } = []; }

    [Fact]
    public void TextEmbeddingThenQuantizeAndDecodeInOnePipeline()
    {
        var ml = new MLContext(1);
        var data = ml.Data.LoadFromEnumerable(Texts.Select(t => new Doc { Text = t }));
        var model = ml.Transforms.TextEmbedding("Vec", "Text", TextEmbeddingOptions.MiniLM())
            .Append(ml.Transforms.QuantizeEmbeddings("Code", "Vec", new EmbeddingQuantizerOptions { Bits = 4, Seed = 3 }))
            .Fit(data);
        var quantizer = model.LastTransformer;
        var decoded = ml.Transforms.DecodeEmbeddings(quantizer, "Decoded").Transform(model.Transform(data));
        var rows = ml.Data.CreateEnumerable<Row>(decoded, false).ToArray();
        Assert.Equal(Texts.Length, rows.Length);
        // 4-bit codes of 384-d sentence vectors decode to within a few degrees of the vectors themselves.
        foreach (var r in rows)
            Assert.True(TensorPrimitives.CosineSimilarity(r.Vec, r.Decoded) > 0.98f, $"{TensorPrimitives.CosineSimilarity(r.Vec, r.Decoded)}");
        model.Dispose();
    }

    [Fact]
    public async Task AGeneratorsVectorsFindThemselvesInAQuantizedIndex()
    {
        using IEmbeddingGenerator<string, Embedding<float>> generator = new SentenceEmbeddingGenerator(TextEmbeddingOptions.MiniLM());
        var embeddings = await generator.GenerateAsync(Texts);
        var vectors = embeddings.SelectMany(e => e.Vector.ToArray()).ToArray();
        var quantizer = EmbeddingQuantizer.Fit(vectors, Texts.Length, 384, new EmbeddingQuantizerOptions { Bits = 4, Seed = 5 });
        var index = new QuantizedIndex(quantizer);
        index.Add(vectors);
        int self = Enumerable.Range(0, Texts.Length).Count(i => index.Search(embeddings[i].Vector.Span, 1)[0].Id == i);
        Assert.Equal(Texts.Length, self);
    }
}
