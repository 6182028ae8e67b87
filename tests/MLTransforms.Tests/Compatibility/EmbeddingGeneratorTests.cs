using System.Numerics.Tensors;
using Microsoft.Extensions.AI;
using Microsoft.ML;
using MLTransforms.Embeddings;
using MLTransforms.Evaluation;

namespace MLTransforms.Tests.Compatibility;

public class EmbeddingGeneratorTests
{
    private static string[] Texts(int n) =>
        RetrievalData.ReadJsonl(TestData.Repo("data/scifact/corpus.jsonl")).Take(n).Select(d => d.Text).ToArray();

    public sealed class Doc { public string Text { get; set; } = ""; }
    public sealed class Embedded { public float[] Vec { get; set; } = []; }

    [Fact]
    public async Task VectorsEqualTheTextEmbeddingTransformsAndBatchingDoesNotChangeThem()
    {
        var texts = Texts(24);
        var ml = new MLContext(1);
        var data = ml.Data.LoadFromEnumerable(texts.Select(t => new Doc { Text = t }));
        using var transform = ml.Transforms.TextEmbedding("Vec", "Text", TextEmbeddingOptions.MiniLM()).Fit(data);
        var rows = ml.Data.CreateEnumerable<Embedded>(transform.Transform(data), false).ToArray();
        var options = TextEmbeddingOptions.MiniLM();
        options.BatchSize = 5;
        using var generator = new SentenceEmbeddingGenerator(options, "all-MiniLM-L6-v2");
        var batched = await generator.GenerateAsync(texts);
        Assert.Equal(texts.Length, batched.Count);
        for (int i = 0; i < texts.Length; i++)
        {
            var v = batched[i].Vector.Span;
            Assert.Equal("all-MiniLM-L6-v2", batched[i].ModelId);
            Assert.NotNull(batched[i].CreatedAt);
            Assert.True(TensorPrimitives.CosineSimilarity(v, rows[i].Vec) >= 0.9999f);
            for (int j = 0; j < v.Length; j++) Assert.Equal(rows[i].Vec[j], v[j], 1e-4f);
        }
        foreach (int i in new[] { 0, 7, 23 })
        {
            var one = await generator.GenerateVectorAsync(texts[i]);
            Assert.True(TensorPrimitives.CosineSimilarity(one.Span, batched[i].Vector.Span) >= 0.99999f);
        }
        var meta = generator.GetService<EmbeddingGeneratorMetadata>()!;
        Assert.Equal(384, meta.DefaultModelDimensions);
        Assert.Equal("all-MiniLM-L6-v2", meta.DefaultModelId);
        Assert.Same(generator, generator.GetService<SentenceEmbeddingGenerator>());
    }

