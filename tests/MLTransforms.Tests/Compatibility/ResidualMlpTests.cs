using Google.Protobuf;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using MLTransforms.Core.Onnx;
using MLTransforms.Embeddings;
using MLTransforms.Evaluation;

namespace MLTransforms.Tests.Compatibility;

public class ResidualMlpTests
{
    [Theory]
    [InlineData(AdapterLoss.Mse, 0.0, AdapterActivation.Gelu)]
    [InlineData(AdapterLoss.Cosine, 0.0, AdapterActivation.Gelu)]
    [InlineData(AdapterLoss.Cosine, 0.7, AdapterActivation.Gelu)]
    [InlineData(AdapterLoss.Mse, 0.5, AdapterActivation.Relu)]
    public void GradientMatchesFiniteDifferences(AdapterLoss loss, double contrastive, AdapterActivation activation)
    {
        const int dx = 5, dy = 4, h = 6, rows = 7;
        var net = new ResidualMlp(dx, dy, h, activation, loss, contrastive, temperature: 0.5);
        var rng = new Random(3);
        var p = AdapterFitTests.Gaussian(rng, net.Parameters).Select(v => v * 0.5f).ToArray();
        var x = AdapterFitTests.Gaussian(rng, rows * dx);
        var y = AdapterFitTests.Gaussian(rng, rows * dy);
        var ws = new ResidualMlp.Workspace(net, rows);
        var grad = new float[net.Parameters];
        net.LossAndGradient(p, x, y, rows, ws, grad);
        double Loss(float[] q) => net.LossAndGradient(q, x, y, rows, ws, default);
        double worst = 0;
        for (int i = 0; i < net.Parameters; i++)
        {
            // ReLU's kink: skip parameters whose step crosses it (the derivative is one-sided there).
            float e = activation == AdapterActivation.Relu ? 1e-3f : 1e-2f;
            var plus = (float[])p.Clone(); plus[i] += e;
            var minus = (float[])p.Clone(); minus[i] -= e;
            double fd = (Loss(plus) - Loss(minus)) / (2 * e);
            double err = Math.Abs(fd - grad[i]) / Math.Max(1e-2, Math.Abs(fd) + Math.Abs(grad[i]));
            if (activation == AdapterActivation.Relu && err > 0.05) continue;
            worst = Math.Max(worst, err);
            Assert.True(err < 2e-2, $"parameter {i}: analytic {grad[i]:G5}, finite difference {fd:G5}");
        }
        Assert.True(worst < 2e-2);
    }

    private const int D = 16;

    public sealed class Pair
    {
        [VectorType(D)] public float[] New { get; set; } = [];
        [VectorType(D)] public float[] Old { get; set; } = [];
    }

    public sealed class MappedRow { public float[] Mapped { get; set; } = []; }

    /// <summary>y = 0.3 x R + tanh(0.5 x M) (+ noise): a linear map cannot fit the second term.</summary>
    private static List<Pair> Nonlinear(int n, int seed = 5)
    {
        var rng = new Random(seed);
        var r = AdapterFitTests.RandomRotation(rng, D);
        var m = AdapterFitTests.Gaussian(rng, D * D);
        var x = AdapterFitTests.Gaussian(rng, n * D);
        var noise = AdapterFitTests.Gaussian(rng, n * D);
        var pairs = new List<Pair>(n);
        for (int i = 0; i < n; i++)
        {
            var xi = x.AsSpan(i * D, D).ToArray();
            var yi = new float[D];
            for (int j = 0; j < D; j++)
            {
                double lin = 0, z = 0;
                for (int k = 0; k < D; k++) { lin += xi[k] * r[k, j]; z += xi[k] * m[k * D + j] * 0.5; }
                yi[j] = (float)(0.3 * lin + Math.Tanh(z) + 0.02 * noise[i * D + j]);
            }
            pairs.Add(new Pair { New = xi, Old = yi });
        }
        return pairs;
    }

    private static EmbeddingAdapterOptions Small(int seed = 7) => new()
    {
        Kind = EmbeddingAdapterKind.ResidualMlp, HiddenSize = 32, LearningRate = 1e-2, MaxEpochs = 30, Patience = 30, BatchSize = 64, Seed = seed,
    };

    private static void AssertSameWeights(EmbeddingAdapterMap a, EmbeddingAdapterMap b)
    {
        Assert.Equal(a.Weights.ToArray(), b.Weights.ToArray());
        Assert.Equal(a.Bias.ToArray(), b.Bias.ToArray());
        Assert.Equal(a.HiddenWeights.ToArray(), b.HiddenWeights.ToArray());
        Assert.Equal(a.HiddenBias.ToArray(), b.HiddenBias.ToArray());
        Assert.Equal(a.HiddenOutputWeights.ToArray(), b.HiddenOutputWeights.ToArray());
    }

