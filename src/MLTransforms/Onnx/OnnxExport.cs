using Google.Protobuf;
using Microsoft.ML;
using Microsoft.ML.Data;
using Onnx;
using MLTransforms.Core.Onnx;
using MLTransforms.Core.Pipeline;

namespace MLTransforms.Onnx;

/// <summary>Settings of <see cref="OnnxExport.ExportToOnnx(ModelOperationsCatalog, ITransformer, IDataView, OnnxExportOptions?)"/>.</summary>
public sealed class OnnxExportOptions
{
    /// <summary>
    /// Columns to expose as graph outputs (each named <c>{column}.output</c>, as ML.NET's converter names them).
    /// <see langword="null"/> (default) exposes every visible column of the pipeline's output, like
    /// <c>ConvertToOnnx</c>. The graph is pruned to what these outputs need, so its inputs are only the raw columns
    /// they depend on (e.g. <c>["Score"]</c> drops the label input).
    /// </summary>
    public IReadOnlyList<string>? OutputColumns { get; init; }
}

/// <summary>
/// Whole-pipeline ONNX export: a fitted ML.NET chain that mixes built-in steps and MLTransforms components (any
/// <see cref="VectorTransformer"/>) becomes one ONNX model whose inputs are the pipeline's raw input columns.
/// </summary>
/// <remarks>
/// <para>ML.NET's own <c>ConvertToOnnx</c> silently exports only the part of a chain after a transformer it does not
/// know. This export splits the chain at every step: built-in steps go through <c>ConvertToOnnx</c> one at a time
/// (opset 12, upgraded to <see cref="OnnxGraphBuilder.Opset"/>), components emit their own graph through
/// <see cref="VectorTransformer.BuildOnnx"/>, and the pieces are joined by column name, with node and initializer names
/// made unique. A step that neither side can export is refused with an exception that names it.</para>
/// <para>Shapes follow ML.NET's converter: every column is a rank-2 tensor [N, size] (scalars [N, 1]).</para>
/// </remarks>
public static class OnnxExport
{
    private const string OutputSuffix = ".output";

    /// <summary>Exports a fitted pipeline to one ONNX model.</summary>
    /// <param name="catalog"><c>mlContext.Model</c>.</param>
    /// <param name="model">The fitted pipeline (a <c>TransformerChain</c>, possibly nested, or a single transformer).</param>
    /// <param name="inputData">Data with the pipeline's input schema (rows are not read by the built-in converters used here).</param>
    /// <param name="options">Output selection; see <see cref="OnnxExportOptions"/>.</param>
    /// <returns>The stitched model, serialised (the content of an <c>.onnx</c> file).</returns>
    /// <exception cref="NotSupportedException">A step cannot be exported; the message names it.</exception>
    public static byte[] ExportToOnnx(this ModelOperationsCatalog catalog, ITransformer model, IDataView inputData, OnnxExportOptions? options = null)
        => catalog.ExportToOnnxModel(model, inputData, options).ToByteArray();

    /// <summary>Exports a fitted pipeline given only its input schema (e.g. the one <c>mlContext.Model.Load</c> returns).</summary>
    /// <param name="catalog"><c>mlContext.Model</c>.</param>
    /// <param name="model">The fitted pipeline.</param>
    /// <param name="inputSchema">The pipeline's input schema.</param>
    /// <param name="options">Output selection; see <see cref="OnnxExportOptions"/>.</param>
    /// <returns>The stitched model, serialised (the content of an <c>.onnx</c> file).</returns>
    public static byte[] ExportToOnnx(this ModelOperationsCatalog catalog, ITransformer model, DataViewSchema inputSchema, OnnxExportOptions? options = null)
        => catalog.ExportToOnnxModel(model, inputSchema, options).ToByteArray();

    /// <summary>The stitched model as a protobuf object (internal: OnnxSharp types stay out of the public API).</summary>
    internal static ModelProto ExportToOnnxModel(this ModelOperationsCatalog catalog, ITransformer model, IDataView inputData, OnnxExportOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(inputData);
        return new Stitcher(catalog).Run(model, inputData, options ?? new OnnxExportOptions());
    }

