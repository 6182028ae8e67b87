using Microsoft.ML;
using MLTransforms.Core.Pipeline;
using MLTransforms.Embeddings;

namespace MLTransforms;

/// <summary>Embedding components on <see cref="TransformsCatalog"/>: backward-compatible adapters and sentence embeddings
/// by ONNX Runtime.</summary>
public static class EmbeddingsCatalog
{
    /// <summary>
    /// Fits an adapter that maps new-model embeddings (<paramref name="inputColumnName"/>) into the old model's
    /// space (<paramref name="targetColumnName"/> holds old-model vectors of the same items), so new queries can
    /// search an index built with the old model. Swap the two columns to migrate stored vectors old -> new.
    /// </summary>
    /// <param name="catalog">The transforms catalog.</param>
    /// <param name="outputColumnName">Column of mapped vectors (old size, plus extra dimensions for OrthogonalExtended).</param>
    /// <param name="inputColumnName">Column of new-model vectors.</param>
    /// <param name="targetColumnName">Column of old-model vectors of the same rows (read only while fitting).</param>
    /// <param name="options">Kind and settings; default: centred Procrustes with spread matching.</param>
    public static EmbeddingAdapterEstimator EmbeddingAdapter(this TransformsCatalog catalog, string outputColumnName,
        string inputColumnName, string targetColumnName, EmbeddingAdapterOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        return new EmbeddingAdapterEstimator(CatalogEnvironment.Of(catalog), outputColumnName, inputColumnName, targetColumnName, options);
    }

    /// <summary>
    /// Embeds the text column <paramref name="inputColumnName"/> with a BERT-style sentence encoder (WordPiece
    /// tokenisation, ONNX Runtime in batches, mean or CLS pooling, L2 normalisation) into a Vector&lt;Single&gt;
    /// column. Use <see cref="TextEmbeddingOptions.MiniLM"/> or <see cref="TextEmbeddingOptions.ArcticXs"/> for the
    /// models packaged in SentenceTransformers.* NuGet packages, or point the options at any ONNX file.
    /// </summary>
    public static TextEmbeddingEstimator TextEmbedding(this TransformsCatalog catalog, string outputColumnName, string inputColumnName, TextEmbeddingOptions options)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        return new TextEmbeddingEstimator(CatalogEnvironment.Of(catalog), outputColumnName, inputColumnName, options);
    }
}
