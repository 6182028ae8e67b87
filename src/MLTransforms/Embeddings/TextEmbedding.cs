using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;
using MLTransforms.Embeddings;
using MLTransforms.Core.Pipeline;

namespace MLTransforms.Embeddings;

/// <summary>
/// Embeds a text column with a sentence encoder run by ONNX Runtime (see <see cref="TextEmbedder"/>). Nothing is
/// trained: <see cref="Fit"/> checks the schema and loads the model once.
/// </summary>
public sealed class TextEmbeddingEstimator : IEstimator<TextEmbeddingTransformer>
{
    private readonly TextEmbeddingOptions _options;
    private readonly IHost _host;

    /// <summary>Creates the estimator; prefer <see cref="EmbeddingsCatalog.TextEmbedding"/>.</summary>
    /// <param name="env">The ML.NET environment (e.g. the <see cref="MLContext"/>); fitting logs to it.</param>
    /// <param name="outputColumnName">Name of the appended vector column.</param>
    /// <param name="inputColumnName">Name of the text column.</param>
    /// <param name="options">The model and its tokenisation.</param>
    public TextEmbeddingEstimator(IHostEnvironment env, string outputColumnName, string inputColumnName, TextEmbeddingOptions options)
    {
        ArgumentNullException.ThrowIfNull(env);
        _host = env.Register(nameof(TextEmbeddingEstimator));
        ArgumentException.ThrowIfNullOrWhiteSpace(outputColumnName);
        ArgumentException.ThrowIfNullOrWhiteSpace(inputColumnName);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        OutputColumnName = outputColumnName;
        InputColumnName = inputColumnName;
        _options = options;
    }

    /// <summary>Name of the appended vector column.</summary>
    public string OutputColumnName { get; }

    /// <summary>Name of the text column.</summary>
    public string InputColumnName { get; }

    /// <inheritdoc/>
    public TextEmbeddingTransformer Fit(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        TextEmbeddingTransformer.CheckText(input.Schema, InputColumnName);
        var embedder = new TextEmbedder(_options);
        using (var ch = _host.Start("Fit"))
            ch.Info($"Sentence encoder {_options.ModelPath ?? "(model bytes)"}: {embedder.Dimension} dimensions, {_options.Pooling} pooling, batches of {_options.BatchSize}");
        return new TextEmbeddingTransformer(OutputColumnName, InputColumnName, embedder);
    }

    /// <inheritdoc/>
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        var col = inputSchema.LastOrDefault(c => c.Name == InputColumnName);
        if (col.Name is null)
            throw new ArgumentOutOfRangeException(nameof(inputSchema), $"Schema mismatch for input column '{InputColumnName}': column not found in the input schema.");
        if (col.Kind != SchemaShape.Column.VectorKind.Scalar || col.ItemType is not TextDataViewType)
            throw new ArgumentOutOfRangeException(nameof(inputSchema), $"Schema mismatch for input column '{InputColumnName}': expected String, got {col.ItemType.RawType.Name}{(col.Kind == SchemaShape.Column.VectorKind.Scalar ? "" : " vector")}.");
        // A vector-of-Single column shape, borrowed from ML.NET's own text featurizer output.
        var shape = new MLContext().Transforms.Text.FeaturizeText(OutputColumnName, InputColumnName).GetOutputSchema(inputSchema);
        return shape;
    }
}

/// <summary>
/// Appends the sentence embedding of a text column. Lazy: a cursor reads texts ahead in batches of
/// <see cref="TextEmbeddingOptions.BatchSize"/> through a second cursor over the text column and scores each
/// batch in one ONNX Runtime call; works in <see cref="PredictionEngine{TSrc, TDst}"/> (one text at a time).
/// Dispose to free the ONNX Runtime session.
/// </summary>
public sealed class TextEmbeddingTransformer : RowMappingTransformer, IDisposable
{
    internal TextEmbeddingTransformer(string outputColumnName, string inputColumnName, TextEmbedder embedder)
        : base(outputColumnName, inputColumnName)
    {
        Embedder = embedder;
    }

