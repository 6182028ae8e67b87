using MLTransforms.Embeddings;
using MLTransforms.Quantization;
using static MLTransforms.Tests.Quantization.QuantizationTestData;

namespace MLTransforms.Tests.Quantization;

public class QuantizedIndexTests
{
    private const int Dim = 96, Rows = 1000, Queries = 30;

    public static TheoryData<int> Bits => new(1, 2, 3, 4, 8);

    private static readonly float[] Data = SyntheticEmbeddings(Rows, Dim, seed: 31);
    private static readonly float[] QueryData = SyntheticEmbeddings(Queries, Dim, seed: 32);

    private static QuantizedIndex Build(int bits, bool keep = false, int rows = Rows)
    {
        var q = EmbeddingQuantizer.Fit(Data, Rows, Dim, new EmbeddingQuantizerOptions { Bits = bits, Seed = 9 });
        var index = new QuantizedIndex(q, keep);
        // Two bulk adds, so a FastScan block is filled across calls.
        int first = Math.Min(333, rows);
        index.Add(Data.AsSpan(0, first * Dim));
        index.Add(Data.AsSpan(first * Dim, (rows - first) * Dim));
        return index;
    }

    /// <summary>The FastScan kernels (AVX-512BW, AVX2, scalar) on random blocks and tables with all-255 entries, for
    /// tables short enough for one pass and long enough (2,048 and 4,100 positions) that the uint16 lanes must be
    /// flushed: any overflow shows as a difference from the scalar int32 sums.</summary>
    [Theory]
    [InlineData(6)]
    [InlineData(96)]
    [InlineData(2048)]
    [InlineData(4100)]
    public void FastScanKernelsAgreeOnEveryPathAndNeverOverflow(int nibbles)
    {
        var rng = new Random(nibbles);
        var block = new byte[nibbles * 16];
        var lut = new byte[nibbles * 16];
        rng.NextBytes(block);
        rng.NextBytes(lut);
        // Vector 0 (low nibbles 0) and vector 16 (high nibbles 15) hit entries 255 at every position: the largest sums.
        for (int g = 0; g < nibbles; g++)
        {
            block[g * 16] = 0xF0;
            lut[g * 16] = 255;
            lut[g * 16 + 15] = 255;
        }
        var sums = new Dictionary<QuantizedScan.Path, int[]>();
        foreach (var path in new[] { QuantizedScan.Path.Scalar, QuantizedScan.Path.Avx2, QuantizedScan.Path.Avx512, QuantizedScan.Path.Simd })
        {
            sums[path] = new int[QuantizedScan.Block];
            QuantizedScan.ScanBlock(block, lut, nibbles, sums[path], path);
        }
        Assert.Equal(255 * nibbles, sums[QuantizedScan.Path.Scalar][0]);
        Assert.Equal(255 * nibbles, sums[QuantizedScan.Path.Scalar][16]);
        int expected = 0;
        for (int g = 0; g < nibbles; g++) expected += lut[g * 16 + ((block[g * 16 + 5] >> 4) & 15)];
        Assert.Equal(expected, sums[QuantizedScan.Path.Scalar][21]);
        foreach (var (path, s) in sums) Assert.True(sums[QuantizedScan.Path.Scalar].SequenceEqual(s), $"{path} differs from the scalar sums");
    }

    /// <summary>The 8-bit kernels (AVX-VNNI with the split query, AVX-512BW, AVX2) against the scalar sums, at the
    /// extremes of the int16 query range and of the codes.</summary>
    [Theory]
    [InlineData(512)]
    [InlineData(100)]
    public void EightBitKernelsAgreeOnEveryPath(int codeBytes)
    {
        const int n = 50;
        var rng = new Random(codeBytes);
        var codes = new byte[n * codeBytes];
        rng.NextBytes(codes);
        codes.AsSpan(0, codeBytes).Fill(255);
        int range = QuantizedScan.QueryRange(codeBytes);
        var query = Enumerable.Range(0, codeBytes).Select(i => (short)(i % 3 == 0 ? -range : i % 3 == 1 ? range : rng.Next(-range, range + 1))).ToArray();
        var expected = new int[n];
        QuantizedScan.ScanBytes(codes, codeBytes, n, query, expected, QuantizedScan.Path.Scalar);
        Assert.Equal(query.Sum(v => 255 * v), expected[0]);
        foreach (var path in new[] { QuantizedScan.Path.Avx2, QuantizedScan.Path.Avx512, QuantizedScan.Path.Simd })
        {
            var sums = new int[n];
            QuantizedScan.ScanBytes(codes, codeBytes, n, query, sums, path);
            Assert.Equal(expected, sums);
        }
    }

