using Google.Protobuf;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using MLTransforms.Onnx;
using MLTransforms.TimeSeries;
using MLTransforms.Core.Onnx;
using MLTransforms.Core.Pipeline;

namespace MLTransforms.Tests.TimeSeries;

public class OrthoTransTransformerTests
{
    private static readonly Lazy<ForecastSplit> Split = new(() => ForecastSplit.Create(Ett.ETTh1, 48, 24, SplitProtocol.EttHourly));

    private static IDataView Windows(MLContext ml, int take = 3000)
        => ml.Data.TakeRows(Split.Value.Train.ToDataView(ml), take);

    internal static float[] RunOnnx(VectorTransformer transformer, float[] batch, int rows)
    {
        var g = new OnnxGraphBuilder();
        g.AddInput("X", null, transformer.InputSize);
        var y = transformer.BuildOnnx(g, "X");
        g.AddNode("Identity", [y], "Y");
        g.AddOutput("Y", null, transformer.OutputSize);
        using var session = new InferenceSession(g.ToModel().ToByteArray());
        var x = new DenseTensor<float>(batch, [rows, transformer.InputSize]);
        using var results = session.Run([NamedOnnxValue.CreateFromTensor("X", x)]);
        return results.First().AsTensor<float>().ToArray();
    }

    [Fact]
    public void EstimatorFitsFromAWindowColumnWithChannelsLikeTheSeriesFit()
    {
        var ml = new MLContext(1);
        var split = Split.Value;
        var all = split.Train.ToDataView(ml);
        var model = ml.Transforms.OrthoTrans("Z", "Input", new OrthoTransOptions { ChannelColumnName = "Channel" }).Fit(all);
        // Input windows of every train start except the last T + H - 1 rows of each channel: nearly the series fit.
        var fromSeries = OrthoTransBasis.Fit(split.TrainChannels(), 48);
        for (int i = 0; i < 4; i++)
        {
            double cos = Math.Abs(System.Numerics.Tensors.TensorPrimitives.CosineSimilarity(model.Basis.Vector(i), fromSeries.Vector(i)));
            Assert.True(cos > 0.999, $"component {i}: |cos| {cos}");
        }
        Assert.Equal(48, model.Components);
    }

    [Fact]
    public void InverseReconstructsWindowsExactlyAndTruncationIsAProjection()
    {
        var ml = new MLContext(1);
        var data = Windows(ml);
        var full = ml.Transforms.OrthoTrans("Z", "Input").Fit(data);
        var inverse = full.CreateInverse("Back");
        var back = inverse.Transform(full.Transform(data));
        var inputs = back.GetColumn<float[]>("Input").Take(200).ToArray();
        var restored = back.GetColumn<float[]>("Back").Take(200).ToArray();
        for (int r = 0; r < inputs.Length; r++)
            for (int j = 0; j < 48; j++)
                Assert.True(Math.Abs(inputs[r][j] - restored[r][j]) < 1e-4, $"row {r} slot {j}");

        var truncated = ml.Transforms.OrthoTrans("Z", "Input", new OrthoTransOptions { RetainedEnergy = 0.95 }).Fit(data);
        Assert.True(truncated.Components < 48 && truncated.RetainedEnergy >= 0.95, $"k = {truncated.Components}");
        var proj = truncated.CreateInverse("Back").Transform(truncated.Transform(data)).GetColumn<float[]>("Back").Take(200).ToArray();
        // Projecting twice changes nothing, and the residual is orthogonal to the kept components.
        for (int r = 0; r < 50; r++)
        {
            var again = truncated.CreateInverse("B").Transform(truncated.Transform(proj[r]));
            for (int j = 0; j < 48; j++) Assert.True(Math.Abs(again[j] - proj[r][j]) < 1e-4);
            var resid = inputs[r].Zip(proj[r], (a, b) => a - b).ToArray();
            for (int i = 0; i < truncated.Components; i++)
                Assert.True(Math.Abs(System.Numerics.Tensors.TensorPrimitives.Dot(truncated.Basis.Vector(i), resid)) < 1e-4);
        }
    }

    [Fact]
    public void TruncationByCountKeepsTheLeadingCoefficients()
    {
        var ml = new MLContext(1);
        var data = Windows(ml);
        var full = ml.Transforms.OrthoTrans("Z", "Input").Fit(data);
        var top = ml.Transforms.OrthoTrans("Z", "Input", new OrthoTransOptions { Components = 5 }).Fit(data);
        var x = Split.Value.Train.Input(100);
        Assert.Equal(full.Transform(x)[..5], top.Transform(x));
        Assert.Equal(full.RetainedEnergy * top.Basis.RetainedEnergy(5), top.RetainedEnergy, 1e-6);
    }

    public sealed class WindowIn
    {
        [VectorType(48)] public float[] Input { get; set; } = [];
    }

    public sealed class CoefOut
    {
        public float[] Z { get; set; } = [];
    }

    [Fact]
    public void WorksInPredictionEngineAndExportsToOnnx()
    {
        var ml = new MLContext(1);
        var model = ml.Transforms.OrthoTrans("Z", "Input", new OrthoTransOptions { Components = 10 }).Fit(Windows(ml));
        var engine = ml.Model.CreatePredictionEngine<WindowIn, CoefOut>(model);
        var x = Split.Value.Test.Input(7).ToArray();
        Assert.Equal(model.Transform(x), engine.Predict(new WindowIn { Input = x }).Z);

        const int rows = 64;
        var batch = Split.Value.Test.InputArray(Enumerable.Range(0, rows).ToArray());
        var onnx = RunOnnx(model, batch, rows);
        var inv = model.CreateInverse("Back");
        var onnxInv = RunOnnx(inv, onnx, rows);
        for (int r = 0; r < rows; r++)
        {
            var z = model.Transform(batch.AsSpan(r * 48, 48));
            for (int i = 0; i < 10; i++) Assert.True(Math.Abs(z[i] - onnx[r * 10 + i]) < 1e-4);
            var back = inv.Transform(z);
            for (int j = 0; j < 48; j++) Assert.True(Math.Abs(back[j] - onnxInv[r * 48 + j]) < 1e-4);
        }
    }

    [Fact]
    public void WindowColumnOfTheWrongLengthIsRejected()
    {
        var ml = new MLContext(1);
        var model = ml.Transforms.OrthoTrans("Z", "Input").Fit(Windows(ml));
        var other = ForecastSplit.Create(Ett.ETTh1, 32, 24, SplitProtocol.EttHourly).Test.ToDataView(ml);
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => model.Transform(other));
        Assert.Contains("expected Vector<Single, 48>, got Vector<Single, 32>", e.Message);
        Assert.Contains("'Input'", e.Message);
    }

    [Fact]
    public void BadOptionsAreRejected()
    {
        var ml = new MLContext(1);
        Assert.Throws<ArgumentOutOfRangeException>(() => ml.Transforms.OrthoTrans("Z", "Input", new OrthoTransOptions { Components = 0 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => ml.Transforms.OrthoTrans("Z", "Input", new OrthoTransOptions { RetainedEnergy = 1.5 }));
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => ml.Transforms.OrthoTrans("Z", "Input", new OrthoTransOptions { Components = 49 }).Fit(Windows(ml)));
        Assert.Contains("Components", e.Message);
    }
}
