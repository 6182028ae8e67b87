using Onnx;

namespace MLTransforms.Core.Onnx;

/// <summary>
/// Rewrites the default-domain nodes of an older-opset graph (ML.NET's converter writes opset 12 at most) so they
/// mean the same at <see cref="OnnxGraphBuilder.Opset"/>: the operators whose signature or semantics changed between.
/// </summary>
internal static class OnnxOpsetUpgrade
{
    private static readonly HashSet<string> ReduceOps =
        ["ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1", "ReduceL2", "ReduceLogSum", "ReduceLogSumExp", "ReduceSumSquare"];

    /// <summary>Appends to <paramref name="graph"/> the node(s) equivalent at the builder's opset to <paramref name="node"/>
    /// written for opset <paramref name="fromVersion"/>; names are already final.</summary>
    public static void Add(OnnxGraphBuilder graph, NodeProto node, long fromVersion)
    {
        bool isDefault = node.Domain is "" or "ai.onnx";
        if (!isDefault || fromVersion >= OnnxGraphBuilder.Opset)
        {
            graph.Graph.Node.Add(node);
            return;
        }
        switch (node.OpType)
        {
            case "Squeeze" or "Unsqueeze" when fromVersion < 13:
            case "ReduceSum" when fromVersion < 13:
            case var op when ReduceOps.Contains(op) && fromVersion < 18:
                MoveIntsToInput(graph, node, "axes");
                break;
            case "Split" when fromVersion < 13:
                if (!MoveIntsToInput(graph, node, "split"))
                    node.Attribute.Add(new AttributeProto { Name = "num_outputs", Type = AttributeProto.Types.AttributeType.Int, I = node.Output.Count });
                break;
            case "Softmax" or "LogSoftmax" or "Hardmax" when fromVersion < 13:
                // Before opset 13 these flattened the input to 2-D at 'axis' (default 1) and normalised whole rows.
                var axisAttr = node.Attribute.FirstOrDefault(a => a.Name == "axis");
                long axis = axisAttr?.I ?? 1;
                var x = node.Input[0];
                var flat = graph.AddNode("Flatten", [x], ("axis", axis));
                var shape = graph.AddNode("Shape", [x]);
                var normalised = graph.AddNode(node.OpType, [flat], ("axis", -1L));
                graph.AddNode("Reshape", [normalised, shape], node.Output[0]);
                return;
        }
        graph.Graph.Node.Add(node);
    }

    /// <summary>Moves an ints attribute into an int64 initializer input (the opset-13/18 form).</summary>
    private static bool MoveIntsToInput(OnnxGraphBuilder graph, NodeProto node, string attribute)
    {
        var a = node.Attribute.FirstOrDefault(x => x.Name == attribute);
        if (a is null) return false;
        node.Attribute.Remove(a);
        var values = a.Ints.ToArray();
        while (node.Input.Count < 1) node.Input.Add("");
        node.Input.Add(graph.AddInitializer(attribute, values, values.Length));
        return true;
    }
}
