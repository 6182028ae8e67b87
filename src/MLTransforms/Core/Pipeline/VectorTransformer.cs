using Microsoft.ML;
using Microsoft.ML.Data;
using MLTransforms.Core.Onnx;
using MLTransforms.Onnx;

namespace MLTransforms.Core.Pipeline;

/// <summary>
/// Base class of every fitted vector-to-vector MLTransforms component: reads one known-size <see cref="float"/>
/// vector column and appends one known-size <see cref="float"/> vector column.
/// </summary>
/// <remarks>
/// <para>Derived classes supply only the per-row mathematics (<see cref="Map"/>) and its ONNX graph
/// (<see cref="BuildOnnx"/>). This class adds to <see cref="RowMappingTransformer"/>'s pipeline plumbing the vector
/// schema checks, NaN / infinity checks that name the column and the row, batch use outside a pipeline, ONNX export
/// and saving through ONNX.</para>
/// <para>A fitted transformer is immutable; every cursor and getter owns its buffers, so one instance can serve
/// many threads at once.</para>
/// </remarks>
public abstract class VectorTransformer : RowMappingTransformer
{
    /// <summary>Initialises the column names and sizes.</summary>
    /// <param name="outputColumnName">Name of the appended column.</param>
    /// <param name="inputColumnName">Name of the input column.</param>
    /// <param name="inputSize">Length of the input vector the transformer was fitted on.</param>
    /// <param name="outputSize">Length of the output vector.</param>
    protected VectorTransformer(string outputColumnName, string inputColumnName, int inputSize, int outputSize)
        : base(outputColumnName, inputColumnName)
    {
        SchemaChecks.CheckOption(inputSize > 0, nameof(inputSize), inputSize, "positive");
        SchemaChecks.CheckOption(outputSize > 0, nameof(outputSize), outputSize, "positive");
        InputSize = inputSize;
        OutputSize = outputSize;
    }

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
    /// <exception cref="InvalidOperationException">An input value is not finite, or the output overflows the Single range (names the input size and magnitude).</exception>
    public float[] Transform(ReadOnlySpan<float> input)
    {
        if (input.Length != InputSize)
            throw new ArgumentException($"Input for column '{InputColumnName}' has {input.Length} values; expected {InputSize}.", nameof(input));
        SchemaChecks.CheckFinite(input, InputColumnName, 0);
        var output = new float[OutputSize];
        Map(input, output, ScratchSize == 0 ? Span<float>.Empty : new float[ScratchSize]);
        SchemaChecks.CheckFiniteOutput(output, input, OutputColumnName, 0);
        return output;
    }

    /// <summary>Applies the transformer to a batch of row-major vectors (no allocation per row), outside any pipeline.</summary>
    /// <param name="inputRows">Whole rows of <see cref="InputSize"/> finite values each.</param>
    /// <param name="outputRows">Receives the same number of rows of <see cref="OutputSize"/> values.</param>
    /// <exception cref="InvalidOperationException">An input value is not finite, or an output row overflows the Single range (names the row, the input size and magnitude).</exception>
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
            var mapped = outputRows.Slice(r * OutputSize, OutputSize);
            Map(row, mapped, scratch);
            SchemaChecks.CheckFiniteOutput(mapped, row, OutputColumnName, r);
        }
    }

    /// <inheritdoc/>
    protected override DataViewType OutputType => new VectorDataViewType(NumberDataViewType.Single, OutputSize);

    /// <inheritdoc/>
    protected override void CheckInputSchema(DataViewSchema inputSchema) => SchemaChecks.CheckVectorColumn(inputSchema, InputColumnName, InputSize);

    /// <summary>
    /// Writes this transformer into <paramref name="ctx"/>. The default writes an equivalent ML.NET
    /// <c>OnnxTransformer</c> built from this transformer's own row graph (<see cref="ToOnnxBytes"/>), so
    /// <c>mlContext.Model.Save</c> works and <c>mlContext.Model.Load</c> needs only ML.NET and ONNX Runtime, not
    /// this library. See <see cref="MLTransforms.Onnx.OnnxPersistence"/> for the one visible difference after loading.
    /// </summary>
    /// <param name="ctx">ML.NET's save context.</param>
    protected override void SaveModel(ModelSaveContext ctx) => MLTransforms.Onnx.OnnxPersistence.Save(this, ctx);

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
    /// <param name="inputName">Name of the graph input; default <see cref="RowMappingTransformer.InputColumnName"/>.</param>
    /// <param name="outputName">Name of the graph output; default <see cref="RowMappingTransformer.OutputColumnName"/>, or
    /// <c>OutputColumnName + ".output"</c> when that equals the input name (ONNX names must be distinct).</param>
    public byte[] ToOnnxBytes(MLTransforms.Core.Onnx.OnnxGraphForm form = MLTransforms.Core.Onnx.OnnxGraphForm.Batched,
        string? inputName = null, string? outputName = null)
        => Google.Protobuf.MessageExtensions.ToByteArray(ToOnnxModel(form, inputName, outputName));

    /// <inheritdoc/>
    protected sealed override Delegate MakeGetter(DataViewRow input, DataViewRowCursor? readAhead)
    {
        var srcGetter = input.GetGetter<VBuffer<float>>(input.Schema[InputColumnName]);
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
            SchemaChecks.CheckFiniteOutput(editor.Values, dense, OutputColumnName, input.Position);
            dst = editor.Commit();
        };
        return getter;
    }
}
