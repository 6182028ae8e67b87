using Microsoft.Extensions.AI;

namespace MLTransforms.Embeddings;

/// <summary>
/// A Microsoft.Extensions.AI embedding generator over the ONNX sentence encoder of the TextEmbedding transform
/// (<see cref="TextEmbedder"/>): the same tokenisation, batching and pooling, so its vectors equal the transform's.
/// Thread-safe; dispose to release the ONNX Runtime session.
/// </summary>
public sealed class SentenceEmbeddingGenerator : IEmbeddingGenerator<string, Embedding<float>>
{
    private readonly EmbeddingGeneratorMetadata _metadata;

    /// <summary>Loads the encoder described by <paramref name="options"/> (e.g. <see cref="TextEmbeddingOptions.MiniLM"/>).</summary>
    /// <param name="options">Model, vocabulary, pooling and batch size (texts per ONNX Runtime call).</param>
    /// <param name="modelId">Reported as <see cref="Embedding.ModelId"/> and in the metadata; default "onnx-sentence-encoder".</param>
    public SentenceEmbeddingGenerator(TextEmbeddingOptions options, string? modelId = null)
    {
        Embedder = new TextEmbedder(options);
        ModelId = modelId ?? "onnx-sentence-encoder";
        _metadata = new EmbeddingGeneratorMetadata("MLTransforms.OnnxRuntime", null, ModelId, Embedder.Dimension);
    }

    /// <summary>The underlying encoder.</summary>
    public TextEmbedder Embedder { get; }

    /// <summary>The model id stamped on every embedding.</summary>
    public string ModelId { get; }

    /// <summary>Length of the vectors.</summary>
    public int Dimension => Embedder.Dimension;

    /// <inheritdoc/>
    public Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(IEnumerable<string> values,
        EmbeddingGenerationOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(values);
        var texts = values.ToArray();
        cancellationToken.ThrowIfCancellationRequested();
        // ONNX Runtime runs synchronously; off the caller's thread so UI/async callers are not blocked.
        return Task.Run(() =>
        {
            var flat = Embedder.Embed(texts, null, cancellationToken);
            var created = DateTimeOffset.UtcNow;
            int d = Embedder.Dimension;
            var result = new GeneratedEmbeddings<Embedding<float>>(texts.Length);
            for (int i = 0; i < texts.Length; i++)
                result.Add(new Embedding<float>(new ReadOnlyMemory<float>(flat, i * d, d)) { ModelId = ModelId, CreatedAt = created });
            return result;
        }, cancellationToken);
    }

    /// <inheritdoc/>
    public object? GetService(Type serviceType, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        if (serviceKey is not null) return null;
        if (serviceType == typeof(EmbeddingGeneratorMetadata)) return _metadata;
        if (serviceType == typeof(TextEmbedder)) return Embedder;
        return serviceType.IsInstanceOfType(this) ? this : null;
    }

    /// <inheritdoc/>
    public void Dispose() => Embedder.Dispose();
}
