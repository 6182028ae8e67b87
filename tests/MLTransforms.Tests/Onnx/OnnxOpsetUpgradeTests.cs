using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using MLTransforms.Onnx;
using Onnx;
using MLTransforms.Core.Onnx;

namespace MLTransforms.Tests.Onnx;

public class OnnxOpsetUpgradeTests
{
    private static float[] Run(Action<OnnxGraphBuilder> build, long?[] inputDims, float[] x, long[] shape)
    {
        var g = new OnnxGraphBuilder();
        g.AddInput("X", inputDims);
        build(g);
        g.Graph.Output.Add(new ValueInfoProto { Name = "Y", Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = 1 } } });
        using var session = new InferenceSession(g.ToModel().ToByteArray());
        using var input = OrtValue.CreateTensorValueFromMemory(x, shape);
        using var runOptions = new RunOptions(); // kept alive through Run: an inline one can be finalized mid-run
        using var outputs = session.Run(runOptions, ["X"], [input], ["Y"]);
        return outputs[0].GetTensorDataAsSpan<float>().ToArray();
    }

    private static NodeProto Node(string op, string input, params AttributeProto[] attributes)
    {
        var n = new NodeProto { OpType = op, Name = op, Input = { input }, Output = { "Y" } };
        n.Attribute.AddRange(attributes);
        return n;
    }

    [Fact]
    public void Opset11SoftmaxKeepsItsFlattenedMeaning()
    {
        // Old Softmax(axis = 1) on [2, 2, 3] normalises each batch row over all 6 values; opset 13 would use the last axis.
        var x = Enumerable.Range(0, 12).Select(i => 0.3f * i - 1).ToArray();
        var y = Run(g => OnnxOpsetUpgrade.Add(g, Node("Softmax", "X", new AttributeProto { Name = "axis", Type = AttributeProto.Types.AttributeType.Int, I = 1 }), 11),
            [2, 2, 3], x, [2, 2, 3]);
        for (int b = 0; b < 2; b++)
        {
            var row = x.Skip(6 * b).Take(6).Select(v => MathF.Exp(v)).ToArray();
            for (int i = 0; i < 6; i++) Assert.Equal(row[i] / row.Sum(), y[6 * b + i], 1e-5);
        }
    }

    [Fact]
    public void Opset12UnsqueezeAndReduceSumMoveAxesToInputs()
    {
        var axes = new AttributeProto { Name = "axes", Type = AttributeProto.Types.AttributeType.Ints, Ints = { 1L } };
        var g = new OnnxGraphBuilder();
        var node = Node("ReduceSum", "X", axes, new AttributeProto { Name = "keepdims", Type = AttributeProto.Types.AttributeType.Int, I = 0 });
        OnnxOpsetUpgrade.Add(g, node, 12);
        Assert.Equal(2, node.Input.Count);
        Assert.DoesNotContain(node.Attribute, a => a.Name == "axes");

        var y = Run(b => OnnxOpsetUpgrade.Add(b, Node("ReduceSum", "X", axes.Clone(), new AttributeProto { Name = "keepdims", Type = AttributeProto.Types.AttributeType.Int, I = 0 }), 12),
            [2, 3], [1, 2, 3, 4, 5, 6], [2, 3]);
        Assert.Equal([6f, 15f], y);
        var u = Run(b => OnnxOpsetUpgrade.Add(b, Node("Unsqueeze", "X", new AttributeProto { Name = "axes", Type = AttributeProto.Types.AttributeType.Ints, Ints = { 1L } }), 12),
            [3], [1, 2, 3], [3]);
        Assert.Equal([1f, 2f, 3f], u);
    }
}