    /// <summary>The encoder (also usable directly: <see cref="TextEmbedder.Embed(IReadOnlyList{string}, IProgress{int}, CancellationToken)"/>).</summary>
    public TextEmbedder Embedder { get; }

    internal static DataViewSchema.Column CheckText(DataViewSchema schema, string name)
    {
        ArgumentNullException.ThrowIfNull(schema);
        var col = schema.GetColumnOrNull(name)
            ?? throw new ArgumentOutOfRangeException(nameof(schema), $"Schema mismatch for input column '{name}': column not found in the input schema.");
        if (col.Type is not TextDataViewType)
            throw new ArgumentOutOfRangeException(nameof(schema), $"Schema mismatch for input column '{name}': expected String, got {SchemaChecks.Describe(col.Type)}.");
        return col;
    }

    /// <inheritdoc/>
    protected override DataViewType OutputType => new VectorDataViewType(NumberDataViewType.Single, Embedder.Dimension);

    /// <inheritdoc/>
    protected override void CheckInputSchema(DataViewSchema inputSchema) => CheckText(inputSchema, InputColumnName);

    /// <summary>Reads ahead to embed up to <see cref="TextEmbeddingOptions.BatchSize"/> texts per ONNX Runtime call.</summary>
    protected override bool ReadsAhead => true;

    internal const string NotSavable = "The WordPiece tokenizer runs in .NET (Microsoft.ML.Tokenizers), not in the ONNX graph, so " +
        "a model file holding ONNX graphs cannot hold this step; ONNX Runtime Extensions' BertTokenizer op could carry it, " +
        "but ML.NET's OnnxTransformer cannot register custom-op libraries. Supported route: save the pipeline after the " +
        "embedding step (apply the TextEmbedding first, then save and load the rest), and rebuild the TextEmbedding from " +
        "its TextEmbeddingOptions (the encoder's .onnx file and vocabulary) when loading.";

    /// <inheritdoc/>
    /// <exception cref="NotSupportedException">Always: the message says why and names the supported route.</exception>
    protected override void SaveModel(ModelSaveContext ctx)
        => throw new NotSupportedException($"{nameof(TextEmbeddingTransformer)} cannot be saved into an ML.NET model file. {NotSavable}");

    /// <inheritdoc/>
    public void Dispose() => Embedder.Dispose();

    /// <inheritdoc/>
    protected override Delegate MakeGetter(DataViewRow input, DataViewRowCursor? readAhead)
    {
        var textGetter = input.GetGetter<ReadOnlyMemory<char>>(input.Schema[InputColumnName]);
        var aheadGetter = readAhead?.GetGetter<ReadOnlyMemory<char>>(readAhead.Schema[InputColumnName]);
        float[] batch = [];
        long batchStart = -1;
        int batchCount = 0;
        int d = Embedder.Dimension;
        ValueGetter<VBuffer<float>> getter = (ref VBuffer<float> dst) =>
        {
            long pos = input.Position;
            if (pos < batchStart || pos >= batchStart + batchCount) Fill(pos);
            var editor = VBufferEditor.Create(ref dst, d);
            batch.AsSpan((int)(pos - batchStart) * d, d).CopyTo(editor.Values);
            dst = editor.Commit();
        };
        return getter;

        void Fill(long pos)
        {
            var texts = new List<string?>();
            if (readAhead is not null && readAhead.Position < pos)
            {
                while (readAhead.Position < pos - 1 && readAhead.MoveNext()) { }
                ReadOnlyMemory<char> t = default;
                long first = -1;
                while (texts.Count < Embedder.Options.BatchSize && readAhead.MoveNext())
                {
                    if (first < 0) first = readAhead.Position;
                    aheadGetter!(ref t);
                    texts.Add(t.ToString());
                }
                if (first != pos)
                    throw new InvalidOperationException("The read-ahead cursor lost step with the main cursor; the source data view is not deterministic.");
            }
            else
            {
                ReadOnlyMemory<char> t = default;
                textGetter(ref t);
                texts.Add(t.ToString());
            }
            batch = Embedder.Embed(texts);
            batchStart = pos;
            batchCount = texts.Count;
        }
    }
}
