using Microsoft.ML;
using Microsoft.ML.Data;
using MLTransforms.Core.Onnx;
using MLTransforms.Onnx;

namespace MLTransforms.Core.Pipeline;

/// <summary>
/// Base class of every fitted MLTransforms component: a lazy, row-to-row transformer that reads one known-size
/// <see cref="float"/> vector column and appends one known-size <see cref="float"/> vector column.
/// </summary>
/// <remarks>
/// <para>Derived classes supply only the per-row mathematics (<see cref="Map"/>). This class supplies the ML.NET
/// plumbing: schema checks, a lazy <see cref="IDataView"/> with cursors and cursor sets, an
/// <see cref="IRowToRowMapper"/> (so the transformer works in <c>Append</c> chains and in
/// <see cref="PredictionEngine{TSrc, TDst}"/>), and NaN / infinity checks that name the column and the row.</para>
/// <para>A fitted transformer is immutable; every cursor and getter owns its buffers, so one instance can serve
/// many threads at once.</para>
/// </remarks>
public abstract class VectorTransformer : ITransformer
{
    /// <summary>Initialises the column names and sizes.</summary>
    /// <param name="outputColumnName">Name of the appended column.</param>
    /// <param name="inputColumnName">Name of the input column.</param>
    /// <param name="inputSize">Length of the input vector the transformer was fitted on.</param>
    /// <param name="outputSize">Length of the output vector.</param>
    protected VectorTransformer(string outputColumnName, string inputColumnName, int inputSize, int outputSize)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(outputColumnName);
        ArgumentException.ThrowIfNullOrWhiteSpace(inputColumnName);
        SchemaChecks.CheckOption(inputSize > 0, nameof(inputSize), inputSize, "positive");
        SchemaChecks.CheckOption(outputSize > 0, nameof(outputSize), outputSize, "positive");
        OutputColumnName = outputColumnName;
        InputColumnName = inputColumnName;
        InputSize = inputSize;
        OutputSize = outputSize;
    }

    /// <summary>Name of the column this transformer appends.</summary>
    public string OutputColumnName { get; }

    /// <summary>Name of the column this transformer reads.</summary>
    public string InputColumnName { get; }

    /// <summary>Length of the input vector.</summary>
    public int InputSize { get; }

    /// <summary>Length of the output vector.</summary>
    public int OutputSize { get; }

    /// <summary>Number of scratch floats <see cref="Map"/> needs per call; each getter allocates them once.</summary>
    protected virtual int ScratchSize => 0;

    /// <summary>Maps one input row to one output row. Must not keep state between calls beyond <paramref name="scratch"/>.</summary>
    /// <param name="input">The input vector, <see cref="InputSize"/> finite values.</param>
    /// <param name="output">The output vector, <see cref="OutputSize"/> values, to be overwritten.</param>
    /// <param name="scratch">A buffer of <see cref="ScratchSize"/> floats private to the calling getter.</param>
    protected abstract void Map(ReadOnlySpan<float> input, Span<float> output, Span<float> scratch);

    /// <summary>
    /// Emits this transformer's computation for a batch into an ONNX graph: <paramref name="input"/> names a float
    /// tensor of shape [N, <see cref="InputSize"/>]; the returned name is a float tensor of shape [N, <see cref="OutputSize"/>].
    /// </summary>
    /// <remarks>Every component compiles to ONNX through this one hook; persistence and pipeline export build on it.</remarks>
    /// <param name="graph">The graph under construction.</param>
    /// <param name="input">Name of the [N, InputSize] input tensor.</param>
    /// <returns>Name of the [N, OutputSize] output tensor.</returns>
    protected internal abstract string BuildOnnx(OnnxGraphBuilder graph, string input);

    /// <summary>Applies the transformer to one vector, outside any pipeline (handy for tests and services).</summary>
    /// <param name="input">An input vector of <see cref="InputSize"/> finite values.</param>
    /// <returns>The output vector.</returns>
    public float[] Transform(ReadOnlySpan<float> input)
    {
        if (input.Length != InputSize)
            throw new ArgumentException($"Input for column '{InputColumnName}' has {input.Length} values; expected {InputSize}.", nameof(input));
        SchemaChecks.CheckFinite(input, InputColumnName, 0);
        var output = new float[OutputSize];
        Map(input, output, ScratchSize == 0 ? Span<float>.Empty : new float[ScratchSize]);
        return output;
    }

    /// <summary>Applies the transformer to a batch of row-major vectors (no allocation per row), outside any pipeline.</summary>
    /// <param name="inputRows">Whole rows of <see cref="InputSize"/> finite values each.</param>
    /// <param name="outputRows">Receives the same number of rows of <see cref="OutputSize"/> values.</param>
    public void Transform(ReadOnlySpan<float> inputRows, Span<float> outputRows)
    {
        if (inputRows.Length % InputSize != 0)
            throw new ArgumentException($"Input for column '{InputColumnName}' has {inputRows.Length} values, not a whole number of rows of {InputSize}.", nameof(inputRows));
        int rows = inputRows.Length / InputSize;
        if (outputRows.Length != rows * OutputSize)
            throw new ArgumentException($"Output for column '{OutputColumnName}' has room for {outputRows.Length} values; {rows} rows need {rows * OutputSize}.", nameof(outputRows));
        Span<float> scratch = ScratchSize == 0 ? Span<float>.Empty : new float[ScratchSize];
        for (int r = 0; r < rows; r++)
        {
            var row = inputRows.Slice(r * InputSize, InputSize);
            SchemaChecks.CheckFinite(row, InputColumnName, r);
            Map(row, outputRows.Slice(r * OutputSize, OutputSize), scratch);
        }
    }

    /// <inheritdoc/>
    public bool IsRowToRowMapper => true;

    /// <inheritdoc/>
    public DataViewSchema GetOutputSchema(DataViewSchema inputSchema)
    {
        SchemaChecks.CheckVectorColumn(inputSchema, InputColumnName, InputSize);
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
        SchemaChecks.CheckVectorColumn(inputSchema, InputColumnName, InputSize);
        return new Mapper(this, inputSchema);
    }

    /// <summary>Saves the transformer into an ML.NET model zip (see the ONNX persistence mechanism).</summary>
    /// <param name="ctx">ML.NET's save context.</param>
    void ICanSaveModel.Save(ModelSaveContext ctx) => SaveModel(ctx);

    /// <summary>
    /// Writes this transformer into <paramref name="ctx"/>. The default writes an equivalent ML.NET
    /// <c>OnnxTransformer</c> built from this transformer's own row graph (<see cref="ToOnnxBytes"/>), so
    /// <c>mlContext.Model.Save</c> works and <c>mlContext.Model.Load</c> needs only ML.NET and ONNX Runtime, not
    /// this library. See <see cref="MLTransforms.Onnx.OnnxPersistence"/> for the one visible difference after loading.
    /// </summary>
    /// <param name="ctx">ML.NET's save context.</param>
    protected virtual void SaveModel(ModelSaveContext ctx) => MLTransforms.Onnx.OnnxPersistence.Save(this, ctx);

    /// <summary>The model proto of <see cref="ToOnnxBytes"/> (internal: OnnxSharp types stay out of the public API).</summary>
    internal global::Onnx.ModelProto ToOnnxModel(MLTransforms.Core.Onnx.OnnxGraphForm form = MLTransforms.Core.Onnx.OnnxGraphForm.Batched,
        string? inputName = null, string? outputName = null)
        => MLTransforms.Core.Onnx.OnnxComponentGraph.Build(this, form, inputName, outputName);

    /// <summary>
    /// Compiles this fitted transformer into a standalone ONNX model (opset <see cref="OnnxGraphBuilder.Opset"/>) and
    /// returns its serialised bytes (an <c>.onnx</c> file's content).
    /// </summary>
    /// <param name="form"><see cref="MLTransforms.Core.Onnx.OnnxGraphForm.Batched"/>: input [N, <see cref="InputSize"/>] to output
    /// [N, <see cref="OutputSize"/>], for direct ONNX Runtime use; <see cref="MLTransforms.Core.Onnx.OnnxGraphForm.Row"/>:
    /// [<see cref="InputSize"/>] to [<see cref="OutputSize"/>], what ML.NET's <c>ApplyOnnxModel</c> needs to give a
    /// <c>Vector&lt;Single, OutputSize&gt;</c> column.</param>
    /// <param name="inputName">Name of the graph input; default <see cref="InputColumnName"/>.</param>
    /// <param name="outputName">Name of the graph output; default <see cref="OutputColumnName"/>, or
    /// <c>OutputColumnName + ".output"</c> when that equals the input name (ONNX names must be distinct).</param>
    public byte[] ToOnnxBytes(MLTransforms.Core.Onnx.OnnxGraphForm form = MLTransforms.Core.Onnx.OnnxGraphForm.Batched,
        string? inputName = null, string? outputName = null)
        => Google.Protobuf.MessageExtensions.ToByteArray(ToOnnxModel(form, inputName, outputName));

    private DataViewSchema BuildOutputSchema(DataViewSchema inputSchema)
    {
        var builder = new DataViewSchema.Builder();
        builder.AddColumns(inputSchema);
        builder.AddColumn(OutputColumnName, new VectorDataViewType(NumberDataViewType.Single, OutputSize));
        return builder.ToSchema();
    }

    private Delegate MakeGetter(DataViewRow input, DataViewSchema.Column inputColumn)
    {
        var srcGetter = input.GetGetter<VBuffer<float>>(inputColumn);
        var src = default(VBuffer<float>);
        var dense = new float[InputSize];
        var scratch = new float[ScratchSize];
        ValueGetter<VBuffer<float>> getter = (ref VBuffer<float> dst) =>
        {
            srcGetter(ref src);
            if (src.Length != InputSize)
                throw new InvalidOperationException($"Column '{InputColumnName}' has {src.Length} values at row {input.Position}; expected {InputSize}.");
            src.CopyTo(dense);
            SchemaChecks.CheckFinite(dense, InputColumnName, input.Position);
            var editor = VBufferEditor.Create(ref dst, OutputSize);
            Map(dense, editor.Values, scratch);
            dst = editor.Commit();
        };
        return getter;
    }

    /// <summary>The lazy result of <see cref="Transform(IDataView)"/>.</summary>
    private sealed class MappedDataView(VectorTransformer parent, IDataView source) : IDataView
    {
        public DataViewSchema Schema { get; } = parent.GetOutputSchema(source.Schema);
        public bool CanShuffle => source.CanShuffle;
        public long? GetRowCount() => source.GetRowCount();

        public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null)
        {
            var (srcColumns, outputActive) = Split(columnsNeeded);
            return new MappedCursor(parent, Schema, source.GetRowCursor(srcColumns, rand), outputActive);
        }

        public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null)
        {
            var (srcColumns, outputActive) = Split(columnsNeeded);
            return source.GetRowCursorSet(srcColumns, n, rand)
                .Select(c => (DataViewRowCursor)new MappedCursor(parent, Schema, c, outputActive)).ToArray();
        }

        private (List<DataViewSchema.Column> src, bool outputActive) Split(IEnumerable<DataViewSchema.Column> needed)
            => SplitColumns(parent, source.Schema, needed);
    }

    private static (List<DataViewSchema.Column> src, bool outputActive) SplitColumns(
        VectorTransformer parent, DataViewSchema sourceSchema, IEnumerable<DataViewSchema.Column> needed)
    {
        var src = new List<DataViewSchema.Column>();
        bool outputActive = false;
        foreach (var col in needed)
        {
            if (col.Index == sourceSchema.Count)
                outputActive = true;
            else
                src.Add(sourceSchema[col.Index]);
        }
        if (outputActive)
            src.Add(sourceSchema[parent.InputColumnName]);
        return (src, outputActive);
    }

    /// <summary>A cursor (or, for <see cref="IRowToRowMapper"/>, a single row) over the appended column.</summary>
    private sealed class MappedCursor : DataViewRowCursor
    {
        private readonly DataViewRow _input;
        private readonly DataViewSchema _schema;
        private readonly Delegate? _outputGetter;

        public MappedCursor(VectorTransformer parent, DataViewSchema schema, DataViewRow input, bool outputActive)
        {
            _input = input;
            _schema = schema;
            if (outputActive)
                _outputGetter = parent.MakeGetter(input, input.Schema[parent.InputColumnName]);
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
                ?? throw new InvalidOperationException($"Column '{column.Name}' holds VBuffer<Single>; requested {typeof(TValue).Name}.");
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
                _input.Dispose();
            base.Dispose(disposing);
        }
    }

    private sealed class Mapper(VectorTransformer parent, DataViewSchema inputSchema) : IRowToRowMapper
    {
        public DataViewSchema InputSchema { get; } = inputSchema;
        public DataViewSchema OutputSchema { get; } = parent.BuildOutputSchema(inputSchema);

        public IEnumerable<DataViewSchema.Column> GetDependencies(IEnumerable<DataViewSchema.Column> dependingColumns)
            => SplitColumns(parent, InputSchema, dependingColumns).src.Distinct();

        public DataViewRow GetRow(DataViewRow input, IEnumerable<DataViewSchema.Column> activeColumns)
            => new MappedCursor(parent, OutputSchema, input, activeColumns.Any(c => c.Index == InputSchema.Count));
    }
}
