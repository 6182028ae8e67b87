using MLTransforms.Embeddings;
using MLTransforms.Evaluation;

namespace MLTransforms.Tests.Compatibility;

public class RetrievalTests
{
    private static Dictionary<string, Dictionary<string, int>> Qrels(params (string Q, string D, int Rel)[] rows)
    {
        var q = new Dictionary<string, Dictionary<string, int>>();
        foreach (var (qid, did, rel) in rows)
        {
            if (!q.TryGetValue(qid, out var d)) q[qid] = d = new();
            d[did] = rel;
        }
        return q;
    }

    [Fact]
    public void MetricsMatchHandComputedValues()
    {
        // q1: relevant a, b; ranked [x, a, y, b]. q2: relevant c (grade 2); ranked [c]. q3: relevant z, not retrieved.
        var qrels = Qrels(("q1", "a", 1), ("q1", "b", 1), ("q2", "c", 2), ("q3", "z", 1), ("q4", "w", 0));
        var m = RetrievalEvaluation.Evaluate(["q1", "q2", "q3"], [["x", "a", "y", "b"], ["c", "d"], ["e"]], qrels, 4);
        double dcg1 = 1 / Math.Log2(3) + 1 / Math.Log2(5), idcg1 = 1 + 1 / Math.Log2(3);
        Assert.Equal(3, m.Queries); // q4 has no relevant document
        Assert.Equal((dcg1 / idcg1 + 1 + 0) / 3, m.Ndcg, 12);
        Assert.Equal((1 + 1 + 0) / 3.0, m.Recall, 12);
        Assert.Equal((0.5 + 1 + 0) / 3, m.Mrr, 12);
        Assert.Equal(((0.5 + 0.5) / 2 + 1 + 0) / 3, m.Map, 12);
        // Cut-off 2: b falls out.
        var m2 = RetrievalEvaluation.Evaluate(["q1", "q2", "q3"], [["x", "a", "y", "b"], ["c", "d"], ["e"]], qrels, 2);
        Assert.Equal((0.5 + 1 + 0) / 3, m2.Recall, 12);
        Assert.Equal(((1 / Math.Log2(3)) / idcg1 + 1) / 3, m2.Ndcg, 12);
    }

    [Fact]
    public void ExactSearchReturnsTheBestKInOrder()
    {
        var rng = new Random(3);
        const int d = 24, n = 700, nq = 37, k = 9;
        var corpus = AdapterFitTests.Gaussian(rng, n * d);
        var queries = AdapterFitTests.Gaussian(rng, nq * d);
        var (idx, scores) = ExactSearch.TopK(queries, nq, corpus, n, d, k);
        for (int q = 0; q < nq; q++)
        {
            var qv = queries.AsSpan(q * d, d).ToArray();
            double qn = System.Numerics.Tensors.TensorPrimitives.Norm(qv);
            var all = Enumerable.Range(0, n).Select(i => (i, s: System.Numerics.Tensors.TensorPrimitives.Dot(qv, corpus.AsSpan(i * d, d)) / (qn * System.Numerics.Tensors.TensorPrimitives.Norm(corpus.AsSpan(i * d, d)))))
                .OrderByDescending(t => t.s).Take(k).ToArray();
            for (int j = 0; j < k; j++)
            {
                Assert.Equal(all[j].i, idx[q * k + j]);
                Assert.Equal(all[j].s, scores[q * k + j], 1e-4);
            }
        }
        Assert.Throws<ArgumentException>(() => ExactSearch.TopK(queries, nq + 1, corpus, n, d, k));
        Assert.Throws<ArgumentOutOfRangeException>(() => ExactSearch.TopK(queries, nq, corpus, n, d, 0));
    }

    [Fact]
    public void EmbeddingFilesRoundTripAndBadFilesAreRejected()
    {
        var dir = Directory.CreateTempSubdirectory();
        try
        {
            var set = new EmbeddingSet(["a", "b"], [1, 2, 3, 4, 5, 6], 3, "note");
            var path = Path.Combine(dir.FullName, "x.f32");
            RetrievalData.WriteEmbeddings(path, set);
            var back = RetrievalData.ReadEmbeddings(path);
            Assert.Equal(set.Ids, back.Ids);
            Assert.Equal(set.Values, back.Values);
            Assert.Equal("note", back.Note);
            Assert.Equal([4f, 5f, 6f], back.Select(["b"]).Values);
            Assert.Throws<KeyNotFoundException>(() => back.Select(["zz"]));
            File.WriteAllLines(Path.ChangeExtension(path, ".ids.txt"), ["a"]);
            Assert.Contains("1 ids", Assert.Throws<InvalidDataException>(() => RetrievalData.ReadEmbeddings(path)).Message);
            File.WriteAllBytes(path, new byte[20]);
            Assert.Contains("not an EMBF32", Assert.Throws<InvalidDataException>(() => RetrievalData.ReadEmbeddings(path)).Message);
        }
        finally { dir.Delete(true); }
    }

    [Fact]
    public void FusedRowsScoreTheSumOfTheTwoCosines()
    {
        var rng = new Random(5);
        EmbeddingSet Random(int rows, int dim, string note) => new(Enumerable.Range(0, rows).Select(i => $"r{i}").ToArray(),
            Enumerable.Range(0, rows * dim).Select(_ => (float)(rng.NextDouble() - 0.3)).ToArray(), dim, note);
        var a = Random(4, 5, "a");
        var b = Random(4, 3, "b");
        var f = EmbeddingSet.Fused(a, b);
        Assert.Equal(8, f.Dimension);
        Assert.Equal(a.Ids, f.Ids);
        for (int i = 0; i < 4; i++)
            for (int j = 0; j < 4; j++)
            {
                double expected = System.Numerics.Tensors.TensorPrimitives.CosineSimilarity(a.Row(i), a.Row(j))
                    + System.Numerics.Tensors.TensorPrimitives.CosineSimilarity(b.Row(i), b.Row(j));
                Assert.Equal(expected, System.Numerics.Tensors.TensorPrimitives.Dot(f.Row(i), f.Row(j)), 1e-5);
            }
        var e = Assert.Throws<ArgumentException>(() => EmbeddingSet.Fused(a, Random(3, 3, "short")));
        Assert.Contains("'short' has 3", e.Message);
    }
}
