using Google.Protobuf;
using Microsoft.ML;
using MLTransforms.Onnx;
using MLTransforms.OnnxGolden;
using Onnx;

namespace MLTransforms.Tests.Onnx;

public class GoldenGraphTests
{
    private const string Regenerate = "Regenerate with `dotnet run --project tools/MLTransforms.OnnxGolden` and review the diff.";

    public static TheoryData<string> Names()
    {
        var data = new TheoryData<string>();
        foreach (var g in GoldenGraphs.All) data.Add(g.Name);
        return data;
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void GoldenGraphHasNotDriftedAndMatchesTheCSharpMap(string name)
    {
        var entry = GoldenGraphs.All.Single(g => g.Name == name);
        var (component, fresh) = GoldenGraphs.Render(entry);
        var path = TestData.Repo($"onnx/{name}.onnx");
        Assert.True(File.Exists(path), $"Golden graph {path} is missing. {Regenerate}");
        var stored = ModelProto.Parser.ParseFrom(File.ReadAllBytes(path));
        var drift = Difference(stored, fresh);
        Assert.True(drift is null, $"Golden graph '{name}' drifted: {drift}. {Regenerate}");

        // The stored graph, run in ONNX Runtime, equals the C# implementation on fresh rows.
        const int rows = 16;
        var x = Enumerable.Range(0, rows).SelectMany(r => GoldenGraphs.Synthetic(component.InputSize, 1000 + r, 2)).ToArray();
        var y = new float[rows * component.OutputSize];
        using var scorer = new OnnxScorer(path);
        Assert.Equal(rows, scorer.Score(x, y));
        for (int r = 0; r < rows; r++)
        {
            var expected = component.Transform(x.AsSpan(r * component.InputSize, component.InputSize));
            for (int j = 0; j < expected.Length; j++)
                Assert.True(MathF.Abs(expected[j] - y[r * component.OutputSize + j]) <= 1e-4f * MathF.Max(1, MathF.Abs(expected[j])),
                    $"{name}: row {r}, output {j}: C# {expected[j]}, ONNX Runtime {y[r * component.OutputSize + j]}");
        }
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void EveryComponentSavesLoadsAndExportsThroughTheOneMechanism(string name)
    {
        var component = GoldenGraphs.All.Single(g => g.Name == name).Create();
        var ml = new MLContext(1);
        var data = GoldenGraphs.Data(ml, component.InputSize, 1, rows: 50, stream: 7);
        var expected = OnnxTestData.Column(component.Transform(data), "Y");

        // Save / Load: the reloaded stand-in gives Vector<Single, k> and the same values.
        using var stream = new MemoryStream();
        ml.Model.Save(component, data.Schema, stream);
        stream.Position = 0;
        var reloaded = new MLContext(2).Model.Load(stream, out _).Transform(data);
        Assert.Equal(new Microsoft.ML.Data.VectorDataViewType(Microsoft.ML.Data.NumberDataViewType.Single, component.OutputSize), reloaded.Schema["Y"].Type);
        float reloadDiff = OnnxTestData.MaxAbsDiff(expected, OnnxTestData.Column(reloaded, "Y"));
        Assert.True(reloadDiff <= 1e-5f, $"{name}: reloaded max abs diff {reloadDiff}");

        // Whole-pipeline export of the component alone: raw input X, output Y.output.
        var onnx = ml.Model.ExportToOnnxModel(component, data, new OnnxExportOptions { OutputColumns = ["Y"] });
        Assert.Equal(["X"], onnx.Graph.Input.Select(i => i.Name));
        using var scorer = new OnnxScorer(onnx.ToByteArray());
        var x = OnnxTestData.Column(data, "X").SelectMany(r => r).ToArray();
        var y = new float[50 * component.OutputSize];
        scorer.Score(x, y);
        var actual = Enumerable.Range(0, 50).Select(r => y.AsSpan(r * component.OutputSize, component.OutputSize).ToArray()).ToArray();
        float exportDiff = OnnxTestData.MaxAbsDiff(expected, actual);
        Assert.True(exportDiff <= 1e-4f, $"{name}: exported max abs diff {exportDiff}");
    }

    [Fact]
    public void ReadmeListsEveryGoldenGraph()
    {
        var rendered = GoldenGraphs.All.Select(e => { var (c, m) = GoldenGraphs.Render(e); return (e, c, m); }).ToList();
        var stored = File.ReadAllText(TestData.Repo("onnx/README.md")).ReplaceLineEndings("\n");
        Assert.True(stored == GoldenGraphs.Readme(rendered).ReplaceLineEndings("\n"), $"onnx/README.md is out of date. {Regenerate}");
        var files = Directory.GetFiles(TestData.Repo("onnx"), "*.onnx").Select(Path.GetFileNameWithoutExtension).Order();
        Assert.Equal(GoldenGraphs.All.Select(g => g.Name).Order(), files);
    }

    /// <summary>Canonical comparison: structure exactly, float initializers within 1e-5 (relative), because seeded
    /// parameters computed with SIMD may differ in the last bits between CPUs; the producer version is ignored.</summary>
    internal static string? Difference(ModelProto expected, ModelProto actual)
    {
        var a = expected.Clone();
        var b = actual.Clone();
        a.ProducerVersion = b.ProducerVersion = "";
        if (a.Graph.Initializer.Count != b.Graph.Initializer.Count)
            return $"{a.Graph.Initializer.Count} initializers stored, {b.Graph.Initializer.Count} generated";
        for (int i = 0; i < a.Graph.Initializer.Count; i++)
        {
            var (ta, tb) = (a.Graph.Initializer[i], b.Graph.Initializer[i]);
            if (ta.DataType != (int)TensorProto.Types.DataType.Float || tb.DataType != ta.DataType || ta.RawData.Length != tb.RawData.Length) continue;
            var fa = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(ta.RawData.Span);
            var fb = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(tb.RawData.Span);
            for (int k = 0; k < fa.Length; k++)
                if (!(MathF.Abs(fa[k] - fb[k]) <= 1e-5f * MathF.Max(1, MathF.Abs(fa[k]))))
                    return $"initializer '{ta.Name}' value {k}: stored {fa[k]}, generated {fb[k]}";
            ta.RawData = tb.RawData = ByteString.Empty;
        }
        if (a.Equals(b)) return null;
        var (na, nb) = (a.Graph.Node.Select(n => n.ToString()).ToList(), b.Graph.Node.Select(n => n.ToString()).ToList());
        for (int i = 0; i < Math.Min(na.Count, nb.Count); i++)
            if (na[i] != nb[i]) return $"node {i}: stored {na[i]}, generated {nb[i]}";
        return na.Count != nb.Count ? $"{na.Count} nodes stored, {nb.Count} generated" : "graph inputs, outputs or metadata differ";
    }

    [Fact]
    public void DriftIsDetected()
    {
        var (_, model) = GoldenGraphs.Render(GoldenGraphs.All[0]);
        var changed = model.Clone();
        var raw = changed.Graph.Initializer[0].RawData.ToByteArray();
        raw[1] ^= 0x40;
        changed.Graph.Initializer[0].RawData = ByteString.CopyFrom(raw);
        Assert.NotNull(Difference(model, changed));
        var renamed = model.Clone();
        renamed.Graph.Node[0].OpType = "Add";
        Assert.NotNull(Difference(model, renamed));
        Assert.Null(Difference(model, model.Clone()));
    }
}
