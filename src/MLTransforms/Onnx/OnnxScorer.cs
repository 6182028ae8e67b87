using System.Runtime.InteropServices;
using Microsoft.ML.OnnxRuntime;
using Onnx;
using MLTransforms.Core.Onnx;
using MLTransforms.Core.Pipeline;

namespace MLTransforms.Onnx;

/// <summary>Settings of an <see cref="OnnxScorer"/>.</summary>
public sealed class OnnxScorerOptions
{
    /// <summary>Threads ONNX Runtime uses inside one operator; 0 (default) lets it choose (one per core).</summary>
    public int IntraOpThreads { get; init; }

    /// <summary>
    /// A hook that configures the session before it is created, e.g. to append an execution provider. The CPU
    /// provider is always there as the fallback. The <c>MLTransforms.Cuda</c> package uses this for CUDA.
    /// </summary>
    public Action<SessionOptions>? ConfigureSession { get; init; }
}

/// <summary>Name, element type and shape of one graph input or output (-1 for a symbolic dimension).</summary>
/// <param name="Name">Tensor name.</param>
/// <param name="ElementType">Element type, e.g. <see cref="float"/>.</param>
/// <param name="Dimensions">Shape; -1 marks a symbolic (batch) dimension.</param>
public sealed record OnnxTensorInfo(string Name, Type ElementType, long[] Dimensions)
{
    /// <inheritdoc/>
    public override string ToString() => $"{Name} ({ElementType.Name} [{string.Join(", ", Dimensions.Select(d => d < 0 ? "N" : d.ToString()))}])";
}

/// <summary>
/// A thin, disposable wrapper over ONNX Runtime's <see cref="InferenceSession"/> for batched scoring of float
/// tensors: inputs and outputs are bound as <see cref="OrtValue"/>s over the caller's memory, so scoring a batch
/// allocates nothing per row and copies nothing. CPU by default.
/// </summary>
/// <remarks>
/// The model is parsed and checked with protobuf before ONNX Runtime sees it, and every call checks names, element
/// types and sizes against the graph, so a damaged file or a wrong input fails with a managed exception that names the
/// file or tensor and gives expected and actual values. An instance may be used from several threads at once
/// (ONNX Runtime sessions are thread-safe for <c>Run</c>).
/// </remarks>
public sealed class OnnxScorer : IDisposable
{
    private readonly InferenceSession _session;
    private readonly SessionOptions _options;
    private readonly Dictionary<string, OnnxTensorInfo> _inputs, _outputs;
    private bool _disposed;

    /// <summary>Loads an <c>.onnx</c> file.</summary>
    /// <param name="modelPath">Path of the model.</param>
    /// <param name="options">Thread count and execution provider; default CPU.</param>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is corrupt, truncated or rejected by ONNX Runtime; the message names it.</exception>
    public OnnxScorer(string modelPath, OnnxScorerOptions? options = null)
        : this(ReadFile(modelPath), options, $"ONNX file '{Path.GetFullPath(modelPath)}'")
    {
    }

