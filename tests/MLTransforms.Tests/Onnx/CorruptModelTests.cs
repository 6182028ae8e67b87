using Microsoft.ML;
using MLTransforms.Onnx;
using Xunit.Abstractions;

namespace MLTransforms.Tests.Onnx;

public class CorruptModelTests(ITestOutputHelper output)
{
    [Fact]
    public void EveryBitFlipInASavedZipRaisesOrLeavesTheOutputsBitIdentical()
    {
        var ml = new MLContext(1);
        var data = ml.Data.LoadFromEnumerable(OnnxTestData.Digits(20));
        var model = ml.Transforms.RandomRotation("R", "Features", seed: 3)
            .Append(ml.Transforms.StructuredRandomProjection("P", "R", outputDimension: 16, seed: 4))
            .Fit(data);
        var dir = OnnxTestData.TempDir();
        try
        {
            var zip = Path.Combine(dir, "model.zip");
            ml.Model.Save(model, data.Schema, zip);
            var expected = OnnxTestData.Column(ml.Model.LoadChecked(zip, out _).Transform(data), "P");
            var bytes = File.ReadAllBytes(zip);
            const int flips = 100;
            int raised = 0, identical = 0;
            for (int i = 0; i < flips; i++)
            {
                // Positions spread over the whole file (local headers, deflated data, central directory), one bit each.
                int position = (int)((long)i * bytes.Length / flips) + i % 7;
                var damaged = (byte[])bytes.Clone();
                damaged[position] ^= (byte)(1 << (i % 8));
                var path = Path.Combine(dir, $"flip{i}.zip");
                File.WriteAllBytes(path, damaged);
                ITransformer loaded;
                try
                {
                    loaded = ml.Model.LoadChecked(path, out _);
                }
                catch (InvalidDataException e)
                {
                    Assert.Contains(path, e.Message);
                    raised++;
                    continue;
                }
                var actual = OnnxTestData.Column(loaded.Transform(data), "P");
                for (int r = 0; r < expected.Length; r++)
                    Assert.True(expected[r].AsSpan().SequenceEqual(actual[r]), $"flip of bit {i % 8} at byte {position} of {bytes.Length} loaded and changed row {r}");
                identical++;
            }
            output.WriteLine($"{flips} single-bit flips over {bytes.Length} bytes: {raised} raised InvalidDataException, {identical} loaded with bit-identical outputs.");
            Assert.Equal(flips, raised + identical);
            Assert.True(raised > flips / 2, $"only {raised} of {flips} flips were detected");
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }
}
