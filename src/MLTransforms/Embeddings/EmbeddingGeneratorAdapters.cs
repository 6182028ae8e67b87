using Microsoft.Extensions.AI;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace MLTransforms.Embeddings;

/// <summary>Fits and applies embedding adapters through Microsoft.Extensions.AI embedding generators.</summary>
public static class EmbeddingGeneratorAdapters
{
    /// <summary>Wraps <paramref name="newModel"/> so its vectors land in the old model's space (see <see cref="AdaptingEmbeddingGenerator"/>).</summary>
    public static AdaptingEmbeddingGenerator WithAdapter(this IEmbeddingGenerator<string, Embedding<float>> newModel, EmbeddingAdapterMap adapter)
        => new(newModel, adapter);

    /// <summary>
    /// Embeds the same <paramref name="documents"/> through both generators, in batches of <paramref name="batchSize"/>,
    /// and fits an adapter mapping the new model's vectors to the old model's with <c>ml.Transforms.EmbeddingAdapter</c>.
    /// </summary>
    /// <param name="ml">The ML.NET context.</param>
    /// <param name="oldModel">The generator the existing index was built with.</param>
    /// <param name="newModel">The generator the application moves to.</param>
    /// <param name="documents">Texts embedded by both (representative of the index).</param>
    /// <param name="options">Adapter kind and settings; default: the estimator's default.</param>
    /// <param name="batchSize">Texts per generator call. Default 64.</param>
    /// <param name="cancellationToken">Cancels between batches.</param>
    /// <exception cref="InvalidOperationException">A generator returned a different number of embeddings than texts, or vectors of varying size.</exception>
    public static async Task<EmbeddingAdapterTransformer> FitAdapterAsync(MLContext ml,
        IEmbeddingGenerator<string, Embedding<float>> oldModel, IEmbeddingGenerator<string, Embedding<float>> newModel,
        IEnumerable<string> documents, EmbeddingAdapterOptions? options = null, int batchSize = 64, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(ml);
        ArgumentNullException.ThrowIfNull(oldModel);
        ArgumentNullException.ThrowIfNull(newModel);
        ArgumentNullException.ThrowIfNull(documents);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        var docs = documents.ToArray();
        var pairs = new List<Pair>(docs.Length);
        for (int start = 0; start < docs.Length; start += batchSize)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var batch = docs[start..Math.Min(docs.Length, start + batchSize)];
            var olds = await oldModel.GenerateAsync(batch, null, cancellationToken).ConfigureAwait(false);
            var news = await newModel.GenerateAsync(batch, null, cancellationToken).ConfigureAwait(false);
            if (olds.Count != batch.Length || news.Count != batch.Length)
                throw new InvalidOperationException($"A generator returned {olds.Count} (old) and {news.Count} (new) embeddings; expected {batch.Length}, one per text.");
            for (int i = 0; i < batch.Length; i++)
                pairs.Add(new Pair { New = news[i].Vector.ToArray(), Old = olds[i].Vector.ToArray() });
        }
        if (pairs.Count == 0) throw new InvalidOperationException("documents is empty; expected at least one text to fit an adapter.");
        int dNew = pairs[0].New.Length, dOld = pairs[0].Old.Length;
        if (pairs.Any(p => p.New.Length != dNew || p.Old.Length != dOld))
            throw new InvalidOperationException($"The generators' vectors vary in size; expected all new vectors of {dNew} and all old of {dOld} dimensions.");
        var schema = SchemaDefinition.Create(typeof(Pair));
        schema[nameof(Pair.New)].ColumnType = new VectorDataViewType(NumberDataViewType.Single, dNew);
        schema[nameof(Pair.Old)].ColumnType = new VectorDataViewType(NumberDataViewType.Single, dOld);
        var data = ml.Data.LoadFromEnumerable(pairs, schema);
        return ml.Transforms.EmbeddingAdapter("Adapted", nameof(Pair.New), nameof(Pair.Old), options).Fit(data);
    }

    private sealed class Pair
    {
        public float[] New { get; set; } = [];
        public float[] Old { get; set; } = [];
    }
}
