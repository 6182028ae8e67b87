using System.Numerics.Tensors;
using MLTransforms.Core.Numerics;
using MLTransforms.Core.Pipeline;

namespace MLTransforms.Quantization;

/// <summary>One search result: the vector's id and its score (estimated inner product, or exact after re-ranking).</summary>
/// <param name="Id">The id given when the vector was added.</param>
/// <param name="Score">The inner product with the query: estimated from the codes, or exact when re-ranked.</param>
public readonly record struct QuantizedHit(long Id, float Score);

/// <summary>
/// A flat, in-memory index of quantized embeddings (<see cref="EmbeddingQuantizer"/> codes) with top-k search by
/// asymmetric inner products: a float query against the codes, with the scan kernels of each bit width (1 to 4 bits:
/// FastScan in-register tables over blocks of 32 vectors; 8 bits: uint8 x int16 dot products, VNNI where present).
/// Optionally keeps the float vectors to re-rank the best k·r candidates exactly.
/// </summary>
/// <remarks>
/// <para>Scores estimate &lt;x, q&gt; = f &lt;ĉ, R (q - μ)&gt; + g + &lt;μ, q&gt;, with the rotated query quantized per
/// scan (8 bits per table entry at 1 to 4 bits, int16 at 8 bits), so for cosine search add
/// L2-normalised vectors and queries.</para>
/// <para>Searches may run on any number of threads at once; <see cref="Add"/> and <see cref="AddCodes"/> take an
/// exclusive lock, so they wait for running searches and searches wait for them.</para>
/// <para>Memory per vector: <see cref="EmbeddingQuantizer.BytesPerVector"/> + 8 bytes of id (+ 4 d with
/// <see cref="KeepsVectors"/>).</para>
/// </remarks>
public sealed partial class QuantizedIndex
{
    private readonly ReaderWriterLockSlim _lock = new();
    private byte[] _codes = [];
    private float[] _factors = [];
    private float[] _offsets = [];
    private long[] _ids = [];
    private float[]? _vectors;
    private int _count;

    /// <summary>Creates an empty index for the codes of <paramref name="quantizer"/>.</summary>
    /// <param name="quantizer">The fitted quantizer (from <see cref="EmbeddingQuantizer.Fit"/> or an
    /// <see cref="EmbeddingQuantizerTransformer"/>).</param>
    /// <param name="keepVectors">Keep the float vectors too, for exact re-ranking (4 d more bytes per vector).</param>
    public QuantizedIndex(EmbeddingQuantizer quantizer, bool keepVectors = false)
    {
        ArgumentNullException.ThrowIfNull(quantizer);
        Quantizer = quantizer;
        KeepsVectors = keepVectors;
        if (keepVectors) _vectors = [];
    }

    /// <summary>The quantizer of the stored codes (and of every query's preparation).</summary>
    public EmbeddingQuantizer Quantizer { get; }

    /// <summary>Whether the float vectors are kept for re-ranking.</summary>
    public bool KeepsVectors { get; }

    /// <summary>Number of vectors.</summary>
    public int Count
    {
        get { _lock.EnterReadLock(); try { return _count; } finally { _lock.ExitReadLock(); } }
    }

    private bool Blocked => Quantizer.Bits != 8;

    /// <summary>Encodes and adds row-major vectors.</summary>
    /// <param name="vectors">n x <see cref="EmbeddingQuantizer.Dimension"/> finite values.</param>
    /// <param name="ids">n ids, or empty: the positions <see cref="Count"/> .. <see cref="Count"/> + n - 1.</param>
    /// <exception cref="ArgumentException">Lengths that do not match.</exception>
    /// <exception cref="InvalidOperationException">A vector holds NaN or infinity, or a value outside the quantizer's range (names the row).</exception>
    public void Add(ReadOnlySpan<float> vectors, ReadOnlySpan<long> ids = default)
    {
        int d = Quantizer.Dimension;
        if (vectors.Length % d != 0)
            throw new ArgumentException($"Vectors hold {vectors.Length} values, not a whole number of rows of {d}.", nameof(vectors));
        int n = vectors.Length / d;
        CheckIds(ids, n);
        var codes = new byte[n * Quantizer.CodeBytes];
        var f = new float[n];
        var g = new float[n];
        var z = new double[Quantizer.EncodeScratchLength];
        var centered = new float[d];
        for (int r = 0; r < n; r++)
        {
            var row = vectors.Slice(r * d, d);
            SchemaChecks.CheckFinite(row, nameof(vectors), r);
            Quantizer.EncodeUnchecked(row, codes.AsSpan(r * Quantizer.CodeBytes, Quantizer.CodeBytes), out f[r], out g[r], z, centered, nameof(vectors));
        }
        Append(codes, f, g, ids, n, vectors);
    }

