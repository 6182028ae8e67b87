// begin-snippet
using Microsoft.Extensions.AI;
using Microsoft.ML;
using MLTransforms.Embeddings;
using MLTransforms.Evaluation;
// end-snippet

namespace MLTransforms.GettingStarted;

/// <summary>
/// A Microsoft.Extensions.AI app moves to a new embedding model and keeps its old index: the new model's query vectors
/// pass through an adapter fitted from the indexed documents (SciFact subset of 403 abstracts, 300 test claims).
/// </summary>
public static class AiEmbeddingUpgrade
{
    /// <summary>nDCG@10 of the test claims: before the upgrade (old on old), the new model on the old index without and
    /// with the adapter, and the new model on a re-embedded index (what re-indexing would give).</summary>
    public sealed record Result(double OldOnOld, double NoAdapter, double Adapted, double NewOnNew);

    /// <summary>Embeds the committed SciFact subset with both encoders and searches the old index with adapted queries.</summary>
    public static async Task<Result> RunAsync(TextWriter output, string dataDirectory)
    {
        // begin-snippet
        var corpus = RetrievalData.ReadJsonl(Path.Combine(dataDirectory, "scifact", "corpus.jsonl"));
        var qrels = RetrievalData.ReadQrels(Path.Combine(dataDirectory, "scifact", "qrels", "test.tsv"));
        var claims = RetrievalData.ReadJsonl(Path.Combine(dataDirectory, "scifact", "queries.jsonl")).Where(q => qrels.ContainsKey(q.Id)).ToArray();
        string[] texts = corpus.Select(d => d.Text).ToArray();

        // The app's generators: any IEmbeddingGenerator works; these two run ONNX sentence encoders in process.
        using IEmbeddingGenerator<string, Embedding<float>> oldModel = new SentenceEmbeddingGenerator(TextEmbeddingOptions.MiniLM(), "all-MiniLM-L6-v2");
        using IEmbeddingGenerator<string, Embedding<float>> newModel = new SentenceEmbeddingGenerator(TextEmbeddingOptions.ArcticXs(), "snowflake-arctic-embed-xs");
        var oldIndex = await oldModel.GenerateAsync(texts); // the index the app already has

        // The upgrade: fit an adapter from the indexed documents re-embedded by the new model (no queries, no labels)...
        var adapter = await EmbeddingGeneratorAdapters.FitAdapterAsync(new MLContext(seed: 1), oldIndex, newModel, texts);
        // ...and query the old index through the new model, mapped into the old space.
        IEmbeddingGenerator<string, Embedding<float>> queries = newModel.WithAdapter(adapter.Adapter);
        // end-snippet

        string[] claimTexts = claims.Select(c => c.Text).ToArray(), claimIds = claims.Select(c => c.Id).ToArray();
        EmbeddingSet Set(string[] ids, IEnumerable<Embedding<float>> e) { var v = e.ToArray(); return new(ids, v.SelectMany(x => x.Vector.ToArray()).ToArray(), v[0].Vector.Length); }
        async Task<double> Ndcg(IEmbeddingGenerator<string, Embedding<float>> g, EmbeddingSet index) =>
            RetrievalEvaluation.Evaluate(Set(claimIds, await g.GenerateAsync(claimTexts)), index, qrels).Ndcg;
        string[] docIds = corpus.Select(d => d.Id).ToArray();
        var oldSet = Set(docIds, oldIndex);
        var newSet = Set(docIds, await newModel.GenerateAsync(texts));
        var result = new Result(OldOnOld: await Ndcg(oldModel, oldSet), NoAdapter: await Ndcg(newModel, oldSet),
            Adapted: await Ndcg(queries, oldSet), NewOnNew: await Ndcg(newModel, newSet));
        output.WriteLine($"SciFact subset ({corpus.Count} abstracts, {claims.Length} claims), nDCG@10: old on old {result.OldOnOld:F3}; " +
            $"new on old: no adapter {result.NoAdapter:F3}, adapter {result.Adapted:F3} ({result.Adapted / result.OldOnOld:P0} of old on old, " +
            $"{result.Adapted / result.NewOnNew:P0} of a re-embedded index's {result.NewOnNew:F3})");
        return result;
    }
}
