using Microsoft.ML;
using Microsoft.ML.Data;

namespace MLTransforms.Core.Pipeline;

/// <summary>
/// The one transformer mechanism of the library: a lazy transformer that reads one input column and appends one
/// output column computed row by row. It supplies the ML.NET plumbing once for every component: the lazy
/// <see cref="IDataView"/> with cursors and cursor sets, the <see cref="IRowToRowMapper"/> (so the transformer works
/// in <c>Append</c> chains and in <see cref="PredictionEngine{TSrc, TDst}"/>), column activity and dependencies,
/// <see cref="GetOutputSchema"/>, and the route of <c>mlContext.Model.Save</c>.
/// </summary>
/// <remarks>
/// <para>Vector-to-vector components derive from <see cref="VectorTransformer"/>, which adds the per-row mathematics
/// hook, NaN checks and the ONNX graph; components with another input type (text) derive from this class directly.</para>
/// <para>A fitted transformer must be immutable: every cursor asks <see cref="MakeGetter"/> for its own getter, which
/// owns its buffers, so one instance can serve many threads at once.</para>
/// </remarks>
public abstract class RowMappingTransformer : ITransformer
{
    /// <summary>Initialises the column names.</summary>
    /// <param name="outputColumnName">Name of the appended column.</param>
    /// <param name="inputColumnName">Name of the input column.</param>
    protected RowMappingTransformer(string outputColumnName, string inputColumnName)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(outputColumnName);
        ArgumentException.ThrowIfNullOrWhiteSpace(inputColumnName);
        OutputColumnName = outputColumnName;
        InputColumnName = inputColumnName;
    }

    /// <summary>Name of the column this transformer appends.</summary>
    public string OutputColumnName { get; }

    /// <summary>Name of the column this transformer reads.</summary>
    public string InputColumnName { get; }

    /// <summary>Type of the appended column.</summary>
    protected abstract DataViewType OutputType { get; }

    /// <summary>Throws an ML.NET-style schema error (naming <see cref="InputColumnName"/>, the expected and the actual
    /// type) when <paramref name="inputSchema"/> lacks the input column or holds it with the wrong type.</summary>
    /// <param name="inputSchema">The schema of the data to transform.</param>
    protected abstract void CheckInputSchema(DataViewSchema inputSchema);

    /// <summary>
    /// True when <see cref="MakeGetter"/> wants a second cursor over the input column, in the same row order, to read
    /// rows ahead of the main cursor (for instance to score a batch at once). It is given only when rows are not
    /// shuffled and the transformer runs over a data view; a <see cref="PredictionEngine{TSrc, TDst}"/> row has none.
    /// </summary>
    protected virtual bool ReadsAhead => false;

    /// <summary>Makes the getter of the appended column, a <c>ValueGetter</c> of the <see cref="OutputType"/>'s raw type,
    /// for the rows of <paramref name="input"/>.</summary>
    /// <param name="input">The input row (or cursor); its <see cref="InputColumnName"/> column is active.</param>
    /// <param name="readAhead">With <see cref="ReadsAhead"/>, a cursor over the input column alone in the same order
    /// when one is available, else null; the caller disposes it.</param>
    protected abstract Delegate MakeGetter(DataViewRow input, DataViewRowCursor? readAhead);

    /// <summary>Writes this transformer into an ML.NET model file (<c>mlContext.Model.Save</c>).</summary>
    /// <param name="ctx">ML.NET's save context.</param>
    /// <exception cref="NotSupportedException">The component cannot be held by a model file; the message says why and
    /// names the supported route.</exception>
    protected abstract void SaveModel(ModelSaveContext ctx);

    /// <inheritdoc/>
    public bool IsRowToRowMapper => true;

    /// <inheritdoc/>
    public DataViewSchema GetOutputSchema(DataViewSchema inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        CheckInputSchema(inputSchema);
        return BuildOutputSchema(inputSchema);
    }

    /// <inheritdoc/>
    public IDataView Transform(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        return new MappedDataView(this, input);
    }

    /// <inheritdoc/>
    public IRowToRowMapper GetRowToRowMapper(DataViewSchema inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        CheckInputSchema(inputSchema);
        return new Mapper(this, inputSchema);
    }

    /// <summary>Saves the transformer into an ML.NET model zip (see <see cref="SaveModel"/>).</summary>
    /// <param name="ctx">ML.NET's save context.</param>
    void ICanSaveModel.Save(ModelSaveContext ctx) => SaveModel(ctx);

    private DataViewSchema BuildOutputSchema(DataViewSchema inputSchema)
    {
        var builder = new DataViewSchema.Builder();
        builder.AddColumns(inputSchema);
        builder.AddColumn(OutputColumnName, OutputType);
        return builder.ToSchema();
    }

    /// <summary>The source columns a request for <paramref name="needed"/> depends on, and whether the output is among them.</summary>
    private (List<DataViewSchema.Column> Source, bool OutputActive) SplitColumns(DataViewSchema sourceSchema, IEnumerable<DataViewSchema.Column> needed)
    {
        var src = new List<DataViewSchema.Column>();
        bool outputActive = false;
        foreach (var col in needed)
        {
            if (col.Index == sourceSchema.Count) outputActive = true;
            else src.Add(sourceSchema[col.Index]);
        }
        if (outputActive) src.Add(sourceSchema[InputColumnName]);
        return (src.Distinct().ToList(), outputActive);
    }

    /// <summary>The lazy result of <see cref="Transform(IDataView)"/>.</summary>
    private sealed class MappedDataView(RowMappingTransformer parent, IDataView source) : IDataView
    {
        public DataViewSchema Schema { get; } = parent.GetOutputSchema(source.Schema);
        public bool CanShuffle => source.CanShuffle;
        public long? GetRowCount() => source.GetRowCount();

        public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null)
        {
            var (src, active) = parent.SplitColumns(source.Schema, columnsNeeded);
            var main = source.GetRowCursor(src, rand);
            // Read-ahead needs a second cursor in the same order: only possible without shuffling.
            var ahead = active && parent.ReadsAhead && rand is null ? source.GetRowCursor([source.Schema[parent.InputColumnName]]) : null;
            return new MappedCursor(parent, Schema, main, active, ahead);
        }

        public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null)
        {
            // A read-ahead transformer batches its own work, which a cursor set would break into interleaved rows.
            if (parent.ReadsAhead) return [GetRowCursor(columnsNeeded, rand)];
            var (src, active) = parent.SplitColumns(source.Schema, columnsNeeded);
            return source.GetRowCursorSet(src, n, rand)
                .Select(c => (DataViewRowCursor)new MappedCursor(parent, Schema, c, active, null)).ToArray();
        }
    }

    /// <summary>A cursor (or, for <see cref="IRowToRowMapper"/>, a single row) over the appended column.</summary>
    private sealed class MappedCursor : DataViewRowCursor
    {
        private readonly DataViewRow _input;
        private readonly DataViewRowCursor? _ahead;
        private readonly DataViewSchema _schema;
        private readonly Delegate? _outputGetter;

        public MappedCursor(RowMappingTransformer parent, DataViewSchema schema, DataViewRow input, bool outputActive, DataViewRowCursor? ahead)
        {
            _input = input;
            _ahead = ahead;
            _schema = schema;
            if (outputActive)
                _outputGetter = parent.MakeGetter(input, ahead);
        }

        private int OutputIndex => _schema.Count - 1;
        public override DataViewSchema Schema => _schema;
        public override long Position => _input.Position;
        public override long Batch => _input.Batch;
        public override ValueGetter<DataViewRowId> GetIdGetter() => _input.GetIdGetter();

        public override bool MoveNext() => _input is DataViewRowCursor c
            ? c.MoveNext()
            : throw new NotSupportedException("A mapped row cannot move; it follows its input row.");

        public override bool IsColumnActive(DataViewSchema.Column column)
            => column.Index == OutputIndex ? _outputGetter != null : _input.IsColumnActive(_input.Schema[column.Index]);

        public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
        {
            if (column.Index != OutputIndex)
                return _input.GetGetter<TValue>(_input.Schema[column.Index]);
            if (_outputGetter is null)
                throw new InvalidOperationException($"Column '{column.Name}' was not requested as active.");
            return _outputGetter as ValueGetter<TValue>
                ?? throw new InvalidOperationException($"Column '{column.Name}' holds {_schema[OutputIndex].Type}; requested {typeof(TValue).Name}.");
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

    private sealed class Mapper(RowMappingTransformer parent, DataViewSchema inputSchema) : IRowToRowMapper
    {
        public DataViewSchema InputSchema { get; } = inputSchema;
        public DataViewSchema OutputSchema { get; } = parent.BuildOutputSchema(inputSchema);

        public IEnumerable<DataViewSchema.Column> GetDependencies(IEnumerable<DataViewSchema.Column> dependingColumns)
            => parent.SplitColumns(InputSchema, dependingColumns).Source;

        public DataViewRow GetRow(DataViewRow input, IEnumerable<DataViewSchema.Column> activeColumns)
            => new MappedCursor(parent, OutputSchema, input, activeColumns.Any(c => c.Index == InputSchema.Count), null);
    }
}
