using Microsoft.ML;
using Microsoft.ML.Data;
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

    /// <summary>Creates the estimator; prefer <see cref="EmbeddingsCatalog.TextEmbedding"/>.</summary>
    public TextEmbeddingEstimator(string outputColumnName, string inputColumnName, TextEmbeddingOptions options)
    {
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
        return new TextEmbeddingTransformer(OutputColumnName, InputColumnName, new TextEmbedder(_options));
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
public sealed class TextEmbeddingTransformer : ITransformer, IDisposable
{
    internal TextEmbeddingTransformer(string outputColumnName, string inputColumnName, TextEmbedder embedder)
    {
        OutputColumnName = outputColumnName;
        InputColumnName = inputColumnName;
        Embedder = embedder;
    }

    /// <summary>Name of the appended vector column.</summary>
    public string OutputColumnName { get; }

    /// <summary>Name of the text column.</summary>
    public string InputColumnName { get; }

    /// <summary>The encoder (also usable directly: <see cref="TextEmbedder.Embed(IReadOnlyList{string}, IProgress{int}, CancellationToken)"/>).</summary>
    public TextEmbedder Embedder { get; }

    /// <inheritdoc/>
    public bool IsRowToRowMapper => true;

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
    public DataViewSchema GetOutputSchema(DataViewSchema inputSchema)
    {
        CheckText(inputSchema, InputColumnName);
        var builder = new DataViewSchema.Builder();
        builder.AddColumns(inputSchema);
        builder.AddColumn(OutputColumnName, new VectorDataViewType(NumberDataViewType.Single, Embedder.Dimension));
        return builder.ToSchema();
    }

    /// <inheritdoc/>
    public IDataView Transform(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        return new EmbeddedView(this, input);
    }

    /// <inheritdoc/>
    public IRowToRowMapper GetRowToRowMapper(DataViewSchema inputSchema) => new Mapper(this, inputSchema);

    void ICanSaveModel.Save(ModelSaveContext ctx)
        => throw new NotSupportedException($"{nameof(TextEmbeddingTransformer)} cannot be saved into an ML.NET model file; keep the ONNX model and rebuild the pipeline.");

    /// <inheritdoc/>
    public void Dispose() => Embedder.Dispose();

    private (List<DataViewSchema.Column> Source, bool OutputActive) Split(DataViewSchema source, IEnumerable<DataViewSchema.Column> needed)
    {
        var src = new List<DataViewSchema.Column>();
        bool active = false;
        foreach (var c in needed)
        {
            if (c.Index == source.Count) active = true;
            else src.Add(source[c.Index]);
        }
        if (active) src.Add(source[InputColumnName]);
        return (src.Distinct().ToList(), active);
    }

    private sealed class EmbeddedView(TextEmbeddingTransformer parent, IDataView source) : IDataView
    {
        public DataViewSchema Schema { get; } = parent.GetOutputSchema(source.Schema);
        public bool CanShuffle => source.CanShuffle;
        public long? GetRowCount() => source.GetRowCount();

        public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null)
        {
            var (src, active) = parent.Split(source.Schema, columnsNeeded);
            var main = source.GetRowCursor(src, rand);
            // Read-ahead needs a second cursor in the same order: only possible without shuffling.
            var ahead = active && rand is null ? source.GetRowCursor([source.Schema[parent.InputColumnName]]) : null;
            return new EmbeddedCursor(parent, Schema, main, active, ahead);
        }

        public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null)
            => [GetRowCursor(columnsNeeded, rand)]; // ONNX Runtime already uses every core per batch.
    }

    private sealed class EmbeddedCursor : DataViewRowCursor
    {
        private readonly TextEmbeddingTransformer _parent;
        private readonly DataViewSchema _schema;
        private readonly DataViewRow _input;
        private readonly DataViewRowCursor? _ahead;
        private readonly ValueGetter<ReadOnlyMemory<char>>? _textGetter, _aheadGetter;
        private readonly bool _active;
        private float[] _batch = [];
        private long _batchStart = -1;
        private int _batchCount;

        public EmbeddedCursor(TextEmbeddingTransformer parent, DataViewSchema schema, DataViewRow input, bool active, DataViewRowCursor? ahead)
        {
            _parent = parent;
            _schema = schema;
            _input = input;
            _active = active;
            _ahead = ahead;
            if (active)
            {
                _textGetter = input.GetGetter<ReadOnlyMemory<char>>(input.Schema[parent.InputColumnName]);
                if (ahead is not null) _aheadGetter = ahead.GetGetter<ReadOnlyMemory<char>>(ahead.Schema[parent.InputColumnName]);
            }
        }

        public override DataViewSchema Schema => _schema;
        public override long Position => _input.Position;
        public override long Batch => _input.Batch;
        public override ValueGetter<DataViewRowId> GetIdGetter() => _input.GetIdGetter();

        public override bool MoveNext() => _input is DataViewRowCursor c ? c.MoveNext() : throw new NotSupportedException("A mapped row cannot move.");

        public override bool IsColumnActive(DataViewSchema.Column column)
            => column.Index == _schema.Count - 1 ? _active : _input.IsColumnActive(_input.Schema[column.Index]);

        public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
        {
            if (column.Index != _schema.Count - 1)
                return _input.GetGetter<TValue>(_input.Schema[column.Index]);
            if (!_active)
                throw new InvalidOperationException($"Column '{column.Name}' was not requested as active.");
            ValueGetter<VBuffer<float>> getter = (ref VBuffer<float> dst) =>
            {
                long pos = _input.Position;
                if (pos < _batchStart || pos >= _batchStart + _batchCount) Fill(pos);
                int d = _parent.Embedder.Dimension;
                var editor = VBufferEditor.Create(ref dst, d);
                _batch.AsSpan((int)(pos - _batchStart) * d, d).CopyTo(editor.Values);
                dst = editor.Commit();
            };
            return getter as ValueGetter<TValue>
                ?? throw new InvalidOperationException($"Column '{column.Name}' holds VBuffer<Single>; requested {typeof(TValue).Name}.");
        }

        private void Fill(long pos)
        {
            var texts = new List<string?>();
            if (_ahead is not null && _ahead.Position < pos)
            {
                while (_ahead.Position < pos - 1 && _ahead.MoveNext()) { }
                ReadOnlyMemory<char> t = default;
                long first = -1;
                while (texts.Count < _parent.Embedder.Options.BatchSize && _ahead.MoveNext())
                {
                    if (first < 0) first = _ahead.Position;
                    _aheadGetter!(ref t);
                    texts.Add(t.ToString());
                }
                if (first != pos)
                    throw new InvalidOperationException("The read-ahead cursor lost step with the main cursor; the source data view is not deterministic.");
            }
            else
            {
                ReadOnlyMemory<char> t = default;
                _textGetter!(ref t);
                texts.Add(t.ToString());
            }
            _batch = _parent.Embedder.Embed(texts);
            _batchStart = pos;
            _batchCount = texts.Count;
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                _input.Dispose();
                _ahead?.Dispose();
            }
            base.Dispose(disposing);
        }
    }

    private sealed class Mapper(TextEmbeddingTransformer parent, DataViewSchema inputSchema) : IRowToRowMapper
    {
        public DataViewSchema InputSchema { get; } = inputSchema;
        public DataViewSchema OutputSchema { get; } = parent.GetOutputSchema(inputSchema);

        public IEnumerable<DataViewSchema.Column> GetDependencies(IEnumerable<DataViewSchema.Column> dependingColumns)
            => parent.Split(InputSchema, dependingColumns).Source;

        public DataViewRow GetRow(DataViewRow input, IEnumerable<DataViewSchema.Column> activeColumns)
            => new EmbeddedCursor(parent, OutputSchema, input, activeColumns.Any(c => c.Index == InputSchema.Count), null);
    }
}
