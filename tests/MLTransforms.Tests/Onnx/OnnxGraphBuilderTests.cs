using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using MLTransforms.Onnx;
using MLTransforms.Core.Onnx;

namespace MLTransforms.Tests.Onnx;

public class OnnxGraphBuilderTests
{
    [Fact]
    public void BuiltGraphRunsInOnnxRuntime()
    {
        var g = new OnnxGraphBuilder();
        g.AddInput("X", null, 2);
        var w = g.AddInitializer("w", [1f, 2f, 3f, 4f, 5f, 6f], 2, 3);
        var y = g.AddNode("MatMul", ["X", w]);
        g.AddNode("Cos", [y], "Y");
        g.AddOutput("Y", null, 3);
        using var session = new InferenceSession(g.ToModel().ToByteArray());
        var x = new DenseTensor<float>(new[] { 1f, -1f, 0.5f, 2f }, [2, 2]);
        using var results = session.Run([NamedOnnxValue.CreateFromTensor("X", x)]);
        var outp = results.First().AsTensor<float>().ToArray();
        float[] expected = [MathF.Cos(1 - 4), MathF.Cos(2 - 5), MathF.Cos(3 - 6), MathF.Cos(0.5f + 8), MathF.Cos(1 + 10), MathF.Cos(1.5f + 12)];
        for (int i = 0; i < 6; i++) Assert.Equal(expected[i], outp[i], 1e-5);
    }
}