    /// <summary>Adds code rows already computed (the output column of an <see cref="EmbeddingQuantizerTransformer"/>
    /// with this index's quantizer, or ONNX Runtime's).</summary>
    /// <param name="codeRows">n x <see cref="EmbeddingQuantizer.CodeRowSize"/> values.</param>
    /// <param name="ids">n ids, or empty: consecutive positions.</param>
    /// <param name="vectors">With <see cref="KeepsVectors"/>: the n x d float vectors of the same rows; otherwise empty.</param>
    /// <exception cref="ArgumentException">Lengths that do not match, or vectors missing for an index that keeps them.</exception>
    /// <exception cref="InvalidOperationException">A code slot is not an integer 0..255 or a scalar is not finite (names the row).</exception>
    public void AddCodes(ReadOnlySpan<float> codeRows, ReadOnlySpan<long> ids = default, ReadOnlySpan<float> vectors = default)
    {
        int size = Quantizer.CodeRowSize, cb = Quantizer.CodeBytes;
        if (codeRows.Length % size != 0)
            throw new ArgumentException($"Code rows hold {codeRows.Length} values, not a whole number of rows of {size}.", nameof(codeRows));
        int n = codeRows.Length / size;
        CheckIds(ids, n);
        if (KeepsVectors && vectors.Length != (long)n * Quantizer.Dimension)
            throw new ArgumentException($"This index keeps float vectors for re-ranking: expected {n} x {Quantizer.Dimension} vector values, got {vectors.Length}.", nameof(vectors));
        if (!KeepsVectors && !vectors.IsEmpty)
            throw new ArgumentException("This index does not keep float vectors (create it with keepVectors: true); pass no vectors.", nameof(vectors));
        var codes = new byte[n * cb];
        var f = new float[n];
        var g = new float[n];
        for (int r = 0; r < n; r++)
        {
            var row = codeRows.Slice(r * size, size);
            SchemaChecks.CheckFinite(row, nameof(codeRows), r);
            Quantizer.ReadCodeRow(row, codes.AsSpan(r * cb, cb), nameof(codeRows));
            f[r] = row[cb];
            g[r] = row[cb + 1];
        }
        if (KeepsVectors) SchemaChecks.CheckFiniteRows(vectors, Quantizer.Dimension, nameof(vectors));
        Append(codes, f, g, ids, n, vectors);
    }

    private static void CheckIds(ReadOnlySpan<long> ids, int n)
    {
        if (!ids.IsEmpty && ids.Length != n)
            throw new ArgumentException($"Got {ids.Length} ids for {n} vectors; pass one id per vector, or none.", nameof(ids));
    }

    private void Append(byte[] codes, float[] f, float[] g, ReadOnlySpan<long> ids, int n, ReadOnlySpan<float> vectors)
    {
        _lock.EnterWriteLock();
        try
        {
            int cb = Quantizer.CodeBytes, start = _count;
            if ((long)start + n > int.MaxValue / Math.Max(cb, 1) - QuantizedScan.Block)
                throw new InvalidOperationException($"A quantized index holds at most {int.MaxValue / Math.Max(cb, 1) - QuantizedScan.Block} vectors of {cb} code bytes; got {(long)start + n}.");
            Reserve(start + n);
            for (int r = 0; r < n; r++)
            {
                int v = start + r;
                WriteCode(v, codes.AsSpan(r * cb, cb));
                _factors[v] = f[r];
                _offsets[v] = g[r];
                _ids[v] = ids.IsEmpty ? v : ids[r];
            }
            if (_vectors is not null)
                vectors.CopyTo(_vectors.AsSpan(start * Quantizer.Dimension));
            _count = start + n;
        }
        finally { _lock.ExitWriteLock(); }
    }