    /// <summary>Loads a model from its bytes (e.g. <see cref="VectorTransformer.ToOnnxBytes"/>).</summary>
    /// <param name="model">The serialised model.</param>
    /// <param name="options">Thread count and execution provider; default CPU.</param>
    /// <param name="description">How error messages name the model.</param>
    public OnnxScorer(byte[] model, OnnxScorerOptions? options = null, string description = "in-memory ONNX model")
    {
        ArgumentNullException.ThrowIfNull(model);
        Description = description;
        var proto = OnnxModelCheck.Parse(model, description);
        _options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL };
        try
        {
            if (options?.IntraOpThreads > 0)
                _options.IntraOpNumThreads = options.IntraOpThreads;
            options?.ConfigureSession?.Invoke(_options);
            _session = new InferenceSession(model, _options);
        }
        catch (OnnxRuntimeException e)
        {
            _options.Dispose();
            throw new InvalidDataException($"{description} was rejected by ONNX Runtime: {e.Message}", e);
        }
        _inputs = _session.InputMetadata.ToDictionary(kv => kv.Key, kv => Info(kv.Key, kv.Value));
        _outputs = _session.OutputMetadata.ToDictionary(kv => kv.Key, kv => Info(kv.Key, kv.Value));
        Inputs = proto.Graph.Input.Where(i => _inputs.ContainsKey(i.Name)).Select(i => _inputs[i.Name]).ToArray();
        Outputs = proto.Graph.Output.Select(o => _outputs[o.Name]).ToArray();
    }

    /// <summary>How messages name this model (its path for files).</summary>
    public string Description { get; }

    /// <summary>The graph inputs, in graph order.</summary>
    public IReadOnlyList<OnnxTensorInfo> Inputs { get; }

    /// <summary>The graph outputs, in graph order.</summary>
    public IReadOnlyList<OnnxTensorInfo> Outputs { get; }

    /// <summary>
    /// Scores a batch through a model with one input and one output (e.g. a component's batched graph): rows are
    /// inferred from <paramref name="input"/>'s length; <paramref name="output"/> receives rows x output width values.
    /// </summary>
    /// <param name="input">Row-major input values, a whole number of rows.</param>
    /// <param name="output">Row-major output buffer of exactly rows x output width values.</param>
    /// <returns>The number of rows scored.</returns>
    public int Score(ReadOnlyMemory<float> input, Memory<float> output)
    {
        if (Inputs.Count != 1 || Outputs.Count != 1)
            throw new InvalidOperationException($"{Description} has {Inputs.Count} inputs and {Outputs.Count} outputs; this overload needs exactly one of each. " +
                $"Inputs: {string.Join(", ", Inputs)}. Outputs: {string.Join(", ", Outputs)}.");
        int rows = RowsOf(Inputs[0], input.Length);
        Score(rows, new Dictionary<string, ReadOnlyMemory<float>> { [Inputs[0].Name] = input },
            new Dictionary<string, Memory<float>> { [Outputs[0].Name] = output });
        return rows;
    }

    /// <summary>Scores <paramref name="rows"/> rows: every graph input must be given, as row-major float values; the
    /// requested outputs are written into the given buffers.</summary>
    /// <param name="rows">Batch size N.</param>
    /// <param name="inputs">Values per input name.</param>
    /// <param name="outputs">Buffers per output name (a subset of <see cref="Outputs"/>).</param>
    public void Score(int rows, IReadOnlyDictionary<string, ReadOnlyMemory<float>> inputs, IReadOnlyDictionary<string, Memory<float>> outputs)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(outputs);
        SchemaChecks.CheckOption(rows > 0, nameof(rows), rows, "positive");
        foreach (var expected in Inputs)
            if (!inputs.ContainsKey(expected.Name))
                throw new ArgumentException($"Input '{expected.Name}' of {Description} was not given; expected {expected}. Given: {Names(inputs.Keys)}.", nameof(inputs));
        if (outputs.Count == 0)
            throw new ArgumentException($"No output requested; {Description} has {string.Join(", ", Outputs)}.", nameof(outputs));

        var values = new List<OrtValue>(inputs.Count + outputs.Count);
        try
        {
            var inputValues = new List<OrtValue>(inputs.Count);
            foreach (var (name, data) in inputs)
            {
                var shape = Bind(_inputs, "input", name, rows, data.Length, nameof(inputs));
                var v = OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, MemoryMarshal.AsMemory(data), shape);
                values.Add(v);
                inputValues.Add(v);
            }
            var outputValues = new List<OrtValue>(outputs.Count);
            foreach (var (name, buffer) in outputs)
            {
                var shape = Bind(_outputs, "output", name, rows, buffer.Length, nameof(outputs));
                var v = OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, buffer, shape);
                values.Add(v);
                outputValues.Add(v);
            }
            using var runOptions = new RunOptions();
            _session.Run(runOptions, inputs.Keys.ToArray(), inputValues, outputs.Keys.ToArray(), outputValues);
        }
        catch (OnnxRuntimeException e)
        {
            throw new InvalidOperationException($"ONNX Runtime failed to score {rows} rows with {Description}: {e.Message}", e);
        }
        finally
        {
            foreach (var v in values) v.Dispose();
        }
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _session.Dispose();
        _options.Dispose();
    }

    private long[] Bind(Dictionary<string, OnnxTensorInfo> known, string kind, string name, int rows, int length, string parameter)
    {
        if (!known.TryGetValue(name, out var info))
            throw new ArgumentException($"{Description} has no {kind} named '{name}'; its {kind}s: {string.Join(", ", known.Values)}.", parameter);
        if (info.ElementType != typeof(float))
            throw new ArgumentException($"{char.ToUpperInvariant(kind[0])}{kind[1..]} '{name}' of {Description} holds {info.ElementType.Name}, not Single: expected {info}; this scorer binds float tensors only.", parameter);
        var shape = Shape(info, rows);
        long expected = shape.Aggregate(1L, (a, b) => a * b);
        if (length != expected)
            throw new ArgumentException($"{char.ToUpperInvariant(kind[0])}{kind[1..]} '{name}' of {Description} expects {info}: for {rows} rows that is {expected} values ({expected / rows} per row); got {length}.", parameter);
        return shape;
    }

    private int RowsOf(OnnxTensorInfo info, int length)
    {
        if (info.ElementType != typeof(float))
            throw new ArgumentException($"Input '{info.Name}' of {Description} holds {info.ElementType.Name}, not Single: expected {info}.", "input");
        long width = Shape(info, 1).Aggregate(1L, (a, b) => a * b);
        if (length == 0 || length % width != 0)
            throw new ArgumentException($"Input '{info.Name}' of {Description} expects {info}, rows of {width} values; got {length} values, which is not a whole positive number of rows.", "input");
        return checked((int)(length / width));
    }

    /// <summary>The concrete shape for <paramref name="rows"/> rows: the first dimension takes the batch; rank-1 graphs take one row.</summary>
    private long[] Shape(OnnxTensorInfo info, int rows)
    {
        var dims = info.Dimensions;
        if (dims.Length == 1 && dims[0] >= 0)
        {
            if (rows != 1)
                throw new ArgumentException($"'{info.Name}' of {Description} is a single row {info}; got {rows} rows. Use the batched graph ([N, d]) for batches.");
            return [dims[0]];
        }
        var shape = new long[dims.Length];
        for (int i = 0; i < dims.Length; i++)
        {
            if (i == 0) shape[0] = dims[0] < 0 ? rows : dims[0];
            else if (dims[i] < 0)
                throw new NotSupportedException($"'{info.Name}' of {Description} is {info}: only the first dimension may be symbolic for this scorer.");
            else shape[i] = dims[i];
        }
        if (dims.Length > 0 && dims[0] >= 0 && dims[0] != rows)
            throw new ArgumentException($"'{info.Name}' of {Description} has a fixed batch {info}; got {rows} rows.");
        return shape;
    }

    private static OnnxTensorInfo Info(string name, NodeMetadata m)
        => new(name, m.ElementType, m.Dimensions.Select(d => (long)d).ToArray());

    private static string Names(IEnumerable<string> names) => string.Join(", ", names.Select(n => $"'{n}'"));

    private static byte[] ReadFile(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        if (!File.Exists(path))
            throw new FileNotFoundException($"ONNX file '{Path.GetFullPath(path)}' does not exist.", path);
        return File.ReadAllBytes(path);
    }
}
