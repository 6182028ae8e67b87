using MLTransforms.Core.Pipeline;
using MLTransforms.Embeddings;
namespace MLTransforms.Evaluation;

/// <summary>Mean retrieval metrics at cut-off <paramref name="K"/> over <paramref name="Queries"/> judged queries (BEIR / pytrec_eval definitions).</summary>
/// <param name="K">Cut-off.</param>
/// <param name="Queries">Number of queries averaged (those in the qrels with at least one relevant document).</param>
/// <param name="Ndcg">nDCG@K with linear gains rel / log2(rank + 1).</param>
/// <param name="Recall">Recall@K: relevant documents retrieved in the top K over relevant documents.</param>
/// <param name="Mrr">MRR@K: reciprocal rank of the first relevant document in the top K (0 when none).</param>
/// <param name="Map">MAP@K: sum of precision at each relevant hit in the top K, over the number of relevant documents.</param>
public sealed record RetrievalMetrics(int K, int Queries, double Ndcg, double Recall, double Mrr, double Map)
{
    /// <inheritdoc/>
    public override string ToString() => $"nDCG@{K} {Ndcg:F3}  Recall@{K} {Recall:F3}  MRR@{K} {Mrr:F3}  MAP@{K} {Map:F3}";
}

/// <summary>Retrieval metrics against BEIR-style qrels (query id -> document id -> relevance grade).</summary>
public static class RetrievalEvaluation
{
    /// <summary>
    /// Scores ranked results: <paramref name="ranked"/>[q] lists document ids best first for query
    /// <paramref name="queryIds"/>[q]. Queries without a relevant judgement are skipped, judged queries without
    /// results count as zero (as in pytrec_eval).
    /// </summary>
    public static RetrievalMetrics Evaluate(IReadOnlyList<string> queryIds, IReadOnlyList<IReadOnlyList<string>> ranked,
        IReadOnlyDictionary<string, Dictionary<string, int>> qrels, int k)
    {
        ArgumentNullException.ThrowIfNull(queryIds);
        ArgumentNullException.ThrowIfNull(ranked);
        ArgumentNullException.ThrowIfNull(qrels);
        SchemaChecks.CheckOption(k >= 1, nameof(k), k, ">= 1");
        if (queryIds.Count != ranked.Count)
            throw new ArgumentException($"{queryIds.Count} query ids but {ranked.Count} result lists.", nameof(ranked));
        var results = new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal);
        for (int i = 0; i < queryIds.Count; i++) results[queryIds[i]] = ranked[i];
        double ndcg = 0, recall = 0, mrr = 0, map = 0;
        int n = 0;
        foreach (var (qid, judged) in qrels)
        {
            int relevant = judged.Values.Count(v => v > 0);
            if (relevant == 0) continue;
            n++;
            if (!results.TryGetValue(qid, out var list)) continue;
            double dcg = 0, hits = 0, apSum = 0, rr = 0;
            for (int r = 0; r < Math.Min(k, list.Count); r++)
            {
                if (!judged.TryGetValue(list[r], out int rel) || rel <= 0) continue;
                dcg += rel / Math.Log2(r + 2);
                hits++;
                apSum += hits / (r + 1);
                if (rr == 0) rr = 1.0 / (r + 1);
            }
            var ideal = judged.Values.Where(v => v > 0).OrderByDescending(v => v).Take(k).ToArray();
            double idcg = 0;
            for (int r = 0; r < ideal.Length; r++) idcg += ideal[r] / Math.Log2(r + 2);
            ndcg += dcg / idcg;
            recall += hits / relevant;
            mrr += rr;
            map += apSum / relevant;
        }
        if (n == 0)
            throw new ArgumentException("The qrels hold no query with a relevant document.", nameof(qrels));
        return new RetrievalMetrics(k, n, ndcg / n, recall / n, mrr / n, map / n);
    }

    /// <summary>
    /// Searches <paramref name="corpus"/> exactly with the queries of <paramref name="queries"/> that appear in
    /// <paramref name="qrels"/> and scores the top <paramref name="k"/>.
    /// </summary>
    /// <param name="queries">Query embeddings (ids = query ids).</param>
    /// <param name="corpus">Document embeddings (ids = document ids), same dimension.</param>
    /// <param name="qrels">Judgements.</param>
    /// <param name="k">Cut-off (default 10).</param>
    /// <param name="cosine">Cosine (default) or dot-product scores.</param>
    public static RetrievalMetrics Evaluate(EmbeddingSet queries, EmbeddingSet corpus, IReadOnlyDictionary<string, Dictionary<string, int>> qrels,
        int k = 10, bool cosine = true)
    {
        ArgumentNullException.ThrowIfNull(queries);
        ArgumentNullException.ThrowIfNull(corpus);
        if (queries.Dimension != corpus.Dimension)
            throw new ArgumentException($"Queries are {queries.Dimension}-d but the corpus is {corpus.Dimension}-d: they must come from the same space (map one side with an adapter first).", nameof(corpus));
        var judged = queries.Ids.Where(qrels.ContainsKey).ToArray();
        var q = queries.Select(judged);
        var (idx, _) = ExactSearch.TopK(q.Values, q.Count, corpus.Values, corpus.Count, corpus.Dimension, k, cosine);
        int kk = Math.Min(k, corpus.Count);
        var ranked = new IReadOnlyList<string>[judged.Length];
        for (int i = 0; i < judged.Length; i++)
            ranked[i] = Enumerable.Range(0, kk).Select(j => corpus.Ids[idx[i * kk + j]]).ToArray();
        return Evaluate(judged, ranked, qrels, k);
    }

    /// <summary>Applies <paramref name="map"/> to every row of <paramref name="set"/> (batched), keeping the ids.</summary>
    /// <param name="set">Vectors of the map's input size.</param>
    /// <param name="map">The adapter.</param>
    /// <param name="keep">Keep only the first <paramref name="keep"/> output slots (e.g. the old-space part of an extended map).</param>
    public static EmbeddingSet Apply(this EmbeddingAdapterMap map, EmbeddingSet set, int? keep = null)
    {
        ArgumentNullException.ThrowIfNull(map);
        ArgumentNullException.ThrowIfNull(set);
        if (set.Dimension != map.InputSize)
            throw new ArgumentException($"The adapter expects {map.InputSize}-d input; the set holds {set.Dimension}-d vectors.", nameof(set));
        var output = new float[set.Count * map.OutputSize];
        map.Apply(set.Values, output, set.Count);
        int d = keep ?? map.OutputSize;
        if (d == map.OutputSize) return set with { Values = output, Dimension = d };
        var cut = new float[set.Count * d];
        for (int r = 0; r < set.Count; r++) output.AsSpan(r * map.OutputSize, d).CopyTo(cut.AsSpan(r * d, d));
        return set with { Values = cut, Dimension = d };
    }
}