    [Theory]
    [MemberData(nameof(Bits))]
    public void SimdScanEqualsTheScalarScanAndTracksTheFullPrecisionEstimate(int bits)
    {
        var index = Build(bits);
        var q = index.Quantizer;
        for (int t = 0; t < 5; t++)
        {
            var query = Row(QueryData, Dim, t);
            var simd = index.Scores(query, QuantizedScan.Path.Simd);
            var scalar = index.Scores(query, QuantizedScan.Path.Scalar);
            Assert.Equal(scalar, simd);
            Assert.Equal(scalar, index.Scores(query, QuantizedScan.Path.Avx2));
            // Against the estimator with an unquantized query: the query's quantization adds a small error only.
            double worst = 0;
            for (int v = 0; v < Rows; v++)
            {
                var (_, row) = index.GetCodeRow(v);
                var code = row.Take(q.CodeBytes).Select(x => (byte)x).ToArray();
                double full = q.EstimateDot(query, code, row[q.CodeBytes], row[q.CodeBytes + 1]);
                worst = Math.Max(worst, Math.Abs(full - simd[v]));
            }
            double bound = bits == 1 ? 0.05 : 0.01;
            Assert.True(worst < bound, $"{bits} bits: scan vs full-precision estimate differ by {worst:G3}");
        }
    }

    [Theory]
    [MemberData(nameof(Bits))]
    public void SearchIsTheTopKOfTheScanAndRecallsTheExactNeighbours(int bits)
    {
        var index = Build(bits);
        double recall = 0;
        var (exact, _) = ExactSearch.TopK(QueryData, Queries, Data, Rows, Dim, 10, cosine: false);
        for (int t = 0; t < Queries; t++)
        {
            var query = Row(QueryData, Dim, t);
            var hits = index.Search(query, 10);
            var scores = index.Scores(query, QuantizedScan.Path.Simd);
            var brute = Enumerable.Range(0, Rows).OrderByDescending(v => scores[v]).ThenBy(v => v).Take(10).ToArray();
            Assert.Equal(brute.Select(v => (long)v), hits.Select(h => h.Id));
            Assert.Equal(brute.Select(v => scores[v]), hits.Select(h => h.Score));
            recall += hits.Select(h => (int)h.Id).Intersect(exact.Skip(t * 10).Take(10)).Count() / 10.0;
        }
        recall /= Queries;
        // Measured 0.30 / 0.57 / 0.77 / 0.86 / 0.98 (1, 2, 3, 4, 8 bits) on these hard synthetic queries (another mean direction, near-tied neighbours); random codes give about 0.01.
        double floor = bits switch { 1 => 0.22, 2 => 0.48, 3 => 0.7, 4 => 0.8, _ => 0.97 };
        Assert.True(recall >= floor, $"{bits} bits: Recall@10 {recall:F3} below {floor}");
    }

    [Fact]
    public void RerankingEverythingGivesTheExactTopK()
    {
        var index = Build(1, keep: true);
        var (exact, exactScores) = ExactSearch.TopK(QueryData, Queries, Data, Rows, Dim, 10, cosine: false);
        for (int t = 0; t < Queries; t++)
        {
            var hits = index.Search(Row(QueryData, Dim, t), 10, rerank: Rows / 10);
            Assert.Equal(exact.Skip(t * 10).Take(10).Select(v => (long)v), hits.Select(h => h.Id));
            for (int i = 0; i < 10; i++) Assert.Equal(exactScores[t * 10 + i], hits[i].Score, 1e-5f);
        }
        var partial = index.Search(Row(QueryData, Dim, 0), 10, rerank: 4);
        Assert.Equal(10, partial.Length);
        Assert.Throws<ArgumentOutOfRangeException>(() => Build(1).Search(Row(QueryData, Dim, 0), 10, rerank: 4));
    }

