using Google.Protobuf;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using MLTransforms.Onnx;
using MLTransforms.Core.Onnx;
using MLTransforms.Core.Pipeline;
using MLTransforms.Evaluation;

namespace MLTransforms.Tests.Rotations;

/// <summary>Data and helpers shared by the rotation tests.</summary>
internal static class RotationTestData
{
    public sealed class Row
    {
        public float[] Features { get; set; } = [];
        public bool Label { get; set; }
    }

    /// <summary>An IDataView of vectors of size <c>rows[0].Length</c> in column "Features" with a boolean "Label".</summary>
    public static IDataView Load(MLContext ml, float[][] rows, int? size = null)
    {
        var schema = SchemaDefinition.Create(typeof(Row));
        schema["Features"].ColumnType = new VectorDataViewType(NumberDataViewType.Single, size ?? rows[0].Length);
        return ml.Data.LoadFromEnumerable(rows.Select((r, i) => new Row { Features = r, Label = r.Sum() > 0 }), schema);
    }

    public static float[][] Gaussian(int rows, int size, int seed)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, rows).Select(_ => Enumerable.Range(0, size).Select(_ => (float)NextGaussian(rng)).ToArray()).ToArray();
    }

    public static double NextGaussian(Random rng)
        => Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());

    /// <summary>All values of a Single vector column.</summary>
    public static float[][] Column(IDataView data, string name)
    {
        var (values, rows, size) = VectorColumn.Read(data, name);
        return Enumerable.Range(0, rows).Select(r => values.AsSpan(r * size, size).ToArray()).ToArray();
    }

    /// <summary>The first optdigits training rows shipped with the samples (real data, always in the repository).</summary>
    public static float[][] OptDigits(int rows)
        => TestData.ReadClassification(TestData.Repo("data/optdigits/train.csv"), rows).Features;

    /// <summary>The first rows of the SciFact MiniLM corpus embeddings in <c>data/scifact-embeddings</c> (384-d, unit norm).</summary>
    public static float[][] SciFact(int rows)
    {
        var set = RetrievalData.ReadEmbeddings(TestData.Repo("data/scifact-embeddings/corpus.minilm.f32"));
        return Enumerable.Range(0, Math.Min(rows, set.Count)).Select(i => set.Row(i).ToArray()).ToArray();
    }

    /// <summary>Runs the transformer's ONNX graph on <paramref name="rows"/> in ONNX Runtime.</summary>
    public static float[][] RunOnnx(VectorTransformer transformer, float[][] rows)
    {
        var g = new OnnxGraphBuilder();
        g.AddInput("X", null, transformer.InputSize);
        g.AddNode("Identity", [transformer.BuildOnnx(g, "X")], "Y");
        g.AddOutput("Y", null, transformer.OutputSize);
        using var session = new InferenceSession(g.ToModel().ToByteArray());
        var x = new DenseTensor<float>(rows.SelectMany(r => r).ToArray(), [rows.Length, transformer.InputSize]);
        using var results = session.Run([NamedOnnxValue.CreateFromTensor("X", x)]);
        var y = results.First().AsTensor<float>();
        Assert.Equal([rows.Length, transformer.OutputSize], y.Dimensions.ToArray());
        var flat = y.ToArray();
        return Enumerable.Range(0, rows.Length).Select(i => flat.AsSpan(i * transformer.OutputSize, transformer.OutputSize).ToArray()).ToArray();
    }

    public static double Dot(float[] a, float[] b)
    {
        double s = 0;
        for (int i = 0; i < a.Length; i++) s += (double)a[i] * b[i];
        return s;
    }

    public static double SquaredDistance(float[] a, float[] b)
    {
        double s = 0;
        for (int i = 0; i < a.Length; i++) s += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
        return s;
    }
}
