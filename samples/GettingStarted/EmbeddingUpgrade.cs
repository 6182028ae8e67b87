// begin-snippet
using Microsoft.ML;
using Microsoft.ML.Data;
using MLTransforms;
using MLTransforms.Evaluation;
// end-snippet

namespace MLTransforms.GettingStarted;

/// <summary>A model upgrade without re-embedding the index: new-model queries searched in the old model's index (SciFact).</summary>
public static class EmbeddingUpgrade
{
    /// <summary>Retrieval metrics at 10 of new queries on the old index without and with the adapter, and old on old.</summary>
    public sealed record Result(RetrievalMetrics NoAdapter, RetrievalMetrics WithAdapter, RetrievalMetrics OldOnOld);

    private sealed class Pair
    {
        [VectorType(384)] public float[] New { get; set; } = [];
        [VectorType(384)] public float[] Old { get; set; } = [];
    }

    /// <summary>Fits the adapter on items embedded by both models, then searches the old index with the 300 test claims.</summary>
    public static Result Run(TextWriter output, string dataDirectory)
    {
        // begin-snippet
        // Old model all-MiniLM-L6-v2, new model arctic-embed-xs: precomputed unit vectors (384-d) of claims and abstracts.
        EmbeddingSet Read(string name) => RetrievalData.ReadEmbeddings(Path.Combine(dataDirectory, "scifact-embeddings", name));
        EmbeddingSet oldQueries = Read("queries.minilm.f32"), newQueries = Read("queries.arctic-prefix.f32");
        EmbeddingSet oldIndex = Read("corpus.minilm.f32"), newCorpus = Read("corpus.arctic.f32");
        var test = RetrievalData.ReadQrels(Path.Combine(dataDirectory, "scifact-embeddings", "qrels", "test.tsv")); // 300 claims

        // Rows (New, Old) of items embedded by both models: the 809 train claims and 1,000 documents, never a test claim.
        var ml = new MLContext(seed: 1);
        var trainClaims = newQueries.Ids.Where(id => !test.ContainsKey(id));
        IDataView pairs = ml.Data.LoadFromEnumerable(Pairs(newQueries, oldQueries, trainClaims)
            .Concat(Pairs(newCorpus, oldIndex, newCorpus.Ids.Take(1000))));
        // Default: centred orthogonal Procrustes with spread matching; ridge, low-rank, ... via EmbeddingAdapterOptions.
        var adapter = ml.Transforms.EmbeddingAdapter("NewInOldSpace", "New", "Old").Fit(pairs);

        // In a pipeline adapter.Transform(view) adds the NewInOldSpace column; here its batch API maps the query vectors.
        var result = new Result(NoAdapter: RetrievalEvaluation.Evaluate(newQueries, oldIndex, test),
            WithAdapter: RetrievalEvaluation.Evaluate(adapter.Adapter.Apply(newQueries), oldIndex, test),
            OldOnOld: RetrievalEvaluation.Evaluate(oldQueries, oldIndex, test));
        output.WriteLine($"SciFact, new queries on the old index, nDCG@10 / Recall@10: no adapter {result.NoAdapter.Ndcg:F3} / " +
            $"{result.NoAdapter.Recall:F3}, adapter {result.WithAdapter.Ndcg:F3} / {result.WithAdapter.Recall:F3}; " +
            $"old queries {result.OldOnOld.Ndcg:F3} / {result.OldOnOld.Recall:F3}");
        // end-snippet
        return result;
    }

    /// <summary>One row per id: its new-model vector (New) and its old-model vector (Old).</summary>
    private static IEnumerable<Pair> Pairs(EmbeddingSet newSet, EmbeddingSet oldSet, IEnumerable<string> ids)
    {
        var list = ids.ToArray();
        EmbeddingSet n = newSet.Select(list), o = oldSet.Select(list);
        return list.Select((_, i) => new Pair { New = n.Row(i).ToArray(), Old = o.Row(i).ToArray() });
    }
}