/// <summary>
/// The backward-compatibility report of one adapter (Shen et al. 2020, arXiv 2003.11942): metrics of old queries
/// on the old index, new on new, new queries on the old index without and with the adapter, and optionally new
/// queries on the old index migrated old -> new.
/// </summary>
/// <param name="Adapter">A label for the adapter.</param>
/// <param name="OldOld">M(old, old).</param>
/// <param name="NewNew">M(new, new): the ceiling of a full backfill.</param>
/// <param name="NewOldRaw">M(new, old) without adapter.</param>
/// <param name="NewOldAdapted">M(adapter(new), old): queries mapped new -> old.</param>
/// <param name="Migrated">M(new, adapter'(old)): the index mapped old -> new, or null.</param>
/// <param name="Fused">Both views at once: score = cos(adapter(q), d_old) + cos(q, adapter'(d_old)), found by one dot-product
/// search of [unit adapter(q) | unit q] against a dual index [unit d_old | unit adapter'(d_old)]; null without an index map.</param>
public sealed record CompatibilityReport(string Adapter, RetrievalMetrics OldOld, RetrievalMetrics NewNew, RetrievalMetrics NewOldRaw,
    RetrievalMetrics NewOldAdapted, RetrievalMetrics? Migrated = null, RetrievalMetrics? Fused = null)
{
    /// <summary>Share of M(new, new) nDCG that the fused dual-space search recovers (NaN without an index map).</summary>
    public double FusedRecovery => Fused is null ? double.NaN : Fused.Ndcg / NewNew.Ndcg;

    /// <summary>Share of M(new, new) nDCG that the query-side adapter recovers.</summary>
    public double Recovery => NewOldAdapted.Ndcg / NewNew.Ndcg;

    /// <summary>Share of M(new, new) nDCG that the migrated index recovers (NaN without migration).</summary>
    public double MigratedRecovery => Migrated is null ? double.NaN : Migrated.Ndcg / NewNew.Ndcg;

    /// <summary>The empirical compatibility criterion M(new, old) &gt; M(old, old) of Shen et al. 2020, on nDCG.</summary>
    public bool IsCompatible => NewOldAdapted.Ndcg > OldOld.Ndcg;

    /// <summary>
    /// Evaluates an adapter pair. The old-space part of each map's output (the first <c>oldCorpus.Dimension</c> or
    /// <c>newCorpus.Dimension</c> slots) is compared, as an extended map's extra slots are zero in the other index.
    /// </summary>
    public static CompatibilityReport Evaluate(string adapter, EmbeddingSet newQueries, EmbeddingSet oldQueries, EmbeddingSet newCorpus,
        EmbeddingSet oldCorpus, IReadOnlyDictionary<string, Dictionary<string, int>> qrels, EmbeddingAdapterMap queryMap,
        EmbeddingAdapterMap? indexMap = null, int k = 10)
    {
        ArgumentNullException.ThrowIfNull(queryMap);
        var oldOld = RetrievalEvaluation.Evaluate(oldQueries, oldCorpus, qrels, k);
        var newNew = RetrievalEvaluation.Evaluate(newQueries, newCorpus, qrels, k);
        var raw = newQueries.Dimension == oldCorpus.Dimension
            ? RetrievalEvaluation.Evaluate(newQueries, oldCorpus, qrels, k)
            : new RetrievalMetrics(k, 0, double.NaN, double.NaN, double.NaN, double.NaN);
        var adapted = RetrievalEvaluation.Evaluate(queryMap.Apply(newQueries, oldCorpus.Dimension), oldCorpus, qrels, k);
        RetrievalMetrics? migrated = null, fused = null;
        if (indexMap is not null)
        {
            var migratedCorpus = indexMap.Apply(oldCorpus, newCorpus.Dimension);
            migrated = RetrievalEvaluation.Evaluate(newQueries, migratedCorpus, qrels, k);
            fused = RetrievalEvaluation.Evaluate(EmbeddingSet.Fused(queryMap.Apply(newQueries, oldCorpus.Dimension), newQueries),
                EmbeddingSet.Fused(oldCorpus, migratedCorpus), qrels, k, cosine: false);
        }
        return new CompatibilityReport(adapter, oldOld, newNew, raw, adapted, migrated, fused);
    }
}