    [Theory]
    [InlineData(2)]
    [InlineData(8)]
    public void FilterKeepsOnlyAcceptedIdsAndCustomIdsAreReturned(int bits)
    {
        var q = EmbeddingQuantizer.Fit(Data, Rows, Dim, new EmbeddingQuantizerOptions { Bits = bits, Seed = 9 });
        var index = new QuantizedIndex(q);
        var ids = Enumerable.Range(0, Rows).Select(i => 1000L + 3 * i).ToArray();
        index.Add(Data, ids);
        var query = Row(QueryData, Dim, 1);
        var scores = index.Scores(query, QuantizedScan.Path.Simd);
        var hits = index.Search(query, 7, filter: id => id % 2 == 0);
        var brute = Enumerable.Range(0, Rows).Where(v => ids[v] % 2 == 0).OrderByDescending(v => scores[v]).ThenBy(v => v).Take(7).Select(v => ids[v]);
        Assert.Equal(brute, hits.Select(h => h.Id));
        Assert.Empty(index.Search(query, 5, filter: _ => false));
        Assert.Single(index.Search(query, 5, filter: id => id == 1003));
    }

    [Fact]
    public void EightConcurrentSearchesEqualSequentialOnes()
    {
        var index = Build(4, keep: true);
        var sequential = Enumerable.Range(0, Queries).Select(t => index.Search(Row(QueryData, Dim, t), 10, rerank: 3)).ToArray();
        var concurrent = new QuantizedHit[8][][];
        var threads = Enumerable.Range(0, 8).Select(w => new Thread(() =>
        {
            concurrent[w] = new QuantizedHit[Queries][];
            for (int round = 0; round < 3; round++)
                for (int t = 0; t < Queries; t++)
                    concurrent[w][(t + w) % Queries] = index.Search(Row(QueryData, Dim, (t + w) % Queries), 10, rerank: 3);
        })).ToArray();
        foreach (var th in threads) th.Start();
        foreach (var th in threads) th.Join();
        for (int w = 0; w < 8; w++)
            for (int t = 0; t < Queries; t++)
                Assert.Equal(sequential[t], concurrent[w][t]);
    }

    [Theory]
    [InlineData(1, false)]
    [InlineData(2, true)]
    [InlineData(3, false)]
    [InlineData(4, false)]
    [InlineData(8, true)]
    public void FileRoundTripGivesTheSameIndex(int bits, bool keep)
    {
        var index = Build(bits, keep, rows: 777);
        var stream = new MemoryStream();
        index.Save(stream);
        stream.Position = 0;
        var loaded = QuantizedIndex.Load(stream);
        Assert.Equal(stream.Length, stream.Position);
        Assert.Equal(index.Count, loaded.Count);
        Assert.Equal(keep, loaded.KeepsVectors);
        Assert.True(index.Quantizer.SameAs(loaded.Quantizer));
        for (int v = 0; v < index.Count; v++) Assert.Equal(index.GetCodeRow(v), loaded.GetCodeRow(v), (a, b) => a.Id == b.Id && a.CodeRow.SequenceEqual(b.CodeRow));
        var query = Row(QueryData, Dim, 2);
        Assert.Equal(index.Search(query, 10, keep ? 3 : 1), loaded.Search(query, 10, keep ? 3 : 1));
        // The empty index too.
        var empty = new MemoryStream();
        new QuantizedIndex(index.Quantizer).Save(empty);
        empty.Position = 0;
        Assert.Equal(0, QuantizedIndex.Load(empty).Count);
    }

