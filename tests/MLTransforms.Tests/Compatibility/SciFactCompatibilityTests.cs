using MLTransforms.Embeddings;
using MLTransforms.Evaluation;

namespace MLTransforms.Tests.Compatibility;

/// <summary>
/// The reference figures on the precomputed SciFact embeddings (old = MiniLM, new = arctic-embed-xs), on the
/// committed subset of data/scifact-embeddings: it keeps every document that any searched condition ranks in the
/// top 10 of a test query on the full 5,183-document corpus, so each figure below is the full-data figure (all but
/// the unadapted new -> old search, which is near random).
/// </summary>
public class SciFactCompatibilityTests
{
    private static string Dir => TestData.Repo("data/scifact-embeddings");
    private static EmbeddingSet E(string name) => RetrievalData.ReadEmbeddings(Path.Combine(Dir, name + ".f32"));

    [Fact]
    public void ReportReproducesTheMeasuredFigures()
    {
        var qOld = E("queries.minilm");
        var qNew = E("queries.arctic-prefix");
        var cOld = E("corpus.minilm");
        var cNew = E("corpus.arctic");
        var test = RetrievalData.ReadQrels(Path.Combine(Dir, "qrels", "test.tsv"));
        var train = RetrievalData.ReadQrels(Path.Combine(Dir, "qrels", "train.tsv"));
        Assert.Equal(300, test.Count);
        Assert.Equal(3709, cOld.Count);
        Assert.Equal(cOld.Ids, cNew.Ids);

        // Fit set: the train queries plus 1,000 corpus documents embedded by both models (every 5th row of the full
        // corpus, which the subset lists first).
        var trainIds = qOld.Ids.Where(train.ContainsKey).ToArray();
        var docs = cOld.Ids.Take(1000).ToArray();
        var folds = Enumerable.Range(0, 5).Select(_ => new PairedStatistics(384, 384)).ToArray();
        var xq = qNew.Select(trainIds); var yq = qOld.Select(trainIds);
        var xd = cNew.Select(docs); var yd = cOld.Select(docs);
        for (int i = 0; i < trainIds.Length; i++) folds[i % 5].Add(xq.Row(i), yq.Row(i));
        for (int i = 0; i < docs.Length; i++) folds[(trainIds.Length + i) % 5].Add(xd.Row(i), yd.Row(i));

        var procrustes = EmbeddingAdapterFitter.Fit(folds, new EmbeddingAdapterOptions { Scaling = AdapterScaling.None });
        var report = CompatibilityReport.Evaluate("procrustes", qNew, qOld, cNew, cOld, test, procrustes);
        Assert.InRange(report.OldOld.Ndcg, 0.649, 0.659);
        Assert.InRange(report.OldOld.Recall, 0.800, 0.810);
        Assert.InRange(report.NewNew.Ndcg, 0.639, 0.649);
        // The one condition the subset does not keep exact (its top 10 is near random): .041 here, .035 on the full corpus.
        Assert.InRange(report.NewOldRaw.Ndcg, 0.0, 0.06);
        Assert.True(report.NewOldAdapted.Ndcg > 0.55, report.NewOldAdapted.ToString());
        Assert.False(report.IsCompatible); // the adapter does not beat old->old here
        Assert.InRange(report.Recovery, 0.85, 1.0);

        // Spread matching helps on this anisotropic pair of models.
        var matched = EmbeddingAdapterFitter.Fit(folds, new EmbeddingAdapterOptions());
        var index = EmbeddingAdapterFitter.Fit(folds.Select(f => f.Swapped()).ToArray(), new EmbeddingAdapterOptions { Kind = EmbeddingAdapterKind.Ridge });
        var r2 = CompatibilityReport.Evaluate("matched", qNew, qOld, cNew, cOld, test, matched, index);
        Assert.True(r2.NewOldAdapted.Ndcg > 0.57, r2.NewOldAdapted.ToString());
        Assert.True(r2.Migrated!.Ndcg > 0.55, r2.Migrated.ToString());
        // Fusing the two views beats either alone on this data (measured .590 vs .584 / .572 with a random fit set).
        Assert.True(r2.Fused!.Ndcg > Math.Max(r2.NewOldAdapted.Ndcg, r2.Migrated.Ndcg), $"{r2.Fused} vs {r2.NewOldAdapted} / {r2.Migrated}");
    }
}
