using Microsoft.Extensions.AI;

namespace MLTransforms.Embeddings;

/// <summary>
/// Wraps a new model's embedding generator so its vectors come out in the old model's space through a fitted
/// <see cref="EmbeddingAdapterMap"/>: an application that moves to the new model keeps querying its old index.
/// </summary>
public sealed class AdaptingEmbeddingGenerator : DelegatingEmbeddingGenerator<string, Embedding<float>>
{
    /// <summary>Wraps <paramref name="innerGenerator"/> (the new model) with <paramref name="adapter"/>.</summary>
    /// <exception cref="ArgumentException">The inner generator's metadata gives a dimension other than the adapter's input size.</exception>
    public AdaptingEmbeddingGenerator(IEmbeddingGenerator<string, Embedding<float>> innerGenerator, EmbeddingAdapterMap adapter)
        : base(innerGenerator)
    {
        ArgumentNullException.ThrowIfNull(adapter);
        Adapter = adapter;
        int? dims = innerGenerator.GetService<EmbeddingGeneratorMetadata>()?.DefaultModelDimensions;
        if (dims is { } d && d != adapter.InputSize)
            throw new ArgumentException($"The inner generator's dimension is {d}; expected {adapter.InputSize} (the adapter's input size).", nameof(innerGenerator));
    }

    /// <summary>The adapter applied to every vector.</summary>
    public EmbeddingAdapterMap Adapter { get; }

    /// <inheritdoc/>
    public override async Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(IEnumerable<string> values,
        EmbeddingGenerationOptions? options = null, CancellationToken cancellationToken = default)
    {
        var inner = await base.GenerateAsync(values, options, cancellationToken).ConfigureAwait(false);
        int n = inner.Count, din = Adapter.InputSize, dout = Adapter.OutputSize;
        var input = new float[n * din];
        for (int i = 0; i < n; i++)
        {
            var v = inner[i].Vector.Span;
            if (v.Length != din)
                throw new InvalidOperationException($"The inner generator's embedding {i} has {v.Length} dimensions; expected {din} (the adapter's input size).");
            v.CopyTo(input.AsSpan(i * din, din));
        }
        var output = new float[n * dout];
        Adapter.Apply(input, output, n);
        var result = new GeneratedEmbeddings<Embedding<float>>(n) { Usage = inner.Usage, AdditionalProperties = inner.AdditionalProperties };
        for (int i = 0; i < n; i++)
            result.Add(new Embedding<float>(new ReadOnlyMemory<float>(output, i * dout, dout)) { ModelId = inner[i].ModelId, CreatedAt = inner[i].CreatedAt });
        return result;
    }

    /// <inheritdoc/>
    public override object? GetService(Type serviceType, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        if (serviceKey is null && serviceType == typeof(EmbeddingGeneratorMetadata)
            && base.GetService(serviceType, serviceKey) is EmbeddingGeneratorMetadata m)
            return new EmbeddingGeneratorMetadata(m.ProviderName, m.ProviderUri, m.DefaultModelId, Adapter.OutputSize);
        if (serviceKey is null && serviceType == typeof(EmbeddingAdapterMap)) return Adapter;
        return base.GetService(serviceType, serviceKey);
    }
}