    private void Reserve(int needed)
    {
        if (needed <= _ids.Length) return;
        int capacity = Math.Max(needed, Math.Min(int.MaxValue / 2, Math.Max(64, _ids.Length * 2)));
        capacity = (capacity + QuantizedScan.Block - 1) / QuantizedScan.Block * QuantizedScan.Block;
        Array.Resize(ref _codes, capacity * Quantizer.CodeBytes);
        Array.Resize(ref _factors, capacity);
        Array.Resize(ref _offsets, capacity);
        Array.Resize(ref _ids, capacity);
        if (_vectors is not null) Array.Resize(ref _vectors, capacity * Quantizer.Dimension);
    }

    private void WriteCode(int v, ReadOnlySpan<byte> code)
    {
        int cb = Quantizer.CodeBytes;
        if (Blocked)
            QuantizedScan.SetNibbles(_codes.AsSpan(v / QuantizedScan.Block * QuantizedScan.Block * cb, QuantizedScan.Block * cb), v % QuantizedScan.Block, code);
        else
            code.CopyTo(_codes.AsSpan(v * cb, cb));
    }

    private void ReadCode(int v, Span<byte> code)
    {
        int cb = Quantizer.CodeBytes;
        if (Blocked)
            QuantizedScan.GetNibbles(_codes.AsSpan(v / QuantizedScan.Block * QuantizedScan.Block * cb, QuantizedScan.Block * cb), v % QuantizedScan.Block, code);
        else
            _codes.AsSpan(v * cb, cb).CopyTo(code);
    }

    /// <summary>The stored code row of position <paramref name="position"/> (packed bytes as floats, f, g), as the
    /// quantizer transformer writes it.</summary>
    /// <param name="position">0 .. <see cref="Count"/> - 1.</param>
    /// <returns>The id and the code row.</returns>
    public (long Id, float[] CodeRow) GetCodeRow(int position)
    {
        _lock.EnterReadLock();
        try
        {
            SchemaChecks.CheckOption(position >= 0 && position < _count, nameof(position), position, $"in 0..{_count - 1}");
            var code = new byte[Quantizer.CodeBytes];
            ReadCode(position, code);
            var row = new float[Quantizer.CodeRowSize];
            for (int i = 0; i < code.Length; i++) row[i] = code[i];
            row[code.Length] = _factors[position];
            row[code.Length + 1] = _offsets[position];
            return (_ids[position], row);
        }
        finally { _lock.ExitReadLock(); }
    }

    /// <summary>Finds the <paramref name="k"/> vectors with the largest estimated inner product with
    /// <paramref name="query"/>, best first (ties: the earlier position).</summary>
    /// <param name="query"><see cref="EmbeddingQuantizer.Dimension"/> finite values.</param>
    /// <param name="k">Results wanted (fewer when fewer vectors pass the filter).</param>
    /// <param name="rerank">r &gt; 1: take the best k·r by the codes, then re-rank them by the exact inner product with
    /// the kept float vectors (needs <see cref="KeepsVectors"/>); 1: no re-ranking.</param>
    /// <param name="filter">Only ids for which it returns true are returned; null: all. It runs under the index's read
    /// lock: it must not add to this index.</param>
    /// <exception cref="ArgumentException">The query has the wrong length.</exception>
    /// <exception cref="ArgumentOutOfRangeException">k &lt; 1, rerank &lt; 1, or rerank &gt; 1 without kept vectors.</exception>
    /// <exception cref="InvalidOperationException">The query holds NaN or infinity.</exception>
    public QuantizedHit[] Search(ReadOnlySpan<float> query, int k, int rerank = 1, Func<long, bool>? filter = null)
        => Search(query, k, rerank, filter, QuantizedScan.Path.Simd);

