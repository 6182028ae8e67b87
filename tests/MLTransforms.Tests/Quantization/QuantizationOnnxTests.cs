using Microsoft.ML.OnnxRuntime;
using MLTransforms.Quantization;
using static MLTransforms.Tests.Quantization.QuantizationTestData;

namespace MLTransforms.Tests.Quantization;

public class QuantizationOnnxTests
{
    public static TheoryData<int, int> Cases => new() { { 1, 384 }, { 2, 384 }, { 3, 384 }, { 4, 384 }, { 8, 100 }, { 4, 37 }, { 3, 37 }, { 1, 64 } };

    /// <summary>Thousands of random vectors (and hard cases: the mean itself, grid ties, one-hot and constant vectors):
    /// ONNX Runtime's code bytes equal C#'s exactly; the scalars agree to float rounding.</summary>
    [Theory]
    [MemberData(nameof(Cases))]
    public void OnnxRuntimeCodesEqualCSharpCodesExactly(int bits, int dim)
    {
        const int fitRows = 500;
        var fit = SyntheticEmbeddings(fitRows, dim, seed: 21);
        var q = EmbeddingQuantizer.Fit(fit, fitRows, dim, new EmbeddingQuantizerOptions { Bits = bits, Seed = 17 });
        int rows = bits == 8 ? 1500 : 3000;
        var data = SyntheticEmbeddings(rows, dim, seed: 22, meanWeight: 0.5);
        var rng = new Random(5);
        float unit = MathF.ScaleB(1f, -q.GridExponent);
        for (int i = 0; i < dim; i++) data[i] = q.Mean[i];                                    // row 0: the mean (N = 0)
        for (int i = 0; i < dim; i++) data[dim + i] = q.Mean[i] + (rng.Next(-40, 40) + 0.5f) * unit; // row 1: every value a rounding tie
        Array.Clear(data, 2 * dim, dim); data[2 * dim + 3] = 1;                              // row 2: one-hot
        for (int i = 0; i < dim; i++) data[3 * dim + i] = 0.05f;                             // row 3: constant
        for (int i = 0; i < dim; i++) data[4 * dim + i] = q.Mean[i] + (i == 0 ? unit : 0);  // row 4: one grid step from the mean

        var transformer = new EmbeddingQuantizerTransformer("Codes", "E", q);
        using var session = new InferenceSession(transformer.ToOnnxBytes());
        int width = q.CodeRowSize;
        var expected = new float[rows * width];
        transformer.Transform(data, expected);
        const int chunk = 500;
        for (int start = 0; start < rows; start += chunk)
        {
            int n = Math.Min(chunk, rows - start);
            using var input = OrtValue.CreateTensorValueFromMemory(data.AsSpan(start * dim, n * dim).ToArray(), [n, dim]);
            using var runOptions = new RunOptions(); // kept alive through Run: an inline one can be finalized mid-run
            using var outputs = session.Run(runOptions, ["E"], [input], ["Codes"]);
            var actual = outputs[0].GetTensorDataAsSpan<float>();
            for (int r = 0; r < n; r++)
            {
                var e = expected.AsSpan((start + r) * width, width);
                var a = actual.Slice(r * width, width);
                for (int i = 0; i < q.CodeBytes; i++)
                    Assert.True(e[i] == a[i], $"{bits} bits, d {dim}, row {start + r}, code byte {i}: ORT {a[i]}, C# {e[i]}");
                for (int i = q.CodeBytes; i < width; i++)
                    Assert.True(MathF.Abs(e[i] - a[i]) <= 1e-5f * Math.Max(1, MathF.Abs(e[i])), $"row {start + r}, scalar {i - q.CodeBytes}: ORT {a[i]}, C# {e[i]}");
            }
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(8)]
    public void OnnxDecoderMatchesCSharp(int bits)
    {
        const int dim = 48, rows = 300;
        var data = SyntheticEmbeddings(rows, dim, seed: 23);
        var q = EmbeddingQuantizer.Fit(data, rows, dim, new EmbeddingQuantizerOptions { Bits = bits, Seed = 2 });
        var codes = new float[rows * q.CodeRowSize];
        new EmbeddingQuantizerTransformer("C", "E", q).Transform(data, codes);
        var decoder = new EmbeddingQuantizerTransformer("C", "E", q).CreateDecoder("D", "C");
        var expected = new float[rows * dim];
        decoder.Transform(codes, expected);
        using var session = new InferenceSession(decoder.ToOnnxBytes());
        using var input = OrtValue.CreateTensorValueFromMemory(codes, [rows, q.CodeRowSize]);
        using var runOptions = new RunOptions(); // kept alive through Run: an inline one can be finalized mid-run
        using var outputs = session.Run(runOptions, ["C"], [input], ["D"]);
        var actual = outputs[0].GetTensorDataAsSpan<float>();
        for (int i = 0; i < expected.Length; i++)
            Assert.True(MathF.Abs(expected[i] - actual[i]) < 1e-5f, $"value {i}: ORT {actual[i]}, C# {expected[i]}");
    }
}
