using Microsoft.Extensions.AI;

namespace MLTransforms.Tests.Compatibility;

/// <summary>Pseudo-random vectors that depend only on the text and a salt; records every text it was asked for.</summary>
internal sealed class HashEmbeddingGenerator(int dimension, int salt) : IEmbeddingGenerator<string, Embedding<float>>
{
    /// <summary>Every text embedded so far, in order.</summary>
    public List<string> Seen { get; } = [];

    public Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(IEnumerable<string> values, EmbeddingGenerationOptions? options = null, CancellationToken cancellationToken = default)
    {
        var texts = values.ToArray();
        Seen.AddRange(texts);
        return Task.FromResult(new GeneratedEmbeddings<Embedding<float>>(texts.Select(text =>
        {
            var random = new Random(text.Aggregate(salt, (h, c) => h * 31 + c));
            return new Embedding<float>(Enumerable.Range(0, dimension).Select(_ => (float)random.NextDouble() - 0.5f).ToArray());
        })));
    }

    public object? GetService(Type serviceType, object? serviceKey = null) => null;

    public void Dispose() { }
}