    [Fact]
    public void CorruptOrTruncatedFilesRaiseClearErrors()
    {
        var index = Build(4, keep: false, rows: 100);
        var stream = new MemoryStream();
        index.Save(stream);
        var bytes = stream.ToArray();
        InvalidDataException Fails(byte[] b) => Assert.Throws<InvalidDataException>(() => QuantizedIndex.Load(new MemoryStream(b)));

        var wrongMagic = (byte[])bytes.Clone();
        wrongMagic[0] ^= 1;
        Assert.Contains("Not a quantized index", Fails(wrongMagic).Message);
        var version = (byte[])bytes.Clone();
        version[8] = 9;
        Assert.Contains("version 9", Fails(version).Message);
        int headerLength = 54 + 8 * 15 + 8 * 16 + 4 * Dim + 4;
        foreach (int at in new[] { 12, 20, 40, 60, headerLength - 10 })
        {
            var flipped = (byte[])bytes.Clone();
            flipped[at] ^= 0x10;
            Assert.Matches("header is (corrupt|inconsistent)|truncated", Fails(flipped).Message);
        }
        foreach (int at in new[] { headerLength + 3, headerLength + 500, bytes.Length - 5 })
        {
            var flipped = (byte[])bytes.Clone();
            flipped[at] ^= 0x01;
            Assert.Contains("records are corrupt", Fails(flipped).Message);
        }
        foreach (int length in new[] { 0, 7, 30, headerLength - 1, headerLength + 17, bytes.Length - 1 })
            Assert.Contains("truncated", Fails(bytes[..length]).Message);
    }

    /// <summary>A version-1 file (written before error shaping, without the shaping field) still loads: the same codes
    /// and scores, and a quantizer with 0 shaping passes.</summary>
    [Fact]
    public void VersionOneFilesStillLoad()
    {
        var q = EmbeddingQuantizer.Fit(Data, Rows, Dim, new EmbeddingQuantizerOptions { Bits = 2, Seed = 9, ShapingPasses = 0 });
        var index = new QuantizedIndex(q);
        index.Add(Data.AsSpan(0, 200 * Dim));
        var stream = new MemoryStream();
        index.Save(stream);
        var v2 = stream.ToArray();
        int header = 54 + 8 * 3 + 8 * 4 + 4 * Dim;                 // without its CRC
        var v1Header = v2[..36].Concat(v2[40..header]).ToArray();  // drop the int32 shaping passes after the grid exponent
        v1Header[8] = 1;
        var crc = BitConverter.GetBytes(System.IO.Hashing.Crc32.HashToUInt32(v1Header));
        var v1 = v1Header.Concat(crc).Concat(v2[(header + 4)..]).ToArray();
        var loaded = QuantizedIndex.Load(new MemoryStream(v1));
        Assert.Equal(0, loaded.Quantizer.ShapingPasses);
        Assert.Equal(index.Count, loaded.Count);
        var query = Row(QueryData, Dim, 0);
        Assert.Equal(index.Search(query, 10), loaded.Search(query, 10));
    }

    [Fact]
    public void CodesFromThePipelineColumnGiveTheSameIndexAsAdd()
    {
        var q = EmbeddingQuantizer.Fit(Data, Rows, Dim, new EmbeddingQuantizerOptions { Bits = 4, Seed = 9 });
        var codes = new float[200 * q.CodeRowSize];
        new EmbeddingQuantizerTransformer("C", "E", q).Transform(Data.AsSpan(0, 200 * Dim), codes);
        var a = new QuantizedIndex(q);
        a.AddCodes(codes);
        var b = new QuantizedIndex(q);
        b.Add(Data.AsSpan(0, 200 * Dim));
        var query = Row(QueryData, Dim, 0);
        Assert.Equal(b.Search(query, 10), a.Search(query, 10));
        Assert.Throws<ArgumentException>(() => new QuantizedIndex(q, keepVectors: true).AddCodes(codes));
    }

    [Fact]
    public void BadInputIsRefusedWithTheNameOfTheArgument()
    {
        var index = Build(8, rows: 100);
        Assert.Throws<ArgumentException>(() => index.Search(new float[Dim - 1], 10));
        var nan = Row(QueryData, Dim, 0).ToArray();
        nan[5] = float.NaN;
        Assert.Throws<InvalidOperationException>(() => index.Search(nan, 10));
        Assert.Throws<ArgumentOutOfRangeException>(() => index.Search(Row(QueryData, Dim, 0), 0));
        Assert.Throws<ArgumentException>(() => index.Add(new float[Dim + 1]));
        Assert.Throws<ArgumentException>(() => index.Add(new float[2 * Dim], [1L]));
        var bad = new float[Dim];
        bad[0] = float.PositiveInfinity;
        Assert.Throws<InvalidOperationException>(() => index.Add(bad));
        var row = new float[index.Quantizer.CodeRowSize];
        row[0] = 256;
        Assert.Throws<InvalidOperationException>(() => index.AddCodes(row));
        Assert.Equal(100, index.Count);
    }
}
