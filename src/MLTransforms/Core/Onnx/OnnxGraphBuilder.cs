using Google.Protobuf;
using Onnx;

namespace MLTransforms.Core.Onnx;

/// <summary>
/// A small builder of ONNX graphs over OnnxSharp's protobuf classes: fresh names, float and int64 initializers,
/// nodes with attributes, and the final <see cref="ModelProto"/> (opset <see cref="Opset"/>, IR version
/// <see cref="IrVersion"/>, both accepted by ONNX Runtime 1.31).
/// </summary>
public sealed class OnnxGraphBuilder
{
    /// <summary>The default ONNX opset the graphs target.</summary>
    public const int Opset = 21;

    /// <summary>The ONNX IR version written into models.</summary>
    public const int IrVersion = 10;

    private readonly GraphProto _graph = new() { Name = "mltransforms" };
    private readonly HashSet<string> _names;
    private int _counter;

    /// <summary>An empty graph.</summary>
    public OnnxGraphBuilder() => _names = new(StringComparer.Ordinal);

    private OnnxGraphBuilder(HashSet<string> names, string name)
    {
        _names = names;
        _graph.Name = name;
    }

    /// <summary>A builder for a subgraph (a Loop or If body) whose fresh names never collide with this graph's; the
    /// body may read this graph's values by name.</summary>
    internal OnnxGraphBuilder CreateSubgraph(string name) => new(_names, FreshName(name));

    /// <summary>Declares a graph input or output of the given element type, a scalar or of unknown shape (for subgraphs).</summary>
    internal void AddTypedInput(string name, TensorProto.Types.DataType type, bool scalar = false) { Reserve(name); _graph.Input.Add(TypedValue(name, type, scalar)); }

    /// <inheritdoc cref="AddTypedInput"/>
    internal void AddTypedOutput(string name, TensorProto.Types.DataType type, bool scalar = false) { Reserve(name); _graph.Output.Add(TypedValue(name, type, scalar)); }

    private static ValueInfoProto TypedValue(string name, TensorProto.Types.DataType type, bool scalar)
    {
        var tensor = new TypeProto.Types.Tensor { ElemType = (int)type };
        if (scalar) tensor.Shape = new TensorShapeProto();
        return new() { Name = name, Type = new TypeProto { TensorType = tensor } };
    }

    /// <summary>Adds a node with several outputs (e.g. Loop) and returns their names.</summary>
    internal string[] AddMultiOutputNode(string opType, string[] inputs, int outputs, params (string Name, object Value)[] attributes)
    {
        var names = new string[outputs];
        for (int i = 0; i < outputs; i++) names[i] = FreshName(opType.ToLowerInvariant() + "_out");
        AppendNode(opType, inputs, names, attributes);
        return names;
    }

    private void AppendNode(string opType, string[] inputs, string[] outputs, (string Name, object Value)[] attributes)
    {
        var node = new NodeProto { OpType = opType, Name = FreshName("n_" + opType) };
        node.Input.AddRange(inputs);
        node.Output.AddRange(outputs);
        foreach (var (name, value) in attributes)
            node.Attribute.Add(Attribute(name, value));
        _graph.Node.Add(node);
    }

    /// <summary>The graph being built.</summary>
    internal GraphProto Graph => _graph;

    /// <summary>Returns a name not used yet in this graph, starting with <paramref name="hint"/>.</summary>
    public string FreshName(string hint)
    {
        string name = hint;
        while (!_names.Add(name))
            name = $"{hint}_{++_counter}";
        return name;
    }

    /// <summary>Marks <paramref name="name"/> as taken (e.g. the graph's input and output names).</summary>
    public void Reserve(string name) => _names.Add(name);

    /// <summary>Adds a float initializer and returns its name.</summary>
    /// <param name="hint">Name hint.</param>
    /// <param name="values">Row-major values.</param>
    /// <param name="dims">Its shape; the product must equal the number of values.</param>
    public string AddInitializer(string hint, ReadOnlySpan<float> values, params long[] dims)
        => AddRaw(hint, values, TensorProto.Types.DataType.Float, dims);

    /// <summary>Adds an int64 initializer and returns its name.</summary>
    public string AddInitializer(string hint, ReadOnlySpan<long> values, params long[] dims)
        => AddRaw(hint, values, TensorProto.Types.DataType.Int64, dims);

