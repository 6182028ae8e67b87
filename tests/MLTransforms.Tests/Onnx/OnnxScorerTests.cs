using System.IO.Compression;
using Microsoft.ML;
using MLTransforms.Onnx;
using MLTransforms.OnnxGolden;

namespace MLTransforms.Tests.Onnx;

public class OnnxScorerTests
{
    private static ExampleAffineMap Affine(int rows = 30, int k = 6)
    {
        var ml = new MLContext(1);
        return new ExampleAffineMapEstimator(ml, "P", "Features", k, seed: 2).Fit(ml.Data.LoadFromEnumerable(OnnxTestData.Digits(rows)));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    public void BatchedScoringMatchesTheCSharpMap(int threads)
    {
        var t = Affine();
        var rows = OnnxTestData.Digits(40);
        using var scorer = new OnnxScorer(t.ToOnnxBytes(), new OnnxScorerOptions { IntraOpThreads = threads });
        Assert.Equal("Features (Single [N, 64])", scorer.Inputs.Single().ToString());
        var x = rows.SelectMany(r => r.Features).ToArray();
        var y = new float[40 * 6];
        Assert.Equal(40, scorer.Score(x, y));
        for (int r = 0; r < 40; r++)
        {
            var expected = t.Transform(rows[r].Features);
            for (int j = 0; j < 6; j++) Assert.Equal(expected[j], y[r * 6 + j], 1e-4f);
        }
        // The same buffers again: no state leaks between calls.
        Array.Clear(y);
        scorer.Score(x, y);
        Assert.Equal(t.Transform(rows[39].Features)[5], y[^1], 1e-4f);
    }

    [Fact]
    public void OneScorerServesManyThreadsAtOnce()
    {
        var t = Affine();
        using var scorer = new OnnxScorer(t.ToOnnxBytes(), new OnnxScorerOptions { IntraOpThreads = 1 });
        var rows = OnnxTestData.Digits(64);
        var x = rows.SelectMany(r => r.Features).ToArray();
        var expected = new float[64 * 6];
        t.Transform(x, expected);
        Parallel.For(0, 8, i =>
        {
            var y = new float[64 * 6];
            for (int rep = 0; rep < 20; rep++)
            {
                scorer.Score(x, y);
                for (int j = 0; j < y.Length; j++) Assert.Equal(expected[j], y[j], 1e-4f);
            }
        });
    }

    [Fact]
    public void WrongWidthNameTypeAndMissingInputsAreNamed()
    {
        var t = Affine();
        using var scorer = new OnnxScorer(t.ToOnnxBytes());
        var width = Assert.Throws<ArgumentException>(() => scorer.Score(new float[63 * 2], new float[12]));
        Assert.Contains("'Features'", width.Message);
        Assert.Contains("[N, 64]", width.Message);
        Assert.Contains("got 126 values", width.Message);

        var outLength = Assert.Throws<ArgumentException>(() => scorer.Score(new float[64 * 2], new float[11]));
        Assert.Contains("'P'", outLength.Message);
        Assert.Contains("12 values", outLength.Message);
        Assert.Contains("got 11", outLength.Message);

        var name = Assert.Throws<ArgumentException>(() => scorer.Score(1,
            new Dictionary<string, ReadOnlyMemory<float>> { ["Features"] = new float[64], ["Pixels"] = new float[64] },
            new Dictionary<string, Memory<float>> { ["P"] = new float[6] }));
        Assert.Contains("no input named 'Pixels'", name.Message);
        Assert.Contains("Features (Single [N, 64])", name.Message);

        var missing = Assert.Throws<ArgumentException>(() => scorer.Score(1,
            new Dictionary<string, ReadOnlyMemory<float>>(), new Dictionary<string, Memory<float>> { ["P"] = new float[6] }));
        Assert.Contains("Input 'Features'", missing.Message);
        Assert.Contains("was not given", missing.Message);

        // A pipeline export with a Boolean label input: feeding it floats is refused with both types named.
        var ml = new MLContext(1);
        var (model, data) = OnnxPersistenceTests.FitMixedPipeline(ml, 100);
        using var pipeline = new OnnxScorer(Google.Protobuf.MessageExtensions.ToByteArray(ml.Model.ExportToOnnxModel(model, data)));
        var type = Assert.Throws<ArgumentException>(() => pipeline.Score(1,
            new Dictionary<string, ReadOnlyMemory<float>> { ["Features"] = new float[64], ["Label"] = new float[1] },
            new Dictionary<string, Memory<float>> { ["Score.output"] = new float[1] }));
        Assert.Contains("'Label'", type.Message);
        Assert.Contains("Boolean", type.Message);
        Assert.Contains("not Single", type.Message);
    }

    [Fact]
    public void CorruptTruncatedOrEmptyOnnxFilesFailWithThePath()
    {
        var dir = OnnxTestData.TempDir();
        try
        {
            var good = Affine().ToOnnxBytes();
            var cases = new Dictionary<string, byte[]>
            {
                ["truncated.onnx"] = good[..(good.Length / 2)],
                ["garbage.onnx"] = Enumerable.Range(0, 5000).Select(i => (byte)(i * 7919 % 251)).ToArray(),
                ["empty.onnx"] = [],
                ["text.onnx"] = "not a model at all"u8.ToArray(),
            };
            foreach (var (file, bytes) in cases)
            {
                var path = Path.Combine(dir, file);
                File.WriteAllBytes(path, bytes);
                var ex = Assert.Throws<InvalidDataException>(() => new OnnxScorer(path));
                Assert.Contains(path, ex.Message);
            }
            Assert.Throws<FileNotFoundException>(() => new OnnxScorer(Path.Combine(dir, "missing.onnx")));
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public void CorruptOrTruncatedModelZipFailsWithThePath()
    {
        var ml = new MLContext(1);
        var data = ml.Data.LoadFromEnumerable(OnnxTestData.Digits(20));
        var t = Affine();
        var dir = OnnxTestData.TempDir();
        try
        {
            var zip = Path.Combine(dir, "model.zip");
            ml.Model.Save(t, data.Schema, zip);
            var loaded = ml.Model.LoadChecked(zip, out _);
            Assert.NotNull(loaded.Transform(data).Schema.GetColumnOrNull("P"));

            var bytes = File.ReadAllBytes(zip);
            var truncated = Path.Combine(dir, "truncated.zip");
            File.WriteAllBytes(truncated, bytes[..(bytes.Length * 2 / 3)]);
            var ex = Assert.Throws<InvalidDataException>(() => ml.Model.LoadChecked(truncated, out _));
            Assert.Contains(truncated, ex.Message);

            // A well-formed zip whose ONNX graph entry was cut short.
            var damaged = Path.Combine(dir, "damaged-graph.zip");
            File.Copy(zip, damaged);
            using (var archive = ZipFile.Open(damaged, ZipArchiveMode.Update))
            {
                var entry = archive.Entries.Single(e => e.Name == "OnnxModel");
                using var content = new MemoryStream();
                using (var s = entry.Open()) s.CopyTo(content);
                var name = entry.FullName;
                entry.Delete();
                using var w = archive.CreateEntry(name).Open();
                w.Write(content.ToArray().AsSpan(0, (int)content.Length / 2));
            }
            ex = Assert.Throws<InvalidDataException>(() => ml.Model.LoadChecked(damaged, out _));
            Assert.Contains(damaged, ex.Message);
            Assert.Contains("OnnxModel", ex.Message);
            Assert.Contains("truncated", ex.Message);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }
}
