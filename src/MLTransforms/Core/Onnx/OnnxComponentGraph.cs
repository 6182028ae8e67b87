using Onnx;
using MLTransforms.Core.Pipeline;

namespace MLTransforms.Core.Onnx;

/// <summary>The two shapes a component's standalone ONNX graph can take.</summary>
public enum OnnxGraphForm
{
    /// <summary>Input [N, d], output [N, k] with a symbolic batch dimension <c>N</c>: for direct ONNX Runtime use.</summary>
    Batched,

    /// <summary>Input [d], output [k]: one row, what ML.NET's <c>ApplyOnnxModel</c> maps to a <c>Vector&lt;Single, k&gt;</c> column.</summary>
    Row,
}

/// <summary>Wraps a component's <see cref="VectorTransformer.BuildOnnx"/> into a standalone model.</summary>
internal static class OnnxComponentGraph
{
    public static ModelProto Build(VectorTransformer t, OnnxGraphForm form, string? inputName, string? outputName)
    {
        string input = inputName ?? t.InputColumnName;
        string output = outputName ?? (t.OutputColumnName == input ? t.OutputColumnName + ".output" : t.OutputColumnName);
        ArgumentException.ThrowIfNullOrWhiteSpace(input, nameof(inputName));
        ArgumentException.ThrowIfNullOrWhiteSpace(output, nameof(outputName));
        if (input == output)
            throw new ArgumentException($"ONNX graph input and output names must differ; both are '{input}'.", nameof(outputName));

        var g = new OnnxGraphBuilder();
        g.Reserve(output);
        string y;
        if (form == OnnxGraphForm.Batched)
        {
            g.AddInput(input, null, t.InputSize);
            y = Emit(t, g, input);
            g.AddOutput(output, null, t.OutputSize);
        }
        else
        {
            g.AddInput(input, t.InputSize);
            var row = g.AddNode("Reshape", [input, g.AddInitializer("row_shape", [1L, t.InputSize], 2)]);
            y = g.AddNode("Reshape", [Emit(t, g, row), g.AddInitializer("vector_shape", [(long)t.OutputSize], 1)]);
            g.AddOutput(output, t.OutputSize);
        }
        Rename(g.Graph, y, output);
        return g.ToModel($"{t.GetType().Name}: {input}[{(form == OnnxGraphForm.Batched ? "N, " : "")}{t.InputSize}] -> {output}[{(form == OnnxGraphForm.Batched ? "N, " : "")}{t.OutputSize}]");
    }

    /// <summary>
    /// Gives a stitched model with one batched input [N, <paramref name="inputSize"/>] and one output
    /// [N, <paramref name="outputSize"/>] the requested names and form (Row: a Reshape on either side).
    /// </summary>
    public static ModelProto Reform(ModelProto model, long inputSize, long outputSize, OnnxGraphForm form, string input, string output)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(input);
        ArgumentException.ThrowIfNullOrWhiteSpace(output);
        if (input == output)
            throw new ArgumentException($"ONNX graph input and output names must differ; both are '{input}'.", nameof(output));
        var g = model.Graph;
        if (g.Input.Count != 1 || g.Output.Count != 1)
            throw new InvalidOperationException($"Expected a graph with one input and one output; it has {g.Input.Count} and {g.Output.Count}.");
        var taken = g.Node.SelectMany(n => n.Input.Concat(n.Output)).Concat(g.Initializer.Select(i => i.Name)).ToHashSet(StringComparer.Ordinal);
        string Fresh(string hint) { var name = hint; for (int i = 1; !taken.Add(name); i++) name = $"{hint}_{i}"; return name; }
        // The old boundary tensors become internal ones with fresh names, so the requested names cannot clash.
        string inner = Fresh("stitched_input"), innerOut = Fresh("stitched_output");
        string oldIn = g.Input[0].Name, oldOut = g.Output[0].Name;
        foreach (var n in g.Node)
        {
            for (int i = 0; i < n.Input.Count; i++) n.Input[i] = n.Input[i] == oldIn ? inner : n.Input[i] == oldOut ? innerOut : n.Input[i];
            for (int i = 0; i < n.Output.Count; i++) if (n.Output[i] == oldOut) n.Output[i] = innerOut;
        }
        taken.Remove(oldIn);
        taken.Remove(oldOut);
        foreach (var name in new[] { input, output })
            if (taken.Contains(name))
                throw new ArgumentException($"ONNX graph name '{name}' is already used inside the graph; choose another.", nameof(input));
        g.Input.Clear();
        g.Output.Clear();
        var b = new OnnxGraphBuilder();
        foreach (var name in taken) b.Reserve(name);
        if (form == OnnxGraphForm.Batched)
        {
            b.AddInput(input, null, inputSize);
            b.AddOutput(output, null, outputSize);
            g.Node.Insert(0, new NodeProto { OpType = "Identity", Name = Fresh("n_identity_input"), Input = { input }, Output = { inner } });
            g.Node.Add(new NodeProto { OpType = "Identity", Name = Fresh("n_identity_output"), Input = { innerOut }, Output = { output } });
        }
        else
        {
            b.AddInput(input, inputSize);
            b.AddOutput(output, outputSize);
            var rowShape = b.AddInitializer("row_shape", [1L, inputSize], 2);
            var vectorShape = b.AddInitializer("vector_shape", [outputSize], 1);
            g.Initializer.AddRange(b.Graph.Initializer);
            g.Node.Insert(0, new NodeProto { OpType = "Reshape", Name = Fresh("n_reshape_input"), Input = { input, rowShape }, Output = { inner } });
            g.Node.Add(new NodeProto { OpType = "Reshape", Name = Fresh("n_reshape_output"), Input = { innerOut, vectorShape }, Output = { output } });
        }
        g.Input.AddRange(b.Graph.Input);
        g.Output.AddRange(b.Graph.Output);
        return model;
    }

    /// <summary>Calls the component's hook and checks it returned a tensor the graph holds.</summary>
    public static string Emit(VectorTransformer t, OnnxGraphBuilder g, string input)
    {
        var y = t.BuildOnnx(g, input);
        if (string.IsNullOrEmpty(y))
            throw new InvalidOperationException($"{t.GetType().Name}.BuildOnnx returned no output name.");
        return y;
    }

    /// <summary>Gives tensor <paramref name="from"/> the name <paramref name="to"/>; adds an Identity when <paramref name="from"/>
    /// is a graph input or initializer (a node cannot rename those).</summary>
    public static void Rename(GraphProto graph, string from, string to)
    {
        if (from == to) return;
        var producer = graph.Node.FirstOrDefault(n => n.Output.Contains(from));
        if (producer is null || graph.Output.Any(o => o.Name == from))
        {
            graph.Node.Add(new NodeProto { OpType = "Identity", Name = "n_identity_" + to, Input = { from }, Output = { to } });
            return;
        }
        foreach (var n in graph.Node)
        {
            for (int i = 0; i < n.Input.Count; i++) if (n.Input[i] == from) n.Input[i] = to;
            for (int i = 0; i < n.Output.Count; i++) if (n.Output[i] == from) n.Output[i] = to;
        }
    }
}