    [Fact]
    public async Task HonoursCancellation()
    {
        using var generator = new SentenceEmbeddingGenerator(TextEmbeddingOptions.MiniLM());
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => generator.GenerateAsync(Texts(3), null, cts.Token));
    }

    [Fact]
    public async Task AdaptedGeneratorEqualsTheAdapterOnTheInnerVectorsAndRejectsWrongSizes()
    {
        var docs = Texts(120);
        var ml = new MLContext(1);
        using var oldModel = new SentenceEmbeddingGenerator(TextEmbeddingOptions.MiniLM(), "all-MiniLM-L6-v2");
        using var newModel = new SentenceEmbeddingGenerator(TextEmbeddingOptions.ArcticXs(), "snowflake-arctic-embed-xs");
        var adapter = (await EmbeddingGeneratorAdapters.FitAdapterAsync(ml, oldModel, newModel, docs)).Adapter;
        var adapting = newModel.WithAdapter(adapter);
        var probe = docs[..10];
        var inner = await newModel.GenerateAsync(probe);
        var adapted = await adapting.GenerateAsync(probe);
        for (int i = 0; i < probe.Length; i++)
        {
            // One row through Apply vs a batch through the GEMM: equal up to float summation order.
            var expected = adapter.Apply(inner[i].Vector.Span);
            var got = adapted[i].Vector.Span;
            Assert.Equal(expected.Length, got.Length);
            for (int j = 0; j < got.Length; j++) Assert.Equal(expected[j], got[j], 1e-5f);
        }
        Assert.Equal(adapter.OutputSize, adapting.GetService<EmbeddingGeneratorMetadata>()!.DefaultModelDimensions);

        // A generator of another size: refused at construction (metadata) and at the call (no metadata).
        var wrong = new FixedGenerator(7, withMetadata: true);
        var e = Assert.Throws<ArgumentException>(() => wrong.WithAdapter(adapter));
        Assert.Contains("7", e.Message);
        Assert.Contains("384", e.Message);
        var silent = new FixedGenerator(7, withMetadata: false).WithAdapter(adapter);
        var e2 = await Assert.ThrowsAsync<InvalidOperationException>(() => silent.GenerateAsync(["x"]));
        Assert.Contains("has 7 dimensions; expected 384", e2.Message);
    }

    [Fact]
    public async Task FittingFromTheStoredIndexEqualsFittingThroughTheOldGeneratorAndChecksItsInput()
    {
        var docs = Enumerable.Range(0, 60).Select(i => $"document {i}").ToArray();
        IEmbeddingGenerator<string, Embedding<float>> oldModel = new HashEmbeddingGenerator(12, salt: 1), newModel = new HashEmbeddingGenerator(16, salt: 2);
        var stored = await oldModel.GenerateAsync(docs);
        var viaGenerators = (await EmbeddingGeneratorAdapters.FitAdapterAsync(new MLContext(3), oldModel, newModel, docs, batchSize: 7)).Adapter;
        var viaIndex = (await EmbeddingGeneratorAdapters.FitAdapterAsync(new MLContext(3), stored, newModel, docs)).Adapter;
        Assert.Equal(16, viaIndex.InputSize);
        Assert.Equal(12, viaIndex.OutputSize);
        Assert.Equal(viaGenerators.Weights.ToArray(), viaIndex.Weights.ToArray());
        Assert.Equal(viaGenerators.Bias.ToArray(), viaIndex.Bias.ToArray());

        var e = await Assert.ThrowsAsync<ArgumentException>(() => EmbeddingGeneratorAdapters.FitAdapterAsync(new MLContext(3), stored.Take(59).ToArray(), newModel, docs));
        Assert.Contains("59 vectors but documents has 60", e.Message);
        var empty = await Assert.ThrowsAsync<ArgumentException>(() => EmbeddingGeneratorAdapters.FitAdapterAsync(new MLContext(3), [], newModel, []));
        Assert.Contains("documents is empty", empty.Message);
        var ragged = stored.ToArray();
        ragged[5] = new Embedding<float>(new float[11]);
        var r = await Assert.ThrowsAsync<InvalidOperationException>(() => EmbeddingGeneratorAdapters.FitAdapterAsync(new MLContext(3), ragged, newModel, docs));
        Assert.Contains("Vector 5 has 16 (new) and 11 (old) dimensions; expected 16 and 12", r.Message);
    }

    private sealed class FixedGenerator(int dimension, bool withMetadata) : IEmbeddingGenerator<string, Embedding<float>>
    {
        public Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(IEnumerable<string> values, EmbeddingGenerationOptions? options = null, CancellationToken cancellationToken = default)
            => Task.FromResult(new GeneratedEmbeddings<Embedding<float>>(values.Select(_ => new Embedding<float>(new float[dimension]))));

        public object? GetService(Type serviceType, object? serviceKey = null)
            => withMetadata && serviceType == typeof(EmbeddingGeneratorMetadata) ? new EmbeddingGeneratorMetadata("test", null, "fixed", dimension) : null;

        public void Dispose() { }
    }
}