    /// <summary>The schema-only form of <see cref="ExportToOnnxModel(ModelOperationsCatalog, ITransformer, IDataView, OnnxExportOptions?)"/>.</summary>
    internal static ModelProto ExportToOnnxModel(this ModelOperationsCatalog catalog, ITransformer model, DataViewSchema inputSchema, OnnxExportOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        return catalog.ExportToOnnxModel(model, new EmptyDataView(inputSchema), options);
    }

    /// <summary>Exports a fitted pipeline to one ONNX model and writes it to <paramref name="stream"/>.</summary>
    /// <inheritdoc cref="ExportToOnnx(ModelOperationsCatalog, ITransformer, IDataView, OnnxExportOptions?)"/>
    public static void ExportToOnnx(this ModelOperationsCatalog catalog, ITransformer model, IDataView inputData, Stream stream, OnnxExportOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(stream);
        catalog.ExportToOnnxModel(model, inputData, options).WriteTo(stream);
    }

    /// <summary>Exports a fitted pipeline to an <c>.onnx</c> file.</summary>
    /// <inheritdoc cref="ExportToOnnx(ModelOperationsCatalog, ITransformer, IDataView, OnnxExportOptions?)"/>
    public static void ExportToOnnx(this ModelOperationsCatalog catalog, ITransformer model, IDataView inputData, string path, OnnxExportOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        File.WriteAllBytes(path, catalog.ExportToOnnx(model, inputData, options));
    }

    private sealed record Tensor(string Name, TypeProto Type);

    private sealed class Stitcher(ModelOperationsCatalog catalog)
    {
        private readonly OnnxGraphBuilder _g = new();
        private readonly Dictionary<string, Tensor> _columns = new(StringComparer.Ordinal);
        private readonly Dictionary<string, long> _domains = new(StringComparer.Ordinal) { [""] = OnnxGraphBuilder.Opset };
        private long _irVersion = OnnxGraphBuilder.IrVersion;

        public ModelProto Run(ITransformer model, IDataView inputData, OnnxExportOptions options)
        {
            // The raw inputs, typed exactly as ML.NET's converter types them.
            var raw = Convert(new TransformerChain<ITransformer>(), new OpaqueDataView(inputData), -1);
            foreach (var input in raw.Graph.Input)
            {
                _g.Reserve(input.Name);
                _g.Graph.Input.Add(input.Clone());
                _columns[input.Name] = new Tensor(input.Name, input.Type);
            }

            // Final output names are reserved first so no imported tensor can take them.
            var finalSchema = model.GetOutputSchema(inputData.Schema);
            var outputs = options.OutputColumns ?? finalSchema.Where(c => !c.IsHidden).Select(c => c.Name).ToList();
            foreach (var name in outputs) _g.Reserve(name + OutputSuffix);

            var current = inputData;
            var steps = Flatten(model).ToList();
            for (int i = 0; i < steps.Count; i++)
            {
                var step = steps[i];
                var view = new OpaqueDataView(current);
                DataViewSchema outSchema;
                try { outSchema = step.GetOutputSchema(view.Schema); }
                catch (Exception e) { throw Refuse(i, step, "its input schema does not match: " + e.Message, e); }
                if (step is VectorTransformer component)
                    AddComponent(i, component);
                else
                    AddBuiltIn(i, step, view, outSchema);
                foreach (var name in _columns.Keys.ToList())
                    if (outSchema.GetColumnOrNull(name) is not { IsHidden: false })
                        _columns.Remove(name);
                current = step.Transform(current);
            }

            foreach (var name in outputs)
            {
                if (!_columns.TryGetValue(name, out var t))
                {
                    if (options.OutputColumns is null) continue; // like ConvertToOnnx: columns without an ONNX type are left out
                    throw new ArgumentException(current.Schema.GetColumnOrNull(name) is null
                        ? $"Output column '{name}' is not in the pipeline's output schema."
                        : $"Output column '{name}' has no ONNX form (type {current.Schema[name].Type}).", nameof(options));
                }
                var outName = name + OutputSuffix;
                _g.AddNode("Identity", [t.Name], outName);
                _g.Graph.Output.Add(new ValueInfoProto { Name = outName, Type = t.Type.Clone() });
            }
            Prune(_g.Graph);

            var result = _g.ToModel($"MLTransforms pipeline export: {string.Join(" -> ", steps.Select(Describe))}");
            result.IrVersion = _irVersion;
            foreach (var (domain, version) in _domains.Where(d => d.Key != ""))
                result.OpsetImport.Add(new OperatorSetIdProto { Domain = domain, Version = version });
            return result;
        }

