using Microsoft.ML;
using MLTransforms.Core.Pipeline;
using MLTransforms.Quantization;

namespace MLTransforms;

/// <summary>Embedding quantization on <see cref="TransformsCatalog"/>: rotation-before-quantization codes (1, 2, 3, 4
/// or 8 bits per coordinate) and their decoding. Search the codes with a <see cref="QuantizedIndex"/>.</summary>
public static class QuantizationCatalog
{
    /// <summary>
    /// Fits an <see cref="EmbeddingQuantizerTransformer"/>: centre, rotate (two-block structured Hadamard, padded to a
    /// power of two) and quantize each vector of <paramref name="inputColumnName"/> into a code row
    /// (<see cref="EmbeddingQuantizer.CodeBytes"/> byte values as Single, then two correction scalars).
    /// </summary>
    /// <param name="catalog">The transforms catalog.</param>
    /// <param name="outputColumnName">Column of code rows.</param>
    /// <param name="inputColumnName">Column of embeddings; null means <paramref name="outputColumnName"/>.</param>
    /// <param name="options">Bits, centring, rotation blocks and seed; null: 4 bits, centred, 2 blocks, seed from the context.</param>
    /// <example><code>var codes = ml.Transforms.QuantizeEmbeddings("Codes", "Embedding", new EmbeddingQuantizerOptions { Bits = 1, Seed = 7 });</code></example>
    public static EmbeddingQuantizerEstimator QuantizeEmbeddings(this TransformsCatalog catalog, string outputColumnName,
        string? inputColumnName = null, EmbeddingQuantizerOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        return new EmbeddingQuantizerEstimator(CatalogEnvironment.Of(catalog), outputColumnName, inputColumnName, options);
    }

    /// <summary>The decode transform of <paramref name="quantizer"/>'s codes: appends x̂ = μ + R^T (f ĉ). Nothing is
    /// learned, so this returns the transformer itself (append it to a fitted chain).</summary>
    /// <param name="catalog">The transforms catalog.</param>
    /// <param name="quantizer">The fitted quantizer transformer whose codes are decoded.</param>
    /// <param name="outputColumnName">Column of decoded vectors.</param>
    /// <param name="inputColumnName">Column of code rows; null means the quantizer's output column.</param>
    public static EmbeddingDecoderTransformer DecodeEmbeddings(this TransformsCatalog catalog, EmbeddingQuantizerTransformer quantizer,
        string outputColumnName, string? inputColumnName = null)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentNullException.ThrowIfNull(quantizer);
        return quantizer.CreateDecoder(outputColumnName, inputColumnName);
    }
}
