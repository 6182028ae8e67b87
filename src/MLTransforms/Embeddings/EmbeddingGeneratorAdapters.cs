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
        ArgumentNullException.ThrowIfNull(documents);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        var docs = documents.ToArray();
        var olds = await GenerateAllAsync(oldModel, docs, batchSize, "old", cancellationToken).ConfigureAwait(false);
        return await FitAdapterAsync(ml, olds, newModel, docs, options, batchSize, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Fits an adapter from the vectors an index already holds: <paramref name="oldEmbeddings"/>[i] is the old model's
    /// vector of <paramref name="documents"/>[i], so only the new model runs (in batches of <paramref name="batchSize"/>).
    /// This is the usual upgrade: re-embed a sample of the indexed documents with the new model, keep the index as it is.
    /// </summary>
    /// <param name="ml">The ML.NET context.</param>
    /// <param name="oldEmbeddings">The index's stored vectors of the documents, in the same order.</param>
    /// <param name="newModel">The generator the application moves to.</param>
    /// <param name="documents">The texts of those vectors.</param>
    /// <param name="options">Adapter kind and settings; default: the estimator's default.</param>
    /// <param name="batchSize">Texts per generator call. Default 64.</param>
    /// <param name="cancellationToken">Cancels between batches.</param>
    /// <exception cref="ArgumentException">The two lists differ in length, or are empty.</exception>
    /// <exception cref="InvalidOperationException">The generator returned a different number of embeddings than texts, or vectors vary in size.</exception>
    public static async Task<EmbeddingAdapterTransformer> FitAdapterAsync(MLContext ml,
        IReadOnlyList<Embedding<float>> oldEmbeddings, IEmbeddingGenerator<string, Embedding<float>> newModel,
        IReadOnlyList<string> documents, EmbeddingAdapterOptions? options = null, int batchSize = 64, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(ml);
        ArgumentNullException.ThrowIfNull(oldEmbeddings);
        ArgumentNullException.ThrowIfNull(newModel);
        ArgumentNullException.ThrowIfNull(documents);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        if (oldEmbeddings.Count != documents.Count)
            throw new ArgumentException($"oldEmbeddings has {oldEmbeddings.Count} vectors but documents has {documents.Count} texts; expected one vector per text.", nameof(oldEmbeddings));
        if (documents.Count == 0) throw new ArgumentException("documents is empty; expected at least one text to fit an adapter.", nameof(documents));
        var news = await GenerateAllAsync(newModel, documents, batchSize, "new", cancellationToken).ConfigureAwait(false);
        return Fit(ml, news, oldEmbeddings, options);
    }

    /// <summary>
    /// Fits a query-side adapter (new model's queries → old index) from documents alone. Besides the pairs of
    /// <paramref name="documents"/>, each document's lead sentence (<see cref="PseudoQueries.LeadSentence"/>) is embedded
    /// as a query by both models, so the fit also covers the region where the new model puts queries (see
    /// <see cref="PseudoQueries"/>). No real query or relevance judgement is needed.
    /// </summary>
    /// <param name="ml">The ML.NET context.</param>
    /// <param name="oldModel">The generator the existing index was built with.</param>
    /// <param name="newModel">The generator the application moves to.</param>
    /// <param name="documents">Texts embedded by both (representative of the index).</param>
    /// <param name="newQueryPrefix">What the new model puts before a query (e.g. arctic-embed's
    /// "Represent this sentence for searching relevant passages: "); empty for a symmetric model.</param>
    /// <param name="oldQueryPrefix">What the old model puts before a query. Default empty.</param>
    /// <param name="options">Adapter kind and settings; default: the estimator's default.</param>
    /// <param name="batchSize">Texts per generator call. Default 64.</param>
    /// <param name="cancellationToken">Cancels between batches.</param>
    /// <exception cref="ArgumentException"><paramref name="documents"/> is empty.</exception>
    /// <exception cref="InvalidOperationException">A generator returned a different number of embeddings than texts, or vectors vary in size.</exception>
    public static async Task<EmbeddingAdapterTransformer> FitQueryAdapterAsync(MLContext ml,
        IEmbeddingGenerator<string, Embedding<float>> oldModel, IEmbeddingGenerator<string, Embedding<float>> newModel,
        IReadOnlyList<string> documents, string newQueryPrefix, string oldQueryPrefix = "", EmbeddingAdapterOptions? options = null,
        int batchSize = 64, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(ml);
        ArgumentNullException.ThrowIfNull(oldModel);
        ArgumentNullException.ThrowIfNull(newModel);
        ArgumentNullException.ThrowIfNull(documents);
        ArgumentNullException.ThrowIfNull(newQueryPrefix);
        ArgumentNullException.ThrowIfNull(oldQueryPrefix);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        if (documents.Count == 0) throw new ArgumentException("documents is empty; expected at least one text to fit an adapter.", nameof(documents));
        var leads = documents.Select(d => PseudoQueries.LeadSentence(d)).Where(l => l.Length > 0).ToArray();
        var olds = await GenerateAllAsync(oldModel, [.. documents, .. leads.Select(l => oldQueryPrefix + l)], batchSize, "old", cancellationToken).ConfigureAwait(false);
        var news = await GenerateAllAsync(newModel, [.. documents, .. leads.Select(l => newQueryPrefix + l)], batchSize, "new", cancellationToken).ConfigureAwait(false);
        return Fit(ml, news, olds, options);
    }

    /// <summary>Fits the estimator on the pairs (news[i], olds[i]), checking every vector's size against the first.</summary>
    private static EmbeddingAdapterTransformer Fit(MLContext ml, IReadOnlyList<Embedding<float>> news, IReadOnlyList<Embedding<float>> olds,
        EmbeddingAdapterOptions? options)
    {
        int dNew = news[0].Vector.Length, dOld = olds[0].Vector.Length;
        var pairs = new Pair[news.Count];
        for (int i = 0; i < pairs.Length; i++)
        {
            if (news[i].Vector.Length != dNew || olds[i].Vector.Length != dOld)
                throw new InvalidOperationException($"Vector {i} has {news[i].Vector.Length} (new) and {olds[i].Vector.Length} (old) dimensions; expected {dNew} and {dOld} like the first.");
            pairs[i] = new Pair { New = news[i].Vector.ToArray(), Old = olds[i].Vector.ToArray() };
        }
        var schema = SchemaDefinition.Create(typeof(Pair));
        schema[nameof(Pair.New)].ColumnType = new VectorDataViewType(NumberDataViewType.Single, dNew);
        schema[nameof(Pair.Old)].ColumnType = new VectorDataViewType(NumberDataViewType.Single, dOld);
        var data = ml.Data.LoadFromEnumerable(pairs, schema);
        return ml.Transforms.EmbeddingAdapter("Adapted", nameof(Pair.New), nameof(Pair.Old), options).Fit(data);
    }

    private static async Task<List<Embedding<float>>> GenerateAllAsync(IEmbeddingGenerator<string, Embedding<float>> model,
        IReadOnlyList<string> texts, int batchSize, string which, CancellationToken cancellationToken)
    {
        var all = new List<Embedding<float>>(texts.Count);
        for (int start = 0; start < texts.Count; start += batchSize)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var batch = texts.Skip(start).Take(batchSize).ToArray();
            var got = await model.GenerateAsync(batch, null, cancellationToken).ConfigureAwait(false);
            if (got.Count != batch.Length)
                throw new InvalidOperationException($"The {which} generator returned {got.Count} embeddings; expected {batch.Length}, one per text.");
            all.AddRange(got);
        }
        return all;
    }

    private sealed class Pair
    {
        public float[] New { get; set; } = [];
        public float[] Old { get; set; } = [];
    }
}