    [Fact]
    public void LearnsWhatTheLinearStartCannotAndIsBitIdenticalOnEveryRoute()
    {
        var pairs = Nonlinear(1500);
        var ml = new MLContext(1);
        var data = ml.Data.LoadFromEnumerable(pairs);
        var a = ml.Transforms.EmbeddingAdapter("Mapped", "New", "Old", Small()).Fit(data).Adapter;
        var d = a.Diagnostics;
        Assert.Equal(EmbeddingAdapterKind.ResidualMlp, a.Kind);
        Assert.Equal(32, a.HiddenSize);
        Assert.Equal(7, d.Seed);
        Assert.True(d.BestEpoch > 0, d.ToString());
        // The held-out error of the nonlinear part shrinks: cosine well above the best linear map's.
        Assert.True(d.ValidationCosine > d.LinearValidationCosine + 0.01, d.ToString());

        // Same data, options and seed: the same bits, from a second fit and from the batch API.
        var again = new MLContext(99).Transforms.EmbeddingAdapter("Mapped", "New", "Old", Small()).Fit(data).Adapter;
        AssertSameWeights(a, again);
        var batch = new AdapterPairs(D, D, keepPairs: true);
        foreach (var p in pairs) batch.Add(p.New, p.Old);
        AssertSameWeights(a, batch.Fit(Small()));
        // Another seed, other weights.
        Assert.NotEqual(a.HiddenWeights.ToArray(), batch.Fit(Small(seed: 8)).HiddenWeights.ToArray());
        // A null seed follows the context's seed.
        var o = Small(); o.Seed = null;
        var e1 = new MLContext(3).Transforms.EmbeddingAdapter("Mapped", "New", "Old", o);
        var e2 = new MLContext(3).Transforms.EmbeddingAdapter("Mapped", "New", "Old", o);
        Assert.Equal(e1.Seed, e2.Seed);
        Assert.Null(o.Seed);
    }

    [Theory]
    [InlineData(AdapterActivation.Gelu, false)]
    [InlineData(AdapterActivation.Relu, true)]
    public void OnnxGraphAndSavedModelMatchTheCSharpMap(AdapterActivation activation, bool normalize)
    {
        var pairs = Nonlinear(400, seed: 6);
        var ml = new MLContext(1);
        var data = ml.Data.LoadFromEnumerable(pairs);
        var options = Small();
        options.Activation = activation;
        options.NormalizeOutput = normalize;
        options.MaxEpochs = 5;
        var model = ml.Transforms.EmbeddingAdapter("Mapped", "New", "Old", options).Fit(data);
        var rows = ml.Data.CreateEnumerable<MappedRow>(model.Transform(data), false).Take(20).ToArray();
        var direct = model.Adapter.Apply(pairs[3].New);
        Assert.Equal(rows[3].Mapped, direct);

        var g = new OnnxGraphBuilder();
        g.AddInput("X", null, D);
        g.AddNode("Identity", [model.BuildOnnx(g, "X")], "Y");
        g.AddOutput("Y", null, D);
        Assert.Contains(g.Graph.Node, n => n.OpType == (activation == AdapterActivation.Gelu ? "Gelu" : "Relu"));
        using var session = new InferenceSession(g.ToModel().ToByteArray());
        var batch = pairs.Take(20).SelectMany(p => p.New).ToArray();
        using var results = session.Run([NamedOnnxValue.CreateFromTensor("X", new DenseTensor<float>(batch, [20, D]))]);
        var onnx = results.First().AsTensor<float>().ToArray();
        for (int r = 0; r < 20; r++)
            for (int j = 0; j < D; j++)
                Assert.True(Math.Abs(rows[r].Mapped[j] - onnx[r * D + j]) <= 1e-5, $"row {r} slot {j}: {rows[r].Mapped[j]} vs ONNX {onnx[r * D + j]}");

        var zip = Path.Combine(Path.GetTempPath(), $"resmlp-{Guid.NewGuid():N}.zip");
        try
        {
            var inputs = ml.Transforms.SelectColumns("New").Fit(data).Transform(data);
            ml.Model.Save(model, inputs.Schema, zip);
            var loaded = ml.Model.Load(zip, out _);
            var back = ml.Data.CreateEnumerable<MappedRow>(loaded.Transform(inputs), false).Take(20).ToArray();
            for (int r = 0; r < 20; r++)
                for (int j = 0; j < D; j++)
                    Assert.True(Math.Abs(rows[r].Mapped[j] - back[r].Mapped[j]) <= 1e-5, $"reloaded row {r} slot {j}");
        }
        finally { File.Delete(zip); }
    }