    internal QuantizedHit[] Search(ReadOnlySpan<float> query, int k, int rerank, Func<long, bool>? filter, QuantizedScan.Path path)
    {
        var q = Quantizer;
        if (query.Length != q.Dimension)
            throw new ArgumentException($"Query has {query.Length} values; expected {q.Dimension} (the quantizer's dimension).", nameof(query));
        SchemaChecks.CheckOption(k >= 1, nameof(k), k, ">= 1");
        SchemaChecks.CheckOption(rerank >= 1, nameof(rerank), rerank, ">= 1");
        SchemaChecks.CheckOption(rerank == 1 || KeepsVectors, nameof(rerank), rerank, "1 for an index that does not keep float vectors (create it with keepVectors: true)");
        SchemaChecks.CheckFinite(query, nameof(query), 0);
        var rotated = new float[q.PaddedDimension];
        q.PrepareQuery(query, rotated);
        float constant = TensorPrimitives.Dot(query, q.Mean);
        _lock.EnterReadLock();
        try
        {
            int wanted = (int)Math.Min((long)k * rerank, int.MaxValue);
            var heap = new TopKHeap(Math.Min(wanted, Math.Max(_count, 1)));
            Scan(rotated, constant, heap, filter, path);
            var positions = new int[heap.Count];
            var scores = new float[heap.Count];
            heap.Drain(positions, scores);
            if (rerank > 1)
            {
                int d = q.Dimension;
                for (int i = 0; i < positions.Length; i++)
                    scores[i] = TensorPrimitives.Dot(query, _vectors.AsSpan(positions[i] * d, d));
                var order = Enumerable.Range(0, positions.Length).OrderByDescending(i => scores[i]).ThenBy(i => positions[i]).Take(k).ToArray();
                return order.Select(i => new QuantizedHit(_ids[positions[i]], scores[i])).ToArray();
            }
            return positions.Select((p, i) => new QuantizedHit(_ids[p], scores[i])).ToArray();
        }
        finally { _lock.ExitReadLock(); }
    }

    /// <summary>The estimated scores of every stored vector for a query (the scan's values, no selection), in position order.</summary>
    internal float[] Scores(ReadOnlySpan<float> query, QuantizedScan.Path path)
    {
        var rotated = new float[Quantizer.PaddedDimension];
        Quantizer.PrepareQuery(query, rotated);
        float constant = TensorPrimitives.Dot(query, Quantizer.Mean);
        _lock.EnterReadLock();
        try
        {
            var all = new float[_count];
            ScanScores(rotated, constant, path, (start, scores) => scores.CopyTo(all.AsSpan(start)));
            return all;
        }
        finally { _lock.ExitReadLock(); }
    }

    private void Scan(float[] rotated, float constant, TopKHeap heap, Func<long, bool>? filter, QuantizedScan.Path path)
        => ScanScores(rotated, constant, path, (start, scores) =>
        {
            // A later position never displaces an equal score, so scores at or below the heap's worst are skipped.
            float worst = heap.Worst;
            if (TensorPrimitives.Max(scores) <= worst) return;
            for (int i = 0; i < scores.Length; i++)
                if (scores[i] > worst && (filter is null || filter(_ids[start + i])))
                {
                    heap.Offer(scores[i], start + i);
                    worst = heap.Worst;
                }
        });

    private delegate void ScoreSink(int start, ReadOnlySpan<float> scores);

    /// <summary>scores = f e + g + <paramref name="constant"/> for the chunk at <paramref name="start"/>, then the sink.</summary>
    private void Finish(Span<float> e, int start, float constant, ScoreSink sink)
    {
        int n = e.Length;
        TensorPrimitives.Multiply(e, _factors.AsSpan(start, n), e);
        TensorPrimitives.Add(e, _offsets.AsSpan(start, n), e);
        TensorPrimitives.Add(e, constant, e);
        sink(start, e);
    }

