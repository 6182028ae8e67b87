using System.Numerics.Tensors;
using MLTransforms.Core.Numerics;
using MLTransforms.Core.Pipeline;

namespace MLTransforms.Embeddings;

/// <summary>
/// Exact (brute-force) top-k search by cosine or dot product: blocked over queries and documents so a block of the
/// corpus stays in cache while a block of queries is scored against it, SIMD dot products (TensorPrimitives), and a
/// size-k min-heap per query (partial selection, O(n log k)).
/// </summary>
public static class ExactSearch
{
    /// <summary>
    /// Returns, for each of <paramref name="queryCount"/> row-major queries, the indices and scores of the
    /// <paramref name="k"/> best corpus rows, best first (ties broken by the lower index).
    /// </summary>
    /// <param name="queries">queryCount x dim, row-major.</param>
    /// <param name="queryCount">Number of queries.</param>
    /// <param name="corpus">corpusCount x dim, row-major.</param>
    /// <param name="corpusCount">Number of corpus rows.</param>
    /// <param name="dim">Vector length.</param>
    /// <param name="k">Results per query (clipped to corpusCount).</param>
    /// <param name="cosine">Cosine similarity (true, default) or raw dot product (false, for stored vectors whose norms carry a calibration).</param>
    /// <exception cref="ArgumentException">Lengths that do not match the counts, or k &lt; 1.</exception>
    public static (int[] Indices, float[] Scores) TopK(ReadOnlySpan<float> queries, int queryCount, ReadOnlySpan<float> corpus, int corpusCount,
        int dim, int k, bool cosine = true)
    {
        if (dim <= 0 || queries.Length != (long)queryCount * dim)
            throw new ArgumentException($"Queries hold {queries.Length} values; expected {queryCount} x {dim}.", nameof(queries));
        if (corpus.Length != (long)corpusCount * dim)
            throw new ArgumentException($"Corpus holds {corpus.Length} values; expected {corpusCount} x {dim}.", nameof(corpus));
        SchemaChecks.CheckOption(k >= 1, nameof(k), k, ">= 1");
        k = Math.Min(k, corpusCount);
        var q = queries.ToArray();
        var c = corpus.ToArray();
        if (cosine)
        {
            NormalizeRows(q, queryCount, dim);
            NormalizeRows(c, corpusCount, dim);
        }
        var indices = new int[queryCount * k];
        var scores = new float[queryCount * k];
        const int queryBlock = 32, docBlock = 256;
        int blocks = (queryCount + queryBlock - 1) / queryBlock;
        Parallel.For(0, blocks, b =>
        {
            int q0 = b * queryBlock, qn = Math.Min(queryBlock, queryCount - q0);
            var heaps = new TopKHeap[qn];
            for (int i = 0; i < qn; i++) heaps[i] = new TopKHeap(k);
            var block = new float[docBlock];
            for (int d0 = 0; d0 < corpusCount; d0 += docBlock)
            {
                int dn = Math.Min(docBlock, corpusCount - d0);
                for (int i = 0; i < qn; i++)
                {
                    var qi = q.AsSpan((q0 + i) * dim, dim);
                    for (int j = 0; j < dn; j++)
                        block[j] = TensorPrimitives.Dot(qi, c.AsSpan((d0 + j) * dim, dim));
                    for (int j = 0; j < dn; j++)
                        heaps[i].Offer(block[j], d0 + j);
                }
            }
            for (int i = 0; i < qn; i++)
                heaps[i].Drain(indices.AsSpan((q0 + i) * k, k), scores.AsSpan((q0 + i) * k, k));
        });
        return (indices, scores);
    }

    /// <summary>Scales each row to unit Euclidean norm (zero rows stay zero).</summary>
    public static void NormalizeRows(Span<float> rows, int count, int dim)
    {
        for (int r = 0; r < count; r++)
        {
            var row = rows.Slice(r * dim, dim);
            float n = TensorPrimitives.Norm(row);
            if (n > 0) TensorPrimitives.Divide(row, n, row);
        }
    }
}