    [Fact]
    public void BadInputNamesTheColumnTheOptionOrTheKind()
    {
        var ml = new MLContext(1);
        var pairs = Nonlinear(100);
        pairs[42].Old[5] = float.NaN;
        var nan = Assert.Throws<InvalidOperationException>(() => ml.Transforms.EmbeddingAdapter("M", "New", "Old", Small()).Fit(ml.Data.LoadFromEnumerable(pairs)));
        Assert.Contains("'Old'", nan.Message);
        Assert.Contains("row 42", nan.Message);

        var few = Assert.Throws<InvalidOperationException>(() => ml.Transforms.EmbeddingAdapter("M", "New", "Old", Small()).Fit(ml.Data.LoadFromEnumerable(Nonlinear(50))));
        Assert.Contains("ResidualMlp", few.Message);
        Assert.Contains("ValidationFraction", few.Message);
        Assert.Contains("5 held-out", few.Message);

        var width = Assert.Throws<ArgumentOutOfRangeException>(() => ml.Transforms.EmbeddingAdapter("M", "New", "Old", new() { Kind = EmbeddingAdapterKind.ResidualMlp, HiddenSize = 0 }));
        Assert.Contains("HiddenSize", width.Message);
        var fraction = Assert.Throws<ArgumentOutOfRangeException>(() => ml.Transforms.EmbeddingAdapter("M", "New", "Old", new() { Kind = EmbeddingAdapterKind.ResidualMlp, ValidationFraction = 1 }));
        Assert.Contains("ValidationFraction", fraction.Message);

        var stats = new AdapterPairs(D, D);
        var batchDims = Assert.Throws<ArgumentException>(() => stats.Add(new float[D], new float[D - 1]));
        Assert.Contains($"expected {D}", batchDims.Message);
        foreach (var p in Nonlinear(100)) stats.Add(p.New, p.Old);
        var onlyStats = Assert.Throws<InvalidOperationException>(() => stats.Fit(Small()));
        Assert.Contains("ResidualMlp", onlyStats.Message);
        Assert.Contains("keepPairs", onlyStats.Message);
    }

    [Fact]
    public void CancellationStopsTraining()
    {
        var options = Small();
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        options.Cancellation = cts.Token;
        var ml = new MLContext(1);
        Assert.ThrowsAny<OperationCanceledException>(() => ml.Transforms.EmbeddingAdapter("M", "New", "Old", options).Fit(ml.Data.LoadFromEnumerable(Nonlinear(200))));
    }

    /// <summary>The case: the default Procrustes on 1,000 SciFact pairs through the estimator, the batch API
    /// (added one by one and in uneven batches) and fold statistics built by hand, bit for bit.</summary>
    [Fact]
    public void ProcrustesIsBitIdenticalAcrossRoutesOnSciFact()
    {
        var dir = TestData.Repo("data/scifact-embeddings");
        var cOld = RetrievalData.ReadEmbeddings(Path.Combine(dir, "corpus.minilm.f32"));
        var cNew = RetrievalData.ReadEmbeddings(Path.Combine(dir, "corpus.arctic.f32"));
        const int n = 1000, d = 384;
        var ml = new MLContext(1);
        var schema = SchemaDefinition.Create(typeof(SciPair));
        schema["New"].ColumnType = new VectorDataViewType(NumberDataViewType.Single, d);
        schema["Old"].ColumnType = new VectorDataViewType(NumberDataViewType.Single, d);
        var rows = Enumerable.Range(0, n).Select(i => new SciPair { New = cNew.Row(i).ToArray(), Old = cOld.Row(i).ToArray() }).ToList();
        var estimator = ml.Transforms.EmbeddingAdapter("M", "New", "Old").Fit(ml.Data.LoadFromEnumerable(rows, schema)).Adapter;

        var oneByOne = new AdapterPairs(d, d);
        foreach (var r in rows) oneByOne.Add(r.New, r.Old);
        var folds = AdapterFitTests.Folds(rows.SelectMany(r => r.New).ToArray(), rows.SelectMany(r => r.Old).ToArray(), d, d);
        var single = Enumerable.Range(0, 5).Select(_ => new PairedStatistics(d, d)).ToArray();
        for (int f = 0; f < 5; f++)
        {
            // The same fold's pairs in batches of 7 (not a multiple of the block).
            var mine = Enumerable.Range(0, n).Where(i => i % 5 == f).ToArray();
            for (int s = 0; s < mine.Length; s += 7)
            {
                var part = mine.Skip(s).Take(7).ToArray();
                single[f].AddBatch(part.SelectMany(i => rows[i].New).ToArray(), part.SelectMany(i => rows[i].Old).ToArray(), part.Length);
            }
        }
        foreach (var map in new[] { oneByOne.Fit(), EmbeddingAdapterFitter.Fit(folds), EmbeddingAdapterFitter.Fit(single) })
        {
            Assert.Equal(estimator.Weights.ToArray(), map.Weights.ToArray());
            Assert.Equal(estimator.Bias.ToArray(), map.Bias.ToArray());
        }
        // Pooling all pairs in one statistic sums in another order; the map is still the same to rounding (it
        // differed by 0.46 when MiniLM's dead directions were rotated arbitrarily).
        var pooled = new PairedStatistics(d, d);
        foreach (var r in rows) pooled.Add(r.New, r.Old);
        var p = EmbeddingAdapterFitter.Fit(pooled);
        float worst = 0;
        for (int i = 0; i < p.Weights.Length; i++) worst = Math.Max(worst, Math.Abs(p.Weights[i] - estimator.Weights[i]));
        Assert.True(worst < 1e-5f, $"max |ΔW| = {worst}");
    }

    public sealed class SciPair
    {
        public float[] New { get; set; } = [];
        public float[] Old { get; set; } = [];
    }
}