    /// <summary>Scores the stored vectors chunk by chunk, calling <paramref name="sink"/> with each chunk's scores.</summary>
    private void ScanScores(float[] r, float constant, QuantizedScan.Path path, ScoreSink sink)
    {
        var q = Quantizer;
        int p = q.PaddedDimension, cb = q.CodeBytes;
        const int chunk = 1024;
        var scores = new float[chunk];
        var a = new int[chunk];
        switch (q.Bits)
        {
            case 1 or 2 or 3 or 4:
            {
                // FastScan over the code's nibbles: table g holds, for each of its 16 values, the nibble's part of
                // <ĉ, r>. With b dividing 4 a nibble holds 4 / b whole codes; a 3-bit code straddles nibbles, and its
                // additive levels (level = L_0 + Σ_j bit_j w_j) let each nibble hold its bits' share.
                int nibbles = 2 * cb, bitsPer = q.Bits;
                var levels = q.LevelsSingle;
                var values = new float[nibbles * 16];
                var mins = new float[nibbles];
                bool whole = 4 % bitsPer == 0;
                var weights = new float[bitsPer];
                for (int j = 0; j < bitsPer; j++) weights[j] = levels[1 << j] - levels[0];
                float range = 0;
                for (int g = 0; g < nibbles; g++)
                {
                    for (int n = 0; n < 16; n++)
                    {
                        float v = 0;
                        if (whole)
                            for (int c = 0, per = 4 / bitsPer; c < per; c++)
                                v += levels[(n >> (c * bitsPer)) & ((1 << bitsPer) - 1)] * r[g * per + c];
                        else
                            for (int t = 0; t < 4; t++)
                                if ((n >> t & 1) != 0) v += weights[(4 * g + t) % bitsPer] * r[(4 * g + t) / bitsPer];
                        values[g * 16 + n] = v;
                    }
                    var cell = values.AsSpan(g * 16, 16);
                    mins[g] = TensorPrimitives.Min(cell);
                    range = Math.Max(range, TensorPrimitives.Max(cell) - mins[g]);
                }
                const int top = 255;
                float step = range > 0 ? range / top : 1;
                var lut = new byte[nibbles * 16];
                for (int g = 0; g < nibbles; g++)
                    for (int n = 0; n < 16; n++)
                        lut[g * 16 + n] = (byte)Math.Clamp((int)MathF.Round((values[g * 16 + n] - mins[g]) / step), 0, top);
                double bias = whole ? 0 : levels[0] * (double)TensorPrimitives.Sum(r);
                foreach (var m in mins) bias += m;
                int blockBytes = QuantizedScan.Block * cb;
                for (int start = 0; start < _count; start += chunk)
                {
                    int n = Math.Min(chunk, _count - start);
                    // Whole blocks: the index's capacity is a multiple of the block, and the padding vectors are ignored.
                    for (int v0 = 0; v0 < n; v0 += QuantizedScan.Block)
                    {
                        int block = (start + v0) / QuantizedScan.Block;
                        QuantizedScan.ScanBlock(_codes.AsSpan(block * blockBytes, blockBytes), lut, nibbles, a.AsSpan(v0, QuantizedScan.Block), path);
                    }
                    var e = scores.AsSpan(0, n);
                    TensorPrimitives.ConvertTruncating<int, float>(a.AsSpan(0, n), e);
                    TensorPrimitives.Multiply(e, step, e);
                    TensorPrimitives.Add(e, (float)bias, e);
                    Finish(e, start, constant, sink);
                }
                break;
            }
            default:
            {
                // Uniform levels (k - 127.5) step8: <ĉ, r> = step8 (Σ k_i r_i - 127.5 Σ r_i), r_i ≈ s rq_i (int16).
                float largest = MathF.Abs(TensorPrimitives.MaxMagnitude(r));
                int range = QuantizedScan.QueryRange(p);
                float s = largest > 0 ? largest / range : 1;
                var rq = new short[p];
                long sumQ = 0;
                for (int i = 0; i < p; i++) { rq[i] = (short)Math.Clamp((int)MathF.Round(r[i] / s), -range, range); sumQ += rq[i]; }
                double step8 = q.Levels[1] - q.Levels[0];
                for (int start = 0; start < _count; start += chunk)
                {
                    int n = Math.Min(chunk, _count - start);
                    QuantizedScan.ScanBytes(_codes.AsSpan(start * cb, n * cb), cb, n, rq, a, path);
                    var e = scores.AsSpan(0, n);
                    TensorPrimitives.ConvertTruncating<int, float>(a.AsSpan(0, n), e);
                    TensorPrimitives.Add(e, (float)(-127.5 * sumQ), e);
                    TensorPrimitives.Multiply(e, (float)(step8 * s), e);
                    Finish(e, start, constant, sink);
                }
                break;
            }
        }
    }
}