        private void AddComponent(int index, VectorTransformer component)
        {
            if (!_columns.TryGetValue(component.InputColumnName, out var source))
                throw Refuse(index, component, $"it reads column '{component.InputColumnName}', which is not in the ONNX graph (no earlier step could export it)");
            var shape = source.Type.TensorType?.Shape?.Dim;
            if (source.Type.TensorType?.ElemType != (int)TensorProto.Types.DataType.Float || shape is null || shape.Count != 2 || shape[1].DimValue != component.InputSize)
                throw Refuse(index, component, $"column '{component.InputColumnName}' is {DescribeType(source.Type)} in the ONNX graph; expected float [N, {component.InputSize}]");
            var y = OnnxComponentGraph.Emit(component, _g, source.Name);
            _columns[component.OutputColumnName] = new Tensor(y, FloatMatrix(component.OutputSize));
        }

        private void AddBuiltIn(int index, ITransformer step, IDataView input, DataViewSchema outSchema)
        {
            var produced = outSchema.Where(c => !c.IsHidden && input.Schema.GetColumnOrNull(c.Name)?.Index != c.Index)
                .Select(c => $"'{c.Name}' ({c.Type})");
            var sub = Convert(step, input, index, $"it produces {string.Join(", ", produced)} and ");
            long fromVersion = 1;
            foreach (var opset in sub.OpsetImport)
            {
                if (opset.Domain is "" or "ai.onnx") fromVersion = opset.Version;
                else _domains[opset.Domain] = Math.Max(_domains.GetValueOrDefault(opset.Domain), opset.Version);
            }
            if (fromVersion > OnnxGraphBuilder.Opset)
                throw Refuse(index, step, $"ML.NET wrote opset {fromVersion}, newer than {OnnxGraphBuilder.Opset}");
            _irVersion = Math.Max(_irVersion, sub.IrVersion);

            var rename = new Dictionary<string, string>(StringComparer.Ordinal) { [""] = "" };
            var unavailable = new HashSet<string>(StringComparer.Ordinal);
            foreach (var graphInput in sub.Graph.Input)
            {
                if (_columns.TryGetValue(graphInput.Name, out var t)) rename[graphInput.Name] = t.Name;
                else unavailable.Add(graphInput.Name);
            }
            foreach (var init in sub.Graph.Initializer)
            {
                var copy = init.Clone();
                copy.Name = rename[init.Name] = _g.FreshName(init.Name);
                _g.Graph.Initializer.Add(copy);
            }
            var subOutputs = sub.Graph.Output.Select(o => o.Name).ToHashSet(StringComparer.Ordinal);
            foreach (var original in sub.Graph.Node)
            {
                // ML.NET ends every column with an Identity to '{column}.output'; the column is the Identity's input.
                if (original.OpType == "Identity" && original.Domain is "" or "ai.onnx" && subOutputs.Contains(original.Output[0])
                    && rename.TryGetValue(original.Input[0], out var source) && !unavailable.Contains(original.Input[0]))
                {
                    rename[original.Output[0]] = source;
                    continue;
                }
                if (original.Attribute.Any(a => a.G != null || a.Graphs.Count > 0))
                    throw Refuse(index, step, $"its node '{original.Name}' ({original.OpType}) holds a sub-graph, which this export does not rename");
                var node = original.Clone();
                node.Name = _g.FreshName(string.IsNullOrEmpty(node.Name) ? node.OpType : node.Name);
                for (int k = 0; k < node.Input.Count; k++)
                {
                    if (unavailable.Contains(node.Input[k]))
                        throw Refuse(index, step, $"it reads column '{node.Input[k]}', which is not in the ONNX graph");
                    node.Input[k] = rename.TryGetValue(node.Input[k], out var r) ? r
                        : throw Refuse(index, step, $"ML.NET's graph uses tensor '{node.Input[k]}' before defining it");
                }
                for (int k = 0; k < node.Output.Count; k++)
                    node.Output[k] = rename[node.Output[k]] = _g.FreshName(node.Output[k]);
                OnnxOpsetUpgrade.Add(_g, node, fromVersion);
            }

            var exported = new Dictionary<string, Tensor>(StringComparer.Ordinal);
            foreach (var output in sub.Graph.Output)
            {
                if (!output.Name.EndsWith(OutputSuffix, StringComparison.Ordinal) || !rename.TryGetValue(output.Name, out var tensor)) continue;
                exported[output.Name[..^OutputSuffix.Length]] = new Tensor(tensor, output.Type);
            }
            foreach (var col in outSchema)
            {
                if (col.IsHidden) continue;
                var before = input.Schema.GetColumnOrNull(col.Name);
                bool isNew = before is null || before.Value.Index != col.Index || before.Value.IsHidden;
                if (!isNew) continue;
                _columns[col.Name] = exported.TryGetValue(col.Name, out var t) ? t
                    : throw Refuse(index, step, $"it produces column '{col.Name}' ({col.Type}), which ML.NET's ONNX converter does not export");
            }
        }