    /// <summary>Adds a double initializer and returns its name (internal: for graphs that need exact integer arithmetic).</summary>
    internal string AddDoubleInitializer(string hint, ReadOnlySpan<double> values, params long[] dims)
        => AddRaw(hint, values, TensorProto.Types.DataType.Double, dims);

    // Raw little-endian bytes: compact, and what ONNX Runtime reads fastest.
    private string AddRaw<T>(string hint, ReadOnlySpan<T> values, TensorProto.Types.DataType type, long[] dims) where T : unmanaged
    {
        CheckCount(values.Length, dims);
        var t = new TensorProto { Name = FreshName(hint), DataType = (int)type };
        t.Dims.AddRange(dims);
        t.RawData = ByteString.CopyFrom(System.Runtime.InteropServices.MemoryMarshal.AsBytes(values));
        _graph.Initializer.Add(t);
        return t.Name;
    }

    /// <summary>Adds a node with one output and returns the output's name.</summary>
    /// <param name="opType">ONNX operator, e.g. <c>MatMul</c>.</param>
    /// <param name="inputs">Input names (use "" for an omitted optional input).</param>
    /// <param name="attributes">Attributes: long, float, string, long[] or float[] values.</param>
    public string AddNode(string opType, string[] inputs, params (string Name, object Value)[] attributes)
        => AddNode(opType, inputs, FreshName(opType.ToLowerInvariant()), attributes);

    /// <summary>Adds a node whose single output has the given name (e.g. the graph output).</summary>
    public string AddNode(string opType, string[] inputs, string output, params (string Name, object Value)[] attributes)
    {
        _names.Add(output);
        AppendNode(opType, inputs, [output], attributes);
        return output;
    }

    /// <summary>Declares a float graph input; a null dimension is symbolic (named <c>N</c>).</summary>
    public void AddInput(string name, params long?[] dims) { Reserve(name); _graph.Input.Add(ValueInfo(name, dims)); }

    /// <summary>Declares a float graph output; a null dimension is symbolic (named <c>N</c>).</summary>
    public void AddOutput(string name, params long?[] dims) { Reserve(name); _graph.Output.Add(ValueInfo(name, dims)); }

    /// <summary>Wraps the graph into a model (the protobuf types stay internal: the public surface is bytes).</summary>
    /// <param name="docString">A description stored in the model.</param>
    internal ModelProto ToModel(string docString = "")
    {
        var model = new ModelProto
        {
            IrVersion = IrVersion,
            ProducerName = "MLTransforms",
            ProducerVersion = typeof(OnnxGraphBuilder).Assembly.GetName().Version?.ToString() ?? "",
            DocString = docString,
            Graph = _graph,
        };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = Opset });
        return model;
    }

    private static ValueInfoProto ValueInfo(string name, long?[] dims)
    {
        var shape = new TensorShapeProto();
        foreach (var d in dims)
            shape.Dim.Add(d is long v ? new TensorShapeProto.Types.Dimension { DimValue = v } : new TensorShapeProto.Types.Dimension { DimParam = "N" });
        return new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)TensorProto.Types.DataType.Float, Shape = shape } },
        };
    }

    private static AttributeProto Attribute(string name, object value)
    {
        var a = new AttributeProto { Name = name };
        switch (value)
        {
            case int i: a.Type = AttributeProto.Types.AttributeType.Int; a.I = i; break;
            case long l: a.Type = AttributeProto.Types.AttributeType.Int; a.I = l; break;
            case float f: a.Type = AttributeProto.Types.AttributeType.Float; a.F = f; break;
            case string s: a.Type = AttributeProto.Types.AttributeType.String; a.S = ByteString.CopyFromUtf8(s); break;
            case long[] ls: a.Type = AttributeProto.Types.AttributeType.Ints; a.Ints.AddRange(ls); break;
            case float[] fs: a.Type = AttributeProto.Types.AttributeType.Floats; a.Floats.AddRange(fs); break;
            case GraphProto g: a.Type = AttributeProto.Types.AttributeType.Graph; a.G = g; break;
            default: throw new ArgumentException($"Attribute '{name}' has unsupported type {value?.GetType().Name ?? "null"}.", nameof(value));
        }
        return a;
    }

    private static void CheckCount(int count, long[] dims)
    {
        long product = 1;
        foreach (var d in dims) product *= d;
        if (product != count)
            throw new ArgumentException($"Initializer shape [{string.Join(", ", dims)}] holds {product} values; got {count}.", nameof(dims));
    }
}
