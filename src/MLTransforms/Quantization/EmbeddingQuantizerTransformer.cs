using Microsoft.ML;
using Microsoft.ML.Runtime;
using MLTransforms.Core.Onnx;
using MLTransforms.Core.Pipeline;

namespace MLTransforms.Quantization;

/// <summary>
/// Fits an <see cref="EmbeddingQuantizerTransformer"/>: reads up to <see cref="EmbeddingQuantizerOptions.MaxSampleRows"/>
/// rows of the input vector column, fits the mean and the integer grid, and draws the rotation from the seed.
/// </summary>
public sealed class EmbeddingQuantizerEstimator : VectorEstimator<EmbeddingQuantizerTransformer>
{
    private readonly EmbeddingQuantizerOptions _options;
    private readonly int _drawnSeed;

    /// <summary>Creates the estimator; prefer <see cref="QuantizationCatalog.QuantizeEmbeddings"/>.</summary>
    /// <param name="env">The ML.NET environment (e.g. the <see cref="MLContext"/>); a null seed is drawn from it now.</param>
    /// <param name="outputColumnName">Column of code rows (<see cref="EmbeddingQuantizer.CodeRowSize"/> floats).</param>
    /// <param name="inputColumnName">Column of embedding vectors; null means <paramref name="outputColumnName"/>.</param>
    /// <param name="options">Settings, validated here and again when fitting; null: the defaults (4 bits, centred).</param>
    public EmbeddingQuantizerEstimator(IHostEnvironment env, string outputColumnName, string? inputColumnName = null, EmbeddingQuantizerOptions? options = null)
        : base(env, outputColumnName, inputColumnName)
    {
        _options = options ?? new EmbeddingQuantizerOptions();
        _drawnSeed = Host.Rand.Next();
        _options.Validate();
    }

    /// <summary>Seed of the rotation: <see cref="EmbeddingQuantizerOptions.Seed"/>, or the one drawn from the context.</summary>
    public int Seed => _options.Seed ?? _drawnSeed;

    /// <summary>Reads the sample and fits the quantizer.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The column is missing or not a known-size Single vector, or an option is out of range.</exception>
    /// <exception cref="InvalidOperationException">No rows, or NaN / infinity (naming column and row).</exception>
    public override EmbeddingQuantizerTransformer Fit(IDataView input)
    {
        _options.Validate();
        CheckInput(input);
        var (values, rows, size) = ReadInput(input, _options.MaxSampleRows);
        var quantizer = EmbeddingQuantizer.FitSeeded(values, rows, size, _options, Seed);
        using (var ch = Host.Start("Fit"))
            ch.Info($"Embedding quantizer: {size} values (padded to {quantizer.PaddedDimension}), {quantizer.Bits} bits, {(quantizer.Centered ? "centred" : "not centred")}, {quantizer.Rotation.Blocks} blocks, seed {Seed}, grid 2^-{quantizer.GridExponent}, {quantizer.BytesPerVector} bytes per vector, from {rows} rows");
        return new EmbeddingQuantizerTransformer(OutputColumnName, InputColumnName, quantizer);
    }
}

/// <summary>
/// Appends the code row of each vector: <see cref="EmbeddingQuantizer.CodeBytes"/> packed code bytes (as Single values
/// 0..255, because ML.NET pipelines of this library carry Single vectors), then the factor f and the offset g.
/// Exports to ONNX with standard operators; ONNX Runtime's code bytes equal this transformer's exactly.
/// </summary>
public sealed class EmbeddingQuantizerTransformer : VectorTransformer
{
    internal EmbeddingQuantizerTransformer(string outputColumnName, string inputColumnName, EmbeddingQuantizer quantizer)
        : base(outputColumnName, inputColumnName, quantizer.Dimension, quantizer.CodeRowSize)
        => Quantizer = quantizer;

    /// <summary>The fitted quantizer, usable outside pipelines (e.g. to build a <see cref="QuantizedIndex"/>).</summary>
    public EmbeddingQuantizer Quantizer { get; }

    /// <inheritdoc/>
    protected override int ScratchSize => 2 * Quantizer.EncodeScratchLength + Quantizer.PaddedDimension + Quantizer.Dimension + Quantizer.CodeBytes;

    /// <inheritdoc/>
    protected override void Map(ReadOnlySpan<float> input, Span<float> output, Span<float> scratch)
    {
        var q = Quantizer;
        int doubles = 2 * q.EncodeScratchLength;
        var z = System.Runtime.InteropServices.MemoryMarshal.Cast<float, double>(scratch[..doubles]);
        var centered = scratch.Slice(doubles, q.Dimension);
        var code = System.Runtime.InteropServices.MemoryMarshal.AsBytes(scratch.Slice(doubles + q.Dimension, q.CodeBytes))[..q.CodeBytes];
        q.EncodeUnchecked(input, code, out float f, out float g, z, centered, InputColumnName);
        for (int i = 0; i < code.Length; i++) output[i] = code[i];
        output[q.CodeBytes] = f;
        output[q.CodeBytes + 1] = g;
    }

    /// <inheritdoc/>
    protected internal override string BuildOnnx(OnnxGraphBuilder graph, string input) => QuantizationOnnx.EmitEncoder(graph, input, Quantizer);

    /// <summary>The decode transform of these codes: appends x̂ = μ + R^T (f ĉ) from a code column.</summary>
    /// <param name="outputColumnName">Column of decoded vectors (<see cref="EmbeddingQuantizer.Dimension"/> values).</param>
    /// <param name="inputColumnName">Column of code rows; null means this transformer's output column.</param>
    public EmbeddingDecoderTransformer CreateDecoder(string outputColumnName, string? inputColumnName = null)
        => new(outputColumnName, inputColumnName ?? OutputColumnName, Quantizer);
}

/// <summary>
/// Appends the decoded vector x̂ = μ + R^T (f ĉ) of each code row of an <see cref="EmbeddingQuantizerTransformer"/>
/// (see <see cref="EmbeddingQuantizer.Decode"/>). Exports to ONNX; nothing is learned, so it is a transformer only.
/// </summary>
public sealed class EmbeddingDecoderTransformer : VectorTransformer
{
    internal EmbeddingDecoderTransformer(string outputColumnName, string inputColumnName, EmbeddingQuantizer quantizer)
        : base(outputColumnName, inputColumnName, quantizer.CodeRowSize, quantizer.Dimension)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(outputColumnName);
        ArgumentException.ThrowIfNullOrWhiteSpace(inputColumnName);
        Quantizer = quantizer;
    }

    /// <summary>The quantizer whose codes are decoded.</summary>
    public EmbeddingQuantizer Quantizer { get; }

    /// <inheritdoc/>
    protected override int ScratchSize => Quantizer.PaddedDimension + Quantizer.CodeBytes;

    /// <inheritdoc/>
    protected override void Map(ReadOnlySpan<float> input, Span<float> output, Span<float> scratch)
    {
        var q = Quantizer;
        var code = System.Runtime.InteropServices.MemoryMarshal.AsBytes(scratch.Slice(q.PaddedDimension, q.CodeBytes))[..q.CodeBytes];
        q.ReadCodeRow(input, code, InputColumnName);
        q.DecodeUnchecked(code, input[q.CodeBytes], output, scratch[..q.PaddedDimension]);
    }

    /// <inheritdoc/>
    protected internal override string BuildOnnx(OnnxGraphBuilder graph, string input) => QuantizationOnnx.EmitDecoder(graph, input, Quantizer);
}