        private ModelProto Convert(ITransformer step, IDataView input, int index, string what = "")
        {
            using var stream = new MemoryStream();
            try
            {
                catalog.ConvertToOnnx(step, input, stream);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                throw index < 0
                    ? new NotSupportedException($"The pipeline's input columns cannot be expressed in ONNX: {e.Message}", e)
                    : Refuse(index, step, what + "ML.NET's ONNX converter failed: " + e.Message.TrimEnd('.'), e);
            }
            return ModelProto.Parser.ParseFrom(stream.ToArray());
        }

        private static Exception Refuse(int index, ITransformer step, string reason, Exception? inner = null)
            => new NotSupportedException($"Cannot export pipeline step {index} ({Describe(step)}) to ONNX: {reason.TrimEnd('.')}. " +
                "Only ML.NET transforms and trainers that ML.NET's ConvertToOnnx supports and MLTransforms components (VectorTransformer) can be exported.", inner);
    }

    /// <summary>Keeps only the nodes, initializers and inputs the graph outputs depend on.</summary>
    private static void Prune(GraphProto graph)
    {
        var needed = new HashSet<string>(graph.Output.Select(o => o.Name), StringComparer.Ordinal);
        var keep = new List<NodeProto>();
        for (int i = graph.Node.Count - 1; i >= 0; i--)
        {
            var node = graph.Node[i];
            if (!node.Output.Any(needed.Contains)) continue;
            keep.Add(node);
            foreach (var input in node.Input) needed.Add(input);
        }
        keep.Reverse();
        graph.Node.Clear();
        graph.Node.AddRange(keep);
        var inits = graph.Initializer.Where(t => needed.Contains(t.Name)).ToList();
        graph.Initializer.Clear();
        graph.Initializer.AddRange(inits);
        var inputs = graph.Input.Where(t => needed.Contains(t.Name)).ToList();
        graph.Input.Clear();
        graph.Input.AddRange(inputs);
    }

    internal static IEnumerable<ITransformer> Flatten(ITransformer t) =>
        t is IEnumerable<ITransformer> chain ? chain.SelectMany(Flatten) : [t];

    private static string Describe(ITransformer t)
    {
        var type = t.GetType();
        var name = type.Name;
        int tick = name.IndexOf('`');
        return tick < 0 ? name : name[..tick];
    }

    private static TypeProto FloatMatrix(int columns) => new()
    {
        TensorType = new TypeProto.Types.Tensor
        {
            ElemType = (int)TensorProto.Types.DataType.Float,
            Shape = new TensorShapeProto { Dim = { new TensorShapeProto.Types.Dimension { DimParam = "N" }, new TensorShapeProto.Types.Dimension { DimValue = columns } } },
        },
    };

    private static string DescribeType(TypeProto type)
    {
        var t = type.TensorType;
        if (t is null) return "a non-tensor value";
        var dims = t.Shape?.Dim.Select(d => d.DimParam is { Length: > 0 } p ? p : d.DimValue < 0 ? "N" : d.DimValue.ToString()) ?? [];
        return $"{(TensorProto.Types.DataType)t.ElemType} [{string.Join(", ", dims)}]";
    }
}
